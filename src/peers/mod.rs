//! `peers` sections: stick-table entries pushed to the other nodes of a
//! cluster over HAProxy's peers protocol (version 2.1, which HAProxy 2.6
//! speaks), so that a client pinned to a server stays pinned when the
//! floating address moves, and a node that restarts learns the tables
//! back from its peer.
//!
//! Each section this node is in runs on the control thread: a listener on
//! the local peer's address, and one link per other node. A link is one
//! session at a time; both nodes dial each other, and when two sessions
//! meet, the one dialed by the node whose name sorts first is kept (both
//! nodes decide alike). A session that comes in for a peer replaces an
//! older session in the same direction, so a restarted peer is heard at
//! once.
//!
//! At start a section is "learning": its first session asks the peer for
//! everything (a resync request), and answers the peer's own request with
//! "partial" until it has learned.

mod data;
mod link;
mod session;
pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::runtime::peers::PeersSection;
use crate::runtime::Shared;

/// The live state of one section, shared by its sessions.
#[derive(Debug, Default)]
pub struct Section {
    /// Still to learn the tables from a peer.
    learning: AtomicBool,
    /// A session is asking (at most one at a time).
    asking: AtomicBool,
    /// The session of each peer.
    links: Mutex<HashMap<String, Link>>,
    /// Woken when a session ends (a link may dial again).
    ended: tokio::sync::Notify,
}

/// The session that holds the link to a peer.
#[derive(Debug)]
struct Link {
    id: u64,
    dialed: bool,
    /// Ends the session when another replaces it.
    kill: Arc<tokio::sync::Notify>,
}

impl Section {
    fn links(&self) -> std::sync::MutexGuard<'_, HashMap<String, Link>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn has_link(&self, peer: &str) -> bool {
        self.links().contains_key(peer)
    }

    /// Whether a new session may hold the link to `peer`. Two nodes decide
    /// alike: a session dialed by the node whose name sorts first wins
    /// over one in the other direction; between two in the same direction
    /// the newer wins (the older one is likely dead).
    fn claim(
        &self,
        peer: &str,
        id: u64,
        dialed: bool,
        local: &str,
        kill: Arc<tokio::sync::Notify>,
    ) -> bool {
        let preferred = local < peer;
        let mut links = self.links();
        if let Some(cur) = links.get(peer) {
            if dialed != preferred && cur.dialed == preferred {
                return false;
            }
            cur.kill.notify_one();
        }
        links.insert(peer.to_string(), Link { id, dialed, kill });
        true
    }

    /// The session `id` with `peer` ended.
    fn release(&self, peer: &str, id: u64) {
        let mut links = self.links();
        if links.get(peer).is_some_and(|l| l.id == id) {
            links.remove(peer);
        }
        drop(links);
        self.ended.notify_waiters();
    }

    fn take_learning(&self) -> bool {
        self.learning.load(Relaxed) && !self.asking.swap(true, Relaxed)
    }

    fn give_back_learning(&self) {
        self.asking.store(false, Relaxed);
    }

    /// A lesson ended, "finished" or "partial" (the teacher was learning
    /// too): either is taken as the best there is, as HAProxy does once
    /// no other peer can teach.
    fn learned(&self) {
        self.learning.store(false, Relaxed);
        self.asking.store(false, Relaxed);
    }

    fn is_learning(&self) -> bool {
        self.learning.load(Relaxed)
    }
}

/// A section's tasks, and the way to hand it a changed definition.
struct Running {
    spec: tokio::sync::watch::Sender<Arc<PeersSection>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The sections running on this node.
#[derive(Default)]
pub struct Peers {
    running: HashMap<String, Running>,
}

impl Peers {
    /// Starts, updates or stops sections to match the Runtime in `shared`.
    /// Call from the control thread's tokio runtime.
    pub fn reconcile(&mut self, shared: &Arc<Shared>) {
        let rt = shared.runtime.load_full();
        self.running
            .retain(|name, r| match rt.peers.iter().find(|s| &s.name == name) {
                Some(s) if s.listen == r.spec.borrow().listen => {
                    if **s != **r.spec.borrow() {
                        // Sessions restart with the new tables and nodes.
                        r.spec.send_replace(s.clone());
                    }
                    true
                }
                _ => {
                    for t in &r.tasks {
                        t.abort();
                    }
                    false
                }
            });
        for s in &rt.peers {
            if self.running.contains_key(&s.name) {
                continue;
            }
            match link::start(s.clone()) {
                Ok(r) => {
                    self.running.insert(s.name.clone(), r);
                }
                Err(e) => {
                    tracing::error!(peers = %s.name, addr = %s.listen, error = %e, "peers: cannot listen")
                }
            }
        }
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        for r in self.running.values() {
            for t in &r.tasks {
                t.abort();
            }
        }
    }
}
