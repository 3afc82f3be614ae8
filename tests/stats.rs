//! The stats page end to end: credentials, the CSV that HAProxy tools read,
//! and server state changes showing up on it.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::net::{free_port, request, Fulcrum, HttpBackend};

fn config(port: u16, a: &HttpBackend, b: &HttpBackend) -> String {
    common::net::stats_pair_config(port, a, b)
}

fn basic(cred: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(cred)
    )
}

fn get_with(port: u16, path: &str, auth: Option<&str>) -> common::net::Response {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    request(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\n{auth}Connection: close\r\n\r\n"),
    )
    .expect("a response")
}

#[test]
fn bad_credentials_get_401_and_not_a_byte_of_the_page() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    let nul = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(b"admin:s3cret\0")
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("wrong password", Some(basic("admin:wrong"))),
        ("wrong user", Some(basic("root:s3cret"))),
        ("password prefix", Some(basic("admin:s3cre"))),
        ("password with NUL", Some(nul)),
        ("malformed base64", Some("Basic %%%not base64%%%".into())),
        (
            "bearer token",
            Some(format!(
                "Bearer {}",
                base64::engine::general_purpose::STANDARD.encode("admin:s3cret")
            )),
        ),
        ("empty basic", Some("Basic ".into())),
        ("other user's password", Some(basic("ops:s3cret"))),
    ];
    for (name, auth) in cases {
        let r = get_with(port, "/pstats", auth.as_deref());
        assert_eq!(r.status, 401, "{name}");
        assert!(
            r.head
                .contains("www-authenticate: Basic realm=\"Haproxy Statistics\""),
            "{name}: {}",
            r.head
        );
        assert!(!r.text().contains("gvg-as1"), "{name}: the page leaked");
    }
    // Too large for the request buffer: refused before any check, as HAProxy does.
    let huge = format!("Basic {}", "A".repeat(20000));
    let r = get_with(port, "/pstats", Some(&huge));
    assert!(matches!(r.status, 400 | 431), "{}", r.status);
    assert!(!r.text().contains("gvg-as1"));
}

#[test]
fn good_credentials_get_the_page_csv_and_json() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    for cred in ["admin:s3cret", "ops:other"] {
        let r = get_with(port, "/pstats", Some(&basic(cred)));
        assert_eq!(r.status, 200);
        assert!(r.text().contains("data-server=\"gvg-as1\""), "{}", r.text());
    }
    let csv = get_with(port, "/pstats;csv", Some(&basic("admin:s3cret")));
    assert_eq!(csv.status, 200);
    let text = csv.text();
    let header = text.lines().next().unwrap_or("");
    assert!(header.starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,"), "{header}");
    let names: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join("/"))
        .collect();
    assert_eq!(
        names,
        [
            "gvg-as/FRONTEND",
            "gvg-as/gvg-as1",
            "gvg-as/gvg-as2",
            "gvg-as/BACKEND"
        ]
    );
    // Every line has as many fields as the header.
    let n = header.split(',').count();
    assert!(text.lines().all(|l| l.split(',').count() == n));
    let json = get_with(port, "/pstats;json", Some(&basic("admin:s3cret")));
    assert!(
        json.text().starts_with("[{\"pxname\":\"gvg-as\""),
        "{}",
        json.text()
    );
    // Requests not for the page still go to the servers, and are counted.
    assert_eq!(get_with(port, "/app", None).text(), "as1");
    assert_eq!(csv_field(port, "gvg-as1", "hrsp_2xx"), "1");
}

fn csv_status(port: u16, server: &str) -> String {
    csv_field(port, server, "status")
}

