//! Raw primitives, the floor under any TLS stack built on them: ring's, and libcrux's
//! ML-KEM-768 (ferrotls's ML-KEM). Each returns a closure
//! doing one operation and returning its units (bytes for AEAD, 1 otherwise).

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};

use crate::Pki;

pub type Op = Box<dyn FnMut() -> u64>;

/// Seal then open one 16 KiB record (TLS 1.3 record header as AAD, counter nonce).
pub fn aead(alg: &'static aead::Algorithm) -> Op {
    let key = LessSafeKey::new(UnboundKey::new(alg, &vec![7u8; alg.key_len()]).unwrap());
    let mut buf = vec![0x5au8; 16384];
    buf.reserve(alg.tag_len());
    let mut seq = 0u64;
    Box::new(move || {
        seq += 1;
        let nonce = || {
            let mut n = [0u8; 12];
            n[4..].copy_from_slice(&seq.to_be_bytes());
            Nonce::assume_unique_for_key(n)
        };
        let hdr = [23u8, 3, 3, 0x40, 0x11];
        key.seal_in_place_append_tag(nonce(), Aad::from(hdr), &mut buf)
            .unwrap();
        let n = key
            .open_in_place(nonce(), Aad::from(hdr), &mut buf)
            .unwrap()
            .len();
        assert_eq!(n, 16384);
        buf.truncate(n);
        n as u64
    })
}

/// What a TLS 1.3 record path cannot avoid with ring's in-place AEAD, per 16 KiB record:
/// copy the application's bytes into the record (after its 5-byte header, with the inner
/// content type), seal, copy the record across (the transport), open. The practical
/// ceiling for a bulk row; `aead` above is the crypto alone.
pub fn aead_with_copies(alg: &'static aead::Algorithm) -> Op {
    record_floor(alg, true)
}

/// The socket rows' bulk floor, per 16 KiB record: seal in place, copy the record across
/// once (what a transport does at the least; the kernel's copies through a socket are more
/// and are not in here), open. No copy of the application's bytes in: what a zero-copy
/// write (the caller writing into the record) leaves.
pub fn aead_copy_across(alg: &'static aead::Algorithm) -> Op {
    record_floor(alg, false)
}

fn record_floor(alg: &'static aead::Algorithm, copy_in: bool) -> Op {
    let key = LessSafeKey::new(UnboundKey::new(alg, &vec![7u8; alg.key_len()]).unwrap());
    let source = vec![0x5au8; 1 << 20];
    let rec_len = 5 + 16384 + 1 + alg.tag_len();
    let mut record = vec![0x5au8; rec_len];
    let mut received = vec![0u8; rec_len];
    let (mut seq, mut off) = (0u64, 0usize);
    Box::new(move || {
        seq += 1;
        let nonce = || {
            let mut n = [0u8; 12];
            n[4..].copy_from_slice(&seq.to_be_bytes());
            Nonce::assume_unique_for_key(n)
        };
        let hdr = [23u8, 3, 3, ((rec_len - 5) >> 8) as u8, (rec_len - 5) as u8];
        record[..5].copy_from_slice(&hdr);
        if copy_in {
            record[5..5 + 16384].copy_from_slice(&source[off..off + 16384]);
            off = (off + 16384) % source.len();
        }
        record[5 + 16384] = 23;
        let tag = key
            .seal_in_place_separate_tag(nonce(), Aad::from(hdr), &mut record[5..5 + 16385])
            .unwrap();
        record[5 + 16385..].copy_from_slice(tag.as_ref());
        received.copy_from_slice(&record);
        let n = key
            .open_in_place(nonce(), Aad::from(hdr), &mut received[5..])
            .unwrap()
            .len();
        assert_eq!(n, 16385);
        16384
    })
}

