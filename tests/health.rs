//! Health checks, `track` and `backup` end to end: the seed 003
//! active/standby pair on loopback ports fails over and back by itself.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::net::{free_port, get, Fulcrum, HttpBackend};

const CHECK_URI: &str = "/servlet/com.requestec.smg.servlets.Brora?command=get_local_host";

/// The seed 003 pair: an HTTP listen with httpchk and a backup, and a TCP
/// listen whose servers track the HTTP ones.
fn pair_config(
    http: u16,
    tcp: u16,
    as1: &HttpBackend,
    as2: &HttpBackend,
    inter: &str,
    extra: &str,
) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode tcp
    retries 3
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen gvg-as
    bind 127.0.0.1:{http}
    mode http
    option forwardfor
    option redispatch
    option httpchk GET {CHECK_URI} HTTP/1.0
{extra}
    server gvg-as1 {a1} check {inter}
    server gvg-as2 {a2} check {inter} backup
listen gvg-as-https
    bind 127.0.0.1:{tcp}
    option redispatch
    server gvg-as1 {a1} track gvg-as/gvg-as1
    server gvg-as2 {a2} track gvg-as/gvg-as2 backup
",
        a1 = as1.addr,
        a2 = as2.addr
    )
}

/// Which backend a TCP connection through the passthrough listen reaches.
fn tcp_who(port: u16) -> String {
    let mut s = common::net::connect(port);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.rsplit("\r\n\r\n").next().unwrap_or("").to_string()
}

/// Polls `f` every 20 ms until it returns true, at most `limit`.
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn checks_send_exactly_the_configured_bytes_at_the_interval() {
    let as1 = HttpBackend::start("as1");
    let as2 = HttpBackend::start("as2");
    let (http, tcp) = (free_port(), free_port());
    let _f = Fulcrum::start(&pair_config(http, tcp, &as1, &as2, "inter 200ms", ""));
    let t0 = Instant::now();
    eventually(Duration::from_secs(10), "five checks", || {
        as1.requests().len() >= 5
    });
    let elapsed = t0.elapsed();
    for r in as1.requests() {
        assert_eq!(r.head, format!("GET {CHECK_URI} HTTP/1.0\r\n\r\n"));
    }
    // Five checks at 200 ms take at least 4 intervals (loosely: the first is
    // spread at random within the first interval).
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    // Every check opens its own connection.
    assert!(as1.conns.load(Ordering::Relaxed) >= 5);
}

#[test]
fn http_check_send_and_expect_shape_the_request() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    option httpchk HEAD /health HTTP/1.1\n    http-check send hdr Host www.example.com\n    http-check expect status 200\n    server s1 {} check inter 200ms\n",
        b.addr
    );
    let _f = Fulcrum::start(&cfg);
    eventually(Duration::from_secs(10), "a check", || {
        !b.requests().is_empty()
    });
    assert_eq!(
        b.requests()[0].head,
        "HEAD /health HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n"
    );
}

#[test]
fn the_pair_fails_over_and_back_on_both_ports() {
    let mut as1 = HttpBackend::start("as1");
    let as2 = HttpBackend::start("as2");
    let (http, tcp) = (free_port(), free_port());
    let _f = Fulcrum::start(&pair_config(
        http,
        tcp,
        &as1,
        &as2,
        "inter 200ms rise 2 fall 2",
        "",
    ));
    // Both ports start on the active server.
    eventually(Duration::from_secs(10), "checks running", || {
        as1.requests()
            .iter()
            .any(|r| r.head.contains("get_local_host"))
    });
    assert_eq!(get(http, "/").text(), "as1");
    assert_eq!(tcp_who(tcp), "as1");

    // Kill the active server: after `fall` failed checks, both ports go to the backup.
    as1.kill();
    eventually(
        Duration::from_secs(10),
        "HTTP failover to the backup",
        || get(http, "/").text() == "as2",
    );
    eventually(
        Duration::from_secs(10),
        "TCP failover through track",
        || tcp_who(tcp) == "as2",
    );

    // Bring it back: after `rise` good checks, new sessions go to it again.
    as1.revive();
    eventually(Duration::from_secs(10), "HTTP back on the active", || {
        get(http, "/").text() == "as1"
    });
    eventually(Duration::from_secs(10), "TCP back on the active", || {
        tcp_who(tcp) == "as1"
    });
}

