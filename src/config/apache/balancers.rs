//! The balancers of an httpd tree: `<Proxy balancer://NAME>` with its
//! `BalancerMember` lines and `ProxySet`, and the `ProxyPass` lines that
//! send a path to one. Each member's URL and parameters are parsed into
//! types here, at the edge; a `ProxyPass` naming a balancer that does not
//! exist (seed 001's `tlrws` for `t1rws`) is an error at its line.

use std::time::Duration;

use super::tree::{Directive, Node, Section};
use crate::config::{Diagnostics, Span};

/// A member's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://` (with `SSLProxyEngine on`)
    Https,
}

/// `status=` flags of a member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// `H`: hot standby, used only when no other member is usable.
    pub hot_standby: bool,
    /// `D`: disabled.
    pub disabled: bool,
    /// `S`: stopped by the administrator.
    pub stopped: bool,
    /// `I`: errors ignored.
    pub ignore_errors: bool,
}

/// One `BalancerMember`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its scheme.
    pub scheme: Scheme,
    /// Its host, as written.
    pub host: String,
    /// Its port (80 or 443 when not written).
    pub port: u16,
    /// `route=`: the suffix of the sticky value that names it.
    pub route: Option<String>,
    /// `status=`.
    pub status: Status,
    /// `loadfactor=` (1 to 100, default 1).
    pub loadfactor: u32,
    /// `connectiontimeout=`.
    pub connect_timeout: Option<Duration>,
    /// `timeout=`: how long to wait for the member's data.
    pub timeout: Option<Duration>,
    /// `lbset=`: members of a lower set are used first.
    pub lbset: u32,
    /// mod_proxy_hcheck's `hc*` parameters: active health checks.
    pub hc: HealthCheck,
    /// `retry=`: how long a member in error waits before it is tried again
    /// (default 60 s).
    pub retry: Duration,
    /// Where it was written.
    pub at: Span,
}

/// mod_proxy_hcheck's parameters of a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheck {
    /// `hcmethod=`: TCP, or the HTTP method (none: no checks).
    pub method: Option<String>,
    /// `hcuri=`.
    pub uri: Option<String>,
    /// `hcinterval=` (httpd's default 30 s).
    pub interval: Option<Duration>,
    /// `hcpasses=` (default 1).
    pub passes: Option<u32>,
    /// `hcfails=` (default 1).
    pub fails: Option<u32>,
    /// `hcexpr=`, `hctemplate=`: read, not translated.
    pub untranslated: Vec<String>,
}

/// One balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balancer {
    /// The name after `balancer://`.
    pub name: String,
    /// Its members, in order.
    pub members: Vec<Member>,
    /// `ProxySet stickysession=COOKIE[|urlparam]`.
    pub sticky: Option<Sticky>,
    /// `ProxySet lbmethod=`.
    pub lbmethod: LbMethod,
    /// `ProxySet nofailover=On`: a client whose member is down gets 503.
    pub nofailover: bool,
    /// The other directives of its `<Proxy>` section (Header,
    /// ProxyPassReverseCookiePath...): they apply to what it proxies.
    pub directives: Vec<Directive>,
    /// Parameters read and not translated, with why (a warning each).
    pub untranslated: Vec<String>,
    /// Where its `<Proxy>` opens.
    pub at: Span,
}

/// `stickysession=`: the cookie, and the URL parameter (the cookie's
/// name unless written after a `|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticky {
    /// The cookie's name.
    pub cookie: String,
    /// The URL parameter's name.
    pub param: String,
}

/// `lbmethod=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LbMethod {
    /// `byrequests` (the default): weighted round robin.
    #[default]
    ByRequests,
    /// `bybusyness`: the member with the fewest requests in progress.
    ByBusyness,
    /// `bytraffic`: the member that moved the fewest bytes.
    ByTraffic,
    /// `heartbeat`: members' own reports.
    Heartbeat,
}

/// Reads the balancers of `nodes` (at any depth: a `<VirtualHost>` may
/// hold them); problems go to `diags`.
pub fn balancers(nodes: &[Node], diags: &mut Diagnostics) -> Vec<Balancer> {
    let mut out: Vec<Balancer> = Vec::new();
    collect(nodes, diags, &mut out);
    out
}

