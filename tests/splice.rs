//! `mode tcp` splices: bytes move socket -> pipe -> socket in the kernel.
//! Shown by the process's own counters on the runtime API
//! (`TotalSplicdedBytesOut`, `PipesUsed`, `PipesFree`, `Maxpipes` in
//! `show info`), with every byte checked at the far end; `nosplice` and
//! an exhausted `maxpipes` fall back to copying with the same bytes.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::net::{connect, echo_server, free_port, read_response, Answer, Fulcrum, HttpBackend};
use common::TempPath;

fn cli(sock: &Path, line: &str) -> String {
    common::stats_cmd(sock, line)
}

/// A `show info` field as a number.
fn info(sock: &Path, field: &str) -> u64 {
    common::info_field(&cli(sock, "show info"), field)
}

fn config(sock: &Path, port: u16, global: &str) -> String {
    format!(
        "global
    nbthread 1
    stats socket {sock} level admin
{global}
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen raw
    bind 127.0.0.1:{port}
    server echo {echo}
",
        sock = sock.display(),
        echo = echo_server(),
    )
}

/// A byte pattern that a shifted, dropped or repeated chunk would break.
fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

/// Sends `len` patterned bytes through the echo behind `port`, reading
/// the echo at the same time; checks every byte that came back.
fn echo_through(port: u16, len: usize, seed: usize) {
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut w = c.try_clone().expect("clone");
    let data = pattern(len, seed);
    let sent = data.clone();
    let writer = thread::spawn(move || {
        for chunk in sent.chunks(100_000) {
            w.write_all(chunk).expect("write");
        }
        w.shutdown(Shutdown::Write).expect("shutdown");
    });
    let mut got = Vec::with_capacity(len);
    c.read_to_end(&mut got).expect("read the echo");
    writer.join().expect("writer");
    assert_eq!(got.len(), len, "bytes echoed");
    assert!(got == data, "the echoed bytes differ from those sent");
}

