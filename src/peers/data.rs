//! Between a live table and the wire: keys as bytes, stored data as
//! HAProxy's numbered data types, and a table's definition message.

use crate::runtime::peers::SharedTable;
use crate::state::stick::{Data, Field, Key, KeyKind, Rate};

use super::wire::{dt, Define, KeyType, Update, Value};

/// The definition of `t`, announced as table `id`.
pub fn define(id: u64, t: &SharedTable) -> Define {
    let spec = t.table.spec();
    // server_id always (see `Table::fields`), then the stored data in
    // data type order, as updates carry them.
    let mut data = 1u64 << dt::SERVER_ID;
    let mut params = Vec::new();
    for d in &spec.store {
        let (t, period) = data_type(*d);
        data |= 1 << t;
        if let Some(p) = period {
            params.push((t, 1, Some(p)));
        }
    }
    params.sort_by_key(|p| p.0);
    Define {
        id,
        name: t.wire_name.as_bytes().to_vec(),
        key_type: match t.key_type {
            2 => KeyType::Integer,
            4 => KeyType::Ipv4,
            5 => KeyType::Ipv6,
            _ => KeyType::String,
        },
        key_len: t.key_len,
        data,
        expire: spec.expire.map_or(0, |d| d.as_millis() as u64),
        params,
    }
}

/// A stored datum's number, and its period for rates.
fn data_type(d: Data) -> (u32, Option<u64>) {
    match d {
        Data::ServerId => (dt::SERVER_ID, None),
        Data::Gpc0 => (dt::GPC0, None),
        Data::Gpc0Rate(p) => (dt::GPC0_RATE, Some(p)),
        Data::ConnCnt => (dt::CONN_CNT, None),
        Data::ConnRate(p) => (dt::CONN_RATE, Some(p)),
        Data::ConnCur => (dt::CONN_CUR, None),
        Data::HttpReqCnt => (dt::HTTP_REQ_CNT, None),
        Data::HttpReqRate(p) => (dt::HTTP_REQ_RATE, Some(p)),
        Data::HttpErrCnt => (dt::HTTP_ERR_CNT, None),
        Data::HttpErrRate(p) => (dt::HTTP_ERR_RATE, Some(p)),
    }
}

/// The wire form of a field.
fn value(f: Field) -> (u32, Value) {
    let rate = |r: Rate| Value::Freq {
        age: r.age,
        curr: r.curr,
        prev: r.prev,
    };
    match f {
        Field::ServerId(id) => (dt::SERVER_ID, Value::Int(u64::from(id))),
        Field::Gpc0(n) => (dt::GPC0, Value::Int(n)),
        Field::Gpc0Rate(r) => (dt::GPC0_RATE, rate(r)),
        Field::ConnCnt(n) => (dt::CONN_CNT, Value::Int(n)),
        Field::ConnRate(r) => (dt::CONN_RATE, rate(r)),
        Field::ConnCur(n) => (dt::CONN_CUR, Value::Int(n)),
        Field::HttpReqCnt(n) => (dt::HTTP_REQ_CNT, Value::Int(n)),
        Field::HttpReqRate(r) => (dt::HTTP_REQ_RATE, rate(r)),
        Field::HttpErrCnt(n) => (dt::HTTP_ERR_CNT, Value::Int(n)),
        Field::HttpErrRate(r) => (dt::HTTP_ERR_RATE, rate(r)),
    }
}

/// The field a received value fills, when fulcrum keeps that datum.
fn field(t: u32, v: Value) -> Option<Field> {
    let rate = |v: Value| match v {
        Value::Freq { age, curr, prev } => Some(Rate { age, curr, prev }),
        _ => None,
    };
    let int = |v: Value| match v {
        Value::Int(n) => Some(n),
        _ => None,
    };
    Some(match t {
        dt::SERVER_ID => Field::ServerId(u32::try_from(int(v)?).ok()?),
        dt::GPC0 => Field::Gpc0(int(v)?),
        dt::GPC0_RATE => Field::Gpc0Rate(rate(v)?),
        dt::CONN_CNT => Field::ConnCnt(int(v)?),
        dt::CONN_RATE => Field::ConnRate(rate(v)?),
        dt::HTTP_REQ_CNT => Field::HttpReqCnt(int(v)?),
        dt::HTTP_REQ_RATE => Field::HttpReqRate(rate(v)?),
        dt::HTTP_ERR_CNT => Field::HttpErrCnt(int(v)?),
        dt::HTTP_ERR_RATE => Field::HttpErrRate(rate(v)?),
        _ => return None,
    })
}

/// The key's bytes on the wire.
pub fn key_bytes(k: &Key) -> Vec<u8> {
    match k {
        Key::V4(a) => a.to_vec(),
        Key::V6(a) => a.to_vec(),
        // HAProxy's integer keys are 32 bits.
        Key::Int(i) => (*i as u32).to_be_bytes().to_vec(),
        Key::Str(s) => s.to_vec(),
    }
}

/// The key of received bytes in a table of kind `kind`.
pub fn key_of(kind: KeyKind, b: &[u8]) -> Option<Key> {
    match kind {
        KeyKind::Ip => Some(Key::V4(b.try_into().ok()?)),
        KeyKind::Ipv6 => Some(Key::V6(b.try_into().ok()?)),
        KeyKind::Integer => Some(Key::Int(i64::from(u32::from_be_bytes(b.try_into().ok()?)))),
        KeyKind::String(_) => kind.bytes_key(b),
    }
}

/// An update message for an entry: its fields and time left.
pub fn update(id: u32, key: &Key, fields: &[Field], expire_in: Option<u64>) -> Update {
    Update {
        id: Some(id),
        // Timed, as HAProxy sends them, when the table expires entries;
        // untimed otherwise, so that the receiver keeps its own setting
        // (a timed 0 would expire the entry there at once).
        expire: expire_in.map(|e| u32::try_from(e).unwrap_or(u32::MAX)),
        key: key_bytes(key),
        values: fields.iter().map(|f| value(*f)).collect(),
    }
}

/// The fields of a received update that fulcrum keeps.
pub fn fields(u: &Update) -> Vec<Field> {
    u.values.iter().filter_map(|(t, v)| field(*t, *v)).collect()
}
