//! `http-check expect [!] hdr|fhdr name [-m M] NAME [value [-m M] VALUE]`
//! against Debian's HAProxy 2.6 run beside fulcrum on the same
//! configuration, each with its own scripted HTTP servers: the same
//! verdict, status, code and info for every server's first check (from
//! the `option log-health-checks` lines), and the same errors for bad
//! lines.

mod common;

use common::haproxy::log_receiver as udp;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::haproxy::{first_lines, haproxy_bin, Haproxy};
use common::net::{free_port, Fulcrum};
use common::{check, errors_at, TempPath};

/// A server that reads the request and answers `response` on every
/// connection.
fn http_peer(response: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            let _ = c.write_all(response.as_bytes());
        }
    });
    port
}

const FULL: &str = "HTTP/1.1 200 OK\r\nX-Role: primary\r\nX-List: one, two\r\nSet-Cookie: sessid=1; path=/\r\nContent-Length: 0\r\n\r\n";
const BARE: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
/// A response that names one of its own headers (for `name-lf`).
const NAMING: &str = "HTTP/1.1 200 OK\r\nX-Role: primary\r\nX-Hdr-Name: x-role\r\nX-Want: primary\r\nContent-Length: 0\r\n\r\n";
const FAILING: &str =
    "HTTP/1.1 503 Service Unavailable\r\nX-Role: primary\r\nContent-Length: 0\r\n\r\n";

/// (backend, expect rule, response).
const CASES: &[(&str, &str, &str)] = &[
    ("present", "hdr name x-role", FULL),
    ("absent", "hdr name x-role", BARE),
    ("beg", "hdr name -m beg X-R", FULL),
    ("endname", "hdr name -m end -list", FULL),
    ("subname", "hdr name -m sub COOK", FULL),
    ("regname", "hdr name -m reg ^set-", FULL),
    ("value", "hdr name X-Role value primary", FULL),
    ("valuecase", "hdr name X-Role value Primary", FULL),
    ("listitem", "hdr name x-list value two", FULL),
    ("fulllist", "fhdr name x-list value two", FULL),
    ("fullline", "fhdr name x-list value one,\\ two", FULL),
    ("fullsub", "fhdr name x-list value -m sub e,\\ t", FULL),
    ("cookie", "hdr name set-cookie value -m beg sessid=", FULL),
    ("valend", "hdr name x-role value -m end ary", FULL),
    (
        "valreg",
        "hdr name content-length value -m reg ^[0-9]+$",
        FULL,
    ),
    ("notabsent", "! hdr name x-down", FULL),
    ("notpresent", "! hdr name x-role", FULL),
    ("status503", "hdr name x-role value primary", FAILING),
    // `http-check set-var(check.NAME)` and the `-lf` patterns (the rule
    // text goes on after `http-check expect`, so later lines follow it).
    (
        "lfname",
        "status 200\n    http-check set-var(check.h) res.fhdr(x-hdr-name)\n    http-check expect hdr name-lf -m str \"%[var(check.h)]\"",
        NAMING,
    ),
    (
        "lfvalue",
        "status 200\n    http-check set-var(check.v) res.hdr(x-want)\n    http-check expect hdr name x-role value-lf -m str \"%[var(check.v)]\"",
        NAMING,
    ),
    (
        "lfmiss",
        "status 200\n    http-check set-var(check.h) str(x-nothing)\n    http-check expect hdr name-lf \"%[var(check.h)]\"",
        NAMING,
    ),
    (
        "lfunset",
        "status 200\n    http-check set-var(check.h) str(x-role)\n    http-check unset-var(check.h)\n    http-check expect ! hdr name-lf -m beg \"x-%[var(check.h)]\" value primary",
        NAMING,
    ),
];

fn config(log: u16) -> String {
    let mut cfg = format!(
        "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode http
    option log-health-checks
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
listen front
    bind 127.0.0.1:{}
    server x 127.0.0.1:{}
",
        free_port(),
        free_port()
    );
    for (be, rule, response) in CASES {
        cfg.push_str(&format!(
            "backend {be}\n    option httpchk GET /health\n    http-check expect {rule}\n    server s 127.0.0.1:{} check inter 200ms fall 1 rise 1\n",
            http_peer(response)
        ));
    }
    cfg
}

