//! The TLS 1.2 PRF (RFC 5246 §5): P_hash over HMAC with the suite's hash.

use ring::hmac;

use super::hash::HashAlgorithm;

/// Fill `out` with PRF(secret, label, seed) = P_hash(secret, label || seed).
/// `label` and `seed` are fed to HMAC separately, so nothing is concatenated.
pub fn prf(alg: HashAlgorithm, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    PrfKey::new(alg, secret).prf(label, seed, out);
}

/// A PRF secret prepared once (its HMAC key schedule), for the several PRF calls a TLS 1.2
/// handshake makes with the master secret: the key block and both Finished messages.
#[derive(Clone)]
pub struct PrfKey {
    key: hmac::Key,
    alg: HashAlgorithm,
}

impl PrfKey {
    /// Prepare `secret` for the PRF with `alg`.
    pub fn new(alg: HashAlgorithm, secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(alg.hmac(), secret),
            alg,
        }
    }

    /// Fill `out` with PRF(secret, label, seed).
    pub fn prf(&self, label: &[u8], seed: &[u8], out: &mut [u8]) {
        p_hash(&self.key, self.alg, label, seed, out);
    }
}

fn p_hash(key: &hmac::Key, alg: HashAlgorithm, label: &[u8], seed: &[u8], out: &mut [u8]) {
    // A(1) = HMAC(secret, label || seed)
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(label);
    ctx.update(seed);
    let mut a = ctx.sign();

    let mut chunks = out.chunks_mut(alg.output_len()).peekable();
    while let Some(chunk) = chunks.next() {
        // P_hash block = HMAC(secret, A(i) || label || seed)
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(a.as_ref());
        ctx.update(label);
        ctx.update(seed);
        let block = ctx.sign();
        chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        // A(i+1) = HMAC(secret, A(i)), only if another block follows.
        if chunks.peek().is_some() {
            a = hmac::sign(key, a.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    // The TLS 1.2 PRF-SHA256 vector posted to the IETF TLS list (msg03416).
    #[test]
    fn prf_sha256_ietf_vector() {
        let mut out = [0u8; 100];
        prf(
            HashAlgorithm::Sha256,
            &unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
            b"test label",
            &unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"),
            &mut out,
        );
        let expect = unhex(
            "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4
             e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17
             ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1
             22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66",
        );
        assert_eq!(out.as_slice(), expect.as_slice());
    }

    #[test]
    fn prefix_stable_and_sha384_differs() {
        let mut long = [0u8; 100];
        let mut short = [0u8; 33];
        prf(HashAlgorithm::Sha384, b"k", b"l", b"s", &mut long);
        prf(HashAlgorithm::Sha384, b"k", b"l", b"s", &mut short);
        assert_eq!(&long[..33], &short[..]);
        let mut other = [0u8; 33];
        prf(HashAlgorithm::Sha256, b"k", b"l", b"s", &mut other);
        assert_ne!(other, short);
        prf(HashAlgorithm::Sha256, b"k", b"l", b"s", &mut []);
    }
}
