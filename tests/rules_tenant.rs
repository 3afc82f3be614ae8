//! Rules end to end at the level of a real client: the seed-000 multi-tenant
//! setup (an Apache mod_proxy_balancer configuration, rewritten for HAProxy)
//! and one short test per action family. Requests are made with the real
//! `curl` binary where the issue asks for curl-level evidence, and with plain
//! sockets otherwise; every test also checks what the backends received.
//!
//! Every configuration used here must also be accepted by HAProxy itself
//! (`/usr/sbin/haproxy -c -f FILE`, Debian's package), so the tests can not
//! drift into a dialect only fulcrum understands.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::net::{free_port, read_response, Fulcrum, HttpBackend, Response};
use common::TempPath;

/// Debian's HAProxy, used only as `haproxy -c`.
const HAPROXY: &str = "/usr/sbin/haproxy";

/// `openssl passwd -6 -salt abc secret`: a crypt(3) SHA-512 hash of "secret",
/// precomputed so the tests need no openssl binary.
const SECRET_SHA512: &str =
    "$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1";

/// Asserts that HAProxy accepts `cfg` (`haproxy -c` exits 0).
fn haproxy_check(cfg: &str) {
    let file = TempPath::file("haproxy-c", cfg);
    let out = Command::new(HAPROXY)
        .arg("-c")
        .arg("-f")
        .arg(file.path())
        .output()
        .expect("run /usr/sbin/haproxy -c (apt-get install haproxy)");
    assert!(
        out.status.success(),
        "haproxy -c refused the configuration ({}):\n{}{}\n--- config ---\n{cfg}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks `cfg` with HAProxy, then runs fulcrum on it.
fn start(cfg: &str) -> Fulcrum {
    haproxy_check(cfg);
    Fulcrum::start(cfg)
}

/// Runs `curl -s -i ARGS URL` (10 s at most) and parses what it printed.
fn curl(args: &[&str], url: &str) -> Response {
    let out = Command::new("/usr/bin/curl")
        // -q first: no ~/.curlrc; no proxy from the environment.
        .args(["-q", "-s", "-i", "--max-time", "10", "--noproxy", "*"])
        .args(args)
        .arg(url)
        .output()
        .expect("run /usr/bin/curl");
    let raw = out.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or_else(|| {
            panic!(
                "curl {args:?} {url}: no response head ({}): {}",
                out.status,
                String::from_utf8_lossy(&raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("curl: bad status line: {head}"));
    Response {
        status,
        head,
        body: raw[end..].to_vec(),
    }
}

/// The values of header `name` (any case) in a response or request head.
fn header<'h>(head: &'h str, name: &str) -> Vec<&'h str> {
    head.lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

/// Sends `GET path` with extra header lines (each ending in CRLF) from
/// 127.0.0.1 on a plain socket.
fn get_with(port: u16, path: &str, extra: &str) -> Response {
    request_from("127.0.0.1", port, path, extra)
}

/// Sends `GET path` from source address `src` (bound before connecting, with
/// socket2: std's TcpStream cannot bind first) to 127.0.0.1:port.
fn request_from(src: &str, port: u16, path: &str, extra: &str) -> Response {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let from: SocketAddr = format!("{src}:0").parse().expect("source address");
    sock.bind(&from.into()).expect("bind the client socket");
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    sock.connect_timeout(&to.into(), Duration::from_secs(10))
        .expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    )
    .expect("send");
    read_response(&mut s, &mut Vec::new()).expect("a response")
}

/// The request lines a backend received, in order.
fn request_lines(b: &HttpBackend) -> Vec<String> {
    b.requests()
        .iter()
        .map(|s| s.head.lines().next().unwrap_or("").to_string())
        .collect()
}

/// A tiny backend that records request heads and answers each with a fixed
/// response, then closes. It stops after 60 s or when dropped.
struct FixedBackend {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl FixedBackend {
    fn start(response: &'static str) -> FixedBackend {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        l.set_nonblocking(true).expect("nonblocking");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st) = (heads.clone(), stop.clone());
        thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until && !st.load(Ordering::Relaxed) {
                let Ok((mut s, _)) = l.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                    match s.read(&mut tmp) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
                h.lock()
                    .expect("heads")
                    .push(String::from_utf8_lossy(&buf).into_owned());
                let _ = s.write_all(response.as_bytes());
            }
        });
        FixedBackend { addr, heads, stop }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

impl Drop for FixedBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------
// Seed 000: the multi-tenant Apache setup as HAProxy configuration.
// ---------------------------------------------------------------------------

/// What the RCS application answers: a session cookie and a redirect, both
/// with its own path, /rcs, which the proxy must map back to /t1/rcs.
const RCS_ANSWER: &str = "HTTP/1.1 302 Found\r\n\
    Set-Cookie: JSESSIONID=abc; Path=/rcs\r\n\
    Location: http://rcs.internal:8080/rcs/next\r\n\
    Content-Length: 0\r\n\
    Connection: close\r\n\r\n";

struct Tenant {
    port: u16,
    rws: [HttpBackend; 3],
    rcs: FixedBackend,
    fallback: HttpBackend,
    fulcrum: Fulcrum,
}

/// Starts the seed-000 tenant configuration. The RWS servers are TCP-checked
/// every 100 ms (`fall 1`) so a killed one is marked DOWN promptly.
fn tenant() -> Tenant {
    let rws = [
        HttpBackend::start("T1RWS1"),
        HttpBackend::start("T1RWS2"),
        HttpBackend::start("T1RWS3"),
    ];
    let rcs = FixedBackend::start(RCS_ANSWER);
    let fallback = HttpBackend::start("fallback");
    let port = free_port();
    let cfg = format!(
        r#"global
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend lb
    bind 127.0.0.1:{port}
    # ProxyPass /t1/api, /t1/internal-api and /t1/rcs: whole path segments,
    # so /t1/api and /t1/api/x match and /t1/apix does not.
    acl t1_api path_dir /t1/api
    acl t1_internal path_dir /t1/internal-api
    acl t1_rcs path_dir /t1/rcs
    acl status path /server-status
    # Apache's "Require local" would be HAProxy's LOCALHOST (127.0.0.0/8),
    # but this machine has only the loopback interface: the test stands in a
    # "remote" client as 127.0.0.2, so "local" here is 127.0.0.1 alone.
    acl local src 127.0.0.1
    http-request deny if status !local
    http-request return status 200 content-type text/plain string "status ok" if status
    use_backend t1rws if t1_api || t1_internal
    use_backend t1rcs if t1_rcs
    default_backend fallback
backend t1rws
    # ProxyPass /t1/api balancer://t1rws/api stickysession=ROUTEID, with
    # route=T1RWS1..3: the cookie's suffix picks the server.
    balance roundrobin
    http-request set-var(txn.route) req.cook(ROUTEID)
    http-request set-path %[path,regsub(^/t1/,/)]
    use-server T1RWS1 if {{ req.cook(ROUTEID) -m end .T1RWS1 }}
    use-server T1RWS2 if {{ req.cook(ROUTEID) -m end .T1RWS2 }}
    use-server T1RWS3 if {{ req.cook(ROUTEID) -m end .T1RWS3 }}
    http-response add-header Set-Cookie "ROUTEID=.%[srv_name]; path=/t1" unless {{ var(txn.route) -m found }}
    server T1RWS1 {} check inter 100ms fall 1 rise 1
    server T1RWS2 {} check inter 100ms fall 1 rise 1
    server T1RWS3 {} check inter 100ms fall 1 rise 1
backend t1rcs
    # ProxyPassReverseCookiePath "/rcs" "/t1/rcs" and ProxyPassReverse.
    http-request set-path %[path,regsub(^/t1/rcs,/rcs)]
    http-response replace-header Set-Cookie (.*)[Pp]ath=/rcs(.*) \1Path=/t1/rcs\2
    http-response replace-header Location ^(https?://[^/]+)?/rcs(.*)$ /t1/rcs\2
    server rcs1 {}
backend fallback
    server fb {}
"#,
        rws[0].addr, rws[1].addr, rws[2].addr, rcs.addr, fallback.addr
    );
    let fulcrum = start(&cfg);
    Tenant {
        port,
        rws,
        rcs,
        fallback,
        fulcrum,
    }
}

/// Which RWS server answered (its body), checking the status.
fn served_by(r: &Response) -> String {
    assert_eq!(r.status, 200, "{}", r.head);
    r.text()
}

#[test]
fn tenant_api_paths_are_routed_by_directory_and_rewritten() {
    let t = tenant();
    let url = |p: &str| format!("http://127.0.0.1:{}{p}", t.port);

    let r = curl(&[], &url("/t1/api/x?q=1"));
    assert!(served_by(&r).starts_with("T1RWS"), "{}", r.text());
    let r = curl(&[], &url("/t1/api"));
    assert!(served_by(&r).starts_with("T1RWS"));
    let r = get_with(t.port, "/t1/internal-api/y", "");
    assert!(served_by(&r).starts_with("T1RWS"));
    // Not a whole segment: /t1/apix is not under /t1/api.
    let r = curl(&[], &url("/t1/apix"));
    assert_eq!(served_by(&r), "fallback");
    let r = get_with(t.port, "/other", "");
    assert_eq!(served_by(&r), "fallback");

    let mut rws: Vec<String> = t.rws.iter().flat_map(request_lines).collect();
    rws.sort();
    assert_eq!(
        rws,
        [
            "GET /api HTTP/1.1",
            "GET /api/x?q=1 HTTP/1.1",
            "GET /internal-api/y HTTP/1.1"
        ],
        "the RWS servers see the path without /t1"
    );
    assert_eq!(
        request_lines(&t.fallback),
        ["GET /t1/apix HTTP/1.1", "GET /other HTTP/1.1"]
    );
    assert!(t.rcs.heads().is_empty());
}

#[test]
fn tenant_routeid_cookie_sticks_and_new_clients_are_balanced() {
    let t = tenant();
    let url = format!("http://127.0.0.1:{}/t1/api/x", t.port);
    let mut fresh = [0usize; 3];
    for i in 0..10 {
        // The sticky client, by curl and by socket in turn.
        let r = if i % 2 == 0 {
            curl(&["-H", "Cookie: ROUTEID=.T1RWS2"], &url)
        } else {
            get_with(t.port, "/t1/api/x", "Cookie: other=1; ROUTEID=.T1RWS2\r\n")
        };
        assert_eq!(served_by(&r), "T1RWS2", "request {i}");
        assert!(
            header(&r.head, "set-cookie").is_empty(),
            "a client with a route gets no new one:\n{}",
            r.head
        );
        // A new client in between: balanced, and told its route.
        let r = if i % 2 == 0 {
            get_with(t.port, "/t1/api/x", "")
        } else {
            curl(&[], &url)
        };
        let srv = served_by(&r);
        assert_eq!(
            header(&r.head, "set-cookie"),
            [format!("ROUTEID=.{srv}; path=/t1")],
            "{}",
            r.head
        );
        fresh[srv.strip_prefix("T1RWS").unwrap().parse::<usize>().unwrap() - 1] += 1;
    }
    assert!(
        fresh.iter().all(|&n| n >= 2),
        "10 clients without a cookie spread over the three servers: {fresh:?}"
    );
    let seen: Vec<usize> = t.rws.iter().map(|b| b.requests().len()).collect();
    assert_eq!(seen, [fresh[0], fresh[1] + 10, fresh[2]]);
    for s in t.rws[1].requests() {
        assert!(s.head.starts_with("GET /api/x HTTP/1.1\r\n"), "{}", s.head);
    }
    // The route cookie reaches the server as the client sent it.
    let with_cookie = t.rws[1]
        .requests()
        .iter()
        .filter(|s| s.head.contains("ROUTEID=.T1RWS2"))
        .count();
    assert_eq!(with_cookie, 10);
}

#[test]
fn tenant_route_to_a_down_server_goes_elsewhere() {
    let mut t = tenant();
    let sticky = "Cookie: ROUTEID=.T1RWS2\r\n";
    assert_eq!(served_by(&get_with(t.port, "/t1/api/a", sticky)), "T1RWS2");
    t.rws[1].kill();
    // Readiness: wait (bounded) for the health check to report it DOWN.
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.fulcrum.count("Server t1rws/T1RWS2 is DOWN") == 0 {
        assert!(
            Instant::now() < deadline,
            "T1RWS2 never went DOWN:\n{}",
            t.fulcrum.log.lock().unwrap().join("\n")
        );
        thread::sleep(Duration::from_millis(20));
    }
    let before = t.rws[1].requests().len();
    for i in 0..6 {
        let r = if i % 2 == 0 {
            curl(
                &["-H", "Cookie: ROUTEID=.T1RWS2"],
                &format!("http://127.0.0.1:{}/t1/api/b", t.port),
            )
        } else {
            get_with(t.port, "/t1/api/b", sticky)
        };
        let srv = served_by(&r);
        assert!(srv == "T1RWS1" || srv == "T1RWS3", "request {i}: {srv}");
    }
    assert_eq!(t.rws[1].requests().len(), before);
    let others: usize = [&t.rws[0], &t.rws[2]]
        .iter()
        .map(|b| {
            request_lines(b)
                .iter()
                .filter(|l| *l == "GET /api/b HTTP/1.1")
                .count()
        })
        .sum();
    assert_eq!(others, 6);
}

#[test]
fn tenant_rcs_cookie_path_and_location_are_mapped_back() {
    let t = tenant();
    let r = curl(&[], &format!("http://127.0.0.1:{}/t1/rcs/login", t.port));
    assert_eq!(r.status, 302, "{}", r.head);
    assert_eq!(
        header(&r.head, "set-cookie"),
        ["JSESSIONID=abc; Path=/t1/rcs"],
        "{}",
        r.head
    );
    assert_eq!(header(&r.head, "location"), ["/t1/rcs/next"], "{}", r.head);
    // Same over a plain socket.
    let r = get_with(t.port, "/t1/rcs/a/b?c=d", "");
    assert_eq!(header(&r.head, "location"), ["/t1/rcs/next"], "{}", r.head);
    let heads = t.rcs.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(
        heads[0].starts_with("GET /rcs/login HTTP/1.1\r\n"),
        "{}",
        heads[0]
    );
    assert!(
        heads[1].starts_with("GET /rcs/a/b?c=d HTTP/1.1\r\n"),
        "{}",
        heads[1]
    );
}

#[test]
fn tenant_server_status_is_for_local_clients_only() {
    let t = tenant();
    let url = format!("http://127.0.0.1:{}/server-status", t.port);
    let r = curl(&[], &url);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.text(), "status ok");
    assert_eq!(header(&r.head, "content-type"), ["text/plain"]);
    // 127.0.0.2 stands for a remote client (see the config's comment).
    let r = curl(&["--interface", "127.0.0.2"], &url);
    assert_eq!(r.status, 403, "{}", r.head);
    let r = request_from("127.0.0.2", t.port, "/server-status", "");
    assert_eq!(r.status, 403, "{}", r.head);
    let r = request_from("127.0.0.1", t.port, "/server-status", "");
    assert_eq!((r.status, r.text().as_str()), (200, "status ok"));
    // The remote client reaches the applications all the same.
    let r = request_from("127.0.0.2", t.port, "/t1/api/z", "");
    assert!(served_by(&r).starts_with("T1RWS"));
    // No server was asked for /server-status.
    assert!(t.fallback.requests().is_empty());
    assert_eq!(t.rws.iter().map(|b| b.requests().len()).sum::<usize>(), 1);
}

// ---------------------------------------------------------------------------
// One short test per action family (tests/differential.rs has the details).
// ---------------------------------------------------------------------------

/// A frontend with `rules` in front of one recording backend answering "app".
fn with_rules(defaults: &str, rules: &str) -> (Fulcrum, HttpBackend, u16) {
    with_global("", defaults, rules)
}

/// Like `with_rules`, with extra `global` lines.
fn with_global(global: &str, defaults: &str, rules: &str) -> (Fulcrum, HttpBackend, u16) {
    let app = HttpBackend::start("app");
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
{global}defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
{defaults}userlist users
    user alice password {SECRET_SHA512}
frontend fe
    bind 127.0.0.1:{port}
{rules}    default_backend app
backend app
    server app1 {}
",
        app.addr
    );
    (start(&cfg), app, port)
}

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

#[test]
fn redirect_scheme_https_sends_a_location() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request redirect scheme https if !{ ssl_fc }\n",
    );
    let r = curl(&[], &url(port, "/a/b?x=1"));
    assert_eq!(r.status, 302, "{}", r.head);
    assert_eq!(
        header(&r.head, "location"),
        [format!("https://127.0.0.1:{port}/a/b?x=1")]
    );
    assert!(app.requests().is_empty());
}

#[test]
fn auth_with_a_sha512_crypt_userlist() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request auth realm Tenant unless { http_auth(users) }\n",
    );
    let r = curl(&[], &url(port, "/private"));
    assert_eq!(r.status, 401, "{}", r.head);
    assert_eq!(
        header(&r.head, "www-authenticate"),
        ["Basic realm=\"Tenant\""]
    );
    let r = curl(&["-u", "alice:wrong"], &url(port, "/private"));
    assert_eq!(r.status, 401, "{}", r.head);
    let r = curl(&["-u", "bob:secret"], &url(port, "/private"));
    assert_eq!(r.status, 401, "{}", r.head);
    let r = curl(&["-u", "alice:secret"], &url(port, "/private"));
    assert_eq!((r.status, r.text().as_str()), (200, "app"), "{}", r.head);
    assert_eq!(request_lines(&app), ["GET /private HTTP/1.1"]);
}

