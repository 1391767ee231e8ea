//! The C callbacks behind the session seams: an external session store (`session.rs`
//! ServerSessionStore / ClientSessionStore), the certificate-selection callback with its
//! refcounted `ferrotls_certified_key` (`select.rs` CertResolver) and the ticket seal/open
//! callbacks (`session.rs` TicketSealer).

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::*;
use crate::config::{CertifiedKey, Role};

// ---- Session store seam (session.rs: ServerSessionStore / ClientSessionStore) ----------------

/// Session store callback: remember `value` under `key`. Server configurations: `key` is a TLS
/// 1.2 session ID (32 bytes) and `value` the engine's serialized session. Client
/// configurations: `key` is the server name (not NUL-terminated) and `value` a session blob
/// (as from `ferrotls_conn_get_session`). Both pointers are valid only during the call; the
/// value holds the session's secret. Return nonzero when stored, 0 when not. It may run
/// concurrently for different connections and must be thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_session_put_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> i32,
>;

/// Session store callback: look up `key` (as for `ferrotls_session_put_cb`). Return 0 when
/// nothing is stored. Otherwise return the value's length, having copied it to `buf` when it
/// fits in `cap` bytes; when it does not fit, copy nothing and return its length: the engine
/// calls once more with a buffer that large (at most `FERROTLS_MAX_SESSION_VALUE` bytes;
/// anything larger counts as absent). It may run concurrently and must be thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_session_get_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        buf: *mut u8,
        cap: usize,
    ) -> usize,
>;

/// The largest session value a `ferrotls_session_get_cb` may return, in bytes.
pub const FERROTLS_MAX_SESSION_VALUE: usize = 65536;
const _: () = assert!(FERROTLS_MAX_SESSION_VALUE == crate::session::MAX_SESSION_BLOB);

/// The buffer the engine first offers a `ferrotls_session_get_cb`.
const FIRST_GET_CAP: usize = 4096;

type CPutFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *const u8, usize) -> i32;
type CGetFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize) -> usize;

/// A session store over two C callbacks.
struct CSessionStore {
    put: CPutFn,
    get: CGetFn,
    userdata: *mut c_void,
}

// SAFETY: the header documents that the callbacks and their userdata must be usable from any
// thread, concurrently, for as long as the configuration lives; we only pass the pointer back.
unsafe impl Send for CSessionStore {}
// SAFETY: as above; the methods take `&self` and only read the fields.
unsafe impl Sync for CSessionStore {}

impl std::fmt::Debug for CSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CSessionStore")
    }
}

impl CSessionStore {
    fn put_raw(&self, key: &[u8], value: &[u8]) -> bool {
        // SAFETY: the callback was supplied for this purpose; both slices are valid for the
        // duration of the call.
        unsafe {
            (self.put)(
                self.userdata,
                key.as_ptr(),
                key.len(),
                value.as_ptr(),
                value.len(),
            ) != 0
        }
    }

    fn get_raw(&self, key: &[u8]) -> Option<Vec<u8>> {
        let call = |buf: &mut [u8]| {
            // SAFETY: as in `put_raw`; `buf` is writable for `buf.len()` bytes.
            unsafe {
                (self.get)(
                    self.userdata,
                    key.as_ptr(),
                    key.len(),
                    buf.as_mut_ptr(),
                    buf.len(),
                )
            }
        };
        let mut buf = zeroize::Zeroizing::new(vec![0u8; FIRST_GET_CAP]);
        let mut n = call(&mut buf);
        if n > buf.len() {
            if n > FERROTLS_MAX_SESSION_VALUE {
                return None;
            }
            buf = zeroize::Zeroizing::new(vec![0u8; n]);
            n = call(&mut buf);
            if n > buf.len() {
                return None;
            }
        }
        if n == 0 {
            return None;
        }
        Some(buf[..n].to_vec())
    }
}

