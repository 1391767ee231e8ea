//! Config builder (mutable, one thread at a time) and config (immutable, refcounted, shared).

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use crate::config::{Config, ConfigBuilder, KeyLog, Role, VerifyMode};
use crate::error::Error;
use pki_types::CertificateDer;

/// A mutable configuration builder (opaque). One thread at a time.
#[allow(non_camel_case_types)]
pub struct ferrotls_config_builder {
    _private: [u8; 0],
}

/// An immutable, reference-counted configuration (opaque). Usable from any number of threads.
#[allow(non_camel_case_types)]
pub struct ferrotls_config {
    _private: [u8; 0],
}

/// Role of a configuration: the connecting side.
pub const FERROTLS_ROLE_CLIENT: u32 = 1;
/// Role of a configuration: the accepting side.
pub const FERROTLS_ROLE_SERVER: u32 = 2;

/// Client (default): verify the server's chain and name.
pub const FERROTLS_VERIFY_SERVER: u32 = 1;
/// Client: accept ANY server certificate. Testing only: this disables authentication.
pub const FERROTLS_VERIFY_DANGEROUS_NO_VERIFY: u32 = 2;
/// Server (default): do not ask for a client certificate.
pub const FERROTLS_VERIFY_NO_CLIENT_AUTH: u32 = 3;
/// Server: ask for a client certificate, verify it if sent, allow none.
pub const FERROTLS_VERIFY_REQUEST_CLIENT_CERT: u32 = 4;
/// Server: require a verified client certificate.
pub const FERROTLS_VERIFY_REQUIRE_CLIENT_CERT: u32 = 5;

/// Key log callback: receives one NSS key log line (`LABEL <client_random hex> <secret hex>`,
/// NUL-terminated, no newline). `conn` is always NULL for the config-level callback. It may run
/// concurrently for different connections and must be thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_keylog_cb = Option<
    unsafe extern "C" fn(userdata: *mut c_void, conn: *const ferrotls_conn, line: *const c_char),
>;

type BuilderHandle = Handle<ConfigBuilder>;

/// The handle behind a `ferrotls_config *`.
#[repr(C)]
pub(crate) struct ConfigHandle {
    tag: u64,
    pub(crate) config: Arc<Config>,
}

impl ConfigHandle {
    fn into_raw(config: Arc<Config>) -> *mut ferrotls_config {
        Box::into_raw(Box::new(Self {
            tag: TAG_CONFIG,
            config,
        }))
        .cast()
    }
}

/// The `Arc<Config>` behind a config pointer.
///
/// # Safety
/// `p` is NULL or a live handle pointer from this library.
pub(crate) unsafe fn config_arc(p: *const ferrotls_config, arg: &str) -> FfiResult<Arc<Config>> {
    // SAFETY: forwarded caller guarantee.
    unsafe { check_tag(p.cast(), TAG_CONFIG, arg)? };
    // SAFETY: the tag says this is a live ConfigHandle.
    Ok(unsafe { &*p.cast::<ConfigHandle>() }.config.clone())
}

/// Lock a builder and run `f` on it.
///
/// # Safety
/// `b` is NULL or a live handle pointer from this library.
pub(crate) unsafe fn with_builder(
    b: *mut ferrotls_config_builder,
    f: impl FnOnce(&mut ConfigBuilder) -> FfiResult<()>,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: forwarded caller guarantee.
        let h = unsafe { BuilderHandle::from_ptr(b.cast(), TAG_BUILDER, "builder")? };
        let mut locked = h.lock("ferrotls_config_builder")?;
        f(&mut locked)?;
        Ok(FERROTLS_OK)
    })
}

pub(crate) fn engine<T>(r: Result<T, crate::error::Error>) -> FfiResult<T> {
    r.map_err(|e| Fail::engine(&e))
}

fn version_arg(v: u16, default: ProtocolVersion, arg: &str) -> FfiResult<ProtocolVersion> {
    match v {
        0 => Ok(default),
        0x0303 => Ok(ProtocolVersion::TLSv1_2),
        0x0304 => Ok(ProtocolVersion::TLSv1_3),
        other => Err(Fail::invalid(format!(
            "argument '{arg}' is {other:#06x}; supported versions are 0x0303 (TLS 1.2) and 0x0304 (TLS 1.3), or 0 for the default"
        ))),
    }
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

/// Parse an RFC 7301 ProtocolNameList body: `len byte, name, len byte, name, ...`
/// (the OpenSSL `SSL_CTX_set_alpn_protos` format, without the outer 2-byte length).
pub(crate) fn parse_alpn_wire(wire: &[u8]) -> FfiResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = wire;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len);
        if len == 0 || len > tail.len() {
            return Err(Fail::invalid(format!(
                "ALPN list is malformed at offset {}: each protocol is a length byte (1-255) and that many bytes",
                wire.len() - rest.len()
            )));
        }
        out.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    Ok(out)
}

