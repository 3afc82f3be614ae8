//! The parts of mod_rewrite's language the conversion can say in
//! HAProxy's: `RewriteCond` on the request (`%{HTTPS}`, `%{HTTP_HOST}`,
//! `%{SERVER_PORT}`, `%{REQUEST_URI}`, `%{QUERY_STRING}`,
//! `%{REQUEST_METHOD}`, `%{HTTP:Name}`) as ACL terms, and those
//! variables in a redirect's target as sample fetches: enough for
//! `RewriteCond %{HTTPS} off` with `RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301]`.

use super::cfg::{quote, regex_word};
use super::tree::Directive;

/// A `RewriteCond` line as an ACL term (`{ ... }` or `!{ ... }`).
pub fn condition(d: &Directive) -> Result<String, String> {
    let (Some(test), Some(pattern)) = (d.args.first(), d.args.get(1)) else {
        return Err("RewriteCond needs a test string and a pattern".into());
    };
    let flags = super::rewrite::flags_of(d);
    if flags.iter().any(|f| f == "or" || f == "ornext") {
        return Err("[OR] is not translated".into());
    }
    let nocase = flags.iter().any(|f| f == "nc" || f == "nocase");
    let (negated, pattern) = match pattern.strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, pattern.as_str()),
    };
    let not = if negated { "!" } else { "" };
    // %{HTTPS}: on or off, as ssl_fc says.
    if test == "%{HTTPS}" {
        let on = match pattern
            .trim_start_matches('=')
            .to_ascii_lowercase()
            .as_str()
        {
            "on" | "^on$" => true,
            "off" | "^off$" => false,
            _ => {
                return Err(format!(
                    "%{{HTTPS}} {pattern}: only on and off are translated"
                ))
            }
        };
        return Ok(if on != negated {
            "{ ssl_fc }".to_string()
        } else {
            "!{ ssl_fc }".to_string()
        });
    }
    let fetch =
        fetch_of(test).ok_or_else(|| format!("the test string '{test}' is not translated"))?;
    if pattern.starts_with('-') {
        return Err(format!("the file test '{pattern}' is not translated"));
    }
    let i = if nocase { " -i" } else { "" };
    let term = match pattern.strip_prefix('=') {
        Some(value) if fetch == "dst_port" && value.parse::<u16>().is_ok() => {
            format!("{{ dst_port -m int {value} }}")
        }
        Some(value) => format!("{{ {fetch} -m str{i} {} }}", quote(value)),
        None => {
            regex::Regex::new(pattern).map_err(|e| format!("'{pattern}': {e}"))?;
            format!("{{ {fetch} -m reg{i} {} }}", regex_word(pattern))
        }
    };
    Ok(format!("{not}{term}"))
}

/// The sample fetch for a test string made of one variable.
fn fetch_of(test: &str) -> Option<String> {
    let name = test.strip_prefix("%{")?.strip_suffix('}')?;
    if let Some(header) = name.strip_prefix("HTTP:") {
        let ok = !header.is_empty()
            && header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        return ok.then(|| format!("req.hdr({header})"));
    }
    Some(
        match name {
            "HTTP_HOST" => "req.hdr(host)",
            "SERVER_PORT" => "dst_port",
            "REQUEST_URI" => "path",
            "QUERY_STRING" => "query",
            "REQUEST_METHOD" => "method",
            "HTTP_USER_AGENT" => "req.hdr(user-agent)",
            "HTTP_REFERER" => "req.hdr(referer)",
            "REMOTE_ADDR" => "src",
            _ => return None,
        }
        .to_string(),
    )
}

/// A redirect's target as a log-format string: `%` written `%%`, the
/// request's variables as fetches, and `$1` when the pattern captures
/// the whole path (`^(.*)$`, `(.*)`). None of that: why not.
pub fn target_url(target: &str, pattern: &str) -> Result<String, String> {
    let whole_path = matches!(pattern, "^(.*)$" | "(.*)" | "^(.*)");
    let mut out = String::new();
    let mut rest = target;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%{") {
            let (name, tail) = after
                .split_once('}')
                .ok_or_else(|| "an unclosed %{ in the target".to_string())?;
            let fetch = match name {
                "HTTP_HOST" => "%[req.hdr(host)]",
                "SERVER_NAME" => "%[req.hdr(host),field(1,:)]",
                "REQUEST_URI" => "%[path]",
                "QUERY_STRING" => "%[query]",
                other => return Err(format!("%{{{other}}} in the target is not translated")),
            };
            out.push_str(fetch);
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("$1").filter(|_| whole_path) {
            out.push_str("%[path]");
            rest = tail;
        } else if c == '$' {
            return Err(
                "back-references in the target are not translated (but $1 of ^(.*)$)".into(),
            );
        } else if c == '%' {
            out.push_str("%%");
            rest = &rest[1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Span;

    fn cond(args: &[&str]) -> Result<String, String> {
        condition(&Directive {
            name: "RewriteCond".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            at: Span::file(&"t".into()),
        })
    }

    #[test]
    fn conditions_and_targets_httpd_sites_use() {
        assert_eq!(cond(&["%{HTTPS}", "off"]).unwrap(), "!{ ssl_fc }");
        assert_eq!(cond(&["%{HTTPS}", "!=on"]).unwrap(), "!{ ssl_fc }");
        assert_eq!(cond(&["%{HTTPS}", "on"]).unwrap(), "{ ssl_fc }");
        assert_eq!(
            cond(&["%{HTTP_HOST}", "^www\\.", "[NC]"]).unwrap(),
            "{ req.hdr(host) -m reg -i ^www\\. }"
        );
        assert_eq!(
            cond(&["%{SERVER_PORT}", "!=443"]).unwrap(),
            "!{ dst_port -m int 443 }"
        );
        assert!(cond(&["%{REQUEST_FILENAME}", "!-f"]).is_err());
        assert!(cond(&["%{HTTPS}", "off", "[OR]"]).is_err());
        assert_eq!(
            target_url("https://%{HTTP_HOST}%{REQUEST_URI}", "^").unwrap(),
            "https://%[req.hdr(host)]%[path]"
        );
        assert_eq!(
            target_url("https://x$1", "^(.*)$").unwrap(),
            "https://x%[path]"
        );
        assert!(target_url("https://x/$1", "^/a/(.*)$").is_err());
        assert_eq!(target_url("/50%off", "^").unwrap(), "/50%%off");
    }
}
