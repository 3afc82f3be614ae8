//! `mode http` end to end: forwardfor, keep-alive, streamed bodies,
//! timeouts, and the smuggling shapes that must never reach a server.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::net::{connect, free_port, get, read_response, request, Answer, Fulcrum, HttpBackend};

fn http_config(port: u16, extra: &str, servers: &[&HttpBackend]) -> String {
    let mut s = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:{port}
{extra}
"
    );
    for (i, b) in servers.iter().enumerate() {
        s.push_str(&format!("    server s{i} {}\n", b.addr));
    }
    s
}

#[test]
fn forwardfor_appends_the_client_address() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "    option forwardfor", &[&b]));
    let r = request(
        port,
        "GET /x HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: close\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.status, 200);
    let head = &b.requests()[0].head;
    assert!(head.contains("X-Forwarded-For: 10.9.9.9\r\n"), "{head}");
    assert!(head.contains("X-Forwarded-For: 127.0.0.1\r\n"), "{head}");
}

#[test]
fn forwardfor_except_skips_matching_sources() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(
        port,
        "    option forwardfor except 127.0.0.0/8 header X-Client",
        &[&b],
    ));
    assert_eq!(get(port, "/").status, 200);
    let head = b.requests()[0].head.to_ascii_lowercase();
    assert!(!head.contains("x-client"), "{head}");
}

#[test]
fn keep_alive_on_both_sides() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "", &[&b]));
    let mut c = connect(port);
    let mut pending = Vec::new();
    for i in 0..5 {
        c.write_all(format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .expect("write");
        let r = read_response(&mut c, &mut pending).expect("response on the same connection");
        assert_eq!((r.status, r.text().as_str()), (200, "a"));
    }
    assert_eq!(b.requests().len(), 5);
    assert_eq!(
        b.conns.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "one server connection reused"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "", &[&b]));
    let mut c = connect(port);
    c.write_all(b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\nGET /3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("write");
    let mut pending = Vec::new();
    for _ in 0..3 {
        assert_eq!(
            read_response(&mut c, &mut pending)
                .expect("response")
                .status,
            200
        );
    }
    let paths: Vec<String> = b
        .requests()
        .iter()
        .map(|s| s.head.split(' ').nth(1).unwrap_or("").to_string())
        .collect();
    assert_eq!(paths, ["/1", "/2", "/3"]);
}

#[test]
fn chunked_upload_of_100_mib_streams_with_bounded_memory() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let f = Fulcrum::start(&http_config(port, "", &[&b]));
    let mut c = connect(port);
    c.write_all(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        .expect("head");
    let chunk = vec![b'x'; 1 << 20];
    let mut max_rss = 0;
    for i in 0..100 {
        c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .expect("size");
        c.write_all(&chunk).expect("data");
        c.write_all(b"\r\n").expect("crlf");
        if i % 10 == 0 {
            max_rss = max_rss.max(f.rss_kib());
        }
    }
    c.write_all(b"0\r\n\r\n").expect("last chunk");
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert_eq!(r.status, 200);
    assert!(max_rss < 64 * 1024, "fulcrum RSS reached {max_rss} KiB");
    assert!(b.requests()[0].head.contains("Transfer-Encoding: chunked"));
}

#[test]
fn content_length_body_and_100_continue() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "", &[&b]));
    let mut c = connect(port);
    c.write_all(
        b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .expect("head");
    let mut pending = Vec::new();
    let interim = read_response(&mut c, &mut pending);
    // The 100 has no body: read_response returns it with an empty body only
    // if the final answer has not come yet, which it cannot without the body.
    let interim = interim.expect("100 Continue");
    assert_eq!(interim.status, 100);
    c.write_all(b"hello").expect("body");
    let r = read_response(&mut c, &mut pending).expect("final response");
    assert_eq!(r.status, 200);
    let seen = &b.requests()[0];
    assert_eq!(seen.body, b"hello");
    assert!(
        !seen.head.to_ascii_lowercase().contains("expect:"),
        "{}",
        seen.head
    );
}

