//! `SSL_METHOD` and `SSL_CTX`: the settings a program makes once for many connections, and the
//! engine configuration built from them (cached per distinct settings, so connections made
//! from one context share its session cache and ticket keys, as in OpenSSL).

use std::ffi::{CStr, c_char, c_int, c_long, c_uint, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferrotls::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use ferrotls::config::{Config, ConfigBuilder, Role, VerifyMode};
use ferrotls::verify::RootStore;

use crate::err::*;
use crate::libcrypto::*;
use crate::nonnull;
use crate::x509::{PKeyRef, X509Ref};

pub const SSL_VERIFY_PEER: c_int = 0x01;
pub const X509_V_FLAG_CRL_CHECK: std::ffi::c_ulong = 0x4;
pub const X509_V_FLAG_CRL_CHECK_ALL: std::ffi::c_ulong = 0x8;
pub const SSL_VERIFY_FAIL_IF_NO_PEER_CERT: c_int = 0x02;
pub const SSL_VERIFY_POST_HANDSHAKE: c_int = 0x08;

pub const SSL_OP_IGNORE_UNEXPECTED_EOF: u64 = 1 << 7;
pub const SSL_OP_ALLOW_CLIENT_RENEGOTIATION: u64 = 1 << 8;
pub const SSL_OP_NO_TICKET: u64 = 1 << 14;
pub const SSL_OP_NO_COMPRESSION: u64 = 1 << 17;
pub const SSL_OP_ENABLE_MIDDLEBOX_COMPAT: u64 = 1 << 20;
pub const SSL_OP_CIPHER_SERVER_PREFERENCE: u64 = 1 << 22;
pub const SSL_OP_NO_TLSV1_2: u64 = 1 << 27;
pub const SSL_OP_NO_TLSV1_3: u64 = 1 << 29;
pub const SSL_OP_NO_RENEGOTIATION: u64 = 1 << 30;

pub const SSL_MODE_ENABLE_PARTIAL_WRITE: c_long = 0x1;
pub const SSL_MODE_AUTO_RETRY: c_long = 0x4;
pub const SSL_MODE_NO_AUTO_CHAIN: c_long = 0x8;

pub const SSL_SESS_CACHE_CLIENT: c_long = 0x1;
pub const SSL_SESS_CACHE_SERVER: c_long = 0x2;

pub const TLS1_2_VERSION: c_int = 0x0303;
pub const TLS1_3_VERSION: c_int = 0x0304;

pub type VerifyCb = Option<unsafe extern "C" fn(c_int, *mut X509_STORE_CTX) -> c_int>;
pub type MsgCb = Option<
    unsafe extern "C" fn(c_int, c_int, c_int, *const c_void, usize, *mut c_void, *mut c_void),
>;
pub type InfoCb = Option<unsafe extern "C" fn(*const c_void, c_int, c_int)>;
pub type KeylogCb = Option<unsafe extern "C" fn(*const c_void, *const c_char)>;
pub type NewSessionCb = Option<unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int>;
pub type AlpnSelectCb = Option<
    unsafe extern "C" fn(
        *mut c_void,
        *mut *const u8,
        *mut u8,
        *const u8,
        c_uint,
        *mut c_void,
    ) -> c_int,
>;
pub type ServernameCb = Option<unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_void) -> c_int>;

/// An `SSL_METHOD`: which role connections from it start in.
pub struct Method {
    /// None: either role (TLS_method), decided by SSL_connect/SSL_accept; OpenSSL starts such
    /// an SSL as a server, and so do we.
    pub role: Option<Role>,
    /// A version-specific method (TLSv1_2_method): contexts made from it speak only that
    /// version (as OpenSSL's min and max version both set to it). 0: any.
    pub version: c_int,
}

macro_rules! methods {
    ($($stat:ident, $fn_name:ident, $role:expr, $version:expr;)*) => {$(
        static $stat: Method = Method { role: $role, version: $version };
        #[unsafe(no_mangle)]
        pub extern "C" fn $fn_name() -> *const Method {
            &$stat
        }
    )*};
}

// The version-specific methods are deprecated in OpenSSL 3 and still used (Python's
// PROTOCOL_TLSv1_2). TLS 1.0 and 1.1 contexts are made, and their handshakes fail with
// SSL_R_NO_PROTOCOLS_AVAILABLE: ferrotls speaks neither.
methods! {
    TLS12_METHOD, _ferrossl_TLSv1_2_method, None, 0x0303;
    TLS12_CLIENT_METHOD, _ferrossl_TLSv1_2_client_method, Some(Role::Client), 0x0303;
    TLS12_SERVER_METHOD, _ferrossl_TLSv1_2_server_method, Some(Role::Server), 0x0303;
    TLS11_METHOD, _ferrossl_TLSv1_1_method, None, 0x0302;
    TLS11_CLIENT_METHOD, _ferrossl_TLSv1_1_client_method, Some(Role::Client), 0x0302;
    TLS11_SERVER_METHOD, _ferrossl_TLSv1_1_server_method, Some(Role::Server), 0x0302;
    TLS10_METHOD, _ferrossl_TLSv1_method, None, 0x0301;
    TLS10_CLIENT_METHOD, _ferrossl_TLSv1_client_method, Some(Role::Client), 0x0301;
    TLS10_SERVER_METHOD, _ferrossl_TLSv1_server_method, Some(Role::Server), 0x0301;
}

