//! The runtime API's command language: a line holds commands separated by
//! `;`, a command is words separated by blanks, and a backslash keeps the
//! next character as it is (`\;`, `\ `). Each command parses into a
//! [`Command`] value before anything runs, so a typo changes nothing.

use crate::config::model::StatsLevel as Level;
use crate::state::Admin;

/// A server named as `BACKEND/SERVER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    /// The backend's name.
    pub backend: String,
    /// The server's name.
    pub server: String,
}

/// A weight as the commands take it: absolute, or a share of the
/// configured weight (`50%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// 0 to 256.
    Absolute(u32),
    /// 0 to 100 % of the configured weight.
    Percent(u32),
}

/// Which rows `show stat` lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatFilter {
    /// A proxy's name or id (`-1` or absent: all).
    pub proxy: Option<String>,
    /// Row types, as HAProxy's mask: 1 frontends, 2 backends, 4 servers.
    pub types: Option<u32>,
    /// A server id (`-1` or absent: all).
    pub sid: Option<u32>,
    /// `up`: only servers that are UP.
    pub up_only: bool,
    /// `no-maint`: no server in maintenance.
    pub no_maint: bool,
    /// `typed`: one line per field, with its tags.
    pub typed: bool,
}

/// What `set maxconn` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxconnOf {
    /// A frontend, by name.
    Frontend(String),
    /// A server.
    Server(ServerRef),
    /// The process.
    Global,
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `help [WORDS]`: the commands (matching the words).
    Help(Vec<String>),
    /// `prompt`: toggles the interactive mode.
    Prompt,
    /// `quit`: closes the session.
    Quit,
    /// `operator`, `user`: lowers the session's level.
    Lower(Level),
    /// `set timeout cli DELAY`: this session's idle timeout.
    SetTimeout(std::time::Duration),
    /// `show cli level`.
    ShowCliLevel,
    /// `show version`.
    ShowVersion,
    /// `show info [typed]`.
    ShowInfo {
        /// `typed`.
        typed: bool,
    },
    /// `show stat [FILTER]`.
    ShowStat(StatFilter),
    /// `show servers state [BACKEND]`.
    ShowServersState(Option<String>),
    /// `show backend`.
    ShowBackend,
    /// `show table [NAME]`.
    ShowTable(Option<String>),
    /// `show peers`.
    ShowPeers,
    /// `show pools`.
    ShowPools,
    /// `show env [NAME]`.
    ShowEnv(Option<String>),
    /// `get weight B/S`.
    GetWeight(ServerRef),
    /// `set weight B/S W`, `set server B/S weight W`.
    SetWeight(ServerRef, Weight),
    /// `set server B/S addr A [port P]`: the words after `addr`, checked
    /// when run (HAProxy reports each part's problem in its answer).
    SetAddr(ServerRef, Vec<String>),
    /// `set server B/S state ready|drain|maint`, `enable|disable server`.
    SetState(ServerRef, Admin),
    /// `enable health B/S` (true), `disable health B/S` (false).
    Health(ServerRef, bool),
    /// `shutdown sessions server B/S`.
    ShutdownSessions(ServerRef),
    /// `set maxconn frontend F N`, `set maxconn server B/S N`, `set
    /// maxconn global N`.
    SetMaxconn(MaxconnOf, u32),
    /// `enable frontend F` (true), `disable frontend F` (false).
    Frontend(String, bool),
    /// `enable|disable agent B/S`: fulcrum has no agent checks.
    Agent(ServerRef, bool),
    /// `clear counters [all]`.
    ClearCounters {
        /// `all`: every counter, not only the maxima.
        all: bool,
    },
}

/// Why a command did not parse; the text is what the session answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// No command starts with these words.
    Unknown,
    /// A known command with wrong arguments: its usage or the problem.
    Usage(String),
}

impl Command {
    /// The lowest level allowed to run it (HAProxy 2.6's choices).
    pub fn level(&self) -> Level {
        match self {
            Command::Help(_)
            | Command::Prompt
            | Command::Quit
            | Command::Lower(_)
            | Command::SetTimeout(_)
            | Command::ShowCliLevel
            | Command::ShowVersion
            | Command::ShowInfo { .. }
            | Command::ShowStat(_)
            | Command::ShowServersState(_)
            | Command::ShowBackend
            | Command::ShowTable(_)
            | Command::ShowPeers
            | Command::ShowPools
            | Command::GetWeight(_) => Level::User,
            Command::ShowEnv(_) | Command::ClearCounters { all: false } => Level::Operator,
            _ => Level::Admin,
        }
    }
}

