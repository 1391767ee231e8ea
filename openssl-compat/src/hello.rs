//! The client-hello callback (`SSL_CTX_set_client_hello_cb`, where HAProxy picks its
//! certificate and SSL_CTX) and the `SSL_client_hello_*` accessors it calls, over the
//! ClientHello as it arrived. Valid only inside the callback, as in OpenSSL.

use std::ffi::{c_int, c_uchar, c_uint, c_void};

use crate::ssl::Ssl;

pub type ClientHelloCb =
    Option<unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_void) -> c_int>;

/// The parts of a ClientHello message (handshake header included), every length checked.
pub struct Hello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub ciphers: &'a [u8],
    pub compression: &'a [u8],
    pub extensions: Vec<(u16, &'a [u8])>,
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if b.len() < n {
        return None;
    }
    let (h, t) = b.split_at(n);
    *b = t;
    Some(h)
}

fn vec8<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = *take(b, 1)?.first()? as usize;
    take(b, n)
}

fn vec16<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
    let l = take(b, 2)?;
    take(b, usize::from(u16::from_be_bytes([l[0], l[1]])))
}

impl<'a> Hello<'a> {
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        let mut b = raw.get(4..)?; // type and 24-bit length
        let v = take(&mut b, 2)?;
        let version = u16::from_be_bytes([v[0], v[1]]);
        let random = take(&mut b, 32)?;
        let session_id = vec8(&mut b)?;
        let ciphers = vec16(&mut b)?;
        let compression = vec8(&mut b)?;
        let mut extensions = Vec::new();
        if !b.is_empty() {
            let mut e = vec16(&mut b)?;
            while !e.is_empty() {
                let t = take(&mut e, 2)?;
                let data = vec16(&mut e)?;
                extensions.push((u16::from_be_bytes([t[0], t[1]]), data));
            }
        }
        Some(Self {
            version,
            random,
            session_id,
            ciphers,
            compression,
            extensions,
        })
    }
}

