//! The Apache httpd harness (tests/common/apache.rs) works: a real
//! mod_proxy_balancer balances and sticks on a route cookie between two
//! recording backends, and `apache2 -t` refuses a broken `</Proxv>` with
//! its line number. The tests are skipped when apache2 is not installed
//! (.ci/run installs it).

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::apache::{self, apache_bin, Apache};
use common::net::{free_port, request, HttpBackend};

/// The value of the first `name:` header of a response head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn balancer_round_robin_and_route_cookie() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let m1 = HttpBackend::start("m1");
    let m2 = HttpBackend::start("m2");
    let site = format!(
        "<Proxy balancer://b>
BalancerMember http://127.0.0.1:{} route=R1
BalancerMember http://127.0.0.1:{} route=R2
ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass /app balancer://b/app
Header add Set-Cookie \"ROUTEID=.%{{BALANCER_WORKER_ROUTE}}e; path=/\" env=BALANCER_ROUTE_CHANGED
",
        m1.addr.port(),
        m2.addr.port()
    );
    let a = Apache::start(&site, free_port());
    let pid = a.pid();

    // No cookie: byrequests alternates, and each answer names its route.
    let mut bodies = Vec::new();
    for _ in 0..4 {
        let r = request(
            a.port(),
            "GET /app/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .expect("a response");
        assert_eq!(r.status, 200, "{}\n{}", r.head, a.output());
        let body = r.text();
        let want = match body.as_str() {
            "m1" => "ROUTEID=.R1; path=/",
            "m2" => "ROUTEID=.R2; path=/",
            other => panic!("unexpected body {other:?}:\n{}", r.head),
        };
        assert_eq!(header(&r.head, "Set-Cookie"), Some(want), "{}", r.head);
        bodies.push(body);
    }
    assert!(
        bodies.iter().any(|b| b == "m1") && bodies.iter().any(|b| b == "m2"),
        "round robin reached one member only: {bodies:?}"
    );
    assert_eq!(m1.requests().len() + m2.requests().len(), 4);

    // The route cookie: member 2 every time, and no new cookie.
    let before = m2.requests().len();
    for _ in 0..5 {
        let r = request(
            a.port(),
            "GET /app/x HTTP/1.1\r\nHost: t\r\nCookie: ROUTEID=.R2\r\nConnection: close\r\n\r\n",
        )
        .expect("a response");
        assert_eq!(r.status, 200, "{}\n{}", r.head, a.output());
        assert_eq!(r.text(), "m2", "{}", r.head);
        assert_eq!(header(&r.head, "Set-Cookie"), None, "{}", r.head);
    }
    assert_eq!(m2.requests().len(), before + 5);

    // What a member sees of a proxied request, and the access log (written
    // after each answer went out, so waited for).
    let seen = m2.requests().last().expect("a request").head.clone();
    eprintln!("member 2 saw:\n{seen}");
    assert!(seen.starts_with("GET /app/x HTTP/1.1\r\n"), "{seen}");
    assert_eq!(
        header(&seen, "X-Forwarded-For"),
        Some("127.0.0.1"),
        "{seen}"
    );
    assert_eq!(header(&seen, "X-Forwarded-Host"), Some("t"), "{seen}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.access_log().lines().count() < 9 {
        assert!(Instant::now() < deadline, "access log:\n{}", a.access_log());
        thread::sleep(Duration::from_millis(20));
    }
    eprintln!("access log:\n{}", a.access_log());
    assert_eq!(a.access_log().matches(" route=R2 ").count(), before + 5);

    drop(a);
    assert!(
        apache::group_members(pid).is_empty(),
        "apache2 processes left: {:?}",
        apache::group_members(pid)
    );
}

#[test]
fn config_test_refuses_unknown_closing_tag() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let site = "<Proxy balancer://b>
BalancerMember http://127.0.0.1:9 route=R1
</Proxv>
ProxyPass /app balancer://b/app
";
    let (ok, msg) = apache::config_test(site);
    assert!(!ok, "apache2 -t accepted </Proxv>:\n{msg}");
    let line = apache::site_line(3);
    assert!(
        msg.contains(&format!("Syntax error on line {line} of ")),
        "no line {line} in:\n{msg}"
    );
    assert!(msg.contains("Expected </Proxy> but saw </Proxv>"), "{msg}");

    // And the same site closed properly is accepted.
    let (ok, msg) = apache::config_test(&site.replace("</Proxv>", "</Proxy>"));
    assert!(ok, "apache2 -t refused a good configuration:\n{msg}");
}
