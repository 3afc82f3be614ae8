//! HAProxy's peers protocol (version 2.1, as HAProxy 2.6 speaks it), the
//! bytes only: the hello and status lines, and the binary messages that
//! follow. Decoding never trusts a length: a message that does not add up
//! is an error, never a panic.
//!
//! A message is a class byte and a type byte; types of 128 and above carry
//! a varint length and that many bytes. Integers inside are HAProxy's
//! varints: below 240 one byte, else the low 4 bits in a first byte of
//! 0xF0 and up, then 7 bits per byte while the top bit is set.

use std::fmt;

/// The protocol name and the version sent in a hello.
pub const HELLO_PROTO: &str = "HAProxyS";
/// Major version spoken.
pub const MAJOR: u32 = 2;
/// Highest minor version understood.
pub const MINOR: u32 = 1;

/// The most bytes one message may carry: HAProxy's peers run on buffers of
/// `tune.bufsize`; a bigger message is a protocol error.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// Status codes of the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200: the session is open.
    Success,
    /// 300: try again later.
    TryAgain,
    /// 501: protocol error.
    Protocol,
    /// 502: bad version.
    Version,
    /// 503: we are not the peer the sender asked for.
    WrongHost,
    /// 504: the sender's name is no peer of ours.
    UnknownPeer,
}

impl Status {
    /// The code on the wire.
    pub fn code(self) -> u16 {
        match self {
            Status::Success => 200,
            Status::TryAgain => 300,
            Status::Protocol => 501,
            Status::Version => 502,
            Status::WrongHost => 503,
            Status::UnknownPeer => 504,
        }
    }

    /// The status of a code read from a peer.
    pub fn from_code(c: u16) -> Option<Status> {
        Some(match c {
            200 => Status::Success,
            300 => Status::TryAgain,
            501 => Status::Protocol,
            502 => Status::Version,
            503 => Status::WrongHost,
            504 => Status::UnknownPeer,
            _ => return None,
        })
    }
}

/// The three lines a connecting peer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The name of the peer it wants to reach (ours, if right).
    pub to: String,
    /// Its own name.
    pub from: String,
}

impl Hello {
    /// The lines to send.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{HELLO_PROTO} {MAJOR}.{MINOR}\n{}\n{} {} 1\n",
            self.to,
            self.from,
            std::process::id()
        )
        .into_bytes()
    }

    /// Reads the three lines; `Err` says which status to answer.
    pub fn decode(lines: &[&str]) -> Result<Hello, Status> {
        let [version, to, from] = lines else {
            return Err(Status::Protocol);
        };
        let v = version
            .strip_prefix(HELLO_PROTO)
            .and_then(|v| v.strip_prefix(' '))
            .ok_or(Status::Protocol)?;
        let (maj, min) = v.split_once('.').ok_or(Status::Version)?;
        let ok = maj.parse::<u32>() == Ok(MAJOR) && min.parse::<u32>().is_ok_and(|m| m <= MINOR);
        if !ok {
            return Err(Status::Version);
        }
        let from = from.split(' ').next().unwrap_or_default();
        if to.is_empty() || from.is_empty() {
            return Err(Status::Protocol);
        }
        Ok(Hello {
            to: to.to_string(),
            from: from.to_string(),
        })
    }
}

/// Appends `v` as a varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    if v < 240 {
        out.push(v as u8);
        return;
    }
    out.push((v as u8) | 0xF0);
    v = (v - 240) >> 4;
    while v >= 128 {
        out.push((v as u8) | 0x80);
        v = (v - 128) >> 7;
    }
    out.push(v as u8);
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A field runs past the end of its message.
    #[error("truncated message")]
    Truncated,
    /// A varint longer than 64 bits.
    #[error("integer out of range")]
    Overflow,
    /// A length beyond [`MAX_MESSAGE`].
    #[error("message of {0} bytes is too large")]
    TooLarge(u64),
    /// The reserved class, or an unknown class with a length.
    #[error("message class {0} is reserved")]
    Reserved(u8),
}

