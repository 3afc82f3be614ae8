//! Match methods and pattern sets: what an ACL compares its sample with.
//! Patterns are compiled once (lower-cased for `-i`, regexes into one set,
//! networks parsed) and matching allocates nothing unless the sample must
//! be converted to text.

use std::collections::HashSet;
use std::net::IpAddr;

use super::sample::{Type, Value};

/// HAProxy's match methods (`-m METHOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMethod {
    /// `found`: the sample exists.
    Found,
    /// `bool`: the sample is true.
    Bool,
    /// `int`: numbers and ranges.
    Int,
    /// `ip`: addresses and networks.
    Ip,
    /// `bin`: hex-written bytes, compared exactly.
    Bin,
    /// `len`: the length, as `int`.
    Len,
    /// `str`: exact string.
    Str,
    /// `beg`: prefix.
    Beg,
    /// `end`: suffix.
    End,
    /// `sub`: substring.
    Sub,
    /// `reg`: regular expression.
    Reg,
    /// `dir`: slash-delimited segments.
    Dir,
    /// `dom`: dot-delimited labels.
    Dom,
}

impl MatchMethod {
    /// Reads `-m NAME` and the fetch suffixes (`path_beg`).
    pub fn from_name(s: &str) -> Option<MatchMethod> {
        use MatchMethod::*;
        Some(match s {
            "found" => Found,
            "bool" => Bool,
            "int" => Int,
            "ip" => Ip,
            "bin" => Bin,
            "len" => Len,
            "str" => Str,
            "beg" => Beg,
            "end" => End,
            "sub" => Sub,
            "reg" => Reg,
            "dir" => Dir,
            "dom" => Dom,
            _ => return None,
        })
    }

    /// The method a fetch of this type uses when none is named.
    pub fn default_for(t: Type) -> MatchMethod {
        match t {
            Type::Bool => MatchMethod::Bool,
            Type::Int => MatchMethod::Int,
            Type::Ip => MatchMethod::Ip,
            Type::Str => MatchMethod::Str,
            Type::Bin => MatchMethod::Bin,
        }
    }

    /// Whether the method takes patterns.
    pub fn takes_patterns(self) -> bool {
        !matches!(self, MatchMethod::Found | MatchMethod::Bool)
    }
}

/// Integer range, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lo: i64,
    hi: i64,
}

/// A compiled set of patterns; matching any one is a match.
#[derive(Debug, Clone)]
pub struct Patterns {
    method: MatchMethod,
    icase: bool,
    strs: Vec<Box<[u8]>>,
    /// Exact strings in a set, when there are many (pattern files).
    set: HashSet<Box<[u8]>>,
    ranges: Vec<Range>,
    nets: Vec<ipnet::IpNet>,
    regs: Option<regex::bytes::RegexSet>,
}

/// Exact strings past this many go into a hash set.
const SET_AFTER: usize = 8;

/// `10.0.0.0/8`, `10.1.2.3`, `::1`, `10.0.0.0/255.0.0.0`.
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Some(n.trunc());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ipnet::IpNet::from(ip));
    }
    let (a, m) = s.split_once('/')?;
    let a: std::net::Ipv4Addr = a.parse().ok()?;
    let m = u32::from(m.parse::<std::net::Ipv4Addr>().ok()?);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return None;
    }
    ipnet::Ipv4Net::new(a, m.leading_ones() as u8)
        .ok()
        .map(|n| ipnet::IpNet::V4(n.trunc()))
}

fn parse_int(s: &str) -> Result<i64, String> {
    s.parse().map_err(|_| format!("'{s}' is not an integer"))
}

