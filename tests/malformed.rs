//! End-to-end: malformed configurations given to the built binary with
//! `fulcrum -c -f FILE`. Each must exit 1 and report an error (not a warning)
//! as `FILE:LINE: message` at the right line, naming the keyword at fault.
//!
//! Every case is a small complete configuration: a `defaults` with the three
//! timeouts, a frontend or listen bound to 127.0.0.1 (`-c` binds nothing)
//! and a backend. Most cases start from the same nine lines:
//!
//! ```text
//! 1 defaults
//! 2     timeout connect 5s
//! 3     timeout client 30s
//! 4     timeout server 30s
//! 5 frontend fe
//! 6     bind 127.0.0.1:8080
//! 7     default_backend be
//! 8 backend be
//! 9     server s1 127.0.0.1:9000
//! ```
//!
//! The rule cases (ACLs, fetches, converters, actions) add `mode http` to
//! the defaults as line 2, which puts a frontend rule at line 9.
//!
//! The expected behaviour is HAProxy 2.6's: every case was also run through
//! `haproxy -c` 2.6.12, which rejects each at the same line, except the
//! cases commented otherwise (the comment above each rule case says what
//! HAProxy does with it). Cases marked `FULCRUM BUG` expect HAProxy's
//! behaviour where fulcrum departs from it, and fail until fulcrum is fixed.

mod common;

use common::{check, errors_at, warnings_at, TempPath};

/// One malformed configuration and where and how it must be reported.
struct Case {
    /// Short name, also used in the temp file name.
    name: &'static str,
    /// The whole configuration file.
    cfg: &'static str,
    /// 1-based line of the error.
    line: u32,
    /// What the error message must contain.
    expect: &'static str,
}

const fn case(name: &'static str, line: u32, expect: &'static str, cfg: &'static str) -> Case {
    Case {
        name,
        cfg,
        line,
        expect,
    }
}

/// The nine-line configuration of the module comment, valid as it is.
const BASELINE: &str = "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
";

