//! PROXY protocol headers as a sender writes them (`send-proxy`,
//! `send-proxy-v2`, `check-send-proxy`); the reader is in proxy/.

use std::net::{IpAddr, SocketAddr};

/// A v1 header for a connection from `src` to `dst`.
pub fn v1_header(src: SocketAddr, dst: SocketAddr) -> String {
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            format!("PROXY TCP4 {s} {d} {} {}\r\n", src.port(), dst.port())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            format!("PROXY TCP6 {s} {d} {} {}\r\n", src.port(), dst.port())
        }
        _ => "PROXY UNKNOWN\r\n".to_string(),
    }
}

/// The PROXY protocol v2 header (binary) for a connection from `src` to
/// `dst` (`send-proxy-v2`); mixed families are sent as AF_UNSPEC.
pub fn v2_header(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    v2_header_with(src, dst, &[], false)
}

/// The v2 header with TLVs after the addresses, in the order given; with
/// `crc`, a CRC32C TLV first that covers the whole header, as HAProxy
/// writes it for `proxy-v2-options crc32c`.
pub fn v2_header_with(
    src: SocketAddr,
    dst: SocketAddr,
    tlvs: &[(u8, &[u8])],
    crc: bool,
) -> Vec<u8> {
    let mut h = v2_addresses(src, dst);
    let crc_at = crc.then(|| {
        push_tlv(&mut h, tlv::CRC32C, &[0; 4]);
        h.len() - 4
    });
    for (kind, value) in tlvs {
        push_tlv(&mut h, *kind, value);
    }
    let len = u16::try_from(h.len() - 16).unwrap_or(u16::MAX);
    h[14..16].copy_from_slice(&len.to_be_bytes());
    if let Some(at) = crc_at {
        let sum = crc32c::crc32c(&h);
        h[at..at + 4].copy_from_slice(&sum.to_be_bytes());
    }
    h
}

/// A TLV, its value cut to the 65535 bytes a length can say.
fn push_tlv(h: &mut Vec<u8>, kind: u8, value: &[u8]) {
    let value = &value[..value.len().min(usize::from(u16::MAX))];
    h.push(kind);
    h.extend_from_slice(&(value.len() as u16).to_be_bytes());
    h.extend_from_slice(value);
}

/// The header's fixed part and addresses.
fn v2_addresses(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x21); // version 2, PROXY
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            h.push(0x11); // TCP over IPv4
            h.extend_from_slice(&12u16.to_be_bytes());
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            h.push(0x21); // TCP over IPv6
            h.extend_from_slice(&36u16.to_be_bytes());
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
        }
        _ => {
            h.push(0x00);
            h.extend_from_slice(&0u16.to_be_bytes());
            return h;
        }
    }
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h
}

/// The v2 header of a connection that carries no client (a health
/// check): the LOCAL command with no address, as HAProxy sends it.
pub fn v2_local() -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    h
}

/// PROXY v2 TLV types (the protocol's PP2_TYPE_*).
pub mod tlv {
    /// The application protocol the client negotiated.
    pub const ALPN: u8 = 0x01;
    /// The host name the client asked for (SNI).
    pub const AUTHORITY: u8 = 0x02;
    /// A CRC32C of the whole header.
    pub const CRC32C: u8 = 0x03;
    /// Padding.
    pub const NOOP: u8 = 0x04;
    /// The sender's unique ID for the stream.
    pub const UNIQUE_ID: u8 = 0x05;
    /// The client's TLS, with sub-TLVs.
    pub const SSL: u8 = 0x20;
    /// PP2_SUBTYPE_SSL_VERSION: the protocol's name.
    pub const SSL_VERSION: u8 = 0x21;
    /// PP2_SUBTYPE_SSL_CN: the client certificate's common name.
    pub const SSL_CN: u8 = 0x22;
    /// PP2_SUBTYPE_SSL_CIPHER.
    pub const SSL_CIPHER: u8 = 0x23;
}

/// The longest authority HAProxy takes (a host name).
const AUTHORITY_MAX: usize = 255;
/// The longest unique ID HAProxy takes.
const UNIQUE_ID_MAX: usize = 128;

