//! Cross-reference checks over a whole [`Config`], after parsing: names,
//! targets, tracking chains, mode compatibility, and the settings HAProxy
//! ignores in `mode tcp` (with the warning it gives). Pure over the model;
//! [`check_environment`] is the part that looks at files and resolves names.

use std::collections::HashMap;
use std::sync::Arc;

use super::diag::{Diagnostics, Span};
use super::model::{AccessLog, Balance, Config, Mode, Proxy, ProxyKind, Verify};

fn span_of(p: &Proxy, keyword: &str) -> Span {
    p.span_of(keyword).cloned().unwrap_or_else(|| {
        let f: Arc<str> = format!("{} '{}'", p.kind.name(), p.name).into();
        Span::file(&f)
    })
}

/// "frontend 'x'", "backend 'x'" or "proxy 'x'" (a listen), as HAProxy says it.
fn describe(p: &Proxy) -> String {
    match p.kind {
        ProxyKind::Listen => format!("proxy '{}'", p.name),
        k => format!("{} '{}'", k.name(), p.name),
    }
}

/// Checks everything that needs the whole model. Returns errors and warnings.
pub fn validate(c: &Config) -> Diagnostics {
    let mut d = Diagnostics::default();
    names(c, &mut d);
    for p in &c.proxies {
        structure(p, &mut d);
        routing(c, p, &mut d);
        tracking(c, p, &mut d);
        mode_tcp(p, &mut d);
        timeouts(p, &mut d);
        servers(p, &c.global, &mut d);
        super::not_yet::warn(p, &mut d);
    }
    super::addresses::check(c, &mut d);
    programs(c, &mut d);
    super::peers_check::check(c, &mut d);
    d
}

/// `program` sections: each needs a command, and a master to run it.
fn programs(c: &Config, d: &mut Diagnostics) {
    let master = c.global.master_worker || super::overrides::get().master;
    for p in &c.programs {
        let span = p.origin.0.clone().unwrap_or_else(|| {
            let f: Arc<str> = format!("program '{}'", p.name).into();
            Span::file(&f)
        });
        if p.command.is_empty() {
            d.error(
                span.clone(),
                format!("program '{}' has no 'command'", p.name),
            );
        }
        if !master {
            d.error(
                span,
                format!(
                    "program '{}' runs only in master-worker mode: start with -W (or -Ws), or add 'master-worker' to global",
                    p.name
                ),
            );
        }
    }
}

/// True when the configuration listens somewhere (HAProxy exits 2 on `-c` otherwise).
pub fn has_listener(c: &Config) -> bool {
    c.proxies
        .iter()
        .any(|p| p.kind.has_frontend() && !p.bind.is_empty())
}

fn names(c: &Config, d: &mut Diagnostics) {
    for (i, p) in c.proxies.iter().enumerate() {
        // A frontend and a backend may share a name; anything else may not.
        let clash = c.proxies[..i].iter().find(|q| {
            q.name == p.name
                && ((q.kind.has_frontend() && p.kind.has_frontend())
                    || (q.kind.has_backend() && p.kind.has_backend()))
        });
        if let Some(q) = clash {
            d.error(
                span_of(p, ""),
                format!(
                    "{} has the same name as {} declared at {}",
                    describe(p),
                    describe(q),
                    span_of(q, "")
                ),
            );
        }
        let mut seen: HashMap<&str, Option<&Span>> = HashMap::new();
        for s in &p.server {
            if let Some(first) = seen.insert(&s.name, s.origin.0.as_ref()) {
                let at = first.map(|f| format!(" at {f}")).unwrap_or_default();
                d.error(
                    s.origin.0.clone().unwrap_or_else(|| span_of(p, "")),
                    format!(
                        "{}: another server named '{}' was already declared{at}; use distinct names",
                        describe(p),
                        s.name
                    ),
                );
            }
        }
    }
}

