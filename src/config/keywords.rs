//! THE keyword tables: every keyword fulcrum accepts, the sections it may
//! appear in (the manual's section 4.1 matrix), and the function that parses
//! it. The global keywords that mean nothing for fulcrum live here too,
//! in [`IGNORED_GLOBAL`], each with the reason given in its warning.

use super::check_kw as c;
use super::global_kw as g;
use super::model::{Global, Options, Proxy};
use super::proxy_kw as p;

/// The sections a proxy keyword may appear in, as in the manual's matrix
/// (columns defaults, frontend, listen, backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Allowed in `defaults`.
    pub defaults: bool,
    /// Means something in a frontend.
    pub frontend: bool,
    /// Means something in a backend.
    pub backend: bool,
}

/// defaults, frontend, listen, backend.
pub const DFLB: Caps = Caps {
    defaults: true,
    frontend: true,
    backend: true,
};
/// defaults, frontend, listen.
pub const DFL: Caps = Caps {
    defaults: true,
    frontend: true,
    backend: false,
};
/// defaults, listen, backend.
pub const DLB: Caps = Caps {
    defaults: true,
    frontend: false,
    backend: true,
};
/// frontend, listen.
pub const FL: Caps = Caps {
    defaults: false,
    frontend: true,
    backend: false,
};
/// listen, backend.
pub const LB: Caps = Caps {
    defaults: false,
    frontend: false,
    backend: true,
};
/// frontend, listen, backend.
pub const FLB: Caps = Caps {
    defaults: false,
    frontend: true,
    backend: true,
};

/// What a keyword handler gets: the keyword as written in full (for
/// messages), its arguments, and room for warnings.
pub struct Line<'a> {
    /// "timeout client", "bind", ...
    pub kw: &'a str,
    /// The words after the keyword.
    pub args: &'a [String],
    /// Warnings to report at this line.
    pub warnings: Vec<String>,
    /// Where the line was written: handlers keep it with what they build
    /// (a server, a rule), so later checks report at this line.
    pub origin: super::model::Origin,
}

impl Line<'_> {
    /// Exactly one argument, or an error naming what was expected.
    pub fn one(&self, what: &str) -> Result<&str, String> {
        match self.args {
            [a] => Ok(a),
            [] => Err(format!("'{}' expects {what}", self.kw)),
            _ => Err(format!(
                "'{}' expects only {what}, got extra argument '{}'",
                self.kw, self.args[1]
            )),
        }
    }

    /// No argument at all.
    pub fn none(&self) -> Result<(), String> {
        match self.args.first() {
            None => Ok(()),
            Some(a) => Err(format!("'{}' takes no argument, got '{a}'", self.kw)),
        }
    }
}

/// A proxy keyword handler.
pub type ProxyFn = fn(&mut Proxy, &mut Line) -> Result<(), String>;
/// A global keyword handler.
pub type GlobalFn = fn(&mut Global, &mut Line) -> Result<(), String>;

/// One proxy keyword.
pub struct ProxyKeyword {
    /// The keyword, with its second word for families (`timeout client`).
    pub name: &'static str,
    /// Where it may appear.
    pub caps: Caps,
    /// Its parser.
    pub parse: ProxyFn,
}

const fn kw(name: &'static str, caps: Caps, parse: ProxyFn) -> ProxyKeyword {
    ProxyKeyword { name, caps, parse }
}

/// Keywords whose second word selects the keyword (`timeout client`).
pub const FAMILIES: [&str; 9] = [
    "option",
    "timeout",
    "stats",
    "http-check",
    "monitor",
    "tcp-request",
    "capture",
    "declare",
    "stick",
];

