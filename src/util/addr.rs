//! Address newtypes, parsed at the edge so that a bind address, a server
//! address and a client address cannot be swapped by mistake.
//!
//! HAProxy's forms: `1.2.3.4:80`, `:80` and `*:80` (any IPv4 address),
//! `:::80` or `[::]:80` (IPv6; the port follows the last colon),
//! `ipv4@`/`ipv6@` prefixes, and port ranges `8000-8010` on binds.
//! Servers may name a host (`app1.example.com:80`) and may omit the port
//! (the client's destination port is used) or give an offset (`+1000`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// Nothing was given.
    #[error("missing address")]
    Empty,
    /// A bind address needs a port.
    #[error("missing port in '{0}' (expected ADDR:PORT)")]
    MissingPort(String),
    /// The port is not a number from 1 to 65535.
    #[error("invalid port '{port}' in '{addr}' (expected 1-65535)")]
    BadPort {
        /// The whole address.
        addr: String,
        /// The offending port text.
        port: String,
    },
    /// The host part is neither an IP address nor a host name.
    #[error("invalid address '{0}'")]
    BadHost(String),
    /// A socket family we do not serve yet.
    #[error("address family '{0}' is not supported (only IPv4 and IPv6)")]
    Family(String),
}

/// Which family a `ipv4@`/`ipv6@` prefix asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Any,
    V4,
    V6,
}

/// Strips a `family@` prefix.
fn split_family(text: &str) -> Result<(Family, &str), AddrError> {
    // `stream+` says the socket is a stream, which every TCP one is.
    let text = text.strip_prefix("stream+").unwrap_or(text);
    match text.split_once('@') {
        None => Ok((Family::Any, text)),
        Some(("ipv4", rest)) => Ok((Family::V4, rest)),
        Some(("ipv6", rest)) => Ok((Family::V6, rest)),
        Some((fam, _)) => Err(AddrError::Family(fam.to_string())),
    }
}

/// Splits `host:port` at the last colon, understanding `[v6]:port`.
/// Returns the host text and the port text (None when there is no port).
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':'));
        }
    }
    match text.rsplit_once(':') {
        // A bare IPv6 address without port ("::1") parses whole; HAProxy
        // always reads the text after the last colon as the port, and so do we
        // when what stands before it is empty or an address.
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    }
}

fn parse_port(addr: &str, port: &str) -> Result<u16, AddrError> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(AddrError::BadPort {
            addr: addr.to_string(),
            port: port.to_string(),
        }),
    }
}

fn any_for(family: Family) -> IpAddr {
    match family {
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

fn parse_ip(whole: &str, host: &str, family: Family) -> Result<IpAddr, AddrError> {
    if host.is_empty() || host == "*" {
        return Ok(any_for(family));
    }
    let ip = IpAddr::from_str(host).map_err(|_| AddrError::BadHost(whole.to_string()))?;
    match (family, ip) {
        (Family::V4, IpAddr::V6(_)) | (Family::V6, IpAddr::V4(_)) => {
            Err(AddrError::BadHost(whole.to_string()))
        }
        _ => Ok(ip),
    }
}

/// A listening address: one IP (the unspecified one for "any") and a port
/// range (most often a single port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BindAddr {
    /// The address to listen on; 0.0.0.0 or :: for all.
    pub ip: IpAddr,
    /// First port.
    pub port: u16,
    /// Last port (equal to `port` unless a range was given).
    pub port_end: u16,
}

impl BindAddr {
    /// Every socket address this bind covers, one per port.
    pub fn socket_addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        (self.port..=self.port_end).map(move |p| SocketAddr::new(self.ip, p))
    }
}

impl FromStr for BindAddr {
    type Err = AddrError;

    fn from_str(text: &str) -> Result<Self, AddrError> {
        if text.is_empty() {
            return Err(AddrError::Empty);
        }
        let (family, rest) = split_family(text)?;
        let (host, port) = split_host_port(rest);
        let port = port.ok_or_else(|| AddrError::MissingPort(text.to_string()))?;
        if port.is_empty() {
            return Err(AddrError::MissingPort(text.to_string()));
        }
        let ip = parse_ip(text, host, family)?;
        let (first, last) = match port.split_once('-') {
            Some((a, b)) => (parse_port(text, a)?, parse_port(text, b)?),
            None => {
                let p = parse_port(text, port)?;
                (p, p)
            }
        };
        if last < first {
            return Err(AddrError::BadPort {
                addr: text.to_string(),
                port: port.to_string(),
            });
        }
        Ok(BindAddr {
            ip,
            port: first,
            port_end: last,
        })
    }
}

