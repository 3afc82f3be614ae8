//! The `fulcrum` command: HAProxy's basic flags, `convert`, exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use fulcrum::config::{self, Diagnostics, Format};
use fulcrum::control::cmdline::{
    haproxy_layout, limit_memory, set_haproxy_variables, stop_replaced, take_extra, worker_args,
    Extra,
};

/// fulcrum: a load balancer that runs your haproxy.cfg.
#[derive(Parser, Debug)]
#[command(
    name = "fulcrum",
    disable_version_flag = true,
    after_help = "Examples:\n  fulcrum -c -f /etc/haproxy/haproxy.cfg    check a configuration\n  fulcrum -f conf/haproxy.cfg               run in the foreground\n  fulcrum convert haproxy.cfg > fulcrum.yaml\n  fulcrum convert fulcrum.yaml --to cfg"
)]
struct Cli {
    /// Configuration file or directory (its *.cfg files in order); repeatable.
    /// A file ending in .yaml or .yml is read as YAML.
    #[arg(short = 'f', value_name = "FILE", action = ArgAction::Append)]
    files: Vec<PathBuf>,
    /// Check the configuration and exit: 0 if valid, 1 with file:line errors,
    /// 2 if valid but nothing would listen.
    #[arg(short = 'c')]
    check: bool,
    /// Debug: stay in the foreground and log at debug level.
    #[arg(short = 'd')]
    debug: bool,
    /// Run as a daemon in the background.
    #[arg(short = 'D')]
    daemon: bool,
    /// Write the process id to this file.
    #[arg(short = 'p', value_name = "PIDFILE")]
    pidfile: Option<PathBuf>,
    /// Print the version (-vv: and build details) and exit.
    #[arg(short = 'v', action = ArgAction::Count)]
    version: u8,
    /// Quiet: print nothing but errors.
    #[arg(short = 'q')]
    quiet: bool,
    /// Verbose: the opposite of -q (the default already says what it does).
    #[arg(short = 'V')]
    verbose: bool,
    /// The process-wide maxconn, over the configuration's.
    #[arg(short = 'n', value_name = "MAXCONN")]
    maxconn: Option<u32>,
    /// The maxconn of every frontend that sets none.
    #[arg(short = 'N', value_name = "MAXPCONN")]
    maxpconn: Option<u32>,
    /// Limit the process's memory to this many megabytes (RLIMIT_AS, as
    /// HAProxy sets it).
    #[arg(short = 'm', value_name = "MEGS")]
    memory: Option<u64>,
    /// Change to this directory before reading the files.
    #[arg(short = 'C', value_name = "DIR")]
    chdir: Option<PathBuf>,
    /// The local peer name (HAProxy's `-L`): this node's name in `peers`
    /// sections (over the global `localpeer` and the host name).
    #[arg(short = 'L', value_name = "NAME")]
    local_peer: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert a configuration between haproxy.cfg and YAML (to standard output).
    Convert {
        /// The configuration to read (.yaml/.yml is YAML, anything else haproxy.cfg).
        file: PathBuf,
        /// Output format (default: the other one; cfg for --from apache).
        #[arg(long = "to", value_enum)]
        to: Option<Target>,
        /// Read FILE as another server's configuration: `apache` is httpd's
        /// mod_proxy_balancer setup (Include is followed).
        #[arg(long = "from", value_enum)]
        from: Option<Foreign>,
        /// With --from: HAProxy's keywords only; each fulcrum-only part
        /// given up is a warning that says what is lost.
        #[arg(long = "strict-haproxy", requires = "from")]
        strict_haproxy: bool,
    },
    /// GET a health URL (a `monitor-uri`) once: exit 0 on a 2xx answer,
    /// 1 otherwise. For keepalived's track_script and the like.
    Probe {
        /// ADDR:PORT[/PATH], e.g. 127.0.0.1:8404/healthz.
        target: String,
        /// The most the whole probe may take.
        #[arg(long, default_value = "1s", value_parser = probe_timeout)]
        timeout: std::time::Duration,
        /// Probe forever at this interval, writing 0 (healthy) or 1 to
        /// --state-file (for keepalived's track_file).
        #[arg(long, value_parser = probe_timeout, requires = "state_file")]
        watch: Option<std::time::Duration>,
        /// Where --watch writes its verdict.
        #[arg(long)]
        state_file: Option<PathBuf>,
        /// Failed probes in a row that make the node unhealthy (--watch).
        #[arg(long, default_value_t = 1)]
        fall: u32,
        /// Good probes in a row that make it healthy again (--watch).
        #[arg(long, default_value_t = 1)]
        rise: u32,
    },
}