/// A second `<Proxy balancer://NAME>` adds to the first, as httpd finds
/// the balancer it already defined.
fn collect(nodes: &[Node], diags: &mut Diagnostics, out: &mut Vec<Balancer>) {
    for node in nodes {
        let Node::Section(s) = node else { continue };
        match s.args.first().and_then(|a| a.strip_prefix("balancer://")) {
            Some(name) if s.name.eq_ignore_ascii_case("Proxy") => {
                let b = balancer(s, name, diags);
                match out.iter_mut().find(|o| o.name == b.name) {
                    Some(first) => {
                        first.members.extend(b.members);
                        first.directives.extend(b.directives);
                        first.untranslated.extend(b.untranslated);
                        if b.sticky.is_some() {
                            first.sticky = b.sticky;
                        }
                        if b.lbmethod != LbMethod::default() {
                            first.lbmethod = b.lbmethod;
                        }
                        first.nofailover |= b.nofailover;
                    }
                    None => out.push(b),
                }
            }
            _ => collect(&s.body, diags, out),
        }
    }
}

fn balancer(s: &Section, name: &str, diags: &mut Diagnostics) -> Balancer {
    let mut b = Balancer {
        name: name.trim_end_matches('/').to_string(),
        members: Vec::new(),
        sticky: None,
        lbmethod: LbMethod::default(),
        nofailover: false,
        directives: Vec::new(),
        untranslated: Vec::new(),
        at: s.at.clone(),
    };
    // It names a HAProxy backend: letters, digits, '-', '_', '.', ':'.
    let valid = !b.name.is_empty()
        && b.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !valid {
        diags.error(
            s.at.clone(),
            format!("balancer://{}: a balancer's name becomes a backend's, which holds only letters, digits, '-', '_', '.' and ':'", b.name),
        );
    }
    for node in &s.body {
        let Node::Directive(d) = node else { continue };
        if d.is("BalancerMember") {
            if let Some(m) = member(d, diags) {
                b.members.push(m);
            }
        } else if d.is("ProxySet") {
            for arg in &d.args {
                if let Err(e) = proxy_set(&mut b, arg) {
                    diags.error(d.at.clone(), format!("ProxySet {arg}: {e}"));
                }
            }
        } else {
            b.directives.push(d.clone());
        }
    }
    b
}

/// One `key=value` of `ProxySet`.
pub(super) fn proxy_set(b: &mut Balancer, arg: &str) -> Result<(), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err("not key=value".into());
    };
    let on = || match value.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("'{value}' is not On or Off")),
    };
    match key.to_ascii_lowercase().as_str() {
        "stickysession" => {
            let (cookie, param) = value.split_once('|').unwrap_or((value, value));
            // Names of a cookie and of a URL parameter: RFC 6265's token.
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
            };
            if !token(cookie) || !token(param) {
                return Err(format!(
                    "'{value}' is not a cookie name (and URL parameter name)"
                ));
            }
            b.sticky = Some(Sticky {
                cookie: cookie.to_string(),
                param: param.to_string(),
            });
        }
        "lbmethod" => {
            b.lbmethod = match value.to_ascii_lowercase().as_str() {
                "byrequests" => LbMethod::ByRequests,
                "bybusyness" => LbMethod::ByBusyness,
                "bytraffic" => LbMethod::ByTraffic,
                "heartbeat" => LbMethod::Heartbeat,
                _ => return Err(format!("no lbmethod '{value}'")),
            }
        }
        "nofailover" => b.nofailover = on()?,
        // Read and checked; their effect is httpd's default here.
        "forcerecovery" | "scolonpathdelim" => {
            on()?;
        }
        "failonstatus" | "failontimeout" => b.untranslated.push(format!(
            "{key}={value}: members are not taken out on a status or a timeout (HAProxy's observe layer7 would take any 5xx)"
        )),
        "maxattempts" | "timeout" | "growth" => {
            value
                .parse::<u32>()
                .map_err(|_| format!("'{value}' is not a number"))?;
        }
        _ => {
            return Err(format!(
                "'{key}' is not a balancer parameter fulcrum converts"
            ))
        }
    }
    Ok(())
}

