//! The control plane: starting the workers, health checks, signals (and,
//! later, reloads). It talks to the workers only through the Runtime swap
//! point and the servers' live state.

pub mod workers;

use std::sync::Arc;

use crate::proxy::accept::Shared;

/// Why the control thread returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM.
    Terminate,
    /// SIGINT.
    Interrupt,
}

/// Runs the control thread: health checks of the current Runtime, and the
/// wait for a stop signal. Returns the signal, or an error if the control
/// runtime or the signal handlers cannot be set up.
pub fn run(shared: Arc<Shared>) -> std::io::Result<Stop> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let _checks = crate::health::start(shared.runtime.load_full());
        Ok(tokio::select! {
            _ = term.recv() => Stop::Terminate,
            _ = int.recv() => Stop::Interrupt,
        })
    })
}
