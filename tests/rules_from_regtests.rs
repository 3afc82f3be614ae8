//! Rules that HAProxy's own reg-tests exercise, end to end: the `srv_id`
//! and `pathq` fetches (sample_fetches/srv_name, http-rules/path_and_pathq)
//! and `del-header -m` (http-rules/del_header).

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

/// `del-header NAME -m str|beg|end|sub|reg` removes the fields whose
/// names match, on both sides (HAProxy's reg-test http-rules/del_header).
#[test]
fn del_header_with_match_methods() {
    let backend = HttpBackend::start("ok");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    http-request del-header x-str -m str\n    http-request del-header x-beg -m beg\n    http-request del-header -end -m end\n    http-request del-header mid -m sub\n    http-request del-header ^x-r.g$ -m reg\n    default_backend be\nbackend be\n    server s {}\n",
        backend.addr
    ));
    let r = request(
        port,
        "GET / HTTP/1.1\r\nHost: x\r\nX-Str: 1\r\nX-Str-Kept: 1\r\nX-Beg-A: 1\r\nA-End: 1\r\nA-Mid-B: 1\r\nX-Reg: 1\r\nX-Regs: 1\r\nConnection: close\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.status, 200);
    let head = backend.requests()[0].head.to_ascii_lowercase();
    for gone in ["x-str:", "x-beg-a:", "a-end:", "a-mid-b:", "x-reg:"] {
        assert!(!head.contains(gone), "{gone} still in:\n{head}");
    }
    for kept in ["x-str-kept:", "x-regs:"] {
        assert!(head.contains(kept), "{kept} removed from:\n{head}");
    }
}
