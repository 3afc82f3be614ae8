//! The runtime API on `stats socket` (HAProxy's management guide, section
//! 9.3), served by the control thread.
//!
//! A connection sends a line of commands separated by `;`; each answer ends
//! with an empty line. Without `prompt` the connection closes once the
//! commands it sent are answered; with it, a `> ` prompt follows each
//! answer and the session lasts until `quit`, the client closes, or it
//! stays silent longer than `stats timeout`. Each socket has a level
//! (user, operator, admin) that bounds what its sessions may do.

pub mod command;
mod exec;
mod show;
mod table;
mod typed;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;

use self::command::ParseError;
use self::exec::{Flow, Session};
use crate::runtime::{CliSocket, Shared};
use crate::util::addr::CliAddr;

pub use show::VERSION;

/// Why a stats socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The address could not be bound (or its file prepared).
    #[error("stats socket '{addr}': {what}")]
    Bind {
        /// The address.
        addr: String,
        /// What failed.
        what: String,
    },
}

/// The stats sockets open now, each with its accept task.
#[derive(Debug, Default)]
pub struct Sockets {
    open: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    spec: CliSocket,
    task: tokio::task::JoinHandle<()>,
    /// A UNIX socket file's (device, inode) as bound.
    file: Option<(u64, u64)>,
}

fn file_id(p: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl Drop for Open {
    fn drop(&mut self) {
        self.task.abort();
        // Only the file this socket made: in master-worker mode the next
        // worker has bound a new one at the same path before this one
        // stops, and removing it would leave the API unreachable.
        if let CliAddr::Unix(p) = &self.spec.addr {
            if self.file.is_some() && file_id(p) == self.file {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

impl Sockets {
    /// Makes the open sockets those of the current Runtime: unchanged ones
    /// stay (their sessions go on), removed ones close, new ones open.
    /// Returns what changed, for the reload summary.
    pub fn reconcile(&mut self, shared: &Arc<Shared>) -> Result<Vec<String>, CliError> {
        let want = shared.runtime.load().global.cli.clone();
        let mut changes = Vec::new();
        self.open.retain(|o| {
            let keep = want.contains(&o.spec);
            if !keep {
                changes.push(format!("stats socket {} closed", o.spec.addr));
            }
            keep
        });
        for spec in want {
            if self.open.iter().any(|o| o.spec == spec) {
                continue;
            }
            let task = listen(&spec, shared.clone())?;
            changes.push(format!("stats socket {} opened", spec.addr));
            let file = match &spec.addr {
                CliAddr::Unix(p) => file_id(p),
                _ => None,
            };
            self.open.push(Open { spec, task, file });
        }
        Ok(changes)
    }
}

/// Binds one socket and starts accepting on it.
fn listen(spec: &CliSocket, shared: Arc<Shared>) -> Result<tokio::task::JoinHandle<()>, CliError> {
    let err = |what: String| CliError::Bind {
        addr: spec.addr.to_string(),
        what,
    };
    let limit = Arc::new(Semaphore::new(spec.maxconn as usize));
    let spec2 = spec.clone();
    match &spec.addr {
        CliAddr::Unix(path) => {
            let listener = bind_unix(path, spec).map_err(err)?;
            Ok(tokio::spawn(async move {
                loop {
                    let Ok(permit) = limit.clone().acquire_owned().await else {
                        return;
                    };
                    let Ok((io, _)) = listener.accept().await else {
                        continue;
                    };
                    let who = format!("stats socket {}", spec2.addr);
                    tokio::spawn(serve(io, shared.clone(), session(&spec2, who), permit));
                }
            }))
        }
        CliAddr::Tcp(_) | CliAddr::Fd(_) => {
            let std = match &spec.addr {
                // An inherited listening socket (`fd@N`), as VTest hands it.
                CliAddr::Fd(fd) => {
                    crate::listen::socket::inherited(*fd).map_err(|e| err(e.to_string()))?
                }
                CliAddr::Tcp(addr) => crate::listen::socket::control_listener(*addr, 128)
                    .map_err(|e| err(e.to_string()))?,
                CliAddr::Unix(p) => {
                    return Err(err(format!("{} is not a TCP address", p.display())))
                }
            };
            std.set_nonblocking(true).map_err(|e| err(e.to_string()))?;
            let listener =
                tokio::net::TcpListener::from_std(std).map_err(|e| err(e.to_string()))?;
            Ok(tokio::spawn(async move {
                loop {
                    let Ok(permit) = limit.clone().acquire_owned().await else {
                        return;
                    };
                    let Ok((io, peer)) = listener.accept().await else {
                        continue;
                    };
                    let who = format!("stats socket {} (client {peer})", spec2.addr);
                    tokio::spawn(serve(io, shared.clone(), session(&spec2, who), permit));
                }
            }))
        }
    }
}

fn session(spec: &CliSocket, who: String) -> Session {
    Session {
        level: spec.level,
        interactive: false,
        timeout: spec.timeout,
        who,
    }
}

/// Binds a UNIX socket: a stale socket file is replaced (as HAProxy does
/// at start-up), anything else at that path is refused; then the file
/// gets its `mode`, `uid` and `gid`.
fn bind_unix(path: &std::path::Path, spec: &CliSocket) -> Result<tokio::net::UnixListener, String> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!("{} exists and is not a socket", path.display()));
        }
        std::fs::remove_file(path).map_err(|e| format!("cannot replace the old socket: {e}"))?;
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(|e| e.to_string())?;
    if let Some(mode) = spec.mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("mode {mode:o}: {e}"))?;
    }
    if spec.uid.is_some() || spec.gid.is_some() {
        std::os::unix::fs::chown(path, spec.uid, spec.gid)
            .map_err(|e| format!("cannot set the owner: {e}"))?;
    }
    Ok(listener)
}

