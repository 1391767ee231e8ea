//! TLS 1.3 pieces both roles share: installing handshake and application keys with their
//! key-log lines, the CertificateVerify input, Finished checks and KeyUpdate.

use crate::codec::enums::{KeyUpdateRequest, SignatureScheme};
use crate::codec::handshake::HandshakePayload;
use crate::context::{Common, Established, HandshakeKind};
use crate::crypto::ct::constant_time_eq;
use crate::crypto::hash::Transcript;
use crate::crypto::hkdf::{Expander, Secret};
use crate::crypto::suites::SuiteInfo;
use crate::error::{Error, Reason};
use crate::tls13::key_schedule::{
    EarlySecret, FinishedKey, HandshakeSecret, MasterSecret, TrafficSecrets, decrypter,
    decrypter_prepared, encrypter, encrypter_prepared, finished_verify_data, next_traffic_secret,
};

/// Handshake-stage secrets: the schedule (to continue to the master secret) and the
/// Finished keys of the two handshake traffic secrets.
pub(crate) struct HandshakeKeys {
    pub(crate) schedule: HandshakeSecret,
    pub(crate) finished: FinishedKeys,
}

/// The client's and the server's Finished keys.
pub(crate) struct FinishedKeys {
    pub(crate) client: FinishedKey,
    pub(crate) server: FinishedKey,
}

/// Derive the handshake traffic secrets after ServerHello and switch both directions to
/// them (RFC 8446 §7.1). `early` is the Early Secret (from the ticket's PSK when resuming,
/// made once for the binder); the transcript covers ClientHello..ServerHello.
pub(crate) fn start_handshake_keys(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    early: EarlySecret,
    shared_secret: &[u8],
    transcript: &Transcript,
) -> Result<HandshakeKeys, Error> {
    let schedule = early.into_handshake(shared_secret);
    let hash = transcript.current_hash();
    let traffic = schedule.traffic_secrets(hash.as_ref());
    cx.log_key("CLIENT_HANDSHAKE_TRAFFIC_SECRET", traffic.client.as_bytes());
    cx.log_key("SERVER_HANDSHAKE_TRAFFIC_SECRET", traffic.server.as_bytes());
    // Each secret gives a record key, an IV and a Finished key: prepare its HMAC key once.
    let client = Expander::new(suite.hash, traffic.client.as_bytes());
    let server = Expander::new(suite.hash, traffic.server.as_bytes());
    let (mine, theirs) = if cx.is_client {
        (&client, &server)
    } else {
        (&server, &client)
    };
    cx.set_encrypter(encrypter_prepared(suite, mine)?);
    cx.set_decrypter(decrypter_prepared(suite, theirs)?);
    cx.trace(crate::context::TraceKind::State, || {
        "keys: handshake traffic keys installed; everything after ServerHello is encrypted".into()
    });
    let finished = FinishedKeys {
        client: FinishedKey::new(&client),
        server: FinishedKey::new(&server),
    };
    Ok(HandshakeKeys { schedule, finished })
}

/// What a TLS 1.3 handshake leaves for the connection: the application traffic secrets,
/// moved forward by KeyUpdate, and the exporter secret. The traffic state of each side holds
/// it.
pub(crate) struct Tls13Established {
    suite: &'static SuiteInfo,
    client: Secret,
    server: Secret,
    exporter: Secret,
}

/// Derive the application traffic secrets once the server's Finished is in the transcript.
/// Returns the master secret for the resumption secret later.
pub(crate) fn application_secrets(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    schedule: HandshakeSecret,
    transcript: &Transcript,
) -> (MasterSecret, Tls13Established) {
    let master = schedule.into_master();
    let hash = transcript.current_hash();
    let TrafficSecrets { client, server } = master.traffic_secrets(hash.as_ref());
    let exporter = master.exporter_secret(hash.as_ref());
    cx.log_key("CLIENT_TRAFFIC_SECRET_0", client.as_bytes());
    cx.log_key("SERVER_TRAFFIC_SECRET_0", server.as_bytes());
    cx.log_key("EXPORTER_SECRET", exporter.as_bytes());
    let secrets = Tls13Established {
        suite,
        client,
        server,
        exporter,
    };
    (master, secrets)
}

impl Tls13Established {
    /// Switch our sending direction to the application keys.
    pub(crate) fn install_writer(&self, cx: &mut Common) -> Result<(), Error> {
        let mine = if cx.is_client {
            &self.client
        } else {
            &self.server
        };
        cx.set_encrypter(encrypter(self.suite, mine.as_bytes())?);
        Ok(())
    }

    /// Switch our receiving direction to the application keys.
    pub(crate) fn install_reader(&self, cx: &mut Common) -> Result<(), Error> {
        let theirs = if cx.is_client {
            &self.server
        } else {
            &self.client
        };
        cx.set_decrypter(decrypter(self.suite, theirs.as_bytes())?);
        Ok(())
    }

    /// The handshake is complete: note a full handshake unless it was another kind, and
    /// hand the secrets to the traffic state.
    pub(crate) fn complete(self, cx: &mut Common) -> Self {
        if cx.neg.kind.is_none() {
            cx.neg.kind = Some(HandshakeKind::Full);
        }
        self
    }

