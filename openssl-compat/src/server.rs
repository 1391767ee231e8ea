//! What a server program configures around the handshake, through the engine's seams: the
//! certificate chosen per ClientHello after the program's servername callback (which may move
//! the SSL to another SSL_CTX: nginx's and HAProxy's virtual hosts), session tickets under keys
//! made when the SSL_CTX is (so a forking server's workers share them, as with OpenSSL), and the
//! server session cache callbacks (`SSL_CTX_sess_set_new_cb` / `_get_cb`: nginx's and stunnel's
//! shared caches) as the engine's session store.

use std::ffi::{c_int, c_uchar};
use std::sync::{Arc, Mutex};

use ferrotls::certified::CertifiedKey;
use ferrotls::config::VerifyMode;
use ferrotls::select::{CertResolver, ClientAuth, ClientHelloInfo};
use ferrotls::session::ServerSessionStore;

use crate::ctx::Ctx;
use crate::ssl::{Ssl, current};
use crate::x509::{PKeyRef, X509Ref};

/// The certificate for the SSL whose handshake is running: its servername callback first.
#[derive(Debug)]
pub struct Resolver;

/// `SSL_TLSEXT_ERR_ALERT_FATAL`.
const ERR_ALERT_FATAL: c_int = 2;

impl CertResolver for Resolver {
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        let ptr = current();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the SSL whose handshake is running on this thread.
        let ssl = unsafe { &mut *ptr };
        ssl.hello_name = hello.server_name.map(str::to_owned);
        // OpenSSL's order: the client-hello callback first (it may switch the SSL_CTX), then
        // the servername callback of the context the SSL has then.
        if !crate::hello::run_callback(ptr, hello.raw) {
            return None;
        }
        // SAFETY: the SSL's live context.
        let ctx = unsafe { &*ssl.ctx };
        if let Some(cb) = ctx.servername_cb {
            let mut alert: c_int = 112; // unrecognized_name, OpenSSL's default
            // SAFETY: the program's callback with its SSL, alert out-parameter and argument;
            // it may call SSL_get_servername and SSL_set_SSL_CTX on this SSL.
            let r = unsafe { cb(ptr.cast(), &mut alert, ctx.servername_arg) };
            if r == ERR_ALERT_FATAL {
                return None;
            }
        }
        // SAFETY: the (possibly new) context of the SSL.
        let ctx = unsafe { &*ssl.ctx };
        // The pairs the program set, one per key type: the first that fits the client's
        // signature schemes in its order (and, in TLS 1.2, a suite it offered), else the
        // current one.
        let mut pairs: Vec<(&X509Ref, &[X509Ref], &PKeyRef)> = Vec::new();
        if let (Some(c), Some(k)) = (&ssl.s.cert, &ssl.s.key) {
            pairs.push((c, &ssl.s.chain, k));
        }
        pairs.extend(ssl.s.others.iter().map(|(c, ch, k)| (c, &ch[..], k)));
        let tls12 = hello.version.to_int() == 0x0303;
        // TLS 1.2: an ECDSA key must be on a curve the client lists (RFC 8422 §5.1).
        let groups: Option<Vec<u16>> = crate::hello::Hello::parse(hello.raw).and_then(|h| {
            h.extensions.iter().find(|(t, _)| *t == 10).map(|(_, d)| {
                d.get(2..)
                    .unwrap_or(&[])
                    .chunks_exact(2)
                    .map(|g| u16::from_be_bytes([g[0], g[1]]))
                    .collect()
            })
        });
        let fits = |c: &X509Ref| -> bool {
            let t = crate::ctx::load::key_type(c);
            let signs = hello
                .signature_schemes
                .iter()
                .any(|s| scheme_key_type(s.to_int()) == t);
            let suite = !tls12
                || hello
                    .cipher_suites
                    .iter()
                    .any(|s| suite_key_type(s.to_int()) == t);
            let curve = !tls12
                || t != 408
                || match (&groups, crate::ctx::load::ec_group(c)) {
                    (Some(g), Some(id)) => g.contains(&id),
                    _ => true,
                };
            (signs || hello.signature_schemes.is_empty()) && suite && curve
        };
        let chosen = pairs.iter().find(|(c, _, _)| fits(c)).or(pairs.first())?;
        ctx.certified(chosen.0, chosen.1, chosen.2)
    }

    /// The SSL's verify mode as it is now: a servername callback that switched contexts sets
    /// the new virtual host's (nginx: `SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), ...)`).
    fn client_auth(&self, _hello: &ClientHelloInfo<'_>) -> Option<ClientAuth> {
        let ptr = current();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the SSL whose handshake is running.
        Some(
            match crate::ctx::server_verify_mode(unsafe { (*ptr).s.verify_mode }) {
                VerifyMode::RequireClientCert => ClientAuth::Require,
                VerifyMode::RequestClientCert => ClientAuth::Request,
                _ => ClientAuth::None,
            },
        )
    }

    /// The client CA names of the SSL's context as it is now (the virtual host's).
    fn client_ca_names(&self, _hello: &ClientHelloInfo<'_>) -> Option<Vec<Vec<u8>>> {
        let ptr = current();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the SSL whose handshake is running, and its live context.
        unsafe {
            let own = (*ptr).client_ca_list;
            Some(if own.is_null() {
                (*(*ptr).ctx).client_ca_names()
            } else {
                crate::ctx::names_der(own)
            })
        }
    }
}