/// Create a config builder for `role` (`FERROTLS_ROLE_CLIENT` or `FERROTLS_ROLE_SERVER`).
/// `*out` receives the builder (NULL on failure); free it with `ferrotls_config_builder_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_new(
    role: u32,
    out: *mut *mut ferrotls_config_builder,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out` is NULL or writable per the API contract.
        let out = unsafe { out_param(out, std::ptr::null_mut(), "out")? };
        let role = match role {
            FERROTLS_ROLE_CLIENT => Role::Client,
            FERROTLS_ROLE_SERVER => Role::Server,
            other => {
                return Err(Fail::invalid(format!(
                    "argument 'role' is {other}; use FERROTLS_ROLE_CLIENT (1) or FERROTLS_ROLE_SERVER (2)"
                )));
            }
        };
        *out = BuilderHandle::new_raw(TAG_BUILDER, ConfigBuilder::new(role)).cast();
        Ok(FERROTLS_OK)
    })
}

/// Free a builder (always required, even after `build`). NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_free(builder: *mut ferrotls_config_builder) {
    ffi_value((), || {
        // SAFETY: `builder` is NULL or a live builder per the API contract.
        unsafe { BuilderHandle::free(builder.cast(), TAG_BUILDER, "builder") }
    })
}

/// Set the protocol version range: 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3); 0 = default
/// (min TLS 1.2, max TLS 1.3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_versions(
    builder: *mut ferrotls_config_builder,
    min: u16,
    max: u16,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or a live builder per the API contract.
    unsafe {
        with_builder(builder, |b| {
            let min = version_arg(min, ProtocolVersion::TLSv1_2, "min")?;
            let max = version_arg(max, ProtocolVersion::TLSv1_3, "max")?;
            if min.to_int() > max.to_int() {
                return Err(Fail::invalid(format!(
                    "minimum version {min} is above maximum version {max}"
                )));
            }
            engine(b.set_versions(min, max))
        })
    }
}

/// Set the cipher suites, in preference order, as IANA numbers (0x1301 = TLS_AES_128_GCM_SHA256).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_cipher_suites(
    builder: *mut ferrotls_config_builder,
    ids: *const u16,
    n: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `ids` is NULL or has `n` readable u16.
    unsafe {
        with_builder(builder, |b| {
            let ids = u16_slice(ids, n, "ids")?;
            let suites: Vec<CipherSuite> = ids.iter().map(|&v| CipherSuite::from(v)).collect();
            engine(b.set_cipher_suites(&suites))
        })
    }
}

/// Set the cipher suites from a list like "TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256"
/// (IANA or OpenSSL names, separated by ':').
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_cipher_list(
    builder: *mut ferrotls_config_builder,
    list: *const c_char,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `list` is NULL or NUL-terminated.
    unsafe {
        with_builder(builder, |b| {
            let list = in_str(list, "list")?;
            engine(b.set_cipher_list(list))
        })
    }
}

/// Set the key-exchange groups, in preference order, as IANA numbers (0x001d = X25519;
/// the post-quantum 0x11ec = X25519MLKEM768, 0x11eb = SecP256r1MLKEM768, 0x11ed =
/// SecP384r1MLKEM1024, 0x0202 = MLKEM1024, TLS 1.3 only). The default is X25519MLKEM768,
/// X25519, P-256, P-384, a client sending key shares for the first two.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_groups(
    builder: *mut ferrotls_config_builder,
    ids: *const u16,
    n: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `ids` is NULL or has `n` readable u16.
    unsafe {
        with_builder(builder, |b| {
            let ids = u16_slice(ids, n, "ids")?;
            let groups: Vec<NamedGroup> = ids.iter().map(|&v| NamedGroup::from(v)).collect();
            engine(b.set_groups(&groups))
        })
    }
}

/// Set the key-exchange groups from a list like "X25519MLKEM768:X25519:P-256": IANA names as
/// OpenSSL 3.5 spells them (case-insensitive; X25519MLKEM768, SecP256r1MLKEM768,
/// SecP384r1MLKEM1024, MLKEM1024, X25519, P-256 or secp256r1 or prime256v1, P-384 or secp384r1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_group_list(
    builder: *mut ferrotls_config_builder,
    list: *const c_char,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `list` is NULL or NUL-terminated.
    unsafe {
        with_builder(builder, |b| {
            let list = in_str(list, "list")?;
            engine(b.set_group_list(list))
        })
    }
}

/// Set the ALPN protocols in RFC 7301 wire form without the outer length, as OpenSSL's
/// `SSL_CTX_set_alpn_protos`: "\x02h2\x08http/1.1". `(NULL, 0)` clears the list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_alpn(
    builder: *mut ferrotls_config_builder,
    wire: *const u8,
    len: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `wire` is NULL or has `len` readable bytes.
    unsafe {
        with_builder(builder, |b| {
            let protos = parse_alpn_wire(in_slice(wire, len, "wire")?)?;
            engine(b.set_alpn(&protos))
        })
    }
}

/// Set the ALPN protocols from a comma-separated list, e.g. "h2,http/1.1".
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_alpn_list(
    builder: *mut ferrotls_config_builder,
    csv: *const c_char,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `csv` is NULL or NUL-terminated.
    unsafe {
        with_builder(builder, |b| {
            let csv = in_str(csv, "csv")?;
            engine(b.set_alpn_list(csv))
        })
    }
}

/// Add trust anchors from PEM text (one or more CERTIFICATE blocks). The data is copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_add_roots_pem(
    builder: *mut ferrotls_config_builder,
    pem: *const u8,
    len: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `pem` is NULL or has `len` readable bytes.
    unsafe {
        with_builder(builder, |b| {
            let pem = in_slice(pem, len, "pem")?;
            engine(b.add_roots_pem(pem)).map(drop)
        })
    }
}

/// Add trust anchors from a PEM file, or from every file in a directory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_add_roots_file(
    builder: *mut ferrotls_config_builder,
    path: *const c_char,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `path` is NULL or NUL-terminated.
    unsafe {
        with_builder(builder, |b| {
            let path = in_str(path, "path")?;
            engine(b.add_roots_path(Path::new(path))).map(drop)
        })
    }
}

/// Add the operating system's trust anchors.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_add_system_roots(
    builder: *mut ferrotls_config_builder,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe { with_builder(builder, |b| engine(b.add_system_roots()).map(drop)) }
}

/// Add a certificate chain (PEM, leaf first) and its private key (PEM). Repeatable: a server
/// picks by SNI. A key that does not match the leaf gives `FERROTLS_ERR_KEY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_add_cert_key_pem(
    builder: *mut ferrotls_config_builder,
    chain: *const u8,
    chain_len: usize,
    key: *const u8,
    key_len: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `chain`/`key` are NULL or readable for their lengths.
    unsafe {
        with_builder(builder, |b| {
            let chain = in_slice(chain, chain_len, "chain")?;
            let key = in_slice(key, key_len, "key")?;
            engine(b.add_cert_key_pem(chain, key))
        })
    }
}

