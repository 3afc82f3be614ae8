//! What an access-log line is made of: the `%` variables of HAProxy's
//! log-format (manual 8.2.4) and the record of one request or TCP session
//! they read. The proxy fills a [`LogRecord`] where the exchange ends; the
//! formats (`option httplog` is one) pick from it.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use super::facts::Facts;
use super::fmt::{put, Flags};
use crate::util::date::{accept_date, clf_date};

/// A log-format variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Var {
    BytesRead,
    BytesUploaded,
    CapturedReqCookie,
    CapturedResCookie,
    Hostname,
    Method,
    Path,
    Query,
    Uri,
    HttpVersion,
    UniqueId,
    Status,
    GmtDate,
    LocalDate,
    Timestamp,
    Ta,
    Tc,
    Td,
    Th,
    Ti,
    Tq,
    TR,
    Tr,
    Tt,
    Tw,
    ActConn,
    Backend,
    BeConn,
    BackendSrcIp,
    BackendSrcPort,
    BackendQueue,
    ClientIp,
    ClientPort,
    Frontend,
    FeConn,
    FrontendIp,
    FrontendPort,
    FrontendTransport,
    LogCounter,
    ReqHeaders,
    ReqHeadersClf,
    ResHeaders,
    ResHeadersClf,
    AcceptMs,
    Pid,
    Request,
    Retries,
    ReqCounter,
    Server,
    SrvConn,
    ServerIp,
    ServerPort,
    ServerQueue,
    SslCipher,
    SslVersion,
    AcceptDate,
    RequestDate,
    RequestDateGmt,
    RequestDateLocal,
    Termination,
    TerminationCookie,
}

impl Var {
    /// The variable a `%` alias names.
    pub fn from_alias(a: &str) -> Option<Var> {
        use Var::*;
        Some(match a {
            "B" => BytesRead,
            "U" => BytesUploaded,
            "CC" => CapturedReqCookie,
            "CS" => CapturedResCookie,
            "H" => Hostname,
            "HM" => Method,
            "HP" => Path,
            "HQ" => Query,
            "HU" => Uri,
            "HV" => HttpVersion,
            "ID" => UniqueId,
            "ST" => Status,
            "T" => GmtDate,
            "Tl" => LocalDate,
            "Ts" => Timestamp,
            "Ta" => Ta,
            "Tc" => Tc,
            "Td" => Td,
            "Th" => Th,
            "Ti" => Ti,
            "Tq" => Tq,
            "TR" => TR,
            "Tr" => Tr,
            "Tt" => Tt,
            "Tw" => Tw,
            "ac" => ActConn,
            "b" => Backend,
            "bc" => BeConn,
            "bi" => BackendSrcIp,
            "bp" => BackendSrcPort,
            "bq" => BackendQueue,
            "ci" => ClientIp,
            "cp" => ClientPort,
            "f" => Frontend,
            "fc" => FeConn,
            "fi" => FrontendIp,
            "fp" => FrontendPort,
            "ft" => FrontendTransport,
            "lc" => LogCounter,
            "hr" => ReqHeaders,
            "hrl" => ReqHeadersClf,
            "hs" => ResHeaders,
            "hsl" => ResHeadersClf,
            "ms" => AcceptMs,
            "pid" => Pid,
            "r" => Request,
            "rc" => Retries,
            "rt" => ReqCounter,
            "s" => Server,
            "sc" => SrvConn,
            "si" => ServerIp,
            "sp" => ServerPort,
            "sq" => ServerQueue,
            "sslc" => SslCipher,
            "sslv" => SslVersion,
            "t" => AcceptDate,
            "tr" => RequestDate,
            "trg" => RequestDateGmt,
            "trl" => RequestDateLocal,
            "ts" => Termination,
            "tsc" => TerminationCookie,
            _ => return None,
        })
    }
}

/// The timers of HAProxy's logs, in milliseconds; None is a phase never
/// reached, written `-1`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    /// Th: accept to the end of the TLS handshake or PROXY header.
    pub handshake: Option<u64>,
    /// Ti: idle time before the request's first byte.
    pub idle: Option<u64>,
    /// TR: first byte to the whole request head.
    pub request: Option<u64>,
    /// Tw: time in queues.
    pub queue: Option<u64>,
    /// Tc: connecting to the server.
    pub connect: Option<u64>,
    /// Tr: the server's response time (head sent to response head).
    pub response: Option<u64>,
    /// Ta: the request's active time (its first byte to the end).
    pub active: Option<u64>,
    /// Tt: the whole session, from accept.
    pub total: Option<u64>,
}

/// The concurrency counters of a log line, read when it is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conns {
    /// %ac: connections on the process.
    pub process: u64,
    /// %fc: sessions on the frontend.
    pub frontend: u64,
    /// %bc: sessions on the backend.
    pub backend: u64,
    /// %sc: sessions on the server.
    pub server: u64,
    /// %sq: requests queued for the server.
    pub server_queue: u64,
    /// %bq: requests queued in the backend.
    pub backend_queue: u64,
}

