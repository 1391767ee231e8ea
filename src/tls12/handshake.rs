//! TLS 1.2 pieces both roles share: the downgrade sentinels, the signed ServerKeyExchange
//! content, the master secret with its key block, Finished and the exporter.

use crate::codec::Codec as _;
use crate::codec::enums::SignatureScheme;
use crate::codec::handshake::{EcdheParams, HandshakePayload};
use crate::context::{Common, Established, HandshakeKind, Step, TraceKind};
use crate::crypto::ct::constant_time_eq;
use crate::crypto::hash::TranscriptBuffer;
use crate::crypto::hkdf::Secret;
use crate::crypto::sign::SigningKey;
use crate::crypto::suites::{AuthKind, SuiteInfo};
use crate::error::{Error, Reason};
use crate::record::cipher::{RecordDecrypter, RecordEncrypter};

use super::key_schedule;

/// The last 8 bytes of ServerHello.random when a TLS 1.3 server negotiates TLS 1.2
/// (RFC 8446 §4.1.3): "DOWNGRD" and 01.
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
/// The same for TLS 1.1 and below: "DOWNGRD" and 00.
pub const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// The certificate type a signature scheme belongs to, for matching it against a suite's
/// ECDHE_ECDSA / ECDHE_RSA. Ed25519 certificates go with ECDSA suites (RFC 8422 §3).
pub(crate) fn scheme_auth(scheme: SignatureScheme) -> Option<AuthKind> {
    use SignatureScheme as S;
    match scheme {
        S::ECDSA_NISTP256_SHA256 | S::ECDSA_NISTP384_SHA384 | S::ED25519 => Some(AuthKind::Ecdsa),
        S::RSA_PSS_RSAE_SHA256
        | S::RSA_PSS_RSAE_SHA384
        | S::RSA_PSS_RSAE_SHA512
        | S::RSA_PKCS1_SHA256
        | S::RSA_PKCS1_SHA384
        | S::RSA_PKCS1_SHA512 => Some(AuthKind::Rsa),
        _ => None,
    }
}

/// The suite family a key can authenticate.
pub(crate) fn key_auth(key: &SigningKey) -> AuthKind {
    if key.is_rsa() {
        AuthKind::Rsa
    } else {
        AuthKind::Ecdsa
    }
}

/// What a ServerKeyExchange signature covers (RFC 8422 §5.4): both randoms, then the
/// encoded ECDHE parameters.
pub(crate) fn server_key_exchange_input(
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    params: &EcdheParams,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + 4 + params.public.len());
    m.extend_from_slice(client_random);
    m.extend_from_slice(server_random);
    params.encode(&mut m);
    m
}

/// The longest TLS 1.2 key block of our suites: two 32-byte keys and two 12-byte fixed IVs
/// (ChaCha20-Poly1305).
const MAX_KEY_BLOCK: usize = 2 * 32 + 2 * 12;

/// The master secret and what the key block and exporter need besides it.
pub(crate) struct Tls12Secrets {
    pub(crate) suite: &'static SuiteInfo,
    /// Whether the master secret was derived with Extended Master Secret (RFC 7627).
    pub(crate) ems: bool,
    master: Secret,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// The key block (RFC 5246 §6.3), derived once for both directions; its first
    /// `suite.key_block_len()` bytes are used.
    key_block: zeroize::Zeroizing<[u8; MAX_KEY_BLOCK]>,
    /// The master secret prepared for the PRF (key block, both Finished messages).
    prf: crate::crypto::prf::PrfKey,
    /// The verify_data of each side's Finished once computed, [server, client]: what a
    /// secure renegotiation quotes in renegotiation_info (RFC 5746 §3.1).
    verify: [std::cell::Cell<Option<[u8; 12]>>; 2],
}

