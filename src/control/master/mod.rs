//! Master-worker mode (`-W`, `-Ws`, `master-worker` in global): a master
//! process that runs fulcrum as a worker process and replaces it on
//! reload, as HAProxy's master does, for the tools built around it
//! (systemd units that send SIGUSR2, the master CLI of `-S`).
//!
//! - The worker is this same program, started again without the master
//!   flags. It serves, besides its own `stats socket`s, a runtime API on a
//!   private UNIX socket that the master uses to reach it (`@1 show info`
//!   on the master CLI) and to know it is ready.
//! - SIGUSR2 or SIGHUP (or `reload` on the master CLI) starts a new worker
//!   from the files as they are now, which may be a new binary too. Once it
//!   answers, the previous one gets SIGUSR1: it stops accepting, finishes
//!   its connections and leaves. A new worker that fails to start leaves
//!   the running one in place, and counts as a failed reload.
//! - SIGTERM/SIGINT stop every worker at once, SIGUSR1 softly; the master
//!   leaves when they have. A worker that dies on its own takes the master
//!   with it (HAProxy's default, exit-on-failure), so that a supervisor
//!   restarts the whole.
//! - With `-Ws`, the master tells systemd (NOTIFY_SOCKET) READY=1 once a
//!   worker serves, RELOADING=1 during a reload and STOPPING=1 at the end.
//!
//! fulcrum also reloads in-process (SIGHUP to a process started without
//! `-W`), which keeps every connection and needs no second process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::util::addr::CliAddr;

mod cli;
mod programs;
use cli::{serve_cli, CliListener, Snapshot};
use programs::{program_row, start_program, Program};

/// The environment variable that gives a worker its private socket.
pub const WORKER_SOCKET_ENV: &str = "FULCRUM_WORKER_SOCKET";

/// How long a new worker may take to answer before it counts as failed.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// What the master was asked for.
#[derive(Debug, Clone)]
pub struct MasterOptions {
    /// The worker's command line: this program's arguments without the
    /// master flags.
    pub worker_args: Vec<OsString>,
    /// The configuration files (`-f`), read again at each reload to open
    /// the listeners a new worker needs.
    pub paths: Vec<PathBuf>,
    /// `-S`: the master CLI's address.
    pub cli: Option<CliAddr>,
    /// `-Ws`: tell systemd.
    pub systemd: bool,
    /// `-sf`/`-st`: processes to stop (SIGTERM when true, else SIGUSR1)
    /// once the first worker serves.
    pub replaces: Vec<(i32, bool)>,
}

/// Adds the private socket a master gave this worker to its configuration
/// (a `stats socket` at level admin), when it runs as a worker.
pub fn add_worker_socket(config: &mut crate::config::Config) {
    if let Some(path) = std::env::var_os(WORKER_SOCKET_ENV) {
        config
            .global
            .stats_socket
            .push(crate::config::model::StatsSocket::at(
                path.to_string_lossy().into_owned(),
            ));
    }
}

/// Makes this worker stop when its master dies (SIGTERM from the kernel,
/// PR_SET_PDEATHSIG), as HAProxy's workers leave with their master: a
/// master killed with SIGKILL must not leave workers serving an old
/// configuration that nothing can reload or stop any more. Returns false
/// when the master is already gone.
pub fn follow_master() -> bool {
    use rustix::process::{getppid, set_parent_process_death_signal, Signal};
    if let Err(e) = set_parent_process_death_signal(Some(Signal::TERM)) {
        tracing::warn!("cannot follow the master's death: {e}");
    }
    // The master may have died before the call: then the worker was
    // already handed to init.
    getppid().is_some_and(|p| p.as_raw_nonzero().get() != 1)
}

/// One worker process.
struct Worker {
    child: Child,
    pid: u32,
    socket: PathBuf,
    started: Instant,
    /// Reloads it has lived through (HAProxy's `<reloads>` column).
    reloads: u32,
}

/// The listening sockets the master holds and hands to each worker: a
/// reload's new worker accepts on the very sockets the old one did, so no
/// connection waiting in a queue is lost when the old one leaves.
#[derive(Default)]
struct Held {
    sockets: Vec<(crate::control::workers::ListenerKey, std::net::TcpListener)>,
}

