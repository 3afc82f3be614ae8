//! Property tests: any model the readers can produce survives
//! cfg -> model -> cfg and model -> yaml -> model unchanged.

use std::time::Duration;

use fulcrum::config::emit::to_cfg;
use fulcrum::config::model::*;
use fulcrum::config::yaml::to_yaml;
use fulcrum::config::{parse_sources, parse_yaml, Config, Source};
use fulcrum::util::addr::{BindAddr, ServerAddr};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.:-]{0,8}"
}

fn time() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..100_000).prop_map(Duration::from_millis),
        (1u64..60).prop_map(|m| Duration::from_secs(m * 60)),
        (0u64..=2_147_483_647).prop_map(Duration::from_millis),
    ]
}

fn text() -> impl Strategy<Value = String> {
    // Printable text with the characters the lexer treats specially.
    "[a-zA-Z0-9 #$'\\\\/:._-]{1,16}"
}

fn bind_addr() -> impl Strategy<Value = BindAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, p)| BindAddr {
            ip: ip.into(),
            port: p,
            port_end: p
        }),
        (any::<[u16; 8]>(), 1u16..60000, 0u16..10).prop_map(|(ip, p, n)| BindAddr {
            ip: ip.into(),
            port: p,
            port_end: p + n
        }),
    ]
}

fn server_addr() -> impl Strategy<Value = ServerAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), 1u16..)
            .prop_map(|(ip, p)| format!("{}:{p}", std::net::Ipv4Addr::from(ip))),
        (any::<[u16; 8]>(), 1u16..)
            .prop_map(|(ip, p)| format!("[{}]:{p}", std::net::Ipv6Addr::from(ip))),
        ("[a-z]{1,8}(\\.[a-z]{1,8}){0,2}", 1u16..).prop_map(|(h, p)| format!("{h}:{p}")),
        any::<[u8; 4]>().prop_map(|ip| std::net::Ipv4Addr::from(ip).to_string()),
        (any::<[u8; 4]>(), -1000i32..1000)
            .prop_map(|(ip, o)| format!("{}:{o:+}", std::net::Ipv4Addr::from(ip))),
    ]
    .prop_map(|s| s.parse().expect("generated address parses"))
}

