//! The TLS 1.3 key schedule (RFC 8446 §7.1) as typestates: [`EarlySecret`] becomes a
//! [`HandshakeSecret`], which becomes a [`MasterSecret`]. Each stage is consumed by the
//! next, so a secret cannot be used at the wrong stage of the handshake.

use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::hash::{HashAlgorithm, Output};
#[cfg(test)]
use crate::crypto::hkdf::extract;
use crate::crypto::hkdf::{self, Expander, Secret, derive_secret, expand_label};
use crate::crypto::suites::SuiteInfo;
use crate::error::Error;
use crate::record::cipher::{RecordDecrypter, RecordEncrypter};
use ring::hmac;
use std::sync::OnceLock;

/// The client and server secrets of one stage (handshake or application traffic).
#[derive(Clone, Debug)]
pub struct TrafficSecrets {
    /// The secret protecting what the client sends.
    pub client: Secret,
    /// The secret protecting what the server sends.
    pub server: Secret,
}

/// One stage's secret, prepared once: every stage is expanded more than once (its
/// Derive-Secrets, then "derived" for the next stage).
#[derive(Clone, Debug)]
struct StageSecret {
    prk: Expander,
    /// The bytes, for the RFC 8448 tests only: ring's `Prk` hides them and nothing else
    /// needs them.
    #[cfg(test)]
    bytes: Secret,
}

impl StageSecret {
    /// HKDF-Extract(salt, ikm).
    fn extract(alg: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Self {
        Self {
            prk: Expander::extract(alg, salt, ikm),
            #[cfg(test)]
            bytes: extract(alg, salt, ikm),
        }
    }

    /// HKDF-Extract with the salt's HMAC key already made.
    fn extract_keyed(alg: HashAlgorithm, salt: &hmac::Key, ikm: &[u8]) -> Self {
        Self {
            prk: Expander::extract_keyed(alg, salt, ikm),
            #[cfg(test)]
            bytes: Secret::from_slice(hmac::sign(salt, ikm).as_ref()),
        }
    }

    fn alg(&self) -> HashAlgorithm {
        self.prk.algorithm()
    }

    fn derive_secret(&self, label: &[u8], transcript_hash: &[u8]) -> Secret {
        self.prk.derive_secret(label, transcript_hash)
    }

    /// Derive-Secret(., "derived", "") — the salt for the next Extract.
    fn derived(&self) -> Secret {
        self.derive_secret(b"derived", self.alg().empty_hash())
    }
}

/// The first stage: Early Secret = HKDF-Extract(0, PSK or zeros).
#[derive(Debug)]
pub struct EarlySecret {
    secret: StageSecret,
    /// Set when there is no PSK: the precomputed "derived" salt.
    no_psk: Option<&'static NoPskStart>,
}

/// The schedule's start without a PSK, which depends on the hash alone: the Early Secret
/// HKDF-Extract(0, 0) and the HMAC key of its "derived" salt. Computed once per hash for
/// the process rather than on every full handshake.
#[derive(Debug)]
struct NoPskStart {
    early: StageSecret,
    derived_salt: hmac::Key,
}

fn no_psk_start(alg: HashAlgorithm) -> &'static NoPskStart {
    static SHA256: OnceLock<NoPskStart> = OnceLock::new();
    static SHA384: OnceLock<NoPskStart> = OnceLock::new();
    let cell = match alg {
        HashAlgorithm::Sha256 => &SHA256,
        HashAlgorithm::Sha384 => &SHA384,
    };
    cell.get_or_init(|| {
        let zeros = [0u8; crate::crypto::hash::MAX_HASH_LEN];
        let zeros = &zeros[..alg.output_len()];
        let early = StageSecret::extract(alg, zeros, zeros);
        let salt = early.derived();
        NoPskStart {
            derived_salt: hmac::Key::new(alg.hmac(), salt.as_bytes()),
            early,
        }
    })
}

