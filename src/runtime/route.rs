//! What the rules ask of the running configuration: backend choice (the
//! first `use_backend` whose condition holds, else the `default_backend`;
//! a listen is its own default), and the [`World`] the fetches read
//! (server counts and states, names, users).

use super::{Frontend, Runtime};
use crate::config::model::Password;
use crate::rules::facts::{Facts, World};

impl Frontend {
    /// The backend index for a request with these facts.
    pub fn choose_backend(&self, facts: &Facts) -> Option<usize> {
        self.rules
            .use_backend
            .iter()
            .find(|(cond, _)| cond.as_ref().is_none_or(|c| c.holds(facts)))
            .map(|(_, b)| *b)
            .or(self.default_backend)
    }
}

impl World for Runtime {
    fn nbsrv(&self, backend: usize) -> u32 {
        self.backends.get(backend).map_or(0, |b| {
            b.servers.iter().filter(|s| s.state.usable()).count() as u32
        })
    }

    fn srv_is_up(&self, backend: usize, server: usize) -> bool {
        self.backends
            .get(backend)
            .and_then(|b| b.servers.get(server))
            .is_some_and(|s| s.state.usable())
    }

    fn backend_name(&self, backend: usize) -> &str {
        self.backends.get(backend).map_or("", |b| b.name.as_str())
    }

    fn server_name(&self, backend: usize, server: usize) -> &str {
        self.backends
            .get(backend)
            .and_then(|b| b.servers.get(server))
            .map_or("", |s| s.name.as_str())
    }

    fn check_user(&self, list: usize, user: &[u8], password: &[u8]) -> Option<&[String]> {
        let list = self.userlists.get(list)?;
        let u = list.users.iter().find(|u| u.name.as_bytes() == user)?;
        let ok = match &u.password {
            Password::Insecure(p) => p.as_bytes() == password,
            Password::Crypt(hash) => {
                std::str::from_utf8(password).is_ok_and(|p| pwhash::unix::verify(p, hash))
            }
        };
        ok.then_some(u.groups.as_slice())
    }

    fn table(&self, i: usize) -> Option<&std::sync::Arc<crate::state::stick::Table>> {
        self.tables.get(i)
    }
}
