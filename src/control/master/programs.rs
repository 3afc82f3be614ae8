//! `program` sections: the commands a master runs beside its workers.

use std::time::Instant;

use tokio::process::{Child, Command};

use super::cli::Row;

/// A `program` the master runs.
pub(super) struct Program {
    pub(super) spec: crate::config::model::Program,
    pub(super) child: Child,
    pub(super) pid: u32,
    pub(super) started: Instant,
    pub(super) reloads: u32,
}

/// Starts a `program`'s command, as its `user` and `group`.
pub(super) fn start_program(spec: &crate::config::model::Program) -> Result<Program, String> {
    let (cmd, args) = spec
        .command
        .split_first()
        .ok_or_else(|| format!("program '{}' has no command", spec.name))?;
    let mut c = Command::new(cmd);
    c.args(args).stdin(std::process::Stdio::null());
    let id = |file: &str, name: &str| {
        name.parse()
            .ok()
            .or_else(|| crate::util::ids::lookup(file, name))
            .ok_or_else(|| format!("program '{}': unknown name '{name}' in {file}", spec.name))
    };
    if let Some(g) = &spec.group {
        c.gid(id("/etc/group", g)?);
    }
    if let Some(u) = &spec.user {
        c.uid(id("/etc/passwd", u)?);
    }
    let child = c
        .spawn()
        .map_err(|e| format!("program '{}': cannot run '{cmd}': {e}", spec.name))?;
    Ok(Program {
        spec: spec.clone(),
        pid: child.id().unwrap_or_default(),
        child,
        started: Instant::now(),
        reloads: 0,
    })
}

pub(super) fn program_row(p: &Program) -> (Row, String) {
    (
        (p.pid, p.reloads, p.started.elapsed().as_secs()),
        p.spec.name.clone(),
    )
}
