//! An HTTP client connection that stays idle for a while leaves its task
//! for the worker's lot of idle connections (proxy::http::idle) and comes
//! back to a full task when it speaks again. Nothing of the session may be lost on the way, and the
//! timeouts and limits must hold as if it had never moved: its `sess.*`
//! variables, `timeout http-keep-alive`, `timeout http-request` for a
//! first request, and its `maxconn` slot and place in the counts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::net::{connect, free_port, read_response, Answer, Fulcrum, HttpBackend};
use common::TempPath;

/// Longer than the park delay (250 ms), with room to spare.
const IDLE: Duration = Duration::from_millis(700);

fn cli(sock: &Path, line: &str) -> String {
    common::stats_cmd(sock, line)
}

fn config(sock: &Path, port: u16, app: &HttpBackend, extra_global: &str, timeouts: &str) -> String {
    format!(
        "global
    nbthread 1
    stats socket {sock} level admin
{extra_global}
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
{timeouts}
frontend web
    bind 127.0.0.1:{port}
    http-request set-var(sess.user) req.hdr(x-user) if {{ req.hdr(x-user) -m found }}
    http-request set-header x-session-user %[var(sess.user)]
    default_backend app
backend app
    server a {app}
",
        sock = sock.display(),
        app = app.addr,
    )
}

fn get(s: &mut TcpStream, path: &str, extra: &str) -> u16 {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n").as_bytes())
        .expect("request");
    read_response(s, &mut Vec::new()).expect("response").status
}

/// How long until the peer closes `s` (EOF or reset), at most `limit`.
fn closed_after(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return None
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

#[test]
fn a_connection_back_from_idle_keeps_its_session_variables() {
    let dir = TempPath::dir("park-vars");
    let sock = dir.path().join("s.sock");
    let app = HttpBackend::with(Answer::Text("ok".into()));
    let port = free_port();
    let _f = Fulcrum::start(&config(
        &sock,
        port,
        &app,
        "",
        "    timeout http-keep-alive 10s",
    ));
    let mut c = connect(port);
    assert_eq!(get(&mut c, "/login", "x-user: alice\r\n"), 200);
    sleep(IDLE);
    assert_eq!(get(&mut c, "/after-idle", ""), 200);
    sleep(IDLE);
    assert_eq!(get(&mut c, "/again", ""), 200);
    let seen = app.requests();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for r in &seen[1..] {
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains("x-session-user: alice\r\n"),
            "the request lost the session's variable:\n{}",
            r.head
        );
    }
}

