//! mod_headers' `Header` and `RequestHeader`, and mod_proxy's rewriting
//! of what members answer (`ProxyPassReverse` for `Location`,
//! `ProxyPassReverseCookiePath` for `Set-Cookie`), as http-request and
//! http-response rules. Inside `<Proxy balancer://...>` they apply to
//! that balancer's backend; elsewhere to every backend.
//!
//! A value may name the balancer's variables: `%{BALANCER_WORKER_ROUTE}e`
//! is the route of the member that answered, so such a rule is written
//! once per server, with `srv_name`. `env=BALANCER_ROUTE_CHANGED` holds
//! when the member that answered is not the one the request's route
//! named (httpd sets it exactly then, on a balancer with stickysession).

use super::cfg::{log_format_text, quote, regex_word, Section};
use super::tree::Directive;
use crate::config::Diagnostics;

/// A backend's servers, for rules that depend on which one answered.
pub struct Members<'a> {
    /// Each server: its name in the backend, its route, its URL.
    pub servers: &'a [(String, Option<String>, String)],
    /// The balancer has `stickysession` (so a route can change).
    pub sticky: bool,
    /// How the URLs httpd makes start: `http`, or the request's scheme.
    pub scheme: &'a str,
}

/// Writes `d` (a Header, RequestHeader, ProxyPassReverse or
/// ProxyPassReverseCookiePath line) into backend `be`.
pub fn write(d: &Directive, be: &mut Section, members: &Members, diags: &mut Diagnostics) {
    if d.is("Header") || d.is("RequestHeader") {
        header(d, be, members, diags)
    } else if d.is("ProxyPassReverseCookiePath") {
        cookie_attribute(d, "path", be, diags)
    } else if d.is("ProxyPassReverseCookieDomain") {
        cookie_attribute(d, "domain", be, diags)
    } else if d.is("ProxyPassReverse") {
        location(d, be, members, diags)
    }
}

fn header(d: &Directive, be: &mut Section, members: &Members, diags: &mut Diagnostics) {
    let request = d.is("RequestHeader");
    let mut args: &[String] = &d.args;
    // `Header always ...` also reaches the answers httpd makes itself.
    let mut always = false;
    if let Some((first, rest)) = args.split_first() {
        match first.to_ascii_lowercase().as_str() {
            "always" if !request => {
                always = true;
                args = rest;
            }
            "onsuccess" if !request => args = rest,
            _ => {}
        }
    }
    let (Some(action), Some(name)) = (args.first(), args.get(1)) else {
        diags.error(
            d.at.clone(),
            format!("{}: needs an action and a header name", d.name),
        );
        return;
    };
    let action = action.to_ascii_lowercase();
    // `unset NAME [env=...]`; the others `ACTION NAME VALUE [env=...]`.
    let (value, tail) = match action.as_str() {
        "unset" => (None, args.get(2..).unwrap_or_default()),
        _ => (args.get(2), args.get(3..).unwrap_or_default()),
    };
    let condition = tail.iter().find(|a| a.starts_with("env="));
    if let Some(other) = tail.iter().find(|a| !a.starts_with("env=")) {
        diags.warning(
            d.at.clone(),
            format!(
                "{}: '{other}' is not translated; the line is left out",
                d.name
            ),
        );
        return;
    }
    let verb = match (action.as_str(), value) {
        ("add", Some(_)) => "add-header",
        ("set", Some(_)) => "set-header",
        ("unset", None) => "del-header",
        _ => {
            diags.warning(
                d.at.clone(),
                format!(
                    "{} {action} is not translated: only add, set and unset are",
                    d.name
                ),
            );
            return;
        }
    };
    let phase = match (request, always) {
        (true, _) => "http-request",
        (false, false) => "http-response",
        (false, true) => "http-after-response",
    };
    be.from(d);
    let route_changed = match condition.map(|c| c.trim_start_matches("env=")) {
        None => false,
        Some("BALANCER_ROUTE_CHANGED") if !request => true,
        Some(other) => {
            diags.warning(
                d.at.clone(),
                format!(
                    "{}: env={other} is not translated; the line is left out",
                    d.name
                ),
            );
            be.note("(left out: its env= condition is not translated)");
            return;
        }
    };
    if route_changed && !members.sticky {
        be.note(
            "(nothing: httpd sets BALANCER_ROUTE_CHANGED only on a balancer with stickysession)",
        );
        return;
    }
    let Some(value) = value else {
        be.line(format!("{phase} {verb} {}", quote(name)));
        return;
    };
    let per_server = route_changed || value.contains("%{BALANCER_WORKER_");
    if !per_server {
        match expand(value, None) {
            Ok(v) => be.line(format!("{phase} {verb} {} {v}", quote(name))),
            Err(e) => diags.warning(
                d.at.clone(),
                format!("{}: {e}; the line is left out", d.name),
            ),
        }
        return;
    }
    for (server, route, url) in members.servers {
        let v = match expand(value, Some((route.as_deref().unwrap_or(""), url))) {
            Ok(v) => v,
            Err(e) => {
                diags.warning(
                    d.at.clone(),
                    format!("{}: {e}; the line is left out", d.name),
                );
                return;
            }
        };
        let mut cond = format!("if {{ srv_name {} }}", quote(server));
        if let (true, Some(r)) = (route_changed, route) {
            cond.push_str(&format!(" !{{ var(txn.route) -m str {} }}", quote(r)));
        }
        be.line(format!("{phase} {verb} {} {v} {cond}", quote(name)));
    }
}

