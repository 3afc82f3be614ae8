//! `option smtpchk`, `option ldap-check` and `option spop-check` end to
//! end, against Debian's HAProxy 2.6 run beside fulcrum on the same
//! configuration, each with its own scripted peers: the same verdicts, the
//! same status, code and info in the `option log-health-checks` lines, the
//! same bytes on the wire, and the same lines while a server goes DOWN and
//! comes back UP.

mod common;

use common::haproxy::log_receiver as udp;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::haproxy::{first_lines, mask_check_duration, Haproxy};
use common::net::{free_port, Fulcrum};

/// One thing a scripted peer does on a connection.
#[derive(Clone)]
enum Act {
    /// Writes these bytes.
    Say(Vec<u8>),
    /// Reads once (3 s at most) and records what came.
    Hear,
    /// Waits this many milliseconds.
    Pause(u64),
}

use Act::{Hear, Pause};

fn say(b: &[u8]) -> Act {
    Act::Say(b.to_vec())
}

/// A peer that plays `good` (or `bad`, while `good` is false) on each
/// connection and then closes; it records each read.
struct Peer {
    port: u16,
    heard: Arc<Mutex<Vec<Vec<u8>>>>,
    good: Arc<AtomicBool>,
}

fn peer(good: Vec<Act>, bad: Vec<Act>) -> Peer {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let mode = Arc::new(AtomicBool::new(true));
    let (log, flag) = (heard.clone(), mode.clone());
    thread::spawn(move || {
        for mut c in l.incoming().map_while(Result::ok) {
            let script = if flag.load(Relaxed) {
                good.clone()
            } else {
                bad.clone()
            };
            let log = log.clone();
            thread::spawn(move || {
                let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                for act in script {
                    match act {
                        Act::Say(b) => {
                            if c.write_all(&b).is_err() {
                                break;
                            }
                        }
                        Hear => {
                            let mut buf = [0u8; 1024];
                            let n = c.read(&mut buf).unwrap_or(0);
                            // Recorded at once: the checker's verdict, and
                            // so its log line, comes after it.
                            if n > 0 {
                                log.lock().expect("heard").push(buf[..n].to_vec());
                            }
                        }
                        Pause(ms) => thread::sleep(Duration::from_millis(ms)),
                    }
                }
            });
        }
    });
    Peer {
        port,
        heard,
        good: mode,
    }
}

/// An SMTP peer: its banner, then its replies to the greeting and QUIT.
fn smtp(banner: &[u8], greeted: &[u8], bye: &[u8]) -> Vec<Act> {
    vec![say(banner), Hear, say(greeted), Hear, say(bye)]
}

const SMTP_OK: [&[u8]; 3] = [
    b"220 mail.example ESMTP ready\r\n",
    b"250-mail.example greets you\r\n250-SIZE 1000\r\n250 HELP\r\n",
    b"221 2.0.0 Bye\r\n",
];

/// A bindResponse (message ID 1) with this resultCode.
fn ldap_answer(code: u8) -> Vec<u8> {
    vec![
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00,
    ]
}

/// An SPOP frame with its length before it.
fn spop_frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// An AGENT-HELLO (type 101, FIN) with these items.
fn agent_hello(items: &[u8]) -> Vec<u8> {
    let mut b = vec![101, 0, 0, 0, 1, 0, 0];
    b.extend_from_slice(items);
    spop_frame(&b)
}

const VERSION_2: &[u8] = b"\x07version\x08\x032.0";
const FRAME_16380: &[u8] = b"\x0emax-frame-size\x03\xfc\xf0\x06";
const NO_CAPS: &[u8] = b"\x0ccapabilities\x08\x00";

/// An AGENT-DISCONNECT with this status code and message.
fn agent_disconnect(code: u8, msg: &[u8]) -> Vec<u8> {
    let mut b = vec![102, 0, 0, 0, 1, 0, 0];
    b.extend_from_slice(b"\x0bstatus-code\x03");
    b.push(code);
    b.extend_from_slice(b"\x07message\x08");
    b.push(msg.len() as u8);
    b.extend_from_slice(msg);
    spop_frame(&b)
}

