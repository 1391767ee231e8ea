//! The libcrypto functions and constants this layer calls (OpenSSL 3.0's headers), declared by
//! hand: the system's libcrypto.so.3 is what programs already load, and its objects (X509,
//! EVP_PKEY, BIO, X509_STORE, the error queue, ex_data) are what they hand us.

#![allow(non_camel_case_types, dead_code, clippy::upper_case_acronyms)]

use std::ffi::{c_char, c_int, c_long, c_uchar, c_ulong, c_void};

/// Opaque libcrypto objects, only ever behind pointers.
pub type BIO = c_void;
pub type BIO_METHOD = c_void;
pub type X509 = c_void;
pub type X509_NAME = c_void;
pub type X509_STORE = c_void;
pub type X509_STORE_CTX = c_void;
pub type X509_OBJECT = c_void;
pub type X509_VERIFY_PARAM = c_void;
pub type EVP_PKEY = c_void;
pub type EVP_MD = c_void;
pub type OPENSSL_STACK = c_void;
/// `pem_password_cb`: libssl passes the program's through to libcrypto unchanged.
pub type PemPasswordCb =
    Option<unsafe extern "C" fn(*mut c_char, c_int, c_int, *mut c_void) -> c_int>;

/// `CRYPTO_EX_DATA` (crypto.h, OpenSSL 3.0): a library context and a stack, embedded in the
/// object it belongs to.
#[repr(C)]
pub struct CRYPTO_EX_DATA {
    pub ctx: *mut c_void,
    pub sk: *mut c_void,
}

/// `ERR_LIB_SSL` (err.h).
pub const ERR_LIB_SSL: c_int = 20;
pub const ERR_LIB_SYS: c_int = 2;
/// `ERR_R_UNSUPPORTED`: 268 | ERR_RFLAG_COMMON, where ERR_RFLAG_COMMON is 2 << 18 (err.h).
pub const ERR_R_UNSUPPORTED: c_int = 268 | (2 << 18);

pub const BIO_FLAGS_READ: c_int = 0x01;
pub const BIO_FLAGS_WRITE: c_int = 0x02;
pub const BIO_FLAGS_IO_SPECIAL: c_int = 0x04;
pub const BIO_FLAGS_SHOULD_RETRY: c_int = 0x08;
pub const BIO_NOCLOSE: c_int = 0;
pub const BIO_CLOSE: c_int = 1;
pub const BIO_CTRL_RESET: c_int = 1;
pub const BIO_CTRL_EOF: c_int = 2;
pub const BIO_CTRL_INFO: c_int = 3;
pub const BIO_CTRL_GET_CLOSE: c_int = 8;
pub const BIO_CTRL_SET_CLOSE: c_int = 9;
pub const BIO_CTRL_PENDING: c_int = 10;
pub const BIO_CTRL_FLUSH: c_int = 11;
pub const BIO_CTRL_DUP: c_int = 12;
pub const BIO_CTRL_WPENDING: c_int = 13;
pub const BIO_CTRL_PUSH: c_int = 6;
pub const BIO_CTRL_POP: c_int = 7;
pub const BIO_C_SET_FD: c_int = 104;
pub const BIO_C_GET_FD: c_int = 105;
pub const BIO_C_SET_SSL: c_int = 109;
pub const BIO_C_GET_SSL: c_int = 110;
pub const BIO_C_DO_STATE_MACHINE: c_int = 101;
pub const BIO_C_SSL_MODE: c_int = 119;
pub const BIO_C_GET_SSL_NUM_RENEGOTIATES: c_int = 126;
pub const BIO_TYPE_SSL: c_int = 7 | 0x0200;
pub const BIO_TYPE_DESCRIPTOR: c_int = 0x0100;
pub const BIO_TYPE_SOCKET: c_int = 5 | 0x0400 | 0x0100;

pub const CRYPTO_EX_INDEX_SSL: c_int = 0;
pub const CRYPTO_EX_INDEX_SSL_CTX: c_int = 1;
pub const CRYPTO_EX_INDEX_SSL_SESSION: c_int = 2;
pub const CRYPTO_EX_INDEX_X509_STORE_CTX: c_int = 5;

