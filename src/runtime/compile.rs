//! Config -> Runtime. Resolves names to indices and host names to addresses,
//! fills in HAProxy's defaults, and carries each server's live state over
//! from the previous Runtime by (backend, server) name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use super::check::HttpCheck;
use super::{Backend, Frontend, Global, Runtime, Server, ServerCheck};
use crate::balance::{Balancer, Candidate};
use crate::config::addresses::StartAddr;
use crate::config::model::{Balance, Config, LogTarget, Mode, SyslogTarget};
use crate::config::model::{StickKeyType, StickStore, StickTable, DEFAULT_STRING_LEN};
use crate::state::stick::{Data, KeyKind, Spec, Table};
use crate::state::ServerState;
use crate::util::addr::{Host, ServerPort};

/// Why a validated Config could not become a Runtime.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A server's host name did not resolve.
    #[error("{at}'server {backend}/{server}' : {message}")]
    Resolve {
        /// Where the server line is, as "file:line: ".
        at: String,
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// What failed.
        message: String,
    },
    /// A `peers` section cannot be used as written.
    #[error("peers section '{section}': {what}")]
    Peers {
        /// The section.
        section: String,
        /// What is wrong.
        what: String,
    },
    /// A `stats socket` line cannot be served.
    #[error("stats socket '{addr}': {what}")]
    StatsSocket {
        /// The address as written.
        addr: String,
        /// What is wrong.
        what: String,
    },
    /// An `http-check expect` regular expression does not compile.
    #[error("backend '{backend}': {source}")]
    Check {
        /// Backend name.
        backend: String,
        /// The error.
        source: super::check::ExpectError,
    },
    /// An `errorfile` could not be read.
    #[error("{proxy}: errorfile {code}: cannot read '{path}': {source}")]
    ErrorFile {
        /// The proxy.
        proxy: String,
        /// The status.
        code: u16,
        /// The file.
        path: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// Rules that do not compile (what `fulcrum -c` reports at each line).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<crate::rules::RuleError>),
    /// A `bind ... ssl` line whose certificates or settings cannot be used.
    #[error("{at}frontend '{frontend}': {source}")]
    Tls {
        /// Where the bind line is, as "file:line: ".
        at: String,
        /// Frontend name.
        frontend: String,
        /// The error.
        source: crate::tls::TlsError,
    },
    /// A `server ... ssl` whose TLS settings cannot be used.
    #[error("{at}server '{backend}/{server}': {message}")]
    ServerTls {
        /// Where the server line is, as "file:line: ".
        at: String,
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// What is wrong.
        message: String,
    },
    /// A backend reference that validation should have caught.
    #[error("frontend '{frontend}': no backend '{backend}'")]
    NoBackend {
        /// Frontend name.
        frontend: String,
        /// Missing backend.
        backend: String,
    },
}

/// How a server with `resolvers` is resolved at run time.
fn server_dns(s: &crate::config::model::Server) -> Option<super::ServerDns> {
    use crate::config::model::{Family, ResolveOpt};
    let (Some(r), Host::Name(fqdn)) = (&s.resolvers, &s.address.host) else {
        return None;
    };
    let last_opt = |a: ResolveOpt, b: ResolveOpt| {
        s.resolve_opts
            .iter()
            .rev()
            .find(|o| **o == a || **o == b)
            .is_some_and(|o| *o == a)
    };
    Some(super::ServerDns {
        resolvers: r.clone(),
        fqdn: fqdn.to_ascii_lowercase(),
        srv_label: s.is_srv_label(),
        prefer: s.resolve_prefer.unwrap_or(Family::Ipv6),
        nets: s.resolve_net.clone(),
        allow_dup_ip: last_opt(ResolveOpt::AllowDupIp, ResolveOpt::PreventDupIp),
        ignore_weight: s.resolve_opts.contains(&ResolveOpt::IgnoreWeight),
    })
}

/// A `resolvers` section with /etc/resolv.conf's name servers added when
/// it says `parse-resolv-conf` (read at each load, as HAProxy reads it).
fn complete_resolvers(r: &crate::config::model::Resolvers) -> Arc<crate::config::model::Resolvers> {
    let mut r = r.clone();
    if r.parse_resolv_conf {
        match hickory_resolver::system_conf::read_system_conf() {
            Ok((conf, _)) => {
                for (i, ns) in conf.name_servers().iter().enumerate() {
                    let port = ns.connections.first().map_or(53, |c| c.port);
                    let address = SocketAddr::new(ns.ip, port);
                    if r.nameservers.iter().any(|n| n.address == address) {
                        continue;
                    }
                    r.nameservers.push(crate::config::model::Nameserver {
                        name: format!("resolv.conf.{}", i + 1),
                        address,
                        transport: crate::config::model::Transport::Udp,
                    });
                }
            }
            Err(e) => tracing::warn!("resolvers {}: parse-resolv-conf: {e}", r.name),
        }
    }
    Arc::new(r)
}