impl EarlySecret {
    /// Start the schedule, with the PSK when resuming or using an external PSK.
    pub fn new(alg: HashAlgorithm, psk: Option<&[u8]>) -> Self {
        match psk {
            Some(psk) => {
                let zeros = [0u8; crate::crypto::hash::MAX_HASH_LEN];
                Self {
                    secret: StageSecret::extract(alg, &zeros[..alg.output_len()], psk),
                    no_psk: None,
                }
            }
            None => {
                let start = no_psk_start(alg);
                Self {
                    secret: start.early.clone(),
                    no_psk: Some(start),
                }
            }
        }
    }

    /// The hash of this schedule.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.secret.alg()
    }

    /// The PSK binder key: "res binder" for resumption PSKs, "ext binder" for external ones.
    pub fn binder_key(&self, resumption: bool) -> Secret {
        let label: &[u8] = if resumption {
            b"res binder"
        } else {
            b"ext binder"
        };
        self.secret
            .derive_secret(label, self.algorithm().empty_hash())
    }

    /// client_early_traffic_secret, over the ClientHello hash (0-RTT data).
    pub fn client_early_traffic_secret(&self, client_hello_hash: &[u8]) -> Secret {
        self.secret.derive_secret(b"c e traffic", client_hello_hash)
    }

    /// early_exporter_master_secret, over the ClientHello hash.
    pub fn early_exporter_secret(&self, client_hello_hash: &[u8]) -> Secret {
        self.secret
            .derive_secret(b"e exp master", client_hello_hash)
    }

    /// Mix in the (EC)DHE shared secret: Handshake Secret = Extract(Derived, shared).
    /// With PSK-only key exchange, pass HashLen zero bytes.
    pub fn into_handshake(self, shared_secret: &[u8]) -> HandshakeSecret {
        let alg = self.algorithm();
        let secret = match self.no_psk {
            Some(start) => StageSecret::extract_keyed(alg, &start.derived_salt, shared_secret),
            None => {
                let salt = self.secret.derived();
                StageSecret::extract(alg, salt.as_bytes(), shared_secret)
            }
        };
        HandshakeSecret { secret }
    }
}

/// The second stage, after ServerHello.
#[derive(Debug)]
pub struct HandshakeSecret {
    secret: StageSecret,
}

impl HandshakeSecret {
    /// The hash of this schedule.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.secret.alg()
    }

    /// The handshake traffic secrets over the ClientHello..ServerHello hash.
    pub fn traffic_secrets(&self, hello_hash: &[u8]) -> TrafficSecrets {
        TrafficSecrets {
            client: self.secret.derive_secret(b"c hs traffic", hello_hash),
            server: self.secret.derive_secret(b"s hs traffic", hello_hash),
        }
    }

    /// Master Secret = Extract(Derived, zeros).
    pub fn into_master(self) -> MasterSecret {
        let salt = self.secret.derived();
        let zeros = [0u8; crate::crypto::hash::MAX_HASH_LEN];
        let alg = self.algorithm();
        MasterSecret {
            secret: StageSecret::extract(alg, salt.as_bytes(), &zeros[..alg.output_len()]),
        }
    }
}

/// The last stage, from which application traffic, exporter and resumption secrets come.
#[derive(Debug)]
pub struct MasterSecret {
    secret: StageSecret,
}

impl MasterSecret {
    /// The hash of this schedule.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.secret.alg()
    }

    /// The first application traffic secrets over the ClientHello..server Finished hash.
    pub fn traffic_secrets(&self, server_finished_hash: &[u8]) -> TrafficSecrets {
        TrafficSecrets {
            client: self
                .secret
                .derive_secret(b"c ap traffic", server_finished_hash),
            server: self
                .secret
                .derive_secret(b"s ap traffic", server_finished_hash),
        }
    }

    /// exporter_master_secret over the ClientHello..server Finished hash.
    pub fn exporter_secret(&self, server_finished_hash: &[u8]) -> Secret {
        self.secret
            .derive_secret(b"exp master", server_finished_hash)
    }

    /// resumption_master_secret over the ClientHello..client Finished hash.
    pub fn resumption_secret(&self, client_finished_hash: &[u8]) -> Secret {
        self.secret
            .derive_secret(b"res master", client_finished_hash)
    }
}

