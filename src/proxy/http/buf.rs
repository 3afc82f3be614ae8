//! A receive buffer: bytes read from a peer and not yet consumed. Its
//! capacity is `tune.bufsize`, which bounds a message head.
//!
//! The memory is taken only when bytes arrive and given back with
//! [`RecvBuf::release`] once consumed. An idle keep-alive connection then
//! holds no buffer at all, which is what keeps thousands of idle clients
//! cheap. The bytes are never zeroed first: reads go into spare capacity.

use std::cell::RefCell;
use std::time::Duration;

use crate::proxy::stream::Stream;

/// Spare buffers kept per worker.
const SPARES: usize = 64;

thread_local! {
    // Buffers are recycled per worker thread (no lock: a worker is one
    // thread). Reusing them keeps the heap from interleaving short-lived
    // 16 KiB blocks with long-lived small ones, which would fragment it.
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn take_spare(capacity: usize) -> Vec<u8> {
    SPARE
        .with(|s| s.borrow_mut().pop())
        .filter(|v| v.capacity() >= capacity)
        .unwrap_or_else(|| Vec::with_capacity(capacity))
}

fn give_back(mut v: Vec<u8>) {
    if v.capacity() == 0 {
        return;
    }
    v.clear();
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < SPARES {
            s.push(v);
        }
    });
}

/// Why a read did not deliver bytes.
#[derive(Debug)]
pub enum ReadError {
    /// The peer did not send in time.
    Timeout,
    /// The connection failed.
    Io(std::io::Error),
}

/// Bytes received and not yet consumed.
#[derive(Debug)]
pub struct RecvBuf {
    /// `data[start..]` is unconsumed; `data.len()` is the end.
    data: Vec<u8>,
    start: usize,
    capacity: usize,
}

impl RecvBuf {
    /// An empty buffer that will hold up to `capacity` bytes.
    pub fn new(capacity: usize) -> RecvBuf {
        RecvBuf {
            data: Vec::new(),
            start: 0,
            capacity: capacity.max(1),
        }
    }

    /// The unconsumed bytes.
    pub fn filled(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.start == self.data.len()
    }

    /// True when no more bytes fit, even after compaction.
    pub fn is_full(&self) -> bool {
        self.data.len() - self.start >= self.capacity
    }

    /// Drops the first `n` unconsumed bytes.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
        if self.start == self.data.len() {
            self.start = 0;
            self.data.clear();
        }
    }

    /// Gives the memory back when nothing is buffered (before idling).
    pub fn release(&mut self) {
        if self.is_empty() {
            give_back(std::mem::take(&mut self.data));
            self.start = 0;
        }
    }

    /// Reads more bytes from `stream`; Ok(0) means the peer closed (or the
    /// buffer is full).
    pub async fn fill(
        &mut self,
        stream: &mut Stream,
        timeout: Option<Duration>,
    ) -> Result<usize, ReadError> {
        match timeout {
            Some(t) => tokio::time::timeout(t, self.fill_inner(stream))
                .await
                .map_err(|_| ReadError::Timeout)?,
            None => self.fill_inner(stream).await,
        }
    }

    async fn fill_inner(&mut self, stream: &mut Stream) -> Result<usize, ReadError> {
        // Keep the unconsumed bytes at the front, so that the Vec never
        // needs to grow past the capacity reserved for it.
        if self.start > 0 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        if self.data.len() - self.start >= self.capacity {
            return Ok(0);
        }
        if self.data.capacity() == 0 {
            // Idle: hold no memory until the peer has something to say.
            stream.readable().await.map_err(ReadError::Io)?;
            self.data = take_spare(self.capacity);
        }
        let room = self.capacity - (self.data.len() - self.start);
        stream
            .read_some(&mut self.data, room)
            .await
            .map_err(ReadError::Io)
    }
}

impl Drop for RecvBuf {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.data));
    }
}