fn bind() -> impl Strategy<Value = Bind> {
    (
        vec(bind_addr(), 1..3),
        any::<(bool, bool, bool, bool)>(),
        option::of(1u32..10000),
        option::of(name()),
        option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(
            |(addresses, (transparent, v4v6, accept_proxy, defer), backlog, bname, iface)| {
                let mut b = Bind::new(addresses);
                b.transparent = transparent;
                b.v4v6 = v4v6;
                b.accept_proxy = accept_proxy;
                b.defer_accept = defer;
                b.backlog = backlog;
                b.name = bname;
                b.interface = iface;
                b
            },
        )
}

fn server() -> impl Strategy<Value = Server> {
    (
        name(),
        server_addr(),
        any::<(bool, bool, bool, bool)>(),
        (0u32..=256, 1u32..10, 1u32..10),
        (option::of(time()), option::of(1u16..)),
        option::of((option::of(name()), name())),
        option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(
            |(
                n,
                a,
                (check, backup, disabled, send_proxy),
                (weight, rise, fall),
                (inter, port),
                track,
                cookie,
            )| {
                let mut s = Server::new(n, a);
                s.check = check && track.is_none();
                s.backup = backup;
                s.disabled = disabled;
                s.send_proxy = send_proxy;
                s.weight = weight;
                s.rise = rise;
                s.fall = fall;
                s.inter = inter.filter(|d| !d.is_zero());
                s.port = port;
                s.track = track.map(|(backend, server)| Track { backend, server });
                s.cookie = cookie;
                s
            },
        )
}

fn balance() -> impl Strategy<Value = Balance> {
    prop_oneof![
        Just(Balance::Roundrobin),
        Just(Balance::StaticRr),
        Just(Balance::Leastconn),
        Just(Balance::First),
        Just(Balance::Source),
        (
            option::of(1u32..100),
            option::of(1u32..10),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(len, depth, whole, path_only)| Balance::Uri(UriHash {
                len,
                depth,
                whole,
                path_only
            })),
        "[a-z_]{1,8}".prop_map(|param| Balance::UrlParam { param }),
        ("[A-Za-z-]{1,10}", any::<bool>()).prop_map(|(name, use_domain_only)| Balance::Hdr {
            name,
            use_domain_only
        }),
        (1u32..5).prop_map(|draws| Balance::Random { draws }),
    ]
}

/// A condition's words, with a value that needs quoting now and then.
fn condition() -> impl Strategy<Value = Words> {
    (any::<bool>(), 0usize..3, any::<bool>(), "[a-z/ #\"']{1,8}").prop_map(
        |(unless, i, negate, value)| {
            let acl = ["TRUE", "FALSE", "LOCALHOST"][i];
            Words::new(vec![
                if unless { "unless" } else { "if" }.to_string(),
                format!("{}{acl}", if negate { "!" } else { "" }),
                "{".into(),
                "path_beg".into(),
                value,
                "}".into(),
            ])
        },
    )
}

fn proxy() -> impl Strategy<Value = Proxy> {
    let kind = prop_oneof![
        Just(ProxyKind::Frontend),
        Just(ProxyKind::Backend),
        Just(ProxyKind::Listen)
    ];
    (
        kind,
        name(),
        any::<bool>(),
        (vec(bind(), 0..3), option::of(1u32..100000)),
        (vec(server(), 0..4), balance(), 0u32..10),
        (
            option::of(time()),
            option::of(time()),
            option::of(time()),
            option::of(time()),
        ),
        (
            any::<(bool, bool, bool, bool)>(),
            0usize..3,
            option::of(("[A-Za-z-]{1,12}", any::<bool>())),
        ),
        (
            any::<bool>(),
            option::of("/[a-z?;]{1,10}"),
            option::of(text()),
            vec(("[a-z]{1,6}", "[a-z:]{0,8}"), 0..2),
            option::of(condition()),
        ),
        (
            option::of(name()),
            vec((name(), option::of(condition())), 0..2),
        ),
        option::of((
            "[A-Z]{1,6}",
            "/[a-z]{0,6}",
            prop_oneof![Just("HTTP/1.0"), Just("HTTP/1.1")],
        )),
    )
        .prop_map(
            |(
                kind,
                name,
                http,
                (binds, maxconn),
                (servers, balance, retries),
                (tc, ts, tcon, tq),
                (bools, conn, ff),
                (senable, suri, srealm, sauth, sadmin),
                (dflt, uses),
                chk,
            )| {
                let mut p = Proxy::new(kind, name);
                if http {
                    p.mode = Mode::Http;
                }
                p.option.http_connection = [
                    HttpConnection::KeepAlive,
                    HttpConnection::ServerClose,
                    HttpConnection::Close,
                ][conn];
                p.option.tcpka = bools.0;
                p.option.forwardfor = ff.map(|(header, if_none)| ForwardFor {
                    except: Some("10.0.0.0/8".parse().unwrap()),
                    header,
                    if_none,
                });
                p.timeout.http_request = tq;
                p.stats.enable = senable || suri.is_some() || srealm.is_some() || !sauth.is_empty();
                p.stats.uri = suri;
                p.stats.realm = srealm;
                p.stats.auth = sauth
                    .into_iter()
                    .map(|(user, password)| Credentials { user, password })
                    .collect();
                if kind.has_frontend() {
                    p.bind = binds;
                    p.maxconn = maxconn;
                    p.timeout.client = tc;
                    p.option.dontlognull = bools.1;
                    p.option.log_format = Some(AccessLog::Httplog);
                    p.default_backend = dflt;
                    p.use_backend = uses
                        .into_iter()
                        .map(|(backend, cond)| UseBackend {
                            backend,
                            cond,
                            origin: Default::default(),
                        })
                        .collect();
                    if let Some(c) = &sadmin {
                        // Rule lines travel as words: an ACL and a rule
                        // that uses it, with the generated value.
                        let value = c.words[4].clone();
                        p.acl = vec![Words::new(vec![
                            "is_x".into(),
                            "hdr(host)".into(),
                            "-i".into(),
                            value.clone(),
                        ])];
                        p.http_request = vec![Words::new(vec![
                            "set-header".into(),
                            "X-Value".into(),
                            value,
                            "if".into(),
                            "is_x".into(),
                        ])];
                    }
                    p.stats.admin = sadmin;
                }
                if kind.has_backend() {
                    p.server = servers;
                    p.balance = balance;
                    p.retries = retries;
                    p.timeout.server = ts;
                    p.timeout.connect = tcon;
                    p.option.redispatch = bools.2;
                    p.option.allbackups = bools.3;
                    p.option.httpchk = chk.map(|(m, u, v)| HttpChk {
                        method: m,
                        uri: u,
                        version: v.into(),
                        headers: vec![],
                    });
                    p.http_check = vec![
                        HttpCheckRule::Comment("first".into()),
                        HttpCheckRule::Connect(fulcrum::config::model::CheckConnect {
                            port: Some(8080),
                            ssl: bools.2,
                            sni: bools.2.then(|| "check.example".into()),
                            default: bools.3,
                            ..Default::default()
                        }),
                        HttpCheckRule::Send(Default::default()),
                        HttpCheckRule::Expect(HttpCheckExpect {
                            negate: bools.3,
                            matcher: ExpectMatch::Rstring,
                            pattern: "^ok".into(),
                            header: None,
                            comment: bools.2.then(|| "want ok".into()),
                        }),
                    ];
                }
                p
            },
        )
}

fn config() -> impl Strategy<Value = Config> {
    (
        option::of(1u32..100000),
        option::of(1u32..64),
        any::<bool>(),
        vec(proxy(), 0..4),
    )
        .prop_map(|(maxconn, nbthread, daemon, proxies)| {
            let mut c = Config::default();
            c.global.maxconn = maxconn;
            c.global.nbthread = nbthread;
            c.global.daemon = daemon;
            c.proxies = proxies;
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cfg_round_trip(c in config()) {
        let text = to_cfg(&c);
        let back = parse_sources(&[Source { name: "rt.cfg".into(), text: text.clone() }], &|_| None);
        prop_assert!(!back.diags.has_errors(), "{}\n{}", back.diags, text);
        prop_assert_eq!(&back.config, &c, "{}", text);
    }

    #[test]
    fn yaml_round_trip(c in config()) {
        let text = to_yaml(&c);
        let back = parse_yaml(&text, "rt.yaml");
        prop_assert!(!back.diags.has_errors(), "{}\n{}", back.diags, text);
        prop_assert_eq!(&back.config, &c, "{}", text);
    }

    #[test]
    fn cfg_yaml_cfg(c in config()) {
        // cfg -> yaml -> cfg gives the same model.
        let cfg = to_cfg(&c);
        let m1 = parse_sources(&[Source { name: "a.cfg".into(), text: cfg }], &|_| None).config;
        let m2 = parse_yaml(&to_yaml(&m1), "b.yaml").config;
        let m3 = parse_sources(&[Source { name: "c.cfg".into(), text: to_cfg(&m2) }], &|_| None).config;
        prop_assert_eq!(&m1, &m3);
    }
}

#[test]
fn seed_configs_round_trip() {
    {
        let text = include_str!("data/seed003.cfg");
        let m1 = parse_sources(
            &[Source {
                name: "s.cfg".into(),
                text: text.into(),
            }],
            &|_| None,
        )
        .config;
        let m2 = parse_yaml(&to_yaml(&m1), "s.yaml").config;
        assert_eq!(m1, m2);
        let m3 = parse_sources(
            &[Source {
                name: "s2.cfg".into(),
                text: to_cfg(&m2),
            }],
            &|_| None,
        )
        .config;
        assert_eq!(m1, m3);
    }
}
