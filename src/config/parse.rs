//! The haproxy.cfg reader: lines -> sections -> [`Config`].
//!
//! Pure over text: files are read by the caller ([`super::load`]); the
//! environment for `"${NAME}"` is passed in. State carries across files
//! (a `defaults` section in one file applies to proxies in the next), but
//! every file ends the section it was in, as in HAProxy.
//!
//! `defaults` are folded here: a proxy starts as a copy of the defaults
//! section in force (the last one, or the one named by `from NAME`), and
//! its own lines then change that copy.

use std::collections::HashMap;
use std::sync::Arc;

use super::cond::{CondStack, Directive, MessageLevel};
use super::diag::{Diagnostics, Span};
use super::keywords::{
    suggest, Caps, Line, BOOL_OPTIONS, CLEARABLE_OPTIONS, FAMILIES, GLOBAL_KEYWORDS,
    IGNORED_GLOBAL, NOT_YET, PROXY_KEYWORDS, REMOVED, UNSUPPORTED_SECTIONS,
};
use super::lexer::split_line;
use super::model::{Bind, Config, Proxy, ProxyKind};
use crate::util::addr::BindAddr;

/// One configuration file's text and the name to report it by.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name used in diagnostics.
    pub name: Arc<str>,
    /// The file's contents.
    pub text: String,
}

/// A parsed configuration and what was found on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The model (complete when `diags` has no error).
    pub config: Config,
    /// Errors and warnings, in file order.
    pub diags: Diagnostics,
}

/// Parses one haproxy.cfg text, with the process's environment.
pub fn parse_cfg(text: &str, name: &str) -> Parsed {
    parse_sources(
        &[Source {
            name: name.into(),
            text: text.to_string(),
        }],
        &|n| std::env::var(n).ok(),
    )
}

/// Parses several haproxy.cfg texts in order, as `-f a -f b` does.
pub fn parse_sources(sources: &[Source], env: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let mut r = Reader::new(env);
    for s in sources {
        r.file(s);
    }
    r.finish()
}

/// HAProxy's limit on words in one line.
const MAX_WORDS: usize = 64;

/// Section names HAProxy allows: letters, digits, '-', '_', '.', ':'.
fn invalid_name_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
}

/// Which kind of section lines currently go to.
enum Section {
    /// Before any section.
    None,
    Global,
    Defaults,
    Proxy,
    /// A `userlist` section (the last of config.userlists).
    Userlist,
    /// An `http-errors` section (the last of config.http_errors).
    HttpErrors,
    /// A `resolvers` section (the last of config.resolvers).
    Resolvers,
    /// A `program` section (the last of config.programs).
    Program,
    /// A `peers` section (the last of config.peers).
    Peers,
    /// A section kind fulcrum does not support: its lines are skipped.
    Unsupported,
}

struct Reader<'e> {
    env: &'e dyn Fn(&str) -> Option<String>,
    config: Config,
    diags: Diagnostics,
    section: Section,
    /// The proxy or defaults section being read.
    current: Option<Proxy>,
    /// The defaults in force for the next proxy.
    defaults: Proxy,
    /// Named defaults sections, for `from NAME`.
    named: HashMap<String, Proxy>,
    /// The current proxy still holds the http-check rules it inherited.
    inherited_http_check: bool,
    /// The current proxy's `option httpchk` came from defaults.
    inherited_httpchk: bool,
    inherited_tcp_check: bool,
    cond: CondStack,
}

impl<'e> Reader<'e> {
    fn new(env: &'e dyn Fn(&str) -> Option<String>) -> Self {
        Reader {
            env,
            config: Config::default(),
            diags: Diagnostics::default(),
            section: Section::None,
            current: None,
            defaults: Proxy::new(ProxyKind::Listen, ""),
            named: HashMap::new(),
            inherited_http_check: false,
            inherited_httpchk: false,
            inherited_tcp_check: false,
            cond: CondStack::default(),
        }
    }

