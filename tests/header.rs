//! ABI checks: the committed header is current, compiles as C99 and C++, its version macros
//! match the crate, and the exported symbols match abi/symbols.txt and the header.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

include!("../abi/header_gen.rs");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed_header() -> String {
    std::fs::read_to_string(manifest_dir().join("include/ferrotls.h"))
        .expect("read include/ferrotls.h")
}

#[test]
fn header_is_not_stale() {
    let fresh =
        generate_header(&manifest_dir(), env!("CARGO_PKG_VERSION")).expect("generate header");
    assert!(
        fresh == committed_header(),
        "include/ferrotls.h is stale: run cargo build and commit it"
    );
}

const PROBE: &str = r#"#include "ferrotls.h"
#if FERROTLS_ABI_VERSION < 1
#error bad ABI macro
#endif
static int probe(void) {
    ferrotls_config_builder *b = NULL;
    ferrotls_result r = ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b);
    ferrotls_config_builder_free(b);
    return (int)r + (int)FERROTLS_VERSION_NUMBER;
}
int main(void) { return probe(); }
"#;

fn syntax_check(compiler: &str, file_name: &str, args: &[&str]) {
    let dir = std::env::temp_dir().join(format!("ferrotls-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(file_name);
    std::fs::write(&src, PROBE).unwrap();
    let out = Command::new(compiler)
        .args(args)
        .arg("-fsyntax-only")
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler} rejected include/ferrotls.h:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn header_compiles_as_c99() {
    syntax_check(
        "cc",
        "probe.c",
        &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"],
    );
}

#[test]
fn header_compiles_as_cpp() {
    syntax_check("c++", "probe.cpp", &["-Wall", "-Wextra", "-Werror"]);
}

fn macro_value(header: &str, name: &str) -> String {
    header
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("#define {name} missing from the header"))
        .trim()
        .to_string()
}

fn parse_int(s: &str) -> u32 {
    match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

#[test]
fn version_macros_match_crate() {
    let h = committed_header();
    let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap();
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap();
    let patch: u32 = env!("CARGO_PKG_VERSION_PATCH").parse().unwrap();
    assert_eq!(parse_int(&macro_value(&h, "FERROTLS_VERSION_MAJOR")), major);
    assert_eq!(parse_int(&macro_value(&h, "FERROTLS_VERSION_MINOR")), minor);
    assert_eq!(parse_int(&macro_value(&h, "FERROTLS_VERSION_PATCH")), patch);
    let number = parse_int(&macro_value(&h, "FERROTLS_VERSION_NUMBER"));
    assert_eq!(number, (major << 16) | (minor << 8) | patch);
    assert_eq!(number, ferrotls::ffi::ferrotls_version_number());
    assert_eq!(
        parse_int(&macro_value(&h, "FERROTLS_ABI_VERSION")),
        ferrotls::ffi::ferrotls_abi_version()
    );
    assert_eq!(FERROTLS_ABI, ferrotls::ffi::ferrotls_abi_version());
    // SAFETY: a static NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(ferrotls::ffi::ferrotls_version_string()) };
    assert_eq!(
        s.to_str().unwrap(),
        format!("ferrotls/{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn result_code_macros_match_rust() {
    use ferrotls::ffi::*;
    let h = committed_header();
    let table: &[(&str, u32)] = &[
        ("FERROTLS_OK", 0),
        ("FERROTLS_WANT_READ", 1),
        ("FERROTLS_WANT_WRITE", 2),
        ("FERROTLS_CLOSED", 3),
        ("FERROTLS_ERR_NULL_ARGUMENT", 100),
        ("FERROTLS_ERR_WRONG_HANDLE_TYPE", 107),
        ("FERROTLS_ERR_IO", 200),
        ("FERROTLS_ERR_UNEXPECTED_EOF", 201),
        ("FERROTLS_ERR_DECODE", 300),
        ("FERROTLS_ERR_CERTIFICATE_REQUIRED", 317),
        ("FERROTLS_ERR_CERT_EXPIRED", 400),
        ("FERROTLS_ERR_CERT_OTHER", 411),
        ("FERROTLS_ERR_CONFIG", 500),
        ("FERROTLS_ERR_FILE", 503),
        ("FERROTLS_ERR_INTERNAL", 900),
        ("FERROTLS_ERR_PANIC", 901),
        ("FERROTLS_ERR_ALERT_BASE", 1000),
    ];
    for (name, value) in table {
        assert_eq!(parse_int(&macro_value(&h, name)), *value, "{name}");
    }
    // Every code the library names is a macro of the same value in the header.
    for code in (0..1000).chain([1040]) {
        let name = unsafe { std::ffi::CStr::from_ptr(ferrotls_result_name(code)) }
            .to_str()
            .unwrap();
        if name == "FERROTLS_ERR_UNKNOWN" || name == "FERROTLS_ERR_ALERT_RECEIVED" {
            continue;
        }
        assert_eq!(parse_int(&macro_value(&h, name)), code, "{name}");
    }
}

/// The cdylib (target/<profile>/libferrotls.so). `cargo test` does not link it, so when it is
/// missing (or older than the test binary) we ask cargo to build it.
fn cdylib() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/header-xxxx -> target/<profile>
    let profile_dir = exe.parent()?.parent()?;
    let lib = profile_dir.join("libferrotls.so");
    let fresh = |lib: &Path| {
        let lib_time = std::fs::metadata(lib).and_then(|m| m.modified()).ok();
        let exe_time = std::fs::metadata(&exe).and_then(|m| m.modified()).ok();
        matches!((lib_time, exe_time), (Some(l), Some(e)) if l >= e)
    };
    if !fresh(&lib) {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--lib", "--quiet", "--manifest-path"])
            .arg(manifest_dir().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(profile_dir.parent()?);
        if profile_dir.file_name()? == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().ok()?;
        assert!(status.success(), "cargo build --lib failed");
    }
    lib.exists().then_some(lib)
}

fn exported_symbols(lib: &Path) -> BTreeSet<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib)
        .output()
        .expect("run nm");
    assert!(
        out.status.success(),
        "nm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("ferrotls_"))
        .map(str::to_owned)
        .collect()
}

fn header_functions(header: &str) -> BTreeSet<String> {
    // Declarations look like `<type> ferrotls_name(` at the start of a line (after the return type).
    header
        .lines()
        .filter(|l| {
            !l.starts_with(' ')
                && !l.starts_with("typedef")
                && !l.starts_with('#')
                && !l.starts_with("/*")
        })
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("ferrotls_").then(|| name.to_owned())
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn exported_symbols_match_abi_list() {
    let Some(lib) = cdylib() else {
        panic!("libferrotls.so not found next to the test binary; run `cargo build` first");
    };
    let exported = exported_symbols(&lib);
    let committed: BTreeSet<String> =
        std::fs::read_to_string(manifest_dir().join("abi/symbols.txt"))
            .expect("read abi/symbols.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
    let removed: Vec<_> = committed.difference(&exported).collect();
    let added: Vec<_> = exported.difference(&committed).collect();
    assert!(
        removed.is_empty() && added.is_empty(),
        "exported ferrotls_ symbols differ from abi/symbols.txt\n  removed (an ABI break: bump FERROTLS_ABI_VERSION): {removed:?}\n  added (append to abi/symbols.txt): {added:?}"
    );

    let declared = header_functions(&committed_header());
    assert!(
        declared.len() > 50,
        "parsed only {} functions from the header",
        declared.len()
    );
    let missing: Vec<_> = declared.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "declared in the header but not exported: {missing:?}"
    );
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "exported but not declared in the header: {undeclared:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn soname_is_abi_versioned() {
    let Some(lib) = cdylib() else {
        panic!("libferrotls.so not found next to the test binary; run `cargo build` first");
    };
    let out = Command::new("readelf")
        .arg("-d")
        .arg(&lib)
        .output()
        .expect("run readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!("[libferrotls.so.{}]", ferrotls::ffi::ferrotls_abi_version());
    assert!(
        text.lines()
            .any(|l| l.contains("(SONAME)") && l.contains(&want)),
        "SONAME {want} not found in readelf -d output:\n{text}"
    );
}
