//! Handshake messages for TLS 1.3 (RFC 8446 §4) and TLS 1.2 (RFC 5246 §7.4, RFC 8422).
//!
//! Decoding checks framing and the few structural rules that are cheap to check here
//! (non-empty `<1..>` vectors, session_id length, pre_shared_key last). Whether a message
//! is acceptable in the current state is for the state machines to decide.

mod certificate;
mod hello;
mod key_exchange;
mod message;
#[cfg(test)]
mod test_support;
mod ticket;

pub use certificate::{
    CertificateEntry, CertificatePayloadTls13, CertificateRequestPayloadTls13,
    CertificateRequestTls12, DigitallySigned,
};
pub use hello::{
    ClientHelloPayload, HELLO_RETRY_REQUEST_RANDOM, HelloRetryRequestPayload, ServerHelloPayload,
};
pub use key_exchange::{EcdheParams, ServerKeyExchangeTls12};
pub use message::{HandshakeMessage, HandshakePayload};
pub use ticket::{NewSessionTicketTls12, NewSessionTicketTls13};