static TLS_METHOD: Method = Method {
    role: None,
    version: 0,
};
static TLS_CLIENT_METHOD: Method = Method {
    role: Some(Role::Client),
    version: 0,
};
static TLS_SERVER_METHOD: Method = Method {
    role: Some(Role::Server),
    version: 0,
};

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_TLS_method() -> *const Method {
    &TLS_METHOD
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_TLS_client_method() -> *const Method {
    &TLS_CLIENT_METHOD
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_TLS_server_method() -> *const Method {
    &TLS_SERVER_METHOD
}

/// What an SSL copies from its context at SSL_new and may then change for itself.
#[derive(Clone)]
pub struct Settings {
    pub options: u64,
    pub mode: c_long,
    pub verify_mode: c_int,
    pub verify_cb: VerifyCb,
    pub verify_depth: c_int,
    pub min_proto: c_int,
    pub max_proto: c_int,
    /// OpenSSL's two lists: TLS 1.2 suites (set_cipher_list) and TLS 1.3 (set_ciphersuites).
    pub tls12_suites: Vec<u16>,
    pub tls13_suites: Vec<u16>,
    pub groups: Option<Vec<NamedGroup>>,
    /// A client's ALPN offer.
    pub alpn: Vec<Vec<u8>>,
    pub cert: Option<X509Ref>,
    pub chain: Vec<X509Ref>,
    pub key: Option<PKeyRef>,
    /// Complete certificate/key pairs of other key types, set before the current one (a
    /// server with an RSA and an ECDSA certificate, as OpenSSL keeps one per key type).
    pub others: Vec<(X509Ref, Vec<X509Ref>, PKeyRef)>,
    pub sid_ctx: Vec<u8>,
    pub msg_cb: MsgCb,
    pub msg_arg: *mut c_void,
    pub post_handshake_auth: bool,
    pub num_tickets: usize,
    pub security_level: c_int,
    pub read_ahead: c_long,
}

impl Settings {
    /// What distinguishes one engine configuration from another.
    fn engine_key(&self, role: Role) -> String {
        let relevant = SSL_OP_NO_TLSV1_2
            | SSL_OP_NO_TLSV1_3
            | SSL_OP_NO_RENEGOTIATION
            | SSL_OP_ALLOW_CLIENT_RENEGOTIATION
            | SSL_OP_CIPHER_SERVER_PREFERENCE
            | SSL_OP_NO_TICKET;
        format!(
            "{role:?}|{:x}|{}-{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}|{}",
            self.options & relevant,
            self.min_proto,
            self.max_proto,
            self.tls12_suites,
            self.tls13_suites,
            self.groups,
            self.alpn,
            self.cert.as_ref().map(|c| c.0),
            self.chain.iter().map(|c| c.0).collect::<Vec<_>>(),
            self.key.as_ref().map(|k| k.0),
            self.verify_mode,
            self.post_handshake_auth,
            self.num_tickets,
        )
    }
}

/// An `SSL_CTX`.
pub struct Ctx {
    refs: AtomicUsize,
    pub method_role: Option<Role>,
    pub s: Settings,
    pub store: *mut X509_STORE,
    /// Directories of trust anchors (CApath, the default directory): libcrypto loads those
    /// lazily, so the engine reads them itself.
    pub root_dirs: Vec<PathBuf>,
    pub sess_cache_mode: c_long,
    pub sess_cache_size: c_long,
    pub timeout: c_long,
    pub new_session_cb: NewSessionCb,
    pub get_session_cb: crate::server::GetSessionCb,
    pub ticket_key_cb: crate::tickets::TicketKeyEvpCb,
    pub client_hello_cb: crate::hello::ClientHelloCb,
    pub client_hello_arg: *mut c_void,
    /// Ticket keys made with the context (before a server forks its workers, as OpenSSL's).
    pub tickets: Arc<ferrotls::session::TicketKeys>,
    /// The server session cache through the program's callbacks (and our own beside it).
    pub sess_store: Arc<crate::server::CallbackStore>,
    pub certified: crate::server::CertifiedCache,
    pub alpn_select: AlpnSelectCb,
    pub alpn_select_arg: *mut c_void,
    pub keylog_cb: KeylogCb,
    pub info_cb: InfoCb,
    pub passwd_cb: PemPasswordCb,
    pub passwd_arg: *mut c_void,
    pub servername_cb: ServernameCb,
    pub servername_arg: *mut c_void,
    pub client_ca_list: *mut OPENSSL_STACK,
    /// Verification parameters SSLs inherit (SSL_CTX_set1_param: host names, depth, flags).
    pub param: *mut X509_VERIFY_PARAM,
    pub quiet_shutdown: bool,
    pub ex_data: CRYPTO_EX_DATA,
    configs: Mutex<Vec<(String, Arc<Config>)>>,
    /// SSL_CTX_sess_connect, _connect_good, _accept, _accept_good, _hits (SSL_CTRL_SESS_*).
    pub stats: [std::sync::atomic::AtomicI64; 5],
    /// The anchors last read from the store, and what they were read from.
    anchors: Mutex<Option<(AnchorKey, Arc<RootStore>)>>,
}

type AnchorKey = (usize, usize, Vec<PathBuf>, std::ffi::c_ulong);

impl Ctx {
    /// The engine configuration for an SSL of `role` with settings `s` (this context's own, or
    /// the SSL's changed copy): shared while the settings are the same.
    pub fn config(&self, role: Role, s: &Settings) -> Result<Arc<Config>, (c_int, String)> {
        // SAFETY: our CA list (a stack of X509_NAME) or NULL.
        let cas = if self.client_ca_list.is_null() {
            0
        } else {
            unsafe { OPENSSL_sk_num(self.client_ca_list) }
        };
        let key = format!("{}|ca {:p} {cas}", s.engine_key(role), self.client_ca_list);
        let mut cache = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(c.clone());
        }
        let c = self.build(role, s)?;
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((key, c.clone()));
        Ok(c)
    }

    fn build(&self, role: Role, s: &Settings) -> Result<Arc<Config>, (c_int, String)> {
        let bad = |e: ferrotls::error::Error| (SSL_R_BAD_VALUE, e.to_string());
        let mut b = ConfigBuilder::new(role);

        // Versions: OpenSSL's range, narrowed by the SSL_OP_NO_* bits, within what we speak.
        let mut lo = if s.min_proto == 0 {
            TLS1_2_VERSION
        } else {
            s.min_proto.max(TLS1_2_VERSION)
        };
        let mut hi = if s.max_proto == 0 {
            TLS1_3_VERSION
        } else {
            s.max_proto.min(TLS1_3_VERSION)
        };
        if s.options & SSL_OP_NO_TLSV1_2 != 0 && lo == TLS1_2_VERSION {
            lo = TLS1_3_VERSION;
        }
        if s.options & SSL_OP_NO_TLSV1_3 != 0 && hi == TLS1_3_VERSION {
            hi = TLS1_2_VERSION;
        }
        if lo > hi {
            return Err((
                SSL_R_NO_PROTOCOLS_AVAILABLE,
                format!(
                    "no protocol version is left: the range asked for is {} to {} (after the SSL_OP_NO_* options), and ferrotls speaks TLSv1.2 and TLSv1.3 only (older versions are insecure)",
                    version_name(s.min_proto),
                    version_name(s.max_proto)
                ),
            ));
        }
        b.set_versions(
            ProtocolVersion::from(lo as u16),
            ProtocolVersion::from(hi as u16),
        )
        .map_err(bad)?;

        // Suites: TLS 1.3 first, as OpenSSL lists them.
        let mut suites: Vec<CipherSuite> = Vec::new();
        if hi >= TLS1_3_VERSION {
            suites.extend(s.tls13_suites.iter().map(|&id| CipherSuite::from(id)));
        }
        if lo <= TLS1_2_VERSION {
            suites.extend(s.tls12_suites.iter().map(|&id| CipherSuite::from(id)));
        }
        if suites.is_empty() {
            return Err((
                SSL_R_NO_CIPHER_MATCH,
                "no cipher suite is left for the protocol versions enabled (check SSL_CTX_set_cipher_list and SSL_CTX_set_ciphersuites)".into(),
            ));
        }
        b.set_cipher_suites(&suites).map_err(bad)?;
        if let Some(g) = &s.groups {
            b.set_groups(g).map_err(bad)?;
        }
        if role == Role::Client && !s.alpn.is_empty() {
            b.set_alpn(&s.alpn).map_err(bad)?;
        }
        if role == Role::Server && self.alpn_select.is_some() {
            b.set_alpn_selector(Arc::new(crate::ssl::AlpnViaCallback))
                .map_err(bad)?;
        }

        // Our own certificate. A server's is chosen per ClientHello (after the program's
        // servername callback, which may switch the SSL to another context); a client's goes
        // into the configuration, PEM written by libcrypto.
        match (role, &s.cert, &s.key) {
            (Role::Server, _, _) => {
                b.set_cert_resolver(Arc::new(crate::server::Resolver))
                    .map_err(bad)?;
            }
            (Role::Client, Some(cert), Some(key)) => {
                let ck = self.certified(cert, &s.chain, key).ok_or((
                    ERR_R_EVP_LIB,
                    "the certificate and private key could not be handed to ferrotls".to_string(),
                ))?;
                b.add_certified_key(ck).map_err(bad)?;
            }
            _ => {}
        }

        // Trust: none in the engine's configuration. Programs fill the X509_STORE until the
        // certificate arrives (curl does it after sending its ClientHello), so our verifier
        // reads the store at that moment (`trust_anchors`) and runs the engine's check there.
        // The verdict is ours to make the OpenSSL way (verify mode, callback, host names):
        // the engine's built-in check runs first and our verifier sees its result.
        match role {
            Role::Client => {
                b.set_verify_mode(VerifyMode::VerifyServer).map_err(bad)?;
                b.set_server_cert_verifier(Arc::new(crate::verify::OsslVerifier))
                    .map_err(bad)?;
            }
            Role::Server => {
                b.set_verify_mode(server_verify_mode(s.verify_mode))
                    .map_err(bad)?;
                b.set_client_cert_verifier(Arc::new(crate::verify::OsslVerifier))
                    .map_err(bad)?;
                b.set_prefer_client_ciphers(s.options & SSL_OP_CIPHER_SERVER_PREFERENCE == 0);
                // The CA names a CertificateRequest lists: the program's client CA list, or
                // none (OpenSSL sends names only when the program gives them).
                b.set_client_ca_names(self.client_ca_names()).map_err(bad)?;
                let cache = if self.sess_cache_mode & SSL_SESS_CACHE_SERVER != 0 {
                    self.sess_cache_size.clamp(1, 100_000) as usize
                } else {
                    0
                };
                b.set_session_cache(cache).map_err(bad)?;
                if cache > 0 {
                    b.set_server_session_store(self.sess_store.clone())
                        .map_err(bad)?;
                }
                let tickets = if s.options & SSL_OP_NO_TICKET != 0 && cache == 0 {
                    0
                } else {
                    s.num_tickets as u32
                };
                b.set_tls13_tickets(tickets).map_err(bad)?;
                if self.ticket_key_cb.is_some() {
                    let lifetime = (self.timeout.max(1) as u64).min(7 * 24 * 3600) as u32;
                    b.set_ticket_sealer(Arc::new(crate::tickets::EvpSealer { lifetime }))
                        .map_err(bad)?;
                } else {
                    b.set_ticket_sealer(self.tickets.clone()).map_err(bad)?;
                }
            }
        }
        if role == Role::Client {
            // An OpenSSL client resumes only what the program hands back (SSL_set_session).
            b.set_session_cache(0).map_err(bad)?;
        }
        if s.post_handshake_auth || s.verify_mode & SSL_VERIFY_POST_HANDSHAKE != 0 {
            b.set_post_handshake_auth(true);
        }
        b.set_renegotiation(s.options & SSL_OP_NO_RENEGOTIATION == 0);
        if role == Role::Server {
            b.set_client_renegotiation(s.options & SSL_OP_ALLOW_CLIENT_RENEGOTIATION != 0);
        }
        if self.keylog_cb.is_some() {
            b.set_keylog(Some(Arc::new(crate::ssl::KeylogViaCallback)));
        }
        b.build().map_err(bad)
    }

    /// The trust anchors as they are now: the X509_STORE's certificates and the directories
    /// (read again only when the store changed).
    pub fn trust_anchors(&self, crl_flags: std::ffi::c_ulong) -> Arc<RootStore> {
        // SAFETY: our live store; get0_objects borrows its object list.
        let objs = unsafe { OPENSSL_sk_num(X509_STORE_get0_objects(self.store)) }.max(0) as usize;
        let key: AnchorKey = (self.store as usize, objs, self.root_dirs.clone(), crl_flags);
        let mut cache = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, r)) = cache.as_ref()
            && *k == key
        {
            return r.clone();
        }
        let mut roots = RootStore::new();
        // SAFETY: our live store.
        for c in unsafe { crate::x509::store_certs(self.store) } {
            // A certificate webpki cannot use as an anchor is skipped, as OpenSSL would
            // never chain to it either.
            let _ = roots.add_der(&c.der());
        }
        for dir in &self.root_dirs {
            // A directory without certificates in it is as good as none, as in OpenSSL.
            let _ = roots.add_file(dir);
        }
        // CRL checks as the program asked (X509_V_FLAG_CRL_CHECK: the leaf, _CRL_CHECK_ALL:
        // the chain), against the CRLs in the store.
        if crl_flags & X509_V_FLAG_CRL_CHECK_ALL != 0 {
            roots.set_revocation_check(Some(ferrotls::verify::RevocationScope::Chain));
        } else if crl_flags & X509_V_FLAG_CRL_CHECK != 0 {
            roots.set_revocation_check(Some(ferrotls::verify::RevocationScope::EndEntity));
        }
        if crl_flags != 0 {
            // SAFETY: our live store; CRL objects are borrowed, their DER copied.
            for der in unsafe { crate::x509::store_crls(self.store) } {
                // A CRL webpki cannot read is left out: the chains it covers then have an
                // unknown status and are refused.
                let _ = roots.add_crl_der(&der);
            }
        }
        let roots = Arc::new(roots);
        *cache = Some((key, roots.clone()));
        roots
    }

    /// The issuers of `leaf` found in the trust store, nearest first, up to a self-signed one.
    pub(crate) fn chain_from_store(&self, leaf: &X509Ref) -> Vec<X509Ref> {
        // SAFETY: our live store.
        let pool = unsafe { crate::x509::store_certs(self.store) };
        let mut out: Vec<X509Ref> = Vec::new();
        let mut cur = leaf.clone();
        for _ in 0..10 {
            // SAFETY: live certificates.
            if unsafe { X509_check_issued(cur.0, cur.0) } == 0 {
                break; // self-signed: the root
            }
            let Some(issuer) = pool
                .iter()
                .find(|c| unsafe { X509_check_issued(c.0, cur.0) } == 0)
            else {
                break;
            };
            if out.iter().any(|o| o.0 == issuer.0) {
                break;
            }
            out.push(issuer.clone());
            cur = issuer.clone();
        }
        out
    }

    /// The client CA list as DER names.
    pub(crate) fn client_ca_names(&self) -> Vec<Vec<u8>> {
        names_der(self.client_ca_list)
    }
}