/// Add a certificate chain and its private key from PEM files.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_add_cert_key_file(
    builder: *mut ferrotls_config_builder,
    chain_path: *const c_char,
    key_path: *const c_char,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; the paths are NULL or NUL-terminated.
    unsafe {
        with_builder(builder, |b| {
            let chain = in_str(chain_path, "chain_path")?;
            let key = in_str(key_path, "key_path")?;
            engine(b.add_cert_key_files(Path::new(chain), Path::new(key)))
        })
    }
}

/// Set the verification mode (`FERROTLS_VERIFY_*`). Client: `SERVER` (default) or
/// `DANGEROUS_NO_VERIFY`; server: `NO_CLIENT_AUTH` (default), `REQUEST_CLIENT_CERT` or
/// `REQUIRE_CLIENT_CERT`. A mode of the other role gives `FERROTLS_ERR_WRONG_ROLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_verify(
    builder: *mut ferrotls_config_builder,
    mode: u32,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let (mode, role) = verify_mode_from_c(mode)?;
            if b.role() != role {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    format!(
                        "verify mode {mode:?} is for a {} configuration, but this builder is for a {}",
                        role_name(role),
                        role_name(b.role())
                    ),
                ));
            }
            engine(b.set_verify_mode(mode))
        })
    }
}