impl fmt::Display for BindAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port)?,
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port)?,
        }
        if self.port_end != self.port {
            write!(f, "-{}", self.port_end)?;
        }
        Ok(())
    }
}

/// Where the runtime API (`stats socket`) listens: a UNIX stream socket
/// (a path, with or without `unix@`) or a TCP address (`ipv4@`/`ipv6@`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CliAddr {
    /// A UNIX socket path.
    Unix(std::path::PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
    /// An inherited listening TCP socket (`fd@N`).
    Fd(i32),
}

impl CliAddr {
    /// Parses HAProxy's forms for a stats socket address.
    pub fn parse(text: &str) -> Result<CliAddr, AddrError> {
        if text.is_empty() {
            return Err(AddrError::Empty);
        }
        if let Some(n) = text.strip_prefix("fd@") {
            return n
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .map(CliAddr::Fd)
                .ok_or_else(|| AddrError::Family(format!("fd@{n}")));
        }
        if let Some(path) = text.strip_prefix("unix@") {
            return match path {
                "" => Err(AddrError::Empty),
                p => Ok(CliAddr::Unix(p.into())),
            };
        }
        match text.split_once('@') {
            Some(("ipv4" | "ipv6", _)) => {
                let b: BindAddr = text.parse()?;
                if b.port != b.port_end {
                    return Err(AddrError::BadPort {
                        addr: text.to_string(),
                        port: format!("{}-{}", b.port, b.port_end),
                    });
                }
                Ok(CliAddr::Tcp(SocketAddr::new(b.ip, b.port)))
            }
            Some((fam, _)) if !fam.contains('/') => Err(AddrError::Family(fam.to_string())),
            _ => Ok(CliAddr::Unix(text.into())),
        }
    }
}

impl fmt::Display for CliAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliAddr::Unix(p) => write!(f, "{}", p.display()),
            CliAddr::Tcp(a) => write!(f, "{a}"),
            CliAddr::Fd(n) => write!(f, "fd@{n}"),
        }
    }
}

/// A server's host: an IP address or a DNS name resolved when the
/// configuration is checked or compiled, as HAProxy resolves at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A literal address.
    Ip(IpAddr),
    /// A name to resolve.
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// Which port a server is reached on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerPort {
    /// No port given: the port the client connected to.
    SameAsClient,
    /// A fixed port.
    Fixed(u16),
    /// The client's destination port plus (or minus) this offset.
    Offset(i32),
}

/// Where a server lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerAddr {
    /// IP or name.
    pub host: Host,
    /// Fixed port, offset or none.
    pub port: ServerPort,
}

fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl FromStr for ServerAddr {
    type Err = AddrError;

    fn from_str(text: &str) -> Result<Self, AddrError> {
        if text.is_empty() {
            return Err(AddrError::Empty);
        }
        let (family, rest) = split_family(text)?;
        let (host, port) = split_host_port(rest);
        let port = match port {
            None | Some("") => ServerPort::SameAsClient,
            Some(p) if p.starts_with('+') || p.starts_with('-') => {
                let n: i32 = p.parse().map_err(|_| AddrError::BadPort {
                    addr: text.to_string(),
                    port: p.to_string(),
                })?;
                if n.unsigned_abs() > 65535 {
                    return Err(AddrError::BadPort {
                        addr: text.to_string(),
                        port: p.to_string(),
                    });
                }
                ServerPort::Offset(n)
            }
            // HAProxy takes port 0 as "no port": the client's destination port.
            Some("0") => ServerPort::SameAsClient,
            Some(p) => ServerPort::Fixed(parse_port(text, p)?),
        };
        let host = match IpAddr::from_str(host) {
            Ok(_) => Host::Ip(parse_ip(text, host, family)?),
            Err(_) if valid_hostname(host) => Host::Name(host.to_string()),
            Err(_) => return Err(AddrError::BadHost(text.to_string())),
        };
        Ok(ServerAddr { host, port })
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        match self.port {
            ServerPort::SameAsClient => {
                // A bare IPv6 literal must keep its brackets' meaning.
                Ok(())
            }
            ServerPort::Fixed(p) => write!(f, ":{p}"),
            ServerPort::Offset(n) => write!(f, ":{n:+}"),
        }
    }
}

