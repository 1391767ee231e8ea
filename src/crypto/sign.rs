//! Our private key and the signatures it makes for CertificateVerify (TLS 1.3) and
//! ServerKeyExchange / CertificateVerify (TLS 1.2).
//!
//! Keys come from PEM/DER as PKCS#8, SEC1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE
//! KEY"). ring reads only PKCS#8 for EC keys, so SEC1 keys are wrapped into a PKCS#8
//! PrivateKeyInfo here (RFC 5915 inside RFC 5208) before ring sees them.

use std::fmt;

use pki_types::PrivateKeyDer;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use super::rand::rng;
use crate::codec::enums::SignatureScheme;
use crate::error::Error;

/// The kind of a key, for selecting suites and for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with this modulus size.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// Ed25519 (RFC 8032).
    Ed25519,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA-{bits}"),
            Self::EcdsaP256 => f.write_str("ECDSA P-256"),
            Self::EcdsaP384 => f.write_str("ECDSA P-384"),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

enum Inner {
    Rsa(RsaKeyPair),
    Ecdsa { key: EcdsaKeyPair, p384: bool },
    Ed25519(Ed25519KeyPair),
}

/// A private key that can sign handshake messages.
pub struct SigningKey {
    inner: Inner,
}

// DER object identifiers (tag, length, value), as they appear inside key files.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_SECP256K1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];
const OID_ED448: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x71];
const OID_DSA: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_RSA_PSS: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Name a key type we recognise but cannot use, for a precise error.
fn unsupported_reason(der: &[u8]) -> Option<&'static str> {
    [
        (OID_P521, "P-521 ECDSA keys are not supported"),
        (OID_SECP256K1, "secp256k1 ECDSA keys are not supported"),
        (OID_ED448, "Ed448 keys are not supported"),
        (OID_DSA, "DSA keys are not supported"),
        (
            OID_RSA_PSS,
            "RSASSA-PSS-only (id-RSASSA-PSS) keys are not supported; use an rsaEncryption key",
        ),
    ]
    .iter()
    .find(|(oid, _)| contains(der, oid))
    .map(|(_, why)| *why)
}

/// Append a DER length.
fn der_len(len: usize, out: &mut Vec<u8>) -> Result<(), Error> {
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xffff => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => return Err(Error::Key("the EC private key is implausibly large".into())),
    }
    Ok(())
}

/// Wrap a SEC1 ECPrivateKey into PKCS#8:
/// `SEQUENCE { INTEGER 0, SEQUENCE { id-ecPublicKey, curve }, OCTET STRING { sec1 } }`.
fn sec1_to_pkcs8(sec1: &[u8], curve_oid: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut alg_id = Vec::with_capacity(2 + OID_EC_PUBLIC_KEY.len() + curve_oid.len());
    alg_id.push(0x30);
    der_len(OID_EC_PUBLIC_KEY.len() + curve_oid.len(), &mut alg_id)?;
    alg_id.extend_from_slice(OID_EC_PUBLIC_KEY);
    alg_id.extend_from_slice(curve_oid);

    let mut octets = Zeroizing::new(Vec::with_capacity(sec1.len() + 4));
    octets.push(0x04);
    der_len(sec1.len(), &mut octets)?;
    octets.extend_from_slice(sec1);

    let version = [0x02, 0x01, 0x00];
    let body_len = version.len() + alg_id.len() + octets.len();
    let mut out = Zeroizing::new(Vec::with_capacity(body_len + 4));
    out.push(0x30);
    der_len(body_len, &mut out)?;
    out.extend_from_slice(&version);
    out.extend_from_slice(&alg_id);
    out.extend_from_slice(&octets);
    Ok(out)
}