/// `scheme://host[:port][/path]`: the scheme, host, port (80 or 443
/// when not written) and path.
pub fn authority(url: &str) -> Result<(Scheme, String, u16, String), String> {
    // ws:// and wss:// (mod_proxy_wstunnel) are HTTP with an upgrade,
    // which HAProxy passes on as it is.
    let (scheme, rest) = if let Some(r) = url.strip_prefix("http://").or(url.strip_prefix("ws://"))
    {
        (Scheme::Http, r)
    } else if let Some(r) = url.strip_prefix("https://").or(url.strip_prefix("wss://")) {
        (Scheme::Https, r)
    } else if url.starts_with("ajp://") {
        return Err("AJP is not converted: HAProxy and fulcrum speak HTTP to servers; point the member at Tomcat's HTTP connector".into());
    } else {
        return Err("only http://, https://, ws:// and wss:// servers are converted".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let default_port = if scheme == Scheme::Http { 80 } else { 443 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(p) if p > 0 => (h, p),
            _ => return Err(format!("'{p}' is not a port")),
        },
        _ => (authority, default_port),
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let bracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    // A host name: labels of 1 to 63 letters, digits, '-' or '_' (no
    // trailing dot); digits and dots alone must be an IPv4 address.
    let numeric = host.chars().all(|c| c.is_ascii_digit() || c == '.');
    let name = host.len() <= 253
        && (!numeric || host.parse::<std::net::Ipv4Addr>().is_ok())
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        });
    if !bracketed && !name {
        return Err(format!("'{host}' is not a host name or address"));
    }
    Ok((scheme, host.to_string(), port, path.to_string()))
}

/// Parses `BalancerMember URL key=value...`; None (and an error) when
/// the URL cannot be one.
fn member(d: &Directive, diags: &mut Diagnostics) -> Option<Member> {
    let Some(url) = d.args.first() else {
        diags.error(
            d.at.clone(),
            "BalancerMember needs a URL (http://host:port)",
        );
        return None;
    };
    let (scheme, host, port) = match authority(url) {
        Ok((scheme, host, port, _)) => (scheme, host, port),
        Err(e) => {
            diags.error(d.at.clone(), format!("BalancerMember '{url}': {e}"));
            return None;
        }
    };
    let mut m = Member {
        scheme,
        host,
        port,
        route: None,
        status: Status::default(),
        loadfactor: 1,
        connect_timeout: None,
        timeout: None,
        lbset: 0,
        hc: HealthCheck::default(),
        retry: Duration::from_secs(60),
        at: d.at.clone(),
    };
    for arg in d.args.iter().skip(1) {
        if let Err(e) = parameter(&mut m, arg) {
            diags.error(d.at.clone(), format!("BalancerMember '{url}': {e}"));
        }
    }
    Some(m)
}

/// One `key=value` of a member.
pub(super) fn parameter(m: &mut Member, arg: &str) -> Result<(), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err(format!("'{arg}' is not key=value"));
    };
    match key.to_ascii_lowercase().as_str() {
        "route" => m.route = Some(value.to_string()),
        "status" => m.status = status(value)?,
        "loadfactor" => {
            m.loadfactor = value
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| format!("loadfactor '{value}' is not 1 to 100"))?;
        }
        "connectiontimeout" => m.connect_timeout = Some(duration(value)?),
        "retry" => m.retry = duration(value)?,
        "timeout" => m.timeout = Some(duration(value)?),
        "hcmethod" => {
            let method = value.to_ascii_uppercase();
            if ![
                "TCP",
                "OPTIONS",
                "HEAD",
                "GET",
                "OPTIONS11",
                "HEAD11",
                "GET11",
            ]
            .contains(&method.as_str())
            {
                return Err(format!(
                    "hcmethod '{value}' is not TCP, OPTIONS, HEAD or GET"
                ));
            }
            m.hc.method = Some(method.trim_end_matches("11").to_string());
        }
        "hcuri" => m.hc.uri = Some(value.to_string()),
        "hcinterval" => m.hc.interval = Some(duration(value)?),
        "hcpasses" | "hcfails" => {
            let n = value
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{key} '{value}' is not a count"))?;
            if key.eq_ignore_ascii_case("hcpasses") {
                m.hc.passes = Some(n);
            } else {
                m.hc.fails = Some(n);
            }
        }
        "hcexpr" | "hctemplate" => m.hc.untranslated.push(format!("{key}={value}")),
        "lbset" => {
            m.lbset = value
                .parse()
                .ok()
                .filter(|n| *n <= 99)
                .ok_or_else(|| format!("lbset '{value}' is not 0 to 99"))?;
        }
        // Connection handling: fulcrum keeps its own pool, so these
        // change nothing a client or a member can see.
        "ping" => {
            duration(value)?;
        }
        "disablereuse" | "keepalive" | "smax" | "max" | "min" | "ttl" => {}
        _ => {
            return Err(format!(
                "'{key}' is not a member parameter fulcrum converts"
            ))
        }
    }
    Ok(())
}

