//! Access logs: the frontend's line (`log-format`, `option httplog`...)
//! rendered from a request's or a session's record and sent to its log
//! targets.

pub use crate::log::syslog::{send, send_at};

/// Renders the frontend's access-log line from `rec` and sends it at
/// `level`, when the frontend logs somewhere.
pub fn emit(
    fe: &crate::runtime::Frontend,
    facts: Option<&crate::rules::facts::Facts>,
    rec: &crate::rules::logline::LogRecord,
    level: u8,
) {
    let Some(fmt) = &fe.rules.log_line else {
        return;
    };
    if fe.log_targets.is_empty() || level > 7 {
        return;
    }
    let line = fmt.render_log(facts, rec);
    send_at(&fe.log_targets, level, &String::from_utf8_lossy(&line));
}

/// A frontend that logs but has no line format of its own logs each
/// session as HAProxy does, with its "Connect from" line at info.
pub fn connect_line(
    fe: &crate::runtime::Frontend,
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
) {
    if fe.rules.log_line.is_some() || fe.log_targets.is_empty() {
        return;
    }
    let mode = match fe.mode {
        crate::config::model::Mode::Http => "HTTP",
        crate::config::model::Mode::Tcp => "TCP",
    };
    send(
        &fe.log_targets,
        &format!("Connect from {peer} to {local} ({}/{mode})", fe.name),
    );
}