impl crate::session::ServerSessionStore for CSessionStore {
    fn put(&self, id: Vec<u8>, value: Vec<u8>) -> bool {
        let value = zeroize::Zeroizing::new(value);
        self.put_raw(&id, &value)
    }

    fn get(&self, id: &[u8]) -> Option<Vec<u8>> {
        self.get_raw(id)
    }
}

impl crate::session::ClientSessionStore for CSessionStore {
    fn put(&self, server_name: &str, session: Vec<u8>) {
        let session = zeroize::Zeroizing::new(session);
        self.put_raw(server_name.as_bytes(), &session);
    }

    fn get(&self, server_name: &str) -> Option<Vec<u8>> {
        self.get_raw(server_name.as_bytes())
    }
}

/// Keep sessions in an external store (e.g. a cache shared between processes) instead of the
/// configuration's own cache; `ferrotls_config_builder_set_session_cache` then no longer
/// applies. One function for both roles, the role deciding the keys: a server configuration
/// stores TLS 1.2 sessions by session ID (TLS 1.3 tickets are stateless and never reach the
/// store); a client configuration stores session blobs by server name (a TLS 1.3 ticket is
/// meant for one use: `get` should remove it). Both callbacks are required. `userdata` is
/// passed back to them and must stay valid, with the callbacks, for as long as the
/// configuration built from this builder (or any connection made from it) lives.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_session_store(
    builder: *mut ferrotls_config_builder,
    put: ferrotls_session_put_cb,
    get: ferrotls_session_get_cb,
    userdata: *mut c_void,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let put = put.ok_or_else(|| Fail::null("put"))?;
            let get = get.ok_or_else(|| Fail::null("get"))?;
            let store = Arc::new(CSessionStore { put, get, userdata });
            match b.role() {
                Role::Server => engine(b.set_server_session_store(store)),
                Role::Client => engine(b.set_client_session_store(store)),
            }
        })
    }
}

// ---- seams: certificate callback, ticket callbacks (select.rs: CertResolver; session.rs:
// TicketSealer) ----------------------------------------------------------------------------

/// A certificate chain with its private key (opaque, immutable, reference-counted), for a
/// `ferrotls_cert_cb` to return. Usable from any number of threads.
#[allow(non_camel_case_types)]
pub struct ferrotls_certified_key {
    _private: [u8; 0],
}

/// The handle behind a `ferrotls_certified_key *`.
#[repr(C)]
pub(crate) struct CertKeyHandle {
    tag: u64,
    pub(crate) key: Arc<CertifiedKey>,
}

