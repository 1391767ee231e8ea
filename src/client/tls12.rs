//! The client's TLS 1.2 handshake after ServerHello (RFC 5246 §7.3), in the seed's steps:
//! Three (server Certificate), Four (ServerKeyExchange), Five (CertificateRequest, optional),
//! Six (ServerHelloDone); then our Seven to Ten; then the server's Eleven.

use pki_types::{CertificateDer, ServerName};

use crate::codec::enums::{
    ClientCertificateType, Compression, ECPointFormat, HandshakeType, ProtocolVersion,
    SignatureScheme,
};
use crate::codec::extensions::ServerExtension;
use crate::codec::handshake::{
    CertificateRequestTls12, DigitallySigned, HandshakePayload, ServerHelloPayload,
};
use crate::context::{Common, Established, Incoming, Step, TraceKind, require_handshake_msg};
use crate::crypto::hash::TranscriptBuffer;
use crate::crypto::hkdf::Secret;
use crate::crypto::kx::ActiveKeyExchange;
use crate::crypto::suites::{AuthKind, SuiteInfo};
use crate::error::{Error, Reason};
use crate::session::{ClientSession, ClientSession12};
use crate::tls12::handshake::{
    Tls12Secrets, decline_renegotiation, key_auth, receive_ccs, scheme_auth, send_ccs_and_finished,
    server_key_exchange_input,
};
use crate::verify::{self, HandshakeSignatureValid, ServerCertVerified};

/// The client's TLS 1.2 states.
pub(crate) enum State {
    Certificate(Box<ExpectCertificate>),
    ServerKeyExchange(Box<ExpectServerKeyExchange>),
    CertificateRequestOrDone(Box<ExpectCertificateRequestOrServerHelloDone>),
    ServerHelloDone(Box<ExpectServerHelloDone>),
    Ccs(Box<ExpectCcs>),
    Finished(Box<ExpectFinished>),
    /// The handshake is complete.
    Traffic(Box<Traffic>),
    /// Handshake Again: the server asked for a new handshake; `ClientState` starts it
    /// (Step One again) with these secrets kept until it completes. Never stays a state.
    Again(Box<crate::tls12::handshake::Tls12Established>),
}

/// What every state until the master secret carries.
pub(crate) struct Shared {
    suite: &'static SuiteInfo,
    /// Every handshake message so far, raw: a TLS 1.2 CertificateVerify signs them all
    /// (ring hashes inside the signature), and the hash is known from the suite.
    transcript: TranscriptBuffer,
    server_random: [u8; 32],
    ems: bool,
    pending: Pending,
}

/// The TLS 1.2 session the client offered.
#[derive(Default)]
pub(crate) struct Offer {
    pub(crate) session: Option<ClientSession12>,
    /// We sent the session_ticket extension (so a NewSessionTicket may come).
    pub(crate) ticket_ext: bool,
    /// The legacy session id our ClientHello carried.
    pub(crate) session_id: Vec<u8>,
}

/// What becomes a resumable session once the handshake completes.
struct Pending {
    session_id: Vec<u8>,
    /// The server promised a NewSessionTicket.
    ticket_ack: bool,
    ticket: Option<(Vec<u8>, u32)>,
    /// The session being resumed (abbreviated handshake).
    resumed: Option<ClientSession12>,
}

/// Step Three: the server's certificate chain.
pub(crate) struct ExpectCertificate {
    s: Shared,
    server_name: Option<ServerName<'static>>,
}

/// Step Four: the server's signed ECDHE share.
pub(crate) struct ExpectServerKeyExchange {
    s: Shared,
    leaf: CertificateDer<'static>,
    /// Proof the chain verified (absent only with DangerousNoVerify).
    _verified: Option<ServerCertVerified>,
}

/// What Step Four leaves for Steps Five and Six: the server's signed share and our key.
struct KeyShared {
    s: Shared,
    /// The server's ECDHE share, checked and signed.
    server_share: Vec<u8>,
    kx: Box<dyn ActiveKeyExchange>,
    _signature: HandshakeSignatureValid,
}

/// Step Five (optional) or Step Six.
pub(crate) struct ExpectCertificateRequestOrServerHelloDone {
    k: KeyShared,
}

