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

#[path = "apache_convert/client.rs"]
mod client;
#[path = "apache_convert/site.rs"]
mod site;
#[path = "apache_convert/status.rs"]
mod status;

use std::process::Command;
use std::time::{Duration, Instant};

use client::{ask, cookie_route, get, header, Outcome};
use common::apache::{apache_bin, Apache};
use common::haproxy::haproxy_check;
use common::net::{free_port, Fulcrum, HttpBackend};
use common::TempPath;
use site::{Extra, Tenant, SERVER_STATUS};
use status::{balancer_lines, manager_pages_agree, status_pages_agree};

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
    let (strict, warnings) = convert(site.path(), &["--strict-haproxy"]);
    if conf.contains("SetHandler server-status") {
        assert!(cfg.contains("use-service apache-status"), "{cfg}");
        assert!(!strict.contains("apache-status"), "{strict}");
        let lost =
            "--strict-haproxy: SetHandler server-status at /server-status is HAProxy's stats page";
        assert!(warnings.contains(lost), "{warnings}");
    } else {
        assert_eq!(cfg, strict);
    }
    let file = TempPath::file("converted-strict", &strict);
    haproxy_check(file.path());
    Fulcrum::start(&cfg)
}

/// Both proxies on the same site, and the members they share.
struct Bench {
    t1: Tenant,
    t2: Tenant,
    extra: Extra,
    apache: Apache,
    fulcrum: Fulcrum,
    fport: u16,
}

impl Bench {
    fn start() -> Bench {
        let (t1, t2, extra) = (Tenant::start("t1"), Tenant::start("t2"), Extra::start());
        let conf = format!("{SERVER_STATUS}{}{}{}", t1.conf(), t2.conf(), extra.conf());
        let apache = Apache::start(&conf, free_port());
        let fport = free_port();
        let fulcrum = converted(&conf, fport);
        Bench {
            t1,
            t2,
            extra,
            apache,
            fulcrum,
            fport,
        }
    }

    fn proxies(&self) -> [(&'static str, u16); 2] {
        [("apache", self.apache.port()), ("fulcrum", self.fport)]
    }

    fn ask(&self, port: u16, src: &str, path: &str, cookie: Option<&str>) -> Outcome {
        ask(port, src, path, cookie, &[&self.t1, &self.t2])
    }

    /// Cases whose outcome is fixed: both must give the same.
    fn fixed_cases_agree(&self) {
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
            let a = self.ask(self.apache.port(), src, path, *cookie);
            let f = self.ask(self.fport, src, path, *cookie);
            assert_eq!(a, f, "{src} {path} {cookie:?}: apache, then fulcrum");
        }
    }

    /// What the fixed cases give, so equal cannot mean equally wrong.
    fn fixed_cases_are_right(&self) {
        let o = self.ask(
            self.fport,
            "127.0.0.1",
            "/t1/api/x?q=1",
            Some("ROUTEID=.T1RWS2"),
        );
        let rws2 = self.t1.addr("rws2").to_string();
        let line = "GET /api/x?q=1 HTTP/1.1".to_string();
        assert_eq!(o.member, Some(("t1rws2".into(), line, rws2)));
        assert!(o.set_cookies.is_empty(), "{o:?}");
        let o = self.ask(
            self.fport,
            "127.0.0.1",
            "/t1/api/u?ROUTEID=.T1RWS3",
            Some("ROUTEID=.T1RWS1"),
        );
        assert_eq!(o.body, "t1rws3");
        assert_eq!(
            self.ask(self.fport, "127.0.0.1", "/t1/apix", None).status,
            404
        );
        let o = self.ask(
            self.fport,
            "127.0.0.1",
            "/t1/rcs/login",
            Some("JSESSIONID=abc.RCS2_Application_Name"),
        );
        assert_eq!(o.body, "t1rcs2");
        assert_eq!(
            o.set_cookies,
            ["JSESSIONID=abc.RCS2_Application_Name; Path=/t1/rcs"]
        );
        let o = self.ask(self.fport, "127.0.0.1", "/t1/webdav/recordings/a", None);
        assert_eq!(o.body, "t1webdav1");
        assert_eq!(
            self.ask(self.fport, "127.0.0.2", "/server-status", None)
                .status,
            403
        );
        for (name, port) in self.proxies() {
            let o = self.ask(port, "127.0.0.1", "/server-status", None);
            assert_eq!(o.status, 200, "{name}");
        }
    }

