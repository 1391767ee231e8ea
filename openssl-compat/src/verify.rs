//! Certificate verdicts the OpenSSL way, on the engine's check. rustls-webpki (inside the
//! engine) validates the chain against the anchors from the context's X509_STORE; this module
//! turns that verdict into OpenSSL's: an X509_V_ERR code for SSL_get_verify_result, host names
//! checked only when the program asked (SSL_set1_host, as X509_verify_cert does), the verify
//! callback called per depth with a real X509_STORE_CTX (so `X509_STORE_CTX_get_error`,
//! `_get_current_cert`, `_get_ex_data(SSL_get_ex_data_X509_STORE_CTX_idx())` work), its
//! override honoured, and SSL_VERIFY_NONE accepting whatever the verdict.

use std::ffi::{CStr, c_int, c_long, c_void};
use std::sync::OnceLock;

use ferrotls::error::{CertErrorKind, Error};
use ferrotls::verify::{ClientCertVerifier, ServerCertVerifier};
use pki_types::CertificateDer;

use crate::ctx::{SSL_VERIFY_PEER, VerifyCb};
use crate::libcrypto::*;
use crate::ssl::current;
use crate::x509::X509Ref;

pub const X509_V_OK: c_int = 0;
pub const X509_V_ERR_UNABLE_TO_GET_CRL: c_int = 3;
pub const X509_V_ERR_CRL_HAS_EXPIRED: c_int = 12;
pub const X509_V_ERR_UNSPECIFIED: c_int = 1;
pub const X509_V_ERR_CERT_SIGNATURE_FAILURE: c_int = 7;
pub const X509_V_ERR_CERT_NOT_YET_VALID: c_int = 9;
pub const X509_V_ERR_CERT_HAS_EXPIRED: c_int = 10;
pub const X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: c_int = 18;
pub const X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: c_int = 19;
pub const X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: c_int = 20;
pub const X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: c_int = 21;
pub const X509_V_ERR_CERT_CHAIN_TOO_LONG: c_int = 22;
pub const X509_V_ERR_CERT_REVOKED: c_int = 23;
pub const X509_V_ERR_INVALID_CA: c_int = 24;
pub const X509_V_ERR_INVALID_PURPOSE: c_int = 26;
pub const X509_V_ERR_APPLICATION_VERIFICATION: c_int = 50;
pub const X509_V_ERR_HOSTNAME_MISMATCH: c_int = 62;

/// The verifier the engine consults for both roles.
#[derive(Debug)]
pub struct OsslVerifier;

impl ServerCertVerifier for OsslVerifier {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: &str,
        _builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        decide(chain, Some(server_name), false)
    }
}

