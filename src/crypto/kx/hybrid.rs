//! The post-quantum groups, KEM-style (TLS 1.3 only): the hybrids of draft-ietf-tls-ecdhe-mlkem
//! — an ECDH share and an ML-KEM share concatenated, the two secrets concatenated in the same
//! order — and pure ML-KEM-1024 (draft-ietf-tls-mlkem).
//!
//! The order differs between the hybrids, and both sides must get it right: X25519MLKEM768
//! puts ML-KEM first (share, ciphertext and secret), SecP256r1MLKEM768 and SecP384r1MLKEM1024
//! put ECDH first. Every length is exact, so a share of any other size is refused before any
//! arithmetic.

use std::fmt;

use zeroize::Zeroizing;

use super::ecdh::{EcdhGroup, KeyExchange, SECP256R1, SECP384R1, X25519};
use super::mlkem::{DecapsulationKey, MlKem};
use super::{ActiveKeyExchange, SupportedGroup};
use crate::codec::enums::NamedGroup;
use crate::crypto::hkdf::Secret;
use crate::error::{Error, Reason};

/// A KEM-style group: ML-KEM alone, or with an ECDH group beside it.
#[derive(Clone, Copy)]
pub(crate) struct KemGroup {
    name: NamedGroup,
    kem: MlKem,
    ecdh: Option<&'static EcdhGroup>,
    /// ML-KEM's part comes first in shares and secret (X25519MLKEM768, pure ML-KEM).
    kem_first: bool,
}

pub(crate) static X25519_MLKEM768: KemGroup = KemGroup {
    name: NamedGroup::X25519MLKEM768,
    kem: MlKem::MlKem768,
    ecdh: Some(&X25519),
    kem_first: true,
};
pub(crate) static SECP256R1_MLKEM768: KemGroup = KemGroup {
    name: NamedGroup::SecP256r1MLKEM768,
    kem: MlKem::MlKem768,
    ecdh: Some(&SECP256R1),
    kem_first: false,
};
pub(crate) static SECP384R1_MLKEM1024: KemGroup = KemGroup {
    name: NamedGroup::SecP384r1MLKEM1024,
    kem: MlKem::MlKem1024,
    ecdh: Some(&SECP384R1),
    kem_first: false,
};
pub(crate) static MLKEM1024: KemGroup = KemGroup {
    name: NamedGroup::MLKEM1024,
    kem: MlKem::MlKem1024,
    ecdh: None,
    kem_first: true,
};

impl fmt::Debug for KemGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (built-in)", self.name)
    }
}

impl KemGroup {
    fn ecdh_len(&self) -> usize {
        self.ecdh.map_or(0, |g| g.share_len)
    }

    /// Bytes of the client's share: the encapsulation key and the ECDH public key.
    pub(crate) fn client_share_len(&self) -> usize {
        self.kem.encapsulation_key_len() + self.ecdh_len()
    }

    /// Bytes of the server's share: the ciphertext and the ECDH public key.
    pub(crate) fn server_share_len(&self) -> usize {
        self.kem.ciphertext_len() + self.ecdh_len()
    }

    /// Split a share of exactly `kem_len + ecdh_len` bytes into (ML-KEM part, ECDH part).
    fn split<'a>(
        &self,
        share: &'a [u8],
        kem_len: usize,
        whose: &str,
    ) -> Result<(&'a [u8], &'a [u8]), Error> {
        let want = kem_len + self.ecdh_len();
        if share.len() != want {
            return Err(Error::peer(
                Reason::InvalidKeyShare,
                format!(
                    "the {whose}'s {} key share is {} bytes; it is exactly {want} ({})",
                    self.name,
                    share.len(),
                    self.layout(kem_len)
                ),
            ));
        }
        Ok(if self.kem_first {
            let (k, e) = share.split_at(kem_len);
            (k, e)
        } else {
            let (e, k) = share.split_at(self.ecdh_len());
            (k, e)
        })
    }

    /// "1184-byte ML-KEM-768 part, then 32-byte X25519 part", for length errors.
    fn layout(&self, kem_len: usize) -> String {
        let kem = format!("{kem_len}-byte {} part", self.kem.name());
        match self.ecdh {
            None => kem,
            Some(g) => {
                let ecdh = format!("{}-byte {} part", g.share_len, g.name());
                if self.kem_first {
                    format!("{kem}, then {ecdh}")
                } else {
                    format!("{ecdh}, then {kem}")
                }
            }
        }
    }

    /// The parts in this group's order.
    fn join(&self, kem: &[u8], ecdh: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(kem.len() + ecdh.len());
        if self.kem_first {
            out.extend_from_slice(kem);
            out.extend_from_slice(ecdh);
        } else {
            out.extend_from_slice(ecdh);
            out.extend_from_slice(kem);
        }
        out
    }

    /// The combined secret: the two secrets concatenated in this group's order.
    fn secret(&self, kem: &Secret, ecdh: &Secret) -> Secret {
        let joined = Zeroizing::new(self.join(kem.as_bytes(), ecdh.as_bytes()));
        Secret::from_slice(&joined)
    }
}

impl SupportedGroup for KemGroup {
    fn name(&self) -> NamedGroup {
        self.name
    }

