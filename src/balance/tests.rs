use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::config::model::UriHash;
use crate::state::{ServerState, Status};

fn servers(weights: &[u32]) -> Vec<Candidate> {
    weights
        .iter()
        .map(|&w| Candidate {
            backup: false,
            maxconn: None,
            state: Arc::new(ServerState::with_weight(false, w)),
        })
        .collect()
}

fn counts(
    b: &Balancer,
    n: usize,
    key: impl Fn(usize) -> RequestKey<'static>,
) -> HashMap<usize, usize> {
    let mut m = HashMap::new();
    for i in 0..n {
        *m.entry(b.pick(&key(i), None).expect("a server"))
            .or_insert(0) += 1;
    }
    m
}

#[test]
fn roundrobin_rotates_exactly() {
    let b = Balancer::new(&Balance::Roundrobin, servers(&[1, 1, 1]), false, true);
    let picks: Vec<usize> = (0..6)
        .map(|_| b.pick(&RequestKey::default(), None).unwrap())
        .collect();
    assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
}

#[test]
fn roundrobin_weights_are_smooth_and_exact() {
    let b = Balancer::new(&Balance::Roundrobin, servers(&[1, 2, 3]), false, true);
    let c = counts(&b, 600, |_| RequestKey::default());
    assert_eq!((c[&0], c[&1], c[&2]), (100, 200, 300));
    assert_eq!(smooth_seq(&[5, 1, 1]), [0, 0, 1, 0, 2, 0, 0]);
}

fn smooth_seq(w: &[u32]) -> Vec<usize> {
    roundrobin::smooth_sequence(w)
}

#[test]
fn down_servers_are_skipped_and_backups_used_last() {
    let mut s = servers(&[1, 1, 1, 1]);
    s[2].backup = true;
    s[3].backup = true;
    let b = Balancer::new(&Balance::Roundrobin, s, false, true);
    b.servers()[0].state.set_health(Status::Down);
    for _ in 0..4 {
        assert_eq!(b.pick(&RequestKey::default(), None), Some(1));
    }
    b.servers()[1].state.set_health(Status::Down);
    // Only the first backup, without allbackups.
    for _ in 0..4 {
        assert_eq!(b.pick(&RequestKey::default(), None), Some(2));
    }
    b.servers()[1].state.set_health(Status::Up);
    assert_eq!(b.pick(&RequestKey::default(), None), Some(1));
}

#[test]
fn allbackups_spreads_over_backups() {
    let mut s = servers(&[1, 1, 1]);
    s[1].backup = true;
    s[2].backup = true;
    let b = Balancer::new(&Balance::Roundrobin, s, true, true);
    b.servers()[0].state.set_health(Status::Down);
    let c = counts(&b, 10, |_| RequestKey::default());
    assert_eq!((c[&1], c[&2]), (5, 5));
}

#[test]
fn avoid_moves_to_another_server() {
    let b = Balancer::new(&Balance::Roundrobin, servers(&[1, 1]), false, true);
    for _ in 0..5 {
        assert_eq!(b.pick(&RequestKey::default(), Some(0)), Some(1));
    }
}

#[test]
fn leastconn_prefers_the_idle_server() {
    let b = Balancer::new(&Balance::Leastconn, servers(&[1, 1, 1]), false, true);
    let _g1 = b.servers()[0].state.session();
    let _g2 = b.servers()[2].state.session();
    assert_eq!(b.pick(&RequestKey::default(), None), Some(1));
}

#[test]
fn source_hash_is_sticky_and_spreads() {
    let b = Balancer::new(&Balance::Source, servers(&[1, 1, 1]), false, true);
    let ip = |i: usize| RequestKey {
        client: Some(std::net::IpAddr::from([10, 0, (i / 256) as u8, i as u8])),
        ..Default::default()
    };
    for i in 0..50 {
        assert_eq!(b.pick(&ip(i), None), b.pick(&ip(i), None));
    }
    let c = counts(&b, 300, ip);
    assert_eq!(c.len(), 3, "{c:?}");
}

#[test]
fn uri_hash_is_sticky() {
    let b = Balancer::new(
        &Balance::Uri(UriHash::default()),
        servers(&[1, 1, 1]),
        false,
        true,
    );
    let k = |u: &'static str| RequestKey {
        uri: Some(u),
        ..Default::default()
    };
    let first = b.pick(&k("/a/b?x"), None);
    for _ in 0..10 {
        assert_eq!(b.pick(&k("/a/b?y"), None), first);
    }
}

#[test]
fn first_fills_servers_in_order() {
    let mut s = servers(&[1, 1]);
    s[0].maxconn = Some(1);
    let b = Balancer::new(&Balance::First, s, false, true);
    assert_eq!(b.pick(&RequestKey::default(), None), Some(0));
    let _g = b.servers()[0].state.session();
    assert_eq!(b.pick(&RequestKey::default(), None), Some(1));
}

#[test]
fn zero_weight_takes_nothing() {
    let b = Balancer::new(&Balance::Roundrobin, servers(&[0, 1]), false, true);
    for _ in 0..4 {
        assert_eq!(b.pick(&RequestKey::default(), None), Some(1));
    }
}

#[test]
fn sdbm_is_haproxys() {
    assert_eq!(sdbm(b""), 0);
    assert_eq!(sdbm(b"a"), 97);
}
