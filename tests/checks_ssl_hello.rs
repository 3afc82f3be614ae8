//! `option ssl-hello-chk` against a real TLS server (`openssl s_server`):
//! OpenSSL answers HAProxy's SSLv3 hello (with an alert or a handshake),
//! which passes; the server stopped is DOWN, started again UP. The lines
//! are compared with Debian's HAProxy 2.6 checking the same server.

mod common;

use std::time::{Duration, Instant};

use common::haproxy::{mask_check_duration, Haproxy};
use common::net::{free_port, Fulcrum};
use common::openssl::tls_server;

fn config(fe: u16, port: u16) -> String {
    format!(
        "defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen tls
    bind 127.0.0.1:{fe}
    option ssl-hello-chk
    server s 127.0.0.1:{port} check inter 100ms fall 1 rise 1
"
    )
}

/// The state lines about tls/s, durations masked.
fn lines(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|l| {
            l.find("Server tls/s ")
                .map(|i| mask_check_duration(&l[i..]))
        })
        .collect()
}

#[test]
fn ssl_hello_chk_against_openssl_goes_down_and_up_as_in_haproxy() {
    let mut tls = tls_server();
    let (ffe, hfe) = (free_port(), free_port());
    let f = Fulcrum::start(&config(ffe, tls.port));
    let h = Haproxy::start(&config(hfe, tls.port), &[hfe]);
    // Up from the start (a passing check logs nothing): stop, then start.
    std::thread::sleep(Duration::from_millis(500));
    assert!(lines(&f.log.lock().expect("log")).is_empty());
    tls.stop();
    let wait = |n: usize, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (a, b) = (lines(&f.log.lock().expect("log")), lines(&h.log_lines()));
            if a.len() >= n && b.len() >= n {
                return (a, b);
            }
            assert!(
                Instant::now() < deadline,
                "{what}: fulcrum {a:#?} haproxy {b:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait(1, "DOWN");
    tls.start();
    let (ours, theirs) = wait(2, "UP again");
    // Why it went DOWN depends on where each checker was when the server
    // died; the rest must match.
    let masked = |v: &[String]| {
        v.iter()
            .map(|l| common::haproxy::mask_down_reason(l))
            .collect::<Vec<_>>()
    };
    assert_eq!(masked(&ours), masked(&theirs));
    // Refused between checks, reset during one, or (killed after it
    // accepted the check's connection) closed with no answer.
    assert!(
        ours[0].starts_with("Server tls/s is DOWN, reason: Layer4 connection problem")
            || ours[0].starts_with("Server tls/s is DOWN, reason: Socket error")
            || ours[0].starts_with(
                "Server tls/s is DOWN, reason: Layer6 invalid response, info: \"TCPCHK got an empty response"
            ),
        "{ours:#?}"
    );
    assert!(
        ours[1].starts_with("Server tls/s is UP, reason: Layer6 check passed"),
        "{ours:#?}"
    );
}