/// What the YAML form could put where the cfg reader would not.
fn structure(p: &Proxy, d: &mut Diagnostics) {
    // As HAProxy: the page is protected one way or the other.
    if !p.stats.http_request.is_empty() && (!p.stats.auth.is_empty() || p.stats.realm.is_some()) {
        d.error(
            span_of(p, "stats http-request"),
            format!(
                "{}: 'stats auth'/'stats realm' and 'stats http-request' can't be used at the same time",
                describe(p)
            ),
        );
    }
    if p.name.is_empty() {
        d.error(span_of(p, ""), format!("a {} needs a name", p.kind.name()));
    }
    if !p.kind.has_frontend() && !p.bind.is_empty() {
        d.warning(
            span_of(p, "bind"),
            format!(
                "'bind' ignored because {} has no frontend capability",
                describe(p)
            ),
        );
    }
    if !p.kind.has_backend() && !p.server.is_empty() {
        d.error(
            span_of(p, "server"),
            format!(
                "'server' not allowed because {} has no backend capability",
                describe(p)
            ),
        );
    }
    if p.kind.has_frontend() && p.bind.is_empty() {
        d.warning(
            span_of(p, ""),
            format!(
                "{} has no 'bind' line: it will not listen (declare it as a backend if that was meant)",
                describe(p)
            ),
        );
    }
    for b in &p.bind {
        if b.ssl && b.alpn.iter().any(|a| a == "h2") {
            d.warning(
                b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind")),
                format!(
                    "{}: 'alpn' offers h2, which fulcrum does not speak yet: only the HTTP/1.x protocols of the list are offered",
                    describe(p)
                ),
            );
        }
        if b.ssl
            && matches!(
                b.verify,
                Some(super::model::ClientVerify::Optional | super::model::ClientVerify::Required)
            )
            && b.ca_file.is_none()
        {
            d.error(
                b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind")),
                format!(
                    "{}: 'verify' checks client certificates against a CA: add 'ca-file FILE'",
                    describe(p)
                ),
            );
        }
        if b.ssl && b.crt.is_empty() && b.crt_list.is_empty() {
            d.error(
                b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind")),
                format!(
                    "{}: a 'bind ... ssl' needs a certificate ('crt FILE')",
                    describe(p)
                ),
            );
        }
    }
}

fn routing(c: &Config, p: &Proxy, d: &mut Diagnostics) {
    if !p.kind.has_frontend() {
        return;
    }
    let mut target = |name: &str, span: Span, what: &str| {
        match c.backend(name) {
        None => d.error(
            span,
            format!(
                "{}: {what} '{name}' does not name a backend or listen section",
                describe(p)
            ),
        ),
        // A listen sending traffic to itself would loop (HAProxy refuses it).
        Some(b) if std::ptr::eq(b, p) => d.error(
            span,
            format!("{}: loop detected for {what} '{name}' (a listen cannot use itself)", describe(p)),
        ),
        Some(b) if p.mode == Mode::Http && b.mode == Mode::Tcp => d.error(
            span,
            format!(
                "http {} cannot use tcp backend '{name}' (declared at {}) as its {what}: set 'mode http' on the backend",
                describe(p),
                span_of(b, "")
            ),
        ),
        Some(_) => {}
    }
    };
    if let Some(b) = &p.default_backend {
        target(b, span_of(p, "default_backend"), "default_backend");
    }
    for u in &p.use_backend {
        let span = u
            .origin
            .0
            .clone()
            .unwrap_or_else(|| span_of(p, "use_backend"));
        target(&u.backend, span, "use_backend");
    }
}

fn tracking(c: &Config, p: &Proxy, d: &mut Diagnostics) {
    for s in &p.server {
        let Some(t) = &s.track else { continue };
        let span = s.origin.0.clone().unwrap_or_else(|| span_of(p, "server"));
        if s.ssl {
            d.error(
                span.clone(),
                format!(
                    "server '{}/{}': 'ssl' (TLS to the server) is not supported yet: fulcrum would send plain text to a TLS server; point it at the server's plain-text port, or use 'mode tcp' to pass TLS through",
                    p.name, s.name
                ),
            );
        }
        let here = format!("server '{}/{}'", p.name, s.name);
        if s.check {
            d.error(
                span.clone(),
                format!("{here}: 'check' and 'track' cannot be used together"),
            );
        }
        // Follow the chain; a chain longer than the number of servers loops.
        let limit = c.proxies.iter().map(|q| q.server.len()).sum::<usize>() + 1;
        let mut cur_backend = p.name.as_str();
        let mut cur = t.clone();
        for _ in 0..limit {
            let be_name = cur.backend.as_deref().unwrap_or(cur_backend);
            let Some(be) = c.backend(be_name) else {
                d.error(
                    span.clone(),
                    format!("{here}: cannot track '{cur}': there is no backend '{be_name}'"),
                );
                break;
            };
            let Some(target) = be.server.iter().find(|x| x.name == cur.server) else {
                d.error(
                    span.clone(),
                    format!(
                        "{here}: cannot track '{cur}': backend '{be_name}' has no server '{}'",
                        cur.server
                    ),
                );
                break;
            };
            if be.name == p.name && target.name == s.name {
                d.error(
                    span.clone(),
                    format!(
                        "{here}: cannot track '{t}': the tracking chain loops back to this server"
                    ),
                );
                break;
            }
            match &target.track {
                Some(next) => {
                    cur_backend = &be.name;
                    cur = next.clone();
                }
                None if !target.check => {
                    d.error(
                        span.clone(),
                        format!(
                            "{here}: cannot track '{be_name}/{}': it has no 'check' enabled",
                            target.name
                        ),
                    );
                    break;
                }
                None => break,
            }
        }
    }
}