impl Held {
    /// Opens what the configuration in `paths` listens on and is not open
    /// yet, closes what it no longer wants, and returns the value of
    /// [`crate::control::workers::HANDED_DOWN_ENV`] for the next worker.
    fn refresh(
        &mut self,
        paths: &[PathBuf],
    ) -> Result<(String, Vec<crate::config::model::Program>), String> {
        use crate::control::workers;
        let (config, diags) = crate::check(paths);
        let Some(config) = config else {
            return Err(diags.to_string());
        };
        let rt = crate::runtime::compile(&config, None).map_err(|e| e.to_string())?;
        let wanted = workers::wanted(&rt).map_err(|e| e.to_string())?;
        // Sockets inherited as `fd@` pass down under their own number.
        for fd in wanted.iter().filter_map(|(k, _, _)| k.fd) {
            crate::listen::socket::pass_on_inherited(fd).map_err(|e| format!("fd@{fd}: {e}"))?;
        }
        let wanted: Vec<_> = wanted
            .into_iter()
            .filter(|(k, _, _)| k.fd.is_none())
            .collect();
        let same = |a: &workers::ListenerKey, b: &workers::ListenerKey| {
            a.addr == b.addr && a.options == b.options
        };
        self.sockets
            .retain(|(k, _)| wanted.iter().any(|(w, _, _)| same(k, w)));
        for (key, bind, backlog) in &wanted {
            if self.sockets.iter().any(|(k, _)| same(k, key)) {
                continue;
            }
            let l = crate::listen::socket::open(key.addr, bind, *backlog)
                .map_err(|e| format!("{}: {e}", key.frontend))?;
            // The worker must inherit it across exec.
            rustix::io::fcntl_setfd(&l, rustix::io::FdFlags::empty())
                .map_err(|e| format!("{}: {e}", key.addr))?;
            self.sockets.push((key.clone(), l));
        }
        use std::os::fd::AsRawFd;
        let handed = self
            .sockets
            .iter()
            .map(|(k, l)| workers::handed_down_line(l.as_raw_fd(), k))
            .collect::<Vec<_>>()
            .join("\n");
        Ok((handed, config.programs))
    }
}

/// The master's state.
struct Master {
    opts: MasterOptions,
    held: Held,
    programs: Vec<Program>,
    old_programs: Vec<Program>,
    dir: PathBuf,
    spawned: u32,
    started: Instant,
    current: Worker,
    old: Vec<Worker>,
    reloads: u32,
    failed_reloads: u32,
}

/// Runs the master until it stops; returns the exit code.
pub fn run(opts: MasterOptions) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fulcrum: master: {e}");
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        match master(opts).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("fulcrum: master: {e}");
                1
            }
        }
    })
}