fn csv_field(port: u16, server: &str, column: &str) -> String {
    let csv = get_with(port, "/pstats;csv", Some(&basic("admin:s3cret"))).text();
    let header: Vec<&str> = csv
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = header.iter().position(|c| *c == column).expect("column");
    csv.lines()
        .find(|l| l.split(',').nth(1) == Some(server))
        .and_then(|l| l.split(',').nth(col).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn a_killed_server_turns_down_on_the_page_within_its_checks() {
    let (mut a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    let deadline = Instant::now() + Duration::from_secs(10);
    // Wait for a passed check, so that the server is fully UP (a server
    // that was never checked goes DOWN at its first failure).
    while csv_status(port, "gvg-as1") != "UP"
        || csv_field(port, "gvg-as1", "check_status") != "L7OK"
    {
        assert!(
            Instant::now() < deadline,
            "never checked UP: {}",
            csv_status(port, "gvg-as1")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    a.kill();
    let killed = Instant::now();
    while csv_status(port, "gvg-as1") != "DOWN" {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "still {}",
            csv_status(port, "gvg-as1")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // fall 3 at 200 ms: DOWN after three failed checks, not at the first.
    assert!(
        killed.elapsed() >= Duration::from_millis(350),
        "{:?}",
        killed.elapsed()
    );
    assert_eq!(csv_field(port, "gvg-as1", "check_status"), "L4CON");
    let page = get_with(port, "/pstats", Some(&basic("admin:s3cret"))).text();
    assert!(
        page.contains("data-server=\"gvg-as1\" data-status=\"DOWN\""),
        "{page}"
    );
}

fn post(port: u16, body: &str) -> common::net::Response {
    request(
        port,
        &format!(
            "POST /pstats HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            basic("admin:s3cret"),
            body.len()
        ),
    )
    .expect("a response")
}

#[test]
fn stats_admin_puts_servers_in_maint_and_back() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let cfg = config(port, &a, &b).replace(
        "    stats auth ops:other\n",
        "    stats auth ops:other\n    stats admin if TRUE\n",
    );
    let _f = Fulcrum::start(&cfg);
    let page = get_with(port, "/pstats", Some(&basic("admin:s3cret"))).text();
    assert!(
        page.contains("<select name=\"action\">"),
        "the admin form is shown"
    );
    let r = post(port, "s=gvg-as1&action=maint&b=gvg-as");
    assert_eq!(r.status, 303);
    assert!(r.head.contains("location: /pstats;st=DONE"), "{}", r.head);
    assert_eq!(csv_status(port, "gvg-as1"), "MAINT");
    // At once: new traffic goes to the backup.
    assert_eq!(get_with(port, "/", None).text(), "as2");
    let r = post(port, "s=gvg-as1&action=ready&b=gvg-as");
    assert!(r.head.contains("st=DONE"), "{}", r.head);
    assert_eq!(get_with(port, "/", None).text(), "as1");
    let r = post(port, "s=nosuch&action=drain&b=gvg-as");
    assert!(!r.head.contains("st=DONE"), "{}", r.head);
    let page = get_with(port, "/pstats;st=DONE", Some(&basic("admin:s3cret"))).text();
    assert!(page.contains("Action processed successfully."));
}

#[test]
fn without_stats_admin_there_is_no_form_and_posts_are_refused() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    let page = get_with(port, "/pstats", Some(&basic("admin:s3cret"))).text();
    assert!(!page.contains("<form"), "no admin form");
    let r = post(port, "s=gvg-as1&action=maint&b=gvg-as");
    assert!(r.head.contains("st=DENY"), "{}", r.head);
    assert_ne!(csv_status(port, "gvg-as1"), "MAINT");
    assert_eq!(get_with(port, "/", None).text(), "as1");
}

#[test]
fn the_page_shows_response_time_percentiles() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    for _ in 0..20 {
        assert_eq!(get_with(port, "/x", None).status, 200);
    }
    let json = get_with(port, "/pstats;json", Some(&basic("admin:s3cret"))).text();
    let row = json
        .split("},{")
        .find(|r| r.contains("\"svname\":\"gvg-as1\""))
        .expect("gvg-as1 row");
    for key in [
        "resp_time_p50_us",
        "resp_time_p90_us",
        "resp_time_p99_us",
        "resp_time_max_us",
    ] {
        assert!(row.contains(key), "{key} missing in {row}");
    }
    let page = get_with(port, "/pstats", Some(&basic("admin:s3cret"))).text();
    assert!(page.contains("<th>Resp. p50 ms</th>"));
}

#[test]
fn prometheus_exporter_as_haproxy_wires_it() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let cfg = config(port, &a, &b).replace(
        "    stats enable\n",
        "    stats enable\n    http-request use-service prometheus-exporter if { path /metrics }\n",
    );
    let _f = Fulcrum::start(&cfg);
    let r = get_with(port, "/metrics", None);
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.contains("# TYPE haproxy_server_status gauge"),
        "{text}"
    );
    assert!(
        text.contains("haproxy_server_status{proxy=\"gvg-as\",server=\"gvg-as1\",state=\"UP\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("haproxy_frontend_sessions_total{proxy=\"gvg-as\"}"),
        "{text}"
    );
    // Other paths still reach the servers.
    assert_eq!(get_with(port, "/metrics/x", None).text(), "as1");
}

/// `stats show-node` and `stats show-desc` put the node's name and a
/// description on the page (an operator with several balancers tells them
/// apart).
#[test]
fn show_node_and_desc_name_the_balancer() {
    let b = HttpBackend::start("as1");
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:{port}
    stats enable
    stats uri /st
    stats show-node lb-east-1
    stats show-desc Primary balancer for the east site
    server s1 {}
",
        b.addr
    ));
    let page = get_with(port, "/st", None).text();
    assert!(page.contains("on node lb-east-1</h1>"), "{page}");
    assert!(
        page.contains("Primary balancer for the east site"),
        "{page}"
    );
}