/// A `FERROTLS_VERIFY_*` value as the engine's mode and the role it belongs to.
pub(crate) fn verify_mode_from_c(mode: u32) -> FfiResult<(VerifyMode, Role)> {
    Ok(match mode {
        FERROTLS_VERIFY_SERVER => (VerifyMode::VerifyServer, Role::Client),
        FERROTLS_VERIFY_DANGEROUS_NO_VERIFY => (VerifyMode::DangerousNoVerify, Role::Client),
        FERROTLS_VERIFY_NO_CLIENT_AUTH => (VerifyMode::NoClientAuth, Role::Server),
        FERROTLS_VERIFY_REQUEST_CLIENT_CERT => (VerifyMode::RequestClientCert, Role::Server),
        FERROTLS_VERIFY_REQUIRE_CLIENT_CERT => (VerifyMode::RequireClientCert, Role::Server),
        other => {
            return Err(Fail::invalid(format!(
                "argument 'mode' is {other}, not a FERROTLS_VERIFY_* value"
            )));
        }
    })
}

/// Append NSS key log lines to the file at `path` (never implicit from the environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_keylog_file(
    builder: *mut ferrotls_config_builder,
    path: *const c_char,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live; `path` is NULL or NUL-terminated.
    unsafe {
        with_builder(builder, |b| {
            let path = in_str(path, "path")?;
            engine(b.set_keylog_file(Path::new(path)))
        })
    }
}

/// A key log sink that forwards NSS lines to a C callback.
struct CKeyLog {
    cb: unsafe extern "C" fn(*mut c_void, *const ferrotls_conn, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: the header documents that the key log callback and its userdata must be usable from
// any thread, concurrently; we only pass the pointer back to that callback.
unsafe impl Send for CKeyLog {}
// SAFETY: as above; `log` takes `&self` and only reads the two fields.
unsafe impl Sync for CKeyLog {}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl KeyLog for CKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = to_cstring(&format!("{label} {} {}", hex(client_random), hex(secret)));
        // SAFETY: the callback was supplied by the user for this purpose; the line is a valid
        // NUL-terminated string for the duration of the call, and conn is documented as NULL.
        unsafe { (self.cb)(self.userdata, std::ptr::null(), line.as_ptr()) }
    }
}

/// Send every secret to `cb` as an NSS key log line; NULL `cb` removes the callback. The line is
/// valid only during the call. `conn` is NULL (config-level). The callback must be thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_keylog_callback(
    builder: *mut ferrotls_config_builder,
    cb: ferrotls_keylog_cb,
    userdata: *mut c_void,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let sink = cb.map(|cb| Arc::new(CKeyLog { cb, userdata }) as Arc<dyn KeyLog>);
            b.set_keylog(sink);
            Ok(())
        })
    }
}

// ---- seams: verify callback, ALPN select callback ----------------------------------------

/// Certificate verify callback: the final verdict on the peer's chain. `certs[i]` (of length
/// `cert_lens[i]`, DER) for `i < n` is the chain as the peer sent it, its own certificate
/// first; `n` is 0 when a client sent no certificate. `server_name` is the name a client
/// verifies the server against (NULL on a server). `builtin_result` is the built-in verdict
/// (`FERROTLS_OK`, or the error code it would fail with, e.g.
/// `FERROTLS_ERR_CERT_UNKNOWN_ISSUER`) and `builtin_detail` its detail ("" when OK). Return
/// `FERROTLS_OK` to accept, `builtin_result` to keep the built-in verdict, or another error code
/// to refuse (a 400s certificate code sends its alert, e.g. `FERROTLS_ERR_CERT_OTHER`:
/// bad_certificate). Every pointer is valid only during the call. The handshake signature is
/// checked by the library whatever the callback returns. It may run concurrently for different
/// connections and must be thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_verify_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        certs: *const *const u8,
        cert_lens: *const usize,
        n: usize,
        server_name: *const c_char,
        builtin_result: ferrotls_result,
        builtin_detail: *const c_char,
    ) -> ferrotls_result,
>;

/// ALPN select callback return: speak `*out` (`*out_len` bytes, one of the offered protocols).
pub const FERROTLS_ALPN_SELECT: i32 = 0;
/// ALPN select callback return: go on without ALPN.
pub const FERROTLS_ALPN_NONE: i32 = 1;
/// ALPN select callback return: refuse the handshake (no_application_protocol alert).
pub const FERROTLS_ALPN_REFUSE: i32 = 2;

