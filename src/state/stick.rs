//! Stick tables: live entries keyed by a client property (an address, an
//! integer, a string), holding counters (concurrent connections, request
//! and error counts and rates, gpc0) and the server a client sticks to.
//! A table outlives a Runtime: `compile` hands the same `Arc<Table>` to the
//! next Runtime while the definition is unchanged, so a reload keeps them.
//!
//! Locking choice: a table is shared by every worker thread, so it needs
//! a lock; one `Mutex` per table guards the key map and the idle queue,
//! and one per entry guards its counters. A request takes the table lock
//! once (to find or create its entry, O(1) average, plus a bounded purge)
//! and updates counters under the entry's lock, which only requests of the
//! same key contend on. Sharding the map is the next step if a table ever
//! shows up in a profile. A poisoned lock is taken over rather than
//! propagated: the data are plain counters, and a panic in the middle of
//! an update leaves at worst one miscounted value, never a broken invariant
//! the data path relies on.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Milliseconds since the process started: the tables' clock.
pub fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a table is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// IPv4 addresses (an IPv4-mapped IPv6 address counts as IPv4).
    Ip,
    /// IPv6 addresses (IPv4 ones are mapped).
    Ipv6,
    /// Integers.
    Integer,
    /// Strings, cut at this many bytes.
    String(usize),
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An IPv4 address.
    V4([u8; 4]),
    /// An IPv6 address.
    V6([u8; 16]),
    /// An integer.
    Int(i64),
    /// A string (already cut to the table's length).
    Str(Box<[u8]>),
}

impl KeyKind {
    /// The key of an address, if this table can hold it.
    pub fn ip_key(self, ip: IpAddr) -> Option<Key> {
        match (self, ip) {
            (KeyKind::Ip, IpAddr::V4(a)) => Some(Key::V4(a.octets())),
            (KeyKind::Ip, IpAddr::V6(a)) => a.to_ipv4_mapped().map(|a| Key::V4(a.octets())),
            (KeyKind::Ipv6, IpAddr::V4(a)) => Some(Key::V6(a.to_ipv6_mapped().octets())),
            (KeyKind::Ipv6, IpAddr::V6(a)) => Some(Key::V6(a.octets())),
            (KeyKind::Integer, IpAddr::V4(a)) => Some(Key::Int(i64::from(u32::from(a)))),
            (KeyKind::Integer, IpAddr::V6(_)) => None,
            (KeyKind::String(n), ip) => Some(self.str_key(ip.to_string().as_bytes(), n)),
        }
    }

    /// The key of bytes: a string table cuts them, an address table parses them.
    pub fn bytes_key(self, b: &[u8]) -> Option<Key> {
        match self {
            KeyKind::String(n) => Some(self.str_key(b, n)),
            KeyKind::Integer => std::str::from_utf8(b)
                .ok()?
                .trim()
                .parse()
                .ok()
                .map(Key::Int),
            KeyKind::Ip | KeyKind::Ipv6 => self.ip_key(std::str::from_utf8(b).ok()?.parse().ok()?),
        }
    }

    /// The key of an integer.
    pub fn int_key(self, i: i64) -> Option<Key> {
        match self {
            KeyKind::Integer => Some(Key::Int(i)),
            KeyKind::String(n) => Some(self.str_key(i.to_string().as_bytes(), n)),
            KeyKind::Ip => u32::try_from(i)
                .ok()
                .map(|v| Key::V4(std::net::Ipv4Addr::from(v).octets())),
            KeyKind::Ipv6 => None,
        }
    }

    fn str_key(self, b: &[u8], n: usize) -> Key {
        Key::Str(b[..b.len().min(n)].into())
    }
}

/// A stored datum and its period for rates (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// `conn_cur`
    ConnCur,
    /// `conn_cnt`
    ConnCnt,
    /// `conn_rate(P)`
    ConnRate(u64),
    /// `http_req_cnt`
    HttpReqCnt,
    /// `http_req_rate(P)`
    HttpReqRate(u64),
    /// `http_err_cnt`
    HttpErrCnt,
    /// `http_err_rate(P)`
    HttpErrRate(u64),
    /// `gpc0`
    Gpc0,
    /// `gpc0_rate(P)`
    Gpc0Rate(u64),
    /// `server_id`
    ServerId,
}

