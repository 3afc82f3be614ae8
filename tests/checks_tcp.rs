//! `option tcp-check` sequences and `option redis-check`, end to end:
//! against scripted peers beside Debian's HAProxy 2.6 (the same verdicts,
//! the same messages, the same bytes on the wire), and against Debian's
//! redis-server, where the check finds the master of two after a
//! REPLICAOF switch.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::haproxy::{first_lines, Haproxy};
use common::net::{free_port, Fulcrum};
use common::TempPath;

/// How a scripted Redis-like peer answers.
#[derive(Clone, Copy)]
enum Role {
    Master,
    Replica,
    /// Answers PING with an error and closes.
    Broken,
}

/// A PostgreSQL-like peer that answers every connection with `answer`
/// and closes; it records what it received.
fn pg_peer(answer: &'static [u8]) -> Peer {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 256];
            let n = std::io::Read::read(&mut c, &mut buf).unwrap_or(0);
            log.lock().expect("seen").push(buf[..n].to_vec());
            let _ = c.write_all(answer);
        }
    });
    Peer { port, seen }
}

/// A MySQL-like peer: it speaks `first` on connection, then, with `then`,
/// reads the client's packets and answers them; it records what it read.
fn mysql_peer(first: Vec<u8>, then: Option<Vec<u8>>) -> Peer {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            let _ = c.write_all(&first);
            if let Some(then) = &then {
                let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 256];
                let n = std::io::Read::read(&mut c, &mut buf).unwrap_or(0);
                log.lock().expect("seen").push(buf[..n].to_vec());
                let _ = c.write_all(then);
            }
        }
    });
    Peer { port, seen }
}

/// A MySQL packet: length, sequence number, payload.
fn mysql_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    p
}

fn mysql_peers() -> [Peer; 6] {
    let mut g = vec![0x0a];
    g.extend_from_slice(b"5.5.5-10.11.6-MariaDB-test\0");
    g.extend_from_slice(&42u32.to_le_bytes());
    g.extend_from_slice(b"abcdefgh\0\xff\xf7\x21\x02\x00\xff\x81\x15");
    g.extend_from_slice(&[0u8; 10]);
    g.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    let greeting = mysql_packet(0, &g);
    let ok = mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00");
    let denied = mysql_packet(2, b"\xff\x15\x04#28000Access denied for user haproxy");
    let refused = mysql_packet(0, b"\xff\x6a\x04Host is not allowed to connect");
    [
        mysql_peer(greeting.clone(), Some(ok.clone())),
        mysql_peer(greeting.clone(), Some(denied)),
        mysql_peer(refused, None),
        mysql_peer(greeting.clone(), None),
        mysql_peer(b"junk junk junk\r\n".to_vec(), None),
        // For `pre-41`.
        mysql_peer(greeting, Some(ok)),
    ]
}

