//! The configuration model: plain serde data, one struct per section kind.
//!
//! Both readers produce it (haproxy.cfg and YAML); YAML is simply its serde
//! form. `defaults` sections are already folded into each proxy here, so
//! nothing downstream looks them up. Values are typed (Duration, addresses,
//! enums); defaults that HAProxy documents are filled in by the readers.
//!
//! This file holds [`Config`], the diagnostic [`Origins`]/[`Origin`] and the
//! serde helpers; the types live by section kind in the submodules and are
//! all re-exported here, so `model::X` names every one of them.

mod check;
mod global;
mod peers;
mod program;
mod proxy;
mod resolvers;
mod rules;
mod server;
mod stick;
mod userlist;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::diag::Span;

pub use check::{
    parse_status_list, CheckConnect, ExpectMatch, ExpectReport, HeaderExpect, HeaderMatch,
    HeaderValue, HttpCheckExpect, HttpCheckRule, HttpCheckSend, HttpChk, ProtocolCheck,
    TcpCheckExpect, TcpCheckMatch, TcpCheckRule,
};
pub use global::{
    Facility, Global, Level, LogAddress, LogFormat, LogTarget, StatsLevel, StatsSocket,
    SyslogTarget,
};
pub use peers::{Peer, Peers, PeersTable};

pub use program::Program;
pub use proxy::{
    AccessLog, Balance, Bind, Capture, ClientVerify, Cookie, CookieMethod, Credentials,
    EffectiveTls, ForwardFor, HttpConnection, HttpReuse, Mode, Options, OriginalTo, Proxy,
    ProxyKind, Stats, Timeouts, UriHash, DEFAULT_STATS_REALM, DEFAULT_STATS_URI, DEFAULT_XFF,
    DEFAULT_XOT,
};
pub use resolvers::{Hold, Nameserver, Resolvers, Transport};
pub use rules::{UseBackend, UseServer, Words};
pub use server::{
    Family, InitAddr, ObserveLayer, OnError, ProxyV2Options, ResolveOpt, Server, Track, Verify,
    DEFAULT_FALL, DEFAULT_RISE, DEFAULT_WEIGHT, MAX_WEIGHT,
};
pub use stick::{StickKeyType, StickStore, StickTable, DEFAULT_STRING_LEN};
pub use userlist::{Group, Password, User, Userlist};

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The `global` section.
    #[serde(default, skip_serializing_if = "is_default")]
    pub global: Global,
    /// Frontends, backends and listens, in the order they were declared
    /// (HAProxy numbers proxies in that order; the stats page shows it).
    #[serde(default)]
    pub proxies: Vec<Proxy>,
    /// `userlist` sections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userlists: Vec<Userlist>,
    /// `http-errors` sections: named sets of error files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_errors: Vec<HttpErrors>,
    /// `resolvers` sections: name servers asked at run time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<Resolvers>,
    /// `program` sections: run by the master in master-worker mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<Program>,
    /// `peers` sections: nodes that share stick tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<Peers>,
}

/// `http-errors NAME` with its `errorfile CODE FILE` lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpErrors {
    /// The section's name.
    pub name: String,
    /// Error files by status.
    #[serde(default)]
    pub errorfile: BTreeMap<u16, std::path::PathBuf>,
    /// Where the section begins (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// A stick table, wherever it is declared.
#[derive(Debug, Clone, Copy)]
pub struct TableDecl<'a> {
    /// Its name in rules: the proxy's, or `SECTION/NAME` in a peers section.
    pub id: &'a str,
    /// For a peers section's table, the `NAME` part.
    pub in_peers: Option<&'a str>,
    /// The peers section it is shared through, if any.
    pub peers: Option<&'a str>,
    /// The definition.
    pub table: &'a StickTable,
}

impl TableDecl<'_> {
    /// Its name in rules.
    pub fn id(&self) -> String {
        match (self.in_peers, self.peers) {
            (Some(t), Some(p)) => format!("{p}/{t}"),
            _ => self.id.to_string(),
        }
    }

    /// The name sent to peers: the proxy's, or, as HAProxy 2.6 sends it
    /// for a peers section's table, `/NAME`.
    pub fn wire_name(&self) -> String {
        match self.in_peers {
            Some(t) => format!("/{t}"),
            None => self.id.to_string(),
        }
    }
}

impl Config {
    /// Every stick table: the proxies' in order, then the peers sections'.
    /// The Runtime keeps its live tables in this order.
    pub fn stick_tables(&self) -> Vec<TableDecl<'_>> {
        let proxies = self.proxies.iter().filter_map(|p| {
            let t = p.stick_table.as_ref()?;
            Some(TableDecl {
                id: &p.name,
                in_peers: None,
                peers: t.peers.as_deref(),
                table: t,
            })
        });
        let sections = self.peers.iter().flat_map(|s| {
            s.tables.iter().map(move |t| TableDecl {
                id: &s.name,
                in_peers: Some(&t.name),
                peers: Some(&s.name),
                table: &t.table,
            })
        });
        proxies.chain(sections).collect()
    }

    /// The proxy of this name that can act as a backend (backend or listen).
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.name == name && p.kind.has_backend())
    }
}

/// Where each keyword of a proxy was last set, for diagnostics. Not part of
/// the model's identity: two proxies written on different lines are equal.
#[derive(Debug, Clone, Default)]
pub struct Origins(pub BTreeMap<String, Span>);

impl PartialEq for Origins {
    fn eq(&self, _: &Origins) -> bool {
        true
    }
}

/// Where one line was written, for diagnostics; like [`Origins`], not part
/// of the model's identity.
#[derive(Debug, Clone, Default)]
pub struct Origin(pub Option<Span>);

impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}

impl Origins {
    /// Where `keyword` was set, if it came from a file.
    pub fn get(&self, keyword: &str) -> Option<&Span> {
        self.0.get(keyword)
    }
}
