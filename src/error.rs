//! The one error type of the engine, and the one table that maps an error to the alert we send.
//!
//! Handshake states never send alerts: they return an [`Error`] that says precisely what was
//! wrong, with the values involved. The connection looks up [`Error::alert`] once, sends that
//! alert, and keeps the error as its sticky state.

use std::fmt;

use crate::codec::InvalidMessage;
use crate::codec::enums::AlertDescription;

/// What was wrong with a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertErrorKind {
    /// The certificate (or one in its chain) has expired.
    Expired,
    /// The certificate (or one in its chain) is not valid yet.
    NotYetValid,
    /// No path from the certificate to a trust anchor was found.
    UnknownIssuer,
    /// The certificate is not valid for the name we expected.
    NameMismatch,
    /// A signature in the chain or the handshake did not verify.
    BadSignature,
    /// The certificate could not be parsed.
    BadEncoding,
    /// A key type or signature algorithm we do not support.
    UnsupportedAlgorithm,
    /// The certificate may not be used for this purpose (extended key usage).
    InvalidPurpose,
    /// An intermediate in the chain is not a certificate authority.
    NotCa,
    /// The certificate has been revoked.
    Revoked,
    /// The peer sent no certificate where one was needed.
    Missing,
    /// Any other verification failure.
    Other,
}

/// An error from the engine. Each variant carries a human-readable detail with the values
/// involved ("the server chose TLS_AES_128_CCM_SHA256, which we did not offer").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A message from the peer could not be decoded.
    Decode(String),
    /// A message arrived that is not allowed in the current state.
    UnexpectedMessage {
        /// What the state machine was waiting for.
        expected: String,
        /// What arrived instead.
        got: String,
    },
    /// A field held a value the protocol forbids here.
    IllegalParameter(String),
    /// A required extension was absent.
    MissingExtension(String),
    /// The peer sent an extension it must not send here.
    UnsupportedExtension(String),
    /// A record exceeded the size limits of RFC 8446 §5.
    RecordOverflow(String),
    /// A protected record failed authentication.
    BadRecordMac(String),
    /// A Finished value or a handshake signature did not verify.
    DecryptError(String),
    /// The two sides share no protocol version.
    NoSharedVersion(String),
    /// The two sides share no cipher suite.
    NoSharedCipherSuite(String),
    /// The two sides share no key-exchange group.
    NoSharedGroup(String),
    /// The two sides share no signature scheme.
    NoSharedSignatureScheme(String),
    /// ALPN was required and the two sides share no protocol.
    NoApplicationProtocol(String),
    /// Any other negotiation failure.
    HandshakeFailure(String),
    /// A downgrade was detected (TLS_FALLBACK_SCSV, RFC 7507, or the RFC 8446 sentinel).
    InappropriateFallback(String),
    /// A certificate failed verification.
    Certificate {
        /// What kind of failure.
        kind: CertErrorKind,
        /// The details: subject, dates, names, depth.
        detail: String,
    },
    /// The server required a client certificate and the client sent none.
    CertificateRequired(String),
    /// The peer sent a fatal alert (or a warning we treat as fatal).
    AlertReceived {
        /// The alert's description.
        alert: AlertDescription,
        /// What the alert means for the user.
        detail: String,
    },
    /// The transport ended without close_notify.
    UnexpectedEof(String),
    /// The peer crossed a limit we set to bound its resource use.
    LimitExceeded(String),
    /// The peer asked to renegotiate, which we decline.
    NoRenegotiation(String),
    /// The connection was closed cleanly (close_notify) and cannot be used any more.
    Closed,
    /// The local configuration is unusable.
    Config(String),
    /// A PEM file or buffer could not be parsed.
    Pem(String),
    /// A private key is unusable or does not match its certificate.
    Key(String),
    /// A file could not be read.
    File(String),
    /// The API was used in the wrong order or with a bad argument.
    Usage(String),
    /// A bug or an unexpected failure of a primitive.
    Internal(String),
}