#[test]
fn a_server_answering_503_is_down() {
    let as1 = HttpBackend::start("as1");
    let as2 = HttpBackend::start("as2");
    as1.health.store(503, Ordering::Relaxed);
    let (http, tcp) = (free_port(), free_port());
    let f = Fulcrum::start(&pair_config(http, tcp, &as1, &as2, "inter 200ms", ""));
    eventually(Duration::from_secs(10), "traffic on the backup", || {
        get(http, "/").text() == "as2"
    });
    let log = f.log.lock().expect("log").join("\n");
    assert!(
        log.contains("Server gvg-as/gvg-as1 is DOWN, reason: Layer7 wrong status, code: 503"),
        "{log}"
    );
    assert!(log.contains("0 active and 1 backup servers left"), "{log}");
}

#[test]
fn a_server_that_never_answers_is_down_after_timeout_check() {
    // Accepts connections and reads, but never answers.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    let as2 = HttpBackend::start("as2");
    let port = free_port();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 300ms\nlisten web\n    bind 127.0.0.1:{port}\n    option httpchk GET /health\n    server s1 {silent} check inter 500ms\n    server s2 {} check backup\n",
        as2.addr
    );
    let f = Fulcrum::start(&cfg);
    eventually(Duration::from_secs(10), "the silent server DOWN", || {
        f.log
            .lock()
            .expect("log")
            .iter()
            .any(|l| l.contains("Server web/s1 is DOWN, reason: Layer7 timeout"))
    });
    assert_eq!(get(port, "/").text(), "as2");
}

#[test]
fn allbackups_spreads_over_backups_and_without_it_only_the_first() {
    let dead = format!("127.0.0.1:{}", free_port());
    let b1 = HttpBackend::start("b1");
    let b2 = HttpBackend::start("b2");
    for (opt, want_both) in [("    option allbackups", true), ("", false)] {
        let port = free_port();
        let cfg = format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n{opt}\n    server a {dead} check inter 200ms\n    server b1 {} backup\n    server b2 {} backup\n",
            b1.addr, b2.addr
        );
        let _f = Fulcrum::start(&cfg);
        eventually(Duration::from_secs(10), "active down", || {
            get(port, "/").text().starts_with('b')
        });
        let seen: std::collections::HashSet<String> =
            (0..10).map(|_| get(port, "/").text()).collect();
        if want_both {
            assert_eq!(seen.len(), 2, "{seen:?}");
        } else {
            assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["b1"]);
        }
    }
}

#[test]
fn failover_under_load_loses_no_request_once_detected() {
    let mut as1 = HttpBackend::start("as1");
    let as2 = HttpBackend::start("as2");
    let (http, tcp) = (free_port(), free_port());
    let f = Fulcrum::start(&pair_config(
        http,
        tcp,
        &as1,
        &as2,
        "inter 200ms fall 2",
        "    timeout connect 200ms",
    ));
    eventually(Duration::from_secs(10), "checks running", || {
        !as1.requests().is_empty()
    });
    let mut failed_before = 0;
    let mut failed_after = 0;
    let mut detected_at = None;
    let start = Instant::now();
    let mut killed = false;
    while start.elapsed() < Duration::from_secs(6) {
        if !killed && start.elapsed() > Duration::from_millis(500) {
            as1.kill();
            killed = true;
        }
        let detected = f
            .log
            .lock()
            .expect("log")
            .iter()
            .any(|l| l.contains("gvg-as/gvg-as1 is DOWN"));
        if detected && detected_at.is_none() {
            detected_at = Some(start.elapsed());
        }
        let ok = common::net::request(
            http,
            "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .is_some_and(|r| r.status == 200);
        if !ok {
            if detected {
                failed_after += 1;
            } else {
                failed_before += 1;
            }
        }
    }
    eprintln!("failover: {failed_before} failed before detection, {failed_after} after; detected at {detected_at:?}");
    assert!(detected_at.is_some(), "the failure was never detected");
    assert_eq!(
        failed_after, 0,
        "requests failed after the failure was detected"
    );
}

/// `on-marked-down shutdown-sessions`: when a server is marked DOWN, the
/// TCP sessions open on it are closed, instead of lingering on a server
/// that failed its checks.
#[test]
fn on_marked_down_shutdown_sessions_closes_open_sessions() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let f = Fulcrum::start(&format!(
        "global
    nbthread 1
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
listen l
    bind 127.0.0.1:{port}
    option httpchk GET /health
    server s1 {} check inter 100ms fall 1 rise 1 on-marked-down shutdown-sessions
",
        b.addr
    ));
    let mut c = common::net::connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut pending = Vec::new();
    let r = common::net::read_response(&mut c, &mut pending).expect("a response");
    assert_eq!(r.status, 200);
    b.health.store(503, std::sync::atomic::Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.count("Server l/s1 is DOWN") == 0 {
        assert!(Instant::now() < deadline, "s1 never went DOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The session is closed by the proxy, well before any timeout.
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let n = c.read_to_end(&mut rest).expect("closed, not timed out");
    assert_eq!(n, 0);
}

/// `option tcp-check` (with no tcp-check rule) makes the check a TCP
/// connection, replacing an `option httpchk` inherited from defaults: a
/// server whose health URL answers 503 stays UP.
#[test]
fn option_tcp_check_replaces_an_inherited_httpchk() {
    let b = HttpBackend::start("a");
    b.health.store(503, Ordering::Relaxed);
    let port = free_port();
    let f = Fulcrum::start(&format!(
        "global
    nbthread 1
defaults
    mode http
    option httpchk GET /health
    timeout connect 2s
    timeout client 30s
    timeout server 30s
listen tcpchk
    bind 127.0.0.1:{port}
    option tcp-check
    stats enable
    stats uri /st
    server s1 {} check inter 100ms fall 1 rise 1
",
        b.addr
    ));
    // The stats CSV shows the check ran as a TCP check (L4OK).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !get(port, "/st;csv").text().contains(",L4OK,") {
        assert!(Instant::now() < deadline, "no L4OK check seen");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(f.count("is DOWN"), 0);
    assert_eq!(get(port, "/").text(), "a");
    assert!(b.requests().iter().all(|r| !r.head.contains("/health")));
}

/// `spread-checks 50`: the intervals between a server's checks vary
/// between half and one and a half `inter`, instead of being `inter`.
#[test]
fn spread_checks_vary_the_intervals() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = l.local_addr().expect("addr");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    spread-checks 50\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten app\n    bind 127.0.0.1:{port}\n    server s1 {server} check inter 100ms\n"
    ));
    let mut times = Vec::new();
    for c in l.incoming().take(16) {
        drop(c);
        times.push(std::time::Instant::now());
    }
    let gaps: Vec<u128> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    let (min, max) = (
        gaps.iter().min().copied().unwrap_or(0),
        gaps.iter().max().copied().unwrap_or(0),
    );
    assert!(min >= 40, "an interval below half of inter: {gaps:?}");
    assert!(max - min > 30, "intervals do not vary: {gaps:?}");
}

