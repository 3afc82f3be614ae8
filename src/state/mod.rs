//! Live per-server state: health and counters, shared by every worker and
//! the control thread through atomics. A reload carries these objects over
//! by (backend, server) name, so health and counters survive it.
//!
//! Locking choice: the data path takes no lock here. Counters are relaxed
//! atomics (they are statistics; no other memory depends on their order).
//! The last check's details sit behind a Mutex written only by the control
//! thread and read only by the stats page: never on the request path.

pub mod latency;
pub mod stick;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A server's operational status, in HAProxy's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Takes traffic.
    Up = 0,
    /// Failed its checks.
    Down = 1,
    /// Put in maintenance (`disabled`, or by an operator).
    Maint = 2,
    /// Takes no new sessions but finishes current ones (operator).
    Drain = 3,
}

impl Status {
    fn from_u8(v: u8) -> Status {
        match v {
            0 => Status::Up,
            1 => Status::Down,
            2 => Status::Maint,
            _ => Status::Drain,
        }
    }

    /// HAProxy's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Status::Up => "UP",
            Status::Down => "DOWN",
            Status::Maint => "MAINT",
            Status::Drain => "DRAIN",
        }
    }
}

/// What an operator set (the stats page's admin form, `disabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Admin {
    /// Normal operation: health decides.
    Ready = 0,
    /// Maintenance: no traffic at all.
    Maint = 1,
    /// Draining: no new sessions.
    Drain = 2,
}

/// Live state of one server.
#[derive(Debug)]
pub struct ServerState {
    /// Health as the checks see it: Up or Down.
    health: AtomicU8,
    /// What an operator set.
    admin: AtomicU8,
    /// The weight in force (HAProxy's user weight, `uweight`): the
    /// configured one until an operator changes it (`set weight`).
    weight: AtomicU32,
    /// The configured weight (`iweight`), what `N%` weights are relative to.
    initial_weight: AtomicU32,
    /// Health checks run (`disable health` stops them; the server then
    /// counts as UP, as in HAProxy).
    checks_enabled: AtomicBool,
    /// The agent (`agent-check`) said "down".
    agent_down: AtomicBool,
    /// The operator setting (drain, maint) came from the agent.
    agent_admin: AtomicBool,
    /// NOLB: up, but out of load balancing (a 404 to its check with
    /// `http-check disable-on-404`).
    nolb: AtomicBool,
    /// Maintenance for want of an address (HAProxy's RMAINT): its name
    /// did not resolve, or its record left the DNS answers.
    rmaint: AtomicBool,
    /// `slowstart`: how much of its weight the server has, in thousandths
    /// (1000 outside a warm-up).
    warmup_permille: AtomicU32,
    /// The warm-up in progress: since when, and for how long (control
    /// plane only).
    pub warmup: Mutex<Option<(std::time::Instant, Duration)>>,
    /// `observe`: consecutive errors seen in the traffic to this server.
    consecutive_errors: AtomicU32,
    /// Times `error-limit` was reached (the page's `hanafail`).
    pub hana_failures: AtomicU64,
    /// The event the check task has to act on ("Detected N consecutive
    /// errors, last one was: ..."), and its wake-up.
    pub hana: Mutex<Option<String>>,
    /// Wakes the check task for `hana`.
    pub hana_wake: tokio::sync::Notify,
    /// The host name a SRV record gave this server (its `srv_fqdn`).
    pub srv_target: Mutex<Option<String>>,
    /// `set server B/S addr A [port P]`: the address (and port) in force
    /// instead of the configured ones, until the configuration changes
    /// the server's address.
    pub moved: arc_swap::ArcSwapOption<(std::net::IpAddr, Option<u16>)>,
    /// Sessions currently using this server.
    pub cur_sessions: AtomicU64,
    /// Highest `cur_sessions` seen.
    pub max_sessions: AtomicU64,
    /// Sessions ever sent to this server.
    pub total_sessions: AtomicU64,
    /// Bytes received from clients and sent to this server.
    pub bytes_in: AtomicU64,
    /// Bytes received from this server and sent to clients.
    pub bytes_out: AtomicU64,
    /// Failed connection attempts.
    pub connect_errors: AtomicU64,
    /// Errors while reading or writing a response.
    pub response_errors: AtomicU64,
    /// Connection retries.
    pub retries: AtomicU64,
    /// Sessions moved to another server after failures here.
    pub redispatches: AtomicU64,
    /// Failed checks.
    pub check_failures: AtomicU64,
    /// Transitions to DOWN.
    pub down_transitions: AtomicU64,
    /// HTTP responses from this server by class: 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub hrsp: [AtomicU64; 6],
    /// The last check and the health phase (control plane only).
    pub check: Mutex<CheckRecord>,
    /// Woken to end every session on this server (`on-marked-down
    /// shutdown-sessions`); sessions wait on it beside their I/O.
    pub kill: tokio::sync::Notify,
    /// Response times (time to the response head), for percentiles.
    pub latency: latency::Latency,
}