/// Every proxy keyword except the boolean options (see [`BOOL_OPTIONS`]).
pub static PROXY_KEYWORDS: &[ProxyKeyword] = &[
    kw("mode", DFLB, p::mode),
    kw("bind", FL, super::bind_kw::bind),
    kw("server", LB, super::server_kw::server),
    kw("default-server", DLB, super::server_kw::default_server),
    kw("server-template", LB, super::server_kw::server_template),
    kw("balance", DLB, p::balance),
    kw("log", DFLB, p::log),
    kw("retries", DLB, p::retries),
    kw("maxconn", DFL, p::maxconn),
    kw("default_backend", DFL, p::default_backend),
    kw("use_backend", FL, p::use_backend),
    kw("acl", FLB, p::acl),
    kw("http-request", FLB, p::http_request),
    kw("http-response", FLB, p::http_response),
    kw("http-after-response", FLB, p::http_after_response),
    kw("redirect", FLB, p::redirect),
    kw("use-server", LB, p::use_server),
    kw("monitor-uri", DFL, p::monitor_uri),
    kw("unique-id-format", DFL, p::unique_id_format),
    kw("http-reuse", DLB, p::http_reuse),
    kw("unique-id-header", DFL, p::unique_id_header),
    kw("http-send-name-header", LB, p::http_send_name_header),
    kw("force-persist", LB, p::persist_rule),
    kw("ignore-persist", LB, p::persist_rule),
    kw("capture request", FL, p::capture),
    kw("capture response", FL, p::capture),
    kw("declare capture", FL, p::declare_capture),
    kw("tcp-request connection", FL, p::tcp_request_connection),
    kw("tcp-request content", FLB, p::tcp_request_content),
    kw(
        "tcp-request inspect-delay",
        FLB,
        p::tcp_request_inspect_delay,
    ),
    kw("monitor fail", FL, p::monitor_fail),
    kw("cookie", DLB, p::cookie),
    kw("stick-table", FLB, p::stick_table),
    kw("stick on", LB, p::stick_rule),
    kw("stick match", LB, p::stick_rule),
    kw("stick store-request", LB, p::stick_rule),
    kw("errorfile", DFLB, p::errorfile),
    kw("errorfiles", DFLB, p::errorfiles),
    kw("http-error", DFLB, p::http_error),
    kw("option httplog", DFL, p::option_httplog),
    kw("option httpslog", DFL, p::option_httpslog),
    kw("log-format", DFL, p::log_format),
    kw("option forwardfor", DFLB, p::option_forwardfor),
    kw("option originalto", DFLB, p::option_originalto),
    kw("option httpchk", DLB, p::option_httpchk),
    kw("option redispatch", DLB, p::option_redispatch),
    kw("timeout client", DFL, p::timeout_client),
    kw("timeout client-fin", DFL, p::timeout_client_fin),
    kw("timeout server", DLB, p::timeout_server),
    kw("timeout server-fin", DLB, p::timeout_server_fin),
    kw("timeout connect", DLB, p::timeout_connect),
    kw("timeout queue", DLB, p::timeout_queue),
    kw("timeout http-request", DFLB, p::timeout_http_request),
    kw("timeout http-keep-alive", DFLB, p::timeout_http_keep_alive),
    kw("timeout check", DLB, p::timeout_check),
    kw("timeout tunnel", DLB, p::timeout_tunnel),
    kw("timeout tarpit", DFLB, p::timeout_tarpit),
    kw("stats enable", DFLB, p::stats_enable),
    kw("stats uri", DFLB, p::stats_uri),
    kw("stats realm", DFLB, p::stats_realm),
    kw("stats auth", DFLB, p::stats_auth),
    kw("stats refresh", DFLB, p::stats_refresh),
    kw("stats admin", FLB, p::stats_admin),
    kw("stats hide-version", DFLB, p::stats_hide_version),
    kw("stats show-legends", DFLB, p::stats_show_legends),
    kw("stats show-node", DFLB, p::stats_show_node),
    kw("stats show-desc", DFLB, p::stats_show_desc),
    kw("stats scope", DFLB, p::stats_scope),
    kw("stats http-request", LB, p::stats_http_request),
    kw("http-check send", DLB, p::http_check_send),
    kw("http-check send-state", DLB, p::http_check_send_state),
    kw(
        "http-check connect",
        DLB,
        super::check_kw::http_check_connect,
    ),
    kw("http-check set-var", DLB, super::check_kw::http_check_var),
    kw("http-check unset-var", DLB, super::check_kw::http_check_var),
    kw(
        "http-check comment",
        DLB,
        super::check_kw::http_check_comment,
    ),
    kw(
        "http-check disable-on-404",
        DLB,
        p::http_check_disable_on_404,
    ),
    kw("tcp-check", DLB, p::tcp_check),
    kw("option redis-check", DLB, c::option_redis_check),
    kw("option pgsql-check", DLB, c::option_pgsql_check),
    kw("option ssl-hello-chk", DLB, c::option_ssl_hello_chk),
    kw("option mysql-check", DLB, c::option_mysql_check),
    kw("option smtpchk", DLB, c::option_smtpchk),
    kw("option ldap-check", DLB, c::option_ldap_check),
    kw("option spop-check", DLB, c::option_spop_check),
    kw("http-check expect", DLB, p::http_check_expect),
];