/// Capture slots' values, when the frontend declares such captures.
pub type SlotValues<'a> = Option<&'a [Option<Box<[u8]>>]>;

/// One request's (or TCP session's) facts for its log line.
#[derive(Debug, Clone)]
pub struct LogRecord<'a> {
    /// %ci:%cp.
    pub client: SocketAddr,
    /// %fi:%fp.
    pub local: SocketAddr,
    /// When the connection was accepted (%t, %T, %Ts, %ms).
    pub accept: SystemTime,
    /// When the request began (%tr); the accept date in mode tcp.
    pub request_date: SystemTime,
    /// %f.
    pub frontend: &'a str,
    /// The client's TLS (%ft's `~`, %sslv, %sslc).
    pub tls: Option<&'a super::facts::TlsFacts>,
    /// %b: the backend, once chosen.
    pub backend: Option<&'a str>,
    /// %s: the server, once chosen.
    pub server: Option<&'a str>,
    /// %si:%sp.
    pub server_addr: Option<SocketAddr>,
    /// %bi:%bp: the local address of the server connection.
    pub backend_src: Option<SocketAddr>,
    /// The timers.
    pub timers: Timers,
    /// `option logasap`: the line was written before the end, so Tt
    /// (and %B) are lower bounds, shown with a `+`.
    pub logasap: bool,
    /// %ST.
    pub status: Option<u16>,
    /// %B: bytes sent to the client.
    pub bytes_read: u64,
    /// %U: bytes received from the client.
    pub bytes_uploaded: u64,
    /// %ts: who ended the session and in which phase.
    pub term: [u8; 2],
    /// The persistence-cookie letters %tsc adds.
    pub cookie: [u8; 2],
    /// %ac/%fc/%bc/%sc/%sq/%bq.
    pub conns: Conns,
    /// %rc.
    pub retries: u32,
    /// A redispatch happened (%rc gets a `+`).
    pub redispatched: bool,
    /// %r: the request line; None in mode tcp.
    pub request: Option<&'a str>,
    /// The request and response header captures, as slot values; None
    /// when the frontend declares no such captures.
    pub captures: (SlotValues<'a>, SlotValues<'a>),
    /// %lc (and %rt when there is no request number).
    pub counter: u64,
    /// %rt: the request's number in the process (HTTP).
    pub request_id: Option<u64>,
    /// %ID: the request's unique ID (`unique-id-format`).
    pub unique_id: Option<&'a [u8]>,
}

/// Writes a string value: `-` when absent (`""` when quoted).
pub fn write_text(out: &mut Vec<u8>, v: Option<&[u8]>, f: Flags) {
    match v {
        None | Some(b"") if f.quote => put(out, b"\"\""),
        None | Some(b"") => put(out, b"-"),
        Some(v) => {
            if f.quote {
                out.push(b'"');
            }
            if f.escape {
                for &c in v {
                    if matches!(c, b'"' | b'\\' | b']') {
                        out.push(b'\\');
                    }
                    out.push(c);
                }
            } else {
                put(out, v);
            }
            if f.quote {
                out.push(b'"');
            }
        }
    }
}

/// A number in decimal: HAProxy's `+X` applies only to the fields
/// [`write_hex4`] writes (and addresses).
fn write_num(out: &mut Vec<u8>, n: u64, _f: Flags) {
    let _ = write!(out, "{n}");
}

/// A port, a date in seconds, a counter or the pid: with `+X`, in
/// hexadecimal on at least 4 digits, as HAProxy writes them.
fn write_hex4(out: &mut Vec<u8>, n: u64, f: Flags) {
    let _ = if f.hex {
        write!(out, "{n:04X}")
    } else {
        write!(out, "{n}")
    };
}

/// A timer: its milliseconds, or -1.
fn write_ms(out: &mut Vec<u8>, v: Option<u64>, f: Flags) {
    match v {
        Some(n) => write_num(out, n, f),
        None => put(out, b"-1"),
    }
}

fn write_ip(out: &mut Vec<u8>, ip: IpAddr, f: Flags) {
    let _ = match (ip, f.hex) {
        (IpAddr::V4(v4), true) => write!(out, "{:08X}", u32::from(v4)),
        (IpAddr::V6(v6), true) => write!(out, "{:032X}", u128::from(v6)),
        (ip, false) => write!(out, "{ip}"),
    };
}

