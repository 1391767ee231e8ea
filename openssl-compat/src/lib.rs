//! `libssl.so.3` over ferrotls (issue 18): OpenSSL 3's libssl ABI, so that programs built for
//! OpenSSL 3 run on ferrotls with nothing recompiled (`LD_LIBRARY_PATH`, or the
//! `ferrotls-openssl` wrapper). The system's libcrypto.so.3 stays; this library uses it for the
//! objects programs hand us (X509, EVP_PKEY, BIO, X509_STORE, the error queue, ex_data).
//!
//! Layout: `build.rs` exports every function of Debian's libssl.so.3 in version node
//! `OPENSSL_3.0.0`; each `_ferrossl_NAME` defined in `src/` is NAME, the rest are generated
//! stubs (`unsupported.rs`). `ctx.rs` (SSL_METHOD, SSL_CTX, the engine configuration),
//! `ssl.rs` (SSL: driving the engine over BIOs), `verify.rs` (verdicts the OpenSSL way),
//! `session.rs` (SSL_SESSION), `cipher.rs` (SSL_CIPHER, cipher strings), `getters.rs`,
//! `observe.rs` (message and info callbacks), `bio_ssl.rs` (BIO_f_ssl), `x509.rs`
//! (libcrypto objects to engine bytes), `err.rs` (the error queue, panics).
//!
//! Every export checks its pointers and catches panics (a panic becomes an
//! ERR_R_INTERNAL_ERROR failure, never an unwind into C).

#![allow(clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

mod bio_ssl;
mod cipher;
mod cli;
mod conf;
mod ctx;
mod err;
mod getters;
mod hello;
mod libcrypto;
mod observe;
mod server;
mod session;
mod ssl;
mod tickets;
mod unsupported;
mod verify;
mod x509;

use std::ffi::{c_char, c_int, c_ulong, c_void};

include!(concat!(env!("OUT_DIR"), "/stubs.rs"));

/// `ERR_STRING_DATA` (err.h).
#[repr(C)]
struct ErrString {
    error: c_ulong,
    string: *const c_char,
}
// SAFETY: pointers to static strings only.
unsafe impl Sync for ErrString {}

unsafe extern "C" {
    fn ERR_load_strings_const(s: *const ErrString) -> c_int;
}

macro_rules! reasons {
    ($($code:expr => $text:literal),* $(,)?) => {
        [$(ErrString { error: ((libcrypto::ERR_LIB_SSL as c_ulong) << 23) | ($code as c_ulong), string: concat!($text, "\0").as_ptr().cast() },)* ErrString { error: 0, string: std::ptr::null() }]
    };
}

/// The reason strings of libssl's that we raise, as OpenSSL's libssl registers them: without
/// them libcrypto prints "reason(134)" instead of "certificate verify failed".
static REASONS: [ErrString; 46] = reasons![
    err::SSL_R_CERTIFICATE_VERIFY_FAILED => "certificate verify failed",
    err::SSL_R_NO_SHARED_CIPHER => "no shared cipher",
    err::SSL_R_NULL_SSL_CTX => "null ssl ctx",
    err::SSL_R_NULL_SSL_METHOD_PASSED => "null ssl method passed",
    err::SSL_R_SSL_HANDSHAKE_FAILURE => "ssl handshake failure",
    err::SSL_R_UNSUPPORTED_PROTOCOL => "unsupported protocol",
    err::SSL_R_BAD_LENGTH => "bad length",
    err::SSL_R_UNINITIALIZED => "uninitialized",
    err::SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC => "decryption failed or bad record mac",
    err::SSL_R_UNEXPECTED_EOF_WHILE_READING => "unexpected eof while reading",
    err::SSL_R_PROTOCOL_IS_SHUTDOWN => "protocol is shutdown",
    err::SSL_R_BAD_VALUE => "bad value",
    err::SSL_R_NO_CIPHER_MATCH => "no cipher match",
    err::SSL_R_NO_PROTOCOLS_AVAILABLE => "no protocols available",
    err::SSL_R_NO_CERTIFICATE_ASSIGNED => "no certificate assigned",
    err::SSL_R_NO_PRIVATE_KEY_ASSIGNED => "no private key assigned",
    err::SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG => "ssl session id context too long",
    err::SSL_R_BAD_SSL_FILETYPE => "bad ssl filetype",
    err::SSL_R_SSL3_EXT_INVALID_SERVERNAME => "ssl3 ext invalid servername",
    err::SSL_R_SSL3_EXT_INVALID_SERVERNAME_TYPE => "ssl3 ext invalid servername type",
    err::SSL_R_SHUTDOWN_WHILE_IN_INIT => "shutdown while in init",
    err::SSL_R_CONNECTION_TYPE_NOT_SET => "connection type not set",
    err::SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE => "peer did not return a certificate",
    err::SSL_R_NO_APPLICATION_PROTOCOL => "no application protocol",
    err::SSL_R_WRONG_VERSION_NUMBER => "wrong version number",
    err::SSL_R_NOT_SERVER => "not server",
    err::SSL_R_WRONG_SSL_VERSION => "wrong ssl version",
    err::SSL_R_EXTENSION_NOT_RECEIVED => "extension not received",
    1000 => "sslv3 alert close notify",
    1010 => "sslv3 alert unexpected message",
    1020 => "sslv3 alert bad record mac",
    1040 => "sslv3 alert handshake failure",
    1042 => "sslv3 alert bad certificate",
    1043 => "sslv3 alert unsupported certificate",
    1044 => "sslv3 alert certificate revoked",
    1045 => "sslv3 alert certificate expired",
    1046 => "sslv3 alert certificate unknown",
    1047 => "sslv3 alert illegal parameter",
    1048 => "tlsv1 alert unknown ca",
    1049 => "tlsv1 alert access denied",
    1050 => "tlsv1 alert decode error",
    1051 => "tlsv1 alert decrypt error",
    1070 => "tlsv1 alert protocol version",
    1080 => "tlsv1 alert internal error",
    1116 => "tlsv13 alert certificate required",
];

/// Register our reason strings with libcrypto (once; libcrypto keeps the table).
pub(crate) fn register_strings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: a NUL-terminated static table of static strings.
    ONCE.call_once(|| unsafe {
        ERR_load_strings_const(REASONS.as_ptr());
    });
}

/// `OPENSSL_init_ssl(opts, settings)`: libcrypto's part of the options is libcrypto's (as
/// OpenSSL's libssl passes them on); ours is the reason strings. 1 on success.
///
/// # Safety
/// `settings` is NULL or an `OPENSSL_INIT_SETTINGS` from libcrypto, as for OpenSSL's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _ferrossl_OPENSSL_init_ssl(opts: u64, settings: *const c_void) -> c_int {
    // The libssl-only option bits (OPENSSL_INIT_LOAD_SSL_STRINGS, OPENSSL_INIT_NO_LOAD_SSL_STRINGS)
    // are 0x00200000 and 0x00100000 (ssl.h); libcrypto ignores unknown bits, but clear them.
    let crypto_opts = opts & !0x0030_0000;
    // SAFETY: `settings` is the caller's OPENSSL_INIT_SETTINGS pointer or NULL, passed through.
    let r = unsafe { libcrypto::OPENSSL_init_crypto(crypto_opts, settings) };
    if opts & 0x0010_0000 == 0 {
        register_strings();
    }
    r
}
