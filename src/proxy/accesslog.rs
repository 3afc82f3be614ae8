//! Access logs: `option httplog` / `option tcplog` lines, sent to the
//! proxy's `log` targets (`log global` standing for the global section's) as
//! syslog datagrams, the way HAProxy sends them, so that an rsyslog set up
//! for HAProxy (`programname haproxy`) files them unchanged.
//!
//! Sending never blocks the data path: datagrams are sent non-blocking and
//! dropped when the socket buffer is full, as HAProxy drops them.

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::time::SystemTime;

use crate::config::model::{Level, LogAddress, SyslogTarget};

/// Sends one access-log line at level `info` to every target.
pub fn send(targets: &[SyslogTarget], line: &str) {
    send_at(targets, Level::Info as u8, line)
}

/// Sends one access-log line at syslog severity `level` (0-7; what
/// `http-request set-log-level` chose) to every target that takes it.
pub fn send_at(targets: &[SyslogTarget], level: u8, line: &str) {
    for t in targets {
        if t.level.is_some_and(|max| u32::from(level) > max as u32) {
            continue;
        }
        let pri = t.facility as u32 * 8 + u32::from(level.min(7));
        let msg = format!(
            "<{pri}>{} haproxy[{}]: {line}\n",
            syslog_time(),
            std::process::id()
        );
        let len = t.len.map(|l| l as usize).unwrap_or(1024).min(msg.len());
        let bytes = &msg.as_bytes()[..len];
        match &t.address {
            LogAddress::Udp(addr) => UDP.with(|s| {
                let s = if addr.is_ipv6() { &s.1 } else { &s.0 };
                if let Some(s) = s {
                    let _ = s.send_to(bytes, addr);
                }
            }),
            LogAddress::Unix(path) => UNIX.with(|s| {
                if let Some(s) = s {
                    let _ = s.send_to(bytes, path);
                }
            }),
            LogAddress::Stdout => println!("{line}"),
            LogAddress::Stderr => eprintln!("{line}"),
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

/// "Nov 24 16:50:01" (UTC), the syslog header's time.
fn syslog_time() -> String {
    use crate::rules::logline::{month, parts};
    let (_, m, d, hh, mm, ss, _) = parts(SystemTime::now());
    format!("{} {d:>2} {hh:02}:{mm:02}:{ss:02}", month(m))
}

/// Renders the frontend's access-log line from `rec` and sends it at
/// `level`, when the frontend logs somewhere.
pub fn emit(
    fe: &crate::runtime::Frontend,
    facts: Option<&crate::rules::facts::Facts>,
    rec: &crate::rules::logline::LogRecord,
    level: u8,
) {
    let Some(fmt) = &fe.rules.log_line else {
        return;
    };
    if fe.log_targets.is_empty() || level > 7 {
        return;
    }
    let line = fmt.render_log(facts, rec);
    send_at(&fe.log_targets, level, &String::from_utf8_lossy(&line));
}
