//! `loadgen`: the helper program of the end-to-end benchmark harness
//! (`benches/compare.sh`). The standard library, and rustls (the ring
//! provider, a dependency of fulcrum) for the TLS client; every address it
//! is given is expected to be on the loopback interface.
//!
//! ```text
//! loadgen source  --listen ADDR                 TCP server: streams the test pattern to every client
//! loadgen sink    --listen ADDR                 TCP server: reads and discards
//! loadgen bulk    --connect ADDR [--secs S] [--conns N] [--upload] [--verify]
//!                                               TCP client: download from a source (or upload to a
//!                                               sink) for S seconds on N connections; prints
//!                                               `RESULT bytes=.. duration_us=.. conns=..`
//! loadgen idle    --connect ADDR --conns N [--hold S] [--release FILE]
//!                                               opens N HTTP/1.1 keep-alive connections, sends
//!                                               `GET /` on each and reads the answer, prints
//!                                               `READY conns=N ok=N failed=N`, then holds them
//!                                               open until FILE exists or S seconds pass, and
//!                                               prints `HELD closed_by_peer=N`
//! loadgen check   --connect ADDR [--big-path /1m --big-size BYTES]
//!                                               HTTP correctness checks through a proxy
//! loadgen check-tcp --connect ADDR              reads 8 MiB from a source through a proxy, checks the pattern
//! loadgen get     --connect ADDR --path P       one GET; prints the body
//! loadgen genfile --path FILE --size BYTES      writes the test pattern to FILE
//! loadgen tls-hs  --connect ADDR [--secs S] [--conns N] [--resume] [--tls12] [--path P] [--sni NAME]
//!                                               TLS handshakes per second: N threads (default 16)
//!                                               each connect, handshake, send `GET P` (default /)
//!                                               with `Connection: close`, read the answer and wait
//!                                               for the peer to close, again and again for S
//!                                               seconds. TLS 1.3 only (--tls12: TLS 1.2 only); full
//!                                               handshakes, or with --resume one session cache per
//!                                               thread (TLS 1.3 tickets). Any certificate is
//!                                               accepted, no signature is checked. Prints `RESULT
//!                                               requests=.. bytes=.. duration_us=.. p50_us=..
//!                                               p99_us=.. errors=.. resumed=..` (latency: connect
//!                                               to close; resumed: handshakes that were)
//! loadgen tls-check --connect ADDR [--big-path /1m --big-size BYTES] [--sni NAME]
//!                                               HTTPS checks through a proxy: keep-alive GETs and
//!                                               the big body over TLS 1.3 (prints what was
//!                                               negotiated), resumption over 3 connections, TLS 1.2
//! loadgen report  --csv FILE [--out FILE] [--header FILE]
//!                                               turns the harness's raw CSV into the markdown table
//! ```
//!
//! The test pattern: byte `i` of a stream (or file) is `i % 251`.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const PATTERN_MOD: usize = 251;
const CHUNK: usize = 256 * 1024;

fn pattern_at(offset: u64, out: &mut [u8]) {
    let mut v = (offset % PATTERN_MOD as u64) as usize;
    for b in out.iter_mut() {
        *b = v as u8;
        v += 1;
        if v == PATTERN_MOD {
            v = 0;
        }
    }
}

fn check_pattern(offset: u64, data: &[u8]) -> Option<usize> {
    let mut v = (offset % PATTERN_MOD as u64) as usize;
    for (i, &b) in data.iter().enumerate() {
        if b != v as u8 {
            return Some(i);
        }
        v += 1;
        if v == PATTERN_MOD {
            v = 0;
        }
    }
    None
}

/// `--name value` options, and `--flag` switches.
struct Args {
    opts: BTreeMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    fn parse(v: &[String]) -> Result<Args, String> {
        let mut opts = BTreeMap::new();
        let mut flags = Vec::new();
        let mut i = 0;
        while i < v.len() {
            let a = &v[i];
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument '{a}'"));
            };
            match v.get(i + 1) {
                Some(val) if !val.starts_with("--") => {
                    opts.insert(name.to_string(), val.clone());
                    i += 2;
                }
                _ => {
                    flags.push(name.to_string());
                    i += 1;
                }
            }
        }
        Ok(Args { opts, flags })
    }
    fn get(&self, name: &str) -> Result<&str, String> {
        self.opts
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required"))
    }
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.opts.get(name) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| format!("--{name}: bad number '{s}'")),
        }
    }
    fn addr(&self, name: &str) -> Result<SocketAddr, String> {
        let s = self.get(name)?;
        let a: SocketAddr = s
            .parse()
            .map_err(|_| format!("--{name}: bad address '{s}'"))?;
        if !a.ip().is_loopback() {
            return Err(format!("--{name}: {a} is not a loopback address"));
        }
        Ok(a)
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprintln!(
            "usage: loadgen source|sink|bulk|idle|paced|check|check-tcp|get|genfile|tls-hs|tls-check|report [OPTIONS]"
        );
        return ExitCode::from(2);
    };
    let args = match Args::parse(&argv[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen {cmd}: {e}");
            return ExitCode::from(2);
        }
    };
    let r = match cmd.as_str() {
        "source" => serve(&args, true),
        "sink" => serve(&args, false),
        "bulk" => bulk(&args),
        "idle" => idle(&args),
        "paced" => paced(&args),
        "check" => check(&args),
        "check-tcp" => check_tcp(&args),
        "get" => get(&args),
        "genfile" => genfile(&args),
        "tls-hs" => tls::handshakes(&args),
        "tls-check" => tls::check(&args),
        "report" => report::run(&args),
        _ => Err(format!("unknown command '{cmd}'")),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen {cmd}: {e}");
            ExitCode::from(1)
        }
    }
}

// ---------------------------------------------------------------- TCP bulk

