//! Issue 20: seed 000's mod_proxy_balancer tenants 1 and 2, with their
//! members on loopback ports, served by Debian's Apache httpd on the
//! original configuration and by fulcrum on `fulcrum convert --from
//! apache`'s output. The same requests go to both; what the client got
//! and what the member saw are compared case by case.
//!
//! Three changes to the seed's text, all said here: the `Allow from` of
//! `/server-status` lost its address in the page (httpd refuses a bare
//! `Allow from`), so it is 127.0.0.1; the WebDAV members carry `retry=1`,
//! so failback is seen in a second instead of httpd's 60; and
//! `ProxyStatus On` (Debian's status.conf has it) puts the balancers in
//! httpd's status page, to compare them with fulcrum's.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::apache::{apache_bin, Apache};
use common::haproxy::haproxy_check;
use common::net::{free_port, Answer, Fulcrum, HttpBackend};
use common::TempPath;

/// One tenant's members, named as in the seed.
struct Tenant {
    t: &'static str,
    members: Vec<(String, HttpBackend)>,
}

impl Tenant {
    fn start(t: &'static str) -> Tenant {
        // Every member closes each connection after answering, so one that
        // is stopped is seen at once: no pooled connection to it survives
        // in either proxy. RCS members set a session cookie on their path.
        let mut members = Vec::new();
        for n in [
            "rws1", "rws2", "rws3", "rp1", "rp2", "ir1", "ir2", "webdav1", "webdav2", "rcs1",
            "rcs2",
        ] {
            let name = format!("{t}{n}");
            let cookie = match n {
                "rcs1" => "Set-Cookie: JSESSIONID=abc.RCS1_Application_Name; Path=/rcs/app\r\n",
                "rcs2" => "Set-Cookie: JSESSIONID=abc.RCS2_Application_Name; Path=/rcs/app\r\n",
                _ => "",
            };
            let raw = format!(
                "HTTP/1.1 200 OK\r\n{cookie}Content-Length: {}\r\nConnection: close\r\n\r\n{name}",
                name.len()
            );
            members.push((name, HttpBackend::with(Answer::Raw(leak(raw)))));
        }
        Tenant { t, members }
    }

    fn addr(&self, n: &str) -> SocketAddr {
        self.member(n).addr
    }

    fn member(&self, n: &str) -> &HttpBackend {
        let name = format!("{}{n}", self.t);
        &self.members.iter().find(|m| m.0 == name).expect("member").1
    }

    fn member_mut(&mut self, n: &str) -> &mut HttpBackend {
        let name = format!("{}{n}", self.t);
        &mut self
            .members
            .iter_mut()
            .find(|m| m.0 == name)
            .expect("member")
            .1
    }

    /// Seed 000's loadbalancer_tenantN.conf, members on loopback.
    fn conf(&self) -> String {
        let t = self.t;
        let up = t.to_uppercase();
        format!(
            r#"# Interaction Recording Web Services for tenant {t}
<Proxy balancer://{t}rws>
BalancerMember http://{rws1} route={up}RWS1
BalancerMember http://{rws2} route={up}RWS2
BalancerMember http://{rws3} route={up}RWS3
Header add Set-Cookie "ROUTEID=.%{{BALANCER_WORKER_ROUTE}}e; path=/{t}" env=BALANCER_ROUTE_CHANGED
ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass /{t}/api balancer://{t}rws/api
ProxyPass /{t}/internal-api balancer://{t}rws/internal-api

# RP for tenant {t}
<Proxy balancer://{t}rp>
BalancerMember http://{rp1}
BalancerMember http://{rp2}
</Proxy>
ProxyPass /{t}/rp/api balancer://{t}rp/api

# RCS for tenant {t}
<Proxy balancer://{t}rcs>
BalancerMember http://{rcs1} connectiontimeout=10000ms route=RCS1_Application_Name
BalancerMember http://{rcs2} connectiontimeout=10000ms route=RCS2_Application_Name
ProxySet stickysession=JSESSIONID
ProxyPassReverseCookiePath "/rcs" "/{t}/rcs"
</Proxy>
ProxyPass /{t}/rcs balancer://{t}rcs/rcs

# Interaction Receiver for tenant {t}
<Proxy balancer://{t}sm>
BalancerMember http://{ir1}
BalancerMember http://{ir2}
</Proxy>
ProxyPass /{t}/interactionreceiver balancer://{t}sm/interactionreceiver

# WebDAV for tenant {t}
<Proxy balancer://{t}webdav>
BalancerMember http://{webdav1} retry=1
BalancerMember http://{webdav2} status=H retry=1
</Proxy>
ProxyPass /{t}/webdav/recordings balancer://{t}webdav/recordings
ProxyPass /{t}/webdav/dest2 balancer://{t}webdav/dest2
"#,
            rws1 = self.addr("rws1"),
            rws2 = self.addr("rws2"),
            rws3 = self.addr("rws3"),
            rp1 = self.addr("rp1"),
            rp2 = self.addr("rp2"),
            rcs1 = self.addr("rcs1"),
            rcs2 = self.addr("rcs2"),
            ir1 = self.addr("ir1"),
            ir2 = self.addr("ir2"),
            webdav1 = self.addr("webdav1"),
            webdav2 = self.addr("webdav2"),
        )
    }
}

