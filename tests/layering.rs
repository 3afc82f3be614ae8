//! DESIGN.md's module layers, checked: a module may use only modules of a
//! lower layer (or itself). The table is DESIGN.md's "Where the code lives".

use std::path::{Path, PathBuf};

const LAYERS: &[(&str, u8)] = &[
    ("util", 0),
    ("state", 0),
    ("tls", 0),
    ("config", 1),
    ("log", 1),
    ("balance", 2),
    ("listen", 2),
    ("runtime", 3),
    ("health", 4),
    ("stats", 4),
    ("proxy", 5),
    ("control", 6),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
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
    let mut files = Vec::new();
    rust_files(&src, &mut files);
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
        let Some(own) = layer(&top) else {
            problems.push(format!(
                "{}: module '{top}' is not in DESIGN.md's table",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).expect("read file");
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(pos) = rest.find("crate::") {
                rest = &rest[pos + 7..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if used == top {
                    continue;
                }
                match layer(&used) {
                    Some(l) if l < own => {}
                    Some(l) => problems.push(format!(
                        "{}:{}: '{top}' (layer {own}) uses '{used}' (layer {l})",
                        rel.display(),
                        i + 1
                    )),
                    None => {}
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}
