//! `option http-buffer-request`: the body is received before a server is
//! connected, so a slow client holds no server connection; one that stops
//! sending gets 408 and no server hears of its request. Side by side with
//! Debian's HAProxy.

mod common;

use std::io::Write;

use common::haproxy::Haproxy;
use common::net::{connect, free_port, read_response, Fulcrum, HttpBackend};

fn config(port: u16, b: &HttpBackend, option: &str) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    timeout http-request 500ms\nlisten web\n    bind 127.0.0.1:{port}\n{option}    server s {}\n",
        b.addr
    )
}

/// A POST whose body stops after 3 of 10 bytes: (status, requests the
/// backend saw).
fn stalled_post(port: u16, b: &HttpBackend) -> (u16, usize) {
    let mut c = connect(port);
    c.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .expect("write");
    let status = read_response(&mut c, &mut Vec::new()).map_or(0, |r| r.status);
    (status, b.requests().len())
}

#[test]
fn a_stalled_body_never_reaches_a_server() {
    let option = "    option http-buffer-request\n";
    let (fb, hb) = (HttpBackend::start("ok"), HttpBackend::start("ok"));
    let (fport, hport) = (free_port(), free_port());
    let _f = Fulcrum::start(&config(fport, &fb, option));
    let _h = Haproxy::start(&config(hport, &hb, option), &[hport]);
    let ours = stalled_post(fport, &fb);
    assert_eq!(ours, stalled_post(hport, &hb));
    assert_eq!(ours, (408, 0));
    // A whole body goes through as usual.
    let mut c = connect(fport);
    c.write_all(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    )
    .expect("write");
    assert_eq!(
        read_response(&mut c, &mut Vec::new())
            .expect("response")
            .status,
        200
    );
    assert_eq!(fb.requests()[0].body, b"0123456789");
}

#[test]
fn without_the_option_the_server_sees_the_head_at_once() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &b, ""));
    let mut c = connect(port);
    c.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .expect("write");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while b.conns.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(std::time::Instant::now() < deadline, "no server connection");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
