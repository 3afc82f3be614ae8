//! A table's side of `peers`: the log of entries changed on this node,
//! which peer sessions push in order, and the way entries learned from a
//! peer are written without being logged (a learned entry is not sent
//! back, as HAProxy does not).
//!
//! Each local change (a `stick` rule storing a server, the end of a
//! tracked connection, `sc-inc-gpc0`) gives the entry the next update
//! number; the entry moves to the end of the log. A session remembers the
//! last number it sent and asks for what follows.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::{lock, now_ms, Counters, Entry, FreqCtr, Key, Table};

/// Woken on every local change to a shared table: the peer sessions wait
/// on it rather than poll.
pub static CHANGED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// A rate as the protocol carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// ms since the current period began.
    pub age: u64,
    /// Events in the current period.
    pub curr: u64,
    /// Events in the previous period.
    pub prev: u64,
}

impl Rate {
    fn of(f: &FreqCtr, now: u64) -> Rate {
        Rate {
            age: now.saturating_sub(f.start),
            curr: f.curr,
            prev: f.prev,
        }
    }

    fn to_freq(self, now: u64) -> FreqCtr {
        FreqCtr {
            start: now.saturating_sub(self.age),
            curr: self.curr,
            prev: self.prev,
        }
    }
}

/// One stored datum of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `server_id`
    ServerId(u32),
    /// `gpc0`
    Gpc0(u64),
    /// `gpc0_rate`
    Gpc0Rate(Rate),
    /// `conn_cnt`
    ConnCnt(u64),
    /// `conn_rate`
    ConnRate(Rate),
    /// `conn_cur`: each node's own; sent, never applied.
    ConnCur(u64),
    /// `http_req_cnt`
    HttpReqCnt(u64),
    /// `http_req_rate`
    HttpReqRate(Rate),
    /// `http_err_cnt`
    HttpErrCnt(u64),
    /// `http_err_rate`
    HttpErrRate(Rate),
}

impl Table {
    /// Starts or stops logging changes for peers.
    pub fn set_shared(&self, on: bool) {
        self.shared.store(on, Relaxed);
    }

    /// Whether changes are logged for peers.
    pub fn is_shared(&self) -> bool {
        self.shared.load(Relaxed)
    }

    /// Logs a local change of `e` for peers.
    pub(super) fn touch_local(&self, e: &Entry) {
        if !self.is_shared() {
            return;
        }
        {
            let mut g = lock(&self.inner);
            // Purged meanwhile: nothing to send.
            if !g.map.get(&e.key).is_some_and(|m| std::ptr::eq(&**m, e)) {
                return;
            }
            let old = e.update.load(Relaxed);
            if old != 0 {
                g.updates.remove(&old);
            }
            g.last_update += 1;
            let n = g.last_update;
            g.updates.insert(n, e.key.clone());
            e.update.store(n, Relaxed);
        }
        CHANGED.notify_waiters();
    }

    /// The number of the last local change.
    pub fn last_update(&self) -> u64 {
        lock(&self.inner).last_update
    }

    /// Up to `max` entries changed here after update `after`, in order.
    pub fn updates_after(&self, after: u64, max: usize) -> Vec<(u64, Arc<Entry>)> {
        let g = lock(&self.inner);
        g.updates
            .range(after.saturating_add(1)..)
            .filter_map(|(&n, k)| Some((n, g.map.get(k)?.clone())))
            .take(max)
            .collect()
    }

    /// Every entry alive now (for a peer that asks to learn everything).
    pub fn entries(&self) -> Vec<Arc<Entry>> {
        let now = now_ms();
        let g = lock(&self.inner);
        g.map
            .values()
            .filter(|e| !self.expired(e, now))
            .cloned()
            .collect()
    }

    /// What `e` stores, in the table's order, and the ms it has left
    /// before it expires (None: the table has no `expire`). The server id
    /// comes first and always: `stick` rules keep one in any table, as
    /// HAProxy adds `server_id` to the tables they use (0: none).
    pub fn fields(&self, e: &Entry, now: u64) -> (Vec<Field>, Option<u64>) {
        let s = &self.stored;
        let d = lock(&e.data);
        let mut v = vec![Field::ServerId(d.server_id.unwrap_or(0))];
        if s.gpc0 {
            v.push(Field::Gpc0(d.gpc0));
        }
        if s.gpc0_rate.is_some() {
            v.push(Field::Gpc0Rate(Rate::of(&d.gpc0_rate, now)));
        }
        if s.conn_cnt {
            v.push(Field::ConnCnt(d.conn_cnt));
        }
        if s.conn_rate.is_some() {
            v.push(Field::ConnRate(Rate::of(&d.conn_rate, now)));
        }
        if s.conn_cur {
            v.push(Field::ConnCur(d.conn_cur));
        }
        if s.http_req_cnt {
            v.push(Field::HttpReqCnt(d.http_req_cnt));
        }
        if s.http_req_rate.is_some() {
            v.push(Field::HttpReqRate(Rate::of(&d.http_req_rate, now)));
        }
        if s.http_err_cnt {
            v.push(Field::HttpErrCnt(d.http_err_cnt));
        }
        if s.http_err_rate.is_some() {
            v.push(Field::HttpErrRate(Rate::of(&d.http_err_rate, now)));
        }
        let left = self
            .spec
            .expire
            .map(|x| (e.touched.load(Relaxed) + x.as_millis() as u64).saturating_sub(now));
        (v, left)
    }

    /// Writes what a peer sent for `key`: the data this table stores, and
    /// an expiry `expire_in` ms from now (the table's own when None). The
    /// change is not logged, so it is not sent back. False when the table
    /// has no room for the key.
    pub fn apply_remote(&self, key: Key, fields: &[Field], expire_in: Option<u64>) -> bool {
        let now = now_ms();
        let Some(e) = self.get_or_create_at(key, now) else {
            return false;
        };
        {
            let s = &self.stored;
            let mut d = lock(&e.data);
            for f in fields {
                apply(&mut d, s, *f, now);
            }
        }
        if let (Some(x), Some(left)) = (self.spec.expire, expire_in) {
            // touched + expire = now + left, as far as the clock allows.
            let x = x.as_millis() as u64;
            e.touched
                .store((now + left.min(x)).saturating_sub(x), Relaxed);
        }
        true
    }
}

fn apply(d: &mut Counters, s: &super::Stored, f: Field, now: u64) {
    match f {
        Field::ServerId(id) if s.server_id || id != 0 => {
            d.server_id = (id != 0).then_some(id);
        }
        Field::Gpc0(n) if s.gpc0 => d.gpc0 = n,
        Field::Gpc0Rate(r) if s.gpc0_rate.is_some() => d.gpc0_rate = r.to_freq(now),
        Field::ConnCnt(n) if s.conn_cnt => d.conn_cnt = n,
        Field::ConnRate(r) if s.conn_rate.is_some() => d.conn_rate = r.to_freq(now),
        Field::HttpReqCnt(n) if s.http_req_cnt => d.http_req_cnt = n,
        Field::HttpReqRate(r) if s.http_req_rate.is_some() => d.http_req_rate = r.to_freq(now),
        Field::HttpErrCnt(n) if s.http_err_cnt => d.http_err_cnt = n,
        Field::HttpErrRate(r) if s.http_err_rate.is_some() => d.http_err_rate = r.to_freq(now),
        // conn_cur counts this node's connections only; the rest is not
        // stored here.
        _ => {}
    }
}
