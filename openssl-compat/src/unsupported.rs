//! What a function we do not implement yet does: fail as OpenSSL does when it cannot do
//! something — a failure return (0 or NULL: every stub returns the zero of its register, which
//! is both for the int, long and pointer results libssl's functions have) and an error on
//! libcrypto's queue, library SSL with reason ERR_R_UNSUPPORTED and the function's name, so
//! `ERR_print_errors_fp` in the program says which call is missing. Never a crash.

use std::ffi::CStr;

use crate::libcrypto::{ERR_LIB_SSL, ERR_R_UNSUPPORTED, ERR_new, ERR_set_debug, ERR_set_error};

/// The body of every generated stub (see build.rs).
pub fn call(name: &CStr) -> usize {
    // FERROSSL_TRACE=1 names each unsupported call on stderr as it happens (a program may
    // clear the error queue before printing it).
    if std::env::var_os("FERROSSL_TRACE").is_some() {
        eprintln!(
            "ferrotls-openssl: {} is not supported",
            name.to_string_lossy()
        );
    }
    // SAFETY: libcrypto's error functions take NUL-terminated strings, which these are; the
    // format string has one %s for the one string argument.
    unsafe {
        ERR_new();
        ERR_set_debug(c"ferrotls-openssl".as_ptr(), 0, name.as_ptr());
        ERR_set_error(
            ERR_LIB_SSL,
            ERR_R_UNSUPPORTED,
            c"%s is not supported by ferrotls's libssl (see docs/libssl-support.md)".as_ptr(),
            name.as_ptr(),
        );
    }
    0
}