#[test]
fn return_with_an_lf_string_body() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request return status 200 content-type text/plain lf-string \"hello %[req.hdr(x-name)] at %[path]\" if { path_beg /hello }\n",
    );
    let r = curl(&["-H", "X-Name: bob"], &url(port, "/hello/there"));
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.text(), "hello bob at /hello/there");
    assert_eq!(header(&r.head, "content-type"), ["text/plain"]);
    assert_eq!(get_with(port, "/other", "").text(), "app");
    assert_eq!(request_lines(&app), ["GET /other HTTP/1.1"]);
}

#[test]
fn deny_with_status_429() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request deny deny_status 429 if { path_beg /limited }\n",
    );
    let r = curl(&[], &url(port, "/limited/x"));
    assert_eq!(r.status, 429, "{}", r.head);
    assert_eq!(curl(&[], &url(port, "/free")).text(), "app");
    assert_eq!(request_lines(&app), ["GET /free HTTP/1.1"]);
}

#[test]
fn tarpit_holds_then_answers_500() {
    let (_f, app, port) = with_rules(
        "    timeout tarpit 200ms\n",
        "    http-request tarpit if { path_beg /trap }\n",
    );
    let t0 = Instant::now();
    let r = curl(&[], &url(port, "/trap"));
    let took = t0.elapsed();
    assert_eq!(r.status, 500, "{}", r.head);
    assert!(
        took >= Duration::from_millis(150),
        "answered after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    let t0 = Instant::now();
    assert_eq!(get_with(port, "/ok", "").text(), "app");
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(request_lines(&app), ["GET /ok HTTP/1.1"]);
}

#[test]
fn response_set_status_rewrites_the_servers_status() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request set-var(txn.tea) str(1) if { path_beg /tea }
    http-response set-status 418 reason Teapot if { var(txn.tea) -m found }
",
    );
    let r = curl(&[], &url(port, "/tea"));
    assert!(r.head.starts_with("HTTP/1.1 418 Teapot\r\n"), "{}", r.head);
    assert_eq!(r.text(), "app", "the server's body is kept");
    let r = curl(&[], &url(port, "/coffee"));
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        request_lines(&app),
        ["GET /tea HTTP/1.1", "GET /coffee HTTP/1.1"]
    );
}