/// Builds a Runtime; `prev` lends its servers' live state to same-named servers.
pub fn compile(c: &Config, prev: Option<&Runtime>) -> Result<Runtime, CompileError> {
    let mut old_servers: HashMap<(&str, &str), &Server> = HashMap::new();
    // By name: a linear search per backend made large reloads quadratic.
    let mut old_backends: HashMap<&str, &Backend> = HashMap::new();
    if let Some(prev) = prev {
        for b in &prev.backends {
            old_backends.insert(b.name.as_str(), b);
            for s in &b.servers {
                old_servers.insert((b.name.as_str(), s.name.as_str()), s);
            }
        }
    }
    // Each proxy's rules are compiled once; a listen's frontend and
    // backend share them.
    let mut rules: HashMap<(&str, bool), Arc<crate::rules::ProxyRules>> = HashMap::new();
    let mut rule_errors = Vec::new();
    for p in &c.proxies {
        match crate::rules::compile(c, p) {
            Ok(r) => {
                rules.insert((p.name.as_str(), p.kind.has_backend()), Arc::new(r));
            }
            Err(e) => rule_errors.extend(e),
        }
    }
    if !rule_errors.is_empty() {
        return Err(CompileError::Rules(rule_errors));
    }
    let rules_of = |p: &crate::config::model::Proxy| {
        rules
            .get(&(p.name.as_str(), p.kind.has_backend()))
            .cloned()
            .unwrap_or_default()
    };
    let mut backends = Vec::new();
    let mut backend_index = HashMap::new();
    for p in c.proxies.iter().filter(|p| p.kind.has_backend()) {
        let mut servers = Vec::new();
        let mut candidates = Vec::new();
        for s in &p.server {
            let start =
                crate::config::addresses::start_address(s).map_err(|e| CompileError::Resolve {
                    at: s
                        .origin
                        .0
                        .as_ref()
                        .map(|o| format!("{o}: "))
                        .unwrap_or_default(),
                    backend: p.name.clone(),
                    server: s.name.clone(),
                    message: e.to_string(),
                })?;
            // A server without an address yet listens nowhere: its state
            // keeps it out of traffic (RMAINT) until DNS gives one.
            let addr = match start {
                StartAddr::Ip(ip) => SocketAddr::new(ip, 0),
                StartAddr::Unresolved => SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0),
            };
            let dns = server_dns(s);
            // Live state (health, counters) survives a reload, unless what
            // it describes changed: then the server starts fresh, and we say why.
            let old = old_servers.get(&(p.name.as_str(), s.name.as_str()));
            let fresh = || {
                let st = ServerState::with_weight(s.disabled, s.weight);
                st.set_rmaint(start == StartAddr::Unresolved);
                Arc::new(st)
            };
            let new_check = match s.check.then(|| check_spec(c, p, s, addr)) {
                Some(r) => Some(r?),
                None => None,
            };
            let state = match old {
                None => fresh(),
                // The name asked at run time is what identifies its address:
                // the state (and the address DNS gave) carries over.
                Some(o) if dns.is_some() && o.dns == dns && o.port == s.address.port => {
                    o.state.configure_weight(s.weight);
                    o.state.clone()
                }
                Some(o) if o.addr.ip() != addr.ip() || o.port != s.address.port || o.dns != dns => {
                    tracing::info!(
                        "server {}/{}: address changed from {} to {}: its state starts fresh",
                        p.name,
                        s.name,
                        o.addr.ip(),
                        s.address
                    );
                    fresh()
                }
                Some(o) if o.check != new_check => {
                    tracing::info!(
                        "server {}/{}: check settings changed: its state starts fresh",
                        p.name,
                        s.name
                    );
                    fresh()
                }
                Some(o) => {
                    o.state.configure_weight(s.weight);
                    o.state.clone()
                }
            };
            candidates.push(Candidate {
                backup: s.backup,
                maxconn: s.maxconn.filter(|&m| m > 0),
                state: state.clone(),
            });
            let check = new_check;
            let agent = match (s.agent_check, s.agent_port) {
                (true, Some(port)) => Some(super::check::AgentCheck {
                    target: SocketAddr::new(s.agent_addr.unwrap_or(addr.ip()), port),
                    inter: s
                        .agent_inter
                        .or(s.inter)
                        .unwrap_or(super::check::DEFAULT_INTER),
                    send: s.agent_send.clone().unwrap_or_default().into_bytes(),
                }),
                _ => None,
            };
            servers.push(Server {
                name: s.name.clone(),
                agent,
                addr,
                backup: s.backup,
                weight: s.weight,
                maxconn: s.maxconn.filter(|&m| m > 0),
                cookie: s.cookie.clone(),
                check,
                track: None,
                trackers: Vec::new(),
                port: s.address.port,
                // Kept across a reload while `maxconn` is unchanged: the
                // slots in use stay counted, and `set maxconn` stays.
                limit: super::limits::carry(old.and_then(|o| o.limit.as_ref()), s.maxconn),
                send_proxy: s.send_proxy || s.send_proxy_v2,
                send_proxy_v2: s.send_proxy_v2,
                proxy_v2_options: s.proxy_v2_options,
                shutdown_on_down: s.shutdown_on_down,
                shutdown_backups_on_up: s.shutdown_backups_on_up,
                tls: server_tls(c, p, s, Purpose::Traffic)?,
                state,
                dns,
                observe: s.observe.filter(|_| s.check).map(|layer| super::Observe {
                    layer7: layer == crate::config::model::ObserveLayer::Layer7,
                    limit: s.error_limit.unwrap_or(10),
                    on_error: s
                        .on_error
                        .unwrap_or(crate::config::model::OnError::FailCheck),
                }),
                // As in HAProxy, only dynamic algorithms ramp weights.
                pool: super::PoolLimits::of(s.pool_max_conn, s.pool_purge_delay),
                slowstart: s.slowstart.filter(|_| {
                    matches!(
                        p.balance,
                        Balance::Roundrobin
                            | Balance::Leastconn
                            | Balance::First
                            | Balance::Random { .. }
                    )
                }),
            });
        }
        let http = p.mode == Mode::Http;
        let hash_header = match &p.balance {
            Balance::Hdr { name, .. } if http => Some(name.to_ascii_lowercase()),
            _ => None,
        };
        let http_check = match &p.option.httpchk {
            Some(chk) => {
                let mut h =
                    HttpCheck::new(chk, &p.http_check).map_err(|source| CompileError::Check {
                        backend: p.name.clone(),
                        source,
                    })?;
                h.disable_on_404 = p.http_check_disable_on_404;
                h.send_state = p.http_check_send_state;
                Some(Arc::new(h))
            }
            None => None,
        };
        // `option tcp-check` with rules (an HTTP check, when both are
        // set, is the one HAProxy runs: the last option wins at parse).
        let tcp_check = if let Some(proto) = &p.option.protocol_check {
            Some(Arc::new(super::check::TcpCheck::protocol(proto)))
        } else if p.option.tcp_check && http_check.is_none() && !p.tcp_check.is_empty() {
            Some(Arc::new(
                super::check::TcpCheck::new(&p.tcp_check).map_err(|source| {
                    CompileError::Check {
                        backend: p.name.clone(),
                        source,
                    }
                })?,
            ))
        } else {
            None
        };
        backend_index.insert(p.name.clone(), backends.len());
        backends.push(Backend {
            http_check,
            tcp_check,
            timeout_check: p.timeout.check.filter(|d| !d.is_zero()),
            allbackups: p.option.allbackups,
            log_targets: log_targets(&p.log, &c.global),
            log_health_checks: p.option.log_health_checks,
            prefer_last_server: p.option.prefer_last_server,
            http_reuse: p.http_reuse,
            send_name_header: p.http_send_name_header.clone().filter(|_| http),
            server_keepalive: p.option.tcpka || p.option.srvtcpka,
            cookie: p.cookie.clone().filter(|_| http),
            errorfiles: errorfiles(c, p, &rules_of(p))?,
            rules: rules_of(p),
            algo: match &p.balance {
                Balance::Roundrobin => "roundrobin",
                Balance::StaticRr => "static-rr",
                Balance::Leastconn => "leastconn",
                Balance::First => "first",
                Balance::Source => "source",
                Balance::Uri(_) => "uri",
                Balance::UrlParam { .. } => "url_param",
                Balance::Hdr { .. } => "hdr",
                Balance::Random { .. } => "random",
            },
            name: p.name.clone(),
            mode: p.mode,
            balancer: Balancer::new(&p.balance, candidates, p.option.allbackups, http),
            servers,
            hashes_request: http
                && matches!(
                    p.balance,
                    Balance::Uri(_) | Balance::UrlParam { .. } | Balance::Hdr { .. }
                ),
            hash_header,
            retries: p.retries,
            redispatch: super::Redispatch::of(p.option.redispatch, p.option.redispatch_interval),
            timeout_connect: p.timeout.connect.filter(|d| !d.is_zero()),
            timeout_server: p.timeout.server.filter(|d| !d.is_zero()),
            timeout_queue: p
                .timeout
                .queue
                .or(p.timeout.connect)
                .filter(|d| !d.is_zero()),
            timeout_tunnel: p.timeout.tunnel.filter(|d| !d.is_zero()),
            timeout_tarpit: p.timeout.tarpit.filter(|d| !d.is_zero()),
            forwardfor: p.option.forwardfor.clone().filter(|_| http),
            originalto: p.option.originalto.clone().filter(|_| http),
            http_connection: p.option.http_connection,
            buffer_request: p.option.http_buffer_request && http,
            counters: old_backends
                .get(p.name.as_str())
                .map(|b| b.counters.clone())
                .unwrap_or_default(),
        });
    }
    link_tracking(c, &mut backends, &backend_index);
    let backends: Vec<Arc<Backend>> = backends.into_iter().map(Arc::new).collect();
    let mut frontends = Vec::new();
    for p in c.proxies.iter().filter(|p| p.kind.has_frontend()) {
        let lookup = |name: &str| {
            backend_index
                .get(name)
                .copied()
                .ok_or_else(|| CompileError::NoBackend {
                    frontend: p.name.clone(),
                    backend: name.to_string(),
                })
        };
        // A listen is its own default backend.
        let default_backend = match (&p.default_backend, p.kind.has_backend()) {
            (_, true) => Some(lookup(&p.name)?),
            (Some(b), false) => Some(lookup(b)?),
            (None, false) => None,
        };
        for u in &p.use_backend {
            lookup(&u.backend)?;
        }
        let http = p.mode == Mode::Http;
        frontends.push(Frontend {
            name: p.name.clone(),
            mode: p.mode,
            binds: p.bind.clone(),
            tls: bind_tls(c, p)?,
            maxconn: p.maxconn.filter(|&m| m > 0),
            timeout_client: p.timeout.client.filter(|d| !d.is_zero()),
            timeout_http_request: p
                .timeout
                .http_request
                .or(p.timeout.client)
                .filter(|d| !d.is_zero()),
            timeout_http_keep_alive: p
                .timeout
                .http_keep_alive
                .or(p.timeout.http_request)
                .or(p.timeout.client)
                .filter(|d| !d.is_zero()),
            timeout_tarpit: p.timeout.tarpit.filter(|d| !d.is_zero()),
            forwardfor: p.option.forwardfor.clone().filter(|_| http),
            originalto: p.option.originalto.clone().filter(|_| http),
            http_connection: p.option.http_connection,
            buffer_request: p.option.http_buffer_request && http,
            default_backend,
            rules: rules_of(p),
            client_keepalive: p.option.tcpka || p.option.clitcpka,
            log_targets: log_targets(&p.log, &c.global),
            dontlognull: p.option.dontlognull,
            log_separate_errors: p.option.log_separate_errors,
            logasap: p.option.logasap,
            dontlog_normal: p.option.dontlog_normal,
            splice: splice_settings(&c.global),
            errorfiles: errorfiles(c, p, &rules_of(p))?,
            stats: (http && p.stats.enable).then(|| p.stats.clone()),
            monitor_uri: p.monitor_uri.clone().filter(|_| http),
            captures: if http { p.capture.clone() } else { Vec::new() },
            counters: prev
                .and_then(|r| r.frontend(&p.name))
                .map(|f| f.counters.clone())
                .unwrap_or_default(),
            limit: super::limits::carry(
                prev.and_then(|r| r.frontend(&p.name))
                    .and_then(|f| f.limit.as_ref()),
                p.maxconn,
            ),
        });
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let tables = tables(c, prev);
    Ok(Runtime {
        peers: super::peers::compile(c, &tables)?,
        resolvers: c.resolvers.iter().map(complete_resolvers).collect(),
        tables,
        frontends,
        backends,
        userlists: c.userlists.iter().map(with_group_members).collect(),
        global: Global {
            nbthread: c.global.nbthread.map(|n| n as usize).unwrap_or(cores),
            maxconn: c.global.maxconn.filter(|&m| m > 0),
            limit: super::limits::carry(
                prev.and_then(|r| r.global.limit.as_ref()),
                c.global.maxconn,
            ),
            hard_stop_after: c.global.hard_stop_after,
            bufsize: bufsize(&c.global),
            head_room: bufsize(&c.global)
                - c.global
                    .tune_maxrewrite
                    .map_or(1024, |n| n as usize)
                    .min(bufsize(&c.global) / 2),
            max_fields: c.global.tune_http_maxhdr.map_or(101, |n| n as usize) - 1,
            maxpipes: splice_settings(&c.global).map_or(0, |s| s.maxpipes),
            cli: cli_sockets(&c.global)?,
            log_targets: log_targets(&[LogTarget::Global], &c.global),
            spread_checks: c.global.spread_checks.unwrap_or(0),
            node: c.global.node.clone().unwrap_or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_default()
            }),
            started: prev
                .map(|p| p.global.started)
                .unwrap_or_else(std::time::SystemTime::now),
        },
    })
}