/// Step Six (after a Step Five, or straight away).
pub(crate) struct ExpectServerHelloDone {
    k: KeyShared,
    cert_request: Option<CertificateRequestTls12>,
}

/// Step Eleven: the server's ChangeCipherSpec (after a NewSessionTicket, if promised).
pub(crate) struct ExpectCcs {
    secrets: Tls12Secrets,
    transcript: TranscriptBuffer,
    pending: Pending,
}

/// Step Eleven: the server's Finished.
pub(crate) struct ExpectFinished {
    secrets: Tls12Secrets,
    transcript: TranscriptBuffer,
    pending: Pending,
}

/// The handshake is complete: the exporter's inputs; a renegotiation is declined.
pub(crate) struct Traffic {
    secrets: Box<crate::tls12::handshake::Tls12Established>,
}

impl State {
    /// Step Two for TLS 1.2: check the ServerHello's choices and extensions.
    pub(crate) fn server_hello(
        cx: &mut Common,
        suite: &'static SuiteInfo,
        sh: &ServerHelloPayload,
        raw: &[u8],
        mut transcript: TranscriptBuffer,
        server_name: Option<ServerName<'static>>,
        offer: Offer,
    ) -> Result<Self, Error> {
        // 1. No compression (RFC 5246 §7.4.1.3: one we offered; we offered only null).
        if sh.compression_method != Compression::Null {
            return Err(Error::peer(
                Reason::BadCompression,
                format!(
                    "the server chose compression {}, which we did not offer (we offered null)",
                    sh.compression_method
                ),
            ));
        }
        // 2. An echoed session id resumes the session we offered (RFC 5246 §7.4.1.3,
        //    RFC 5077 §3.4); echoing a random one would resume a session we never had.
        let echoed = !sh.session_id.is_empty() && sh.session_id == offer.session_id;
        let resumed = match offer.session {
            Some(sess) if echoed => Some(sess),
            _ if echoed => {
                return Err(Error::peer(
                    Reason::ResumptionMismatch,
                    "the server echoed our session id, resuming a session we never had",
                ));
            }
            _ => None,
        };
        if let Some(sess) = &resumed
            && sess.suite != suite.suite
        {
            return Err(Error::peer(
                Reason::ResumptionMismatch,
                format!(
                    "the server resumed our {} session with cipher suite {}",
                    sess.suite, suite.suite
                ),
            ));
        }
        // 3. Extensions: only answers to what we offered (RFC 5246 §7.4.1.4).
        let config = cx.config.clone();
        let mut ems = false;
        let mut alpn = None;
        let mut ticket_ack = false;
        let mut saw_ri = false;
        for ext in &sh.extensions {
            match ext {
                ServerExtension::ExtendedMasterSecret => ems = true,
                // RFC 5746 §3.4: on an initial handshake the server's must be empty; §3.5: on
                // a renegotiation it quotes both Finished messages of the last handshake.
                ServerExtension::RenegotiationInfo(v) => {
                    check_server_renegotiation_info(cx, v)?;
                    cx.neg.secure_renegotiation = true;
                    saw_ri = true;
                }
                ServerExtension::EcPointFormats(f) => {
                    if !f.contains(&ECPointFormat::Uncompressed) {
                        return Err(Error::peer(
                            Reason::NoUncompressedPointFormat,
                            "the server's ec_point_formats lacks the uncompressed format (RFC 8422 §5.2)",
                        ));
                    }
                }
                ServerExtension::Alpn(p) => {
                    if !cx.alpn().iter().any(|o| o == p) {
                        return Err(Error::peer(
                            Reason::UnofferedAlpn,
                            format!(
                                "the server chose ALPN protocol '{}', which we did not offer",
                                String::from_utf8_lossy(p)
                            ),
                        ));
                    }
                    alpn = Some(p.clone());
                }
                ServerExtension::ServerNameAck if cx.neg.sni.is_some() => {}
                ServerExtension::SessionTicketAck if offer.ticket_ext => ticket_ack = true,
                other => {
                    return Err(Error::peer(
                        Reason::UnsolicitedExtension,
                        format!(
                            "the TLS 1.2 ServerHello carries {}, which we did not offer or which does not belong there",
                            other.ext_type()
                        ),
                    ));
                }
            }
        }
        // RFC 5746 §3.5: a renegotiation without the server's renegotiation_info is aborted.
        if cx.renegotiating.is_some() && !saw_ri {
            return Err(Error::peer(
                Reason::BadRenegotiationInfo,
                "the server's ServerHello in the renegotiation has no renegotiation_info \
                 (RFC 5746 §3.5)",
            ));
        }
        // 4. RFC 7627 §5.2: refuse a server without Extended Master Secret unless allowed.
        if !ems && config.require_ems {
            return Err(Error::peer(
                Reason::NoExtendedMasterSecret,
                "the server does not support Extended Master Secret (RFC 7627), which this \
                 configuration requires; upgrade the server, or call \
                 set_require_extended_master_secret(false) to accept a legacy peer",
            ));
        }
        // 5. RFC 7627 §5.3: a resumption must keep the session's Extended Master Secret state.
        if let Some(sess) = &resumed
            && sess.ems != ems
        {
            return Err(Error::peer(
                Reason::ExtendedMasterSecretMismatch,
                format!(
                    "the server resumed a session {} Extended Master Secret in a handshake {} it \
                 (RFC 7627 §5.3 forbids both)",
                    if sess.ems { "with" } else { "without" },
                    if ems { "with" } else { "without" }
                ),
            ));
        }
        cx.neg.version = Some(ProtocolVersion::TLSv1_2);
        cx.neg.suite = Some(suite);
        cx.neg.alpn = alpn;
        let pending = Pending {
            session_id: sh.session_id.clone(),
            ticket_ack,
            ticket: None,
            resumed: None,
        };
        if let Some(sess) = resumed {
            // Abbreviated handshake (RFC 5246 §7.3): the master secret is the session's; the
            // server's ChangeCipherSpec and Finished come next, then ours.
            transcript.add(raw);
            cx.neg.peer_certs = sess.peer_certs.clone();
            cx.neg.kind = Some(crate::context::HandshakeKind::Resumed);
            cx.trace(TraceKind::State, || {
                format!(
                    "abbreviated handshake (resumed session): TLSv1.2, {}; no Steps Three to \
                     Ten, the server's Step Eleven comes first",
                    suite.suite
                )
            });
            let secrets = Tls12Secrets::from_master(cx, suite, sess.master.clone(), sh.random, ems);
            return Ok(Self::Ccs(Box::new(ExpectCcs {
                secrets,
                transcript,
                pending: Pending {
                    resumed: Some(sess),
                    ..pending
                },
            })));
        }
        cx.trace(TraceKind::Negotiated, || {
            format!(
                "negotiated: TLSv1.2, {}, Extended Master Secret {}",
                suite.suite,
                if ems { "yes" } else { "no" }
            )
        });
        transcript.add(raw);
        Ok(Self::Certificate(Box::new(ExpectCertificate {
            s: Shared {
                suite,
                transcript,
                server_random: sh.random,
                ems,
                pending,
            },
            server_name,
        })))
    }