/// A cursor over one message's bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next varint.
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let (&first, mut rest) = self.buf.split_first().ok_or(WireError::Truncated)?;
        let mut v = u64::from(first);
        if first >= 240 {
            let mut shift = 4u32;
            loop {
                let (&b, r) = rest.split_first().ok_or(WireError::Truncated)?;
                rest = r;
                if shift > 63 {
                    return Err(WireError::Overflow);
                }
                v = v
                    .checked_add(u64::from(b).checked_shl(shift).ok_or(WireError::Overflow)?)
                    .ok_or(WireError::Overflow)?;
                shift += 7;
                if b < 128 {
                    break;
                }
            }
        }
        self.buf = rest;
        Ok(v)
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.buf.len() {
            return Err(WireError::Truncated);
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    /// A big-endian 32-bit number (update ids, expiry, integer keys).
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Key types on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// 2: a signed integer (4 bytes on the wire).
    Integer,
    /// 4: an IPv4 address.
    Ipv4,
    /// 5: an IPv6 address.
    Ipv6,
    /// 6: a string (varint length, then the bytes).
    String,
    /// 7: binary (fixed length).
    Binary,
}

impl KeyType {
    /// The number on the wire.
    pub fn code(self) -> u64 {
        match self {
            KeyType::Integer => 2,
            KeyType::Ipv4 => 4,
            KeyType::Ipv6 => 5,
            KeyType::String => 6,
            KeyType::Binary => 7,
        }
    }

    fn from_code(c: u64) -> Option<KeyType> {
        Some(match c {
            2 => KeyType::Integer,
            4 => KeyType::Ipv4,
            5 => KeyType::Ipv6,
            6 => KeyType::String,
            7 => KeyType::Binary,
            _ => return None,
        })
    }
}

/// How a data type is encoded in an update, by HAProxy's data type number
/// (stick_table.c's table of types, which the protocol numbers by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One varint.
    Int,
    /// A rate: ms since its period began, current count, previous count.
    Freq,
    /// A dictionary entry: a varint length, then that many bytes.
    Dict,
    /// An array of varints (its size comes with the table definition).
    IntArray,
    /// An array of rates.
    FreqArray,
}

/// HAProxy 2.6's data types, by number.
pub fn encoding(data_type: u32) -> Option<Encoding> {
    Some(match data_type {
        0..=2 | 4 | 6 | 7 | 9 | 11 | 13 | 15 | 17 | 20 => Encoding::Int,
        3 | 5 | 8 | 10 | 12 | 14 | 16 | 18 | 21 => Encoding::Freq,
        19 => Encoding::Dict,
        22 | 23 => Encoding::IntArray,
        24 => Encoding::FreqArray,
        _ => return None,
    })
}

/// Data type numbers fulcrum stores.
pub mod dt {
    /// `server_id`
    pub const SERVER_ID: u32 = 0;
    /// `gpc0`
    pub const GPC0: u32 = 2;
    /// `gpc0_rate`
    pub const GPC0_RATE: u32 = 3;
    /// `conn_cnt`
    pub const CONN_CNT: u32 = 4;
    /// `conn_rate`
    pub const CONN_RATE: u32 = 5;
    /// `conn_cur` (local to each node: sent, never applied)
    pub const CONN_CUR: u32 = 6;
    /// `http_req_cnt`
    pub const HTTP_REQ_CNT: u32 = 9;
    /// `http_req_rate`
    pub const HTTP_REQ_RATE: u32 = 10;
    /// `http_err_cnt`
    pub const HTTP_ERR_CNT: u32 = 11;
    /// `http_err_rate`
    pub const HTTP_ERR_RATE: u32 = 12;
}

/// A table definition (message 10/130).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Define {
    /// The sender's number for the table, used by switch and ack messages.
    pub id: u64,
    /// The table's name on the wire.
    pub name: Vec<u8>,
    /// Key type.
    pub key_type: KeyType,
    /// Key length (strings: the maximum plus one, as HAProxy counts).
    pub key_len: u64,
    /// Bit N: data type N is in each update, in increasing N.
    pub data: u64,
    /// The table's `expire`, in ms.
    pub expire: u64,
    /// (data type, period in ms) of each rate; (data type, elements) of
    /// each array.
    pub params: Vec<(u32, u64, Option<u64>)>,
}

