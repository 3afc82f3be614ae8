//! The PROXY protocol (HAProxy's own, version 1 text and version 2 binary):
//! `send-proxy` on a server line prepends a v1 header naming the real
//! client; `accept-proxy` on a bind line reads one (v1 or v2) from a load
//! balancer in front of us and takes the client address from it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The v2 signature.
const V2_SIG: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 line, CRLF included.
const V1_MAX: usize = 107;

pub use crate::util::proxy_header::{tlv, v1_header, v2_header, v2_header_with, Tlvs};

/// Why a PROXY header was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    /// Not a PROXY header, or a malformed one.
    #[error("invalid PROXY protocol header")]
    Invalid,
    /// It did not arrive in time.
    #[error("timeout waiting for the PROXY protocol header")]
    Timeout,
    /// The connection failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn parse_v1(line: &str) -> Result<Option<(SocketAddr, SocketAddr)>, ProxyHeaderError> {
    let parts: Vec<&str> = line.trim_end_matches("\r\n").split(' ').collect();
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(None),
        ["PROXY", fam @ ("TCP4" | "TCP6"), s, d, sp, dp] => {
            let ip = |t: &str| -> Result<IpAddr, ProxyHeaderError> {
                let ip: IpAddr = t.parse().map_err(|_| ProxyHeaderError::Invalid)?;
                match (*fam, ip) {
                    ("TCP4", IpAddr::V4(_)) | ("TCP6", IpAddr::V6(_)) => Ok(ip),
                    _ => Err(ProxyHeaderError::Invalid),
                }
            };
            let port = |t: &str| t.parse::<u16>().map_err(|_| ProxyHeaderError::Invalid);
            Ok(Some((
                SocketAddr::new(ip(s)?, port(sp)?),
                SocketAddr::new(ip(d)?, port(dp)?),
            )))
        }
        _ => Err(ProxyHeaderError::Invalid),
    }
}

/// What a PROXY header said: the client's (source, destination), when it
/// names them, and a v2 header's TLVs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// (source, destination); None for LOCAL, UNKNOWN, UNSPEC and UNIX.
    pub addrs: Option<(SocketAddr, SocketAddr)>,
    /// A v2 header's TLVs, when it has any.
    pub tlvs: Option<Box<Tlvs>>,
}

/// Reads a whole v2 header (signature included).
fn parse_v2(header: &[u8]) -> Result<Received, ProxyHeaderError> {
    let Some(&[ver_cmd, fam, _, _]) = header.get(12..16) else {
        return Err(ProxyHeaderError::Invalid);
    };
    if ver_cmd >> 4 != 2 {
        return Err(ProxyHeaderError::Invalid);
    }
    // LOCAL (health checks from the balancer): keep the real peer, and
    // skip whatever follows, as HAProxy does.
    if ver_cmd & 0x0f == 0 {
        return Ok(Received::default());
    }
    if ver_cmd & 0x0f != 1 {
        return Err(ProxyHeaderError::Invalid);
    }
    let body = header.get(16..).unwrap_or_default();
    // An address block shorter than its family needs is Invalid.
    let (addrs, len) = match fam {
        0x11 => {
            let (s, d, sp, dp) = address_block::<4>(body).ok_or(ProxyHeaderError::Invalid)?;
            let a = (
                SocketAddr::new(Ipv4Addr::from(s).into(), sp),
                SocketAddr::new(Ipv4Addr::from(d).into(), dp),
            );
            (Some(a), 12)
        }
        0x21 => {
            let (s, d, sp, dp) = address_block::<16>(body).ok_or(ProxyHeaderError::Invalid)?;
            let a = (
                SocketAddr::new(Ipv6Addr::from(s).into(), sp),
                SocketAddr::new(Ipv6Addr::from(d).into(), dp),
            );
            (Some(a), 36)
        }
        // UNSPEC or UNIX: no usable address, nothing more read.
        _ => return Ok(Received::default()),
    };
    let tlvs = Tlvs::parse(header, 16 + len).map_err(|_| ProxyHeaderError::Invalid)?;
    Ok(Received {
        addrs,
        tlvs: (!tlvs.is_empty()).then(|| Box::new(tlvs)),
    })
}

/// A v2 address block of `N`-byte addresses: source and destination
/// addresses, then source and destination ports. None when too short.
fn address_block<const N: usize>(body: &[u8]) -> Option<([u8; N], [u8; N], u16, u16)> {
    let (src, rest) = body.split_first_chunk::<N>()?;
    let (dst, rest) = rest.split_first_chunk::<N>()?;
    let (src_port, rest) = rest.split_first_chunk::<2>()?;
    let (dst_port, _) = rest.split_first_chunk::<2>()?;
    Some((
        *src,
        *dst,
        u16::from_be_bytes(*src_port),
        u16::from_be_bytes(*dst_port),
    ))
}

/// The whole length of the v2 header `bytes` start with (its 16 bytes of
/// signature, version, family and length included), once those are in.
fn v2_len(bytes: &[u8]) -> Option<usize> {
    match bytes.get(14..16) {
        Some(&[hi, lo]) if bytes.starts_with(&V2_SIG) => {
            Some(16 + usize::from(u16::from_be_bytes([hi, lo])))
        }
        _ => None,
    }
}

