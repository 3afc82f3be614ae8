//! The variables HAProxy resolves in double-quoted configuration words:
//! the pseudo-variables `.FILE`, `.LINE`, `.SECTION`, and the environment
//! HAProxy sets before it reads the files (`HAPROXY_LOCALPEER`), next to
//! Debian's HAProxy given the same file. (`HAPROXY_CFGFILES` is set once
//! the files are read, for the programs a master runs, as in HAProxy.)

mod common;

use common::haproxy::Haproxy;
use common::net::{free_port, get, Fulcrum};

fn config(port: u16) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\nfrontend web_{port}\n    bind 127.0.0.1:{port}\n    http-request return status 200 hdr x-where \"${{.FILE}}:${{.LINE}} ${{.SECTION}}\" hdr x-peer \"${{HAPROXY_LOCALPEER}}\"\n"
    )
}

fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn pseudo_and_haproxy_variables_expand_as_in_haproxy() {
    let (fport, hport) = (free_port(), free_port());
    let f = Fulcrum::start(&config(fport));
    let _h = Haproxy::start(&config(hport), &[hport]);
    let (ours, theirs) = (get(fport, "/"), get(hport, "/"));
    let path = f.config_path().display().to_string();
    assert_eq!(
        header(&ours.head, "x-where"),
        format!("{path}:9 web_{fport}")
    );
    // HAProxy's file is its own; the line and section match.
    let where_theirs = header(&theirs.head, "x-where");
    assert!(
        where_theirs.ends_with(&format!(":9 web_{hport}")),
        "{where_theirs}"
    );
    assert_eq!(header(&ours.head, "x-peer"), header(&theirs.head, "x-peer"));
    assert!(!header(&ours.head, "x-peer").is_empty());
}
