//! mod_rewrite's simple rules, at server level: a `RewriteRule` that
//! redirects (`[R]`, `[R=301]`), forbids (`[F]`) or says gone (`[G]`).
//! httpd runs them before access checks and before `ProxyPass`, so they
//! come first in the frontend. What is not this simple (a rule under
//! `RewriteCond`, a back-reference in the target, an internal rewrite,
//! per-directory rules) is a warning at its line, and left out.

use super::cfg::{apache_line, quote, regex_word, Section};
use super::tree::{Directive, Node};
use super::vhosts::{self, number_at, VHost};
use crate::config::Diagnostics;

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    /// `[R=code]` to this target.
    Redirect {
        code: u16,
        target: String,
        append_query: bool,
    },
    /// `[F]`: 403.
    Forbidden,
    /// `[G]`: 410.
    Gone,
}

/// A rule httpd runs: RewriteEngine On in force for its server (a
/// virtual host inherits the main server's engine, not its rules), no
/// RewriteCond before it.
#[derive(Debug, Clone)]
pub struct Rule<'a> {
    /// The `RewriteRule` line.
    pub directive: &'a Directive,
    /// The `RewriteCond` lines before it, all of which must hold.
    pub conds: Vec<&'a Directive>,
    /// The `<VirtualHost>` it is in.
    pub vhost: Option<usize>,
}

/// The rules of `nodes` httpd runs at server level; the rest are
/// warnings at their line.
pub fn collect<'a>(nodes: &'a [Node], vhosts: &[VHost], diags: &mut Diagnostics) -> Vec<Rule<'a>> {
    let mut out = Vec::new();
    scope(nodes, vhosts, None, false, diags, &mut out);
    out
}

/// The last `RewriteEngine` of a server's own directives, if any.
fn engine_of(nodes: &[Node]) -> Option<bool> {
    let mut engine = None;
    for node in nodes {
        match node {
            Node::Directive(d) if d.is("RewriteEngine") => {
                engine = Some(d.args.first().is_some_and(|a| a.eq_ignore_ascii_case("on")));
            }
            Node::Section(s) if is_conditional(&s.name) => {
                if let Some(e) = engine_of(&s.body) {
                    engine = Some(e);
                }
            }
            _ => {}
        }
    }
    engine
}

fn is_conditional(name: &str) -> bool {
    ["IfModule", "IfDefine"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

fn scope<'a>(
    nodes: &'a [Node],
    vhosts: &[VHost],
    vhost: Option<usize>,
    inherited: bool,
    diags: &mut Diagnostics,
    out: &mut Vec<Rule<'a>>,
) {
    let engine = engine_of(nodes).unwrap_or(inherited);
    walk(nodes, vhosts, vhost, engine, diags, out);
}

fn walk<'a>(
    nodes: &'a [Node],
    vhosts: &[VHost],
    vhost: Option<usize>,
    engine: bool,
    diags: &mut Diagnostics,
    out: &mut Vec<Rule<'a>>,
) {
    let mut conds: Vec<&Directive> = Vec::new();
    for node in nodes {
        let d = match node {
            Node::Directive(d) => d,
            Node::Section(s) if s.name.eq_ignore_ascii_case("VirtualHost") => {
                scope(
                    &s.body,
                    vhosts,
                    number_at(vhosts, &s.at),
                    engine,
                    diags,
                    out,
                );
                continue;
            }
            Node::Section(s) if is_conditional(&s.name) => {
                walk(&s.body, vhosts, vhost, engine, diags, out);
                continue;
            }
            Node::Section(s) => {
                warn_inside(&s.body, diags);
                continue;
            }
        };
        if d.is("RewriteCond") {
            conds.push(d);
        } else if d.is("RewriteRule") {
            let conds = std::mem::take(&mut conds);
            if !engine {
                diags.warning(d.at.clone(), "RewriteRule without RewriteEngine On: httpd ignores it, and so does the conversion");
            } else {
                out.push(Rule {
                    directive: d,
                    conds,
                    vhost,
                });
            }
        }
    }
}

