//! `peers` sections: two nodes share their stick tables over HAProxy's
//! peers protocol. A client pinned to a server on one node is sent to the
//! same server by the other; a node that restarts learns the table back;
//! Debian's HAProxy is a peer like any other.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::haproxy::Haproxy;
use common::net::{free_port, request, Fulcrum, HttpBackend};
use common::{check, errors_at, warnings_at, TempPath};

/// Sends one command to a runtime API on TCP and returns the answer.
fn cli(port: u16, cmd: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(format!("{cmd}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Waits (10 s at most) until `show table NAME` on `port` lists `want`.
fn wait_entry(port: u16, table: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = cli(port, &format!("show table {table}"));
        if t.contains(want) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "no '{want}' in table {table} on {port}:\n{t}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The server a user's request lands on through `port`.
fn served(port: u16, user: &str) -> String {
    request(
        port,
        &format!("GET / HTTP/1.1\r\nHost: t\r\nX-User: {user}\r\nConnection: close\r\n\r\n"),
    )
    .map(|r| r.text())
    .unwrap_or_default()
}

struct Node {
    http: u16,
    cli: u16,
    peer: u16,
}

impl Node {
    fn new() -> Node {
        Node {
            http: free_port(),
            cli: free_port(),
            peer: free_port(),
        }
    }
}

/// One node's configuration: users stick to a server by their X-User
/// header, in a table shared through section `pair`.
fn node_config(me: &Node, a: &Node, b: &Node, servers: &[&HttpBackend]) -> String {
    let mut s = String::new();
    for (i, srv) in servers.iter().enumerate() {
        s.push_str(&format!("    server s{} {}\n", i + 1, srv.addr));
    }
    format!(
        "global
    stats socket ipv4@127.0.0.1:{cli} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
peers pair
    peer node_a 127.0.0.1:{pa}
    peer node_b 127.0.0.1:{pb}
frontend fe
    bind 127.0.0.1:{http}
    default_backend app
backend app
    balance roundrobin
    stick-table type string len 32 size 10k expire 30m peers pair
    stick on hdr(x-user)
{s}",
        cli = me.cli,
        pa = a.peer,
        pb = b.peer,
        http = me.http,
    )
}

#[test]
fn a_client_pinned_on_one_node_stays_pinned_on_the_other() {
    let servers: Vec<HttpBackend> = (1..=3)
        .map(|i| HttpBackend::start(&format!("s{i}")))
        .collect();
    let refs: Vec<&HttpBackend> = servers.iter().collect();
    let (a, b) = (Node::new(), Node::new());
    let _fa = Fulcrum::start_with(&node_config(&a, &a, &b, &refs), &["-L", "node_a"]);
    let _fb = Fulcrum::start_with(&node_config(&b, &a, &b, &refs), &["-L", "node_b"]);
    // Six users spread by round robin on node A.
    let users: Vec<String> = (0..6).map(|i| format!("user{i}")).collect();
    let on_a: Vec<String> = users.iter().map(|u| served(a.http, u)).collect();
    assert_eq!(
        on_a.iter().filter(|s| *s == "s1").count(),
        2,
        "round robin spreads them: {on_a:?}"
    );
    for u in &users {
        wait_entry(b.cli, "app", &format!("key={u} "));
    }
    // Node B sends each to the same server, in another order: plain round
    // robin would not.
    for (u, want) in users.iter().zip(&on_a).rev() {
        assert_eq!(&served(b.http, u), want, "{u} moved");
    }
    // And the other way round: a new user pinned on B is pinned on A.
    let first_on_b = served(b.http, "newcomer");
    wait_entry(a.cli, "app", "key=newcomer ");
    for _ in 0..3 {
        assert_eq!(served(a.http, "newcomer"), first_on_b);
    }
}

#[test]
fn a_restarted_node_learns_the_table_from_its_peer() {
    let servers: Vec<HttpBackend> = (1..=2)
        .map(|i| HttpBackend::start(&format!("s{i}")))
        .collect();
    let refs: Vec<&HttpBackend> = servers.iter().collect();
    let (a, b) = (Node::new(), Node::new());
    let fa = Fulcrum::start_with(&node_config(&a, &a, &b, &refs), &["-L", "node_a"]);
    let fb = Fulcrum::start_with(&node_config(&b, &a, &b, &refs), &["-L", "node_b"]);
    // Pins made on B reach A, which learned them (they are not A's own
    // changes, so only a full resync hands them on).
    let pinned: Vec<(String, String)> = (0..4)
        .map(|i| {
            let u = format!("u{i}");
            let s = served(b.http, &u);
            (u, s)
        })
        .collect();
    for (u, _) in &pinned {
        wait_entry(a.cli, "app", &format!("key={u} "));
    }
    drop(fb);
    let fb2 = Fulcrum::start_with(&node_config(&b, &a, &b, &refs), &["-L", "node_b"]);
    fb2.wait_count(
        "learned the tables from the peer",
        1,
        Duration::from_secs(10),
    );
    for (u, s) in &pinned {
        wait_entry(b.cli, "app", &format!("key={u} "));
        assert_eq!(&served(b.http, u), s, "{u} moved after B restarted");
    }
    drop(fa);
}

/// HAProxy 2.6 as node B: entries flow both ways, counters included, and
/// each node honours the other's pins.
#[test]
fn debian_haproxy_is_a_peer() {
    let servers: Vec<HttpBackend> = (1..=3)
        .map(|i| HttpBackend::start(&format!("s{i}")))
        .collect();
    let refs: Vec<&HttpBackend> = servers.iter().collect();
    let (a, b) = (Node::new(), Node::new());
    let counting = "peers pair\n    table hits type string len 32 size 1k expire 5m store gpc0,http_req_rate(10s)\n";
    let with_counts = |cfg: String| {
        cfg.replace(
            "    peer node_b",
            &format!("{}    peer node_b", &counting["peers pair\n".len()..]),
        )
        .replace(
            "    default_backend app",
            "    http-request track-sc1 hdr(x-user) table pair/hits\n    http-request sc-inc-gpc0(1)\n    default_backend app",
        )
    };
    let _fa = Fulcrum::start_with(
        &with_counts(node_config(&a, &a, &b, &refs)),
        &["-L", "node_a"],
    );
    let hb = Haproxy::start_with(
        &with_counts(node_config(&b, &a, &b, &refs)),
        &[b.http],
        &["-L", "node_b"],
    );
    let on_a: Vec<(String, String)> = (0..3)
        .map(|i| {
            let u = format!("from_a{i}");
            let s = served(a.http, &u);
            (u, s)
        })
        .collect();
    for (u, s) in on_a.iter().rev() {
        wait_entry(b.cli, "app", &format!("key={u} "));
        assert_eq!(&served(b.http, u), s, "HAProxy moved {u}:\n{}", hb.log());
    }
    let on_b: Vec<(String, String)> = (0..3)
        .map(|i| {
            let u = format!("from_b{i}");
            let s = served(b.http, &u);
            (u, s)
        })
        .collect();
    for (u, s) in on_b.iter().rev() {
        wait_entry(a.cli, "app", &format!("key={u} "));
        assert_eq!(&served(a.http, u), s, "fulcrum moved {u}");
    }
    // The counters travel too: each user was counted once on each node,
    // and each node's count went on from the other's.
    for u in ["from_a0", "from_b0"] {
        for port in [a.cli, b.cli] {
            wait_line(port, "pair/hits", u, "gpc0=2 ");
        }
    }
}

/// Waits (10 s at most) until the entry of `key` in `table` shows `want`.
fn wait_line(port: u16, table: &str, key: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = cli(port, &format!("show table {table}"));
        let line = t
            .lines()
            .find(|l| l.contains(&format!("key={key} ")))
            .unwrap_or_default()
            .to_string();
        if format!("{line} ").contains(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the entry of {key} on {port} never showed '{want}':\n{t}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn peers_lines_are_checked() {
    let cfg = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\npeers p\n    peer me 127.0.0.1:1024\n    peer other\n    table t type ip size 1k peers p\n    bogus 1\n    default-server inter 1s\nbackend be\n    stick-table type ip size 1k peers nowhere\n    server s 127.0.0.1:80\n";
    let f = TempPath::file("peers.cfg", cfg);
    let name = f.path().display().to_string();
    let run = check(&[f.path()]);
    let e = &run.stderr;
    assert_eq!(
        errors_at(e, &name, 8),
        vec![format!("{name}:8: 'peer' expects <name> and <addr>:<port>")]
    );
    assert_eq!(
        errors_at(e, &name, 9),
        vec![format!(
            "{name}:9: table: 'peers' has no place in a peers section's table"
        )]
    );
    assert_eq!(
        errors_at(e, &name, 10),
        vec![format!(
            "{name}:10: unknown keyword 'bogus' in 'peers' section"
        )]
    );
    assert_eq!(errors_at(e, &name, 11).len(), 1, "{e}");
    // Once the lines read, the references are checked.
    let f = TempPath::file(
        "peers.cfg",
        &cfg.replace("    peer other\n", "    peer other 127.0.0.1:1025\n")
            .replace(" peers p\n    bogus 1\n    default-server inter 1s\n", "\n"),
    );
    let name = f.path().display().to_string();
    let run = check(&[f.path()]);
    assert_eq!(
        errors_at(&run.stderr, &name, 11),
        vec![format!(
            "{name}:11: Proxy 'be': unable to find sync peers 'nowhere'."
        )],
        "{}",
        run.stderr
    );
    // A section that does not name this node is dropped with a warning,
    // as HAProxy drops it; with -L naming it, it is kept.
    let f = TempPath::file("peers.cfg", "peers p\n    peer elsewhere 127.0.0.1:1024\n");
    let name = f.path().display().to_string();
    let run = check(&[f.path()]);
    let w = warnings_at(&run.stderr, &name, 1);
    assert_eq!(w.len(), 1, "{}", run.stderr);
    assert!(w[0].contains("Removing incomplete section 'peers p' (no peer named"));
}

/// Master-worker mode: a reload starts a new worker beside the old one.
/// The new worker listens for its peers at once (the old one lets go when
/// it stops), asks its peer for the table, and keeps syncing.
#[test]
fn a_master_worker_reload_keeps_the_table_and_the_link() {
    let servers: Vec<HttpBackend> = (1..=2)
        .map(|i| HttpBackend::start(&format!("s{i}")))
        .collect();
    let refs: Vec<&HttpBackend> = servers.iter().collect();
    let (a, b) = (Node::new(), Node::new());
    let fa = Fulcrum::start_with(&node_config(&a, &a, &b, &refs), &["-W", "-L", "node_a"]);
    let _fb = Fulcrum::start_with(&node_config(&b, &a, &b, &refs), &["-L", "node_b"]);
    let before: Vec<(String, String)> = (0..3)
        .map(|i| {
            let u = format!("early{i}");
            let s = served(b.http, &u);
            (u, s)
        })
        .collect();
    for (u, _) in &before {
        wait_entry(a.cli, "app", &format!("key={u} "));
    }
    let learned = fa.count("learned the tables from the peer");
    fa.signal("USR2");
    fa.wait_count(
        "learned the tables from the peer",
        learned + 1,
        Duration::from_secs(15),
    );
    // The new worker holds what the old one had, and still syncs.
    for (u, s) in &before {
        wait_entry(a.cli, "app", &format!("key={u} "));
        assert_eq!(&served(a.http, u), s, "{u} moved across the reload");
    }
    let late = served(b.http, "late");
    wait_entry(a.cli, "app", "key=late ");
    assert_eq!(served(a.http, "late"), late);
}

/// The other ways to write a section: the local node as `server NAME`
/// with a `bind` line (HAProxy 2.x's form), the node named by the global
/// `localpeer` instead of `-L`, `enabled` after `disabled`, and a
/// `disabled` section, which syncs nothing and listens nowhere.
#[test]
fn bind_server_localpeer_and_disabled_forms_act() {
    let servers: Vec<HttpBackend> = (1..=2)
        .map(|i| HttpBackend::start(&format!("s{i}")))
        .collect();
    let refs: Vec<&HttpBackend> = servers.iter().collect();
    let (a, b) = (Node::new(), Node::new());
    let off = free_port();
    let a_cfg = node_config(&a, &a, &b, &refs).replace(
        &format!("    peer node_a 127.0.0.1:{}\n", a.peer),
        &format!("    bind 127.0.0.1:{}\n    server node_a\n", a.peer),
    );
    let a_cfg = a_cfg.replace(
        &format!("    peer node_b 127.0.0.1:{}\n", b.peer),
        &format!("    server node_b 127.0.0.1:{}\n", b.peer),
    );
    assert!(a_cfg.contains("    server node_a\n"), "{a_cfg}");
    let b_cfg = node_config(&b, &a, &b, &refs)
        .replacen("global\n", "global\n    localpeer node_b\n", 1)
        // `enabled` undoes a `disabled` before it.
        .replacen("peers pair\n", "peers pair\n    disabled\n    enabled\n", 1)
        + &format!("peers off\n    disabled\n    peer node_b 127.0.0.1:{off}\n    peer node_c 127.0.0.1:1\n");
    let _fa = Fulcrum::start_with(&a_cfg, &["-L", "node_a"]);
    let fb = Fulcrum::start(&b_cfg);
    let s = served(b.http, "someone");
    wait_entry(a.cli, "app", "key=someone ");
    assert_eq!(served(a.http, "someone"), s);
    fb.wait_count(
        "learned the tables from the peer",
        1,
        Duration::from_secs(10),
    );
    assert!(
        TcpStream::connect(("127.0.0.1", off)).is_err(),
        "a disabled section listens"
    );
    let peers = cli(b.cli, "show peers");
    assert!(peers.contains("pair: [id=pair] local=node_b"), "{peers}");
    assert!(!peers.contains("off:"), "{peers}");
}
