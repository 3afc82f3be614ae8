//! Rules end to end: ACL conditions route, deny, rewrite and answer, seen
//! from a client (curl-level requests) and from recording backends.

mod common;

use common::net::{free_port, get, Fulcrum, HttpBackend};

/// The bug that opened issue 12: an anonymous `path_beg` condition in
/// `use_backend` must see the request's path.
#[test]
fn use_backend_routes_by_path_beg() {
    let api = HttpBackend::start("api");
    let web = HttpBackend::start("web");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    use_backend api if {{ path_beg /api }}
    default_backend web
backend api
    server a {}
backend web
    server w {}
",
        api.addr, web.addr
    ));
    assert_eq!(get(port, "/api/x").text(), "api");
    assert_eq!(get(port, "/x").text(), "web");
    assert_eq!(get(port, "/api?q=1").text(), "api");
    assert_eq!(get(port, "/ap").text(), "web");
    assert_eq!(api.requests().len(), 2);
    assert_eq!(web.requests().len(), 2);
    assert!(api.requests()[0]
        .head
        .starts_with("GET /api/x HTTP/1.1\r\n"));
}

fn monitor_config(port: u16, backend: &HttpBackend, server_params: &str) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    monitor-uri /health
    monitor fail if {{ nbsrv(be) lt 1 }}
    default_backend be
backend be
    server s1 {} {server_params}
",
        backend.addr
    )
}

/// `monitor-uri` is answered by the proxy (never forwarded): 200 while the
/// backend has a usable server, 503 when `monitor fail` holds. The path
/// matches with a query string too, as in HAProxy.
#[test]
fn monitor_uri_reports_health_and_monitor_fail() {
    let b = HttpBackend::start("app");
    let port = free_port();
    let _f = Fulcrum::start(&monitor_config(port, &b, ""));
    let r = get(port, "/health?probe=1");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Service ready."), "{}", r.text());
    assert_eq!(get(port, "/other").text(), "app");
    assert_eq!(b.requests().len(), 1, "the monitor request was forwarded");

    let port = free_port();
    let _g = Fulcrum::start(&monitor_config(port, &b, "disabled"));
    assert_eq!(get(port, "/health").status, 503);
}

/// `http-response redirect` replaces a server's 404 with a redirect built
/// on the request; `http-after-response` rules also reach the proxy's own
/// error pages (here a 503 with no server), as HAProxy's do.
#[test]
fn response_redirect_and_after_response_on_error_pages() {
    let b = HttpBackend::with(common::net::Answer::Status(404, "nope".into()));
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    http-after-response set-header X-Served-By fulcrum-test
    use_backend empty if {{ path_beg /empty }}
    default_backend be
backend be
    http-response redirect prefix /moved code 301 if {{ status 404 }}
    server s1 {}
backend empty
    server s1 {} disabled
",
        b.addr, b.addr
    ));
    let r = get(port, "/old/page?x=1");
    assert_eq!(r.status, 301, "{}", r.head);
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("location: /moved/old/page?x=1\r\n"), "{head}");
    assert!(head.contains("x-served-by: fulcrum-test\r\n"), "{head}");
    let r = get(port, "/empty");
    assert_eq!(r.status, 503);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("x-served-by: fulcrum-test\r\n"),
        "{}",
        r.head
    );
}

/// `force-persist` sends a client whose cookie names a server in
/// maintenance to it anyway (an operator testing a drained server);
/// `ignore-persist` makes the cookie count for nothing.
#[test]
fn force_persist_and_ignore_persist() {
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:{port}
    cookie SRV insert indirect nocache
    force-persist if {{ req.hdr(x-force) -m found }}
    ignore-persist if {{ path_beg /static }}
    server a {} cookie ca
    server b {} cookie cb disabled
",
        a.addr, b.addr
    );
    let _f = Fulcrum::start(&cfg);
    let ask = |path: &str, extra: &str| {
        common::net::request(
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\nCookie: SRV=cb\r\n{extra}Connection: close\r\n\r\n"),
        )
        .expect("response")
        .text()
    };
    // b is in maintenance: its cookie is not honoured...
    assert_eq!(ask("/", ""), "a");
    // ...unless force-persist holds.
    assert_eq!(ask("/", "X-Force: 1\r\n"), "b");
    // ignore-persist: the cookie is not even looked at, force or not.
    assert_eq!(ask("/static/x", "X-Force: 1\r\n"), "a");
}

/// `http-errors` sections used through `errorfiles`, and `http-error`
/// answers: a deny answers with the 403 described inline, a missing
/// server with the section's 503 file.
#[test]
fn http_errors_sections_and_http_error() {
    let dir = common::TempPath::dir("http-errors");
    let page = dir.path().join("503.http");
    std::fs::write(
        &page,
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nbusy now\n",
    )
    .unwrap();
    let b = HttpBackend::start("app");
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
http-errors site
    errorfile 503 {}
frontend fe
    bind 127.0.0.1:{port}
    errorfiles site
    http-error status 403 content-type text/plain string \"go away\" hdr X-Why rules
    http-request deny if {{ path_beg /private }}
    use_backend empty if {{ path_beg /empty }}
    default_backend be
backend be
    server s1 {}
backend empty
    server s1 {} disabled
",
        page.display(),
        b.addr,
        b.addr
    );
    let _f = Fulcrum::start(&cfg);
    let r = get(port, "/private/x");
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "go away");
    assert!(
        r.head.to_ascii_lowercase().contains("x-why: rules\r\n"),
        "{}",
        r.head
    );
    let r = get(port, "/empty");
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "busy now\n");
    assert_eq!(get(port, "/ok").text(), "app");
}

/// The `hostname` fetch is the machine's name (mod_proxy's
/// X-Forwarded-Server when httpd has no ServerName, in the Apache
/// conversion).
#[test]
fn hostname_fetch_is_the_machines_name() {
    let web = HttpBackend::start("web");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen fe
    bind 127.0.0.1:{port}
    http-request add-header X-Forwarded-Server %[hostname]
    server w {}
",
        web.addr
    ));
    assert_eq!(get(port, "/").status, 200);
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let head = &web.requests()[0].head;
    assert!(
        head.contains(&format!("X-Forwarded-Server: {}\r\n", name.trim())),
        "{head}"
    );
}