/// A peer speaking enough of Redis's inline protocol for the checks; it
/// records the bytes of each connection.
struct Peer {
    port: u16,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn peer(role: Role) -> Peer {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for c in l.incoming().map_while(Result::ok) {
            let log = log.clone();
            thread::spawn(move || {
                let idx = {
                    let mut s = log.lock().expect("seen");
                    s.push(Vec::new());
                    s.len() - 1
                };
                let mut w = c.try_clone().expect("clone");
                let mut r = BufReader::new(c);
                let mut line = Vec::new();
                while r
                    .read_until(b'\n', &mut line)
                    .map(|n| n > 0)
                    .unwrap_or(false)
                {
                    log.lock().expect("seen")[idx].extend_from_slice(&line);
                    let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
                    line.clear();
                    // RESP framing lines (HAProxy's redis-check sends
                    // "*1\r\n$4\r\nPING\r\n"): the command follows.
                    if cmd.starts_with('*') || cmd.starts_with('$') {
                        continue;
                    }
                    let answer: &[u8] = match (cmd.as_str(), role) {
                        ("PING", Role::Broken) => {
                            let _ = w.write_all(b"-ERR unknown\r\n");
                            return;
                        }
                        ("PING", _) => b"+PONG\r\n",
                        ("info replication", Role::Master) => {
                            b"$30\r\n# Replication\r\nrole:master\r\n\r\n"
                        }
                        ("info replication", _) => b"$29\r\n# Replication\r\nrole:slave\r\n\r\n",
                        ("QUIT", _) => {
                            let _ = w.write_all(b"+OK\r\n");
                            return;
                        }
                        _ => b"-ERR\r\n",
                    };
                    if w.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Peer { port, seen }
}

/// The ports one side's configuration uses.
#[derive(Clone, Copy)]
struct Ports {
    log: u16,
    master: u16,
    replica: u16,
    broken: u16,
    closed: u16,
    pg: [u16; 4],
    ssl: [u16; 3],
    my: [u16; 6],
}

fn config(ports: &Ports) -> String {
    let Ports {
        log,
        master,
        replica,
        broken,
        closed,
        pg,
        ssl,
        my,
    } = *ports;
    format!(
        "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode tcp
    option log-health-checks
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    timeout check 400ms
backend redis
    option tcp-check
    tcp-check comment ping
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    tcp-check send info\\ replication\\r\\n
    tcp-check expect string role:master
    tcp-check send QUIT\\r\\n
    tcp-check expect string +OK
    server master 127.0.0.1:{master} check inter 200ms fall 1 rise 1
    server replica 127.0.0.1:{replica} check inter 200ms fall 1 rise 1
    server broken 127.0.0.1:{broken} check inter 200ms fall 1 rise 1
    server gone 127.0.0.1:{closed} check inter 200ms fall 1 rise 1
backend binary
    option tcp-check
    tcp-check connect port {master} addr 127.0.0.1
    tcp-check send-binary 50494e470d0a
    tcp-check expect binary 2b504f4e47
    tcp-check expect rstring ^\\+PO.G
    server b1 127.0.0.1:{closed} check inter 200ms fall 1 rise 1
backend builtin
    option redis-check
    server r1 127.0.0.1:{master} check inter 200ms fall 1 rise 1
    server r2 127.0.0.1:{broken} check inter 200ms fall 1 rise 1
backend pgsql
    option pgsql-check user haproxy
    server ok 127.0.0.1:{pg_ok} check inter 200ms fall 1 rise 1
    server err 127.0.0.1:{pg_err} check inter 200ms fall 1 rise 1
    server md5 127.0.0.1:{pg_md5} check inter 200ms fall 1 rise 1
    server junk 127.0.0.1:{pg_junk} check inter 200ms fall 1 rise 1
backend sslhello
    option ssl-hello-chk
    server tls 127.0.0.1:{ssl_ok} check inter 200ms fall 1 rise 1
    server junk 127.0.0.1:{ssl_junk} check inter 200ms fall 1 rise 1
    server empty 127.0.0.1:{ssl_empty} check inter 200ms fall 1 rise 1
backend mysql
    option mysql-check user haproxy post-41
    server ok 127.0.0.1:{my_ok} check inter 200ms fall 1 rise 1
    server denied 127.0.0.1:{my_denied} check inter 200ms fall 1 rise 1
    server refused 127.0.0.1:{my_refused} check inter 200ms fall 1 rise 1
    server junk 127.0.0.1:{my_junk} check inter 200ms fall 1 rise 1
    server hangup 127.0.0.1:{my_greeting} check inter 200ms fall 1 rise 1
backend mysql40
    option mysql-check user haproxy pre-41
    server ok 127.0.0.1:{my40} check inter 200ms fall 1 rise 1
backend mysqlgreeting
    option mysql-check
    server g 127.0.0.1:{my_greeting} check inter 200ms fall 1 rise 1
    server e 127.0.0.1:{my_refused} check inter 200ms fall 1 rise 1
listen front
    bind 127.0.0.1:{front}
    server x 127.0.0.1:{closed}
",
        front = free_port(),
        pg_ok = pg[0],
        pg_err = pg[1],
        pg_md5 = pg[2],
        pg_junk = pg[3],
        ssl_ok = ssl[0],
        ssl_junk = ssl[1],
        ssl_empty = ssl[2],
        my_ok = my[0],
        my_denied = my[1],
        my_refused = my[2],
        my_greeting = my[3],
        my_junk = my[4],
        my40 = my[5],
    )
}

#[test]
fn tcp_check_verdicts_messages_and_bytes_match_haproxy() {
    let servers = [
        "redis/master",
        "redis/replica",
        "redis/broken",
        "redis/gone",
        "binary/b1",
        "builtin/r1",
        "builtin/r2",
        "pgsql/ok",
        "pgsql/err",
        "pgsql/md5",
        "pgsql/junk",
        "sslhello/tls",
        "sslhello/junk",
        "sslhello/empty",
        "mysql/ok",
        "mysql/denied",
        "mysql/refused",
        "mysql/junk",
        "mysql/hangup",
        "mysql40/ok",
        "mysqlgreeting/g",
        "mysqlgreeting/e",
    ];
    let mut sides = Vec::new();
    let mut mysql: Vec<[Peer; 6]> = Vec::new();
    for _ in 0..2 {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let (m, r, b) = (peer(Role::Master), peer(Role::Replica), peer(Role::Broken));
        // AuthenticationOk; an ErrorResponse; an MD5 password request;
        // something else.
        let pg = [
            pg_peer(b"R\0\0\0\x08\0\0\0\0"),
            pg_peer(b"E\0\0\0\x25SFATAL\0C28000\0Mno pg_hba.conf entry\0\0"),
            pg_peer(b"R\0\0\0\x0c\0\0\0\x05salt"),
            pg_peer(b"HTTP/1.0 400 Bad\r\n\r\n"),
        ];
        let ports = [pg[0].port, pg[1].port, pg[2].port, pg[3].port];
        // A TLS record header (a ServerHello's); text; nothing.
        let ssl = [
            pg_peer(b"\x16\x03\x03\x00\x31\x02\x00\x00\x2d"),
            pg_peer(b"HTTP/1.0 400 Bad\r\n\r\n"),
            pg_peer(b""),
        ];
        let cfg = config(&Ports {
            log: sock.local_addr().expect("addr").port(),
            master: m.port,
            replica: r.port,
            broken: b.port,
            closed: free_port(),
            pg: ports,
            ssl: [ssl[0].port, ssl[1].port, ssl[2].port],
            my: {
                let my = mysql_peers();
                let ports = [
                    my[0].port, my[1].port, my[2].port, my[3].port, my[4].port, my[5].port,
                ];
                mysql.push(my);
                ports
            },
        });
        sides.push((sock, m, r, b, cfg, pg, ssl));
    }
    let _h = Haproxy::start(&sides[0].4, &[]);
    let _f = Fulcrum::start(&sides[1].4);
    let h = first_lines(&sides[0].0, &servers);
    let f = first_lines(&sides[1].0, &servers);
    assert_eq!(f, h, "first check of each server: fulcrum vs haproxy");
    let master = &h
        .iter()
        .find(|(w, _)| w == "redis/master")
        .expect("master")
        .1;
    assert!(
        master.contains("succeeded, reason: Layer7 check passed, code: 0, info: \"(tcp-check)\""),
        "{master}"
    );
    // The bytes on the wire: every distinct sequence the master received
    // (the tcp-check one, send-binary's, redis-check's).
    let sequences = |p: &Peer| -> std::collections::BTreeSet<Vec<u8>> {
        p.seen
            .lock()
            .expect("seen")
            .iter()
            .filter(|c| !c.is_empty())
            .cloned()
            .collect()
    };
    let (hs, fs) = (sequences(&sides[0].1), sequences(&sides[1].1));
    assert_eq!(fs, hs, "bytes sent by the checks");
    assert!(
        fs.contains(b"PING\r\ninfo replication\r\nQUIT\r\n".as_slice()),
        "{fs:?}"
    );
    assert!(fs.contains(b"*1\r\n$4\r\nPING\r\n".as_slice()), "{fs:?}");
    // ssl-hello-chk's ClientHello, its 4 time bytes masked.
    let hello = |side: usize| {
        let mut h = sides[side].6[0]
            .seen
            .lock()
            .expect("seen")
            .first()
            .cloned()
            .unwrap_or_default();
        if h.len() > 15 {
            h[11..15].copy_from_slice(b"TIME");
        }
        h
    };
    assert_eq!(hello(1), hello(0));
    assert_eq!(hello(1).len(), 126);
    // mysql-check's authentication packet and COM_QUIT.
    let auth = |side: usize| mysql[side][0].seen.lock().expect("seen").first().cloned();
    assert_eq!(auth(1), auth(0));
    assert_eq!(
        auth(1).map(|a| a.len()),
        Some(50),
        "41-byte packet and COM_QUIT"
    );
    // With `pre-41`, HAProxy's 4.0 packet: 7 bytes and the user.
    let auth40 = |side: usize| mysql[side][5].seen.lock().expect("seen").first().cloned();
    assert_eq!(auth40(1), auth40(0));
    assert_eq!(auth40(1).map(|a| a.len()), Some(4 + 7 + 7 + 5));
    // pgsql-check's StartupMessage.
    let pg_first = |side: usize| sides[side].5[0].seen.lock().expect("seen").first().cloned();
    assert_eq!(pg_first(1), pg_first(0));
    assert_eq!(
        pg_first(1).unwrap_or_default(),
        b"\0\0\0\x16\0\x03\0\0user\0haproxy\0\0".as_slice()
    );
}

/// Debian's redis-server, twice: the tcp-check that asks for
/// `role:master` sends traffic to the master only, and follows a
/// REPLICAOF switch.
#[test]
fn redis_check_follows_the_master() {
    for tool in ["redis-server", "redis-cli"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "{tool} is not installed (.ci/run installs redis-server)"
        );
    }
    let dir = TempPath::dir("redis");
    let (p1, p2) = (free_port(), free_port());
    let start = |port: u16| -> Child {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server")
    };
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _r1 = Kill(start(p1));
    let _r2 = Kill(start(p2));
    let cli = |port: u16, args: &[&str]| -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while cli(p1, &["PING"]) != "PONG" || cli(p2, &["PING"]) != "PONG" {
        assert!(Instant::now() < deadline, "redis did not start");
        thread::sleep(Duration::from_millis(50));
    }
    cli(p2, &["REPLICAOF", "127.0.0.1", &p1.to_string()]);
    let front = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 500ms
listen redis
    bind 127.0.0.1:{front}
    option tcp-check
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    tcp-check send info\\ replication\\r\\n
    tcp-check expect string role:master
    tcp-check send QUIT\\r\\n
    tcp-check expect string +OK
    server r1 127.0.0.1:{p1} check inter 100ms fall 1 rise 1
    server r2 127.0.0.1:{p2} check inter 100ms fall 1 rise 1
"
    ));
    // Which server a client reaches: its port, as Redis reports it.
    let served_by = || -> String {
        let mut c = TcpStream::connect(("127.0.0.1", front)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        c.write_all(b"CONFIG GET port\r\n").expect("write");
        let mut r = BufReader::new(c);
        let mut lines = Vec::new();
        for _ in 0..5 {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            lines.push(l.trim().to_string());
        }
        lines.get(4).cloned().unwrap_or_default()
    };
    let wait_for = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(10);
        // Every connection goes to `port` once the checks have settled.
        while (0..6).any(|_| served_by() != port.to_string()) {
            assert!(Instant::now() < deadline, "traffic never settled on {port}");
            thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(p1);
    // The switch: r2 becomes the master, r1 its replica.
    cli(p2, &["REPLICAOF", "NO", "ONE"]);
    cli(p1, &["REPLICAOF", "127.0.0.1", &p2.to_string()]);
    wait_for(p2);
}

/// The directory of Debian's PostgreSQL programs (initdb, postgres).
fn pg_bin() -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Debian's PostgreSQL: `option pgsql-check user U` marks it UP, DOWN
/// when it stops, and UP again when it is back. PostgreSQL refuses to run
/// as root, so under root it runs as the `postgres` account the package
/// creates.
#[test]
fn pgsql_check_against_postgresql() {
    let bin = pg_bin().expect("PostgreSQL is not installed (.ci/run installs postgresql)");
    let dir = TempPath::dir("pgsql");
    let data = dir.path().join("data");
    let root = common::is_root();
    // setpriv execs the program itself (runuser would stay its parent), so
    // that killing the child kills PostgreSQL.
    let as_pg = |prog: &str| -> Command {
        if root {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(bin.join(prog));
            c
        } else {
            Command::new(bin.join(prog))
        }
    };
    if root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(ok.success());
    }
    let init = as_pg("initdb")
        .args(["-A", "trust", "-U", "haproxy", "--no-sync", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("initdb");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let start = || -> Child {
        as_pg("postgres")
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-k",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres")
    };
    struct Stop(Option<Child>);
    impl Drop for Stop {
        fn drop(&mut self) {
            if let Some(c) = &mut self.0 {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let mut pg = Stop(Some(start()));
    let front = free_port();
    let f = Fulcrum::start(&format!(
        "defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen db
    bind 127.0.0.1:{front}
    option pgsql-check user haproxy
    server pg 127.0.0.1:{port} check inter 100ms fall 1 rise 1
"
    ));
    let wait_log = |needle: &str, n: usize| f.wait_count(needle, n, Duration::from_secs(20));
    // Up at start (a server starts UP); down while PostgreSQL starts or
    // not, then UP: wait for the state it reaches once running.
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "postgres did not listen");
        thread::sleep(Duration::from_millis(50));
    }
    let ups = f.count("Server db/pg is UP");
    // Stop it: DOWN with the check's reason.
    if let Some(mut c) = pg.0.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    wait_log("Server db/pg is DOWN", 1);
    pg.0 = Some(start());
    wait_log("Server db/pg is UP, reason: Layer7 check passed, code: 0, info: \"PostgreSQL server is ok\"", ups + 1);
}
