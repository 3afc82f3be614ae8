//! `openssl s_server -www`: a real TLS server for the tests (OpenSSL,
//! from Debian), on a certificate made by the test. It answers any GET
//! with 200.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::net::free_port;
use super::TempPath;

/// A running `openssl s_server`, killed when dropped.
pub struct TlsServer {
    /// Where it listens.
    pub port: u16,
    child: Option<Child>,
    dir: TempPath,
}

impl TlsServer {
    /// Its certificate (self-signed: also the CA that verifies it).
    pub fn cert_path(&self) -> std::path::PathBuf {
        self.dir.path().join("c.pem")
    }

    /// Stops it (connections are refused until `start`).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, and waits until it listens.
    pub fn start(&mut self) {
        self.stop();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(self.port.to_string())
            .arg("-cert")
            .arg(self.dir.path().join("c.pem"))
            .arg("-key")
            .arg(self.dir.path().join("k.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s_server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TLS server for `check.example`, listening.
pub fn tls_server() -> TlsServer {
    let dir = TempPath::dir("s_server");
    let cert =
        rcgen::generate_simple_self_signed(vec!["check.example".to_string()]).expect("certificate");
    std::fs::write(dir.path().join("c.pem"), cert.cert.pem()).expect("write cert");
    std::fs::write(dir.path().join("k.pem"), cert.key_pair.serialize_pem()).expect("write key");
    let mut s = TlsServer {
        port: free_port(),
        child: None,
        dir,
    };
    s.start();
    s
}