    /// The negotiated suite.
    pub(crate) fn suite(&self) -> &'static SuiteInfo {
        self.suite
    }

    /// The Finished key of a post-handshake authentication: from the current client
    /// application traffic secret (RFC 8446 §4.4, "client_application_traffic_secret_N").
    pub(crate) fn client_finished_key(&self) -> FinishedKey {
        FinishedKey::new(&Expander::new(self.suite.hash, self.client.as_bytes()))
    }

    /// Move one direction's application traffic secret forward ("traffic upd", RFC 8446
    /// §7.2) and return the new secret.
    fn next_secret(&mut self, client_side: bool) -> &Secret {
        let secret = if client_side {
            &mut self.client
        } else {
            &mut self.server
        };
        *secret = next_traffic_secret(self.suite.hash, secret.as_bytes());
        secret
    }

    /// Send KeyUpdate, then move our sending direction to the next secret (RFC 8446 §4.6.3).
    fn send(&mut self, cx: &mut Common, req: KeyUpdateRequest) -> Result<(), Error> {
        cx.send_hs(HandshakePayload::KeyUpdate(req))?;
        let suite = self.suite;
        let mine = self.next_secret(cx.is_client);
        cx.set_encrypter(encrypter(suite, mine.as_bytes())?);
        Ok(())
    }

    /// Handle the peer's KeyUpdate: move our receiving direction forward, and answer when
    /// asked.
    pub(crate) fn receive_key_update(
        &mut self,
        cx: &mut Common,
        req: KeyUpdateRequest,
    ) -> Result<(), Error> {
        let answer = match req {
            KeyUpdateRequest::UpdateRequested => true,
            KeyUpdateRequest::UpdateNotRequested => false,
            KeyUpdateRequest::Unknown(v) => {
                return Err(Error::peer(
                    Reason::BadKeyUpdate,
                    format!("KeyUpdate request value {v} is neither 0 nor 1"),
                ));
            }
        };
        let suite = self.suite;
        let theirs = self.next_secret(!cx.is_client);
        cx.set_decrypter(decrypter(suite, theirs.as_bytes())?);
        if answer {
            self.send(cx, KeyUpdateRequest::UpdateNotRequested)?;
        }
        Ok(())
    }
}

impl Established for Tls13Established {
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }

    fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        crate::tls13::key_schedule::export_keying_material(
            self.suite.hash,
            self.exporter.as_bytes(),
            label,
            context.unwrap_or(&[]),
            out,
        );
        Ok(())
    }

    fn send_key_update(&mut self, cx: &mut Common, request_peer: bool) -> Result<(), Error> {
        let req = if request_peer {
            KeyUpdateRequest::UpdateRequested
        } else {
            KeyUpdateRequest::UpdateNotRequested
        };
        self.send(cx, req)
    }
}

/// A resumption PSK binder (RFC 8446 §4.2.11.2): a Finished-style HMAC with the binder key
/// over `transcript`, which holds the messages before this ClientHello (the first
/// ClientHello and HelloRetryRequest, if any) and this ClientHello up to its binders list.
/// Both sides hash the ClientHello into the transcript in two parts around this call, so its
/// bytes are hashed once, not once more for the binder.
pub(crate) fn psk_binder(
    early: &EarlySecret,
    transcript: &Transcript,
) -> crate::crypto::hash::Output {
    let hash = transcript.current_hash();
    let key = early.binder_key(true);
    finished_verify_data(early.algorithm(), key.as_bytes(), hash.as_ref())
}

/// The content a CertificateVerify signs (RFC 8446 §4.4.3): 64 spaces, a context string,
/// a zero byte, then the transcript hash.
pub(crate) fn certificate_verify_input(transcript_hash: &[u8], from_server: bool) -> Vec<u8> {
    let context: &[u8] = if from_server {
        b"TLS 1.3, server CertificateVerify"
    } else {
        b"TLS 1.3, client CertificateVerify"
    };
    let mut m = Vec::with_capacity(64 + context.len() + 1 + transcript_hash.len());
    m.extend_from_slice(&[0x20; 64]);
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(transcript_hash);
    m
}

/// The Finished message we send, computed over the transcript so far.
pub(crate) fn finished_message(
    suite: &SuiteInfo,
    key: &FinishedKey,
    transcript: &Transcript,
) -> HandshakePayload {
    let hash = transcript.current_hash();
    let verify = key.verify_data(suite.hash, hash.as_ref());
    HandshakePayload::Finished(verify.as_ref().to_vec())
}

/// Check the peer's Finished in constant time (RFC 8446 §4.4.4).
pub(crate) fn check_finished(
    suite: &SuiteInfo,
    key: &FinishedKey,
    transcript: &Transcript,
    received: &[u8],
    peer: &str,
) -> Result<(), Error> {
    let hash = transcript.current_hash();
    let expected = key.verify_data(suite.hash, hash.as_ref());
    // A verify_data of the wrong length is a malformed message, not a wrong value: its length
    // is the hash length, fixed by the suite (RFC 8446 §4.4.4).
    if received.len() != expected.as_ref().len() {
        return Err(Error::peer(
            Reason::FinishedWrongLength,
            format!(
                "the {peer}'s Finished message is {} bytes long; with {} its verify_data is exactly {} \
             bytes (RFC 8446 §4.4.4)",
                received.len(),
                suite.suite,
                expected.as_ref().len()
            ),
        ));
    }
    if !constant_time_eq(expected.as_ref(), received) {
        return Err(Error::peer(
            Reason::FinishedMismatch,
            format!(
                "the {peer}'s Finished message does not match our handshake transcript: the handshake \
             was altered in transit, or the two sides derived different keys"
            ),
        ));
    }
    Ok(())
}

/// Check that the peer signed with a scheme we offered.
pub(crate) fn check_offered_scheme(
    scheme: SignatureScheme,
    offered: &[SignatureScheme],
    peer: &str,
) -> Result<(), Error> {
    if offered.contains(&scheme) {
        return Ok(());
    }
    Err(Error::peer(
        Reason::UnofferedSignatureScheme,
        format!(
            "the {peer} signed its CertificateVerify with {scheme}, which we did not offer (we offered {})",
            offered
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}
