//! Request IDs and the PROXY v2 TLVs: `unique-id-format`,
//! `unique-id-header`, the `unique-id` and `uuid` fetches, %ID in logs;
//! `proxy-v2-options` on the sending side and `fc_pp_unique_id` /
//! `fc_pp_authority` on the receiving side. The receiving peer is
//! Debian's HAProxy where it can be, so that what fulcrum sends is read
//! by the reference implementation (it also checks the CRC32C).

mod common;

use std::io::Write;

use common::haproxy::{log_receiver, Haproxy};
use common::net::{connect, free_port, get, read_response, Fulcrum, HttpBackend};

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The manual's example format: every field is the request's, in hex.
#[test]
fn the_manual_format_names_the_request_in_the_header_the_rules_and_the_log() {
    let b = HttpBackend::start("a");
    let logs = log_receiver();
    let log_port = logs.local_addr().expect("udp").port();
    let port = free_port();
    let f = Fulcrum::start(&format!(
        "{DEFAULTS}frontend web\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{log_port} local0\n    log-format \"id=%ID\"\n    unique-id-format %{{+X}}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid\n    unique-id-header X-Unique-ID\n    http-response set-header X-Echo %[unique-id]\n    default_backend be\nbackend be\n    server s {}\n",
        b.addr
    ));
    let mut c = connect(port);
    let me = c.local_addr().expect("local");
    c.write_all(
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let mut pending = Vec::new();
    let r1 = read_response(&mut c, &mut pending).expect("first response");
    let r2 = read_response(&mut c, &mut pending).expect("second response");
    let seen = b.requests();
    let sent: Vec<String> = seen
        .iter()
        .map(|s| {
            header(&s.head, "X-Unique-ID")
                .expect("header sent")
                .to_string()
        })
        .collect();
    // 7F000001:<client port>_7F000001:<frontend port>_<Ts>_<rt>:<pid>
    let prefix = format!("7F000001:{:04X}_7F000001:{port:04X}_", me.port());
    for id in &sent {
        assert!(id.starts_with(&prefix), "{id} should start with {prefix}");
        assert!(id.ends_with(&format!(":{:04X}", f.pid())), "{id}");
    }
    assert_ne!(sent[0], sent[1], "each request has its own ID");
    // The response rules and the log see the same ID as the server.
    assert_eq!(header(&r1.head, "X-Echo"), Some(sent[0].as_str()));
    assert_eq!(header(&r2.head, "X-Echo"), Some(sent[1].as_str()));
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    // Each read waits half a second; a loaded machine may take longer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while lines.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "log lines: {lines:?}");
        if let Ok(n) = logs.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    for (line, id) in lines.iter().zip(&sent) {
        assert!(
            line.trim_end().ends_with(&format!("id={id}")),
            "{line} vs {id}"
        );
    }
}

/// `%[uuid]` is made once per request, whoever asks first.
#[test]
fn a_uuid_id_is_the_same_for_every_reader_of_one_request() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "{DEFAULTS}listen web\n    bind 127.0.0.1:{port}\n    unique-id-format %[uuid()]\n    unique-id-header X-Request-ID\n    http-request set-header X-Early %[unique-id]\n    http-response set-header X-Late %[unique-id]\n    server s {}\n",
        b.addr
    ));
    let r = get(port, "/");
    let seen = &b.requests()[0].head;
    let id = header(seen, "X-Request-ID").expect("id sent");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(header(seen, "X-Early"), Some(id));
    assert_eq!(header(&r.head, "X-Late"), Some(id));
    let again = get(port, "/");
    assert_ne!(header(&again.head, "X-Late"), Some(id));
}

/// fulcrum sends the ID, the authority it received and a checksum in its
/// v2 header; HAProxy reads them (and refuses a header whose CRC32C is
/// wrong). A client in front of fulcrum gives the authority in its own
/// PROXY header.
#[test]
fn proxy_v2_options_are_read_by_haproxy() {
    let hport = free_port();
    let _h = Haproxy::start(
        &format!(
            "{DEFAULTS}frontend receiver\n    bind 127.0.0.1:{hport} accept-proxy\n    http-request return status 200 hdr x-id %[fc_pp_unique_id] hdr x-authority %[fc_pp_authority] hdr x-src %[src]\n"
        ),
        &[hport],
    );
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "{DEFAULTS}listen sender\n    bind 127.0.0.1:{port} accept-proxy\n    unique-id-format ID-%[req.hdr(in)]\n    server hap 127.0.0.1:{hport} send-proxy-v2 proxy-v2-options unique-id,authority,crc32c\n"
    ));
    let mut pp = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    // TCP4 192.0.2.33:5000 -> 10.0.0.1:80, then an authority TLV.
    pp.extend_from_slice(&[0x21, 0x11, 0, 12 + 3 + 9]);
    pp.extend_from_slice(&[192, 0, 2, 33, 10, 0, 0, 1, 0x13, 0x88, 0, 80]);
    pp.extend_from_slice(&[0x02, 0, 9]);
    pp.extend_from_slice(b"app.test.");
    pp.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\nin: foo\r\nConnection: close\r\n\r\n");
    let mut c = connect(port);
    c.write_all(&pp).expect("write");
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(header(&r.head, "x-id"), Some("ID-foo"), "{}", r.head);
    assert_eq!(header(&r.head, "x-authority"), Some("app.test."));
    assert_eq!(header(&r.head, "x-src"), Some("192.0.2.33"));
}

