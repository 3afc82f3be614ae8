//! `ProxyPass` and `ProxyPassMatch`: which request paths go where. httpd
//! tries them in the order written and the first that matches wins; a
//! `ProxyPass` path matches by segment (`/t1/api` takes `/t1/api` and
//! `/t1/api/x`, not `/t1/apix`), a `ProxyPassMatch` by regular
//! expression. A target names a balancer, a single server, or `!` (the
//! path is not proxied).

use super::balancers::{authority, Balancer, Scheme};
use super::tree::{Directive, Node};
use super::vhosts::{number_at, VHost};
use crate::config::{Diagnostics, Span};

/// Where a pass sends its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `balancer://NAME/PATH`.
    Balancer {
        /// The balancer's name.
        name: String,
        /// The path the member is sent in place of the matched prefix.
        path: String,
    },
    /// `http[s]://HOST[:PORT]/PATH`: one server.
    Server {
        /// Its scheme.
        scheme: Scheme,
        /// Its host.
        host: String,
        /// Its port.
        port: u16,
        /// The path in place of the matched prefix.
        path: String,
    },
    /// `!`: httpd does not proxy the path.
    Exclude,
}

/// How a pass matches the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// `ProxyPass PATH`: the path, or the path and a `/` and more.
    Prefix(String),
    /// `ProxyPassMatch REGEX`.
    Regex(String),
    /// `RewriteRule REGEX URL [P]` (with `NC`: without case): the
    /// target, with `$N`, is the whole path the member is sent.
    Rewrite(String, bool),
}

/// One `ProxyPass` or `ProxyPassMatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Its number, from 1 in the order written (the order httpd tries).
    pub number: usize,
    /// What it matches.
    pub matches: Match,
    /// Where it sends.
    pub target: Target,
    /// The `<VirtualHost>` it is in (its number), if any.
    pub vhost: Option<usize>,
    /// Its `key=value` parameters: the balancer's (as `ProxySet` says
    /// them) or, for a single server, the server's.
    pub params: Vec<String>,
    /// Where it was written.
    pub at: Span,
}

/// The passes of `nodes`, at any depth, in order. A pass inside
/// `<Location PATH>` takes the location's path. A balancer target that
/// names no balancer of `known` is an error at its line (seed 001's
/// `tlrws` for `t1rws`).
///
/// The main server's passes come first, then each virtual host's, as
/// httpd merges a virtual host's list after the main server's; they are
/// numbered in that order.
pub fn passes(
    nodes: &[Node],
    known: &[Balancer],
    vhosts: &[VHost],
    diags: &mut Diagnostics,
) -> Vec<Pass> {
    let mut out = Vec::new();
    let mut walk = Walk {
        known,
        vhosts,
        diags,
        out: &mut out,
    };
    walk.collect(nodes, None, None);
    out.sort_by_key(|p| p.vhost);
    for (i, p) in out.iter_mut().enumerate() {
        p.number = i + 1;
    }
    out
}

struct Walk<'a, 'd> {
    known: &'a [Balancer],
    vhosts: &'a [VHost],
    diags: &'d mut Diagnostics,
    out: &'d mut Vec<Pass>,
}

impl Walk<'_, '_> {
    fn collect(&mut self, nodes: &[Node], location: Option<(&str, bool)>, vhost: Option<usize>) {
        for node in nodes {
            match node {
                Node::Section(s) => {
                    let inner = s.location().or(location);
                    let vhost = number_at(self.vhosts, &s.at).or(vhost);
                    self.collect(&s.body, inner, vhost);
                }
                Node::Directive(d) if d.is("ProxyPass") || d.is("ProxyPassMatch") => {
                    if let Some(mut p) = pass(d, location, self.known, 0, self.diags) {
                        p.vhost = vhost;
                        self.out.push(p);
                    }
                }
                Node::Directive(_) => {}
            }
        }
    }
}

