//! What changes in a head as it crosses the proxy: hop-by-hop headers
//! (Connection, Keep-Alive, Proxy-Connection, and the fields a peer's
//! Connection header names) are dropped and replaced with our own
//! connection choice; `option forwardfor` appends the client's
//! address; `Expect: 100-continue` is answered by us and not forwarded.
//! Every other byte goes out as it came.

use std::io::Write;
use std::net::IpAddr;

use super::head::{RequestHead, ResponseHead};
use crate::rules::http::{Field, Head, Text};

fn is(name: &[u8], what: &str) -> bool {
    name.eq_ignore_ascii_case(what.as_bytes())
}

fn hop_by_hop(name: &[u8]) -> bool {
    is(name, "connection") || is(name, "keep-alive") || is(name, "proxy-connection")
}

/// Fields a Connection header may not remove: the ones that frame the
/// message or route it (a client that names Content-Length would have us
/// frame a body the server is not told about), TE (which has its own rule
/// below), and the tokens that are options rather than names.
const NEVER_NAMED: [&str; 6] = [
    "close",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "host",
    "te",
];

/// RFC 9110 §7.6.1: the fields the peer's Connection header names are
/// for its hop only, and a proxy removes them before forwarding. Only
/// fields the peer sent go this way (their names are still ranges of the
/// receive buffer): a field a rule added is the operator's, and a client
/// must not be able to strip it (say, a `set-header X-Forwarded-Proto`).
struct ConnectionOptions<'b> {
    names: Vec<&'b [u8]>,
}

impl<'b> ConnectionOptions<'b> {
    fn of(buf: &'b [u8], msg: &'b Head) -> ConnectionOptions<'b> {
        let names = msg
            .fields
            .iter()
            .filter(|f| is(f.name.of(buf), "connection"))
            .flat_map(|f| f.value.of(buf).split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|t| !t.is_empty() && !NEVER_NAMED.iter().any(|n| is(t, n)))
            .collect();
        ConnectionOptions { names }
    }

    /// Whether `f` is a field the peer sent and its Connection names.
    fn removes(&self, buf: &[u8], f: &Field) -> bool {
        !self.names.is_empty()
            && matches!(f.name, Text::At(_))
            && self
                .names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(f.name.of(buf)))
    }
}

/// Whether a TE value lists `trailers` (without parameters).
fn has_trailers(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"trailers"))
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// How the request head is to be rewritten.
pub struct RequestEdit<'a> {
    /// `option forwardfor`: the client's address, unless excepted.
    pub forwarded_for: Option<AddedAddress<'a>>,
    /// `option originalto`: the address it reached, unless excepted.
    pub original_to: Option<AddedAddress<'a>>,
    /// Close the server connection after this response.
    pub server_close: bool,
    /// We answered the 100-continue ourselves.
    pub drop_expect: bool,
    /// `cookie NAME ... indirect`: the persistence cookie is not forwarded.
    pub strip_cookie: Option<&'a str>,
    /// `unique-id-header NAME`: the header and the request's ID, added
    /// before X-Forwarded-For as HAProxy adds it.
    pub unique_id: Option<(&'a str, &'a [u8])>,
    /// `http-send-name-header NAME`: the client's NAME fields are not
    /// passed on; the server's name is added once a server is chosen
    /// ([`with_server_name`]).
    pub server_name_header: Option<&'a str>,
}

/// A header that gives the server an address (`option forwardfor`,
/// `option originalto`).
#[derive(Debug, Clone, Copy)]
pub struct AddedAddress<'a> {
    /// Its name.
    pub header: &'a str,
    /// The address.
    pub addr: IpAddr,
    /// Only when the request has no such header (`if-none`).
    pub if_none: bool,
}