/// One value of an update, by encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A number.
    Int(u64),
    /// A rate: ms since its period began, current and previous counts.
    Freq {
        /// ms since the current period began.
        age: u64,
        /// Events in the current period.
        curr: u64,
        /// Events in the previous period.
        prev: u64,
    },
    /// Something fulcrum skips (dictionary entries, arrays).
    Skipped,
}

/// An entry update (messages 10/128, 129, 133, 134).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The sender's update number; None for "the previous plus one".
    pub id: Option<u32>,
    /// ms until the entry expires, for timed updates.
    pub expire: Option<u32>,
    /// The key bytes: strings as sent, integers and addresses as their
    /// network bytes.
    pub key: Vec<u8>,
    /// (data type, value) in increasing data type.
    pub values: Vec<(u32, Value)>,
}

/// A message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// 0/0: send me everything you know.
    ResyncRequest,
    /// 0/1: all I knew is sent, and I was up to date.
    ResyncFinished,
    /// 0/2: all I knew is sent, but I was still learning myself.
    ResyncPartial,
    /// 0/3: your finished/partial message is received.
    ResyncConfirm,
    /// 0/4: nothing to say, still here.
    Heartbeat,
    /// 1/N: the peer reports an error and closes.
    Error(u8),
    /// 10/130.
    Define(Define),
    /// 10/131: the following updates are for table `id`.
    Switch(u64),
    /// An update, decoded against the table definition in force.
    Update(Update),
    /// 10/132: table `id` (ours), updates up to `update` are received.
    Ack {
        /// Our number for the table.
        table: u64,
        /// The last update received.
        update: u32,
    },
    /// Another message, skipped.
    Other(u8, u8),
}

const CLASS_CONTROL: u8 = 0;
const CLASS_ERROR: u8 = 1;
const CLASS_TABLE: u8 = 10;
const CLASS_RESERVED: u8 = 255;
const UPDATE: u8 = 0x80;
const INCUPDATE: u8 = 0x81;
const DEFINE: u8 = 0x82;
const SWITCH: u8 = 0x83;
const ACK: u8 = 0x84;
const UPDATE_TIMED: u8 = 0x85;
const INCUPDATE_TIMED: u8 = 0x86;

/// What the receiver knows of the sender's current table, to decode an
/// update: its key type and length, and which data come in what order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Key type.
    pub key_type: KeyType,
    /// Key length.
    pub key_len: u64,
    /// The data types, in order, with the array sizes.
    pub data: Vec<(u32, Encoding, u64)>,
}

impl Layout {
    /// The layout a definition announces; None if it names a data type
    /// this side cannot even skip.
    pub fn of(d: &Define) -> Option<Layout> {
        let mut data = Vec::new();
        for t in 0..64u32 {
            if d.data & (1 << t) == 0 {
                continue;
            }
            let enc = encoding(t)?;
            let elems = d
                .params
                .iter()
                .find(|(pt, _, _)| *pt == t)
                .map(|(_, a, _)| *a)
                .unwrap_or(1);
            data.push((t, enc, elems));
        }
        Some(Layout {
            key_type: d.key_type,
            key_len: d.key_len,
            data,
        })
    }
}

/// One complete message: its class, type and body, and how many bytes of
/// the buffer it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The class byte.
    pub class: u8,
    /// The type byte.
    pub kind: u8,
    /// The body (empty below type 128).
    pub body: &'a [u8],
    /// Bytes taken, header included.
    pub len: usize,
}

/// The complete message at the front of `buf`; `Ok(None)` when more bytes
/// are needed.
pub fn frame(buf: &[u8]) -> Result<Option<Frame<'_>>, WireError> {
    let [class, kind, rest @ ..] = buf else {
        return Ok(None);
    };
    if *class == CLASS_RESERVED {
        return Err(WireError::Reserved(*class));
    }
    if *kind < 128 {
        return Ok(Some(Frame {
            class: *class,
            kind: *kind,
            body: &[],
            len: 2,
        }));
    }
    let mut r = Reader::new(rest);
    let len = match r.varint() {
        Ok(l) => l,
        Err(WireError::Truncated) => return Ok(None),
        Err(e) => return Err(e),
    };
    if len > MAX_MESSAGE as u64 {
        return Err(WireError::TooLarge(len));
    }
    let head = 2 + (rest.len() - r.buf.len());
    let len = len as usize;
    if r.buf.len() < len {
        return Ok(None);
    }
    Ok(Some(Frame {
        class: *class,
        kind: *kind,
        body: &r.buf[..len],
        len: head + len,
    }))
}

