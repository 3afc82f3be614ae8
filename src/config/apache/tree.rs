//! An httpd configuration as a tree: directives and the sections that
//! hold them, each with the file and line it came from. `Include` and
//! `IncludeOptional` are followed where they stand (with globs, as httpd
//! expands them, in name order), so the tree reads as httpd reads it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::words::{lines, LineKind};
use crate::config::{Diagnostics, Span};

/// A directive or a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `Name args...`
    Directive(Directive),
    /// `<Name args...> ... </Name>`
    Section(Section),
}

/// One directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Its name, as written (httpd reads names without case).
    pub name: String,
    /// Its arguments, quotes removed.
    pub args: Vec<String>,
    /// Where it was written.
    pub at: Span,
}

impl Directive {
    /// Whether it is `name`, without regard to case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// One section and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its name (`Proxy`, `Location`, `VirtualHost`...).
    pub name: String,
    /// The arguments of its opening tag.
    pub args: Vec<String>,
    /// Where it opens.
    pub at: Span,
    /// What it holds, in order.
    pub body: Vec<Node>,
}

impl Section {
    /// For `<Location PATH>`: the path; for `<LocationMatch RE>` or
    /// `<Location ~ RE>`: the regex (true). None for other sections.
    pub fn location(&self) -> Option<(&str, bool)> {
        let first = self.args.first().map(String::as_str);
        if self.name.eq_ignore_ascii_case("LocationMatch") {
            return first.map(|re| (re, true));
        }
        if !self.name.eq_ignore_ascii_case("Location") {
            return None;
        }
        match first {
            Some("~") => self.args.get(1).map(|re| (re.as_str(), true)),
            Some(path) => Some((path, false)),
            None => None,
        }
    }
}

/// How deep `Include` may go: a file that includes itself stops here.
const MAX_DEPTH: usize = 16;

/// Reads `path` and what it includes into a tree; every problem is a
/// diagnostic at its `file:line`, and reading goes on past it.
pub fn read(path: &Path, diags: &mut Diagnostics) -> Vec<Node> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let nodes = read_text(&text, &name, base_dir(path), 0, diags);
            super::defines::resolve(nodes, diags)
        }
        Err(e) => {
            diags.error(Span::file(&name), format!("cannot read it: {e}"));
            Vec::new()
        }
    }
}

/// Reads a configuration's text, named `name`; `Include` paths are
/// taken from the current directory.
pub fn read_str(text: &str, name: &str, diags: &mut Diagnostics) -> Vec<Node> {
    let name: Arc<str> = Arc::from(name);
    let nodes = read_text(text, &name, PathBuf::new(), 0, diags);
    super::defines::resolve(nodes, diags)
}

fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Reads one file's text: its lines, sections matched, includes followed.
///
/// `dir` is where a relative `Include` is looked for: httpd's ServerRoot
/// once a `ServerRoot` line says it, else the main file's directory (the
/// compiled-in ServerRoot is not known here); included files keep it.
fn read_text(
    text: &str,
    file: &Arc<str>,
    mut dir: PathBuf,
    depth: usize,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    // The sections open at this point, innermost last; the file's top
    // level is the bottom of the stack.
    let mut open: Vec<Section> = vec![Section {
        name: String::new(),
        args: Vec::new(),
        at: Span::file(file),
        body: Vec::new(),
    }];
    for line in lines(text) {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                diags.error(Span::new(file, e.number), e.message);
                continue;
            }
        };
        let at = Span::new(file, line.number);
        match line.kind {
            LineKind::Open { name, args } => open.push(Section {
                name,
                args,
                at,
                body: Vec::new(),
            }),
            LineKind::Close { name } => close(&mut open, &name, &at, diags),
            LineKind::Directive { name, args } => {
                let d = Directive { name, args, at };
                if d.is("ServerRoot") {
                    if let Some(root) = d.args.first() {
                        dir = PathBuf::from(root);
                    }
                }
                let nodes = if d.is("Include") || d.is("IncludeOptional") {
                    include(&d, &dir, depth, diags)
                } else {
                    vec![Node::Directive(d)]
                };
                if let Some(top) = open.last_mut() {
                    top.body.extend(nodes);
                }
            }
        }
    }
    // Sections still open at the end of the file were never closed.
    while open.len() > 1 {
        if let Some(s) = open.pop() {
            diags.error(
                s.at.clone(),
                format!(
                    "<{}> is not closed: no </{}> before the end of the file",
                    s.name, s.name
                ),
            );
            if let Some(parent) = open.last_mut() {
                parent.body.push(Node::Section(s));
            }
        }
    }
    open.pop().map(|top| top.body).unwrap_or_default()
}

/// Closes the innermost section if `name` is its name; otherwise the
/// closing tag is an error, and the sections stay open.
fn close(open: &mut Vec<Section>, name: &str, at: &Span, diags: &mut Diagnostics) {
    if open.len() < 2 {
        diags.error(at.clone(), format!("</{name}> closes no open section"));
        return;
    }
    let Some(inner) = open.pop() else {
        return;
    };
    if !inner.name.eq_ignore_ascii_case(name) {
        diags.error(
            at.clone(),
            format!(
                "</{name}> does not close <{}> opened at {}",
                inner.name, inner.at
            ),
        );
    }
    if let Some(parent) = open.last_mut() {
        parent.body.push(Node::Section(inner));
    }
}

