//! `http-request`, `http-response` and `http-after-response` actions:
//! parsed once, run in order against one message. A rule that ends the
//! ruleset returns a [`Verdict`]; the proxy turns it into what the client
//! sees, so no action writes to a socket.

use std::net::SocketAddr;

use super::acl::{Cond, Named};
use super::facts::{Facts, Vars, World};
use super::fmt::Fmt;
use super::http::{Head, Text, View};
use super::sample::Expr;
use super::Context;

/// Which ruleset a rule belongs to: it decides the actions allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSet {
    /// `http-request`
    Request,
    /// `http-response`
    Response,
    /// `http-after-response`
    AfterResponse,
}

impl RuleSet {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RuleSet::Request => "http-request",
            RuleSet::Response => "http-response",
            RuleSet::AfterResponse => "http-after-response",
        }
    }
}

/// The body of a generated answer.
#[derive(Debug, Clone)]
pub enum Payload {
    /// No body.
    Empty,
    /// Fixed bytes (`string`, `file`).
    Fixed(Box<[u8]>),
    /// Built per request (`lf-string`, `lf-file`).
    Format(Fmt),
    /// HAProxy's error page for the status (`default-errorfiles`, `deny`).
    ErrorPage,
}

/// An answer built by the proxy itself (`return`, `deny`).
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `content-type`.
    pub content_type: Option<Box<str>>,
    /// The body.
    pub payload: Payload,
    /// `hdr NAME FMT`, repeatable.
    pub headers: Vec<(Box<str>, Fmt)>,
}

/// How `redirect` builds the new location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `location`: the value is the whole location.
    Location,
    /// `prefix`: the value goes before the request's path.
    Prefix,
    /// `scheme`: the value replaces the scheme; host and path are kept.
    Scheme,
}

/// A `redirect` rule.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// Which form.
    pub kind: RedirectKind,
    /// Its value.
    pub value: Fmt,
    /// 301, 302 (default), 303, 307 or 308.
    pub code: u16,
    /// `drop-query`.
    pub drop_query: bool,
    /// `append-slash`.
    pub append_slash: bool,
    /// `set-cookie NAME[=VALUE]`.
    pub set_cookie: Option<Box<str>>,
    /// `clear-cookie NAME[=]`.
    pub clear_cookie: Option<Box<str>>,
}

/// `normalize-uri` forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    /// `path-merge-slashes`
    MergeSlashes,
    /// `path-strip-dot`
    StripDot,
    /// `path-strip-dotdot [full]`
    StripDotdot(bool),
    /// `percent-to-uppercase [strict]`
    PercentUpper(bool),
    /// `percent-decode-unreserved [strict]`
    PercentDecodeUnreserved(bool),
}

/// One action.
#[derive(Debug, Clone)]
pub enum Action {
    /// `allow`: stop this ruleset, go on.
    Allow,
    /// `deny`
    Deny(Reply),
    /// `tarpit`: hold the client, then deny.
    Tarpit(Reply),
    /// `return`
    Return(Reply),
    /// `redirect`
    Redirect(Redirect),
    /// `auth [realm R]`
    Auth(Box<str>),
    /// `set-header`
    SetHeader(Box<[u8]>, Fmt),
    /// `add-header`
    AddHeader(Box<[u8]>, Fmt),
    /// `del-header NAME [-m str|beg|end|sub|reg]`
    DelHeader(super::http::NameMatch),
    /// `replace-header NAME REGEX FMT`: whole lines.
    ReplaceHeader(Box<[u8]>, regex::bytes::Regex, Fmt),
    /// `replace-value NAME REGEX FMT`: each comma-separated value.
    ReplaceValue(Box<[u8]>, regex::bytes::Regex, Fmt),
    /// `set-path`
    SetPath(Fmt),
    /// `set-pathq`
    SetPathq(Fmt),
    /// `replace-path REGEX FMT`
    ReplacePath(regex::bytes::Regex, Fmt),
    /// `replace-pathq REGEX FMT`
    ReplacePathq(regex::bytes::Regex, Fmt),
    /// `set-uri`
    SetUri(Fmt),
    /// `replace-uri REGEX FMT`
    ReplaceUri(regex::bytes::Regex, Fmt),
    /// `set-query`
    SetQuery(Fmt),
    /// `set-method`
    SetMethod(Fmt),
    /// `set-status CODE [reason R]`
    SetStatus(u16, Option<Box<[u8]>>),
    /// `set-var(NAME) EXPR`
    SetVar(Box<str>, Expr),
    /// `unset-var(NAME)`
    UnsetVar(Box<str>),
    /// `set-src|set-dst|set-src-port|set-dst-port EXPR`
    SetAddr(AddrPart, Expr),
    /// `normalize-uri ...`
    NormalizeUri(Normalize),
    /// `use-service prometheus-exporter`
    PrometheusExporter,
    /// `use-service apache-status` or `apache-balancer-manager`
    /// (fulcrum-only): httpd's mod_status or balancer-manager page, for a
    /// site converted from Apache.
    ApacheStatus(ApachePage),
    /// `capture SAMPLE len N|id N`: into log capture slot `slot`.
    Capture {
        /// What is captured.
        expr: Expr,
        /// The slot.
        slot: usize,
        /// At most this many bytes.
        len: usize,
        /// A response slot.
        response: bool,
    },
    /// `set-log-level LEVEL|silent`: 0-7, or 8 for silent.
    SetLogLevel(u8),
    /// `track-sc0..2 EXPR [table T]`
    Track(super::stick::Track),
    /// `sc-inc-gpc0(N)`
    IncGpc0(usize),
}

