//! Rules: ACLs, sample fetches, converters and actions, compiled once per
//! Runtime and evaluated per request without allocating unless an action
//! builds a string.
//!
//! ```text
//!  model Words ─parse─▶ acl::Named / acl::Cond / action::Rule ─▶ ProxyRules
//!  (per proxy, with    (fetch.rs, conv.rs, pattern.rs,            (in the Runtime,
//!   the line's origin)  sample.rs, fmt.rs)                         shared by workers)
//!
//!  per request:  Facts (facts.rs, over http::View) ─▶ Cond::holds ─▶ action::run ─▶ Verdict
//! ```
//!
//! The config layer keeps rule lines as words; every error found here is
//! reported at the line's `file:line` by [`check`], which `fulcrum -c`
//! runs, and compiling a Runtime runs the same code.

// No panic on anything a peer sends, by construction: no unwrap, no
// expect, no unchecked indexing (issue 19). The rare exception is an
// #[allow] on the smallest item, under a comment naming the invariant
// that keeps it in bounds; test modules allow all three.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod acl;
pub mod action;
pub mod conv;
pub mod facts;
pub mod fetch;
pub mod fmt;
pub mod http;
pub mod logline;
mod normalize;
pub mod pattern;
pub mod sample;
pub mod stick;
pub mod tcp;

use crate::config::diag::{Diagnostics, Span};
use crate::config::model::{Config, Mode, Proxy, Words};

use self::acl::{Cond, Named};
use self::action::{Action, Rule, RuleSet};

/// Names a rule may refer to, resolved to the Runtime's indices.
pub struct Context<'c> {
    /// The proxy whose rules are compiled.
    pub proxy: &'c str,
    /// The configuration the names come from (None: no names).
    config: Option<&'c Config>,
    /// Backends in Runtime order, with their servers: listed on first
    /// use, since most proxies' rules name none, and listing every server
    /// for every proxy made a reload of 1,000 backends x 10 servers spend
    /// most of its 300 ms here.
    backends: std::cell::OnceCell<Vec<(&'c str, Vec<&'c str>)>>,
    /// `userlist` names, in order.
    userlists: Vec<&'c str>,
    /// The lengths of the proxy's log capture slots (request, response),
    /// growing as `http-request capture ... len N` declares new ones.
    slots: std::cell::RefCell<(Vec<usize>, Vec<usize>)>,
    /// Stick tables (named after their proxy), in Runtime order.
    tables: Vec<String>,
}

