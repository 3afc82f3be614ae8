//! The `server` line: `server NAME ADDR[:PORT] [param...]`.

use std::net::IpAddr;
use std::path::PathBuf;

use super::args::{parse_duration, parse_u32};
use super::keywords::Line;
use super::model::{
    Family, InitAddr, ObserveLayer, OnError, Proxy, ResolveOpt, Server, Track, Verify, MAX_WEIGHT,
};
use crate::util::addr::ServerAddr;

/// The server parameters fulcrum knows, for messages.
const SERVER_PARAMS: &str = "check, backup, track, weight, inter, fastinter, downinter, rise, \
                             fall, port, addr, maxconn, disabled, enabled, cookie, ssl, verify, \
                             ca-file, sni, crt, alpn, no-ssl-reuse, check-ssl, check-sni, send-proxy, send-proxy-v2, send-proxy-v2-ssl, send-proxy-v2-ssl-cn, proxy-v2-options, on-marked-down, \
                             on-marked-up, agent-check, agent-port, agent-addr, agent-inter, agent-send, resolvers, slowstart, check-send-proxy, observe, error-limit, on-error, \
                             resolve-prefer, resolve-net, resolve-opts, init-addr, pool-max-conn, pool-purge-delay";

pub fn server(p: &mut Proxy, l: &mut Line) -> Result<(), String> {
    let (name, addr, params) = match l.args {
        [name, addr, params @ ..] => (name, addr, params),
        [_] => {
            return Err("'server' expects a name and an address (server NAME ADDR[:PORT])".into())
        }
        [] => return Err("'server' expects a name and an address".into()),
    };
    if name.is_empty() || name.contains('/') {
        return Err(format!("'server': invalid server name '{name}'"));
    }
    let address: ServerAddr = addr.parse().map_err(|e| format!("'server {name}': {e}"))?;
    let mut s = Server::new(name.clone(), address);
    let mut it = params.iter();
    let value = |it: &mut std::slice::Iter<String>, k: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("'server {name}': '{k}' expects a value"))
    };
    let positive_time = |k: &str, v: &str| {
        let d = parse_duration(&format!("server {name} {k}"), v)?;
        if d.is_zero() {
            return Err(format!("'server {name}': '{k}' must be greater than zero"));
        }
        Ok(d)
    };
    let at_least_one = |k: &str, v: &str| {
        let n = parse_u32(&format!("server {name} {k}"), v)?;
        if n == 0 {
            return Err(format!("'server {name}': '{k}' must be at least 1"));
        }
        Ok(n)
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "check" => s.check = true,
            "no-check" => s.check = false,
            "backup" => s.backup = true,
            "disabled" => s.disabled = true,
            "enabled" => s.disabled = false,
            "ssl" => s.ssl = true,
            "send-proxy" => s.send_proxy = true,
            "send-proxy-v2" => s.send_proxy_v2 = true,
            "send-proxy-v2-ssl" => {
                s.send_proxy_v2 = true;
                s.proxy_v2_options.ssl = true;
            }
            "send-proxy-v2-ssl-cn" => {
                s.send_proxy_v2 = true;
                s.proxy_v2_options.ssl = true;
                s.proxy_v2_options.cert_cn = true;
            }
            "proxy-v2-options" => {
                for name in value(&mut it, "proxy-v2-options")?.split(',') {
                    s.proxy_v2_options.set(name)?;
                }
            }
            "check-send-proxy" => s.check_send_proxy = true,
            "observe" => {
                s.observe = match value(&mut it, "observe")?.as_str() {
                    "none" => None,
                    "layer4" => Some(ObserveLayer::Layer4),
                    "layer7" => Some(ObserveLayer::Layer7),
                    v => {
                        return Err(format!(
                            "'server {name}': 'observe' expects one of 'none', 'layer4', 'layer7' but got '{v}'"
                        ))
                    }
                }
            }
            "error-limit" => {
                let n = parse_u32(&format!("server {name} error-limit"), &value(&mut it, "error-limit")?)?;
                if n == 0 {
                    return Err(format!("'server {name}': error-limit has to be > 0"));
                }
                s.error_limit = Some(n);
            }
            "on-error" => {
                s.on_error = Some(match value(&mut it, "on-error")?.as_str() {
                    "fastinter" => OnError::Fastinter,
                    "fail-check" => OnError::FailCheck,
                    "sudden-death" => OnError::SuddenDeath,
                    "mark-down" => OnError::MarkDown,
                    v => return Err(format!(
                        "'server {name}': 'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '{v}'"
                    )),
                })
            }
            "no-check-send-proxy" => s.check_send_proxy = false,
            "on-marked-down" => match value(&mut it, "on-marked-down")?.as_str() {
                "shutdown-sessions" => s.shutdown_on_down = true,
                v => {
                    return Err(format!(
                        "'server {name}': 'on-marked-down' expects 'shutdown-sessions', got '{v}'"
                    ))
                }
            },
            "on-marked-up" => match value(&mut it, "on-marked-up")?.as_str() {
                "shutdown-backup-sessions" => s.shutdown_backups_on_up = true,
                v => {
                    return Err(format!(
                    "'server {name}': 'on-marked-up' expects 'shutdown-backup-sessions', got '{v}'"
                ))
                }
            },
            "track" => {
                let t = value(&mut it, "track")?;
                s.track = Some(match t.split_once('/') {
                    Some((b, srv)) if !b.is_empty() && !srv.is_empty() => Track {
                        backend: Some(b.to_string()),
                        server: srv.to_string(),
                    },
                    None if !t.is_empty() => Track {
                        backend: None,
                        server: t,
                    },
                    _ => {
                        return Err(format!(
                        "'server {name}': invalid track target '{t}' (expected [BACKEND/]SERVER)"
                    ))
                    }
                });
            }
            "weight" => {
                let v = value(&mut it, "weight")?;
                let w = parse_u32(&format!("server {name} weight"), &v)?;
                if w > MAX_WEIGHT {
                    return Err(format!(
                        "'server {name}': weight {w} is out of range (0-{MAX_WEIGHT})"
                    ));
                }
                s.weight = w;
            }
            "inter" => s.inter = Some(positive_time("inter", &value(&mut it, "inter")?)?),
            "fastinter" => {
                s.fastinter = Some(positive_time("fastinter", &value(&mut it, "fastinter")?)?)
            }
            "downinter" => {
                s.downinter = Some(positive_time("downinter", &value(&mut it, "downinter")?)?)
            }
            "rise" => s.rise = at_least_one("rise", &value(&mut it, "rise")?)?,
            "fall" => s.fall = at_least_one("fall", &value(&mut it, "fall")?)?,
            "port" => {
                let v = value(&mut it, "port")?;
                s.port = Some(v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    format!("'server {name}': invalid port '{v}' (expected 1-65535)")
                })?);
            }
            "addr" => {
                let v = value(&mut it, "addr")?;
                s.addr = Some(v.parse::<IpAddr>().map_err(|_| {
                    format!("'server {name}': invalid check address '{v}' (expected an IP address)")
                })?);
            }
            "maxconn" => {
                s.maxconn = Some(parse_u32(
                    &format!("server {name} maxconn"),
                    &value(&mut it, "maxconn")?,
                )?)
            }
            "cookie" => s.cookie = Some(value(&mut it, "cookie")?),
            "verify" => {
                s.verify = Some(match value(&mut it, "verify")?.as_str() {
                    "none" => Verify::None,
                    "required" => Verify::Required,
                    v => {
                        return Err(format!(
                            "'server {name}': 'verify' expects 'none' or 'required', got '{v}'"
                        ))
                    }
                })
            }
            "ca-file" => s.ca_file = Some(PathBuf::from(value(&mut it, "ca-file")?)),
            "sni" => s.sni = Some(value(&mut it, "sni")?),
            "verifyhost" => s.verifyhost = Some(value(&mut it, "verifyhost")?),
            "check-ssl" => s.check_ssl = true,
            "crt" => s.crt = Some(PathBuf::from(value(&mut it, "crt")?)),
            "alpn" => {
                s.alpn = value(&mut it, "alpn")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "no-ssl-reuse" => s.no_ssl_reuse = true,
            "check-sni" => s.check_sni = Some(value(&mut it, "check-sni")?),
            "agent-check" => s.agent_check = true,
            "no-agent-check" => s.agent_check = false,
            "agent-port" => {
                let v = value(&mut it, "agent-port")?;
                s.agent_port = Some(v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    format!("'server {name}': invalid agent-port '{v}' (expected 1-65535)")
                })?);
            }
            "agent-addr" => {
                let v = value(&mut it, "agent-addr")?;
                s.agent_addr = Some(v.parse::<IpAddr>().map_err(|_| {
                    format!("'server {name}': invalid agent-addr '{v}' (expected an IP address)")
                })?);
            }
            "agent-inter" => {
                s.agent_inter = Some(positive_time(
                    "agent-inter",
                    &value(&mut it, "agent-inter")?,
                )?)
            }
            "agent-send" => s.agent_send = Some(value(&mut it, "agent-send")?),
            "resolvers" => s.resolvers = Some(value(&mut it, "resolvers")?),
            "pool-max-conn" => {
                let v = value(&mut it, "pool-max-conn")?;
                let n: i32 = v.parse().ok().filter(|n| *n >= -1).ok_or_else(|| {
                    format!("'server {name}': 'pool-max-conn' expects -1 (no limit), 0 or a number of connections, got '{v}'")
                })?;
                s.pool_max_conn = Some(n);
            }
            "pool-purge-delay" => {
                s.pool_purge_delay = Some(parse_duration(
                    &format!("server {name} pool-purge-delay"),
                    &value(&mut it, "pool-purge-delay")?,
                )?);
            }
            "slowstart" => {
                let d = parse_duration(
                    &format!("server {name} slowstart"),
                    &value(&mut it, "slowstart")?,
                )?;
                s.slowstart = (!d.is_zero()).then_some(d);
            }
            "resolve-prefer" => {
                s.resolve_prefer = Some(match value(&mut it, "resolve-prefer")?.as_str() {
                    "ipv4" => Family::Ipv4,
                    "ipv6" => Family::Ipv6,
                    v => {
                        return Err(format!(
                            "'server {name}': 'resolve-prefer' expects 'ipv4' or 'ipv6', got '{v}'"
                        ))
                    }
                })
            }
            "resolve-net" => {
                s.resolve_net = list(&value(&mut it, "resolve-net")?, |n| {
                    n.parse::<ipnet::IpNet>().map_err(|_| {
                        format!("'server {name}': 'resolve-net': invalid network '{n}'")
                    })
                })?
            }
            "resolve-opts" => {
                s.resolve_opts = list(&value(&mut it, "resolve-opts")?, |o| {
                    match o {
                    "allow-dup-ip" => Ok(ResolveOpt::AllowDupIp),
                    "prevent-dup-ip" => Ok(ResolveOpt::PreventDupIp),
                    "ignore-weight" => Ok(ResolveOpt::IgnoreWeight),
                    _ => Err(format!(
                        "'server {name}': 'resolve-opts': unknown option '{o}' (expected allow-dup-ip, prevent-dup-ip or ignore-weight)"
                    )),
                }
                })?
            }
            "init-addr" => {
                s.init_addr = list(&value(&mut it, "init-addr")?, |m| {
                    match m {
                    "last" => Ok(InitAddr::Last),
                    "libc" => Ok(InitAddr::Libc),
                    "none" => Ok(InitAddr::None),
                    _ => m.parse::<IpAddr>().map(InitAddr::Ip).map_err(|_| {
                        format!("'server {name}': 'init-addr': unknown method '{m}' (expected last, libc, none or an IP address)")
                    }),
                }
                })?
            }
            other => {
                return Err(format!(
                    "'server {name}': unknown parameter '{other}' (supported: {SERVER_PARAMS})"
                ))
            }
        }
    }
    if s.agent_check && s.agent_port.is_none() && l.kw != "default-server" {
        return Err(format!(
            "'server {name}': 'agent-check' needs 'agent-port' (where the agent answers)"
        ));
    }
    s.origin = l.origin.clone();
    p.server.push(s);
    Ok(())
}

