//! Parsers of the proxy keywords (frontend, backend, listen, defaults),
//! except `bind` and `server` which have files of their own.
//! Each takes the proxy being built and the line's arguments; the section
//! checks were done by the caller from the keyword table.

use std::net::IpAddr;
use std::path::PathBuf;

use super::args::{is_token, parse_duration, parse_log, parse_u32};
use super::keywords::Line;
use super::model::{
    AccessLog, Balance, Capture, Cookie, CookieMethod, Credentials, ExpectMatch, ForwardFor,
    HttpCheckExpect, HttpCheckRule, HttpCheckSend, HttpChk, HttpConnection, Mode, Options, Proxy,
    UriHash, UseBackend, UseServer, Words, DEFAULT_XFF,
};

type R = Result<(), String>;

pub fn mode(p: &mut Proxy, l: &mut Line) -> R {
    p.mode = match l.one("'tcp' or 'http'")? {
        "tcp" => Mode::Tcp,
        "http" => Mode::Http,
        other => return Err(format!("'mode' expects 'tcp' or 'http', got '{other}'")),
    };
    Ok(())
}

pub fn balance(p: &mut Proxy, l: &mut Line) -> R {
    let Some((algo, rest)) = l.args.split_first() else {
        return Err(
            "'balance' expects an algorithm: roundrobin, static-rr, leastconn, first, \
                    source, uri, url_param, hdr(NAME) or random"
                .into(),
        );
    };
    let no_more = |rest: &[String]| match rest.first() {
        None => Ok(()),
        Some(a) => Err(format!("'balance {algo}' takes no argument, got '{a}'")),
    };
    p.balance = match algo.as_str() {
        "roundrobin" => no_more(rest).map(|_| Balance::Roundrobin)?,
        "static-rr" => no_more(rest).map(|_| Balance::StaticRr)?,
        "leastconn" => no_more(rest).map(|_| Balance::Leastconn)?,
        "first" => no_more(rest).map(|_| Balance::First)?,
        "source" => no_more(rest).map(|_| Balance::Source)?,
        "uri" => Balance::Uri(uri_hash(rest)?),
        "url_param" => match rest {
            [param] => Balance::UrlParam {
                param: param.clone(),
            },
            [] => return Err("'balance url_param' expects a parameter name".into()),
            [_, extra, ..] => {
                return Err(format!(
                    "'balance url_param' expects one parameter name, got extra argument '{extra}'"
                ))
            }
        },
        a if a.starts_with("hdr(") => {
            let name = a
                .strip_prefix("hdr(")
                .and_then(|s| s.strip_suffix(')'))
                .filter(|n| !n.is_empty() && is_token(n))
                .ok_or_else(|| format!("'balance {a}': expected hdr(NAME) with a header name"))?;
            let use_domain_only = match rest {
                [] => false,
                [o] if o == "use_domain_only" => true,
                [o, ..] => {
                    return Err(format!(
                        "'balance hdr()' accepts only 'use_domain_only', got '{o}'"
                    ))
                }
            };
            Balance::Hdr {
                name: name.to_string(),
                use_domain_only,
            }
        }
        "random" => no_more(rest).map(|_| Balance::Random { draws: 2 })?,
        a if a.starts_with("random(") => {
            let n = a
                .strip_prefix("random(")
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| format!("'balance {a}': expected random(DRAWS)"))?;
            let draws = parse_u32("balance random", n)?;
            if draws == 0 {
                return Err("'balance random(N)': N must be at least 1".into());
            }
            no_more(rest)?;
            Balance::Random { draws }
        }
        other => {
            return Err(format!(
                "unknown balance algorithm '{other}' (expected roundrobin, static-rr, leastconn, \
                 first, source, uri, url_param, hdr(NAME) or random)"
            ))
        }
    };
    Ok(())
}

fn uri_hash(args: &[String]) -> Result<UriHash, String> {
    let mut h = UriHash::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "len" | "depth" => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("'balance uri {a}' expects a number"))?;
                let n = parse_u32(&format!("balance uri {a}"), v)?;
                if a == "len" {
                    h.len = Some(n);
                } else {
                    h.depth = Some(n);
                }
            }
            "whole" => h.whole = true,
            "path-only" => h.path_only = true,
            other => {
                return Err(format!(
                    "'balance uri': unknown parameter '{other}' (expected len, depth, whole or path-only)"
                ))
            }
        }
    }
    Ok(h)
}

pub fn log(p: &mut Proxy, l: &mut Line) -> R {
    p.log.push(parse_log("log", l.args)?);
    Ok(())
}

pub fn retries(p: &mut Proxy, l: &mut Line) -> R {
    p.retries = parse_u32("retries", l.one("a number of retries")?)?;
    Ok(())
}

