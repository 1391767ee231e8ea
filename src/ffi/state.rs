//! What lies behind a `ferrotls_conn *`: the engine's connection with the FFI layer's own state
//! (interned strings, a caught panic, socket mode), and the one way to lock it. Below both
//! `conn` (the exports) and `fd` (socket mode), so neither reaches into the other.

use std::ffi::{CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::*;
use crate::config::Config;
use crate::conn::{Connection, ReadStatus};
use crate::error::Error;

/// A TLS connection, client or server (opaque). One thread at a time.
#[allow(non_camel_case_types)]
pub struct ferrotls_conn {
    _private: [u8; 0],
}

/// Socket-mode state of a connection.
pub(crate) struct FdState {
    pub(crate) fd: c_int,
    /// `recv` returned 0; the engine was told with `feed_eof`.
    pub(crate) eof: bool,
}

/// Everything behind a `ferrotls_conn *`.
pub(crate) struct ConnState {
    pub(crate) conn: Connection,
    pub(crate) _config: Arc<Config>,
    /// Strings handed out to C; never removed before `conn_free`, so pointers stay valid.
    pub(crate) strings: Vec<CString>,
    /// A fatal error of the FFI layer itself (a caught panic or a socket error).
    pub(crate) fatal: Option<(ferrotls_result, String)>,
    /// errno behind `FERROTLS_ERR_IO`.
    pub(crate) os_error: i32,
    /// Socket mode state, once `ferrotls_conn_set_fd` was called.
    pub(crate) fd: Option<FdState>,
}

pub(crate) type ConnHandle = Handle<ConnState>;

impl ConnState {
    /// A C string owned by the connection (deduplicated), valid until `conn_free`.
    pub(crate) fn intern(&mut self, s: &str) -> *const c_char {
        if let Some(c) = self.strings.iter().find(|c| c.as_bytes() == s.as_bytes()) {
            return c.as_ptr();
        }
        let c = to_cstring(s);
        let p = c.as_ptr();
        self.strings.push(c);
        p
    }

    /// The failure for an engine error from a connection call; the detail is the sticky
    /// `ConnError` text when the error is the connection's fatal one, the reason the error's.
    pub(crate) fn fail(&self, e: &Error) -> Fail {
        let detail = match self.conn.error() {
            Some(ce) if ce.error == *e => ce.to_string(),
            _ => e.to_string(),
        };
        Fail::new(conn_code_of(e), detail).because(e.reason())
    }

    /// The sticky error, if the connection failed: FFI-level first (a panic or a socket error,
    /// which have no reason), then the engine's with its reason.
    pub(crate) fn sticky(&self) -> Option<Fail> {
        if let Some((code, detail)) = &self.fatal {
            return Some(Fail::new(*code, detail.clone()));
        }
        self.conn
            .error()
            .map(|ce| Fail::new(conn_code_of(&ce.error), ce.to_string()).because(ce.error.reason()))
    }
}

const PANIC_CONN: &str = "a panic was caught at the ferrotls API boundary; this connection is no longer usable (this is a bug in ferrotls)";

/// Lock a connection and run `f` on it. With `mutating`, an FFI-level fatal error (panic or
/// socket error) is returned instead of running `f`. A panic in `f` poisons the connection.
///
/// # Safety
/// `c` is NULL or a live handle pointer from this library.
pub(crate) unsafe fn with_conn<R>(
    c: *const ferrotls_conn,
    mutating: bool,
    f: impl FnOnce(&mut ConnState) -> FfiResult<R>,
) -> FfiResult<R> {
    // SAFETY: forwarded caller guarantee.
    let h = unsafe { ConnHandle::from_ptr(c.cast(), TAG_CONN, "conn")? };
    let mut st = h.lock("ferrotls_conn")?;
    if mutating && let Some((code, detail)) = &st.fatal {
        return Err(Fail::new(*code, detail.clone()));
    }
    match catch_unwind(AssertUnwindSafe(|| f(&mut st))) {
        Ok(r) => r,
        Err(_) => {
            st.fatal = Some((FERROTLS_ERR_PANIC, PANIC_CONN.into()));
            Err(Fail::new(FERROTLS_ERR_PANIC, PANIC_CONN))
        }
    }
}

pub(crate) fn read_status(
    st: &mut ConnState,
    buf: &mut [u8],
    out_n: &mut usize,
) -> FfiResult<ferrotls_result> {
    match st.conn.read(buf).map_err(|e| st.fail(&e))? {
        ReadStatus::Data(0) => Ok(FERROTLS_WANT_READ),
        ReadStatus::Data(n) => {
            *out_n = n;
            Ok(FERROTLS_OK)
        }
        ReadStatus::WouldBlock => Ok(FERROTLS_WANT_READ),
        ReadStatus::Closed => Ok(FERROTLS_CLOSED),
        ReadStatus::PeerAuthenticated => Ok(FERROTLS_PEER_AUTHENTICATED),
    }
}