#[test]
fn after_response_set_header_applies_to_proxied_responses() {
    let (_f, app, port) = with_rules("", "    http-after-response set-header X-After done\n");
    let r = curl(&[], &url(port, "/p"));
    assert_eq!((r.status, r.text().as_str()), (200, "app"));
    assert_eq!(header(&r.head, "x-after"), ["done"], "{}", r.head);
    let r = get_with(port, "/q", "");
    assert_eq!(header(&r.head, "x-after"), ["done"], "{}", r.head);
    assert_eq!(request_lines(&app), ["GET /p HTTP/1.1", "GET /q HTTP/1.1"]);
}

/// HAProxy evaluates http-after-response on every response, its own
/// included (checked by hand with `haproxy -db` 2.6: return, deny and
/// redirect answers all carry the header).
#[test]
fn after_response_set_header_applies_to_answers_made_by_rules() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request return status 200 content-type text/plain string here if { path /ret }
    http-request deny if { path /no }
    http-request redirect location /elsewhere if { path /red }
    http-after-response set-header X-After done
",
    );
    let r = curl(&[], &url(port, "/ret"));
    assert_eq!((r.status, r.text().as_str()), (200, "here"));
    assert_eq!(header(&r.head, "x-after"), ["done"], "{}", r.head);
    let r = curl(&[], &url(port, "/no"));
    assert_eq!(r.status, 403);
    assert_eq!(header(&r.head, "x-after"), ["done"], "{}", r.head);
    let r = curl(&[], &url(port, "/red"));
    assert_eq!(r.status, 302);
    assert_eq!(header(&r.head, "x-after"), ["done"], "{}", r.head);
    assert!(app.requests().is_empty());
}

