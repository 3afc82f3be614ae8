//! `option mysql-check user U post-41` against Debian's MariaDB, run by
//! the test in a directory of its own: an unknown user is refused with the
//! server's own error (DOWN), the user created is accepted (UP), the
//! server stopped is DOWN and started again UP. The lines are the ones
//! Debian's HAProxy 2.6 writes for the same events.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::net::{free_port, Fulcrum};
use common::TempPath;

/// A running mariadbd, killed when dropped.
struct Mariadb(Option<Child>);

impl Drop for Mariadb {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start(dir: &Path, port: u16) -> Child {
    let mut c = Command::new("mariadbd");
    c.arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", dir.join("sock").display()))
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
        ]);
    if common::is_root() {
        c.arg("--user=root");
    }
    let child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd (.ci/run installs mariadb-server)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mariadbd did not listen");
        thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn mysql_check_post_41_against_mariadb() {
    let dir = TempPath::dir("mariadb");
    let mut install = Command::new("mariadb-install-db");
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.path().join("data").display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if common::is_root() {
        install.arg("--user=root");
    }
    let out = install
        .output()
        .expect("mariadb-install-db (.ci/run installs mariadb-server)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let mut db = Mariadb(Some(start(dir.path(), port)));
    let front = free_port();
    let f = Fulcrum::start(&format!(
        "defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen db
    bind 127.0.0.1:{front}
    option mysql-check user haproxy_check post-41
    server my 127.0.0.1:{port} check inter 100ms fall 1 rise 1
"
    ));
    let wait_log = |needle: &str, n: usize| f.wait_count(needle, n, Duration::from_secs(30));
    // No such user yet: MariaDB's refusal, as HAProxy reports it.
    wait_log(
        "Server db/my is DOWN, reason: Layer7 wrong status, code: 1045, info: \"#28000Access denied for user 'haproxy_check'@'localhost' (using password: NO)\"",
        1,
    );
    let sql = Command::new("mariadb")
        .arg(format!("--socket={}", dir.path().join("sock").display()))
        .args([
            "-uroot",
            "-e",
            "CREATE USER 'haproxy_check'@'localhost'; CREATE USER 'haproxy_check'@'127.0.0.1'",
        ])
        .output()
        .expect("mariadb client");
    assert!(
        sql.status.success(),
        "{}",
        String::from_utf8_lossy(&sql.stderr)
    );
    let up = "Server db/my is UP, reason: Layer7 check passed, code: 0, check duration:";
    wait_log(up, 1);
    if let Some(mut c) = db.0.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    // Its second DOWN (the first was the refused user): a refused
    // connection between checks, or a broken answer if it died during one.
    wait_log("Server db/my is DOWN, reason: ", 2);
    db.0 = Some(start(dir.path(), port));
    wait_log(up, 2);
}