fn probe_timeout(s: &str) -> Result<std::time::Duration, String> {
    fulcrum::util::time::parse_time(s).map_err(|e| e.to_string())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Foreign {
    Apache,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Target {
    Yaml,
    Cfg,
}

fn print_diags(d: &Diagnostics, quiet: bool) {
    let haproxy = haproxy_layout();
    for diag in &d.0 {
        if quiet && diag.severity != config::Severity::Error {
            continue;
        }
        if haproxy {
            eprintln!("{}", diag.haproxy_layout(std::process::id()));
        } else {
            eprintln!("{diag}");
        }
    }
}

/// `-cc EXPR`, as HAProxy's command line has it (clap would read `-cc` as
/// `-c` twice): 0 when the condition is true, 1 when false, 2 on error.
fn check_condition() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "-cc")?;
    let Some(expr) = args.get(at + 1) else {
        eprintln!("fulcrum: '-cc' expects a condition");
        return Some(ExitCode::from(2));
    };
    Some(match config::cond::eval_text(expr) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("[ALERT] failed to evaluate condition: {e}");
            ExitCode::from(2)
        }
    })
}

fn main() -> ExitCode {
    if let Some(code) = check_condition() {
        return code;
    }
    let (args, extra) = match take_extra(std::env::args().collect()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("fulcrum: {e}");
            return ExitCode::from(1);
        }
    };
    let cli = Cli::parse_from(args);
    config::overrides::set(config::overrides::Overrides {
        maxconn: cli.maxconn,
        maxpconn: cli.maxpconn,
        zero_warning: extra.zero_warning,
        // A master's worker reads the same files: its programs are the
        // master's to run.
        master: extra.master.is_some()
            || std::env::var_os(fulcrum::control::master::WORKER_SOCKET_ENV).is_some(),
    });
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("fulcrum: -C {}: {e}", dir.display());
            return ExitCode::from(1);
        }
    }
    if cli.version > 0 {
        println!("fulcrum version {}", fulcrum::VERSION);
        if cli.version > 1 {
            println!(
                "configuration language: HAProxy {} (haproxy.cfg) and YAML",
                config::cond::HAPROXY_COMPAT_VERSION
            );
            println!(
                "built for {}-{}",
                std::env::consts::ARCH,
                std::env::consts::OS
            );
        }
        return ExitCode::SUCCESS;
    }
    let filter = if cli.debug {
        "debug"
    } else if cli.quiet {
        "error"
    } else {
        "info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FULCRUM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    if let Some(Command::Convert {
        file,
        to,
        from,
        strict_haproxy,
    }) = &cli.command
    {
        return match from {
            Some(Foreign::Apache) => convert_apache(file, *to, *strict_haproxy),
            None => convert(file, *to),
        };
    }
    if let Some(Command::Probe {
        target,
        timeout,
        watch,
        state_file,
        fall,
        rise,
    }) = &cli.command
    {
        if let (Some(every), Some(file)) = (watch, state_file) {
            let w = fulcrum::control::probe::Watch {
                every: *every,
                state_file: file.clone(),
                fall: (*fall).max(1),
                rise: (*rise).max(1),
            };
            let e = fulcrum::control::probe::watch(target, *timeout, &w);
            if let Err(e) = e {
                eprintln!("{}: {e}", file.display());
            }
            return ExitCode::from(1);
        }
        return match fulcrum::control::probe::probe(target, *timeout) {
            Ok(code) => {
                if !cli.quiet {
                    println!("{target}: {code}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{target}: {e}");
                ExitCode::from(1)
            }
        };
    }
    if cli.files.is_empty() {
        eprintln!("fulcrum: no configuration file given (use -f FILE); see fulcrum --help");
        return ExitCode::from(1);
    }
    set_haproxy_variables(cli.local_peer.as_deref(), &extra);
    if let Some(n) = &cli.local_peer {
        config::overrides::set_local_peer(n.clone());
    }
    let (config, diags) = fulcrum::check(&cli.files);
    // Set once the files are read, as HAProxy does: the programs a master
    // runs see it.
    let files: Vec<String> = cli.files.iter().map(|f| f.display().to_string()).collect();
    std::env::set_var("HAPROXY_CFGFILES", files.join(";"));
    print_diags(&diags, cli.quiet);
    let Some(config) = config else {
        let pid = std::process::id();
        if haproxy_layout() {
            let mut files: Vec<&str> = Vec::new();
            for d in diags
                .0
                .iter()
                .filter(|d| d.severity == config::Severity::Error)
            {
                if !files.contains(&&*d.span.file) {
                    files.push(&d.span.file);
                }
            }
            for f in files {
                eprintln!(
                    "[ALERT]    ({pid}) : config : Error(s) found in configuration file : {f}"
                );
            }
        }
        // HAProxy's closing line, in both layouts: tools grep for [ALERT].
        eprintln!("{}", config::diag::haproxy_fatal_line(pid));
        return ExitCode::from(1);
    };
    if cli.check {
        if !config::validate::has_listener(&config) {
            if !cli.quiet {
                eprintln!("Configuration file has no error but will not start (no listener)");
            }
            return ExitCode::from(2);
        }
        if !cli.quiet {
            println!("Configuration file is valid");
        }
        return ExitCode::SUCCESS;
    }
    run(config, &cli, &extra)
}