    fn file(&mut self, src: &Source) {
        // The last line is the last one with text: a final newline ends it.
        let last_line =
            u32::try_from(src.text.trim_end_matches('\n').split('\n').count()).unwrap_or(u32::MAX);
        for (idx, raw) in src.text.split('\n').enumerate() {
            let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let span = Span::new(&src.name, lineno);
            // HAProxy's pseudo-variables, resolved where they are written.
            let section = self.section_label();
            let base = self.env;
            let env = |n: &str| match n {
                ".FILE" => Some(src.name.to_string()),
                ".LINE" => Some(lineno.to_string()),
                ".SECTION" => Some(section.clone()),
                _ => base(n),
            };
            let words = match split_line(raw, &env) {
                Ok(w) => w,
                Err(e) => {
                    if self.cond.active() {
                        self.diags.error(span, e.to_string());
                    }
                    continue;
                }
            };
            let Some(first) = words.first() else { continue };
            if words.len() > MAX_WORDS {
                if self.cond.active() {
                    self.diags.error(
                        span,
                        format!(
                            "too many words on one line ({}; the limit is {MAX_WORDS})",
                            words.len()
                        ),
                    );
                }
                continue;
            }
            if first.starts_with('.') {
                self.directive(&words, span);
                continue;
            }
            if !self.cond.active() {
                continue;
            }
            self.line(&words, span);
        }
        if self.cond.open() {
            self.diags.error(
                Span::new(&src.name, last_line),
                "missing '.endif' at end of file",
            );
            self.cond = CondStack::default();
        }
        self.end_section();
    }

    /// `.SECTION`: the current section's name, or its type when it has
    /// none (`global`), or nothing before the first section.
    fn section_label(&self) -> String {
        match self.section {
            Section::None => String::new(),
            Section::Global => "global".into(),
            Section::Defaults | Section::Proxy => match &self.current {
                Some(p) if !p.name.is_empty() => p.name.clone(),
                _ => "defaults".into(),
            },
            Section::Userlist => self
                .config
                .userlists
                .last()
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Section::HttpErrors => self
                .config
                .http_errors
                .last()
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Section::Resolvers => self
                .config
                .resolvers
                .last()
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Section::Program => self
                .config
                .programs
                .last()
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Section::Peers => self
                .config
                .peers
                .last()
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Section::Unsupported => String::new(),
        }
    }

    fn directive(&mut self, words: &[String], span: Span) {
        match self.cond.directive(words, self.env) {
            Ok(Directive::None) => {}
            Ok(Directive::Message(level, msg)) => match level {
                MessageLevel::Alert => self.diags.error(span, msg),
                MessageLevel::Warning => self.diags.warning(span, msg),
                // Notices and diagnostics are information, not problems:
                // they go to the log, not to the list that `-c` judges.
                MessageLevel::Notice | MessageLevel::Diag => {
                    tracing::info!(target: "config", "{span}: {msg}")
                }
            },
            Err(e) => self.diags.error(span, e),
        }
    }

    fn line(&mut self, words: &[String], span: Span) {
        let first = words[0].as_str();
        let section_kw = if is_section_keyword(first) {
            Some(first.to_string())
        } else {
            let lower = first.to_ascii_lowercase();
            is_section_keyword(&lower).then(|| {
                self.diags.warning(
                    span.clone(),
                    format!("keyword '{first}' accepted as '{lower}': write it in lower case"),
                );
                lower
            })
        };
        if let Some(kw) = section_kw {
            self.end_section();
            self.begin_section(&kw, &words[1..], span);
            return;
        }
        match self.section {
            Section::None => self.diags.error(
                span,
                format!("unknown keyword '{first}' out of section (expected global, defaults, frontend, backend or listen first)"),
            ),
            Section::Unsupported => {}
            Section::Userlist => self.userlist_line(words, span),
            Section::HttpErrors => self.http_errors_line(words, span),
            Section::Resolvers => self.resolvers_line(words, span),
            Section::Peers => {
                if let Some(p) = self.config.peers.last_mut() {
                    let tables = p.tables.len();
                    let res = super::peers_kw::line(p, words);
                    // A table's line is where its later errors point.
                    if p.tables.len() > tables {
                        if let Some(t) = p.tables.last_mut() {
                            t.table.origin = super::model::Origin(Some(span.clone()));
                        }
                    }
                    match res {
                        Ok(None) => {}
                        Ok(Some(w)) => self.diags.warning(span, w),
                        Err(e) => self.diags.error(span, e),
                    }
                }
            }
            Section::Program => {
                if let Some(p) = self.config.programs.last_mut() {
                    if let Err(e) = p.line(words) {
                        self.diags.error(span, e);
                    }
                }
            }
            Section::Global => self.global_line(words, span),
            Section::Defaults | Section::Proxy => self.proxy_line(words, span),
        }
    }

