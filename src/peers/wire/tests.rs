use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn varints_round_trip_at_every_width() {
    for v in [
        0u64,
        239,
        240,
        2287,
        2288,
        264_431,
        264_432,
        300_000,
        1_800_000,
        u32::MAX as u64,
        u64::MAX,
    ] {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        let mut r = Reader::new(&b);
        assert_eq!(r.varint(), Ok(v), "{v}: {b:02x?}");
        assert!(r.is_empty());
    }
    // The widths HAProxy's protocol document gives.
    let width = |v| {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        b.len()
    };
    assert_eq!(
        [
            width(239),
            width(240),
            width(2287),
            width(2288),
            width(264_432)
        ],
        [1, 2, 2, 3, 4]
    );
}

#[test]
fn hostile_varints_are_errors() {
    assert_eq!(Reader::new(&[0xF5]).varint(), Err(WireError::Truncated));
    let long = [0xFFu8; 20];
    assert_eq!(Reader::new(&long).varint(), Err(WireError::Overflow));
}

/// What Debian's HAProxy 2.6 sent, as captured: a resync request, the
/// definition of a peers-section table `t1` (string, len 32, server_id,
/// gpc0, http_req_rate(10s), expire 5m) and of backend `be`'s table (ip,
/// server_id, conn_cnt, server_key, expire 30m), then "resync partial".
#[test]
fn haproxy_26_definitions_decode() {
    let bytes =
        hex("00000a821101032f74310621f531f0af91000af0e2030a820e020262650404f1f2fe00f0e5ed050002");
    let mut at = 0;
    let mut got = Vec::new();
    while let Some(f) = frame(&bytes[at..]).expect("frame") {
        got.push(decode(f, None).expect("decode"));
        at += f.len;
    }
    assert_eq!(at, bytes.len());
    assert_eq!(got[0], Message::ResyncRequest);
    let Message::Define(t1) = &got[1] else {
        panic!("{:?}", got[1])
    };
    assert_eq!(t1.name, b"/t1");
    assert_eq!((t1.id, t1.key_type, t1.key_len), (1, KeyType::String, 33));
    assert_eq!(t1.data, (1 << 0) | (1 << 2) | (1 << 10));
    assert_eq!(t1.expire, 300_000);
    assert_eq!(t1.params, vec![(10, 1, Some(10_000))]);
    let Message::Define(be) = &got[2] else {
        panic!("{:?}", got[2])
    };
    assert_eq!(be.name, b"be");
    assert_eq!((be.key_type, be.key_len), (KeyType::Ipv4, 4));
    assert_eq!(be.data, (1 << 0) | (1 << 4) | (1 << 19));
    assert_eq!(be.expire, 1_800_000);
    assert_eq!(got[3], Message::ResyncPartial);
    // And fulcrum writes the same bytes for the same definitions.
    let mut out = Vec::new();
    for m in &got {
        encode(m, None, &mut out);
    }
    assert_eq!(out, bytes);
}

#[test]
fn updates_round_trip_against_their_layout() {
    let d = Define {
        id: 3,
        name: b"be".to_vec(),
        key_type: KeyType::Ipv4,
        key_len: 4,
        data: (1 << 0) | (1 << 10) | (1 << 19),
        expire: 60_000,
        params: vec![(10, 1, Some(10_000))],
    };
    let l = Layout::of(&d).expect("layout");
    let u = Update {
        id: Some(7),
        expire: Some(59_000),
        key: vec![192, 0, 2, 1],
        values: vec![
            (0, Value::Int(2)),
            (
                10,
                Value::Freq {
                    age: 12,
                    curr: 3,
                    prev: 1,
                },
            ),
            (19, Value::Skipped),
        ],
    };
    let mut out = Vec::new();
    encode(&Message::Update(u.clone()), Some(&l), &mut out);
    let f = frame(&out).expect("frame").expect("whole");
    assert_eq!(f.len, out.len());
    assert_eq!(decode(f, Some(&l)), Ok(Message::Update(u)));
    // Cut anywhere, it is "more bytes needed" or an error, never a panic.
    for cut in 0..out.len() {
        match frame(&out[..cut]) {
            Ok(None) => {}
            Ok(Some(f)) => {
                let _ = decode(f, Some(&l));
            }
            Err(_) => {}
        }
    }
}

#[test]
fn hello_lines_are_checked_as_haproxy_checks_them() {
    let h = Hello {
        to: "b".into(),
        from: "a".into(),
    };
    let text = String::from_utf8(h.encode()).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(Hello::decode(&lines), Ok(h));
    assert_eq!(
        Hello::decode(&["HAProxyS 2.2", "b", "a 1 1"]),
        Err(Status::Version)
    );
    assert_eq!(
        Hello::decode(&["HAProxyS 3.0", "b", "a 1 1"]),
        Err(Status::Version)
    );
    assert_eq!(
        Hello::decode(&["HAProxyS 2.0", "b", "a 1 1"]).map(|h| h.from),
        Ok("a".into())
    );
    assert_eq!(
        Hello::decode(&["GET / HTTP/1.1", "b", "a"]),
        Err(Status::Protocol)
    );
}

#[test]
fn oversized_and_reserved_messages_are_refused() {
    let mut b = vec![10, 0x80];
    put_varint(&mut b, (MAX_MESSAGE + 1) as u64);
    assert!(matches!(frame(&b), Err(WireError::TooLarge(_))));
    assert!(matches!(frame(&[255, 0]), Err(WireError::Reserved(255))));
}

proptest::proptest! {
    /// Whatever a peer sends, framing and decoding end in a message, an
    /// error or "more bytes", never a panic.
    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let layouts = [
            Layout { key_type: KeyType::String, key_len: 33, data: vec![(0, Encoding::Int), (10, Encoding::Freq), (19, Encoding::Dict), (23, Encoding::IntArray)].into_iter().map(|(t, e)| (t, e, 3)).collect() },
            Layout { key_type: KeyType::Ipv6, key_len: 16, data: vec![(24, Encoding::FreqArray, u64::MAX)] },
        ];
        for l in &layouts {
            let mut at = 0;
            while at < bytes.len() {
                match frame(&bytes[at..]) {
                    Ok(Some(f)) => {
                        let _ = decode(f, Some(l));
                        at += f.len.max(1);
                    }
                    _ => break,
                }
            }
        }
    }
}
