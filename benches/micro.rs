//! Criterion micro-benchmarks of fulcrum's hot pieces:
//!
//! - `http/*`: request-head parse, request-head rewrite (with and without
//!   `option forwardfor`), response-head parse and rewrite;
//! - `balance/*`: one `pick` of each `balance` algorithm over 10 servers, and
//!   of a few over 100 servers;
//! - `config/*`: `parse_cfg` (and `validate`) of a generated file with 1,000
//!   backends.
//!
//! Run: `cargo bench --bench micro` (about a minute). Pass a filter to run a
//! part: `cargo bench --bench micro -- balance/`. Each benchmark is kept short
//! (0.5 s warm-up, 2 s of measurement, 20 samples), so figures are a guide to
//! relative cost and regressions, not precise to the nanosecond.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use fulcrum::balance::{Balancer, Candidate, RequestKey};
use fulcrum::config::model::{Balance, UriHash};
use fulcrum::proxy::http::head::{parse_request, parse_response, HeadLimits};
use fulcrum::proxy::http::rewrite::{self, RequestEdit};
use fulcrum::state::ServerState;

/// What `wrk` sends.
const REQ_SMALL: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:19201\r\n\r\n";

/// What a browser sends: 11 headers, a cookie, a query string.
const REQ_BROWSER: &[u8] = b"GET /catalog/items/42?lang=en&session=abcdef0123456789 HTTP/1.1\r\n\
Host: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://shop.example.com/catalog/items\r\n\
Cookie: SERVERID=s1; sessionid=0123456789abcdef0123456789abcdef; theme=dark\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
X-Request-Id: 7f1c0b9e-5a8e-4c53-9d5e-2b8f5a1d3c77\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

/// nginx's answer to `/` in the end-to-end harness.
const RESP_SMALL: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.22.1\r\n\
Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n\
Content-Type: text/plain\r\n\
Content-Length: 3\r\n\
Connection: keep-alive\r\n\
\r\n\
ok\n";

fn http(c: &mut Criterion) {
    let mut g = c.benchmark_group("http");
    for (name, req) in [("small", REQ_SMALL), ("browser", REQ_BROWSER)] {
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_function(format!("parse_request/{name}"), |b| {
            b.iter(|| parse_request(black_box(req), false, HeadLimits::DEFAULT).unwrap())
        });
    }

    let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let ff = fulcrum::proxy::http::rewrite::AddedAddress {
        header: "X-Forwarded-For",
        addr: client,
        if_none: false,
    };
    for (name, req) in [("small", REQ_SMALL), ("browser", REQ_BROWSER)] {
        let head = parse_request(req, false, HeadLimits::DEFAULT).unwrap();
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_function(format!("rewrite_request/{name}"), |b| {
            let edit = RequestEdit {
                forwarded_for: None,
                original_to: None,
                server_close: false,
                drop_expect: false,
                strip_cookie: None,
                unique_id: None,
                server_name_header: None,
            };
            b.iter(|| rewrite::request(black_box(req), black_box(&head), &head.msg, &edit))
        });
        g.bench_function(format!("rewrite_request_forwardfor/{name}"), |b| {
            let edit = RequestEdit {
                forwarded_for: Some(ff),
                original_to: None,
                server_close: false,
                drop_expect: false,
                strip_cookie: None,
                unique_id: None,
                server_name_header: None,
            };
            b.iter(|| rewrite::request(black_box(req), black_box(&head), &head.msg, &edit))
        });
        // The whole per-request head work on the client side: parse, then rewrite.
        g.bench_function(format!("parse_and_rewrite_request/{name}"), |b| {
            let edit = RequestEdit {
                forwarded_for: None,
                original_to: None,
                server_close: false,
                drop_expect: false,
                strip_cookie: None,
                unique_id: None,
                server_name_header: None,
            };
            b.iter(|| {
                let head = parse_request(black_box(req), false, HeadLimits::DEFAULT).unwrap();
                rewrite::request(req, &head, &head.msg, &edit)
            })
        });
    }

    g.throughput(Throughput::Bytes(RESP_SMALL.len() as u64));
    g.bench_function("parse_response/small", |b| {
        b.iter(|| {
            parse_response(
                black_box(RESP_SMALL),
                false,
                false,
                false,
                HeadLimits::DEFAULT,
            )
            .unwrap()
        })
    });
    let resp = parse_response(RESP_SMALL, false, false, false, HeadLimits::DEFAULT).unwrap();
    g.bench_function("rewrite_response/small", |b| {
        b.iter(|| rewrite::response(black_box(RESP_SMALL), black_box(&resp), &resp.msg, 1, false))
    });
    g.finish();
}

/// Every `balance` algorithm, with the key a request would offer it.
fn algorithms() -> Vec<(&'static str, Balance)> {
    vec![
        ("roundrobin", Balance::Roundrobin),
        ("static-rr", Balance::StaticRr),
        ("leastconn", Balance::Leastconn),
        ("first", Balance::First),
        ("source", Balance::Source),
        ("uri", Balance::Uri(UriHash::default())),
        (
            "url_param",
            Balance::UrlParam {
                param: "session".to_string(),
            },
        ),
        (
            "hdr",
            Balance::Hdr {
                name: "Host".to_string(),
                use_domain_only: false,
            },
        ),
        ("random", Balance::Random { draws: 2 }),
    ]
}

