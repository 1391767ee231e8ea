//! The client's handshake: one struct per expected message, listed by [`ClientState`].

mod hs;
mod tls12;
mod tls13;

use crate::context::{Common, Incoming, Step};
use crate::error::Error;

/// Where the client is in the handshake.
pub(crate) enum ClientState {
    /// Step One sent; waiting for Step Two (ServerHello or HelloRetryRequest).
    ExpectServerHello(Box<hs::ExpectServerHello>),
    /// TLS 1.3 after ServerHello.
    Tls13(tls13::State),
    /// TLS 1.2 after ServerHello.
    Tls12(tls12::State),
}

impl ClientState {
    /// Send Step One (ClientHello) and wait for the ServerHello.
    pub(crate) fn start(
        cx: &mut Common,
        server_name: Option<&str>,
        session: Option<crate::session::ClientSession>,
    ) -> Result<Self, Error> {
        Ok(Self::ExpectServerHello(Box::new(
            hs::ExpectServerHello::start(cx, server_name, session)?,
        )))
    }

    /// The handshake message types this state accepts (see `tls13::State::expects`).
    pub(crate) fn expects(&self) -> &'static [crate::codec::enums::HandshakeType] {
        match self {
            Self::ExpectServerHello(_) => &[crate::codec::enums::HandshakeType::ServerHello],
            Self::Tls13(s) => s.expects(),
            Self::Tls12(s) => s.expects(),
        }
    }

    /// The established connection's secrets, once the handshake is complete.
    pub(crate) fn established(&self) -> Option<&dyn crate::context::Established> {
        match self {
            Self::ExpectServerHello(_) => None,
            Self::Tls13(s) => s.established(),
            Self::Tls12(s) => s.established(),
        }
    }

    /// [`Self::established`], to update keys.
    pub(crate) fn established_mut(&mut self) -> Option<&mut dyn crate::context::Established> {
        match self {
            Self::ExpectServerHello(_) => None,
            Self::Tls13(s) => s.established_mut(),
            Self::Tls12(s) => s.established_mut(),
        }
    }

    /// What this state is waiting for, in the seed's words.
    pub(crate) fn step(&self) -> Step {
        match self {
            Self::ExpectServerHello(_) => hs::ExpectServerHello::STEP,
            Self::Tls13(s) => s.step(),
            Self::Tls12(s) => s.step(),
        }
    }

    /// Handshake Again asked for by our application (TLS 1.2, `Connection::renegotiate`).
    /// A usage error gives the state back unchanged; any other error is fatal (`None`).
    pub(crate) fn renegotiate(self, cx: &mut Common) -> Result<Self, (Option<Self>, Error)> {
        match self {
            Self::Tls12(s) => match s.renegotiate(cx) {
                Ok(tls12::State::Again(previous)) => {
                    Self::handshake_again(cx, previous).map_err(|e| (None, e))
                }
                Ok(other) => Ok(Self::Tls12(other)),
                Err((s, e)) => Err((Some(Self::Tls12(s)), e)),
            },
            other => Err((
                Some(other),
                Error::Usage(
                    "renegotiation is TLS 1.2's (TLS 1.3 has none: use key_update, or \
                     post-handshake authentication on the server)"
                        .into(),
                ),
            )),
        }
    }

    /// Handshake Again declined by the server: back to the traffic state with the secrets the
    /// renegotiation kept.
    pub(crate) fn renegotiation_declined(
        previous: Box<dyn crate::context::Established>,
    ) -> Result<Self, Error> {
        let secrets = previous
            .into_any()
            .downcast::<crate::tls12::handshake::Tls12Established>()
            .map_err(|_| Error::Internal("a renegotiation outside TLS 1.2".into()))?;
        Ok(Self::Tls12(tls12::State::traffic(secrets)))
    }

    /// Handshake Again (TLS 1.2, RFC 5746): the server asked for a new handshake. Step One
    /// again, under the current keys, quoting our last Finished; the current secrets stay in
    /// use (exporters, the record keys) until the new ChangeCipherSpec.
    fn handshake_again(
        cx: &mut Common,
        previous: Box<crate::tls12::handshake::Tls12Established>,
    ) -> Result<Self, Error> {
        cx.renegotiating = Some(Box::new(crate::context::Renegotiation {
            client_verify: previous.client_verify,
            server_verify: previous.server_verify,
            previous,
            peer_certs: cx.neg.peer_certs.clone(),
            ask_certificate: false,
            new_peer_certs: Default::default(),
        }));
        cx.trace(crate::context::TraceKind::State, || {
            "Handshake Again: Step One again, under the current keys (secure renegotiation, \
             RFC 5746)"
                .into()
        });
        let name = cx.resume_name.clone();
        Self::start(cx, name.as_deref(), None)
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::ExpectServerHello(s) => s.handle(cx, m),
            Self::Tls13(s) => Ok(Self::Tls13(s.handle(cx, m)?)),
            Self::Tls12(s) => match s.handle(cx, m)? {
                tls12::State::Again(previous) => Self::handshake_again(cx, previous),
                next => Ok(Self::Tls12(next)),
            },
        }
    }
}

/// Step Three for both versions: the server's chain, checked against our trust anchors and
/// the name we asked for, then by the custom verifier if one is configured (all skipped only
/// with `DangerousNoVerify`). Returns the leaf, for the
/// signature check that follows, and the proof that the chain verified.
pub(crate) fn check_server_chain(
    cx: &mut Common,
    chain: &[pki_types::CertificateDer<'static>],
    server_name: Option<&pki_types::ServerName<'static>>,
) -> Result<
    (
        pki_types::CertificateDer<'static>,
        Option<crate::verify::ServerCertVerified>,
    ),
    Error,
> {
    use crate::config::VerifyMode;
    use crate::error::CertErrorKind;
    let Some(leaf) = chain.first().cloned() else {
        return Err(Error::cert(
            CertErrorKind::Missing,
            "the server sent an empty certificate chain",
        ));
    };
    cx.neg.peer_certs = chain.iter().map(|c| c.as_ref().to_vec()).collect();
    let verified = match (cx.verify_mode(), server_name) {
        (VerifyMode::DangerousNoVerify, _) => None,
        (_, Some(name)) => {
            let (proof, note) = crate::verify::check_server_cert(
                &cx.config.roots,
                cx.config.hooks.server_verifier.as_deref(),
                chain,
                name,
                pki_types::UnixTime::now(),
            )?;
            if let Some(note) = note {
                cx.trace(crate::context::TraceKind::State, || {
                    format!("certificate: {note}")
                });
            }
            Some(proof)
        }
        (_, None) => {
            return Err(Error::Usage(
                "no server name to verify the certificate against".into(),
            ));
        }
    };
    if verified.is_some() {
        cx.trace(crate::context::TraceKind::State, || {
            "certificate: the server's chain and name verified".into()
        });
    }
    Ok((leaf, verified))
}
