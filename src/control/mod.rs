//! The control plane: starting the workers, signals, (later) reloads.

pub mod workers;
