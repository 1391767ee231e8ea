//! TLS 1.2 pieces that do not depend on the handshake state machine.

pub mod key_schedule;
