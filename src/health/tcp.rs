//! `check` alone: a TCP connection is opened and closed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::outcome::{CheckStatus, Outcome};
use crate::config::model::CheckConnect;
use crate::runtime::check::{CheckProxy, CheckTls};

/// Connects within `timeout`, then sends the PROXY header of
/// `check-send-proxy` if any; the outcome names what happened.
pub async fn connect(
    target: SocketAddr,
    timeout: Duration,
    proxy: Option<CheckProxy>,
) -> (Result<TcpStream, Outcome>, Instant) {
    let start = Instant::now();
    let res = match tokio::time::timeout(timeout, dial(target, proxy)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Outcome {
            info_kept: true,
            status: CheckStatus::L4Con,
            code: None,
            info: Some(io_words(&e)),
            duration: start.elapsed(),
        }),
        Err(_) => Err(Outcome {
            info_kept: true,
            status: CheckStatus::L4Tout,
            code: None,
            info: None,
            duration: start.elapsed(),
        }),
    };
    (res, start)
}

/// Opens a check connection to `target`, with the PROXY header first when
/// the server wants one.
pub async fn dial(target: SocketAddr, proxy: Option<CheckProxy>) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(target).await?;
    if let Some(p) = proxy {
        use tokio::io::AsyncWriteExt;
        let header = p.header(s.local_addr()?, target);
        s.write_all(&header).await?;
    }
    Ok(s)
}

/// Where and how a check connects: the server's check address with its
/// TLS and PROXY settings, and the TLS configuration that the `ssl` of
/// `http-check connect` and `tcp-check connect` steps uses.
#[derive(Debug, Clone, Copy)]
pub struct Dial<'a> {
    /// The server's check address.
    pub target: SocketAddr,
    /// `check-ssl` (or an `ssl` server checked on its port).
    pub tls: Option<&'a CheckTls>,
    /// `check-send-proxy`.
    pub proxy: Option<CheckProxy>,
    /// The TLS settings a `connect ... ssl` step uses.
    pub step_tls: Option<&'a CheckTls>,
}

impl Dial<'_> {
    /// Where an exchange connects, with what TLS and PROXY header: the
    /// server's settings for an exchange without `connect`; a `connect`
    /// step's own options, the server's where it says `default`.
    pub fn for_step(
        &self,
        c: Option<&CheckConnect>,
    ) -> (SocketAddr, Option<CheckTls>, Option<CheckProxy>) {
        let Some(c) = c else {
            return (self.target, self.tls.cloned(), self.proxy);
        };
        let ip = c.addr.unwrap_or(self.target.ip());
        let port = c.port.unwrap_or(self.target.port());
        let tls = if c.ssl {
            self.step_tls.or(self.tls).map(|t| CheckTls {
                sni: c.sni.clone().or(t.sni.clone()),
                ..t.clone()
            })
        } else if c.default {
            self.tls.cloned()
        } else {
            None
        };
        let proxy = match (c.send_proxy, c.default) {
            (true, _) => Some(self.proxy.unwrap_or(CheckProxy::V1)),
            (false, true) => self.proxy,
            (false, false) => None,
        };
        (SocketAddr::new(ip, port), tls, proxy)
    }
}

/// A check connection: TCP, or TLS over it.
pub trait CheckIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> CheckIo for T {}

/// "Connection refused" rather than "Connection refused (os error 111)".
pub fn io_words(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A TCP check.
pub async fn check(target: SocketAddr, timeout: Duration, proxy: Option<CheckProxy>) -> Outcome {
    match connect(target, timeout, proxy).await {
        (Ok(_), start) => Outcome {
            info_kept: true,
            status: CheckStatus::L4Ok,
            code: None,
            info: None,
            duration: start.elapsed(),
        },
        (Err(o), _) => o,
    }
}

/// The TLS handshake of a `check-ssl` check, within `timeout`: L6TOUT or
/// L6RSP (with rustls's words) when it fails.
pub async fn handshake(
    tcp: TcpStream,
    tls: &crate::runtime::check::CheckTls,
    target: SocketAddr,
    start: Instant,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Outcome> {
    use rustls::pki_types::ServerName;
    let name = match tls.sni.clone().and_then(|n| ServerName::try_from(n).ok()) {
        Some(n) => n,
        None => ServerName::IpAddress(target.ip().into()),
    };
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Outcome {
            info_kept: true,
            status: CheckStatus::L6Rsp,
            code: None,
            info: Some(io_words(&e)),
            duration: start.elapsed(),
        }),
        Err(_) => Err(Outcome {
            info_kept: true,
            status: CheckStatus::L6Tout,
            code: None,
            info: None,
            duration: start.elapsed(),
        }),
    }
}

/// A `check-ssl` check without HTTP: connect, then the TLS handshake.
pub async fn check_tls(
    target: SocketAddr,
    tls: &crate::runtime::check::CheckTls,
    connect_timeout: Duration,
    timeout: Duration,
    proxy: Option<CheckProxy>,
) -> Outcome {
    match connect(target, connect_timeout, proxy).await {
        (Ok(s), start) => match handshake(s, tls, target, start, timeout).await {
            Ok(_) => Outcome {
                info_kept: true,
                status: CheckStatus::L6Ok,
                code: None,
                info: None,
                duration: start.elapsed(),
            },
            Err(o) => o,
        },
        (Err(o), _) => o,
    }
}
