//! Trace events and their wording. Handshake messages are named with the seed's steps
//! ("Step One: ClientHello") so a trace reads like the protocol walk-through.

use super::Step;
use crate::codec::enums::{ContentType, HandshakeType, ProtocolVersion};

/// What a trace event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// A record header arrived.
    RecordIn,
    /// A record header was sent.
    RecordOut,
    /// A handshake message arrived.
    HandshakeIn,
    /// A handshake message was sent.
    HandshakeOut,
    /// An alert arrived.
    AlertIn,
    /// An alert was sent.
    AlertOut,
    /// A state change (keys switched, handshake complete).
    State,
    /// A negotiated parameter.
    Negotiated,
    /// A fatal error.
    Error,
}

/// One trace event: its kind and a line of text.
pub struct TraceEvent<'a> {
    /// The kind of event.
    pub kind: TraceKind,
    /// The text, one line, no trailing newline.
    pub text: &'a str,
}

/// A trace sink for one connection.
pub type TraceFn = Box<dyn FnMut(&TraceEvent<'_>) + Send>;

/// The seed's name for a handshake message in the direction it travels.
pub fn step_name(typ: HandshakeType, from_client: bool, tls13: bool) -> &'static str {
    use HandshakeType as H;
    match (typ, from_client) {
        (H::ClientHello, _) => Step::ClientHello.name(),
        (H::ServerHello, _) => Step::ServerHello.name(),
        (H::EncryptedExtensions, _) => {
            "EncryptedExtensions (TLS 1.3: the rest of the ServerHello, now encrypted)"
        }
        (H::Certificate, false) => Step::ServerCertificate.name(),
        (H::Certificate, true) => Step::ClientCertificate.name(),
        (H::ServerKeyExchange, _) => Step::ServerKeyExchange.name(),
        (H::CertificateRequest, _) => Step::CertificateRequest.name(),
        (H::ServerHelloDone, _) => Step::ServerHelloDone.name(),
        (H::ClientKeyExchange, _) => Step::ClientKeyExchange.name(),
        (H::CertificateVerify, true) => Step::ClientCertificateVerify.name(),
        (H::CertificateVerify, false) if tls13 => {
            "CertificateVerify (TLS 1.3: the server signs the handshake with its certificate's key)"
        }
        (H::CertificateVerify, false) => "CertificateVerify",
        (H::Finished, _) => "Finished",
        (H::NewSessionTicket, _) => {
            "NewSessionTicket (a ticket for an abbreviated handshake later)"
        }
        (H::KeyUpdate, _) => "KeyUpdate",
        (H::HelloRequest, _) => "HelloRequest",
        _ => "handshake message",
    }
}

/// The seed's `HH V1:V2 L1:L2` record header, with names.
pub fn record_line(dir: &str, raw: &[u8; 5], inner: Option<ContentType>) -> String {
    let typ = ContentType::from(raw[0]);
    let version = ProtocolVersion::from(u16::from_be_bytes([raw[1], raw[2]]));
    let len = u16::from_be_bytes([raw[3], raw[4]]);
    let inner = match inner {
        Some(t) if t != typ => format!(", protected {t}"),
        _ => String::new(),
    };
    format!(
        "record {dir} {:02X} {:02X}:{:02X} {:02X}:{:02X}  type={typ}{inner} version={version} length={len}",
        raw[0], raw[1], raw[2], raw[3], raw[4]
    )
}
