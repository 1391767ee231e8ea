//! The one error type of the engine, and the one table that maps an error to the alert we send.
//!
//! Handshake states never send alerts: they return an [`Error`] that says precisely what was
//! wrong, with the values involved. The connection looks up [`Error::alert`] once, sends that
//! alert, and keeps the error as its sticky state.
//!
//! A protocol violation carries a typed [`Reason`] (which check failed, in the style of
//! rustls's `PeerMisbehaved`) next to its prose: programs and tests match on the reason, people
//! read the prose. [`Error::peer`] files each reason under its category, and the category
//! decides the alert: the two tables below are the only places either mapping is written.

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

/// Which check refused the peer's input: one reason per rule, so a program or a test can tell
/// failures apart without reading sentences. New reasons may be added in any release.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    // Records (RFC 8446 §5, RFC 5246 §6.2).
    /// The bytes are not TLS records at all (plaintext HTTP, SSH, SSLv2, a wrong version).
    NotTls,
    /// A record of a content type that does not exist.
    UnknownContentType,
    /// A record longer than the protocol allows, before or after decryption.
    RecordTooLarge,
    /// A protected record failed authentication, or is too short to hold its tag.
    RecordAuthenticationFailed,
    /// A TLS 1.3 protected record with nothing but padding inside.
    RecordWithoutContentType,
    /// An unencrypted record after keys were established (TLS 1.3).
    UnencryptedRecord,
    /// An alert record that is empty.
    EmptyAlertRecord,
    /// An alert record that does not hold exactly one alert.
    MalformedAlertRecord,
    /// A handshake record that is empty.
    EmptyHandshakeRecord,
    /// A ChangeCipherSpec record that is not the single byte 1.
    MalformedChangeCipherSpec,
    /// A ChangeCipherSpec where none may be (a second one, or outside the TLS 1.3 handshake).
    UnexpectedChangeCipherSpec,
    /// Another record between the fragments of one handshake message.
    InterleavedRecord,
    /// A handshake message that continues across a key change (RFC 8446 §5.1).
    HandshakeAcrossKeyChange,
    /// Application data before the handshake completed.
    ApplicationDataBeforeHandshake,
    /// A handshake message longer than we buffer for its type.
    HandshakeMessageTooLarge,

    // Handshake messages.
    /// A handshake message that this state does not expect.
    UnexpectedMessageType,
    /// A message or field that does not decode (truncated, trailing bytes, bad lengths).
    MalformedMessage,
    /// A field with a value the protocol forbids.
    InvalidValue,
    /// The same extension twice in one message (RFC 8446 §4.2).
    DuplicateExtension,
    /// A TLS 1.2 ClientHello without the null compression method.
    NoNullCompression,
    /// A non-null compression method chosen or offered in TLS 1.3.
    BadCompression,
    /// An extension that must not appear in this message or version.
    UnsolicitedExtension,
    /// A required extension is absent.
    MissingExtension,
    /// The server chose a version we did not offer, or contradicts its own choice.
    UnofferedVersion,
    /// The server chose a cipher suite we did not offer.
    UnofferedCipherSuite,
    /// The peer used a group we did not offer, or a key share for another group.
    UnofferedGroup,
    /// The peer signed with a scheme we did not offer or that its key cannot make.
    UnofferedSignatureScheme,
    /// The server chose an ALPN protocol we did not offer.
    UnofferedAlpn,
    /// A key share of the wrong size or encoding, or not a valid public key.
    InvalidKeyShare,
    /// A HelloRetryRequest that breaks RFC 8446 §4.1.4 (a second one, or one that changes
    /// nothing).
    BadHelloRetryRequest,
    /// A ServerHello after a HelloRetryRequest that contradicts it.
    HelloRetryMismatch,
    /// A pre-shared key or ticket field the protocol forbids (RFC 8446 §4.2.11).
    BadPreSharedKey,
    /// A PSK binder that does not verify.
    BadPskBinder,
    /// The downgrade sentinel in the server's random (RFC 8446 §4.1.3).
    DowngradeSentinel,
    /// TLS_FALLBACK_SCSV from a client whose highest version is below ours (RFC 7507).
    FallbackScsv,
    /// A session id that the peer should have echoed and did not.
    SessionIdMismatch,
    /// An ec_point_formats list without the uncompressed format (RFC 8422 §5.1.2).
    NoUncompressedPointFormat,
    /// The renegotiation_info extension does not match (RFC 5746).
    BadRenegotiationInfo,
    /// A renegotiation in which the peer presents another certificate (the triple-handshake
    /// class of attacks).
    PeerCertificateChanged,
    /// The peer left out Extended Master Secret, which we require (RFC 7627).
    NoExtendedMasterSecret,
    /// A resumption that changes whether Extended Master Secret is used (RFC 7627 §5.3).
    ExtendedMasterSecretMismatch,
    /// TLS 1.2: the client sent no certificate where one is required.
    NoClientCertificate,
    /// No certificate of ours fits the server name and signature schemes asked for.
    NoCertificateForName,
    /// An application callback refused the handshake.
    RefusedByCallback,
    /// A resumed session whose parameters do not match the original.
    ResumptionMismatch,
    /// A certificate message the protocol forbids here (a context, an empty chain, entries).
    BadCertificateMessage,
    /// A CertificateVerify or ServerKeyExchange signature that does not verify.
    BadSignature,
    /// A Finished message of the wrong length.
    FinishedWrongLength,
    /// A Finished message that does not match the transcript.
    FinishedMismatch,
    /// A KeyUpdate with a request value other than 0 or 1.
    BadKeyUpdate,

    // Limits on what a peer may make us do.
    /// Too many idle records (empty records, warning alerts, KeyUpdates, declined
    /// renegotiations) in a row.
    TooManyIdleRecords,
    /// More 0-RTT data than a server that does not accept it skips.
    TooMuchEarlyData,
    /// More post-handshake CertificateRequests than a client answers
    /// (`conn::MAX_POST_HANDSHAKE_AUTH`).
    TooManyCertificateRequests,
    /// A sequence number would wrap.
    SequenceNumberExhausted,

    // Local input.
    /// A session blob that is corrupt or from another build.
    CorruptSessionBlob,
}