impl SigningKey {
    /// Load a private key. PKCS#8 may hold RSA, ECDSA P-256/P-384 or Ed25519 (including
    /// OpenSSL's v1 Ed25519 files without the public key); SEC1 holds P-256/P-384; PKCS#1
    /// holds RSA. Anything else is an `Error::Key` that names what was tried.
    pub fn from_der(key: &PrivateKeyDer<'_>) -> Result<Self, Error> {
        match key {
            PrivateKeyDer::Pkcs8(k) => Self::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Sec1(k) => Self::from_sec1(k.secret_sec1_der()),
            PrivateKeyDer::Pkcs1(k) => {
                let key = RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(|e| {
                    Error::Key(format!("the PKCS#1 RSA private key could not be used: {e} (RSA keys must be 2048 to 8192 bits)"))
                })?;
                Ok(Self {
                    inner: Inner::Rsa(key),
                })
            }
            _ => Err(Error::Key(
                "the private key is in an unsupported container format".into(),
            )),
        }
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, Error> {
        if let Ok(key) = RsaKeyPair::from_pkcs8(der) {
            return Ok(Self {
                inner: Inner::Rsa(key),
            });
        }
        if let Ok(key) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, rng())
        {
            return Ok(Self {
                inner: Inner::Ecdsa { key, p384: false },
            });
        }
        if let Ok(key) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, der, rng())
        {
            return Ok(Self {
                inner: Inner::Ecdsa { key, p384: true },
            });
        }
        if let Ok(key) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(Self {
                inner: Inner::Ed25519(key),
            });
        }
        Err(Error::Key(match unsupported_reason(der) {
            Some(why) => format!("the private key is not a supported type: {why}"),
            None => "the PKCS#8 private key is not a usable RSA (2048-8192 bits), ECDSA P-256, \
                     ECDSA P-384 or Ed25519 key"
                .into(),
        }))
    }

    fn from_sec1(sec1: &[u8]) -> Result<Self, Error> {
        if let Some(why) = unsupported_reason(sec1) {
            return Err(Error::Key(format!(
                "the private key is not a supported type: {why}"
            )));
        }
        // The curve is normally named in the SEC1 parameters; without it, try both.
        let candidates: &[(&[u8], bool)] = if contains(sec1, OID_P256) {
            &[(OID_P256, false)]
        } else if contains(sec1, OID_P384) {
            &[(OID_P384, true)]
        } else {
            &[(OID_P256, false), (OID_P384, true)]
        };
        for &(oid, p384) in candidates {
            let pkcs8 = sec1_to_pkcs8(sec1, oid)?;
            let alg = if p384 {
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING
            } else {
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING
            };
            if let Ok(key) = EcdsaKeyPair::from_pkcs8(alg, &pkcs8, rng()) {
                return Ok(Self {
                    inner: Inner::Ecdsa { key, p384 },
                });
            }
        }
        Err(Error::Key(
            "the SEC1 EC private key is not a usable P-256 or P-384 key (it must include its public key)".into(),
        ))
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        match &self.inner {
            Inner::Rsa(k) => KeyKind::Rsa {
                bits: k.public().modulus_len() * 8,
            },
            Inner::Ecdsa { p384: false, .. } => KeyKind::EcdsaP256,
            Inner::Ecdsa { p384: true, .. } => KeyKind::EcdsaP384,
            Inner::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// Whether this is an RSA key (TLS 1.2 ECDHE_RSA suites need one).
    pub fn is_rsa(&self) -> bool {
        matches!(self.inner, Inner::Rsa(_))
    }

    /// The schemes this key can sign with, in our preference order. TLS 1.3 forbids
    /// PKCS#1 v1.5 signatures in the handshake (RFC 8446 §4.2.3), so they are offered for
    /// TLS 1.2 only.
    pub fn schemes(&self, tls13: bool) -> Vec<SignatureScheme> {
        use SignatureScheme as S;
        match &self.inner {
            Inner::Rsa(_) => {
                let mut v = vec![
                    S::RSA_PSS_RSAE_SHA256,
                    S::RSA_PSS_RSAE_SHA384,
                    S::RSA_PSS_RSAE_SHA512,
                ];
                if !tls13 {
                    v.extend([
                        S::RSA_PKCS1_SHA256,
                        S::RSA_PKCS1_SHA384,
                        S::RSA_PKCS1_SHA512,
                    ]);
                }
                v
            }
            Inner::Ecdsa { p384: false, .. } => vec![S::ECDSA_NISTP256_SHA256],
            Inner::Ecdsa { p384: true, .. } => vec![S::ECDSA_NISTP384_SHA384],
            Inner::Ed25519(_) => vec![S::ED25519],
        }
    }

    /// The first of our schemes that the peer offered, or `None` when there is no overlap.
    pub fn choose_scheme(
        &self,
        offered: &[SignatureScheme],
        tls13: bool,
    ) -> Option<SignatureScheme> {
        self.schemes(tls13)
            .into_iter()
            .find(|s| offered.contains(s))
    }

    /// Sign `msg` with `scheme`, which must be one of [`Self::schemes`] (for TLS 1.2).
    pub fn sign(&self, scheme: SignatureScheme, msg: &[u8]) -> Result<Vec<u8>, Error> {
        use SignatureScheme as S;
        let failed = || Error::Internal(format!("signing with {scheme} failed"));
        match &self.inner {
            Inner::Rsa(key) => {
                let padding: &'static dyn signature::RsaEncoding = match scheme {
                    S::RSA_PSS_RSAE_SHA256 => &signature::RSA_PSS_SHA256,
                    S::RSA_PSS_RSAE_SHA384 => &signature::RSA_PSS_SHA384,
                    S::RSA_PSS_RSAE_SHA512 => &signature::RSA_PSS_SHA512,
                    S::RSA_PKCS1_SHA256 => &signature::RSA_PKCS1_SHA256,
                    S::RSA_PKCS1_SHA384 => &signature::RSA_PKCS1_SHA384,
                    S::RSA_PKCS1_SHA512 => &signature::RSA_PKCS1_SHA512,
                    _ => return Err(self.wrong_scheme(scheme)),
                };
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(padding, rng(), msg, &mut sig)
                    .map_err(|_| failed())?;
                Ok(sig)
            }
            Inner::Ecdsa { key, p384 } => {
                let expected = if *p384 {
                    S::ECDSA_NISTP384_SHA384
                } else {
                    S::ECDSA_NISTP256_SHA256
                };
                if scheme != expected {
                    return Err(self.wrong_scheme(scheme));
                }
                Ok(key
                    .sign(rng(), msg)
                    .map_err(|_| failed())?
                    .as_ref()
                    .to_vec())
            }
            Inner::Ed25519(key) => {
                if scheme != S::ED25519 {
                    return Err(self.wrong_scheme(scheme));
                }
                Ok(key.sign(msg).as_ref().to_vec())
            }
        }
    }

    fn wrong_scheme(&self, scheme: SignatureScheme) -> Error {
        Error::Internal(format!("an {} key cannot sign with {scheme}", self.kind()))
    }

    /// The raw public key as ring gives it: DER RSAPublicKey for RSA, the uncompressed
    /// point for ECDSA, 32 bytes for Ed25519. Used to check the key matches its certificate.
    pub fn public_key(&self) -> &[u8] {
        match &self.inner {
            Inner::Rsa(k) => k.public().as_ref(),
            Inner::Ecdsa { key, .. } => key.public_key().as_ref(),
            Inner::Ed25519(k) => k.public_key().as_ref(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pki_types::PrivatePkcs8KeyDer;
    use pki_types::pem::PemObject;
    use ring::signature::UnparsedPublicKey;

    fn verify(
        alg: &'static dyn signature::VerificationAlgorithm,
        key: &SigningKey,
        scheme: SignatureScheme,
    ) {
        let sig = key.sign(scheme, b"to be signed").unwrap();
        UnparsedPublicKey::new(alg, key.public_key())
            .verify(b"to be signed", &sig)
            .unwrap();
        assert!(
            UnparsedPublicKey::new(alg, key.public_key())
                .verify(b"to be signed!", &sig)
                .is_err()
        );
    }

    fn pkcs8(doc: &[u8]) -> SigningKey {
        SigningKey::from_der(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            doc.to_vec(),
        )))
        .unwrap()
    }

    #[test]
    fn ring_generated_keys() {
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, rng())
            .unwrap();
        let k = pkcs8(doc.as_ref());
        assert_eq!(k.kind(), KeyKind::EcdsaP256);
        assert_eq!(k.kind().to_string(), "ECDSA P-256");
        verify(
            &signature::ECDSA_P256_SHA256_ASN1,
            &k,
            SignatureScheme::ECDSA_NISTP256_SHA256,
        );
        assert!(matches!(
            k.sign(SignatureScheme::ED25519, b"x"),
            Err(Error::Internal(_))
        ));

        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, rng())
            .unwrap();
        let k = pkcs8(doc.as_ref());
        assert_eq!(k.kind(), KeyKind::EcdsaP384);
        verify(
            &signature::ECDSA_P384_SHA384_ASN1,
            &k,
            SignatureScheme::ECDSA_NISTP384_SHA384,
        );

        let doc = Ed25519KeyPair::generate_pkcs8(rng()).unwrap();
        let k = pkcs8(doc.as_ref());
        assert_eq!(k.kind().to_string(), "Ed25519");
        assert!(!k.is_rsa());
        verify(&signature::ED25519, &k, SignatureScheme::ED25519);
        assert_eq!(
            k.choose_scheme(
                &[
                    SignatureScheme::RSA_PSS_RSAE_SHA256,
                    SignatureScheme::ED25519
                ],
                true
            ),
            Some(SignatureScheme::ED25519)
        );
        assert_eq!(
            k.choose_scheme(&[SignatureScheme::RSA_PSS_RSAE_SHA256], true),
            None
        );
    }

    #[test]
    fn garbage_is_a_key_error() {
        let e = SigningKey::from_der(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![
            0x30, 0x03, 0x02, 0x01, 0x00,
        ])))
        .unwrap_err();
        assert!(matches!(e, Error::Key(_)), "{e:?}");
    }

    #[test]
    fn sec1_wrapper_is_valid_der() {
        let w = sec1_to_pkcs8(&[0xaa; 200], OID_P256).unwrap();
        assert_eq!(&w[..2], &[0x30, 0x81]);
        assert_eq!(w[2] as usize, w.len() - 3);
    }

    /// Run `openssl` with `args` and return its stdout, or `None` when it is unavailable.
    fn openssl(args: &[&str]) -> Option<Vec<u8>> {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    }

    fn load_pem(pem: &[u8]) -> Result<SigningKey, Error> {
        SigningKey::from_der(&PrivateKeyDer::from_pem_slice(pem).expect("PEM"))
    }

    #[test]
    fn openssl_sec1_pkcs1_pkcs8() {
        let Some(p256) = openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout"]) else {
            eprintln!("openssl not available; skipping");
            return;
        };
        assert!(p256.starts_with(b"-----BEGIN EC PRIVATE KEY-----"));
        let k = load_pem(&p256).unwrap();
        assert_eq!(k.kind(), KeyKind::EcdsaP256);
        verify(
            &signature::ECDSA_P256_SHA256_ASN1,
            &k,
            SignatureScheme::ECDSA_NISTP256_SHA256,
        );

        let p384 = openssl(&["ecparam", "-name", "secp384r1", "-genkey", "-noout"]).unwrap();
        let k = load_pem(&p384).unwrap();
        assert_eq!(k.kind(), KeyKind::EcdsaP384);
        verify(
            &signature::ECDSA_P384_SHA384_ASN1,
            &k,
            SignatureScheme::ECDSA_NISTP384_SHA384,
        );

        let p521 = openssl(&["ecparam", "-name", "secp521r1", "-genkey", "-noout"]).unwrap();
        let e = load_pem(&p521).unwrap_err();
        assert_eq!(
            e,
            Error::Key(
                "the private key is not a supported type: P-521 ECDSA keys are not supported"
                    .into()
            )
        );
        let p521_pkcs8 = openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
        ])
        .unwrap();
        assert!(
            load_pem(&p521_pkcs8)
                .unwrap_err()
                .to_string()
                .contains("P-521")
        );

        let rsa = openssl(&["genrsa", "-traditional", "2048"]).unwrap();
        assert!(rsa.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
        let k = load_pem(&rsa).unwrap();
        assert_eq!(k.kind().to_string(), "RSA-2048");
        assert!(k.is_rsa());
        verify(
            &signature::RSA_PSS_2048_8192_SHA256,
            &k,
            SignatureScheme::RSA_PSS_RSAE_SHA256,
        );
        verify(
            &signature::RSA_PSS_2048_8192_SHA512,
            &k,
            SignatureScheme::RSA_PSS_RSAE_SHA512,
        );
        verify(
            &signature::RSA_PKCS1_2048_8192_SHA384,
            &k,
            SignatureScheme::RSA_PKCS1_SHA384,
        );
        assert_eq!(k.schemes(true).len(), 3);
        assert_eq!(k.schemes(false).len(), 6);
        assert_eq!(
            k.choose_scheme(&[SignatureScheme::RSA_PKCS1_SHA256], true),
            None
        );
        assert_eq!(
            k.choose_scheme(&[SignatureScheme::RSA_PKCS1_SHA256], false),
            Some(SignatureScheme::RSA_PKCS1_SHA256)
        );

        let rsa8 = openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .unwrap();
        assert!(rsa8.starts_with(b"-----BEGIN PRIVATE KEY-----"));
        assert!(load_pem(&rsa8).unwrap().is_rsa());

        // OpenSSL writes v1 PKCS#8 Ed25519 keys without the public key.
        let ed = openssl(&["genpkey", "-algorithm", "ed25519"]).unwrap();
        let k = load_pem(&ed).unwrap();
        verify(&signature::ED25519, &k, SignatureScheme::ED25519);

        let ed448 = openssl(&["genpkey", "-algorithm", "ed448"]).unwrap();
        assert!(load_pem(&ed448).unwrap_err().to_string().contains("Ed448"));
    }
}
