//! Parsers of the built-in protocol checks (`option redis-check`,
//! `pgsql-check`, `ssl-hello-chk`, `mysql-check`, `smtpchk`, `ldap-check`,
//! `spop-check`). Each replaces whatever check the proxy had (`option
//! httpchk`, `option tcp-check`, another protocol check): the last check
//! option of a section wins, as in HAProxy.

use super::keywords::Line;
use super::model::{ProtocolCheck, Proxy};
use super::proxy_kw::set_tcp_check;

type R = Result<(), String>;

/// Makes `check` the proxy's health check.
fn set_protocol_check(p: &mut Proxy, check: ProtocolCheck) {
    set_tcp_check(&mut p.option, false);
    p.option.httpchk = None;
    p.option.protocol_check = Some(check);
}

/// `option redis-check`: HAProxy's built-in Redis check (a RESP PING,
/// +PONG expected).
pub fn option_redis_check(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    set_protocol_check(p, ProtocolCheck::Redis);
    Ok(())
}

/// `option mysql-check [user U [post-41]]`: HAProxy's built-in MySQL
/// check (HAProxy 2.6 sends the 4.1 protocol's packet either way).
pub fn option_mysql_check(p: &mut Proxy, l: &mut Line) -> R {
    let (user, pre_41) = match l.args {
        [] => (None, false),
        [k, u] if k == "user" => (Some(u.clone()), false),
        [k, u, v] if k == "user" && v == "post-41" => (Some(u.clone()), false),
        [k, u, v] if k == "user" && v == "pre-41" => (Some(u.clone()), true),
        [k, _, v] if k == "user" => {
            return Err(format!(
                "keyword 'user' only supports 'post-41' and 'pre-41' (got '{v}')"
            ))
        }
        _ => {
            return Err(
                "'option mysql-check' expects nothing, or 'user <username> [post-41]'".into(),
            )
        }
    };
    set_protocol_check(p, ProtocolCheck::Mysql { user, pre_41 });
    Ok(())
}

/// `option ssl-hello-chk`: HAProxy's built-in SSL/TLS hello check.
pub fn option_ssl_hello_chk(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    set_protocol_check(p, ProtocolCheck::SslHello);
    Ok(())
}

/// `option pgsql-check user U`: HAProxy's built-in PostgreSQL check.
pub fn option_pgsql_check(p: &mut Proxy, l: &mut Line) -> R {
    let user = match l.args {
        [k, u] if k == "user" => u.clone(),
        _ => return Err("'option pgsql-check' expects 'user <username>' as argument".into()),
    };
    set_protocol_check(p, ProtocolCheck::Pgsql { user });
    Ok(())
}

/// `option smtpchk [HELO|EHLO <domain>]`. HAProxy 2.6 takes at most two
/// arguments and sends `HELO localhost` unless they are exactly `HELO` or
/// `EHLO` (case counts) and a domain; other arguments are accepted and
/// ignored, so here they are too, with a warning saying what is sent.
pub fn option_smtpchk(p: &mut Proxy, l: &mut Line) -> R {
    let (hello, domain) = match l.args {
        [] => ("HELO", "localhost"),
        [h, d] if h == "HELO" || h == "EHLO" => (h.as_str(), d.as_str()),
        [_] | [_, _] => {
            l.warnings.push(format!(
                "'option smtpchk {}': the hello command must be 'HELO' or 'EHLO' followed by a domain; 'HELO localhost' is sent, as HAProxy does",
                l.args.join(" ")
            ));
            ("HELO", "localhost")
        }
        [_, _, extra, ..] => {
            return Err(format!(
                "'option smtpchk' cannot handle unexpected argument '{extra}'"
            ))
        }
    };
    set_protocol_check(
        p,
        ProtocolCheck::Smtp {
            hello: hello.into(),
            domain: domain.into(),
        },
    );
    Ok(())
}

