//! Log-format strings as actions take them (`set-header X %[src]`,
//! `return lf-string ...`): literal text, `%[expr]` samples, and the
//! connection aliases `%ci %cp %fi %fp %f %b %s %H %pid`.

use std::io::Write;

use super::facts::Facts;
use super::sample::Expr;
use super::Context;

#[derive(Debug, Clone)]
enum Part {
    Lit(Box<[u8]>),
    Sample(Expr),
    ClientIp,
    ClientPort,
    FrontendIp,
    FrontendPort,
    Frontend,
    Backend,
    Server,
    Hostname,
    Pid,
}

/// A compiled log-format string.
#[derive(Debug, Clone)]
pub struct Fmt {
    parts: Vec<Part>,
}

impl Fmt {
    /// Parses a log-format string.
    pub fn parse(text: &str, ctx: &Context) -> Result<Fmt, String> {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                lit.push(b[i]);
                i += 1;
                continue;
            }
            let rest = &text[i + 1..];
            if rest.starts_with('%') {
                lit.push(b'%');
                i += 2;
                continue;
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit).into()));
            }
            if let Some(inner) = rest.strip_prefix('[') {
                let end = closing_bracket(inner)
                    .ok_or_else(|| format!("missing ']' in log-format expression '%[{inner}'"))?;
                let expr = Expr::parse(&inner[..end], ctx)
                    .map_err(|e| format!("log-format '%[{}]': {e}", &inner[..end]))?;
                parts.push(Part::Sample(expr));
                i += 2 + end + 1;
                continue;
            }
            if rest.starts_with('{') {
                return Err(format!(
                    "log-format flags ('%{{...}}') are not supported yet in '{text}'"
                ));
            }
            let alias_len = rest
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            let alias = &rest[..alias_len];
            let part = match alias {
                "ci" => Part::ClientIp,
                "cp" => Part::ClientPort,
                "fi" => Part::FrontendIp,
                "fp" => Part::FrontendPort,
                "f" => Part::Frontend,
                "b" => Part::Backend,
                "s" => Part::Server,
                "H" => Part::Hostname,
                "pid" => Part::Pid,
                "" => return Err(format!("a '%' without a variable in log-format '{text}' (write '%%' for a percent sign)")),
                other => {
                    return Err(format!(
                        "log-format variable '%{other}' is not supported in rules (supported: %[expr], %ci, %cp, %fi, %fp, %f, %b, %s, %H, %pid)"
                    ))
                }
            };
            parts.push(part);
            i += 1 + alias_len;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit.into()));
        }
        Ok(Fmt { parts })
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
            Part::Sample(e) => Some(e),
            _ => None,
        })
    }

    /// Builds the string for one request. A sample that is absent writes
    /// nothing, as in HAProxy.
    pub fn render(&self, f: &Facts) -> Vec<u8> {
        if let Some(l) = self.literal() {
            return l.to_vec();
        }
        let mut out = Vec::new();
        for p in &self.parts {
            let _ = match p {
                Part::Lit(l) => out.write_all(l),
                Part::Sample(e) => match e.eval(f) {
                    Some(v) => out.write_all(&v.to_bytes()),
                    None => Ok(()),
                },
                Part::ClientIp => write!(out, "{}", f.src.ip()),
                Part::ClientPort => write!(out, "{}", f.src.port()),
                Part::FrontendIp => write!(out, "{}", f.dst.ip()),
                Part::FrontendPort => write!(out, "{}", f.dst.port()),
                Part::Frontend => out.write_all(f.frontend.as_bytes()),
                Part::Backend => match f.backend {
                    Some(b) => out.write_all(f.world.backend_name(b).as_bytes()),
                    None => out.write_all(f.frontend.as_bytes()),
                },
                Part::Server => match (f.backend, f.server) {
                    (Some(b), Some(s)) => out.write_all(f.world.server_name(b, s).as_bytes()),
                    _ => out.write_all(b"<NOSRV>"),
                },
                Part::Hostname => out.write_all(hostname().as_bytes()),
                Part::Pid => write!(out, "{}", std::process::id()),
            };
        }
        out
    }
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

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}
