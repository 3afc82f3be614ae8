//! A compiled HTTP check (`option httpchk` with its `http-check` rules):
//! one exchange per connection, as HAProxy runs them. Each has the exact
//! request bytes HAProxy 2.6 sends (header names in lower case,
//! `connection: close` on HTTP/1.1, no Host unless one is configured)
//! and its expectations; an `http-check connect` starts the next one.

use regex::Regex;

use super::check_hdr::HeaderRule;
use crate::config::model::{
    CheckConnect, ExpectMatch, HttpCheckExpect, HttpCheckRule, HttpCheckSend, HttpChk,
};

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
    /// `hdr`/`fhdr`: a header matches.
    Header(HeaderRule),
    /// Not a test: `http-check set-var(check.NAME) EXPR`, run in its place
    /// among the expects (it always passes).
    SetVar(Box<str>, crate::rules::sample::Expr),
    /// Not a test: `http-check unset-var(check.NAME)`.
    UnsetVar(Box<str>),
}

/// An expect with its `!` and the comment its failure reports.
#[derive(Debug, Clone)]
pub struct ExpectStep {
    /// `!`: passes when the test fails.
    pub negate: bool,
    /// The test.
    pub test: Expect,
    /// `comment` (or a preceding `http-check comment`).
    pub comment: Option<String>,
}

/// One request and what its answer must be, on a connection of its own.
#[derive(Debug, Clone)]
pub struct HttpExchange {
    /// `http-check connect`'s options; None for a first exchange without
    /// one (the server's own check settings).
    pub connect: Option<CheckConnect>,
    /// The request, ready to write.
    pub request: Vec<u8>,
    /// The expects, in order.
    pub expect: Vec<ExpectStep>,
    /// The method is HEAD: there is no body to read.
    pub head: bool,
}

/// A compiled HTTP check.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// The exchanges, in order; the check passes when every one does.
    pub exchanges: Vec<HttpExchange>,
    /// `http-check disable-on-404`.
    pub disable_on_404: bool,
    /// `http-check send-state`: the requests carry X-Haproxy-Server-State.
    pub send_state: bool,
}

impl HttpExchange {
    /// The request with an `x-haproxy-server-state` header, where HAProxy
    /// puts it: after the configured headers, before `connection: close`.
    pub fn request_with_state(&self, state: &str) -> Vec<u8> {
        let req = &self.request;
        let at = find(req, b"connection: close\r\n")
            .or_else(|| find(req, b"\r\n\r\n").map(|i| i + 2))
            .unwrap_or(req.len());
        let mut out = Vec::with_capacity(req.len() + state.len() + 32);
        out.extend_from_slice(&req[..at]);
        out.extend_from_slice(b"x-haproxy-server-state: ");
        out.extend_from_slice(state.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&req[at..]);
        out
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Why an HTTP check could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// A pattern is not a regular expression.
    #[error("http-check expect: invalid regular expression '{pattern}': {source}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// The regex error.
        source: regex::Error,
    },
    /// A sample expression or log-format string does not compile.
    #[error("http-check: '{text}': {message}")]
    Sample {
        /// As written.
        text: String,
        /// Why.
        message: String,
    },
}

/// Compiles a check's sample expression (`set-var`): check rules read the
/// response and their variables, nothing of a proxy, so no proxy context.
pub fn check_expr(text: &str) -> Result<crate::rules::sample::Expr, ExpectError> {
    let cfg = crate::config::Config::default();
    let ctx = crate::rules::Context::new(&cfg, "");
    crate::rules::sample::Expr::parse(text, &ctx).map_err(|message| ExpectError::Sample {
        text: text.to_string(),
        message,
    })
}

/// Compiles a check's log-format string (`name-lf`, `value-lf`).
pub fn check_fmt(text: &str) -> Result<crate::rules::fmt::Fmt, ExpectError> {
    let cfg = crate::config::Config::default();
    let ctx = crate::rules::Context::new(&cfg, "");
    crate::rules::fmt::Fmt::parse(text, &ctx).map_err(|message| ExpectError::Sample {
        text: text.to_string(),
        message,
    })
}