/// The key type (EVP_PKEY_*) that signs with a TLS signature scheme.
fn scheme_key_type(s: u16) -> c_int {
    match s {
        0x0401 | 0x0501 | 0x0601 | 0x0804..=0x0806 => 6, // RSA (PKCS#1, PSS with rsaEncryption keys)
        0x0809..=0x080b => 912,                          // RSA-PSS keys
        0x0403 | 0x0503 | 0x0603 => 408,                 // EC
        0x0807 => 1087,                                  // Ed25519
        _ => 0,
    }
}

/// The key type a TLS 1.2 suite authenticates with (ferrotls's suites).
fn suite_key_type(s: u16) -> c_int {
    match s {
        0xc02b | 0xc02c | 0xcca9 => 408,
        0xc02f | 0xc030 | 0xcca8 => 6,
        _ => 0,
    }
}

/// Certified keys made from libcrypto objects, kept while the objects are (the references
/// held here keep their pointers from being reused).
#[derive(Default)]
pub struct CertifiedCache(Mutex<Vec<CertifiedEntry>>);

/// A certificate, its chain and key (the references keep the pointers valid), and what the
/// engine made of them.
type CertifiedEntry = (X509Ref, Vec<X509Ref>, PKeyRef, Arc<CertifiedKey>);

impl CertifiedCache {
    pub fn get_or_make(
        &self,
        cert: &X509Ref,
        chain: &[X509Ref],
        key: &PKeyRef,
        make: impl FnOnce() -> Option<Arc<CertifiedKey>>,
    ) -> Option<Arc<CertifiedKey>> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let same = |(c, ch, k, _): &&CertifiedEntry| {
            c.0 == cert.0
                && k.0 == key.0
                && ch.len() == chain.len()
                && ch.iter().zip(chain).all(|(a, b)| a.0 == b.0)
        };
        if let Some(hit) = v.iter().find(same) {
            return Some(hit.3.clone());
        }
        let ck = make()?;
        if v.len() >= 16 {
            v.remove(0);
        }
        v.push((cert.clone(), chain.to_vec(), key.clone(), ck.clone()));
        Some(ck)
    }
}