/// Parses a PROXY header (v1 or v2) at the start of `bytes`, as [`read`]
/// takes it from a socket: what it said, and its length. Incomplete or
/// malformed: Invalid. (The fuzz target's entry, and the same decisions
/// as `read`.)
pub fn parse(bytes: &[u8]) -> Result<(Received, usize), ProxyHeaderError> {
    if let Some(len) = v2_len(bytes) {
        let all = bytes.get(..len).ok_or(ProxyHeaderError::Invalid)?;
        return Ok((parse_v2(all)?, len));
    }
    if !bytes.starts_with(b"PROXY ") {
        return Err(ProxyHeaderError::Invalid);
    }
    let window = bytes.get(..V1_MAX).unwrap_or(bytes);
    let line = window
        .windows(2)
        .position(|w| w == b"\r\n")
        .and_then(|end| window.get(..end + 2))
        .ok_or(ProxyHeaderError::Invalid)?;
    let end = line.len();
    let line = std::str::from_utf8(line).map_err(|_| ProxyHeaderError::Invalid)?;
    let addrs = parse_v1(line)?;
    Ok((Received { addrs, tlvs: None }, end))
}

/// Reads a PROXY header (v1 or v2) from the start of `stream`, taking
/// exactly its bytes.
pub async fn read(
    stream: &mut TcpStream,
    timeout: Option<Duration>,
) -> Result<Received, ProxyHeaderError> {
    let work = async {
        let mut peek = [0u8; 232];
        // Wait until enough bytes are there to tell the version and length.
        let peeked = loop {
            let n = stream.peek(&mut peek).await?;
            let peeked = peek.get(..n).unwrap_or_default();
            if peeked.is_empty() {
                return Err(ProxyHeaderError::Invalid);
            }
            if n >= 16 || peeked.windows(2).any(|w| w == b"\r\n") {
                break peeked;
            }
            stream.readable().await?;
        };
        if let Some(len) = v2_len(peeked) {
            let mut all = vec![0u8; len];
            stream.read_exact(&mut all).await?;
            return parse_v2(&all);
        }
        if !peeked.starts_with(b"PROXY ") {
            return Err(ProxyHeaderError::Invalid);
        }
        // v1: read up to the CRLF, never past it.
        let mut line = Vec::with_capacity(V1_MAX);
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() >= V1_MAX || stream.read(&mut b).await? == 0 {
                return Err(ProxyHeaderError::Invalid);
            }
            line.push(b[0]);
        }
        let addrs = parse_v1(std::str::from_utf8(&line).map_err(|_| ProxyHeaderError::Invalid)?)?;
        Ok(Received { addrs, tlvs: None })
    };
    match timeout {
        Some(t) => tokio::time::timeout(t, work)
            .await
            .map_err(|_| ProxyHeaderError::Timeout)?,
        None => work.await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines() {
        let s: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let d: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(v1_header(s, d), "PROXY TCP4 10.1.2.3 10.0.0.1 5000 80\r\n");
        assert_eq!(
            parse_v1("PROXY TCP4 10.1.2.3 10.0.0.1 5000 80\r\n").unwrap(),
            Some((s, d))
        );
        assert_eq!(parse_v1("PROXY UNKNOWN\r\n").unwrap(), None);
        assert!(parse_v1("PROXY TCP4 ::1 10.0.0.1 1 2\r\n").is_err());
        assert!(parse_v1("PROXY TCP4 10.1.2.3 10.0.0.1 99999 80\r\n").is_err());
        assert!(parse_v1("GET / HTTP/1.1\r\n").is_err());
    }

    fn header(ver_cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut h = V2_SIG.to_vec();
        h.extend_from_slice(&[ver_cmd, fam]);
        h.extend_from_slice(&(body.len() as u16).to_be_bytes());
        h.extend_from_slice(body);
        h
    }

    #[test]
    fn v2_bodies() {
        let body = [10, 1, 2, 3, 10, 0, 0, 1, 0x13, 0x88, 0, 80];
        let (s, d) = parse_v2(&header(0x21, 0x11, &body)).unwrap().addrs.unwrap();
        assert_eq!(
            (s.to_string(), d.to_string()),
            ("10.1.2.3:5000".into(), "10.0.0.1:80".into())
        );
        assert_eq!(
            parse_v2(&header(0x20, 0x11, &body)).unwrap(),
            Received::default()
        );
        assert!(parse_v2(&header(0x11, 0x11, &body)).is_err());
        assert!(parse_v2(&header(0x21, 0x11, &body[..8])).is_err());
    }

    #[test]
    fn v2_tlvs() {
        let mut body = vec![127, 0, 0, 1, 127, 0, 0, 1, 0, 42, 5, 57];
        body.extend_from_slice(&[5, 0, 5, b'1', b'2', b'3', b'4', b'5']);
        let got = parse_v2(&header(0x21, 0x11, &body)).unwrap();
        let tlvs = got.tlvs.unwrap();
        assert_eq!(tlvs.get(tlv::UNIQUE_ID), Some(&b"12345"[..]));
        // A TLV that says it is longer than the header: refused.
        body[13..15].copy_from_slice(&[0, 10]);
        assert!(parse_v2(&header(0x21, 0x11, &body)).is_err());
    }
}
