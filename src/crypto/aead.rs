//! AEAD ciphers for record protection. The record layer owns the sequence number and builds
//! each nonce itself (RFC 8446 §5.3, RFC 5288, RFC 7905), so keys here take an explicit
//! nonce per call (`LessSafeKey`) instead of a ring `NonceSequence`.

use std::fmt;

use ring::aead;

use crate::error::Error;

/// The AEAD algorithms of our cipher suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadAlgorithm {
    /// AES-128 in Galois/Counter Mode.
    Aes128Gcm,
    /// AES-256 in Galois/Counter Mode.
    Aes256Gcm,
    /// ChaCha20 with the Poly1305 authenticator (RFC 8439).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// The authentication tag length, the same for all three.
    pub const TAG_LEN: usize = 16;

    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// A readable name for error details and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Gcm => "AES-256-GCM",
            Self::ChaCha20Poly1305 => "ChaCha20-Poly1305",
        }
    }

    fn ring(self) -> &'static aead::Algorithm {
        match self {
            Self::Aes128Gcm => &aead::AES_128_GCM,
            Self::Aes256Gcm => &aead::AES_256_GCM,
            Self::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

impl fmt::Display for AeadAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The AEAD nonce length (all our algorithms use 96-bit nonces).
pub const NONCE_LEN: usize = aead::NONCE_LEN;

/// One direction's AEAD key.
pub struct AeadKey {
    alg: AeadAlgorithm,
    key: aead::LessSafeKey,
}

impl AeadKey {
    /// Build a key; fails if `key` has the wrong length for `alg`.
    pub fn new(alg: AeadAlgorithm, key: &[u8]) -> Result<Self, Error> {
        let unbound = aead::UnboundKey::new(alg.ring(), key).map_err(|_| {
            Error::Internal(format!(
                "an {} key must be {} bytes, but {} were given",
                alg.name(),
                alg.key_len(),
                key.len()
            ))
        })?;
        Ok(Self {
            alg,
            key: aead::LessSafeKey::new(unbound),
        })
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    /// Encrypt `buf` in place and append the 16-byte tag.
    pub fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                buf,
            )
            .map_err(|_| self.seal_failed())
    }

    /// Encrypt `buf` in place and return the tag, for callers that write the tag themselves.
    pub fn seal_in_place_separate_tag(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AeadAlgorithm::TAG_LEN], Error> {
        let tag = self
            .key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                buf,
            )
            .map_err(|_| self.seal_failed())?;
        let mut out = [0u8; AeadAlgorithm::TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypt `buf` (ciphertext followed by the tag) in place and return the plaintext
    /// prefix. `Err(())` means authentication failed; the caller words the error, since
    /// only it knows the sequence number and context.
    #[allow(clippy::result_unit_err)] // The failure carries no information by design.
    pub fn open_in_place<'a>(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], ()> {
        self.key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                buf,
            )
            .map_err(|_| ())
    }

    fn seal_failed(&self) -> Error {
        Error::Internal(format!(
            "{} encryption failed (the record is too large)",
            self.alg.name()
        ))
    }
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AeadKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        for alg in [
            AeadAlgorithm::Aes128Gcm,
            AeadAlgorithm::Aes256Gcm,
            AeadAlgorithm::ChaCha20Poly1305,
        ] {
            let key = AeadKey::new(alg, &vec![3u8; alg.key_len()]).unwrap();
            let mut buf = b"attack at dawn".to_vec();
            key.seal_in_place([1; 12], b"hdr", &mut buf).unwrap();
            assert_eq!(buf.len(), 14 + AeadAlgorithm::TAG_LEN);
            let mut copy = buf.clone();
            assert_eq!(
                key.open_in_place([1; 12], b"hdr", &mut copy).unwrap(),
                b"attack at dawn"
            );
            let mut bad = buf.clone();
            bad[0] ^= 1;
            assert!(key.open_in_place([1; 12], b"hdr", &mut bad).is_err());
            let mut bad_aad = buf.clone();
            assert!(key.open_in_place([1; 12], b"hdx", &mut bad_aad).is_err());

            let mut sep = b"attack at dawn".to_vec();
            let tag = key
                .seal_in_place_separate_tag([1; 12], b"hdr", &mut sep)
                .unwrap();
            sep.extend_from_slice(&tag);
            assert_eq!(sep, buf);
        }
        assert!(matches!(
            AeadKey::new(AeadAlgorithm::Aes128Gcm, &[0; 15]),
            Err(Error::Internal(_))
        ));
    }
}
