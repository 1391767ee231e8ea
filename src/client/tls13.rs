//! The client's TLS 1.3 handshake after ServerHello: EncryptedExtensions, the server's
//! certificate and its proof of the key, Finished, then our own flight.

use pki_types::{CertificateDer, ServerName};

use crate::codec::enums::{HandshakeType, SignatureScheme};
use crate::codec::extensions::ServerExtension;
use crate::codec::handshake::{
    CertificateEntry, CertificatePayloadTls13, CertificateRequestPayloadTls13, DigitallySigned,
    HandshakePayload, NewSessionTicketTls13,
};
use crate::context::{
    Common, Established, HandshakeKind, Incoming, MAX_POST_HANDSHAKE_AUTH, Step, TraceKind,
    require_handshake_msg,
};
use crate::crypto::hash::Transcript;
use crate::crypto::hkdf::{Expander, Secret};
use crate::crypto::suites::SuiteInfo;
use crate::error::{Error, Reason};
use crate::session::{ClientSession, ClientSession13, MAX_TICKET_LIFETIME};
use crate::tls13::handshake::{self as hs, HandshakeKeys};
use crate::tls13::key_schedule::ticket_psk;
use crate::verify::{self, ServerCertVerified};

/// The client's TLS 1.3 states.
pub(crate) enum State {
    EncryptedExtensions(Box<ExpectEncryptedExtensions>),
    CertificateOrRequest(Box<ExpectCertificateOrCertificateRequest>),
    Certificate(Box<ExpectCertificate>),
    CertificateVerify(Box<ExpectCertificateVerify>),
    Finished(Box<ExpectFinished>),
    Traffic(Box<Traffic>),
}

/// What every state after ServerHello carries.
pub(crate) struct Shared {
    suite: &'static SuiteInfo,
    keys: HandshakeKeys,
    transcript: Transcript,
    server_name: Option<ServerName<'static>>,
}

pub(crate) struct ExpectEncryptedExtensions {
    s: Shared,
    /// The ticket the server accepted: an abbreviated handshake.
    resumed: Option<ClientSession13>,
}

/// How the server proved itself: a signature over the transcript, or the resumed PSK.
enum ServerAuth {
    Signed(#[allow(dead_code)] verify::HandshakeSignatureValid),
    Resumed,
}

/// Step Five (optional) or Step Three: a full handshake's next message after
/// EncryptedExtensions.
pub(crate) struct ExpectCertificateOrCertificateRequest {
    s: Shared,
}

/// Step Three: the server's certificate chain.
pub(crate) struct ExpectCertificate {
    s: Shared,
    /// Signature schemes of the server's CertificateRequest, if it asked for our certificate.
    cert_request: Option<(Vec<u8>, Vec<SignatureScheme>)>,
}

pub(crate) struct ExpectCertificateVerify {
    s: Shared,
    cert_request: Option<(Vec<u8>, Vec<SignatureScheme>)>,
    leaf: CertificateDer<'static>,
    /// Proof that the chain was verified (absent only with DangerousNoVerify).
    _verified: Option<ServerCertVerified>,
}

pub(crate) struct ExpectFinished {
    s: Shared,
    cert_request: Option<(Vec<u8>, Vec<SignatureScheme>)>,
    _auth: ServerAuth,
}

pub(crate) struct Traffic {
    suite: &'static SuiteInfo,
    resumption: Secret,
    pub(crate) secrets: hs::Tls13Established,
    /// The handshake's transcript through our Finished, which a post-handshake
    /// authentication continues (RFC 8446 §4.4); kept only when we offered it.
    transcript: Option<Box<Transcript>>,
    /// Post-handshake CertificateRequests answered so far.
    authentications: u32,
}

impl State {
    pub(crate) fn expect_encrypted_extensions(
        suite: &'static SuiteInfo,
        keys: HandshakeKeys,
        transcript: Transcript,
        server_name: Option<ServerName<'static>>,
        resumed: Option<ClientSession13>,
    ) -> Self {
        Self::EncryptedExtensions(Box::new(ExpectEncryptedExtensions {
            s: Shared {
                suite,
                keys,
                transcript,
                server_name,
            },
            resumed,
        }))
    }

    /// The established connection's secrets, once in the traffic state.
    pub(crate) fn established(&self) -> Option<&dyn Established> {
        match self {
            Self::Traffic(t) => Some(&t.secrets),
            _ => None,
        }
    }

    /// [`Self::established`], to update keys.
    pub(crate) fn established_mut(&mut self) -> Option<&mut dyn Established> {
        match self {
            Self::Traffic(t) => Some(&mut t.secrets),
            _ => None,
        }
    }