impl Tls12Secrets {
    /// Derive the master secret from the ECDHE pre-master secret. With EMS (RFC 7627 §4) the
    /// seed is the session hash, the transcript hash through ClientKeyExchange; without it,
    /// the two randoms (RFC 5246 §8.1). Logs the `CLIENT_RANDOM` key-log line.
    pub(crate) fn new(
        cx: &mut Common,
        suite: &'static SuiteInfo,
        pre_master: &Secret,
        ems: bool,
        transcript: &mut TranscriptBuffer,
        server_random: [u8; 32],
    ) -> Self {
        let client_random = cx.client_random;
        let master = if ems {
            let session_hash = transcript.hash(suite.hash);
            key_schedule::master_secret_ems(
                suite.hash,
                pre_master.as_bytes(),
                session_hash.as_ref(),
            )
        } else {
            key_schedule::master_secret(
                suite.hash,
                pre_master.as_bytes(),
                &client_random,
                &server_random,
            )
        };
        cx.log_key("CLIENT_RANDOM", master.as_bytes());
        cx.trace(TraceKind::State, || {
            if ems {
                "keys: master secret derived with Extended Master Secret (RFC 7627)".into()
            } else {
                "keys: master secret derived WITHOUT Extended Master Secret (legacy peer)".into()
            }
        });
        Self::with_key_block(suite, ems, master, client_random, server_random)
    }

    fn with_key_block(
        suite: &'static SuiteInfo,
        ems: bool,
        master: Secret,
        client_random: [u8; 32],
        server_random: [u8; 32],
    ) -> Self {
        let prf = crate::crypto::prf::PrfKey::new(suite.hash, master.as_bytes());
        let mut key_block = zeroize::Zeroizing::new([0u8; MAX_KEY_BLOCK]);
        key_schedule::key_block_into(
            &prf,
            &client_random,
            &server_random,
            &mut key_block[..suite.key_block_len()],
        );
        Self {
            suite,
            ems,
            master,
            client_random,
            server_random,
            key_block,
            prf,
            verify: Default::default(),
        }
    }

    /// An abbreviated handshake: the resumed session's master secret with fresh randoms.
    pub(crate) fn from_master(
        cx: &mut Common,
        suite: &'static SuiteInfo,
        master: Secret,
        server_random: [u8; 32],
        ems: bool,
    ) -> Self {
        cx.log_key("CLIENT_RANDOM", master.as_bytes());
        Self::with_key_block(suite, ems, master, cx.client_random, server_random)
    }

    /// The master secret, for the session kept after the handshake.
    pub(crate) fn master(&self) -> &Secret {
        &self.master
    }

    /// Split the key block (RFC 5246 §6.3) into (key, fixed IV) for one direction.
    fn direction_keys(&self, client: bool) -> (&[u8], &[u8]) {
        let s = self.suite;
        let (klen, ivlen) = (s.aead.key_len(), s.fixed_iv_len());
        let block = &self.key_block;
        let (key_at, iv_at) = if client {
            (0, 2 * klen)
        } else {
            (klen, 2 * klen + ivlen)
        };
        (&block[key_at..key_at + klen], &block[iv_at..iv_at + ivlen])
    }

    /// Protect what we send from now on (right after our ChangeCipherSpec).
    pub(crate) fn install_writer(&self, cx: &mut Common) -> Result<(), Error> {
        let (key, iv) = self.direction_keys(cx.is_client);
        cx.set_encrypter(RecordEncrypter::tls12(self.suite, key, iv)?);
        Ok(())
    }

    /// Decrypt what the peer sends from now on (right after its ChangeCipherSpec).
    pub(crate) fn install_reader(&self, cx: &mut Common) -> Result<(), Error> {
        let (key, iv) = self.direction_keys(!cx.is_client);
        cx.set_decrypter(RecordDecrypter::tls12(self.suite, key, iv)?);
        Ok(())
    }

