//! Certificates as HAProxy reads them, and the choice among them by SNI.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{TlsError, Version};

/// A certificate ready to serve, with the names it answers for.
#[derive(Debug)]
pub struct Cert {
    /// The file it came from.
    pub path: PathBuf,
    /// Its DNS names (subjectAltName, else the common name), lower case.
    pub names: Vec<String>,
    /// The chain and the key.
    pub key: Arc<CertifiedKey>,
    /// When the leaf expires.
    pub not_after: Option<SystemTime>,
    /// Names a `crt-list` line excludes (`!name`).
    pub excluded: Vec<String>,
    /// A `crt-list` line's `[options]`.
    pub options: CertOptions,
}

/// A `crt-list` line's `[options]`: settings that replace the bind line's
/// for the handshakes that choose this certificate. All unset: the bind's.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CertOptions {
    /// `alpn`: the protocols offered, in preference order.
    pub alpn: Option<Vec<String>>,
    /// `ssl-min-ver`.
    pub min: Option<Version>,
    /// `ssl-max-ver`.
    pub max: Option<Version>,
}

impl CertOptions {
    /// Whether the line set anything.
    pub fn is_set(&self) -> bool {
        *self != CertOptions::default()
    }

    /// Reads the words between `[` and `]`.
    fn parse(text: &str) -> Result<CertOptions, String> {
        let mut o = CertOptions::default();
        let mut words = text.split_whitespace();
        while let Some(k) = words.next() {
            let mut value = || words.next().ok_or(format!("'{k}' expects an argument"));
            match k {
                "alpn" => o.alpn = Some(value()?.split(',').map(str::to_string).collect()),
                "ssl-min-ver" => o.min = Some(Version::parse(value()?).map_err(|e| e.to_string())?),
                "ssl-max-ver" => o.max = Some(Version::parse(value()?).map_err(|e| e.to_string())?),
                other => {
                    return Err(format!(
                        "'{other}' in a crt-list line's options is not supported yet \
                         (fulcrum knows alpn, ssl-min-ver and ssl-max-ver there)"
                    ))
                }
            }
        }
        Ok(o)
    }
}

pub(super) fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads one certificate file: chain and key in it, or the key in
/// `FILE.key`.
pub fn load_cert(path: &Path) -> Result<Cert, TlsError> {
    let pem = read(path)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Bad {
            path: path.to_path_buf(),
            reason: format!("bad PEM: {e}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert(path.to_path_buf()));
    }
    let key = match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(k) => k,
        Err(_) => {
            let mut key_path = path.as_os_str().to_owned();
            key_path.push(".key");
            let key_path = PathBuf::from(key_path);
            match std::fs::read(&key_path) {
                Ok(k) => PrivateKeyDer::from_pem_slice(&k)
                    .map_err(|_| TlsError::NoKey(path.to_path_buf()))?,
                Err(_) => return Err(TlsError::NoKey(path.to_path_buf())),
            }
        }
    };
    let signer =
        rustls::crypto::aws_lc_rs::sign::any_supported_type(&key).map_err(|e| TlsError::Bad {
            path: path.to_path_buf(),
            reason: format!("unsupported private key: {e}"),
        })?;
    let (names, not_after) = leaf_facts(&chain[0]).map_err(|reason| TlsError::Bad {
        path: path.to_path_buf(),
        reason,
    })?;
    let certified = CertifiedKey::new(chain, signer);
    if certified.keys_match().is_err() {
        return Err(TlsError::KeyMismatch(path.to_path_buf()));
    }
    Ok(Cert {
        path: path.to_path_buf(),
        names,
        key: Arc::new(certified),
        not_after,
        excluded: Vec::new(),
        options: CertOptions::default(),
    })
}

/// The DNS names and the expiry of a leaf certificate.
fn leaf_facts(der: &CertificateDer) -> Result<(Vec<String>, Option<SystemTime>), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(s) = cn.as_str() {
                names.push(s.to_ascii_lowercase());
            }
        }
    }
    let secs = cert.validity().not_after.timestamp();
    let not_after = u64::try_from(secs)
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
    Ok((names, not_after))
}

/// `crt PATH`: a file, or every certificate file of a directory in
/// lexical order (`.key`, `.ocsp`, `.issuer` and `.sctl` files are
/// companions, not certificates).
pub fn load_crt(path: &Path) -> Result<Vec<Cert>, TlsError> {
    if !path.is_dir() {
        return Ok(vec![load_cert(path)?]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            !matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("key" | "ocsp" | "issuer" | "sctl")
            )
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(TlsError::EmptyDir(path.to_path_buf()));
    }
    files.iter().map(|f| load_cert(f)).collect()
}

