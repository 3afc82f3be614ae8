//! The lines of a `peers NAME` section.

use super::model::{Peer, Peers, PeersTable, StickTable};

/// What a line did: nothing to say, or a warning for its line.
pub type Said = Option<String>;

/// Reads one line of a `peers` section into `p`.
pub fn line(p: &mut Peers, words: &[String]) -> Result<Said, String> {
    let Some((kw, args)) = words.split_first() else {
        return Ok(None);
    };
    match (kw.as_str(), args) {
        ("peer", [name, addr, rest @ ..]) => node(p, name, Some(addr), rest, false)?,
        ("peer", _) => return Err("'peer' expects <name> and <addr>:<port>".into()),
        ("server", [name, rest @ ..]) => {
            let (addr, rest) = match rest.split_first() {
                Some((a, r)) if a.contains(':') => (Some(a), r),
                _ => (None, rest),
            };
            node(p, name, addr, rest, true)?
        }
        ("server", []) => return Err("'server' expects <name> [<addr>:<port>]".into()),
        ("bind", [addr]) => {
            if p.bind.is_some() {
                return Err(format!(
                    "'bind': peers section '{}' has one already",
                    p.name
                ));
            }
            check_addr("bind", addr)?;
            p.bind = Some(addr.clone());
        }
        ("bind", [_, extra, ..]) => {
            return Err(format!(
                "'bind': unexpected '{extra}' (fulcrum takes no bind parameters in a peers section)"
            ))
        }
        ("bind", []) => return Err("'bind' expects <addr>:<port>".into()),
        ("table", [name, rest @ ..]) => {
            if p.tables.iter().any(|t| &t.name == name) {
                return Err(format!(
                    "table '{name}' is declared twice in peers section '{}'",
                    p.name
                ));
            }
            let table = StickTable::parse(rest)?;
            if table.peers.is_some() {
                return Err("table: 'peers' has no place in a peers section's table".into());
            }
            p.tables.push(PeersTable {
                name: name.clone(),
                table,
            });
        }
        ("table", []) => return Err("'table' expects a name and its stick-table arguments".into()),
        ("disabled", []) => p.disabled = true,
        ("enabled", []) => p.disabled = false,
        ("default-server" | "default-bind" | "log" | "shards", _) => {
            return Err(format!(
                "'{kw}' in a peers section is not supported by fulcrum yet (HAProxy 2.6 accepts it)"
            ))
        }
        (k, _) => return Err(format!("unknown keyword '{k}' in 'peers' section")),
    }
    Ok(None)
}

fn node(
    p: &mut Peers,
    name: &str,
    addr: Option<&String>,
    params: &[String],
    server_line: bool,
) -> Result<(), String> {
    if let Some(extra) = params.first() {
        return Err(format!(
            "'{}' {name}: unexpected '{extra}' (fulcrum takes no server parameters on a peer)",
            if server_line { "server" } else { "peer" }
        ));
    }
    if p.peers.iter().any(|q| q.name == name) {
        return Err(format!(
            "peer '{name}' is declared twice in peers section '{}'",
            p.name
        ));
    }
    if let Some(a) = addr {
        check_addr("peer", a)?;
    }
    p.peers.push(Peer {
        name: name.to_string(),
        address: addr.cloned(),
        server_line,
    });
    Ok(())
}

/// `HOST:PORT` with a port: the host is resolved when the configuration
/// is compiled.
fn check_addr(kw: &str, a: &str) -> Result<(), String> {
    let port = a
        .rsplit_once(':')
        .and_then(|(h, p)| (!h.is_empty()).then_some(p))
        .ok_or_else(|| format!("'{kw}': '{a}' has no port (expected <addr>:<port>)"))?;
    match port.parse::<u16>() {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(format!("'{kw}': invalid port in '{a}'")),
    }
}
