//! The minimal blocking client path: `TLS_client_method`/`TLS_method`, `SSL_CTX_new`/`_free`,
//! `SSL_CTX_load_verify_locations`, `SSL_CTX_set_verify`, `SSL_new`/`_free`, `SSL_set_fd`,
//! `SSL_ctrl` (SNI only), `SSL_connect`, `SSL_read`, `SSL_write`, `SSL_shutdown`,
//! `SSL_get_error`, `SSL_get_version`, with OpenSSL 3.0's results for them.
//!
//! Objects are boxes handed out as opaque pointers (`Box<Ctx>`, `Box<Ssl>`); an `SSL` holds an
//! `Arc` of its context's built configuration, so `SSL_CTX_free` before `SSL_free` is safe, as in
//! OpenSSL. The engine is sans-IO; here it is driven over a blocking socket fd. Every export
//! checks its pointers and catches panics: a panic becomes an ERR_R_INTERNAL_ERROR failure.

use std::ffi::{CStr, c_char, c_int, c_long, c_void};
use std::os::unix::ffi::OsStrExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use ferrotls::config::{Config, ConfigBuilder, Role, VerifyMode};
use ferrotls::conn::{Connection, ReadStatus};
use ferrotls::error::Error;

use crate::libcrypto::{ERR_LIB_SSL, ERR_new, ERR_peek_error, ERR_set_debug, ERR_set_error};

// Reason codes (sslerr.h, err.h).
const ERR_R_FATAL: c_int = (1 << 18) | (2 << 18);
const ERR_R_PASSED_NULL_PARAMETER: c_int = 258 | ERR_R_FATAL;
const ERR_R_INTERNAL_ERROR: c_int = 259 | ERR_R_FATAL;
const ERR_R_UNSUPPORTED: c_int = crate::libcrypto::ERR_R_UNSUPPORTED;
const SSL_R_CERTIFICATE_VERIFY_FAILED: c_int = 134;
const SSL_R_NO_SHARED_CIPHER: c_int = 193;
const SSL_R_NULL_SSL_CTX: c_int = 195;
const SSL_R_NULL_SSL_METHOD_PASSED: c_int = 196;
const SSL_R_SSL_HANDSHAKE_FAILURE: c_int = 229;
const SSL_R_UNSUPPORTED_PROTOCOL: c_int = 258;
const SSL_R_BAD_LENGTH: c_int = 271;
const SSL_R_UNINITIALIZED: c_int = 276;
const SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC: c_int = 281;
const SSL_R_UNEXPECTED_EOF_WHILE_READING: c_int = 294;
const SSL_R_PROTOCOL_IS_SHUTDOWN: c_int = 207;
const SSL_R_BAD_VALUE: c_int = 384;
const SSL_AD_REASON_OFFSET: c_int = 1000;

const SSL_ERROR_NONE: c_int = 0;
const SSL_ERROR_SSL: c_int = 1;
const SSL_ERROR_SYSCALL: c_int = 5;
const SSL_ERROR_ZERO_RETURN: c_int = 6;
const ERR_LIB_SYS: u64 = 2;

const SSL_VERIFY_PEER: c_int = 0x01;
const SSL_CTRL_SET_TLSEXT_HOSTNAME: c_int = 55;
const TLSEXT_NAMETYPE_HOST_NAME: c_long = 0;

/// Queue an ERR_LIB_SSL error `reason` from function `func`, with `detail` as its data.
fn raise(func: &CStr, reason: c_int, detail: &str) {
    // Interior NULs cannot be in a C string: drop them.
    let detail: Vec<u8> = detail.bytes().filter(|&b| b != 0).chain([0]).collect();
    // SAFETY: NUL-terminated strings throughout; the format has one %s for one string.
    unsafe {
        ERR_new();
        ERR_set_debug(c"ferrotls-openssl".as_ptr(), 0, func.as_ptr());
        ERR_set_error(
            ERR_LIB_SSL,
            reason,
            c"%s".as_ptr(),
            detail.as_ptr().cast::<c_char>(),
        );
    }
}

/// Run `f`, turning a panic into `on_panic` with an internal error on the queue.
fn guard<T>(func: &CStr, on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            raise(
                func,
                ERR_R_INTERNAL_ERROR,
                "internal error (a panic in ferrotls's libssl)",
            );
            on_panic
        }
    }
}

