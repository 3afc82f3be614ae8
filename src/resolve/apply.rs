//! What an answer does to the servers of a resolution: which address each
//! takes (HAProxy's choice: a server keeps an address still answered,
//! else takes the best free one), who enters or leaves maintenance for
//! want of an address (RMAINT), and the lines HAProxy logs for each.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::query::{Answer, Failure, SrvRecord};
use super::Resolution;
use crate::config::model::{Family, Hold};
use crate::runtime::{Backend, Runtime, Server};

/// Syslog severities of these events.
const ALERT: u8 = 1;
const EMERG: u8 = 0;
const NOTICE: u8 = 5;

/// The address a server uses now, if it has one.
fn current(s: &Server) -> Option<IpAddr> {
    let (ip, _) = s.address();
    (!s.state.rmaint() && !ip.is_unspecified()).then_some(ip)
}

/// Sets the address (and the port, for SRV) the server is reached at.
fn set_addr(s: &Server, ip: IpAddr, port: Option<u16>) {
    s.state.moved.store(Some(std::sync::Arc::new((ip, port))));
}

/// The server enters maintenance for want of an address.
fn enter_rmaint(rt: &Runtime, be: &Backend, s: &Server, reason: &str) {
    set_addr(s, Ipv4Addr::UNSPECIFIED.into(), None);
    let was_usable = s.state.usable();
    if !s.state.set_rmaint(true) {
        return;
    }
    let (a, b) = be.servers_left();
    let left = be.servers_left_words("left");
    let cur = s
        .state
        .cur_sessions
        .load(std::sync::atomic::Ordering::Relaxed);
    let msg = format!(
        "{} {}/{} is going DOWN for maintenance ({reason}). {left} {cur} sessions active, 0 requeued, 0 remaining in queue.",
        s.title(), be.name, s.name
    );
    be.event(if was_usable { ALERT } else { NOTICE }, &msg);
    if was_usable && a == 0 && b == 0 {
        let msg = format!("{} {} has no server available!", rt.proxy_word(be), be.name);
        be.event(EMERG, &msg);
    }
}

/// The server takes `ip` (logged as changed by `by`) and leaves
/// maintenance if it was in it.
fn take(be: &Backend, s: &Server, ip: IpAddr, port: Option<u16>, by: &str, host: &str, srv: bool) {
    let before = current(s);
    if before != Some(ip) || s.address().1 != port.or(s.address().1) {
        let from = before.map_or_else(|| "(none)".to_string(), |i| i.to_string());
        set_addr(s, ip, port);
        if before != Some(ip) {
            be.event(
                NOTICE,
                &format!(
                    "{}/{} changed its IP from {from} to {ip} by {by}.",
                    be.name, s.name
                ),
            );
        }
    }
    if s.state.set_rmaint(false) {
        be.event(
            NOTICE,
            &format!(
                "{} {}/{} ('{host}') is UP/READY (resolves again).",
                s.title(),
                be.name,
                s.name
            ),
        );
        if !srv {
            be.event(
                NOTICE,
                &format!(
                    "Server {}/{} administratively READY thanks to valid DNS answer.",
                    be.name, s.name
                ),
            );
        }
    }
}

/// Remembers what was answered now; forgets what was missing for longer
/// than `hold obsolete`.
fn refresh<T: PartialEq + Clone>(seen: &mut Vec<(T, Instant)>, answered: &[T], obsolete: Duration) {
    let now = Instant::now();
    let mut next: Vec<(T, Instant)> = answered.iter().map(|a| (a.clone(), now)).collect();
    for (old, at) in seen.drain(..) {
        if !answered.contains(&old) && now.duration_since(at) <= obsolete && !obsolete.is_zero() {
            next.push((old, at));
        }
    }
    *seen = next;
}