/// Every checked server of the comparison: backend, name, and what its
/// peer does (None: nothing listens).
fn scripts() -> Vec<(&'static str, &'static str, Option<Vec<Act>>)> {
    let answer = |b: Vec<u8>| Some(vec![Hear, Act::Say(b)]);
    let hello = |items: &[&[u8]]| answer(agent_hello(&items.concat()));
    let [banner, greeted, bye] = SMTP_OK;
    vec![
        ("smtp", "ok", Some(smtp(banner, greeted, bye))),
        // A multi-line reply in two parts: the check waits for its end.
        (
            "smtp",
            "split",
            Some(vec![
                say(banner),
                Hear,
                say(b"250-mail.example\r\n"),
                Pause(50),
                say(b"250 HELP\r\n"),
                Hear,
                say(bye),
            ]),
        ),
        (
            "smtp",
            "busy",
            Some(vec![say(b"554 5.3.2 No service here\r\n")]),
        ),
        (
            "smtp",
            "junk",
            Some(vec![say(b"HTTP/1.0 400 Bad request\r\n")]),
        ),
        ("smtp", "short", Some(vec![say(b"22")])),
        // A refusal, then the connection closed: its code and text.
        (
            "smtp",
            "refused",
            Some(vec![say(banner), Hear, say(b"501 5.5.4 Bad domain\r\n")]),
        ),
        // A refusal on an open connection: the greeting's expect has no
        // min-recv in HAProxy 2.6.12, so it waits for more, until the
        // timeout.
        (
            "smtp",
            "denied",
            Some(smtp(banner, b"501 5.5.4 Bad domain\r\n", bye)),
        ),
        (
            "smtp",
            "noquit",
            Some(smtp(banner, greeted, b"500 what?\r\n")),
        ),
        ("smtp", "mute", Some(vec![say(banner), Hear])),
        // A reply too short to have a text: no info.
        ("smtp", "tiny", Some(vec![say(banner), Hear, say(b"55\r")])),
        ("smtp", "silent", Some(vec![Pause(3000)])),
        ("smtp", "empty", Some(vec![])),
        ("smtp", "gone", None),
        ("smtphelo", "ok", Some(smtp(banner, b"250 hello\r\n", bye))),
        ("ldap", "ok", answer(ldap_answer(0))),
        // Active Directory's form: lengths on four bytes.
        (
            "ldap",
            "ad",
            answer(
                b"\x30\x84\0\0\0\x10\x02\x01\x01\x61\x84\0\0\0\x07\x0a\x01\0\x04\0\x04\0".to_vec(),
            ),
        ),
        ("ldap", "creds", answer(ldap_answer(49))),
        (
            "ldap",
            "msgid",
            answer(b"\x30\x0c\x02\x01\x02\x61\x07\x0a\x01\0\x04\0\x04\0".to_vec()),
        ),
        (
            "ldap",
            "len3",
            answer(b"\x30\x83\0\0\x0c\x02\x01\x01\x61\x07\x0a\x01\0\x04\0\x04\0".to_vec()),
        ),
        (
            "ldap",
            "http",
            answer(b"HTTP/1.0 400 Bad request\r\n\r\n".to_vec()),
        ),
        ("ldap", "short", answer(ldap_answer(0)[..13].to_vec())),
        ("ldap", "empty", Some(vec![Hear])),
        ("ldap", "gone", None),
        ("spop", "ok", hello(&[VERSION_2, FRAME_16380, NO_CAPS])),
        (
            "spop",
            "extra",
            hello(&[b"\x05other\x02\x2a", FRAME_16380, VERSION_2, NO_CAPS]),
        ),
        ("spop", "novsn", hello(&[FRAME_16380, NO_CAPS])),
        ("spop", "nosize", hello(&[VERSION_2, NO_CAPS])),
        (
            "spop",
            "v1",
            hello(&[b"\x07version\x08\x031.0", FRAME_16380]),
        ),
        (
            "spop",
            "tiny",
            hello(&[VERSION_2, b"\x0emax-frame-size\x03\x64"]),
        ),
        (
            "spop",
            "bye",
            answer(agent_disconnect(3, b"too big for me")),
        ),
        ("spop", "notify", answer(spop_frame(b"\x03\0\0\0\x01\0\0"))),
        ("spop", "nofin", answer(spop_frame(b"\x65\0\0\0\0\0\0"))),
        (
            "spop",
            "http",
            answer(b"HTTP/1.0 400 Bad request\r\n\r\n".to_vec()),
        ),
        ("spop", "empty", Some(vec![Hear])),
        ("spop", "gone", None),
    ]
}

