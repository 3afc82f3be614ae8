//! ACLs and conditions. An `acl` line is a sample expression, a match
//! method and patterns; lines that share a name are ORed. A condition
//! (`if`/`unless` ...) is an OR (`||`, `or`) of AND-ed terms, each a named,
//! predefined or anonymous (`{ ... }`) ACL, maybe negated with `!`.

use std::sync::Arc;

use super::facts::Facts;
use super::pattern::{self, MatchMethod, Patterns};
use super::sample::{Expr, Type};
use super::Context;

/// One ACL line: what it fetches and how it matches.
#[derive(Debug, Clone)]
pub struct Acl {
    expr: Expr,
    patterns: Patterns,
    method: MatchMethod,
}

/// The suffixes that name a match method after a fetch (`path_beg`).
const SUFFIXES: &[&str] = &[
    "beg", "end", "sub", "dir", "dom", "reg", "len", "found", "str", "bin",
];

impl Acl {
    /// Parses `FETCH[,CONV...] [-i] [-f FILE] [-m METHOD] [-n] [--] VALUE...`.
    pub fn parse(words: &[String], ctx: &Context) -> Result<Acl, String> {
        let Some((criterion, rest)) = words.split_first() else {
            return Err("missing ACL criterion".into());
        };
        let (expr, implied) = parse_criterion(criterion, ctx)?;
        let mut icase = false;
        let mut method = None;
        let mut values = Vec::new();
        let mut it = rest.iter();
        while let Some(w) = it.next() {
            match w.as_str() {
                "-i" => icase = true,
                "-n" => {}
                "-f" => {
                    let f = it.next().ok_or("'-f' expects a file name")?;
                    values.extend(pattern::read_file(f)?);
                }
                "-m" => {
                    let m = it.next().ok_or("'-m' expects a match method")?;
                    method = Some(MatchMethod::from_name(m).ok_or_else(|| {
                        format!("unknown match method '{m}' (expected found, bool, int, ip, bin, len, str, beg, end, sub, reg, dir or dom)")
                    })?);
                }
                "--" => {
                    values.extend(it.by_ref().cloned());
                }
                "-u" | "-M" => {
                    return Err(format!(
                        "ACL flag '{w}' is not supported yet (it serves the runtime API)"
                    ))
                }
                f if f.starts_with('-')
                    && f.len() > 1
                    && values.is_empty()
                    && !f[1..].starts_with(|c: char| c.is_ascii_digit()) =>
                {
                    return Err(format!(
                        "unknown ACL flag '{f}' (use '--' before a value that starts with '-')"
                    ))
                }
                _ => {
                    values.push(w.clone());
                    values.extend(it.by_ref().cloned());
                }
            }
        }
        let out = expr.output();
        let method = match (method, implied) {
            (Some(m), _) => m,
            (None, Some(m)) => m,
            // A boolean or integer fetch with no pattern is read as a boolean.
            (None, None) if values.is_empty() && matches!(out, Type::Bool | Type::Int) => {
                MatchMethod::Bool
            }
            (None, None) => MatchMethod::default_for(out),
        };
        if method == MatchMethod::Bool && !matches!(out, Type::Bool | Type::Int) {
            return Err(format!(
                "match method 'bool' needs a boolean or integer sample, and '{criterion}' gives a {}",
                out.name()
            ));
        }
        let patterns = Patterns::compile(method, icase, &values)?;
        Ok(Acl {
            expr,
            patterns,
            method,
        })
    }

    /// The sample expression (for mode checks).
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the ACL matches.
    pub fn eval(&self, f: &Facts) -> bool {
        let matched = match self.method {
            MatchMethod::Found => self.expr.any(f, &mut |_| true),
            MatchMethod::Bool => self.expr.eval(f).is_some_and(|v| v.to_bool()),
            _ if self.patterns.is_empty() => false,
            _ => self.expr.any(f, &mut |v| self.patterns.matches(v)),
        };
        // A value that may still change (`req.len` while bytes arrive)
        // decides only when it matches; a miss waits for more, as
        // HAProxy's ACL_TEST_MISS.
        if !matched && self.expr.fetch.may_change(f) {
            f.missing.set(true);
        }
        matched
    }
}

/// The fetch of an ACL criterion, and the match method its name implies
/// (`hdr_beg(host)` is `hdr(host) -m beg`).
fn parse_criterion(text: &str, ctx: &Context) -> Result<(Expr, Option<MatchMethod>), String> {
    match Expr::parse(text, ctx) {
        Ok(e) => Ok((e, None)),
        Err(first) => {
            let head_end = text.find(['(', ',']).unwrap_or(text.len());
            let head = &text[..head_end];
            for s in SUFFIXES {
                if let Some(base) = head.strip_suffix(&format!("_{s}")[..]) {
                    let rebuilt = format!("{base}{}", &text[head_end..]);
                    if let Ok(e) = Expr::parse(&rebuilt, ctx) {
                        return Ok((e, MatchMethod::from_name(s)));
                    }
                    // The base is known but its arguments are wrong: say so.
                    if super::fetch::Fetch::NAMES.contains(&base) {
                        return Expr::parse(&rebuilt, ctx).map(|e| (e, None));
                    }
                }
            }
            Err(first)
        }
    }
}

/// A named ACL: its lines, ORed.
#[derive(Debug, Clone)]
pub struct Named {
    /// The name.
    pub name: String,
    /// Its lines.
    pub lines: Arc<[Acl]>,
}