pub fn maxconn(p: &mut Proxy, l: &mut Line) -> R {
    p.maxconn = Some(parse_u32("maxconn", l.one("a number of connections")?)?);
    Ok(())
}

pub fn default_backend(p: &mut Proxy, l: &mut Line) -> R {
    p.default_backend = Some(l.one("a backend name")?.to_string());
    Ok(())
}

pub fn use_backend(p: &mut Proxy, l: &mut Line) -> R {
    let Some((name, rest)) = l.args.split_first() else {
        return Err("'use_backend' expects a backend name".into());
    };
    p.use_backend.push(UseBackend {
        backend: name.clone(),
        cond: condition(l, "use_backend", rest)?,
        origin: l.origin.clone(),
    });
    Ok(())
}

pub fn use_server(p: &mut Proxy, l: &mut Line) -> R {
    let Some((name, rest)) = l.args.split_first() else {
        return Err("'use-server' expects a server name".into());
    };
    if rest.is_empty() {
        return Err(format!(
            "'use-server {name}' expects a condition ('if' or 'unless' followed by ACLs)"
        ));
    }
    p.use_server.push(UseServer {
        server: name.clone(),
        cond: condition(l, "use-server", rest)?,
        origin: l.origin.clone(),
    });
    Ok(())
}

/// The words of `if|unless COND`, kept for the rules layer to compile;
/// None when there is no condition.
fn condition(l: &Line, kw: &str, args: &[String]) -> Result<Option<Words>, String> {
    match args.first().map(String::as_str) {
        None => Ok(None),
        Some("if" | "unless") if args.len() > 1 => Ok(Some(Words {
            words: args.to_vec(),
            origin: l.origin.clone(),
        })),
        Some(w @ ("if" | "unless")) => Err(format!("'{kw}': missing condition after '{w}'")),
        Some(w) => Err(format!(
            "'{kw}': expected 'if' or 'unless' before a condition, got '{w}'"
        )),
    }
}

/// A rule line (`acl`, `http-request`, ...): its words are kept for the
/// rules layer, which parses and compiles them.
fn rule_words(l: &Line, what: &str) -> Result<Words, String> {
    if l.args.is_empty() {
        return Err(format!("'{}' expects {what}", l.kw));
    }
    Ok(Words {
        words: l.args.to_vec(),
        origin: l.origin.clone(),
    })
}

/// `http-reuse never|safe|aggressive|always`.
pub fn http_reuse(p: &mut Proxy, l: &mut Line) -> R {
    use crate::config::model::HttpReuse;
    let mode = l.one("never, safe, aggressive or always")?;
    p.http_reuse = Some(match mode {
        "never" => HttpReuse::Never,
        "safe" => HttpReuse::Safe,
        "aggressive" => HttpReuse::Aggressive,
        "always" => HttpReuse::Always,
        other => {
            return Err(format!(
                "'http-reuse' expects 'never', 'safe', 'aggressive' or 'always', got '{other}'"
            ))
        }
    });
    Ok(())
}

/// `unique-id-format STRING`: compiled with the proxy's rules, where a
/// bad string is reported.
pub fn unique_id_format(p: &mut Proxy, l: &mut Line) -> R {
    let s = l.one("a log-format string (quote it when it has spaces)")?;
    p.unique_id_format = Some(s.to_string());
    Ok(())
}

/// `unique-id-header NAME`.
pub fn unique_id_header(p: &mut Proxy, l: &mut Line) -> R {
    p.unique_id_header = Some(header_name("unique-id-header", l)?);
    Ok(())
}

/// `http-send-name-header NAME` (HAProxy requires the name).
pub fn http_send_name_header(p: &mut Proxy, l: &mut Line) -> R {
    p.http_send_name_header = Some(header_name("http-send-name-header", l)?);
    Ok(())
}

/// The one argument of `keyword`, a header name.
fn header_name(keyword: &str, l: &mut Line) -> Result<String, String> {
    let name = l.one("a header name")?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(format!("'{keyword}' expects a header name, got '{name}'"));
    }
    Ok(name.to_string())
}

pub fn monitor_uri(p: &mut Proxy, l: &mut Line) -> R {
    let uri = l.one("a URI")?;
    if !uri.starts_with('/') && !uri.contains("://") {
        return Err(format!(
            "'monitor-uri' expects a URI starting with '/', got '{uri}'"
        ));
    }
    p.monitor_uri = Some(uri.to_string());
    Ok(())
}

pub fn monitor_fail(p: &mut Proxy, l: &mut Line) -> R {
    match condition(l, "monitor fail", l.args)? {
        Some(c) => p.monitor_fail.push(c),
        None => {
            return Err("'monitor fail' expects 'if' or 'unless' followed by a condition".into())
        }
    }
    Ok(())
}

