//! Differential tests: the same configuration runs through Debian's HAProxy
//! (`haproxy`, 2.6) and through fulcrum, each in front of its own recording
//! backends; the same requests go to both, and what the client and the
//! backends see must agree:
//!
//! - client side: the status and reason, the body (unless it is an HAProxy error page,
//!   `text/html`), and the values of the rule-set response headers
//!   (`x-*`, `location`, `set-cookie`, `content-type`, `www-authenticate`);
//! - backend side: which backend (by name) got the request, or none, the
//!   request line and body as received, and the values of the rule-set
//!   request headers (`x-*`, `host`, `cookie`, `authorization`,
//!   `content-length`).
//!
//! Every difference is reported at once, as a table. `KNOWN` lists the
//! differences that are different by design; it is empty.
//!
//! What HAProxy 2.6.12 does here that may surprise (checked by this test,
//! so fulcrum must do the same):
//!
//! - a fetch that finds nothing gives an empty header value in `set-header`
//!   (the header is still added, empty), not `-` as in logs; and a
//!   converter after a failed fetch is not run: `map(file,default)` on the
//!   Host of an HTTP/1.0 request without Host gives "", not the default;
//! - `hdr_val(x-num)` of `abc` is 0, not a failed fetch;
//! - `hdr_cnt` and `req.hdr` split on commas (`X-Dup: a, b` + `X-Dup: c`
//!   counts 3), `req.fhdr` takes the last whole line;
//! - `cook_cnt()` and `cook(NAME)` look across every Cookie header;
//! - `replace-value` rejoins the values as `A, b,A` (the separator after a
//!   rewritten value loses its space);
//! - `url_dec` keeps `+` (no form decoding unless asked);
//! - `hex` is upper-case;
//! - `append-slash` only acts with `redirect prefix`; `redirect location`
//!   ignores it;
//! - `redirect scheme` keeps the Host's case;
//! - `set-query` with an empty query leaves a trailing `&` (`x=1&`);
//! - `http-response` rules do not run on responses HAProxy makes itself
//!   (`deny`, `return`, `redirect`, `auth`);
//! - the request line keeps `HTTP/1.0` towards the server.
//!
//! HAProxy must be installed (CI installs Debian's `haproxy`). Set
//! `FULCRUM_DIFF_SHOW=1` to print what HAProxy answered for every case.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::net::{free_port, read_response, Answer, Fulcrum, HttpBackend};
use common::{check, TempPath};

/// Differences that are different by design: (case name, field, reason).
/// Fields are named as in the report: `status`, `reason`, `body`, `backend`,
/// `req-line`, `req-body`, `req:NAME`, `resp:NAME`.
const KNOWN: &[(&str, &str, &str)] = &[];

/// The rules configuration; `{NAME}` placeholders are substituted.
const RULES_TEMPLATE: &str = include_str!("data/differential_rules.cfg.tmpl");

/// A configuration with no rules: the harness check.
const PLAIN_TEMPLATE: &str = "global
    nbthread 1

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:{PORT}
    bind 127.0.0.1:{PORT2}
    option forwardfor
    default_backend be_web

backend be_web
    server web1 {WEB}
";

/// Request headers compared besides every `x-*` one.
const REQ_HEADERS: &[&str] = &["host", "cookie", "authorization", "content-length"];

/// Response headers compared besides every `x-*` one.
const RESP_HEADERS: &[&str] = &["location", "set-cookie", "content-type", "www-authenticate"];

/// Map files for the `map*` converters.
const MAPS: &[(&str, &str)] = &[
    ("hosts.map", "example.com ex\nwww.example.com wwwex\n"),
    ("paths.map", "/api api-prefix\n/static static-prefix\n"),
];

/// The backends each proxy gets: (placeholder, backend name, answer).
fn backends() -> Vec<(&'static str, &'static str, Answer)> {
    let text = |s: &str| Answer::Text(s.to_string());
    vec![
        ("API1", "be_api", text("api")),
        ("API2", "be_api", text("api")),
        ("WEB", "be_web", text("web")),
        ("STATIC", "be_static", text("static")),
        ("ERR", "be_err", Answer::Status(404, "missing".to_string())),
        ("ADMIN", "be_admin", text("admin")),
    ]
}

