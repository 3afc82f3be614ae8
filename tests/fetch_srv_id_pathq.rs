//! The `srv_id` and `pathq` sample fetches, end to end: a response header
//! names the server's number in its backend, a request header carries the
//! path with its query string (an absolute URI's scheme and authority
//! dropped), as HAProxy's do.

mod common;

use common::net::{free_port, request, Fulcrum, HttpBackend};

#[test]
fn srv_id_and_pathq_as_haproxy_gives_them() {
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    http-request set-header x-pathq %[pathq]\n    http-response set-header x-srv-id %[srv_id]\n    default_backend be\nbackend be\n    balance url_param pick\n    server first 127.0.0.1:1 disabled\n    server second {}\n    server third {} disabled\n",
        a.addr, b.addr
    ));
    let r = request(
        port,
        "GET http://example.com/p/q?x=1&pick=2 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.head.to_ascii_lowercase().contains("x-srv-id: 2\r\n"),
        "{}",
        r.head
    );
    let seen = a.requests();
    assert!(
        seen[0]
            .head
            .to_ascii_lowercase()
            .contains("x-pathq: /p/q?x=1&pick=2\r\n"),
        "{}",
        seen[0].head
    );
}
