//! Converters: `,lower`, `,map(FILE)`, ... applied to a sample in order.
//! Tables (maps, regexes) are built when the configuration is compiled.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;

use super::facts::Facts;
use super::pattern::{self, MatchMethod, Patterns};
use super::sample::{Type, Value};

/// A map file's contents, compiled for one match method.
#[derive(Debug, Clone)]
pub struct Map {
    /// `str`: an exact lookup table.
    exact: HashMap<Box<[u8]>, Box<[u8]>>,
    /// Other methods: each key as a one-pattern set, in file order (the
    /// first that matches wins, as in HAProxy's list matching).
    ordered: Vec<(Patterns, Box<[u8]>)>,
    /// `ip`: (network, value), longest prefix wins.
    nets: Vec<(ipnet::IpNet, Box<[u8]>)>,
    method: MatchMethod,
}

impl Map {
    /// Reads a map file: one `KEY VALUE` per line, `#` comments.
    pub fn load(path: &str, method: MatchMethod) -> Result<Map, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read map file '{path}': {e}"))?;
        Map::parse(&text, method).map_err(|e| format!("map file '{path}': {e}"))
    }

    /// Builds a map from its text.
    pub fn parse(text: &str, method: MatchMethod) -> Result<Map, String> {
        let mut m = Map {
            exact: HashMap::new(),
            ordered: Vec::new(),
            nets: Vec::new(),
            method,
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = match line.find(char::is_whitespace) {
                Some(at) => (&line[..at], line[at..].trim()),
                None => (line, ""),
            };
            let v: Box<[u8]> = v.as_bytes().into();
            match method {
                MatchMethod::Str => {
                    m.exact.entry(k.as_bytes().into()).or_insert(v);
                }
                MatchMethod::Ip => {
                    let net = pattern::parse_net(k)
                        .ok_or_else(|| format!("line {}: '{k}' is not an address", i + 1))?;
                    m.nets.push((net, v));
                }
                _ => {
                    let p = Patterns::compile(method, false, &[k.to_string()])
                        .map_err(|e| format!("line {}: {e}", i + 1))?;
                    m.ordered.push((p, v));
                }
            }
        }
        Ok(m)
    }

    /// The value for `key`.
    pub fn lookup(&self, key: &Value) -> Option<&[u8]> {
        match self.method {
            MatchMethod::Str => self.exact.get(&*key.to_bytes()).map(|v| &**v),
            MatchMethod::Ip => {
                let ip = key.to_ip()?;
                self.nets
                    .iter()
                    .filter(|(n, _)| n.contains(&ip))
                    .max_by_key(|(n, _)| n.prefix_len())
                    .map(|(_, v)| &**v)
            }
            _ => self
                .ordered
                .iter()
                .find(|(p, _)| p.matches(key))
                .map(|(_, v)| &**v),
        }
    }
}

/// What a map gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapOut {
    /// `map_*_str` (the default).
    Str,
    /// `map_*_int`.
    Int,
}

/// One converter.
#[derive(Debug, Clone)]
pub enum Conv {
    /// `lower`
    Lower,
    /// `upper`
    Upper,
    /// `field(INDEX,DELIMITERS[,COUNT])`: 1-based; negative from the end.
    Field(i64, Box<[u8]>, i64),
    /// `word(INDEX,DELIMITERS[,COUNT])`: as field, empty words skipped.
    Word(i64, Box<[u8]>, i64),
    /// `regsub(REGEX,SUBST[,FLAGS])`
    Regsub(regex::bytes::Regex, Box<[u8]>, bool),
    /// `map*(FILE[,DEFAULT])`
    Map(Box<Map>, Option<Box<[u8]>>, MapOut),
    /// `bytes(OFFSET[,LENGTH])`
    Bytes(usize, Option<usize>),
    /// `base64`
    Base64,
    /// `b64dec`
    B64dec,
    /// `json([MODE])`
    Json,
    /// `url_dec`
    UrlDec,
    /// `ipmask(V4MASK[,V6MASK])`
    Ipmask(u8, u8),
    /// `hex`
    Hex,
    /// `length`
    Length,
}

