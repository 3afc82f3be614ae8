//! `peers NAME` sections: the nodes a stick table is shared with, and the
//! tables declared in the section itself.

use serde::{Deserialize, Serialize};

use super::{is_false, Origin, StickTable};

/// `peers NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Peers {
    /// The section's name, which `stick-table ... peers NAME` refers to.
    pub name: String,
    /// `disabled`: the section syncs nothing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// `peer NAME ADDR:PORT` and `server NAME [ADDR:PORT]` lines, in order.
    /// The local node is one of them; its address is where it listens.
    #[serde(default)]
    pub peers: Vec<Peer>,
    /// `bind ADDR:PORT`: where the local node listens, when it is named by
    /// an address-less `server` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// `table NAME ...`: tables that belong to the section, named
    /// `SECTION/NAME` in rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<PeersTable>,
    /// Where the section begins (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// One node of a `peers` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Its name: `-L` (or `localpeer`, or the host name) on that node.
    pub name: String,
    /// `ADDR:PORT` (a host name is resolved when the configuration is
    /// loaded). None for the local node written as `server NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Written as `server` rather than `peer`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub server_line: bool,
}

/// `table NAME <stick-table arguments>` in a `peers` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersTable {
    /// The name after `table`.
    pub name: String,
    /// The definition.
    pub table: StickTable,
}

impl Peers {
    /// A section with no line yet.
    pub fn new(name: String, origin: Origin) -> Peers {
        Peers {
            name,
            disabled: false,
            peers: Vec::new(),
            bind: None,
            tables: Vec::new(),
            origin,
        }
    }

    /// The node called `local`, if the section has one.
    pub fn local(&self, local: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == local)
    }

    /// The full name of one of its tables, as rules write it.
    pub fn table_id(&self, table: &str) -> String {
        format!("{}/{table}", self.name)
    }
}
