// Shared by build.rs and tests/header.rs (via `include!`): generates include/ferrotls.h.

/// The ABI version; the SONAME is `libferrotls.so.<ABI>`. Must equal `ffi::version::ABI_VERSION`.
#[allow(dead_code)]
const FERROTLS_ABI: u32 = 1;

/// Generate the header text from `src/ffi/` with `cbindgen.toml` and the crate version.
#[allow(dead_code)]
fn generate_header(manifest_dir: &std::path::Path, version: &str) -> Result<String, String> {
    let mut parts = version
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    let number = (major << 16) | (minor << 8) | patch;
    let mut config = cbindgen::Config::from_file(manifest_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    config.after_includes = Some(format!(
        "\n#define FERROTLS_VERSION_MAJOR {major}\n\
         #define FERROTLS_VERSION_MINOR {minor}\n\
         #define FERROTLS_VERSION_PATCH {patch}\n\
         /* (MAJOR << 16) | (MINOR << 8) | PATCH; compare with ferrotls_version_number() */\n\
         #define FERROTLS_VERSION_NUMBER {number:#08x}\n\
         #define FERROTLS_VERSION_STRING \"{version}\"\n\
         /* Bumped on any incompatible change; equals the SONAME suffix; compare with ferrotls_abi_version() */\n\
         #define FERROTLS_ABI_VERSION {FERROTLS_ABI}\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(manifest_dir.join("src/ffi/mod.rs"))
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| e.to_string())
}