/// A rule: an action and when it applies.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What it does.
    pub action: Action,
    /// When; always without a condition.
    pub cond: Option<Cond>,
}

/// How running a ruleset ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every rule ran (or `allow` stopped the set): go on.
    Continue,
    /// Answer with this (deny, return, redirect, auth).
    Answer(Answer),
    /// Hold the connection, then answer (tarpit).
    Tarpit(Answer),
    /// Serve metrics.
    Prometheus,
    /// Serve one of httpd's pages.
    ApacheStatus(ApachePage),
}

/// Which of httpd's pages `use-service` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApachePage {
    /// mod_status's `/server-status` (and `?auto`).
    Status,
    /// mod_proxy_balancer's `/balancer-manager`, read only.
    BalancerManager,
}

/// A complete answer to send, built from a [`Reply`], a redirect or auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Header lines (name, value), in order.
    pub headers: Vec<(Box<[u8]>, Vec<u8>)>,
    /// The body; None: the proxy's error page for the status.
    pub body: Option<Vec<u8>>,
}

/// Checks a variable name: `txn.x`, `req.x`, `res.x`, `sess.x` (kept
/// across a connection's requests), or `check.x` (a health check's, set by
/// `http-check set-var`).
pub fn check_var_name(name: &str) -> Result<(), String> {
    let (scope, var) = name.split_once('.').unwrap_or(("", name));
    match scope {
        "txn" | "req" | "res" | "check" | "sess" if !var.is_empty() => Ok(()),
        "proc" => Err(format!(
            "variable '{name}': the '{scope}' scope is not supported yet (use 'txn.')"
        )),
        _ => Err(format!(
            "invalid variable name '{name}' (expected txn.NAME, req.NAME or res.NAME)"
        )),
    }
}

fn regex(s: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::Regex::new(s).map_err(|e| {
        format!(
            "invalid regex '{s}': {}",
            e.to_string().lines().last().unwrap_or("").trim()
        )
    })
}

/// The words of an action and its condition, split at `if`/`unless`.
pub(super) fn split_cond(words: &[String]) -> (&[String], &[String]) {
    words
        .iter()
        .position(|w| w == "if" || w == "unless")
        .and_then(|i| words.split_at_checked(i))
        .unwrap_or((words, &[]))
}

/// `name(ARG)` -> ARG.
fn paren_arg<'w>(word: &'w str, prefix: &str) -> Option<&'w str> {
    word.strip_prefix(prefix)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

impl Rule {
    /// Parses one rule of `set` from its words (after the keyword).
    pub fn parse(
        set: RuleSet,
        words: &[String],
        acls: &[Named],
        ctx: &Context,
    ) -> Result<Rule, String> {
        let (act, cond) = split_cond(words);
        // Errors name the rule they are about: `'http-request replace-path': invalid regex ...`.
        let action = parse_action(set, act, ctx).map_err(|e| {
            let kw = set.keyword();
            match act.first() {
                Some(a) if !e.starts_with(&format!("'{kw}")) => format!("'{kw} {a}': {e}"),
                _ => e,
            }
        })?;
        let cond = if cond.is_empty() {
            None
        } else {
            Some(Cond::parse(cond, acls, ctx)?)
        };
        Ok(Rule { action, cond })
    }
}

