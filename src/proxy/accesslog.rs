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
            "<{pri}>{} haproxy[{}]: {line}",
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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 to (year, month 1-12, day).
fn civil(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-from-civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (
        y,
        m,
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis(),
    )
}

/// "Nov 24 16:50:01" (UTC), the syslog header's time.
fn syslog_time() -> String {
    let (_, m, d, hh, mm, ss, _) = parts(SystemTime::now());
    format!(
        "{} {d:>2} {hh:02}:{mm:02}:{ss:02}",
        MONTHS[(m - 1) as usize]
    )
}

/// "24/Nov/2026:16:50:01.123" (UTC), HAProxy's accept date in log lines.
pub fn accept_date(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, ms) = parts(t);
    format!(
        "{d:02}/{}/{y}:{hh:02}:{mm:02}:{ss:02}.{ms:03}",
        MONTHS[(m - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_539_001_123);
        assert_eq!(accept_date(t), "24/Nov/2026:16:50:01.123");
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
    }
}
