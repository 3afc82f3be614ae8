//! The built-in protocol checks (`option redis-check`, `pgsql-check`,
//! `ssl-hello-chk`, `mysql-check`, `smtpchk`, `ldap-check`, `spop-check`)
//! as the tcp-check steps HAProxy 2.6 runs for them: the same bytes sent,
//! the same expectations, and how each reports (status, code, info).

use regex::Regex;

use super::check::{ErrorInfo, ProtocolReport, TcpCheck, TcpExpect, TcpMatcher, TcpStep};
use crate::config::model::ProtocolCheck;

/// A protocol expect's report: its success text, whether a mismatch is a
/// wrong status (else an invalid response), and a mismatch's info.
fn report(ok: Option<&'static str>, wrong_status: bool, error: ErrorInfo) -> ProtocolReport {
    ProtocolReport {
        ok,
        wrong_status,
        layer6: false,
        error,
        reply: false,
    }
}

/// An expect on a fixed pattern (compiled from constants, so it cannot
/// fail; a failure would leave an empty, always-passing sequence).
fn expect(min_recv: usize, matcher: TcpMatcher, pattern: &str, r: ProtocolReport) -> TcpStep {
    let what = match &matcher {
        TcpMatcher::Bytes(_) => format!("expect string '{pattern}'"),
        TcpMatcher::Regex(_) => format!("expect rstring '{pattern}'"),
        TcpMatcher::HexRegex(_) => format!("expect rbinary '{pattern}'"),
    };
    TcpStep::Expect(TcpExpect {
        negate: false,
        min_recv,
        matcher,
        pattern: pattern.into(),
        what,
        report: Some(r),
        user: Default::default(),
    })
}

/// A regex over the answer's bytes (any byte, not only UTF-8 text, as
/// PCRE matches them in HAProxy).
fn bytes_regex(p: &str) -> Option<TcpMatcher> {
    regex::bytes::Regex::new(&format!("(?-u){p}"))
        .ok()
        .map(TcpMatcher::Regex)
}

/// A regex over the answer written in upper-case hex.
fn hex_regex(p: &str) -> Option<TcpMatcher> {
    Regex::new(p).ok().map(TcpMatcher::HexRegex)
}

impl TcpCheck {
    /// A built-in protocol check, as the steps HAProxy 2.6 runs for it.
    pub fn protocol(p: &ProtocolCheck) -> TcpCheck {
        let (steps, double_report) = match p {
            ProtocolCheck::Redis => (redis(), None),
            ProtocolCheck::Mysql { user, pre_41 } => (mysql(user.as_deref(), *pre_41), None),
            ProtocolCheck::SslHello => (ssl_hello_steps(), None),
            ProtocolCheck::Pgsql { user } => (pgsql(user), None),
            ProtocolCheck::Smtp { hello, domain } => (smtp(hello, domain), None),
            ProtocolCheck::Ldap => (ldap(), Some("Success")),
            ProtocolCheck::Spop => (spop(), Some("SPOA server is ok")),
        };
        TcpCheck {
            steps: steps.unwrap_or_default(),
            protocol: true,
            double_report,
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
}

fn redis() -> Option<Vec<TcpStep>> {
    Some(vec![
        // RESP: an array of one bulk string, as HAProxy sends it.
        TcpStep::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()),
        expect(
            0,
            TcpMatcher::Bytes(b"+PONG\r\n".to_vec()),
            "+PONG\r\n",
            report(Some("Redis server is ok"), true, ErrorInfo::FirstLine),
        ),
    ])
}

fn mysql(user: Option<&str>, pre_41: bool) -> Option<Vec<TcpStep>> {
    let Some(user) = user else {
        return Some(vec![TcpStep::MysqlGreeting]);
    };
    // HAProxy 2.6's client authentication packet (protocol 4.1, or 4.0
    // with `pre-41`; no password), then a COM_QUIT, sent as soon as the
    // connection opens, before the server's greeting is read, as HAProxy
    // sends it (a proxy in between that waits for the client's first
    // bytes sees them at once).
    let mut payload = if pre_41 {
        vec![0x00, 0x80, 0x00, 0x00, 0x01]
    } else {
        let mut p = vec![0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21];
        p.extend_from_slice(&[0u8; 23]);
        p
    };
    payload.extend_from_slice(user.as_bytes());
    payload.extend_from_slice(&[0x00, 0x00]);
    let mut packet = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    packet.push(0x01);
    packet.extend_from_slice(&payload);
    packet.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]);
    Some(vec![
        TcpStep::Send(packet),
        TcpStep::MysqlGreeting,
        TcpStep::MysqlOk,
    ])
}