    fn usable_in_tls12(&self) -> bool {
        false
    }

    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let kem = self.kem.generate()?;
        let ecdh = self.ecdh.map(EcdhGroup::generate).transpose()?;
        let share = self.join(
            kem.encapsulation_key(),
            ecdh.as_ref().map_or(&[][..], |k| k.public_key()),
        );
        Ok(Box::new(KemKeyExchange {
            group: *self,
            kem,
            ecdh,
            share,
        }))
    }

    /// Server: check and split the client's share, encapsulate to its encapsulation key,
    /// agree with its ECDH key; answer with the ciphertext and our ECDH key.
    fn accept(&self, client_share: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
        let (ek, client_ecdh) =
            self.split(client_share, self.kem.encapsulation_key_len(), "client")?;
        let (ciphertext, kem_secret) = self.kem.encapsulate(ek)?;
        let Some(ecdh) = self.ecdh else {
            return Ok((ciphertext, kem_secret));
        };
        let ours = ecdh.generate()?;
        let our_share = self.join(&ciphertext, ours.public_key());
        let ecdh_secret = ours.complete(client_ecdh)?;
        Ok((our_share, self.secret(&kem_secret, &ecdh_secret)))
    }
}

/// A client's key pair in a KEM-style group, used once.
struct KemKeyExchange {
    group: KemGroup,
    kem: DecapsulationKey,
    ecdh: Option<KeyExchange>,
    share: Vec<u8>,
}

impl ActiveKeyExchange for KemKeyExchange {
    fn group(&self) -> NamedGroup {
        self.group.name
    }

    fn share(&self) -> &[u8] {
        &self.share
    }

    /// Client: split the server's share, decapsulate its ciphertext, agree with its ECDH
    /// key.
    fn complete(self: Box<Self>, server_share: &[u8]) -> Result<Secret, Error> {
        let g = &self.group;
        let (ciphertext, server_ecdh) = g.split(server_share, g.kem.ciphertext_len(), "server")?;
        let kem_secret = self.kem.decapsulate(ciphertext)?;
        match self.ecdh {
            None => Ok(kem_secret),
            Some(ecdh) => {
                let ecdh_secret = ecdh.complete(server_ecdh)?;
                Ok(g.secret(&kem_secret, &ecdh_secret))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&KemGroup; 4] = [
        &X25519_MLKEM768,
        &SECP256R1_MLKEM768,
        &SECP384R1_MLKEM1024,
        &MLKEM1024,
    ];

    #[test]
    fn the_sizes_of_the_drafts() {
        // draft-ietf-tls-ecdhe-mlkem §4.1 and draft-ietf-tls-mlkem §3.
        let sizes: Vec<(usize, usize)> = ALL
            .iter()
            .map(|g| (g.client_share_len(), g.server_share_len()))
            .collect();
        assert_eq!(
            sizes,
            vec![(1216, 1120), (1249, 1153), (1665, 1665), (1568, 1568)]
        );
    }

    #[test]
    fn both_sides_agree_in_every_group() {
        for g in ALL {
            let client = g.start().unwrap();
            assert_eq!(client.group(), g.name);
            assert_eq!(client.share().len(), g.client_share_len());
            let (server_share, server_secret) = g.accept(client.share()).unwrap();
            assert_eq!(server_share.len(), g.server_share_len());
            let client_secret = client.complete(&server_share).unwrap();
            assert_eq!(client_secret.as_bytes(), server_secret.as_bytes());
            let want = 32
                + g.ecdh
                    .map_or(0, |e| if e.share_len == 97 { 48 } else { 32 });
            assert_eq!(client_secret.as_bytes().len(), want);
        }
    }

    /// The order of the parts: X25519MLKEM768 starts with the ML-KEM encapsulation key, the
    /// NIST-curve hybrids with an uncompressed point (0x04).
    #[test]
    fn the_parts_are_in_each_drafts_order() {
        let x = X25519_MLKEM768.start().unwrap();
        let p = SECP256R1_MLKEM768.start().unwrap();
        let q = SECP384R1_MLKEM1024.start().unwrap();
        assert_eq!(p.share()[0], 0x04);
        assert_eq!(q.share()[0], 0x04);
        // The X25519 half is the last 32 bytes: a server that reads it there agrees.
        let (share, _) = X25519_MLKEM768.accept(x.share()).unwrap();
        assert!(x.complete(&share).is_ok());
        // The secret of a NIST hybrid is ECDH first: its length says which is which.
        let (share, server) = SECP384R1_MLKEM1024.accept(q.share()).unwrap();
        assert_eq!(share[0], 0x04);
        assert_eq!(q.complete(&share).unwrap().as_bytes(), server.as_bytes());
    }

    #[test]
    fn every_wrong_length_is_refused() {
        for g in ALL {
            let client = g.start().unwrap();
            let share = client.share().to_vec();
            for bad in [
                &share[..share.len() - 1],
                &[share.clone(), vec![0]].concat()[..],
            ] {
                let err = g.accept(bad).unwrap_err();
                assert_eq!(err.reason(), Some(Reason::InvalidKeyShare), "{err}");
                assert!(err.to_string().contains("it is exactly"), "{err}");
            }
            let (server_share, _) = g.accept(&share).unwrap();
            let err = client
                .complete(&server_share[..server_share.len() - 1])
                .unwrap_err();
            assert!(err.to_string().contains("server's"), "{err}");
        }
    }

    #[test]
    fn a_bad_ecdh_half_is_refused() {
        let client = SECP256R1_MLKEM768.start().unwrap();
        let mut share = client.share().to_vec();
        share[0] = 0x02; // a compressed point
        let err = SECP256R1_MLKEM768.accept(&share).unwrap_err();
        assert!(err.to_string().contains("uncompressed"), "{err}");
        let client = X25519_MLKEM768.start().unwrap();
        let mut share = client.share().to_vec();
        let n = share.len();
        share[n - 32..].fill(0); // the small-order X25519 point
        assert!(X25519_MLKEM768.accept(&share).is_err());
    }
}
