//! Master-worker mode: `-Ws` (as Debian's systemd unit runs HAProxy), the
//! master CLI of `-S`, reloads by SIGUSR2 that replace the worker while a
//! kept-alive client of the old one still gets its answer, a failed reload
//! that leaves the running worker in place, and a stop by signal.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::net::{connect, free_port, get, read_response, HttpBackend};
use common::TempPath;

fn config(port: u16, b: &HttpBackend) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server s {}\n",
        b.addr
    )
}

/// `config` with the worker's runtime API on a UNIX socket.
fn config_with_api(port: u16, b: &HttpBackend, api: &Path) -> String {
    format!(
        "global\n    stats socket {} level admin\n{}",
        api.display(),
        config(port, b)
    )
}

/// One line of commands on the master CLI; all it answered.
fn mcli(sock: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(sock).expect("master CLI");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(format!("{line}\n").as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The pid of the current worker in `show proc`.
fn worker_pid(show_proc: &str) -> Option<u32> {
    let mut lines = show_proc.lines().skip_while(|l| *l != "# workers").skip(1);
    lines.next()?.split_whitespace().next()?.parse().ok()
}

/// Waits (20 s at most) until `cond` holds on `show proc`.
fn wait_proc(sock: &Path, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = if sock.exists() {
            UnixStream::connect(sock)
                .ok()
                .map(|_| mcli(sock, "show proc"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        if cond(&out) {
            return out;
        }
        assert!(Instant::now() < deadline, "{what}: {out}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(st.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        assert!(Instant::now() < deadline, "the master did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn master_runs_reloads_and_stops_its_worker() {
    let (a, b) = (HttpBackend::start("first"), HttpBackend::start("second"));
    let port = free_port();
    let dir = TempPath::dir("mworker");
    let cfg = dir.path().join("haproxy.cfg");
    let sock = dir.path().join("master.sock");
    let pidfile = dir.path().join("pid");
    let notify = dir.path().join("notify");
    let api = dir.path().join("api.sock");
    let systemd = UnixDatagram::bind(&notify).expect("notify socket");
    systemd
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    std::fs::write(&cfg, config_with_api(port, &a, &api)).expect("write cfg");
    let mut master = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["-Ws", "-S"])
        .arg(&sock)
        .arg("-f")
        .arg(&cfg)
        .arg("-p")
        .arg(&pidfile)
        .env("NOTIFY_SOCKET", &notify)
        .env("FULCRUM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut buf = [0u8; 64];
    let n = systemd.recv(&mut buf).expect("READY=1 from the master");
    assert_eq!(&buf[..n], b"READY=1");
    let proc1 = wait_proc(&sock, "a worker", |o| worker_pid(o).is_some());
    let first = worker_pid(&proc1).expect("worker");
    assert!(
        proc1.contains(&format!(
            "{:<15} master          0 [failed: 0]",
            master.id()
        )),
        "{proc1}"
    );
    assert_eq!(
        std::fs::read_to_string(&pidfile).expect("pidfile").trim(),
        master.id().to_string()
    );
    // The master CLI reaches the worker's runtime API.
    let info = mcli(&sock, "@1 show info");
    assert!(info.contains(&format!("\nPid: {first}\n")), "{info}");
    assert_eq!(get(port, "/").text(), "first");

    // A client kept alive on the first worker across the reload.
    let mut kept = connect(port);
    kept.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut pending = Vec::new();
    assert_eq!(
        read_response(&mut kept, &mut pending).expect("r").text(),
        "first"
    );

    std::fs::write(&cfg, config_with_api(port, &b, &api)).expect("write cfg");
    kill(master.id(), "USR2");
    let n = systemd.recv(&mut buf).expect("RELOADING=1");
    assert_eq!(&buf[..n], b"RELOADING=1");
    let n = systemd.recv(&mut buf).expect("READY=1 after the reload");
    assert_eq!(&buf[..n], b"READY=1");
    let proc2 = wait_proc(&sock, "a new worker", |o| {
        worker_pid(o).is_some_and(|p| p != first)
    });
    assert!(proc2.contains("1 [failed: 0]"), "{proc2}");
    // Both workers accept on the master's sockets until the old one
    // handles its SIGUSR1; a connection it took just before is its own.
    // New connections then reach the new worker.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(port, "/").text() != "second" {
        assert!(
            Instant::now() < deadline,
            "new connections still reach the old worker"
        );
    }
    kept.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_response(&mut kept, &mut pending).expect("r").text(),
        "first"
    );
    // The old worker leaves once its last client has.
    wait_proc(&sock, "the old worker gone", |o| {
        !o.contains("# old workers")
    });
    // Its leaving did not take the new worker's runtime API socket (same
    // path) with it.
    let info = mcli(&api, "show info");
    let second = worker_pid(&proc2).expect("worker");
    assert!(info.contains(&format!("\nPid: {second}\n")), "{info}");

    // A configuration that does not load: the running worker stays.
    std::fs::write(&cfg, "frontend broken\n    bind 127.0.0.1:notaport\n").expect("write");
    kill(master.id(), "USR2");
    let proc3 = wait_proc(&sock, "a failed reload", |o| o.contains("[failed: 1]"));
    assert_eq!(worker_pid(&proc3), Some(second));
    assert_eq!(get(port, "/").text(), "second");

    kill(master.id(), "TERM");
    let st = wait_exit(&mut master);
    // 128 + SIGTERM, as HAProxy's master exits.
    assert_eq!(st.code(), Some(143));
    assert!(!pidfile.exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The pid of program `name` in `show proc`.
fn program_pid(show_proc: &str, name: &str) -> Option<u32> {
    show_proc
        .lines()
        .skip_while(|l| *l != "# programs")
        .take_while(|l| *l != "# old programs")
        .find(|l| l.split_whitespace().nth(1) == Some(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `program` sections: the master runs them, shows them in `show proc`,
/// starts a new instance on reload unless `no option start-on-reload`,
/// and stops them with the workers. Without master-worker mode they are
/// refused; `master-worker` in global is that mode, as `-W` is.
#[test]
fn programs_run_beside_the_workers() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let dir = TempPath::dir("programs");
    let cfg = dir.path().join("haproxy.cfg");
    let sock = dir.path().join("master.sock");
    std::fs::write(
        &cfg,
        format!(
            "{}program fresh\n    command sleep 30\nprogram steady\n    command sleep 31\n    no option start-on-reload\n",
            config(port, &b)
        ),
    )
    .expect("write");
    let alone = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .expect("check");
    assert_eq!(alone.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&alone.stderr).contains("runs only in master-worker mode"),
        "{alone:?}"
    );
    // The same file with `master-worker` in global, no -W.
    let text = std::fs::read_to_string(&cfg).expect("read");
    std::fs::write(&cfg, format!("global\n    master-worker\n{text}")).expect("write");
    let mut master = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("-S")
        .arg(&sock)
        .arg("-f")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let before = wait_proc(&sock, "both programs", |o| {
        program_pid(o, "fresh").is_some() && program_pid(o, "steady").is_some()
    });
    let (fresh, steady) = (
        program_pid(&before, "fresh").expect("fresh"),
        program_pid(&before, "steady").expect("steady"),
    );
    kill(master.id(), "USR2");
    let after = wait_proc(&sock, "a new instance of 'fresh'", |o| {
        program_pid(o, "fresh").is_some_and(|p| p != fresh) && !o.contains("# old programs")
    });
    assert_eq!(program_pid(&after, "steady"), Some(steady), "{after}");
    let fresh2 = program_pid(&after, "fresh").expect("fresh");
    kill(master.id(), "INT");
    assert_eq!(wait_exit(&mut master).code(), Some(130));
    for pid in [fresh2, steady] {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "program {pid} still runs"
        );
    }
}

/// A master killed outright (SIGKILL: no chance to stop its workers) does
/// not leave its worker serving on: the kernel tells the worker, which
/// stops, as HAProxy's workers leave with their master.
#[test]
fn a_worker_stops_when_its_master_is_killed() {
    let app = HttpBackend::start("app");
    let port = free_port();
    let dir = TempPath::dir("mworker-orphan");
    let cfg = dir.path().join("haproxy.cfg");
    let sock = dir.path().join("master.sock");
    std::fs::write(&cfg, config(port, &app)).expect("write cfg");
    let mut master = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["-W", "-S"])
        .arg(&sock)
        .arg("-f")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let procs = wait_proc(&sock, "a worker", |o| worker_pid(o).is_some());
    let worker = worker_pid(&procs).expect("worker");
    assert_eq!(get(port, "/").text(), "app");
    master.kill().expect("SIGKILL the master");
    let _ = master.wait();
    // The worker is not our child: watch its /proc entry go away.
    let deadline = Instant::now() + Duration::from_secs(20);
    let proc_dir = format!("/proc/{worker}");
    while Path::new(&proc_dir).exists() {
        let zombie = std::fs::read_to_string(format!("{proc_dir}/stat"))
            .map(|s| s.split_whitespace().nth(2) == Some("Z"))
            .unwrap_or(true);
        if zombie {
            break;
        }
        if Instant::now() > deadline {
            kill(worker, "KILL");
            panic!("the worker {worker} still runs 20 s after its master was killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
