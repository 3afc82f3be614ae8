use super::*;

fn spec(size: usize, expire: Option<u64>, store: Vec<Data>) -> Spec {
    Spec {
        key: KeyKind::Ip,
        size,
        expire: expire.map(Duration::from_millis),
        nopurge: false,
        store,
    }
}

fn ip(n: u8) -> Key {
    Key::V4([10, 0, 0, n])
}

#[test]
fn rate_counts_within_one_period() {
    let mut f = FreqCtr::new(1000);
    for _ in 0..5 {
        f.add(1, 1000, 10_000);
    }
    assert_eq!(f.read(1000, 10_000), 5);
    assert_eq!(f.read(10_999, 10_000), 5);
}

#[test]
fn rate_slides_over_the_previous_period() {
    let mut f = FreqCtr::new(0);
    f.add(10, 0, 1000);
    // Half-way through the next period, half of the last one still counts.
    assert_eq!(f.read(1500, 1000), 5);
    f.add(2, 1500, 1000);
    assert_eq!(f.read(1500, 1000), 7);
    // A whole period later only the 2 remain, weighted.
    assert_eq!(f.read(2500, 1000), 1);
    // Two idle periods forget everything.
    assert_eq!(f.read(4000, 1000), 0);
    f.add(1, 4200, 1000);
    assert_eq!(f.read(4200, 1000), 1);
}

#[test]
fn size_evicts_the_least_recently_touched() {
    let t = Table::new("t", spec(3, None, vec![Data::Gpc0]));
    for n in 1..=3 {
        t.get_or_create_at(ip(n), u64::from(n));
    }
    // Touch 1, so that 2 is now the oldest.
    t.get_or_create_at(ip(1), 10);
    t.get_or_create_at(ip(4), 11);
    assert_eq!(t.len_at(12), 3);
    assert!(t.lookup_at(&ip(2), 12).is_none());
    for n in [1, 3, 4] {
        assert!(t.lookup_at(&ip(n), 12).is_some(), "{n}");
    }
}

#[test]
fn entries_in_use_are_not_evicted() {
    let t = Arc::new(Table::new("t", spec(2, None, vec![Data::ConnCur])));
    let a = t.get_or_create_at(ip(1), 1);
    let b = t.get_or_create_at(ip(2), 2);
    assert!(t.get_or_create_at(ip(3), 3).is_none(), "both in use");
    drop(a);
    assert!(t.get_or_create_at(ip(3), 4).is_some());
    assert!(t.lookup_at(&ip(1), 5).is_none());
    drop(b);
}

#[test]
fn nopurge_refuses_new_keys_when_full() {
    let mut s = spec(1, None, vec![]);
    s.nopurge = true;
    let t = Table::new("t", s);
    t.get_or_create_at(ip(1), 1);
    assert!(t.get_or_create_at(ip(2), 2).is_none());
    assert!(t.get_or_create_at(ip(1), 3).is_some());
}

#[test]
fn expire_removes_idle_entries() {
    let t = Table::new("t", spec(10, Some(100), vec![Data::Gpc0]));
    let e = t.get_or_create_at(ip(1), 0).expect("room");
    t.inc_gpc0(&e, 50);
    drop(e);
    t.get_or_create_at(ip(2), 60);
    assert_eq!(t.len_at(120), 2, "touched at 50, alive until 150");
    assert_eq!(t.len_at(155), 1);
    assert_eq!(t.len_at(160), 0);
}

#[test]
fn tracking_counts_connections_and_keeps_entries() {
    let t = Arc::new(Table::new(
        "t",
        spec(10, Some(1), vec![Data::ConnCur, Data::ConnCnt]),
    ));
    let slots = Slots::default();
    assert!(slots.track(0, &t, ip(1)).is_some());
    assert!(slots.track(0, &t, ip(2)).is_none(), "slot taken");
    let other = Slots::default();
    other.track(1, &t, ip(1));
    let e = t.lookup(&ip(1)).expect("tracked");
    assert_eq!(t.read(&e, Counter::ConnCur), Some(2));
    drop(other);
    assert_eq!(t.read(&e, Counter::ConnCur), Some(1));
    assert_eq!(t.read(&e, Counter::ConnCnt), Some(2));
    assert_eq!(t.read(&e, Counter::HttpReqRate), None, "not stored");
    drop(e);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(t.len(), 1, "tracked entries do not expire");
    drop(slots);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(t.len(), 0);
}

#[test]
fn keys_follow_the_table_type() {
    let v4: IpAddr = "127.0.0.2".parse().unwrap();
    let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
    assert_eq!(KeyKind::Ip.ip_key(v4), KeyKind::Ip.ip_key(mapped));
    assert_eq!(KeyKind::Ip.ip_key("::1".parse().unwrap()), None);
    assert_eq!(
        KeyKind::String(3).bytes_key(b"abcdef"),
        Some(Key::Str(b"abc"[..].into()))
    );
    assert_eq!(KeyKind::Integer.ip_key(v4), Some(Key::Int(0x7f00_0002)));
}