/// Load a certificate chain (PEM, leaf first) and its private key (PEM) into a certified key
/// for a `ferrotls_cert_cb`. Both are copied. A key that does not match the leaf gives
/// `FERROTLS_ERR_KEY`. `*out` receives the handle (NULL on failure); release it with
/// `ferrotls_certified_key_free`, once no callback can return it any more (see
/// `ferrotls_config_builder_set_cert_callback`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_certified_key_new_pem(
    chain_pem: *const u8,
    chain_len: usize,
    key_pem: *const u8,
    key_len: usize,
    out: *mut *mut ferrotls_certified_key,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out` is NULL or writable per the API contract.
        let out = unsafe { out_param(out, std::ptr::null_mut(), "out")? };
        // SAFETY: `chain_pem`/`key_pem` are NULL or readable for their lengths.
        let chain = unsafe { in_slice(chain_pem, chain_len, "chain_pem")? };
        // SAFETY: as above.
        let key = unsafe { in_slice(key_pem, key_len, "key_pem")? };
        let key = engine(CertifiedKey::from_pem(chain, key))?;
        *out = Box::into_raw(Box::new(CertKeyHandle {
            tag: TAG_CERTKEY,
            key,
        }))
        .cast();
        Ok(FERROTLS_OK)
    })
}

/// Release a certified key handle. A connection that chose this key keeps its own reference,
/// so the handshake in progress is unaffected; but a `ferrotls_cert_cb` must never return a
/// freed handle. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_certified_key_free(key: *mut ferrotls_certified_key) {
    ffi_value((), || {
        if key.is_null() {
            return Ok(());
        }
        // SAFETY: `key` is a live handle per the API contract.
        unsafe { check_tag(key.cast(), TAG_CERTKEY, "key")? };
        let raw = key.cast::<CertKeyHandle>();
        // SAFETY: live CertKeyHandle from Box::into_raw; poisoned then reclaimed exactly once.
        unsafe {
            (*raw).tag = TAG_FREED;
            drop(Box::from_raw(raw));
        }
        Ok(())
    })
}

/// Certificate selection callback (server): choose the certificate for one ClientHello.
/// `server_name` is the SNI host name (NUL-terminated; NULL when the client sent no SNI);
/// `sig_schemes[i]` for `i < n_schemes` are the signature schemes the client accepts, as IANA
/// numbers (0x0403 = ecdsa_secp256r1_sha256; `n_schemes` is 0 if it sent none);
/// `alpn_wire`/`alpn_len` are the client's ALPN protocols in the wire form of
/// `ferrotls_config_builder_set_alpn` ("\x02h2\x08http/1.1"; NULL and 0 when it offered none).
/// Every pointer is valid only during the call. Return a live `ferrotls_certified_key` (the
/// library takes its own reference before the callback's return is used, so the connection
/// never depends on the handle afterwards), or NULL to refuse: the handshake fails with
/// `FERROTLS_ERR_HANDSHAKE_FAILURE` and a handshake_failure alert. A pointer that is not a
/// live `ferrotls_certified_key` counts as NULL. Called once per ClientHello (twice after a
/// TLS 1.3 HelloRetryRequest); the library then picks a signature scheme the key can make
/// and the client accepts. It may run concurrently for different connections and must be
/// thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_cert_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server_name: *const c_char,
        sig_schemes: *const u16,
        n_schemes: usize,
        alpn_wire: *const u8,
        alpn_len: usize,
    ) -> *const ferrotls_certified_key,
>;

type CCertFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    *const u16,
    usize,
    *const u8,
    usize,
) -> *const ferrotls_certified_key;

/// ALPN names in RFC 7301 wire form (`len byte, name, ...`).
pub(crate) fn alpn_to_wire(protocols: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for p in protocols {
        // Names were checked to be 1..=255 bytes when the ClientHello was decoded.
        wire.push(u8::try_from(p.len()).unwrap_or(u8::MAX));
        wire.extend_from_slice(p);
    }
    wire
}

/// A certificate resolver that asks a C callback.
struct CCert {
    cb: CCertFn,
    userdata: *mut c_void,
}

// SAFETY: the header documents that the certificate callback and its userdata must be usable
// from any thread, concurrently; we only pass the pointer back to that callback.
unsafe impl Send for CCert {}
// SAFETY: as above; `resolve` takes `&self` and only reads the two fields.
unsafe impl Sync for CCert {}

impl std::fmt::Debug for CCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CCert")
    }
}

impl crate::select::CertResolver for CCert {
    fn resolve(&self, hello: &crate::select::ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        let run = || {
            let name = hello.server_name.map(to_cstring);
            let schemes: Vec<u16> = hello.signature_schemes.iter().map(|s| s.to_int()).collect();
            let wire = alpn_to_wire(hello.alpn);
            let (alpn_ptr, alpn_len) = if wire.is_empty() {
                (std::ptr::null(), 0)
            } else {
                (wire.as_ptr(), wire.len())
            };
            let (schemes_ptr, n_schemes) = if schemes.is_empty() {
                (std::ptr::null(), 0)
            } else {
                (schemes.as_ptr(), schemes.len())
            };
            // SAFETY: the callback was supplied for this purpose; every pointer passed is NULL
            // or valid (the string NUL-terminated, the arrays of the lengths given) for the
            // duration of the call.
            let p = unsafe {
                (self.cb)(
                    self.userdata,
                    name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                    schemes_ptr,
                    n_schemes,
                    alpn_ptr,
                    alpn_len,
                )
            };
            if p.is_null() {
                return None;
            }
            // SAFETY: the callback promises NULL or a live handle from this library; the tag
            // check rejects anything else that has 8 readable bytes.
            unsafe { check_tag(p.cast(), TAG_CERTKEY, "the certificate callback's return") }
                .ok()?;
            // SAFETY: the tag says this is a live CertKeyHandle; we take our own reference.
            Some(unsafe { &*p.cast::<CertKeyHandle>() }.key.clone())
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or(None)
    }
}

/// Server: have `cb` choose the certificate for each handshake (see `ferrotls_cert_cb`)
/// instead of from the certificates added with `ferrotls_config_builder_add_cert_key_*`
/// (which are then unused; none are needed). `cb` must not be NULL. `userdata` is passed back
/// to `cb`; it, and every `ferrotls_certified_key` the callback may return, must stay valid
/// as long as any config built from this builder (or a connection made from one) lives. A
/// client builder gives `FERROTLS_ERR_WRONG_ROLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_cert_callback(
    builder: *mut ferrotls_config_builder,
    cb: ferrotls_cert_cb,
    userdata: *mut c_void,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let cb = cb.ok_or_else(|| Fail::null("cb"))?;
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "a certificate callback is for a server configuration; this builder is for a client",
                ));
            }
            engine(b.set_cert_resolver(Arc::new(CCert { cb, userdata })))
        })
    }
}