    /// The established connection's secrets, once in the traffic state.
    pub(crate) fn established(&self) -> Option<&dyn Established> {
        match self {
            Self::Traffic(t) => Some(&*t.secrets),
            Self::Again(t) => Some(&**t),
            _ => None,
        }
    }

    /// [`Self::established`], to update keys.
    pub(crate) fn established_mut(&mut self) -> Option<&mut dyn Established> {
        match self {
            Self::Traffic(t) => Some(&mut *t.secrets),
            Self::Again(t) => Some(&mut **t),
            _ => None,
        }
    }

    pub(crate) fn step(&self) -> Step {
        match self {
            Self::Certificate(_) => ExpectCertificate::STEP,
            Self::ServerKeyExchange(_) => ExpectServerKeyExchange::STEP,
            Self::CertificateRequestOrDone(_) => ExpectCertificateRequestOrServerHelloDone::STEP,
            Self::ServerHelloDone(_) => ExpectServerHelloDone::STEP,
            Self::Ccs(_) => ExpectCcs::STEP,
            Self::Finished(_) => ExpectFinished::STEP,
            Self::Traffic(_) | Self::Again(_) => Traffic::STEP,
        }
    }

    /// The handshake messages this state accepts, checked before a message's body is decoded
    /// (so a message of another type is unexpected_message, not a decode_error of a type that
    /// does not belong here).
    pub(crate) fn expects(&self) -> &'static [HandshakeType] {
        use HandshakeType as T;
        match self {
            Self::Certificate(_) => &[T::Certificate],
            Self::ServerKeyExchange(_) => &[T::ServerKeyExchange],
            Self::CertificateRequestOrDone(_) => &[T::CertificateRequest, T::ServerHelloDone],
            Self::ServerHelloDone(_) => &[T::ServerHelloDone],
            // RFC 5077 §3.3: a promised ticket comes before the ChangeCipherSpec.
            Self::Ccs(s) if s.ticket_due() => &[T::NewSessionTicket],
            Self::Ccs(_) => &[],
            Self::Finished(_) => &[T::Finished],
            Self::Traffic(_) => &[T::HelloRequest],
            Self::Again(_) => &[],
        }
    }

    /// The traffic state over these secrets (a declined renegotiation returns to it).
    pub(crate) fn traffic(secrets: Box<crate::tls12::handshake::Tls12Established>) -> Self {
        Self::Traffic(Box::new(Traffic { secrets }))
    }

    /// Handshake Again asked for by our application: only from the traffic state.
    pub(crate) fn renegotiate(self, cx: &mut Common) -> Result<Self, (Self, Error)> {
        match self {
            Self::Traffic(t) => t.renegotiate(cx),
            other => {
                let e = Error::Usage(format!(
                    "a renegotiation can start only after the handshake, not while waiting for {}",
                    other.step()
                ));
                Err((other, e))
            }
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::Certificate(s) => s.handle(cx, m),
            Self::ServerKeyExchange(s) => s.handle(cx, m),
            Self::CertificateRequestOrDone(s) => s.handle(cx, m),
            Self::ServerHelloDone(s) => s.handle(cx, m),
            Self::Ccs(s) => s.handle(cx, m),
            Self::Finished(s) => s.handle(cx, m),
            Self::Traffic(s) => s.handle(cx, m),
            Self::Again(_) => Err(Error::Internal(
                "a renegotiation that was not started".into(),
            )),
        }
    }
}

