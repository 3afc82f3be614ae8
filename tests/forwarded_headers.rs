//! `option forwardfor` and `option originalto` with `except`, after
//! `http-request set-src` / `set-dst`, side by side with Debian's HAProxy:
//! the same requests, and each backend must get the same X-Forwarded-For
//! and X-Original-To (HAProxy's reg-test
//! http-rules/except-forwardfor-originalto, over more cases).

mod common;

use common::haproxy::Haproxy;
use common::net::{free_port, request, Fulcrum, HttpBackend};

fn config(port: u16, b: &HttpBackend) -> String {
    format!(
        "defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    option forwardfor except 10.9.0.0/16 if-none
    http-request set-src hdr(x-src) if {{ req.hdr(x-src) -m found }}
    http-request set-dst hdr(x-dst) if {{ req.hdr(x-dst) -m found }}
    http-request set-dst-port hdr(x-dport) if {{ req.hdr(x-dport) -m found }}
    http-request set-src-port hdr(x-sport) if {{ req.hdr(x-sport) -m found }}
    http-request set-header x-seen-sport %[src_port] if {{ req.hdr(x-sport) -m found }}
    http-request set-header x-seen-dst %[dst]:%[dst_port]
    use_backend v6 if {{ path_beg /v6 }}
    default_backend v4
backend v4
    option forwardfor except 127.0.0.1 header X-Client
    option originalto except 10.0.0.1/25
    server s {addr}
backend v6
    option forwardfor except 2001:db8:1f89::/48
    option originalto except ::1 header X-Dst
    server s {addr}
",
        addr = b.addr
    )
}

fn header(head: &str, name: &str) -> Option<String> {
    let values: Vec<&str> = head
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect();
    (!values.is_empty()).then(|| values.join(" | "))
}

#[test]
fn the_same_headers_reach_the_server_as_behind_haproxy() {
    let (fb, hb) = (HttpBackend::start("ok"), HttpBackend::start("ok"));
    let (fport, hport) = (free_port(), free_port());
    let _f = Fulcrum::start(&config(fport, &fb));
    let _h = Haproxy::start(&config(hport, &hb), &[hport]);
    let cases = [
        ("/", ""),
        ("/", "x-src: 127.0.0.1\r\nx-dst: 127.0.0.1\r\n"),
        ("/", "x-src: 10.9.1.1\r\nx-dst: 10.0.0.5\r\n"),
        ("/", "x-src: 10.8.1.1\r\nx-dst: 10.0.0.200\r\n"),
        ("/", "x-src: 192.0.2.1\r\nX-Forwarded-For: 1.2.3.4\r\n"),
        ("/", "x-dst: 198.51.100.7\r\nx-dport: 8443\r\n"),
        ("/", "x-src: 192.0.2.9\r\nx-sport: 4242\r\n"),
        ("/v6", "x-src: 2001:db8:1f89::1\r\nx-dst: ::1\r\n"),
        ("/v6", "x-src: 2001:db8::1\r\nx-dst: 2001:db8::2\r\n"),
        ("/v6", "x-src: 2001:db8::1\r\nX-Forwarded-For: 1.2.3.4\r\n"),
    ];
    for (port, b) in [(fport, &fb), (hport, &hb)] {
        for (path, extra) in cases {
            let r = request(
                port,
                &format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n"),
            )
            .expect("response");
            assert_eq!(r.status, 200);
        }
        assert_eq!(b.requests().len(), cases.len());
    }
    let names = [
        "x-forwarded-for",
        "x-client",
        "x-original-to",
        "x-dst",
        "x-seen-dst",
        "x-seen-sport",
    ];
    let (ours, theirs) = (fb.requests(), hb.requests());
    for (i, (path, extra)) in cases.iter().enumerate() {
        for n in names {
            let want = header(&theirs[i].head, n);
            // The port each proxy listens on differs unless set.
            if n == "x-seen-dst" && !extra.contains("x-dport") {
                continue;
            }
            assert_eq!(header(&ours[i].head, n), want, "{path} with {extra:?}: {n}");
        }
    }
}
