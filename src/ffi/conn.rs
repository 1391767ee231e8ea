//! Connections: lifecycle, the sans-IO core, errors and introspection.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::fd;
pub use super::state::ferrotls_conn;
use super::state::{ConnHandle, ConnState, read_status, with_conn};
use super::*;
use crate::config::{Config, Role};
use crate::conn::{Connection, HandshakeKind, TraceEvent, TraceKind};
use crate::error::Error;

/// `ferrotls_conn_wants`: the engine needs ciphertext from the peer.
pub const FERROTLS_WANTS_READ: u32 = 1;
/// `ferrotls_conn_wants`: ciphertext is waiting to be sent (`ferrotls_conn_outgoing_len` > 0).
pub const FERROTLS_WANTS_WRITE: u32 = 2;
/// `ferrotls_conn_wants`: the handshake is not complete.
pub const FERROTLS_WANTS_HANDSHAKING: u32 = 4;
/// `ferrotls_conn_wants`: the peer sent close_notify.
pub const FERROTLS_WANTS_CLOSED: u32 = 8;
/// `ferrotls_conn_wants`: the connection failed (see `ferrotls_conn_error`).
pub const FERROTLS_WANTS_FAILED: u32 = 16;

/// `ferrotls_conn_handshake_kind`: a full handshake.
pub const FERROTLS_HANDSHAKE_FULL: u32 = 1;
/// `ferrotls_conn_handshake_kind`: a full handshake with a HelloRetryRequest.
pub const FERROTLS_HANDSHAKE_FULL_HRR: u32 = 2;
/// `ferrotls_conn_handshake_kind`: a resumed handshake.
pub const FERROTLS_HANDSHAKE_RESUMED: u32 = 3;

/// Trace event: a record was received.
pub const FERROTLS_TRACE_RECORD_IN: u32 = 0;
/// Trace event: a record was sent.
pub const FERROTLS_TRACE_RECORD_OUT: u32 = 1;
/// Trace event: a handshake message was received.
pub const FERROTLS_TRACE_HANDSHAKE_IN: u32 = 2;
/// Trace event: a handshake message was sent.
pub const FERROTLS_TRACE_HANDSHAKE_OUT: u32 = 3;
/// Trace event: an alert was received.
pub const FERROTLS_TRACE_ALERT_IN: u32 = 4;
/// Trace event: an alert was sent.
pub const FERROTLS_TRACE_ALERT_OUT: u32 = 5;
/// Trace event: a state change.
pub const FERROTLS_TRACE_STATE: u32 = 6;
/// Trace event: a parameter was negotiated.
pub const FERROTLS_TRACE_NEGOTIATED: u32 = 7;
/// Trace event: an error.
pub const FERROTLS_TRACE_ERROR: u32 = 8;

/// Trace callback: `event` is a `FERROTLS_TRACE_*` value, `text` a NUL-terminated line valid
/// only during the call. It runs synchronously inside the call on `conn`; the connection is
/// busy then, so only `ferrotls_conn_get_userdata` may be called on it (anything else returns
/// `FERROTLS_ERR_CONCURRENT_USE`, or 0/NULL for getters).
#[allow(non_camel_case_types)]
pub type ferrotls_trace_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        conn: *const ferrotls_conn,
        event: u32,
        text: *const c_char,
    ),
>;

/// The connection's handle without locking (for the lock-free userdata slot).
///
/// # Safety
/// `c` is NULL or a live handle pointer from this library.
unsafe fn conn_handle<'a>(c: *const ferrotls_conn) -> FfiResult<&'a ConnHandle> {
    // SAFETY: forwarded caller guarantee.
    unsafe { ConnHandle::from_ptr(c.cast(), TAG_CONN, "conn") }
}

fn new_conn(config: Arc<Config>, conn: Connection) -> *mut ferrotls_conn {
    let st = ConnState {
        conn,
        _config: config,
        strings: Vec::new(),
        fatal: None,
        os_error: 0,
        fd: None,
    };
    ConnHandle::new_raw(TAG_CONN, st).cast()
}

/// Create a client connection. `server_name` (a DNS name or IP literal) is sent as SNI (DNS
/// names only) and verified against the certificate; it may be NULL only with
/// `FERROTLS_VERIFY_DANGEROUS_NO_VERIFY`. `*out` receives the connection (NULL on failure).
/// The connection holds its own reference to `config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_new_client(
    config: *const ferrotls_config,
    server_name: *const c_char,
    out: *mut *mut ferrotls_conn,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out` is NULL or writable per the API contract.
        let out = unsafe { out_param(out, std::ptr::null_mut(), "out")? };
        // SAFETY: `config` is NULL or a live config.
        let config = unsafe { config_arc(config, "config")? };
        if config.role() != Role::Client {
            return Err(Fail::new(
                FERROTLS_ERR_WRONG_ROLE,
                "ferrotls_conn_new_client needs a client configuration (FERROTLS_ROLE_CLIENT), but a server one was passed",
            ));
        }
        let name = if server_name.is_null() {
            None
        } else {
            // SAFETY: non-NULL and NUL-terminated per the API contract.
            Some(unsafe { in_str(server_name, "server_name")? })
        };
        let conn = Connection::new_client(config.clone(), name).map_err(|e| Fail::engine(&e))?;
        *out = new_conn(config, conn);
        Ok(FERROTLS_OK)
    })
}

/// Create a server connection. `*out` receives the connection (NULL on failure).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_new_server(
    config: *const ferrotls_config,
    out: *mut *mut ferrotls_conn,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out` is NULL or writable per the API contract.
        let out = unsafe { out_param(out, std::ptr::null_mut(), "out")? };
        // SAFETY: `config` is NULL or a live config.
        let config = unsafe { config_arc(config, "config")? };
        if config.role() != Role::Server {
            return Err(Fail::new(
                FERROTLS_ERR_WRONG_ROLE,
                "ferrotls_conn_new_server needs a server configuration (FERROTLS_ROLE_SERVER), but a client one was passed",
            ));
        }
        let conn = Connection::new_server(config.clone()).map_err(|e| Fail::engine(&e))?;
        *out = new_conn(config, conn);
        Ok(FERROTLS_OK)
    })
}

