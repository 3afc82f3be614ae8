//! `http-check connect` sequences: each exchange on a connection of its
//! own (`port`, `addr`, `ssl` with `sni`, `default`), `comment`s in the
//! reports, HAProxy's rules on where `connect` and `send` may stand.
//! Verdicts and report lines are compared with Debian's HAProxy 2.6
//! running the same configuration against the same servers.

mod common;

use common::haproxy::log_receiver as udp;

use std::net::UdpSocket;

use common::haproxy::{first_lines, Haproxy};
use common::net::{free_port, Fulcrum, HttpBackend};
use common::openssl::tls_server;
use common::TempPath;

fn config(log: u16, a: u16, b: u16, tls: u16, closed: u16) -> String {
    format!(
        "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode http
    option log-health-checks
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    # 3 s, not 1 s: on a loaded machine the first TLS handshake to the
    # test's server took longer than 1 s for one of the two proxies.
    timeout check 3s
listen front
    bind 127.0.0.1:{front}
    server x 127.0.0.1:{a}
backend pass
    option httpchk
    http-check connect
    http-check send meth GET uri /a ver HTTP/1.1 hdr host x
    http-check expect status 200
    http-check connect port {b}
    http-check send meth GET uri /b ver HTTP/1.1 hdr host y
    http-check expect status 200
    server s 127.0.0.1:{a} check inter 200ms fall 1 rise 1
backend wrong
    option httpchk
    http-check comment first
    http-check connect
    http-check send meth GET uri /a ver HTTP/1.1 hdr host x
    http-check expect status 200
    http-check connect port {b} comment second-conn
    http-check send meth GET uri /b ver HTTP/1.1 hdr host y
    http-check expect status 201 comment want201
    server s 127.0.0.1:{a} check inter 200ms fall 1 rise 1
backend refused
    option httpchk GET /
    http-check connect
    http-check send
    http-check expect status 200
    http-check connect port {closed} comment second-conn
    http-check send
    http-check expect status 200
    server s 127.0.0.1:{a} check inter 200ms fall 1 rise 1
backend tls
    option httpchk GET /
    http-check connect ssl sni check.example
    http-check send
    http-check expect status 200
    server s 127.0.0.1:{tls} check inter 200ms fall 1 rise 1 verify none
backend notls
    option httpchk GET /
    http-check connect ssl
    http-check send
    http-check expect status 200
    server s 127.0.0.1:{a} check inter 200ms fall 1 rise 1 verify none
",
        front = free_port()
    )
}

const SERVERS: [&str; 5] = ["pass/s", "wrong/s", "refused/s", "tls/s", "notls/s"];

#[test]
fn connect_sequences_match_haproxy() {
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let tls = tls_server();
    let closed = free_port();
    let (hs, fs) = (udp(), udp());
    let port = |s: &UdpSocket| s.local_addr().expect("addr").port();
    let (pa, pb) = (a.addr.port(), b.addr.port());
    let _h = Haproxy::start(&config(port(&hs), pa, pb, tls.port, closed), &[]);
    let _f = Fulcrum::start(&config(port(&fs), pa, pb, tls.port, closed));
    let ours = first_lines(&fs, &SERVERS);
    let theirs = first_lines(&hs, &SERVERS);
    assert_eq!(ours, theirs);
    let line = |who: &str| {
        ours.iter()
            .find(|(s, _)| s == who)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    assert!(line("pass/s").contains("succeeded"), "{ours:#?}");
    assert!(
        line("wrong/s").contains("code: 200, info: \"X comment: want201\""),
        "{ours:#?}"
    );
    assert!(line("tls/s").contains("succeeded"), "{ours:#?}");
    assert!(
        line("refused/s").contains("info: \"Connection refused\""),
        "{ours:#?}"
    );
    assert!(line("notls/s").contains("failed"), "{ours:#?}");
    // Both exchanges reached their servers, each on its own connection.
    let seen = |b: &HttpBackend, path: &str| {
        b.requests()
            .iter()
            .any(|r| r.head.starts_with(&format!("GET {path} HTTP/1.1")))
    };
    assert!(seen(&a, "/a") && seen(&b, "/b"));
}

#[test]
fn connect_and_send_stand_where_haproxy_allows() {
    let f = TempPath::file(
        "seqrules",
        "backend be
    option httpchk
    http-check send meth GET uri /a
    http-check connect port 81
    http-check send meth GET uri /b
backend be2
    option httpchk
    http-check send meth GET uri /a
    http-check expect status 200
    http-check send meth GET uri /b
backend be3
    option httpchk
    http-check connect alpn h2
backend be4
    option httpchk
    http-check connect
    http-check expect status 200
",
    );
    let run = common::check(&[f.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let name = f.name();
    let at = |l| common::errors_at(&run.stderr, &name, l);
    assert!(
        at(4)[0].contains("first step MUST also be a 'connect'"),
        "{}",
        run.stderr
    );
    assert!(
        at(10)[0].contains("unable to add http-check send rule at step 3 (missing connect rule)"),
        "{}",
        run.stderr
    );
    assert!(
        at(13)[0].contains("'http-check connect alpn' is not supported by fulcrum yet"),
        "{}",
        run.stderr
    );
}

/// `tcp-check connect` with the same options: a TLS step to a real TLS
/// server (the answer read over TLS), and a failing step's comment.
#[test]
fn tcp_check_connect_options_match_haproxy() {
    let tls = tls_server();
    let closed = free_port();
    let cfg = |log: u16| {
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode tcp
    option log-health-checks
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    timeout check 3s
listen front
    bind 127.0.0.1:{front}
    server x 127.0.0.1:{closed}
backend tls
    option tcp-check
    tcp-check connect ssl sni check.example
    tcp-check send GET\\ /\\ HTTP/1.0\\r\\n\\r\\n
    tcp-check expect string HTTP/1.0\\ 200
    server s 127.0.0.1:{tls} check inter 200ms fall 1 rise 1 verify none
backend commented
    option tcp-check
    tcp-check connect port {closed} comment mycomment
    server s 127.0.0.1:{tls} check inter 200ms fall 1 rise 1
",
            front = free_port(),
            tls = tls.port
        )
    };
    let (hs, fs) = (udp(), udp());
    let port = |s: &UdpSocket| s.local_addr().expect("addr").port();
    let _h = Haproxy::start(&cfg(port(&hs)), &[]);
    let _f = Fulcrum::start(&cfg(port(&fs)));
    let servers = ["tls/s", "commented/s"];
    let ours = first_lines(&fs, &servers);
    assert_eq!(ours, first_lines(&hs, &servers));
    assert!(
        ours.iter()
            .any(|(s, l)| s == "tls/s" && l.contains("succeeded")),
        "{ours:#?}"
    );
    assert!(
        ours.iter().any(|(_, l)| l.contains(&format!(
            "Connection refused at step 1 of tcp-check (connect port {closed}) comment: 'mycomment'"
        ))),
        "{ours:#?}"
    );
}
