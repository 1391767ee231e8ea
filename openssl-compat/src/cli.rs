//! Calls the openssl command makes to describe a connection (`s_client`'s summary): where
//! ferrotls has nothing to report (DANE, SRTP, CA name lists from the peer), the answer is
//! OpenSSL's own "none" (-1 or NULL), never a stub's 0 that would read as a value.

use std::ffi::{c_int, c_long, c_void};

use ferrotls::conn::Connection;

use crate::libcrypto::*;
use crate::session::Session;
use crate::ssl::Ssl;

/// `SSL_get_key_update_type`: SSL_KEY_UPDATE_NONE (-1): no KeyUpdate is waiting to be sent
/// (the engine sends one at once when asked).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_key_update_type(_ssl: *const Ssl) -> c_int {
    -1
}

/// `SSL_get0_peer_certificate`: the peer's certificate, still owned by the SSL.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_peer_certificate(ssl: *mut Ssl) -> *mut X509 {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL.
    unsafe { &mut *ssl }
        .peer()
        .certs
        .first()
        .map_or(std::ptr::null_mut(), |c| c.0)
}

/// The CA names a peer sent (certificate_authorities): not kept by the engine.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_peer_CA_list(_ssl: *const Ssl) -> *const c_void {
    std::ptr::null()
}

/// `SSL_get_client_CA_list`: a server's list is its context's; a client's (the names the
/// server sent) is not kept by the engine.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_client_CA_list(ssl: *const Ssl) -> *mut c_void {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL and its context.
    unsafe {
        if (*ssl).role != ferrotls::config::Role::Server {
            std::ptr::null_mut()
        } else if !(*ssl).client_ca_list.is_null() {
            (*ssl).client_ca_list
        } else {
            (*(*ssl).ctx).client_ca_list
        }
    }
}

/// `SSL_set_client_CA_list(ssl, list)`: this connection's list (taken over), instead of the
/// context's.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_client_CA_list(ssl: *mut Ssl, list: *mut OPENSSL_STACK) {
    if ssl.is_null() {
        return;
    }
    // SAFETY: a live SSL; its old list is ours.
    unsafe {
        if (*ssl).client_ca_list != list {
            crate::ctx::free_names((*ssl).client_ca_list);
        }
        (*ssl).client_ca_list = list;
    }
}

