//! The `bind` line: `bind ADDR[,ADDR...] [param...]`.

use std::path::PathBuf;

use super::args::parse_u32;
use super::keywords::Line;
use super::model::{Bind, Proxy};
use crate::util::addr::BindAddr;

/// The bind parameters fulcrum knows, for messages.
const BIND_PARAMS: &str = "transparent, interface, v4v6, v6only, backlog, maxconn, name, \
                           accept-proxy, defer-accept, tfo, ssl, crt, crt-list, alpn, ssl-min-ver, ssl-max-ver, \
                           strict-sni, no-tls-tickets, prefer-client-ciphers, no-sslv3, no-tlsv10, no-tlsv11, no-tlsv12, no-tlsv13, verify, ca-file, \
                           ciphers, ciphersuites";

pub fn bind(p: &mut Proxy, l: &mut Line) -> Result<(), String> {
    let Some((addrs, params)) = l.args.split_first() else {
        return Err("'bind' expects an address (e.g. 127.0.0.1:80 or :80)".into());
    };
    let mut addresses = Vec::new();
    let mut fds = Vec::new();
    for a in addrs.split(',') {
        match a.strip_prefix("fd@") {
            Some(n) => fds.push(
                n.parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| format!("'bind': 'fd@{n}' expects a file descriptor number"))?,
            ),
            None => addresses.push(a.parse::<BindAddr>().map_err(|e| format!("'bind': {e}"))?),
        }
    }
    let mut b = Bind::new(addresses);
    b.fd = fds;
    let mut it = params.iter();
    let value = |it: &mut std::slice::Iter<String>, k: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("'bind' parameter '{k}' expects a value"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "transparent" => b.transparent = true,
            "interface" => b.interface = Some(value(&mut it, "interface")?),
            "v4v6" => b.v4v6 = true,
            "v6only" => b.v6only = true,
            "backlog" => b.backlog = Some(parse_u32("bind backlog", &value(&mut it, "backlog")?)?),
            "maxconn" => b.maxconn = Some(parse_u32("bind maxconn", &value(&mut it, "maxconn")?)?),
            "name" => b.name = Some(value(&mut it, "name")?),
            "accept-proxy" => b.accept_proxy = true,
            "defer-accept" => b.defer_accept = true,
            "tfo" => b.tfo = true,
            "ssl" => b.ssl = true,
            "crt" => b.crt.push(PathBuf::from(value(&mut it, "crt")?)),
            "crt-list" => b.crt_list.push(PathBuf::from(value(&mut it, "crt-list")?)),
            "ssl-min-ver" | "ssl-max-ver" => {
                let v = value(&mut it, a)?;
                crate::tls::Version::parse(&v)
                    .map_err(|e| format!("'bind {addrs}': '{a}': {e}"))?;
                if a == "ssl-min-ver" {
                    b.ssl_min_ver = Some(v);
                } else {
                    b.ssl_max_ver = Some(v);
                }
            }
            "strict-sni" => b.strict_sni = true,
            "ciphers" => b.ciphers = Some(value(&mut it, "ciphers")?),
            "ciphersuites" => b.ciphersuites = Some(value(&mut it, "ciphersuites")?),
            "verify" => {
                b.verify = Some(match value(&mut it, "verify")?.as_str() {
                    "none" => super::model::ClientVerify::None,
                    "optional" => super::model::ClientVerify::Optional,
                    "required" => super::model::ClientVerify::Required,
                    v => {
                        return Err(format!(
                            "'bind {addrs}': 'verify' expects none, optional or required, got '{v}'"
                        ))
                    }
                })
            }
            "ca-file" => b.ca_file = Some(PathBuf::from(value(&mut it, "ca-file")?)),
            "no-tls-tickets" => b.no_tls_tickets = true,
            "prefer-client-ciphers" => b.prefer_client_ciphers = true,
            // rustls offers neither SSLv3 nor TLS 1.0/1.1: already so.
            "no-sslv3" | "no-tlsv10" | "no-tlsv11" => {}
            "no-tlsv12" => b.ssl_min_ver = b.ssl_min_ver.take().or(Some("TLSv1.3".into())),
            "no-tlsv13" => b.ssl_max_ver = b.ssl_max_ver.take().or(Some("TLSv1.2".into())),
            "alpn" => {
                b.alpn = value(&mut it, "alpn")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            other => {
                return Err(format!(
                    "'bind {addrs}': unknown parameter '{other}' (supported: {BIND_PARAMS})"
                ))
            }
        }
    }
    if b.v4v6 && b.v6only {
        return Err("'bind': 'v4v6' and 'v6only' contradict each other".into());
    }
    if b.ssl && b.crt.is_empty() && b.crt_list.is_empty() {
        return Err(format!(
            "'bind {addrs}': 'ssl' needs at least one 'crt FILE'"
        ));
    }
    let has_certs = !b.crt.is_empty() || !b.crt_list.is_empty();
    if !b.ssl && has_certs {
        l.warnings
            .push(format!("'bind {addrs}': 'crt' without 'ssl' is ignored"));
    }
    b.origin = l.origin.clone();
    p.bind.push(b);
    Ok(())
}
