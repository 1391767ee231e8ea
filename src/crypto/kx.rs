//! Ephemeral (EC)DHE key exchange for key shares (RFC 8446 §4.2.8) and TLS 1.2 ECDHE
//! (RFC 8422).

use std::fmt;

use ring::agreement;

use super::hkdf::Secret;
use super::rand::rng;
use crate::codec::enums::NamedGroup;
use crate::error::Error;

/// The groups we can use, in our preference order.
pub const SUPPORTED_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

fn ring_alg(group: NamedGroup) -> Option<&'static agreement::Algorithm> {
    match group {
        NamedGroup::X25519 => Some(&agreement::X25519),
        NamedGroup::secp256r1 => Some(&agreement::ECDH_P256),
        NamedGroup::secp384r1 => Some(&agreement::ECDH_P384),
        _ => None,
    }
}

/// The one valid encoding length of a share in `group`, and whether it must start with 0x04
/// (the uncompressed point form, the only one TLS 1.3 allows, RFC 8446 §4.2.8.2).
fn share_shape(group: NamedGroup) -> (usize, bool) {
    match group {
        NamedGroup::secp256r1 => (65, true),
        NamedGroup::secp384r1 => (97, true),
        _ => (32, false),
    }
}

/// One ephemeral private key and its public share. The private key is consumed by
/// [`Self::complete`], so a key cannot be reused (make a new one after a HelloRetryRequest).
pub struct KeyExchange {
    group: NamedGroup,
    private: agreement::EphemeralPrivateKey,
    public: Vec<u8>,
}

impl KeyExchange {
    /// Generate a fresh key pair in `group`.
    pub fn start(group: NamedGroup) -> Result<Self, Error> {
        let alg = ring_alg(group).ok_or_else(|| {
            Error::Internal(format!(
                "key exchange group {group} is not supported by this build"
            ))
        })?;
        let private = agreement::EphemeralPrivateKey::generate(alg, rng())
            .map_err(|_| Error::Internal(format!("generating a {group} key failed")))?;
        let public = private
            .compute_public_key()
            .map_err(|_| Error::Internal(format!("computing a {group} public key failed")))?
            .as_ref()
            .to_vec();
        Ok(Self {
            group,
            private,
            public,
        })
    }

    /// The group of this key.
    pub fn group(&self) -> NamedGroup {
        self.group
    }

    /// Our public share, as sent in a key_share entry or ECDHE key exchange message.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// Check the peer's share and compute the shared secret. A malformed share or a
    /// failed agreement (an invalid point, or an all-zero X25519 result from a small-order
    /// point) is the peer's fault: `IllegalParameter`.
    pub fn complete(self, peer_public: &[u8]) -> Result<Secret, Error> {
        let group = self.group;
        let (len, uncompressed) = share_shape(group);
        if peer_public.len() != len {
            return Err(Error::IllegalParameter(format!(
                "the peer's {group} key share is {} bytes; expected {len}",
                peer_public.len()
            )));
        }
        if uncompressed && peer_public[0] != 0x04 {
            return Err(Error::IllegalParameter(format!(
                "the peer's {group} key share starts with {:#04x}; only the uncompressed form (0x04) is allowed",
                peer_public[0]
            )));
        }
        let Some(alg) = ring_alg(group) else {
            return Err(Error::Internal(format!(
                "key exchange group {group} is not supported by this build"
            )));
        };
        let peer = agreement::UnparsedPublicKey::new(alg, peer_public);
        agreement::agree_ephemeral(self.private, &peer, Secret::from_slice).map_err(|_| {
            Error::IllegalParameter(format!(
                "the peer's {group} key share is invalid: it is not a point on the curve, or it is a \
                 low-order point that gives an all-zero shared secret"
            ))
        })
    }
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_in_every_group() {
        for &g in SUPPORTED_GROUPS {
            let a = KeyExchange::start(g).unwrap();
            let b = KeyExchange::start(g).unwrap();
            assert_eq!(a.group(), g);
            assert_eq!(a.public_key().len(), share_shape(g).0);
            let pa = a.public_key().to_vec();
            let sb = b.public_key().to_vec();
            let s1 = a.complete(&sb).unwrap();
            let s2 = b.complete(&pa).unwrap();
            assert_eq!(s1.as_bytes(), s2.as_bytes());
            assert!(!s1.is_empty());
        }
    }

    #[test]
    fn bad_shares_rejected() {
        let a = KeyExchange::start(NamedGroup::X25519).unwrap();
        assert_eq!(
            a.complete(&[9u8; 31]).unwrap_err(),
            Error::IllegalParameter("the peer's X25519 key share is 31 bytes; expected 32".into())
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
            matches!(p.complete(&share), Err(Error::IllegalParameter(d)) if d.contains("uncompressed"))
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
            matches!(p.complete(&[4u8; 65]), Err(Error::IllegalParameter(d)) if d.contains("65 bytes; expected 97"))
        );
        assert!(
            matches!(KeyExchange::start(NamedGroup::X448), Err(Error::Internal(d)) if d.contains("X448"))
        );
    }
}