/// RFC 5746: the server's renegotiation_info is empty on an initial handshake (§3.4) and
/// quotes both Finished messages of the last handshake on a renegotiation (§3.5), which
/// binds the new handshake to the old one, so no attacker can splice a connection of its own
/// in front of ours.
fn check_server_renegotiation_info(cx: &Common, v: &[u8]) -> Result<(), Error> {
    match &cx.renegotiating {
        None if v.is_empty() => Ok(()),
        None => Err(Error::peer(
            Reason::BadRenegotiationInfo,
            format!(
                "the server's renegotiation_info holds {} bytes on an initial handshake; it \
                 must be empty (RFC 5746 §3.4)",
                v.len()
            ),
        )),
        Some(r) => {
            let mut want = r.client_verify.to_vec();
            want.extend_from_slice(&r.server_verify);
            if crate::crypto::ct::constant_time_eq(v, &want) {
                Ok(())
            } else {
                Err(Error::peer(
                    Reason::BadRenegotiationInfo,
                    "the server's renegotiation_info does not quote the Finished messages of \
                     our last handshake (RFC 5746 §3.5): the new handshake is not bound to this \
                     connection, as when an attacker splices connections",
                ))
            }
        }
    }
}

impl ExpectCertificate {
    const STEP: Step = Step::ServerCertificate;

    /// Step Three: the chain, checked against our trust anchors and the name we asked for.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (chain, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateTls12)?;
        let ExpectCertificate { mut s, server_name } = *self;
        let chain: Vec<CertificateDer<'static>> =
            chain.into_iter().map(CertificateDer::from).collect();
        let (leaf, verified) = super::check_server_chain(cx, &chain, server_name.as_ref())?;
        // Handshake Again: the server must stay who it was (the triple-handshake class of
        // attacks swaps the certificate in a renegotiation).
        if let Some(r) = &cx.renegotiating {
            r.check_peer_chain(&cx.config, &cx.neg.peer_certs, "server")?;
        }
        s.transcript.add(raw);
        Ok(State::ServerKeyExchange(Box::new(
            ExpectServerKeyExchange {
                s,
                leaf,
                _verified: verified,
            },
        )))
    }
}

impl ExpectServerKeyExchange {
    const STEP: Step = Step::ServerKeyExchange;

