//! `stick-table`: the definition of a proxy's table (the live entries are
//! `state::stick`). Store types are written as in haproxy.cfg, also in YAML
//! (`http_req_rate(10s)`), so both forms read the same.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{is_false, Origin};
use crate::util::time::{parse_time, serde_time, TimeDisplay};

/// `type ip|ipv6|integer|string [len N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StickKeyType {
    /// IPv4 addresses.
    Ip,
    /// IPv6 addresses.
    Ipv6,
    /// Integers.
    Integer,
    /// Strings (`len`, default 32).
    String,
}

/// The default `len` of a string table.
pub const DEFAULT_STRING_LEN: u32 = 32;

/// One `store` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickStore {
    /// `conn_cur`
    ConnCur,
    /// `conn_cnt`
    ConnCnt,
    /// `conn_rate(PERIOD)`
    ConnRate(Duration),
    /// `http_req_cnt`
    HttpReqCnt,
    /// `http_req_rate(PERIOD)`
    HttpReqRate(Duration),
    /// `http_err_cnt`
    HttpErrCnt,
    /// `http_err_rate(PERIOD)`
    HttpErrRate(Duration),
    /// `gpc0`
    Gpc0,
    /// `gpc0_rate(PERIOD)`
    Gpc0Rate(Duration),
    /// `server_id`
    ServerId,
}

/// Store types HAProxy 2.6 knows that fulcrum does not keep yet.
const NOT_YET_STORED: &[&str] = &[
    "gpc",
    "gpc_rate",
    "gpc1",
    "gpc1_rate",
    "gpt",
    "gpt0",
    "sess_cnt",
    "sess_rate",
    "http_fail_cnt",
    "http_fail_rate",
    "bytes_in_cnt",
    "bytes_in_rate",
    "bytes_out_cnt",
    "bytes_out_rate",
    "glitch_cnt",
    "server_key",
    "server_name",
];

impl StickStore {
    /// Parses one item of a `store` list, as HAProxy words its errors.
    pub fn parse(item: &str) -> Result<StickStore, String> {
        let (name, arg) = match item.split_once('(') {
            Some((n, rest)) => (n, Some(rest.strip_suffix(')').unwrap_or(rest))),
            None => (item, None),
        };
        let period = |arg: Option<&str>| -> Result<Duration, String> {
            let a = arg.ok_or_else(|| format!("missing argument to store option '{name}'"))?;
            parse_time(a).map_err(|_| format!("error when processing store option '{name}'"))
        };
        let plain = |s: StickStore| -> Result<StickStore, String> {
            match arg {
                None => Ok(s),
                Some(_) => Err(format!("store option '{name}' takes no argument")),
            }
        };
        match name {
            "conn_cur" => plain(StickStore::ConnCur),
            "conn_cnt" => plain(StickStore::ConnCnt),
            "conn_rate" => Ok(StickStore::ConnRate(period(arg)?)),
            "http_req_cnt" => plain(StickStore::HttpReqCnt),
            "http_req_rate" => Ok(StickStore::HttpReqRate(period(arg)?)),
            "http_err_cnt" => plain(StickStore::HttpErrCnt),
            "http_err_rate" => Ok(StickStore::HttpErrRate(period(arg)?)),
            "gpc0" => plain(StickStore::Gpc0),
            "gpc0_rate" => Ok(StickStore::Gpc0Rate(period(arg)?)),
            "server_id" => plain(StickStore::ServerId),
            n if NOT_YET_STORED.contains(&n) => Err(format!(
                "store option '{n}' is not supported by fulcrum yet (HAProxy 2.6 accepts it)"
            )),
            n => Err(format!("unknown store option '{n}'")),
        }
    }
}

impl fmt::Display for StickStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, p) = match *self {
            StickStore::ConnCur => ("conn_cur", None),
            StickStore::ConnCnt => ("conn_cnt", None),
            StickStore::ConnRate(p) => ("conn_rate", Some(p)),
            StickStore::HttpReqCnt => ("http_req_cnt", None),
            StickStore::HttpReqRate(p) => ("http_req_rate", Some(p)),
            StickStore::HttpErrCnt => ("http_err_cnt", None),
            StickStore::HttpErrRate(p) => ("http_err_rate", Some(p)),
            StickStore::Gpc0 => ("gpc0", None),
            StickStore::Gpc0Rate(p) => ("gpc0_rate", Some(p)),
            StickStore::ServerId => ("server_id", None),
        };
        match p {
            Some(p) => write!(f, "{name}({})", TimeDisplay(p)),
            None => f.write_str(name),
        }
    }
}