/// The HTTP-only settings in a `mode tcp` proxy: HAProxy accepts them and
/// ignores them with a warning; so does fulcrum, with the same facts.
fn mode_tcp(p: &Proxy, d: &mut Diagnostics) {
    if p.mode != Mode::Tcp {
        return;
    }
    let who = describe(p);
    for (set, kw) in [
        (p.option.forwardfor.is_some(), "option forwardfor"),
        (p.option.originalto.is_some(), "option originalto"),
    ] {
        if set {
            d.warning(
                span_of(p, kw),
                format!("'{kw}' ignored for {who}: it requires 'mode http'"),
            );
        }
    }
    if matches!(
        p.option.log_format,
        Some(AccessLog::Httplog | AccessLog::HttplogClf | AccessLog::Httpslog)
    ) {
        d.warning(
            span_of(p, "option httplog"),
            format!("'option httplog' not usable with {who} (needs 'mode http'): 'option tcplog' is used instead"),
        );
    }
    if p.stats.enable {
        d.warning(
            span_of(p, "stats enable"),
            format!("'stats' ignored for {who}: the stats page requires 'mode http'"),
        );
    }
    if p.kind.has_backend()
        && matches!(
            p.balance,
            Balance::Uri(_) | Balance::UrlParam { .. } | Balance::Hdr { .. }
        )
    {
        d.warning(
            span_of(p, "balance"),
            format!("layer 7 hashing is not possible for {who} (needs 'mode http'): roundrobin is used instead"),
        );
    }
    if p.kind.has_backend() && p.cookie.is_some() {
        d.warning(
            span_of(p, "cookie"),
            format!("'cookie' ignored for {who} (needs 'mode http')"),
        );
    }
}

fn timeouts(p: &Proxy, d: &mut Diagnostics) {
    let set = |t: Option<std::time::Duration>| t.is_some_and(|t| !t.is_zero());
    let fe_missing = p.kind.has_frontend() && !set(p.timeout.client);
    let be_missing = p.kind.has_backend() && (!set(p.timeout.connect) || !set(p.timeout.server));
    if fe_missing || be_missing {
        d.warning(
            span_of(p, ""),
            format!(
                "missing timeouts for {}: set 'timeout client', 'timeout connect' and 'timeout server' to non-zero values, or idle connections are kept forever",
                describe(p)
            ),
        );
    }
    let checks = p.option.httpchk.is_some();
    if p.kind.has_backend() && !checks && !p.http_check.is_empty() {
        let span = span_of(p, "http-check send")
            .line
            .map(|_| span_of(p, "http-check send"))
            .unwrap_or_else(|| span_of(p, "http-check expect"));
        d.warning(
            span,
            format!(
                "{} has 'http-check' rules without 'option httpchk': the rules are ignored",
                describe(p)
            ),
        );
    }
}

fn servers(p: &Proxy, global: &super::model::Global, d: &mut Diagnostics) {
    for s in &p.server {
        let span = s.origin.0.clone().unwrap_or_else(|| span_of(p, "server"));
        let verify = s
            .verify
            .or(global.ssl_server_verify)
            .unwrap_or(Verify::Required);
        if (s.ssl || s.check_ssl) && verify == Verify::Required && s.ca_file.is_none() {
            d.error(
                span.clone(),
                format!(
                    "server '{}/{}': 'ssl' verifies the server's certificate by default but no 'ca-file' is given; add 'ca-file FILE', or 'verify none' on a network you trust",
                    p.name, s.name
                ),
            );
        }
        if s.observe == Some(super::model::ObserveLayer::Layer7) && p.mode != Mode::Http {
            d.error(
                span.clone(),
                format!(
                    "'server {}/{}' : 'layer7' can only be used in http proxies",
                    p.name, s.name
                ),
            );
        }
        if (s.observe.is_some() || s.error_limit.is_some() || s.on_error.is_some()) && !s.check {
            d.warning(
                span.clone(),
                format!(
                    "server '{}/{}': 'observe', 'error-limit' and 'on-error' have no effect without 'check' (they act on the health checks)",
                    p.name, s.name
                ),
            );
        }
        if s.cookie.is_some() && p.cookie.is_none() && p.mode == Mode::Http {
            d.warning(
                span.clone(),
                format!(
                    "server '{}/{}' has a 'cookie' value but backend '{}' has no 'cookie' line: it is not used",
                    p.name, s.name, p.name
                ),
            );
        }
    }
}

