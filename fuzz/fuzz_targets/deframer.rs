#![no_main]
// See fuzz/src/harness.rs for the input format and the invariants checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrotls_fuzz::harness::deframer(data));
