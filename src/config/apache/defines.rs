//! What httpd settles while it reads its files, before any directive
//! acts: `Define NAME [VALUE]` and `${NAME}` in arguments (a name not
//! defined is looked up in the environment, as httpd does; one found in
//! neither is kept as written, with a warning, as httpd keeps it), and the
//! conditional sections: `<IfDefine [!]NAME>` by the names defined so
//! far; `<IfModule [!]MODULE>` as if every module were loaded (the
//! configuration being converted uses them), so a negated block is left
//! out, with a warning; `<IfVersion>` as true for 2.4, with a warning.

use std::collections::HashMap;

use super::tree::{Node, Section};
use crate::config::Diagnostics;

/// `nodes` with the conditional sections resolved and `${NAME}`
/// substituted, in order.
pub fn resolve(nodes: Vec<Node>, diags: &mut Diagnostics) -> Vec<Node> {
    let mut defines = HashMap::new();
    let mut out = Vec::new();
    walk(nodes, &mut defines, diags, &mut out);
    out
}

fn walk(
    nodes: Vec<Node>,
    defines: &mut HashMap<String, String>,
    diags: &mut Diagnostics,
    out: &mut Vec<Node>,
) {
    for node in nodes {
        match node {
            Node::Directive(mut d) => {
                for a in &mut d.args {
                    match substitute(a, defines) {
                        Ok(s) => *a = s,
                        // httpd warns (AH00111) and keeps the text as
                        // written; what then reads it as an address, a
                        // path... says if that matters.
                        Err(name) => diags.warning(
                            d.at.clone(),
                            format!("${{{name}}} is not defined (no Define, and not in the environment): kept as written, as httpd keeps it"),
                        ),
                    }
                }
                if d.is("Define") {
                    if let Some(name) = d.args.first() {
                        let value = d.args.get(1).cloned().unwrap_or_default();
                        defines.insert(name.clone(), value);
                    }
                } else if d.is("UnDefine") {
                    if let Some(name) = d.args.first() {
                        defines.remove(name);
                    }
                }
                out.push(Node::Directive(d));
            }
            Node::Section(s) => section(s, defines, diags, out),
        }
    }
}

fn section(
    mut s: Section,
    defines: &mut HashMap<String, String>,
    diags: &mut Diagnostics,
    out: &mut Vec<Node>,
) {
    let arg = s.args.first().cloned().unwrap_or_default();
    let (negated, name) = match arg.strip_prefix('!') {
        Some(n) => (true, n.to_string()),
        None => (false, arg.clone()),
    };
    let holds = if s.name.eq_ignore_ascii_case("IfDefine") {
        Some(defines.contains_key(&name) != negated)
    } else if s.name.eq_ignore_ascii_case("IfModule") {
        if negated {
            diags.warning(
                s.at.clone(),
                format!("<IfModule !{name}>: the conversion takes every module as loaded, so this block is left out"),
            );
        }
        Some(!negated)
    } else if s.name.eq_ignore_ascii_case("IfVersion") {
        diags.warning(
            s.at.clone(),
            format!(
                "<IfVersion {}>: taken as true (httpd 2.4)",
                s.args.join(" ")
            ),
        );
        Some(true)
    } else {
        None
    };
    match holds {
        // A condition: its body takes its place, or nothing does.
        Some(true) => walk(s.body, defines, diags, out),
        Some(false) => {}
        None => {
            for a in &mut s.args {
                if let Ok(v) = substitute(a, defines) {
                    *a = v;
                }
            }
            let mut body = Vec::new();
            walk(std::mem::take(&mut s.body), defines, diags, &mut body);
            s.body = body;
            out.push(Node::Section(s));
        }
    }
}

/// `text` with each `${NAME}` replaced; the first name that is neither
/// defined nor in the environment is the error.
fn substitute(text: &str, defines: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = rest.get(i + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else { break };
        out.push_str(rest.get(..i).unwrap_or_default());
        let name = after.get(..end).unwrap_or_default();
        match defines
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
        {
            Some(v) => out.push_str(&v),
            None => return Err(name.to_string()),
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::apache::tree;

    fn names(nodes: &[Node]) -> Vec<String> {
        nodes
            .iter()
            .map(|n| match n {
                Node::Directive(d) => format!("{} {}", d.name, d.args.join(" "))
                    .trim_end()
                    .to_string(),
                Node::Section(s) => format!("<{}>", s.name),
            })
            .collect()
    }

    #[test]
    fn defines_and_conditions_as_httpd_reads_them() {
        let mut diags = Diagnostics::default();
        let nodes = tree::read_str(
            "Define member1 http://10.0.0.1:8080\n<IfDefine member1>\nA ${member1}/x\n</IfDefine>\n\
             <IfDefine !member1>\nB\n</IfDefine>\n<IfModule mod_proxy.c>\nC\n</IfModule>\n\
             <IfModule !mod_proxy.c>\nD\n</IfModule>\nE ${FULCRUM_NO_SUCH_VARIABLE}\n",
            "t.conf",
            &mut diags,
        );
        let got = names(&nodes);
        assert_eq!(
            got,
            [
                "Define member1 http://10.0.0.1:8080",
                "A http://10.0.0.1:8080/x",
                "C",
                "E ${FULCRUM_NO_SUCH_VARIABLE}"
            ]
        );
        assert!(!diags.has_errors(), "{diags}");
        let warnings: Vec<String> = diags.warnings().map(|e| e.to_string()).collect();
        assert_eq!(warnings.len(), 2, "{diags}");
        assert!(
            warnings[1].contains("t.conf:14: warning: ${FULCRUM_NO_SUCH_VARIABLE} is not defined"),
            "{diags}"
        );
    }
}
