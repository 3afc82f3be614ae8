//! The answers of the built-in protocol checks that are parsed rather
//! than matched, judged as HAProxy 2.6 judges them: LDAP's bindResponse,
//! and the parts of an SMTP reply that go into a report (its code, its
//! text).
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
