//! Settings fulcrum accepts (so that a haproxy.cfg runs unchanged) but does
//! not act on yet. Each one gets a warning at its line that says what it
//! would do in HAProxy and that fulcrum ignores it, so that "accepted"
//! never silently means "done". When a setting becomes acted on, its line
//! here goes away.

use super::diag::{Diagnostics, Span};
use super::model::{CookieMethod, Proxy};

/// Warns about every setting of `p` that is parsed and not acted on.
pub fn warn(p: &Proxy, d: &mut Diagnostics) {
    let at = |kw: &str| {
        p.span_of(kw)
            .cloned()
            .unwrap_or_else(|| Span::file(&"<model>".into()))
    };
    for b in &p.bind {
        let bind_at = b.origin.0.clone().unwrap_or_else(|| at("bind"));
        let mut bind_say = |param: &str, what: &str| {
            d.warning(
                bind_at.clone(),
                format!("'bind ... {param}' is ignored: {what}"),
            )
        };
        if b.maxconn.is_some() {
            bind_say(
                "maxconn",
                "per-listener limits are not enforced yet; the proxy's 'maxconn' applies",
            );
        }
        if b.defer_accept {
            bind_say("defer-accept", "TCP_DEFER_ACCEPT is not set yet");
        }
        if b.tfo {
            bind_say(
                "tfo",
                "TCP Fast Open is not enabled yet (connections open with the usual handshake)",
            );
        }
        if !b.alpn.is_empty() && !b.ssl {
            bind_say(
                "alpn",
                "ALPN needs TLS, which fulcrum does not terminate yet",
            );
        }
    }
    let mut say = |kw: &str, what: &str| {
        d.warning(at(kw), format!("'{kw}' is ignored: {what}"));
    };
    if p.option.logasap && p.mode == super::model::Mode::Http {
        say(
            "option logasap",
            "in mode http, lines are sent when the exchange ends, not when the response starts (mode tcp acts on it)",
        );
    }
    let t = &p.timeout;
    for (set, kw) in [
        (t.client_fin.is_some(), "timeout client-fin"),
        (t.server_fin.is_some(), "timeout server-fin"),
        (t.tarpit.is_some(), "timeout tarpit"),
    ] {
        if set {
            say(
                kw,
                "half-closed and tarpitted connections use the ordinary timeouts",
            );
        }
    }
    if let Some(c) = &p.cookie {
        if matches!(c.method, Some(CookieMethod::Rewrite | CookieMethod::Prefix)) {
            say(
                "cookie",
                "only the 'insert' method is acted on; 'rewrite' and 'prefix' cookies are passed through untouched",
            );
        }
        if c.postonly || c.preserve || c.maxidle.is_some() || c.maxlife.is_some() {
            say(
                "cookie",
                "'postonly', 'preserve', 'maxidle' and 'maxlife' are not acted on yet",
            );
        }
    }
}