/// ALPN select callback (server): choose from the client's protocols, `offered_wire` being
/// `len` bytes in the wire form of `ferrotls_config_builder_set_alpn` ("\x02h2\x08http/1.1").
/// Return `FERROTLS_ALPN_SELECT` with `*out`/`*out_len` set to the chosen name (it may point
/// into `offered_wire`; it must stay valid until the callback returns, the library copies it),
/// `FERROTLS_ALPN_NONE` or `FERROTLS_ALPN_REFUSE`. Called only when the client offered ALPN.
/// Must be thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_alpn_select_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        offered_wire: *const u8,
        len: usize,
        out: *mut *const u8,
        out_len: *mut usize,
    ) -> i32,
>;

/// The engine error a C verify callback's refusal code stands for.
pub(crate) fn refusal_of(code: ferrotls_result) -> Error {
    use crate::error::CertErrorKind as K;
    let detail = format!(
        "the verify callback refused the chain with {}",
        name(code).to_string_lossy()
    );
    let kind = match code {
        FERROTLS_ERR_CERT_EXPIRED => K::Expired,
        FERROTLS_ERR_CERT_NOT_YET_VALID => K::NotYetValid,
        FERROTLS_ERR_CERT_UNKNOWN_ISSUER => K::UnknownIssuer,
        FERROTLS_ERR_CERT_NAME_MISMATCH => K::NameMismatch,
        FERROTLS_ERR_CERT_BAD_SIGNATURE => K::BadSignature,
        FERROTLS_ERR_CERT_BAD_ENCODING => K::BadEncoding,
        FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM => K::UnsupportedAlgorithm,
        FERROTLS_ERR_CERT_INVALID_PURPOSE => K::InvalidPurpose,
        FERROTLS_ERR_CERT_NOT_CA => K::NotCa,
        FERROTLS_ERR_CERT_REVOKED => K::Revoked,
        FERROTLS_ERR_CERT_MISSING => K::Missing,
        FERROTLS_ERR_CERTIFICATE_REQUIRED => return Error::CertificateRequired(detail),
        FERROTLS_ERR_HANDSHAKE_FAILURE => {
            return Error::peer(crate::error::Reason::RefusedByCallback, detail);
        }
        FERROTLS_ERR_INTERNAL | FERROTLS_ERR_PANIC => return Error::Internal(detail),
        _ => K::Other,
    };
    Error::cert(kind, detail)
}

/// A verifier (either role) that asks a C callback.
#[derive(Debug)]
struct CVerify {
    cb: unsafe extern "C" fn(
        *mut c_void,
        *const *const u8,
        *const usize,
        usize,
        *const c_char,
        ferrotls_result,
        *const c_char,
    ) -> ferrotls_result,
    userdata: *mut c_void,
}

// SAFETY: the header documents that the verify callback and its userdata must be usable from any
// thread, concurrently; we only pass the pointer back to that callback.
unsafe impl Send for CVerify {}
// SAFETY: as above; `ask` takes `&self` and only reads the two fields.
unsafe impl Sync for CVerify {}

impl CVerify {
    fn ask(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: Option<&str>,
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        let run = || {
            let ptrs: Vec<*const u8> = chain.iter().map(|c| c.as_ref().as_ptr()).collect();
            let lens: Vec<usize> = chain.iter().map(|c| c.as_ref().len()).collect();
            let name = server_name.map(to_cstring);
            let (code, detail) = match builtin {
                Ok(()) => (FERROTLS_OK, to_cstring("")),
                Err(e) => (code_of(e), to_cstring(&e.to_string())),
            };
            // SAFETY: the callback was supplied for this purpose; every pointer passed is valid
            // (the arrays hold `chain.len()` entries, the strings are NUL-terminated) for the
            // duration of the call.
            let r = unsafe {
                (self.cb)(
                    self.userdata,
                    ptrs.as_ptr(),
                    lens.as_ptr(),
                    chain.len(),
                    name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                    code,
                    detail.as_ptr(),
                )
            };
            match r {
                FERROTLS_OK => Ok(()),
                r if r == code => builtin.clone(),
                r => Err(refusal_of(r)),
            }
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
            Err(Error::Internal(
                "a panic was caught around the verify callback".into(),
            ))
        })
    }
}

impl crate::verify::ServerCertVerifier for CVerify {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: &str,
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        self.ask(chain, Some(server_name), builtin)
    }
}

