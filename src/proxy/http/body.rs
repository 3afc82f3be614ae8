//! Message bodies, streamed by their framing and never held whole: at most
//! one buffer of a body is in memory at a time. Chunked bodies are checked
//! as they pass (sizes, CRLFs, trailers) and forwarded byte for byte.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::proxy::stream::Stream;
use tokio::io::AsyncWriteExt;

use super::buf::{ReadError, RecvBuf};
use super::head::BodyKind;

/// Why a body could not be passed on.
#[derive(Debug)]
pub enum BodyError {
    /// The sender stopped sending before the end (or timed out).
    Read(ReadError),
    /// The sender closed before the end of the body.
    Truncated,
    /// The chunked framing is invalid.
    Malformed,
    /// The receiver could not take the bytes.
    Write(std::io::Error),
    /// The receiver did not take the bytes in time.
    WriteTimeout,
}

/// Where a body goes and how long each step may take.
pub struct Flow<'a> {
    /// Read timeout on the sender.
    pub read_timeout: Option<Duration>,
    /// Write timeout on the receiver.
    pub write_timeout: Option<Duration>,
    /// Counters of bytes moved.
    pub counters: [&'a AtomicU64; 3],
    /// Splicing settings, None under `nosplice`.
    pub splice: Option<crate::runtime::Splice>,
}

/// Bodies (or what is left of them) shorter than this are copied: a
/// splice costs the same two system calls as a read and a write, plus a
/// pipe out of the pool and back.
const SPLICE_MIN: u64 = 16 * 1024;

/// What splicing a body's remainder did.
enum Spliced {
    /// Both sides must be plain sockets, and the pool must have a pipe.
    NotPossible,
    /// This many bytes went through; the rest (if any) is copied.
    Moved(u64),
    /// The sender closed.
    Closed,
}

/// Splices up to `max` bytes of a body from `src` to `dst`, the socket to
/// socket path for bodies nobody needs to read (see proxy::splice).
async fn splice_body(
    src: &Stream,
    dst: &Stream,
    settings: &crate::runtime::Splice,
    max: u64,
    flow: &Flow<'_>,
) -> Result<Spliced, BodyError> {
    use crate::proxy::splice::{move_once, PipeSlot, SpliceError, Turn};
    let (Stream::Plain(s), Stream::Plain(d)) = (src, dst) else {
        return Ok(Spliced::NotPossible);
    };
    let mut pipe = PipeSlot::none();
    let mut moved = 0u64;
    while moved < max {
        let ready = s.readable();
        match flow.read_timeout {
            Some(t) => tokio::time::timeout(t, ready)
                .await
                .map_err(|_| BodyError::Read(ReadError::Timeout))?,
            None => ready.await,
        }
        .map_err(|e| BodyError::Read(ReadError::Io(e)))?;
        let want = usize::try_from(max - moved).unwrap_or(usize::MAX);
        match move_once(s, d, &mut pipe, settings, want, flow.write_timeout).await {
            Ok(Turn::Moved(n)) => {
                moved += n as u64;
                for c in flow.counters {
                    c.fetch_add(n as u64, Relaxed);
                }
            }
            Ok(Turn::Closed) => return Ok(Spliced::Closed),
            Ok(Turn::NoPipe) if moved == 0 => return Ok(Spliced::NotPossible),
            Ok(Turn::NoPipe) => break,
            Err(SpliceError::Read(e)) => return Err(BodyError::Read(ReadError::Io(e))),
            Err(SpliceError::Write(e)) => return Err(BodyError::Write(e)),
            Err(SpliceError::WriteTimeout) => return Err(BodyError::WriteTimeout),
        }
    }
    Ok(Spliced::Moved(moved))
}

