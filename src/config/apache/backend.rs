//! A balancer as a backend: its members as servers (hot standbys as
//! `backup`), byrequests as weighted round robin, the paths its passes
//! send rewritten as httpd rewrites them, and stickiness by route: httpd
//! reads the route after the first `.` of the URL parameter or, when the
//! URL has none, of the cookie, and sends the request to the member with
//! that `route=` while it is usable.

use std::time::Duration;

use super::balancers::{Balancer, LbMethod, Member, Scheme, Sticky};
use super::cfg::{quote, regex_word, Section};
use super::convert::{describe, ServerLevel};
use super::headers::{self, Members};
use super::passes::{Match, Pass, Target};
use crate::config::Diagnostics;

/// What every backend reads of the whole site.
pub struct Site<'a> {
    /// The server-level directives.
    pub server: &'a ServerLevel,
    /// Every pass, in order.
    pub passes: &'a [Pass],
    /// How the URLs httpd makes start: `http`, or the request's scheme.
    pub scheme: &'a str,
}

impl Scheme {
    /// `http` or `https`.
    pub fn word(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The backend for balancer `b`.
pub fn balancer(b: &Balancer, site: &Site, diags: &mut Diagnostics) -> Section {
    let mut be = Section::new(format!("backend {}", b.name));
    be.about
        .push(format!("<Proxy balancer://{}>    ({})", b.name, b.at));
    balance(b, &mut be, diags);
    let names = server_names(&b.members, diags);
    if b.members.len() > 1 {
        be.note("a refused connection moves to another member: up to every member once");
    }
    be.line(format!("retries {}", b.members.len().saturating_sub(1)));
    if b.members.iter().filter(|m| m.status.hot_standby).count() > 1 {
        be.note("httpd's hot standbys (status=+H) share the load when no active member is usable");
        be.line("option allbackups");
    }
    timeouts(&b.members, &mut be, diags);
    health_checks(&b.members, &mut be, diags);
    for why in &b.untranslated {
        diags.warning(b.at.clone(), format!("balancer://{}: {why}", b.name));
    }
    forwarded(site.server, &mut be);
    if let Some(sticky) = &b.sticky {
        stickiness(b, sticky, &names, &mut be, diags);
    }
    rewrite_paths(&b.name, site.passes, &mut be);
    let members: Vec<(String, Option<String>, String)> = b
        .members
        .iter()
        .zip(&names)
        .map(|(m, n)| (n.clone(), m.route.clone(), member_url(m)))
        .collect();
    let view = Members {
        servers: &members,
        sticky: b.sticky.is_some(),
        scheme: site.scheme,
    };
    for d in b.directives.iter().chain(&site.server.rules) {
        headers::write(d, &mut be, &view, diags);
    }
    for (m, name) in b.members.iter().zip(&names) {
        server(m, name, site.server, &mut be, diags);
    }
    be
}

/// The backend of a pass to one server (`ProxyPass /p http://host/`).
pub fn single(p: &Pass, site: &Site, diags: &mut Diagnostics) -> Section {
    let mut be = Section::new(format!("backend pass{}", p.number));
    be.about.push(describe(p));
    forwarded(site.server, &mut be);
    rewrite_paths(&format!("pass{}", p.number), site.passes, &mut be);
    if let Target::Server {
        scheme, host, port, ..
    } = &p.target
    {
        let mut m = Member {
            scheme: *scheme,
            host: host.clone(),
            port: *port,
            route: None,
            status: Default::default(),
            loadfactor: 1,
            connect_timeout: None,
            timeout: None,
            lbset: 0,
            hc: Default::default(),
            retry: Duration::from_secs(60),
            at: p.at.clone(),
        };
        // A direct target's parameters are its server's (as BalancerMember's).
        for param in &p.params {
            if let Err(e) = super::balancers::parameter(&mut m, param) {
                diags.error(p.at.clone(), format!("ProxyPass {param}: {e}"));
            }
        }
        timeouts(std::slice::from_ref(&m), &mut be, diags);
        health_checks(std::slice::from_ref(&m), &mut be, diags);
        let names = server_names(std::slice::from_ref(&m), diags);
        let url = member_url(&m);
        let view = Members {
            servers: &[(names.first().cloned().unwrap_or_default(), None, url)],
            sticky: false,
            scheme: site.scheme,
        };
        for d in &site.server.rules {
            headers::write(d, &mut be, &view, diags);
        }
        if let Some(name) = names.first() {
            server(&m, name, site.server, &mut be, diags);
        }
    }
    be
}

fn balance(b: &Balancer, be: &mut Section, diags: &mut Diagnostics) {
    match b.lbmethod {
        LbMethod::ByRequests => {
            be.note("lbmethod=byrequests (httpd's default): round robin weighted by loadfactor");
            be.line("balance roundrobin");
        }
        LbMethod::ByBusyness => {
            be.note("lbmethod=bybusyness: the member with the fewest requests in progress");
            be.line("balance leastconn");
        }
        LbMethod::ByTraffic | LbMethod::Heartbeat => {
            diags.warning(
                b.at.clone(),
                format!(
                    "balancer://{}: its lbmethod has no HAProxy equivalent; round robin is used",
                    b.name
                ),
            );
            be.note("(lbmethod not translated: round robin)");
            be.line("balance roundrobin");
        }
    }
    if b.members.iter().any(|m| m.lbset > 0) {
        diags.warning(
            b.at.clone(),
            format!(
                "balancer://{}: lbset is not translated: all members are one set",
                b.name
            ),
        );
    }
}

/// The name a member is known by in haproxy.cfg: what httpd sends it as
/// Host (ProxyPreserveHost Off), its host with the port unless that is
/// 80, so `http-send-name-header Host` sends the same.
fn server_names(members: &[Member], diags: &mut Diagnostics) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for m in members {
        let mut name = if m.port == 80 {
            m.host.clone()
        } else {
            format!("{}:{}", m.host, m.port)
        };
        let valid = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
        let problem = if !valid {
            Some("HAProxy cannot name a server so (an IPv6 address?), and the name is the Host it sends")
        } else if names.contains(&name) {
            Some("a second member with the same address")
        } else {
            None
        };
        if let Some(why) = problem {
            diags.error(m.at.clone(), format!("member {}: {why}", member_url(m)));
            name = format!("member{}", names.len() + 1);
        }
        names.push(name);
    }
    names
}

/// httpd's name for a member: scheme://host[:port], the default port left out.
fn member_url(m: &Member) -> String {
    let default = match m.scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    if m.port == default {
        format!("{}://{}", m.scheme.word(), m.host)
    } else {
        format!("{}://{}:{}", m.scheme.word(), m.host, m.port)
    }
}

fn timeouts(members: &[Member], be: &mut Section, diags: &mut Diagnostics) {
    let longest = |f: fn(&Member) -> Option<Duration>| members.iter().filter_map(f).max();
    for (value, keyword, param) in [
        (
            longest(|m| m.connect_timeout),
            "timeout connect",
            "connectiontimeout",
        ),
        (longest(|m| m.timeout), "timeout server", "timeout"),
    ] {
        let Some(v) = value else { continue };
        let differ = members.iter().any(|m| {
            let own = if param == "timeout" {
                m.timeout
            } else {
                m.connect_timeout
            };
            own != Some(v)
        });
        if differ {
            if let Some(m) = members.first() {
                diags.warning(
                    m.at.clone(),
                    format!(
                        "members' {param}= differ; the backend takes the longest, {} ms",
                        v.as_millis()
                    ),
                );
            }
        }
        be.note(format!("the members' {param}="));
        be.line(format!("{keyword} {}ms", v.as_millis()));
    }
}

/// mod_proxy_hcheck's checks: `option httpchk METHOD URI` for HTTP ones
/// (a backend has one; members that differ are a warning), a TCP connect
/// for `hcmethod=TCP`. The interval and counts go on each server line.
fn health_checks(members: &[Member], be: &mut Section, diags: &mut Diagnostics) {
    let Some(first) = members.iter().find(|m| m.hc.method.is_some()) else {
        return;
    };
    for m in members {
        for u in &m.hc.untranslated {
            diags.warning(
                m.at.clone(),
                format!("{u}: not translated; the check passes on a 2xx or 3xx status"),
            );
        }
        if m.hc.method != first.hc.method || m.hc.uri != first.hc.uri {
            diags.warning(
                m.at.clone(),
                "members check differently: the backend checks all as its first checked member does",
            );
        }
    }
    if let Some(method) = first.hc.method.as_deref().filter(|m| *m != "TCP") {
        let uri = first.hc.uri.as_deref().unwrap_or("/");
        be.note("mod_proxy_hcheck's hcmethod= and hcuri=");
        be.line(format!("option httpchk {method} {}", quote(uri)));
    }
}

/// mod_proxy_http's request headers: Host (unless ProxyPreserveHost On),
/// X-Forwarded-Host and X-Forwarded-Server.
fn forwarded(server: &ServerLevel, be: &mut Section) {
    if !server.preserve_host {
        be.note("ProxyPreserveHost Off (httpd's default): each member gets its own name as Host");
        be.line("http-send-name-header Host");
    }
    be.note(
        "mod_proxy_http: X-Forwarded-Host (the client's Host) and X-Forwarded-Server (ServerName)",
    );
    be.line(
        "http-request add-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found }",
    );
    match &server.server_name {
        Some(n) => be.line(format!(
            "http-request add-header X-Forwarded-Server {}",
            quote(n)
        )),
        None => be.line("http-request add-header X-Forwarded-Server %[hostname]"),
    }
}

/// The route each request names, in `txn.route`, and `use-server` on it.
fn stickiness(
    b: &Balancer,
    sticky: &Sticky,
    names: &[String],
    be: &mut Section,
    diags: &mut Diagnostics,
) {
    be.note(format!(
        "stickysession={}{}: the route follows the first '.' of the URL's {}= or, when the URL has none, of the cookie {}",
        sticky.cookie,
        if sticky.param == sticky.cookie { String::new() } else { format!("|{}", sticky.param) },
        sticky.param,
        sticky.cookie
    ));
    let param = regex::escape(&sticky.param);
    be.line(format!(
        "acl url_session url_reg {}",
        regex_word(&format!("{param}=."))
    ));
    for (m, name) in b.members.iter().zip(names) {
        let Some(route) = &m.route else { continue };
        if !route
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            diags.error(
                m.at.clone(),
                format!("route={route}: only letters, digits, '_', '-' and '.' are converted"),
            );
            continue;
        }
        let r = regex::escape(route);
        be.line(format!(
            "http-request set-var(txn.route) str({route}) if {{ url_reg {} }}",
            regex_word(&format!("{param}=[^?&.]*\\.{r}([?&]|$)"))
        ));
        be.line(format!(
            "http-request set-var(txn.route) str({route}) if !url_session {{ req.cook({}) -m reg {} }}",
            sticky.cookie,
            regex_word(&format!("^[^.]*\\.{r}$"))
        ));
        if b.nofailover {
            be.line(format!(
                "http-request deny deny_status 503 if {{ var(txn.route) -m str {route} }} !{{ srv_is_up({}/{name}) }}",
                b.name
            ));
        }
        be.last(format!(
            "use-server {name} if {{ var(txn.route) -m str {route} }}"
        ));
    }
}

