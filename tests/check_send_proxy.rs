//! `server ... check-send-proxy`: each check connection opens with a
//! PROXY header (version 1 naming the check's own addresses; with
//! `send-proxy-v2`, the version 2 LOCAL command), before a TCP, HTTP or
//! tcp-check probe. The bytes are compared with what Debian's HAProxy 2.6
//! sends for the same configuration.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::haproxy::Haproxy;
use common::net::{free_port, Fulcrum};

/// A peer that records the bytes of the first check connection it gets,
/// and answers an HTTP check or a Redis PING so the check passes.
struct Capture {
    port: u16,
    first: Arc<Mutex<Option<Vec<u8>>>>,
}

fn capture() -> Capture {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let first = Arc::new(Mutex::new(None));
    let slot = first.clone();
    thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            let _ = c.set_read_timeout(Some(Duration::from_millis(300)));
            let mut got = Vec::new();
            let mut buf = [0u8; 512];
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(b"\r\n\r\n") {
                    let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
                    break;
                }
                if got.ends_with(b"PING\r\n") {
                    let _ = c.write_all(b"+PONG\r\n");
                    break;
                }
            }
            let mut s = slot.lock().expect("slot");
            if s.is_none() && !got.is_empty() {
                *s = Some(got);
            }
        }
    });
    Capture { port, first }
}

/// The v1 header's ports vary by run: written as P.
fn masked(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match text.split_once("\r\n") {
        Some((head, tail)) if head.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 ") => {
            format!("PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\n{tail}")
        }
        _ => text,
    }
}

const KINDS: [&str; 7] = [
    "tcp",
    "tcp-v2",
    "http",
    "redis",
    "http-connect",
    "tcp-connect",
    "tcp-default",
];

fn config(fe: u16, peers: &[Capture]) -> String {
    let mut c = format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend tcp\n"
    );
    for (kind, p) in KINDS.iter().zip(peers) {
        let (opt, extra) = match *kind {
            "tcp" => ("", ""),
            "tcp-v2" => ("", " send-proxy-v2"),
            "http" => ("    option httpchk GET /health\n", ""),
            "redis" => ("    option redis-check\n", ""),
            // `http-check connect send-proxy`: the step's own option, with
            // no check-send-proxy on the server.
            "http-connect" => (
                "    option httpchk GET /health\n    http-check connect send-proxy\n    http-check send meth GET uri /health\n",
                "",
            ),
            // The same for `tcp-check connect send-proxy`.
            "tcp-connect" => (
                "    option tcp-check\n    tcp-check connect send-proxy\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n",
                "",
            ),
            // `connect default`: the server's check-send-proxy (v2).
            _ => (
                "    option tcp-check\n    tcp-check connect default linger\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n",
                " send-proxy-v2",
            ),
        };
        c.push_str(&format!(
            "backend {kind}\n{opt}    server s 127.0.0.1:{} check{} inter 200ms{extra}\n",
            p.port,
            if *kind == "http-connect" {
                ""
            } else {
                " check-send-proxy"
            }
        ));
    }
    c
}

fn first_bytes(peers: &[Capture]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    peers
        .iter()
        .map(|p| loop {
            if let Some(b) = p.first.lock().expect("slot").clone() {
                break masked(&b);
            }
            assert!(
                Instant::now() < deadline,
                "no check reached port {}",
                p.port
            );
            thread::sleep(Duration::from_millis(20));
        })
        .collect()
}