/// Free a connection (and every string and pointer obtained from it). A socket set with
/// `ferrotls_conn_set_fd` is not closed. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_free(conn: *mut ferrotls_conn) {
    ffi_value((), || {
        // SAFETY: `conn` is NULL or a live connection per the API contract.
        unsafe { ConnHandle::free(conn.cast(), TAG_CONN, "conn") }
    })
}

/// Attach an opaque pointer to the connection (not used by the library).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_userdata(
    conn: *mut ferrotls_conn,
    userdata: *mut c_void,
) {
    ffi_value((), || {
        // SAFETY: `conn` is NULL or a live connection.
        let h = unsafe { conn_handle(conn)? };
        h.userdata
            .store(userdata, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
}

/// The pointer set with `ferrotls_conn_set_userdata` (NULL if none). Callable from callbacks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_get_userdata(conn: *const ferrotls_conn) -> *mut c_void {
    ffi_value(std::ptr::null_mut(), || {
        // SAFETY: `conn` is NULL or a live connection.
        let h = unsafe { conn_handle(conn)? };
        Ok(h.userdata.load(std::sync::atomic::Ordering::Relaxed))
    })
}

/// The C trace callback with its userdata and connection.
struct TraceSink {
    cb: unsafe extern "C" fn(*mut c_void, *const ferrotls_conn, u32, *const c_char),
    userdata: *mut c_void,
    conn: *const ferrotls_conn,
}

// SAFETY: a connection is used by one thread at a time (enforced by the busy flag) and the
// trace callback only runs inside calls on it, on the calling thread. The header documents
// that `userdata` must be usable on whichever thread calls into the connection.
unsafe impl Send for TraceSink {}

impl TraceSink {
    fn emit(&self, ev: &TraceEvent<'_>) {
        let text = to_cstring(ev.text);
        // SAFETY: user-supplied callback; `text` is valid during the call and `conn` is the live
        // (busy) connection handle the sink was installed on.
        unsafe { (self.cb)(self.userdata, self.conn, trace_code(ev.kind), text.as_ptr()) }
    }
}

fn trace_code(kind: TraceKind) -> u32 {
    match kind {
        TraceKind::RecordIn => FERROTLS_TRACE_RECORD_IN,
        TraceKind::RecordOut => FERROTLS_TRACE_RECORD_OUT,
        TraceKind::HandshakeIn => FERROTLS_TRACE_HANDSHAKE_IN,
        TraceKind::HandshakeOut => FERROTLS_TRACE_HANDSHAKE_OUT,
        TraceKind::AlertIn => FERROTLS_TRACE_ALERT_IN,
        TraceKind::AlertOut => FERROTLS_TRACE_ALERT_OUT,
        TraceKind::State => FERROTLS_TRACE_STATE,
        TraceKind::Negotiated => FERROTLS_TRACE_NEGOTIATED,
        TraceKind::Error => FERROTLS_TRACE_ERROR,
    }
}

/// Install (or with NULL `cb`, remove) this connection's trace callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_trace_callback(
    conn: *mut ferrotls_conn,
    cb: ferrotls_trace_cb,
    userdata: *mut c_void,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                let trace = cb.map(|cb| {
                    let sink = TraceSink { cb, userdata, conn };
                    Box::new(move |ev: &TraceEvent<'_>| sink.emit(ev)) as crate::conn::TraceFn
                });
                st.conn.set_trace(trace);
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Give the engine ciphertext received from the peer. `*consumed` (required) receives how many
/// bytes were taken; it may be less than `len` when inbound buffers are full: read plaintext,
/// then feed the rest.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_feed(
    conn: *mut ferrotls_conn,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `consumed` is NULL or writable.
        let consumed = unsafe { out_param(consumed, 0, "consumed")? };
        // SAFETY: `data` is NULL or readable for `len` bytes.
        let data = unsafe { in_slice(data, len, "data")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                *consumed = st.conn.feed(data).map_err(|e| st.fail(&e))?;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Tell the engine the transport reached EOF: `FERROTLS_CLOSED` if close_notify was received,
/// else `FERROTLS_ERR_UNEXPECTED_EOF` (a possible truncation attack).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_feed_eof(conn: *mut ferrotls_conn) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                st.conn.feed_eof().map_err(|e| st.fail(&e))?;
                Ok(FERROTLS_CLOSED)
            })
        }
    })
}

/// Bytes of ciphertext waiting to be sent to the peer (0 on a bad handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_outgoing_len(conn: *const ferrotls_conn) -> usize {
    // SAFETY: `conn` is NULL or a live connection.
    ffi_value(0, || unsafe {
        with_conn(conn, false, |st| Ok(st.conn.outgoing_len()))
    })
}

