//! The PROXY protocol: `send-proxy` towards servers, `accept-proxy` from a
//! balancer in front of us (v1 and v2).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use common::net::{connect, free_port, read_response, Fulcrum, HttpBackend};

#[test]
fn send_proxy_tells_the_server_who_the_client_is() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let got = std::thread::spawn(move || {
        let (s, _) = l.accept().expect("accept");
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).expect("header");
        let mut rest = [0u8; 5];
        r.read_exact(&mut rest).expect("data");
        (line, rest)
    });
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten raw\n    bind 127.0.0.1:{port}\n    server s {addr} send-proxy\n"
    ));
    let mut c = connect(port);
    let me = c.local_addr().expect("local");
    c.write_all(b"hello").expect("write");
    let (line, rest) = got.join().expect("server");
    assert_eq!(
        line,
        format!("PROXY TCP4 127.0.0.1 127.0.0.1 {} {port}\r\n", me.port())
    );
    assert_eq!(&rest, b"hello");
}

fn accept_proxy_config(port: u16, b: &HttpBackend) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port} accept-proxy\n    option forwardfor\n    server s {}\n",
        b.addr
    )
}

#[test]
fn accept_proxy_v1_and_v2_give_the_real_client() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&accept_proxy_config(port, &b));
    let mut c = connect(port);
    c.write_all(b"PROXY TCP4 10.9.8.7 10.0.0.1 1234 80\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("write");
    assert_eq!(
        read_response(&mut c, &mut Vec::new())
            .expect("response")
            .status,
        200
    );
    assert!(
        b.requests()[0]
            .head
            .contains("X-Forwarded-For: 10.9.8.7\r\n"),
        "{}",
        b.requests()[0].head
    );

    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend_from_slice(&[
        0x21, 0x11, 0, 12, 192, 0, 2, 33, 10, 0, 0, 1, 0x13, 0x88, 0, 80,
    ]);
    v2.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut c = connect(port);
    c.write_all(&v2).expect("write");
    assert_eq!(
        read_response(&mut c, &mut Vec::new())
            .expect("response")
            .status,
        200
    );
    assert!(
        b.requests()[1]
            .head
            .contains("X-Forwarded-For: 192.0.2.33\r\n"),
        "{}",
        b.requests()[1].head
    );
}

#[test]
fn accept_proxy_refuses_a_connection_without_the_header() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let _f = Fulcrum::start(&accept_proxy_config(port, &b));
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(out.is_empty());
    assert!(b.requests().is_empty());
}

/// `send-proxy-v2`: the binary header, then the client's bytes.
#[test]
fn send_proxy_v2_sends_the_binary_header() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let got = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut h = [0u8; 16 + 12 + 5];
        s.read_exact(&mut h).expect("header and data");
        h
    });
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten raw\n    bind 127.0.0.1:{port}\n    server s {addr} send-proxy-v2\n"
    ));
    let mut c = connect(port);
    let me = c.local_addr().expect("local");
    c.write_all(b"hello").expect("write");
    let h = got.join().expect("server");
    assert_eq!(&h[..12], b"\r\n\r\n\0\r\nQUIT\n");
    assert_eq!(h[12], 0x21, "version 2, PROXY");
    assert_eq!(h[13], 0x11, "TCP over IPv4");
    assert_eq!(&h[14..16], &12u16.to_be_bytes());
    assert_eq!(&h[16..20], &[127, 0, 0, 1]);
    assert_eq!(&h[20..24], &[127, 0, 0, 1]);
    assert_eq!(&h[24..26], &me.port().to_be_bytes());
    assert_eq!(&h[26..28], &port.to_be_bytes());
    assert_eq!(&h[28..], b"hello");
}
