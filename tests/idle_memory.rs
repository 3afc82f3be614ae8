//! Idle connections hold no buffer: a keep-alive HTTP client between
//! requests and a quiet `mode tcp` session cost their socket and a small
//! record, never a 16 KiB block. Read from the pool's own counters on the
//! runtime API (`show pools`), after real traffic went through each
//! connection, with a few half-sent requests alongside to show that the
//! counters do count what is held.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::net::{connect, free_port, read_response, Fulcrum, HttpBackend};
use common::TempPath;

const IDLE_HTTP: usize = 1000;
const IDLE_TCP: usize = 300;
const PARTIAL: usize = 10;

fn cli(sock: &Path, line: &str) -> String {
    common::stats_cmd(sock, line)
}

/// (buffers allocated, held by connections) from `show pools`, whose
/// "used" counts the workers' cached spares too, as HAProxy's does.
fn buffers(sock: &Path) -> (usize, usize) {
    let out = cli(sock, "show pools");
    let line = out
        .lines()
        .find(|l| l.contains("Pool buffer"))
        .unwrap_or_else(|| panic!("no buffer pool in:\n{out}"));
    let num_before = |word: &str| -> usize {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {line}"));
        line[..at]
            .split_whitespace()
            .next_back()
            .and_then(|w| w.trim_start_matches("(~").parse().ok())
            .unwrap_or_else(|| panic!("a number before {word} in {line}"))
    };
    let (allocated, used, cached) = (
        num_before("allocated"),
        num_before("used"),
        num_before("by thread caches"),
    );
    (allocated, used - cached)
}

/// Polls `show pools` until connections hold `want` buffers (the last
/// responses may still be on their way out); the last count seen.
fn held_settles_at(sock: &Path, want: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, held) = buffers(sock);
        if held == want || Instant::now() > deadline {
            return held;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The file limit raised to its hard maximum: the test holds thousands
/// of sockets.
fn raise_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    l.current = l.maximum;
    let _ = setrlimit(Resource::Nofile, l);
}

/// A `mode tcp` server that greets each connection and keeps it without
/// reading: what the client sends stays in the kernel's buffers.
fn greeting_sink() -> (u16, Arc<Mutex<Vec<TcpStream>>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let k = kept.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let _ = s.write_all(b"hello\n");
            k.lock().expect("kept").push(s);
        }
    });
    (port, kept)
}

#[test]
fn idle_connections_hold_no_buffer() {
    raise_file_limit();
    let dir = TempPath::dir("idle-mem");
    let sock = dir.path().join("admin.sock");
    let app = HttpBackend::start("app");
    let (sink_port, _kept) = greeting_sink();
    let (http_port, tcp_port) = (free_port(), free_port());
    let cfg = format!(
        "global
    nbthread 1
    maxconn 10000
    stats socket {sock} level admin
defaults
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend web
    mode http
    bind 127.0.0.1:{http_port}
    default_backend app
backend app
    mode http
    http-reuse always
    server a {app}
listen tcp_in
    mode tcp
    bind 127.0.0.1:{tcp_port}
    server s 127.0.0.1:{sink_port}
",
        sock = sock.display(),
        app = app.addr,
    );
    let _f = Fulcrum::start(&cfg);

    // HTTP: each client sends one request, reads its answer, and stays.
    let mut clients = Vec::with_capacity(IDLE_HTTP);
    for i in 0..IDLE_HTTP {
        let mut s = connect(http_port);
        s.write_all(format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .expect("request");
        let r = read_response(&mut s, &mut Vec::new()).expect("response");
        assert_eq!(r.status, 200, "client {i}");
        clients.push(s);
    }
    // TCP: each session gets the greeting and sends a line the server
    // never reads.
    let mut sessions = Vec::with_capacity(IDLE_TCP);
    for i in 0..IDLE_TCP {
        let mut s = connect(tcp_port);
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut hello = [0u8; 6];
        s.read_exact(&mut hello).expect("greeting");
        assert_eq!(&hello, b"hello\n", "session {i}");
        s.write_all(format!("line {i}\n").as_bytes()).expect("send");
        sessions.push(s);
    }
    let held = held_settles_at(&sock, 0);
    let (allocated, _) = buffers(&sock);
    assert_eq!(
        held,
        0,
        "{IDLE_HTTP} idle HTTP clients and {IDLE_TCP} quiet TCP sessions hold buffers:\n{}",
        cli(&sock, "show pools")
    );
    assert!(
        allocated <= 64,
        "{allocated} buffers allocated for idle connections (64 spares at most)"
    );

    // The counters count: a half-sent request head holds a buffer until
    // the head is complete.
    let mut partial: Vec<TcpStream> = (0..PARTIAL)
        .map(|i| {
            let mut s = connect(http_port);
            s.write_all(format!("GET /p{i} HTTP/1.1\r\nHost: t\r\n").as_bytes())
                .expect("half a head");
            s
        })
        .collect();
    assert_eq!(
        held_settles_at(&sock, PARTIAL),
        PARTIAL,
        "{}",
        cli(&sock, "show pools")
    );
    for s in &mut partial {
        s.write_all(b"\r\n").expect("end of head");
        let r = read_response(s, &mut Vec::new()).expect("response");
        assert_eq!(r.status, 200);
    }
    assert_eq!(held_settles_at(&sock, 0), 0, "{}", cli(&sock, "show pools"));

    // The connections are still there and still work after idling.
    for (i, s) in clients.iter_mut().enumerate().step_by(97) {
        s.write_all(format!("GET /again{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .expect("request after idling");
        let r = read_response(s, &mut Vec::new()).expect("response after idling");
        assert_eq!(r.status, 200);
    }
    let info = cli(&sock, "show info");
    assert!(
        info.contains(&format!("CurrConns: {}", IDLE_HTTP + IDLE_TCP + PARTIAL)),
        "{info}"
    );
}