/// `agent-check`: the agent's words act on the server as in HAProxy:
/// `50%` halves its weight, `drain` takes it out of balancing, `down`
/// marks it DOWN ("DOWN (agent)" on the page), `up ready 100%` brings it
/// all back. What it was sent is `agent-send`.
#[test]
fn agent_check_drain_weight_and_down() {
    let answer = std::sync::Arc::new(std::sync::Mutex::new(String::from("up\n")));
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let agent_port = l.local_addr().expect("addr").port();
    {
        let (answer, sent) = (answer.clone(), sent.clone());
        std::thread::spawn(move || {
            for mut c in l.incoming().map_while(Result::ok) {
                let mut buf = [0u8; 64];
                let n = c.read(&mut buf).unwrap_or(0);
                sent.lock().expect("sent").push(buf[..n].to_vec());
                let a = answer.lock().expect("answer").clone();
                let _ = c.write_all(a.as_bytes());
            }
        });
    }
    let (a, b) = (HttpBackend::start("agent"), HttpBackend::start("other"));
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten app\n    bind 127.0.0.1:{port}\n    stats enable\n    stats uri /s\n    server s1 {} weight 10 agent-check agent-port {agent_port} agent-inter 100ms agent-send \"hello\\n\"\n    server s2 {}\n",
        a.addr, b.addr
    ));
    let row = || -> Vec<String> {
        let csv = get(port, "/s;csv").text();
        csv.lines()
            .find(|l| l.starts_with("app,s1,"))
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let wait_for = |what: &str, ok: &dyn Fn(&[String]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = row();
            if ok(&r) {
                return;
            }
            assert!(Instant::now() < deadline, "never {what}: {r:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let say = |w: &str| *answer.lock().expect("answer") = format!("{w}\n");
    say("50%");
    wait_for("weight 5", &|r| r.get(18).is_some_and(|w| w == "5"));
    say("drain");
    wait_for("DRAIN (agent)", &|r| {
        r.get(17).is_some_and(|s| s == "DRAIN (agent)")
    });
    assert!((0..4).all(|_| get(port, "/").text() == "other"));
    say("down");
    wait_for("DOWN (agent)", &|r| {
        r.get(17).is_some_and(|s| s == "DOWN (agent)")
    });
    say("up ready 100%");
    wait_for("back", &|r| {
        r.get(17).is_some_and(|s| s == "no check") && r.get(18).is_some_and(|w| w == "10")
    });
    assert!((0..6).any(|_| get(port, "/").text() == "agent"));
    assert_eq!(
        sent.lock().expect("sent").first().map(Vec::as_slice),
        Some(b"hello\n".as_slice())
    );
}

#[test]
fn slowstart_ramps_the_weight_of_a_server_back_up() {
    let (mut a, b) = (HttpBackend::start("warming"), HttpBackend::start("steady"));
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten app\n    bind 127.0.0.1:{port}\n    balance roundrobin\n    stats enable\n    stats uri /s\n    server s1 {} weight 100 check inter 100ms rise 1 fall 1 slowstart 4s\n    server s2 {} weight 100\n",
        a.addr, b.addr
    ));
    // (status, weight) of s1 on the page.
    let row = || -> (String, u32) {
        let csv = get(port, "/s;csv").text();
        let f: Vec<String> = csv
            .lines()
            .find(|l| l.starts_with("app,s1,"))
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect();
        let w = f.get(18).and_then(|w| w.parse().ok()).unwrap_or(0);
        (f.get(17).cloned().unwrap_or_default(), w)
    };
    // At start-up no warm-up: full weight at once, as in HAProxy.
    assert_eq!(row().1, 100);
    a.kill();
    eventually(Duration::from_secs(10), "s1 DOWN", || row().0 == "DOWN");
    a.revive();
    eventually(Duration::from_secs(10), "s1 UP", || row().0 == "UP");
    // Just back: a small share of its weight, so most requests go to s2.
    let (_, w) = row();
    assert!(w < 50, "weight {w} right after coming back");
    let to_a = (0..20)
        .filter(|_| get(port, "/").text() == "warming")
        .count();
    assert!(
        to_a <= 8,
        "{to_a} of 20 requests went to the warming server"
    );
    // The weight grows in steps to the full 100.
    let mut seen = vec![w];
    eventually(Duration::from_secs(10), "full weight", || {
        let w = row().1;
        if seen.last() != Some(&w) {
            seen.push(w);
        }
        w == 100
    });
    assert!(
        seen.iter().any(|&w| w > 1 && w < 100),
        "no step between: {seen:?}"
    );
    let to_a = (0..20)
        .filter(|_| get(port, "/").text() == "warming")
        .count();
    assert!(
        (8..=12).contains(&to_a),
        "equal weights share the requests: {to_a} of 20"
    );
}

