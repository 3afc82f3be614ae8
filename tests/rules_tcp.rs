//! `tcp-request` rules end to end: `connection` rules at accept, `content`
//! rules over the first bytes within `inspect-delay`, and `use_backend`
//! routing TLS by the server name of its ClientHello (`req.ssl_sni`),
//! without terminating it. Every config also passes Debian's `haproxy -c`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::net::{connect, free_port, Fulcrum};
use common::TempPath;

/// A TCP server that records what each connection sent until it paused,
/// then answers with its name and closes.
struct Named {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn named(name: &'static str) -> Named {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    thread::spawn(move || {
        for s in l.incoming().take(64) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            g.lock().expect("got").push(buf);
            let _ = s.write_all(name.as_bytes());
        }
    });
    Named { addr, got }
}

/// Sends `bytes`, then reads the answer until the server closes.
fn exchange(s: &mut TcpStream, bytes: &[u8]) -> String {
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn haproxy_accepts(cfg: &str) {
    let f = TempPath::file("rules-tcp-haproxy", cfg);
    let out = std::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(f.path())
        .output()
        .expect("run haproxy -c (apt-get install haproxy)");
    assert!(
        out.status.success(),
        "haproxy -c refused:\n{}\n{cfg}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A minimal TLS 1.3 ClientHello naming `host`.
fn client_hello(host: &str) -> Vec<u8> {
    client_hello_alpn(host, &[])
}

/// A ClientHello naming `host` and offering the ALPN `protocols`.
fn client_hello_alpn(host: &str, protocols: &[&str]) -> Vec<u8> {
    let name = host.as_bytes();
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut ext = 0u16.to_be_bytes().to_vec();
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    if !protocols.is_empty() {
        let mut list = Vec::new();
        for p in protocols {
            list.push(p.len() as u8);
            list.extend_from_slice(p.as_bytes());
        }
        ext.extend_from_slice(&16u16.to_be_bytes());
        ext.extend_from_slice(&((list.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
        ext.extend_from_slice(&list);
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

fn tcp_config(port: u16, body: &str) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
{body}"
    )
}

/// SNI routing: the ClientHello is read within inspect-delay, the backend
/// chosen by its server name, and the bytes reach that server unchanged,
/// even when the hello arrives in two pieces.
#[test]
fn tls_is_routed_by_server_name_without_termination() {
    let (a, b) = (named("A"), named("B"));
    let port = free_port();
    let cfg = tcp_config(
        port,
        &format!(
            "    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req_ssl_hello_type 1 }}
    use_backend be_a if {{ req.ssl_sni -i a.example }}
    default_backend be_b
backend be_a
    server a {}
backend be_b
    server b {}
",
            a.addr, b.addr
        ),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let hello = client_hello("A.example");
    assert_eq!(exchange(&mut connect(port), &hello), "A");
    assert_eq!(a.got.lock().unwrap()[0], hello);
    assert_eq!(
        exchange(&mut connect(port), &client_hello("b.example")),
        "B"
    );
    // In two pieces: routing waits for the whole hello.
    let mut s = connect(port);
    s.write_all(&hello[..20]).expect("write");
    thread::sleep(Duration::from_millis(50));
    assert_eq!(exchange(&mut s, &hello[20..]), "A");
    assert_eq!(a.got.lock().unwrap()[1], hello);
}

/// `tcp-request content reject` on the payload closes the session before
/// any server is contacted; other payloads pass.
#[test]
fn content_rules_reject_on_payload() {
    let a = named("A");
    let port = free_port();
    let cfg = tcp_config(
        port,
        &format!(
            "    tcp-request inspect-delay 2s
    tcp-request content reject if {{ req.payload(0,4) -m str EVIL }}
    tcp-request content accept if {{ req.len ge 4 }}
    default_backend be_a
backend be_a
    server a {}
",
            a.addr
        ),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    assert_eq!(exchange(&mut connect(port), b"EVIL payload"), "");
    assert_eq!(exchange(&mut connect(port), b"good payload"), "A");
    let got = a.got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0], b"good payload");
}

/// `tcp-request connection reject` closes a client by address at accept.
/// 127.0.0.2 is a loopback address too, so the test stays on this host.
#[test]
fn connection_rules_reject_by_source() {
    let a = named("A");
    let port = free_port();
    let cfg = tcp_config(
        port,
        &format!(
            "    tcp-request connection reject if {{ src 127.0.0.2 }}
    default_backend be_a
backend be_a
    server a {}
",
            a.addr
        ),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    assert_eq!(exchange(&mut connect(port), b"hi"), "A");
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into())
        .expect("bind 127.0.0.2");
    sock.connect(
        &format!("127.0.0.1:{port}")
            .parse::<SocketAddr>()
            .unwrap()
            .into(),
    )
    .expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert_eq!(exchange(&mut s, b"hi"), "");
    assert_eq!(a.got.lock().unwrap().len(), 1);
}

/// `req.len` may still grow while bytes arrive: a rule on it that does not
/// match yet waits (HAProxy's MAY_CHANGE / ACL_TEST_MISS) instead of letting
/// the next rule decide. The request comes in two pieces; the reject rule
/// after the accept must not fire on the first piece.
#[test]
fn a_length_rule_waits_for_the_bytes_still_to_come() {
    let a = named("A");
    let port = free_port();
    let cfg = tcp_config(
        port,
        &format!(
            "    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.len eq 14 }} {{ req.payload(0,14) -m str \"*1\\r\\n\\$4\\r\\nPING\\r\\n\" }}
    tcp-request content reject
    default_backend be_a
backend be_a
    server a {}
",
            a.addr
        ),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let mut c = connect(port);
    c.write_all(b"*1\r\n$4").expect("write");
    // The second piece after the first was surely inspected.
    thread::sleep(Duration::from_millis(200));
    assert_eq!(exchange(&mut c, b"\r\nPING\r\n"), "A");
    assert_eq!(a.got.lock().unwrap()[0], b"*1\r\n$4\r\nPING\r\n");
    // Too short when the client stops sending: the delay ends, then reject.
    let mut short = connect(port);
    short.write_all(b"*1\r\n").expect("write");
    short.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut out = Vec::new();
    let _ = short.read_to_end(&mut out);
    assert!(out.is_empty());
}

/// `req.ssl_alpn` routes on any protocol the ClientHello offers, as
/// HAProxy's (each offered protocol is a value the ACL may match).
#[test]
fn tls_is_routed_by_the_protocols_it_offers() {
    let (h2, other) = (named("H2"), named("OTHER"));
    let port = free_port();
    let cfg = tcp_config(
        port,
        &format!(
            "    tcp-request inspect-delay 2s
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    use_backend be_h2 if {{ req.ssl_alpn h2 }}
    default_backend be_other
backend be_h2
    server a {}
backend be_other
    server b {}
",
            h2.addr, other.addr
        ),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let offer = client_hello_alpn("x.test", &["http/1.1", "h2"]);
    assert_eq!(exchange(&mut connect(port), &offer), "H2");
    let plain = client_hello_alpn("x.test", &["http/1.1"]);
    assert_eq!(exchange(&mut connect(port), &plain), "OTHER");
    assert_eq!(
        exchange(&mut connect(port), &client_hello("x.test")),
        "OTHER"
    );
}