/// The connection variables an action string may use.
pub(crate) fn write_action_var(
    out: &mut Vec<u8>,
    v: Var,
    fl: Flags,
    f: &Facts,
) -> std::io::Result<()> {
    match v {
        Var::ClientIp => write_ip(out, f.src.ip(), fl),
        Var::ClientPort => write_hex4(out, u64::from(f.src.port()), fl),
        Var::FrontendIp => write_ip(out, f.dst.ip(), fl),
        Var::FrontendPort => write_hex4(out, u64::from(f.dst.port()), fl),
        Var::Frontend => put(out, f.frontend.as_bytes()),
        Var::Backend => match f.backend {
            Some(b) => put(out, f.world.backend_name(b).as_bytes()),
            None => put(out, f.frontend.as_bytes()),
        },
        Var::Server => match (f.backend, f.server) {
            (Some(b), Some(s)) => put(out, f.world.server_name(b, s).as_bytes()),
            _ => put(out, b"<NOSRV>"),
        },
        Var::Hostname => put(out, hostname().as_bytes()),
        Var::Pid => write_hex4(out, u64::from(std::process::id()), fl),
        Var::Timestamp => write_hex4(out, secs(std::time::SystemTime::now()), fl),
        Var::ReqCounter => {
            if let Some(s) = f.stream {
                write_hex4(out, s.id, fl)
            }
        }
        _ => {}
    }
    Ok(())
}

/// The parts of "METHOD URI HTTP/x.y".
fn request_parts(r: &str) -> (&str, &str, &str) {
    let mut it = r.splitn(3, ' ');
    (
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
    )
}

/// Writes one variable of a log line.
pub fn write_var(out: &mut Vec<u8>, v: Var, f: Flags, r: &LogRecord) {
    use Var::*;
    let t = &r.timers;
    let text = |out: &mut Vec<u8>, s: Option<&str>| write_text(out, s.map(str::as_bytes), f);
    match v {
        BytesRead => {
            if r.logasap {
                out.push(b'+');
            }
            write_num(out, r.bytes_read, f)
        }
        BytesUploaded => write_num(out, r.bytes_uploaded, f),
        // `capture cookie` is not supported: nothing is ever captured.
        CapturedReqCookie | CapturedResCookie => text(out, None),
        Hostname => text(out, Some(&hostname())),
        Method => text(out, r.request.map(|q| request_parts(q).0)),
        Uri => text(out, r.request.map(|q| request_parts(q).1)),
        Path => text(
            out,
            r.request
                .map(|q| request_parts(q).1.split('?').next().unwrap_or("")),
        ),
        Query => text(
            out,
            r.request.and_then(|q| {
                request_parts(q)
                    .1
                    .find('?')
                    .map(|i| &request_parts(q).1[i..])
            }),
        ),
        HttpVersion => text(out, r.request.map(|q| request_parts(q).2)),
        UniqueId => write_text(out, r.unique_id, f),
        Status => match r.status {
            Some(s) => write_num(out, u64::from(s), f),
            None => put(out, b"-1"),
        },
        GmtDate | LocalDate => put(out, clf_date(r.accept).as_bytes()),
        Timestamp => write_hex4(out, secs(r.accept), f),
        Ta => write_ms(out, t.active, f),
        Tc => write_ms(out, t.connect, f),
        Td => {
            let data = match (t.total, t.connect, t.response) {
                (Some(tt), Some(_), Some(_)) => Some(tt.saturating_sub(
                    t.handshake.unwrap_or(0)
                        + t.idle.unwrap_or(0)
                        + t.request.unwrap_or(0)
                        + t.queue.unwrap_or(0)
                        + t.connect.unwrap_or(0)
                        + t.response.unwrap_or(0),
                )),
                _ => None,
            };
            write_ms(out, data, f)
        }
        Th => write_ms(out, t.handshake, f),
        Ti => write_ms(out, t.idle, f),
        Tq => write_ms(
            out,
            t.request
                .map(|tr| tr + t.handshake.unwrap_or(0) + t.idle.unwrap_or(0)),
            f,
        ),
        TR => write_ms(out, t.request, f),
        Tr => write_ms(out, t.response, f),
        Tt => {
            if r.logasap {
                out.push(b'+');
            }
            write_ms(out, t.total, f)
        }
        Tw => write_ms(out, t.queue, f),
        ActConn => write_num(out, r.conns.process, f),
        Backend => text(out, Some(r.backend.unwrap_or(r.frontend))),
        BeConn => write_num(out, r.conns.backend, f),
        BackendSrcIp => match r.backend_src {
            Some(a) => write_ip(out, a.ip(), f),
            None => put(out, b"-"),
        },
        BackendSrcPort => match r.backend_src {
            Some(a) => write_hex4(out, u64::from(a.port()), f),
            None => put(out, b"-"),
        },
        BackendQueue => write_num(out, r.conns.backend_queue, f),
        ClientIp => write_ip(out, r.client.ip(), f),
        ClientPort => write_hex4(out, u64::from(r.client.port()), f),
        Frontend => text(out, Some(r.frontend)),
        FeConn => write_num(out, r.conns.frontend, f),
        FrontendIp => write_ip(out, r.local.ip(), f),
        FrontendPort => write_hex4(out, u64::from(r.local.port()), f),
        FrontendTransport => {
            let name = if r.tls.is_some() {
                format!("{}~", r.frontend)
            } else {
                r.frontend.to_string()
            };
            text(out, Some(&name))
        }
        LogCounter => write_hex4(out, r.counter, f),
        ReqCounter => write_hex4(out, r.request_id.unwrap_or(r.counter), f),
        ReqHeaders => captures(out, r.captures.0, false, f),
        ResHeaders => captures(out, r.captures.1, false, f),
        ReqHeadersClf => captures(out, r.captures.0, true, f),
        ResHeadersClf => captures(out, r.captures.1, true, f),
        AcceptMs => {
            let _ = if f.hex {
                write!(out, "{:02X}", millis(r.accept))
            } else {
                write!(out, "{:03}", millis(r.accept))
            };
        }
        Pid => write_hex4(out, u64::from(std::process::id()), f),
        Request => match r.request {
            Some(q) => {
                let escaped = escape_request(q);
                write_text(out, Some(escaped.as_bytes()), f)
            }
            None => text(out, None),
        },
        Retries => {
            if r.redispatched {
                out.push(b'+');
            }
            write_num(out, u64::from(r.retries), f)
        }
        Server => text(out, Some(r.server.unwrap_or("<NOSRV>"))),
        SrvConn => write_num(out, r.conns.server, f),
        ServerIp => match r.server_addr {
            Some(a) => write_ip(out, a.ip(), f),
            None => put(out, b"-"),
        },
        ServerPort => match r.server_addr {
            Some(a) => write_hex4(out, u64::from(a.port()), f),
            None => put(out, b"-"),
        },
        ServerQueue => write_num(out, r.conns.server_queue, f),
        SslCipher => text(out, r.tls.and_then(|t| t.cipher.as_deref())),
        SslVersion => text(out, r.tls.and_then(|t| t.protocol.as_deref())),
        AcceptDate => put(out, accept_date(r.accept).as_bytes()),
        RequestDate => put(out, accept_date(r.request_date).as_bytes()),
        RequestDateGmt | RequestDateLocal => put(out, clf_date(r.request_date).as_bytes()),
        Termination => put(out, &r.term),
        TerminationCookie => {
            put(out, &r.term);
            put(out, &r.cookie);
        }
    }
}

