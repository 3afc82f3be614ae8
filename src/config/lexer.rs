//! One configuration line into words, by HAProxy's rules (manual 2.2, 2.3):
//! `#` starts a comment outside quotes; backslash escapes (`\ `, `\#`, `\\`,
//! `\'`, `\"`, `\r`, `\n`, `\t`, `\xNN`) outside single quotes; `"weak"`
//! quotes keep spaces and expand `$NAME`, `${NAME}`, `${NAME-default}` and
//! `${NAME[*]}` (one word per space-separated value); `'strong'` quotes keep
//! everything as written. The lexer is pure: the environment is passed in.

/// Why a line could not be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    /// A quote was opened and never closed.
    #[error("unmatched {0} quote")]
    UnmatchedQuote(&'static str),
    /// A backslash at the very end of a line escapes nothing.
    #[error("backslash at end of line: fulcrum, like HAProxy, has no line continuation")]
    TrailingBackslash,
    /// `\x` not followed by two hexadecimal digits.
    #[error("truncated or invalid '\\x' sequence (expected two hexadecimal digits)")]
    BadHexEscape,
    /// `${` without its closing brace.
    #[error("unterminated '${{' in environment variable reference")]
    UnterminatedVar,
    /// `$` followed by nothing that can name a variable.
    #[error("invalid environment variable name after '$' (write '\\$' for a dollar sign)")]
    BadVarName,
    /// An escape produced bytes that are not UTF-8 text.
    #[error("escaped bytes do not form UTF-8 text")]
    NotUtf8,
    /// A control character other than a tab.
    #[error("control character 0x{0:02x} in line")]
    ControlChar(u8),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Splits `line` into words. `env` looks up environment variables.
pub fn split_line(
    line: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, LexError> {
    let bytes = line.as_bytes();
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    // A word exists once anything, even an empty pair of quotes, was seen.
    let mut in_word = false;
    let mut quote = Quote::None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\t' && (b < 0x20 || b == 0x7f) {
            // A CR at the very end is the tail of a CRLF line ending.
            if b == b'\r' && i + 1 == bytes.len() {
                break;
            }
            return Err(LexError::ControlChar(b));
        }
        match (quote, b) {
            (Quote::None, b' ' | b'\t') => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (Quote::None, b'#') => break,
            (Quote::Single, b'\'') => quote = Quote::None,
            (Quote::Single, _) => cur.push(b),
            (_, b'\\') => {
                i += 1;
                let Some(&next) = bytes.get(i) else {
                    return Err(LexError::TrailingBackslash);
                };
                match next {
                    b'r' => cur.push(b'\r'),
                    b'n' => cur.push(b'\n'),
                    b't' => cur.push(b'\t'),
                    b'x' => {
                        let hex = bytes.get(i + 1..i + 3).ok_or(LexError::BadHexEscape)?;
                        let hex = std::str::from_utf8(hex).map_err(|_| LexError::BadHexEscape)?;
                        let v = u8::from_str_radix(hex, 16).map_err(|_| LexError::BadHexEscape)?;
                        cur.push(v);
                        i += 2;
                    }
                    b' ' | b'\t' | b'#' | b'\\' | b'\'' | b'"' | b'$' => cur.push(next),
                    // HAProxy keeps an unknown escape as written, backslash included.
                    other => {
                        cur.push(b'\\');
                        cur.push(other);
                    }
                }
                in_word = true;
            }
            (Quote::None, b'"') => {
                quote = Quote::Double;
                in_word = true;
            }
            (Quote::None, b'\'') => {
                quote = Quote::Single;
                in_word = true;
            }
            (Quote::Double, b'"') => quote = Quote::None,
            (Quote::Double, b'$') => {
                let (consumed, value, split) = expand_var(&bytes[i + 1..], env)?;
                i += consumed;
                if split {
                    // `${NAME[*]}`: each space-separated value is its own word.
                    let mut parts = value.split(' ').filter(|p| !p.is_empty()).peekable();
                    while let Some(p) = parts.next() {
                        cur.extend_from_slice(p.as_bytes());
                        if parts.peek().is_some() {
                            words.push(std::mem::take(&mut cur));
                        }
                    }
                } else {
                    cur.extend_from_slice(value.as_bytes());
                }
            }
            (_, _) => {
                cur.push(b);
                in_word = true;
            }
        }
        i += 1;
    }
    match quote {
        Quote::Double => return Err(LexError::UnmatchedQuote("double")),
        Quote::Single => return Err(LexError::UnmatchedQuote("single")),
        Quote::None => {}
    }
    if in_word {
        words.push(cur);
    }
    words
        .into_iter()
        .map(|w| String::from_utf8(w).map_err(|_| LexError::NotUtf8))
        .collect()
}

