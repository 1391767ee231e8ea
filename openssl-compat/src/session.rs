//! `SSL_SESSION`: a resumable session as the program holds it. The engine's session blob
//! (versioned, checksummed; it holds the resumption secret) travels inside, with what
//! OpenSSL's accessors report beside it. `i2d_SSL_SESSION` writes it as a DER SEQUENCE of our
//! own layout (not OpenSSL's SSL_SESSION_ASN1): programs store those bytes opaquely and hand
//! them back to `d2i_SSL_SESSION` of the same library.

use std::ffi::{CString, c_char, c_int, c_long, c_uchar, c_uint, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrotls::config::Role;
use ferrotls::conn::Connection;

use crate::err::*;
use crate::libcrypto::*;
use crate::nonnull;
use crate::ssl::{Ssl, ssl_or};

pub struct Session {
    refs: AtomicUsize,
    /// The engine's blob; empty: not resumable (a server's view, or before a ticket).
    pub blob: Vec<u8>,
    pub version: c_int,
    pub cipher: u16,
    pub id: Vec<u8>,
    pub time: i64,
    pub timeout: i64,
    pub sid_ctx: Vec<u8>,
    pub alpn: Vec<u8>,
    pub host: Option<CString>,
    pub ex_data: CRYPTO_EX_DATA,
}

/// A counted reference to a Session.
pub struct SessionRef(*mut Session);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl SessionRef {
    fn new(mut s: Session) -> Self {
        s.refs = AtomicUsize::new(1);
        let p = Box::into_raw(Box::new(s));
        // SAFETY: our new session and its ex_data field.
        unsafe { CRYPTO_new_ex_data(CRYPTO_EX_INDEX_SSL_SESSION, p.cast(), &mut (*p).ex_data) };
        Self(p)
    }

    fn empty() -> Session {
        let mut id = vec![0u8; 32];
        // SAFETY: a buffer of 32 bytes.
        unsafe { RAND_bytes(id.as_mut_ptr(), 32) };
        Session {
            refs: AtomicUsize::new(1),
            blob: Vec::new(),
            version: 0,
            cipher: 0,
            id,
            time: now(),
            timeout: 7200,
            sid_ctx: Vec::new(),
            alpn: Vec::new(),
            host: None,
            ex_data: CRYPTO_EX_DATA {
                ctx: std::ptr::null_mut(),
                sk: std::ptr::null_mut(),
            },
        }
    }

    /// A session for what `ssl`'s connection negotiated, resumable with `blob` (may be empty).
    pub fn from_conn(ssl: &Ssl, blob: Vec<u8>) -> Self {
        let mut s = Self::empty();
        if let Some(c) = &ssl.conn {
            s.version = c.protocol_version().map_or(0, |v| c_int::from(v.to_int()));
            s.cipher = c.cipher_suite().map_or(0, |c| c.to_int());
            s.alpn = c.alpn_protocol().map(<[u8]>::to_vec).unwrap_or_default();
            // OpenSSL records the name a server received; a client's session has none.
            let host = if ssl.role == Role::Client {
                None
            } else {
                c.server_name().map(str::to_owned)
            };
            s.host = host.and_then(|h| CString::new(h).ok());
        }
        s.sid_ctx = ssl.s.sid_ctx.clone();
        // SAFETY: the SSL's live context.
        s.timeout = unsafe { &*ssl.ctx }.timeout;
        s.blob = blob;
        Self::new(s)
    }

    /// Set the session ID (the engine's, for a server session).
    pub fn set_id(&self, id: &[u8]) {
        // SAFETY: we hold a reference, and no other borrow of the session is live here.
        unsafe { (*self.0).id = id.to_vec() };
    }

    pub fn get(&self) -> &Session {
        // SAFETY: we hold a reference.
        unsafe { &*self.0 }
    }

    pub fn into_raw(self) -> *mut Session {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// # Safety
    /// `p` is a live session.
    pub unsafe fn share(p: *mut Session) -> Self {
        // SAFETY: per the caller.
        unsafe { (*p).refs.fetch_add(1, Ordering::AcqRel) };
        Self(p)
    }

    /// Give back one reference; the last frees the session (its secret wiped).
    ///
    /// # Safety
    /// `p` is a live session whose reference the caller holds.
    pub unsafe fn release(p: *mut Session) {
        // SAFETY: per the caller.
        if unsafe { (*p).refs.fetch_sub(1, Ordering::AcqRel) } != 1 {
            return;
        }
        // SAFETY: the last reference.
        let mut b = unsafe { Box::from_raw(p) };
        // SAFETY: its ex_data, while it is whole.
        unsafe { CRYPTO_free_ex_data(CRYPTO_EX_INDEX_SSL_SESSION, p.cast(), &mut b.ex_data) };
        zeroize::Zeroize::zeroize(&mut b.blob);
    }
}

impl Clone for SessionRef {
    fn clone(&self) -> Self {
        // SAFETY: we hold a reference.
        unsafe { Self::share(self.0) }
    }
}

impl Drop for SessionRef {
    fn drop(&mut self) {
        // SAFETY: the reference we hold.
        unsafe { Self::release(self.0) }
    }
}

// The DER layout of i2d_SSL_SESSION: SEQUENCE { INTEGER 1, OCTET STRING "ferrotls", INTEGER
// version, OCTET STRING cipher, OCTET STRING id, INTEGER time, INTEGER timeout, OCTET STRING
// sid_ctx, OCTET STRING alpn, OCTET STRING host, OCTET STRING blob }.
const MAGIC: &[u8] = b"ferrotls";

fn der_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_tlv(out: &mut Vec<u8>, tag: u8, v: &[u8]) {
    out.push(tag);
    der_len(out, v.len());
    out.extend_from_slice(v);
}

fn der_int(out: &mut Vec<u8>, v: i64) {
    let b = v.to_be_bytes();
    // Minimal two's complement.
    let mut i = 0;
    while i < 7 && ((b[i] == 0 && b[i + 1] & 0x80 == 0) || (b[i] == 0xff && b[i + 1] & 0x80 != 0)) {
        i += 1;
    }
    der_tlv(out, 0x02, &b[i..]);
}

fn encode(s: &Session) -> Vec<u8> {
    let mut body = Vec::new();
    der_int(&mut body, 1);
    der_tlv(&mut body, 0x04, MAGIC);
    der_int(&mut body, i64::from(s.version));
    der_tlv(&mut body, 0x04, &s.cipher.to_be_bytes());
    der_tlv(&mut body, 0x04, &s.id);
    der_int(&mut body, s.time);
    der_int(&mut body, s.timeout);
    der_tlv(&mut body, 0x04, &s.sid_ctx);
    der_tlv(&mut body, 0x04, &s.alpn);
    der_tlv(
        &mut body,
        0x04,
        s.host.as_ref().map_or(&[][..], |h| h.as_bytes()),
    );
    der_tlv(&mut body, 0x04, &s.blob);
    let mut out = Vec::new();
    der_tlv(&mut out, 0x30, &body);
    out
}

/// A bounded DER reader: every length is checked against what is left.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn tlv(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.0.split_first()?;
        if t != tag {
            return None;
        }
        let (&l, mut rest) = rest.split_first()?;
        let len = if l < 0x80 {
            l as usize
        } else {
            let n = (l & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let v = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
            rest = &rest[n..];
            v
        };
        if rest.len() < len {
            return None;
        }
        self.0 = &rest[len..];
        Some(&rest[..len])
    }
    fn int(&mut self) -> Option<i64> {
        let v = self.tlv(0x02)?;
        if v.is_empty() || v.len() > 8 {
            return None;
        }
        let neg = v[0] & 0x80 != 0;
        Some(
            v.iter()
                .fold(if neg { -1i64 } else { 0 }, |a, &b| (a << 8) | i64::from(b)),
        )
    }
}

fn decode(d: &[u8]) -> Option<(Session, usize)> {
    let mut outer = Der(d);
    let body = outer.tlv(0x30)?;
    let used = d.len() - outer.0.len();
    let mut r = Der(body);
    if r.int()? != 1 || r.tlv(0x04)? != MAGIC {
        return None;
    }
    let mut s = SessionRef::empty();
    s.version = c_int::try_from(r.int()?).ok()?;
    let c = r.tlv(0x04)?;
    s.cipher = u16::from_be_bytes(c.try_into().ok()?);
    s.id = r.tlv(0x04)?.to_vec();
    if s.id.len() > 32 {
        return None;
    }
    s.time = r.int()?;
    s.timeout = r.int()?;
    s.sid_ctx = r.tlv(0x04)?.to_vec();
    s.alpn = r.tlv(0x04)?.to_vec();
    let h = r.tlv(0x04)?;
    s.host = (!h.is_empty()).then(|| CString::new(h).ok()).flatten();
    s.blob = r.tlv(0x04)?.to_vec();
    Some((s, used))
}

fn sess<'a>(p: *const Session) -> Option<&'a Session> {
    // SAFETY: a live session of the program's, or NULL.
    (!p.is_null()).then(|| unsafe { &*p })
}

fn sess_mut<'a>(p: *mut Session) -> Option<&'a mut Session> {
    // SAFETY: as above.
    (!p.is_null()).then(|| unsafe { &mut *p })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_new() -> *mut Session {
    guard(c"SSL_SESSION_new", std::ptr::null_mut(), || {
        SessionRef::new(SessionRef::empty()).into_raw()
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_free(s: *mut Session) {
    guard(c"SSL_SESSION_free", (), || {
        if !s.is_null() {
            // SAFETY: the program's reference.
            unsafe { SessionRef::release(s) }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_up_ref(s: *mut Session) -> c_int {
    if s.is_null() {
        return 0;
    }
    // SAFETY: a live session: one more reference for the program.
    std::mem::forget(unsafe { SessionRef::share(s) });
    1
}

/// An id of at most 32 bytes from the program (a session id, a session id context), or
/// `None` with OpenSSL's error queued.
pub fn id_bytes(f: &CStr, id: *const c_uchar, len: c_uint, what: &str) -> Option<Vec<u8>> {
    if len > 32 || (id.is_null() && len > 0) {
        raise(
            f,
            SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG,
            &format!("{what} is at most 32 bytes"),
        );
        return None;
    }
    if len == 0 {
        return Some(Vec::new());
    }
    // SAFETY: the caller's `len` bytes.
    Some(unsafe { std::slice::from_raw_parts(id, len as usize) }.to_vec())
}

/// Point `*len` at the length of `bytes` and return their address (SSL_SESSION_get_id...).
fn id_out(bytes: &[u8], len: *mut c_uint) -> *const c_uchar {
    if !len.is_null() {
        // SAFETY: the caller's out-parameter.
        unsafe { *len = bytes.len() as c_uint };
    }
    bytes.as_ptr()
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_id(
    s: *const Session,
    len: *mut c_uint,
) -> *const c_uchar {
    sess(s).map_or(std::ptr::null(), |s| id_out(&s.id, len))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_set1_id(
    s: *mut Session,
    id: *const c_uchar,
    len: c_uint,
) -> c_int {
    let Some(s) = sess_mut(s) else { return 0 };
    id_bytes(c"SSL_SESSION_set1_id", id, len, "a session id").map_or(0, |v| {
        s.id = v;
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get0_id_context(
    s: *const Session,
    len: *mut c_uint,
) -> *const c_uchar {
    sess(s).map_or(std::ptr::null(), |s| id_out(&s.sid_ctx, len))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_set1_id_context(
    s: *mut Session,
    id: *const c_uchar,
    len: c_uint,
) -> c_int {
    let Some(s) = sess_mut(s) else { return 0 };
    id_bytes(
        c"SSL_SESSION_set1_id_context",
        id,
        len,
        "a session id context",
    )
    .map_or(0, |v| {
        s.sid_ctx = v;
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_time(s: *const Session) -> c_long {
    sess(s).map_or(0, |s| s.time as c_long)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_set_time(s: *mut Session, t: c_long) -> c_long {
    sess_mut(s).map_or(0, |s| {
        s.time = t;
        t
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_timeout(s: *const Session) -> c_long {
    sess(s).map_or(0, |s| s.timeout as c_long)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_set_timeout(s: *mut Session, t: c_long) -> c_long {
    sess_mut(s).map_or(0, |s| {
        s.timeout = t;
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_protocol_version(s: *const Session) -> c_int {
    sess(s).map_or(0, |s| s.version)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_set_protocol_version(s: *mut Session, v: c_int) -> c_int {
    sess_mut(s).map_or(0, |s| {
        s.version = v;
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_is_resumable(s: *const Session) -> c_int {
    c_int::from(sess(s).is_some_and(|s| !s.blob.is_empty()))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_has_ticket(s: *const Session) -> c_int {
    c_int::from(sess(s).is_some_and(|s| !s.blob.is_empty()))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_ticket_lifetime_hint(s: *const Session) -> CUlong {
    sess(s).map_or(0, |s| s.timeout.max(0) as CUlong)
}
type CUlong = std::ffi::c_ulong;

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get0_cipher(
    s: *const Session,
) -> *const crate::cipher::SslCipher {
    sess(s)
        .and_then(|s| crate::cipher::by_id(s.cipher))
        .map_or(std::ptr::null(), crate::cipher::as_ptr)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get0_hostname(s: *const Session) -> *const c_char {
    sess(s)
        .and_then(|s| s.host.as_ref())
        .map_or(std::ptr::null(), |h| h.as_ptr())
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get0_alpn_selected(
    s: *const Session,
    alpn: *mut *const c_uchar,
    len: *mut usize,
) {
    let (p, n) = sess(s).map_or((std::ptr::null(), 0), |s| (s.alpn.as_ptr(), s.alpn.len()));
    // SAFETY: the caller's out-parameters.
    unsafe {
        if !alpn.is_null() {
            *alpn = if n == 0 { std::ptr::null() } else { p };
        }
        if !len.is_null() {
            *len = n;
        }
    }
}

/// The master key is the engine's and stays there: 0 bytes, as OpenSSL reports for none.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_master_key(
    _s: *const Session,
    _out: *mut c_uchar,
    _len: usize,
) -> usize {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_max_early_data(_s: *const Session) -> u32 {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_compress_id(_s: *const Session) -> c_uint {
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get0_peer(_s: *const Session) -> *mut X509 {
    std::ptr::null_mut()
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_set_ex_data(
    s: *mut Session,
    idx: c_int,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the session's live ex_data.
    sess_mut(s).map_or(0, |s| unsafe {
        CRYPTO_set_ex_data(&mut s.ex_data, idx, data)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_SESSION_get_ex_data(s: *const Session, idx: c_int) -> *mut c_void {
    // SAFETY: the session's live ex_data.
    sess(s).map_or(std::ptr::null_mut(), |s| unsafe {
        CRYPTO_get_ex_data(&s.ex_data, idx)
    })
}

/// `i2d_SSL_SESSION(s, pp)`: the length; with `pp`, the bytes at `*pp` (allocated with
/// OPENSSL_malloc if `*pp` is NULL), `*pp` advanced past them unless we allocated.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_i2d_SSL_SESSION(s: *const Session, pp: *mut *mut c_uchar) -> c_int {
    let f = c"i2d_SSL_SESSION";
    guard(f, 0, || {
        let Some(s) = sess(s) else {
            raise(f, ERR_R_PASSED_NULL_PARAMETER, "NULL SSL_SESSION");
            return 0;
        };
        let der = zeroize::Zeroizing::new(encode(s));
        if pp.is_null() {
            return der.len() as c_int;
        }
        // SAFETY: the caller's pointer to a buffer of at least the length (or to NULL).
        unsafe {
            if (*pp).is_null() {
                let p = openssl_malloc(der.len()).cast::<u8>();
                if p.is_null() {
                    raise(f, ERR_R_MALLOC_FAILURE, "out of memory");
                    return 0;
                }
                std::ptr::copy_nonoverlapping(der.as_ptr(), p, der.len());
                *pp = p;
            } else {
                std::ptr::copy_nonoverlapping(der.as_ptr(), *pp, der.len());
                *pp = (*pp).add(der.len());
            }
        }
        der.len() as c_int
    })
}

/// `d2i_SSL_SESSION(a, pp, len)`: a session from i2d_SSL_SESSION's bytes; `*pp` advanced.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_d2i_SSL_SESSION(
    a: *mut *mut Session,
    pp: *mut *const c_uchar,
    len: c_long,
) -> *mut Session {
    let f = c"d2i_SSL_SESSION";
    guard(f, std::ptr::null_mut(), || {
        nonnull!(f, pp, std::ptr::null_mut());
        // SAFETY: the caller's pointer to `len` bytes.
        let p = unsafe { *pp };
        nonnull!(f, p, std::ptr::null_mut());
        let d = unsafe { std::slice::from_raw_parts(p, len.max(0) as usize) };
        let Some((s, used)) = decode(d) else {
            raise(
                f,
                SSL_R_BAD_VALUE,
                "these bytes are not a session from ferrotls's i2d_SSL_SESSION (sessions are not exchangeable with OpenSSL's libssl)",
            );
            return std::ptr::null_mut();
        };
        let raw = SessionRef::new(s).into_raw();
        // SAFETY: as above; the caller's optional out-parameter (its old session is freed).
        unsafe {
            *pp = p.add(used);
            if !a.is_null() {
                if !(*a).is_null() {
                    SessionRef::release(*a);
                }
                *a = raw;
            }
        }
        raw
    })
}

const PEM_NAME: &CStr = c"SSL SESSION PARAMETERS";
use std::ffi::CStr;

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_PEM_write_bio_SSL_SESSION(bio: *mut BIO, s: *const Session) -> c_int {
    let f = c"PEM_write_bio_SSL_SESSION";
    guard(f, 0, || {
        nonnull!(f, bio, 0);
        let Some(s) = sess(s) else {
            raise(f, ERR_R_PASSED_NULL_PARAMETER, "NULL SSL_SESSION");
            return 0;
        };
        let der = zeroize::Zeroizing::new(encode(s));
        // SAFETY: a live BIO; static strings; our bytes.
        unsafe {
            PEM_write_bio(
                bio,
                PEM_NAME.as_ptr(),
                c"".as_ptr(),
                der.as_ptr(),
                der.len() as c_long,
            )
        }
        .clamp(0, 1)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_PEM_read_bio_SSL_SESSION(
    bio: *mut BIO,
    x: *mut *mut Session,
    _cb: *const c_void,
    _u: *mut c_void,
) -> *mut Session {
    let f = c"PEM_read_bio_SSL_SESSION";
    guard(f, std::ptr::null_mut(), || {
        nonnull!(f, bio, std::ptr::null_mut());
        let mut name: *mut c_char = std::ptr::null_mut();
        let mut header: *mut c_char = std::ptr::null_mut();
        let mut data: *mut c_uchar = std::ptr::null_mut();
        let mut len: c_long = 0;
        // SAFETY: a live BIO; PEM_read_bio allocates the three outputs, which we free.
        let ok = unsafe { PEM_read_bio(bio, &mut name, &mut header, &mut data, &mut len) };
        if ok != 1 {
            return std::ptr::null_mut(); // libcrypto queued PEM_R_NO_START_LINE or the like
        }
        // SAFETY: NUL-terminated name from libcrypto.
        let right = unsafe { CStr::from_ptr(name) } == PEM_NAME;
        let mut p = data.cast_const();
        let out = if right {
            _ferrossl_d2i_SSL_SESSION(x, &mut p, len)
        } else {
            raise(
                f,
                SSL_R_BAD_VALUE,
                "the PEM block is not an SSL SESSION PARAMETERS block",
            );
            std::ptr::null_mut()
        };
        // SAFETY: libcrypto's allocations; the data held a secret.
        unsafe {
            OPENSSL_cleanse(data.cast(), len.max(0) as usize);
            openssl_free(name.cast());
            openssl_free(header.cast());
            openssl_free(data.cast());
        }
        out
    })
}

impl Ssl {
    /// The session SSL_get_session reports: the newest resumable one, else one describing
    /// the connection (not resumable), else what SSL_set_session offered.
    pub fn current_session(&mut self) -> Option<SessionRef> {
        // A resumed TLS 1.2 session is the one offered (same id, as OpenSSL reports it).
        let resumed12 = self.conn.as_ref().is_some_and(|c| {
            matches!(
                c.handshake_kind(),
                Some(ferrotls::conn::HandshakeKind::Resumed)
            ) && c.protocol_version().is_some_and(|v| v.to_int() == 0x0303)
        });
        if resumed12 && let Some(o) = &self.offer {
            return Some(o.clone());
        }
        let blob = self.conn.as_ref().and_then(Connection::session);
        if let Some(b) = &blob
            && let Some(s) = self.sessions.iter().rev().find(|s| s.get().blob == *b)
        {
            return Some(s.clone());
        }
        if let Some(b) = blob {
            let s = SessionRef::from_conn(self, b);
            self.sessions.push(s.clone());
            return Some(s);
        }
        if self
            .conn
            .as_ref()
            .is_some_and(|c| !c.is_handshaking() && c.protocol_version().is_some())
        {
            if let Some(s) = self.sessions.last() {
                return Some(s.clone());
            }
            let s = SessionRef::from_conn(self, Vec::new());
            self.sessions.push(s.clone());
            return Some(s);
        }
        self.offer.clone()
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_session(ssl: *mut Ssl) -> *mut Session {
    let f = c"SSL_get_session";
    guard(f, std::ptr::null_mut(), || {
        let ssl = ssl_or!(f, ssl, std::ptr::null_mut());
        // The SSL keeps its reference: the pointer lives as long as the SSL.
        ssl.current_session().map_or(std::ptr::null_mut(), |s| s.0)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get1_session(ssl: *mut Ssl) -> *mut Session {
    let f = c"SSL_get1_session";
    guard(f, std::ptr::null_mut(), || {
        let ssl = ssl_or!(f, ssl, std::ptr::null_mut());
        ssl.current_session()
            .map_or(std::ptr::null_mut(), SessionRef::into_raw)
    })
}

/// `SSL_set_session(ssl, s)`: offer `s` in the coming handshake (NULL: offer none).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_session(ssl: *mut Ssl, s: *mut Session) -> c_int {
    let f = c"SSL_set_session";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        if ssl.conn.is_some() {
            raise(
                f,
                SSL_R_BAD_VALUE,
                "SSL_set_session after the handshake started",
            );
            return 0;
        }
        // SAFETY: a live session of the program's: we take our own reference.
        ssl.offer = (!s.is_null()).then(|| unsafe { SessionRef::share(s) });
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_session_reused(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    let k = unsafe { (*ssl).conn.as_ref().and_then(Connection::handshake_kind) };
    c_int::from(matches!(k, Some(ferrotls::conn::HandshakeKind::Resumed)))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_session_id_context(
    ssl: *mut Ssl,
    sid: *const u8,
    len: c_uint,
) -> c_int {
    let f = c"SSL_set_session_id_context";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        id_bytes(f, sid, len, "a session id context").map_or(0, |v| {
            ssl.s.sid_ctx = v;
            1
        })
    })
}

/// The server's session cache is the engine's own: adding or removing by hand is accepted and
/// has no effect; flushing expires nothing early.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_add_session(_ctx: *mut c_void, _s: *mut Session) -> c_int {
    1
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_remove_session(_ctx: *mut c_void, _s: *mut Session) -> c_int {
    0
}
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_flush_sessions(_ctx: *mut c_void, _t: c_long) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        let mut s = SessionRef::empty();
        s.version = 0x0304;
        s.cipher = 0x1302;
        s.time = 1_796_000_000;
        s.timeout = 7200;
        s.sid_ctx = b"ctx".to_vec();
        s.alpn = b"h2".to_vec();
        s.host = Some(CString::new("localhost").unwrap());
        s.blob = (0..300u16).map(|i| i as u8).collect();
        s
    }

    #[test]
    fn encoding_round_trips() {
        let s = sample();
        let der = encode(&s);
        let (d, used) = decode(&der).expect("decodes");
        assert_eq!(used, der.len());
        assert_eq!(
            (d.version, d.cipher, d.time, d.timeout),
            (s.version, s.cipher, s.time, s.timeout)
        );
        assert_eq!(
            (&d.id, &d.sid_ctx, &d.alpn, &d.blob),
            (&s.id, &s.sid_ctx, &s.alpn, &s.blob)
        );
        assert_eq!(d.host, s.host);
        assert_eq!(encode(&d), der, "re-encoding is byte-identical");
    }

    #[test]
    fn negative_and_large_integers_round_trip() {
        for v in [
            0i64,
            1,
            127,
            128,
            255,
            256,
            -1,
            -128,
            -129,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            der_int(&mut out, v);
            assert_eq!(Der(&out).int(), Some(v), "{v}");
        }
    }

    #[test]
    fn every_truncation_and_corruption_is_refused_without_panic() {
        let der = encode(&sample());
        for n in 0..der.len() {
            assert!(
                decode(&der[..n]).is_none(),
                "a truncation to {n} bytes decoded"
            );
        }
        // Flip each byte: decoding may succeed (a changed value) but never panics, and a
        // changed tag or length never reads past the input.
        for i in 0..der.len() {
            let mut d = der.clone();
            d[i] ^= 0xff;
            let _ = decode(&d);
        }
        // An OpenSSL session (SSL_SESSION_ASN1 starts with INTEGER 1, INTEGER version) is not ours.
        let openssl_like = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x03];
        assert!(decode(&openssl_like).is_none());
        // A length claiming more than is there.
        assert!(decode(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }
}
