//! Servers resolved at run time: `resolvers` sections, `server-template`,
//! SRV records and `init-addr`, against a DNS server the test runs. The
//! same configuration runs in fulcrum and in Debian's HAProxy 2.6 against
//! the same zone: the stats rows and the lines logged must be the same.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::dns::DnsServer;
use common::haproxy::Haproxy;
use common::net::{free_port, Fulcrum, HttpBackend};
use common::{check, errors_at, warnings_at, TempPath};

/// (server, status, address) rows of backend `be` from the stats CSV,
/// read over HTTP/1.0 (no chunking, the same code for both proxies).
fn rows(port: u16) -> Vec<(String, String, String)> {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /;csv HTTP/1.0\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with("be,") && !l.starts_with("be,BACKEND"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let maint = f.get(17)?.starts_with("MAINT");
            // A server without an address shows none that matters.
            let addr = if maint { "-" } else { f.get(73)? };
            Some((f[1].to_string(), f[17].to_string(), addr.to_string()))
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// Waits (15 s at most) until both proxies show `want`.
fn both_show(ports: [u16; 2], want: &[(&str, &str, &str)], what: &str) {
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    for (i, port) in ports.into_iter().enumerate() {
        let who = ["fulcrum", "haproxy"][i];
        loop {
            let got = rows(port);
            if got == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {who} shows\n{got:#?}\ninstead of\n{want:#?}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The DNS event lines, without the prefixes each proxy puts before them.
fn dns_lines(log: &[String]) -> Vec<String> {
    const EVENTS: [&str; 4] = [
        "changed its IP",
        "resolves again",
        "thanks to valid DNS answer",
        "going DOWN for maintenance",
    ];
    log.iter()
        .filter(|l| EVENTS.iter().any(|e| l.contains(e)))
        .filter_map(|l| {
            let start = l.find("Server be/").or_else(|| l.find("be/"))?;
            Some(l[start..].to_string())
        })
        .collect()
}

fn config(dns: SocketAddr, fe: u16, stats: u16, port: u16) -> String {
    format!(
        "global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
resolvers dns
    nameserver ns1 {dns}
    timeout resolve 100ms
    timeout retry 200ms
    hold valid 300ms
    hold nx 500ms
    hold other 500ms
    hold refused 500ms
    hold timeout 500ms
listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /
    stats show-legends
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    server-template web 3 app.test:{port} resolvers dns init-addr none
    server-template s 1-2 _http._tcp.svc.test resolvers dns init-addr none
",
        sock = socket_path(stats).display()
    )
}

/// The runtime API socket of the proxy whose stats port is `stats`.
fn socket_path(stats: u16) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("fulcrum-dns-{}-{stats}.sock", std::process::id()))
}

/// `show servers state be`, without the columns that differ by timing
/// (seconds since the last change) or that HAProxy keeps from before a
/// maintenance (the check health of a server without checks).
fn servers_state(stats: u16) -> Vec<String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket_path(stats)).expect("socket");
    s.write_all(b"show servers state be\n").expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(" be "))
        .map(|l| {
            let mut f: Vec<&str> = l.split(' ').collect();
            for i in [9, 12] {
                if i < f.len() {
                    f[i] = "*";
                }
            }
            f.join(" ")
        })
        .collect()
}

/// Which backends (by body) answered `n` requests.
fn served_by(port: u16, n: usize) -> Vec<String> {
    let mut out: Vec<String> = (0..n).map(|_| common::net::get(port, "/").text()).collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn server_template_follows_a_and_srv_records_as_haproxy_does() {
    let dns = DnsServer::start();
    dns.set_addrs(
        "app.test",
        &[ip("127.0.0.2"), ip("127.0.0.3"), ip("127.0.0.4")],
    );
    dns.set_addrs("h1.test", &[ip("127.0.0.7")]);
    dns.set_addrs("h2.test", &[ip("127.0.0.8")]);
    let port = free_port();
    let _backends: Vec<HttpBackend> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .iter()
        .map(|a| HttpBackend::start_at(SocketAddr::new(ip(a), port), a))
        .collect();
    let (fe, st, hfe, hst) = (free_port(), free_port(), free_port(), free_port());
    let f = Fulcrum::start(&config(dns.addr, fe, st, port));
    let h = Haproxy::start(&config(dns.addr, hfe, hst, port), &[hst]);
    let ports = [st, hst];
    let a = |n: &str| format!("{n}:{port}");
    let (a2, a3, a4, a5) = (
        a("127.0.0.2"),
        a("127.0.0.3"),
        a("127.0.0.4"),
        a("127.0.0.5"),
    );
    const NO: &str = "MAINT (resolution)";
    // Three A records fill the three slots; no SRV record yet (NXDOMAIN):
    // the SRV slots start in maintenance, and the start does not fail.
    both_show(
        ports,
        &[
            ("web1", "no check", &a2),
            ("web2", "no check", &a3),
            ("web3", "no check", &a4),
            ("s1", NO, "-"),
            ("s2", NO, "-"),
        ],
        "three A records",
    );
    assert_eq!(served_by(fe, 9), ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    // A record removed: its server goes to maintenance, traffic follows.
    dns.set_addrs("app.test", &[ip("127.0.0.2"), ip("127.0.0.4")]);
    both_show(
        ports,
        &[
            ("web1", "no check", &a2),
            ("web2", NO, "-"),
            ("web3", "no check", &a4),
            ("s1", NO, "-"),
            ("s2", NO, "-"),
        ],
        "two A records",
    );
    assert_eq!(served_by(fe, 6), ["127.0.0.2", "127.0.0.4"]);
    // A new address fills the free slot; the others keep theirs.
    dns.set_addrs(
        "app.test",
        &[ip("127.0.0.5"), ip("127.0.0.4"), ip("127.0.0.2")],
    );
    both_show(
        ports,
        &[
            ("web1", "no check", &a2),
            ("web2", "no check", &a5),
            ("web3", "no check", &a4),
            ("s1", NO, "-"),
            ("s2", NO, "-"),
        ],
        "a new A record",
    );
    // SRV records give the ports (and, in the additional records, the
    // addresses).
    dns.set_srv(
        "_http._tcp.svc.test",
        &[(0, 10, 9001, "h1.test"), (0, 20, 9002, "h2.test")],
    );
    let webs = [
        ("web1", "no check", a2.as_str()),
        ("web2", "no check", a5.as_str()),
        ("web3", "no check", a4.as_str()),
    ];
    let with = |s: &[(&'static str, &'static str, &'static str)]| {
        let mut v: Vec<(&str, &str, &str)> = webs.to_vec();
        v.extend_from_slice(s);
        v
    };
    both_show(
        ports,
        &with(&[
            ("s1", "no check", "127.0.0.7:9001"),
            ("s2", "no check", "127.0.0.8:9002"),
        ]),
        "two SRV records",
    );
    dns.set_srv("_http._tcp.svc.test", &[(0, 10, 9001, "h1.test")]);
    both_show(
        ports,
        &with(&[("s1", "no check", "127.0.0.7:9001"), ("s2", NO, "-")]),
        "one SRV record",
    );
    let ours = servers_state(st);
    assert_eq!(ours, servers_state(hst), "show servers state differs");
    assert!(
        ours[4].contains(" - 0 96 ") && ours[4].ends_with("_http._tcp.svc.test 0 0 - - 0"),
        "{ours:#?}"
    );
    assert!(
        ours[3].contains(" h1.test 9001 _http._tcp.svc.test "),
        "{ours:#?}"
    );
    // The name is gone: after `hold nx`, its servers go to maintenance.
    dns.remove("app.test");
    both_show(
        ports,
        &[
            ("web1", NO, "-"),
            ("web2", NO, "-"),
            ("web3", NO, "-"),
            ("s1", "no check", "127.0.0.7:9001"),
            ("s2", NO, "-"),
        ],
        "NXDOMAIN",
    );
    let ours = dns_lines(&f.log.lock().expect("log"));
    let theirs = dns_lines(&h.log_lines());
    assert_eq!(ours, theirs, "the DNS events differ from HAProxy's");
    assert!(ours.len() >= 15, "{ours:#?}");
    drop(h);
    let _ = std::fs::remove_file(socket_path(hst));
}

#[test]
fn a_reload_keeps_the_addresses_dns_gave() {
    let dns = DnsServer::start();
    dns.set_addrs("app.test", &[ip("127.0.0.2"), ip("127.0.0.3")]);
    let (fe, st, port) = (free_port(), free_port(), free_port());
    let cfg = config(dns.addr, fe, st, port).replace("web 3", "web 2");
    let f = Fulcrum::start(&cfg);
    let deadline = Instant::now() + Duration::from_secs(15);
    let want = |r: &[(String, String, String)]| {
        r.len() == 4
            && r[0].2 == format!("127.0.0.2:{port}")
            && r[1].2 == format!("127.0.0.3:{port}")
    };
    while !want(&rows(st)) {
        assert!(Instant::now() < deadline, "{:?}", rows(st));
        thread::sleep(Duration::from_millis(50));
    }
    let before = f.count("changed its IP");
    // The name server stops answering: the addresses must come from the
    // carried-over state, not a new resolution.
    drop(dns);
    assert!(f.reload(&cfg));
    assert!(want(&rows(st)), "{:?}", rows(st));
    assert_eq!(f.count("changed its IP"), before);
}

fn cfg_file(body: &str) -> TempPath {
    TempPath::file("dns", body)
}

#[test]
fn resolvers_lines_are_checked_at_their_line() {
    let f = cfg_file(
        "resolvers dns
    nameserver ns1 127.0.0.1:53
    hold later 1s
    nameserver ns2 quic@127.0.0.1
backend be
    server s4 app.invalid:80 init-addr maybe
    server-template t 0 app.invalid:80 init-addr none
    server-template t 3-1 app.invalid:80 init-addr none
",
    );
    let run = check(&[f.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let name = f.name();
    let at = |l| errors_at(&run.stderr, &name, l);
    assert!(at(3)[0].contains("unknown status"), "{}", run.stderr);
    assert!(at(4)[0].contains("not supported"), "{}", run.stderr);
    assert!(
        at(6)[0].contains("unknown method 'maybe'"),
        "{}",
        run.stderr
    );
    assert!(
        at(7)[0].contains("invalid number of servers '0'"),
        "{}",
        run.stderr
    );
    assert!(at(8)[0].contains("invalid range '3-1'"), "{}", run.stderr);
}

#[test]
fn servers_and_their_resolvers_are_checked_together() {
    let f = cfg_file(
        "resolvers dns
    nameserver ns1 127.0.0.1:53
resolvers empty
    timeout retry 1s
backend be
    server s1 app.invalid:80 resolvers nope init-addr none
    server s2 app.invalid:80 init-addr last
    server s3 app.invalid:80 resolvers dns
    server s5 _http._tcp.app.invalid init-addr none
    server s6 app.invalid:80 init-addr last,192.0.2.1
",
    );
    let run = check(&[f.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let name = f.name();
    let at = |l| errors_at(&run.stderr, &name, l);
    assert!(
        at(6)[0].contains("unable to find required resolvers 'nope'"),
        "{}",
        run.stderr
    );
    assert!(
        at(7)[0].contains("no method found to resolve address 'app.invalid'"),
        "{}",
        run.stderr
    );
    // With resolvers, a name that does not resolve yet starts in
    // maintenance (HAProxy's "disabling server"), not as an error.
    assert!(at(8).is_empty(), "{}", run.stderr);
    assert!(
        warnings_at(&run.stderr, &name, 8)[0].contains("disabling server"),
        "{}",
        run.stderr
    );
    assert!(
        warnings_at(&run.stderr, &name, 3)[0].contains("no nameservers"),
        "{}",
        run.stderr
    );
    assert!(at(9)[0].contains("SRV label"), "{}", run.stderr);
    assert!(at(10).is_empty(), "{}", run.stderr);
}

#[test]
fn resolvers_default_is_made_from_resolv_conf_when_asked_for() {
    let f = cfg_file(
        "backend be
    timeout connect 1s
    timeout server 1s
    server-template web 4 app.invalid:80 resolvers default init-addr none
",
    );
    let run = check(&[f.path()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr); // valid, no listener
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["convert", "--to", "cfg"])
        .arg(f.path())
        .output()
        .expect("convert");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("resolvers default\n    parse-resolv-conf\n"),
        "{text}"
    );
    assert!(
        text.contains("server-template web 4 app.invalid:80 resolvers default init-addr none"),
        "{text}"
    );
}
