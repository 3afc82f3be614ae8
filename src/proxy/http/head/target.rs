//! What a request's target and Host may be (RFC 9112 3.2, RFC 9110 7.2,
//! RFC 3986): their characters, their forms, and their agreement.

use crate::rules::http::Field;

/// Whether every byte of the request-target is a visible ASCII character
/// and none is `#` (RFC 9112 3.2, RFC 3986): no control, no byte above
/// 0x7e, and no fragment, which a client never sends.
pub(super) fn target_chars_fit(target: &str) -> bool {
    target.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

/// Whether a Host value is `uri-host [":" port]` (RFC 9110 7.2): an IP
/// literal in brackets or a reg-name (unreserved, percent-encoded and
/// sub-delim characters), then an optional port of digits. Empty is
/// allowed: a target without an authority sends an empty Host.
pub(super) fn host_fits(value: &[u8]) -> bool {
    let (host, port) = match value.strip_prefix(b"[") {
        Some(literal) => match literal.iter().position(|&b| b == b']') {
            Some(end) => {
                let (inside, after) = literal.split_at(end);
                let ip_ok = inside
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'));
                if !ip_ok || inside.is_empty() {
                    return false;
                }
                (&[][..], after.get(1..).unwrap_or_default())
            }
            None => return false,
        },
        None => {
            let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
            value.split_at(end)
        }
    };
    let reg_name = host.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    });
    let port_ok = match port.strip_prefix(b":") {
        Some(digits) => digits.iter().all(u8::is_ascii_digit),
        None => port.is_empty(),
    };
    reg_name && port_ok
}

/// An absolute-form target's authority must be there and be the Host
/// (RFC 9112 3.2.2 has the server ignore Host then; a proxy that routes
/// on Host in front of one that reads the target would send the request
/// where neither meant, so HAProxy refuses a mismatch and so does fulcrum).
pub(super) fn authority_agrees(target: &str, fields: &[Field], buf: &[u8]) -> bool {
    let Some((_, rest)) = target.split_once("://") else {
        return true;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return false;
    }
    fields
        .iter()
        .filter(|f| f.name.of(buf).eq_ignore_ascii_case(b"host"))
        .all(|f| f.value.of(buf).eq_ignore_ascii_case(authority.as_bytes()))
}

/// Whether the request-target's form is one `method` may use (RFC 9112
/// 3.2): the asterisk form only with OPTIONS, the authority form only
/// with CONNECT (and CONNECT only with it), otherwise the origin form
/// (`/...`) or the absolute form (`scheme://...`).
pub(super) fn target_form_fits(method: &str, target: &str) -> bool {
    if method == "CONNECT" {
        return !target.starts_with('/') && !target.contains("://") && target != "*";
    }
    if target == "*" {
        return method == "OPTIONS";
    }
    if target.starts_with('/') {
        return true;
    }
    // The absolute form: scheme ":" "//" authority...
    match target.split_once("://") {
        Some((scheme, _)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}