fn serve(args: &Args, source: bool) -> Result<(), String> {
    let addr = args.addr("listen")?;
    let l = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    for s in l.incoming() {
        let Ok(mut s) = s else { continue };
        thread::spawn(move || {
            let _ = s.set_nodelay(true);
            let mut buf = vec![0u8; CHUNK + PATTERN_MOD];
            if source {
                // Write from a buffer that starts at pattern offset 0 and
                // holds a whole number of periods past CHUNK, so each write
                // continues the pattern.
                pattern_at(0, &mut buf);
                let mut off = 0usize;
                loop {
                    let start = off % PATTERN_MOD;
                    match s.write(&buf[start..start + CHUNK]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => off += n,
                    }
                }
            } else {
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
            }
        });
    }
    Ok(())
}

fn bulk(args: &Args) -> Result<(), String> {
    let addr = args.addr("connect")?;
    let secs: f64 = args.num("secs", 5.0)?;
    let conns: usize = args.num("conns", 1)?;
    let upload = args.flag("upload");
    let verify = args.flag("verify");
    let total = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicBool::new(false));
    let mut streams = Vec::new();
    for _ in 0..conns {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        s.set_write_timeout(Some(Duration::from_secs(5))).ok();
        streams.push(s);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut handles = Vec::new();
    for mut s in streams {
        let total = total.clone();
        let bad = bad.clone();
        handles.push(thread::spawn(move || {
            let mut buf = vec![0u8; CHUNK + PATTERN_MOD];
            let mut off = 0u64;
            if upload {
                pattern_at(0, &mut buf);
            }
            while Instant::now() < deadline {
                let r = if upload {
                    let start = (off % PATTERN_MOD as u64) as usize;
                    s.write(&buf[start..start + CHUNK])
                } else {
                    s.read(&mut buf[..CHUNK])
                };
                match r {
                    Ok(0) => {
                        bad.store(true, Ordering::Relaxed);
                        break;
                    }
                    Ok(n) => {
                        if verify && !upload && check_pattern(off, &buf[..n]).is_some() {
                            bad.store(true, Ordering::Relaxed);
                            break;
                        }
                        off += n as u64;
                        total.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(_) => {
                        bad.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
            let _ = s.shutdown(Shutdown::Both);
        }));
    }
    for h in handles {
        let _ = h.join();
    }
    let dur = start.elapsed();
    println!(
        "RESULT bytes={} duration_us={} conns={} errors={}",
        total.load(Ordering::Relaxed),
        dur.as_micros(),
        conns,
        u8::from(bad.load(Ordering::Relaxed))
    );
    Ok(())
}

fn check_tcp(args: &Args) -> Result<(), String> {
    let addr = args.addr("connect")?;
    let want: u64 = args.num("bytes", 8 << 20)?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    while off < want {
        let n = s
            .read(&mut buf)
            .map_err(|e| format!("read at {off}: {e}"))?;
        if n == 0 {
            return Err(format!("closed after {off} bytes"));
        }
        if let Some(i) = check_pattern(off, &buf[..n]) {
            return Err(format!("wrong byte at offset {}", off + i as u64));
        }
        off += n as u64;
    }
    println!("CHECK tcp-pattern-{want}-bytes: ok");
    Ok(())
}

// ---------------------------------------------------------------- HTTP client

/// A response as read off the wire.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn says_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// A connection with a read buffer, so that pipelined answers can be split:
/// plain TCP, or TLS over TCP (`tls` below).
struct Conn<S = TcpStream> {
    s: S,
    buf: Vec<u8>,
}

/// A TCP connection to `addr` with 5 s timeouts and no Nagle delay.
fn tcp_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.set_nodelay(true)?;
    Ok(s)
}

impl Conn {
    fn open(addr: SocketAddr) -> io::Result<Conn> {
        Ok(Conn {
            s: tcp_connect(addr)?,
            buf: Vec::new(),
        })
    }

    /// True when the peer closes within `wait` (no byte comes first).
    fn closes_within(&mut self, wait: Duration) -> bool {
        let _ = self.s.set_read_timeout(Some(wait));
        matches!(self.fill(), Ok(0))
    }
}

impl<S: Read + Write> Conn<S> {
    fn fill(&mut self) -> io::Result<usize> {
        let mut tmp = [0u8; 65536];
        let n = self.s.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    fn take_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                self.buf.drain(..p + 2);
                return Ok(line);
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in head"));
            }
        }
    }

    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one response; `head` says it answers a HEAD request.
    fn response(&mut self, head: bool) -> io::Result<Response> {
        let status_line = self.take_line()?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad status line '{status_line}'"),
            )
        })?;
        if !version.starts_with("HTTP/1.") {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not HTTP/1.x"));
        }
        let mut headers = Vec::new();
        loop {
            let l = self.take_line()?;
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap_or((&l, ""));
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let mut r = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if head || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(r);
        }
        let chunked = r
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            loop {
                let size_line = self.take_line()?;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                    .map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad chunk size")
                })?;
                if size == 0 {
                    while !self.take_line()?.is_empty() {}
                    break;
                }
                let mut c = self.take(size)?;
                r.body.append(&mut c);
                self.take_line()?;
            }
        } else if let Some(cl) = r.header("content-length") {
            let n: usize = cl
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
            r.body = self.take(n)?;
        } else {
            while self.fill()? > 0 {}
            r.body = std::mem::take(&mut self.buf);
        }
        Ok(r)
    }

    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.s.write_all(data)
    }
}

fn request(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench.local\r\n{extra}\r\n").into_bytes()
}

fn get(args: &Args) -> Result<(), String> {
    let addr = args.addr("connect")?;
    let path = args.get("path")?;
    let mut c = Conn::open(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    c.send(&request(path, "Connection: close\r\n"))
        .map_err(|e| e.to_string())?;
    let r = c.response(false).map_err(|e| e.to_string())?;
    io::stdout().write_all(&r.body).map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("status {}", r.status));
    }
    Ok(())
}

