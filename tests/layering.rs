//! DESIGN.md's module layers, checked: a module may use only modules of a
//! lower layer (or itself). The table is DESIGN.md's "Where the code lives".
//!
//! A use is `crate::NAME` or a name inside `crate::{A, B::x, ...}` (the
//! braces may span lines). A NAME that is neither in the table nor an item
//! defined directly in lib.rs (such as `VERSION`) is reported as unknown.

use std::path::{Path, PathBuf};

const LAYERS: &[(&str, u8)] = &[
    ("util", 0),
    ("state", 0),
    ("tls", 0),
    ("config", 1),
    ("log", 2),
    ("balance", 2),
    ("listen", 2),
    ("rules", 2),
    ("runtime", 3),
    ("health", 4),
    ("peers", 4),
    ("resolve", 4),
    ("stats", 4),
    ("proxy", 5),
    ("control", 6),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The leading identifier of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// Names of the items lib.rs defines itself (`pub const VERSION`, `pub fn
/// ...`): `crate::NAME` for one of these is not a module use.
fn lib_items(lib: &str) -> Vec<String> {
    const KINDS: [&str; 7] = [
        "pub const ",
        "pub static ",
        "pub fn ",
        "pub struct ",
        "pub enum ",
        "pub type ",
        "pub trait ",
    ];
    lib.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            KINDS
                .iter()
                .find_map(|k| l.strip_prefix(k))
                .map(|rest| ident(rest).to_string())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Every name `text` uses through `crate::`, with its byte offset: the NAME
/// of `crate::NAME`, and each top-level name of `crate::{A, B::{x, y}, C}`.
fn crate_uses(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("crate::") {
        let at = from + pos;
        from = at + "crate::".len();
        // `mycrate::` is not `crate::`; `$crate::` is.
        if text[..at].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let rest = &text[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // Each element at depth 0 of the braces starts with a module name.
            let base = from + 1;
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        push_element(&mut out, group, base, start, i);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_element(&mut out, group, base, start, i);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.push((from, name));
            }
        }
    }
    out
}

/// The module name heading `group[start..end]`, if any (a trailing comma
/// leaves an empty element; `self` names the crate itself).
fn push_element<'a>(
    out: &mut Vec<(usize, &'a str)>,
    group: &'a str,
    base: usize,
    start: usize,
    end: usize,
) {
    let element = &group[start..end];
    let skipped = element.len() - element.trim_start().len();
    let name = ident(element.trim_start());
    if !name.is_empty() && name != "self" {
        out.push((base + start + skipped, name));
    }
}

/// The layering problems of one file of module `module` (its top-level
/// module under src/), whose text is `text`; `lib_items` are the names
/// lib.rs defines itself. Each problem starts with `LINE: `.
fn scan(module: &str, text: &str, lib_items: &[String]) -> Vec<String> {
    let Some(own) = layer(module) else {
        return vec![format!("module '{module}' is not in DESIGN.md's table")];
    };
    let mut problems = Vec::new();
    for (at, used) in crate_uses(text) {
        if used == module {
            continue;
        }
        let line = text[..at].matches('\n').count() + 1;
        match layer(used) {
            Some(l) if l < own => {}
            Some(l) => problems.push(format!(
                "{line}: '{module}' (layer {own}) uses '{used}' (layer {l})"
            )),
            None if lib_items.iter().any(|i| i == used) => {}
            None => problems.push(format!(
                "{line}: '{module}' uses 'crate::{used}', which is not a module in DESIGN.md's table"
            )),
        }
    }
    problems
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_use_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let lib_items = lib_items(&lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        if top == "main" || top == "lib" {
            continue; // layer 7: may use anything
        }
        let text = std::fs::read_to_string(f).expect("read file");
        for p in scan(&top, &text, &lib_items) {
            problems.push(format!("{}:{p}", rel.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn lib_items_are_found() {
    let lib = "pub mod config;\n/// v\npub const VERSION: &str = \"1\";\npub fn run() {}\n";
    assert_eq!(lib_items(lib), ["VERSION", "run"]);
}

#[test]
fn scanner_reports_what_it_should() {
    let lib = vec!["VERSION".to_string()];
    let scan = |module, text| scan(module, text, &lib);

    // Plain paths, as before.
    assert!(scan("runtime", "use crate::config::model::Mode;").is_empty());
    assert!(scan("config", "use crate::config::model::Mode;").is_empty());
    assert_eq!(scan("config", "use crate::runtime::Runtime;").len(), 1);
    assert_eq!(
        scan("config", "x\nlet r = crate::runtime::load();"),
        ["2: 'config' (layer 1) uses 'runtime' (layer 3)"]
    );

    // Grouped imports: each name in the braces counts.
    assert_eq!(
        scan("config", "use crate::{runtime};"),
        ["1: 'config' (layer 1) uses 'runtime' (layer 3)"]
    );
    assert_eq!(scan("config", "use crate::{ runtime::Y };").len(), 1);
    assert_eq!(scan("config", "use crate::{runtime, proxy::x};").len(), 2);
    assert!(scan("runtime", "use crate::{config::model::X, util};").is_empty());
    assert_eq!(
        scan(
            "runtime",
            "use crate::{\n    config::{a, b},\n    proxy::P,\n    util,\n};\n"
        ),
        ["3: 'runtime' (layer 3) uses 'proxy' (layer 5)"]
    );

    // Unknown names; items of lib.rs are fine.
    assert_eq!(
        scan("config", "use crate::nosuch::X;"),
        ["1: 'config' uses 'crate::nosuch', which is not a module in DESIGN.md's table"]
    );
    assert_eq!(scan("config", "use crate::{util, nosuch};").len(), 1);
    assert!(scan("stats", "let v = crate::VERSION;").is_empty());

    // Not uses: prose, other crates, the file's own module.
    assert!(scan("util", "//! No `crate::` imports here.").is_empty());
    assert!(scan("util", "use mycrate::proxy::X;").is_empty());
    assert!(scan("rules", "use crate::rules::X;").is_empty());

    // A module missing from the table.
    assert_eq!(scan("nosuch", "").len(), 1);
}
