//! The server's TLS 1.2 handshake (RFC 5246 §7.3), in the seed's steps: our Two to Six
//! (ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone), the
//! client's Seven to Ten, then our Eleven (ChangeCipherSpec, Finished).

use std::sync::Arc;

use pki_types::CertificateDer;

use crate::codec::enums::{
    CipherSuite, ClientCertificateType, Compression, ECPointFormat, HandshakeType, NamedGroup,
    ProtocolVersion,
};
use crate::codec::extensions::ServerExtension;
use crate::codec::handshake::NewSessionTicketTls12;
use crate::codec::handshake::{
    CertificateRequestTls12, ClientHelloPayload, DigitallySigned, EcdheParams, HandshakePayload,
    ServerHelloPayload, ServerKeyExchangeTls12,
};
use crate::config::{CertifiedKey, VerifyMode};
use crate::context::{
    Common, Established, Event, Incoming, Renegotiation, Step, TraceKind, require_handshake_msg,
};
use crate::crypto::hash::TranscriptBuffer;
use crate::crypto::kx::ActiveKeyExchange;
use crate::crypto::rand;
use crate::crypto::suites::SuiteInfo;
use crate::error::{Error, Reason};
use crate::session::{CertChain, ServerSession};
use crate::tls12::handshake::{
    DOWNGRADE_TLS12, Tls12Secrets, decline_renegotiation, key_auth, receive_ccs,
    send_ccs_and_finished, server_key_exchange_input,
};
use crate::verify::{self, ClientCertVerified};

use super::hs::{choose_alpn, list};

/// The server's TLS 1.2 states.
pub(crate) enum State {
    Certificate(Box<ExpectCertificate>),
    ClientKeyExchange(Box<ExpectClientKeyExchange>),
    CertificateVerify(Box<ExpectCertificateVerify>),
    Ccs(Box<ExpectCcs>),
    Finished(Box<ExpectFinished>),
    /// The handshake is complete.
    Traffic(Box<Traffic>),
}

/// What our flight (Steps Two to Six) leaves for the client's Steps Seven and Eight.
struct Flight {
    suite: &'static SuiteInfo,
    transcript: TranscriptBuffer,
    server_random: [u8; 32],
    ems: bool,
    kx: Box<dyn ActiveKeyExchange>,
    resumable: Resumable,
}

/// What every state after the key exchange (or a resumption's ServerHello) carries.
struct Keyed {
    secrets: Tls12Secrets,
    resumable: Resumable,
    transcript: TranscriptBuffer,
}

/// How this handshake's session can be resumed later, and whether it is a resumption.
#[derive(Default)]
struct Resumable {
    /// The session id we gave (empty when the cache is off).
    session_id: Vec<u8>,
    /// We promised a NewSessionTicket (the client sent session_ticket; tickets are on).
    ticket_ack: bool,
    /// An abbreviated handshake: our ChangeCipherSpec and Finished went first.
    resumed: bool,
    /// When the session began (kept across resumptions).
    created_ms: u64,
}

/// Step Seven: the client's certificate chain (we sent a CertificateRequest).
pub(crate) struct ExpectCertificate {
    f: Flight,
}

/// Step Eight: the client's ECDHE share.
pub(crate) struct ExpectClientKeyExchange {
    f: Flight,
    /// The client's verified certificate, once Step Seven brought one.
    client_cert: Option<(CertificateDer<'static>, ClientCertVerified)>,
}

/// Step Nine: the client signs every handshake message so far with its certificate's key.
pub(crate) struct ExpectCertificateVerify {
    k: Keyed,
    leaf: CertificateDer<'static>,
    _verified: ClientCertVerified,
}

/// Step Ten: the client's ChangeCipherSpec.
pub(crate) struct ExpectCcs {
    k: Keyed,
}

/// Step Ten: the client's Finished.
pub(crate) struct ExpectFinished {
    k: Keyed,
}

/// The handshake is complete: the exporter's inputs, and whether we asked the client for a
/// new handshake (Handshake Again).
pub(crate) struct Traffic {
    secrets: Box<crate::tls12::handshake::Tls12Established>,
    /// Our HelloRequest is out and the client has not answered it yet.
    asked: Option<Asked>,
}

/// What our HelloRequest asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// A new handshake (`Connection::renegotiate`).
    Renegotiation,
    /// A new handshake with a CertificateRequest (`Connection::request_client_certificate`).
    Certificate,
}

/// What the server settled on for TLS 1.2.
struct Choices {
    suite: &'static SuiteInfo,
    cert: Arc<CertifiedKey>,
    /// The ServerKeyExchange's signature scheme; an abbreviated handshake signs nothing, so
    /// a client without one we can use may still resume.
    scheme: Result<crate::codec::enums::SignatureScheme, Error>,
    group: NamedGroup,
    alpn: Option<Vec<u8>>,
    ems: bool,
    secure_renegotiation: bool,
}

