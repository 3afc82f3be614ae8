//! Parsers of the `global` section's keywords.

use std::path::PathBuf;

use super::args::{parse_duration, parse_log, parse_u32};
use super::keywords::Line;
use super::model::{Global, StatsLevel, StatsSocket};

type R = Result<(), String>;

pub fn log(g: &mut Global, l: &mut Line) -> R {
    let t = parse_log("log", l.args)?;
    if t == super::model::LogTarget::Global {
        return Err("'log global' is only meaningful in a proxy or defaults section".into());
    }
    g.log.push(t);
    Ok(())
}

pub fn maxconn(g: &mut Global, l: &mut Line) -> R {
    g.maxconn = Some(parse_u32("maxconn", l.one("a number of connections")?)?);
    Ok(())
}

pub fn nbthread(g: &mut Global, l: &mut Line) -> R {
    let n = parse_u32("nbthread", l.one("a number of threads")?)?;
    if !(1..=4096).contains(&n) {
        return Err(format!("'nbthread' must be between 1 and 4096, got {n}"));
    }
    g.nbthread = Some(n);
    Ok(())
}

pub fn daemon(g: &mut Global, l: &mut Line) -> R {
    l.none()?;
    g.daemon = true;
    Ok(())
}

/// `zero-warning`.
pub fn zero_warning(g: &mut Global, l: &mut Line) -> R {
    l.none()?;
    g.zero_warning = true;
    Ok(())
}

/// `master-worker [no-exit-on-failure]`: as `-W`. fulcrum's master always
/// leaves when a worker dies (HAProxy's default).
pub fn master_worker(g: &mut Global, l: &mut Line) -> R {
    match l.args {
        [] => {}
        [o] if o == "no-exit-on-failure" => {
            return Err("'master-worker no-exit-on-failure' is not supported: fulcrum's master leaves when its worker dies, so that the supervisor restarts both".into())
        }
        [o, ..] => return Err(format!("'master-worker': unknown option '{o}'")),
    }
    g.master_worker = true;
    Ok(())
}

pub fn pidfile(g: &mut Global, l: &mut Line) -> R {
    g.pidfile = Some(PathBuf::from(l.one("a file name")?));
    Ok(())
}

pub fn stats_socket(g: &mut Global, l: &mut Line) -> R {
    let Some((addr, params)) = l.args.split_first() else {
        return Err("'stats socket' expects a path or an address".into());
    };
    check_cli_address(addr)?;
    let mut s = StatsSocket {
        address: addr.clone(),
        mode: None,
        uid: None,
        gid: None,
        user: None,
        group: None,
        level: None,
        params: Vec::new(),
    };
    let mut it = params.iter();
    let value = |it: &mut std::slice::Iter<String>, k: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("'stats socket' parameter '{k}' expects a value"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "mode" => {
                let v = value(&mut it, "mode")?;
                s.mode = Some(u32::from_str_radix(&v, 8).map_err(|_| {
                    format!("'stats socket mode' expects an octal mode, got '{v}'")
                })?);
            }
            "uid" => s.uid = Some(parse_u32("stats socket uid", &value(&mut it, "uid")?)?),
            "gid" => s.gid = Some(parse_u32("stats socket gid", &value(&mut it, "gid")?)?),
            "user" => s.user = Some(value(&mut it, "user")?),
            "group" => s.group = Some(value(&mut it, "group")?),
            "level" => {
                s.level = Some(match value(&mut it, "level")?.as_str() {
                    "user" => StatsLevel::User,
                    "operator" => StatsLevel::Operator,
                    "admin" => StatsLevel::Admin,
                    other => {
                        return Err(format!(
                            "'stats socket level' expects user, operator or admin, got '{other}'"
                        ))
                    }
                })
            }
            "expose-fd" => {
                let v = value(&mut it, "expose-fd")?;
                if v != "listeners" {
                    return Err(format!(
                        "'stats socket expose-fd' expects 'listeners', got '{v}'"
                    ));
                }
                l.warnings.push(format!(
                    "'stats socket {addr} expose-fd listeners' is ignored: fulcrum reloads in-process (SIGHUP) and never hands its listening sockets to another process"
                ));
                s.params.extend([a.clone(), v]);
            }
            "process" | "thread" => {
                let v = value(&mut it, a)?;
                l.warnings.push(format!(
                    "'stats socket {addr} {a} {v}' is ignored: the runtime API is served by fulcrum's control thread"
                ));
                s.params.extend([a.clone(), v]);
            }
            other => {
                return Err(format!(
                    "'stats socket {addr}': unknown parameter '{other}' (supported: mode, uid, gid, user, group, level, expose-fd listeners)"
                ))
            }
        }
    }
    g.stats_socket.push(s);
    Ok(())
}

/// The address forms the runtime API listens on: a UNIX socket path
/// (`unix@` optional), or `ipv4@`/`ipv6@` host:port.
fn check_cli_address(addr: &str) -> R {
    match crate::util::addr::CliAddr::parse(addr) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("'stats socket': {e}")),
    }
}

