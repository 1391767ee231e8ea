//! Fuzzing regressions, on stable and without a fuzzer: every committed seed (fuzz/seeds/) and
//! every crash input found by fuzzing (tests/data/fuzz/<target>/) is replayed through the very
//! harness code the fuzz targets run (fuzz/src/harness.rs is included below), so `cargo test`
//! keeps them fixed. See README.md, "Fuzzing".

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Replay every input of `target`: the seeds and the regression inputs. Returns how many.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("fuzz/seeds").join(target),
        root.join("tests/data/fuzz").join(target),
    ] {
        for f in files(&dir) {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{target}: {} fails", f.display());
            n += 1;
        }
    }
    n
}

#[test]
fn deframer_inputs() {
    assert!(replay("deframer", harness::deframer) > 0);
}

#[test]
fn handshake_message_inputs() {
    assert!(replay("handshake_messages", harness::handshake_messages) > 0);
}

#[test]
fn client_inputs() {
    assert!(replay("client", harness::client) > 0);
}

#[test]
fn server_inputs() {
    assert!(replay("server", harness::server) > 0);
}

#[test]
fn ffi_sequence_inputs() {
    assert!(replay("ffi_sequences", harness::ffi_sequences) > 0);
}
