//! Access-log lines compared with Debian's HAProxy 2.6, field by field:
//! both proxies run the same configuration against the same backends,
//! send their lines to a UDP syslog receiver of the test, and see the same
//! exchanges. Only the syslog header (time, pid), the dates, the client
//! ports and the timer values may differ; a timer that is -1 in one line
//! (a phase never reached) must be -1 in the other.

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use common::haproxy::{mask_check_duration, Haproxy};
use common::net::{echo_server, free_port, Answer, Fulcrum, HttpBackend};

/// The listens of the test, in the order of their ports.
const LISTENS: [&str; 9] = [
    "web", "clf", "slow", "refused", "redisp", "tcp", "tcpasap", "custom", "cookie",
];

struct Backends {
    ok: HttpBackend,
    never: HttpBackend,
    closed: u16,
    echo: std::net::SocketAddr,
}

struct Side {
    ports: Vec<u16>,
    syslog: UdpSocket,
}

impl Side {
    fn new() -> Side {
        let syslog = UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
        syslog
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Side {
            ports: LISTENS.iter().map(|_| free_port()).collect(),
            syslog,
        }
    }

    /// The next datagram as `<PRI>> message`: the header up to the tag
    /// dropped (it carries the date and pid, which differ), the check
    /// duration masked.
    fn check_event(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.syslog.recv(&mut buf).expect("an event within 10 s");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let (pri, rest) = text.split_once('>').expect("a priority");
        let (_, msg) = rest.split_once("]: ").expect("a tag");
        format!("{pri}> {}", mask_check_duration(msg))
    }

    fn port(&self, listen: &str) -> u16 {
        self.ports[LISTENS.iter().position(|l| *l == listen).expect("listen")]
    }

    fn config(&self, b: &Backends) -> String {
        let log = self.syslog.local_addr().expect("addr").port();
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
listen web
    bind 127.0.0.1:{web}
    mode http
    option httplog
    http-request deny if {{ path /deny }}
    server s1 {ok}
listen clf
    bind 127.0.0.1:{clf}
    mode http
    option httplog clf
    capture request header Host len 32
    server s1 {ok}
listen slow
    bind 127.0.0.1:{slow}
    mode http
    option httplog
    server s1 {never}
listen refused
    bind 127.0.0.1:{refused}
    mode http
    option httplog
    retries 2
    server s1 127.0.0.1:{closed}
listen redisp
    bind 127.0.0.1:{redisp}
    mode http
    option httplog
    retries 1
    option redispatch
    server s1 127.0.0.1:{closed}
    server s2 {ok}
listen tcp
    bind 127.0.0.1:{tcp}
    mode tcp
    option tcplog
    server e {echo}
listen tcpasap
    bind 127.0.0.1:{tcpasap}
    mode tcp
    option tcplog
    option logasap
    server e {echo}
listen custom
    bind 127.0.0.1:{custom}
    mode http
    log-format \"%ci %ft %b/%s %ST %B %tsc %HM %HU %HP %HQ %HV %{{+Q}}[src] %[ssl_fc] %ac/%fc/%bc/%sc/%rc %{{+Q,+E}}r %%\"
    server s1 {ok}
listen cookie
    bind 127.0.0.1:{cookie}
    mode http
    option httplog
    cookie SRVID insert indirect
    server s1 {ok} cookie one
",
            cookie = self.port("cookie"),
            web = self.port("web"),
            clf = self.port("clf"),
            slow = self.port("slow"),
            refused = self.port("refused"),
            redisp = self.port("redisp"),
            tcp = self.port("tcp"),
            tcpasap = self.port("tcpasap"),
            custom = self.port("custom"),
            ok = b.ok.addr,
            never = b.never.addr,
            closed = b.closed,
            echo = b.echo,
        )
    }

    /// The next line this side logged, without its syslog header.
    fn line(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.syslog.recv(&mut buf).expect("a log line within 10 s");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        // Both end each datagram with a newline.
        let text = text
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("no final newline: {text:?}"))
            .to_string();
        match text.split_once("]: ") {
            Some((head, rest)) if head.contains(" haproxy[") => rest.to_string(),
            _ => panic!("not a syslog line in HAProxy's layout: {text}"),
        }
    }
}

