//! The configuration: text in, typed model out.
//!
//! ```text
//!  haproxy.cfg ─lexer─▶ words ─parse (keyword table, defaults folded)─┐
//!                                                                     ├─▶ Config ─validate─▶ Config (+ warnings)
//!  fulcrum.yaml ─────────────────────serde_yaml───────────────────────┘      │
//!                                                             emit::to_cfg ◀─┴─▶ yaml::to_yaml
//! ```
//!
//! Every problem is a [`Diagnostic`] `file:line: message`; the readers and
//! the validator collect them all rather than stop at the first.

pub mod addresses;
pub mod apache;
mod args;
mod bind_kw;
mod check_kw;
pub mod cond;
pub mod diag;
pub mod emit;
mod global_kw;
pub mod keywords;
pub mod lexer;
pub mod model;
mod not_yet;
pub mod overrides;
pub mod parse;
pub mod peers_check;
mod peers_kw;
mod proxy_kw;
mod resolvers_kw;
mod server_kw;
pub mod validate;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diag::{Diagnostic, Diagnostics, Severity, Span};
pub use model::Config;
pub use parse::{parse_cfg, parse_sources, Parsed, Source};
pub use proxy_kw::ERRORFILE_CODES;
pub use validate::validate;
pub use yaml::parse_yaml;

/// The two ways to write a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// haproxy.cfg syntax.
    Cfg,
    /// The model's YAML form.
    Yaml,
}

impl Format {
    /// YAML for `.yaml`/`.yml` files, haproxy.cfg otherwise.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            _ => Format::Cfg,
        }
    }
}

/// Expands `-f` arguments: a directory stands for its `*.cfg` files in
/// lexical order (as HAProxy does), a file for itself.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut out = Vec::new();
    let mut diags = Diagnostics::default();
    for p in paths {
        let name: Arc<str> = p.display().to_string().into();
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut files: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.is_file() && f.extension().is_some_and(|e| e == "cfg"))
                        .collect();
                    files.sort();
                    out.extend(files);
                }
                Err(e) => diags.error(Span::file(&name), format!("cannot read directory: {e}")),
            }
        } else {
            out.push(p.clone());
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// Reads and parses the given files (haproxy.cfg or a single YAML file).
/// Validation is separate: see [`check`].
pub fn load(paths: &[PathBuf]) -> Parsed {
    let mut diags = Diagnostics::default();
    let files = match expand_paths(paths) {
        Ok(f) => f,
        Err(d) => {
            return Parsed {
                config: Config::default(),
                diags: d,
            }
        }
    };
    let mut sources = Vec::new();
    for f in &files {
        let name: Arc<str> = f.display().to_string().into();
        match std::fs::read(f) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push((Format::of(f), Source { name, text })),
                Err(e) => {
                    let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    diags.error(
                        Span::new(&name, u32::try_from(line).unwrap_or(u32::MAX)),
                        "invalid UTF-8 in configuration file",
                    );
                }
            },
            Err(e) => diags.error(
                Span::file(&name),
                format!("cannot open configuration file: {e}"),
            ),
        }
    }
    if files.is_empty() && !diags.has_errors() {
        let name: Arc<str> = "<command line>".into();
        diags.error(
            Span::file(&name),
            "no configuration file given (use -f FILE)",
        );
    }
    if diags.has_errors() {
        return Parsed {
            config: Config::default(),
            diags,
        };
    }
    let yaml: Vec<&Source> = sources
        .iter()
        .filter(|(f, _)| *f == Format::Yaml)
        .map(|(_, s)| s)
        .collect();
    let mut parsed = match (yaml.as_slice(), sources.len()) {
        ([y], 1) => parse_yaml(&y.text, &y.name),
        ([], _) => {
            let cfg: Vec<Source> = sources.into_iter().map(|(_, s)| s).collect();
            parse_sources(&cfg, &|n| std::env::var(n).ok())
        }
        ([y, ..], _) => {
            diags.error(
                Span::file(&y.name),
                "a YAML configuration must be the only -f file",
            );
            Parsed {
                config: Config::default(),
                diags: Diagnostics::default(),
            }
        }
    };
    diags.extend(std::mem::take(&mut parsed.diags));
    parsed.diags = diags;
    parsed
}

/// Loads and validates: what `fulcrum -c` does. Returns the model when there
/// is no error, and every diagnostic either way.
pub fn check(paths: &[PathBuf]) -> (Option<Config>, Diagnostics) {
    let Parsed { config, mut diags } = load(paths);
    if diags.has_errors() {
        return (None, diags);
    }
    diags.extend(validate(&config));
    diags.extend(validate::check_environment(&config));
    if diags.has_errors() {
        (None, diags)
    } else {
        (Some(config), diags)
    }
}