/// A boolean option: `option NAME` sets it, `no option NAME` clears it.
pub struct BoolOption {
    /// The option's name.
    pub name: &'static str,
    /// Where it may appear.
    pub caps: Caps,
    /// Sets or clears it.
    pub set: fn(&mut Options, bool),
}

const fn opt(name: &'static str, caps: Caps, set: fn(&mut Options, bool)) -> BoolOption {
    BoolOption { name, caps, set }
}

fn splice(o: &mut Options, name: &str, on: bool) {
    o.splice.retain(|s| s != name);
    if on {
        o.splice.push(name.to_string());
    }
}

/// The boolean options, all of which `no option` may clear.
pub static BOOL_OPTIONS: &[BoolOption] = &[
    opt("tcplog", DFLB, p::set_tcplog),
    opt("dontlognull", DFL, |o, v| o.dontlognull = v),
    opt("log-separate-errors", DFL, |o, v| o.log_separate_errors = v),
    opt("prefer-last-server", DLB, |o, v| o.prefer_last_server = v),
    opt("http-buffer-request", DFLB, |o, v| {
        o.http_buffer_request = v
    }),
    opt("splice-auto", DFLB, |o, v| splice(o, "splice-auto", v)),
    opt("splice-request", DFLB, |o, v| {
        splice(o, "splice-request", v)
    }),
    opt("splice-response", DFLB, |o, v| {
        splice(o, "splice-response", v)
    }),
    opt("log-health-checks", DLB, |o, v| o.log_health_checks = v),
    opt("logasap", DFL, |o, v| o.logasap = v),
    opt("dontlog-normal", DFL, |o, v| o.dontlog_normal = v),
    opt("tcp-check", DLB, p::set_tcp_check),
    opt("http-server-close", DFLB, p::set_http_server_close),
    opt("httpclose", DFLB, p::set_httpclose),
    opt("http-keep-alive", DFLB, p::set_http_keep_alive),
    opt("allbackups", DLB, |o, v| o.allbackups = v),
    opt("tcpka", DFLB, |o, v| o.tcpka = v),
    opt("clitcpka", DFL, |o, v| o.clitcpka = v),
    opt("srvtcpka", DLB, |o, v| o.srvtcpka = v),
];

/// Options that take arguments but may still be cleared with `no option`
/// (HAProxy refuses `no` for httplog, forwardfor and httpchk).
pub const CLEARABLE_OPTIONS: [&str; 1] = ["redispatch"];

/// One global keyword.
pub struct GlobalKeyword {
    /// The keyword (`stats socket` has two words).
    pub name: &'static str,
    /// Its parser.
    pub parse: GlobalFn,
}

const fn gkw(name: &'static str, parse: GlobalFn) -> GlobalKeyword {
    GlobalKeyword { name, parse }
}