fn parse_action(set: RuleSet, w: &[String], ctx: &Context) -> Result<Action, String> {
    let kw = set.keyword();
    let Some((name, args)) = w.split_first() else {
        return Err(format!("'{kw}' expects an action"));
    };
    let name = name.as_str();
    let fmt = |s: &String| Fmt::parse(s, ctx);
    let expects = |what: &str| format!("'{kw} {name}' expects {what}");
    let exactly = |n: usize, what: &str| -> Result<(), String> {
        if args.len() != n {
            return Err(expects(what));
        }
        Ok(())
    };
    let request_only = |a: Action| -> Result<Action, String> {
        if set == RuleSet::Request {
            Ok(a)
        } else {
            Err(format!(
                "'{kw} {name}' is not allowed: '{name}' is an http-request action"
            ))
        }
    };
    let response_only = |a: Action| -> Result<Action, String> {
        if set != RuleSet::Request {
            Ok(a)
        } else {
            Err(format!(
                "'{kw} {name}' is not allowed: '{name}' is an http-response action"
            ))
        }
    };
    Ok(match name {
        "allow" => {
            exactly(0, "no argument")?;
            Action::Allow
        }
        "deny" | "tarpit" => {
            if set == RuleSet::AfterResponse || (name == "tarpit" && set != RuleSet::Request) {
                return Err(format!("'{kw} {name}' is not allowed"));
            }
            // A response denied by a rule is answered as a bad gateway.
            let default = match (name, set) {
                ("tarpit", _) => 500,
                (_, RuleSet::Request) => 403,
                _ => 502,
            };
            let r = parse_reply(kw, name, args, default, true, ctx)?;
            if name == "deny" {
                Action::Deny(r)
            } else {
                Action::Tarpit(r)
            }
        }
        "return" => {
            if set == RuleSet::AfterResponse {
                return Err(format!("'{kw} return' is not allowed"));
            }
            Action::Return(parse_reply(kw, name, args, 200, false, ctx)?)
        }
        "redirect" => {
            if set == RuleSet::AfterResponse {
                return Err(format!("'{kw} redirect' is not allowed"));
            }
            Action::Redirect(parse_redirect(args, ctx)?)
        }
        "auth" => {
            let realm = match args {
                [] => ctx.proxy.to_string(),
                [r, v] if r == "realm" => v.clone(),
                _ => return Err(format!("'{kw} auth' expects nothing or 'realm REALM'")),
            };
            request_only(Action::Auth(realm.into()))?
        }
        "set-header" | "add-header" => {
            let [n, value] = args else {
                return Err(expects("a header name and a log-format value"));
            };
            let n: Box<[u8]> = n.as_bytes().into();
            if name == "set-header" {
                Action::SetHeader(n, fmt(value)?)
            } else {
                Action::AddHeader(n, fmt(value)?)
            }
        }
        "del-header" => {
            use super::http::NameMatch;
            let m = match args {
                [n] => NameMatch::Str(n.as_bytes().into()),
                [n, m, how] if m == "-m" => match how.as_str() {
                    "str" => NameMatch::Str(n.as_bytes().into()),
                    "beg" => NameMatch::Beg(n.as_bytes().into()),
                    "end" => NameMatch::End(n.as_bytes().into()),
                    "sub" => NameMatch::Sub(n.as_bytes().into()),
                    "reg" => NameMatch::Reg(
                        regex::bytes::RegexBuilder::new(n)
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| format!("'{kw} del-header': invalid regex '{n}': {e}"))?,
                    ),
                    other => {
                        return Err(format!(
                            "'{kw} del-header': unknown match '-m {other}' (expected str, beg, end, sub or reg)"
                        ))
                    }
                },
                _ => {
                    return Err(format!(
                        "'{kw} del-header' expects a header name and optionally '-m str|beg|end|sub|reg'"
                    ))
                }
            };
            Action::DelHeader(m)
        }
        "replace-header" | "replace-value" => {
            let [n, re, value] = args else {
                return Err(expects("a header name, a regex and a replacement"));
            };
            let n: Box<[u8]> = n.as_bytes().into();
            let re = regex(re)?;
            if name == "replace-header" {
                Action::ReplaceHeader(n, re, fmt(value)?)
            } else {
                Action::ReplaceValue(n, re, fmt(value)?)
            }
        }
        "set-path" | "set-pathq" | "set-uri" | "set-query" | "set-method" => {
            let [value] = args else {
                return Err(expects("a log-format value"));
            };
            let f = fmt(value)?;
            request_only(match name {
                "set-path" => Action::SetPath(f),
                "set-pathq" => Action::SetPathq(f),
                "set-uri" => Action::SetUri(f),
                "set-query" => Action::SetQuery(f),
                _ => Action::SetMethod(f),
            })?
        }
        "replace-path" | "replace-pathq" | "replace-uri" => {
            let [re, value] = args else {
                return Err(expects("a regex and a replacement"));
            };
            let re = regex(re)?;
            let f = fmt(value)?;
            request_only(match name {
                "replace-path" => Action::ReplacePath(re, f),
                "replace-pathq" => Action::ReplacePathq(re, f),
                _ => Action::ReplaceUri(re, f),
            })?
        }
        "set-status" => {
            let (code, rest) = args
                .split_first()
                .and_then(|(c, rest)| Some((c.parse::<u16>().ok()?, rest)))
                .filter(|(c, _)| (100..=999).contains(c))
                .ok_or_else(|| format!("'{kw} set-status' expects a status code (100-999)"))?;
            let reason = match rest {
                [] => None,
                [r, v] if r == "reason" => Some(v.as_bytes().into()),
                _ => {
                    return Err(format!(
                        "'{kw} set-status' expects a code and an optional 'reason TEXT'"
                    ))
                }
            };
            response_only(Action::SetStatus(code, reason))?
        }
        n if n.starts_with("set-var(") => {
            let var = paren_arg(n, "set-var").ok_or_else(|| format!("'{kw} {n}': missing ')'"))?;
            check_var_name(var)?;
            let [expr] = args else {
                return Err(expects("a sample expression"));
            };
            Action::SetVar(var.into(), Expr::parse(expr, ctx)?)
        }
        n if n.starts_with("unset-var(") => {
            let var =
                paren_arg(n, "unset-var").ok_or_else(|| format!("'{kw} {n}': missing ')'"))?;
            check_var_name(var)?;
            exactly(0, "no argument")?;
            Action::UnsetVar(var.into())
        }
        n if n.starts_with("track-sc") => {
            let t = super::stick::Track::parse(n, args, ctx)
                .unwrap_or_else(|| Err(format!("unknown action '{n}'")))?;
            request_only(Action::Track(t))?
        }
        n if n.starts_with("sc-inc-gpc0(") => {
            let s = super::stick::parse_inc_gpc0(n)
                .unwrap_or_else(|| Err(format!("'{kw} {n}': missing ')'")))?;
            exactly(0, "no argument")?;
            Action::IncGpc0(s)
        }
        "set-src" | "set-dst" | "set-src-port" | "set-dst-port" => {
            let [expr] = args else {
                return Err(expects("a sample expression"));
            };
            let part = match name {
                "set-src" => AddrPart::Src,
                "set-dst" => AddrPart::Dst,
                "set-src-port" => AddrPart::SrcPort,
                _ => AddrPart::DstPort,
            };
            request_only(Action::SetAddr(part, Expr::parse(expr, ctx)?))?
        }
        "normalize-uri" => {
            let m = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["path-merge-slashes"] => Normalize::MergeSlashes,
                ["path-strip-dot"] => Normalize::StripDot,
                ["path-strip-dotdot"] => Normalize::StripDotdot(false),
                ["path-strip-dotdot", "full"] => Normalize::StripDotdot(true),
                ["percent-to-uppercase"] => Normalize::PercentUpper(false),
                ["percent-to-uppercase", "strict"] => Normalize::PercentUpper(true),
                ["percent-decode-unreserved"] => Normalize::PercentDecodeUnreserved(false),
                ["percent-decode-unreserved", "strict"] => Normalize::PercentDecodeUnreserved(true),
                _ => return Err(format!("'{kw} normalize-uri' expects path-merge-slashes, path-strip-dot, path-strip-dotdot [full], percent-to-uppercase [strict] or percent-decode-unreserved [strict]")),
            };
            request_only(Action::NormalizeUri(m))?
        }
        "capture" => {
            let response = set != RuleSet::Request;
            let (expr, how, n) = match args {
                [e, how, n] => (e, how.as_str(), n),
                _ => {
                    return Err(format!(
                        "'{kw} capture' expects a sample, then 'len N' or 'id N'"
                    ))
                }
            };
            let n: usize = n
                .parse()
                .map_err(|_| format!("'{kw} capture': '{n}' is not a number"))?;
            let expr = Expr::parse(expr, ctx)?;
            let (slot, len) = match how {
                "len" if !response => (ctx.new_request_slot(n), n),
                "id" => (
                    n,
                    ctx.slot_len(response, n).ok_or_else(|| {
                        format!("'{kw} capture': no {} capture slot with id {n} (declare it first with 'declare capture' or 'capture {} header')",
                            if response { "response" } else { "request" },
                            if response { "response" } else { "request" })
                    })?,
                ),
                "len" => return Err(format!("'{kw} capture' takes 'id N' of a declared response slot, not 'len'")),
                _ => return Err(format!("'{kw} capture' expects 'len N' or 'id N', got '{how}'")),
            };
            if set == RuleSet::AfterResponse {
                return Err(format!("'{kw} capture' is not allowed"));
            }
            Action::Capture {
                expr,
                slot,
                len,
                response,
            }
        }
        "set-log-level" => {
            let [level] = args else {
                return Err(expects("a log level or 'silent'"));
            };
            let level = match level.as_str() {
                "silent" => 8,
                l => crate::config::model::Level::from_name(l).map(|l| l as u8).ok_or_else(|| {
                    format!("'{kw} set-log-level': unknown level '{l}' (expected emerg, alert, crit, err, warning, notice, info, debug or silent)")
                })?,
            };
            Action::SetLogLevel(level)
        }
        "use-service" => match args {
            [s] if s == "prometheus-exporter" => request_only(Action::PrometheusExporter)?,
            [s] if s == "apache-status" => request_only(Action::ApacheStatus(ApachePage::Status))?,
            [s] if s == "apache-balancer-manager" => {
                request_only(Action::ApacheStatus(ApachePage::BalancerManager))?
            }
            _ => {
                return Err(format!(
                    "'{kw} use-service' supports 'prometheus-exporter', and 'apache-status' and 'apache-balancer-manager' (fulcrum-only)"
                ))
            }
        },
        other => {
            let known = [
                "allow",
                "deny",
                "tarpit",
                "return",
                "redirect",
                "auth",
                "set-header",
                "add-header",
                "del-header",
                "replace-header",
                "replace-value",
                "set-path",
                "set-pathq",
                "set-uri",
                "set-query",
                "set-method",
                "replace-path",
                "replace-pathq",
                "replace-uri",
                "set-status",
                "set-var",
                "unset-var",
                "set-src",
                "set-dst",
                "set-src-port",
                "set-dst-port",
                "normalize-uri",
                "use-service",
            ];
            let later = [
                "capture",
                "set-log-level",
                "track-sc0",
                "track-sc1",
                "track-sc2",
                "sc-inc-gpc0",
                "cache-use",
                "cache-store",
                "lua",
                "set-map",
                "del-map",
                "add-acl",
                "del-acl",
                "set-nice",
                "set-tos",
                "set-mark",
                "silent-drop",
                "reject",
                "early-hint",
                "set-timeout",
                "wait-for-body",
                "wait-for-handshake",
                "strict-mode",
                "do-resolve",
                "set-dst",
                "set-dst-port",
                "set-src-port",
                "sc-set-gpt0",
                "send-spoe-group",
                "disable-l7-retry",
                "set-priority-class",
                "set-priority-offset",
            ];
            if later.iter().any(|l| {
                other == *l
                    || other.starts_with(&format!("{l}("))
                    || other.starts_with("lua.")
                    || other.starts_with("sc-")
                    || other.starts_with("track-sc")
            }) {
                return Err(format!("'{kw} {other}' is not supported yet"));
            }
            let hint = crate::config::keywords::suggest(other, known.iter().copied())
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            return Err(format!("'{kw}': unknown action '{other}'{hint}"));
        }
    })
}

