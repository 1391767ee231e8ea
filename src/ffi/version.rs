//! Version and ABI numbers.

use std::ffi::c_char;

/// The ABI version: bumped on any incompatible change; equals the SONAME suffix
/// (`libferrotls.so.1`). Must match `FERROTLS_ABI_VERSION` in the header.
pub(crate) const ABI_VERSION: u32 = 1;

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0u32;
    while i < b.len() {
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

/// `MAJOR << 16 | MINOR << 8 | PATCH` of this crate.
pub(crate) const VERSION_NUMBER: u32 = (parse_u32(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
    | (parse_u32(env!("CARGO_PKG_VERSION_MINOR")) << 8)
    | parse_u32(env!("CARGO_PKG_VERSION_PATCH"));

/// The ABI version of the loaded library; compare with `FERROTLS_ABI_VERSION`.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_abi_version() -> u32 {
    ABI_VERSION
}

/// The version of the loaded library as `MAJOR << 16 | MINOR << 8 | PATCH`; compare with
/// `FERROTLS_VERSION_NUMBER`.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_version_number() -> u32 {
    VERSION_NUMBER
}

/// The version string, e.g. "ferrotls/0.1.0" (static, never NULL).
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_version_string() -> *const c_char {
    concat!("ferrotls/", env!("CARGO_PKG_VERSION"), "\0")
        .as_ptr()
        .cast()
}