    /// Step Four: the server's ECDHE share, signed with its certificate's key (RFC 8422 §5.4).
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (ske, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::ServerKeyExchange)?;
        let ExpectServerKeyExchange { mut s, leaf, .. } = *self;
        let config = cx.config.clone();
        // 1. A group we offered in supported_groups, one ECDHE can use (RFC 8422 §5.1.1;
        //    a KEM we offered for TLS 1.3 is not one).
        let group = ske.params.group;
        if config.groups.contains(&group) && !config.groups12.contains(&group) {
            return Err(Error::peer(
                Reason::UnofferedGroup,
                format!(
                    "the server's ServerKeyExchange uses {group}, which we offered for TLS 1.3 only; \
                 TLS 1.2 ECDHE cannot use it"
                ),
            ));
        }
        if !config.groups12.contains(&group) {
            let offered = if config.allows(ProtocolVersion::TLSv1_3) {
                &config.groups
            } else {
                &config.groups12
            };
            return Err(Error::peer(
                Reason::UnofferedGroup,
                format!(
                    "the server's ServerKeyExchange uses {group}, which we did not offer (we offered {})",
                    list(offered)
                ),
            ));
        }
        // 2. A signature scheme we offered, of the suite's certificate type.
        let scheme = ske.signed.scheme;
        let offered = config.verify_schemes(false);
        if !offered.contains(&scheme) {
            return Err(Error::peer(
                Reason::UnofferedSignatureScheme,
                format!(
                    "the server signed its ServerKeyExchange with {scheme}, which we did not offer (we offered {})",
                    list(&offered)
                ),
            ));
        }
        let auth = s.suite.auth.unwrap_or(AuthKind::Ecdsa);
        if scheme_auth(scheme) != Some(auth) {
            return Err(Error::peer(
                Reason::UnofferedSignatureScheme,
                format!(
                    "the server chose {} (an {auth:?} suite) but signed with {scheme}",
                    s.suite.suite
                ),
            ));
        }
        // 3. The signature over both randoms and the parameters.
        let input = server_key_exchange_input(&cx.client_random, &s.server_random, &ske.params);
        let proof =
            verify::verify_tls12_signature(&leaf, scheme, &input, &ske.signed.signature, "server")?;
        // 4. Our share in the same group; the agreement waits for ServerHelloDone.
        let kx = config.kx_group(group)?.start()?;
        cx.neg.group = Some(group);
        cx.neg.sig_scheme = Some(scheme);
        cx.trace(TraceKind::Negotiated, || {
            format!("key exchange {group}, the server signed with {scheme}")
        });
        s.transcript.add(raw);
        Ok(State::CertificateRequestOrDone(Box::new(
            ExpectCertificateRequestOrServerHelloDone {
                k: KeyShared {
                    s,
                    server_share: ske.params.public,
                    kx,
                    _signature: proof,
                },
            },
        )))
    }
}

impl ExpectCertificateRequestOrServerHelloDone {
    const STEP: Step = Step::CertificateRequestOrServerHelloDone;

    /// A CertificateRequest (the optional Step Five), or Step Six straight away.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        if let Incoming::Handshake { msg, .. } = &m
            && matches!(msg.payload, HandshakePayload::ServerHelloDone)
        {
            let next = ExpectServerHelloDone {
                k: self.k,
                cert_request: None,
            };
            return Box::new(next).handle(cx, m);
        }
        let (req, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateRequestTls12)?;
        let mut k = self.k;
        // Step Five: the server wants our certificate (mutual TLS).
        cx.trace(TraceKind::State, || {
            format!(
                "client certificate requested: types {}, {} acceptable CA names",
                req.cert_types
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                req.ca_names.len()
            )
        });
        k.s.transcript.add(raw);
        Ok(State::ServerHelloDone(Box::new(ExpectServerHelloDone {
            k,
            cert_request: Some(req),
        })))
    }
}

impl ExpectServerHelloDone {
    const STEP: Step = Step::ServerHelloDone;