fn parse_reply(
    kw: &str,
    name: &str,
    args: &[String],
    default: u16,
    is_deny: bool,
    ctx: &Context,
) -> Result<Reply, String> {
    let mut r = Reply {
        status: default,
        content_type: None,
        payload: Payload::ErrorPage,
        headers: Vec::new(),
    };
    let mut explicit_payload = false;
    let mut it = args.iter();
    let status_kw = if is_deny { "deny_status" } else { "status" };
    while let Some(a) = it.next() {
        let mut val = |what: &str| {
            it.next()
                .ok_or_else(|| format!("'{kw} {name} {a}' expects {what}"))
        };
        match a.as_str() {
            s if s == status_kw || (is_deny && s == "status") => {
                let v = val("a status code")?;
                r.status = v
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (200..=599).contains(c))
                    .ok_or_else(|| {
                        format!("'{kw} {name}': invalid status code '{v}' (expected 200-599)")
                    })?;
            }
            "content-type" => r.content_type = Some(val("a content type")?.as_str().into()),
            "string" => {
                r.payload = Payload::Fixed(val("a string")?.as_bytes().into());
                explicit_payload = true;
            }
            "lf-string" => {
                r.payload = Payload::Format(Fmt::parse(val("a log-format string")?, ctx)?);
                explicit_payload = true;
            }
            "file" | "lf-file" | "errorfile" => {
                let f = val("a file name")?;
                let text = std::fs::read(f)
                    .map_err(|e| format!("'{kw} {name} {a}': cannot read '{f}': {e}"))?;
                r.payload = if a == "lf-file" {
                    Payload::Format(Fmt::parse(&String::from_utf8_lossy(&text), ctx)?)
                } else {
                    Payload::Fixed(text.into())
                };
                explicit_payload = true;
                if a == "errorfile" {
                    return Err(format!(
                        "'{kw} {name} errorfile' is not supported yet; use 'file' with the body"
                    ));
                }
            }
            "default-errorfiles" => {
                r.payload = Payload::ErrorPage;
                explicit_payload = true;
            }
            "hdr" => {
                let n = val("a header name and a value")?;
                let v = val("a header value")?;
                r.headers.push((n.as_str().into(), Fmt::parse(v, ctx)?));
            }
            other => return Err(format!("'{kw} {name}': unknown argument '{other}'")),
        }
    }
    if !is_deny && !explicit_payload {
        // `return` with no payload answers with an empty body.
        r.payload = Payload::Empty;
    }
    if matches!(r.payload, Payload::Fixed(_) | Payload::Format(_)) && r.content_type.is_none() {
        return Err(format!(
            "'{kw} {name}': a 'content-type' is required with a payload"
        ));
    }
    if r.content_type.is_some() && matches!(r.payload, Payload::Empty | Payload::ErrorPage) {
        return Err(format!(
            "'{kw} {name}': 'content-type' given without a payload"
        ));
    }
    Ok(r)
}

