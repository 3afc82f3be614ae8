//! `demo_backend`: a tiny HTTP/1.1 application server for fulcrum's demos,
//! written with the Rust standard library only (std::net, std::thread).
//!
//! It plays the part of the Application Server (AS) of the active/standby
//! pair in `conf/haproxy.cfg`:
//!
//! ```text
//! cargo run --example demo_backend -- --name as1 --listen 127.0.0.1:9001 --listen 127.0.0.1:9443
//! cargo run --example demo_backend -- --name as2 --listen 127.0.0.1:9002 --listen 127.0.0.1:9444
//! ```
//!
//! Options:
//!
//! * `--name NAME`    the instance name, shown in every answer (default `demo`);
//! * `--listen ADDR`  an address to listen on; repeatable, at least one. Every
//!   listener speaks plain HTTP, so the same instance serves both its "http"
//!   port and the port that stands for HTTPS passthrough (a TCP proxy in front
//!   of it does not care what the bytes are);
//! * `--fail-health`  the health URL answers `503 Service Unavailable`, to
//!   make a health check fail and demonstrate failover to the backup.
//!
//! Every request gets `200 OK` with a short `text/plain` body:
//!
//! ```text
//! Hello from as1 (127.0.0.1:9001)
//! X-Forwarded-For: 127.0.0.1        <- only when the request carried one
//! ```
//!
//! except the health URL the seed configuration checks,
//! `/servlet/com.requestec.smg.servlets.Brora?command=get_local_host`, which
//! answers `PRODUCTION ACTIVE\n127.0.0.1\n` like the real application does.
//! Every answer carries `Content-Length`, `Content-Type: text/plain` and
//! `X-Served-By: NAME`.
//!
//! Connections are kept alive (HTTP/1.1 by default, HTTP/1.0 with
//! `Connection: keep-alive`) and closed after `Connection: close`. Request
//! bodies announced by `Content-Length` are read and discarded; chunked
//! request bodies are refused with `501` and the connection is closed. A
//! request head larger than 16 KiB gets `400` and the connection is closed.
//! One thread serves each connection.
//!
//! Once a listener is bound, the program prints
//! `demo_backend NAME listening on ADDR` on standard output (flushed), so a
//! script can wait for that line instead of sleeping.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The URL the seed's `option httpchk` requests.
const HEALTH_PATH: &str = "/servlet/com.requestec.smg.servlets.Brora?command=get_local_host";
/// The largest request head (request line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

struct Options {
    name: String,
    listen: Vec<String>,
    fail_health: bool,
}

fn usage() -> &'static str {
    "usage: demo_backend [--name NAME] --listen ADDR [--listen ADDR ...] [--fail-health]"
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        name: "demo".to_string(),
        listen: Vec::new(),
        fail_health: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => {
                opts.name = args
                    .next()
                    .ok_or_else(|| "--name needs a value".to_string())?;
            }
            "--listen" => {
                opts.listen.push(
                    args.next()
                        .ok_or_else(|| "--listen needs an address".to_string())?,
                );
            }
            "--fail-health" => opts.fail_health = true,
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if opts.listen.is_empty() {
        return Err("at least one --listen ADDR is required".to_string());
    }
    Ok(opts)
}

/// What the server was told, shared by every connection thread.
struct Shared {
    name: String,
    fail_health: bool,
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("demo_backend: {e}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let shared = Arc::new(Shared {
        name: opts.name.clone(),
        fail_health: opts.fail_health,
    });

    // Bind every listener first, so a bad address fails before anything runs.
    let mut listeners = Vec::new();
    for addr in &opts.listen {
        match TcpListener::bind(addr.as_str()) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                eprintln!("demo_backend {}: cannot listen on {addr}: {e}", opts.name);
                return ExitCode::from(1);
            }
        }
    }

    let mut handles = Vec::new();
    for listener in listeners {
        let local = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("demo_backend {}: {e}", opts.name);
                return ExitCode::from(1);
            }
        };
        {
            let mut out = io::stdout().lock();
            // Ignore a closed stdout: the server still works.
            let _ = writeln!(out, "demo_backend {} listening on {local}", opts.name);
            let _ = out.flush();
        }
        let shared = Arc::clone(&shared);
        handles.push(thread::spawn(move || accept_loop(listener, local, shared)));
    }
    for h in handles {
        let _ = h.join();
    }
    ExitCode::SUCCESS
}

