//! The HA pair, for real: conf/ha's fulcrum.cfg and keepalived configs run
//! unchanged but for paths, on two balancer hosts made of network
//! namespaces, with two application servers and a client on one bridge
//! (198.51.100.0/24, a documentation range; nothing leaves the machine).
//! Each scenario drives steady HTTP traffic at the VIP from the client,
//! breaks something, and reports requests sent and failed, the longest
//! window of failures, which balancer served before and after, and
//! whether each sticky client stayed on its application server.
//!
//! Needs root (network namespaces) and keepalived (.ci/run installs it).
//! The scenarios run one at a time: VRRP timing is the thing measured.

mod common;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::net::{Answer, Fulcrum, HttpBackend};

const VIP: &str = "198.51.100.100";
const VIP2: &str = "198.51.100.101";
/// The client's sources: each one is a sticky client (`stick on src`).
const CLIENTS: [u8; 6] = [50, 51, 52, 53, 54, 55];
const HOSTS: [(&str, u8); 5] = [
    ("lb1", 11),
    ("lb2", 12),
    ("app1", 21),
    ("app2", 22),
    ("cl", 10),
];

/// Which keepalived files the balancers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// keepalived-lb1.conf / keepalived-lb2.conf: one VIP.
    Standby,
    /// keepalived-active-active-lb*.conf: two VIPs, one per node.
    ActiveActive,
}

/// One scenario at a time.
static LAB: Mutex<()> = Mutex::new(());

fn conf(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conf/ha")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `f` on a thread inside network namespace `ns`: sockets it opens
/// and processes it starts live there.
fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            enter(ns);
            f()
        })
        .join()
        .expect("namespace thread")
    })
}