impl<'c> Context<'c> {
    /// The context of proxy `proxy` in `c`.
    pub fn new(c: &'c Config, proxy: &'c str) -> Context<'c> {
        Context {
            proxy,
            config: Some(c),
            backends: std::cell::OnceCell::new(),
            userlists: c.userlists.iter().map(|u| u.name.as_str()).collect(),
            slots: Default::default(),
            tables: table_names(c),
        }
    }

    /// The context of proxy `p`, with its declared capture slots.
    pub fn of_proxy(c: &'c Config, p: &'c Proxy) -> Context<'c> {
        let ctx = Context::new(c, &p.name);
        {
            let mut slots = ctx.slots.borrow_mut();
            for cap in &p.capture {
                let list = if cap.response {
                    &mut slots.1
                } else {
                    &mut slots.0
                };
                list.push(cap.len as usize);
            }
        }
        ctx
    }

    /// A new request capture slot of `len` bytes; its id.
    pub fn new_request_slot(&self, len: usize) -> usize {
        let mut slots = self.slots.borrow_mut();
        slots.0.push(len);
        slots.0.len() - 1
    }

    /// The length of capture slot `id`, if it exists.
    pub fn slot_len(&self, response: bool, id: usize) -> Option<usize> {
        let slots = self.slots.borrow();
        let list = if response { &slots.1 } else { &slots.0 };
        list.get(id).copied()
    }

    /// A context that knows no names (tests, benches).
    pub fn empty() -> Context<'static> {
        Context {
            proxy: "",
            config: None,
            backends: std::cell::OnceCell::new(),
            userlists: Vec::new(),
            slots: Default::default(),
            tables: Vec::new(),
        }
    }

    /// A stick table's index.
    pub fn table(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|n| n == name)
    }

    /// The backends and their servers, listed on first use.
    fn backends(&self) -> &[(&'c str, Vec<&'c str>)] {
        self.backends.get_or_init(|| {
            let Some(c) = self.config else {
                return Vec::new();
            };
            c.proxies
                .iter()
                .filter(|p| p.kind.has_backend())
                .map(|p| {
                    (
                        p.name.as_str(),
                        p.server.iter().map(|s| s.name.as_str()).collect(),
                    )
                })
                .collect()
        })
    }

    /// A backend's index.
    pub fn backend(&self, name: &str) -> Option<usize> {
        self.backends().iter().position(|(n, _)| *n == name)
    }

    /// A server's (backend, server) indices.
    pub fn server(&self, backend: &str, server: &str) -> Option<(usize, usize)> {
        let b = self.backend(backend)?;
        let s = self
            .backends()
            .get(b)?
            .1
            .iter()
            .position(|n| *n == server)?;
        Some((b, s))
    }

    /// A userlist's index.
    pub fn userlist(&self, name: &str) -> Option<usize> {
        self.userlists.iter().position(|n| *n == name)
    }
}

/// The proxies that declare a `stick-table`, in order: the indices of the
/// Runtime's tables.
pub fn table_names(c: &Config) -> Vec<String> {
    c.stick_tables().iter().map(|t| t.id()).collect()
}

/// A proxy's rules, compiled.
#[derive(Debug, Clone, Default)]
pub struct ProxyRules {
    /// `http-request` rules.
    pub http_request: Vec<Rule>,
    /// `redirect` rules, run after the http-request rules.
    pub redirect: Vec<Rule>,
    /// `http-response` rules.
    pub http_response: Vec<Rule>,
    /// `http-after-response` rules.
    pub http_after_response: Vec<Rule>,
    /// `use_backend` conditions, with the backend's index.
    pub use_backend: Vec<(Option<Cond>, usize)>,
    /// `use-server` conditions, with the server's index in this backend.
    pub use_server: Vec<(Option<Cond>, usize)>,
    /// `stats admin` condition.
    pub stats_admin: Option<Cond>,
    /// `stats http-request` rules, in order: the first that holds decides.
    pub stats_http_request: Vec<(StatsAccess, Option<Cond>)>,
    /// `monitor fail` conditions: any that holds makes `monitor-uri`
    /// answer 503.
    pub monitor_fail: Vec<Cond>,
    /// `http-error` answers, fixed at load time.
    pub http_errors: Vec<action::Reply>,
    /// `force-persist` conditions.
    pub force_persist: Vec<Cond>,
    /// `ignore-persist` conditions.
    pub ignore_persist: Vec<Cond>,
    /// `tcp-request connection` rules.
    pub tcp_connection: Vec<tcp::TcpRule>,
    /// `tcp-request content` rules.
    pub tcp_content: Vec<tcp::TcpRule>,
    /// `tcp-request inspect-delay`: how long content rules may wait.
    pub inspect_delay: Option<std::time::Duration>,
    /// The log's capture slots (their lengths), request then response: the
    /// proxy's `capture`/`declare capture` lines and the slots
    /// `http-request capture ... len N` added.
    pub capture_slots: (Vec<usize>, Vec<usize>),
    /// `stick on|match|store-request` rules (backends).
    pub stick: Vec<stick::StickRule>,
    /// The access-log line (`log-format`, `option httplog`...), when the
    /// proxy logs.
    pub log_line: Option<fmt::Fmt>,
    /// `unique-id-format` (frontends).
    pub unique_id_format: Option<fmt::Fmt>,
    /// `unique-id-header NAME` (frontends, with a format).
    pub unique_id_header: Option<Box<str>>,
    /// Some `use_backend` condition reads the payload (`req.ssl_sni`...),
    /// so a `mode tcp` frontend inspects before it chooses.
    pub routes_on_payload: bool,
}

