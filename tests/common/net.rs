//! Fixtures for end-to-end proxy tests: the built binary as a child process
//! on ports from bind(:0), and small backends written here that record what
//! they receive. Every wait is bounded and waits on readiness, not sleeps.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::TempPath;

/// A port that was free a moment ago, for a listener the test starts.
///
/// Taken from 20000-31999, below the kernel's ephemeral range (32768 and
/// up on Linux by default), so that the outgoing connections of tests
/// running meanwhile cannot be holding it; and never handed out twice in
/// one test binary. The starting point moves with the process id, so that
/// consecutive runs do not meet each other's TIME_WAIT sockets.
pub fn free_port() -> u16 {
    const FIRST: usize = 20_000;
    const COUNT: usize = 12_000;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let start = std::process::id() as usize * 7_919 % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + n) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind :0")
}

/// A running fulcrum, killed when dropped.
pub struct Fulcrum {
    child: Child,
    _cfg: TempPath,
    /// Lines fulcrum wrote on stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Fulcrum {
    /// Starts `fulcrum -f CFG` and waits (up to 20 s) until it says it started.
    pub fn start(cfg: &str) -> Fulcrum {
        Self::try_start(cfg).unwrap_or_else(|log| panic!("fulcrum did not start:\n{log}"))
    }

    /// Like `start`, but returns the log when fulcrum exits or does not start.
    pub fn try_start(cfg: &str) -> Result<Fulcrum, String> {
        Self::try_start_with(cfg, &[])
    }

    /// `start` with more command-line arguments after `-f CFG`.
    pub fn start_with(cfg: &str, args: &[&str]) -> Fulcrum {
        Self::try_start_with(cfg, args)
            .unwrap_or_else(|log| panic!("fulcrum did not start:\n{log}"))
    }