pub fn stick_table(p: &mut Proxy, l: &mut Line) -> R {
    if p.stick_table.is_some() {
        return Err(format!(
            "stick-table name '{}' conflicts with the table already declared in this proxy",
            p.name
        ));
    }
    let mut t = super::model::StickTable::parse(l.args)?;
    t.origin = l.origin.clone();
    p.stick_table = Some(t);
    Ok(())
}

/// `stick on|match|store-request EXPR [table T] [if|unless COND]`: the
/// words, with the kind first, for the rules layer.
pub fn stick_rule(p: &mut Proxy, l: &mut Line) -> R {
    let kind = l.kw.strip_prefix("stick ").unwrap_or(l.kw);
    if l.args.is_empty() {
        return Err(format!("'{}' expects a sample expression", l.kw));
    }
    let mut words = vec![kind.to_string()];
    words.extend(l.args.iter().cloned());
    p.stick.push(Words {
        words,
        origin: l.origin.clone(),
    });
    Ok(())
}

pub fn tcp_request_connection(p: &mut Proxy, l: &mut Line) -> R {
    p.tcp_request_connection.push(rule_words(l, "an action")?);
    Ok(())
}

pub fn tcp_request_content(p: &mut Proxy, l: &mut Line) -> R {
    p.tcp_request_content.push(rule_words(l, "an action")?);
    Ok(())
}

pub fn tcp_request_inspect_delay(p: &mut Proxy, l: &mut Line) -> R {
    p.tcp_request_inspect_delay = Some(parse_duration(
        "tcp-request inspect-delay",
        l.one("a time value")?,
    )?);
    Ok(())
}

/// `capture request|response header NAME len N`.
pub fn capture(p: &mut Proxy, l: &mut Line) -> R {
    let response = l.kw == "capture response";
    let [h, name, len_kw, len] = l.args else {
        return Err(format!("'{}' expects 'header NAME len LENGTH'", l.kw));
    };
    if h != "header" || len_kw != "len" {
        return Err(format!("'{}' expects 'header NAME len LENGTH'", l.kw));
    }
    let len = parse_u32(&format!("{} len", l.kw), len)?;
    if len == 0 {
        return Err(format!("'{}': 'len' must be at least 1", l.kw));
    }
    p.capture.push(Capture {
        response,
        header: Some(name.clone()),
        len,
    });
    Ok(())
}

/// `declare capture request|response len N`: a slot for `http-request|response
/// capture ... id N`.
pub fn declare_capture(p: &mut Proxy, l: &mut Line) -> R {
    let response = match l.args.first().map(String::as_str) {
        Some("request") => false,
        Some("response") => true,
        _ => {
            return Err("'declare capture' expects 'request' or 'response' and 'len LENGTH'".into())
        }
    };
    let len = match &l.args[1..] {
        [k, n] if k == "len" => parse_u32("declare capture len", n)?,
        _ => {
            return Err("'declare capture' expects 'request' or 'response' and 'len LENGTH'".into())
        }
    };
    p.capture.push(Capture {
        response,
        header: None,
        len,
    });
    Ok(())
}

/// `force-persist` and `ignore-persist`: a condition is required.
pub fn persist_rule(p: &mut Proxy, l: &mut Line) -> R {
    let Some(c) = condition(l, l.kw, l.args)? else {
        return Err(format!(
            "'{}' expects 'if' or 'unless' followed by a condition",
            l.kw
        ));
    };
    if l.kw == "force-persist" {
        p.force_persist.push(c);
    } else {
        p.ignore_persist.push(c);
    }
    Ok(())
}

/// `errorfiles NAME [CODE...]`: checked against the sections when the whole
/// file is read (a section may come later).
pub fn errorfiles(p: &mut Proxy, l: &mut Line) -> R {
    let Some((_, codes)) = l.args.split_first() else {
        return Err("'errorfiles' expects the name of an 'http-errors' section".into());
    };
    for c in codes {
        c.parse::<u16>()
            .ok()
            .filter(|c| ERRORFILE_CODES.contains(c))
            .ok_or_else(|| format!("'errorfiles': status code '{c}' cannot be customized (expected one of {ERRORFILE_CODES:?})"))?;
    }
    p.errorfiles.push(rule_words(l, "a section name")?);
    Ok(())
}

/// `http-error status CODE ...`: parsed with the rules' answers (src/rules).
pub fn http_error(p: &mut Proxy, l: &mut Line) -> R {
    p.http_error
        .push(rule_words(l, "'status CODE' and the answer")?);
    Ok(())
}

pub fn acl(p: &mut Proxy, l: &mut Line) -> R {
    if l.args.len() < 2 {
        return Err("'acl' expects a name and a criterion".into());
    }
    p.acl.push(rule_words(l, "a name and a criterion")?);
    Ok(())
}

