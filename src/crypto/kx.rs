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

use std::fmt;
use std::sync::{Arc, LazyLock};

use ring::agreement;

use super::hkdf::Secret;
use super::rand::rng;
use crate::codec::enums::NamedGroup;
use crate::error::{Error, Reason};

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

/// The built-in groups' names, in our default preference order.
pub const SUPPORTED_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

/// A DH-style group over ring's ephemeral agreement.
#[derive(Clone, Copy)]
struct EcdhGroup {
    name: NamedGroup,
    alg: &'static agreement::Algorithm,
    /// The one valid encoding length of a share.
    share_len: usize,
    /// Whether a share must start with 0x04 (the uncompressed point form, the only one TLS
    /// 1.3 allows, RFC 8446 §4.2.8.2; RFC 8422 §5.1.2 for TLS 1.2).
    uncompressed: bool,
}

static X25519: EcdhGroup = EcdhGroup {
    name: NamedGroup::X25519,
    alg: &agreement::X25519,
    share_len: 32,
    uncompressed: false,
};
static SECP256R1: EcdhGroup = EcdhGroup {
    name: NamedGroup::secp256r1,
    alg: &agreement::ECDH_P256,
    share_len: 65,
    uncompressed: true,
};
static SECP384R1: EcdhGroup = EcdhGroup {
    name: NamedGroup::secp384r1,
    alg: &agreement::ECDH_P384,
    share_len: 97,
    uncompressed: true,
};

/// The longest built-in share (an uncompressed P-384 point).
const MAX_SHARE: usize = 97;

/// The built-in implementation of `group`, if there is one (X25519, P-256, P-384).
pub fn builtin(group: NamedGroup) -> Option<&'static dyn SupportedGroup> {
    builtin_ecdh(group).map(|g| g as &'static dyn SupportedGroup)
}

/// The built-in groups as shared handles, in [`SUPPORTED_GROUPS`] order (made once, so a
/// configuration that lists them allocates nothing for them).
static BUILTIN_SHARED: LazyLock<[Arc<dyn SupportedGroup>; 3]> = LazyLock::new(|| {
    [
        Arc::new(X25519) as Arc<dyn SupportedGroup>,
        Arc::new(SECP256R1),
        Arc::new(SECP384R1),
    ]
});

/// [`builtin`] as a shared handle, the form a configuration holds.
pub fn builtin_shared(group: NamedGroup) -> Option<Arc<dyn SupportedGroup>> {
    BUILTIN_SHARED.iter().find(|g| g.name() == group).cloned()
}

fn builtin_ecdh(group: NamedGroup) -> Option<&'static EcdhGroup> {
    match group {
        NamedGroup::X25519 => Some(&X25519),
        NamedGroup::secp256r1 => Some(&SECP256R1),
        NamedGroup::secp384r1 => Some(&SECP384R1),
        _ => None,
    }
}

impl fmt::Debug for EcdhGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (built-in)", self.name)
    }
}

impl EcdhGroup {
    /// A fresh private key and its public share.
    fn generate(&self) -> Result<KeyExchange, Error> {
        let group = self.name;
        let private = agreement::EphemeralPrivateKey::generate(self.alg, rng())
            .map_err(|_| Error::Internal(format!("generating a {group} key failed")))?;
        let public = private
            .compute_public_key()
            .map_err(|_| Error::Internal(format!("computing a {group} public key failed")))?;
        let public = public.as_ref();
        let mut buf = [0u8; MAX_SHARE];
        let Some(slot) = buf.get_mut(..public.len()) else {
            return Err(Error::Internal(format!(
                "a {group} public key of {} bytes",
                public.len()
            )));
        };
        slot.copy_from_slice(public);
        Ok(KeyExchange {
            group: *self,
            private,
            public: buf,
            public_len: public.len(),
        })
    }

    /// Check the peer's share: the exact length and the point form. A malformed share is the
    /// peer's fault: `IllegalParameter`.
    fn check_share(&self, peer_public: &[u8]) -> Result<(), Error> {
        let group = self.name;
        let len = self.share_len;
        if peer_public.len() != len {
            return Err(Error::peer(
                Reason::InvalidKeyShare,
                format!(
                    "the peer's {group} key share is {} bytes; expected {len}",
                    peer_public.len()
                ),
            ));
        }
        if self.uncompressed && peer_public[0] != 0x04 {
            return Err(Error::peer(
                Reason::InvalidKeyShare,
                format!(
                    "the peer's {group} key share starts with {:#04x}; only the uncompressed form (0x04) is allowed",
                    peer_public[0]
                ),
            ));
        }
        Ok(())
    }

    /// The agreement with a checked share. A failed agreement (an invalid point, or an
    /// all-zero X25519 result from a small-order point) is the peer's fault.
    fn agree(
        &self,
        private: agreement::EphemeralPrivateKey,
        peer_public: &[u8],
    ) -> Result<Secret, Error> {
        let group = self.name;
        let peer = agreement::UnparsedPublicKey::new(self.alg, peer_public);
        agreement::agree_ephemeral(private, &peer, Secret::from_slice).map_err(|_| {
            Error::peer(Reason::InvalidKeyShare, format!(
                "the peer's {group} key share is invalid: it is not a point on the curve, or it is a \
                 low-order point that gives an all-zero shared secret"
            ))
        })
    }
}

impl SupportedGroup for EcdhGroup {
    fn name(&self) -> NamedGroup {
        self.name
    }

    fn usable_in_tls12(&self) -> bool {
        true
    }

    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(self.generate()?))
    }

    /// Start and complete at once, without boxing the key.
    fn accept(&self, client_share: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
        let kx = self.generate()?;
        let share = kx.public_key().to_vec();
        Ok((share, kx.complete(client_share)?))
    }
}

/// One ephemeral private key of a built-in group and its public share (kept inline: making
/// a key allocates nothing). The private key is consumed by [`Self::complete`].
pub struct KeyExchange {
    group: EcdhGroup,
    private: agreement::EphemeralPrivateKey,
    public: [u8; MAX_SHARE],
    public_len: usize,
}

impl KeyExchange {
    /// Generate a fresh key pair in a built-in `group`.
    pub fn start(group: NamedGroup) -> Result<Self, Error> {
        builtin_ecdh(group)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "key exchange group {group} is not supported by this build"
                ))
            })?
            .generate()
    }

    /// The group of this key.
    pub fn group(&self) -> NamedGroup {
        self.group.name
    }

    /// Our public share, as sent in a key_share entry or ECDHE key exchange message.
    pub fn public_key(&self) -> &[u8] {
        &self.public[..self.public_len]
    }

    /// Check the peer's share and compute the shared secret. A malformed share or a
    /// failed agreement (an invalid point, or an all-zero X25519 result from a small-order
    /// point) is the peer's fault: `IllegalParameter`.
    pub fn complete(self, peer_public: &[u8]) -> Result<Secret, Error> {
        self.group.check_share(peer_public)?;
        self.group.agree(self.private, peer_public)
    }
}

impl ActiveKeyExchange for KeyExchange {
    fn group(&self) -> NamedGroup {
        KeyExchange::group(self)
    }

    fn share(&self) -> &[u8] {
        self.public_key()
    }

    fn complete(self: Box<Self>, peer_share: &[u8]) -> Result<Secret, Error> {
        KeyExchange::complete(*self, peer_share)
    }
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;

    fn share_len(g: NamedGroup) -> usize {
        builtin_ecdh(g).unwrap().share_len
    }

    #[test]
    fn agreement_in_every_group() {
        for &g in SUPPORTED_GROUPS {
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
        for &g in SUPPORTED_GROUPS {
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
}
