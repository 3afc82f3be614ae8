//! Kernel splicing for `mode tcp`: bytes go from one socket into a pipe
//! and from the pipe into the other socket with splice(2), never through
//! user space. It saves the two copies and most of the cache misses of
//! the buffered path, which is what bulk transfers spend their CPU on.
//!
//! A pipe is taken from the worker's pool when the socket is readable and
//! given back once it is empty again, so an idle session holds none (as
//! with buffers). `maxpipes` bounds the pipes of the whole process; past
//! it, a session copies through a buffer as if splicing were off.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rustix::pipe::{
    fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, splice, PipeFlags, SpliceFlags,
};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::time::Instant;

use super::tcp::{Counters, PumpError};
use crate::runtime::Splice;
use crate::util::worker_counts::{bump, Counts, Registry};

/// Pipes that exist in the process (used + free): `maxpipes` bounds it.
/// Written only when a pipe is made or closed, never per transfer.
static PIPES: AtomicUsize = AtomicUsize::new(0);

// A worker's counters, by index.
const USED: usize = 0; // pipes held by sessions
const FREE: usize = 1; // pipes kept empty for the next session
const SPLICED_OUT: usize = 2; // bytes written to a socket from a pipe

static ALL: Registry<3> = Registry::new();

/// Free pipes kept per worker.
const SPARES: usize = 64;

struct Local {
    free: RefCell<Vec<Pipe>>,
    counts: Arc<Counts<3>>,
}

thread_local! {
    static LOCAL: Local = Local {
        free: RefCell::new(Vec::new()),
        counts: ALL.register(),
    };
}

/// A pipe: its two ends and how much it holds.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    size: usize,
    /// Bytes in it, not yet written out.
    held: usize,
}

impl Pipe {
    fn open(size: Option<usize>) -> io::Result<Pipe> {
        let (read, write) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)?;
        if let Some(s) = size {
            // A size the kernel refuses (over pipe-max-size for an
            // unprivileged process) leaves its default: not worth failing.
            let _ = fcntl_setpipe_size(&write, s);
        }
        let size = fcntl_getpipe_size(&write)?;
        Ok(Pipe {
            read,
            write,
            size,
            held: 0,
        })
    }
}

/// A worker's usage summed: (used, free, bytes spliced out).
pub fn usage() -> (usize, usize, usize) {
    let c = ALL.sum();
    (c[USED], c[FREE], c[SPLICED_OUT])
}

/// A pipe out of the pool, or none when `maxpipes` are all out.
fn take(settings: &Splice) -> Option<Pipe> {
    LOCAL
        .try_with(|l| {
            let spare = l.free.borrow_mut().pop();
            let pipe = match spare {
                Some(p) => {
                    bump(&l.counts[FREE], -1);
                    p
                }
                None => {
                    if PIPES.fetch_add(1, Relaxed) >= settings.maxpipes {
                        PIPES.fetch_sub(1, Relaxed);
                        return None;
                    }
                    match Pipe::open(settings.pipesize) {
                        Ok(p) => p,
                        Err(e) => {
                            PIPES.fetch_sub(1, Relaxed);
                            tracing::debug!("no pipe for splicing: {e}");
                            return None;
                        }
                    }
                }
            };
            bump(&l.counts[USED], 1);
            Some(pipe)
        })
        .ok()
        .flatten()
}

/// Gives a pipe back: kept if it is empty, closed if it still holds
/// bytes of a session that failed (they must not reach the next one).
fn give_back(pipe: Pipe) {
    let kept = LOCAL.try_with(|l| {
        bump(&l.counts[USED], -1);
        let mut free = l.free.borrow_mut();
        if pipe.held == 0 && free.len() < SPARES {
            free.push(pipe);
            bump(&l.counts[FREE], 1);
            true
        } else {
            false
        }
    });
    if kept != Ok(true) {
        PIPES.fetch_sub(1, Relaxed);
    }
}

/// What one turn of the spliced loop did.
pub enum Turn {
    /// Moved this many bytes.
    Moved(usize),
    /// The reader closed: the writer was shut.
    Closed,
    /// The pool had no pipe: copy this turn through a buffer.
    NoPipe,
}

