//! Result codes, their names, messages and categories, and the one `Error` → code table.

use std::ffi::{CStr, CString, c_char};
use std::sync::OnceLock;

use crate::codec::enums::AlertDescription;
use crate::error::{CertErrorKind, Error};

/// A result code. A `typedef uint32_t`, not an enum, so that a value this header does not
/// know (from a newer library) is never undefined behaviour.
#[allow(non_camel_case_types)]
pub type ferrotls_result = u32;

// ---- success and "call again" -------------------------------------------------------------
/// Success.
pub const FERROTLS_OK: ferrotls_result = 0;
/// The engine needs more ciphertext from the peer (sans-IO: feed it; fd mode: poll for reading).
pub const FERROTLS_WANT_READ: ferrotls_result = 1;
/// fd mode: the socket would block on sending; poll for writing and call again.
pub const FERROTLS_WANT_WRITE: ferrotls_result = 2;
/// The peer closed the connection cleanly (close_notify).
pub const FERROTLS_CLOSED: ferrotls_result = 3;
/// A read reached the point where the peer authenticated again (Handshake Again): the bytes
/// read before came from the peer as it was; those after it from the peer that
/// `ferrotls_conn_peer_cert` now reports. Returned once, with no bytes; read again.
pub const FERROTLS_PEER_AUTHENTICATED: ferrotls_result = 4;

// ---- 100s: usage ---------------------------------------------------------------------------
/// A required pointer argument was NULL.
pub const FERROTLS_ERR_NULL_ARGUMENT: ferrotls_result = 100;
/// An argument had an invalid value.
pub const FERROTLS_ERR_INVALID_ARGUMENT: ferrotls_result = 101;
/// The call is not allowed for this role (client/server).
pub const FERROTLS_ERR_WRONG_ROLE: ferrotls_result = 102;
/// The call is not allowed in the current state.
pub const FERROTLS_ERR_WRONG_STATE: ferrotls_result = 103;
/// The output buffer is too small.
pub const FERROTLS_ERR_BUFFER_TOO_SMALL: ferrotls_result = 104;
/// The object is in use by another thread or by a callback running on this one.
pub const FERROTLS_ERR_CONCURRENT_USE: ferrotls_result = 105;
/// The requested value does not exist.
pub const FERROTLS_ERR_NOT_FOUND: ferrotls_result = 106;
/// A handle of another type (or a freed handle) was passed.
pub const FERROTLS_ERR_WRONG_HANDLE_TYPE: ferrotls_result = 107;

// ---- 200s: transport -----------------------------------------------------------------------
/// A socket call failed; `ferrotls_conn_os_error` has the errno.
pub const FERROTLS_ERR_IO: ferrotls_result = 200;
/// The transport ended without close_notify.
pub const FERROTLS_ERR_UNEXPECTED_EOF: ferrotls_result = 201;

