//! From an httpd tree to haproxy.cfg text: a frontend for httpd's
//! `Listen`, access rules for its `<Location>`s, the `ProxyPass` order as
//! numbered ACLs, and a backend per balancer (see [`super::backend`]).
//! A request matching no pass is answered 404, as httpd answers a path
//! it has no file for.

use std::path::Path;
use std::time::Duration;

use super::access::{self, Handler};
use super::backend::{self, Site};
use super::balancers::balancers;
use super::cfg::{self, apache_line, regex_word, Section};
use super::directives::report_unread;
use super::passes::{passes, Match, Pass, Target};
use super::rewrite;
use super::tls::{self, Certificate};
use super::tree::{self, Directive, Node};
use super::vhosts;
use crate::config::Diagnostics;

/// httpd's answer to a path it does not proxy and has no file for.
const NOT_FOUND: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\"><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>";

/// Converts the httpd configuration at `path`; problems go to `diags`
/// (the text is still written, for reading, when there are errors).
/// With `strict`, the output uses HAProxy's keywords only, and each
/// fulcrum-only part it gives up is a warning that says what is lost.
pub fn convert(path: &Path, strict: bool, diags: &mut Diagnostics) -> String {
    let nodes = tree::read(path, diags);
    convert_tree(&nodes, &path.display().to_string(), strict, diags)
}

/// [`convert`] of a configuration's text (`Include` is read relative to
/// the current directory): for the fuzzer, and for tests.
pub fn convert_text(text: &str, name: &str, strict: bool, diags: &mut Diagnostics) -> String {
    let nodes = tree::read_str(text, name, diags);
    convert_tree(&nodes, name, strict, diags)
}

fn convert_tree(nodes: &[Node], name: &str, strict: bool, diags: &mut Diagnostics) -> String {
    report_unread(nodes, diags);
    let mut balancers = balancers(nodes, diags);
    let vhosts = vhosts::vhosts(nodes, diags);
    let rewrites = rewrite::collect(nodes, &vhosts, diags);
    let passes = passes(nodes, &balancers, &vhosts, diags);
    let passes = super::passes::with_rewrites(&rewrites, &balancers, passes, diags);
    pass_parameters(&passes, &mut balancers, diags);
    let server = server_level(nodes, diags);

    let certs = tls::certificates(nodes, &vhosts, diags);
    let mut fe = Section::new("frontend apache");
    let scheme = if binds(&server, &certs, &mut fe, diags) {
        "%[var(txn.scheme)]"
    } else {
        "http"
    };
    vhosts::select(&vhosts, &mut fe);
    rewrite::rules(&rewrites, scheme, &mut fe, diags);
    let handlers = access::locations(nodes, &vhosts, &mut fe, diags);
    status_pages(&handlers, &mut fe, strict, diags);
    if server.rules.iter().any(|d| d.is("ProxyPassReverse"))
        || balancers
            .iter()
            .any(|b| b.directives.iter().any(|d| d.is("ProxyPassReverse")))
    {
        fe.note("ProxyPassReverse writes the client's own Host into Location");
        fe.line("http-request set-var(txn.host) req.hdr(host)");
    }
    routing(&passes, &mut fe);

    let site = Site {
        server: &server,
        passes: &passes,
        scheme,
    };
    let mut sections = vec![defaults(&server), fe];
    for b in &balancers {
        if passes
            .iter()
            .any(|p| matches!(&p.target, Target::Balancer { name, .. } if *name == b.name))
        {
            sections.push(backend::balancer(b, &site, diags));
        } else {
            diags.warning(
                b.at.clone(),
                format!(
                    "balancer://{} is used by no ProxyPass; it is not converted",
                    b.name
                ),
            );
        }
    }
    for p in &passes {
        if let Target::Server { .. } = p.target {
            sections.push(backend::single(p, &site, diags));
        }
    }
    sections.push(local());
    let head = [
        format!("Converted from {name} by `fulcrum convert --from apache`."),
        "Each part quotes the httpd line it came from, with its file:line.".to_string(),
    ];
    cfg::write(&head, &sections)
}

/// A `ProxyPass` to a balancer may set its parameters, as `ProxySet`
/// does (`stickysession=`, `nofailover=`, `lbmethod=`...).
fn pass_parameters(
    passes: &[Pass],
    balancers: &mut [super::balancers::Balancer],
    diags: &mut Diagnostics,
) {
    for p in passes {
        let Target::Balancer { name, .. } = &p.target else {
            continue;
        };
        let Some(b) = balancers.iter_mut().find(|b| b.name == *name) else {
            continue;
        };
        for param in &p.params {
            if let Err(e) = super::balancers::proxy_set(b, param) {
                diags.error(p.at.clone(), format!("ProxyPass {param}: {e}"));
            }
        }
    }
}

