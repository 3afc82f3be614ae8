//! Protocol versions and cipher suites, by the names OpenSSL and HAProxy
//! give them, mapped onto what rustls speaks.

use super::TlsError;

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

/// The versions rustls may use within [min, max]: TLS 1.2 and 1.3 only,
/// so older ones are never offered (HAProxy 2.6's default floor is 1.2).
pub(super) fn versions(
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
