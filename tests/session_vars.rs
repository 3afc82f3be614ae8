//! `sess.*` variables live as long as the client connection, across its
//! requests; `http_first_req` says which request is its first. Side by
//! side with Debian's HAProxy on the same configuration.

mod common;

use std::io::Write;

use common::haproxy::Haproxy;
use common::net::{connect, free_port, read_response, Fulcrum};

fn config(port: u16) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    http-request set-var(sess.user) req.hdr(x-user) if {{ req.hdr(x-user) -m found }}\n    http-request unset-var(sess.user) if {{ path /logout }}\n    http-request set-var(txn.once) str(yes)\n    http-request return status 200 hdr x-user \"%[var(sess.user)]\" hdr x-first \"%[http_first_req]\" hdr x-once \"%[var(txn.once)]\"\n"
    )
}

fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "-".into())
}

/// (x-user, x-first, x-once) of each request, on two connections.
fn run(port: u16) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut c = connect(port);
    let mut pending = Vec::new();
    for req in [
        "GET / HTTP/1.1\r\nHost: t\r\nx-user: alice\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /logout HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        c.write_all(req.as_bytes()).expect("write");
        let r = read_response(&mut c, &mut pending).expect("response");
        out.push((
            header(&r.head, "x-user"),
            header(&r.head, "x-first"),
            header(&r.head, "x-once"),
        ));
    }
    let mut other = connect(port);
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let r = read_response(&mut other, &mut Vec::new()).expect("response");
    out.push((
        header(&r.head, "x-user"),
        header(&r.head, "x-first"),
        header(&r.head, "x-once"),
    ));
    out
}

#[test]
fn session_variables_last_as_long_as_the_connection() {
    let (fport, hport) = (free_port(), free_port());
    let _f = Fulcrum::start(&config(fport));
    let _h = Haproxy::start(&config(hport), &[hport]);
    let ours = run(fport);
    assert_eq!(ours, run(hport));
    let user: Vec<&str> = ours.iter().map(|(u, _, _)| u.as_str()).collect();
    assert_eq!(user, ["alice", "alice", "-", "-", "-"]);
    let first: Vec<&str> = ours.iter().map(|(_, f, _)| f.as_str()).collect();
    assert_eq!(first, ["1", "0", "0", "0", "1"]);
}

/// A `set-var` whose sample cannot be fetched leaves the variable as it
/// was, as in HAProxy.
#[test]
fn a_failed_fetch_leaves_the_variable_unchanged() {
    let cfg = |port: u16| {
        format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    http-request set-var(txn.x) str(first)\n    http-request set-var(txn.x) req.hdr(nothere)\n    http-request return status 200 hdr x \"[%[var(txn.x)]]\"\n"
        )
    };
    let (fport, hport) = (free_port(), free_port());
    let _f = Fulcrum::start(&cfg(fport));
    let _h = Haproxy::start(&cfg(hport), &[hport]);
    let get = |port| {
        let mut c = connect(port);
        c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        header(
            &read_response(&mut c, &mut Vec::new()).expect("r").head,
            "x",
        )
    };
    assert_eq!(get(fport), "[first]");
    assert_eq!(get(hport), "[first]");
}
