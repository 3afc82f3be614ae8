//! Malformed stick-table configurations: each is reported by `fulcrum -c`
//! at its file:line, and HAProxy 2.6's own verdict (`haproxy -c`) is
//! checked alongside, so that we refuse what it refuses. One valid case
//! records where HAProxy is lenient: `sc_http_req_rate` on a table that
//! does not store `http_req_rate` is accepted (the fetch finds nothing).

mod common;

use common::{check, errors_at, TempPath};

/// One configuration: the line of the error and a part of its message;
/// `None` when the configuration is valid for both.
struct Case {
    name: &'static str,
    error: Option<(u32, &'static str)>,
    /// The lines of the frontend and of the backend.
    fe: &'static str,
    be: &'static str,
}

/// Frontend lines start at line 8, backend lines follow `backend be` and
/// the frontend's `default_backend`.
fn config(c: &Case) -> String {
    format!(
        "defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
{}    default_backend be
backend be
{}    server s1 127.0.0.1:9000
",
        c.fe, c.be
    )
}

const CASES: &[Case] = &[
    Case {
        name: "unknown_type",
        error: Some((8, "unknown type 'ipx'")),
        fe: "    stick-table type ipx size 1k\n",
        be: "",
    },
    Case {
        name: "missing_size",
        error: Some((8, "missing size")),
        fe: "    stick-table type ip expire 10s\n",
        be: "",
    },
    Case {
        name: "bad_size_unit",
        error: Some((8, "unexpected character 'z'")),
        fe: "    stick-table type ip size 1z\n",
        be: "",
    },
    Case {
        name: "unknown_store",
        error: Some((8, "unknown store option 'foo'")),
        fe: "    stick-table type ip size 1k store http_req_rate(10s),foo\n",
        be: "",
    },
    Case {
        name: "rate_without_period",
        error: Some((8, "missing argument to store option 'http_req_rate'")),
        fe: "    stick-table type ip size 1k store http_req_rate\n",
        be: "",
    },
    Case {
        name: "track_sc3",
        error: Some((9, "track-sc number exceeding 2")),
        fe: "    stick-table type ip size 1k store conn_cur\n    http-request track-sc3 src\n",
        be: "",
    },
    Case {
        name: "track_without_table",
        error: Some((8, "unable to find table 'fe'")),
        fe: "    tcp-request connection track-sc0 src\n",
        be: "",
    },
    Case {
        name: "track_missing_fetch",
        error: Some((9, "missing fetch method")),
        fe: "    stick-table type ip size 1k\n    http-request track-sc1\n",
        be: "",
    },
    Case {
        name: "inc_gpc0_slot_3",
        error: Some((9, "invalid stick table track ID")),
        fe: "    stick-table type ip size 1k store gpc0\n    http-request sc-inc-gpc0(3)\n",
        be: "",
    },
    Case {
        name: "src_fetch_unknown_table",
        error: Some((9, "unable to find table 'nosuch'")),
        fe: "    stick-table type ip size 1k store conn_cur\n    acl busy src_conn_cur(nosuch) gt 2\n",
        be: "",
    },
    Case {
        name: "stick_on_without_table",
        error: Some((10, "unable to find stick-table 'be'")),
        fe: "",
        be: "    stick on src\n",
    },
    Case {
        name: "rate_fetch_on_table_without_rate",
        error: None,
        fe: "    stick-table type ip size 1k store conn_cur\n    http-request track-sc0 src\n    http-request deny if { sc_http_req_rate(0) gt 5 }\n",
        be: "",
    },
];

fn haproxy_refuses(cfg: &str) -> bool {
    let f = TempPath::file("malformed-stick-haproxy", cfg);
    let out = std::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(f.path())
        .output()
        .expect("run haproxy -c (apt-get install haproxy)");
    !out.status.success()
}

#[test]
fn stick_table_mistakes_are_reported_at_their_line() {
    let mut failures = Vec::new();
    for c in CASES {
        let cfg = config(c);
        let file = TempPath::file(&format!("malformed-stick-{}", c.name), &cfg);
        let run = check(&[file.path()]);
        let refused = haproxy_refuses(&cfg);
        match c.error {
            None => {
                if run.code != Some(0) || refused {
                    failures.push(format!(
                        "{}: expected valid (fulcrum exit {:?}, haproxy refused: {refused}):\n{}",
                        c.name, run.code, run.stderr
                    ));
                }
            }
            Some((line, expect)) => {
                let name = file.path().display().to_string();
                let hits = errors_at(&run.stderr, &name, line);
                if !hits.iter().any(|l| l.contains(expect)) || run.code == Some(0) {
                    failures.push(format!(
                        "{}: no error at line {line} containing {expect:?}:\n{}",
                        c.name, run.stderr
                    ));
                }
                if !refused {
                    failures.push(format!("{}: HAProxy 2.6 accepts it", c.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
