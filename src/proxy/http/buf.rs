//! A receive buffer: bytes read from a peer and not yet consumed.
//! Its capacity is `tune.bufsize`, which bounds a message head.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

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
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl RecvBuf {
    /// An empty buffer of `capacity` bytes.
    pub fn new(capacity: usize) -> RecvBuf {
        RecvBuf {
            data: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// The unconsumed bytes.
    pub fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// True when no more bytes fit, even after compaction.
    pub fn is_full(&self) -> bool {
        self.end - self.start == self.data.len()
    }

    /// Drops the first `n` unconsumed bytes.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more bytes from `stream`; Ok(0) means the peer closed.
    pub async fn fill(
        &mut self,
        stream: &mut TcpStream,
        timeout: Option<Duration>,
    ) -> Result<usize, ReadError> {
        if self.end == self.data.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.data.len() {
            return Ok(0);
        }
        let read = stream.read(&mut self.data[self.end..]);
        let n = match timeout {
            Some(t) => tokio::time::timeout(t, read)
                .await
                .map_err(|_| ReadError::Timeout)?,
            None => read.await,
        }
        .map_err(ReadError::Io)?;
        self.end += n;
        Ok(n)
    }
}