/// What httpd reads outside `<Proxy>` and `<Location>` sections.
#[derive(Debug, Default)]
pub struct ServerLevel {
    /// `Listen` lines.
    pub listen: Vec<Directive>,
    /// `ServerName` (its host part).
    pub server_name: Option<String>,
    /// `ProxyPreserveHost On`.
    pub preserve_host: bool,
    /// `Timeout` (httpd's default: 60 s).
    pub timeout: Option<Duration>,
    /// `ProxyTimeout`: waiting on a member (default: `Timeout`).
    pub proxy_timeout: Option<Duration>,
    /// `SSLProxyVerify require`.
    pub verify: Option<Directive>,
    /// `SSLProxyCACertificateFile`.
    pub verify_ca: Option<String>,
    /// `SSLProxyCheckPeerName off`.
    pub no_peer_name_check: bool,
    /// `SSLProxyEngine On`.
    pub ssl_proxy: bool,
    /// Header, RequestHeader, ProxyPassReverse, ProxyPassReverseCookiePath:
    /// they apply to every backend.
    pub rules: Vec<Directive>,
}

fn server_level(nodes: &[Node], diags: &mut Diagnostics) -> ServerLevel {
    let mut s = ServerLevel::default();
    walk_server(nodes, &mut s, diags);
    s
}

fn walk_server(nodes: &[Node], s: &mut ServerLevel, diags: &mut Diagnostics) {
    for node in nodes {
        match node {
            Node::Section(sec) if sec.name.eq_ignore_ascii_case("VirtualHost") => {
                vhost_level(&sec.body, s, diags);
            }
            Node::Section(sec)
                if sec.name.eq_ignore_ascii_case("IfModule")
                    || sec.name.eq_ignore_ascii_case("IfDefine") =>
            {
                walk_server(&sec.body, s, diags)
            }
            Node::Section(_) => {}
            Node::Directive(d) => server_directive(d, s, diags),
        }
    }
}

/// A header or reverse-mapping line: it applies to what a backend
/// proxies (see [`super::headers`]).
fn is_response_rule(d: &Directive) -> bool {
    [
        "Header",
        "RequestHeader",
        "ProxyPassReverse",
        "ProxyPassReverseCookiePath",
        "ProxyPassReverseCookieDomain",
    ]
    .iter()
    .any(|n| d.is(n))
}

/// A virtual host's own directives: its names are read by [`vhosts`];
/// its header rules apply to the backends of every virtual host (said
/// at their line); the rest as at server level.
fn vhost_level(nodes: &[Node], s: &mut ServerLevel, diags: &mut Diagnostics) {
    for node in nodes {
        let Node::Directive(d) = node else { continue };
        if d.is("ServerName") || d.is("ServerAlias") {
            continue;
        }
        let rule = is_response_rule(d);
        if rule {
            diags.warning(
                d.at.clone(),
                format!(
                    "{}: in a <VirtualHost>, it is applied to every virtual host's backends",
                    apache_line(d)
                ),
            );
        }
        server_directive(d, s, diags);
    }
}

fn server_directive(d: &Directive, s: &mut ServerLevel, diags: &mut Diagnostics) {
    let arg = d.args.first().map(String::as_str).unwrap_or_default();
    let on = arg.eq_ignore_ascii_case("on");
    if d.is("Listen") {
        s.listen.push(d.clone());
    } else if d.is("ServerName") {
        let name = arg.split("://").last().unwrap_or(arg);
        let host = name.rsplit_once(':').map_or(name, |(h, _)| h);
        s.server_name = Some(host.to_string());
    } else if d.is("ProxyPreserveHost") {
        s.preserve_host = on;
    } else if d.is("ProxyTimeout") || d.is("Timeout") {
        match super::balancers::duration(arg) {
            Ok(t) if d.is("Timeout") => s.timeout = Some(t),
            Ok(t) => s.proxy_timeout = Some(t),
            Err(e) => diags.error(d.at.clone(), format!("{}: {e}", d.name)),
        }
    } else if d.is("SSLProxyEngine") {
        s.ssl_proxy = on;
    } else if d.is("SSLProxyVerify") {
        s.verify = arg.eq_ignore_ascii_case("require").then(|| d.clone());
    } else if d.is("SSLProxyCACertificateFile") {
        s.verify_ca = Some(arg.to_string());
    } else if d.is("SSLProxyCheckPeerName") {
        s.no_peer_name_check = arg.eq_ignore_ascii_case("off");
    } else if d.is("ProxyRequests") && on {
        diags.error(
            d.at.clone(),
            "ProxyRequests On (a forward proxy) is not converted",
        );
    } else if d.is("ProxyVia") && !arg.eq_ignore_ascii_case("off") {
        diags.warning(
            d.at.clone(),
            format!("{} is not translated", apache_line(d)),
        );
    } else if is_response_rule(d) {
        s.rules.push(d.clone());
    }
}

