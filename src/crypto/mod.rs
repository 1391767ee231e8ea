//! The crypto seam: every use of `ring` lives under this module, so the rest of the engine
//! names only these small, typed wrappers and a grep for `ring::` finds nothing elsewhere.

pub mod aead;
pub mod ct;
pub mod hash;
pub mod hkdf;
pub mod kx;
pub mod prf;
pub mod rand;
pub mod sign;
pub mod suites;

/// Decode a hex string with optional whitespace (test vectors are printed that way).
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