/// The path each pass to `backend` sends: the target's path in place of
/// the matched prefix (or the regex's substitution).
fn rewrite_paths(backend: &str, passes: &[Pass], be: &mut Section) {
    for p in passes {
        let target_path = match &p.target {
            Target::Balancer { name, path } if name == backend => path,
            Target::Server { path, .. } if format!("pass{}", p.number) == backend => path,
            _ => continue,
        };
        be.note(format!("pass {}: the path the member is sent", p.number));
        let when = format!("if {{ var(txn.pass) -m int {} }}", p.number);
        let (re, to) = match &p.matches {
            Match::Prefix(prefix) => (
                format!("^{}(.*)$", regex::escape(prefix)),
                format!("{target_path}\\1"),
            ),
            // httpd: $N are the captures; with none, the whole path follows the target.
            Match::Regex(re) if target_path.contains('$') => (re.clone(), dollars(target_path)),
            Match::Regex(_) => ("^(.*)$".to_string(), format!("{target_path}\\1")),
            // mod_rewrite: the target is the whole path, `$N` its captures.
            Match::Rewrite(re, nocase) => (
                if *nocase {
                    format!("(?i){re}")
                } else {
                    re.clone()
                },
                dollars(target_path),
            ),
        };
        be.line(format!(
            "http-request replace-path {} {} {when}",
            regex_word(&re),
            quote(&to.replace('%', "%%"))
        ));
        if target_path.is_empty() {
            be.line(format!("http-request set-path / {when} !{{ path_beg / }}"));
        }
    }
}

