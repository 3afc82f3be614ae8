//! fulcrum: a layer-4 / layer-7 load balancer that runs existing haproxy.cfg files.
//!
//! ```text
//!  config text ──parse──▶ Config ──validate──▶ Config ──compile(prev)──▶ Runtime
//!  (haproxy.cfg│yaml)     (plain serde data)             (resolved, live state attached)
//!                                                              │
//!                                             ArcSwap<Runtime> ◀── reload (SIGHUP)
//!                                                              │ load() per connection / request
//!  client ─▶ listener ─▶ frontend ─▶ (stats? routing) ─▶ backend ─▶ balancer ─▶ server
//! ```
//!
//! Today the crate holds the configuration layer ([`config`]): the haproxy.cfg
//! and YAML readers, validation with `file:line` diagnostics, and the writers
//! behind `fulcrum convert`. The data path follows DESIGN.md's layers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod util;

/// fulcrum's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod balance;
pub mod control;
pub mod health;
pub mod listen;
pub mod log;
pub mod peers;
pub mod proxy;
pub mod resolve;
pub mod rules;
pub mod runtime;
pub mod state;
pub mod stats;
pub mod tls;

/// What `fulcrum -c` checks, and what a reload checks before it changes
/// anything: the config layer's parse and validation, then the rules'
/// compilation, every problem at its `file:line`.
pub fn check(paths: &[std::path::PathBuf]) -> (Option<config::Config>, config::Diagnostics) {
    let (config, mut diags) = config::check(paths);
    let Some(mut config) = config else {
        return (None, diags);
    };
    config::overrides::apply(&mut config);
    diags.extend(rules::check(&config));
    // `-dW` / `zero-warning`: a warning is as bad as an error.
    let zero_warning = config.global.zero_warning || config::overrides::get().zero_warning;
    if zero_warning && !diags.0.is_empty() && !diags.has_errors() {
        let file = diags.0[0].span.file.clone();
        diags.error(
            config::Span { file, line: None },
            "some warnings were found and 'zero-warning' is set (-dW): aborting",
        );
    }
    if diags.has_errors() {
        (None, diags)
    } else {
        (Some(config), diags)
    }
}