/// The `stats socket` lines, user and group names looked up in
/// /etc/passwd and /etc/group (as HAProxy does at start-up, through NSS).
fn cli_sockets(g: &crate::config::model::Global) -> Result<Vec<super::CliSocket>, CompileError> {
    g.stats_socket
        .iter()
        .map(|s| {
            let err = |what: String| CompileError::StatsSocket {
                addr: s.address.clone(),
                what,
            };
            let addr =
                crate::util::addr::CliAddr::parse(&s.address).map_err(|e| err(e.to_string()))?;
            let lookup = |file: &str, name: &str| -> Result<u32, CompileError> {
                crate::util::ids::lookup(file, name)
                    .ok_or_else(|| err(format!("unknown name '{name}' in {file}")))
            };
            let uid = match (&s.user, s.uid) {
                (Some(u), _) => Some(lookup("/etc/passwd", u)?),
                (None, id) => id,
            };
            let gid = match (&s.group, s.gid) {
                (Some(gr), _) => Some(lookup("/etc/group", gr)?),
                (None, id) => id,
            };
            Ok(super::CliSocket {
                addr,
                mode: s.mode,
                uid,
                gid,
                level: s.level.unwrap_or(crate::config::model::StatsLevel::Admin),
                maxconn: g.stats_maxconn.unwrap_or(10),
                timeout: g
                    .stats_timeout
                    .unwrap_or(std::time::Duration::from_secs(10)),
            })
        })
        .collect()
}

