//! Choosing a server and connecting to it: the server's `maxconn` queue,
//! `timeout connect`, `retries`, and `option redispatch` (the last retry goes
//! to another server), with HAProxy's turn-around pause of min(1s,
//! `timeout connect`) before retrying after a refused connection.

use crate::runtime::Traffic;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::balance::RequestKey;
use crate::runtime::Backend;
use crate::state::SessionGuard;

/// A connection to a server, with what keeps its slot counted.
#[derive(Debug)]
pub struct Connected<'b> {
    /// The connection.
    pub stream: crate::proxy::stream::Stream,
    /// The server's index in its backend.
    pub server: usize,
    /// The server itself, so that its counters are reached without
    /// indexing the backend again.
    pub srv: &'b crate::runtime::Server,
    /// Counts the session on the server until dropped.
    pub session: SessionGuard,
    /// The server's `maxconn` slot, if it has a limit.
    pub slot: Option<OwnedSemaphorePermit>,
    /// The connection came from the idle pool (it may have been closed
    /// by the server meanwhile: a request may be retried once on a new one).
    pub reused: bool,
}

/// What getting a server connection took, for the log line (%rc, %Tw,
/// %Tc, and %s when it failed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempts {
    /// The server tried last.
    pub server: Option<usize>,
    /// Connection attempts after the first.
    pub retries: u32,
    /// The last attempt went to another server (`option redispatch`).
    pub redispatched: bool,
    /// Time spent waiting for a `maxconn` slot.
    pub queue: Duration,
    /// Time spent connecting (every attempt), None before any.
    pub connect: Option<Duration>,
    /// A connection was had (else %Tc logs as -1).
    pub established: bool,
}

/// Why no server connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Every server is down, in maintenance or has weight 0.
    #[error("no server available")]
    NoServer,
    /// The server stayed full for `timeout queue`.
    #[error("timeout in queue")]
    QueueTimeout,
    /// Every attempt failed.
    #[error("connection to server failed: {0}")]
    Failed(std::io::Error),
}

/// A client session's own idle server connection, with its target
/// (`http-reuse never` keeps it there rather than in the shared pool).
/// Boxed: most sessions never hold one, and an idle session's task should
/// stay small.
pub type SessionConn = std::cell::RefCell<Option<Box<(SocketAddr, crate::proxy::stream::Stream)>>>;

/// Which idle connection a request may go on (`http-reuse`).
#[derive(Clone, Copy)]
pub enum Reuse<'a> {
    /// A new connection.
    New,
    /// One of the worker's pool.
    Pool(super::pool::Want),
    /// Only the client session's own previous one.
    Session(&'a SessionConn, super::pool::Want),
}

/// What a PROXY header sent to a server says of the client (`send-proxy`,
/// `send-proxy-v2` and its `proxy-v2-options`).
pub struct ProxySource<'a> {
    /// The client's address.
    pub src: SocketAddr,
    /// The address it reached.
    pub dst: SocketAddr,
    /// The client connection's TLS and PROXY TLVs.
    pub conn: &'a crate::rules::facts::ConnFacts,
    /// The request's unique ID, made beforehand when a server sends it.
    pub unique_id: Option<&'a [u8]>,
}

impl ProxySource<'_> {
    /// The header server `s` gets.
    fn header(&self, s: &crate::runtime::Server) -> Vec<u8> {
        use super::proxyproto::tlv;
        if !s.send_proxy_v2 {
            return super::proxyproto::v1_header(self.src, self.dst).into_bytes();
        }
        let o = &s.proxy_v2_options;
        let mut tlvs: Vec<(u8, Vec<u8>)> = Vec::new();
        if o.authority {
            // The authority a PROXY header in front of us gave, else SNI.
            let received = self.conn.proxy_tlv(tlv::AUTHORITY);
            let sni = self.conn.tls.as_ref().and_then(|t| t.sni.as_deref());
            if let Some(a) = received.or(sni.map(str::as_bytes)) {
                tlvs.push((tlv::AUTHORITY, a.to_vec()));
            }
        }
        if let (true, Some(id)) = (o.unique_id, self.unique_id) {
            tlvs.push((tlv::UNIQUE_ID, id.to_vec()));
        }
        if o.ssl {
            tlvs.push((tlv::SSL, ssl_tlv(self.conn.tls.as_deref(), o)));
        }
        let refs: Vec<(u8, &[u8])> = tlvs.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        super::proxyproto::v2_header_with(self.src, self.dst, &refs, o.crc32c)
    }
}