impl Reason {
    /// The reason's stable name, in the style of OpenSSL's reason strings
    /// (`FINISHED_MISMATCH`): what the C ABI and Python's `SSLError.reason` report.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NotTls => "NOT_TLS",
            Self::UnknownContentType => "UNKNOWN_CONTENT_TYPE",
            Self::RecordTooLarge => "RECORD_TOO_LARGE",
            Self::RecordAuthenticationFailed => "RECORD_AUTHENTICATION_FAILED",
            Self::RecordWithoutContentType => "RECORD_WITHOUT_CONTENT_TYPE",
            Self::UnencryptedRecord => "UNENCRYPTED_RECORD",
            Self::EmptyAlertRecord => "EMPTY_ALERT_RECORD",
            Self::MalformedAlertRecord => "MALFORMED_ALERT_RECORD",
            Self::EmptyHandshakeRecord => "EMPTY_HANDSHAKE_RECORD",
            Self::MalformedChangeCipherSpec => "MALFORMED_CHANGE_CIPHER_SPEC",
            Self::UnexpectedChangeCipherSpec => "UNEXPECTED_CHANGE_CIPHER_SPEC",
            Self::InterleavedRecord => "INTERLEAVED_RECORD",
            Self::HandshakeAcrossKeyChange => "HANDSHAKE_ACROSS_KEY_CHANGE",
            Self::ApplicationDataBeforeHandshake => "APPLICATION_DATA_BEFORE_HANDSHAKE",
            Self::HandshakeMessageTooLarge => "HANDSHAKE_MESSAGE_TOO_LARGE",
            Self::UnexpectedMessageType => "UNEXPECTED_MESSAGE_TYPE",
            Self::MalformedMessage => "MALFORMED_MESSAGE",
            Self::InvalidValue => "INVALID_VALUE",
            Self::DuplicateExtension => "DUPLICATE_EXTENSION",
            Self::NoNullCompression => "NO_NULL_COMPRESSION",
            Self::BadCompression => "BAD_COMPRESSION",
            Self::UnsolicitedExtension => "UNSOLICITED_EXTENSION",
            Self::MissingExtension => "MISSING_EXTENSION",
            Self::UnofferedVersion => "UNOFFERED_VERSION",
            Self::UnofferedCipherSuite => "UNOFFERED_CIPHER_SUITE",
            Self::UnofferedGroup => "UNOFFERED_GROUP",
            Self::UnofferedSignatureScheme => "UNOFFERED_SIGNATURE_SCHEME",
            Self::UnofferedAlpn => "UNOFFERED_ALPN",
            Self::InvalidKeyShare => "INVALID_KEY_SHARE",
            Self::BadHelloRetryRequest => "BAD_HELLO_RETRY_REQUEST",
            Self::HelloRetryMismatch => "HELLO_RETRY_MISMATCH",
            Self::BadPreSharedKey => "BAD_PRE_SHARED_KEY",
            Self::BadPskBinder => "BAD_PSK_BINDER",
            Self::DowngradeSentinel => "DOWNGRADE_SENTINEL",
            Self::FallbackScsv => "FALLBACK_SCSV",
            Self::SessionIdMismatch => "SESSION_ID_MISMATCH",
            Self::NoUncompressedPointFormat => "NO_UNCOMPRESSED_POINT_FORMAT",
            Self::BadRenegotiationInfo => "BAD_RENEGOTIATION_INFO",
            Self::PeerCertificateChanged => "PEER_CERTIFICATE_CHANGED",
            Self::NoExtendedMasterSecret => "NO_EXTENDED_MASTER_SECRET",
            Self::ExtendedMasterSecretMismatch => "EXTENDED_MASTER_SECRET_MISMATCH",
            Self::NoClientCertificate => "NO_CLIENT_CERTIFICATE",
            Self::NoCertificateForName => "NO_CERTIFICATE_FOR_NAME",
            Self::RefusedByCallback => "REFUSED_BY_CALLBACK",
            Self::ResumptionMismatch => "RESUMPTION_MISMATCH",
            Self::BadCertificateMessage => "BAD_CERTIFICATE_MESSAGE",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::FinishedWrongLength => "FINISHED_WRONG_LENGTH",
            Self::FinishedMismatch => "FINISHED_MISMATCH",
            Self::BadKeyUpdate => "BAD_KEY_UPDATE",
            Self::TooManyIdleRecords => "TOO_MANY_IDLE_RECORDS",
            Self::TooMuchEarlyData => "TOO_MUCH_EARLY_DATA",
            Self::TooManyCertificateRequests => "TOO_MANY_CERTIFICATE_REQUESTS",
            Self::SequenceNumberExhausted => "SEQUENCE_NUMBER_EXHAUSTED",
            Self::CorruptSessionBlob => "CORRUPT_SESSION_BLOB",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol error's detail: the [`Reason`] and our prose with the values involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    /// Which check failed.
    pub reason: Reason,
    /// What arrived, in words.
    pub text: String,
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An error from the engine. Each variant carries a human-readable detail with the values
/// involved ("the server chose TLS_AES_128_CCM_SHA256, which we did not offer"); protocol
/// violations also carry their [`Reason`] ([`Error::reason`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A message from the peer could not be decoded.
    Decode(Detail),
    /// A message arrived that is not allowed in the current state.
    UnexpectedMessage {
        /// Which check failed.
        reason: Reason,
        /// What the state machine was waiting for.
        expected: String,
        /// What arrived instead.
        got: String,
    },
    /// A field held a value the protocol forbids here.
    IllegalParameter(Detail),
    /// A required extension was absent.
    MissingExtension(Detail),
    /// The peer sent an extension it must not send here.
    UnsupportedExtension(Detail),
    /// A record exceeded the size limits of RFC 8446 §5.
    RecordOverflow(Detail),
    /// A protected record failed authentication.
    BadRecordMac(Detail),
    /// A Finished value or a handshake signature did not verify.
    DecryptError(Detail),
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
    HandshakeFailure(Detail),
    /// A downgrade was detected (TLS_FALLBACK_SCSV, RFC 7507, or the RFC 8446 sentinel).
    InappropriateFallback(Detail),
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
    LimitExceeded(Detail),
    /// The peer asked to renegotiate, which we decline.
    NoRenegotiation(Detail),
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

/// The variants of [`Error`] that hold a [`Detail`] (the one list of them), for a shared or a
/// mutable borrow alike.
macro_rules! typed_detail {
    ($e:expr) => {
        match $e {
            Error::Decode(d)
            | Error::IllegalParameter(d)
            | Error::MissingExtension(d)
            | Error::UnsupportedExtension(d)
            | Error::RecordOverflow(d)
            | Error::BadRecordMac(d)
            | Error::DecryptError(d)
            | Error::InappropriateFallback(d)
            | Error::LimitExceeded(d)
            | Error::NoRenegotiation(d)
            | Error::HandshakeFailure(d) => Some(d),
            _ => None,
        }
    };
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
        if let Some(d) = self.typed() {
            return d.text.clone();
        }
        match self {
            Self::UnexpectedMessage { expected, got, .. } if expected.is_empty() => got.clone(),
            Self::UnexpectedMessage { expected, got, .. } => {
                format!("expected {expected}, but received {got}")
            }
            Self::Certificate { detail, .. } => detail.clone(),
            Self::AlertReceived { detail, .. } => detail.clone(),
            Self::Closed => "the connection was closed with close_notify".into(),
            Self::NoSharedVersion(s)
            | Self::NoSharedCipherSuite(s)
            | Self::NoSharedGroup(s)
            | Self::NoSharedSignatureScheme(s)
            | Self::NoApplicationProtocol(s)
            | Self::CertificateRequired(s)
            | Self::UnexpectedEof(s)
            | Self::Config(s)
            | Self::Pem(s)
            | Self::Key(s)
            | Self::File(s)
            | Self::Usage(s)
            | Self::Internal(s) => s.clone(),
            // Handled through `typed` above.
            _ => String::new(),
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
                 (configure a client certificate and its key)"
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

    /// The error for a protocol violation: `reason` decides the category and so the alert
    /// (the one table from reasons to categories).
    pub fn peer(reason: Reason, text: impl Into<String>) -> Self {
        use Reason as R;
        let d = Detail {
            reason,
            text: text.into(),
        };
        match reason {
            R::NotTls
            | R::MalformedAlertRecord
            | R::HandshakeMessageTooLarge
            | R::MalformedMessage
            | R::FinishedWrongLength
            | R::CorruptSessionBlob => Self::Decode(d),
            R::UnknownContentType
            | R::RecordWithoutContentType
            | R::UnencryptedRecord
            | R::EmptyAlertRecord
            | R::EmptyHandshakeRecord
            | R::MalformedChangeCipherSpec
            | R::UnexpectedChangeCipherSpec
            | R::InterleavedRecord
            | R::HandshakeAcrossKeyChange
            | R::ApplicationDataBeforeHandshake
            | R::UnexpectedMessageType => Self::UnexpectedMessage {
                reason,
                expected: String::new(),
                got: d.text,
            },
            R::RecordTooLarge => Self::RecordOverflow(d),
            R::RecordAuthenticationFailed => Self::BadRecordMac(d),
            R::InvalidValue
            | R::DuplicateExtension
            | R::NoNullCompression
            | R::BadCompression
            | R::UnofferedVersion
            | R::UnofferedCipherSuite
            | R::UnofferedGroup
            | R::UnofferedSignatureScheme
            | R::UnofferedAlpn
            | R::DowngradeSentinel
            | R::SessionIdMismatch
            | R::NoUncompressedPointFormat
            | R::InvalidKeyShare
            | R::BadHelloRetryRequest
            | R::HelloRetryMismatch
            | R::BadPreSharedKey
            | R::ResumptionMismatch
            | R::BadCertificateMessage
            | R::BadKeyUpdate => Self::IllegalParameter(d),
            R::UnsolicitedExtension => Self::UnsupportedExtension(d),
            R::MissingExtension => Self::MissingExtension(d),
            R::BadSignature | R::FinishedMismatch | R::BadPskBinder => Self::DecryptError(d),
            R::FallbackScsv => Self::InappropriateFallback(d),
            R::BadRenegotiationInfo
            | R::PeerCertificateChanged
            | R::NoExtendedMasterSecret
            | R::ExtendedMasterSecretMismatch
            | R::NoClientCertificate
            | R::NoCertificateForName
            | R::RefusedByCallback => Self::HandshakeFailure(d),
            R::TooManyIdleRecords
            | R::TooMuchEarlyData
            | R::TooManyCertificateRequests
            | R::SequenceNumberExhausted => Self::LimitExceeded(d),
        }
    }

    /// Which check failed, for a protocol violation or a handshake failure (`None` for
    /// other errors, and for the failures whose variant says it: [`Error::NoSharedCipherSuite`]
    /// …).
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::UnexpectedMessage { reason, .. } => Some(*reason),
            _ => self.typed().map(|d| d.reason),
        }
    }