// ---- 300s: protocol ------------------------------------------------------------------------
/// A message from the peer could not be decoded.
pub const FERROTLS_ERR_DECODE: ferrotls_result = 300;
/// A message arrived that is not allowed in the current state.
pub const FERROTLS_ERR_UNEXPECTED_MESSAGE: ferrotls_result = 301;
/// A field held a value the protocol forbids.
pub const FERROTLS_ERR_ILLEGAL_PARAMETER: ferrotls_result = 302;
/// A protected record failed authentication.
pub const FERROTLS_ERR_BAD_RECORD_MAC: ferrotls_result = 303;
/// A record exceeded the size limits.
pub const FERROTLS_ERR_RECORD_OVERFLOW: ferrotls_result = 304;
/// A Finished value or handshake signature did not verify.
pub const FERROTLS_ERR_DECRYPT_ERROR: ferrotls_result = 305;
/// No shared protocol version.
pub const FERROTLS_ERR_NO_SHARED_VERSION: ferrotls_result = 306;
/// No shared cipher suite.
pub const FERROTLS_ERR_NO_SHARED_CIPHER: ferrotls_result = 307;
/// No shared key-exchange group.
pub const FERROTLS_ERR_NO_SHARED_GROUP: ferrotls_result = 308;
/// No shared signature scheme.
pub const FERROTLS_ERR_NO_SHARED_SIGNATURE_SCHEME: ferrotls_result = 309;
/// No shared ALPN protocol.
pub const FERROTLS_ERR_NO_ALPN_MATCH: ferrotls_result = 310;
/// Any other negotiation failure.
pub const FERROTLS_ERR_HANDSHAKE_FAILURE: ferrotls_result = 311;
/// A required extension was absent.
pub const FERROTLS_ERR_MISSING_EXTENSION: ferrotls_result = 312;
/// The peer sent an extension it must not send.
pub const FERROTLS_ERR_UNSUPPORTED_EXTENSION: ferrotls_result = 313;
/// A version downgrade was detected.
pub const FERROTLS_ERR_INAPPROPRIATE_FALLBACK: ferrotls_result = 314;
/// The peer crossed a resource limit.
pub const FERROTLS_ERR_LIMIT_EXCEEDED: ferrotls_result = 315;
/// The peer asked to renegotiate.
pub const FERROTLS_ERR_NO_RENEGOTIATION: ferrotls_result = 316;
/// A client certificate was required and none was sent.
pub const FERROTLS_ERR_CERTIFICATE_REQUIRED: ferrotls_result = 317;

// ---- 400s: certificate ---------------------------------------------------------------------
/// A certificate has expired.
pub const FERROTLS_ERR_CERT_EXPIRED: ferrotls_result = 400;
/// A certificate is not valid yet.
pub const FERROTLS_ERR_CERT_NOT_YET_VALID: ferrotls_result = 401;
/// No path to a trust anchor.
pub const FERROTLS_ERR_CERT_UNKNOWN_ISSUER: ferrotls_result = 402;
/// The certificate is not valid for the expected name.
pub const FERROTLS_ERR_CERT_NAME_MISMATCH: ferrotls_result = 403;
/// A signature did not verify.
pub const FERROTLS_ERR_CERT_BAD_SIGNATURE: ferrotls_result = 404;
/// A certificate could not be parsed.
pub const FERROTLS_ERR_CERT_BAD_ENCODING: ferrotls_result = 405;
/// Unsupported key type or signature algorithm.
pub const FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM: ferrotls_result = 406;
/// The certificate may not be used for this purpose.
pub const FERROTLS_ERR_CERT_INVALID_PURPOSE: ferrotls_result = 407;
/// An intermediate is not a CA.
pub const FERROTLS_ERR_CERT_NOT_CA: ferrotls_result = 408;
/// The certificate has been revoked.
pub const FERROTLS_ERR_CERT_REVOKED: ferrotls_result = 409;
/// The peer sent no certificate.
pub const FERROTLS_ERR_CERT_MISSING: ferrotls_result = 410;
/// Any other certificate failure.
pub const FERROTLS_ERR_CERT_OTHER: ferrotls_result = 411;

// ---- 500s: configuration -------------------------------------------------------------------
/// The configuration is unusable.
pub const FERROTLS_ERR_CONFIG: ferrotls_result = 500;
/// PEM data could not be parsed.
pub const FERROTLS_ERR_PEM: ferrotls_result = 501;
/// A private key is unusable or does not match its certificate.
pub const FERROTLS_ERR_KEY: ferrotls_result = 502;
/// A file could not be read or written.
pub const FERROTLS_ERR_FILE: ferrotls_result = 503;

// ---- 900s: internal ------------------------------------------------------------------------
/// A bug or an unexpected failure of a primitive.
pub const FERROTLS_ERR_INTERNAL: ferrotls_result = 900;
/// A panic was caught at the API boundary; the connection is unusable.
pub const FERROTLS_ERR_PANIC: ferrotls_result = 901;

// ---- 1000 + d: fatal alert d received ------------------------------------------------------
/// `FERROTLS_ERR_ALERT_BASE + d`: the peer sent fatal alert `d` (1040 = handshake_failure).
pub const FERROTLS_ERR_ALERT_BASE: ferrotls_result = 1000;
/// The largest alert code (1000 + 255).
pub const FERROTLS_ERR_ALERT_MAX: ferrotls_result = 1255;