/// Which counter a fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// `conn_cur`
    ConnCur,
    /// `conn_cnt`
    ConnCnt,
    /// `conn_rate`
    ConnRate,
    /// `http_req_cnt`
    HttpReqCnt,
    /// `http_req_rate`
    HttpReqRate,
    /// `http_err_cnt`
    HttpErrCnt,
    /// `http_err_rate`
    HttpErrRate,
    /// `gpc0`
    Gpc0,
    /// `gpc0_rate`
    Gpc0Rate,
    /// `server_id`
    ServerId,
}

/// A table's definition. Two equal specs describe compatible tables, so a
/// reload keeps the live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The key type.
    pub key: KeyKind,
    /// At most this many entries.
    pub size: usize,
    /// Idle entries go after this long.
    pub expire: Option<Duration>,
    /// When full, refuse new entries instead of evicting the oldest.
    pub nopurge: bool,
    /// The data stored.
    pub store: Vec<Data>,
}

/// Which data a table stores, with their periods, for quick checks.
#[derive(Debug, Clone, Copy, Default)]
struct Stored {
    conn_cur: bool,
    conn_cnt: bool,
    conn_rate: Option<u64>,
    http_req_cnt: bool,
    http_req_rate: Option<u64>,
    http_err_cnt: bool,
    http_err_rate: Option<u64>,
    gpc0: bool,
    gpc0_rate: Option<u64>,
    server_id: bool,
}

impl Stored {
    fn of(store: &[Data]) -> Stored {
        let mut s = Stored::default();
        for d in store {
            match *d {
                Data::ConnCur => s.conn_cur = true,
                Data::ConnCnt => s.conn_cnt = true,
                Data::ConnRate(p) => s.conn_rate = Some(p.max(1)),
                Data::HttpReqCnt => s.http_req_cnt = true,
                Data::HttpReqRate(p) => s.http_req_rate = Some(p.max(1)),
                Data::HttpErrCnt => s.http_err_cnt = true,
                Data::HttpErrRate(p) => s.http_err_rate = Some(p.max(1)),
                Data::Gpc0 => s.gpc0 = true,
                Data::Gpc0Rate(p) => s.gpc0_rate = Some(p.max(1)),
                Data::ServerId => s.server_id = true,
            }
        }
        s
    }
}

/// An event rate over a sliding period, as HAProxy's `freq_ctr`: the
/// count of the current period plus the previous period's count weighted
/// by how much of it still lies inside the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FreqCtr {
    start: u64,
    curr: u64,
    prev: u64,
}

impl FreqCtr {
    /// A counter whose first period starts at `now`.
    pub fn new(now: u64) -> FreqCtr {
        FreqCtr {
            start: now,
            curr: 0,
            prev: 0,
        }
    }

    /// (current, previous, ms into the current period) as of `now`.
    fn at(&self, now: u64, period: u64) -> (u64, u64, u64) {
        let elapsed = now.saturating_sub(self.start);
        if elapsed >= 2 * period {
            (0, 0, elapsed % period)
        } else if elapsed >= period {
            (0, self.curr, elapsed - period)
        } else {
            (self.curr, self.prev, elapsed)
        }
    }

    /// Counts `n` events at `now`.
    pub fn add(&mut self, n: u64, now: u64, period: u64) {
        let (curr, prev, into) = self.at(now, period);
        *self = FreqCtr {
            start: now - into,
            curr: curr + n,
            prev,
        };
    }

    /// Events over the last `period` as of `now`.
    pub fn read(&self, now: u64, period: u64) -> u64 {
        let (curr, prev, into) = self.at(now, period);
        curr + prev * (period - into) / period
    }
}

/// An entry's counters.
#[derive(Debug, Default)]
struct Counters {
    conn_cur: u64,
    conn_cnt: u64,
    conn_rate: FreqCtr,
    http_req_cnt: u64,
    http_req_rate: FreqCtr,
    http_err_cnt: u64,
    http_err_rate: FreqCtr,
    gpc0: u64,
    gpc0_rate: FreqCtr,
    server_id: Option<u32>,
}

/// One entry: its key, counters and when it was last touched.
#[derive(Debug)]
pub struct Entry {
    key: Key,
    data: Mutex<Counters>,
    touched: AtomicU64,
    /// Its place in the table's update log (0: not in it), see `sync`.
    update: AtomicU64,
}

impl Entry {
    /// The entry's key.
    pub fn key(&self) -> &Key {
        &self.key
    }
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Key, Arc<Entry>>,
    /// (touch time, sequence) -> key, oldest first. A touch does not move
    /// an entry here (that would take the table lock on every update):
    /// the purge finds it touched since it was queued and queues it again.
    idle: BTreeMap<(u64, u64), Key>,
    seq: u64,
    /// Update number -> key of the entries changed here, in the order
    /// peers are sent them (see `sync`).
    updates: BTreeMap<u64, Key>,
    last_update: u64,
}