async fn master(opts: MasterOptions) -> std::io::Result<u8> {
    use tokio::signal::unix::{signal, SignalKind};
    let dir = std::env::temp_dir().join(format!("fulcrum-master-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let cli = match &opts.cli {
        Some(addr) => Some(CliListener::bind(addr)?),
        None => None,
    };
    let mut held = Held::default();
    let (handed, programs) = match held.refresh(&opts.paths) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("fulcrum: master: {e}");
            return Ok(1);
        }
    };
    let first = spawn(&opts, &dir, 1, &handed)?;
    let Some(current) = ready(first).await else {
        let _ = std::fs::remove_dir_all(&dir);
        tracing::error!("the worker did not start");
        return Ok(1);
    };
    tracing::info!(pid = current.pid, "master: worker ready");
    for &(pid, hard) in &opts.replaces {
        let sig = if hard {
            rustix::process::Signal::TERM
        } else {
            rustix::process::Signal::USR1
        };
        send_signal(u32::try_from(pid).unwrap_or_default(), sig);
    }
    let mut m = Master {
        opts,
        held,
        programs: Vec::new(),
        old_programs: Vec::new(),
        dir,
        spawned: 1,
        started: Instant::now(),
        current,
        old: Vec::new(),
        reloads: 0,
        failed_reloads: 0,
    };
    m.programs_for(programs);
    m.notify("READY=1");
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let state = std::rc::Rc::new(std::cell::RefCell::new(Snapshot::default()));
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let code = loop {
        *state.borrow_mut() = m.snapshot();
        tokio::select! {
            _ = hup.recv() => m.reload().await,
            _ = usr2.recv() => m.reload().await,
            Some(()) = reload_rx.recv() => m.reload().await,
            _ = term.recv() => break m.stop(rustix::process::Signal::TERM).await,
            _ = int.recv() => break m.stop(rustix::process::Signal::INT).await,
            _ = usr1.recv() => break m.stop(rustix::process::Signal::USR1).await,
            st = m.current.child.wait() => {
                // exit-on-failure: the others go too, and the master says why.
                let code = st.ok().and_then(|s| s.code()).unwrap_or(1);
                tracing::error!(pid = m.current.pid, code, "master: the worker exited; stopping");
                let _ = m.stop(rustix::process::Signal::TERM).await;
                break if code == 0 { 1 } else { u8::try_from(code).unwrap_or(1) };
            }
            accepted = async {
                match &cli {
                    Some(l) => l.accept().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Ok(conn) = accepted {
                    let (state, reload) = (state.clone(), reload_tx.clone());
                    tokio::task::spawn_local(async move {
                        let _ = serve_cli(conn, &state, &reload).await;
                    });
                }
            }
            _ = tick.tick() => m.reap(),
        }
    };
    let _ = std::fs::remove_dir_all(&m.dir);
    Ok(code)
}

/// Starts worker number `n`.
fn spawn(opts: &MasterOptions, dir: &Path, n: u32, handed: &str) -> std::io::Result<Worker> {
    let exe = std::env::current_exe()?;
    let socket = dir.join(format!("worker-{n}.sock"));
    let _ = std::fs::remove_file(&socket);
    let child = Command::new(exe)
        .args(&opts.worker_args)
        .env(WORKER_SOCKET_ENV, &socket)
        .env(crate::control::workers::HANDED_DOWN_ENV, handed)
        .env_remove("NOTIFY_SOCKET")
        .kill_on_drop(false)
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    Ok(Worker {
        child,
        pid,
        socket,
        started: Instant::now(),
        reloads: 0,
    })
}

