//! The lines of a `resolvers NAME` section.

use std::net::{IpAddr, SocketAddr};

use super::args::{parse_duration, parse_u32};
use super::model::{Nameserver, Resolvers, Transport};

/// What a line did: nothing to say, or a warning for its line.
pub type Said = Option<String>;

/// Reads one line of a `resolvers` section into `r`.
pub fn line(r: &mut Resolvers, words: &[String]) -> Result<Said, String> {
    let Some((kw, args)) = words.split_first() else {
        return Ok(None);
    };
    match (kw.as_str(), args) {
        ("nameserver", [name, addr]) => {
            if r.nameservers.iter().any(|n| &n.name == name) {
                return Err(format!(
                    "nameserver '{name}' is declared twice in resolvers '{}'",
                    r.name
                ));
            }
            let (address, transport) = nameserver_addr(addr)?;
            r.nameservers.push(Nameserver {
                name: name.clone(),
                address,
                transport,
            });
        }
        ("nameserver", [_, _, extra, ..]) => {
            return Err(format!(
                "'nameserver': unexpected '{extra}' (fulcrum takes no server parameters on a name server)"
            ))
        }
        ("nameserver", _) => return Err("'nameserver' expects <name> <address>[:port]".into()),
        ("parse-resolv-conf", []) => r.parse_resolv_conf = true,
        ("resolve_retries", [n]) => {
            let n = parse_u32("resolve_retries", n)?;
            if n == 0 {
                return Err("'resolve_retries' must be at least 1".into());
            }
            r.resolve_retries = n;
        }
        ("timeout", [event, t]) => {
            let d = parse_duration(&format!("timeout {event}"), t)?;
            match event.as_str() {
                "resolve" => r.timeout_resolve = d,
                "retry" => r.timeout_retry = d,
                _ => {
                    return Err(format!(
                        "'timeout {event}': unknown event (expected 'resolve' or 'retry')"
                    ))
                }
            }
            if d.is_zero() {
                return Err(format!("'timeout {event}' must be greater than zero"));
            }
        }
        ("hold", [status, t]) => {
            let d = parse_duration(&format!("hold {status}"), t)?;
            let h = &mut r.hold;
            match status.as_str() {
                "nx" => h.nx = d,
                "refused" => h.refused = d,
                "timeout" => h.timeout = d,
                "other" => h.other = d,
                "valid" => h.valid = d,
                "obsolete" => h.obsolete = d,
                _ => return Err(format!(
                    "'hold {status}': unknown status (expected nx, refused, timeout, other, valid or obsolete)"
                )),
            }
        }
        ("accepted_payload_size", [n]) => {
            let n = parse_u32("accepted_payload_size", n)?;
            r.accepted_payload_size = u16::try_from(n)
                .ok()
                .filter(|n| *n >= 512)
                .ok_or_else(|| format!("'accepted_payload_size' must be between 512 and 65535, got {n}"))?;
        }
        ("resolution_pool_size", [_]) => {
            return Ok(Some(
                "'resolution_pool_size' is ignored: it is deprecated and has no effect (as in HAProxy 2.6)".into(),
            ))
        }
        (
            "parse-resolv-conf" | "resolve_retries" | "timeout" | "hold" | "accepted_payload_size"
            | "resolution_pool_size",
            _,
        ) => return Err(format!("'{kw}': wrong number of arguments")),
        (k, _) => {
            return Err(format!(
                "unknown keyword '{k}' in 'resolvers' section (expected nameserver, parse-resolv-conf, resolve_retries, timeout, hold or accepted_payload_size)"
            ))
        }
    }
    Ok(None)
}

/// `[udp@|tcp@|ipv4@|ipv6@]ADDR[:PORT]`, port 53 by default.
fn nameserver_addr(text: &str) -> Result<(SocketAddr, Transport), String> {
    let (transport, rest) = match text.split_once('@') {
        None => (Transport::Udp, text),
        Some(("udp" | "udp4" | "udp6" | "ipv4" | "ipv6", r)) => (Transport::Udp, r),
        Some(("tcp" | "tcp4" | "tcp6", r)) => (Transport::Tcp, r),
        Some((p, _)) => {
            return Err(format!(
                "'nameserver': address family '{p}@' is not supported (expected udp@, tcp@, ipv4@ or ipv6@)"
            ))
        }
    };
    let bad = || {
        format!(
            "'nameserver': invalid address '{text}' (expected an IP address and an optional port)"
        )
    };
    let with_port = |ip: IpAddr, port: &str| match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((SocketAddr::new(ip, p), transport)),
        _ => Err(bad()),
    };
    if let Some((host, port)) = rest.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        return with_port(host.parse().map_err(|_| bad())?, port);
    }
    if let Ok(ip) = rest.trim_matches(['[', ']']).parse::<std::net::Ipv4Addr>() {
        return Ok((SocketAddr::new(ip.into(), 53), transport));
    }
    // As in HAProxy, the last colon starts the port, for IPv6 too.
    if let Some((host, port)) = rest.rsplit_once(':') {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return with_port(ip, port);
        }
    }
    match rest.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => Ok((SocketAddr::new(ip, 53), transport)),
        Err(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> Result<Resolvers, String> {
        let mut r = Resolvers::new("dns");
        for l in lines {
            let w: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            line(&mut r, &w)?;
        }
        Ok(r)
    }

    #[test]
    fn a_section_with_every_keyword() {
        let r = read(&[
            "nameserver a 10.0.0.1",
            "nameserver b tcp@10.0.0.2:5353",
            "nameserver c ::1:53",
            "resolve_retries 5",
            "timeout retry 300ms",
            "hold nx 2s",
            "hold obsolete 30s",
            "accepted_payload_size 8192",
        ])
        .unwrap();
        assert_eq!(r.nameservers[0].address, "10.0.0.1:53".parse().unwrap());
        assert_eq!(r.nameservers[1].transport, Transport::Tcp);
        assert_eq!(r.nameservers[2].address, "[::1]:53".parse().unwrap());
        assert_eq!(r.resolve_retries, 5);
        assert_eq!(r.timeout_retry.as_millis(), 300);
        assert_eq!(r.hold.nx.as_secs(), 2);
        assert_eq!(r.hold.valid.as_secs(), 10);
        assert_eq!(r.accepted_payload_size, 8192);
    }

    #[test]
    fn bad_lines_say_why() {
        for (l, want) in [
            ("nameserver a", "expects"),
            ("nameserver a 10.0.0.1:0", "invalid address"),
            ("nameserver a quic@10.0.0.1", "not supported"),
            ("hold later 1s", "unknown status"),
            ("timeout connect 1s", "unknown event"),
            ("accepted_payload_size 100", "between 512"),
            ("resolve_retries 0", "at least 1"),
            ("nameservers a 1.2.3.4", "unknown keyword"),
        ] {
            let e = read(&[l]).unwrap_err();
            assert!(e.contains(want), "{l}: {e}");
        }
        assert!(read(&["nameserver a 1.1.1.1", "nameserver a 1.1.1.2"]).is_err());
    }
}