/// The nodes of the files an `Include` names, each read at its place.
fn include(d: &Directive, dir: &Path, depth: usize, diags: &mut Diagnostics) -> Vec<Node> {
    let optional = d.is("IncludeOptional");
    let [pattern] = d.args.as_slice() else {
        diags.error(
            d.at.clone(),
            format!("{} takes one file or pattern", d.name),
        );
        return Vec::new();
    };
    if depth >= MAX_DEPTH {
        diags.error(
            d.at.clone(),
            format!(
                "{} nested more than {MAX_DEPTH} deep: does a file include itself?",
                d.name
            ),
        );
        return Vec::new();
    }
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        dir.join(pattern)
    };
    let matches: Vec<PathBuf> = match glob::glob(&full.to_string_lossy()) {
        Ok(paths) => paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect(),
        Err(e) => {
            diags.error(
                d.at.clone(),
                format!("{}: '{pattern}' is not a pattern: {e}", d.name),
            );
            return Vec::new();
        }
    };
    let has_wildcard = pattern.contains(['*', '?', '[']);
    if matches.is_empty() && !optional && !has_wildcard {
        diags.error(
            d.at.clone(),
            format!("Include: no such file: {}", full.display()),
        );
    }
    let mut nodes = Vec::new();
    for path in matches {
        let name: Arc<str> = Arc::from(path.display().to_string());
        match std::fs::read_to_string(&path) {
            Ok(text) => nodes.extend(read_text(&text, &name, dir.to_path_buf(), depth + 1, diags)),
            Err(e) => diags.error(
                d.at.clone(),
                format!("{}: cannot read {}: {e}", d.name, path.display()),
            ),
        }
    }
    nodes
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fulcrum-apache-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        d
    }

    #[test]
    fn includes_are_read_in_place_and_in_name_order() {
        let d = dir("inc");
        std::fs::write(
            d.join("conf.d/b_tenant2.conf"),
            "<Proxy balancer://t2>\nBalancerMember http://b:1\n</Proxy>\n",
        )
        .unwrap();
        std::fs::write(
            d.join("conf.d/a_tenant1.conf"),
            "<Proxy balancer://t1>\nBalancerMember http://a:1\n</Proxy>\n",
        )
        .unwrap();
        std::fs::write(
            d.join("httpd.conf"),
            "Listen 80\nInclude conf.d/*.conf\nIncludeOptional none/*.conf\nServerName lb\n",
        )
        .unwrap();
        let mut diags = Diagnostics::default();
        let nodes = read(&d.join("httpd.conf"), &mut diags);
        assert!(!diags.has_errors(), "{diags}");
        let names: Vec<String> = nodes
            .iter()
            .map(|n| match n {
                Node::Directive(x) => x.name.clone(),
                Node::Section(s) => format!("{} {}", s.name, s.args[0]),
            })
            .collect();
        assert_eq!(
            names,
            [
                "Listen",
                "Proxy balancer://t1",
                "Proxy balancer://t2",
                "ServerName"
            ]
        );
        let Node::Section(t1) = &nodes[1] else {
            panic!()
        };
        assert!(t1.at.to_string().ends_with("a_tenant1.conf:1"), "{}", t1.at);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn unbalanced_sections_and_missing_includes_are_errors_at_their_line() {
        let d = dir("bad");
        std::fs::write(
            d.join("httpd.conf"),
            "<Proxy balancer://a>\nBalancerMember http://a:1\n</Location>\n<Proxy balancer://b>\n</Proxy>\n</Proxy>\n</Proxy>\nInclude missing.conf\n<Location /x>\n",
        )
        .unwrap();
        let mut diags = Diagnostics::default();
        read(&d.join("httpd.conf"), &mut diags);
        let lines: Vec<Option<u32>> = diags.errors().map(|e| e.span.line).collect();
        assert_eq!(
            lines,
            [Some(3), Some(6), Some(7), Some(8), Some(9)],
            "{diags}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Seed 001's tenant 1, damaged by OCR: each broken tag is an error at
    /// its line, and the rest is still read.
    #[test]
    fn seed_001s_broken_tags_are_errors_at_their_lines() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/apache/seed001-tenant1.conf");
        let mut diags = Diagnostics::default();
        let nodes = read(&path, &mut diags);
        let errors: Vec<String> = diags
            .errors()
            .map(|e| format!("{}: {}", e.span.line.unwrap_or(0), e.message))
            .collect();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("11: </Proxv> does not close <Proxy>"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("39: '</proxy balancer://tlwebdav>'"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("42: </proxy> closes no open section"),
            "{}",
            errors[2]
        );
        let sections = nodes
            .iter()
            .filter(|n| matches!(n, Node::Section(_)))
            .count();
        assert_eq!(sections, 4, "the four well-formed <Proxy> sections");
    }

    #[test]
    fn a_file_that_includes_itself_stops() {
        let d = dir("self");
        std::fs::write(d.join("httpd.conf"), "Include httpd.conf\n").unwrap();
        let mut diags = Diagnostics::default();
        read(&d.join("httpd.conf"), &mut diags);
        assert_eq!(diags.errors().count(), 1, "{diags}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