/// Waits until `w` answers on its private socket; None if it exits or
/// stays silent for 30 s (it is then killed).
async fn ready(mut w: Worker) -> Option<Worker> {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if let Ok(Some(_)) = w.child.try_wait() {
            return None;
        }
        if ask(&w.socket, "show info").await.is_ok() {
            return Some(w);
        }
        if Instant::now() > deadline {
            let _ = w.child.start_kill();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends one line of commands to a worker's runtime API and returns all
/// it answered.
async fn ask(socket: &Path, line: &str) -> std::io::Result<String> {
    let mut s = tokio::net::UnixStream::connect(socket).await?;
    s.write_all(format!("{line}\n").as_bytes()).await?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    Ok(out)
}

fn send_signal(pid: u32, sig: rustix::process::Signal) {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(p) = pid {
        let _ = rustix::process::kill_process(p, sig);
    }
}

impl Master {
    /// A new worker from the files as they are now; the previous one
    /// leaves once the new one answers.
    async fn reload(&mut self) {
        self.notify("RELOADING=1");
        self.spawned += 1;
        let next = match self.held.refresh(&self.opts.paths) {
            Err(e) => {
                tracing::error!("master: the configuration does not load:\n{e}");
                None
            }
            Ok((handed, programs)) => match spawn(&self.opts, &self.dir, self.spawned, &handed) {
                Ok(w) => ready(w).await.map(|w| (w, programs)),
                Err(e) => {
                    tracing::error!(error = %e, "master: cannot start a new worker");
                    None
                }
            },
        };
        match next {
            Some((w, programs)) => {
                self.reloads += 1;
                for p in self.programs.iter_mut().chain(&mut self.old_programs) {
                    p.reloads += 1;
                }
                self.programs_for(programs);
                let mut prev = std::mem::replace(&mut self.current, w);
                send_signal(prev.pid, rustix::process::Signal::USR1);
                let _ = std::fs::remove_file(&prev.socket);
                prev.reloads += 1;
                for o in &mut self.old {
                    o.reloads += 1;
                }
                tracing::info!(old = prev.pid, new = self.current.pid, "master: reloaded");
                self.old.push(prev);
            }
            None => {
                self.failed_reloads += 1;
                tracing::error!("master: reload failed; the running worker stays");
            }
        }
        self.notify("READY=1");
    }

    /// Makes the running programs those of `specs`: a new one starts, a
    /// removed one is stopped (SIGTERM), and one with `start-on-reload`
    /// (the default) is replaced by a new instance.
    fn programs_for(&mut self, specs: Vec<crate::config::model::Program>) {
        let running = std::mem::take(&mut self.programs);
        for p in running {
            // Kept only when unchanged and not to be started again.
            let keep = specs.iter().any(|s| *s == p.spec && !s.start_on_reload);
            if keep {
                self.programs.push(p);
            } else {
                send_signal(p.pid, rustix::process::Signal::TERM);
                self.old_programs.push(p);
            }
        }
        for s in specs {
            if self.programs.iter().any(|p| p.spec.name == s.name) {
                continue;
            }
            match start_program(&s) {
                Ok(p) => {
                    tracing::info!(program = %s.name, pid = p.pid, "master: program started");
                    self.programs.push(p);
                }
                Err(e) => tracing::error!("master: {e}"),
            }
        }
    }

    /// Old workers and programs that have left are forgotten, and so are
    /// programs that ended on their own (logged).
    fn reap(&mut self) {
        let gone = |c: &mut Child| matches!(c.try_wait(), Ok(Some(_)) | Err(_));
        self.old.retain_mut(|w| !gone(&mut w.child));
        self.old_programs.retain_mut(|p| !gone(&mut p.child));
        self.programs.retain_mut(|p| {
            let ended = gone(&mut p.child);
            if ended {
                tracing::warn!(program = %p.spec.name, pid = p.pid, "master: program exited");
            }
            !ended
        });
    }

    /// Passes `sig` to every worker and waits for them; the master's exit
    /// code is then 128 + the signal's number, as HAProxy's master's.
    async fn stop(&mut self, sig: rustix::process::Signal) -> u8 {
        self.notify("STOPPING=1");
        for w in std::iter::once(&self.current).chain(&self.old) {
            send_signal(w.pid, sig);
        }
        for p in self.programs.iter().chain(&self.old_programs) {
            send_signal(p.pid, sig);
        }
        for w in std::iter::once(&mut self.current).chain(self.old.iter_mut()) {
            let _ = w.child.wait().await;
        }
        for p in self.programs.iter_mut().chain(self.old_programs.iter_mut()) {
            let _ = p.child.wait().await;
        }
        u8::try_from(128 + sig.as_raw()).unwrap_or(u8::MAX)
    }

    /// `-Ws`: one sd_notify datagram to NOTIFY_SOCKET.
    fn notify(&self, state: &str) {
        if !self.opts.systemd {
            return;
        }
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return;
        };
        let path = path.to_string_lossy().into_owned();
        let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
            match path.strip_prefix('@') {
                Some(name) => {
                    use std::os::linux::net::SocketAddrExt;
                    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                    s.send_to_addr(state.as_bytes(), &addr)
                }
                None => s.send_to(state.as_bytes(), &path),
            }
        });
        if let Err(e) = sent {
            tracing::warn!(error = %e, "master: cannot notify systemd");
        }
    }

    fn snapshot(&self) -> Snapshot {
        let row = |w: &Worker| (w.pid, w.reloads, w.started.elapsed().as_secs());
        Snapshot {
            master: (
                std::process::id(),
                self.reloads,
                self.failed_reloads,
                self.started.elapsed().as_secs(),
            ),
            current: Some((row(&self.current), self.current.socket.clone())),
            old: self
                .old
                .iter()
                .map(|w| (row(w), w.socket.clone()))
                .collect(),
            programs: self.programs.iter().map(program_row).collect(),
            old_programs: self.old_programs.iter().map(program_row).collect(),
        }
    }
}
