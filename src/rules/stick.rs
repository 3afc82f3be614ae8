//! Stick tables in the rules: `track-sc0..2` and `sc-inc-gpc0` actions,
//! the `sc_*`, `scN_*`, `src_*` and `table_cnt` fetches, and the `stick
//! on|match|store-request` persistence rules. The tables themselves are
//! live state (`state::stick`), reached through [`World::table`] by the
//! index [`Context`] resolved the table's name to.
//!
//! [`World::table`]: super::facts::World::table

use std::sync::Arc;

use super::acl::{Cond, Named};
use super::facts::Facts;
use super::fetch::Fetch;
use super::sample::{Expr, Value};
use super::Context;
use crate::state::stick::{Counter, Key, KeyKind, Table};

/// `track-scN EXPR [table T]`.
#[derive(Debug, Clone)]
pub struct Track {
    /// The slot, 0 to 2.
    pub slot: usize,
    /// The key's expression.
    pub expr: Expr,
    /// The table (an index in the Runtime's tables).
    pub table: usize,
}

/// The highest `scN` slot (HAProxy's MAX_SESS_STKCTR - 1).
pub const MAX_SLOT: usize = 2;

/// The table named `name`, or the current proxy's.
fn table(ctx: &Context, name: Option<&str>, what: &str) -> Result<usize, String> {
    let name = name.unwrap_or(ctx.proxy);
    ctx.table(name)
        .ok_or_else(|| format!("unable to find table '{name}' referenced by {what}"))
}

/// Parses the slot number of `track-scN` / `sc-inc-gpc0(N)`.
fn slot(n: &str, what: &str) -> Result<usize, String> {
    match n.parse::<usize>() {
        Ok(s) if s <= MAX_SLOT => Ok(s),
        Ok(s) => Err(format!(
            "{what}: {s} track-sc number exceeding {MAX_SLOT} (MAX_SESS_STKCTR-1) value"
        )),
        Err(_) => Err(format!("{what}: invalid stick table track ID '{n}'")),
    }
}

impl Track {
    /// Parses `track-scN` (the action's name) and its arguments, if the
    /// name is a track action.
    pub fn parse(name: &str, args: &[String], ctx: &Context) -> Option<Result<Track, String>> {
        let n = name.strip_prefix("track-sc")?;
        Some((|| {
            let slot = slot(n, name)?;
            let (expr, table_name) = match args {
                [e] => (e, None),
                [e, t, name] if t == "table" => (e, Some(name.as_str())),
                [] => return Err(format!("'{name}': missing fetch method")),
                _ => return Err(format!("'{name}' expects EXPR [table TABLE]")),
            };
            let expr = Expr::parse(expr, ctx)?;
            let table = table(ctx, table_name, name)?;
            Ok(Track { slot, expr, table })
        })())
    }

    /// Starts tracking, unless the slot is taken or the key cannot be
    /// made. `http` counts the request too (an `http-request` rule).
    pub fn run(&self, f: &Facts, http: bool) {
        let Some(slots) = f.tracked.target() else {
            return;
        };
        let Some(t) = f.world.table(self.table) else {
            return;
        };
        let Some(key) = self.expr.eval(f).and_then(|v| key_of(t, &v)) else {
            return;
        };
        if let Some(tr) = slots.track(self.slot, t, key) {
            if http {
                tr.table.http_req(&tr.entry, crate::state::stick::now_ms());
            }
        }
    }
}

/// Parses `sc-inc-gpc0(N)` if `name` is that action: the slot.
pub fn parse_inc_gpc0(name: &str) -> Option<Result<usize, String>> {
    let n = name.strip_prefix("sc-inc-gpc0(")?.strip_suffix(')')?;
    Some(slot(n, name).map_err(|_| {
        format!("'{name}': invalid stick table track ID. The max allowed ID is {MAX_SLOT}")
    }))
}

/// `sc-inc-gpc0(N)`.
pub fn inc_gpc0(f: &Facts, slot: usize) {
    if let Some(t) = f.tracked.get(slot) {
        t.table.inc_gpc0(&t.entry, crate::state::stick::now_ms());
    }
}