pub const X509_LU_X509: c_int = 1;
pub const X509_LU_CRL: c_int = 2;

unsafe extern "C" {
    // err.h
    pub fn ERR_new();
    pub fn ERR_set_debug(file: *const c_char, line: c_int, func: *const c_char);
    pub fn ERR_set_error(lib: c_int, reason: c_int, fmt: *const c_char, ...);
    pub fn ERR_peek_error() -> c_ulong;
    pub fn ERR_peek_last_error() -> c_ulong;
    pub fn ERR_clear_error();
    pub fn OPENSSL_init_crypto(opts: u64, settings: *const c_void) -> c_int;
    pub fn CRYPTO_malloc(num: usize, file: *const c_char, line: c_int) -> *mut c_void;
    pub fn CRYPTO_free(p: *mut c_void, file: *const c_char, line: c_int);
    pub fn OPENSSL_cleanse(p: *mut c_void, len: usize);
    pub fn RAND_bytes(buf: *mut c_uchar, num: c_int) -> c_int;

    // ex_data
    pub fn CRYPTO_new_ex_data(class: c_int, obj: *mut c_void, ad: *mut CRYPTO_EX_DATA) -> c_int;
    pub fn CRYPTO_free_ex_data(class: c_int, obj: *mut c_void, ad: *mut CRYPTO_EX_DATA);
    pub fn CRYPTO_set_ex_data(ad: *mut CRYPTO_EX_DATA, idx: c_int, val: *mut c_void) -> c_int;
    pub fn CRYPTO_get_ex_data(ad: *const CRYPTO_EX_DATA, idx: c_int) -> *mut c_void;
    pub fn CRYPTO_get_ex_new_index(
        class: c_int,
        argl: c_long,
        argp: *mut c_void,
        new: *mut c_void,
        dup: *mut c_void,
        free: *mut c_void,
    ) -> c_int;

    // stacks
    pub fn OPENSSL_sk_new_null() -> *mut OPENSSL_STACK;
    pub fn OPENSSL_sk_push(st: *mut OPENSSL_STACK, data: *const c_void) -> c_int;
    pub fn OPENSSL_sk_num(st: *const OPENSSL_STACK) -> c_int;
    pub fn OPENSSL_sk_value(st: *const OPENSSL_STACK, i: c_int) -> *mut c_void;
    pub fn OPENSSL_sk_free(st: *mut OPENSSL_STACK);
    pub fn OPENSSL_sk_pop_free(
        st: *mut OPENSSL_STACK,
        f: Option<unsafe extern "C" fn(*mut c_void)>,
    );

    // bio.h
    pub fn BIO_new(m: *const BIO_METHOD) -> *mut BIO;
    pub fn BIO_s_mem() -> *const BIO_METHOD;
    pub fn BIO_s_secmem() -> *const BIO_METHOD;
    pub fn BIO_new_mem_buf(buf: *const c_void, len: c_int) -> *mut BIO;
    pub fn BIO_new_file(name: *const c_char, mode: *const c_char) -> *mut BIO;
    pub fn BIO_new_socket(fd: c_int, close_flag: c_int) -> *mut BIO;
    pub fn BIO_free(b: *mut BIO) -> c_int;
    pub fn BIO_free_all(b: *mut BIO);
    pub fn BIO_up_ref(b: *mut BIO) -> c_int;
    pub fn BIO_read(b: *mut BIO, buf: *mut c_void, len: c_int) -> c_int;
    pub fn BIO_write(b: *mut BIO, buf: *const c_void, len: c_int) -> c_int;
    pub fn BIO_ctrl(b: *mut BIO, cmd: c_int, larg: c_long, parg: *mut c_void) -> c_long;
    pub fn BIO_test_flags(b: *const BIO, flags: c_int) -> c_int;
    pub fn BIO_set_flags(b: *mut BIO, flags: c_int);
    pub fn BIO_clear_flags(b: *mut BIO, flags: c_int);
    pub fn BIO_method_type(b: *const BIO) -> c_int;
    pub fn BIO_next(b: *mut BIO) -> *mut BIO;
    pub fn BIO_get_data(b: *mut BIO) -> *mut c_void;
    pub fn BIO_set_data(b: *mut BIO, ptr: *mut c_void);
    pub fn BIO_set_init(b: *mut BIO, init: c_int);
    pub fn BIO_get_shutdown(b: *mut BIO) -> c_int;
    pub fn BIO_set_shutdown(b: *mut BIO, shut: c_int);
    pub fn BIO_copy_next_retry(b: *mut BIO);
    pub fn BIO_meth_new(typ: c_int, name: *const c_char) -> *mut BIO_METHOD;
    pub fn BIO_meth_set_write(
        m: *mut BIO_METHOD,
        f: unsafe extern "C" fn(*mut BIO, *const c_char, c_int) -> c_int,
    ) -> c_int;
    pub fn BIO_meth_set_read(
        m: *mut BIO_METHOD,
        f: unsafe extern "C" fn(*mut BIO, *mut c_char, c_int) -> c_int,
    ) -> c_int;
    pub fn BIO_meth_set_puts(
        m: *mut BIO_METHOD,
        f: unsafe extern "C" fn(*mut BIO, *const c_char) -> c_int,
    ) -> c_int;
    pub fn BIO_meth_set_ctrl(
        m: *mut BIO_METHOD,
        f: unsafe extern "C" fn(*mut BIO, c_int, c_long, *mut c_void) -> c_long,
    ) -> c_int;
    pub fn BIO_meth_set_create(
        m: *mut BIO_METHOD,
        f: unsafe extern "C" fn(*mut BIO) -> c_int,
    ) -> c_int;
    pub fn BIO_meth_set_destroy(
        m: *mut BIO_METHOD,
        f: unsafe extern "C" fn(*mut BIO) -> c_int,
    ) -> c_int;

    // x509.h, pem.h
    pub fn d2i_X509(out: *mut *mut X509, input: *mut *const c_uchar, len: c_long) -> *mut X509;
    pub fn i2d_X509(x: *const X509, out: *mut *mut c_uchar) -> c_int;
    pub fn d2i_X509_bio(b: *mut BIO, x: *mut *mut X509) -> *mut X509;
    pub fn X509_free(x: *mut X509);
    pub fn X509_up_ref(x: *mut X509) -> c_int;
    pub fn X509_get_subject_name(x: *const X509) -> *mut X509_NAME;
    pub fn X509_NAME_dup(n: *const X509_NAME) -> *mut X509_NAME;
    pub fn X509_NAME_free(n: *mut X509_NAME);
    pub fn X509_NAME_cmp(a: *const X509_NAME, b: *const X509_NAME) -> c_int;
    pub fn i2d_X509_NAME(n: *const X509_NAME, out: *mut *mut c_uchar) -> c_int;
    pub fn X509_check_private_key(x: *const X509, k: *const EVP_PKEY) -> c_int;
    pub fn X509_check_issued(issuer: *mut X509, subject: *mut X509) -> c_int;
    pub fn X509_check_host(
        x: *mut X509,
        name: *const c_char,
        len: usize,
        flags: u32,
        peername: *mut *mut c_char,
    ) -> c_int;
    pub fn X509_check_ip_asc(x: *mut X509, ip: *const c_char, flags: u32) -> c_int;
    pub fn PEM_read_bio_X509(
        b: *mut BIO,
        x: *mut *mut X509,
        cb: PemPasswordCb,
        u: *mut c_void,
    ) -> *mut X509;
    pub fn PEM_read_bio_X509_AUX(
        b: *mut BIO,
        x: *mut *mut X509,
        cb: PemPasswordCb,
        u: *mut c_void,
    ) -> *mut X509;
    pub fn PEM_write_bio_X509(b: *mut BIO, x: *const X509) -> c_int;
    pub fn PEM_read_bio_PrivateKey(
        b: *mut BIO,
        x: *mut *mut EVP_PKEY,
        cb: PemPasswordCb,
        u: *mut c_void,
    ) -> *mut EVP_PKEY;
    pub fn PEM_write_bio_PrivateKey(
        b: *mut BIO,
        k: *const EVP_PKEY,
        enc: *const c_void,
        kstr: *const c_uchar,
        klen: c_int,
        cb: PemPasswordCb,
        u: *mut c_void,
    ) -> c_int;
    pub fn d2i_PrivateKey_bio(b: *mut BIO, a: *mut *mut EVP_PKEY) -> *mut EVP_PKEY;
    pub fn d2i_AutoPrivateKey(
        a: *mut *mut EVP_PKEY,
        pp: *mut *const c_uchar,
        len: c_long,
    ) -> *mut EVP_PKEY;
    pub fn EVP_PKEY_free(k: *mut EVP_PKEY);
    pub fn EVP_PKEY_get_base_id(k: *const EVP_PKEY) -> c_int;
    pub fn EVP_PKEY_get_bits(k: *const EVP_PKEY) -> c_int;
    pub fn X509_get0_pubkey(x: *const X509) -> *mut EVP_PKEY;
    pub fn EVP_PKEY_up_ref(k: *mut EVP_PKEY) -> c_int;
    pub fn PEM_write_bio(
        b: *mut BIO,
        name: *const c_char,
        hdr: *const c_char,
        data: *const c_uchar,
        len: c_long,
    ) -> c_int;
    pub fn PEM_read_bio(
        b: *mut BIO,
        name: *mut *mut c_char,
        header: *mut *mut c_char,
        data: *mut *mut c_uchar,
        len: *mut c_long,
    ) -> c_int;

    // x509_vfy.h
    pub fn X509_STORE_new() -> *mut X509_STORE;
    pub fn X509_STORE_free(s: *mut X509_STORE);
    pub fn X509_STORE_up_ref(s: *mut X509_STORE) -> c_int;
    pub fn X509_STORE_load_locations(
        s: *mut X509_STORE,
        file: *const c_char,
        dir: *const c_char,
    ) -> c_int;
    pub fn X509_STORE_set_default_paths(s: *mut X509_STORE) -> c_int;
    pub fn X509_STORE_get0_objects(s: *mut X509_STORE) -> *mut OPENSSL_STACK;
    pub fn X509_OBJECT_get_type(o: *const X509_OBJECT) -> c_int;
    pub fn X509_OBJECT_get0_X509_CRL(o: *const X509_OBJECT) -> *mut c_void;
    pub fn i2d_X509_CRL(c: *const c_void, out: *mut *mut c_uchar) -> c_int;
    pub fn X509_STORE_get1_all_certs(s: *mut X509_STORE) -> *mut OPENSSL_STACK;
    pub fn X509_STORE_add_cert(s: *mut X509_STORE, x: *mut X509) -> c_int;
    pub fn X509_STORE_CTX_new() -> *mut X509_STORE_CTX;
    pub fn X509_STORE_CTX_free(c: *mut X509_STORE_CTX);
    pub fn X509_STORE_CTX_init(
        c: *mut X509_STORE_CTX,
        s: *mut X509_STORE,
        leaf: *mut X509,
        untrusted: *mut OPENSSL_STACK,
    ) -> c_int;
    pub fn X509_STORE_CTX_set_error(c: *mut X509_STORE_CTX, e: c_int);
    pub fn X509_STORE_CTX_get_error(c: *const X509_STORE_CTX) -> c_int;
    pub fn X509_STORE_CTX_set_error_depth(c: *mut X509_STORE_CTX, d: c_int);
    pub fn X509_STORE_CTX_set_current_cert(c: *mut X509_STORE_CTX, x: *mut X509);
    pub fn X509_STORE_CTX_set_ex_data(
        c: *mut X509_STORE_CTX,
        idx: c_int,
        data: *mut c_void,
    ) -> c_int;
    pub fn X509_STORE_CTX_set0_verified_chain(c: *mut X509_STORE_CTX, sk: *mut OPENSSL_STACK);
    pub fn X509_get_default_cert_file() -> *const c_char;
    pub fn X509_get_default_cert_dir() -> *const c_char;
    pub fn X509_get_default_cert_file_env() -> *const c_char;
    pub fn X509_get_default_cert_dir_env() -> *const c_char;
    pub fn X509_VERIFY_PARAM_new() -> *mut X509_VERIFY_PARAM;
    pub fn X509_VERIFY_PARAM_free(p: *mut X509_VERIFY_PARAM);
    pub fn X509_VERIFY_PARAM_set1(
        to: *mut X509_VERIFY_PARAM,
        from: *const X509_VERIFY_PARAM,
    ) -> c_int;
    pub fn X509_VERIFY_PARAM_inherit(
        to: *mut X509_VERIFY_PARAM,
        from: *const X509_VERIFY_PARAM,
    ) -> c_int;
    pub fn X509_VERIFY_PARAM_set1_host(
        p: *mut X509_VERIFY_PARAM,
        name: *const c_char,
        len: usize,
    ) -> c_int;
    pub fn X509_VERIFY_PARAM_add1_host(
        p: *mut X509_VERIFY_PARAM,
        name: *const c_char,
        len: usize,
    ) -> c_int;
    pub fn X509_VERIFY_PARAM_get0_host(p: *mut X509_VERIFY_PARAM, idx: c_int) -> *mut c_char;
    pub fn X509_VERIFY_PARAM_get_hostflags(p: *const X509_VERIFY_PARAM) -> u32;
    pub fn X509_VERIFY_PARAM_set_hostflags(p: *mut X509_VERIFY_PARAM, flags: u32);
    pub fn X509_VERIFY_PARAM_get1_ip_asc(p: *mut X509_VERIFY_PARAM) -> *mut c_char;
    pub fn X509_VERIFY_PARAM_set_depth(p: *mut X509_VERIFY_PARAM, depth: c_int);
    pub fn X509_VERIFY_PARAM_get_depth(p: *const X509_VERIFY_PARAM) -> c_int;
    pub fn X509_VERIFY_PARAM_set_purpose(p: *mut X509_VERIFY_PARAM, purpose: c_int) -> c_int;
    pub fn EC_KEY_get0_group(k: *const c_void) -> *const c_void;
    pub fn EC_GROUP_get_curve_name(g: *const c_void) -> c_int;
    pub fn X509_STORE_get0_param(s: *mut X509_STORE) -> *mut X509_VERIFY_PARAM;
    pub fn X509_VERIFY_PARAM_get_flags(p: *const X509_VERIFY_PARAM) -> std::ffi::c_ulong;
    pub fn EVP_get_digestbyname(name: *const c_char) -> *const EVP_MD;
}