/// The last check of a server, as the stats page shows it.
#[derive(Debug, Clone, Default)]
pub struct CheckRecord {
    /// "L7OK", "L4CON", ...; empty before the first check.
    pub status: &'static str,
    /// HTTP status of the last layer-7 check.
    pub code: Option<u16>,
    /// How long the last check took.
    pub duration: Duration,
    /// "UP", "UP 1/3", "DOWN 1/2", ... as HAProxy shows it.
    pub phase: String,
    /// When the status last changed.
    pub last_change: Option<SystemTime>,
    /// Since when the server is DOWN, if it is.
    pub down_since: Option<SystemTime>,
    /// Total time spent DOWN before `down_since`.
    pub downtime: Duration,
}

impl ServerState {
    /// A new server state: UP, and in maintenance when it starts `disabled`.
    pub fn new(disabled: bool) -> ServerState {
        ServerState::with_weight(disabled, 1)
    }

    /// A new server state with its configured weight.
    pub fn with_weight(disabled: bool, weight: u32) -> ServerState {
        ServerState {
            health: AtomicU8::new(Status::Up as u8),
            admin: AtomicU8::new(if disabled { Admin::Maint } else { Admin::Ready } as u8),
            weight: AtomicU32::new(weight),
            initial_weight: AtomicU32::new(weight),
            checks_enabled: AtomicBool::new(true),
            moved: arc_swap::ArcSwapOption::empty(),
            nolb: AtomicBool::new(false),
            rmaint: AtomicBool::new(false),
            warmup_permille: AtomicU32::new(1000),
            consecutive_errors: AtomicU32::new(0),
            hana_failures: AtomicU64::new(0),
            hana: Mutex::new(None),
            hana_wake: tokio::sync::Notify::new(),
            warmup: Mutex::new(None),
            srv_target: Mutex::new(None),
            agent_down: AtomicBool::new(false),
            agent_admin: AtomicBool::new(false),
            cur_sessions: AtomicU64::new(0),
            max_sessions: AtomicU64::new(0),
            total_sessions: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            response_errors: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            redispatches: AtomicU64::new(0),
            check_failures: AtomicU64::new(0),
            down_transitions: AtomicU64::new(0),
            hrsp: Default::default(),
            check: Mutex::new(CheckRecord::default()),
            kill: tokio::sync::Notify::new(),
            latency: latency::Latency::default(),
        }
    }

    /// The status HAProxy shows: MAINT when an operator said so, DOWN when
    /// the checks (or the agent) say so, DRAIN when an operator drains it,
    /// else UP.
    pub fn status(&self) -> Status {
        // As HAProxy shows it: maintenance first, then a server down (a
        // draining one too), then draining.
        if self.rmaint() {
            return Status::Maint;
        }
        match (self.admin(), self.health()) {
            (Admin::Maint, _) => Status::Maint,
            (_, Status::Down) => Status::Down,
            (Admin::Drain, _) => Status::Drain,
            (Admin::Ready, h) => h,
        }
    }