/// A valid A/AAAA answer for a name that `members` share.
pub(super) fn addr_answer(
    rt: &Runtime,
    be: &Backend,
    members: &[usize],
    answer: &Answer<IpAddr>,
    res: &mut Resolution,
    obsolete: Duration,
) {
    refresh(&mut res.addrs, &answer.records, obsolete);
    let addrs: Vec<IpAddr> = res.addrs.iter().map(|(ip, _)| *ip).collect();
    for (k, &si) in members.iter().enumerate() {
        let s = &be.servers[si];
        let Some(d) = &s.dns else { continue };
        // Addresses other servers of this name hold (HAProxy refuses a
        // duplicate unless allow-dup-ip).
        let taken: Vec<IpAddr> = members
            .iter()
            .filter(|&&o| o != si)
            .filter_map(|&o| current(&be.servers[o]))
            .collect();
        let choice = choose(
            &addrs,
            current(s),
            &taken,
            d.prefer,
            &d.nets,
            d.allow_dup_ip,
        );
        match choice {
            None => enter_rmaint(rt, be, s, "No IP for server "),
            Some(ip) => {
                // The server that asked names the name server; the others
                // took the same answer from the cache.
                let by = if k == 0 {
                    answer.by.as_str()
                } else {
                    "DNS cache"
                };
                take(be, s, ip, None, by, &d.fqdn, false);
            }
        }
    }
}

/// HAProxy's choice of an address: the current one while it is still
/// answered; else the best scored (8 for the preferred family, 4 for a
/// preferred network, 2 for one no other server holds), the first of
/// equals. A held address is skipped unless duplicates are allowed.
fn choose(
    addrs: &[IpAddr],
    current: Option<IpAddr>,
    taken: &[IpAddr],
    prefer: Family,
    nets: &[ipnet::IpNet],
    allow_dup: bool,
) -> Option<IpAddr> {
    if let Some(c) = current.filter(|c| addrs.contains(c)) {
        if allow_dup || !taken.contains(&c) {
            return Some(c);
        }
    }
    let mut best: Option<(u8, IpAddr)> = None;
    for &ip in addrs {
        let used = taken.contains(&ip);
        if used && !allow_dup {
            continue;
        }
        let family = matches!(
            (prefer, ip),
            (Family::Ipv4, IpAddr::V4(_)) | (Family::Ipv6, IpAddr::V6(_))
        );
        let score = 8 * u8::from(family)
            + 4 * u8::from(nets.iter().any(|n| n.contains(&ip)))
            + 2 * u8::from(!used);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, ip));
        }
    }
    best.map(|(_, ip)| ip)
}

/// No valid answer: unless one came within the hold period of this kind
/// of failure, every server of the name enters maintenance.
pub(super) fn failure(
    rt: &Runtime,
    be: &Backend,
    members: &[usize],
    f: Failure,
    res: &mut Resolution,
    hold: &Hold,
) {
    let period = match f {
        Failure::Nx => hold.nx,
        Failure::Refused => hold.refused,
        Failure::Timeout => hold.timeout,
        Failure::Other => hold.other,
    };
    if res.last_valid.is_some_and(|t| t.elapsed() <= period) {
        return;
    }
    res.addrs.clear();
    res.srv.clear();
    for &si in members {
        let s = &be.servers[si];
        if let Ok(mut t) = s.state.srv_target.lock() {
            *t = None;
        }
        enter_rmaint(rt, be, s, f.reason());
    }
}

