//! The C ABI is a layer other artifacts can leave out: a cdylib that links the engine with
//! `default-features = false` (as openssl-compat/'s libssl.so.3 will) exports its own symbols
//! and no `ferrotls_*` one. tests/no-capi/ is such a cdylib (one export, `probe`, that drives the
//! engine); it is built into target/no-capi/ and its dynamic symbols read with `nm`. The control
//! builds the same cdylib with `--features capi` and sees the ferrotls_* symbols, so the check
//! cannot pass by reading nothing. (That libferrotls.so itself exports exactly abi/symbols.txt
//! is tests/header.rs.) Cold, the first run compiles the engine and its dependencies once more
//! (about 85 s here, cbindgen included for the control); warm, about 2 s, or 10-20 s after an
//! engine source change (the engine is recompiled twice, without and with `capi`).
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/ of the build running this test (target/<profile>/deps/layering-xxxx -> target).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir().join("target"))
}

fn nm_available() -> bool {
    Command::new("nm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Build tests/no-capi/ (with `--features capi` when `capi`) and return its dynamic symbols.
fn probe_exports(capi: bool) -> BTreeSet<String> {
    let out_dir = target_dir().join("no-capi");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--manifest-path"])
        .arg(manifest_dir().join("tests/no-capi/Cargo.toml"))
        .arg("--target-dir")
        .arg(&out_dir);
    if capi {
        cmd.args(["--features", "capi"]);
    }
    let started = std::time::Instant::now();
    let status = cmd.status().expect("run cargo");
    assert!(status.success(), "cargo build of tests/no-capi failed");
    eprintln!(
        "tests/no-capi (capi {}): built in {:.1?}",
        if capi { "on" } else { "off" },
        started.elapsed()
    );

    let lib = out_dir.join("debug/libferrotls_no_capi_probe.so");
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
        .expect("run nm");
    assert!(
        out.status.success(),
        "nm {} failed: {}",
        lib.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(str::to_owned)
        .collect()
}

#[test]
fn cdylib_without_capi_exports_no_ferrotls_symbols() {
    if !nm_available() {
        eprintln!("skipped: nm (binutils) not found");
        return;
    }
    // Sequential on purpose: both builds write the same target/no-capi/debug/ outputs.
    let without = probe_exports(false);
    assert!(
        without.contains("probe"),
        "the probe cdylib does not export `probe`: {without:?}"
    );
    let leaked: Vec<_> = without
        .iter()
        .filter(|s| s.starts_with("ferrotls_"))
        .collect();
    assert!(
        leaked.is_empty(),
        "a cdylib linking ferrotls with default-features = false exports C ABI symbols: {leaked:?}"
    );

    let with = probe_exports(true);
    assert!(
        with.contains("probe") && with.contains("ferrotls_version_number"),
        "control: with --features capi the ferrotls_* symbols should be exported, got {} symbols",
        with.len()
    );
}
