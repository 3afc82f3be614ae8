//! Idle client connections wait in a small task of their own.
//!
//! A connection's task is sized by the largest state it may be in: the
//! whole exchange, about 2 KB. An idle keep-alive client (long polling,
//! mobile apps, browsers between pages) needs none of it, only its socket,
//! what the session keeps from one request to the next, and the wait. So
//! once nothing has come for [`PARK_AFTER`], the connection moves to a
//! task that holds just that, and the large one ends. When bytes come, or
//! the wait's time is up, a new full task takes the connection back, and
//! the read goes on where it was (the same wait, the same deadline).
//!
//! Only plain sockets park: a TLS stream may hold decrypted bytes that
//! readiness does not show.

use std::time::Duration;

use tracing::Instrument;

use super::Client;

/// How long a connection waits in its full task before it parks: short
/// enough that idle clients cost little, long enough that a busy
/// keep-alive client (the next request within milliseconds) never pays
/// the two task switches.
pub const PARK_AFTER: Duration = Duration::from_millis(250);

/// Moves `c` to a small task that waits for its next bytes.
pub(super) fn park(c: Client) {
    tokio::task::spawn_local(wait(c));
}

/// The parked task: the connection, and a wait on its socket's readiness
/// (no future stored for it, only the deadline's timer). Written as a
/// block rather than an `async fn`, whose argument the compiler would
/// keep twice in the task.
#[allow(clippy::manual_async_fn)] // see above: an async fn would hold its argument twice
fn wait(c: Client) -> impl std::future::Future<Output = ()> {
    async move {
        {
            let ready = std::future::poll_fn(|cx| c.stream.poll_read_ready(cx));
            match c.waiting.and_then(|w| w.until) {
                Some(until) => {
                    let _ = tokio::time::timeout_at(until, ready).await;
                }
                None => {
                    let _ = ready.await;
                }
            }
        }
        let span = tracing::debug_span!("session", frontend = %c.frontend, client = %c.origin.peer);
        tokio::task::spawn_local(super::serve(c).instrument(span));
    }
}