/// `option ldap-check`: HAProxy's built-in LDAPv3 anonymous bind check.
pub fn option_ldap_check(p: &mut Proxy, l: &mut Line) -> R {
    no_argument(l)?;
    set_protocol_check(p, ProtocolCheck::Ldap);
    Ok(())
}

/// `option spop-check`: HAProxy's built-in SPOE agent check.
pub fn option_spop_check(p: &mut Proxy, l: &mut Line) -> R {
    no_argument(l)?;
    set_protocol_check(p, ProtocolCheck::Spop);
    Ok(())
}

/// No argument, refused in HAProxy's words.
fn no_argument(l: &Line) -> R {
    match l.args.first() {
        None => Ok(()),
        Some(a) => Err(format!(
            "'{}' cannot handle unexpected argument '{a}'",
            l.kw
        )),
    }
}

/// `http-check expect [!] hdr|fhdr name [-m M] NAME [value [-m M] VALUE]`
/// (`args` from `name` on), with HAProxy's errors.
pub fn header_expect(
    negate: bool,
    word: &str,
    args: &[String],
) -> Result<super::model::HttpCheckExpect, String> {
    use super::model::{ExpectMatch, HeaderExpect, HeaderValue, HttpCheckExpect};
    let no_name =
        || format!("'{word}' expects at the name keyword as first argument followed by a pattern");
    let (kind, rest) = args.split_first().ok_or_else(no_name)?;
    let name_lf = kind == "name-lf";
    if !(kind == "name" || name_lf) || rest.is_empty() {
        return Err(no_name());
    }
    let (name_match, rest) = match_method(word, rest)?;
    let Some((name, rest)) = rest.split_first() else {
        return Err(no_name());
    };
    let value = match rest {
        [] => None,
        [v, more @ ..] if v == "value" || v == "value-lf" => {
            let (matcher, more) = match_method(word, more)?;
            match more {
                [pattern] => Some(HeaderValue {
                    matcher,
                    pattern: pattern.clone(),
                    lf: v == "value-lf",
                }),
                [] => return Err(format!("'{word}' expect a pattern with the value keyword")),
                [_, extra, ..] => return Err(unexpected(extra)),
            }
        }
        [extra, ..] => return Err(unexpected(extra)),
    };
    // A log-format pattern is only known at check time.
    let regexes = [
        (name_match, if name_lf { "" } else { name.as_str() }),
        value
            .as_ref()
            .filter(|v| !v.lf)
            .map_or((name_match, ""), |v| (v.matcher, &v.pattern)),
    ];
    for (m, p) in regexes {
        if m == super::model::HeaderMatch::Reg {
            regex::Regex::new(p).map_err(|e| format!("regex '{p}' is invalid ({e})"))?;
        }
    }
    Ok(HttpCheckExpect {
        comment: None,
        negate,
        matcher: if word == "fhdr" {
            ExpectMatch::Fhdr
        } else {
            ExpectMatch::Hdr
        },
        pattern: name.clone(),
        header: Some(HeaderExpect {
            name_match,
            name_lf,
            value,
        }),
    })
}

/// An optional `-m M` at the start of `args`, and what follows it.
fn match_method<'a>(
    word: &str,
    args: &'a [String],
) -> Result<(super::model::HeaderMatch, &'a [String]), String> {
    use super::model::HeaderMatch;
    match args {
        [m, rest @ ..] if m == "-m" => {
            let Some((meth, rest)) = rest.split_first() else {
                return Err(format!("'{word}' : '-m' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')"));
            };
            let found = HeaderMatch::ALL.iter().find(|(n, _)| n == meth);
            match found {
                Some((_, m)) => Ok((*m, rest)),
                None => Err(format!("'{word}' : '-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '{meth}')")),
            }
        }
        _ => Ok((HeaderMatch::Str, args)),
    }
}

/// A word after a complete header expect, refused as HAProxy refuses it.
fn unexpected(word: &str) -> String {
    format!("only [!]status, [!]rstatus, [!]string, [!]rstring, [!]hdr or [!]fhdr are supported by fulcrum, got '{word}'")
}

