//! The answers of the built-in protocol checks that are parsed rather
//! than matched, judged as HAProxy 2.6 judges them: LDAP's bindResponse,
//! SPOP's AGENT-HELLO (or AGENT-DISCONNECT) frame, and the parts of an
//! SMTP reply that go into a report (its code, its text).
//!
//! Pure functions over the bytes received so far; `last` says no more
//! will come (the server closed, or the buffer is full).

use super::outcome::CheckStatus;

/// What a parser made of the answer so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Too short: read more.
    Wait,
    /// As expected.
    Pass,
    /// The check failed, with this status, code and info.
    Fail(CheckStatus, Option<u16>, Option<String>),
}

const NOT_LDAP: &str = "Not LDAPv3 protocol";

/// LDAP's bindResponse (RFC 4511): a SEQUENCE whose length fits in one
/// byte or is given on 2 or 4 bytes, message ID 1, a bindResponse, an
/// ENUMERATED resultCode; 0 passes, any other is a wrong status whose
/// code is the resultCode. Bytes HAProxy would read past the answer are
/// taken as missing (a mismatch).
pub fn ldap_bind_response(buf: &[u8], last: bool) -> Verdict {
    let invalid = || Verdict::Fail(CheckStatus::L7Rsp, None, Some(NOT_LDAP.into()));
    let too_short = || {
        if last {
            // A truncated answer: invalid, with no text.
            Verdict::Fail(CheckStatus::L7Rsp, None, None)
        } else {
            Verdict::Wait
        }
    };
    let Some(&len0) = buf.get(1) else {
        return too_short();
    };
    // The LDAPMessage's length: short form, or long form on 2 or 4 bytes.
    let (nbytes, msglen) = if len0 & 0x80 != 0 {
        let n = usize::from(len0 & 0x7f);
        if buf.len() < 1 + n {
            return too_short();
        }
        let be = |k: usize| {
            buf.get(2..2 + k)
                .map(|b| b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)))
        };
        match (n, be(n)) {
            (2 | 4, Some(v)) => (n, v),
            (2 | 4, None) => return too_short(),
            _ => return invalid(),
        }
    } else {
        (0, usize::from(len0))
    };
    if buf.len() < (2 + nbytes).saturating_add(msglen) {
        return too_short();
    }
    let mut at = 2 + nbytes;
    // messageID 1 (INTEGER 0x02 0x01 0x01), then a bindResponse (0x61).
    if buf.get(at..at + 4) != Some(b"\x02\x01\x01\x61".as_slice()) {
        return invalid();
    }
    at += 4;
    // The bindResponse's length, skipped.
    let Some(&blen) = buf.get(at) else {
        return invalid();
    };
    at += 1 + if blen & 0x80 != 0 {
        usize::from(blen & 0x7f)
    } else {
        0
    };
    // resultCode: ENUMERATED (0x0a 0x01) and its value.
    if buf.get(at..at + 2) != Some(b"\x0a\x01".as_slice()) {
        return invalid();
    }
    match buf.get(at + 2) {
        Some(0) => Verdict::Pass,
        Some(&code) => Verdict::Fail(
            CheckStatus::L7Sts,
            Some(u16::from(code)),
            Some("See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9".into()),
        ),
        None => invalid(),
    }
}

/// SPOP's frame errors, as HAProxy's agent words them.
const SPOP_REASONS: [&str; 14] = [
    "normal",
    "I/O error",
    "a timeout occurred",
    "frame is too big",
    "invalid frame received",
    "version value not found",
    "max-frame-size value not found",
    "capabilities value not found",
    "unsupported version",
    "max-frame-size too big or too small",
    "fragmentation not supported",
    "invalid interlaced frames",
    "frame-id not found",
    "resource allocation error",
];
const INVALID: u64 = 4;
const NO_VSN: u64 = 5;
const NO_FRAME_SIZE: u64 = 6;
const BAD_VSN: u64 = 8;
const BAD_FRAME_SIZE: u64 = 9;
const FRAG_NOT_SUPPORTED: u64 = 10;

/// The agent's answer to the HELLO: a 4-byte length, then an
/// AGENT-HELLO frame with a supported version and a max-frame-size (a
/// pass), or anything else: an invalid response whose info is the SPOP
/// error's text (an AGENT-DISCONNECT's own status code, else the fault
/// found).
pub fn spop_agent_hello(buf: &[u8], last: bool) -> Verdict {
    let len = match buf.get(..4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
        None if last => usize::MAX,
        None => return Verdict::Wait,
    };
    if !last && buf.len() < len.saturating_add(4) {
        return Verdict::Wait;
    }
    // A frame longer than what came is judged on what came.
    let frame = buf.get(4..).unwrap_or_default();
    let frame = &frame[..frame.len().min(len)];
    let code = if frame.first() == Some(&102) {
        spop_disconnect(frame)
    } else {
        match spop_hello(frame) {
            Ok(()) => return Verdict::Pass,
            Err(code) => code,
        }
    };
    // Codes past the table: HAProxy's "unknown error" (codes 14 to 98
    // have no text in HAProxy 2.6; they get the same one here).
    let reason = usize::try_from(code)
        .ok()
        .and_then(|c| SPOP_REASONS.get(c))
        .copied()
        .unwrap_or("an unknown error occurred");
    Verdict::Fail(CheckStatus::L7Rsp, None, Some(reason.into()))
}

