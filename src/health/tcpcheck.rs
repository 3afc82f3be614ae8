//! `option tcp-check` sequences: connect, send and expect steps run in
//! order on one connection (a `connect` step opens a new one), with
//! HAProxy's verdicts and messages: which step failed, and how.
//!
//! What arrives is matched from the last `send` on (each send starts a new
//! answer). An expect waits for more data until it matches, the server
//! closes, or the check's read timeout ends.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::outcome::{CheckStatus, Outcome};
use super::protocols::{self, reply_code, reply_text, Verdict};
use super::tcp::{io_words, CheckIo, Dial};
use crate::config::model::CheckConnect;
use crate::runtime::check::{ErrorInfo, ProtocolReport, TcpCheck, TcpExpect, TcpStep};

/// The most a check reads before judging (HAProxy's buffer size).
const MAX_READ: usize = 16 * 1024;

/// A check's result: its status, code and info.
type Report = (CheckStatus, Option<u16>, Option<String>);

/// Runs the sequence against `target` (the server's check address).
pub async fn run(dial: Dial<'_>, check: &TcpCheck, connect: Duration, read: Duration) -> Outcome {
    let start = Instant::now();
    let out = |(status, code, info): Report| Outcome {
        info_kept: true,
        status,
        code,
        // HAProxy shows no info when it is empty.
        info: info.map(desc).filter(|i| !i.is_empty()),
        duration: start.elapsed(),
    };
    let mut sess = Session {
        conn: None,
        buf: Vec::new(),
        closed: false,
        mysql_version: None,
    };
    // Without a first `connect` step, the server's check address is
    // connected to first ("the initial connection step").
    if !matches!(check.steps.first(), Some(TcpStep::Connect { .. })) {
        match open(dial, None, connect).await {
            Ok(s) => sess.conn = Some(s),
            Err((status, words)) => {
                let info = connect_words(check, words, "at initial connection step of tcp-check");
                return out((status, None, Some(info)));
            }
        }
    }
    let ctx = Ctx {
        dial,
        check,
        connect,
        read,
    };
    for (i, step) in check.steps.iter().enumerate() {
        if let Err(report) = sess.step(&ctx, step, i + 1).await {
            return out(report);
        }
    }
    // mysql-check's version does not outlive the check in HAProxy.
    let info_kept = sess.mysql_version.is_none();
    Outcome {
        info_kept,
        ..out(success(check, &sess.buf, sess.mysql_version))
    }
}

/// What a check runs with.
struct Ctx<'a> {
    /// Where and how connections go.
    dial: Dial<'a>,
    check: &'a TcpCheck,
    connect: Duration,
    read: Duration,
}

/// A running check's connection and what it has read.
struct Session {
    conn: Option<Box<dyn CheckIo>>,
    /// The answer since the last send.
    buf: Vec<u8>,
    /// The server closed (or the read failed).
    closed: bool,
    /// mysql-check: the server's version, from its greeting.
    mysql_version: Option<String>,
}