    /// Health alone (Up or Down): the checks' verdict, and the agent's
    /// "down".
    pub fn health(&self) -> Status {
        if self.agent_down() {
            return Status::Down;
        }
        Status::from_u8(self.health.load(Relaxed))
    }

    /// The agent said "down" (and not "up" since).
    pub fn agent_down(&self) -> bool {
        self.agent_down.load(Relaxed)
    }

    /// Records the agent's "down" or "up"; returns whether it changed.
    pub fn set_agent_down(&self, down: bool) -> bool {
        self.agent_down.swap(down, Relaxed) != down
    }

    /// Whether the operator setting came from the agent.
    pub fn admin_by_agent(&self) -> bool {
        self.agent_admin.load(Relaxed)
    }

    /// Sets the operator setting on the agent's word.
    pub fn set_admin_by_agent(&self, a: Admin) {
        self.set_admin(a);
        self.agent_admin.store(a != Admin::Ready, Relaxed);
    }

    /// Sets health (the checker's verdict): Up or Down.
    pub fn set_health(&self, s: Status) {
        self.health.store(s as u8, Relaxed);
    }

    /// The operator's setting.
    pub fn admin(&self) -> Admin {
        match self.admin.load(Relaxed) {
            1 => Admin::Maint,
            2 => Admin::Drain,
            _ => Admin::Ready,
        }
    }

    /// Sets the operator's setting.
    pub fn set_admin(&self, a: Admin) {
        self.admin.store(a as u8, Relaxed);
        self.agent_admin.store(false, Relaxed);
    }

    /// True when new sessions may go here.
    pub fn usable(&self) -> bool {
        self.admin() == Admin::Ready
            && self.health() == Status::Up
            && !self.nolb()
            && !self.rmaint()
    }

    /// The weight the balancer uses: the weight in force, scaled down
    /// during a `slowstart` warm-up (never below 1 unless it is 0).
    pub fn effective_weight(&self) -> u32 {
        let w = self.weight();
        let p = self.warmup_permille.load(Relaxed);
        if p >= 1000 || w == 0 {
            return w;
        }
        (w * p / 1000).max(1)
    }

    /// The share of its weight a warming server has, in thousandths.
    pub fn warmup_permille(&self) -> u32 {
        self.warmup_permille.load(Relaxed)
    }

    /// Starts a `slowstart` warm-up of `period`: the server begins with
    /// almost none of its weight.
    pub fn start_warmup(&self, period: Duration) {
        if let Ok(mut w) = self.warmup.lock() {
            *w = Some((std::time::Instant::now(), period));
        }
        self.warmup_permille.store(0, Relaxed);
    }

    /// Moves the warm-up on to now; returns whether the share changed.
    /// It ends at full weight.
    pub fn advance_warmup(&self) -> bool {
        let Ok(mut w) = self.warmup.lock() else {
            return false;
        };
        let Some((since, period)) = *w else {
            return false;
        };
        let p = (since.elapsed().as_millis() * 1000 / period.as_millis().max(1)).min(1000) as u32;
        if p >= 1000 {
            *w = None;
        }
        self.warmup_permille.swap(p, Relaxed) != p
    }

    /// One observed exchange (`observe`): a success clears the run of
    /// errors; an error adds to it, and the `limit`-th hands the check task
    /// HAProxy's "Detected N consecutive errors, last one was: WHAT".
    pub fn observed(&self, failed: bool, limit: u32, what: &str) {
        if !failed {
            self.consecutive_errors.store(0, Relaxed);
            return;
        }
        let n = self.consecutive_errors.fetch_add(1, Relaxed) + 1;
        if n < limit {
            return;
        }
        self.consecutive_errors.store(0, Relaxed);
        self.hana_failures.fetch_add(1, Relaxed);
        if let Ok(mut h) = self.hana.lock() {
            *h = Some(format!(
                "Detected {n} consecutive errors, last one was: {what}"
            ));
        }
        self.hana_wake.notify_one();
    }

    /// In maintenance for want of an address (shown "MAINT (resolution)").
    pub fn rmaint(&self) -> bool {
        self.rmaint.load(Relaxed)
    }

