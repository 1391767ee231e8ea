#!/usr/bin/env bash
# Run the C ABI thread-stress test (tests/ffi_stress.rs) with the crate and its dependencies
# instrumented by ThreadSanitizer. The stable toolchain accepts -Zsanitizer only with
# RUSTC_BOOTSTRAP=1, and the standard library stays uninstrumented (rust-src cannot be fetched
# here), so the ABI-mismatch check is relaxed; the runtime intercepts pthread and malloc. With
# std uninstrumented, a std Mutex's lock is invisible to TSan, so FERROTLS_TSAN=1 makes the test
# turn off the Mutex-guarded caches (session, ticket keys, verified chains).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTC_BOOTSTRAP=1
export FERROTLS_TSAN=1
export RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
exec cargo test --release --quiet --test ffi_stress --target "$target" --target-dir target/tsan -- --nocapture