#[test]
fn set_src_from_a_header_feeds_the_src_acl() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request set-src hdr(x-client) if { req.hdr(x-client) -m found }
    http-request deny if { src 10.0.0.0/8 }
    http-request set-header X-Seen-Src %[src]
",
    );
    let r = curl(&["-H", "X-Client: 10.1.2.3"], &url(port, "/"));
    assert_eq!(r.status, 403, "{}", r.head);
    let r = curl(&["-H", "X-Client: 192.0.2.7"], &url(port, "/a"));
    assert_eq!((r.status, r.text().as_str()), (200, "app"));
    let r = get_with(port, "/b", "");
    assert_eq!(r.status, 200);
    let seen = app.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(header(&seen[0].head, "x-seen-src"), ["192.0.2.7"]);
    assert_eq!(header(&seen[1].head, "x-seen-src"), ["127.0.0.1"]);
}

/// The normalize-uri rules: HAProxy 2.6 still calls normalize-uri
/// experimental and refuses it unless the global section says
/// `expose-experimental-directives`.
const NORMALIZE_GLOBAL: &str = "    expose-experimental-directives\n";
const NORMALIZE_RULES: &str = "    http-request normalize-uri path-merge-slashes\n";

fn check_merged_slashes(app: &HttpBackend, port: u16) {
    let r = curl(&["--path-as-is"], &url(port, "//a//b///c?x=//y"));
    assert_eq!((r.status, r.text().as_str()), (200, "app"));
    let r = get_with(port, "/d//e/", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        request_lines(app),
        ["GET /a/b/c?x=//y HTTP/1.1", "GET /d/e/ HTTP/1.1"]
    );
}