    /// Enters or leaves maintenance for want of an address; returns
    /// whether it changed.
    pub fn set_rmaint(&self, on: bool) -> bool {
        self.rmaint.swap(on, Relaxed) != on
    }

    /// Up, but out of load balancing (NOLB).
    pub fn nolb(&self) -> bool {
        self.nolb.load(Relaxed)
    }

    /// Sets NOLB; returns whether it changed.
    pub fn set_nolb(&self, on: bool) -> bool {
        self.nolb.swap(on, Relaxed) != on
    }

    /// The weight in force.
    pub fn weight(&self) -> u32 {
        self.weight.load(Relaxed)
    }

    /// The configured weight.
    pub fn initial_weight(&self) -> u32 {
        self.initial_weight.load(Relaxed)
    }

    /// Sets the weight in force (the balancer must be told: see
    /// `Balancer::reweigh`).
    pub fn set_weight(&self, w: u32) {
        self.weight.store(w, Relaxed);
    }

    /// A reload with this configured weight: an operator's weight stays
    /// while the configuration's is unchanged; a new one in the file wins.
    pub fn configure_weight(&self, w: u32) {
        if self.initial_weight.swap(w, Relaxed) != w {
            self.weight.store(w, Relaxed);
        }
    }

    /// Whether health checks run.
    pub fn checks_enabled(&self) -> bool {
        self.checks_enabled.load(Relaxed)
    }

    /// Starts or stops the health checks. Stopped, the server counts as
    /// UP whatever the last check said.
    pub fn set_checks_enabled(&self, on: bool) {
        self.checks_enabled.store(on, Relaxed);
        if !on {
            self.set_health(Status::Up);
        }
    }

    /// `clear counters`: the maxima start again from the current values;
    /// with `all`, every counter starts again from zero.
    pub fn clear_counters(&self, all: bool) {
        self.max_sessions
            .store(self.cur_sessions.load(Relaxed), Relaxed);
        if !all {
            return;
        }
        for c in [
            &self.total_sessions,
            &self.bytes_in,
            &self.bytes_out,
            &self.connect_errors,
            &self.response_errors,
            &self.retries,
            &self.redispatches,
            &self.check_failures,
            &self.down_transitions,
        ]
        .into_iter()
        .chain(&self.hrsp)
        {
            c.store(0, Relaxed);
        }
    }

    /// Counts a session starting on this server; the guard counts its end.
    pub fn session(self: &Arc<Self>) -> SessionGuard {
        let cur = self.cur_sessions.fetch_add(1, Relaxed) + 1;
        self.max_sessions.fetch_max(cur, Relaxed);
        self.total_sessions.fetch_add(1, Relaxed);
        SessionGuard(self.clone())
    }
}

/// Decrements the current session count when dropped.
#[derive(Debug)]
pub struct SessionGuard(Arc<ServerState>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.cur_sessions.fetch_sub(1, Relaxed);
    }
}

/// A `maxconn`: a semaphore of that many slots, which the runtime API
/// can resize (`set maxconn`). Growing adds slots at once; shrinking takes
/// the free ones at once and the rest as connections end, so that no new
/// one starts until the count is under the new limit.
#[derive(Debug)]
pub struct Limit {
    sem: Arc<tokio::sync::Semaphore>,
    size: std::sync::atomic::AtomicUsize,
}

impl Limit {
    /// A limit of `n` slots.
    pub fn new(n: usize) -> Arc<Limit> {
        Arc::new(Limit {
            sem: Arc::new(tokio::sync::Semaphore::new(n)),
            size: std::sync::atomic::AtomicUsize::new(n),
        })
    }

    /// The limit in force.
    pub fn size(&self) -> usize {
        self.size.load(Relaxed)
    }

    /// The semaphore to take a slot from.
    pub fn semaphore(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.sem
    }