/// `BIO_should_retry(b)` (a macro in bio.h).
///
/// # Safety
/// `b` is a live BIO.
pub unsafe fn bio_should_retry(b: *mut BIO) -> bool {
    // SAFETY: per the caller.
    unsafe { BIO_test_flags(b, BIO_FLAGS_SHOULD_RETRY) != 0 }
}

/// The bytes a memory BIO holds (`BIO_get_mem_data`, a BIO_CTRL_INFO macro).
///
/// # Safety
/// `b` is a live memory BIO; the slice lives until the BIO changes.
pub unsafe fn mem_bio_bytes<'a>(b: *mut BIO) -> &'a [u8] {
    let mut p: *mut c_char = std::ptr::null_mut();
    // SAFETY: BIO_CTRL_INFO on a memory BIO stores its data pointer and returns its length.
    let n = unsafe { BIO_ctrl(b, BIO_CTRL_INFO, 0, (&raw mut p).cast()) };
    if p.is_null() || n <= 0 {
        return &[];
    }
    // SAFETY: the BIO owns `n` bytes at `p`.
    unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n as usize) }
}

/// `OPENSSL_free(p)`.
///
/// # Safety
/// `p` is NULL or from libcrypto's allocator.
pub unsafe fn openssl_free(p: *mut c_void) {
    // SAFETY: per the caller.
    unsafe { CRYPTO_free(p, c"ferrotls-openssl".as_ptr(), 0) }
}

/// `OPENSSL_malloc(n)`.
pub fn openssl_malloc(n: usize) -> *mut c_void {
    // SAFETY: a plain allocation; NULL on failure, which callers check.
    unsafe { CRYPTO_malloc(n.max(1), c"ferrotls-openssl".as_ptr(), 0) }
}