/// The live stick tables: the previous Runtime's table of the same name
/// when its definition is unchanged (a reload keeps counters and
/// persistence), else a new empty one.
fn tables(c: &Config, prev: Option<&Runtime>) -> Vec<Arc<Table>> {
    c.stick_tables()
        .iter()
        .map(|d| {
            let name = d.id();
            let spec = table_spec(d.table);
            let old = prev
                .and_then(|r| r.tables.iter().find(|o| o.name() == name))
                .filter(|o| *o.spec() == spec);
            match old {
                Some(o) => o.clone(),
                None => {
                    if prev.is_some_and(|r| r.tables.iter().any(|o| o.name() == name)) {
                        tracing::info!("stick-table '{name}': definition changed: it starts empty");
                    }
                    Arc::new(Table::new(&name, spec))
                }
            }
        })
        .collect()
}

pub(super) fn table_spec(t: &StickTable) -> Spec {
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    Spec {
        key: match t.key {
            StickKeyType::Ip => KeyKind::Ip,
            StickKeyType::Ipv6 => KeyKind::Ipv6,
            StickKeyType::Integer => KeyKind::Integer,
            StickKeyType::String => KeyKind::String(t.len.unwrap_or(DEFAULT_STRING_LEN) as usize),
        },
        size: usize::try_from(t.size).unwrap_or(usize::MAX),
        expire: t.expire,
        nopurge: t.nopurge,
        store: t
            .store
            .iter()
            .map(|s| match *s {
                StickStore::ConnCur => Data::ConnCur,
                StickStore::ConnCnt => Data::ConnCnt,
                StickStore::ConnRate(p) => Data::ConnRate(ms(p)),
                StickStore::HttpReqCnt => Data::HttpReqCnt,
                StickStore::HttpReqRate(p) => Data::HttpReqRate(ms(p)),
                StickStore::HttpErrCnt => Data::HttpErrCnt,
                StickStore::HttpErrRate(p) => Data::HttpErrRate(ms(p)),
                StickStore::Gpc0 => Data::Gpc0,
                StickStore::Gpc0Rate(p) => Data::Gpc0Rate(ms(p)),
                StickStore::ServerId => Data::ServerId,
            })
            .collect(),
    }
}

