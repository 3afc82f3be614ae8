//! TLS with rustls: certificates read the way HAProxy reads them (one PEM
//! holding the chain and the key, or the key in `FILE.key` beside it; a
//! directory of such files), chosen by SNI (an exact name first, then a
//! wildcard; the first certificate is the default), and the server and
//! client configurations built from them. Nothing here knows the config
//! model: callers pass paths and settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why TLS material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read '{path}': {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// No certificate in a PEM file.
    #[error("'{0}' holds no certificate")]
    NoCert(PathBuf),
    /// No key in the file or beside it.
    #[error("'{0}' holds no private key, and there is no '.key' file beside it")]
    NoKey(PathBuf),
    /// The key or certificate cannot be used.
    #[error("'{path}': {reason}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key is not the certificate's.
    #[error("'{0}': the private key does not match the certificate")]
    KeyMismatch(PathBuf),
    /// A directory holds no certificate.
    #[error("'{0}': no certificate found in the directory")]
    EmptyDir(PathBuf),
    /// An unknown TLS version name.
    #[error("unknown TLS version '{0}' (expected SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)")]
    Version(String),
    /// A version range rustls cannot serve.
    #[error("no TLS version left between '{0}' and '{1}': fulcrum speaks TLSv1.2 and TLSv1.3")]
    NoVersion(String, String),
    /// rustls refused the configuration.
    #[error("{0}")]
    Rustls(String),
}

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
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
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
        rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| TlsError::Bad {
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
        if rest.starts_with('[') {
            return Err(bad(
                "per-certificate options ('[...]') are not supported yet".into(),
            ));
        }
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
        if let Some(name) = sni {
            let name = name.to_ascii_lowercase();
            let serves =
                |c: &&Cert, n: &str| c.names.iter().any(|x| x == n) && !c.excluded.contains(&name);
            if let Some(c) = self.certs.iter().find(|c| serves(c, &name)) {
                return Some(c);
            }
            if let Some((_, parent)) = name.split_once('.') {
                let wild = format!("*.{parent}");
                if let Some(c) = self.certs.iter().find(|c| serves(c, &wild)) {
                    return Some(c);
                }
            }
            if self.strict {
                return None;
            }
        } else if self.strict {
            return None;
        }
        self.certs.first()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name()).map(|c| c.key.clone())
    }
}

/// A TLS protocol version as HAProxy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// SSLv3
    Ssl3,
    /// TLSv1.0
    Tls10,
    /// TLSv1.1
    Tls11,
    /// TLSv1.2
    Tls12,
    /// TLSv1.3
    Tls13,
}

impl Version {
    /// Reads `TLSv1.2` and friends.
    pub fn parse(s: &str) -> Result<Version, TlsError> {
        Ok(match s {
            "SSLv3" => Version::Ssl3,
            "TLSv1.0" => Version::Tls10,
            "TLSv1.1" => Version::Tls11,
            "TLSv1.2" => Version::Tls12,
            "TLSv1.3" => Version::Tls13,
            other => return Err(TlsError::Version(other.to_string())),
        })
    }
}