/// Writes the redirect, [F] and [G] rules into `fe`; [P] rules are
/// passes (see [`proxy_rule`]).
pub fn rules(rules: &[Rule], scheme: &str, fe: &mut Section, diags: &mut Diagnostics) {
    for r in rules.iter().filter(|r| !proxies(r.directive)) {
        // Every RewriteCond before the rule must hold too.
        let mut when = vhosts::cond(r.vhost);
        for c in &r.conds {
            match super::rewrite_cond::condition(c) {
                Ok(term) => {
                    when.push(' ');
                    when.push_str(&term);
                }
                Err(why) => {
                    diags.warning(
                        r.directive.at.clone(),
                        format!(
                            "{}: under {} ({}): {why}; the rule is left out",
                            apache_line(r.directive),
                            apache_line(c),
                            c.at
                        ),
                    );
                    when.clear();
                    break;
                }
            }
        }
        if when.is_empty() && !r.conds.is_empty() {
            continue;
        }
        rule(r.directive, &when, scheme, fe, diags);
    }
}

/// The `[flags]` of a RewriteRule or RewriteCond (its third word), lower
/// case, without brackets.
pub(super) fn flags_of(d: &Directive) -> Vec<String> {
    d.args
        .get(2)
        .map(|f| {
            f.trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// `[P]`: the rule proxies.
fn proxies(d: &Directive) -> bool {
    flags_of(d).iter().any(|f| f == "p" || f == "proxy")
}

/// A `[P]` rule as a pass: its pattern matches the path (as
/// ProxyPassMatch does), and its target, with `$N` from the pattern,
/// is the whole URL the member is sent (httpd appends nothing).
pub fn proxy_rule(r: &Rule) -> Option<Result<(String, bool, String), String>> {
    let d = r.directive;
    if !proxies(d) {
        return None;
    }
    if let Some(c) = r.conds.first() {
        return Some(Err(format!(
            "{}: a [P] rule under {} ({}) is not translated",
            apache_line(d),
            apache_line(c),
            c.at
        )));
    }
    let (pattern, target) = (d.args.first()?, d.args.get(1)?);
    let nocase = flags_of(d).iter().any(|f| f == "nc" || f == "nocase");
    Some(Ok((pattern.clone(), nocase, target.clone())))
}

/// Rules inside `<Location>`, `<Directory>`... match per directory: not
/// translated.
fn warn_inside(nodes: &[Node], diags: &mut Diagnostics) {
    for node in nodes {
        match node {
            Node::Directive(d) if d.is("RewriteRule") => diags.warning(
                d.at.clone(),
                format!(
                    "{}: per-directory rewrite rules are not translated",
                    apache_line(d)
                ),
            ),
            Node::Section(s) => warn_inside(&s.body, diags),
            Node::Directive(_) => {}
        }
    }
}

/// One rule; `when` is what else must hold (its virtual host, its
/// conditions), written after its pattern's term.
fn rule(d: &Directive, when: &str, scheme: &str, fe: &mut Section, diags: &mut Diagnostics) {
    let (Some(pattern), Some(target)) = (d.args.first(), d.args.get(1)) else {
        diags.error(
            d.at.clone(),
            "RewriteRule needs a pattern and a substitution",
        );
        return;
    };
    let flags = flags_of(d);
    let (negated, pattern) = match pattern.strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, pattern.as_str()),
    };
    if let Err(e) = regex::Regex::new(pattern) {
        diags.error(d.at.clone(), format!("RewriteRule '{pattern}': {e}"));
        return;
    }
    let effect = match effect(target, &flags) {
        Ok(e) => e,
        Err(why) => {
            diags.warning(
                d.at.clone(),
                format!("{}: {why}; the rule is left out", apache_line(d)),
            );
            return;
        }
    };
    let nocase = if flags.iter().any(|f| f == "nc" || f == "nocase") {
        " -i"
    } else {
        ""
    };
    let cond = format!(
        "{}{{ path_reg{nocase} {} }}{when}",
        if negated { "!" } else { "" },
        regex_word(pattern)
    );
    fe.from(d);
    match effect {
        Effect::Forbidden => fe.line(format!("http-request deny deny_status 403 if {cond}")),
        Effect::Gone => fe.line(format!("http-request return status 410 if {cond}")),
        Effect::Redirect {
            code,
            target,
            append_query,
        } => {
            // httpd answers with an absolute URL: this server's, as the
            // client named it, when the target is a path.
            let url = match super::rewrite_cond::target_url(&target, pattern) {
                Ok(u) if target.starts_with('/') => format!("{scheme}://%[req.hdr(host)]{u}"),
                Ok(u) => u,
                Err(why) => {
                    diags.warning(
                        d.at.clone(),
                        format!("{}: {why}; the rule is left out", apache_line(d)),
                    );
                    return;
                }
            };
            if append_query {
                // The request's query goes along, after `?` or `&`.
                let sep = if target.contains('?') { "&" } else { "?" };
                fe.line(format!(
                    "http-request redirect location {} code {code} if {cond} {{ query -m found }}",
                    quote(&format!("{url}{sep}%[query]"))
                ));
            }
            fe.line(format!(
                "http-request redirect location {} code {code} if {cond}",
                quote(&url)
            ));
        }
    }
}

/// What a rule with these flags and target does, or why it is not simple.
fn effect(target: &str, flags: &[String]) -> Result<Effect, String> {
    let flag = |name: &str| {
        flags
            .iter()
            .any(|f| f == name || f.starts_with(&format!("{name}=")))
    };
    if flag("f") || flag("forbidden") {
        return Ok(Effect::Forbidden);
    }
    if flag("g") || flag("gone") {
        return Ok(Effect::Gone);
    }
    let Some(r) = flags
        .iter()
        .find(|f| *f == "r" || f.starts_with("r=") || f.starts_with("redirect"))
    else {
        return Err("only redirects ([R]), [F] and [G] are translated".into());
    };
    let code = match r.split_once('=').map(|(_, c)| c) {
        None => 302,
        Some("permanent") => 301,
        Some("temp") => 302,
        Some("seeother") => 303,
        Some(c) => c
            .parse::<u16>()
            .ok()
            .filter(|c| (300..400).contains(c))
            .ok_or_else(|| format!("redirect code '{c}' is not translated"))?,
    };
    if ![301, 302, 303, 307, 308].contains(&code) {
        return Err(format!(
            "HAProxy redirects with 301, 302, 303, 307 or 308, not {code}"
        ));
    }
    // httpd appends the request's query unless the target has one (then
    // only with QSA), or QSD drops it.
    let qsa = flag("qsa") || flag("qsappend");
    let qsd = flag("qsd") || flag("qsdiscard");
    let append_query = !qsd && (!target.contains('?') || qsa);
    let target = target.trim_end_matches('?').to_string();
    Ok(Effect::Redirect {
        code,
        target,
        append_query,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn flags(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn redirect_flags_and_queries_as_httpd_reads_them() {
        assert_eq!(
            effect("/new", &flags(&["r=301", "l"])).unwrap(),
            Effect::Redirect {
                code: 301,
                target: "/new".into(),
                append_query: true
            }
        );
        assert_eq!(
            effect("/new?a=1", &flags(&["r"])).unwrap(),
            Effect::Redirect {
                code: 302,
                target: "/new?a=1".into(),
                append_query: false
            }
        );
        assert_eq!(
            effect("/new?a=1", &flags(&["r", "qsa"])).unwrap(),
            Effect::Redirect {
                code: 302,
                target: "/new?a=1".into(),
                append_query: true
            }
        );
        assert_eq!(effect("-", &flags(&["f"])).unwrap(), Effect::Forbidden);
        assert!(effect("/x", &flags(&["pt"])).is_err());
        assert!(effect("/x", &flags(&["r=305"])).is_err());
    }
}