fn header(log: u16) -> String {
    format!(
        "global
    log 127.0.0.1:{log} local0
defaults
    log global
    mode tcp
    option log-health-checks
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
    timeout check 1s
listen front
    bind 127.0.0.1:{}
    server x 127.0.0.1:{}
",
        free_port(),
        free_port()
    )
}

/// The backends' option lines.
fn option(backend: &str) -> &'static str {
    match backend {
        "smtp" => "option smtpchk EHLO me.example",
        "smtphelo" => "option smtpchk",
        "ldap" => "option ldap-check",
        _ => "option spop-check",
    }
}

/// One side's configuration and peers (keyed "backend/server").
fn side(log: u16) -> (String, Vec<(String, Option<Peer>)>) {
    let mut cfg = header(log);
    let mut peers = Vec::new();
    let mut last = "";
    for (be, name, script) in scripts() {
        if be != last {
            cfg.push_str(&format!("backend {be}\n    {}\n", option(be)));
            last = be;
        }
        let p = script.map(|s| peer(s, Vec::new()));
        let port = p.as_ref().map_or_else(free_port, |p| p.port);
        cfg.push_str(&format!(
            "    server {name} 127.0.0.1:{port} check inter 200ms fall 1 rise 1\n"
        ));
        peers.push((format!("{be}/{name}"), p));
    }
    (cfg, peers)
}

/// The distinct reads of a peer.
fn heard(p: &Option<Peer>) -> std::collections::BTreeSet<Vec<u8>> {
    p.as_ref()
        .map(|p| p.heard.lock().expect("heard").iter().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn protocol_checks_match_haproxy() {
    let (hs, fs) = (udp(), udp());
    let (hcfg, hpeers) = side(hs.local_addr().expect("addr").port());
    let (fcfg, fpeers) = side(fs.local_addr().expect("addr").port());
    let _h = Haproxy::start(&hcfg, &[]);
    let _f = Fulcrum::start(&fcfg);
    let names: Vec<&str> = hpeers.iter().map(|(n, _)| n.as_str()).collect();
    let h = first_lines(&hs, &names);
    let f = first_lines(&fs, &names);
    for (a, b) in h.iter().zip(&f) {
        assert_eq!(b, a, "fulcrum vs haproxy");
    }
    assert_eq!(f, h);
    if std::env::var_os("SHOW_LINES").is_some() {
        h.iter().for_each(|(_, l)| eprintln!("{l}"));
    }
    let line = |who: &str| &h.iter().find(|(w, _)| w == who).expect("server").1;
    assert!(line("smtp/ok").contains("Layer7 check passed, code: 221, info: \"2.0.0 Bye\""));
    assert!(line("smtp/busy").contains("Layer7 wrong status, code: 554"));
    assert!(line("smtp/refused").contains("code: 501, info: \"5.5.4 Bad domain\""));
    assert!(line("smtp/denied").contains("Layer7 timeout"));
    assert!(line("smtp/tiny").contains("code: 55, check duration"));
    assert!(line("ldap/short").contains("invalid response, check duration"));
    assert!(line("ldap/creds").contains("code: 49, info: \"See RFC"));
    assert!(line("spop/novsn").contains("info: \"version value not found\""));
    // The bytes each peer received.
    for ((name, hp), (_, fp)) in hpeers.iter().zip(&fpeers) {
        assert_eq!(heard(fp), heard(hp), "bytes sent to {name}");
    }
    let got = |name: &str| {
        let p = &fpeers.iter().find(|(n, _)| n == name).expect("peer").1;
        heard(p).into_iter().collect::<Vec<_>>()
    };
    assert_eq!(
        got("smtp/ok"),
        [b"EHLO me.example\r\n".to_vec(), b"QUIT\r\n".to_vec()]
    );
    assert_eq!(
        got("smtphelo/ok"),
        [b"HELO localhost\r\n".to_vec(), b"QUIT\r\n".to_vec()]
    );
    assert_eq!(
        got("ldap/ok"),
        [b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00".to_vec()]
    );
    assert_eq!(got("spop/ok").first().map(|h| h.len()), Some(82));
}

/// The messages one side logged.
type Log = Arc<Mutex<Vec<String>>>;

/// Every message a syslog socket receives, in order, check durations
/// masked, gathered by a thread.
fn collect(sock: UdpSocket) -> Log {
    let all = Arc::new(Mutex::new(Vec::new()));
    let sink = all.clone();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let mut buf = [0u8; 2048];
            let Ok(n) = sock.recv(&mut buf) else { continue };
            let text = String::from_utf8_lossy(&buf[..n]).trim_end().to_string();
            if let Some((_, msg)) = text.split_once("]: ") {
                sink.lock().expect("log").push(mask_check_duration(msg));
            }
        }
    });
    all
}

