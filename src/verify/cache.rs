//! Chains that verified recently, so a client that reconnects to the same server (or a
//! server that sees the same client certificate again) skips re-checking the chain's
//! signatures: one ECDSA verification of the two a full handshake needs. The peer's
//! CertificateVerify — the proof that it holds the key — is still checked every time.
//!
//! An entry is the SHA-256 of (usage, expected name, every certificate's DER), so any change
//! in the chain or the name misses. It expires at the earliest notAfter in the chain, and
//! after at most [`MAX_AGE_SECS`], whichever is first. The trust store of a built config
//! never changes; a builder that gains anchors starts a new cache.

use std::collections::VecDeque;
use std::sync::Mutex;

use pki_types::{CertificateDer, ServerName};

use super::cert_info;
use crate::crypto::hash::{HashAlgorithm, Transcript};

/// Entries kept at most; the oldest goes first.
pub const MAX_ENTRIES: usize = 256;
/// How long a verification result is trusted at most.
pub const MAX_AGE_SECS: u64 = 3600;

/// The cache itself; shared by every connection made from one configuration.
#[derive(Default)]
pub struct VerifiedChains {
    entries: Mutex<VecDeque<([u8; 32], u64)>>,
}

impl std::fmt::Debug for VerifiedChains {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifiedChains")
    }
}

/// The cache key of a chain checked for `usage` against `name`.
pub(crate) fn key(
    usage: u8,
    name: Option<&ServerName<'_>>,
    chain: &[CertificateDer<'_>],
) -> [u8; 32] {
    let mut t = Transcript::new(HashAlgorithm::Sha256);
    t.add(&[usage]);
    match name {
        Some(ServerName::DnsName(d)) => {
            t.add(&[1]);
            t.add(&(d.as_ref().len() as u64).to_be_bytes());
            t.add(d.as_ref().as_bytes());
        }
        Some(ServerName::IpAddress(ip)) => {
            t.add(&[2]);
            t.add(std::net::IpAddr::from(*ip).to_string().as_bytes());
        }
        _ => t.add(&[0]),
    }
    for c in chain {
        t.add(&(c.len() as u64).to_be_bytes());
        t.add(c.as_ref());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(t.current_hash().as_ref());
    out
}

/// When a result for `chain`, verified at `now`, stops being trustworthy: the earliest
/// notAfter, capped at `now + MAX_AGE_SECS`. `None` when a certificate cannot be read.
pub(crate) fn expiry(chain: &[CertificateDer<'_>], now: u64) -> Option<u64> {
    let mut end = now.saturating_add(MAX_AGE_SECS);
    for c in chain {
        end = end.min(u64::try_from(cert_info::not_after_unix(c.as_ref())?).ok()?);
    }
    Some(end)
}

impl VerifiedChains {
    /// Whether `key` verified before and is still within its lifetime at `now`.
    pub(crate) fn hit(&self, key: &[u8; 32], now: u64) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        entries.retain(|(_, exp)| *exp > now);
        entries.iter().any(|(k, _)| k == key)
    }

    /// Remember that `key` verified, until `expires`.
    pub(crate) fn insert(&self, key: [u8; 32], expires: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.iter().any(|(k, _)| *k == key) {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back((key, expires));
    }

    /// How many results are held (for tests).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_bound() {
        let c = VerifiedChains::default();
        c.insert([1; 32], 100);
        assert!(c.hit(&[1; 32], 99));
        assert!(!c.hit(&[1; 32], 100), "expired at its notAfter");
        assert!(c.is_empty());
        for i in 0..(MAX_ENTRIES + 10) {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            c.insert(k, 1000);
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        assert!(!c.hit(&[0; 32], 1), "the oldest entry was evicted");
    }

    #[test]
    fn key_depends_on_name_usage_and_chain() {
        let a = CertificateDer::from(vec![1u8, 2, 3]);
        let b = CertificateDer::from(vec![1u8, 2, 4]);
        let n1 = ServerName::try_from("a.test").unwrap();
        let n2 = ServerName::try_from("b.test").unwrap();
        let k = key(0, Some(&n1), std::slice::from_ref(&a));
        assert_ne!(k, key(0, Some(&n2), std::slice::from_ref(&a)));
        assert_ne!(k, key(1, Some(&n1), std::slice::from_ref(&a)));
        assert_ne!(k, key(0, Some(&n1), std::slice::from_ref(&b)));
        assert_eq!(k, key(0, Some(&n1), std::slice::from_ref(&a)));
    }
}