    /// Step Six received; our flight: Seven (Certificate), Eight (ClientKeyExchange), Nine
    /// (CertificateVerify), Ten (ChangeCipherSpec, Finished).
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let ((), raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::ServerHelloDone => ())?;
        let ExpectServerHelloDone {
            k:
                KeyShared {
                    mut s,
                    server_share,
                    kx,
                    ..
                },
            cert_request,
        } = *self;
        s.transcript.add(raw);
        // Step Seven: our certificate, or an empty list when we have none that fits.
        let signer = match &cert_request {
            Some(req) => send_client_certificate(cx, &mut s.transcript, req)?,
            None => None,
        };
        // Step Eight: our ECDHE share; the pre-master secret is the agreed point.
        let msg = HandshakePayload::ClientKeyExchange(kx.share().to_vec());
        let pre_master: Secret = kx.complete(&server_share)?;
        let enc = cx.send_hs(msg)?;
        s.transcript.add(enc);
        let secrets = Tls12Secrets::new(
            cx,
            s.suite,
            &pre_master,
            s.ems,
            &mut s.transcript,
            s.server_random,
        );
        // Step Nine: prove we hold our certificate's key, over every message so far.
        if let Some((ck, scheme)) = signer {
            let signature = ck.key.sign(scheme, s.transcript.bytes())?;
            let msg = HandshakePayload::CertificateVerify(DigitallySigned { scheme, signature });
            let enc = cx.send_hs(msg)?;
            s.transcript.add(enc);
        }
        // Step Ten.
        send_ccs_and_finished(cx, &secrets, &mut s.transcript)?;
        Ok(State::Ccs(Box::new(ExpectCcs {
            secrets,
            transcript: s.transcript,
            pending: s.pending,
        })))
    }
}

impl ExpectCcs {
    const STEP: Step = Step::ServerChangeCipherSpec;

    /// RFC 5077 §3.3: the server promised a NewSessionTicket, which comes before its
    /// ChangeCipherSpec, and it has not come yet.
    fn ticket_due(&self) -> bool {
        self.pending.ticket_ack && self.pending.ticket.is_none()
    }

    /// Step Eleven: the server's ChangeCipherSpec (after the ticket it promised, if any).
    fn handle(mut self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        if self.ticket_due() && matches!(m, Incoming::Handshake { .. }) {
            let (t, raw) =
                require_handshake_msg!(m, Self::STEP, HandshakePayload::NewSessionTicketTls12)?;
            // RFC 5077 §3.3: the ticket comes before the server's ChangeCipherSpec.
            self.transcript.add(raw);
            cx.trace(TraceKind::State, || {
                format!("session ticket received ({} bytes)", t.ticket.len())
            });
            self.pending.ticket = Some((t.ticket, t.lifetime_hint));
            return Ok(State::Ccs(self));
        }
        if let Incoming::Handshake { msg, .. } = m {
            return Err(Error::unexpected(Self::STEP, msg.typ.to_string()));
        }
        // RFC 5077 §3.3: a server that acknowledged our SessionTicket extension must send a
        // NewSessionTicket (an empty one if it changed its mind) before this record.
        if self.ticket_due() {
            return Err(Error::unexpected_because(
                Reason::UnexpectedChangeCipherSpec,
                "the NewSessionTicket the server promised in its ServerHello (RFC 5077 §3.3)",
                "a change_cipher_spec record",
            ));
        }
        receive_ccs(cx, &self.secrets)?;
        let ExpectCcs {
            secrets,
            transcript,
            pending,
        } = *self;
        Ok(State::Finished(Box::new(ExpectFinished {
            secrets,
            transcript,
            pending,
        })))
    }
}

impl ExpectFinished {
    const STEP: Step = Step::ServerFinished;

    /// Step Eleven: the server's Finished; after an abbreviated handshake, our Step Ten.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (f, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Finished)?;
        let ExpectFinished {
            secrets,
            mut transcript,
            pending,
        } = *self;
        secrets.check_finished(false, &mut transcript, &f)?;
        transcript.add(raw);
        if pending.resumed.is_some() {
            // Abbreviated handshake: our ChangeCipherSpec and Finished come last.
            send_ccs_and_finished(cx, &secrets, &mut transcript)?;
        }
        save_session(cx, &secrets, pending);
        Ok(State::Traffic(Box::new(Traffic {
            secrets: secrets.complete(cx),
        })))
    }
}

impl Traffic {
    const STEP: Step = Step::ApplicationData;