    /// The same error with `context` put in front of its detail ("the peer's ServerHello
    /// could not be decoded: ...").
    pub fn with_context(self, context: &str) -> Self {
        self.map_detail(|s| format!("{context}: {s}"))
    }

    /// The [`Detail`] of a variant that holds one.
    fn typed(&self) -> Option<&Detail> {
        typed_detail!(self)
    }

    fn typed_mut(&mut self) -> Option<&mut Detail> {
        typed_detail!(self)
    }

    /// The same error with its free-form detail rewritten (variants without one unchanged).
    pub fn map_detail(mut self, f: impl FnOnce(String) -> String) -> Self {
        if let Some(d) = self.typed_mut() {
            d.text = f(std::mem::take(&mut d.text));
            return self;
        }
        let text = match &mut self {
            Self::Certificate { detail, .. } => detail,
            Self::CertificateRequired(s) | Self::Internal(s) => s,
            _ => return self,
        };
        *text = f(std::mem::take(text));
        self
    }

    /// Shorthand for a certificate error.
    pub fn cert(kind: CertErrorKind, detail: impl Into<String>) -> Self {
        Self::Certificate {
            kind,
            detail: detail.into(),
        }
    }

    /// Shorthand for a message this state does not expect.
    pub fn unexpected(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Self::unexpected_because(Reason::UnexpectedMessageType, expected, got)
    }

    /// An unexpected-message error for a more precise reason than the message type.
    pub fn unexpected_because(
        reason: Reason,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        Self::UnexpectedMessage {
            reason,
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
        let reason = match e {
            InvalidMessage::InvalidValue(_) => Reason::InvalidValue,
            InvalidMessage::DuplicateExtension(_) => Reason::DuplicateExtension,
            _ => Reason::MalformedMessage,
        };
        Self::peer(reason, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_peer_facing_error_has_one_alert() {
        assert_eq!(
            Error::peer(Reason::MalformedMessage, "x").alert(),
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