/// `http-error status CODE [content-type T] [string S|file F|errorfile F|
/// default-errorfiles] [hdr N V]*`: an error answer fixed when the
/// configuration is loaded.
pub fn parse_http_error(words: &[String], ctx: &Context) -> Result<Reply, String> {
    match words.first().map(String::as_str) {
        Some("status") => {}
        _ => return Err("expects 'status CODE' first".into()),
    }
    let r = parse_reply("http-error", "status", words, 200, false, ctx)?;
    if matches!(r.payload, Payload::Format(_))
        || r.headers.iter().any(|(_, v)| v.literal().is_none())
    {
        return Err("log-format payloads and headers ('lf-string', 'lf-file', '%[...]') are not supported yet in 'http-error'".into());
    }
    Ok(r)
}

impl Reply {
    /// The whole answer, when nothing in it depends on the request: the
    /// status's error page stands in for an absent payload.
    pub fn fixed_bytes(&self) -> Option<Vec<u8>> {
        let body: Vec<u8> = match &self.payload {
            Payload::Empty => Vec::new(),
            Payload::Fixed(b) => b.to_vec(),
            Payload::ErrorPage => return None,
            Payload::Format(_) => return None,
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\n",
            self.status,
            super::reason_phrase(self.status),
            body.len()
        )
        .into_bytes();
        if let Some(ct) = &self.content_type {
            out.extend_from_slice(format!("content-type: {ct}\r\n").as_bytes());
        }
        for (n, v) in &self.headers {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.literal()?);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        Some(out)
    }
}

fn parse_redirect(args: &[String], ctx: &Context) -> Result<Redirect, String> {
    let (kind, value, rest) = match args {
        [k, v, rest @ ..] => {
            let kind = match k.as_str() {
                "location" => RedirectKind::Location,
                "prefix" => RedirectKind::Prefix,
                "scheme" => RedirectKind::Scheme,
                _ => {
                    return Err(format!(
                        "expects 'location', 'prefix' or 'scheme', got '{k}'"
                    ))
                }
            };
            (kind, Fmt::parse(v, ctx)?, rest)
        }
        _ => return Err("'redirect' expects 'location', 'prefix' or 'scheme' and a value".into()),
    };
    let mut r = Redirect {
        kind,
        value,
        code: 302,
        drop_query: false,
        append_slash: false,
        set_cookie: None,
        clear_cookie: None,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "code" => {
                let c = it.next().ok_or("'redirect code' expects a status code")?;
                r.code = match c.parse::<u16>() {
                    Ok(c @ (301 | 302 | 303 | 307 | 308)) => c,
                    _ => {
                        return Err(format!(
                            "invalid code '{c}' (expected 301, 302, 303, 307 or 308)"
                        ))
                    }
                };
            }
            "drop-query" => r.drop_query = true,
            "append-slash" => r.append_slash = true,
            "set-cookie" => {
                r.set_cookie = Some(
                    it.next()
                        .ok_or("'redirect set-cookie' expects NAME[=VALUE]")?
                        .as_str()
                        .into(),
                )
            }
            "clear-cookie" => {
                r.clear_cookie = Some(
                    it.next()
                        .ok_or("'redirect clear-cookie' expects NAME")?
                        .as_str()
                        .into(),
                )
            }
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(r)
}

/// What a ruleset reads besides the message it edits.
pub struct Env<'a> {
    /// Client address (a `set-src` changes it).
    pub src: SocketAddr,
    /// Frontend address.
    pub dst: SocketAddr,
    /// Frontend name.
    pub frontend: &'a str,
    /// Chosen backend.
    pub backend: Option<usize>,
    /// Chosen server.
    pub server: Option<usize>,
    /// Request body length when known.
    pub req_body_len: Option<u64>,
    /// The live state.
    pub world: &'a dyn World,
    /// What is known of the client connection (TLS, PROXY TLVs).
    pub conn: &'a super::facts::ConnFacts,
    /// The request's number and unique ID (HTTP; None in mode tcp).
    pub stream: Option<&'a super::facts::StreamFacts>,
    /// The frontend's `unique-id-format`.
    pub unique_id_format: Option<&'a super::fmt::Fmt>,
    /// Stick-table tracking of the connection and the request.
    pub tracked: crate::state::stick::Tracked<'a>,
}

