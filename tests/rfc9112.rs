//! RFC 9110 and RFC 9112, clause by clause, for what a proxy must refuse or
//! normalise. Each row names its clause, sends its bytes to fulcrum and to
//! Debian's HAProxy 2.6 (each in front of a recording backend), and
//! asserts what the client got and what the backend saw. The `haproxy`
//! column says whether HAProxy does the same; where it does not, the row
//! says what it does instead and why fulcrum's answer is the safe one.
//!
//! Where the RFC leaves a choice, the row says which one fulcrum makes.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::haproxy::{haproxy_bin, Haproxy};
use common::net::{connect, free_port, read_response, Answer, Fulcrum, HttpBackend};

/// What the client must get, and what the backend must see.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Refused with this status; the backend sees nothing.
    Refused(u16),
    /// Forwarded (the backend's 200); `seen` checks the head the backend
    /// got (lower-cased).
    Forwarded(fn(&str) -> bool),
    /// The backend's raw answer (the row's `answer`) reached the client;
    /// the check reads the response as the client got it (head
    /// lower-cased, a blank line, the body).
    Relayed(fn(&str) -> bool),
    /// Relayed as [`Expect::Relayed`], then the client's connection was
    /// closed.
    RelayedThenClosed(fn(&str) -> bool),
    /// The backend's raw answer was refused: the client got a 502.
    BadGateway,
}

/// Whether HAProxy 2.6 does what fulcrum does.
#[derive(Clone, Copy, Debug)]
enum Haproxy26 {
    Same,
    /// HAProxy answers otherwise: its status (0: it forwards), and why
    /// fulcrum's choice stands.
    Differs(u16, &'static str),
}

struct Row {
    clause: &'static str,
    /// The request. In a row with an `answer`, the target `/R` is replaced
    /// by the path that routes to that row's own backend.
    bytes: &'static [u8],
    expect: Expect,
    haproxy: Haproxy26,
    /// What the backend answers, as raw bytes; None: the recording
    /// backend's 200.
    answer: Option<&'static [u8]>,
}

/// A row's defaults: the recording backend answers.
const ROW: Row = Row {
    clause: "",
    bytes: b"",
    expect: Expect::BadGateway,
    haproxy: Haproxy26::Same,
    answer: None,
};

/// The request a response row sends.
const GET_R: &[u8] = b"GET /R HTTP/1.1\r\nHost: t\r\n\r\n";

fn has(h: &str, needle: &str) -> bool {
    h.contains(needle)
}

#[path = "rfc9112/rows.rs"]
mod rows;
use rows::ROWS;

/// One side of the comparison: a proxy in front of the recording backend,
/// and one raw backend per response row.
struct Side {
    port: u16,
    recording: HttpBackend,
    raw: Vec<Option<HttpBackend>>,
}

impl Side {
    fn new() -> Side {
        let raw = ROWS
            .iter()
            .map(|r| {
                // A row about the close must not see the server's close.
                let hold = matches!(r.expect, Expect::RelayedThenClosed(_));
                r.answer.map(|a| {
                    HttpBackend::with(if hold {
                        Answer::RawThenHold(a)
                    } else {
                        Answer::Raw(a)
                    })
                })
            })
            .collect();
        Side {
            port: free_port(),
            recording: HttpBackend::start("ok"),
            raw,
        }
    }

    /// A response row `i` is routed by its path, /r{i}, to its own backend.
    fn config(&self) -> String {
        let mut c = format!(
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    timeout http-request 2s\nfrontend web\n    bind 127.0.0.1:{}\n    default_backend rec\n",
            self.port
        );
        let raw: Vec<_> = self
            .raw
            .iter()
            .enumerate()
            .filter_map(|(i, b)| Some((i, b.as_ref()?)))
            .collect();
        for (i, _) in &raw {
            c += &format!("    use_backend r{i} if {{ path /r{i} }}\n");
        }
        c += &format!("backend rec\n    server s {}\n", self.recording.addr);
        for (i, b) in &raw {
            c += &format!("backend r{i}\n    server s {}\n", b.addr);
        }
        c
    }

