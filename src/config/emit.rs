//! [`Config`] back to haproxy.cfg text. Defaults are already folded into each
//! proxy, so every proxy is written in full and no `defaults` section is
//! needed. `parse_cfg(emit(c)) == c` for every valid model (tested).

use std::fmt::Write;

use super::model::{
    AccessLog, Balance, Config, HeaderMatch, HttpCheckRule, HttpConnection, LogTarget, Mode, Proxy,
    Server, SyslogTarget, Verify, DEFAULT_XFF,
};
use crate::util::time::TimeDisplay;

/// Quotes a word so the lexer reads it back unchanged.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b'\\' | b'\'' | b'"' | b'$'));
    if plain {
        return word.to_string();
    }
    let mut out = String::new();
    if word.is_empty() {
        return "''".into();
    }
    for c in word.chars() {
        match c {
            ' ' => out.push_str("\\ "),
            '#' | '\\' | '\'' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Writes the whole configuration.
pub fn to_cfg(c: &Config) -> String {
    let mut o = String::new();
    global(&mut o, c);
    for u in &c.userlists {
        o.push('\n');
        userlist(&mut o, u);
    }
    for h in &c.http_errors {
        let _ = writeln!(o, "\nhttp-errors {}", quote(&h.name));
        for (code, file) in &h.errorfile {
            let _ = writeln!(o, "    errorfile {code} {}", quote(&file.to_string_lossy()));
        }
    }
    for r in &c.resolvers {
        o.push('\n');
        resolvers(&mut o, r);
    }
    for p in &c.peers {
        o.push('\n');
        peers(&mut o, p);
    }
    for p in &c.programs {
        let _ = writeln!(o, "\nprogram {}", quote(&p.name));
        let words: Vec<String> = p.command.iter().map(|w| quote(w)).collect();
        let _ = writeln!(o, "    command {}", words.join(" "));
        if let Some(u) = &p.user {
            let _ = writeln!(o, "    user {}", quote(u));
        }
        if let Some(g) = &p.group {
            let _ = writeln!(o, "    group {}", quote(g));
        }
        if !p.start_on_reload {
            o.push_str("    no option start-on-reload\n");
        }
    }
    for p in &c.proxies {
        o.push('\n');
        proxy(&mut o, p);
    }
    o
}

fn peers(o: &mut String, p: &super::model::Peers) {
    let _ = writeln!(o, "peers {}", quote(&p.name));
    if p.disabled {
        o.push_str("    disabled\n");
    }
    if let Some(b) = &p.bind {
        let _ = writeln!(o, "    bind {b}");
    }
    for n in &p.peers {
        let kw = if n.server_line { "server" } else { "peer" };
        let _ = match &n.address {
            Some(a) => writeln!(o, "    {kw} {} {a}", quote(&n.name)),
            None => writeln!(o, "    {kw} {}", quote(&n.name)),
        };
    }
    for t in &p.tables {
        let _ = writeln!(o, "    table {} {}", quote(&t.name), t.table.words());
    }
}

fn resolvers(o: &mut String, r: &super::model::Resolvers) {
    use super::model::Transport;
    let _ = writeln!(o, "resolvers {}", quote(&r.name));
    for n in &r.nameservers {
        let prefix = match n.transport {
            Transport::Udp => "",
            Transport::Tcp => "tcp@",
        };
        let _ = writeln!(o, "    nameserver {} {prefix}{}", quote(&n.name), n.address);
    }
    if r.parse_resolv_conf {
        o.push_str("    parse-resolv-conf\n");
    }
    let _ = writeln!(o, "    resolve_retries {}", r.resolve_retries);
    let _ = writeln!(o, "    timeout resolve {}", TimeDisplay(r.timeout_resolve));
    let _ = writeln!(o, "    timeout retry {}", TimeDisplay(r.timeout_retry));
    let h = &r.hold;
    for (k, v) in [
        ("nx", h.nx),
        ("refused", h.refused),
        ("timeout", h.timeout),
        ("other", h.other),
        ("valid", h.valid),
        ("obsolete", h.obsolete),
    ] {
        let _ = writeln!(o, "    hold {k} {}", TimeDisplay(v));
    }
    let _ = writeln!(o, "    accepted_payload_size {}", r.accepted_payload_size);
}

fn userlist(o: &mut String, u: &super::model::Userlist) {
    use super::model::Password;
    let _ = writeln!(o, "userlist {}", quote(&u.name));
    for g in &u.groups {
        let _ = write!(o, "    group {}", quote(&g.name));
        if !g.users.is_empty() {
            let _ = write!(o, " users {}", quote(&g.users.join(",")));
        }
        o.push('\n');
    }
    for user in &u.users {
        let (kw, p) = match &user.password {
            Password::Crypt(h) => ("password", h),
            Password::Insecure(p) => ("insecure-password", p),
        };
        let _ = write!(o, "    user {} {kw} {}", quote(&user.name), quote(p));
        if !user.groups.is_empty() {
            let _ = write!(o, " groups {}", quote(&user.groups.join(",")));
        }
        o.push('\n');
    }
}

fn global(o: &mut String, c: &Config) {
    let g = &c.global;
    o.push_str("global\n");
    for t in &g.log {
        let _ = writeln!(o, "    log {}", log_words(t));
    }
    let mut kv = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(o, "    {k} {v}");
            if v.is_empty() {
                o.truncate(o.len() - 2);
                o.push('\n');
            }
        }
    };
    kv("maxconn", g.maxconn.map(|n| n.to_string()));
    kv("nbthread", g.nbthread.map(|n| n.to_string()));
    kv(
        "pidfile",
        g.pidfile.as_ref().map(|p| quote(&p.to_string_lossy())),
    );
    kv("stats maxconn", g.stats_maxconn.map(|n| n.to_string()));
    kv("log-tag", g.log_tag.as_deref().map(quote));
    kv("node", g.node.as_deref().map(quote));
    kv("localpeer", g.localpeer.as_deref().map(quote));
    kv("spread-checks", g.spread_checks.map(|n| n.to_string()));
    // An empty value is the keyword alone (the system's host name).
    kv(
        "log-send-hostname",
        g.log_send_hostname.as_deref().map(|h| {
            if h.is_empty() {
                String::new()
            } else {
                quote(h)
            }
        }),
    );
    kv(
        "stats timeout",
        g.stats_timeout.map(|d| TimeDisplay(d).to_string()),
    );
    kv(
        "hard-stop-after",
        g.hard_stop_after.map(|d| TimeDisplay(d).to_string()),
    );
    kv("tune.bufsize", g.tune_bufsize.map(|n| n.to_string()));
    kv("tune.maxrewrite", g.tune_maxrewrite.map(|n| n.to_string()));
    kv(
        "tune.http.maxhdr",
        g.tune_http_maxhdr.map(|n| n.to_string()),
    );
    kv("maxpipes", g.maxpipes.map(|n| n.to_string()));
    kv("tune.pipesize", g.tune_pipesize.map(|n| n.to_string()));
    kv(
        "ca-base",
        g.ca_base.as_ref().map(|p| quote(&p.to_string_lossy())),
    );
    kv(
        "crt-base",
        g.crt_base.as_ref().map(|p| quote(&p.to_string_lossy())),
    );
    kv(
        "ssl-default-bind-ciphers",
        g.ssl_default_bind_ciphers.as_deref().map(quote),
    );
    kv(
        "ssl-default-bind-ciphersuites",
        g.ssl_default_bind_ciphersuites.as_deref().map(quote),
    );
    if !g.ssl_default_bind_options.is_empty() {
        kv(
            "ssl-default-bind-options",
            Some(words(&g.ssl_default_bind_options)),
        );
    }
    kv(
        "ssl-server-verify",
        g.ssl_server_verify.map(|v| match v {
            Verify::None => "none".to_string(),
            Verify::Required => "required".to_string(),
        }),
    );
    for (k, v) in &g.ignored {
        kv(k, Some(words(v)));
    }
    if g.zero_warning {
        o.push_str("    zero-warning\n");
    }
    if g.master_worker {
        o.push_str("    master-worker\n");
    }
    if g.daemon {
        o.push_str("    daemon\n");
    }
    if g.nosplice {
        o.push_str("    nosplice\n");
    }
    for s in &g.stats_socket {
        let _ = write!(o, "    stats socket {}", quote(&s.address));
        if let Some(m) = s.mode {
            let _ = write!(o, " mode {m:o}");
        }
        if let Some(l) = s.level {
            let l = match l {
                super::model::StatsLevel::User => "user",
                super::model::StatsLevel::Operator => "operator",
                super::model::StatsLevel::Admin => "admin",
            };
            let _ = write!(o, " level {l}");
        }
        if let Some(u) = s.uid {
            let _ = write!(o, " uid {u}");
        }
        if let Some(g) = s.gid {
            let _ = write!(o, " gid {g}");
        }
        if let Some(u) = &s.user {
            let _ = write!(o, " user {}", quote(u));
        }
        if let Some(g) = &s.group {
            let _ = write!(o, " group {}", quote(g));
        }
        if !s.params.is_empty() {
            let _ = write!(o, " {}", words(&s.params));
        }
        o.push('\n');
    }
}