/// A Finished key (RFC 8446 §4.4.4): HKDF-Expand-Label(base_key, "finished", "", Hash.length).
#[derive(Clone, Debug)]
pub struct FinishedKey(Secret);

impl FinishedKey {
    /// From a prepared base key: a handshake traffic secret, whose record key and IV come
    /// from the same [`Expander`], or a PSK binder key.
    pub fn new(base_key: &Expander) -> Self {
        let len = base_key.algorithm().output_len();
        Self(base_key.expand_label(b"finished", b"", len))
    }

    /// verify_data = HMAC(finished_key, transcript_hash). Compare results with
    /// [`crate::crypto::ct::constant_time_eq`] (or `Output`'s `==`, which is constant time).
    pub fn verify_data(&self, alg: HashAlgorithm, transcript_hash: &[u8]) -> Output {
        hkdf::hmac_sign(alg, self.0.as_bytes(), transcript_hash)
    }
}

/// Finished verify_data (RFC 8446 §4.4.4) from unprepared base key bytes; see
/// [`FinishedKey`]. Also computes PSK binders, with the binder key as `base_key`.
pub fn finished_verify_data(alg: HashAlgorithm, base_key: &[u8], transcript_hash: &[u8]) -> Output {
    FinishedKey::new(&Expander::new(alg, base_key)).verify_data(alg, transcript_hash)
}

/// The next traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn next_traffic_secret(alg: HashAlgorithm, current: &[u8]) -> Secret {
    expand_label(alg, current, b"traffic upd", b"", alg.output_len())
}

/// The PSK for a NewSessionTicket (RFC 8446 §4.6.1). The resumption secret comes prepared
/// because a server derives one PSK per ticket it sends.
pub fn ticket_psk(resumption_secret: &Expander, nonce: &[u8]) -> Secret {
    let len = resumption_secret.algorithm().output_len();
    resumption_secret.expand_label(b"resumption", nonce, len)
}

/// Whether [`export_keying_material`] can serve this request: the label must fit the
/// HkdfLabel encoding (at most 249 bytes) and the output at most 255 × Hash.length bytes.
/// Connections check this first and report `Error::Usage` otherwise.
pub fn exporter_args_ok(alg: HashAlgorithm, label: &[u8], out_len: usize) -> bool {
    hkdf::expand_label_args_ok(alg, label.len(), alg.output_len(), out_len)
}

/// TLS-Exporter(label, context, length) of RFC 8446 §7.5:
/// HKDF-Expand-Label(Derive-Secret(exporter_secret, label, ""), "exporter", Hash(context), length).
/// Requests that fail [`exporter_args_ok`] leave `out` zeroed.
pub fn export_keying_material(
    alg: HashAlgorithm,
    exporter_secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) {
    out.fill(0);
    if !exporter_args_ok(alg, label, out.len()) {
        return;
    }
    let per_label = derive_secret(alg, exporter_secret, label, alg.empty_hash());
    let ok = hkdf::expand_label_into(
        alg,
        per_label.as_bytes(),
        b"exporter",
        alg.hash(context).as_ref(),
        out,
    );
    if !ok {
        out.fill(0);
    }
}

/// The record key and IV for one direction (RFC 8446 §7.3).
pub fn traffic_key_iv(
    alg: HashAlgorithm,
    aead: AeadAlgorithm,
    secret: &[u8],
) -> (Secret, [u8; 12]) {
    prepared_key_iv(aead, &Expander::new(alg, secret))
}

/// [`traffic_key_iv`] from a traffic secret already prepared for expansion.
pub fn prepared_key_iv(aead: AeadAlgorithm, secret: &Expander) -> (Secret, [u8; 12]) {
    let key = secret.expand_label(b"key", b"", aead.key_len());
    let mut iv = [0u8; 12];
    let ok = secret.expand_label_into(b"iv", b"", &mut iv);
    debug_assert!(ok);
    (key, iv)
}

