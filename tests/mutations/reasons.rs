//! The reasons a difference between fulcrum and HAProxy may have: each is
//! one of README's "Where fulcrum differs" items, as a predicate on the
//! request's bytes or on the two outcomes.

use super::{Forwarded, Message};

/// Why fulcrum may refuse a request HAProxy forwards: README's list, as
/// predicates on the request's bytes.
pub fn stricter_reason(b: &[u8]) -> Option<&'static str> {
    let head_end = b
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(b.len(), |i| i + 4);
    let head = &b[..head_end];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let lines: Vec<&str> = text.split("\r\n").collect();
    let request_line = lines.first().copied().unwrap_or("");
    if b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'\n' && (i == 0 || b[i - 1] != b'\r'))
    {
        return Some("a bare LF");
    }
    if b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'\r' && b.get(i + 1) != Some(&b'\n'))
    {
        return Some("a bare CR");
    }
    if request_line.split(' ').count() != 3 || request_line.contains('\t') {
        return Some("whitespace other than one SP in the request line");
    }
    let fields = lines.iter().skip(1).take_while(|l| !l.is_empty());
    for l in fields.clone() {
        if l.starts_with([' ', '\t']) {
            return Some("obsolete line folding");
        }
        let value = l.split_once(':').map_or("", |(_, v)| v);
        if value.bytes().any(|c| (c < 0x20 && c != b'\t') || c == 0x7f) {
            return Some("a control in a field value");
        }
    }
    let named = |n: &str| {
        fields
            .clone()
            .filter(|l| l.split(':').next() == Some(n))
            .count()
    };
    let values = |n: &str| {
        fields
            .clone()
            .filter_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| *k == n)
                    .map(|(_, v)| v.trim().to_string())
            })
            .collect::<Vec<_>>()
    };
    if named("content-length") > 1 || values("content-length").iter().any(|v| v.contains(',')) {
        return Some("a second Content-Length");
    }
    if named("host") > 1 {
        return Some("a second Host");
    }
    let version = request_line.rsplit(' ').next().unwrap_or("");
    if !matches!(version, "http/1.1" | "http/1.0") {
        return Some("an HTTP version other than 1.0 and 1.1");
    }
    if version == "http/1.1" && named("host") == 0 {
        return Some("an HTTP/1.1 request without Host");
    }
    let host_ok = |h: &str| {
        let (name, port) = match h.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((ip, port)) => (ip, port),
                None => return false,
            },
            None => h.split_at(h.find(':').unwrap_or(h.len())),
        };
        let port_ok = port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit()));
        port_ok
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:".contains(&c))
    };
    if values("host").iter().any(|h| !host_ok(h)) {
        return Some("a Host that is not host[:port]");
    }
    let target = request_line.split(' ').nth(1).unwrap_or("");
    let method = request_line.split(' ').next().unwrap_or("");
    if (target == "*" && method != "options")
        || (!target.starts_with('/') && !target.contains("://") && target != "*")
    {
        return Some("a target form the method may not use");
    }
    let raw_target = head.split(|&c| c == b' ').nth(1).unwrap_or_default();
    if raw_target
        .iter()
        .any(|&c| !c.is_ascii_graphic() || c == b'#')
    {
        return Some("a target byte outside visible ASCII, or a '#'");
    }
    if let Some((_, rest)) = target.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.is_empty() || values("host").iter().any(|h| h != authority) {
            return Some("an absolute-form authority that is empty or not the Host");
        }
    }
    if values("transfer-encoding")
        .iter()
        .any(|v| v.contains("chunked"))
    {
        return chunk_reason(&b[head_end.min(b.len())..]);
    }
    None
}

/// Why fulcrum may refuse a chunked body HAProxy takes: a chunk's data
/// not followed by CRLF, or a trailer that is not a field line.
fn chunk_reason(b: &[u8]) -> Option<&'static str> {
    let mut at = 0;
    loop {
        let eol = b.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        let line = &b[at..at + eol];
        let digits = line.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let ext = &line[digits..];
        if digits == 0 || !(ext.is_empty() || ext.starts_with(b";")) {
            return Some("a chunk-size line that is not size[;ext]");
        }
        if ext.iter().any(|&c| c < 0x20 || c == 0x7f) {
            return Some("a control in a chunk extension");
        }
        let size = usize::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()?;
        at += eol + 2;
        if size == 0 {
            break;
        }
        at += size;
        if b.get(at..at + 2)? != b"\r\n" {
            return Some("chunk data not ended by CRLF");
        }
        at += 2;
    }
    let trailers = b.get(at..)?;
    let end = trailers
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |i| i + 2);
    for line in trailers[..end].split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let name_ok = line.iter().position(|&c| c == b':').is_some_and(|i| {
            i > 0
                && line[..i]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(c))
        });
        if !line.is_empty()
            && (!name_ok || line.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f))
        {
            return Some("a trailer that is not a field line");
        }
    }
    None
}

/// `http://host?query`: RFC 3986 ends the authority at the `?`; HAProxy
/// 2.6 reads it as part of the authority, finds it is not the Host, and
/// answers 400.
pub fn query_after_authority(request_line: &str) -> bool {
    let target = request_line.split(' ').nth(1).unwrap_or_default();
    target
        .split_once("://")
        .is_some_and(|(_, rest)| rest.split('/').next().unwrap_or_default().contains('?'))
}

/// Whether two forwarded requests differ only in the fields a Connection
/// header named (fulcrum removes them; HAProxy forwards them).
pub fn only_connection_named(ours: &Message, theirs: &Message, b: &[u8]) -> bool {
    let (Message::Forwarded(x), Message::Forwarded(y)) = (ours, theirs) else {
        return false;
    };
    let text = String::from_utf8_lossy(b).to_ascii_lowercase();
    let named: Vec<String> = text
        .split("\r\n")
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("connection:"))
        .flat_map(|v| {
            v.split(',')
                .map(|t| t.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let strip = |f: &Forwarded| Forwarded {
        fields: f
            .fields
            .iter()
            .filter(|(n, _)| !named.contains(n))
            .cloned()
            .collect(),
        ..f.clone()
    };
    !named.is_empty() && strip(x) == strip(y)
}
