//! ferrotls: a TLS 1.3 and TLS 1.2 engine with a C ABI.
//!
//! Module map (see DESIGN.md §2): `codec` (wire formats), `record` (the Record Protocol),
//! `crypto` (the only module naming `ring`), `verify` (the only module naming `webpki`),
//! `tls13` / `tls12` (key schedules), `context` (the handshake context below the states),
//! `client` / `server` (handshake states), `conn` (the sans-IO connection), `config`, `error`,
//! and `ffi` (the C ABI, the one module allowed to opt out
//! of `deny(unsafe_code)`; compiled only with the default `capi` feature, so a crate linking the
//! engine with `default-features = false` exports no `ferrotls_*` symbol).
#![deny(unsafe_code)]

pub mod certified;
mod client;
pub mod codec;
pub mod config;
pub mod conn;
mod context;
pub mod crypto;
pub mod error;
#[cfg(feature = "capi")]
#[allow(unsafe_code)]
pub mod ffi;
pub mod record;
pub mod select;
mod server;
pub mod session;
pub mod tls12;
pub mod tls13;
pub mod verify;