/// Choose suite, certificate, signature scheme, group and ALPN protocol from the ClientHello.
fn choose(cx: &mut Common, ch: &ClientHelloPayload, raw: &[u8]) -> Result<Choices, Error> {
    let config = cx.config.clone();
    // 1. Null compression must be on offer (RFC 5246 §7.4.1.2: the list MUST contain it), so
    //    a list without it is an illegal value, not a failed negotiation.
    if !ch.compression_methods.contains(&Compression::Null) {
        return Err(Error::peer(
            Reason::NoNullCompression,
            format!(
                "the client offered compression {} but not null, which every TLS 1.2 ClientHello \
             must offer (RFC 5246 §7.4.1.2); ferrotls does no compression",
                list(&ch.compression_methods)
            ),
        ));
    }
    // 2. RFC 5746 §3.6: renegotiation_info must be empty on an initial handshake; either it
    //    or the SCSV signals a client that knows secure renegotiation. §3.7: a renegotiation
    //    carries no SCSV, and its renegotiation_info quotes the client's last Finished.
    let scsv = ch
        .cipher_suites
        .contains(&CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
    match (&cx.renegotiating, ch.renegotiation_info()) {
        (None, Some(ri)) if !ri.is_empty() => {
            return Err(Error::peer(
                Reason::BadRenegotiationInfo,
                format!(
                    "the client's renegotiation_info holds {} bytes on an initial handshake; it \
                     must be empty (RFC 5746 §3.6)",
                    ri.len()
                ),
            ));
        }
        (None, _) => {}
        (Some(_), _) if scsv => {
            return Err(Error::peer(
                Reason::BadRenegotiationInfo,
                "the client's renegotiating ClientHello carries TLS_EMPTY_RENEGOTIATION_INFO_SCSV, \
                 which only an initial handshake may (RFC 5746 §3.7)",
            ));
        }
        (Some(_), None) => {
            return Err(Error::peer(
                Reason::BadRenegotiationInfo,
                "the client's renegotiating ClientHello has no renegotiation_info; a secure \
                 renegotiation must quote the client's last Finished in it (RFC 5746 §3.7)",
            ));
        }
        (Some(r), Some(ri)) => {
            if !crate::crypto::ct::constant_time_eq(ri, &r.client_verify) {
                return Err(Error::peer(
                    Reason::BadRenegotiationInfo,
                    format!(
                        "the client's renegotiation_info ({} bytes) does not quote its Finished of \
                         the handshake before (RFC 5746 §3.7): this renegotiation is not bound \
                         to this connection, as in the renegotiation splicing attack",
                        ri.len()
                    ),
                ));
            }
        }
    }
    let secure_renegotiation = ch.renegotiation_info().is_some() || scsv;
    // 3. Extended Master Secret (RFC 7627 §5.3).
    let ems = ch.ems_offered();
    if !ems && config.require_ems {
        return Err(Error::peer(
            Reason::NoExtendedMasterSecret,
            "the client does not support Extended Master Secret (RFC 7627), which this \
             configuration requires; upgrade the client, or call \
             set_require_extended_master_secret(false) to accept a legacy peer",
        ));
    }
    // 4. The certificate (by SNI, or the configured resolver's choice), then a suite whose
    //    certificate type fits its key, in our order (or the client's, when configured).
    let cert = super::hs::resolve_for(cx, ch, raw, ProtocolVersion::TLSv1_2)?;
    let auth = key_auth(&cert.key);
    let ours: Vec<&'static SuiteInfo> = config.suites_for(ProtocolVersion::TLSv1_2).collect();
    let fits = |s: &SuiteInfo| s.auth == Some(auth);
    let suite = if config.prefer_client_ciphers {
        ch.cipher_suites
            .iter()
            .find_map(|c| ours.iter().copied().find(|s| s.suite == *c && fits(s)))
    } else {
        ours.iter()
            .copied()
            .find(|s| fits(s) && ch.cipher_suites.contains(&s.suite))
    };
    let Some(suite) = suite else {
        let usable: Vec<CipherSuite> = ours.iter().filter(|s| fits(s)).map(|s| s.suite).collect();
        return Err(Error::NoSharedCipherSuite(format!(
            "no TLS 1.2 cipher suite in common: the client offered {}; with our {} certificate \
             we support {}",
            list(&ch.cipher_suites),
            cert.key.kind(),
            list(&usable)
        )));
    };
    // 5. A signature scheme for the ServerKeyExchange. Without signature_algorithms the
    //    client would accept only SHA-1 (RFC 5246 §7.4.1.4.1), which we do not sign with.
    let theirs = ch.signature_schemes().unwrap_or(&[]);
    let scheme = cert.key.choose_scheme(theirs, false).ok_or_else(|| {
        Error::NoSharedSignatureScheme(format!(
            "our certificate's key ({}) can sign with {}; the client accepts only {}",
            cert.key.kind(),
            list(&cert.key.schemes(false)),
            if theirs.is_empty() {
                "SHA-1 schemes (it sent no signature_algorithms)".to_string()
            } else {
                list(theirs)
            }
        ))
    });
    // 6. A curve from supported_groups (RFC 8422 §5.1.1), uncompressed points (§5.1.2);
    //    only groups ECDHE can use (a KEM is TLS 1.3 only).
    let group = match ch.groups() {
        Some(g) => config.groups12.iter().copied().find(|x| g.contains(x)),
        None => config.groups12.first().copied(),
    }
    .ok_or_else(|| {
        Error::NoSharedGroup(format!(
            "no key-exchange group in common: the client supports {}; we support {} in TLS 1.2{}",
            list(ch.groups().unwrap_or(&[])),
            list(&config.groups12),
            if config.groups12.is_empty() {
                " (our groups are all post-quantum, which TLS 1.2 cannot use: add a classic \
                 group, or require TLS 1.3)"
            } else {
                ""
            }
        ))
    })?;
    if let Some(f) = ch.ec_point_formats()
        && !f.contains(&ECPointFormat::Uncompressed)
    {
        return Err(Error::peer(
            Reason::NoUncompressedPointFormat,
            "the client's ec_point_formats lacks the uncompressed format (RFC 8422 §5.1.2)",
        ));
    }
    // 7. RFC 8422 §5.1: in TLS 1.2 an ECDSA certificate's key must be on a curve the client
    // lists in supported_groups (TLS 1.3 names the curve in the signature scheme instead).
    let curve = match cert.key.kind() {
        crate::crypto::sign::KeyKind::EcdsaP256 => Some(NamedGroup::secp256r1),
        crate::crypto::sign::KeyKind::EcdsaP384 => Some(NamedGroup::secp384r1),
        _ => None,
    };
    if let (Some(c), Some(groups)) = (curve, ch.groups())
        && !groups.contains(&c)
    {
        return Err(Error::NoSharedGroup(format!(
            "our certificate's key is on {c}, which the client's supported_groups ({}) do not              include: a TLS 1.2 client accepts ECDSA keys only on the curves it lists (RFC 8422              §5.1); give this server a certificate on one of them, or an RSA one",
            list(groups)
        )));
    }
    let alpn = choose_alpn(cx, ch)?;
    Ok(Choices {
        suite,
        cert,
        scheme,
        group,
        alpn,
        ems,
        secure_renegotiation,
    })
}

fn send(cx: &mut Common, t: &mut TranscriptBuffer, payload: HandshakePayload) -> Result<(), Error> {
    let enc = cx.send_hs(payload)?;
    t.add(enc);
    Ok(())
}

impl State {
    /// Step One received (TLS 1.2 chosen); send Steps Two to Six.
    pub(crate) fn client_hello(
        cx: &mut Common,
        ch: &ClientHelloPayload,
        raw: &[u8],
    ) -> Result<Self, Error> {
        cx.neg.version = Some(ProtocolVersion::TLSv1_2);
        ch.check_tls12_extensions().map_err(|e| {
            Error::from(e).with_context("the ClientHello could not be decoded as TLS 1.2")
        })?;
        let c = choose(cx, ch, raw)?;
        let suite = c.suite;
        cx.neg.suite = Some(suite);
        cx.neg.group = Some(c.group);
        cx.neg.alpn = c.alpn.clone();
        cx.neg.secure_renegotiation = c.secure_renegotiation;
        let mut transcript = TranscriptBuffer::new();
        transcript.add(raw);

        // Step Two: ServerHello. A TLS 1.3 server marks its random when it negotiates less
        // (RFC 8446 §4.1.3).
        let mut random: [u8; 32] = rand::random_array()?;
        if cx.config.allows(ProtocolVersion::TLSv1_3) {
            random[24..].copy_from_slice(&DOWNGRADE_TLS12);
        }
        let ticket_ack = ch.session_ticket().is_some() && cx.config.ticket_sealer.is_some();
        // A renegotiation that asks for the client's certificate needs the full handshake.
        let resumable = !cx.renegotiating.as_ref().is_some_and(|r| r.ask_certificate);
        if let Some((sess, renew)) = resumable.then(|| find_session(cx, ch, c.ems)).flatten() {
            return abbreviated(cx, ch, transcript, random, &c, sess, ticket_ack && renew);
        }
        // A full handshake: Step Four needs a signature scheme the client accepts.
        let scheme = c.scheme.clone()?;
        cx.neg.sig_scheme = Some(scheme);
        cx.trace(TraceKind::Negotiated, || {
            format!(
                "negotiated: TLSv1.2, {}, key exchange {}, signature {scheme}, Extended Master \
                 Secret {}",
                suite.suite,
                c.group,
                if c.ems { "yes" } else { "no" }
            )
        });
        // A new session id when we cache sessions; none otherwise.
        let session_id = match cx.config.server_cache {
            Some(_) => rand::random_array::<32>()?.to_vec(),
            None => Vec::new(),
        };
        let resumable = Resumable {
            session_id: session_id.clone(),
            ticket_ack,
            resumed: false,
            created_ms: cx.config.now_ms(),
        };
        let mut extensions = Vec::new();
        if c.secure_renegotiation {
            extensions.push(ServerExtension::RenegotiationInfo(renegotiation_info(cx)));
        }
        if c.ems {
            extensions.push(ServerExtension::ExtendedMasterSecret);
        }
        if ch.ec_point_formats().is_some() {
            extensions.push(ServerExtension::EcPointFormats(vec![
                ECPointFormat::Uncompressed,
            ]));
        }
        if cx.neg.sni.is_some() {
            extensions.push(ServerExtension::ServerNameAck);
        }
        if let Some(p) = c.alpn.clone() {
            extensions.push(ServerExtension::Alpn(p));
        }
        if ticket_ack {
            extensions.push(ServerExtension::SessionTicketAck);
        }
        let sh = ServerHelloPayload {
            legacy_version: ProtocolVersion::TLSv1_2,
            random,
            session_id,
            cipher_suite: suite.suite,
            compression_method: Compression::Null,
            extensions,
        };
        send(cx, &mut transcript, HandshakePayload::ServerHello(sh))?;

        // Step Three: our certificate chain.
        let chain = c.cert.chain.iter().map(|d| d.as_ref().to_vec()).collect();
        send(
            cx,
            &mut transcript,
            HandshakePayload::CertificateTls12(chain),
        )?;

        // Step Four: our ECDHE share, signed (RFC 8422 §5.4).
        let kx = cx.config.kx_group(c.group)?.start()?;
        let params = EcdheParams {
            group: c.group,
            public: kx.share().to_vec(),
        };
        let input = server_key_exchange_input(&cx.client_random, &random, &params);
        let signature = c.cert.key.sign(scheme, &input)?;
        let ske = ServerKeyExchangeTls12 {
            params,
            signed: DigitallySigned { scheme, signature },
        };
        send(
            cx,
            &mut transcript,
            HandshakePayload::ServerKeyExchange(ske),
        )?;

        // Step Five: CertificateRequest, with the CA names we trust for client certificates.
        // With post-handshake authentication configured, the handshake asks for none: the
        // application asks later (a renegotiation), and a renegotiation asks again of a client
        // that gave one, so its identity carries over.
        let config = cx.config.clone();
        let want_client_cert = cx.verify_mode() != VerifyMode::NoClientAuth
            && match &cx.renegotiating {
                None => !config.post_handshake_auth,
                Some(r) => {
                    r.ask_certificate || !r.peer_certs.is_empty() || !config.post_handshake_auth
                }
            };
        if want_client_cert {
            let req = CertificateRequestTls12 {
                cert_types: vec![
                    ClientCertificateType::ECDSASign,
                    ClientCertificateType::RSASign,
                ],
                signature_schemes: config.verify_schemes(false),
                ca_names: cx.ca_names().to_vec(),
            };
            send(
                cx,
                &mut transcript,
                HandshakePayload::CertificateRequestTls12(req),
            )?;
        }

        // Step Six.
        send(cx, &mut transcript, HandshakePayload::ServerHelloDone)?;
        let f = Flight {
            suite,
            transcript,
            server_random: random,
            ems: c.ems,
            kx,
            resumable,
        };
        Ok(if want_client_cert {
            Self::Certificate(Box::new(ExpectCertificate { f }))
        } else {
            Self::ClientKeyExchange(Box::new(ExpectClientKeyExchange {
                f,
                client_cert: None,
            }))
        })
    }

    /// Handshake Again asked for by our application (`Connection::renegotiate`, or
    /// `Connection::request_client_certificate` when `certificate`): only from the traffic
    /// state. A usage error gives the state back.
    pub(crate) fn ask_again(
        self,
        cx: &mut Common,
        certificate: bool,
    ) -> Result<Self, (Self, Error)> {
        let what = if certificate {
            Asked::Certificate
        } else {
            Asked::Renegotiation
        };
        match self {
            Self::Traffic(t) => t.ask(cx, what),
            other => {
                let step = other.step();
                Err((
                    other,
                    Error::Usage(format!(
                        "a new handshake is already running (waiting for {step}); ask again once \
                         it completed"
                    )),
                ))
            }
        }
    }

    /// The client declined our HelloRequest (a no_renegotiation warning).
    pub(crate) fn renegotiation_declined(&mut self, cx: &mut Common) -> Result<(), Error> {
        match self {
            Self::Traffic(t) => t.declined(cx),
            _ => Ok(()),
        }
    }

    /// The established connection's secrets, once in the traffic state.
    pub(crate) fn established(&self) -> Option<&dyn Established> {
        match self {
            Self::Traffic(t) => Some(&*t.secrets),
            _ => None,
        }
    }

    /// [`Self::established`], to update keys.
    pub(crate) fn established_mut(&mut self) -> Option<&mut dyn Established> {
        match self {
            Self::Traffic(t) => Some(&mut *t.secrets),
            _ => None,
        }
    }

    pub(crate) fn step(&self) -> Step {
        match self {
            Self::Certificate(_) => ExpectCertificate::STEP,
            Self::ClientKeyExchange(_) => ExpectClientKeyExchange::STEP,
            Self::CertificateVerify(_) => ExpectCertificateVerify::STEP,
            Self::Ccs(_) => ExpectCcs::STEP,
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
            Self::Certificate(_) => &[T::Certificate],
            Self::ClientKeyExchange(_) => &[T::ClientKeyExchange],
            Self::CertificateVerify(_) => &[T::CertificateVerify],
            Self::Ccs(_) => &[],
            Self::Finished(_) => &[T::Finished],
            Self::Traffic(_) => &[T::ClientHello],
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::Certificate(s) => s.handle(cx, m),
            Self::ClientKeyExchange(s) => s.handle(cx, m),
            Self::CertificateVerify(s) => s.handle(cx, m),
            Self::Ccs(s) => s.handle(cx, m),
            Self::Finished(s) => s.handle(cx, m),
            Self::Traffic(s) => s.handle(cx, m),
        }
    }
}

impl ExpectCertificate {
    const STEP: Step = Step::ClientCertificate;

    /// Step Seven: the client's certificate chain, verified for client authentication.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (chain, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateTls12)?;
        let mut f = self.f;
        // 1. The chain (RFC 5246 §7.4.6), into the transcript whatever the verdict.
        let chain: Vec<CertificateDer<'static>> =
            chain.into_iter().map(CertificateDer::from).collect();
        f.transcript.add(raw);
        // 2. Verified for client authentication; none sent may be accepted, and then no
        //    CertificateVerify follows. certificate_required is TLS 1.3 only; TLS 1.2 says
        //    handshake_failure.
        //    In a renegotiation the identity the connection reports changes only when the new
        //    handshake completes, and only as the configuration allows.
        let before = cx.neg.peer_certs.clone();
        let client_cert =
            super::check_client_chain(cx, &chain, |t| Error::peer(Reason::NoClientCertificate, t))?;
        if let Some(r) = cx.renegotiating.as_deref_mut() {
            let new = std::mem::replace(&mut cx.neg.peer_certs, before);
            let new = if client_cert.is_some() {
                new
            } else {
                CertChain::default()
            };
            r.check_peer_chain(&cx.config, &new, "client")?;
            r.new_peer_certs = new;
        }
        Ok(State::ClientKeyExchange(Box::new(
            ExpectClientKeyExchange { f, client_cert },
        )))
    }
}

