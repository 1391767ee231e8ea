//! The client's TLS 1.3 handshake after ServerHello: EncryptedExtensions, the server's
//! certificate and its proof of the key, Finished, then our own flight.

use pki_types::{CertificateDer, ServerName};

use crate::codec::enums::{HandshakeType, SignatureScheme};
use crate::codec::extensions::ServerExtension;
use crate::codec::handshake::{
    CertificateEntry, CertificatePayloadTls13, DigitallySigned, HandshakeMessage, HandshakePayload,
    NewSessionTicketTls13,
};
use crate::context::{Common, Established, HandshakeKind, Incoming, Step, TraceKind};
use crate::crypto::hash::Transcript;
use crate::crypto::hkdf::{Expander, Secret};
use crate::crypto::suites::SuiteInfo;
use crate::error::Error;
use crate::session::{ClientSession, ClientSession13, MAX_TICKET_LIFETIME};
use crate::tls13::handshake::{self as hs, HandshakeKeys};
use crate::tls13::key_schedule::ticket_psk;
use crate::verify::{self, ServerCertVerified};

/// The client's TLS 1.3 states.
pub(crate) enum State {
    EncryptedExtensions(Box<ExpectEncryptedExtensions>),
    CertificateOrRequest(Box<ExpectCertificate>),
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
}

fn expect_hs<'a>(m: Incoming<'a>, step: Step) -> Result<(HandshakeMessage, &'a [u8]), Error> {
    match m {
        Incoming::Handshake { msg, raw } => Ok((msg, raw)),
        Incoming::ChangeCipherSpec => Err(Error::unexpected(step, "a change_cipher_spec record")),
    }
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
            Self::EncryptedExtensions(_) => Step::EncryptedExtensions,
            Self::CertificateOrRequest(_) | Self::Certificate(_) => Step::ServerCertificate,
            Self::CertificateVerify(_) => Step::ServerCertificateVerify,
            Self::Finished(_) => Step::ServerFinished13,
            Self::Traffic(_) => Step::ApplicationData,
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
            Self::Traffic(_) => &[T::NewSessionTicket, T::KeyUpdate],
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        let step = self.step();
        let (msg, raw) = expect_hs(m, step)?;
        match (self, msg.payload) {
            (Self::EncryptedExtensions(s), HandshakePayload::EncryptedExtensions(exts)) => {
                s.handle(cx, &exts, raw)
            }
            (Self::CertificateOrRequest(mut s), HandshakePayload::CertificateRequest(req)) => {
                // Step Five: the server wants our certificate (mutual TLS).
                if !req.context.is_empty() {
                    return Err(Error::IllegalParameter(
                        "a CertificateRequest during the handshake must have an empty context"
                            .into(),
                    ));
                }
                let schemes = req.signature_schemes().map(<[_]>::to_vec).ok_or_else(|| {
                    Error::MissingExtension(
                        "the CertificateRequest has no signature_algorithms".into(),
                    )
                })?;
                s.s.transcript.add(raw);
                s.cert_request = Some((req.context.clone(), schemes));
                Ok(Self::Certificate(s))
            }
            (
                Self::CertificateOrRequest(s) | Self::Certificate(s),
                HandshakePayload::Certificate(c),
            ) => s.handle(cx, c, raw),
            (Self::CertificateVerify(s), HandshakePayload::CertificateVerify(cv)) => {
                s.handle(cx, cv, raw)
            }
            (Self::Finished(s), HandshakePayload::Finished(f)) => s.handle(cx, &f, raw),
            (Self::Traffic(s), HandshakePayload::NewSessionTicket(t)) => {
                s.ticket(cx, &t);
                Ok(Self::Traffic(s))
            }
            (Self::Traffic(mut s), HandshakePayload::KeyUpdate(req)) => {
                s.secrets.receive_key_update(cx, req)?;
                Ok(Self::Traffic(s))
            }
            (_, _) => Err(Error::unexpected(step, msg_name(msg.typ))),
        }
    }
}