fn leak(s: String) -> &'static [u8] {
    Box::leak(s.into_bytes().into_boxed_slice())
}

const SERVER_STATUS: &str = "ProxyStatus On
<Location /server-status>
 SetHandler server-status
 Order deny,allow
 Deny from all
 Allow from 127.0.0.1
</Location>
";

/// What one request came to: the client's side and the member's.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
    /// The member that got it, its request line and Host.
    member: Option<(String, String, String)>,
}

/// Sends `path` (with `cookie`) from `src` to `port`; finds which of the
/// members saw it.
fn ask(port: u16, src: &str, path: &str, cookie: Option<&str>, tenants: &[&Tenant]) -> Outcome {
    let before: Vec<usize> = all(tenants).map(|m| m.1.requests().len()).collect();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: lb.example\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    let raw = send_from(src, port, &req);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let set_cookies = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let mut member = None;
    for ((name, m), n) in all(tenants).zip(before) {
        let seen = m.requests();
        if let Some(s) = seen.get(n) {
            let line = s.head.lines().next().unwrap_or_default().to_string();
            let host = header(&s.head, "host").unwrap_or_default();
            member = Some((name.clone(), line, host));
        }
    }
    Outcome {
        status,
        body: if status == 200 {
            body.to_string()
        } else {
            String::new()
        },
        set_cookies,
        member,
    }
}

