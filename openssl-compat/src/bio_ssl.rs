//! `BIO_f_ssl`: an SSL as a filter BIO (what `openssl s_server -www` reads lines from and
//! writes a page to), built on libcrypto's BIO_meth_* so the program's BIO chain works
//! unchanged: reads and writes go through SSL_read/SSL_write, retry flags mirror
//! SSL_get_error, and BIO_do_handshake runs SSL_do_handshake.

use std::ffi::{c_char, c_int, c_long, c_void};
use std::sync::OnceLock;

use crate::libcrypto::*;
use crate::ssl::*;

/// What the BIO holds: the SSL and whether freeing the BIO frees it (BIO_CLOSE).
struct Filter {
    ssl: *mut Ssl,
    close: bool,
}

fn filter<'a>(b: *mut BIO) -> Option<&'a mut Filter> {
    // SAFETY: BIOs of our method carry a Filter as their data (set in create).
    let p = unsafe { BIO_get_data(b) }.cast::<Filter>();
    // SAFETY: as above.
    (!p.is_null()).then(|| unsafe { &mut *p })
}

const RWS: c_int = BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL;

fn retry_from(b: *mut BIO, ssl: *mut Ssl, r: c_int) {
    // SAFETY: a live BIO; the flags mirror why the SSL call stopped.
    unsafe {
        BIO_clear_flags(b, RWS | BIO_FLAGS_SHOULD_RETRY);
        if r <= 0 {
            match _ferrossl_SSL_get_error(ssl, r) {
                SSL_ERROR_WANT_READ => BIO_set_flags(b, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY),
                SSL_ERROR_WANT_WRITE => BIO_set_flags(b, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY),
                _ => {}
            }
        }
    }
}

unsafe extern "C" fn f_write(b: *mut BIO, buf: *const c_char, len: c_int) -> c_int {
    let Some(fl) = filter(b) else { return -1 };
    let r = _ferrossl_SSL_write(fl.ssl, buf.cast(), len);
    retry_from(b, fl.ssl, r);
    r
}

unsafe extern "C" fn f_read(b: *mut BIO, buf: *mut c_char, len: c_int) -> c_int {
    let Some(fl) = filter(b) else { return -1 };
    let r = _ferrossl_SSL_read(fl.ssl, buf.cast(), len);
    retry_from(b, fl.ssl, r);
    r
}

unsafe extern "C" fn f_puts(b: *mut BIO, s: *const c_char) -> c_int {
    // SAFETY: a NUL-terminated string of the program's.
    let n = unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes().len();
    // SAFETY: as above.
    unsafe { f_write(b, s, n as c_int) }
}

unsafe extern "C" fn f_ctrl(b: *mut BIO, cmd: c_int, larg: c_long, parg: *mut c_void) -> c_long {
    let Some(fl) = filter(b) else { return 0 };
    let ssl = fl.ssl;
    // SAFETY: the SSL set with BIO_set_ssl (or NULL), and its BIOs.
    unsafe {
        match cmd {
            BIO_C_SET_SSL => {
                if !ssl.is_null() && fl.close {
                    _ferrossl_SSL_free(ssl);
                }
                fl.ssl = parg.cast();
                fl.close = larg != 0;
                BIO_set_init(b, 1);
                1
            }
            BIO_C_GET_SSL => {
                if !parg.is_null() {
                    *parg.cast::<*mut Ssl>() = ssl;
                }
                c_long::from(!ssl.is_null())
            }
            BIO_CTRL_GET_CLOSE => c_long::from(fl.close),
            BIO_CTRL_SET_CLOSE => {
                fl.close = larg != 0;
                1
            }
            _ if ssl.is_null() => 0,
            BIO_C_SSL_MODE => {
                if larg != 0 {
                    _ferrossl_SSL_set_connect_state(ssl);
                } else {
                    _ferrossl_SSL_set_accept_state(ssl);
                }
                1
            }
            BIO_C_DO_STATE_MACHINE => {
                let r = _ferrossl_SSL_do_handshake(ssl);
                retry_from(b, ssl, r);
                c_long::from(r)
            }
            BIO_CTRL_PENDING => {
                let n = _ferrossl_SSL_pending(ssl);
                if n > 0 {
                    c_long::from(n)
                } else {
                    BIO_ctrl((*ssl).rbio, cmd, larg, parg)
                }
            }
            BIO_CTRL_EOF => c_long::from((*ssl).shutdown & SSL_RECEIVED_SHUTDOWN != 0),
            BIO_CTRL_PUSH => {
                let next = BIO_next(b);
                if !next.is_null() && next != (*ssl).rbio {
                    // The SSL runs over the BIO below us, with its own reference.
                    BIO_up_ref(next);
                    _ferrossl_SSL_set_bio(ssl, next, next);
                    BIO_up_ref(next);
                }
                1
            }
            BIO_CTRL_POP => 1,
            BIO_CTRL_DUP => 0,
            // Flush, wpending and the rest go to the SSL's write BIO.
            _ => {
                let w = (*ssl).wbio;
                if w.is_null() {
                    0
                } else {
                    BIO_ctrl(w, cmd, larg, parg)
                }
            }
        }
    }
}