impl Ctx {
    /// The engine's certified key for a certificate, its chain (or the one completed from the
    /// trust store) and key.
    pub fn certified(
        &self,
        cert: &X509Ref,
        chain: &[X509Ref],
        key: &PKeyRef,
    ) -> Option<Arc<CertifiedKey>> {
        self.certified.get_or_make(cert, chain, key, || {
            let auto;
            let chain = if chain.is_empty() && self.s.mode & crate::ctx::SSL_MODE_NO_AUTO_CHAIN == 0
            {
                auto = self.chain_from_store(cert);
                &auto[..]
            } else {
                chain
            };
            let pem = crate::x509::certs_pem(std::iter::once(cert).chain(chain.iter()));
            let key = crate::x509::key_pem(key)?;
            CertifiedKey::from_pem(&pem, &key).ok()
        })
    }
}

/// The server session cache through the program's callbacks: a session the engine makes is
/// handed to `sess_set_new_cb` (as an SSL_SESSION the program may i2d and share between
/// processes), a session ID the engine does not know is asked of `sess_set_get_cb`.
#[derive(Debug, Default)]
pub struct CallbackStore {
    /// The engine's own cache beside the callbacks (unless SSL_SESS_CACHE_NO_INTERNAL).
    internal: Mutex<std::collections::VecDeque<(Vec<u8>, Vec<u8>)>>,
}

const SSL_SESS_CACHE_NO_INTERNAL_LOOKUP: std::ffi::c_long = 0x0100;
const SSL_SESS_CACHE_NO_INTERNAL_STORE: std::ffi::c_long = 0x0200;
const INTERNAL_MAX: usize = 1024;

impl ServerSessionStore for CallbackStore {
    fn put(&self, id: Vec<u8>, value: Vec<u8>) -> bool {
        let ptr = current();
        if ptr.is_null() {
            return false;
        }
        // SAFETY: the SSL whose handshake is running; its live context.
        let (ssl, ctx) = unsafe { (&mut *ptr, &*(*ptr).ctx) };
        if ctx.sess_cache_mode & SSL_SESS_CACHE_NO_INTERNAL_STORE == 0 {
            let mut q = self.internal.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() >= INTERNAL_MAX {
                q.pop_front();
            }
            q.push_back((id.clone(), value.clone()));
        }
        if let Some(cb) = ctx.new_session_cb {
            let s = crate::session::SessionRef::from_conn(ssl, value);
            s.set_id(&id);
            let raw = s.into_raw();
            // SAFETY: the program's callback; 1 means it kept our reference.
            if unsafe { cb(ptr.cast(), raw.cast()) } == 0 {
                // SAFETY: the reference it did not keep.
                unsafe { crate::session::SessionRef::release(raw) };
            }
        }
        true
    }

    fn get(&self, id: &[u8]) -> Option<Vec<u8>> {
        let ptr = current();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: as above.
        let ctx = unsafe { &*(*ptr).ctx };
        if ctx.sess_cache_mode & SSL_SESS_CACHE_NO_INTERNAL_LOOKUP == 0 {
            let q = self.internal.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, v)) = q.iter().rev().find(|(k, _)| k == id) {
                return Some(v.clone());
            }
        }
        let cb = ctx.get_session_cb?;
        let mut copy: c_int = 0;
        // SAFETY: the program's callback with its SSL and the id; it returns a session (or
        // NULL) and says in `copy` whether it kept a reference of its own.
        let s = unsafe { cb(ptr.cast(), id.as_ptr(), id.len() as c_int, &mut copy) };
        if s.is_null() {
            return None;
        }
        let s = s.cast::<crate::session::Session>();
        // SAFETY: a live session the program handed us.
        let blob = unsafe { (*s).blob.clone() };
        if copy == 0 {
            // SAFETY: we were given its reference.
            unsafe { crate::session::SessionRef::release(s) };
        }
        (!blob.is_empty()).then_some(blob)
    }
}

/// `SSL_CTX_sess_set_get_cb`'s callback type.
pub type GetSessionCb = Option<
    unsafe extern "C" fn(
        *mut std::ffi::c_void,
        *const c_uchar,
        c_int,
        *mut c_int,
    ) -> *mut std::ffi::c_void,
>;

#[allow(dead_code)]
fn _types(_: &Ssl) {}