/// Moves what the readable socket `r` has to `w` through a pipe. Called
/// once `r` is readable; the pipe goes back to the pool unless the read
/// filled it (more is likely to follow at once).
pub async fn turn(
    r: &ReadHalf<'_>,
    w: &mut WriteHalf<'_>,
    pipe: &mut PipeSlot,
    settings: &Splice,
    write_timeout: Option<Duration>,
    activity: &Cell<Instant>,
    counters: &Counters<'_>,
) -> Result<Turn, PumpError> {
    if pipe.0.is_none() {
        pipe.0 = take(settings);
    }
    let Some(p) = pipe.0.as_mut() else {
        return Ok(Turn::NoPipe);
    };
    let room = p.size;
    let read = r.as_ref().try_io(Interest::READABLE, || {
        splice(
            r.as_ref(),
            None,
            &p.write,
            None,
            room,
            SpliceFlags::MOVE | SpliceFlags::NONBLOCK,
        )
        .map_err(io::Error::from)
    });
    let n = match read {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            // Stale readiness: nothing came; idle without a pipe.
            pipe.release();
            return Ok(Turn::Moved(0));
        }
        Err(e) => return Err(e.into()),
    };
    if n == 0 {
        pipe.release();
        let _ = w.shutdown().await;
        return Ok(Turn::Closed);
    }
    p.held = n;
    activity.set(Instant::now());
    let drained = drain(p, w);
    match write_timeout {
        None => drained.await?,
        Some(t) => tokio::time::timeout(t, drained)
            .await
            .map_err(|_| PumpError::Timeout)??,
    }
    activity.set(Instant::now());
    for c in counters.sinks {
        c.fetch_add(n as u64, Relaxed);
    }
    let _ = LOCAL.try_with(|l| bump(&l.counts[SPLICED_OUT], n as isize));
    if n < room {
        // A short read drained the socket: the session may now idle.
        pipe.release();
    }
    Ok(Turn::Moved(n))
}

/// Writes everything the pipe holds into `w`.
async fn drain(p: &mut Pipe, w: &WriteHalf<'_>) -> io::Result<()> {
    let sock = w.as_ref();
    while p.held > 0 {
        sock.writable().await?;
        let wrote = sock.try_io(Interest::WRITABLE, || {
            splice(
                &p.read,
                None,
                sock,
                None,
                p.held,
                SpliceFlags::MOVE | SpliceFlags::NONBLOCK,
            )
            .map_err(io::Error::from)
        });
        match wrote {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(m) => p.held -= m.min(p.held),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A session's pipe while it holds one; back to the pool when dropped
/// (or closed, if the session failed with bytes still in it).
pub struct PipeSlot(Option<Pipe>);

impl PipeSlot {
    /// No pipe yet.
    pub const fn none() -> PipeSlot {
        PipeSlot(None)
    }

    fn release(&mut self) {
        if let Some(p) = self.0.take() {
            give_back(p);
        }
    }
}

impl Drop for PipeSlot {
    fn drop(&mut self) {
        self.release();
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let n = self.free.get_mut().len();
        PIPES.fetch_sub(n, Relaxed);
        bump(&self.counts[FREE], -(n as isize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tune.pipesize` is what the kernel gives the pipe (within
    /// pipe-max-size, 1 MiB by default).
    #[test]
    fn a_pipe_gets_the_size_asked() {
        let p = Pipe::open(Some(256 * 1024)).expect("pipe");
        assert_eq!(p.size, 256 * 1024);
        let d = Pipe::open(None).expect("pipe");
        assert!(d.size >= 4096);
    }

    /// `maxpipes` bounds the pipes out of the pool; one given back is
    /// taken again, and a pipe that still holds bytes is closed, not kept.
    #[test]
    fn the_pool_is_bounded_and_never_hands_out_a_pipe_with_bytes() {
        let s = Splice {
            maxpipes: PIPES.load(Relaxed) + 1,
            pipesize: None,
        };
        let a = take(&s).expect("one pipe");
        assert!(take(&s).is_none(), "maxpipes reached");
        give_back(a);
        let mut b = take(&s).expect("the same pipe again");
        b.held = 10;
        let before = PIPES.load(Relaxed);
        give_back(b);
        assert_eq!(
            PIPES.load(Relaxed),
            before - 1,
            "a pipe with bytes is closed"
        );
    }
}