// ---- categories ----------------------------------------------------------------------------
/// Category of `FERROTLS_OK`.
pub const FERROTLS_CATEGORY_OK: u32 = 0;
/// Category of `FERROTLS_WANT_READ` and `FERROTLS_WANT_WRITE`.
pub const FERROTLS_CATEGORY_WANT: u32 = 1;
/// Category of `FERROTLS_CLOSED`.
pub const FERROTLS_CATEGORY_CLOSED: u32 = 2;
/// The 100s: API misuse.
pub const FERROTLS_CATEGORY_USAGE: u32 = 3;
/// The 200s: transport.
pub const FERROTLS_CATEGORY_IO: u32 = 4;
/// The 300s: protocol.
pub const FERROTLS_CATEGORY_PROTOCOL: u32 = 5;
/// The 400s: certificate verification.
pub const FERROTLS_CATEGORY_CERT: u32 = 6;
/// 1000 + d: a fatal alert from the peer.
pub const FERROTLS_CATEGORY_ALERT: u32 = 7;
/// The 500s: configuration and parsing.
pub const FERROTLS_CATEGORY_CONFIG: u32 = 8;
/// The 900s, and any code this library does not know.
pub const FERROTLS_CATEGORY_INTERNAL: u32 = 9;

/// `(code, name, message)` for every fixed code (alerts are computed).
pub(crate) const CODES: &[(ferrotls_result, &CStr, &CStr)] = &[
    (FERROTLS_OK, c"FERROTLS_OK", c"The call succeeded."),
    (
        FERROTLS_WANT_READ,
        c"FERROTLS_WANT_READ",
        c"More data from the peer is needed: feed ciphertext (or wait until the socket is readable) and call again.",
    ),
    (
        FERROTLS_WANT_WRITE,
        c"FERROTLS_WANT_WRITE",
        c"The socket would block on sending: wait until it is writable and call again.",
    ),
    (FERROTLS_CLOSED, c"FERROTLS_CLOSED", c"The peer closed the connection cleanly with close_notify."),
    (
        FERROTLS_PEER_AUTHENTICATED,
        c"FERROTLS_PEER_AUTHENTICATED",
        c"The peer authenticated again at this point of the stream (Handshake Again).",
    ),
    (FERROTLS_ERR_NULL_ARGUMENT, c"FERROTLS_ERR_NULL_ARGUMENT", c"A required pointer argument was NULL."),
    (FERROTLS_ERR_INVALID_ARGUMENT, c"FERROTLS_ERR_INVALID_ARGUMENT", c"An argument had an invalid value."),
    (
        FERROTLS_ERR_WRONG_ROLE,
        c"FERROTLS_ERR_WRONG_ROLE",
        c"The call is not allowed for this role (client or server).",
    ),
    (FERROTLS_ERR_WRONG_STATE, c"FERROTLS_ERR_WRONG_STATE", c"The call is not allowed in the current state."),
    (FERROTLS_ERR_BUFFER_TOO_SMALL, c"FERROTLS_ERR_BUFFER_TOO_SMALL", c"The output buffer is too small."),
    (
        FERROTLS_ERR_CONCURRENT_USE,
        c"FERROTLS_ERR_CONCURRENT_USE",
        c"The object is already in use by another thread or by a callback running inside a call on it.",
    ),
    (FERROTLS_ERR_NOT_FOUND, c"FERROTLS_ERR_NOT_FOUND", c"The requested value does not exist."),
    (
        FERROTLS_ERR_WRONG_HANDLE_TYPE,
        c"FERROTLS_ERR_WRONG_HANDLE_TYPE",
        c"A handle of the wrong type, or one that was already freed, was passed.",
    ),
    (FERROTLS_ERR_IO, c"FERROTLS_ERR_IO", c"A socket operation failed; see ferrotls_conn_os_error for the errno."),
    (
        FERROTLS_ERR_UNEXPECTED_EOF,
        c"FERROTLS_ERR_UNEXPECTED_EOF",
        c"The connection ended without close_notify; the data may have been truncated.",
    ),
    (FERROTLS_ERR_DECODE, c"FERROTLS_ERR_DECODE", c"A message from the peer could not be decoded."),
    (
        FERROTLS_ERR_UNEXPECTED_MESSAGE,
        c"FERROTLS_ERR_UNEXPECTED_MESSAGE",
        c"The peer sent a message that is not allowed at this point of the protocol.",
    ),
    (
        FERROTLS_ERR_ILLEGAL_PARAMETER,
        c"FERROTLS_ERR_ILLEGAL_PARAMETER",
        c"The peer sent a field with a value the protocol forbids.",
    ),
    (
        FERROTLS_ERR_BAD_RECORD_MAC,
        c"FERROTLS_ERR_BAD_RECORD_MAC",
        c"A record from the peer failed authentication (corruption or a key mismatch).",
    ),
    (
        FERROTLS_ERR_RECORD_OVERFLOW,
        c"FERROTLS_ERR_RECORD_OVERFLOW",
        c"A record from the peer exceeded the size limits.",
    ),
    (
        FERROTLS_ERR_DECRYPT_ERROR,
        c"FERROTLS_ERR_DECRYPT_ERROR",
        c"A Finished message or handshake signature from the peer did not verify.",
    ),
    (
        FERROTLS_ERR_NO_SHARED_VERSION,
        c"FERROTLS_ERR_NO_SHARED_VERSION",
        c"The two sides share no protocol version.",
    ),
    (FERROTLS_ERR_NO_SHARED_CIPHER, c"FERROTLS_ERR_NO_SHARED_CIPHER", c"The two sides share no cipher suite."),
    (FERROTLS_ERR_NO_SHARED_GROUP, c"FERROTLS_ERR_NO_SHARED_GROUP", c"The two sides share no key-exchange group."),
    (
        FERROTLS_ERR_NO_SHARED_SIGNATURE_SCHEME,
        c"FERROTLS_ERR_NO_SHARED_SIGNATURE_SCHEME",
        c"The two sides share no signature scheme.",
    ),
    (
        FERROTLS_ERR_NO_ALPN_MATCH,
        c"FERROTLS_ERR_NO_ALPN_MATCH",
        c"The two sides share no application protocol (ALPN).",
    ),
    (
        FERROTLS_ERR_HANDSHAKE_FAILURE,
        c"FERROTLS_ERR_HANDSHAKE_FAILURE",
        c"The two sides could not agree on the handshake parameters.",
    ),
    (
        FERROTLS_ERR_MISSING_EXTENSION,
        c"FERROTLS_ERR_MISSING_EXTENSION",
        c"The peer omitted a required extension.",
    ),
    (
        FERROTLS_ERR_UNSUPPORTED_EXTENSION,
        c"FERROTLS_ERR_UNSUPPORTED_EXTENSION",
        c"The peer sent an extension it must not send here.",
    ),
    (
        FERROTLS_ERR_INAPPROPRIATE_FALLBACK,
        c"FERROTLS_ERR_INAPPROPRIATE_FALLBACK",
        c"A protocol version downgrade was detected.",
    ),
    (
        FERROTLS_ERR_LIMIT_EXCEEDED,
        c"FERROTLS_ERR_LIMIT_EXCEEDED",
        c"The peer crossed a limit set to bound its resource use.",
    ),
    (
        FERROTLS_ERR_NO_RENEGOTIATION,
        c"FERROTLS_ERR_NO_RENEGOTIATION",
        c"The peer asked to renegotiate, which this library declines.",
    ),
    (
        FERROTLS_ERR_CERTIFICATE_REQUIRED,
        c"FERROTLS_ERR_CERTIFICATE_REQUIRED",
        c"A client certificate is required and the client sent none.",
    ),
    (FERROTLS_ERR_CERT_EXPIRED, c"FERROTLS_ERR_CERT_EXPIRED", c"A certificate in the peer's chain has expired."),
    (
        FERROTLS_ERR_CERT_NOT_YET_VALID,
        c"FERROTLS_ERR_CERT_NOT_YET_VALID",
        c"A certificate in the peer's chain is not valid yet.",
    ),
    (
        FERROTLS_ERR_CERT_UNKNOWN_ISSUER,
        c"FERROTLS_ERR_CERT_UNKNOWN_ISSUER",
        c"The peer's certificate does not chain to a trusted root.",
    ),
    (
        FERROTLS_ERR_CERT_NAME_MISMATCH,
        c"FERROTLS_ERR_CERT_NAME_MISMATCH",
        c"The peer's certificate is not valid for the expected name.",
    ),
    (
        FERROTLS_ERR_CERT_BAD_SIGNATURE,
        c"FERROTLS_ERR_CERT_BAD_SIGNATURE",
        c"A signature in the peer's certificate chain did not verify.",
    ),
    (
        FERROTLS_ERR_CERT_BAD_ENCODING,
        c"FERROTLS_ERR_CERT_BAD_ENCODING",
        c"A certificate from the peer could not be parsed.",
    ),
    (
        FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM,
        c"FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM",
        c"The peer's certificate uses an unsupported key type or signature algorithm.",
    ),
    (
        FERROTLS_ERR_CERT_INVALID_PURPOSE,
        c"FERROTLS_ERR_CERT_INVALID_PURPOSE",
        c"The peer's certificate may not be used for this purpose (extended key usage).",
    ),
    (
        FERROTLS_ERR_CERT_NOT_CA,
        c"FERROTLS_ERR_CERT_NOT_CA",
        c"An intermediate in the peer's chain is not a certificate authority.",
    ),
    (FERROTLS_ERR_CERT_REVOKED, c"FERROTLS_ERR_CERT_REVOKED", c"The peer's certificate has been revoked."),
    (FERROTLS_ERR_CERT_MISSING, c"FERROTLS_ERR_CERT_MISSING", c"The peer sent no certificate where one was needed."),
    (
        FERROTLS_ERR_CERT_OTHER,
        c"FERROTLS_ERR_CERT_OTHER",
        c"The peer's certificate failed verification.",
    ),
    (FERROTLS_ERR_CONFIG, c"FERROTLS_ERR_CONFIG", c"The configuration is unusable."),
    (FERROTLS_ERR_PEM, c"FERROTLS_ERR_PEM", c"PEM data could not be parsed."),
    (
        FERROTLS_ERR_KEY,
        c"FERROTLS_ERR_KEY",
        c"The private key is unusable or does not match its certificate.",
    ),
    (FERROTLS_ERR_FILE, c"FERROTLS_ERR_FILE", c"A file could not be read or written."),
    (
        FERROTLS_ERR_INTERNAL,
        c"FERROTLS_ERR_INTERNAL",
        c"An internal error occurred; this is a bug in ferrotls.",
    ),
    (
        FERROTLS_ERR_PANIC,
        c"FERROTLS_ERR_PANIC",
        c"A panic was caught at the API boundary; the connection is no longer usable. This is a bug in ferrotls.",
    ),
];