/// The peer's signature algorithm lists: the engine reports only the one used (see
/// SSL_get_peer_signature_type_nid), so the lists are empty (0), as OpenSSL says for none.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_sigalgs(
    _ssl: *mut Ssl,
    _idx: c_int,
    _a: *mut c_int,
    _b: *mut c_int,
    _c: *mut c_int,
    _d: *mut u8,
    _e: *mut u8,
) -> c_int {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_shared_sigalgs(
    _ssl: *mut Ssl,
    _idx: c_int,
    _a: *mut c_int,
    _b: *mut c_int,
    _c: *mut c_int,
    _d: *mut u8,
    _e: *mut u8,
) -> c_int {
    0
}

/// DANE is not supported: no authority (-1), no TLSA record (-1).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_dane_authority(
    _ssl: *mut Ssl,
    _mcert: *mut c_void,
    _mspki: *mut c_void,
) -> c_int {
    -1
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_dane_tlsa(
    _ssl: *mut Ssl,
    _u: *mut u8,
    _s: *mut u8,
    _m: *mut u8,
    _d: *mut c_void,
    _l: *mut usize,
) -> c_int {
    -1
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_selected_srtp_profile(_ssl: *mut Ssl) -> *const c_void {
    std::ptr::null()
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_srtp_profiles(_ssl: *mut Ssl) -> *const c_void {
    std::ptr::null()
}

/// `SSL_get_early_data_status`: SSL_EARLY_DATA_NOT_SENT (0).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_early_data_status(_ssl: *const Ssl) -> c_int {
    0
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// `SSL_SESSION_print(bio, s)`: the session in OpenSSL's layout (the resumption secret is
/// the engine's and is not printed).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_print(bio: *mut BIO, s: *const Session) -> c_int {
    crate::err::guard(c"SSL_SESSION_print", 0, || {
        if bio.is_null() || s.is_null() {
            return 0;
        }
        // SAFETY: a live session.
        let s = unsafe { &*s };
        let cipher = crate::cipher::by_id(s.cipher);
        let text = format!(
            "SSL-Session:\n    Protocol  : {}\n    Cipher    : {}\n    Session-ID: {}\n    Session-ID-ctx: {}\n    Resumption PSK: (held by ferrotls)\n    PSK identity: None\n    PSK identity hint: None\n    SRP username: None\n    Start Time: {}\n    Timeout   : {} (sec)\n    Verify return code: 0 (ok)\n    Extended master secret: {}\n",
            crate::ctx::version_name(s.version),
            cipher.map_or("0000".into(), |c| c.name().to_string_lossy().into_owned()),
            hex(&s.id),
            hex(&s.sid_ctx),
            s.time,
            s.timeout,
            if s.version == 0x0303 { "yes" } else { "no" },
        );
        // SAFETY: a live BIO and our bytes.
        let n = unsafe { BIO_write(bio, text.as_ptr().cast(), text.len() as c_int) };
        c_int::from(n > 0)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_print_keylog(_bio: *mut BIO, _s: *const Session) -> c_int {
    crate::err::raise(
        c"SSL_SESSION_print_keylog",
        crate::libcrypto::ERR_R_UNSUPPORTED,
        "the master secret stays inside ferrotls; use SSL_CTX_set_keylog_callback",
    );
    0
}

/// `SSL_get_peer_tmp_key` is a ctrl; this is the count of renegotiations, for s_client.
#[allow(dead_code)]
fn _renegotiations(c: &Connection) -> c_long {
    let _ = c;
    0
}

/// Callbacks that only take effect in what ferrotls does not do: DTLS and stateless cookies,
/// OpenSSL's security-level callback, "not resumable" notices, NPN (ALPN replaced it). Setting
/// them is accepted (OpenSSL's setters cannot fail); they are never called. Listed in the
/// README's support matrix.
macro_rules! accepted_setters {
    ($($name:ident),* $(,)?) => {$(
        #[unsafe(no_mangle)]
        pub extern "C" fn $name(_ctx: *mut c_void, _cb: *const c_void, _arg: *mut c_void) {}
    )*};
}
accepted_setters!(
    _ferrossl_SSL_CTX_set_cookie_generate_cb,
    _ferrossl_SSL_CTX_set_cookie_verify_cb,
    _ferrossl_SSL_CTX_set_stateless_cookie_generate_cb,
    _ferrossl_SSL_CTX_set_stateless_cookie_verify_cb,
    _ferrossl_SSL_CTX_set_security_callback,
    _ferrossl_SSL_CTX_set0_security_ex_data,
    _ferrossl_SSL_CTX_set_not_resumable_session_callback,
    _ferrossl_SSL_CTX_set_next_proto_select_cb,
    _ferrossl_SSL_CTX_set_next_protos_advertised_cb,
);

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_security_callback(_ctx: *const c_void) -> *const c_void {
    std::ptr::null()
}

/// No asynchronous engines: never waiting, no fds.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_waiting_for_async(_ssl: *mut Ssl) -> c_int {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_all_async_fds(
    _ssl: *mut Ssl,
    _fds: *mut c_int,
    numfds: *mut usize,
) -> c_int {
    if !numfds.is_null() {
        // SAFETY: the caller's out-parameter.
        unsafe { *numfds = 0 };
    }
    1
}

/// Certificate Transparency is not enabled (and cannot be: no SCT validation).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_ct_is_enabled(_ssl: *const Ssl) -> c_int {
    0
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_ct_is_enabled(_ctx: *const c_void) -> c_int {
    0
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_peer_scts(_ssl: *mut Ssl) -> *const c_void {
    std::ptr::null()
}

/// Early data: a server built on ferrotls accepts none, so any maximum is honoured.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_max_early_data(_ctx: *mut c_void, _n: u32) -> c_int {
    1
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_recv_max_early_data(_ctx: *mut c_void, _n: u32) -> c_int {
    1
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_get_max_early_data(_ctx: *const c_void) -> u32 {
    0
}

/// No session ids from the program's lists: the engine's cache is its own.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_has_matching_session_id(
    _ssl: *const Ssl,
    _id: *const u8,
    _len: std::ffi::c_uint,
) -> c_int {
    0
}

/// `SSL_get_shared_ciphers(ssl, buf, size)`: the suite agreed on (the engine does not keep the
/// client's whole offer), NULL before.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_shared_ciphers(
    ssl: *const Ssl,
    buf: *mut std::ffi::c_char,
    size: c_int,
) -> *mut std::ffi::c_char {
    let p = crate::getters::_ferrossl_SSL_get_current_cipher(ssl);
    let Some(c) = crate::cipher::from_ptr(p) else {
        return std::ptr::null_mut();
    };
    let name = c.name().to_bytes_with_nul();
    if buf.is_null() || size < name.len() as c_int {
        return std::ptr::null_mut();
    }
    // SAFETY: the caller's buffer of `size` bytes, which the name fits.
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr().cast(), buf, name.len()) };
    buf
}

/// `SSL_group_to_name(ssl, nid)`.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_group_to_name(
    _ssl: *const Ssl,
    nid: c_int,
) -> *const std::ffi::c_char {
    match nid {
        1034 => c"X25519".as_ptr(),
        415 => c"prime256v1".as_ptr(),
        715 => c"secp384r1".as_ptr(),
        n if n & 0x0100_0000 != 0 => match n & 0xffff {
            0x11ec => c"X25519MLKEM768".as_ptr(),
            0x11eb => c"SecP256r1MLKEM768".as_ptr(),
            0x11ed => c"SecP384r1MLKEM1024".as_ptr(),
            0x0202 => c"MLKEM1024".as_ptr(),
            _ => std::ptr::null(),
        },
        _ => std::ptr::null(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get0_next_proto_negotiated(
    _ssl: *const Ssl,
    data: *mut *const u8,
    len: *mut std::ffi::c_uint,
) {
    // SAFETY: the caller's out-parameters: NPN is never negotiated.
    unsafe {
        if !data.is_null() {
            *data = std::ptr::null();
        }
        if !len.is_null() {
            *len = 0;
        }
    }
}

/// `SSL_CTX_set_default_verify_store(ctx)`: OpenSSL's default OSSL_STORE holds, on this
/// platform, what the default file and directory hold (SSL_CTX_set_default_verify_paths).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_default_verify_store(ctx: *mut crate::ctx::Ctx) -> c_int {
    crate::ctx::_ferrossl_SSL_CTX_set_default_verify_paths(ctx)
}

/// `SSL_CTX_load_verify_store(ctx, uri)`: a file or directory path (or file: URI) is loaded
/// as CAfile / CApath; other store URIs are not supported.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_load_verify_store(
    ctx: *mut crate::ctx::Ctx,
    uri: *const std::ffi::c_char,
) -> c_int {
    let f = c"SSL_CTX_load_verify_store";
    crate::err::guard(f, 0, || {
        // SAFETY: NULL or a NUL-terminated string.
        let Some(u) = (unsafe { crate::err::cstr(uri) }) else {
            crate::err::raise(f, crate::err::ERR_R_PASSED_NULL_PARAMETER, "no store URI");
            return 0;
        };
        let path = u.strip_prefix("file:").unwrap_or(u);
        let Ok(c) = std::ffi::CString::new(path) else {
            return 0;
        };
        if std::path::Path::new(path).is_dir() {
            crate::ctx::_ferrossl_SSL_CTX_load_verify_locations(ctx, std::ptr::null(), c.as_ptr())
        } else if std::path::Path::new(path).is_file() {
            crate::ctx::_ferrossl_SSL_CTX_load_verify_locations(ctx, c.as_ptr(), std::ptr::null())
        } else {
            crate::err::raise(
                f,
                ERR_R_UNSUPPORTED,
                &format!(
                    "'{u}' is not a file or directory; other OSSL_STORE URIs are not supported"
                ),
            );
            0
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_changed_async_fds(
    _ssl: *mut Ssl,
    _a: *mut c_int,
    na: *mut usize,
    _d: *mut c_int,
    nd: *mut usize,
) -> c_int {
    // SAFETY: the caller's out-parameters: no asynchronous engines, no fds.
    unsafe {
        if !na.is_null() {
            *na = 0;
        }
        if !nd.is_null() {
            *nd = 0;
        }
    }
    1
}

/// `SSL_renegotiate_pending`: whether a renegotiation we asked for is still under way; the
/// engine finishes it within the reads that follow, and reports none pending here.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_renegotiate_pending(_ssl: *const Ssl) -> c_int {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_max_early_data(_ssl: *mut Ssl, _n: u32) -> c_int {
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_read_ahead(ssl: *mut Ssl, yes: c_int) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).s.read_ahead = c_long::from(yes) };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_read_ahead(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    c_int::from(!ssl.is_null() && unsafe { (*ssl).s.read_ahead } != 0)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_COMP_get_id(_comp: *const c_void) -> c_int {
    0
}

/// `SSL_COMP_set0_compression_methods`: the list stays empty (no compression, ever); returns
/// the old one, which is the empty list.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_COMP_set0_compression_methods(_meths: *mut c_void) -> *mut c_void {
    crate::getters::_ferrossl_SSL_COMP_get_compression_methods()
}

/// `SSL_CTX_set_session_ticket_cb`: application data in tickets (stunnel): accepted; the
/// callbacks are not called and tickets carry no application data (stunnel then resumes
/// without it, as with an OpenSSL that has none).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_session_ticket_cb(
    _ctx: *mut c_void,
    _gen: *const c_void,
    _dec: *const c_void,
    _arg: *mut c_void,
) -> c_int {
    1
}

/// Subject names of the certificates in a PEM file (or each file of a directory) appended to
/// a STACK_OF(X509_NAME), without duplicates.
fn add_subjects(sk: *mut OPENSSL_STACK, file: &std::path::Path) -> bool {
    let Ok(c) = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path; libcrypto reads it.
    let bio = unsafe { BIO_new_file(c.as_ptr(), c"r".as_ptr()) };
    if bio.is_null() {
        return false;
    }
    let bio = crate::x509::MemBio(bio);
    let mut any = false;
    // SAFETY: the caller's stack of X509_NAME; certificates we read and free.
    unsafe {
        while let Some(x) = crate::x509::X509Ref::adopt(PEM_read_bio_X509(
            bio.0,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
        )) {
            let n = X509_get_subject_name(x.0);
            let dup =
                (0..OPENSSL_sk_num(sk)).any(|i| X509_NAME_cmp(OPENSSL_sk_value(sk, i), n) == 0);
            if !dup {
                let d = X509_NAME_dup(n);
                if !d.is_null() {
                    OPENSSL_sk_push(sk, d);
                }
            }
            any = true;
        }
        ERR_clear_error();
    }
    any
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_add_file_cert_subjects_to_stack(
    sk: *mut OPENSSL_STACK,
    file: *const std::ffi::c_char,
) -> c_int {
    crate::err::guard(c"SSL_add_file_cert_subjects_to_stack", 0, || {
        // SAFETY: NULL or a NUL-terminated path.
        let Some(f) = (unsafe { crate::err::cstr(file) }) else {
            return 0;
        };
        if sk.is_null() {
            return 0;
        }
        c_int::from(add_subjects(sk, std::path::Path::new(f)))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_add_dir_cert_subjects_to_stack(
    sk: *mut OPENSSL_STACK,
    dir: *const std::ffi::c_char,
) -> c_int {
    crate::err::guard(c"SSL_add_dir_cert_subjects_to_stack", 0, || {
        // SAFETY: NULL or a NUL-terminated path.
        let Some(d) = (unsafe { crate::err::cstr(dir) }) else {
            return 0;
        };
        if sk.is_null() {
            return 0;
        }
        let Ok(rd) = std::fs::read_dir(d) else {
            return 0;
        };
        let mut paths: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            add_subjects(sk, &p);
        }
        1
    })
}

/// `SSL_dup_CA_list(sk)`: a copy of a list of names (the caller frees it).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_dup_CA_list(sk: *const OPENSSL_STACK) -> *mut OPENSSL_STACK {
    crate::err::guard(c"SSL_dup_CA_list", std::ptr::null_mut(), || {
        // SAFETY: the caller's stack of X509_NAME (or NULL); a new stack of duplicates.
        unsafe {
            let out = OPENSSL_sk_new_null();
            if !sk.is_null() && !out.is_null() {
                for i in 0..OPENSSL_sk_num(sk) {
                    let d = X509_NAME_dup(OPENSSL_sk_value(sk, i));
                    if !d.is_null() {
                        OPENSSL_sk_push(out, d);
                    }
                }
            }
            out
        }
    })
}
