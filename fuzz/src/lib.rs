//! Fuzz harnesses for ferrotls. The harness code lives in `harness.rs` so that the stable
//! regression tests (tests/fuzz_regressions.rs) can include the very same file.
pub mod corpus;
pub mod harness;
