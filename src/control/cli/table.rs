//! `show table [NAME]` and `show peers`: what the stick tables hold and
//! how the peers sections are linked, in HAProxy's layout.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::runtime::Runtime;
use crate::state::stick::{now_ms, Counter, Data, Entry, Key, KeyKind, Table};

fn kind(t: &Table) -> &'static str {
    match t.spec().key {
        KeyKind::Ip => "ip",
        KeyKind::Ipv6 => "ipv6",
        KeyKind::Integer => "integer",
        KeyKind::String(_) => "string",
    }
}

fn header(out: &mut String, t: &Table) {
    let _ = writeln!(
        out,
        "# table: {}, type: {}, size:{}, used:{}",
        t.name(),
        kind(t),
        t.spec().size,
        t.len()
    );
}

fn key_text(k: &Key) -> String {
    match k {
        Key::V4(a) => std::net::Ipv4Addr::from(*a).to_string(),
        Key::V6(a) => std::net::Ipv6Addr::from(*a).to_string(),
        Key::Int(i) => i.to_string(),
        Key::Str(s) => String::from_utf8_lossy(s).into_owned(),
    }
}

fn entry_line(out: &mut String, t: &Table, e: &Arc<Entry>, now: u64) {
    let left = t.fields(e, now).1.map_or(0, |l| l.min(u64::from(u32::MAX)));
    // The table's reference and ours are not uses.
    let used = Arc::strong_count(e).saturating_sub(2);
    let _ = write!(
        out,
        "{:#x}: key={} use={used} exp={left}",
        Arc::as_ptr(e) as usize,
        key_text(e.key())
    );
    let stored_id = t.spec().store.contains(&Data::ServerId);
    if let Some(id) = t.server_id(e).filter(|_| !stored_id) {
        let _ = write!(out, " server_id={id}");
    }
    for d in &t.spec().store {
        let (name, c, period) = match *d {
            Data::ServerId => ("server_id", Counter::ServerId, None),
            Data::Gpc0 => ("gpc0", Counter::Gpc0, None),
            Data::Gpc0Rate(p) => ("gpc0_rate", Counter::Gpc0Rate, Some(p)),
            Data::ConnCnt => ("conn_cnt", Counter::ConnCnt, None),
            Data::ConnRate(p) => ("conn_rate", Counter::ConnRate, Some(p)),
            Data::ConnCur => ("conn_cur", Counter::ConnCur, None),
            Data::HttpReqCnt => ("http_req_cnt", Counter::HttpReqCnt, None),
            Data::HttpReqRate(p) => ("http_req_rate", Counter::HttpReqRate, Some(p)),
            Data::HttpErrCnt => ("http_err_cnt", Counter::HttpErrCnt, None),
            Data::HttpErrRate(p) => ("http_err_rate", Counter::HttpErrRate, Some(p)),
        };
        let v = t.read_at(e, c, now).unwrap_or(0);
        let _ = match period {
            Some(p) => write!(out, " {name}({p})={v}"),
            None => write!(out, " {name}={v}"),
        };
    }
    out.push('\n');
}

/// `show table`: one header per table; `show table NAME`: its entries.
pub fn show_table(rt: &Runtime, name: Option<&str>) -> String {
    let mut out = String::new();
    match name {
        None => {
            for t in &rt.tables {
                header(&mut out, t);
            }
        }
        Some(n) => {
            let Some(t) = rt.tables.iter().find(|t| t.name() == n) else {
                return "Unknown table\n".into();
            };
            header(&mut out, t);
            let now = now_ms();
            let mut entries = t.entries();
            entries.sort_by_key(|e| key_text(e.key()));
            for e in &entries {
                entry_line(&mut out, t, e, now);
            }
        }
    }
    out
}

/// `show peers`: each section, its node, and the tables it shares.
pub fn show_peers(rt: &Runtime) -> String {
    let mut out = String::new();
    for s in &rt.peers {
        let _ = writeln!(
            out,
            "{}: [id={}] local={} addr={}",
            s.name, s.name, s.local, s.listen
        );
        for (n, a) in &s.remotes {
            let _ = writeln!(out, "  peer {n} addr={a}");
        }
        for t in &s.tables {
            let _ = writeln!(
                out,
                "  table {} (sent as '{}')",
                t.table.name(),
                t.wire_name
            );
        }
    }
    out
}
