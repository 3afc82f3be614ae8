//! An operator's maintenance and drain settings (runtime API, stats page),
//! applied to a server and logged as HAProxy 2.6 logs each transition.

use std::sync::atomic::Ordering::Relaxed;

use super::{Backend, Runtime, Server};
use crate::state::{Admin, Status};

/// Syslog severities of these events.
const EMERG: u8 = 0;
const ALERT: u8 = 1;
const NOTICE: u8 = 5;

/// Sets `to` on `srv` and logs the change: "is going DOWN for
/// maintenance", "is UP/READY (leaving forced maintenance)", "enters drain
/// state", "is UP (leaving forced drain)"... Returns whether it changed.
pub fn set_admin(rt: &Runtime, be: &Backend, srv: &Server, to: Admin) -> bool {
    let st = &srv.state;
    let from = st.admin();
    if from == to {
        return false;
    }
    let was_usable = st.usable();
    st.set_admin(to);
    let name = format!("{} {}/{}", srv.title(), be.name, srv.name);
    let health = if st.health() == Status::Down {
        "DOWN"
    } else {
        "UP"
    };
    match (from, to) {
        (_, Admin::Maint) => {
            let cur = st.cur_sessions.load(Relaxed);
            // A server that took traffic going away is an alert, as in
            // HAProxy; one that was already out of it, a notice.
            be.event(if was_usable { ALERT } else { NOTICE },
                &format!(
                    "{name} is going DOWN for maintenance. {} {cur} sessions active, 0 requeued, 0 remaining in queue.",
                    be.servers_left_words("left")
                ),
            );
            no_server_left(rt, be, was_usable);
        }
        (Admin::Maint, Admin::Ready) => be.event(
            NOTICE,
            &format!("{name} is {health}/READY (leaving forced maintenance)."),
        ),
        (Admin::Maint, Admin::Drain) => {
            be.event(
                NOTICE,
                &format!("{name} is {health}/DRAIN (leaving forced maintenance)."),
            );
            be.event(NOTICE, &format!("{name} remains in forced drain mode."));
        }
        (_, Admin::Drain) => {
            be.event(
                NOTICE,
                &format!(
                    "{name} enters drain state. {} 0 sessions requeued, 0 total in queue.",
                    be.servers_left_words("online")
                ),
            );
            no_server_left(rt, be, was_usable);
        }
        (_, Admin::Ready) => be.event(
            NOTICE,
            &format!("{name} is {health} (leaving forced drain)."),
        ),
    }
    true
}

/// "backend B has no server available!" when the last usable one left.
fn no_server_left(rt: &Runtime, be: &Backend, was_usable: bool) {
    if was_usable && be.servers_left() == (0, 0) {
        let msg = format!("{} {} has no server available!", rt.proxy_word(be), be.name);
        tracing::error!("{msg}");
        crate::log::syslog::send_at(&be.log_targets, EMERG, &msg);
    }
}
