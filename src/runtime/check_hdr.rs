//! `http-check expect hdr|fhdr`, compiled: the header's name and value
//! patterns, and how a response's header lines are matched against them.

use regex::Regex;

use super::check::ExpectError;
use crate::config::model::{ExpectMatch, HeaderExpect, HeaderMatch, HttpCheckExpect};

/// `http-check expect hdr|fhdr`, compiled: a header whose name matches
/// (case aside, as HAProxy compares names) and, when given, one of whose
/// values matches (exactly as written: values are case-sensitive).
#[derive(Debug, Clone)]
pub struct HeaderRule {
    /// `fhdr`: the whole value is tested; `hdr` tests each of its
    /// comma-separated values.
    pub full: bool,
    /// The name's pattern (strings lower-cased; a regex ignores case).
    pub name: Matcher,
    /// The value's pattern; none: the header's presence is enough.
    pub value: Option<Matcher>,
}

/// A pattern as written, or a log-format string (`name-lf`, `value-lf`)
/// that gives the pattern at each check.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Fixed when the check was compiled.
    Fixed(Pattern),
    /// Built from the check's facts (its variables, its response).
    Lf(HeaderMatch, crate::rules::fmt::Fmt),
}

impl Matcher {
    fn new(m: HeaderMatch, p: &str, lf: bool, fold: bool) -> Result<Matcher, ExpectError> {
        Ok(if lf {
            Matcher::Lf(m, super::check_http::check_fmt(p)?)
        } else {
            Matcher::Fixed(Pattern::new(m, p, fold)?)
        })
    }

    /// The pattern for this check; None when a log-format one makes no
    /// valid regex (the expect then fails).
    fn resolve(
        &self,
        facts: Option<&crate::rules::facts::Facts>,
        fold: bool,
    ) -> Option<std::borrow::Cow<'_, Pattern>> {
        match self {
            Matcher::Fixed(p) => Some(std::borrow::Cow::Borrowed(p)),
            Matcher::Lf(m, f) => {
                let text = facts.map(|f_| f.render(f_)).unwrap_or_default();
                Pattern::new(*m, &String::from_utf8_lossy(&text), fold)
                    .ok()
                    .map(std::borrow::Cow::Owned)
            }
        }
    }
}

/// A `-m` pattern, compiled.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// `str`: equal.
    Str(String),
    /// `beg`: a prefix.
    Beg(String),
    /// `end`: a suffix.
    End(String),
    /// `sub`: contained.
    Sub(String),
    /// `reg`: the regex matches.
    Reg(Regex),
}

impl Pattern {
    /// Compiles `p` for `m`; `fold` lower-cases strings and makes a regex
    /// ignore case (for header names).
    fn new(m: HeaderMatch, p: &str, fold: bool) -> Result<Pattern, ExpectError> {
        let text = if fold {
            p.to_ascii_lowercase()
        } else {
            p.to_string()
        };
        Ok(match m {
            HeaderMatch::Str => Pattern::Str(text),
            HeaderMatch::Beg => Pattern::Beg(text),
            HeaderMatch::End => Pattern::End(text),
            HeaderMatch::Sub => Pattern::Sub(text),
            HeaderMatch::Reg => {
                let flags = if fold { "(?i)" } else { "" };
                Pattern::Reg(Regex::new(&format!("{flags}{p}")).map_err(|source| {
                    ExpectError::Regex {
                        pattern: p.to_string(),
                        source,
                    }
                })?)
            }
        })
    }

    /// Whether `s` matches (already lower-cased for a name).
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Str(p) => s == p,
            Pattern::Beg(p) => s.starts_with(p.as_str()),
            Pattern::End(p) => s.ends_with(p.as_str()),
            Pattern::Sub(p) => s.contains(p.as_str()),
            Pattern::Reg(r) => r.is_match(s),
        }
    }
}