pub fn http_request(p: &mut Proxy, l: &mut Line) -> R {
    p.http_request.push(rule_words(l, "an action")?);
    Ok(())
}

pub fn http_response(p: &mut Proxy, l: &mut Line) -> R {
    p.http_response.push(rule_words(l, "an action")?);
    Ok(())
}

pub fn http_after_response(p: &mut Proxy, l: &mut Line) -> R {
    p.http_after_response.push(rule_words(l, "an action")?);
    Ok(())
}

pub fn redirect(p: &mut Proxy, l: &mut Line) -> R {
    p.redirect.push(rule_words(
        l,
        "'location', 'prefix' or 'scheme' and a value",
    )?);
    Ok(())
}

pub fn cookie(p: &mut Proxy, l: &mut Line) -> R {
    let Some((name, rest)) = l.args.split_first() else {
        return Err("'cookie' expects a cookie name".into());
    };
    let mut c = Cookie {
        name: name.clone(),
        method: None,
        indirect: false,
        nocache: false,
        postonly: false,
        preserve: false,
        httponly: false,
        secure: false,
        domain: Vec::new(),
        maxidle: None,
        maxlife: None,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let method = match a.as_str() {
            "rewrite" => Some(CookieMethod::Rewrite),
            "insert" => Some(CookieMethod::Insert),
            "prefix" => Some(CookieMethod::Prefix),
            _ => None,
        };
        if let Some(m) = method {
            if c.method.is_some_and(|old| old != m) {
                return Err(
                    "'cookie': only one of 'rewrite', 'insert' or 'prefix' may be given".into(),
                );
            }
            c.method = Some(m);
            continue;
        }
        match a.as_str() {
            "indirect" => c.indirect = true,
            "nocache" => c.nocache = true,
            "postonly" => c.postonly = true,
            "preserve" => c.preserve = true,
            "httponly" => c.httponly = true,
            "secure" => c.secure = true,
            "domain" => c.domain.push(
                it.next()
                    .ok_or("'cookie domain' expects a domain name")?
                    .clone(),
            ),
            "maxidle" | "maxlife" => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("'cookie {a}' expects a time"))?;
                let d = parse_duration(&format!("cookie {a}"), v)?;
                if a == "maxidle" {
                    c.maxidle = Some(d);
                } else {
                    c.maxlife = Some(d);
                }
            }
            other => {
                return Err(format!(
                "'cookie': unknown option '{other}' (expected rewrite, insert, prefix, indirect, \
                     nocache, postonly, preserve, httponly, secure, domain, maxidle or maxlife)"
            ))
            }
        }
    }
    if c.postonly && c.method != Some(CookieMethod::Insert) {
        return Err("'cookie': 'postonly' only makes sense with 'insert'".into());
    }
    p.cookie = Some(c);
    Ok(())
}

/// Status codes `errorfile` may replace (HAProxy's list).
pub const ERRORFILE_CODES: [u16; 17] = [
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
];

pub fn errorfile(p: &mut Proxy, l: &mut Line) -> R {
    let [code, file] = l.args else {
        return Err("'errorfile' expects a status code and a file name".into());
    };
    let n: u16 = code
        .parse()
        .ok()
        .filter(|c| ERRORFILE_CODES.contains(c))
        .ok_or_else(|| {
            format!("'errorfile': status code '{code}' cannot be customized (expected one of {ERRORFILE_CODES:?})")
        })?;
    p.errorfile.insert(n, PathBuf::from(file));
    if let Some(at) = &l.origin.0 {
        p.origins.0.insert(format!("errorfile {n}"), at.clone());
    }
    Ok(())
}

/// `log-format STRING`: the access-log line; like `option httplog`, the
/// last of them wins. The string is compiled with the proxy's rules.
pub fn log_format(p: &mut Proxy, l: &mut Line) -> R {
    let s = l.one("a log-format string (quote it when it has spaces)")?;
    p.option.log_format = Some(AccessLog::Custom(s.to_string()));
    Ok(())
}

pub fn option_httpslog(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    p.option.log_format = Some(AccessLog::Httpslog);
    Ok(())
}

pub fn option_httplog(p: &mut Proxy, l: &mut Line) -> R {
    p.option.log_format = Some(match l.args {
        [] => AccessLog::Httplog,
        [c] if c == "clf" => AccessLog::HttplogClf,
        [a, ..] => return Err(format!("'option httplog' accepts only 'clf', got '{a}'")),
    });
    Ok(())
}

/// `option tcp-check`: the last check option wins, as in HAProxy.
pub fn set_tcp_check(o: &mut Options, on: bool) {
    o.tcp_check = on;
    if on {
        o.httpchk = None;
        o.protocol_check = None;
    }
}

