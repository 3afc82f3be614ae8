//! What keeps the stats page's admin form to its operator: a token against
//! forged cross-site requests, and a limit on failed logins per source.
//!
//! **Forged requests.** A page on another site, open in the operator's
//! browser, can make that browser POST to the admin form: HTTP Basic
//! credentials go with it. HAProxy accepts such a POST. fulcrum refuses a
//! POST that a browser marks as coming from elsewhere (`Origin` naming
//! another host than the request's, or `Sec-Fetch-Site` other than
//! `same-origin` or `none`), and asks every POST a browser sends (it
//! carries `Origin` or `Sec-Fetch-Site`, as every current browser does on
//! a POST) for the form's token: a random value made when the process
//! starts, written into the page's form, that another site cannot read.
//! A POST with a token must carry the right one. A client that sends
//! none of these headers (curl, scripts, HAProxy's own reg-tests) is not
//! a browser that a foreign page can drive, and is served as HAProxy
//! serves it.
//!
//! **Failed logins.** After [`MAX_FAILURES`] failed `stats auth` logins
//! from one address within [`WINDOW`], that address gets 429 Too Many
//! Requests, without its credentials being looked at, until the window
//! ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

/// Failed logins allowed from one address within [`WINDOW`].
pub const MAX_FAILURES: u32 = 10;

/// How long failed logins are remembered.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Addresses remembered at most; the oldest windows go first.
const MAX_SOURCES: usize = 4096;

/// The process's form token (hex of 16 random bytes), made on first use.
pub fn token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let mut raw = [0u8; 16];
        let mut filled = 0;
        // getrandom(2) on a booted Linux does not fail short of a signal;
        // a few tries cover an interruption.
        for _ in 0..8 {
            match rustix::rand::getrandom(&mut raw[filled..], rustix::rand::GetRandomFlags::empty())
            {
                Ok(n) => filled += n,
                Err(_) => continue,
            }
            if filled == raw.len() {
                break;
            }
        }
        if filled < raw.len() {
            // No randomness: a token nobody can guess cannot be made, so
            // none matches (browsers' POSTs are refused; scripts still work).
            tracing::error!(
                "no random bytes for the stats form's token: browser admin actions are refused"
            );
            return String::new();
        }
        raw.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// What a POST to the admin form says of where it comes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Provenance<'a> {
    /// The `Host` header.
    pub host: Option<&'a [u8]>,
    /// The `Origin` header.
    pub origin: Option<&'a [u8]>,
    /// The `Sec-Fetch-Site` header.
    pub fetch_site: Option<&'a [u8]>,
    /// The form's `csrf` field.
    pub token: Option<&'a str>,
}

/// Why an admin POST was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Forged {
    /// `Origin` names another host.
    #[error("Origin is another site")]
    ForeignOrigin,
    /// `Sec-Fetch-Site` says another site sent it.
    #[error("Sec-Fetch-Site says another site sent it")]
    CrossSite,
    /// A browser's POST without the form's token.
    #[error("a browser's POST without the form's token")]
    NoToken,
    /// The token is not this process's.
    #[error("the form's token is wrong")]
    BadToken,
}

/// Whether an admin POST may act (see the module's text).
pub fn check(p: &Provenance) -> Result<(), Forged> {
    if let Some(origin) = p.origin {
        if !same_host(origin, p.host) {
            return Err(Forged::ForeignOrigin);
        }
    }
    if let Some(site) = p.fetch_site {
        let site = site.trim_ascii();
        if !site.eq_ignore_ascii_case(b"same-origin") && !site.eq_ignore_ascii_case(b"none") {
            return Err(Forged::CrossSite);
        }
    }
    let browser = p.origin.is_some() || p.fetch_site.is_some();
    match p.token {
        Some(t) if super::auth::ct_eq(t.as_bytes(), token().as_bytes()) && !token().is_empty() => {
            Ok(())
        }
        Some(_) => Err(Forged::BadToken),
        None if browser => Err(Forged::NoToken),
        None => Ok(()),
    }
}

/// Whether `origin` (`scheme://host[:port]`, or `null`) names the host the
/// request was sent to.
fn same_host(origin: &[u8], host: Option<&[u8]>) -> bool {
    let Some(host) = host else { return false };
    let origin = origin.trim_ascii();
    let Some(pos) = origin.windows(3).position(|w| w == b"://") else {
        // `null` (a sandboxed or privacy-stripped origin) is no host.
        return false;
    };
    let (scheme, rest) = (&origin[..pos], &origin[pos + 3..]);
    let host = host.trim_ascii();
    if rest.eq_ignore_ascii_case(host) {
        return true;
    }
    // The default port may be written on one side only.
    let default = if scheme.eq_ignore_ascii_case(b"https") {
        &b":443"[..]
    } else {
        &b":80"[..]
    };
    let strip = |h: &[u8]| -> Vec<u8> {
        let h = h.to_ascii_lowercase();
        match h.strip_suffix(default) {
            Some(s) => s.to_vec(),
            None => h,
        }
    };
    strip(rest) == strip(host)
}

