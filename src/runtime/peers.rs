//! `peers` sections as the peers service runs them: this node's address,
//! the other nodes', and the live tables shared through each, with what
//! the protocol's table definition says of them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::CompileError;
use crate::config::model::{Config, StickKeyType};
use crate::state::stick::Table;

/// One section, on this node.
#[derive(Debug, PartialEq)]
pub struct PeersSection {
    /// Its name.
    pub name: String,
    /// This node's name in it.
    pub local: String,
    /// Where this node accepts its peers.
    pub listen: SocketAddr,
    /// The other nodes: name and address.
    pub remotes: Vec<(String, SocketAddr)>,
    /// The tables it shares.
    pub tables: Vec<SharedTable>,
}

/// A table shared through a section.
#[derive(Debug)]
pub struct SharedTable {
    /// The live table.
    pub table: Arc<Table>,
    /// Its name on the wire (the proxy's; `/NAME` for a peers section's).
    pub wire_name: String,
    /// The key type number on the wire.
    pub key_type: u64,
    /// The key length as HAProxy counts it (strings: `len` + 1, or 32).
    pub key_len: u64,
}

impl PartialEq for SharedTable {
    fn eq(&self, o: &SharedTable) -> bool {
        Arc::ptr_eq(&self.table, &o.table) && self.wire_name == o.wire_name
    }
}

fn resolve(section: &str, what: &str, a: &str) -> Result<SocketAddr, CompileError> {
    a.to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| CompileError::Peers {
            section: section.to_string(),
            what: format!("{what}: cannot resolve '{a}'"),
        })
}

/// The sections this node takes part in, with `tables` (the Runtime's, in
/// `Config::stick_tables` order). A table shared through a section gets
/// its changes logged; the others stop logging.
pub fn compile(c: &Config, tables: &[Arc<Table>]) -> Result<Vec<Arc<PeersSection>>, CompileError> {
    let local = crate::config::overrides::local_peer(c);
    let decls = c.stick_tables();
    let mut out = Vec::new();
    for s in crate::config::peers_check::active(c, &local) {
        let me = s.local(&local).and_then(|p| p.address.as_deref());
        let listen = match me.or(s.bind.as_deref()) {
            Some(a) => resolve(&s.name, &format!("peer '{local}'"), a)?,
            None => {
                return Err(CompileError::Peers {
                    section: s.name.clone(),
                    what: format!("the local peer '{local}' has no address"),
                })
            }
        };
        let mut remotes = Vec::new();
        for p in s.peers.iter().filter(|p| p.name != local) {
            let a = p.address.as_deref().unwrap_or_default();
            remotes.push((
                p.name.clone(),
                resolve(&s.name, &format!("peer '{}'", p.name), a)?,
            ));
        }
        let shared = decls
            .iter()
            .zip(tables)
            .filter(|(d, _)| d.peers == Some(s.name.as_str()))
            .map(|(d, t)| SharedTable {
                table: t.clone(),
                wire_name: d.wire_name(),
                key_type: match d.table.key {
                    StickKeyType::Integer => 2,
                    StickKeyType::Ip => 4,
                    StickKeyType::Ipv6 => 5,
                    StickKeyType::String => 6,
                },
                key_len: match d.table.key {
                    StickKeyType::Integer | StickKeyType::Ip => 4,
                    StickKeyType::Ipv6 => 16,
                    StickKeyType::String => d.table.len.map_or(32, |n| u64::from(n) + 1),
                },
            })
            .collect();
        out.push(Arc::new(PeersSection {
            name: s.name.clone(),
            local: local.clone(),
            listen,
            remotes,
            tables: shared,
        }));
    }
    for t in tables {
        let on = out
            .iter()
            .any(|s| s.tables.iter().any(|st| Arc::ptr_eq(&st.table, t)));
        t.set_shared(on);
    }
    Ok(out)
}
