//! TLS termination with rustls, end to end: certificates made by the test
//! (rcgen), `bind ... ssl crt DIR` answering curl, the certificate chosen by
//! SNI, TLS facts as fetches (`ssl_fc`, `ssl_fc_sni`), `redirect scheme
//! https unless { ssl_fc }`, old protocol versions refused, and mode tcp
//! over TLS. Every configuration is also checked by Debian's `haproxy -c`.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use common::net::{echo_server, free_port, get, Fulcrum, HttpBackend};
use common::TempPath;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls_pki_types::pem::PemObject;

/// A test CA and leaf certificates it signs, written as HAProxy wants them:
/// one PEM per name holding the certificate and its key.
struct Pki {
    dir: TempPath,
    ca_pem: std::path::PathBuf,
}

fn pki(names: &[&str]) -> Pki {
    let dir = TempPath::dir("tls-pki");
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fulcrum test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).expect("write ca");
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    for (i, name) in names.iter().enumerate() {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(vec![name.to_string()]).expect("params");
        p.distinguished_name.push(DnType::CommonName, *name);
        let cert = p.signed_by(&key, &ca, &ca_key).expect("sign");
        // Lexical order decides the default certificate: the first name.
        let file = certs.join(format!("{i:02}-{}.pem", name.replace('*', "star")));
        std::fs::write(&file, format!("{}{}", cert.pem(), key.serialize_pem())).expect("write");
    }
    Pki { dir, ca_pem }
}

impl Pki {
    fn certs(&self) -> std::path::PathBuf {
        self.dir.path().join("certs")
    }
}

/// The certificates of a PEM file as a rustls trust store.
fn roots_from(ca_pem: &Path) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca_pem).expect("ca");
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.expect("pem")).expect("root");
    }
    roots
}

/// A blocking rustls client to `port`, trusting `ca_pem`, asking for `sni`.
fn rustls_client(
    ca_pem: &Path,
    sni: &str,
    port: u16,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots_from(ca_pem))
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(sni.to_owned()).expect("name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).expect("client");
    rustls::StreamOwned::new(conn, common::net::connect(port))
}

fn haproxy_accepts(cfg: &str) {
    let f = TempPath::file("tls-haproxy", cfg);
    let out = Command::new("haproxy")
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

/// curl over TLS, trusting the test CA; returns (status line and headers, body).
fn curl(ca: &Path, name: &str, port: u16, path: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"))
        .args(extra)
        .arg(format!("https://{name}:{port}{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        format!("{head}\n{}", String::from_utf8_lossy(&out.stderr)),
        body.to_string(),
    )
}

/// The subject CN of the certificate served for `sni` (None: no SNI).
fn served_cn(port: u16, sni: Option<&str>) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"));
    match sni {
        Some(n) => cmd.args(["-servername", n]),
        None => cmd.arg("-noservername"),
    };
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    // Keep stdin open: the certificate is printed right after the
    // handshake; stop the client once it is read.
    let stdout = child.stdout.take().expect("stdout");
    let subject = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .take(200)
        .map_while(Result::ok)
        .find_map(|l| l.trim().strip_prefix("subject=").map(str::to_string))
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    subject
}

fn config(port: u16, plain: u16, certs: &Path, backend: &HttpBackend) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port} ssl crt {} alpn h2,http/1.1
    bind 127.0.0.1:{plain}
    http-request redirect scheme https code 301 unless {{ ssl_fc }}
    http-request set-header X-SSL %[ssl_fc]
    http-request set-header X-SNI %[ssl_fc_sni]
    default_backend be
backend be
    server s1 {}
",
        certs.display(),
        backend.addr
    )
}