    /// Handshake Again: the server's HelloRequest (RFC 5246 §7.4.1.1). Answered with a
    /// secure renegotiation (RFC 5746) when allowed, else declined with a warning.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        require_handshake_msg!(m, Self::STEP, HandshakePayload::HelloRequest => ())?;
        if let Err(why) = cx.may_renegotiate() {
            cx.trace(TraceKind::State, || {
                format!("Handshake Again declined: {why}")
            });
            decline_renegotiation(cx, "a HelloRequest");
            return Ok(State::Traffic(self));
        }
        cx.trace(TraceKind::State, || {
            "Handshake Again: the server asks for a new handshake (HelloRequest)".into()
        });
        Ok(State::Again(self.secrets))
    }

    /// Handshake Again asked for by our application (`Connection::renegotiate`).
    pub(crate) fn renegotiate(self: Box<Self>, cx: &mut Common) -> Result<State, (State, Error)> {
        match cx.may_renegotiate() {
            Ok(()) => {
                cx.trace(TraceKind::State, || {
                    "Handshake Again: we ask for a new handshake (renegotiate)".into()
                });
                Ok(State::Again(self.secrets))
            }
            Err(why) => Err((
                State::Traffic(self),
                Error::Usage(format!("no renegotiation: {why}")),
            )),
        }
    }
}

/// Step Seven: send our chain if its key fits the request's certificate types and can sign
/// with a scheme the server accepts; otherwise an empty Certificate (RFC 5246 §7.4.6).
fn send_client_certificate(
    cx: &mut Common,
    transcript: &mut TranscriptBuffer,
    req: &CertificateRequestTls12,
) -> Result<Option<(std::sync::Arc<crate::config::CertifiedKey>, SignatureScheme)>, Error> {
    let chosen = cx.certs().first().and_then(|ck| {
        let wanted = match key_auth(&ck.key) {
            AuthKind::Rsa => ClientCertificateType::RSASign,
            AuthKind::Ecdsa => ClientCertificateType::ECDSASign,
        };
        if !req.cert_types.contains(&wanted) {
            return None;
        }
        ck.key
            .choose_scheme(&req.signature_schemes, false)
            .map(|sch| (ck.clone(), sch))
    });
    if chosen.is_none() && !cx.certs().is_empty() {
        cx.trace(TraceKind::State, || {
            "client certificate: ours does not fit the server's certificate types or signature schemes; sending none".into()
        });
    }
    let chain = chosen
        .as_ref()
        .map(|(ck, _)| ck.chain.iter().map(|c| c.as_ref().to_vec()).collect())
        .unwrap_or_default();
    cx.sent_no_client_cert = chosen.is_none();
    let msg = HandshakePayload::CertificateTls12(chain);
    let enc = cx.send_hs(msg)?;
    transcript.add(enc);
    Ok(chosen)
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keep the session for a later resumption when the server gave us a way back (a session
/// id or a ticket); a resumed session keeps its age unless a new ticket came.
fn save_session(cx: &mut Common, secrets: &Tls12Secrets, p: Pending) {
    if p.ticket.is_none()
        && let Some(s) = p.resumed
    {
        // Resumed and no new ticket: the cache still holds this very session.
        cx.latest_session = Some(ClientSession::Tls12(s));
        cx.session_serial += 1;
        return;
    }
    let now = cx.config.now_ms();
    let (created_ms, mut lifetime, mut ticket) = match &p.resumed {
        Some(s) => (s.created_ms, s.lifetime, s.ticket.clone()),
        None => (now, crate::config::DEFAULT_TICKET_LIFETIME, Vec::new()),
    };
    let fresh_ticket = p.ticket.is_some();
    if let Some((t, hint)) = p.ticket {
        ticket = t;
        if hint > 0 {
            lifetime = hint.min(crate::session::MAX_TICKET_LIFETIME);
        }
    }
    if p.session_id.is_empty() && ticket.is_empty() {
        return;
    }
    let session = ClientSession12 {
        suite: secrets.suite.suite,
        master: secrets.master().clone(),
        ems: secrets.ems,
        session_id: p.session_id,
        ticket,
        server_name: cx.resume_name.clone(),
        peer_certs: cx.neg.peer_certs.clone(),
        created_ms: if fresh_ticket { now } else { created_ms },
        lifetime,
    };
    cx.save_session(ClientSession::Tls12(session));
}
