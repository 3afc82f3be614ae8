//! Health checks: `option httpchk` and the `http-check` rules, and the
//! `tcp-check` rules.

use serde::{Deserialize, Serialize};

use super::is_false;

/// `option httpchk [[METH] URI [VER]]`: what the HTTP check sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpChk {
    /// Method (default OPTIONS).
    #[serde(default = "default_chk_method")]
    pub method: String,
    /// URI (default "/").
    #[serde(default = "default_chk_uri")]
    pub uri: String,
    /// Version (default HTTP/1.0).
    #[serde(default = "default_chk_version")]
    pub version: String,
    /// Headers given the old way, after `\r\n` in the version argument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

fn default_chk_method() -> String {
    "OPTIONS".into()
}
fn default_chk_uri() -> String {
    "/".into()
}
fn default_chk_version() -> String {
    "HTTP/1.0".into()
}

impl Default for HttpChk {
    fn default() -> Self {
        HttpChk {
            method: default_chk_method(),
            uri: default_chk_uri(),
            version: default_chk_version(),
            headers: Vec::new(),
        }
    }
}

/// One `http-check` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpCheckRule {
    /// `http-check connect ...`: the next exchange opens a connection of
    /// its own.
    Connect(CheckConnect),
    /// `http-check send ...`.
    Send(HttpCheckSend),
    /// `http-check expect ...`.
    Expect(HttpCheckExpect),
    /// `http-check comment TEXT`: what the next rule's failure reports.
    Comment(String),
    /// `http-check set-var(check.NAME) EXPR`: a variable the later rules
    /// read (`var(check.NAME)`), set from the response when it follows an
    /// expect.
    SetVar {
        /// The variable, `check.NAME`.
        name: String,
        /// The sample expression, as written.
        expr: String,
    },
    /// `http-check unset-var(check.NAME)`.
    UnsetVar(String),
}

/// The options of a check's `connect` step (`http-check connect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckConnect {
    /// `default`: the server line's check settings (port, address,
    /// `check-send-proxy`, `check-ssl`) where this step sets none.
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
    /// `port N` (default: the check port, else the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `addr A` (default: the server's check address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<std::net::IpAddr>,
    /// `send-proxy`: a PROXY header first.
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_proxy: bool,
    /// `ssl`: TLS, verified as the server line says.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssl: bool,
    /// `sni NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// `linger`: close cleanly (fulcrum always does).
    #[serde(default, skip_serializing_if = "is_false")]
    pub linger: bool,
    /// `comment TEXT`: what its failure reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `http-check send [meth M] [uri U] [ver V] [hdr N V]* [body S]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckSend {
    /// Method; `option httpchk`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meth: Option<String>,
    /// URI; `option httpchk`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Version; `option httpchk`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// Headers added to the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hdr: Vec<(String, String)>,
    /// Request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `http-check expect [!] MATCH PATTERN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckExpect {
    /// `!`: the check passes when the match fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// What to look at and how.
    #[serde(rename = "match")]
    pub matcher: ExpectMatch,
    /// The pattern: status codes, a string or a regular expression (for
    /// `hdr` and `fhdr`, the header's name).
    pub pattern: String,
    /// `hdr`/`fhdr`: how the name matches, and the value's pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderExpect>,
    /// `comment TEXT`: added to the report when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `hdr|fhdr name [-m M] NAME [value [-m M] VALUE]`: how the name given as
/// the expect's pattern matches, and what the value must be (without
/// one, the header's presence is enough).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderExpect {
    /// `-m` for the name (`str` by default).
    #[serde(default, rename = "name-match")]
    pub name_match: HeaderMatch,
    /// `name-lf`: the name pattern is a log-format string, built at each
    /// check.
    #[serde(default, rename = "name-lf", skip_serializing_if = "is_false")]
    pub name_lf: bool,
    /// `value [-m M] VALUE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<HeaderValue>,
}

/// The value pattern of a header expect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    /// `-m` (`str` by default).
    #[serde(default, rename = "match")]
    pub matcher: HeaderMatch,
    /// The pattern.
    pub pattern: String,
    /// `value-lf`: the pattern is a log-format string.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lf: bool,
}

/// `-m` of a header expect: exact, prefix, suffix, substring or regex.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderMatch {
    /// `str`.
    #[default]
    Str,
    /// `beg`.
    Beg,
    /// `end`.
    End,
    /// `sub`.
    Sub,
    /// `reg`.
    Reg,
}

impl HeaderMatch {
    /// Names and values.
    pub const ALL: [(&'static str, HeaderMatch); 5] = [
        ("str", HeaderMatch::Str),
        ("beg", HeaderMatch::Beg),
        ("end", HeaderMatch::End),
        ("sub", HeaderMatch::Sub),
        ("reg", HeaderMatch::Reg),
    ];

    /// The keyword.
    pub fn name(self) -> &'static str {
        HeaderMatch::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("str", |(n, _)| n)
    }
}

/// The matching methods of `http-check expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectMatch {
    /// Status code among a list or ranges (`200`, `200-299,302`).
    Status,
    /// Status code matches a regular expression.
    Rstatus,
    /// Body contains a string.
    String,
    /// Body matches a regular expression.
    Rstring,
    /// A header (its values, comma-separated) matches.
    Hdr,
    /// A header (its whole line) matches.
    Fhdr,
}

