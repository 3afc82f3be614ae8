//! `stats auth`: HTTP Basic credentials, compared in constant time.

use base64::Engine;

use crate::config::model::Credentials;

/// Compares two byte strings in time that depends only on their lengths'
/// maximum, not on where they differ.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

/// True when the `Authorization` header value grants access.
pub fn allowed(header: Option<&[u8]>, users: &[Credentials]) -> bool {
    user(header, users).is_some()
}

/// The user the `Authorization` header's credentials are those of.
/// Every credential is compared, whichever matches, so timing tells nothing.
pub fn user<'a>(header: Option<&[u8]>, users: &'a [Credentials]) -> Option<&'a str> {
    let h = header?;
    let h = h.trim_ascii();
    let scheme_end = h.iter().position(|&b| b == b' ')?;
    if !h[..scheme_end].eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(h[scheme_end + 1..].trim_ascii())
        .ok()?;
    let mut found = None;
    for u in users {
        let expected = format!("{}:{}", u.user, u.password);
        if ct_eq(&decoded, expected.as_bytes()) && found.is_none() {
            found = Some(u.user.as_str());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<Credentials> {
        vec![
            Credentials {
                user: "admin".into(),
                password: "secret".into(),
            },
            Credentials {
                user: "ops".into(),
                password: "other".into(),
            },
        ]
    }

    fn basic(s: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
        .into_bytes()
    }

    #[test]
    fn good_and_bad_credentials() {
        let u = users();
        assert!(allowed(Some(&basic("admin:secret")), &u));
        assert!(allowed(Some(&basic("ops:other")), &u));
        assert!(allowed(Some(b"basic YWRtaW46c2VjcmV0"), &u));
        for bad in [
            "admin:wrong",
            "admin:secre",
            "admin:secret\0",
            "admin",
            "",
            "admin:secretx",
            "nobody:secret",
        ] {
            assert!(!allowed(Some(&basic(bad)), &u), "{bad:?}");
        }
        assert!(!allowed(None, &u));
        assert!(!allowed(Some(b"Basic !!!not-base64"), &u));
        assert!(!allowed(Some(b"Bearer YWRtaW46c2VjcmV0"), &u));
        assert!(!allowed(Some(b"Basic"), &u));
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"", b"\0"));
    }
}
