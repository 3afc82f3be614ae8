//! Answers the proxy writes itself: error pages (the proxy's `errorfile`
//! first, then HAProxy's page), and the answers rules produce (`deny`,
//! `return`, `redirect`, `auth`). Phases build them; only this file and
//! the forwarding code write to the client.

use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::access::{Access, Term};
use super::reply::Status;
use crate::rules::action::Answer;
use crate::runtime::{Backend, Frontend};

/// Writes `bytes`, within `timeout` when there is one.
pub async fn send(client: &mut TcpStream, bytes: &[u8], timeout: Option<Duration>) -> bool {
    let w = client.write_all(bytes);
    match timeout {
        Some(t) => matches!(tokio::time::timeout(t, w).await, Ok(Ok(()))),
        None => w.await.is_ok(),
    }
}

/// Answers with an error page and closes: the backend's `errorfile` for
/// that status if it has one, else the frontend's, else HAProxy's page.
pub async fn error(
    client: &mut TcpStream,
    status: Status,
    fe: &Frontend,
    be: Option<&Backend>,
    access: &Access,
    term: Term,
) {
    access.status.set(status.code());
    access.end(term);
    fe.counters.proxy_errors.fetch_add(1, Relaxed);
    fe.counters.hrsp[crate::state::hrsp_class(status.code())].fetch_add(1, Relaxed);
    let custom = be
        .and_then(|b| b.errorfiles.get(&status.code()))
        .or_else(|| fe.errorfiles.get(&status.code()));
    match custom {
        Some(bytes) => send(client, bytes, fe.timeout_client).await,
        None => send(client, &status.response(), fe.timeout_client).await,
    };
    let _ = client.shutdown().await;
}

/// The bytes of an answer a rule produced. Without a body of its own, the
/// answer is the error page for its status (an `errorfile` if the proxy
/// has one), with the rule's headers added.
pub fn render(a: &Answer, fe: &Frontend, be: Option<&Backend>, close: bool) -> Vec<u8> {
    let custom = be
        .and_then(|b| b.errorfiles.get(&a.status))
        .or_else(|| fe.errorfiles.get(&a.status));
    if let (None, Some(file)) = (&a.body, custom) {
        return file.to_vec();
    }
    let mut out = Vec::with_capacity(256);
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        a.status,
        crate::rules::reason_phrase(a.status)
    );
    let page;
    let body: &[u8] = match &a.body {
        Some(b) => b,
        None => {
            page = super::reply::page_body(a.status);
            page.as_bytes()
        }
    };
    // HAProxy's order: length, cache-control, type, then the rule's own.
    let _ = write!(out, "content-length: {}\r\n", body.len());
    if a.body.is_none() || a.status >= 300 {
        out.extend_from_slice(b"cache-control: no-cache\r\n");
    }
    if a.body.is_none() {
        out.extend_from_slice(b"content-type: text/html\r\n");
    }
    for (n, v) in &a.headers {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
