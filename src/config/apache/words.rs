//! Apache httpd's configuration lines, split as httpd splits them: a line
//! ending in `\` goes on to the next, `#` starts a comment only as the
//! first word, and a word may be quoted with `"` or `'` (a backslash then
//! escapes the quote). A section opens with `<Name args>` and closes with
//! `</Name>`.

/// One logical line: where it starts and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line where it starts.
    pub number: u32,
    /// What the line is.
    pub kind: LineKind,
}

/// What a logical line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// `Name arg...`
    Directive {
        /// The directive's name.
        name: String,
        /// Its arguments, quotes removed.
        args: Vec<String>,
    },
    /// `<Name arg...>`
    Open {
        /// The section's name.
        name: String,
        /// The arguments of the tag.
        args: Vec<String>,
    },
    /// `</Name>`
    Close {
        /// The section it closes.
        name: String,
    },
}

/// Why a line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line.
    pub number: u32,
    /// What is wrong.
    pub message: String,
}

/// The logical lines of a file's text, without blanks and comments; a line
/// that cannot be split is an error at its number, and reading goes on.
pub fn lines(text: &str) -> Vec<Result<Line, LineError>> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
        let body = raw.trim_end();
        match body.strip_suffix('\\') {
            Some(cont) => {
                joined.push_str(cont);
                pending = Some((start, joined));
                continue;
            }
            None => joined.push_str(body),
        }
        let trimmed = joined.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        out.push(line(start, trimmed));
    }
    if let Some((start, joined)) = pending {
        let trimmed = joined.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            out.push(line(start, trimmed));
        }
    }
    out
}

fn line(number: u32, text: &str) -> Result<Line, LineError> {
    let error = |message: String| LineError { number, message };
    // httpd reads a line as a C string: a NUL ends it early, and no
    // directive holds other control characters.
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(error(format!(
            "control character 0x{:02x} in the line",
            u32::from(c)
        )));
    }
    if let Some(inner) = text.strip_prefix("</") {
        let name = inner
            .strip_suffix('>')
            .ok_or_else(|| error(format!("'{text}': a closing tag ends with '>'")))?
            .trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(error(format!("'{text}': a closing tag is </Name>")));
        }
        return Ok(Line {
            number,
            kind: LineKind::Close {
                name: name.to_string(),
            },
        });
    }
    if let Some(inner) = text.strip_prefix('<') {
        let inner = inner
            .strip_suffix('>')
            .ok_or_else(|| error(format!("'{text}': a section tag ends with '>'")))?;
        let mut words = split(inner).map_err(error)?.into_iter();
        let name = words
            .next()
            .ok_or_else(|| error(format!("'{text}': a section tag names its section")))?;
        return Ok(Line {
            number,
            kind: LineKind::Open {
                name,
                args: words.collect(),
            },
        });
    }
    let mut words = split(text).map_err(error)?.into_iter();
    let name = words.next().unwrap_or_default();
    Ok(Line {
        number,
        kind: LineKind::Directive {
            name,
            args: words.collect(),
        },
    })
}

/// Splits a line into words; quotes group, a backslash escapes a quote.
fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&first) => word.push(first),
                    c if c == first => {
                        closed = true;
                        break;
                    }
                    c => word.push(c),
                }
            }
            if !closed {
                return Err(format!("a quote ({first}) is not closed"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<LineKind> {
        lines(text).into_iter().map(|l| l.unwrap().kind).collect()
    }

    fn d(name: &str, args: &[&str]) -> LineKind {
        LineKind::Directive {
            name: name.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn directives_sections_quotes_and_continuations() {
        let text = "# a comment\n\n<Proxy balancer://t1rws>\n  BalancerMember http://a:8080 route=T1\n\
                    Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/t1\" env=BALANCER_ROUTE_CHANGED\n\
                    ProxySet \\\n  stickysession=ROUTEID\n</Proxy>\n";
        assert_eq!(
            kinds(text),
            vec![
                LineKind::Open {
                    name: "Proxy".into(),
                    args: vec!["balancer://t1rws".into()]
                },
                d("BalancerMember", &["http://a:8080", "route=T1"]),
                d(
                    "Header",
                    &[
                        "add",
                        "Set-Cookie",
                        "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/t1",
                        "env=BALANCER_ROUTE_CHANGED"
                    ]
                ),
                d("ProxySet", &["stickysession=ROUTEID"]),
                LineKind::Close {
                    name: "Proxy".into()
                },
            ]
        );
        // The continued line is reported where it starts.
        let numbers: Vec<u32> = lines(text).into_iter().map(|l| l.unwrap().number).collect();
        assert_eq!(numbers, vec![3, 4, 5, 6, 8]);
    }

    #[test]
    fn broken_lines_are_errors_at_their_number() {
        let got = lines("Header add X \"open\n<Proxy balancer://a\n</Proxy\nok\n");
        let errors: Vec<u32> = got
            .iter()
            .filter_map(|l| l.as_ref().err())
            .map(|e| e.number)
            .collect();
        assert_eq!(errors, vec![1, 2, 3]);
        assert!(matches!(got[3], Ok(Line { number: 4, .. })));
    }
}
