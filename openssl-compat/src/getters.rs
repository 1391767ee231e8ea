//! The small SSL_* calls: per-connection settings that mirror the context's, and what the
//! handshake negotiated, in OpenSSL's types (X509 objects, SSL_CIPHER, NIDs, C strings).

use std::ffi::{CStr, c_char, c_int, c_long, c_uchar, c_uint, c_void};

use ferrotls::conn::Connection;

use crate::ctx::*;
use crate::err::*;
use crate::libcrypto::*;
use crate::nonnull;
use crate::ssl::{Ssl, enter, ssl_or};
use crate::x509::{PKeyRef, X509Ref};

/// The digest NID of a signature scheme (obj_mac.h), for SSL_get_peer_signature_nid.
pub fn sig_digest_nid(scheme: u16) -> c_int {
    match scheme {
        0x0401 | 0x0403 | 0x0804 | 0x0809 => 672, // SHA256
        0x0501 | 0x0503 | 0x0805 | 0x080a => 673, // SHA384
        0x0601 | 0x0603 | 0x0806 | 0x080b => 674, // SHA512
        _ => 0,
    }
}

/// The signature type NID (EVP_PKEY_RSA 6, RSA-PSS 912, EC 408, ED25519 1087).
fn sig_type_nid(scheme: u16) -> c_int {
    match scheme {
        0x0401 | 0x0501 | 0x0601 => 6,
        0x0804..=0x0806 | 0x0809..=0x080b => 912,
        0x0403 | 0x0503 | 0x0603 => 408,
        0x0807 => 1087,
        _ => 0,
    }
}

