//! `option httpchk`: one HTTP request on a new connection, judged by its
//! status (2xx and 3xx pass unless `http-check expect` says otherwise) or
//! by its body.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::outcome::{CheckStatus, Outcome};
use super::tcp::Dial;
use crate::runtime::check::{CheckProxy, CheckTls, Expect, HttpCheck, HttpExchange};

/// The most of a response a check reads (HAProxy reads one buffer).
const MAX_RESPONSE: usize = 16 * 1024;

/// Parses "HTTP/1.x CODE REASON" at the start of `buf`, once the line is complete.
fn status_line(buf: &[u8]) -> Option<Result<(u16, String), ()>> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| ()).ok();
    let parsed = line.and_then(|l| {
        let mut parts = l.splitn(3, ' ');
        let ver = parts.next()?;
        let code = parts.next()?;
        if !ver.starts_with("HTTP/1.") || code.len() != 3 {
            return None;
        }
        let code: u16 = code.parse().ok().filter(|c| (100..=599).contains(c))?;
        Some((code, parts.next().unwrap_or("").to_string()))
    });
    Some(parsed.ok_or(()))
}

fn body_of(buf: &[u8]) -> &[u8] {
    match buf.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &buf[i + 4..],
        None => &[],
    }
}

/// Runs an HTTP check: each exchange on its own connection (connect
/// within `connect_timeout`, then the exchange within `read_timeout`);
/// the first that fails is the check's result, with its comment.
pub async fn check(
    dial: Dial<'_>,
    spec: &HttpCheck,
    state: Option<&str>,
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Outcome {
    let start = std::time::Instant::now();
    let mut last = None;
    for x in &spec.exchanges {
        let (to, tls, proxy) = dial.for_step(x.connect.as_ref());
        // `http-check send-state`: how the server is seen, in a header.
        let request = match state {
            Some(s) if spec.send_state => std::borrow::Cow::Owned(x.request_with_state(s)),
            _ => std::borrow::Cow::Borrowed(&x.request[..]),
        };
        let ask = Ask {
            exchange: x,
            request: &request,
            disable_on_404: spec.disable_on_404,
            peer: to,
        };
        let o = exchange(to, ask, tls.as_ref(), proxy, connect_timeout, read_timeout).await;
        if !o.status.passed() || o.status == CheckStatus::L7OkC {
            return Outcome {
                duration: start.elapsed(),
                ..o
            };
        }
        last = Some(o);
    }
    let o = last.unwrap_or(Outcome {
        info_kept: true,
        status: CheckStatus::L7Ok,
        code: None,
        info: None,
        duration: Duration::ZERO,
    });
    Outcome {
        duration: start.elapsed(),
        ..o
    }
}

/// What one exchange sends and how its answer is judged.
#[derive(Clone, Copy)]
struct Ask<'a> {
    exchange: &'a HttpExchange,
    /// The request bytes (with the state header when asked for).
    request: &'a [u8],
    /// `http-check disable-on-404`.
    disable_on_404: bool,
    /// The server checked (`dst` for the check's fetches).
    peer: SocketAddr,
}