#[test]
fn server_that_never_answers_gives_504() {
    let b = HttpBackend::with(Answer::Never);
    let port = free_port();
    let cfg = http_config(port, "    timeout server 1s", &[&b]);
    let _f = Fulcrum::start(&cfg);
    let t = Instant::now();
    let r = get(port, "/");
    assert_eq!(r.status, 504);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn half_a_head_gives_408() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "    timeout http-request 1s", &[&b]));
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n")
        .expect("half a head");
    let t = Instant::now();
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert_eq!(r.status, 408);
    assert!(t.elapsed() >= Duration::from_millis(900));
    assert!(b.requests().is_empty());
}

#[test]
fn no_server_gives_503() {
    let port = free_port();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server s1 127.0.0.1:{} disabled\n",
        free_port()
    );
    let _f = Fulcrum::start(&cfg);
    let r = get(port, "/");
    assert_eq!(r.status, 503);
    assert!(r.text().contains("No server is available"));
}

#[test]
fn smuggling_shapes_get_4xx_and_reach_no_server() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "", &[&b]));
    let cases: &[(&str, &[u8], u16)] = &[
        // CL beside TE is framed by chunked alone: tests/transfer_encoding.rs.
        (
            "TE chunked twice",
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "two CLs",
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
            400,
        ),
        (
            "TE not last",
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "TE unknown",
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
        ),
        (
            "obs-fold",
            b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n  b\r\n\r\n",
            400,
        ),
        ("bare LF", b"GET / HTTP/1.1\nHost: t\n\n", 400),
        ("bare CR", b"GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400),
        ("NUL", b"GET / HTTP/1.1\r\nHost: t\x00\r\n\r\n", 400),
        (
            "bad name",
            b"GET / HTTP/1.1\r\nHost: t\r\nBad Name: v\r\n\r\n",
            400,
        ),
        ("no host", b"GET / HTTP/1.1\r\n\r\n", 400),
        (
            "bad chunk size",
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
        ),
    ];
    for (name, raw, want) in cases {
        let mut c = connect(port);
        c.write_all(raw).expect("write");
        let r =
            read_response(&mut c, &mut Vec::new()).unwrap_or_else(|| panic!("{name}: no response"));
        assert_eq!(r.status, *want, "{name}");
        // The connection is closed after the error.
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
    }
    // The chunked-size case reaches the server's head only after its head was
    // valid; everything else must not have reached it at all.
    let seen = b.requests();
    assert!(seen.len() <= 1, "{seen:?}");
    assert!(seen.iter().all(|s| !s.body.starts_with(b"zz")), "{seen:?}");
}

#[test]
fn oversized_heads_get_414_and_431() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "", &[&b]));
    let long = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(20000));
    assert_eq!(request(port, &long).expect("response").status, 414);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
        "a".repeat(20000)
    );
    assert_eq!(request(port, &big).expect("response").status, 431);
    assert!(b.requests().is_empty());
}

#[test]
fn head_and_204_have_no_body() {
    let b = HttpBackend::start("hello");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "", &[&b]));
    let mut c = connect(port);
    c.write_all(
        b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let mut all = Vec::new();
    c.read_to_end(&mut all).expect("read");
    let text = String::from_utf8_lossy(&all);
    // The HEAD answer carries Content-Length: 5 but no body; the GET's follows.
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(text.matches("hello").count(), 1, "{text}");
}

