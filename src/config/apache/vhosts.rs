//! Name-based `<VirtualHost>`s: httpd picks, among the virtual hosts of
//! the address a request came in on, the first whose `ServerName` or
//! `ServerAlias` is the request's host name; with none, the first of
//! them (the default). A host named by its address (`10.0.0.1:80`) wins
//! over `*:80`. The conversion writes that choice as `txn.vhost`, and
//! each virtual host's rules hold only when it is the one chosen.
//!
//! What the main server holds outside any `<VirtualHost>` applies to
//! every request, as httpd's virtual hosts inherit it (its ProxyPass
//! lines come before a virtual host's own, as httpd merges them).

use super::cfg::{quote, Section};
use super::tree::Node;
use crate::config::{Diagnostics, Span};

/// One `<VirtualHost>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VHost {
    /// From 1, in the order written.
    pub number: usize,
    /// Its addresses: (IP, or None for `*` and `_default_`; port, or None
    /// for any).
    pub addrs: Vec<(Option<String>, Option<u16>)>,
    /// `ServerName` and `ServerAlias` names, lower case.
    pub names: Vec<String>,
    /// Where it opens.
    pub at: Span,
}

/// The virtual hosts of `nodes`, in order.
pub fn vhosts(nodes: &[Node], diags: &mut Diagnostics) -> Vec<VHost> {
    let mut out = Vec::new();
    walk(nodes, &mut out, diags);
    out
}

fn walk(nodes: &[Node], out: &mut Vec<VHost>, diags: &mut Diagnostics) {
    for node in nodes {
        let Node::Section(s) = node else { continue };
        if !s.name.eq_ignore_ascii_case("VirtualHost") {
            walk(&s.body, out, diags);
            continue;
        }
        let mut addrs = Vec::new();
        for a in &s.args {
            match address(a) {
                Ok(addr) => addrs.push(addr),
                Err(e) => diags.error(s.at.clone(), format!("<VirtualHost {a}>: {e}")),
            }
        }
        let mut names = Vec::new();
        for node in &s.body {
            if let Node::Directive(d) = node {
                if d.is("ServerName") {
                    if let Some(n) = d.args.first() {
                        names.insert(0, host_part(n));
                    }
                } else if d.is("ServerAlias") {
                    names.extend(d.args.iter().map(|a| a.to_ascii_lowercase()));
                }
            }
        }
        out.push(VHost {
            number: out.len() + 1,
            addrs,
            names,
            at: s.at.clone(),
        });
    }
}

/// `ServerName [scheme://]host[:port]`'s host, lower case.
fn host_part(name: &str) -> String {
    let name = name.split("://").last().unwrap_or(name);
    let host = match name.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => name,
    };
    host.to_ascii_lowercase()
}

/// `*:80`, `_default_:443`, `10.0.0.1:80`, `10.0.0.1`, `*`.
fn address(a: &str) -> Result<(Option<String>, Option<u16>), String> {
    let (host, port) = match a.rsplit_once(':') {
        Some((h, "*")) => (h, None),
        Some((h, p)) if !h.is_empty() && !h.ends_with(':') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| format!("'{p}' is not a port"))?;
            (h, Some(port))
        }
        _ => (a, None),
    };
    let ip = match host {
        "*" | "_default_" => None,
        h => {
            let bare = h.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<std::net::IpAddr>().is_err() {
                return Err(format!("'{h}' is not an address (httpd matches virtual hosts by address, then by name)"));
            }
            Some(bare.to_string())
        }
    };
    Ok((ip, port))
}

/// The number of the virtual host whose section opens at `at`.
pub fn number_at(vhosts: &[VHost], at: &Span) -> Option<usize> {
    vhosts.iter().find(|v| v.at == *at).map(|v| v.number)
}

/// The condition a virtual host's rules add (empty for the main server).
pub fn cond(vhost: Option<usize>) -> String {
    match vhost {
        Some(n) => format!(" {{ var(txn.vhost) -m int {n} }}"),
        None => String::new(),
    }
}

/// The lines that choose `txn.vhost`: for each address, its first
/// virtual host by default, then each by name, last to first so the
/// first that names the host wins; address-specific ones after `*`.
pub fn select(vhosts: &[VHost], fe: &mut Section) {
    if vhosts.is_empty() {
        return;
    }
    fe.note("<VirtualHost>: the first whose ServerName or ServerAlias is the host asked for; else the first of its address");
    for v in vhosts {
        let acl = format!("vhost{}", v.number);
        for n in &v.names {
            if let Some(suffix) = n.strip_prefix('*') {
                fe.line(format!(
                    "acl {acl} req.hdr(host),field(1,:),lower -m end {}",
                    quote(suffix)
                ));
            } else if n.contains(['*', '?']) {
                let re = regex::escape(n).replace("\\*", ".*").replace("\\?", ".");
                fe.line(format!(
                    "acl {acl} req.hdr(host),field(1,:),lower -m reg {}",
                    super::cfg::regex_word(&format!("^{re}$"))
                ));
            } else {
                fe.line(format!(
                    "acl {acl} req.hdr(host),field(1,:),lower -m str {}",
                    quote(n)
                ));
            }
        }
    }
    // Every distinct address, `*` ones first so specific ones win.
    let mut addrs: Vec<&(Option<String>, Option<u16>)> = Vec::new();
    for v in vhosts {
        for a in &v.addrs {
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
    }
    addrs.sort_by_key(|a| a.0.is_some());
    for addr in addrs {
        let on = on_address(addr);
        let here: Vec<&VHost> = vhosts.iter().filter(|v| v.addrs.contains(addr)).collect();
        if let Some(first) = here.first() {
            fe.line(format!(
                "http-request set-var(txn.vhost) int({}){on}",
                first.number
            ));
        }
        for v in here.iter().rev().filter(|v| !v.names.is_empty()) {
            let sep = if on.is_empty() { " if" } else { "" };
            fe.line(format!(
                "http-request set-var(txn.vhost) int({}){on}{sep} vhost{}",
                v.number, v.number
            ));
        }
    }
}

/// ` if { dst IP } { dst_port P }` for an address (empty for `*` with any port).
fn on_address(addr: &(Option<String>, Option<u16>)) -> String {
    let mut s = String::new();
    if let Some(ip) = &addr.0 {
        s.push_str(&format!(" {{ dst {ip} }}"));
    }
    if let Some(p) = addr.1 {
        s.push_str(&format!(" {{ dst_port {p} }}"));
    }
    if s.is_empty() {
        s
    } else {
        format!(" if{s}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_httpd_writes_them() {
        assert_eq!(address("*:80").unwrap(), (None, Some(80)));
        assert_eq!(address("_default_:443").unwrap(), (None, Some(443)));
        assert_eq!(
            address("10.0.0.1:8080").unwrap(),
            (Some("10.0.0.1".into()), Some(8080))
        );
        assert_eq!(address("*").unwrap(), (None, None));
        assert_eq!(address("[::1]:80").unwrap(), (Some("::1".into()), Some(80)));
        assert!(address("www.example.com:80").is_err());
        assert_eq!(host_part("https://WWW.Example.com:443"), "www.example.com");
    }
}
