//! The server's TLS 1.3 flight (ServerHello .. Finished) and the client's answer
//! ([Certificate, CertificateVerify,] Finished).

use pki_types::CertificateDer;

use crate::codec::enums::PskKeyExchangeMode;
use crate::codec::enums::{HandshakeType, ProtocolVersion};
use crate::codec::extensions::{CertReqExtension, KeyShareEntry, ServerExtension};
use crate::codec::handshake::NewSessionTicketTls13;
use crate::codec::handshake::{
    CertificateEntry, CertificatePayloadTls13, CertificateRequestPayloadTls13, ClientHelloPayload,
    DigitallySigned, HandshakePayload, ServerHelloPayload,
};
use crate::config::VerifyMode;
use crate::context::{
    Common, Established, HandshakeKind, Incoming, Step, TraceKind, require_handshake_msg,
};
use crate::crypto::ct::constant_time_eq;
use crate::crypto::hash::Transcript;
use crate::crypto::hkdf::{Expander, Secret};
use crate::crypto::rand;
use crate::crypto::suites::SuiteInfo;
use crate::error::{Error, Reason};
use crate::session::{MAX_PSK_IDENTITIES, ServerSession, TICKET_AGE_TOLERANCE_MS};
use crate::tls13::handshake as hs;
use crate::tls13::key_schedule::FinishedKey;
use crate::tls13::key_schedule::{EarlySecret, ticket_psk};
use crate::verify::{self, ClientCertVerified};

use super::ServerState;
use super::hs::Choices;
use super::pha;

/// The server's TLS 1.3 states.
pub(crate) enum State {
    Certificate(Box<ExpectCertificate>),
    CertificateVerify(Box<ExpectCertificateVerify>),
    Finished(Box<ExpectFinished>),
    /// The handshake is complete.
    Traffic(Box<Traffic>),
    /// Handshake Again: post-handshake authentication (`server/pha.rs`).
    PhaCertificate(Box<pha::ExpectCertificate>),
    PhaCertificateVerify(Box<pha::ExpectCertificateVerify>),
    PhaFinished(Box<pha::ExpectFinished>),
}

/// What every state after our flight carries, until the client's Finished.
struct Shared {
    suite: &'static SuiteInfo,
    transcript: Transcript,
    client_finished: FinishedKey,
    app: hs::Tls13Established,
    resumption_master: crate::tls13::key_schedule::MasterSecret,
}

/// Step Seven: the client's certificate (we sent a CertificateRequest).
pub(crate) struct ExpectCertificate {
    s: Shared,
}

/// Step Nine: the client's signature with its certificate's key.
pub(crate) struct ExpectCertificateVerify {
    s: Shared,
    leaf: CertificateDer<'static>,
    _verified: ClientCertVerified,
}

/// The client's Finished, which ends the handshake.
pub(crate) struct ExpectFinished {
    s: Shared,
}

/// The handshake is complete: the application secrets, moved on by KeyUpdate, and the
/// transcript through the client's Finished, which post-handshake authentication continues.
pub(crate) struct Traffic {
    pub(super) secrets: hs::Tls13Established,
    /// Kept only when post-handshake authentication is possible.
    pub(super) transcript: Option<Box<Transcript>>,
}

fn send(cx: &mut Common, t: &mut Transcript, payload: HandshakePayload) -> Result<(), Error> {
    let enc = cx.send_hs(payload)?;
    t.add(enc);
    Ok(())
}

