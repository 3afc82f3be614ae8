//! The rustls server and client configurations of `bind ... ssl` and
//! `server ... ssl` lines.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;

use super::certs::{load_cert, read, Cert, SniResolver};
use super::suites::{versions, Version};
use super::TlsError;

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
    /// `prefer-client-ciphers`: follow the client's suite order rather
    /// than ours.
    pub prefer_client_ciphers: bool,
    /// Client certificates: None, or the CA file and whether one is required.
    pub client_ca: Option<(PathBuf, bool)>,
    /// The suites to offer (None: rustls's defaults).
    pub suites: Option<Vec<rustls::CipherSuite>>,
}

/// How a `bind ... ssl` line terminates TLS: one rustls configuration, or
/// when `crt-list` lines carry their own options, one per such certificate
/// chosen from the ClientHello before the handshake goes on.
#[derive(Debug)]
pub struct Terminator {
    base: Arc<rustls::ServerConfig>,
    per_cert: Option<PerCert>,
}

#[derive(Debug)]
struct PerCert {
    resolver: Arc<SniResolver>,
    /// Parallel to the resolver's certificates; None: the bind's config.
    configs: Vec<Option<Arc<rustls::ServerConfig>>>,
}

impl Terminator {
    /// The server side of a handshake on `sock`.
    pub async fn accept(
        &self,
        sock: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
        let Some(per) = &self.per_cert else {
            return tokio_rustls::TlsAcceptor::from(self.base.clone())
                .accept(sock)
                .await;
        };
        let start =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), sock)
                .await?;
        let picked = per.resolver.pick_index(start.client_hello().server_name());
        let config = picked
            .and_then(|i| per.configs.get(i).cloned().flatten())
            .unwrap_or_else(|| self.base.clone());
        start.into_stream(config).await
    }
}

/// The rustls configuration(s) of a `bind ... ssl` line.
pub fn server_config(mut b: BindTls) -> Result<Arc<Terminator>, TlsError> {
    let resolver = Arc::new(SniResolver::new(std::mem::take(&mut b.certs), b.strict_sni));
    let base = Arc::new(build(&b, resolver.clone())?);
    let per_cert = if resolver.certs().iter().any(|c| c.options.is_set()) {
        let configs = resolver
            .certs()
            .iter()
            .map(|c| {
                let o = &c.options;
                if !o.is_set() {
                    return Ok(None);
                }
                let own = BindTls {
                    certs: Vec::new(),
                    alpn: match &o.alpn {
                        Some(a) => a.iter().map(|p| p.as_bytes().to_vec()).collect(),
                        None => b.alpn.clone(),
                    },
                    min: o.min.or(b.min),
                    max: o.max.or(b.max),
                    strict_sni: b.strict_sni,
                    no_tickets: b.no_tickets,
                    prefer_client_ciphers: b.prefer_client_ciphers,
                    client_ca: b.client_ca.clone(),
                    suites: b.suites.clone(),
                };
                build(&own, resolver.clone()).map(|c| Some(Arc::new(c)))
            })
            .collect::<Result<_, _>>()?;
        Some(PerCert { resolver, configs })
    } else {
        None
    };
    Ok(Arc::new(Terminator { base, per_cert }))
}

/// One rustls server configuration from a bind's settings, its
/// certificates chosen by `resolver`.
fn build(b: &BindTls, resolver: Arc<SniResolver>) -> Result<rustls::ServerConfig, TlsError> {
    // aws-lc-rs rather than ring: its RSA signing is about 17% cheaper per
    // full handshake here, which is what brings RSA 2048 under HAProxy's
    // CPU (benches/results/tls-*.md). Keys are loaded with the same
    // provider (certs.rs), since the key does the signing.
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(suites) = &b.suites {
        // Offered in the order the configuration lists them, which is the
        // order of preference below.
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
        provider
            .cipher_suites
            .sort_by_key(|s| suites.iter().position(|c| *c == s.suite()));
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
    let mut cfg = builder.with_cert_resolver(resolver);
    cfg.alpn_protocols = b.alpn.clone();
    // HAProxy sets OpenSSL's server-preference option unless the bind says
    // `prefer-client-ciphers`; an operator's suite order is a preference.
    cfg.ignore_client_order = !b.prefer_client_ciphers;
    if b.no_tickets {
        cfg.send_tls13_tickets = 0;
        cfg.ticketer = Arc::new(NoTickets);
    } else if let Ok(t) = rustls::crypto::aws_lc_rs::Ticketer::new() {
        cfg.ticketer = t;
    }
    Ok(cfg)
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
    /// The certificate must name the server: it has `sni` or `verifyhost`.
    /// Otherwise, as in HAProxy, `verify required` checks the chain only.
    pub check_name: bool,
    /// SNI is sent (the server has `sni`); `verifyhost` alone sends none.
    pub send_sni: bool,
}

/// The rustls configuration for TLS to a server.
pub fn client_config(
    verify: &ServerVerify,
    opts: &ClientOptions,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(None, None)?)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match verify {
        ServerVerify::Ca(path) => {
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(path)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainVerifier {
                    webpki,
                    check_name: opts.check_name,
                }))
        }
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
    cfg.enable_sni = opts.send_sni;
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

/// `verify required`: the chain must lead to a CA of the `ca-file`; the
/// name is checked only when the server has one to check (`sni` or
/// `verifyhost`), as HAProxy does.
#[derive(Debug)]
struct ChainVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    check_name: bool,
}

impl rustls::client::danger::ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                NotValidForName | NotValidForNameContext { .. },
            )) if !self.check_name => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
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