/// Resolves each `track` to indices, and records the reverse links. A
/// tracking server shares nothing with the tracked one but its health,
/// which the checker copies along the links.
fn link_tracking(c: &Config, backends: &mut [Backend], index: &HashMap<String, usize>) {
    let mut links = Vec::new();
    for p in c.proxies.iter().filter(|p| p.kind.has_backend()) {
        let Some(&bi) = index.get(&p.name) else {
            continue;
        };
        for (si, s) in p.server.iter().enumerate() {
            let Some(t) = &s.track else { continue };
            let tb = t.backend.as_deref().unwrap_or(&p.name);
            let Some(&tbi) = index.get(tb) else { continue };
            let Some(tsi) = backends[tbi]
                .servers
                .iter()
                .position(|x| x.name == t.server)
            else {
                continue;
            };
            links.push(((bi, si), (tbi, tsi)));
        }
    }
    for ((bi, si), (tbi, tsi)) in links {
        backends[bi].servers[si].track = Some((tbi, tsi));
        backends[tbi].servers[tsi].trackers.push((bi, si));
    }
}

/// A server's check, with HAProxy's defaults filled in.
fn check_spec(
    c: &Config,
    p: &crate::config::model::Proxy,
    s: &crate::config::model::Server,
    addr: SocketAddr,
) -> Result<ServerCheck, CompileError> {
    let inter = s.inter.unwrap_or(super::check::DEFAULT_INTER);
    let port = s.port.unwrap_or(match s.address.port {
        ServerPort::Fixed(p) => p,
        // No port of its own: checks go to the port clients use most, 80.
        _ => 80,
    });
    Ok(ServerCheck {
        target: SocketAddr::new(s.addr.unwrap_or(addr.ip()), port),
        inter,
        fastinter: s.fastinter.unwrap_or(inter),
        downinter: s.downinter.unwrap_or(inter),
        rise: s.rise,
        fall: s.fall,
        tls: check_tls(c, p, s, false)?,
        step_tls: if p
            .http_check
            .iter()
            .any(|r| matches!(r, crate::config::model::HttpCheckRule::Connect(c) if c.ssl))
            || p.tcp_check
                .iter()
                .any(|r| matches!(r, crate::config::model::TcpCheckRule::Connect(c) if c.ssl))
        {
            check_tls(c, p, s, true)?
        } else {
            None
        },
        send_proxy: s.check_send_proxy.then_some(if s.send_proxy_v2 {
            super::check::CheckProxy::V2
        } else {
            super::check::CheckProxy::V1
        }),
    })
}