/// `5`, `1:100`, `:10`, `10:`.
fn parse_range(s: &str) -> Result<Range, String> {
    match s.split_once(':') {
        None => parse_int(s).map(|v| Range { lo: v, hi: v }),
        Some((a, b)) => Ok(Range {
            lo: if a.is_empty() {
                i64::MIN
            } else {
                parse_int(a)?
            },
            hi: if b.is_empty() {
                i64::MAX
            } else {
                parse_int(b)?
            },
        }),
    }
    .map_err(|e| format!("invalid integer range '{s}': {e}"))
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Patterns {
    /// Compiles `values` for `method`; `-i` makes string methods ignore case.
    pub fn compile(
        method: MatchMethod,
        icase: bool,
        values: &[String],
    ) -> Result<Patterns, String> {
        let mut p = Patterns {
            method,
            icase,
            strs: Vec::new(),
            set: HashSet::new(),
            ranges: Vec::new(),
            nets: Vec::new(),
            regs: None,
        };
        let mut it = values.iter();
        let mut regs = Vec::new();
        while let Some(v) = it.next() {
            match method {
                MatchMethod::Found | MatchMethod::Bool => {
                    return Err(format!(
                        "match method '{}' takes no value, got '{v}'",
                        if method == MatchMethod::Found {
                            "found"
                        } else {
                            "bool"
                        }
                    ))
                }
                MatchMethod::Int | MatchMethod::Len => {
                    let op = v.as_str();
                    let r = match op {
                        "eq" | "ge" | "gt" | "le" | "lt" => {
                            let n = it
                                .next()
                                .ok_or_else(|| format!("operator '{op}' expects a number"))?;
                            let n = parse_int(n)?;
                            match op {
                                "eq" => Range { lo: n, hi: n },
                                "ge" => Range {
                                    lo: n,
                                    hi: i64::MAX,
                                },
                                "gt" => Range {
                                    lo: n.saturating_add(1),
                                    hi: i64::MAX,
                                },
                                "le" => Range {
                                    lo: i64::MIN,
                                    hi: n,
                                },
                                _ => Range {
                                    lo: i64::MIN,
                                    hi: n.saturating_sub(1),
                                },
                            }
                        }
                        _ => parse_range(v)?,
                    };
                    p.ranges.push(r);
                }
                MatchMethod::Ip => p.nets.push(parse_net(v).ok_or_else(|| {
                    format!("'{v}' is not a valid IPv4 or IPv6 address or network")
                })?),
                MatchMethod::Bin => p.strs.push(
                    hex_decode(v)
                        .ok_or_else(|| format!("'{v}' is not a hexadecimal string"))?
                        .into(),
                ),
                MatchMethod::Reg => regs.push(v.clone()),
                _ => {
                    let b: Box<[u8]> = if icase {
                        v.to_ascii_lowercase().into_bytes().into()
                    } else {
                        v.as_bytes().into()
                    };
                    p.strs.push(b);
                }
            }
        }
        if !regs.is_empty() {
            let set = regex::bytes::RegexSetBuilder::new(&regs)
                .case_insensitive(icase)
                .build()
                .map_err(|e| {
                    let bad = regs
                        .iter()
                        .find(|r| regex::bytes::Regex::new(r).is_err())
                        .cloned()
                        .unwrap_or_default();
                    format!(
                        "invalid regex '{bad}': {}",
                        e.to_string().lines().last().unwrap_or("").trim()
                    )
                })?;
            p.regs = Some(set);
        }
        if method == MatchMethod::Str && p.strs.len() > SET_AFTER {
            p.set = std::mem::take(&mut p.strs).into_iter().collect();
        }
        Ok(p)
    }

    /// Whether no pattern was given (an ACL that can then only match with
    /// `found` or `bool`).
    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
            && self.set.is_empty()
            && self.ranges.is_empty()
            && self.nets.is_empty()
            && self.regs.is_none()
    }

    /// Whether the sample matches one of the patterns.
    pub fn matches(&self, v: &Value) -> bool {
        use MatchMethod::*;
        match self.method {
            Found => true,
            Bool => v.to_bool(),
            Int => v
                .to_int()
                .is_some_and(|n| self.ranges.iter().any(|r| r.lo <= n && n <= r.hi)),
            Len => {
                let n = v.to_bytes().len() as i64;
                self.ranges.iter().any(|r| r.lo <= n && n <= r.hi)
            }
            Ip => v
                .to_ip()
                .is_some_and(|ip| self.nets.iter().any(|n| net_contains(n, ip))),
            Bin => {
                let b = v.to_bytes();
                self.strs.iter().any(|p| **p == *b)
            }
            Reg => {
                let b = v.to_bytes();
                self.regs.as_ref().is_some_and(|r| r.is_match(&b))
            }
            _ => {
                let s = v.to_bytes();
                if !self.set.is_empty() && self.set_contains(&s) {
                    return true;
                }
                self.strs
                    .iter()
                    .any(|p| text_match(self.method, &s, p, self.icase))
            }
        }
    }

    /// Exact lookup in the pattern set; with `-i` the sample is lowered
    /// into a stack buffer when short, so that matching does not allocate.
    fn set_contains(&self, s: &[u8]) -> bool {
        if !self.icase {
            return self.set.contains(s);
        }
        let mut small = [0u8; 256];
        match small.get_mut(..s.len()) {
            Some(lowered) => {
                lowered.copy_from_slice(s);
                lowered.make_ascii_lowercase();
                self.set.contains(&*lowered)
            }
            None => self.set.contains(&*s.to_ascii_lowercase()),
        }
    }
}

