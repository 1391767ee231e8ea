//! The cipher suites we implement and what each one is made of. ring gives us no RSA
//! decryption and no CBC, so TLS 1.2 is ECDHE with AEAD only (the set rustls ships).

use super::aead::AeadAlgorithm;
use super::hash::HashAlgorithm;
use crate::codec::enums::{CipherSuite, ProtocolVersion};

/// The certificate (signature) type a TLS 1.2 suite requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// ECDSA or EdDSA certificates (ECDHE_ECDSA suites).
    Ecdsa,
    /// RSA certificates (ECDHE_RSA suites).
    Rsa,
}

/// One cipher suite's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteInfo {
    /// The wire value.
    pub suite: CipherSuite,
    /// The protocol version the suite belongs to.
    pub version: ProtocolVersion,
    /// The hash for the transcript, HKDF or PRF.
    pub hash: HashAlgorithm,
    /// The record protection algorithm.
    pub aead: AeadAlgorithm,
    /// The TLS 1.2 certificate type; `None` for TLS 1.3, whose suites do not fix it.
    pub auth: Option<AuthKind>,
}

impl SuiteInfo {
    /// Whether this is a TLS 1.3 suite.
    pub fn is_tls13(&self) -> bool {
        self.version == ProtocolVersion::TLSv1_3
    }

    /// The length of the implicit IV: the whole 12-byte nonce base for TLS 1.3 and
    /// ChaCha20 (RFC 7905), the 4-byte salt for TLS 1.2 GCM (RFC 5288).
    pub fn fixed_iv_len(&self) -> usize {
        if !self.is_tls13() && self.aead != AeadAlgorithm::ChaCha20Poly1305 {
            4
        } else {
            12
        }
    }

    /// The per-record explicit nonce on the wire: 8 bytes for TLS 1.2 GCM, else none.
    pub fn explicit_nonce_len(&self) -> usize {
        if !self.is_tls13() && self.aead != AeadAlgorithm::ChaCha20Poly1305 {
            8
        } else {
            0
        }
    }

    /// The TLS 1.2 key block length (RFC 5246 §6.3): two keys and two fixed IVs (AEAD
    /// suites have no MAC keys).
    pub fn key_block_len(&self) -> usize {
        2 * self.aead.key_len() + 2 * self.fixed_iv_len()
    }
}

const fn tls13(suite: CipherSuite, hash: HashAlgorithm, aead: AeadAlgorithm) -> SuiteInfo {
    SuiteInfo {
        suite,
        version: ProtocolVersion::TLSv1_3,
        hash,
        aead,
        auth: None,
    }
}

const fn tls12(
    suite: CipherSuite,
    auth: AuthKind,
    hash: HashAlgorithm,
    aead: AeadAlgorithm,
) -> SuiteInfo {
    SuiteInfo {
        suite,
        version: ProtocolVersion::TLSv1_2,
        hash,
        aead,
        auth: Some(auth),
    }
}

/// Every suite we implement, in our default preference order.
pub static ALL_SUITES: &[SuiteInfo] = &[
    tls13(
        CipherSuite::TLS_AES_128_GCM_SHA256,
        HashAlgorithm::Sha256,
        AeadAlgorithm::Aes128Gcm,
    ),
    tls13(
        CipherSuite::TLS_AES_256_GCM_SHA384,
        HashAlgorithm::Sha384,
        AeadAlgorithm::Aes256Gcm,
    ),
    tls13(
        CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
        HashAlgorithm::Sha256,
        AeadAlgorithm::ChaCha20Poly1305,
    ),
    tls12(
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        AuthKind::Ecdsa,
        HashAlgorithm::Sha256,
        AeadAlgorithm::Aes128Gcm,
    ),
    tls12(
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        AuthKind::Ecdsa,
        HashAlgorithm::Sha384,
        AeadAlgorithm::Aes256Gcm,
    ),
    tls12(
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        AuthKind::Ecdsa,
        HashAlgorithm::Sha256,
        AeadAlgorithm::ChaCha20Poly1305,
    ),
    tls12(
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        AuthKind::Rsa,
        HashAlgorithm::Sha256,
        AeadAlgorithm::Aes128Gcm,
    ),
    tls12(
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        AuthKind::Rsa,
        HashAlgorithm::Sha384,
        AeadAlgorithm::Aes256Gcm,
    ),
    tls12(
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        AuthKind::Rsa,
        HashAlgorithm::Sha256,
        AeadAlgorithm::ChaCha20Poly1305,
    ),
];

