//! Passive health: `observe layer4|layer7` with `error-limit` and
//! `on-error`. Errors in the traffic to a server (refused connections,
//! HTTP 5xx answers) act on it as HAProxy acts: `mark-down` and
//! `fail-check` take it DOWN ("Health analyze"), and its next passing
//! check brings it back. Compared with Debian's HAProxy 2.6 on the same
//! configuration.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::haproxy::{mask_check_duration, Haproxy};
use common::net::{echo_server, free_port, Answer, Fulcrum, HttpBackend};

/// The state lines of the observed servers, with the parts that differ by
/// timing masked (check duration, and the sessions still open: HAProxy
/// counts the failing connection itself).
fn lines(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|l| {
            let i = l.find("Server l4/s ").or_else(|| l.find("Server l7/s "))?;
            let msg = mask_check_duration(&l[i..]);
            Some(match msg.find(" sessions active") {
                Some(j) => {
                    let start = msg[..j].rfind(' ').map_or(j, |k| k + 1);
                    format!("{}N{}", &msg[..start], &msg[j..])
                }
                None => msg,
            })
        })
        .collect()
}

fn config(
    l4: u16,
    l7: u16,
    closed: u16,
    open: u16,
    bad: &HttpBackend,
    good: &HttpBackend,
) -> String {
    format!(
        "defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
listen l4
    mode tcp
    bind 127.0.0.1:{l4}
    server s 127.0.0.1:{closed} check port {open} inter 300ms fall 2 rise 1 observe layer4 error-limit 2 on-error mark-down
    server t {echo} backup
listen l7
    mode http
    bind 127.0.0.1:{l7}
    option httpchk GET /health
    stats enable
    stats uri /stats
    server s {bad} check inter 300ms fall 1 rise 1 observe layer7 error-limit 3 on-error fail-check
    server t {good} backup
",
        echo = echo_server(),
        bad = bad.addr,
        good = good.addr
    )
}

/// Opens a TCP connection through `port` and waits for it to end (the
/// server refused it, so the proxy closes it).
fn tcp_attempt(port: u16) {
    if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    }
}

