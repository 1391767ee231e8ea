//! HKDF (RFC 5869) with TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1), HMAC, and the
//! constant-time comparison used for MACs and Finished values.
//!
//! Extract is computed with `ring::hmac` rather than `ring::hkdf::Salt::extract`, because
//! ring's `Prk` hides its bytes and the key schedule must be checkable against RFC 8448.

use std::fmt;

use ring::{hkdf, hmac};
use zeroize::{Zeroize, Zeroizing};

use super::hash::{HashAlgorithm, Output};

/// The longest secret kept inline: every hash output and traffic key, and every shared
/// secret of our groups (P-521's 66 bytes, SecP384r1MLKEM1024's 80). Longer secrets (an
/// external PSK, a stored session's secret) go to the heap.
const INLINE_SECRET: usize = 80;

/// Secret key material (a PRK, traffic secret, PSK or traffic key). The bytes are wiped
/// when the value is dropped and are never printed by `Debug`. Kept inline when short,
/// so deriving a secret costs no heap allocation.
#[derive(Clone)]
pub struct Secret {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE_SECRET] },
    Heap(Zeroizing<Vec<u8>>),
}

impl Secret {
    /// Copy `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut s = Self::zeroed(bytes.len());
        s.as_mut_bytes().copy_from_slice(bytes);
        s
    }

    /// `len` zero bytes, to be filled in place.
    fn zeroed(len: usize) -> Self {
        let repr = if len <= INLINE_SECRET {
            Repr::Inline {
                len: len as u8,
                bytes: [0; INLINE_SECRET],
            }
        } else {
            Repr::Heap(Zeroizing::new(vec![0u8; len]))
        };
        Self { repr }
    }

    fn as_mut_bytes(&mut self) -> &mut [u8] {
        match &mut self.repr {
            Repr::Inline { len, bytes } => &mut bytes[..*len as usize],
            Repr::Heap(v) => v,
        }
    }

    /// The secret bytes, for feeding the next derivation step.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.repr {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(v) => v,
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the secret is empty (never the case for a derived secret).
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        // The heap form wipes itself (Zeroizing); the inline bytes are wiped here. Only the
        // first `len` were ever written: the rest are still zero.
        if let Repr::Inline { len, bytes } = &mut self.repr {
            bytes[..*len as usize].zeroize();
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, redacted)", self.len())
    }
}

