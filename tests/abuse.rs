//! Limits held under abuse: clients and servers that try to hold fulcrum's
//! resources by being slow or by never finishing. Each test bounds what it
//! waits for; none relies on a sleep for correctness.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::net::{connect, free_port, read_response, Fulcrum, HttpBackend};

fn config(port: u16, server: &str, timeouts: &str) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 2s
{timeouts}
listen web
    bind 127.0.0.1:{port}
    server s {server}
"
    )
}

/// Sends `bytes` one at a time, one every `gap`, until they are all sent,
/// a write fails, or `stop` is set; in a thread of its own.
fn trickle(mut s: TcpStream, bytes: Vec<u8>, gap: Duration, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        for b in bytes {
            if stop.load(Relaxed) || s.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(gap);
        }
    });
}

/// Slowloris: a head trickled a byte every 100 ms never finishes within
/// `timeout http-request`, whatever `timeout client` says: 408 once the
/// request timeout has run, and the server never hears of it.
#[test]
fn a_trickled_head_gets_408_at_timeout_http_request() {
    let app = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&config(
        port,
        &app.addr.to_string(),
        "    timeout client 30s\n    timeout server 30s\n    timeout http-request 1s",
    ));
    let c = connect(port);
    let stop = Arc::new(AtomicBool::new(false));
    let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'a', 200))
        .collect();
    trickle(
        c.try_clone().expect("clone"),
        head,
        Duration::from_millis(100),
        stop.clone(),
    );
    let start = Instant::now();
    let mut reader = c;
    reader
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let r = read_response(&mut reader, &mut Vec::new()).expect("an answer");
    stop.store(true, Relaxed);
    let t = start.elapsed();
    assert_eq!(r.status, 408);
    assert!(
        t >= Duration::from_millis(900) && t < Duration::from_secs(6),
        "408 after {t:?} with timeout http-request 1s"
    );
    assert!(app.requests().is_empty(), "the server heard of it");
}

/// A server that answers every request with a body that never ends (a
/// Content-Length of 1 TB), counting what it could write, and whether a
/// write failed (the proxy closed).
struct Firehose {
    addr: std::net::SocketAddr,
    written: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

impl Firehose {
    fn start() -> Firehose {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let written = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let (w, c) = (written.clone(), closed.clone());
        std::thread::spawn(move || {
            // One connection is all these tests make.
            let Ok((mut s, _)) = l.accept() else { return };
            let mut head = [0u8; 4096];
            let _ = s.read(&mut head);
            let _ = s.set_write_timeout(Some(Duration::from_secs(60)));
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
                .is_err()
            {
                c.store(true, Relaxed);
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                match s.write(&chunk) {
                    Ok(n) => {
                        w.fetch_add(n as u64, Relaxed);
                    }
                    Err(_) => {
                        c.store(true, Relaxed);
                        return;
                    }
                }
            }
        });
        Firehose {
            addr,
            written,
            closed,
        }
    }
}

/// Waits (bounded) until `f` holds.
fn wait_until(limit: Duration, what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client that asks for an endless body and never reads it: fulcrum
/// holds a bounded amount (its buffer or a pipe, and the sockets' kernel
/// buffers), stops reading from the server, and closes both sides when
/// `timeout client` runs out on the stalled write.
#[test]
fn a_client_that_never_reads_holds_bounded_memory_until_its_timeout() {
    let hose = Firehose::start();
    let port = free_port();
    let f = Fulcrum::start(&config(
        port,
        &hose.addr.to_string(),
        "    timeout client 2s\n    timeout server 30s",
    ));
    let rss0 = f.rss_kib();
    let mut c = connect(port);
    c.write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    // The server's writes stall once the buffers between are full.
    wait_until(Duration::from_secs(10), "the server started", || {
        hose.written.load(Relaxed) > 0
    });
    let mut last = 0;
    let stalled = Instant::now() + Duration::from_secs(10);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = hose.written.load(Relaxed);
        if now == last || hose.closed.load(Relaxed) {
            break;
        }
        last = now;
        assert!(
            Instant::now() < stalled,
            "the server's writes never stalled"
        );
    }
    let held = hose.written.load(Relaxed);
    assert!(
        held < 64 << 20,
        "{held} bytes taken from the server for a client that reads nothing"
    );
    let grown = f.rss_kib().saturating_sub(rss0);
    eprintln!("taken from the server: {held} bytes; fulcrum's RSS grew by {grown} KiB");
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB");
    // `timeout client` (2 s) ends it: the server's next write fails.
    wait_until(Duration::from_secs(15), "the server side closed", || {
        hose.closed.load(Relaxed)
    });
    drop(c);
}

/// A client that leaves in the middle of an endless body: fulcrum closes
/// the server's connection too, instead of reading on for nobody.
#[test]
fn an_endless_response_stops_when_the_client_leaves() {
    let hose = Firehose::start();
    let port = free_port();
    let _f = Fulcrum::start(&config(
        port,
        &hose.addr.to_string(),
        "    timeout client 30s\n    timeout server 30s",
    ));
    let mut c = connect(port);
    c.write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while got < 1 << 20 {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => panic!("the body stopped after {got} bytes"),
            Ok(n) => got += n,
        }
    }
    drop(c);
    wait_until(Duration::from_secs(10), "the server side closed", || {
        hose.closed.load(Relaxed)
    });
}

/// A body trickled a byte at a time under `option http-buffer-request`
/// ends at `timeout http-request` (408), not at `timeout client`, which
/// each byte would renew: a slow POST cannot hold the connection.
#[test]
fn a_trickled_body_gets_408_at_timeout_http_request() {
    let app = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&config(
        port,
        &format!("{}\n    option http-buffer-request", app.addr),
        "    timeout client 30s\n    timeout server 30s\n    timeout http-request 1s",
    ));
    let mut c = connect(port);
    c.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        .expect("head");
    let stop = Arc::new(AtomicBool::new(false));
    trickle(
        c.try_clone().expect("clone"),
        vec![b'b'; 100],
        Duration::from_millis(100),
        stop.clone(),
    );
    let start = Instant::now();
    c.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let r = read_response(&mut c, &mut Vec::new()).expect("an answer");
    stop.store(true, Relaxed);
    let t = start.elapsed();
    assert_eq!(r.status, 408);
    assert!(
        t < Duration::from_secs(6),
        "408 after {t:?} with timeout http-request 1s"
    );
    assert!(app.requests().is_empty(), "the server heard of it");
}