/// The options of a `connect` step: `[default] [port N] [addr A]
/// [send-proxy] [ssl] [sni S] [linger] [comment C]`; `via-socks4`,
/// `alpn` and `proto` are refused by name.
pub fn connect_options(kw: &str, args: &[String]) -> Result<super::model::CheckConnect, String> {
    let mut c = super::model::CheckConnect::default();
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<String>, k: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("'{kw} {k}' expects a value"))
    };
    while let Some(w) = it.next() {
        match w.as_str() {
            "default" => c.default = true,
            "port" => {
                let v = value(&mut it, "port")?;
                c.port = Some(v.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
                    format!("'{kw} port' expects a port (1-65535), got '{v}'")
                })?);
            }
            "addr" => {
                let v = value(&mut it, "addr")?;
                c.addr = Some(
                    v.parse()
                        .map_err(|_| format!("'{kw} addr' expects an IP address, got '{v}'"))?,
                );
            }
            "send-proxy" => c.send_proxy = true,
            "ssl" => c.ssl = true,
            "sni" => c.sni = Some(value(&mut it, "sni")?),
            "linger" => c.linger = true,
            "comment" => c.comment = Some(value(&mut it, "comment")?),
            other @ ("via-socks4" | "alpn" | "proto") => {
                return Err(format!(
                    "'{kw} {other}' is not supported by fulcrum yet (HAProxy 2.6 accepts it)"
                ))
            }
            other => {
                return Err(format!(
                    "'{kw}': unexpected '{other}' (expected default, port, addr, send-proxy, ssl, sni, linger or comment)"
                ))
            }
        }
    }
    Ok(c)
}

/// `http-check connect [options]`: the exchange that follows opens its own
/// connection. As in HAProxy, once a ruleset has a `connect`, it must
/// start with one (after comments).
pub fn http_check_connect(p: &mut Proxy, l: &mut Line) -> R {
    use super::model::HttpCheckRule;
    let c = connect_options("http-check connect", l.args)?;
    let started = p
        .http_check
        .iter()
        .any(|r| !matches!(r, HttpCheckRule::Comment(_)));
    let has_connect = p
        .http_check
        .iter()
        .any(|r| matches!(r, HttpCheckRule::Connect(_)));
    if started && !has_connect {
        return Err("'http-check connect' : first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset".into());
    }
    p.http_check.push(HttpCheckRule::Connect(c));
    Ok(())
}

/// `http-check set-var(check.NAME) EXPR` and `unset-var(check.NAME)`:
/// `args` start with the `set-var(...)` word. Only the `check.` scope has
/// a meaning in a check (its variables live for one check).
pub fn http_check_var(p: &mut Proxy, l: &mut Line) -> R {
    let (word, rest) = l
        .args
        .split_first()
        .ok_or("'http-check set-var' expects a variable")?;
    let (action, name) = word
        .strip_suffix(')')
        .and_then(|w| w.split_once('('))
        .ok_or_else(|| format!("'http-check {word}': expected {word}(check.NAME)"))?;
    if !name.starts_with("check.") || name.len() <= "check.".len() {
        return Err(format!(
            "'http-check {action}': variable '{name}' is not in the 'check' scope (check.NAME): a check's variables live for one check"
        ));
    }
    let rule = match (action, rest) {
        ("set-var", [expr]) => super::model::HttpCheckRule::SetVar {
            name: name.to_string(),
            expr: expr.clone(),
        },
        ("set-var", []) => return Err(format!("'http-check {word}' expects a sample expression")),
        ("unset-var", []) => super::model::HttpCheckRule::UnsetVar(name.to_string()),
        (_, [_, extra, ..]) | ("unset-var", [extra]) => {
            return Err(format!("'http-check {word}': unexpected '{extra}'"))
        }
        _ => return Err(format!("'http-check {word}': unknown action")),
    };
    p.http_check.push(rule);
    Ok(())
}