/// Copy up to `cap` bytes of waiting ciphertext into `buf` (which may be uninitialized) and
/// remove them from the queue; `*out_n` receives the count (0 when nothing waits).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_take_outgoing(
    conn: *mut ferrotls_conn,
    buf: *mut u8,
    cap: usize,
    out_n: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out_n` is NULL or writable.
        let out_n = unsafe { out_param(out_n, 0, "out_n")? };
        // SAFETY: `buf` is NULL or writable for `cap` bytes.
        let buf = unsafe { out_slice(buf, cap, "buf")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                *out_n = st.conn.take_outgoing(buf);
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Zero-copy view of the waiting ciphertext: `*data`/`*len` (both required) are valid until the
/// next mutating call on the connection. Send some, then `ferrotls_conn_consume_outgoing`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_peek_outgoing(
    conn: *const ferrotls_conn,
    data: *mut *const u8,
    len: *mut usize,
) -> ferrotls_result {
    // SAFETY: forwarded caller guarantees.
    unsafe { peek(conn, data, len, Connection::peek_outgoing) }
}

/// Zero-copy view of one of the connection's buffers, for `ferrotls_conn_peek_outgoing`.
///
/// # Safety
/// `conn` is NULL or a live connection; `data` and `len` are NULL or writable.
unsafe fn peek(
    conn: *const ferrotls_conn,
    data: *mut *const u8,
    len: *mut usize,
    view: fn(&Connection) -> &[u8],
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `data` and `len` are NULL or writable.
        let data = unsafe { out_param(data, std::ptr::null(), "data")? };
        // SAFETY: as above.
        let len = unsafe { out_param(len, 0, "len")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                let bytes = view(&st.conn);
                *data = bytes.as_ptr();
                *len = bytes.len();
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Zero-copy view of the plaintext waiting to be read: `*data`/`*len` (both required) are valid
/// until the next mutating call on the connection. Use some, then
/// `ferrotls_conn_consume_plaintext`; `ferrotls_conn_read` is the same with a copy. `*len` is 0
/// when nothing is waiting (then `ferrotls_conn_read` tells WANT_READ from CLOSED).
///
/// The view never reaches past the point where the peer authenticated again (Handshake
/// Again, see `ferrotls_conn_request_client_certificate`). Once everything before that point
/// was consumed, this call returns `FERROTLS_PEER_AUTHENTICATED` with `*data` NULL and `*len`
/// 0, exactly once (it passes the point, as `ferrotls_conn_read` would): the bytes consumed
/// before came from the peer as it was (unauthenticated), the bytes after it from the peer
/// that `ferrotls_conn_peer_cert` / `ferrotls_conn_peer_cert_subject` report from then on.
/// Call it again for those bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_peek_plaintext(
    conn: *const ferrotls_conn,
    data: *mut *const u8,
    len: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `data` and `len` are NULL or writable.
        let data = unsafe { out_param(data, std::ptr::null(), "data")? };
        // SAFETY: as above.
        let len = unsafe { out_param(len, 0, "len")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                if st.conn.poll_peer_authenticated() {
                    return Ok(FERROTLS_PEER_AUTHENTICATED);
                }
                let bytes = st.conn.peek_plaintext();
                *data = bytes.as_ptr();
                *len = bytes.len();
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Mark `n` bytes of `ferrotls_conn_peek_plaintext` as read (clamped to what is there, so
/// never past the point where the peer authenticated again: the next
/// `ferrotls_conn_peek_plaintext` or `ferrotls_conn_read` reports that point).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_consume_plaintext(
    conn: *mut ferrotls_conn,
    n: usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                st.conn.consume_plaintext(n).map_err(|e| st.fail(&e))?;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Remove `n` bytes (already sent) from the front of the outgoing queue.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_consume_outgoing(
    conn: *mut ferrotls_conn,
    n: usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                let have = st.conn.outgoing_len();
                if n > have {
                    return Err(Fail::invalid(format!(
                        "cannot consume {n} bytes: only {have} are waiting"
                    )));
                }
                st.conn.consume_outgoing(n);
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Drive the handshake. Sans-IO: `FERROTLS_OK` once complete, `FERROTLS_WANT_READ` while it is
/// not (send `outgoing`, feed the peer's reply, call again), or the fatal error. fd mode: does
/// the socket I/O itself (`FERROTLS_WANT_READ`/`WANT_WRITE` on a non-blocking socket).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_handshake(conn: *mut ferrotls_conn) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if st.fd.is_some() {
                    return fd::handshake(st);
                }
                if let Some(fail) = st.sticky() {
                    return Err(fail);
                }
                Ok(if st.conn.is_handshaking() {
                    FERROTLS_WANT_READ
                } else {
                    FERROTLS_OK
                })
            })
        }
    })
}

/// Give the engine plaintext to send. `*accepted` (required) receives how many bytes were taken:
/// those are owned by the library now and never needed again (0 when buffers are full).
/// Sans-IO mode, before the handshake completes: the bytes wait in a bounded buffer and are
/// encrypted and queued the moment the handshake finishes (they are never sent unprotected).
/// fd mode: completes the handshake first and sends; a blocking socket sends everything.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_write(
    conn: *mut ferrotls_conn,
    data: *const u8,
    len: usize,
    accepted: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `accepted` is NULL or writable.
        let accepted = unsafe { out_param(accepted, 0, "accepted")? };
        // SAFETY: `data` is NULL or readable for `len` bytes.
        let data = unsafe { in_slice(data, len, "data")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if st.fd.is_some() {
                    let (code, n) = fd::write(st, data)?;
                    *accepted = n;
                    return Ok(code);
                }
                *accepted = st.conn.write(data).map_err(|e| st.fail(&e))?;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Zero-copy write, step one: `*buf`/`*cap` (both required) receive room for up to `len`
/// bytes of plaintext inside the next outgoing record (at most one record, 16384 bytes, and
/// what the buffer limit leaves; `*cap` 0 when the outgoing buffer is full: send first).
/// Write the data there, then `ferrotls_conn_write_commit`; the record is encrypted in place,
/// so the bytes are copied by nobody. The room is valid until the commit: any other call on
/// the connection in between may give it up (a record the connection sends of its own, such
/// as a KeyUpdate reply or an alert, must go first), and the commit then fails with
/// `FERROTLS_ERR_WRONG_STATE` (not sticky) having sent nothing. fd mode: completes the handshake
/// first (returning `FERROTLS_WANT_READ`/`WANT_WRITE` while it cannot) and, when the buffer has
/// no room for a whole record of `len` (records committed with
/// `ferrotls_conn_write_commit_more` wait there), sends what waits first
/// (`FERROTLS_WANT_WRITE` if the socket would block and no room is left).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_write_reserve(
    conn: *mut ferrotls_conn,
    len: usize,
    buf: *mut *mut u8,
    cap: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `buf` and `cap` are NULL or writable.
        let buf = unsafe { out_param(buf, std::ptr::null_mut(), "buf")? };
        // SAFETY: as above.
        let cap = unsafe { out_param(cap, 0, "cap")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                let mut sent = FERROTLS_OK;
                if st.fd.is_some() && st.conn.is_handshaking() {
                    let code = fd::handshake(st)?;
                    if code != FERROTLS_OK {
                        return Ok(code);
                    }
                }
                let reserve = |st: &mut ConnState| match st.conn.reserve_plaintext(len) {
                    Ok(room) => Ok((room.as_mut_ptr(), room.len())),
                    Err(e) => Err(st.fail(&e)),
                };
                let (mut ptr, mut room) = reserve(st)?;
                // fd mode: records committed with `_write_commit_more` wait in the outgoing
                // buffer; once it has no room for a whole record of what is asked, they go
                // out first (and the room is taken again, behind them).
                let whole = len.min(crate::record::cipher::MAX_FRAGMENT_LEN);
                if st.fd.is_some() && room < whole && st.conn.outgoing_len() > 0 {
                    sent = fd::flush(st)?;
                    (ptr, room) = reserve(st)?;
                }
                if room == 0 && len > 0 && sent != FERROTLS_OK {
                    return Ok(sent); // full, and the socket would block
                }
                *buf = ptr;
                *cap = room;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Zero-copy write, step two: the first `n` bytes of the room `ferrotls_conn_write_reserve`
/// gave are the data: sealed in place as one record (`n` 0 sends nothing and ends the
/// reservation). More than was reserved, or no open reservation, is
/// `FERROTLS_ERR_WRONG_STATE` (not sticky) and changes nothing else. fd mode: also sends what it can
/// (what the socket does not take now goes with the next call or `ferrotls_conn_flush`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_write_commit(
    conn: *mut ferrotls_conn,
    n: usize,
) -> ferrotls_result {
    // SAFETY: passed on as the caller gave it.
    unsafe { write_commit(conn, n, true) }
}

/// `ferrotls_conn_write_commit` for a caller with more to write at once (bulk data): the
/// record is sealed the same way, but in fd mode it is not sent yet. It waits in the outgoing
/// buffer with the records committed after it, and they go out together (one system call
/// for several records instead of one each) when `ferrotls_conn_write_reserve` finds no room
/// for another record, at the next `ferrotls_conn_write_commit`, or at `ferrotls_conn_flush`:
/// end a burst with one of the last two, or the data waits. Sans-IO mode: the same as
/// `ferrotls_conn_write_commit` (nothing is sent by either).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_write_commit_more(
    conn: *mut ferrotls_conn,
    n: usize,
) -> ferrotls_result {
    // SAFETY: passed on as the caller gave it.
    unsafe { write_commit(conn, n, false) }
}

/// Both commits; `send`: fd mode sends what waits.
///
/// # Safety
/// `conn` is NULL or a live connection.
unsafe fn write_commit(conn: *mut ferrotls_conn, n: usize, send: bool) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                st.conn.commit_plaintext(n).map_err(|e| st.fail(&e))?;
                if send && st.fd.is_some() {
                    fd::flush(st)?;
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Zero-copy receive, step one (sans-IO): `*buf`/`*cap` (both required) receive where to put
/// the next ciphertext from the peer, inside the engine's input buffer: `recv` into it, then
/// `ferrotls_conn_feed_commit`. Records are decrypted where they land and read with
/// `ferrotls_conn_peek_plaintext` / `_consume_plaintext`, so the transport's copy is the only
/// one. `*cap` is what completes the arriving record plus the next header (a smaller receive
/// is fine), 0 when two records wait unread (read first). Valid until the next call on the
/// connection. fd mode receives this way by itself: `FERROTLS_ERR_WRONG_STATE` there.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_feed_reserve(
    conn: *mut ferrotls_conn,
    buf: *mut *mut u8,
    cap: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `buf` and `cap` are NULL or writable.
        let buf = unsafe { out_param(buf, std::ptr::null_mut(), "buf")? };
        // SAFETY: as above.
        let cap = unsafe { out_param(cap, 0, "cap")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                no_fd(st, "ferrotls_conn_feed_reserve")?;
                let space = st.conn.recv_buffer();
                *buf = space.as_mut_ptr();
                *cap = space.len();
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Zero-copy receive, step two: `n` bytes were written at the start of the buffer
/// `ferrotls_conn_feed_reserve` gave; process them as `ferrotls_conn_feed` would (its errors,
/// alerts and sticky failure alike). More than it gave is `FERROTLS_ERR_WRONG_STATE` (not sticky)
/// and nothing is taken.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_feed_commit(
    conn: *mut ferrotls_conn,
    n: usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                no_fd(st, "ferrotls_conn_feed_commit")?;
                st.conn.commit_received(n).map_err(|e| st.fail(&e))?;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// The zero-copy receive is for sans-IO callers; fd mode receives that way by itself.
fn no_fd(st: &ConnState, call: &str) -> FfiResult<()> {
    if st.fd.is_some() {
        return Err(Fail::new(
            FERROTLS_ERR_WRONG_STATE,
            format!(
                "{call} is for sans-IO mode: after ferrotls_conn_set_fd the connection receives                  from the socket into its own buffer (no copy) by itself; use ferrotls_conn_read                  or ferrotls_conn_peek_plaintext"
            ),
        ));
    }
    Ok(())
}

/// Read plaintext into `buf` (may be uninitialized, `cap` > 0). Returns `FERROTLS_OK` with
/// `*out_n` > 0, `FERROTLS_WANT_READ` (feed more / socket not readable), `FERROTLS_CLOSED`
/// (close_notify received), `FERROTLS_PEER_AUTHENTICATED`, or an error; `FERROTLS_OK` never
/// comes with 0 bytes.
///
/// `FERROTLS_PEER_AUTHENTICATED` (category OK, `*out_n` 0) marks the point of the stream where
/// the peer authenticated again (Handshake Again: a server's
/// `ferrotls_conn_request_client_certificate`, answered): the bytes read before it came from
/// the peer as it was before (unauthenticated, or another identity), the bytes after it from
/// the peer that `ferrotls_conn_peer_cert` / `ferrotls_conn_peer_cert_subject` report from
/// then on (they change exactly there). It is returned once per point, never together with
/// bytes, and a read never returns bytes from both sides of it; read again for what follows.
/// Sans-IO and fd mode alike.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_read(
    conn: *mut ferrotls_conn,
    buf: *mut u8,
    cap: usize,
    out_n: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out_n` is NULL or writable.
        let out_n = unsafe { out_param(out_n, 0, "out_n")? };
        if cap == 0 {
            return Err(Fail::invalid(
                "argument 'cap' is 0; read needs room for at least one byte",
            ));
        }
        // SAFETY: `buf` is NULL or writable for `cap` bytes.
        let buf = unsafe { out_slice(buf, cap, "buf")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if st.fd.is_some() {
                    let (code, n) = fd::read(st, buf)?;
                    *out_n = n;
                    return Ok(code);
                }
                read_status(st, buf, out_n)
            })
        }
    })
}