impl ClientCertVerifier for OsslVerifier {
    fn verify_client_cert(
        &self,
        chain: &[CertificateDer<'_>],
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        if chain.is_empty() {
            // No certificate from a client: the engine applies FAIL_IF_NO_PEER_CERT itself,
            // and OpenSSL calls no callback.
            return builtin.clone();
        }
        decide(chain, None, true)
    }
}

/// `SSL_get_ex_data_X509_STORE_CTX_idx()`: the ex_data index under which the verify callback
/// finds the SSL in its X509_STORE_CTX (registered with libcrypto once).
pub fn store_ctx_ssl_index() -> c_int {
    static IDX: OnceLock<c_int> = OnceLock::new();
    *IDX.get_or_init(|| {
        // SAFETY: registers an index with no callbacks; the name is static.
        unsafe {
            CRYPTO_get_ex_new_index(
                CRYPTO_EX_INDEX_X509_STORE_CTX,
                0,
                c"SSL for verify callback".as_ptr().cast_mut().cast(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_ex_data_X509_STORE_CTX_idx() -> c_int {
    store_ctx_ssl_index()
}

fn self_signed(x: &X509Ref) -> bool {
    // SAFETY: a live certificate; X509_check_issued returns X509_V_OK (0) when it issued itself.
    unsafe { X509_check_issued(x.0, x.0) == 0 }
}

/// The anchor in `store` that issued the top of `certs`, if the top is not one itself.
///
/// # Safety
/// `store` is a live X509_STORE.
pub fn anchor_for(store: *mut X509_STORE, certs: &[X509Ref]) -> Option<X509Ref> {
    let top = certs.last()?;
    if self_signed(top) {
        return None;
    }
    // SAFETY: a live store (per the caller) and live certificates.
    unsafe { crate::x509::store_certs(store) }
        .into_iter()
        .find(|a| unsafe { X509_check_issued(a.0, top.0) } == 0)
}

/// The first host name SSL_set1_host asked for.
pub fn first_host(param: *mut X509_VERIFY_PARAM) -> Option<String> {
    if param.is_null() {
        return None;
    }
    // SAFETY: a live parameter object; get0_host returns NULL or a NUL-terminated name it owns.
    let p = unsafe { X509_VERIFY_PARAM_get0_host(param, 0) };
    // SAFETY: as above.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn hosts(param: *mut X509_VERIFY_PARAM) -> Vec<std::ffi::CString> {
    let mut out = Vec::new();
    if param.is_null() {
        return out;
    }
    for i in 0.. {
        // SAFETY: as in first_host; NULL past the last.
        let p = unsafe { X509_VERIFY_PARAM_get0_host(param, i) };
        if p.is_null() {
            break;
        }
        // SAFETY: a NUL-terminated name.
        out.push(unsafe { CStr::from_ptr(p) }.to_owned());
    }
    out
}

/// OpenSSL's code and depth for the engine's refusal of `certs`.
fn code_for(kind: CertErrorKind, certs: &[X509Ref]) -> (c_int, usize) {
    let top = certs.len().saturating_sub(1);
    match kind {
        CertErrorKind::Expired => (X509_V_ERR_CERT_HAS_EXPIRED, 0),
        CertErrorKind::NotYetValid => (X509_V_ERR_CERT_NOT_YET_VALID, 0),
        CertErrorKind::UnknownIssuer => {
            if certs.len() == 1 && self_signed(&certs[0]) {
                (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0)
            } else if certs.last().is_some_and(self_signed) {
                (X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, top)
            } else {
                (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, top)
            }
        }
        CertErrorKind::BadSignature => (X509_V_ERR_CERT_SIGNATURE_FAILURE, 0),
        CertErrorKind::InvalidPurpose => (X509_V_ERR_INVALID_PURPOSE, 0),
        CertErrorKind::NotCa => (X509_V_ERR_INVALID_CA, top.min(1)),
        CertErrorKind::Revoked => (X509_V_ERR_CERT_REVOKED, 0),
        CertErrorKind::NameMismatch => (X509_V_ERR_HOSTNAME_MISMATCH, 0),
        _ => (X509_V_ERR_UNSPECIFIED, 0),
    }
}

/// The engine's check of `chain` against the context's anchors as they are now (`name`: the
/// name the client engine was given, for a server's chain).
fn engine_check(
    ctx: &crate::ctx::Ctx,
    chain: &[CertificateDer<'_>],
    name: Option<&str>,
    crl_flags: std::ffi::c_ulong,
) -> Result<(), Error> {
    let roots = ctx.trust_anchors(crl_flags);
    let owned: Vec<CertificateDer<'static>> =
        chain.iter().map(|c| c.clone().into_owned()).collect();
    let now = pki_types::UnixTime::now();
    match name {
        Some(n) => {
            let sn =
                pki_types::ServerName::try_from(n.to_owned()).map_err(|_| Error::Certificate {
                    kind: CertErrorKind::NameMismatch,
                    detail: format!("'{n}' is not a DNS name or an IP address"),
                })?;
            ferrotls::verify::verify_server_cert(&roots, &owned, &sn, now).map(|_| ())
        }
        None => ferrotls::verify::verify_client_cert(&roots, &owned, now).map(|_| ()),
    }
}

/// The final verdict for the SSL whose handshake is running.
fn decide(chain: &[CertificateDer<'_>], name: Option<&str>, server: bool) -> Result<(), Error> {
    let ptr = current();
    if ptr.is_null() {
        return Err(Error::Certificate {
            kind: CertErrorKind::Other,
            detail: "internal error: a certificate to verify outside an SSL call".into(),
        });
    }
    // SAFETY: the SSL whose call is running on this thread; its context is live.
    let ssl = unsafe { &mut *ptr };
    // SAFETY: the store's and the SSL's live parameter objects: CRL checks asked for.
    let crl_flags = unsafe {
        (X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param((*ssl.ctx).store))
            | X509_VERIFY_PARAM_get_flags(ssl.param))
            & (crate::ctx::X509_V_FLAG_CRL_CHECK | crate::ctx::X509_V_FLAG_CRL_CHECK_ALL)
    };
    // SAFETY: as above.
    let builtin = &engine_check(unsafe { &*ssl.ctx }, chain, name, crl_flags);
    let (verify_mode, verify_cb, depth_limit): (c_int, VerifyCb, c_int) =
        (ssl.s.verify_mode, ssl.s.verify_cb, ssl.s.verify_depth);
    // SAFETY: as above.
    let store = unsafe { &*ssl.ctx }.store;
    let certs: Vec<X509Ref> = chain.iter().filter_map(|c| X509Ref::from_der(c)).collect();
    if certs.len() != chain.len() {
        return builtin.clone();
    }

    // 1. The engine's verdict in OpenSSL's terms. A client's engine also checked the name it
    //    was given (SNI); OpenSSL checks a name only when asked, below.
    let mut pre: Vec<(c_int, usize)> = Vec::new(); // before the per-depth pass (chain building, host)
    let mut at: Vec<(c_int, usize)> = Vec::new(); // found at a depth (dates, signatures)
    let mut refusal: Option<Error> = None;
    match builtin {
        Ok(()) => {}
        Err(Error::Certificate {
            kind: CertErrorKind::NameMismatch,
            ..
        }) if !server => {}
        Err(e @ Error::Certificate { kind, detail }) => {
            let (code, depth) = match (kind, detail) {
                // The engine's revocation verdicts in OpenSSL's codes.
                (CertErrorKind::Other, d) if d.contains("revocation status") => {
                    (X509_V_ERR_UNABLE_TO_GET_CRL, 0)
                }
                (CertErrorKind::Other, d) if d.contains("CRL that covers") => {
                    (X509_V_ERR_CRL_HAS_EXPIRED, 0)
                }
                _ => code_for(*kind, &certs),
            };
            match kind {
                CertErrorKind::UnknownIssuer => {
                    pre.push((code, depth));
                    // A lone certificate that chains to nothing: once the program overrides
                    // that, OpenSSL reports it cannot verify the leaf's signature either.
                    if certs.len() == 1 && code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY {
                        pre.push((X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0));
                    }
                }
                _ => at.push((code, depth)),
            }
            refusal = Some(e.clone());
        }
        Err(e) => return Err(e.clone()),
    }
    // 2. Host names the program asked for (SSL_set1_host / SSL_add1_host): any one matches.
    let wanted = hosts(ssl.param);
    if !server && !wanted.is_empty() {
        // SAFETY: a live parameter object and leaf; names are NUL-terminated.
        let flags = unsafe { X509_VERIFY_PARAM_get_hostflags(ssl.param) };
        let matched = wanted.iter().find(|h| unsafe {
            X509_check_host(
                certs[0].0,
                h.as_ptr(),
                h.as_bytes().len(),
                flags,
                std::ptr::null_mut(),
            ) == 1
        });
        ssl.peername = matched.cloned();
        if matched.is_none() {
            pre.insert(0, (X509_V_ERR_HOSTNAME_MISMATCH, 0));
            let names: Vec<_> = wanted
                .iter()
                .map(|h| h.to_string_lossy().into_owned())
                .collect();
            refusal.get_or_insert_with(|| Error::Certificate {
                kind: CertErrorKind::NameMismatch,
                detail: format!(
                    "the server's certificate is not valid for {} (the name the program asked for with SSL_set1_host)",
                    names.join(" or ")
                ),
            });
        }
    }
    // 3. The depth limit (SSL_CTX_set_verify_depth).
    let mut full = certs.clone();
    full.extend(anchor_for(store, &certs));
    if depth_limit >= 0 && full.len() > depth_limit as usize + 1 {
        at.push((X509_V_ERR_CERT_CHAIN_TOO_LONG, depth_limit as usize + 1));
        refusal.get_or_insert_with(|| Error::Certificate {
            kind: CertErrorKind::Other,
            detail: format!(
                "the chain has {} certificates; the program allows a depth of {depth_limit} (SSL_CTX_set_verify_depth)",
                full.len()
            ),
        });
    }

    // 4. The callback, as OpenSSL calls it: failures found while building the chain first,
    //    then each certificate from the top down, its own failures before its "ok".
    let mut result = X509_V_OK;
    let mut refused_by_cb = false;
    let mut overridden = false;
    if let Some(cb) = verify_cb {
        let call = Callback::new(store, &full, ptr);
        let run = |ok: c_int, code: c_int, depth: usize| -> bool {
            // SAFETY: the callback's own X509_STORE_CTX, made for this call.
            unsafe { call.invoke(cb, ok, code, depth.min(full.len() - 1)) }
        };
        'calls: {
            for &(code, depth) in &pre {
                result = code;
                if !run(0, code, depth) {
                    refused_by_cb = true;
                    break 'calls;
                }
                overridden = true;
            }
            for depth in (0..full.len()).rev() {
                for &(code, d) in at.iter().filter(|(_, d)| *d == depth) {
                    result = code;
                    if !run(0, code, d) {
                        refused_by_cb = true;
                        break 'calls;
                    }
                    overridden = true;
                }
                if !run(1, result, depth) {
                    refused_by_cb = true;
                    if result == X509_V_OK {
                        result = X509_V_ERR_APPLICATION_VERIFICATION;
                        refusal.get_or_insert_with(|| Error::Certificate {
                            kind: CertErrorKind::Other,
                            detail: format!("the program's verify callback refused the certificate at depth {depth}"),
                        });
                    }
                    break 'calls;
                }
            }
        }
    } else if let Some(&(code, _)) = pre.first().or(at.first()) {
        result = code;
    }
    ssl.verify_result = c_long::from(result);

    // 5. The verdict: SSL_VERIFY_NONE goes on whatever was found (the result says what).
    if verify_mode & SSL_VERIFY_PEER == 0 && !server {
        return Ok(());
    }
    let _ = overridden;
    match refusal {
        Some(e) if refused_by_cb || verify_cb.is_none() => Err(e),
        Some(_) => Ok(()), // the callback accepted every failure
        None => Ok(()),
    }
}

/// An X509_STORE_CTX for the verify callback, filled the way libcrypto fills its own.
struct Callback {
    sctx: *mut X509_STORE_CTX,
    full: Vec<X509Ref>,
}

impl Callback {
    fn new(store: *mut X509_STORE, full: &[X509Ref], ssl: *mut crate::ssl::Ssl) -> Self {
        // SAFETY: a new store context over the live store, leaf and untrusted chain; the
        // verified chain is a new stack it takes over; the SSL pointer is set for the
        // callback's SSL_get_ex_data_X509_STORE_CTX_idx lookup.
        unsafe {
            let sctx = X509_STORE_CTX_new();
            if !sctx.is_null() {
                let untrusted = crate::x509::stack_of(&full[1..]);
                X509_STORE_CTX_init(sctx, store, full[0].0, untrusted);
                // The untrusted stack must outlive the context: it is freed in drop.
                UNTRUSTED.with(|u| u.borrow_mut().push(untrusted as usize));
                X509_STORE_CTX_set0_verified_chain(sctx, crate::x509::stack_of(full));
                X509_STORE_CTX_set_ex_data(sctx, store_ctx_ssl_index(), ssl.cast::<c_void>());
            }
            Self {
                sctx,
                full: full.to_vec(),
            }
        }
    }

    /// Call `cb(ok, ctx)` with the error and depth set; true if it returned non-zero.
    unsafe fn invoke(
        &self,
        cb: unsafe extern "C" fn(c_int, *mut X509_STORE_CTX) -> c_int,
        ok: c_int,
        code: c_int,
        depth: usize,
    ) -> bool {
        if self.sctx.is_null() {
            return ok != 0;
        }
        // SAFETY: our live store context and certificates; the program's callback.
        unsafe {
            X509_STORE_CTX_set_error(self.sctx, code);
            X509_STORE_CTX_set_error_depth(self.sctx, depth as c_int);
            X509_STORE_CTX_set_current_cert(self.sctx, self.full[depth].0);
            cb(ok, self.sctx) != 0
        }
    }
}

thread_local! {
    static UNTRUSTED: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for Callback {
    fn drop(&mut self) {
        // SAFETY: our store context, then the untrusted stacks made for it.
        unsafe {
            if !self.sctx.is_null() {
                X509_STORE_CTX_free(self.sctx);
            }
            for sk in UNTRUSTED.with(|u| std::mem::take(&mut *u.borrow_mut())) {
                crate::x509::free_stack(sk as *mut OPENSSL_STACK);
            }
        }
    }
}