    pub(crate) fn step(&self) -> Step {
        match self {
            Self::EncryptedExtensions(_) => ExpectEncryptedExtensions::STEP,
            Self::CertificateOrRequest(_) => ExpectCertificateOrCertificateRequest::STEP,
            Self::Certificate(_) => ExpectCertificate::STEP,
            Self::CertificateVerify(_) => ExpectCertificateVerify::STEP,
            Self::Finished(_) => ExpectFinished::STEP,
            Self::Traffic(_) => Traffic::STEP,
        }
    }

    /// The handshake messages this state accepts, checked before a message's body is decoded
    /// (so a message of another type is unexpected_message, not a decode_error of a type that
    /// does not belong here).
    pub(crate) fn expects(&self) -> &'static [HandshakeType] {
        use HandshakeType as T;
        match self {
            Self::EncryptedExtensions(_) => &[T::EncryptedExtensions],
            Self::CertificateOrRequest(_) => &[T::CertificateRequest, T::Certificate],
            Self::Certificate(_) => &[T::Certificate],
            Self::CertificateVerify(_) => &[T::CertificateVerify],
            Self::Finished(_) => &[T::Finished],
            Self::Traffic(_) => &[T::NewSessionTicket, T::KeyUpdate, T::CertificateRequest],
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::EncryptedExtensions(s) => s.handle(cx, m),
            Self::CertificateOrRequest(s) => s.handle(cx, m),
            Self::Certificate(s) => s.handle(cx, m),
            Self::CertificateVerify(s) => s.handle(cx, m),
            Self::Finished(s) => s.handle(cx, m),
            Self::Traffic(s) => s.handle(cx, m),
        }
    }
}

impl ExpectEncryptedExtensions {
    const STEP: Step = Step::EncryptedExtensions;

    /// The rest of Step Two, under the handshake keys: the server's answers to our extensions.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (exts, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::EncryptedExtensions)?;
        let mut s = self.s;
        for ext in &exts {
            match ext {
                ServerExtension::Alpn(proto) => {
                    // RFC 7301 §3.1: the server's choice must be one we offered.
                    if !cx.alpn().iter().any(|p| p == proto) {
                        return Err(Error::peer(
                            Reason::UnofferedAlpn,
                            format!(
                                "the server chose ALPN protocol '{}', which we did not offer",
                                String::from_utf8_lossy(proto)
                            ),
                        ));
                    }
                    cx.neg.alpn = Some(proto.clone());
                }
                ServerExtension::ServerNameAck if cx.neg.sni.is_some() => {}
                ServerExtension::SupportedGroups(_) | ServerExtension::Unknown { .. } => {}
                other => {
                    return Err(Error::peer(
                        Reason::UnsolicitedExtension,
                        format!(
                            "EncryptedExtensions carries {}, which we did not offer or which does not belong there",
                            other.ext_type()
                        ),
                    ));
                }
            }
        }
        s.transcript.add(raw);
        if let Some(t) = self.resumed {
            // Abbreviated handshake: the PSK authenticates the server (RFC 8446 §2.2); no
            // Certificate, CertificateVerify or CertificateRequest follows.
            cx.neg.peer_certs = t.peer_certs;
            cx.neg.kind = Some(HandshakeKind::Resumed);
            cx.trace(TraceKind::State, || {
                "abbreviated handshake (resumed session): the server accepted our ticket; no \
                 Step Three (ServerCertificate) or CertificateVerify follows"
                    .into()
            });
            return Ok(State::Finished(Box::new(ExpectFinished {
                s,
                cert_request: None,
                _auth: ServerAuth::Resumed,
            })));
        }
        Ok(State::CertificateOrRequest(Box::new(
            ExpectCertificateOrCertificateRequest { s },
        )))
    }
}

impl ExpectCertificateOrCertificateRequest {
    const STEP: Step = Step::ServerCertificate;

    /// A CertificateRequest (the optional Step Five), or Step Three straight away.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        if let Incoming::Handshake { msg, .. } = &m
            && matches!(msg.payload, HandshakePayload::Certificate(_))
        {
            let next = ExpectCertificate {
                s: self.s,
                cert_request: None,
            };
            return Box::new(next).handle(cx, m);
        }
        let (req, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateRequest)?;
        let mut s = self.s;
        // Step Five: the server wants our certificate (mutual TLS).
        if !req.context.is_empty() {
            return Err(Error::peer(
                Reason::BadCertificateMessage,
                "a CertificateRequest during the handshake must have an empty context",
            ));
        }
        let schemes = req.signature_schemes().map(<[_]>::to_vec).ok_or_else(|| {
            Error::peer(
                Reason::MissingExtension,
                "the CertificateRequest has no signature_algorithms",
            )
        })?;
        s.transcript.add(raw);
        Ok(State::Certificate(Box::new(ExpectCertificate {
            s,
            cert_request: Some((req.context.clone(), schemes)),
        })))
    }
}

