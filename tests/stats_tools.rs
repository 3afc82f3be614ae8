//! The stats page as real tools see it: headless Chromium (a person with a
//! browser) and Debian's prometheus-haproxy-exporter (monitoring).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::{chromium, installed};
use common::net::{free_port, Fulcrum, HttpBackend};

fn config(port: u16, a: &HttpBackend, b: &HttpBackend) -> String {
    common::net::stats_pair_config(port, a, b)
}

#[test]
fn a_browser_reads_server_rows_and_states() {
    if !installed("chromium") {
        eprintln!("chromium is not installed: skipping (.ci/run installs it)");
        return;
    }
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    b.health.store(503, std::sync::atomic::Ordering::Relaxed);
    let port = free_port();
    let f = Fulcrum::start(&config(port, &a, &b));
    // Wait until the backup's failed check has been seen.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f
        .log
        .lock()
        .expect("log")
        .iter()
        .any(|l| l.contains("gvg-as/gvg-as2 is DOWN"))
    {
        assert!(Instant::now() < deadline, "gvg-as2 never went DOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://admin:s3cret@127.0.0.1:{port}/pstats");
    let dom = chromium(&["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<title>Statistics Report for fulcrum</title>"),
        "{dom}"
    );
    let rows: Vec<(String, String)> = dom
        .split("<tr ")
        .filter_map(|tr| {
            let attr = |name: &str| {
                let key = format!("{name}=\"");
                let start = tr.find(&key)? + key.len();
                Some(tr[start..].split('"').next()?.to_string())
            };
            Some((attr("data-server")?, attr("data-status")?))
        })
        .collect();
    assert!(rows.contains(&("gvg-as1".into(), "UP".into())), "{rows:?}");
    assert!(
        rows.contains(&("gvg-as2".into(), "DOWN".into())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("FRONTEND".into(), "OPEN".into())),
        "{rows:?}"
    );

    // A screenshot, kept as a test artefact.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("stats-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1280,480",
        &url,
    ]);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());

    // Without credentials the browser gets the 401 page only.
    let dom = chromium(&["--dump-dom", &format!("http://127.0.0.1:{port}/pstats")]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(!dom.contains("gvg-as1"), "{dom}");
}

#[test]
fn prometheus_haproxy_exporter_reads_the_csv() {
    if !installed("prometheus-haproxy-exporter") {
        eprintln!("prometheus-haproxy-exporter is not installed: skipping (.ci/run installs it)");
        return;
    }
    let (mut a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    let _f = Fulcrum::start(&config(port, &a, &b));
    let metrics_port = free_port();
    let mut exporter = Command::new("prometheus-haproxy-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{metrics_port}"))
        .arg(format!(
            "--haproxy.scrape-uri=http://admin:s3cret@127.0.0.1:{port}/pstats;csv"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the exporter");
    let metric = |name: &str| -> Option<String> {
        let r = common::net::request(
            metrics_port,
            "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )?;
        let text = r.text();
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next().map(str::to_string))
    };
    let up1 = "haproxy_server_up{backend=\"gvg-as\",server=\"gvg-as1\"}";
    let up2 = "haproxy_server_up{backend=\"gvg-as\",server=\"gvg-as2\"}";
    let wait_for = |name: &str, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = metric(name);
            if got.as_deref() == Some(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} is {got:?}, expected {want}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(up1, "1");
    wait_for(up2, "1");
    assert_eq!(
        metric("haproxy_exporter_csv_parse_failures_total").as_deref(),
        Some("0")
    );
    a.kill();
    wait_for(up1, "0");
    wait_for(up2, "1");
    let _ = exporter.kill();
    let _ = exporter.wait();
}
