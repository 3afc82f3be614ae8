//! Request and response heads: parsed with httparse, validated strictly, and
//! described by byte ranges into the receive buffer so that nothing is copied
//! until the head is rewritten for the other side.
//!
//! The request rules keep smuggling out: one body length (no differing
//! Content-Lengths; Transfer-Encoding must end in chunked, once), no bare
//! LF or CR, no NUL, no obs-fold, valid header names, one Host on
//! HTTP/1.1, a bounded head.
//!
//! Transfer-Encoding follows HAProxy 2.6, which RFC 9112 (6.1, 6.3)
//! allows: with a Content-Length too, or on HTTP/1.0, the message is
//! framed by chunked alone, its Content-Length is dropped, and both
//! connections close after the exchange, so that nothing a peer might
//! read differently stays on either. A coding other than chunked is
//! refused (422 for a request, 502 for a response), as fulcrum decodes
//! none.

use std::ops::Range;

use super::reply::Status;
use crate::rules::http::{Field, Head, Text};

fn field(buf: &[u8], name: &[u8], value: &[u8]) -> Field {
    Field {
        name: Text::At(range_of(buf, name)),
        value: Text::At(range_of(buf, value)),
    }
}

/// The most fields a head may have by default (HAProxy's
/// `tune.http.maxhdr` default, 101 lines, less the first line).
pub const MAX_HEADERS: usize = 100;

/// What a head read from a peer may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Its length in bytes (`tune.bufsize` less `tune.maxrewrite`).
    pub room: usize,
    /// Its number of fields (`tune.http.maxhdr` less the first line).
    pub fields: usize,
}

impl HeadLimits {
    /// For heads fulcrum made itself (error pages, `return`): never
    /// refused for their size.
    pub const OWN: HeadLimits = HeadLimits {
        room: usize::MAX,
        fields: MAX_HEADERS,
    };

    /// The limits the global section sets.
    pub fn of(g: &crate::runtime::Global) -> HeadLimits {
        HeadLimits {
            room: g.head_room,
            fields: g.max_fields,
        }
    }

    /// HAProxy's defaults: 16384 - 1024 bytes, 100 fields.
    pub const DEFAULT: HeadLimits = HeadLimits {
        room: 16384 - 1024,
        fields: MAX_HEADERS,
    };

    /// Room for a field array of `self.fields`: on the stack up to the
    /// default, else on the heap (a `tune.http.maxhdr` raised for a buggy
    /// application).
    fn field_array<'s, 'b>(
        &self,
        stack: &'s mut [httparse::Header<'b>; MAX_HEADERS],
        heap: &'s mut Vec<httparse::Header<'b>>,
    ) -> &'s mut [httparse::Header<'b>] {
        if self.fields <= MAX_HEADERS {
            let (fits, _) = stack.split_at_mut(self.fields);
            fits
        } else {
            heap.resize(self.fields, httparse::EMPTY_HEADER);
            heap
        }
    }

    /// Why a request head that does not fit is refused: its request
    /// line alone does not (414), or its fields do not (431).
    fn too_large_request(&self, buf: &[u8]) -> Status {
        match buf.windows(2).position(|w| w == b"\r\n") {
            Some(line) if line + 2 <= self.room => Status::HeaderTooLarge,
            _ => Status::UriTooLong,
        }
    }
}

/// How a message body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes (responses only).
    UntilClose,
}

/// A parsed, validated request head.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Length of the head in the buffer, blank line included.
    pub len: usize,
    /// Method, target, version and fields, as ranges of the buffer that
    /// the rules read and edit.
    pub msg: Head,
    /// Body framing.
    pub body: BodyKind,
    /// The client asked to close after this exchange (or is HTTP/1.0 without keep-alive).
    pub close: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// An `Upgrade` was asked for (with `Connection: upgrade`).
    pub upgrade: bool,
    /// The method is CONNECT: a 2xx answer makes a tunnel.
    pub connect: bool,
    /// Transfer-Encoding came with a Content-Length, or on HTTP/1.0: both
    /// connections close after this exchange.
    pub suspect_framing: bool,
}

/// What the Transfer-Encoding fields of a message said.
#[derive(Debug, Default, Clone, Copy)]
struct Codings {
    /// There was a Transfer-Encoding field.
    seen: bool,
    /// chunked was applied (once).
    chunked: bool,
    /// chunked was the last coding.
    chunked_last: bool,
    /// Some other coding was applied.
    other: bool,
}