/// In mode tcp the ID is made from the connection (the manual's main use
/// of `proxy-v2-options unique-id`).
#[test]
fn a_tcp_session_sends_its_id_in_the_proxy_header() {
    let hport = free_port();
    let _h = Haproxy::start(
        &format!(
            "{DEFAULTS}frontend receiver\n    bind 127.0.0.1:{hport} accept-proxy\n    http-request return status 200 hdr x-id %[fc_pp_unique_id]\n"
        ),
        &[hport],
    );
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "{DEFAULTS}listen sender\n    mode tcp\n    bind 127.0.0.1:{port}\n    unique-id-format TCP-%ci\n    server hap 127.0.0.1:{hport} send-proxy-v2 proxy-v2-options unique-id\n"
    ));
    let r = get(port, "/");
    assert_eq!(header(&r.head, "x-id"), Some("TCP-127.0.0.1"), "{}", r.head);
}

/// What fulcrum reads: the TLVs of a v2 header, for `fc_pp_*`, and a
/// header whose TLVs do not fill it exactly is refused (the connection is
/// closed without an answer, as HAProxy does).
#[test]
fn received_tlvs_are_fetched_and_malformed_ones_refused() {
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "{DEFAULTS}frontend a\n    bind 127.0.0.1:{port} accept-proxy\n    http-request return status 200\n    http-after-response set-header x-id %[fc_pp_unique_id,hex]\n    http-after-response set-header x-auth %[fc_pp_authority]\n"
    ));
    let send = |tlvs: &[u8], declared: u8| {
        let mut pp = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
        pp.extend_from_slice(&[0x21, 0x11, 0, 12 + declared]);
        pp.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1, 0, 42, 5, 57]);
        pp.extend_from_slice(tlvs);
        pp.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let mut c = connect(port);
        c.write_all(&pp).expect("write");
        read_response(&mut c, &mut Vec::new())
    };
    let tlvs = [0x05, 0, 3, b'a', b'b', b'c', 0x02, 0, 1, b'h'];
    let r = send(&tlvs, tlvs.len() as u8).expect("an answer");
    assert_eq!(header(&r.head, "x-id"), Some("616263"), "{}", r.head);
    assert_eq!(header(&r.head, "x-auth"), Some("h"));
    // The TLV says 5 bytes, the header holds 4 of them.
    assert!(send(&[0x02, 0, 5, b'1', b'2', b'3', b'4'], 7).is_none());
    // A unique ID longer than HAProxy's 128 bytes.
    let mut long = vec![0x05, 0, 129];
    long.extend_from_slice(&[b'x'; 129]);
    assert!(send(&long, 132).is_none());
}

/// The PROXY v2 header a server gets (`send-proxy-v2-ssl`,
/// `proxy-v2-options ssl,ssl-cipher`), read by a raw listener: the TLVs
/// after the addresses must be HAProxy's, byte for byte, for a client
/// without TLS (an SSL TLV that says so: client 0, verify 0, no sub-TLV).
#[test]
fn ssl_tlvs_are_written_as_haproxy_writes_them() {
    use std::io::Read;
    fn capture<G>(start: impl FnOnce(u16, u16) -> G) -> Vec<u8> {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server_port = l.local_addr().expect("addr").port();
        let port = free_port();
        let _proxy = start(port, server_port);
        let mut c = connect(port);
        c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .expect("write");
        let (mut s, _) = l.accept().expect("accept");
        let mut head = [0u8; 16];
        s.read_exact(&mut head).expect("v2 header start");
        let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
        let mut rest = vec![0u8; len];
        s.read_exact(&mut rest).expect("v2 header body");
        // The TLVs, after the 12 bytes of IPv4 addresses and ports.
        rest.split_off(12)
    }
    let cfg = |port: u16, server: u16| {
        format!(
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten a\n    bind 127.0.0.1:{port}\n    server s1 127.0.0.1:{server} send-proxy-v2-ssl proxy-v2-options ssl-cipher\n"
        )
    };
    let ours = capture(|p, s| Fulcrum::start(&cfg(p, s)));
    let theirs = capture(|p, s| Haproxy::start(&cfg(p, s), &[p]));
    assert_eq!(ours, theirs);
    assert_eq!(ours, [0x20, 0, 5, 0, 0, 0, 0, 0]);
}