/// A mod_headers value as a log-format word: `%{VAR}e` for the
/// balancer's worker variables (given the answering member's route and
/// URL), `%%` for `%`; any other `%` form cannot be translated.
fn expand(value: &str, worker: Option<(&str, &str)>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
            continue;
        }
        let var = after
            .strip_prefix('{')
            .and_then(|a| a.split_once("}e"))
            .ok_or_else(|| format!("'%{}' is not translated (only %{{BALANCER_WORKER_ROUTE}}e and %{{BALANCER_WORKER_NAME}}e are)", after.chars().take(12).collect::<String>()))?;
        match (var.0, worker) {
            ("BALANCER_WORKER_ROUTE", Some((route, _))) => out.push_str(route),
            ("BALANCER_WORKER_NAME", Some((_, url))) => out.push_str(url),
            (name, _) => return Err(format!("%{{{name}}}e is not translated")),
        }
        rest = var.1;
    }
    out.push_str(rest);
    Ok(log_format_text(&out))
}

/// `ProxyPassReverseCookiePath INTERNAL PUBLIC`: a Set-Cookie whose
/// `path=` starts with INTERNAL gets PUBLIC as its whole path (httpd
/// replaces the value, not the prefix; `path=` in any case). The same
/// for `ProxyPassReverseCookieDomain` and `domain=`, whose value httpd
/// compares without case.
fn cookie_attribute(d: &Directive, attribute: &str, be: &mut Section, diags: &mut Diagnostics) {
    let (Some(internal), Some(public)) = (d.args.first(), d.args.get(1)) else {
        diags.error(d.at.clone(), format!("{} needs two values", d.name));
        return;
    };
    be.from(d);
    // The attribute's name in any case: [Pp][Aa][Tt][Hh].
    let name: String = attribute
        .chars()
        .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c))
        .collect();
    let value = match attribute {
        "domain" => format!("(?i:{})", regex::escape(internal)),
        _ => regex::escape(internal),
    };
    let re = format!("^((?:.*;)?\\s*)({name}=){value}[^;]*(.*)$");
    be.line(format!(
        "http-response replace-header Set-Cookie {} {}",
        regex_word(&re),
        quote(&format!("\\1\\2{}\\3", public.replace('%', "%%")))
    ));
}

/// `ProxyPassReverse PATH URL`: a `Location` or `Content-Location` that
/// starts with URL (with a balancer, any member's URL and the path) is
/// made to start with this server's own URL and PATH, as the client
/// named it in Host.
fn location(d: &Directive, be: &mut Section, members: &Members, diags: &mut Diagnostics) {
    let (Some(public), Some(url)) = (d.args.first(), d.args.get(1)) else {
        diags.error(d.at.clone(), "ProxyPassReverse needs a path and a URL");
        return;
    };
    let prefixes: Vec<String> = match url.strip_prefix("balancer://") {
        Some(rest) => {
            let path = rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("");
            members
                .servers
                .iter()
                .map(|(_, _, m)| format!("(?i:{}){}", regex::escape(m), regex::escape(path)))
                .collect()
        }
        None if url.starts_with("http://") || url.starts_with("https://") => {
            vec![format!("(?i:{})", regex::escape(url))]
        }
        None => {
            diags.warning(
                d.at.clone(),
                format!("ProxyPassReverse {public} {url}: only absolute URLs are translated"),
            );
            return;
        }
    };
    be.from(d);
    for header in ["Location", "Content-Location"] {
        for p in &prefixes {
            be.line(format!(
                "http-response replace-header {header} {} {}",
                regex_word(&format!("^{p}(.*)$")),
                // httpd writes PATH, then what followed the member's URL.
                quote(&format!(
                    "{}://%[var(txn.host)]{}\\1",
                    members.scheme,
                    public.replace('%', "%%")
                ))
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn worker_variables_expand_and_percent_is_escaped() {
        assert_eq!(
            expand(
                "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/t1",
                Some(("T1", "http://a"))
            )
            .unwrap(),
            "\"ROUTEID=.T1; path=/t1\""
        );
        assert_eq!(expand("100%%", None).unwrap(), "100%%");
        assert!(expand("%t", None).is_err());
        assert!(expand("%{HOME}e", None).is_err());
    }

    /// httpd writes the public path, then what followed the member's URL
    /// and path: `/` for `/` keeps its slash.
    #[test]
    fn location_keeps_the_public_path_whole() {
        let mut diags = Diagnostics::default();
        let out = crate::config::apache::convert::convert_text(
            "<Proxy balancer://b>\nBalancerMember http://m:8080\n</Proxy>\n\
             ProxyPass / balancer://b/\nProxyPassReverse / balancer://b/\n\
             ProxyPassReverse /pub http://n:9000/app\n",
            "t.conf",
            false,
            &mut diags,
        );
        assert!(!diags.has_errors(), "{diags}");
        for line in [
            r#"http-response replace-header Location ^(?i:http://m:8080)/(.*)$ "http://%[var(txn.host)]/\1""#,
            r#"http-response replace-header Location ^(?i:http://n:9000/app)(.*)$ "http://%[var(txn.host)]/pub\1""#,
        ] {
            assert!(out.contains(line), "{line}\n{out}");
        }
    }
}
