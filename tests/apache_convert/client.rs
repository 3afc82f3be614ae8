//! A client of both proxies: requests from a chosen source address, and
//! what came of them, on the client's side and the member's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::common::net::HttpBackend;
use super::site::Tenant;

/// What one request came to: the client's side and the member's.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub body: String,
    pub set_cookies: Vec<String>,
    /// The member that got it, its request line and Host.
    pub member: Option<(String, String, String)>,
}

/// Sends `path` (with `cookie`) from `src` to `port`; finds which of the
/// members saw it.
pub fn ask(port: u16, src: &str, path: &str, cookie: Option<&str>, tenants: &[&Tenant]) -> Outcome {
    let before: Vec<usize> = all(tenants).map(|m| m.1.requests().len()).collect();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let reply = get_from(src, port, path, "lb.example", &cookie);
    let status = reply.status();
    let set_cookies = reply
        .head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let mut member = None;
    for ((name, m), n) in all(tenants).zip(before) {
        let seen = m.requests();
        if let Some(s) = seen.get(n) {
            let line = s.head.lines().next().unwrap_or_default().to_string();
            let host = header(&s.head, "host").unwrap_or_default();
            member = Some((name.clone(), line, host));
        }
    }
    Outcome {
        status,
        body: if status == 200 {
            reply.body
        } else {
            String::new()
        },
        set_cookies,
        member,
    }
}

pub fn all<'a>(tenants: &'a [&'a Tenant]) -> impl Iterator<Item = &'a (String, HttpBackend)> {
    tenants.iter().flat_map(|t| t.members.iter())
}

/// An answer as read: its head, and its body (chunks joined).
pub struct Reply {
    pub head: String,
    pub body: String,
}

impl Reply {
    /// The status code (0 if there is none).
    pub fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The first field named `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.head, name)
    }
}

/// `GET path` with `Host: host`, the `extra` header lines and
/// `Connection: close`, from 127.0.0.1 to `port`.
pub fn get(port: u16, path: &str, host: &str, extra: &str) -> Reply {
    get_from("127.0.0.1", port, path, host, extra)
}

/// [`get`] from the local address `src`.
pub fn get_from(src: &str, port: u16, path: &str, host: &str, extra: &str) -> Reply {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    let raw = String::from_utf8_lossy(&send_from(src, port, &req)).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let chunked = header(head, "transfer-encoding").is_some_and(|t| t.contains("chunked"));
    Reply {
        head: head.to_string(),
        body: if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    }
}

pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

/// The whole answer to `req`, sent from the local address `src`.
pub fn send_from(src: &str, port: u16, req: &str) -> Vec<u8> {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let from: SocketAddr = format!("{src}:0").parse().expect("src");
    sock.bind(&from.into()).expect("bind source");
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("dst");
    sock.connect_timeout(&to.into(), Duration::from_secs(5))
        .expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(req.as_bytes()).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A chunked body's data (sizes in hex, each chunk then CRLF).
pub fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    for _ in 0..10_000 {
        let Some((size, after)) = rest.split_once("\r\n") else {
            break;
        };
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// The route a `Set-Cookie: ROUTEID=.ROUTE; path=...` names.
pub fn cookie_route(set_cookies: &[String]) -> Option<String> {
    set_cookies.iter().find_map(|c| {
        c.strip_prefix("ROUTEID=.")
            .map(|r| r.split(';').next().unwrap_or_default().to_string())
    })
}