    /// A request with no route, or a route with no '.', is balanced and
    /// told its member's route; the next with that cookie stays there.
    fn new_sessions_get_their_route(&self) {
        for (name, port) in self.proxies() {
            for cookie in [None, Some("ROUTEID=T1RWS2")] {
                let o = self.ask(port, "127.0.0.1", "/t1/api/new", cookie);
                let route = cookie_route(&o.set_cookies).unwrap_or_else(|| panic!("{name}: {o:?}"));
                assert_eq!(o.body.to_uppercase(), route, "{name}: {o:?}");
                assert!(o.set_cookies[0].ends_with("; path=/t1"), "{name}: {o:?}");
                let cookie = format!("ROUTEID=.{route}");
                let again = self.ask(port, "127.0.0.1", "/t1/api/again", Some(&cookie));
                assert_eq!(again.body, o.body, "{name}");
                assert!(again.set_cookies.is_empty(), "{name}: {again:?}");
            }
        }
    }

    /// The sticky member stops: the request is served by another member
    /// and the client told its new route. The active WebDAV member stops:
    /// the standby serves. Both status pages then show them in error
    /// (fulcrum marks them down from the refusal, in its check task: a
    /// bounded wait).
    fn failover(&mut self) {
        self.t1.member_mut("rws2").kill();
        self.t1.member_mut("webdav1").kill();
        for (name, port) in self.proxies() {
            let o = self.ask(port, "127.0.0.1", "/t1/api/x", Some("ROUTEID=.T1RWS2"));
            assert_eq!(o.status, 200, "{name}: {o:?}");
            assert_ne!(o.body, "t1rws2", "{name}");
            assert_eq!(
                cookie_route(&o.set_cookies),
                Some(o.body.to_uppercase()),
                "{name}: {o:?}"
            );
            for _ in 0..3 {
                let o = self.ask(port, "127.0.0.1", "/t1/webdav/recordings/f", None);
                assert_eq!((o.status, o.body.as_str()), (200, "t1webdav2"), "{name}");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (a, f) = (
                balancer_lines(self.apache.port()),
                balancer_lines(self.fport),
            );
            if a == f {
                let err = a
                    .iter()
                    .any(|(k, v)| k.ends_with("Status") && v.contains("Err"));
                assert!(err, "{a:?}");
                break;
            }
            let log = self.fulcrum.log_text();
            assert!(
                Instant::now() < deadline,
                "apache {a:?}\nfulcrum {f:?}\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The members come back and, after retry=1, take requests again
    /// (httpd retries lazily; fulcrum checks every retry=).
    fn failback(&mut self) {
        self.t1.member_mut("webdav1").revive();
        self.t1.member_mut("rws2").revive();
        for (name, port) in self.proxies() {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let o = self.ask(port, "127.0.0.1", "/t1/webdav/recordings/f", None);
                if o.body == "t1webdav1" {
                    break;
                }
                assert!(Instant::now() < deadline, "{name}: no failback: {o:?}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

#[test]
fn seed_000_tenants_are_served_as_apache_serves_them() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let mut bench = Bench::start();
    bench.fixed_cases_agree();
    bench.fixed_cases_are_right();
    status_pages_agree(bench.apache.port(), bench.fport);
    manager_pages_agree(bench.apache.port(), bench.fport);
    bench.new_sessions_get_their_route();
    bench.failover();
    bench.failback();
    let (apache, fulcrum) = (bench.apache.port(), bench.fport);
    bench.extra.check(apache, fulcrum);
}

/// Name-based virtual hosts: the first whose ServerName or ServerAlias
/// (a wildcard too) is the host asked for, in any case, with or without
/// a port; else the first. Each one's ProxyPass and RewriteRule hold for
/// it alone; the main server's RewriteEngine On holds in them. Compared
/// with httpd.
#[test]
fn name_based_virtual_hosts_route_as_httpd_does() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let one = HttpBackend::start("one");
    let two = HttpBackend::start("two");
    let conf = format!(
        "<Proxy balancer://one>\nBalancerMember http://{}\n</Proxy>\n\
         <Proxy balancer://two>\nBalancerMember http://{}\n</Proxy>\nRewriteEngine On\n\
         <LocationMatch \"^/private/\">\nRequire all denied\n</LocationMatch>\n\
         <Location ~ \"^/hidden[0-9]\">\nRequire all denied\n</Location>\n\
         <VirtualHost *>\nServerName one.example\nProxyPass / balancer://one/\n</VirtualHost>\n\
         <VirtualHost *>\nServerName two.example\nServerAlias *.two.example alias.example\n\
         ProxyPass / balancer://two/\nRewriteRule ^/old$ /new [R]\n</VirtualHost>\n",
        one.addr, two.addr
    );
    let apache = Apache::start(&conf, free_port());
    let fport = free_port();
    let _fulcrum = converted(&conf, fport);
    let cases = [
        ("one.example", "/a"),
        ("two.example", "/a"),
        ("x.two.example", "/a"),
        ("TWO.Example:8080", "/a"),
        ("alias.example", "/a"),
        ("other.example", "/a"),
        ("two.example", "/old"),
        ("one.example", "/old"),
        ("one.example", "/private/x"),
        ("two.example", "/hidden7"),
    ];
    for (host, path) in cases {
        let answer = |port: u16| {
            let r = get(port, path, host, "");
            // A member's body; the bodies of redirects differ (README).
            let body = if r.status() == 200 {
                r.body.clone()
            } else {
                String::new()
            };
            (r.status(), r.header("location"), body)
        };
        let (a, f) = (answer(apache.port()), answer(fport));
        assert_eq!(a, f, "{host}{path}: apache, then fulcrum");
        let want = match (host, path) {
            (_, "/old") if host.starts_with("two") => "",
            (_, "/private/x" | "/hidden7") => "",
            ("one.example" | "other.example", _) => "one",
            _ => "two",
        };
        assert_eq!(f.2, want, "{host}{path}");
    }
}

/// A TLS virtual host (mod_ssl's SSLEngine on, certificate and key
/// files) converted to `bind ... ssl crt`: the same answers over HTTPS,
/// and the redirect httpd makes says `https://`.
#[test]
fn tls_virtual_host_is_served_as_httpd_serves_it() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let member = HttpBackend::start("member");
    let dir = TempPath::dir("apache-tls");
    let crt = dir.path().join("site.crt");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["lb.example".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("cert");
    std::fs::write(&crt, cert.pem()).expect("write cert");
    std::fs::write(dir.path().join("site.crt.key"), key.serialize_pem()).expect("write key");
    let conf = |tls: u16| {
        format!(
            "Listen 127.0.0.1:{tls} https\n<Proxy balancer://b>\nBalancerMember http://{}\n</Proxy>\n\
             RewriteEngine On\nRewriteCond %{{HTTPS}} off\n\
             RewriteRule ^ https://%{{HTTP_HOST}}%{{REQUEST_URI}} [R=301,L]\n\
             <VirtualHost *:{tls}>\nServerName lb.example\nSSLEngine on\nSSLCertificateFile {c}\n\
             SSLCertificateKeyFile {c}.key\nProxyPass /app balancer://b/app\n\
             RewriteEngine On\nRewriteRule ^/old$ /app/new [R]\n</VirtualHost>\n",
            member.addr,
            c = crt.display()
        )
    };
    let (atls, ftls, fplain) = (free_port(), free_port(), free_port());
    let apache = Apache::start(&conf(atls), free_port());
    let _fulcrum = converted(&conf(ftls), fplain);
    // Plain HTTP: the main server's RewriteCond %{HTTPS} off sends it to
    // https://, its path and query kept.
    for port in [apache.port(), fplain] {
        let r = get(port, "/app/x?q=1", "lb.example", "");
        assert!(
            r.head.starts_with("HTTP/1.1 301"),
            "port {port}: {}",
            r.head
        );
        assert_eq!(
            r.header("location").as_deref(),
            Some("https://lb.example/app/x?q=1"),
            "port {port}"
        );
    }
    let curl = |port: u16, path: &str| {
        let out = Command::new("curl")
            .args(["-sS", "-i", "-k", "--max-time", "10", "--resolve"])
            .arg(format!("lb.example:{port}:127.0.0.1"))
            .arg(format!("https://lb.example:{port}{path}"))
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).replace(&port.to_string(), "PORT");
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split(' ').nth(1).unwrap_or_default().to_string();
        let body = if status == "200" { body } else { "" };
        (status, header(head, "location"), body.to_string())
    };
    for path in ["/app/x", "/old", "/nothing"] {
        assert_eq!(
            curl(atls, path),
            curl(ftls, path),
            "{path}: apache, then fulcrum"
        );
    }
    assert_eq!(curl(ftls, "/app/x").2, "member");
    assert_eq!(
        curl(ftls, "/old").1.as_deref(),
        Some("https://lb.example:PORT/app/new")
    );
}

/// https members: `SSLProxyVerify require` with
/// `SSLProxyCACertificateFile` verifies them against that CA (a member
/// whose certificate another CA signed gets no request: 503), and
/// `Timeout`/`ProxyTimeout` set the waits.
#[test]
fn https_members_are_verified_as_ssl_proxy_verify_says() {
    let member = common::openssl::tls_server();
    let other = common::openssl::tls_server();
    for (ca, status) in [(member.cert_path(), 200), (other.cert_path(), 503)] {
        let port = free_port();
        let conf = format!(
            "Listen 127.0.0.1:{port}\nTimeout 30\nProxyTimeout 7\nSSLProxyEngine On\nSSLProxyVerify require\n\
             SSLProxyCACertificateFile {}\n<Proxy balancer://tls>\nBalancerMember https://127.0.0.1:{}\n</Proxy>\n\
             ProxyPass /s balancer://tls/\n",
            ca.display(),
            member.port
        );
        let site = TempPath::file("apache-https", &conf);
        let (cfg, _) = convert(site.path(), &[]);
        for line in [
            "timeout client 30000ms",
            "timeout server 7000ms",
            "timeout connect 30000ms",
        ] {
            assert!(cfg.contains(line), "{line}\n{cfg}");
        }
        assert!(cfg.contains(" ssl verify required ca-file "), "{cfg}");
        let _f = Fulcrum::start(&cfg);
        let r = get(port, "/s", "x", "");
        assert_eq!(r.status(), status, "{}", r.head);
    }
}

/// A ProxyPass line's balancer parameters act as ProxySet's
/// (`stickysession=` there): compared with httpd.
#[test]
fn pass_parameters_act_as_in_httpd() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let a = HttpBackend::start("a");
    let b = HttpBackend::start("b");
    let conf = format!(
        "<Proxy balancer://s>\nBalancerMember http://{} route=r1\nBalancerMember http://{} route=r2\n</Proxy>\n\
         ProxyPass /s balancer://s/ stickysession=KC_ROUTEID\n",
        a.addr, b.addr
    );
    let apache = Apache::start(&conf, free_port());
    let fport = free_port();
    let _fulcrum = converted(&conf, fport);
    for port in [apache.port(), fport] {
        for _ in 0..3 {
            assert_eq!(body_of(port, "/s/x", "KC_ROUTEID=.r2"), "b", "port {port}");
            assert_eq!(body_of(port, "/s/x", "KC_ROUTEID=.r1"), "a", "port {port}");
        }
    }
}

/// mod_proxy_hcheck's `hcmethod=GET hcuri=/health hcinterval=1`: a
/// member whose check fails (503) gets no more requests, in httpd (with
/// mod_proxy_hcheck loaded) and in fulcrum.
#[test]
fn health_check_parameters_take_a_failing_member_out() {
    if apache_bin().is_none() {
        eprintln!("skipped: apache2 not installed");
        return;
    }
    let a = HttpBackend::start("a");
    let sick = HttpBackend::start("sick");
    sick.health.store(503, std::sync::atomic::Ordering::Relaxed);
    let conf = format!(
        "LoadModule proxy_hcheck_module {}/mod_proxy_hcheck.so\n\
         <Proxy balancer://h>\nBalancerMember http://{} hcmethod=GET hcuri=/health hcinterval=1\n\
         BalancerMember http://{} hcmethod=GET hcuri=/health hcinterval=1 hcfails=1\n</Proxy>\n\
         ProxyPass /h balancer://h/\n",
        common::apache::MODULES,
        a.addr,
        sick.addr
    );
    let apache = Apache::start(&conf, free_port());
    let fport = free_port();
    let _fulcrum = converted(&conf, fport);
    for (who, port) in [("apache", apache.port()), ("fulcrum", fport)] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answers: Vec<String> = (0..4).map(|_| body_of(port, "/h/x", "")).collect();
            if answers.iter().all(|b| b == "a") {
                break;
            }
            assert!(Instant::now() < deadline, "{who}: {answers:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let checks = sick
        .requests()
        .iter()
        .filter(|s| s.head.starts_with("GET /health "))
        .count();
    assert!(checks >= 2, "{checks} checks");
}

/// The body of `path` (with `cookie`) from `port`.
fn body_of(port: u16, path: &str, cookie: &str) -> String {
    get(port, path, "x", &format!("Cookie: {cookie}\r\n")).body
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