impl Error {
    /// The alert we send for this error: the ONE table of the library.
    /// `None` means no alert is sent (the peer's alert, EOF, local misuse).
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Self::Decode(_) => A::DecodeError,
            Self::UnexpectedMessage { .. } => A::UnexpectedMessage,
            Self::IllegalParameter(_) => A::IllegalParameter,
            Self::MissingExtension(_) => A::MissingExtension,
            Self::UnsupportedExtension(_) => A::UnsupportedExtension,
            Self::RecordOverflow(_) => A::RecordOverflow,
            Self::BadRecordMac(_) => A::BadRecordMac,
            Self::DecryptError(_) => A::DecryptError,
            Self::NoSharedVersion(_) => A::ProtocolVersion,
            Self::NoSharedCipherSuite(_)
            | Self::NoSharedGroup(_)
            | Self::NoSharedSignatureScheme(_)
            | Self::HandshakeFailure(_) => A::HandshakeFailure,
            Self::NoApplicationProtocol(_) => A::NoApplicationProtocol,
            Self::InappropriateFallback(_) => A::InappropriateFallback,
            Self::Certificate { kind, .. } => match kind {
                CertErrorKind::Expired | CertErrorKind::NotYetValid => A::CertificateExpired,
                CertErrorKind::UnknownIssuer => A::UnknownCa,
                CertErrorKind::Revoked => A::CertificateRevoked,
                CertErrorKind::BadSignature => A::DecryptError,
                CertErrorKind::UnsupportedAlgorithm | CertErrorKind::InvalidPurpose => {
                    A::UnsupportedCertificate
                }
                CertErrorKind::Missing => A::CertificateRequired,
                CertErrorKind::NameMismatch
                | CertErrorKind::BadEncoding
                | CertErrorKind::NotCa
                | CertErrorKind::Other => A::BadCertificate,
            },
            Self::CertificateRequired(_) => A::CertificateRequired,
            Self::LimitExceeded(_) => A::UnexpectedMessage,
            Self::NoRenegotiation(_) => A::NoRenegotiation,
            Self::Internal(_) => A::InternalError,
            Self::AlertReceived { .. }
            | Self::UnexpectedEof(_)
            | Self::Closed
            | Self::Config(_)
            | Self::Pem(_)
            | Self::Key(_)
            | Self::File(_)
            | Self::Usage(_) => return None,
        })
    }

    /// The human-readable detail, without the category prefix.
    pub fn detail(&self) -> String {
        match self {
            Self::UnexpectedMessage { expected, got } => {
                format!("expected {expected}, but received {got}")
            }
            Self::Certificate { detail, .. } => detail.clone(),
            Self::AlertReceived { detail, .. } => detail.clone(),
            Self::Closed => "the connection was closed with close_notify".into(),
            Self::Decode(s)
            | Self::IllegalParameter(s)
            | Self::MissingExtension(s)
            | Self::UnsupportedExtension(s)
            | Self::RecordOverflow(s)
            | Self::BadRecordMac(s)
            | Self::DecryptError(s)
            | Self::NoSharedVersion(s)
            | Self::NoSharedCipherSuite(s)
            | Self::NoSharedGroup(s)
            | Self::NoSharedSignatureScheme(s)
            | Self::NoApplicationProtocol(s)
            | Self::HandshakeFailure(s)
            | Self::InappropriateFallback(s)
            | Self::CertificateRequired(s)
            | Self::UnexpectedEof(s)
            | Self::LimitExceeded(s)
            | Self::NoRenegotiation(s)
            | Self::Config(s)
            | Self::Pem(s)
            | Self::Key(s)
            | Self::File(s)
            | Self::Usage(s)
            | Self::Internal(s) => s.clone(),
        }
    }

    /// Build the error for a fatal alert received from the peer, explaining what the peer
    /// is telling us in words a user can act on.
    pub fn alert_received(alert: AlertDescription, we_are_client: bool) -> Self {
        use AlertDescription as A;
        let peer = if we_are_client { "server" } else { "client" };
        let ours = if we_are_client {
            "our client certificate"
        } else {
            "our certificate"
        };
        let detail = match alert {
            A::BadCertificate => format!(
                "the {peer} rejected {ours}: bad_certificate (it did not accept the certificate, often \
                 because of a host name mismatch or a malformed chain; the {peer}'s log names the cause)"
            ),
            A::UnknownCa => format!(
                "the {peer} rejected {ours}: unknown_ca (it does not trust the CA that issued it: \
                 give the {peer} that CA, or send the full chain including intermediates)"
            ),
            A::CertificateExpired => format!(
                "the {peer} rejected {ours}: certificate_expired (it, or a certificate in its chain, \
                 is expired or not yet valid by the {peer}'s clock: renew it or check the clocks)"
            ),
            A::UnsupportedCertificate => format!(
                "the {peer} rejected {ours}: unsupported_certificate (its key type or its (extended) \
                 key usage does not allow this use)"
            ),
            A::CertificateRevoked => format!("the {peer} rejected {ours}: certificate_revoked"),
            A::CertificateUnknown => format!("the {peer} rejected {ours}: certificate_unknown"),
            A::CertificateRequired => {
                "the server requires a client certificate and we sent none: certificate_required \
                 (configure one with --cert/--key)"
                    .to_string()
            }
            other => {
                let meaning = match other {
                    A::HandshakeFailure => {
                        "it could not agree with us on parameters: versions, cipher suites, groups, \
                         signature schemes, or a required client certificate"
                    }
                    A::ProtocolVersion => "it supports none of the protocol versions we offered",
                    A::DecryptError => "it could not verify our signature or our Finished message",
                    A::BadRecordMac => {
                        "it could not decrypt one of our records: the data was altered in transit, or \
                         the keys differ"
                    }
                    A::NoApplicationProtocol => "it supports none of the ALPN protocols we offered",
                    A::UnrecognisedName => "it does not know the server name we asked for (SNI)",
                    A::InappropriateFallback => "it detected a protocol version downgrade",
                    A::IllegalParameter | A::DecodeError => {
                        "it found a malformed or invalid value in our messages"
                    }
                    A::UnexpectedMessage => "it received a message it did not expect from us",
                    A::RecordOverflow => "one of our records was too large for it",
                    A::MissingExtension | A::UnsupportedExtension => {
                        "our hello's extensions were not acceptable to it"
                    }
                    A::InternalError => "it failed internally",
                    A::UserCanceled => "it cancelled the handshake",
                    A::AccessDenied => "it denied access",
                    _ => "it ended the connection",
                };
                format!("the {peer} sent a fatal {alert} alert: {meaning}")
            }
        };
        Self::AlertReceived { alert, detail }
    }

    /// The same error with `context` put in front of its detail ("the peer's ServerHello
    /// could not be decoded: ...").
    pub fn with_context(self, context: &str) -> Self {
        let wrap = |s: String| format!("{context}: {s}");
        match self {
            Self::Decode(s) => Self::Decode(wrap(s)),
            Self::IllegalParameter(s) => Self::IllegalParameter(wrap(s)),
            Self::LimitExceeded(s) => Self::LimitExceeded(wrap(s)),
            other => other,
        }
    }

    /// Shorthand for a certificate error.
    pub fn cert(kind: CertErrorKind, detail: impl Into<String>) -> Self {
        Self::Certificate {
            kind,
            detail: detail.into(),
        }
    }

    /// Shorthand for an unexpected-message error.
    pub fn unexpected(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Self::UnexpectedMessage {
            expected: expected.into(),
            got: got.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail())
    }
}

