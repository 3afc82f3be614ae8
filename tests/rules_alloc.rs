//! Evaluating rules allocates nothing when no action builds a string:
//! the 50-rule frontend of benches/bench-rules.cfg runs over a typical
//! request under a counting allocator, and the count must not move.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use fulcrum::config::parse_cfg;
use fulcrum::proxy::http::head::{parse_request, HeadLimits};
use fulcrum::rules::action::{self, Env, RuleSet, Target, Verdict};
use fulcrum::rules::facts::{NoWorld, Vars};
use fulcrum::rules::http::View;

/// Counts every allocation made by this test binary.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn fifty_rules_allocate_nothing_per_request() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/bench-rules.cfg"
    ))
    .expect("read benches/bench-rules.cfg");
    let parsed = parse_cfg(&text, "bench-rules.cfg");
    assert!(!parsed.diags.has_errors(), "{}", parsed.diags);
    let c = parsed.config;
    let p = c
        .proxies
        .iter()
        .find(|p| p.name == "bench_http")
        .expect("bench_http");
    let rules = fulcrum::rules::compile(&c, p).expect("rules compile");
    assert_eq!(rules.http_request.len(), 25);
    let buf = b"GET /index.html?x=1 HTTP/1.1\r\nHost: 127.0.0.1:19201\r\nUser-Agent: wrk/4.2\r\nAccept: */*\r\nCookie: a=1; b=2\r\n\r\n";
    let head = parse_request(buf, false, HeadLimits::DEFAULT).expect("request");
    let world = NoWorld;
    let run_once = |msg: &mut fulcrum::rules::http::Head, vars: &mut Vars| {
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
            head: msg,
            other: None,
            set: RuleSet::Request,
        };
        let v = action::run(&rules.http_request, &mut env, &mut t, vars);
        assert_eq!(v, Verdict::Continue);
        let f = env.facts(Some(View { buf, head: msg }), None, vars);
        let chosen = rules
            .use_backend
            .iter()
            .find(|(c, _)| c.as_ref().is_none_or(|c| c.holds(&f)));
        assert!(
            chosen.is_none(),
            "no use_backend rule applies to this request"
        );
    };
    let mut msg = head.msg.clone();
    let mut vars = Vars::default();
    // Once to warm lazily built state (regex caches).
    run_once(&mut msg, &mut vars);
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        run_once(&mut msg, &mut vars);
    }
    let per_request = (ALLOCS.load(Ordering::Relaxed) - before) as f64 / 1000.0;
    assert_eq!(per_request, 0.0, "allocations per request");
}
