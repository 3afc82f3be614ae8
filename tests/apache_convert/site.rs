//! The sites both proxies serve: seed 000's tenants with their members,
//! and one balancer beyond the seed (ProxyPassReverse, nofailover).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::get;
use super::common::net::{free_port, Answer, HttpBackend};

/// One tenant's members, named as in the seed.
pub struct Tenant {
    pub t: &'static str,
    pub members: Vec<(String, HttpBackend)>,
}

impl Tenant {
    pub fn start(t: &'static str) -> Tenant {
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

    pub fn addr(&self, n: &str) -> SocketAddr {
        self.member(n).addr
    }

    pub fn member(&self, n: &str) -> &HttpBackend {
        let name = format!("{}{n}", self.t);
        &self.members.iter().find(|m| m.0 == name).expect("member").1
    }

    pub fn member_mut(&mut self, n: &str) -> &mut HttpBackend {
        let name = format!("{}{n}", self.t);
        &mut self
            .members
            .iter_mut()
            .find(|m| m.0 == name)
            .expect("member")
            .1
    }

    /// Seed 000's loadbalancer_tenantN.conf, members on loopback.
    pub fn conf(&self) -> String {
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

pub fn leak(s: String) -> &'static [u8] {
    Box::leak(s.into_bytes().into_boxed_slice())
}

pub const SERVER_STATUS: &str = "ProxyStatus On
<Location /server-status>
 SetHandler server-status
 Order deny,allow
 Deny from all
 Allow from 127.0.0.1
</Location>
<Location /balancer-manager>
 SetHandler balancer-manager
 Require ip 127.0.0.1
</Location>
";

/// Beyond the seed: a balancer whose members redirect to their own URL
/// (`ProxyPassReverse` maps it back) and whose sessions do not fail over
/// (`nofailover=On`).
pub struct Extra {
    a: HttpBackend,
    b: HttpBackend,
}

impl Extra {
    pub fn start() -> Extra {
        let member = || {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
            let raw = format!(
                "HTTP/1.1 302 Found\r\nLocation: http://{addr}/app/next?x=1\r\n\
                 Set-Cookie: s=1; Domain=Backend.Internal; Path=/app/deep; HttpOnly\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
            HttpBackend::with_at(addr, Answer::Raw(leak(raw)))
        };
        Extra {
            a: member(),
            b: member(),
        }
    }

    pub fn conf(&self) -> String {
        format!(
            "<Proxy balancer://extra>\nBalancerMember http://{} route=A\nBalancerMember http://{} route=B\n\
             ProxySet stickysession=ROUTEID nofailover=On\n\
             ProxyPassReverseCookieDomain backend.internal lb.example\n\
             ProxyPassReverseCookiePath /app /extra\n</Proxy>\n\
             ProxyPass /extra balancer://extra/app\nProxyPassReverse /extra balancer://extra/app\n\
             RewriteEngine On\nRewriteRule ^/old$ /t1/api/x [R=301,L]\n\
             RewriteRule ^/moved(/.*)?$ http://elsewhere.example/new?from=lb [R]\n\
             RewriteRule ^/secret - [F]\nRewriteRule ^/gone - [G,NC]\n\
             RewriteRule ^/rp/(.*)$ balancer://extra/app/$1 [P,L]\n",
            self.a.addr, self.b.addr
        )
    }

    pub fn location(port: u16, cookie: &str) -> (u16, Option<String>) {
        Extra::answer(port, "/extra/x", cookie)
    }

    /// The status and Location of `path`.
    fn answer(port: u16, path: &str, cookie: &str) -> (u16, Option<String>) {
        let (status, location, _) = Extra::answer_with_cookie(port, path, cookie);
        (status, location)
    }

    /// The status, Location and Set-Cookie of `path`.
    fn answer_with_cookie(
        port: u16,
        path: &str,
        cookie: &str,
    ) -> (u16, Option<String>, Option<String>) {
        let r = get(port, path, "lb.example", &format!("Cookie: {cookie}\r\n"));
        (r.status(), r.header("location"), r.header("set-cookie"))
    }

    /// Location mapped back to the client's Host and the public path;
    /// with member A stopped, its sessions get 503 (once httpd and fulcrum
    /// know it is down: see README for the first request).
    pub fn check(&mut self, apache: u16, fulcrum: u16) {
        // mod_rewrite's redirects, with and without the query; [F], [G].
        let cases: [(&str, (u16, Option<&str>)); 8] = [
            // [P]: proxied to the balancer, the redirect mapped back.
            ("/rp/zzz", (302, Some("http://lb.example/extra/next?x=1"))),
            ("/old", (301, Some("http://lb.example/t1/api/x"))),
            (
                "/old?a=1&b",
                (301, Some("http://lb.example/t1/api/x?a=1&b")),
            ),
            (
                "/moved/x?q",
                (302, Some("http://elsewhere.example/new?from=lb")),
            ),
            ("/oldx", (404, None)),
            ("/secret/file", (403, None)),
            ("/GONE", (410, None)),
            ("/gone", (410, None)),
        ];
        // The cookie's domain (without case) and path mapped back.
        let want = Some("s=1; Domain=lb.example; Path=/extra; HttpOnly".to_string());
        for port in [apache, fulcrum] {
            let got = Extra::answer_with_cookie(port, "/extra/x", "ROUTEID=.A").2;
            assert_eq!(got, want, "port {port}");
        }
        for (path, (status, location)) in cases {
            let want = (status, location.map(String::from));
            for port in [apache, fulcrum] {
                assert_eq!(
                    Extra::answer(port, path, "x=1"),
                    want,
                    "{path} on port {port}"
                );
            }
        }
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
