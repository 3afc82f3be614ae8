//! The hashing algorithms: `source`, `uri`, `url_param`, `hdr(NAME)`.
//!
//! As HAProxy's default `hash-type map-based`: the key is hashed (sdbm) and
//! the hash modulo the total weight indexes a map in which each usable server
//! appears as often as its weight, spread smoothly. A request without the key
//! (no such parameter or header) falls back to round robin.

use super::roundrobin::{smooth_sequence, RoundRobin};
use super::{Algorithm, Candidate, RequestKey};
use crate::config::model::UriHash;

/// What is hashed.
#[derive(Debug, Clone)]
pub enum On {
    /// The client's IP address.
    Source,
    /// The URI (with `balance uri` parameters).
    Uri(UriHash),
    /// A query-string parameter's value.
    UrlParam(String),
    /// A header's value (the caller extracts it).
    Header {
        /// Hash only the domain part of a host name.
        domain_only: bool,
    },
}

/// A hashing balancer.
#[derive(Debug)]
pub struct Hash {
    on: On,
    fallback: RoundRobin,
    /// The candidate set the map below was built for (all active servers).
    full_set: Vec<usize>,
    /// Its map, built once: picking is then a modulo and an index.
    full_map: Vec<usize>,
}

impl Hash {
    /// Hashing on `on`; `weights` of every server, `active` the indices of
    /// the active ones (whose map is built here, once).
    pub fn new(on: On, weights: &[u32], active: &[usize]) -> Hash {
        let w: Vec<u32> = active.iter().map(|&i| weights[i]).collect();
        Hash {
            on,
            fallback: RoundRobin::new(weights),
            full_set: active.to_vec(),
            full_map: smooth_sequence(&w),
        }
    }
}

/// The sdbm hash HAProxy uses by default.
pub fn sdbm(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

fn uri_part<'a>(uri: &'a str, p: &UriHash) -> &'a str {
    let mut s = uri;
    if p.path_only {
        if let Some(rest) = s.split_once("://").map(|(_, r)| r) {
            s = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        }
    }
    if !p.whole {
        s = s.split('?').next().unwrap_or(s);
    }
    if let Some(depth) = p.depth {
        let mut slashes = 0;
        for (i, b) in s.bytes().enumerate() {
            if b == b'/' {
                slashes += 1;
                if slashes > depth {
                    s = &s[..i];
                    break;
                }
            }
        }
    }
    if let Some(len) = p.len {
        let len = len as usize;
        if len > 0 && s.len() > len {
            s = s.get(..len).unwrap_or(s);
        }
    }
    s
}

fn url_param<'a>(uri: &'a str, name: &str) -> Option<&'a str> {
    let query = uri.split_once('?')?.1;
    query
        .split(['&', ';'])
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn key_hash(on: &On, key: &RequestKey) -> Option<u32> {
    match on {
        On::Source => {
            let ip = key.client?;
            // As HAProxy: XOR of the address's 32-bit words.
            let h = match ip {
                std::net::IpAddr::V4(v4) => u32::from(v4),
                std::net::IpAddr::V6(v6) => v6.octets().chunks(4).fold(0u32, |h, c| {
                    h ^ u32::from_be_bytes([c[0], c[1], c[2], c[3]])
                }),
            };
            Some(h)
        }
        On::Uri(p) => Some(sdbm(uri_part(key.uri?, p).as_bytes())),
        On::UrlParam(name) => Some(sdbm(url_param(key.uri?, name)?.as_bytes())),
        On::Header { domain_only } => {
            let mut v = key.header?;
            if *domain_only {
                // "www.example.com:8080" hashes on "example".
                let host = v.split(|&b| b == b':').next().unwrap_or(v);
                let labels: Vec<&[u8]> = host.split(|&b| b == b'.').collect();
                if labels.len() >= 2 {
                    v = labels[labels.len() - 2];
                }
            }
            Some(sdbm(v))
        }
    }
}

impl Algorithm for Hash {
    fn pick(
        &self,
        servers: &[Candidate],
        allowed: &[usize],
        key: &RequestKey,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let Some(h) = key_hash(&self.on, key) else {
            return self.fallback.pick(servers, allowed, key, avoid);
        };
        // The usual case (every active server usable) uses the prebuilt map;
        // during an outage the map of the servers left is built for the pick.
        let rebuilt;
        let map = if allowed == self.full_set.as_slice() {
            &self.full_map
        } else {
            let weights: Vec<u32> = allowed.iter().map(|&i| servers[i].weight()).collect();
            rebuilt = smooth_sequence(&weights);
            &rebuilt
        };
        if map.is_empty() {
            return None;
        }
        let chosen = allowed[map[h as usize % map.len()]];
        if Some(chosen) == avoid && allowed.len() > 1 {
            return self.fallback.pick(servers, allowed, key, avoid);
        }
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parts() {
        let p = UriHash::default();
        assert_eq!(uri_part("/a/b?x=1", &p), "/a/b");
        let p = UriHash {
            whole: true,
            ..Default::default()
        };
        assert_eq!(uri_part("/a/b?x=1", &p), "/a/b?x=1");
        let p = UriHash {
            depth: Some(1),
            ..Default::default()
        };
        assert_eq!(uri_part("/a/b/c", &p), "/a");
        let p = UriHash {
            len: Some(3),
            ..Default::default()
        };
        assert_eq!(uri_part("/abcdef", &p), "/ab");
        let p = UriHash {
            path_only: true,
            ..Default::default()
        };
        assert_eq!(uri_part("http://h.example/x?y", &p), "/x");
    }

    #[test]
    fn params() {
        assert_eq!(url_param("/p?a=1&userid=42", "userid"), Some("42"));
        assert_eq!(url_param("/p?a=1", "userid"), None);
        assert_eq!(url_param("/p", "userid"), None);
    }
}