impl crate::verify::ClientCertVerifier for CVerify {
    fn verify_client_cert(
        &self,
        chain: &[CertificateDer<'_>],
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        self.ask(chain, None, builtin)
    }
}

/// Have `cb` give the final verdict on the peer's certificate chain, after the built-in check
/// (see `ferrotls_verify_cb`). A client's callback judges the server's chain (not consulted
/// with `FERROTLS_VERIFY_DANGEROUS_NO_VERIFY`); a server's judges the client's chain when its
/// verify mode asks for one. With a callback set, no trust anchors are required. `cb` must not
/// be NULL. `userdata` is passed back to `cb`; it must stay valid as long as any config built
/// from this builder (or a connection made from one) lives.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_verify_callback(
    builder: *mut ferrotls_config_builder,
    cb: ferrotls_verify_cb,
    userdata: *mut c_void,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let cb = cb.ok_or_else(|| Fail::null("cb"))?;
            let v = Arc::new(CVerify { cb, userdata });
            engine(match b.role() {
                Role::Client => b.set_server_cert_verifier(v),
                Role::Server => b.set_client_cert_verifier(v),
            })
        })
    }
}

/// An ALPN selector that asks a C callback.
struct CAlpn {
    cb: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut *const u8, *mut usize) -> i32,
    userdata: *mut c_void,
}

// SAFETY: the header documents that the ALPN callback and its userdata must be usable from any
// thread, concurrently; we only pass the pointer back to that callback.
unsafe impl Send for CAlpn {}
// SAFETY: as above; `select` takes `&self` and only reads the two fields.
unsafe impl Sync for CAlpn {}

impl crate::select::AlpnSelector for CAlpn {
    fn select(&self, offered: &[Vec<u8>]) -> crate::select::AlpnChoice {
        use crate::select::AlpnChoice;
        let run = || {
            let wire = alpn_to_wire(offered);
            let mut out: *const u8 = std::ptr::null();
            let mut out_len: usize = 0;
            // SAFETY: the callback was supplied for this purpose; `wire` is readable and the two
            // out-pointers writable for the duration of the call.
            let r = unsafe {
                (self.cb)(
                    self.userdata,
                    wire.as_ptr(),
                    wire.len(),
                    &mut out,
                    &mut out_len,
                )
            };
            match r {
                FERROTLS_ALPN_SELECT if !out.is_null() && (1..=255).contains(&out_len) => {
                    // SAFETY: the callback promises `out_len` readable bytes at `out`, valid
                    // until it returned (we are still inside the call's lifetime contract).
                    AlpnChoice::Select(unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec())
                }
                // A selection the client cannot have offered: the engine reports it.
                FERROTLS_ALPN_SELECT => AlpnChoice::Select(Vec::new()),
                FERROTLS_ALPN_NONE => AlpnChoice::None,
                _ => AlpnChoice::Refuse,
            }
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or(AlpnChoice::Refuse)
    }
}

/// Server: have `cb` choose the ALPN protocol from the client's offers instead of the list from
/// `ferrotls_config_builder_set_alpn` (see `ferrotls_alpn_select_cb`). `cb` must not be NULL.
/// `userdata` is passed back to `cb`; it must stay valid as long as any config built from this
/// builder (or a connection made from one) lives.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_alpn_select_callback(
    builder: *mut ferrotls_config_builder,
    cb: ferrotls_alpn_select_cb,
    userdata: *mut c_void,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let cb = cb.ok_or_else(|| Fail::null("cb"))?;
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "an ALPN select callback is for a server configuration; this builder is for a client",
                ));
            }
            engine(b.set_alpn_selector(Arc::new(CAlpn { cb, userdata })))
        })
    }
}

/// Bound the plaintext and ciphertext buffered per connection, in bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_buffer_limit(
    builder: *mut ferrotls_config_builder,
    bytes: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe { with_builder(builder, |b| engine(b.set_buffer_limit(bytes))) }
}

/// Number of TLS 1.3 session tickets a server sends after a full handshake (server only;
/// default 2, at most 16, 0 for none). After a resumed handshake it sends at most one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_tls13_tickets(
    builder: *mut ferrotls_config_builder,
    count: u32,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "ferrotls_config_builder_set_tls13_tickets is for server configurations only",
                ));
            }
            engine(b.set_tls13_tickets(count))
        })
    }
}