/// `$N` (httpd's captures) as `\N`.
fn dollars(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('\\');
        } else {
            out.push(c);
        }
    }
    out
}

/// One member as a server line.
fn server(m: &Member, name: &str, site: &ServerLevel, be: &mut Section, diags: &mut Diagnostics) {
    be.note(format!("BalancerMember {}    ({})", member_url(m), m.at));
    let mut line = format!(
        "server {name} {}:{} weight {}",
        m.host, m.port, m.loadfactor
    );
    if m.status.hot_standby {
        line.push_str(" backup");
    }
    if m.status.disabled || m.status.stopped {
        line.push_str(" disabled");
    }
    if m.scheme == Scheme::Https {
        if !site.ssl_proxy {
            diags.warning(
                m.at.clone(),
                "an https member without SSLProxyEngine On: httpd answers 500 for it; fulcrum connects with TLS",
            );
        }
        let named = m.host.parse::<std::net::IpAddr>().is_err();
        match (&site.verify, &site.verify_ca) {
            (None, _) => line.push_str(" ssl verify none"),
            (Some(_), Some(ca)) => {
                line.push_str(&format!(" ssl verify required ca-file {}", quote(ca)));
                // SSLProxyCheckPeerName (on by default): the member's
                // certificate must name it.
                if named && !site.no_peer_name_check {
                    line.push_str(&format!(" verifyhost {}", m.host));
                }
            }
            (Some(v), None) => {
                diags.error(
                    v.at.clone(),
                    "SSLProxyVerify require without SSLProxyCACertificateFile: no CA to verify the members against",
                );
                line.push_str(" ssl verify none");
            }
        }
        if named {
            line.push_str(&format!(" sni str({})", m.host));
        }
    }
    let retry = m.retry.as_millis().max(1);
    if m.hc.method.is_some() {
        // mod_proxy_hcheck: checks every hcinterval= (30 s), hcpasses=
        // to come back, hcfails= to go.
        let inter = m.hc.interval.map_or(30_000, |d| d.as_millis().max(1));
        let (rise, fall) = (m.hc.passes.unwrap_or(1), m.hc.fails.unwrap_or(1));
        line.push_str(&format!(" check inter {inter}ms rise {rise} fall {fall}"));
        if !m.status.ignore_errors {
            line.push_str(" observe layer4 error-limit 1 on-error mark-down");
        }
    } else if !m.status.ignore_errors {
        // httpd takes a member that refused a connection out for retry=
        // seconds, then tries it again: the first refusal marks the
        // server down, and a check every retry= brings it back.
        line.push_str(&format!(
            " check inter {retry}ms downinter {retry}ms rise 1 fall 1 observe layer4 error-limit 1 on-error mark-down"
        ));
    }
    // httpd resolves a member's name when it connects: one that does not
    // resolve at start is not an error.
    line.push_str(" init-addr last,libc,none");
    be.line(line);
}
