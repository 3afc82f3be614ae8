//! The stats page's admin form against forged requests, in headless
//! Chromium: another site's page that makes the browser POST to the form
//! is refused, and the form submitted from the page itself (with its
//! token) acts. The admin form here is granted by address (`stats admin
//! if LOCALHOST`, a common setup), so the browser needs no password and
//! only the form's guard stands between a foreign page and the servers.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::browser::{chromium, installed};
use common::net::{free_port, get, Fulcrum, HttpBackend};
use common::TempPath;

/// Opens `url` in headless Chromium and returns the document it ends on
/// (the pages here submit their form while they load, so that is the
/// answer to the POST).
fn browse(url: &str) -> String {
    let out = chromium(&["--dump-dom", url]);
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Serves `page` to every request, on a port of its own (another origin).
fn foreign_site(page: String) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().take(20) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    port
}

/// The status column of server `name` in the stats CSV.
fn status(port: u16, name: &str) -> String {
    let r = get(port, "/pstats;csv");
    let body = String::from_utf8_lossy(&r.body).into_owned();
    body.lines()
        .find(|l| l.starts_with(&format!("app,{name},")))
        .and_then(|l| l.split(',').nth(17))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no row for {name}:\n{body}"))
}

#[test]
fn a_forged_post_is_refused_and_the_pages_own_form_acts() {
    if !installed("chromium") {
        eprintln!("chromium is not installed: skipping (.ci/run installs it)");
        return;
    }
    let dir = TempPath::dir("csrf");
    let (a, b) = (HttpBackend::start("as1"), HttpBackend::start("as2"));
    let port = free_port();
    // The operator's page on the same origin: it reads the stats page as
    // the browser shows it, ticks as2, picks MAINT and submits the form
    // with what the page put in it (its token included), as a click would.
    // (A synchronous read, so that the submission starts while the page
    // loads and Chromium's dump is of its answer.)
    let operator = dir.path().join("operator.html");
    std::fs::write(
        &operator,
        "<html><body><script>
const x = new XMLHttpRequest();
x.open('GET', '/pstats', false);
x.send();
const d = new DOMParser().parseFromString(x.responseText, 'text/html');
const f = document.adoptNode(d.querySelector('form'));
f.querySelector('input[name=s][value=as2]').checked = true;
f.querySelector('select[name=action]').value = 'maint';
document.body.appendChild(f);
f.submit();
</script></body></html>",
    )
    .expect("write page");
    let f = Fulcrum::start(&format!(
        "defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend web
    bind 127.0.0.1:{port}
    stats enable
    stats uri /pstats
    stats admin if LOCALHOST
    http-request return status 200 content-type text/html file {page} if {{ path /operator }}
    default_backend app
backend app
    server as1 {a}
    server as2 {b}
",
        page = operator.display(),
        a = a.addr,
        b = b.addr,
    ));
    assert_eq!(status(port, "as1"), "no check");

    // Another site's page posts to the admin form on load.
    let evil = foreign_site(format!(
        "<html><body><form id=f method=post action=\"http://127.0.0.1:{port}/pstats\">\
<input name=b value=app><input name=s value=as1><input name=action value=maint></form>\
<script>document.getElementById('f').submit()</script></body></html>"
    ));
    let dom = browse(&format!("http://127.0.0.1:{evil}/"));
    assert!(dom.contains("did not come from this page"), "{dom}");
    f.wait_count("admin POST refused", 1, Duration::from_secs(20));
    assert_eq!(status(port, "as1"), "no check", "the forged POST acted");
    assert_eq!(f.count("stats page admin action"), 0);

    // The page's own form, with its token, from the page's origin.
    let dom = browse(&format!("http://127.0.0.1:{port}/operator"));
    assert!(dom.contains("Action processed successfully."), "{dom}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(port, "as2") != "MAINT" {
        assert!(
            Instant::now() < deadline,
            "the page's own form did not act:\n{}",
            f.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status(port, "as1"), "no check");
    // The change is logged with its source.
    f.wait_count("stats page admin action", 1, Duration::from_secs(5));
    let log = f.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("stats page admin action"))
        .expect("the admin line");
    assert!(line.contains("127.0.0.1") && line.contains("as2"), "{line}");
}
