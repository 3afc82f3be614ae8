//! HAProxy's command-line forms that scripts and VTest use: `-cc EXPR`
//! evaluates a condition (exit 0 true, 1 false, 2 error), answered as
//! Debian's HAProxy 2.6 answers it but for `feature()`, which names
//! HAProxy build options fulcrum does not have.

mod common;

use std::process::Command;

fn cc(bin: &str, expr: &str) -> Option<i32> {
    Command::new(bin)
        .args(["-cc", expr])
        .env("FULCRUM_CC_TEST", "set")
        .output()
        .expect("run")
        .status
        .code()
}

#[test]
fn cc_evaluates_conditions_as_haproxy() {
    let ours = env!("CARGO_BIN_EXE_fulcrum");
    let theirs = common::haproxy::haproxy_bin();
    for expr in [
        "version_atleast(2.6)",
        "version_atleast(2.5-dev1)",
        "version_before(2.6)",
        "version_before(3.0)",
        "defined(FULCRUM_CC_TEST)",
        "!defined(FULCRUM_CC_UNSET)",
        "streq(a,b) || strneq(a,b)",
        "1 && (0 || 1)",
        "0",
        "",
        "bogus(",
        "unknown_predicate(1)",
    ] {
        assert_eq!(cc(ours, expr), cc(&theirs, expr), "-cc '{expr}'");
    }
    assert_eq!(cc(ours, "feature(OPENSSL)"), Some(1));
}

#[test]
fn local_peer_name_is_accepted() {
    let f = common::TempPath::file(
        "peername",
        "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\nbackend be\n    server s 127.0.0.1:1\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["-L", "node1", "-c", "-f"])
        .arg(f.path())
        .output()
        .expect("run");
    // Valid, with nothing to listen on: 2, as HAProxy says it.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `-c` on a bad file, with the same stderr as HAProxy's once the pid is
/// masked (HAProxy's NOTICE lines aside) when fulcrum is asked for
/// HAProxy's layout; fulcrum's own layout keeps `FILE:LINE: MESSAGE` and
/// ends with the same [ALERT] line.
#[test]
fn check_errors_can_be_written_as_haproxy_writes_them() {
    let file = common::TempPath::file(
        "bad",
        "defaults\n    mode http\nfrontend f\n    bind :8080\n    xyzzyq bar\n    timeout client 1s\n",
    );
    let path = file.path().display().to_string();
    let mask = |s: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(s)
            .lines()
            .filter(|l| !l.starts_with("[NOTICE]"))
            .map(|l| match (l.find('('), l.find(')')) {
                (Some(a), Some(b)) if a < b => format!("{}(PID){}", &l[..a], &l[b + 1..]),
                _ => l.to_string(),
            })
            .collect()
    };
    let theirs = Command::new(common::haproxy::haproxy_bin())
        .args(["-c", "-f", &path])
        .output()
        .expect("run haproxy");
    let ours = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["-c", "-f", &path])
        .env("FULCRUM_DIAGNOSTICS", "haproxy")
        .output()
        .expect("run fulcrum");
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(theirs.status.code(), Some(1));
    assert_eq!(mask(&ours.stderr), mask(&theirs.stderr));
    let plain = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["-c", "-f", &path])
        .env_remove("FULCRUM_DIAGNOSTICS")
        .output()
        .expect("run fulcrum");
    let lines = mask(&plain.stderr);
    assert_eq!(
        lines,
        [
            format!("{path}:5: unknown keyword 'xyzzyq' in 'frontend' section"),
            "[ALERT]    (PID) : config : Fatal errors found in configuration.".to_string()
        ]
    );
}