pub fn set_tcplog(o: &mut Options, on: bool) {
    if on {
        o.log_format = Some(AccessLog::Tcplog);
    } else if o.log_format == Some(AccessLog::Tcplog) {
        o.log_format = None;
    }
}

fn set_connection(o: &mut Options, mode: HttpConnection, on: bool) {
    if on {
        o.http_connection = mode;
    } else if o.http_connection == mode {
        o.http_connection = HttpConnection::KeepAlive;
    }
}

pub fn set_http_server_close(o: &mut Options, on: bool) {
    set_connection(o, HttpConnection::ServerClose, on)
}
pub fn set_httpclose(o: &mut Options, on: bool) {
    set_connection(o, HttpConnection::Close, on)
}
pub fn set_http_keep_alive(o: &mut Options, on: bool) {
    set_connection(o, HttpConnection::KeepAlive, on)
}

pub fn option_forwardfor(p: &mut Proxy, l: &mut Line) -> R {
    let w = address_header_words("forwardfor", l.args, true)?;
    p.option.forwardfor = Some(ForwardFor {
        except: w.except,
        header: w.header.unwrap_or_else(|| DEFAULT_XFF.to_string()),
        if_none: w.if_none,
    });
    Ok(())
}

/// `option originalto [except NET] [header NAME]`.
pub fn option_originalto(p: &mut Proxy, l: &mut Line) -> R {
    use crate::config::model::{OriginalTo, DEFAULT_XOT};
    let w = address_header_words("originalto", l.args, false)?;
    p.option.originalto = Some(OriginalTo {
        except: w.except,
        header: w.header.unwrap_or_else(|| DEFAULT_XOT.to_string()),
    });
    Ok(())
}

/// The words of `option forwardfor` / `option originalto`.
struct AddressHeaderWords {
    except: Option<ipnet::IpNet>,
    header: Option<String>,
    if_none: bool,
}

/// Reads `[except NET] [header NAME]` (and `if-none` when `if_none_ok`)
/// for `option NAME`.
fn address_header_words(
    name: &str,
    args: &[String],
    if_none_ok: bool,
) -> Result<AddressHeaderWords, String> {
    let mut w = AddressHeaderWords {
        except: None,
        header: None,
        if_none: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "except" => {
                let net = it.next().ok_or_else(|| {
                    format!("'option {name} except' expects a network (e.g. 127.0.0.0/8)")
                })?;
                w.except =
                    Some(parse_net(net).map_err(|e| format!("'option {name} except': {e}"))?);
            }
            "header" => {
                let h = it
                    .next()
                    .ok_or_else(|| format!("'option {name} header' expects a header name"))?;
                if h.is_empty() || !is_token(h) {
                    return Err(format!("'option {name} header': invalid header name '{h}'"));
                }
                w.header = Some(h.clone());
            }
            "if-none" if if_none_ok => w.if_none = true,
            other => {
                let expected = if if_none_ok {
                    "except, header or if-none"
                } else {
                    "except or header"
                };
                return Err(format!(
                    "'option {name}': unknown parameter '{other}' (expected {expected})"
                ));
            }
        }
    }
    Ok(w)
}

/// A network `10.0.0.0/8`, or a single address standing for its /32 or /128.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Ok(n.trunc());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip.into());
    }
    // HAProxy also takes a dotted netmask: 10.0.0.0/255.0.0.0.
    if let Some((a, m)) = s.split_once('/') {
        if let (Ok(ip), Ok(IpAddr::V4(mask))) = (a.parse::<IpAddr>(), m.parse::<IpAddr>()) {
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() == 32 {
                return ipnet::IpNet::new(ip, bits.leading_ones() as u8)
                    .map(|n| n.trunc())
                    .map_err(|e| e.to_string());
            }
        }
    }
    Err(format!(
        "invalid network '{s}' (expected ADDR[/PREFIX], e.g. 127.0.0.0/8)"
    ))
}

