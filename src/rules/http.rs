//! An HTTP head as the rules read and edit it. Until a rule changes it, every
//! part is a range into the receive buffer, so reading costs no copy; an
//! edited part owns its new bytes. The proxy parses heads into this form and
//! writes them out from it.

use std::ops::Range;

/// Bytes of a head: still in the receive buffer, or replaced by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// A range of the buffer the head was parsed from.
    At(Range<usize>),
    /// New bytes.
    Own(Box<[u8]>),
}

impl Text {
    /// The bytes, reading ranges from `buf`.
    pub fn of<'a>(&'a self, buf: &'a [u8]) -> &'a [u8] {
        match self {
            Text::At(r) => buf.get(r.clone()).unwrap_or_default(),
            Text::Own(b) => b,
        }
    }

    /// New bytes.
    pub fn own(b: impl Into<Box<[u8]>>) -> Text {
        Text::Own(b.into())
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::At(0..0)
    }
}

/// One header field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name, as written.
    pub name: Text,
    /// Its value, without the surrounding white space.
    pub value: Text,
}

/// A request's or a response's head: the start line's parts and the fields.
/// For a request `first` is (method, target); for a response it is
/// (status code, reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// Method, or status code as text.
    pub first: Text,
    /// Request target, or reason phrase.
    pub second: Text,
    /// HTTP/1.x minor version.
    pub minor: u8,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

/// A head and the buffer its ranges point into.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The receive buffer.
    pub buf: &'a [u8],
    /// The head.
    pub head: &'a Head,
}

impl<'a> View<'a> {
    /// The method of a request.
    pub fn method(&self) -> &'a [u8] {
        self.head.first.of(self.buf)
    }

    /// The target of a request, as sent (path and query, or an absolute URI).
    pub fn target(&self) -> &'a [u8] {
        self.head.second.of(self.buf)
    }

    /// The path: the target without its query string, and without scheme
    /// and authority when the target is an absolute URI.
    pub fn path(&self) -> &'a [u8] {
        let t = self.target();
        let t = t.split(|&b| b == b'?').next().unwrap_or(t);
        strip_authority(t)
    }

    /// The path with its query string: the target without scheme and
    /// authority (`pathq`).
    pub fn pathq(&self) -> &'a [u8] {
        strip_authority(self.target())
    }

    /// The query string, after `?` (None without one).
    pub fn query(&self) -> Option<&'a [u8]> {
        split_once(self.target(), b'?').map(|(_, query)| query)
    }

    /// Every value of field `name` (names compare without case), in order.
    /// Values are whole lines: `fhdr` semantics.
    pub fn lines<'n>(&self, name: &'n [u8]) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        let buf = self.buf;
        self.head
            .fields
            .iter()
            .filter(move |f| f.name.of(buf).eq_ignore_ascii_case(name))
            .map(move |f| f.value.of(buf))
    }

    /// Every comma-separated value of field `name`: `hdr` semantics.
    pub fn values<'n>(&self, name: &'n [u8]) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.lines(name).flat_map(split_commas)
    }

    /// Every field as (name, value).
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let buf = self.buf;
        self.head
            .fields
            .iter()
            .map(move |f| (f.name.of(buf), f.value.of(buf)))
    }

    /// The value of cookie `name` in the request's Cookie fields (first
    /// occurrence), or in a response's Set-Cookie fields.
    pub fn cookies<'n>(&self, header: &'n [u8]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'n
    where
        'a: 'n,
    {
        // A Set-Cookie line holds one cookie followed by attributes.
        let per_line = if header.eq_ignore_ascii_case(b"set-cookie") {
            1
        } else {
            usize::MAX
        };
        self.lines(header).flat_map(move |line| {
            line.split(|&b| b == b';').take(per_line).filter_map(|p| {
                let (name, value) = split_once(p.trim_ascii(), b'=')?;
                Some((name.trim_ascii(), value.trim_ascii()))
            })
        })
    }
}

/// `s` split at its first `sep`, which neither part keeps; None without one.
pub fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let mut parts = s.splitn(2, |&b| b == sep);
    Some((parts.next()?, parts.next()?))
}