async fn write(dst: &mut Stream, bytes: &[u8], flow: &Flow<'_>) -> Result<(), BodyError> {
    let w = dst.write_all(bytes);
    match flow.write_timeout {
        Some(t) => tokio::time::timeout(t, w)
            .await
            .map_err(|_| BodyError::WriteTimeout)?,
        None => w.await,
    }
    .map_err(BodyError::Write)?;
    for c in flow.counters {
        c.fetch_add(bytes.len() as u64, Relaxed);
    }
    Ok(())
}

async fn more(src: &mut Stream, buf: &mut RecvBuf, flow: &Flow<'_>) -> Result<(), BodyError> {
    match buf.fill(src, flow.read_timeout).await {
        Ok(0) => Err(BodyError::Truncated),
        Ok(_) => Ok(()),
        Err(e) => Err(BodyError::Read(e)),
    }
}

/// Copies one body of framing `kind` from `src` (after what `buf` holds) to `dst`.
/// Bytes after the body stay in `buf` (a pipelined next message).
pub async fn copy(
    kind: BodyKind,
    src: &mut Stream,
    buf: &mut RecvBuf,
    dst: &mut Stream,
    flow: &Flow<'_>,
) -> Result<(), BodyError> {
    match kind {
        BodyKind::None => Ok(()),
        BodyKind::Length(mut left) => {
            let mut may_splice = flow.splice.is_some();
            while left > 0 {
                if buf.is_empty() && may_splice && left >= SPLICE_MIN {
                    if let Some(settings) = &flow.splice {
                        match splice_body(src, dst, settings, left, flow).await? {
                            Spliced::Moved(n) => left -= n.min(left),
                            Spliced::Closed => return Err(BodyError::Truncated),
                            Spliced::NotPossible => may_splice = false,
                        }
                        continue;
                    }
                }
                if buf.is_empty() {
                    more(src, buf, flow).await?;
                }
                let part = buf.prefix(usize::try_from(left).unwrap_or(usize::MAX));
                let n = part.len();
                write(dst, part, flow).await?;
                buf.consume(n);
                left -= n as u64;
            }
            Ok(())
        }
        BodyKind::UntilClose => loop {
            if !buf.is_empty() {
                let n = buf.filled().len();
                write(dst, buf.filled(), flow).await?;
                buf.consume(n);
            }
            if let Some(settings) = &flow.splice {
                match splice_body(src, dst, settings, u64::MAX, flow).await? {
                    Spliced::Closed => return Ok(()),
                    Spliced::Moved(_) | Spliced::NotPossible => {}
                }
            }
            match buf.fill(src, flow.read_timeout).await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(BodyError::Read(e)),
            }
        },
        BodyKind::Chunked => chunked(src, buf, dst, flow).await,
    }
}

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, Copy)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

/// Parses a chunk-size line (without its CRLF): hex size, then extensions.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return None;
    }
    let (size, rest) = line.split_at_checked(digits)?;
    let ext_ok = rest.is_empty() || rest.trim_ascii_start().first().is_some_and(|&b| b == b';');
    if !ext_ok || rest.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(size).ok()?, 16).ok()
}

/// Whether a trailer line is a field line (RFC 9112 7.1.2, 5): a token,
/// a colon, then a value of visible characters, spaces, tabs and
/// obs-text. Trailers are forwarded as they are, so one the server would
/// split differently must not pass.
fn trailer_fits(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let (name, value) = line.split_at(colon);
    let tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    !name.is_empty()
        && name.iter().all(tchar)
        && value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// What the chunked decoder made of some bytes (see [`chunked_length`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkedFraming {
    /// A whole body took this many bytes.
    Complete(usize),
    /// The bytes end before the body does.
    Incomplete,
    /// The framing is invalid.
    Malformed,
}

/// Runs the chunked decoder over `data` as [`chunked`] runs it over a
/// socket that delivers `step` bytes per read. (The fuzz target's entry.)
pub fn chunked_length(data: &[u8], step: usize) -> ChunkedFraming {
    let step = step.max(1);
    let (mut state, mut done, mut seen) = (State::Size, 0, 0);
    loop {
        seen = (seen + step).min(data.len());
        // `done` never passes `seen`: advance consumes only what it is given.
        let Some(Ok((n, next))) = data.get(done..seen).map(|part| advance(state, part)) else {
            return ChunkedFraming::Malformed;
        };
        done += n;
        state = next;
        if matches!(state, State::Done) {
            return ChunkedFraming::Complete(done);
        }
        if seen == data.len() {
            return ChunkedFraming::Incomplete;
        }
    }
}

