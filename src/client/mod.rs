//! The client's handshake: one struct per expected message, listed by [`ClientState`].

mod hs;
mod tls12;
mod tls13;

use crate::conn::{Common, Incoming};
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

    /// What this state is waiting for, in the seed's words.
    pub(crate) fn step(&self) -> &'static str {
        match self {
            Self::ExpectServerHello(_) => "Step Two: ServerHello",
            Self::Tls13(s) => s.step(),
            Self::Tls12(s) => s.step(),
        }
    }

    pub(crate) fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        match self {
            Self::ExpectServerHello(s) => s.handle(cx, m),
            Self::Tls13(s) => Ok(Self::Tls13(s.handle(cx, m)?)),
            Self::Tls12(s) => Ok(Self::Tls12(s.handle(cx, m)?)),
        }
    }
}
