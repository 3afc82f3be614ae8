//! Conditional blocks (manual 2.4): `.if COND`, `.elif COND`, `.else`,
//! `.endif`, and the messages `.diag`, `.notice`, `.warning`, `.alert`.
//!
//! Conditions: `0`, a non-zero integer, `defined(NAME)`, `feature(NAME)`,
//! `streq(A,B)`, `strneq(A,B)`, `version_atleast(V)`, `version_before(V)`,
//! `!`, `&&`, `||` (AND binds tighter) and parentheses. fulcrum answers the
//! version predicates as the HAProxy release whose configuration language it
//! speaks ([`HAPROXY_COMPAT_VERSION`]), and `feature()` for nothing.

/// The HAProxy version whose configuration syntax fulcrum follows.
pub const HAPROXY_COMPAT_VERSION: &str = "2.6";

/// One level of `.if` nesting.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Lines of the enclosing level are being read.
    parent_active: bool,
    /// A branch of this `.if` was already taken.
    taken: bool,
    /// The current branch is being read.
    active: bool,
    /// `.else` was seen.
    seen_else: bool,
}

/// The stack of open `.if` blocks.
#[derive(Debug, Default)]
pub struct CondStack {
    frames: Vec<Frame>,
}

/// What a directive line asks the reader to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Directive {
    /// Nothing more (the stack was updated).
    None,
    /// Report a message at this level.
    Message(MessageLevel, String),
}

/// Levels of `.diag` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLevel {
    /// `.diag`: only in diagnostic mode; fulcrum shows it with `-d`.
    Diag,
    /// `.notice`.
    Notice,
    /// `.warning`.
    Warning,
    /// `.alert`: a fatal error.
    Alert,
}

impl CondStack {
    /// True when ordinary lines are read (not inside a false branch).
    pub fn active(&self) -> bool {
        self.frames.last().is_none_or(|f| f.active)
    }

    /// True when an `.if` is still open.
    pub fn open(&self) -> bool {
        !self.frames.is_empty()
    }

    /// Handles a line whose first word starts with a dot.
    pub fn directive(
        &mut self,
        words: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Directive, String> {
        let rest = &words[1..];
        match words[0].as_str() {
            ".if" => {
                let parent_active = self.active();
                let v = parent_active && eval(rest, env)?;
                self.frames.push(Frame {
                    parent_active,
                    taken: v,
                    active: v,
                    seen_else: false,
                });
            }
            ".elif" => {
                let f = self
                    .frames
                    .last_mut()
                    .ok_or("'.elif' without a matching '.if'")?;
                if f.seen_else {
                    return Err("'.elif' after '.else'".into());
                }
                let v = f.parent_active && !f.taken && eval(rest, env)?;
                f.active = v;
                f.taken |= v;
            }
            ".else" => {
                let f = self
                    .frames
                    .last_mut()
                    .ok_or("'.else' without a matching '.if'")?;
                if f.seen_else {
                    return Err("second '.else' in the same '.if' block".into());
                }
                f.seen_else = true;
                f.active = f.parent_active && !f.taken;
                f.taken = true;
            }
            ".endif" => {
                self.frames
                    .pop()
                    .ok_or("'.endif' without a matching '.if'")?;
            }
            level @ (".diag" | ".notice" | ".warning" | ".alert") => {
                if !self.active() {
                    return Ok(Directive::None);
                }
                let level = match level {
                    ".diag" => MessageLevel::Diag,
                    ".notice" => MessageLevel::Notice,
                    ".warning" => MessageLevel::Warning,
                    _ => MessageLevel::Alert,
                };
                return Ok(Directive::Message(level, rest.join(" ")));
            }
            other => return Err(format!("unknown directive '{other}'")),
        }
        Ok(Directive::None)
    }
}

/// Evaluates a condition as `-cc` is given it: one argument, split into
/// words as a configuration line is (environment variables expanded).
pub fn eval_text(text: &str) -> Result<bool, String> {
    let env = |name: &str| std::env::var(name).ok();
    let words = super::lexer::split_line(text, &env).map_err(|e| e.to_string())?;
    eval(&words, &env)
}

/// Evaluates a condition given as words.
fn eval(words: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<bool, String> {
    let text = words.join(" ");
    let mut p = CondParser {
        s: text.as_bytes(),
        i: 0,
        env,
    };
    if p.s.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(false);
    }
    let v = p.or()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unexpected text in condition at '{}'",
            &text[p.i..]
        ));
    }
    Ok(v)
}