    /// Lifts the limit for good: the object is no longer any proxy's
    /// (a reload removed its `maxconn`), and whoever waits on it goes on.
    pub fn open_wide(&self) {
        let room = tokio::sync::Semaphore::MAX_PERMITS / 2;
        let old = self.size.swap(room, Relaxed);
        self.sem.add_permits(room.saturating_sub(old));
    }

    /// Changes the limit to `n` (at least 1). Shrinking below the slots in
    /// use needs a tokio runtime: a task takes the missing slots as they
    /// are released, and forgets them.
    pub fn resize(&self, n: usize) {
        let n = n.max(1);
        let old = self.size.swap(n, Relaxed);
        if n > old {
            self.sem.add_permits(n - old);
        } else if n < old {
            let want = old - n;
            let missing = want - self.sem.forget_permits(want);
            if missing > 0 {
                let sem = self.sem.clone();
                tokio::spawn(async move {
                    if let Ok(p) = sem.acquire_many_owned(missing as u32).await {
                        p.forget();
                    }
                });
            }
        }
    }
}

/// Counts one session on a proxy (`scur`, %bc) while it lives.
#[derive(Debug)]
pub struct ProxySession<'a>(&'a ProxyCounters);

impl<'a> ProxySession<'a> {
    /// A session starts on the proxy of these counters.
    pub fn start(c: &'a ProxyCounters) -> ProxySession<'a> {
        c.cur_sessions.fetch_add(1, Relaxed);
        ProxySession(c)
    }
}

impl Drop for ProxySession<'_> {
    fn drop(&mut self) {
        self.0.cur_sessions.fetch_sub(1, Relaxed);
    }
}

/// Live counters of a frontend or a backend.
#[derive(Debug, Default)]
pub struct ProxyCounters {
    /// Sessions currently open.
    pub cur_sessions: AtomicU64,
    /// Sessions ever opened.
    pub total_sessions: AtomicU64,
    /// Bytes from clients.
    pub bytes_in: AtomicU64,
    /// Bytes to clients.
    pub bytes_out: AtomicU64,
    /// Requests refused as malformed.
    pub request_errors: AtomicU64,
    /// Requests answered with an error by the proxy itself.
    pub proxy_errors: AtomicU64,
    /// HTTP requests.
    pub requests: AtomicU64,
    /// TLS handshakes completed (`bind ... ssl`).
    pub tls_handshakes: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub tls_failures: AtomicU64,
    /// Connections rejected by `tcp-request connection` or `content` rules.
    pub denied_conn: AtomicU64,
    /// Requests denied by rules (`http-request deny`, `tarpit`).
    pub denied_req: AtomicU64,
    /// Responses denied by rules (`http-response deny`).
    pub denied_resp: AtomicU64,
    /// HTTP responses by class: 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub hrsp: [AtomicU64; 6],
    /// `disable frontend` (runtime API): its listeners stop accepting;
    /// new connections wait in the kernel's backlog.
    pub paused: AtomicBool,
    /// Woken by `enable frontend`.
    pub resumed: tokio::sync::Notify,
}

impl ProxyCounters {
    /// `clear counters all`: every cumulative counter starts again from
    /// zero (the current sessions are a gauge, and stay).
    pub fn clear(&self) {
        for c in [
            &self.total_sessions,
            &self.bytes_in,
            &self.bytes_out,
            &self.request_errors,
            &self.proxy_errors,
            &self.requests,
            &self.tls_handshakes,
            &self.tls_failures,
            &self.denied_conn,
            &self.denied_req,
            &self.denied_resp,
        ]
        .into_iter()
        .chain(&self.hrsp)
        {
            c.store(0, Relaxed);
        }
    }
}

/// The counter in `hrsp` of a status code: 1xx to 5xx, then other.
pub fn hrsp_counter(hrsp: &[AtomicU64; 6], status: u16) -> &AtomicU64 {
    let [c1xx, c2xx, c3xx, c4xx, c5xx, other] = hrsp;
    match status {
        100..=199 => c1xx,
        200..=299 => c2xx,
        300..=399 => c3xx,
        400..=499 => c4xx,
        500..=599 => c5xx,
        _ => other,
    }
}