/// Step Two to Finished: ServerHello, EncryptedExtensions, [CertificateRequest],
/// Certificate, CertificateVerify, Finished.
pub(crate) fn send_first_flight(
    cx: &mut Common,
    ch: &ClientHelloPayload,
    mut transcript: Transcript,
    c: Choices,
    psk: Option<AcceptedPsk>,
) -> Result<ServerState, Error> {
    let suite = c.suite;
    let retried = cx.neg.kind == Some(HandshakeKind::FullWithHelloRetry);
    cx.neg.post_handshake_auth = ch
        .find(crate::codec::enums::ExtensionType::PostHandshakeAuth)
        .is_some();
    cx.neg.suite = Some(suite);
    cx.neg.group = Some(c.group);
    cx.neg.alpn = c.alpn.clone();
    // Step Two's key share: our public key (DH-style) or the ciphertext encapsulated to the
    // client's key (KEM-style), and the shared secret.
    let (payload, shared) = cx.config.kx_group(c.group)?.accept(&c.client_share)?;
    let (group, theirs, ours) = (c.group, c.client_share.len(), payload.len());
    let sizes = move || format!("{group} (the client's share {theirs} bytes, ours {ours})");
    if let Some(AcceptedPsk { session: sess, .. }) = &psk {
        cx.neg.peer_certs = sess.peer_certs.clone();
        cx.neg.kind = Some(HandshakeKind::Resumed);
        cx.trace(TraceKind::Negotiated, || {
            format!(
                "negotiated: TLSv1.3, {}, key exchange {}, abbreviated handshake (resumed session, psk_dhe_ke)",
                suite.suite,
                sizes()
            )
        });
    } else {
        cx.neg.sig_scheme = Some(c.scheme);
        cx.trace(TraceKind::Negotiated, || {
            format!(
                "negotiated: TLSv1.3, {}, key exchange {}, signature {}",
                suite.suite,
                sizes(),
                c.scheme
            )
        });
    }

    // A HelloRetryRequest already sent the middlebox-compatibility CCS.
    let sent_ccs_for_retry = retried;
    // Step Two: ServerHello with our key share.
    let share = KeyShareEntry {
        group: c.group,
        payload,
    };
    let mut sh = ServerHelloPayload {
        legacy_version: ProtocolVersion::TLSv1_2,
        random: rand::random_array()?,
        session_id: ch.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: crate::codec::enums::Compression::Null,
        // Room for the pre_shared_key a resumption adds.
        extensions: Vec::with_capacity(3),
    };
    sh.extensions.extend([
        ServerExtension::SupportedVersions(ProtocolVersion::TLSv1_3),
        ServerExtension::KeyShare(share),
    ]);
    if let Some(p) = &psk {
        sh.extensions.push(ServerExtension::PreSharedKey(p.index));
    }
    send(cx, &mut transcript, HandshakePayload::ServerHello(sh))?;
    if !ch.session_id.is_empty() && !sent_ccs_for_retry {
        cx.send_middlebox_ccs()?;
    }
    let resumed = psk.is_some();
    let early = match psk {
        Some(p) => p.early,
        None => EarlySecret::new(suite.hash, None),
    };
    let keys = hs::start_handshake_keys(cx, suite, early, shared.as_bytes(), &transcript)?;

    // EncryptedExtensions: ALPN and the SNI acknowledgement.
    let mut ee = Vec::new();
    if let Some(p) = c.alpn {
        ee.push(ServerExtension::Alpn(p));
    }
    if cx.neg.sni.is_some() {
        ee.push(ServerExtension::ServerNameAck);
    }
    send(
        cx,
        &mut transcript,
        HandshakePayload::EncryptedExtensions(ee),
    )?;

    if resumed {
        // Abbreviated handshake: the PSK authenticates both sides (RFC 8446 §2.2).
        cx.trace(TraceKind::State, || {
            "abbreviated handshake (resumed session): no Step Three (ServerCertificate), \
             CertificateVerify or CertificateRequest"
                .into()
        });
        return finish_flight(cx, suite, keys, transcript, false);
    }

    // Step Five: CertificateRequest, with the CA names we trust for client certificates.
    let config = cx.config.clone();
    // With post-handshake authentication the certificate is asked for later, when the
    // application wants it (`Connection::request_client_certificate`).
    let want_client_cert =
        cx.verify_mode() != VerifyMode::NoClientAuth && !config.post_handshake_auth;
    if want_client_cert {
        let mut extensions = vec![CertReqExtension::SignatureAlgorithms(
            config.verify_schemes(true),
        )];
        if !cx.ca_names().is_empty() {
            extensions.push(CertReqExtension::CertificateAuthorities(
                cx.ca_names().to_vec(),
            ));
        }
        let req = CertificateRequestPayloadTls13 {
            context: Vec::new(),
            extensions,
        };
        send(
            cx,
            &mut transcript,
            HandshakePayload::CertificateRequest(req),
        )?;
    }

    // Step Three: our certificate chain, then proof that we hold its key.
    let entries = c
        .cert
        .chain
        .iter()
        .map(|d| CertificateEntry {
            cert: d.as_ref().to_vec(),
            extensions: vec![],
        })
        .collect();
    let cert = CertificatePayloadTls13 {
        context: Vec::new(),
        entries,
    };
    send(cx, &mut transcript, HandshakePayload::Certificate(cert))?;
    let hash = transcript.current_hash();
    let signature = c
        .cert
        .key
        .sign(c.scheme, &hs::certificate_verify_input(hash.as_ref(), true))?;
    let cv = DigitallySigned {
        scheme: c.scheme,
        signature,
    };
    send(cx, &mut transcript, HandshakePayload::CertificateVerify(cv))?;

    finish_flight(cx, suite, keys, transcript, want_client_cert)
}

