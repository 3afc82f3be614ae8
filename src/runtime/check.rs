//! What a server's health check is, compiled once with the Runtime: the
//! exact request bytes HAProxy 2.6 sends for the same configuration (header
//! names in lower case, `connection: close` on HTTP/1.1, no Host unless one
//! is configured), the expectations, and the intervals.

use std::net::SocketAddr;
use std::time::Duration;

use regex::Regex;

use crate::config::model::{ExpectMatch, HttpCheckRule, HttpChk};

/// How often and how a server is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    /// Where the check connects (`addr`/`port` or the server's address).
    pub target: SocketAddr,
    /// `inter`.
    pub inter: Duration,
    /// `fastinter` (defaults to `inter`).
    pub fastinter: Duration,
    /// `downinter` (defaults to `inter`).
    pub downinter: Duration,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
    /// Checks over TLS (`check-ssl`, or a `ssl` server checked on its port).
    pub tls: Option<CheckTls>,
}

/// An agent check (`agent-check`): where the agent answers, how often,
/// and what to send it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCheck {
    /// `agent-addr` (default the server's) and `agent-port`.
    pub target: SocketAddr,
    /// `agent-inter` (default `inter`).
    pub inter: Duration,
    /// `agent-send`.
    pub send: Vec<u8>,
}

/// TLS for health checks.
#[derive(Debug, Clone)]
pub struct CheckTls {
    /// The client configuration (the server's verification settings).
    pub config: std::sync::Arc<rustls::ClientConfig>,
    /// `check-sni`: the name sent; none sends no SNI.
    pub sni: Option<String>,
    /// What the settings were, to tell a change at reload.
    pub key: String,
}

impl PartialEq for CheckTls {
    fn eq(&self, other: &CheckTls) -> bool {
        self.key == other.key
    }
}

impl Eq for CheckTls {}

/// The default `inter`.
pub const DEFAULT_INTER: Duration = Duration::from_secs(2);

/// One `http-check expect` rule, compiled.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Status among ranges.
    Status(Vec<(u16, u16)>),
    /// Status matches a regex.
    Rstatus(Regex),
    /// Body contains.
    String(String),
    /// Body matches a regex.
    Rstring(Regex),
}

/// A compiled HTTP check: the exact bytes to send and what to expect.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// The request, ready to write.
    pub request: Vec<u8>,
    /// The rules, each with its `!`.
    pub expect: Vec<(bool, Expect)>,
    /// The method is HEAD: there is no body to read.
    pub head: bool,
    /// `http-check disable-on-404`.
    pub disable_on_404: bool,
}

/// Why an HTTP check could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("http-check expect: invalid regular expression '{pattern}': {source}")]
pub struct ExpectError {
    /// The pattern.
    pub pattern: String,
    /// The regex error.
    pub source: regex::Error,
}