impl<'a> AddedAddress<'a> {
    /// HAProxy's rule for a header the frontend or the backend (or both)
    /// asks for: the backend's name wins, an address in either's `except`
    /// network gets none, and `if-none` holds only if every asker says it.
    pub fn resolve(
        fe: Option<(&'a str, Option<ipnet::IpNet>, bool)>,
        be: Option<(&'a str, Option<ipnet::IpNet>, bool)>,
        addr: IpAddr,
    ) -> Option<AddedAddress<'a>> {
        let header = be.or(fe)?.0;
        let excepted = [fe, be]
            .into_iter()
            .flatten()
            .any(|(_, except, _)| except.is_some_and(|n| n.contains(&addr)));
        let if_none = [fe, be].into_iter().flatten().all(|(_, _, i)| i);
        (!excepted).then_some(AddedAddress {
            header,
            addr,
            if_none,
        })
    }
}

/// `head` (a request head as [`request`] wrote it, so ending in an empty
/// line) with `name: server` added last, for `http-send-name-header`.
pub fn with_server_name(head: &[u8], name: &str, server: &str) -> Vec<u8> {
    let body_at = head.len().saturating_sub(2);
    let mut out = Vec::with_capacity(head.len() + name.len() + server.len() + 4);
    out.extend_from_slice(head.get(..body_at).unwrap_or(head));
    push_header(&mut out, name.as_bytes(), server.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The request head as sent to the server: `msg` is the head as the
/// http-request rules left it (`head` gives the framing facts).
pub fn request(buf: &[u8], head: &RequestHead, msg: &Head, edit: &RequestEdit) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len + 64);
    out.extend_from_slice(msg.first.of(buf));
    out.push(b' ');
    out.extend_from_slice(msg.second.of(buf));
    let _ = write!(out, " HTTP/1.{}\r\n", msg.minor);
    let xff = edit.forwarded_for;
    let mut xff_present = false;
    // Chunked framing wins: a Content-Length beside it is not passed on.
    let chunked = head.body == super::head::BodyKind::Chunked;
    let named = ConnectionOptions::of(buf, msg);
    for h in &msg.fields {
        let name = h.name.of(buf);
        if hop_by_hop(name)
            || (edit.drop_expect && is(name, "expect"))
            || (chunked && is(name, "content-length"))
            || edit.server_name_header.is_some_and(|n| is(name, n))
            // An upgrade keeps what Connection names (Upgrade itself,
            // HTTP2-Settings for h2c): the server reads them to switch.
            || (named.removes(buf, h) && !head.upgrade)
        {
            continue;
        }
        // TE is hop-by-hop: only "trailers", which says the client reads
        // trailers, means something to the server (HAProxy keeps that alone).
        if is(name, "te") {
            if has_trailers(h.value.of(buf)) {
                out.extend_from_slice(b"te: trailers\r\n");
            }
            continue;
        }
        if let Some(ff) = xff {
            xff_present |= name.eq_ignore_ascii_case(ff.header.as_bytes());
        }
        if let (Some(cookie), true) = (edit.strip_cookie, is(name, "cookie")) {
            if let Some(rest) = super::persist::strip(h.value.of(buf), cookie) {
                out.extend_from_slice(name);
                out.extend_from_slice(b": ");
                out.extend_from_slice(&rest);
                out.extend_from_slice(b"\r\n");
            }
            continue;
        }
        push_header(&mut out, name, h.value.of(buf));
    }
    if let Some((name, id)) = edit.unique_id {
        push_header(&mut out, name.as_bytes(), id);
    }
    if let Some(ff) = xff {
        if !(ff.if_none && xff_present) {
            let _ = write!(out, "{}: {}\r\n", ff.header, ff.addr);
        }
    }
    if let Some(ot) = edit.original_to {
        let _ = write!(out, "{}: {}\r\n", ot.header, ot.addr);
    }
    if head.upgrade {
        out.extend_from_slice(b"Connection: upgrade\r\n");
    } else if edit.server_close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if msg.minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The response head as sent to the client: `msg` is the head as the
/// http-response rules left it (`head` gives the framing facts).
pub fn response(
    buf: &[u8],
    head: &ResponseHead,
    msg: &Head,
    client_minor: u8,
    client_close: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len + 32);
    let _ = write!(out, "HTTP/1.{} ", msg.minor);
    out.extend_from_slice(msg.first.of(buf));
    out.push(b' ');
    out.extend_from_slice(msg.second.of(buf));
    out.extend_from_slice(b"\r\n");
    let switching = head.status == 101;
    // With Transfer-Encoding, a Content-Length is wrong and dangerous to pass
    // on (a cache behind us could frame the body by it): drop it.
    let chunked = head.body == super::head::BodyKind::Chunked;
    let named = ConnectionOptions::of(buf, msg);
    for h in &msg.fields {
        let name = h.name.of(buf);
        let this_hop = hop_by_hop(name) || named.removes(buf, h);
        if (this_hop && !switching) || (chunked && is(name, "content-length")) {
            continue;
        }
        push_header(&mut out, name, h.value.of(buf));
    }
    if !switching {
        if client_close && client_minor == 1 {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if !client_close && client_minor == 0 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A head written out as it is, with no connection handling: for answers
/// the proxy built itself and rules then edited.
pub fn response_head(buf: &[u8], msg: &Head) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let _ = write!(out, "HTTP/1.{} ", msg.minor);
    out.extend_from_slice(msg.first.of(buf));
    out.push(b' ');
    out.extend_from_slice(msg.second.of(buf));
    out.extend_from_slice(b"\r\n");
    for h in &msg.fields {
        push_header(&mut out, h.name.of(buf), h.value.of(buf));
    }
    out.extend_from_slice(b"\r\n");
    out
}