fn defaults(server: &ServerLevel) -> Section {
    let mut d = Section::new("defaults");
    d.line("mode http");
    let ms = |t: Duration| format!("{}ms", t.as_millis());
    let timeout = server.timeout.unwrap_or(Duration::from_secs(60));
    d.note("httpd's Timeout (60 s unless set): waiting on the client, and on a member");
    d.note(
        "(unless ProxyTimeout or a member's timeout=); connecting too (unless connectiontimeout=)",
    );
    d.line(format!("timeout client {}", ms(timeout)));
    d.line(format!(
        "timeout server {}",
        ms(server.proxy_timeout.unwrap_or(timeout))
    ));
    d.line(format!("timeout connect {}", ms(timeout)));
    d.note(
        "KeepAliveTimeout (5 s), and mod_reqtimeout's 20 s for a request head (Debian's default)",
    );
    d.line("timeout http-keep-alive 5s");
    d.line("timeout http-request 20s");
    d.note("mod_proxy_http adds the client's address to X-Forwarded-For");
    d.line("option forwardfor");
    d.note("mod_proxy_balancer moves a request whose member refuses it to another member, every attempt");
    d.line("option redispatch 1");
    d
}

/// The binds, with `ssl crt` where mod_ssl serves certificates; true if
/// any is TLS.
fn binds(
    server: &ServerLevel,
    certs: &[Certificate],
    fe: &mut Section,
    diags: &mut Diagnostics,
) -> bool {
    let mut any_tls = false;
    if server.listen.is_empty() {
        fe.note("no Listen in these files: httpd's port 80");
        fe.line("bind :80");
    }
    for l in &server.listen {
        fe.from(l);
        let Some(addr) = l.args.first() else { continue };
        let Some((addr, port)) = listen_address(addr) else {
            diags.error(
                l.at.clone(),
                match addr.contains("${") {
                    true => format!("Listen {addr}: the variable is not defined here; set it in the conversion's environment (httpd takes it from its own)"),
                    false => format!("Listen {addr}: not [address:]port (httpd refuses it too)"),
                },
            );
            continue;
        };
        let port = Some(port);
        let crts = tls::for_port(certs, port);
        let https = l
            .args
            .get(1)
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        if crts.is_empty() {
            if https {
                diags.warning(l.at.clone(), "Listen ... https, but no SSLEngine on with a certificate for it: it is converted as plain HTTP");
            }
            fe.line(format!("bind {addr}"));
            continue;
        }
        any_tls = true;
        let crts: Vec<String> = crts
            .iter()
            .map(|c| format!(" crt {}", cfg::quote(c)))
            .collect();
        fe.note("SSLEngine on with SSLCertificateFile: TLS, the certificate chosen by SNI");
        fe.line(format!("bind {addr} ssl{}", crts.concat()));
    }
    if any_tls {
        fe.note("the scheme httpd writes in the URLs it makes (redirects, ProxyPassReverse)");
        fe.line("http-request set-var(txn.scheme) str(https) if { ssl_fc }");
        fe.line("http-request set-var(txn.scheme) str(http) if !{ ssl_fc }");
    }
    any_tls
}

/// `Listen [IP:]PORT` as a bind address, and its port.
fn listen_address(text: &str) -> Option<(String, u16)> {
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (Some(h), p),
        None => (None, text),
    };
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    match host {
        None => Some((format!(":{port}"), port)),
        Some(h) => {
            let ip = h.trim_start_matches('[').trim_end_matches(']');
            let ip: std::net::IpAddr = ip.parse().ok()?;
            Some((std::net::SocketAddr::new(ip, port).to_string(), port))
        }
    }
}