/// Waits until `show info` reads `want` for `field` (sessions end a
/// moment after the client saw its last byte); the last value read.
fn settles(sock: &Path, field: &str, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = info(sock, field);
        if v == want || Instant::now() > deadline {
            return v;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

const LEN: usize = 32 << 20;

#[test]
fn mode_tcp_splices_every_byte() {
    let dir = TempPath::dir("splice");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let _f = Fulcrum::start(&config(&sock, port, "    maxpipes 100"));
    assert_eq!(info(&sock, "Maxpipes"), 100);
    assert_eq!(info(&sock, "TotalSplicdedBytesOut"), 0);
    echo_through(port, LEN, 1);
    // Both directions went through pipes: to the echo and back. A few
    // small reads may take the buffered path when a pipe is busy; the
    // bulk must not.
    let spliced = info(&sock, "TotalSplicdedBytesOut");
    assert!(
        spliced >= 2 * LEN as u64 * 9 / 10 && spliced <= 2 * LEN as u64,
        "{spliced} bytes spliced of {}",
        2 * LEN
    );
    // The session is over: its pipes are back, empty, in the pool.
    assert_eq!(settles(&sock, "PipesUsed", 0), 0);
    let free = info(&sock, "PipesFree");
    assert!((1..=2).contains(&free), "{free} free pipes");
}

#[test]
fn nosplice_copies_the_same_bytes() {
    let dir = TempPath::dir("nosplice");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let _f = Fulcrum::start(&config(&sock, port, "    nosplice"));
    echo_through(port, LEN / 4, 2);
    assert_eq!(info(&sock, "TotalSplicdedBytesOut"), 0);
    assert_eq!(info(&sock, "Maxpipes"), 0);
    assert_eq!(info(&sock, "PipesFree"), 0);
}

/// `maxpipes 1`: one session stalls with the only pipe in hand (its
/// client stops reading, so the echo's bytes wait in the pipe); three
/// more sessions then run and must copy every byte through buffers. The
/// contention is made, not hoped for: four sessions left to race on one
/// worker can each finish a turn before the next starts and all splice.
#[test]
fn maxpipes_bounds_the_pipes_and_the_rest_copy() {
    let dir = TempPath::dir("maxpipes");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let _f = Fulcrum::start(&config(&sock, port, "    maxpipes 1"));

    // The stalled session: write until the whole chain pushes back.
    let mut stalled = connect(port);
    stalled
        .set_write_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let data = pattern(64 << 20, 3);
    let mut sent = 0;
    while sent < data.len() {
        match stalled.write(&data[sent..(sent + 65536).min(data.len())]) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    assert!(sent < data.len(), "{sent} bytes went in without pushback");
    // One of its two directions is stuck in a drain with the pipe.
    assert_eq!(
        settles(&sock, "PipesUsed", 1),
        1,
        "the stalled session holds the pipe"
    );
    let before = info(&sock, "TotalSplicdedBytesOut");
    assert!(before > 0, "the stalled session spliced before it stalled");

    let sessions: Vec<_> = (0..3)
        .map(|i| thread::spawn(move || echo_through(port, LEN / 8, 10 + i)))
        .collect();
    let mut most = 0;
    while sessions.iter().any(|s| !s.is_finished()) {
        // Both from one `show info`: two reads could catch a pipe on
        // its way from used to free twice.
        let out = cli(&sock, "show info");
        let field = |name: &str| common::info_field(&out, name);
        most = most.max(field("PipesUsed") + field("PipesFree"));
        thread::sleep(Duration::from_millis(5));
    }
    for s in sessions {
        s.join().expect("session");
    }
    assert!(most <= 1, "{most} pipes held with maxpipes 1");
    assert_eq!(
        info(&sock, "TotalSplicdedBytesOut"),
        before,
        "while the one pipe was out, the other sessions copied"
    );

    // The stalled session drains: every byte it sent comes back intact.
    stalled.shutdown(Shutdown::Write).expect("shutdown");
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut got = Vec::with_capacity(sent);
    stalled.read_to_end(&mut got).expect("read the echo");
    assert_eq!(got.len(), sent, "bytes echoed to the stalled session");
    assert!(got == data[..sent], "the stalled session's echo differs");
    assert_eq!(settles(&sock, "PipesUsed", 0), 0);
}

#[test]
fn splice_keywords_are_checked() {
    let good = TempPath::file(
        "splice-kw",
        "global\n    maxpipes 10\n    tune.pipesize 131072\n    nosplice\n\
         listen l\n    mode tcp\n    bind 127.0.0.1:1\n    server s 127.0.0.1:2\n",
    );
    let run = common::check(&[good.path()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for (text, message) in [
        ("global\n    maxpipes lots\n", "maxpipes"),
        ("global\n    tune.pipesize\n", "tune.pipesize"),
        ("global\n    nosplice now\n", "nosplice"),
    ] {
        let bad = TempPath::file("splice-bad", text);
        let run = common::check(&[bad.path()]);
        assert_ne!(run.code, Some(0), "{text}");
        let errs = common::errors_at(&run.stderr, &bad.name(), 2);
        assert!(
            errs.iter().any(|l| l.contains(message)),
            "{text}: {}",
            run.stderr
        );
    }
}

fn http_config(sock: &Path, port: u16, server: std::net::SocketAddr, global: &str) -> String {
    format!(
        "global
    nbthread 1
    stats socket {sock} level admin
{global}
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:{port}
    server app {server}
",
        sock = sock.display(),
    )
}

/// Text of `len` bytes in the pattern (the test backend answers text).
fn text_pattern(len: usize) -> String {
    (0..len)
        .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
        .collect()
}

/// mode http: a body nobody reads is spliced (Content-Length, both ways),
/// its framing exact so the connections carry on; a small one is copied.
#[test]
fn http_bodies_are_spliced_with_exact_framing() {
    const BODY: usize = 4 << 20;
    let dir = TempPath::dir("splice-http");
    let sock = dir.path().join("admin.sock");
    let big = text_pattern(BODY);
    let app = HttpBackend::with(Answer::Text(big.clone()));
    let port = free_port();
    let _f = Fulcrum::start(&http_config(&sock, port, app.addr, ""));
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut pending = Vec::new();
    // Response bodies, twice on one connection.
    for i in 0..2 {
        c.write_all(format!("GET /big{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .expect("request");
        let r = read_response(&mut c, &mut pending).expect("response");
        assert_eq!(r.status, 200);
        assert!(r.body == big.as_bytes(), "response {i}: the body differs");
    }
    let after_responses = info(&sock, "TotalSplicdedBytesOut");
    assert!(
        after_responses >= 2 * BODY as u64 * 9 / 10,
        "{after_responses} bytes spliced for two {BODY}-byte responses"
    );
    // A request body, then one more request on the same connection.
    let upload = pattern(BODY, 3);
    c.write_all(
        format!("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n").as_bytes(),
    )
    .expect("head");
    c.write_all(&upload).expect("body");
    let r = read_response(&mut c, &mut pending).expect("response to the upload");
    assert_eq!(r.status, 200);
    let seen = app.requests();
    let post = seen
        .iter()
        .find(|s| s.head.starts_with("POST"))
        .expect("the POST");
    assert!(
        post.body == upload,
        "the uploaded body differs at the server"
    );
    assert!(
        info(&sock, "TotalSplicdedBytesOut") >= after_responses + BODY as u64 * 9 / 10,
        "the request body was not spliced"
    );
    // A small body is copied: the counter does not move for it.
    let small = HttpBackend::with(Answer::Text("small".into()));
    let port2 = free_port();
    let dir2 = TempPath::dir("splice-http-small");
    let sock2 = dir2.path().join("admin.sock");
    let _g = Fulcrum::start(&http_config(&sock2, port2, small.addr, ""));
    let mut c = connect(port2);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    assert_eq!(
        read_response(&mut c, &mut Vec::new())
            .expect("response")
            .text(),
        "small"
    );
    assert_eq!(info(&sock2, "TotalSplicdedBytesOut"), 0);
    assert_eq!(settles(&sock, "PipesUsed", 0), 0);
}

/// A response without a length runs until the server closes: spliced to
/// the end, and the client sees every byte and then the close.
#[test]
fn a_body_until_close_is_spliced_to_the_end() {
    const BODY: usize = 2 << 20;
    let mut raw = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let body = text_pattern(BODY);
    raw.extend_from_slice(body.as_bytes());
    let app = HttpBackend::with(Answer::Raw(Box::leak(raw.into_boxed_slice())));
    let dir = TempPath::dir("splice-close");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(&sock, port, app.addr, ""));
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert_eq!(r.status, 200);
    assert!(
        r.body == body.as_bytes(),
        "{} bytes of {BODY}",
        r.body.len()
    );
    assert!(info(&sock, "TotalSplicdedBytesOut") >= BODY as u64 * 9 / 10);
}

/// `nosplice` in mode http: the same bodies, copied.
#[test]
fn nosplice_copies_http_bodies() {
    const BODY: usize = 1 << 20;
    let big = text_pattern(BODY);
    let app = HttpBackend::with(Answer::Text(big.clone()));
    let dir = TempPath::dir("nosplice-http");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(&sock, port, app.addr, "    nosplice"));
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert!(r.body == big.as_bytes());
    assert_eq!(info(&sock, "TotalSplicdedBytesOut"), 0);
}
