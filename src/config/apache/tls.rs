//! mod_ssl's `SSLEngine on` with `SSLCertificateFile`: the certificates
//! a listener serves, as `bind ... ssl crt FILE` (several `crt`s when
//! several virtual hosts share a port: HAProxy picks by SNI, as httpd
//! does). HAProxy reads the key from the certificate's file or from
//! `FILE.key` beside it; a key elsewhere, or a chain file, is a warning
//! that says how to make the one file it reads.

use super::tree::{Directive, Node};
use super::vhosts::{number_at, VHost};
use crate::config::{Diagnostics, Span};

/// A certificate a listener serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The port it is served on (None: every listener).
    pub port: Option<u16>,
    /// `SSLCertificateFile`.
    pub file: String,
    /// Where its `SSLEngine on` was written.
    pub at: Span,
}

/// The certificates of the main server and of each virtual host with
/// `SSLEngine on`.
pub fn certificates(nodes: &[Node], vhosts: &[VHost], diags: &mut Diagnostics) -> Vec<Certificate> {
    let mut out = Vec::new();
    scope(nodes, vhosts, None, diags, &mut out);
    out
}

fn scope(
    nodes: &[Node],
    vhosts: &[VHost],
    vhost: Option<&VHost>,
    diags: &mut Diagnostics,
    out: &mut Vec<Certificate>,
) {
    let mut engine: Option<&Directive> = None;
    let (mut cert, mut key, mut chain) = (None, None, None);
    for node in nodes {
        match node {
            Node::Section(s) if s.name.eq_ignore_ascii_case("VirtualHost") => {
                let v = number_at(vhosts, &s.at).and_then(|n| vhosts.get(n - 1));
                scope(&s.body, vhosts, v, diags, out);
            }
            Node::Section(_) => {}
            Node::Directive(d) => {
                let arg = d.args.first();
                if d.is("SSLEngine") {
                    engine = arg.filter(|a| a.eq_ignore_ascii_case("on")).map(|_| d);
                } else if d.is("SSLCertificateFile") {
                    cert = arg;
                } else if d.is("SSLCertificateKeyFile") {
                    key = arg.map(|k| (k, d));
                } else if d.is("SSLCertificateChainFile") {
                    chain = arg.map(|c| (c, d));
                }
            }
        }
    }
    let Some(on) = engine else { return };
    let Some(file) = cert else {
        diags.error(
            on.at.clone(),
            "SSLEngine on without SSLCertificateFile (httpd refuses to start so)",
        );
        return;
    };
    let beside = format!("{file}.key");
    if let Some((k, d)) = key.filter(|(k, _)| **k != *file && **k != beside) {
        diags.warning(
            d.at.clone(),
            format!("HAProxy reads the key from the certificate's file or from {beside}: `cat {file} {k} > {file}.pem` and use that, or copy the key to {beside}"),
        );
    }
    if let Some((c, d)) = chain {
        diags.warning(
            d.at.clone(),
            format!("HAProxy reads the chain from the certificate's file: append {c} to {file}"),
        );
    }
    let ports: Vec<Option<u16>> = match vhost {
        Some(v) => v.addrs.iter().map(|a| a.1).collect(),
        None => vec![None],
    };
    for port in ports {
        out.push(Certificate {
            port,
            file: file.clone(),
            at: on.at.clone(),
        });
    }
}

/// The `crt` files a listener on `port` serves.
pub fn for_port(certs: &[Certificate], port: Option<u16>) -> Vec<&str> {
    let mut files: Vec<&str> = Vec::new();
    for c in certs {
        let serves = c.port.is_none() || port.is_none() || c.port == port;
        if serves && !files.contains(&c.file.as_str()) {
            files.push(&c.file);
        }
    }
    files
}
