//! The master CLI (`-S`): HAProxy's master commands (`show proc`,
//! `reload`, `help`, `prompt`, `quit`) and the `@N` / `@!PID` / `@master`
//! prefixes that pass a command to a worker's runtime API.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::ask;
use crate::util::addr::CliAddr;

/// (pid, reloads, uptime in seconds)
pub(super) type Row = (u32, u32, u64);

/// What the master CLI reads, refreshed by the master's loop.
#[derive(Debug, Default, Clone)]
pub(super) struct Snapshot {
    /// (pid, reloads, failed reloads, uptime)
    pub(super) master: (u32, u32, u32, u64),
    pub(super) current: Option<(Row, PathBuf)>,
    pub(super) old: Vec<(Row, PathBuf)>,
    /// Programs, with their names.
    pub(super) programs: Vec<(Row, String)>,
    pub(super) old_programs: Vec<(Row, String)>,
}

fn uptime(s: u64) -> String {
    format!(
        "{}d{:02}h{:02}m{:02}s",
        s / 86400,
        (s % 86400) / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

/// `show proc`, in HAProxy 2.6's columns.
fn show_proc(s: &Snapshot) -> String {
    let version = crate::control::cli::VERSION;
    let (pid, reloads, failed, up) = s.master;
    let mut out = format!(
        "#{:<14} {:<15} {:<15} {:<15} {:<15}\n",
        "<PID>", "<type>", "<reloads>", "<uptime>", "<version>"
    );
    let reloads = format!("{reloads} [failed: {failed}]");
    out.push_str(&format!(
        "{pid:<15} {:<15} {reloads:<15} {:<15} {version:<15}\n",
        "master",
        uptime(up)
    ));
    let row = |(pid, reloads, up): &Row| {
        format!(
            "{pid:<15} {:<15} {reloads:<15} {:<15} {version:<15}\n",
            "worker",
            uptime(*up)
        )
    };
    out.push_str("# workers\n");
    if let Some((r, _)) = &s.current {
        out.push_str(&row(r));
    }
    if !s.old.is_empty() {
        out.push_str("# old workers\n");
        for (r, _) in &s.old {
            out.push_str(&row(r));
        }
    }
    out.push_str("# programs\n");
    let program = |((pid, reloads, up), name): &(Row, String)| {
        format!(
            "{pid:<15} {name:<15} {reloads:<15} {:<15} {:<15}\n",
            uptime(*up),
            "-"
        )
    };
    for p in &s.programs {
        out.push_str(&program(p));
    }
    if !s.old_programs.is_empty() {
        out.push_str("# old programs\n");
        for p in &s.old_programs {
            out.push_str(&program(p));
        }
    }
    out.push('\n');
    out
}

const MASTER_HELP: &str = "The following commands are valid at this level:
  @!<pid>                                 : send a command to the <pid> process
  @<relative pid>                         : send a command to the <relative pid> process
  @master                                 : send a command to the master process
  help [<command>]                        : list matching or all commands
  prompt                                  : toggle interactive mode with prompt
  quit                                    : disconnect
  reload                                  : reload haproxy
  show proc                               : show processes status

";

/// Which process a command is for.
enum Target {
    Master,
    /// The current worker (`@1`) or an old one by its rank (`@2`...).
    Relative(usize),
    Pid(u32),
}

/// Splits a leading `@...` off a command.
fn target(cmd: &str) -> (Option<Target>, &str) {
    let cmd = cmd.trim();
    let Some(rest) = cmd.strip_prefix('@') else {
        return (None, cmd);
    };
    let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let t = if word == "master" {
        Some(Target::Master)
    } else if let Some(p) = word.strip_prefix('!') {
        p.parse().ok().map(Target::Pid)
    } else {
        word.parse().ok().map(Target::Relative)
    };
    (t, tail.trim())
}

fn socket_of(s: &Snapshot, t: &Target) -> Option<PathBuf> {
    let all = s.current.iter().chain(&s.old);
    match t {
        Target::Master => None,
        Target::Relative(0) => None,
        Target::Relative(n) => all.map(|(_, p)| p.clone()).nth(n - 1),
        Target::Pid(pid) => all
            .filter(|((p, _, _), _)| p == pid)
            .map(|(_, p)| p.clone())
            .next(),
    }
}

/// One master CLI session: HAProxy's master CLI, without `prompt` one line
/// of `;`-separated commands, then the connection closes.
pub(super) async fn serve_cli(
    conn: Box<dyn Conn>,
    state: &std::cell::RefCell<Snapshot>,
    reload: &tokio::sync::mpsc::UnboundedSender<()>,
) -> std::io::Result<()> {
    let (r, mut w) = tokio::io::split(conn);
    let mut lines = BufReader::new(r).lines();
    let mut prompt = false;
    let mut default_target: Option<Target> = None;
    loop {
        if prompt {
            w.write_all(b"master> ").await?;
        }
        let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await
        else {
            return Ok(());
        };
        for cmd in line.split(';') {
            let (t, text) = target(cmd);
            if t.is_some() && text.is_empty() {
                // `@1` alone: later commands go there (interactive mode).
                default_target = t;
                continue;
            }
            let t = t.or(match &default_target {
                Some(Target::Relative(n)) => Some(Target::Relative(*n)),
                Some(Target::Pid(p)) => Some(Target::Pid(*p)),
                _ => None,
            });
            let snap = state.borrow().clone();
            let out = match t {
                Some(t) if !matches!(t, Target::Master) => match socket_of(&snap, &t) {
                    Some(sock) => ask(&sock, text)
                        .await
                        .unwrap_or_else(|e| format!("Can't connect to the target CLI: {e}\n\n")),
                    None => "Can't find the target PID matching the prefix\n\n".to_string(),
                },
                _ => match text {
                    "" => String::new(),
                    "show proc" => show_proc(&snap),
                    "help" => MASTER_HELP.to_string(),
                    "prompt" => {
                        prompt = !prompt;
                        String::new()
                    }
                    "quit" => return Ok(()),
                    "reload" => {
                        let _ = reload.send(());
                        return Ok(());
                    }
                    other => format!(
                        "Unknown command: '{}'\n{MASTER_HELP}",
                        other.split(' ').next().unwrap_or_default()
                    ),
                },
            };
            w.write_all(out.as_bytes()).await?;
        }
        if !prompt {
            return Ok(());
        }
    }
}

/// A master CLI connection, UNIX or TCP.
pub(super) trait Conn: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Conn for T {}

/// The master CLI's listening socket (`-S`).
pub(super) enum CliListener {
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener),
}

impl CliListener {
    pub(super) fn bind(addr: &CliAddr) -> std::io::Result<CliListener> {
        Ok(match addr {
            CliAddr::Unix(p) => {
                let _ = std::fs::remove_file(p);
                CliListener::Unix(tokio::net::UnixListener::bind(p)?, p.clone())
            }
            CliAddr::Tcp(a) => {
                let l = std::net::TcpListener::bind(a)?;
                l.set_nonblocking(true)?;
                CliListener::Tcp(tokio::net::TcpListener::from_std(l)?)
            }
            CliAddr::Fd(fd) => {
                let l = crate::listen::socket::inherited(*fd)?;
                CliListener::Tcp(tokio::net::TcpListener::from_std(l)?)
            }
        })
    }

    pub(super) async fn accept(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(match self {
            CliListener::Unix(l, _) => Box::new(l.accept().await?.0),
            CliListener::Tcp(l) => Box::new(l.accept().await?.0),
        })
    }
}

impl Drop for CliListener {
    fn drop(&mut self) {
        if let CliListener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_proc_has_haproxys_columns() {
        let s = Snapshot {
            master: (100, 2, 1, 3661),
            current: Some(((101, 0, 5), PathBuf::new())),
            old: vec![((99, 1, 70), PathBuf::new())],
            programs: vec![((102, 0, 5), "api".into())],
            old_programs: Vec::new(),
        };
        let out = show_proc(&s);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "#<PID>          <type>          <reloads>       <uptime>        <version>      "
        );
        assert!(lines[1]
            .starts_with("100             master          2 [failed: 1]   0d01h01m01s     "));
        assert_eq!(lines[2], "# workers");
        assert!(lines[3]
            .starts_with("101             worker          0               0d00h00m05s     "));
        assert_eq!(lines[4], "# old workers");
        assert!(lines[5].starts_with("99              worker          1               0d00h01m10s"));
        assert_eq!(lines[6], "# programs");
        assert!(lines[7]
            .starts_with("102             api             0               0d00h00m05s     -"));
    }

    #[test]
    fn targets() {
        assert!(matches!(
            target("@1 show info"),
            (Some(Target::Relative(1)), "show info")
        ));
        assert!(matches!(
            target("@!42 show stat"),
            (Some(Target::Pid(42)), "show stat")
        ));
        assert!(matches!(
            target("@master show proc"),
            (Some(Target::Master), "show proc")
        ));
        assert!(matches!(target(" show proc "), (None, "show proc")));
    }
}