/// `{a|b}` (default style) or `"a" "b"` (CLF style) for capture slots;
/// nothing when the frontend declares none.
fn captures(out: &mut Vec<u8>, slots: SlotValues, clf: bool, f: Flags) {
    let Some(slots) = slots else { return };
    if slots.is_empty() {
        return;
    }
    if clf {
        for (i, v) in slots.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            write_text(
                out,
                v.as_deref().filter(|v| !v.is_empty()),
                Flags { quote: true, ..f },
            );
        }
        return;
    }
    out.push(b'{');
    for (i, v) in slots.iter().enumerate() {
        if i > 0 {
            out.push(b'|');
        }
        if let Some(v) = v {
            for &b in v.iter() {
                // As HAProxy: unprintable bytes and the field's own
                // delimiters are written #XX.
                if b.is_ascii_graphic() && !matches!(b, b'#' | b'{' | b'|' | b'}' | b'"')
                    || b == b' '
                {
                    out.push(b);
                } else {
                    let _ = write!(out, "#{b:02X}");
                }
            }
        }
    }
    out.push(b'}');
}

/// The request line with control bytes and `"` written #XX, as HAProxy
/// writes `%r`.
fn escape_request(q: &str) -> String {
    let mut s = String::with_capacity(q.len());
    for c in q.chars() {
        if c.is_ascii_control() || c == '"' || c == '#' {
            s.push_str(&format!("#{:02X}", c as u32));
        } else {
            s.push(c);
        }
    }
    s
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn millis(t: SystemTime) -> u32 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0)
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// HAProxy's built-in layouts, as log-format strings.
pub mod layouts {
    /// `option tcplog`.
    pub const TCPLOG: &str =
        "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";
    /// `option httplog`.
    pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
    /// `option httplog clf`.
    pub const HTTPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";
    /// `option httpslog`.
    pub const HTTPSLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn text_values() {
        let mut o = Vec::new();
        write_text(&mut o, None, Flags::default());
        write_text(
            &mut o,
            None,
            Flags {
                quote: true,
                ..Flags::default()
            },
        );
        write_text(
            &mut o,
            Some(b"a\"b"),
            Flags {
                quote: true,
                escape: true,
                hex: false,
            },
        );
        assert_eq!(o, b"-\"\"\"a\\\"b\"");
    }
}
