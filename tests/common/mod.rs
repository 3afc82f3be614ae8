//! Helpers shared by the end-to-end tests that run the built `fulcrum` binary:
//! temporary configuration files (removed on drop) and `fulcrum -c` runs.

#![allow(dead_code)]

pub mod apache;
pub mod browser;
pub mod dns;
pub mod haproxy;
pub mod net;
pub mod openssl;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A file or directory under the temp dir, removed when dropped.
pub struct TempPath(PathBuf);

impl TempPath {
    /// A fresh, unused path: `fulcrum-test-PID-N-TAG`.
    fn unique(tag: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("fulcrum-test-{}-{n}-{tag}", std::process::id()))
    }

    /// Writes `text` to a new file named after `tag` (with a `.cfg` suffix).
    pub fn file(tag: &str, text: &str) -> TempPath {
        let mut p = Self::unique(tag).into_os_string();
        p.push(".cfg");
        let p = PathBuf::from(p);
        std::fs::write(&p, text).expect("write temp config");
        TempPath(p)
    }

    /// Creates a new empty directory named after `tag`.
    pub fn dir(tag: &str) -> TempPath {
        let p = Self::unique(tag);
        std::fs::create_dir(&p).expect("create temp dir");
        TempPath(p)
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path as fulcrum prints it in diagnostics.
    pub fn name(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// What one run of the binary gave.
pub struct Run {
    /// The exit code (None when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `fulcrum -c -f P1 -f P2 ...`.
pub fn check(paths: &[&Path]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fulcrum"));
    // Keep stderr to the diagnostics: no log filter from the caller's
    // environment, and a panic reported in one line, not a backtrace.
    cmd.env_remove("FULCRUM_LOG").env("RUST_BACKTRACE", "0");
    cmd.arg("-c");
    for p in paths {
        cmd.arg("-f").arg(p);
    }
    let out = cmd.output().expect("run fulcrum");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The stderr lines that are errors (not warnings) reported at `file:line`.
pub fn errors_at<'a>(stderr: &'a str, file: &str, line: u32) -> Vec<&'a str> {
    let prefix = format!("{file}:{line}: ");
    stderr
        .lines()
        .filter(|l| {
            l.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.starts_with("warning:"))
        })
        .collect()
}

/// The stderr lines that are warnings reported at `file:line`.
pub fn warnings_at<'a>(stderr: &'a str, file: &str, line: u32) -> Vec<&'a str> {
    let prefix = format!("{file}:{line}: warning: ");
    stderr.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// Whether this process runs as root (uid 0), read from /proc.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// One command on a runtime API UNIX socket (`stats socket`); all it
/// answered.
pub fn stats_cmd(sock: &Path, line: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("stats socket");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// A numeric `show info` field of `out`.
pub fn info_field(out: &str, field: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in:\n{out}"))
}