fn conn<'a>(ssl: *const Ssl) -> Option<&'a Connection> {
    // SAFETY: a live SSL or NULL.
    (!ssl.is_null())
        .then(|| unsafe { (*ssl).conn.as_ref() })
        .flatten()
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_version(ssl: *const Ssl) -> *const c_char {
    match conn(ssl)
        .and_then(Connection::protocol_version)
        .map(|v| v.to_int())
    {
        Some(0x0304) => c"TLSv1.3".as_ptr(),
        Some(0x0303) => c"TLSv1.2".as_ptr(),
        _ => c"unknown".as_ptr(),
    }
}

/// `SSL_version(ssl)`: the negotiated version; before, the method's (TLS_ANY_VERSION 0x10000).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_version(ssl: *const Ssl) -> c_int {
    conn(ssl)
        .and_then(Connection::protocol_version)
        .map_or(0x10000, |v| c_int::from(v.to_int()))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_version(ssl: *const Ssl) -> c_int {
    // The legacy_version of a TLS 1.2/1.3 ClientHello.
    if conn(ssl).is_some() { 0x0303 } else { 0 }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_current_cipher(
    ssl: *const Ssl,
) -> *const crate::cipher::SslCipher {
    conn(ssl)
        .and_then(Connection::cipher_suite)
        .and_then(|c| crate::cipher::by_id(c.to_int()))
        .map_or(std::ptr::null(), crate::cipher::as_ptr)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_pending_cipher(
    ssl: *const Ssl,
) -> *const crate::cipher::SslCipher {
    _ferrossl_SSL_get_current_cipher(ssl)
}

fn suites_of(s: &Settings) -> Vec<u16> {
    s.tls13_suites
        .iter()
        .chain(&s.tls12_suites)
        .copied()
        .collect()
}

/// `SSL_get_ciphers(ssl)` / `SSL_CTX_get_ciphers(ctx)`: OpenSSL keeps the stack with the
/// object and the caller does not free it; we keep one per thread per call site, replaced by
/// the next call (the same lifetime programs observe in practice: used at once).
fn cipher_stack(ids: Vec<u16>) -> *mut c_void {
    thread_local! { static LAST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) }; }
    let sk = crate::cipher::stack_of(&ids);
    let old = LAST.with(|l| l.replace(sk as usize));
    if old != 0 {
        // SAFETY: the stack we made on the previous call (its elements are static).
        unsafe { OPENSSL_sk_free(old as *mut c_void) };
    }
    sk
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_ciphers(ssl: *const Ssl) -> *mut c_void {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL.
    cipher_stack(suites_of(unsafe { &(*ssl).s }))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_ciphers(ctx: *const Ctx) -> *mut c_void {
    if ctx.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live context.
    cipher_stack(suites_of(unsafe { &(*ctx).s }))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get1_supported_ciphers(ssl: *const Ssl) -> *mut c_void {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL; this stack is the caller's to free.
    crate::cipher::stack_of(&suites_of(unsafe { &(*ssl).s }))
}

/// `SSL_get_cipher_list(ssl, n)`: the OpenSSL name of the n-th enabled suite, or NULL.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_cipher_list(ssl: *const Ssl, n: c_int) -> *const c_char {
    if ssl.is_null() || n < 0 {
        return std::ptr::null();
    }
    // SAFETY: a live SSL.
    suites_of(unsafe { &(*ssl).s })
        .get(n as usize)
        .and_then(|&id| crate::cipher::by_id(id))
        .map_or(std::ptr::null(), |c| c.name().as_ptr())
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_cipher_list(ssl: *mut Ssl, s: *const c_char) -> c_int {
    let f = c"SSL_set_cipher_list";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        parse_list(f, s, crate::cipher::parse_cipher_list).map_or(0, |l| {
            ssl.s.tls12_suites = l;
            1
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_ciphersuites(ssl: *mut Ssl, s: *const c_char) -> c_int {
    let f = c"SSL_set_ciphersuites";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        parse_list(f, s, crate::cipher::parse_ciphersuites).map_or(0, |l| {
            ssl.s.tls13_suites = l;
            1
        })
    })
}

/// `SSL_get1_peer_certificate(ssl)`: the peer's certificate, a reference the caller frees.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get1_peer_certificate(ssl: *mut Ssl) -> *mut X509 {
    let f = c"SSL_get1_peer_certificate";
    guard(f, std::ptr::null_mut(), || {
        let ssl = ssl_or!(f, ssl, std::ptr::null_mut());
        ssl.peer()
            .certs
            .first()
            .cloned()
            .map_or(std::ptr::null_mut(), X509Ref::into_raw)
    })
}

/// `SSL_get_peer_cert_chain(ssl)`: the SSL's own stack (not the caller's to free).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_peer_cert_chain(ssl: *mut Ssl) -> *mut OPENSSL_STACK {
    let f = c"SSL_get_peer_cert_chain";
    guard(f, std::ptr::null_mut(), || {
        let ssl = ssl_or!(f, ssl, std::ptr::null_mut());
        ssl.peer().stack
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_verified_chain(ssl: *mut Ssl) -> *mut OPENSSL_STACK {
    let f = c"SSL_get0_verified_chain";
    guard(f, std::ptr::null_mut(), || {
        let ssl = ssl_or!(f, ssl, std::ptr::null_mut());
        ssl.peer().verified
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_verify_result(ssl: *const Ssl) -> c_long {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    unsafe { (*ssl).verify_result }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_verify_result(ssl: *mut Ssl, v: c_long) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).verify_result = v };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_verify(ssl: *mut Ssl, mode: c_int, cb: VerifyCb) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        let ssl = unsafe { &mut *ssl };
        ssl.s.verify_mode = mode;
        ssl.s.verify_cb = cb;
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_verify_depth(ssl: *mut Ssl, depth: c_int) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).s.verify_depth = depth };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_verify_mode(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        0
    } else {
        unsafe { (*ssl).s.verify_mode }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_verify_depth(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        0
    } else {
        unsafe { (*ssl).s.verify_depth }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_verify_callback(ssl: *const Ssl) -> VerifyCb {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        None
    } else {
        unsafe { (*ssl).s.verify_cb }
    }
}

/// `SSL_set1_host(ssl, name)`: the name the peer's certificate must carry (replacing any).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set1_host(ssl: *mut Ssl, name: *const c_char) -> c_int {
    let f = c"SSL_set1_host";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        // SAFETY: a live parameter object; NULL clears the names.
        unsafe { X509_VERIFY_PARAM_set1_host(ssl.param, name, 0) }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_add1_host(ssl: *mut Ssl, name: *const c_char) -> c_int {
    let f = c"SSL_add1_host";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        // SAFETY: as above.
        unsafe { X509_VERIFY_PARAM_add1_host(ssl.param, name, 0) }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_hostflags(ssl: *mut Ssl, flags: c_uint) {
    if !ssl.is_null() {
        // SAFETY: a live SSL's parameter object.
        unsafe { X509_VERIFY_PARAM_set_hostflags((*ssl).param, flags) };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_param(ssl: *mut Ssl) -> *mut X509_VERIFY_PARAM {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        std::ptr::null_mut()
    } else {
        unsafe { (*ssl).param }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_peername(ssl: *mut Ssl) -> *const c_char {
    if ssl.is_null() {
        return std::ptr::null();
    }
    // SAFETY: a live SSL.
    unsafe {
        (*ssl)
            .peername
            .as_ref()
            .map_or(std::ptr::null(), |c| c.as_ptr())
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_options(ssl: *mut Ssl, op: u64) -> u64 {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    let s = unsafe { &mut (*ssl).s };
    s.options |= op;
    s.options
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_clear_options(ssl: *mut Ssl, op: u64) -> u64 {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    let s = unsafe { &mut (*ssl).s };
    s.options &= !op;
    s.options
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_options(ssl: *const Ssl) -> u64 {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        0
    } else {
        unsafe { (*ssl).s.options }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_use_certificate(ssl: *mut Ssl, x: *mut X509) -> c_int {
    let f = c"SSL_use_certificate";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        nonnull!(f, x, 0);
        // SAFETY: the caller's live certificate; we take a reference.
        if let Some(x) = unsafe { X509Ref::share(x) } {
            load::set_cert(&mut ssl.s, x);
        }
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_use_PrivateKey(ssl: *mut Ssl, k: *mut EVP_PKEY) -> c_int {
    let f = c"SSL_use_PrivateKey";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        nonnull!(f, k, 0);
        // SAFETY: the caller's live key; we take a reference.
        c_int::from(unsafe { PKeyRef::share(k) }.is_some_and(|k| load::set_key(&mut ssl.s, k)))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_use_certificate_file(
    ssl: *mut Ssl,
    file: *const c_char,
    typ: c_int,
) -> c_int {
    let f = c"SSL_use_certificate_file";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        load::cert_file(f, file, typ).map_or(0, |x| {
            load::set_cert(&mut ssl.s, x);
            1
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_use_certificate_chain_file(
    ssl: *mut Ssl,
    file: *const c_char,
) -> c_int {
    let f = c"SSL_use_certificate_chain_file";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        load::chain_file(f, file).map_or(0, |(x, chain)| {
            load::set_cert(&mut ssl.s, x);
            ssl.s.chain = chain;
            1
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_use_PrivateKey_file(
    ssl: *mut Ssl,
    file: *const c_char,
    typ: c_int,
) -> c_int {
    let f = c"SSL_use_PrivateKey_file";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        // SAFETY: the SSL's live context.
        let (cb, arg) = unsafe { ((*ssl.ctx).passwd_cb, (*ssl.ctx).passwd_arg) };
        load::key_file(f, file, typ, cb, arg)
            .map_or(0, |k| c_int::from(load::set_key(&mut ssl.s, k)))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_check_private_key(ssl: *const Ssl) -> c_int {
    let f = c"SSL_check_private_key";
    guard(f, 0, || {
        nonnull!(f, ssl, 0);
        // SAFETY: a live SSL.
        check_key(f, unsafe { &(*ssl).s })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_certificate(ssl: *const Ssl) -> *mut X509 {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    unsafe { (*ssl).s.cert.as_ref().map_or(std::ptr::null_mut(), |c| c.0) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_privatekey(ssl: *const Ssl) -> *mut EVP_PKEY {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    unsafe { (*ssl).s.key.as_ref().map_or(std::ptr::null_mut(), |k| k.0) }
}

/// `SSL_set_alpn_protos`: 0 on success, as the context's.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_alpn_protos(ssl: *mut Ssl, p: *const u8, len: c_uint) -> c_int {
    let f = c"SSL_set_alpn_protos";
    guard(f, 1, || {
        let ssl = ssl_or!(f, ssl, 1);
        let Some(l) = parse_alpn_wire(p, len) else {
            raise(
                f,
                SSL_R_BAD_VALUE,
                "the ALPN list is not in wire format (length-prefixed names)",
            );
            return 1;
        };
        ssl.alpn_override = Some(l);
        0
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_alpn_selected(
    ssl: *const Ssl,
    data: *mut *const c_uchar,
    len: *mut c_uint,
) {
    let sel = conn(ssl).and_then(Connection::alpn_protocol);
    // SAFETY: the caller's out-parameters; the bytes live with the connection.
    unsafe {
        if !data.is_null() {
            *data = sel.map_or(std::ptr::null(), <[u8]>::as_ptr);
        }
        if !len.is_null() {
            *len = sel.map_or(0, |s| s.len() as c_uint);
        }
    }
}

/// `SSL_select_next_proto`: the first of the server's protocols that the client also lists
/// (OPENSSL_NPN_NEGOTIATED 1); with none in common, the client's first (NO_OVERLAP 2).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_select_next_proto(
    out: *mut *mut c_uchar,
    outlen: *mut c_uchar,
    server: *const c_uchar,
    server_len: c_uint,
    client: *const c_uchar,
    client_len: c_uint,
) -> c_int {
    let f = c"SSL_select_next_proto";
    guard(f, 2, || {
        nonnull!(f, out, 2);
        nonnull!(f, outlen, 2);
        let items = |p: *const c_uchar, n: c_uint| -> Vec<(usize, u8)> {
            let mut v = Vec::new();
            if p.is_null() {
                return v;
            }
            // SAFETY: the caller's `n` bytes.
            let b = unsafe { std::slice::from_raw_parts(p, n as usize) };
            let mut i = 0;
            while i < b.len() {
                let l = b[i] as usize;
                if l == 0 || i + 1 + l > b.len() {
                    break;
                }
                v.push((i + 1, b[i]));
                i += 1 + l;
            }
            v
        };
        let sv = items(server, server_len);
        let cv = items(client, client_len);
        // SAFETY: offsets within the caller's buffers (checked above).
        let bytes = |p: *const c_uchar, (o, l): (usize, u8)| unsafe {
            std::slice::from_raw_parts(p.add(o), l as usize)
        };
        for &s in &sv {
            for &c in &cv {
                if bytes(server, s) == bytes(client, c) {
                    // SAFETY: out-parameters; the pointer is into the server's list.
                    unsafe {
                        *out = server.add(s.0).cast_mut();
                        *outlen = s.1;
                    }
                    return 1;
                }
            }
        }
        // SAFETY: as above, into the client's list (or NULL when it is empty).
        unsafe {
            match cv.first() {
                Some(&c) => {
                    *out = client.add(c.0).cast_mut();
                    *outlen = c.1;
                }
                None => {
                    *out = std::ptr::null_mut();
                    *outlen = 0;
                }
            }
        }
        2
    })
}

/// `SSL_get_servername(ssl, type)`: a client's SNI name, or the one a server received.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_servername(ssl: *mut Ssl, typ: c_int) -> *const c_char {
    if ssl.is_null() || typ != 0 {
        return std::ptr::null();
    }
    // SAFETY: a live SSL.
    let ssl = unsafe { &mut *ssl };
    let name = match ssl.role {
        ferrotls::config::Role::Client => ssl.host.clone(),
        ferrotls::config::Role::Server => ssl
            .conn
            .as_ref()
            .and_then(|c| c.server_name().map(str::to_owned)),
    };
    ssl.servername = name.and_then(|n| std::ffi::CString::new(n).ok());
    ssl.servername
        .as_ref()
        .map_or(std::ptr::null(), |c| c.as_ptr())
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_servername_type(ssl: *mut Ssl) -> c_int {
    if _ferrossl_SSL_get_servername(ssl, 0).is_null() {
        -1
    } else {
        0
    }
}

/// Compression is never used (it is unsafe in TLS, and TLS 1.3 has none).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_current_compression(_ssl: *const Ssl) -> *const c_void {
    std::ptr::null()
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_current_expansion(_ssl: *const Ssl) -> *const c_void {
    std::ptr::null()
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_COMP_get_name(_comp: *const c_void) -> *const c_char {
    std::ptr::null()
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_COMP_get0_name(_comp: *const c_void) -> *const c_char {
    std::ptr::null()
}
/// An empty list of compression methods (the program may walk or clear it).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_COMP_get_compression_methods() -> *mut c_void {
    static EMPTY: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: one empty stack for the life of the process.
    *EMPTY.get_or_init(|| unsafe { OPENSSL_sk_new_null() } as usize) as *mut c_void
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_COMP_add_compression_method(_id: c_int, _cm: *mut c_void) -> c_int {
    raise(
        c"SSL_COMP_add_compression_method",
        ERR_R_UNSUPPORTED,
        "TLS compression is not supported (CRIME; TLS 1.3 has none)",
    );
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_peer_signature_type_nid(
    ssl: *const Ssl,
    pnid: *mut c_int,
) -> c_int {
    let Some(s) = conn(ssl).and_then(Connection::signature_scheme) else {
        return 0;
    };
    let nid = sig_type_nid(s.to_int());
    if nid == 0 || pnid.is_null() {
        return 0;
    }
    // SAFETY: the caller's out-parameter.
    unsafe { *pnid = nid };
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_export_keying_material(
    ssl: *mut Ssl,
    out: *mut c_uchar,
    olen: usize,
    label: *const c_char,
    llen: usize,
    context: *const c_uchar,
    clen: usize,
    use_context: c_int,
) -> c_int {
    let f = c"SSL_export_keying_material";
    guard(f, 0, || {
        nonnull!(f, out, 0);
        nonnull!(f, label, 0);
        let Some(c) = conn(ssl) else {
            raise(f, SSL_R_UNINITIALIZED, "no connection yet");
            return 0;
        };
        // SAFETY: the caller's buffers of the given lengths.
        let (o, l) = unsafe {
            (
                std::slice::from_raw_parts_mut(out, olen),
                std::slice::from_raw_parts(label.cast::<u8>(), llen),
            )
        };
        let ctx = (use_context != 0).then(|| {
            if context.is_null() {
                &[][..]
            } else {
                unsafe { std::slice::from_raw_parts(context, clen) }
            }
        });
        match c.export_keying_material(o, l, ctx) {
            Ok(()) => 1,
            Err(e) => {
                raise(f, SSL_R_BAD_VALUE, &e.to_string());
                0
            }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_msg_callback(ssl: *mut Ssl, cb: MsgCb) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).s.msg_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_info_callback(ssl: *mut Ssl, cb: InfoCb) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).info_cb = cb };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_info_callback(ssl: *const Ssl) -> InfoCb {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        None
    } else {
        unsafe { (*ssl).info_cb }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_post_handshake_auth(ssl: *mut Ssl, val: c_int) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).s.post_handshake_auth = val != 0 };
    }
}

fn after_handshake(
    f: &CStr,
    ptr: *mut Ssl,
    op: impl FnOnce(&mut Connection) -> Result<(), ferrotls::error::Error>,
) -> c_int {
    guard(f, 0, || {
        let ssl = ssl_or!(f, ptr, 0);
        let _cur = enter(ptr);
        let Some(c) = ssl.conn.as_mut() else {
            raise(f, SSL_R_UNINITIALIZED, "no connection yet");
            return 0;
        };
        match op(c) {
            Ok(()) => 1,
            Err(e) => {
                raise(f, SSL_R_BAD_VALUE, &e.to_string());
                0
            }
        }
    })
}

/// `SSL_verify_client_post_handshake`: ask the client for a certificate now (TLS 1.3), sent
/// with the next write or handshake call.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_verify_client_post_handshake(ssl: *mut Ssl) -> c_int {
    let f = c"SSL_verify_client_post_handshake";
    // OpenSSL's checks, in its order: a server, TLS 1.3, the client offered it.
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        let s = unsafe { &*ssl };
        if s.role != ferrotls::config::Role::Server {
            raise(
                f,
                SSL_R_NOT_SERVER,
                "post-handshake authentication is asked for by a server",
            );
            return 0;
        }
        let v = s
            .conn
            .as_ref()
            .and_then(Connection::protocol_version)
            .map(|v| v.to_int());
        if v != Some(0x0304) {
            raise(
                f,
                SSL_R_WRONG_SSL_VERSION,
                "post-handshake authentication is TLS 1.3's (TLS 1.2 has renegotiation: SSL_renegotiate)",
            );
            return 0;
        }
    }
    guard(f, 0, || {
        let s = ssl_or!(f, ssl, 0);
        let _cur = enter(ssl);
        let Some(c) = s.conn.as_mut() else {
            raise(f, SSL_R_UNINITIALIZED, "no connection yet");
            return 0;
        };
        match c.request_client_certificate() {
            Ok(()) => 1,
            Err(e) => {
                let text = e.to_string();
                // OpenSSL's reason when the client sent no post_handshake_auth extension.
                let reason = if text.contains("did not offer post_handshake_auth") {
                    SSL_R_EXTENSION_NOT_RECEIVED
                } else {
                    SSL_R_BAD_VALUE
                };
                raise(f, reason, &text);
                0
            }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_renegotiate(ssl: *mut Ssl) -> c_int {
    after_handshake(c"SSL_renegotiate", ssl, Connection::renegotiate)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_key_update(ssl: *mut Ssl, typ: c_int) -> c_int {
    after_handshake(c"SSL_key_update", ssl, |c| c.key_update(typ == 1))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_is_dtls(_ssl: *const Ssl) -> c_int {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_default_timeout(_ssl: *const Ssl) -> c_long {
    7200
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_security_level(ssl: *mut Ssl, level: c_int) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).s.security_level = level };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_security_level(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    if ssl.is_null() {
        0
    } else {
        unsafe { (*ssl).s.security_level }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_num_tickets(ssl: *mut Ssl, n: usize) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    unsafe { (*ssl).s.num_tickets = n.min(16) };
    1
}

/// Copy `bytes` into the caller's buffer (as much as fits) and return their whole length.
fn copy_out(bytes: &[u8], buf: *mut c_void, n: usize) -> usize {
    if !buf.is_null() {
        let k = bytes.len().min(n);
        // SAFETY: the caller's buffer of `n` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), k) };
    }
    bytes.len()
}

/// `SSL_get_finished`: the verify_data of the latest Finished this side sent (the
/// "tls-unique" channel binding of a TLS 1.2 client's first handshake).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_finished(ssl: *const Ssl, buf: *mut c_void, n: usize) -> usize {
    conn(ssl).map_or(0, |c| copy_out(c.finished_messages().0, buf, n))
}

/// `SSL_get_peer_finished`: the latest Finished the peer sent.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_peer_finished(
    ssl: *const Ssl,
    buf: *mut c_void,
    n: usize,
) -> usize {
    conn(ssl).map_or(0, |c| copy_out(c.finished_messages().1, buf, n))
}

fn alert_desc(v: c_int) -> (&'static CStr, &'static CStr) {
    match v & 0xff {
        0 => (c"CN", c"close notify"),
        10 => (c"UM", c"unexpected_message"),
        20 => (c"BM", c"bad record mac"),
        22 => (c"RO", c"record overflow"),
        40 => (c"HF", c"handshake failure"),
        42 => (c"BC", c"bad certificate"),
        43 => (c"UC", c"unsupported certificate"),
        44 => (c"CR", c"certificate revoked"),
        45 => (c"CE", c"certificate expired"),
        46 => (c"CU", c"certificate unknown"),
        47 => (c"IP", c"illegal parameter"),
        48 => (c"CA", c"unknown CA"),
        49 => (c"AD", c"access denied"),
        50 => (c"DE", c"decode error"),
        51 => (c"CY", c"decrypt error"),
        70 => (c"PV", c"protocol version"),
        71 => (c"IS", c"insufficient security"),
        80 => (c"IE", c"internal error"),
        86 => (c"IF", c"inappropriate fallback"),
        90 => (c"US", c"user canceled"),
        100 => (c"NR", c"no renegotiation"),
        109 => (c"MX", c"missing extension"),
        110 => (c"UE", c"unsupported extension"),
        112 => (c"UN", c"unrecognized name"),
        116 => (c"CQ", c"certificate required"),
        120 => (c"NP", c"no application protocol"),
        _ => (c"UK", c"unknown"),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_alert_desc_string_long(v: c_int) -> *const c_char {
    alert_desc(v).1.as_ptr()
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_alert_desc_string(v: c_int) -> *const c_char {
    alert_desc(v).0.as_ptr()
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_alert_type_string_long(v: c_int) -> *const c_char {
    match v >> 8 {
        1 => c"warning".as_ptr(),
        2 => c"fatal".as_ptr(),
        _ => c"unknown".as_ptr(),
    }
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_alert_type_string(v: c_int) -> *const c_char {
    match v >> 8 {
        1 => c"W".as_ptr(),
        2 => c"F".as_ptr(),
        _ => c"U".as_ptr(),
    }
}

/// `ERR_load_SSL_strings()`: our reason strings are registered at load (see lib.rs).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_ERR_load_SSL_strings() -> c_int {
    crate::register_strings();
    1
}
