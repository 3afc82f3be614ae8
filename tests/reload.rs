//! Reloads under traffic: nothing refused or cut on the frontends that stay,
//! health kept, a broken config refused, old TCP sessions untouched.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::net::{
    connect, echo_server, free_port, get, read_response, request, Fulcrum, HttpBackend,
};

struct Ports {
    ka: u16,
    close: u16,
    tcp: u16,
    extra_a: u16,
    extra_b: u16,
}

/// A configuration generation `n`: servers come and go, weights change, and
/// one extra frontend port alternates between two ports.
fn config(p: &Ports, n: usize, http: &[&HttpBackend], echo: std::net::SocketAddr) -> String {
    let mut servers = String::new();
    for (i, b) in http.iter().enumerate() {
        // Server 0 always stays; the others come and go with the generation.
        if i == 0 || !(n + i).is_multiple_of(3) {
            servers.push_str(&format!(
                "    server s{i} {} weight {}\n",
                b.addr,
                1 + (n + i) % 4
            ));
        }
    }
    let extra = if n.is_multiple_of(2) {
        p.extra_a
    } else {
        p.extra_b
    };
    format!(
        "global
    nbthread 2
defaults
    mode http
    retries 3
    option redispatch
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen ka
    bind 127.0.0.1:{ka}
{servers}listen close
    bind 127.0.0.1:{close}
    option httpclose
{servers}listen tcp
    mode tcp
    bind 127.0.0.1:{tcp}
    server e {echo}
listen extra
    bind 127.0.0.1:{extra}
{servers}",
        ka = p.ka,
        close = p.close,
        tcp = p.tcp,
    )
}

