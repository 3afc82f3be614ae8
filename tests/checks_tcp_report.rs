//! `tcp-check expect` reporting options: `comment`, `ok-status`,
//! `error-status`, `tout-status`, `on-success`, `on-error` and
//! `status-code int(N)`, and a `tcp-check comment` before an expect. The
//! report lines are compared with Debian's HAProxy 2.6 checking the same
//! servers.

mod common;

use common::haproxy::log_receiver as udp;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::thread;
use std::time::Duration;

use common::haproxy::{first_lines, Haproxy};
use common::net::{free_port, Fulcrum};

/// A server that reads the PING and answers +PONG; it closes after it
/// when `close`, else it keeps the connection open (an expect for more
/// then waits until its timeout).
fn pong(close: bool) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            thread::spawn(move || {
                let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                let mut buf = [0u8; 64];
                let _ = c.read(&mut buf);
                let _ = c.write_all(b"+PONG\r\n");
                if !close {
                    let _ = c.read(&mut buf);
                }
            });
        }
    });
    port
}

fn config(log: u16, closing: u16, open: u16) -> String {
    let backend = |name: &str, expect: &str, port: u16| {
        format!(
            "backend {name}\n    option tcp-check\n    tcp-check send PING\\r\\n\n{expect}    server s 127.0.0.1:{port} check inter 200ms fall 1 rise 1\n"
        )
    };
    let mut c = format!(
        "global\n    log 127.0.0.1:{log} local0\ndefaults\n    log global\n    mode tcp\n    option log-health-checks\n    timeout connect 300ms\n    timeout client 5s\n    timeout server 5s\n    timeout check 300ms\nlisten front\n    bind 127.0.0.1:{}\n    server x 127.0.0.1:{closing}\n",
        free_port()
    );
    for (name, expect, port) in [
        ("comment", "    tcp-check expect comment mycomment string +PANG\n", closing),
        ("onerror", "    tcp-check expect error-status L7STS on-error oops status-code int(42) string +PANG\n", closing),
        ("onsuccess", "    tcp-check expect ok-status L6OK on-success fine string +PONG\n", closing),
        ("statuscode", "    tcp-check expect status-code int(7) on-success fine string +PONG\n", closing),
        ("late", "    tcp-check expect tout-status L4TOUT comment slow string +PONGX\n", open),
        ("before", "    tcp-check comment named\n    tcp-check expect on-error late string +PONGX\n", closing),
    ] {
        c.push_str(&backend(name, expect, port));
    }
    c
}

const SERVERS: [&str; 6] = [
    "comment/s",
    "onerror/s",
    "onsuccess/s",
    "statuscode/s",
    "late/s",
    "before/s",
];

#[test]
fn expect_report_options_match_haproxy() {
    let (closing, open) = (pong(true), pong(false));
    let (hs, fs) = (udp(), udp());
    let port = |s: &UdpSocket| s.local_addr().expect("addr").port();
    let _h = Haproxy::start(&config(port(&hs), closing, open), &[]);
    let _f = Fulcrum::start(&config(port(&fs), closing, open));
    let ours = first_lines(&fs, &SERVERS);
    assert_eq!(ours, first_lines(&hs, &SERVERS));
    let line = |who: &str| {
        ours.iter()
            .find(|(s, _)| s == who)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    assert!(
        line("onerror/s").contains("Layer7 wrong status, code: 42, info: \"oops\""),
        "{ours:#?}"
    );
    assert!(
        line("onsuccess/s").contains("Layer6 check passed, info: \"fine\""),
        "{ours:#?}"
    );
    assert!(
        line("comment/s").contains("at step 2 comment: mycomment\""),
        "{ours:#?}"
    );
}

#[test]
fn bad_report_options_are_refused_at_their_line() {
    let f = common::TempPath::file(
        "expectopts",
        "backend be
    option tcp-check
    tcp-check expect ok-status L7STS string x
    tcp-check expect status-code res.len string x
    tcp-check expect on-error %[res.payload(0,4)] string x
",
    );
    let run = common::check(&[f.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let name = f.name();
    let at = |l| common::errors_at(&run.stderr, &name, l);
    assert!(
        at(3)[0].contains("'L7STS' is not one of L7OK, L7OKC, L6OK, L4OK"),
        "{}",
        run.stderr
    );
    assert!(
        at(4)[0].contains("only 'int(N)' is supported"),
        "{}",
        run.stderr
    );
    assert!(at(5)[0].contains("log-format variables"), "{}", run.stderr);
}
