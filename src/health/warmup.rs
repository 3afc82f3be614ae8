//! `slowstart`: a server back from DOWN gets its weight (and `maxconn`)
//! back gradually, one step a second, as HAProxy's warm-up does.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::Shared;

/// How often warm-ups move on: HAProxy's step is at least a second.
const WARMUP_STEP: Duration = Duration::from_secs(1);

/// Every step, each warming server gets its share of weight for the time
/// it has been up, and its backend's balancer the new weights.
pub(super) async fn run(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(WARMUP_STEP).await;
        let rt = shared.runtime.load_full();
        for be in &rt.backends {
            let mut changed = false;
            for s in &be.servers {
                if s.state.advance_warmup() {
                    warm(s);
                    changed = true;
                }
            }
            if changed {
                be.balancer.reweigh();
            }
        }
    }
}

/// A warming server's `maxconn` grows with its weight, from 1.
pub(super) fn warm(s: &crate::runtime::Server) {
    if let (Some(limit), Some(max)) = (&s.limit, s.maxconn) {
        let p = u64::from(s.state.warmup_permille());
        let n = (u64::from(max) * p / 1000).max(1);
        limit.resize(usize::try_from(n).unwrap_or(usize::MAX));
    }
}