/// One exchange on a new connection.
async fn exchange(
    target: SocketAddr,
    ask: Ask<'_>,
    tls: Option<&CheckTls>,
    proxy: Option<CheckProxy>,
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Outcome {
    let (conn, start) = super::tcp::connect(target, connect_timeout, proxy).await;
    let s = match conn {
        Ok(s) => s,
        // A connection error carries no comment in HAProxy's report.
        Err(o) => return o,
    };
    match tls {
        None => judge(s, ask, start, read_timeout).await,
        Some(t) => match super::tcp::handshake(s, t, target, start, read_timeout).await {
            Ok(s) => judge(s, ask, start, read_timeout).await,
            Err(o) => o,
        },
    }
}

/// A failure's info with the comment of the rule that failed, as HAProxy
/// reports it ("OK comment: want 201").
fn commented(o: Outcome, comment: Option<&str>) -> Outcome {
    let Some(c) = comment else { return o };
    let info = match o.info {
        Some(i) if !i.is_empty() => format!("{i} comment: {c}"),
        _ => format!("comment: {c}"),
    };
    Outcome {
        info: Some(info),
        ..o
    }
}

/// Sends the check request on `s` and judges the answer.
async fn judge<S>(
    mut s: S,
    ask: Ask<'_>,
    start: std::time::Instant,
    read_timeout: Duration,
) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (spec, disable_on_404) = (ask.exchange, ask.disable_on_404);
    // A passing check carries no info text in HAProxy's messages.
    let out = |status: CheckStatus, code, info: Option<String>| Outcome {
        info_kept: true,
        status,
        code,
        info: info.filter(|_| status != CheckStatus::L7Ok),
        duration: start.elapsed(),
    };
    let exchange = async {
        s.write_all(ask.request).await?;
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await?;
            buf.extend_from_slice(&chunk[..n]);
            let have_status = status_line(&buf).is_some();
            // A header expect waits for the whole header block.
            let end: &[u8] = if needs_headers(spec) {
                b"\r\n\r\n"
            } else {
                b"\r\n"
            };
            let done = n == 0
                || buf.len() >= MAX_RESPONSE
                || (have_status
                    && (!needs_body(spec) || spec.head)
                    && buf.windows(end.len()).any(|w| w == end));
            if done {
                return Ok::<Vec<u8>, std::io::Error>(buf);
            }
        }
    };
    let buf = match tokio::time::timeout(read_timeout, exchange).await {
        Err(_) => return out(CheckStatus::L7Tout, None, None),
        Ok(Err(e)) => return out(CheckStatus::L7Rsp, None, Some(super::tcp::io_words(&e))),
        Ok(Ok(b)) => b,
    };
    let (code, reason) = match status_line(&buf) {
        Some(Ok(x)) => x,
        Some(Err(())) | None if buf.is_empty() => {
            return out(CheckStatus::L7Rsp, None, Some("empty response".into()))
        }
        _ => return out(CheckStatus::L7Rsp, None, Some("invalid response".into())),
    };
    // `http-check disable-on-404`: up, but out of load balancing.
    if disable_on_404 && code == 404 {
        return out(CheckStatus::L7OkC, Some(code), None);
    }
    if spec.expect.is_empty() {
        let status = if (200..400).contains(&code) {
            CheckStatus::L7Ok
        } else {
            CheckStatus::L7Sts
        };
        return out(status, Some(code), Some(reason));
    }
    let body = body_of(&buf);
    // What `set-var` and the `-lf` patterns read: the response head and
    // the check's variables.
    // The head with its blank line, which httparse needs to call it whole.
    let whole = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&buf[..], |i| &buf[..i + 4]);
    let head = response_head(whole);
    let mut vars = crate::rules::facts::Vars::default();
    let world = crate::rules::facts::NoWorld;
    let env = crate::rules::action::Env {
        src: SocketAddr::from(([0, 0, 0, 0], 0)),
        dst: ask.peer,
        frontend: "",
        backend: None,
        server: None,
        req_body_len: None,
        world: &world,
        conn: crate::rules::facts::ConnFacts::none(),
        stream: None,
        unique_id_format: None,
        tracked: Default::default(),
    };
    let view = head
        .as_ref()
        .map(|h| crate::rules::http::View { buf: &buf, head: h });
    for step in &spec.expect {
        let (negate, e) = (&step.negate, &step.test);
        let (matched, on_status) = match e {
            Expect::SetVar(name, expr) => {
                let value = expr
                    .eval(&env.facts(None, view, &vars))
                    .map(|v| v.into_owned());
                // Nothing fetched: the variable stays as it was (HAProxy).
                if let Some(v) = value {
                    vars.set(name, v);
                }
                continue;
            }
            Expect::UnsetVar(name) => {
                vars.unset(name);
                continue;
            }
            Expect::Header(h) if h.needs_facts() => {
                let facts = env.facts(None, view, &vars);
                (h.matches_with(head_of(&buf), Some(&facts)), true)
            }
            Expect::Status(ranges) => (ranges.iter().any(|(a, b)| (*a..=*b).contains(&code)), true),
            Expect::Rstatus(re) => (re.is_match(&code.to_string()), true),
            Expect::String(s) => (
                body.windows(s.len().max(1)).any(|w| w == s.as_bytes()),
                false,
            ),
            Expect::Rstring(re) => (re.is_match(&String::from_utf8_lossy(body)), false),
            // A header mismatch is a wrong status, as in HAProxy.
            Expect::Header(h) => (h.matches(head_of(&buf)), true),
        };
        if matched == *negate {
            let status = if on_status {
                CheckStatus::L7Sts
            } else {
                CheckStatus::L7Rsp
            };
            let info = if on_status {
                reason
            } else {
                "TCPCHK did not match content".into()
            };
            return commented(out(status, Some(code), Some(info)), step.comment.as_deref());
        }
    }
    out(CheckStatus::L7Ok, Some(code), None)
}

fn needs_headers(spec: &HttpExchange) -> bool {
    spec.expect
        .iter()
        .any(|e| matches!(e.test, Expect::Header(_) | Expect::SetVar(..)))
}

/// The response up to its blank line (all of it when there is none).
/// The response head as the rules read it (`res.hdr`, `res.fhdr`...).
fn response_head(head: &[u8]) -> Option<crate::rules::http::Head> {
    use crate::rules::http::{Field, Head, Text};
    let mut raw = [httparse::EMPTY_HEADER; 101];
    let mut resp = httparse::Response::new(&mut raw);
    // Only a whole head: its status line is then at least "HTTP/1.x NNN".
    if !matches!(resp.parse(head), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    // Offsets of the parsed parts in `head` (they are slices of it).
    let at = |part: &[u8]| {
        let start = (part.as_ptr() as usize).saturating_sub(head.as_ptr() as usize);
        Text::At(start..start + part.len())
    };
    Some(Head {
        first: Text::At(9..12),
        second: resp.reason.map(|r| at(r.as_bytes())).unwrap_or_default(),
        minor: resp.version.unwrap_or(1),
        fields: resp
            .headers
            .iter()
            .map(|h| Field {
                name: at(h.name.as_bytes()),
                value: at(h.value),
            })
            .collect(),
    })
}

fn head_of(buf: &[u8]) -> &[u8] {
    match buf.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &buf[..i + 2],
        None => buf,
    }
}

fn needs_body(spec: &HttpExchange) -> bool {
    spec.expect
        .iter()
        .any(|e| matches!(e.test, Expect::String(_) | Expect::Rstring(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads_for_the_check_rules() {
        // Cut heads (whatever a server sent) give no view, and no panic.
        for cut in [&b"HTTP"[..], b"HTTP/1.1 2", b"HTTP/1.1 200 OK\r\nX: y\r\n"] {
            assert!(response_head(cut).is_none());
        }
        let buf = b"HTTP/1.1 200 OK\r\nX-Name: x-role\r\n\r\n";
        let h = response_head(buf).expect("a whole head");
        let v = crate::rules::http::View { buf, head: &h };
        assert_eq!(v.lines(b"x-name").next(), Some(&b"x-role"[..]));
        assert_eq!(h.first.of(buf), b"200");
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            status_line(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some(Ok((503, "Service Unavailable".into())))
        );
        assert_eq!(status_line(b"HTTP/1.1 200"), None);
        assert_eq!(status_line(b"SSH-2.0\r\n"), Some(Err(())));
    }
}
