//! The haproxy.cfg text the conversion writes: sections of lines, each
//! part led by a comment that quotes the httpd line it came from, so an
//! operator can check the translation line by line.

use std::fmt::Write as _;

use super::tree::Directive;
use crate::config::Span;

/// One section being written.
#[derive(Debug, Default)]
pub struct Section {
    /// `frontend apache`, `backend t1rws`...
    pub header: String,
    /// Comments above the header.
    pub about: Vec<String>,
    /// Its lines, indented when written.
    pub lines: Vec<String>,
    /// Lines written after all others: `use_backend` and `use-server`,
    /// which HAProxy evaluates after every http-request rule anyway.
    pub tail: Vec<String>,
}

impl Section {
    /// A section `header`, led by `about` comments.
    pub fn new(header: impl Into<String>) -> Section {
        Section {
            header: header.into(),
            ..Section::default()
        }
    }

    /// A keyword line.
    pub fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// A line written after all the others (see [`Section::tail`]).
    pub fn last(&mut self, text: impl Into<String>) {
        self.tail.push(text.into());
    }

    /// A comment line.
    pub fn note(&mut self, text: impl AsRef<str>) {
        self.lines.push(format!("# {}", text.as_ref()));
    }

    /// A comment quoting httpd's line `d` at its place.
    pub fn from(&mut self, d: &Directive) {
        self.note(format!("{}    ({})", apache_line(d), place(&d.at)));
    }
}

/// The ACL lines for a path httpd matches by segment (`ProxyPass`,
/// `<Location>`): `/a` takes `/a` and `/a/...`; `/a/` takes `/a/...`.
pub fn segment_acl(acl: &str, path: &str) -> Vec<String> {
    let p = regex_word(path);
    if path.ends_with('/') {
        vec![format!("acl {acl} path_beg {p}")]
    } else {
        vec![
            format!("acl {acl} path {p}"),
            format!("acl {acl} path_beg {p}/"),
        ]
    }
}

/// `file:line` of a span.
pub fn place(at: &Span) -> String {
    at.to_string()
}

/// A directive as httpd reads it, arguments quoted where they need it.
pub fn apache_line(d: &Directive) -> String {
    let mut s = d.name.clone();
    for a in &d.args {
        s.push(' ');
        if a.is_empty() || a.contains(char::is_whitespace) {
            let _ = write!(s, "\"{}\"", a.replace('"', "\\\""));
        } else {
            s.push_str(a);
        }
    }
    s
}

/// A word for haproxy.cfg: double-quoted when it holds anything the
/// tokenizer would split or read (space, `#`, quotes, `$`, a backslash).
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '#' | '"' | '\'' | '\\' | '$'));
    if plain {
        return word.to_string();
    }
    format!("\"{}\"", escaped(word, &['"', '$']))
}

/// A regular expression (or any text) as one unquoted haproxy.cfg word.
pub fn regex_word(re: &str) -> String {
    escaped(re, &[' ', '\t', '#', '"', '\''])
}

/// `text` with a backslash before each of `special`, and before each
/// backslash the tokenizer would read as an escape (`\r`, `\x41`,
/// `\\`, `\#`...). Others (`\.`, `\1`, `\s`) HAProxy keeps as written,
/// so a regex reads as it was written.
fn escaped(text: &str, special: &[char]) -> String {
    let mut s = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let read_as_escape = c == '\\'
            && chars.peek().is_none_or(|n| {
                matches!(
                    n,
                    ' ' | '\t' | '#' | '\\' | '\'' | '"' | '$' | 'r' | 'n' | 't' | 'x'
                )
            });
        if special.contains(&c) || read_as_escape {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Text for a log-format argument: `%` is written `%%`; then quoted.
pub fn log_format_text(text: &str) -> String {
    quote(&text.replace('%', "%%"))
}

/// The whole file.
pub fn write(head: &[String], sections: &[Section]) -> String {
    let mut out = String::new();
    for h in head {
        let _ = writeln!(out, "# {h}");
    }
    for s in sections {
        out.push('\n');
        for a in &s.about {
            let _ = writeln!(out, "# {a}");
        }
        let _ = writeln!(out, "{}", s.header);
        for l in s.lines.iter().chain(&s.tail) {
            let _ = writeln!(out, "    {l}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_the_tokenizer_needs_it() {
        assert_eq!(quote("ROUTEID=.T1; path=/t1"), "\"ROUTEID=.T1; path=/t1\"");
        assert_eq!(quote("t1rws1:8080"), "t1rws1:8080");
        assert_eq!(quote("a\"b$c"), "\"a\\\"b\\$c\"");
        assert_eq!(regex_word("^/a b#\\.(.*)$"), "^/a\\ b\\#\\.(.*)$");
        assert_eq!(regex_word("a\\\\b\\t"), "a\\\\\\b\\\\t");
        assert_eq!(quote("\\1/t1\\2"), "\"\\1/t1\\2\"");
        assert_eq!(log_format_text("100%"), "100%%");
        assert_eq!(segment_acl("p", "/"), ["acl p path_beg /"]);
        assert_eq!(segment_acl("p", "/t1/"), ["acl p path_beg /t1/"]);
        assert_eq!(
            segment_acl("p", "/t1"),
            ["acl p path /t1", "acl p path_beg /t1/"]
        );
    }
}