    /// Sends row `i`: the status the client got (0: none), the response as
    /// it got it (head lower-cased, blank line, body), and the head the
    /// recording backend saw for it, if any.
    fn send(&self, i: usize, row: &Row) -> (u16, String, Option<String>) {
        let mut bytes = row.bytes.to_vec();
        if row.answer.is_some() {
            let at = bytes.windows(3).position(|w| w == b"/R ").unwrap_or(0);
            bytes.splice(at..at + 2, format!("/r{i}").into_bytes());
        }
        let before = self.recording.requests().len();
        let mut c = connect(self.port);
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let _ = c.write_all(&bytes);
        let (status, text) = if matches!(row.expect, Expect::RelayedThenClosed(_)) {
            closing_answer(&mut c)
        } else {
            match read_response(&mut c, &mut Vec::new()) {
                Some(r) => (
                    r.status,
                    format!(
                        "{}\r\n\r\n{}",
                        r.head.to_ascii_lowercase().trim_end(),
                        String::from_utf8_lossy(&r.body)
                    ),
                ),
                None => (0, String::new()),
            }
        };
        let seen = self.recording.requests();
        let head = seen.get(before).map(|s| s.head.to_ascii_lowercase());
        (status, text, head)
    }
}

/// Reads a chunked answer up to its last chunk, then whether the proxy
/// closes the connection at once (well before `timeout client`): the
/// status, and the answer as read, lower-cased, with "\n<closed>" after
/// it if it closed.
fn closing_answer(c: &mut std::net::TcpStream) -> (u16, String) {
    let mut got = Vec::new();
    let mut tmp = [0u8; 4096];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !got.ends_with(b"0\r\n\r\n") && std::time::Instant::now() < deadline {
        match c.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&tmp[..n]),
        }
    }
    let mut text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    c.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    if matches!(c.read(&mut tmp), Ok(0)) {
        text += "\n<closed>";
    }
    (status, text)
}

/// Whether a row's outcome is what `expect` says.
fn holds(expect: Expect, status: u16, text: &str, head: &Option<String>) -> bool {
    match (expect, head) {
        (Expect::Refused(want), None) => status == want,
        (Expect::Forwarded(check), Some(h)) => status == 200 && check(h),
        (Expect::Relayed(check), None) => status != 502 && check(text),
        (Expect::RelayedThenClosed(check), None) => {
            status != 502 && text.strip_suffix("\n<closed>").is_some_and(check)
        }
        (Expect::BadGateway, None) => status == 502,
        _ => false,
    }
}

#[test]
fn the_clause_table() {
    let ours = Side::new();
    let _f = Fulcrum::start(&ours.config());
    let haproxy = std::path::Path::new(&haproxy_bin()).exists().then(|| {
        let side = Side::new();
        let h = Haproxy::start(&side.config(), &[side.port]);
        (h, side)
    });
    let mut failures = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        let (status, text, head) = ours.send(i, row);
        if !holds(row.expect, status, &text, &head) {
            failures.push(format!(
                "{}: want {:?}; fulcrum: status {status}, backend saw {head:?}, client got {text:?}",
                row.clause, row.expect
            ));
        }
        if let Some((_, side)) = &haproxy {
            let (hstatus, htext, hhead) = side.send(i, row);
            let same = holds(row.expect, hstatus, &htext, &hhead);
            match (row.haproxy, same) {
                (Haproxy26::Same, true) => {}
                (Haproxy26::Differs(s, why), false) if s == 0 || s == hstatus => {
                    eprintln!("differs from HAProxy 2.6: {}: {why}", row.clause);
                }
                _ => failures.push(format!(
                    "{}: the table says HAProxy {:?}; HAProxy answered {hstatus}, its backend saw {hhead:?}, client got {htext:?}",
                    row.clause, row.haproxy
                )),
            }
        }
    }
    assert!(ROWS.len() >= 80, "the table keeps at least 80 clauses");
    assert!(
        failures.is_empty(),
        "{} of {} rows:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}

/// RFC 9110 §7.6.1 says to drop the fields Connection names; a field a
/// rule added is the operator's and stays, whatever the client names.
/// The client's own field of the same name goes.
#[test]
fn connection_cannot_strip_what_a_rule_added() {
    let b = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         listen web\n    bind 127.0.0.1:{port}\n    http-request set-header X-Forwarded-Proto https\n    \
         http-request add-header X-Tenant blue\n    server s {}\n",
        b.addr
    ));
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.write_all(
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: x-forwarded-proto, X-Tenant, x-mine\r\n\
          X-Tenant: red\r\nX-Mine: 1\r\n\r\n",
    )
    .expect("write");
    let r = read_response(&mut c, &mut Vec::new()).expect("response");
    assert_eq!(r.status, 200);
    let seen = b.requests();
    let head = seen
        .first()
        .expect("the backend got it")
        .head
        .to_ascii_lowercase();
    assert!(head.contains("x-forwarded-proto: https\r\n"), "{head}");
    assert!(head.contains("x-tenant: blue\r\n"), "{head}");
    assert!(!head.contains("x-tenant: red"), "{head}");
    assert!(!head.contains("x-mine"), "{head}");
}