fn accept_loop(listener: TcpListener, local: SocketAddr, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let conn_shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name(format!("conn-{local}"))
                    .spawn(move || connection(stream, local, &conn_shared));
                if let Err(e) = spawned {
                    eprintln!("demo_backend {}: cannot spawn a thread: {e}", shared.name);
                }
            }
            Err(e) => {
                eprintln!("demo_backend {}: accept on {local}: {e}", shared.name);
                // Avoid a hot loop when out of file descriptors.
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// One connection's thread: serves it and reports unexpected errors.
fn connection(stream: TcpStream, local: SocketAddr, shared: &Shared) {
    if let Err(e) = serve(stream, local, shared) {
        // Resets, early closes and idle timeouts are normal life for a server.
        if !matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
        ) {
            eprintln!("demo_backend {}: {local}: {e}", shared.name);
        }
    }
}

/// A parsed request head.
struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All the values of a header, joined as one list (for X-Forwarded-For).
    fn header_list(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.join(", "))
        }
    }

    /// Whether the `Connection` header lists `token`.
    fn connection_has(&self, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn keep_alive(&self) -> bool {
        if self.connection_has("close") {
            false
        } else if self.version == "HTTP/1.0" {
            self.connection_has("keep-alive")
        } else {
            true
        }
    }
}

