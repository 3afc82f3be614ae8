//! `peers` sections checked against the rest: every `stick-table ...
//! peers NAME` names a section, the local node is in the section it
//! syncs through, and every other node has an address.

use std::sync::Arc;

use super::diag::{Diagnostics, Span};
use super::model::{Config, Peers};

fn span(p: &Peers) -> Span {
    p.origin.0.clone().unwrap_or_else(|| {
        let f: Arc<str> = format!("peers '{}'", p.name).into();
        Span::file(&f)
    })
}

/// Whether a section syncs anything on this node (HAProxy drops a section
/// that does not name the local node, with a warning).
pub fn active<'a>(c: &'a Config, local: &str) -> impl Iterator<Item = &'a Peers> + 'a {
    let local = local.to_string();
    c.peers
        .iter()
        .filter(move |p| !p.disabled && p.local(&local).is_some())
}

/// The checks.
pub fn check(c: &Config, d: &mut Diagnostics) {
    let local = super::overrides::local_peer(c);
    for p in &c.proxies {
        let Some(t) = &p.stick_table else { continue };
        let Some(name) = &t.peers else { continue };
        if !c.peers.iter().any(|s| &s.name == name) {
            let at = t.origin.0.clone().unwrap_or_else(|| {
                let f: Arc<str> = format!("proxy '{}'", p.name).into();
                Span::file(&f)
            });
            d.error(
                at,
                format!("Proxy '{}': unable to find sync peers '{name}'.", p.name),
            );
        }
    }
    for s in &c.peers {
        let Some(me) = s.local(&local) else {
            if !s.disabled {
                d.warning(
                    span(s),
                    format!(
                        "Removing incomplete section 'peers {}' (no peer named '{local}').",
                        s.name
                    ),
                );
            }
            continue;
        };
        if me.address.is_none() && s.bind.is_none() {
            d.error(
                span(s),
                format!(
                    "peers section '{}': the local peer '{local}' has no address to listen on (give it one, or add a 'bind' line)",
                    s.name
                ),
            );
        }
        for n in s.peers.iter().filter(|n| n.name != local) {
            if n.address.is_none() {
                d.error(
                    span(s),
                    format!(
                        "peers section '{}': peer '{}' has no address",
                        s.name, n.name
                    ),
                );
            }
        }
    }
}