/// The messages about backend `be`'s server `s`.
fn about(all: &Mutex<Vec<String>>, be: &str) -> Vec<String> {
    let (srv, none) = (format!(" {be}/s "), format!("backend {be} has"));
    all.lock()
        .expect("log")
        .iter()
        .filter(|m| m.contains(&srv) || m.contains(&none))
        .cloned()
        .collect()
}

/// The backends of the DOWN and UP test.
const FLIP: [&str; 3] = ["smtp", "ldap", "spop"];

/// A peer that answers right while good, wrong while not.
fn flip_peer(backend: &str) -> Peer {
    let [banner, greeted, bye] = SMTP_OK;
    let answer = |b: Vec<u8>| vec![Hear, Act::Say(b)];
    match backend {
        "smtp" => peer(
            smtp(banner, greeted, bye),
            vec![say(b"421 4.3.2 Service not available\r\n")],
        ),
        "ldap" => peer(answer(ldap_answer(0)), answer(ldap_answer(49))),
        _ => peer(
            answer(agent_hello(&[VERSION_2, FRAME_16380, NO_CAPS].concat())),
            answer(agent_disconnect(2, b"late")),
        ),
    }
}

/// Each check marks its server DOWN when the peer answers wrong, and UP
/// again when it answers right, with HAProxy's lines (rise 2: LDAP's and
/// SPOP's success counts twice in HAProxy 2.6, one check brings them UP).
#[test]
fn protocol_checks_mark_down_and_up_as_haproxy() {
    let sides: Vec<(Log, String, Vec<Peer>)> = (0..2)
        .map(|_| {
            let sock = udp();
            let mut cfg = header(sock.local_addr().expect("addr").port());
            let peers: Vec<Peer> = FLIP.iter().map(|be| flip_peer(be)).collect();
            for (be, p) in FLIP.iter().zip(&peers) {
                cfg.push_str(&format!(
                    "backend {be}\n    {}\n    server s 127.0.0.1:{} check inter 100ms fall 2 rise 2\n",
                    option(be),
                    p.port
                ));
            }
            (collect(sock), cfg, peers)
        })
        .collect();
    let _h = Haproxy::start(&sides[0].1, &[]);
    let _f = Fulcrum::start(&sides[1].1);
    let wait_all = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        for (log, _, _) in &sides {
            for be in FLIP {
                while !about(log, be)
                    .iter()
                    .any(|m| m.starts_with(&needle.replace("BE", be)))
                {
                    assert!(
                        Instant::now() < deadline,
                        "no '{needle}' for {be}: {:?}",
                        about(log, be)
                    );
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
    };
    let set = |good: bool| {
        for (_, _, peers) in &sides {
            peers.iter().for_each(|p| p.good.store(good, Relaxed));
        }
    };
    wait_all("Health check for server BE/s succeeded");
    set(false);
    wait_all("Server BE/s is DOWN");
    set(true);
    wait_all("Server BE/s is UP");
    for be in FLIP {
        let (h, f) = (about(&sides[0].0, be), about(&sides[1].0, be));
        assert_eq!(f, h, "{be}: fulcrum vs haproxy");
    }
    let ldap = about(&sides[0].0, "ldap");
    assert!(
        ldap.iter()
            .any(|m| m.contains("info: \"Success\", check duration: Nms, status: 1/2 DOWN")),
        "{ldap:?}"
    );
}