fn msg_name(t: HandshakeType) -> String {
    t.to_string()
}

impl ExpectEncryptedExtensions {
    fn handle(self, cx: &mut Common, exts: &[ServerExtension], raw: &[u8]) -> Result<State, Error> {
        let mut s = self.s;
        for ext in exts {
            match ext {
                ServerExtension::Alpn(proto) => {
                    // RFC 7301 §3.1: the server's choice must be one we offered.
                    if !cx.alpn().iter().any(|p| p == proto) {
                        return Err(Error::IllegalParameter(format!(
                            "the server chose ALPN protocol '{}', which we did not offer",
                            String::from_utf8_lossy(proto)
                        )));
                    }
                    cx.neg.alpn = Some(proto.clone());
                }
                ServerExtension::ServerNameAck if cx.neg.sni.is_some() => {}
                ServerExtension::SupportedGroups(_) | ServerExtension::Unknown { .. } => {}
                other => {
                    return Err(Error::UnsupportedExtension(format!(
                        "EncryptedExtensions carries {}, which we did not offer or which does not belong there",
                        other.ext_type()
                    )));
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
        Ok(State::CertificateOrRequest(Box::new(ExpectCertificate {
            s,
            cert_request: None,
        })))
    }
}

impl ExpectCertificate {
    /// Step Three: the server's certificate chain, checked against our trust anchors and the
    /// name we asked for.
    fn handle(
        self: Box<Self>,
        cx: &mut Common,
        c: CertificatePayloadTls13,
        raw: &[u8],
    ) -> Result<State, Error> {
        let ExpectCertificate {
            mut s,
            cert_request,
        } = *self;
        if !c.context.is_empty() {
            return Err(Error::IllegalParameter(
                "the server's Certificate must have an empty context".into(),
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
    /// The server proves it holds the certificate's private key by signing the transcript.
    fn handle(
        self: Box<Self>,
        cx: &mut Common,
        cv: DigitallySigned,
        raw: &[u8],
    ) -> Result<State, Error> {
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
    /// The server's Finished, then our flight: [Certificate, CertificateVerify,] Finished.
    fn handle(
        self: Box<Self>,
        cx: &mut Common,
        verify_data: &[u8],
        raw: &[u8],
    ) -> Result<State, Error> {
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
            verify_data,
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
        transcript.add(&enc);
        app.install_writer(cx)?;
        let resumption = master.resumption_secret(transcript.current_hash().as_ref());
        let secrets = app.complete(cx);
        Ok(State::Traffic(Box::new(Traffic {
            suite,
            resumption,
            secrets,
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
    transcript.add(&enc);
    if let Some((ck, scheme)) = chosen {
        let hash = transcript.current_hash();
        let signature = ck
            .key
            .sign(scheme, &hs::certificate_verify_input(hash.as_ref(), false))?;
        let msg = HandshakePayload::CertificateVerify(DigitallySigned { scheme, signature });
        let enc = cx.send_hs(msg)?;
        transcript.add(&enc);
    }
    Ok(())
}

impl Traffic {
    /// Keep a NewSessionTicket for a later resumption (RFC 8446 §4.6.1).
    fn ticket(&self, cx: &mut Common, t: &NewSessionTicketTls13) {
        if t.lifetime == 0 {
            return; // the server says: do not use this ticket
        }
        let resumption = Expander::new(self.suite.hash, self.resumption.as_bytes());
        let psk = ticket_psk(&resumption, &t.nonce);
        let session = ClientSession13 {
            suite: self.suite.suite,
            psk,
            ticket: t.ticket.clone(),
            age_add: t.age_add,
            server_name: cx.resume_name.clone(),
            peer_certs: cx.neg.peer_certs.clone(),
            created_ms: cx.config.now_ms(),
            lifetime: t.lifetime.min(MAX_TICKET_LIFETIME),
        };
        cx.save_session(ClientSession::Tls13(session));
        cx.trace(TraceKind::State, || {
            format!("session ticket stored (lifetime {} s)", t.lifetime)
        });
    }
}
