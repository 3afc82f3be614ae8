//! Diagnostics: every problem found in a configuration, as `file:line: message`.
//!
//! Parsing and validation collect diagnostics instead of stopping at the
//! first one, so that `fulcrum -c` lists everything wrong in one run.

use std::fmt;
use std::sync::Arc;

/// Where something was written: a file and a 1-based line number.
/// YAML files carry no line for values, so `line` may be absent there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file as it was named on the command line.
    pub file: Arc<str>,
    /// 1-based line, when known.
    pub line: Option<u32>,
}

impl Span {
    /// A span at a line of a file.
    pub fn new(file: &Arc<str>, line: u32) -> Span {
        Span {
            file: file.clone(),
            line: Some(line),
        }
    }

    /// A span naming only the file.
    pub fn file(file: &Arc<str>) -> Span {
        Span {
            file: file.clone(),
            line: None,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}", self.file, l),
            None => write!(f, "{}", self.file),
        }
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Accepted, but the operator should know.
    Warning,
    /// The configuration is refused.
    Error,
}

/// One problem, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File and line.
    pub span: Span,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.span, self.message),
            Severity::Warning => write!(f, "{}: warning: {}", self.span, self.message),
        }
    }
}

impl Diagnostic {
    /// The diagnostic in HAProxy's layout, for tools that read HAProxy's
    /// output: `[ALERT]    (PID) : config : parsing [FILE:LINE] : MESSAGE`
    /// (`[WARNING]` for a warning; no `parsing [...]` without a line).
    pub fn haproxy_layout(&self, pid: u32) -> String {
        let tag = match self.severity {
            Severity::Error => "[ALERT]   ",
            Severity::Warning => "[WARNING] ",
        };
        match self.span.line {
            Some(l) => format!(
                "{tag} ({pid}) : config : parsing [{}:{l}] : {}",
                self.span.file, self.message
            ),
            None => format!(
                "{tag} ({pid}) : config : {}: {}",
                self.span.file, self.message
            ),
        }
    }
}

/// The closing line HAProxy prints after configuration errors.
pub fn haproxy_fatal_line(pid: u32) -> String {
    format!("[ALERT]    ({pid}) : config : Fatal errors found in configuration.")
}

/// Every diagnostic of one check, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Records an error.
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(Severity::Error, span, message.into());
    }

    /// Records a warning.
    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.push(Severity::Warning, span, message.into());
    }

    /// Records a diagnostic once: a `defaults` line inherited by many
    /// proxies is reported at its line a single time.
    fn push(&mut self, severity: Severity, span: Span, message: String) {
        let d = Diagnostic {
            severity,
            span,
            message,
        };
        if !self.0.contains(&d) {
            self.0.push(d);
        }
    }

    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }

    /// Appends another list.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}
