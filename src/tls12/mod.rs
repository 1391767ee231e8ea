//! TLS 1.2 pieces that do not depend on the handshake state machine.

pub(crate) mod handshake;
pub mod key_schedule;

pub use handshake::{DOWNGRADE_TLS11, DOWNGRADE_TLS12};