/// The key a sample makes in table `t`.
pub fn key_of(t: &Table, v: &Value) -> Option<Key> {
    let k: KeyKind = t.spec().key;
    match v {
        Value::Ip(ip) => k.ip_key(*ip),
        Value::Int(i) => k.int_key(*i),
        Value::Bool(b) => k.int_key(i64::from(*b)),
        Value::Str(s) => k.bytes_key(s),
    }
}

const COUNTERS: &[(&str, Counter)] = &[
    ("conn_cur", Counter::ConnCur),
    ("conn_cnt", Counter::ConnCnt),
    ("conn_rate", Counter::ConnRate),
    ("http_req_cnt", Counter::HttpReqCnt),
    ("http_req_rate", Counter::HttpReqRate),
    ("http_err_cnt", Counter::HttpErrCnt),
    ("http_err_rate", Counter::HttpErrRate),
    ("get_gpc0", Counter::Gpc0),
    ("gpc0_rate", Counter::Gpc0Rate),
];

fn counter(name: &str) -> Option<Counter> {
    COUNTERS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Parses the stick-table fetches, if `name` is one.
pub fn parse_fetch(name: &str, args: &[String], ctx: &Context) -> Option<Result<Fetch, String>> {
    let table_arg = |i: usize| -> Result<Option<usize>, String> {
        match args.get(i) {
            None => Ok(None),
            Some(t) => ctx.table(t).map(Some).ok_or_else(|| {
                format!(
                    "unable to find table '{t}' referenced in arg {} of fetch '{name}'",
                    i + 1
                )
            }),
        }
    };
    let own = || -> Result<usize, String> {
        ctx.table(ctx.proxy).ok_or_else(|| {
            format!(
                "unable to find table '{}' referenced in arg 1 of fetch '{name}'",
                ctx.proxy
            )
        })
    };
    let most = |n: usize| {
        if args.len() > n {
            Err(format!(
                "fetch method '{name}' takes at most {n} argument{}",
                if n == 1 { "" } else { "s" }
            ))
        } else {
            Ok(())
        }
    };
    if name == "table_cnt" {
        return Some((|| {
            most(1)?;
            Ok(Fetch::TableCnt(table_arg(0)?.map_or_else(own, Ok)?))
        })());
    }
    if let Some(c) = name.strip_prefix("src_").and_then(counter) {
        return Some((|| {
            most(1)?;
            Ok(Fetch::SrcTable(table_arg(0)?.map_or_else(own, Ok)?, c))
        })());
    }
    if let Some(c) = name.strip_prefix("sc_").and_then(counter) {
        return Some((|| {
            most(2)?;
            let n = args
                .first()
                .ok_or_else(|| format!("fetch method '{name}' expects a counter number"))?;
            let n: u8 = n
                .parse()
                .map_err(|_| format!("fetch method '{name}': invalid counter number '{n}'"))?;
            Ok(Fetch::Sc(n, table_arg(1)?, c))
        })());
    }
    for n in 0..=MAX_SLOT as u8 {
        if let Some(c) = name.strip_prefix(&format!("sc{n}_")[..]).and_then(counter) {
            return Some((|| {
                most(1)?;
                Ok(Fetch::Sc(n, table_arg(0)?, c))
            })());
        }
    }
    None
}

fn int(v: u64) -> Value<'static> {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// `sc_*` / `scN_*`: a counter of the entry tracked in slot `n`. Nothing
/// when the slot is empty or the table does not store the counter, as in
/// HAProxy.
pub fn fetch_sc(f: &Facts, n: u8, table: Option<usize>, c: Counter) -> Option<Value<'static>> {
    let tr = f.tracked.get(usize::from(n))?;
    match table.and_then(|t| f.world.table(t)) {
        Some(other) if !Arc::ptr_eq(other, &tr.table) => {
            if !other.stores(c) {
                return None;
            }
            Some(int(match other.lookup(tr.entry.key()) {
                Some(e) => other.read(&e, c)?,
                None => 0,
            }))
        }
        _ => tr.table.read(&tr.entry, c).map(int),
    }
}

/// `src_*`: a counter of the client address's entry (0 without one).
pub fn fetch_src(f: &Facts, table: usize, c: Counter) -> Option<Value<'static>> {
    let t = f.world.table(table)?;
    if !t.stores(c) {
        return None;
    }
    let key = t.spec().key.ip_key(f.src.ip())?;
    Some(int(match t.lookup(&key) {
        Some(e) => t.read(&e, c)?,
        None => 0,
    }))
}