impl Session {
    /// Runs step `n`; Err is the check's failure.
    async fn step(&mut self, ctx: &Ctx<'_>, step: &TcpStep, n: usize) -> Result<(), Report> {
        if let TcpStep::Connect { spec, what } = step {
            return match open(ctx.dial, Some(spec), ctx.connect).await {
                Ok(s) => {
                    self.conn = Some(s);
                    self.buf.clear();
                    self.closed = false;
                    Ok(())
                }
                Err((status, words)) => {
                    let mut at = format!("at step {n} of tcp-check ({what})");
                    // Its `comment`, as HAProxy adds it.
                    if let Some(c) = &spec.comment {
                        at.push_str(&format!(" comment: '{c}'"));
                    }
                    Err((status, None, Some(connect_words(ctx.check, words, &at))))
                }
            };
        }
        if matches!(step, TcpStep::Comment) {
            return Ok(());
        }
        let Some(s) = self.conn.as_mut() else {
            let what = match step {
                TcpStep::Expect(e) => e.what.as_str(),
                _ => "send",
            };
            let info = format!("no connection at step {n} of tcp-check ({what})");
            return Err((CheckStatus::L7Rsp, None, Some(info)));
        };
        let (buf, closed, read) = (&mut self.buf, &mut self.closed, ctx.read);
        match step {
            TcpStep::LdapBindResponse | TcpStep::SpopAgentHello => {
                let parse = if matches!(step, TcpStep::LdapBindResponse) {
                    protocols::ldap_bind_response
                } else {
                    protocols::spop_agent_hello
                };
                custom(s, buf, closed, parse, n, read)
                    .await
                    .map_or(Ok(()), Err)
            }
            TcpStep::MysqlGreeting | TcpStep::MysqlOk => {
                if let Some(version) = mysql_step(s, buf, closed, step, read).await? {
                    self.mysql_version = Some(version);
                }
                Ok(())
            }
            TcpStep::SendSslHello | TcpStep::Send(_) => {
                let bytes = match step {
                    TcpStep::Send(b) => b.clone(),
                    _ => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs() as u32)
                            .unwrap_or(0);
                        TcpCheck::ssl_hello(now)
                    }
                };
                // Each send starts a new answer.
                buf.clear();
                s.write_all(&bytes).await.map_err(|e| {
                    let info = format!("{} at step {n} of tcp-check (send)", io_words(&e));
                    (CheckStatus::L7Rsp, None, Some(info))
                })
            }
            TcpStep::Expect(e) => match expect(s, buf, closed, e, n, read).await {
                Some((status, info)) => Err(expect_failure(e, status, info, buf, *closed)),
                None => Ok(()),
            },
            TcpStep::Connect { .. } | TcpStep::Comment => Ok(()),
        }
    }
}

/// A connection error's words: a tcp-check says where it happened, a
/// protocol check no more than the error, as HAProxy's.
fn connect_words(check: &TcpCheck, words: String, at: &str) -> String {
    if check.protocol {
        words
    } else {
        format!("{words} {at}")
    }
}

/// How a sequence that ran to its end reports, as HAProxy reports it.
fn success(check: &TcpCheck, buf: &[u8], mysql_version: Option<String>) -> Report {
    let report = check.steps.iter().rev().find_map(|s| match s {
        TcpStep::Expect(e) => e.report,
        _ => None,
    });
    // The last expect's `ok-status`, `on-success`, `status-code`.
    let last = check.steps.iter().rev().find_map(|s| match s {
        TcpStep::Expect(e) => Some(&e.user),
        _ => None,
    });
    if let Some(u) =
        last.filter(|u| u.ok_status.is_some() || u.on_success.is_some() || u.status_code.is_some())
    {
        let status = u
            .ok_status
            .as_deref()
            .and_then(CheckStatus::from_code)
            .unwrap_or(CheckStatus::L7Ok);
        let code = status.has_code().then_some(u.status_code.unwrap_or(0));
        let info = u.on_success.clone().unwrap_or_else(|| "(tcp-check)".into());
        return (status, code, Some(info));
    }
    if let Some(v) = mysql_version {
        return (CheckStatus::L7Ok, Some(0), Some(v));
    }
    match report {
        Some(r) if r.layer6 => (CheckStatus::L6Ok, None, None),
        // SMTP: the last reply's code and text.
        Some(r) if r.reply => (
            CheckStatus::L7Ok,
            Some(reply_code(buf)),
            Some(reply_text(buf)),
        ),
        Some(ProtocolReport { ok: Some(ok), .. }) => (CheckStatus::L7Ok, Some(0), Some(ok.into())),
        // LDAP's and SPOP's success: its last report has no text.
        _ if check.protocol => (CheckStatus::L7Ok, Some(0), None),
        _ if check.connect_only() => (CheckStatus::L4Ok, None, None),
        _ => (CheckStatus::L7Ok, Some(0), Some("(tcp-check)".into())),
    }
}

/// A tcp-check expect's failure as its rule reports it: a timeout with
/// `tout-status` (its comment quoted), a mismatch with `error-status`,
/// `on-error`, `status-code` (its comment after the info), as HAProxy.
fn user_failure(
    u: &crate::config::model::ExpectReport,
    status: CheckStatus,
    info: String,
) -> Report {
    let pick = |s: &Option<String>| s.as_deref().and_then(CheckStatus::from_code);
    if status == CheckStatus::L7Tout {
        let status = pick(&u.tout_status).unwrap_or(status);
        let info = match &u.comment {
            Some(c) => format!("{info} comment: '{c}'"),
            None => info,
        };
        return (status, None, Some(info));
    }
    let status = pick(&u.error_status).unwrap_or(status);
    let code = status.has_code().then_some(u.status_code.unwrap_or(0));
    let mut info = u.on_error.clone().unwrap_or(info);
    if let Some(c) = &u.comment {
        info = format!("{info} comment: {c}");
    }
    (status, code, Some(info))
}