/// A cursor over a frame's bytes.
struct Frame<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Frame<'a> {
    fn more(&self) -> bool {
        self.at < self.b.len()
    }

    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    /// SPOP's variable-length integer.
    fn varint(&mut self) -> Option<u64> {
        let mut v = u64::from(self.byte()?);
        if v < 240 {
            return Some(v);
        }
        let mut shift = 4u32;
        loop {
            let b = self.byte()?;
            v = v.wrapping_add(u64::from(b).checked_shl(shift).unwrap_or(0));
            shift += 7;
            if b < 128 {
                return Some(v);
            }
        }
    }

    /// A length-prefixed string.
    fn string(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    /// Skips a typed value.
    fn skip(&mut self) -> Option<()> {
        match self.byte()? & 0x0f {
            2..=5 => self.varint().map(drop),
            6 => self.take(4),
            7 => self.take(16),
            8 | 9 => self.string().map(drop),
            _ => Some(()),
        }
    }

    fn take(&mut self, n: usize) -> Option<()> {
        (self.at + n <= self.b.len()).then(|| self.at += n)
    }

    /// The type byte, its flags masked off.
    fn kind(&mut self) -> Option<u8> {
        self.byte().map(|t| t & 0x0f)
    }

    /// The frame header: `want` as type, at least 7 bytes, FIN set, and
    /// stream and frame IDs 0.
    fn header(&mut self, want: u8) -> Result<(), u64> {
        if self.byte() != Some(want) || self.b.len() < 7 {
            return Err(INVALID);
        }
        let flags = self.b.get(1..5).map_or(0, |f| f[3]);
        if flags & 1 == 0 {
            return Err(FRAG_NOT_SUPPORTED);
        }
        if self.b.get(5..7) != Some(&[0, 0]) {
            return Err(INVALID);
        }
        self.at = 7;
        Ok(())
    }
}

/// An integer type: int32, uint32, int64, uint64.
fn is_int(t: u8) -> bool {
    (2..=5).contains(&t)
}

/// An AGENT-HELLO frame; Err is the SPOP error code. Keys are matched by
/// prefix, as HAProxy matches them.
fn spop_hello(b: &[u8]) -> Result<(), u64> {
    let mut f = Frame { b, at: 0 };
    f.header(101)?;
    let (mut vsn, mut max) = (false, false);
    while f.more() {
        let key = f.string().filter(|k| !k.is_empty()).ok_or(INVALID)?;
        if key.starts_with(b"version") {
            if f.kind() != Some(8) {
                return Err(INVALID);
            }
            let v = f.string().ok_or(INVALID)?;
            if spop_version(v) != Some(2000) {
                return Err(BAD_VSN);
            }
            vsn = true;
        } else if key.starts_with(b"max-frame-size") {
            if !f.kind().is_some_and(is_int) {
                return Err(INVALID);
            }
            let v = f.varint().ok_or(INVALID)?;
            if !(256..=crate::runtime::check_proto::SPOP_MAX_FRAME).contains(&v) {
                return Err(BAD_FRAME_SIZE);
            }
            max = true;
        } else if key.starts_with(b"capabilities") {
            if f.kind() != Some(8) || f.string().is_none() {
                return Err(INVALID);
            }
        } else {
            f.skip().ok_or(INVALID)?;
        }
    }
    match (vsn, max) {
        (false, _) => Err(NO_VSN),
        (_, false) => Err(NO_FRAME_SIZE),
        _ => Ok(()),
    }
}

/// An AGENT-DISCONNECT frame: the status code it carries, or the fault
/// found reading it.
fn spop_disconnect(b: &[u8]) -> u64 {
    let mut f = Frame { b, at: 0 };
    if let Err(code) = f.header(102) {
        return code;
    }
    let mut status = 0;
    while f.more() {
        let Some(key) = f.string().filter(|k| !k.is_empty()) else {
            return INVALID;
        };
        if key.starts_with(b"status-code") {
            match (f.kind().is_some_and(is_int), f.varint()) {
                (true, Some(v)) => status = v,
                _ => return INVALID,
            }
        } else if key.starts_with(b"message") {
            if f.kind() != Some(8) || f.string().is_none_or(|m| m.len() > 255) {
                return INVALID;
            }
        } else if f.skip().is_none() {
            return INVALID;
        }
    }
    status
}

/// "MAJOR.MINOR" as 1000 x MAJOR + MINOR (spaces around allowed; the
/// major not 0, the minor at most 999).
fn spop_version(s: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(s).ok()?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (maj, min) = text.split_once('.')?;
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(maj) || !digits(min) {
        return None;
    }
    let (maj, min): (u32, u32) = (maj.parse().ok()?, min.parse().ok()?);
    (maj != 0 && min <= 999).then(|| maj.saturating_mul(1000).saturating_add(min))
}