/// Reads a variable reference after a `$`. Returns the number of bytes
/// consumed after the dollar, the value, and whether `[*]` asked for a split.
fn expand_var(
    rest: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(usize, String, bool), LexError> {
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    if rest.first() == Some(&b'{') {
        let close = rest
            .iter()
            .position(|&b| b == b'}')
            .ok_or(LexError::UnterminatedVar)?;
        let inner = std::str::from_utf8(&rest[1..close]).map_err(|_| LexError::BadVarName)?;
        let name_end = inner
            .bytes()
            .position(|b| !is_name(b))
            .unwrap_or(inner.len());
        let (name, tail) = inner.split_at(name_end);
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            return Err(LexError::BadVarName);
        }
        let (value, split) = match tail {
            "" => (env(name).unwrap_or_default(), false),
            "[*]" => (env(name).unwrap_or_default(), true),
            // The default replaces only a variable that does not exist, not an empty one.
            t if t.starts_with('-') => (env(name).unwrap_or_else(|| t[1..].to_string()), false),
            _ => return Err(LexError::BadVarName),
        };
        Ok((close + 1, value, split))
    } else {
        let end = rest.iter().position(|&b| !is_name(b)).unwrap_or(rest.len());
        if end == 0 || rest[0].is_ascii_digit() {
            return Err(LexError::BadVarName);
        }
        let name = std::str::from_utf8(&rest[..end]).map_err(|_| LexError::BadVarName)?;
        Ok((end, env(name).unwrap_or_default(), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("9000".into()),
            "EMPTY" => Some(String::new()),
            "LIST" => Some("a b  c".into()),
            _ => None,
        }
    }

    fn words(line: &str) -> Vec<String> {
        split_line(line, &env).unwrap()
    }

    #[test]
    fn plain_words_and_comments() {
        assert_eq!(
            words("  bind  :80\ttransparent # the VIP"),
            ["bind", ":80", "transparent"]
        );
        assert_eq!(words("global#section"), ["global"]);
        assert!(words("   # only a comment").is_empty());
        assert!(words("").is_empty());
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(
            words(r"stats realm Haproxy\ Statistics"),
            ["stats", "realm", "Haproxy Statistics"]
        );
        assert_eq!(words(r"x \#not-comment"), ["x", "#not-comment"]);
        assert_eq!(words(r#"x "a b # c""#), ["x", "a b # c"]);
        assert_eq!(words(r"x 'a \n $PORT'"), ["x", r"a \n $PORT"]);
        assert_eq!(words(r"x a\r\nb\x41"), ["x", "a\r\nbA"]);
        assert_eq!(words(r#"x "" y"#), ["x", "", "y"]);
        assert_eq!(words(r#"x "a"'b'c"#), ["x", "abc"]);
        assert_eq!(words(r"x \q"), ["x", r"\q"]);
        assert_eq!(words("x y\r"), ["x", "y"]);
    }

    #[test]
    fn environment() {
        assert_eq!(
            words(r#"bind "127.0.0.1:${PORT}""#),
            ["bind", "127.0.0.1:9000"]
        );
        assert_eq!(
            words(r#"bind "127.0.0.1:$PORT""#),
            ["bind", "127.0.0.1:9000"]
        );
        assert_eq!(
            words(r#"bind "127.0.0.1:${NOPE-8080}""#),
            ["bind", "127.0.0.1:8080"]
        );
        assert_eq!(words(r#"x "${EMPTY-dflt}""#), ["x", ""]);
        assert_eq!(words(r#"x "${NOPE}""#), ["x", ""]);
        assert_eq!(words(r#"x "${LIST[*]}" y"#), ["x", "a", "b", "c", "y"]);
        // Outside double quotes nothing is expanded.
        assert_eq!(words("x ${PORT}"), ["x", "${PORT}"]);
        assert_eq!(words(r#"x "\$PORT""#), ["x", "$PORT"]);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            split_line(r#"x "abc"#, &env),
            Err(LexError::UnmatchedQuote("double"))
        );
        assert_eq!(
            split_line("x 'abc", &env),
            Err(LexError::UnmatchedQuote("single"))
        );
        assert_eq!(split_line("x \\", &env), Err(LexError::TrailingBackslash));
        assert_eq!(split_line(r"x \xZZ", &env), Err(LexError::BadHexEscape));
        assert_eq!(
            split_line(r#"x "${PORT""#, &env),
            Err(LexError::UnterminatedVar)
        );
        assert_eq!(split_line(r#"x "$""#, &env), Err(LexError::BadVarName));
        assert_eq!(split_line("x \u{1}", &env), Err(LexError::ControlChar(1)));
        assert_eq!(split_line(r"x \xff", &env), Err(LexError::NotUtf8));
    }
}