/// One side of an X25519 exchange: generate a key, compute its public value, agree.
pub fn x25519() -> Op {
    let rng = SystemRandom::new();
    let peer = EphemeralPrivateKey::generate(&X25519, &rng).unwrap();
    let peer_pub = peer.compute_public_key().unwrap().as_ref().to_vec();
    Box::new(move || {
        let k = EphemeralPrivateKey::generate(&X25519, &rng).unwrap();
        let p = k.compute_public_key().unwrap();
        std::hint::black_box(p.as_ref());
        agreement::agree_ephemeral(k, &UnparsedPublicKey::new(&X25519, &peer_pub), |s| s[0])
            .unwrap();
        1
    })
}

/// ML-KEM-768 as one X25519MLKEM768 handshake uses it, with libcrux-ml-kem (the crate and
/// AVX2-or-portable code ferrotls runs): key generation (client), encapsulation (server),
/// decapsulation (client), randomness from ring's system RNG as ferrotls draws it. Without
/// the server's encapsulation-key check (FIPS 203 §7.2), which ferrotls also does.
pub fn mlkem768() -> Op {
    use libcrux_ml_kem::mlkem768;
    let rng = SystemRandom::new();
    Box::new(move || {
        let mut seed = [0u8; 64];
        ring::rand::SecureRandom::fill(&rng, &mut seed).unwrap();
        let pair = mlkem768::generate_key_pair(seed);
        let mut enc_rand = [0u8; 32];
        ring::rand::SecureRandom::fill(&rng, &mut enc_rand).unwrap();
        let (ct, server) = mlkem768::encapsulate(pair.public_key(), enc_rand);
        let client = mlkem768::decapsulate(pair.private_key(), &ct);
        assert_eq!(client, server);
        1
    })
}

/// The TLS 1.3 CertificateVerify input: 64 spaces, context string, 0, SHA-256 transcript hash.
fn cv_message() -> Vec<u8> {
    let mut m = vec![0x20u8; 64];
    m.extend_from_slice(b"TLS 1.3, server CertificateVerify\0");
    m.extend_from_slice(&[0xab; 32]);
    m
}

fn ecdsa_key(pki: &Pki) -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &pki.ecdsa.key_der,
        &rng,
    )
    .unwrap()
}

pub fn ecdsa_sign(pki: &Pki) -> Op {
    let (key, rng, msg) = (ecdsa_key(pki), SystemRandom::new(), cv_message());
    Box::new(move || {
        std::hint::black_box(key.sign(&rng, &msg).unwrap());
        1
    })
}

pub fn ecdsa_verify(pki: &Pki) -> Op {
    let (key, rng, msg) = (ecdsa_key(pki), SystemRandom::new(), cv_message());
    let sig = key.sign(&rng, &msg).unwrap().as_ref().to_vec();
    let public = key.public_key().as_ref().to_vec();
    Box::new(move || {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &public)
            .verify(&msg, &sig)
            .unwrap();
        1
    })
}

fn rsa_key(pki: &Pki) -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(&pki.rsa.key_der).unwrap()
}

/// RSA-PSS-SHA256 (rsa_pss_rsae_sha256, what TLS 1.3 uses with an RSA key).
pub fn rsa_sign(pki: &Pki) -> Op {
    let (key, rng, msg) = (rsa_key(pki), SystemRandom::new(), cv_message());
    let mut sig = vec![0u8; key.public().modulus_len()];
    Box::new(move || {
        key.sign(&signature::RSA_PSS_SHA256, &rng, &msg, &mut sig)
            .unwrap();
        1
    })
}

pub fn rsa_verify(pki: &Pki) -> Op {
    let (key, rng, msg) = (rsa_key(pki), SystemRandom::new(), cv_message());
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(&signature::RSA_PSS_SHA256, &rng, &msg, &mut sig)
        .unwrap();
    let public = key.public().as_ref().to_vec();
    Box::new(move || {
        signature::UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, &public)
            .verify(&msg, &sig)
            .unwrap();
        1
    })
}