/// Our parameters for `suite`, or `None` if we do not implement it.
pub fn lookup(suite: CipherSuite) -> Option<&'static SuiteInfo> {
    ALL_SUITES.iter().find(|s| s.suite == suite)
}

/// OpenSSL's names for our suites (TLS 1.3 suites keep their IANA names there).
const OPENSSL_NAMES: &[(CipherSuite, &str)] = &[
    (
        CipherSuite::TLS_AES_128_GCM_SHA256,
        "TLS_AES_128_GCM_SHA256",
    ),
    (
        CipherSuite::TLS_AES_256_GCM_SHA384,
        "TLS_AES_256_GCM_SHA384",
    ),
    (
        CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
        "TLS_CHACHA20_POLY1305_SHA256",
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

/// Parse a suite name from configuration: the IANA name or the OpenSSL name, in any
/// case. Only the suites we implement are recognised.
pub fn parse_suite_name(name: &str) -> Option<CipherSuite> {
    let name = name.trim();
    OPENSSL_NAMES.iter().find_map(|&(suite, openssl)| {
        let iana = suite.name().unwrap_or_default();
        (name.eq_ignore_ascii_case(iana) || name.eq_ignore_ascii_case(openssl)).then_some(suite)
    })
}

/// The OpenSSL name of one of our suites (for logs and `openssl`-style configuration).
pub fn openssl_name(suite: CipherSuite) -> Option<&'static str> {
    OPENSSL_NAMES
        .iter()
        .find(|(s, _)| *s == suite)
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        assert_eq!(ALL_SUITES.len(), 9);
        for s in ALL_SUITES {
            assert_eq!(lookup(s.suite), Some(s));
            assert_eq!(s.auth.is_none(), s.is_tls13());
            let iana = s.suite.name().unwrap();
            assert_eq!(parse_suite_name(iana), Some(s.suite));
            assert_eq!(parse_suite_name(&iana.to_ascii_lowercase()), Some(s.suite));
            let o = openssl_name(s.suite).unwrap();
            assert_eq!(parse_suite_name(o), Some(s.suite));
            // The hash in the name matches the table.
            assert!(
                iana.ends_with(s.hash.name()) || iana.ends_with("POLY1305_SHA256"),
                "{iana}"
            );
        }
        assert_eq!(lookup(CipherSuite::TLS_AES_128_CCM_SHA256), None);
        assert_eq!(parse_suite_name("TLS_RSA_WITH_AES_128_GCM_SHA256"), None);
        assert_eq!(
            parse_suite_name("ecdhe-rsa-aes256-gcm-sha384"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        );
    }

    #[test]
    fn lengths() {
        let t13 = lookup(CipherSuite::TLS_AES_256_GCM_SHA384).unwrap();
        assert_eq!((t13.fixed_iv_len(), t13.explicit_nonce_len()), (12, 0));
        let gcm = lookup(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256).unwrap();
        assert_eq!(
            (
                gcm.fixed_iv_len(),
                gcm.explicit_nonce_len(),
                gcm.key_block_len()
            ),
            (4, 8, 40)
        );
        let cc = lookup(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256).unwrap();
        assert_eq!(
            (
                cc.fixed_iv_len(),
                cc.explicit_nonce_len(),
                cc.key_block_len()
            ),
            (12, 0, 88)
        );
    }
}
