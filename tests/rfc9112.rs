//! RFC 9110 and RFC 9112, clause by clause, for what a proxy must refuse or
//! normalise. Each row names its clause, sends its bytes to fulcrum and to
//! Debian's HAProxy 2.6 (each in front of a recording backend), and
//! asserts what the client got and what the backend saw. The `haproxy`
//! column says whether HAProxy does the same; where it does not, the row
//! says what it does instead and why fulcrum's answer is the safe one.
//!
//! Where the RFC leaves a choice, the row says which one fulcrum makes.

mod common;

use std::io::Write;
use std::time::Duration;

use common::haproxy::{haproxy_bin, Haproxy};
use common::net::{connect, free_port, read_response, Fulcrum, HttpBackend};

/// What the client must get, and what the backend must see.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Refused with this status; the backend sees nothing.
    Refused(u16),
    /// Forwarded (the backend's 200); `seen` checks the head the backend
    /// got (lower-cased).
    Forwarded(fn(&str) -> bool),
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
    bytes: &'static [u8],
    expect: Expect,
    haproxy: Haproxy26,
}

fn has(h: &str, needle: &str) -> bool {
    h.contains(needle)
}

const ROWS: &[Row] = &[
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    Row {
        clause: "9112 §3: a well-formed request-line is forwarded",
        bytes: b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("get /a http/1.1\r\n")),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §3: no request-target",
        bytes: b"GET HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §3: two spaces between method and target",
        bytes: b"GET  /a HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy parses on whitespace (the RFC allows it); fulcrum keeps the grammar's single SP",
        ),
    },
    Row {
        clause: "9112 §2.3: an unknown major version",
        bytes: b"GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy forwards it as HTTP/1.1; fulcrum does not guess what an unknown version means",
        ),
    },
    Row {
        clause: "9112 §2.3: a version without its minor digit",
        bytes: b"GET / HTTP/1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §3: a method with a character outside tchar",
        bytes: b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §2.2: a bare LF as line terminator (a recipient MAY accept it)",
        bytes: b"GET /lf HTTP/1.1\nHost: t\n\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy accepts it; fulcrum takes the RFC's other choice, as a lone LF is how heads get split differently by two parsers",
        ),
    },
    // RFC 9112 §3.2: request-target forms
    Row {
        clause: "9112 §3.2.2: absolute-form is accepted",
        bytes: b"GET http://t/abs HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/abs")),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §3.2.3: authority-form outside CONNECT",
        bytes: b"GET t:80 HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §3.2.4: asterisk-form outside OPTIONS",
        bytes: b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; the form is only for OPTIONS"),
    },
    Row {
        clause: "9112 §3.2.4: OPTIONS * is forwarded",
        bytes: b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("options * http/1.1\r\n")),
        haproxy: Haproxy26::Same,
    },
    // RFC 9112 §3.2: Host
    Row {
        clause: "9112 §3.2: an HTTP/1.1 request without Host",
        bytes: b"GET / HTTP/1.1\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; the RFC says a server MUST answer 400"),
    },
    Row {
        clause: "9112 §3.2: two Host fields",
        bytes: b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §3.2: an HTTP/1.0 request without Host is forwarded",
        bytes: b"GET /old HTTP/1.0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/old")),
        haproxy: Haproxy26::Same,
    },
    // RFC 9110 §5: field syntax
    Row {
        clause: "9112 §5.1: whitespace between field name and colon",
        bytes: b"GET / HTTP/1.1\r\nHost : t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §5.2: obsolete line folding",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy unfolds it into one line (§5.2 allows either); refusing is the safe choice"),
    },
    Row {
        clause: "9110 §5.1: a field name with a character outside tchar",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX(A): 1\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9110 §5.5: a NUL in a field value",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy forwards the NUL; the RFC says reject it or replace it with SP, and fulcrum rejects",
        ),
    },
    Row {
        clause: "9110 §5.5: leading and trailing whitespace of a value is not part of it",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad:   v  \r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x-pad: v\r\n")),
        haproxy: Haproxy26::Same,
    },
    // RFC 9112 §6: message body length
    Row {
        clause: "9112 §6.1: Transfer-Encoding and Content-Length together",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked") && !has(h, "content-length")),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §6.3: a Transfer-Encoding whose final coding is not chunked",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §6.1: Transfer-Encoding in an HTTP/1.0 request: framed by chunked, then closed",
        bytes: b"POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked") && has(h, "connection: close")),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it without asking the server to close"),
    },
    Row {
        clause: "9112 §6.3: two different Content-Length values",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9110 §8.6: a Content-Length list of the same value",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy folds it into one value; the RFC allows either, and fulcrum refuses a list",
        ),
    },
    Row {
        clause: "9110 §8.6: a Content-Length that is not digits",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9110 §8.6: a Content-Length larger than 64 bits",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    // RFC 9112 §7.1: chunked coding
    Row {
        clause: "9112 §7.1: a chunk size that is not hex",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
    },
    Row {
        clause: "9112 §7.1.1: chunk extensions are allowed",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        haproxy: Haproxy26::Same,
    },
    // RFC 9110 §7.6.1: Connection and hop-by-hop fields
    Row {
        clause: "9110 §7.6.1: Keep-Alive and Proxy-Connection are not forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n\r\n",
        expect: Expect::Forwarded(|h| !has(h, "keep-alive: timeout") && !has(h, "proxy-connection")),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards Keep-Alive; it is hop-by-hop"),
    },
    Row {
        clause: "9110 §10.1.4: TE other than trailers is not forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nTE: gzip, trailers\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "te: trailers\r\n") && !has(h, "gzip")),
        haproxy: Haproxy26::Same,
    },
];

