//! YAML: the serde form of [`Config`]. Reading it gives the same model the
//! haproxy.cfg reader gives; serde_yaml reports the line of a bad value.

use std::sync::Arc;

use super::diag::{Diagnostics, Span};
use super::model::Config;
use super::parse::Parsed;

/// Reads a YAML configuration.
pub fn parse_yaml(text: &str, name: &str) -> Parsed {
    let file: Arc<str> = name.into();
    let mut diags = Diagnostics::default();
    let config = match serde_yaml::from_str::<Config>(text) {
        Ok(mut c) => {
            for p in &mut c.proxies {
                p.origins.0.insert(String::new(), Span::file(&file));
            }
            c
        }
        Err(e) => {
            let span = match e.location() {
                Some(l) => Span::new(&file, u32::try_from(l.line()).unwrap_or(u32::MAX)),
                None => Span::file(&file),
            };
            diags.error(span, e.to_string());
            Config::default()
        }
    };
    Parsed { config, diags }
}

/// Writes a configuration as YAML.
pub fn to_yaml(config: &Config) -> String {
    // Serializing plain data with string keys cannot fail; an error here would
    // be a bug in the model's serde attributes, which the round-trip tests catch.
    serde_yaml::to_string(config).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
}
