//! ferrotls: a TLS 1.3 and TLS 1.2 engine with a C ABI.
#![deny(unsafe_code)]

pub mod codec;
pub mod config;
pub mod conn;
pub mod error;
#[allow(unsafe_code)]
pub mod ffi;
