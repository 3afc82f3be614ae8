//! `<Location>` sections: who may reach a path (mod_access_compat's
//! `Order`/`Allow`/`Deny`, mod_authz_host's `Require`), and what answers
//! it (`SetHandler server-status|balancer-manager`). A location matches
//! by segment as `ProxyPass` does. Rules become `http-request deny` with
//! httpd's 403, in the frontend, before any routing.

use super::cfg::{apache_line, Section};
use super::tree::{Directive, Node};
use super::vhosts::{cond, number_at, VHost};
use crate::config::Diagnostics;

/// httpd's order of `Allow` and `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// `Order deny,allow` (the default): allowed unless denied and not
    /// allowed.
    DenyAllow,
    /// `Order allow,deny` (and `mutual-failure`): allowed only if allowed
    /// and not denied.
    AllowDeny,
}

/// The sources one `Allow`/`Deny`/`Require` line names, as `src`
/// patterns; `All` for everyone.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sources {
    All,
    Nets(Vec<String>),
}

/// A `SetHandler` of a location: the handler, the location's ACL (with
/// its virtual host's condition), and its path.
#[derive(Debug, Clone)]
pub struct Handler {
    /// `server-status` or `balancer-manager`.
    pub name: String,
    /// The location's ACL in the frontend.
    pub acl: String,
    /// The location's path.
    pub path: String,
    /// Where its `<Location>` opens.
    pub at: crate::config::Span,
}

/// What a `<Location>` holds that the conversion reads.
#[derive(Debug, Default)]
struct Rules {
    order: Option<Order>,
    allow: Vec<Sources>,
    deny: Vec<Sources>,
    require: Vec<Sources>,
    require_denied: bool,
    handler: Option<String>,
}

/// Writes the rules of every `<Location>` in `nodes` into `fe`, numbered
/// from 1; the handlers they name are returned with the location's ACL.
pub fn locations(
    nodes: &[Node],
    vhosts: &[VHost],
    fe: &mut Section,
    diags: &mut Diagnostics,
) -> Vec<Handler> {
    let mut handlers = Vec::new();
    let mut n = 0;
    let mut w = Walk {
        vhosts,
        fe,
        diags,
        n: &mut n,
        handlers: &mut handlers,
    };
    w.walk(nodes, None);
    handlers
}

struct Walk<'a, 'd> {
    vhosts: &'a [VHost],
    fe: &'d mut Section,
    diags: &'d mut Diagnostics,
    n: &'d mut usize,
    handlers: &'d mut Vec<Handler>,
}

impl Walk<'_, '_> {
    fn walk(&mut self, nodes: &[Node], vhost: Option<usize>) {
        for node in nodes {
            let Node::Section(s) = node else { continue };
            if s.location().is_none() {
                let vhost = number_at(self.vhosts, &s.at).or(vhost);
                self.walk(&s.body, vhost);
                continue;
            }
            self.location(s, vhost);
        }
    }

    /// One location: its directives read, then its ACL, its deny rules,
    /// and its handler.
    fn location(&mut self, s: &super::tree::Section, vhost: Option<usize>) {
        let Some((path, regex)) = s.location() else {
            self.diags
                .error(s.at.clone(), format!("<{}> needs a path", s.name));
            return;
        };
        if let (true, Err(e)) = (regex, regex::Regex::new(path)) {
            self.diags
                .error(s.at.clone(), format!("<{} {path}>: {e}", s.name));
            return;
        }
        let mut rules = Rules::default();
        let mut read = Vec::new();
        for node in &s.body {
            if let Node::Directive(d) = node {
                if rule(d, &mut rules, self.diags) {
                    read.push(d);
                }
            }
        }
        if read.is_empty() {
            return;
        }
        *self.n += 1;
        let acl = format!("location{}", self.n);
        let fe = &mut *self.fe;
        fe.note(format!("<{} {}>    ({})", s.name, s.args.join(" "), s.at));
        for d in &read {
            fe.note(format!("  {}    ({})", apache_line(d), d.at));
        }
        if regex {
            fe.line(format!(
                "acl {acl} path_reg {}",
                super::cfg::regex_word(path)
            ));
        } else {
            for line in super::cfg::segment_acl(&acl, path) {
                fe.line(line);
            }
        }
        let when = format!("{acl}{}", cond(vhost));
        deny_rules(&when, &acl, &rules, fe);
        if let Some(name) = rules.handler {
            self.handlers.push(Handler {
                name,
                acl: when,
                path: path.to_string(),
                at: s.at.clone(),
            });
        }
    }
}