/// A valid SRV answer: each record gets a server (the one that already
/// has it, else a free one), a server whose record left enters
/// maintenance, and weights follow the records' (unless ignore-weight).
pub(super) fn srv_answer(
    rt: &Runtime,
    be: &Backend,
    members: &[usize],
    answer: &Answer<SrvRecord>,
    targets: &HashMap<String, IpAddr>,
    res: &mut Resolution,
    obsolete: Duration,
) {
    refresh(&mut res.srv, &answer.records, obsolete);
    let records: Vec<&SrvRecord> = res.srv.iter().map(|(r, _)| r).collect();
    let holds = |s: &Server, r: &SrvRecord| {
        let t = s.state.srv_target.lock().ok().and_then(|t| t.clone());
        t.as_deref() == Some(r.target.as_str()) && s.address().1 == Some(r.port)
    };
    // Servers whose record is gone.
    for &si in members {
        let s = &be.servers[si];
        let has_target = s.state.srv_target.lock().is_ok_and(|t| t.is_some());
        if has_target && !records.iter().any(|r| holds(s, r)) {
            if let Ok(mut t) = s.state.srv_target.lock() {
                *t = None;
            }
            enter_rmaint(rt, be, s, "entry removed from SRV record");
        }
    }
    let mut reweigh = false;
    for r in records {
        let holder = members
            .iter()
            .map(|&si| &be.servers[si])
            .find(|s| holds(s, r));
        let free = || {
            members
                .iter()
                .map(|&si| &be.servers[si])
                .find(|s| s.state.srv_target.lock().is_ok_and(|t| t.is_none()))
        };
        let Some(s) = holder.or_else(free) else {
            continue; // more records than servers
        };
        if let Ok(mut t) = s.state.srv_target.lock() {
            *t = Some(r.target.clone());
        }
        let (ip, by) = match (r.additional, targets.get(&r.target)) {
            (Some(ip), _) => (ip, "DNS additional record"),
            (None, Some(ip)) => (*ip, answer.by.as_str()),
            (None, None) => {
                // Known port, no address yet: it stays in maintenance.
                set_addr(s, Ipv4Addr::UNSPECIFIED.into(), Some(r.port));
                continue;
            }
        };
        take(be, s, ip, Some(r.port), by, &r.target, true);
        if !s.dns.as_ref().is_some_and(|d| d.ignore_weight) {
            // DNS weights are 0-65535, HAProxy's 0-256: 0 stays 0.
            let w = u32::from(r.weight).div_ceil(256);
            if s.state.weight() != w {
                s.state.set_weight(w);
                reweigh = true;
            }
        }
    }
    if reweigh {
        be.balancer.reweigh();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn a_server_keeps_an_address_still_answered() {
        let a = ips(&["10.0.0.1", "10.0.0.2"]);
        let cur = Some("10.0.0.2".parse().unwrap());
        assert_eq!(choose(&a, cur, &[], Family::Ipv4, &[], false), cur);
    }

    #[test]
    fn a_held_address_is_skipped_unless_duplicates_are_allowed() {
        let a = ips(&["10.0.0.1", "10.0.0.2"]);
        let taken = ips(&["10.0.0.1"]);
        assert_eq!(
            choose(&a, None, &taken, Family::Ipv4, &[], false),
            Some(a[1])
        );
        let one = ips(&["10.0.0.1"]);
        assert_eq!(choose(&one, None, &taken, Family::Ipv4, &[], false), None);
        assert_eq!(
            choose(&one, None, &taken, Family::Ipv4, &[], true),
            Some(one[0])
        );
    }

    #[test]
    fn family_then_network_then_order() {
        let a = ips(&["10.0.0.1", "fd00::1", "192.168.1.1"]);
        assert_eq!(choose(&a, None, &[], Family::Ipv6, &[], false), Some(a[1]));
        assert_eq!(choose(&a, None, &[], Family::Ipv4, &[], false), Some(a[0]));
        let nets = ["192.168.0.0/16".parse().unwrap()];
        assert_eq!(
            choose(&a, None, &[], Family::Ipv4, &nets, false),
            Some(a[2])
        );
    }

    #[test]
    fn obsolete_records_are_kept_for_their_hold() {
        let mut seen = Vec::new();
        refresh(&mut seen, &[1, 2], Duration::from_secs(30));
        refresh(&mut seen, &[2], Duration::from_secs(30));
        assert_eq!(seen.iter().map(|(v, _)| *v).collect::<Vec<_>>(), [2, 1]);
        refresh(&mut seen, &[2], Duration::ZERO);
        assert_eq!(seen.len(), 1);
    }
}
