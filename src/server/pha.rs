//! Handshake Again in TLS 1.3, the server's side: post-handshake authentication (RFC 8446
//! §4.6.2). The seed's scenario — the server learns from a request that it needs the client's
//! certificate — without a new handshake: we send a CertificateRequest with a fresh context
//! under the application keys, and the client answers Certificate, CertificateVerify and
//! Finished over the handshake's transcript plus these messages. The new identity takes
//! effect at the client's Finished, which the connection marks in the byte stream.

use pki_types::CertificateDer;

use crate::codec::extensions::CertReqExtension;
use crate::codec::handshake::{CertificateRequestPayloadTls13, HandshakeMessage, HandshakePayload};
use crate::context::{Common, Event, Incoming, Step, TraceKind, require_handshake_msg};
use crate::crypto::hash::Transcript;
use crate::crypto::rand;
use crate::error::{Error, Reason};
use crate::session::CertChain;
use crate::tls13::handshake as hs;
use crate::verify;

use super::tls13::{State, Traffic};

/// Bytes of a post-handshake certificate_request_context: unique per request (RFC 8446
/// §4.3.2), so an answer cannot be replayed to another request.
const CONTEXT_LEN: usize = 16;

/// One post-handshake authentication in progress.
pub(crate) struct Pha {
    traffic: Box<Traffic>,
    /// The handshake's transcript (through the client's Finished) and this exchange.
    transcript: Transcript,
    context: Vec<u8>,
}

/// RFC 8446 §4.6.3: a KeyUpdate may come at any time after the client's Finished, also in the
/// middle of this exchange (it is not part of its transcript). Handles it and gives `true`.
fn key_update(p: &mut Pha, cx: &mut Common, m: &Incoming<'_>) -> Result<bool, Error> {
    let Incoming::Handshake {
        msg:
            HandshakeMessage {
                payload: HandshakePayload::KeyUpdate(req),
                ..
            },
        ..
    } = m
    else {
        return Ok(false);
    };
    p.traffic.secrets.receive_key_update(cx, *req)?;
    Ok(true)
}

impl Pha {
    pub(crate) fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    pub(crate) fn traffic_mut(&mut self) -> &mut Traffic {
        &mut self.traffic
    }
}

/// Handshake Again: the client's certificate for our CertificateRequest.
pub(crate) struct ExpectCertificate {
    pub(crate) p: Pha,
}

/// Handshake Again: the client's signature with that certificate's key.
pub(crate) struct ExpectCertificateVerify {
    pub(crate) p: Pha,
    leaf: CertificateDer<'static>,
    chain: CertChain,
}

/// Handshake Again: the client's Finished over the exchange.
pub(crate) struct ExpectFinished {
    pub(crate) p: Pha,
    /// The verified chain, or `None` when the client sent none (and that was allowed).
    chain: Option<CertChain>,
}

/// Whether a certificate may be asked for now: a usage error otherwise, before any state
/// changes.
pub(crate) fn check_can_request(cx: &Common, closing: bool) -> Result<(), Error> {
    if !cx.neg.post_handshake_auth {
        return Err(Error::Usage(
            "the client did not offer post_handshake_auth (RFC 8446 §4.2.6), so it cannot be \
             asked for a certificate after the handshake"
                .into(),
        ));
    }
    if cx.verify_mode() == crate::config::VerifyMode::NoClientAuth {
        return Err(Error::Usage(
            "asking for a client certificate needs a verification mode that accepts one \
             (request or require a client certificate) and trust anchors for it"
                .into(),
        ));
    }
    if !cx.config.post_handshake_auth {
        return Err(Error::Usage(
            "asking for a client certificate after the handshake needs \
             set_post_handshake_auth(true) on the server's configuration"
                .into(),
        ));
    }
    if closing {
        return Err(Error::Usage(
            "the connection is closing (close_notify was sent or received): the client can no \
             longer answer a request for its certificate"
                .into(),
        ));
    }
    Ok(())
}

/// Send a CertificateRequest from the traffic state (checked by [`check_can_request`]).
pub(crate) fn request(cx: &mut Common, traffic: Box<Traffic>) -> Result<State, Error> {
    let config = cx.config.clone();
    let mut context = vec![0u8; CONTEXT_LEN];
    rand::fill(&mut context)?;
    let mut extensions = vec![CertReqExtension::SignatureAlgorithms(
        config.verify_schemes(true),
    )];
    if !cx.ca_names().is_empty() {
        extensions.push(CertReqExtension::CertificateAuthorities(
            cx.ca_names().to_vec(),
        ));
    }
    cx.trace(TraceKind::State, || {
        "Handshake Again: asking for the client's certificate (TLS 1.3 post-handshake \
         authentication, RFC 8446 §4.6.2)"
            .into()
    });
    let enc = cx.send_hs(HandshakePayload::CertificateRequest(
        CertificateRequestPayloadTls13 {
            context: context.clone(),
            extensions,
        },
    ))?;
    let Some(mut transcript) = traffic.transcript.as_deref().cloned() else {
        return Err(Error::Internal(
            "post-handshake authentication without the handshake's transcript".into(),
        ));
    };
    transcript.add(enc);
    Ok(State::PhaCertificate(Box::new(ExpectCertificate {
        p: Pha {
            traffic,
            transcript,
            context,
        },
    })))
}

