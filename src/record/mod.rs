//! The Record Protocol: the deframer (bytes to records) and record protection.

pub mod cipher;
pub mod deframer;
