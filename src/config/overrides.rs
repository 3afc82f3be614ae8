//! Settings the command line gives over the files (`-n`, `-N`, `-dW`),
//! applied to every load: the first one and each reload, as HAProxy keeps
//! its command line across reloads.

use std::sync::OnceLock;

use super::Config;

/// What the command line sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `-n N`: the process-wide `maxconn`, over the file's.
    pub maxconn: Option<u32>,
    /// `-N N`: the `maxconn` of every frontend that sets none.
    pub maxpconn: Option<u32>,
    /// `-dW`: warnings count as errors.
    pub zero_warning: bool,
    /// `-W`/`-Ws`: master-worker mode (programs may run).
    pub master: bool,
}

static SET: OnceLock<Overrides> = OnceLock::new();

/// Records the command line's settings (once, at start).
pub fn set(o: Overrides) {
    let _ = SET.set(o);
}

/// The command line's settings (none when not set).
pub fn get() -> Overrides {
    SET.get().copied().unwrap_or_default()
}

/// Applies them to a configuration just read.
pub fn apply(config: &mut Config) {
    let o = get();
    if let Some(m) = o.maxconn {
        config.global.maxconn = Some(m);
    }
    if let Some(m) = o.maxpconn {
        for p in config.proxies.iter_mut().filter(|p| p.kind.has_frontend()) {
            p.maxconn.get_or_insert(m);
        }
    }
}

static LOCAL_PEER: OnceLock<String> = OnceLock::new();

/// Records `-L NAME` (once, at start).
pub fn set_local_peer(name: String) {
    let _ = LOCAL_PEER.set(name);
}

/// This node's name in `peers` sections: `-L`, else the global
/// `localpeer`, else the host name, as HAProxy picks it.
pub fn local_peer(config: &Config) -> String {
    if let Some(n) = LOCAL_PEER.get() {
        return n.clone();
    }
    if let Some(n) = &config.global.localpeer {
        return n.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}