// ---------------------------------------------------------------------------
// Request cases

/// One request sent to both proxies.
struct Case {
    name: &'static str,
    method: &'static str,
    target: &'static str,
    version: &'static str,
    headers: Vec<&'static str>,
    body: &'static str,
    /// The client's source address (any 127/8 address works on Linux).
    from: &'static str,
    /// Sent to the frontend's second `bind` (for `dst_port`).
    port2: bool,
}

impl Case {
    /// The raw request: HTTP/1.1 gets `Host: t.test` unless a Host is given,
    /// and `Connection: close`; HTTP/1.0 gets only what is given.
    fn raw(&self) -> String {
        let mut s = format!("{} {} {}\r\n", self.method, self.target, self.version);
        let v11 = self.version == "HTTP/1.1";
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with(name))
        };
        if v11 && !has("host:") {
            s.push_str("Host: t.test\r\n");
        }
        for h in &self.headers {
            s.push_str(h);
            s.push_str("\r\n");
        }
        if !self.body.is_empty() && !has("content-length:") {
            s.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if v11 {
            s.push_str("Connection: close\r\n");
        }
        s.push_str("\r\n");
        s.push_str(self.body);
        s
    }

    fn h(mut self, header: &'static str) -> Case {
        self.headers.push(header);
        self
    }
    fn from(mut self, addr: &'static str) -> Case {
        self.from = addr;
        self
    }
    fn port2(mut self) -> Case {
        self.port2 = true;
        self
    }
    fn v10(mut self) -> Case {
        self.version = "HTTP/1.0";
        self
    }
    fn body(mut self, body: &'static str) -> Case {
        self.body = body;
        self
    }
}

fn req(name: &'static str, method: &'static str, target: &'static str) -> Case {
    Case {
        name,
        method,
        target,
        version: "HTTP/1.1",
        headers: Vec::new(),
        body: "",
        from: "127.0.0.1",
        port2: false,
    }
}

fn get(name: &'static str, target: &'static str) -> Case {
    req(name, "GET", target)
}