/// `stats http-request` rules decide who sees the page (the first that
/// holds: allow, deny with 403, auth with 401 and its realm), and `stats
/// scope` limits it to the named proxies (`.` is the one serving it).
/// HAProxy accepts the same file.
#[test]
fn stats_http_request_and_scope() {
    let a = HttpBackend::start("a");
    let port = free_port();
    let cfg = format!(
        "defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
userlist admins
    user ops insecure-password secret
listen st
    bind 127.0.0.1:{port}
    stats enable
    stats uri /s
    stats scope .
    stats scope app
    stats http-request deny if {{ req.hdr(x-block) -m found }}
    stats http-request auth realm Ops unless {{ http_auth(admins) }}
    stats http-request allow
    server s1 {}
backend app
    server a1 {}
backend hidden
    server h1 {}
",
        a.addr, a.addr, a.addr
    );
    let file = common::TempPath::file("stats-rules", &cfg);
    let check = std::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(file.path())
        .output()
        .expect("haproxy -c");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _f = Fulcrum::start(&cfg);
    let r = get_with(port, "/s;csv", None);
    assert_eq!(r.status, 401);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"ops\""),
        "{}",
        r.head
    );
    let ok = basic("ops:secret");
    let r = get_with(port, "/s;csv", Some(&ok));
    assert_eq!(r.status, 200, "{}", r.text());
    let csv = r.text();
    assert!(
        csv.contains("\nst,FRONTEND,") && csv.contains("\napp,a1,"),
        "{csv}"
    );
    assert!(!csv.contains("hidden"), "out of scope: {csv}");
    let blocked = request(
        port,
        &format!("GET /s HTTP/1.1\r\nHost: t\r\nX-Block: 1\r\nAuthorization: {ok}\r\nConnection: close\r\n\r\n"),
    )
    .expect("a response");
    assert_eq!(blocked.status, 403);
}