fn config(port: u16, b: &HttpBackend) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    timeout http-request 2s\nlisten web\n    bind 127.0.0.1:{port}\n    server s {}\n",
        b.addr
    )
}

/// Sends a row's bytes: the status the client got (0: none), and the head
/// the backend saw for it, if any.
fn send(port: u16, b: &HttpBackend, bytes: &[u8]) -> (u16, Option<String>) {
    let before = b.requests().len();
    let mut c = connect(port);
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = c.write_all(bytes);
    let status = read_response(&mut c, &mut Vec::new()).map_or(0, |r| r.status);
    let seen = b.requests();
    let head = seen.get(before).map(|s| s.head.to_ascii_lowercase());
    (status, head)
}

#[test]
fn the_clause_table() {
    let fb = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &fb));
    let haproxy = std::path::Path::new(&haproxy_bin()).exists().then(|| {
        let hb = HttpBackend::start("ok");
        let hport = free_port();
        let h = Haproxy::start(&config(hport, &hb), &[hport]);
        (h, hb, hport)
    });
    let mut failures = Vec::new();
    for row in ROWS {
        let (status, head) = send(port, &fb, row.bytes);
        let ours = match (row.expect, &head) {
            (Expect::Refused(want), None) if status == want => Ok(()),
            (Expect::Forwarded(check), Some(h)) if status == 200 && check(h) => Ok(()),
            _ => Err(format!("fulcrum: status {status}, backend saw {head:?}")),
        };
        if let Err(e) = ours {
            failures.push(format!("{}: want {:?}; {e}", row.clause, row.expect));
        }
        if let Some((_, hb, hport)) = &haproxy {
            let (hstatus, hhead) = send(*hport, hb, row.bytes);
            let same = match (row.expect, &hhead) {
                (Expect::Refused(want), None) => hstatus == want,
                (Expect::Forwarded(check), Some(h)) => hstatus == 200 && check(h),
                _ => false,
            };
            match (row.haproxy, same) {
                (Haproxy26::Same, true) => {}
                (Haproxy26::Differs(s, why), false) if s == 0 || s == hstatus => {
                    eprintln!("differs from HAProxy 2.6: {}: {why}", row.clause);
                }
                _ => failures.push(format!(
                    "{}: the table says HAProxy {:?}; HAProxy answered {hstatus}, its backend saw {hhead:?}",
                    row.clause, row.haproxy
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}