/// The requests, grouped by the rule family they exercise; each family has
/// cases where its rules match and cases where they do not.
fn cases() -> Vec<Case> {
    vec![
        // ACL logic: named ACLs (two lines ORed), if/unless, AND, ||, or, !, { }.
        get("acl-api", "/api/users"),
        get("acl-api-second-line", "/v1/api/x"),
        get("acl-and-query", "/api/x?q=1"),
        get("acl-or-path-end", "/img/a.png"),
        get("acl-or-path-dir", "/static/css/app.css"),
        get("acl-or-miss", "/img/a.gif"),
        get("acl-path-reg", "/re/123"),
        get("acl-path-reg-miss", "/re/12a"),
        get("acl-path-exact", "/exact"),
        get("acl-path-exact-miss", "/exact/"),
        get("acl-anon-and", "/acl/anon?a=1"),
        get("acl-anon-and-miss", "/acl/anon?b=1"),
        req("acl-mix-post-api", "POST", "/api/items").body("data"),
        get("acl-url", "/acl/url?x=1"),
        get("acl-base", "/acl/base/x").h("Host: example.com"),
        get("acl-base-case", "/acl/base/x").h("Host: Example.com"),
        get("acl-url-param", "/p?debug=1"),
        get("acl-url-param-miss", "/p?debug=10&x=debug"),
        req("acl-method-put", "PUT", "/put").h("Content-Length: 0"),
        get("acl-hdr-i", "/h").h("Host: EXAMPLE.com"),
        get("acl-hdr-beg", "/h").h("Host: www.foo.test"),
        get("acl-hdr-dom", "/h").h("Host: api.example.org"),
        get("acl-hdr-dom-miss", "/h").h("Host: notexample.org"),
        // Fetches (x-f-*), on every request, and duplicate headers.
        get("fetch-all", "/fetch/a/b?q=hello&v=abc&e=a%20b%2Fc"),
        get("fetch-dup-split-last", "/dup")
            .h("X-Dup: c")
            .h("X-Dup: a, b"),
        get("fetch-dup-plain-last", "/dup")
            .h("X-Dup: a, b")
            .h("X-Dup: c"),
        get("fetch-num-big", "/num").h("X-Num: 150"),
        get("fetch-num-small", "/num").h("X-Num: 7"),
        get("fetch-num-text", "/num").h("X-Num: abc"),
        get("fetch-cookies", "/c").h("Cookie: user=bob; role=admin"),
        get("fetch-cookie-one", "/c").h("Cookie: role=user"),
        get("fetch-cookie-two-headers", "/c")
            .h("Cookie: user=amy")
            .h("Cookie: role=admin; x=1"),
        get("fetch-src-low", "/src").from("127.0.0.2"),
        get("fetch-src-ip", "/src").from("127.0.0.5"),
        get("fetch-src-net", "/src").from("127.0.0.10"),
        get("fetch-src-none", "/src").from("127.0.0.20"),
        get("fetch-dst-port", "/port").port2(),
        get("fetch-http10", "/v10").v10(),
        get("fetch-http10-host", "/v10?q=x")
            .v10()
            .h("Host: Old.Example"),
        // Converters (x-c-*).
        get("conv-path", "/conv/foo/boo?v=hello%21&e=x%2By+z"),
        get("conv-map-www", "/api/m").h("Host: WWW.Example.com"),
        get("conv-map-plain", "/static/m").h("Host: example.com"),
        get("conv-map-miss", "/m").h("Host: other.test"),
        // Variables.
        get("var-unset", "/var/unset"),
        get("var-user-cookie", "/act/log?user=alice").h("Host: Mixed.Case"),
        // Header actions.
        get("act-add", "/act/add").h("X-Act-Add: zero"),
        get("act-set", "/act/set")
            .h("X-Act-Set: orig")
            .h("X-Act-Set: orig2"),
        get("act-set-miss", "/other").h("X-Act-Set: orig"),
        get("act-del", "/act/del").h("X-Remove: 1").h("X-Keep: 1"),
        get("act-del-miss", "/act/keep").h("X-Remove: 1"),
        get("act-replace-header", "/act/rep").h("X-Rep: foo-bar"),
        get("act-replace-header-miss", "/act/rep").h("X-Rep: foo_bar"),
        get("act-replace-value", "/act/repval").h("X-List: a, b, a"),
        // Rewrites.
        get("rw-set-path", "/rw/setpath/x?k=v"),
        get("rw-replace-path", "/rw/rp/a/b?z=1"),
        get("rw-set-query", "/rw/setquery?y=2"),
        get("rw-set-query-empty", "/rw/setquery"),
        get("rw-set-uri", "/rw/seturi/p?q=1"),
        get("rw-set-method", "/rw/method"),
        // Authentication (u:p is in group admins, v:q is not).
        get("auth-none", "/auth/x"),
        get("auth-ok", "/auth/x").h("Authorization: Basic dTpw"),
        get("auth-bad-password", "/auth/x").h("Authorization: Basic djp4"),
        get("auth-group-miss", "/auth/admin").h("Authorization: Basic djpx"),
        get("auth-group-ok", "/auth/admin/x").h("Authorization: Basic dTpw"),
        // Answers: allow, deny, return, redirect.
        get("allow-skips-deny", "/allow/secret"),
        get("deny-path-sub", "/x/secret"),
        get("deny-429", "/deny/429"),
        get("deny-default", "/deny/other"),
        get("return-200", "/return"),
        get("return-503", "/return/503"),
        get("redirect-location", "/redir/loc"),
        get("redirect-location-lf", "/redir/loc-lf/a?b=1"),
        get("redirect-prefix", "/redir/prefix/x?y=1"),
        get("redirect-drop-query", "/redir/dq/x?y=1"),
        get("redirect-append-slash", "/redir/slash/x"),
        get("redirect-append-slash-has", "/redir/slash/x/"),
        get("redirect-location-append-slash", "/redir/loc-slash"),
        get("redirect-scheme", "/redir/scheme/x?y=1").h("Host: Mixed.Case"),
        // Response rules.
        get("resp-add", "/resp/add"),
        get("resp-del", "/resp/del"),
        get("resp-replace", "/resp/rep"),
        get("resp-set-status", "/resp/status"),
        get("resp-status-404", "/missing/x"),
        get("resp-deny", "/resp/deny"),
        // Routing.
        get("route-api", "/api"),
        get("route-static", "/pics/a.jpg"),
        get("route-default", "/anything"),
        req("route-post-default", "POST", "/form").body("a=1&b=2"),
    ]
}