impl HeaderRule {
    /// Compiles an `hdr`/`fhdr` expect.
    pub fn new(e: &HttpCheckExpect) -> Result<HeaderRule, ExpectError> {
        let h = e.header.clone().unwrap_or(HeaderExpect {
            name_match: HeaderMatch::Str,
            name_lf: false,
            value: None,
        });
        Ok(HeaderRule {
            full: e.matcher == ExpectMatch::Fhdr,
            name: Matcher::new(h.name_match, &e.pattern, h.name_lf, true)?,
            value: match &h.value {
                Some(v) => Some(Matcher::new(v.matcher, &v.pattern, v.lf, false)?),
                None => None,
            },
        })
    }
}

impl HeaderRule {
    /// Whether a header line of `head` (the response up to the blank line)
    /// matches: its name, then its value (each comma-separated value for
    /// `hdr`, outside quotes, spaces around trimmed; the whole value for
    /// `fhdr`).
    pub fn matches(&self, head: &[u8]) -> bool {
        self.matches_with(head, None)
    }

    /// Whether a pattern is a log-format string, built at each check.
    pub fn needs_facts(&self) -> bool {
        matches!(self.name, Matcher::Lf(..)) || matches!(self.value, Some(Matcher::Lf(..)))
    }

    /// `matches`, log-format patterns built over `facts`.
    pub fn matches_with(&self, head: &[u8], facts: Option<&crate::rules::facts::Facts>) -> bool {
        let Some(name_pattern) = self.name.resolve(facts, true) else {
            return false;
        };
        let value_pattern = match &self.value {
            Some(v) => match v.resolve(facts, false) {
                Some(p) => Some(p),
                None => return false,
            },
            None => None,
        };
        let text = String::from_utf8_lossy(head);
        // The status line first, then the header lines.
        text.split("\r\n").skip(1).any(|line| {
            let Some((name, value)) = line.split_once(':') else {
                return false;
            };
            if !name_pattern.matches(&name.trim().to_ascii_lowercase()) {
                return false;
            }
            let Some(want) = &value_pattern else {
                return true;
            };
            let value = value.trim_matches([' ', '\t']);
            if self.full {
                want.matches(value)
            } else {
                comma_values(value).any(|v| want.matches(v))
            }
        })
    }
}

/// The comma-separated values of a header value, a quoted string's commas
/// not counting, each trimmed of spaces and tabs.
fn comma_values(value: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().map(|p| p.trim_matches([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        m: ExpectMatch,
        name: (HeaderMatch, &str),
        value: Option<(HeaderMatch, &str)>,
    ) -> HeaderRule {
        let e = HttpCheckExpect {
            comment: None,
            negate: false,
            matcher: m,
            pattern: name.1.into(),
            header: Some(HeaderExpect {
                name_match: name.0,
                name_lf: false,
                value: value.map(|(matcher, p)| crate::config::model::HeaderValue {
                    matcher,
                    pattern: p.into(),
                    lf: false,
                }),
            }),
        };
        HeaderRule::new(&e).expect("compiles")
    }

    const HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\nX-Role: primary, \"a,b\"\r\nSet-Cookie: sessid=1; path=/\r\n\r\n";

    #[test]
    fn names_ignore_case_values_do_not() {
        use HeaderMatch::*;
        let hdr = ExpectMatch::Hdr;
        assert!(rule(hdr, (Str, "x-role"), None).matches(HEAD));
        assert!(rule(hdr, (Beg, "X-R"), None).matches(HEAD));
        assert!(rule(hdr, (Reg, "^set-"), None).matches(HEAD));
        assert!(!rule(hdr, (Str, "x-rol"), None).matches(HEAD));
        assert!(rule(hdr, (Str, "X-Role"), Some((Str, "primary"))).matches(HEAD));
        assert!(!rule(hdr, (Str, "X-Role"), Some((Str, "Primary"))).matches(HEAD));
        assert!(rule(hdr, (Str, "X-Role"), Some((Str, "\"a,b\""))).matches(HEAD));
        assert!(rule(hdr, (Str, "set-cookie"), Some((Beg, "sessid="))).matches(HEAD));
        let fhdr = ExpectMatch::Fhdr;
        assert!(!rule(fhdr, (Str, "X-Role"), Some((Str, "primary"))).matches(HEAD));
        assert!(rule(fhdr, (Str, "X-Role"), Some((End, "\"a,b\""))).matches(HEAD));
    }
}