/// The SSL TLV's value as HAProxy writes it: the client flags (SSL,
/// certificate on this connection and in the session), the verify result,
/// then the version and, when asked, the certificate's CN and the cipher.
fn ssl_tlv(
    tls: Option<&crate::rules::facts::TlsFacts>,
    o: &crate::runtime::ProxyV2Options,
) -> Vec<u8> {
    use super::proxyproto::tlv;
    const CLIENT_SSL: u8 = 0x01;
    const CERT_CONN: u8 = 0x02;
    const CERT_SESS: u8 = 0x04;
    // The client flags, then the verify result (a u32).
    let Some(t) = tls else { return vec![0u8; 5] };
    let mut client = CLIENT_SSL;
    if t.client_cert {
        // A certificate that failed verification never completes a
        // handshake here, so the verify result is 0 (success).
        client |= CERT_CONN | CERT_SESS;
    }
    let mut v = vec![client, 0, 0, 0, 0];
    let mut sub = |kind: u8, value: &[u8]| {
        // A sub-TLV's length is a u16: longer values are cut.
        let value = value.get(..usize::from(u16::MAX)).unwrap_or(value);
        v.push(kind);
        v.extend_from_slice(&(value.len() as u16).to_be_bytes());
        v.extend_from_slice(value);
    };
    if let Some(p) = &t.protocol {
        sub(tlv::SSL_VERSION, p.as_bytes());
    }
    if o.cert_cn {
        if let Some(cn) = t.client_dn.as_deref().and_then(common_name) {
            sub(tlv::SSL_CN, cn.as_bytes());
        }
    }
    if o.ssl_cipher {
        if let Some(c) = &t.cipher {
            sub(tlv::SSL_CIPHER, c.as_bytes());
        }
    }
    v
}

/// The CN of a `/C=../CN=..` subject.
fn common_name(dn: &str) -> Option<&str> {
    dn.split('/').find_map(|part| part.strip_prefix("CN="))
}

/// Connects to a server of `be` for a client that reached us on `local_port`.
/// With `reuse`, an idle pooled connection to the chosen server is taken first;
/// `forced` is the server persistence chose, if any. What it took comes
/// back beside the outcome, for the log.
pub async fn connect<'b>(
    be: &'b Backend,
    key: &RequestKey<'_>,
    local_port: u16,
    reuse: Reuse<'_>,
    forced: Option<usize>,
    client: &ProxySource<'_>,
    sni: &dyn Fn(usize) -> Option<String>,
) -> (Result<Connected<'b>, ConnectError>, Attempts) {
    let mut attempts = Attempts::default();
    let outcome = try_servers(
        be,
        key,
        local_port,
        reuse,
        forced,
        client,
        sni,
        &mut attempts,
    )
    .await;
    (outcome, attempts)
}