/// Size of the session cache; 0 turns it off. Server: TLS 1.2 sessions by session ID
/// (default 256). Client: sessions by server name (default 256), so a later connection from
/// the same configuration to the same name resumes on its own. Oldest entries go first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_session_cache(
    builder: *mut ferrotls_config_builder,
    max_entries: usize,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe { with_builder(builder, |b| engine(b.set_session_cache(max_entries))) }
}

/// Server: lifetime of session tickets (TLS 1.2 and 1.3) and cached sessions, in seconds
/// (default 7200, at most 604800; 0 turns tickets off). The ticket key rotates with the same
/// period; a ticket sealed two periods ago falls back to a full handshake. With
/// `ferrotls_config_builder_set_ticket_callbacks`, the lifetime given there applies instead.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_ticket_lifetime(
    builder: *mut ferrotls_config_builder,
    seconds: u32,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "ferrotls_config_builder_set_ticket_lifetime is for server configurations only",
                ));
            }
            engine(b.set_ticket_lifetime(seconds))
        })
    }
}

/// Require the TLS 1.2 Extended Master Secret extension (RFC 7627) from the peer: `true`
/// (the default) refuses a legacy TLS 1.2 peer without it; `false` admits one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_require_extended_master_secret(
    builder: *mut ferrotls_config_builder,
    require: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            b.set_require_extended_master_secret(require);
            Ok(())
        })
    }
}

/// Keep (`true`, the default) or skip the verified-chain cache: a peer chain that already
/// verified for the same name is not re-verified until its earliest notAfter or an hour
/// passes. The peer's CertificateVerify signature is checked on every handshake either way.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_verified_chain_cache(
    builder: *mut ferrotls_config_builder,
    enabled: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            b.set_verified_chain_cache(enabled);
            Ok(())
        })
    }
}

/// TLS 1.2 suite choice on a server: `true` follows the client's preference order, `false`
/// (the default) our own.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_prefer_client_ciphers(
    builder: *mut ferrotls_config_builder,
    prefer_client: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "ferrotls_config_builder_set_prefer_client_ciphers is for server configurations only",
                ));
            }
            b.set_prefer_client_ciphers(prefer_client);
            Ok(())
        })
    }
}

/// TLS 1.3 post-handshake authentication (RFC 8446 §4.6.2, "Handshake Again"; default
/// `false`), both roles, as Python's `SSLContext.post_handshake_auth`.
///
/// Client: offer it (the post_handshake_auth extension) and answer a server's later
/// certificate request with the configured certificate (an empty one when there is none),
/// inside whichever `ferrotls_conn_feed` / `ferrotls_conn_read` processes the request; the
/// answer is queued like any other outgoing data.
///
/// Server: ask for no client certificate in the handshake, but when the application calls
/// `ferrotls_conn_request_client_certificate` (TLS 1.3 post-handshake authentication, which
/// the client must have offered; TLS 1.2 a secure renegotiation), and check the answer with
/// the verification mode (`FERROTLS_VERIFY_REQUEST_CLIENT_CERT` or
/// `FERROTLS_VERIFY_REQUIRE_CLIENT_CERT`, with trust anchors). A server that requires a
/// certificate thus completes the handshake without one: it must ask before it serves what
/// needs one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_post_handshake_auth(
    builder: *mut ferrotls_config_builder,
    enable: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            b.set_post_handshake_auth(enable);
            Ok(())
        })
    }
}

/// TLS 1.2 renegotiation at all (Handshake Again, RFC 5746 secure renegotiation only;
/// default `true`), both roles. A client answers a server's HelloRequest with a new handshake,
/// as OpenSSL does, and may start one (`ferrotls_conn_renegotiate`); with `false` it declines
/// with a no_renegotiation warning and the connection goes on. A server may ask for one
/// (`ferrotls_conn_renegotiate`, `ferrotls_conn_request_client_certificate` in TLS 1.2);
/// with `false` both are `FERROTLS_ERR_WRONG_STATE`. Only a peer that showed RFC 5746 support
/// renegotiates, at most `MAX_RENEGOTIATIONS_PER_MINUTE` (10) times a minute.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_renegotiation(
    builder: *mut ferrotls_config_builder,
    allow: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            b.set_renegotiation(allow);
            Ok(())
        })
    }
}