/// Our Finished, the application keys, and the state that waits for the client.
fn finish_flight(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    keys: hs::HandshakeKeys,
    mut transcript: Transcript,
    want_client_cert: bool,
) -> Result<ServerState, Error> {
    let fin = hs::finished_message(suite, &keys.finished.server, &transcript);
    let enc = cx.send_hs(fin)?;
    transcript.add(enc);

    let client_finished = keys.finished.client;
    let (master, app) = hs::application_secrets(cx, suite, keys.schedule, &transcript);
    app.install_writer(cx)?;
    let s = Shared {
        suite,
        transcript,
        client_finished,
        app,
        resumption_master: master,
    };
    Ok(ServerState::Tls13(if want_client_cert {
        State::Certificate(Box::new(ExpectCertificate { s }))
    } else {
        State::Finished(Box::new(ExpectFinished { s }))
    }))
}

impl State {
    /// The established connection's secrets, once in the traffic state.
    pub(crate) fn established(&self) -> Option<&dyn Established> {
        match self {
            Self::Traffic(t) => Some(&t.secrets),
            Self::PhaCertificate(s) => Some(&s.p.traffic().secrets),
            Self::PhaCertificateVerify(s) => Some(&s.p.traffic().secrets),
            Self::PhaFinished(s) => Some(&s.p.traffic().secrets),
            _ => None,
        }
    }

    /// [`Self::established`], to update keys.
    pub(crate) fn established_mut(&mut self) -> Option<&mut dyn Established> {
        match self {
            Self::Traffic(t) => Some(&mut t.secrets),
            Self::PhaCertificate(s) => Some(&mut s.p.traffic_mut().secrets),
            Self::PhaCertificateVerify(s) => Some(&mut s.p.traffic_mut().secrets),
            Self::PhaFinished(s) => Some(&mut s.p.traffic_mut().secrets),
            _ => None,
        }
    }

    pub(crate) fn step(&self) -> Step {
        match self {
            Self::Certificate(_) => ExpectCertificate::STEP,
            Self::CertificateVerify(_) => ExpectCertificateVerify::STEP,
            Self::Finished(_) => ExpectFinished::STEP,
            Self::Traffic(_) => Traffic::STEP,
            Self::PhaCertificate(_) => pha::ExpectCertificate::STEP,
            Self::PhaCertificateVerify(_) => pha::ExpectCertificateVerify::STEP,
            Self::PhaFinished(_) => pha::ExpectFinished::STEP,
        }
    }

    /// The handshake messages this state accepts, checked before a message's body is decoded
    /// (so a message of another type is unexpected_message, not a decode_error of a type that
    /// does not belong here).
    pub(crate) fn expects(&self) -> &'static [HandshakeType] {
        use HandshakeType as T;
        match self {
            Self::Certificate(_) => &[T::Certificate],
            Self::CertificateVerify(_) => &[T::CertificateVerify],
            Self::Finished(_) => &[T::Finished],
            Self::Traffic(_) => &[T::KeyUpdate],
            Self::PhaCertificate(_) => &[T::Certificate, T::KeyUpdate],
            Self::PhaCertificateVerify(_) => &[T::CertificateVerify, T::KeyUpdate],
            Self::PhaFinished(_) => &[T::Finished, T::KeyUpdate],
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::Certificate(s) => s.handle(cx, m),
            Self::CertificateVerify(s) => s.handle(cx, m),
            Self::Finished(s) => s.handle(cx, m),
            Self::Traffic(s) => s.handle(cx, m),
            Self::PhaCertificate(s) => s.handle(cx, m),
            Self::PhaCertificateVerify(s) => s.handle(cx, m),
            Self::PhaFinished(s) => s.handle(cx, m),
        }
    }

    /// Handshake Again: ask for the client's certificate (post-handshake authentication).
    pub(crate) fn request_client_certificate(
        self,
        cx: &mut Common,
    ) -> Result<Self, (Option<Self>, Error)> {
        match self {
            Self::Traffic(t) => pha::request(cx, t).map_err(|e| (None, e)),
            other => {
                let e = Error::Usage(format!(
                    "a client certificate can be asked for only once the previous request is \
                     answered, not while waiting for {}",
                    other.step()
                ));
                Err((Some(other), e))
            }
        }
    }
}