/// Reads one directive of a location; false if it is not one of these.
fn rule(d: &Directive, r: &mut Rules, diags: &mut Diagnostics) -> bool {
    let args: Vec<&str> = d.args.iter().map(String::as_str).collect();
    let access = d.is("Allow") || d.is("Deny") || d.is("Require") || d.is("Order");
    if access && args.iter().any(|a| a.starts_with('#')) {
        diags.error(
            d.at.clone(),
            format!("{}: a comment after the arguments (httpd refuses it: comments take a line of their own)", d.name),
        );
        return false;
    }
    if d.is("Order") {
        r.order = match args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
            Some("deny,allow") => Some(Order::DenyAllow),
            Some("allow,deny") | Some("mutual-failure") => Some(Order::AllowDeny),
            _ => {
                diags.error(
                    d.at.clone(),
                    "order takes one argument: 'allow,deny', 'deny,allow', or 'mutual-failure' (as httpd says)",
                );
                return false;
            }
        };
    } else if d.is("Allow") || d.is("Deny") {
        // httpd refuses a bare `Allow from` (seed 000 lost its address).
        let Some(("from", hosts)) = args
            .split_first()
            .map(|(f, rest)| (f.to_ascii_lowercase(), rest))
            .as_ref()
            .map(|(f, rest)| (f.as_str(), *rest))
            .filter(|(_, rest)| !rest.is_empty())
        else {
            diags.error(
                d.at.clone(),
                format!(
                    "{} requires at least two arguments, 'from' followed by hostnames or IP-address wildcards (httpd refuses it too)",
                    d.name.to_ascii_lowercase()
                ),
            );
            return false;
        };
        let sources = sources(hosts, d, diags);
        if d.is("Allow") {
            r.allow.push(sources);
        } else {
            r.deny.push(sources);
        }
    } else if d.is("Require") {
        match args.as_slice() {
            ["all", "granted"] => r.require.push(Sources::All),
            ["all", "denied"] => r.require_denied = true,
            ["ip", hosts @ ..] if !hosts.is_empty() => r.require.push(sources(hosts, d, diags)),
            ["local"] => r
                .require
                .push(Sources::Nets(vec!["127.0.0.0/8".into(), "::1".into()])),
            _ => {
                diags.warning(
                    d.at.clone(),
                    format!(
                        "{} is not translated: only 'all', 'ip' and 'local' are",
                        apache_line(d)
                    ),
                );
                return false;
            }
        }
    } else if d.is("SetHandler") {
        match args.first().copied() {
            Some(h @ ("server-status" | "balancer-manager")) => r.handler = Some(h.to_string()),
            _ => {
                diags.warning(
                    d.at.clone(),
                    format!("{} is not translated", apache_line(d)),
                );
                return false;
            }
        }
    } else {
        return false;
    }
    true
}

/// `Allow from`/`Require ip` arguments as `src` patterns: addresses,
/// networks, httpd's partial addresses (`10.1` is 10.1.0.0/16).
fn sources(hosts: &[&str], d: &Directive, diags: &mut Diagnostics) -> Sources {
    let mut nets = Vec::new();
    for h in hosts {
        if h.eq_ignore_ascii_case("all") {
            return Sources::All;
        }
        if h.parse::<ipnet::IpNet>().is_ok() || h.parse::<std::net::IpAddr>().is_ok() {
            nets.push(h.to_string());
            continue;
        }
        let parts: Vec<&str> = h.trim_end_matches('.').split('.').collect();
        if (1..4).contains(&parts.len()) && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
            let mut octets = parts.clone();
            octets.resize(4, "0");
            nets.push(format!("{}/{}", octets.join("."), 8 * parts.len()));
            continue;
        }
        diags.warning(
            d.at.clone(),
            format!("{}: '{h}' is a host name or env= test; only addresses are translated, so it matches no one", d.name),
        );
    }
    Sources::Nets(nets)
}

/// The `http-request deny` lines for one location: `when` is its ACL and
/// its virtual host's condition; `acl` names its own ACLs.
fn deny_rules(when: &str, acl: &str, r: &Rules, fe: &mut Section) {
    let deny = "http-request deny deny_status 403";
    if r.require_denied {
        fe.line(format!("{deny} if {when}"));
        return;
    }
    let allowed = write_acl(&format!("{acl}_allow"), &r.allow, fe);
    let denied = write_acl(&format!("{acl}_deny"), &r.deny, fe);
    if r.order.is_some() || !r.allow.is_empty() || !r.deny.is_empty() {
        match r.order.unwrap_or(Order::DenyAllow) {
            Order::DenyAllow => match (&denied, &allowed) {
                (Some(dn), Some(al)) => fe.line(format!("{deny} if {when} {dn} !{al}")),
                (Some(dn), None) => fe.line(format!("{deny} if {when} {dn}")),
                (None, _) => {}
            },
            Order::AllowDeny => {
                match &allowed {
                    Some(al) => fe.line(format!("{deny} if {when} !{al}")),
                    None => fe.line(format!("{deny} if {when}")),
                }
                if let Some(dn) = &denied {
                    fe.line(format!("{deny} if {when} {dn}"));
                }
            }
        }
    }
    if !r.require.is_empty() {
        if let Some(req) = write_acl(&format!("{acl}_require"), &r.require, fe) {
            fe.line(format!("{deny} if {when} !{req}"));
        } else {
            fe.line(format!("{deny} if {when}"));
        }
    }
}

/// An ACL named `name` matching any of `lists`; None if it matches no one.
fn write_acl(name: &str, lists: &[Sources], fe: &mut Section) -> Option<String> {
    if lists.contains(&Sources::All) {
        fe.line(format!("acl {name} always_true"));
        return Some(name.to_string());
    }
    let nets: Vec<&String> = lists
        .iter()
        .flat_map(|s| match s {
            Sources::Nets(n) => n.iter(),
            Sources::All => [].iter(),
        })
        .collect();
    if nets.is_empty() {
        return None;
    }
    let words: Vec<&str> = nets.iter().map(|s| s.as_str()).collect();
    fe.line(format!("acl {name} src {}", words.join(" ")));
    Some(name.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::Diagnostics;

    /// httpd refuses a comment after `Require`'s or `Allow`'s arguments
    /// (a public configuration had one); so does the conversion.
    #[test]
    fn a_comment_after_access_arguments_is_an_error() {
        let mut diags = Diagnostics::default();
        crate::config::apache::convert::convert_text(
            "<Location /s>\nRequire ip 10.0.0.0/24  # office\n</Location>\n<Location /t>\nAllow from 10.1 #x\n</Location>\n",
            "t.conf",
            false,
            &mut diags,
        );
        let lines: Vec<Option<u32>> = diags.errors().map(|e| e.span.line).collect();
        assert_eq!(lines, [Some(2), Some(5)], "{diags}");
    }
}