/// Each parked connection is found again under its own key: forty of
/// them, each with its own session variable, come back in another order
/// than they parked, across a reload, and each request carries its own
/// connection's value.
#[test]
fn many_idle_connections_each_come_back_to_their_own_session() {
    let dir = TempPath::dir("park-many");
    let sock = dir.path().join("s.sock");
    let app = HttpBackend::with(Answer::Text("ok".into()));
    let port = free_port();
    let cfg = config(&sock, port, &app, "", "    timeout http-keep-alive 30s");
    let f = Fulcrum::start(&cfg);
    let mut conns: Vec<TcpStream> = (0..40).map(|_| connect(port)).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        assert_eq!(get(c, "/login", &format!("x-user: u{i}\r\n")), 200);
    }
    sleep(IDLE);
    // The lot holds them all: still counted as current connections.
    let info = cli(&sock, "show info");
    assert!(info.contains("CurrConns: 40\n"), "{info}");
    assert!(f.reload(&cfg.replace("timeout server 30s", "timeout server 31s")));
    let order: Vec<usize> = (0..40).map(|i| (i * 17) % 40).collect();
    for &i in &order {
        assert_eq!(get(&mut conns[i], &format!("/back/{i}"), ""), 200);
    }
    let seen = app.requests();
    assert_eq!(seen.len(), 80);
    for r in &seen[40..] {
        let path = r.head.split(' ').nth(1).expect("path");
        let i = path.trim_start_matches("/back/");
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains(&format!("x-session-user: u{i}\r\n")),
            "connection {i} came back with another session:\n{}",
            r.head
        );
    }
    // Idle again, then one closes: the lot lets it go and the count drops.
    sleep(IDLE);
    drop(conns.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = cli(&sock, "show info");
        if info.contains("CurrConns: 39\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed idle connection still counted:\n{info}"
        );
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn keep_alive_and_first_request_timeouts_hold_while_idle() {
    let dir = TempPath::dir("park-timeouts");
    let sock = dir.path().join("s.sock");
    let app = HttpBackend::with(Answer::Text("ok".into()));
    let port = free_port();
    let _f = Fulcrum::start(&config(
        &sock,
        port,
        &app,
        "",
        "    timeout http-keep-alive 1200ms\n    timeout http-request 1500ms",
    ));
    // Keep-alive: closed once 1.2 s of idleness have passed, not before.
    let mut c = connect(port);
    assert_eq!(get(&mut c, "/", ""), 200);
    let t =
        closed_after(&mut c, Duration::from_secs(10)).expect("closed at the keep-alive timeout");
    assert!(
        t >= Duration::from_millis(1100) && t < Duration::from_secs(5),
        "closed after {t:?}, timeout http-keep-alive 1200ms"
    );
    // First request: 408 once 1.5 s have passed with nothing sent.
    let mut c = connect(port);
    let start = Instant::now();
    let r = read_response(&mut c, &mut Vec::new()).expect("a 408");
    let t = start.elapsed();
    assert_eq!(r.status, 408);
    assert!(
        t >= Duration::from_millis(1400) && t < Duration::from_secs(5),
        "408 after {t:?}, timeout http-request 1500ms"
    );
    // A first request sent after a pause within the timeout is served.
    let mut c = connect(port);
    sleep(IDLE);
    assert_eq!(get(&mut c, "/late-first", ""), 200);
    // A head begun before the pause and finished after it is served too,
    // while it is within timeout http-request.
    let mut c = connect(port);
    c.write_all(b"GET /split HTTP/1.1\r\n").expect("half");
    sleep(IDLE);
    c.write_all(b"Host: t\r\n\r\n").expect("rest");
    assert_eq!(
        read_response(&mut c, &mut Vec::new())
            .expect("response")
            .status,
        200
    );
}

#[test]
fn idle_connections_keep_their_maxconn_slots_and_counts() {
    let dir = TempPath::dir("park-maxconn");
    let sock = dir.path().join("s.sock");
    let app = HttpBackend::with(Answer::Text("ok".into()));
    let port = free_port();
    let _f = Fulcrum::start(&config(
        &sock,
        port,
        &app,
        "    maxconn 2",
        "    timeout http-keep-alive 30s",
    ));
    let mut a = connect(port);
    let mut b = connect(port);
    assert_eq!(get(&mut a, "/a", ""), 200);
    assert_eq!(get(&mut b, "/b", ""), 200);
    sleep(IDLE);
    let info = cli(&sock, "show info");
    assert!(info.contains("CurrConns: 2\n"), "{info}");
    let stat = cli(&sock, "show stat");
    let scur = stat
        .lines()
        .find(|l| l.starts_with("web,FRONTEND,"))
        .and_then(|l| l.split(',').nth(4))
        .expect("web's scur");
    assert_eq!(scur, "2", "{stat}");
    // Both slots are held by the idle connections: a third client waits.
    let mut third = connect(port);
    third
        .write_all(b"GET /third HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    third.set_read_timeout(Some(IDLE)).expect("timeout");
    let mut byte = [0u8; 1];
    assert!(
        matches!(third.read(&mut byte), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "served while maxconn 2 were held by idle connections"
    );
    // One idle client leaves: its slot lets the third in.
    drop(a);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let r = read_response(&mut third, &mut Vec::new()).expect("served once a slot freed");
    assert_eq!(r.status, 200);
    // The idle one that stayed still works.
    assert_eq!(get(&mut b, "/b-again", ""), 200);
}