fn enter(ns: &str) {
    let fd = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
    rustix::thread::move_into_link_name_space(
        fd.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .expect("setns");
}

/// Whether the lab can run here; says why not otherwise.
fn lab_possible() -> bool {
    if !common::is_root() {
        eprintln!("SKIPPED: the HA lab needs root (network namespaces)");
        return false;
    }
    for tool in ["ip", "keepalived"] {
        if Command::new(tool).arg("-V").output().is_err() {
            eprintln!("SKIPPED: '{tool}' is missing (.ci/run installs iproute2 and keepalived)");
            return false;
        }
    }
    true
}

/// The namespaces, processes and files of one scenario; all torn down on
/// drop, whatever happened.
struct Lab {
    tag: String,
    dir: PathBuf,
    keepalived: Vec<(String, Child)>,
    watchers: Vec<(String, Child)>,
    fulcrum: Vec<(String, Fulcrum)>,
    apps: Vec<HttpBackend>,
}

impl Lab {
    fn new(name: &str) -> Lab {
        sweep_stale();
        let tag = format!("fxha{}{name}", std::process::id());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab dir");
        let lab = Lab {
            tag,
            dir,
            keepalived: Vec::new(),
            watchers: Vec::new(),
            fulcrum: Vec::new(),
            apps: Vec::new(),
        };
        let sw = lab.ns("sw");
        ip(&["netns", "add", &sw]);
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        for (h, last) in HOSTS {
            let ns = lab.ns(h);
            ip(&["netns", "add", &ns]);
            let port = format!("v-{h}");
            ip(&[
                "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]);
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("198.51.100.{last}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        for c in CLIENTS {
            ip(&[
                "-n",
                &lab.ns("cl"),
                "addr",
                "add",
                &format!("198.51.100.{c}/24"),
                "dev",
                "eth0",
            ]);
        }
        lab
    }

    fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.tag)
    }

    fn node_dir(&self, node: &str) -> PathBuf {
        let d = self.dir.join(node);
        std::fs::create_dir_all(&d).expect("node dir");
        d
    }

    /// A conf/ha file with the lab's paths for `node`.
    fn localize(&self, text: &str, node: &str) -> String {
        let d = self.node_dir(node);
        text.replace(
            "/usr/local/bin/fulcrum-vrrp-notify",
            &d.join("notify").display().to_string(),
        )
        .replace("/usr/local/bin/fulcrum", env!("CARGO_BIN_EXE_fulcrum"))
        .replace("/run/fulcrum/", &format!("{}/", d.display()))
        // The lab lives under a world-writable /tmp on CI, which
        // keepalived's script security refuses; the scripts are the
        // test's own.
        .replace("    enable_script_security\n", "")
    }

    /// Both application servers: each answers with its name.
    fn start_apps(&mut self) {
        for (h, last) in [("app1", 21), ("app2", 22)] {
            let app = in_ns(&self.ns(h), || {
                // Each answer names the server and the balancer that sent
                // the request (by its address).
                HttpBackend::with_at(
                    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, last), 8080)),
                    Answer::NameAndPeer(h.to_string()),
                )
            });
            self.apps.push(app);
        }
    }

    fn start_fulcrum(&mut self, node: &str) {
        let cfg = self.localize(&conf("fulcrum.cfg"), node);
        let f = in_ns(&self.ns(node), || Fulcrum::start_with(&cfg, &["-L", node]));
        self.fulcrum.retain(|(n, _)| n != node);
        self.fulcrum.push((node.to_string(), f));
        // The watcher, as fulcrum-watch.service starts it.
        if !self.watchers.iter().any(|(n, _)| n == node) {
            let unit = self.localize(&conf("fulcrum-watch.service"), node);
            let exec = unit
                .lines()
                .find_map(|l| l.strip_prefix("ExecStart="))
                .expect("ExecStart")
                .to_string();
            let words: Vec<String> = exec.split_whitespace().map(str::to_string).collect();
            let child = in_ns(&self.ns(node), || {
                Command::new(&words[0])
                    .args(&words[1..])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("fulcrum probe --watch")
            });
            self.watchers.push((node.to_string(), child));
        }
    }

    fn fulcrum(&self, node: &str) -> &Fulcrum {
        &self
            .fulcrum
            .iter()
            .find(|(n, _)| n == node)
            .expect("running")
            .1
    }

    fn kill_fulcrum(&mut self, node: &str) {
        let (_, mut f) = self
            .fulcrum
            .iter()
            .position(|(n, _)| n == node)
            .map(|i| self.fulcrum.remove(i))
            .expect("running");
        f.signal("KILL");
        f.wait_exit();
    }

    /// keepalived for `node` from its conf/ha file; `nopreempt` uncomments
    /// the option.
    fn start_keepalived(&mut self, node: &str, mode: Mode, nopreempt: bool) {
        let d = self.node_dir(node);
        let file = match mode {
            Mode::Standby => format!("keepalived-{node}.conf"),
            Mode::ActiveActive => format!("keepalived-active-active-{node}.conf"),
        };
        let mut text = self.localize(&conf(&file), node);
        if nopreempt {
            text = text.replace("# nopreempt", "nopreempt");
        }
        let cfg = d.join("keepalived.conf");
        std::fs::write(&cfg, text).expect("write keepalived.conf");
        let notify = d.join("notify");
        std::fs::write(
            &notify,
            format!("#!/bin/sh\necho \"$2 $3\" >> {}/notify.log\n", d.display()),
        )
        .expect("notify");
        Command::new("chmod")
            .arg("755")
            .arg(&notify)
            .status()
            .expect("chmod");
        let log = std::fs::File::create(d.join("keepalived.log")).expect("log");
        let child = in_ns(&self.ns(node), || {
            Command::new("keepalived")
                .args(["-n", "-l", "-D", "-P", "-f"])
                .arg(&cfg)
                .arg("-p")
                .arg(d.join("keepalived.pid"))
                .arg("-r")
                .arg(d.join("vrrp.pid"))
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("keepalived")
        });
        self.keepalived.push((node.to_string(), child));
    }

    fn stop_keepalived(&mut self, node: &str) {
        if let Some(i) = self.keepalived.iter().position(|(n, _)| n == node) {
            let (_, mut c) = self.keepalived.remove(i);
            term(&mut c);
        }
    }

    /// The balancers holding `vip` now.
    fn holders(&self, vip: &str) -> Vec<&'static str> {
        ["lb1", "lb2"]
            .into_iter()
            .filter(|h| {
                let out = Command::new("ip")
                    .args(["-n", &self.ns(h), "-4", "addr", "show", "dev", "eth0"])
                    .output()
                    .expect("ip addr");
                String::from_utf8_lossy(&out.stdout).contains(&format!("inet {vip}/"))
            })
            .collect()
    }

    /// Waits (`limit` at most) until `vip` is on `node` alone.
    fn wait_vip(&self, vip: &str, node: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.holders(vip) != [node] {
            assert!(
                Instant::now() < deadline,
                "{vip} is on {:?}, not on {node} alone\n{}",
                self.holders(vip),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The link of `node` at the switch.
    fn link(&self, node: &str, up: bool) {
        ip(&[
            "-n",
            &self.ns("sw"),
            "link",
            "set",
            &format!("v-{node}"),
            if up { "up" } else { "down" },
        ]);
    }

    /// `show table app` on `node`'s runtime API.
    fn table(&self, node: &str) -> String {
        let sock = self.dir.join(node).join("admin.sock");
        let Ok(mut c) = std::os::unix::net::UnixStream::connect(&sock) else {
            return String::new();
        };
        let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = c.write_all(b"show table app\n");
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        out
    }

    /// Waits (5 s at most) until every sticky client is in `node`'s table:
    /// the pins made on the other node reached it through `peers`.
    fn wait_pins(&self, node: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let t = self.table(node);
            if CLIENTS
                .iter()
                .all(|c| t.contains(&format!("key=198.51.100.{c} ")))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the pins never reached {node}:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for n in ["lb1", "lb2"] {
            for f in ["keepalived.log", "notify.log"] {
                let t = std::fs::read_to_string(self.dir.join(n).join(f)).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(15).collect();
                let _ = writeln!(s, "--- {n}/{f}");
                for l in tail.into_iter().rev() {
                    let _ = writeln!(s, "{l}");
                }
            }
        }
        s
    }

    /// The usual start: apps, both balancers, then lb1's keepalived (the
    /// VIP on lb1), then lb2's, as an operator brings a pair up: with
    /// `nopreempt`, whichever node wins the first election keeps the VIP,
    /// and two nodes started together differ by 40 ms of VRRP skew.
    fn up(name: &str, mode: Mode, nopreempt: bool) -> Lab {
        let mut lab = Lab::new(name);
        lab.start_apps();
        lab.start_fulcrum("lb1");
        lab.start_fulcrum("lb2");
        lab.start_keepalived("lb1", mode, nopreempt);
        lab.wait_vip(VIP, "lb1", Duration::from_secs(15));
        lab.start_keepalived("lb2", mode, nopreempt);
        lab.wait_state(
            "lb2",
            if mode == Mode::ActiveActive {
                "www_b MASTER"
            } else {
                "www BACKUP"
            },
        );
        if mode == Mode::ActiveActive {
            lab.wait_vip(VIP2, "lb2", Duration::from_secs(15));
        }
        lab.wait_vip(VIP, "lb1", Duration::from_secs(5));
        lab
    }

    /// Waits (15 s at most) until `node`'s notify hook reported `what`.
    fn wait_state(&self, node: &str, what: &str) {
        let log = self.dir.join(node).join("notify.log");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(what)
        {
            assert!(
                Instant::now() < deadline,
                "{node} never reported '{what}'\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn term(c: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(c.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in self.keepalived.iter_mut().chain(self.watchers.iter_mut()) {
            term(c);
        }
        self.fulcrum.clear();
        self.apps.clear();
        for (h, _) in HOSTS {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(h)])
                .output();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns("sw")])
            .output();
        // The logs stay for a failed scenario (the panic message names
        // what went wrong; the directory shows keepalived's view).
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Namespaces left by a test process that was killed (its pid is gone),
/// and lab directories of runs before this one.
fn sweep_stale() {
    if let Ok(dirs) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) {
        let mine = format!("fxha{}", std::process::id());
        for d in dirs.flatten() {
            let n = d.file_name().to_string_lossy().into_owned();
            if n.starts_with("fxha") && !n.starts_with(&mine) {
                let _ = std::fs::remove_dir_all(d.path());
            }
        }
    }
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns");
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let name = l.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("fxha") else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

/// One request's outcome.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    vip: &'static str,
    source: u8,
    /// (application server, balancer) when it succeeded.
    served: Option<(String, String)>,
}

/// Steady traffic from the client: one request every 10 ms, each from the
/// next sticky client, to the VIPs in turn.
struct Traffic {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    started: Instant,
}

impl Traffic {
    fn start(lab: &Lab, vips: &[&'static str]) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let ns = lab.ns("cl");
        let vips = vips.to_vec();
        let thread = {
            let (stop, samples) = (stop.clone(), samples.clone());
            std::thread::spawn(move || {
                enter(&ns);
                let mut i = 0usize;
                // Bounded: no scenario runs a minute.
                let deadline = Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let tick = Instant::now();
                    let source = CLIENTS[i % CLIENTS.len()];
                    let vip = vips[(i / CLIENTS.len()) % vips.len()];
                    let at = started.elapsed();
                    let served = one_request(source, vip);
                    samples.lock().expect("samples").push(Sample {
                        at,
                        vip,
                        source,
                        served,
                    });
                    i += 1;
                    std::thread::sleep(Duration::from_millis(10).saturating_sub(tick.elapsed()));
                }
            })
        };
        Traffic {
            stop,
            samples,
            thread: Some(thread),
            started,
        }
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits (10 s at most) until `n` requests in a row succeeded.
    fn wait_healthy(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let s = self.samples.lock().expect("samples");
                if s.len() >= n && s[s.len() - n..].iter().all(|x| x.served.is_some()) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "traffic never became healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("traffic thread");
        }
        let s = self.samples.lock().expect("samples");
        s.clone()
    }
}

/// A GET from 198.51.100.SOURCE to VIP:80: (server, balancer) on a 200.
/// The application server names itself and the balancer's address; the
/// balancer's own header must agree.
fn one_request(source: u8, vip: &str) -> Option<(String, String)> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    let from = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, source), 0));
    s.bind(&from.into()).ok()?;
    let to: SocketAddr = format!("{vip}:80").parse().ok()?;
    s.connect_timeout(&to.into(), Duration::from_millis(300))
        .ok()?;
    let mut c: std::net::TcpStream = s.into();
    c.set_read_timeout(Some(Duration::from_millis(800))).ok()?;
    c.write_all(b"GET / HTTP/1.1\r\nHost: www\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut buf = Vec::new();
    c.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    if !text.starts_with("HTTP/1.1 200") {
        return None;
    }
    let header = text.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("x-served-by: ")
            .map(str::to_string)
    })?;
    let body = text.split("\r\n\r\n").nth(1)?.to_string();
    let (server, peer) = body.split_once(' ')?;
    let lb = match peer {
        "198.51.100.11" => "lb1",
        "198.51.100.12" => "lb2",
        other => other,
    };
    assert_eq!(
        lb, header,
        "the balancer's header and the server's view differ"
    );
    Some((server.to_string(), lb.to_string()))
}