fn pass(
    d: &Directive,
    location: Option<(&str, bool)>,
    known: &[Balancer],
    number: usize,
    diags: &mut Diagnostics,
) -> Option<Pass> {
    // Inside <Location>, the path is the location's and only the target
    // is written.
    let (path, rest) = match location {
        Some((loc, _)) => (loc.to_string(), d.args.as_slice()),
        None => {
            let (first, rest) = d.args.split_first().or_else(|| {
                diags.error(
                    d.at.clone(),
                    format!("{} needs a path and a target", d.name),
                );
                None
            })?;
            (first.clone(), rest)
        }
    };
    let Some((target, params)) = rest.split_first() else {
        diags.error(d.at.clone(), format!("{} {path}: no target", d.name));
        return None;
    };
    // In <LocationMatch>, a ProxyPass takes the section's regex.
    let regex = d.is("ProxyPassMatch") || location.is_some_and(|(_, re)| re);
    let matches = if regex {
        if let Err(e) = regex::Regex::new(&path) {
            diags.error(d.at.clone(), format!("ProxyPassMatch '{path}': {e}"));
            return None;
        }
        Match::Regex(path)
    } else {
        Match::Prefix(path)
    };
    let target = self::target(target, known, d, diags)?;
    Some(Pass {
        number,
        matches,
        target,
        vhost: None,
        params: params.to_vec(),
        at: d.at.clone(),
    })
}

pub(super) fn target(
    url: &str,
    known: &[Balancer],
    d: &Directive,
    diags: &mut Diagnostics,
) -> Option<Target> {
    if url == "!" {
        return Some(Target::Exclude);
    }
    if let Some(rest) = url.strip_prefix("balancer://") {
        let (name, path) = split_path(rest);
        if known.iter().any(|b| b.name == name) {
            return Some(Target::Balancer {
                name: name.to_string(),
                path: path.to_string(),
            });
        }
        let names: Vec<&str> = known.iter().map(|b| b.name.as_str()).collect();
        diags.error(
            d.at.clone(),
            format!(
                "{} {url}: no balancer named '{name}' (known: {})",
                d.name,
                names.join(", ")
            ),
        );
        return None;
    }
    match authority(url) {
        Ok((scheme, host, port, path)) => Some(Target::Server {
            scheme,
            host,
            port,
            path,
        }),
        Err(e) => {
            diags.error(d.at.clone(), format!("{} {url}: {e}", d.name));
            None
        }
    }
}

/// The passes of mod_rewrite's `[P]` rules, which httpd runs before any
/// `ProxyPass`, then `later`, numbered again in that order.
pub fn with_rewrites(
    rules: &[super::rewrite::Rule],
    known: &[Balancer],
    later: Vec<Pass>,
    diags: &mut Diagnostics,
) -> Vec<Pass> {
    let mut out = Vec::new();
    for r in rules {
        let (pattern, nocase, url) = match super::rewrite::proxy_rule(r) {
            None => continue,
            Some(Ok(rule)) => rule,
            Some(Err(why)) => {
                diags.warning(r.directive.at.clone(), why);
                continue;
            }
        };
        if let Err(e) = regex::Regex::new(&pattern) {
            diags.error(
                r.directive.at.clone(),
                format!("RewriteRule '{pattern}': {e}"),
            );
            continue;
        }
        if let Some(target) = target(&url, known, r.directive, diags) {
            out.push(Pass {
                number: 0,
                matches: Match::Rewrite(pattern, nocase),
                target,
                vhost: r.vhost,
                params: Vec::new(),
                at: r.directive.at.clone(),
            });
        }
    }
    out.sort_by_key(|p| p.vhost);
    out.extend(later);
    for (i, p) in out.iter_mut().enumerate() {
        p.number = i + 1;
    }
    out
}

/// `NAME/PATH` into the name and `/PATH` (empty when there is none).
fn split_path(rest: &str) -> (&str, &str) {
    match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    }
}