/// The largest ticket a server issues or opens, in bytes.
pub const FERROTLS_MAX_TICKET_LEN: usize = 16384;
const _: () = assert!(FERROTLS_MAX_TICKET_LEN == crate::session::MAX_TICKET_LEN);

/// The room a `ferrotls_ticket_seal_cb` gets beyond the plaintext: `cap` is
/// `len + FERROTLS_TICKET_SEAL_OVERHEAD`, at most `FERROTLS_MAX_TICKET_LEN`.
pub const FERROTLS_TICKET_SEAL_OVERHEAD: usize = 256;

/// Ticket seal callback (server): seal `plain` (`len` bytes: the engine's serialized session,
/// which holds the session secret) into a ticket written to `out`, and return its length, at
/// most `cap`; 0 means "no ticket this time". `cap` is `len + FERROTLS_TICKET_SEAL_OVERHEAD`,
/// capped at `FERROTLS_MAX_TICKET_LEN`. The ticket travels to the client in the clear: the
/// callback must encrypt and authenticate it (an AEAD under a key it owns and rotates); the
/// library adds no cryptography of its own. A return above `cap` counts as 0. Every pointer
/// is valid only during the call. It may run concurrently and must be thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_ticket_seal_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        plain: *const u8,
        len: usize,
        out: *mut u8,
        cap: usize,
    ) -> usize,
>;

/// Ticket open callback (server): open `ticket` (`len` bytes, 1 to `FERROTLS_MAX_TICKET_LEN`,
/// as the client sent it: untrusted) into `out`, and return the plaintext's length, at most
/// `cap`; 0 means "cannot open" (not ours, tampered, or its key retired): the client gets a
/// full handshake. `cap` equals `len`: the plaintext is never longer than its ticket. A return
/// above `cap` counts as 0. Every pointer is valid only during the call; `out` receives the
/// session secret (the library wipes it after use). It may run concurrently and must be
/// thread-safe.
#[allow(non_camel_case_types)]
pub type ferrotls_ticket_open_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ticket: *const u8,
        len: usize,
        out: *mut u8,
        cap: usize,
    ) -> usize,
>;

type CTicketFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize) -> usize;

/// A ticket sealer over two C callbacks.
struct CTicketSealer {
    seal: CTicketFn,
    open: CTicketFn,
    lifetime_secs: u32,
    userdata: *mut c_void,
}