/// The category of a code.
pub(crate) fn category(r: ferrotls_result) -> u32 {
    match r {
        FERROTLS_OK | FERROTLS_PEER_AUTHENTICATED => FERROTLS_CATEGORY_OK,
        FERROTLS_WANT_READ | FERROTLS_WANT_WRITE => FERROTLS_CATEGORY_WANT,
        FERROTLS_CLOSED => FERROTLS_CATEGORY_CLOSED,
        FERROTLS_ERR_ALERT_BASE..=FERROTLS_ERR_ALERT_MAX => FERROTLS_CATEGORY_ALERT,
        _ if lookup(r).is_none() => FERROTLS_CATEGORY_INTERNAL,
        100..=199 => FERROTLS_CATEGORY_USAGE,
        200..=299 => FERROTLS_CATEGORY_IO,
        300..=399 => FERROTLS_CATEGORY_PROTOCOL,
        400..=499 => FERROTLS_CATEGORY_CERT,
        500..=599 => FERROTLS_CATEGORY_CONFIG,
        _ => FERROTLS_CATEGORY_INTERNAL,
    }
}

fn lookup(r: ferrotls_result) -> Option<&'static (ferrotls_result, &'static CStr, &'static CStr)> {
    CODES.iter().find(|(c, _, _)| *c == r)
}

