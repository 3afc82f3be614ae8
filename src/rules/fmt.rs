//! Log-format strings (HAProxy's manual, 8.2.4): literal text, `%[expr]`
//! samples, and `%` variables with `%{+Q,-X,...}` flags. Actions
//! (`set-header X %[src]`, `return lf-string ...`) take the connection
//! variables; access-log lines (`log-format`, and the `option httplog` /
//! `tcplog` layouts, which are such strings too) take all of them, read
//! from a [`LogRecord`](super::logline::LogRecord).

use std::io::Write;

use super::facts::Facts;
use super::logline::{LogRecord, Var};
use super::sample::Expr;
use super::Context;

/// `%{...}` flags: `+Q` quotes strings, `+X` writes numbers and
/// addresses in hexadecimal, `+E` escapes `"`, `\` and `]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `Q`.
    pub quote: bool,
    /// `X`.
    pub hex: bool,
    /// `E`.
    pub escape: bool,
}

#[derive(Debug, Clone)]
enum Part {
    Lit(Box<[u8]>),
    /// One or more spaces in a log line: written once, and only after
    /// something else was (so an empty field leaves no double space).
    Sep,
    Sample(Expr, Flags),
    Var(Var, Flags),
}

/// A compiled log-format string.
#[derive(Debug, Clone)]
pub struct Fmt {
    parts: Vec<Part>,
}

/// What a string is for: an action's value, or an access-log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Action,
    Log,
    /// `unique-id-format`: an action's variables, with a log line's
    /// spaces (separators that are not written at the start).
    UniqueId,
}

/// The variables an action string may use (they need no log record).
const ACTION_VARS: &[Var] = &[
    Var::ClientIp,
    Var::ClientPort,
    Var::FrontendIp,
    Var::FrontendPort,
    Var::Frontend,
    Var::Backend,
    Var::Server,
    Var::Hostname,
    Var::Pid,
    Var::Timestamp,
    Var::ReqCounter,
];

impl Fmt {
    /// Parses an action's log-format string.
    pub fn parse(text: &str, ctx: &Context) -> Result<Fmt, String> {
        parse(text, ctx, Scope::Action)
    }

    /// Parses a `unique-id-format` string.
    pub fn parse_unique_id(text: &str, ctx: &Context) -> Result<Fmt, String> {
        parse(text, ctx, Scope::UniqueId)
    }

    /// Parses an access-log format (`log-format`).
    pub fn parse_log(text: &str, ctx: &Context) -> Result<Fmt, String> {
        parse(text, ctx, Scope::Log)
    }

    /// Whether the string is a fixed text with no variable part.
    pub fn literal(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(b""),
            [Part::Lit(l)] => Some(l),
            _ => None,
        }
    }

    /// Every sample expression in the string.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Sample(e, _) => Some(e),
            _ => None,
        })
    }

    /// Builds an action's string for one request. A sample that is absent
    /// writes nothing, as in HAProxy.
    pub fn render(&self, f: &Facts) -> Vec<u8> {
        if let Some(l) = self.literal() {
            return l.to_vec();
        }
        let mut out = Vec::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.extend_from_slice(l),
                // As in a log line: never at the start, never doubled.
                Part::Sep => {
                    if out.last().is_some_and(|&c| c != b' ') {
                        out.push(b' ');
                    }
                }
                Part::Sample(e, _) => {
                    if let Some(v) = e.eval(f) {
                        out.extend_from_slice(&v.to_bytes());
                    }
                }
                Part::Var(v, flags) => {
                    let _ = super::logline::write_action_var(&mut out, *v, *flags, f);
                }
            }
        }
        out
    }

    /// Builds an access-log line. Absent values write `-` (`""` when
    /// quoted), as HAProxy writes them; samples need the request's facts,
    /// and read as absent without them.
    pub fn render_log(&self, f: Option<&Facts>, r: &LogRecord) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        // HAProxy's rule: a separator is written only after a field that
        // wrote something, and never at the start.
        let mut after_space = true;
        for p in &self.parts {
            match p {
                Part::Sep => {
                    if !after_space {
                        out.push(b' ');
                        after_space = true;
                    }
                    continue;
                }
                Part::Lit(l) => out.extend_from_slice(l),
                Part::Sample(e, flags) => {
                    let v = f.and_then(|f| e.eval(f)).map(|v| v.to_bytes());
                    super::logline::write_text(&mut out, v.as_deref(), *flags);
                }
                Part::Var(v, flags) => {
                    let before = out.len();
                    super::logline::write_var(&mut out, *v, *flags, r);
                    if out.len() == before {
                        continue;
                    }
                }
            }
            after_space = false;
        }
        out
    }
}

