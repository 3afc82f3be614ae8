//! Balancing through the built binary: exact rotation, weights, leastconn,
//! source and uri hashing, and a refused server skipped by redispatch.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use common::net::{connect, free_port, get, request, Answer, Fulcrum, HttpBackend};

fn config(port: u16, balance: &str, extra: &str, servers: &[(String, &str)]) -> String {
    let mut s = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:{port}
    balance {balance}
{extra}
"
    );
    for (i, (addr, params)) in servers.iter().enumerate() {
        s.push_str(&format!("    server s{i} {addr} {params}\n"));
    }
    s
}

fn who(port: u16, path: &str) -> String {
    let r = get(port, path);
    assert_eq!(r.status, 200, "{}", r.head);
    r.text()
}

#[test]
fn roundrobin_rotates_exactly_over_three_servers() {
    let b: Vec<HttpBackend> = ["a", "b", "c"]
        .iter()
        .map(|n| HttpBackend::start(n))
        .collect();
    let port = free_port();
    let servers: Vec<(String, &str)> = b.iter().map(|x| (x.addr.to_string(), "")).collect();
    let _f = Fulcrum::start(&config(port, "roundrobin", "", &servers));
    let order: Vec<String> = (0..9).map(|_| who(port, "/")).collect();
    assert_eq!(order, ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
}

#[test]
fn weights_1_2_3_give_that_ratio_over_600_requests() {
    let b: Vec<HttpBackend> = ["a", "b", "c"]
        .iter()
        .map(|n| HttpBackend::start(n))
        .collect();
    let port = free_port();
    let servers = vec![
        (b[0].addr.to_string(), "weight 1"),
        (b[1].addr.to_string(), "weight 2"),
        (b[2].addr.to_string(), "weight 3"),
    ];
    let _f = Fulcrum::start(&config(port, "roundrobin", "", &servers));
    // One keep-alive connection: 600 requests, each balanced on its own.
    let mut c = connect(port);
    let mut pending = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..600 {
        c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        let r = common::net::read_response(&mut c, &mut pending).expect("response");
        *counts.entry(r.text()).or_default() += 1;
    }
    assert_eq!((counts["a"], counts["b"], counts["c"]), (100, 200, 300));
}

#[test]
fn leastconn_avoids_the_busy_server() {
    let busy = HttpBackend::with(Answer::Never);
    let b = HttpBackend::start("b");
    let c = HttpBackend::start("c");
    let port = free_port();
    let servers = vec![
        (busy.addr.to_string(), ""),
        (b.addr.to_string(), ""),
        (c.addr.to_string(), ""),
    ];
    let _f = Fulcrum::start(&config(port, "leastconn", "", &servers));
    // Park a request on the server that never answers.
    let mut parked = connect(port);
    parked
        .write_all(b"GET /park HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while busy.requests().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the parked request never reached the busy server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let picks: Vec<String> = (0..10).map(|_| who(port, "/")).collect();
    assert!(picks.iter().all(|p| p == "b" || p == "c"), "{picks:?}");
    assert!(
        picks.contains(&"b".to_string()) && picks.contains(&"c".to_string()),
        "{picks:?}"
    );
}

#[test]
fn source_hash_keeps_a_client_on_one_server() {
    let b: Vec<HttpBackend> = ["a", "b", "c"]
        .iter()
        .map(|n| HttpBackend::start(n))
        .collect();
    let port = free_port();
    let servers: Vec<(String, &str)> = b.iter().map(|x| (x.addr.to_string(), "")).collect();
    let _f = Fulcrum::start(&config(port, "source", "", &servers));
    let first = who(port, "/");
    for _ in 0..10 {
        assert_eq!(who(port, "/"), first);
    }
}

#[test]
fn uri_hash_keeps_a_uri_on_one_server_and_spreads_uris() {
    let b: Vec<HttpBackend> = ["a", "b", "c"]
        .iter()
        .map(|n| HttpBackend::start(n))
        .collect();
    let port = free_port();
    let servers: Vec<(String, &str)> = b.iter().map(|x| (x.addr.to_string(), "")).collect();
    let _f = Fulcrum::start(&config(port, "uri", "", &servers));
    let mut seen = HashMap::new();
    for i in 0..30 {
        let path = format!("/item/{i}");
        let s = who(port, &path);
        assert_eq!(who(port, &format!("{path}?again")), s, "{path}");
        seen.insert(s, ());
    }
    assert!(seen.len() >= 2, "uris spread over servers: {seen:?}");
}

#[test]
fn refused_server_is_skipped_with_retries_and_redispatch() {
    let live = HttpBackend::start("live");
    let dead = format!("127.0.0.1:{}", free_port());
    let port = free_port();
    let servers = vec![(dead, ""), (live.addr.to_string(), "")];
    let _f = Fulcrum::start(&config(
        port,
        "roundrobin",
        "    retries 3\n    option redispatch\n    timeout connect 200ms",
        &servers,
    ));
    for _ in 0..4 {
        assert_eq!(who(port, "/"), "live");
    }
}

/// `option redispatch <interval>` is acted on: a dead server before a
/// live one, one retry. Redispatching every retry (1) or on the last
/// (-1) moves that retry to the live server; every 2nd retry (2) or
/// never (0) keeps it on the dead one, so the requests that start there
/// fail.
#[test]
fn redispatch_interval_says_which_retries_move() {
    let live = HttpBackend::start("live");
    let dead = format!("127.0.0.1:{}", free_port());
    let statuses = |interval: &str| -> Vec<u16> {
        let port = free_port();
        let servers = vec![(dead.clone(), ""), (live.addr.to_string(), "")];
        let extra =
            format!("    retries 1\n    option redispatch {interval}\n    timeout connect 200ms");
        let _f = Fulcrum::start(&config(port, "roundrobin", &extra, &servers));
        (0..4).map(|_| get(port, "/").status).collect()
    };
    // Every retry, or the last (-1, the default): the one retry moves.
    assert_eq!(statuses("1"), [200; 4]);
    assert_eq!(statuses("-1"), [200; 4]);
    // Every 2nd retry, or never: the one retry stays on the dead server,
    // so the requests that started there (every other one) fail.
    for interval in ["2", "0"] {
        let s = statuses(interval);
        assert_eq!(
            s.iter().filter(|&&c| c == 503).count(),
            2,
            "{interval}: {s:?}"
        );
        assert_eq!(
            s.iter().filter(|&&c| c == 200).count(),
            2,
            "{interval}: {s:?}"
        );
    }
}

/// `http-send-name-header`: each server gets its own name in the header,
/// which replaces the client's, on a retry's server too. With `Host` it
/// sends each server the name it is known by (the Apache conversion's
/// `ProxyPreserveHost Off`).
#[test]
fn send_name_header_gives_each_server_its_name() {
    let a = HttpBackend::start("a");
    let b = HttpBackend::start("b");
    let dead = format!("127.0.0.1:{}", free_port());
    let port = free_port();
    let mut cfg = config(
        port,
        "roundrobin",
        "    http-send-name-header X-Srv\n    retries 1\n    option redispatch\n    timeout connect 200ms",
        &[],
    );
    cfg.push_str(&format!(
        "    server dead {dead}\n    server app-a {}\n    server app-b {}\n",
        a.addr, b.addr
    ));
    let _f = Fulcrum::start(&cfg);
    for _ in 0..6 {
        let r = request(
            port,
            "GET / HTTP/1.1\r\nHost: x\r\nX-Srv: spoofed\r\nx-srv: again\r\nConnection: close\r\n\r\n",
        )
        .expect("answer");
        assert_eq!(r.status, 200, "{}", r.head);
    }
    for (backend, name) in [(&a, "app-a"), (&b, "app-b")] {
        let seen = backend.requests();
        assert!(!seen.is_empty());
        for s in seen {
            let values: Vec<&str> = s
                .head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-srv"))
                .map(|(_, v)| v.trim())
                .collect();
            assert_eq!(values, [name], "{}", s.head);
        }
    }
    // As Host: the server is sent its name instead of the client's Host.
    let port = free_port();
    let mut cfg = config(port, "roundrobin", "    http-send-name-header Host", &[]);
    cfg.push_str(&format!("    server member.example:8080 {}\n", a.addr));
    let _f = Fulcrum::start(&cfg);
    let before = a.requests().len();
    assert_eq!(get(port, "/h").status, 200);
    let seen = a.requests();
    let head = &seen[before].head;
    let hosts: Vec<&str> = head
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("host:"))
        .collect();
    assert_eq!(hosts.len(), 1, "{head}");
    assert!(hosts[0].ends_with(": member.example:8080"), "{head}");
}

#[test]
fn cookie_insert_keeps_a_client_on_its_server() {
    let a = HttpBackend::start("a");
    let b = HttpBackend::start("b");
    let port = free_port();
    let servers = vec![
        (a.addr.to_string(), "cookie s-a"),
        (b.addr.to_string(), "cookie s-b"),
    ];
    let _f = Fulcrum::start(&config(
        port,
        "roundrobin",
        "    cookie SRV insert indirect nocache httponly",
        &servers,
    ));
    // A new client is balanced and told its server.
    let first = get(port, "/");
    let set = first
        .head
        .lines()
        .find(|l| l.starts_with("Set-Cookie: SRV="))
        .unwrap_or_else(|| panic!("no Set-Cookie in {}", first.head))
        .to_string();
    assert!(
        set.contains("; path=/") && set.contains("HttpOnly"),
        "{set}"
    );
    assert!(
        first.head.contains("Cache-Control: private"),
        "{}",
        first.head
    );
    let value = set
        .trim_start_matches("Set-Cookie: SRV=")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let who = first.text();
    assert_eq!(value, format!("s-{who}"));
    // With the cookie, every request goes back to that server, and the
    // cookie is not passed on (indirect) nor set again.
    for _ in 0..6 {
        let r = common::net::request(
            port,
            &format!("GET / HTTP/1.1\r\nHost: t\r\nCookie: lang=en; SRV={value}\r\nConnection: close\r\n\r\n"),
        )
        .expect("response");
        assert_eq!(r.text(), who);
        assert!(!r.head.contains("Set-Cookie"), "{}", r.head);
    }
    let seen = if who == "a" {
        a.requests()
    } else {
        b.requests()
    };
    let last = &seen.last().expect("a request").head;
    assert!(
        last.contains("Cookie: lang=en\r\n") && !last.contains("SRV="),
        "{last}"
    );
}

/// `default-server` parameters apply to the servers after it; a server's
/// own parameter wins. Here the default weight 3 against an explicit
/// weight 1 gives exactly 3:1, and a default `disabled` overridden by
/// `enabled` leaves only that server in service.
#[test]
fn default_server_parameters_apply_and_are_overridden() {
    let b: Vec<HttpBackend> = ["a", "b"].iter().map(|n| HttpBackend::start(n)).collect();
    let port = free_port();
    let servers = vec![
        (b[0].addr.to_string(), ""),
        (b[1].addr.to_string(), "weight 1"),
    ];
    let _f = Fulcrum::start(&config(
        port,
        "roundrobin",
        "    default-server weight 3",
        &servers,
    ));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..400 {
        *counts.entry(who(port, "/")).or_default() += 1;
    }
    assert_eq!((counts["a"], counts["b"]), (300, 100));

    let port = free_port();
    let servers = vec![
        (b[0].addr.to_string(), ""),
        (b[1].addr.to_string(), "enabled"),
    ];
    let _g = Fulcrum::start(&config(
        port,
        "roundrobin",
        "    default-server disabled",
        &servers,
    ));
    let order: Vec<String> = (0..4).map(|_| who(port, "/")).collect();
    assert_eq!(order, ["b", "b", "b", "b"]);
}

/// `option prefer-last-server`: the requests of one kept-alive client go
/// to the server its first one went to; without it, round robin moves
/// them along.
#[test]
fn prefer_last_server_keeps_a_connection_on_its_server() {
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let bodies = |prefer: bool| -> Vec<String> {
        let port = free_port();
        let _f = Fulcrum::start(&format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten app\n    bind 127.0.0.1:{port}\n    balance roundrobin\n    {}\n    server a {}\n    server b {}\n",
            if prefer { "option prefer-last-server" } else { "" },
            a.addr,
            b.addr
        ));
        let mut c = connect(port);
        let mut pending = Vec::new();
        (0..4)
            .map(|_| {
                c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                    .expect("write");
                common::net::read_response(&mut c, &mut pending)
                    .expect("a response")
                    .text()
            })
            .collect()
    };
    let with = bodies(true);
    assert!(with.iter().all(|s| *s == with[0]), "{with:?}");
    let without = bodies(false);
    assert!(without.iter().any(|s| *s != without[0]), "{without:?}");
}

/// A server that answers one request per connection and closes it
/// without saying so (HTTP/1.1, no `Connection: close`): the connection
/// fulcrum keeps for reuse is dead when it is next used.
fn closing_server(name: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                    name.len()
                )
                .as_bytes(),
            );
        }
    });
    addr
}

/// A request replayed because its pooled connection turned out closed
/// goes to the server the balancer chose, not to the next one (HAProxy's
/// reg-test balance/balance-rr).
#[test]
fn a_replay_on_a_dead_pooled_connection_keeps_its_server() {
    let (a, b) = (closing_server("a"), closing_server("b"));
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten app\n    bind 127.0.0.1:{port}\n    balance roundrobin\n    server a {a}\n    server b {b}\n"
    ));
    let seen: Vec<String> = (0..6).map(|_| get(port, "/").text()).collect();
    assert_eq!(seen, ["a", "b", "a", "b", "a", "b"]);
}
