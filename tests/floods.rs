//! Floods held by the limits an operator sets: `maxconn` (global and per
//! frontend) bounds what a flood of unfinished heads gets in, and the
//! idle keep-alive clients and half-open TLS handshakes a client leaves
//! behind cost bounded memory and end at their timeouts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::net::{connect, free_port, read_response, status_of, Fulcrum, HttpBackend};
use common::TempPath;

fn cli(sock: &Path, line: &str) -> String {
    common::stats_cmd(sock, line)
}

/// A frontend's current sessions (`scur`) from `show stat`.
fn frontend_scur(sock: &Path, name: &str) -> u64 {
    let out = cli(sock, "show stat");
    out.lines()
        .find(|l| l.starts_with(&format!("{name},FRONTEND,")))
        .and_then(|l| l.split(',').nth(4))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} frontend in:\n{out}"))
}

/// Opens `n` connections to `port`, each sending the start of a head and
/// nothing more (the kernel's backlog holds those fulcrum has not taken).
fn half_heads(port: u16, n: usize) -> Vec<TcpStream> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    (0..n)
        .filter_map(|_| {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
            s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").ok()?;
            Some(s)
        })
        .collect()
}

/// Waits until each connection is closed by the other side (an answer
/// before it is fine); the longest wait.
fn all_closed(conns: Vec<TcpStream>, within: Duration) -> Duration {
    let start = Instant::now();
    for mut c in conns {
        let left = within
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1));
        c.set_read_timeout(Some(left)).expect("timeout");
        let mut sink = Vec::new();
        let read = c.read_to_end(&mut sink);
        assert!(
            read.is_ok(),
            "a connection still open after {within:?}: {read:?}"
        );
    }
    start.elapsed()
}