/// Every global keyword that fulcrum acts on.
pub static GLOBAL_KEYWORDS: &[GlobalKeyword] = &[
    gkw("log", g::log),
    gkw("maxconn", g::maxconn),
    gkw("nbthread", g::nbthread),
    gkw("daemon", g::daemon),
    gkw("master-worker", g::master_worker),
    gkw("zero-warning", g::zero_warning),
    gkw("pidfile", g::pidfile),
    gkw("stats socket", g::stats_socket),
    gkw("stats timeout", g::stats_timeout),
    gkw("stats maxconn", g::stats_maxconn),
    gkw("log-tag", g::log_tag),
    gkw("node", g::node),
    gkw("localpeer", g::localpeer),
    gkw("spread-checks", g::spread_checks),
    gkw("log-send-hostname", g::log_send_hostname),
    gkw("hard-stop-after", g::hard_stop_after),
    gkw("tune.bufsize", g::tune_bufsize),
    gkw("tune.maxrewrite", g::tune_maxrewrite),
    gkw("tune.http.maxhdr", g::tune_http_maxhdr),
    gkw("maxpipes", g::maxpipes),
    gkw("tune.pipesize", g::tune_pipesize),
    gkw("nosplice", g::nosplice),
    gkw("ca-base", g::ca_base),
    gkw("crt-base", g::crt_base),
    gkw("ssl-default-bind-ciphers", g::ssl_default_bind_ciphers),
    gkw(
        "ssl-default-bind-ciphersuites",
        g::ssl_default_bind_ciphersuites,
    ),
    gkw("ssl-default-bind-options", g::ssl_default_bind_options),
    gkw("ssl-server-verify", g::ssl_server_verify),
];

/// Global keywords that mean nothing for fulcrum: accepted, kept in the model
/// so `convert` loses nothing, and reported with a one-line warning giving
/// the reason. This is the one list; README's table is taken from it.
pub static IGNORED_GLOBAL: &[(&str, &str)] = &[
    (
        "tune.idle-pool.shared",
        "fulcrum keeps each worker's idle server connections to itself; there is no shared pool to switch",
    ),
    (
        "stats bind-process",
        "fulcrum runs one process; its control thread serves the runtime API",
    ),
    (
        "chroot",
        "fulcrum does not chroot itself; use systemd's RootDirectory= or a container",
    ),
    (
        "user",
        "fulcrum does not change user; start it as the user it should run as (systemd User=)",
    ),
    (
        "group",
        "fulcrum does not change group; start it with the group it should run as (systemd Group=)",
    ),
    (
        "uid",
        "fulcrum does not change user; start it as the user it should run as (systemd User=)",
    ),
    (
        "gid",
        "fulcrum does not change group; start it with the group it should run as (systemd Group=)",
    ),
    (
        "ulimit-n",
        "fulcrum does not raise its file limit; set LimitNOFILE= in the systemd unit",
    ),
    (
        "tune.ssl.default-dh-param",
        "rustls has no finite-field Diffie-Hellman parameters to size",
    ),
    (
        "ssl-dh-param-file",
        "rustls has no finite-field Diffie-Hellman parameters",
    ),
    (
        "noepoll",
        "fulcrum's event loop is tokio's; poller selection does not apply",
    ),
    (
        "nopoll",
        "fulcrum's event loop is tokio's; poller selection does not apply",
    ),
    ("insecure-fork-wanted", "fulcrum never forks"),
    (
        "cpu-map",
        "fulcrum does not pin its threads; use taskset or systemd's CPUAffinity=",
    ),
    (
        "strict-limits",
        "fulcrum does not raise its own limits, so there is nothing to enforce; set LimitNOFILE= in the systemd unit",
    ),
    (
        "tune.h2.initial-window-size",
        "fulcrum does not speak HTTP/2 yet",
    ),
    (
        "tune.h2.max-concurrent-streams",
        "fulcrum does not speak HTTP/2 yet",
    ),
    (
        "tune.h2.header-table-size",
        "fulcrum does not speak HTTP/2 yet",
    ),
    (
        "tune.h2.max-frame-size",
        "fulcrum does not speak HTTP/2 yet",
    ),
    (
        "expose-experimental-directives",
        "fulcrum has no experimental directives: the ones it supports (normalize-uri) need no permission",
    ),
    (
        "ssl-default-server-ciphers",
        "it only shapes TLS to servers, which fulcrum does not speak yet ('server ... ssl' is refused)",
    ),
    (
        "ssl-default-server-ciphersuites",
        "it only shapes TLS to servers, which fulcrum does not speak yet ('server ... ssl' is refused)",
    ),
    (
        "ssl-default-server-options",
        "it only shapes TLS to servers, which fulcrum does not speak yet ('server ... ssl' is refused)",
    ),
];