/// Bytes of decrypted plaintext ready to read without more input, up to the point where the
/// peer authenticated again (0 there, until `ferrotls_conn_read` or
/// `ferrotls_conn_peek_plaintext` reports `FERROTLS_PEER_AUTHENTICATED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_readable(conn: *const ferrotls_conn) -> usize {
    // SAFETY: `conn` is NULL or a live connection.
    ffi_value(0, || unsafe {
        with_conn(conn, false, |st| Ok(st.conn.readable()))
    })
}

/// Queue close_notify (idempotent). fd mode: also flush (`FERROTLS_WANT_WRITE` if the socket
/// would block; call `ferrotls_conn_flush` later).
///
/// Before `close()`ing the socket: if bytes from the peer wait unread in it (a client that
/// sent without reading has the server's session tickets there), the kernel answers the
/// close with a TCP reset instead of a FIN, and the peer can lose the end of what it had not
/// yet read. `shutdown(fd, SHUT_WR)`, then read until EOF (or a timeout), then close.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_close(conn: *mut ferrotls_conn) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                st.conn.close();
                if st.fd.is_some() {
                    return fd::flush(st);
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// fd mode: send the waiting ciphertext; `FERROTLS_WANT_WRITE` until it is all sent. Without a
/// socket: `FERROTLS_ERR_WRONG_STATE` (send `peek_outgoing`/`take_outgoing` yourself).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_flush(conn: *mut ferrotls_conn) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if st.fd.is_none() {
                    return Err(Fail::new(
                        FERROTLS_ERR_WRONG_STATE,
                        "ferrotls_conn_flush needs a socket (ferrotls_conn_set_fd); in sans-IO mode send the bytes from ferrotls_conn_peek_outgoing or ferrotls_conn_take_outgoing yourself",
                    ));
                }
                fd::flush(st)
            })
        }
    })
}