/// The arguments of converter `name` when it has `MIN` to `max` of them:
/// the `MIN` it requires, then the optional ones.
fn want<'a, const MIN: usize>(
    name: &str,
    args: &'a [String],
    max: usize,
) -> Result<(&'a [String; MIN], &'a [String]), String> {
    match args.split_first_chunk::<MIN>() {
        Some((required, optional)) if args.len() <= max => Ok((required, optional)),
        _ => {
            let n = if MIN == max {
                format!("{MIN}")
            } else {
                format!("{MIN} to {max}")
            };
            Err(format!(
                "converter '{name}' expects {n} argument{}, got {}",
                if max == 1 { "" } else { "s" },
                args.len()
            ))
        }
    }
}

fn int(name: &str, s: &str) -> Result<i64, String> {
    s.parse()
        .map_err(|_| format!("converter '{name}': '{s}' is not an integer"))
}

impl Conv {
    /// The converters this module knows.
    pub const NAMES: &'static [&'static str] = &[
        "lower",
        "upper",
        "field",
        "word",
        "regsub",
        "map",
        "map_str",
        "map_beg",
        "map_end",
        "map_sub",
        "map_dir",
        "map_dom",
        "map_reg",
        "map_ip",
        "map_str_int",
        "map_beg_int",
        "map_ip_int",
        "bytes",
        "base64",
        "b64dec",
        "json",
        "url_dec",
        "ipmask",
        "hex",
        "length",
    ];

    /// Parses a converter by name with its arguments.
    pub fn parse(name: &str, args: &[String], _ctx: &super::Context) -> Result<Conv, String> {
        // Up to `max` arguments, all optional.
        let at_most = |max| want::<0>(name, args, max).map(|(_, optional)| optional);
        Ok(match name {
            "lower" => at_most(0).map(|_| Conv::Lower)?,
            "upper" => at_most(0).map(|_| Conv::Upper)?,
            "field" | "word" => {
                let ([idx, delims], count) = want::<2>(name, args, 3)?;
                let idx = int(name, idx)?;
                let count = count
                    .first()
                    .map(|c| int(name, c))
                    .transpose()?
                    .unwrap_or(1);
                if idx == 0 {
                    return Err(format!("converter '{name}': the index must not be 0"));
                }
                let d: Box<[u8]> = delims.as_bytes().into();
                if name == "field" {
                    Conv::Field(idx, d, count)
                } else {
                    Conv::Word(idx, d, count)
                }
            }
            "regsub" => {
                let ([re, subst], flags) = want::<2>(name, args, 3)?;
                let flags = flags.first().map(String::as_str).unwrap_or("");
                let icase = flags.contains('i');
                let re = regex::bytes::RegexBuilder::new(re)
                    .case_insensitive(icase)
                    .build()
                    .map_err(|e| {
                        format!(
                            "converter 'regsub': invalid regex '{re}': {}",
                            first_line(&e.to_string())
                        )
                    })?;
                Conv::Regsub(re, subst.as_bytes().into(), flags.contains('g'))
            }
            m if m == "map" || m.starts_with("map_") => {
                let ([file], default) = want::<1>(name, args, 2)?;
                let rest = m.strip_prefix("map").unwrap_or("");
                let (method, out) = match rest {
                    "" | "_str" => (MatchMethod::Str, MapOut::Str),
                    "_str_int" => (MatchMethod::Str, MapOut::Int),
                    "_beg" => (MatchMethod::Beg, MapOut::Str),
                    "_beg_int" => (MatchMethod::Beg, MapOut::Int),
                    "_end" => (MatchMethod::End, MapOut::Str),
                    "_sub" => (MatchMethod::Sub, MapOut::Str),
                    "_dir" => (MatchMethod::Dir, MapOut::Str),
                    "_dom" => (MatchMethod::Dom, MapOut::Str),
                    "_reg" => (MatchMethod::Reg, MapOut::Str),
                    "_ip" => (MatchMethod::Ip, MapOut::Str),
                    "_ip_int" => (MatchMethod::Ip, MapOut::Int),
                    _ => return Err(format!("unknown converter '{name}'")),
                };
                let map =
                    Map::load(file, method).map_err(|e| format!("converter '{name}': {e}"))?;
                if out == MapOut::Int {
                    if let Some(bad) = map
                        .exact
                        .values()
                        .chain(map.ordered.iter().map(|(_, v)| v))
                        .chain(map.nets.iter().map(|(_, v)| v))
                        .find(|v| super::sample::parse_leading_int(v).is_none())
                    {
                        return Err(format!(
                            "converter '{name}': value '{}' in '{file}' is not an integer",
                            String::from_utf8_lossy(bad),
                        ));
                    }
                }
                Conv::Map(
                    Box::new(map),
                    default.first().map(|d| d.as_bytes().into()),
                    out,
                )
            }
            "bytes" => {
                let ([offset], length) = want::<1>(name, args, 2)?;
                let num = |s: &String| {
                    s.parse::<usize>().map_err(|_| {
                        format!("converter 'bytes': '{s}' is not a non-negative integer")
                    })
                };
                Conv::Bytes(num(offset)?, length.first().map(num).transpose()?)
            }
            "base64" => at_most(0).map(|_| Conv::Base64)?,
            "b64dec" => at_most(0).map(|_| Conv::B64dec)?,
            "json" => match at_most(1)?.first().map(String::as_str) {
                None | Some("utf8" | "utf8s" | "utf8p" | "utf8ps" | "ascii") => Conv::Json,
                Some(o) => return Err(format!("converter 'json': unknown mode '{o}'")),
            },
            "url_dec" => at_most(1).map(|_| Conv::UrlDec)?,
            "ipmask" => {
                let ([v4], v6) = want::<1>(name, args, 2)?;
                let mask = |s: &String, max: u8| -> Result<u8, String> {
                    if let Ok(v) = s.parse::<u8>() {
                        if v <= max {
                            return Ok(v);
                        }
                    }
                    // IPv4 masks may also be written dotted (255.255.255.0).
                    let dotted = (max == 32)
                        .then(|| s.parse::<std::net::Ipv4Addr>().ok())
                        .flatten()
                        .map(u32::from)
                        .filter(|bits| bits.leading_ones() + bits.trailing_zeros() == 32);
                    dotted
                        .map(|bits| bits.leading_ones() as u8)
                        .ok_or_else(|| format!("converter 'ipmask': invalid mask '{s}'"))
                };
                Conv::Ipmask(
                    mask(v4, 32)?,
                    v6.first().map(|m| mask(m, 128)).transpose()?.unwrap_or(128),
                )
            }
            "hex" => at_most(0).map(|_| Conv::Hex)?,
            "length" => at_most(0).map(|_| Conv::Length)?,
            _ => {
                let hint = crate::config::keywords::suggest(name, Self::NAMES.iter().copied())
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                return Err(format!("unknown converter '{name}'{hint}"));
            }
        })
    }

    /// (input, output) types.
    pub fn types(&self) -> (Type, Type) {
        match self {
            Conv::Bytes(..) => (Type::Bin, Type::Bin),
            Conv::Base64 | Conv::Hex => (Type::Bin, Type::Str),
            Conv::B64dec => (Type::Str, Type::Bin),
            Conv::Ipmask(..) => (Type::Ip, Type::Ip),
            Conv::Length => (Type::Str, Type::Int),
            Conv::Map(m, _, out) => (
                if m.method == MatchMethod::Ip {
                    Type::Ip
                } else {
                    Type::Str
                },
                if *out == MapOut::Int {
                    Type::Int
                } else {
                    Type::Str
                },
            ),
            _ => (Type::Str, Type::Str),
        }
    }

    /// Converts one value; None when the conversion fails (no sample).
    pub fn apply<'a>(&self, v: Value<'a>, _f: &Facts<'a>) -> Option<Value<'a>> {
        let s = |v: Vec<u8>| Some(Value::Str(Cow::Owned(v)));
        match self {
            Conv::Lower => s(v.to_bytes().to_ascii_lowercase()),
            Conv::Upper => s(v.to_bytes().to_ascii_uppercase()),
            Conv::Field(i, d, c) => {
                let b = v.to_bytes();
                Some(Value::Str(Cow::Owned(fields(&b, d, *i, *c, false)?)))
            }
            Conv::Word(i, d, c) => {
                let b = v.to_bytes();
                Some(Value::Str(Cow::Owned(fields(&b, d, *i, *c, true)?)))
            }
            Conv::Regsub(re, subst, global) => {
                let b = v.to_bytes();
                let out = if *global {
                    re.replace_all(&b, &**subst)
                } else {
                    re.replace(&b, &**subst)
                };
                s(out.into_owned())
            }
            Conv::Map(m, default, out) => {
                let hit = m
                    .lookup(&v)
                    .map(<[u8]>::to_vec)
                    .or_else(|| default.as_ref().map(|d| d.to_vec()))?;
                match out {
                    MapOut::Str => s(hit),
                    MapOut::Int => super::sample::parse_leading_int(&hit).map(Value::Int),
                }
            }
            Conv::Bytes(off, len) => {
                let b = v.to_bytes();
                let end = len.map(|l| off + l).unwrap_or(b.len()).min(b.len());
                s(b.get(*off..end).unwrap_or_default().to_vec())
            }
            Conv::Base64 => s(base64::engine::general_purpose::STANDARD
                .encode(v.to_bytes())
                .into_bytes()),
            Conv::B64dec => s(base64::engine::general_purpose::STANDARD
                .decode(v.to_bytes())
                .ok()?),
            Conv::Json => s(json_escape(&v.to_bytes())),
            Conv::UrlDec => s(url_decode(&v.to_bytes())),
            Conv::Ipmask(m4, m6) => {
                let ip = v.to_ip()?;
                let net = match ip {
                    IpAddr::V4(_) => ipnet::IpNet::new(ip, *m4).ok()?,
                    IpAddr::V6(_) => ipnet::IpNet::new(ip, *m6).ok()?,
                };
                Some(Value::Ip(net.network()))
            }
            Conv::Hex => {
                // An integer reaches a binary converter as its 8 bytes,
                // big-endian (HAProxy's int-to-bin cast).
                let b = match v {
                    Value::Int(i) => i.to_be_bytes().to_vec().into(),
                    v => v.to_bytes(),
                };
                let mut out = Vec::with_capacity(b.len() * 2);
                for x in b.iter() {
                    out.extend_from_slice(format!("{x:02X}").as_bytes());
                }
                s(out)
            }
            Conv::Length => Some(Value::Int(v.to_bytes().len() as i64)),
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

/// `field`/`word`: the parts of `b` between any of `delims`; `index` is
/// 1-based, negative counts from the end; `count` parts are kept (0: all
/// the rest).
fn fields(b: &[u8], delims: &[u8], index: i64, count: i64, skip_empty: bool) -> Option<Vec<u8>> {
    let parts: Vec<&[u8]> = b
        .split(|c| delims.contains(c))
        .filter(|p| !(skip_empty && p.is_empty()))
        .collect();
    let n = parts.len() as i64;
    let start = if index > 0 { index - 1 } else { n + index };
    if start < 0 || start >= n {
        return None;
    }
    let end = if count <= 0 {
        n
    } else {
        (start + count).min(n)
    };
    let sep = delims.first().copied().unwrap_or(b' ');
    Some(parts.get(start as usize..end as usize)?.join(&[sep][..]))
}

fn json_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 2);
    for ch in String::from_utf8_lossy(b).chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '/' => out.extend_from_slice(b"\\/"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

/// Percent-decoding; `+` stays `+` (HAProxy decodes it only in the query
/// when asked to).
pub fn url_decode(b: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut rest = b;
    while let Some((&c, after)) = rest.split_first() {
        if let (b'%', [h, l, more @ ..]) = (c, after) {
            if let (Some(h), Some(l)) = (hex(*h), hex(*l)) {
                out.push(h << 4 | l);
                rest = more;
                continue;
            }
        }
        out.push(c);
        rest = after;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn field_and_word() {
        assert_eq!(fields(b"a,b,,c", b",", 2, 1, false).unwrap(), b"b");
        assert_eq!(fields(b"a,b,,c", b",", -1, 1, false).unwrap(), b"c");
        assert_eq!(fields(b"a,b,,c", b",", 3, 1, true).unwrap(), b"c");
        assert_eq!(fields(b"a,b,c", b",", 2, 0, false).unwrap(), b"b,c");
        assert!(fields(b"a", b",", 3, 1, false).is_none());
    }

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode(b"%41b%2"), b"Ab%2");
        assert_eq!(url_decode(b"%zz%20"), b"%zz ");
    }

    #[test]
    fn maps_match_by_method() {
        let m = Map::parse("# c\n/api  back-api\n/  back-web\n", MatchMethod::Beg).unwrap();
        assert_eq!(
            m.lookup(&Value::Str(Cow::Borrowed(b"/api/x"))),
            Some(&b"back-api"[..])
        );
        assert_eq!(
            m.lookup(&Value::Str(Cow::Borrowed(b"/x"))),
            Some(&b"back-web"[..])
        );
        let ip = Map::parse("10.0.0.0/8 a\n10.1.0.0/16 b\n", MatchMethod::Ip).unwrap();
        assert_eq!(
            ip.lookup(&Value::Ip("10.1.2.3".parse().unwrap())),
            Some(&b"b"[..])
        );
    }
}