/// Record protection for sending under a traffic secret: its key and IV (RFC 8446 §7.3)
/// handed to the record layer, which knows nothing of the key schedule.
pub fn encrypter(suite: &SuiteInfo, traffic_secret: &[u8]) -> Result<RecordEncrypter, Error> {
    encrypter_prepared(suite, &Expander::new(suite.hash, traffic_secret))
}

/// [`encrypter`] from a traffic secret already prepared with the suite's hash.
pub fn encrypter_prepared(
    suite: &SuiteInfo,
    traffic_secret: &Expander,
) -> Result<RecordEncrypter, Error> {
    let (key, iv) = prepared_key_iv(suite.aead, traffic_secret);
    RecordEncrypter::tls13(suite, key.as_bytes(), iv)
}

/// Record protection for receiving under a traffic secret (see [`encrypter`]).
pub fn decrypter(suite: &SuiteInfo, traffic_secret: &[u8]) -> Result<RecordDecrypter, Error> {
    decrypter_prepared(suite, &Expander::new(suite.hash, traffic_secret))
}

/// [`decrypter`] from a traffic secret already prepared with the suite's hash.
pub fn decrypter_prepared(
    suite: &SuiteInfo,
    traffic_secret: &Expander,
) -> Result<RecordDecrypter, Error> {
    let (key, iv) = prepared_key_iv(suite.aead, traffic_secret);
    RecordDecrypter::tls13(suite, key.as_bytes(), iv)
}

#[cfg(test)]
mod tests {
    //! Values from RFC 8448 §3 ("Simple 1-RTT Handshake", TLS_AES_128_GCM_SHA256, X25519).
    use super::*;
    use crate::crypto::unhex;

    const ALG: HashAlgorithm = HashAlgorithm::Sha256;
    const ECDHE: &str = "8b d4 05 4f b5 5b 9d 63 fd fb ac f9 f0 4b 9f 0d 35 e6 d6 3f 53 75 63 ef d4 62 72 90 0f 89 49 2d";
    const HELLO_HASH: &str = "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8";
    const SERVER_FIN_HASH: &str = "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 ff 83 df 13";
    const CLIENT_FIN_HASH: &str = "20 91 45 a9 6e e8 e2 a1 22 ff 81 00 47 cc 95 26 84 65 8d 60 49 e8 64 29 42 6d b8 7c 54 ad 14 3d";