impl HttpCheck {
    /// Builds the check of a backend from `option httpchk` and its `http-check` rules.
    pub fn new(chk: &HttpChk, rules: &[HttpCheckRule]) -> Result<HttpCheck, ExpectError> {
        let (mut meth, mut uri, mut ver) =
            (chk.method.clone(), chk.uri.clone(), chk.version.clone());
        let mut headers: Vec<(String, String)> = chk.headers.clone();
        let mut body = None;
        let mut expect = Vec::new();
        for r in rules {
            match r {
                HttpCheckRule::Send(s) => {
                    if let Some(m) = &s.meth {
                        meth = m.clone();
                    }
                    if let Some(u) = &s.uri {
                        uri = u.clone();
                    }
                    if let Some(v) = &s.ver {
                        ver = v.clone();
                    }
                    headers.extend(s.hdr.iter().cloned());
                    body = s.body.clone();
                }
                HttpCheckRule::Expect(e) => {
                    let re = |p: &str| {
                        Regex::new(p).map_err(|source| ExpectError {
                            pattern: p.to_string(),
                            source,
                        })
                    };
                    let x = match e.matcher {
                        ExpectMatch::Status => Expect::Status(
                            crate::config::model::parse_status_list(&e.pattern).unwrap_or_default(),
                        ),
                        ExpectMatch::Rstatus => Expect::Rstatus(re(&e.pattern)?),
                        ExpectMatch::String => Expect::String(e.pattern.clone()),
                        ExpectMatch::Rstring => Expect::Rstring(re(&e.pattern)?),
                    };
                    expect.push((e.negate, x));
                }
            }
        }
        let mut req = format!("{meth} {uri} {ver}\r\n");
        for (n, v) in &headers {
            req.push_str(&format!("{}: {v}\r\n", n.to_ascii_lowercase()));
        }
        if let Some(b) = &body {
            req.push_str(&format!("content-length: {}\r\n", b.len()));
        }
        if ver.eq_ignore_ascii_case("HTTP/1.1") {
            req.push_str("connection: close\r\n");
        }
        req.push_str("\r\n");
        if let Some(b) = &body {
            req.push_str(b);
        }
        Ok(HttpCheck {
            request: req.into_bytes(),
            expect,
            head: meth.eq_ignore_ascii_case("HEAD"),
            disable_on_404: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{HttpCheckExpect, HttpCheckSend};

    fn req(chk: HttpChk, rules: &[HttpCheckRule]) -> String {
        String::from_utf8(HttpCheck::new(&chk, rules).unwrap().request).unwrap()
    }
    #[test]
    fn request_bytes_match_haproxy_2_6() {
        let c = |m: &str, u: &str, v: &str| HttpChk {
            method: m.into(),
            uri: u.into(),
            version: v.into(),
            headers: vec![],
        };
        assert_eq!(
            req(
                c("GET", "/servlet/x?command=get_local_host", "HTTP/1.0"),
                &[]
            ),
            "GET /servlet/x?command=get_local_host HTTP/1.0\r\n\r\n"
        );
        assert_eq!(req(HttpChk::default(), &[]), "OPTIONS / HTTP/1.0\r\n\r\n");
        let send = HttpCheckRule::Send(HttpCheckSend {
            hdr: vec![
                ("Host".into(), "www.example.com".into()),
                ("X-A".into(), "1".into()),
            ],
            ..Default::default()
        });
        assert_eq!(
            req(c("HEAD", "/h", "HTTP/1.1"), &[send]),
            "HEAD /h HTTP/1.1\r\nhost: www.example.com\r\nx-a: 1\r\nconnection: close\r\n\r\n"
        );
        let legacy = HttpChk {
            headers: vec![("Host".into(), "legacy.example".into())],
            ..c("GET", "/x", "HTTP/1.1")
        };
        assert_eq!(
            req(legacy, &[]),
            "GET /x HTTP/1.1\r\nhost: legacy.example\r\nconnection: close\r\n\r\n"
        );
        let post = HttpCheckRule::Send(HttpCheckSend {
            meth: Some("POST".into()),
            uri: Some("/p".into()),
            ver: Some("HTTP/1.1".into()),
            body: Some("hello".into()),
            ..Default::default()
        });
        assert_eq!(
            req(HttpChk::default(), &[post]),
            "POST /p HTTP/1.1\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
        );
    }

    #[test]
    fn bad_regex_is_refused() {
        let e = HttpCheckRule::Expect(HttpCheckExpect {
            negate: false,
            matcher: ExpectMatch::Rstring,
            pattern: "(".into(),
        });
        assert!(HttpCheck::new(&HttpChk::default(), &[e]).is_err());
    }
}

/// A compiled `tcp-check` sequence: each rule a step, numbered from 1 as
/// HAProxy numbers them in its messages (comments count).
#[derive(Debug, Clone)]
pub struct TcpCheck {
    /// The steps, in order.
    pub steps: Vec<TcpStep>,
}

/// One step of a `tcp-check` sequence.
#[derive(Debug, Clone)]
pub enum TcpStep {
    /// A new connection, to this port and address (else the check's).
    Connect {
        /// `port N`.
        port: Option<u16>,
        /// `addr A`.
        addr: Option<std::net::IpAddr>,
        /// How messages name it: "connect port 15160".
        what: String,
    },
    /// Bytes to send.
    Send(Vec<u8>),
    /// `ssl-hello-chk`'s SSLv3 ClientHello, stamped with the time it is
    /// sent, as HAProxy builds it.
    SendSslHello,
    /// `mysql-check`: the server's greeting packet, which must not be an
    /// error; its version is the check's info.
    MysqlGreeting,
    /// `mysql-check user U`: the answer to the authentication, which must
    /// be an OK packet.
    MysqlOk,
    /// What must (or must not) arrive.
    Expect(TcpExpect),
    /// A `comment` rule: nothing to do, but it counts as a step.
    Comment,
}

/// A compiled `tcp-check expect`.
#[derive(Debug, Clone)]
pub struct TcpExpect {
    /// `!`.
    pub negate: bool,
    /// `min-recv`: bytes to have before matching.
    pub min_recv: usize,
    /// The matcher.
    pub matcher: TcpMatcher,
    /// The pattern as written, for messages.
    pub pattern: String,
    /// How messages name it: "expect string '+PONG'".
    pub what: String,
    /// A built-in protocol check's own verdicts (else tcp-check's).
    pub report: Option<ProtocolReport>,
}

/// How a built-in protocol check's expect reports, as HAProxy's: the
/// success text (of the last one), the status and text of a mismatch, and
/// a timeout with no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolReport {
    /// The info of a success: "Redis server is ok".
    pub ok: Option<&'static str>,
    /// A mismatch is a wrong status (L7STS) rather than an invalid
    /// response (L7RSP).
    pub wrong_status: bool,
    /// A layer-6 check (`ssl-hello-chk`): L6OK, L6RSP and L6TOUT, without
    /// code or text.
    pub layer6: bool,
    /// The info of a mismatch.
    pub error: ErrorInfo,
}

/// The info of a protocol check's mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorInfo {
    /// The answer's first line.
    FirstLine,
    /// A fixed text.
    Text(&'static str),
    /// The answer from this offset, up to a NUL byte (a C string in a
    /// protocol message, such as PostgreSQL's error severity).
    CString(usize),
    /// No text.
    Nothing,
}

/// How a `tcp-check expect` matches what arrived.
#[derive(Debug, Clone)]
pub enum TcpMatcher {
    /// `string`, `binary`: these bytes appear.
    Bytes(Vec<u8>),
    /// `rstring`: the regex matches the bytes.
    Regex(regex::bytes::Regex),
    /// `rbinary`: the regex matches the bytes written in hex.
    HexRegex(Regex),
}

impl TcpMatcher {
    /// Whether `data` matches.
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            TcpMatcher::Bytes(b) => {
                !b.is_empty() && data.windows(b.len()).any(|w| w == b.as_slice())
            }
            TcpMatcher::Regex(r) => r.is_match(data),
            TcpMatcher::HexRegex(r) => {
                let hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
                r.is_match(&hex)
            }
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

impl TcpCheck {
    /// Compiles the rules of `tcp-check` lines.
    pub fn new(rules: &[crate::config::model::TcpCheckRule]) -> Result<TcpCheck, ExpectError> {
        use crate::config::model::{TcpCheckMatch, TcpCheckRule};
        let mut steps = Vec::new();
        for r in rules {
            steps.push(match r {
                TcpCheckRule::Comment(_) => TcpStep::Comment,
                TcpCheckRule::Send(s) => TcpStep::Send(s.as_bytes().to_vec()),
                TcpCheckRule::SendBinary(h) => TcpStep::Send(unhex(h)),
                TcpCheckRule::Connect { port, addr } => {
                    let mut what = String::from("connect");
                    if let Some(p) = port {
                        what.push_str(&format!(" port {p}"));
                    }
                    if let Some(a) = addr {
                        what.push_str(&format!(" addr {a}"));
                    }
                    TcpStep::Connect {
                        port: *port,
                        addr: *addr,
                        what,
                    }
                }
                TcpCheckRule::Expect(e) => {
                    let bad = |source| ExpectError {
                        pattern: e.pattern.clone(),
                        source,
                    };
                    let matcher = match e.matcher {
                        TcpCheckMatch::String => TcpMatcher::Bytes(e.pattern.as_bytes().to_vec()),
                        TcpCheckMatch::Binary => TcpMatcher::Bytes(unhex(&e.pattern)),
                        TcpCheckMatch::Rstring => {
                            TcpMatcher::Regex(regex::bytes::Regex::new(&e.pattern).map_err(bad)?)
                        }
                        TcpCheckMatch::Rbinary => {
                            TcpMatcher::HexRegex(Regex::new(&e.pattern).map_err(bad)?)
                        }
                    };
                    TcpStep::Expect(TcpExpect {
                        negate: e.negate,
                        min_recv: e.min_recv.unwrap_or(0) as usize,
                        matcher,
                        pattern: e.pattern.clone(),
                        what: format!(
                            "expect {}{} '{}'",
                            if e.negate { "! " } else { "" },
                            e.matcher.word(),
                            e.pattern
                        ),
                        report: None,
                    })
                }
            });
        }
        Ok(TcpCheck { steps })
    }

    /// A built-in protocol check, as the steps HAProxy 2.6 runs for it.
    pub fn protocol(p: &crate::config::model::ProtocolCheck) -> TcpCheck {
        use crate::config::model::ProtocolCheck;
        let report = |ok, wrong_status, error| {
            Some(ProtocolReport {
                ok,
                wrong_status,
                layer6: false,
                error,
            })
        };
        match p {
            ProtocolCheck::Redis => TcpCheck {
                steps: vec![
                    // RESP: an array of one bulk string, as HAProxy sends it.
                    TcpStep::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()),
                    TcpStep::Expect(TcpExpect {
                        negate: false,
                        min_recv: 0,
                        matcher: TcpMatcher::Bytes(b"+PONG\r\n".to_vec()),
                        pattern: "+PONG\r\n".into(),
                        what: "expect string '+PONG\r\n'".into(),
                        report: report(Some("Redis server is ok"), true, ErrorInfo::FirstLine),
                    }),
                ],
            },
            ProtocolCheck::Mysql { user: None } => TcpCheck {
                steps: vec![TcpStep::MysqlGreeting],
            },
            ProtocolCheck::Mysql { user: Some(user) } => {
                // HAProxy 2.6's client authentication packet (protocol
                // 4.1, no password), then a COM_QUIT.
                let mut payload = vec![0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21];
                payload.extend_from_slice(&[0u8; 23]);
                payload.extend_from_slice(user.as_bytes());
                payload.extend_from_slice(&[0x00, 0x00]);
                let mut packet = (payload.len() as u32).to_le_bytes()[..3].to_vec();
                packet.push(0x01);
                packet.extend_from_slice(&payload);
                packet.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]);
                TcpCheck {
                    steps: vec![
                        TcpStep::MysqlGreeting,
                        TcpStep::Send(packet),
                        TcpStep::MysqlOk,
                    ],
                }
            }
            ProtocolCheck::SslHello => {
                let Ok(hello) = regex::Regex::new("^1[56]") else {
                    return TcpCheck { steps: Vec::new() };
                };
                TcpCheck {
                    steps: vec![
                        TcpStep::SendSslHello,
                        // A handshake (0x16) or an alert (0x15) record.
                        TcpStep::Expect(TcpExpect {
                            negate: false,
                            min_recv: 5,
                            matcher: TcpMatcher::HexRegex(hello),
                            pattern: "^1[56]".into(),
                            what: "expect rbinary '^1[56]'".into(),
                            report: Some(ProtocolReport {
                                ok: None,
                                wrong_status: false,
                                layer6: true,
                                error: ErrorInfo::Nothing,
                            }),
                        }),
                    ],
                }
            }
            ProtocolCheck::Pgsql { user } => {
                // A StartupMessage: length, protocol 3.0, "user" and the
                // name, and the final NUL.
                let mut body = vec![0, 3, 0, 0];
                body.extend_from_slice(b"user\0");
                body.extend_from_slice(user.as_bytes());
                body.extend_from_slice(b"\0\0");
                let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
                packet.extend_from_slice(&body);
                let regex = |p: &str| regex::bytes::Regex::new(p).ok();
                let hex = |p: &str| Regex::new(p).ok();
                let (Some(e_first), Some(auth)) = (
                    regex("^E"),
                    hex("^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)"),
                ) else {
                    return TcpCheck { steps: Vec::new() };
                };
                TcpCheck {
                    steps: vec![
                        TcpStep::Send(packet),
                        // An ErrorResponse ('E'): its severity is the info.
                        TcpStep::Expect(TcpExpect {
                            negate: true,
                            min_recv: 5,
                            matcher: TcpMatcher::Regex(e_first),
                            pattern: "^E".into(),
                            what: "expect !rstring '^E'".into(),
                            report: report(None, false, ErrorInfo::CString(6)),
                        }),
                        // An authentication request of a known kind ('R').
                        TcpStep::Expect(TcpExpect {
                            negate: false,
                            min_recv: 9,
                            matcher: TcpMatcher::HexRegex(auth),
                            pattern: "^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)"
                                .into(),
                            what: "expect rbinary".into(),
                            report: report(
                                Some("PostgreSQL server is ok"),
                                true,
                                ErrorInfo::Text("PostgreSQL unknown error"),
                            ),
                        }),
                    ],
                }
            }
        }
    }

    /// `ssl-hello-chk`'s ClientHello at `unix_time`: an SSLv3 record with
    /// HAProxy's fixed random bytes and its list of 39 suites.
    pub fn ssl_hello(unix_time: u32) -> Vec<u8> {
        let mut h = vec![
            0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00,
        ];
        h.extend_from_slice(&unix_time.to_be_bytes());
        h.extend_from_slice(b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
        h.extend_from_slice(&[0x00, 0x00, 0x4e]);
        for suite in (0x01u16..=0x1b).chain(0x2f..=0x3a) {
            h.extend_from_slice(&suite.to_be_bytes());
        }
        h.extend_from_slice(&[0x01, 0x00]);
        h
    }

    /// Whether the sequence only connects (its success is then a Layer4
    /// one, as HAProxy reports it).
    pub fn connect_only(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, TcpStep::Connect { .. } | TcpStep::Comment))
    }
}
