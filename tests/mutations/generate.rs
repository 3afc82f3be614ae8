//! The cases: valid requests and the seeded mutations applied to them.

/// Valid requests the mutations start from.
pub const SEEDS: &[&[u8]] = &[
    b"GET /a?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: m\r\nAccept: */*\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n",
    b"GET http://t/abs HTTP/1.1\r\nHost: t\r\nCookie: a=1; b=2\r\n\r\n",
    b"GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n",
    b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nX-B: a, b\r\n\r\n",
];

/// Bytes that parsers disagree on.
const BYTES: &[u8] = b" \t\r\n\0:,;#\x7f\x80\xff0a/?%\"\x0b\x0c";

/// Field lines that change framing, routing or the connection.
const LINES: &[&[u8]] = &[
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip",
    b"Transfer-Encoding: chunked, chunked",
    b"Content-Length: 0",
    b"Content-Length: 3",
    b"Content-Length: 1, 1",
    b"Host: other",
    b"Host:",
    b"Connection: close",
    b"Connection: keep-alive, x-a",
    b"Keep-Alive: timeout=1",
    b" folded",
    b"X-Empty:",
    b"Upgrade: h2c",
];

/// xorshift64*: a small seeded generator, so a failing case can be replayed.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

/// Where each line of `b` starts.
fn line_starts(b: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            b.iter()
                .enumerate()
                .filter(|(_, &c)| c == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i < b.len())
        .collect()
}

/// One mutation of `b`.
pub fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    let at = rng.below(b.len() + 1);
    match rng.below(9) {
        0 => b.insert(at, *rng.pick(BYTES)),
        1 if at < b.len() => {
            b.remove(at);
        }
        2 if at < b.len() => b[at] = *rng.pick(BYTES),
        3 if at < b.len() => {
            // A letter changes case.
            b[at] = if rng.below(2) == 0 {
                b[at].to_ascii_uppercase()
            } else {
                b[at].to_ascii_lowercase()
            };
        }
        4 => {
            // Repeat a line.
            let starts = line_starts(b);
            let s = *rng.pick(&starts);
            let e = b[s..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| s + i + 1);
            let line = b[s..e].to_vec();
            b.splice(s..s, line);
        }
        5 => {
            // Drop a line (not the request line).
            let starts = line_starts(b);
            if starts.len() > 2 {
                let s = starts[1 + rng.below(starts.len() - 2)];
                let e = b[s..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |i| s + i + 1);
                b.drain(s..e);
            }
        }
        6 => {
            // A CRLF becomes a bare LF.
            let crlfs: Vec<usize> = b
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w == b"\r\n")
                .map(|(i, _)| i)
                .collect();
            if !crlfs.is_empty() {
                b.remove(*rng.pick(&crlfs));
            }
        }
        7 => {
            // Add a field line after the request line.
            let starts = line_starts(b);
            let s = starts.get(1).copied().unwrap_or(b.len());
            let mut line = rng.pick(LINES).to_vec();
            line.extend_from_slice(b"\r\n");
            b.splice(s..s, line);
        }
        _ => {
            // A digit changes (sizes, lengths, versions).
            let digits: Vec<usize> = b
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            if !digits.is_empty() {
                let i = *rng.pick(&digits);
                b[i] = b"0123456789abcdef"[rng.below(16)];
            }
        }
    }
}
