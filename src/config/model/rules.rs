//! Rules as the model keeps them: `acl`, `http-request`, `http-response`,
//! `http-after-response`, `redirect`, `use_backend`, `use-server` and the
//! `stats admin` condition. Each is the line's words after its keyword,
//! kept as written with the line's origin. The rules layer (src/rules)
//! parses and compiles them, so that every fetch, converter and action
//! lives in one place, and reports errors at this origin.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Origin;

/// A rule line's words after its keyword, e.g. `["set-header", "X-A",
/// "1", "if", "{", "path_beg", "/a", "}"]`. In YAML it is one string in
/// haproxy.cfg syntax, so both forms read the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Words {
    /// The words.
    pub words: Vec<String>,
    /// Where the line was written (not serialized).
    pub origin: Origin,
}

impl Words {
    /// Words with no origin (YAML, tests).
    pub fn new(words: Vec<String>) -> Words {
        Words {
            words,
            origin: Origin::default(),
        }
    }

    /// The words as one haproxy.cfg line fragment, quoted where needed.
    pub fn line(&self) -> String {
        self.words
            .iter()
            .map(|w| crate::config::emit::quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Serialize for Words {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.line())
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Words, D::Error> {
        let text = String::deserialize(d)?;
        let words = crate::config::lexer::split_line(&text, &|_| None)
            .map_err(|e| serde::de::Error::custom(format!("in rule '{text}': {e}")))?;
        if words.is_empty() {
            return Err(serde::de::Error::custom("empty rule"));
        }
        Ok(Words::new(words))
    }
}

/// `use_backend NAME [if|unless COND]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseBackend {
    /// The backend to use.
    pub backend: String,
    /// When, from its `if`/`unless` on; always when absent.
    #[serde(default, rename = "when", skip_serializing_if = "Option::is_none")]
    pub cond: Option<Words>,
    /// Where the rule was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// `use-server NAME [if|unless COND]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseServer {
    /// The server to use.
    pub server: String,
    /// When, from its `if`/`unless` on.
    #[serde(default, rename = "when", skip_serializing_if = "Option::is_none")]
    pub cond: Option<Words>,
    /// Where the rule was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}
