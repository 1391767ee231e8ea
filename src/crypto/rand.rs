//! Randomness from the operating system, for hello randoms, session ids, ephemeral keys and
//! signatures. One shared generator: `SystemRandom` is stateless, so sharing it is free.

use std::sync::LazyLock;

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::Error;

static RNG: LazyLock<SystemRandom> = LazyLock::new(SystemRandom::new);

/// The shared generator, for the ring calls in this module tree that need one.
pub(crate) fn rng() -> &'static SystemRandom {
    &RNG
}

/// Fill `buf` with random bytes. Fails only if the operating system cannot supply them,
/// in which case continuing would not be safe, so the error is `Internal`.
pub fn fill(buf: &mut [u8]) -> Result<(), Error> {
    RNG.fill(buf).map_err(|_| {
        Error::Internal("the operating system's random number generator failed".into())
    })
}

/// A fresh random array, e.g. a 32-byte hello random.
pub fn random_array<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// A random `u32`, e.g. a ticket age obfuscation value.
pub fn random_u32() -> Result<u32, Error> {
    Ok(u32::from_be_bytes(random_array::<4>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_randoms_differ() {
        let a: [u8; 32] = random_array().unwrap();
        let b: [u8; 32] = random_array().unwrap();
        assert_ne!(a, b);
        let _ = random_u32().unwrap();
        let mut empty = [];
        fill(&mut empty).unwrap();
    }
}
