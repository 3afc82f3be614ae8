//! Syslog: lines (access logs, server events) sent to a proxy's `log`
//! targets (`log global` standing for the global section's) as syslog
//! datagrams, the way HAProxy sends them, so that an rsyslog set up for
//! HAProxy (`programname haproxy`) files them unchanged.
//!
//! Sending never blocks the data path: datagrams are sent non-blocking and
//! dropped when the socket buffer is full, as HAProxy drops them.

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::model::{Level, LogAddress, SyslogTarget};

/// Lines dropped because a target's socket buffer was full (`show info`'s
/// DroppedLogs): sending never waits.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

fn sent(r: std::io::Result<usize>) {
    if r.is_err() {
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// A `log` line as it sends: the target with the process's header
/// settings (`log-tag`, `log-send-hostname`) resolved.
#[derive(Debug, Clone)]
pub struct Target {
    /// The `log` line.
    pub spec: SyslogTarget,
    /// The program name in headers (`log-tag`, default "haproxy").
    pub tag: Arc<str>,
    /// The host name in headers (`log-send-hostname`), if any.
    pub host: Option<Arc<str>>,
}

/// Sends one access-log line at level `info` to every target.
pub fn send(targets: &[Target], line: &str) {
    send_at(targets, Level::Info as u8, line)
}

/// Sends one line at syslog severity `level` (0-7; what `http-request
/// set-log-level` chose) to every target that takes it.
pub fn send_at(targets: &[Target], level: u8, line: &str) {
    for t in targets {
        let s = &t.spec;
        if s.level.is_some_and(|max| u32::from(level) > max as u32) {
            continue;
        }
        // `minlevel`: more urgent messages are lowered to it.
        let level = match s.minlevel {
            Some(min) => level.max(min as u8),
            None => level,
        }
        .min(7);
        let mut msg = frame(t, level, line);
        // `len`: the message is cut to this length (the newline follows).
        let len = s.len.map_or(1024, |l| l as usize);
        if msg.len() > len {
            let mut cut = len;
            while !msg.is_char_boundary(cut) {
                cut -= 1;
            }
            msg.truncate(cut);
        }
        msg.push('\n');
        let bytes = msg.as_bytes();
        match &s.address {
            LogAddress::Udp(addr) => UDP.with(|s| {
                let s = if addr.is_ipv6() { &s.1 } else { &s.0 };
                if let Some(s) = s {
                    sent(s.send_to(bytes, addr));
                }
            }),
            LogAddress::Unix(path) => UNIX.with(|s| {
                if let Some(s) = s {
                    sent(s.send_to(bytes, path));
                }
            }),
            LogAddress::Stdout => console(Console::Stdout, msg),
            LogAddress::Stderr => console(Console::Stderr, msg),
        }
    }
}

/// A message in the target's `format`, without the final newline.
fn frame(t: &Target, level: u8, line: &str) -> String {
    use crate::config::model::LogFormat;
    use crate::util::date::{iso_date, syslog_date};
    let now = SystemTime::now();
    let pri = t.spec.facility as u32 * 8 + u32::from(level);
    let pid = std::process::id();
    let tag = &t.tag;
    match t.spec.format.unwrap_or(LogFormat::Rfc3164) {
        LogFormat::Rfc3164 => match &t.host {
            Some(h) => format!("<{pri}>{} {h} {tag}[{pid}]: {line}", syslog_date(now)),
            None => format!("<{pri}>{} {tag}[{pid}]: {line}", syslog_date(now)),
        },
        LogFormat::Local => format!("<{pri}>{} {tag}[{pid}]: {line}", syslog_date(now)),
        LogFormat::Rfc5424 => format!(
            "<{pri}>1 {} {} {tag} {pid} - - {line}",
            iso_date(now),
            t.host.as_deref().unwrap_or("-")
        ),
        LogFormat::Raw => line.to_string(),
        LogFormat::Short => format!("<{level}>{line}"),
        LogFormat::Priority => format!("<{pri}>{line}"),
        LogFormat::Timed => format!("<{level}>{} {line}", iso_date(now)),
        LogFormat::Iso => format!("{} {line}", iso_date(now)),
    }
}

#[derive(Debug, Clone, Copy)]
enum Console {
    Stdout,
    Stderr,
}

/// Lines for stdout and stderr go through a bounded queue to one writer
/// thread, so that a slow reader of the pipe never stalls a worker: when
/// the queue is full the line is dropped and counted.
fn console(to: Console, msg: String) {
    static QUEUE: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<(Console, String)>>> =
        std::sync::OnceLock::new();
    let q = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Console, String)>(4096);
        std::thread::Builder::new()
            .name("fulcrum-log".into())
            .spawn(move || {
                use std::io::Write;
                for (to, msg) in rx {
                    let _ = match to {
                        Console::Stdout => std::io::stdout().lock().write_all(msg.as_bytes()),
                        Console::Stderr => std::io::stderr().lock().write_all(msg.as_bytes()),
                    };
                }
            })
            .ok()
            .map(|_| tx)
    });
    match q {
        Some(tx) if tx.try_send((to, msg)).is_ok() => {}
        _ => {
            DROPPED.fetch_add(1, Relaxed);
        }
    }
}

thread_local! {
    // One non-blocking socket per worker thread and family: no lock.
    static UDP: (Option<UdpSocket>, Option<UdpSocket>) = (udp("0.0.0.0:0"), udp("[::]:0"));
    static UNIX: Option<UnixDatagram> = UnixDatagram::unbound().ok().filter(|s| s.set_nonblocking(true).is_ok());
}

fn udp(bind: &str) -> Option<UdpSocket> {
    let s = UdpSocket::bind(bind).ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}
