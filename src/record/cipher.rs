//! Per-record protection: TLS 1.3 (RFC 8446 §5.2-5.3), TLS 1.2 AES-GCM (RFC 5288) and
//! TLS 1.2 ChaCha20-Poly1305 (RFC 7905). The record layer owns sequence numbers, framing
//! and limits; this module turns one plaintext into one record and back.
//!
//! All three nonce constructions reduce to `iv XOR seq` (seq left-padded to 12 bytes):
//! for TLS 1.2 GCM the IV is the 4-byte salt followed by 8 zero bytes, which gives
//! `salt || seq`, and that `seq` is also sent as the explicit nonce.

use crate::codec::enums::ContentType;
use crate::crypto::aead::{AeadAlgorithm, AeadKey, NONCE_LEN};
use crate::crypto::suites::SuiteInfo;
use crate::error::{Error, Reason};

/// The record header length: type, version, length.
pub const HEADER_LEN: usize = 5;
/// The largest plaintext fragment (RFC 8446 §5.1, RFC 5246 §6.2.1).
pub const MAX_FRAGMENT_LEN: usize = 1 << 14;
/// The largest TLS 1.3 ciphertext body (RFC 8446 §5.2).
pub const MAX_TLS13_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 256;
/// The largest TLS 1.2 ciphertext body (RFC 5246 §6.2.3).
pub const MAX_TLS12_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 2048;

const TAG_LEN: usize = AeadAlgorithm::TAG_LEN;
const LEGACY_VERSION: [u8; 2] = [0x03, 0x03];

/// A key with its nonce base, shared by both directions' types.
struct Protection {
    key: AeadKey,
    iv: [u8; NONCE_LEN],
    /// TLS 1.2 GCM: the sequence number is sent as an 8-byte explicit nonce.
    explicit_nonce: bool,
}

impl Protection {
    fn tls13(suite: &SuiteInfo, key: &[u8], iv: [u8; NONCE_LEN]) -> Result<Self, Error> {
        if !suite.is_tls13() {
            return Err(Error::Internal(format!(
                "{} is not a TLS 1.3 suite",
                suite.suite
            )));
        }
        Ok(Self {
            key: AeadKey::new(suite.aead, key)?,
            iv,
            explicit_nonce: false,
        })
    }

    fn tls12(suite: &SuiteInfo, key: &[u8], fixed_iv: &[u8]) -> Result<Self, Error> {
        if suite.is_tls13() {
            return Err(Error::Internal(format!(
                "{} is not a TLS 1.2 suite",
                suite.suite
            )));
        }
        if fixed_iv.len() != suite.fixed_iv_len() {
            return Err(Error::Internal(format!(
                "{} needs a {}-byte fixed IV, but {} bytes were given",
                suite.suite,
                suite.fixed_iv_len(),
                fixed_iv.len()
            )));
        }
        let mut iv = [0u8; NONCE_LEN];
        iv[..fixed_iv.len()].copy_from_slice(fixed_iv);
        Ok(Self {
            key: AeadKey::new(suite.aead, key)?,
            iv,
            explicit_nonce: suite.explicit_nonce_len() > 0,
        })
    }

    fn nonce(&self, seq: u64) -> [u8; NONCE_LEN] {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }

    fn explicit_len(&self) -> usize {
        if self.explicit_nonce { 8 } else { 0 }
    }
}

/// The TLS 1.2 additional data: seq_num || type || version || plaintext length.
fn tls12_aad(seq: u64, typ: u8, version: [u8; 2], len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8] = typ;
    aad[9..11].copy_from_slice(&version);
    aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aad
}

fn bad_mac(seq: u64) -> Error {
    Error::peer(
        Reason::RecordAuthenticationFailed,
        format!(
            "a record from the peer failed authentication (sequence number {seq}): the data was corrupted or \
         tampered with, or the keys do not match"
        ),
    )
}

/// Protects outgoing records for one direction.
pub enum RecordEncrypter {
    /// TLS 1.3 record protection.
    Tls13(Tls13Protection),
    /// TLS 1.2 AEAD record protection.
    Tls12(Tls12Protection),
}

/// Opens incoming records for one direction.
pub enum RecordDecrypter {
    /// TLS 1.3 record protection.
    Tls13(Tls13Protection),
    /// TLS 1.2 AEAD record protection.
    Tls12(Tls12Protection),
}

/// TLS 1.3 key state (opaque; build it through the encrypter/decrypter constructors).
pub struct Tls13Protection(Protection);