/// Options anywhere after the page's URI (`/?;csv;scope=b1`), the URL's
/// `scope=` filter (names containing it, any case), and the admin form's
/// 303 keeping the connection: HAProxy's reg-test
/// webstats/webstats-scope-and-post-change.
#[test]
fn url_scope_query_options_and_a_kept_alive_admin_post() {
    use std::io::{Read, Write};
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    let port = free_port();
    let _f = Fulcrum::start(&format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten fe1\n    bind 127.0.0.1:{port}\n    stats enable\n    stats uri /\n    stats admin if TRUE\nbackend b1\n    server srv1 {}\nbackend b2\n    server srv2 {}\n",
        a.addr, b.addr
    ));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let mut pending = Vec::new();
    s.write_all(b"GET /?;csv;scope=B1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let r = common::net::read_response(&mut s, &mut pending).expect("csv");
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(body.contains("\nb1,BACKEND"), "{body}");
    assert!(!body.contains("\nb2,BACKEND"), "{body}");
    let form = "s=srv2&action=drain&b=%233";
    s.write_all(
        format!(
            "POST /?scope=b2 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        )
        .as_bytes(),
    )
    .expect("write");
    let r = common::net::read_response(&mut s, &mut pending).expect("303");
    assert_eq!(r.status, 303, "{}", r.head);
    // The same connection serves the next request.
    s.write_all(b"GET /;csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let r = common::net::read_response(&mut s, &mut pending).expect("csv after 303");
    assert_eq!(r.status, 200);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

/// An admin POST with browser headers, `origin` and `site` (when given),
/// and `body`.
fn browser_post(
    port: u16,
    origin: Option<&str>,
    site: Option<&str>,
    body: &str,
) -> common::net::Response {
    let mut extra = String::new();
    if let Some(o) = origin {
        extra.push_str(&format!("Origin: {o}\r\n"));
    }
    if let Some(s) = site {
        extra.push_str(&format!("Sec-Fetch-Site: {s}\r\n"));
    }
    request(
        port,
        &format!(
            "POST /pstats HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {}\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            basic("admin:s3cret"),
            body.len()
        ),
    )
    .expect("a response")
}

#[test]
fn forged_admin_posts_are_refused_and_real_ones_logged_with_their_user() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let cfg = config(port, &a, &b).replace(
        "    stats auth ops:other\n",
        "    stats auth ops:other\n    stats admin if TRUE\n",
    );
    let f = Fulcrum::start(&cfg);
    let page = get_with(port, "/pstats", Some(&basic("admin:s3cret"))).text();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the form carries a token")
        .to_string();
    assert_eq!(token.len(), 32, "{token}");
    let form = "s=gvg-as1&action=maint&b=gvg-as";
    let own = format!("http://127.0.0.1:{port}");
    for (origin, site, body, why) in [
        (
            Some("http://evil.example"),
            None,
            form.to_string(),
            "another site's Origin",
        ),
        (Some("null"), None, form.to_string(), "an opaque Origin"),
        (
            None,
            Some("cross-site"),
            form.to_string(),
            "Sec-Fetch-Site: cross-site",
        ),
        (
            Some(own.as_str()),
            Some("same-origin"),
            form.to_string(),
            "a browser's POST without the token",
        ),
        (
            Some(own.as_str()),
            None,
            format!("{form}&csrf=0123"),
            "a wrong token",
        ),
    ] {
        let r = browser_post(port, origin, site, &body);
        assert_eq!(r.status, 403, "{why}: {}", r.head);
        assert_ne!(csv_status(port, "gvg-as1"), "MAINT", "{why} acted");
    }
    assert_eq!(f.count("admin POST refused"), 5);
    // The form as the page sends it, from the page's origin.
    let r = browser_post(
        port,
        Some(&own),
        Some("same-origin"),
        &format!("{form}&csrf={token}"),
    );
    assert_eq!(r.status, 303, "{}", r.head);
    assert!(r.head.contains("st=DONE"), "{}", r.head);
    assert_eq!(csv_status(port, "gvg-as1"), "MAINT");
    f.wait_count(
        "stats page admin action",
        1,
        std::time::Duration::from_secs(5),
    );
    let log = f.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("stats page admin action"))
        .expect("logged");
    assert!(
        line.contains("user=admin")
            && line.contains("source=127.0.0.1")
            && line.contains("server=gvg-as1"),
        "{line}"
    );
}

#[test]
fn failed_logins_are_limited_per_source() {
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    // A first visit without credentials is no failure.
    assert_eq!(get_with(port, "/pstats", None).status, 401);
    for i in 0..10 {
        let r = get_with(port, "/pstats", Some(&basic(&format!("admin:guess{i}"))));
        assert_eq!(r.status, 401, "attempt {i}");
    }
    // Locked out for the window, even with the right password.
    let r = get_with(port, "/pstats", Some(&basic("admin:s3cret")));
    assert_eq!(r.status, 429, "{}", r.head);
    assert!(
        r.head.to_ascii_lowercase().contains("retry-after: 60"),
        "{}",
        r.head
    );
    assert!(!r.text().contains("gvg-as1"));
}
