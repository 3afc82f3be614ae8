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