/// HKDF-Extract (RFC 5869 §2.2): HMAC-Hash(salt, IKM). An empty salt is equivalent to
/// HashLen zero bytes, as HMAC pads the key with zeros.
pub fn extract(alg: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Secret {
    let key = hmac::Key::new(alg.hmac(), salt);
    Secret::from_slice(hmac::sign(&key, ikm).as_ref())
}

/// The longest label `expand_label` accepts: the `opaque label<7..255>` field holds
/// `"tls13 "` plus the label.
pub const MAX_LABEL_LEN: usize = 255 - LABEL_PREFIX.len();

const LABEL_PREFIX: &[u8] = b"tls13 ";

/// An HKDF output length for ring's `expand`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Whether HKDF-Expand-Label can be computed with these lengths: label at most
/// [`MAX_LABEL_LEN`], context at most 255 bytes, output at most 255 × HashLen bytes.
pub fn expand_label_args_ok(
    alg: HashAlgorithm,
    label_len: usize,
    context_len: usize,
    out_len: usize,
) -> bool {
    label_len <= MAX_LABEL_LEN && context_len <= 255 && out_len <= 255 * alg.output_len()
}

/// One secret prepared for HKDF-Expand-Label: ring's `Prk` keeps HMAC's keyed inner and
/// outer hash states, so each label costs two hash compressions instead of four. Make one
/// per secret that is expanded more than once (a traffic secret gives key, iv and the
/// Finished key; a stage secret gives several Derive-Secrets).
#[derive(Clone)]
pub struct Expander {
    alg: HashAlgorithm,
    prk: hkdf::Prk,
}

impl Expander {
    /// Prepare `secret` (a PRK or traffic secret of HashLen bytes) for expansion.
    pub fn new(alg: HashAlgorithm, secret: &[u8]) -> Self {
        Self {
            alg,
            prk: hkdf::Prk::new_less_safe(alg.hkdf(), secret),
        }
    }

    /// HKDF-Extract(salt, ikm) prepared for expansion, without keeping the PRK's bytes.
    pub fn extract(alg: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Self {
        Self::extract_keyed(alg, &hmac::Key::new(alg.hmac(), salt), ikm)
    }

    /// [`Expander::extract`] with the salt's HMAC key already made (a salt used again).
    pub(crate) fn extract_keyed(alg: HashAlgorithm, salt: &hmac::Key, ikm: &[u8]) -> Self {
        Self::new(alg, hmac::sign(salt, ikm).as_ref())
    }

    /// The hash this secret is expanded with.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.alg
    }

    /// HKDF-Expand-Label into `out`; `false` when the lengths are out of range (nothing is
    /// written).
    pub(crate) fn expand_label_into(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> bool {
        if !expand_label_args_ok(self.alg, label.len(), context.len(), out.len()) {
            return false;
        }
        // struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel,
        // passed to ring in pieces so nothing is joined.
        let length = (out.len() as u16).to_be_bytes();
        let label_len = [(LABEL_PREFIX.len() + label.len()) as u8];
        let context_len = [context.len() as u8];
        let info: [&[u8]; 6] = [
            &length,
            &label_len,
            LABEL_PREFIX,
            label,
            &context_len,
            context,
        ];
        self.prk
            .expand(&info, Len(out.len()))
            .and_then(|okm| okm.fill(out))
            .is_ok()
    }

    /// HKDF-Expand-Label(Secret, Label, Context, Length) of RFC 8446 §7.1, with the
    /// `"tls13 "` prefix added here.
    ///
    /// Infallible because every caller in the engine passes a fixed short label, a context
    /// of at most one hash, and a length of at most 64 bytes. Arguments outside the limits
    /// of [`expand_label_args_ok`] (only reachable by misuse, never by peer input) yield an
    /// all-zero secret and trip a debug assertion.
    pub fn expand_label(&self, label: &[u8], context: &[u8], len: usize) -> Secret {
        let mut out = Secret::zeroed(len);
        let ok = self.expand_label_into(label, context, out.as_mut_bytes());
        debug_assert!(ok, "expand_label called with out-of-range lengths");
        out
    }

    /// Derive-Secret(Secret, Label, Messages) of RFC 8446 §7.1, given the transcript hash.
    pub fn derive_secret(&self, label: &[u8], transcript_hash: &[u8]) -> Secret {
        self.expand_label(label, transcript_hash, self.alg.output_len())
    }
}

impl fmt::Debug for Expander {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expander({:?}, redacted)", self.alg)
    }
}

/// HKDF-Expand-Label into `out` from unprepared secret bytes; see
/// [`Expander::expand_label_into`].
pub(crate) fn expand_label_into(
    alg: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> bool {
    Expander::new(alg, secret).expand_label_into(label, context, out)
}

/// HKDF-Expand-Label from unprepared secret bytes, for a secret expanded only once; see
/// [`Expander::expand_label`].
pub fn expand_label(
    alg: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Secret {
    Expander::new(alg, secret).expand_label(label, context, len)
}

/// Derive-Secret from unprepared secret bytes; see [`Expander::derive_secret`].
pub fn derive_secret(
    alg: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    transcript_hash: &[u8],
) -> Secret {
    Expander::new(alg, secret).derive_secret(label, transcript_hash)
}

/// HMAC-Hash(key, data): Finished values and PSK binders.
pub fn hmac_sign(alg: HashAlgorithm, key: &[u8], data: &[u8]) -> Output {
    let key = hmac::Key::new(alg.hmac(), key);
    Output::new(hmac::sign(&key, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    // RFC 5869 Appendix A.1 (test case 1, SHA-256).
    #[test]
    fn rfc5869_case1_extract() {
        let ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = unhex("000102030405060708090a0b0c");
        let prk = extract(HashAlgorithm::Sha256, &salt, &ikm);
        assert_eq!(
            prk.as_bytes(),
            unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        );
    }

    #[test]
    fn expander_matches_one_shot_functions() {
        let alg = HashAlgorithm::Sha384;
        let prk = extract(alg, b"salt", b"ikm");
        let ex = Expander::new(alg, prk.as_bytes());
        // Reuse across labels gives what a fresh key per label gives.
        for (label, len) in [(&b"key"[..], 32), (b"iv", 12), (b"finished", 48)] {
            assert_eq!(
                ex.expand_label(label, b"ctx", len),
                expand_label(alg, prk.as_bytes(), label, b"ctx", len)
            );
        }
        assert_eq!(
            Expander::extract(alg, b"salt", b"ikm").derive_secret(b"derived", b"h"),
            derive_secret(alg, prk.as_bytes(), b"derived", b"h")
        );
    }

    #[test]
    fn expand_label_limits() {
        let s = [7u8; 32];
        assert_eq!(
            expand_label(HashAlgorithm::Sha256, &s, b"key", b"", 16).len(),
            16
        );
        assert!(!expand_label_args_ok(HashAlgorithm::Sha256, 250, 0, 16));
        assert!(!expand_label_args_ok(HashAlgorithm::Sha256, 5, 256, 16));
        assert!(!expand_label_args_ok(
            HashAlgorithm::Sha256,
            5,
            0,
            255 * 32 + 1
        ));
        let mut out = [0u8; 8];
        assert!(!expand_label_into(
            HashAlgorithm::Sha256,
            &s,
            &[b'a'; 250],
            b"",
            &mut out
        ));
    }

    #[test]
    fn secret_debug_hides_bytes() {
        let s = Secret::from_slice(&[0xab; 4]);
        let d = format!("{s:?}");
        assert!(!d.contains("ab") && !d.contains("171"), "{d}");
    }

    #[test]
    fn hmac_rfc4231_case2() {
        let tag = hmac_sign(
            HashAlgorithm::Sha256,
            b"Jefe",
            b"what do ya want for nothing?",
        );
        assert_eq!(
            tag.as_ref(),
            unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }
}