/// How far the bytes in `data` can be forwarded from `state`, and the new state.
/// Returns Err on malformed framing.
fn advance(mut state: State, data: &[u8]) -> Result<(usize, State), ()> {
    let mut pos = 0;
    loop {
        // `pos` only moves over bytes of `data` already looked at.
        let Some(rest) = data.get(pos..) else {
            return Err(());
        };
        match state {
            State::Done => return Ok((pos, state)),
            State::Size | State::Trailer => {
                let Some((line, _)) = rest
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .and_then(|eol| rest.split_at_checked(eol))
                else {
                    if rest.len() > MAX_LINE || rest.contains(&b'\n') {
                        return Err(());
                    }
                    return Ok((pos, state));
                };
                if line.len() > MAX_LINE || line.contains(&b'\n') || line.contains(&b'\r') {
                    return Err(());
                }
                pos += line.len() + 2;
                state = match state {
                    State::Size => match chunk_size(line).ok_or(())? {
                        0 => State::Trailer,
                        n => State::Data(n),
                    },
                    _ if line.is_empty() => State::Done,
                    _ if trailer_fits(line) => State::Trailer,
                    _ => return Err(()),
                };
            }
            State::Data(left) => {
                if rest.is_empty() {
                    return Ok((pos, state));
                }
                let n = (rest.len() as u64).min(left) as usize;
                pos += n;
                state = if left == n as u64 {
                    State::DataEnd
                } else {
                    State::Data(left - n as u64)
                };
            }
            State::DataEnd => match rest {
                [b'\r', b'\n', ..] => {
                    pos += 2;
                    state = State::Size;
                }
                // The CRLF may still come.
                [] | [b'\r'] => return Ok((pos, state)),
                _ => return Err(()),
            },
        }
    }
}

async fn chunked(
    src: &mut Stream,
    buf: &mut RecvBuf,
    dst: &mut Stream,
    flow: &Flow<'_>,
) -> Result<(), BodyError> {
    let mut state = State::Size;
    loop {
        let (n, next) = advance(state, buf.filled()).map_err(|_| BodyError::Malformed)?;
        if n > 0 {
            write(dst, buf.prefix(n), flow).await?;
            buf.consume(n);
        }
        state = next;
        if matches!(state, State::Done) {
            return Ok(());
        }
        if buf.is_full() {
            return Err(BodyError::Malformed);
        }
        more(src, buf, flow).await?;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> Result<(usize, bool), ()> {
        let (n, st) = advance(State::Size, data)?;
        Ok((n, matches!(st, State::Done)))
    }

    #[test]
    fn chunked_framing() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nGET /next";
        assert_eq!(run(body), Ok((body.len() - 9, true)));
        let with_trailer = b"1\r\na\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(run(with_trailer), Ok((with_trailer.len(), true)));
        // Partial input stops at what is known to be valid.
        assert_eq!(run(b"5\r\nhel"), Ok((6, false)));
        assert_eq!(run(b"5\r"), Ok((0, false)));
    }

    proptest::proptest! {
        #[test]
        fn chunked_framing_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            for st in [State::Size, State::Data(3), State::DataEnd, State::Trailer] {
                if let Ok((n, _)) = advance(st, &data) {
                    proptest::prop_assert!(n <= data.len());
                }
            }
        }
    }

    #[test]
    fn chunked_refusals() {
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello\r\n",
            b"5\r\nhelloXX",
            b"11111111111111111\r\n",
            b"5 junk\r\n",
            b"-5\r\n",
        ] {
            assert!(run(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
