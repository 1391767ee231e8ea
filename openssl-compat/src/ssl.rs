//! `SSL`: one connection. The engine is sans-IO; here it is driven over the program's BIOs
//! (a socket BIO for `SSL_set_fd`, memory BIOs, BIO pairs, a program's own BIO methods), with
//! OpenSSL's results: want-read / want-write when a non-blocking BIO has nothing, the
//! two-step `SSL_shutdown`, `SSL_get_error` decided from the last call's outcome.
//!
//! Callbacks the engine makes while it runs (certificate verdicts, ALPN choice, key log)
//! need the SSL the program knows: each driving export marks its SSL as this thread's current
//! one ([`enter`]) for the length of the call.

use std::cell::Cell;
use std::ffi::{CStr, CString, c_char, c_int, c_long, c_void};
use std::sync::Arc;

use ferrotls::config::Role;
use ferrotls::conn::{Connection, ReadStatus};
use ferrotls::error::Error;
use ferrotls::select::{AlpnChoice, AlpnSelector};

use crate::ctx::*;
use crate::err::*;
use crate::libcrypto::*;
use crate::nonnull;

pub const SSL_ERROR_NONE: c_int = 0;
pub const SSL_ERROR_SSL: c_int = 1;
pub const SSL_ERROR_WANT_READ: c_int = 2;
pub const SSL_ERROR_WANT_WRITE: c_int = 3;
pub const SSL_ERROR_SYSCALL: c_int = 5;
pub const SSL_ERROR_ZERO_RETURN: c_int = 6;
pub const SSL_SENT_SHUTDOWN: c_int = 1;
pub const SSL_RECEIVED_SHUTDOWN: c_int = 2;
const SSL_CB_LOOP: c_int = 0x01;
const SSL_CB_EXIT: c_int = 0x02;
const SSL_CB_READ: c_int = 0x04;
const SSL_CB_WRITE: c_int = 0x08;
const SSL_CB_ALERT: c_int = 0x4000;
const SSL_CB_HANDSHAKE_START: c_int = 0x10;
const SSL_CB_HANDSHAKE_DONE: c_int = 0x20;
const SSL_ST_CONNECT: c_int = 0x1000;
const SSL_ST_ACCEPT: c_int = 0x2000;

thread_local! {
    static CURRENT: Cell<*mut Ssl> = const { Cell::new(std::ptr::null_mut()) };
}

/// While alive, `ssl` is this thread's current SSL (restored on drop: calls nest).
pub struct Current(*mut Ssl);

pub fn enter(ssl: *mut Ssl) -> Current {
    Current(CURRENT.with(|c| c.replace(ssl)))
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The SSL whose call is running on this thread (NULL outside one).
pub fn current() -> *mut Ssl {
    CURRENT.with(Cell::get)
}

/// How the last driving call ended, for SSL_get_error and SSL_want.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Last {
    Nothing,
    WantRead,
    WantWrite,
    /// The transport failed (errno says why) or ended without close_notify while we
    /// ignore unexpected EOF.
    Syscall,
    /// A TLS error, queued.
    Ssl,
    /// The peer's close_notify.
    Zero,
}

/// The peer's certificates as libcrypto objects, made once per chain.
#[derive(Default)]
pub struct Peer {
    pub ders: Vec<Vec<u8>>,
    pub certs: Vec<crate::x509::X509Ref>,
    /// SSL_get_peer_cert_chain's stack (ours; the program does not free it).
    pub stack: *mut OPENSSL_STACK,
    /// SSL_get0_verified_chain's stack: the chain and the anchor that ended it.
    pub verified: *mut OPENSSL_STACK,
}

/// An `SSL`.
pub struct Ssl {
    pub ctx: *mut Ctx,
    pub s: Settings,
    pub role: Role,
    /// SSL_set_connect_state / SSL_set_accept_state / SSL_connect / SSL_accept was called.
    role_set: bool,
    pub rbio: *mut BIO,
    pub wbio: *mut BIO,
    /// The SNI name (SSL_set_tlsext_host_name).
    pub host: Option<String>,
    /// Host names to verify (SSL_set1_host), depth, flags: libcrypto's own object.
    pub param: *mut X509_VERIFY_PARAM,
    pub conn: Option<Connection>,
    /// Ciphertext read but not yet taken by the engine (its buffers were full).
    inbuf: Vec<u8>,
    /// Where the record being read stands: header bytes so far, body bytes still to come.
    rec_hdr: Vec<u8>,
    rec_body: usize,
    /// The buffer BIO reads land in (made at the first read).
    rbuf: Box<[u8]>,
    failed: bool,
    pub shutdown: c_int,
    pub quiet_shutdown: bool,
    pub last: Last,
    /// An SSL_write that wanted to write: its length (0: none) and the bytes the engine took
    /// so far. Plain integers, not an Option: Memcheck misreads the branch LLVM makes on an
    /// Option's unset payload as a use of uninitialised memory.
    write_pending_len: usize,
    write_pending_done: usize,
    pub verify_result: c_long,
    pub ex_data: CRYPTO_EX_DATA,
    /// SSL_set_session's session, offered at the start.
    pub offer: Option<crate::session::SessionRef>,
    /// Sessions made for the program (SSL_get_session): kept alive with the SSL.
    pub sessions: Vec<crate::session::SessionRef>,
    /// The engine's session serial last seen (a new session is announced once).
    session_serial: u64,
    pub peer: Peer,
    pub servername: Option<CString>,
    /// The SNI name of the ClientHello being answered (a server, before the engine records it).
    pub hello_name: Option<String>,
    /// The ClientHello being answered, for the client-hello callback's accessors.
    pub client_hello: Vec<u8>,
    /// SSL_set_client_CA_list's list (owned), instead of the context's.
    pub client_ca_list: *mut OPENSSL_STACK,
    /// The host name (of SSL_set1_host's) the peer's certificate matched.
    pub peername: Option<CString>,
    pub info_cb: InfoCb,
    pub alpn_override: Option<Vec<Vec<u8>>>,
    started: bool,
    done: bool,
    /// The transport ended without close_notify (SSL_read then returns 0, not -1).
    eof: bool,
}

impl Ssl {
    fn ctx(&self) -> &Ctx {
        // SAFETY: an SSL holds a reference to its context for its whole life.
        unsafe { &*self.ctx }
    }

    fn info(&self, ptr: *const Ssl, where_: c_int, ret: c_int) {
        let cb = self.info_cb.or(self.ctx().info_cb);
        if let Some(cb) = cb {
            // SAFETY: the program's callback, with its SSL.
            unsafe { cb(ptr.cast(), where_, ret) };
        }
    }