fn ssl_hello_steps() -> Option<Vec<TcpStep>> {
    Some(vec![
        TcpStep::SendSslHello,
        // A handshake (0x16) or an alert (0x15) record.
        expect(
            5,
            hex_regex("^1[56]")?,
            "^1[56]",
            ProtocolReport {
                layer6: true,
                ..report(None, false, ErrorInfo::Nothing)
            },
        ),
    ])
}

fn pgsql(user: &str) -> Option<Vec<TcpStep>> {
    // A StartupMessage: length, protocol 3.0, "user" and the name, and
    // the final NUL.
    let mut body = vec![0, 3, 0, 0];
    body.extend_from_slice(b"user\0");
    body.extend_from_slice(user.as_bytes());
    body.extend_from_slice(b"\0\0");
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    let auth = "^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)";
    let mut error = expect(
        5,
        bytes_regex("^E")?,
        "^E",
        report(None, false, ErrorInfo::CString(6)),
    );
    // An ErrorResponse ('E') fails: its severity is the info.
    if let TcpStep::Expect(e) = &mut error {
        e.negate = true;
        e.what = "expect !rstring '^E'".into();
    }
    let mut known = expect(
        9,
        hex_regex(auth)?,
        auth,
        report(
            Some("PostgreSQL server is ok"),
            true,
            ErrorInfo::Text("PostgreSQL unknown error"),
        ),
    );
    if let TcpStep::Expect(e) = &mut known {
        e.what = "expect rbinary".into();
    }
    // Then an authentication request of a known kind ('R').
    Some(vec![TcpStep::Send(packet), error, known])
}

/// HAProxy 2.6.12's SMTP sequence (with the QUIT its 2.6 branch gained):
/// connect; a banner of three digits (L7RSP, its first line as info); a
/// 2xx banner (L7STS, the reply's code and text); the greeting; its 2xx
/// reply, possibly multi-line; QUIT and its 2xx reply, whose code and
/// text are the success's.
fn smtp(hello: &str, domain: &str) -> Option<Vec<TcpStep>> {
    let status = |ok| ProtocolReport {
        reply: true,
        ..report(ok, true, ErrorInfo::ReplyText)
    };
    let any_code = "^[0-9]{3}[ \r]";
    let banner = "^2[0-9]{2}[ \r]";
    let greeted = "^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]";
    let bye = "^2[0-9]{2}[- \r]";
    Some(vec![
        // HAProxy's protocol checks connect with the server's settings.
        TcpStep::Connect {
            spec: crate::config::model::CheckConnect {
                default: true,
                ..Default::default()
            },
            what: "connect".into(),
        },
        expect(
            4,
            bytes_regex(any_code)?,
            any_code,
            report(None, false, ErrorInfo::FirstLine),
        ),
        expect(4, bytes_regex(banner)?, banner, status(None)),
        TcpStep::Send(format!("{hello} {domain}\r\n").into_bytes()),
        // No min-recv: a partial multi-line reply waits for the rest.
        expect(0, bytes_regex(greeted)?, greeted, status(None)),
        TcpStep::Send(b"QUIT\r\n".to_vec()),
        expect(4, bytes_regex(bye)?, bye, status(None)),
    ])
}

/// An anonymous simple bind, LDAPv3, message ID 1, as HAProxy sends it.
pub const LDAP_BIND: [u8; 14] = [
    0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
];

