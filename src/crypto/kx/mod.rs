//! The key-exchange seam: groups for key shares (RFC 8446 §4.2.8) and TLS 1.2 ECDHE (RFC 8422).
//!
//! A group is a [`SupportedGroup`]; the engine names no algorithm outside this module. Two
//! shapes fit the one trait:
//!
//! - **DH-style** (X25519, P-256, P-384): both sides make a key pair and send its public key;
//!   the secret is the agreement. The client (and a TLS 1.2 server) calls
//!   [`SupportedGroup::start`], sends [`ActiveKeyExchange::share`] and later calls
//!   [`ActiveKeyExchange::complete`] with the peer's share. A TLS 1.3 server calls
//!   [`SupportedGroup::accept`] with the client's share, which is start + complete.
//! - **KEM-style** (ML-KEM and the hybrids): the client's share is an encapsulation key;
//!   the TLS 1.3 server's [`SupportedGroup::accept`] encapsulates to it and answers with the
//!   ciphertext; the client's [`ActiveKeyExchange::complete`] decapsulates. A KEM is never
//!   usable in TLS 1.2 ([`SupportedGroup::usable_in_tls12`] is false).
//!
//! The built-in groups ([`builtin`]) are ring's X25519, P-256 and P-384. A configuration may
//! carry other implementations (`ConfigBuilder::add_custom_group`).

mod ecdh;
mod hybrid;
mod mlkem;

use std::fmt;
use std::sync::{Arc, LazyLock};

use super::hkdf::Secret;
use crate::codec::enums::NamedGroup;
use crate::error::Error;

pub use ecdh::KeyExchange;

/// A key-exchange group: what a configuration lists, in preference order. Implementations
/// must be thread-safe (one configuration serves many connections at once).
///
/// Errors: a malformed or invalid peer share is the peer's fault and should be
/// [`Error::IllegalParameter`] with a detail saying what was wrong (it becomes the
/// illegal_parameter alert); a local failure (the RNG, an unsupported build) is
/// [`Error::Internal`].
pub trait SupportedGroup: Send + Sync + fmt::Debug {
    /// The codepoint sent in supported_groups and key_share.
    fn name(&self) -> NamedGroup;

    /// Whether TLS 1.2 ECDHE may use the group (ServerKeyExchange / ClientKeyExchange carry
    /// a DH public key each way). A KEM never may: the engine neither offers nor accepts
    /// such a group in TLS 1.2.
    fn usable_in_tls12(&self) -> bool;

    /// Client (TLS 1.2 and 1.3) and TLS 1.2 server: a fresh key pair, whose share goes in
    /// key_share (or the ECDHE key exchange message). For a KEM, the share is the
    /// encapsulation key and the pair is the decapsulation key.
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error>;

    /// TLS 1.3 server: answer the client's share with our share and the shared secret.
    /// DH-style: our public key and the agreement (the default: [`Self::start`], then
    /// [`ActiveKeyExchange::complete`]). KEM-style: the ciphertext encapsulated to the
    /// client's encapsulation key, and the encapsulated secret.
    fn accept(&self, client_share: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
        let kx = self.start()?;
        let share = kx.share().to_vec();
        let secret = kx.complete(client_share)?;
        Ok((share, secret))
    }
}

/// One key exchange in progress: a private key (DH) or decapsulation key (KEM), used once.
/// [`Self::complete`] consumes it, so a key cannot be reused (a HelloRetryRequest makes a
/// new one).
pub trait ActiveKeyExchange: Send {
    /// The group of this key.
    fn group(&self) -> NamedGroup;

    /// Our share, as sent in a key_share entry or an ECDHE key exchange message.
    fn share(&self) -> &[u8];

    /// Check the peer's share (DH: its public key; KEM: the server's ciphertext) and
    /// compute the shared secret.
    fn complete(self: Box<Self>, peer_share: &[u8]) -> Result<Secret, Error>;
}

/// Every built-in group: the post-quantum ones, then the classic ones.
pub const SUPPORTED_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519MLKEM768,
    NamedGroup::SecP256r1MLKEM768,
    NamedGroup::SecP384r1MLKEM1024,
    NamedGroup::MLKEM1024,
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

/// A configuration's groups unless it sets its own, in preference order: the hybrid that
/// browsers and servers negotiate today, then the classic groups (a TLS 1.2 handshake, which
/// has no KEM, uses those). A client sends key shares for X25519MLKEM768 and X25519, so a
/// server without post-quantum groups answers without a HelloRetryRequest.
pub const DEFAULT_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519MLKEM768,
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

