//! A connection to a client or a server: plain TCP, or TLS over TCP
//! (rustls). Plain connections keep their zero-cost paths (readiness
//! without a buffer while idle); TLS ones go through rustls's buffers.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub use crate::rules::facts::TlsFacts;

/// A client or server connection.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS we terminate (`bind ... ssl`).
    TlsServer(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS to a server (`server ... ssl`).
    TlsClient(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl From<TcpStream> for Stream {
    fn from(s: TcpStream) -> Stream {
        Stream::Plain(s)
    }
}

impl Stream {
    /// The TCP connection under the stream.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::TlsServer(s) => s.get_ref().0,
            Stream::TlsClient(s) => s.get_ref().0,
        }
    }

    /// Whether the peer has visibly closed an idle connection (or, on a
    /// plain one, sent bytes nobody asked for), looked at without reading:
    /// one non-blocking peek. TLS records waiting (a session ticket) are
    /// not a reason to drop a TLS connection.
    pub fn peer_gone(&self) -> bool {
        let (tcp, plain) = match self {
            Stream::Plain(s) => (s, true),
            Stream::TlsServer(s) => (s.get_ref().0, false),
            Stream::TlsClient(s) => (s.get_ref().0, false),
        };
        let mut one = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(tcp).peek(&mut one) {
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            Ok(0) => true,
            Ok(_) => plain,
        }
    }

    /// Whether bytes on this stream are encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Stream::Plain(_))
    }

    /// The TLS facts of a connection we terminated: SNI, protocol, suite.
    pub fn tls_facts(&self) -> Option<TlsFacts> {
        let Stream::TlsServer(s) = self else {
            return None;
        };
        let c = s.get_ref().1;
        Some(TlsFacts {
            sni: c.server_name().map(str::to_string),
            protocol: c.protocol_version().map(crate::tls::version_name),
            cipher: c
                .negotiated_cipher_suite()
                .map(|s| crate::tls::suite_name(s.suite())),
            resumed: c.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
            client_cert: c.peer_certificates().is_some_and(|c| !c.is_empty()),
            client_dn: c
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| crate::tls::subject_dn(c.as_ref())),
        })
    }

    /// Reads into `buf`'s spare capacity (at most `limit` bytes), taking a
    /// plain socket's data as it comes and a TLS stream's decrypted data.
    pub async fn read_some(&mut self, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => loop {
                let room = limit.min(buf.capacity() - buf.len());
                let mut limited = bytes::BufMut::limit(&mut *buf, limit);
                match s.try_read_buf(&mut limited) {
                    Ok(n) => {
                        if n > 0 && n < room {
                            drained(s);
                        }
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.readable().await?,
                    Err(e) => return Err(e),
                }
            },
            other => {
                let mut limited = bytes::BufMut::limit(&mut *buf, limit);
                other.read_buf(&mut limited).await
            }
        }
    }

    /// A non-blocking read of a plain socket (None for TLS, whose bytes
    /// must go through the TLS layer).
    pub fn try_read_plain(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        match self {
            Stream::Plain(s) => {
                let r = s.try_read(buf);
                if let Ok(n) = r {
                    if n > 0 && n < buf.len() {
                        drained(s);
                    }
                }
                Some(r)
            }
            _ => None,
        }
    }

    /// Polls a plain socket's read readiness (without a future to keep);
    /// a TLS stream is always ready, as in [`Stream::readable`].
    pub fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self {
            Stream::Plain(s) => s.poll_read_ready(cx),
            _ => std::task::Poll::Ready(Ok(())),
        }
    }

    /// A plain TCP socket (no TLS).
    pub fn is_plain(&self) -> bool {
        matches!(self, Stream::Plain(_))
    }

    /// Waits until a plain socket is readable; a TLS stream may hold
    /// decrypted bytes already, so it is always "ready" to be read.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.readable().await,
            _ => Ok(()),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::TlsServer(s) => s.is_write_vectored(),
            Stream::TlsClient(s) => s.is_write_vectored(),
        }
    }
}

/// Records that a read took less than it could, so the socket is empty:
/// its readiness is cleared without a system call, and the next wait
/// sleeps until epoll reports new bytes instead of trying a read that
/// would fail with EAGAIN (one wasted recvfrom per request otherwise).
/// Safe with edge-triggered epoll: bytes that arrive later raise a new
/// event, which sets the readiness again.
pub fn drained(s: &tokio::net::TcpStream) {
    let _ = s.try_io(tokio::io::Interest::READABLE, || {
        Err::<(), io::Error>(io::ErrorKind::WouldBlock.into())
    });
}