impl ExpectClientKeyExchange {
    const STEP: Step = Step::ClientKeyExchange;

    /// Step Eight: the client's ECDHE share gives the pre-master and master secrets.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (point, raw) =
            require_handshake_msg!(m, Self::STEP, HandshakePayload::ClientKeyExchange)?;
        let ExpectClientKeyExchange {
            f:
                Flight {
                    suite,
                    mut transcript,
                    server_random,
                    ems,
                    kx,
                    resumable,
                },
            client_cert,
        } = *self;
        // 1. The pre-master secret from the client's share (RFC 8422 §5.7).
        let pre_master = kx.complete(&point)?;
        transcript.add(raw);
        // 2. The master secret: over the session hash with Extended Master Secret (RFC 7627
        //    §4), else over the two randoms (RFC 5246 §8.1).
        let secrets =
            Tls12Secrets::new(cx, suite, &pre_master, ems, &mut transcript, server_random);
        let k = Keyed {
            secrets,
            resumable,
            transcript,
        };
        // 3. A client that sent a certificate proves it holds the key next (RFC 5246 §7.4.8).
        Ok(match client_cert {
            Some((leaf, verified)) => State::CertificateVerify(Box::new(ExpectCertificateVerify {
                k,
                leaf,
                _verified: verified,
            })),
            None => State::Ccs(Box::new(ExpectCcs { k })),
        })
    }
}

