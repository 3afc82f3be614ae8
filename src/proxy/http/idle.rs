//! Idle client connections wait without a task: in the worker's lot.
//!
//! A connection's task is sized by the largest state it may be in: the
//! whole exchange, about 2 KB. An idle keep-alive client (long polling,
//! mobile apps, browsers between pages) needs none of it, only its socket,
//! what the session keeps from one request to the next ([`Kept`]), and
//! the wait. So once nothing has come for [`PARK_AFTER`], the connection
//! leaves tokio's reactor and its task ends: the socket goes into the
//! worker's own epoll set, its record into a slab, its deadline into an
//! ordered set, and one task per worker watches them all. When bytes
//! come (or the peer closes), or the wait's time is up, a new full task
//! takes the connection back and the read goes on where it was (the same
//! wait, the same deadline).
//!
//! A parked connection then costs its record in the slab, not a task
//! (header, future, timer) nor tokio's registration (a cache-padded
//! 256-byte slot per socket). Moving between the two costs four
//! `epoll_ctl` calls, paid only by connections that stayed quiet for
//! [`PARK_AFTER`]. Where the lot cannot take a connection (no epoll set,
//! a failed call), it waits in a small task instead, as before the lot.
//!
//! Only plain sockets park: a TLS stream may hold decrypted bytes that
//! readiness does not show.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use rustix::event::epoll;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;
use tracing::Instrument;

use super::{Client, Kept};
use crate::proxy::stream::Stream;

/// How long a connection waits in its full task before it parks: short
/// enough that idle clients cost little, long enough that a busy
/// keep-alive client (the next request within milliseconds) never pays
/// the two moves.
pub const PARK_AFTER: Duration = Duration::from_millis(250);

/// Events taken from the lot's epoll set per wake-up.
const EVENTS_PER_WAKE: usize = 256;

/// Moves `c` out of its task until its next bytes or its deadline.
pub(super) fn park(c: Client) {
    let Client { stream, kept } = c;
    let c = match stream {
        Stream::Plain(tcp) => match Lot::current() {
            Some(lot) => match lot.admit(tcp, kept) {
                Admission::Parked => return,
                Admission::Refused(c) => c,
            },
            None => Client {
                stream: Stream::Plain(tcp),
                kept,
            },
        },
        stream => Client { stream, kept },
    };
    tokio::task::spawn_local(wait(c));
}

/// A connection back from its wait goes on in a full task.
fn resume(c: Client) {
    let span =
        tracing::debug_span!("session", frontend = %c.kept.frontend, client = %c.kept.origin.peer);
    tokio::task::spawn_local(super::serve(c).instrument(span));
}

/// A parked connection: its socket, out of tokio's reactor, and the rest.
struct Parked {
    sock: std::net::TcpStream,
    kept: Kept,
}

impl Parked {
    fn until(&self) -> Option<Instant> {
        self.kept.waiting.and_then(|w| w.until)
    }
}

/// What became of a connection offered to the lot.
// Returned once and matched at once, never stored: boxing the refused
// connection would allocate on the path that exists to save memory.
#[allow(clippy::large_enum_variant)]
enum Admission {
    /// In the lot (or lost on the way: its socket failed, and it is closed).
    Parked,
    /// Not taken: it waits in a task instead.
    Refused(Client),
}

/// One worker's parked connections.
struct Lot {
    /// The epoll set the parked sockets are in, itself watched by tokio.
    epoll: AsyncFd<OwnedFd>,
    /// Keyed by the number their epoll event carries.
    parked: RefCell<slab::Slab<Parked>>,
    /// (deadline, key), earliest first.
    deadlines: RefCell<BTreeSet<(Instant, usize)>>,
    /// Told when a deadline earlier than all others came in, so that the
    /// watch sleeps less.
    earlier: tokio::sync::Notify,
}

thread_local! {
    /// The lot of the worker running on this thread; made on first use.
    static LOT: RefCell<Option<Rc<Lot>>> = const { RefCell::new(None) };
}