/// How a failed expect reports: tcp-check's words, or a protocol check's
/// own terms (a timeout says nothing more).
fn expect_failure(
    e: &TcpExpect,
    status: CheckStatus,
    info: String,
    buf: &[u8],
    closed: bool,
) -> Report {
    let empty = buf.is_empty() && closed;
    let Some(r) = e.report else {
        return user_failure(&e.user, status, info);
    };
    if status == CheckStatus::L7Tout {
        let status = if r.layer6 {
            CheckStatus::L6Tout
        } else {
            status
        };
        return (status, None, None);
    }
    let info = match r.error {
        _ if empty => Some(info),
        ErrorInfo::FirstLine => Some(first_line(buf)),
        ErrorInfo::Text(t) => Some(t.to_string()),
        ErrorInfo::CString(at) => Some(c_string(buf, at)),
        ErrorInfo::ReplyText => Some(reply_text(buf)),
        ErrorInfo::Nothing => None,
    };
    if r.layer6 {
        (CheckStatus::L6Rsp, None, info)
    } else if r.wrong_status {
        // An SMTP reply's own code, else 0.
        let code = if r.reply && !empty {
            reply_code(buf)
        } else {
            0
        };
        (CheckStatus::L7Sts, Some(code), info)
    } else {
        (CheckStatus::L7Rsp, None, info)
    }
}

/// A mysql-check step: the greeting (Ok with the server's version) or the
/// answer to the authentication (an OK packet); an ERR packet gives its
/// code and message.
async fn mysql_step(
    s: &mut dyn CheckIo,
    buf: &mut Vec<u8>,
    closed: &mut bool,
    step: &TcpStep,
    read: Duration,
) -> Result<Option<String>, Report> {
    let greeting = matches!(step, TcpStep::MysqlGreeting);
    let p = match mysql_packet(s, buf, closed, read).await {
        MysqlRead::Timeout => return Err((CheckStatus::L7Tout, None, None)),
        MysqlRead::Incomplete => return Err((CheckStatus::L7Rsp, None, None)),
        MysqlRead::Packet(p) => p,
    };
    match p.first() {
        // An ERR packet: its code and message.
        Some(0xff) if p.len() >= 3 => {
            let code = u16::from_le_bytes([p[1], p[2]]);
            let msg = String::from_utf8_lossy(&p[3..]).into_owned();
            Err((CheckStatus::L7Sts, Some(code), Some(msg)))
        }
        _ if greeting => {
            // Protocol version, then the server version.
            let rest = p.get(1..).unwrap_or_default();
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            Ok(Some(String::from_utf8_lossy(&rest[..end]).into_owned()))
        }
        Some(0x00) => Ok(None),
        _ => Err((CheckStatus::L7Rsp, None, None)),
    }
}

/// Opens a connection of the sequence (the server's, or a `connect`
/// step's) with its PROXY header and TLS, or says why not in HAProxy's
/// status and words.
async fn open(
    dial: Dial<'_>,
    step: Option<&CheckConnect>,
    timeout: Duration,
) -> Result<Box<dyn CheckIo>, (CheckStatus, String)> {
    let (to, tls, proxy) = dial.for_step(step);
    let tcp = match tokio::time::timeout(timeout, super::tcp::dial(to, proxy)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            s
        }
        Ok(Err(e)) => return Err((CheckStatus::L4Con, io_words(&e))),
        Err(_) => return Err((CheckStatus::L4Tout, "Connection timeout".into())),
    };
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    match super::tcp::handshake(tcp, &tls, to, Instant::now(), timeout).await {
        Ok(s) => Ok(Box::new(s)),
        Err(o) => Err((o.status, o.info.unwrap_or_default())),
    }
}