impl ExpectCertificateVerify {
    const STEP: Step = Step::ClientCertificateVerify;

    /// Step Nine: the client's signature over every handshake message so far (RFC 5246
    /// §7.4.8), with a scheme from our CertificateRequest.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (cv, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateVerify)?;
        let ExpectCertificateVerify { mut k, leaf, .. } = *self;
        // 1. A scheme our CertificateRequest offered.
        let offered = cx.config.verify_schemes(false);
        if !offered.contains(&cv.scheme) {
            return Err(Error::peer(
                Reason::UnofferedSignatureScheme,
                format!(
                    "the client signed its CertificateVerify with {}, which our CertificateRequest did not offer (we offered {})",
                    cv.scheme,
                    list(&offered)
                ),
            ));
        }
        // 2. The signature over the transcript so far.
        verify::verify_tls12_signature(
            &leaf,
            cv.scheme,
            k.transcript.bytes(),
            &cv.signature,
            "client",
        )?;
        k.transcript.add(raw);
        Ok(State::Ccs(Box::new(ExpectCcs { k })))
    }
}

impl ExpectCcs {
    const STEP: Step = Step::ClientChangeCipherSpec;

    /// Step Ten: the client's ChangeCipherSpec switches its direction to the new keys.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        if let Incoming::Handshake { msg, .. } = m {
            return Err(Error::unexpected(Self::STEP, msg.typ.to_string()));
        }
        receive_ccs(cx, &self.k.secrets)?;
        Ok(State::Finished(Box::new(ExpectFinished { k: self.k })))
    }
}