impl Lot {
    /// This worker's lot, made (with its watch task) on first use; None
    /// when no epoll set could be had.
    fn current() -> Option<Rc<Lot>> {
        LOT.with(|cell| {
            if let Some(lot) = cell.borrow().as_ref() {
                return Some(lot.clone());
            }
            let made = epoll::create(epoll::CreateFlags::CLOEXEC)
                .map_err(std::io::Error::from)
                .and_then(watched);
            let epoll = match made {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %e, "idle connections wait in tasks: no epoll set for them");
                    return None;
                }
            };
            let lot = Rc::new(Lot {
                epoll,
                parked: RefCell::new(slab::Slab::new()),
                deadlines: RefCell::new(BTreeSet::new()),
                earlier: tokio::sync::Notify::new(),
            });
            tokio::task::spawn_local(watch(lot.clone()));
            *cell.borrow_mut() = Some(lot.clone());
            Some(lot)
        })
    }

    /// Takes the connection out of tokio's reactor and into the lot; gives
    /// it back whole when that fails.
    fn admit(&self, tcp: tokio::net::TcpStream, kept: Kept) -> Admission {
        let sock = match tcp.into_std() {
            Ok(s) => s,
            // The socket is gone with the error; so is the connection.
            Err(e) => {
                tracing::debug!(error = %e, "idle connection lost while parking");
                return Admission::Parked;
            }
        };
        let mut parked = self.parked.borrow_mut();
        let entry = parked.vacant_entry();
        let key = entry.key();
        let flags = epoll::EventFlags::IN | epoll::EventFlags::RDHUP;
        if let Err(e) = epoll::add(
            self.epoll.get_ref(),
            &sock,
            epoll::EventData::new_u64(key as u64),
            flags,
        ) {
            tracing::debug!(error = %e, "idle connection waits in a task: epoll_ctl failed");
            return match tokio::net::TcpStream::from_std(sock) {
                Ok(tcp) => Admission::Refused(Client {
                    stream: Stream::Plain(tcp),
                    kept,
                }),
                Err(_) => Admission::Parked,
            };
        }
        let p = entry.insert(Parked { sock, kept });
        if let Some(until) = p.until() {
            let mut deadlines = self.deadlines.borrow_mut();
            let first = deadlines.first().is_none_or(|&(t, _)| until < t);
            deadlines.insert((until, key));
            if first {
                self.earlier.notify_one();
            }
        }
        Admission::Parked
    }

    /// Gives the connection under `key` back to a full task.
    fn release(&self, key: usize) {
        let Some(p) = self.parked.borrow_mut().try_remove(key) else {
            return;
        };
        if let Some(until) = p.until() {
            self.deadlines.borrow_mut().remove(&(until, key));
        }
        let _ = epoll::delete(self.epoll.get_ref(), &p.sock);
        match tokio::net::TcpStream::from_std(p.sock) {
            Ok(tcp) => resume(Client {
                stream: Stream::Plain(tcp),
                kept: p.kept,
            }),
            // Closed here: its session's slots and counts go with `kept`.
            Err(e) => tracing::debug!(error = %e, "idle connection lost: no reactor slot"),
        }
    }

    /// Releases every connection whose deadline has come.
    fn release_due(&self, now: Instant) {
        loop {
            let due = {
                let mut deadlines = self.deadlines.borrow_mut();
                match deadlines.first() {
                    Some(&(t, key)) if t <= now => {
                        deadlines.pop_first();
                        key
                    }
                    _ => return,
                }
            };
            self.release(due);
        }
    }

    /// Releases the connections the epoll set reports (readable, or
    /// closed by their peer); says whether there may be more.
    fn release_ready(&self, events: &mut Vec<epoll::Event>) -> std::io::Result<bool> {
        events.clear();
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        epoll::wait(
            self.epoll.get_ref(),
            rustix::buffer::spare_capacity(events),
            Some(&zero),
        )?;
        let full = events.len() == events.capacity();
        for ev in events.iter() {
            // Read by value: the event record is packed.
            let data = ev.data;
            self.release(data.u64() as usize);
        }
        Ok(full)
    }
}

/// The watch over one worker's lot: readiness from its epoll set, and the
/// earliest deadline. When the worker's tasks end (its runtime stops), so
/// does the lot: its connections close as their tasks would have.
async fn watch(l: Rc<Lot>) {
    let _closing = Closing;
    let mut events = Vec::with_capacity(EVENTS_PER_WAKE);
    loop {
        let next = l.deadlines.borrow().first().map(|&(t, _)| t);
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            r = l.epoll.readable() => {
                let mut guard = match r {
                    Ok(g) => g,
                    Err(e) => {
                        tracing::error!(error = %e, "the idle connections' epoll set failed");
                        return;
                    }
                };
                match l.release_ready(&mut events) {
                    Ok(true) => {}
                    Ok(false) => guard.clear_ready(),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::error!(error = %e, "the idle connections' epoll set failed");
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(next.unwrap_or(far)) => l.release_due(Instant::now()),
            _ = l.earlier.notified() => {}
        }
    }
}

/// The epoll set, watched by tokio's reactor for readability.
///
/// tokio deprecates the safe constructor because a type's `AsRawFd` may
/// name a descriptor that changes or closes while registered. An
/// `OwnedFd` moved into the `AsyncFd` cannot: it is the I/O-safety
/// condition the `unsafe` replacement asks for, met by the type, and the
/// crate forbids `unsafe`.
#[allow(deprecated)]
fn watched(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    AsyncFd::with_interest(fd, tokio::io::Interest::READABLE)
}

/// Drops the thread's lot when its watch ends.
struct Closing;

impl Drop for Closing {
    fn drop(&mut self) {
        // During the thread's own exit the slot may be gone already.
        let lot = LOT.try_with(|cell| cell.borrow_mut().take()).ok().flatten();
        drop(lot);
    }
}

/// The wait in a small task, where the lot cannot take the connection:
/// the connection, and a wait on its socket's readiness (no future stored
/// for it, only the deadline's timer). Written as a block rather than an
/// `async fn`, whose argument the compiler would keep twice in the task.
#[allow(clippy::manual_async_fn)] // see above: an async fn would hold its argument twice
fn wait(c: Client) -> impl std::future::Future<Output = ()> {
    async move {
        {
            let ready = std::future::poll_fn(|cx| c.stream.poll_read_ready(cx));
            match c.kept.waiting.and_then(|w| w.until) {
                Some(until) => {
                    let _ = tokio::time::timeout_at(until, ready).await;
                }
                None => {
                    let _ = ready.await;
                }
            }
        }
        resume(c);
    }
}