    fn verify_data(&self, from_client: bool, transcript: &mut TranscriptBuffer) -> [u8; 12] {
        let hash = transcript.hash(self.suite.hash);
        let v = key_schedule::verify_data_with(&self.prf, from_client, hash.as_ref());
        self.verify[usize::from(from_client)].set(Some(v));
        v
    }

    /// Our Finished over the transcript so far (RFC 5246 §7.4.9).
    pub(crate) fn finished_message(
        &self,
        from_client: bool,
        transcript: &mut TranscriptBuffer,
    ) -> HandshakePayload {
        HandshakePayload::Finished(self.verify_data(from_client, transcript).to_vec())
    }

    /// Check the peer's Finished in constant time.
    pub(crate) fn check_finished(
        &self,
        from_client: bool,
        transcript: &mut TranscriptBuffer,
        received: &[u8],
    ) -> Result<(), Error> {
        let expected = self.verify_data(from_client, transcript);
        let peer = if from_client { "client" } else { "server" };
        // verify_data is 12 bytes for every TLS 1.2 suite we have (RFC 5246 §7.4.9); another
        // length is a malformed message, not a wrong value.
        if received.len() != expected.len() {
            return Err(Error::peer(
                Reason::FinishedWrongLength,
                format!(
                    "the {peer}'s Finished message is {} bytes long; its verify_data is exactly {} \
                 bytes (RFC 5246 §7.4.9)",
                    received.len(),
                    expected.len()
                ),
            ));
        }
        if constant_time_eq(&expected, received) {
            return Ok(());
        }
        Err(Error::peer(
            Reason::FinishedMismatch,
            format!(
                "the {peer}'s Finished message does not match our handshake transcript: the handshake \
             was altered in transit, or the two sides derived different keys"
            ),
        ))
    }

    /// The handshake is complete: note a full handshake unless it was another kind, and
    /// keep what the exporter needs for the traffic state.
    pub(crate) fn complete(self, cx: &mut Common) -> Box<Tls12Established> {
        if cx.neg.kind.is_none() {
            cx.neg.kind = Some(HandshakeKind::Full);
        }
        if cx.renegotiating.take().is_some() {
            cx.trace(TraceKind::State, || {
                "Handshake Again complete: the new keys and session are in use (RFC 5746)".into()
            });
        }
        Box::new(Tls12Established {
            suite: self.suite,
            master: self.master,
            client_random: self.client_random,
            server_random: self.server_random,
            client_verify: self.verify[1].get().unwrap_or_default(),
            server_verify: self.verify[0].get().unwrap_or_default(),
        })
    }
}

/// What a TLS 1.2 handshake leaves for the connection: the exporter's inputs (RFC 5705
/// works from the master secret and both randoms).
pub(crate) struct Tls12Established {
    suite: &'static SuiteInfo,
    master: Secret,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// Both Finished messages' verify_data, for a renegotiation's renegotiation_info.
    pub(crate) client_verify: [u8; 12],
    pub(crate) server_verify: [u8; 12],
}

impl Established for Tls12Established {
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }

    fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        if context.is_some_and(|c| c.len() > usize::from(u16::MAX)) {
            return Err(Error::Usage(format!(
                "an exporter context is at most {} bytes in TLS 1.2 (RFC 5705 §4)",
                u16::MAX
            )));
        }
        key_schedule::export(
            self.suite.hash,
            self.master.as_bytes(),
            label,
            &self.client_random,
            &self.server_random,
            context,
            out,
        );
        Ok(())
    }

    fn send_key_update(&mut self, _cx: &mut Common, _request_peer: bool) -> Result<(), Error> {
        Err(Error::Usage(
            "KeyUpdate needs a completed TLS 1.3 handshake; TLS 1.2 has none (RFC 8446 §4.6.3)"
                .into(),
        ))
    }
}

