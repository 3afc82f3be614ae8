//! Argument parsers shared by the keyword files (proxy_kw, global_kw,
//! bind_kw, server_kw), so that none of them imports another.

use super::model::{Facility, Level, LogAddress, LogFormat, LogTarget, SyslogTarget};
use crate::util::time::parse_time;

/// A non-negative integer argument.
pub fn parse_u32(kw: &str, s: &str) -> Result<u32, String> {
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return Err(format!("'{kw}' expects a non-negative integer, got '{s}'"));
    }
    s.parse()
        .map_err(|_| format!("'{kw}': value '{s}' is too large"))
}

/// A time argument, as in `timeout client 30s`.
pub fn parse_duration(kw: &str, s: &str) -> Result<std::time::Duration, String> {
    parse_time(s).map_err(|e| format!("'{kw}': {e}"))
}

/// Parses the arguments of a `log` line (global or proxy).
pub fn parse_log(kw: &str, args: &[String]) -> Result<LogTarget, String> {
    let Some((addr, mut rest)) = args.split_first() else {
        return Err(format!(
            "'{kw}' expects 'global' or ADDRESS FACILITY [LEVEL [MINLEVEL]]"
        ));
    };
    if addr == "global" {
        if let Some(a) = rest.first() {
            return Err(format!("'{kw} global' takes no other argument, got '{a}'"));
        }
        return Ok(LogTarget::Global);
    }
    let address: LogAddress = addr.parse().map_err(|e| format!("'{kw}': {e}"))?;
    let mut len = None;
    let mut format = None;
    loop {
        match rest {
            [k, v, tail @ ..] if k == "len" => {
                len = Some(parse_u32("log len", v)?);
                rest = tail;
            }
            [k, v, tail @ ..] if k == "format" => {
                format = Some(
                    LogFormat::ALL
                        .iter()
                        .find(|(n, _)| n == v)
                        .map(|(_, f)| *f)
                        .ok_or_else(|| {
                            format!("'{kw}': unknown log format '{v}' (expected rfc3164, rfc5424, raw, short, priority, timed, iso or local)")
                        })?,
                );
                rest = tail;
            }
            [k] if k == "len" || k == "format" => {
                return Err(format!("'{kw} {k}' expects a value"));
            }
            _ => break,
        }
    }
    let (facility, rest) = match rest.split_first() {
        Some((f, r)) => (
            Facility::from_name(f).ok_or_else(|| {
                format!("'{kw}': unknown facility '{f}' (expected kern, user, daemon, local0-local7, ...)")
            })?,
            r,
        ),
        None => return Err(format!("'{kw}' expects a facility after the address")),
    };
    let level_of = |s: &String| {
        Level::from_name(s).ok_or_else(|| {
            format!("'{kw}': unknown level '{s}' (expected emerg, alert, crit, err, warning, notice, info or debug)")
        })
    };
    let level = rest.first().map(level_of).transpose()?;
    let minlevel = rest.get(1).map(level_of).transpose()?;
    if let Some(extra) = rest.get(2) {
        return Err(format!(
            "'{kw}': unexpected argument '{extra}' after the levels"
        ));
    }
    Ok(LogTarget::Syslog(SyslogTarget {
        address,
        len,
        format,
        facility,
        level,
        minlevel,
    }))
}

/// An HTTP token (header names and the like): RFC 9110 tchar.
pub fn is_token(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            )
    })
}