impl<'a> Env<'a> {
    /// Facts over the given views.
    pub fn facts<'b>(
        &'b self,
        req: Option<View<'b>>,
        res: Option<View<'b>>,
        vars: &'b Vars,
    ) -> Facts<'b>
    where
        'a: 'b,
    {
        Facts {
            src: self.src,
            dst: self.dst,
            frontend: self.frontend,
            backend: self.backend,
            server: self.server,
            req,
            req_body_len: self.req_body_len,
            res,
            payload: &[],
            payload_final: true,
            missing: Default::default(),
            vars,
            world: self.world,
            conn: self.conn,
            stream: self.stream,
            unique_id_format: self.unique_id_format,
            tracked: self.tracked,
        }
    }
}

/// The message a ruleset edits, and the other one it may read.
pub struct Target<'m> {
    /// The buffer `head`'s ranges point into.
    pub buf: &'m [u8],
    /// The head being edited.
    pub head: &'m mut Head,
    /// In response rules: the request (read only).
    pub other: Option<View<'m>>,
    /// Which set runs (decides whether `head` is the request or the response).
    pub set: RuleSet,
}

/// Runs `rules` in order against `t`.
pub fn run(rules: &[Rule], env: &mut Env, t: &mut Target, vars: &mut Vars) -> Verdict {
    for rule in rules {
        let (holds, outcome) = {
            let view = View {
                buf: t.buf,
                head: t.head,
            };
            let (req, res) = match t.set {
                RuleSet::Request => (Some(view), None),
                _ => (t.other, Some(view)),
            };
            let f = env.facts(req, res, vars);
            let holds = rule.cond.as_ref().is_none_or(|c| c.holds(&f));
            if !holds {
                (false, Step::Next)
            } else {
                // A redirect builds on the request, whichever set it is in.
                let request = req.unwrap_or(view);
                (true, prepare(&rule.action, &f, view, request))
            }
        };
        if !holds {
            continue;
        }
        match outcome {
            Step::Next => {}
            Step::Stop => return Verdict::Continue,
            Step::Verdict(v) => return v,
            Step::Edit(e) => apply(e, t, env, vars),
        }
    }
    Verdict::Continue
}

/// What a matching rule asks for, computed while the message is only read.
enum Step<'r> {
    Next,
    Stop,
    Verdict(Verdict),
    Edit(Edit<'r>),
}