/// The state lines of `be`'s servers, from either proxy's stderr, without
/// what precedes "Server"/"Backup Server" and with the duration masked.
fn state_lines(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| l.contains(" is DOWN") || l.contains(" is UP"))
        .filter_map(|l| {
            let i = l
                .find("Backup Server be/")
                .or_else(|| l.find("Server be/"))?;
            Some(common::haproxy::mask_check_duration(&l[i..]))
        })
        .collect()
}

#[test]
fn backup_servers_are_named_so_and_running_on_backup_is_said_as_haproxy() {
    let active = free_port(); // nothing listens: the active server fails
    let backup = TcpListener::bind("127.0.0.1:0").expect("bind");
    let bport = backup.local_addr().expect("addr").port();
    let cfg = |fe: u16| {
        format!(
            "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten be\n    bind 127.0.0.1:{fe}\n    server a 127.0.0.1:{active} check inter 100ms fall 1 rise 1\n    server b 127.0.0.1:{bport} check inter 100ms fall 1 rise 1 backup\n"
        )
    };
    let f = Fulcrum::start(&cfg(free_port()));
    let hfe = free_port();
    let h = common::haproxy::Haproxy::start(&cfg(hfe), &[hfe]);
    let both_have = |n: usize, what: &str| {
        eventually(Duration::from_secs(15), what, || {
            let ours = state_lines(&f.log.lock().expect("log"));
            ours.len() >= n && state_lines(&h.log_lines()).len() >= n
        })
    };
    both_have(1, "the active server DOWN");
    drop(backup);
    both_have(2, "the backup DOWN");
    let _again = TcpListener::bind(("127.0.0.1", bport)).expect("rebind");
    both_have(3, "the backup UP");
    let ours = state_lines(&f.log.lock().expect("log"));
    let masked = |v: &[String]| {
        v.iter()
            .map(|l| common::haproxy::mask_down_reason(l))
            .collect::<Vec<_>>()
    };
    assert_eq!(masked(&ours), masked(&state_lines(&h.log_lines())));
    assert!(ours[0].ends_with("0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue."), "{ours:#?}");
    assert!(
        ours[1].starts_with("Backup Server be/b is DOWN"),
        "{ours:#?}"
    );
    assert!(ours[2].starts_with("Backup Server be/b is UP"), "{ours:#?}");
}