#[test]
fn websocket_upgrade_becomes_a_tunnel() {
    use std::net::TcpListener;
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut b).unwrap_or(0) == 0 {
                return;
            }
            head.push(b[0]);
        }
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").expect("101");
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
    let port = free_port();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout tunnel 1h\nlisten web\n    bind 127.0.0.1:{port}\n    server s1 {addr}\n"
    );
    let _f = Fulcrum::start(&cfg);
    let mut c = connect(port);
    c.write_all(
        b"GET /chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .expect("upgrade");
    let mut pending = Vec::new();
    let r = read_response(&mut c, &mut pending).expect("101");
    assert_eq!(r.status, 101);
    assert!(r.head.contains("Upgrade: websocket"), "{}", r.head);
    for msg in [&b"frame one"[..], b"frame two"] {
        c.write_all(msg).expect("send frame");
        let mut got = vec![0u8; msg.len()];
        c.read_exact(&mut got).expect("echoed frame");
        assert_eq!(got, msg);
    }
}

#[test]
fn server_maxconn_queues_then_timeout_queue_gives_503() {
    let b = HttpBackend::with(Answer::Never);
    let port = free_port();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n    timeout queue 500ms\nlisten web\n    bind 127.0.0.1:{port}\n    server s1 {} maxconn 1\n",
        b.addr
    );
    let _f = Fulcrum::start(&cfg);
    let mut parked = connect(port);
    parked
        .write_all(b"GET /park HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.requests().is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let t = Instant::now();
    let r = get(port, "/second");
    assert_eq!(r.status, 503);
    assert!(
        t.elapsed() >= Duration::from_millis(450),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        b.requests().len(),
        1,
        "the queued request never reached the full server"
    );
}

#[test]
fn http_server_close_closes_each_server_connection() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "    option http-server-close", &[&b]));
    let mut c = connect(port);
    let mut pending = Vec::new();
    for _ in 0..3 {
        c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        let r = read_response(&mut c, &mut pending).expect("client connection kept alive");
        assert_eq!(r.status, 200);
    }
    assert_eq!(b.conns.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert!(b
        .requests()
        .iter()
        .all(|s| s.head.contains("Connection: close")));
}

#[test]
fn httpclose_closes_the_client_connection() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "    option httpclose", &[&b]));
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert!(r.head.contains("Connection: close"), "{}", r.head);
    let mut rest = Vec::new();
    assert_eq!(c.read_to_end(&mut rest).expect("EOF"), 0);
}

#[test]
fn frontend_maxconn_holds_extra_clients_in_the_backlog() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "    maxconn 1", &[&b]));
    let mut first = connect(port);
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_response(&mut first, &mut Vec::new())
            .expect("first")
            .status,
        200
    );
    // The second client connects (kernel backlog) but is not served...
    let mut second = connect(port);
    second
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut byte = [0u8; 1];
    assert!(
        second.read(&mut byte).is_err(),
        "served while the first held the only slot"
    );
    // ...until the first one leaves.
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert_eq!(
        read_response(&mut second, &mut Vec::new())
            .expect("second")
            .status,
        200
    );
}

#[test]
fn errorfile_replaces_the_error_page() {
    let page = std::env::temp_dir().join(format!("fulcrum-503-{}.http", std::process::id()));
    std::fs::write(&page, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 12\r\nConnection: close\r\n\r\nWe are back.").expect("write");
    let port = free_port();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    errorfile 503 {}\nlisten web\n    bind 127.0.0.1:{port}\n    server s1 127.0.0.1:{} disabled\n",
        page.display(),
        free_port()
    );
    let _f = Fulcrum::start(&cfg);
    let r = get(port, "/");
    assert_eq!((r.status, r.text().as_str()), (503, "We are back."));
    let _ = std::fs::remove_file(page);
}

#[test]
fn garbage_clients_do_not_hurt_the_proxy() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&http_config(port, "    timeout http-request 2s", &[&b]));
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..200 {
        let mut c = connect(port);
        let len = 1 + (i * 37) % 700;
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = c.write_all(&junk);
        let _ = c.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = c.read_to_end(&mut sink);
        if !sink.is_empty() {
            let status = String::from_utf8_lossy(&sink[..sink.len().min(12)]).to_string();
            assert!(status.starts_with("HTTP/1.1 4"), "junk got {status:?}");
        }
    }
    assert_eq!(get(port, "/").status, 200, "still serving after the junk");
}
