//! Access logs: `option httplog` and `option tcplog` lines reach the `log`
//! targets as syslog datagrams, in HAProxy's layout.

mod common;

use std::io::{Read, Write};
use std::net::UdpSocket;
use std::time::Duration;

use common::net::{connect, echo_server, free_port, get, Fulcrum, HttpBackend};

fn syslog() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let port = s.local_addr().expect("addr").port();
    (s, port)
}

fn recv(s: &UdpSocket) -> String {
    let mut buf = [0u8; 2048];
    let n = s.recv(&mut buf).expect("a log datagram");
    // Each datagram ends with a newline, as HAProxy's do.
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(line.ends_with('\n'), "{line:?}");
    line.trim_end_matches('\n').to_string()
}

#[test]
fn httplog_lines_reach_syslog() {
    let (sock, log_port) = syslog();
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    log 127.0.0.1:{log_port} local0\ndefaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server s0 {}\n",
        b.addr
    ));
    assert_eq!(get(port, "/x?y=1").status, 200);
    let line = recv(&sock);
    // local0 (16) * 8 + info (6) = 134.
    assert!(line.starts_with("<134>"), "{line}");
    assert!(line.contains(" haproxy["), "{line}");
    assert!(line.contains("] web web/s0 0/0/"), "{line}");
    assert!(line.contains(" 200 "), "{line}");
    assert!(line.ends_with("\"GET /x?y=1 HTTP/1.1\""), "{line}");
}

#[test]
fn tcplog_lines_reach_syslog() {
    let (sock, log_port) = syslog();
    let echo = echo_server();
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    log 127.0.0.1:{log_port} local1 info\ndefaults\n    mode tcp\n    log global\n    option tcplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten raw\n    bind 127.0.0.1:{port}\n    server e {echo}\n"
    ));
    let mut c = connect(port);
    c.write_all(b"12345").expect("write");
    c.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut out = Vec::new();
    c.read_to_end(&mut out).expect("read");
    let line = recv(&sock);
    assert!(line.starts_with("<142>"), "{line}");
    assert!(line.contains("] raw raw/e 0/"), "{line}");
    assert!(line.contains(" 5 -- "), "{line}");
}

/// `option dontlognull`: a TCP connection that carries nothing is not
/// logged; the next one, which carries bytes, is.
#[test]
fn dontlognull_skips_empty_tcp_connections() {
    let (sock, log_port) = syslog();
    let echo = echo_server();
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    log 127.0.0.1:{log_port} local1 info\ndefaults\n    mode tcp\n    log global\n    option tcplog\n    option dontlognull\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten raw\n    bind 127.0.0.1:{port}\n    server e {echo}\n"
    ));
    // Empty: connect and close at once.
    let c = connect(port);
    c.shutdown(std::net::Shutdown::Both).expect("shutdown");
    drop(c);
    let mut c = connect(port);
    c.write_all(b"abc").expect("write");
    c.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut out = Vec::new();
    c.read_to_end(&mut out).expect("read");
    // The first line to arrive is the second connection's: 3 bytes back.
    let line = recv(&sock);
    assert!(line.contains(" 3 -- "), "{line}");
}

/// Captures appear in the httplog line as HAProxy writes them: request
/// slots `{...|...}` then response slots, each value truncated to its
/// length; `set-log-level` changes the line's severity, or silences it.
#[test]
fn captures_and_log_levels() {
    let (sock, log_port) = syslog();
    let b = HttpBackend::start("a");
    let port = free_port();
    let cfg = format!(
        "global\n    log 127.0.0.1:{log_port} local0\ndefaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    capture request header Host len 5\n    capture response header Content-Type len 20\n    http-request capture req.hdr(x-id) len 3\n    http-request set-log-level silent if {{ path /quiet }}\n    http-request set-log-level err if {{ path /loud }}\n    server s0 {}\n",
        b.addr
    );
    let _f = Fulcrum::start(&cfg);
    let r = common::net::request(
        port,
        "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Id: abcdef\r\nConnection: close\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.status, 200);
    let line = recv(&sock);
    assert!(
        line.ends_with(" {examp|abc} {text/plain} \"GET /x HTTP/1.1\""),
        "{line}"
    );
    assert!(line.starts_with("<134>"), "{line}");
    // The silenced request sends nothing; the next line is /loud's, at err (3).
    assert_eq!(get(port, "/quiet").status, 200);
    assert_eq!(get(port, "/loud").status, 200);
    let line = recv(&sock);
    assert!(line.starts_with("<131>"), "{line}");
    assert!(line.contains("\"GET /loud HTTP/1.1\""), "{line}");
}

/// `option dontlog-normal`: a normal exchange is not logged; one that ends
/// in an error (here a 503, no server) is.
#[test]
fn dontlog_normal_logs_only_errors() {
    let (sock, log_port) = syslog();
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    log 127.0.0.1:{log_port} local0\ndefaults\n    mode http\n    log global\n    option httplog\n    option dontlog-normal\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    use_backend empty if {{ path_beg /empty }}\n    default_backend be\nbackend be\n    server s0 {}\nbackend empty\n    server s0 {} disabled\n",
        b.addr, b.addr
    ));
    assert_eq!(get(port, "/ok").status, 200);
    assert_eq!(get(port, "/empty").status, 503);
    let line = recv(&sock);
    assert!(line.contains(" 503 "), "{line}");
    assert!(line.contains("\"GET /empty HTTP/1.1\""), "{line}");
}

/// `option log-separate-errors`: a failed exchange's line goes at level
/// err (<131> for local0), a good one at info (<134>).
#[test]
fn separate_errors_go_at_err() {
    let (sock, log_port) = syslog();
    let b = HttpBackend::start("a");
    let (port, dead) = (free_port(), free_port());
    let _f = Fulcrum::start(&format!(
        "global\n    log 127.0.0.1:{log_port} local0\ndefaults\n    mode http\n    log global\n    option httplog\n    option log-separate-errors\n    timeout connect 300ms\n    timeout client 5s\n    timeout server 5s\nfrontend web\n    bind 127.0.0.1:{port}\n    use_backend dead if {{ path /dead }}\n    default_backend ok\nbackend ok\n    server s0 {}\nbackend dead\n    server s1 127.0.0.1:{dead}\n",
        b.addr
    ));
    assert_eq!(get(port, "/").status, 200);
    let line = recv(&sock);
    assert!(line.starts_with("<134>"), "{line}");
    assert_eq!(get(port, "/dead").status, 503);
    let line = recv(&sock);
    assert!(
        line.starts_with("<131>") && line.contains(" SC-- "),
        "{line}"
    );
}

/// A reload's summary goes to the global log targets at notice (<133> for
/// local0), as the process's own event.
#[test]
fn reload_summaries_reach_the_global_targets() {
    let (sock, log_port) = syslog();
    let b = HttpBackend::start("a");
    let port = free_port();
    let cfg = |extra: &str| {
        format!(
            "global\n    log 127.0.0.1:{log_port} local0\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server s0 {}\n{extra}",
            b.addr
        )
    };
    let f = Fulcrum::start(&cfg(""));
    assert!(f.reload(&cfg("backend extra\n    server x 127.0.0.1:9\n")));
    let line = recv(&sock);
    assert!(line.starts_with("<133>"), "{line}");
    assert!(
        line.ends_with("reloaded: backend extra added; server extra/x added"),
        "{line}"
    );
}