// ---------------------------------------------------------------------------
// HAProxy as a child process

use common::haproxy::Haproxy;

// ---------------------------------------------------------------------------
// One side: a proxy's ports, its backends, and what each case gave

/// The ports and backends one proxy runs with.
struct Side {
    port: u16,
    port2: u16,
    /// (backend name, server) pairs.
    servers: Vec<(&'static str, HttpBackend)>,
}

impl Side {
    fn new() -> Side {
        Side {
            port: free_port(),
            port2: free_port(),
            servers: backends()
                .into_iter()
                .map(|(_, name, answer)| (name, HttpBackend::with(answer)))
                .collect(),
        }
    }

    /// `template` with this side's ports and servers, and the map directory.
    fn config(&self, template: &str, maps: &Path) -> String {
        let mut s = template
            .replace("{PORT}", &self.port.to_string())
            .replace("{PORT2}", &self.port2.to_string())
            .replace("{MAPS}", &maps.display().to_string());
        for ((placeholder, _, _), (_, b)) in backends().iter().zip(&self.servers) {
            s = s.replace(&format!("{{{placeholder}}}"), &b.addr.to_string());
        }
        let left = s.split('{').skip(1).find(|rest| {
            let word: String = rest.chars().take_while(|c| *c != '}').collect();
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
        assert!(left.is_none(), "unsubstituted placeholder in:\n{s}");
        s
    }

    /// Sends every case and records what the client and the backends saw.
    fn run(&self, cases: &[Case]) -> Vec<BTreeMap<String, String>> {
        cases.iter().map(|c| self.observe(c)).collect()
    }

    fn observe(&self, case: &Case) -> BTreeMap<String, String> {
        let before: Vec<usize> = self
            .servers
            .iter()
            .map(|(_, b)| b.requests().len())
            .collect();
        let port = if case.port2 { self.port2 } else { self.port };
        let mut out = BTreeMap::new();
        match send(case.from, port, &case.raw()) {
            None => {
                out.insert("status".to_string(), "(no response)".to_string());
            }
            Some(resp) => {
                out.insert("status".to_string(), resp.status.to_string());
                let line = resp.head.lines().next().unwrap_or("");
                let reason = line.splitn(3, ' ').nth(2).unwrap_or("");
                out.insert("reason".to_string(), reason.to_string());
                let headers = header_values(&resp.head, RESP_HEADERS);
                let html = headers
                    .get("content-type")
                    .is_some_and(|v| v.starts_with("text/html"));
                if !html {
                    out.insert("body".to_string(), resp.text());
                }
                for (k, v) in headers {
                    out.insert(format!("resp:{k}"), v);
                }
            }
        }
        // Which backends got a request; the backend records it before it
        // answers, so it is there once the response has arrived.
        let mut got = Vec::new();
        for ((name, b), n) in self.servers.iter().zip(before) {
            for seen in b.requests().into_iter().skip(n) {
                got.push((*name, seen));
            }
        }
        let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
        out.insert(
            "backend".to_string(),
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join("+")
            },
        );
        if let [(_, seen)] = got.as_slice() {
            let line = seen.head.lines().next().unwrap_or("");
            out.insert("req-line".to_string(), line.to_string());
            out.insert(
                "req-body".to_string(),
                String::from_utf8_lossy(&seen.body).into_owned(),
            );
            for (k, v) in header_values(&seen.head, REQ_HEADERS) {
                out.insert(format!("req:{k}"), v);
            }
        }
        out
    }
}

/// Sends `raw` from `from` (a 127/8 address) to 127.0.0.1:`port`, and reads
/// one response.
fn send(from: &str, port: u16, raw: &str) -> Option<common::net::Response> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let local: SocketAddr = format!("{from}:0").parse().expect("source address");
    let remote: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    sock.bind(&SockAddr::from(local)).expect("bind source");
    sock.connect_timeout(&SockAddr::from(remote), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {remote} from {from}: {e}"));
    let mut s = TcpStream::from(sock);
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(raw.as_bytes()).ok()?;
    read_response(&mut s, &mut Vec::new())
}

/// The values of the headers named in `names` and of every `x-*` header,
/// by lower-case name; repeated headers joined with " | ".
fn header_values(head: &str, names: &[&str]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if !(name.starts_with("x-") || names.contains(&name.as_str())) {
            continue;
        }
        let value = value.trim();
        out.entry(name)
            .and_modify(|v| {
                v.push_str(" | ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
    out
}

// ---------------------------------------------------------------------------
// The comparison

/// Runs `template` through HAProxy and fulcrum and compares every case.
fn differential(tag: &str, template: &str) {
    let cases = cases();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    for (name, field, _) in KNOWN {
        assert!(names.contains(name), "KNOWN names no case: {name} {field}");
    }

    let maps = TempPath::dir(&format!("{tag}-maps"));
    for (file, text) in MAPS {
        std::fs::write(maps.path().join(file), text).expect("write map");
    }

    // HAProxy first: it validates the configuration and the harness.
    let h_side = Side::new();
    let h_cfg = h_side.config(template, maps.path());
    let h_seen = {
        let h = Haproxy::start(&h_cfg, &[h_side.port, h_side.port2]);
        let seen = h_side.run(&cases);
        drop(h);
        seen
    };
    if std::env::var_os("FULCRUM_DIFF_SHOW").is_some() {
        for (c, seen) in cases.iter().zip(&h_seen) {
            eprintln!("== {} ({} {} {})", c.name, c.method, c.target, c.version);
            for (k, v) in seen {
                eprintln!("   {k}: {v}");
            }
        }
    }

    let f_side = Side::new();
    let f_cfg = f_side.config(template, maps.path());
    let f_file = TempPath::file(&format!("{tag}-fulcrum"), &f_cfg);
    let run = check(&[f_file.path()]);
    assert!(
        run.code == Some(0),
        "fulcrum -c refuses the {tag} configuration that HAProxy accepts \
         (exit {:?}):\n{}{}",
        run.code,
        run.stdout,
        run.stderr
    );
    let f_seen = {
        let _f = Fulcrum::start(&f_cfg);
        f_side.run(&cases)
    };

    let mut rows = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (h, f) = (&h_seen[i], &f_seen[i]);
        let fields: BTreeSet<&String> = h.keys().chain(f.keys()).collect();
        for field in fields {
            let absent = "(absent)".to_string();
            let hv = h.get(field).unwrap_or(&absent);
            let fv = f.get(field).unwrap_or(&absent);
            if hv == fv || KNOWN.iter().any(|(n, k, _)| *n == c.name && k == field) {
                continue;
            }
            rows.push([
                format!("{i:02} {} ({} {})", c.name, c.method, c.target),
                field.clone(),
                hv.clone(),
                fv.clone(),
            ]);
        }
    }
    assert!(
        rows.is_empty(),
        "{} differences between HAProxy and fulcrum over {} requests ({tag}):\n{}",
        rows.len(),
        cases.len(),
        table(&rows)
    );
}

/// Rows as an aligned table with a header line.
fn table(rows: &[[String; 4]]) -> String {
    let head = [
        "request".to_string(),
        "field".to_string(),
        "haproxy".to_string(),
        "fulcrum".to_string(),
    ];
    let clip = |s: &str| -> String {
        let s = s.replace('\n', "\\n").replace('\r', "\\r");
        if s.chars().count() > 60 {
            format!("{}...", s.chars().take(57).collect::<String>())
        } else {
            s
        }
    };
    let all: Vec<[String; 4]> = std::iter::once(head)
        .chain(rows.iter().cloned())
        .map(|r| r.map(|c| clip(&c)))
        .collect();
    let mut width = [0usize; 4];
    for r in &all {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &all {
        for (k, (w, c)) in width.iter().zip(r).enumerate() {
            if k == 3 {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push('\n');
    }
    out
}

/// A configuration with no rules: a frontend, forwardfor and a default
/// backend. Checks the harness; passes with today's fulcrum.
#[test]
fn differential_no_rules() {
    differential("plain", PLAIN_TEMPLATE);
}

/// The rules configuration (tests/data/differential_rules.cfg.tmpl): ACLs,
/// fetches, converters, http-request and http-response actions, use_backend.
#[test]
fn differential_rules() {
    differential("rules", RULES_TEMPLATE);
}