/// TLS 1.2 key state (opaque; build it through the encrypter/decrypter constructors).
pub struct Tls12Protection(Protection);

impl RecordEncrypter {
    /// TLS 1.3 protection from the record key and IV of one traffic secret (the key
    /// schedule derives them, RFC 8446 §7.3: `tls13::key_schedule::encrypter`).
    pub fn tls13(suite: &SuiteInfo, key: &[u8], iv: [u8; NONCE_LEN]) -> Result<Self, Error> {
        Ok(Self::Tls13(Tls13Protection(Protection::tls13(
            suite, key, iv,
        )?)))
    }

    /// TLS 1.2 protection from the key block's write key and fixed IV.
    pub fn tls12(suite: &SuiteInfo, key: &[u8], fixed_iv: &[u8]) -> Result<Self, Error> {
        Ok(Self::Tls12(Tls12Protection(Protection::tls12(
            suite, key, fixed_iv,
        )?)))
    }

    /// Whether this protects TLS 1.3 records.
    pub fn is_tls13(&self) -> bool {
        matches!(self, Self::Tls13(_))
    }

    /// The bytes on the wire, header included, for a payload of `payload_len` bytes.
    pub fn encrypted_len(&self, payload_len: usize) -> usize {
        match self {
            Self::Tls13(_) => HEADER_LEN + payload_len + 1 + TAG_LEN,
            Self::Tls12(p) => HEADER_LEN + p.0.explicit_len() + payload_len + TAG_LEN,
        }
    }

    /// The bytes before the payload in a record: the header, and TLS 1.2 GCM's explicit nonce.
    pub fn prefix_len(&self) -> usize {
        match self {
            Self::Tls13(_) => HEADER_LEN,
            Self::Tls12(p) => HEADER_LEN + p.0.explicit_len(),
        }
    }

    /// Append one complete protected record carrying `payload` of type `typ` to `out`.
    /// The payload must be at most 2^14 bytes (the record layer fragments).
    pub fn encrypt(
        &self,
        seq: u64,
        typ: ContentType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = out.len();
        out.reserve(self.encrypted_len(payload.len()));
        out.resize(start + self.prefix_len(), 0);
        out.extend_from_slice(payload);
        self.seal_in_place(seq, typ, out, start)
    }

    /// Turn the end of `out` into one protected record, in place: `out[start..]` is
    /// [`Self::prefix_len`] bytes of room for the header (and explicit nonce), then the
    /// payload. Fills in the prefix, encrypts the payload where it is and appends the inner
    /// content type (TLS 1.3) and the tag. The payload must be at most 2^14 bytes.
    pub fn seal_in_place(
        &self,
        seq: u64,
        typ: ContentType,
        out: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), Error> {
        let payload_start = start + self.prefix_len();
        let payload_len = out.len().saturating_sub(payload_start);
        if payload_len > MAX_FRAGMENT_LEN {
            return Err(Error::Internal(format!(
                "refusing to encrypt a {payload_len}-byte fragment; the limit is {MAX_FRAGMENT_LEN}"
            )));
        }
        let total = self.encrypted_len(payload_len);
        out.reserve(total - (out.len() - start));
        let body_len = ((total - HEADER_LEN) as u16).to_be_bytes();
        match self {
            Self::Tls13(Tls13Protection(p)) => {
                // TLSCiphertext: opaque_type application_data, legacy version 0x0303.
                let header = [
                    u8::from(ContentType::ApplicationData),
                    LEGACY_VERSION[0],
                    LEGACY_VERSION[1],
                    body_len[0],
                    body_len[1],
                ];
                out[start..payload_start].copy_from_slice(&header);
                // TLSInnerPlaintext: content || type (no padding).
                out.push(u8::from(typ));
                let tag = p.key.seal_in_place_separate_tag(
                    p.nonce(seq),
                    &header,
                    &mut out[payload_start..],
                )?;
                out.extend_from_slice(&tag);
            }
            Self::Tls12(Tls12Protection(p)) => {
                let t = u8::from(typ);
                out[start..start + HEADER_LEN].copy_from_slice(&[
                    t,
                    LEGACY_VERSION[0],
                    LEGACY_VERSION[1],
                    body_len[0],
                    body_len[1],
                ]);
                if p.explicit_nonce {
                    out[start + HEADER_LEN..payload_start].copy_from_slice(&seq.to_be_bytes());
                }
                let aad = tls12_aad(seq, t, LEGACY_VERSION, payload_len);
                let tag = p.key.seal_in_place_separate_tag(
                    p.nonce(seq),
                    &aad,
                    &mut out[payload_start..],
                )?;
                out.extend_from_slice(&tag);
            }
        }
        Ok(())
    }
}

