//! Record protection.

pub mod cipher;
