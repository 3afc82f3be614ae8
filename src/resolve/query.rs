//! Asking the name servers of one `resolvers` section, as HAProxy asks
//! them: every name server at once, the first valid answer wins; when all
//! fail, the last failure counts, and the question is asked again up to
//! `resolve_retries` times (an A question becomes AAAA and back on a
//! failure other than a timeout). hickory-resolver speaks DNS; one
//! resolver per name server, without cache or hosts file, so that fulcrum
//! knows which server answered and keeps HAProxy's hold rules itself.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::config::model::{Family, Resolvers, Transport};

/// Why no valid answer came, in HAProxy's classes (each has its `hold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// NXDOMAIN.
    Nx,
    /// REFUSED.
    Refused,
    /// No answer within `timeout retry`.
    Timeout,
    /// Anything else (SERVFAIL, an answer without the records asked...).
    Other,
}

impl Failure {
    /// HAProxy's reason when servers go to maintenance for it.
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Nx => "DNS NX status",
            Failure::Refused => "DNS refused status",
            Failure::Timeout => "DNS timeout status",
            Failure::Other => "unspecified DNS error",
        }
    }
}

/// A valid answer and the name server that gave it.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    /// What it said.
    pub records: Vec<T>,
    /// `RESOLVERS/NAMESERVER`, as HAProxy names who changed an address.
    pub by: String,
}

/// One SRV record, with the address of its target when the answer's
/// additional section gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// The target host name, without the final dot.
    pub target: String,
    /// The port.
    pub port: u16,
    /// The weight (0-65535).
    pub weight: u16,
    /// The target's address from the additional records.
    pub additional: Option<IpAddr>,
}

/// The name servers of one section, ready to ask.
pub struct Asker {
    section: String,
    servers: Vec<(String, TokioResolver)>,
    retries: u32,
    timeout: Duration,
}

impl std::fmt::Debug for Asker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asker")
            .field("section", &self.section)
            .finish()
    }
}

impl Asker {
    /// One resolver per name server of `r` (its `nameserver` lines, then
    /// /etc/resolv.conf's with `parse-resolv-conf`).
    pub fn new(r: &Resolvers) -> Asker {
        let mut servers = Vec::new();
        for ns in &r.nameservers {
            let mut cfg = match ns.transport {
                Transport::Udp => NameServerConfig::udp(ns.address.ip()),
                Transport::Tcp => NameServerConfig::tcp(ns.address.ip()),
            };
            for c in &mut cfg.connections {
                c.port = ns.address.port();
            }
            let config = ResolverConfig::from_name_servers(vec![cfg]);
            let mut opts = ResolverOpts::default();
            opts.cache_size = 0;
            opts.attempts = 1;
            opts.timeout = r.timeout_retry;
            opts.use_hosts_file = ResolveHosts::Never;
            opts.edns0 = true;
            opts.edns_payload_len = r.accepted_payload_size;
            opts.ndots = 0;
            opts.preserve_intermediates = false;
            let built = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
                .with_options(opts)
                .build();
            match built {
                Ok(res) => servers.push((format!("{}/{}", r.name, ns.name), res)),
                Err(e) => tracing::warn!("resolvers {}: nameserver {}: {e}", r.name, ns.name),
            }
        }
        Asker {
            section: r.name.clone(),
            servers,
            retries: r.resolve_retries,
            timeout: r.timeout_retry,
        }
    }

    /// The addresses of `host`, asking first for the preferred family.
    pub async fn addrs(&self, host: &str, prefer: Family) -> Result<Answer<IpAddr>, Failure> {
        let first = match prefer {
            Family::Ipv4 => RecordType::A,
            Family::Ipv6 => RecordType::AAAA,
        };
        let mut kind = first;
        let mut last = Failure::Other;
        for _ in 0..self.retries.max(1) {
            match self.ask(host, kind).await {
                Ok(a) => return Ok(a.map(|r| r.addr)),
                Err(f) => last = f,
            }
            // HAProxy's fallback: the other family after a failure that is
            // not a timeout, then back.
            if last != Failure::Timeout {
                kind = if kind == RecordType::A {
                    RecordType::AAAA
                } else {
                    RecordType::A
                };
                if let Ok(a) = self.ask(host, kind).await {
                    return Ok(a.map(|r| r.addr));
                }
                kind = first;
            }
        }
        Err(last)
    }