/// Checks against the machine: files named by the configuration exist, and
/// server host names resolve (as HAProxy resolves them at start-up).
pub fn check_environment(c: &Config) -> Diagnostics {
    let mut d = Diagnostics::default();
    super::addresses::check_start(c, &mut d);
    for h in &c.http_errors {
        for (code, f) in &h.errorfile {
            if let Err(e) = std::fs::metadata(f) {
                let at = h
                    .origin
                    .0
                    .clone()
                    .unwrap_or_else(|| Span::file(&"<config>".into()));
                d.error(
                    at,
                    format!(
                        "http-errors '{}': 'errorfile {code}': cannot read '{}': {e}",
                        h.name,
                        f.display()
                    ),
                );
            }
        }
    }
    for p in &c.proxies {
        for (code, f) in &p.errorfile {
            if let Err(e) = std::fs::metadata(f) {
                d.error(
                    span_of(p, &format!("errorfile {code}")),
                    format!("'errorfile {code}': cannot read '{}': {e}", f.display()),
                );
            }
        }
        for b in p.bind.iter().filter(|b| b.ssl) {
            let at = b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind"));
            let e = b.effective_tls(&c.global);
            match crate::tls::select_suites(e.ciphers.as_deref(), e.ciphersuites.as_deref()) {
                Err(err) => d.error(at.clone(), format!("'bind ... ssl': {err}")),
                Ok((suites, warnings)) => {
                    for w in warnings {
                        d.warning(at.clone(), format!("'bind ... ssl': {w}"));
                    }
                    if suites.is_empty() {
                        d.error(
                            at.clone(),
                            "'bind ... ssl': no cipher left that rustls offers",
                        );
                    }
                }
            }
            for v in [&e.min, &e.max].into_iter().flatten() {
                if let Err(err) = crate::tls::Version::parse(v) {
                    d.error(at.clone(), format!("'ssl-default-bind-options': {err}"));
                }
            }
            for o in &e.unapplied {
                d.warning(
                    at.clone(),
                    format!("'ssl-default-bind-options {o}' is not applied: fulcrum does not support it yet"),
                );
            }
        }
        for b in &p.bind {
            if let (true, Some(ca)) = (b.ssl, &b.ca_file) {
                let path = match &c.global.ca_base {
                    Some(base) if ca.is_relative() => base.join(ca),
                    _ => ca.clone(),
                };
                if let Err(e) = std::fs::metadata(&path) {
                    d.error(
                        b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind")),
                        format!("'bind ... ca-file': cannot read '{}': {e}", path.display()),
                    );
                }
            }
            for list in &b.crt_list {
                let at = b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind"));
                if let Err(e) = crate::tls::load_crt_list(list, c.global.crt_base.as_deref()) {
                    d.error(at, format!("'bind ... crt-list': {e}"));
                }
            }
            for crt in &b.crt {
                let path = match &c.global.crt_base {
                    Some(base) if crt.is_relative() => base.join(crt),
                    _ => crt.clone(),
                };
                let at = b.origin.0.clone().unwrap_or_else(|| span_of(p, "bind"));
                match crate::tls::load_crt(&path) {
                    Err(e) => d.error(at, format!("'bind ... crt': {e}")),
                    Ok(certs) => {
                        // An expired chain still serves (as HAProxy's would),
                        // but the operator should know.
                        let now = std::time::SystemTime::now();
                        for c in certs
                            .iter()
                            .filter(|c| c.not_after.is_some_and(|t| t < now))
                        {
                            d.warning(
                                at.clone(),
                                format!(
                                    "'bind ... crt': the certificate in '{}' has expired",
                                    c.path.display()
                                ),
                            );
                        }
                    }
                }
            }
        }
        for s in &p.server {
            if let Some(crt) = &s.crt {
                let path = match &c.global.crt_base {
                    Some(base) if crt.is_relative() => base.join(crt),
                    _ => crt.clone(),
                };
                if let Err(e) = crate::tls::load_cert(&path) {
                    d.error(
                        s.origin.0.clone().unwrap_or_else(|| span_of(p, "server")),
                        format!("server '{}/{}': 'crt': {e}", p.name, s.name),
                    );
                }
            }
            if let Some(ca) = &s.ca_file {
                let path = match &c.global.ca_base {
                    Some(base) if ca.is_relative() => base.join(ca),
                    _ => ca.clone(),
                };
                if let Err(e) = std::fs::metadata(&path) {
                    d.error(
                        s.origin.0.clone().unwrap_or_else(|| span_of(p, "server")),
                        format!(
                            "server '{}/{}': cannot read 'ca-file' '{}': {e}",
                            p.name,
                            s.name,
                            path.display()
                        ),
                    );
                }
            }
        }
    }
    d
}
