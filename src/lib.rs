//! ferrotls: a TLS 1.3 and TLS 1.2 engine with a C ABI.
#![deny(unsafe_code)]

pub mod codec;
pub mod crypto;
pub mod error;
pub mod record;
pub mod tls12;
pub mod tls13;
