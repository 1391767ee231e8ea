//! The DH-style built-in groups over ring's ephemeral agreement: X25519, P-256, P-384
//! (RFC 8446 §4.2.8.2, RFC 8422), also the classic halves of the hybrids.

use std::fmt;

use ring::agreement;

use super::{ActiveKeyExchange, SupportedGroup};
use crate::codec::enums::NamedGroup;
use crate::crypto::hkdf::Secret;
use crate::crypto::rand::rng;
use crate::error::{Error, Reason};

/// A DH-style group over ring's ephemeral agreement.
#[derive(Clone, Copy)]
pub(crate) struct EcdhGroup {
    name: NamedGroup,
    alg: &'static agreement::Algorithm,
    /// The one valid encoding length of a share.
    pub(crate) share_len: usize,
    /// Whether a share must start with 0x04 (the uncompressed point form, the only one TLS
    /// 1.3 allows, RFC 8446 §4.2.8.2; RFC 8422 §5.1.2 for TLS 1.2).
    uncompressed: bool,
}

pub(crate) static X25519: EcdhGroup = EcdhGroup {
    name: NamedGroup::X25519,
    alg: &agreement::X25519,
    share_len: 32,
    uncompressed: false,
};
pub(crate) static SECP256R1: EcdhGroup = EcdhGroup {
    name: NamedGroup::secp256r1,
    alg: &agreement::ECDH_P256,
    share_len: 65,
    uncompressed: true,
};
pub(crate) static SECP384R1: EcdhGroup = EcdhGroup {
    name: NamedGroup::secp384r1,
    alg: &agreement::ECDH_P384,
    share_len: 97,
    uncompressed: true,
};

/// The longest built-in share (an uncompressed P-384 point).
const MAX_SHARE: usize = 97;

pub(crate) fn builtin_ecdh(group: NamedGroup) -> Option<&'static EcdhGroup> {
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
    pub(crate) fn generate(&self) -> Result<KeyExchange, Error> {
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
