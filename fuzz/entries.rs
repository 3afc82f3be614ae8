//! The fuzz targets' bodies. Each target in fuzz_targets/ calls one of
//! these, and tests/fuzz_corpus.rs replays fuzz/corpus/NAME/ through the
//! same function on stable Rust, so CI runs every kept input.
//!
//! A target fails only by panicking: on input a peer or a file sent,
//! fulcrum must answer with an error, never a panic. Where a property
//! holds whatever the input, the target asserts it too.

use fulcrum::config::model::Credentials;

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("haproxy_cfg", haproxy_cfg),
    ("yaml", yaml),
    ("request_head", request_head),
    ("response_head", response_head),
    ("chunked", chunked),
    ("sample_expr", sample_expr),
    ("condition", condition),
    ("basic_auth", basic_auth),
    ("proxy_header", proxy_header),
    ("cli_command", cli_command),
    ("apache_cfg", apache_cfg),
];

/// `convert --from apache`: httpd's syntax and the translation, and its
/// promise: a conversion without errors is a configuration fulcrum's own
/// check accepts.
pub fn apache_cfg(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Include reads the file system: not from a fuzzer.
    if text.to_ascii_lowercase().contains("include") {
        return;
    }
    let mut diags = fulcrum::config::Diagnostics::default();
    let out = fulcrum::config::apache::convert::convert_text(text, "fuzz.conf", false, &mut diags);
    if diags.has_errors() {
        return;
    }
    let parsed = fulcrum::config::parse::parse_cfg(&out, "converted");
    assert!(!parsed.diags.has_errors(), "{}\n{out}", parsed.diags);
    let checked = fulcrum::config::validate::validate(&parsed.config);
    assert!(!checked.has_errors(), "{checked}\n{out}");
}

/// The haproxy.cfg lexer, reader and validation.
pub fn haproxy_cfg(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = fulcrum::config::parse::parse_cfg(text, "fuzz.cfg");
    let _ = fulcrum::config::validate::validate(&parsed.config);
}

/// The YAML reader and validation.
pub fn yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = fulcrum::config::yaml::parse_yaml(text, "fuzz.yaml");
    let _ = fulcrum::config::validate::validate(&parsed.config);
}

/// The HTTP/1 request head and its framing decision, with the buffer
/// still growing and full.
pub fn request_head(data: &[u8]) {
    for full in [false, true] {
        if let Ok(h) = fulcrum::proxy::http::head::parse_request(
            data,
            full,
            fulcrum::proxy::http::head::HeadLimits::DEFAULT,
        ) {
            assert!(h.len <= data.len(), "a head longer than its bytes");
        }
    }
}

/// The response head; the first byte picks the context (buffer full, a
/// HEAD request, a CONNECT).
pub fn response_head(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (full, head, connect) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
    if let Ok(h) = fulcrum::proxy::http::head::parse_response(
        rest,
        full,
        head,
        connect,
        fulcrum::proxy::http::head::HeadLimits::DEFAULT,
    ) {
        assert!(h.len <= rest.len(), "a head longer than its bytes");
    }
}

/// The chunked decoder, fed in reads of a size the first byte picks: the
/// framing must not depend on how the bytes arrive.
pub fn chunked(data: &[u8]) {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let by_step = fulcrum::proxy::http::body::chunked_length(body, usize::from(step) + 1);
    let whole = fulcrum::proxy::http::body::chunked_length(body, body.len());
    assert_eq!(by_step, whole, "framing depends on the read size");
    if let fulcrum::proxy::http::body::ChunkedFraming::Complete(n) = whole {
        assert!(n <= body.len());
    }
}

/// Sample expressions (fetches and converters), as in `%[...]` and rules.
pub fn sample_expr(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = fulcrum::rules::Context::empty();
    let _ = fulcrum::rules::sample::Expr::parse(text, &ctx);
}

/// ACL conditions (`if ...`), as the lexer splits a line.
pub fn condition(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(words) = fulcrum::config::lexer::split_line(text, &|_| None) else {
        return;
    };
    let ctx = fulcrum::rules::Context::empty();
    let _ = fulcrum::rules::acl::Cond::parse(&words, &[], &ctx);
}

/// The `Authorization: Basic` decoder of `stats auth`.
pub fn basic_auth(data: &[u8]) {
    let users = [Credentials {
        user: "admin".into(),
        password: "s3cret".into(),
    }];
    let _ = fulcrum::stats::auth::user(Some(data), &users);
}

/// The PROXY protocol reader, v1 and v2.
pub fn proxy_header(data: &[u8]) {
    if let Ok((_, n)) = fulcrum::proxy::proxyproto::parse(data) {
        assert!(n <= data.len(), "a header longer than its bytes");
    }
}

/// The runtime API's command line: split, then each command parsed.
pub fn cli_command(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for words in fulcrum::control::cli::command::split(text) {
        let _ = fulcrum::control::cli::command::parse(&words);
    }
}