    /// The SRV records of `label`.
    pub async fn srv(&self, label: &str) -> Result<Answer<SrvRecord>, Failure> {
        let mut last = Failure::Other;
        for _ in 0..self.retries.max(1) {
            match self.ask(label, RecordType::SRV).await {
                Ok(a) => return Ok(a.map(|r| r.srv)),
                Err(f) => last = f,
            }
        }
        Err(last)
    }

    /// One question to every name server at once: the first valid answer,
    /// else the last failure.
    async fn ask(&self, name: &str, kind: RecordType) -> Result<Answer<Parsed>, Failure> {
        let Ok(fqdn) = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))) else {
            return Err(Failure::Other);
        };
        let mut set = tokio::task::JoinSet::new();
        for (label, res) in &self.servers {
            let (label, res, fqdn) = (label.clone(), res.clone(), fqdn.clone());
            let limit = self.timeout;
            set.spawn(async move {
                let out = tokio::time::timeout(limit, res.lookup(fqdn, kind)).await;
                (label, out)
            });
        }
        let mut last = Failure::Timeout;
        while let Some(joined) = set.join_next().await {
            let Ok((label, out)) = joined else { continue };
            let lookup = match out {
                Err(_) => {
                    last = Failure::Timeout;
                    continue;
                }
                Ok(Err(e)) => {
                    last = classify(&e);
                    continue;
                }
                Ok(Ok(l)) => l,
            };
            let records = parse(lookup.answers(), lookup.additionals(), kind);
            if records.is_empty() {
                // A valid packet without the records asked for.
                last = Failure::Other;
                continue;
            }
            set.abort_all();
            return Ok(Answer { records, by: label });
        }
        Err(last)
    }
}

/// One record of an answer, as the question asked for it.
#[derive(Debug, Clone)]
struct Parsed {
    addr: IpAddr,
    srv: SrvRecord,
}

impl<T> Answer<T> {
    fn map<U>(self, f: impl Fn(T) -> U) -> Answer<U> {
        Answer {
            records: self.records.into_iter().map(f).collect(),
            by: self.by,
        }
    }
}

fn parse(
    answers: &[hickory_resolver::proto::rr::Record],
    additionals: &[hickory_resolver::proto::rr::Record],
    kind: RecordType,
) -> Vec<Parsed> {
    let unspecified = IpAddr::from([0u8; 4]);
    let host = |n: &Name| n.to_ascii().trim_end_matches('.').to_ascii_lowercase();
    let additional = |target: &str| {
        additionals.iter().find_map(|r| match &r.data {
            RData::A(a) if host(&r.name) == target => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) if host(&r.name) == target => Some(IpAddr::V6(a.0)),
            _ => None,
        })
    };
    let mut out = Vec::new();
    for r in answers {
        let (addr, srv) = match (kind, &r.data) {
            (RecordType::A, RData::A(a)) => (IpAddr::V4(a.0), None),
            (RecordType::AAAA, RData::AAAA(a)) => (IpAddr::V6(a.0), None),
            (RecordType::SRV, RData::SRV(s)) => {
                let target = host(&s.target);
                let rec = SrvRecord {
                    additional: additional(&target),
                    target,
                    port: s.port,
                    weight: s.weight,
                };
                (unspecified, Some(rec))
            }
            _ => continue,
        };
        out.push(Parsed {
            addr,
            srv: srv.unwrap_or(SrvRecord {
                target: String::new(),
                port: 0,
                weight: 0,
                additional: None,
            }),
        });
    }
    out
}

fn classify(e: &NetError) -> Failure {
    match e {
        NetError::Timeout => Failure::Timeout,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => Failure::Refused,
        NetError::Dns(DnsError::NoRecordsFound(n)) if n.response_code == ResponseCode::NXDomain => {
            Failure::Nx
        }
        NetError::Dns(DnsError::NoRecordsFound(n)) if n.response_code == ResponseCode::Refused => {
            Failure::Refused
        }
        _ => Failure::Other,
    }
}