/// `table_cnt`.
pub fn fetch_table_cnt(f: &Facts, table: usize) -> Option<Value<'static>> {
    Some(int(f.world.table(table)?.len() as u64))
}

/// What a `stick` rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickKind {
    /// `stick on`: match, then store.
    On,
    /// `stick match`.
    Match,
    /// `stick store-request`.
    StoreRequest,
}

/// A `stick` rule of a backend.
#[derive(Debug, Clone)]
pub struct StickRule {
    /// What it does.
    pub kind: StickKind,
    /// The key.
    pub expr: Expr,
    /// The table's index.
    pub table: usize,
    /// When.
    pub cond: Option<Cond>,
}

impl StickRule {
    /// Parses the words after `stick` (kind first).
    pub fn parse(words: &[String], acls: &[Named], ctx: &Context) -> Result<StickRule, String> {
        let (kind, rest) = words.split_first().ok_or("'stick' expects a rule")?;
        let kind = match kind.as_str() {
            "on" => StickKind::On,
            "match" => StickKind::Match,
            "store-request" => StickKind::StoreRequest,
            k => return Err(format!("'stick {k}' is not supported")),
        };
        let (head, cond) = super::action::split_cond(rest);
        let (expr, table_name) = match head {
            [e] => (e, None),
            [e, t, n] if t == "table" => (e, Some(n.as_str())),
            [] => return Err("missing fetch method".into()),
            _ => return Err("expects EXPR [table TABLE] [if|unless COND]".into()),
        };
        let expr = Expr::parse(expr, ctx)?;
        let name = table_name.unwrap_or(ctx.proxy);
        let table = ctx
            .table(name)
            .ok_or_else(|| format!("unable to find stick-table '{name}'"))?;
        let cond = if cond.is_empty() {
            None
        } else {
            Some(Cond::parse(cond, acls, ctx)?)
        };
        Ok(StickRule {
            kind,
            expr,
            table,
            cond,
        })
    }

    fn key(&self, f: &Facts) -> Option<(Arc<Table>, Key)> {
        if !self.cond.as_ref().is_none_or(|c| c.holds(f)) {
            return None;
        }
        let t = f.world.table(self.table)?;
        let key = key_of(t, &self.expr.eval(f)?)?;
        Some((t.clone(), key))
    }
}

/// The server (an index in the backend) the first matching `stick on` /
/// `stick match` rule finds, if `usable` says it may take traffic.
pub fn matched_server(
    rules: &[StickRule],
    f: &Facts,
    usable: &dyn Fn(usize) -> bool,
) -> Option<usize> {
    rules
        .iter()
        .filter(|r| r.kind != StickKind::StoreRequest)
        .find_map(|r| {
            let (t, key) = r.key(f)?;
            let e = t.lookup(&key)?;
            let id = t.server_id(&e)?;
            // Server ids are positions counted from 1, as HAProxy's default `id`.
            let s = usize::try_from(id).ok()?.checked_sub(1)?;
            usable(s).then_some(s)
        })
}

/// Keys to store the session's server under once it is known.
pub type ToStore = Vec<(Arc<Table>, Key)>;

/// The keys of the `stick on` / `stick store-request` rules that apply:
/// the first of each table, as in HAProxy. Taken while the request is at
/// hand; [`store`] records the server once connected.
pub fn to_store(rules: &[StickRule], f: &Facts) -> ToStore {
    let mut out: ToStore = Vec::new();
    for r in rules.iter().filter(|r| r.kind != StickKind::Match) {
        let Some((t, key)) = r.key(f) else { continue };
        if !out.iter().any(|(o, _)| Arc::ptr_eq(o, &t)) {
            out.push((t, key));
        }
    }
    out
}

/// Records `server` (an index in the backend) under each key.
pub fn store(keys: ToStore, server: usize) {
    let Ok(id) = u32::try_from(server + 1) else {
        return;
    };
    for (t, key) in keys {
        if let Some(e) = t.get_or_create(key) {
            t.set_server_id(&e, id, crate::state::stick::now_ms());
        }
    }
}
