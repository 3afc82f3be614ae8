//! What the built-in protocol checks read from an answer as HAProxy 2.6
//! reads it: the parts of an SMTP reply that go into a report (its code,
//! its text).

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
