//! Hostile input never panics: random bytes into the request and response
//! head parsers, the chunked-body framing, and the configuration reader.

use fulcrum::config::{parse_sources, parse_yaml, Source};
use fulcrum::proxy::http::head::{parse_request, parse_response, HeadLimits};
use proptest::prelude::*;

fn http_like() -> impl Strategy<Value = Vec<u8>> {
    // Mostly plausible heads with random damage, plus pure noise.
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        (
            "(GET|POST|HEAD|CONNECT|X) [ -~]{0,40} HTTP/1\\.[01]\r\n",
            proptest::collection::vec("[A-Za-z-]{0,12}: ?[ -~\t]{0,30}(\r\n|\n|\r)", 0..8),
            any::<bool>()
        )
            .prop_map(|(line, hs, end)| {
                let mut v = line.into_bytes();
                for h in hs {
                    v.extend_from_slice(h.as_bytes());
                }
                if end {
                    v.extend_from_slice(b"\r\n");
                }
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn request_heads_never_panic(bytes in http_like(), full in any::<bool>(), room in 0usize..20_000, fields in 0usize..300) {
        let _ = parse_request(&bytes, full, HeadLimits { room, fields });
    }

    #[test]
    fn response_heads_never_panic(bytes in http_like(), full in any::<bool>(), head in any::<bool>(), connect in any::<bool>()) {
        let mut b = bytes;
        if b.starts_with(b"GET") { b.splice(0..3, b"HTTP/1.1 200".iter().copied()); }
        let _ = parse_response(&b, full, head, connect, HeadLimits::DEFAULT);
    }

    #[test]
    fn config_reader_never_panics(text in "[ -~\t\n\"'\\\\#$]{0,400}") {
        let _ = parse_sources(&[Source { name: "f.cfg".into(), text: text.clone() }], &|_| None);
        let _ = parse_yaml(&text, "f.yaml");
    }

    #[test]
    fn config_lines_with_keywords_never_panic(
        kw in prop::sample::select(vec!["bind", "server", "balance", "option", "timeout", "stats", "http-check", "cookie", "log", "use_backend", "http-request", "errorfile", "mode", "maxconn", "retries", "no"]),
        args in proptest::collection::vec("[ -~]{0,12}", 0..6),
        section in prop::sample::select(vec!["frontend f", "backend b", "listen l", "defaults", "global"]),
    ) {
        let text = format!("{section}\n    {kw} {}\n", args.join(" "));
        let parsed = parse_sources(&[Source { name: "f.cfg".into(), text }], &|_| None);
        let _ = fulcrum::config::validate(&parsed.config);
    }
}