static CASES: &[Case] = &[
    // ---- unknown keywords, in every kind of section ----
    case(
        "global_unknown_keyword_hint",
        2,
        "unknown keyword 'nbthreed' in 'global' section; did you mean 'nbthread'",
        "\
global
    nbthreed 2
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "global_nbproc_removed",
        2,
        "unknown keyword 'nbproc' in 'global' section",
        "\
global
    nbproc 2
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "defaults_unknown_keyword_hint",
        5,
        "unknown keyword 'optoin' in 'defaults' section; did you mean 'option'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    optoin httplog
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "frontend_unknown_keyword_hint",
        8,
        "unknown keyword 'optoin' in 'frontend' section; did you mean 'option'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    optoin forwardfor
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "backend_unknown_keyword_hint",
        10,
        "unknown keyword 'balanse' in 'backend' section; did you mean 'balance'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    balanse roundrobin
",
    ),
    case(
        "listen_unknown_keyword_hint",
        7,
        "unknown keyword 'servr' in 'listen' section; did you mean 'server'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen app
    bind 127.0.0.1:8080
    servr s1 127.0.0.1:9000
",
    ),
    case(
        "unknown_keyword_without_hint",
        8,
        "unknown keyword 'frobnicate' in 'frontend' section",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    frobnicate on
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "keyword_before_any_section",
        1,
        "unknown keyword 'maxconn' out of section",
        "\
maxconn 100
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- options and timeouts ----
    case(
        "unknown_option",
        8,
        "unknown keyword 'option nosuchoption' in 'frontend' section",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    option nosuchoption
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "misspelt_option_hint",
        10,
        "unknown keyword 'option redispach' in 'backend' section; did you mean 'option redispatch'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    option redispach
",
    ),
    // FULCRUM BUG: a family keyword alone on its line ('option', 'timeout',
    // 'stats', 'http-check') panics in parse.rs (slice index 2..) instead of
    // reporting an error. HAProxy: "'option' expects an option name."
    case(
        "option_without_name",
        8,
        "'option' expects",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    option
backend be
    server s1 127.0.0.1:9000
",
    ),
    // FULCRUM BUG: same panic as option_without_name.
    case(
        "timeout_without_name",
        10,
        "'timeout' expects",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    timeout
",
    ),
    case(
        "no_option_httplog",
        8,
        "'no option httplog' is not supported",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    no option httplog
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "no_balance",
        10,
        "'no balance' is not supported",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    no balance
",
    ),
    case(
        "unknown_timeout_hint",
        5,
        "unknown keyword 'timeout clinet' in 'defaults' section; did you mean 'timeout client'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout clinet 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "time_not_a_number",
        3,
        "'timeout client': 'abc' is not a time value",
        "\
defaults
    timeout connect 5s
    timeout client abc
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "time_unknown_unit",
        4,
        "'timeout server': unexpected unit 'x' in '5x'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 5x
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "time_fraction",
        2,
        "'timeout connect': unexpected unit '.5s' in '1.5s'",
        "\
defaults
    timeout connect 1.5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "time_overflow_25d",
        8,
        "'timeout client': timer overflow in '25d'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    timeout client 25d
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "time_missing_value",
        10,
        "'timeout server' expects a time value",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    timeout server
",
    ),
    // ---- mode and balance ----
    case(
        "bad_mode",
        8,
        "'mode' expects 'tcp' or 'http', got 'udp'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    mode udp
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bad_balance",
        10,
        "unknown balance algorithm 'fastest'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    balance fastest
",
    ),
    // ---- bind ----
    case(
        "bind_without_port",
        6,
        "'bind': missing port in '127.0.0.1'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bind_port_zero",
        6,
        "'bind': invalid port '0' in '127.0.0.1:0'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bind_port_99999",
        6,
        "'bind': invalid port '99999' in '127.0.0.1:99999'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:99999
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bind_bad_ip",
        6,
        "'bind': invalid address '300.1.2.3:8080'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 300.1.2.3:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bind_unknown_param",
        6,
        "'bind 127.0.0.1:8080': unknown parameter 'reuse-everything'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080 reuse-everything
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bind_ssl_without_crt",
        6,
        "'bind 127.0.0.1:8443': 'ssl' needs at least one 'crt FILE'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8443 ssl
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bind_in_defaults",
        5,
        "'bind' not allowed in 'defaults' section",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    bind 127.0.0.1:8080
frontend fe
    bind 127.0.0.1:8081
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy: line 6, "unable to stat SSL certificate from file
    // '/nonexistent/fulcrum.pem'": reported at the bind that names it.
    case(
        "bind_crt_missing_first_of_two_binds",
        6,
        "cannot read '/nonexistent/fulcrum.pem'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8443 ssl crt /nonexistent/fulcrum.pem
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- server ----
    case(
        "server_without_address",
        9,
        "'server' expects a name and an address",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1
",
    ),
    case(
        "server_port_99999",
        9,
        "'server s1': invalid port '99999'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:99999
",
    ),
    case(
        "server_port_not_a_number",
        9,
        "'server s1': invalid port 'abc'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:abc
",
    ),
    case(
        "server_unknown_param",
        9,
        "'server s1': unknown parameter 'chekc'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 chekc
",
    ),
    case(
        "server_weight_257",
        9,
        "'server s1': weight 257 is out of range (0-256)",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 weight 257
",
    ),
    case(
        "server_rise_0",
        9,
        "'server s1': 'rise' must be at least 1",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 check rise 0
",
    ),
    case(
        "server_fall_0",
        9,
        "'server s1': 'fall' must be at least 1",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 check fall 0
",
    ),
    case(
        "server_inter_0",
        9,
        "'server s1': 'inter' must be greater than zero",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 check inter 0
",
    ),
    case(
        "server_in_frontend",
        8,
        "'server' not allowed in 'frontend' section",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    server s2 127.0.0.1:9001
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "server_in_defaults",
        5,
        "'server' not allowed in 'defaults' section",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    server s0 127.0.0.1:9000
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "server_ssl_without_verify_or_ca_file",
        9,
        "server 'be/s1': 'ssl' verifies the server's certificate by default but no 'ca-file'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9443 ssl
",
    ),
    // FULCRUM BUG: a 'ca-file' that does not exist is accepted (exit 0).
    // HAProxy: "[FILE:9] : 'server be/s1' : Couldn't open the ca-file
    // '/nonexistent/ca.pem'" and "'ca-file' : unable to load ...", exit 1.
    case(
        "server_ca_file_missing",
        9,
        "ca-file",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9443 ssl ca-file /nonexistent/ca.pem
",
    ),
    // HAProxy 2.6 refuses it at the same line ("unknown fetch method
    // 'nosuch'").
    case(
        "server_sni_unknown_fetch",
        9,
        "server 's1': 'sni': unknown fetch method 'nosuch'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9443 ssl verify none sni nosuch(x)
",
    ),
    // HAProxy 2.6 refuses it at the same line ("No Private Key found in
    // '/etc/passwd'"); the file exists but is no certificate.
    case(
        "bind_crt_not_a_certificate",
        6,
        "'/etc/passwd' holds no certificate",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8443 ssl crt /etc/passwd
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- tracking ----
    case(
        "track_missing_backend",
        10,
        "server 'be/s2': cannot track 'nosuch/s1': there is no backend 'nosuch'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 check
    server s2 127.0.0.1:9001 track nosuch/s1
",
    ),
    case(
        "track_missing_server",
        10,
        "server 'be/s2': cannot track 's9': backend 'be' has no server 's9'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 check
    server s2 127.0.0.1:9001 track s9
",
    ),
    case(
        "track_server_without_check",
        10,
        "server 'be/s2': cannot track 'be/s1': it has no 'check' enabled",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    server s2 127.0.0.1:9001 track s1
",
    ),
    case(
        "track_cycle",
        10,
        "server 'be/s2': cannot track 's1': the tracking chain loops back",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 track s2
    server s2 127.0.0.1:9001 track s1
",
    ),
    case(
        "check_and_track_together",
        10,
        "server 'be/s2': 'check' and 'track' cannot be used together",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 check
    server s2 127.0.0.1:9001 check track s1
",
    ),
    // ---- routing ----
    case(
        "default_backend_missing",
        7,
        "default_backend 'nosuch' does not name a backend",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend nosuch
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "default_backend_is_a_frontend",
        7,
        "default_backend 'fe2' does not name a backend",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend fe2
frontend fe2
    bind 127.0.0.1:8081
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "use_backend_missing",
        8,
        "use_backend 'nosuch' does not name a backend",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend nosuch if TRUE
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "use_backend_in_defaults",
        5,
        "'use_backend' not allowed in 'defaults' section",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    use_backend be
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "http_frontend_to_tcp_backend",
        8,
        "http frontend 'fe' cannot use tcp backend 'be'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be
backend be
    mode tcp
    server s1 127.0.0.1:9000
",
    ),
    // ---- names ----
    case(
        "duplicate_backend",
        10,
        "backend 'be' has the same name as backend 'be'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
backend be
    server s2 127.0.0.1:9001
",
    ),
    case(
        "listen_and_frontend_same_name",
        8,
        "frontend 'app' has the same name as proxy 'app'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen app
    bind 127.0.0.1:8080
    server s1 127.0.0.1:9000
frontend app
    bind 127.0.0.1:8081
    default_backend app
",
    ),
    case(
        "duplicate_server",
        10,
        "backend 'be': another server named 's1'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    server s1 127.0.0.1:9001
",
    ),
    // ---- section lines ----
    case(
        "frontend_without_name",
        5,
        "'frontend' expects a name",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "from_missing_defaults",
        5,
        "'frontend fe': no defaults section named 'nosuch'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe from nosuch
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy supports 'mailers'; fulcrum does not yet and says so.
    case(
        "unsupported_section_mailers",
        10,
        "'mailers' sections are not supported",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
mailers mymailers
    mailer smtp1 127.0.0.1:587
",
    ),
    // FULCRUM BUG: the error is reported at the line after the last one
    // (11: the empty string after the final newline), not at the file's
    // last line (10) as HAProxy does ("parsing [FILE:10]: non-terminated
    // '.if' block.").
    case(
        "if_without_endif",
        10,
        "'.endif'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
.if 1
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- quoting ----
    case(
        "unmatched_quote",
        7,
        "unmatched double quote",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend \"be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "bad_hex_escape",
        7,
        "invalid '\\x' sequence",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend b\\xZZ
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- stats, checks, forwardfor, errorfile ----
    case(
        "stats_admin_without_condition",
        9,
        "'stats admin' expects a condition",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be
    stats admin
backend be
    mode http
    server s1 127.0.0.1:9000
",
    ),
    // Stricter than HAProxy 2.6, which accepts 'stats auth admin' silently;
    // fulcrum refuses a credential without its ':' separator on purpose.
    case(
        "stats_auth_without_colon",
        9,
        "'stats auth' expects USER:PASSWORD, got 'admin'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be
    stats auth admin
backend be
    mode http
    server s1 127.0.0.1:9000
",
    ),
    case(
        "http_check_expect_unknown_match",
        12,
        "'http-check expect': unknown match 'nosuch'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be
backend be
    mode http
    option httpchk GET /health
    http-check expect nosuch 200
    server s1 127.0.0.1:9000 check
",
    ),
    case(
        "forwardfor_except_not_a_network",
        9,
        "'option forwardfor except': invalid network 'notanet'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be
    option forwardfor except notanet
backend be
    mode http
    server s1 127.0.0.1:9000
",
    ),
    case(
        "errorfile_missing",
        10,
        "'errorfile 503': cannot read '/nonexistent/fulcrum/503.http'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    errorfile 503 /nonexistent/fulcrum/503.http
",
    ),
    // FULCRUM BUG: every missing errorfile of a proxy is reported at the
    // proxy's LAST 'errorfile' line (11), so the 503 one is misplaced.
    // HAProxy: "parsing [FILE:10] : errorfile : error opening file ...".
    case(
        "errorfile_missing_first_of_two",
        10,
        "'errorfile 503': cannot read '/nonexistent/fulcrum/503.http'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    errorfile 503 /nonexistent/fulcrum/503.http
    errorfile 504 /nonexistent/fulcrum/504.http
",
    ),
    // ---- global ----
    case(
        "nbthread_zero",
        2,
        "'nbthread' must be between 1 and 4096, got 0",
        "\
global
    nbthread 0
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "log_unknown_facility",
        2,
        "'log': unknown facility 'nosuchfacility'",
        "\
global
    log 127.0.0.1 nosuchfacility
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // The rule cases add 'mode http' to the baseline's defaults as line 2, so
    // a frontend rule is line 9, 'backend be' line 10 and 'server s1' line
    // 11; the three that need the default 'mode tcp' use the baseline as it
    // is, with the rule at line 8.
    // ---- rules: fetches and converters ----
    // HAProxy 2.6 refuses it at line 9 (no hint).
    case(
        "acl_unknown_fetch_hint",
        9,
        "acl 'a': unknown fetch method 'pathx' (did you mean 'path'?)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a pathx /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "use_backend_anonymous_unknown_fetch",
        9,
        "'use_backend': anonymous ACL '{ pathx /x }': unknown fetch method 'pathx' (did you mean 'path'?)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if { pathx /x }
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "acl_unknown_converter_hint",
        9,
        "acl 'a': unknown converter 'lowr' (did you mean 'lower'?)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a hdr(host),lowr example.com
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9: "converter 'ipmask' cannot be applied".
    case(
        "fmt_converter_wrong_type",
        9,
        "converter 'ipmask' cannot be applied",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %[src,b64dec,ipmask(24)]
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fetch_too_many_args",
        9,
        "fetch method 'hdr_cnt' takes at most 1 argument, got 3",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a hdr_cnt(a,b,c) 1
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "converter_too_few_args",
        9,
        "converter 'field' expects 2 to 3 arguments, got 1",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path,field(1) x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "converter_bad_integer_arg",
        9,
        "converter 'field': 'one' is not an integer",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path,field(one,/) x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fetch_bad_occurrence",
        9,
        "invalid occurrence",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a hdr(host,x) example.com
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fetch_missing_paren",
        9,
        "missing closing ')' after arguments to 'hdr'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a hdr(host example.com
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fetch_int_not_integer",
        9,
        "fetch method 'int': 'abc' is not an integer",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a int(abc) 1
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "nbsrv_no_backend",
        9,
        "fetch method 'nbsrv': no such backend 'nosuch'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a nbsrv(nosuch) 1
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "srv_is_up_no_server",
        9,
        "fetch method 'srv_is_up': no such server 'be/nosuch'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a srv_is_up(be/nosuch)
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "ipmask_bad_mask",
        9,
        "converter 'ipmask': invalid mask '33'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a src,ipmask(33) 10.0.0.0/8
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "json_unknown_mode",
        9,
        "converter 'json': unknown mode 'foo'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %[path,json(foo)]
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "regsub_bad_regex",
        9,
        "converter 'regsub': invalid regex '*x'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %[path,regsub(*x,y)]
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "map_file_missing",
        9,
        "cannot read map file '/nonexistent/fulcrum.map'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %[path,map(/nonexistent/fulcrum.map)]
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- rules: ACL patterns and match methods ----
    // HAProxy 2.6 refuses it at line 9.
    case(
        "path_reg_bad_regex",
        9,
        "acl 'a': invalid regex '^/(x'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path_reg ^/(x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "match_reg_bad_regex",
        9,
        "acl 'a': invalid regex '[a-'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path -m reg [a-
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "pattern_file_missing",
        9,
        "failed to open pattern file '/nonexistent/fulcrum.lst'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path -f /nonexistent/fulcrum.lst
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "unknown_match_method",
        9,
        "unknown match method 'foo'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path -m foo /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it (exit 0); fulcrum refuses a bool match on a string.
    case(
        "match_bool_on_string",
        9,
        "acl 'a': match method 'bool' needs a boolean or integer sample",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a path -m bool
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "int_pattern_not_a_number",
        9,
        "acl 'a': invalid integer range 'abc'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a hdr_val(x) abc
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "acl_pattern_bad_operator",
        9,
        "acl 'a': 'abc' is not an integer",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a hdr_val(x) gt abc
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "ip_pattern_bad",
        9,
        "acl 'a': '10.0.0.300' is not a valid IPv4 or IPv6 address or network",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a src 10.0.0.300
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- rules: ACL names and conditions ----
    // HAProxy 2.6 refuses it at line 9.
    case(
        "acl_without_criterion",
        9,
        "'acl' expects a name and a criterion",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "undeclared_acl",
        9,
        "no such ACL : 'nosuch'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if nosuch
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it silently (exit 0); fulcrum refuses on purpose.
    case(
        "redefine_predefined_acl",
        9,
        "ACL name 'TRUE' is a predefined ACL and cannot be redefined",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl TRUE path /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "acl_name_bad_char",
        9,
        "ACL name 'a@b' contains the invalid character '@'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    acl a@b path /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "anonymous_acl_missing_brace",
        9,
        "missing '}' after an anonymous ACL",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if { path /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "anonymous_acl_empty",
        9,
        "empty anonymous ACL '{ }'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if { }
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it silently (exit 0); fulcrum refuses.
    case(
        "use_backend_if_without_condition",
        9,
        "'use_backend': missing condition after 'if'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it silently (exit 0); fulcrum refuses.
    case(
        "condition_ends_with_or",
        9,
        "condition ends with an 'or'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if TRUE ||
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it silently (exit 0); fulcrum refuses.
    case(
        "use_backend_or_first",
        9,
        "'use_backend': '||' without a term before it",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if || TRUE
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it silently (exit 0); fulcrum refuses.
    case(
        "condition_ends_with_not",
        9,
        "'!' at the end of the condition",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if !
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it, warning at line 9 that the ACL will never match.
    case(
        "response_fetch_in_use_backend",
        9,
        "'use_backend': the condition reads the response, which does not exist yet here",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if { status 200 }
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it silently (exit 0); fulcrum refuses.
    case(
        "http_fetch_in_tcp_mode",
        8,
        "the condition reads HTTP, but this proxy is in 'mode tcp'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    use_backend be if { path /x }
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 12.
    case(
        "stats_admin_undeclared_acl",
        12,
        "no such ACL : 'nosuch'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    stats enable
    stats admin if nosuch
",
    ),
    // ---- rules: http-request, http-response and http-after-response actions ----
    // HAProxy 2.6 refuses it at line 9 (listing every action, no hint).
    case(
        "http_request_unknown_action_hint",
        9,
        "'http-request': unknown action 'dney' (did you mean 'deny'?)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request dney
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it, at no line, only for want of a stick-table.
    case(
        "http_request_track_sc0_unsupported",
        9,
        "unable to find table 'fe' referenced by track-sc0",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request track-sc0 src
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy refuses an unknown match method too.
    case(
        "del_header_unknown_match",
        9,
        "'http-request del-header': unknown match '-m dom'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request del-header X-A -m dom
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_request_set_status",
        9,
        "'http-request set-status' is not allowed: 'set-status' is an http-response action",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-status 200
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_response_auth",
        9,
        "'http-response auth' is not allowed: 'auth' is an http-request action",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-response auth
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_response_replace_path",
        9,
        "'http-response replace-path' is not allowed: 'replace-path' is an http-request action",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-response replace-path /x /y
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_after_response_deny",
        9,
        "'http-after-response deny' is not allowed",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-after-response deny
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_after_response_redirect",
        9,
        "'http-after-response redirect' is not allowed",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-after-response redirect location /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it, warning (no line) that the rules are ignored.
    case(
        "http_request_in_tcp_mode",
        8,
        "'http-request' rules need 'mode http'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request deny
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it, warning (no line) that the rules are ignored.
    case(
        "http_response_in_tcp_mode",
        8,
        "'http-response' rules need 'mode http'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-response set-header X-A b
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it, warning at line 9 that the ACL will never match.
    case(
        "response_fetch_in_http_request",
        9,
        "the condition reads the response, which does not exist yet in 'http-request' rules",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request deny if { status 500 }
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "redirect_bad_code",
        9,
        "'redirect': invalid code '305' (expected 301, 302, 303, 307 or 308)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    redirect location /x code 305
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_request_redirect_bad_code",
        9,
        "'http-request redirect': invalid code '305'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request redirect location /x code 305
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "redirect_unknown_type",
        9,
        "'redirect': expects 'location', 'prefix' or 'scheme', got 'foo'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    redirect foo /x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "return_string_without_content_type",
        9,
        "'http-request return': a 'content-type' is required with a payload",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request return status 200 string hello
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "return_errorfile_missing",
        9,
        "'http-request return errorfile': cannot read '/nonexistent/fulcrum.http'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request return status 200 errorfile /nonexistent/fulcrum.http
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "return_unknown_argument",
        9,
        "'http-request return': unknown argument 'foo'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request return status 200 foo
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "deny_status_out_of_range",
        9,
        "'http-request deny': invalid status code '99' (expected 200-599)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request deny deny_status 99
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "set_status_out_of_range",
        9,
        "'http-response set-status' expects a status code (100-999)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-response set-status 1000
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_auth_realm_missing",
        9,
        "'http-request auth' expects nothing or 'realm REALM'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request auth realm
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9, but only because normalize-uri is experimental there.
    case(
        "normalize_uri_unknown",
        9,
        "'http-request normalize-uri' expects path-merge-slashes",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request normalize-uri foo
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "set_var_bad_scope",
        9,
        "invalid variable name 'foo' (expected txn.NAME, req.NAME or res.NAME)",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-var(foo) str(x)
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it (exit 0); fulcrum does not support 'proc.' yet.
    case(
        "set_var_proc_unsupported",
        9,
        "variable 'proc.x': the 'proc' scope is not supported yet",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-var(proc.x) str(x)
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "unset_var_missing_paren",
        9,
        "'http-request unset-var(txn.x': missing ')'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request unset-var(txn.x
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- rules: log-format expressions ----
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fmt_missing_bracket",
        9,
        "'http-request set-header': missing ']' in log-format expression '%[path'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %[path
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fmt_unknown_variable_in_header",
        9,
        "unknown log-format variable '%zz'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %zz
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses the two ways of protecting the page together.
    case(
        "stats_auth_with_stats_http_request",
        10,
        "'stats auth'/'stats realm' and 'stats http-request' can't be used at the same time",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen st
    bind 127.0.0.1:8080
    stats enable
    stats auth a:b
    stats http-request allow
    server s1 127.0.0.1:9000
",
    ),
    case(
        "tcp_check_send_lf_not_yet",
        8,
        "'tcp-check send-lf' is not supported by fulcrum yet",
        "\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    option tcp-check
    tcp-check send-lf %[src]
    server s1 127.0.0.1:9000 check
",
    ),
    case(
        "tcp_check_expect_on_error_format_not_yet",
        8,
        "log-format variables in '%[res.payload(0,4)]' are not supported by fulcrum yet",
        "\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    option tcp-check
    tcp-check expect string +OK on-error %[res.payload(0,4)]
    server s1 127.0.0.1:9000 check
",
    ),
    case(
        "tcp_check_bad_binary",
        8,
        "expects hexadecimal digits in pairs, got 'abc'",
        "\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    option tcp-check
    tcp-check send-binary abc
    server s1 127.0.0.1:9000 check
",
    ),
    case(
        "tcp_check_unknown_action",
        8,
        "'tcp-check' expects connect, send, send-binary, expect or comment, got 'frob'",
        "\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    option tcp-check
    tcp-check frob
    server s1 127.0.0.1:9000 check
",
    ),
    case(
        "tcp_check_connect_alpn_not_yet",
        8,
        "'tcp-check connect alpn' is not supported by fulcrum yet",
        "\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    option tcp-check
    tcp-check connect port 443 ssl alpn h2
    server s1 127.0.0.1:9000 check
",
    ),
    // A variable that exists in log lines but has no value in a rule.
    case(
        "fmt_log_only_variable_in_header",
        9,
        "log-format variable '%Tt' is not supported in rules",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A %Tt
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "log_format_unknown_variable",
        7,
        "unknown log-format variable '%zz'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    log-format \"%ci %zz\"
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    case(
        "log_format_unknown_flag",
        7,
        "log-format flag 'Z' is not supported",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    log-format \"%{+Z}ci\"
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "fmt_lone_percent",
        9,
        "a '%' without a variable",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request set-header X-A 50%
backend be
    server s1 127.0.0.1:9000
",
    ),
    // ---- rules: use-server, http_auth and userlist ----
    // HAProxy 2.6 refuses it at no line ("unable to find server 'nosuch'").
    case(
        "use_server_missing",
        11,
        "'use-server': no server named 'nosuch'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    use-server nosuch if TRUE
",
    ),
    // HAProxy 2.6 refuses it at line 11.
    case(
        "use_server_without_condition",
        11,
        "'use-server s1' expects a condition",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
    use-server s1
",
    ),
    // HAProxy 2.6 refuses it at line 9.
    case(
        "http_auth_no_userlist",
        9,
        "fetch method 'http_auth': no such userlist 'nolist'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
    http-request auth if !{ http_auth(nolist) }
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts it (exit 0); fulcrum refuses a user who cannot log in.
    case(
        "userlist_user_without_password",
        12,
        "'user u' expects 'password HASH' or 'insecure-password TEXT'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
userlist ul
    user u
",
    ),
    // HAProxy 2.6 refuses it at line 12.
    case(
        "userlist_unknown_keyword",
        12,
        "unknown keyword 'usr' in 'userlist' section",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000
userlist ul
    usr u password x
",
    ),
    // ---- tcp-request ----
    // HAProxy 2.6 accepts it with a warning at line 8 that the ACL "will
    // never match"; fulcrum refuses a rule that can never apply.
    case(
        "tcp_request_connection_reads_payload",
        8,
        "'tcp-request connection' rules run before any byte is read",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    tcp-request inspect-delay 1s
    tcp-request connection reject if { req.len gt 0 }
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 accepts 'silent-drop'; fulcrum does not support it yet.
    case(
        "tcp_request_content_unsupported_action",
        7,
        "'tcp-request content': action 'silent-drop' is not supported yet",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    tcp-request content silent-drop
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at the same line with the same advice.
    case(
        "removed_reqadd",
        9,
        "'reqadd' was removed from HAProxy (in 2.1 or before): write 'http-request add-header'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    reqadd X-A:\\ 1
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at the same line with the same advice.
    case(
        "removed_contimeout",
        9,
        "'contimeout' was removed from HAProxy (in 2.1 or before): write 'timeout connect'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    contimeout 5000
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at the same line with the same advice.
    case(
        "removed_block",
        9,
        "'block' was removed from HAProxy (in 2.1 or before): write 'http-request deny'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    block if TRUE
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it too ("loop detected for use_backend"), without a line.
    case(
        "use_backend_loop_in_listen",
        7,
        "loop detected for use_backend 'web'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:8080
    use_backend web if TRUE
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at the same line: "no such ACL : 'later'".
    case(
        "acl_used_before_its_line",
        8,
        "no such ACL : 'later'",
        "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    http-request deny if later
    acl later path /x
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
    // HAProxy 2.6 refuses it at the same line: "unable to set SSL cipher
    // list to 'NOPE-NOT-A-CIPHER:xyz'".
    case(
        "bind_unknown_cipher",
        6,
        "unknown cipher 'xyz'",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8443 ssl crt /etc/ssl/certs/ssl-cert-snakeoil.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:xyz
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
    ),
];

/// Runs one case; returns a description of what went wrong, if anything.
fn run_case(c: &Case) -> Option<String> {
    let file = TempPath::file(&format!("malformed-{}", c.name), c.cfg);
    let name = file.name();
    let run = check(&[file.path()]);
    let mut problems = Vec::new();
    if run.code != Some(1) {
        problems.push(format!("exit status {:?}, expected 1", run.code));
    }
    if run.stderr.contains("panicked") {
        problems.push("fulcrum panicked".to_string());
    }
    let at_line = errors_at(&run.stderr, &name, c.line);
    if !at_line.iter().any(|l| l.contains(c.expect)) {
        let warned = warnings_at(&run.stderr, &name, c.line)
            .iter()
            .any(|l| l.contains(c.expect));
        problems.push(if warned {
            format!(
                "the message at line {} is a warning, expected an error containing {:?}",
                c.line, c.expect
            )
        } else {
            format!(
                "no error line starting with \"{name}:{}: \" containing {:?}",
                c.line, c.expect
            )
        });
    }
    if problems.is_empty() {
        return None;
    }
    let stderr: String = run
        .stderr
        .lines()
        .take(12)
        .map(|l| format!("        | {}\n", l.replace(&name, "FILE")))
        .collect();
    Some(format!(
        "  {}: {}\n      stderr (file shown as FILE):\n{stderr}",
        c.name,
        problems.join("; ")
    ))
}

#[test]
fn malformed_configurations_are_reported_at_their_line() {
    assert!(CASES.len() >= 30, "the brief asks for at least 30 cases");
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "case names must be unique");
    for c in CASES {
        let lines = c.cfg.lines().count() as u32;
        assert!(
            (1..=lines).contains(&c.line),
            "case {}: line {} is not in its {lines}-line configuration",
            c.name,
            c.line
        );
    }

    let failures: Vec<String> = CASES.iter().filter_map(run_case).collect();
    assert!(
        failures.is_empty(),
        "{} of {} malformed configurations were not reported as expected:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// The configuration the cases start from is itself clean, so that each
/// case's error comes from the line it changes.
#[test]
fn baseline_is_valid() {
    let file = TempPath::file("malformed-baseline", BASELINE);
    let run = check(&[file.path()]);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert_eq!(
        run.stderr, "",
        "the baseline should print nothing on stderr"
    );
    assert!(run.stdout.contains("Configuration file is valid"));
}

/// Every error of one file is reported, not just the first.
#[test]
fn several_errors_are_all_reported() {
    let cfg = "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:0
    mode udp
    default_backend be
backend be
    server s1 127.0.0.1:9000 weight 300
";
    let file = TempPath::file("malformed-several", cfg);
    let name = file.name();
    let run = check(&[file.path()]);
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    for (line, expect) in [
        (6, "'bind': invalid port '0'"),
        (7, "'mode' expects 'tcp' or 'http', got 'udp'"),
        (10, "'server s1': weight 300 is out of range"),
    ] {
        assert!(
            errors_at(&run.stderr, &name, line)
                .iter()
                .any(|l| l.contains(expect)),
            "no error at line {line} containing {expect:?}; stderr:\n{}",
            run.stderr
        );
    }
    let errors = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{name}:")) && !l.contains(": warning: "))
        .count();
    assert_eq!(
        errors, 3,
        "expected exactly 3 errors; stderr:\n{}",
        run.stderr
    );
}

/// Warnings alone do not fail the check; each names its file and line.
#[test]
fn warnings_only_config_is_valid() {
    let cfg = "\
global
    chroot /x
    stats socket /run/fulcrum-test.sock mode 660 level admin expose-fd listeners
    ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen app
    mode tcp
    bind 127.0.0.1:8080
    option forwardfor
    server s1 127.0.0.1:9000
";
    let file = TempPath::file("malformed-warnings", cfg);
    let name = file.name();
    let run = check(&[file.path()]);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert!(
        run.stdout.contains("Configuration file is valid"),
        "stdout:\n{}",
        run.stdout
    );
    // Accepted keywords that fulcrum does not act on yet say so.
    for (line, expect) in [
        (2, "'chroot'"),
        (3, "'stats socket /run/fulcrum-test.sock expose-fd listeners' is ignored: fulcrum reloads in-process"),
        (12, "'option forwardfor'"),
    ] {
        assert!(
            warnings_at(&run.stderr, &name, line)
                .iter()
                .any(|l| l.contains(expect)),
            "no warning at line {line} containing {expect:?}; stderr:\n{}",
            run.stderr
        );
    }
    for l in run.stderr.lines() {
        assert!(
            l.starts_with(&format!("{name}:")) && l.contains(": warning: "),
            "unexpected stderr line (not a warning of the file): {l}"
        );
    }
}

/// A valid configuration that would listen nowhere exits 2.
#[test]
fn no_listener_exits_2() {
    let cfg = "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be
    server s1 127.0.0.1:9000
";
    let file = TempPath::file("malformed-no-listener", cfg);
    let run = check(&[file.path()]);
    assert_eq!(run.code, Some(2), "stderr:\n{}", run.stderr);
    assert!(!run.stdout.contains("Configuration file is valid"));
}

/// A file that does not exist is an error naming it.
#[test]
fn missing_file_is_an_error_naming_it() {
    let dir = TempPath::dir("malformed-missing");
    let path = dir.path().join("no-such-file.cfg");
    let run = check(&[&path]);
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    let name = path.display().to_string();
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with(&name) && l.contains("cannot open")),
        "no line naming {name}; stderr:\n{}",
        run.stderr
    );
}

/// With `-f a -f b`, an error in b is reported with b's name and b's line.
#[test]
fn error_in_second_file_names_that_file() {
    let first = TempPath::file(
        "malformed-first",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
",
    );
    let second = TempPath::file(
        "malformed-second",
        "\
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 127.0.0.1:9000 weight 257
",
    );
    let run = check(&[first.path(), second.path()]);
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    assert!(
        errors_at(&run.stderr, &second.name(), 5)
            .iter()
            .any(|l| l.contains("'server s1': weight 257 is out of range")),
        "no error at {}:5; stderr:\n{}",
        second.name(),
        run.stderr
    );
    assert!(
        !run.stderr.contains(&first.name()),
        "the first file has no error; stderr:\n{}",
        run.stderr
    );
}

/// A directory given to -f stands for its *.cfg files in lexical order:
/// the defaults of 00-defaults.cfg apply to the listen of 10-app.cfg.
#[test]
fn directory_loads_cfg_files_in_lexical_order() {
    let dir = TempPath::dir("malformed-dir");
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    // Written in reverse order so that creation order is not lexical order.
    write(
        "10-app.cfg",
        "\
listen app
    bind 127.0.0.1:8080
    server s1 127.0.0.1:9000
",
    );
    write(
        "00-defaults.cfg",
        "\
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
",
    );
    // Not a .cfg file: ignored.
    write("05-notes.txt", "this is not a configuration\n");

    let run = check(&[dir.path()]);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert!(
        !run.stderr.contains("missing timeouts"),
        "the defaults were not applied first; stderr:\n{}",
        run.stderr
    );

    // Control: the listen alone lacks its timeouts, which is what the
    // absence of the warning above proves was supplied by 00-defaults.cfg.
    let app = dir.path().join("10-app.cfg");
    let alone = check(&[&app]);
    assert_eq!(alone.code, Some(0), "stderr:\n{}", alone.stderr);
    assert!(
        warnings_at(&alone.stderr, &app.display().to_string(), 1)
            .iter()
            .any(|l| l.contains("missing timeouts")),
        "stderr:\n{}",
        alone.stderr
    );

    // An error in a file of the directory is reported with that file's path.
    write(
        "20-broken.cfg",
        "\
backend other
    balance fastest
",
    );
    let broken = dir.path().join("20-broken.cfg").display().to_string();
    let run = check(&[dir.path()]);
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    assert!(
        errors_at(&run.stderr, &broken, 2)
            .iter()
            .any(|l| l.contains("unknown balance algorithm 'fastest'")),
        "no error at {broken}:2; stderr:\n{}",
        run.stderr
    );
}

/// Performance hints fulcrum does not act on yet are accepted with a
/// warning at their line that says so: `bind ... tfo`. `option splice-*`
/// gets none: fulcrum splices whenever it can, in both modes.
#[test]
fn performance_hints_are_warnings() {
    let cfg = "\
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen app
    bind 127.0.0.1:8080 tfo
    option splice-auto
    option splice-response
    server s1 127.0.0.1:9000
listen web
    mode http
    bind 127.0.0.1:8081
    option splice-auto
    server s1 127.0.0.1:9000
";
    let file = TempPath::file("hints", cfg);
    let name = file.name();
    let run = check(&[file.path()]);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    for line in [8, 9, 14] {
        assert!(
            warnings_at(&run.stderr, &name, line).is_empty(),
            "fulcrum splices: no warning expected at line {line}; stderr:\n{}",
            run.stderr
        );
    }
    let expect = "'bind ... tfo' is ignored: TCP Fast Open is not enabled yet";
    assert!(
        warnings_at(&run.stderr, &name, 7)
            .iter()
            .any(|l| l.contains(expect)),
        "no warning at line 7 containing {expect:?}; stderr:\n{}",
        run.stderr
    );
}