/// What the connection is waiting for: a mask of `FERROTLS_WANTS_*` (0 on a bad handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_wants(conn: *const ferrotls_conn) -> u32 {
    // SAFETY: `conn` is NULL or a live connection.
    ffi_value(0, || unsafe {
        with_conn(conn, false, |st| {
            let mut w = 0;
            if st.conn.wants_read() {
                w |= FERROTLS_WANTS_READ;
            }
            if st.conn.wants_write() || st.conn.outgoing_len() > 0 {
                w |= FERROTLS_WANTS_WRITE;
            }
            if st.conn.is_handshaking() {
                w |= FERROTLS_WANTS_HANDSHAKING;
            }
            let closed_err = st.conn.error().is_some_and(|ce| ce.error == Error::Closed);
            if st.conn.received_close_notify() || closed_err {
                w |= FERROTLS_WANTS_CLOSED;
            }
            if st.fatal.is_some() || (st.conn.error().is_some() && !closed_err) {
                w |= FERROTLS_WANTS_FAILED;
            }
            Ok(w)
        })
    })
}

// ---- errors -------------------------------------------------------------------------------

/// The connection's sticky fatal code (`FERROTLS_OK` if it has not failed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_error(conn: *const ferrotls_conn) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                Ok(st.sticky().map_or(FERROTLS_OK, |f| f.code))
            })
        }
    })
}

/// The detail of the connection's fatal error, e.g. "certificate for 'a.test' expired ...";
/// "" if it has not failed. Owned by the connection, valid until `ferrotls_conn_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_error_detail(conn: *const ferrotls_conn) -> *const c_char {
    ffi_value(c"".as_ptr(), || {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                Ok(match st.sticky() {
                    Some(f) => st.intern(&f.detail),
                    None => c"".as_ptr(),
                })
            })
        }
    })
}

/// The engine's reason for the connection's fatal error, e.g. "NOT_TLS" or
/// "FINISHED_MISMATCH": which check refused the peer's input, a stable name for programs to
/// match on (`ferrotls_conn_error_detail` is the sentence for people). "" if the connection
/// has not failed, its error has no reason (certificate errors, an alert from the peer, a
/// socket error, ...), or `conn` is NULL or not a connection. New reasons may appear in any
/// release. Static, never NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_error_reason(conn: *const ferrotls_conn) -> *const c_char {
    ffi_value(c"".as_ptr(), || {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                Ok(reason_ptr(st.sticky().and_then(|f| f.reason)))
            })
        }
    })
}

/// The errno behind the last `FERROTLS_ERR_IO` (0 if none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_os_error(conn: *const ferrotls_conn) -> std::ffi::c_int {
    // SAFETY: `conn` is NULL or a live connection.
    ffi_value(0, || unsafe {
        with_conn(conn, false, |st| Ok(st.os_error))
    })
}

// ---- introspection ------------------------------------------------------------------------

/// A getter that returns a number (0 on a bad handle or before negotiation).
///
/// # Safety
/// `c` is NULL or a live handle pointer from this library.
unsafe fn get_num<R: Copy>(c: *const ferrotls_conn, zero: R, f: impl FnOnce(&ConnState) -> R) -> R {
    // SAFETY: forwarded caller guarantee.
    ffi_value(zero, || unsafe { with_conn(c, false, |st| Ok(f(st))) })
}

