//! The TLS 1.2 key schedule (RFC 5246 §6.3, §7.4.9, §8.1), the extended master secret
//! (RFC 7627) and the exporter (RFC 5705), all built on the PRF.

use crate::crypto::hash::HashAlgorithm;
use crate::crypto::hkdf::Secret;
use crate::crypto::prf::{PrfKey, prf};

/// The TLS 1.2 master secret length.
pub const MASTER_SECRET_LEN: usize = 48;

/// The length of a Finished verify_data in TLS 1.2.
pub const VERIFY_DATA_LEN: usize = 12;

fn randoms(first: &[u8; 32], second: &[u8; 32]) -> [u8; 64] {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(first);
    seed[32..].copy_from_slice(second);
    seed
}

/// The extended master secret (RFC 7627 §4): PRF(pre_master, "extended master secret",
/// session_hash), where session_hash is the transcript hash through ClientKeyExchange.
/// It binds the master secret to the whole handshake (the triple-handshake fix).
pub fn master_secret_ems(alg: HashAlgorithm, pre_master: &[u8], session_hash: &[u8]) -> Secret {
    let mut out = [0u8; MASTER_SECRET_LEN];
    prf(
        alg,
        pre_master,
        b"extended master secret",
        session_hash,
        &mut out,
    );
    let s = Secret::from_slice(&out);
    zeroize::Zeroize::zeroize(&mut out);
    s
}

/// The legacy master secret (RFC 5246 §8.1), for peers without extended master secret.
pub fn master_secret(
    alg: HashAlgorithm,
    pre_master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Secret {
    let mut out = [0u8; MASTER_SECRET_LEN];
    prf(
        alg,
        pre_master,
        b"master secret",
        &randoms(client_random, server_random),
        &mut out,
    );
    let s = Secret::from_slice(&out);
    zeroize::Zeroize::zeroize(&mut out);
    s
}

/// The key block (RFC 5246 §6.3): client key, server key, client IV, server IV, in that
/// order for AEAD suites. Note the seed order: server_random first. The caller should
/// zeroize the block once the keys are split out of it.
pub fn key_block(
    alg: HashAlgorithm,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    key_block_with(&PrfKey::new(alg, master), client_random, server_random, len)
}

/// [`key_block`] with the master secret already prepared.
pub fn key_block_with(
    master: &PrfKey,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; len];
    key_block_into(master, client_random, server_random, &mut out);
    out
}

/// [`key_block_with`] into `out` (its length is the key block's).
pub fn key_block_into(
    master: &PrfKey,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    out: &mut [u8],
) {
    master.prf(
        b"key expansion",
        &randoms(server_random, client_random),
        out,
    );
}

/// Finished verify_data (RFC 5246 §7.4.9) over the handshake hash.
pub fn verify_data(
    alg: HashAlgorithm,
    master: &[u8],
    is_client: bool,
    handshake_hash: &[u8],
) -> [u8; VERIFY_DATA_LEN] {
    verify_data_with(&PrfKey::new(alg, master), is_client, handshake_hash)
}

/// [`verify_data`] with the master secret already prepared.
pub fn verify_data_with(
    master: &PrfKey,
    is_client: bool,
    handshake_hash: &[u8],
) -> [u8; VERIFY_DATA_LEN] {
    let label: &[u8] = if is_client {
        b"client finished"
    } else {
        b"server finished"
    };
    let mut out = [0u8; VERIFY_DATA_LEN];
    master.prf(label, handshake_hash, &mut out);
    out
}

/// Keying material exporter (RFC 5705 §4): PRF(master, label, client_random ||
/// server_random [|| u16 context length || context]). No context and an empty context
/// give different outputs, as the RFC requires. Contexts longer than 65535 bytes cannot
/// be encoded; callers must reject them (the output is then left zeroed).
pub fn export(
    alg: HashAlgorithm,
    master: &[u8],
    label: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    context: Option<&[u8]>,
    out: &mut [u8],
) {
    let mut seed = Vec::with_capacity(64 + 2 + context.map_or(0, <[u8]>::len));
    seed.extend_from_slice(client_random);
    seed.extend_from_slice(server_random);
    if let Some(ctx) = context {
        let Ok(len) = u16::try_from(ctx.len()) else {
            out.fill(0);
            return;
        };
        seed.extend_from_slice(&len.to_be_bytes());
        seed.extend_from_slice(ctx);
    }
    prf(alg, master, label, &seed, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hash::HashAlgorithm::{Sha256, Sha384};

    #[test]
    fn master_secret_is_the_prf() {
        let (cr, sr) = ([1u8; 32], [2u8; 32]);
        let ms = master_secret(Sha256, b"pms", &cr, &sr);
        let mut expect = [0u8; 48];
        prf(
            Sha256,
            b"pms",
            b"master secret",
            &randoms(&cr, &sr),
            &mut expect,
        );
        assert_eq!(ms.as_bytes(), expect);
        let ems = master_secret_ems(Sha384, b"pms", &[9; 48]);
        prf(
            Sha384,
            b"pms",
            b"extended master secret",
            &[9; 48],
            &mut expect,
        );
        assert_eq!(ems.as_bytes(), expect);
    }

    #[test]
    fn key_block_uses_server_random_first() {
        let (cr, sr) = ([1u8; 32], [2u8; 32]);
        let kb = key_block(Sha256, &[7; 48], &cr, &sr, 40);
        let mut expect = [0u8; 40];
        prf(
            Sha256,
            &[7; 48],
            b"key expansion",
            &randoms(&sr, &cr),
            &mut expect,
        );
        assert_eq!(kb, expect);
    }

    #[test]
    fn finished_and_exporter() {
        let c = verify_data(Sha256, &[7; 48], true, &[1; 32]);
        let s = verify_data(Sha256, &[7; 48], false, &[1; 32]);
        assert_ne!(c, s);
        let (cr, sr) = ([1u8; 32], [2u8; 32]);
        let mut none = [0u8; 20];
        let mut empty = [0u8; 20];
        export(
            Sha256,
            &[7; 48],
            b"EXPORTER-test",
            &cr,
            &sr,
            None,
            &mut none,
        );
        export(
            Sha256,
            &[7; 48],
            b"EXPORTER-test",
            &cr,
            &sr,
            Some(b""),
            &mut empty,
        );
        assert_ne!(none, empty);
        let mut seed = randoms(&cr, &sr).to_vec();
        seed.extend_from_slice(&[0, 0]);
        let mut expect = [0u8; 20];
        prf(Sha256, &[7; 48], b"EXPORTER-test", &seed, &mut expect);
        assert_eq!(empty, expect);
    }
}