impl Serialize for StickStore {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StickStore {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StickStore, D::Error> {
        StickStore::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A `stick-table` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StickTable {
    /// `type`.
    #[serde(rename = "type")]
    pub key: StickKeyType,
    /// `len` (string tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u32>,
    /// `size`: at most this many entries.
    pub size: u64,
    /// `expire`: idle entries go after this long.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expire: Option<Duration>,
    /// `nopurge`: when full, refuse new entries rather than evict old ones.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nopurge: bool,
    /// `store` items, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub store: Vec<StickStore>,
    /// `peers NAME`: the section its entries are pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<String>,
    /// Where the line was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// Parses `size N[k|m|g]` as HAProxy does (0 means "missing").
fn parse_size(s: &str) -> Result<u64, String> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..end]
        .parse()
        .map_err(|_| format!("unexpected character '{s}' in argument of 'size'"))?;
    let mult = match &s[end..] {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        u => {
            let c = u.chars().next().unwrap_or(' ');
            return Err(format!("unexpected character '{c}' in argument of 'size'"));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size '{s}' is too large"))
}

impl StickTable {
    /// Parses the words after `stick-table`.
    pub fn parse(args: &[String]) -> Result<StickTable, String> {
        let mut key = None;
        let mut len = None;
        let mut size = 0;
        let mut expire = None;
        let mut nopurge = false;
        let mut store = Vec::new();
        let mut peers = None;
        let mut it = args.iter();
        while let Some(w) = it.next() {
            let mut val = || {
                it.next()
                    .map(String::as_str)
                    .ok_or_else(|| format!("stick-table: missing argument after '{w}'."))
            };
            match w.as_str() {
                "type" => {
                    let t = val()?;
                    key = Some(match t {
                        "ip" => StickKeyType::Ip,
                        "ipv6" => StickKeyType::Ipv6,
                        "integer" => StickKeyType::Integer,
                        "string" => StickKeyType::String,
                        "binary" => {
                            return Err(
                                "stick-table: type 'binary' is not supported by fulcrum yet (HAProxy 2.6 accepts it)".into(),
                            )
                        }
                        t => return Err(format!("stick-table: unknown type '{t}'.")),
                    });
                    // `len` follows `type string` directly.
                }
                "len" => {
                    let v = val()?;
                    len = Some(
                        v.parse::<u32>()
                            .ok()
                            .filter(|&n| n > 0)
                            .ok_or_else(|| format!("stick-table: invalid length '{v}'."))?,
                    );
                }
                "size" => size = parse_size(val()?).map_err(|e| format!("stick-table: {e}."))?,
                "expire" => {
                    let v = val()?;
                    expire =
                        Some(parse_time(v).map_err(|e| {
                            format!("stick-table: invalid argument of 'expire': {e}.")
                        })?);
                }
                "nopurge" => nopurge = true,
                "store" => {
                    for item in val()?.split(',') {
                        store.push(
                            StickStore::parse(item).map_err(|e| format!("stick-table: {e}."))?,
                        );
                    }
                }
                "peers" => peers = Some(val()?.to_string()),
                "srvkey" | "write-to" | "recv-only" => {
                    return Err(format!(
                    "stick-table: '{w}' is not supported by fulcrum yet (HAProxy 2.6 accepts it)"
                ))
                }
                other => return Err(format!("stick-table: unknown argument '{other}'.")),
            }
        }
        let key = key.ok_or("stick-table: missing type.")?;
        if size == 0 {
            return Err("stick-table: missing size.".into());
        }
        if len.is_some() && key != StickKeyType::String {
            return Err("stick-table: 'len' only applies to 'type string'.".into());
        }
        Ok(StickTable {
            key,
            len,
            size,
            expire,
            nopurge,
            store,
            peers,
            origin: Origin::default(),
        })
    }

    /// The line's words after `stick-table`, for `convert`.
    pub fn words(&self) -> String {
        let mut s = format!(
            "type {}",
            match self.key {
                StickKeyType::Ip => "ip",
                StickKeyType::Ipv6 => "ipv6",
                StickKeyType::Integer => "integer",
                StickKeyType::String => "string",
            }
        );
        if let Some(l) = self.len {
            s.push_str(&format!(" len {l}"));
        }
        s.push_str(&format!(" size {}", self.size));
        if let Some(e) = self.expire {
            s.push_str(&format!(" expire {}", TimeDisplay(e)));
        }
        if self.nopurge {
            s.push_str(" nopurge");
        }
        if !self.store.is_empty() {
            let items: Vec<String> = self.store.iter().map(|d| d.to_string()).collect();
            s.push_str(&format!(" store {}", items.join(",")));
        }
        if let Some(p) = &self.peers {
            s.push_str(&format!(" peers {p}"));
        }
        s
    }
}