/// TLS 1.2 suites rustls offers, by their OpenSSL names.
const TLS12: &[(&str, rustls::CipherSuite)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// A protocol version as OpenSSL (and so HAProxy's logs) names it.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A cipher suite as OpenSSL names it: `TLS_AES_256_GCM_SHA384`,
/// `ECDHE-RSA-AES128-GCM-SHA256`.
pub fn suite_name(s: rustls::CipherSuite) -> String {
    if let Some((n, _)) = TLS12.iter().chain(TLS13).find(|(_, x)| *x == s) {
        return n.to_string();
    }
    format!("{s:?}")
}

/// TLS 1.3 suites rustls offers, by their IANA names (`ciphersuites`).
const TLS13: &[(&str, rustls::CipherSuite)] = &[
    (
        "TLS_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// OpenSSL cipher-string words that name families rather than suites.
const ALIASES: &[&str] = &[
    "HIGH",
    "ALL",
    "DEFAULT",
    "COMPLEMENTOFDEFAULT",
    "ECDHE",
    "EECDH",
    "kEECDH",
    "kECDHE",
    "AESGCM",
    "AES",
    "AES128",
    "AES256",
    "CHACHA20",
    "ECDSA",
    "aECDSA",
    "RSA",
    "aRSA",
    "SHA256",
    "SHA384",
    "TLSv1.2",
    "MEDIUM",
];

/// The suites a `ciphers` (TLS 1.2, OpenSSL's cipher-string syntax) and a
/// `ciphersuites` (TLS 1.3) setting select among those rustls has, with a
/// warning for each name rustls does not offer (DHE, CBC, RC4 ...). A word
/// that is no cipher name at all is an error.
pub fn select_suites(
    ciphers: Option<&str>,
    ciphersuites: Option<&str>,
) -> Result<(Vec<rustls::CipherSuite>, Vec<String>), TlsError> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    match ciphers {
        None => out.extend(TLS12.iter().map(|(_, s)| *s)),
        Some(list) => {
            for word in list.split([':', ',', ' ']).filter(|w| !w.is_empty()) {
                if word.starts_with(['!', '-', '+'])
                    || word == "@STRENGTH"
                    || word.starts_with("@SECLEVEL")
                {
                    continue;
                }
                if let Some((_, s)) = TLS12.iter().find(|(n, _)| *n == word) {
                    out.push(*s);
                    continue;
                }
                let parts: Vec<&str> = word.split('+').collect();
                if parts.iter().all(|p| ALIASES.contains(p)) {
                    let want = |n: &str| {
                        parts.iter().all(|p| match *p {
                            "AES128" => n.contains("AES128"),
                            "AES256" => n.contains("AES256"),
                            "AESGCM" | "AES" => n.contains("GCM"),
                            "CHACHA20" => n.contains("CHACHA20"),
                            "ECDSA" | "aECDSA" => n.contains("ECDSA"),
                            "RSA" | "aRSA" => n.contains("-RSA-"),
                            "SHA384" => n.ends_with("SHA384"),
                            "SHA256" => n.ends_with("SHA256") || n.contains("CHACHA20"),
                            _ => true,
                        })
                    };
                    out.extend(TLS12.iter().filter(|(n, _)| want(n)).map(|(_, s)| *s));
                    continue;
                }
                if is_openssl_cipher_name(word) {
                    warnings.push(format!(
                        "cipher '{word}' is not offered: rustls has no such suite"
                    ));
                    continue;
                }
                return Err(TlsError::Rustls(format!("unknown cipher '{word}'")));
            }
        }
    }
    match ciphersuites {
        None => out.extend(TLS13.iter().map(|(_, s)| *s)),
        Some(list) => {
            for word in list.split([':', ',']).filter(|w| !w.is_empty()) {
                match TLS13.iter().find(|(n, _)| *n == word) {
                    Some((_, s)) => out.push(*s),
                    None if word.starts_with("TLS_AES_128_CCM") => warnings.push(format!(
                        "ciphersuite '{word}' is not offered: rustls has no such suite"
                    )),
                    None => {
                        return Err(TlsError::Rustls(format!(
                            "unknown TLS 1.3 ciphersuite '{word}'"
                        )))
                    }
                }
            }
        }
    }
    out.dedup();
    Ok((out, warnings))
}

/// A word that looks like one of OpenSSL's suite names (`DHE-RSA-AES128-SHA`).
fn is_openssl_cipher_name(w: &str) -> bool {
    let known = [
        "DHE", "EDH", "ADH", "AECDH", "PSK", "SRP", "RC4", "DES", "3DES", "CAMELLIA", "ARIA",
        "SEED", "IDEA", "NULL", "MD5", "SHA", "CBC", "CCM", "AES128", "AES256", "ECDHE", "RSA",
        "ECDSA", "DSS", "GOST", "kRSA", "aNULL", "eNULL", "EXP", "EXPORT", "LOW", "SSLv3", "TLSv1",
    ];
    w.split(['-', '+'])
        .any(|p| known.iter().any(|k| p == *k || p.starts_with(k)))
}

/// How one `bind ... ssl` line terminates TLS.
#[derive(Debug)]
pub struct BindTls {
    /// The certificates, the first being the default.
    pub certs: Vec<Cert>,
    /// `alpn` protocols offered, in preference order.
    pub alpn: Vec<Vec<u8>>,
    /// `ssl-min-ver`.
    pub min: Option<Version>,
    /// `ssl-max-ver`.
    pub max: Option<Version>,
    /// `strict-sni`.
    pub strict_sni: bool,
    /// `no-tls-tickets`.
    pub no_tickets: bool,
    /// Client certificates: None, or the CA file and whether one is required.
    pub client_ca: Option<(PathBuf, bool)>,
    /// The suites to offer (None: rustls's defaults).
    pub suites: Option<Vec<rustls::CipherSuite>>,
}

/// The versions rustls may use within [min, max]: TLS 1.2 and 1.3 only,
/// so older ones are never offered (HAProxy 2.6's default floor is 1.2).
fn versions(
    min: Option<Version>,
    max: Option<Version>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsError> {
    let lo = min.unwrap_or(Version::Tls12).max(Version::Tls12);
    let hi = max.unwrap_or(Version::Tls13);
    let mut v = Vec::new();
    if lo <= Version::Tls13 && hi >= Version::Tls13 {
        v.push(&rustls::version::TLS13);
    }
    if lo <= Version::Tls12 && hi >= Version::Tls12 {
        v.push(&rustls::version::TLS12);
    }
    if v.is_empty() {
        return Err(TlsError::NoVersion(format!("{lo:?}"), format!("{hi:?}")));
    }
    Ok(v)
}

/// The rustls configuration of a `bind ... ssl` line.
pub fn server_config(b: BindTls) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = &b.suites {
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
    }
    let provider = Arc::new(provider);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(b.min, b.max)?)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &b.client_ca {
        None => builder.with_no_client_auth(),
        Some((path, required)) => {
            let roots = Arc::new(roots(path)?);
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider);
            let v = if *required {
                v
            } else {
                v.allow_unauthenticated()
            };
            builder
                .with_client_cert_verifier(v.build().map_err(|e| TlsError::Rustls(e.to_string()))?)
        }
    };
    let mut cfg = builder.with_cert_resolver(Arc::new(SniResolver::new(b.certs, b.strict_sni)));
    cfg.alpn_protocols = b.alpn;
    if b.no_tickets {
        cfg.send_tls13_tickets = 0;
        cfg.ticketer = Arc::new(NoTickets);
    } else if let Ok(t) = rustls::crypto::ring::Ticketer::new() {
        cfg.ticketer = t;
    }
    Ok(Arc::new(cfg))
}