    fn begin_section(&mut self, kw: &str, args: &[String], span: Span) {
        if UNSUPPORTED_SECTIONS.contains(&kw) {
            self.diags.error(
                span,
                format!("'{kw}' sections are not supported yet by fulcrum"),
            );
            self.section = Section::Unsupported;
            return;
        }
        if kw == "http-errors" {
            match args {
                [name] => {
                    if self.config.http_errors.iter().any(|u| &u.name == name) {
                        self.diags.error(
                            span.clone(),
                            format!("http-errors section '{name}' is declared twice"),
                        );
                    }
                    self.config.http_errors.push(super::model::HttpErrors {
                        name: name.clone(),
                        errorfile: Default::default(),
                        origin: super::model::Origin(Some(span)),
                    });
                    self.section = Section::HttpErrors;
                }
                _ => {
                    self.diags.error(span, "'http-errors' expects one name");
                    self.section = Section::Unsupported;
                }
            }
            return;
        }
        if kw == "program" {
            match args {
                [name] => {
                    if self.config.programs.iter().any(|p| &p.name == name) {
                        self.diags
                            .error(span.clone(), format!("program '{name}' is declared twice"));
                    }
                    self.config.programs.push(super::model::Program::new(
                        name.clone(),
                        super::model::Origin(Some(span)),
                    ));
                    self.section = Section::Program;
                }
                _ => {
                    self.diags.error(span, "'program' expects one name");
                    self.section = Section::Unsupported;
                }
            }
            return;
        }
        if kw == "peers" {
            match args {
                [name] => {
                    if self.config.peers.iter().any(|r| &r.name == name) {
                        self.diags.error(
                            span.clone(),
                            format!("peers section '{name}' is declared twice"),
                        );
                    }
                    self.config.peers.push(super::model::Peers::new(
                        name.clone(),
                        super::model::Origin(Some(span)),
                    ));
                    self.section = Section::Peers;
                }
                _ => {
                    self.diags.error(span, "'peers' expects one name");
                    self.section = Section::Unsupported;
                }
            }
            return;
        }
        if kw == "resolvers" {
            match args {
                [name] => {
                    if self.config.resolvers.iter().any(|r| &r.name == name) {
                        self.diags.error(
                            span.clone(),
                            format!("resolvers section '{name}' is declared twice"),
                        );
                    }
                    let mut r = super::model::Resolvers::new(name.clone());
                    r.origin = super::model::Origin(Some(span));
                    self.config.resolvers.push(r);
                    self.section = Section::Resolvers;
                }
                _ => {
                    self.diags.error(span, "'resolvers' expects one name");
                    self.section = Section::Unsupported;
                }
            }
            return;
        }
        if kw == "userlist" {
            match args {
                [name] => {
                    if self.config.userlists.iter().any(|u| &u.name == name) {
                        self.diags
                            .error(span.clone(), format!("userlist '{name}' is declared twice"));
                    }
                    self.config.userlists.push(super::model::Userlist {
                        name: name.clone(),
                        groups: Vec::new(),
                        users: Vec::new(),
                        origin: super::model::Origin(Some(span)),
                    });
                    self.section = Section::Userlist;
                }
                _ => {
                    self.diags.error(span, "'userlist' expects one name");
                    self.section = Section::Unsupported;
                }
            }
            return;
        }
        if kw == "global" {
            if let Some(a) = args.first() {
                self.diags
                    .error(span, format!("'global' takes no argument, got '{a}'"));
            }
            self.section = Section::Global;
            return;
        }
        let kind = match kw {
            "frontend" => Some(ProxyKind::Frontend),
            "backend" => Some(ProxyKind::Backend),
            "listen" => Some(ProxyKind::Listen),
            _ => None, // defaults
        };
        // NAME [ADDR] [from DEFAULTS]
        let mut rest = args;
        let mut name = String::new();
        if let Some((n, r)) = rest.split_first().filter(|(n, _)| *n != "from") {
            name = n.clone();
            rest = r;
        }
        let mut legacy_addr = None;
        if kind == Some(ProxyKind::Listen) {
            if let Some((a, r)) = rest.split_first().filter(|(a, _)| *a != "from") {
                legacy_addr = Some(a.clone());
                rest = r;
            }
        }
        let mut from = None;
        match rest {
            [] => {}
            [f, d] if f == "from" => from = Some(d.clone()),
            [f] if f == "from" => {
                self.diags.error(
                    span.clone(),
                    format!("'{kw} {name} from' expects a defaults section name"),
                );
            }
            [a, ..] => {
                self.diags.error(
                    span.clone(),
                    format!("'{kw} {name}': unexpected argument '{a}'"),
                );
            }
        }
        if kind.is_some() && name.is_empty() {
            self.diags.error(
                span.clone(),
                format!("'{kw}' expects a name (e.g. '{kw} www')"),
            );
        }
        if let Some(c) = invalid_name_char(&name) {
            self.diags.error(
                span.clone(),
                format!("character '{c}' is not permitted in {kw} name '{name}'"),
            );
        }
        let base = match &from {
            Some(d) => match self.named.get(d) {
                Some(p) => p.clone(),
                None => {
                    self.diags.error(
                        span.clone(),
                        format!("'{kw} {name}': no defaults section named '{d}' before this line"),
                    );
                    self.defaults.clone()
                }
            },
            // A new defaults section starts afresh; a proxy starts from the last one.
            None if kind.is_none() => Proxy::new(ProxyKind::Listen, ""),
            None => self.defaults.clone(),
        };
        let mut p = base;
        p.name = name;
        p.kind = kind.unwrap_or(ProxyKind::Listen);
        keep_capabilities(&mut p);
        p.origins.0.insert(String::new(), span.clone());
        self.inherited_http_check = !p.http_check.is_empty();
        self.inherited_httpchk = p.option.httpchk.is_some();
        self.inherited_tcp_check = !p.tcp_check.is_empty();
        if let Some(addr) = legacy_addr {
            self.legacy_listen_addr(&mut p, &addr, span);
        }
        self.current = Some(p);
        self.section = if kind.is_some() {
            Section::Proxy
        } else {
            Section::Defaults
        };
    }

