//! ML-KEM (FIPS 203) from `libcrux-ml-kem`, the one place the engine touches it: key
//! generation with our randomness, the encapsulation-key check of FIPS 203 §7.2 before
//! encapsulating, and decapsulation (whose implicit rejection gives a wrong ciphertext a
//! pseudo-random secret, never an error).
//!
//! Why libcrux: its ML-KEM is formally verified (hax/F*: functional correctness against the
//! FIPS 203 specification, panic freedom, and secret-independent control flow and memory
//! access, checked rather than hoped for), it is the code NSS (Firefox) and OpenSSH ship, its
//! AVX2 implementation is chosen at run time, and it takes its randomness as arguments, so
//! ours comes from the same RNG as every other key (ring's). RustCrypto's `ml-kem` is clean
//! and portable but unverified, slower, and had no audit when this was chosen.

use libcrux_ml_kem::{mlkem768, mlkem1024};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::hkdf::Secret;
use crate::crypto::rand;
use crate::error::{Error, Reason};

/// An ML-KEM parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MlKem {
    MlKem768,
    MlKem1024,
}

/// Bytes of an ML-KEM shared secret (both parameter sets).
pub(crate) const SECRET_LEN: usize = 32;

impl MlKem {
    /// Bytes of an encapsulation key (the client's share, FIPS 203 Table 3).
    pub(crate) const fn encapsulation_key_len(self) -> usize {
        match self {
            Self::MlKem768 => 1184,
            Self::MlKem1024 => 1568,
        }
    }

    /// Bytes of a ciphertext (the server's share).
    pub(crate) const fn ciphertext_len(self) -> usize {
        match self {
            Self::MlKem768 => 1088,
            Self::MlKem1024 => 1568,
        }
    }

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::MlKem768 => "ML-KEM-768",
            Self::MlKem1024 => "ML-KEM-1024",
        }
    }

    /// A fresh key pair (FIPS 203 ML-KEM.KeyGen, with 64 bytes of our randomness).
    pub(crate) fn generate(self) -> Result<DecapsulationKey, Error> {
        let mut seed = Zeroizing::new([0u8; 64]);
        rand::fill(&mut seed[..])?;
        let (private, public) = match self {
            Self::MlKem768 => {
                let (sk, pk) = mlkem768::generate_key_pair(*seed).into_parts();
                (take(sk.into()), <[u8; 1184]>::from(pk).to_vec())
            }
            Self::MlKem1024 => {
                let (sk, pk) = mlkem1024::generate_key_pair(*seed).into_parts();
                (take(sk.into()), <[u8; 1568]>::from(pk).to_vec())
            }
        };
        Ok(DecapsulationKey {
            kem: self,
            private,
            public,
        })
    }

    /// Server: check the client's encapsulation key (its length, and FIPS 203 §7.2's
    /// modulus check: every coefficient below q) and encapsulate to it. Returns the
    /// ciphertext and the shared secret. A bad key is the client's fault.
    pub(crate) fn encapsulate(self, key: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
        let want = self.encapsulation_key_len();
        if key.len() != want {
            return Err(Error::peer(
                Reason::InvalidKeyShare,
                format!(
                    "the client's {} encapsulation key is {} bytes; it is exactly {want}",
                    self.name(),
                    key.len()
                ),
            ));
        }
        let mut randomness = Zeroizing::new([0u8; SECRET_LEN]);
        rand::fill(&mut randomness[..])?;
        let invalid = || {
            Error::peer(
                Reason::InvalidKeyShare,
                format!(
                    "the client's {} encapsulation key fails the modulus check of FIPS 203 §7.2 \
                     (a coefficient is not below q = 3329): it is not an encapsulation key",
                    self.name()
                ),
            )
        };
        let (ciphertext, secret) = match self {
            Self::MlKem768 => {
                let pk = mlkem768::MlKem768PublicKey::try_from(key).map_err(|_| invalid())?;
                if !mlkem768::validate_public_key(&pk) {
                    return Err(invalid());
                }
                let (ct, ss) = mlkem768::encapsulate(&pk, *randomness);
                (ct.as_ref().to_vec(), ss)
            }
            Self::MlKem1024 => {
                let pk = mlkem1024::MlKem1024PublicKey::try_from(key).map_err(|_| invalid())?;
                if !mlkem1024::validate_public_key(&pk) {
                    return Err(invalid());
                }
                let (ct, ss) = mlkem1024::encapsulate(&pk, *randomness);
                (ct.as_ref().to_vec(), ss)
            }
        };
        let secret = Zeroizing::new(secret);
        Ok((ciphertext, Secret::from_slice(&secret[..])))
    }
}

