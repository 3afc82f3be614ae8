//! What a server's health check is, compiled once with the Runtime: the
//! exact request bytes HAProxy 2.6 sends for the same configuration (header
//! names in lower case, `connection: close` on HTTP/1.1, no Host unless one
//! is configured), the expectations, and the intervals.

use std::net::SocketAddr;
use std::time::Duration;

use regex::Regex;

pub use super::check_hdr::{HeaderRule, Pattern};
pub use super::check_http::{Expect, ExpectError, ExpectStep, HttpCheck, HttpExchange};

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
    /// `check-send-proxy`: the PROXY header each check connection opens with.
    pub send_proxy: Option<CheckProxy>,
    /// The TLS of `http-check connect ... ssl` steps (the server line's
    /// verification settings), when the backend has one.
    pub step_tls: Option<CheckTls>,
}

/// The PROXY header of a check connection (`check-send-proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckProxy {
    /// Version 1, naming the check connection's own addresses.
    V1,
    /// Version 2 (the server has `send-proxy-v2`): the LOCAL command.
    V2,
}

impl CheckProxy {
    /// The bytes to send first on a check connection from `local` to `peer`.
    pub fn header(self, local: SocketAddr, peer: SocketAddr) -> Vec<u8> {
        match self {
            CheckProxy::V1 => crate::util::proxy_header::v1_header(local, peer).into_bytes(),
            CheckProxy::V2 => crate::util::proxy_header::v2_local(),
        }
    }
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

/// A compiled `tcp-check` sequence: each rule a step, numbered from 1 as
/// HAProxy numbers them in its messages (comments count).
#[derive(Debug, Clone)]
pub struct TcpCheck {
    /// The steps, in order.
    pub steps: Vec<TcpStep>,
    /// A built-in protocol check: its connection errors are reported
    /// without tcp-check's step words, as HAProxy reports them.
    pub protocol: bool,
    /// LDAP's and SPOP's success is reported twice by HAProxy 2.6: once by
    /// the protocol's parser with this text, then again, without text, at
    /// the end of the rules; each report counts towards `rise`.
    pub double_report: Option<&'static str>,
}

/// One step of a `tcp-check` sequence.
#[derive(Debug, Clone)]
pub enum TcpStep {
    /// A new connection, with its options (port, address, TLS, PROXY).
    Connect {
        /// The step's options.
        spec: crate::config::model::CheckConnect,
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
    /// `ldap-check`: the bindResponse, whose resultCode must be 0.
    LdapBindResponse,
    /// `spop-check`: the agent's AGENT-HELLO frame (min-recv 4).
    SpopAgentHello,
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
    /// What the rule says about its report (`comment`, `ok-status`,
    /// `on-error`...), with a preceding `tcp-check comment`.
    pub user: crate::config::model::ExpectReport,
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
    /// An SMTP reply: the code is its first three bytes, and a success's
    /// info its text (after the code, spaces trimmed, to the line's end).
    pub reply: bool,
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
    /// The text of an SMTP reply (see `ProtocolReport::reply`).
    ReplyText,
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
        // A `tcp-check comment` names the failure of the expect after it.
        let mut comment: Option<String> = None;
        for r in rules {
            // A comment names only the rule right after it.
            let named = comment.take();
            steps.push(match r {
                TcpCheckRule::Comment(c) => {
                    comment = Some(c.clone());
                    TcpStep::Comment
                }
                TcpCheckRule::Send(s) => TcpStep::Send(s.as_bytes().to_vec()),
                TcpCheckRule::SendBinary(h) => TcpStep::Send(unhex(h)),
                TcpCheckRule::Connect(c) => {
                    let c = &crate::config::model::CheckConnect {
                        comment: c.comment.clone().or(named),
                        ..c.clone()
                    };
                    let mut what = String::from("connect");
                    if let Some(p) = c.port {
                        what.push_str(&format!(" port {p}"));
                    }
                    if let Some(a) = c.addr {
                        what.push_str(&format!(" addr {a}"));
                    }
                    TcpStep::Connect {
                        spec: c.clone(),
                        what,
                    }
                }
                TcpCheckRule::Expect(e) => {
                    let bad = |source| ExpectError::Regex {
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
                        user: crate::config::model::ExpectReport {
                            comment: e.report.comment.clone().or(named),
                            ..e.report.clone()
                        },
                    })
                }
            });
        }
        Ok(TcpCheck {
            steps,
            protocol: false,
            double_report: None,
        })
    }

    /// Whether the sequence only connects (its success is then a Layer4
    /// one, as HAProxy reports it).
    pub fn connect_only(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, TcpStep::Connect { .. } | TcpStep::Comment))
    }
}
