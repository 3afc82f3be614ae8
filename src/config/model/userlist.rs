//! `userlist` sections: users with their passwords and groups, checked by
//! the `http_auth` and `http_auth_group` fetches.

use serde::{Deserialize, Serialize};

use super::Origin;

/// `userlist NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Userlist {
    /// The list's name.
    pub name: String,
    /// `group NAME [users U1,U2,...]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// `user NAME password|insecure-password P [groups G1,G2,...]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// Where the section begins (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// A group and the users it names itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// `users U1,U2`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// The password.
    pub password: Password,
    /// `groups G1,G2`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// How a password is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Password {
    /// `password HASH`: a crypt(3) hash (`$1$` MD5, `$5$` SHA-256, `$6$` SHA-512).
    Crypt(String),
    /// `insecure-password TEXT`.
    Insecure(String),
}