struct CondParser<'a> {
    s: &'a [u8],
    i: usize,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl CondParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(tok.as_bytes()) {
            self.i += tok.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut v = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            v = v || r;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut v = self.unary()?;
        while self.eat("&&") {
            let r = self.unary()?;
            v = v && r;
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<bool, String> {
        if self.eat("!") {
            return Ok(!self.unary()?);
        }
        if self.eat("(") {
            let v = self.or()?;
            if !self.eat(")") {
                return Err("missing ')' in condition".into());
            }
            return Ok(v);
        }
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        {
            self.i += 1;
        }
        let word = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        if word.is_empty() {
            return Err("expected a value or a predicate in condition".into());
        }
        if let Ok(n) = word.parse::<i64>() {
            return Ok(n != 0);
        }
        if !self.eat("(") {
            return Err(format!("unknown term '{word}' in condition"));
        }
        let args = self.args()?;
        let arg = |n: usize| -> Result<&str, String> {
            args.get(n)
                .map(String::as_str)
                .ok_or_else(|| format!("'{word}()' expects {} argument(s)", n + 1))
        };
        Ok(match word.as_str() {
            "defined" => (self.env)(arg(0)?).is_some(),
            "feature" => {
                arg(0)?;
                false
            }
            "streq" => arg(0)? == arg(1)?,
            "strneq" => arg(0)? != arg(1)?,
            "version_atleast" => version_cmp(HAPROXY_COMPAT_VERSION, arg(0)?)?.is_ge(),
            "version_before" => version_cmp(HAPROXY_COMPAT_VERSION, arg(0)?)?.is_lt(),
            other => return Err(format!("unknown predicate '{other}()' in condition")),
        })
    }

    /// Comma-separated arguments up to the closing parenthesis.
    fn args(&mut self) -> Result<Vec<String>, String> {
        let end = self.s[self.i..]
            .iter()
            .position(|&b| b == b')')
            .ok_or("missing ')' after predicate arguments")?;
        let inner = String::from_utf8_lossy(&self.s[self.i..self.i + end]).into_owned();
        self.i += end + 1;
        if inner.is_empty() {
            return Ok(Vec::new());
        }
        Ok(inner.split(',').map(|a| a.trim().to_string()).collect())
    }
}

fn version_cmp(ours: &str, theirs: &str) -> Result<std::cmp::Ordering, String> {
    let parse = |v: &str| -> Result<Vec<u32>, String> {
        let core = v.split(['-', '+']).next().unwrap_or_default();
        core.split('.')
            .map(|n| {
                n.parse::<u32>()
                    .map_err(|_| format!("invalid version '{v}'"))
            })
            .collect()
    };
    let (mut a, mut b) = (parse(ours)?, parse(theirs)?);
    let n = a.len().max(b.len());
    a.resize(n, 0);
    b.resize(n, 0);
    Ok(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(n: &str) -> Option<String> {
        (n == "SET").then(|| "yes".to_string())
    }

    fn ev(s: &str) -> Result<bool, String> {
        let words: Vec<String> = s.split(' ').map(String::from).collect();
        eval(&words, &env)
    }

    #[test]
    fn conditions() {
        assert_eq!(ev("1"), Ok(true));
        assert_eq!(ev("0"), Ok(false));
        assert_eq!(ev("defined(SET)"), Ok(true));
        assert_eq!(ev("!defined(UNSET)"), Ok(true));
        assert_eq!(ev("streq(a,a) && strneq(a,b)"), Ok(true));
        assert_eq!(ev("0 || 1 && 0"), Ok(false));
        assert_eq!(ev("(0 || 1) && 1"), Ok(true));
        assert_eq!(ev("version_atleast(2.4)"), Ok(true));
        assert_eq!(ev("version_before(2.6)"), Ok(false));
        assert_eq!(ev("feature(OPENSSL)"), Ok(false));
        assert!(ev("bogus(1)").is_err());
        assert!(ev("(1").is_err());
    }

    #[test]
    fn blocks() {
        let w = |s: &str| -> Vec<String> { s.split(' ').map(String::from).collect() };
        let mut st = CondStack::default();
        st.directive(&w(".if 0"), &env).unwrap();
        assert!(!st.active());
        st.directive(&w(".elif 1"), &env).unwrap();
        assert!(st.active());
        st.directive(&w(".else"), &env).unwrap();
        assert!(!st.active());
        st.directive(&w(".endif"), &env).unwrap();
        assert!(st.active() && !st.open());
        assert!(st.directive(&w(".endif"), &env).is_err());
    }
}
