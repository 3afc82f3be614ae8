//! Stick tables end to end: rate limiting on `sc_http_req_rate`, a cap on
//! concurrent connections with `sc_conn_cur`, persistence with `stick on`
//! (mode tcp on the source address, mode http on a cookie), a reload that
//! keeps a table's contents, and `expire` removing idle entries. Every
//! config also passes Debian's `haproxy -c`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::net::{free_port, read_response, Fulcrum, HttpBackend, Response};
use common::TempPath;

fn haproxy_accepts(cfg: &str) {
    let f = TempPath::file("rules-stick-haproxy", cfg);
    let out = std::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(f.path())
        .output()
        .expect("run haproxy -c (apt-get install haproxy)");
    assert!(
        out.status.success(),
        "haproxy -c refused:\n{}\n{cfg}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A connection from source address `src` (bound first, with socket2).
fn connect_from(src: &str, port: u16) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let from: SocketAddr = format!("{src}:0").parse().expect("source address");
    sock.bind(&from.into()).expect("bind the client socket");
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    sock.connect_timeout(&to.into(), Duration::from_secs(10))
        .expect("connect");
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// `GET path` from `src`, with extra header lines.
fn get_from(src: &str, port: u16, path: &str, extra: &str) -> Response {
    let mut s = connect_from(src, port);
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    )
    .expect("send");
    read_response(&mut s, &mut Vec::new()).expect("a response")
}

fn http_config(port: u16, fe: &str, backend: &str) -> String {
    format!(
        "global
    nbthread 2
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
{fe}    default_backend be
backend be
{backend}"
    )
}

const RATE_LIMIT: &str = "    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 5 }
";

#[test]
fn sixth_request_in_the_window_is_refused_per_source() {
    let a = HttpBackend::start("A");
    let port = free_port();
    let cfg = http_config(port, RATE_LIMIT, &format!("    server a {}\n", a.addr));
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    for i in 1..=5 {
        assert_eq!(
            get_from("127.0.0.1", port, "/", "").status,
            200,
            "request {i}"
        );
    }
    assert_eq!(get_from("127.0.0.1", port, "/", "").status, 429);
    assert_eq!(get_from("127.0.0.2", port, "/", "").status, 200);
}

#[test]
fn reload_keeps_the_table() {
    let a = HttpBackend::start("A");
    let port = free_port();
    let cfg = http_config(port, RATE_LIMIT, &format!("    server a {}\n", a.addr));
    haproxy_accepts(&cfg);
    let f = Fulcrum::start(&cfg);
    for _ in 0..3 {
        assert_eq!(get_from("127.0.0.1", port, "/", "").status, 200);
    }
    // Same table definition, another rule changed.
    let changed = http_config(
        port,
        &format!("{RATE_LIMIT}    http-request set-header X-Reloaded 1\n"),
        &format!("    server a {}\n", a.addr),
    );
    haproxy_accepts(&changed);
    assert!(f.reload(&changed), "reload refused");
    for i in 4..=5 {
        assert_eq!(
            get_from("127.0.0.1", port, "/", "").status,
            200,
            "request {i}"
        );
    }
    assert_eq!(
        get_from("127.0.0.1", port, "/", "").status,
        429,
        "the count before the reload was kept"
    );
}

#[test]
fn expire_removes_idle_entries() {
    let a = HttpBackend::start("A");
    let port = free_port();
    let fe = "    stick-table type ip size 10 expire 300ms store gpc0
    http-request track-sc0 src if { path /hit }
    http-request sc-inc-gpc0(0) if { path /hit }
    http-request return status 200 content-type text/plain lf-string \"cnt=%[table_cnt] gpc=%[src_get_gpc0]\" if { path /cnt }
";
    let cfg = http_config(port, fe, &format!("    server a {}\n", a.addr));
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let start = Instant::now();
    assert_eq!(get_from("127.0.0.1", port, "/hit", "").status, 200);
    let first = get_from("127.0.0.1", port, "/cnt", "").text();
    if start.elapsed() < Duration::from_millis(250) {
        assert!(first.contains("cnt=1 gpc=1"), "{first}");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = get_from("127.0.0.1", port, "/cnt", "").text();
        if now.contains("cnt=0 gpc=0") {
            break;
        }
        assert!(Instant::now() < deadline, "entry never expired: {now}");
        thread::sleep(Duration::from_millis(50));
    }
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn http_stick_on_a_cookie_keeps_the_server() {
    let (a, b) = (HttpBackend::start("A"), HttpBackend::start("B"));
    let port = free_port();
    let be = format!(
        "    balance roundrobin
    stick-table type string len 32 size 1k expire 1m store server_id
    stick on req.cook(SID)
    server a {}
    server b {}
",
        a.addr, b.addr
    );
    let cfg = http_config(port, "", &be);
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    for sid in ["one", "two", "three"] {
        let cookie = format!("Cookie: SID={sid}\r\n");
        let first = get_from("127.0.0.1", port, "/", &cookie).text();
        for _ in 0..4 {
            let again = get_from("127.0.0.1", port, "/", &cookie).text();
            assert_eq!(
                again.rsplit("\r\n\r\n").next(),
                first.rsplit("\r\n\r\n").next(),
                "SID={sid}"
            );
        }
    }
    // Without the cookie, roundrobin alternates.
    let bodies: Vec<String> = (0..2)
        .map(|_| get_from("127.0.0.1", port, "/", "").text())
        .collect();
    assert_ne!(
        bodies[0].rsplit("\r\n\r\n").next(),
        bodies[1].rsplit("\r\n\r\n").next()
    );
}

/// A TCP server that writes its name and closes.
fn namer(name: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.write_all(name.as_bytes());
        }
    });
    addr
}

