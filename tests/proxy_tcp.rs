//! `mode tcp` end to end: echo, half-close, a large stream with bounded memory.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::thread;
use std::time::Duration;

use common::net::{connect, echo_server, free_port, Fulcrum};

fn tcp_config(port: u16, server: std::net::SocketAddr) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen raw
    bind 127.0.0.1:{port}
    server s1 {server}
"
    )
}

#[test]
fn echo_and_half_close() {
    let port = free_port();
    let _f = Fulcrum::start(&tcp_config(port, echo_server()));
    let mut c = connect(port);
    c.write_all(b"hello through fulcrum").expect("write");
    // Half-close: our FIN reaches the server, which echoes and then closes.
    c.shutdown(Shutdown::Write).expect("shutdown");
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("read to EOF");
    assert_eq!(got, b"hello through fulcrum");
}

#[test]
fn server_side_half_close_reaches_client_while_client_still_sends() {
    // A server that sends a greeting and closes its write side at once,
    // then keeps reading: the client must see EOF and still be able to send.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let received = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.write_all(b"bye").expect("greet");
        s.shutdown(Shutdown::Write).expect("shutdown");
        let mut v = Vec::new();
        s.read_to_end(&mut v).expect("read");
        v
    });
    let port = free_port();
    let _f = Fulcrum::start(&tcp_config(port, addr));
    let mut c = connect(port);
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("read greeting to EOF");
    assert_eq!(got, b"bye");
    c.write_all(b"still here").expect("client can still send");
    c.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(received.join().expect("server"), b"still here");
}

#[test]
fn one_gib_streams_with_bounded_memory() {
    const TOTAL: u64 = 1 << 30;
    let l = TcpListener::bind("127.0.0.1:0").expect("bind sink");
    let addr = l.local_addr().expect("addr");
    let sink = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return n,
                Ok(k) => n += k as u64,
            }
        }
    });
    let port = free_port();
    let f = Fulcrum::start(&tcp_config(port, addr));
    let mut c = connect(port);
    let chunk = vec![0x5au8; 1 << 20];
    let mut max_rss = 0;
    for i in 0..(TOTAL >> 20) {
        c.write_all(&chunk).expect("write");
        if i % 64 == 0 {
            max_rss = max_rss.max(f.rss_kib());
        }
    }
    c.shutdown(Shutdown::Write).expect("shutdown");
    let got = sink.join().expect("sink");
    max_rss = max_rss.max(f.rss_kib());
    assert_eq!(got, TOTAL);
    assert!(
        max_rss > 0 && max_rss < 64 * 1024,
        "fulcrum RSS reached {max_rss} KiB"
    );
}

#[test]
fn refused_server_closes_the_client() {
    let dead = free_port();
    let port = free_port();
    let cfg = tcp_config(port, format!("127.0.0.1:{dead}").parse().expect("addr"))
        .replace("timeout connect 5s", "timeout connect 5s\n    retries 0");
    let _f = Fulcrum::start(&cfg);
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let r = c.read_to_end(&mut got);
    assert!(got.is_empty(), "{r:?}");
}

#[test]
fn option_tcpka_sets_keepalive_on_both_sides() {
    if std::process::Command::new("ss").arg("-V").output().is_err() {
        eprintln!("ss is not installed: skipping (.ci/run installs iproute2)");
        return;
    }
    let echo = echo_server();
    let port = free_port();
    let cfg = tcp_config(port, echo).replace(
        "    timeout server 30s\n",
        "    timeout server 30s\n    option tcpka\n",
    );
    let _f = Fulcrum::start(&cfg);
    let mut c = connect(port);
    c.write_all(b"x").expect("write");
    let mut b = [0u8; 1];
    c.read_exact(&mut b).expect("echo");
    // The proxy's socket towards us (source port = the frontend port) and
    // towards the echo server (destination port = the echo port) both run a
    // keep-alive timer.
    let ss = |filter: String| {
        let out = std::process::Command::new("ss")
            .args(["-tnoH", "state", "established", &filter])
            .output()
            .expect("ss");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let client_side = ss(format!("( sport = :{port} )"));
    let server_side = ss(format!("( dport = :{} )", echo.port()));
    assert!(client_side.contains("keepalive"), "{client_side}");
    assert!(server_side.contains("keepalive"), "{server_side}");
}

fn timed_config(port: u16, server: std::net::SocketAddr, timeouts: &str) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
{timeouts}
listen raw
    bind 127.0.0.1:{port}
    server s1 {server}
"
    )
}

/// How long until `c` sees the session end (EOF or reset).
fn ends_after(c: &mut std::net::TcpStream) -> Duration {
    let start = std::time::Instant::now();
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut b = [0u8; 256];
    loop {
        match c.read(&mut b) {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => continue,
        }
    }
}

/// A server that accepts and keeps its connections, saying nothing; it
/// can first send `ticks` bytes, one every 100 ms. After the client's FIN
/// it keeps its own side open for 8 s.
fn quiet_server(ticks: usize) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            thread::spawn(move || {
                let mut s = s;
                for _ in 0..ticks {
                    thread::sleep(Duration::from_millis(100));
                    if s.write_all(b".").is_err() {
                        return;
                    }
                }
                let mut b = [0u8; 64];
                while matches!(s.read(&mut b), Ok(n) if n > 0) {}
                // The client's FIN came: keep our side open (and quiet)
                // for a while, as a server still working would.
                thread::sleep(Duration::from_secs(8));
            });
        }
    });
    addr
}

/// An idle session ends at the shorter of `timeout client` and `timeout
/// server` (both directions wait), and not before.
#[test]
fn an_idle_session_ends_at_the_shorter_timeout() {
    let port = free_port();
    let _f = Fulcrum::start(&timed_config(
        port,
        quiet_server(0),
        "    timeout client 400ms\n    timeout server 5s",
    ));
    let mut c = connect(port);
    let t = ends_after(&mut c);
    assert!(
        t >= Duration::from_millis(350) && t < Duration::from_secs(4),
        "ended after {t:?}; timeout client 400ms"
    );
}

/// Bytes moving in one direction keep the whole session alive: a client
/// that sends nothing for 1.2 s is not cut at its 400 ms timeout while the
/// server talks.
#[test]
fn traffic_either_way_keeps_the_session() {
    let port = free_port();
    let _f = Fulcrum::start(&timed_config(
        port,
        quiet_server(12),
        "    timeout client 400ms\n    timeout server 5s",
    ));
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut got = 0;
    let mut b = [0u8; 16];
    while got < 12 {
        match c.read(&mut b) {
            Ok(0) | Err(_) => panic!("the session ended after {got} of 12 ticks"),
            Ok(n) => got += n,
        }
    }
    // Quiet again: now it ends at the client timeout.
    let t = ends_after(&mut c);
    assert!(
        t < Duration::from_secs(4),
        "still open {t:?} after the last byte"
    );
}

/// Once the client has closed its side, only the server direction waits:
/// its `timeout server` applies, not the client's shorter one.
#[test]
fn after_a_half_close_the_remaining_direction_keeps_its_timeout() {
    let port = free_port();
    let _f = Fulcrum::start(&timed_config(
        port,
        quiet_server(0),
        "    timeout client 300ms\n    timeout server 1500ms",
    ));
    let mut c = connect(port);
    c.shutdown(Shutdown::Write).expect("half-close");
    let t = ends_after(&mut c);
    assert!(
        t >= Duration::from_millis(1300) && t < Duration::from_secs(6),
        "ended after {t:?}; timeout server 1500ms should apply after the client's FIN"
    );
}