fn words(ws: &[String]) -> String {
    ws.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn log_words(t: &LogTarget) -> String {
    match t {
        LogTarget::Global => "global".into(),
        LogTarget::Syslog(SyslogTarget {
            address,
            len,
            format,
            facility,
            level,
            minlevel,
        }) => {
            let mut s = quote(&address.to_string());
            if let Some(n) = len {
                let _ = write!(s, " len {n}");
            }
            if let Some(f) = format {
                let name = super::model::LogFormat::ALL
                    .iter()
                    .find(|(_, x)| x == f)
                    .map(|(n, _)| *n)
                    .unwrap_or("rfc3164");
                let _ = write!(s, " format {name}");
            }
            let _ = write!(s, " {}", facility.name());
            if let Some(l) = level {
                let _ = write!(s, " {}", l.name());
            }
            if let Some(l) = minlevel {
                let _ = write!(s, " {}", l.name());
            }
            s
        }
    }
}

fn proxy(o: &mut String, p: &Proxy) {
    let _ = writeln!(o, "{} {}", p.kind.name(), quote(&p.name));
    let mut line = |s: String| {
        o.push_str("    ");
        o.push_str(&s);
        o.push('\n');
    };
    if p.mode == Mode::Http {
        line("mode http".into());
    }
    for b in &p.bind {
        let mut addrs: Vec<String> = b.addresses.iter().map(|a| a.to_string()).collect();
        addrs.extend(b.fd.iter().map(|n| format!("fd@{n}")));
        let mut s = format!("bind {}", addrs.join(","));
        if b.transparent {
            s.push_str(" transparent");
        }
        if let Some(i) = &b.interface {
            let _ = write!(s, " interface {}", quote(i));
        }
        if b.v4v6 {
            s.push_str(" v4v6");
        }
        if b.v6only {
            s.push_str(" v6only");
        }
        if let Some(n) = b.backlog {
            let _ = write!(s, " backlog {n}");
        }
        if let Some(n) = b.maxconn {
            let _ = write!(s, " maxconn {n}");
        }
        if let Some(n) = &b.name {
            let _ = write!(s, " name {}", quote(n));
        }
        if b.accept_proxy {
            s.push_str(" accept-proxy");
        }
        if b.defer_accept {
            s.push_str(" defer-accept");
        }
        if b.tfo {
            s.push_str(" tfo");
        }
        if b.ssl {
            s.push_str(" ssl");
        }
        for c in &b.crt {
            let _ = write!(s, " crt {}", quote(&c.to_string_lossy()));
        }
        for c in &b.crt_list {
            let _ = write!(s, " crt-list {}", quote(&c.to_string_lossy()));
        }
        if !b.alpn.is_empty() {
            let _ = write!(s, " alpn {}", quote(&b.alpn.join(",")));
        }
        for (k, v) in [
            ("ssl-min-ver", &b.ssl_min_ver),
            ("ssl-max-ver", &b.ssl_max_ver),
        ] {
            if let Some(v) = v {
                let _ = write!(s, " {k} {}", quote(v));
            }
        }
        if b.strict_sni {
            s.push_str(" strict-sni");
        }
        if b.no_tls_tickets {
            s.push_str(" no-tls-tickets");
        }
        if b.prefer_client_ciphers {
            s.push_str(" prefer-client-ciphers");
        }
        if let Some(v) = b.verify {
            s.push_str(match v {
                super::model::ClientVerify::None => " verify none",
                super::model::ClientVerify::Optional => " verify optional",
                super::model::ClientVerify::Required => " verify required",
            });
        }
        if let Some(f) = &b.ca_file {
            let _ = write!(s, " ca-file {}", quote(&f.to_string_lossy()));
        }
        line(s);
    }
    if let Some(n) = p.maxconn {
        line(format!("maxconn {n}"));
    }
    for t in &p.log {
        line(format!("log {}", log_words(t)));
    }
    let op = &p.option;
    match &op.log_format {
        Some(AccessLog::Custom(f)) => line(format!("log-format {}", quote(f))),
        Some(AccessLog::Tcplog) => line("option tcplog".into()),
        Some(AccessLog::Httplog) => line("option httplog".into()),
        Some(AccessLog::HttplogClf) => line("option httplog clf".into()),
        Some(AccessLog::Httpslog) => line("option httpslog".into()),
        None => {}
    }
    match &op.protocol_check {
        Some(super::model::ProtocolCheck::Redis) => line("option redis-check".into()),
        Some(super::model::ProtocolCheck::SslHello) => line("option ssl-hello-chk".into()),
        Some(super::model::ProtocolCheck::Mysql { user: None, .. }) => {
            line("option mysql-check".into())
        }
        Some(super::model::ProtocolCheck::Mysql {
            user: Some(u),
            pre_41,
        }) => line(format!(
            "option mysql-check user {}{}",
            quote(u),
            if *pre_41 { " pre-41" } else { "" }
        )),
        Some(super::model::ProtocolCheck::Pgsql { user }) => {
            line(format!("option pgsql-check user {}", quote(user)))
        }
        Some(super::model::ProtocolCheck::Smtp { hello, domain }) => {
            if hello == "HELO" && domain == "localhost" {
                line("option smtpchk".into())
            } else {
                line(format!("option smtpchk {hello} {}", quote(domain)))
            }
        }
        Some(super::model::ProtocolCheck::Ldap) => line("option ldap-check".into()),
        Some(super::model::ProtocolCheck::Spop) => line("option spop-check".into()),
        None => {}
    }
    for (on, name) in [
        (op.dontlognull, "dontlognull"),
        (op.log_separate_errors, "log-separate-errors"),
        (op.prefer_last_server, "prefer-last-server"),
        (op.http_buffer_request, "http-buffer-request"),
        (op.log_health_checks, "log-health-checks"),
        (op.logasap, "logasap"),
        (op.dontlog_normal, "dontlog-normal"),
        (op.tcp_check, "tcp-check"),
        (op.allbackups, "allbackups"),
        (op.tcpka, "tcpka"),
        (op.clitcpka, "clitcpka"),
        (op.srvtcpka, "srvtcpka"),
    ] {
        if on {
            line(format!("option {name}"));
        }
    }
    for name in &op.splice {
        line(format!("option {name}"));
    }
    if op.redispatch {
        match op.redispatch_interval {
            Some(n) => line(format!("option redispatch {n}")),
            None => line("option redispatch".into()),
        }
    }
    match op.http_connection {
        HttpConnection::KeepAlive => {}
        HttpConnection::ServerClose => line("option http-server-close".into()),
        HttpConnection::Close => line("option httpclose".into()),
    }
    if let Some(ff) = &op.forwardfor {
        let mut s = String::from("option forwardfor");
        if let Some(n) = ff.except {
            let _ = write!(s, " except {n}");
        }
        if ff.header != DEFAULT_XFF {
            let _ = write!(s, " header {}", quote(&ff.header));
        }
        if ff.if_none {
            s.push_str(" if-none");
        }
        line(s);
    }
    if let Some(ot) = &op.originalto {
        let mut s = String::from("option originalto");
        if let Some(n) = ot.except {
            let _ = write!(s, " except {n}");
        }
        if ot.header != super::model::DEFAULT_XOT {
            let _ = write!(s, " header {}", quote(&ot.header));
        }
        line(s);
    }
    if let Some(c) = &op.httpchk {
        let mut ver = c.version.clone();
        for (n, v) in &c.headers {
            let _ = write!(ver, "\r\n{n}: {v}");
        }
        line(format!(
            "option httpchk {} {} {}",
            quote(&c.method),
            quote(&c.uri),
            quote(&ver)
        ));
    }
    let t = &p.timeout;
    for (name, v) in [
        ("client", t.client),
        ("client-fin", t.client_fin),
        ("server", t.server),
        ("server-fin", t.server_fin),
        ("connect", t.connect),
        ("queue", t.queue),
        ("http-request", t.http_request),
        ("http-keep-alive", t.http_keep_alive),
        ("check", t.check),
        ("tunnel", t.tunnel),
        ("tarpit", t.tarpit),
    ] {
        if let Some(d) = v {
            line(format!("timeout {name} {}", TimeDisplay(d)));
        }
    }
    if p.balance != Balance::Roundrobin {
        line(format!("balance {}", balance_words(&p.balance)));
    }
    if p.retries != 3 {
        line(format!("retries {}", p.retries));
    }
    if let Some(c) = &p.cookie {
        let mut s = format!("cookie {}", quote(&c.name));
        if let Some(m) = c.method {
            s.push_str(match m {
                super::model::CookieMethod::Rewrite => " rewrite",
                super::model::CookieMethod::Insert => " insert",
                super::model::CookieMethod::Prefix => " prefix",
            });
        }
        for (on, n) in [
            (c.indirect, "indirect"),
            (c.nocache, "nocache"),
            (c.postonly, "postonly"),
            (c.preserve, "preserve"),
            (c.httponly, "httponly"),
            (c.secure, "secure"),
        ] {
            if on {
                let _ = write!(s, " {n}");
            }
        }
        for d in &c.domain {
            let _ = write!(s, " domain {}", quote(d));
        }
        if let Some(d) = c.maxidle {
            let _ = write!(s, " maxidle {}", TimeDisplay(d));
        }
        if let Some(d) = c.maxlife {
            let _ = write!(s, " maxlife {}", TimeDisplay(d));
        }
        line(s);
    }
    if let Some(t) = &p.stick_table {
        line(format!("stick-table {}", t.words()));
    }
    let st = &p.stats;
    if st.enable {
        line("stats enable".into());
    }
    if let Some(u) = &st.uri {
        line(format!("stats uri {}", quote(u)));
    }
    if let Some(r) = &st.realm {
        line(format!("stats realm {}", quote(r)));
    }
    for a in &st.auth {
        line(format!(
            "stats auth {}",
            quote(&format!("{}:{}", a.user, a.password))
        ));
    }
    if let Some(d) = st.refresh {
        line(format!("stats refresh {}", TimeDisplay(d)));
    }
    if let Some(c) = &st.admin {
        line(format!("stats admin {}", c.line()));
    }
    if st.hide_version {
        line("stats hide-version".into());
    }
    if st.show_legends {
        line("stats show-legends".into());
    }
    if let Some(n) = &st.show_node {
        line(if n.is_empty() {
            "stats show-node".into()
        } else {
            format!("stats show-node {}", quote(n))
        });
    }
    if let Some(d) = &st.show_desc {
        line(if d.is_empty() {
            "stats show-desc".into()
        } else {
            format!("stats show-desc {}", quote(d))
        });
    }
    for sc in &st.scope {
        line(format!("stats scope {}", quote(sc)));
    }
    for w in &st.http_request {
        line(format!("stats http-request {}", words(&w.words)));
    }
    if p.http_check_disable_on_404 {
        line("http-check disable-on-404".into());
    }
    if p.http_check_send_state {
        line("http-check send-state".into());
    }
    for r in &p.tcp_check {
        use super::model::TcpCheckRule;
        line(match r {
            TcpCheckRule::Comment(c) => format!("tcp-check comment {}", quote(c)),
            TcpCheckRule::Send(d) => format!("tcp-check send {}", quote(d)),
            TcpCheckRule::SendBinary(h) => format!("tcp-check send-binary {h}"),
            TcpCheckRule::Connect(c) => connect_words("tcp-check connect", c),
            TcpCheckRule::Expect(e) => {
                let mut w = String::from("tcp-check expect");
                if let Some(n) = e.min_recv {
                    let _ = write!(w, " min-recv {n}");
                }
                let r = &e.report;
                for (k, v) in [
                    ("comment", &r.comment),
                    ("ok-status", &r.ok_status),
                    ("error-status", &r.error_status),
                    ("tout-status", &r.tout_status),
                    ("on-success", &r.on_success),
                    ("on-error", &r.on_error),
                ] {
                    if let Some(v) = v {
                        let _ = write!(w, " {k} {}", quote(v));
                    }
                }
                if let Some(c) = r.status_code {
                    let _ = write!(w, " status-code int({c})");
                }
                if e.negate {
                    w.push_str(" !");
                }
                let _ = write!(w, " {} {}", e.matcher.word(), quote(&e.pattern));
                w
            }
        });
    }
    for r in &p.http_check {
        line(match r {
            HttpCheckRule::Send(s) => {
                let mut w = String::from("http-check send");
                for (k, v) in [("meth", &s.meth), ("uri", &s.uri), ("ver", &s.ver)] {
                    if let Some(v) = v {
                        let _ = write!(w, " {k} {}", quote(v));
                    }
                }
                for (n, v) in &s.hdr {
                    let _ = write!(w, " hdr {} {}", quote(n), quote(v));
                }
                if let Some(b) = &s.body {
                    let _ = write!(w, " body {}", quote(b));
                }
                w
            }
            HttpCheckRule::Expect(e) => {
                let mut w = format!(
                    "http-check expect {}{} ",
                    if e.negate { "! " } else { "" },
                    e.matcher.name(),
                );
                if let Some(h) = &e.header {
                    w.push_str(if h.name_lf { "name-lf " } else { "name " });
                    if h.name_match != HeaderMatch::Str {
                        let _ = write!(w, "-m {} ", h.name_match.name());
                    }
                }
                w.push_str(&quote(&e.pattern));
                if let Some(v) = e.header.as_ref().and_then(|h| h.value.as_ref()) {
                    w.push_str(if v.lf { " value-lf " } else { " value " });
                    if v.matcher != HeaderMatch::Str {
                        let _ = write!(w, "-m {} ", v.matcher.name());
                    }
                    w.push_str(&quote(&v.pattern));
                }
                if let Some(c) = &e.comment {
                    let _ = write!(w, " comment {}", quote(c));
                }
                w
            }
            HttpCheckRule::Connect(c) => connect_words("http-check connect", c),
            HttpCheckRule::Comment(c) => format!("http-check comment {}", quote(c)),
            HttpCheckRule::SetVar { name, expr } => {
                format!("http-check set-var({name}) {}", quote(expr))
            }
            HttpCheckRule::UnsetVar(name) => format!("http-check unset-var({name})"),
        });
    }
    for c in &p.capture {
        let dir = if c.response { "response" } else { "request" };
        line(match &c.header {
            Some(h) => format!("capture {dir} header {} len {}", quote(h), c.len),
            None => format!("declare capture {dir} len {}", c.len),
        });
    }
    for (kw, list) in [("errorfiles", &p.errorfiles), ("http-error", &p.http_error)] {
        for w in list {
            line(format!("{kw} {}", w.line()));
        }
    }
    for (code, file) in &p.errorfile {
        line(format!(
            "errorfile {code} {}",
            quote(&file.to_string_lossy())
        ));
    }
    if let Some(b) = &p.default_backend {
        line(format!("default_backend {}", quote(b)));
    }
    // ACLs first: a rule may only name an ACL declared above it.
    for (kw, rules) in [
        ("acl", &p.acl),
        ("http-request", &p.http_request),
        ("http-response", &p.http_response),
        ("http-after-response", &p.http_after_response),
        ("redirect", &p.redirect),
        ("tcp-request connection", &p.tcp_request_connection),
        ("tcp-request content", &p.tcp_request_content),
    ] {
        for r in rules {
            line(format!("{kw} {}", r.line()));
        }
    }
    if let Some(d) = p.tcp_request_inspect_delay {
        line(format!("tcp-request inspect-delay {}", TimeDisplay(d)));
    }
    if let Some(u) = &p.monitor_uri {
        line(format!("monitor-uri {}", quote(u)));
    }
    if let Some(r) = p.http_reuse {
        line(format!("http-reuse {}", r.name()));
    }
    if let Some(f) = &p.unique_id_format {
        line(format!("unique-id-format {}", quote(f)));
    }
    if let Some(h) = &p.http_send_name_header {
        line(format!("http-send-name-header {}", quote(h)));
    }
    if let Some(h) = &p.unique_id_header {
        line(format!("unique-id-header {}", quote(h)));
    }
    for c in &p.monitor_fail {
        line(format!("monitor fail {}", c.line()));
    }
    for c in &p.force_persist {
        line(format!("force-persist {}", c.line()));
    }
    for c in &p.ignore_persist {
        line(format!("ignore-persist {}", c.line()));
    }
    for u in &p.use_backend {
        let mut s = format!("use_backend {}", quote(&u.backend));
        if let Some(c) = &u.cond {
            let _ = write!(s, " {}", c.line());
        }
        line(s);
    }
    for u in &p.use_server {
        let mut s = format!("use-server {}", quote(&u.server));
        if let Some(c) = &u.cond {
            let _ = write!(s, " {}", c.line());
        }
        line(s);
    }
    for r in &p.stick {
        line(format!("stick {}", r.line()));
    }
    let mut templates_written: Vec<&str> = Vec::new();
    for s in &p.server {
        match &s.template {
            // One `server-template` line stands for all its servers.
            Some(t) if templates_written.contains(&t.as_str()) => {}
            Some(t) => {
                templates_written.push(t);
                let own = server_words(s);
                let params = own
                    .split_once(&format!(" {}", s.address))
                    .map_or("", |(_, rest)| rest);
                line(format!("server-template {t} {}{params}", s.address));
            }
            None => line(server_words(s)),
        }
    }
}

/// A check's `connect` step with its options.
fn connect_words(kw: &str, c: &super::model::CheckConnect) -> String {
    let mut w = kw.to_string();
    if c.default {
        w.push_str(" default");
    }
    if let Some(p) = c.port {
        let _ = write!(w, " port {p}");
    }
    if let Some(a) = c.addr {
        let _ = write!(w, " addr {a}");
    }
    for (on, word) in [(c.send_proxy, "send-proxy"), (c.ssl, "ssl")] {
        if on {
            let _ = write!(w, " {word}");
        }
    }
    if let Some(s) = &c.sni {
        let _ = write!(w, " sni {}", quote(s));
    }
    if c.linger {
        w.push_str(" linger");
    }
    if let Some(m) = &c.comment {
        let _ = write!(w, " comment {}", quote(m));
    }
    w
}

fn balance_words(b: &Balance) -> String {
    match b {
        Balance::Roundrobin => "roundrobin".into(),
        Balance::StaticRr => "static-rr".into(),
        Balance::Leastconn => "leastconn".into(),
        Balance::First => "first".into(),
        Balance::Source => "source".into(),
        Balance::Uri(h) => {
            let mut s = String::from("uri");
            if let Some(n) = h.len {
                let _ = write!(s, " len {n}");
            }
            if let Some(n) = h.depth {
                let _ = write!(s, " depth {n}");
            }
            if h.whole {
                s.push_str(" whole");
            }
            if h.path_only {
                s.push_str(" path-only");
            }
            s
        }
        Balance::UrlParam { param } => format!("url_param {}", quote(param)),
        Balance::Hdr {
            name,
            use_domain_only,
        } => {
            let mut s = format!("hdr({name})");
            if *use_domain_only {
                s.push_str(" use_domain_only");
            }
            s
        }
        Balance::Random { draws } => format!("random({draws})"),
    }
}

fn server_words(s: &Server) -> String {
    let mut w = format!("server {} {}", quote(&s.name), s.address);
    for (on, n) in [
        (s.check, "check"),
        (s.backup, "backup"),
        (s.disabled, "disabled"),
        (s.ssl, "ssl"),
        (s.send_proxy, "send-proxy"),
        (s.send_proxy_v2, "send-proxy-v2"),
        (s.check_send_proxy, "check-send-proxy"),
    ] {
        if on {
            let _ = write!(w, " {n}");
        }
    }
    if !s.proxy_v2_options.is_empty() {
        let _ = write!(
            w,
            " proxy-v2-options {}",
            s.proxy_v2_options.names().join(",")
        );
    }
    if let Some(t) = &s.track {
        let _ = write!(w, " track {}", quote(&t.to_string()));
    }
    if s.weight != super::model::DEFAULT_WEIGHT {
        let _ = write!(w, " weight {}", s.weight);
    }
    for (n, v) in [
        ("inter", s.inter),
        ("fastinter", s.fastinter),
        ("downinter", s.downinter),
    ] {
        if let Some(d) = v {
            let _ = write!(w, " {n} {}", TimeDisplay(d));
        }
    }
    if s.rise != super::model::DEFAULT_RISE {
        let _ = write!(w, " rise {}", s.rise);
    }
    if s.fall != super::model::DEFAULT_FALL {
        let _ = write!(w, " fall {}", s.fall);
    }
    if let Some(p) = s.port {
        let _ = write!(w, " port {p}");
    }
    if let Some(a) = s.addr {
        let _ = write!(w, " addr {a}");
    }
    if let Some(n) = s.maxconn {
        let _ = write!(w, " maxconn {n}");
    }
    if let Some(c) = &s.cookie {
        let _ = write!(w, " cookie {}", quote(c));
    }
    if let Some(v) = s.verify {
        w.push_str(match v {
            Verify::None => " verify none",
            Verify::Required => " verify required",
        });
    }
    if let Some(f) = &s.ca_file {
        let _ = write!(w, " ca-file {}", quote(&f.to_string_lossy()));
    }
    if let Some(c) = &s.crt {
        let _ = write!(w, " crt {}", quote(&c.to_string_lossy()));
    }
    if !s.alpn.is_empty() {
        let _ = write!(w, " alpn {}", quote(&s.alpn.join(",")));
    }
    if s.no_ssl_reuse {
        w.push_str(" no-ssl-reuse");
    }
    if s.agent_check {
        w.push_str(" agent-check");
    }
    if let Some(p) = s.agent_port {
        let _ = write!(w, " agent-port {p}");
    }
    if let Some(a) = s.agent_addr {
        let _ = write!(w, " agent-addr {a}");
    }
    if let Some(t) = s.agent_inter {
        let _ = write!(w, " agent-inter {}", TimeDisplay(t));
    }
    if let Some(m) = &s.agent_send {
        let _ = write!(w, " agent-send {}", quote(m));
    }
    if s.check_ssl {
        w.push_str(" check-ssl");
    }
    if s.shutdown_on_down {
        w.push_str(" on-marked-down shutdown-sessions");
    }
    if s.shutdown_backups_on_up {
        w.push_str(" on-marked-up shutdown-backup-sessions");
    }
    if let Some(n) = &s.check_sni {
        let _ = write!(w, " check-sni {}", quote(n));
    }
    if let Some(sni) = &s.sni {
        let _ = write!(w, " sni {}", quote(sni));
    }
    if let Some(h) = &s.verifyhost {
        let _ = write!(w, " verifyhost {}", quote(h));
    }
    if let Some(o) = s.observe {
        let o = match o {
            super::model::ObserveLayer::Layer4 => "layer4",
            super::model::ObserveLayer::Layer7 => "layer7",
        };
        let _ = write!(w, " observe {o}");
    }
    if let Some(n) = s.error_limit {
        let _ = write!(w, " error-limit {n}");
    }
    if let Some(e) = s.on_error {
        let _ = write!(w, " on-error {}", e.word());
    }
    if let Some(t) = s.slowstart {
        let _ = write!(w, " slowstart {}", TimeDisplay(t));
    }
    if let Some(n) = s.pool_max_conn {
        let _ = write!(w, " pool-max-conn {n}");
    }
    if let Some(t) = s.pool_purge_delay {
        let _ = write!(w, " pool-purge-delay {}", TimeDisplay(t));
    }
    dns_words(&mut w, s);
    w
}

/// The DNS parameters of a server line.
fn dns_words(w: &mut String, s: &Server) {
    use super::model::Family;
    let join = |v: Vec<String>| v.join(",");
    if let Some(r) = &s.resolvers {
        let _ = write!(w, " resolvers {}", quote(r));
    }
    if let Some(f) = s.resolve_prefer {
        let f = match f {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        };
        let _ = write!(w, " resolve-prefer {f}");
    }
    if !s.resolve_net.is_empty() {
        let nets = join(s.resolve_net.iter().map(ToString::to_string).collect());
        let _ = write!(w, " resolve-net {nets}");
    }
    if !s.resolve_opts.is_empty() {
        let opts = join(
            s.resolve_opts
                .iter()
                .map(|o| o.word().to_string())
                .collect(),
        );
        let _ = write!(w, " resolve-opts {opts}");
    }
    if !s.init_addr.is_empty() {
        let m = join(s.init_addr.iter().map(ToString::to_string).collect());
        let _ = write!(w, " init-addr {m}");
    }
}