/// Set in the environment of the background copy that `-D` starts.
const DAEMON_CHILD: &str = "FULCRUM_DAEMON_CHILD";

/// `-D` / `daemon`: start a detached copy of this command (its own process
/// group, no terminal, standard streams closed) and exit. A re-executed copy
/// rather than fork(): the crate forbids unsafe code, and a multi-threaded
/// process must not fork. `-d` keeps fulcrum in the foreground, as in HAProxy.
fn daemonize() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fulcrum: cannot find my own executable to daemonize: {e}");
            return ExitCode::from(1);
        }
    };
    // The copy starts in the directory -C named already.
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("-D") => {}
            Some("-C") => {
                it.next();
            }
            _ => args.push(a),
        }
    }
    let child = std::process::Command::new(exe)
        .args(args)
        .env(DAEMON_CHILD, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
    match child {
        Ok(c) => {
            println!("fulcrum: running in the background, pid {}", c.id());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fulcrum: cannot start in the background: {e}");
            ExitCode::from(1)
        }
    }
}

/// Compiles the configuration, starts the workers, and waits for a signal.
fn run(mut config: config::Config, cli: &Cli, extra: &Extra) -> ExitCode {
    use fulcrum::control::master;
    // A worker of a master: it neither detaches nor becomes a master.
    let worker = std::env::var_os(master::WORKER_SOCKET_ENV).is_some();
    if (cli.daemon || config.global.daemon)
        && std::env::var_os(DAEMON_CHILD).is_none()
        && !cli.debug
        && !extra.foreground
        && !worker
    {
        return daemonize();
    }
    if let Some(megs) = cli.memory {
        if let Err(e) = limit_memory(megs) {
            eprintln!("fulcrum: -m {megs}: cannot limit memory: {e}");
            return ExitCode::from(1);
        }
    }
    if worker {
        if !master::follow_master() {
            eprintln!("fulcrum: the master is gone; this worker stops");
            return ExitCode::from(1);
        }
        master::add_worker_socket(&mut config);
    } else if extra.master.is_some() || config.global.master_worker {
        return run_master(&config, cli, extra);
    }
    let rt = match fulcrum::runtime::compile(&config, None) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fulcrum: {e}");
            return ExitCode::from(1);
        }
    };
    let workers = match fulcrum::control::workers::start(rt) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("fulcrum: {e}");
            return ExitCode::from(1);
        }
    };
    // Our listeners are open (beside theirs, SO_REUSEPORT): the old
    // processes may stop accepting now.
    stop_replaced(&extra.pids);
    // A master writes its own pid; its workers write none.
    let pidfile = (!worker)
        .then(|| cli.pidfile.clone().or(config.global.pidfile.clone()))
        .flatten();
    if let Some(p) = &pidfile {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            eprintln!("fulcrum: cannot write pidfile {}: {e}", p.display());
            return ExitCode::from(1);
        }
    }
    // The control thread: health checks, reloads, and the stop signals.
    match fulcrum::control::run(workers, cli.files.clone()) {
        Ok(sig) => tracing::info!(signal = ?sig, "stopped"),
        Err(e) => tracing::error!(error = %e, "control thread failed"),
    }
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    ExitCode::SUCCESS
}