#[test]
fn check_send_proxy_bytes_match_haproxy() {
    let ours: Vec<Capture> = KINDS.iter().map(|_| capture()).collect();
    let theirs: Vec<Capture> = KINDS.iter().map(|_| capture()).collect();
    let _f = Fulcrum::start(&config(free_port(), &ours));
    let hfe = free_port();
    let _h = Haproxy::start(&config(hfe, &theirs), &[hfe]);
    let (a, b) = (first_bytes(&ours), first_bytes(&theirs));
    assert_eq!(a, b);
    assert_eq!(a[0], "PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\n");
    assert_eq!(a[1].as_bytes(), b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00");
    assert!(a[2].ends_with("\r\nGET /health HTTP/1.0\r\n\r\n"), "{a:?}");
    assert!(a[3].ends_with("\r\nPING\r\n"), "{a:?}");
    assert_eq!(a[4], a[2], "{a:?}");
    assert_eq!(a[5], "PROXY TCP4 127.0.0.1 127.0.0.1 P P\r\nPING\r\n");
    assert_eq!(
        a[6].as_bytes(),
        b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00PING\r\n"
    );
}

/// `http-check send-state`: the first check request, with HAProxy's
/// `x-haproxy-server-state` header (the state as the page shows it, the
/// address and port, the names, `node`, the weight against the farm's,
/// the sessions), byte for byte but for the port.
#[test]
fn send_state_header_matches_haproxy() {
    let cfg = |fe: u16, p: &Capture| {
        format!(
            "global\n    node lbtest\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\nbackend be\n    option httpchk GET /health HTTP/1.1\\r\\nHost:\\ x\n    http-check send-state\n    server s 127.0.0.1:{} check inter 200ms weight 3\n    server t 127.0.0.1:{} weight 5\n",
            p.port,
            free_port()
        )
    };
    let (ours, theirs) = (capture(), capture());
    let _f = Fulcrum::start(&cfg(free_port(), &ours));
    let hfe = free_port();
    let _h = Haproxy::start(&cfg(hfe, &theirs), &[hfe]);
    let first = |c: &Capture| {
        let bytes = first_bytes(std::slice::from_ref(c)).remove(0);
        bytes.replace(&format!("port={}", c.port), "port=P")
    };
    let a = first(&ours);
    assert_eq!(a, first(&theirs));
    assert_eq!(
        a,
        "GET /health HTTP/1.1\r\nhost: x\r\nx-haproxy-server-state: UP 1/3; address=127.0.0.1; port=P; name=be/s; node=lbtest; weight=3/8; scur=0/0; qcur=0\r\nconnection: close\r\n\r\n"
    );
}

/// What a backend inherits of `option httpchk` and `http-check send`
/// from defaults, and what its own lines replace (HAProxy's reg-test
/// checks/http-check-send): the requests byte for byte.
#[test]
fn inherited_check_requests_match_haproxy() {
    let cfg = |fe: u16, p: &[Capture]| {
        format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    option httpchk GET /status HTTP/1.1\\r\\nHdr:\\ must-be-removed\n    http-check send hdr Host \"my-www-host\" hdr X-test true body \"test\"\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be4\nbackend be3\n    option httpchk\n    server s 127.0.0.1:{} check inter 200ms\nbackend be4\n    server s 127.0.0.1:{} check inter 200ms\nbackend be5\n    http-check send hdr Host \"other-www-host\" hdr X-New-Test true body \"other test\"\n    server s 127.0.0.1:{} check inter 200ms\n",
            p[0].port, p[1].port, p[2].port
        )
    };
    let ours: Vec<Capture> = (0..3).map(|_| capture()).collect();
    let theirs: Vec<Capture> = (0..3).map(|_| capture()).collect();
    let _f = Fulcrum::start(&cfg(free_port(), &ours));
    let hfe = free_port();
    let _h = Haproxy::start(&cfg(hfe, &theirs), &[hfe]);
    let (a, b) = (first_bytes(&ours), first_bytes(&theirs));
    assert_eq!(a, b);
    assert_eq!(a[0], "OPTIONS / HTTP/1.0\r\n\r\n");
    assert!(
        a[1].starts_with("GET /status HTTP/1.1\r\nhost: my-www-host\r\n"),
        "{a:?}"
    );
    assert!(
        a[2].starts_with("OPTIONS / HTTP/1.0\r\nhost: other-www-host\r\n"),
        "{a:?}"
    );
}
