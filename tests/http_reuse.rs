//! Server connection reuse (`http-reuse`), seen from the backend: which of
//! its connections each request arrived on.
//!
//! - A keep-alive client's later requests, a body included, go on a
//!   connection already open to the server (HAProxy's h1_to_h1 reg-test).
//! - `never`: only the client's own connection; `safe`: a client's first
//!   request gets a new one; `aggressive`: a first request takes only a
//!   connection that was reused before; `always`: anything.
//! - fulcrum's default: `safe`, except that a first request that is
//!   idempotent and has no body may take another client's idle connection
//!   (replaying it, if that connection was closed, is harmless).
//! - A request with a body checks that an idle connection is still open
//!   before it takes it, since its body could not be sent twice.

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::net::{connect, free_port, read_response, Fulcrum, HttpBackend};

fn start(reuse: &str) -> (HttpBackend, u16, Fulcrum) {
    let b = HttpBackend::start("ok");
    let port = free_port();
    // One worker: idle connections are kept per worker.
    let f = Fulcrum::start(&format!(
        "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n{reuse}    server s {}\n",
        b.addr
    ));
    (b, port, f)
}

/// Sends one request on `c` and waits for its answer.
fn ask(c: &mut TcpStream, method: &str, body: &str) {
    let req = if body.is_empty() {
        format!("{method} / HTTP/1.1\r\nHost: t\r\n\r\n")
    } else {
        format!(
            "{method} / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    c.write_all(req.as_bytes()).expect("write");
    let r = read_response(c, &mut Vec::new()).expect("response");
    assert_eq!(r.status, 200);
}

/// The backend connection of each request so far.
fn conns(b: &HttpBackend) -> Vec<usize> {
    b.requests().iter().map(|s| s.conn).collect()
}

#[test]
fn a_clients_later_requests_with_bodies_stay_on_one_server_connection() {
    for reuse in ["", "    http-reuse safe\n", "    http-reuse never\n"] {
        let (b, port, _f) = start(reuse);
        let mut c = connect(port);
        ask(&mut c, "GET", "");
        ask(&mut c, "POST", "first body");
        ask(&mut c, "GET", "x");
        ask(&mut c, "PUT", "");
        let seen = conns(&b);
        assert_eq!(seen, vec![seen[0]; 4], "{reuse:?}");
        assert_eq!(b.requests()[1].body, b"first body");
    }
}

#[test]
fn never_keeps_each_clients_connection_to_itself() {
    let (b, port, _f) = start("    http-reuse never\n");
    let (mut one, mut two) = (connect(port), connect(port));
    ask(&mut one, "GET", "");
    // `one`'s connection is idle, but it is not `two`'s to take.
    ask(&mut two, "GET", "");
    ask(&mut one, "GET", "");
    ask(&mut two, "GET", "");
    let seen = conns(&b);
    assert_ne!(seen[0], seen[1]);
    assert_eq!(seen[2], seen[0]);
    assert_eq!(seen[3], seen[1]);
}

#[test]
fn safe_gives_a_first_request_its_own_connection() {
    let (b, port, _f) = start("    http-reuse safe\n");
    let mut one = connect(port);
    ask(&mut one, "GET", "");
    ask(&mut one, "GET", "");
    drop(one);
    let mut two = connect(port);
    ask(&mut two, "GET", "");
    let seen = conns(&b);
    assert_eq!(seen[0], seen[1]);
    assert_ne!(seen[2], seen[0], "a first request on an idle connection");
}

#[test]
fn fulcrums_default_lets_only_idempotent_bodiless_first_requests_share() {
    let (b, port, _f) = start("");
    let mut one = connect(port);
    ask(&mut one, "GET", "");
    // Another client's first GET takes the idle connection...
    let mut two = connect(port);
    ask(&mut two, "GET", "");
    // ...its first POST does not, even with one idle.
    let mut three = connect(port);
    ask(&mut three, "POST", "data");
    let seen = conns(&b);
    assert_eq!(seen[1], seen[0]);
    assert_ne!(seen[2], seen[0]);
}

#[test]
fn always_shares_and_aggressive_shares_proven_connections_only() {
    let (b, port, _f) = start("    http-reuse always\n");
    let mut one = connect(port);
    ask(&mut one, "GET", "");
    let mut two = connect(port);
    ask(&mut two, "POST", "data");
    let seen = conns(&b);
    assert_eq!(seen[1], seen[0], "always: a first POST takes the idle one");

    let (b, port, _f) = start("    http-reuse aggressive\n");
    let mut one = connect(port);
    ask(&mut one, "GET", "");
    // That connection carried one request: not proven yet.
    let mut two = connect(port);
    ask(&mut two, "GET", "");
    // `two` reuses its own (now proven) connection, then leaves it idle.
    ask(&mut two, "GET", "");
    let mut three = connect(port);
    ask(&mut three, "GET", "");
    let seen = conns(&b);
    assert_ne!(seen[1], seen[0], "aggressive: unproven not shared");
    assert_eq!(seen[3], seen[2], "aggressive: a proven one is shared");
}

#[test]
fn a_body_does_not_go_on_an_idle_connection_the_server_closed() {
    let (mut b, port, _f) = start("    http-reuse always\n");
    let mut one = connect(port);
    ask(&mut one, "GET", "");
    // The server drops every connection, then comes back.
    b.kill();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while b.open.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "connections still open"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    b.revive();
    let mut two = connect(port);
    ask(&mut two, "POST", "must arrive");
    let last = b.requests().pop().expect("the POST reached the server");
    assert_eq!(last.body, b"must arrive");
}

#[test]
fn http_reuse_is_checked() {
    let good = common::TempPath::file(
        "reuse.cfg",
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n    http-reuse never\nfrontend f\n    bind 127.0.0.1:8080\n    default_backend b\nbackend b\n    http-reuse aggressive\n    server s 127.0.0.1:1\n",
    );
    let out = common::check(&[good.path()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let bad = common::TempPath::file(
        "reuse.cfg",
        "backend b\n    http-reuse sometimes\n    server s 127.0.0.1:1\n",
    );
    let out = common::check(&[bad.path()]);
    assert_ne!(out.code, Some(0));
    let at = common::errors_at(&out.stderr, &bad.path().display().to_string(), 2);
    assert!(
        at.iter().any(|e| e.contains(
            "'http-reuse' expects 'never', 'safe', 'aggressive' or 'always', got 'sometimes'"
        )),
        "{}",
        out.stderr
    );
}

/// `pool-max-conn 0` keeps no idle connection: even a client's next
/// request opens a new one. `pool-purge-delay` sets how long one is kept.
#[test]
fn pool_max_conn_zero_keeps_nothing_idle() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    http-reuse always\n    server s {} pool-max-conn 0 pool-purge-delay 10s\n",
        b.addr
    ));
    let mut c = connect(port);
    ask(&mut c, "GET", "");
    ask(&mut c, "GET", "");
    let seen = conns(&b);
    assert_ne!(seen[0], seen[1]);
}

/// `pool-purge-delay`: an idle connection older than it is closed rather
/// than reused. (The test waits past the delay: elapsed time is what the
/// keyword is about.)
#[test]
fn pool_purge_delay_closes_old_idle_connections() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    http-reuse always\n    server s {} pool-purge-delay 100ms\n",
        b.addr
    ));
    let mut c = connect(port);
    ask(&mut c, "GET", "");
    ask(&mut c, "GET", "");
    std::thread::sleep(std::time::Duration::from_millis(300));
    ask(&mut c, "GET", "");
    let seen = conns(&b);
    assert_eq!(seen[1], seen[0], "reused within the delay");
    assert_ne!(seen[2], seen[1], "not reused past it");
}