impl ExpectFinished {
    const STEP: Step = Step::ClientFinished;

    /// Step Ten: the client's Finished; after a full handshake, our Step Eleven.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (f, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Finished)?;
        let Keyed {
            secrets,
            resumable,
            mut transcript,
        } = self.k;
        // 1. The client's verify_data (RFC 5246 §7.4.9).
        secrets.check_finished(true, &mut transcript, &f)?;
        transcript.add(raw);
        // 2. After a full handshake: [NewSessionTicket,] our Step Eleven, and the session
        //    into the cache. An abbreviated one sent its Step Eleven first.
        if !resumable.resumed {
            let session = session_state(cx, &secrets, resumable.created_ms, established_chain(cx));
            if resumable.ticket_ack {
                send_ticket(cx, &mut transcript, &session)?;
            }
            // Step Eleven: our ChangeCipherSpec and Finished.
            send_ccs_and_finished(cx, &secrets, &mut transcript)?;
            if let Some(cache) = &cx.config.server_cache
                && !resumable.session_id.is_empty()
            {
                cache.put(resumable.session_id, session);
            }
        }
        // 3. Handshake Again complete: from here on the client is who this handshake says.
        if let Some(r) = &cx.renegotiating {
            let chain = r.new_peer_certs.clone();
            let n = chain.len();
            cx.trace(TraceKind::State, || {
                if n == 0 {
                    "Handshake Again: the client is unauthenticated from here on (no certificate \
                     in the new handshake)"
                        .into()
                } else {
                    "Handshake Again: the client is authenticated from here on (renegotiation \
                     complete)"
                        .into()
                }
            });
            cx.events.push(Event::PeerAuthenticated(chain));
        }
        Ok(State::Traffic(Box::new(Traffic {
            secrets: secrets.complete(cx),
            asked: None,
        })))
    }
}