fn with_hello<T>(ssl: *mut Ssl, none: T, f: impl FnOnce(&Hello<'_>) -> T) -> T {
    if ssl.is_null() {
        return none;
    }
    // SAFETY: a live SSL; its ClientHello copy lives for the callback.
    let raw = unsafe { &(*ssl).client_hello };
    match Hello::parse(raw) {
        Some(h) => f(&h),
        None => none,
    }
}

/// Point `*out` at `bytes` (inside the SSL's copy) and return the length.
fn out0(out: *mut *const c_uchar, bytes: &[u8]) -> usize {
    if !out.is_null() {
        // SAFETY: the caller's out-parameter.
        unsafe { *out = bytes.as_ptr() };
    }
    bytes.len()
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_client_hello_cb(
    ctx: *mut crate::ctx::Ctx,
    cb: ClientHelloCb,
    arg: *mut c_void,
) {
    if !ctx.is_null() {
        // SAFETY: a live context.
        let ctx = unsafe { &mut *ctx };
        ctx.client_hello_cb = cb;
        ctx.client_hello_arg = arg;
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_isv2(_ssl: *mut Ssl) -> c_int {
    0 // ferrotls accepts no SSLv2-format ClientHello
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get0_legacy_version(ssl: *mut Ssl) -> c_uint {
    with_hello(ssl, 0, |h| c_uint::from(h.version))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get0_random(
    ssl: *mut Ssl,
    out: *mut *const c_uchar,
) -> usize {
    with_hello(ssl, 0, |h| out0(out, h.random))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get0_session_id(
    ssl: *mut Ssl,
    out: *mut *const c_uchar,
) -> usize {
    with_hello(ssl, 0, |h| out0(out, h.session_id))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get0_ciphers(
    ssl: *mut Ssl,
    out: *mut *const c_uchar,
) -> usize {
    with_hello(ssl, 0, |h| out0(out, h.ciphers))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get0_compression_methods(
    ssl: *mut Ssl,
    out: *mut *const c_uchar,
) -> usize {
    with_hello(ssl, 0, |h| out0(out, h.compression))
}

/// `SSL_client_hello_get0_ext(ssl, type, &out, &outlen)`: 1 and the extension's data, or 0.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get0_ext(
    ssl: *mut Ssl,
    typ: c_uint,
    out: *mut *const c_uchar,
    outlen: *mut usize,
) -> c_int {
    with_hello(ssl, 0, |h| {
        match h.extensions.iter().find(|(t, _)| c_uint::from(*t) == typ) {
            Some((_, d)) => {
                let n = out0(out, d);
                if !outlen.is_null() {
                    // SAFETY: the caller's out-parameter.
                    unsafe { *outlen = n };
                }
                1
            }
            None => 0,
        }
    })
}

/// `SSL_client_hello_get1_extensions_present`: the extension types, in order, in an array
/// from OPENSSL_malloc that the caller frees.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_client_hello_get1_extensions_present(
    ssl: *mut Ssl,
    out: *mut *mut c_int,
    outlen: *mut usize,
) -> c_int {
    crate::err::guard(c"SSL_client_hello_get1_extensions_present", 0, || {
        if out.is_null() || outlen.is_null() {
            return 0;
        }
        with_hello(ssl, 0, |h| {
            let n = h.extensions.len();
            let p =
                crate::libcrypto::openssl_malloc(n * std::mem::size_of::<c_int>()).cast::<c_int>();
            if p.is_null() {
                return 0;
            }
            for (i, (t, _)) in h.extensions.iter().enumerate() {
                // SAFETY: an allocation of n ints.
                unsafe { *p.add(i) = c_int::from(*t) };
            }
            // SAFETY: the caller's out-parameters.
            unsafe {
                *out = p;
                *outlen = n;
            }
            1
        })
    })
}

/// Run the context's client-hello callback for `ssl` on `raw`: true to go on.
pub fn run_callback(ssl: *mut Ssl, raw: &[u8]) -> bool {
    // SAFETY: the SSL whose handshake is running, and its context.
    let (cb, arg) = unsafe {
        (
            (*(*ssl).ctx).client_hello_cb,
            (*(*ssl).ctx).client_hello_arg,
        )
    };
    let Some(cb) = cb else { return true };
    // SAFETY: as above; the copy lives until the next ClientHello.
    unsafe { (*ssl).client_hello = raw.to_vec() };
    let mut alert: c_int = 80; // internal_error, OpenSSL's default for a failed callback
    // SAFETY: the program's callback with its SSL, alert out-parameter and argument.
    let r = unsafe { cb(ssl.cast(), &mut alert, arg) };
    // SSL_CLIENT_HELLO_SUCCESS is 1; ERROR 0 and RETRY -1 (a suspended handshake, which the
    // engine cannot resume later) end it.
    r == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_truncations() {
        // A minimal ClientHello: version, random, empty session id, one suite, null
        // compression, one extension (server_name for "a").
        let mut body = vec![0x03, 0x03];
        body.extend([7u8; 32]);
        body.push(0);
        body.extend([0, 2, 0x13, 0x01]);
        body.extend([1, 0]);
        let sni = [0, 4, 0, 0, 1, b'a'];
        let ext: Vec<u8> = [0u8, 0, 0, sni.len() as u8]
            .iter()
            .copied()
            .chain(sni)
            .collect();
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(&ext);
        let mut raw = vec![1, 0, 0, body.len() as u8];
        raw.extend(&body);
        let h = Hello::parse(&raw).expect("parses");
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.ciphers, [0x13, 0x01]);
        assert_eq!(h.extensions, vec![(0, &sni[..])]);
        for n in 0..raw.len() {
            // Any cut either fails or loses only whole trailing parts; never panics.
            let _ = Hello::parse(&raw[..n]);
        }
        assert!(Hello::parse(&raw[..20]).is_none());
    }
}