/// Why the TLVs of a v2 header were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// A TLV runs past the header's end.
    #[error("a TLV runs past the end of the PROXY header")]
    Truncated,
    /// A CRC32C TLV whose length is not 4, or whose sum is wrong.
    #[error("the PROXY header's CRC32C does not match")]
    Crc,
    /// An authority or unique ID longer than HAProxy takes.
    #[error("PROXY TLV 0x{0:02x} is too long")]
    TooLong(u8),
}

/// The TLVs of a received v2 header, in order, except padding and the
/// checksum (checked on reading).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tlvs(Vec<(u8, Box<[u8]>)>);

impl Tlvs {
    /// Reads the TLVs of `header` (the whole v2 header, signature
    /// included), which start at `from`. They must fill the header
    /// exactly, and pass HAProxy's checks: a CRC32C that matches, an
    /// authority and a unique ID no longer than it takes.
    pub fn parse(header: &[u8], from: usize) -> Result<Tlvs, TlvError> {
        let mut out = Vec::new();
        let mut at = from;
        while at < header.len() {
            let head = header.get(at..at + 3).ok_or(TlvError::Truncated)?;
            let (kind, len) = (head[0], usize::from(u16::from_be_bytes([head[1], head[2]])));
            let value = header
                .get(at + 3..at + 3 + len)
                .ok_or(TlvError::Truncated)?;
            match kind {
                tlv::CRC32C => {
                    let sent = <[u8; 4]>::try_from(value).map_err(|_| TlvError::Crc)?;
                    let mut zeroed = header.to_vec();
                    zeroed[at + 3..at + 7].fill(0);
                    if crc32c::crc32c(&zeroed) != u32::from_be_bytes(sent) {
                        return Err(TlvError::Crc);
                    }
                }
                tlv::NOOP => {}
                tlv::AUTHORITY if len > AUTHORITY_MAX => return Err(TlvError::TooLong(kind)),
                tlv::UNIQUE_ID if len > UNIQUE_ID_MAX => return Err(TlvError::TooLong(kind)),
                _ => out.push((kind, value.into())),
            }
            at += 3 + len;
        }
        Ok(Tlvs(out))
    }

    /// The first TLV of type `kind`.
    pub fn get(&self, kind: u8) -> Option<&[u8]> {
        self.0.iter().find(|(k, _)| *k == kind).map(|(_, v)| &**v)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "127.0.0.1:42".parse().unwrap(),
            "127.0.0.1:1337".parse().unwrap(),
        )
    }

    #[test]
    fn tlvs_round_trip_with_a_checksum() {
        let (s, d) = addrs();
        let h = v2_header_with(
            s,
            d,
            &[(tlv::UNIQUE_ID, b"abc"), (tlv::AUTHORITY, b"x.test")],
            true,
        );
        assert_eq!(
            usize::from(u16::from_be_bytes([h[14], h[15]])),
            h.len() - 16
        );
        let t = Tlvs::parse(&h, 28).unwrap();
        assert_eq!(t.get(tlv::UNIQUE_ID), Some(&b"abc"[..]));
        assert_eq!(t.get(tlv::AUTHORITY), Some(&b"x.test"[..]));
        let mut bad = h.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(Tlvs::parse(&bad, 28), Err(TlvError::Crc));
    }

    #[test]
    fn tlvs_must_fill_the_header() {
        let (s, d) = addrs();
        let h = v2_header_with(s, d, &[(tlv::AUTHORITY, b"12345")], false);
        // One byte short: the TLV runs past the end.
        assert_eq!(Tlvs::parse(&h[..h.len() - 1], 28), Err(TlvError::Truncated));
        // One byte more: a TLV header cut short.
        let mut long = h.clone();
        long.push(0);
        assert_eq!(Tlvs::parse(&long, 28), Err(TlvError::Truncated));
        let big = vec![b'a'; 129];
        let h = v2_header_with(s, d, &[(tlv::UNIQUE_ID, &big)], false);
        assert_eq!(Tlvs::parse(&h, 28), Err(TlvError::TooLong(tlv::UNIQUE_ID)));
    }
}