fn parse(text: &str, ctx: &Context, scope: Scope) -> Result<Fmt, String> {
    let mut parts = Vec::new();
    let mut lit = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    // `%o`: flags that apply to every later variable.
    let mut global = Flags::default();
    let flush = |lit: &mut Vec<u8>, parts: &mut Vec<Part>| {
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(lit).into()));
        }
    };
    while let Some(&c) = b.get(i) {
        if scope != Scope::Action && c == b' ' {
            flush(&mut lit, &mut parts);
            if !matches!(parts.last(), Some(Part::Sep)) {
                parts.push(Part::Sep);
            }
            i += 1;
            continue;
        }
        if c != b'%' {
            lit.push(c);
            i += 1;
            continue;
        }
        let mut rest = &text[i + 1..];
        if rest.starts_with('%') {
            lit.push(b'%');
            i += 2;
            continue;
        }
        flush(&mut lit, &mut parts);
        let mut flags = global;
        let mut used = 1;
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner
                .find('}')
                .ok_or_else(|| format!("missing '}}' after '%{{' in log-format '{text}'"))?;
            flags = parse_flags(&inner[..end], flags)?;
            used += end + 2;
            rest = &inner[end + 1..];
        }
        if let Some(inner) = rest.strip_prefix('[') {
            let end = closing_bracket(inner)
                .ok_or_else(|| format!("missing ']' in log-format expression '%[{inner}'"))?;
            let expr = Expr::parse(&inner[..end], ctx)
                .map_err(|e| format!("log-format '%[{}]': {e}", &inner[..end]))?;
            parts.push(Part::Sample(expr, flags));
            i += used + 1 + end + 1;
            continue;
        }
        let alias_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let alias = &rest[..alias_len];
        if alias == "o" {
            // `%o` changes the flags of what follows and writes nothing.
            global = flags;
            i += used + alias_len;
            continue;
        }
        let var = match Var::from_alias(alias) {
            Some(v) => v,
            None if alias.is_empty() => {
                return Err(format!(
                "a '%' without a variable in log-format '{text}' (write '%%' for a percent sign)"
            ))
            }
            None => {
                return Err(format!(
                    "unknown log-format variable '%{alias}' in '{text}'"
                ))
            }
        };
        if scope != Scope::Log && !ACTION_VARS.contains(&var) {
            return Err(format!(
                "log-format variable '%{alias}' is not supported in rules (supported: %[expr], %ci, %cp, %fi, %fp, %f, %b, %s, %H, %pid, %Ts, %rt)"
            ));
        }
        parts.push(Part::Var(var, flags));
        i += used + alias_len;
    }
    flush(&mut lit, &mut parts);
    Ok(Fmt { parts })
}

/// `+Q,-X,+E`: flags added or removed from `base`.
fn parse_flags(text: &str, mut f: Flags) -> Result<Flags, String> {
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (on, name) = match (item.strip_prefix('+'), item.strip_prefix('-')) {
            (Some(n), _) => (true, n),
            (_, Some(n)) => (false, n),
            _ => {
                return Err(format!(
                    "log-format flag '{item}' must start with '+' or '-'"
                ))
            }
        };
        match name {
            "Q" => f.quote = on,
            "X" => f.hex = on,
            "E" => f.escape = on,
            other => {
                return Err(format!(
                    "log-format flag '{other}' is not supported (supported: Q, X, E)"
                ))
            }
        }
    }
    Ok(f)
}

/// The ']' that closes `%[`, skipping brackets nested in arguments.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return Some(i),
            ']' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Writes bytes as they are (helper for the var writers).
pub(crate) fn put(out: &mut Vec<u8>, b: &[u8]) {
    let _ = out.write_all(b);
}
