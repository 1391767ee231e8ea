//! The few libcrypto functions and constants this layer calls (OpenSSL 3.0's `err.h`,
//! `crypto.h`), declared by hand: the system's libcrypto.so.3 is what programs already load.

use std::ffi::{c_char, c_int, c_void};

/// `ERR_LIB_SSL` (err.h).
pub const ERR_LIB_SSL: c_int = 20;
/// `ERR_R_UNSUPPORTED`: 268 | ERR_RFLAG_COMMON, where ERR_RFLAG_COMMON is 2 << 18 (err.h).
pub const ERR_R_UNSUPPORTED: c_int = 268 | (2 << 18);

unsafe extern "C" {
    pub fn ERR_new();
    pub fn ERR_set_debug(file: *const c_char, line: c_int, func: *const c_char);
    pub fn ERR_set_error(lib: c_int, reason: c_int, fmt: *const c_char, ...);
    pub fn ERR_peek_error() -> std::ffi::c_ulong;
    pub fn OPENSSL_init_crypto(opts: u64, settings: *const c_void) -> c_int;
}