impl std::error::Error for Error {}

impl From<InvalidMessage> for Error {
    fn from(e: InvalidMessage) -> Self {
        match e {
            InvalidMessage::InvalidValue(_) | InvalidMessage::DuplicateExtension(_) => {
                Self::IllegalParameter(e.to_string())
            }
            _ => Self::Decode(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_peer_facing_error_has_one_alert() {
        assert_eq!(
            Error::Decode("x".into()).alert(),
            Some(AlertDescription::DecodeError)
        );
        assert_eq!(
            Error::cert(CertErrorKind::Expired, "x").alert(),
            Some(AlertDescription::CertificateExpired)
        );
        assert_eq!(
            Error::cert(CertErrorKind::UnknownIssuer, "x").alert(),
            Some(AlertDescription::UnknownCa)
        );
        assert_eq!(
            Error::NoSharedVersion("x".into()).alert(),
            Some(AlertDescription::ProtocolVersion)
        );
        assert_eq!(Error::UnexpectedEof("x".into()).alert(), None);
        assert_eq!(
            Error::alert_received(AlertDescription::UnknownCa, false).alert(),
            None
        );
    }

    #[test]
    fn received_alert_is_explained() {
        let e = Error::alert_received(AlertDescription::UnknownCa, true);
        assert_eq!(
            e.to_string(),
            "the server rejected our client certificate: unknown_ca (it does not trust the CA that \
             issued it: give the server that CA, or send the full chain including intermediates)"
        );
    }
}
