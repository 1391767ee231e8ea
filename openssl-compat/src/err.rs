//! Errors the OpenSSL way: an entry on libcrypto's thread-local queue with OpenSSL's library
//! and reason codes (programs test them with `ERR_GET_REASON`), our detail in the seed's words
//! as the entry's data (so `ERR_print_errors_fp` says what went wrong), and a panic guard for
//! every export.

use std::ffi::{CStr, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

use ferrotls::error::Error;

use crate::libcrypto::{ERR_LIB_SSL, ERR_new, ERR_set_debug, ERR_set_error};

// Reason codes (sslerr.h, err.h). ERR_R_* common reasons carry ERR_RFLAG_COMMON (2 << 18);
// the fatal ones ERR_RFLAG_FATAL (1 << 18) too.
pub const ERR_R_FATAL: c_int = (1 << 18) | (2 << 18);
pub const ERR_R_MALLOC_FAILURE: c_int = 256 | ERR_R_FATAL;
pub const ERR_R_PASSED_NULL_PARAMETER: c_int = 258 | ERR_R_FATAL;
pub const ERR_R_INTERNAL_ERROR: c_int = 259 | ERR_R_FATAL;
pub const ERR_R_SYS_LIB: c_int = 2 | (2 << 18); // ERR_LIB_SYS as a reason
pub const ERR_R_PEM_LIB: c_int = 9 | (2 << 18);
pub const ERR_R_X509_LIB: c_int = 11 | (2 << 18);
pub const ERR_R_EVP_LIB: c_int = 6 | (2 << 18);
pub const ERR_R_BUF_LIB: c_int = 7 | (2 << 18);
pub const SSL_R_BAD_LENGTH: c_int = 271;
pub const SSL_R_NOT_SERVER: c_int = 284;
pub const SSL_R_WRONG_SSL_VERSION: c_int = 266;
pub const SSL_R_EXTENSION_NOT_RECEIVED: c_int = 279;
pub const SSL_R_BAD_VALUE: c_int = 384;
pub const SSL_R_CERTIFICATE_VERIFY_FAILED: c_int = 134;
pub const SSL_R_CONNECTION_TYPE_NOT_SET: c_int = 144;
pub const SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC: c_int = 281;
pub const SSL_R_NO_CERTIFICATE_ASSIGNED: c_int = 177;
pub const SSL_R_NO_CIPHER_MATCH: c_int = 185;
pub const SSL_R_NO_PRIVATE_KEY_ASSIGNED: c_int = 190;
pub const SSL_R_NO_PROTOCOLS_AVAILABLE: c_int = 191;
pub const SSL_R_NO_SHARED_CIPHER: c_int = 193;
pub const SSL_R_NULL_SSL_CTX: c_int = 195;
pub const SSL_R_NULL_SSL_METHOD_PASSED: c_int = 196;
pub const SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: c_int = 199;
pub const SSL_R_PROTOCOL_IS_SHUTDOWN: c_int = 207;
pub const SSL_R_SSL_HANDSHAKE_FAILURE: c_int = 229;
pub const SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG: c_int = 273;
pub const SSL_R_UNINITIALIZED: c_int = 276;
pub const SSL_R_UNKNOWN_CMD_NAME: c_int = 386;
pub const SSL_R_INVALID_NULL_CMD_NAME: c_int = 385;
pub const SSL_R_UNSUPPORTED_PROTOCOL: c_int = 258;
pub const SSL_R_UNEXPECTED_EOF_WHILE_READING: c_int = 294;
pub const SSL_R_WRONG_VERSION_NUMBER: c_int = 267;
pub const SSL_R_BAD_SSL_FILETYPE: c_int = 124;
pub const SSL_R_SSL3_EXT_INVALID_SERVERNAME: c_int = 319;
pub const SSL_R_SSL3_EXT_INVALID_SERVERNAME_TYPE: c_int = 320;
pub const SSL_R_NO_APPLICATION_PROTOCOL: c_int = 235;
pub const SSL_R_SHUTDOWN_WHILE_IN_INIT: c_int = 407;
/// An alert from the peer: SSL_AD_REASON_OFFSET + its code ("sslv3 alert handshake failure").
pub const SSL_AD_REASON_OFFSET: c_int = 1000;

/// Queue an ERR_LIB_SSL error `reason` from function `func`, with `detail` as its data.
pub fn raise(func: &CStr, reason: c_int, detail: &str) {
    raise_lib(ERR_LIB_SSL, func, reason, detail);
}

/// Queue an error of library `lib` (e.g. ERR_LIB_SSL, or ERR_LIB_SYS for an errno).
pub fn raise_lib(lib: c_int, func: &CStr, reason: c_int, detail: &str) {
    if std::env::var_os("FERROSSL_TRACE").is_some() {
        eprintln!("ferrotls-openssl: {}: {detail}", func.to_string_lossy());
    }
    // Interior NULs cannot be in a C string: drop them.
    let detail: Vec<u8> = detail.bytes().filter(|&b| b != 0).chain([0]).collect();
    // SAFETY: NUL-terminated strings throughout; the format has one %s for one string.
    unsafe {
        ERR_new();
        ERR_set_debug(c"ferrotls-openssl".as_ptr(), 0, func.as_ptr());
        ERR_set_error(
            lib,
            reason,
            c"%s".as_ptr(),
            detail.as_ptr().cast::<c_char>(),
        );
    }
}

/// Run `f`, turning a panic into `on_panic` with an internal error on the queue.
pub fn guard<T>(func: &CStr, on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            raise(
                func,
                ERR_R_INTERNAL_ERROR,
                "internal error (a panic in ferrotls's libssl)",
            );
            on_panic
        }
    }
}