/// Why a request head could not be read.
enum HeadError {
    /// The peer closed the connection cleanly between requests.
    Closed,
    /// The head is larger than [`MAX_HEAD`] or malformed.
    Bad(&'static str),
    Io(io::Error),
}

/// Reads one line (ending in `\n`) into `buf`, counting it against `budget`.
fn read_line(
    reader: &mut BufReader<TcpStream>,
    buf: &mut Vec<u8>,
    budget: &mut usize,
) -> Result<usize, HeadError> {
    buf.clear();
    // Read at most budget+1 bytes so an endless line is cut off.
    let limit = (*budget as u64).saturating_add(1);
    let n = reader
        .by_ref()
        .take(limit)
        .read_until(b'\n', buf)
        .map_err(HeadError::Io)?;
    if n > *budget {
        return Err(HeadError::Bad("request head too large"));
    }
    *budget -= n;
    Ok(n)
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Request, HeadError> {
    let mut budget = MAX_HEAD;
    let mut line = Vec::new();
    // Skip empty lines before a request line (RFC 9112 section 2.2).
    loop {
        let n = read_line(reader, &mut line, &mut budget)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        if !line.ends_with(b"\n") {
            return Err(HeadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        if trim_eol(&line).is_empty() {
            continue;
        }
        break;
    }
    let request_line = std::str::from_utf8(trim_eol(&line))
        .map_err(|_| HeadError::Bad("request line is not UTF-8"))?;
    let mut parts = request_line.split_ascii_whitespace();
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m.to_string(), t.to_string(), v.to_string()),
        _ => return Err(HeadError::Bad("malformed request line")),
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HeadError::Bad("unsupported HTTP version"));
    }

    let mut headers = Vec::new();
    loop {
        let n = read_line(reader, &mut line, &mut budget)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(HeadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        let text = trim_eol(&line);
        if text.is_empty() {
            break;
        }
        let text = std::str::from_utf8(text).map_err(|_| HeadError::Bad("header is not UTF-8"))?;
        let (name, value) = text
            .split_once(':')
            .ok_or(HeadError::Bad("header without a colon"))?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(HeadError::Bad("malformed header name"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Request {
        method,
        target,
        version,
        headers,
    })
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Serves one connection: requests in a loop until either side closes.
fn serve(stream: TcpStream, local: SocketAddr, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let answered_close = serve_requests(&mut reader, &mut writer, local, shared)?;
    if answered_close {
        linger(&mut reader);
    }
    Ok(())
}

/// The request loop of [`serve`]. Returns `Ok(true)` once it has sent an
/// answer with `Connection: close`, `Ok(false)` when the client closed.
fn serve_requests(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    local: SocketAddr,
    shared: &Shared,
) -> io::Result<bool> {
    loop {
        let req = match read_head(reader) {
            Ok(r) => r,
            Err(HeadError::Closed) => return Ok(false),
            Err(HeadError::Io(e)) => return Err(e),
            Err(HeadError::Bad(why)) => {
                let body = format!("Bad request: {why}\n");
                respond(writer, shared, "400 Bad Request", &body, false, true)?;
                return Ok(true);
            }
        };

        // Read and discard the request body, so the next request starts
        // where it should.
        if req.header("transfer-encoding").is_some() {
            respond(
                writer,
                shared,
                "501 Not Implemented",
                "Chunked request bodies are not supported\n",
                false,
                true,
            )?;
            return Ok(true);
        }
        let lengths: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.as_str())
            .collect();
        let length = match lengths.as_slice() {
            [] => 0,
            [first, rest @ ..] if rest.iter().all(|v| v == first) => match first.parse::<u64>() {
                Ok(n) => n,
                Err(_) => {
                    respond(
                        writer,
                        shared,
                        "400 Bad Request",
                        "Bad request: invalid Content-Length\n",
                        false,
                        true,
                    )?;
                    return Ok(true);
                }
            },
            _ => {
                respond(
                    writer,
                    shared,
                    "400 Bad Request",
                    "Bad request: conflicting Content-Length\n",
                    false,
                    true,
                )?;
                return Ok(true);
            }
        };
        if length > 0 {
            let copied = io::copy(&mut reader.by_ref().take(length), &mut io::sink())?;
            if copied < length {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }

        let keep_alive = req.keep_alive();
        let head_only = req.method == "HEAD";
        let (status, body) = if req.target == HEALTH_PATH {
            if shared.fail_health {
                (
                    "503 Service Unavailable",
                    "PRODUCTION STANDBY\n".to_string(),
                )
            } else {
                ("200 OK", format!("PRODUCTION ACTIVE\n{}\n", local.ip()))
            }
        } else {
            let mut body = format!("Hello from {} ({local})\n", shared.name);
            if let Some(xff) = req.header_list("x-forwarded-for") {
                body.push_str(&format!("X-Forwarded-For: {xff}\n"));
            }
            ("200 OK", body)
        };
        respond_version(
            writer,
            shared,
            &req.version,
            status,
            &body,
            head_only,
            !keep_alive,
        )?;
        if !keep_alive {
            return Ok(true);
        }
    }
}

fn respond(
    w: &mut TcpStream,
    shared: &Shared,
    status: &str,
    body: &str,
    head_only: bool,
    close: bool,
) -> io::Result<()> {
    respond_version(w, shared, "HTTP/1.1", status, body, head_only, close)
}

fn respond_version(
    w: &mut TcpStream,
    shared: &Shared,
    version: &str,
    status: &str,
    body: &str,
    head_only: bool,
    close: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\
         X-Served-By: {}\r\n",
        body.len(),
        shared.name
    );
    if close {
        out.push_str("Connection: close\r\n");
    } else if version == "HTTP/1.0" {
        // An HTTP/1.0 client asked for keep-alive: confirm it.
        out.push_str("Connection: keep-alive\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(body);
    }
    w.write_all(out.as_bytes())?;
    w.flush()?;
    if close {
        // Send FIN after the answer, so the client sees a clean end.
        let _ = w.shutdown(std::net::Shutdown::Write);
    }
    Ok(())
}

/// Before dropping a connection we answered with `Connection: close`, reads
/// (and discards) what the client may still send, for a bounded time and
/// size: closing a socket with unread input makes the kernel send a reset,
/// which can destroy the answer before the client has read it.
fn linger(reader: &mut BufReader<TcpStream>) {
    if reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(1)))
        .is_ok()
    {
        let _ = io::copy(&mut reader.by_ref().take(64 * 1024), &mut io::sink());
    }
}
