//! `stats admin`: the page's form puts servers into MAINT, DRAIN or READY.
//! The POST is answered, as in HAProxy, with a 303 back to the page carrying
//! the outcome (`;st=DONE`, `;st=NONE`, `;st=DENY`, ...), and the change
//! shows at once: the balancer reads each server's live state per request.

use crate::runtime::Runtime;
use crate::state::Admin;

/// The outcome shown back on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every named server was changed.
    Done,
    /// Nothing to do (no server named, or nothing changed).
    None,
    /// Some servers did not exist.
    Partial,
    /// The form was invalid.
    Error,
    /// Not allowed: no `stats admin` rule holds for this client.
    Deny,
}

impl Outcome {
    /// The `st=` code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Done => "DONE",
            Outcome::None => "NONE",
            Outcome::Partial => "PART",
            Outcome::Error => "ERRP",
            Outcome::Deny => "DENY",
        }
    }

    /// The sentence the page shows.
    pub fn message(code: &str) -> Option<&'static str> {
        Some(match code {
            "DONE" => "Action processed successfully.",
            "NONE" => "Nothing has changed.",
            "PART" => "Action not processed for some servers: they were not found.",
            "ERRP" => "Action not processed: the request was invalid.",
            "DENY" => "Action denied: the stats page is not in admin mode for you.",
            _ => return None,
        })
    }
}

/// Decodes application/x-www-form-urlencoded text.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first value of form field `name` in `body`.
pub fn field(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

/// Who asks for an admin change, for the log.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The `stats auth` user, when there is one.
    pub user: Option<&'a str>,
    /// The client's address.
    pub source: std::net::IpAddr,
}

/// Applies a form body: `s=SERVER` (repeated), `action=ready|drain|maint`,
/// `b=BACKEND` (a name, or `#ID` as HAProxy's own page sends). Each change
/// is logged with who asked for it.
pub fn apply(rt: &Runtime, body: &[u8], actor: Actor) -> Outcome {
    let text = String::from_utf8_lossy(body);
    let (mut servers, mut action, mut backend) = (Vec::new(), None, None);
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(k).as_str() {
            "s" => servers.push(decode(v)),
            "action" => action = Some(decode(v)),
            "b" => backend = Some(decode(v)),
            _ => {}
        }
    }
    let admin = match action.as_deref() {
        Some("ready") => Admin::Ready,
        Some("drain") => Admin::Drain,
        Some("maint") => Admin::Maint,
        _ => return Outcome::Error,
    };
    let Some(backend) = backend else {
        return Outcome::Error;
    };
    let be = match backend.strip_prefix('#') {
        Some(id) => {
            let rows = super::snapshot::take(rt);
            let name = rows
                .iter()
                .find(|r| r.get("iid") == id)
                .map(|r| r.get("pxname").to_string());
            name.and_then(|n| rt.backends.iter().find(|b| b.name == n))
        }
        None => rt.backends.iter().find(|b| b.name == backend),
    };
    let Some(be) = be else { return Outcome::Error };
    if servers.is_empty() {
        return Outcome::None;
    }
    let mut changed = 0;
    let mut missing = 0;
    for name in &servers {
        match be.servers.iter().find(|s| &s.name == name) {
            Some(s) => {
                if crate::runtime::admin::set_admin(rt, be, s, admin) {
                    changed += 1;
                    tracing::warn!(
                        user = %actor.user.unwrap_or("-"),
                        source = %actor.source,
                        backend = %be.name,
                        server = %s.name,
                        action = %action.as_deref().unwrap_or(""),
                        "stats page admin action"
                    );
                }
            }
            None => missing += 1,
        }
    }
    match (changed, missing) {
        (_, m) if m > 0 && m < servers.len() => Outcome::Partial,
        (_, m) if m > 0 => Outcome::Error,
        (0, _) => Outcome::None,
        _ => Outcome::Done,
    }
}

/// The 303 answer back to the page.
pub fn redirect(uri: &str, outcome: Outcome) -> Vec<u8> {
    format!(
        "HTTP/1.1 303 See Other\r\ncache-control: no-cache\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nlocation: {uri};st={}\r\n\r\n",
        outcome.code()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(decode("a+b%2Fc"), "a b/c");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%41"), "A");
    }

    #[test]
    fn form_fields() {
        assert_eq!(field(b"s=a&csrf=x%41&b=1", "csrf").as_deref(), Some("xA"));
        assert_eq!(field(b"s=a", "csrf"), None);
        assert_eq!(field(b"csrf", "csrf").as_deref(), Some(""));
    }
}