/// Reads until the expect is decided; None when it passed, else the
/// status and message of its failure.
async fn expect(
    s: &mut dyn CheckIo,
    buf: &mut Vec<u8>,
    closed: &mut bool,
    e: &TcpExpect,
    n: usize,
    read: Duration,
) -> Option<(CheckStatus, String)> {
    let deadline = tokio::time::Instant::now() + read;
    loop {
        let last = *closed || buf.len() >= MAX_READ;
        // HAProxy's rule: below `min-recv` bytes, wait; without a
        // `min-recv`, a mismatch waits for more data until the last read;
        // with one, it is final.
        let decided = if buf.len() < e.min_recv && !last {
            None
        } else {
            let found = e.matcher.matches(buf);
            if !found && !last && e.min_recv == 0 {
                None
            } else if found != e.negate {
                return None;
            } else if found {
                Some(format!(
                    "TCPCHK matched unwanted content '{}' at step {n}",
                    e.pattern
                ))
            } else if buf.is_empty() {
                Some(format!("TCPCHK got an empty response at step {n}"))
            } else {
                Some(format!(
                    "TCPCHK did not match content '{}' at step {n}",
                    e.pattern
                ))
            }
        };
        if let Some(msg) = decided {
            return Some((CheckStatus::L7Rsp, msg));
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => *closed = true,
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
            Err(_) => {
                return Some((
                    CheckStatus::L7Tout,
                    format!(" at step {n} of tcp-check ({})", e.what),
                ))
            }
        }
    }
}

/// The answer's first line, without its end of line.
fn first_line(buf: &[u8]) -> String {
    let end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The bytes from `at` up to a NUL (or the end), as text.
fn c_string(buf: &[u8], at: usize) -> String {
    let rest = buf.get(at..).unwrap_or_default();
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// What reading one MySQL packet gave.
enum MysqlRead {
    /// Its payload.
    Packet(Vec<u8>),
    /// The server closed before a whole packet.
    Incomplete,
    /// The check's read timeout passed.
    Timeout,
}

/// Reads one MySQL packet (3-byte little-endian length, sequence number,
/// payload) into `buf`.
async fn mysql_packet(
    s: &mut dyn CheckIo,
    buf: &mut Vec<u8>,
    closed: &mut bool,
    read: Duration,
) -> MysqlRead {
    let deadline = tokio::time::Instant::now() + read;
    loop {
        if buf.len() >= 4 {
            let len = u32::from_le_bytes([buf[0], buf[1], buf[2], 0]) as usize;
            if buf.len() >= 4 + len {
                // Taken out: the server's next packet may be behind it.
                let p = buf[4..4 + len].to_vec();
                buf.drain(..4 + len);
                return MysqlRead::Packet(p);
            }
        }
        if *closed || buf.len() >= MAX_READ {
            return MysqlRead::Incomplete;
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => *closed = true,
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
            Err(_) => return MysqlRead::Timeout,
        }
    }
}

/// A check's info as HAProxy keeps it: at most 127 bytes (cut on a
/// character boundary here).
fn desc(mut info: String) -> String {
    if info.len() > 127 {
        let mut end = 127;
        while !info.is_char_boundary(end) {
            end -= 1;
        }
        info.truncate(end);
    }
    info
}

/// Runs a protocol's parser over the answer, reading until it decides;
/// None when it passed, else the failure's status, code and info.
async fn custom(
    s: &mut dyn CheckIo,
    buf: &mut Vec<u8>,
    closed: &mut bool,
    parse: fn(&[u8], bool) -> Verdict,
    n: usize,
    read: Duration,
) -> Option<Report> {
    let deadline = tokio::time::Instant::now() + read;
    loop {
        let last = *closed || buf.len() >= MAX_READ;
        if buf.is_empty() && *closed {
            let info = format!("TCPCHK got an empty response at step {n}");
            return Some((CheckStatus::L7Rsp, None, Some(info)));
        }
        if !buf.is_empty() || last {
            match parse(buf, last) {
                Verdict::Pass => return None,
                Verdict::Fail(status, code, info) => return Some((status, code, info)),
                Verdict::Wait => {}
            }
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => *closed = true,
            Ok(Ok(k)) => buf.extend_from_slice(&chunk[..k]),
            Err(_) => return Some((CheckStatus::L7Tout, None, None)),
        }
    }
}