/// How `server ... ssl` checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerVerify {
    /// `verify none`: any certificate is accepted.
    None,
    /// `verify required` with the CAs of this file.
    Ca(PathBuf),
}

/// The rustls configuration for TLS to a server. Session resumption is on
/// (rustls keeps a per-configuration session cache), as in HAProxy.
/// What a `server ... ssl` line asks of its TLS.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `alpn`: protocols offered, in preference order.
    pub alpn: Vec<String>,
    /// `crt FILE`: a client certificate (chain and key, as for binds).
    pub crt: Option<PathBuf>,
    /// `no-ssl-reuse`: no session resumption.
    pub no_reuse: bool,
}

/// The rustls configuration for TLS to a server.
pub fn client_config(
    verify: &ServerVerify,
    opts: &ClientOptions,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(None, None)?)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match verify {
        ServerVerify::Ca(path) => builder.with_root_certificates(roots(path)?),
        ServerVerify::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider))),
    };
    let mut cfg = match &opts.crt {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let cert = load_cert(path)?;
            builder.with_client_cert_resolver(Arc::new(ClientCert(cert.key)))
        }
    };
    cfg.alpn_protocols = opts.alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
    if opts.no_reuse {
        cfg.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(cfg))
}

/// The one client certificate a `server ... crt` line presents.
#[derive(Debug)]
struct ClientCert(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The CA certificates of a `ca-file`.
fn roots(path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let pem = read(path)?;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        let c = c.map_err(|e| TlsError::Bad {
            path: path.to_path_buf(),
            reason: format!("bad PEM: {e}"),
        })?;
        roots.add(c).map_err(|e| TlsError::Bad {
            path: path.to_path_buf(),
            reason: format!("not a CA certificate: {e}"),
        })?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCert(path.to_path_buf()));
    }
    Ok(roots)
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

/// `verify none`: the operator chose not to check the server. The
/// handshake's signatures are still checked, so the peer holds the key of
/// the certificate it shows.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A ticketer that issues no ticket (`no-tls-tickets`).
#[derive(Debug)]
struct NoTickets;

impl rustls::server::ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }
    fn lifetime(&self) -> u32 {
        0
    }
    fn encrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn decrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_strings_select_rustls_suites() {
        // Mozilla's "intermediate" list, as Debian's haproxy.cfg has it.
        let (s, w) = select_suites(
            Some("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"),
            Some("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"),
        )
        .unwrap();
        assert_eq!(s.len(), 9);
        assert_eq!(w.len(), 2, "{w:?}");
        // EDH (finite-field DHE) is not in rustls: a warning, not an error.
        let (s, w) = select_suites(Some("EECDH+AESGCM:EDH+AESGCM:!aNULL"), None).unwrap();
        assert_eq!(s.len(), 4 + 3);
        assert_eq!(w.len(), 1, "{w:?}");
        let (s, _) = select_suites(
            Some("ECDHE-ECDSA-AES256-GCM-SHA384"),
            Some("TLS_AES_256_GCM_SHA384"),
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert!(select_suites(Some("NOT-A-CIPHER-AT-ALL:xyz"), None).is_err());
        assert!(select_suites(None, Some("TLS_FOO")).is_err());
    }

    #[test]
    fn versions_clamp_to_what_rustls_speaks() {
        assert_eq!(versions(None, None).unwrap().len(), 2);
        assert_eq!(versions(Some(Version::Tls10), None).unwrap().len(), 2);
        assert_eq!(versions(Some(Version::Tls13), None).unwrap().len(), 1);
        assert_eq!(versions(None, Some(Version::Tls12)).unwrap().len(), 1);
        assert!(versions(None, Some(Version::Tls11)).is_err());
        assert!(Version::parse("TLSv9").is_err());
    }
}