/// The client chain a handshake established: in a renegotiation, kept aside until it
/// completes; else the connection's.
fn established_chain(cx: &Common) -> CertChain {
    match &cx.renegotiating {
        Some(r) => r.new_peer_certs.clone(),
        None => cx.neg.peer_certs.clone(),
    }
}

/// Our renegotiation_info (RFC 5746 §3.6, §3.7): empty on an initial handshake; in a
/// renegotiation both sides' Finished of the handshake before.
fn renegotiation_info(cx: &Common) -> Vec<u8> {
    match &cx.renegotiating {
        Some(r) => [r.client_verify, r.server_verify].concat(),
        None => Vec::new(),
    }
}

impl Traffic {
    const STEP: Step = Step::ApplicationData;

    /// Handshake Again: a renegotiating ClientHello. Accepted when we asked for it
    /// (HelloRequest) or the configuration accepts the client's renegotiation; else declined
    /// with a warning (RFC 5746 §4.2) and the connection goes on.
    fn handle(self: Box<Self>, cx: &mut Common, m: Incoming<'_>) -> Result<State, Error> {
        let (ch, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::ClientHello)?;
        // 1. The policy: our own request was counted when we sent it.
        let allowed = match self.asked {
            Some(_) => Ok(()),
            None if !cx.config.client_renegotiation => Err(
                "this server does not accept a renegotiation the client starts \
                 (set_client_renegotiation)",
            ),
            None => cx.may_renegotiate(),
        };
        if let Err(why) = allowed {
            cx.trace(TraceKind::State, || {
                format!("Handshake Again declined: {why}")
            });
            decline_renegotiation(cx, "a ClientHello");
            return Ok(State::Traffic(self));
        }
        // 2. The version stays TLS 1.2 (RFC 8446 §4.1.2: a server MUST NOT negotiate TLS 1.3
        //    in a renegotiation).
        let offers_tls12 = match ch.supported_versions() {
            Some(v) => v.contains(&ProtocolVersion::TLSv1_2),
            None => ch.legacy_version.to_int() >= 0x0303,
        };
        if !offers_tls12 {
            return Err(Error::NoSharedVersion(format!(
                "the client's renegotiating ClientHello does not offer TLS 1.2, the version of \
                 this connection (legacy_version {}); a renegotiation keeps the version",
                ch.legacy_version
            )));
        }
        // 3. Step One again, under the current keys; they and the exporter stay in use until
        //    the new ChangeCipherSpec.
        let Traffic { secrets, asked } = *self;
        cx.renegotiating = Some(Box::new(Renegotiation {
            client_verify: secrets.client_verify,
            server_verify: secrets.server_verify,
            previous: secrets,
            peer_certs: cx.neg.peer_certs.clone(),
            ask_certificate: asked == Some(Asked::Certificate),
            new_peer_certs: CertChain::default(),
        }));
        cx.trace(TraceKind::State, || {
            format!(
                "Handshake Again: Step One again, {} (secure renegotiation, RFC 5746)",
                if asked.is_some() {
                    "the client answers our HelloRequest"
                } else {
                    "started by the client"
                }
            )
        });
        cx.client_random = ch.random;
        let sni = ch.server_name().map(str::to_owned);
        if sni != cx.neg.sni {
            return Err(Error::peer(
                Reason::InvalidValue,
                "the client's renegotiating ClientHello names another server (server_name) than \
                 the handshake before; a renegotiation stays with the server it began with",
            ));
        }
        cx.neg.kind = None;
        State::client_hello(cx, &ch, raw)
    }