impl ExpectCertificate {
    pub(crate) const STEP: Step = Step::AgainClientCertificate;

    pub(crate) fn handle(
        mut self: Box<Self>,
        cx: &mut Common,
        m: Incoming<'_>,
    ) -> Result<State, Error> {
        if key_update(&mut self.p, cx, &m)? {
            return Ok(State::PhaCertificate(self));
        }
        let (c, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Certificate)?;
        let mut p = self.p;
        // 1. The context of our request (RFC 8446 §4.4.2).
        if c.context != p.context {
            return Err(Error::peer(
                Reason::BadCertificateMessage,
                "the client's post-handshake Certificate does not carry the context of our \
                 CertificateRequest",
            ));
        }
        let chain: Vec<CertificateDer<'static>> = c
            .entries
            .into_iter()
            .map(|e| CertificateDer::from(e.cert))
            .collect();
        p.transcript.add(raw);
        // 2. The chain, verified as in the handshake; the identity the connection reports
        //    changes only at the client's Finished, so the current one is kept until then.
        let before = cx.neg.peer_certs.clone();
        let checked = super::check_client_chain(cx, &chain, Error::CertificateRequired);
        let new_chain = std::mem::replace(&mut cx.neg.peer_certs, before);
        let Some((leaf, _verified)) = checked? else {
            return Ok(State::PhaFinished(Box::new(ExpectFinished {
                p,
                chain: None,
            })));
        };
        Ok(State::PhaCertificateVerify(Box::new(
            ExpectCertificateVerify {
                p,
                leaf,
                chain: new_chain,
            },
        )))
    }
}

impl ExpectCertificateVerify {
    pub(crate) const STEP: Step = Step::AgainClientCertificateVerify;

    pub(crate) fn handle(
        mut self: Box<Self>,
        cx: &mut Common,
        m: Incoming<'_>,
    ) -> Result<State, Error> {
        if key_update(&mut self.p, cx, &m)? {
            return Ok(State::PhaCertificateVerify(self));
        }
        let (cv, raw) = require_handshake_msg!(m, Self::STEP, HandshakePayload::CertificateVerify)?;
        let ExpectCertificateVerify { mut p, leaf, chain } = *self;
        // 1. A scheme our CertificateRequest offered.
        hs::check_offered_scheme(cv.scheme, &cx.config.verify_schemes(true), "client")?;
        // 2. The signature over the handshake and this exchange (RFC 8446 §4.4.3).
        let hash = p.transcript.current_hash();
        let input = hs::certificate_verify_input(hash.as_ref(), false);
        verify::verify_tls13_signature(&leaf, cv.scheme, &input, &cv.signature, "client")?;
        p.transcript.add(raw);
        Ok(State::PhaFinished(Box::new(ExpectFinished {
            p,
            chain: Some(chain),
        })))
    }
}

impl ExpectFinished {
    pub(crate) const STEP: Step = Step::AgainClientFinished;

    pub(crate) fn handle(
        mut self: Box<Self>,
        cx: &mut Common,
        m: Incoming<'_>,
    ) -> Result<State, Error> {
        if key_update(&mut self.p, cx, &m)? {
            return Ok(State::PhaFinished(self));
        }
        let (f, _) = require_handshake_msg!(m, Self::STEP, HandshakePayload::Finished)?;
        let ExpectFinished { p, chain } = *self;
        // 1. verify_data under the client's current application traffic secret (RFC 8446
        //    §4.4.4), over the handshake's transcript and this exchange.
        let secrets = &p.traffic.secrets;
        hs::check_finished(
            secrets.suite(),
            &secrets.client_finished_key(),
            &p.transcript,
            &f,
            "client",
        )?;
        // 2. From here on the client is who its certificate says.
        let chain = chain.unwrap_or_default();
        let n = chain.len();
        cx.trace(TraceKind::State, || {
            if n == 0 {
                "Handshake Again: the client sent no certificate (allowed by the verification mode)"
                    .into()
            } else {
                "Handshake Again: the client is authenticated from here on (post-handshake \
                 authentication complete)"
                    .into()
            }
        });
        cx.events.push(Event::PeerAuthenticated(chain));
        Ok(State::Traffic(p.traffic))
    }
}