// SAFETY: the header documents that the callbacks and their userdata must be usable from any
// thread, concurrently, for as long as the configuration lives; we only pass the pointer back.
unsafe impl Send for CTicketSealer {}
// SAFETY: as above; the methods take `&self` and only read the fields.
unsafe impl Sync for CTicketSealer {}

impl std::fmt::Debug for CTicketSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CTicketSealer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish()
    }
}

impl CTicketSealer {
    /// Run `f` on `input` with an output buffer of `cap` bytes; the bytes it reports writing
    /// (1 to `cap`), or `None`. The buffer is wiped when dropped (an opened ticket holds the
    /// session secret).
    fn call(&self, f: CTicketFn, input: &[u8], cap: usize) -> Option<Vec<u8>> {
        let run = || {
            let mut out = zeroize::Zeroizing::new(vec![0u8; cap]);
            // SAFETY: the callback was supplied for this purpose; `input` is readable for its
            // length and `out` writable for `cap` bytes for the duration of the call.
            let n = unsafe {
                f(
                    self.userdata,
                    input.as_ptr(),
                    input.len(),
                    out.as_mut_ptr(),
                    out.len(),
                )
            };
            (n > 0 && n <= cap).then(|| out[..n].to_vec())
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or(None)
    }
}

impl crate::session::TicketSealer for CTicketSealer {
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        if plain.is_empty() || plain.len() > FERROTLS_MAX_TICKET_LEN {
            return None;
        }
        let cap = (plain.len() + FERROTLS_TICKET_SEAL_OVERHEAD).min(FERROTLS_MAX_TICKET_LEN);
        self.call(self.seal, plain, cap)
    }

    fn open(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        if ticket.is_empty() || ticket.len() > FERROTLS_MAX_TICKET_LEN {
            return None;
        }
        self.call(self.open, ticket, ticket.len())
    }

    fn lifetime_secs(&self) -> u32 {
        self.lifetime_secs
    }
}

/// Server: seal and open session tickets (TLS 1.3 and TLS 1.2) with `seal_cb` / `open_cb`
/// instead of the built-in rotating keys, e.g. keys rotated outside the process and shared by
/// several servers (see `ferrotls_ticket_seal_cb` and `ferrotls_ticket_open_cb`). Both
/// callbacks are required. `lifetime_secs` (1 to 604800, RFC 8446's 7 days) is the lifetime
/// announced with each ticket and replaces `ferrotls_config_builder_set_ticket_lifetime`;
/// a ticket the callback still opens after that is refused by the library. `userdata` is passed
/// back to both callbacks; it must stay valid, with them, as long as any config built from this
/// builder (or a connection made from one) lives. A client builder gives
/// `FERROTLS_ERR_WRONG_ROLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_config_builder_set_ticket_callbacks(
    builder: *mut ferrotls_config_builder,
    seal_cb: ferrotls_ticket_seal_cb,
    open_cb: ferrotls_ticket_open_cb,
    lifetime_secs: u32,
    userdata: *mut c_void,
) -> ferrotls_result {
    // SAFETY: `builder` is NULL or live.
    unsafe {
        with_builder(builder, |b| {
            let seal = seal_cb.ok_or_else(|| Fail::null("seal_cb"))?;
            let open = open_cb.ok_or_else(|| Fail::null("open_cb"))?;
            if b.role() != Role::Server {
                return Err(Fail::new(
                    FERROTLS_ERR_WRONG_ROLE,
                    "ticket callbacks are for a server configuration; this builder is for a client",
                ));
            }
            if lifetime_secs == 0 || lifetime_secs > crate::session::MAX_TICKET_LIFETIME {
                return Err(Fail::invalid(format!(
                    "argument 'lifetime_secs' is {lifetime_secs}; it must be 1 to {} (7 days, RFC 8446)",
                    crate::session::MAX_TICKET_LIFETIME
                )));
            }
            engine(b.set_ticket_sealer(Arc::new(CTicketSealer {
                seal,
                open,
                lifetime_secs,
                userdata,
            })))
        })
    }
}