/// `http-check comment TEXT`: what the next rule's failure reports.
pub fn http_check_comment(p: &mut Proxy, l: &mut Line) -> R {
    match l.args {
        [text] => {
            p.http_check
                .push(super::model::HttpCheckRule::Comment(text.clone()));
            Ok(())
        }
        _ => Err("'http-check comment' expects exactly one argument".into()),
    }
}

/// HAProxy's rule for an `expect` after a `connect`: a `send` must come
/// between them (only a first exchange without `connect` may use
/// `option httpchk`'s request).
pub fn http_check_expect_allowed(p: &Proxy) -> R {
    use super::model::HttpCheckRule;
    let mut since_connect = p
        .http_check
        .iter()
        .rev()
        .take_while(|r| !matches!(r, HttpCheckRule::Connect(_)));
    let connected = p
        .http_check
        .iter()
        .any(|r| matches!(r, HttpCheckRule::Connect(_)));
    if connected && !since_connect.any(|r| matches!(r, HttpCheckRule::Send(_))) {
        return Err(format!(
            "'http-check expect' : unable to add http-check expect rule at step {} (missing send rule)",
            p.http_check.len() + 1
        ));
    }
    Ok(())
}

/// HAProxy's rule for a `send`: one per connection. A second one needs a
/// `connect` before it.
pub fn http_check_send_allowed(p: &Proxy) -> R {
    use super::model::HttpCheckRule;
    let since_connect = p
        .http_check
        .iter()
        .rev()
        .take_while(|r| !matches!(r, HttpCheckRule::Connect(_)));
    let mut seen_send = false;
    for r in since_connect {
        if matches!(r, HttpCheckRule::Send(_)) {
            seen_send = true;
        }
    }
    if seen_send {
        let step = p.http_check.len() + 1;
        return Err(format!(
            "'http-check send' : unable to add http-check send rule at step {step} (missing connect rule)"
        ));
    }
    Ok(())
}

/// One reporting option of `tcp-check expect`, checked as HAProxy checks
/// it. `on-success`/`on-error` take text (log-format variables are not
/// supported yet), `status-code` takes `int(N)`.
pub fn expect_report_option(r: &mut super::model::ExpectReport, opt: &str, v: &str) -> R {
    let status = |allowed: &[&str]| -> Result<String, String> {
        let up = v.to_ascii_uppercase();
        if allowed.contains(&up.as_str()) {
            Ok(up)
        } else {
            Err(format!(
                "'tcp-check expect {opt}': '{v}' is not one of {}",
                allowed.join(", ")
            ))
        }
    };
    let text = || -> Result<String, String> {
        if v.contains('%') {
            return Err(format!("'tcp-check expect {opt}': log-format variables in '{v}' are not supported by fulcrum yet (HAProxy 2.6 accepts them); write plain text"));
        }
        Ok(v.to_string())
    };
    match opt {
        "comment" => r.comment = Some(v.to_string()),
        "ok-status" => r.ok_status = Some(status(&["L7OK", "L7OKC", "L6OK", "L4OK"])?),
        "error-status" => {
            r.error_status = Some(status(&["L7OKC", "L7RSP", "L7STS", "L6RSP", "L4CON"])?)
        }
        "tout-status" => r.tout_status = Some(status(&["L7TOUT", "L6TOUT", "L4TOUT"])?),
        "on-success" => r.on_success = Some(text()?),
        "on-error" => r.on_error = Some(text()?),
        "status-code" => {
            let n = v
                .strip_prefix("int(")
                .and_then(|x| x.strip_suffix(')'))
                .and_then(|x| x.trim().parse::<u16>().ok())
                .ok_or_else(|| format!("'tcp-check expect status-code': only 'int(N)' is supported by fulcrum yet, got '{v}'"))?;
            r.status_code = Some(n);
        }
        _ => return Err(format!("'tcp-check expect': unknown option '{opt}'")),
    }
    Ok(())
}