    #[test]
    fn rfc8448_simple_1rtt_schedule() {
        let early = EarlySecret::new(ALG, None);
        assert_eq!(
            early.secret.bytes.as_bytes(),
            unhex(
                "33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26 60 e1 b2 2e 10 f1 70 f9 2a"
            )
        );
        assert_eq!(
            early.secret.derived().as_bytes(),
            unhex(
                "6f 26 15 a1 08 c7 02 c5 67 8f 54 fc 9d ba b6 97 16 c0 76 18 9c 48 25 0c eb ea c3 57 6c 36 11 ba"
            )
        );

        let hs = early.into_handshake(&unhex(ECDHE));
        assert_eq!(
            hs.secret.bytes.as_bytes(),
            unhex(
                "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac"
            )
        );
        let hts = hs.traffic_secrets(&unhex(HELLO_HASH));
        assert_eq!(
            hts.client.as_bytes(),
            unhex(
                "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21"
            )
        );
        assert_eq!(
            hts.server.as_bytes(),
            unhex(
                "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38"
            )
        );

        // Finished keys ("calculate finished \"tls13 finished\"").
        assert_eq!(
            expand_label(ALG, hts.client.as_bytes(), b"finished", b"", 32).as_bytes(),
            unhex(
                "b8 0a d0 10 15 fb 2f 0b d6 5f f7 d4 da 5d 6b f8 3f 84 82 1d 1f 87 fd c7 d3 c7 5b 5a 7b 42 d9 c4"
            )
        );
        assert_eq!(
            expand_label(ALG, hts.server.as_bytes(), b"finished", b"", 32).as_bytes(),
            unhex(
                "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8"
            )
        );
        // The server's Finished verify_data as it appears in the trace's Finished message.
        // The transcript hash (ClientHello..CertificateVerify) is not printed in RFC 8448;
        // it was computed from the trace's messages (BouncyCastle's RFC 8448 test prints it).
        let sf = finished_verify_data(
            ALG,
            hts.server.as_bytes(),
            &unhex(
                "ed b7 72 5f a7 a3 47 3b 03 1e c8 ef 65 a2 48 54 93 90 01 38 a2 b9 12 91 40 7d 79 51 a0 61 10 ed",
            ),
        );
        assert_eq!(
            sf.as_ref(),
            unhex(
                "9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c 30 95 72 cb 7f ff ee 54 54 b7 8f 07 18"
            )
        );

        // Server handshake write key and IV.
        let (key, iv) = traffic_key_iv(ALG, AeadAlgorithm::Aes128Gcm, hts.server.as_bytes());
        assert_eq!(
            key.as_bytes(),
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(iv.as_slice(), unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
        let (key, iv) = traffic_key_iv(ALG, AeadAlgorithm::Aes128Gcm, hts.client.as_bytes());
        assert_eq!(
            key.as_bytes(),
            unhex("db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01")
        );
        assert_eq!(iv.as_slice(), unhex("5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"));

        let master = hs.into_master();
        assert_eq!(
            master.secret.bytes.as_bytes(),
            unhex(
                "18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c 62 79 84 d5 a4 1d a8 d0 40 29 19"
            )
        );
        let ats = master.traffic_secrets(&unhex(SERVER_FIN_HASH));
        assert_eq!(
            ats.client.as_bytes(),
            unhex(
                "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5"
            )
        );
        assert_eq!(
            ats.server.as_bytes(),
            unhex(
                "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"
            )
        );
        let (key, iv) = traffic_key_iv(ALG, AeadAlgorithm::Aes128Gcm, ats.server.as_bytes());
        assert_eq!(
            key.as_bytes(),
            unhex("9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56")
        );
        assert_eq!(iv.as_slice(), unhex("cf 78 2b 88 dd 83 54 9a ad f1 e9 84"));
        let (key, iv) = traffic_key_iv(ALG, AeadAlgorithm::Aes128Gcm, ats.client.as_bytes());
        assert_eq!(
            key.as_bytes(),
            unhex("17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51")
        );
        assert_eq!(iv.as_slice(), unhex("5b 78 92 3d ee 08 57 90 33 e5 23 d9"));

        assert_eq!(
            master.exporter_secret(&unhex(SERVER_FIN_HASH)).as_bytes(),
            unhex(
                "fe 22 f8 81 17 6e da 18 eb 8f 44 52 9e 67 92 c5 0c 9a 3f 89 45 2f 68 d8 ae 31 1b 43 09 d3 cf 50"
            )
        );
        assert_eq!(
            master.resumption_secret(&unhex(CLIENT_FIN_HASH)).as_bytes(),
            unhex(
                "7d f2 35 f2 03 1d 2a 05 12 87 d0 2b 02 41 b0 bf da f8 6c c8 56 23 1f 2d 5a ba 46 c4 34 ec 19 6c"
            )
        );
    }

    /// RFC 8448 §4 (resumed 0-RTT): the early secret from the ticket PSK and its binder key.
    #[test]
    fn rfc8448_resumption_early_secret() {
        let psk = unhex(
            "4e cd 0e b6 ec 3b 4d 87 f5 d6 02 8f 92 2c a4 c5 85 1a 27 7f d4 13 11 c9 e6 2d 2c 94 92 e1 c4 f3",
        );
        let early = EarlySecret::new(ALG, Some(&psk));
        assert_eq!(
            early.secret.bytes.as_bytes(),
            unhex(
                "9b 21 88 e9 b2 fc 6d 64 d7 1d c3 29 90 0e 20 bb 41 91 50 00 f6 78 aa 83 9c bb 79 7c b7 d8 33 2c"
            )
        );
        assert_eq!(
            early.binder_key(true).as_bytes(),
            unhex(
                "69 fe 13 1a 3b ba d5 d6 3c 64 ee bc c3 0e 39 5b 9d 81 07 72 6a 13 d0 74 e3 89 db c8 a4 e4 72 56"
            )
        );
        assert_ne!(
            early.binder_key(false).as_bytes(),
            early.binder_key(true).as_bytes()
        );
    }

    #[test]
    fn key_update_ticket_exporter() {
        let s = [5u8; 48];
        let next = next_traffic_secret(HashAlgorithm::Sha384, &s);
        assert_eq!(
            next.as_bytes(),
            expand_label(HashAlgorithm::Sha384, &s, b"traffic upd", b"", 48).as_bytes()
        );
        assert_eq!(
            ticket_psk(&Expander::new(HashAlgorithm::Sha384, &s), &[0, 1]).as_bytes(),
            expand_label(HashAlgorithm::Sha384, &s, b"resumption", &[0, 1], 48).as_bytes()
        );

        let mut a = [0u8; 40];
        let mut b = [0u8; 40];
        export_keying_material(ALG, &[1; 32], b"EXPORTER-x", b"", &mut a);
        export_keying_material(ALG, &[1; 32], b"EXPORTER-x", b"ctx", &mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 40]);
        assert!(!exporter_args_ok(ALG, &[b'a'; 250], 10));
        assert!(!exporter_args_ok(ALG, b"x", 255 * 32 + 1));
        let mut big = vec![1u8; 255 * 32 + 1];
        export_keying_material(ALG, &[1; 32], b"x", b"", &mut big);
        assert!(big.iter().all(|&x| x == 0));
    }
}

#[cfg(test)]
mod rfc8448_client_finished {
    use super::*;
    use crate::codec::enums::{CipherSuite, ContentType};
    use crate::crypto::unhex;