/// Decodes a framed message. `layout` is the sender's current table, for
/// updates (None: updates are skipped, as for a table we do not share).
pub fn decode(f: Frame<'_>, layout: Option<&Layout>) -> Result<Message, WireError> {
    let Frame {
        class, kind, body, ..
    } = f;
    let mut r = Reader::new(body);
    Ok(match (class, kind) {
        (CLASS_CONTROL, 0) => Message::ResyncRequest,
        (CLASS_CONTROL, 1) => Message::ResyncFinished,
        (CLASS_CONTROL, 2) => Message::ResyncPartial,
        (CLASS_CONTROL, 3) => Message::ResyncConfirm,
        (CLASS_CONTROL, 4) => Message::Heartbeat,
        (CLASS_ERROR, k) => Message::Error(k),
        (CLASS_TABLE, DEFINE) => Message::Define(define(&mut r)?),
        (CLASS_TABLE, SWITCH) => Message::Switch(r.varint()?),
        (CLASS_TABLE, ACK) => Message::Ack {
            table: r.varint()?,
            update: r.u32()?,
        },
        (CLASS_TABLE, UPDATE | INCUPDATE | UPDATE_TIMED | INCUPDATE_TIMED) => match layout {
            Some(l) => Message::Update(update(&mut r, kind, l)?),
            None => Message::Other(class, kind),
        },
        (c, k) => Message::Other(c, k),
    })
}

fn define(r: &mut Reader<'_>) -> Result<Define, WireError> {
    let id = r.varint()?;
    let n = r.varint()?;
    let name = r.bytes(usize::try_from(n).map_err(|_| WireError::Truncated)?)?;
    let key_type = r.varint()?;
    let key_len = r.varint()?;
    let data = r.varint()?;
    // Older peers stop here; newer ones add the expiry and the parameters
    // of rates and arrays, each prefixed by its data type.
    let mut expire = 0;
    let mut params = Vec::new();
    if !r.is_empty() {
        expire = r.varint()?;
        while !r.is_empty() {
            let t = u32::try_from(r.varint()?).map_err(|_| WireError::Overflow)?;
            let enc = encoding(t);
            match enc {
                Some(Encoding::IntArray) => params.push((t, r.varint()?, None)),
                Some(Encoding::FreqArray) => {
                    let n = r.varint()?;
                    params.push((t, n, Some(r.varint()?)))
                }
                _ => params.push((t, 1, Some(r.varint()?))),
            }
        }
    }
    Ok(Define {
        id,
        name: name.to_vec(),
        // An unknown key type makes the table unusable, not the session:
        // HAProxy ignores such a definition too.
        key_type: KeyType::from_code(key_type).unwrap_or(KeyType::Binary),
        key_len,
        data,
        expire,
        params,
    })
}

fn update(r: &mut Reader<'_>, kind: u8, l: &Layout) -> Result<Update, WireError> {
    let id = matches!(kind, UPDATE | UPDATE_TIMED)
        .then(|| r.u32())
        .transpose()?;
    let expire = matches!(kind, UPDATE_TIMED | INCUPDATE_TIMED)
        .then(|| r.u32())
        .transpose()?;
    let key = match l.key_type {
        KeyType::String => {
            let n = r.varint()?;
            r.bytes(usize::try_from(n).map_err(|_| WireError::Truncated)?)?
        }
        KeyType::Integer => r.bytes(4)?,
        KeyType::Ipv4 | KeyType::Ipv6 | KeyType::Binary => {
            r.bytes(usize::try_from(l.key_len).map_err(|_| WireError::Truncated)?)?
        }
    }
    .to_vec();
    let mut values = Vec::with_capacity(l.data.len());
    for &(t, enc, elems) in &l.data {
        let v = match enc {
            Encoding::Int => Value::Int(r.varint()?),
            Encoding::Freq => Value::Freq {
                age: r.varint()?,
                curr: r.varint()?,
                prev: r.varint()?,
            },
            Encoding::Dict => {
                let n = r.varint()?;
                r.bytes(usize::try_from(n).map_err(|_| WireError::Truncated)?)?;
                Value::Skipped
            }
            Encoding::IntArray | Encoding::FreqArray => {
                let per = if enc == Encoding::IntArray { 1 } else { 3 };
                for _ in 0..elems.saturating_mul(per).min(body_limit()) {
                    r.varint()?;
                }
                Value::Skipped
            }
        };
        values.push((t, v));
    }
    Ok(Update {
        id,
        expire,
        key,
        values,
    })
}