/// What a scenario measured.
#[derive(Debug)]
struct Report {
    name: String,
    sent: usize,
    failed: usize,
    /// The longest time between a failed request and the next success.
    worst_window: Duration,
    /// Balancers that served before and after the event.
    before: Vec<String>,
    after: Vec<String>,
    /// Sticky clients that changed server across the event.
    moved: Vec<u8>,
}

impl Report {
    fn of(name: &str, samples: &[Sample], event: Duration, vip: &str) -> Report {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.vip == vip).collect();
        let failed = mine.iter().filter(|s| s.served.is_none()).count();
        let mut worst = Duration::ZERO;
        let mut first_fail: Option<Duration> = None;
        for s in &mine {
            match (&s.served, first_fail) {
                (None, None) => first_fail = Some(s.at),
                (Some(_), Some(f)) => {
                    worst = worst.max(s.at - f);
                    first_fail = None;
                }
                _ => {}
            }
        }
        if let (Some(f), Some(last)) = (first_fail, mine.last()) {
            // Never recovered: the window runs to the end.
            worst = worst.max(last.at - f + Duration::from_secs(1));
        }
        let lbs = |before: bool| -> Vec<String> {
            let mut v: Vec<String> = mine
                .iter()
                .filter(|s| (s.at < event) == before)
                .filter_map(|s| s.served.as_ref().map(|x| x.1.clone()))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let server_of = |src: u8, before: bool| -> Vec<String> {
            let mut v: Vec<String> = mine
                .iter()
                .filter(|s| s.source == src && (s.at < event) == before)
                .filter_map(|s| s.served.as_ref().map(|x| x.0.clone()))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let moved = CLIENTS
            .into_iter()
            .filter(|&c| {
                let (b, a) = (server_of(c, true), server_of(c, false));
                b.len() != 1 || a.len() != 1 || b != a
            })
            .collect();
        Report {
            name: name.to_string(),
            sent: mine.len(),
            failed,
            worst_window: worst,
            before: lbs(true),
            after: lbs(false),
            moved,
        }
    }

    fn print(&self) {
        println!(
            "HA REPORT | {} | sent {} | failed {} | longest failure window {} ms | served by {:?} before, {:?} after | sticky clients moved: {}",
            self.name,
            self.sent,
            self.failed,
            self.worst_window.as_millis(),
            self.before,
            self.after,
            if self.moved.is_empty() { "none".to_string() } else { format!("{:?}", self.moved) }
        );
    }
}

/// Traffic for `before`, the event, traffic until `vip` is on `to` alone
/// and a few seconds more; the report.
fn scenario(
    lab: &mut Lab,
    name: &str,
    vips: &[&'static str],
    event: impl FnOnce(&mut Lab),
    vip: &'static str,
    to: &str,
    settle: Duration,
) -> (Report, Vec<Sample>, Duration) {
    let traffic = Traffic::start(lab, vips);
    traffic.wait_healthy(30);
    std::thread::sleep(Duration::from_millis(500));
    // Both nodes know every client's server before anything breaks.
    lab.wait_pins("lb1");
    lab.wait_pins("lb2");
    let at = traffic.now();
    event(lab);
    lab.wait_vip(vip, to, settle);
    traffic.wait_healthy(30);
    std::thread::sleep(Duration::from_secs(1));
    let samples = traffic.finish();
    let r = Report::of(name, &samples, at, vip);
    r.print();
    (r, samples, at)
}

fn assert_failover(r: &Report, bound: Duration, from: &str, to: &str, lab: &Lab) {
    assert!(
        r.worst_window < bound,
        "{}: failures lasted {} ms (bound {} ms)\n{}",
        r.name,
        r.worst_window.as_millis(),
        bound.as_millis(),
        lab.logs()
    );
    assert_eq!(r.before, [from], "{}: before", r.name);
    assert!(
        r.after.contains(&to.to_string()),
        "{}: after {:?}",
        r.name,
        r.after
    );
    assert!(
        r.moved.is_empty(),
        "{}: sticky clients moved: {:?}",
        r.name,
        r.moved
    );
}

const ONE_S: Duration = Duration::from_secs(1);

#[test]
fn killing_the_masters_fulcrum_moves_the_vip() {
    let _one = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !lab_possible() {
        return;
    }
    let mut lab = Lab::up("kf", Mode::Standby, false);
    let (r, _, _) = scenario(
        &mut lab,
        "kill fulcrum on the master",
        &[VIP],
        |l| l.kill_fulcrum("lb1"),
        VIP,
        "lb2",
        Duration::from_secs(5),
    );
    assert_failover(&r, ONE_S, "lb1", "lb2", &lab);
    assert_eq!(r.after, ["lb2"]);
}

#[test]
fn stopping_the_masters_keepalived_moves_the_vip() {
    let _one = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !lab_possible() {
        return;
    }
    let mut lab = Lab::up("sk", Mode::Standby, false);
    let (r, _, _) = scenario(
        &mut lab,
        "stop keepalived on the master",
        &[VIP],
        |l| l.stop_keepalived("lb1"),
        VIP,
        "lb2",
        Duration::from_secs(5),
    );
    assert_failover(&r, ONE_S, "lb1", "lb2", &lab);
}

#[test]
fn a_dead_link_moves_the_vip_within_five_seconds() {
    let _one = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !lab_possible() {
        return;
    }
    let mut lab = Lab::up("ld", Mode::Standby, false);
    let (r, _, _) = scenario(
        &mut lab,
        "link of the master down",
        &[VIP],
        |l| l.link("lb1", false),
        VIP,
        "lb2",
        Duration::from_secs(10),
    );
    assert_failover(&r, Duration::from_secs(5), "lb1", "lb2", &lab);
}

#[test]
fn the_master_comes_back_with_and_without_preemption() {
    let _one = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !lab_possible() {
        return;
    }
    for nopreempt in [false, true] {
        let mut lab = Lab::up(
            if nopreempt { "np" } else { "pr" },
            Mode::Standby,
            nopreempt,
        );
        lab.stop_keepalived("lb1");
        lab.wait_vip(VIP, "lb2", Duration::from_secs(5));
        let (name, to) = if nopreempt {
            ("master back, nopreempt", "lb2")
        } else {
            ("master back, preempt", "lb1")
        };
        let (r, samples, _) = scenario(
            &mut lab,
            name,
            &[VIP],
            |l| {
                l.start_keepalived("lb1", Mode::Standby, nopreempt);
                if nopreempt {
                    // Time for lb1 to win the election, were it allowed to.
                    std::thread::sleep(Duration::from_secs(5));
                }
            },
            VIP,
            to,
            Duration::from_secs(10),
        );
        if nopreempt {
            assert_eq!(lab.holders(VIP), ["lb2"], "nopreempt: the VIP moved back");
            assert_eq!(r.failed, 0, "{name}: requests failed");
        } else {
            assert!(
                r.worst_window < ONE_S,
                "{name}: {} ms\n{}",
                r.worst_window.as_millis(),
                lab.logs()
            );
            assert!(samples
                .iter()
                .rev()
                .take(20)
                .all(|s| s.served.as_ref().is_some_and(|x| x.1 == "lb1")));
        }
        assert!(
            r.moved.is_empty(),
            "{name}: sticky clients moved: {:?}",
            r.moved
        );
    }
}

#[test]
fn twenty_reloads_on_the_master_under_load_fail_nothing() {
    let _one = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !lab_possible() {
        return;
    }
    let mut lab = Lab::up("rl", Mode::Standby, false);
    let cfg = lab.localize(&conf("fulcrum.cfg"), "lb1");
    let (r, _, _) = scenario(
        &mut lab,
        "20 reloads of the master",
        &[VIP],
        |l| {
            for i in 0..20 {
                // Alternate a real change (a weight) with none.
                let c = if i % 2 == 0 {
                    cfg.replace("check inter 1s\n", "check inter 1s weight 2\n")
                } else {
                    cfg.clone()
                };
                assert!(l.fulcrum("lb1").reload(&c), "reload {i} refused");
                std::thread::sleep(Duration::from_millis(100));
            }
        },
        VIP,
        "lb1",
        Duration::from_secs(5),
    );
    assert_eq!(r.failed, 0, "requests failed during the reloads");
    assert_eq!(
        (r.before.as_slice(), r.after.as_slice()),
        (&["lb1".to_string()][..], &["lb1".to_string()][..])
    );
    assert!(r.moved.is_empty());
}

#[test]
fn active_active_each_node_backs_the_other_up() {
    let _one = LAB.lock().unwrap_or_else(|p| p.into_inner());
    if !lab_possible() {
        return;
    }
    let mut lab = Lab::up("aa", Mode::ActiveActive, false);
    let (r, samples, at) = scenario(
        &mut lab,
        "active/active, kill fulcrum on lb1",
        &[VIP, VIP2],
        |l| l.kill_fulcrum("lb1"),
        VIP,
        "lb2",
        Duration::from_secs(5),
    );
    assert_failover(&r, ONE_S, "lb1", "lb2", &lab);
    let other = Report::of("active/active, the other VIP", &samples, at, VIP2);
    other.print();
    assert_eq!(other.failed, 0, "the other VIP lost requests");
    assert_eq!(
        (other.before.as_slice(), other.after.as_slice()),
        (&["lb2".to_string()][..], &["lb2".to_string()][..])
    );
    assert!(other.moved.is_empty(), "{:?}", other.moved);
    assert_eq!(lab.holders(VIP2), ["lb2"]);
}