fn idle(args: &Args) -> Result<(), String> {
    let addr = args.addr("connect")?;
    let n: usize = args.num("conns", 1000)?;
    let hold: f64 = args.num("hold", 60.0)?;
    let req = request("/", "");
    let mut conns = Vec::with_capacity(n);
    let (mut ok, mut failed) = (0usize, 0usize);
    let mut first_error = None;
    for _ in 0..n {
        let r = Conn::open(addr).and_then(|mut c| {
            c.send(&req)?;
            let r = c.response(false)?;
            Ok((c, r))
        });
        match r {
            Ok((c, r)) if r.status == 200 => {
                ok += 1;
                conns.push(c);
            }
            Ok((c, r)) => {
                failed += 1;
                first_error.get_or_insert(format!("status {}", r.status));
                conns.push(c);
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    println!("READY conns={} ok={ok} failed={failed}", conns.len());
    if let Some(e) = first_error {
        eprintln!("loadgen idle: first error: {e}");
    }
    io::stdout().flush().ok();
    // Hold until the file named by --release exists, or `hold` seconds pass.
    let release = args.opts.get("release").map(std::path::PathBuf::from);
    let end = Instant::now() + Duration::from_secs_f64(hold);
    while Instant::now() < end && !release.as_ref().is_some_and(|p| p.exists()) {
        thread::sleep(Duration::from_millis(20));
    }
    // Count the connections the proxy closed while they were held.
    let mut closed = 0;
    for c in conns.iter_mut() {
        let _ = c.s.set_nonblocking(true);
        let mut b = [0u8; 1];
        if let Ok(0) = c.s.read(&mut b) {
            closed += 1;
        }
    }
    println!("HELD closed_by_peer={closed}");
    Ok(())
}

/// `paced`: keep-alive GET / at a fixed offered rate (`--rate` requests
/// per second over `--conns` connections, each on its own thread sending
/// on a schedule), for `--secs`. Reports the rate achieved and the
/// latency, so that two configurations are compared at equal load rather
/// than at saturation.
fn paced(args: &Args) -> Result<(), String> {
    let addr = args.addr("connect")?;
    let rate: f64 = args.num("rate", 20_000.0)?;
    let conns: usize = args.num("conns", 20)?;
    let secs: f64 = args.num("secs", 5.0)?;
    if rate <= 0.0 || conns == 0 {
        return Err("--rate and --conns must be positive".into());
    }
    let gap = Duration::from_secs_f64(conns as f64 / rate);
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..conns)
        .map(|i| {
            thread::spawn(move || -> (u64, u64, Vec<u32>) {
                let req = request("/", "");
                let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::new());
                let Ok(mut c) = Conn::open(addr) else {
                    return (0, 1, lat);
                };
                // Spread the connections' schedules over one gap.
                let mut next = start + gap.mul_f64(i as f64 / conns as f64);
                while next < end {
                    let now = Instant::now();
                    if next > now {
                        thread::sleep(next - now);
                    }
                    let sent = Instant::now();
                    let r = c.send(&req).and_then(|_| c.response(false));
                    match r {
                        Ok(r) if r.status == 200 => {
                            ok += 1;
                            lat.push(sent.elapsed().as_micros() as u32);
                        }
                        _ => {
                            errors += 1;
                            match Conn::open(addr) {
                                Ok(n) => c = n,
                                Err(_) => break,
                            }
                        }
                    }
                    next += gap;
                }
                (ok, errors, lat)
            })
        })
        .collect();
    let (mut ok, mut errors, mut lat) = (0u64, 0u64, Vec::new());
    for h in handles {
        let (o, e, l) = h
            .join()
            .map_err(|_| "a client thread panicked".to_string())?;
        ok += o;
        errors += e;
        lat.extend(l);
    }
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1));
        lat.get(i).copied().unwrap_or(0)
    };
    println!(
        "RESULT offered={rate:.0} achieved={:.0} requests={ok} errors={errors} p50_us={} p99_us={} p999_us={} max_us={}",
        ok as f64 / secs,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        lat.last().copied().unwrap_or(0)
    );
    Ok(())
}