    /// Count an event in the context's session statistics.
    fn count(&self, i: usize) {
        self.ctx().stats[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn state_bit(&self) -> c_int {
        if self.role == Role::Client {
            SSL_ST_CONNECT
        } else {
            SSL_ST_ACCEPT
        }
    }

    pub fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("started")
    }

    fn fail(&mut self, f: &CStr, e: &Error) -> Last {
        let detail = match self.conn.as_ref().and_then(Connection::error) {
            Some(ce) => ce.to_string(),
            None => e.to_string(),
        };
        raise(f, reason_for(e), &detail);
        if let Some((alert, sent)) = self.conn.as_ref().and_then(Connection::last_alert) {
            let rw = if sent { SSL_CB_WRITE } else { SSL_CB_READ };
            self.info(
                self,
                SSL_CB_ALERT | rw,
                (2 << 8) | c_int::from(alert.to_int()),
            );
        }
        self.failed = true;
        Last::Ssl
    }

    /// Create the engine connection (the ClientHello is built here for a client).
    fn start(&mut self, f: &CStr) -> Result<(), Last> {
        if self.failed {
            raise(
                f,
                SSL_R_PROTOCOL_IS_SHUTDOWN,
                "the connection has already failed",
            );
            return Err(Last::Ssl);
        }
        if self.rbio.is_null() || self.wbio.is_null() {
            raise(
                f,
                SSL_R_UNINITIALIZED,
                "no BIO: call SSL_set_fd or SSL_set_bio first",
            );
            return Err(Last::Ssl);
        }
        if self.conn.is_some() {
            return Ok(());
        }
        let config = match self.ctx().config(self.role, &self.s) {
            Ok(c) => c,
            Err((reason, detail)) => {
                raise(f, reason, &detail);
                self.failed = true;
                return Err(Last::Ssl);
            }
        };
        let conn = match self.role {
            Role::Client => {
                // The engine verifies a chain against a name; OpenSSL checks a name only
                // when asked (SSL_set1_host), which our verifier does. Without any name the
                // engine gets an address that no certificate names, so only the chain counts.
                let name = self
                    .host
                    .clone()
                    .or_else(|| crate::verify::first_host(self.param))
                    .unwrap_or_else(|| "0.0.0.0".into());
                Connection::new_client(config, Some(&name)).and_then(|mut c| {
                    if let Some(s) = &self.offer {
                        // A session for another name or version is not offered, as in
                        // OpenSSL when it cannot be resumed: a full handshake follows.
                        let _ = c.set_session(&s.get().blob);
                    }
                    if let Some(a) = &self.alpn_override {
                        c.set_alpn(a)?;
                    }
                    Ok(c)
                })
            }
            Role::Server => Connection::new_server(config),
        };
        match conn {
            Ok(c) => self.conn = Some(c),
            Err(e) => return Err(self.fail(f, &e)),
        }
        crate::observe::attach(self);
        self.count(if self.role == Role::Client { 0 } else { 2 });
        self.started = true;
        self.info(self, SSL_CB_HANDSHAKE_START, 1);
        Ok(())
    }

    /// Send everything the engine has queued.
    fn flush(&mut self) -> Result<(), Last> {
        let mut wrote = false;
        while self.conn().outgoing_len() > 0 {
            let wbio = self.wbio;
            let out = self.conn().peek_outgoing();
            let len = out.len().min(c_int::MAX as usize) as c_int;
            // SAFETY: a live BIO; `out` is a live buffer of at least `len` bytes.
            let n = unsafe { BIO_write(wbio, out.as_ptr().cast(), len) };
            if n > 0 {
                self.conn().consume_outgoing(n as usize);
                wrote = true;
                continue;
            }
            // SAFETY: a live BIO.
            return Err(if unsafe { bio_should_retry(wbio) } {
                Last::WantWrite
            } else {
                Last::Syscall
            });
        }
        if wrote {
            // SAFETY: a live BIO. A buffering BIO passes the bytes on now (OpenSSL flushes
            // after each flight too).
            let r = unsafe { BIO_ctrl(self.wbio, BIO_CTRL_FLUSH, 0, std::ptr::null_mut()) };
            // SAFETY: as above.
            if r <= 0 && unsafe { bio_should_retry(self.wbio) } {
                return Err(Last::WantWrite);
            }
        }
        Ok(())
    }

    /// Give the engine more ciphertext: what is left over, else one read of the BIO. True
    /// when a whole record has now been handed over.
    fn fill(&mut self, f: &CStr) -> Result<bool, Last> {
        let mut whole = false;
        let r = if !self.inbuf.is_empty() {
            let data = std::mem::take(&mut self.inbuf);
            match self.conn().feed(&data) {
                Ok(k) => {
                    self.inbuf = data[k..].to_vec();
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else {
            // Read no further than the record in progress (its header, then its body), as
            // OpenSSL does without read-ahead: programs that wait on the socket once
            // SSL_pending is 0 must find every unread record still in the socket.
            // One buffer per SSL, made at its first read (not 16 KiB zeroed per call).
            let mut buf = std::mem::take(&mut self.rbuf);
            if buf.is_empty() {
                buf = vec![0u8; 16 * 1024 + 512].into_boxed_slice();
            }
            let want = if self.s.read_ahead != 0 {
                buf.len()
            } else if self.rec_body > 0 {
                self.rec_body.min(buf.len())
            } else {
                5 - self.rec_hdr.len()
            };
            // SAFETY: a live BIO and a buffer of at least `want` bytes.
            let n = unsafe { BIO_read(self.rbio, buf.as_mut_ptr().cast(), want as c_int) };
            if n > 0 && self.s.read_ahead != 0 {
                whole = true;
            }
            if n > 0 && self.s.read_ahead == 0 {
                let got = &buf[..n as usize];
                if self.rec_body > 0 {
                    self.rec_body -= got.len();
                    whole = self.rec_body == 0;
                } else {
                    self.rec_hdr.extend_from_slice(got);
                    if self.rec_hdr.len() == 5 {
                        self.rec_body =
                            usize::from(u16::from_be_bytes([self.rec_hdr[3], self.rec_hdr[4]]));
                        self.rec_hdr.clear();
                    }
                }
            }
            let fed = (n > 0).then(|| {
                let data = &buf[..n as usize];
                match self.conn().feed(data) {
                    Ok(k) => {
                        if k < data.len() {
                            self.inbuf = data[k..].to_vec();
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            });
            self.rbuf = buf;
            if let Some(r) = fed {
                r
            } else if unsafe { bio_should_retry(self.rbio) } {
                return Err(Last::WantRead);
            } else if n < 0 {
                return Err(Last::Syscall);
            } else if self.s.options & SSL_OP_IGNORE_UNEXPECTED_EOF != 0
                && !self.conn().is_handshaking()
            {
                // The program asked that EOF count as a close (OpenSSL: SSL_ERROR_ZERO_RETURN).
                self.shutdown |= SSL_RECEIVED_SHUTDOWN;
                return Err(Last::Zero);
            } else {
                self.eof = true;
                self.conn().feed_eof()
            }
        };
        match r {
            Ok(()) => Ok(whole),
            Err(e) => {
                // An alert we owe the peer goes out before we report.
                let _ = self.flush();
                self.drain_socket();
                Err(self.fail(f, &e))
            }
        }
    }

    /// After a fatal alert went out: read (without waiting) what the peer already sent.
    /// Reading one record at a time leaves the rest of its flight in the socket; a program
    /// that then closes the socket would make the kernel answer with a reset, which can
    /// destroy our alert before the peer reads it (it would see "connection reset" instead
    /// of the reason).
    fn drain_socket(&mut self) {
        let fd = bio_fd(self.rbio);
        if fd < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        for _ in 0..64 {
            // SAFETY: a socket fd of the program's and our buffer; MSG_DONTWAIT never blocks.
            let n =
                unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n <= 0 {
                break;
            }
        }
    }

    /// Run the handshake to its end (or to where the BIO says wait).
    pub fn handshake(&mut self, f: &CStr) -> Result<(), Last> {
        self.start(f)?;
        let ptr: *const Ssl = self;
        loop {
            self.flush()?;
            if !self.conn().is_handshaking() {
                if let Some(ce) = self.conn().error() {
                    let e = ce.error.clone();
                    return Err(self.fail(f, &e));
                }
                if !self.done {
                    self.done = true;
                    self.count(if self.role == Role::Client { 1 } else { 3 });
                    if matches!(
                        self.conn().handshake_kind(),
                        Some(ferrotls::conn::HandshakeKind::Resumed)
                    ) {
                        self.count(4);
                    }
                    self.info(ptr, SSL_CB_HANDSHAKE_DONE, 1);
                    self.info(ptr, self.state_bit() | SSL_CB_EXIT, 1);
                    self.new_sessions();
                }
                return Ok(());
            }
            self.fill(f)?;
        }
    }

    /// Tell the program of a new resumable session (client, SSL_SESS_CACHE_CLIENT), once per
    /// session: after the handshake (TLS 1.2) and after each ticket (TLS 1.3).
    fn new_sessions(&mut self) {
        if self.role != Role::Client {
            return;
        }
        // Only a new session is worth a copy of its blob (this runs after every read).
        let serial = self.conn.as_ref().map_or(0, Connection::session_serial);
        if serial == self.session_serial {
            return;
        }
        self.session_serial = serial;
        let Some(blob) = self.conn.as_ref().and_then(Connection::session) else {
            return;
        };
        // A resumed TLS 1.2 session is the one the program already has: OpenSSL announces
        // nothing new (TLS 1.3 resumption brings new tickets, which are new sessions).
        let resumed12 = self.conn.as_ref().is_some_and(|c| {
            matches!(
                c.handshake_kind(),
                Some(ferrotls::conn::HandshakeKind::Resumed)
            ) && c.protocol_version().is_some_and(|v| v.to_int() == 0x0303)
        });
        if resumed12 && self.sessions.is_empty() && self.offer.is_some() {
            return;
        }
        let sess = crate::session::SessionRef::from_conn(self, blob);
        self.sessions.push(sess.clone());
        let ctx = self.ctx();
        if ctx.sess_cache_mode & SSL_SESS_CACHE_CLIENT == 0 {
            return;
        }
        if let Some(cb) = ctx.new_session_cb {
            let raw = sess.clone().into_raw();
            // SAFETY: the program's callback; a return of 1 means it kept our reference.
            if unsafe { cb((self as *mut Ssl).cast(), raw.cast()) } == 0 {
                // SAFETY: the reference we handed over and the program did not keep.
                unsafe { crate::session::SessionRef::release(raw) };
            }
        }
    }

    /// Read plaintext into `out` (the handshake first if needed). Ok(0) means the peer's
    /// close_notify.
    fn read_into(&mut self, f: &CStr, out: &mut [u8], peek: bool) -> Result<usize, Last> {
        if self.shutdown & SSL_RECEIVED_SHUTDOWN != 0 {
            return Err(Last::Zero);
        }
        self.handshake(f)?;
        loop {
            if peek {
                let avail = self.conn().peek_plaintext();
                if !avail.is_empty() {
                    let n = avail.len().min(out.len());
                    out[..n].copy_from_slice(&avail[..n]);
                    return Ok(n);
                }
            } else if !out.is_empty() || self.conn().readable() == 0 {
                match self.conn().read(out) {
                    Ok(ReadStatus::Data(n)) => {
                        // Anything the read released (a KeyUpdate answer) goes out, unless
                        // the BIO would block: then later.
                        let _ = self.flush();
                        self.new_sessions();
                        return Ok(n);
                    }
                    Ok(ReadStatus::Closed) => {
                        self.shutdown |= SSL_RECEIVED_SHUTDOWN;
                        return Err(Last::Zero);
                    }
                    Ok(ReadStatus::PeerAuthenticated) => continue,
                    Ok(ReadStatus::WouldBlock) => {}
                    Err(e) => return Err(self.fail(f, &e)),
                }
            }
            if self.conn().received_close_notify() {
                self.shutdown |= SSL_RECEIVED_SHUTDOWN;
                return Err(Last::Zero);
            }
            if out.is_empty() {
                return Ok(0);
            }
            self.flush()?;
            let whole = self.fill(f)?;
            self.new_sessions();
            // Without SSL_MODE_AUTO_RETRY (s_client clears it), a record that brought no data
            // (a ticket, a KeyUpdate) ends the call with want-read, even on a blocking socket.
            if whole
                && self.s.mode & SSL_MODE_AUTO_RETRY == 0
                && !self.conn().is_handshaking()
                && self.conn().readable() == 0
                && !self.conn().received_close_notify()
            {
                return Err(Last::WantRead);
            }
        }
    }

    /// Write all of `data` (or, with SSL_MODE_ENABLE_PARTIAL_WRITE, what one record takes),
    /// resuming a write that wanted to write.
    fn write_from(&mut self, f: &CStr, data: &[u8]) -> Result<usize, Last> {
        if self.shutdown & SSL_SENT_SHUTDOWN != 0 {
            raise(
                f,
                SSL_R_PROTOCOL_IS_SHUTDOWN,
                "SSL_write after SSL_shutdown: close_notify has been sent",
            );
            return Err(Last::Ssl);
        }
        self.handshake(f)?;
        // A retry must repeat the call (OpenSSL: "bad write retry"); a changed length is
        // taken as new data.
        let mut done = if self.write_pending_len == data.len() {
            self.write_pending_done
        } else {
            0
        };
        self.write_pending_len = 0;
        let partial = self.s.mode & SSL_MODE_ENABLE_PARTIAL_WRITE != 0;
        loop {
            if let Err(w) = self.flush() {
                if w == Last::WantWrite {
                    if partial && done > 0 {
                        return Ok(done);
                    }
                    self.write_pending_len = data.len();
                    self.write_pending_done = done;
                }
                return Err(w);
            }
            if done == data.len() {
                return Ok(done);
            }
            if partial && done > 0 {
                return Ok(done);
            }
            // One record at a time, so a blocked socket holds at most one record's bytes.
            let end = data.len().min(done + 16 * 1024);
            match self.conn().write(&data[done..end]) {
                Ok(n) => done += n,
                Err(e) => return Err(self.fail(f, &e)),
            }
        }
    }

    fn shutdown(&mut self, f: &CStr) -> Result<c_int, Last> {
        if self.quiet_shutdown {
            self.shutdown = SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN;
            return Ok(1);
        }
        if self.conn.is_none() || self.conn().is_handshaking() {
            raise(
                f,
                SSL_R_SHUTDOWN_WHILE_IN_INIT,
                "SSL_shutdown before the handshake finished",
            );
            return Err(Last::Ssl);
        }
        if self.failed {
            // OpenSSL sends no close_notify after a fatal error either.
            return Err(Last::Ssl);
        }
        let first = self.shutdown & SSL_SENT_SHUTDOWN == 0;
        if first {
            self.shutdown |= SSL_SENT_SHUTDOWN;
            self.conn().close();
        }
        self.flush()?;
        if self.conn().received_close_notify() {
            self.shutdown |= SSL_RECEIVED_SHUTDOWN;
        }
        if self.shutdown & SSL_RECEIVED_SHUTDOWN != 0 {
            return Ok(1);
        }
        if first {
            return Ok(0);
        }
        // The second call waits for the peer's close_notify, discarding data.
        let mut sink = [0u8; 4096];
        loop {
            match self.conn().read(&mut sink) {
                Ok(ReadStatus::Data(_)) | Ok(ReadStatus::PeerAuthenticated) => continue,
                Ok(ReadStatus::Closed) => break,
                Ok(ReadStatus::WouldBlock) => {}
                Err(e) => return Err(self.fail(f, &e)),
            }
            if self.conn().received_close_notify() {
                break;
            }
            match self.fill(f) {
                Ok(_) => {}
                Err(Last::Zero) => break,
                Err(e) => return Err(e),
            }
        }
        self.shutdown |= SSL_RECEIVED_SHUTDOWN;
        Ok(1)
    }

    /// The peer's certificates as X509 objects, refreshed when the chain changed.
    pub fn peer(&mut self) -> &Peer {
        // A handshake that failed has no peer (OpenSSL keeps it only in a session that was
        // established).
        let failed = self.failed && !self.done;
        let ders: Vec<Vec<u8>> = self
            .conn
            .as_ref()
            .filter(|_| !failed)
            .map(|c| c.peer_certificates().to_vec())
            .unwrap_or_default();
        if ders != self.peer.ders {
            // SAFETY: our stacks.
            unsafe {
                crate::x509::free_stack(self.peer.stack);
                crate::x509::free_stack(self.peer.verified);
            }
            let certs: Vec<_> = ders
                .iter()
                .filter_map(|d| crate::x509::X509Ref::from_der(d))
                .collect();
            // OpenSSL's quirk: a server's "peer chain" leaves out the client's certificate.
            let skip = usize::from(self.role == Role::Server).min(certs.len());
            let stack = if certs.is_empty() {
                std::ptr::null_mut()
            } else {
                crate::x509::stack_of(&certs[skip..])
            };
            let mut verified = certs.clone();
            // SAFETY: our context's live store.
            verified.extend(crate::verify::anchor_for(
                unsafe { &*self.ctx }.store,
                &certs,
            ));
            self.peer = Peer {
                ders,
                stack,
                verified: if certs.is_empty() {
                    std::ptr::null_mut()
                } else {
                    crate::x509::stack_of(&verified)
                },
                certs,
            };
        }
        &self.peer
    }
}

impl Drop for Ssl {
    fn drop(&mut self) {
        // SAFETY: what the SSL owns: its BIOs (one reference each, shared if the same),
        // stacks, verify parameters, ex_data, and its reference to the context.
        unsafe {
            if !self.rbio.is_null() {
                BIO_free_all(self.rbio);
            }
            if !self.wbio.is_null() && self.wbio != self.rbio {
                BIO_free_all(self.wbio);
            }
            crate::x509::free_stack(self.peer.stack);
            crate::x509::free_stack(self.peer.verified);
            crate::ctx::free_names(self.client_ca_list);
            X509_VERIFY_PARAM_free(self.param);
            Ctx::release(self.ctx);
        }
    }
}

/// Borrow a live SSL, or queue the NULL error and return `$ret`.
macro_rules! ssl_or {
    ($f:expr, $ssl:expr, $ret:expr) => {{
        nonnull!($f, $ssl, $ret);
        // SAFETY: a non-NULL SSL pointer from SSL_new, per the export's contract.
        unsafe { &mut *$ssl }
    }};
}
pub(crate) use ssl_or;

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_new(ctx: *mut Ctx) -> *mut Ssl {
    let f = c"SSL_new";
    guard(f, std::ptr::null_mut(), || {
        if ctx.is_null() {
            raise(f, SSL_R_NULL_SSL_CTX, "NULL SSL_CTX");
            return std::ptr::null_mut();
        }
        // SAFETY: a live context of the caller's; the SSL takes its own reference.
        let c = unsafe { &*ctx };
        c.up_ref();
        // SAFETY: constructors.
        let param = unsafe { X509_VERIFY_PARAM_new() };
        // SAFETY: both live: the SSL starts from the context's parameters.
        unsafe { X509_VERIFY_PARAM_inherit(param, c.param) };
        let ssl = Box::into_raw(Box::new(Ssl {
            ctx,
            s: c.s.clone(),
            role: c.method_role.unwrap_or(Role::Server),
            role_set: false,
            rbio: std::ptr::null_mut(),
            wbio: std::ptr::null_mut(),
            host: None,
            param,
            conn: None,
            inbuf: Vec::new(),
            rec_hdr: Vec::new(),
            rec_body: 0,
            rbuf: Box::default(),
            failed: false,
            shutdown: 0,
            quiet_shutdown: c.quiet_shutdown,
            last: Last::Nothing,
            write_pending_len: 0,
            write_pending_done: 0,
            verify_result: 0,
            ex_data: CRYPTO_EX_DATA {
                ctx: std::ptr::null_mut(),
                sk: std::ptr::null_mut(),
            },
            offer: None,
            sessions: Vec::new(),
            session_serial: 0,
            peer: Peer::default(),
            servername: None,
            hello_name: None,
            client_hello: Vec::new(),
            client_ca_list: std::ptr::null_mut(),
            peername: None,
            info_cb: None,
            alpn_override: None,
            started: false,
            done: false,
            eof: false,
        }));
        // SAFETY: our new SSL and its ex_data field.
        unsafe { CRYPTO_new_ex_data(CRYPTO_EX_INDEX_SSL, ssl.cast(), &mut (*ssl).ex_data) };
        ssl
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_free(ssl: *mut Ssl) {
    guard(c"SSL_free", (), || {
        if ssl.is_null() {
            return;
        }
        // SAFETY: the program's SSL; ex_data free callbacks run first, while it is whole.
        unsafe {
            CRYPTO_free_ex_data(CRYPTO_EX_INDEX_SSL, ssl.cast(), &mut (*ssl).ex_data);
            drop(Box::from_raw(ssl));
        }
    })
}

/// `SSL_clear(ssl)`: ready for a new connection with the same settings and BIOs.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_clear(ssl: *mut Ssl) -> c_int {
    let f = c"SSL_clear";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        ssl.conn = None;
        ssl.inbuf.clear();
        ssl.rec_hdr.clear();
        ssl.rec_body = 0;
        ssl.session_serial = 0;
        ssl.failed = false;
        ssl.shutdown = 0;
        ssl.last = Last::Nothing;
        ssl.write_pending_len = 0;
        ssl.verify_result = 0;
        ssl.started = false;
        ssl.done = false;
        1
    })
}

/// Replace the SSL's BIOs (taking the caller's references), freeing the old ones.
fn set_bios(ssl: &mut Ssl, rbio: *mut BIO, wbio: *mut BIO) {
    // SAFETY: the old BIOs are ours (one reference each; the same BIO counts once).
    unsafe {
        if !ssl.rbio.is_null() && ssl.rbio != rbio {
            BIO_free_all(ssl.rbio);
        }
        if !ssl.wbio.is_null() && ssl.wbio != ssl.rbio && ssl.wbio != wbio {
            BIO_free_all(ssl.wbio);
        }
    }
    ssl.rbio = rbio;
    ssl.wbio = wbio;
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_bio(ssl: *mut Ssl, rbio: *mut BIO, wbio: *mut BIO) {
    guard(c"SSL_set_bio", (), || {
        if ssl.is_null() {
            return;
        }
        // SAFETY: a live SSL.
        let ssl = unsafe { &mut *ssl };
        set_bios(ssl, rbio, wbio);
    })
}

/// Put `b` on one side (taking the caller's reference), keeping the other side's BIO; a BIO
/// both sides shared stays, with its one reference, on the side that keeps it.
fn set_side(ssl: &mut Ssl, b: *mut BIO, read: bool) {
    let (r, w) = (ssl.rbio, ssl.wbio);
    if r == w {
        // Not freed below: the other side keeps it.
        if read {
            ssl.rbio = std::ptr::null_mut();
        } else {
            ssl.wbio = std::ptr::null_mut();
        }
    }
    if read {
        set_bios(ssl, b, w);
    } else {
        set_bios(ssl, r, b);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set0_rbio(ssl: *mut Ssl, rbio: *mut BIO) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        set_side(unsafe { &mut *ssl }, rbio, true);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set0_wbio(ssl: *mut Ssl, wbio: *mut BIO) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        set_side(unsafe { &mut *ssl }, wbio, false);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_rbio(ssl: *const Ssl) -> *mut BIO {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL.
    unsafe { (*ssl).rbio }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_wbio(ssl: *const Ssl) -> *mut BIO {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL.
    unsafe { (*ssl).wbio }
}

fn socket_bio(f: &CStr, fd: c_int) -> *mut BIO {
    // SAFETY: a socket BIO over the program's fd, which it keeps owning (BIO_NOCLOSE).
    let b = unsafe { BIO_new_socket(fd, BIO_NOCLOSE) };
    if b.is_null() {
        raise(f, ERR_R_BUF_LIB, "BIO_new_socket failed");
    }
    b
}

/// `SSL_set_fd(ssl, fd)`: one socket BIO for both directions.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_fd(ssl: *mut Ssl, fd: c_int) -> c_int {
    let f = c"SSL_set_fd";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        let b = socket_bio(f, fd);
        if b.is_null() {
            return 0;
        }
        set_bios(ssl, b, b);
        1
    })
}

/// `SSL_set_rfd` / `SSL_set_wfd`: a socket BIO for one side.
fn set_side_fd(f: &CStr, ssl: *mut Ssl, fd: c_int, read: bool) -> c_int {
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        let b = socket_bio(f, fd);
        if b.is_null() {
            return 0;
        }
        set_side(ssl, b, read);
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_rfd(ssl: *mut Ssl, fd: c_int) -> c_int {
    set_side_fd(c"SSL_set_rfd", ssl, fd, true)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_wfd(ssl: *mut Ssl, fd: c_int) -> c_int {
    set_side_fd(c"SSL_set_wfd", ssl, fd, false)
}

fn bio_fd(b: *mut BIO) -> c_int {
    if b.is_null() {
        return -1;
    }
    let mut fd: c_int = -1;
    // SAFETY: a live BIO; BIO_C_GET_FD stores the fd for fd-based BIOs, fails for others.
    let r = unsafe { BIO_ctrl(b, BIO_C_GET_FD, 0, (&raw mut fd).cast()) };
    if r < 0 { -1 } else { fd }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_fd(ssl: *const Ssl) -> c_int {
    _ferrossl_SSL_get_rfd(ssl)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_rfd(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return -1;
    }
    // SAFETY: a live SSL.
    bio_fd(unsafe { (*ssl).rbio })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_wfd(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return -1;
    }
    // SAFETY: a live SSL.
    bio_fd(unsafe { (*ssl).wbio })
}

fn set_role(ssl: &mut Ssl, role: Role) {
    ssl.role = role;
    ssl.role_set = true;
    if ssl
        .conn
        .as_ref()
        .is_some_and(|c| c.is_client() != (role == Role::Client))
    {
        ssl.conn = None;
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_connect_state(ssl: *mut Ssl) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        set_role(unsafe { &mut *ssl }, Role::Client);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_accept_state(ssl: *mut Ssl) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        set_role(unsafe { &mut *ssl }, Role::Server);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_is_server(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    c_int::from(!ssl.is_null() && unsafe { (*ssl).role } == Role::Server)
}

/// The result of a driving call: `Ok(n)` is returned as is; a failure records what it was
/// and returns `fail` (-1, or 0 for SSL_read's close).
fn finish(ssl: &mut Ssl, r: Result<c_int, Last>) -> c_int {
    match r {
        Ok(n) => {
            ssl.last = Last::Nothing;
            n
        }
        Err(Last::Zero) => {
            ssl.last = Last::Zero;
            0
        }
        Err(l) => {
            ssl.last = l;
            -1
        }
    }
}

fn handshake_export(f: &CStr, ptr: *mut Ssl, role: Option<Role>) -> c_int {
    guard(f, -1, || {
        let ssl = ssl_or!(f, ptr, -1);
        let _cur = enter(ptr);
        if let Some(r) = role
            && !ssl.role_set
        {
            set_role(ssl, r);
        }
        let r = ssl.handshake(f).map(|()| 1);
        finish(ssl, r)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_connect(ssl: *mut Ssl) -> c_int {
    handshake_export(c"SSL_connect", ssl, Some(Role::Client))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_accept(ssl: *mut Ssl) -> c_int {
    handshake_export(c"SSL_accept", ssl, Some(Role::Server))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_do_handshake(ssl: *mut Ssl) -> c_int {
    handshake_export(c"SSL_do_handshake", ssl, None)
}

fn read_export(
    f: &CStr,
    ptr: *mut Ssl,
    buf: *mut c_void,
    num: usize,
    peek: bool,
) -> Result<usize, c_int> {
    let ssl = ssl_or!(f, ptr, Err(-1));
    if buf.is_null() && num > 0 {
        raise(f, ERR_R_PASSED_NULL_PARAMETER, "a NULL buffer");
        ssl.last = Last::Ssl;
        return Err(-1);
    }
    let _cur = enter(ptr);
    let out: &mut [u8] = if num == 0 {
        &mut []
    } else {
        // SAFETY: the caller's buffer of `num` bytes.
        unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), num) }
    };
    match ssl.read_into(f, out, peek) {
        Ok(n) => {
            ssl.last = Last::Nothing;
            Ok(n)
        }
        Err(l) => {
            ssl.last = l;
            // OpenSSL returns 0 for the unexpected EOF too (SSL_get_error says SSL).
            Err(if l == Last::Zero || (l == Last::Ssl && ssl.eof) {
                0
            } else {
                -1
            })
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_read(ssl: *mut Ssl, buf: *mut c_void, num: c_int) -> c_int {
    let f = c"SSL_read";
    guard(f, -1, || {
        if num < 0 {
            raise(f, SSL_R_BAD_LENGTH, "a negative length");
            return -1;
        }
        read_export(f, ssl, buf, num as usize, false).map_or_else(|e| e, |n| n as c_int)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_peek(ssl: *mut Ssl, buf: *mut c_void, num: c_int) -> c_int {
    let f = c"SSL_peek";
    guard(f, -1, || {
        if num < 0 {
            raise(f, SSL_R_BAD_LENGTH, "a negative length");
            return -1;
        }
        read_export(f, ssl, buf, num as usize, true).map_or_else(|e| e, |n| n as c_int)
    })
}

fn ex_result(r: Result<usize, c_int>, out: *mut usize) -> c_int {
    match r {
        Ok(n) => {
            if !out.is_null() {
                // SAFETY: the caller's out-parameter.
                unsafe { *out = n };
            }
            1
        }
        Err(_) => {
            if !out.is_null() {
                // SAFETY: as above.
                unsafe { *out = 0 };
            }
            0
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_read_ex(
    ssl: *mut Ssl,
    buf: *mut c_void,
    num: usize,
    read: *mut usize,
) -> c_int {
    let f = c"SSL_read_ex";
    guard(f, 0, || {
        ex_result(read_export(f, ssl, buf, num, false), read)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_peek_ex(
    ssl: *mut Ssl,
    buf: *mut c_void,
    num: usize,
    read: *mut usize,
) -> c_int {
    let f = c"SSL_peek_ex";
    guard(f, 0, || {
        ex_result(read_export(f, ssl, buf, num, true), read)
    })
}

fn write_export(f: &CStr, ptr: *mut Ssl, buf: *const c_void, num: usize) -> Result<usize, c_int> {
    let ssl = ssl_or!(f, ptr, Err(-1));
    if buf.is_null() && num > 0 {
        raise(f, ERR_R_PASSED_NULL_PARAMETER, "a NULL buffer");
        ssl.last = Last::Ssl;
        return Err(-1);
    }
    let _cur = enter(ptr);
    if num == 0 {
        // OpenSSL runs the handshake for a write of nothing too (s_client drives it so),
        // then reports 0 bytes written.
        return match ssl.handshake(f) {
            Ok(()) => {
                // 0 bytes written: SSL_write returns 0, SSL_write_ex succeeds (OpenSSL 3).
                ssl.last = Last::Nothing;
                Ok(0)
            }
            Err(l) => {
                ssl.last = l;
                Err(-1)
            }
        };
    }
    // SAFETY: the caller's buffer of `num` bytes.
    let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), num) };
    match ssl.write_from(f, data) {
        Ok(n) => {
            ssl.last = Last::Nothing;
            Ok(n)
        }
        Err(l) => {
            ssl.last = l;
            Err(-1)
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_write(ssl: *mut Ssl, buf: *const c_void, num: c_int) -> c_int {
    let f = c"SSL_write";
    guard(f, -1, || {
        if num < 0 {
            raise(f, SSL_R_BAD_LENGTH, "a negative length");
            return -1;
        }
        write_export(f, ssl, buf, num as usize).map_or_else(|e| e, |n| n as c_int)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_write_ex(
    ssl: *mut Ssl,
    buf: *const c_void,
    num: usize,
    written: *mut usize,
) -> c_int {
    let f = c"SSL_write_ex";
    guard(f, 0, || ex_result(write_export(f, ssl, buf, num), written))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_pending(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    let n = unsafe { (*ssl).conn.as_ref().map_or(0, Connection::readable) };
    n.min(c_int::MAX as usize) as c_int
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_has_pending(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    let ssl = unsafe { &*ssl };
    c_int::from(ssl.conn.as_ref().is_some_and(|c| c.readable() > 0) || !ssl.inbuf.is_empty())
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_shutdown(ptr: *mut Ssl) -> c_int {
    let f = c"SSL_shutdown";
    guard(f, -1, || {
        let ssl = ssl_or!(f, ptr, -1);
        let _cur = enter(ptr);
        let r = ssl.shutdown(f);
        finish(ssl, r)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_shutdown(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    unsafe { (*ssl).shutdown }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_shutdown(ssl: *mut Ssl, mode: c_int) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).shutdown = mode };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_quiet_shutdown(ssl: *mut Ssl, mode: c_int) {
    if !ssl.is_null() {
        // SAFETY: a live SSL.
        unsafe { (*ssl).quiet_shutdown = mode != 0 };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_quiet_shutdown(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    c_int::from(!ssl.is_null() && unsafe { (*ssl).quiet_shutdown })
}

/// `SSL_get_error(ssl, ret)`, decided as OpenSSL 3.0 does: NONE for ret > 0; SSL (or
/// SYSCALL for a system error) when an error is queued; else from how the last call ended.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_error(ssl: *const Ssl, ret: c_int) -> c_int {
    guard(c"SSL_get_error", SSL_ERROR_SSL, || {
        if ret > 0 {
            return SSL_ERROR_NONE;
        }
        // SAFETY: libcrypto's queue of this thread.
        let e = unsafe { ERR_peek_error() };
        if e != 0 {
            // ERR_GET_LIB: a system error (the top bit, ERR_SYSTEM_FLAG) is ERR_LIB_SYS.
            return if e & (1 << 31) != 0 || (e >> 23) & 0xff == ERR_LIB_SYS as std::ffi::c_ulong {
                SSL_ERROR_SYSCALL
            } else {
                SSL_ERROR_SSL
            };
        }
        if ssl.is_null() {
            return SSL_ERROR_SYSCALL;
        }
        // SAFETY: a live SSL.
        let ssl = unsafe { &*ssl };
        match ssl.last {
            Last::WantRead => SSL_ERROR_WANT_READ,
            Last::WantWrite => SSL_ERROR_WANT_WRITE,
            Last::Zero => SSL_ERROR_ZERO_RETURN,
            Last::Ssl => SSL_ERROR_SSL,
            Last::Syscall | Last::Nothing => {
                if ssl.shutdown & SSL_RECEIVED_SHUTDOWN != 0 {
                    SSL_ERROR_ZERO_RETURN
                } else {
                    SSL_ERROR_SYSCALL
                }
            }
        }
    })
}

/// `SSL_want(ssl)`: SSL_NOTHING 1, SSL_WRITING 2, SSL_READING 3.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_want(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return 1;
    }
    // SAFETY: a live SSL.
    match unsafe { (*ssl).last } {
        Last::WantRead => 3,
        Last::WantWrite => 2,
        _ => 1,
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_is_init_finished(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    c_int::from(!ssl.is_null() && unsafe { (*ssl).done })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_in_init(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    c_int::from(!ssl.is_null() && !unsafe { (*ssl).done })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_in_before(ssl: *const Ssl) -> c_int {
    // SAFETY: a live SSL.
    c_int::from(!ssl.is_null() && !unsafe { (*ssl).started })
}

/// `SSL_get_state`: OSSL_HANDSHAKE_STATE, coarse: TLS_ST_BEFORE 0, TLS_ST_OK 1, else the
/// state of "in the handshake" (TLS_ST_CW_CLNT_HELLO 12 / TLS_ST_SR_CLNT_HELLO 20).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_state(ssl: *const Ssl) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: a live SSL.
    let ssl = unsafe { &*ssl };
    if ssl.done {
        1
    } else if !ssl.started {
        0
    } else if ssl.role == Role::Client {
        12
    } else {
        20
    }
}

/// `SSL_state_string_long`: where the handshake stands, in the seed's words.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_state_string_long(ssl: *const Ssl) -> *const c_char {
    state_string(ssl, true)
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_state_string(ssl: *const Ssl) -> *const c_char {
    state_string(ssl, false)
}

fn state_string(ssl: *const Ssl, long: bool) -> *const c_char {
    if ssl.is_null() {
        return c"UNKWN ".as_ptr();
    }
    // SAFETY: a live SSL.
    let ssl = unsafe { &*ssl };
    match (ssl.done, ssl.started, long) {
        (true, _, true) => c"SSL negotiation finished successfully".as_ptr(),
        (true, _, false) => c"SSLOK ".as_ptr(),
        (false, false, true) => c"before SSL initialization".as_ptr(),
        (false, false, false) => c"PINIT ".as_ptr(),
        (false, true, true) => {
            let what = ssl
                .conn
                .as_ref()
                .map(Connection::awaiting)
                .unwrap_or("the handshake");
            thread_local! { static S: std::cell::RefCell<CString> = std::cell::RefCell::new(CString::default()); }
            S.with(|s| {
                *s.borrow_mut() = CString::new(format!("awaiting {what}")).unwrap_or_default();
                s.borrow().as_ptr()
            })
        }
        (false, true, false) => c"UNKWN ".as_ptr(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_SSL_CTX(ssl: *const Ssl) -> *mut Ctx {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live SSL.
    unsafe { (*ssl).ctx }
}

/// `SSL_set_SSL_CTX(ssl, ctx)`: switch contexts (a servername callback choosing a
/// certificate): the certificate, key and chain come from the new context.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_SSL_CTX(ssl: *mut Ssl, ctx: *mut Ctx) -> *mut Ctx {
    let f = c"SSL_set_SSL_CTX";
    guard(f, std::ptr::null_mut(), || {
        let ssl = ssl_or!(f, ssl, std::ptr::null_mut());
        if ctx.is_null() || ctx == ssl.ctx {
            return ssl.ctx;
        }
        // SAFETY: the new live context: we take a reference and give the old one back.
        unsafe {
            (*ctx).up_ref();
            let new = &*ctx;
            ssl.s.cert = new.s.cert.clone();
            ssl.s.chain = new.s.chain.clone();
            ssl.s.key = new.s.key.clone();
            Ctx::release(ssl.ctx);
        }
        ssl.ctx = ctx;
        ctx
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_set_ex_data(ssl: *mut Ssl, idx: c_int, data: *mut c_void) -> c_int {
    if ssl.is_null() {
        return 0;
    }
    // SAFETY: our live ex_data.
    unsafe { CRYPTO_set_ex_data(&mut (*ssl).ex_data, idx, data) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_get_ex_data(ssl: *const Ssl, idx: c_int) -> *mut c_void {
    if ssl.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: our live ex_data.
    unsafe { CRYPTO_get_ex_data(&(*ssl).ex_data, idx) }
}

/// `SSL_ctrl(ssl, cmd, larg, parg)`.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_ctrl(
    ptr: *mut Ssl,
    cmd: c_int,
    larg: c_long,
    parg: *mut c_void,
) -> c_long {
    let f = c"SSL_ctrl";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ptr, 0);
        if let Some(r) = common_ctrl(f, &mut ssl.s, cmd, larg, parg) {
            return r;
        }
        match cmd {
            // SSL_CTRL_SET_TLSEXT_HOSTNAME (SSL_set_tlsext_host_name)
            55 => {
                if larg != 0 {
                    raise(
                        f,
                        SSL_R_SSL3_EXT_INVALID_SERVERNAME_TYPE,
                        "the name type is not TLSEXT_NAMETYPE_host_name",
                    );
                    return 0;
                }
                if parg.is_null() {
                    ssl.host = None;
                    return 1;
                }
                // SAFETY: a NUL-terminated string of the caller's.
                let name = unsafe { CStr::from_ptr(parg.cast::<c_char>()) };
                match name.to_str() {
                    Ok(n) if !n.is_empty() && n.len() <= 255 => {
                        ssl.host = Some(n.to_owned());
                        1
                    }
                    _ => {
                        raise(
                            f,
                            SSL_R_SSL3_EXT_INVALID_SERVERNAME,
                            "the server name is empty, longer than 255 bytes or not UTF-8",
                        );
                        0
                    }
                }
            }
            // SSL_CTRL_GET_RI_SUPPORT: ferrotls always does secure renegotiation (RFC 5746)
            // in TLS 1.2; TLS 1.3 has no renegotiation.
            76 => c_long::from(
                ssl.conn
                    .as_ref()
                    .and_then(Connection::protocol_version)
                    .is_some_and(|v| v.to_int() == 0x0303),
            ),
            // SSL_CTRL_GET_NEGOTIATED_GROUP
            134 => ssl
                .conn
                .as_ref()
                .and_then(Connection::group)
                .map_or(0, group_nid),
            // SSL_CTRL_GET_PEER_SIGNATURE_NID: the digest of the peer's signature.
            108 => {
                let nid = ssl
                    .conn
                    .as_ref()
                    .and_then(Connection::signature_scheme)
                    .map_or(0, |s| crate::getters::sig_digest_nid(s.to_int()));
                if nid == 0 || parg.is_null() {
                    return 0;
                }
                // SAFETY: the caller's int out-parameter.
                unsafe { *parg.cast::<c_int>() = nid };
                1
            }
            // SSL_CTRL_GET_PEER_TMP_KEY (the peer's key share as an EVP_PKEY), SIGNATURE_NID
            // (our own), renegotiation counts, client certificate request: not kept; 0 is
            // OpenSSL's "none" for these getters.
            109 | 132 | 133 | 9 | 10 | 12 | 103 => 0,
            11 => 0,
            _ => {
                raise(
                    f,
                    ERR_R_UNSUPPORTED,
                    &format!(
                        "SSL_ctrl command {cmd} is not supported by ferrotls's libssl (see the README's support matrix)"
                    ),
                );
                0
            }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_callback_ctrl(
    ssl: *mut Ssl,
    cmd: c_int,
    fp: *const c_void,
) -> c_long {
    let f = c"SSL_callback_ctrl";
    guard(f, 0, || {
        let ssl = ssl_or!(f, ssl, 0);
        if cmd == 15 {
            // SAFETY: the program passes a message callback for SSL_CTRL_SET_MSG_CALLBACK.
            ssl.s.msg_cb = unsafe { std::mem::transmute::<*const c_void, MsgCb>(fp) };
            return 1;
        }
        raise(
            f,
            ERR_R_UNSUPPORTED,
            &format!("SSL_callback_ctrl command {cmd} is not supported by ferrotls's libssl"),
        );
        0
    })
}

/// ALPN on a server through the context's SSL_CTX_set_alpn_select_cb.
pub struct AlpnViaCallback;

impl AlpnSelector for AlpnViaCallback {
    fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice {
        let ssl = current();
        if ssl.is_null() {
            return AlpnChoice::None;
        }
        // SAFETY: the SSL whose handshake is running on this thread; its context is live.
        let ctx = unsafe { &*(*ssl).ctx };
        let Some(cb) = ctx.alpn_select else {
            return AlpnChoice::None;
        };
        let mut wire = Vec::new();
        for p in offered {
            wire.push(p.len() as u8);
            wire.extend_from_slice(p);
        }
        let mut out: *const u8 = std::ptr::null();
        let mut outlen: u8 = 0;
        // SAFETY: the program's callback with its SSL, the offer in wire format, and
        // out-parameters it fills with a pointer into the offer or its own memory.
        let r = unsafe {
            cb(
                ssl.cast(),
                &mut out,
                &mut outlen,
                wire.as_ptr(),
                wire.len() as u32,
                ctx.alpn_select_arg,
            )
        };
        match r {
            0 if !out.is_null() && outlen > 0 => {
                // SAFETY: the callback's `outlen` bytes at `out`.
                AlpnChoice::Select(
                    unsafe { std::slice::from_raw_parts(out, outlen as usize) }.to_vec(),
                )
            }
            // SSL_TLSEXT_ERR_ALERT_FATAL
            2 => AlpnChoice::Refuse,
            // SSL_TLSEXT_ERR_NOACK, ALERT_WARNING: go on without ALPN.
            _ => AlpnChoice::None,
        }
    }
}

/// The key log through the context's SSL_CTX_set_keylog_callback, in NSS's format.
pub struct KeylogViaCallback;

impl ferrotls::config::KeyLog for KeylogViaCallback {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let ssl = current();
        if ssl.is_null() {
            return;
        }
        // SAFETY: the SSL whose handshake is running on this thread.
        let Some(cb) = (unsafe { &*(*ssl).ctx }).keylog_cb else {
            return;
        };
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let line =
            zeroize::Zeroizing::new(format!("{label} {} {}", hex(client_random), hex(secret)));
        if let Ok(c) = CString::new(line.as_bytes()) {
            // SAFETY: the program's callback with its SSL and a NUL-terminated line.
            unsafe { cb(ssl.cast(), c.as_ptr()) };
            let mut v = c.into_bytes();
            zeroize::Zeroize::zeroize(&mut v);
        }
    }
}

/// The info callback's "loop" events, one per handshake message, from the message observer.
pub fn info_loop(ssl: *mut Ssl) {
    if ssl.is_null() {
        return;
    }
    // SAFETY: the live SSL the observer belongs to.
    let s = unsafe { &*ssl };
    s.info(ssl, s.state_bit() | SSL_CB_LOOP, 1);
}

/// The info callback's alert events.
pub fn info_alert(ssl: *mut Ssl, sent: bool, level: u8, desc: u8) {
    if ssl.is_null() {
        return;
    }
    // SAFETY: as above.
    let s = unsafe { &*ssl };
    let rw = if sent { SSL_CB_WRITE } else { SSL_CB_READ };
    s.info(
        ssl,
        SSL_CB_ALERT | rw,
        (c_int::from(level) << 8) | c_int::from(desc),
    );
}

#[allow(dead_code)]
fn _assert_arc(_: Arc<()>) {}
