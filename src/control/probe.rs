//! `fulcrum probe ADDR[:PORT][/PATH]`: one HTTP GET, its verdict as the exit
//! code. It is what keepalived's `track_script` (or Pacemaker, or a cron
//! job) runs against a `monitor-uri`: no curl needed, a hard time limit,
//! and 0 only for a 2xx answer, so `monitor fail if { nbsrv(app) lt 1 }`
//! takes the node out of the VRRP election.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The target could not be read as ADDR:PORT[/PATH].
    #[error("cannot read '{0}' as ADDR:PORT[/PATH]")]
    Target(String),
    /// Connecting, sending or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The answer was not HTTP.
    #[error("not an HTTP answer: {0:?}")]
    NotHttp(String),
    /// The answer was not 2xx.
    #[error("answered {0}")]
    Status(u16),
}

/// Splits `ADDR:PORT[/PATH]` (port 80 when missing, path `/`).
fn target(t: &str) -> Result<(SocketAddr, String), ProbeError> {
    let t = t.strip_prefix("http://").unwrap_or(t);
    let (host, path) = match t.find('/') {
        Some(i) => (&t[..i], t[i..].to_string()),
        None => (t, "/".to_string()),
    };
    let with_port = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ProbeError::Target(t.to_string()))?;
    Ok((addr, path))
}

/// Sends the GET and reads the status line, within `limit` in all.
pub fn probe(t: &str, limit: Duration) -> Result<u16, ProbeError> {
    let (addr, path) = target(t)?;
    let start = Instant::now();
    let left = || {
        limit
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1))
    };
    let mut s = TcpStream::connect_timeout(&addr, left())?;
    s.set_write_timeout(Some(left()))?;
    s.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: fulcrum-probe\r\n\r\n")
            .as_bytes(),
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        s.set_read_timeout(Some(left()))?;
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    let code = line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| ProbeError::NotHttp(line.chars().take(80).collect()))?;
    if (200..300).contains(&code) {
        Ok(code)
    } else {
        Err(ProbeError::Status(code))
    }
}

/// `--watch`: how to follow the health URL and where to say what it found.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Time between two probes.
    pub every: Duration,
    /// The file keepalived's `track_file` reads: `0` healthy, `1` not.
    pub state_file: std::path::PathBuf,
    /// Failed probes in a row before the node is said unhealthy.
    pub fall: u32,
    /// Good probes in a row before it is said healthy again.
    pub rise: u32,
}

/// Probes `t` every `w.every` forever, writing the verdict to the state
/// file whenever it changes (and once at start). keepalived notices a
/// rewritten track file at once (inotify), so a dead balancer is out of
/// the election within one interval rather than a `track_script`'s whole
/// seconds. Returns only if the state file cannot be written.
pub fn watch(t: &str, timeout: Duration, w: &Watch) -> std::io::Result<()> {
    let write = |healthy: bool| -> std::io::Result<()> {
        std::fs::write(&w.state_file, if healthy { "0\n" } else { "1\n" })
    };
    // Unknown until the first verdict: not healthy.
    let mut healthy = false;
    write(healthy)?;
    let (mut good, mut bad) = (0u32, 0u32);
    loop {
        let started = Instant::now();
        match probe(t, timeout.min(w.every.max(Duration::from_millis(10)))) {
            Ok(_) => {
                good += 1;
                bad = 0;
            }
            Err(e) => {
                if healthy && bad == 0 {
                    eprintln!("{t}: {e}");
                }
                bad += 1;
                good = 0;
            }
        }
        let now = if healthy {
            bad < w.fall
        } else {
            good >= w.rise
        };
        if now != healthy {
            healthy = now;
            write(healthy)?;
            eprintln!("{t}: {}", if healthy { "healthy" } else { "unhealthy" });
        }
        std::thread::sleep(w.every.saturating_sub(started.elapsed()));
    }
}