/// Whether `group` is one of the post-quantum (KEM-style) groups: TLS 1.3 only.
pub fn is_post_quantum(group: NamedGroup) -> bool {
    matches!(
        group,
        NamedGroup::X25519MLKEM768
            | NamedGroup::SecP256r1MLKEM768
            | NamedGroup::SecP384r1MLKEM1024
            | NamedGroup::MLKEM1024
    )
}

/// The sizes of a built-in group's shares, (client's, server's): exact, every other length
/// is refused.
pub fn share_sizes(group: NamedGroup) -> Option<(usize, usize)> {
    if let Some(g) = ecdh::builtin_ecdh(group) {
        return Some((g.share_len, g.share_len));
    }
    builtin_kem(group).map(|g| (g.client_share_len(), g.server_share_len()))
}

/// A built-in group by name: the IANA names (case-insensitive, as OpenSSL 3.5 accepts them)
/// and the usual aliases of the classic curves.
pub fn parse_group_name(name: &str) -> Option<NamedGroup> {
    Some(match name.to_ascii_lowercase().as_str() {
        "x25519mlkem768" => NamedGroup::X25519MLKEM768,
        "secp256r1mlkem768" => NamedGroup::SecP256r1MLKEM768,
        "secp384r1mlkem1024" => NamedGroup::SecP384r1MLKEM1024,
        "mlkem1024" | "ml-kem-1024" => NamedGroup::MLKEM1024,
        "x25519" => NamedGroup::X25519,
        "p-256" | "p256" | "secp256r1" | "prime256v1" => NamedGroup::secp256r1,
        "p-384" | "p384" | "secp384r1" => NamedGroup::secp384r1,
        _ => return None,
    })
}

fn builtin_kem(group: NamedGroup) -> Option<&'static hybrid::KemGroup> {
    match group {
        NamedGroup::X25519MLKEM768 => Some(&hybrid::X25519_MLKEM768),
        NamedGroup::SecP256r1MLKEM768 => Some(&hybrid::SECP256R1_MLKEM768),
        NamedGroup::SecP384r1MLKEM1024 => Some(&hybrid::SECP384R1_MLKEM1024),
        NamedGroup::MLKEM1024 => Some(&hybrid::MLKEM1024),
        _ => None,
    }
}

