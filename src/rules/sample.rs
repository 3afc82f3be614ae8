//! Samples: the values fetches produce and converters transform, and the
//! expression syntax `fetch(args),conv(args),...` shared by ACLs, actions
//! and log-format strings.

use std::borrow::Cow;
use std::net::IpAddr;

use super::conv::Conv;
use super::facts::Facts;
use super::fetch::Fetch;

/// A sample's value. Strings borrow from the request when they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Text (or binary data: HAProxy's str and bin share this form).
    Str(Cow<'a, [u8]>),
}

/// The type of a sample, for checking converters at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// bool
    Bool,
    /// int
    Int,
    /// ip
    Ip,
    /// str
    Str,
    /// bin
    Bin,
}

impl Type {
    /// HAProxy's name for the type, as its messages say it.
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Int => "integer",
            Type::Ip => "ip",
            Type::Str => "string",
            Type::Bin => "binary",
        }
    }

    /// "a" or "an", for messages.
    pub fn article(self) -> &'static str {
        match self {
            Type::Int | Type::Ip => "an",
            _ => "a",
        }
    }

    /// Whether a sample of this type can be cast to `to`, as HAProxy's
    /// cast table allows (binary data never becomes a number or an address).
    pub fn casts_to(self, to: Type) -> bool {
        use Type::*;
        match (self, to) {
            (a, b) if a == b => true,
            (Bin, Int | Ip | Bool) => false,
            (Ip, Bool) => false,
            (Bool, Ip) => false,
            _ => true,
        }
    }
}

impl<'a> Value<'a> {
    /// The value as text (numbers and addresses printed).
    pub fn to_bytes(&self) -> Cow<'a, [u8]> {
        match self {
            Value::Str(s) => s.clone(),
            Value::Bool(b) => Cow::Owned(if *b { b"1".to_vec() } else { b"0".to_vec() }),
            Value::Int(i) => Cow::Owned(i.to_string().into_bytes()),
            Value::Ip(ip) => Cow::Owned(ip.to_string().into_bytes()),
        }
    }

    /// The value as an integer: strings are read as HAProxy reads them
    /// (leading digits), addresses do not convert.
    pub fn to_int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(i) => Some(*i),
            Value::Ip(IpAddr::V4(v4)) => Some(i64::from(u32::from(*v4))),
            Value::Ip(_) => None,
            Value::Str(s) => parse_leading_int(s),
        }
    }

    /// The value as an address.
    pub fn to_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Int(i) => u32::try_from(*i).ok().map(|v| IpAddr::V4(v.into())),
            Value::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
            Value::Bool(_) => None,
        }
    }

    /// The value as a boolean (a number is true when not zero).
    pub fn to_bool(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Ip(_) => true,
            Value::Str(s) => parse_leading_int(s).is_some_and(|i| i != 0),
        }
    }

    /// Detaches the value from the request it borrows from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Ip(ip) => Value::Ip(ip),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
        }
    }
}

/// `-12abc` -> -12; no leading digit -> None.
pub fn parse_leading_int(s: &[u8]) -> Option<i64> {
    let s = s.trim_ascii();
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let v: i64 = std::str::from_utf8(digits.get(..n)?).ok()?.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// A fetch followed by its converters: `req.hdr(host),lower`.
#[derive(Debug, Clone)]
pub struct Expr {
    /// Where the sample comes from.
    pub fetch: Fetch,
    /// What is done to it, in order.
    pub convs: Vec<Conv>,
}

impl Expr {
    /// Parses `fetch(args),conv(args),...`; `known` resolves backend and
    /// server names for fetches such as `nbsrv`.
    pub fn parse(text: &str, ctx: &super::Context) -> Result<Expr, String> {
        let mut parts = split_top(text, ',').into_iter();
        let first = parts.next().unwrap_or_default();
        let (name, args) = call(first)?;
        let fetch = Fetch::parse(name, &args, ctx)?;
        let mut ty = fetch.output();
        let mut convs = Vec::new();
        for part in parts {
            let (name, args) = call(part)?;
            let conv = Conv::parse(name, &args, ctx)?;
            let (input, output) = conv.types();
            if !ty.casts_to(input) {
                return Err(format!(
                    "converter '{name}' cannot be applied: it takes {} {} and gets {} {} from '{}'",
                    input.article(),
                    input.name(),
                    ty.article(),
                    ty.name(),
                    &text[..text.len() - rest_len(text, part)].trim_end_matches(','),
                ));
            }
            ty = output;
            convs.push(conv);
        }
        Ok(Expr { fetch, convs })
    }

    /// The type of the final sample.
    pub fn output(&self) -> Type {
        self.convs
            .last()
            .map(|c| c.types().1)
            .unwrap_or_else(|| self.fetch.output())
    }

    /// Evaluates to the sample, or None when the fetch finds nothing or a
    /// converter fails.
    pub fn eval<'a>(&self, f: &Facts<'a>) -> Option<Value<'a>> {
        let v = self.fetch.fetch(f)?;
        self.convert(v, f)
    }

    /// Applies the converters to one fetched value.
    pub fn convert<'a>(&self, mut v: Value<'a>, f: &Facts<'a>) -> Option<Value<'a>> {
        for c in &self.convs {
            v = c.apply(v, f)?;
        }
        Some(v)
    }

    /// Calls `each` with every value the fetch gives (all occurrences of a
    /// header, for example) after conversion, until it returns true.
    pub fn any<'a>(&self, f: &Facts<'a>, each: &mut dyn FnMut(&Value<'a>) -> bool) -> bool {
        let mut hit = false;
        self.fetch.fetch_all(f, &mut |v| {
            if let Some(v) = self.convert(v, f) {
                hit = each(&v);
            }
            hit
        });
        hit
    }
}

/// How much of `text` starts at `part` (a slice of it): what is left
/// from that converter on.
fn rest_len(text: &str, part: &str) -> usize {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    text.len() - start
}

/// Splits at `sep` outside parentheses; a backslash protects the next byte.
pub fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// `name(a,b)` -> ("name", ["a", "b"]); `name` -> ("name", []).
pub fn call(text: &str) -> Result<(&str, Vec<String>), String> {
    let Some(open) = text.find('(') else {
        if text.is_empty() {
            return Err("missing sample fetch or converter name".into());
        }
        return Ok((text, Vec::new()));
    };
    let name = &text[..open];
    let Some(inner) = text[open + 1..].strip_suffix(')') else {
        return Err(format!("missing closing ')' after arguments to '{name}'"));
    };
    let args = if inner.is_empty() {
        Vec::new()
    } else {
        split_top(inner, ',').into_iter().map(unescape).collect()
    };
    Ok((name, args))
}

/// Removes the backslashes that protect commas and parentheses.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn expressions_split_at_top_level_commas() {
        assert_eq!(
            split_top("hdr(host,1),lower,map(/a\\,b,x)", ','),
            vec!["hdr(host,1)", "lower", "map(/a\\,b,x)"]
        );
        assert_eq!(
            call("map(/a\\,b,x)").unwrap(),
            ("map", vec!["/a,b".to_string(), "x".to_string()])
        );
        assert!(call("hdr(host").is_err());
    }

    #[test]
    fn leading_ints() {
        assert_eq!(parse_leading_int(b" 42abc"), Some(42));
        assert_eq!(parse_leading_int(b"-7"), Some(-7));
        assert_eq!(parse_leading_int(b"x"), None);
    }
}
