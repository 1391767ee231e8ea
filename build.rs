//! Generates include/ferrotls.h with cbindgen (rewritten only when it changed) and sets the
//! Linux SONAME. A cbindgen failure is a warning, never a build failure.
//!
//! Both only with the `capi` feature (the default; cbindgen is an optional build-dependency of
//! it). Without the feature the crate has no C ABI and this script does nothing: a cdylib that
//! links the engine (openssl-compat/'s libssl.so.3) has its own SONAME and exports.

#[cfg(feature = "capi")]
include!("abi/header_gen.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "capi")]
    capi();
}

#[cfg(feature = "capi")]
fn capi() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=abi/header_gen.rs");

    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libferrotls.so.{FERROTLS_ABI}");
    }

    let manifest_dir =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    match generate_header(&manifest_dir, &version) {
        Ok(text) => {
            let path = manifest_dir.join("include/ferrotls.h");
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                let written = std::fs::create_dir_all(manifest_dir.join("include"))
                    .and_then(|()| std::fs::write(&path, &text));
                if let Err(e) = written {
                    println!("cargo:warning=could not write {}: {e}", path.display());
                }
            }
        }
        Err(e) => println!("cargo:warning=include/ferrotls.h not regenerated: {e}"),
    }
}