/// Checks use TLS with `check-ssl`, or when the server is `ssl` and no
/// other check `port` is set (as in HAProxy); with the server's
/// verification settings and `check-sni`.
fn check_tls(
    c: &Config,
    p: &crate::config::model::Proxy,
    s: &crate::config::model::Server,
    always: bool,
) -> Result<Option<super::check::CheckTls>, CompileError> {
    if !(always || s.check_ssl || (s.ssl && s.port.is_none())) {
        return Ok(None);
    }
    let mut with_ssl = s.clone();
    with_ssl.ssl = true;
    let purpose = Purpose::Check(s.check_sni.is_some());
    let Some(tls) = server_tls(c, p, &with_ssl, purpose)? else {
        return Ok(None);
    };
    Ok(Some(super::check::CheckTls {
        config: tls.config,
        sni: s.check_sni.clone(),
        key: format!(
            "{:?} {:?} {:?} {:?}",
            s.verify.or(c.global.ssl_server_verify),
            s.ca_file,
            s.check_sni,
            c.global.ca_base
        ),
    }))
}

/// Reads a proxy's `errorfile`s (HAProxy reads them at start-up too).
/// A proxy's error answers: `errorfiles` sections first, then its own
/// `errorfile` lines, then `http-error` answers (later ones win).
fn errorfiles(
    c: &Config,
    p: &crate::config::model::Proxy,
    rules: &crate::rules::ProxyRules,
) -> Result<super::ErrorFiles, CompileError> {
    let mut files = Vec::new();
    for w in &p.errorfiles {
        let Some((name, codes)) = w.words.split_first() else {
            continue;
        };
        if let Some(section) = c.http_errors.iter().find(|h| &h.name == name) {
            for (code, path) in &section.errorfile {
                if codes.is_empty() || codes.iter().any(|c| c == &code.to_string()) {
                    files.push((*code, path));
                }
            }
        }
    }
    files.extend(p.errorfile.iter().map(|(c, p)| (*c, p)));
    let mut out = super::ErrorFiles::new();
    for (code, path) in files {
        let bytes = std::fs::read(path).map_err(|source| CompileError::ErrorFile {
            proxy: p.name.clone(),
            code,
            path: path.display().to_string(),
            source,
        })?;
        out.insert(code, bytes.into());
    }
    for r in &rules.http_errors {
        match r.fixed_bytes() {
            Some(b) => {
                out.insert(r.status, b.into());
            }
            // `default-errorfiles`: HAProxy's own page again.
            None => {
                out.remove(&r.status);
            }
        }
    }
    Ok(out)
}

