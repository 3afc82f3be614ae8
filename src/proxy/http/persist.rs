//! Cookie persistence (`cookie NAME insert [indirect] [nocache] ...` with a
//! `cookie VALUE` on each server): a client that carries a server's cookie
//! goes back to that server while it is usable; otherwise it is balanced as
//! usual and, in insert mode, told which server it got with a Set-Cookie.

use crate::config::model::{Cookie, CookieMethod};
use crate::runtime::Backend;

/// The value of cookie `name` in the request's Cookie headers.
pub fn find<'a>(cookie_headers: impl Iterator<Item = &'a [u8]>, name: &str) -> Option<&'a [u8]> {
    for h in cookie_headers {
        for pair in h.split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            if let Some(eq) = pair.iter().position(|&b| b == b'=') {
                let (key, value) = pair.split_at(eq);
                if key == name.as_bytes() {
                    return Some(value.get(1..).unwrap_or_default().trim_ascii());
                }
            }
        }
    }
    None
}

/// The server a persistence cookie value points to, if it may take traffic
/// (or whatever its state, under `force-persist`).
pub fn server_for(be: &Backend, value: &[u8], force: bool) -> Option<usize> {
    be.servers
        .iter()
        .position(|s| s.cookie.as_deref().is_some_and(|c| c.as_bytes() == value))
        .filter(|&i| force || be.servers.get(i).is_some_and(|s| s.state.usable()))
}

/// A Cookie header value without cookie `name` (None when nothing is left).
pub fn strip(header: &[u8], name: &str) -> Option<Vec<u8>> {
    let kept: Vec<&[u8]> = header
        .split(|&b| b == b';')
        .map(<[u8]>::trim_ascii)
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split(|&b| b == b'=').next().unwrap_or(p);
            key != name.as_bytes()
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(&b"; "[..]))
}

/// The header lines to add to a response that went to a server with cookie
/// `value`, when the client did not already hold that value (insert mode).
pub fn set_cookie(c: &Cookie, value: &str) -> Vec<u8> {
    if c.method != Some(CookieMethod::Insert) {
        return Vec::new();
    }
    let mut line = format!("Set-Cookie: {}={value}; path=/", c.name);
    for d in &c.domain {
        line.push_str(&format!("; domain={d}"));
    }
    if c.httponly {
        line.push_str("; HttpOnly");
    }
    if c.secure {
        line.push_str("; Secure");
    }
    line.push_str("\r\n");
    if c.nocache {
        // A shared cache must not hand this cookie to other clients.
        line.push_str("Cache-Control: private\r\n");
    }
    line.into_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn finding_and_stripping() {
        let hs: Vec<&[u8]> = vec![b"a=1; SRV=s2; b=2"];
        assert_eq!(find(hs.iter().copied(), "SRV"), Some(&b"s2"[..]));
        assert_eq!(find(hs.iter().copied(), "SR"), None);
        assert_eq!(
            strip(b"a=1; SRV=s2; b=2", "SRV"),
            Some(b"a=1; b=2".to_vec())
        );
        assert_eq!(strip(b"SRV=s2", "SRV"), None);
    }
}