fn tcp_config(port: u16, fe: &str, backend: &str) -> String {
    format!(
        "global
    nbthread 2
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
{fe}    default_backend be
backend be
{backend}"
    )
}

fn name_from(src: &str, port: u16) -> String {
    let mut s = connect_from(src, port);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn tcp_stick_on_src_keeps_the_server() {
    let port = free_port();
    let be = format!(
        "    balance roundrobin
    stick-table type ip size 1k expire 1m store server_id
    stick on src
    server a {}
    server b {}
",
        namer("A"),
        namer("B")
    );
    let cfg = tcp_config(port, "", &be);
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    for src in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        let first = name_from(src, port);
        assert!(first == "A" || first == "B", "{first:?}");
        for _ in 0..3 {
            assert_eq!(name_from(src, port), first, "{src}");
        }
    }
}

#[test]
fn third_concurrent_connection_is_rejected() {
    let echo = common::net::echo_server();
    let port = free_port();
    let fe = "    stick-table type ip size 1k store conn_cur
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc_conn_cur(0) gt 2 }
";
    let cfg = tcp_config(port, fe, &format!("    server e {echo}\n"));
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let echoes = |s: &mut TcpStream| -> bool {
        if s.write_all(b"ping").is_err() {
            return false;
        }
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).is_ok() && &buf == b"ping"
    };
    let mut one = connect_from("127.0.0.1", port);
    let mut two = connect_from("127.0.0.1", port);
    assert!(echoes(&mut one) && echoes(&mut two));
    let mut three = connect_from("127.0.0.1", port);
    assert!(!echoes(&mut three), "the third connection was served");
    // Another source has its own count.
    let mut other = connect_from("127.0.0.2", port);
    assert!(echoes(&mut other));
    drop(one);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from("127.0.0.1", port);
        if echoes(&mut again) {
            break;
        }
        assert!(Instant::now() < deadline, "never allowed again");
        thread::sleep(Duration::from_millis(20));
    }
    assert!(echoes(&mut two));
}