    /// RFC 8448 §3: the client's Finished verify_data over the transcript through the
    /// server's Finished, and that Finished message protected with the client handshake
    /// traffic secret at sequence number 0, byte for byte.
    #[test]
    fn client_finished_value_and_record() {
        let alg = HashAlgorithm::Sha256;
        let c_hs = unhex(
            "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21",
        );
        let server_finished_hash = unhex(
            "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 ff 83 df 13",
        );
        let verify = finished_verify_data(alg, &c_hs, &server_finished_hash);
        let expected = unhex(
            "a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5 ce 61",
        );
        assert_eq!(verify.as_ref(), expected.as_slice());

        let suite = crate::crypto::suites::lookup(CipherSuite::TLS_AES_128_GCM_SHA256).unwrap();
        let enc = encrypter(suite, &c_hs).unwrap();
        let mut msg = unhex("14 00 00 20");
        msg.extend_from_slice(&expected);
        let mut record = Vec::new();
        enc.encrypt(0, ContentType::Handshake, &msg, &mut record)
            .unwrap();
        let want = unhex(
            "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc
             44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46",
        );
        assert_eq!(record, want);
    }

    /// RFC 8448 §3: the client's first application_data record (sequence number 0 under
    /// the client application traffic secret), 50 bytes 00..31 of payload.
    #[test]
    fn rfc8448_client_application_record() {
        let suite = crate::crypto::suites::lookup(CipherSuite::TLS_AES_128_GCM_SHA256).unwrap();
        let secret = unhex(
            "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5",
        );
        let record = unhex(
            "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab
             3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d
             ea e6 3a ee bb 21 69 49 15 e4",
        );
        let payload: Vec<u8> = (0u8..=0x31).collect();

        let enc = encrypter(suite, &secret).unwrap();
        let mut out = Vec::new();
        enc.encrypt(0, ContentType::ApplicationData, &payload, &mut out)
            .unwrap();
        assert_eq!(out, record);

        let dec = decrypter(suite, &secret).unwrap();
        let mut rec = record.clone();
        let (h, b) = rec.split_at_mut(5);
        let h: [u8; 5] = h.try_into().unwrap();
        assert_eq!(
            dec.decrypt(0, &h, b).unwrap(),
            (ContentType::ApplicationData, payload.as_slice())
        );
    }
}
