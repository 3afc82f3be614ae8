//! Which directives of an httpd tree the conversion reads. A name that
//! cannot be a directive at all (`route=RCS1`, the tail of a line the
//! OCR broke in two in seed 001) is an error, as httpd refuses it
//! ("Invalid command"); a directive the conversion does not translate is
//! a warning that names it, so nothing is dropped silently.

use super::tree::Node;
use crate::config::Diagnostics;

/// The directives the conversion reads (issue 20's subset).
const READ: &[&str] = &[
    "Include",
    "IncludeOptional",
    "ServerRoot",
    "Define",
    "UnDefine",
    "Listen",
    "ServerName",
    "ServerAlias",
    "BalancerMember",
    "ProxySet",
    "ProxyPass",
    "ProxyPassMatch",
    "ProxyPassReverse",
    "ProxyPassReverseCookiePath",
    "ProxyPassReverseCookieDomain",
    "ProxyPreserveHost",
    "ProxyTimeout",
    "ProxyRequests",
    "ProxyVia",
    "SSLProxyEngine",
    "SSLEngine",
    "SSLCertificateFile",
    "SSLCertificateKeyFile",
    "SSLCertificateChainFile",
    "SSLProxyVerify",
    "SSLProxyCheckPeerName",
    "SSLProxyCACertificateFile",
    "Timeout",
    "Header",
    "RequestHeader",
    "Require",
    "Order",
    "Allow",
    "Deny",
    "SetHandler",
    "ProxyStatus",
    "RewriteEngine",
    "RewriteRule",
    "RewriteCond",
];

/// Whether `name` can be an httpd directive: a letter, then letters,
/// digits, `_` or `-`.
fn plausible(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Reports every directive of `nodes`, at any depth, that is not one the
/// conversion reads: an error if it cannot be a directive, else a
/// warning that it is not translated.
pub fn report_unread(nodes: &[Node], diags: &mut Diagnostics) {
    for node in nodes {
        match node {
            Node::Section(s) => report_unread(&s.body, diags),
            Node::Directive(d) if !plausible(&d.name) => diags.error(
                d.at.clone(),
                format!(
                    "'{}' is not a directive (httpd refuses it too: \"Invalid command\"); is it the rest of the line above?",
                    d.name
                ),
            ),
            Node::Directive(d) if !READ.iter().any(|r| d.is(r)) => diags.warning(
                d.at.clone(),
                format!("{} is not translated: fulcrum's conversion ignores it", d.name),
            ),
            Node::Directive(_) => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::apache::tree;
    use std::path::Path;

    /// Seed 001: the lines the OCR broke off are errors at their lines.
    #[test]
    fn broken_off_lines_are_errors_and_other_directives_warnings() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/apache/seed001-tenant1.conf");
        let mut tree_diags = Diagnostics::default();
        let nodes = tree::read(&path, &mut tree_diags);
        let mut diags = Diagnostics::default();
        report_unread(&nodes, &mut diags);
        let errors: Vec<(u32, String)> = diags
            .errors()
            .map(|e| (e.span.line.unwrap_or(0), e.message.clone()))
            .collect();
        let lines: Vec<u32> = errors.iter().map(|e| e.0).collect();
        assert_eq!(lines, [9, 23, 25], "{diags}");
        assert!(
            errors[0].1.starts_with("'env=BALANCER' is not a directive"),
            "{}",
            errors[0].1
        );
        assert!(
            errors[1].1.starts_with("'route=RCS1' is not a directive"),
            "{}",
            errors[1].1
        );
        assert_eq!(diags.warnings().count(), 0, "{diags}");
    }
}
