//! Server addresses given as names: which `resolvers` section asks for
//! them at run time, and what address a server starts with (`init-addr`).

use std::net::{IpAddr, ToSocketAddrs};

use super::diag::{Diagnostics, Span};
use super::model::{Config, InitAddr, Proxy, Server};
use crate::util::addr::Host;

/// The address a server starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAddr {
    /// This one.
    Ip(IpAddr),
    /// None yet: the server starts in maintenance until its name resolves
    /// (`init-addr none`, or a name that a `resolvers` section will ask).
    Unresolved,
}

/// Why a server has no address to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// Every method was tried (`libc` among them) and failed.
    #[error("could not resolve address '{0}'")]
    Unresolvable(String),
    /// No method in the list can find an address (`init-addr last` alone:
    /// fulcrum has no server-state file).
    #[error("no method found to resolve address '{0}'")]
    NoMethod(String),
    /// A SRV label with no `resolvers` to ask.
    #[error("'{0}' is a SRV label, which needs 'resolvers' to be resolved")]
    SrvWithoutResolvers(String),
}

/// The address `s` starts with, trying its `init-addr` methods in order
/// (HAProxy's default: `last,libc`). A server with `resolvers` whose name
/// does not resolve starts unresolved, as HAProxy starts it ("disabling
/// server"), rather than failing the start.
pub fn start_address(s: &Server) -> Result<StartAddr, StartError> {
    let name = match &s.address.host {
        Host::Ip(ip) => return Ok(StartAddr::Ip(*ip)),
        Host::Name(n) => n,
    };
    if s.is_srv_label() {
        // Only a SRV query can fill it: it starts unresolved.
        return match s.resolvers {
            Some(_) => Ok(StartAddr::Unresolved),
            None => Err(StartError::SrvWithoutResolvers(name.clone())),
        };
    }
    const DEFAULT: [InitAddr; 2] = [InitAddr::Last, InitAddr::Libc];
    let methods = if s.init_addr.is_empty() {
        &DEFAULT[..]
    } else {
        &s.init_addr[..]
    };
    for m in methods {
        match m {
            // fulcrum keeps no server-state file, so there is no last one.
            InitAddr::Last => {}
            InitAddr::Libc => {
                if let Some(a) = (name.as_str(), 0)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                {
                    return Ok(StartAddr::Ip(a.ip()));
                }
            }
            InitAddr::None => return Ok(StartAddr::Unresolved),
            InitAddr::Ip(ip) => return Ok(StartAddr::Ip(*ip)),
        }
    }
    if s.resolvers.is_some() && methods.contains(&InitAddr::Libc) {
        return Ok(StartAddr::Unresolved);
    }
    Err(if methods.contains(&InitAddr::Libc) {
        StartError::Unresolvable(name.clone())
    } else {
        StartError::NoMethod(name.clone())
    })
}

/// HAProxy makes a `resolvers default` section from /etc/resolv.conf
/// when the configuration has none of that name; fulcrum makes it when a
/// server asks for it (so `convert` writes it out).
pub fn add_default_resolvers(c: &mut Config) {
    const NAME: &str = "default";
    let wanted = c
        .proxies
        .iter()
        .flat_map(|p| &p.server)
        .any(|s| s.resolvers.as_deref() == Some(NAME));
    if wanted && !c.resolvers.iter().any(|r| r.name == NAME) {
        let mut r = super::model::Resolvers::new(NAME);
        r.parse_resolv_conf = true;
        c.resolvers.push(r);
    }
}

fn span(p: &Proxy, s: &Server) -> Span {
    s.origin
        .0
        .clone()
        .or_else(|| p.span_of("server").cloned())
        .unwrap_or_else(|| Span::file(&format!("backend '{}'", p.name).into()))
}

/// The model's own checks: `resolvers` named by servers exist, and each
/// section has a name server to ask.
pub fn check(c: &Config, d: &mut Diagnostics) {
    for r in &c.resolvers {
        if r.nameservers.is_empty() && !r.parse_resolv_conf {
            let at = r
                .origin
                .0
                .clone()
                .unwrap_or_else(|| Span::file(&format!("resolvers '{}'", r.name).into()));
            d.warning(
                at,
                format!("resolvers '{}' has no nameservers configured!", r.name),
            );
        }
    }
    for p in c.proxies.iter().filter(|p| p.kind.has_backend()) {
        for s in &p.server {
            if let Some(r) = &s.resolvers {
                if !c.resolvers.iter().any(|x| &x.name == r) {
                    d.error(
                        span(p, s),
                        format!(
                            "backend '{}', server '{}': unable to find required resolvers '{r}'",
                            p.name, s.name
                        ),
                    );
                }
            }
        }
    }
}

/// The start-up addresses, which may ask the system's resolver: an error
/// for a server with none, a warning for one that starts unresolved
/// although it asked `libc`.
pub fn check_start(c: &Config, d: &mut Diagnostics) {
    for p in c.proxies.iter().filter(|p| p.kind.has_backend()) {
        for s in &p.server {
            let who = format!("'server {}/{}'", p.name, s.name);
            match start_address(s) {
                Err(e) => d.error(span(p, s), format!("{who} : {e}")),
                Ok(StartAddr::Unresolved)
                    if !s.is_srv_label() && !s.init_addr.contains(&InitAddr::None) =>
                {
                    let name = s.address.host.to_string();
                    d.warning(
                        span(p, s),
                        format!("{who} : could not resolve address '{name}', disabling server."),
                    )
                }
                Ok(_) => {}
            }
        }
    }
}