/// A change to make once the facts are released. Names borrow from the
/// rule, so that a `del-header` costs no allocation.
enum Edit<'r> {
    SetHeader(&'r [u8], Vec<u8>),
    AddHeader(&'r [u8], Vec<u8>),
    DelHeader(&'r super::http::NameMatch),
    Fields(Vec<(usize, Vec<u8>)>),
    SetFirst(Vec<u8>),
    SetSecond(Vec<u8>),
    SetStatus(u16, Option<&'r [u8]>),
    SetVar(&'r str, Option<super::sample::Value<'static>>),
    UnsetVar(&'r str),
    SetAddr(AddrPart, Option<super::sample::Value<'static>>),
    Capture(bool, usize, Box<[u8]>),
    LogLevel(u8),
}

fn prepare<'r>(action: &'r Action, f: &Facts, view: View, request: View) -> Step<'r> {
    use Action as A;
    match action {
        A::Allow => Step::Stop,
        A::Deny(r) => Step::Verdict(Verdict::Answer(reply(r, f))),
        A::Tarpit(r) => Step::Verdict(Verdict::Tarpit(reply(r, f))),
        A::Return(r) => Step::Verdict(Verdict::Answer(reply(r, f))),
        A::Redirect(r) => Step::Verdict(Verdict::Answer(redirect(r, f, request))),
        A::Auth(realm) => Step::Verdict(Verdict::Answer(Answer {
            status: 401,
            headers: vec![(
                b"www-authenticate"[..].into(),
                format!("Basic realm=\"{realm}\"").into_bytes(),
            )],
            body: None,
        })),
        A::PrometheusExporter => Step::Verdict(Verdict::Prometheus),
        A::ApacheStatus(page) => Step::Verdict(Verdict::ApacheStatus(*page)),
        A::Track(t) => {
            t.run(f, true);
            Step::Next
        }
        A::IncGpc0(s) => {
            super::stick::inc_gpc0(f, *s);
            Step::Next
        }
        A::SetHeader(n, v) => Step::Edit(Edit::SetHeader(n, v.render(f))),
        A::AddHeader(n, v) => Step::Edit(Edit::AddHeader(n, v.render(f))),
        A::DelHeader(n) => Step::Edit(Edit::DelHeader(n)),
        A::ReplaceHeader(n, re, fmt) => {
            let rendered = fmt.render(f);
            let changes = view
                .head
                .fields
                .iter()
                .enumerate()
                .filter(|(_, fl)| fl.name.of(view.buf).eq_ignore_ascii_case(n))
                .filter_map(|(i, fl)| {
                    substitute(re, fl.value.of(view.buf), &rendered).map(|v| (i, v))
                })
                .collect();
            Step::Edit(Edit::Fields(changes))
        }
        A::ReplaceValue(n, re, fmt) => {
            let rendered = fmt.render(f);
            let changes = view
                .head
                .fields
                .iter()
                .enumerate()
                .filter(|(_, fl)| fl.name.of(view.buf).eq_ignore_ascii_case(n))
                .filter_map(|(i, fl)| {
                    replace_values(re, fl.value.of(view.buf), &rendered).map(|v| (i, v))
                })
                .collect();
            Step::Edit(Edit::Fields(changes))
        }
        A::SetPath(v) => {
            let mut t = v.render(f);
            if let Some(q) = view.query() {
                t.push(b'?');
                t.extend_from_slice(q);
            }
            Step::Edit(Edit::SetSecond(with_authority(view, t)))
        }
        A::SetPathq(v) => Step::Edit(Edit::SetSecond(with_authority(view, v.render(f)))),
        A::ReplacePath(re, fmt) => match substitute(re, view.path(), &fmt.render(f)) {
            Some(mut p) => {
                if let Some(q) = view.query() {
                    p.push(b'?');
                    p.extend_from_slice(q);
                }
                Step::Edit(Edit::SetSecond(with_authority(view, p)))
            }
            None => Step::Next,
        },
        A::ReplacePathq(re, fmt) => {
            let t = view.target();
            let pq = super::http::strip_authority(t);
            match substitute(re, pq, &fmt.render(f)) {
                Some(p) => Step::Edit(Edit::SetSecond(with_authority(view, p))),
                None => Step::Next,
            }
        }
        A::SetUri(v) => Step::Edit(Edit::SetSecond(v.render(f))),
        A::ReplaceUri(re, fmt) => match substitute(re, view.target(), &fmt.render(f)) {
            Some(u) => Step::Edit(Edit::SetSecond(u)),
            None => Step::Next,
        },
        A::SetQuery(v) => {
            let q = v.render(f);
            let mut t = view.path().to_vec();
            if !q.is_empty() {
                t.push(b'?');
                t.extend_from_slice(&q);
            }
            Step::Edit(Edit::SetSecond(with_authority(view, t)))
        }
        A::SetMethod(v) => Step::Edit(Edit::SetFirst(v.render(f))),
        A::SetStatus(c, r) => Step::Edit(Edit::SetStatus(*c, r.as_deref())),
        A::SetVar(n, e) => Step::Edit(Edit::SetVar(n, e.eval(f).map(|v| v.into_owned()))),
        A::UnsetVar(n) => Step::Edit(Edit::UnsetVar(n)),
        A::SetAddr(part, e) => Step::Edit(Edit::SetAddr(*part, e.eval(f).map(|v| v.into_owned()))),
        A::Capture {
            expr,
            slot,
            len,
            response,
        } => {
            let v = expr
                .eval(f)
                .map(|v| v.to_bytes().into_owned())
                .unwrap_or_default();
            // Cut to the slot's length.
            let v = v.get(..*len).unwrap_or(&v);
            Step::Edit(Edit::Capture(*response, *slot, v.into()))
        }
        A::SetLogLevel(l) => Step::Edit(Edit::LogLevel(*l)),
        A::NormalizeUri(m) => {
            let t = view.target();
            let new = super::normalize::apply(*m, t);
            if new.as_slice() == t {
                Step::Next
            } else {
                Step::Edit(Edit::SetSecond(new))
            }
        }
    }
}

/// Keeps the scheme and authority of an absolute-form target in front of
/// a new path.
fn with_authority(view: View, new_path: Vec<u8>) -> Vec<u8> {
    let t = view.target();
    let rest = super::http::strip_authority(t);
    let prefix = t.strip_suffix(rest).unwrap_or_default();
    if prefix.is_empty() {
        return new_path;
    }
    let mut out = prefix.to_vec();
    out.extend_from_slice(&new_path);
    out
}

/// `replace-value`: each comma-separated value that `re` matches is
/// replaced; the others keep their bytes. As in HAProxy, a replaced value
/// loses the blanks that followed its comma.
fn replace_values(re: &regex::bytes::Regex, line: &[u8], repl: &[u8]) -> Option<Vec<u8>> {
    let mut changed = false;
    let mut out = Vec::with_capacity(line.len());
    for (i, raw) in line.split(|&b| b == b',').enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match substitute(re, raw.trim_ascii(), repl) {
            Some(v) => {
                changed = true;
                out.extend_from_slice(&v);
            }
            None => out.extend_from_slice(raw),
        }
    }
    changed.then_some(out)
}

/// When `re` matches `value`, the replacement with `\0`..`\9` expanded to
/// the match's groups (HAProxy replaces the whole value).
fn substitute(re: &regex::bytes::Regex, value: &[u8], repl: &[u8]) -> Option<Vec<u8>> {
    let caps = re.captures(value)?;
    let mut out = Vec::with_capacity(repl.len() + value.len());
    let mut rest = repl;
    loop {
        rest = match rest {
            [b'\\', d @ b'0'..=b'9', more @ ..] => {
                if let Some(m) = caps.get(usize::from(d - b'0')) {
                    out.extend_from_slice(m.as_bytes());
                }
                more
            }
            [b'\\', b'\\', more @ ..] => {
                out.push(b'\\');
                more
            }
            [b, more @ ..] => {
                out.push(*b);
                more
            }
            [] => break,
        };
    }
    Some(out)
}

fn reply(r: &Reply, f: &Facts) -> Answer {
    let mut headers: Vec<(Box<[u8]>, Vec<u8>)> = Vec::new();
    if let Some(ct) = &r.content_type {
        headers.push((b"content-type"[..].into(), ct.as_bytes().to_vec()));
    }
    // A header whose value comes out empty is left out, as HAProxy does.
    for (n, v) in &r.headers {
        let value = v.render(f);
        if !value.is_empty() {
            headers.push((n.as_bytes().into(), value));
        }
    }
    let body = match &r.payload {
        Payload::Empty => Some(Vec::new()),
        Payload::Fixed(b) => Some(b.to_vec()),
        Payload::Format(fm) => Some(fm.render(f)),
        Payload::ErrorPage => None,
    };
    Answer {
        status: r.status,
        headers,
        body,
    }
}

fn redirect(r: &Redirect, f: &Facts, view: View) -> Answer {
    let value = r.value.render(f);
    let path = view.path();
    let query = view.query().filter(|_| !r.drop_query);
    let mut loc = Vec::new();
    let push_path = |loc: &mut Vec<u8>| {
        loc.extend_from_slice(path);
        if r.append_slash && !path.ends_with(b"/") {
            loc.push(b'/');
        }
        if let Some(q) = query {
            loc.push(b'?');
            loc.extend_from_slice(q);
        }
    };
    match r.kind {
        RedirectKind::Location => loc = value,
        RedirectKind::Prefix => {
            // A prefix of "/" means "the same path": nothing is prepended.
            if value != b"/" {
                loc.extend_from_slice(&value);
            }
            push_path(&mut loc);
        }
        RedirectKind::Scheme => {
            loc.extend_from_slice(&value);
            loc.extend_from_slice(b"://");
            if let Some(h) = view.values(b"host").next() {
                loc.extend_from_slice(h);
            }
            push_path(&mut loc);
        }
    }
    let mut headers: Vec<(Box<[u8]>, Vec<u8>)> = vec![(b"location"[..].into(), loc)];
    if let Some(c) = &r.set_cookie {
        let mut v = c.as_bytes().to_vec();
        if !c.contains('=') {
            v.push(b'=');
        }
        v.extend_from_slice(b"; path=/");
        headers.push((b"set-cookie"[..].into(), v));
    }
    if let Some(c) = &r.clear_cookie {
        let name = c.trim_end_matches('=');
        headers.push((
            b"set-cookie"[..].into(),
            format!("{name}=; path=/; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:01 GMT")
                .into_bytes(),
        ));
    }
    Answer {
        status: r.code,
        headers,
        body: Some(Vec::new()),
    }
}

fn apply(e: Edit, t: &mut Target, env: &mut Env, vars: &mut Vars) {
    match e {
        Edit::SetHeader(n, v) => t.head.set(t.buf, n, v),
        Edit::AddHeader(n, v) => t.head.add(n, v),
        Edit::DelHeader(m) => t.head.remove_matching(t.buf, m),
        Edit::Fields(changes) => {
            for (i, v) in changes {
                if let Some(fl) = t.head.fields.get_mut(i) {
                    fl.value = Text::own(v);
                }
            }
        }
        Edit::SetFirst(v) => t.head.first = Text::own(v),
        Edit::SetSecond(v) => t.head.second = Text::own(v),
        Edit::SetStatus(code, reason) => {
            t.head.first = Text::own(code.to_string().into_bytes());
            t.head.second =
                Text::own(reason.unwrap_or_else(|| super::reason_phrase(code).as_bytes()));
        }
        Edit::SetVar(n, Some(v)) => vars.set(n, v),
        // A sample that cannot be fetched leaves the variable as it was,
        // as in HAProxy.
        Edit::SetVar(_, None) => {}
        Edit::UnsetVar(n) => vars.unset(n),
        Edit::SetAddr(part, Some(v)) => part.apply(&v, &mut env.src, &mut env.dst),
        Edit::SetAddr(_, None) => {}
        Edit::Capture(response, slot, v) => {
            vars.captures
                .retain(|(r, s, _)| !(*r == response && *s == slot));
            vars.captures.push((response, slot, v));
        }
        Edit::LogLevel(l) => vars.log_level = Some(l),
    }
}

/// Which address `set-src`, `set-dst`, `set-src-port` and `set-dst-port`
/// rewrite: the rules, the logs and the headers added for the server
/// (`option forwardfor`, `option originalto`) see the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrPart {
    /// The client's address.
    Src,
    /// The address the client reached.
    Dst,
    /// The client's port.
    SrcPort,
    /// The port the client reached.
    DstPort,
}

impl AddrPart {
    /// Applies a value; one that is not an address (or a port) changes
    /// nothing, as in HAProxy.
    fn apply(self, v: &super::sample::Value, src: &mut SocketAddr, dst: &mut SocketAddr) {
        let port = || v.to_int().and_then(|p| u16::try_from(p).ok());
        match self {
            AddrPart::Src => {
                if let Some(ip) = v.to_ip() {
                    src.set_ip(ip);
                }
            }
            AddrPart::Dst => {
                if let Some(ip) = v.to_ip() {
                    dst.set_ip(ip);
                }
            }
            AddrPart::SrcPort => {
                if let Some(p) = port() {
                    src.set_port(p);
                }
            }
            AddrPart::DstPort => {
                if let Some(p) = port() {
                    dst.set_port(p);
                }
            }
        }
    }
}