fn check(args: &Args) -> Result<(), String> {
    let addr = args.addr("connect")?;
    let big_path = args.opts.get("big-path").map_or("/1m", String::as_str);
    let big_size: usize = args.num("big-size", 1 << 20)?;
    let mut fails = 0;
    let mut report = |name: &str, r: Result<String, String>| match r {
        Ok(note) if note.is_empty() => println!("CHECK {name}: ok"),
        Ok(note) => println!("CHECK {name}: ok ({note})"),
        Err(e) => {
            fails += 1;
            println!("CHECK {name}: FAIL {e}");
        }
    };
    let open = || Conn::open(addr).map_err(|e| format!("connect: {e}"));
    let e = |e: io::Error| e.to_string();

    report(
        "keep-alive-3-requests",
        (|| {
            let mut c = open()?;
            for i in 0..3 {
                c.send(&request("/", "")).map_err(e)?;
                let r = c.response(false).map_err(e)?;
                if r.status != 200 || r.body != b"ok\n" {
                    return Err(format!(
                        "request {i}: status {} body {:?}",
                        r.status, r.body
                    ));
                }
                if r.says_close() {
                    return Err(format!("request {i}: answer says Connection: close"));
                }
            }
            Ok(String::new())
        })(),
    );
    report(
        "big-body",
        (|| {
            let mut c = open()?;
            c.send(&request(big_path, "")).map_err(e)?;
            let r = c.response(false).map_err(e)?;
            if r.status != 200 {
                return Err(format!("status {}", r.status));
            }
            if r.body.len() != big_size {
                return Err(format!("{} bytes, want {big_size}", r.body.len()));
            }
            if let Some(i) = check_pattern(0, &r.body) {
                return Err(format!("wrong byte at {i}"));
            }
            // And the connection still works.
            c.send(&request("/", "")).map_err(e)?;
            let r = c.response(false).map_err(e)?;
            if r.body != b"ok\n" {
                return Err("request after the big body failed".into());
            }
            Ok(String::new())
        })(),
    );
    report(
        "connection-close",
        (|| {
            let mut c = open()?;
            c.send(&request("/", "Connection: close\r\n")).map_err(e)?;
            let r = c.response(false).map_err(e)?;
            if r.status != 200 || r.body != b"ok\n" {
                return Err(format!("status {} body {:?}", r.status, r.body));
            }
            if !c.closes_within(Duration::from_secs(2)) {
                return Err("connection not closed within 2 s".into());
            }
            Ok(if r.says_close() {
                String::new()
            } else {
                "answer has no Connection: close header".into()
            })
        })(),
    );
    report(
        "http-1.0",
        (|| {
            let mut c = open()?;
            c.send(b"GET / HTTP/1.0\r\n\r\n").map_err(e)?;
            let r = c.response(false).map_err(e)?;
            if r.status != 200 || r.body != b"ok\n" {
                return Err(format!("status {} body {:?}", r.status, r.body));
            }
            if !c.closes_within(Duration::from_secs(2)) {
                return Err("connection not closed within 2 s".into());
            }
            Ok(String::new())
        })(),
    );
    report(
        "pipelined-2",
        (|| {
            let mut c = open()?;
            let mut two = request(big_path, "");
            two.extend_from_slice(&request("/", ""));
            c.send(&two).map_err(e)?;
            let a = c.response(false).map_err(e)?;
            let b = c.response(false).map_err(e)?;
            if a.body.len() != big_size || b.body != b"ok\n" {
                return Err(format!("bodies {} and {:?}", a.body.len(), b.body));
            }
            Ok(String::new())
        })(),
    );
    report(
        "head",
        (|| {
            let mut c = open()?;
            c.send(format!("HEAD {big_path} HTTP/1.1\r\nHost: bench.local\r\n\r\n").as_bytes())
                .map_err(e)?;
            let r = c.response(true).map_err(e)?;
            if r.status != 200 {
                return Err(format!("status {}", r.status));
            }
            c.send(&request("/", "")).map_err(e)?;
            let r = c.response(false).map_err(e)?;
            if r.body != b"ok\n" {
                return Err(format!("request after HEAD: body {:?}", r.body));
            }
            Ok(String::new())
        })(),
    );
    report(
        "not-found",
        (|| {
            let mut c = open()?;
            c.send(&request("/no-such-file", "")).map_err(e)?;
            let r = c.response(false).map_err(e)?;
            if r.status != 404 {
                return Err(format!("status {}", r.status));
            }
            Ok(String::new())
        })(),
    );
    if fails > 0 {
        return Err(format!("{fails} check(s) failed"));
    }
    Ok(())
}

fn genfile(args: &Args) -> Result<(), String> {
    let path = args.get("path")?;
    let size: usize = args.num("size", 1 << 20)?;
    let mut data = vec![0u8; size];
    pattern_at(0, &mut data);
    std::fs::write(path, data).map_err(|e| format!("{path}: {e}"))
}

// ---------------------------------------------------------------- TLS client

mod tls {
    //! The TLS client: rustls (the ring provider) over std `TcpStream`s, one
    //! thread per connection. It accepts any certificate and checks no
    //! handshake signature: the bench's certificate is self-signed, and the
    //! work measured is the proxy's.

    use super::{check_pattern, request, tcp_connect, Args, Conn};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{
        ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, SignatureScheme,
        StreamOwned,
    };
    use std::io::{self, Read};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    type TlsStream = StreamOwned<ClientConnection, TcpStream>;