/// `status=` flags: letters, each optionally after `+` (set) or `-`.
fn status(value: &str) -> Result<Status, String> {
    let mut s = Status::default();
    let mut set = true;
    for c in value.chars() {
        match c.to_ascii_uppercase() {
            '+' => set = true,
            '-' => set = false,
            'H' => s.hot_standby = set,
            'D' => s.disabled = set,
            'S' => s.stopped = set,
            'I' => s.ignore_errors = set,
            'E' | 'N' | 'R' | 'C' => {}
            other => return Err(format!("status flag '{other}' is not one of H, D, S, I")),
        }
    }
    Ok(s)
}

/// httpd's durations: seconds, or a number with `ms`.
pub(super) fn duration(value: &str) -> Result<Duration, String> {
    let bad = || format!("'{value}' is not a duration (seconds, or NNNms)");
    match value.strip_suffix("ms") {
        Some(ms) => ms.parse().map(Duration::from_millis).map_err(|_| bad()),
        None => value.parse().map(Duration::from_secs).map_err(|_| bad()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::apache::passes::{passes, Match, Pass, Target};
    use crate::config::apache::tree;
    use std::path::Path;

    fn read(text: &str) -> (Vec<Balancer>, Vec<Pass>, Diagnostics) {
        let path = std::env::temp_dir().join(format!(
            "fulcrum-balancers-{}-{}.conf",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let mut diags = Diagnostics::default();
        let nodes = tree::read(&path, &mut diags);
        let b = balancers(&nodes, &mut diags);
        let p = passes(&nodes, &b, &[], &mut diags);
        let _ = std::fs::remove_file(&path);
        (b, p, diags)
    }

    #[test]
    fn seed_000s_tenant_is_read_into_types() {
        let (b, p, diags) = read(
            "<Proxy balancer://t1rcs>\nBalancerMember http://t1rcs1:8008 connectiontimeout=10000ms route=RCS1\n\
             BalancerMember https://t1rcs2 status=+H loadfactor=3 retry=5\nProxySet stickysession=JSESSIONID|jsessionid\n</Proxy>\n\
             ProxyPass /t1/rcs balancer://t1rcs/rcs\n",
        );
        assert!(!diags.has_errors(), "{diags}");
        let m = &b[0].members;
        assert_eq!(
            (m[0].host.as_str(), m[0].port, m[0].route.as_deref()),
            ("t1rcs1", 8008, Some("RCS1"))
        );
        assert_eq!(m[0].connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(
            (m[1].scheme, m[1].port, m[1].loadfactor),
            (Scheme::Https, 443, 3)
        );
        assert!(m[1].status.hot_standby && !m[0].status.hot_standby);
        assert_eq!(m[1].retry, Duration::from_secs(5));
        assert_eq!(
            b[0].sticky,
            Some(Sticky {
                cookie: "JSESSIONID".into(),
                param: "jsessionid".into()
            })
        );
        assert_eq!(p[0].matches, Match::Prefix("/t1/rcs".into()));
        assert_eq!(
            p[0].target,
            Target::Balancer {
                name: "t1rcs".into(),
                path: "/rcs".into()
            }
        );
    }

    /// Seed 001: the OCR read `t1` as `tl` in some lines only, so a path
    /// goes to a balancer that does not exist; and lines were broken.
    #[test]
    fn seed_001s_damage_is_an_error_at_each_line() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/apache/seed001-tenant1.conf");
        let mut diags = Diagnostics::default();
        let nodes = tree::read(&path, &mut diags);
        let b = balancers(&nodes, &mut diags);
        passes(&nodes, &b, &[], &mut diags);
        let lines: Vec<u32> = diags.errors().filter_map(|e| e.span.line).collect();
        // 11, 39, 42: the broken tags (tree); 12, 29, 43, 44: a ProxyPass
        // to `tlrws`, `tlrcs`, `tlwebdav`, where the <Proxy> says `t1`
        // or never opened. (The lines the OCR broke off, `route=RCS1
        // Application Name`, read as directives of their own; reporting
        // directives that are not translated comes with the translation.)
        assert_eq!(lines, [11, 39, 42, 12, 29, 43, 44], "{diags}");
        assert!(
            diags
                .errors()
                .any(|e| e.message.contains("no balancer named 'tlrws'")),
            "{diags}"
        );
    }
}