/// OpenSSL's reason code for an engine error (sslerr.h), as close as the kinds allow.
pub fn reason_for(e: &Error) -> c_int {
    match e {
        Error::Certificate {
            kind: ferrotls::error::CertErrorKind::Missing,
            ..
        } => SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE,
        Error::Certificate { .. } => SSL_R_CERTIFICATE_VERIFY_FAILED,
        Error::AlertReceived { alert, .. } => SSL_AD_REASON_OFFSET + c_int::from(alert.to_int()),
        Error::UnexpectedEof(_) => SSL_R_UNEXPECTED_EOF_WHILE_READING,
        Error::BadRecordMac(_) => SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
        Error::NoSharedVersion(_) => SSL_R_UNSUPPORTED_PROTOCOL,
        Error::NoSharedCipherSuite(_) => SSL_R_NO_SHARED_CIPHER,
        Error::CertificateRequired(_) => SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE,
        Error::NoApplicationProtocol(_) => SSL_R_NO_APPLICATION_PROTOCOL,
        e if e.reason() == Some(ferrotls::error::Reason::NotTls) => SSL_R_WRONG_VERSION_NUMBER,
        e if e.reason() == Some(ferrotls::error::Reason::NoClientCertificate) => {
            SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
        }
        _ => SSL_R_SSL_HANDSHAKE_FAILURE,
    }
}

/// Borrow a C string argument as UTF-8 (None for NULL or invalid UTF-8).
///
/// # Safety
/// `p` is NULL or NUL-terminated and lives for `'a`.
pub unsafe fn cstr<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the caller.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// A NULL pointer check that queues OpenSSL's error: `nonnull!(FUNC, ptr, ret)`.
#[macro_export]
macro_rules! nonnull {
    ($f:expr, $p:expr, $ret:expr) => {
        if $p.is_null() {
            $crate::err::raise(
                $f,
                $crate::err::ERR_R_PASSED_NULL_PARAMETER,
                concat!(stringify!($p), " is NULL"),
            );
            return $ret;
        }
    };
}