#[test]
fn header_expects_match_haproxy() {
    let (hs, fs) = (udp(), udp());
    let _h = Haproxy::start(&config(hs.local_addr().expect("addr").port()), &[]);
    let _f = Fulcrum::start(&config(fs.local_addr().expect("addr").port()));
    let names: Vec<String> = CASES.iter().map(|(be, _, _)| format!("{be}/s")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let h = first_lines(&hs, &names);
    let f = first_lines(&fs, &names);
    for (a, b) in h.iter().zip(&f) {
        assert_eq!(b, a, "fulcrum vs haproxy");
    }
    assert_eq!(f, h);
    if std::env::var_os("SHOW_LINES").is_some() {
        h.iter().for_each(|(_, l)| eprintln!("{l}"));
    }
    let line = |who: &str| &h.iter().find(|(w, _)| w == who).expect("server").1;
    assert!(line("present/s").contains("succeeded, reason: Layer7 check passed, code: 200"));
    assert!(
        line("absent/s").contains("failed, reason: Layer7 wrong status, code: 200, info: \"OK\"")
    );
    assert!(line("fulllist/s").contains("failed"));
    assert!(line("listitem/s").contains("succeeded"));
    assert!(line("status503/s").contains("succeeded, reason: Layer7 check passed, code: 503"));
}

#[test]
fn bad_header_expects_are_errors_as_in_haproxy() {
    for (rule, expect) in [
        (
            "hdr",
            "'hdr' expects at the name keyword as first argument followed by a pattern",
        ),
        ("hdr name", "'hdr' expects at the name keyword"),
        ("hdr value x", "'hdr' expects at the name keyword"),
        (
            "hdr name -m",
            "'-m' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')",
        ),
        (
            "hdr name -m xx x",
            "'-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got 'xx')",
        ),
        (
            "hdr name x value",
            "'hdr' expect a pattern with the value keyword",
        ),
        (
            "fhdr name x value -m beg",
            "'fhdr' expect a pattern with the value keyword",
        ),
        ("hdr name x value -m zz y", "(got 'zz')"),
        ("hdr name -m reg (", "regex '(' is invalid"),
        ("hdr name x value -m reg (", "regex '(' is invalid"),
        ("hdr name x foo", "got 'foo'"),
    ] {
        let cfg = format!(
            "defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend b
    option httpchk
    http-check expect {rule}
    server s 127.0.0.1:9000 check
listen f
    bind 127.0.0.1:8080
    server x 127.0.0.1:9000
"
        );
        let file = TempPath::file("hdr-bad", &cfg);
        let run = check(&[file.path()]);
        assert_eq!(run.code, Some(1), "{rule}: {}", run.stderr);
        let errors = errors_at(&run.stderr, &file.name(), 8);
        assert!(
            errors.iter().any(|l| l.contains(expect)),
            "{rule}: {}",
            run.stderr
        );
        let h = std::process::Command::new(haproxy_bin())
            .args(["-c", "-f"])
            .arg(file.path())
            .output()
            .expect("haproxy -c");
        let text = String::from_utf8_lossy(&h.stderr);
        assert!(
            !h.status.success() && text.contains(":8] : "),
            "{rule}: {text}"
        );
    }
}

#[test]
fn header_expects_round_trip() {
    use fulcrum::config::emit::to_cfg;
    use fulcrum::config::yaml::to_yaml;
    use fulcrum::config::{parse_sources, parse_yaml, Source};
    let parse = |text: &str| {
        let p = parse_sources(
            &[Source {
                name: "t.cfg".into(),
                text: text.into(),
            }],
            &|_| None,
        );
        assert!(!p.diags.has_errors(), "{}", p.diags);
        p.config
    };
    for (_, rule, _) in CASES {
        let c = parse(&format!(
            "backend b\n    option httpchk\n    http-check expect {rule}\n    server s 127.0.0.1:9000 check\n"
        ));
        let text = to_cfg(&c);
        assert_eq!(parse(&text), c, "{rule}: cfg round trip:\n{text}");
        let y = parse_yaml(&to_yaml(&c), "t.yaml");
        assert!(!y.diags.has_errors(), "{}", y.diags);
        assert_eq!(y.config, c, "{rule}: yaml round trip");
    }
}