/// A proxy's log targets with `log global` expanded.
fn log_targets(
    proxy_log: &[LogTarget],
    global: &crate::config::model::Global,
) -> Vec<crate::log::syslog::Target> {
    let mut specs: Vec<SyslogTarget> = Vec::new();
    for t in proxy_log {
        match t {
            LogTarget::Global => specs.extend(global.log.iter().filter_map(|g| match g {
                LogTarget::Syslog(s) => Some(s.clone()),
                LogTarget::Global => None,
            })),
            LogTarget::Syslog(s) => specs.push(s.clone()),
        }
    }
    let tag: std::sync::Arc<str> = global.log_tag.as_deref().unwrap_or("haproxy").into();
    let host: Option<std::sync::Arc<str>> = global.log_send_hostname.as_deref().map(|h| {
        if h.is_empty() {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|n| n.trim().to_string())
                .unwrap_or_default()
                .into()
        } else {
            h.into()
        }
    });
    specs
        .into_iter()
        .map(|spec| crate::log::syslog::Target {
            spec,
            tag: tag.clone(),
            host: host.clone(),
        })
        .collect()
}

/// A userlist where each user also lists the groups that name it in their
/// `users` list, so that a lookup needs one place.
fn with_group_members(u: &crate::config::model::Userlist) -> crate::config::model::Userlist {
    let mut u = u.clone();
    let groups = u.groups.clone();
    for user in &mut u.users {
        for g in &groups {
            if g.users.contains(&user.name) && !user.groups.contains(&g.name) {
                user.groups.push(g.name.clone());
            }
        }
    }
    u
}

/// The rustls configurations of a proxy's `bind ... ssl` lines. In mode
/// http only HTTP/1.x is offered by ALPN (h2 is not spoken yet).
fn bind_tls(
    c: &Config,
    p: &crate::config::model::Proxy,
) -> Result<Vec<super::BindTls>, CompileError> {
    use crate::tls::{BindTls, TlsError, Version};
    let mut out = Vec::new();
    for b in p.bind.iter().filter(|b| b.ssl) {
        let err = |source: TlsError| CompileError::Tls {
            at: b
                .origin
                .0
                .as_ref()
                .map(|o| format!("{o}: "))
                .unwrap_or_default(),
            frontend: p.name.clone(),
            source,
        };
        let mut certs = Vec::new();
        for crt in &b.crt {
            let path = match &c.global.crt_base {
                Some(base) if crt.is_relative() => base.join(crt),
                _ => crt.clone(),
            };
            certs.extend(crate::tls::load_crt(&path).map_err(err)?);
        }
        for list in &b.crt_list {
            certs.extend(
                crate::tls::load_crt_list(list, c.global.crt_base.as_deref()).map_err(err)?,
            );
        }
        let e = b.effective_tls(&c.global);
        let version = |v: &Option<String>| v.as_deref().map(Version::parse).transpose();
        let suites = match (&e.ciphers, &e.ciphersuites) {
            (None, None) => None,
            (c12, c13) => Some(
                crate::tls::select_suites(c12.as_deref(), c13.as_deref())
                    .map_err(err)?
                    .0,
            ),
        };
        // fulcrum speaks HTTP/1.x only: an HTTP frontend does not offer h2
        // (clients then fall back to http/1.1), wherever it was asked for.
        let speaks = |a: &String| p.mode == Mode::Tcp || a.starts_with("http/1");
        for cert in &mut certs {
            if let Some(alpn) = &mut cert.options.alpn {
                alpn.retain(speaks);
            }
        }
        let alpn = b
            .alpn
            .iter()
            .filter(|a| speaks(a))
            .map(|a| a.as_bytes().to_vec())
            .collect();
        let config = crate::tls::server_config(BindTls {
            certs,
            alpn,
            min: version(&e.min).map_err(err)?,
            max: version(&e.max).map_err(err)?,
            strict_sni: b.strict_sni,
            no_tickets: e.no_tickets,
            prefer_client_ciphers: e.prefer_client_ciphers,
            suites,
            client_ca: match (b.verify, &b.ca_file) {
                (Some(crate::config::model::ClientVerify::None), _) | (_, None) => None,
                (v, Some(ca)) => Some((
                    match &c.global.ca_base {
                        Some(base) if ca.is_relative() => base.join(ca),
                        _ => ca.clone(),
                    },
                    v == Some(crate::config::model::ClientVerify::Required),
                )),
            },
        })
        .map_err(err)?;
        let mut addrs: Vec<_> = b.addresses.iter().flat_map(|a| a.socket_addrs()).collect();
        // An inherited socket's address is the one it is bound to; one that
        // cannot be adopted is reported when the listeners open.
        addrs.extend(b.fd.iter().filter_map(|&fd| {
            crate::listen::socket::inherited(fd)
                .and_then(|l| l.local_addr())
                .ok()
        }));
        out.push(super::BindTls { addrs, config });
    }
    Ok(out)
}