/// `SetHandler server-status` and `balancer-manager`: httpd's pages in
/// their own layout, from fulcrum's figures (`use-service apache-status`
/// and `apache-balancer-manager`, fulcrum-only); with `strict`, HAProxy's
/// stats page instead, with a warning that says what is lost. A proxy
/// has one stats page: a second handler that needs it is left out.
fn status_pages(handlers: &[Handler], fe: &mut Section, strict: bool, diags: &mut Diagnostics) {
    let mut stats_page = false;
    for h in handlers {
        let (service, readers) = match h.name.as_str() {
            "server-status" => (
                "apache-status",
                "what reads httpd's layout or ?auto (Pacemaker's apache agent, check_apache)",
            ),
            _ => (
                "apache-balancer-manager",
                "what reads httpd's balancer-manager tables",
            ),
        };
        if !strict {
            fe.note(format!(
                "SetHandler {} at {}: httpd's page in its layout (fulcrum-only)",
                h.name, h.path
            ));
            fe.line(format!("http-request use-service {service} if {}", h.acl));
            continue;
        }
        diags.warning(
            h.at.clone(),
            format!(
                "--strict-haproxy: SetHandler {} at {} is HAProxy's stats page; {readers} loses it",
                h.name, h.path
            ),
        );
        if stats_page {
            diags.warning(
                h.at.clone(),
                format!(
                    "SetHandler {} at {}: only one stats page per proxy; left out",
                    h.name, h.path
                ),
            );
            continue;
        }
        stats_page = true;
        fe.note(format!(
            "SetHandler {} at {}: HAProxy's stats page (in HAProxy's layout)",
            h.name, h.path
        ));
        fe.line("stats enable");
        fe.line(format!("stats uri {}", regex_word(&h.path)));
    }
}

/// The passes in httpd's order: an ACL each, then the number of the
/// first that matches in `txn.pass` (written last to first, so the first
/// wins), then the backend for each number.
fn routing(passes: &[Pass], fe: &mut Section) {
    for p in passes {
        fe.note(format!("pass {}: {}", p.number, describe(p)));
        let acl = format!("pass{}", p.number);
        match &p.matches {
            Match::Prefix(path) => {
                for line in cfg::segment_acl(&acl, path) {
                    fe.line(line);
                }
            }
            Match::Regex(re) | Match::Rewrite(re, false) => {
                fe.line(format!("acl {acl} path_reg {}", regex_word(re)))
            }
            Match::Rewrite(re, true) => {
                fe.line(format!("acl {acl} path_reg -i {}", regex_word(re)))
            }
        }
    }
    if passes.is_empty() {
        return;
    }
    fe.note("httpd tries the passes in order, and the first that matches wins");
    for p in passes.iter().rev() {
        fe.line(format!(
            "http-request set-var(txn.pass) int({}) if pass{}{}",
            p.number,
            p.number,
            vhosts::cond(p.vhost)
        ));
    }
    for p in passes {
        let be = match &p.target {
            Target::Balancer { name, .. } => name.clone(),
            Target::Server { .. } => format!("pass{}", p.number),
            Target::Exclude => "apache_local".to_string(),
        };
        fe.last(format!(
            "use_backend {be} if {{ var(txn.pass) -m int {} }}",
            p.number
        ));
    }
    fe.last("default_backend apache_local");
}

/// A pass as httpd's line, with where it was written.
pub fn describe(p: &Pass) -> String {
    let (kw, m) = match &p.matches {
        Match::Prefix(s) => ("ProxyPass", s),
        Match::Regex(s) => ("ProxyPassMatch", s),
        Match::Rewrite(s, _) => ("RewriteRule [P]", s),
    };
    let target = match &p.target {
        Target::Balancer { name, path } => format!("balancer://{name}{path}"),
        Target::Server {
            scheme,
            host,
            port,
            path,
        } => format!("{}://{host}:{port}{path}", scheme.word()),
        Target::Exclude => "!".into(),
    };
    format!("{kw} {m} {target}    ({})", p.at)
}

/// The backend for paths httpd would serve from its own files.
fn local() -> Section {
    let mut s = Section::new("backend apache_local");
    s.about
        .push("Paths no ProxyPass takes: httpd would look for a file; fulcrum has none.".into());
    s.line(format!(
        "http-request return status 404 content-type \"text/html; charset=iso-8859-1\" string {}",
        cfg::quote(NOT_FOUND)
    ));
    s
}