/// One static sentence per alert code 1000..=1255.
fn alert_messages() -> &'static [CString] {
    static TABLE: OnceLock<Vec<CString>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=255u8)
            .map(|d| {
                let alert = AlertDescription::from(d);
                let text = match alert.name() {
                    Some(name) => format!("The peer sent a fatal {name} alert ({d})."),
                    None => format!("The peer sent a fatal alert with unknown description {d}."),
                };
                CString::new(text).unwrap_or_default()
            })
            .collect()
    })
}

/// The symbolic name of a code (static).
pub(crate) fn name(r: ferrotls_result) -> &'static CStr {
    match r {
        FERROTLS_ERR_ALERT_BASE..=FERROTLS_ERR_ALERT_MAX => c"FERROTLS_ERR_ALERT_RECEIVED",
        _ => lookup(r).map_or(c"FERROTLS_ERR_UNKNOWN", |e| e.1),
    }
}

/// The English message of a code (static).
pub(crate) fn message(r: ferrotls_result) -> &'static CStr {
    match r {
        FERROTLS_ERR_ALERT_BASE..=FERROTLS_ERR_ALERT_MAX => {
            alert_messages()[(r - FERROTLS_ERR_ALERT_BASE) as usize].as_c_str()
        }
        _ => lookup(r).map_or(
            c"Unknown result code (from a newer version of ferrotls?).",
            |e| e.2,
        ),
    }
}