impl ExpectCertificate {
    const STEP: Step = Step::ServerCertificate;

    /// Step Three: the server's certificate chain, checked against our trust anchors and the
    /// name we asked for.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (c, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Certificate)?;
        let ExpectCertificate {
            mut s,
            cert_request,
        } = *self;
        if !c.context.is_empty() {
            return Err(Error::peer(
                Reason::BadCertificateMessage,
                "the server's Certificate must have an empty context",
            ));
        }
        let chain: Vec<CertificateDer<'static>> = c
            .entries
            .into_iter()
            .map(|e| CertificateDer::from(e.cert))
            .collect();
        let (leaf, verified) = super::check_server_chain(cx, &chain, s.server_name.as_ref())?;
        s.transcript.add(raw);
        Ok(State::CertificateVerify(Box::new(
            ExpectCertificateVerify {
                s,
                cert_request,
                leaf,
                _verified: verified,
            },
        )))
    }
}

impl ExpectCertificateVerify {
    const STEP: Step = Step::ServerCertificateVerify;

    /// The server proves it holds the certificate's private key by signing the transcript.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (cv, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateVerify)?;
        let ExpectCertificateVerify {
            mut s,
            cert_request,
            leaf,
            ..
        } = *self;
        hs::check_offered_scheme(cv.scheme, &cx.config.verify_schemes(true), "server")?;
        let hash = s.transcript.current_hash();
        let input = hs::certificate_verify_input(hash.as_ref(), true);
        let proof =
            verify::verify_tls13_signature(&leaf, cv.scheme, &input, &cv.signature, "server")?;
        cx.neg.sig_scheme = Some(cv.scheme);
        s.transcript.add(raw);
        Ok(State::Finished(Box::new(ExpectFinished {
            s,
            cert_request,
            _auth: ServerAuth::Signed(proof),
        })))
    }
}

impl ExpectFinished {
    const STEP: Step = Step::ServerFinished13;

    /// The server's Finished, then our flight: [Certificate, CertificateVerify,] Finished.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (verify_data, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Finished)?;
        let ExpectFinished {
            s, cert_request, ..
        } = *self;
        let Shared {
            suite,
            keys,
            mut transcript,
            ..
        } = s;
        hs::check_finished(
            suite,
            &keys.finished.server,
            &transcript,
            &verify_data,
            "server",
        )?;
        transcript.add(raw);
        let HandshakeKeys { schedule, finished } = keys;
        let (master, app) = hs::application_secrets(cx, suite, schedule, &transcript);
        // The server may send application data right after its Finished.
        app.install_reader(cx)?;

        if let Some((context, schemes)) = cert_request {
            send_client_certificate(cx, &mut transcript, context, &schemes)?;
        }
        let fin = hs::finished_message(suite, &finished.client, &transcript);
        let enc = cx.send_hs(fin)?;
        transcript.add(enc);
        app.install_writer(cx)?;
        let resumption = master.resumption_secret(transcript.current_hash().as_ref());
        let secrets = app.complete(cx);
        Ok(State::Traffic(Box::new(Traffic {
            suite,
            resumption,
            secrets,
            transcript: cx.config.post_handshake_auth.then(|| Box::new(transcript)),
            authentications: 0,
        })))
    }
}

/// Step Seven and Step Nine for TLS 1.3: our certificate (or an empty one) and our signature.
fn send_client_certificate(
    cx: &mut Common,
    transcript: &mut Transcript,
    context: Vec<u8>,
    schemes: &[SignatureScheme],
) -> Result<(), Error> {
    // Use our certificate only if its key can sign with a scheme the server accepts.
    let ours = cx.certs().first().cloned();
    let chosen = ours
        .as_ref()
        .and_then(|ck| ck.key.choose_scheme(schemes, true).map(|sch| (ck, sch)));
    if chosen.is_none() && !cx.certs().is_empty() {
        cx.trace(TraceKind::State, || {
            "client certificate: our key cannot sign with any scheme the server accepts; sending none".into()
        });
    }
    let entries = chosen
        .map(|(ck, _)| {
            ck.chain
                .iter()
                .map(|c| CertificateEntry {
                    cert: c.as_ref().to_vec(),
                    extensions: vec![],
                })
                .collect()
        })
        .unwrap_or_default();
    cx.sent_no_client_cert = chosen.is_none();
    let msg = HandshakePayload::Certificate(CertificatePayloadTls13 { context, entries });
    let enc = cx.send_hs(msg)?;
    transcript.add(enc);
    if let Some((ck, scheme)) = chosen {
        let hash = transcript.current_hash();
        let signature = ck
            .key
            .sign(scheme, &hs::certificate_verify_input(hash.as_ref(), false))?;
        let msg = HandshakePayload::CertificateVerify(DigitallySigned { scheme, signature });
        let enc = cx.send_hs(msg)?;
        transcript.add(enc);
    }
    Ok(())
}