/// OpenSSL's reason code for an engine error (sslerr.h), as close as the kinds allow.
fn reason_for(e: &Error) -> c_int {
    match e {
        Error::Certificate { .. } => SSL_R_CERTIFICATE_VERIFY_FAILED,
        Error::AlertReceived { alert, .. } => SSL_AD_REASON_OFFSET + c_int::from(alert.to_int()),
        Error::UnexpectedEof(_) => SSL_R_UNEXPECTED_EOF_WHILE_READING,
        Error::BadRecordMac(_) => SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
        Error::NoSharedVersion(_) => SSL_R_UNSUPPORTED_PROTOCOL,
        Error::NoSharedCipherSuite(_) => SSL_R_NO_SHARED_CIPHER,
        _ => SSL_R_SSL_HANDSHAKE_FAILURE,
    }
}

/// An `SSL_METHOD`: which role a context made from it has.
pub struct Method {
    role: Option<Role>, // None: either (TLS_method); a context from it starts as a client
}

static TLS_METHOD: Method = Method { role: None };
static TLS_CLIENT_METHOD: Method = Method {
    role: Some(Role::Client),
};

/// `TLS_method()`: the version-flexible method, either role.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_TLS_method() -> *const Method {
    &TLS_METHOD
}

/// `TLS_client_method()`: the version-flexible client method.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_TLS_client_method() -> *const Method {
    &TLS_CLIENT_METHOD
}

/// An `SSL_CTX`: the settings, and the configuration built from them when an SSL needs it
/// (dropped when a setting changes, so later SSLs see the change, as in OpenSSL).
pub struct Ctx {
    role: Role,
    builder: ConfigBuilder,
    verify_peer: bool,
    built: Option<Arc<Config>>,
}

impl Ctx {
    fn config(&mut self) -> Result<Arc<Config>, Error> {
        if let Some(c) = &self.built {
            return Ok(c.clone());
        }
        // OpenSSL's default is SSL_VERIFY_NONE: a client verifies only when asked.
        let mode = if self.verify_peer {
            VerifyMode::VerifyServer
        } else {
            VerifyMode::DangerousNoVerify
        };
        if self.role == Role::Client {
            self.builder.set_verify_mode(mode)?;
        }
        let c = self.builder.build()?;
        self.built = Some(c.clone());
        Ok(c)
    }
}

/// `SSL_CTX_new(method)`: a context, or NULL with the error queued.
#[unsafe(no_mangle)]
///
/// # Safety
/// `method` is NULL or from `TLS_method`/`TLS_client_method`.
pub unsafe extern "C" fn _ferrossl_SSL_CTX_new(method: *const Method) -> *mut Ctx {
    guard(c"SSL_CTX_new", std::ptr::null_mut(), || {
        if method.is_null() {
            raise(
                c"SSL_CTX_new",
                SSL_R_NULL_SSL_METHOD_PASSED,
                "NULL SSL_METHOD",
            );
            return std::ptr::null_mut();
        }
        // SAFETY: a non-NULL method is one of our statics.
        let role = unsafe { (*method).role }.unwrap_or(Role::Client);
        Box::into_raw(Box::new(Ctx {
            role,
            builder: ConfigBuilder::new(role),
            verify_peer: false,
            built: None,
        }))
    })
}

/// `SSL_CTX_free(ctx)`: NULL is fine. SSLs made from it keep what they need.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ctx` is NULL or from `SSL_CTX_new`, not yet freed.
pub unsafe extern "C" fn _ferrossl_SSL_CTX_free(ctx: *mut Ctx) {
    guard(c"SSL_CTX_free", (), || {
        if !ctx.is_null() {
            // SAFETY: the caller's context from SSL_CTX_new.
            drop(unsafe { Box::from_raw(ctx) });
        }
    })
}

/// `SSL_CTX_load_verify_locations(ctx, CAfile, CApath)`: trust anchors from a PEM file and/or
/// a directory of PEM files. 1, or 0 with the error queued (as when both are NULL).
#[unsafe(no_mangle)]
///
/// # Safety
/// `ctx` from `SSL_CTX_new`; `file`, `path` NULL or NUL-terminated.
pub unsafe extern "C" fn _ferrossl_SSL_CTX_load_verify_locations(
    ctx: *mut Ctx,
    file: *const c_char,
    path: *const c_char,
) -> c_int {
    let f = c"SSL_CTX_load_verify_locations";
    guard(f, 0, || {
        if ctx.is_null() || (file.is_null() && path.is_null()) {
            raise(
                f,
                ERR_R_PASSED_NULL_PARAMETER,
                "no context, or neither CAfile nor CApath",
            );
            return 0;
        }
        // SAFETY: a live context of the caller's.
        let ctx = unsafe { &mut *ctx };
        for p in [file, path] {
            if p.is_null() {
                continue;
            }
            // SAFETY: a NUL-terminated string of the caller's.
            let p = Path::new(std::ffi::OsStr::from_bytes(
                unsafe { CStr::from_ptr(p) }.to_bytes(),
            ));
            if let Err(e) = ctx.builder.add_roots_path(p) {
                raise(f, SSL_R_BAD_VALUE, &e.to_string());
                return 0;
            }
        }
        ctx.built = None;
        1
    })
}