pub fn option_httpchk(p: &mut Proxy, l: &mut Line) -> R {
    let mut chk = HttpChk::default();
    match l.args {
        [] => {}
        [uri] => chk.uri = uri.clone(),
        [meth, uri] => {
            chk.method = meth.clone();
            chk.uri = uri.clone();
        }
        [meth, uri, ver] => {
            chk.method = meth.clone();
            chk.uri = uri.clone();
            // The old way to add headers: "HTTP/1.1\r\nHost:\ example.com".
            let mut parts = ver.split("\r\n");
            chk.version = parts.next().unwrap_or_default().to_string();
            for h in parts.filter(|h| !h.is_empty()) {
                let (n, v) = h.split_once(':').ok_or_else(|| {
                    format!("'option httpchk': header '{h}' after the version has no ':'")
                })?;
                chk.headers
                    .push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        [_, _, _, extra, ..] => {
            return Err(format!(
                "'option httpchk' expects at most METHOD URI VERSION, got extra argument '{extra}'"
            ))
        }
    }
    for (what, v) in [
        ("method", &chk.method),
        ("uri", &chk.uri),
        ("version", &chk.version),
    ] {
        if v.is_empty()
            || v.bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(format!(
                "'option httpchk': invalid {what} '{}'",
                v.escape_debug()
            ));
        }
    }
    p.option.httpchk = Some(chk);
    p.option.tcp_check = false;
    p.option.protocol_check = None;
    Ok(())
}

pub fn option_redispatch(p: &mut Proxy, l: &mut Line) -> R {
    // `option redispatch [interval]`: every Pth retry (P > 0), the Nth
    // before the last (-N), or never (0, which HAProxy reads as off).
    let interval = match l.args {
        [] => None,
        [n] => match n.parse::<i32>() {
            Ok(-1) => None,
            Ok(v) => Some(v),
            Err(_) => {
                return Err(format!(
                    "'option redispatch {n}': the interval must be an integer (every Pth retry, or -N: the Nth before the last)"
                ))
            }
        },
        [_, extra, ..] => return Err(format!("'option redispatch' got extra argument '{extra}'")),
    };
    p.option.redispatch = interval != Some(0);
    p.option.redispatch_interval = interval.filter(|&v| v != 0);
    Ok(())
}

macro_rules! timeout_kw {
    ($($fn:ident => $field:ident, $kw:literal;)*) => {$(
        pub fn $fn(p: &mut Proxy, l: &mut Line) -> R {
            p.timeout.$field = Some(parse_duration($kw, l.one("a time value (e.g. 30s)")?)?);
            Ok(())
        }
    )*};
}
timeout_kw! {
    timeout_client => client, "timeout client";
    timeout_client_fin => client_fin, "timeout client-fin";
    timeout_server => server, "timeout server";
    timeout_server_fin => server_fin, "timeout server-fin";
    timeout_connect => connect, "timeout connect";
    timeout_queue => queue, "timeout queue";
    timeout_http_request => http_request, "timeout http-request";
    timeout_http_keep_alive => http_keep_alive, "timeout http-keep-alive";
    timeout_check => check, "timeout check";
    timeout_tunnel => tunnel, "timeout tunnel";
    timeout_tarpit => tarpit, "timeout tarpit";
}

pub fn stats_enable(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    p.stats.enable = true;
    Ok(())
}

pub fn stats_uri(p: &mut Proxy, l: &mut Line) -> R {
    let uri = l.one("a URI prefix (e.g. /stats)")?;
    if uri.is_empty()
        || uri
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(format!("'stats uri': invalid URI '{}'", uri.escape_debug()));
    }
    p.stats.uri = Some(uri.to_string());
    p.stats.enable = true;
    Ok(())
}

pub fn stats_realm(p: &mut Proxy, l: &mut Line) -> R {
    let realm = l.one("a realm (write spaces as '\\ ')")?;
    if realm.contains('"') || realm.bytes().any(|b| b.is_ascii_control()) {
        return Err("'stats realm': a realm may not contain quotes or control characters".into());
    }
    p.stats.realm = Some(realm.to_string());
    p.stats.enable = true;
    Ok(())
}

pub fn stats_auth(p: &mut Proxy, l: &mut Line) -> R {
    let a = l.one("USER:PASSWORD")?;
    let (user, password) = a
        .split_once(':')
        .ok_or_else(|| format!("'stats auth' expects USER:PASSWORD, got '{a}' (no ':')"))?;
    if user.is_empty() {
        return Err("'stats auth': empty user name".into());
    }
    p.stats.auth.push(Credentials {
        user: user.to_string(),
        password: password.to_string(),
    });
    p.stats.enable = true;
    Ok(())
}

pub fn stats_refresh(p: &mut Proxy, l: &mut Line) -> R {
    p.stats.refresh = Some(parse_duration(
        "stats refresh",
        l.one("a time value (e.g. 10s)")?,
    )?);
    p.stats.enable = true;
    Ok(())
}

pub fn stats_admin(p: &mut Proxy, l: &mut Line) -> R {
    if l.args.is_empty() {
        return Err("'stats admin' expects a condition: 'if' or 'unless' followed by ACLs (e.g. 'stats admin if TRUE')".into());
    }
    p.stats.admin = condition(l, "stats admin", l.args)?;
    Ok(())
}

pub fn stats_hide_version(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    p.stats.hide_version = true;
    p.stats.enable = true;
    Ok(())
}

/// `stats show-node [NAME]`: an empty name stands for the host name.
pub fn stats_show_node(p: &mut Proxy, l: &mut Line) -> R {
    p.stats.show_node = Some(match l.args {
        [] => String::new(),
        [n] => n.clone(),
        [_, extra, ..] => {
            return Err(format!(
                "'stats show-node' takes one name, got extra '{extra}'"
            ))
        }
    });
    p.stats.enable = true;
    Ok(())
}

