use super::*;

fn req(s: &str) -> Result<RequestHead, HeadError> {
    parse_request(s.as_bytes(), false, HeadLimits::DEFAULT)
}

fn status(s: &str) -> Option<u16> {
    match req(s) {
        Err(HeadError::Bad(st)) => Some(st.code()),
        _ => None,
    }
}

#[test]
fn simple_requests() {
    let r = req("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(r.body, BodyKind::None);
    assert!(!r.close);
    let r = req("GET / HTTP/1.0\r\n\r\n").unwrap();
    assert!(r.close);
    let r = req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
    assert!(!r.close);
    let r = req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").unwrap();
    assert_eq!(r.body, BodyKind::Length(5));
    // A coding fulcrum does not undo: 422, as HAProxy answers.
    assert!(matches!(
        req("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        Err(HeadError::Bad(Status::UnprocessableContent))
    ));
    // Transfer-Encoding with a Content-Length, or on HTTP/1.0: framed by
    // chunked alone, and both connections close after (RFC 9112 6.1, 6.3).
    for s in [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
    ] {
        let r = req(s).unwrap();
        assert_eq!(r.body, BodyKind::Chunked, "{s}");
        assert!(r.close && r.suspect_framing, "{s}");
    }
    // A second Content-Length is refused even when it is equal.
    assert!(matches!(
        req("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
        Err(HeadError::Bad(Status::BadRequest))
    ));
    let r =
        req("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
            .unwrap();
    assert!(r.upgrade);
    assert!(matches!(
        req("GET / HTTP/1.1\r\nHost: x\r\n"),
        Err(HeadError::Partial)
    ));
}

#[test]
fn smuggling_shapes_are_refused() {
    for (name, s) in [
        ("differing CLs", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        ("CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"),
        ("CL sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n"),
        ("TE not chunked last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("TE twice chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("TE unknown only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"),
        ("TE chunked then chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
        ("bare LF", "GET / HTTP/1.1\nHost: x\n\n"),
        ("bare LF in header", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"),
        ("bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"),
        ("NUL", "GET / HTTP/1.1\r\nHost: x\0\r\n\r\n"),
        ("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
        ("bad header name", "GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n"),
        ("no Host on 1.1", "GET / HTTP/1.1\r\n\r\n"),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("HTTP/2 line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        ("garbage", "\x16\x03\x01\x00\r\n\r\n"),
    ] {
        assert_eq!(status(s), Some(400), "{name}");
    }
}

#[test]
fn oversized_heads() {
    let long_uri = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
    assert_eq!(
        parse_request(
            long_uri.as_bytes()[..50].as_ref(),
            true,
            HeadLimits::DEFAULT
        )
        .err(),
        Some(HeadError::Bad(Status::UriTooLong))
    );
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX: {}", "a".repeat(100));
    assert_eq!(
        parse_request(big.as_bytes(), true, HeadLimits::DEFAULT).err(),
        Some(HeadError::Bad(Status::HeaderTooLarge))
    );
}

#[test]
fn responses() {
    let p = |s: &str, head: bool| {
        parse_response(s.as_bytes(), false, head, false, HeadLimits::DEFAULT).unwrap()
    };
    assert_eq!(
        p("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false).body,
        BodyKind::Length(3)
    );
    assert_eq!(
        p("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", true).body,
        BodyKind::None
    );
    assert_eq!(
        p("HTTP/1.1 204 No Content\r\n\r\n", false).body,
        BodyKind::None
    );
    assert_eq!(
        p(
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            false
        )
        .body,
        BodyKind::None
    );
    assert_eq!(
        p(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            false
        )
        .body,
        BodyKind::Chunked
    );
    let r = p("HTTP/1.1 200 OK\r\n\r\n", false);
    assert_eq!((r.body, r.close), (BodyKind::UntilClose, true));
    assert!(p("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false).close);
    assert!(parse_response(
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        false,
        false,
        false,
        HeadLimits::DEFAULT
    )
    .is_err());
}

#[test]
fn response_with_te_and_cl_loses_its_cl() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n";
    let r = parse_response(raw, false, false, false, HeadLimits::DEFAULT).unwrap();
    assert_eq!(r.body, BodyKind::Chunked);
    let out =
        String::from_utf8(super::super::rewrite::response(raw, &r, &r.msg, 1, false)).unwrap();
    assert!(
        !out.to_ascii_lowercase().contains("content-length"),
        "{out}"
    );
    assert!(out.contains("Transfer-Encoding: chunked"), "{out}");
}

#[test]
fn request_target_forms_fit_their_methods() {
    for (method, target, fits) in [
        ("GET", "/a", true),
        ("GET", "http://h/a", true),
        ("GET", "https://h:8443/", true),
        ("GET", "h:80", false),
        ("GET", "*", false),
        ("GET", "1http://h/", false),
        ("OPTIONS", "*", true),
        ("OPTIONS", "/", true),
        ("CONNECT", "h:443", true),
        ("CONNECT", "/a", false),
        ("CONNECT", "http://h/", false),
    ] {
        assert_eq!(
            super::target_form_fits(method, target),
            fits,
            "{method} {target}"
        );
    }
}