#[test]
fn normalize_uri_merges_slashes_before_the_server() {
    let (_f, app, port) = with_global(NORMALIZE_GLOBAL, "", NORMALIZE_RULES);
    check_merged_slashes(&app, port);
}

/// The same rules, with HAProxy checking the configuration it needs and
/// fulcrum running it without `expose-experimental-directives` (the bug
/// above), so the action itself stays covered.
#[test]
fn normalize_uri_merges_slashes_without_the_experimental_directive() {
    let app = HttpBackend::start("app");
    let port = free_port();
    let cfg = |global: &str| {
        format!(
            "global
    nbthread 1
{global}defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
{NORMALIZE_RULES}    default_backend app
backend app
    server app1 {}
",
            app.addr
        )
    };
    haproxy_check(&cfg(NORMALIZE_GLOBAL));
    let _f = Fulcrum::start(&cfg(""));
    check_merged_slashes(&app, port);
}

#[test]
fn use_service_prometheus_exporter_serves_metrics() {
    let (_f, app, port) = with_rules(
        "",
        "    http-request use-service prometheus-exporter if { path /metrics }\n",
    );
    assert_eq!(get_with(port, "/x", "").text(), "app");
    let r = curl(&[], &url(port, "/metrics"));
    assert_eq!(r.status, 200, "{}", r.head);
    let ct = header(&r.head, "content-type");
    assert!(ct.len() == 1 && ct[0].starts_with("text/plain"), "{ct:?}");
    let body = r.text();
    assert!(
        body.contains("# TYPE haproxy_process_nbthread gauge"),
        "{body}"
    );
    assert!(
        body.contains("haproxy_frontend_http_requests_total{proxy=\"fe\"}"),
        "{body}"
    );
    assert_eq!(request_lines(&app), ["GET /x HTTP/1.1"]);
}