/// `-W`/`-Ws`/`master-worker`: this process becomes the master.
fn run_master(config: &config::Config, cli: &Cli, extra: &Extra) -> ExitCode {
    use fulcrum::control::master;
    let cli_addr = match &extra.master_cli {
        None => None,
        Some(text) => {
            // `-S ADDR[,OPTION...]`: the address, then bind options, which
            // a master CLI needs none of.
            let mut parts = text.split(',');
            let addr = parts.next().unwrap_or_default();
            for o in parts {
                tracing::warn!(
                    option = o,
                    "'-S': option ignored: the master CLI is at level admin"
                );
            }
            match fulcrum::util::addr::CliAddr::parse(addr) {
                Ok(a) => Some(a),
                Err(e) => {
                    eprintln!("fulcrum: '-S {text}': {e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    let pidfile = cli.pidfile.clone().or(config.global.pidfile.clone());
    if let Some(p) = &pidfile {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            eprintln!("fulcrum: cannot write pidfile {}: {e}", p.display());
            return ExitCode::from(1);
        }
    }
    let code = master::run(master::MasterOptions {
        worker_args: worker_args(),
        paths: cli.files.clone(),
        cli: cli_addr,
        systemd: extra.master == Some(true),
        replaces: extra.pids.clone(),
    });
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    ExitCode::from(code)
}

/// `convert --from apache`: httpd's files to haproxy.cfg (or YAML). The
/// result is checked as `fulcrum -c` checks a file, so what is printed is
/// a configuration fulcrum runs; every problem is reported at its
/// `file:line` (of httpd's files, or of the result).
fn convert_apache(file: &std::path::Path, to: Option<Target>, strict: bool) -> ExitCode {
    let mut diags = Diagnostics::default();
    let text = config::apache::convert::convert(file, strict, &mut diags);
    print_diags(&diags, false);
    if diags.has_errors() {
        return ExitCode::from(1);
    }
    let parsed = config::parse::parse_cfg(&text, "(converted)");
    let mut checked = parsed.diags;
    if !checked.has_errors() {
        checked.extend(config::validate(&parsed.config));
    }
    if checked.has_errors() {
        print_diags(&checked, false);
        eprintln!("fulcrum: the converted configuration does not pass its own check; it follows on standard output for reading");
        print!("{text}");
        return ExitCode::from(1);
    }
    match to.unwrap_or(Target::Cfg) {
        Target::Cfg => print!("{text}"),
        Target::Yaml => print!("{}", config::yaml::to_yaml(&parsed.config)),
    }
    ExitCode::SUCCESS
}

fn convert(file: &PathBuf, to: Option<Target>) -> ExitCode {
    let parsed = config::load(std::slice::from_ref(file));
    print_diags(&parsed.diags, false);
    if parsed.diags.has_errors() {
        return ExitCode::from(1);
    }
    let to = to.unwrap_or(match Format::of(file) {
        Format::Cfg => Target::Yaml,
        Format::Yaml => Target::Cfg,
    });
    let text = match to {
        Target::Yaml => config::yaml::to_yaml(&parsed.config),
        Target::Cfg => config::emit::to_cfg(&parsed.config),
    };
    print!("{text}");
    ExitCode::SUCCESS
}
