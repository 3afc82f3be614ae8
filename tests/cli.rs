//! The runtime API on `stats socket`, driven as operators drive it: socat
//! one command per connection, interactive `prompt` sessions, levels, and
//! hatop in a terminal. Each change is checked where it acts: the traffic,
//! the stats page, and across a reload.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::net::{free_port, get, Fulcrum, HttpBackend};
use common::TempPath;

/// One command line through socat, as an operator sends it; the answer.
fn socat(sock: &Path, line: &str) -> String {
    let mut child = Command::new("socat")
        .arg("stdio")
        .arg(format!("unix-connect:{}", sock.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("socat (apt-get install socat)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{line}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("socat output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

struct Setup {
    f: Fulcrum,
    port: u16,
    dir: TempPath,
    a: HttpBackend,
    b: HttpBackend,
    cfg: String,
}

impl Setup {
    fn sock(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn config(dir: &Path, port: u16, a: &HttpBackend, b: &HttpBackend) -> String {
    format!(
        "global
    nbthread 1
    stats socket {d}/admin.sock mode 600 level admin
    stats socket {d}/oper.sock level operator
    stats socket {d}/user.sock level user
    stats timeout 5s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:{port}
    stats enable
    stats uri /stats
    balance roundrobin
    server s1 {} check inter 200ms
    server s2 {} check inter 200ms
",
        a.addr,
        b.addr,
        d = dir.display()
    )
}

fn setup() -> Setup {
    let dir = TempPath::dir("cli");
    let (a, b) = (HttpBackend::start("s1"), HttpBackend::start("s2"));
    let port = free_port();
    let cfg = config(dir.path(), port, &a, &b);
    let f = Fulcrum::start(&cfg);
    Setup {
        f,
        port,
        dir,
        a,
        b,
        cfg,
    }
}

/// Which servers `n` requests reached, in order.
fn bodies(port: u16, n: usize) -> Vec<String> {
    (0..n).map(|_| get(port, "/").text()).collect()
}

#[test]
fn show_stat_has_the_columns_of_the_page_csv() {
    let s = setup();
    let cli = socat(&s.sock("admin.sock"), "show stat");
    let page = get(s.port, "/stats;csv").text();
    let header = |t: &str| t.lines().next().unwrap_or_default().to_string();
    assert_eq!(header(&cli), header(&page));
    assert!(
        header(&cli).starts_with("# pxname,svname,qcur,qmax,scur,"),
        "{cli}"
    );
    let names = |t: &str| -> Vec<String> {
        t.lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(
        names(&cli),
        ["app,FRONTEND", "app,s1", "app,s2", "app,BACKEND"]
    );
    assert_eq!(names(&cli), names(&page));
    // Every answer ends with an empty line.
    assert!(cli.ends_with(",\n\n"), "{cli:?}");
    // Filters: servers only (type 4) of proxy `app`.
    let servers = socat(&s.sock("admin.sock"), "show stat app 4 -1");
    assert_eq!(names(&servers), ["app,s1", "app,s2"]);
}

#[test]
fn maint_over_the_socket_moves_traffic_at_once_and_shows_on_the_page() {
    let s = setup();
    assert_eq!(bodies(s.port, 4).iter().filter(|b| *b == "s1").count(), 2);
    let out = socat(&s.sock("admin.sock"), "set server app/s1 state maint");
    assert_eq!(out, "\n");
    assert!(bodies(s.port, 6).iter().all(|b| b == "s2"));
    let csv = get(s.port, "/stats;csv").text();
    let row = csv
        .lines()
        .find(|l| l.starts_with("app,s1,"))
        .expect("s1 row");
    assert!(row.contains(",MAINT,"), "{row}");
    // Logged in HAProxy 2.6's words.
    assert!(
        s.f.count(
            "Server app/s1 is going DOWN for maintenance. 1 active and 0 backup servers left."
        ) == 1,
        "{:?}",
        s.f.log.lock().map(|l| l.join("\n"))
    );
    assert_eq!(
        socat(&s.sock("admin.sock"), "set server app/s1 state ready"),
        "\n"
    );
    assert!(bodies(s.port, 4).iter().any(|b| b == "s1"));
    // drain: no new sessions either.
    socat(&s.sock("admin.sock"), "set server app/s2 state drain");
    assert!(bodies(s.port, 4).iter().all(|b| b == "s1"));
    let _ = (&s.a, &s.b);
}

#[test]
fn levels_bound_what_a_session_may_do() {
    let s = setup();
    assert_eq!(
        socat(&s.sock("oper.sock"), "set server app/s1 state maint"),
        "Permission denied\n\n"
    );
    assert_eq!(
        socat(&s.sock("user.sock"), "clear counters"),
        "Permission denied\n\n"
    );
    assert_eq!(socat(&s.sock("oper.sock"), "clear counters"), "\n");
    assert_eq!(
        socat(&s.sock("oper.sock"), "show cli level"),
        "operator\n\n"
    );
    // A session may lower its level, never raise it.
    assert_eq!(
        socat(
            &s.sock("admin.sock"),
            "operator; set weight app/s1 5; show cli level"
        ),
        "\nPermission denied\n\noperator\n\n"
    );
    assert_eq!(
        socat(&s.sock("user.sock"), "operator"),
        "Permission denied\n\n"
    );
    // Nothing changed, and traffic still reaches s1.
    assert!(bodies(s.port, 4).iter().any(|b| b == "s1"));
    // Users do not see server addresses.
    let user = socat(&s.sock("user.sock"), "show stat");
    assert!(!user.contains(&s.a.addr.to_string()), "{user}");
    let admin = socat(&s.sock("admin.sock"), "show stat");
    assert!(admin.contains(&s.a.addr.to_string()), "{admin}");
}

#[test]
fn weights_change_the_share_of_traffic() {
    let s = setup();
    let sock = s.sock("admin.sock");
    assert_eq!(socat(&sock, "get weight app/s1"), "1 (initial 1)\n\n");
    assert_eq!(socat(&sock, "set weight app/s1 3"), "\n");
    assert_eq!(socat(&sock, "get weight app/s1"), "3 (initial 1)\n\n");
    let got = bodies(s.port, 8);
    let s1 = got.iter().filter(|b| *b == "s1").count();
    assert_eq!(s1, 6, "weights 3:1 over two periods: {got:?}");
    assert_eq!(socat(&sock, "set server app/s1 weight 0"), "\n");
    assert!(bodies(s.port, 4).iter().all(|b| b == "s2"));
    // Percentages are of the configured weight.
    assert_eq!(socat(&sock, "set weight app/s1 100%"), "\n");
    assert_eq!(socat(&sock, "get weight app/s1"), "1 (initial 1)\n\n");
    assert_eq!(
        socat(&sock, "set weight app/s1 300"),
        "Absolute weight can only be between 0 and 256 inclusive.\n\n"
    );
    assert_eq!(socat(&sock, "get weight app/nope"), "No such server.\n\n");
    assert_eq!(socat(&sock, "get weight nope/s1"), "No such backend.\n\n");
    // The page shows the weight in force.
    socat(&sock, "set weight app/s2 7");
    let csv = get(s.port, "/stats;csv").text();
    let row = csv
        .lines()
        .find(|l| l.starts_with("app,s2,"))
        .expect("s2 row");
    let weight_col = 18;
    assert_eq!(row.split(',').nth(weight_col), Some("7"), "{row}");
}

#[test]
fn socket_changes_survive_a_reload() {
    let s = setup();
    let sock = s.sock("admin.sock");
    socat(&sock, "set server app/s1 state maint");
    socat(&sock, "set weight app/s2 9");
    assert!(s.f.reload(&s.cfg));
    assert!(bodies(s.port, 4).iter().all(|b| b == "s2"));
    assert_eq!(socat(&sock, "get weight app/s2"), "9 (initial 1)\n\n");
    // A new weight in the file wins over the operator's.
    let edited = s.cfg.replace(
        &format!("server s2 {} check", s.b.addr),
        &format!("server s2 {} weight 4 check", s.b.addr),
    );
    assert!(s.f.reload(&edited));
    assert_eq!(socat(&sock, "get weight app/s2"), "4 (initial 4)\n\n");
    // The socket itself was kept: an open interactive session goes on.
    let mut c = UnixStream::connect(&sock).expect("connect");
    c.write_all(b"prompt\n").expect("write");
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    let mut prompt = [0u8; 3];
    r.read_exact(&mut prompt).expect("prompt");
    assert_eq!(&prompt, b"\n> ");
    assert!(s.f.reload(&edited));
    c.write_all(b"show cli level\n").expect("write");
    let mut line = String::new();
    r.read_line(&mut line).expect("answer");
    assert_eq!(line, "admin\n");
}

#[test]
fn interactive_sessions_prompt_and_quit() {
    let s = setup();
    let mut c = UnixStream::connect(s.sock("admin.sock")).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.write_all(b"prompt\nshow version\nfrobnicate\nquit\n")
        .expect("write");
    let mut all = String::new();
    c.read_to_string(&mut all).expect("read until closed");
    let version = all.lines().nth(1).unwrap_or_default().to_string();
    assert!(version.starts_with("> 2.6-fulcrum-"), "{all}");
    assert!(
        all.contains("> Unknown command, but maybe one of the following ones is a better match:\n"),
        "{all}"
    );
    assert!(
        all.ends_with("  quit                                    : disconnect\n\n> "),
        "{all:?}"
    );
    // Without `prompt`, the connection closes after the answers.
    let mut c = UnixStream::connect(s.sock("admin.sock")).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.write_all(b"show cli level;show backend\n")
        .expect("write");
    let mut all = String::new();
    c.read_to_string(&mut all).expect("closed after answering");
    assert_eq!(all, "admin\n\n# name\napp\n\n");
}

#[test]
fn a_tcp_socket_and_the_socket_file_mode() {
    let dir = TempPath::dir("cli-tcp");
    let (a, b) = (HttpBackend::start("s1"), HttpBackend::start("s2"));
    let (port, cli_port) = (free_port(), free_port());
    let cfg = config(dir.path(), port, &a, &b).replace(
        "    stats timeout 5s\n",
        &format!(
            "    stats timeout 5s\n    stats socket ipv4@127.0.0.1:{cli_port} level operator\n"
        ),
    );
    let _f = Fulcrum::start(&cfg);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", cli_port)).expect("connect");
    c.write_all(b"show cli level\n").expect("write");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("read");
    assert_eq!(out, "operator\n\n");
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(dir.path().join("admin.sock")).expect("socket file");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

/// `stats socket` parameters that make no sense are `file:line` errors;
/// `expose-fd listeners` (HAProxy's reload hand-over) is accepted with a
/// warning that says fulcrum does not need it.
#[test]
fn socket_lines_are_checked() {
    let bad = TempPath::file(
        "cli-bad",
        "global\n    stats socket /tmp/x.sock level root\n",
    );
    let run = common::check(&[bad.path()]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains(":2: ") && run.stderr.contains("expects user, operator or admin"),
        "{}",
        run.stderr
    );
    let warn = TempPath::file(
        "cli-warn",
        "global\n    stats socket /tmp/x.sock mode 660 level admin expose-fd listeners\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:1\n",
    );
    let run = common::check(&[warn.path()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("reloads in-process"), "{}", run.stderr);
    let fam = TempPath::file("cli-fam", "global\n    stats socket abns@x\n");
    let run = common::check(&[fam.path()]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("address family 'abns'"),
        "{}",
        run.stderr
    );
}

/// Debian's hatop, in a tmux terminal: it connects, enters prompt mode,
/// sets its session timeout, reads `show info` and `show stat`, and lists
/// the servers.
#[test]
fn hatop_lists_the_servers() {
    for tool in ["tmux", "hatop"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "{tool} is not installed (.ci/run installs it)"
        );
    }
    let s = setup();
    let tmux_sock = s.dir.path().join("tmux");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&tmux_sock)
            .args(args)
            .output()
            .expect("tmux")
    };
    let session = format!("hatop-{}", std::process::id());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "40",
        &format!("hatop -s {}", s.sock("admin.sock").display()),
    ]);
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut screen = String::new();
    while Instant::now() < deadline {
        let cap = tmux(&["capture-pane", "-p", "-t", &session]);
        screen = String::from_utf8_lossy(&cap.stdout).into_owned();
        if screen.contains("s1") && screen.contains("s2") && screen.contains("BACKEND") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = tmux(&["kill-server"]);
    assert!(
        screen.contains("s1") && screen.contains("s2") && screen.contains("BACKEND"),
        "hatop's screen:\n{screen}"
    );
    assert!(
        screen.contains("fulcrum"),
        "hatop shows the software name:\n{screen}"
    );
}

/// `disable frontend` stops accepting (connections wait in the backlog,
/// the page says PAUSED); `enable frontend` takes them.
#[test]
fn a_frontend_is_paused_and_resumed() {
    let s = setup();
    let sock = s.sock("admin.sock");
    assert_eq!(socat(&sock, "disable frontend app"), "\n");
    let csv = socat(&sock, "show stat");
    assert!(
        csv.contains("app,FRONTEND,") && csv.contains(",PAUSED,"),
        "{csv}"
    );
    // Connected (the kernel's backlog), but not answered while paused.
    let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .expect("write");
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    assert!(c.read(&mut buf).is_err(), "answered while paused");
    assert_eq!(socat(&sock, "enable frontend app"), "\n");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("answered once resumed");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert_eq!(
        socat(&sock, "disable frontend nope"),
        "No such frontend.\n\n"
    );
    assert_eq!(
        socat(&sock, "enable agent app/s1"),
        "Agent checks are not configured on this server, cannot enable.\n\n"
    );
}

/// `set maxconn server` resizes the server's limit: with one slot, a
/// second request waits in the queue while the first holds it, and gets
/// 503 at `timeout queue`; the page shows the new `slim`. A server without
/// `maxconn` in the file has nothing to resize, and says so.
#[test]
fn set_maxconn_resizes_a_servers_limit() {
    let dir = TempPath::dir("cli-maxconn");
    let slow = HttpBackend::with(common::net::Answer::Never);
    let other = HttpBackend::start("s2");
    let port = free_port();
    let cfg = format!(
        "global
    stats socket {d}/admin.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 3s
    timeout queue 300ms
listen app
    bind 127.0.0.1:{port}
    use-server s1 if {{ path /slow }}
    server s1 {} maxconn 10
    server s2 {}
",
        slow.addr,
        other.addr,
        d = dir.path().display()
    );
    let _f = Fulcrum::start(&cfg);
    let sock = dir.path().join("admin.sock");
    assert_eq!(socat(&sock, "set maxconn server app/s1 1"), "\n");
    let csv = socat(&sock, "show stat app 4 -1");
    let row = csv
        .lines()
        .find(|l| l.starts_with("app,s1,"))
        .expect("s1 row");
    assert_eq!(row.split(',').nth(6), Some("1"), "slim: {row}");
    // The first request holds s1's only slot (its server never answers).
    let mut first = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    first
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("write");
    let deadline = Instant::now() + Duration::from_secs(5);
    while slow.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first request never reached s1"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = get(port, "/slow");
    assert_eq!(second.status, 503, "queued past timeout queue");
    drop(first);
    assert_eq!(
        socat(&sock, "set maxconn server app/s2 5"),
        "fulcrum cannot set a maxconn on server app/s2: it has none in the configuration (add one, then reload).\n\n"
    );
    assert_eq!(
        socat(&sock, "set maxconn frontend nope 5"),
        "No such frontend.\n\n"
    );
}

/// `set server B/S addr A [port P]`: answered in HAProxy's words, the next
/// requests go to the new address (the page and `show servers state`
/// show it), and it stays over a reload of an unchanged file.
#[test]
fn set_server_addr_moves_the_traffic() {
    let s = setup();
    let sock = s.sock("admin.sock");
    let third = HttpBackend::start("s3");
    socat(&sock, "set server app/s2 state maint");
    assert_eq!(
        socat(&sock, "set server app/s1 addr 127.0.0.1"),
        "no need to change the addr by 'stats socket command'\n\n"
    );
    let answer = socat(
        &sock,
        &format!(
            "set server app/s1 addr 127.0.0.1 port {}",
            third.addr.port()
        ),
    );
    assert_eq!(
        answer,
        format!(
            "no need to change the addr, port changed from '{}' to '{}' by 'stats socket command'\n\n",
            s.a.addr.port(),
            third.addr.port()
        )
    );
    assert!(bodies(s.port, 3).iter().all(|b| b == "s3"));
    let state = socat(&sock, "show servers state app");
    assert!(state.contains(" s1 127.0.0.1 2 0 1 1 "), "{state}");
    assert!(
        state.contains(&format!(" {} ", third.addr.port())),
        "{state}"
    );
    assert!(s.f.reload(&s.cfg));
    assert!(bodies(s.port, 2).iter().all(|b| b == "s3"));
    assert_eq!(
        socat(&sock, "set server app/s1 addr nowhere"),
        "Invalid addr 'nowhere' by 'stats socket command'\n\n"
    );
}

/// The socket's layouts against Debian's HAProxy 2.6 on the same file:
/// `show servers state` line by line (the seconds since the last change
/// masked), `show stat typed` field by field for the fields both fill
/// (positions, tags, types; the values of the identifying and state
/// fields), `show stat` columns, `show backend`, `get weight`, and the
/// answers to a few mistakes.
#[test]
fn socket_layouts_match_haproxy() {
    let up = HttpBackend::start("up");
    let down_port = free_port();
    let config = |dir: &Path, port: u16| {
        format!(
            "global
    stats socket {d}/admin.sock level admin
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 {} weight 3
    server s2 127.0.0.1:{down_port} check inter 100ms fall 1
",
            up.addr,
            d = dir.display()
        )
    };
    let (hdir, fdir) = (TempPath::dir("cli-h"), TempPath::dir("cli-f"));
    let (hport, fport) = (free_port(), free_port());
    let _h = common::haproxy::Haproxy::start(&config(hdir.path(), hport), &[hport]);
    let _f = Fulcrum::start(&config(fdir.path(), fport));
    let (hs, fs) = (
        hdir.path().join("admin.sock"),
        fdir.path().join("admin.sock"),
    );
    // Both have seen s2 fail its check.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(socat(&hs, "show stat").contains(",DOWN,")
        && socat(&fs, "show stat").contains(",DOWN,"))
    {
        assert!(Instant::now() < deadline, "s2 never went DOWN");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mask_since = |t: &str| -> String {
        t.lines()
            .map(|l| {
                let mut w: Vec<&str> = l.split(' ').collect();
                if w.len() > 10 && !l.starts_with('#') {
                    w[9] = "T";
                }
                w.join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        mask_since(&socat(&fs, "show servers state")),
        mask_since(&socat(&hs, "show servers state")),
        "show servers state"
    );
    for cmd in [
        "show backend",
        "get weight be/s1",
        "set weight be/s1 300",
        "get weight be/nope",
        "set server be/s1 state up",
        "show servers state nope",
        "disable frontend nope",
    ] {
        assert_eq!(socat(&fs, cmd), socat(&hs, cmd), "{cmd}");
    }
    let header = |t: &str| t.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        header(&socat(&fs, "show stat")),
        header(&socat(&hs, "show stat"))
    );
    // typed: "OBJ.IID.SID.POS.NAME.1:TAGS:TYPE:VALUE" lines.
    let typed = |t: &str| -> std::collections::BTreeMap<String, (String, String)> {
        t.lines()
            .filter_map(|l| {
                let (key, rest) = l.split_once(':')?;
                let (tags, rest) = rest.split_once(':')?;
                let (ty, value) = rest.split_once(':')?;
                Some((key.to_string(), (format!("{tags}:{ty}"), value.to_string())))
            })
            .collect()
    };
    let (h, f) = (
        typed(&socat(&hs, "show stat typed")),
        typed(&socat(&fs, "show stat typed")),
    );
    let mut compared = 0;
    for (key, (hv_tags, hv)) in &h {
        let Some((fv_tags, fv)) = f.get(key) else {
            continue;
        };
        compared += 1;
        assert_eq!(fv_tags, hv_tags, "tags of {key}");
        let name = key.split('.').nth(4).unwrap_or_default();
        if [
            "pxname",
            "svname",
            "iid",
            "sid",
            "type",
            "status",
            "weight",
            "act",
            "bck",
            "addr",
            "mode",
            "algo",
            "check_status",
        ]
        .contains(&name)
        {
            assert_eq!(fv, hv, "value of {key}");
        }
    }
    assert!(compared > 100, "only {compared} typed fields in common");
}

/// `disable health` stops a server's checks and it counts as UP; `enable
/// health` brings the checks (and so the DOWN) back. `clear counters all`
/// zeroes the totals. `shutdown sessions server` closes a server's open
/// sessions.
#[test]
fn health_counters_and_sessions_from_the_socket() {
    let dir = TempPath::dir("cli-health");
    let never = HttpBackend::with(common::net::Answer::Never);
    let ok = HttpBackend::start("ok");
    let (port, dead) = (free_port(), free_port());
    let cfg = format!(
        "global
    stats socket {d}/admin.sock level admin
defaults
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:{port}
    use-server slow if {{ path /slow }}
    server down 127.0.0.1:{dead} check inter 100ms fall 1 rise 1
    server slow {} weight 0
    server ok {}
",
        never.addr,
        ok.addr,
        d = dir.path().display()
    );
    let _f = Fulcrum::start(&cfg);
    let sock = dir.path().join("admin.sock");
    let status = |name: &str| -> String {
        let csv = socat(&sock, "show stat");
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("app,{name},")))
            .unwrap_or_default()
            .to_string();
        row.split(',').nth(17).unwrap_or_default().to_string()
    };
    let wait = |name: &str, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while status(name) != want {
            assert!(
                Instant::now() < deadline,
                "{name} never {want}: {}",
                status(name)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait("down", "DOWN");
    assert_eq!(socat(&sock, "disable health app/down"), "\n");
    wait("down", "UP");
    assert_eq!(socat(&sock, "enable health app/down"), "\n");
    wait("down", "DOWN");
    assert_eq!(
        socat(&sock, "disable health app/ok"),
        "Health checks are not configured on this server, cannot disable.\n\n"
    );
    // Totals, then cleared.
    for _ in 0..3 {
        assert_eq!(get(port, "/").status, 200);
    }
    let stot = || -> String {
        let csv = socat(&sock, "show stat");
        let row = csv
            .lines()
            .find(|l| l.starts_with("app,ok,"))
            .unwrap_or_default()
            .to_string();
        row.split(',').nth(7).unwrap_or_default().to_string()
    };
    assert_eq!(stot(), "3");
    assert_eq!(socat(&sock, "clear counters all"), "\n");
    assert_eq!(stot(), "0");
    // A session waiting on a server that never answers is closed.
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("write");
    let deadline = Instant::now() + Duration::from_secs(5);
    while never.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the request never reached the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(socat(&sock, "shutdown sessions server app/slow"), "\n");
    c.set_read_timeout(Some(Duration::from_secs(4)))
        .expect("timeout");
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the session was not shut down (server timeout is 5s)"
    );
    let text = String::from_utf8_lossy(&out);
    assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
}

/// `stats maxconn 1`: a second session waits until the first ends;
/// `stats timeout`: a silent session is closed.
#[test]
fn stats_maxconn_and_timeout() {
    let dir = TempPath::dir("cli-limits");
    let port = free_port();
    let cfg = format!(
        "global
    stats socket {d}/admin.sock level admin
    stats maxconn 1
    stats timeout 400ms
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:{port}
    server s 127.0.0.1:1
",
        d = dir.path().display()
    );
    let _f = Fulcrum::start(&cfg);
    let sock = dir.path().join("admin.sock");
    let mut first = UnixStream::connect(&sock).expect("connect");
    first.write_all(b"prompt\n").expect("write");
    let mut prompt = [0u8; 3];
    first.read_exact(&mut prompt).expect("prompt");
    // The second waits in the backlog: no answer while the first lasts.
    let mut second = UnixStream::connect(&sock).expect("connect");
    second.write_all(b"show cli level\n").expect("write");
    second
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    assert!(
        second.read(&mut buf).is_err(),
        "answered beyond stats maxconn"
    );
    // The first, silent, is closed by the timeout; then the second runs.
    first
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let mut rest = Vec::new();
    first
        .read_to_end(&mut rest)
        .expect("closed by the stats timeout");
    second
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let mut answer = String::new();
    second.read_to_string(&mut answer).expect("answered");
    assert_eq!(answer, "admin\n\n");
}

/// `stats socket ... user U group G` (names looked up in /etc/passwd and
/// /etc/group) and `uid`/`gid`: the socket file's owner. Another owner
/// needs root; without it the test uses its own ids, by number.
#[test]
fn socket_file_owner() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempPath::dir("cli-owner");
    let me = std::fs::metadata(dir.path()).expect("dir");
    let root = me.uid() == 0;
    let lookup = |file: &str, name: &str| -> Option<u32> {
        std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then_some(())?;
            f.next()?;
            f.next()?.parse().ok()
        })
    };
    let (owner, want_uid, want_gid) = match (
        root,
        lookup("/etc/passwd", "nobody"),
        lookup("/etc/group", "nogroup"),
    ) {
        (true, Some(u), Some(g)) => ("user nobody group nogroup".to_string(), u, g),
        _ => (
            format!("uid {} gid {}", me.uid(), me.gid()),
            me.uid(),
            me.gid(),
        ),
    };
    let port = free_port();
    let cfg = format!(
        "global
    stats socket {d}/owned.sock mode 660 {owner} level operator
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:{port}
    server s 127.0.0.1:1
",
        d = dir.path().display()
    );
    let _f = Fulcrum::start(&cfg);
    let meta = std::fs::metadata(dir.path().join("owned.sock")).expect("socket file");
    assert_eq!((meta.uid(), meta.gid()), (want_uid, want_gid), "{owner}");
    assert_eq!(meta.mode() & 0o777, 0o660);
    // An unknown name is refused at start.
    let bad = cfg.replace(&owner, "user no-such-user-here");
    assert!(
        Fulcrum::try_start(&bad).is_err(),
        "an unknown user was accepted"
    );
}

/// The state lines of `be`'s servers, without the prefix each proxy puts.
fn operator_lines(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|l| l.find("Server be/").map(|i| l[i..].to_string()))
        .collect()
}

#[test]
fn maintenance_and_drain_lines_match_haproxy() {
    let dir = TempPath::dir("adminlines");
    let cfg = |sock: &Path, fe: u16| {
        format!(
            "global\n    stats socket {} level admin\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\nbackend be\n    server s 127.0.0.1:{}\n    server t 127.0.0.1:{} backup\n",
            sock.display(),
            free_port(),
            free_port()
        )
    };
    let (ours, theirs) = (dir.path().join("f.sock"), dir.path().join("h.sock"));
    let f = Fulcrum::start(&cfg(&ours, free_port()));
    let hfe = free_port();
    let h = common::haproxy::Haproxy::start(&cfg(&theirs, hfe), &[hfe]);
    for cmd in [
        "disable server be/s",
        "enable server be/s",
        "set server be/s state maint",
        "set server be/s state drain",
        "set server be/s state ready",
        "set server be/s state drain",
        "set server be/s state ready",
    ] {
        socat(&ours, cmd);
        socat(&theirs, cmd);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (a, b) = (
            operator_lines(&f.log.lock().expect("log")),
            operator_lines(&h.log_lines()),
        );
        if a.len() >= 8 && a.len() == b.len() {
            assert_eq!(a, b);
            break;
        }
        assert!(Instant::now() < deadline, "fulcrum {a:#?}\nhaproxy {b:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