/// `stats show-desc [TEXT...]`.
pub fn stats_show_desc(p: &mut Proxy, l: &mut Line) -> R {
    p.stats.show_desc = Some(l.args.join(" "));
    p.stats.enable = true;
    Ok(())
}

/// `stats scope NAME`: one proxy the page shows (repeatable).
pub fn stats_scope(p: &mut Proxy, l: &mut Line) -> R {
    let name = l.one("a proxy name, or '.' for this one")?;
    p.stats.scope.push(name.to_string());
    p.stats.enable = true;
    Ok(())
}

/// `stats http-request ACTION [realm R] [if|unless COND]`.
pub fn stats_http_request(p: &mut Proxy, l: &mut Line) -> R {
    match l.args.first().map(String::as_str) {
        Some("allow" | "deny" | "auth") => {}
        Some(other) => {
            return Err(format!(
                "'stats http-request' expects 'allow', 'deny' or 'auth', got '{other}'"
            ))
        }
        None => return Err("'stats http-request' expects 'allow', 'deny' or 'auth'".into()),
    }
    p.stats.http_request.push(rule_words(l, "an action")?);
    p.stats.enable = true;
    Ok(())
}

pub fn stats_show_legends(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    p.stats.show_legends = true;
    p.stats.enable = true;
    Ok(())
}

/// `tcp-check ACTION ...`: one rule of the sequence `option tcp-check`
/// runs. Options fulcrum does not act on yet are refused by name.
pub fn tcp_check(p: &mut Proxy, l: &mut Line) -> R {
    use super::model::{TcpCheckExpect, TcpCheckMatch, TcpCheckRule};
    let not_yet = |what: &str| -> String {
        format!("'tcp-check {what}' is not supported by fulcrum yet (HAProxy 2.6 accepts it)")
    };
    let Some((action, rest)) = l.args.split_first() else {
        return Err(
            "'tcp-check' expects an action: connect, send, send-binary, expect or comment".into(),
        );
    };
    let rule = match action.as_str() {
        "comment" => TcpCheckRule::Comment(rest.join(" ")),
        "send" => match rest {
            [data] => TcpCheckRule::Send(data.clone()),
            [_, opt, ..] => return Err(not_yet(&format!("send ... {opt}"))),
            [] => return Err("'tcp-check send' expects the data to send".into()),
        },
        "send-binary" => {
            match rest {
                [hex] => {
                    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("'tcp-check send-binary' expects hexadecimal digits in pairs, got '{hex}'"));
                    }
                    TcpCheckRule::SendBinary(hex.clone())
                }
                [_, opt, ..] => return Err(not_yet(&format!("send-binary ... {opt}"))),
                [] => return Err("'tcp-check send-binary' expects hexadecimal data".into()),
            }
        }
        "connect" => {
            TcpCheckRule::Connect(super::check_kw::connect_options("tcp-check connect", rest)?)
        }
        "expect" => {
            let mut it = rest.iter().peekable();
            let (mut negate, mut min_recv) = (false, None);
            let mut report = super::model::ExpectReport::default();
            let mut matcher = None;
            while let Some(w) = it.next() {
                match w.as_str() {
                    "min-recv" => {
                        let v = it
                            .next()
                            .ok_or("'tcp-check expect min-recv' expects a number")?;
                        min_recv = Some(super::args::parse_u32("tcp-check expect min-recv", v)?);
                    }
                    "!" => negate = true,
                    opt @ ("comment" | "ok-status" | "error-status" | "tout-status"
                    | "on-success" | "on-error" | "status-code") => {
                        let v = it
                            .next()
                            .ok_or_else(|| format!("'tcp-check expect {opt}' expects a value"))?;
                        super::check_kw::expect_report_option(&mut report, opt, v)?;
                    }
                    // `!string` as well as `! string`, as HAProxy reads them.
                    m @ ("string" | "rstring" | "binary" | "rbinary" | "!string" | "!rstring"
                    | "!binary" | "!rbinary") => {
                        let m = match m.strip_prefix('!') {
                            Some(rest) => {
                                negate = true;
                                rest
                            }
                            None => m,
                        };
                        if matcher.is_some() {
                            return Err(format!("'tcp-check expect': a second match '{m}'"));
                        }
                        let pattern = it
                            .next()
                            .ok_or_else(|| format!("'tcp-check expect {m}' expects a pattern"))?;
                        let kind = match m {
                            "string" => TcpCheckMatch::String,
                            "rstring" => TcpCheckMatch::Rstring,
                            "binary" => TcpCheckMatch::Binary,
                            _ => TcpCheckMatch::Rbinary,
                        };
                        if kind == TcpCheckMatch::Binary
                            && (pattern.len() % 2 != 0
                                || !pattern.bytes().all(|b| b.is_ascii_hexdigit()))
                        {
                            return Err(format!(
                                "'tcp-check expect binary' expects hexadecimal digits in pairs, got '{pattern}'"
                            ));
                        }
                        // Options may also follow the pattern.
                        matcher = Some((kind, pattern.clone()));
                    }
                    other => return Err(not_yet(&format!("expect {other}"))),
                }
            }
            let Some((matcher, pattern)) = matcher else {
                return Err(
                    "'tcp-check expect' expects string, rstring, binary or rbinary and a pattern"
                        .into(),
                );
            };
            TcpCheckRule::Expect(TcpCheckExpect {
                negate,
                min_recv,
                matcher,
                pattern,
                report,
            })
        }
        other @ ("send-lf" | "set-var" | "unset-var") => return Err(not_yet(other)),
        other => {
            return Err(format!(
                "'tcp-check' expects connect, send, send-binary, expect or comment, got '{other}'"
            ))
        }
    };
    p.tcp_check.push(rule);
    Ok(())
}