/// One connection: lines in, answers out, until `quit`, the end of a
/// non-interactive exchange, the client's close, or the idle timeout.
async fn serve<S>(
    mut io: S,
    shared: Arc<Shared>,
    mut s: Session,
    _permit: tokio::sync::OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let max_line = shared.runtime.load().global.bufsize;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(line) = next_line(&mut io, &mut buf, &s, max_line).await else {
            return;
        };
        let (mut out, flow) = answer(&String::from_utf8_lossy(&line), &mut s, &shared);
        if flow == Flow::Continue && s.interactive {
            out.push_str("> ");
        }
        let write = tokio::time::timeout(s.timeout, io.write_all(out.as_bytes()));
        if !matches!(write.await, Ok(Ok(()))) || flow == Flow::Quit {
            return;
        }
        // Without `prompt`, the commands already sent are answered, then
        // the connection closes.
        if !s.interactive && !buf.contains(&b'\n') {
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// The next line (without waiting when one is buffered); the last bytes
/// before the client's close count as a line. None: closed, silent past
/// the timeout, or a line longer than the buffer.
async fn next_line<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut Vec<u8>,
    s: &Session,
    max_line: usize,
) -> Option<Vec<u8>> {
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            return Some(buf.drain(..=pos).collect());
        }
        if buf.len() > max_line {
            return None;
        }
        let mut chunk = [0u8; 2048];
        match tokio::time::timeout(s.timeout, io.read(&mut chunk)).await {
            Ok(Ok(0)) => return (!buf.is_empty()).then(|| std::mem::take(buf)),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// Runs every command of a line; each answer ends with an empty line.
fn answer(line: &str, s: &mut Session, shared: &Shared) -> (String, Flow) {
    let mut out = String::new();
    for words in command::split(line) {
        if words.is_empty() {
            continue;
        }
        let (text, flow) = match command::parse(&words) {
            Ok(cmd) => exec::execute(&cmd, s, shared),
            Err(ParseError::Unknown) => (exec::help(&words, true), Flow::Continue),
            Err(ParseError::Usage(u)) => (u + "\n", Flow::Continue),
        };
        if flow == Flow::Quit {
            return (out, Flow::Quit);
        }
        out.push_str(&text);
        out.push('\n');
    }
    (out, Flow::Continue)
}
