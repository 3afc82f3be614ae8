//! Headless Chromium, as the tests drive it: a real browser's requests
//! (Origin, Sec-Fetch-*, TLS) against the built binary.

use std::process::{Command, Output, Stdio};

use super::TempPath;

/// Whether `cmd --version` runs (the tests that need a tool skip without it;
/// .ci/run installs them).
pub fn installed(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs headless Chromium with `args` and a fresh profile, for at most 60 s.
pub fn chromium(args: &[&str]) -> Output {
    let profile = TempPath::dir("chromium");
    Command::new("timeout")
        .arg("60")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run chromium")
}