/// `http-check disable-on-404`.
/// `http-check send-state`: checks carry an X-Haproxy-Server-State header.
pub fn http_check_send_state(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    p.http_check_send_state = true;
    Ok(())
}

pub fn http_check_disable_on_404(p: &mut Proxy, l: &mut Line) -> R {
    l.none()?;
    p.http_check_disable_on_404 = true;
    Ok(())
}

pub fn http_check_send(p: &mut Proxy, l: &mut Line) -> R {
    super::check_kw::http_check_send_allowed(p)?;
    let mut s = HttpCheckSend::default();
    let mut it = l.args.iter();
    let value = |it: &mut std::slice::Iter<String>, k: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("'http-check send {k}' expects a value"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "meth" => s.meth = Some(value(&mut it, "meth")?),
            "uri" => s.uri = Some(value(&mut it, "uri")?),
            "ver" => s.ver = Some(value(&mut it, "ver")?),
            "body" => s.body = Some(value(&mut it, "body")?),
            "hdr" => {
                let n = value(&mut it, "hdr")?;
                let v = it
                    .next()
                    .cloned()
                    .ok_or("'http-check send hdr' expects a name and a value")?;
                if !is_token(&n) || n.is_empty() {
                    return Err(format!("'http-check send hdr': invalid header name '{n}'"));
                }
                s.hdr.push((n, v));
            }
            other => {
                return Err(format!(
                    "'http-check send': unknown parameter '{other}' (expected meth, uri, ver, hdr or body)"
                ))
            }
        }
    }
    p.http_check.push(HttpCheckRule::Send(s));
    Ok(())
}

pub fn http_check_expect(p: &mut Proxy, l: &mut Line) -> R {
    super::check_kw::http_check_expect_allowed(p)?;
    let (negate, rest) = match l.args.split_first() {
        Some((b, r)) if b == "!" => (true, r),
        _ => (false, l.args),
    };
    if let Some((word, args)) = rest.split_first() {
        if word == "hdr" || word == "fhdr" {
            let e = super::check_kw::header_expect(negate, word, args)
                .map_err(|e| format!("'http-check expect' : {e}"))?;
            p.http_check.push(HttpCheckRule::Expect(e));
            return Ok(());
        }
    }
    // `comment TEXT` may follow the pattern.
    let (rest, comment) = match rest {
        [head @ .., c, text] if c == "comment" && head.len() == 2 => (head, Some(text.clone())),
        _ => (rest, None),
    };
    let [m, pattern] = rest else {
        return Err("'http-check expect' expects [!] status|rstatus|string|rstring PATTERN [comment TEXT], or [!] hdr|fhdr name ...".into());
    };
    let matcher = ExpectMatch::ALL
        .iter()
        .find(|(n, _)| n == m)
        .map(|(_, x)| *x)
        .ok_or_else(|| {
            format!("'http-check expect': unknown match '{m}' (expected status, rstatus, string, rstring, hdr or fhdr)")
        })?;
    match matcher {
        ExpectMatch::Status => {
            super::model::parse_status_list(pattern)
                .map_err(|e| format!("'http-check expect status': {e}"))?;
        }
        ExpectMatch::Rstatus | ExpectMatch::Rstring => {
            regex::Regex::new(pattern).map_err(|e| {
                format!("'http-check expect {m}': invalid regular expression '{pattern}': {e}")
            })?;
        }
        ExpectMatch::String | ExpectMatch::Hdr | ExpectMatch::Fhdr => {}
    }
    p.http_check.push(HttpCheckRule::Expect(HttpCheckExpect {
        comment,
        negate,
        matcher,
        pattern: pattern.clone(),
        header: None,
    }));
    Ok(())
}