impl Traffic {
    const STEP: Step = Step::ApplicationData;

    /// After the handshake: a NewSessionTicket to keep (RFC 8446 §4.6.1), the server's
    /// KeyUpdate (RFC 8446 §4.6.3), or its CertificateRequest (Handshake Again, RFC 8446
    /// §4.6.2).
    fn handle(mut self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let Incoming::Handshake { msg, raw } = m else {
            return Err(Error::unexpected(Self::STEP, "a change_cipher_spec record"));
        };
        match msg.payload {
            HandshakePayload::NewSessionTicket(t) => self.ticket(cx, t),
            HandshakePayload::KeyUpdate(req) => self.secrets.receive_key_update(cx, req)?,
            HandshakePayload::CertificateRequest(req) => self.authenticate_again(cx, req, raw)?,
            _ => return Err(Error::unexpected(Self::STEP, msg.typ.to_string())),
        }
        Ok(State::Traffic(self))
    }

    /// Handshake Again, the client's side of post-handshake authentication (RFC 8446
    /// §4.6.2): answer the server's CertificateRequest with our certificate (or an empty
    /// one), CertificateVerify and Finished, over the handshake's transcript and this
    /// exchange.
    fn authenticate_again(
        &mut self,
        cx: &mut Common,
        req: CertificateRequestPayloadTls13,
        raw: &[u8],
    ) -> Result<(), Error> {
        // 1. Only if we offered it (RFC 8446 §4.6.2: unexpected_message otherwise).
        let Some(base) = &self.transcript else {
            return Err(Error::unexpected(
                "a NewSessionTicket or KeyUpdate (we did not offer post_handshake_auth)",
                "a CertificateRequest after the handshake",
            ));
        };
        let mut transcript = base.clone();
        // 2. A context that names this request (RFC 8446 §4.3.2), and a bound on how often
        //    a server may make us sign.
        if req.context.is_empty() {
            return Err(Error::peer(
                Reason::BadCertificateMessage,
                "a CertificateRequest after the handshake must have a non-empty context (RFC 8446 §4.3.2)",
            ));
        }
        self.authentications += 1;
        if self.authentications > MAX_POST_HANDSHAKE_AUTH {
            return Err(Error::peer(
                Reason::TooManyCertificateRequests,
                format!(
                    "the server asked for our certificate after the handshake more than {MAX_POST_HANDSHAKE_AUTH} times"
                ),
            ));
        }
        let schemes = req.signature_schemes().map(<[_]>::to_vec).ok_or_else(|| {
            Error::peer(
                Reason::MissingExtension,
                "the CertificateRequest has no signature_algorithms",
            )
        })?;
        cx.trace(TraceKind::State, || {
            "Handshake Again: the server asks for our certificate (TLS 1.3 post-handshake authentication)"
                .into()
        });
        // 3. Certificate, CertificateVerify, Finished under the current client application
        //    traffic secret.
        transcript.add(raw);
        send_client_certificate(cx, &mut transcript, req.context, &schemes)?;
        let fin =
            hs::finished_message(self.suite, &self.secrets.client_finished_key(), &transcript);
        cx.send_hs(fin)?;
        Ok(())
    }

    /// Keep a NewSessionTicket for a later resumption (RFC 8446 §4.6.1).
    /// Takes the message by value: its ticket moves into the session, uncopied.
    fn ticket(&self, cx: &mut Common, t: NewSessionTicketTls13) {
        if t.lifetime == 0 {
            return; // the server says: do not use this ticket
        }
        let resumption = Expander::new(self.suite.hash, self.resumption.as_bytes());
        let psk = ticket_psk(&resumption, &t.nonce);
        let session = ClientSession13 {
            suite: self.suite.suite,
            psk,
            ticket: t.ticket,
            age_add: t.age_add,
            server_name: cx.resume_name.clone(),
            peer_certs: cx.neg.peer_certs.clone(),
            created_ms: cx.config.now_ms(),
            lifetime: t.lifetime.min(MAX_TICKET_LIFETIME),
        };
        let lifetime = t.lifetime;
        cx.save_session(ClientSession::Tls13(session));
        cx.trace(TraceKind::State, || {
            format!("session ticket stored (lifetime {lifetime} s)")
        });
    }
}