    /// Handshake Again asked for by our application: a HelloRequest (RFC 5246 §7.4.1.1),
    /// which the client answers with a ClientHello (or declines). A usage error gives the
    /// state back.
    fn ask(self: Box<Self>, cx: &mut Common, what: Asked) -> Result<State, (State, Error)> {
        let refuse = |t: Box<Self>, why: String| Err((State::Traffic(t), Error::Usage(why)));
        if self.asked.is_some() {
            return refuse(
                self,
                "a new handshake we asked for is still unanswered; wait for it (read reports \
                 PeerAuthenticated when it completes)"
                    .into(),
            );
        }
        if what == Asked::Certificate && cx.verify_mode() == VerifyMode::NoClientAuth {
            return refuse(
                self,
                "asking for a client certificate needs a verification mode that accepts one \
                 (request or require a client certificate) and trust anchors for it"
                    .into(),
            );
        }
        if let Err(why) = cx.may_renegotiate() {
            return refuse(self, format!("no renegotiation: {why}"));
        }
        cx.trace(TraceKind::State, || {
            if what == Asked::Certificate {
                "Handshake Again: asking for the client's certificate in a new handshake \
                 (HelloRequest, TLS 1.2 secure renegotiation)"
                    .into()
            } else {
                "Handshake Again: asking the client for a new handshake (HelloRequest)".into()
            }
        });
        if let Err(e) = cx.send_hs(HandshakePayload::HelloRequest) {
            return Err((State::Traffic(self), e));
        }
        Ok(State::Traffic(Box::new(Traffic {
            secrets: self.secrets,
            asked: Some(what),
        })))
    }

    /// The client declined our HelloRequest with a no_renegotiation warning. A request for
    /// its certificate then has its answer, none: fatal when the verification mode requires
    /// one, else the client stays who it was and `read` reports that point.
    fn declined(&mut self, cx: &mut Common) -> Result<(), Error> {
        let Some(asked) = self.asked.take() else {
            return Ok(());
        };
        cx.trace(TraceKind::State, || {
            "Handshake Again declined by the client (no_renegotiation): the connection goes on \
             with its current keys"
                .into()
        });
        if asked != Asked::Certificate {
            return Ok(());
        }
        if cx.verify_mode() == VerifyMode::RequireClientCert {
            return Err(Error::peer(
                Reason::NoClientCertificate,
                "the client declined the new handshake in which we asked for its certificate \
                 (no_renegotiation), and this server requires one: the client must allow \
                 renegotiation and have a certificate and its key",
            ));
        }
        cx.events
            .push(Event::PeerAuthenticated(cx.neg.peer_certs.clone()));
        Ok(())
    }
}

/// The session this handshake established, as the cache and tickets keep it.
fn session_state(
    cx: &Common,
    secrets: &Tls12Secrets,
    created_ms: u64,
    peer_certs: CertChain,
) -> ServerSession {
    ServerSession {
        version: ProtocolVersion::TLSv1_2,
        suite: secrets.suite.suite,
        secret: secrets.master().clone(),
        ems: secrets.ems,
        created_ms,
        lifetime: if cx.config.ticket_lifetime > 0 {
            cx.config.ticket_lifetime
        } else {
            crate::config::DEFAULT_TICKET_LIFETIME
        },
        age_add: 0,
        alpn: cx.neg.alpn.clone(),
        sni: cx.neg.sni.clone(),
        peer_certs,
    }
}

/// RFC 5077 §3.3: a NewSessionTicket before our ChangeCipherSpec. A session too large to
/// seal gets an empty ticket ("no ticket this time").
fn send_ticket(
    cx: &mut Common,
    transcript: &mut TranscriptBuffer,
    session: &ServerSession,
) -> Result<(), Error> {
    let now = cx.config.now_ms();
    let ticket = match &cx.config.ticket_sealer {
        Some(k) => crate::session::seal_session(&**k, session).unwrap_or_default(),
        None => Vec::new(),
    };
    // Rounded up: a ticket issued just now is announced with its whole lifetime.
    let remaining = (u64::from(session.lifetime) * 1000)
        .saturating_sub(now.saturating_sub(session.created_ms))
        .div_ceil(1000);
    send(
        cx,
        transcript,
        HandshakePayload::NewSessionTicketTls12(NewSessionTicketTls12 {
            lifetime_hint: remaining as u32,
            ticket,
        }),
    )
}