/// `SSL_CTX_set_verify(ctx, mode, cb)`: SSL_VERIFY_PEER verifies the server's chain (and, as
/// the engine always does, its name: the SNI name); SSL_VERIFY_NONE accepts any. A verify
/// callback is not supported yet: it is ignored (never called), only `mode` counts.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ctx` NULL or from `SSL_CTX_new`.
pub unsafe extern "C" fn _ferrossl_SSL_CTX_set_verify(
    ctx: *mut Ctx,
    mode: c_int,
    _cb: *const c_void,
) {
    guard(c"SSL_CTX_set_verify", (), || {
        if ctx.is_null() {
            return;
        }
        // SAFETY: a live context of the caller's.
        let ctx = unsafe { &mut *ctx };
        ctx.verify_peer = mode & SSL_VERIFY_PEER != 0;
        ctx.built = None;
    })
}

/// An `SSL`.
pub struct Ssl {
    config: Arc<Config>,
    fd: c_int,
    host: Option<String>,
    conn: Option<Connection>,
    /// A fatal error happened (already queued once): later calls fail at once.
    failed: bool,
    /// SSL_shutdown has sent close_notify.
    sent_close: bool,
}

/// `SSL_new(ctx)`: a connection object, or NULL with the error queued.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ctx` NULL or from `SSL_CTX_new`.
pub unsafe extern "C" fn _ferrossl_SSL_new(ctx: *mut Ctx) -> *mut Ssl {
    let f = c"SSL_new";
    guard(f, std::ptr::null_mut(), || {
        if ctx.is_null() {
            raise(f, SSL_R_NULL_SSL_CTX, "NULL SSL_CTX");
            return std::ptr::null_mut();
        }
        // SAFETY: a live context of the caller's.
        let ctx = unsafe { &mut *ctx };
        if ctx.role != Role::Client {
            raise(
                f,
                ERR_R_UNSUPPORTED,
                "only client connections are implemented yet",
            );
            return std::ptr::null_mut();
        }
        match ctx.config() {
            Ok(config) => Box::into_raw(Box::new(Ssl {
                config,
                fd: -1,
                host: None,
                conn: None,
                failed: false,
                sent_close: false,
            })),
            Err(e) => {
                raise(f, SSL_R_BAD_VALUE, &e.to_string());
                std::ptr::null_mut()
            }
        }
    })
}

/// `SSL_free(ssl)`: NULL is fine. The fd is not closed (OpenSSL's socket BIO does not own it).
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`, not yet freed.
pub unsafe extern "C" fn _ferrossl_SSL_free(ssl: *mut Ssl) {
    guard(c"SSL_free", (), || {
        if !ssl.is_null() {
            // SAFETY: the caller's SSL from SSL_new.
            drop(unsafe { Box::from_raw(ssl) });
        }
    })
}

/// `SSL_set_fd(ssl, fd)`: the (blocking) socket to run over. 1, or 0 for a NULL ssl.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`.
pub unsafe extern "C" fn _ferrossl_SSL_set_fd(ssl: *mut Ssl, fd: c_int) -> c_int {
    guard(c"SSL_set_fd", 0, || {
        if ssl.is_null() {
            raise(c"SSL_set_fd", ERR_R_PASSED_NULL_PARAMETER, "NULL SSL");
            return 0;
        }
        // SAFETY: a live SSL of the caller's.
        unsafe { (*ssl).fd = fd };
        1
    })
}