impl ExpectCertificate {
    const STEP: Step = Step::ClientCertificate;

    /// Step Seven: the client's certificate (mutual TLS).
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (c, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Certificate)?;
        let mut s = self.s;
        // 1. Our CertificateRequest had an empty context, so this must too (RFC 8446 §4.4.2).
        if !c.context.is_empty() {
            return Err(Error::peer(
                Reason::BadCertificateMessage,
                "the client's Certificate must have an empty context",
            ));
        }
        let chain: Vec<CertificateDer<'static>> = c
            .entries
            .into_iter()
            .map(|e| CertificateDer::from(e.cert))
            .collect();
        s.transcript.add(raw);
        // 2. The chain, verified for client authentication; none sent may be accepted, and
        //    then no CertificateVerify follows.
        let Some((leaf, verified)) =
            super::check_client_chain(cx, &chain, Error::CertificateRequired)?
        else {
            return Ok(State::Finished(Box::new(ExpectFinished { s })));
        };
        Ok(State::CertificateVerify(Box::new(
            ExpectCertificateVerify {
                s,
                leaf,
                _verified: verified,
            },
        )))
    }
}

impl ExpectCertificateVerify {
    const STEP: Step = Step::ClientCertificateVerify;

    /// Step Nine: the client proves it holds its certificate's key.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (cv, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateVerify)?;
        let ExpectCertificateVerify { mut s, leaf, .. } = *self;
        // 1. A scheme our CertificateRequest offered.
        hs::check_offered_scheme(cv.scheme, &cx.config.verify_schemes(true), "client")?;
        // 2. The signature over the transcript so far (RFC 8446 §4.4.3).
        let hash = s.transcript.current_hash();
        let input = hs::certificate_verify_input(hash.as_ref(), false);
        verify::verify_tls13_signature(&leaf, cv.scheme, &input, &cv.signature, "client")?;
        s.transcript.add(raw);
        Ok(State::Finished(Box::new(ExpectFinished { s })))
    }
}

impl ExpectFinished {
    const STEP: Step = Step::ClientFinished13;

    /// The client's Finished; then its application keys and our tickets.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (f, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Finished)?;
        let Shared {
            suite,
            mut transcript,
            client_finished,
            app,
            resumption_master,
        } = self.s;
        // 1. The client's verify_data (RFC 8446 §4.4.4).
        hs::check_finished(suite, &client_finished, &transcript, &f, "client")?;
        transcript.add(raw);
        // 2. Read with the client's application keys.
        app.install_reader(cx)?;
        // 3. The resumption secret, then our NewSessionTickets.
        let resumption = resumption_master.resumption_secret(transcript.current_hash().as_ref());
        let secrets = app.complete(cx);
        send_tickets(cx, suite, &resumption)?;
        let pha = cx.neg.post_handshake_auth && cx.config.post_handshake_auth;
        Ok(State::Traffic(Box::new(Traffic {
            secrets,
            transcript: pha.then(|| Box::new(transcript)),
        })))
    }
}

impl Traffic {
    const STEP: Step = Step::ApplicationData;

    /// The client's KeyUpdate (RFC 8446 §4.6.3).
    fn handle(mut self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (req, _) = require_handshake_msg!(m, Self::STEP, HandshakePayload::KeyUpdate)?;
        self.secrets.receive_key_update(cx, req)?;
        Ok(State::Traffic(self))
    }
}