fn servers(n: usize) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            backup: false,
            maxconn: Some(1000),
            // Unequal weights, so that weighted tables are not trivial.
            state: Arc::new(ServerState::with_weight(false, 1 + (i % 4) as u32)),
        })
        .collect()
}

fn balance(c: &mut Criterion) {
    let mut g = c.benchmark_group("balance");
    let key = RequestKey {
        client: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
        uri: Some("/catalog/items/42?lang=en&session=abcdef0123456789"),
        header: Some(b"shop.example.com"),
    };
    for (name, algo) in algorithms() {
        let b10 = Balancer::new(&algo, servers(10), false, true);
        g.bench_function(format!("pick/{name}/10"), |b| {
            b.iter(|| b10.pick(black_box(&key), None))
        });
    }
    for (name, algo) in algorithms() {
        if !matches!(name, "roundrobin" | "leastconn" | "source") {
            continue;
        }
        let b100 = Balancer::new(&algo, servers(100), false, true);
        g.bench_function(format!("pick/{name}/100"), |b| {
            b.iter(|| b100.pick(black_box(&key), None))
        });
    }
    g.finish();
}

/// A haproxy.cfg with one frontend routing to `n` backends of two servers
/// each (one a backup). The addresses are never connected to.
fn big_config(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    s.push_str(
        "global\n    maxconn 4000\n    nbthread 1\n\n\
         defaults\n    mode http\n    option forwardfor\n    option http-keep-alive\n    \
         retries 3\n    option redispatch\n    timeout connect 5s\n    timeout client 30s\n    \
         timeout server 30s\n    timeout queue 10s\n\n\
         frontend fe\n    bind 127.0.0.1:18080\n    default_backend be0\n",
    );
    for i in 0..n {
        s.push_str(&format!("    use_backend be{i} if LOCALHOST\n"));
    }
    for i in 0..n {
        let algo = ["roundrobin", "leastconn", "source", "uri", "first"][i % 5];
        s.push_str(&format!(
            "\nbackend be{i}\n    balance {algo}\n    \
             server s1 127.1.{}.{}:8080 weight {} maxconn 100\n    \
             server s2 127.2.{}.{}:8080 backup\n",
            i / 256,
            i % 256,
            1 + i % 10,
            i / 256,
            i % 256,
        ));
    }
    s
}

fn config_parse(c: &mut Criterion) {
    let text = big_config(1000);
    let parsed = fulcrum::config::parse_cfg(&text, "bench.cfg");
    assert!(
        !parsed.diags.has_errors(),
        "generated config has errors: {:?}",
        parsed.diags.errors().next()
    );
    assert!(!fulcrum::config::validate(&parsed.config).has_errors());
    let mut g = c.benchmark_group("config");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse_cfg/1000_backends", |b| {
        b.iter(|| fulcrum::config::parse_cfg(black_box(&text), "bench.cfg"))
    });
    g.bench_function("validate/1000_backends", |b| {
        b.iter(|| fulcrum::config::validate(black_box(&parsed.config)))
    });
    g.finish();
}

/// The 50-rule frontend of benches/bench-rules.cfg over a request that
/// triggers no action but the final allow (tests/rules_alloc.rs checks it
/// allocates nothing).
fn rules(c: &mut Criterion) {
    use fulcrum::rules::action::{self, Env, RuleSet, Target};
    use fulcrum::rules::facts::{NoWorld, Vars};
    let text = include_str!("bench-rules.cfg");
    let parsed = fulcrum::config::parse_cfg(text, "bench-rules.cfg");
    let cfg = parsed.config;
    let p = cfg
        .proxies
        .iter()
        .find(|p| p.name == "bench_http")
        .expect("bench_http");
    let rules = fulcrum::rules::compile(&cfg, p).expect("rules");
    let buf = b"GET /index.html?x=1 HTTP/1.1\r\nHost: 127.0.0.1:19201\r\nUser-Agent: wrk/4.2\r\nAccept: */*\r\n\r\n";
    let head = parse_request(buf, false, HeadLimits::DEFAULT).expect("request");
    let world = NoWorld;
    let mut g = c.benchmark_group("rules");
    g.bench_function("http_request/50_lines", |b| {
        let mut msg = head.msg.clone();
        let mut vars = Vars::default();
        b.iter(|| {
            let mut env = Env {
                src: "127.0.0.1:40000".parse().unwrap(),
                dst: "127.0.0.1:19201".parse().unwrap(),
                frontend: "bench_http",
                backend: None,
                server: None,
                req_body_len: Some(0),
                world: &world,
                tracked: Default::default(),
                conn: fulcrum::rules::facts::ConnFacts::none(),
                stream: None,
                unique_id_format: None,
            };
            let mut t = Target {
                buf,
                head: &mut msg,
                other: None,
                set: RuleSet::Request,
            };
            black_box(action::run(
                &rules.http_request,
                &mut env,
                &mut t,
                &mut vars,
            ))
        })
    });
    g.finish();
}

fn short() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = micro;
    config = short();
    targets = http, balance, config_parse, rules
}
criterion_main!(micro);