/// Server only: accept a TLS 1.2 renegotiation the client starts (default `false`: declined
/// with a no_renegotiation warning, the connection goes on, as OpenSSL 3 does without
/// SSL_OP_ALLOW_CLIENT_RENEGOTIATION). Each costs the server a full handshake.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_client_renegotiation(
    builder: *mut ferrotls_config_builder,
    allow: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "ferrotls_config_builder_set_client_renegotiation is for server \
                     configurations only (a client's answer to a server is \
                     ferrotls_config_builder_set_renegotiation)",
                ));
            }
            b.set_client_renegotiation(allow);
            Ok(())
        })
    }
}

/// Whether the peer may present another certificate in a TLS 1.2 renegotiation than in the
/// handshake before (default `false`: that handshake fails with
/// reason "PEER_CERTIFICATE_CHANGED" (`ferrotls_conn_error_reason`), closing the triple-handshake class of
/// attacks). A client that had none may always present a first one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_peer_certificate_change(
    builder: *mut ferrotls_config_builder,
    allow: bool,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            b.set_peer_certificate_change(allow);
            Ok(())
        })
    }
}

/// Build an immutable config. The builder stays valid (and must still be freed). `*out`
/// receives a config with one reference (NULL on failure); release it with `ferrotls_config_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_build(
    builder: *const ferrotls_config_builder,
    out: *mut *mut ferrotls_config,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out` is NULL or writable per the API contract.
        let out = unsafe { out_param(out, std::ptr::null_mut(), "out")? };
        // SAFETY: `builder` is NULL or a live builder.
        let h = unsafe { BuilderHandle::from_ptr(builder.cast(), TAG_BUILDER, "builder")? };
        let locked = h.lock("ferrotls_config_builder")?;
        let config = engine(locked.build())?;
        *out = ConfigHandle::into_raw(config);
        Ok(FERROTLS_OK)
    })
}

/// Take another reference to a config: returns a new handle (NULL on failure, see
/// `ferrotls_last_error_detail`) that must be freed separately.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_clone(
    config: *const ferrotls_config,
) -> *mut ferrotls_config {
    ffi_value(std::ptr::null_mut(), || {
        // SAFETY: `config` is NULL or a live config.
        let arc = unsafe { config_arc(config, "config")? };
        Ok(ConfigHandle::into_raw(arc))
    })
}

/// The role of a config: `FERROTLS_ROLE_CLIENT` or `FERROTLS_ROLE_SERVER` (0 on a bad handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_role(config: *const ferrotls_config) -> u32 {
    ffi_value(0, || {
        // SAFETY: `config` is NULL or a live config.
        let arc = unsafe { config_arc(config, "config")? };
        Ok(match arc.role() {
            Role::Client => FERROTLS_ROLE_CLIENT,
            Role::Server => FERROTLS_ROLE_SERVER,
        })
    })
}

/// Release one config handle. Connections hold their own reference, so a config may be freed
/// while connections made from it live on. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_free(config: *mut ferrotls_config) {
    ffi_value((), || {
        if config.is_null() {
            return Ok(());
        }
        // SAFETY: `config` is a live config per the API contract.
        unsafe { check_tag(config.cast(), TAG_CONFIG, "config")? };
        let raw = config.cast::<ConfigHandle>();
        // SAFETY: live ConfigHandle from Box::into_raw; poisoned then reclaimed exactly once.
        unsafe {
            (*raw).tag = TAG_FREED;
            drop(Box::from_raw(raw));
        }
        Ok(())
    })
}

/// A `(pointer, count)` array of u16; `(NULL, 0)` is empty.
///
/// # Safety
/// If `p` is not NULL it points to `n` readable, aligned u16 values valid for `'a`.
unsafe fn u16_slice<'a>(p: *const u16, n: usize, arg: &str) -> FfiResult<&'a [u16]> {
    if p.is_null() {
        return if n == 0 {
            Ok(&[])
        } else {
            Err(Fail::null(arg))
        };
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<u16>()) || n > isize::MAX as usize / 2 {
        return Err(Fail::invalid(format!(
            "argument '{arg}' is misaligned or too long"
        )));
    }
    // SAFETY: non-NULL, aligned, caller guarantees `n` readable values.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_wire() {
        assert_eq!(
            parse_alpn_wire(b"\x02h2\x08http/1.1").unwrap(),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(parse_alpn_wire(b"\x00").is_err());
        assert!(parse_alpn_wire(b"\x05h2").is_err());
        assert!(parse_alpn_wire(b"").unwrap().is_empty());
    }
}