/// `SSL_ctrl(ssl, cmd, larg, parg)`: only SSL_CTRL_SET_TLSEXT_HOSTNAME (what
/// `SSL_set_tlsext_host_name` expands to) so far; any other command fails with the
/// unsupported error and 0.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`; for the hostname, `parg` NULL or NUL-terminated.
pub unsafe extern "C" fn _ferrossl_SSL_ctrl(
    ssl: *mut Ssl,
    cmd: c_int,
    larg: c_long,
    parg: *mut c_void,
) -> c_long {
    let f = c"SSL_ctrl";
    guard(f, 0, || {
        if ssl.is_null() {
            raise(f, ERR_R_PASSED_NULL_PARAMETER, "NULL SSL");
            return 0;
        }
        // SAFETY: a live SSL of the caller's.
        let ssl = unsafe { &mut *ssl };
        if cmd != SSL_CTRL_SET_TLSEXT_HOSTNAME {
            raise(
                f,
                ERR_R_UNSUPPORTED,
                &format!("SSL_ctrl command {cmd} is not implemented by ferrotls's libssl yet"),
            );
            return 0;
        }
        if larg != TLSEXT_NAMETYPE_HOST_NAME {
            raise(f, 320, "the name type is not TLSEXT_NAMETYPE_host_name"); // SSL_R_SSL3_EXT_INVALID_SERVERNAME_TYPE
            return 0;
        }
        if ssl.conn.is_some() {
            raise(f, SSL_R_BAD_VALUE, "the handshake has already started");
            return 0;
        }
        if parg.is_null() {
            ssl.host = None;
            return 1;
        }
        // SAFETY: a NUL-terminated string of the caller's.
        let name = unsafe { CStr::from_ptr(parg.cast::<c_char>()) };
        let Ok(name) = name.to_str() else {
            raise(f, 319, "the server name is not UTF-8"); // SSL_R_SSL3_EXT_INVALID_SERVERNAME
            return 0;
        };
        if name.is_empty() || name.len() > 255 {
            raise(f, 319, "the server name is empty or longer than 255 bytes");
            return 0;
        }
        ssl.host = Some(name.to_owned());
        1
    })
}

/// What a driving step ended with, for the caller's return value.
enum Io {
    /// A transport error (errno is set): SSL_ERROR_SYSCALL, nothing queued.
    Sys,
    /// A TLS error, already queued: SSL_ERROR_SSL.
    Tls,
}

impl Ssl {
    fn fail(&mut self, func: &CStr, e: &Error) -> Io {
        let detail = match self.conn.as_ref().and_then(Connection::error) {
            Some(ce) => ce.to_string(),
            None => e.to_string(),
        };
        raise(func, reason_for(e), &detail);
        self.failed = true;
        Io::Tls
    }

    /// Start the connection if not yet started.
    fn start(&mut self, func: &CStr) -> Result<(), Io> {
        if self.failed {
            raise(
                func,
                SSL_R_PROTOCOL_IS_SHUTDOWN,
                "the connection has already failed",
            );
            return Err(Io::Tls);
        }
        if self.fd < 0 {
            raise(
                func,
                SSL_R_UNINITIALIZED,
                "no socket: call SSL_set_fd first",
            );
            return Err(Io::Tls);
        }
        if self.conn.is_none() {
            match Connection::new_client(self.config.clone(), self.host.as_deref()) {
                Ok(c) => self.conn = Some(c),
                Err(e) => return Err(self.fail(func, &e)),
            }
        }
        Ok(())
    }

    fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("started")
    }

    /// Send everything the engine has queued.
    fn flush(&mut self) -> Result<(), Io> {
        let fd = self.fd;
        while self.conn().outgoing_len() > 0 {
            let out = self.conn().peek_outgoing();
            // SAFETY: `out` is a live buffer of out.len() bytes. write(2), as OpenSSL's
            // socket BIO on Unix (so SIGPIPE behaves the same).
            let n = unsafe { libc::write(fd, out.as_ptr().cast(), out.len()) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Io::Sys);
            }
            self.conn().consume_outgoing(n as usize);
        }
        Ok(())
    }

    /// Read once from the socket and feed the engine (EOF included).
    fn fill(&mut self, func: &CStr) -> Result<(), Io> {
        let mut buf = [0u8; 16 * 1024 + 512];
        let n = loop {
            // SAFETY: `buf` is a live buffer of buf.len() bytes.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break n;
        };
        if n < 0 {
            return Err(Io::Sys);
        }
        let r = if n == 0 {
            self.conn().feed_eof()
        } else {
            let mut data = &buf[..n as usize];
            loop {
                match self.conn().feed(data) {
                    Ok(k) if k == data.len() => break Ok(()),
                    Ok(k) => {
                        // Buffers full: the caller reads plaintext first. Keep the rest
                        // by feeding it once plaintext is drained; for this blocking path
                        // the buffer limit is far above one read, so this is rare.
                        data = &data[k..];
                        if k == 0 {
                            break Err(Error::Usage(
                                "ferrotls's libssl: the plaintext buffer is full".into(),
                            ));
                        }
                    }
                    Err(e) => break Err(e),
                }
            }
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                // An alert we owe the peer goes out before we report.
                let _ = self.flush();
                Err(self.fail(func, &e))
            }
        }
    }

    fn handshake(&mut self, func: &CStr) -> Result<(), Io> {
        self.start(func)?;
        loop {
            self.flush()?;
            if !self.conn().is_handshaking() {
                if let Some(ce) = self.conn().error() {
                    let e = ce.error.clone();
                    return Err(self.fail(func, &e));
                }
                return Ok(());
            }
            self.fill(func)?;
        }
    }
}

