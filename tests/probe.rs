//! `fulcrum probe`: the health verdict of a `monitor-uri` as an exit code
//! (keepalived's `track_script`) or, with `--watch`, as the 0/1 of a file
//! (keepalived's `track_file`), against a real fulcrum whose backend dies.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::net::{free_port, Fulcrum, HttpBackend};
use common::TempPath;

fn probe(target: &str) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["probe", target, "--timeout", "1s"])
        .output()
        .expect("run probe")
        .status
        .code()
}

/// Waits (10 s at most) until `f` holds.
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn probe_follows_monitor_fail() {
    let mut app = HttpBackend::start("app");
    let port = free_port();
    let f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend health\n    bind 127.0.0.1:{port}\n    monitor-uri /healthz\n    monitor fail if {{ nbsrv(app) lt 1 }}\nbackend app\n    server s1 {} check inter 100ms fall 1 rise 1\n",
        app.addr
    ));
    let target = format!("127.0.0.1:{port}/healthz");
    assert_eq!(probe(&target), Some(0));
    let state = TempPath::file("probe-state", "");
    let _watch = Killed(
        Command::new(env!("CARGO_BIN_EXE_fulcrum"))
            .args(["probe", &target, "--watch", "50ms", "--state-file"])
            .arg(state.path())
            .stderr(Stdio::null())
            .spawn()
            .expect("probe --watch"),
    );
    let read = || std::fs::read_to_string(state.path()).unwrap_or_default();
    until("the state file says healthy", || read() == "0\n");
    app.kill();
    until("the server is seen down", || probe(&target) == Some(1));
    until("the state file says unhealthy", || read() == "1\n");
    app.revive();
    until("the probe passes again", || probe(&target) == Some(0));
    until("the state file says healthy again", || read() == "0\n");
    // Nothing listening: a failure, not a hang.
    drop(f);
    let started = Instant::now();
    assert_eq!(probe(&target), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    until("the state file says unhealthy", || read() == "1\n");
    assert_eq!(probe("not an address"), Some(1));
}