/// A flood of clients that never finish their heads, against a global
/// `maxconn 20` and a frontend's `maxconn 5`: fulcrum never holds more
/// than the limits (read from its own counters throughout), each held
/// client is cut at `timeout http-request` so the backlog drains, a real
/// client is served in between, and memory stays bounded.
#[test]
fn maxconn_holds_under_a_flood() {
    let dir = TempPath::dir("flood");
    let sock = dir.path().join("admin.sock");
    let b = HttpBackend::start("ok");
    let (small, big) = (free_port(), free_port());
    let f = Fulcrum::start(&format!(
        "global
    nbthread 1
    maxconn 20
    stats socket {} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 1s
frontend small
    bind 127.0.0.1:{small}
    maxconn 5
    default_backend app
frontend big
    bind 127.0.0.1:{big}
    default_backend app
backend app
    server s {}
",
        sock.display(),
        b.addr
    ));
    let before = f.rss_kib();
    let flood = [half_heads(small, 20), half_heads(big, 60)];
    let (mut most, mut most_small) = (0, 0);
    let real = std::thread::spawn(move || status_of(big, b"GET /real HTTP/1.1\r\nHost: t\r\n\r\n"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !real.is_finished() && Instant::now() < deadline {
        most = most.max(common::info_field(&cli(&sock, "show info"), "CurrConns"));
        most_small = most_small.max(frontend_scur(&sock, "small"));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        real.join().expect("real client"),
        200,
        "the real client was served"
    );
    let peak = f.rss_kib();
    let [s, g] = flood;
    // 80 clients, 20 at a time, each cut after 1 s: about 4 s, with room
    // for a loaded machine.
    let took = all_closed(s.into_iter().chain(g).collect(), Duration::from_secs(30));
    assert!(most <= 20, "{most} connections held with maxconn 20");
    assert!(
        most_small <= 5,
        "{most_small} held by a frontend with maxconn 5"
    );
    assert!(most >= 5, "the flood never reached fulcrum ({most})");
    assert!(
        peak.saturating_sub(before) < 16 * 1024,
        "RSS grew {} KiB under the flood",
        peak - before
    );
    eprintln!("flood: at most {most} held ({most_small} on small), all cut within {took:?}");
    assert_eq!(curr_conns_settle(&sock, 0), 0);
}

/// Polls `CurrConns` until it reads `want` (a session ends a moment after
/// its client saw the close), for 10 s at most; the last value.
fn curr_conns_settle(sock: &Path, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = common::info_field(&cli(sock, "show info"), "CurrConns");
        if v == want || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The file limit raised to its hard maximum; what it is then.
fn file_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    l.current = l.maximum;
    let _ = setrlimit(Resource::Nofile, l);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// 20,000 keep-alive clients, each after one request, wait idle at once:
/// each costs fulcrum a bounded, small amount of memory (no buffer, no
/// task: the idle lot), every one still answers a second request, and
/// all of them leave CurrConns at 0. A machine whose per-process file
/// limit is lower holds as many as it allows, 200 fds short of it (this
/// test's process and fulcrum's each need one per connection), and says
/// so.
#[test]
fn twenty_thousand_idle_connections() {
    let limit = file_limit();
    let n = 20_000usize.min(limit.saturating_sub(200) as usize);
    if n < 20_000 {
        eprintln!("the file limit is {limit}: holding {n} idle connections, not 20,000");
    }
    let dir = TempPath::dir("idle20k");
    let sock = dir.path().join("admin.sock");
    let b = HttpBackend::start("ok");
    let port = free_port();
    let f = Fulcrum::start(&format!(
        "global
    maxconn 30000
    stats socket {} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 5s
    timeout http-keep-alive 120s
listen web
    bind 127.0.0.1:{port}
    server s {}
",
        sock.display(),
        b.addr
    ));
    let request = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    // A few first, so that what the process sets up once is in `before`.
    let mut conns: Vec<TcpStream> = Vec::with_capacity(n);
    let open = |count: usize, conns: &mut Vec<TcpStream>| {
        let batch: Vec<TcpStream> = (0..count)
            .map(|_| {
                let mut c = connect(port);
                c.set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("timeout");
                c.write_all(request).expect("write");
                c
            })
            .collect();
        for mut c in batch {
            let r = read_response(&mut c, &mut Vec::new()).expect("the first answer");
            assert_eq!(r.status, 200);
            conns.push(c);
        }
    };
    open(200, &mut conns);
    assert_eq!(curr_conns_settle(&sock, 200), 200);
    let before = f.rss_kib();
    while conns.len() < n {
        open((n - conns.len()).min(1000), &mut conns);
    }
    assert_eq!(curr_conns_settle(&sock, n as u64), n as u64);
    // Past the lot's 250 ms, every one of them is parked.
    std::thread::sleep(Duration::from_millis(600));
    let after = f.rss_kib();
    let per_conn = (after.saturating_sub(before) * 1024) / (n as u64 - 200);
    eprintln!("{n} idle connections: RSS {before} -> {after} KiB, {per_conn} B each");
    // A debug build; release measures about 800 B (README, Performance).
    assert!(per_conn < 6 * 1024, "{per_conn} B per idle connection");
    // Every 97th comes back for a second request.
    for c in conns.iter_mut().step_by(97) {
        c.write_all(request).expect("write");
        let r = read_response(c, &mut Vec::new()).expect("a second answer");
        assert_eq!(r.status, 200);
    }
    drop(conns);
    assert_eq!(curr_conns_settle(&sock, 0), 0);
}

/// A self-signed certificate for `localhost`, with its key, in one PEM
/// (as `bind ... ssl crt` takes it), and the certificate alone.
fn self_signed(
    dir: &TempPath,
) -> (
    std::path::PathBuf,
    rustls_pki_types::CertificateDer<'static>,
) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let pem = dir.path().join("site.pem");
    std::fs::write(&pem, format!("{}{}", cert.pem(), key.serialize_pem())).expect("write");
    (pem, cert.der().clone())
}

/// One HTTPS request with rustls, trusting `cert`: the status.
fn https_status(port: u16, cert: &rustls_pki_types::CertificateDer<'static>) -> u16 {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).expect("root");
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).expect("client");
    let tcp = connect(port);
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    if tls
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return 0;
    }
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// 600 TLS clients that never finish their handshake (silent after
/// connecting, after one byte, or in the middle of a ClientHello): each
/// is cut at `timeout client`, memory stays bounded while they wait, and
/// a real HTTPS client is served among them.
#[test]
fn half_open_tls_handshakes_are_cut_at_timeout_client() {
    let dir = TempPath::dir("tls-flood");
    let (pem, cert) = self_signed(&dir);
    let b = HttpBackend::start("ok");
    let port = free_port();
    let f = Fulcrum::start(&format!(
        "global
    nbthread 1
    maxconn 5000
defaults
    mode http
    timeout connect 2s
    timeout client 2s
    timeout server 5s
listen web
    bind 127.0.0.1:{port} ssl crt {}
    server s {}
",
        pem.display(),
        b.addr
    ));
    assert_eq!(https_status(port, &cert), 200);
    let before = f.rss_kib();
    // A ClientHello's record header and the start of its body.
    let partial_hello: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x01\x02\x03";
    let sent = Instant::now();
    let mut flood: Vec<TcpStream> = (0..600)
        .map(|i| {
            let mut c = connect(port);
            match i % 3 {
                0 => {}
                1 => c.write_all(b"\x16").expect("write"),
                _ => c.write_all(partial_hello).expect("write"),
            }
            c
        })
        .collect();
    // Not cut early: the first one is still open a second later.
    let first = flood.first_mut().expect("flood");
    first
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let early = first.read(&mut [0u8; 1]);
    assert!(
        early.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "cut before timeout client: {early:?}"
    );
    assert_eq!(https_status(port, &cert), 200, "served among the half-open");
    let peak = f.rss_kib();
    let took = all_closed(flood, Duration::from_secs(20));
    let waited = sent.elapsed();
    let per_conn = (peak.saturating_sub(before) * 1024) / 600;
    eprintln!(
        "600 half-open handshakes: {per_conn} B each at most, all cut {waited:?} after the first"
    );
    assert!(per_conn < 64 * 1024, "{per_conn} B per half-open handshake");
    // timeout client is 2 s; room for a loaded machine.
    assert!(
        waited < Duration::from_secs(12),
        "cut only {waited:?} after the first was opened ({took:?} waited here)"
    );
}
