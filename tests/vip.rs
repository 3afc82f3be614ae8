//! A transparent VIP: inside a private network namespace, fulcrum binds
//! 192.0.2.10:8080 with `transparent` before that address exists anywhere;
//! once `ip addr add 192.0.2.10/32 dev lo` runs (as keepalived or Pacemaker
//! would on failover), clients through the VIP are served. Without
//! `transparent` the same configuration fails to start with a clear error.
//!
//! The scenario runs in a child copy of this test binary started under
//! `unshare --net --map-root-user`, so nothing leaves the namespace.

mod common;

use std::process::Command;

use common::net::{free_port, Fulcrum, HttpBackend};

const VIP: &str = "192.0.2.10";
const INNER: &str = "FULCRUM_VIP_INNER";

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

fn config(port: u16, transparent: bool, server: std::net::SocketAddr) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\nlisten vip\n    bind {VIP}:{port}{}\n    server s1 {server}\n",
        if transparent { " transparent" } else { "" }
    )
}

/// The part that runs inside the namespace.
#[test]
#[ignore = "runs only inside the namespace made by transparent_vip_binds_before_the_address_exists"]
fn vip_inner() {
    if std::env::var(INNER).is_err() {
        return;
    }
    ip(&["link", "set", "lo", "up"]);
    let backend = HttpBackend::start("behind-the-vip");
    let port = free_port();

    // Without `transparent`: a clear error naming the address and the fix.
    let err = Fulcrum::try_start(&config(port, false, backend.addr))
        .err()
        .expect("must fail to start");
    assert!(err.contains(&format!("cannot bind {VIP}:{port}")), "{err}");
    assert!(err.contains("transparent"), "{err}");

    // With `transparent`: it starts although the VIP is on no interface.
    let _f = Fulcrum::start(&config(port, true, backend.addr));
    ip(&["addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
    let mut s = std::net::TcpStream::connect((VIP, port)).expect("connect to the VIP");
    use std::io::Write;
    s.write_all(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
        .expect("write");
    let r = common::net::read_response(&mut s, &mut Vec::new()).expect("response");
    assert_eq!((r.status, r.text().as_str()), (200, "behind-the-vip"));
    println!("VIP scenario passed");
}

#[test]
fn transparent_vip_binds_before_the_address_exists() {
    let have = |c: &str| Command::new(c).arg("--version").output().is_ok();
    if !have("unshare") || !have("ip") {
        eprintln!("unshare or ip missing: skipping (.ci/run installs util-linux and iproute2)");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("unshare")
        .args(["--net", "--map-root-user"])
        .arg(exe)
        .args([
            "--exact",
            "vip_inner",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .output()
        .expect("run unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() && text.contains("unshare failed") {
        eprintln!("network namespaces are not permitted here: skipping\n{text}");
        return;
    }
    assert!(
        out.status.success() && text.contains("VIP scenario passed"),
        "{text}"
    );
}