/// A getter that returns a connection-owned string (NULL if absent).
///
/// # Safety
/// `c` is NULL or a live handle pointer from this library.
unsafe fn get_str(
    c: *const ferrotls_conn,
    f: impl FnOnce(&ConnState) -> Option<String>,
) -> *const c_char {
    // SAFETY: forwarded caller guarantee.
    ffi_value(std::ptr::null(), || unsafe {
        with_conn(c, false, |st| {
            Ok(match f(st) {
                Some(s) => st.intern(&s),
                None => std::ptr::null(),
            })
        })
    })
}

/// The negotiated protocol version (0x0304 = TLS 1.3); 0 before negotiation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_protocol_version(conn: *const ferrotls_conn) -> u16 {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe {
        get_num(conn, 0, |st| {
            st.conn.protocol_version().map_or(0, |v| v.to_int())
        })
    }
}

/// The negotiated version as "TLSv1.3" / "TLSv1.2"; NULL before negotiation. Connection-owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_version_name(conn: *const ferrotls_conn) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe {
        get_str(conn, |st| {
            st.conn.protocol_version().map(|v| v.display_name())
        })
    }
}

/// What the connection waits for, in the handshake step names of its error details: "Step Two:
/// ServerHello", "Step One: ClientHello", ...; "application data" after the handshake; after a
/// failure, the step at which it failed. For a program that gives up on a silent peer and says
/// where it stopped. NULL on a bad handle. Connection-owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_awaiting(conn: *const ferrotls_conn) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_str(conn, |st| Some(st.conn.awaiting().to_owned())) }
}

/// The negotiated cipher suite's IANA number; 0 before negotiation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_cipher_suite(conn: *const ferrotls_conn) -> u16 {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe {
        get_num(conn, 0, |st| {
            st.conn.cipher_suite().map_or(0, |v| v.to_int())
        })
    }
}

/// The negotiated cipher suite's IANA name ("TLS_AES_128_GCM_SHA256"); NULL before negotiation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_cipher_name(conn: *const ferrotls_conn) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_str(conn, |st| st.conn.cipher_suite().map(|v| v.to_string())) }
}

/// The negotiated key-exchange group's IANA number (0x001d = X25519); 0 if none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_group(conn: *const ferrotls_conn) -> u16 {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_num(conn, 0, |st| st.conn.group().map_or(0, |v| v.to_int())) }
}

/// The negotiated group's name ("X25519MLKEM768", "X25519", "P-256"); NULL if none. Connection-owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_group_name(conn: *const ferrotls_conn) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_str(conn, |st| st.conn.group().map(|v| v.to_string())) }
}

/// The signature scheme the peer signed the handshake with (IANA number); 0 if none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_signature_scheme(conn: *const ferrotls_conn) -> u16 {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe {
        get_num(conn, 0, |st| {
            st.conn.signature_scheme().map_or(0, |v| v.to_int())
        })
    }
}

/// The signature scheme's name ("ecdsa_secp256r1_sha256"); NULL if none. Connection-owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_signature_scheme_name(
    conn: *const ferrotls_conn,
) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_str(conn, |st| st.conn.signature_scheme().map(|v| v.to_string())) }
}

/// The negotiated ALPN protocol: `*proto`/`*len` (required) point into the connection (valid
/// until `ferrotls_conn_free`); `FERROTLS_ERR_NOT_FOUND` if none was negotiated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_alpn(
    conn: *const ferrotls_conn,
    proto: *mut *const u8,
    len: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `proto`/`len` are NULL or writable.
        let proto = unsafe { out_param(proto, std::ptr::null(), "proto")? };
        // SAFETY: as above.
        let len = unsafe { out_param(len, 0, "len")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                let Some(p) = st.conn.alpn_protocol() else {
                    return Err(Fail::new(
                        FERROTLS_ERR_NOT_FOUND,
                        "no ALPN protocol was negotiated",
                    ));
                };
                *proto = p.as_ptr();
                *len = p.len();
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Client: the server name it was created with; server: the SNI the client sent. NULL if none.
/// Connection-owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_server_name(conn: *const ferrotls_conn) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_str(conn, |st| st.conn.server_name().map(str::to_owned)) }
}

/// Number of certificates the peer sent (0 if none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_peer_cert_count(conn: *const ferrotls_conn) -> usize {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_num(conn, 0, |st| st.conn.peer_certificates().len()) }
}

/// The peer's certificate `index` (0 = leaf) as DER: `*der`/`*len` (required) point into the
/// connection, valid until `ferrotls_conn_free`. `FERROTLS_ERR_NOT_FOUND` past the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_peer_cert(
    conn: *const ferrotls_conn,
    index: usize,
    der: *mut *const u8,
    len: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `der`/`len` are NULL or writable.
        let der = unsafe { out_param(der, std::ptr::null(), "der")? };
        // SAFETY: as above.
        let len = unsafe { out_param(len, 0, "len")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                let certs = st.conn.peer_certificates();
                let Some(cert) = certs.get(index) else {
                    return Err(Fail::new(
                        FERROTLS_ERR_NOT_FOUND,
                        format!(
                            "the peer sent {} certificate(s); there is no index {index}",
                            certs.len()
                        ),
                    ));
                };
                *der = cert.as_ptr();
                *len = cert.len();
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// The subject of the peer's leaf certificate ("CN=localhost, O=..."); NULL if none.
/// Connection-owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_peer_cert_subject(
    conn: *const ferrotls_conn,
) -> *const c_char {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe { get_str(conn, |st| st.conn.peer_cert_subject()) }
}

/// `FERROTLS_HANDSHAKE_FULL`, `_FULL_HRR` or `_RESUMED`; 0 before the handshake completes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_handshake_kind(conn: *const ferrotls_conn) -> u32 {
    // SAFETY: `conn` is NULL or a live connection.
    unsafe {
        get_num(conn, 0, |st| match st.conn.handshake_kind() {
            None => 0,
            Some(HandshakeKind::Full) => FERROTLS_HANDSHAKE_FULL,
            Some(HandshakeKind::FullWithHelloRetry) => FERROTLS_HANDSHAKE_FULL_HRR,
            Some(HandshakeKind::Resumed) => FERROTLS_HANDSHAKE_RESUMED,
        })
    }
}