/// Sends `raw` and reads until the proxy closes (or 5 s pass).
fn exchange(port: u16, raw: &str) -> Vec<u8> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.write_all(raw.as_bytes()).expect("write");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    out
}

/// A line with what may differ masked: dates, client ports, timer values
/// (a timer that is -1 stays -1).
fn normalize(line: &str) -> String {
    let timers = |t: &str| -> String {
        t.split('/')
            .map(|v| match v {
                "-1" => "-1".to_string(),
                v if v.starts_with('+') => "+T".to_string(),
                _ => "T".to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut tok: Vec<String> = line.split(' ').map(str::to_string).collect();
    // %ac and %fc count the connections open when the line is written: a
    // previous exchange's connection may still be closing on a loaded
    // machine, in either proxy. They are masked; %bc, %sc and %rc are not.
    let conns = |t: &str| -> String {
        let mut f: Vec<&str> = t.split('/').collect();
        if f.len() == 5 {
            f[0] = "A";
            f[1] = "F";
        }
        f.join("/")
    };
    let mask_port = |t: &mut String| {
        if let Some((ip, _)) = t.rsplit_once(':') {
            *t = format!("{ip}:P");
        }
    };
    if tok.get(1).is_some_and(|t| t == "-") {
        // CLF: ci - - [date +0000] "request" ST B "" "" cp ms "ft" "b" "s"
        // TR Tw Tc Tr Ta tsc ...
        let req_words = tok[5..].iter().take_while(|t| !t.ends_with('"')).count() + 1;
        let after = 5 + req_words;
        tok[3] = "[D".into();
        for i in [after + 4, after + 5] {
            tok[i] = "N".into();
        }
        for t in &mut tok[after + 9..after + 14] {
            *t = timers(t);
        }
        for i in [after + 15, after + 16] {
            tok[i] = "N".into();
        }
    } else {
        mask_port(&mut tok[0]);
        tok[1] = "[D]".into();
        // The timers are the 5th field: TR/Tw/Tc/Tr/Ta (httplog) or
        // Tw/Tc/Tt (tcplog); the counters follow the status, size and
        // termination fields.
        tok[4] = timers(&tok[4]);
        if let Some(t) = tok.iter_mut().skip(5).find(|t| t.matches('/').count() == 4) {
            *t = conns(t);
        }
    }
    tok.join(" ")
}

#[test]
fn log_lines_match_haproxy_field_by_field() {
    let backends = Backends {
        ok: HttpBackend::start("hello"),
        never: HttpBackend::with(Answer::Never),
        closed: free_port(),
        echo: echo_server(),
    };
    let (h, f) = (Side::new(), Side::new());
    let _haproxy = Haproxy::start(&h.config(&backends), &h.ports);
    // Waiting for its ports connected to each listen once: HAProxy logs
    // those empty connections. They are read here, not compared (their
    // %ac depends on how fast they came).
    for _ in LISTENS {
        h.line();
    }
    let _fulcrum = Fulcrum::start(&f.config(&backends));
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: t.example\r\nConnection: close\r\n\r\n");
    // (what the exchange is, the listen, the bytes sent)
    let cases = [
        ("a normal request", "web", get("/")),
        ("a client that connects and closes", "web", String::new()),
        (
            "a client that closes in the middle of its request",
            "web",
            "GET / HTTP/1.1\r\nHo".to_string(),
        ),
        ("a denied request", "web", get("/deny")),
        ("a normal request, httplog clf", "clf", get("/x?y=1")),
        ("a server timeout", "slow", get("/")),
        ("a server that refuses the connection", "refused", get("/")),
        ("a redispatch after a retry", "redisp", get("/")),
        ("a TCP session", "tcp", "ping".to_string()),
        ("a logasap TCP session", "tcpasap", "ping".to_string()),
        (
            "a log-format of the proxy's own",
            "custom",
            get("/p/a?b=\\c"),
        ),
        // %tsc's cookie letters: none then inserted, invalid then
        // inserted, valid.
        ("no persistence cookie", "cookie", get("/")),
        (
            "a persistence cookie naming no server",
            "cookie",
            "GET / HTTP/1.1\r\nHost: t\r\nCookie: SRVID=zz\r\nConnection: close\r\n\r\n"
                .to_string(),
        ),
        (
            "a valid persistence cookie",
            "cookie",
            "GET / HTTP/1.1\r\nHost: t\r\nCookie: SRVID=one\r\nConnection: close\r\n\r\n"
                .to_string(),
        ),
    ];
    let mut diffs = Vec::new();
    for (what, listen, raw) in &cases {
        let mut lines = Vec::new();
        for side in [&h, &f] {
            if listen.starts_with("tcp") {
                let mut c = TcpStream::connect(("127.0.0.1", side.port(listen))).expect("connect");
                c.write_all(raw.as_bytes()).expect("write");
                c.shutdown(std::net::Shutdown::Write).expect("half-close");
                let mut echoed = Vec::new();
                c.set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let _ = c.read_to_end(&mut echoed);
                assert_eq!(echoed, raw.as_bytes(), "{what}: echoed");
            } else if raw.is_empty() || !raw.ends_with("\r\n\r\n") {
                let mut c = TcpStream::connect(("127.0.0.1", side.port(listen))).expect("connect");
                c.write_all(raw.as_bytes()).expect("write");
                c.shutdown(std::net::Shutdown::Write).expect("half-close");
                c.set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let _ = c.read_to_end(&mut Vec::new());
            } else {
                exchange(side.port(listen), raw);
            }
            lines.push(side.line());
        }
        // The custom format has no date, port or timer to mask.
        let norm = |l: &str| {
            if *listen == "custom" {
                l.to_string()
            } else {
                normalize(l)
            }
        };
        let (hl, fl) = (norm(&lines[0]), norm(&lines[1]));
        if hl != fl {
            diffs.push(format!(
                "{what}:\n  haproxy: {}\n  fulcrum: {}\n  (normalized)\n  haproxy: {hl}\n  fulcrum: {fl}",
                lines[0], lines[1]
            ));
        }
    }
    assert!(diffs.is_empty(), "log lines differ:\n{}", diffs.join("\n"));
}

#[test]
fn normalize_masks_only_what_may_differ() {
    assert_eq!(
        normalize("127.0.0.1:4242 [29/Nov/2026:14:50:38.211] web web/s1 0/0/-1/12/13 503 217 - - SC-- 1/1/0/0/2 0/0 \"GET / HTTP/1.1\""),
        "127.0.0.1:P [D] web web/s1 T/T/-1/T/T 503 217 - - SC-- A/F/0/0/2 0/0 \"GET / HTTP/1.1\""
    );
    assert_eq!(
        normalize(
            "127.0.0.1:4242 [29/Nov/2026:14:50:43.261] tcp tcp/s1 0/0/+1 +0 -- 1/1/0/1/0 0/0"
        ),
        "127.0.0.1:P [D] tcp tcp/s1 T/T/+T +0 -- A/F/0/1/0 0/0"
    );
}

/// A datagram as rsyslog files it: the priority dropped, a host name
/// after the date (halog counts fields from the start of such lines).
fn as_filed(datagram: &str) -> String {
    let rest = datagram.split_once('>').map_or(datagram, |(_, r)| r);
    // "Nov 29 14:50:19 haproxy[1]: ..." -> "Nov 29 14:50:19 host haproxy[1]: ..."
    let mut parts = rest.splitn(4, ' ');
    let (m, d, t, tail) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    // A day below 10 is padded with a space ("Nov  9"): keep the layout.
    if d.is_empty() {
        let mut p = tail.splitn(2, ' ');
        let (d, tail) = (p.next().unwrap_or_default(), p.next().unwrap_or_default());
        return format!("{m}  {d} {t} host {tail}");
    }
    format!("{m} {d} {t} host {tail}")
}

/// halog (Debian's haproxy package) gives the same per-server, per-status
/// and per-termination-code summaries for fulcrum's lines as for
/// HAProxy's on the same traffic. The per-server time columns are timers
/// and are left out.
#[test]
fn halog_reads_the_same_summaries() {
    let backends = Backends {
        ok: HttpBackend::start("hello"),
        never: HttpBackend::with(Answer::Never),
        closed: free_port(),
        echo: echo_server(),
    };
    let (h, f) = (Side::new(), Side::new());
    let _haproxy = Haproxy::start(&h.config(&backends), &h.ports);
    for _ in LISTENS {
        h.line();
    }
    let _fulcrum = Fulcrum::start(&f.config(&backends));
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: t.example\r\nConnection: close\r\n\r\n");
    let mut traffic: Vec<(&str, String)> = Vec::new();
    for i in 0..12 {
        traffic.push(("web", get(&format!("/page/{i}"))));
    }
    for _ in 0..3 {
        traffic.push(("web", get("/deny")));
    }
    traffic.push(("refused", get("/")));
    traffic.push(("slow", get("/")));
    for i in 0..4 {
        traffic.push(("redisp", get(&format!("/r/{i}"))));
    }
    let mut files = Vec::new();
    for side in [&h, &f] {
        let mut lines = String::new();
        for (listen, raw) in &traffic {
            exchange(side.port(listen), raw);
            let mut buf = [0u8; 4096];
            let n = side.syslog.recv(&mut buf).expect("a log line");
            lines.push_str(&as_filed(&String::from_utf8_lossy(&buf[..n])));
        }
        files.push(lines);
    }
    let halog = |args: &[&str], input: &str| -> String {
        let mut child = std::process::Command::new("halog")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("halog (Debian's haproxy package)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("feed halog");
        let out = child.wait_with_output().expect("halog output");
        assert!(
            out.status.success(),
            "halog {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [&["-st"][..], &["-tc"], &["-cc"]] {
        let (a, b) = (halog(args, &files[0]), halog(args, &files[1]));
        assert!(
            !a.trim().is_empty(),
            "halog {args:?} printed nothing:\n{}",
            files[0]
        );
        assert_eq!(a, b, "halog {args:?}\nhaproxy:\n{a}\nfulcrum:\n{b}");
    }
    // -srv: "#srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok
    // avg_ct avg_rt": the counts, not the times.
    let counts = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split_whitespace().take(10).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let (a, b) = (halog(&["-srv"], &files[0]), halog(&["-srv"], &files[1]));
    assert!(a.lines().count() > 2, "halog -srv: {a}");
    assert_eq!(
        counts(&a),
        counts(&b),
        "halog -srv\nhaproxy:\n{a}\nfulcrum:\n{b}"
    );
}

/// Server events reach the log targets as HAProxy sends them: a server
/// going DOWN at alert (<129> for local0), the proxy left without servers
/// at emerg (<128>), a server coming back UP at notice (<133>), with
/// HAProxy's sentences (only the check duration may differ).
#[test]
fn server_events_match_haproxy() {
    let mut backend = HttpBackend::start("back");
    let port_of = |side: &Side| side.syslog.local_addr().expect("addr").port();
    let config = |log: u16, port: u16, server: std::net::SocketAddr| {
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
listen web
    bind 127.0.0.1:{port}
    option httpchk GET /health
    server s1 {server} check inter 100ms fall 1 rise 1
"
        )
    };
    backend.kill();
    let (h, f) = (Side::new(), Side::new());
    let _haproxy = Haproxy::start(
        &config(port_of(&h), h.ports[0], backend.addr),
        &h.ports[..1],
    );
    let _fulcrum = Fulcrum::start(&config(port_of(&f), f.ports[0], backend.addr));
    // The datagrams untrimmed, the check duration masked.
    let mut seen = Vec::new();
    for side in [&h, &f] {
        // The readiness probe of HAProxy::start logged nothing here: no
        // `option httplog`.
        seen.push((side.check_event(), side.check_event()));
    }
    assert_eq!(seen[0], seen[1], "DOWN events: haproxy vs fulcrum");
    assert!(
        seen[0]
            .0
            .starts_with("<129> Server web/s1 is DOWN, reason: Layer4 connection problem"),
        "{:?}",
        seen[0]
    );
    assert_eq!(seen[0].1, "<128> proxy web has no server available!\n");
    backend.revive();
    let (a, b) = (h.check_event(), f.check_event());
    assert_eq!(a, b, "UP events: haproxy vs fulcrum");
    assert!(
        a.starts_with("<133> Server web/s1 is UP, reason: Layer7 check passed"),
        "{a}"
    );
}

/// The `log ... format` layouts, `len`, level and minlevel, `log-tag` and
/// `log-send-hostname`, against HAProxy's datagrams for the same line
/// (digits masked: dates, pids and ports differ).
#[test]
fn syslog_formats_match_haproxy() {
    let config = |log: u16, port: u16| {
        let mut c = String::from("global\n");
        for (i, f) in [
            "rfc3164", "rfc5424", "raw", "short", "priority", "timed", "iso", "local",
        ]
        .iter()
        .enumerate()
        {
            c.push_str(&format!("    log 127.0.0.1:{log} format {f} local{i}\n"));
        }
        c.push_str(&format!(
            "    log 127.0.0.1:{log} len 90 user info err
    log 127.0.0.1:{log} local0 notice
    log-send-hostname myhost
    log-tag mytag
defaults
    log global
    mode http
    option httplog
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
listen web
    bind 127.0.0.1:{port}
    http-request deny
"
        ));
        c
    };
    let (h, f) = (Side::new(), Side::new());
    let log = |s: &Side| s.syslog.local_addr().expect("addr").port();
    let _haproxy = Haproxy::start(&config(log(&h), h.ports[0]), &h.ports[..1]);
    let _fulcrum = Fulcrum::start(&config(log(&f), f.ports[0]));
    // HAProxy's readiness probe made a line (CR, info) on each target
    // but the notice-level one: 9 datagrams to skip.
    let mut buf = [0u8; 4096];
    for _ in 0..9 {
        h.syslog.recv(&mut buf).expect("probe line");
    }
    let mask = |t: &str| {
        t.chars()
            .map(|c| if c.is_ascii_digit() { 'D' } else { c })
            .collect::<String>()
    };
    let mut got = Vec::new();
    for side in [&h, &f] {
        exchange(
            side.port("web"),
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        );
        let mut lines = Vec::new();
        for _ in 0..9 {
            let n = side.syslog.recv(&mut buf).expect("a datagram");
            lines.push(mask(&String::from_utf8_lossy(&buf[..n])));
        }
        got.push(lines);
    }
    assert_eq!(got[0], got[1], "haproxy vs fulcrum");
    // Nothing reached the notice-level target.
    h.syslog
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    f.syslog
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    assert!(
        f.syslog.recv(&mut buf).is_err(),
        "a line below notice was sent at notice"
    );
}

/// `option log-health-checks`: every check that changes the server's
/// counter or result is logged at notice, with HAProxy's `status: X/Y
/// STATE`, and the DOWN/UP lines then leave the reason out: the same
/// sequence of lines as HAProxy's over a server that is down, comes up
/// and goes down again.
#[test]
fn health_check_lines_match_haproxy() {
    let mut backend = HttpBackend::start("back");
    backend.kill();
    let config = |log: u16, port: u16, server: std::net::SocketAddr| {
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode http
    option log-health-checks
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
listen web
    bind 127.0.0.1:{port}
    server s1 {server} check inter 100ms fall 2 rise 2
"
        )
    };
    let (h, f) = (Side::new(), Side::new());
    let log = |s: &Side| s.syslog.local_addr().expect("addr").port();
    let _haproxy = Haproxy::start(&config(log(&h), h.ports[0], backend.addr), &h.ports[..1]);
    let _fulcrum = Fulcrum::start(&config(log(&f), f.ports[0], backend.addr));
    let next = |side: &Side| -> String { side.check_event().trim_end().to_string() };
    let lines = |n: usize| -> [Vec<String>; 2] {
        [
            (0..n).map(|_| next(&h)).collect(),
            (0..n).map(|_| next(&f)).collect(),
        ]
    };
    let down = lines(3);
    assert_eq!(down[0], down[1], "first checks");
    assert_eq!(
        down[0][0],
        "<133> Health check for server web/s1 failed, reason: Layer4 connection problem, info: \"Connection refused\", check duration: Nms, status: 0/2 DOWN."
    );
    backend.revive();
    let up = lines(3);
    assert_eq!(up[0], up[1], "coming up");
    assert_eq!(up[0][2], "<133> Server web/s1 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
    backend.kill();
    let again = lines(4);
    assert_eq!(again[0], again[1], "going down");
    assert!(again[0][1].ends_with("status: 0/2 DOWN."), "{:?}", again[0]);
}

/// `http-check disable-on-404`: a 404 puts the server in NOLB (up, no new
/// traffic; "is stopping" at notice, the backend "has no server
/// available!"), a 200 brings it back, with the lines HAProxy sends.
#[test]
fn disable_on_404_matches_haproxy() {
    let backend = HttpBackend::start("app");
    let config = |log: u16, port: u16| {
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
backend b
    option httpchk GET /health
    http-check disable-on-404
    server s1 {} check inter 100ms fall 2 rise 2
listen st
    bind 127.0.0.1:{port}
    stats enable
    stats uri /s
    use_backend b if {{ path /app }}
    server x 127.0.0.1:1
",
            backend.addr
        )
    };
    let (h, f) = (Side::new(), Side::new());
    let log = |s: &Side| s.syslog.local_addr().expect("addr").port();
    let _haproxy = Haproxy::start(&config(log(&h), h.ports[0]), &h.ports[..1]);
    let _fulcrum = Fulcrum::start(&config(log(&f), f.ports[0]));
    let next = |side: &Side| -> String {
        loop {
            let event = side.check_event();
            // HAProxy also logs the stats page's connections ("Connect from").
            if event
                .split_once("> ")
                .is_some_and(|(_, m)| m.starts_with("Connect from"))
            {
                continue;
            }
            return event.trim_end().to_string();
        }
    };
    backend
        .health
        .store(404, std::sync::atomic::Ordering::Relaxed);
    let stop = [(next(&h), next(&h)), (next(&f), next(&f))];
    assert_eq!(stop[0], stop[1], "404: haproxy vs fulcrum");
    assert!(
        stop[0].0.starts_with(
            "<133> Server b/s1 is stopping, reason: Layer7 check conditionally passed, code: 404"
        ),
        "{:?}",
        stop[0]
    );
    assert_eq!(stop[0].1, "<128> backend b has no server available!");
    let csv = common::net::get(f.ports[0], "/s;csv").text();
    let row = csv.lines().find(|l| l.starts_with("b,s1,")).expect("row");
    assert!(
        row.contains(",NOLB,") && row.contains(",L7OKC,404,"),
        "{row}"
    );
    // No new traffic while NOLB.
    assert_eq!(common::net::get(f.ports[0], "/app").status, 503);
    backend
        .health
        .store(200, std::sync::atomic::Ordering::Relaxed);
    let (a, b) = (next(&h), next(&f));
    assert_eq!(a, b, "back to 200");
    assert!(
        a.starts_with("<133> Server b/s1 is UP, reason: Layer7 check passed, code: 200"),
        "{a}"
    );
    assert_eq!(common::net::get(f.ports[0], "/app").status, 200);
}

/// A frontend that logs but has no line format logs each session with
/// HAProxy's "Connect from" line, at info: in mode tcp once the
/// connection rules let it in, in mode http once a request's bytes come.
#[test]
fn connect_lines_match_haproxy() {
    let config = |log: u16, p: &[u16]| {
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
frontend web
    mode http
    bind 127.0.0.1:{}
    http-request deny
frontend refused
    mode tcp
    bind 127.0.0.1:{}
    tcp-request connection reject
frontend raw
    mode tcp
    bind 127.0.0.1:{}
    default_backend nowhere
backend nowhere
    mode tcp
    server s 127.0.0.1:{}
",
            p[0], p[1], p[2], p[3]
        )
    };
    let (h, f) = (Side::new(), Side::new());
    let log = |s: &Side| s.syslog.local_addr().expect("addr").port();
    let _haproxy = Haproxy::start(&config(log(&h), &h.ports), &[]);
    let _fulcrum = Fulcrum::start(&config(log(&f), &f.ports));
    let connect = |port: u16| -> TcpStream {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
                return c;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no listener on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut got = Vec::new();
    for side in [&h, &f] {
        // No line: an HTTP connection without a byte, a refused one.
        drop(connect(side.ports[0]));
        drop(connect(side.ports[1]));
        // Lines: a TCP session, an HTTP request.
        let tcp = connect(side.ports[2]);
        let tcp_local = tcp.local_addr().expect("addr");
        let mut http = connect(side.ports[0]);
        let http_local = http.local_addr().expect("addr");
        let _ = http.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let _ = http.read_to_end(&mut Vec::new());
        drop(tcp);
        let mut lines: Vec<String> = [side.line(), side.line()]
            .into_iter()
            .map(|l| {
                l.replace(&tcp_local.to_string(), "TCPCLIENT")
                    .replace(&http_local.to_string(), "HTTPCLIENT")
                    .replace(&side.ports[0].to_string(), "WEB")
                    .replace(&side.ports[2].to_string(), "RAW")
            })
            .collect();
        lines.sort();
        got.push(lines);
    }
    assert_eq!(got[0], got[1], "haproxy vs fulcrum");
    assert_eq!(
        got[1],
        [
            "Connect from HTTPCLIENT to 127.0.0.1:WEB (web/HTTP)",
            "Connect from TCPCLIENT to 127.0.0.1:RAW (raw/TCP)"
        ]
    );
    // Nothing else was logged.
    f.syslog
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    assert!(f.syslog.recv(&mut [0u8; 512]).is_err(), "an extra line");
}

/// `agent-check`: the lines the agent's words make, against HAProxy's for
/// the same words: drain, ready, down, up (the check duration masked).
#[test]
fn agent_lines_match_haproxy() {
    use std::sync::{Arc, Mutex};
    let agent = |answer: Arc<Mutex<String>>| -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            // An agent speaks first: without `agent-send` nothing comes.
            for mut c in l.incoming().map_while(Result::ok) {
                let a = answer.lock().expect("answer").clone();
                let _ = c.write_all(a.as_bytes());
            }
        });
        port
    };
    let backend = HttpBackend::start("app");
    let answer = Arc::new(Mutex::new(String::from("up\n")));
    let config = |log: u16, port: u16, agent_port: u16| {
        format!(
            "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode http
    timeout connect 300ms
    timeout client 5s
    timeout server 1s
backend b
    server s1 {} agent-check agent-port {agent_port} agent-inter 100ms
listen dummy
    bind 127.0.0.1:{port}
    server x 127.0.0.1:1
",
            backend.addr
        )
    };
    let (h, f) = (Side::new(), Side::new());
    let log = |s: &Side| s.syslog.local_addr().expect("addr").port();
    let (ha, fa) = (agent(answer.clone()), agent(answer.clone()));
    let _haproxy = Haproxy::start(&config(log(&h), h.ports[0], ha), &h.ports[..1]);
    let _fulcrum = Fulcrum::start(&config(log(&f), f.ports[0], fa));
    let next = |side: &Side| -> String { side.check_event().trim_end().to_string() };
    let mut seen = Vec::new();
    for (word, lines) in [("drain", 2), ("ready", 1), ("down", 2), ("up", 1)] {
        *answer.lock().expect("answer") = format!("{word}\n");
        let hs: Vec<String> = (0..lines).map(|_| next(&h)).collect();
        seen.push(hs.clone());
        let fs: Vec<String> = (0..lines).map(|_| next(&f)).collect();
        assert_eq!(
            fs, hs,
            "after the agent said {word} (so far HAProxy said {seen:?})"
        );
    }
}