impl Codings {
    /// Reads one field value; Err when chunked is applied twice, or (in a
    /// request) when a coding follows chunked.
    fn read(&mut self, value: &[u8], request: bool) -> Result<(), ()> {
        self.seen = true;
        for coding in value.split(|&b| b == b',') {
            let c = coding.trim_ascii();
            if c.is_empty() {
                continue;
            }
            if c.eq_ignore_ascii_case(b"chunked") {
                if self.chunked {
                    return Err(());
                }
                self.chunked = true;
                self.chunked_last = true;
            } else {
                if request && self.chunked {
                    return Err(());
                }
                self.other = true;
                self.chunked_last = false;
            }
        }
        Ok(())
    }
}

/// Why a head could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// More bytes are needed.
    Partial,
    /// The peer's head is malformed: answer with this status and close.
    Bad(Status),
}

fn range_of(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

/// Rejects bare CR, bare LF and NUL anywhere in the head.
fn check_line_endings(head: &[u8]) -> bool {
    let mut prev = 0u8;
    for (i, &b) in head.iter().enumerate() {
        match b {
            0 => return false,
            b'\n' if prev != b'\r' => return false,
            b'\r' if head.get(i + 1) != Some(&b'\n') => return false,
            _ => {}
        }
        prev = b;
    }
    true
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses a request head from the start of `buf`.
/// `full` says the buffer cannot grow: a partial head is then too large.
pub fn parse_request(buf: &[u8], full: bool, limits: HeadLimits) -> Result<RequestHead, HeadError> {
    let (mut stack, mut heap) = ([httparse::EMPTY_HEADER; MAX_HEADERS], Vec::new());
    let mut req = httparse::Request::new(limits.field_array(&mut stack, &mut heap));
    let full = full || buf.len() >= limits.room;
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) if n > limits.room => {
            return Err(HeadError::Bad(limits.too_large_request(buf)));
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if full => {
            return Err(HeadError::Bad(limits.too_large_request(buf)));
        }
        Ok(httparse::Status::Partial) => {
            // Refuse bare line endings early rather than wait for more.
            let bare_lf = buf
                .windows(2)
                .any(|w| matches!(w, &[prev, b'\n'] if prev != b'\r'));
            if buf.contains(&0) || bare_lf {
                return Err(HeadError::Bad(Status::BadRequest));
            }
            return Err(HeadError::Partial);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::Bad(Status::BadRequest)),
        Err(_) => return Err(HeadError::Bad(Status::BadRequest)),
    };
    let bad = Err(HeadError::Bad(Status::BadRequest));
    let Some(head) = buf.get(..len) else {
        return bad;
    };
    if !check_line_endings(head) {
        return bad;
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return bad;
    };
    if path.is_empty() || !target_chars_fit(path) || !target_form_fits(method, path) {
        return bad;
    }
    let mut headers = Vec::with_capacity(req.headers.len());
    let mut content_length: Option<u64> = None;
    let mut te = Codings::default();
    let mut hosts = 0;
    let mut close = minor == 0;
    let mut expect_continue = false;
    let mut conn_upgrade = false;
    let mut upgrade_hdr = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.is_empty() {
            return bad;
        }
        let value = h.value;
        if name.eq_ignore_ascii_case(b"content-length") {
            let v = value.trim_ascii();
            if v.is_empty() || !v.iter().all(u8::is_ascii_digit) || v.len() > 18 {
                return bad;
            }
            let n: u64 = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(HeadError::Bad(Status::BadRequest))?;
            // Two Content-Length fields, even equal ones, are refused: the
            // RFC lets a recipient fold equal values, but a request that
            // carries two was built by something that should not be
            // trusted to frame it (HAProxy folds them).
            if content_length.is_some() {
                return bad;
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if te.read(value, true).is_err() {
                return bad;
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            if !host_fits(value) {
                return bad;
            }
            hosts += 1;
        } else if name.eq_ignore_ascii_case(b"connection") {
            if has_token(value, "close") {
                close = true;
            } else if has_token(value, "keep-alive") && minor == 0 {
                close = false;
            }
            conn_upgrade |= has_token(value, "upgrade");
        } else if name.eq_ignore_ascii_case(b"expect") {
            if value.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
                expect_continue = true;
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            upgrade_hdr = true;
        }
        headers.push(field(buf, name, value));
    }
    let suspect_framing = te.seen && (content_length.is_some() || minor == 0);
    if te.seen {
        // A request's body must end in chunked (RFC 9112 6.3).
        if !te.chunked_last {
            return bad;
        }
        if te.other {
            return Err(HeadError::Bad(Status::UnprocessableContent));
        }
        close |= suspect_framing;
    }
    if hosts > 1 || (minor == 1 && hosts == 0) {
        return bad;
    }
    if !authority_agrees(path, &headers, buf) {
        return bad;
    }
    let body = if te.seen {
        BodyKind::Chunked
    } else {
        match content_length {
            Some(0) | None => BodyKind::None,
            Some(n) => BodyKind::Length(n),
        }
    };
    Ok(RequestHead {
        len,
        msg: Head {
            first: Text::At(range_of(buf, method.as_bytes())),
            second: Text::At(range_of(buf, path.as_bytes())),
            minor,
            fields: headers,
        },
        body,
        close,
        expect_continue,
        upgrade: conn_upgrade && upgrade_hdr,
        connect: method == "CONNECT",
        suspect_framing,
    })
}

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// Length of the head, blank line included.
    pub len: usize,
    /// Status code.
    pub status: u16,
    /// Status code (as text), reason, version and fields, as ranges of the
    /// buffer that the rules read and edit.
    pub msg: Head,
    /// Body framing, given the request it answers.
    pub body: BodyKind,
    /// The server will close after this response.
    pub close: bool,
    /// Transfer-Encoding came with a Content-Length, or in an HTTP/1.0
    /// response: the client's connection closes after it too, as HAProxy
    /// closes it (whoever reads the stream after us may frame it otherwise).
    pub suspect_framing: bool,
}

/// Parses a response head; `head_request` and `connect` say what it answers.
pub fn parse_response(
    buf: &[u8],
    full: bool,
    head_request: bool,
    connect: bool,
    limits: HeadLimits,
) -> Result<ResponseHead, HeadError> {
    let (mut stack, mut heap) = ([httparse::EMPTY_HEADER; MAX_HEADERS], Vec::new());
    let mut resp = httparse::Response::new(limits.field_array(&mut stack, &mut heap));
    let full = full || buf.len() >= limits.room;
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) if n > limits.room => {
            return Err(HeadError::Bad(Status::BadGateway))
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if full => return Err(HeadError::Bad(Status::BadGateway)),
        Ok(httparse::Status::Partial) => return Err(HeadError::Partial),
        Err(_) => return Err(HeadError::Bad(Status::BadGateway)),
    };
    let bad = Err(HeadError::Bad(Status::BadGateway));
    let (Some(status), Some(minor)) = (resp.code, resp.version) else {
        return bad;
    };
    // Codes below 100 are not HTTP's (RFC 9110 15): a client would have
    // to guess what they mean. (600-999 pass: some services use them.)
    if status < 100 {
        return bad;
    }
    if buf.get(..len).is_none_or(|head| head.contains(&0)) {
        return bad;
    }
    let mut headers = Vec::with_capacity(resp.headers.len());
    let mut content_length: Option<u64> = None;
    let mut te = Codings::default();
    let mut close = minor == 0;
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        let value = h.value;
        if name.eq_ignore_ascii_case(b"content-length") {
            let v = value.trim_ascii();
            let n: u64 = std::str::from_utf8(v)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse().ok())
                .ok_or(HeadError::Bad(Status::BadGateway))?;
            if content_length.is_some_and(|c| c != n) {
                return bad;
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if te.read(value, false).is_err() {
                return bad;
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            if has_token(value, "close") {
                close = true;
            } else if has_token(value, "keep-alive") && minor == 0 {
                close = false;
            }
        }
        headers.push(field(buf, name, value));
    }
    // A coding fulcrum cannot undo may not reach a client that did not
    // ask for it: HAProxy answers 502.
    if te.other {
        return bad;
    }
    // Transfer-Encoding with a Content-Length: the server's framing is
    // suspect, so its connection is not used again.
    let suspect_framing = te.seen && (content_length.is_some() || minor == 0);
    close |= suspect_framing;
    let body = if head_request
        || (100..200).contains(&status)
        || status == 204
        || status == 304
        || (connect && (200..300).contains(&status))
    {
        BodyKind::None
    } else if te.seen {
        // Transfer-Encoding wins over Content-Length (RFC 9112 6.3).
        if te.chunked_last {
            BodyKind::Chunked
        } else {
            BodyKind::UntilClose
        }
    } else {
        match content_length {
            Some(n) => BodyKind::Length(n),
            None => BodyKind::UntilClose,
        }
    };
    if body == BodyKind::UntilClose {
        close = true;
    }
    // "HTTP/1.x " is 9 bytes, then the three digits of the code.
    let reason = resp.reason.unwrap_or("");
    let reason = if reason.is_empty() {
        Text::default()
    } else {
        Text::At(range_of(buf, reason.as_bytes()))
    };
    Ok(ResponseHead {
        len,
        status,
        msg: Head {
            first: Text::At(9..12),
            second: reason,
            minor,
            fields: headers,
        },
        body,
        close,
        suspect_framing,
    })
}

mod target;
use target::{authority_agrees, host_fits, target_chars_fit, target_form_fits};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