fn all<'a>(tenants: &'a [&'a Tenant]) -> impl Iterator<Item = &'a (String, HttpBackend)> {
    tenants.iter().flat_map(|t| t.members.iter())
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

/// The whole answer to `req`, sent from the local address `src`.
fn send_from(src: &str, port: u16, req: &str) -> Vec<u8> {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let from: SocketAddr = format!("{src}:0").parse().expect("src");
    sock.bind(&from.into()).expect("bind source");
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("dst");
    sock.connect_timeout(&to.into(), Duration::from_secs(5))
        .expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(req.as_bytes()).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Beyond the seed: a balancer whose members redirect to their own URL
/// (`ProxyPassReverse` maps it back) and whose sessions do not fail over
/// (`nofailover=On`).
struct Extra {
    a: HttpBackend,
    b: HttpBackend,
}

impl Extra {
    fn start() -> Extra {
        let member = || {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
            let raw = format!(
                "HTTP/1.1 302 Found\r\nLocation: http://{addr}/app/next?x=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            HttpBackend::with_at(addr, Answer::Raw(leak(raw)))
        };
        Extra {
            a: member(),
            b: member(),
        }
    }

    fn conf(&self) -> String {
        format!(
            "<Proxy balancer://extra>\nBalancerMember http://{} route=A\nBalancerMember http://{} route=B\n\
             ProxySet stickysession=ROUTEID nofailover=On\n</Proxy>\n\
             ProxyPass /extra balancer://extra/app\nProxyPassReverse /extra balancer://extra/app\n",
            self.a.addr, self.b.addr
        )
    }

    fn location(port: u16, cookie: &str) -> (u16, Option<String>) {
        let req = format!(
            "GET /extra/x HTTP/1.1\r\nHost: lb.example\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        let raw = String::from_utf8_lossy(&send_from("127.0.0.1", port, &req)).into_owned();
        let head = raw.split_once("\r\n\r\n").map_or(raw.as_str(), |(h, _)| h);
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, header(head, "location"))
    }

    /// Location mapped back to the client's Host and the public path;
    /// with member A stopped, its sessions get 503 (once httpd and fulcrum
    /// know it is down: see README for the first request).
    fn check(&mut self, apache: u16, fulcrum: u16) {
        for port in [apache, fulcrum] {
            for cookie in ["ROUTEID=.A", "ROUTEID=.B"] {
                assert_eq!(
                    Extra::location(port, cookie),
                    (302, Some("http://lb.example/extra/next?x=1".to_string())),
                    "port {port}"
                );
            }
        }
        self.a.kill();
        for port in [apache, fulcrum] {
            // The first request finds A refusing: httpd answers 503 at once,
            // fulcrum's retry goes to B (README: a difference).
            let _ = Extra::location(port, "ROUTEID=.A");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let (status, _) = Extra::location(port, "ROUTEID=.A");
                if status == 503 {
                    break;
                }
                assert!(Instant::now() < deadline, "port {port}: {status}");
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_eq!(Extra::location(port, "ROUTEID=.B").0, 302);
            assert_eq!(Extra::location(port, "ROUTEID=.A").0, 503);
        }
        self.a.revive();
    }
}

/// The fields httpd's `?auto` has that fulcrum leaves out, having no
/// figure for them (README: "Moving from Apache mod_proxy_balancer").
const NOT_SHOWN: [&str; 9] = [
    "Server Built",
    "Total Duration",
    "DurationPerReq",
    "CPUChildrenUser",
    "CPUChildrenSystem",
    "ConnsAsyncWaitIO",
    "ConnsAsyncWriting",
    "ConnsAsyncKeepAlive",
    "ConnsAsyncClosing",
];

/// `/server-status?auto` and the HTML page from both: the same
/// Content-Type and first line, every field httpd shows but those in
/// NOT_SHOWN, the same balancers and members with the same status words;
/// the HTML ends as Pacemaker's apache agent checks (`</body></html>`).
fn status_pages_agree(apache: u16, fulcrum: u16) {
    let page = |port: u16, path: &str| -> (String, String) {
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: lb.example:{port}\r\nConnection: close\r\n\r\n");
        let raw = String::from_utf8_lossy(&send_from("127.0.0.1", port, &req)).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let chunked = header(head, "transfer-encoding").is_some_and(|t| t.contains("chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        (head.to_string(), body)
    };
    let fields = |body: &str| -> Vec<(String, String)> {
        body.lines()
            .skip(1)
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (ah, ab) = page(apache, "/server-status?auto");
    let (fh, fb) = page(fulcrum, "/server-status?auto");
    assert_eq!(
        header(&ah, "content-type").map(|c| c.to_ascii_lowercase()),
        header(&fh, "content-type").map(|c| c.to_ascii_lowercase()),
        "{ah}\n{fh}"
    );
    assert_eq!(
        ab.lines().next(),
        fb.lines().next(),
        "the first line: the server's name"
    );
    let (af, ff) = (fields(&ab), fields(&fb));
    // mod_status's own fields come before the balancers; other modules'
    // (mod_ssl's CacheType...) after them.
    let core = af
        .iter()
        .take_while(|(k, _)| !k.starts_with("ProxyBalancer"));
    for (k, _) in core {
        assert!(
            NOT_SHOWN.contains(&k.as_str()) || ff.iter().any(|(fk, _)| fk == k),
            "fulcrum's ?auto has no '{k}':\n{fb}\nAPACHE:\n{ab}"
        );
    }
    for k in ["Total Accesses", "BusyWorkers", "IdleWorkers", "Uptime"] {
        let v = &ff.iter().find(|(fk, _)| fk == k).expect("field").1;
        assert!(v.parse::<u64>().is_ok(), "{k}: {v}");
    }
    let members = |f: &[(String, String)]| -> Vec<(String, String)> {
        f.iter()
            .filter(|(k, _)| {
                k.starts_with("ProxyBalancer") && (k.ends_with("Name") || k.ends_with("Status"))
            })
            .cloned()
            .collect()
    };
    assert_eq!(members(&af), members(&ff), "balancers and members");
    assert!(!members(&ff).is_empty(), "{fb}");
    for port in [apache, fulcrum] {
        let (h, b) = page(port, "/server-status");
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(b.trim_end().ends_with("</body></html>"), "{b}");
    }
}

/// The Name and Status lines of `/server-status?auto`'s balancers.
fn balancer_lines(port: u16) -> Vec<(String, String)> {
    let req = "GET /server-status?auto HTTP/1.1\r\nHost: lb.example\r\nConnection: close\r\n\r\n";
    let raw = String::from_utf8_lossy(&send_from("127.0.0.1", port, req)).into_owned();
    raw.lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| {
            k.starts_with("ProxyBalancer") && (k.ends_with("Name") || k.ends_with("Status"))
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A chunked body's data (sizes in hex, each chunk then CRLF).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    for _ in 0..10_000 {
        let Some((size, after)) = rest.split_once("\r\n") else {
            break;
        };
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// The route a `Set-Cookie: ROUTEID=.ROUTE; path=...` names.
fn cookie_route(set_cookies: &[String]) -> Option<String> {
    set_cookies.iter().find_map(|c| {
        c.strip_prefix("ROUTEID=.")
            .map(|r| r.split(';').next().unwrap_or_default().to_string())
    })
}

/// `fulcrum convert --from apache [extra...] FILE`: the output, and
/// standard error.
fn convert(site: &std::path::Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["convert", "--from", "apache"])
        .args(extra)
        .arg(site)
        .output()
        .expect("run convert");
    let cfg = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "convert failed:\n{err}\n{cfg}");
    (cfg, err)
}

/// Converts `conf` (with `Listen 127.0.0.1:port`) and starts fulcrum on
/// it. The `--strict-haproxy` form is checked by Debian's `haproxy -c`,
/// and says what it gives up: the status page in httpd's layout.
fn converted(conf: &str, port: u16) -> Fulcrum {
    let site = TempPath::file("apache-site", &format!("Listen 127.0.0.1:{port}\n{conf}"));
    let (cfg, _) = convert(site.path(), &[]);
    assert!(cfg.contains("use-service apache-status"), "{cfg}");
    let (strict, warnings) = convert(site.path(), &["--strict-haproxy"]);
    assert!(!strict.contains("apache-status"), "{strict}");
    assert!(
        warnings.contains(
            "--strict-haproxy: SetHandler server-status at /server-status is HAProxy's stats page"
        ),
        "{warnings}"
    );
    let file = TempPath::file("converted-strict", &strict);
    haproxy_check(file.path());
    Fulcrum::start(&cfg)
}

#[test]
fn seed_000_tenants_are_served_as_apache_serves_them() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let mut t1 = Tenant::start("t1");
    let t2 = Tenant::start("t2");
    let mut extra = Extra::start();
    let conf = format!("{SERVER_STATUS}{}{}{}", t1.conf(), t2.conf(), extra.conf());
    let apache = Apache::start(&conf, free_port());
    let fport = free_port();
    let _fulcrum = converted(&conf, fport);
    let proxies = [("apache", apache.port()), ("fulcrum", fport)];

    // Cases whose outcome is fixed: both must give the same, and it must
    // be what the seed means.
    let fixed: &[(&str, &str, Option<&str>)] = &[
        // Routing per prefix, the member's path, its own name as Host.
        ("127.0.0.1", "/t1/api/x?q=1", Some("ROUTEID=.T1RWS2")),
        ("127.0.0.1", "/t1/internal-api/y", Some("ROUTEID=.T1RWS3")),
        ("127.0.0.1", "/t2/api/z", Some("ROUTEID=.T2RWS1")),
        // The URL's ROUTEID beats the cookie's.
        (
            "127.0.0.1",
            "/t1/api/u?ROUTEID=.T1RWS3",
            Some("ROUTEID=.T1RWS1"),
        ),
        // By segment: /t1/apix is no pass, so httpd's 404.
        ("127.0.0.1", "/t1/apix", None),
        ("127.0.0.1", "/nothing", None),
        // JSESSIONID stickiness, and the cookie path rewritten.
        (
            "127.0.0.1",
            "/t1/rcs/login",
            Some("JSESSIONID=abc.RCS2_Application_Name"),
        ),
        (
            "127.0.0.1",
            "/t2/rcs/login",
            Some("JSESSIONID=x.y.RCS1_Application_Name"),
        ),
        // The hot standby takes nothing while the active member is up.
        ("127.0.0.1", "/t1/webdav/recordings/a", None),
        ("127.0.0.1", "/t1/webdav/dest2/b", None),
        ("127.0.0.1", "/t1/webdav/recordings/c", None),
        // /server-status by source.
        ("127.0.0.2", "/server-status", None),
    ];
    for (src, path, cookie) in fixed {
        let a = ask(proxies[0].1, src, path, *cookie, &[&t1, &t2]);
        let f = ask(proxies[1].1, src, path, *cookie, &[&t1, &t2]);
        assert_eq!(a, f, "{src} {path} {cookie:?}: apache, then fulcrum");
    }
    // And what they are, so equal cannot mean equally wrong.
    let o = ask(
        fport,
        "127.0.0.1",
        "/t1/api/x?q=1",
        Some("ROUTEID=.T1RWS2"),
        &[&t1, &t2],
    );
    assert_eq!(
        o.member,
        Some((
            "t1rws2".into(),
            "GET /api/x?q=1 HTTP/1.1".into(),
            t1.addr("rws2").to_string()
        ))
    );
    assert!(o.set_cookies.is_empty(), "{o:?}");
    let o = ask(
        fport,
        "127.0.0.1",
        "/t1/api/u?ROUTEID=.T1RWS3",
        Some("ROUTEID=.T1RWS1"),
        &[&t1, &t2],
    );
    assert_eq!(o.body, "t1rws3");
    assert_eq!(
        ask(fport, "127.0.0.1", "/t1/apix", None, &[&t1, &t2]).status,
        404
    );
    let o = ask(
        fport,
        "127.0.0.1",
        "/t1/rcs/login",
        Some("JSESSIONID=abc.RCS2_Application_Name"),
        &[&t1, &t2],
    );
    assert_eq!(o.body, "t1rcs2");
    assert_eq!(
        o.set_cookies,
        ["JSESSIONID=abc.RCS2_Application_Name; Path=/t1/rcs"]
    );
    assert_eq!(
        ask(
            fport,
            "127.0.0.1",
            "/t1/webdav/recordings/a",
            None,
            &[&t1, &t2]
        )
        .body,
        "t1webdav1"
    );
    assert_eq!(
        ask(fport, "127.0.0.2", "/server-status", None, &[&t1, &t2]).status,
        403
    );
    for (name, port) in proxies {
        assert_eq!(
            ask(port, "127.0.0.1", "/server-status", None, &[&t1, &t2]).status,
            200,
            "{name}"
        );
    }
    status_pages_agree(apache.port(), fport);

    // A request with no route, or a route with no '.', is balanced and
    // told its member's route; the next with that cookie stays there.
    for (name, port) in proxies {
        for cookie in [None, Some("ROUTEID=T1RWS2")] {
            let o = ask(port, "127.0.0.1", "/t1/api/new", cookie, &[&t1, &t2]);
            let route = cookie_route(&o.set_cookies).unwrap_or_else(|| panic!("{name}: {o:?}"));
            assert_eq!(o.body.to_uppercase(), route, "{name}: {o:?}");
            assert!(o.set_cookies[0].ends_with("; path=/t1"), "{name}: {o:?}");
            let again = ask(
                port,
                "127.0.0.1",
                "/t1/api/again",
                Some(&format!("ROUTEID=.{route}")),
                &[&t1, &t2],
            );
            assert_eq!(again.body, o.body, "{name}");
            assert!(again.set_cookies.is_empty(), "{name}: {again:?}");
        }
    }

    // Failover: the sticky member stops; the request is served by another
    // member and the client told its new route. The active WebDAV member
    // stops; the standby serves.
    t1.member_mut("rws2").kill();
    t1.member_mut("webdav1").kill();
    for (name, port) in proxies {
        let o = ask(
            port,
            "127.0.0.1",
            "/t1/api/x",
            Some("ROUTEID=.T1RWS2"),
            &[&t1, &t2],
        );
        assert_eq!(o.status, 200, "{name}: {o:?}");
        assert_ne!(o.body, "t1rws2", "{name}");
        assert_eq!(
            cookie_route(&o.set_cookies),
            Some(o.body.to_uppercase()),
            "{name}: {o:?}"
        );
        for _ in 0..3 {
            let o = ask(
                port,
                "127.0.0.1",
                "/t1/webdav/recordings/f",
                None,
                &[&t1, &t2],
            );
            assert_eq!((o.status, o.body.as_str()), (200, "t1webdav2"), "{name}");
        }
    }
    // Failback: the member comes back and, after retry=1, takes requests
    // again (httpd retries it lazily; fulcrum's check every retry=).
    // Both status pages now show the stopped members in error (fulcrum
    // marks them down from the traffic's refusal, in its check task: a
    // bounded wait).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (a, f) = (balancer_lines(apache.port()), balancer_lines(fport));
        if a == f {
            assert!(
                a.iter()
                    .any(|(k, v)| k.ends_with("Status") && v.contains("Err")),
                "{a:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "apache {a:?}\nfulcrum {f:?}\n{}",
            _fulcrum.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t1.member_mut("webdav1").revive();
    t1.member_mut("rws2").revive();
    for (name, port) in proxies {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let o = ask(
                port,
                "127.0.0.1",
                "/t1/webdav/recordings/f",
                None,
                &[&t1, &t2],
            );
            if o.body == "t1webdav1" {
                break;
            }
            assert!(Instant::now() < deadline, "{name}: no failback: {o:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    extra.check(apache.port(), fport);
    drop(apache);
}

/// Seed 001's copy of the page, damaged by OCR: `file:line` errors, exit
/// status 1, nothing on standard output, no crash.
#[test]
fn seed_001s_damage_gives_errors_at_their_lines() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/apache/seed001-tenant1.conf"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["convert", "--from", "apache", file])
        .output()
        .expect("run convert");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    for line in [9, 11, 12, 23, 25, 29, 39, 42, 43, 44] {
        assert!(
            err.contains(&format!("seed001-tenant1.conf:{line}: ")),
            "no error at line {line}:\n{err}"
        );
    }
}

/// `--to yaml` writes the converted model as YAML, which reads back.
#[test]
fn converted_config_is_also_yaml() {
    let site = TempPath::file(
        "apache-yaml",
        "Listen 127.0.0.1:8080\n<Proxy balancer://b>\nBalancerMember http://127.0.0.1:9001 route=r1\nBalancerMember http://127.0.0.1:9002 status=+H\nProxySet stickysession=ROUTEID\n</Proxy>\nProxyPass /app balancer://b/app\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["convert", "--from", "apache", "--to", "yaml"])
        .arg(site.path())
        .output()
        .expect("run convert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        yaml.contains("use-server") || yaml.contains("use_server"),
        "{yaml}"
    );
    let file = TempPath::file("converted-yaml", &yaml);
    let yaml_path = file.path().with_extension("yaml");
    std::fs::write(&yaml_path, &yaml).expect("write yaml");
    let check = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("-c")
        .arg("-f")
        .arg(&yaml_path)
        .output()
        .expect("run -c");
    let _ = std::fs::remove_file(&yaml_path);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
