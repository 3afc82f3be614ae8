//! `check` alone: a TCP connection is opened and closed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::outcome::{CheckStatus, Outcome};
use crate::runtime::check::CheckProxy;

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