/// Splits a field value at commas that are not inside double quotes, each
/// part trimmed.
pub fn split_commas(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(v);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut quoted = false;
        let comma = s.iter().position(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            b == b',' && !quoted
        });
        // The part before the comma; what follows it is read next.
        let (part, after) = match comma.and_then(|i| s.split_at_checked(i)) {
            Some((part, after)) => (part, after.get(1..)),
            None => (s, None),
        };
        rest = after;
        Some(part.trim_ascii())
    })
}

/// `http://host:port/p` -> `/p`; a target in origin form is returned as is.
pub fn strip_authority(t: &[u8]) -> &[u8] {
    if t.first() == Some(&b'/') {
        return t;
    }
    let Some(i) = t.windows(3).position(|w| w == b"://") else {
        return t;
    };
    // The authority, then the path from its '/' (none: an empty path).
    let authority_and_path = t.get(i + 3..).unwrap_or_default();
    authority_and_path
        .iter()
        .position(|&b| b == b'/')
        .and_then(|j| authority_and_path.get(j..))
        .unwrap_or_default()
}

impl Head {
    /// Removes every field called `name`.
    pub fn remove(&mut self, buf: &[u8], name: &[u8]) {
        self.fields
            .retain(|f| !f.name.of(buf).eq_ignore_ascii_case(name));
    }

    /// Removes every field whose name matches `m` (`del-header -m`).
    pub fn remove_matching(&mut self, buf: &[u8], m: &NameMatch) {
        self.fields.retain(|f| !m.matches(f.name.of(buf)));
    }

    /// Appends a field.
    pub fn add(&mut self, name: &[u8], value: Vec<u8>) {
        self.fields.push(Field {
            name: Text::own(name),
            value: Text::own(value),
        });
    }

    /// Replaces every field called `name` by one with `value`.
    pub fn set(&mut self, buf: &[u8], name: &[u8], value: Vec<u8>) {
        self.remove(buf, name);
        self.add(name, value);
    }
}

/// How `del-header -m` matches field names (case does not matter).
#[derive(Debug, Clone)]
pub enum NameMatch {
    /// The whole name (the default).
    Str(Box<[u8]>),
    /// Its beginning.
    Beg(Box<[u8]>),
    /// Its end.
    End(Box<[u8]>),
    /// Anywhere in it.
    Sub(Box<[u8]>),
    /// A regular expression, case-insensitive.
    Reg(regex::bytes::Regex),
}

impl NameMatch {
    /// Whether field name `name` matches.
    pub fn matches(&self, name: &[u8]) -> bool {
        let lower = |b: &[u8]| b.to_ascii_lowercase();
        match self {
            NameMatch::Str(p) => name.eq_ignore_ascii_case(p),
            NameMatch::Beg(p) => lower(name).starts_with(&lower(p)),
            NameMatch::End(p) => lower(name).ends_with(&lower(p)),
            NameMatch::Sub(p) => {
                let (n, p) = (lower(name), lower(p));
                p.is_empty() || n.windows(p.len()).any(|w| w == p.as_slice())
            }
            NameMatch::Reg(re) => re.is_match(name),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn head(target: Range<usize>, fields: &[(Range<usize>, Range<usize>)]) -> Head {
        Head {
            first: Text::At(0..3),
            second: Text::At(target),
            minor: 1,
            fields: fields
                .iter()
                .map(|(n, v)| Field {
                    name: Text::At(n.clone()),
                    value: Text::At(v.clone()),
                })
                .collect(),
        }
    }

    #[test]
    fn path_query_and_values() {
        let buf = b"GET /a/b?x=1 Accept: a, \"b,c\" , d";
        let h = head(4..12, &[(13..19, 21..buf.len())]);
        let v = View { buf, head: &h };
        assert_eq!(v.path(), b"/a/b");
        assert_eq!(v.query(), Some(&b"x=1"[..]));
        let vals: Vec<&[u8]> = v.values(b"accept").collect();
        assert_eq!(vals, vec![&b"a"[..], b"\"b,c\"", b"d"]);
    }

    #[test]
    fn absolute_targets_lose_their_authority() {
        assert_eq!(strip_authority(b"http://h:80/p?q"), b"/p?q");
        assert_eq!(strip_authority(b"http://h"), b"");
        assert_eq!(strip_authority(b"*"), b"*");
    }
}