impl Inner {
    /// Drops the entry of `key` from the map and from the update log.
    fn forget(&mut self, key: &Key) {
        if let Some(e) = self.map.remove(key) {
            let u = e.update.load(Relaxed);
            if u != 0 {
                self.updates.remove(&u);
            }
        }
    }
}

/// A live table.
#[derive(Debug)]
pub struct Table {
    name: String,
    spec: Spec,
    stored: Stored,
    inner: Mutex<Inner>,
    /// Whether its changes are logged for peers (`peers` set).
    shared: std::sync::atomic::AtomicBool,
}

/// How many queued entries one operation may look at while purging, so
/// that no request pays for a whole table's expiry.
const PURGE_BATCH: usize = 64;

impl Table {
    /// An empty table.
    pub fn new(name: &str, spec: Spec) -> Table {
        Table {
            name: name.to_string(),
            stored: Stored::of(&spec.store),
            spec,
            inner: Mutex::default(),
            shared: Default::default(),
        }
    }

    /// Its name (the proxy's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its definition.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Whether the table stores a server id (for `stick` rules).
    pub fn stores(&self, c: Counter) -> bool {
        let s = &self.stored;
        match c {
            Counter::ConnCur => s.conn_cur,
            Counter::ConnCnt => s.conn_cnt,
            Counter::ConnRate => s.conn_rate.is_some(),
            Counter::HttpReqCnt => s.http_req_cnt,
            Counter::HttpReqRate => s.http_req_rate.is_some(),
            Counter::HttpErrCnt => s.http_err_cnt,
            Counter::HttpErrRate => s.http_err_rate.is_some(),
            Counter::Gpc0 => s.gpc0,
            Counter::Gpc0Rate => s.gpc0_rate.is_some(),
            Counter::ServerId => s.server_id,
        }
    }

    /// Entries alive now.
    pub fn len(&self) -> usize {
        self.len_at(now_ms())
    }

    /// Entries alive at `now`.
    pub fn len_at(&self, now: u64) -> usize {
        let mut g = lock(&self.inner);
        self.purge(&mut g, now, usize::MAX);
        g.map.len()
    }

    /// Whether the table is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry of `key`, if there is one (a lookup does not refresh it).
    pub fn lookup(&self, key: &Key) -> Option<Arc<Entry>> {
        self.lookup_at(key, now_ms())
    }

    /// [`Table::lookup`] at `now`.
    pub fn lookup_at(&self, key: &Key, now: u64) -> Option<Arc<Entry>> {
        let mut g = lock(&self.inner);
        self.purge(&mut g, now, PURGE_BATCH);
        let e = g.map.get(key)?;
        // Expired but not purged yet (beyond this batch): gone all the same.
        (!self.expired(e, now)).then(|| e.clone())
    }

    /// The entry of `key`, created if needed (evicting the oldest idle
    /// entry when full), and touched. None when the table is full of
    /// entries in use (or `nopurge`).
    pub fn get_or_create(&self, key: Key) -> Option<Arc<Entry>> {
        self.get_or_create_at(key, now_ms())
    }

    /// [`Table::get_or_create`] at `now`.
    pub fn get_or_create_at(&self, key: Key, now: u64) -> Option<Arc<Entry>> {
        let mut g = lock(&self.inner);
        self.purge(&mut g, now, PURGE_BATCH);
        if let Some(e) = g.map.get(&key) {
            e.touched.store(now, Relaxed);
            return Some(e.clone());
        }
        if g.map.len() >= self.spec.size {
            self.purge(&mut g, now, usize::MAX);
            if g.map.len() >= self.spec.size && (self.spec.nopurge || !self.evict_oldest(&mut g)) {
                return None;
            }
        }
        let e = Arc::new(Entry {
            key: key.clone(),
            data: Mutex::new(Counters {
                conn_rate: FreqCtr::new(now),
                http_req_rate: FreqCtr::new(now),
                http_err_rate: FreqCtr::new(now),
                gpc0_rate: FreqCtr::new(now),
                ..Counters::default()
            }),
            touched: AtomicU64::new(now),
            update: AtomicU64::new(0),
        });
        g.seq += 1;
        let seq = g.seq;
        g.idle.insert((now, seq), key.clone());
        g.map.insert(key, e.clone());
        Some(e)
    }

