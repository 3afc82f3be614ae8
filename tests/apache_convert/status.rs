//! `/server-status` from httpd and from fulcrum, compared.

use super::client::{get, header};

/// The fields httpd's `?auto` has that fulcrum leaves out, having no
/// figure for them (README: "Moving from Apache mod_proxy_balancer").
pub const NOT_SHOWN: [&str; 9] = [
    "Server Built",
    "Total Duration",
    "DurationPerReq",
    "CPUChildrenUser",
    "CPUChildrenSystem",
    "ConnsAsyncWaitIO",
    "ConnsAsyncWriting",
    "ConnsAsyncKeepAlive",
    "ConnsAsyncClosing",
];

/// `/server-status?auto` and the HTML page from both: the same
/// Content-Type and first line, every field httpd shows but those in
/// NOT_SHOWN, the same balancers and members with the same status words;
/// the HTML ends as Pacemaker's apache agent checks (`</body></html>`).
pub fn status_pages_agree(apache: u16, fulcrum: u16) {
    let page = |port: u16, path: &str| -> (String, String) {
        let r = get(port, path, &format!("lb.example:{port}"), "");
        (r.head, r.body)
    };
    let fields = |body: &str| -> Vec<(String, String)> {
        body.lines()
            .skip(1)
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (ah, ab) = page(apache, "/server-status?auto");
    let (fh, fb) = page(fulcrum, "/server-status?auto");
    assert_eq!(
        header(&ah, "content-type").map(|c| c.to_ascii_lowercase()),
        header(&fh, "content-type").map(|c| c.to_ascii_lowercase()),
        "{ah}\n{fh}"
    );
    assert_eq!(
        ab.lines().next(),
        fb.lines().next(),
        "the first line: the server's name"
    );
    let (af, ff) = (fields(&ab), fields(&fb));
    // mod_status's own fields come before the balancers; other modules'
    // (mod_ssl's CacheType...) after them.
    let core = af
        .iter()
        .take_while(|(k, _)| !k.starts_with("ProxyBalancer"));
    for (k, _) in core {
        assert!(
            NOT_SHOWN.contains(&k.as_str()) || ff.iter().any(|(fk, _)| fk == k),
            "fulcrum's ?auto has no '{k}':\n{fb}\nAPACHE:\n{ab}"
        );
    }
    for k in ["Total Accesses", "BusyWorkers", "IdleWorkers", "Uptime"] {
        let v = &ff.iter().find(|(fk, _)| fk == k).expect("field").1;
        assert!(v.parse::<u64>().is_ok(), "{k}: {v}");
    }
    let members = |f: &[(String, String)]| -> Vec<(String, String)> {
        f.iter()
            .filter(|(k, _)| {
                k.starts_with("ProxyBalancer") && (k.ends_with("Name") || k.ends_with("Status"))
            })
            .cloned()
            .collect()
    };
    assert_eq!(members(&af), members(&ff), "balancers and members");
    assert!(!members(&ff).is_empty(), "{fb}");
    for port in [apache, fulcrum] {
        let (h, b) = page(port, "/server-status");
        assert!(h.starts_with("HTTP/1.1 200"), "{h}");
        assert!(b.trim_end().ends_with("</body></html>"), "{b}");
    }
}

/// The Name and Status lines of `/server-status?auto`'s balancers.
pub fn balancer_lines(port: u16) -> Vec<(String, String)> {
    get(port, "/server-status?auto", "lb.example", "")
        .body
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| {
            k.starts_with("ProxyBalancer") && (k.ends_with("Name") || k.ends_with("Status"))
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `/balancer-manager` from both: the same members, in the same order,
/// with the same status words.
pub fn manager_pages_agree(apache: u16, fulcrum: u16) {
    let rows = |port: u16| -> Vec<(String, String)> {
        let r = get(port, "/balancer-manager", "lb.example", "");
        assert!(r.head.starts_with("HTTP/1.1 200"), "{}", r.head);
        r.body
            .split("<tr>")
            .filter_map(|row| {
                let cells: Vec<String> = row.split("<td>").skip(1).map(strip_tags).collect();
                let url = cells.first()?;
                url.contains("://")
                    .then(|| (url.clone(), cells.get(5).cloned().unwrap_or_default()))
            })
            .collect()
    };
    let (a, f) = (rows(apache), rows(fulcrum));
    assert!(!a.is_empty(), "no members on httpd's page");
    assert_eq!(a, f, "httpd's members, then fulcrum's");
}

/// A cell's text, without its tags.
fn strip_tags(cell: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in cell.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