#[allow(clippy::too_many_arguments)] // the parameters of `connect`, plus its record
async fn try_servers<'b>(
    be: &'b Backend,
    key: &RequestKey<'_>,
    local_port: u16,
    reuse: Reuse<'_>,
    forced: Option<usize>,
    client: &ProxySource<'_>,
    sni: &dyn Fn(usize) -> Option<String>,
    attempts: &mut Attempts,
) -> Result<Connected<'b>, ConnectError> {
    // A server chosen by persistence comes first; retries may still move on.
    let mut server = match forced {
        Some(s) => s,
        None => be.balancer.pick(key, None).ok_or(ConnectError::NoServer)?,
    };
    // An index that names no server of this backend (a persisted one from
    // before a reload, say) is no server.
    let mut s = be.servers.get(server).ok_or(ConnectError::NoServer)?;
    let mut last_err = None;
    for attempt in 0..=be.retries {
        if attempt > 0 {
            attempts.retries = attempt;
            s.state.retries.fetch_add(1, Relaxed);
            if be.redispatch.is_some_and(|r| r.at(attempt, be.retries)) {
                if let Some(other) = be.balancer.pick(key, Some(server)) {
                    if other != server {
                        s.state.redispatches.fetch_add(1, Relaxed);
                        server = other;
                        s = be.servers.get(server).ok_or(ConnectError::NoServer)?;
                        attempts.redispatched = true;
                    }
                }
            }
        }
        attempts.server = Some(server);
        let queued = std::time::Instant::now();
        let slot = match &s.limit {
            None => None,
            Some(limit) => {
                let wait = limit.semaphore().clone().acquire_owned();
                let permit = match be.timeout_queue {
                    Some(t) => tokio::time::timeout(t, wait).await.map_err(|_| {
                        attempts.queue += queued.elapsed();
                        ConnectError::QueueTimeout
                    })?,
                    None => wait.await,
                };
                attempts.queue += queued.elapsed();
                // The semaphore is never closed; a closed one means no slot.
                Some(permit.map_err(|_| ConnectError::NoServer)?)
            }
        };
        let connecting = std::time::Instant::now();
        let target = s.target(local_port);
        // A PROXY header is per connection: such servers get no reuse.
        let idle = match reuse {
            _ if attempt > 0 || s.send_proxy => None,
            Reuse::New => None,
            Reuse::Pool(want) => super::pool::take(target, want, s.pool),
            Reuse::Session(slot, want) => slot
                .borrow_mut()
                .take_if(|b| b.0 == target)
                .map(|b| b.1)
                .filter(|c| !(want.probe && c.peer_gone())),
        };
        {
            if let Some(stream) = idle {
                attempts.connect = Some(attempts.connect.unwrap_or_default());
                attempts.established = true;
                s.observe(Traffic::L4Ok);
                return Ok(Connected {
                    stream,
                    server,
                    srv: s,
                    session: s.state.session(),
                    slot,
                    reused: true,
                });
            }
        }
        let attempt_result = match be.timeout_connect {
            Some(t) => tokio::time::timeout(t, TcpStream::connect(target))
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
            None => TcpStream::connect(target).await,
        };
        attempts.connect = Some(attempts.connect.unwrap_or_default() + connecting.elapsed());
        match attempt_result {
            Ok(mut stream) => {
                let _ = stream.set_nodelay(true);
                if s.send_proxy {
                    use tokio::io::AsyncWriteExt;
                    let header = client.header(s);
                    if let Err(e) = stream.write_all(&header).await {
                        s.state.connect_errors.fetch_add(1, Relaxed);
                        last_err = Some(e);
                        continue;
                    }
                }
                if be.server_keepalive {
                    let _ = socket2::SockRef::from(&stream).set_keepalive(true);
                }
                let stream = match &s.tls {
                    None => stream.into(),
                    Some(tls) => {
                        // Boxed: plain exchanges should not carry the
                        // handshake's (large) state in their future.
                        match Box::pin(tls_handshake(
                            stream,
                            tls,
                            s,
                            sni(server),
                            be.timeout_connect,
                        ))
                        .await
                        {
                            Ok(t) => t,
                            Err(e) => {
                                s.state.connect_errors.fetch_add(1, Relaxed);
                                s.observe(Traffic::L4Err);
                                tracing::warn!(backend = %be.name, server = %s.name, %target, error = %e, "TLS handshake with the server failed");
                                last_err = Some(e);
                                continue;
                            }
                        }
                    }
                };
                attempts.established = true;
                return Ok(Connected {
                    stream,
                    server,
                    srv: s,
                    session: s.state.session(),
                    slot,
                    reused: false,
                });
            }
            Err(e) => {
                s.state.connect_errors.fetch_add(1, Relaxed);
                s.observe(Traffic::L4Err);
                tracing::debug!(backend = %be.name, server = %s.name, %target, error = %e, "connect failed");
                let timed_out = e.kind() == std::io::ErrorKind::TimedOut;
                last_err = Some(e);
                if attempt < be.retries && !timed_out {
                    let pause = be
                        .timeout_connect
                        .unwrap_or(Duration::from_secs(1))
                        .min(Duration::from_secs(1));
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
    Err(ConnectError::Failed(
        last_err.unwrap_or_else(|| std::io::ErrorKind::Other.into()),
    ))
}

/// The client side of a TLS handshake with a server (`server ... ssl`):
/// SNI when the server has an `sni` expression that gave a name, else none
/// (the server's address stands for the name to check).
async fn tls_handshake(
    tcp: TcpStream,
    tls: &crate::runtime::ServerTls,
    s: &crate::runtime::Server,
    sni: Option<String>,
    timeout: Option<Duration>,
) -> std::io::Result<crate::proxy::stream::Stream> {
    use rustls::pki_types::ServerName;
    // The name to check: the SNI sent, else `verifyhost`, else the
    // address (whose name is not checked: see tls::ChainVerifier).
    let name = match sni
        .or_else(|| tls.verifyhost.clone())
        .and_then(|n| ServerName::try_from(n).ok())
    {
        Some(n) => n,
        None => ServerName::IpAddress(s.addr.ip().into()),
    };
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let handshake = connector.connect(name, tcp);
    let t = match timeout {
        Some(t) => tokio::time::timeout(t, handshake)
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))?,
        None => handshake.await?,
    };
    Ok(crate::proxy::stream::Stream::TlsClient(Box::new(t)))
}