pub fn stats_maxconn(g: &mut Global, l: &mut Line) -> R {
    let n = parse_u32("stats maxconn", l.one("a number of connections")?)?;
    if n == 0 {
        return Err("'stats maxconn' must be at least 1".into());
    }
    g.stats_maxconn = Some(n);
    Ok(())
}

pub fn stats_timeout(g: &mut Global, l: &mut Line) -> R {
    g.stats_timeout = Some(parse_duration("stats timeout", l.one("a time value")?)?);
    Ok(())
}

pub fn hard_stop_after(g: &mut Global, l: &mut Line) -> R {
    g.hard_stop_after = Some(parse_duration("hard-stop-after", l.one("a time value")?)?);
    Ok(())
}

pub fn tune_bufsize(g: &mut Global, l: &mut Line) -> R {
    let n = parse_u32("tune.bufsize", l.one("a size in bytes")?)?;
    if n < 1024 {
        return Err(format!("'tune.bufsize' must be at least 1024, got {n}"));
    }
    g.tune_bufsize = Some(n);
    Ok(())
}

pub fn maxpipes(g: &mut Global, l: &mut Line) -> R {
    g.maxpipes = Some(parse_u32("maxpipes", l.one("a number of pipes")?)?);
    Ok(())
}

pub fn tune_pipesize(g: &mut Global, l: &mut Line) -> R {
    g.tune_pipesize = Some(parse_u32("tune.pipesize", l.one("a size in bytes")?)?);
    Ok(())
}

pub fn nosplice(g: &mut Global, l: &mut Line) -> R {
    l.none()?;
    g.nosplice = true;
    Ok(())
}

pub fn tune_http_maxhdr(g: &mut Global, l: &mut Line) -> R {
    let n = parse_u32("tune.http.maxhdr", l.one("a number of headers")?)?;
    if !(1..=32767).contains(&n) {
        return Err(format!(
            "'tune.http.maxhdr' must be between 1 and 32767, got {n}"
        ));
    }
    g.tune_http_maxhdr = Some(n);
    Ok(())
}

pub fn tune_maxrewrite(g: &mut Global, l: &mut Line) -> R {
    g.tune_maxrewrite = Some(parse_u32("tune.maxrewrite", l.one("a size in bytes")?)?);
    Ok(())
}

pub fn ca_base(g: &mut Global, l: &mut Line) -> R {
    g.ca_base = Some(PathBuf::from(l.one("a directory")?));
    Ok(())
}

pub fn crt_base(g: &mut Global, l: &mut Line) -> R {
    g.crt_base = Some(PathBuf::from(l.one("a directory")?));
    Ok(())
}

pub fn ssl_default_bind_ciphers(g: &mut Global, l: &mut Line) -> R {
    g.ssl_default_bind_ciphers = Some(l.one("a cipher list")?.to_string());
    Ok(())
}

pub fn ssl_default_bind_ciphersuites(g: &mut Global, l: &mut Line) -> R {
    g.ssl_default_bind_ciphersuites = Some(l.one("a ciphersuite list")?.to_string());
    Ok(())
}

pub fn ssl_default_bind_options(g: &mut Global, l: &mut Line) -> R {
    if l.args.is_empty() {
        return Err("'ssl-default-bind-options' expects at least one option".into());
    }
    g.ssl_default_bind_options = l.args.to_vec();
    Ok(())
}

/// `ssl-server-verify none|required`.
pub fn ssl_server_verify(g: &mut Global, l: &mut Line) -> R {
    g.ssl_server_verify = Some(match l.one("'none' or 'required'")? {
        "none" => super::model::Verify::None,
        "required" => super::model::Verify::Required,
        v => {
            return Err(format!(
                "'ssl-server-verify' expects 'none' or 'required', got '{v}'"
            ))
        }
    });
    Ok(())
}

/// `log-tag NAME`.
/// `node NAME`.
pub fn node(g: &mut Global, l: &mut Line) -> R {
    g.node = Some(l.one("a name")?.to_string());
    Ok(())
}

pub fn localpeer(g: &mut Global, l: &mut Line) -> R {
    g.localpeer = Some(l.one("a peer name")?.to_string());
    Ok(())
}

pub fn log_tag(g: &mut Global, l: &mut Line) -> R {
    g.log_tag = Some(l.one("a tag")?.to_string());
    Ok(())
}

/// `log-send-hostname [NAME]`: the system's host name when none is given.
pub fn log_send_hostname(g: &mut Global, l: &mut Line) -> R {
    g.log_send_hostname = Some(match l.args {
        [] => String::new(),
        [n] => n.clone(),
        _ => return Err("'log-send-hostname' expects at most one host name".into()),
    });
    Ok(())
}

/// `spread-checks PERCENT`, 0 to 50 as in HAProxy.
pub fn spread_checks(g: &mut Global, l: &mut Line) -> R {
    let n = parse_u32("spread-checks", l.one("a percentage")?)?;
    if n > 50 {
        return Err(format!("'spread-checks' must be between 0 and 50, got {n}"));
    }
    g.spread_checks = Some(n);
    Ok(())
}