/// No array can hold more varints than a message has bytes.
fn body_limit() -> u64 {
    MAX_MESSAGE as u64
}

/// Writes one message.
pub fn encode(m: &Message, layout: Option<&Layout>, out: &mut Vec<u8>) {
    let mut body = Vec::new();
    let (class, kind) = match m {
        Message::ResyncRequest => (CLASS_CONTROL, 0),
        Message::ResyncFinished => (CLASS_CONTROL, 1),
        Message::ResyncPartial => (CLASS_CONTROL, 2),
        Message::ResyncConfirm => (CLASS_CONTROL, 3),
        Message::Heartbeat => (CLASS_CONTROL, 4),
        Message::Error(k) => (CLASS_ERROR, *k),
        Message::Other(c, k) => (*c, *k),
        Message::Switch(id) => {
            put_varint(&mut body, *id);
            (CLASS_TABLE, SWITCH)
        }
        Message::Ack { table, update } => {
            put_varint(&mut body, *table);
            body.extend_from_slice(&update.to_be_bytes());
            (CLASS_TABLE, ACK)
        }
        Message::Define(d) => {
            put_varint(&mut body, d.id);
            put_varint(&mut body, d.name.len() as u64);
            body.extend_from_slice(&d.name);
            put_varint(&mut body, d.key_type.code());
            put_varint(&mut body, d.key_len);
            put_varint(&mut body, d.data);
            put_varint(&mut body, d.expire);
            for &(t, n, period) in &d.params {
                put_varint(&mut body, u64::from(t));
                if matches!(encoding(t), Some(Encoding::IntArray | Encoding::FreqArray)) {
                    put_varint(&mut body, n);
                }
                if let Some(p) = period {
                    put_varint(&mut body, p);
                }
            }
            (CLASS_TABLE, DEFINE)
        }
        Message::Update(u) => {
            if let Some(id) = u.id {
                body.extend_from_slice(&id.to_be_bytes());
            }
            if let Some(e) = u.expire {
                body.extend_from_slice(&e.to_be_bytes());
            }
            match layout.map(|l| l.key_type) {
                Some(KeyType::String) | None => {
                    put_varint(&mut body, u.key.len() as u64);
                    body.extend_from_slice(&u.key);
                }
                Some(_) => body.extend_from_slice(&u.key),
            }
            for (_, v) in &u.values {
                match *v {
                    Value::Int(n) => put_varint(&mut body, n),
                    Value::Freq { age, curr, prev } => {
                        put_varint(&mut body, age);
                        put_varint(&mut body, curr);
                        put_varint(&mut body, prev);
                    }
                    // A dictionary entry: "none".
                    Value::Skipped => put_varint(&mut body, 0),
                }
            }
            let kind = match (u.id.is_some(), u.expire.is_some()) {
                (true, true) => UPDATE_TIMED,
                (true, false) => UPDATE,
                (false, true) => INCUPDATE_TIMED,
                (false, false) => INCUPDATE,
            };
            (CLASS_TABLE, kind)
        }
    };
    out.push(class);
    out.push(kind);
    if kind >= 128 {
        put_varint(out, body.len() as u64);
        out.extend_from_slice(&body);
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Status::Success => "handshake succeeded",
            Status::TryAgain => "try again later",
            Status::Protocol => "protocol error",
            Status::Version => "bad version",
            Status::UnknownPeer => "local peer name mismatch",
            Status::WrongHost => "remote peer name mismatch",
        };
        write!(f, "{} ({what})", self.code())
    }
}

#[cfg(test)]
mod tests;