/// The code of an engine error. `Error::Usage` is `INVALID_ARGUMENT` here; connection calls
/// use [`conn_code_of`], where it means `WRONG_STATE`.
pub(crate) fn code_of(e: &Error) -> ferrotls_result {
    match e {
        Error::Decode(_) => FERROTLS_ERR_DECODE,
        Error::UnexpectedMessage { .. } => FERROTLS_ERR_UNEXPECTED_MESSAGE,
        Error::IllegalParameter(_) => FERROTLS_ERR_ILLEGAL_PARAMETER,
        Error::MissingExtension(_) => FERROTLS_ERR_MISSING_EXTENSION,
        Error::UnsupportedExtension(_) => FERROTLS_ERR_UNSUPPORTED_EXTENSION,
        Error::RecordOverflow(_) => FERROTLS_ERR_RECORD_OVERFLOW,
        Error::BadRecordMac(_) => FERROTLS_ERR_BAD_RECORD_MAC,
        Error::DecryptError(_) => FERROTLS_ERR_DECRYPT_ERROR,
        Error::NoSharedVersion(_) => FERROTLS_ERR_NO_SHARED_VERSION,
        Error::NoSharedCipherSuite(_) => FERROTLS_ERR_NO_SHARED_CIPHER,
        Error::NoSharedGroup(_) => FERROTLS_ERR_NO_SHARED_GROUP,
        Error::NoSharedSignatureScheme(_) => FERROTLS_ERR_NO_SHARED_SIGNATURE_SCHEME,
        Error::NoApplicationProtocol(_) => FERROTLS_ERR_NO_ALPN_MATCH,
        Error::HandshakeFailure(_) => FERROTLS_ERR_HANDSHAKE_FAILURE,
        Error::InappropriateFallback(_) => FERROTLS_ERR_INAPPROPRIATE_FALLBACK,
        Error::Certificate { kind, .. } => match kind {
            CertErrorKind::Expired => FERROTLS_ERR_CERT_EXPIRED,
            CertErrorKind::NotYetValid => FERROTLS_ERR_CERT_NOT_YET_VALID,
            CertErrorKind::UnknownIssuer => FERROTLS_ERR_CERT_UNKNOWN_ISSUER,
            CertErrorKind::NameMismatch => FERROTLS_ERR_CERT_NAME_MISMATCH,
            CertErrorKind::BadSignature => FERROTLS_ERR_CERT_BAD_SIGNATURE,
            CertErrorKind::BadEncoding => FERROTLS_ERR_CERT_BAD_ENCODING,
            CertErrorKind::UnsupportedAlgorithm => FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM,
            CertErrorKind::InvalidPurpose => FERROTLS_ERR_CERT_INVALID_PURPOSE,
            CertErrorKind::NotCa => FERROTLS_ERR_CERT_NOT_CA,
            CertErrorKind::Revoked => FERROTLS_ERR_CERT_REVOKED,
            CertErrorKind::Missing => FERROTLS_ERR_CERT_MISSING,
            CertErrorKind::Other => FERROTLS_ERR_CERT_OTHER,
        },
        Error::CertificateRequired(_) => FERROTLS_ERR_CERTIFICATE_REQUIRED,
        Error::AlertReceived { alert, .. } => FERROTLS_ERR_ALERT_BASE + u32::from(alert.to_int()),
        Error::UnexpectedEof(_) => FERROTLS_ERR_UNEXPECTED_EOF,
        Error::LimitExceeded(_) => FERROTLS_ERR_LIMIT_EXCEEDED,
        Error::NoRenegotiation(_) => FERROTLS_ERR_NO_RENEGOTIATION,
        Error::Closed => FERROTLS_CLOSED,
        Error::Config(_) => FERROTLS_ERR_CONFIG,
        Error::Pem(_) => FERROTLS_ERR_PEM,
        Error::Key(_) => FERROTLS_ERR_KEY,
        Error::File(_) => FERROTLS_ERR_FILE,
        Error::Usage(_) => FERROTLS_ERR_INVALID_ARGUMENT,
        Error::Internal(_) => FERROTLS_ERR_INTERNAL,
    }
}

