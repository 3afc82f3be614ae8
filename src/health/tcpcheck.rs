//! `option tcp-check` sequences: connect, send and expect steps run in
//! order on one connection (a `connect` step opens a new one), with
//! HAProxy's verdicts and messages: which step failed, and how.
//!
//! What arrives is matched from the last `send` on (each send starts a new
//! answer). An expect waits for more data until it matches, the server
//! closes, or the check's read timeout ends.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::outcome::{CheckStatus, Outcome};
use super::tcp::io_words;
use crate::runtime::check::{ErrorInfo, ProtocolReport, TcpCheck, TcpExpect, TcpStep};

/// The most a check reads before judging (HAProxy's buffer size).
const MAX_READ: usize = 16 * 1024;

/// Runs the sequence against `target` (the server's check address).
pub async fn run(
    target: SocketAddr,
    check: &TcpCheck,
    connect: Duration,
    read: Duration,
) -> Outcome {
    let start = Instant::now();
    let out = |status, code, info: Option<String>| Outcome {
        status,
        code,
        info,
        duration: start.elapsed(),
    };
    let mut conn: Option<TcpStream> = None;
    let mut buf: Vec<u8> = Vec::new();
    let mut closed = false;
    // mysql-check: the server's version, from its greeting.
    let mut mysql_version: Option<String> = None;
    // Without a first `connect` step, the server's check address is
    // connected to first ("the initial connection step").
    if !matches!(check.steps.first(), Some(TcpStep::Connect { .. })) {
        match open(target, connect).await {
            Ok(s) => conn = Some(s),
            Err((status, words)) => {
                return out(
                    status,
                    None,
                    Some(format!("{words} at initial connection step of tcp-check")),
                )
            }
        }
    }
    for (i, step) in check.steps.iter().enumerate() {
        let n = i + 1;
        match step {
            TcpStep::Comment => {}
            TcpStep::MysqlGreeting | TcpStep::MysqlOk => {
                let Some(s) = conn.as_mut() else {
                    return out(CheckStatus::L7Rsp, None, None);
                };
                if matches!(step, TcpStep::MysqlOk) {
                    buf.clear();
                    closed = false;
                }
                match mysql_packet(s, &mut buf, &mut closed, read).await {
                    MysqlRead::Timeout => return out(CheckStatus::L7Tout, None, None),
                    MysqlRead::Incomplete => return out(CheckStatus::L7Rsp, None, None),
                    MysqlRead::Packet(p) => match p.first() {
                        // An ERR packet: its code and message.
                        Some(0xff) if p.len() >= 3 => {
                            let code = u16::from_le_bytes([p[1], p[2]]);
                            let msg = String::from_utf8_lossy(&p[3..]).into_owned();
                            return out(CheckStatus::L7Sts, Some(code), Some(msg));
                        }
                        _ if matches!(step, TcpStep::MysqlGreeting) => {
                            // Protocol version, then the server version.
                            let rest = p.get(1..).unwrap_or_default();
                            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                            mysql_version =
                                Some(String::from_utf8_lossy(&rest[..end]).into_owned());
                        }
                        Some(0x00) => {}
                        _ => return out(CheckStatus::L7Rsp, None, None),
                    },
                }
            }
            TcpStep::Connect { port, addr, what } => {
                let to =
                    SocketAddr::new(addr.unwrap_or(target.ip()), port.unwrap_or(target.port()));
                match open(to, connect).await {
                    Ok(s) => {
                        conn = Some(s);
                        buf.clear();
                        closed = false;
                    }
                    Err((status, words)) => {
                        return out(
                            status,
                            None,
                            Some(format!("{words} at step {n} of tcp-check ({what})")),
                        )
                    }
                }
            }
            TcpStep::SendSslHello | TcpStep::Send(_) => {
                let hello;
                let bytes: &[u8] = match step {
                    TcpStep::Send(b) => b,
                    _ => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs() as u32)
                            .unwrap_or(0);
                        hello = TcpCheck::ssl_hello(now);
                        &hello
                    }
                };
                let Some(s) = conn.as_mut() else {
                    return out(
                        CheckStatus::L7Rsp,
                        None,
                        Some(format!("no connection at step {n} of tcp-check (send)")),
                    );
                };
                buf.clear();
                if let Err(e) = s.write_all(bytes).await {
                    return out(
                        CheckStatus::L7Rsp,
                        None,
                        Some(format!("{} at step {n} of tcp-check (send)", io_words(&e))),
                    );
                }
            }
            TcpStep::Expect(e) => {
                let Some(s) = conn.as_mut() else {
                    return out(
                        CheckStatus::L7Rsp,
                        None,
                        Some(format!(
                            "no connection at step {n} of tcp-check ({})",
                            e.what
                        )),
                    );
                };
                if let Some((status, info)) = expect(s, &mut buf, &mut closed, e, n, read).await {
                    let empty = buf.is_empty() && closed;
                    return match (e.report, status) {
                        // A protocol check: a timeout says nothing more; a
                        // mismatch says it in the protocol's terms.
                        (Some(r), CheckStatus::L7Tout) if r.layer6 => {
                            out(CheckStatus::L6Tout, None, None)
                        }
                        (Some(_), CheckStatus::L7Tout) => out(status, None, None),
                        (Some(r), _) => {
                            let info = match r.error {
                                _ if empty => Some(info),
                                ErrorInfo::FirstLine => Some(first_line(&buf)),
                                ErrorInfo::Text(t) => Some(t.to_string()),
                                ErrorInfo::CString(at) => Some(c_string(&buf, at)),
                                ErrorInfo::Nothing => None,
                            };
                            if r.layer6 {
                                out(CheckStatus::L6Rsp, None, info)
                            } else if r.wrong_status {
                                out(CheckStatus::L7Sts, Some(0), info)
                            } else {
                                out(CheckStatus::L7Rsp, None, info)
                            }
                        }
                        (None, _) => out(status, None, Some(info)),
                    };
                }
            }
        }
    }
    let report = check.steps.iter().rev().find_map(|s| match s {
        TcpStep::Expect(e) => e.report,
        _ => None,
    });
    if let Some(v) = mysql_version {
        return out(CheckStatus::L7Ok, Some(0), Some(v));
    }
    match report {
        Some(r) if r.layer6 => out(CheckStatus::L6Ok, None, None),
        Some(ProtocolReport { ok: Some(ok), .. }) => {
            out(CheckStatus::L7Ok, Some(0), Some(ok.into()))
        }
        _ if check.connect_only() => out(CheckStatus::L4Ok, None, None),
        _ => out(CheckStatus::L7Ok, Some(0), Some("(tcp-check)".into())),
    }
}

/// Connects, or says why not in HAProxy's status and words.
async fn open(to: SocketAddr, timeout: Duration) -> Result<TcpStream, (CheckStatus, String)> {
    match tokio::time::timeout(timeout, TcpStream::connect(to)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err((CheckStatus::L4Con, io_words(&e))),
        Err(_) => Err((CheckStatus::L4Tout, "Connection timeout".into())),
    }
}

/// Reads until the expect is decided; None when it passed, else the
/// status and message of its failure.
async fn expect(
    s: &mut TcpStream,
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
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    closed: &mut bool,
    read: Duration,
) -> MysqlRead {
    let deadline = tokio::time::Instant::now() + read;
    loop {
        if buf.len() >= 4 {
            let len = u32::from_le_bytes([buf[0], buf[1], buf[2], 0]) as usize;
            if buf.len() >= 4 + len {
                return MysqlRead::Packet(buf[4..4 + len].to_vec());
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