unsafe extern "C" fn f_create(b: *mut BIO) -> c_int {
    let fl = Box::into_raw(Box::new(Filter {
        ssl: std::ptr::null_mut(),
        close: false,
    }));
    // SAFETY: a new BIO of our method.
    unsafe { BIO_set_data(b, fl.cast()) };
    1
}

unsafe extern "C" fn f_destroy(b: *mut BIO) -> c_int {
    // SAFETY: the Filter from create.
    let p = unsafe { BIO_get_data(b) }.cast::<Filter>();
    if p.is_null() {
        return 0;
    }
    // SAFETY: ours, freed once.
    let fl = unsafe { Box::from_raw(p) };
    if fl.close && !fl.ssl.is_null() {
        _ferrossl_SSL_free(fl.ssl);
    }
    // SAFETY: as above.
    unsafe { BIO_set_data(b, std::ptr::null_mut()) };
    1
}

fn method() -> *const BIO_METHOD {
    static M: OnceLock<usize> = OnceLock::new();
    *M.get_or_init(|| {
        // SAFETY: a method made once for the process and never freed, as OpenSSL's own.
        unsafe {
            let m = BIO_meth_new(BIO_TYPE_SSL, c"ssl".as_ptr());
            if !m.is_null() {
                BIO_meth_set_write(m, f_write);
                BIO_meth_set_read(m, f_read);
                BIO_meth_set_puts(m, f_puts);
                BIO_meth_set_ctrl(m, f_ctrl);
                BIO_meth_set_create(m, f_create);
                BIO_meth_set_destroy(m, f_destroy);
            }
            m as usize
        }
    }) as *const BIO_METHOD
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_BIO_f_ssl() -> *const BIO_METHOD {
    method()
}

/// `BIO_new_ssl(ctx, client)`: a filter BIO with a new SSL of `ctx`, freed with it.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_BIO_new_ssl(ctx: *mut crate::ctx::Ctx, client: c_int) -> *mut BIO {
    let ssl = crate::ssl::_ferrossl_SSL_new(ctx);
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    if client != 0 {
        _ferrossl_SSL_set_connect_state(ssl);
    } else {
        _ferrossl_SSL_set_accept_state(ssl);
    }
    // SAFETY: our method.
    let b = unsafe { BIO_new(method()) };
    if b.is_null() {
        _ferrossl_SSL_free(ssl);
        return b;
    }
    // SAFETY: a live BIO of our method.
    unsafe { f_ctrl(b, BIO_C_SET_SSL, 1, ssl.cast()) };
    b
}

/// `BIO_ssl_shutdown(b)`: SSL_shutdown on the SSL of the first SSL BIO in the chain.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_BIO_ssl_shutdown(b: *mut BIO) {
    let mut cur = b;
    while !cur.is_null() {
        // SAFETY: a live BIO chain.
        if unsafe { BIO_method_type(cur) } == BIO_TYPE_SSL {
            if let Some(fl) = filter(cur)
                && !fl.ssl.is_null()
            {
                _ferrossl_SSL_shutdown(fl.ssl);
            }
            return;
        }
        // SAFETY: as above.
        cur = unsafe { BIO_next(cur) };
    }
}
