//! Transfer-Encoding, side by side with Debian's HAProxy 2.6: the same
//! bytes go to fulcrum and to HAProxy, each in front of its own recording
//! backend, and the client and the backend must see the same.
//!
//! The choice (README, "Transfer-Encoding"): RFC 9112 6.1 and 6.3 let a
//! proxy refuse a request with both Transfer-Encoding and Content-Length,
//! or frame it by chunked alone, drop the Content-Length and close after.
//! fulcrum does the latter, as HAProxy does: what follows the chunked body
//! (a smuggled request) never reaches a server, and neither connection is
//! used again. A coding other than chunked is refused: 422 for a request,
//! 502 for a response.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::haproxy::Haproxy;
use common::net::{connect, free_port, read_response, Answer, Fulcrum, HttpBackend};

fn config(port: u16, b: &HttpBackend) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server s {}\n",
        b.addr
    )
}

/// What one side saw of one exchange.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    /// The client connection was closed after the response.
    closed: bool,
    /// What the backend got, per request.
    backend: Vec<Got>,
}

/// One request as the backend got it: request line, Transfer-Encoding,
/// Content-Length and TE values, body.
type Got = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn value(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

fn exchange(port: u16, b: &HttpBackend, raw: &[u8]) -> Seen {
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.write_all(raw).expect("write");
    let mut pending = Vec::new();
    let r = read_response(&mut c, &mut pending).expect("a response");
    // Closed: EOF comes before the read timeout (nothing else is sent).
    let mut rest = [0u8; 64];
    let closed = pending.is_empty() && matches!(c.read(&mut rest), Ok(0));
    let backend = b
        .requests()
        .iter()
        .map(|s| {
            (
                s.head.lines().next().unwrap_or_default().to_string(),
                value(&s.head, "transfer-encoding"),
                value(&s.head, "content-length"),
                value(&s.head, "te"),
                String::from_utf8_lossy(&s.body).into_owned(),
            )
        })
        .collect();
    Seen {
        status: r.status,
        closed,
        backend,
    }
}

/// Runs `raw` through both and returns (fulcrum, haproxy).
fn both(raw: &[u8], answer: Answer) -> (Seen, Seen) {
    let (fb, hb) = (HttpBackend::with(answer.clone()), HttpBackend::with(answer));
    let (fport, hport) = (free_port(), free_port());
    let _f = Fulcrum::start(&config(fport, &fb));
    let _h = Haproxy::start(&config(hport, &hb), &[hport]);
    (exchange(fport, &fb, raw), exchange(hport, &hb, raw))
}

fn ok() -> Answer {
    Answer::Text("ok".into())
}

#[test]
fn content_length_beside_chunked_is_dropped_and_both_connections_close() {
    let raw = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 31\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n";
    let (ours, theirs) = both(raw, ok());
    assert_eq!(ours, theirs);
    assert_eq!(ours.status, 200);
    assert!(ours.closed, "{ours:?}");
    // One request only, chunked, without its Content-Length.
    assert_eq!(ours.backend.len(), 1, "{ours:?}");
    assert_eq!(ours.backend[0].1.as_deref(), Some("chunked"));
    assert_eq!(ours.backend[0].2, None);
}

#[test]
fn chunked_on_http_1_0_is_framed_by_chunked_and_closes() {
    let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let (ours, theirs) = both(raw, ok());
    assert_eq!(ours, theirs);
    assert_eq!(ours.status, 200);
    assert!(ours.closed);
}

#[test]
fn transfer_codings_other_than_chunked_are_refused_as_haproxy_refuses_them() {
    for (raw, want) in [
        (
            &b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"[..],
            422,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
            400,
        ),
    ] {
        let (ours, theirs) = both(raw, ok());
        let text = String::from_utf8_lossy(raw);
        assert_eq!(ours, theirs, "{text}");
        assert_eq!(ours.status, want, "{text}");
        assert!(ours.backend.is_empty(), "{text}");
    }
}

#[test]
fn te_is_passed_on_only_as_trailers() {
    for (te, want) in [
        ("trailers, gzip", Some("trailers")),
        ("gzip", None),
        ("trailers;q=0.5", None),
    ] {
        let raw = format!("GET / HTTP/1.1\r\nHost: t\r\nTE: {te}\r\nConnection: close\r\n\r\n");
        let (ours, theirs) = both(raw.as_bytes(), ok());
        assert_eq!(ours, theirs, "{te}");
        assert_eq!(ours.backend[0].3.as_deref(), want, "{te}");
    }
}

#[test]
fn responses_with_codings_other_than_chunked_are_502() {
    for raw in [
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
    ] {
        let (ours, theirs) = both(
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            Answer::Raw(raw),
        );
        assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(raw));
        assert_eq!(ours.status, 502);
    }
}

#[test]
fn a_response_with_both_framings_goes_out_chunked_without_the_extra_bytes() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nResponse splitting attach";
    for port_of in [true, false] {
        let b = HttpBackend::with(Answer::Raw(raw));
        let port = free_port();
        let _f;
        let _h;
        if port_of {
            _f = Fulcrum::start(&config(port, &b));
        } else {
            _h = Haproxy::start(&config(port, &b), &[port]);
        }
        let mut c = connect(port);
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        let mut all = Vec::new();
        let mut buf = [0u8; 1024];
        // The whole chunked response, then nothing more.
        while !all.ends_with(b"0\r\n\r\n") {
            let n = c.read(&mut buf).expect("read");
            assert!(n > 0, "{}", String::from_utf8_lossy(&all));
            all.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&all).to_ascii_lowercase();
        assert!(text.contains("transfer-encoding: chunked"), "{text}");
        assert!(!text.contains("content-length"), "{text}");
        assert!(!text.contains("splitting"), "{text}");
    }
}