    fn expired(&self, e: &Arc<Entry>, now: u64) -> bool {
        self.spec
            .expire
            .is_some_and(|x| e.touched.load(Relaxed) + x.as_millis() as u64 <= now && !in_use(e))
    }

    /// Drops expired entries, looking at no more than `budget` of them.
    fn purge(&self, g: &mut Inner, now: u64, budget: usize) {
        let Some(expire) = self.spec.expire else {
            return;
        };
        let expire = expire.as_millis() as u64;
        for _ in 0..budget.min(g.idle.len()) {
            let Some((&(at, seq), _)) = g.idle.first_key_value() else {
                return;
            };
            if at + expire > now {
                return;
            }
            let Some(key) = g.idle.remove(&(at, seq)) else {
                return;
            };
            let Some(e) = g.map.get(&key) else { continue };
            let touched = e.touched.load(Relaxed);
            if touched + expire <= now && !in_use(e) {
                g.forget(&key);
            } else {
                // Touched since, or tracked by a connection: look again later.
                let again = if touched + expire <= now {
                    now
                } else {
                    touched
                };
                g.seq += 1;
                let s = g.seq;
                g.idle.insert((again, s), key);
            }
        }
    }

    /// Evicts the least recently touched entry not in use.
    fn evict_oldest(&self, g: &mut Inner) -> bool {
        let mut requeue = Vec::new();
        let mut done = false;
        while let Some(((at, seq), key)) = g.idle.pop_first() {
            match g.map.get(&key) {
                None => continue,
                Some(e) if in_use(e) || e.touched.load(Relaxed) > at => {
                    requeue.push((e.touched.load(Relaxed), seq, key))
                }
                Some(_) => {
                    g.forget(&key);
                    done = true;
                    break;
                }
            }
        }
        for (at, seq, key) in requeue {
            g.idle.insert((at, seq), key);
        }
        done
    }
}

/// Tracked by someone besides the table itself.
fn in_use(e: &Arc<Entry>) -> bool {
    // The map holds one reference; a Tracking or a fetch in flight holds more.
    Arc::strong_count(e) > 1
}

impl Table {
    /// Reads counter `c` of `e` at `now`; None when the table does not store it.
    pub fn read_at(&self, e: &Entry, c: Counter, now: u64) -> Option<u64> {
        let s = &self.stored;
        let d = lock(&e.data);
        Some(match c {
            Counter::ConnCur if s.conn_cur => d.conn_cur,
            Counter::ConnCnt if s.conn_cnt => d.conn_cnt,
            Counter::ConnRate => d.conn_rate.read(now, s.conn_rate?),
            Counter::HttpReqCnt if s.http_req_cnt => d.http_req_cnt,
            Counter::HttpReqRate => d.http_req_rate.read(now, s.http_req_rate?),
            Counter::HttpErrCnt if s.http_err_cnt => d.http_err_cnt,
            Counter::HttpErrRate => d.http_err_rate.read(now, s.http_err_rate?),
            Counter::Gpc0 if s.gpc0 => d.gpc0,
            Counter::Gpc0Rate => d.gpc0_rate.read(now, s.gpc0_rate?),
            Counter::ServerId if s.server_id => u64::from(d.server_id?),
            _ => return None,
        })
    }

    /// Reads counter `c` of `e` now.
    pub fn read(&self, e: &Entry, c: Counter) -> Option<u64> {
        self.read_at(e, c, now_ms())
    }

    fn update(&self, e: &Entry, now: u64, f: impl FnOnce(&mut Counters, &Stored)) {
        f(&mut lock(&e.data), &self.stored);
        e.touched.store(now, Relaxed);
    }

    /// A connection (or stream) starts being tracked on `e`.
    pub fn conn_start(&self, e: &Entry, now: u64) {
        self.update(e, now, |d, s| {
            d.conn_cur += 1;
            d.conn_cnt += 1;
            if let Some(p) = s.conn_rate {
                d.conn_rate.add(1, now, p);
            }
        });
    }

    /// A tracked connection ended: its counts are final, peers are told.
    pub fn conn_end(&self, e: &Entry, now: u64) {
        self.update(e, now, |d, _| d.conn_cur = d.conn_cur.saturating_sub(1));
        self.touch_local(e);
    }

    /// An HTTP request on a tracked connection.
    pub fn http_req(&self, e: &Entry, now: u64) {
        self.update(e, now, |d, s| {
            d.http_req_cnt += 1;
            if let Some(p) = s.http_req_rate {
                d.http_req_rate.add(1, now, p);
            }
        });
    }