#[test]
fn stats_admin_if_localhost_shows_the_admin_form() {
    let app = HttpBackend::start("app");
    let (port, strict) = (free_port(), free_port());
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen site
    bind 127.0.0.1:{port}
    stats enable
    stats uri /st
    stats admin if LOCALHOST
    server app1 {}
listen strict
    bind 127.0.0.1:{strict}
    acl local src 127.0.0.1
    stats enable
    stats uri /st
    stats admin if local
    server app1 {}
",
        app.addr, app.addr
    );
    let _f = start(&cfg);
    let form = "<select name=\"action\">";
    let r = curl(&[], &url(port, "/st"));
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.text().contains(form),
        "the admin form is shown to localhost"
    );
    // LOCALHOST is 127.0.0.0/8: 127.0.0.2 is local too.
    let r = curl(&["--interface", "127.0.0.2"], &url(port, "/st"));
    assert!(r.text().contains(form));
    // With a narrower condition, 127.0.0.2 sees the page without the form.
    let r = curl(&["--interface", "127.0.0.2"], &url(strict, "/st"));
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.text().contains("site"), "the page is served");
    assert!(!r.text().contains("<form"), "no admin form for 127.0.0.2");
    let r = curl(&[], &url(strict, "/st"));
    assert!(r.text().contains(form));
    assert_eq!(curl(&[], &url(port, "/")).text(), "app");
    assert_eq!(request_lines(&app), ["GET / HTTP/1.1"]);
}
