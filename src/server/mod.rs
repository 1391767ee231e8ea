//! The server's handshake: one struct per expected message, listed by [`ServerState`].

mod choose;
mod hs;
mod pha;
mod tls12;
mod tls13;

use crate::context::{Common, Incoming, Step};
use crate::error::Error;

/// Where the server is in the handshake.
pub(crate) enum ServerState {
    /// Waiting for Step One (ClientHello), possibly the second one after a HelloRetryRequest.
    ExpectClientHello(Box<hs::ExpectClientHello>),
    /// TLS 1.3 after our flight.
    Tls13(tls13::State),
    /// TLS 1.2 after our flight (Steps Two to Six).
    Tls12(tls12::State),
}

impl ServerState {
    pub(crate) fn new() -> Self {
        Self::ExpectClientHello(Box::default())
    }

    /// The handshake message types this state accepts (see `tls13::State::expects`).
    pub(crate) fn expects(&self) -> &'static [crate::codec::enums::HandshakeType] {
        match self {
            Self::ExpectClientHello(_) => &[crate::codec::enums::HandshakeType::ClientHello],
            Self::Tls13(s) => s.expects(),
            Self::Tls12(s) => s.expects(),
        }
    }

    /// What this state is waiting for, in the seed's words.
    /// The established connection's secrets, once the handshake is complete.
    pub(crate) fn established(&self) -> Option<&dyn crate::context::Established> {
        match self {
            Self::ExpectClientHello(_) => None,
            Self::Tls13(s) => s.established(),
            Self::Tls12(s) => s.established(),
        }
    }

    /// [`Self::established`], to update keys.
    pub(crate) fn established_mut(&mut self) -> Option<&mut dyn crate::context::Established> {
        match self {
            Self::ExpectClientHello(_) => None,
            Self::Tls13(s) => s.established_mut(),
            Self::Tls12(s) => s.established_mut(),
        }
    }

    pub(crate) fn step(&self) -> Step {
        match self {
            Self::ExpectClientHello(_) => Step::ClientHello,
            Self::Tls13(s) => s.step(),
            Self::Tls12(s) => s.step(),
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::ExpectClientHello(s) => s.handle(cx, m),
            Self::Tls13(s) => Ok(Self::Tls13(s.handle(cx, m)?)),
            Self::Tls12(s) => Ok(Self::Tls12(s.handle(cx, m)?)),
        }
    }

    /// Handshake Again: ask for the client's certificate after the handshake (TLS 1.3
    /// post-handshake authentication; TLS 1.2 a secure renegotiation with a
    /// CertificateRequest). A usage error gives the state back unchanged; any other error is
    /// fatal (`None`).
    pub(crate) fn request_client_certificate(
        self,
        cx: &mut Common,
        closing: bool,
    ) -> Result<Self, (Option<Self>, Error)> {
        match self {
            Self::Tls13(s) => {
                if let Err(e) = pha::check_can_request(cx, closing) {
                    return Err((Some(Self::Tls13(s)), e));
                }
                s.request_client_certificate(cx)
                    .map(Self::Tls13)
                    .map_err(|(s, e)| (s.map(Self::Tls13), e))
            }
            Self::Tls12(s) => Self::ask_again(s, cx, closing, true),
            other => Err((
                Some(other),
                Error::Internal("a request for a certificate before the handshake".into()),
            )),
        }
    }

    /// Handshake Again asked for by the application: a TLS 1.2 HelloRequest.
    pub(crate) fn renegotiate(
        self,
        cx: &mut Common,
        closing: bool,
    ) -> Result<Self, (Option<Self>, Error)> {
        match self {
            Self::Tls12(s) => Self::ask_again(s, cx, closing, false),
            other => Err((
                Some(other),
                Error::Usage(
                    "renegotiation is TLS 1.2's (TLS 1.3 has none: use key_update, or \
                     request_client_certificate for post-handshake authentication)"
                        .into(),
                ),
            )),
        }
    }

    fn ask_again(
        s: tls12::State,
        cx: &mut Common,
        closing: bool,
        certificate: bool,
    ) -> Result<Self, (Option<Self>, Error)> {
        if closing {
            return Err((
                Some(Self::Tls12(s)),
                Error::Usage(
                    "the connection is closing (close_notify was sent or received): the client \
                     can no longer answer a request for a new handshake"
                        .into(),
                ),
            ));
        }
        match s.ask_again(cx, certificate) {
            Ok(s) => Ok(Self::Tls12(s)),
            Err((s, e @ Error::Usage(_))) => Err((Some(Self::Tls12(s)), e)),
            Err((_, e)) => Err((None, e)),
        }
    }

    /// The client declined a new handshake we asked for (a no_renegotiation warning).
    pub(crate) fn renegotiation_declined(&mut self, cx: &mut Common) -> Result<(), Error> {
        match self {
            Self::Tls12(s) => s.renegotiation_declined(cx),
            _ => Ok(()),
        }
    }
}

/// Step Seven for both versions: the client's chain, verified for client authentication, then
/// judged by the custom client verifier if one is configured. `None` when the client sent no
/// certificate and that was accepted (the server only asked for one, or the custom verifier
/// let it through); `missing`
/// builds the error when one is required (certificate_required in TLS 1.3,
/// handshake_failure in TLS 1.2).
pub(crate) fn check_client_chain(
    cx: &mut Common,
    chain: &[pki_types::CertificateDer<'static>],
    missing: fn(String) -> Error,
) -> Result<
    Option<(
        pki_types::CertificateDer<'static>,
        crate::verify::ClientCertVerified,
    )>,
    Error,
> {
    use crate::context::TraceKind;
    let config = cx.config.clone();
    let missing = if cx.verify_mode() == crate::config::VerifyMode::RequireClientCert {
        Err(missing(
            "the client sent no certificate, but this server requires one: the client must \
             be configured with a certificate and its key"
                .into(),
        ))
    } else {
        Ok(())
    };
    let (proof, note) = crate::verify::check_client_cert(
        &config.roots,
        config.hooks.client_verifier.as_deref(),
        chain,
        missing,
        pki_types::UnixTime::now(),
    )?;
    if let Some(note) = note {
        cx.trace(TraceKind::State, || format!("client certificate: {note}"));
    }
    let (Some(leaf), Some(proof)) = (chain.first().cloned(), proof) else {
        cx.trace(TraceKind::State, || {
            "client certificate: none sent (optional)".into()
        });
        return Ok(None);
    };
    cx.neg.peer_certs = chain.iter().map(|c| c.as_ref().to_vec()).collect();
    cx.trace(TraceKind::State, || {
        "client certificate: chain verified".into()
    });
    Ok(Some((leaf, proof)))
}