    /// An HTTP error (4xx) on a tracked connection.
    pub fn http_err(&self, e: &Entry, now: u64) {
        self.update(e, now, |d, s| {
            d.http_err_cnt += 1;
            if let Some(p) = s.http_err_rate {
                d.http_err_rate.add(1, now, p);
            }
        });
    }

    /// `sc-inc-gpc0`.
    pub fn inc_gpc0(&self, e: &Entry, now: u64) {
        self.update(e, now, |d, s| {
            d.gpc0 += 1;
            if let Some(p) = s.gpc0_rate {
                d.gpc0_rate.add(1, now, p);
            }
        });
        self.touch_local(e);
    }

    /// Records the server a `stick` rule sends this key to.
    pub fn set_server_id(&self, e: &Entry, id: u32, now: u64) {
        self.update(e, now, |d, _| d.server_id = Some(id));
        self.touch_local(e);
    }

    /// The server id stored in `e` (whether or not `server_id` is declared:
    /// `stick` rules need it, as HAProxy adds it for them).
    pub fn server_id(&self, e: &Entry) -> Option<u32> {
        lock(&e.data).server_id
    }
}

/// One tracked entry (`track-sc0..2`): while it lives the entry counts one
/// more current connection, and the entry is kept from expiring.
#[derive(Debug)]
pub struct Tracking {
    /// The table.
    pub table: Arc<Table>,
    /// The entry.
    pub entry: Arc<Entry>,
}

impl Tracking {
    /// Starts tracking `key` in `table`: counts the connection. None when
    /// the key has no room in the table.
    pub fn start(table: &Arc<Table>, key: Key) -> Option<Tracking> {
        let now = now_ms();
        let entry = table.get_or_create_at(key, now)?;
        table.conn_start(&entry, now);
        Some(Tracking {
            table: table.clone(),
            entry,
        })
    }

    /// Reads a counter of the tracked entry; with `other`, of the entry of
    /// the same key in that table.
    pub fn read(&self, c: Counter, other: Option<&Arc<Table>>) -> Option<u64> {
        match other {
            Some(t) if !Arc::ptr_eq(t, &self.table) => {
                let e = t.lookup(self.entry.key())?;
                t.read(&e, c)
            }
            _ => self.table.read(&self.entry, c),
        }
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        self.table.conn_end(&self.entry, now_ms());
    }
}

/// Tracking slots `sc0`..`sc2` of a connection or of a request: each is set
/// at most once (a second `track-scN` on the same slot does nothing, as in
/// HAProxy).
#[derive(Debug, Default)]
pub struct Slots(pub [OnceCell<Tracking>; 3]);

impl Slots {
    /// Tracks `key` of `table` in slot `n` unless it is taken. Returns the
    /// new tracking, if one started.
    pub fn track(&self, n: usize, table: &Arc<Table>, key: Key) -> Option<&Tracking> {
        let slot = self.0.get(n)?;
        if slot.get().is_some() {
            return None;
        }
        let t = Tracking::start(table, key)?;
        slot.set(t).ok()?;
        slot.get()
    }

    /// The tracked entries.
    pub fn iter(&self) -> impl Iterator<Item = &Tracking> {
        self.0.iter().filter_map(|s| s.get())
    }

    /// Counts an HTTP request on every tracked entry.
    pub fn http_req(&self) {
        let now = now_ms();
        for t in self.iter() {
            t.table.http_req(&t.entry, now);
        }
    }

    /// Counts an HTTP error on every tracked entry.
    pub fn http_err(&self) {
        let now = now_ms();
        for t in self.iter() {
            t.table.http_err(&t.entry, now);
        }
    }
}

/// What the rules see: the connection's slots and the request's. A
/// request's tracking, when set, hides the connection's for that slot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracked<'a> {
    /// `tcp-request connection` (and `content` in mode tcp) tracking.
    pub session: Option<&'a Slots>,
    /// `http-request` (and `tcp-request content` in mode http) tracking.
    pub stream: Option<&'a Slots>,
}

impl<'a> Tracked<'a> {
    /// The entry tracked in slot `n`.
    pub fn get(&self, n: usize) -> Option<&'a Tracking> {
        let of = |s: Option<&'a Slots>| s.and_then(|s| s.0.get(n)?.get());
        of(self.stream).or_else(|| of(self.session))
    }

    /// Where a `track-scN` action records its entry.
    pub fn target(&self) -> Option<&'a Slots> {
        self.stream.or(self.session)
    }
}

mod sync;
pub use sync::{Field, Rate, CHANGED};

#[cfg(test)]
mod tests;