fn http_attempt(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn observed_errors_act_as_on_error_says_as_in_haproxy() {
    // The traffic port refuses; the check port listens.
    let closed = free_port();
    let open = TcpListener::bind("127.0.0.1:0").expect("bind");
    let open_port = open.local_addr().expect("addr").port();
    thread::spawn(move || for _c in open.incoming() {});
    let bad = HttpBackend::with(Answer::Status(500, "broken".into()));
    let good = HttpBackend::start("backup");
    let (f4, f7, h4, h7) = (free_port(), free_port(), free_port(), free_port());
    let f = Fulcrum::start(&config(f4, f7, closed, open_port, &bad, &good));
    let h = Haproxy::start(&config(h4, h7, closed, open_port, &bad, &good), &[h4, h7]);
    // Wait until each proxy's first checks have passed (its page says
    // so): an error seen before that is not an analysis in HAProxy.
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in [f7, h7] {
        while !(csv_field(port, "l4", "check_status").starts_with("L4OK")
            && csv_field(port, "l7", "check_status").starts_with("L7OK"))
        {
            assert!(Instant::now() < deadline, "port {port}: first checks");
            thread::sleep(Duration::from_millis(50));
        }
    }
    for port in [f4, f4, h4, h4] {
        tcp_attempt(port);
    }
    for port in [f7, f7, f7, h7, h7, h7] {
        assert!(http_attempt(port).starts_with("HTTP/1.1 500"));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut resent = 0;
    let mut last_send = Instant::now();
    loop {
        let (ours, theirs) = (lines(&f.log.lock().expect("log")), lines(&h.log_lines()));
        // Under the full suite's load, HAProxy 2.6 once took no analysis
        // from the three errors (its count seems to start again between
        // them; not explained yet): it then gets three more, up to three
        // times. fulcrum needs none; both must end with one analysis.
        let l7_down = |l: &Vec<String>| l.iter().any(|l| l.starts_with("Server l7/s is DOWN"));
        if !l7_down(&theirs) && last_send.elapsed() > Duration::from_secs(2) && resent < 3 {
            for _ in 0..3 {
                let _ = http_attempt(h7);
            }
            resent += 1;
            last_send = Instant::now();
        }
        // Each server: DOWN by the analysis, then UP by its next check.
        if ours.len() >= 4 && theirs.len() >= 4 {
            let mut a = ours.clone();
            let mut b = theirs.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b);
            assert!(ours.iter().any(|l| l.starts_with("Server l4/s is DOWN, reason: Health analyze, info: \"Detected 2 consecutive errors, last one was: L4 unsuccessful connection\". 0 active and 1 backup servers left. Running on backup.")), "{ours:#?}");
            assert!(ours.iter().any(|l| l.starts_with("Server l7/s is DOWN, reason: Health analyze, info: \"Detected 3 consecutive errors, last one was: Wrong http response\".")), "{ours:#?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fulcrum:\n{ours:#?}\nhaproxy:\n{theirs:#?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    // The page counts the analyses (`hanafail`), as HAProxy's does.
    for port in [f7, h7] {
        assert_eq!(hanafail(port, "l4"), "1", "port {port}");
        assert_eq!(hanafail(port, "l7"), "1", "port {port}");
    }
}

/// The `hanafail` column of server `s` of `proxy` on the stats CSV.
fn hanafail(port: u16, proxy: &str) -> String {
    csv_field(port, proxy, "hanafail")
}

/// Column `column` of server `s` of `proxy` on the stats CSV.
fn csv_field(port: u16, proxy: &str, column: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _ = s.write_all(b"GET /stats;csv HTTP/1.0\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    // HAProxy answers in chunks even to HTTP/1.0: find the lines.
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let header: Vec<&str> = body
        .lines()
        .find(|l| l.starts_with("# pxname"))
        .unwrap_or("")
        .split(',')
        .collect();
    let col = header
        .iter()
        .position(|h| *h == column)
        .unwrap_or_else(|| panic!("no {column} column in:\n{text}"));
    let row = body
        .lines()
        .find(|l| l.starts_with(&format!("{proxy},s,")))
        .unwrap_or_default();
    row.split(',').nth(col).unwrap_or_default().to_string()
}

#[test]
fn observe_settings_are_checked_at_their_line() {
    let f = common::TempPath::file(
        "observe",
        "defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend be
    server a 127.0.0.1:1 check observe layer5
    server b 127.0.0.1:1 check error-limit 0
    server c 127.0.0.1:1 check on-error foo
",
    );
    let run = common::check(&[f.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let name = f.name();
    let at = |l| common::errors_at(&run.stderr, &name, l);
    assert!(
        at(7)[0].contains("'observe' expects one of 'none', 'layer4', 'layer7' but got 'layer5'"),
        "{}",
        run.stderr
    );
    assert!(
        at(8)[0].contains("error-limit has to be > 0"),
        "{}",
        run.stderr
    );
    assert!(at(9)[0].contains("'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got 'foo'"), "{}", run.stderr);
    let g = common::TempPath::file(
        "observe7",
        "defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend be
    server a 127.0.0.1:1 check observe layer7
    server b 127.0.0.1:1 observe layer4
",
    );
    let run = common::check(&[g.path()]);
    let name = g.name();
    assert!(
        common::errors_at(&run.stderr, &name, 7)[0]
            .contains("'layer7' can only be used in http proxies"),
        "{}",
        run.stderr
    );
    assert!(
        common::warnings_at(&run.stderr, &name, 8)[0].contains("no effect without 'check'"),
        "{}",
        run.stderr
    );
}

/// `on-error` acts when the error is seen, not at the server's next
/// check: with `inter 60s`, a refused connection before the first check
/// takes the server DOWN at once, in fulcrum as in HAProxy. (The Apache
/// conversion relies on it: httpd takes a member that refused out at once.)
#[test]
fn on_error_acts_before_the_first_check() {
    let closed = free_port();
    let open = TcpListener::bind("127.0.0.1:0").expect("bind");
    let open_port = open.local_addr().expect("addr").port();
    thread::spawn(move || for _c in open.incoming() {});
    let cfg = |port: u16| {
        format!(
            "defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
listen l4
    mode tcp
    bind 127.0.0.1:{port}
    server s 127.0.0.1:{closed} check port {open_port} inter 60s observe layer4 error-limit 1 on-error mark-down
    server t {} backup
",
            echo_server()
        )
    };
    let (fp, hp) = (free_port(), free_port());
    let f = Fulcrum::start(&cfg(fp));
    let h = Haproxy::start(&cfg(hp), &[hp]);
    tcp_attempt(fp);
    tcp_attempt(hp);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (ours, theirs) = (lines(&f.log.lock().expect("log")), lines(&h.log_lines()));
        let down = |l: &Vec<String>| {
            l.iter()
                .any(|l| l.starts_with("Server l4/s is DOWN, reason: Health analyze"))
        };
        if down(&ours) && down(&theirs) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fulcrum:\n{ours:#?}\nhaproxy:\n{theirs:#?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}
