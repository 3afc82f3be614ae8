//! Rules and their conditions: ACL terms, anonymous ACLs, `use_backend`
//! and `http-request`.

use serde::{Deserialize, Serialize};

use super::{is_false, Origin};

/// `if COND` / `unless COND` after a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `unless` instead of `if`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unless: bool,
    /// ACL terms, all of which must hold (OR-groups come with named ACLs).
    pub terms: Vec<AclTerm>,
    /// Anonymous ACLs (`{ path /metrics }`), which must hold as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anonymous: Vec<AnonymousAcl>,
}

/// An anonymous ACL between braces: a fetch and the values it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousAcl {
    /// `!` before the braces.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// What is tested.
    pub fetch: Fetch,
    /// It holds when any value matches.
    pub values: Vec<String>,
}

/// The sample fetches fulcrum's anonymous ACLs know so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fetch {
    /// `path`: the request path equals a value.
    Path,
    /// `path_beg`: the request path begins with a value.
    PathBeg,
}

impl Fetch {
    /// The fetch's name in a configuration.
    pub fn name(self) -> &'static str {
        match self {
            Fetch::Path => "path",
            Fetch::PathBeg => "path_beg",
        }
    }
}

/// `http-request ACTION [if|unless COND]`; only the action HAProxy's
/// Prometheus exporter is wired with is supported yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpRequestRule {
    /// The action.
    pub action: HttpRequestAction,
    /// When; always when absent.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub cond: Option<Condition>,
}

/// `http-request` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpRequestAction {
    /// `use-service prometheus-exporter`: answer with metrics.
    UsePrometheusExporter,
}

/// One term of a condition: a predefined ACL, maybe negated with `!`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclTerm {
    /// `!` before the name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// The ACL.
    pub acl: PredefinedAcl,
}

/// The predefined ACLs fulcrum knows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PredefinedAcl {
    /// Always true.
    #[serde(rename = "TRUE")]
    True,
    /// Always false.
    #[serde(rename = "FALSE")]
    False,
    /// The client connected from 127.0.0.1 or ::1.
    #[serde(rename = "LOCALHOST")]
    Localhost,
}

impl PredefinedAcl {
    /// Names and values.
    pub const ALL: [(&'static str, PredefinedAcl); 3] = [
        ("TRUE", PredefinedAcl::True),
        ("FALSE", PredefinedAcl::False),
        ("LOCALHOST", PredefinedAcl::Localhost),
    ];

    /// The name written in a configuration.
    pub fn name(self) -> &'static str {
        match self {
            PredefinedAcl::True => "TRUE",
            PredefinedAcl::False => "FALSE",
            PredefinedAcl::Localhost => "LOCALHOST",
        }
    }
}

/// `use_backend NAME [if|unless COND]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseBackend {
    /// The backend to use.
    pub backend: String,
    /// When; always when absent.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub cond: Option<Condition>,
    /// Where the rule was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}