    /// `listen NAME ADDR:PORT`: the form HAProxy dropped in 2.x, still in old
    /// guides (seed 003). Accepted with a warning showing the modern line.
    fn legacy_listen_addr(&mut self, p: &mut Proxy, addr: &str, span: Span) {
        let parsed: Result<Vec<BindAddr>, _> = addr.split(',').map(str::parse).collect();
        match parsed {
            Ok(addrs) => {
                self.diags.warning(
                    span,
                    format!(
                        "'listen {} {addr}' is the old form HAProxy no longer accepts: write 'bind {addr}' on its own line in the section",
                        p.name
                    ),
                );
                p.bind.push(Bind::new(addrs));
            }
            Err(e) => self.diags.error(span, format!("'listen {}': {e}", p.name)),
        }
    }

    fn end_section(&mut self) {
        let Some(p) = self.current.take() else {
            self.section = Section::None;
            return;
        };
        match self.section {
            Section::Defaults => {
                if !p.name.is_empty() {
                    self.named.insert(p.name.clone(), p.clone());
                }
                self.defaults = p;
            }
            Section::Proxy => {
                // Folded into each server line already: the model keeps
                // the servers as they came out.
                let mut p = p;
                p.default_server.clear();
                self.config.proxies.push(p)
            }
            _ => {}
        }
        self.section = Section::None;
    }

    /// `errorfile CODE FILE` in an `http-errors` section.
    fn http_errors_line(&mut self, words: &[String], span: Span) {
        let Some(section) = self.config.http_errors.last_mut() else {
            return;
        };
        let mut probe = Proxy::new(ProxyKind::Backend, "");
        match words.split_first() {
            Some((k, args)) if k == "errorfile" => {
                let mut line = Line {
                    kw: "errorfile",
                    args,
                    warnings: Vec::new(),
                    origin: super::model::Origin(Some(span.clone())),
                };
                match super::proxy_kw::errorfile(&mut probe, &mut line) {
                    Ok(()) => section.errorfile.append(&mut probe.errorfile),
                    Err(e) => self.diags.error(span, e),
                }
            }
            Some((k, _)) => self.diags.error(
                span,
                format!("unknown keyword '{k}' in 'http-errors' section (expected 'errorfile')"),
            ),
            None => {}
        }
    }

