//! A certificate chain with its private key, checked to belong together when loaded: what a
//! server presents and a client authenticates with. Below `config` and `select`, which both
//! hold them.

use std::sync::Arc;

use pki_types::CertificateDer;

use crate::crypto::sign::SigningKey;
use crate::error::Error;
use crate::verify::cert_info::{self, CertInfo};
use crate::verify::pem;

/// A certificate chain with its private key: what a server presents (chosen per handshake by
/// a [`crate::select::CertResolver`]) or a client uses for client authentication.
pub struct CertifiedKey {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: SigningKey,
    pub(crate) info: CertInfo,
}

impl std::fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertifiedKey")
            .field("subject", &self.info.subject)
            .field("key", &self.key.kind())
            .field("chain_len", &self.chain.len())
            .finish()
    }
}

impl CertifiedKey {
    /// A chain (leaf first) and its private key, from PEM text. The key is checked to belong
    /// to the leaf.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<Self>, Error> {
        let chain = pem::certs_from_pem(chain_pem, "the certificate PEM")?;
        let key = pem::private_key_from_pem(key_pem, "the private key PEM")?;
        Self::new(chain, &key).map(Arc::new)
    }

    /// A chain (leaf first) and its private key; the key is checked to belong to the leaf.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: &pki_types::PrivateKeyDer<'_>,
    ) -> Result<Self, Error> {
        let Some(leaf) = chain.first() else {
            return Err(Error::Pem("the certificate chain is empty".into()));
        };
        let info = cert_info::describe(leaf.as_ref())
            .ok_or_else(|| Error::Pem("the leaf certificate cannot be parsed as X.509".into()))?;
        let key = SigningKey::from_der(key)?;
        check_key_matches(&key, leaf, &info)?;
        Ok(Self { chain, key, info })
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The private key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The leaf's display fields (subject, names, dates).
    pub fn info(&self) -> &CertInfo {
        &self.info
    }

    /// Whether the leaf covers `name` (exact or single-label wildcard DNS name match).
    pub fn covers(&self, name: &str) -> bool {
        self.matches(name)
    }

    /// Whether this certificate covers `name` (exact or single-label wildcard match).
    /// DNS names compare without regard to ASCII case, without lowercased copies.
    fn matches(&self, name: &str) -> bool {
        self.info
            .dns_names
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(suffix) => name.split_once('.').is_some_and(|(label, rest)| {
                    !label.is_empty() && rest.eq_ignore_ascii_case(suffix)
                }),
                None => pattern.eq_ignore_ascii_case(name),
            })
    }
}

/// Prove the private key belongs to the certificate: sign a probe and verify it with the
/// certificate's public key. Catches a swapped key at load time instead of at the peer.
fn check_key_matches(
    key: &SigningKey,
    leaf: &CertificateDer<'_>,
    info: &CertInfo,
) -> Result<(), Error> {
    let probe = b"ferrotls key/certificate match probe";
    let scheme =
        key.schemes(false).first().copied().ok_or_else(|| {
            Error::Key(format!("the {} key offers no signature scheme", key.kind()))
        })?;
    let sig = key.sign(scheme, probe)?;
    crate::verify::verify_tls12_signature(leaf, scheme, probe, &sig, "local").map_err(|_| {
        Error::Key(format!(
            "the private key ({}) does not match the certificate {}: check that the certificate and the key belong together",
            key.kind(),
            info.short_name()
        ))
    })?;
    Ok(())
}