/// A comma-separated list, each item parsed by `one`; empty items are
/// refused.
fn list<T>(v: &str, one: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.split(',').map(one).collect()
}

/// `server-template PREFIX NUM|LOW-HIGH FQDN[:PORT] [param...]`: the
/// servers PREFIX<LOW> to PREFIX<HIGH>, each as a `server` line with the
/// same address and parameters.
pub fn server_template(p: &mut Proxy, l: &mut Line) -> Result<(), String> {
    let [prefix, range, rest @ ..] = l.args else {
        return Err(
            "'server-template' expects <prefix> <num | range> <fqdn>[:<port>] [params*]".into(),
        );
    };
    if rest.is_empty() {
        return Err(
            "'server-template' expects <prefix> <num | range> <fqdn>[:<port>] [params*]".into(),
        );
    }
    let number = |v: &str| v.parse::<u32>().ok().filter(|n| *n > 0);
    let (low, high) = match range.split_once('-') {
        Some((a, b)) => match (number(a), number(b)) {
            (Some(a), Some(b)) if a <= b => (a, b),
            _ => {
                return Err(format!(
                    "'server-template {prefix}': invalid range '{range}' (expected LOW-HIGH with 0 < LOW <= HIGH)"
                ))
            }
        },
        None => match number(range) {
            Some(n) => (1, n),
            None => {
                return Err(format!(
                    "'server-template {prefix}': invalid number of servers '{range}'"
                ))
            }
        },
    };
    const MAX_TEMPLATE: u32 = 4096;
    if high - low >= MAX_TEMPLATE {
        return Err(format!(
            "'server-template {prefix}': {} servers is more than fulcrum makes from one template ({MAX_TEMPLATE})",
            high - low + 1
        ));
    }
    for i in low..=high {
        let mut words = vec![format!("{prefix}{i}")];
        words.extend(rest.iter().cloned());
        let mut one = Line {
            kw: "server",
            args: &words,
            warnings: Vec::new(),
            origin: l.origin.clone(),
        };
        server(p, &mut one).map_err(|e| {
            e.replace(
                &format!("'server {prefix}{i}'"),
                &format!("'server-template {prefix}'"),
            )
        })?;
        if i == low {
            l.warnings.extend(one.warnings);
        }
        if let Some(s) = p.server.last_mut() {
            s.template = Some(format!("{prefix} {range}"));
        }
    }
    Ok(())
}

/// `default-server [param...]`: parameters for the `server` lines that
/// follow (in this section, or in the proxies a `defaults` section
/// precedes). They are checked here, as a server line with them would be.
pub fn default_server(p: &mut Proxy, l: &mut Line) -> Result<(), String> {
    if l.args.is_empty() {
        return Err("'default-server' expects at least one parameter".into());
    }
    let mut probe = Proxy::new(p.kind, &p.name);
    let mut words = vec!["default-server".to_string(), "127.0.0.1:1".to_string()];
    words.extend(l.args.iter().cloned());
    let mut check = Line {
        kw: "default-server",
        args: &words,
        warnings: Vec::new(),
        origin: l.origin.clone(),
    };
    server(&mut probe, &mut check)
        .map_err(|e| e.replace("'server default-server'", "'default-server'"))?;
    l.warnings.extend(check.warnings);
    p.default_server.extend(l.args.iter().cloned());
    Ok(())
}