/// The sections fulcrum does not support yet (accepted by HAProxy).
pub const UNSUPPORTED_SECTIONS: [&str; 3] = ["mailers", "ring", "cache"];

/// The closest known keyword to a misspelt one, when close enough to help.
pub fn suggest<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = edit_distance(word, k);
        if d <= 2.max(word.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// HAProxy 2.6 proxy keywords fulcrum does not support yet. They are
/// refused like unknown ones, but the message says they are real and not
/// there yet, rather than suggesting a typo.
pub const NOT_YET: &[&str] = &[
    "log-format-sd",
    "error-log-format",
    "stick store-response",
    "capture cookie",
    "errorloc",
    "errorloc302",
    "errorloc303",
    "fullconn",
    "hash-type",
    "hash-balance-factor",
    "dynamic-cookie-key",
    "email-alert",
    "description",
    "id",
    "persist",
    "rate-limit",
    "load-server-state-from-file",
    "server-state-file-name",
    "source",
    "tcp-response",
    "tcp-request session",
    "filter",
    "compression",
    "external-check",
    "retry-on",
    "option external-check",
    "option abortonclose",
    "option http-ignore-probes",
    "option nolinger",
    "option checkcache",
    "option contstats",
    "option independent-streams",
    "option persist",
    "option socket-stats",
    "option tcp-smart-accept",
    "option tcp-smart-connect",
    "option http-pretend-keepalive",
    "option http-no-delay",
    "option http-use-proxy-header",
    "option accept-invalid-http-request",
    "option accept-invalid-http-response",
    "option h1-case-adjust-bogus-client",
    "option h1-case-adjust-bogus-server",
    "option disable-h2-upgrade",
    "option http-restrict-req-hdr-names",
    "option transparent",
];

/// Keywords HAProxy removed, with what to write instead (HAProxy 2.6 gives
/// the same advice).
pub const REMOVED: &[(&str, &str)] = &[
    ("contimeout", "'timeout connect'"),
    ("clitimeout", "'timeout client'"),
    ("srvtimeout", "'timeout server'"),
    ("redispatch", "'option redispatch'"),
    ("reqadd", "'http-request add-header'"),
    ("reqdel", "'http-request del-header'"),
    ("reqidel", "'http-request del-header'"),
    (
        "reqrep",
        "'http-request replace-header', 'replace-path' or 'replace-uri'",
    ),
    (
        "reqirep",
        "'http-request replace-header', 'replace-path' or 'replace-uri'",
    ),
    ("reqallow", "'http-request allow'"),
    ("reqiallow", "'http-request allow'"),
    ("reqdeny", "'http-request deny'"),
    ("reqideny", "'http-request deny'"),
    (
        "reqpass",
        "nothing: a rule that lets a request through is the default",
    ),
    (
        "reqipass",
        "nothing: a rule that lets a request through is the default",
    ),
    ("reqtarpit", "'http-request tarpit'"),
    ("reqitarpit", "'http-request tarpit'"),
    ("reqsetbe", "'use_backend'"),
    ("reqisetbe", "'use_backend'"),
    ("rspadd", "'http-response add-header'"),
    ("rspdel", "'http-response del-header'"),
    ("rspidel", "'http-response del-header'"),
    ("rsprep", "'http-response replace-header'"),
    ("rspirep", "'http-response replace-header'"),
    ("rspdeny", "'http-response deny'"),
    ("rspideny", "'http-response deny'"),
    (
        "block",
        "'http-request deny', which takes the same condition",
    ),
    (
        "monitor-net",
        "'http-request return status 200 if { src NET }'",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["option", "timeout", "balance"];
        assert_eq!(suggest("optoin", known.iter().copied()), Some("option"));
        assert_eq!(suggest("timout", known.iter().copied()), Some("timeout"));
        assert_eq!(suggest("zzz", known.iter().copied()), None);
    }

    #[test]
    fn keyword_names_are_unique() {
        let mut names: Vec<String> = PROXY_KEYWORDS.iter().map(|k| k.name.to_string()).collect();
        // Options live under `option` (`option tcp-check` is not the
        // `tcp-check` keyword).
        names.extend(BOOL_OPTIONS.iter().map(|o| format!("option {}", o.name)));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len());
    }
}
