//! `resolvers NAME` sections: the name servers asked at run time, and how
//! long each kind of answer holds.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Origin;
use crate::util::time::serde_time;

/// `resolvers NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resolvers {
    /// The section's name, which `server ... resolvers NAME` refers to.
    pub name: String,
    /// `nameserver NAME ADDR[:PORT]` lines, in order.
    #[serde(default)]
    pub nameservers: Vec<Nameserver>,
    /// `parse-resolv-conf`: also the name servers of /etc/resolv.conf,
    /// read when the configuration is loaded.
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub parse_resolv_conf: bool,
    /// `resolve_retries`: queries sent before giving up (default 3).
    #[serde(default = "default_retries")]
    pub resolve_retries: u32,
    /// `timeout resolve`: how often resolutions are looked at (default 1s).
    #[serde(default = "one_second", with = "serde_time")]
    pub timeout_resolve: Duration,
    /// `timeout retry`: how long a query waits for its answer (default 1s).
    #[serde(default = "one_second", with = "serde_time")]
    pub timeout_retry: Duration,
    /// `hold STATUS PERIOD`.
    #[serde(default)]
    pub hold: Hold,
    /// `accepted_payload_size`: the EDNS payload size announced (default 512).
    #[serde(default = "default_payload")]
    pub accepted_payload_size: u16,
    /// Where the section begins (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// `nameserver NAME ADDR[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nameserver {
    /// Its name, unique in the section (logged with answers it gave).
    pub name: String,
    /// Where it answers (port 53 when none is written).
    pub address: SocketAddr,
    /// UDP (the default) or TCP (`tcp@`).
    #[serde(default, skip_serializing_if = "super::is_default")]
    pub transport: Transport,
}

/// How a name server is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Datagrams.
    #[default]
    Udp,
    /// A stream (`tcp@ADDR`).
    Tcp,
}

/// `hold STATUS PERIOD`: how long a valid answer outweighs a failure of
/// each kind, how often a valid answer is asked again, and how long an
/// address missing from the answers is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// `hold nx` (default 30s).
    #[serde(default = "thirty_seconds", with = "serde_time")]
    pub nx: Duration,
    /// `hold refused` (default 30s).
    #[serde(default = "thirty_seconds", with = "serde_time")]
    pub refused: Duration,
    /// `hold timeout` (default 30s).
    #[serde(default = "thirty_seconds", with = "serde_time")]
    pub timeout: Duration,
    /// `hold other` (default 30s).
    #[serde(default = "thirty_seconds", with = "serde_time")]
    pub other: Duration,
    /// `hold valid` (default 10s): a valid answer is asked again after it.
    #[serde(default = "ten_seconds", with = "serde_time")]
    pub valid: Duration,
    /// `hold obsolete` (default 0s): how long a record missing from the
    /// answers still counts.
    #[serde(default, with = "serde_time")]
    pub obsolete: Duration,
}

impl Default for Hold {
    fn default() -> Hold {
        Hold {
            nx: thirty_seconds(),
            refused: thirty_seconds(),
            timeout: thirty_seconds(),
            other: thirty_seconds(),
            valid: ten_seconds(),
            obsolete: Duration::ZERO,
        }
    }
}

fn default_retries() -> u32 {
    3
}
fn default_payload() -> u16 {
    512
}
fn one_second() -> Duration {
    Duration::from_secs(1)
}
fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

impl Resolvers {
    /// A section with HAProxy's defaults and no name server.
    pub fn new(name: impl Into<String>) -> Resolvers {
        Resolvers {
            name: name.into(),
            nameservers: Vec::new(),
            parse_resolv_conf: false,
            resolve_retries: default_retries(),
            timeout_resolve: one_second(),
            timeout_retry: one_second(),
            hold: Hold::default(),
            accepted_payload_size: default_payload(),
            origin: Origin::default(),
        }
    }
}