    fn resolvers_line(&mut self, words: &[String], span: Span) {
        let Some(r) = self.config.resolvers.last_mut() else {
            return;
        };
        match super::resolvers_kw::line(r, words) {
            Ok(None) => {}
            Ok(Some(w)) => self.diags.warning(span, w),
            Err(e) => self.diags.error(span, e),
        }
    }

    /// `user NAME [password HASH|insecure-password TEXT] [groups G,...]`
    /// and `group NAME [users U,...]`.
    fn userlist_line(&mut self, words: &[String], span: Span) {
        let Some(list) = self.config.userlists.last_mut() else {
            return;
        };
        let split = |v: &str| -> Vec<String> {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let res: Result<(), String> = match words {
            [k, name, rest @ ..] if k == "user" => {
                let mut password = None;
                let mut groups = Vec::new();
                let mut it = rest.iter();
                let mut bad = None;
                while let Some(a) = it.next() {
                    match (a.as_str(), it.next()) {
                        ("password", Some(h)) => {
                            password = Some(super::model::Password::Crypt(h.clone()))
                        }
                        ("insecure-password", Some(p)) => {
                            password = Some(super::model::Password::Insecure(p.clone()))
                        }
                        ("groups", Some(g)) => groups = split(g),
                        (a, _) => {
                            bad = Some(format!(
                                "'user {name}': unexpected '{a}' (expected 'password', 'insecure-password' or 'groups' with a value)"
                            ));
                            break;
                        }
                    }
                }
                match (bad, password) {
                    (Some(e), _) => Err(e),
                    (None, None) => Err(format!(
                        "'user {name}' expects 'password HASH' or 'insecure-password TEXT'"
                    )),
                    (None, Some(password)) => {
                        list.users.push(super::model::User {
                            name: name.clone(),
                            password,
                            groups,
                        });
                        Ok(())
                    }
                }
            }
            [k, name] if k == "group" => {
                list.groups.push(super::model::Group {
                    name: name.clone(),
                    users: Vec::new(),
                });
                Ok(())
            }
            [k, name, u, users] if k == "group" && u == "users" => {
                list.groups.push(super::model::Group {
                    name: name.clone(),
                    users: split(users),
                });
                Ok(())
            }
            [k, ..] if k == "group" => Err("'group' expects NAME [users U1,U2,...]".into()),
            [k, ..] if k == "user" => Err("'user' expects a name and a password".into()),
            [k, ..] => Err(format!(
                "unknown keyword '{k}' in 'userlist' section (expected 'user' or 'group')"
            )),
            [] => Ok(()),
        };
        if let Err(e) = res {
            self.diags.error(span, e);
        }
    }

    fn global_line(&mut self, words: &[String], span: Span) {
        let first = words[0].as_str();
        let two = words.get(1).map(|w| format!("{first} {w}"));
        // One-word ignored keywords, or two-word ones (`stats bind-process`).
        let ignored = IGNORED_GLOBAL.iter().find_map(|(k, why)| {
            if *k == first {
                Some((first.to_string(), 1, why))
            } else if two.as_deref() == Some(*k) {
                Some((k.to_string(), 2, why))
            } else {
                None
            }
        });
        if let Some((kw, n, why)) = ignored {
            self.diags
                .warning(span, format!("'{kw}' is accepted and ignored: {why}"));
            self.config.global.ignored.insert(kw, words[n..].to_vec());
            return;
        }
        let found = GLOBAL_KEYWORDS
            .iter()
            .find(|k| two.as_deref() == Some(k.name))
            .map(|k| (k, 2))
            .or_else(|| {
                GLOBAL_KEYWORDS
                    .iter()
                    .find(|k| k.name == first)
                    .map(|k| (k, 1))
            });
        let Some((k, n)) = found else {
            let known = GLOBAL_KEYWORDS
                .iter()
                .map(|k| k.name)
                .chain(IGNORED_GLOBAL.iter().map(|(k, _)| *k));
            let hint = suggest(two.as_deref().unwrap_or(first), known.clone())
                .or_else(|| suggest(first, known))
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            let what = if first == "stats" {
                two.as_deref().unwrap_or(first)
            } else {
                first
            };
            self.diags.error(
                span,
                format!("unknown keyword '{what}' in 'global' section{hint}"),
            );
            return;
        };
        let mut line = Line {
            kw: k.name,
            args: &words[n..],
            warnings: Vec::new(),
            origin: super::model::Origin(Some(span.clone())),
        };
        let res = (k.parse)(&mut self.config.global, &mut line);
        for w in line.warnings {
            self.diags.warning(span.clone(), w);
        }
        if let Err(e) = res {
            self.diags.error(span, e);
        }
    }

    fn proxy_line(&mut self, words: &[String], span: Span) {
        let Some(mut p) = self.current.take() else {
            return;
        };
        self.proxy_keyword(&mut p, words, span);
        self.current = Some(p);
    }

    fn proxy_keyword(&mut self, p: &mut Proxy, words: &[String], span: Span) {
        let in_defaults = matches!(self.section, Section::Defaults);
        let section_name = if in_defaults {
            "defaults"
        } else {
            p.kind.name()
        };
        let (negated, words) = match words.split_first() {
            Some((no, rest)) if no == "no" => (true, rest),
            _ => (false, words),
        };
        let Some(first) = words.first().map(String::as_str) else {
            self.diags
                .error(span, "'no' expects a keyword (e.g. 'no option httplog')");
            return;
        };
        let mut first = first.to_string();
        if !is_proxy_keyword_start(&first) {
            let lower = first.to_ascii_lowercase();
            if is_proxy_keyword_start(&lower) {
                self.diags.warning(
                    span.clone(),
                    format!("keyword '{first}' accepted as '{lower}': write it in lower case"),
                );
                first = lower;
            }
        }
        if negated {
            self.negated(p, &first, words, span, section_name, in_defaults);
            return;
        }
        let second = words.get(1).map(String::as_str).unwrap_or("");
        let family = FAMILIES.contains(&first.as_str());
        if family && words.len() < 2 {
            self.unknown(&first, "", true, span, section_name);
            return;
        }
        // `http-check set-var(check.x) ...`: the keyword carries its
        // variable; the handler reads it from its first argument.
        let var_action = first == "http-check"
            && (second.starts_with("set-var(") || second.starts_with("unset-var("));
        let full = if var_action {
            format!("{first} {}", second.split('(').next().unwrap_or_default())
        } else if family {
            format!("{first} {second}")
        } else {
            first.clone()
        };
        let args = &words[if family && !var_action { 2 } else { 1 }..];
        if first == "option" {
            if let Some(o) = BOOL_OPTIONS.iter().find(|o| o.name == second) {
                if !self.allowed(p, &full, o.caps, span.clone(), section_name, in_defaults) {
                    return;
                }
                if let Some(a) = args.first() {
                    self.diags
                        .error(span, format!("'{full}' takes no argument, got '{a}'"));
                    return;
                }
                (o.set)(&mut p.option, true);
                p.origins.0.insert(full, span);
                return;
            }
        }
        let Some(k) = PROXY_KEYWORDS.iter().find(|k| k.name == full) else {
            self.unknown(&first, second, family, span, section_name);
            return;
        };
        if !self.allowed(p, &full, k.caps, span.clone(), section_name, in_defaults) {
            return;
        }
        // A proxy's own http-check rules replace the inherited ones, and
        // with them the request `option httpchk` set in defaults (HAProxy
        // keeps it as the first rule): back to OPTIONS / HTTP/1.0.
        // `disable-on-404` and `send-state` are settings, not rules.
        let own_rule = first == "http-check" && !matches!(second, "disable-on-404" | "send-state");
        if own_rule && (self.inherited_http_check || self.inherited_httpchk) {
            p.http_check.clear();
            if self.inherited_httpchk {
                if let Some(h) = p.option.httpchk.as_mut() {
                    *h = super::model::HttpChk::default();
                }
            }
            self.inherited_http_check = false;
            self.inherited_httpchk = false;
        }
        // Its own `option httpchk` drops the inherited rules too.
        if full == "option httpchk" {
            if self.inherited_http_check {
                p.http_check.clear();
            }
            self.inherited_http_check = false;
            self.inherited_httpchk = false;
        }
        if first == "tcp-check" && self.inherited_tcp_check {
            // So do its own tcp-check rules.
            p.tcp_check.clear();
            self.inherited_tcp_check = false;
        }
        // Like HAProxy, addresses expand `${NAME}` even outside double quotes.
        let expanded;
        let args = match (k.name, args) {
            ("bind", [a, ..]) | ("server", [_, a, ..]) | ("server-template", [_, _, a, ..])
                if a.contains("${") =>
            {
                let i = match k.name {
                    "bind" => 0,
                    "server" => 1,
                    _ => 2,
                };
                let mut v = args.to_vec();
                v[i] = expand_address_vars(a, self.env);
                expanded = v;
                &expanded[..]
            }
            _ => args,
        };
        // `default-server` parameters come before the server's own, which
        // override them (later parameters win).
        let with_defaults;
        let args = match (k.name, args) {
            ("server", [name, addr, own @ ..]) if !p.default_server.is_empty() => {
                let mut v = vec![name.clone(), addr.clone()];
                v.extend(p.default_server.iter().cloned());
                v.extend(own.iter().cloned());
                with_defaults = v;
                &with_defaults[..]
            }
            ("server-template", [prefix, range, addr, own @ ..])
                if !p.default_server.is_empty() =>
            {
                let mut v = vec![prefix.clone(), range.clone(), addr.clone()];
                v.extend(p.default_server.iter().cloned());
                v.extend(own.iter().cloned());
                with_defaults = v;
                &with_defaults[..]
            }
            _ => args,
        };
        let mut line = Line {
            kw: k.name,
            args,
            warnings: Vec::new(),
            origin: super::model::Origin(Some(span.clone())),
        };
        let res = (k.parse)(p, &mut line);
        for w in line.warnings {
            self.diags.warning(span.clone(), w);
        }
        match res {
            Err(e) => self.diags.error(span, e),
            Ok(()) => {
                p.origins.0.insert(full, span);
            }
        }
    }

    /// `no option X` and `no log`.
    fn negated(
        &mut self,
        p: &mut Proxy,
        first: &str,
        words: &[String],
        span: Span,
        section_name: &str,
        in_defaults: bool,
    ) {
        match (first, words.get(1).map(String::as_str), words.get(2)) {
            ("log", None, _) => {
                p.log.clear();
            }
            ("option", Some(name), None) => {
                let full = format!("option {name}");
                if let Some(o) = BOOL_OPTIONS.iter().find(|o| o.name == name) {
                    if self.allowed(p, &full, o.caps, span.clone(), section_name, in_defaults) {
                        (o.set)(&mut p.option, false);
                    }
                } else if CLEARABLE_OPTIONS.contains(&name) {
                    if self.allowed(
                        p,
                        &full,
                        super::keywords::DLB,
                        span,
                        section_name,
                        in_defaults,
                    ) {
                        p.option.redispatch = false;
                        p.option.redispatch_interval = None;
                    }
                } else if PROXY_KEYWORDS.iter().any(|k| k.name == full) {
                    self.diags.error(
                        span,
                        format!("'no option {name}' is not supported: that option takes arguments and cannot be negated"),
                    );
                } else {
                    self.unknown("option", name, true, span, section_name);
                }
            }
            ("option", Some(name), Some(extra)) => self.diags.error(
                span,
                format!("'no option {name}' takes no argument, got '{extra}'"),
            ),
            _ => self.diags.error(
                span,
                format!("'no {first}' is not supported: 'no' applies to 'option NAME' and 'log'"),
            ),
        }
    }

    /// Checks the section matrix. A keyword that cannot appear in defaults
    /// is an error there; one that means nothing for this kind of proxy is
    /// ignored with a warning, as HAProxy does.
    fn allowed(
        &mut self,
        p: &Proxy,
        full: &str,
        caps: Caps,
        span: Span,
        section_name: &str,
        in_defaults: bool,
    ) -> bool {
        if in_defaults {
            if !caps.defaults {
                self.diags
                    .error(span, format!("'{full}' not allowed in 'defaults' section"));
                return false;
            }
            return true;
        }
        let ok = (caps.frontend && p.kind.has_frontend()) || (caps.backend && p.kind.has_backend());
        if !ok {
            let missing = if caps.frontend { "frontend" } else { "backend" };
            // HAProxy refuses a server where it cannot be used, but only
            // warns about a bind that will not listen; so do we.
            if full == "server" {
                self.diags.error(
                    span,
                    format!("'{full}' not allowed in '{section_name}' section (it needs {missing} capability)"),
                );
            } else {
                self.diags.warning(
                    span,
                    format!(
                        "'{full}' ignored because {section_name} '{}' has no {missing} capability",
                        p.name
                    ),
                );
            }
        }
        ok
    }

    fn unknown(&mut self, first: &str, second: &str, family: bool, span: Span, section: &str) {
        let (what, hint) = if family && !second.is_empty() {
            let names: Vec<&str> = PROXY_KEYWORDS
                .iter()
                .filter_map(|k| k.name.strip_prefix(first).and_then(|r| r.strip_prefix(' ')))
                .chain(if first == "option" {
                    BOOL_OPTIONS.iter().map(|o| o.name).collect::<Vec<_>>()
                } else {
                    Vec::new()
                })
                .collect();
            (
                format!("{first} {second}"),
                suggest(second, names.iter().copied()).map(|s| format!("{first} {s}")),
            )
        } else if family {
            (first.to_string(), None)
        } else {
            let names = PROXY_KEYWORDS
                .iter()
                .map(|k| k.name.split(' ').next().unwrap_or(k.name))
                .chain(FAMILIES);
            (first.to_string(), suggest(first, names).map(str::to_string))
        };
        let hint = hint
            .map(|h| format!("; did you mean '{h}'?"))
            .unwrap_or_default();
        let two = format!("{first} {second}");
        let msg = if family && second.is_empty() {
            format!("'{first}' expects a keyword after it in '{section}' section")
        } else if let Some((_, instead)) = REMOVED.iter().find(|(k, _)| *k == what) {
            format!("'{what}' was removed from HAProxy (in 2.1 or before): write {instead}")
        } else if NOT_YET.contains(&what.as_str()) || NOT_YET.contains(&two.as_str()) {
            let kw = if NOT_YET.contains(&what.as_str()) {
                &what
            } else {
                &two
            };
            format!("'{kw}' is not supported by fulcrum yet (HAProxy 2.6 accepts it)")
        } else {
            format!("unknown keyword '{what}' in '{section}' section{hint}")
        };
        self.diags.error(span, msg);
    }

    fn finish(mut self) -> Parsed {
        self.end_section();
        super::addresses::add_default_resolvers(&mut self.config);
        Parsed {
            config: self.config,
            diags: self.diags,
        }
    }
}

/// Replaces each `${NAME}` whose variable is set; others stay as written so
/// the address parser names them in its error.
fn expand_address_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match env(name) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Drops what a proxy inherited from defaults that means nothing for its
/// kind, as HAProxy copies only the frontend settings into a frontend and
/// the backend settings into a backend. The model then says only what is used.
fn keep_capabilities(p: &mut Proxy) {
    use super::model::{AccessLog, Balance};
    if !p.kind.has_frontend() {
        p.maxconn = None;
        if matches!(
            p.option.log_format,
            Some(AccessLog::Httplog | AccessLog::HttplogClf | AccessLog::Httpslog)
        ) {
            p.option.log_format = None;
        }
        p.option.dontlognull = false;
        p.option.dontlog_normal = false;
        p.option.logasap = false;
        p.option.clitcpka = false;
        p.timeout.client = None;
        p.timeout.client_fin = None;
        p.default_backend = None;
    }
    if !p.kind.has_backend() {
        p.balance = Balance::default();
        p.retries = 3;
        p.cookie = None;
        p.option.httpchk = None;
        p.option.tcp_check = false;
        p.option.redispatch = false;
        p.option.redispatch_interval = None;
        p.option.allbackups = false;
        p.option.srvtcpka = false;
        p.timeout.server = None;
        p.timeout.server_fin = None;
        p.timeout.connect = None;
        p.timeout.queue = None;
        p.timeout.check = None;
        p.timeout.tunnel = None;
        p.http_check.clear();
        p.tcp_check.clear();
    }
}

fn is_section_keyword(w: &str) -> bool {
    matches!(
        w,
        "global"
            | "defaults"
            | "frontend"
            | "backend"
            | "listen"
            | "userlist"
            | "http-errors"
            | "resolvers"
            | "program"
            | "peers"
    ) || UNSUPPORTED_SECTIONS.contains(&w)
}

fn is_proxy_keyword_start(w: &str) -> bool {
    w == "no"
        || FAMILIES.contains(&w)
        || PROXY_KEYWORDS
            .iter()
            .any(|k| k.name.split(' ').next() == Some(w))
}
