//! The server's handshake: one struct per expected message, listed by [`ServerState`].

mod hs;
mod tls12;
mod tls13;

use crate::conn::{Common, Incoming};
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

    /// What this state is waiting for, in the seed's words.
    pub(crate) fn step(&self) -> &'static str {
        match self {
            Self::ExpectClientHello(_) => "Step One: ClientHello",
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
}