/// What a server's TLS configuration is for: its traffic (SNI from `sni`,
/// the name checked if it has `sni` or `verifyhost`), or its checks
/// (SNI and the name checked when it has `check-sni`; `verifyhost` is the
/// traffic's).
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Traffic,
    Check(bool),
}

/// The TLS settings of a `server ... ssl` line: verification from the
/// server's `verify` (else global `ssl-server-verify`, else required) and
/// `ca-file` (under `ca-base`), and its `sni` expression.
fn server_tls(
    c: &Config,
    p: &crate::config::model::Proxy,
    s: &crate::config::model::Server,
    purpose: Purpose,
) -> Result<Option<super::ServerTls>, CompileError> {
    use crate::config::model::Verify;
    if !s.ssl {
        return Ok(None);
    }
    let err = |message: String| CompileError::ServerTls {
        at: s
            .origin
            .0
            .as_ref()
            .map(|o| format!("{o}: "))
            .unwrap_or_default(),
        backend: p.name.clone(),
        server: s.name.clone(),
        message,
    };
    let verify = match (s.verify.or(c.global.ssl_server_verify), &s.ca_file) {
        (Some(Verify::None), _) => crate::tls::ServerVerify::None,
        (_, Some(ca)) => crate::tls::ServerVerify::Ca(match &c.global.ca_base {
            Some(base) if ca.is_relative() => base.join(ca),
            _ => ca.clone(),
        }),
        (_, None) => return Err(err("'ssl' needs 'ca-file FILE' or 'verify none'".into())),
    };
    let opts = crate::tls::ClientOptions {
        alpn: s.alpn.clone(),
        crt: s.crt.as_ref().map(|crt| match &c.global.crt_base {
            Some(base) if crt.is_relative() => base.join(crt),
            _ => crt.clone(),
        }),
        no_reuse: s.no_ssl_reuse,
        check_name: match purpose {
            Purpose::Traffic => s.sni.is_some() || s.verifyhost.is_some(),
            Purpose::Check(sni) => sni,
        },
        send_sni: match purpose {
            Purpose::Traffic => s.sni.is_some(),
            Purpose::Check(sni) => sni,
        },
    };
    let config = crate::tls::client_config(&verify, &opts).map_err(|e| err(e.to_string()))?;
    let sni = s
        .sni
        .as_deref()
        .map(|text| {
            crate::rules::sample::Expr::parse(text, &crate::rules::Context::new(c, &p.name))
        })
        .transpose()
        .map_err(|e| err(format!("'sni': {e}")))?;
    Ok(Some(super::ServerTls {
        config,
        sni,
        verifyhost: s.verifyhost.clone(),
    }))
}

/// The splicing settings of `global`: None under `nosplice`. `maxpipes`
/// defaults to a quarter of `maxconn`, as in HAProxy; without a `maxconn`,
/// to a quarter of the connections the file limit allows (two
/// descriptors each).
/// `tune.bufsize`, default 16384.
fn bufsize(g: &crate::config::model::Global) -> usize {
    g.tune_bufsize.map_or(16384, |n| n as usize)
}

fn splice_settings(g: &crate::config::model::Global) -> Option<super::Splice> {
    if g.nosplice {
        return None;
    }
    let maxpipes = match (g.maxpipes, g.maxconn) {
        (Some(n), _) => n as usize,
        (None, Some(m)) if m > 0 => m as usize / 4,
        _ => {
            let files = rustix::process::getrlimit(rustix::process::Resource::Nofile)
                .current
                .unwrap_or(1024);
            (files / 2 / 4) as usize
        }
    };
    Some(super::Splice {
        maxpipes,
        pipesize: g.tune_pipesize.map(|n| n as usize),
    })
}
