//! The head limits an operator sets, held against clients and servers
//! that push on them: `tune.bufsize` less `tune.maxrewrite` bounds a
//! head's bytes, `tune.http.maxhdr` its lines. (Floods against `maxconn`,
//! idle clients and half-open handshakes: tests/floods.rs.)

mod common;

use common::net::{free_port, status_of, Answer, Fulcrum, HttpBackend};
use common::TempPath;

fn http(global: &str, port: u16, server: &HttpBackend) -> String {
    format!(
        "global
    nbthread 1
{global}
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 2s
listen web
    bind 127.0.0.1:{port}
    server s {}
",
        server.addr
    )
}

/// A request head of exactly `len` bytes (padded in one field).
fn head_of(len: usize) -> Vec<u8> {
    let start = b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    let end = b"\r\n\r\n";
    let mut h = start.to_vec();
    h.resize(len - end.len(), b'a');
    h.extend_from_slice(end);
    h
}

/// A request line of `len` bytes, then a short rest of the head.
fn target_of(len: usize) -> Vec<u8> {
    let mut h = b"GET /".to_vec();
    h.resize(len - b" HTTP/1.1\r\n".len(), b'a');
    h.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\n\r\n");
    h
}

/// HAProxy reads at most `tune.bufsize - tune.maxrewrite` of a head, and
/// readjusts a `tune.maxrewrite` over half the buffer to half. A head
/// one byte longer is refused: 431 for its fields, 414 for its request
/// line (HAProxy answers 400 to both), and the server hears nothing.
#[test]
fn a_head_gets_tune_bufsize_less_tune_maxrewrite() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&http(
        "    tune.bufsize 4096\n    tune.maxrewrite 1024",
        port,
        &b,
    ));
    assert_eq!(status_of(port, &head_of(3072)), 200);
    assert_eq!(status_of(port, &head_of(3073)), 431);
    assert_eq!(status_of(port, &target_of(3073)), 414);
    assert_eq!(
        b.requests().len(),
        1,
        "only the head that fits was forwarded"
    );

    let port = free_port();
    let _g = Fulcrum::start(&http(
        "    tune.bufsize 4096\n    tune.maxrewrite 3000",
        port,
        &b,
    ));
    assert_eq!(
        status_of(port, &head_of(2048)),
        200,
        "maxrewrite readjusted to 2048"
    );
    assert_eq!(status_of(port, &head_of(2049)), 431);
}

/// The same room bounds a response head: one over it is a 502.
#[test]
fn a_response_head_over_the_room_is_a_bad_gateway() {
    let mut fits = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: ".to_vec();
    fits.resize(3072 - b"\r\n\r\nok".len() + 2, b'a');
    fits.extend_from_slice(b"\r\n\r\nok");
    let mut over = fits.clone();
    over.insert(40, b'a');
    for (answer, want) in [(fits, 200), (over, 502)] {
        let b = HttpBackend::with(Answer::Raw(Box::leak(answer.into_boxed_slice())));
        let port = free_port();
        let _f = Fulcrum::start(&http(
            "    tune.bufsize 4096\n    tune.maxrewrite 1024",
            port,
            &b,
        ));
        assert_eq!(status_of(port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"), want);
    }
}

/// A request of `fields` fields (Host among them).
fn with_fields(fields: usize) -> Vec<u8> {
    let mut h = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 1..fields {
        h.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    h.extend_from_slice(b"\r\n");
    h
}

/// `tune.http.maxhdr` counts the first line: with 10, nine fields pass
/// and ten are a 400 (as HAProxy 2.6 answers); a response over it is a
/// 502. Raised past the default, the longer heads pass.
#[test]
fn tune_http_maxhdr_counts_the_head_lines() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&http("    tune.http.maxhdr 10", port, &b));
    assert_eq!(status_of(port, &with_fields(9)), 200);
    assert_eq!(status_of(port, &with_fields(10)), 400);
    assert_eq!(b.requests().len(), 1);

    let port = free_port();
    let _d = Fulcrum::start(&http("", port, &b));
    assert_eq!(
        status_of(port, &with_fields(100)),
        200,
        "the default, 101 lines"
    );
    assert_eq!(status_of(port, &with_fields(101)), 400);

    let port = free_port();
    let _r = Fulcrum::start(&http("    tune.http.maxhdr 300", port, &b));
    assert_eq!(status_of(port, &with_fields(299)), 200);
    assert_eq!(status_of(port, &with_fields(300)), 400);

    let mut many = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
    for i in 0..9 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\nok");
    let app = HttpBackend::with(Answer::Raw(Box::leak(many.into_boxed_slice())));
    let port = free_port();
    let _s = Fulcrum::start(&http("    tune.http.maxhdr 10", port, &app));
    assert_eq!(status_of(port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"), 502);
}

#[test]
fn tune_http_maxhdr_is_checked() {
    for (value, ok) in [
        ("1", true),
        ("32767", true),
        ("0", false),
        ("32768", false),
        ("many", false),
    ] {
        let cfg = TempPath::file("maxhdr", &format!(
                "global\n    tune.http.maxhdr {value}\nlisten l\n    mode http\n    bind 127.0.0.1:1\n    server s 127.0.0.1:2\n"
            ));
        let run = common::check(&[cfg.path()]);
        assert_eq!(run.code == Some(0), ok, "{value}: {}", run.stderr);
        if !ok {
            assert!(
                !common::errors_at(&run.stderr, &cfg.name(), 2).is_empty(),
                "{}",
                run.stderr
            );
        }
    }
}