fn ldap() -> Option<Vec<TcpStep>> {
    Some(vec![
        TcpStep::Send(LDAP_BIND.to_vec()),
        // An LDAPMessage is a SEQUENCE (0x30).
        expect(
            14,
            hex_regex("^30")?,
            "^30",
            report(None, false, ErrorInfo::Text("Not LDAPv3 protocol")),
        ),
        TcpStep::LdapBindResponse,
    ])
}

fn spop() -> Option<Vec<TcpStep>> {
    Some(vec![TcpStep::Send(spop_hello()), TcpStep::SpopAgentHello])
}

/// The largest SPOE frame HAProxy accepts with its default 16 kB buffers.
pub const SPOP_MAX_FRAME: u64 = 16384 - 4;

/// SPOP's variable-length integer: below 240 one byte; else the low four
/// bits with 0xF0, then 7 bits a byte, high bit set on all but the last.
pub fn spop_varint(mut v: u64, out: &mut Vec<u8>) {
    if v < 240 {
        out.push(v as u8);
        return;
    }
    out.push((v as u8) | 0xf0);
    v = (v - 240) >> 4;
    while v >= 128 {
        out.push((v as u8) | 0x80);
        v = (v - 128) >> 7;
    }
    out.push(v as u8);
}

/// A key or string: its length as a varint, then its bytes.
fn spop_string(s: &[u8], out: &mut Vec<u8>) {
    spop_varint(s.len() as u64, out);
    out.extend_from_slice(s);
}

/// The HAPROXY-HELLO frame HAProxy 2.6 sends to check an agent: version
/// 2.0, its maximum frame size, no capabilities, and `healthcheck` true;
/// prefixed by the frame's length.
pub fn spop_hello() -> Vec<u8> {
    const STR: u8 = 8;
    const UINT32: u8 = 3;
    const BOOL_TRUE: u8 = 0x11;
    // Type HAPROXY-HELLO, flags FIN, stream and frame IDs 0.
    let mut f = vec![1, 0, 0, 0, 1, 0, 0];
    spop_string(b"supported-versions", &mut f);
    f.push(STR);
    spop_string(b"2.0", &mut f);
    spop_string(b"max-frame-size", &mut f);
    f.push(UINT32);
    spop_varint(SPOP_MAX_FRAME, &mut f);
    spop_string(b"capabilities", &mut f);
    f.push(STR);
    spop_string(b"", &mut f);
    spop_string(b"healthcheck", &mut f);
    f.push(BOOL_TRUE);
    let mut framed = (f.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&f);
    framed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spop_hello_is_haproxys() {
        // Captured from HAProxy 2.6.12's spop-check.
        let mut want =
            b"\x00\x00\x00N\x01\x00\x00\x00\x01\x00\x00\x12supported-versions\x08\x032.0".to_vec();
        want.extend_from_slice(b"\x0emax-frame-size\x03\xfc\xf0\x06\x0ccapabilities\x08\x00");
        want.extend_from_slice(b"\x0bhealthcheck\x11");
        assert_eq!(spop_hello(), want);
    }

    #[test]
    fn varints() {
        let enc = |v| {
            let mut o = Vec::new();
            spop_varint(v, &mut o);
            o
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(239), [239]);
        assert_eq!(enc(240), [0xf0, 0]);
        assert_eq!(enc(16380), [0xfc, 0xf0, 0x06]);
    }

    #[test]
    fn every_protocol_has_steps() {
        for p in [
            ProtocolCheck::Redis,
            ProtocolCheck::SslHello,
            ProtocolCheck::Pgsql { user: "u".into() },
            ProtocolCheck::Smtp {
                hello: "EHLO".into(),
                domain: "d".into(),
            },
            ProtocolCheck::Ldap,
            ProtocolCheck::Spop,
        ] {
            assert!(!TcpCheck::protocol(&p).steps.is_empty(), "{p:?}");
        }
    }
}
