//! TLS 1.3: the key schedule and the handshake pieces both roles share.

pub(crate) mod handshake;
pub mod key_schedule;