/// A session the ClientHello asks to resume, by ticket (RFC 5077) or session id, if it is
/// ours, unexpired and compatible; otherwise `None` and a full handshake. The flag says
/// whether the client needs a new ticket: it resumed by session id, or its ticket was
/// sealed with the retiring key. A ticket under the current key stays valid as it is, so
/// it is not re-issued (RFC 5077 §3.3 makes renewal optional; OpenSSL renews likewise),
/// which saves a seal here and a store in the client on every resumption.
fn find_session(
    cx: &mut Common,
    ch: &ClientHelloPayload,
    ems: bool,
) -> Option<(ServerSession, bool)> {
    let config = cx.config.clone();
    let now = config.now_ms();
    if ch.session_id.is_empty() {
        return None;
    }
    let ticket = ch.session_ticket().filter(|t| !t.is_empty());
    let (found, renew, how) = match (ticket, &config.ticket_sealer, &config.server_cache) {
        (Some(t), Some(sealer), _) => match crate::session::open_session(&**sealer, t) {
            Some(s) => (Some(s), sealer.should_renew(t), "session ticket"),
            None => (None, false, "session ticket"),
        },
        (Some(_), None, _) => (None, false, "session ticket"),
        (None, _, Some(cache)) => (cache.get(&ch.session_id), true, "session id"),
        (None, _, None) => return None,
    };
    let why = match &found {
        None if how == "session id" => {
            "it is not in our cache (a first connection, a TLS 1.3 client's compatibility \
             session id, or a session evicted since)"
        }
        None => "it is not ours (unknown, forged, tampered or from a retired key)",
        Some(s) if s.version != ProtocolVersion::TLSv1_2 => "it is for another protocol version",
        Some(s) if s.expired(now) => "it has expired",
        Some(s)
            if !ch.cipher_suites.contains(&s.suite)
                || !config
                    .suites_for(ProtocolVersion::TLSv1_2)
                    .any(|x| x.suite == s.suite) =>
        {
            "its cipher suite is no longer offered or enabled"
        }
        // RFC 7627 §5.3: never resume across a change of Extended Master Secret.
        Some(s) if s.ems != ems => {
            "its Extended Master Secret state differs from this ClientHello's (RFC 7627 §5.3)"
        }
        Some(s) if s.sni != cx.neg.sni => "it was established for another server name",
        Some(s) if cx.verify_mode() == VerifyMode::RequireClientCert && s.peer_certs.is_empty() => {
            "it has no client certificate, which we require"
        }
        Some(_) => {
            cx.trace(TraceKind::State, || {
                format!("resumption: the client's {how} is accepted")
            });
            return found.map(|s| (s, renew));
        }
    };
    cx.trace(TraceKind::State, || {
        format!("resumption: the client's {how} is refused because {why}; full handshake")
    });
    None
}

/// The abbreviated handshake (RFC 5246 §7.3, RFC 5077 §3.1): ServerHello echoing the
/// client's session id, [NewSessionTicket,] ChangeCipherSpec, Finished; the client's
/// ChangeCipherSpec and Finished follow. `ticket_ack`: a new ticket is promised and sent.
fn abbreviated(
    cx: &mut Common,
    ch: &ClientHelloPayload,
    mut transcript: TranscriptBuffer,
    random: [u8; 32],
    c: &Choices,
    sess: ServerSession,
    ticket_ack: bool,
) -> Result<State, Error> {
    let suite = crate::crypto::suites::lookup(sess.suite)
        .ok_or_else(|| Error::Internal("a cached session with an unknown suite".into()))?;
    cx.neg.suite = Some(suite);
    cx.neg.group = None;
    cx.neg.sig_scheme = None;
    match cx.renegotiating.as_deref_mut() {
        Some(r) => {
            r.check_peer_chain(&cx.config, &sess.peer_certs, "client")?;
            r.new_peer_certs = sess.peer_certs.clone();
        }
        None => cx.neg.peer_certs = sess.peer_certs.clone(),
    }
    cx.neg.kind = Some(crate::context::HandshakeKind::Resumed);
    cx.trace(TraceKind::Negotiated, || {
        format!(
            "abbreviated handshake (resumed session): TLSv1.2, {}; Steps Three to Ten are skipped, \
             our Step Eleven comes first",
            suite.suite
        )
    });
    let mut extensions = Vec::new();
    if c.secure_renegotiation {
        extensions.push(ServerExtension::RenegotiationInfo(renegotiation_info(cx)));
    }
    if c.ems {
        extensions.push(ServerExtension::ExtendedMasterSecret);
    }
    if ch.ec_point_formats().is_some() {
        extensions.push(ServerExtension::EcPointFormats(vec![
            ECPointFormat::Uncompressed,
        ]));
    }
    if let Some(p) = c.alpn.clone() {
        extensions.push(ServerExtension::Alpn(p));
    }
    if ticket_ack {
        extensions.push(ServerExtension::SessionTicketAck);
    }
    let sh = ServerHelloPayload {
        legacy_version: ProtocolVersion::TLSv1_2,
        random,
        session_id: ch.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: Compression::Null,
        extensions,
    };
    send(cx, &mut transcript, HandshakePayload::ServerHello(sh))?;
    let secrets = Tls12Secrets::from_master(cx, suite, sess.secret.clone(), random, sess.ems);
    if ticket_ack {
        send_ticket(cx, &mut transcript, &sess)?;
    }
    send_ccs_and_finished(cx, &secrets, &mut transcript)?;
    Ok(State::Ccs(Box::new(ExpectCcs {
        k: Keyed {
            secrets,
            resumable: Resumable {
                resumed: true,
                ..Resumable::default()
            },
            transcript,
        },
    })))
}
