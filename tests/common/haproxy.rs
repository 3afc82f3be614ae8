//! Debian's HAProxy as a child process, for the tests that compare
//! fulcrum with it on the same input.

use std::io::{BufRead, BufReader};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::TempPath;

/// The HAProxy binary: /usr/sbin/haproxy (Debian), else `haproxy` on PATH.
pub fn haproxy_bin() -> String {
    let debian = "/usr/sbin/haproxy";
    if Path::new(debian).exists() {
        return debian.to_string();
    }
    let found = Command::new("haproxy").arg("-v").output().is_ok();
    assert!(
        found,
        "HAProxy is not installed: the differential tests need Debian's `haproxy` \
         package (apt-get install haproxy) at /usr/sbin/haproxy or on PATH"
    );
    "haproxy".to_string()
}

/// Runs `haproxy -c -f FILE`; panics with its output unless it exits 0.
pub fn haproxy_check(file: &Path) {
    let out = Command::new(haproxy_bin())
        .arg("-c")
        .arg("-f")
        .arg(file)
        .output()
        .expect("run haproxy -c");
    assert!(
        out.status.success(),
        "haproxy -c refused the configuration ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `haproxy -db`, killed when dropped.
pub struct Haproxy {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    _cfg: TempPath,
}

impl Haproxy {
    /// Starts HAProxy on `cfg` and waits (10 s at most) until every port in
    /// `ports` accepts connections.
    pub fn start(cfg: &str, ports: &[u16]) -> Haproxy {
        Haproxy::start_with(cfg, ports, &[])
    }

    /// [`Haproxy::start`] with more command-line arguments (`-L NAME`).
    pub fn start_with(cfg: &str, ports: &[u16], args: &[&str]) -> Haproxy {
        let file = TempPath::file("haproxy", cfg);
        haproxy_check(file.path());
        let mut child = Command::new(haproxy_bin())
            .args(args)
            .arg("-db")
            .arg("-f")
            .arg(file.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn haproxy");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        let h = Haproxy {
            child,
            log,
            _cfg: file,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for &port in ports {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "haproxy did not listen on {port} within 10 s:\n{}",
                    h.log()
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
        h
    }

    /// The lines HAProxy wrote on stderr so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A health-check log message with its one varying part, the time the
/// check took ("check duration: 12ms"), written as `N` so HAProxy's and
/// fulcrum's sentences compare equal.
pub fn mask_check_duration(msg: &str) -> String {
    match msg.split_once("check duration: ") {
        Some((a, b)) => format!("{a}check duration: N{}", &b[b.find("ms").unwrap_or(0)..]),
        None => msg.to_string(),
    }
}

/// A state line with the reason of a DOWN masked: why a server went DOWN
/// when its peer was killed depends on where each checker stood (refused
/// between checks, reset during one); the rest of the line must match.
pub fn mask_down_reason(l: &str) -> String {
    const AT: &str = " is DOWN, reason: ";
    let Some(a) = l.find(AT) else {
        return l.to_string();
    };
    match l[a..].find("ms. ") {
        Some(b) => format!("{}REASON{}", &l[..a + AT.len()], &l[a + b + 2..]),
        None => l.to_string(),
    }
}

/// A syslog receiver on a free UDP port of 127.0.0.1, reads bounded by
/// half a second (for `first_lines`).
pub fn log_receiver() -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    sock
}

/// The first line logged about each server (its first check), the check
/// duration masked: (server, line).
pub fn first_lines(sock: &UdpSocket, servers: &[&str]) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < servers.len() {
        assert!(Instant::now() < deadline, "checks logged only {got:?}");
        let mut buf = [0u8; 2048];
        let Ok(n) = sock.recv(&mut buf) else { continue };
        let text = String::from_utf8_lossy(&buf[..n]).trim_end().to_string();
        let Some((_, msg)) = text.split_once("]: ") else {
            continue;
        };
        if !msg.starts_with("Health check for server ") {
            continue;
        }
        let who = msg["Health check for server ".len()..]
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        if got.iter().any(|(w, _)| *w == who) {
            continue;
        }
        got.push((who, mask_check_duration(msg)));
    }
    got.sort();
    got
}