    /// `try_start` with more command-line arguments after `-f CFG`.
    pub fn try_start_with(cfg: &str, args: &[&str]) -> Result<Fulcrum, String> {
        let file = TempPath::file("proxy", cfg);
        let mut child = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
            .arg("-f")
            .arg(file.path())
            .args(args)
            .env("FULCRUM_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fulcrum");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("fulcrum started") {
                    let _ = tx.send(());
                }
                sink.lock().expect("log lock").push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if rx.recv_timeout(Duration::from_millis(50)).is_ok() {
                return Ok(Fulcrum {
                    child,
                    _cfg: file,
                    log,
                });
            }
            if let Ok(Some(_)) = child.try_wait() {
                thread::sleep(Duration::from_millis(50));
                return Err(log.lock().expect("log").join("\n"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!("timeout\n{}", log.lock().expect("log").join("\n")));
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The configuration file it was started with (rewrite it, then `reload`).
    pub fn config_path(&self) -> &std::path::Path {
        self._cfg.path()
    }

    /// Sends a signal by name ("HUP", "USR1", ...).
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Waits (`limit` at most) until `needle` was logged `n` times; panics
    /// with the log otherwise.
    pub fn wait_count(&self, needle: &str, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.count(needle) < n {
            assert!(
                Instant::now() < deadline,
                "no '{needle}' in:\n{}",
                self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything logged so far, for failure messages.
    #[allow(dead_code)]
    pub fn log_text(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Number of log lines containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Writes `cfg`, sends SIGHUP, and waits (10 s at most) until the reload
    /// is reported done or refused. Returns true when it was applied.
    pub fn reload(&self, cfg: &str) -> bool {
        std::fs::write(self.config_path(), cfg).expect("rewrite config");
        let (ok, refused) = (self.count("reloaded:"), self.count("reload refused"));
        self.signal("HUP");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.count("reloaded:") > ok {
                return true;
            }
            if self.count("reload refused") > refused {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "reload never finished:\n{}",
                self.log.lock().expect("log").join("\n")
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (10 s at most) for the process to exit; returns its status.
    pub fn wait_exit(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Fulcrum {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a backend answers.
#[derive(Clone)]
pub enum Answer {
    /// 200 with this body.
    Text(String),
    /// 200 with this name, a space, and the address the request came
    /// from (which balancer sent it).
    NameAndPeer(String),
    /// This status and body.
    Status(u16, String),
    /// Read the request, then never answer.
    Never,
    /// These bytes as they are, then close.
    Raw(&'static [u8]),
    /// These bytes as they are, then hold the connection open (a server
    /// that says keep-alive and means it).
    RawThenHold(&'static [u8]),
}

/// One request as a backend received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The head, as received.
    pub head: String,
    /// The body, as received (de-chunked framing kept raw).
    pub body: Vec<u8>,
    /// The connection's index on this backend.
    pub conn: usize,
}

/// One step of a chunked body: a whole chunk (size line, data, CRLF), or
/// the last chunk with its trailers and the blank line; the bytes taken.
enum Chunk {
    Data(usize),
    Last(usize),
}

/// The next whole chunk at the start of `b`; None: more bytes are needed
/// (or the framing is broken, and the request is never recorded).
fn next_chunk(b: &[u8]) -> Option<Chunk> {
    let eol = find(b, b"\r\n")?;
    // The size's hex digits; whatever follows (extensions) is not read.
    let digits = b[..eol]
        .iter()
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    let size = usize::from_str_radix(std::str::from_utf8(&b[..digits]).ok()?, 16).ok()?;
    let after = eol + 2;
    if size > 0 {
        let end = after + size + 2;
        return (b.len() >= end).then_some(Chunk::Data(end));
    }
    let trailers = &b[after..];
    if trailers.starts_with(b"\r\n") {
        return Some(Chunk::Last(after + 2));
    }
    find(trailers, b"\r\n\r\n").map(|k| Chunk::Last(after + k + 4))
}

/// A small HTTP/1.1 backend that records what it receives. Requests for a
/// health URL (a path containing "health" or "get_local_host") get the
/// status in `health` (200 unless changed).
pub struct HttpBackend {
    /// Its address.
    pub addr: SocketAddr,
    /// Requests received.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Connections accepted.
    pub conns: Arc<AtomicUsize>,
    /// Connections open now (their socket not yet closed).
    pub open: Arc<AtomicUsize>,
    /// Status answered to health checks.
    pub health: Arc<std::sync::atomic::AtomicU16>,
    answer: Answer,
    stop: Arc<AtomicBool>,
    accept_thread: Option<thread::JoinHandle<()>>,
}

impl HttpBackend {
    /// Answers every request with 200 and `name` as the body.
    pub fn start(name: &str) -> HttpBackend {
        Self::with(Answer::Text(name.to_string()))
    }

    /// Answers every request with 200 and `name` as the body, on `addr`
    /// (another loopback address such as 127.0.0.2, for DNS tests).
    pub fn start_at(addr: SocketAddr, name: &str) -> HttpBackend {
        Self::listen_on(addr, Answer::Text(name.to_string()))
    }

    /// Answers every request on `addr` with `answer`.
    #[allow(dead_code)]
    pub fn with_at(addr: SocketAddr, answer: Answer) -> HttpBackend {
        Self::listen_on(addr, answer)
    }

    /// Answers every request with `answer`.
    pub fn with(answer: Answer) -> HttpBackend {
        Self::listen_on("127.0.0.1:0".parse().expect("addr"), answer)
    }

    fn listen_on(addr: SocketAddr, answer: Answer) -> HttpBackend {
        let l = TcpListener::bind(addr).expect("bind backend");
        let addr = l.local_addr().expect("addr");
        let mut b = HttpBackend {
            addr,
            seen: Arc::new(Mutex::new(Vec::new())),
            conns: Arc::new(AtomicUsize::new(0)),
            open: Arc::new(AtomicUsize::new(0)),
            health: Arc::new(std::sync::atomic::AtomicU16::new(200)),
            answer,
            stop: Arc::new(AtomicBool::new(false)),
            accept_thread: None,
        };
        b.spawn(l);
        b
    }

    fn spawn(&mut self, l: TcpListener) {
        l.set_nonblocking(true).expect("nonblocking");
        let open = self.open.clone();
        let (s, c, st, h, a) = (
            self.seen.clone(),
            self.conns.clone(),
            self.stop.clone(),
            self.health.clone(),
            self.answer.clone(),
        );
        self.accept_thread = Some(thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let n = c.fetch_add(1, Ordering::Relaxed);
                        let (s, a, h, st) = (s.clone(), a.clone(), h.clone(), st.clone());
                        let open = open.clone();
                        open.fetch_add(1, Ordering::Relaxed);
                        thread::spawn(move || {
                            serve_http(stream, n, &s, &a, &h, &st);
                            // serve_http owned the socket: it is closed now.
                            open.fetch_sub(1, Ordering::Relaxed);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }

    /// Stops listening and drops every open connection (a killed server).
    pub fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }

    /// Listens again on the same address after `kill`.
    pub fn revive(&mut self) {
        self.stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(10);
        let l = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) if Instant::now() > deadline => panic!("rebind {}: {e}", self.addr),
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        };
        self.spawn(l);
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        self.kill();
    }
}

fn find(h: &[u8], pat: &[u8]) -> Option<usize> {
    h.windows(pat.len()).position(|w| w == pat)
}

fn serve_http(
    mut s: TcpStream,
    conn: usize,
    seen: &Mutex<Vec<Seen>>,
    answer: &Answer,
    health: &std::sync::atomic::AtomicU16,
    stop: &AtomicBool,
) {
    // Short read timeouts so that a killed backend drops its connections.
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = Vec::new();
    let mut tmp = [0u8; 65536];
    let mut read_more = |s: &mut TcpStream, buf: &mut Vec<u8>| -> bool {
        loop {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            match s.read(&mut tmp) {
                Ok(0) => return false,
                Ok(n) => {
                    buf.extend_from_slice(&tmp[..n]);
                    return true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(_) => return false,
            }
        }
    };
    loop {
        let end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !read_more(&mut s, &mut buf) {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let lower = head.to_ascii_lowercase();
        let mut body = Vec::new();
        if let Some(cl) = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            while buf.len() < cl {
                if !read_more(&mut s, &mut buf) {
                    return;
                }
            }
            body = buf.drain(..cl).collect();
        } else if lower.contains("transfer-encoding: chunked") {
            // Walk the chunks up to the last one and its trailers; past
            // 1 MiB, drop what was walked (huge uploads: only the tail
            // matters, and "..." marks the cut).
            let mut walked = 0;
            loop {
                match next_chunk(&buf[walked..]) {
                    Some(Chunk::Data(n)) => walked += n,
                    Some(Chunk::Last(n)) => {
                        body.extend(buf.drain(..walked + n));
                        break;
                    }
                    None => {
                        if !read_more(&mut s, &mut buf) {
                            return;
                        }
                    }
                }
                if walked > 1 << 20 {
                    body.extend_from_slice(b"...");
                    buf.drain(..walked);
                    walked = 0;
                }
            }
        }
        let body_len = body.len();
        seen.lock().expect("seen").push(Seen {
            head: head.clone(),
            body,
            conn,
        });
        let _ = body_len;
        let path = head.split(' ').nth(1).unwrap_or("");
        let is_health = path.contains("health") || path.contains("get_local_host");
        let (status, text) = match answer {
            _ if is_health => (health.load(Ordering::Relaxed), "health\n".to_string()),
            Answer::Text(t) => (200, t.clone()),
            Answer::NameAndPeer(t) => (
                200,
                format!(
                    "{t} {}",
                    s.peer_addr()
                        .map(|a| a.ip().to_string())
                        .unwrap_or_default()
                ),
            ),
            Answer::Status(c, t) => (*c, t.clone()),
            Answer::Raw(bytes) => {
                let _ = s.write_all(bytes);
                let _ = s.shutdown(Shutdown::Both);
                return;
            }
            Answer::RawThenHold(bytes) => {
                let _ = s.write_all(bytes);
                continue;
            }
            Answer::Never => {
                // Hold the connection until killed or 60 s pass.
                let until = Instant::now() + Duration::from_secs(60);
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
        };
        let close = lower.contains("connection: close")
            || head.starts_with("GET / HTTP/1.0") && !lower.contains("keep-alive");
        let resp = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{}\r\n{text}",
            text.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        if s.write_all(resp.as_bytes()).is_err() || close {
            let _ = s.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// A TCP echo server (half-close aware: it shuts its write side after EOF).
pub fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind echo");
    let addr = l.local_addr().expect("addr");
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = s.shutdown(Shutdown::Write);
                            return;
                        }
                        Ok(n) => {
                            if s.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Connects to 127.0.0.1:port, retrying briefly while the listener comes up.
pub fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                return s;
            }
            Err(e) if Instant::now() > deadline => panic!("connect {port}: {e}"),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Head, as received.
    pub head: String,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response (Content-Length bodies, or until close) from `s`.
pub fn read_response(s: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Response> {
    let mut tmp = [0u8; 65536];
    let end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&tmp[..n]),
        }
    };
    let head = String::from_utf8_lossy(&pending[..end]).into_owned();
    pending.drain(..end);
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let cl = head
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse::<usize>().ok());
    let no_body = (100..200).contains(&status) || status == 204 || status == 304;
    let body = match cl {
        _ if no_body => Vec::new(),
        Some(n) => {
            while pending.len() < n {
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return None,
                    Ok(k) => pending.extend_from_slice(&tmp[..k]),
                }
            }
            pending.drain(..n).collect()
        }
        None => {
            loop {
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => pending.extend_from_slice(&tmp[..k]),
                }
            }
            std::mem::take(pending)
        }
    };
    Some(Response { status, head, body })
}

/// Sends raw `bytes` on a new connection: the status of the one answer
/// read within 5 s (0: none).
pub fn status_of(port: u16, bytes: &[u8]) -> u16 {
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = c.write_all(bytes);
    read_response(&mut c, &mut Vec::new()).map_or(0, |r| r.status)
}

/// Sends `req` on a new connection and reads one response.
pub fn request(port: u16, req: &str) -> Option<Response> {
    let mut s = connect(port);
    s.write_all(req.as_bytes()).ok()?;
    read_response(&mut s, &mut Vec::new())
}

/// GET `path` with Connection: close.
pub fn get(port: u16, path: &str) -> Response {
    request(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    )
    .expect("a response")
}

/// The seed 003 HTTP listen with its stats page (admin:s3cret, ops:other)
/// and two checked servers, the second a backup.
pub fn stats_pair_config(port: u16, a: &HttpBackend, b: &HttpBackend) -> String {
    format!(
        "defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen gvg-as
    bind 127.0.0.1:{port}
    option httpchk GET /health HTTP/1.0
    stats enable
    stats uri /pstats
    stats realm Haproxy\\ Statistics
    stats auth admin:s3cret
    stats auth ops:other
    server gvg-as1 {} check inter 200ms
    server gvg-as2 {} check inter 200ms backup
",
        a.addr, b.addr
    )
}
