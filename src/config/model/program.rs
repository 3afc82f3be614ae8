//! `program` sections: commands the master of master-worker mode runs
//! beside its workers (HAProxy's Data Plane API setups use one).

use serde::{Deserialize, Serialize};

use super::Origin;

/// `program NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Program {
    /// The program's name (the `<type>` column of `show proc`).
    pub name: String,
    /// `command CMD [ARGS...]`: what the master runs.
    #[serde(default)]
    pub command: Vec<String>,
    /// `user NAME`: it runs as this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `group NAME`: and with this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `option start-on-reload` (the default): a reload starts a new
    /// instance and stops the old one; `no option start-on-reload` keeps
    /// the running one.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub start_on_reload: bool,
    /// Where the section begins (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Program {
    /// A program with no command yet.
    pub fn new(name: String, origin: Origin) -> Program {
        Program {
            name,
            command: Vec::new(),
            user: None,
            group: None,
            start_on_reload: true,
            origin,
        }
    }

    /// Reads one line of its section.
    pub fn line(&mut self, words: &[String]) -> Result<(), String> {
        match words {
            [k, cmd @ ..] if k == "command" => {
                if cmd.is_empty() {
                    return Err("'command' expects a command to run".into());
                }
                self.command = cmd.to_vec();
            }
            [k, name] if k == "user" => self.user = Some(name.clone()),
            [k, name] if k == "group" => self.group = Some(name.clone()),
            [o, s] if o == "option" && s == "start-on-reload" => self.start_on_reload = true,
            [n, o, s] if n == "no" && o == "option" && s == "start-on-reload" => {
                self.start_on_reload = false
            }
            [k, ..] => {
                return Err(format!(
                    "unknown keyword '{k}' in 'program' section (expected command, user, group or [no] option start-on-reload)"
                ))
            }
            [] => {}
        }
        Ok(())
    }
}
