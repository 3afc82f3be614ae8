//! `bind fd@N` and `stats socket fd@N`: listening sockets inherited from
//! the process that starts fulcrum (as VTest hands them to HAProxy). The
//! test opens them, lets the child inherit them, and talks through them;
//! a connection queued before fulcrum was ready is served too.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::net::{Fulcrum, HttpBackend};

/// A listening socket the child process will inherit under the same
/// descriptor number.
fn inheritable() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    socket2::SockRef::from(&l)
        .set_cloexec(false)
        .expect("clear FD_CLOEXEC");
    l
}

#[test]
fn inherited_listeners_serve_traffic_and_the_runtime_api() {
    let backend = HttpBackend::start("through fd");
    let (front, cli) = (inheritable(), inheritable());
    let (front_addr, cli_addr) = (
        front.local_addr().expect("addr"),
        cli.local_addr().expect("addr"),
    );
    // Queued before fulcrum runs: it must be accepted once it does.
    let mut early = TcpStream::connect(front_addr).expect("early connect");
    early
        .write_all(b"GET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let _f = Fulcrum::start(&format!(
        "global\n    stats socket fd@{} level admin\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind fd@{}\n    default_backend be\nbackend be\n    server s {}\n",
        cli.as_raw_fd(),
        front.as_raw_fd(),
        backend.addr
    ));
    early
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = early.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("through fd"), "{answer}");
    let r = common::net::get(front_addr.port(), "/later");
    assert_eq!(r.text(), "through fd");
    let mut s = TcpStream::connect(cli_addr).expect("cli");
    s.write_all(b"show info\n").expect("write");
    let mut info = String::new();
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = s.read_to_string(&mut info);
    assert!(info.contains("Name: "), "{info}");
}

#[test]
fn a_descriptor_that_is_not_a_listening_socket_is_refused() {
    let f = common::net::Fulcrum::try_start(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind fd@987\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n",
    );
    let log = f.err().expect("fulcrum must not start");
    assert!(log.contains("fd@987"), "{log}");
}