/// The address a client connected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// serde through the textual forms above.
macro_rules! serde_via_str {
    ($t:ty, $what:literal) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse()
                    .map_err(|e| serde::de::Error::custom(format!(concat!($what, ": {}"), e)))
            }
        }
    };
}
serde_via_str!(BindAddr, "bind address");
serde_via_str!(ServerAddr, "server address");

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(s: &str) -> Result<BindAddr, AddrError> {
        s.parse()
    }

    #[test]
    fn bind_forms() {
        let b = bind("127.0.0.1:8080").unwrap();
        assert_eq!(
            (b.ip.to_string(), b.port, b.port_end),
            ("127.0.0.1".into(), 8080, 8080)
        );
        assert_eq!(bind(":80").unwrap().ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(bind("*:80").unwrap().ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(bind(":::80").unwrap().ip, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(bind("[::1]:80").unwrap().ip.to_string(), "::1");
        assert_eq!(
            bind("ipv6@:80").unwrap().ip,
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
        let r = bind("127.0.0.1:8000-8002").unwrap();
        assert_eq!(r.socket_addrs().count(), 3);
        assert_eq!(bind("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert_eq!(r.to_string(), "127.0.0.1:8000-8002");
        // `stream+` names the socket type every TCP socket has.
        assert_eq!(
            bind("stream+ipv4@127.0.0.1:81").unwrap().to_string(),
            "127.0.0.1:81"
        );
    }

    #[test]
    fn bind_refusals() {
        assert!(matches!(bind("127.0.0.1"), Err(AddrError::MissingPort(_))));
        assert!(matches!(bind("127.0.0.1:"), Err(AddrError::MissingPort(_))));
        assert!(matches!(
            bind("127.0.0.1:0"),
            Err(AddrError::BadPort { .. })
        ));
        assert!(matches!(
            bind("127.0.0.1:99999"),
            Err(AddrError::BadPort { .. })
        ));
        assert!(matches!(bind("1.2.3.4.5:80"), Err(AddrError::BadHost(_))));
        assert!(matches!(bind("unix@/tmp/s"), Err(AddrError::Family(_))));
        assert!(matches!(
            bind("127.0.0.1:90-80"),
            Err(AddrError::BadPort { .. })
        ));
    }

    #[test]
    fn server_forms() {
        let s: ServerAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(s.port, ServerPort::Fixed(80));
        let s: ServerAddr = "app.example.com".parse().unwrap();
        assert_eq!(s.host, Host::Name("app.example.com".into()));
        assert_eq!(s.port, ServerPort::SameAsClient);
        let s: ServerAddr = "10.0.0.1:+1000".parse().unwrap();
        assert_eq!(s.port, ServerPort::Offset(1000));
        let s: ServerAddr = "[::1]:80".parse().unwrap();
        assert_eq!(s.to_string(), "[::1]:80");
        // As in HAProxy, the text after the last colon is the port, so a
        // bare "::1" is the invalid host ":" and IPv6 wants brackets.
        assert!("::1".parse::<ServerAddr>().is_err());
        let s: ServerAddr = ":::80".parse().unwrap();
        assert_eq!(s.port, ServerPort::Fixed(80));
        let s: ServerAddr = "[::1]".parse().unwrap();
        assert_eq!(s.port, ServerPort::SameAsClient);
        let s: ServerAddr = "10.0.0.1:0".parse().unwrap();
        assert_eq!(s.port, ServerPort::SameAsClient);
        for t in [
            "10.0.0.1:80",
            "h.example:8080",
            "10.0.0.1:-5",
            "10.0.0.1",
            "[::1]:80",
        ] {
            let s: ServerAddr = t.parse().unwrap();
            assert_eq!(s.to_string().parse::<ServerAddr>().unwrap(), s, "{t}");
        }
        assert!("10.0.0.1:abc".parse::<ServerAddr>().is_err());
        assert!("10.0.0.1:99999".parse::<ServerAddr>().is_err());
        assert!("bad host:80".parse::<ServerAddr>().is_err());
        assert!("<IP_AS1>:80".parse::<ServerAddr>().is_err());
    }
}