#[test]
fn fifty_reloads_under_load_lose_nothing() {
    let backends: Vec<HttpBackend> = (0..4)
        .map(|i| HttpBackend::start(&format!("b{i}")))
        .collect();
    let refs: Vec<&HttpBackend> = backends.iter().collect();
    let echo = echo_server();
    let p = Ports {
        ka: free_port(),
        close: free_port(),
        tcp: free_port(),
        extra_a: free_port(),
        extra_b: free_port(),
    };
    let f = Fulcrum::start(&config(&p, 0, &refs, echo));
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    // Keep-alive client.
    {
        let (stop, ok, failed, port) = (stop.clone(), ok.clone(), failed.clone(), p.ka);
        load.push(std::thread::spawn(move || {
            let mut c = connect(port);
            let mut pending = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let good = c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").is_ok()
                    && read_response(&mut c, &mut pending).is_some_and(|r| r.status == 200);
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    c = connect(port);
                    pending.clear();
                }
            }
        }));
    }
    // New connection per request.
    {
        let (stop, ok, failed, port) = (stop.clone(), ok.clone(), failed.clone(), p.close);
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match request(port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") {
                    Some(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // TCP: a new echo session per round.
    {
        let (stop, ok, failed, port) = (stop.clone(), ok.clone(), failed.clone(), p.tcp);
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut c = connect(port);
                let mut got = [0u8; 4];
                let good = c.write_all(b"ping").is_ok()
                    && c.read_exact(&mut got).is_ok()
                    && &got == b"ping";
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for n in 1..=50 {
        assert!(f.reload(&config(&p, n, &refs, echo)), "reload {n} refused");
        // The port this generation added serves at once.
        let extra = if n % 2 == 0 { p.extra_a } else { p.extra_b };
        assert_eq!(
            get(extra, "/").status,
            200,
            "generation {n}: the added port"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().expect("load thread");
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("50 reloads: {ok} requests/sessions succeeded, {failed} failed");
    assert!(ok > 100, "too little load to mean anything: {ok}");
    assert_eq!(failed, 0);
}

#[test]
fn a_server_down_before_a_reload_is_still_down_right_after() {
    let (a, b) = (HttpBackend::start("a"), HttpBackend::start("b"));
    a.health.store(503, Ordering::Relaxed);
    let port = free_port();
    let cfg = |w: u32| {
        format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    option httpchk GET /health\n    server a {} check inter 5s fall 1\n    server b {} check inter 5s weight {w}\n",
            a.addr, b.addr
        )
    };
    // `fall 1`: DOWN at its first check, within one interval of the start.
    let f = Fulcrum::start(&cfg(1));
    let deadline = Instant::now() + Duration::from_secs(15);
    while f.count("web/a is DOWN") == 0 {
        assert!(Instant::now() < deadline, "a never went DOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The health endpoint recovers, but checks run only every 5 s: right after
    // the reload, `a` must still be DOWN (HAProxy 2.6 would send it traffic).
    a.health.store(200, Ordering::Relaxed);
    assert!(f.reload(&cfg(2)));
    for _ in 0..10 {
        assert_eq!(get(port, "/").text(), "b");
    }
}

#[test]
fn a_broken_config_is_refused_and_traffic_goes_on() {
    let b = HttpBackend::start("a");
    let port = free_port();
    let good = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server a {}\n",
        b.addr
    );
    let f = Fulcrum::start(&good);
    let mut c = connect(port);
    let mut pending = Vec::new();
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_response(&mut c, &mut pending).expect("before").status,
        200
    );
    assert!(
        !f.reload(&format!("{good}    optoin httplog\n")),
        "a broken config must be refused"
    );
    let log = f.log.lock().expect("log").join("\n");
    assert!(log.contains(":9: unknown keyword 'optoin'"), "{log}");
    // The same kept-alive connection and new ones still work.
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_response(&mut c, &mut pending).expect("after").status,
        200
    );
    assert_eq!(get(port, "/").status, 200);
}

#[test]
fn a_tcp_session_survives_ten_reloads() {
    let echo = echo_server();
    let port = free_port();
    let cfg = |n: usize| {
        format!(
            "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten raw\n    bind 127.0.0.1:{port}\n    server e{n} {echo}\n"
        )
    };
    let f = Fulcrum::start(&cfg(0));
    let mut c = connect(port);
    for n in 1..=10 {
        assert!(f.reload(&cfg(n)));
        let msg = format!("after reload {n}");
        c.write_all(msg.as_bytes()).expect("write");
        let mut got = vec![0u8; msg.len()];
        c.read_exact(&mut got).expect("echo");
        assert_eq!(got, msg.as_bytes());
    }
}

#[test]
fn sigusr1_lets_open_connections_finish_then_exits() {
    let echo = echo_server();
    let port = free_port();
    let mut f = Fulcrum::start(&format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten raw\n    bind 127.0.0.1:{port}\n    server e {echo}\n"
    ));
    let mut c = connect(port);
    f.signal("USR1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.count("stopping: no new connections") == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    // No new connections...
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    // ...but the open one still works, and the process waits for it.
    c.write_all(b"still").expect("write");
    let mut got = [0u8; 5];
    c.read_exact(&mut got).expect("echo");
    assert_eq!(&got, b"still");
    drop(c);
    let st = f.wait_exit().expect("exits once the connection is gone");
    assert!(st.success());
}

#[test]
fn daemon_mode_detaches_and_writes_the_pidfile() {
    let echo = echo_server();
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("fulcrum-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cfg, pidfile) = (dir.join("d.cfg"), dir.join("fulcrum.pid"));
    std::fs::write(
        &cfg,
        format!("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten raw\n    bind 127.0.0.1:{port}\n    server e {echo}\n"),
    )
    .expect("write cfg");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("-D")
        .arg("-p")
        .arg(&pidfile)
        .arg("-f")
        .arg(&cfg)
        .output()
        .expect("run -D");
    assert!(st.status.success(), "{st:?}");
    // The detached copy writes its pid and serves.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "no pidfile");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut c = connect(port);
    c.write_all(b"hi").expect("write");
    let mut got = [0u8; 2];
    c.read_exact(&mut got).expect("echo");
    drop(c);
    let kill = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(kill.success());
    while pidfile.exists() {
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "pidfile not removed at exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The old way to reload, from scripts: a new process started with
/// `-sf PID` (or `-st PID`) listens beside the old one, then tells it to
/// finish its connections (SIGUSR1) or to stop now (SIGTERM).
#[test]
fn sf_and_st_hand_over_to_a_new_process() {
    let (a, b, c) = (
        HttpBackend::start("old"),
        HttpBackend::start("new"),
        HttpBackend::start("newest"),
    );
    let port = free_port();
    let cfg = |s: &HttpBackend| {
        format!(
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind 127.0.0.1:{port}\n    server s {}\n",
            s.addr
        )
    };
    let mut old = Fulcrum::start(&cfg(&a));
    // A client of the old process, kept alive across the handover.
    let mut kept = connect(port);
    kept.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut pending = Vec::new();
    assert_eq!(
        read_response(&mut kept, &mut pending)
            .expect("response")
            .text(),
        "old"
    );
    let old_pid = old.pid().to_string();
    let mut new = Fulcrum::start_with(&cfg(&b), &["-sf", &old_pid]);
    // Soft stop: the kept connection still gets its answer, then closes.
    kept.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    assert_eq!(
        read_response(&mut kept, &mut pending)
            .expect("response")
            .text(),
        "old"
    );
    assert!(old.wait_exit().is_some(), "the old process did not leave");
    assert_eq!(get(port, "/").text(), "new");
    // -st: the previous one is stopped at once.
    let new_pid = new.pid().to_string();
    let _newest = Fulcrum::start_with(&cfg(&c), &["-st", &new_pid]);
    assert!(new.wait_exit().is_some(), "-st did not stop the process");
    assert_eq!(get(port, "/").text(), "newest");
}

/// A reload that adds a frontend: its listener is accepted on only once
/// the configuration that knows the frontend is live, so a client that
/// connects as early as it can is answered, never dropped (a connection is
/// refused before the listener exists, and served after).
#[test]
fn a_new_frontend_answers_its_first_connections() {
    let (pa, pb) = (free_port(), free_port());
    let base = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nfrontend a\n    bind 127.0.0.1:{pa}\n    http-request return status 200\n"
    );
    let f = Fulcrum::start(&base);
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hammer = {
        let (stop, answered, dropped) = (stop.clone(), answered.clone(), dropped.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", pb)) else {
                    continue;
                };
                let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                if c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    .is_err()
                {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                match read_response(&mut c, &mut Vec::new()) {
                    Some(r) if r.status == 200 => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    assert!(f.reload(&format!(
        "{base}frontend b\n    bind 127.0.0.1:{pb}\n    http-request return status 200\n"
    )));
    let deadline = Instant::now() + Duration::from_secs(10);
    while answered.load(Ordering::Relaxed) < 50 {
        assert!(
            Instant::now() < deadline,
            "the new frontend does not answer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    hammer.join().expect("client");
    assert_eq!(dropped.load(Ordering::Relaxed), 0);
}

/// A client that holds one slot: one request answered, then idle.
fn hold_a_slot(port: u16) -> std::net::TcpStream {
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let r = read_response(&mut c, &mut Vec::new()).expect("first client answered");
    assert_eq!(r.status, 200);
    c
}

/// A request on a new connection, written before anything is read.
fn waiting_client(port: u16) -> std::net::TcpStream {
    let mut c = connect(port);
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("write");
    c
}

/// Whether `c` has received anything within `wait`.
fn answered_within(c: &mut std::net::TcpStream, wait: Duration) -> Option<u16> {
    c.set_read_timeout(Some(wait)).expect("timeout");
    read_response(c, &mut Vec::new()).map(|r| r.status)
}

/// `maxconn` of the global section or of a frontend: a reload that raises
/// or removes it lets a waiting client in at once; the held connection
/// stays counted.
#[test]
fn maxconn_changes_apply_on_reload() {
    for (global, frontend) in [("maxconn 1", ""), ("", "maxconn 1")] {
        let port = free_port();
        let cfg = |g: &str, f: &str| {
            format!(
                "global\n    {g}\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\nfrontend a\n    bind 127.0.0.1:{port}\n    {f}\n    http-request return status 200\n"
            )
        };
        let f = Fulcrum::start(&cfg(global, frontend));
        let _a = hold_a_slot(port);
        let mut b = waiting_client(port);
        assert_eq!(
            answered_within(&mut b, Duration::from_millis(300)),
            None,
            "{global}{frontend}: the limit lets a second client in"
        );
        let raised = (global.replace('1', "2"), frontend.replace('1', "2"));
        assert!(f.reload(&cfg(&raised.0, &raised.1)));
        assert_eq!(f.count("maxconn 1 -> 2"), 1, "{}", f.log_text());
        assert_eq!(
            answered_within(&mut b, Duration::from_secs(5)),
            Some(200),
            "{global}{frontend}: raised on reload, the waiting client is still not served\n{}",
            f.log_text()
        );
        // `_a` and `b`'s slot: a third client waits again at maxconn 2.
        let _b2 = hold_a_slot(port);
        let mut c = waiting_client(port);
        assert_eq!(answered_within(&mut c, Duration::from_millis(300)), None);
        assert!(f.reload(&cfg("", "")));
        assert_eq!(
            answered_within(&mut c, Duration::from_secs(5)),
            Some(200),
            "{global}{frontend}: removed on reload, the waiting client is still not served"
        );
    }
}

/// `hard-stop-after` set by a reload bounds the stop that follows.
#[test]
fn hard_stop_after_set_by_a_reload_bounds_the_stop() {
    let echo = echo_server();
    let port = free_port();
    let cfg = |g: &str| {
        format!(
            "global\n    {g}\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nlisten raw\n    bind 127.0.0.1:{port}\n    server e {echo}\n"
        )
    };
    let mut f = Fulcrum::start(&cfg(""));
    assert!(f.reload(&cfg("hard-stop-after 500ms")));
    let mut c = connect(port);
    c.write_all(b"held").expect("write");
    let mut got = [0u8; 4];
    c.read_exact(&mut got).expect("echo");
    f.signal("USR1");
    let st = f
        .wait_exit()
        .expect("the stop waits past hard-stop-after for an open connection");
    assert!(st.success());
    assert_eq!(f.count("hard-stop-after reached"), 1);
}

/// Threads start once: a reload that changes `nbthread` is refused, says a
/// restart is needed, and the running configuration stays whole.
#[test]
fn an_nbthread_change_is_refused_with_a_restart_hint() {
    let (pa, pb) = (free_port(), free_port());
    let base = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nfrontend a\n    bind 127.0.0.1:{pa}\n    http-request return status 200\n"
    );
    let f = Fulcrum::start(&format!("global\n    nbthread 1\n{base}"));
    assert!(!f.reload(&format!(
        "global\n    nbthread 2\n{base}frontend b\n    bind 127.0.0.1:{pb}\n    http-request return status 200\n"
    )));
    assert_eq!(
        f.count("'nbthread' changed from 1 to 2; a restart is needed to apply it"),
        1
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", pb)).is_err());
    assert_eq!(get(pa, "/").status, 200);
}