fn result(r: Result<c_int, Io>) -> c_int {
    match r {
        Ok(n) => n,
        Err(Io::Sys) | Err(Io::Tls) => -1,
    }
}

/// Borrow a live SSL, or queue the NULL error.
///
/// # Safety
/// `ssl` NULL or from `SSL_new`, not freed.
unsafe fn ssl_mut<'a>(func: &CStr, ssl: *mut Ssl) -> Option<&'a mut Ssl> {
    if ssl.is_null() {
        raise(func, ERR_R_PASSED_NULL_PARAMETER, "NULL SSL");
        return None;
    }
    // SAFETY: per the caller.
    Some(unsafe { &mut *ssl })
}

/// `SSL_connect(ssl)`: run the client handshake over the fd. 1, or -1 (see SSL_get_error).
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`.
pub unsafe extern "C" fn _ferrossl_SSL_connect(ssl: *mut Ssl) -> c_int {
    let f = c"SSL_connect";
    guard(f, -1, || {
        // SAFETY: per the caller.
        let Some(ssl) = (unsafe { ssl_mut(f, ssl) }) else {
            return -1;
        };
        result(ssl.handshake(f).map(|()| 1))
    })
}

/// `SSL_write(ssl, buf, num)`: all `num` bytes on a blocking socket (the handshake first if
/// it has not run), or -1 / 0 (num 0) as OpenSSL.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`; `buf` points to `num` bytes.
pub unsafe extern "C" fn _ferrossl_SSL_write(
    ssl: *mut Ssl,
    buf: *const c_void,
    num: c_int,
) -> c_int {
    let f = c"SSL_write";
    guard(f, -1, || {
        // SAFETY: per the caller.
        let Some(ssl) = (unsafe { ssl_mut(f, ssl) }) else {
            return -1;
        };
        if num < 0 || (buf.is_null() && num > 0) {
            raise(f, SSL_R_BAD_LENGTH, "a negative length or a NULL buffer");
            return -1;
        }
        if num == 0 {
            return 0;
        }
        // SAFETY: the caller's buffer of `num` bytes.
        let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), num as usize) };
        result((|| {
            ssl.handshake(f)?;
            let mut done = 0;
            while done < data.len() {
                match ssl.conn().write(&data[done..]) {
                    Ok(n) => done += n,
                    Err(e) => return Err(ssl.fail(f, &e)),
                }
                ssl.flush()?;
            }
            Ok(num)
        })())
    })
}