/// A stack of X509_NAME as DER names.
pub(crate) fn names_der(sk: *mut OPENSSL_STACK) -> Vec<Vec<u8>> {
    {
        if sk.is_null() {
            return Vec::new();
        }
        // SAFETY: our stack of X509_NAME; i2d with NULL gives the length, then writes it.
        unsafe {
            (0..OPENSSL_sk_num(sk))
                .filter_map(|i| {
                    let n = OPENSSL_sk_value(sk, i);
                    let len = i2d_X509_NAME(n, std::ptr::null_mut());
                    if len <= 0 {
                        return None;
                    }
                    let mut v = vec![0u8; len as usize];
                    let mut p = v.as_mut_ptr();
                    i2d_X509_NAME(n, &mut p);
                    Some(v)
                })
                .collect()
        }
    }
}

impl Ctx {
    /// Forget built configurations (a setting changed).
    pub fn changed(&mut self) {
        self.configs
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Take one more reference (SSL_new, SSL_CTX_up_ref).
    pub fn up_ref(&self) {
        self.refs.fetch_add(1, Ordering::AcqRel);
    }

    /// Give one reference back; the last frees the context.
    ///
    /// # Safety
    /// `ctx` is a live context whose reference the caller holds.
    pub unsafe fn release(ctx: *mut Ctx) {
        // SAFETY: per the caller.
        if unsafe { (*ctx).refs.fetch_sub(1, Ordering::AcqRel) } != 1 {
            return;
        }
        // SAFETY: the last reference: nobody else can reach it.
        let mut b = unsafe { Box::from_raw(ctx) };
        // SAFETY: our ex_data, store and CA list.
        unsafe {
            CRYPTO_free_ex_data(CRYPTO_EX_INDEX_SSL_CTX, ctx.cast(), &mut b.ex_data);
            X509_STORE_free(b.store);
            X509_VERIFY_PARAM_free(b.param);
            if !b.client_ca_list.is_null() {
                OPENSSL_sk_pop_free(b.client_ca_list, Some(free_name));
            }
        }
    }
}

/// Free a stack of X509_NAME (NULL is fine).
///
/// # Safety
/// `sk` is NULL or a stack of X509_NAME that the caller owns.
pub unsafe fn free_names(sk: *mut OPENSSL_STACK) {
    if !sk.is_null() {
        // SAFETY: per the caller.
        unsafe { OPENSSL_sk_pop_free(sk, Some(free_name)) };
    }
}

unsafe extern "C" fn free_name(p: *mut c_void) {
    // SAFETY: CA list elements are X509_NAMEs.
    unsafe { X509_NAME_free(p) }
}

/// The engine's server verify mode for OpenSSL's SSL_VERIFY_* bits.
pub fn server_verify_mode(bits: c_int) -> VerifyMode {
    if bits & SSL_VERIFY_PEER == 0 {
        VerifyMode::NoClientAuth
    } else if bits & SSL_VERIFY_FAIL_IF_NO_PEER_CERT != 0 {
        VerifyMode::RequireClientCert
    } else {
        VerifyMode::RequestClientCert
    }
}

pub fn version_name(v: c_int) -> String {
    match v {
        0 => "any".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

/// Borrow a live context, or queue the NULL error and return `$ret`.
macro_rules! ctx_or {
    ($f:expr, $ctx:expr, $ret:expr) => {{
        nonnull!($f, $ctx, $ret);
        // SAFETY: a non-NULL context pointer from SSL_CTX_new, per the export's contract.
        unsafe { &mut *$ctx }
    }};
}
#[allow(unused_imports)]
pub(crate) use ctx_or;

/// `SSL_CTX_new(method)`.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_new(method: *const Method) -> *mut Ctx {
    let f = c"SSL_CTX_new";
    guard(f, std::ptr::null_mut(), || {
        // OpenSSL's SSL_CTX_new initialises libssl (its error strings) if the program did not.
        crate::register_strings();
        if method.is_null() {
            raise(f, SSL_R_NULL_SSL_METHOD_PASSED, "NULL SSL_METHOD");
            return std::ptr::null_mut();
        }
        // SAFETY: a non-NULL method is one of our statics.
        let (role, version) = unsafe { ((*method).role, (*method).version) };
        // SAFETY: plain constructor.
        let store = unsafe { X509_STORE_new() };
        if store.is_null() {
            raise(f, ERR_R_X509_LIB, "X509_STORE_new failed");
            return std::ptr::null_mut();
        }
        let ctx = Box::into_raw(Box::new(Ctx {
            refs: AtomicUsize::new(1),
            method_role: role,
            s: Settings {
                // OpenSSL 3.0's defaults for a new context.
                options: SSL_OP_NO_COMPRESSION | SSL_OP_ENABLE_MIDDLEBOX_COMPAT,
                mode: SSL_MODE_AUTO_RETRY,
                verify_mode: 0,
                verify_cb: None,
                verify_depth: -1,
                min_proto: version,
                max_proto: version,
                tls12_suites: crate::cipher::default_tls12(),
                tls13_suites: crate::cipher::DEFAULT_TLS13.to_vec(),
                groups: None,
                alpn: Vec::new(),
                cert: None,
                chain: Vec::new(),
                key: None,
                others: Vec::new(),
                sid_ctx: Vec::new(),
                msg_cb: None,
                msg_arg: std::ptr::null_mut(),
                post_handshake_auth: false,
                num_tickets: 2,
                security_level: 1,
                read_ahead: 0,
            },
            store,
            root_dirs: Vec::new(),
            sess_cache_mode: SSL_SESS_CACHE_SERVER,
            sess_cache_size: 1024 * 20,
            timeout: 7200,
            new_session_cb: None,
            get_session_cb: None,
            ticket_key_cb: None,
            client_hello_cb: None,
            client_hello_arg: std::ptr::null_mut(),
            tickets: Arc::new(ferrotls::session::TicketKeys::new(7200, 7200)),
            sess_store: Arc::new(crate::server::CallbackStore::default()),
            certified: Default::default(),
            alpn_select: None,
            alpn_select_arg: std::ptr::null_mut(),
            keylog_cb: None,
            info_cb: None,
            passwd_cb: None,
            passwd_arg: std::ptr::null_mut(),
            servername_cb: None,
            servername_arg: std::ptr::null_mut(),
            client_ca_list: std::ptr::null_mut(),
            // SAFETY: constructor.
            param: unsafe { X509_VERIFY_PARAM_new() },
            quiet_shutdown: false,
            ex_data: CRYPTO_EX_DATA {
                ctx: std::ptr::null_mut(),
                sk: std::ptr::null_mut(),
            },
            configs: Mutex::new(Vec::new()),
            stats: Default::default(),
            anchors: Mutex::new(None),
        }));
        // SAFETY: our new context and its ex_data field.
        unsafe { CRYPTO_new_ex_data(CRYPTO_EX_INDEX_SSL_CTX, ctx.cast(), &mut (*ctx).ex_data) };
        ctx
    })
}

/// `SSL_CTX_new_ex(libctx, propq, method)`: the library context and properties are
/// libcrypto's business; ours has one.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_new_ex(
    _libctx: *mut c_void,
    _propq: *const c_char,
    method: *const Method,
) -> *mut Ctx {
    _ferrossl_SSL_CTX_new(method)
}

/// `SSL_CTX_free(ctx)`: drops the program's reference; SSLs keep theirs.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_free(ctx: *mut Ctx) {
    guard(c"SSL_CTX_free", (), || {
        if !ctx.is_null() {
            // SAFETY: the caller's reference to a live context.
            unsafe { Ctx::release(ctx) }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_up_ref(ctx: *mut Ctx) -> c_int {
    let f = c"SSL_CTX_up_ref";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        ctx.up_ref();
        1
    })
}

fn path_of(p: *const c_char) -> Option<PathBuf> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string of the caller's.
    let b = unsafe { CStr::from_ptr(p) }.to_bytes();
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
}

/// `SSL_CTX_load_verify_locations(ctx, CAfile, CApath)`: through libcrypto's store (so the
/// program sees them there too), and the directory for the engine as well.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_load_verify_locations(
    ctx: *mut Ctx,
    file: *const c_char,
    path: *const c_char,
) -> c_int {
    let f = c"SSL_CTX_load_verify_locations";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        if file.is_null() && path.is_null() {
            raise(
                f,
                ERR_R_PASSED_NULL_PARAMETER,
                "neither CAfile nor CApath given",
            );
            return 0;
        }
        // SAFETY: a live store; NUL-terminated or NULL paths of the caller's. libcrypto
        // queues its own error on failure.
        if unsafe { X509_STORE_load_locations(ctx.store, file, path) } != 1 {
            return 0;
        }
        if let Some(dir) = path_of(path) {
            ctx.root_dirs.push(dir);
        }
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_load_verify_file(ctx: *mut Ctx, file: *const c_char) -> c_int {
    nonnull!(c"SSL_CTX_load_verify_file", file, 0);
    _ferrossl_SSL_CTX_load_verify_locations(ctx, file, std::ptr::null())
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_load_verify_dir(ctx: *mut Ctx, dir: *const c_char) -> c_int {
    nonnull!(c"SSL_CTX_load_verify_dir", dir, 0);
    _ferrossl_SSL_CTX_load_verify_locations(ctx, std::ptr::null(), dir)
}

/// `SSL_CTX_set_default_verify_paths(ctx)`: libcrypto's default file and directory (and the
/// SSL_CERT_FILE / SSL_CERT_DIR variables that override them).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_default_verify_paths(ctx: *mut Ctx) -> c_int {
    let f = c"SSL_CTX_set_default_verify_paths";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        // SAFETY: a live store.
        if unsafe { X509_STORE_set_default_paths(ctx.store) } != 1 {
            return 0;
        }
        ctx.root_dirs.extend(default_dir());
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_default_verify_dir(ctx: *mut Ctx) -> c_int {
    let f = c"SSL_CTX_set_default_verify_dir";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        ctx.root_dirs.extend(default_dir());
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_default_verify_file(ctx: *mut Ctx) -> c_int {
    let f = c"SSL_CTX_set_default_verify_file";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        let file = std::env::var_os(env_name(unsafe { X509_get_default_cert_file_env() }))
            .map(PathBuf::from)
            // SAFETY: libcrypto's static string.
            .or_else(|| path_of(unsafe { X509_get_default_cert_file() }));
        if let Some(file) = file {
            let c = std::ffi::CString::new(file.as_os_str().as_bytes()).unwrap_or_default();
            // SAFETY: a live store and a NUL-terminated path. A missing default file is not
            // an error (as in OpenSSL).
            unsafe { X509_STORE_load_locations(ctx.store, c.as_ptr(), std::ptr::null()) };
            // SAFETY: clearing what a missing file queued.
            unsafe { ERR_clear_error() };
        }
        ctx.changed();
        1
    })
}

fn env_name(p: *const c_char) -> String {
    // SAFETY: libcrypto's static NUL-terminated string.
    if p.is_null() {
        return String::new();
    }
    // SAFETY: as above.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The default directory of trust anchors: $SSL_CERT_DIR (its first entry), else libcrypto's.
fn default_dir() -> Option<PathBuf> {
    // SAFETY: libcrypto's static strings.
    let var = env_name(unsafe { X509_get_default_cert_dir_env() });
    if let Some(v) = std::env::var_os(&var) {
        return std::env::split_paths(&v).next();
    }
    // SAFETY: as above.
    path_of(unsafe { X509_get_default_cert_dir() }).filter(|p| p.is_dir())
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_cert_store(ctx: *const Ctx) -> *mut X509_STORE {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live context.
    unsafe { (*ctx).store }
}

/// `SSL_CTX_set_cert_store(ctx, store)`: takes the caller's reference.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_cert_store(ctx: *mut Ctx, store: *mut X509_STORE) {
    guard(c"SSL_CTX_set_cert_store", (), || {
        if ctx.is_null() {
            return;
        }
        // SAFETY: a live context; the old store is ours to free.
        let ctx = unsafe { &mut *ctx };
        unsafe { X509_STORE_free(ctx.store) };
        ctx.store = if store.is_null() {
            // SAFETY: constructor.
            unsafe { X509_STORE_new() }
        } else {
            store
        };
        ctx.changed();
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set1_cert_store(ctx: *mut Ctx, store: *mut X509_STORE) {
    if !store.is_null() {
        // SAFETY: the caller's live store; we take our own reference.
        unsafe { X509_STORE_up_ref(store) };
    }
    _ferrossl_SSL_CTX_set_cert_store(ctx, store)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_verify(ctx: *mut Ctx, mode: c_int, cb: VerifyCb) {
    guard(c"SSL_CTX_set_verify", (), || {
        if ctx.is_null() {
            return;
        }
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.s.verify_mode = mode;
        ctx.s.verify_cb = cb;
        ctx.changed();
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_verify_depth(ctx: *mut Ctx, depth: c_int) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).s.verify_depth = depth };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_verify_mode(ctx: *const Ctx) -> c_int {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.verify_mode }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_verify_depth(ctx: *const Ctx) -> c_int {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.verify_depth }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_verify_callback(ctx: *const Ctx) -> VerifyCb {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.verify_cb }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_options(ctx: *mut Ctx, op: u64) -> u64 {
    guard(c"SSL_CTX_set_options", 0, || {
        if ctx.is_null() {
            return 0;
        }
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.s.options |= op;
        ctx.changed();
        ctx.s.options
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_clear_options(ctx: *mut Ctx, op: u64) -> u64 {
    guard(c"SSL_CTX_clear_options", 0, || {
        if ctx.is_null() {
            return 0;
        }
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.s.options &= !op;
        ctx.changed();
        ctx.s.options
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_options(ctx: *const Ctx) -> u64 {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.options }
}

/// `SSL_CTX_set_cipher_list(ctx, str)`: TLS 1.2 suites in OpenSSL's syntax. 0 with
/// SSL_R_NO_CIPHER_MATCH when none of ours match.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_cipher_list(ctx: *mut Ctx, s: *const c_char) -> c_int {
    let f = c"SSL_CTX_set_cipher_list";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        match parse_list(f, s, crate::cipher::parse_cipher_list) {
            Some(l) => {
                ctx.s.tls12_suites = l;
                ctx.changed();
                1
            }
            None => 0,
        }
    })
}

/// `SSL_CTX_set_ciphersuites(ctx, str)`: TLS 1.3 suites.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_ciphersuites(ctx: *mut Ctx, s: *const c_char) -> c_int {
    let f = c"SSL_CTX_set_ciphersuites";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        match parse_list(f, s, crate::cipher::parse_ciphersuites) {
            Some(l) => {
                ctx.s.tls13_suites = l;
                ctx.changed();
                1
            }
            None => 0,
        }
    })
}

/// Parse a cipher string argument, queueing OpenSSL's error when nothing matched.
pub fn parse_list(
    f: &CStr,
    s: *const c_char,
    parse: fn(&str) -> Result<Vec<u16>, String>,
) -> Option<Vec<u16>> {
    nonnull!(f, s, None);
    // SAFETY: a NUL-terminated string of the caller's.
    let text = unsafe { CStr::from_ptr(s) }.to_string_lossy();
    match parse(&text) {
        Ok(l) => Some(l),
        Err(e) => {
            raise(f, SSL_R_NO_CIPHER_MATCH, &e);
            None
        }
    }
}

/// The certificate and key loaders, shared by SSL_CTX_* and SSL_* (`Settings` of either).
pub mod load {
    use super::*;

    pub const SSL_FILETYPE_PEM: c_int = 1;
    pub const SSL_FILETYPE_ASN1: c_int = 2;

    pub fn open(f: &CStr, file: *const c_char) -> Option<crate::x509::MemBio> {
        nonnull!(f, file, None);
        // SAFETY: a NUL-terminated path of the caller's; "r" mode.
        let b = unsafe { BIO_new_file(file, c"r".as_ptr()) };
        if b.is_null() {
            // libcrypto queued the system error (file not found etc.).
            raise(f, ERR_R_SYS_LIB, "the file could not be opened");
            return None;
        }
        Some(crate::x509::MemBio(b))
    }

    /// A certificate file's first certificate (PEM or DER).
    pub fn cert_file(f: &CStr, file: *const c_char, typ: c_int) -> Option<X509Ref> {
        let bio = open(f, file)?;
        // SAFETY: a live BIO.
        let x = unsafe {
            match typ {
                SSL_FILETYPE_PEM => {
                    PEM_read_bio_X509(bio.0, std::ptr::null_mut(), None, std::ptr::null_mut())
                }
                SSL_FILETYPE_ASN1 => d2i_X509_bio(bio.0, std::ptr::null_mut()),
                _ => {
                    raise(
                        f,
                        SSL_R_BAD_SSL_FILETYPE,
                        "the file type is neither SSL_FILETYPE_PEM nor SSL_FILETYPE_ASN1",
                    );
                    return None;
                }
            }
        };
        let x = X509Ref::adopt(x);
        if x.is_none() {
            raise(
                f,
                if typ == SSL_FILETYPE_PEM {
                    ERR_R_PEM_LIB
                } else {
                    ERR_R_X509_LIB
                },
                "no certificate could be read from the file",
            );
        }
        x
    }

    /// A PEM file's certificates: the first, then the chain.
    pub fn chain_file(f: &CStr, file: *const c_char) -> Option<(X509Ref, Vec<X509Ref>)> {
        let bio = open(f, file)?;
        // SAFETY: a live BIO.
        let first = X509Ref::adopt(unsafe {
            PEM_read_bio_X509_AUX(bio.0, std::ptr::null_mut(), None, std::ptr::null_mut())
        });
        let Some(first) = first else {
            raise(
                f,
                ERR_R_PEM_LIB,
                "no certificate could be read from the file",
            );
            return None;
        };
        let mut chain = Vec::new();
        // SAFETY: a live BIO; the end of the file leaves a "no start line" error we clear.
        while let Some(x) = X509Ref::adopt(unsafe {
            PEM_read_bio_X509(bio.0, std::ptr::null_mut(), None, std::ptr::null_mut())
        }) {
            chain.push(x);
        }
        unsafe { ERR_clear_error() };
        Some((first, chain))
    }

    /// A private key file (PEM, possibly encrypted: the context's password callback, or DER).
    pub fn key_file(
        f: &CStr,
        file: *const c_char,
        typ: c_int,
        cb: PemPasswordCb,
        arg: *mut c_void,
    ) -> Option<PKeyRef> {
        let bio = open(f, file)?;
        // SAFETY: a live BIO; the program's own password callback and argument.
        let k = unsafe {
            match typ {
                SSL_FILETYPE_PEM => PEM_read_bio_PrivateKey(bio.0, std::ptr::null_mut(), cb, arg),
                SSL_FILETYPE_ASN1 => d2i_PrivateKey_bio(bio.0, std::ptr::null_mut()),
                _ => {
                    raise(
                        f,
                        SSL_R_BAD_SSL_FILETYPE,
                        "the file type is neither SSL_FILETYPE_PEM nor SSL_FILETYPE_ASN1",
                    );
                    return None;
                }
            }
        };
        let k = PKeyRef::adopt(k);
        if k.is_none() {
            raise(
                f,
                if typ == SSL_FILETYPE_PEM {
                    ERR_R_PEM_LIB
                } else {
                    ERR_R_EVP_LIB
                },
                "no private key could be read from the file (a wrong password, or not a key)",
            );
        }
        k
    }

    /// OpenSSL refuses a key that does not match the certificate already set (and the other
    /// way round) with SSL_R_KEY_VALUES_MISMATCH... at check time; at load time it drops the
    /// mismatched partner. We keep both and let check_private_key and the handshake say.
    pub fn matches(cert: &X509Ref, key: &PKeyRef) -> bool {
        // SAFETY: live objects.
        unsafe { X509_check_private_key(cert.0, key.0) == 1 }
    }

    /// The certificate's key type (EVP_PKEY_RSA, _EC, ...).
    pub fn key_type(cert: &X509Ref) -> c_int {
        // SAFETY: a live certificate; get0_pubkey borrows its key.
        unsafe {
            let pk = X509_get0_pubkey(cert.0);
            if pk.is_null() {
                0
            } else {
                EVP_PKEY_get_base_id(pk)
            }
        }
    }

    /// The TLS group id of an EC certificate's curve (P-256 23, P-384 24), by key size.
    pub fn ec_group(cert: &X509Ref) -> Option<u16> {
        // SAFETY: a live certificate; get0_pubkey borrows its key.
        let bits = unsafe {
            let pk = X509_get0_pubkey(cert.0);
            if pk.is_null() {
                0
            } else {
                EVP_PKEY_get_bits(pk)
            }
        };
        match bits {
            256 => Some(23),
            384 => Some(24),
            521 => Some(25),
            _ => None,
        }
    }

    fn same_type(cert: &X509Ref, key: &PKeyRef) -> bool {
        // SAFETY: live objects; get0_pubkey borrows the certificate's key.
        unsafe {
            let pk = X509_get0_pubkey(cert.0);
            !pk.is_null() && EVP_PKEY_get_base_id(pk) == EVP_PKEY_get_base_id(key.0)
        }
    }

    /// Set the private key as OpenSSL pairs it with the certificate: a key of the
    /// certificate's type that does not match it is refused (libcrypto queued
    /// X509_R_KEY_VALUES_MISMATCH); a key of another type replaces the pair's certificate.
    pub fn set_key(s: &mut Settings, key: PKeyRef) -> bool {
        if let Some(c) = &s.cert {
            if same_type(c, &key) {
                if !matches(c, &key) {
                    return false;
                }
            } else {
                s.cert = None;
            }
        }
        s.key = Some(key);
        true
    }

    /// Set the certificate: a key of its type that does not match it is dropped (silently,
    /// as in OpenSSL); a key of another type is dropped too (it has no certificate now).
    pub fn set_cert(s: &mut Settings, cert: X509Ref) {
        // A complete pair of another key type stays, as OpenSSL's slot for that type.
        if let (Some(c), Some(k)) = (&s.cert, &s.key)
            && key_type(c) != key_type(&cert)
            && matches(c, k)
        {
            let new_type = key_type(&cert);
            s.others
                .retain(|(o, _, _)| key_type(o) != new_type && key_type(o) != key_type(c));
            s.others
                .push((c.clone(), std::mem::take(&mut s.chain), k.clone()));
            s.cert = None;
            s.key = None;
        }
        if let Some(k) = &s.key
            && !(same_type(&cert, k) && matches(&cert, k))
        {
            s.key = None;
            // SAFETY: clearing what the failed check queued.
            unsafe { ERR_clear_error() };
        }
        s.cert = Some(cert);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_use_certificate_file(
    ctx: *mut Ctx,
    file: *const c_char,
    typ: c_int,
) -> c_int {
    let f = c"SSL_CTX_use_certificate_file";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        let Some(x) = load::cert_file(f, file, typ) else {
            return 0;
        };
        load::set_cert(&mut ctx.s, x);
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_use_certificate_chain_file(
    ctx: *mut Ctx,
    file: *const c_char,
) -> c_int {
    let f = c"SSL_CTX_use_certificate_chain_file";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        let Some((x, chain)) = load::chain_file(f, file) else {
            return 0;
        };
        load::set_cert(&mut ctx.s, x);
        ctx.s.chain = chain;
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_use_PrivateKey_file(
    ctx: *mut Ctx,
    file: *const c_char,
    typ: c_int,
) -> c_int {
    let f = c"SSL_CTX_use_PrivateKey_file";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        let Some(k) = load::key_file(f, file, typ, ctx.passwd_cb, ctx.passwd_arg) else {
            return 0;
        };
        let ok = load::set_key(&mut ctx.s, k);
        ctx.changed();
        c_int::from(ok)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_use_certificate(ctx: *mut Ctx, x: *mut X509) -> c_int {
    let f = c"SSL_CTX_use_certificate";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        nonnull!(f, x, 0);
        // SAFETY: the caller's live certificate; we take our own reference.
        if let Some(x) = unsafe { X509Ref::share(x) } {
            load::set_cert(&mut ctx.s, x);
        }
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_use_PrivateKey(ctx: *mut Ctx, k: *mut EVP_PKEY) -> c_int {
    let f = c"SSL_CTX_use_PrivateKey";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        nonnull!(f, k, 0);
        // SAFETY: the caller's live key; we take our own reference.
        let ok = unsafe { PKeyRef::share(k) }.is_some_and(|k| load::set_key(&mut ctx.s, k));
        ctx.changed();
        c_int::from(ok)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_use_certificate_ASN1(
    ctx: *mut Ctx,
    len: c_int,
    d: *const u8,
) -> c_int {
    let f = c"SSL_CTX_use_certificate_ASN1";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        nonnull!(f, d, 0);
        // SAFETY: the caller's `len` bytes.
        let der = unsafe { std::slice::from_raw_parts(d, len.max(0) as usize) };
        let Some(x) = X509Ref::from_der(der) else {
            raise(f, ERR_R_X509_LIB, "the bytes are not a DER certificate");
            return 0;
        };
        ctx.s.cert = Some(x);
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_check_private_key(ctx: *const Ctx) -> c_int {
    let f = c"SSL_CTX_check_private_key";
    guard(f, 0, || {
        nonnull!(f, ctx, 0);
        // SAFETY: a live context.
        check_key(f, unsafe { &(*ctx).s })
    })
}

pub fn check_key(f: &CStr, s: &Settings) -> c_int {
    match (&s.cert, &s.key) {
        (None, _) => {
            raise(f, SSL_R_NO_CERTIFICATE_ASSIGNED, "no certificate is set");
            0
        }
        (_, None) => {
            raise(f, SSL_R_NO_PRIVATE_KEY_ASSIGNED, "no private key is set");
            0
        }
        (Some(c), Some(k)) if load::matches(c, k) => 1,
        _ => {
            // libcrypto queued its own X509_R_KEY_VALUES_MISMATCH.
            0
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get0_certificate(ctx: *const Ctx) -> *mut X509 {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.cert.as_ref().map_or(std::ptr::null_mut(), |c| c.0) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get0_privatekey(ctx: *const Ctx) -> *mut EVP_PKEY {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.key.as_ref().map_or(std::ptr::null_mut(), |k| k.0) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_default_passwd_cb(ctx: *mut Ctx, cb: PemPasswordCb) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).passwd_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_default_passwd_cb_userdata(ctx: *mut Ctx, u: *mut c_void) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).passwd_arg = u };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_default_passwd_cb(ctx: *const Ctx) -> PemPasswordCb {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).passwd_cb }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_default_passwd_cb_userdata(ctx: *const Ctx) -> *mut c_void {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live context.
    unsafe { (*ctx).passwd_arg }
}

/// `SSL_CTX_set_session_id_context(ctx, sid, len)`: at most 32 bytes.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_session_id_context(
    ctx: *mut Ctx,
    sid: *const u8,
    len: c_uint,
) -> c_int {
    let f = c"SSL_CTX_set_session_id_context";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        crate::session::id_bytes(f, sid, len, "a session id context").map_or(0, |v| {
            ctx.s.sid_ctx = v;
            1
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_timeout(ctx: *mut Ctx, t: c_long) -> c_long {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    let ctx = unsafe { &mut *ctx };
    let old = ctx.timeout;
    ctx.timeout = t;
    // Tickets live as long as sessions; new keys for the new lifetime (programs set it
    // while configuring, before any connection).
    let secs = (t.max(1) as u64).min(7 * 24 * 3600) as u32;
    ctx.tickets = Arc::new(ferrotls::session::TicketKeys::new(secs, secs));
    ctx.changed();
    old
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_timeout(ctx: *const Ctx) -> c_long {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).timeout }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_num_tickets(ctx: *mut Ctx, n: usize) -> c_int {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    let ctx = unsafe { &mut *ctx };
    ctx.s.num_tickets = n.min(16);
    ctx.changed();
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_num_tickets(ctx: *const Ctx) -> usize {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.num_tickets }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_post_handshake_auth(ctx: *mut Ctx, val: c_int) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.s.post_handshake_auth = val != 0;
        ctx.changed();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_security_level(ctx: *mut Ctx, level: c_int) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).s.security_level = level };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_security_level(ctx: *const Ctx) -> c_int {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).s.security_level }
}

/// Parse ALPN's wire format (length-prefixed names) into a list; None if malformed.
pub fn parse_alpn_wire(p: *const u8, len: c_uint) -> Option<Vec<Vec<u8>>> {
    if p.is_null() || len == 0 {
        return Some(Vec::new());
    }
    // SAFETY: the caller's `len` bytes.
    let mut b = unsafe { std::slice::from_raw_parts(p, len as usize) };
    let mut out = Vec::new();
    while let Some((&n, rest)) = b.split_first() {
        if n == 0 || rest.len() < n as usize {
            return None;
        }
        out.push(rest[..n as usize].to_vec());
        b = &rest[n as usize..];
    }
    Some(out)
}

/// `SSL_CTX_set_alpn_protos`: note OpenSSL's inverted result, 0 on success.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_alpn_protos(
    ctx: *mut Ctx,
    p: *const u8,
    len: c_uint,
) -> c_int {
    let f = c"SSL_CTX_set_alpn_protos";
    guard(f, 1, || {
        let ctx = ctx_or!(f, ctx, 1);
        let Some(l) = parse_alpn_wire(p, len) else {
            raise(
                f,
                SSL_R_BAD_VALUE,
                "the ALPN list is not in wire format (length-prefixed names)",
            );
            return 1;
        };
        ctx.s.alpn = l;
        ctx.changed();
        0
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_alpn_select_cb(
    ctx: *mut Ctx,
    cb: AlpnSelectCb,
    arg: *mut c_void,
) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.alpn_select = cb;
        ctx.alpn_select_arg = arg;
        ctx.changed();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_keylog_callback(ctx: *mut Ctx, cb: KeylogCb) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.keylog_cb = cb;
        ctx.changed();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_keylog_callback(ctx: *const Ctx) -> KeylogCb {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).keylog_cb }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_info_callback(ctx: *mut Ctx, cb: InfoCb) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).info_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_info_callback(ctx: *const Ctx) -> InfoCb {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).info_cb }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_msg_callback(ctx: *mut Ctx, cb: MsgCb) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).s.msg_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_sess_set_new_cb(ctx: *mut Ctx, cb: NewSessionCb) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).new_session_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_sess_get_new_cb(ctx: *const Ctx) -> NewSessionCb {
    if ctx.is_null() {
        return None;
    }
    // SAFETY: a live context.
    unsafe { (*ctx).new_session_cb }
}

/// The remove callback: the engine expires sessions itself; the program's shared cache expires
/// its entries by their timeout, as OpenSSL's programs do for sessions removed elsewhere.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_sess_set_remove_cb(_ctx: *mut Ctx, _cb: *const c_void) {}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_sess_set_get_cb(
    ctx: *mut Ctx,
    cb: crate::server::GetSessionCb,
) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).get_session_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_ex_data(
    ctx: *mut Ctx,
    idx: c_int,
    data: *mut c_void,
) -> c_int {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: our live ex_data.
    unsafe { CRYPTO_set_ex_data(&mut (*ctx).ex_data, idx, data) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_ex_data(ctx: *const Ctx, idx: c_int) -> *mut c_void {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: our live ex_data.
    unsafe { CRYPTO_get_ex_data(&(*ctx).ex_data, idx) }
}

/// `SSL_CTX_set_client_CA_list(ctx, list)`: takes the list (the names a server's
/// CertificateRequest would carry; the engine sends none yet, so they are kept for
/// SSL_CTX_get_client_CA_list only).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_client_CA_list(ctx: *mut Ctx, list: *mut OPENSSL_STACK) {
    if ctx.is_null() {
        return;
    }
    // SAFETY: a live context; the old list is ours.
    let ctx = unsafe { &mut *ctx };
    if !ctx.client_ca_list.is_null() && ctx.client_ca_list != list {
        // SAFETY: ours.
        unsafe { OPENSSL_sk_pop_free(ctx.client_ca_list, Some(free_name)) };
    }
    ctx.client_ca_list = list;
    ctx.changed();
}

/// `SSL_CTX_set0_CA_list`: OpenSSL 3's name for the list a server sends; one list here.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set0_CA_list(ctx: *mut Ctx, list: *mut OPENSSL_STACK) {
    _ferrossl_SSL_CTX_set_client_CA_list(ctx, list)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get0_CA_list(ctx: *const Ctx) -> *mut OPENSSL_STACK {
    _ferrossl_SSL_CTX_get_client_CA_list(ctx)
}

/// `SSL_CTX_add_client_CA(ctx, x)`: add the certificate's subject to the list. 1, or 0.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_add_client_CA(ctx: *mut Ctx, x: *mut X509) -> c_int {
    let f = c"SSL_CTX_add_client_CA";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        nonnull!(f, x, 0);
        // SAFETY: a live certificate; the list (made if missing) takes a duplicated name.
        unsafe {
            if ctx.client_ca_list.is_null() {
                ctx.client_ca_list = OPENSSL_sk_new_null();
            }
            let n = X509_NAME_dup(X509_get_subject_name(x));
            if n.is_null() || OPENSSL_sk_push(ctx.client_ca_list, n) == 0 {
                X509_NAME_free(n);
                return 0;
            }
        }
        ctx.changed();
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_client_CA_list(ctx: *const Ctx) -> *mut OPENSSL_STACK {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live context.
    unsafe { (*ctx).client_ca_list }
}

/// `SSL_load_client_CA_file(file)`: the subject names of a PEM file's certificates.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_load_client_CA_file(file: *const c_char) -> *mut OPENSSL_STACK {
    let f = c"SSL_load_client_CA_file";
    guard(f, std::ptr::null_mut(), || {
        let Some(bio) = load::open(f, file) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a new stack; names are duplicated from certificates we free.
        unsafe {
            let sk = OPENSSL_sk_new_null();
            while let Some(x) = X509Ref::adopt(PEM_read_bio_X509(
                bio.0,
                std::ptr::null_mut(),
                None,
                std::ptr::null_mut(),
            )) {
                let n = X509_NAME_dup(X509_get_subject_name(x.0));
                if !n.is_null() {
                    OPENSSL_sk_push(sk, n);
                }
            }
            ERR_clear_error();
            if OPENSSL_sk_num(sk) == 0 {
                OPENSSL_sk_free(sk);
                raise(f, ERR_R_PEM_LIB, "no certificate in the file");
                return std::ptr::null_mut();
            }
            sk
        }
    })
}

/// Groups OpenSSL 3.0 knows by these names and ferrotls does not implement: a list naming
/// them is accepted (OpenSSL accepts it) and they are left out, as a peer that lacks a group
/// leaves it out.
const KNOWN_ELSEWHERE: &[&str] = &[
    "x448",
    "p-521",
    "secp521r1",
    "p-224",
    "secp224r1",
    "secp256k1",
    "p-192",
    "prime192v1",
    "secp192r1",
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
    "brainpoolp256r1",
    "brainpoolp384r1",
    "brainpoolp512r1",
    "brainpoolp256r1tls13",
    "brainpoolp384r1tls13",
    "brainpoolp512r1tls13",
];

/// Parse a group list ("X25519:P-256", OpenSSL's names and ours) for SSL_CTRL_SET_GROUPS_LIST:
/// an unknown name fails the list (as in OpenSSL); a known one ferrotls lacks is left out.
pub fn parse_groups(s: &str) -> Result<Vec<NamedGroup>, String> {
    let mut out = Vec::new();
    for name in s.split([':', ',']).map(str::trim).filter(|n| !n.is_empty()) {
        if KNOWN_ELSEWHERE.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let g = ferrotls::crypto::kx::parse_group_name(name).ok_or_else(|| {
            format!(
                "group '{name}' is not a group name; ferrotls supports X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024, X25519, P-256 (prime256v1), P-384 (secp384r1)"
            )
        })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    if out.is_empty() {
        return Err(format!(
            "none of the groups in '{s}' is one ferrotls supports (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024, X25519, P-256, P-384)"
        ));
    }
    Ok(out)
}

/// The NID OpenSSL gives a group (obj_mac.h), for SSL_get_negotiated_group and friends.
pub fn group_nid(g: NamedGroup) -> c_long {
    match g {
        NamedGroup::X25519 => 1034,
        NamedGroup::secp256r1 => 415,
        NamedGroup::secp384r1 => 715,
        // Groups without a NID: OpenSSL reports TLSEXT_nid_unknown | id.
        other => 0x0100_0000 | c_long::from(other.to_int()),
    }
}

fn group_of_nid(nid: c_int) -> Option<NamedGroup> {
    Some(match nid {
        1034 => NamedGroup::X25519,
        415 => NamedGroup::secp256r1,
        715 => NamedGroup::secp384r1,
        n if n & 0x0100_0000 != 0 => NamedGroup::from((n & 0xffff) as u16),
        _ => return None,
    })
}

/// The SSL_CTRL_* commands that a context and an SSL share (on `s`); None: not one of them.
pub fn common_ctrl(
    f: &CStr,
    s: &mut Settings,
    cmd: c_int,
    larg: c_long,
    parg: *mut c_void,
) -> Option<c_long> {
    Some(match cmd {
        // SSL_CTRL_MODE / SSL_CTRL_CLEAR_MODE: the new mode.
        33 => {
            s.mode |= larg;
            s.mode
        }
        78 => {
            s.mode &= !larg;
            s.mode
        }
        // SSL_CTRL_SET_MSG_CALLBACK_ARG
        16 => {
            s.msg_arg = parg;
            1
        }
        // SSL_CTRL_SET_MIN/MAX_PROTO_VERSION, GET_MIN/MAX
        123 | 124 => {
            let v = larg as c_int;
            if !(v == 0 || (0x0300..=0x0304).contains(&v)) {
                // OpenSSL refuses an unknown version with 0 and nothing queued.
                return Some(0);
            }
            if cmd == 123 {
                s.min_proto = v;
            } else {
                s.max_proto = v;
            }
            1
        }
        130 => c_long::from(s.min_proto),
        131 => c_long::from(s.max_proto),
        // SSL_CTRL_GET/SET_READ_AHEAD: no effect on a record layer that reads what it gets.
        40 => s.read_ahead,
        41 => {
            let old = s.read_ahead;
            s.read_ahead = larg;
            old
        }
        // SSL_CTRL_SET_TMP_DH, SET_DH_AUTO: ferrotls has no finite-field DHE suites, so DH
        // parameters are accepted and unused (as OpenSSL does when no DHE suite is enabled).
        3 | 118 => 1,
        // SSL_CTRL_SET_TMP_ECDH (SSL_CTX_set_tmp_ecdh, Python's set_ecdh_curve): the EC_KEY's
        // curve becomes the only group, as in OpenSSL.
        4 => {
            nonnull!(f, parg, Some(0));
            // SAFETY: the program's EC_KEY; its group and the curve's NID are libcrypto's.
            let nid = unsafe { EC_GROUP_get_curve_name(EC_KEY_get0_group(parg)) };
            match group_of_nid(nid) {
                Some(g) if ferrotls::crypto::kx::builtin(g).is_some() => {
                    s.groups = Some(vec![g]);
                    1
                }
                _ => {
                    raise(
                        f,
                        SSL_R_BAD_VALUE,
                        &format!(
                            "the EC key's curve (NID {nid}) is not one ferrotls supports (P-256, P-384)"
                        ),
                    );
                    0
                }
            }
        }
        // SSL_CTRL_SET_GROUPS_LIST (also the curves list)
        92 => {
            nonnull!(f, parg, Some(0));
            // SAFETY: a NUL-terminated string of the caller's.
            let text = unsafe { CStr::from_ptr(parg.cast::<c_char>()) }.to_string_lossy();
            match parse_groups(&text) {
                Ok(g) => {
                    s.groups = Some(g);
                    1
                }
                Err(e) => {
                    raise(f, SSL_R_BAD_VALUE, &e);
                    0
                }
            }
        }
        // SSL_CTRL_SET_GROUPS: an array of `larg` NIDs
        91 => {
            nonnull!(f, parg, Some(0));
            // SAFETY: the caller's array of larg ints.
            let nids =
                unsafe { std::slice::from_raw_parts(parg.cast::<c_int>(), larg.max(0) as usize) };
            let mut g = Vec::new();
            for &n in nids {
                match group_of_nid(n) {
                    Some(x) if ferrotls::crypto::kx::builtin(x).is_some() => g.push(x),
                    _ => {
                        raise(
                            f,
                            SSL_R_BAD_VALUE,
                            &format!("group NID {n} is not supported by ferrotls"),
                        );
                        return Some(0);
                    }
                }
            }
            s.groups = Some(g);
            1
        }
        // SSL_CTRL_EXTRA_CHAIN_CERT (takes the reference), CHAIN (set0/set1), CHAIN_CERT
        // (add0/add1), GET_EXTRA_CHAIN_CERTS is below (needs a stack), CLEAR_EXTRA_CHAIN_CERTS.
        14 => {
            nonnull!(f, parg, Some(0));
            s.chain.extend(X509Ref::adopt(parg));
            1
        }
        89 => {
            nonnull!(f, parg, Some(0));
            // add1 (larg 1) takes a new reference; add0 takes the caller's.
            let x = if larg != 0 {
                // SAFETY: the caller's live certificate.
                unsafe { X509Ref::share(parg) }
            } else {
                X509Ref::adopt(parg)
            };
            s.chain.extend(x);
            1
        }
        88 => {
            let mut chain = Vec::new();
            if !parg.is_null() {
                // SAFETY: the caller's STACK_OF(X509).
                unsafe {
                    for i in 0..OPENSSL_sk_num(parg) {
                        chain.extend(X509Ref::share(OPENSSL_sk_value(parg, i)));
                    }
                    if larg == 0 {
                        // set0: the stack and its references are ours now.
                        OPENSSL_sk_pop_free(parg, Some(crate::x509::free_x509));
                    }
                }
            }
            s.chain = chain;
            1
        }
        83 => {
            s.chain.clear();
            1
        }
        _ => return None,
    })
}

/// `SSL_CTX_ctrl(ctx, cmd, larg, parg)`: the commands the programs we run use; any other
/// fails with SSL_R_UNKNOWN_CMD_NAME... as "not supported by ferrotls", and 0.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_ctrl(
    ctx: *mut Ctx,
    cmd: c_int,
    larg: c_long,
    parg: *mut c_void,
) -> c_long {
    let f = c"SSL_CTX_ctrl";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        if let Some(r) = common_ctrl(f, &mut ctx.s, cmd, larg, parg) {
            ctx.changed();
            return r;
        }
        match cmd {
            // SSL_CTRL_SET_SESS_CACHE_SIZE / GET, SET_SESS_CACHE_MODE / GET: old values.
            42 => {
                let old = ctx.sess_cache_size;
                ctx.sess_cache_size = larg;
                ctx.changed();
                old
            }
            43 => ctx.sess_cache_size,
            44 => {
                let old = ctx.sess_cache_mode;
                ctx.sess_cache_mode = larg;
                ctx.changed();
                old
            }
            45 => ctx.sess_cache_mode,
            // SSL_CTRL_SESS_CONNECT, _CONNECT_GOOD, _ACCEPT, _ACCEPT_GOOD, _HIT: counted; the
            // others (the number cached, renegotiations, callback hits, misses, timeouts,
            // cache full) are 0: the engine's cache keeps no such counts.
            21 | 22 | 24 | 25 | 27 => {
                let i = match cmd {
                    21 => 0,
                    22 => 1,
                    24 => 2,
                    25 => 3,
                    _ => 4,
                };
                ctx.stats[i].load(Ordering::Relaxed) as c_long
            }
            20..=31 => 0,
            // SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG
            54 => {
                ctx.servername_arg = parg;
                1
            }
            // SSL_CTRL_GET_EXTRA_CHAIN_CERTS: a stack we keep? OpenSSL returns its own; we
            // return none (0 certificates) when there are none, else unsupported.
            82 if ctx.s.chain.is_empty() => {
                if !parg.is_null() {
                    // SAFETY: the caller's STACK_OF(X509) * out-parameter.
                    unsafe { *parg.cast::<*mut c_void>() = std::ptr::null_mut() };
                }
                1
            }
            _ => {
                raise(
                    f,
                    ERR_R_UNSUPPORTED,
                    &format!(
                        "SSL_CTX_ctrl command {cmd} is not supported by ferrotls's libssl (see the README's support matrix)"
                    ),
                );
                0
            }
        }
    })
}

/// `SSL_CTX_callback_ctrl(ctx, cmd, fp)`: the servername callback (53); others unsupported.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_callback_ctrl(
    ctx: *mut Ctx,
    cmd: c_int,
    fp: *const c_void,
) -> c_long {
    let f = c"SSL_CTX_callback_ctrl";
    guard(f, 0, || {
        let ctx = ctx_or!(f, ctx, 0);
        match cmd {
            53 => {
                // SAFETY: the program passes a servername callback for this command.
                ctx.servername_cb =
                    unsafe { std::mem::transmute::<*const c_void, ServernameCb>(fp) };
                1
            }
            // SSL_CTRL_SET_MSG_CALLBACK
            15 => {
                // SAFETY: the program passes a message callback for this command.
                ctx.s.msg_cb = unsafe { std::mem::transmute::<*const c_void, MsgCb>(fp) };
                1
            }
            _ => {
                raise(
                    f,
                    ERR_R_UNSUPPORTED,
                    &format!(
                        "SSL_CTX_callback_ctrl command {cmd} is not supported by ferrotls's libssl"
                    ),
                );
                0
            }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get0_param(ctx: *mut Ctx) -> *mut X509_VERIFY_PARAM {
    // SAFETY: a live context.
    if ctx.is_null() {
        std::ptr::null_mut()
    } else {
        unsafe { (*ctx).param }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set1_param(
    ctx: *mut Ctx,
    vpm: *const X509_VERIFY_PARAM,
) -> c_int {
    if ctx.is_null() || vpm.is_null() {
        return 0;
    }
    // SAFETY: live parameter objects.
    unsafe { X509_VERIFY_PARAM_set1((*ctx).param, vpm) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_quiet_shutdown(ctx: *mut Ctx, mode: c_int) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        unsafe { (*ctx).quiet_shutdown = mode != 0 };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_quiet_shutdown(ctx: *const Ctx) -> c_int {
    // SAFETY: a live context.
    c_int::from(!ctx.is_null() && unsafe { (*ctx).quiet_shutdown })
}
