//! A receive buffer: bytes read from a peer and not yet consumed. Its
//! capacity is `tune.bufsize`, which bounds a message head.
//!
//! The memory is taken only when bytes arrive and given back with
//! [`RecvBuf::release`] once consumed. An idle keep-alive connection then
//! holds no buffer at all, which is what keeps thousands of idle clients
//! cheap. The bytes are never zeroed first: reads go into spare capacity.

use std::time::Duration;

use crate::proxy::stream::Stream;
use crate::util::buffer::Buffer;

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
    data: Buffer,
    start: usize,
    capacity: usize,
}

impl RecvBuf {
    /// An empty buffer that will hold up to `capacity` bytes.
    pub fn new(capacity: usize) -> RecvBuf {
        RecvBuf {
            data: Buffer::none(),
            start: 0,
            capacity: capacity.max(1),
        }
    }

    /// The unconsumed bytes.
    pub fn filled(&self) -> &[u8] {
        self.data.get(self.start..).unwrap_or_default()
    }

    /// The first `n` unconsumed bytes, or all of them when fewer are
    /// buffered.
    pub fn prefix(&self, n: usize) -> &[u8] {
        let filled = self.filled();
        filled.get(..n).unwrap_or(filled)
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
            self.data.release();
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
            // Readiness may be left over from the last read (which did not
            // read until the socket was empty), so a plain socket is
            // probed first: a buffer is taken only for bytes that came.
            loop {
                stream.readable().await.map_err(ReadError::Io)?;
                match probe(stream, self.capacity) {
                    Probe::Bytes(v) => {
                        self.data = v;
                        return Ok(self.data.len());
                    }
                    Probe::Nothing => continue,
                    Probe::NotPlain => {
                        self.data = Buffer::take(self.capacity);
                        break;
                    }
                    Probe::Failed(e) => return Err(ReadError::Io(e)),
                }
            }
        }
        let room = self.capacity - (self.data.len() - self.start);
        stream
            .read_some(&mut self.data, room)
            .await
            .map_err(ReadError::Io)
    }
}

/// What a look at an idle plain socket found.
enum Probe {
    /// These bytes, in a buffer (empty, without memory: the peer closed).
    Bytes(Buffer),
    /// Nothing yet (the readiness was stale).
    Nothing,
    /// A TLS stream: it may hold decrypted bytes; read it the usual way.
    NotPlain,
    /// The socket failed.
    Failed(std::io::Error),
}

/// Reads what an idle plain socket has into a small array first, and
/// takes a buffer only if something came. Not async: the array is not
/// part of the connection's task.
fn probe(stream: &Stream, capacity: usize) -> Probe {
    let mut small = [0u8; 512];
    match stream.try_read_plain(&mut small) {
        None => Probe::NotPlain,
        Some(Ok(0)) => Probe::Bytes(Buffer::none()),
        Some(Ok(n)) => {
            let mut v = Buffer::take(capacity.max(n));
            v.extend(small.iter().take(n));
            Probe::Bytes(v)
        }
        Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Probe::Nothing,
        Some(Err(e)) => Probe::Failed(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// An idle keep-alive connection whose last read did not drain the
    /// socket keeps a stale readiness: waiting for the next request must
    /// still take no buffer.
    #[test]
    fn waiting_on_an_idle_socket_holds_no_buffer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let mut peer = tokio::net::TcpStream::connect(l.local_addr().expect("addr"))
                .await
                .expect("connect");
            let (s, _) = l.accept().await.expect("accept");
            let mut stream = Stream::from(s);
            let mut buf = RecvBuf::new(16384);
            peer.write_all(b"GET / HTTP/1.1\r\n\r\n")
                .await
                .expect("write");
            let n = buf.fill(&mut stream, None).await.expect("read");
            assert_eq!(n, 18);
            buf.consume(n);
            buf.release();
            // Nothing more comes: the wait times out without a buffer.
            let r = buf.fill(&mut stream, Some(Duration::from_millis(50))).await;
            assert!(matches!(r, Err(ReadError::Timeout)));
            assert_eq!(buf.data.capacity(), 0, "an idle wait took a buffer");
            // Bytes that come are read, in a buffer of the full size.
            peer.write_all(b"GET /next HTTP/1.1\r\n\r\n")
                .await
                .expect("write");
            let n = buf.fill(&mut stream, None).await.expect("read");
            assert_eq!(buf.filled(), b"GET /next HTTP/1.1\r\n\r\n");
            assert_eq!(n, 22);
            assert!(buf.data.capacity() >= 16384);
            // And a close is a 0 without a buffer.
            buf.consume(n);
            buf.release();
            drop(peer);
            assert_eq!(buf.fill(&mut stream, None).await.expect("eof"), 0);
            assert_eq!(buf.data.capacity(), 0);
        });
    }
}
