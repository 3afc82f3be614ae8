//! The configuration lines of the protocol checks `option smtpchk`,
//! `option ldap-check` and `option spop-check`: what HAProxy 2.6 refuses
//! is refused at its `file:line` (and `haproxy -c` is run on the same file
//! to show it refuses it too); what it accepts and ignores is accepted
//! with a warning; and each form survives cfg -> model -> cfg and yaml.

mod common;

use std::process::Command;

use common::haproxy::{haproxy_bin, haproxy_check};
use common::{check, errors_at, warnings_at, TempPath};
use fulcrum::config::emit::to_cfg;
use fulcrum::config::model::ProtocolCheck;
use fulcrum::config::yaml::to_yaml;
use fulcrum::config::{parse_sources, parse_yaml, Config, Source};

/// A complete configuration whose line 7 is `line`.
fn cfg(line: &str) -> String {
    format!(
        "defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    {line}
    server s1 127.0.0.1:9000 check
listen app
    bind 127.0.0.1:8080
    server s1 127.0.0.1:9000
"
    )
}

#[test]
fn bad_arguments_are_errors_at_their_line_as_in_haproxy() {
    for (line, expect) in [
        (
            "option smtpchk EHLO a.example extra",
            "'option smtpchk' cannot handle unexpected argument 'extra'",
        ),
        (
            "option smtpchk HELO a b c",
            "'option smtpchk' cannot handle unexpected argument 'b'",
        ),
        (
            "option ldap-check x",
            "'option ldap-check' cannot handle unexpected argument 'x'",
        ),
        (
            "option spop-check y",
            "'option spop-check' cannot handle unexpected argument 'y'",
        ),
    ] {
        let file = TempPath::file("proto-bad", &cfg(line));
        let run = check(&[file.path()]);
        assert_eq!(run.code, Some(1), "{line}: {}", run.stderr);
        let errors = errors_at(&run.stderr, &file.name(), 7);
        assert!(
            errors.iter().any(|l| l.contains(expect)),
            "{line}: {}",
            run.stderr
        );
        // HAProxy refuses the same line, in the same words.
        let h = Command::new(haproxy_bin())
            .args(["-c", "-f"])
            .arg(file.path())
            .output()
            .expect("haproxy -c");
        let text = String::from_utf8_lossy(&h.stderr);
        assert!(!h.status.success(), "haproxy accepted {line}");
        assert!(text.contains(":7] : ") && text.contains(expect), "{text}");
    }
}

/// HAProxy sends `HELO localhost` for any other hello command, and
/// accepts the line: so does fulcrum, and says so.
#[test]
fn other_smtp_greetings_are_accepted_with_a_warning() {
    for args in ["FOO", "ehlo a.example", "HELO", "FOO bar"] {
        let file = TempPath::file("proto-warn", &cfg(&format!("option smtpchk {args}")));
        haproxy_check(file.path());
        let run = check(&[file.path()]);
        assert_eq!(run.code, Some(0), "{args}: {}", run.stderr);
        let warned = warnings_at(&run.stderr, &file.name(), 7);
        assert!(
            warned
                .iter()
                .any(|l| l.contains("'HELO localhost' is sent")),
            "{args}: {}",
            run.stderr
        );
        let c = parse(&cfg(&format!("option smtpchk {args}")));
        assert_eq!(
            c.proxies[0].option.protocol_check,
            Some(ProtocolCheck::Smtp {
                hello: "HELO".into(),
                domain: "localhost".into()
            })
        );
    }
}

fn parse(text: &str) -> Config {
    let p = parse_sources(
        &[Source {
            name: "t.cfg".into(),
            text: text.into(),
        }],
        &|_| None,
    );
    assert!(!p.diags.has_errors(), "{}", p.diags);
    p.config
}

#[test]
fn protocol_checks_round_trip() {
    for line in [
        "option smtpchk",
        "option smtpchk EHLO mail.example.org",
        "option smtpchk HELO me",
        "option ldap-check",
        "option spop-check",
    ] {
        let c = parse(&cfg(line));
        assert!(c.proxies[0].option.protocol_check.is_some(), "{line}");
        let text = to_cfg(&c);
        assert!(text.contains(line), "{line} not in:\n{text}");
        assert_eq!(parse(&text), c, "{line}: cfg round trip");
        let y = parse_yaml(&to_yaml(&c), "t.yaml");
        assert!(!y.diags.has_errors(), "{}", y.diags);
        assert_eq!(y.config, c, "{line}: yaml round trip");
    }
    // The last check option of a section wins.
    let c = parse(&cfg("option ldap-check\n    option spop-check"));
    assert_eq!(
        c.proxies[0].option.protocol_check,
        Some(ProtocolCheck::Spop)
    );
    let c = parse(&cfg("option smtpchk\n    option httpchk"));
    assert_eq!(c.proxies[0].option.protocol_check, None);
}