/// Failed logins per source address.
struct Failures {
    by_source: HashMap<IpAddr, (Instant, u32)>,
}

fn failures() -> &'static Mutex<Failures> {
    static F: OnceLock<Mutex<Failures>> = OnceLock::new();
    F.get_or_init(|| {
        Mutex::new(Failures {
            by_source: HashMap::new(),
        })
    })
}

/// Whether `source` has used up its failed logins for now.
pub fn locked_out(source: IpAddr) -> bool {
    let Ok(f) = failures().lock() else {
        return false;
    };
    matches!(f.by_source.get(&source), Some(&(since, n)) if n >= MAX_FAILURES && since.elapsed() < WINDOW)
}

/// Counts a failed login from `source`.
pub fn failed(source: IpAddr) {
    let Ok(mut f) = failures().lock() else {
        return;
    };
    let now = Instant::now();
    if f.by_source.len() >= MAX_SOURCES && !f.by_source.contains_key(&source) {
        f.by_source
            .retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
        if f.by_source.len() >= MAX_SOURCES {
            // Still full of live windows: the oldest one goes.
            if let Some(oldest) = f
                .by_source
                .iter()
                .min_by_key(|(_, (s, _))| *s)
                .map(|(k, _)| *k)
            {
                f.by_source.remove(&oldest);
            }
        }
    }
    let e = f.by_source.entry(source).or_insert((now, 0));
    if now.duration_since(e.0) >= WINDOW {
        *e = (now, 0);
    }
    e.1 += 1;
}

/// The 429 answer to a source that failed too often.
pub fn too_many() -> Vec<u8> {
    let body = "<html><body><h1>429 Too Many Requests</h1>\nToo many failed logins from your address: try again later.\n</body></html>\n";
    format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nretry-after: {}\r\nconnection: close\r\n\r\n{body}",
        body.len(),
        WINDOW.as_secs()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post<'a>(
        origin: Option<&'a str>,
        site: Option<&'a str>,
        tok: Option<&'a str>,
    ) -> Provenance<'a> {
        Provenance {
            host: Some(b"lb.example:8080"),
            origin: origin.map(str::as_bytes),
            fetch_site: site.map(str::as_bytes),
            token: tok,
        }
    }

    #[test]
    fn browsers_need_the_token_and_the_same_origin() {
        let t = token();
        assert_eq!(t.len(), 32);
        // The page's own form, in a browser.
        assert_eq!(
            check(&post(
                Some("http://lb.example:8080"),
                Some("same-origin"),
                Some(t)
            )),
            Ok(())
        );
        // Another site's form.
        assert_eq!(
            check(&post(
                Some("https://evil.example"),
                Some("cross-site"),
                None
            )),
            Err(Forged::ForeignOrigin)
        );
        assert_eq!(
            check(&post(Some("null"), None, Some(t))),
            Err(Forged::ForeignOrigin)
        );
        assert_eq!(
            check(&post(None, Some("cross-site"), Some(t))),
            Err(Forged::CrossSite)
        );
        assert_eq!(
            check(&post(None, Some("same-site"), Some(t))),
            Err(Forged::CrossSite)
        );
        // A browser without the token, or with a wrong one.
        assert_eq!(
            check(&post(Some("http://lb.example:8080"), None, None)),
            Err(Forged::NoToken)
        );
        assert_eq!(
            check(&post(None, Some("same-origin"), Some("00"))),
            Err(Forged::BadToken)
        );
        // A script: no browser headers.
        assert_eq!(check(&post(None, None, None)), Ok(()));
        assert_eq!(
            check(&post(None, None, Some("wrong"))),
            Err(Forged::BadToken)
        );
    }

    #[test]
    fn origin_matching() {
        assert!(same_host(b"http://a.b", Some(b"a.b")));
        assert!(same_host(b"http://a.b", Some(b"A.B:80")));
        assert!(same_host(b"https://a.b:443", Some(b"a.b")));
        assert!(!same_host(b"https://a.b", Some(b"a.b:8443")));
        assert!(!same_host(b"http://a.b.evil", Some(b"a.b")));
        assert!(!same_host(b"null", Some(b"a.b")));
        assert!(!same_host(b"http://a.b", None));
    }

    #[test]
    fn failed_logins_lock_a_source_out() {
        let src: IpAddr = "192.0.2.77".parse().unwrap();
        let other: IpAddr = "192.0.2.78".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            failed(src);
        }
        assert!(!locked_out(src));
        failed(src);
        assert!(locked_out(src));
        assert!(!locked_out(other));
    }
}