/// Splits a line into commands, and each command into words: blanks
/// separate words, `;` separates commands, `\` keeps the next character.
pub fn split(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            ';' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                commands.push(std::mem::take(&mut words));
            }
            '\r' | '\n' => {}
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    commands.push(words);
    commands
}

fn server_ref(arg: Option<&String>) -> Result<ServerRef, ParseError> {
    let Some(arg) = arg else {
        return Err(ParseError::Usage("Require 'backend/server'.".into()));
    };
    match arg.split_once('/') {
        Some((b, s)) if !b.is_empty() && !s.is_empty() => Ok(ServerRef {
            backend: b.to_string(),
            server: s.to_string(),
        }),
        _ => Err(ParseError::Usage("Require 'backend/server'.".into())),
    }
}

fn weight(arg: Option<&String>) -> Result<Weight, ParseError> {
    let bad = || ParseError::Usage("Require <weight> or <weight%>.".into());
    let arg = arg.ok_or_else(bad)?;
    let (digits, percent) = match arg.strip_suffix('%') {
        Some(d) => (d, true),
        None => (arg.as_str(), false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u32 = digits.parse().map_err(|_| bad())?;
    if percent {
        if n > 100 {
            return Err(ParseError::Usage(
                "Relative weight must be positive and at most 100%.".into(),
            ));
        }
        Ok(Weight::Percent(n))
    } else {
        if n > 256 {
            return Err(ParseError::Usage(
                "Absolute weight can only be between 0 and 256 inclusive.".into(),
            ));
        }
        Ok(Weight::Absolute(n))
    }
}

fn state(arg: Option<&String>) -> Result<Admin, ParseError> {
    match arg.map(String::as_str) {
        Some("ready") => Ok(Admin::Ready),
        Some("drain") => Ok(Admin::Drain),
        Some("maint") => Ok(Admin::Maint),
        _ => Err(ParseError::Usage(
            "'set server <srv> state' expects 'ready', 'drain' and 'maint'.".into(),
        )),
    }
}

/// `show stat [{PROXY|-1} {TYPE|-1} {SID|-1}] [up|no-maint]`; the words
/// fulcrum does not produce yet (`typed`, `json`, `desc`) are refused.
fn stat_filter(args: &[String]) -> Result<StatFilter, ParseError> {
    let mut f = StatFilter::default();
    let mut positional = Vec::new();
    for a in args {
        match a.as_str() {
            "up" => f.up_only = true,
            "no-maint" => f.no_maint = true,
            "typed" => f.typed = true,
            "json" | "desc" => {
                return Err(ParseError::Usage(format!(
                    "'show stat {a}' is not served by fulcrum yet: use the CSV or typed form, the stats page's ;json, or the Prometheus exporter."
                )))
            }
            _ => positional.push(a.as_str()),
        }
    }
    match positional.as_slice() {
        [] => {}
        [proxy, types, sid] => {
            if *proxy != "-1" {
                f.proxy = Some(proxy.to_string());
            }
            let num = |s: &str, what: &str| -> Result<Option<u32>, ParseError> {
                if s == "-1" {
                    return Ok(None);
                }
                s.parse()
                    .map(Some)
                    .map_err(|_| ParseError::Usage(format!("Invalid {what} '{s}'.")))
            };
            f.types = num(types, "type")?;
            f.sid = num(sid, "server id")?;
        }
        _ => {
            return Err(ParseError::Usage(
                "'show stat' expects no filter or all three of <proxy|-1> <type|-1> <sid|-1>."
                    .into(),
            ))
        }
    }
    Ok(f)
}

/// Parses one command's words.
pub fn parse(words: &[String]) -> Result<Command, ParseError> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let arg = |i: usize| words.get(i);
    Ok(match w.as_slice() {
        ["help", ..] => Command::Help(words[1..].to_vec()),
        ["prompt", ..] => Command::Prompt,
        ["quit", ..] => Command::Quit,
        ["operator"] => Command::Lower(Level::Operator),
        ["user"] => Command::Lower(Level::User),
        ["set", "timeout", "cli", delay] => {
            let d = crate::util::time::parse_time_in(delay, crate::util::time::Unit::S).map_err(
                |_| ParseError::Usage("'set timeout cli' expects a delay (e.g. 10s).".into()),
            )?;
            Command::SetTimeout(d)
        }
        ["set", "timeout", ..] => {
            return Err(ParseError::Usage(
                "'set timeout' only supports 'cli'.".into(),
            ))
        }
        ["show", "cli", "level"] => Command::ShowCliLevel,
        ["show", "version"] => Command::ShowVersion,
        ["show", "info", rest @ ..] => {
            if let Some(a) = rest.iter().find(|a| !matches!(**a, "desc" | "typed")) {
                return Err(ParseError::Usage(format!(
                    "'show info {a}' is not served by fulcrum yet: use the plain or typed form."
                )));
            }
            Command::ShowInfo {
                typed: rest.contains(&"typed"),
            }
        }
        ["show", "stat", ..] => Command::ShowStat(stat_filter(&words[2..])?),
        ["show", "servers", "state"] => Command::ShowServersState(None),
        ["show", "servers", "state", b] => Command::ShowServersState(Some(b.to_string())),
        ["show", "backend"] => Command::ShowBackend,
        ["show", "table"] => Command::ShowTable(None),
        ["show", "table", t] => Command::ShowTable(Some(t.to_string())),
        ["show", "peers"] => Command::ShowPeers,
        ["show", "pools"] => Command::ShowPools,
        ["show", "env"] => Command::ShowEnv(None),
        ["show", "env", name] => Command::ShowEnv(Some(name.to_string())),
        ["get", "weight", ..] => Command::GetWeight(server_ref(arg(2))?),
        ["set", "weight", ..] => Command::SetWeight(server_ref(arg(2))?, weight(arg(3))?),
        ["set", "server", ..] => {
            let s = server_ref(arg(2))?;
            match w.get(3) {
                Some(&"state") => Command::SetState(s, state(arg(4))?),
                Some(&"weight") => Command::SetWeight(s, weight(arg(4))?),
                Some(&"addr") if words.len() > 4 => Command::SetAddr(s, words[4..].to_vec()),
                Some(&"addr") => {
                    return Err(ParseError::Usage(
                        "set server <b>/<s> addr requires an address and optionally a port.".into(),
                    ))
                }
                Some(&"health") | Some(&"agent") | Some(&"check-port")
                | Some(&"check-addr") | Some(&"agent-addr") | Some(&"agent-port")
                | Some(&"agent-send") | Some(&"fqdn") | Some(&"ssl") => {
                    return Err(ParseError::Usage(format!(
                        "'set server <srv> {}' is not supported by fulcrum yet; 'state', 'weight' and 'addr' are.",
                        w[3]
                    )))
                }
                _ => return Err(ParseError::Usage(
                    "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight".into(),
                )),
            }
        }
        ["enable", "server", ..] => Command::SetState(server_ref(arg(2))?, Admin::Ready),
        ["disable", "server", ..] => Command::SetState(server_ref(arg(2))?, Admin::Maint),
        ["set", "maxconn", what, rest @ ..] => {
            let n = |v: Option<&&str>| -> Result<u32, ParseError> {
                v.and_then(|v| v.parse().ok())
                    .ok_or_else(|| ParseError::Usage("Value out of range.".into()))
            };
            match (*what, rest) {
                ("global", [v]) => Command::SetMaxconn(MaxconnOf::Global, n(Some(v))?),
                ("frontend", [f, v]) => {
                    Command::SetMaxconn(MaxconnOf::Frontend(f.to_string()), n(Some(v))?)
                }
                ("server", [s, v]) => Command::SetMaxconn(
                    MaxconnOf::Server(server_ref(Some(&s.to_string()))?),
                    n(Some(v))?,
                ),
                _ => {
                    return Err(ParseError::Usage(
                        "'set maxconn' only supports 'frontend', 'server', and 'global'.".into(),
                    ))
                }
            }
        }
        ["enable", "frontend", name] => Command::Frontend(name.to_string(), true),
        ["disable", "frontend", name] => Command::Frontend(name.to_string(), false),
        ["enable" | "disable", "frontend", ..] => {
            return Err(ParseError::Usage("A frontend name is expected.".into()))
        }
        ["enable", "agent", ..] => Command::Agent(server_ref(arg(2))?, true),
        ["disable", "agent", ..] => Command::Agent(server_ref(arg(2))?, false),
        ["enable", "health", ..] => Command::Health(server_ref(arg(2))?, true),
        ["disable", "health", ..] => Command::Health(server_ref(arg(2))?, false),
        ["shutdown", "sessions", "server", ..] => Command::ShutdownSessions(server_ref(arg(3))?),
        ["clear", "counters"] => Command::ClearCounters { all: false },
        ["clear", "counters", "all"] => Command::ClearCounters { all: true },
        _ => return Err(ParseError::Unknown),
    })
}

/// The commands `help` lists: (syntax, what it does), in HAProxy's
/// alphabetical order; only those fulcrum serves.
pub const HELP: &[(&str, &str)] = &[
    (
        "clear counters [all]",
        "clear the maxima (or, with all, every counter)",
    ),
    (
        "disable health",
        "stop a server's health checks; it then counts as UP",
    ),
    (
        "disable server (DEPRECATED)",
        "put a server in maintenance (use 'set server' instead)",
    ),
    (
        "enable agent",
        "resume a server's agent checks (fulcrum has none)",
    ),
    (
        "enable frontend <frontend>",
        "accept again on a frontend's listeners",
    ),
    ("enable health", "resume a server's health checks"),
    (
        "enable server  (DEPRECATED)",
        "take a server out of maintenance (use 'set server' instead)",
    ),
    (
        "get weight <bk>/<srv>",
        "a server's weight in force and its configured one",
    ),
    ("operator", "lower this session's level to operator"),
    (
        "set server <bk>/<srv> [opts]",
        "change a server's state (ready, drain, maint) or weight",
    ),
    (
        "set timeout [cli] <delay>",
        "change this session's idle timeout",
    ),
    (
        "set weight <bk>/<srv>  (DEPRECATED)",
        "change a server's weight (use 'set server' instead)",
    ),
    ("show backend", "list the backends"),
    ("show cli level", "this session's level"),
    ("show env [var]", "the process's environment variables"),
    ("show info [typed]", "facts and counters of the process"),
    (
        "show servers state [<backend>]",
        "servers' states, in the server-state-file layout",
    ),
    (
        "show stat [<px> <type> <sid>] [up|no-maint]",
        "the stats CSV, as the stats page's ;csv",
    ),
    ("show peers", "the peers sections this node is in"),
    (
        "show pools",
        "the buffer and pipe pools: allocated and in use",
    ),
    (
        "show table [<name>]",
        "the stick tables, or one table's entries",
    ),
    ("show version", "fulcrum's HAProxy-compatible version"),
    (
        "shutdown sessions server <bk>/<srv>",
        "close every session on a server",
    ),
    ("user", "lower this session's level to user"),
    ("help [<command>]", "list matching or all commands"),
    ("prompt", "toggle interactive mode with prompt"),
    ("quit", "disconnect"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn lines_split_into_commands_and_words() {
        assert_eq!(
            split("show info;show stat\n"),
            vec![words("show info"), words("show stat")]
        );
        assert_eq!(
            split("a\\;b c\\ d"),
            vec![vec!["a;b".to_string(), "c d".into()]]
        );
        assert_eq!(split("  ; "), vec![Vec::<String>::new(), vec![]]);
    }

    #[test]
    fn commands_parse_into_values() {
        let s = ServerRef {
            backend: "be".into(),
            server: "s1".into(),
        };
        assert_eq!(
            parse(&words("set server be/s1 state drain")),
            Ok(Command::SetState(s.clone(), Admin::Drain))
        );
        assert_eq!(
            parse(&words("set weight be/s1 50%")),
            Ok(Command::SetWeight(s.clone(), Weight::Percent(50)))
        );
        assert_eq!(
            parse(&words("disable server be/s1")),
            Ok(Command::SetState(s, Admin::Maint))
        );
        assert!(matches!(
            parse(&words("set weight be/s1 300")),
            Err(ParseError::Usage(_))
        ));
        assert!(matches!(
            parse(&words("set weight be 3")),
            Err(ParseError::Usage(_))
        ));
        assert!(matches!(
            parse(&words("set server be/s1 state up")),
            Err(ParseError::Usage(_))
        ));
        assert_eq!(parse(&words("frobnicate")), Err(ParseError::Unknown));
        assert_eq!(
            parse(&words("show stat be 4 -1")),
            Ok(Command::ShowStat(StatFilter {
                proxy: Some("be".into()),
                types: Some(4),
                sid: None,
                ..StatFilter::default()
            }))
        );
    }

    #[test]
    fn levels_follow_haproxy() {
        assert_eq!(Command::ShowInfo { typed: false }.level(), Level::User);
        assert_eq!(
            Command::ClearCounters { all: false }.level(),
            Level::Operator
        );
        assert_eq!(Command::ClearCounters { all: true }.level(), Level::Admin);
        let s = ServerRef {
            backend: "b".into(),
            server: "s".into(),
        };
        assert_eq!(Command::SetState(s, Admin::Maint).level(), Level::Admin);
    }
}