#[test]
fn https_termination_answers_curl_with_the_sni_certificate() {
    let p = pki(&["a.test", "b.test", "*.w.test"]);
    let b = HttpBackend::start("app");
    let (port, plain) = (free_port(), free_port());
    let cfg = config(port, plain, &p.certs(), &b);
    haproxy_accepts(&cfg);
    let f = Fulcrum::start(&cfg);
    let _ = &f;

    let (head, body) = curl(&p.ca_pem, "a.test", port, "/x", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "app");
    let seen = &b.requests()[0].head;
    assert!(seen.contains("X-SSL: 1\r\n"), "{seen}");
    assert!(seen.contains("X-SNI: a.test\r\n"), "{seen}");

    // The certificate follows the name: exact, wildcard, default.
    assert!(served_cn(port, Some("b.test")).contains("b.test"));
    assert!(served_cn(port, Some("x.w.test")).contains("*.w.test"));
    assert!(served_cn(port, Some("other.test")).contains("a.test"));
    assert!(served_cn(port, None).contains("a.test"));
    // curl verifies the wildcard certificate for a name under it.
    let (head, _) = curl(&p.ca_pem, "api.w.test", port, "/", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // The plain bind redirects to https: ssl_fc is false there.
    let r = get(plain, "/y?z=1");
    assert_eq!(r.status, 301);
    // The Host header names the place (the test client sends "t").
    assert!(
        r.head.contains("location: https://t/y?z=1\r\n"),
        "{}",
        r.head
    );
}

/// TLS 1.0 and 1.1 are refused; 1.2 and 1.3 are served; weak TLS 1.2
/// suites (CBC, RSA key exchange, 3DES) are not offered.
#[test]
fn old_protocol_versions_are_refused() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let (port, plain) = (free_port(), free_port());
    let _f = Fulcrum::start(&config(port, plain, &p.certs(), &b));
    for (flags, ok) in [
        (&["--tlsv1.3"][..], true),
        (&["--tlsv1.2", "--tls-max", "1.2"][..], true),
        (&["--tlsv1.1", "--tls-max", "1.1"][..], false),
        (&["--tlsv1.0", "--tls-max", "1.0"][..], false),
    ] {
        let (head, _) = curl(&p.ca_pem, "a.test", port, "/", flags);
        assert_eq!(head.starts_with("HTTP/1.1 200"), ok, "{flags:?}: {head}");
    }
    for weak in [
        "AES128-SHA",
        "ECDHE-ECDSA-AES128-SHA",
        "DES-CBC3-SHA",
        "AES256-GCM-SHA384",
    ] {
        let out = Command::new("openssl")
            .args([
                "s_client",
                "-tls1_2",
                "-cipher",
                weak,
                "-servername",
                "a.test",
                "-connect",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(&format!("Cipher is {weak}")),
            "{weak} was accepted:\n{text}"
        );
    }
}

/// The old `bind` version switches: `no-sslv3`, `no-tlsv10` and
/// `no-tlsv11` are already so with rustls; `no-tlsv12` leaves TLS 1.3
/// only, `no-tlsv13` TLS 1.2 only.
#[test]
fn bind_version_switches() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let (only13, only12) = (free_port(), free_port());
    let cfg = format!(
        "defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{only13} ssl crt {certs} no-sslv3 no-tlsv10 no-tlsv11 no-tlsv12
    bind 127.0.0.1:{only12} ssl crt {certs} no-tlsv13
    default_backend be
backend be
    server s1 {}
",
        b.addr,
        certs = p.certs().display(),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    for (port, flags, ok) in [
        (only13, &["--tlsv1.3"][..], true),
        (only13, &["--tlsv1.2", "--tls-max", "1.2"][..], false),
        (only12, &["--tlsv1.2", "--tls-max", "1.2"][..], true),
        (only12, &["--tlsv1.3"][..], false),
    ] {
        let (head, _) = curl(&p.ca_pem, "a.test", port, "/", flags);
        assert_eq!(
            head.starts_with("HTTP/1.1 200"),
            ok,
            "{port} {flags:?}: {head}"
        );
    }
}

/// `mode tcp` over TLS: the server gets the decrypted bytes.
#[test]
fn tcp_mode_terminates_tls() {
    let p = pki(&["a.test"]);
    let echo = echo_server();
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen l
    bind 127.0.0.1:{port} ssl crt {}
    server e {echo}
",
        p.certs().display()
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    // A rustls client: send, close our side (close_notify), read the echo.
    let mut tls = rustls_client(&p.ca_pem, "a.test", port);
    tls.write_all(b"hello over tls\n").expect("write");
    tls.conn.send_close_notify();
    tls.flush().expect("flush");
    let mut out = String::new();
    let _ = tls.read_to_string(&mut out);
    assert_eq!(out, "hello over tls\n");
}

/// A TLS backend (rustls, in a thread): answers every request with
/// "tls-backend" and records the SNI each connection asked for.
struct TlsBackend {
    addr: std::net::SocketAddr,
    snis: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
}

fn tls_backend(cert_pem: &Path) -> TlsBackend {
    tls_backend_with(cert_pem, None)
}

/// [`tls_backend`], requiring client certificates signed by `client_ca`.
fn tls_backend_with(cert_pem: &Path, client_ca: Option<&Path>) -> TlsBackend {
    let pem = std::fs::read(cert_pem).expect("cert");
    let chain: Vec<rustls_pki_types::CertificateDer<'static>> =
        rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .expect("chain");
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(&pem).expect("key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                std::sync::Arc::new(roots_from(ca)),
                provider,
            )
            .build()
            .expect("verifier");
            builder.with_client_cert_verifier(v)
        }
    };
    let cfg = builder.with_single_cert(chain, key).expect("server config");
    let cfg = std::sync::Arc::new(cfg);
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let snis = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = snis.clone();
    std::thread::spawn(move || {
        for sock in l.incoming().take(64) {
            let Ok(sock) = sock else { continue };
            let _ = sock.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let Ok(conn) = rustls::ServerConnection::new(cfg.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read one request head, then answer and close.
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            seen.lock()
                .expect("snis")
                .push(tls.conn.server_name().map(str::to_string));
            if buf.is_empty() {
                continue;
            }
            let _ = tls.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\ntls-backend",
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    TlsBackend { addr, snis }
}

fn server_ssl_config(port: u16, backend: &TlsBackend, params: &str) -> String {
    format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen l
    bind 127.0.0.1:{port}
    retries 0
    server tls {} ssl {params}
",
        backend.addr
    )
}

/// TLS to a server: with `verify none`, with the right CA (the name checked
/// is the `sni`, or the server's address), and refused with a clear log
/// line when the CA is wrong.
#[test]
fn tls_to_servers_verifies_as_configured() {
    let p = pki(&["backend.test", "127.0.0.1"]);
    let other = pki(&["backend.test"]);
    let cert = |pki: &Pki, i: usize| {
        std::fs::read_dir(pki.certs())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| {
                f.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{i:02}-"))
            })
            .unwrap()
    };
    let b = tls_backend(&cert(&p, 0));
    let ip_b = tls_backend(&cert(&p, 1));

    let port = free_port();
    let cfg = server_ssl_config(port, &b, "verify none");
    haproxy_accepts(&cfg);
    let f = Fulcrum::start(&cfg);
    assert_eq!(get(port, "/").text(), "tls-backend");
    drop(f);

    // The right CA and the name the certificate carries, sent as SNI.
    let port = free_port();
    let cfg = server_ssl_config(
        port,
        &b,
        &format!("ca-file {} sni str(backend.test)", p.ca_pem.display()),
    );
    haproxy_accepts(&cfg);
    let f = Fulcrum::start(&cfg);
    assert_eq!(get(port, "/").text(), "tls-backend");
    assert_eq!(
        b.snis.lock().unwrap().last().cloned().flatten().as_deref(),
        Some("backend.test")
    );
    drop(f);

    // No sni: the server's address is the name its certificate must carry.
    let port = free_port();
    let cfg = server_ssl_config(port, &ip_b, &format!("ca-file {}", p.ca_pem.display()));
    let f = Fulcrum::start(&cfg);
    assert_eq!(get(port, "/").text(), "tls-backend");
    assert_eq!(ip_b.snis.lock().unwrap().last().cloned().flatten(), None);
    drop(f);

    // Another CA: refused, 503, and the log says why.
    let port = free_port();
    let cfg = server_ssl_config(
        port,
        &b,
        &format!("ca-file {} sni str(backend.test)", other.ca_pem.display()),
    );
    let f = Fulcrum::start(&cfg);
    assert_eq!(get(port, "/").status, 503);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.count("TLS handshake with the server failed") == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(f.count("TLS handshake with the server failed") > 0);
}

/// A reload with a new certificate serves it to new connections, while a
/// TLS session opened before goes on with the old one.
#[test]
fn reload_serves_a_new_certificate_and_keeps_open_sessions() {
    let first = pki(&["old.test"]);
    let second = pki(&["new.test"]);
    let b = HttpBackend::start("app");
    let (port, plain) = (free_port(), free_port());
    let f = Fulcrum::start(&config(port, plain, &first.certs(), &b));
    assert!(served_cn(port, Some("any.test")).contains("old.test"));

    // A keep-alive TLS connection, trusting the first CA.
    let mut tls = rustls_client(&first.ca_pem, "old.test", port);
    let ask = |tls: &mut rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>| {
        tls.write_all(b"GET / HTTP/1.1\r\nHost: old.test\r\n\r\n")
            .expect("write");
        let mut pending = Vec::new();
        let mut chunk = [0u8; 4096];
        // "app" after a head with Content-Length: 3.
        while !pending.ends_with(b"\r\n\r\napp") {
            let n = tls.read(&mut chunk).expect("read");
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&pending));
            pending.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&pending).into_owned()
    };
    assert!(ask(&mut tls).starts_with("HTTP/1.1 200"));

    assert!(f.reload(&config(port, plain, &second.certs(), &b)));
    assert!(served_cn(port, Some("any.test")).contains("new.test"));
    // The session opened before the reload still answers.
    assert!(ask(&mut tls).starts_with("HTTP/1.1 200"));

    // A certificate that cannot be used is refused at reload; the current
    // one keeps serving.
    let broken = TempPath::file("not-a-cert", "no certificate here\n");
    let dir = broken
        .path()
        .parent()
        .unwrap()
        .join(format!("tls-broken-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(broken.path(), dir.join("x.pem")).unwrap();
    assert!(!f.reload(&config(port, plain, &dir, &b)));
    assert!(served_cn(port, Some("any.test")).contains("new.test"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Client certificates: with `verify required ca-file CA`, a client without
/// a certificate is refused at the handshake, one with a certificate the CA
/// signed gets in, and its subject reaches the rules (`ssl_c_s_dn`).
#[test]
fn client_certificates_are_required_and_checked() {
    let p = pki(&["a.test"]);
    // A client certificate from the client CA, and a self-signed one.
    let client = |cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        (params, key)
    };
    // The CA that signs client certificates.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "client CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let dir = TempPath::dir("tls-clients");
    let client_ca = dir.path().join("client-ca.pem");
    std::fs::write(&client_ca, ca.pem()).unwrap();
    let (params, key) = client("alice");
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let (cert_file, key_file) = (dir.path().join("alice.pem"), dir.path().join("alice.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let (params, key) = client("mallory");
    let stranger = params.self_signed(&key).unwrap();
    let (bad_cert, bad_key) = (
        dir.path().join("mallory.pem"),
        dir.path().join("mallory.key"),
    );
    std::fs::write(&bad_cert, stranger.pem()).unwrap();
    std::fs::write(&bad_key, key.serialize_pem()).unwrap();

    let b = HttpBackend::start("app");
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port} ssl crt {} verify required ca-file {}
    http-request set-header X-Client-DN %[ssl_c_s_dn]
    http-request set-header X-Client-Verify %[ssl_c_verify]
    default_backend be
backend be
    server s1 {}
",
        p.certs().display(),
        client_ca.display(),
        b.addr
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let with = |c: &Path, k: &Path| {
        curl(
            &p.ca_pem,
            "a.test",
            port,
            "/",
            &[
                "--cert",
                &c.display().to_string(),
                "--key",
                &k.display().to_string(),
            ],
        )
        .0
    };
    let (head, _) = curl(&p.ca_pem, "a.test", port, "/", &[]);
    assert!(
        !head.starts_with("HTTP/1.1 200"),
        "no certificate got in: {head}"
    );
    assert!(!with(&bad_cert, &bad_key).starts_with("HTTP/1.1 200"));
    assert!(with(&cert_file, &key_file).starts_with("HTTP/1.1 200"));
    let seen = b.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].head.contains("X-Client-DN: /CN=alice\r\n"),
        "{}",
        seen[0].head
    );
    assert!(
        seen[0].head.contains("X-Client-Verify: 0\r\n"),
        "{}",
        seen[0].head
    );
}

/// `crt-list`: each line's filters decide the names a certificate serves,
/// `!name` excludes one.
#[test]
fn crt_list_filters_choose_the_certificate() {
    let p = pki(&["a.test", "b.test"]);
    let files: Vec<std::path::PathBuf> = {
        let mut v: Vec<_> = std::fs::read_dir(p.certs())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let list = TempPath::file(
        "crt-list",
        &format!(
            "# certificate   filters\n{} www.example.test\n\n{} *.example.test !www.example.test\n",
            files[0].display(),
            files[1].display()
        ),
    );
    let b = HttpBackend::start("app");
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port} ssl crt-list {}
    default_backend be
backend be
    server s1 {}
",
        list.path().display(),
        b.addr
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    assert!(served_cn(port, Some("www.example.test")).contains("a.test"));
    assert!(served_cn(port, Some("api.example.test")).contains("b.test"));
    // Unknown names get the first certificate of the list.
    assert!(served_cn(port, Some("other.test")).contains("a.test"));
}

/// A crt-list line's `[options]` apply to the handshakes that choose its
/// certificate: a.test offers its own ALPN and refuses TLS 1.2, b.test
/// keeps the bind's; options fulcrum does not act on are refused at the
/// bind line that names the list.
#[test]
fn crt_list_options_apply_to_their_certificate() {
    let p = pki(&["a.test", "b.test"]);
    let pem = |n: &str| {
        p.certs().join(format!(
            "{}-{n}.pem",
            if n == "a.test" { "00" } else { "01" }
        ))
    };
    let list = TempPath::file(
        "crt-list-opts",
        &format!(
            "{} [alpn x-a,x-b ssl-min-ver TLSv1.3] a.test\n{} b.test\n",
            pem("a.test").display(),
            pem("b.test").display()
        ),
    );
    let (echo, port) = (echo_server(), free_port());
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen tls
    bind 127.0.0.1:{port} ssl crt-list {} alpn x-default
    server e {echo}
",
        list.path().display()
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let a = s_client(port, &["-servername", "a.test", "-alpn", "x-b,x-default"]);
    assert!(a.contains("ALPN protocol: x-b"), "{a}");
    assert!(a.contains("TLSv1.3"), "{a}");
    let a12 = s_client(port, &["-servername", "a.test", "-tls1_2"]);
    assert!(
        !a12.contains("Cipher is ECDHE"),
        "TLS 1.2 served to a.test: {a12}"
    );
    let b = s_client(
        port,
        &["-servername", "b.test", "-tls1_2", "-alpn", "x-b,x-default"],
    );
    assert!(b.contains("ALPN protocol: x-default"), "{b}");
    assert!(b.contains("Cipher is ECDHE"), "{b}");

    let list = TempPath::file(
        "crt-list-unknown",
        &format!("{} [ocsp-update on] a.test\n", pem("a.test").display()),
    );
    let file = TempPath::file(
        "crt-list-unknown-cfg",
        &format!(
            "defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen tls
    bind 127.0.0.1:8443 ssl crt-list {}
    server e {echo}
",
            list.path().display()
        ),
    );
    let run = common::check(&[file.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let errors = common::errors_at(&run.stderr, &file.name(), 7);
    assert!(
        errors.iter().any(|l| l.contains("'ocsp-update'")),
        "{}",
        run.stderr
    );
}

/// `ciphers`, `ssl-max-ver` and the `ssl-default-bind-*` defaults decide
/// what is negotiated; names rustls lacks (DHE) are skipped with a warning.
#[test]
fn cipher_settings_are_applied() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
    ssl-default-bind-ciphers ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port} ssl crt {} ssl-max-ver TLSv1.2
    default_backend be
backend be
    server s1 {}
",
        p.certs().display(),
        b.addr
    );
    haproxy_accepts(&cfg);
    let file = TempPath::file("tls-ciphers", &cfg);
    let run = common::check(&[file.path()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cipher 'DHE-RSA-AES256-GCM-SHA384' is not offered"),
        "{}",
        run.stderr
    );
    let _f = Fulcrum::start(&cfg);
    let out = Command::new("openssl")
        .args(["s_client", "-servername", "a.test", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"),
        "{text}"
    );
    assert!(
        text.contains("Protocol  : TLSv1.2") || text.contains("TLSv1.2"),
        "{text}"
    );
}

/// The server's suite order wins, as in HAProxy (OpenSSL's server
/// preference): a bind listing AES-128 first gets AES-128 from an OpenSSL
/// client that prefers AES-256; `prefer-client-ciphers` gives the client
/// its choice. The global `ssl-default-bind-ciphersuites` line is the one
/// Mozilla's generator writes.
#[test]
fn the_server_suite_order_wins_unless_prefer_client_ciphers() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let ours = free_port();
    let theirs = free_port();
    let cfg = format!(
        "global
    nbthread 1
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{ours} ssl crt {certs}
    bind 127.0.0.1:{theirs} ssl crt {certs} prefer-client-ciphers
    default_backend be
backend be
    server s1 {}
",
        b.addr,
        certs = p.certs().display(),
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let cipher = |port: u16| {
        let text = s_client(port, &["-servername", "a.test", "-tls1_3"]);
        text.lines()
            .find_map(|l| {
                l.split_once("Cipher is ")
                    .map(|(_, c)| c.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no cipher in: {text}"))
    };
    assert_eq!(cipher(ours), "TLS_AES_128_GCM_SHA256");
    assert_eq!(cipher(theirs), "TLS_AES_256_GCM_SHA384");
}

/// `check-ssl`: a plain-HTTP server fails the TLS handshake of its check
/// and goes DOWN with a Layer6 reason; a TLS server passes (L6OK) and
/// serves.
#[test]
fn check_ssl_tells_tls_servers_from_plain_ones() {
    let p = pki(&["backend.test"]);
    let cert = std::fs::read_dir(p.certs())
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let tls_b = tls_backend(&cert);
    let plain_b = HttpBackend::start("plain");
    let port = free_port();
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
listen l
    bind 127.0.0.1:{port}
    server plain {} check check-ssl verify none inter 200ms fall 1 rise 1
    server tls {} ssl verify none check inter 200ms fall 1 rise 1
",
        plain_b.addr, tls_b.addr
    );
    haproxy_accepts(&cfg);
    let f = Fulcrum::start(&cfg);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.count("Server l/plain is DOWN, reason: Layer6") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "plain server never went DOWN on L6"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(f.count("Server l/tls is DOWN"), 0);
    // Only the TLS server takes traffic now.
    for _ in 0..4 {
        assert_eq!(get(port, "/").text(), "tls-backend");
    }
    assert!(plain_b.requests().is_empty());
}

/// TLS handshakes and failures are counted per frontend, and exported as
/// Prometheus metrics.
#[test]
fn handshakes_are_counted() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let (port, plain) = (free_port(), free_port());
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port} ssl crt {}
    default_backend be
frontend metrics
    bind 127.0.0.1:{plain}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    stats enable
    stats uri /st
    default_backend be
backend be
    server s1 {}
",
        p.certs().display(),
        b.addr
    );
    let _f = Fulcrum::start(&cfg);
    for _ in 0..3 {
        let (head, _) = curl(&p.ca_pem, "a.test", port, "/", &[]);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    // A plain-text client on the TLS port fails its handshake.
    let mut s = common::net::connect(port);
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    let metrics = get(plain, "/metrics").text();
    assert!(
        metrics.contains("haproxy_frontend_ssl_sessions_total{proxy=\"fe\"} 3\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("haproxy_frontend_ssl_failed_handshake_total{proxy=\"fe\"} 1\n"),
        "{metrics}"
    );
    // The stats page and its JSON view say the same.
    let page = get(plain, "/st").text();
    assert!(
        page.contains("TLS handshakes: 3 completed, 1 failed"),
        "{page}"
    );
    let json = get(plain, "/st;json").text();
    assert!(
        json.contains("\"ssl_sess\":\"3\",\"ssl_failed_handshake\":\"1\""),
        "{json}"
    );
}

/// Headless Chromium (BoringSSL) fetches a page over fulcrum's TLS. The
/// test CA is not in its store, so certificate errors are ignored: what is
/// shown is that the handshake and the exchange work with a real browser.
#[test]
fn a_browser_connects_over_tls() {
    if !common::browser::installed("chromium") {
        eprintln!("chromium is not installed: skipping (.ci/run installs it)");
        return;
    }
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("hello from behind TLS");
    let (port, plain) = (free_port(), free_port());
    let _f = Fulcrum::start(&config(port, plain, &p.certs(), &b));
    let url = format!("https://127.0.0.1:{port}/");
    let out = common::browser::chromium(&["--ignore-certificate-errors", "--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("hello from behind TLS"), "{dom}");
    let seen = b.requests();
    assert!(!seen.is_empty());
    assert!(seen[0].head.contains("X-SSL: 1\r\n"), "{}", seen[0].head);
}

/// `server ... crt FILE`: fulcrum shows a client certificate to a server
/// that requires one; without it the server refuses the handshake.
#[test]
fn client_certificate_to_a_server() {
    let p = pki(&["backend.test"]);
    let cert = std::fs::read_dir(p.certs())
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    // The client CA and fulcrum's client certificate (chain and key in one PEM).
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let dir = TempPath::dir("tls-server-crt");
    let client_ca = dir.path().join("ca.pem");
    std::fs::write(&client_ca, ca.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "fulcrum");
    let c = params.signed_by(&key, &ca, &ca_key).unwrap();
    let client_pem = dir.path().join("fulcrum.pem");
    std::fs::write(&client_pem, format!("{}{}", c.pem(), key.serialize_pem())).unwrap();

    let b = tls_backend_with(&cert, Some(&client_ca));
    let port = free_port();
    let cfg = server_ssl_config(
        port,
        &b,
        &format!(
            "verify none crt {} alpn http/1.1 no-ssl-reuse",
            client_pem.display()
        ),
    );
    haproxy_accepts(&cfg);
    let f = Fulcrum::start(&cfg);
    assert_eq!(get(port, "/").text(), "tls-backend");
    drop(f);
    // Without the certificate the server refuses: with TLS 1.3 the refusal
    // arrives after the client's side of the handshake, so it shows as a
    // bad gateway (502), or as no server (503) when it comes first.
    let port = free_port();
    let _f = Fulcrum::start(&server_ssl_config(port, &b, "verify none"));
    let status = get(port, "/").status;
    assert!(status == 502 || status == 503, "{status}");
}

fn s_client(port: u16, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .arg("s_client")
        .args(args)
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `strict-sni`: a name no certificate carries gets no certificate at all
/// (the handshake fails), where the default certificate would otherwise
/// answer; `no-tls-tickets`: no session ticket is issued.
#[test]
fn strict_sni_and_no_tls_tickets() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let (strict, plain) = (free_port(), free_port());
    let cfg = format!(
        "global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend strict
    bind 127.0.0.1:{strict} ssl crt {certs} strict-sni no-tls-tickets
    default_backend be
frontend relaxed
    bind 127.0.0.1:{plain} ssl crt {certs}
    default_backend be
backend be
    server s1 {}
",
        b.addr,
        certs = p.certs().display()
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    assert!(served_cn(strict, Some("a.test")).contains("a.test"));
    assert!(served_cn(strict, Some("other.test")).is_empty());
    assert!(served_cn(plain, Some("other.test")).contains("a.test"));
    // TLS 1.2 shows whether a ticket came with the handshake.
    let ticket = "TLS session ticket lifetime hint";
    assert!(s_client(plain, &["-tls1_2", "-servername", "a.test"]).contains(ticket));
    assert!(!s_client(strict, &["-tls1_2", "-servername", "a.test"]).contains(ticket));
}

/// A certificate file whose key is not the certificate's is refused at
/// its `bind` line, naming the file.
#[test]
fn a_key_that_does_not_match_is_refused_at_its_line() {
    let dir = TempPath::dir("tls-mismatch");
    let (k1, k2) = (KeyPair::generate().unwrap(), KeyPair::generate().unwrap());
    let cert = CertificateParams::new(vec!["a.test".to_string()])
        .unwrap()
        .self_signed(&k1)
        .unwrap();
    let pem = dir.path().join("mismatch.pem");
    std::fs::write(&pem, format!("{}{}", cert.pem(), k2.serialize_pem())).unwrap();
    let cfg = format!(
        "defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8443 ssl crt {}
    default_backend be
backend be
    server s1 127.0.0.1:9000
",
        pem.display()
    );
    let file = TempPath::file("tls-mismatch", &cfg);
    let run = common::check(&[file.path()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let errors = common::errors_at(&run.stderr, &file.name(), 7);
    assert!(
        errors
            .iter()
            .any(|l| l.contains("the private key does not match the certificate")),
        "{}",
        run.stderr
    );
}

/// `option httpslog`: HAProxy's line with the TLS facts at its end, and
/// the frontend marked with '~' for a TLS connection.
#[test]
fn httpslog_lines_carry_the_tls_facts() {
    let p = pki(&["a.test"]);
    let b = HttpBackend::start("app");
    let log = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    log.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let log_port = log.local_addr().unwrap().port();
    let (port, plain) = (free_port(), free_port());
    let cfg = format!(
        "global
    nbthread 1
    log 127.0.0.1:{log_port} local0
defaults
    mode http
    log global
    option httpslog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:{port} ssl crt {}
    bind 127.0.0.1:{plain}
    server s0 {}
",
        p.certs().display(),
        b.addr
    );
    haproxy_accepts(&cfg);
    let _f = Fulcrum::start(&cfg);
    let recv = || {
        let mut buf = [0u8; 2048];
        let n = log.recv(&mut buf).expect("a log line");
        String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
    };
    let (head, _) = curl(&p.ca_pem, "a.test", port, "/x", &["--tlsv1.3"]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let line = recv();
    assert!(line.contains("] web~ web/s0 "), "{line}");
    assert!(
        line.contains("\"GET /x HTTP/1.1\" 0/0000000000000000/0/0/0 a.test/TLSv1.3/TLS_"),
        "{line}"
    );
    assert_eq!(get(plain, "/y").status, 200);
    let line = recv();
    assert!(line.contains("] web web/s0 "), "{line}");
    assert!(
        line.ends_with("\"GET /y HTTP/1.1\" 0/-/-/-/0 -/-/-"),
        "{line}"
    );
}

/// `verify required ca-file` to a server by address: as in HAProxy, the
/// chain is checked and the name only when there is one to check
/// (`verifyhost`, or `sni`); `verifyhost` names the certificate must
/// hold. The server's certificate is for check.example. Compared with
/// Debian's HAProxy 2.6.
#[test]
fn verify_required_checks_the_name_only_when_given_one() {
    let server = common::openssl::tls_server();
    let ca = server.cert_path();
    let cfg = |port: u16, params: &str| {
        format!(
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
             listen l\n    bind 127.0.0.1:{port}\n    server s 127.0.0.1:{} ssl verify required ca-file {} {params}\n",
            server.port,
            ca.display()
        )
    };
    for (params, status) in [
        ("", 200),
        ("verifyhost check.example", 200),
        ("verifyhost other.example", 503),
        ("sni str(check.example)", 200),
        ("sni str(other.example)", 503),
    ] {
        let (fp, hp) = (free_port(), free_port());
        let _f = Fulcrum::start(&cfg(fp, params));
        let _h = common::haproxy::Haproxy::start(&cfg(hp, params), &[hp]);
        for (who, port) in [("fulcrum", fp), ("haproxy", hp)] {
            assert_eq!(get(port, "/").status, status, "{who} with '{params}'");
        }
    }
}
