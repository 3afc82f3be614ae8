//! TLS with rustls: certificates read the way HAProxy reads them (one PEM
//! holding the chain and the key, or the key in `FILE.key` beside it; a
//! directory of such files), chosen by SNI (an exact name first, then a
//! wildcard; the first certificate is the default), and the server and
//! client configurations built from them. Nothing here knows the config
//! model: callers pass paths and settings.

use std::path::PathBuf;

mod certs;
mod config;
mod suites;

pub use certs::{load_cert, load_crt, load_crt_list, subject_dn, Cert, CertOptions, SniResolver};
pub use config::{client_config, server_config, BindTls, ClientOptions, ServerVerify, Terminator};
pub use suites::{select_suites, suite_name, version_name, Version};

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