impl ExpectMatch {
    /// Names and values.
    pub const ALL: [(&'static str, ExpectMatch); 4] = [
        ("status", ExpectMatch::Status),
        ("rstatus", ExpectMatch::Rstatus),
        ("string", ExpectMatch::String),
        ("rstring", ExpectMatch::Rstring),
    ];

    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            ExpectMatch::Status => "status",
            ExpectMatch::Rstatus => "rstatus",
            ExpectMatch::String => "string",
            ExpectMatch::Rstring => "rstring",
            ExpectMatch::Hdr => "hdr",
            ExpectMatch::Fhdr => "fhdr",
        }
    }
}

/// `200`, `200-299`, or a comma-separated list of those.
pub fn parse_status_list(s: &str) -> Result<Vec<(u16, u16)>, String> {
    s.split(',')
        .map(|part| {
            let code = |c: &str| {
                c.parse::<u16>()
                    .ok()
                    .filter(|n| (100..=599).contains(n))
                    .ok_or_else(|| format!("invalid status code '{c}' (expected 100-599)"))
            };
            match part.split_once('-') {
                Some((a, b)) => Ok((code(a)?, code(b)?)),
                None => code(part).map(|c| (c, c)),
            }
        })
        .collect()
}

/// One `tcp-check` rule (used with `option tcp-check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpCheckRule {
    /// `tcp-check connect [options]`: a new connection.
    Connect(CheckConnect),
    /// `tcp-check send STRING` (escapes such as `\r\n` already applied).
    Send(String),
    /// `tcp-check send-binary HEX`.
    SendBinary(String),
    /// `tcp-check expect [min-recv N] [!] MATCH PATTERN`.
    Expect(TcpCheckExpect),
    /// `tcp-check comment TEXT`: names the step in messages.
    Comment(String),
}

/// A `tcp-check expect` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheckExpect {
    /// `!`: the check fails when the pattern is found.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// `min-recv N`: bytes to read before matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_recv: Option<u32>,
    /// `string`, `rstring`, `binary` or `rbinary`.
    pub matcher: TcpCheckMatch,
    /// The pattern (hex digits for the binary ones).
    pub pattern: String,
    /// `comment`, `ok-status`, `error-status`, `tout-status`,
    /// `on-success`, `on-error`, `status-code`.
    #[serde(default, skip_serializing_if = "ExpectReport::is_empty")]
    pub report: ExpectReport,
}

/// How an expect reports, when its rule says (HAProxy's defaults else).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpectReport {
    /// `comment TEXT`: added to a failure's info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `ok-status L7OK|L7OKC|L6OK|L4OK` (the last expect's success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_status: Option<String>,
    /// `error-status L7OKC|L7RSP|L7STS|L6RSP|L4CON` (a mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<String>,
    /// `tout-status L7TOUT|L6TOUT|L4TOUT` (no answer in time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tout_status: Option<String>,
    /// `on-success TEXT`: the info of the last expect's success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<String>,
    /// `on-error TEXT`: the info of a mismatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
    /// `status-code int(N)`: the code reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

impl ExpectReport {
    /// Nothing set: HAProxy's defaults.
    pub fn is_empty(&self) -> bool {
        *self == ExpectReport::default()
    }
}

/// How a `tcp-check expect` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TcpCheckMatch {
    /// The text appears.
    String,
    /// The regex matches.
    Rstring,
    /// The bytes (hex) appear.
    Binary,
    /// The regex matches the hex form.
    Rbinary,
}

impl TcpCheckMatch {
    /// The keyword.
    pub fn word(self) -> &'static str {
        match self {
            TcpCheckMatch::String => "string",
            TcpCheckMatch::Rstring => "rstring",
            TcpCheckMatch::Binary => "binary",
            TcpCheckMatch::Rbinary => "rbinary",
        }
    }
}

/// A built-in protocol check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtocolCheck {
    /// `option redis-check`: PING, expecting +PONG.
    Redis,
    /// `option mysql-check [user U [post-41]]`: the server's greeting, and
    /// with a user an authentication that must be accepted.
    Mysql {
        /// `user U`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// `pre-41`: the MySQL 4.0 authentication packet.
        #[serde(default, skip_serializing_if = "super::is_false")]
        pre_41: bool,
    },
    /// `option ssl-hello-chk`: an SSLv3 ClientHello, expecting a
    /// handshake or alert record.
    SslHello,
    /// `option pgsql-check user U`: a StartupMessage, expecting an
    /// authentication request.
    Pgsql {
        /// `user U`.
        user: String,
    },
    /// `option smtpchk [HELO|EHLO <domain>]`: the banner, the greeting
    /// command and QUIT, each answered with a 2xx reply.
    Smtp {
        /// `HELO` or `EHLO`.
        hello: String,
        /// The domain the greeting names (`localhost` by default).
        domain: String,
    },
    /// `option ldap-check`: an anonymous LDAPv3 bind, expecting a
    /// successful bindResponse.
    Ldap,
    /// `option spop-check`: an SPOE HAPROXY-HELLO frame with the
    /// healthcheck item, expecting a valid AGENT-HELLO frame.
    Spop,
}
