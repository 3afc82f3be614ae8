//! Golden tests: every keyword of the foundation issue, parsed into the typed
//! model and checked field by field; defaults folding; the reader's syntax.

use std::net::IpAddr;
use std::time::Duration;

use fulcrum::config::model::*;
use fulcrum::config::{parse_sources, validate, Config, Parsed, Source};
use fulcrum::util::addr::{Host, ServerPort};

fn parse_env(text: &str, env: &[(&str, &str)]) -> Parsed {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse_sources(
        &[Source {
            name: "t.cfg".into(),
            text: text.to_string(),
        }],
        &move |n| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()),
    )
}

fn parse_ok(text: &str) -> Config {
    let p = parse_env(text, &[]);
    assert!(!p.diags.has_errors(), "unexpected errors:\n{}", p.diags);
    let v = validate(&p.config);
    assert!(!v.has_errors(), "unexpected validation errors:\n{v}");
    p.config
}

fn proxy<'a>(c: &'a Config, name: &str) -> &'a Proxy {
    c.proxies
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no proxy {name}"))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn global_keywords() {
    let c = parse_ok(
        "global
    log 127.0.0.1 local1 notice
    log /dev/log local0 info err
    log 127.0.0.1:5140 len 2048 format rfc5424 daemon
    chroot /var/lib/haproxy
    pidfile /run/fulcrum.pid
    maxconn 4096
    user haproxy
    group haproxy
    daemon
    nbthread 2
    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
    stats timeout 30s
    tune.ssl.default-dh-param 2048
    tune.bufsize 32768
    hard-stop-after 1m
",
    );
    let g = &c.global;
    assert_eq!(g.maxconn, Some(4096));
    assert_eq!(g.nbthread, Some(2));
    assert!(g.daemon);
    assert_eq!(
        g.pidfile.as_deref(),
        Some(std::path::Path::new("/run/fulcrum.pid"))
    );
    assert_eq!(g.log.len(), 3);
    match &g.log[0] {
        LogTarget::Syslog(s) => {
            assert_eq!(s.address, LogAddress::Udp("127.0.0.1:514".parse().unwrap()));
            assert_eq!(s.facility, Facility::Local1);
            assert_eq!(s.level, Some(Level::Notice));
        }
        other => panic!("{other:?}"),
    }
    match &g.log[1] {
        LogTarget::Syslog(s) => {
            assert_eq!(s.address, LogAddress::Unix("/dev/log".into()));
            assert_eq!((s.level, s.minlevel), (Some(Level::Info), Some(Level::Err)));
        }
        other => panic!("{other:?}"),
    }
    match &g.log[2] {
        LogTarget::Syslog(s) => {
            assert_eq!(s.len, Some(2048));
            assert_eq!(s.format, Some(LogFormat::Rfc5424));
            assert_eq!(s.facility, Facility::Daemon);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(g.stats_socket.len(), 1);
    assert_eq!(g.stats_socket[0].mode, Some(0o660));
    assert_eq!(g.stats_socket[0].level, Some(StatsLevel::Admin));
    assert_eq!(g.stats_socket[0].params, ["expose-fd", "listeners"]);
    assert_eq!(g.stats_timeout, Some(ms(30_000)));
    assert_eq!(g.tune_bufsize, Some(32768));
    assert_eq!(g.hard_stop_after, Some(ms(60_000)));
    for k in ["chroot", "user", "group", "tune.ssl.default-dh-param"] {
        assert!(g.ignored.contains_key(k), "{k} kept for convert");
    }
}

#[test]
fn ignored_globals_warn_once_each() {
    let p = parse_env("global\n    chroot /x\n    user u\n    group g\n", &[]);
    assert!(!p.diags.has_errors());
    let lines: Vec<Option<u32>> = p.diags.warnings().map(|d| d.span.line).collect();
    assert_eq!(lines, [Some(2), Some(3), Some(4)]);
}

const FULL: &str = r#"
defaults
    mode http
    log global
    option httplog
    option dontlognull
    option http-server-close
    option forwardfor except 127.0.0.0/8
    option redispatch
    retries 3
    timeout http-request 10s
    timeout queue 1m
    timeout connect 10s
    timeout client 1m
    timeout server 1m
    timeout http-keep-alive 10s
    timeout check 10s
    timeout tunnel 1h
    maxconn 3000

frontend www
    bind 127.0.0.1:8080,127.0.0.2:8080 transparent interface lo backlog 512 name web
    bind [::1]:8080 v6only
    bind :::8081 v4v6
    option forwardfor header X-Client if-none
    option logasap
    default_backend app
    use_backend static if TRUE

backend app
    balance leastconn
    option httpchk GET /servlet/check?command=get_local_host HTTP/1.0
    http-check send hdr Host example.com
    http-check expect status 200-399
    option allbackups
    cookie SRV insert indirect nocache
    server as1 127.0.0.1:9001 check inter 2s fastinter 500 downinter 10s rise 3 fall 2 port 9100 addr 127.0.0.3 weight 10 maxconn 50 cookie a1
    server as2 127.0.0.1:9002 check backup disabled send-proxy
    server as3 127.0.0.1:9003 ssl verify none
    server as4 127.0.0.1:9004 track as1

backend static
    balance uri len 10 depth 2 whole
    server s1 localhost:9005
    server s2 127.0.0.1 weight 0

listen stats
    bind 127.0.0.1:8404
    stats enable
    stats uri /pstats
    stats realm Haproxy\ Statistics
    stats auth admin:secret
    stats auth ops:other:colon
    stats refresh 10s
    stats admin if TRUE
    stats hide-version
    stats show-legends

listen tls
    mode tcp
    bind 127.0.0.1:8443
    option tcplog
    option httpclose
    option http-keep-alive
    server t1 127.0.0.1:9443 track app/as1
    server t2 127.0.0.1:9444 track app/as2 backup
"#;

#[test]
fn proxy_keywords() {
    let c = parse_ok(FULL);
    let www = proxy(&c, "www");
    assert_eq!(www.kind, ProxyKind::Frontend);
    assert_eq!(www.mode, Mode::Http);
    assert_eq!(www.maxconn, Some(3000));
    assert_eq!(www.bind.len(), 3);
    let b = &www.bind[0];
    assert_eq!(b.addresses.len(), 2);
    assert_eq!(b.addresses[1].ip, "127.0.0.2".parse::<IpAddr>().unwrap());
    assert!(b.transparent);
    assert_eq!(b.interface.as_deref(), Some("lo"));
    assert_eq!(b.backlog, Some(512));
    assert_eq!(b.name.as_deref(), Some("web"));
    assert!(www.bind[1].v6only && www.bind[2].v4v6);
    assert_eq!(www.option.log_format, Some(AccessLog::Httplog));
    assert!(www.option.dontlognull && www.option.logasap);
    assert_eq!(www.option.http_connection, HttpConnection::ServerClose);
    let ff = www.option.forwardfor.as_ref().unwrap();
    assert_eq!(
        (ff.header.as_str(), ff.if_none, ff.except),
        ("X-Client", true, None)
    );
    assert_eq!(www.timeout.client, Some(ms(60_000)));
    assert_eq!(www.timeout.http_request, Some(ms(10_000)));
    assert_eq!(www.timeout.http_keep_alive, Some(ms(10_000)));
    // Backend-only settings from defaults do not reach a frontend.
    assert_eq!(www.timeout.server, None);
    assert!(!www.option.redispatch);
    assert_eq!(www.default_backend.as_deref(), Some("app"));
    assert_eq!(www.use_backend[0].backend, "static");
    assert_eq!(
        www.use_backend[0].cond.as_ref().unwrap().words,
        vec!["if".to_string(), "TRUE".to_string()]
    );

    let app = proxy(&c, "app");
    assert_eq!(app.kind, ProxyKind::Backend);
    assert_eq!(app.balance, Balance::Leastconn);
    assert_eq!(app.retries, 3);
    assert!(app.option.redispatch && app.option.allbackups);
    let ff = app.option.forwardfor.as_ref().unwrap();
    assert_eq!(ff.except, Some("127.0.0.0/8".parse().unwrap()));
    assert_eq!(ff.header, DEFAULT_XFF);
    // Frontend-only settings from defaults do not reach a backend.
    assert_eq!(app.maxconn, None);
    assert_eq!(app.timeout.client, None);
    assert_eq!(app.timeout.connect, Some(ms(10_000)));
    assert_eq!(app.timeout.queue, Some(ms(60_000)));
    assert_eq!(app.timeout.check, Some(ms(10_000)));
    assert_eq!(app.timeout.tunnel, Some(ms(3_600_000)));
    let chk = app.option.httpchk.as_ref().unwrap();
    assert_eq!(
        (chk.method.as_str(), chk.uri.as_str(), chk.version.as_str()),
        ("GET", "/servlet/check?command=get_local_host", "HTTP/1.0")
    );
    assert_eq!(
        app.http_check,
        [
            HttpCheckRule::Send(HttpCheckSend {
                hdr: vec![("Host".into(), "example.com".into())],
                ..Default::default()
            }),
            HttpCheckRule::Expect(HttpCheckExpect {
                negate: false,
                matcher: ExpectMatch::Status,
                pattern: "200-399".into(),
                header: None,
                comment: None,
            })
        ]
    );
    let ck = app.cookie.as_ref().unwrap();
    assert_eq!(ck.name, "SRV");
    assert_eq!(ck.method, Some(CookieMethod::Insert));
    assert!(ck.indirect && ck.nocache);

    let as1 = &app.server[0];
    assert_eq!(as1.address.port, ServerPort::Fixed(9001));
    assert!(as1.check && !as1.backup);
    assert_eq!(as1.inter, Some(ms(2000)));
    assert_eq!(as1.fastinter, Some(ms(500)));
    assert_eq!(as1.downinter, Some(ms(10_000)));
    assert_eq!((as1.rise, as1.fall, as1.weight), (3, 2, 10));
    assert_eq!(as1.port, Some(9100));
    assert_eq!(as1.addr, Some("127.0.0.3".parse().unwrap()));
    assert_eq!(as1.maxconn, Some(50));
    assert_eq!(as1.cookie.as_deref(), Some("a1"));
    let as2 = &app.server[1];
    assert!(as2.check && as2.backup && as2.disabled && as2.send_proxy);
    assert_eq!(
        (as2.rise, as2.fall, as2.weight),
        (DEFAULT_RISE, DEFAULT_FALL, DEFAULT_WEIGHT)
    );
    let as3 = &app.server[2];
    assert!(as3.ssl);
    assert_eq!(as3.verify, Some(Verify::None));
    let as4 = &app.server[3];
    assert_eq!(
        as4.track,
        Some(Track {
            backend: None,
            server: "as1".into()
        })
    );

    let st = proxy(&c, "static");
    assert_eq!(
        st.balance,
        Balance::Uri(UriHash {
            len: Some(10),
            depth: Some(2),
            whole: true,
            path_only: false
        })
    );
    assert_eq!(st.server[0].address.host, Host::Name("localhost".into()));
    assert_eq!(st.server[1].address.port, ServerPort::SameAsClient);
    assert_eq!(st.server[1].weight, 0);

    let stats = proxy(&c, "stats");
    let s = &stats.stats;
    assert!(s.enable && s.hide_version && s.show_legends);
    assert_eq!(s.uri.as_deref(), Some("/pstats"));
    assert_eq!(s.realm.as_deref(), Some("Haproxy Statistics"));
    assert_eq!(
        s.auth[0],
        Credentials {
            user: "admin".into(),
            password: "secret".into()
        }
    );
    assert_eq!(s.auth[1].password, "other:colon");
    assert_eq!(s.refresh, Some(ms(10_000)));
    assert!(s.admin.is_some());

    let tls = proxy(&c, "tls");
    assert_eq!(tls.mode, Mode::Tcp);
    assert_eq!(tls.option.log_format, Some(AccessLog::Tcplog));
    // The last of httpclose / http-keep-alive wins.
    assert_eq!(tls.option.http_connection, HttpConnection::KeepAlive);
    assert_eq!(
        tls.server[0].track,
        Some(Track {
            backend: Some("app".into()),
            server: "as1".into()
        })
    );
    assert!(tls.server[1].backup);
}

#[test]
fn every_balance_algorithm() {
    for (line, want) in [
        ("roundrobin", Balance::Roundrobin),
        ("static-rr", Balance::StaticRr),
        ("leastconn", Balance::Leastconn),
        ("first", Balance::First),
        ("source", Balance::Source),
        ("uri", Balance::Uri(UriHash::default())),
        (
            "url_param userid",
            Balance::UrlParam {
                param: "userid".into(),
            },
        ),
        (
            "hdr(host)",
            Balance::Hdr {
                name: "host".into(),
                use_domain_only: false,
            },
        ),
        (
            "hdr(Host) use_domain_only",
            Balance::Hdr {
                name: "Host".into(),
                use_domain_only: true,
            },
        ),
        ("random", Balance::Random { draws: 2 }),
        ("random(3)", Balance::Random { draws: 3 }),
    ] {
        let c = parse_ok(&format!(
            "backend b\n    mode http\n    balance {line}\n    server s 127.0.0.1:1\n"
        ));
        assert_eq!(c.proxies[0].balance, want, "{line}");
    }
}

#[test]
fn httpchk_forms() {
    for (args, m, u, v) in [
        ("", "OPTIONS", "/", "HTTP/1.0"),
        (" /health", "OPTIONS", "/health", "HTTP/1.0"),
        (" HEAD /health", "HEAD", "/health", "HTTP/1.0"),
        (" GET /h HTTP/1.1", "GET", "/h", "HTTP/1.1"),
    ] {
        let c = parse_ok(&format!("backend b\n    option httpchk{args}\n"));
        let h = c.proxies[0].option.httpchk.clone().unwrap();
        assert_eq!(
            (h.method.as_str(), h.uri.as_str(), h.version.as_str()),
            (m, u, v),
            "{args}"
        );
    }
    // The old way of adding a Host header, after the version.
    let c =
        parse_ok("backend b\n    option httpchk HEAD / HTTP/1.1\\r\\nHost:\\ www.example.com\n");
    let h = c.proxies[0].option.httpchk.clone().unwrap();
    assert_eq!(h.version, "HTTP/1.1");
    assert_eq!(
        h.headers,
        [("Host".to_string(), "www.example.com".to_string())]
    );
}

#[test]
fn several_defaults_apply_in_order_and_reset() {
    let c = parse_ok(
        "defaults
    mode http
    timeout client 5s
listen a
    bind 127.0.0.1:1
defaults
    timeout connect 3s
listen b
    bind 127.0.0.1:2
",
    );
    let (a, b) = (proxy(&c, "a"), proxy(&c, "b"));
    assert_eq!((a.mode, a.timeout.client), (Mode::Http, Some(ms(5000))));
    // A new defaults section starts from scratch, as in HAProxy.
    assert_eq!(
        (b.mode, b.timeout.client, b.timeout.connect),
        (Mode::Tcp, None, Some(ms(3000)))
    );
}

#[test]
fn named_defaults_and_from() {
    let c = parse_ok(
        "defaults web
    mode http
    timeout client 7s
defaults tcp
    mode tcp
frontend f from web
    bind 127.0.0.1:1
frontend g
    bind 127.0.0.1:2
",
    );
    assert_eq!(proxy(&c, "f").mode, Mode::Http);
    assert_eq!(proxy(&c, "f").timeout.client, Some(ms(7000)));
    // Without `from`, the last defaults section applies.
    assert_eq!(proxy(&c, "g").mode, Mode::Tcp);
}

#[test]
fn no_option_clears_inherited_option() {
    let c = parse_ok(
        "defaults
    option dontlognull
    option http-server-close
    option redispatch
listen a
    bind 127.0.0.1:1
    no option dontlognull
    no option http-server-close
    no option redispatch
",
    );
    let a = proxy(&c, "a");
    assert!(!a.option.dontlognull && !a.option.redispatch);
    assert_eq!(a.option.http_connection, HttpConnection::KeepAlive);
}

#[test]
fn environment_and_quoting() {
    let p = parse_env(
        r#"listen a
    bind "127.0.0.1:${PORT-8080}"
    bind "127.0.0.1:${SET}"
    bind 127.0.0.1:${SET2}
    stats realm "My Stats"
"#,
        &[("SET", "9000"), ("SET2", "9001")],
    );
    assert!(!p.diags.has_errors(), "{}", p.diags);
    let a = &p.config.proxies[0];
    let ports: Vec<u16> = a.bind.iter().map(|b| b.addresses[0].port).collect();
    assert_eq!(ports, [8080, 9000, 9001]);
    assert_eq!(a.stats.realm.as_deref(), Some("My Stats"));
}

#[test]
fn conditional_blocks() {
    let p = parse_env(
        "listen a
.if defined(WITH_B)
    bind 127.0.0.1:1
.elif streq(\"$MODE\",second)
    bind 127.0.0.1:2
.else
    bind 127.0.0.1:3
.endif
",
        &[("MODE", "second")],
    );
    assert!(!p.diags.has_errors(), "{}", p.diags);
    assert_eq!(p.config.proxies[0].bind[0].addresses[0].port, 2);
}

#[test]
fn seed_003_as_printed_is_accepted_with_warnings() {
    let text = include_str!("data/seed003.cfg");
    let p = parse_env(text, &[]);
    assert!(!p.diags.has_errors(), "{}", p.diags);
    let v = validate(&p.config);
    assert!(!v.has_errors(), "{v}");
    let warnings: Vec<String> = p.diags.warnings().map(|d| d.to_string()).collect();
    let has = |s: &str| warnings.iter().any(|w| w.contains(s));
    assert!(
        has("write 'bind 0.0.0.0:80' on its own line"),
        "{warnings:?}"
    );
    assert!(has("'Stats' accepted as 'stats'"), "{warnings:?}");
    let c = &p.config;
    let https = proxy(c, "gvg-as-https");
    assert_eq!(https.bind[0].addresses[0].port, 443);
    assert_eq!(https.mode, Mode::Tcp);
    let gvg = proxy(c, "gvg-as");
    assert_eq!(gvg.stats.uri.as_deref(), Some("/pstats"));
    assert!(gvg.server[1].backup);
    // Only the case of a keyword is forgiven, never its spelling.
    let p = parse_env("listen a\n    Statz enable\n", &[]);
    assert!(p.diags.has_errors());
}

/// `default-server` in defaults and in the backend both apply, in order,
/// before each server's own parameters; the finished model holds the
/// folded servers and no default-server list.
#[test]
fn default_server_folds_into_servers() {
    let c = parse_ok(
        "defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    default-server inter 3s fall 5 check
backend be
    default-server weight 7
    server s1 127.0.0.1:1
    server s2 127.0.0.1:2 weight 2 no-check
frontend fe
    bind 127.0.0.1:8080
    default_backend be
",
    );
    let be = proxy(&c, "be");
    let (s1, s2) = (&be.server[0], &be.server[1]);
    assert!(s1.check);
    assert_eq!(s1.inter, Some(ms(3000)));
    assert_eq!(s1.fall, 5);
    assert_eq!(s1.weight, 7);
    assert!(!s2.check);
    assert_eq!(s2.weight, 2);
    assert!(be.default_server.is_empty());
}