/// Move a private key's bytes into memory that is wiped on drop (the library's own copy is a
/// temporary the caller drops at once).
fn take<const N: usize>(mut bytes: [u8; N]) -> Zeroizing<Vec<u8>> {
    let out = Zeroizing::new(bytes.to_vec());
    bytes.zeroize();
    out
}

/// A client's ML-KEM key pair, used once: the encapsulation key is its share, the
/// decapsulation key opens the server's ciphertext.
pub(crate) struct DecapsulationKey {
    kem: MlKem,
    private: Zeroizing<Vec<u8>>,
    public: Vec<u8>,
}

impl DecapsulationKey {
    /// The encapsulation key, as sent in the key share.
    pub(crate) fn encapsulation_key(&self) -> &[u8] {
        &self.public
    }

    /// Decapsulate the server's ciphertext (FIPS 203 ML-KEM.Decaps). Only its length can be
    /// checked: a ciphertext of the right length that was altered decapsulates, by implicit
    /// rejection, to a secret the server does not have, so the handshake fails at the first
    /// record protected with the keys derived from it.
    pub(crate) fn decapsulate(self, ciphertext: &[u8]) -> Result<Secret, Error> {
        let kem = self.kem;
        let want = kem.ciphertext_len();
        if ciphertext.len() != want {
            return Err(Error::peer(
                Reason::InvalidKeyShare,
                format!(
                    "the server's {} ciphertext is {} bytes; it is exactly {want}",
                    kem.name(),
                    ciphertext.len()
                ),
            ));
        }
        let internal = || Error::Internal(format!("an {} key of the wrong size", kem.name()));
        let ss = match kem {
            MlKem::MlKem768 => {
                let sk = mlkem768::MlKem768PrivateKey::try_from(&self.private[..])
                    .map_err(|_| internal())?;
                let ct =
                    mlkem768::MlKem768Ciphertext::try_from(ciphertext).map_err(|_| internal())?;
                let ss = mlkem768::decapsulate(&sk, &ct);
                <[u8; 2400]>::from(sk).zeroize();
                Zeroizing::new(ss)
            }
            MlKem::MlKem1024 => {
                let sk = mlkem1024::MlKem1024PrivateKey::try_from(&self.private[..])
                    .map_err(|_| internal())?;
                let ct =
                    mlkem1024::MlKem1024Ciphertext::try_from(ciphertext).map_err(|_| internal())?;
                let ss = mlkem1024::decapsulate(&sk, &ct);
                <[u8; 3168]>::from(sk).zeroize();
                Zeroizing::new(ss)
            }
        };
        Ok(Secret::from_slice(&ss[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parameter_sets_agree_with_the_sizes_of_fips_203() {
        for kem in [MlKem::MlKem768, MlKem::MlKem1024] {
            let dk = kem.generate().unwrap();
            assert_eq!(dk.encapsulation_key().len(), kem.encapsulation_key_len());
            let (ct, server) = kem.encapsulate(dk.encapsulation_key()).unwrap();
            assert_eq!(ct.len(), kem.ciphertext_len());
            let client = dk.decapsulate(&ct).unwrap();
            assert_eq!(client.as_bytes(), server.as_bytes());
            assert_eq!(client.as_bytes().len(), SECRET_LEN);
        }
    }

    #[test]
    fn a_bad_encapsulation_key_is_refused() {
        for kem in [MlKem::MlKem768, MlKem::MlKem1024] {
            let dk = kem.generate().unwrap();
            let mut ek = dk.encapsulation_key().to_vec();
            // Too short, too long.
            let short = kem.encapsulate(&ek[..ek.len() - 1]).unwrap_err();
            assert!(short.to_string().contains("it is exactly"), "{short}");
            ek.push(0);
            assert!(kem.encapsulate(&ek).is_err());
            ek.pop();
            // A coefficient of 0xFFF (4095 >= q): the first 12 bits all ones.
            ek[0] = 0xFF;
            ek[1] |= 0x0F;
            let err = kem.encapsulate(&ek).unwrap_err();
            assert_eq!(err.reason(), Some(Reason::InvalidKeyShare));
            assert!(err.to_string().contains("FIPS 203 §7.2"), "{err}");
        }
    }

    #[test]
    fn a_corrupted_ciphertext_gives_another_secret() {
        let dk = MlKem::MlKem768.generate().unwrap();
        let (mut ct, server) = MlKem::MlKem768.encapsulate(dk.encapsulation_key()).unwrap();
        ct[100] ^= 1;
        let client = dk.decapsulate(&ct).unwrap();
        assert_ne!(client.as_bytes(), server.as_bytes(), "implicit rejection");
        let dk = MlKem::MlKem768.generate().unwrap();
        let err = dk.decapsulate(&ct[..1087]).unwrap_err();
        assert!(
            err.to_string().contains("1087 bytes; it is exactly 1088"),
            "{err}"
        );
    }
}