/// The last alert sent or received: `*description` (the RFC 8446 number) and `*sent_by_us`
/// (both required). `FERROTLS_ERR_NOT_FOUND` if there was none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_last_alert(
    conn: *const ferrotls_conn,
    description: *mut u8,
    sent_by_us: *mut bool,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: out-params are NULL or writable.
        let description = unsafe { out_param(description, 0, "description")? };
        // SAFETY: as above.
        let sent_by_us = unsafe { out_param(sent_by_us, false, "sent_by_us")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                let Some((alert, ours)) = st.conn.last_alert() else {
                    return Err(Fail::new(
                        FERROTLS_ERR_NOT_FOUND,
                        "no alert was sent or received",
                    ));
                };
                *description = alert.to_int();
                *sent_by_us = ours;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Keying material exporter (RFC 5705 / RFC 8446 §7.5): fill `out[0..n]` (may be uninitialized;
/// zeroed on failure). `context` NULL means "no context": in TLS 1.2 that differs from an empty
/// context (RFC 5705); in TLS 1.3 both give the same output (RFC 8446 §7.5).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_export_keying_material(
    conn: *const ferrotls_conn,
    out: *mut u8,
    n: usize,
    label: *const u8,
    label_len: usize,
    context: *const u8,
    context_len: usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `out` is NULL or writable for `n` bytes.
        let out = unsafe { out_slice(out, n, "out")? };
        // SAFETY: `label` is NULL or readable for `label_len` bytes.
        let label = unsafe { in_slice(label, label_len, "label")? };
        let context = if context.is_null() {
            if context_len != 0 {
                return Err(Fail::null("context"));
            }
            None
        } else {
            // SAFETY: non-NULL, readable for `context_len` bytes.
            Some(unsafe { in_slice(context, context_len, "context")? })
        };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                if let Err(e) = st.conn.export_keying_material(out, label, context) {
                    out.fill(0);
                    return Err(st.fail(&e));
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Client, before the handshake starts (before any bytes were taken or fed): resume the
/// session in `blob` (from `ferrotls_conn_get_session`). A corrupt, truncated or foreign
/// blob, or one for another server name, fails (USAGE or DECODE code, with a detail) and
/// leaves the connection as it was, ready for a full handshake.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_session(
    conn: *mut ferrotls_conn,
    blob: *const u8,
    len: usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `blob` is NULL or readable for `len` bytes.
        let blob = unsafe { in_slice(blob, len, "blob")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if !st.conn.is_client() {
                    return Err(Fail::new(
                        FERROTLS_ERR_WRONG_ROLE,
                        "ferrotls_conn_set_session is for client connections; a server resumes from its cache and tickets",
                    ));
                }
                st.conn.set_session(blob).map_err(|e| Fail::engine(&e))?;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Before the handshake starts: this connection's ALPN protocols, a comma-separated list
/// ("h2,http/1.1"; "" for none), instead of its configuration's. The configuration (shared,
/// with its session cache) is unchanged. A client's ClientHello is rebuilt to carry them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_alpn_list(
    conn: *mut ferrotls_conn,
    csv: *const c_char,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `csv` is NULL or NUL-terminated.
        let csv = unsafe { in_str(csv, "csv")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if let Err(e) = st.conn.set_alpn_list(csv) {
                    return Err(st.fail(&e));
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Before the handshake starts: this connection's verification mode (`FERROTLS_VERIFY_*`
/// of its role, as for `ferrotls_config_builder_set_verify`) instead of its configuration's.
/// A mode of the other role gives `FERROTLS_ERR_WRONG_ROLE`; one that needs trust anchors
/// the configuration lacks, or a call after the handshake started, gives
/// `FERROTLS_ERR_WRONG_STATE` with a detail.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_verify(
    conn: *mut ferrotls_conn,
    mode: u32,
) -> ferrotls_result {
    ffi_call(|| {
        let (mode, role) = super::config::verify_mode_from_c(mode)?;
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if st.conn.is_client() != (role == Role::Client) {
                    return Err(Fail::new(
                        FERROTLS_ERR_WRONG_ROLE,
                        format!("verify mode {mode:?} is not for this connection's role"),
                    ));
                }
                if let Err(e) = st.conn.set_verify_mode(mode) {
                    return Err(st.fail(&e));
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Before the handshake starts: the certificate this connection presents (a server's, or a
/// client's for client authentication) instead of its configuration's. The connection takes
/// its own reference: `key` may be freed afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_certified_key(
    conn: *mut ferrotls_conn,
    key: *const super::callbacks::ferrotls_certified_key,
) -> ferrotls_result {
    ffi_call(|| {
        if key.is_null() {
            return Err(Fail::null("key"));
        }
        // SAFETY: `key` is a live handle per the API contract; the tag check refuses others.
        unsafe { check_tag(key.cast(), TAG_CERTKEY, "key")? };
        // SAFETY: the tag says this is a live CertKeyHandle; we take our own reference.
        let ck = unsafe { &*key.cast::<super::callbacks::CertKeyHandle>() }
            .key
            .clone();
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if let Err(e) = st.conn.set_certificate(ck) {
                    return Err(st.fail(&e));
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Client: copy the newest resumable session into `buf` (capacity `cap`); `*needed`
/// (required) receives its size. `FERROTLS_ERR_BUFFER_TOO_SMALL` when `cap` is less (call
/// with NULL, 0 to ask the size); `FERROTLS_ERR_NOT_FOUND` while there is none: a TLS 1.2
/// session exists after the handshake if the server gave a session ID or ticket, a TLS 1.3
/// session only after a NewSessionTicket arrived (after the handshake, with the server's
/// first data: read before asking). The blob contains the session's secret: whoever holds it
/// can resume the session, so store it like a private key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_get_session(
    conn: *const ferrotls_conn,
    buf: *mut u8,
    cap: usize,
    needed: *mut usize,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `needed` is NULL or writable.
        let needed = unsafe { out_param(needed, 0, "needed")? };
        // SAFETY: `buf` is NULL or writable for `cap` bytes.
        let buf = unsafe { out_slice(buf, cap, "buf")? };
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, false, |st| {
                let Some(blob) = st.conn.session() else {
                    return Err(Fail::new(
                        FERROTLS_ERR_NOT_FOUND,
                        "no resumable session yet (TLS 1.3: no session ticket has arrived; TLS 1.2: \
                         the handshake is not done or the server gave no session ID or ticket)",
                    ));
                };
                *needed = blob.len();
                if blob.len() > buf.len() {
                    return Err(Fail::new(
                        FERROTLS_ERR_BUFFER_TOO_SMALL,
                        format!(
                            "the session needs {} bytes; the buffer holds {}",
                            blob.len(),
                            buf.len()
                        ),
                    ));
                }
                buf[..blob.len()].copy_from_slice(&blob);
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Send a TLS 1.3 KeyUpdate; with `request_peer` ask the peer to update its keys too.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_key_update(
    conn: *mut ferrotls_conn,
    request_peer: bool,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                st.conn.key_update(request_peer).map_err(|e| st.fail(&e))?;
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Handshake Again, server only: ask the client for its certificate now, after the
/// handshake — in TLS 1.3 by post-handshake authentication (RFC 8446 §4.6.2: the client must
/// have offered post_handshake_auth), in TLS 1.2 by a secure renegotiation (RFC 5746: a
/// HelloRequest, then a new handshake with a CertificateRequest; the client must have shown
/// RFC 5746 support). Needs a verification mode that accepts a client certificate
/// (`FERROTLS_VERIFY_REQUEST_CLIENT_CERT` or `FERROTLS_VERIFY_REQUIRE_CLIENT_CERT`, with trust
/// anchors); with `ferrotls_config_builder_set_post_handshake_auth(b, true)` the handshake
/// itself asks for none.
///
/// The request is queued as outgoing data (sans-IO: send it as usual; fd mode: it is sent
/// now, `FERROTLS_WANT_WRITE` if the socket would block, then `ferrotls_conn_flush`). The
/// client answers as data flows; its answer is checked as in a handshake, with this
/// connection's verification mode (a refused or missing certificate is the connection's fatal
/// error, reported by the call that processes the answer). Where the answer completes,
/// `ferrotls_conn_read` / `ferrotls_conn_peek_plaintext` return `FERROTLS_PEER_AUTHENTICATED`
/// once, with no bytes: the plaintext before that point came from the unauthenticated client
/// (application data it sent before it saw the request), the plaintext after it from the
/// client `ferrotls_conn_peer_cert` and `ferrotls_conn_peer_cert_subject` report from then on
/// (until then they report the identity before, usually none). A TLS 1.2 client that declines
/// the renegotiation (a no_renegotiation warning) answers "no certificate": fatal under
/// `FERROTLS_VERIFY_REQUIRE_CLIENT_CERT`, else `FERROTLS_PEER_AUTHENTICATED` with the identity
/// unchanged. Another request may follow once this one is answered.
///
/// A call the protocol does not allow changes nothing and leaves the connection usable:
/// `FERROTLS_ERR_WRONG_ROLE` on a client connection; `FERROTLS_ERR_WRONG_STATE`, with a
/// detail, before the handshake completes, when the client did not offer post_handshake_auth
/// (TLS 1.3) or RFC 5746 support (TLS 1.2), when the verification mode accepts no
/// certificate, when renegotiation is switched off or past `MAX_RENEGOTIATIONS_PER_MINUTE`
/// (TLS 1.2), after close_notify, or while an earlier request is unanswered. A connection that
/// already failed returns its sticky error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_request_client_certificate(
    conn: *mut ferrotls_conn,
) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                if st.conn.is_client() {
                    return Err(Fail::new(
                        FERROTLS_ERR_WRONG_ROLE,
                        "ferrotls_conn_request_client_certificate is for server connections: a \
                         server asks for the client's certificate (a client answers by itself \
                         when its configuration has post-handshake authentication)",
                    ));
                }
                st.conn
                    .request_client_certificate()
                    .map_err(|e| st.fail(&e))?;
                if st.fd.is_some() {
                    return fd::flush(st);
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}

/// Handshake Again in TLS 1.2 (RFC 5746 secure renegotiation only). A client starts one: a
/// full handshake under the current keys, bound to this connection by renegotiation_info. A
/// server asks the client for one (a HelloRequest; a client's own renegotiation is accepted
/// only with `ferrotls_config_builder_set_client_renegotiation`). Application data keeps
/// flowing in both directions while it runs; exporters use the last handshake's secrets until
/// the new keys take over. The peer must keep its certificate (unless
/// `ferrotls_config_builder_set_peer_certificate_change` allows a change), and may decline
/// with a no_renegotiation warning (the connection then goes on as it was). On a server,
/// `ferrotls_conn_read` returns `FERROTLS_PEER_AUTHENTICATED` where the new handshake completed.
/// A server's own request (HelloRequest) is answered by a client's engine without this call,
/// unless its configuration switched renegotiation off. `ferrotls_conn_awaiting` says
/// "application data" again once the new handshake is complete.
///
/// The message is queued as outgoing data (sans-IO: send it as usual; fd mode: it is sent
/// now, `FERROTLS_WANT_WRITE` if the socket would block, then `ferrotls_conn_flush`).
///
/// A call the protocol does not allow changes nothing and leaves the connection usable:
/// `FERROTLS_ERR_WRONG_STATE`, with a detail, before the handshake completes, after a TLS 1.3
/// handshake (TLS 1.3 has no renegotiation), while a new handshake runs or is asked for,
/// after close_notify, when the configuration switched renegotiation off, when the peer showed
/// no RFC 5746 support, or past `MAX_RENEGOTIATIONS_PER_MINUTE`. A connection that already
/// failed returns its sticky error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_renegotiate(conn: *mut ferrotls_conn) -> ferrotls_result {
    ffi_call(|| {
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                st.conn.renegotiate().map_err(|e| st.fail(&e))?;
                if st.fd.is_some() {
                    return fd::flush(st);
                }
                Ok(FERROTLS_OK)
            })
        }
    })
}