/// The built-in implementation of `group`, if there is one (see [`SUPPORTED_GROUPS`]).
pub fn builtin(group: NamedGroup) -> Option<&'static dyn SupportedGroup> {
    match ecdh::builtin_ecdh(group) {
        Some(g) => Some(g as &'static dyn SupportedGroup),
        None => builtin_kem(group).map(|g| g as &'static dyn SupportedGroup),
    }
}

/// The built-in groups as shared handles, in [`SUPPORTED_GROUPS`] order (made once, so a
/// configuration that lists them allocates nothing for them).
static BUILTIN_SHARED: LazyLock<Vec<Arc<dyn SupportedGroup>>> = LazyLock::new(|| {
    SUPPORTED_GROUPS
        .iter()
        .filter_map(|g| {
            ecdh::builtin_ecdh(*g)
                .map(|e| Arc::new(*e) as Arc<dyn SupportedGroup>)
                .or_else(|| builtin_kem(*g).map(|k| Arc::new(*k) as Arc<dyn SupportedGroup>))
        })
        .collect()
});

/// [`builtin`] as a shared handle, the form a configuration holds.
pub fn builtin_shared(group: NamedGroup) -> Option<Arc<dyn SupportedGroup>> {
    BUILTIN_SHARED.iter().find(|g| g.name() == group).cloned()
}

#[cfg(test)]
mod tests {
    use super::ecdh::builtin_ecdh;
    use super::*;
    use crate::error::Reason;

    /// The DH-style built-in groups.
    const CLASSIC: &[NamedGroup] = &[
        NamedGroup::X25519,
        NamedGroup::secp256r1,
        NamedGroup::secp384r1,
    ];

    fn share_len(g: NamedGroup) -> usize {
        builtin_ecdh(g).unwrap().share_len
    }

    #[test]
    fn agreement_in_every_group() {
        for &g in CLASSIC {
            let a = KeyExchange::start(g).unwrap();
            let b = KeyExchange::start(g).unwrap();
            assert_eq!(a.group(), g);
            assert_eq!(a.public_key().len(), share_len(g));
            let pa = a.public_key().to_vec();
            let sb = b.public_key().to_vec();
            let s1 = a.complete(&sb).unwrap();
            let s2 = b.complete(&pa).unwrap();
            assert_eq!(s1.as_bytes(), s2.as_bytes());
            assert!(!s1.is_empty());
        }
    }

    #[test]
    fn the_seam_agrees_in_every_builtin_group() {
        for &g in CLASSIC {
            let group = builtin(g).unwrap();
            assert_eq!(group.name(), g);
            assert!(group.usable_in_tls12());
            // Client: start; server: accept; client: complete.
            let client = group.start().unwrap();
            assert_eq!(client.group(), g);
            assert_eq!(client.share().len(), share_len(g));
            let (server_share, server_secret) = group.accept(client.share()).unwrap();
            assert_eq!(server_share.len(), share_len(g));
            let client_secret = client.complete(&server_share).unwrap();
            assert_eq!(client_secret.as_bytes(), server_secret.as_bytes());
        }
        assert!(builtin(NamedGroup::X448).is_none());
        assert!(builtin(NamedGroup::Unknown(0xFE00)).is_none());
    }

    #[test]
    fn accept_checks_the_client_share() {
        let x = builtin(NamedGroup::X25519).unwrap();
        assert_eq!(
            x.accept(&[9u8; 31]).unwrap_err(),
            Error::peer(
                Reason::InvalidKeyShare,
                "the peer's X25519 key share is 31 bytes; expected 32"
            )
        );
        let p = builtin(NamedGroup::secp256r1).unwrap();
        let mut share = vec![0x02];
        share.extend_from_slice(&[1u8; 64]);
        assert!(
            matches!(p.accept(&share), Err(Error::IllegalParameter(d)) if d.reason == Reason::InvalidKeyShare && d.text.contains("uncompressed"))
        );
    }

    #[test]
    fn bad_shares_rejected() {
        let a = KeyExchange::start(NamedGroup::X25519).unwrap();
        assert_eq!(
            a.complete(&[9u8; 31]).unwrap_err(),
            Error::peer(
                Reason::InvalidKeyShare,
                "the peer's X25519 key share is 31 bytes; expected 32"
            )
        );
        // The all-zero point has small order: the agreement must fail, not yield zeros.
        let a = KeyExchange::start(NamedGroup::X25519).unwrap();
        assert!(matches!(
            a.complete(&[0u8; 32]),
            Err(Error::IllegalParameter(_))
        ));

        let p = KeyExchange::start(NamedGroup::secp256r1).unwrap();
        let mut share = p.public_key().to_vec();
        share[0] = 0x02;
        assert!(
            matches!(p.complete(&share), Err(Error::IllegalParameter(d)) if d.reason == Reason::InvalidKeyShare && d.text.contains("uncompressed"))
        );
        let p = KeyExchange::start(NamedGroup::secp256r1).unwrap();
        let mut off_curve = vec![0x04];
        off_curve.extend_from_slice(&[1u8; 64]);
        assert!(matches!(
            p.complete(&off_curve),
            Err(Error::IllegalParameter(_))
        ));
        let p = KeyExchange::start(NamedGroup::secp384r1).unwrap();
        assert!(
            matches!(p.complete(&[4u8; 65]), Err(Error::IllegalParameter(d)) if d.reason == Reason::InvalidKeyShare && d.text.contains("65 bytes; expected 97"))
        );
        assert!(
            matches!(KeyExchange::start(NamedGroup::X448), Err(Error::Internal(d)) if d.contains("X448"))
        );
    }

    #[test]
    fn every_supported_group_is_built_in_with_exact_sizes() {
        for &g in SUPPORTED_GROUPS {
            let group = builtin(g).unwrap();
            assert_eq!(group.usable_in_tls12(), !is_post_quantum(g), "{g}");
            assert!(builtin_shared(g).is_some());
            let (client, server) = share_sizes(g).unwrap();
            let kx = group.start().unwrap();
            assert_eq!(kx.share().len(), client, "{g}");
            let (answer, secret) = group.accept(kx.share()).unwrap();
            assert_eq!(answer.len(), server, "{g}");
            assert_eq!(kx.complete(&answer).unwrap().as_bytes(), secret.as_bytes());
            assert_eq!(parse_group_name(&g.to_string()), Some(g), "{g}");
        }
        for g in DEFAULT_GROUPS {
            assert!(SUPPORTED_GROUPS.contains(g));
        }
        assert_eq!(parse_group_name("prime256v1"), Some(NamedGroup::secp256r1));
        assert_eq!(parse_group_name("x448"), None);
    }
}