/// `crt-list FILE`: one certificate per line, `PATH [[options]] [FILTER...]`,
/// where filters are the names the certificate serves (wildcards allowed)
/// and `!name` excludes one; without filters the certificate's own names
/// count. `#` comments and blank lines are skipped; a relative PATH is
/// taken from `base` (`crt-base`).
pub fn load_crt_list(path: &Path, base: Option<&Path>) -> Result<Vec<Cert>, TlsError> {
    let text = String::from_utf8_lossy(&read(path)?).into_owned();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| TlsError::Bad {
            path: path.to_path_buf(),
            reason: format!("line {}: {reason}", n + 1),
        };
        let (file, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let (options, rest) = match rest.strip_prefix('[') {
            None => (CertOptions::default(), rest),
            Some(inner) => {
                let (opts, filters) = inner
                    .split_once(']')
                    .ok_or_else(|| bad("'[' without its ']'".into()))?;
                (CertOptions::parse(opts).map_err(bad)?, filters.trim())
            }
        };
        let file = PathBuf::from(file);
        let file = match base {
            Some(b) if file.is_relative() => b.join(file),
            _ => file,
        };
        for mut cert in load_crt(&file).map_err(|e| bad(e.to_string()))? {
            let (excl, incl): (Vec<&str>, Vec<&str>) =
                rest.split_whitespace().partition(|f| f.starts_with('!'));
            if !incl.is_empty() {
                cert.names = incl.iter().map(|f| f.to_ascii_lowercase()).collect();
            }
            cert.excluded = excl
                .iter()
                .map(|f| f.trim_start_matches('!').to_ascii_lowercase())
                .collect();
            cert.options = options.clone();
            out.push(cert);
        }
    }
    if out.is_empty() {
        return Err(TlsError::NoCert(path.to_path_buf()));
    }
    Ok(out)
}

/// Chooses the certificate for a ClientHello's server name.
#[derive(Debug)]
pub struct SniResolver {
    certs: Vec<Cert>,
    strict: bool,
}

impl SniResolver {
    /// A resolver over `certs` (the first is the default); with `strict`,
    /// a name no certificate carries gets no certificate (the handshake
    /// fails), as with HAProxy's `strict-sni`.
    pub fn new(certs: Vec<Cert>, strict: bool) -> SniResolver {
        SniResolver { certs, strict }
    }

    /// The certificate for `sni`: exact name, then wildcard, then default.
    pub fn pick(&self, sni: Option<&str>) -> Option<&Cert> {
        self.pick_index(sni).map(|i| &self.certs[i])
    }

    /// Where in the list [`pick`](Self::pick)'s certificate stands.
    pub fn pick_index(&self, sni: Option<&str>) -> Option<usize> {
        if let Some(name) = sni {
            let name = name.to_ascii_lowercase();
            let serves =
                |c: &Cert, n: &str| c.names.iter().any(|x| x == n) && !c.excluded.contains(&name);
            if let Some(i) = self.certs.iter().position(|c| serves(c, &name)) {
                return Some(i);
            }
            if let Some((_, parent)) = name.split_once('.') {
                let wild = format!("*.{parent}");
                if let Some(i) = self.certs.iter().position(|c| serves(c, &wild)) {
                    return Some(i);
                }
            }
            if self.strict {
                return None;
            }
        } else if self.strict {
            return None;
        }
        (!self.certs.is_empty()).then_some(0)
    }

    /// The certificates, in the order they were given.
    pub fn certs(&self) -> &[Cert] {
        &self.certs
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name()).map(|c| c.key.clone())
    }
}

/// A certificate's subject as OpenSSL writes it on one line
/// (`/C=FR/O=Example/CN=client`), as `ssl_c_s_dn` gives it.
pub fn subject_dn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut out = String::new();
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            // OpenSSL's short names for the usual attributes.
            let name = match oid.as_str() {
                "2.5.4.3" => "CN".to_string(),
                "2.5.4.6" => "C".to_string(),
                "2.5.4.7" => "L".to_string(),
                "2.5.4.8" => "ST".to_string(),
                "2.5.4.10" => "O".to_string(),
                "2.5.4.11" => "OU".to_string(),
                "2.5.4.5" => "serialNumber".to_string(),
                "1.2.840.113549.1.9.1" => "emailAddress".to_string(),
                "0.9.2342.19200300.100.1.25" => "DC".to_string(),
                _ => x509_parser::objects::oid2sn(
                    attr.attr_type(),
                    x509_parser::objects::oid_registry(),
                )
                .map(str::to_string)
                .unwrap_or(oid),
            };
            let value = attr.as_str().map(str::to_string).unwrap_or_default();
            out.push('/');
            out.push_str(&name);
            out.push('=');
            out.push_str(&value);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crt_list_options_read_what_fulcrum_acts_on_and_refuse_the_rest() {
        let o = CertOptions::parse("alpn h2,http/1.1 ssl-min-ver TLSv1.2").unwrap();
        assert_eq!(o.alpn, Some(vec!["h2".to_string(), "http/1.1".to_string()]));
        assert_eq!((o.min, o.max), (Some(Version::Tls12), None));
        assert!(o.is_set());
        assert!(!CertOptions::parse("").unwrap().is_set());
        assert!(CertOptions::parse("alpn")
            .unwrap_err()
            .contains("expects an argument"));
        assert!(CertOptions::parse("ssl-max-ver TLSv9").is_err());
        assert!(CertOptions::parse("verify required")
            .unwrap_err()
            .contains("'verify'"));
    }

    #[test]
    fn an_unclosed_option_bracket_is_refused_with_its_line() {
        let dir = std::env::temp_dir().join(format!("fulcrum-crtlist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("list");
        std::fs::write(&list, "# c\nx.pem [alpn h2 a.test\n").unwrap();
        let e = load_crt_list(&list, None).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(e.contains("line 2: '[' without its ']'"), "{e}");
    }
}
