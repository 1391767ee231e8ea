//! TLS 1.3 pieces both roles share: installing handshake and application keys with their
//! key-log lines, the CertificateVerify input, Finished checks and KeyUpdate.

use crate::codec::enums::{KeyUpdateRequest, SignatureScheme};
use crate::codec::handshake::HandshakePayload;
use crate::conn::{AppSecrets, Common, Exporter};
use crate::crypto::ct::constant_time_eq;
use crate::crypto::hash::Transcript;
use crate::crypto::hkdf::{Expander, Secret};
use crate::crypto::suites::SuiteInfo;
use crate::error::Error;
use crate::record::cipher::{RecordDecrypter, RecordEncrypter};
use crate::tls13::key_schedule::{
    EarlySecret, FinishedKey, HandshakeSecret, MasterSecret, TrafficSecrets, finished_verify_data,
    next_traffic_secret,
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
    cx.set_encrypter(RecordEncrypter::tls13_prepared(suite, mine)?);
    cx.set_decrypter(RecordDecrypter::tls13_prepared(suite, theirs)?);
    cx.trace(crate::conn::TraceKind::State, || {
        "keys: handshake traffic keys installed; everything after ServerHello is encrypted".into()
    });
    let finished = FinishedKeys {
        client: FinishedKey::new(&client),
        server: FinishedKey::new(&server),
    };
    Ok(HandshakeKeys { schedule, finished })
}

/// Derive the application traffic secrets once the server's Finished is in the transcript.
/// Returns the master secret for the resumption secret later.
pub(crate) fn application_secrets(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    schedule: HandshakeSecret,
    transcript: &Transcript,
) -> (MasterSecret, TrafficSecrets) {
    let master = schedule.into_master();
    let hash = transcript.current_hash();
    let app = master.traffic_secrets(hash.as_ref());
    let exporter = master.exporter_secret(hash.as_ref());
    cx.log_key("CLIENT_TRAFFIC_SECRET_0", app.client.as_bytes());
    cx.log_key("SERVER_TRAFFIC_SECRET_0", app.server.as_bytes());
    cx.log_key("EXPORTER_SECRET", exporter.as_bytes());
    cx.exporter = Some(Exporter::Tls13 {
        alg: suite.hash,
        secret: exporter,
    });
    (master, app)
}

/// Switch our sending direction to the application keys.
pub(crate) fn install_app_writer(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    app: &TrafficSecrets,
) -> Result<(), Error> {
    let mine = if cx.is_client {
        &app.client
    } else {
        &app.server
    };
    cx.set_encrypter(RecordEncrypter::tls13(suite, mine.as_bytes())?);
    Ok(())
}

/// Switch our receiving direction to the application keys.
pub(crate) fn install_app_reader(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    app: &TrafficSecrets,
) -> Result<(), Error> {
    let theirs = if cx.is_client {
        &app.server
    } else {
        &app.client
    };
    cx.set_decrypter(RecordDecrypter::tls13(suite, theirs.as_bytes())?);
    Ok(())
}

/// Keep the application secrets for KeyUpdate and mark the handshake complete.
pub(crate) fn complete(cx: &mut Common, suite: &'static SuiteInfo, app: TrafficSecrets) {
    cx.app_secrets = Some(AppSecrets {
        suite,
        client: app.client,
        server: app.server,
    });
    cx.handshake_complete = true;
    if cx.neg.kind.is_none() {
        cx.neg.kind = Some(crate::conn::HandshakeKind::Full);
    }
}

/// A resumption PSK binder (RFC 8446 §4.2.11.2): a Finished-style HMAC with the binder key
/// over the transcript hash up to the binders list. `prior` holds the messages before this
/// ClientHello (the first ClientHello and HelloRetryRequest), if any.
pub(crate) fn psk_binder(
    early: &EarlySecret,
    prior: Option<&Transcript>,
    truncated_hello: &[u8],
) -> crate::crypto::hash::Output {
    let alg = early.algorithm();
    let hash = match prior {
        Some(t) => t.hash_with_extra(truncated_hello),
        None => alg.hash(truncated_hello),
    };
    let key = early.binder_key(true);
    finished_verify_data(alg, key.as_bytes(), hash.as_ref())
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
        return Err(Error::Decode(format!(
            "the {peer}'s Finished message is {} bytes long; with {} its verify_data is exactly {} \
             bytes (RFC 8446 §4.4.4)",
            received.len(),
            suite.suite,
            expected.as_ref().len()
        )));
    }
    if !constant_time_eq(expected.as_ref(), received) {
        return Err(Error::DecryptError(format!(
            "the {peer}'s Finished message does not match our handshake transcript: the handshake \
             was altered in transit, or the two sides derived different keys"
        )));
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
    Err(Error::IllegalParameter(format!(
        "the {peer} signed its CertificateVerify with {scheme}, which we did not offer (we offered {})",
        offered
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Move one direction's application traffic secret forward ("traffic upd", RFC 8446
/// §7.2) and return the new secret with its suite.
fn next_secret(cx: &mut Common, client_side: bool) -> Result<(&'static SuiteInfo, Secret), Error> {
    let secrets = cx
        .app_secrets
        .as_mut()
        .ok_or_else(|| Error::Internal("KeyUpdate without application secrets".into()))?;
    let suite = secrets.suite;
    let secret = if client_side {
        &mut secrets.client
    } else {
        &mut secrets.server
    };
    *secret = next_traffic_secret(suite.hash, secret.as_bytes());
    Ok((suite, secret.clone()))
}

/// Send KeyUpdate, then move our sending direction to the next secret (RFC 8446 §4.6.3).
pub(crate) fn send_key_update(cx: &mut Common, req: KeyUpdateRequest) -> Result<(), Error> {
    let msg = HandshakePayload::KeyUpdate(req);
    cx.send_hs(msg)?;
    let (suite, mine) = next_secret(cx, cx.is_client)?;
    cx.set_encrypter(RecordEncrypter::tls13(suite, mine.as_bytes())?);
    Ok(())
}

/// Handle the peer's KeyUpdate: move our receiving direction forward, and answer when asked.
pub(crate) fn receive_key_update(cx: &mut Common, req: KeyUpdateRequest) -> Result<(), Error> {
    let (suite, theirs) = next_secret(cx, !cx.is_client)?;
    cx.set_decrypter(RecordDecrypter::tls13(suite, theirs.as_bytes())?);
    match req {
        KeyUpdateRequest::UpdateRequested => {
            send_key_update(cx, KeyUpdateRequest::UpdateNotRequested)
        }
        KeyUpdateRequest::UpdateNotRequested => Ok(()),
        KeyUpdateRequest::Unknown(v) => Err(Error::IllegalParameter(format!(
            "KeyUpdate request value {v} is neither 0 nor 1"
        ))),
    }
}