impl ProxyRules {
    /// Whether any rule reads or edits the HTTP exchange, so that the proxy
    /// must build the head view for it.
    pub fn is_empty(&self) -> bool {
        self.http_request.is_empty()
            && self.redirect.is_empty()
            && self.http_response.is_empty()
            && self.http_after_response.is_empty()
            && self.use_backend.is_empty()
            && self.use_server.is_empty()
    }
}

/// A rule that could not be compiled, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where the line was written.
    pub at: Option<Span>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Compiles every rule of proxy `p`. All errors are returned, not the first.
pub fn compile(c: &Config, p: &Proxy) -> Result<ProxyRules, Vec<RuleError>> {
    let ctx = Context::of_proxy(c, p);
    let mut errors = Vec::new();
    let kind = describe(p);
    let err = |w: &Words, kw: &str, m: String| RuleError {
        at: w.origin.0.clone(),
        message: if m.starts_with(&format!("'{kw}")) {
            format!("{kind}: {m}")
        } else {
            format!("{kind}: '{kw}': {m}")
        },
    };
    let http = p.mode == Mode::Http;
    // As in HAProxy, a rule sees only the ACL lines written above it.
    let mut lines: Vec<(Option<Span>, String, acl::Acl)> = Vec::new();
    for w in &p.acl {
        match acl::parse_line(&w.words, &ctx) {
            Ok((name, a)) => lines.push((w.origin.0.clone(), name, a)),
            Err(m) => errors.push(err(w, "acl", m)),
        }
    }
    let all: Vec<Named> = acl::group(lines.iter().map(|(_, n, a)| (n.as_str(), a)));
    let above = |at: &Option<Span>| -> std::borrow::Cow<'_, [Named]> {
        let before = |o: &Option<Span>| match (o, at) {
            (Some(o), Some(at)) => o.file != at.file || o.line < at.line,
            _ => true,
        };
        if lines.iter().all(|(o, ..)| before(o)) {
            std::borrow::Cow::Borrowed(&all)
        } else {
            let visible = lines.iter().filter(|(o, ..)| before(o));
            std::borrow::Cow::Owned(acl::group(visible.map(|(_, n, a)| (n.as_str(), a))))
        }
    };
    let mut out = ProxyRules::default();
    let sets = [
        (RuleSet::Request, &p.http_request, "http-request"),
        (RuleSet::Response, &p.http_response, "http-response"),
        (
            RuleSet::AfterResponse,
            &p.http_after_response,
            "http-after-response",
        ),
    ];
    for (set, lines, kw) in sets {
        for w in lines {
            if !http {
                errors.push(err(
                    w,
                    kw,
                    format!("'{kw}' rules need 'mode http'; this proxy is in 'mode tcp'"),
                ));
                continue;
            }
            let parsed = Rule::parse(set, &w.words, &above(&w.origin.0), &ctx)
                .and_then(|r| check_rule(set, r))
                .and_then(|r| match r.action {
                    // Capture slots belong to the frontend's log line.
                    Action::Capture { .. } if !p.kind.has_frontend() => Err(format!(
                        "'{kw} capture' in a backend is not supported yet (capture in the frontend)"
                    )),
                    _ => Ok(r),
                });
            match parsed {
                Ok(r) => match set {
                    RuleSet::Request => out.http_request.push(r),
                    RuleSet::Response => out.http_response.push(r),
                    RuleSet::AfterResponse => out.http_after_response.push(r),
                },
                Err(m) => errors.push(err(w, kw, m)),
            }
        }
    }
    for w in &p.redirect {
        if !http {
            errors.push(err(
                w,
                "redirect",
                "'redirect' needs 'mode http'; this proxy is in 'mode tcp'".into(),
            ));
            continue;
        }
        let mut words = vec!["redirect".to_string()];
        words.extend(w.words.iter().cloned());
        match Rule::parse(RuleSet::Request, &words, &above(&w.origin.0), &ctx) {
            Ok(r) => out.redirect.push(r),
            Err(m) => {
                let m = m
                    .strip_prefix("'http-request redirect': ")
                    .map(str::to_string)
                    .unwrap_or(m);
                errors.push(err(w, "redirect", m))
            }
        }
    }
    let cond = |w: &Option<Words>, kw: &str, errors: &mut Vec<RuleError>| -> Option<Cond> {
        let w = w.as_ref()?;
        match Cond::parse(&w.words, &above(&w.origin.0), &ctx)
            .and_then(|c| check_cond(c, http, false))
        {
            Ok(c) => Some(c),
            Err(m) => {
                errors.push(err(w, kw, m));
                None
            }
        }
    };
    for u in &p.use_backend {
        let c = cond(&u.cond, "use_backend", &mut errors);
        if let Some(b) = ctx.backend(&u.backend) {
            out.use_backend.push((c, b));
        }
    }
    for u in &p.use_server {
        let c = cond(&u.cond, "use-server", &mut errors);
        match p.server.iter().position(|s| s.name == u.server) {
            Some(s) => out.use_server.push((c, s)),
            None => errors.push(RuleError {
                at: u.origin.0.clone(),
                message: format!("{kind}: 'use-server': no server named '{}'", u.server),
            }),
        }
    }
    for (set, lines, kw) in [
        (
            tcp::TcpSet::Connection,
            &p.tcp_request_connection,
            "tcp-request connection",
        ),
        (
            tcp::TcpSet::Content,
            &p.tcp_request_content,
            "tcp-request content",
        ),
    ] {
        for w in lines {
            match tcp::TcpRule::parse(set, &w.words, &above(&w.origin.0), &ctx) {
                Ok(r) if set == tcp::TcpSet::Connection => out.tcp_connection.push(r),
                Ok(r) => out.tcp_content.push(r),
                Err(m) => errors.push(err(w, kw, m)),
            }
        }
    }
    if p.kind.has_backend() {
        for w in &p.stick {
            let kw = format!(
                "stick {}",
                w.words.first().map(String::as_str).unwrap_or("")
            );
            match stick::StickRule::parse(&w.words, &above(&w.origin.0), &ctx).and_then(|r| {
                if !http && r.expr.fetch.needs_http() {
                    return Err("the expression reads HTTP, but this proxy is in 'mode tcp'".into());
                }
                Ok(r)
            }) {
                Ok(r) => out.stick.push(r),
                Err(m) => errors.push(err(w, &kw, m)),
            }
        }
    }
    out.inspect_delay = p.tcp_request_inspect_delay.filter(|d| !d.is_zero());
    out.routes_on_payload = out
        .use_backend
        .iter()
        .filter_map(|(c, _)| c.as_ref())
        .flat_map(|c| c.acls())
        .any(|a| a.expr().fetch.needs_payload());
    for w in &p.http_error {
        match action::parse_http_error(&w.words, &ctx) {
            Ok(r) if !crate::config::ERRORFILE_CODES.contains(&r.status) => errors.push(err(
                w,
                "http-error",
                format!("status code {} cannot be customized", r.status),
            )),
            Ok(r) => out.http_errors.push(r),
            Err(m) => errors.push(err(w, "http-error", m)),
        }
    }
    for srv in &p.server {
        if let Some(text) = &srv.sni {
            if let Err(m) = sample::Expr::parse(text, &ctx) {
                errors.push(RuleError {
                    at: srv.origin.0.clone(),
                    message: format!("{kind}: server '{}': 'sni': {m}", srv.name),
                });
            }
        }
    }
    for w in &p.errorfiles {
        if let Some(name) = w.words.first() {
            if !c.http_errors.iter().any(|h| &h.name == name) {
                errors.push(err(
                    w,
                    "errorfiles",
                    format!("no 'http-errors' section named '{name}'"),
                ));
            }
        }
    }
    out.stats_admin = cond(&p.stats.admin, "stats admin", &mut errors);
    for w in &p.stats.http_request {
        let (action, rest) = match w.words.split_first() {
            Some((a, rest)) => (a.as_str(), rest),
            None => continue,
        };
        let (access, rest) = match (action, rest) {
            ("allow", rest) => (StatsAccess::Allow, rest),
            ("deny", rest) => (StatsAccess::Deny, rest),
            ("auth", [r, realm, rest @ ..]) if r == "realm" => {
                (StatsAccess::Auth(Some(realm.clone())), rest)
            }
            ("auth", rest) => (StatsAccess::Auth(None), rest),
            _ => continue,
        };
        let c = match rest.first().map(String::as_str) {
            None => None,
            Some("if" | "unless") if rest.len() > 1 => cond(
                &Some(Words {
                    words: rest.to_vec(),
                    origin: w.origin.clone(),
                }),
                "stats http-request",
                &mut errors,
            ),
            Some(other) => {
                errors.push(err(
                    w,
                    "stats http-request",
                    format!("expected 'if' or 'unless' after the action, got '{other}'"),
                ));
                continue;
            }
        };
        out.stats_http_request.push((access, c));
    }
    out.capture_slots = ctx.slots.borrow().clone();
    for (lines, kw) in [
        (&p.monitor_fail, "monitor fail"),
        (&p.force_persist, "force-persist"),
        (&p.ignore_persist, "ignore-persist"),
    ] {
        for w in lines {
            if let Some(c) = cond(&Some(w.clone()), kw, &mut errors) {
                match kw {
                    "monitor fail" => out.monitor_fail.push(c),
                    "force-persist" => out.force_persist.push(c),
                    _ => out.ignore_persist.push(c),
                }
            }
        }
    }
    if p.kind.has_frontend() {
        match log_line(p, &ctx) {
            Ok(f) => out.log_line = f,
            Err(m) => errors.push(RuleError {
                at: p
                    .span_of("log-format")
                    .or_else(|| p.span_of("option httplog"))
                    .cloned(),
                message: format!("{kind}: 'log-format': {m}"),
            }),
        }
    }
    if p.kind.has_frontend() {
        // A header without a format is sent empty, as in HAProxy.
        let format = p
            .unique_id_format
            .as_deref()
            .or(p.unique_id_header.as_ref().map(|_| ""));
        if let Some(text) = format {
            match fmt::Fmt::parse_unique_id(text, &ctx) {
                Ok(f) => out.unique_id_format = Some(f),
                Err(m) => errors.push(RuleError {
                    at: p.span_of("unique-id-format").cloned(),
                    message: format!("{kind}: 'unique-id-format': {m}"),
                }),
            }
            out.unique_id_header = p.unique_id_header.as_deref().map(Into::into);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// What a `stats http-request` rule decides for a request of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAccess {
    /// Served, without authentication.
    Allow,
    /// 403.
    Deny,
    /// 401 with this realm (else the page's).
    Auth(Option<String>),
}

/// The frontend's access-log line: `log-format`, or the layout an
/// `option` names (an HTTP layout in mode tcp falls back to tcplog, as in
/// HAProxy).
fn log_line(p: &Proxy, ctx: &Context) -> Result<Option<fmt::Fmt>, String> {
    use crate::config::model::AccessLog;
    use logline::layouts;
    let http = p.mode == Mode::Http;
    let text = match &p.option.log_format {
        None => return Ok(None),
        Some(AccessLog::Custom(s)) => s.as_str(),
        Some(AccessLog::Tcplog) => layouts::TCPLOG,
        Some(_) if !http => layouts::TCPLOG,
        Some(AccessLog::Httplog) => layouts::HTTPLOG,
        Some(AccessLog::HttplogClf) => layouts::HTTPLOG_CLF,
        Some(AccessLog::Httpslog) => layouts::HTTPSLOG,
    };
    fmt::Fmt::parse_log(text, ctx).map(Some)
}

/// Mode and direction checks a rule's fetches must pass.
fn check_rule(set: RuleSet, r: Rule) -> Result<Rule, String> {
    if let Some(c) = &r.cond {
        for a in c.acls() {
            let f = &a.expr().fetch;
            if set == RuleSet::Request && f.needs_response() {
                return Err("the condition reads the response, which does not exist yet in 'http-request' rules".into());
            }
        }
    }
    if let Action::SetVar(_, e) | Action::SetAddr(_, e) = &r.action {
        if set == RuleSet::Request && e.fetch.needs_response() {
            return Err("the expression reads the response, which does not exist yet in 'http-request' rules".into());
        }
    }
    Ok(r)
}

fn check_cond(c: Cond, http: bool, response: bool) -> Result<Cond, String> {
    for a in c.acls() {
        let f = &a.expr().fetch;
        if !http && f.needs_http() {
            return Err("the condition reads HTTP, but this proxy is in 'mode tcp'".into());
        }
        if !response && f.needs_response() {
            return Err("the condition reads the response, which does not exist yet here".into());
        }
    }
    Ok(c)
}

fn describe(p: &Proxy) -> String {
    match p.kind {
        crate::config::model::ProxyKind::Listen => format!("proxy '{}'", p.name),
        k => format!("{} '{}'", k.name(), p.name),
    }
}

/// Compiles every proxy's rules and reports each problem at its line:
/// what `fulcrum -c` adds to the config layer's checks.
pub fn check(c: &Config) -> Diagnostics {
    let mut d = Diagnostics::default();
    for p in &c.proxies {
        if let Err(errors) = compile(c, p) {
            for e in errors {
                let at = e.at.unwrap_or_else(|| Span::file(&"<config>".into()));
                d.error(at, e.message);
            }
        }
        check_rules_of_checks(c, p, &mut d);
    }
    d
}

/// The sample expressions and log-format strings of `http-check` rules
/// (`set-var`, `name-lf`, `value-lf`), compiled here so that `-c` reports
/// them at their line; the health checker compiles them again to run them.
fn check_rules_of_checks(c: &Config, p: &Proxy, d: &mut Diagnostics) {
    use crate::config::model::HttpCheckRule;
    let ctx = Context::new(c, &p.name);
    let at = |kw: &str| {
        p.span_of(kw)
            .cloned()
            .unwrap_or_else(|| Span::file(&"<config>".into()))
    };
    for r in &p.http_check {
        match r {
            HttpCheckRule::SetVar { expr, .. } => {
                if let Err(e) = sample::Expr::parse(expr, &ctx) {
                    d.error(
                        at("http-check set-var"),
                        format!("'http-check set-var': {e}"),
                    );
                }
            }
            HttpCheckRule::Expect(e) => {
                let Some(h) = &e.header else { continue };
                let lf = [
                    h.name_lf.then_some(e.pattern.as_str()),
                    h.value
                        .as_ref()
                        .filter(|v| v.lf)
                        .map(|v| v.pattern.as_str()),
                ];
                for text in lf.into_iter().flatten() {
                    if let Err(m) = fmt::Fmt::parse(text, &ctx) {
                        d.error(at("http-check expect"), format!("'http-check expect': {m}"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The reason phrase HAProxy writes for a status it generates.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Time-out",
        410 => "Gone",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        425 => "Too Early",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        // Other codes get their class's name, as HAProxy writes them.
        _ => match code / 100 {
            1 => "Informational",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Other",
        },
    }
}
