//! HAProxy's command-line forms that a derive parser cannot read as they
//! are written (`-sf PID...`, `-Ws`, `-db`, `-dW`), and what the binary
//! does with them: the worker's command line, the signals to replaced
//! processes, the memory limit, HAProxy's environment variables.

use std::path::PathBuf;

/// How diagnostics are written: fulcrum's `FILE:LINE: MESSAGE`, or
/// HAProxy's `[ALERT] ... parsing [FILE:LINE] : MESSAGE` when fulcrum runs
/// under the name `haproxy` (a drop-in symlink) or with
/// FULCRUM_DIAGNOSTICS=haproxy, so that scripts which read HAProxy's output
/// keep working.
pub fn haproxy_layout() -> bool {
    let named_haproxy = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().starts_with("haproxy"))
        })
        .unwrap_or(false);
    named_haproxy || std::env::var("FULCRUM_DIAGNOSTICS").is_ok_and(|v| v == "haproxy")
}

/// HAProxy's flags that clap cannot read as they are written (`-sf` would
/// be `-s -f`, `-Ws` would be `-W -s`), taken out of the arguments first.
#[derive(Debug, Default)]
pub struct Extra {
    /// `-sf PID...` / `-st PID...`: the processes this one replaces, and
    /// whether they stop at once (`-st`: SIGTERM) rather than finish their
    /// connections (`-sf`: SIGUSR1).
    pub pids: Vec<(i32, bool)>,
    /// `-W` (false) or `-Ws` (true: tell systemd).
    pub master: Option<bool>,
    /// `-S ADDR[,OPTIONS]`: the master CLI.
    pub master_cli: Option<String>,
    /// `-db`: stay in the foreground, without `-d`'s debug logging.
    pub foreground: bool,
    /// `-dW`: warnings stop the start.
    pub zero_warning: bool,
}

/// Takes the flags [`Extra`] lists out of the arguments.
pub fn take_extra(args: Vec<String>) -> Result<(Vec<String>, Extra), String> {
    let mut out = Vec::with_capacity(args.len());
    let mut extra = Extra::default();
    let mut it = args.into_iter().peekable();
    while let Some(a) = it.next() {
        let hard = match a.as_str() {
            "-sf" => false,
            "-st" => true,
            "-W" => {
                extra.master = Some(extra.master.unwrap_or(false));
                continue;
            }
            "-Ws" => {
                extra.master = Some(true);
                continue;
            }
            "-S" => {
                extra.master_cli = Some(it.next().ok_or("'-S' expects an address")?);
                continue;
            }
            "-db" => {
                extra.foreground = true;
                continue;
            }
            "-dW" => {
                extra.zero_warning = true;
                continue;
            }
            // Diagnostic mode: fulcrum always reports what it would
            // (every suspicious line is a warning already).
            "-dD" => {
                eprintln!("fulcrum: '-dD' changes nothing: suspicious lines are always reported as warnings");
                continue;
            }
            m if m.starts_with("-dM") => {
                eprintln!("fulcrum: '{m}' ignored: memory poisoning finds reads of uninitialized memory, which safe Rust never does");
                continue;
            }
            _ => {
                out.push(a);
                continue;
            }
        };
        while let Some(n) = it.peek().and_then(|p| p.parse::<i32>().ok()) {
            if n <= 0 {
                return Err(format!("'{a}' expects process ids, got '{n}'"));
            }
            extra.pids.push((n, hard));
            it.next();
        }
    }
    Ok((out, extra))
}

/// A worker's command line: ours without what only the master acts on
/// (master flags, `-D`, `-p FILE`, `-sf/-st PID...`).
pub fn worker_args() -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut it = std::env::args_os().skip(1).peekable();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("-W" | "-Ws" | "-D") => {}
            // -C: the worker starts in the directory it names already.
            Some("-S" | "-p" | "-C") => {
                it.next();
            }
            Some("-sf" | "-st") => {
                while it
                    .peek()
                    .and_then(|p| p.to_str())
                    .is_some_and(|p| p.parse::<i32>().is_ok())
                {
                    it.next();
                }
            }
            _ => out.push(a),
        }
    }
    out
}

/// Tells the processes `-sf`/`-st` named that this one now listens.
pub fn stop_replaced(pids: &[(i32, bool)]) {
    use rustix::process::{kill_process, Pid, Signal};
    for &(pid, hard) in pids {
        let Some(p) = Pid::from_raw(pid) else {
            continue;
        };
        let sig = if hard { Signal::TERM } else { Signal::USR1 };
        match kill_process(p, sig) {
            Ok(()) => tracing::info!(pid, signal = ?sig, "told the old process to stop"),
            Err(e) => tracing::warn!(pid, error = %e, "cannot signal the old process"),
        }
    }
}

/// The environment variables HAProxy defines for its configuration (where
/// `"${HAPROXY_CFGFILES}"` and the like may be used) and for the programs
/// a master runs. The process is still single-threaded here.
pub fn set_haproxy_variables(local_peer: Option<&str>, extra: &Extra) {
    let set = |k: &str, v: &str| {
        if std::env::var_os(k).is_none() || k != "HAPROXY_STARTUP_VERSION" {
            std::env::set_var(k, v);
        }
    };
    let peer = local_peer.map(str::to_string).unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    set("HAPROXY_LOCALPEER", &peer);
    // Kept from the first start across a master's workers and reloads.
    set("HAPROXY_STARTUP_VERSION", super::cli::VERSION);
    if extra.master.is_some() {
        set("HAPROXY_MWORKER", "1");
    }
    if let Some(m) = &extra.master_cli {
        set(
            "HAPROXY_MASTER_CLI",
            m.split(',').next().unwrap_or_default(),
        );
    }
}

/// `-m MEGS`: the address-space limit HAProxy sets. An allocation past it
/// fails, and fulcrum then stops (Rust aborts on a failed allocation)
/// rather than run on with part of its memory.
pub fn limit_memory(megs: u64) -> std::io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let bytes = megs.saturating_mul(1 << 20);
    setrlimit(
        Resource::As,
        Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        },
    )?;
    Ok(())
}