/// HAProxy's predefined ACLs, as the criterion lines they stand for.
pub const PREDEFINED: &[(&str, &str)] = &[
    ("FALSE", "always_false"),
    ("HTTP", "req.proto_http"),
    ("HTTP_1.0", "req.ver 1.0"),
    ("HTTP_1.1", "req.ver 1.1"),
    ("HTTP_CONTENT", "req.hdr_val(content-length) gt 0"),
    ("HTTP_URL_ABS", "url_reg ^[^/:]*://"),
    ("HTTP_URL_SLASH", "url_beg /"),
    ("HTTP_URL_STAR", "url *"),
    ("LOCALHOST", "src 127.0.0.1/8 ::1"),
    ("METH_CONNECT", "method CONNECT"),
    ("METH_DELETE", "method DELETE"),
    ("METH_GET", "method GET HEAD"),
    ("METH_HEAD", "method HEAD"),
    ("METH_OPTIONS", "method OPTIONS"),
    ("METH_POST", "method POST"),
    ("METH_PUT", "method PUT"),
    ("METH_TRACE", "method TRACE"),
    ("REQ_CONTENT", "req.len gt 0"),
    ("TRUE", "always_true"),
    ("WAIT_END", "wait_end"),
];

/// One term of a condition.
#[derive(Debug, Clone)]
struct Term {
    negate: bool,
    acl: Arc<[Acl]>,
}

/// `if COND` / `unless COND`, compiled.
#[derive(Debug, Clone)]
pub struct Cond {
    unless: bool,
    /// OR of AND groups.
    any: Vec<Vec<Term>>,
}

impl Cond {
    /// Parses the words from `if`/`unless` on; `acls` are the proxy's
    /// named ACLs declared so far.
    pub fn parse(words: &[String], acls: &[Named], ctx: &Context) -> Result<Cond, String> {
        let (unless, rest) = match words.split_first() {
            Some((w, rest)) if w == "if" => (false, rest),
            Some((w, rest)) if w == "unless" => (true, rest),
            Some((w, _)) => {
                return Err(format!(
                    "expected 'if' or 'unless' before a condition, got '{w}'"
                ))
            }
            None => return Err("missing condition".into()),
        };
        if rest.is_empty() {
            return Err(format!(
                "missing condition after '{}'",
                if unless { "unless" } else { "if" }
            ));
        }
        let mut any = vec![Vec::new()];
        // The words not read yet.
        let mut words = rest;
        while let Some((w, after)) = words.split_first() {
            words = after;
            let w = w.as_str();
            if w == "||" || w == "or" {
                if any.last().is_some_and(Vec::is_empty) {
                    return Err(format!("'{w}' without a term before it"));
                }
                any.push(Vec::new());
                continue;
            }
            let (negate, w) = match w.strip_prefix('!') {
                Some("") => match words.split_first() {
                    Some((n, after)) => {
                        words = after;
                        (true, n.as_str())
                    }
                    None => return Err("'!' at the end of the condition".into()),
                },
                Some(name) => (true, name),
                None => (false, w),
            };
            let acl: Arc<[Acl]> = if w == "{" {
                // The words up to the closing '}', and those after it.
                let mut parts = words.splitn(2, |x| x == "}");
                let (Some(inner), Some(after)) = (parts.next(), parts.next()) else {
                    return Err("missing '}' after an anonymous ACL".into());
                };
                if inner.is_empty() {
                    return Err("empty anonymous ACL '{ }'".into());
                }
                words = after;
                Arc::from(vec![Acl::parse(inner, ctx).map_err(|e| {
                    format!("anonymous ACL '{{ {} }}': {e}", inner.join(" "))
                })?])
            } else if let Some(n) = acls.iter().find(|n| n.name == w) {
                n.lines.clone()
            } else if let Some((_, def)) = PREDEFINED.iter().find(|(n, _)| *n == w) {
                let words: Vec<String> = def.split(' ').map(str::to_string).collect();
                Arc::from(vec![Acl::parse(&words, ctx)?])
            } else {
                return Err(format!("no such ACL : '{w}'"));
            };
            if let Some(g) = any.last_mut() {
                g.push(Term { negate, acl });
            }
        }
        if any.last().is_some_and(Vec::is_empty) {
            return Err("condition ends with an 'or'".into());
        }
        Ok(Cond { unless, any })
    }

    /// Every ACL the condition uses.
    pub fn acls(&self) -> impl Iterator<Item = &Acl> {
        self.any.iter().flatten().flat_map(|t| t.acl.iter())
    }

    /// Whether the condition holds.
    pub fn holds(&self, f: &Facts) -> bool {
        let v = self.any.iter().any(|group| {
            group
                .iter()
                .all(|t| t.acl.iter().any(|a| a.eval(f)) != t.negate)
        });
        v != self.unless
    }
}

/// Parses an `acl NAME CRITERION...` line: its name and its test.
pub fn parse_line(words: &[String], ctx: &Context) -> Result<(String, Acl), String> {
    let Some((name, criterion)) = words.split_first() else {
        return Err("'acl' expects a name and a criterion".into());
    };
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(format!(
            "ACL name '{name}' contains the invalid character '{c}'"
        ));
    }
    if PREDEFINED.iter().any(|(n, _)| n == name) {
        return Err(format!(
            "ACL name '{name}' is a predefined ACL and cannot be redefined"
        ));
    }
    let acl = Acl::parse(criterion, ctx).map_err(|e| format!("acl '{name}': {e}"))?;
    Ok((name.clone(), acl))
}

/// Groups ACL lines by name (lines sharing a name are ORed), in the order
/// names first appear.
pub fn group<'a>(lines: impl Iterator<Item = (&'a str, &'a Acl)>) -> Vec<Named> {
    let mut out: Vec<(String, Vec<Acl>)> = Vec::new();
    for (name, acl) in lines {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(acl.clone()),
            None => out.push((name.to_string(), vec![acl.clone()])),
        }
    }
    out.into_iter()
        .map(|(name, v)| Named {
            name,
            lines: v.into(),
        })
        .collect()
}
