//! The clause table's rows: each names its clause, gives its bytes, says
//! what the client and the backend must see, and whether HAProxy 2.6
//! does the same (and if not, why fulcrum's choice is the safe one).

use super::{has, Expect, Haproxy26, Row, GET_R, ROW};

pub const ROWS: &[Row] = &[
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    Row {
        clause: "9112 §3: a well-formed request-line is forwarded",
        bytes: b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("get /a http/1.1\r\n")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §3: no request-target",
        bytes: b"GET HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §3: two spaces between method and target",
        bytes: b"GET  /a HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy parses on whitespace (the RFC allows it); fulcrum keeps the grammar's single SP",
        ),
        ..ROW
    },
    Row {
        clause: "9112 §2.3: an unknown major version",
        bytes: b"GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy forwards it as HTTP/1.1; fulcrum does not guess what an unknown version means",
        ),
        ..ROW
    },
    Row {
        clause: "9112 §2.3: a version without its minor digit",
        bytes: b"GET / HTTP/1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §3: a method with a character outside tchar",
        bytes: b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §2.2: a bare LF as line terminator (a recipient MAY accept it)",
        bytes: b"GET /lf HTTP/1.1\nHost: t\n\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy accepts it; fulcrum takes the RFC's other choice, as a lone LF is how heads get split differently by two parsers",
        ),
        ..ROW
    },
    // RFC 9112 §3.2: request-target forms
    Row {
        clause: "9112 §3.2.2: absolute-form is accepted",
        bytes: b"GET http://t/abs HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/abs")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §3.2.3: authority-form outside CONNECT",
        bytes: b"GET t:80 HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §3.2.4: asterisk-form outside OPTIONS",
        bytes: b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; the form is only for OPTIONS"),
        ..ROW
    },
    Row {
        clause: "9112 §3.2.4: OPTIONS * is forwarded",
        bytes: b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("options * http/1.1\r\n")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    // RFC 9112 §3.2: Host
    Row {
        clause: "9112 §3.2: an HTTP/1.1 request without Host",
        bytes: b"GET / HTTP/1.1\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; the RFC says a server MUST answer 400"),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: two Host fields",
        bytes: b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §3.2: an HTTP/1.0 request without Host is forwarded",
        bytes: b"GET /old HTTP/1.0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/old")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    // RFC 9110 §5: field syntax
    Row {
        clause: "9112 §5.1: whitespace between field name and colon",
        bytes: b"GET / HTTP/1.1\r\nHost : t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §5.2: obsolete line folding",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy unfolds it into one line (§5.2 allows either); refusing is the safe choice"),
        ..ROW
    },
    Row {
        clause: "9110 §5.1: a field name with a character outside tchar",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX(A): 1\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9110 §5.5: a NUL in a field value",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy forwards the NUL; the RFC says reject it or replace it with SP, and fulcrum rejects",
        ),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: leading and trailing whitespace of a value is not part of it",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad:   v  \r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x-pad: v\r\n")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    // RFC 9112 §6: message body length
    Row {
        clause: "9112 §6.1: Transfer-Encoding and Content-Length together",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked") && !has(h, "content-length")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §6.3: a Transfer-Encoding whose final coding is not chunked",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §6.1: Transfer-Encoding in an HTTP/1.0 request: framed by chunked, then closed",
        bytes: b"POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked") && has(h, "connection: close")),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it without asking the server to close"),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: two different Content-Length values",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9110 §8.6: a Content-Length list of the same value",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(
            0,
            "HAProxy folds it into one value; the RFC allows either, and fulcrum refuses a list",
        ),
        ..ROW
    },
    Row {
        clause: "9110 §8.6: a Content-Length that is not digits",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9110 §8.6: a Content-Length larger than 64 bits",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    // RFC 9112 §7.1: chunked coding
    Row {
        clause: "9112 §7.1: a chunk size that is not hex",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    Row {
        clause: "9112 §7.1.1: chunk extensions are allowed",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    // RFC 9110 §7.6.1: Connection and hop-by-hop fields
    Row {
        clause: "9110 §7.6.1: Keep-Alive and Proxy-Connection are not forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n\r\n",
        expect: Expect::Forwarded(|h| !has(h, "keep-alive: timeout") && !has(h, "proxy-connection")),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards Keep-Alive; it is hop-by-hop"),
        ..ROW
    },
    Row {
        clause: "9110 §10.1.4: TE other than trailers is not forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nTE: gzip, trailers\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "te: trailers\r\n") && !has(h, "gzip")),
        haproxy: Haproxy26::Same,
        ..ROW
    },
    // RFC 9112 §2-3: more of the request-line grammar
    Row {
        clause: "9112 §3: a tab between method and target",
        bytes: b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy takes any whitespace between the parts; fulcrum keeps the grammar's single SP"),
        ..ROW
    },
    Row {
        clause: "9112 §3: a space inside the request-target",
        bytes: b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §3: a space after the version",
        bytes: b"GET / HTTP/1.1 \r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §2.3: the HTTP-name is case-sensitive",
        bytes: b"GET / http/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §2.3: a two-digit minor version",
        bytes: b"GET / HTTP/1.10\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §2.2: an empty line before the request-line is ignored",
        bytes: b"\r\nGET /after-crlf HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("get /after-crlf http/1.1\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §9.1: an empty method",
        bytes: b" / HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §9.1: an extension method is forwarded as sent",
        bytes: b"PURGE /x HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("purge /x http/1.1\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §9.3.8: TRACE is forwarded",
        bytes: b"TRACE /t HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("trace /t http/1.1\r\n")),
        ..ROW
    },
    Row {
        clause: "9112 §3.2.1: origin-form with a query is forwarded whole",
        bytes: b"GET /a?b=c&d HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("get /a?b=c&d http/1.1\r\n")),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: a target in none of the four forms",
        bytes: b"GET a HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §3.2.2: absolute-form with https",
        bytes: b"GET https://t/s HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/s http/1.1\r\n")),
        ..ROW
    },
    Row {
        clause: "9112 §3.2.2: absolute-form whose authority is not the Host",
        bytes: b"GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §3.2.2: absolute-form with an empty authority",
        bytes: b"GET http:///x HTTP/1.1\r\nHost: b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it (it refuses `http://:/x`)"),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: a control character in the target",
        bytes: b"GET /a\x01 HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: a DEL in the target",
        bytes: b"GET /a\x7f HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: a byte above 0x7f in the target",
        bytes: b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §4.2.5: a fragment in the target (clients never send one)",
        bytes: b"GET /a#frag HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: percent-encoding is forwarded untouched",
        bytes: b"GET /a%2Fb%20c HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| h.starts_with("get /a%2fb%20c http/1.1\r\n")),
        ..ROW
    },
    // RFC 9110 §7.2, RFC 9112 §3.2: Host
    Row {
        clause: "9112 §3.2: an empty Host is allowed",
        bytes: b"GET /eh HTTP/1.1\r\nHost:\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/eh")),
        ..ROW
    },
    Row {
        clause: "9110 §7.2: a Host with a port",
        bytes: b"GET / HTTP/1.1\r\nHost: t:8080\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "host: t:8080\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §7.2: a Host that is not uri-host [\":\" port]",
        bytes: b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; a backend routing on Host would read another name"),
        ..ROW
    },
    Row {
        clause: "9110 §7.2: a Host with a userinfo part",
        bytes: b"GET / HTTP/1.1\r\nHost: u@t\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; userinfo is not part of uri-host"),
        ..ROW
    },
    Row {
        clause: "9112 §3.2: two Host fields in HTTP/1.0",
        bytes: b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §7.2: an IPv6 literal Host",
        bytes: b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "host: [::1]:80\r\n")),
        ..ROW
    },
    // RFC 9110 §5, RFC 9112 §5: fields
    Row {
        clause: "9110 §5.1: an empty field name",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\n: v\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §5: a field line without a colon",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §2.2: whitespace before the first field line",
        bytes: b"GET / HTTP/1.1\r\n Host: t\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §2.2: a bare CR in a field value",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: a DEL in a field value",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x7fb\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; a DEL is not field-vchar"),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: a control character in a field value",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01b\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards it; a control is not field-vchar"),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: obs-text in a field value is forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: caf\xc3\xa9\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x-a: caf")),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: a tab inside a field value is forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\tb\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x-a: a\tb\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: an empty field value is forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-Empty:\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x-empty:")),
        ..ROW
    },
    Row {
        clause: "9110 §5.6.2: an underscore is a tchar",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX_Under: 1\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x_under: 1\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §5.3: repeated fields are forwarded in order",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-L: 1\r\nX-L: 2\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "x-l: 1\r\nx-l: 2\r\n")),
        ..ROW
    },
    Row {
        clause: "9112 §5.1: a field name with a trailing tab before the colon",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nX-A\t: 1\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    // RFC 9112 §6, RFC 9110 §8.6: Content-Length and Transfer-Encoding
    Row {
        clause: "9110 §8.6: leading zeros in Content-Length",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 003\r\n\r\nabc",
        expect: Expect::Forwarded(|h| has(h, "content-length: 003")),
        ..ROW
    },
    Row {
        clause: "9110 §8.6: a negative Content-Length",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §8.6: an empty Content-Length",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §8.6: a space inside Content-Length",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: whitespace after Content-Length is not part of it",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3 \r\n\r\nabc",
        expect: Expect::Forwarded(|h| has(h, "content-length: 3\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §8.6: two Content-Length fields of the same value",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy folds equal values into one (the RFC allows it); fulcrum refuses any second Content-Length"),
        ..ROW
    },
    Row {
        clause: "9110 §9.3.1: a GET with a body is forwarded with it",
        bytes: b"GET /gb HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
        expect: Expect::Forwarded(|h| has(h, "content-length: 2")),
        ..ROW
    },
    Row {
        clause: "9112 §6.1: chunked applied twice",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §6.1: transfer-coding names are case-insensitive",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        ..ROW
    },
    Row {
        clause: "9112 §6.1: chunked not the final coding of a request",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §6.1: a coding other than chunked in a request: 422 (neither side can undo it), as HAProxy",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        expect: Expect::Refused(422),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: an empty Transfer-Encoding",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: identity is not a coding any more",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9110 §5.3: Transfer-Encoding split over two fields is read as one list: gzip there is 422 too",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        expect: Expect::Refused(422),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: a POST without a body length has an empty body",
        bytes: b"POST /nob HTTP/1.1\r\nHost: t\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/nob")),
        ..ROW
    },
    // RFC 9112 §7.1: chunked coding
    Row {
        clause: "9112 §7.1: leading zeros in a chunk size",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        ..ROW
    },
    Row {
        clause: "9112 §7.1: a chunk size past 64 bits",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §7.1: a negative chunk size",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §7.1: a 0x prefix on a chunk size",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §7.1: chunk data longer than its size",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    Row {
        clause: "9112 §7.1.1: whitespace before a chunk extension",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3 ;x=y\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        ..ROW
    },
    Row {
        clause: "9112 §7.1.1: a quoted chunk extension value",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"a b\"\r\nabc\r\n0\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        ..ROW
    },
    Row {
        clause: "9112 §2.2: a chunk-size line ended by a bare LF",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        haproxy: Haproxy26::Differs(0, "HAProxy accepts a bare LF there"),
        ..ROW
    },
    Row {
        clause: "9112 §7.1.2: trailer fields after the last chunk",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "transfer-encoding: chunked")),
        ..ROW
    },
    Row {
        clause: "9112 §7.1.2: a trailer line without a colon",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
        expect: Expect::Refused(400),
        ..ROW
    },
    // RFC 9110 §7.6.1, §7.8: Connection, hop-by-hop fields, Upgrade
    Row {
        clause: "9110 §7.6.1: the fields Connection names are not forwarded",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nConnection: X-Hop\r\nX-Hop: 1\r\nX-End: 2\r\n\r\n",
        expect: Expect::Forwarded(|h| !has(h, "x-hop") && has(h, "x-end: 2")),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards the fields the Connection header names"),
        ..ROW
    },
    Row {
        clause: "9110 §7.6.1: Connection cannot remove Content-Length (the framing stays)",
        bytes: b"POST / HTTP/1.1\r\nHost: t\r\nConnection: content-length\r\nContent-Length: 3\r\n\r\nabc",
        expect: Expect::Forwarded(|h| has(h, "content-length: 3")),
        ..ROW
    },
    Row {
        clause: "9110 §7.6.1: Connection cannot remove Host",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nConnection: host\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "host: t\r\n")),
        ..ROW
    },
    Row {
        clause: "9112 §9.6: Connection: close closes the client's connection; the server connection is the proxy's own to keep",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        expect: Expect::Forwarded(|h| !has(h, "connection: close")),
        ..ROW
    },
    Row {
        clause: "9112 §9.3: HTTP/1.0 with Connection: keep-alive",
        bytes: b"GET /ka10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "/ka10")),
        ..ROW
    },
    Row {
        clause: "9110 §7.8: Upgrade with Connection: upgrade is forwarded",
        bytes: b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "upgrade: websocket") && has(h, "connection: upgrade")),
        ..ROW
    },
    Row {
        clause: "9110 §7.8: an upgrade keeps the fields its Connection names (HTTP2-Settings for h2c)",
        bytes: b"GET /h2c HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
        expect: Expect::Forwarded(|h| has(h, "http2-settings: aamaaabkaaqaap__") && has(h, "upgrade: h2c")),
        ..ROW
    },
    Row {
        clause: "9110 §7.6.1: Keep-Alive named by Connection in HTTP/1.1",
        bytes: b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\nKeep-Alive: timeout=9\r\n\r\n",
        expect: Expect::Forwarded(|h| !has(h, "timeout=9")),
        haproxy: Haproxy26::Differs(0, "HAProxy forwards Keep-Alive; it is hop-by-hop"),
        ..ROW
    },
    // Responses: RFC 9112 §4 (status-line), §6 (framing), RFC 9110 §7.6.1
    Row {
        clause: "9112 §6.3: a response framed by Content-Length is relayed",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.1 200") && r.ends_with("hello")),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: a response with Transfer-Encoding and Content-Length loses the Content-Length",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        expect: Expect::Relayed(|r| !has(r, "content-length") && has(r, "transfer-encoding: chunked")),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: a response with two Content-Length values",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        expect: Expect::BadGateway,
        ..ROW
    },
    Row {
        clause: "9112 §4: a two-digit status code",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
        expect: Expect::BadGateway,
        haproxy: Haproxy26::Differs(0, "HAProxy relays it"),
    },
    Row {
        clause: "9112 §4: an empty reason phrase",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.1 200") && r.ends_with("ok")),
        ..ROW
    },
    Row {
        clause: "9112 §4: no space after the status code",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.1 200") && r.ends_with("ok")),
        ..ROW
    },
    Row {
        clause: "9110 §5.5: a NUL in a response field",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n"),
        expect: Expect::BadGateway,
        haproxy: Haproxy26::Differs(0, "HAProxy relays the NUL"),
    },
    Row {
        clause: "9112 §5.2: obsolete line folding in a response",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n"),
        expect: Expect::BadGateway,
        haproxy: Haproxy26::Differs(0, "HAProxy unfolds it (§5.2 allows either)"),
    },
    Row {
        clause: "9110 §5.1: a response field name outside tchar",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 0\r\n\r\n"),
        expect: Expect::BadGateway,
        ..ROW
    },
    Row {
        clause: "9112 §2.3: a response with an unknown major version",
        bytes: GET_R,
        answer: Some(b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
        expect: Expect::BadGateway,
        haproxy: Haproxy26::Differs(0, "HAProxy relays it as HTTP/1.1"),
    },
    Row {
        clause: "9112 §4: a status code below 100",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n"),
        expect: Expect::BadGateway,
        haproxy: Haproxy26::Differs(0, "HAProxy relays it; RFC 9110 §15 gives codes from 100"),
    },
    Row {
        clause: "9110 §7.6.1: Keep-Alive in a response is not relayed",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"),
        expect: Expect::Relayed(|r| !has(r, "timeout=5") && r.ends_with("ok")),
        haproxy: Haproxy26::Differs(0, "HAProxy relays Keep-Alive; it is hop-by-hop"),
    },
    Row {
        clause: "9110 §7.6.1: the fields a response's Connection names are not relayed",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nConnection: X-Srv\r\nX-Srv: 1\r\nContent-Length: 2\r\n\r\nok"),
        expect: Expect::Relayed(|r| !has(r, "x-srv") && r.ends_with("ok")),
        haproxy: Haproxy26::Differs(0, "HAProxy relays the fields the Connection header names"),
    },
    Row {
        clause: "9112 §6.3: a response body delimited by the close",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\n\r\nuntil-close"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.1 200") && r.ends_with("until-close")),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: a response coding fulcrum cannot undo: 502 rather than read-until-close bytes the client did not ask for, as HAProxy",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw-bytes"),
        expect: Expect::BadGateway,
        ..ROW
    },
    Row {
        clause: "9110 §6.2: the server's HTTP/1.0 is relayed as it is, as HAProxy and its reg-tests do (the RFC would have an intermediary send its own version)",
        bytes: GET_R,
        answer: Some(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.0 200") && r.ends_with("ok")),
        ..ROW
    },
    Row {
        clause: "9112 §6.1: Transfer-Encoding in an HTTP/1.0 response: relayed, then the client's connection closes",
        bytes: GET_R,
        answer: Some(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
        expect: Expect::RelayedThenClosed(|r| r.ends_with("2\r\nok\r\n0\r\n\r\n")),
        ..ROW
    },
    Row {
        clause: "9110 §15.4.5: a 304 has no body",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.1 304") && r.ends_with("\r\n\r\n")),
        ..ROW
    },
    Row {
        clause: "9112 §2.2: a bare LF in a response head is accepted from a server (a recipient MAY), as HAProxy",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
        expect: Expect::Relayed(|r| r.starts_with("http/1.1 200") && r.ends_with("ok")),
        ..ROW
    },
    Row {
        clause: "9112 §6.3: a negative Content-Length in a response",
        bytes: GET_R,
        answer: Some(b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok"),
        expect: Expect::BadGateway,
        ..ROW
    },
];