impl HttpCheck {
    /// Builds the check of a backend from `option httpchk` and its
    /// `http-check` rules: each `connect` starts an exchange; an exchange
    /// without a `send` sends `option httpchk`'s request.
    pub fn new(chk: &HttpChk, rules: &[HttpCheckRule]) -> Result<HttpCheck, ExpectError> {
        let mut exchanges: Vec<(
            Option<CheckConnect>,
            Option<&HttpCheckSend>,
            Vec<ExpectStep>,
        )> = Vec::new();
        let mut comment: Option<String> = None;
        for r in rules {
            match r {
                HttpCheckRule::Comment(c) => comment = Some(c.clone()),
                HttpCheckRule::Connect(c) => {
                    let mut c = c.clone();
                    c.comment = c.comment.or(comment.take());
                    exchanges.push((Some(c), None, Vec::new()));
                }
                HttpCheckRule::Send(s) => {
                    comment = None;
                    match exchanges.last_mut() {
                        Some(x) if x.1.is_none() => x.1 = Some(s),
                        _ => exchanges.push((None, Some(s), Vec::new())),
                    }
                }
                HttpCheckRule::Expect(e) => {
                    let step = ExpectStep {
                        negate: e.negate,
                        test: compile_expect(e)?,
                        comment: e.comment.clone().or(comment.take()),
                    };
                    match exchanges.last_mut() {
                        Some(x) => x.2.push(step),
                        None => exchanges.push((None, None, vec![step])),
                    }
                }
                HttpCheckRule::SetVar { .. } | HttpCheckRule::UnsetVar(_) => {
                    let test = match r {
                        HttpCheckRule::SetVar { name, expr } => {
                            Expect::SetVar(name.as_str().into(), check_expr(expr)?)
                        }
                        HttpCheckRule::UnsetVar(name) => Expect::UnsetVar(name.as_str().into()),
                        _ => continue,
                    };
                    let step = ExpectStep {
                        negate: false,
                        test,
                        comment: None,
                    };
                    match exchanges.last_mut() {
                        Some(x) => x.2.push(step),
                        None => exchanges.push((None, None, vec![step])),
                    }
                }
            }
        }
        if exchanges.is_empty() {
            exchanges.push((None, None, Vec::new()));
        }
        Ok(HttpCheck {
            exchanges: exchanges
                .into_iter()
                .map(|(connect, send, expect)| {
                    let (request, head) = request(chk, send);
                    HttpExchange {
                        connect,
                        request,
                        expect,
                        head,
                    }
                })
                .collect(),
            disable_on_404: false,
            send_state: false,
        })
    }
}

fn compile_expect(e: &HttpCheckExpect) -> Result<Expect, ExpectError> {
    let re = |p: &str| {
        Regex::new(p).map_err(|source| ExpectError::Regex {
            pattern: p.to_string(),
            source,
        })
    };
    Ok(match e.matcher {
        ExpectMatch::Status => {
            Expect::Status(crate::config::model::parse_status_list(&e.pattern).unwrap_or_default())
        }
        ExpectMatch::Rstatus => Expect::Rstatus(re(&e.pattern)?),
        ExpectMatch::String => Expect::String(e.pattern.clone()),
        ExpectMatch::Rstring => Expect::Rstring(re(&e.pattern)?),
        ExpectMatch::Hdr | ExpectMatch::Fhdr => Expect::Header(HeaderRule::new(e)?),
    })
}

/// The request of one exchange: `option httpchk`'s, with what its `send`
/// sets; and whether it is a HEAD.
fn request(chk: &HttpChk, send: Option<&HttpCheckSend>) -> (Vec<u8>, bool) {
    let (mut meth, mut uri, mut ver) = (chk.method.clone(), chk.uri.clone(), chk.version.clone());
    // A send with headers of its own drops the ones hidden after the
    // version of `option httpchk`, as HAProxy does.
    let mut headers: Vec<(String, String)> = match send {
        Some(s) if !s.hdr.is_empty() => Vec::new(),
        _ => chk.headers.clone(),
    };
    let mut body = None;
    if let Some(s) = send {
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
    (req.into_bytes(), meth.eq_ignore_ascii_case("HEAD"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{HttpCheckExpect, HttpCheckSend};

    fn req(chk: HttpChk, rules: &[HttpCheckRule]) -> String {
        String::from_utf8(
            HttpCheck::new(&chk, rules).unwrap().exchanges[0]
                .request
                .clone(),
        )
        .unwrap()
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
            comment: None,
            negate: false,
            matcher: ExpectMatch::Rstring,
            pattern: "(".into(),
            header: None,
        });
        assert!(HttpCheck::new(&HttpChk::default(), &[e]).is_err());
    }
}