/// After the client's Finished: the configured number of NewSessionTickets (RFC 8446
/// §4.6.1), each a sealed, self-contained session with its own PSK. A resumed client spent
/// one ticket, so it gets one back rather than the full count (as OpenSSL does): its cache
/// stays topped up without the server sealing tickets nobody will use.
fn send_tickets(
    cx: &mut Common,
    suite: &'static SuiteInfo,
    resumption: &Secret,
) -> Result<(), Error> {
    let config = cx.config.clone();
    let Some(sealer) = &config.ticket_sealer else {
        return Ok(());
    };
    let now = config.now_ms();
    let count = match cx.neg.kind {
        Some(crate::context::HandshakeKind::Resumed) => config.tls13_tickets.min(1),
        _ => config.tls13_tickets,
    };
    if count == 0 {
        return Ok(());
    }
    let resumption = Expander::new(suite.hash, resumption.as_bytes());
    for i in 0..count {
        let nonce = (i as u8).to_be_bytes().to_vec();
        let age_add = rand::random_u32()?;
        let session = ServerSession {
            version: ProtocolVersion::TLSv1_3,
            suite: suite.suite,
            secret: ticket_psk(&resumption, &nonce),
            ems: true,
            created_ms: now,
            lifetime: config.ticket_lifetime,
            age_add,
            alpn: cx.neg.alpn.clone(),
            sni: cx.neg.sni.clone(),
            peer_certs: cx.neg.peer_certs.clone(),
        };
        let Some(ticket) = crate::session::seal_session(&**sealer, &session) else {
            cx.trace(TraceKind::State, || {
                "session ticket: the session is too large to seal or the sealer declined; none sent"
                    .into()
            });
            return Ok(());
        };
        let msg = HandshakePayload::NewSessionTicket(NewSessionTicketTls13 {
            lifetime: config.ticket_lifetime,
            age_add,
            nonce,
            ticket,
            extensions: Vec::new(),
        });
        cx.send_hs(msg)?;
    }
    Ok(())
}

/// A ticket the server accepted: its index among the client's identities, the session it
/// held, and the Early Secret made from its PSK (for the binder, then the key schedule).
pub(crate) struct AcceptedPsk {
    index: u16,
    session: ServerSession,
    early: EarlySecret,
}

/// Pick a PSK from the ClientHello's pre_shared_key: the first identity that is our ticket,
/// unexpired, of the chosen suite's hash, for the same server name, with a plausible age.
/// Anything else means a full handshake. The chosen identity's binder must verify
/// (constant time); a wrong binder on a genuine ticket is fatal (RFC 8446 §4.2.11).
pub(crate) fn choose_psk(
    cx: &mut Common,
    ch: &ClientHelloPayload,
    suite: &'static SuiteInfo,
    truncated: &Transcript,
) -> Result<Option<AcceptedPsk>, Error> {
    let config = cx.config.clone();
    let (Some(sealer), Some(psks)) = (&config.ticket_sealer, ch.psk()) else {
        return Ok(None);
    };
    if !ch
        .psk_modes()
        .is_some_and(|m| m.contains(&PskKeyExchangeMode::PSK_DHE_KE))
    {
        cx.trace(TraceKind::State, || {
            "resumption: the client offers no psk_dhe_ke mode; full handshake".into()
        });
        return Ok(None);
    }
    let now = config.now_ms();
    let mut why = "the ticket is not ours (unknown, forged, tampered or from a retired key)";
    for (i, id) in psks.identities.iter().enumerate().take(MAX_PSK_IDENTITIES) {
        let Some(sess) = crate::session::open_session(&**sealer, &id.identity) else {
            continue;
        };
        let server_age = now.saturating_sub(sess.created_ms);
        let client_age = u64::from(id.obfuscated_ticket_age.wrapping_sub(sess.age_add));
        if sess.version != ProtocolVersion::TLSv1_3 {
            why = "the ticket is for another protocol version";
        } else if sess.expired(now) {
            why = "the ticket has expired";
        } else if server_age.abs_diff(client_age) > TICKET_AGE_TOLERANCE_MS {
            why = "the client's ticket age differs too much from ours";
        } else if crate::crypto::suites::lookup(sess.suite).map(|s| s.hash) != Some(suite.hash) {
            why = "the ticket's suite hash differs from the chosen suite's";
        } else if sess.sni != cx.neg.sni {
            why = "the ticket was issued for another server name";
        } else if cx.verify_mode() == VerifyMode::RequireClientCert && sess.peer_certs.is_empty() {
            why = "the ticket carries no client certificate, which we require";
        } else {
            let early = EarlySecret::new(suite.hash, Some(sess.secret.as_bytes()));
            let expected = hs::psk_binder(&early, truncated);
            let got = psks.binders.get(i).map(Vec::as_slice).unwrap_or(&[]);
            if !constant_time_eq(expected.as_ref(), got) {
                return Err(Error::peer(
                    Reason::BadPskBinder,
                    "the PSK binder in the ClientHello does not match the ticket's key: the \
                     ClientHello was altered or the client derived a different PSK",
                ));
            }
            cx.trace(TraceKind::State, || {
                format!("resumption: ticket {i} accepted, binder verified")
            });
            return Ok(Some(AcceptedPsk {
                index: i as u16,
                session: sess,
                early,
            }));
        }
    }
    cx.trace(TraceKind::State, || {
        format!("resumption: {why}; full handshake")
    });
    Ok(None)
}