    /// Accepts every certificate and signature.
    #[derive(Debug)]
    struct AcceptAny(Vec<SignatureScheme>);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.clone()
        }
    }

    /// A client configuration: TLS 1.3 only (TLS 1.2 only with `tls12`),
    /// session resumption (rustls's in-memory cache: TLS 1.3 tickets, TLS
    /// 1.2 tickets or session ids) only with `resume`.
    fn client_config(resume: bool, tls12: bool) -> Result<Arc<ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let schemes = provider
            .signature_verification_algorithms
            .supported_schemes();
        let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let mut cfg = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(schemes)))
            .with_no_client_auth();
        if !resume {
            cfg.resumption = rustls::client::Resumption::disabled();
        }
        Ok(Arc::new(cfg))
    }

    fn server_name(args: &Args) -> Result<ServerName<'static>, String> {
        let sni = args.opts.get("sni").map_or("bench.local", String::as_str);
        ServerName::try_from(sni.to_string()).map_err(|e| format!("--sni {sni}: {e}"))
    }

    /// Connects and completes the handshake.
    fn connect(
        cfg: &Arc<ClientConfig>,
        addr: SocketAddr,
        name: &ServerName<'static>,
    ) -> io::Result<Conn<TlsStream>> {
        let tcp = tcp_connect(addr)?;
        let conn = ClientConnection::new(cfg.clone(), name.clone()).map_err(io::Error::other)?;
        let mut s = StreamOwned::new(conn, tcp);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock)?;
        }
        Ok(Conn { s, buf: Vec::new() })
    }

    /// Reads until the peer closes (close_notify, or TCP EOF without it).
    fn drain(c: &mut Conn<TlsStream>) {
        let mut tmp = [0u8; 4096];
        while let Ok(n) = c.s.read(&mut tmp) {
            if n == 0 {
                break;
            }
        }
    }

    /// One connection: handshake, `GET path` with `Connection: close`,
    /// the answer read, the peer's close awaited. Returns (resumed, bytes).
    fn one(
        cfg: &Arc<ClientConfig>,
        addr: SocketAddr,
        name: &ServerName<'static>,
        req: &[u8],
    ) -> Result<(bool, usize), String> {
        let mut c = connect(cfg, addr, name).map_err(|e| format!("handshake: {e}"))?;
        let resumed = c.s.conn.handshake_kind() == Some(HandshakeKind::Resumed);
        c.send(req).map_err(|e| format!("send: {e}"))?;
        let r = c.response(false).map_err(|e| format!("response: {e}"))?;
        if r.status != 200 {
            return Err(format!("status {}", r.status));
        }
        drain(&mut c);
        Ok((resumed, r.body.len()))
    }

    /// `loadgen tls-hs`: connections per second, each a handshake and one
    /// request.
    pub fn handshakes(args: &Args) -> Result<(), String> {
        let addr = args.addr("connect")?;
        let secs: f64 = args.num("secs", 5.0)?;
        let conns: usize = args.num("conns", 16)?;
        let resume = args.flag("resume");
        let tls12 = args.flag("tls12");
        let path = args.opts.get("path").map_or("/", String::as_str);
        let name = server_name(args)?;
        let req = Arc::new(request(path, "Connection: close\r\n"));
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(secs);
        let first_error = Arc::new(Mutex::new(None::<String>));
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for _ in 0..conns {
            // One configuration per thread: with --resume, its session
            // cache holds the tickets this thread's connections use.
            let cfg = client_config(resume, tls12)?;
            let (name, req, first_error, stop) =
                (name.clone(), req.clone(), first_error.clone(), stop.clone());
            handles.push(thread::spawn(move || {
                let (mut ok, mut resumed, mut bytes, mut errors) = (0u64, 0u64, 0u64, 0u64);
                let mut lat = Vec::new();
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    match one(&cfg, addr, &name, &req) {
                        Ok((r, n)) => {
                            ok += 1;
                            resumed += u64::from(r);
                            bytes += n as u64;
                            lat.push(t0.elapsed().as_micros() as u64);
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.lock().unwrap().get_or_insert(e);
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                (ok, resumed, bytes, errors, lat)
            }));
        }
        let (mut ok, mut resumed, mut bytes, mut errors) = (0u64, 0u64, 0u64, 0u64);
        let mut lat = Vec::new();
        for h in handles {
            let (o, r, b, e, mut l) = h.join().map_err(|_| "a client thread panicked")?;
            ok += o;
            resumed += r;
            bytes += b;
            errors += e;
            lat.append(&mut l);
        }
        let dur = start.elapsed();
        lat.sort_unstable();
        let pct = |p: usize| {
            if lat.is_empty() {
                -1
            } else {
                lat[(lat.len() * p / 100).min(lat.len() - 1)] as i64
            }
        };
        println!(
            "RESULT requests={ok} bytes={bytes} duration_us={} p50_us={} p99_us={} errors={errors} resumed={resumed}",
            dur.as_micros(),
            pct(50),
            pct(99)
        );
        if let Some(e) = first_error.lock().unwrap().take() {
            eprintln!("loadgen tls-hs: {errors} connection(s) failed, the first: {e}");
        }
        Ok(())
    }

    /// `loadgen tls-check`: HTTPS correctness checks through a proxy, and
    /// what was negotiated.
    pub fn check(args: &Args) -> Result<(), String> {
        let addr = args.addr("connect")?;
        let big_path = args.opts.get("big-path").map_or("/1m", String::as_str);
        let big_size: usize = args.num("big-size", 1 << 20)?;
        let name = server_name(args)?;
        let mut fails = 0;
        let mut report = |what: &str, r: Result<String, String>| match r {
            Ok(note) if note.is_empty() => println!("CHECK {what}: ok"),
            Ok(note) => println!("CHECK {what}: ok ({note})"),
            Err(e) => {
                fails += 1;
                println!("CHECK {what}: FAIL {e}");
            }
        };
        let e = |e: io::Error| e.to_string();
        let full = client_config(false, false)?;
        report(
            &format!("tls-keep-alive-{}", addr.port()),
            (|| {
                let mut c = connect(&full, addr, &name).map_err(|e| format!("handshake: {e}"))?;
                let negotiated = format!(
                    "{:?} {:?} {:?}",
                    c.s.conn.protocol_version().ok_or("no version")?,
                    c.s.conn
                        .negotiated_cipher_suite()
                        .ok_or("no cipher suite")?
                        .suite(),
                    c.s.conn
                        .negotiated_key_exchange_group()
                        .ok_or("no key exchange group")?
                        .name(),
                );
                for i in 0..2 {
                    c.send(&request("/", "")).map_err(e)?;
                    let r = c.response(false).map_err(e)?;
                    if r.status != 200 || r.body != b"ok\n" || r.says_close() {
                        return Err(format!(
                            "request {i}: status {} body {:?}",
                            r.status, r.body
                        ));
                    }
                }
                c.send(&request(big_path, "")).map_err(e)?;
                let r = c.response(false).map_err(e)?;
                if r.status != 200 || r.body.len() != big_size {
                    return Err(format!(
                        "{big_path}: status {}, {} bytes, want {big_size}",
                        r.status,
                        r.body.len()
                    ));
                }
                if let Some(i) = check_pattern(0, &r.body) {
                    return Err(format!("{big_path}: wrong byte at {i}"));
                }
                c.send(&request("/", "Connection: close\r\n")).map_err(e)?;
                let r = c.response(false).map_err(e)?;
                if r.status != 200 || r.body != b"ok\n" {
                    return Err(format!(
                        "last request: status {} body {:?}",
                        r.status, r.body
                    ));
                }
                Ok(negotiated)
            })(),
        );
        report(
            &format!("tls-resumption-{}", addr.port()),
            (|| {
                let cfg = client_config(true, false)?;
                let req = request("/", "Connection: close\r\n");
                let mut kinds = Vec::new();
                for _ in 0..3 {
                    let (resumed, _) = one(&cfg, addr, &name, &req)?;
                    kinds.push(if resumed { "resumed" } else { "full" });
                }
                Ok(format!(
                    "TLS 1.3 handshakes with tickets: {}",
                    kinds.join(" ")
                ))
            })(),
        );
        report(
            &format!("tls12-{}", addr.port()),
            (|| {
                let cfg = client_config(false, true)?;
                let c = connect(&cfg, addr, &name).map_err(|e| format!("handshake: {e}"))?;
                let mut c = c;
                c.send(&request("/", "Connection: close\r\n")).map_err(e)?;
                let r = c.response(false).map_err(e)?;
                if r.status != 200 || r.body != b"ok\n" {
                    return Err(format!("status {} body {:?}", r.status, r.body));
                }
                Ok(String::new())
            })(),
        );
        if fails > 0 {
            return Err(format!("{fails} check(s) failed"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- report

mod report {
    //! The harness's raw CSV → one markdown table, medians over rounds.

    use super::Args;
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    pub const WORKLOADS: [(&str, &str); 11] = [
        ("ka", "HTTP keep-alive, small"),
        ("close", "HTTP new conn/request"),
        ("1m", "HTTP 1 MiB body"),
        ("tcp", "TCP bulk"),
        ("idle", "idle keep-alive conns"),
        ("idle-tcp", "idle mode tcp sessions"),
        ("tls-hs-ecdsa", "TLS 1.3 full handshakes, ECDSA P-256"),
        ("tls-hs-rsa", "TLS 1.3 full handshakes, RSA 2048"),
        ("tls-resume", "TLS 1.3 resumed handshakes (tickets), ECDSA"),
        ("tls-ka", "HTTPS keep-alive, small"),
        ("tls-1m", "HTTPS 1 MiB body"),
    ];

    /// The workloads whose unit is a handshake (a connection).
    fn handshakes(w: &str) -> bool {
        matches!(w, "tls-hs-ecdsa" | "tls-hs-rsa" | "tls-resume")
    }
    pub const PROXIES: [&str; 4] = ["direct", "fulcrum", "haproxy", "nginx"];

    /// One measurement: a row of the CSV.
    #[derive(Debug, Default, Clone)]
    struct Row {
        requests: f64,
        bytes: f64,
        duration_us: f64,
        p50_us: f64,
        p99_us: f64,
        cpu_ticks: f64,
        errors: f64,
        client_conns: f64,
        server_conns: f64,
        rss0_kib: f64,
        rss1_kib: f64,
        idle_conns: f64,
        resumed: f64,
        noisy: bool,
        na: bool,
    }

    /// The figures of one (workload, proxy) cell, medians over rounds.
    #[derive(Debug, Default, Clone)]
    struct Cell {
        rounds: usize,
        thr: Option<f64>,
        spread: Option<f64>,
        p50: Option<f64>,
        p99: Option<f64>,
        cpu: Option<f64>,
        rss: Option<f64>,
        rss_total: Option<f64>,
        idle_conns: Option<f64>,
        errors: f64,
        conns_per_req: Option<f64>,
        server_conns_per_req: Option<f64>,
        /// The share of the handshakes that were resumed.
        resumed: Option<f64>,
        noisy: bool,
        na: bool,
    }

    fn median(mut v: Vec<f64>) -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }

    fn cell(workload: &str, rows: &[Row], clk_tck: f64) -> Cell {
        let mut c = Cell {
            rounds: rows.len(),
            ..Cell::default()
        };
        if rows.iter().all(|r| r.na) {
            c.na = true;
            return c;
        }
        let rows: Vec<&Row> = rows.iter().filter(|r| !r.na).collect();
        c.noisy = rows.iter().any(|r| r.noisy);
        c.errors = rows.iter().map(|r| r.errors).sum();
        let secs = |r: &Row| r.duration_us / 1e6;
        let gib = |r: &Row| r.bytes / (1u64 << 30) as f64;
        let cpu_ms = |r: &Row| r.cpu_ticks / clk_tck * 1000.0;
        let cpu_known = rows.iter().all(|r| r.cpu_ticks >= 0.0);
        match workload {
            "ka" | "close" | "tls-ka" | "tls-hs-ecdsa" | "tls-hs-rsa" | "tls-resume" => {
                let thr: Vec<f64> = rows.iter().map(|r| r.requests / secs(r)).collect();
                c.spread = spread(&thr);
                c.thr = median(thr);
                c.p50 = median(rows.iter().map(|r| r.p50_us).collect());
                c.p99 = median(rows.iter().map(|r| r.p99_us).collect());
                // Per 10,000 requests, or per 1,000 handshakes.
                let per = if handshakes(workload) {
                    1_000.0
                } else {
                    10_000.0
                };
                if cpu_known {
                    c.cpu = median(rows.iter().map(|r| cpu_ms(r) / r.requests * per).collect());
                }
                if rows.iter().all(|r| r.resumed >= 0.0) {
                    c.resumed = median(
                        rows.iter()
                            .map(|r| r.resumed / r.requests.max(1.0))
                            .collect(),
                    );
                }
                c.server_conns_per_req = median(
                    rows.iter()
                        .filter(|r| r.server_conns >= 0.0)
                        .map(|r| r.server_conns / r.requests)
                        .collect(),
                );
                if workload == "close" {
                    c.conns_per_req = median(
                        rows.iter()
                            .filter(|r| r.client_conns >= 0.0)
                            .map(|r| r.client_conns / r.requests)
                            .collect(),
                    );
                }
            }
            "1m" | "tcp" | "tls-1m" => {
                let thr: Vec<f64> = rows.iter().map(|r| r.bytes / secs(r) / 1e6).collect();
                c.spread = spread(&thr);
                c.thr = median(thr);
                if workload != "tcp" {
                    c.p50 = median(rows.iter().map(|r| r.p50_us).collect());
                    c.p99 = median(rows.iter().map(|r| r.p99_us).collect());
                }
                if cpu_known {
                    c.cpu = median(rows.iter().map(|r| cpu_ms(r) / gib(r)).collect());
                }
            }
            "idle" | "idle-tcp" => {
                c.rss_total = median(rows.iter().map(|r| r.rss1_kib).collect());
                c.idle_conns = median(rows.iter().map(|r| r.idle_conns).collect());
                if rows.iter().all(|r| r.rss0_kib >= 0.0) {
                    c.rss = median(
                        rows.iter()
                            .map(|r| (r.rss1_kib - r.rss0_kib) / r.idle_conns.max(1.0))
                            .collect(),
                    );
                }
            }
            _ => {}
        }
        c
    }

    /// (max − min) / median, in percent.
    fn spread(v: &[f64]) -> Option<f64> {
        if v.len() < 2 {
            return None;
        }
        let max = v.iter().cloned().fold(f64::MIN, f64::max);
        let min = v.iter().cloned().fold(f64::MAX, f64::min);
        median(v.to_vec()).map(|m| (max - min) / m * 100.0)
    }

    fn thousands(x: f64) -> String {
        let n = x.round() as i64;
        let s = n.abs().to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if n < 0 {
            format!("-{out}")
        } else {
            out
        }
    }

    fn us(x: Option<f64>) -> String {
        match x {
            None => "—".into(),
            Some(v) if v >= 10_000.0 => format!("{:.1} ms", v / 1000.0),
            Some(v) => format!("{} µs", thousands(v)),
        }
    }

    fn ratio(a: Option<f64>, b: Option<f64>) -> String {
        match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "—".into(),
        }
    }

    /// The rows as (workload, proxy, figures), and the notes.
    type Parsed = (Vec<(String, String, Row)>, Vec<String>);

    fn parse_csv(text: &str) -> Result<Parsed, String> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().ok_or("empty csv")?.split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let mut out = Vec::new();
        let mut notes = Vec::new();
        for l in lines {
            if l.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = l.split(',').collect();
            let s = |name: &str| col(name).and_then(|i| f.get(i)).copied().unwrap_or("");
            let n = |name: &str| s(name).parse::<f64>().unwrap_or(-1.0);
            let row = Row {
                requests: n("requests"),
                bytes: n("bytes"),
                duration_us: n("duration_us"),
                p50_us: n("p50_us"),
                p99_us: n("p99_us"),
                cpu_ticks: n("cpu_ticks"),
                errors: n("errors").max(0.0),
                client_conns: n("client_conns"),
                server_conns: n("server_conns"),
                rss0_kib: n("rss0_kib"),
                rss1_kib: n("rss1_kib"),
                idle_conns: n("idle_conns"),
                resumed: n("resumed"),
                noisy: s("noisy") == "1",
                na: s("note") == "n/a",
            };
            let note = s("note");
            if !note.is_empty() && note != "n/a" {
                notes.push(format!(
                    "round {} {} {}: {}",
                    s("round"),
                    s("workload"),
                    s("proxy"),
                    note.replace(';', ",")
                ));
            }
            out.push((s("workload").to_string(), s("proxy").to_string(), row));
        }
        Ok((out, notes))
    }

    pub fn run(args: &Args) -> Result<(), String> {
        let path = args.get("csv")?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let clk_tck: f64 = args.num("clk-tck", 100.0)?;
        let (rows, notes) = parse_csv(&text)?;
        let mut by: BTreeMap<(String, String), Vec<Row>> = BTreeMap::new();
        for (w, p, r) in rows {
            by.entry((w, p)).or_default().push(r);
        }
        let mut cells: BTreeMap<(&str, &str), Cell> = BTreeMap::new();
        for (w, _) in WORKLOADS {
            for p in PROXIES {
                if let Some(rs) = by.get(&(w.to_string(), p.to_string())) {
                    cells.insert((w, p), cell(w, rs, clk_tck));
                }
            }
        }

        let mut md = String::new();
        if let Some(h) = args.opts.get("header") {
            md.push_str(&std::fs::read_to_string(h).map_err(|e| format!("{h}: {e}"))?);
            md.push('\n');
        }
        md.push_str(
            "| workload | proxy | throughput | spread | p50 | p99 | proxy CPU | CPU ×HAProxy | \
             throughput ×HAProxy | RSS per conn | RSS ×HAProxy |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        let mut flagged = false;
        for (w, wname) in WORKLOADS {
            let hap = cells.get(&(w, "haproxy")).cloned();
            for p in PROXIES {
                let Some(c) = cells.get(&(w, p)) else {
                    continue;
                };
                let mut name = p.to_string();
                if c.noisy {
                    name.push_str(" ⚠noisy");
                    flagged = true;
                }
                if c.errors > 0.0 {
                    let _ = write!(name, " ⚠{} errors", c.errors);
                    flagged = true;
                }
                if c.na {
                    let _ = writeln!(md, "| {wname} | {p} | n/a | | | | | | | | |");
                    continue;
                }
                let mut thr = match (w, c.thr) {
                    (_, None) => "—".to_string(),
                    ("ka" | "close" | "tls-ka", Some(t)) => format!("{} req/s", thousands(t)),
                    (w, Some(t)) if handshakes(w) => format!("{} hs/s", thousands(t)),
                    (_, Some(t)) => format!("{} MB/s", thousands(t)),
                };
                if w == "tls-resume" {
                    match c.resumed {
                        Some(f) if f > 0.0 => {
                            let _ = write!(thr, " ({:.0}% resumed)", f * 100.0);
                        }
                        Some(_) => thr.push_str(" (none resumed: full handshakes)"),
                        None => {}
                    }
                }
                let cpu = match (w, c.cpu) {
                    (_, None) => "—".to_string(),
                    ("ka" | "close" | "tls-ka", Some(v)) => format!("{v:.0} ms/10k req"),
                    (w, Some(v)) if handshakes(w) => format!("{v:.0} ms/1k hs"),
                    (_, Some(v)) => format!("{v:.0} ms/GiB"),
                };
                let rss = match (c.rss, c.rss_total, c.idle_conns) {
                    (Some(v), Some(t), Some(n)) => {
                        format!("{v:.1} KiB ({:.1} MiB with {})", t / 1024.0, thousands(n))
                    }
                    (Some(v), _, _) => format!("{v:.1} KiB"),
                    _ => "—".to_string(),
                };
                let spread = c.spread.map_or("—".to_string(), |s| format!("{s:.1}%"));
                let h = hap.as_ref();
                let _ = writeln!(
                    md,
                    "| {wname} | {name} | {thr} | {spread} | {} | {} | {cpu} | {} | {} | {rss} | {} |",
                    us(c.p50),
                    us(c.p99),
                    if p == "direct" { "—".into() } else { ratio(c.cpu, h.and_then(|h| h.cpu)) },
                    if p == "direct" { "—".into() } else { ratio(c.thr, h.and_then(|h| h.thr)) },
                    if p == "direct" { "—".into() } else { ratio(c.rss, h.and_then(|h| h.rss)) },
                );
            }
        }
        let rounds = cells.values().map(|c| c.rounds).max().unwrap_or(0);
        let _ = writeln!(
            md,
            "\nMedians over {rounds} round(s); spread = (max − min) / median of the throughput \
             over the rounds. MB = 10^6 bytes. CPU is the proxy's utime+stime from /proc \
             (the whole process tree for nginx): per 10,000 requests, per 1,000 TLS \
             handshakes (hs: a connection with its handshake, one request and the close), \
             or per GiB moved; p50/p99 of a handshake row: connect to close, \
             at the client. RSS per conn = (RSS holding the idle connections − RSS before) / connections."
        );
        if flagged {
            let _ = writeln!(
                md,
                "⚠noisy: another process used the CPU during that measurement (more than 3% of a core for keep-alive, 15% for the others, after the retries) or kept the machine busy before it; \
                 ⚠errors: wrk or loadgen reported errors (see the notes)."
            );
        }

        // The issue's targets, measured (not asserted).
        let get = |w: &str, p: &str| cells.get(&(w, p)).cloned().unwrap_or_default();
        let (fk, hk) = (get("ka", "fulcrum"), get("ka", "haproxy"));
        let (fc, hc) = (get("close", "fulcrum"), get("close", "haproxy"));
        let (ft, dt) = (get("tcp", "fulcrum"), get("tcp", "direct"));
        let (fi, hi) = (get("idle", "fulcrum"), get("idle", "haproxy"));
        let pct = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.0}%", a / b * 100.0),
            _ => "—".into(),
        };
        // The issue's targets concern the plain workloads: shown when one ran.
        if ["ka", "close", "tcp", "idle"]
            .iter()
            .any(|w| cells.keys().any(|(cw, _)| cw == w))
        {
            let _ = writeln!(
                md,
                "\nTargets (fulcrum vs HAProxy 2.6, measured, not asserted):\n"
            );
            let _ = writeln!(
                md,
                "- keep-alive req/s per core ≥ HAProxy (aim 1.3×): {}",
                ratio(fk.thr, hk.thr)
            );
            let _ = writeln!(
                md,
                "- keep-alive CPU per request ≤ HAProxy: {}",
                ratio(fk.cpu, hk.cpu)
            );
            let _ = writeln!(
                md,
                "- keep-alive p99 no worse: {} vs {} ({})",
                us(fk.p99),
                us(hk.p99),
                ratio(fk.p99, hk.p99)
            );
            let _ = writeln!(
                md,
                "- new-connection req/s ≥ HAProxy: {}",
                ratio(fc.thr, hc.thr)
            );
            let _ = writeln!(
                md,
                "- TCP bulk ≥ 90% of direct: {} (HAProxy: {})",
                pct(ft.thr, dt.thr),
                pct(get("tcp", "haproxy").thr, dt.thr)
            );
            let _ = writeln!(
                md,
                "- RSS per idle client ≤ HAProxy: {}",
                ratio(fi.rss, hi.rss)
            );
        }

        let cpr: Vec<String> = PROXIES
            .iter()
            .filter_map(|p| {
                cells
                    .get(&("close", *p))
                    .and_then(|c| c.conns_per_req)
                    .map(|v| format!("{p} {v:.2}"))
            })
            .collect();
        if !cpr.is_empty() {
            let _ = writeln!(
                md,
                "\nNew-connection check: client connections accepted per request \
                 (kernel PassiveOpens − backend accepts) / requests: {}",
                cpr.join(", ")
            );
        }
        let resumed: Vec<String> = ["fulcrum", "haproxy"]
            .iter()
            .filter_map(|p| {
                let f = cells.get(&("tls-resume", *p))?.resumed?;
                Some(if f > 0.0 {
                    format!("{p} resumed {:.1}% of the handshakes", f * 100.0)
                } else {
                    format!("{p} resumed none (every handshake was a full one)")
                })
            })
            .collect();
        if !resumed.is_empty() {
            let _ = writeln!(
                md,
                "\nTLS resumption (tls-resume, a rustls session cache per client thread): {}",
                resumed.join("; ")
            );
        }
        let tls_ratio: Vec<String> = ["fulcrum", "haproxy"]
            .iter()
            .filter_map(|p| {
                let e = cells.get(&("tls-hs-ecdsa", *p))?.thr?;
                let r = cells.get(&("tls-hs-rsa", *p))?.thr?;
                Some(format!("{p} {:.2}×", e / r))
            })
            .collect();
        if !tls_ratio.is_empty() {
            let _ = writeln!(
                md,
                "\nFull-handshake rate, ECDSA over RSA: {}",
                tls_ratio.join(", ")
            );
        }
        for (w, what) in [
            ("ka", "keep-alive"),
            ("close", "new-connection"),
            ("tls-hs-ecdsa", "TLS handshakes"),
            ("tls-ka", "HTTPS keep-alive"),
        ] {
            let sc: Vec<String> = PROXIES
                .iter()
                .filter_map(|p| {
                    cells
                        .get(&(w, *p))
                        .and_then(|c| c.server_conns_per_req)
                        .map(|v| format!("{p} {v:.2}"))
                })
                .collect();
            if !sc.is_empty() {
                let _ = writeln!(
                    md,
                    "\nServer connections opened per request ({what}, backend accepts / requests): {}",
                    sc.join(", ")
                );
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(md, "\nNotes:\n");
            for n in notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        print!("{md}");
        if let Some(out) = args.opts.get("out") {
            std::fs::write(out, &md).map_err(|e| format!("{out}: {e}"))?;
        }
        Ok(())
    }
}
