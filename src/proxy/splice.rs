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
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::tcp::{Counters, PumpError};
use crate::runtime::Splice;
use crate::util::worker_counts::{bump, Counts, Registry};

/// Pipes that exist in the process (used + free): `maxpipes` bounds it.
/// Written only when a pipe is made or closed, never per transfer.
static PIPES: AtomicUsize = AtomicUsize::new(0);

// A worker's counters, by index. They index the array itself
// (`(*l.counts)[USED]`, not the Arc), where the compiler checks a constant
// index against the array's length.
const USED: usize = 0; // pipes held by sessions
const SPLICED_OUT: usize = 1; // bytes written to a socket from a pipe

static ALL: Registry<2> = Registry::new();

/// Free pipes kept per worker.
const SPARES: usize = 64;

struct Local {
    free: RefCell<Vec<Pipe>>,
    counts: Arc<Counts<2>>,
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

/// The process's pipes: (used, free, bytes spliced out). Free is taken
/// as the pipes that exist less those in use, so that the two always add
/// up to a number `maxpipes` bounds, even when read while a worker moves
/// a pipe from one to the other.
pub fn usage() -> (usize, usize, usize) {
    let c = ALL.sum();
    let exist = PIPES.load(Relaxed);
    let used = c[USED].min(exist);
    (used, exist - used, c[SPLICED_OUT])
}

/// A pipe out of the pool, or none when `maxpipes` are all out.
fn take(settings: &Splice) -> Option<Pipe> {
    LOCAL
        .try_with(|l| {
            let spare = l.free.borrow_mut().pop();
            let pipe = match spare {
                Some(p) => p,
                None => {
                    // Reserve only below the limit: an add-then-undo would
                    // let `usage` see one pipe more than maxpipes meanwhile.
                    let below = |n: usize| (n < settings.maxpipes).then_some(n + 1);
                    if PIPES.fetch_update(Relaxed, Relaxed, below).is_err() {
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
            bump(&(*l.counts)[USED], 1);
            Some(pipe)
        })
        .ok()
        .flatten()
}

/// Gives a pipe back: kept if it is empty, closed if it still holds
/// bytes of a session that failed (they must not reach the next one).
fn give_back(pipe: Pipe) {
    let kept = LOCAL.try_with(|l| {
        bump(&(*l.counts)[USED], -1);
        let mut free = l.free.borrow_mut();
        if pipe.held == 0 && free.len() < SPARES {
            free.push(pipe);
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
    /// Moved this many bytes (0: the readiness was stale, nothing came).
    Moved(usize),
    /// The reader closed.
    Closed,
    /// The pool had no pipe: copy this turn through a buffer.
    NoPipe,
}

/// Which side a splice failed on: the data path's error says whose fault
/// it was (termination flags, status).
#[derive(Debug)]
pub enum SpliceError {
    /// Reading from the sender failed.
    Read(io::Error),
    /// Writing to the receiver failed.
    Write(io::Error),
    /// The receiver did not take the bytes within the write timeout.
    WriteTimeout,
}

impl From<SpliceError> for PumpError {
    fn from(e: SpliceError) -> PumpError {
        match e {
            SpliceError::Read(e) | SpliceError::Write(e) => PumpError::Io(e),
            SpliceError::WriteTimeout => PumpError::Timeout,
        }
    }
}

/// Moves up to `max` bytes that the readable socket `src` has to `dst`
/// through a pipe, and waits until they are all written. Called once
/// `src` is readable; the pipe goes back to the pool unless the read
/// filled it (more is likely to follow at once). Never reads more than
/// `max`: bytes past a message's body stay in the socket.
pub async fn move_once(
    src: &TcpStream,
    dst: &TcpStream,
    pipe: &mut PipeSlot,
    settings: &Splice,
    max: usize,
    write_timeout: Option<Duration>,
) -> Result<Turn, SpliceError> {
    if pipe.0.is_none() {
        pipe.0 = take(settings);
    }
    let Some(p) = pipe.0.as_mut() else {
        return Ok(Turn::NoPipe);
    };
    let room = p.size.min(max);
    let read = src.try_io(Interest::READABLE, || {
        splice(
            src,
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
        Err(e) => return Err(SpliceError::Read(e)),
    };
    if n == 0 {
        pipe.release();
        return Ok(Turn::Closed);
    }
    p.held = n;
    let drained = drain(p, dst);
    match write_timeout {
        None => drained.await.map_err(SpliceError::Write)?,
        Some(t) => tokio::time::timeout(t, drained)
            .await
            .map_err(|_| SpliceError::WriteTimeout)?
            .map_err(SpliceError::Write)?,
    }
    let _ = LOCAL.try_with(|l| bump(&(*l.counts)[SPLICED_OUT], n as isize));
    if n < room {
        // Most likely the socket is drained: it may now idle without a
        // pipe. (Its readiness is left as it is: a splice can stop short
        // of the pipe's size with bytes still queued, when the pipe runs
        // out of slots for small segments.)
        pipe.release();
    }
    Ok(Turn::Moved(n))
}

/// One turn of a `mode tcp` direction: [`move_once`] with the session's
/// activity clock and counters, and the half-close passed on.
pub async fn turn(
    r: &ReadHalf<'_>,
    w: &mut WriteHalf<'_>,
    pipe: &mut PipeSlot,
    settings: &Splice,
    write_timeout: Option<Duration>,
    activity: &Cell<Instant>,
    counters: &Counters<'_>,
) -> Result<Turn, PumpError> {
    let t = move_once(
        r.as_ref(),
        w.as_ref(),
        pipe,
        settings,
        usize::MAX,
        write_timeout,
    )
    .await?;
    match t {
        Turn::Closed => {
            let _ = w.shutdown().await;
        }
        Turn::Moved(n) if n > 0 => {
            activity.set(Instant::now());
            for c in counters.sinks {
                c.fetch_add(n as u64, Relaxed);
            }
        }
        _ => {}
    }
    Ok(t)
}

/// Writes everything the pipe holds into `sock`.
async fn drain(p: &mut Pipe, sock: &TcpStream) -> io::Result<()> {
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
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
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
