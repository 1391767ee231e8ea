//! `libssl.so.3` over ferrotls (issue 18): OpenSSL 3's libssl ABI, so that programs built for
//! OpenSSL 3 run on ferrotls with nothing recompiled (`LD_LIBRARY_PATH`). The system's
//! libcrypto.so.3 stays; this library uses it for the objects programs hand us.
//!
//! Layout: `build.rs` exports every function of Debian's libssl.so.3 in version node
//! `OPENSSL_3.0.0`; what `src/implemented.txt` lists is implemented here, the rest are
//! generated stubs (`unsupported.rs`). Implemented so far: the minimal blocking client path
//! (`client.rs`).

mod client;
mod libcrypto;
mod unsupported;

use std::ffi::{c_int, c_void};

include!(concat!(env!("OUT_DIR"), "/stubs.rs"));

/// `OPENSSL_init_ssl(opts, settings)`: libssl needs no initialisation of its own; libcrypto's
/// part of the options is libcrypto's (as OpenSSL's libssl passes them on). 1 on success.
#[unsafe(no_mangle)]
///
/// # Safety
/// `settings` is NULL or an `OPENSSL_INIT_SETTINGS` from libcrypto, as for OpenSSL's.
pub unsafe extern "C" fn _ferrossl_OPENSSL_init_ssl(opts: u64, settings: *const c_void) -> c_int {
    // The libssl-only option bits (OPENSSL_INIT_LOAD_SSL_STRINGS, OPENSSL_INIT_NO_LOAD_SSL_STRINGS)
    // are 0x00200000 and 0x00100000 (ssl.h); libcrypto ignores unknown bits, but clear them.
    let crypto_opts = opts & !0x0030_0000;
    // SAFETY: `settings` is the caller's OPENSSL_INIT_SETTINGS pointer or NULL, passed through.
    unsafe { libcrypto::OPENSSL_init_crypto(crypto_opts, settings) }
}
