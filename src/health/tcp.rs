//! `check` alone: a TCP connection is opened and closed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::outcome::{CheckStatus, Outcome};

/// Connects within `timeout`; the outcome names what happened.
pub async fn connect(
    target: SocketAddr,
    timeout: Duration,
) -> (Result<TcpStream, Outcome>, Instant) {
    let start = Instant::now();
    let res = match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Outcome {
            status: CheckStatus::L4Con,
            code: None,
            info: Some(io_words(&e)),
            duration: start.elapsed(),
        }),
        Err(_) => Err(Outcome {
            status: CheckStatus::L4Tout,
            code: None,
            info: None,
            duration: start.elapsed(),
        }),
    };
    (res, start)
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
pub async fn check(target: SocketAddr, timeout: Duration) -> Outcome {
    match connect(target, timeout).await {
        (Ok(_), start) => Outcome {
            status: CheckStatus::L4Ok,
            code: None,
            info: None,
            duration: start.elapsed(),
        },
        (Err(o), _) => o,
    }
}
