//! Dates as logs write them, in UTC, computed from the system clock
//! without a time-zone database.

use std::time::SystemTime;

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

/// (year, month, day, hour, minute, second, millisecond), UTC.
pub fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
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

/// The short month name (1-12).
pub fn month(m: u32) -> &'static str {
    MONTHS[(m.clamp(1, 12) - 1) as usize]
}

/// "24/Nov/2026:16:50:01.123" (UTC), HAProxy's accept date in log lines.
pub fn accept_date(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, ms) = parts(t);
    format!("{d:02}/{}/{y}:{hh:02}:{mm:02}:{ss:02}.{ms:03}", month(m))
}

/// "24/Nov/2026:16:50:01 +0000", the CLF date (fulcrum logs in UTC).
pub fn clf_date(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, _) = parts(t);
    format!("{d:02}/{}/{y}:{hh:02}:{mm:02}:{ss:02} +0000", month(m))
}

/// "2026-11-24T16:50:01.123456+00:00" (UTC), the RFC 5424 / ISO 8601 date.
pub fn iso_date(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, _) = parts(t);
    let us = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_micros())
        .unwrap_or(0);
    format!("{y}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{us:06}+00:00")
}

/// "Monday, 30-Nov-2026 07:29:02 UTC", as httpd's mod_status writes
/// its CurrentTime and RestartTime.
pub fn apache_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS.get(((secs / 86_400 + 4) % 7) as usize).unwrap_or(&"");
    let (y, m, d, hh, mm, ss, _) = parts(t);
    format!(
        "{weekday}, {d:02}-{}-{y} {hh:02}:{mm:02}:{ss:02} UTC",
        month(m)
    )
}

/// "Nov 24 16:50:01" (UTC), the date of a syslog header.
pub fn syslog_date(t: SystemTime) -> String {
    let (_, m, d, hh, mm, ss, _) = parts(t);
    format!("{} {d:>2} {hh:02}:{mm:02}:{ss:02}", month(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn apache_date_names_the_weekday() {
        // 2026-11-30 00:00:03 UTC is a Monday.
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_996_803);
        assert_eq!(apache_date(t), "Monday, 30-Nov-2026 00:00:03 UTC");
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_539_001_123);
        assert_eq!(accept_date(t), "24/Nov/2026:16:50:01.123");
        assert_eq!(clf_date(t), "24/Nov/2026:16:50:01 +0000");
        assert_eq!(syslog_date(t), "Nov 24 16:50:01");
        assert_eq!(iso_date(t), "2026-11-24T16:50:01.123000+00:00");
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
    }
}