/// An SMTP reply's code as HAProxy takes it (`res.payload(0,3)` as an
/// integer): the leading digits of its first three bytes, 0 when there
/// are none or fewer than three bytes.
pub fn reply_code(buf: &[u8]) -> u16 {
    let Some(head) = buf.get(..3) else {
        return 0;
    };
    let head = head.strip_prefix(b"+").unwrap_or(head);
    head.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'))
}

/// An SMTP reply's text as HAProxy takes it (`res.payload(4,0)`, leading
/// spaces trimmed, cut at the first end of line); nothing when the reply
/// is shorter than four bytes (HAProxy then logs no info).
pub fn reply_text(buf: &[u8]) -> String {
    let Some(rest) = buf.get(4..) else {
        return String::new();
    };
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let rest = &rest[start..];
    let end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(code: u8) -> Vec<u8> {
        vec![
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00,
        ]
    }

    #[test]
    fn ldap_answers() {
        assert_eq!(ldap_bind_response(&bind(0), false), Verdict::Pass);
        let Verdict::Fail(CheckStatus::L7Sts, Some(49), Some(_)) =
            ldap_bind_response(&bind(49), false)
        else {
            panic!("resultCode 49 is a wrong status");
        };
        assert_eq!(ldap_bind_response(&bind(0)[..10], false), Verdict::Wait);
        assert_eq!(
            ldap_bind_response(&bind(0)[..10], true),
            Verdict::Fail(CheckStatus::L7Rsp, None, None)
        );
        let ad = b"\x30\x84\0\0\0\x10\x02\x01\x01\x61\x84\0\0\0\x07\x0a\x01\0\x04\0\x04\0";
        assert_eq!(ldap_bind_response(ad, false), Verdict::Pass);
        let mut id2 = bind(0);
        id2[4] = 2;
        let not = Verdict::Fail(CheckStatus::L7Rsp, None, Some(NOT_LDAP.into()));
        assert_eq!(ldap_bind_response(&id2, false), not);
        // A length HAProxy does not read (3 bytes), and one that claims
        // more than will ever come.
        assert_eq!(ldap_bind_response(b"\x30\x83\0\0\x0c\x02\x01", false), not);
        assert_eq!(
            ldap_bind_response(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], false),
            Verdict::Wait
        );
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    fn reason(v: Verdict) -> String {
        match v {
            Verdict::Fail(CheckStatus::L7Rsp, None, Some(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spop_answers() {
        let hello = |items: &[u8]| framed(&[&[101, 0, 0, 0, 1, 0, 0], items].concat());
        let v = b"\x07version\x08\x032.0";
        let m = b"\x0emax-frame-size\x03\xfc\xf0\x06";
        assert_eq!(
            spop_agent_hello(&hello(&[&v[..], m].concat()), false),
            Verdict::Pass
        );
        let whole = hello(&[&v[..], m].concat());
        assert_eq!(
            spop_agent_hello(&whole[..whole.len() - 1], false),
            Verdict::Wait
        );
        assert_eq!(
            reason(spop_agent_hello(&hello(m), false)),
            "version value not found"
        );
        assert_eq!(
            reason(spop_agent_hello(&hello(v), false)),
            "max-frame-size value not found"
        );
        let v10 = b"\x07version\x08\x04 1.0";
        assert_eq!(
            reason(spop_agent_hello(&hello(&[&v10[..], m].concat()), false)),
            "unsupported version"
        );
        let bad = b"\x07version\x08\x032.x";
        assert_eq!(
            reason(spop_agent_hello(&hello(&[&bad[..], m].concat()), false)),
            "unsupported version"
        );
        let disc = framed(b"\x66\0\0\0\x01\0\0\x0bstatus-code\x03\x03\x07message\x08\x02no");
        assert_eq!(reason(spop_agent_hello(&disc, false)), "frame is too big");
        let odd = framed(b"\x66\0\0\0\x01\0\0\x0bstatus-code\x03\x28");
        assert_eq!(
            reason(spop_agent_hello(&odd, false)),
            "an unknown error occurred"
        );
        assert_eq!(
            reason(spop_agent_hello(b"ab", true)),
            "invalid frame received"
        );
        assert_eq!(spop_agent_hello(b"ab", false), Verdict::Wait);
    }

    #[test]
    fn versions() {
        assert_eq!(spop_version(b"2.0"), Some(2000));
        assert_eq!(spop_version(b" 2.0 "), Some(2000));
        assert_eq!(spop_version(b"0.5"), None);
        assert_eq!(spop_version(b"2."), None);
        assert_eq!(spop_version(b"2.1000"), None);
    }

    #[test]
    fn smtp_replies() {
        assert_eq!(reply_code(b"250 ok\r\n"), 250);
        assert_eq!(reply_code(b"5x0 what"), 5);
        assert_eq!(reply_code(b"ab"), 0);
        assert_eq!(reply_text(b"221   2.0.0 Bye\r\nmore"), "2.0.0 Bye");
        assert_eq!(reply_text(b"250"), "");
        assert_eq!(reply_text(b"250 "), "");
    }
}