/// `SSL_read(ssl, buf, num)`: bytes read (blocking until some arrive), 0 at the peer's
/// close_notify (SSL_ERROR_ZERO_RETURN) or on failure; -1 on failure as well (SSL_get_error).
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`; `buf` has room for `num` bytes.
pub unsafe extern "C" fn _ferrossl_SSL_read(ssl: *mut Ssl, buf: *mut c_void, num: c_int) -> c_int {
    let f = c"SSL_read";
    guard(f, -1, || {
        // SAFETY: per the caller.
        let Some(ssl) = (unsafe { ssl_mut(f, ssl) }) else {
            return -1;
        };
        if num < 0 || (buf.is_null() && num > 0) {
            raise(f, SSL_R_BAD_LENGTH, "a negative length or a NULL buffer");
            return -1;
        }
        // SAFETY: the caller's buffer of `num` bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), num as usize) };
        result((|| {
            ssl.handshake(f)?;
            loop {
                match ssl.conn().read(out) {
                    Ok(ReadStatus::Data(n)) => {
                        // Anything the read released (e.g. a KeyUpdate answer) goes out.
                        ssl.flush()?;
                        return Ok(n as c_int);
                    }
                    Ok(ReadStatus::Closed) => return Ok(0),
                    Ok(ReadStatus::PeerAuthenticated) => continue,
                    Ok(ReadStatus::WouldBlock) => {}
                    Err(e) => return Err(ssl.fail(f, &e)),
                }
                if num == 0 {
                    return Ok(0);
                }
                ssl.flush()?;
                ssl.fill(f)?;
            }
        })())
    })
}

/// `SSL_shutdown(ssl)`: send close_notify. 0 when the peer's close_notify has not arrived
/// yet (the first call, usually); 1 when it has. A second call after 0 waits for the peer's
/// close_notify (discarding data), then 1. -1 on failure.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`.
pub unsafe extern "C" fn _ferrossl_SSL_shutdown(ssl: *mut Ssl) -> c_int {
    let f = c"SSL_shutdown";
    guard(f, -1, || {
        // SAFETY: per the caller.
        let Some(ssl) = (unsafe { ssl_mut(f, ssl) }) else {
            return -1;
        };
        if ssl.conn.is_none() || ssl.conn().is_handshaking() {
            raise(f, SSL_R_UNINITIALIZED, "SSL_shutdown while not connected");
            return -1;
        }
        if ssl.failed {
            return -1; // OpenSSL does not send close_notify after a fatal error either
        }
        result((|| {
            let already_sent = ssl.sent_close;
            ssl.sent_close = true;
            ssl.conn().close();
            ssl.flush()?;
            if ssl.conn().received_close_notify() {
                return Ok(1);
            }
            if !already_sent {
                return Ok(0);
            }
            let mut sink = [0u8; 4096];
            while !ssl.conn().received_close_notify() {
                match ssl.conn().read(&mut sink) {
                    Ok(ReadStatus::Data(_)) | Ok(ReadStatus::PeerAuthenticated) => continue,
                    Ok(ReadStatus::Closed) => break,
                    Ok(ReadStatus::WouldBlock) => ssl.fill(f)?,
                    Err(e) => return Err(ssl.fail(f, &e)),
                }
            }
            Ok(1)
        })())
    })
}

/// `SSL_get_error(ssl, ret)`: as OpenSSL 3.0 decides it for a blocking socket: NONE for
/// ret > 0; SSL (or SYSCALL for an ERR_LIB_SYS error) when an error is queued; ZERO_RETURN
/// after the peer's close_notify; else SYSCALL (a transport error or EOF: see errno).
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`.
pub unsafe extern "C" fn _ferrossl_SSL_get_error(ssl: *const Ssl, ret: c_int) -> c_int {
    guard(c"SSL_get_error", SSL_ERROR_SSL, || {
        if ret > 0 {
            return SSL_ERROR_NONE;
        }
        // SAFETY: libcrypto's queue of this thread.
        let e = unsafe { ERR_peek_error() };
        if e != 0 {
            // ERR_GET_LIB: a system error (the top bit, ERR_SYSTEM_FLAG) is ERR_LIB_SYS.
            return if e & (1 << 31) != 0 || (e >> 23) & 0xff == ERR_LIB_SYS {
                SSL_ERROR_SYSCALL
            } else {
                SSL_ERROR_SSL
            };
        }
        // SAFETY: per the caller (NULL checked).
        let closed = !ssl.is_null()
            && unsafe { &*ssl }
                .conn
                .as_ref()
                .is_some_and(Connection::received_close_notify);
        if closed {
            SSL_ERROR_ZERO_RETURN
        } else {
            SSL_ERROR_SYSCALL
        }
    })
}

/// `SSL_get_version(ssl)`: "TLSv1.3", "TLSv1.2" once negotiated; "unknown" before (as
/// OpenSSL says for a version-flexible method), and for NULL.
#[unsafe(no_mangle)]
///
/// # Safety
/// `ssl` NULL or from `SSL_new`.
pub unsafe extern "C" fn _ferrossl_SSL_get_version(ssl: *const Ssl) -> *const c_char {
    guard(c"SSL_get_version", c"unknown".as_ptr(), || {
        if ssl.is_null() {
            return c"unknown".as_ptr();
        }
        // SAFETY: per the caller.
        let v = unsafe { &*ssl }
            .conn
            .as_ref()
            .and_then(Connection::protocol_version);
        match v.map(|v| v.to_int()) {
            Some(0x0304) => c"TLSv1.3".as_ptr(),
            Some(0x0303) => c"TLSv1.2".as_ptr(),
            Some(0x0302) => c"TLSv1.1".as_ptr(),
            Some(0x0301) => c"TLSv1".as_ptr(),
            _ => c"unknown".as_ptr(),
        }
    })
}
