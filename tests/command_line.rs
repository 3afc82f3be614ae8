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

/// One line on a runtime API socket; all it answered.
fn ask(sock: &std::path::Path, line: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("socket");
    s.write_all(format!("{line}\n").as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// `-n`, `-N`, `-m`, `-C` and `-db` act: the global and per-frontend
/// maxconn the runtime API reports, the address-space limit the kernel
/// holds, files read from the directory `-C` names, and a `daemon` file
/// kept in the foreground.
#[test]
fn limits_directory_and_foreground_flags_act() {
    let dir = common::TempPath::dir("flags");
    let sock = dir.path().join("api.sock");
    let port = common::net::free_port();
    std::fs::write(
        dir.path().join("fulcrum.cfg"),
        format!(
            "global\n    daemon\n    stats socket {}\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend web\n    bind 127.0.0.1:{port}\n    http-request return status 200\n",
            sock.display()
        ),
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["-db", "-n", "77", "-N", "5", "-m", "512", "-C"])
        .arg(dir.path())
        .args(["-f", "fulcrum.cfg"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(std::time::Instant::now() < deadline, "no runtime API");
        assert!(child.try_wait().expect("wait").is_none(), "fulcrum left");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let info = ask(&sock, "show info");
    assert!(info.contains("\nMaxconn: 77\n"), "{info}");
    assert!(
        info.contains(&format!("\nPid: {}\n", child.id())),
        "-db stays in front: {info}"
    );
    let stat = ask(&sock, "show stat");
    let header: Vec<&str> = stat.lines().next().unwrap_or_default().split(',').collect();
    let slim = header
        .iter()
        .position(|c| *c == "slim")
        .expect("slim column");
    let row = stat
        .lines()
        .find(|l| l.starts_with("web,FRONTEND,"))
        .expect("frontend row");
    assert_eq!(row.split(',').nth(slim), Some("5"), "{stat}");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .expect("address space line");
    assert!(line.contains(&(512u64 << 20).to_string()), "{line}");
    let _ = child.kill();
    let _ = child.wait();
}

/// `-dW` (or `zero-warning` in global): a warning stops the start.
#[test]
fn zero_warning_turns_warnings_into_a_refusal() {
    let file = common::TempPath::file(
        "warn",
        "defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:8080\n    http-request return status 200\n",
    );
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fulcrum"))
            .args(extra)
            .arg("-c")
            .arg("-f")
            .arg(file.path())
            .output()
            .expect("run")
    };
    // Missing timeouts: a warning only.
    assert_eq!(run(&[]).status.code(), Some(0));
    let strict = run(&["-dW"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&strict.stderr).contains("'zero-warning' is set"),
        "{strict:?}"
    );
    // The same from the file: `zero-warning` in global.
    let in_file = common::TempPath::file(
        "warn-global",
        "global
    zero-warning
defaults
    mode http
frontend f
    bind 127.0.0.1:8080
    http-request return status 200
",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("-c")
        .arg("-f")
        .arg(in_file.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // -dD is accepted and says what it does not change.
    let dd = run(&["-dD"]);
    assert_eq!(dd.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&dd.stderr).contains("'-dD'"),
        "{dd:?}"
    );
}