/// IPv4 samples match IPv4-mapped IPv6 networks and the reverse.
fn net_contains(n: &ipnet::IpNet, ip: IpAddr) -> bool {
    if n.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| n.contains(&IpAddr::V4(v4))),
        IpAddr::V4(v4) => n.contains(&IpAddr::V6(v4.to_ipv6_mapped())),
    }
}

/// Compares with `p`, which `-i` already lowered; `icase` compares the
/// sample without case, without copying it.
fn text_match(m: MatchMethod, s: &[u8], p: &[u8], icase: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if icase {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match m {
        MatchMethod::Str => eq(s, p),
        MatchMethod::Beg => s.get(..p.len()).is_some_and(|head| eq(head, p)),
        MatchMethod::End => s
            .len()
            .checked_sub(p.len())
            .and_then(|at| s.get(at..))
            .is_some_and(|tail| eq(tail, p)),
        MatchMethod::Sub => p.is_empty() || s.windows(p.len()).any(|w| eq(w, p)),
        MatchMethod::Dir => delimited(s, p, b"/?", icase),
        MatchMethod::Dom => delimited(s, p, b"/?.:", icase),
        _ => false,
    }
}

/// `p` (without its own edge delimiters) appears in `s` between delimiters
/// or the ends: `dir /t1/api` matches `/t1/api/x`, not `/t1/apix`.
fn delimited(s: &[u8], p: &[u8], delims: &[u8], icase: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if icase {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let is_d = |b: &u8| delims.contains(b);
    let start = p.iter().position(|b| !is_d(b)).unwrap_or(p.len());
    let end = p
        .iter()
        .rposition(|b| !is_d(b))
        .map(|i| i + 1)
        .unwrap_or(start);
    let p = p.get(start..end.max(start)).unwrap_or_default();
    if p.is_empty() {
        return s.iter().any(is_d);
    }
    // A place where `p` is, with a delimiter or an end on either side.
    s.windows(p.len()).enumerate().any(|(at, w)| {
        eq(w, p)
            && (at == 0 || s.get(at - 1).is_some_and(is_d))
            && s.get(at + p.len()).is_none_or(is_d)
    })
}

/// Reads a pattern file: one pattern per line, blank lines and `#`
/// comments skipped, surrounding blanks trimmed.
pub fn read_file(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("failed to open pattern file '{path}': {e}"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn s(v: &str) -> Value<'_> {
        Value::Str(Cow::Borrowed(v.as_bytes()))
    }

    fn pats(m: MatchMethod, icase: bool, v: &[&str]) -> Patterns {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        Patterns::compile(m, icase, &v).unwrap()
    }

    #[test]
    fn dir_matches_whole_segments() {
        let p = pats(MatchMethod::Dir, false, &["/t1/api"]);
        assert!(p.matches(&s("/t1/api")));
        assert!(p.matches(&s("/t1/api/x")));
        assert!(p.matches(&s("/x/t1/api?y")));
        assert!(!p.matches(&s("/t1/apix")));
        assert!(!p.matches(&s("/xt1/api")));
    }

    #[test]
    fn dom_matches_labels() {
        let p = pats(MatchMethod::Dom, true, &["Example.com"]);
        assert!(p.matches(&s("www.example.com")));
        assert!(p.matches(&s("example.com:8080")));
        assert!(!p.matches(&s("badexample.com")));
    }

    #[test]
    fn ints_ranges_and_operators() {
        let p = pats(MatchMethod::Int, false, &["1:3", "ge", "100"]);
        assert!(p.matches(&Value::Int(2)));
        assert!(p.matches(&Value::Int(150)));
        assert!(!p.matches(&Value::Int(50)));
        assert!(Patterns::compile(MatchMethod::Int, false, &["x".into()]).is_err());
    }

    #[test]
    fn ips_and_case() {
        let p = pats(
            MatchMethod::Ip,
            false,
            &["10.0.0.0/8", "192.168.1.0/255.255.255.0"],
        );
        assert!(p.matches(&Value::Ip("10.2.3.4".parse().unwrap())));
        assert!(p.matches(&Value::Ip("192.168.1.9".parse().unwrap())));
        assert!(p.matches(&Value::Ip("::ffff:10.0.0.1".parse().unwrap())));
        assert!(!p.matches(&Value::Ip("11.0.0.1".parse().unwrap())));
        let many: Vec<String> = (0..20).map(|i| format!("Host{i}")).collect();
        let p = Patterns::compile(MatchMethod::Str, true, &many).unwrap();
        assert!(p.matches(&s("HOST7")));
        assert!(!p.matches(&s("host70")));
    }

    #[test]
    fn bad_regex_is_named() {
        let e = Patterns::compile(MatchMethod::Reg, false, &["ok".into(), "(".into()]).unwrap_err();
        assert!(e.contains("invalid regex '('"), "{e}");
    }
}