impl RecordDecrypter {
    /// TLS 1.3 protection from the record key and IV of one traffic secret (the key
    /// schedule derives them, RFC 8446 §7.3: `tls13::key_schedule::encrypter`).
    pub fn tls13(suite: &SuiteInfo, key: &[u8], iv: [u8; NONCE_LEN]) -> Result<Self, Error> {
        Ok(Self::Tls13(Tls13Protection(Protection::tls13(
            suite, key, iv,
        )?)))
    }

    /// TLS 1.2 protection from the key block's read key and fixed IV.
    pub fn tls12(suite: &SuiteInfo, key: &[u8], fixed_iv: &[u8]) -> Result<Self, Error> {
        Ok(Self::Tls12(Tls12Protection(Protection::tls12(
            suite, key, fixed_iv,
        )?)))
    }

    /// Whether this opens TLS 1.3 records.
    pub fn is_tls13(&self) -> bool {
        matches!(self, Self::Tls13(_))
    }

    /// Open one record. `header` is its 5-byte header and `body` the bytes after it,
    /// decrypted in place. Returns the real content type and the plaintext (a prefix of
    /// `body`'s buffer, padding removed).
    pub fn decrypt<'a>(
        &self,
        seq: u64,
        header: &[u8; HEADER_LEN],
        body: &'a mut [u8],
    ) -> Result<(ContentType, &'a [u8]), Error> {
        match self {
            Self::Tls13(Tls13Protection(p)) => {
                if body.len() > MAX_TLS13_CIPHERTEXT_LEN {
                    return Err(Error::peer(
                        Reason::RecordTooLarge,
                        format!(
                            "a protected record of {} bytes exceeds the TLS 1.3 limit of {MAX_TLS13_CIPHERTEXT_LEN}",
                            body.len()
                        ),
                    ));
                }
                let plain = p
                    .key
                    .open_in_place(p.nonce(seq), header, body)
                    .map_err(|()| bad_mac(seq))?;
                if plain.len() > MAX_FRAGMENT_LEN + 1 {
                    return Err(Error::peer(
                        Reason::RecordTooLarge,
                        format!(
                            "a record's inner plaintext is {} bytes; the limit is {} (RFC 8446 §5.4)",
                            plain.len(),
                            MAX_FRAGMENT_LEN + 1
                        ),
                    ));
                }
                // The content type is the last non-zero byte; zeros after it are padding.
                let Some(type_at) = plain.iter().rposition(|&b| b != 0) else {
                    return Err(Error::unexpected_because(
                        Reason::RecordWithoutContentType,
                        "a protected record with a content type",
                        "a protected record with no non-zero content type byte (all padding)",
                    ));
                };
                let typ = ContentType::from(plain[type_at]);
                Ok((typ, &plain[..type_at]))
            }
            Self::Tls12(Tls12Protection(p)) => {
                let explicit = p.explicit_len();
                if body.len() < explicit + TAG_LEN {
                    return Err(Error::peer(
                        Reason::RecordAuthenticationFailed,
                        format!(
                            "a protected record of {} bytes is shorter than its nonce and tag ({} bytes) \
                         (sequence number {seq})",
                            body.len(),
                            explicit + TAG_LEN
                        ),
                    ));
                }
                let plain_len = body.len() - explicit - TAG_LEN;
                if plain_len > MAX_FRAGMENT_LEN {
                    return Err(Error::peer(
                        Reason::RecordTooLarge,
                        format!(
                            "a protected record would decrypt to {plain_len} bytes; the limit is {MAX_FRAGMENT_LEN}"
                        ),
                    ));
                }
                let (explicit_bytes, ciphertext) = body.split_at_mut(explicit);
                let mut nonce = p.nonce(seq);
                if p.explicit_nonce {
                    // GCM: the receiver uses the nonce that was sent (RFC 5288 §3).
                    nonce[4..].copy_from_slice(explicit_bytes);
                }
                let aad = tls12_aad(seq, header[0], [header[1], header[2]], plain_len);
                let plain = p
                    .key
                    .open_in_place(nonce, &aad, ciphertext)
                    .map_err(|()| bad_mac(seq))?;
                Ok((ContentType::from(header[0]), plain))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::enums::CipherSuite;
    use crate::crypto::suites::{ALL_SUITES, lookup};
    use crate::error::Reason;

    /// A TLS 1.3 IV for the tests that need no particular one.
    const IV13: [u8; NONCE_LEN] = [0x11; NONCE_LEN];

    fn pair(suite: &SuiteInfo) -> (RecordEncrypter, RecordDecrypter) {
        if suite.is_tls13() {
            let key = vec![0x42u8; suite.aead.key_len()];
            (
                RecordEncrypter::tls13(suite, &key, IV13).unwrap(),
                RecordDecrypter::tls13(suite, &key, IV13).unwrap(),
            )
        } else {
            let key = vec![0x24u8; suite.aead.key_len()];
            let iv = vec![0x11u8; suite.fixed_iv_len()];
            (
                RecordEncrypter::tls12(suite, &key, &iv).unwrap(),
                RecordDecrypter::tls12(suite, &key, &iv).unwrap(),
            )
        }
    }

    fn split(record: &mut [u8]) -> ([u8; 5], &mut [u8]) {
        let (h, b) = record.split_at_mut(5);
        (h.try_into().unwrap(), b)
    }

    #[test]
    fn round_trip_every_suite() {
        for suite in ALL_SUITES {
            let (enc, dec) = pair(suite);
            assert_eq!(enc.is_tls13(), suite.is_tls13());
            assert_eq!(dec.is_tls13(), suite.is_tls13());
            for seq in [0u64, 1 << 40] {
                for payload in [&b""[..], b"hello, world", &[0xab; MAX_FRAGMENT_LEN]] {
                    let mut out = vec![0xee]; // existing bytes are kept
                    enc.encrypt(seq, ContentType::Handshake, payload, &mut out)
                        .unwrap();
                    assert_eq!(
                        out.len(),
                        1 + enc.encrypted_len(payload.len()),
                        "{}",
                        suite.suite
                    );
                    let rec = &mut out[1..];
                    let body_len = u16::from_be_bytes([rec[3], rec[4]]) as usize;
                    assert_eq!(body_len + 5, rec.len());
                    assert_eq!(&rec[1..3], &[3, 3]);
                    if suite.is_tls13() {
                        assert_eq!(rec[0], 23);
                    } else {
                        assert_eq!(rec[0], 22);
                    }
                    if suite.explicit_nonce_len() == 8 {
                        assert_eq!(&rec[5..13], &seq.to_be_bytes());
                    }

                    let mut good = rec.to_vec();
                    let (h, b) = split(&mut good);
                    let (typ, plain) = dec.decrypt(seq, &h, b).unwrap();
                    assert_eq!(
                        (typ, plain),
                        (ContentType::Handshake, payload),
                        "{}",
                        suite.suite
                    );

                    // Wrong sequence number.
                    let mut wrong = rec.to_vec();
                    let (h, b) = split(&mut wrong);
                    assert!(matches!(
                        dec.decrypt(seq + 1, &h, b),
                        Err(Error::BadRecordMac(_))
                    ));

                    // Flip one bit in the body or the header. (The TLS 1.2 header length is
                    // framing, checked by the deframer; TLS 1.3 authenticates it too.)
                    let spots: &[usize] = if suite.is_tls13() {
                        &[0, 4, 5, rec.len() - 1]
                    } else {
                        &[0, 2, 5, rec.len() - 1]
                    };
                    for &at in spots {
                        let mut bad = rec.to_vec();
                        bad[at] ^= 0x01;
                        let (h, b) = split(&mut bad);
                        let e = dec.decrypt(seq, &h, b).unwrap_err();
                        assert!(
                            matches!(e, Error::BadRecordMac(_) | Error::RecordOverflow(_)),
                            "{e:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_mac_message_names_the_sequence_number() {
        let suite = lookup(CipherSuite::TLS_AES_128_GCM_SHA256).unwrap();
        let (enc, dec) = pair(suite);
        let mut out = Vec::new();
        enc.encrypt(7, ContentType::ApplicationData, b"x", &mut out)
            .unwrap();
        let last = out.len() - 1;
        out[last] ^= 0x80;
        let (h, b) = split(&mut out);
        assert_eq!(
            dec.decrypt(7, &h, b).unwrap_err(),
            Error::peer(
                Reason::RecordAuthenticationFailed,
                "a record from the peer failed authentication (sequence number 7): the data was corrupted or \
                 tampered with, or the keys do not match"
            )
        );
    }

    /// Seal a raw TLS 1.3 inner plaintext (for padding and oversize tests).
    fn seal13(suite: &SuiteInfo, seq: u64, inner: &[u8]) -> Vec<u8> {
        let key = vec![0x42u8; suite.aead.key_len()];
        let p = Protection {
            key: AeadKey::new(suite.aead, &key).unwrap(),
            iv: IV13,
            explicit_nonce: false,
        };
        let len = (inner.len() + TAG_LEN) as u16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let mut body = inner.to_vec();
        p.key
            .seal_in_place(p.nonce(seq), &header, &mut body)
            .unwrap();
        let mut rec = header.to_vec();
        rec.extend_from_slice(&body);
        rec
    }

    #[test]
    fn tls13_padding_and_limits() {
        let suite = lookup(CipherSuite::TLS_CHACHA20_POLY1305_SHA256).unwrap();
        let (_, dec) = pair(suite);

        let mut rec = seal13(suite, 3, b"data\x15\x00\x00\x00\x00");
        let (h, b) = split(&mut rec);
        assert_eq!(
            dec.decrypt(3, &h, b).unwrap(),
            (ContentType::Alert, &b"data"[..])
        );

        // Zero bytes inside the content are kept; only trailing ones are padding.
        let mut rec = seal13(suite, 3, b"\x00a\x00\x17\x00");
        let (h, b) = split(&mut rec);
        assert_eq!(
            dec.decrypt(3, &h, b).unwrap(),
            (ContentType::ApplicationData, &b"\x00a\x00"[..])
        );

        let mut rec = seal13(suite, 0, &[0u8; 10]);
        let (h, b) = split(&mut rec);
        assert!(matches!(
            dec.decrypt(0, &h, b),
            Err(Error::UnexpectedMessage { .. })
        ));
        let mut rec = seal13(suite, 0, &[]);
        let (h, b) = split(&mut rec);
        assert!(matches!(
            dec.decrypt(0, &h, b),
            Err(Error::UnexpectedMessage { .. })
        ));

        // 2^14 + 1 bytes of inner plaintext is allowed (with padding), one more is not.
        let mut inner = vec![0u8; MAX_FRAGMENT_LEN + 1];
        inner[0] = 23;
        let mut rec = seal13(suite, 0, &inner);
        let (h, b) = split(&mut rec);
        assert_eq!(dec.decrypt(0, &h, b).unwrap().1, b"");
        inner.push(0);
        let mut rec = seal13(suite, 0, &inner);
        let (h, b) = split(&mut rec);
        assert!(matches!(
            dec.decrypt(0, &h, b),
            Err(Error::RecordOverflow(_))
        ));

        let mut huge = vec![0u8; MAX_TLS13_CIPHERTEXT_LEN + 1];
        assert!(matches!(
            dec.decrypt(0, &[23, 3, 3, 0x41, 0x01], &mut huge),
            Err(Error::RecordOverflow(_))
        ));
    }

    #[test]
    fn tls12_limits_and_short_records() {
        for name in [
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ] {
            let suite = lookup(name).unwrap();
            let (enc, dec) = pair(suite);
            for len in [0usize, 7, 8 + 15] {
                let mut short = vec![0u8; len];
                assert!(matches!(
                    dec.decrypt(0, &[23, 3, 3, 0, len as u8], &mut short),
                    Err(Error::BadRecordMac(_))
                ));
            }
            let mut big = vec![0u8; suite.explicit_nonce_len() + MAX_FRAGMENT_LEN + 1 + TAG_LEN];
            assert!(matches!(
                dec.decrypt(0, &[23, 3, 3, 0, 0], &mut big),
                Err(Error::RecordOverflow(_))
            ));
            let mut out = Vec::new();
            assert!(matches!(
                enc.encrypt(
                    0,
                    ContentType::ApplicationData,
                    &[0; MAX_FRAGMENT_LEN + 1],
                    &mut out
                ),
                Err(Error::Internal(_))
            ));
        }
        let gcm = lookup(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256).unwrap();
        assert!(RecordEncrypter::tls12(gcm, &[0; 16], &[0; 12]).is_err());
        assert!(RecordEncrypter::tls12(gcm, &[0; 15], &[0; 4]).is_err());
        assert!(RecordEncrypter::tls13(gcm, &[0; 16], IV13).is_err());
        let t13 = lookup(CipherSuite::TLS_AES_128_GCM_SHA256).unwrap();
        assert!(RecordDecrypter::tls12(t13, &[0; 16], &[0; 12]).is_err());
    }
}