/// Step Ten / Step Eleven: our ChangeCipherSpec, then our keys, then our Finished.
pub(crate) fn send_ccs_and_finished(
    cx: &mut Common,
    secrets: &Tls12Secrets,
    transcript: &mut TranscriptBuffer,
) -> Result<(), Error> {
    cx.send_ccs(Step::change_cipher_spec(cx.is_client))?;
    secrets.install_writer(cx)?;
    let is_client = cx.is_client;
    let fin = secrets.finished_message(is_client, transcript);
    let enc = cx.send_hs(fin)?;
    transcript.add(enc);
    Ok(())
}

/// The peer's ChangeCipherSpec: trace it and switch our reading direction to its keys.
pub(crate) fn receive_ccs(cx: &mut Common, secrets: &Tls12Secrets) -> Result<(), Error> {
    let step = Step::change_cipher_spec(!cx.is_client);
    let again = cx.again_prefix();
    cx.trace(TraceKind::HandshakeIn, || {
        format!("handshake in:  {again}{step}")
    });
    secrets.install_reader(cx)
}

/// Decline a renegotiation with a warning alert (RFC 5746 §4.2, RFC 5246 §7.2.2); the
/// connection carries on under the current keys.
pub(crate) fn decline_renegotiation(cx: &mut Common, what: &str) {
    let what = what.to_owned();
    cx.trace(TraceKind::State, || {
        format!("renegotiation: the peer sent {what} after the handshake; declined with a warning no_renegotiation alert, the connection continues")
    });
    cx.send_alert(
        crate::codec::enums::AlertLevel::Warning,
        crate::codec::enums::AlertDescription::NoRenegotiation,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::enums::{CipherSuite, NamedGroup};
    use crate::crypto::suites::lookup;

    #[test]
    fn sentinels_are_the_rfc_bytes() {
        assert_eq!(
            DOWNGRADE_TLS12,
            [0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01]
        );
        assert_eq!(DOWNGRADE_TLS11[7], 0);
    }

    #[test]
    fn schemes_map_to_suite_families() {
        use SignatureScheme as S;
        assert_eq!(scheme_auth(S::ED25519), Some(AuthKind::Ecdsa));
        assert_eq!(scheme_auth(S::ECDSA_NISTP384_SHA384), Some(AuthKind::Ecdsa));
        assert_eq!(scheme_auth(S::RSA_PKCS1_SHA256), Some(AuthKind::Rsa));
        assert_eq!(scheme_auth(S::RSA_PSS_RSAE_SHA512), Some(AuthKind::Rsa));
        assert_eq!(scheme_auth(S::Unknown(0x0201)), None);
    }

    #[test]
    fn key_block_split_follows_rfc5246() {
        for suite in [
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ] {
            let suite = lookup(suite).unwrap();
            let s = Tls12Secrets::with_key_block(
                suite,
                true,
                Secret::from_slice(&[5; 48]),
                [1; 32],
                [2; 32],
            );
            let block = key_schedule::key_block(
                suite.hash,
                &[5; 48],
                &[1; 32],
                &[2; 32],
                suite.key_block_len(),
            );
            let (k, iv) = (suite.aead.key_len(), suite.fixed_iv_len());
            let (ck, civ) = s.direction_keys(true);
            let (sk, siv) = s.direction_keys(false);
            assert_eq!(ck, &block[..k]);
            assert_eq!(sk, &block[k..2 * k]);
            assert_eq!(civ, &block[2 * k..2 * k + iv]);
            assert_eq!(siv, &block[2 * k + iv..]);
        }
    }

    #[test]
    fn server_key_exchange_input_is_randoms_then_params() {
        let p = EcdheParams {
            group: NamedGroup::X25519,
            public: vec![9; 32],
        };
        let m = server_key_exchange_input(&[1; 32], &[2; 32], &p);
        assert_eq!(&m[..32], &[1; 32]);
        assert_eq!(&m[32..64], &[2; 32]);
        assert_eq!(&m[64..68], &[3, 0, 0x1d, 32]);
        assert_eq!(m.len(), 68 + 32);
    }
}