/// The code of an error returned by a connection call: misuse there is a state problem.
pub(crate) fn conn_code_of(e: &Error) -> ferrotls_result {
    match e {
        Error::Usage(_) => FERROTLS_ERR_WRONG_STATE,
        other => code_of(other),
    }
}

/// Pointer to a static string, for returning to C.
pub(crate) fn static_ptr(s: &'static CStr) -> *const c_char {
    s.as_ptr()
}

/// The category of a result code: one of the `FERROTLS_CATEGORY_*` constants. Codes this
/// library does not know are `FERROTLS_CATEGORY_INTERNAL`.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_result_category(r: ferrotls_result) -> u32 {
    super::ffi_value(FERROTLS_CATEGORY_INTERNAL, || Ok(category(r)))
}

/// The symbolic name of a result code, e.g. "FERROTLS_ERR_CERT_EXPIRED"; 1000..1255 give
/// "FERROTLS_ERR_ALERT_RECEIVED", unknown codes "FERROTLS_ERR_UNKNOWN". Static, never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_result_name(r: ferrotls_result) -> *const c_char {
    super::ffi_value(c"FERROTLS_ERR_UNKNOWN".as_ptr(), || Ok(static_ptr(name(r))))
}

/// A static English sentence describing a result code (never NULL). For the details of one
/// failure use `ferrotls_conn_error_detail` or `ferrotls_last_error_detail`.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_result_message(r: ferrotls_result) -> *const c_char {
    super::ffi_value(c"".as_ptr(), || Ok(static_ptr(message(r))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for (code, name, msg) in CODES {
            assert!(seen.insert(*code), "duplicate code {code}");
            let n = name.to_str().unwrap();
            assert!(n.starts_with("FERROTLS_"), "{n}");
            assert!(msg.to_str().unwrap().ends_with('.'), "{n}");
            if *code < FERROTLS_ERR_INTERNAL {
                assert_ne!(category(*code), FERROTLS_CATEGORY_INTERNAL, "{n}");
            }
        }
    }

    #[test]
    fn alerts() {
        let e = Error::alert_received(AlertDescription::HandshakeFailure, true);
        assert_eq!(code_of(&e), 1040);
        assert_eq!(category(1040), FERROTLS_CATEGORY_ALERT);
        assert_eq!(
            message(1040).to_str().unwrap(),
            "The peer sent a fatal handshake_failure alert (40)."
        );
    }
}
