//! Socket mode: after `ferrotls_conn_set_fd`, handshake/read/write/close/flush do the socket
//! I/O themselves with `recv`/`send` (SIGPIPE suppressed). Blocking sockets block until done;
//! non-blocking ones give `FERROTLS_WANT_READ` / `FERROTLS_WANT_WRITE`.

use std::ffi::c_int;

use super::state::FdState;
use super::state::{ConnState, read_status, with_conn};
use super::*;

#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: c_int = 0;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn would_block(e: i32) -> bool {
    e == libc::EAGAIN || e == libc::EWOULDBLOCK
}

/// Record a socket error: sticky `FERROTLS_ERR_IO` with the errno kept.
fn io_fail(st: &mut ConnState, op: &str, e: i32) -> Fail {
    let detail = format!(
        "{op}() on the socket failed: {} (errno {e})",
        std::io::Error::from_raw_os_error(e)
    );
    st.os_error = e;
    st.fatal = Some((FERROTLS_ERR_IO, detail.clone()));
    Fail::new(FERROTLS_ERR_IO, detail)
}

/// After a fatal engine error, try once to send the queued alert; failures are ignored.
fn engine_fail(st: &mut ConnState, e: &crate::error::Error) -> Fail {
    let fail = st.fail(e);
    let _ = send_outgoing(st);
    fail
}

/// Send waiting ciphertext. `Ok(true)` when all was sent, `Ok(false)` when the socket would block.
fn send_outgoing(st: &mut ConnState) -> FfiResult<bool> {
    let Some(fd) = st.fd.as_ref().map(|f| f.fd) else {
        return Ok(true);
    };
    loop {
        let out = st.conn.peek_outgoing();
        if out.is_empty() {
            return Ok(true);
        }
        // SAFETY: `out` is a valid readable slice for the duration of the call; `fd` is the
        // caller's socket (an invalid one gives EBADF/ENOTSOCK, not UB).
        let n = unsafe { libc::send(fd, out.as_ptr().cast(), out.len(), SEND_FLAGS) };
        if n >= 0 {
            st.conn.consume_outgoing(n as usize);
            continue;
        }
        match errno() {
            libc::EINTR => continue,
            e if would_block(e) => return Ok(false),
            e => return Err(io_fail(st, "send", e)),
        }
    }
}

/// What one step of input did.
enum Input {
    /// The engine took some bytes.
    Progress,
    /// The socket has nothing now.
    WouldBlock,
    /// The transport is at EOF; the code to return (`FERROTLS_CLOSED`).
    Eof(ferrotls_result),
}

/// Receive straight into the engine's input buffer (its zero-copy receive: the record is
/// decrypted where `recv` put it, so the kernel's copy is the only one), then process it.
fn pump_in(st: &mut ConnState) -> FfiResult<Input> {
    let Some(fs) = st.fd.as_ref() else {
        return Ok(Input::WouldBlock);
    };
    let (fd, eof) = (fs.fd, fs.eof);
    if eof {
        st.conn.feed_eof().map_err(|e| st.fail(&e))?;
        return Ok(Input::Eof(FERROTLS_CLOSED));
    }
    let space = st.conn.recv_buffer();
    if space.is_empty() {
        // Inbound buffers are full: the caller must read plaintext first.
        return Ok(Input::WouldBlock);
    }
    let got = loop {
        // SAFETY: `space` is a valid writable slice for the duration of the call.
        let n = unsafe { libc::recv(fd, space.as_mut_ptr().cast(), space.len(), 0) };
        if n >= 0 {
            break Ok(n as usize);
        }
        match errno() {
            libc::EINTR => continue,
            e => break Err(e),
        }
    };
    let n = match got {
        Ok(n) => n,
        Err(e) if would_block(e) => {
            // Nothing to read now: an idle connection keeps no input buffer.
            st.conn.release_buffers();
            return Ok(Input::WouldBlock);
        }
        Err(e) => return Err(io_fail(st, "recv", e)),
    };
    if n == 0 {
        if let Some(fs) = st.fd.as_mut() {
            fs.eof = true;
        }
        st.conn.feed_eof().map_err(|e| engine_fail(st, &e))?;
        return Ok(Input::Eof(FERROTLS_CLOSED));
    }
    st.conn
        .commit_received(n)
        .map_err(|e| engine_fail(st, &e))?;
    Ok(Input::Progress)
}

/// fd-mode handshake.
pub(crate) fn handshake(st: &mut ConnState) -> FfiResult<ferrotls_result> {
    loop {
        if let Some(fail) = st.sticky() {
            let _ = send_outgoing(st);
            return Err(fail);
        }
        if !send_outgoing(st)? {
            return Ok(FERROTLS_WANT_WRITE);
        }
        if !st.conn.is_handshaking() {
            return Ok(FERROTLS_OK);
        }
        match pump_in(st)? {
            Input::Progress => {}
            Input::WouldBlock => return Ok(FERROTLS_WANT_READ),
            Input::Eof(code) => {
                // close_notify during the handshake: the engine decides; report its error if any.
                if let Some(fail) = st.sticky() {
                    return Err(fail);
                }
                return Ok(code);
            }
        }
    }
}

/// fd-mode read. Like the sans-IO read it stops at the point where the peer authenticated
/// again and returns `FERROTLS_PEER_AUTHENTICATED` there, once and with no bytes (from
/// `read_status`, before any more socket input is taken).
pub(crate) fn read(st: &mut ConnState, buf: &mut [u8]) -> FfiResult<(ferrotls_result, usize)> {
    loop {
        let mut n = 0;
        let code = read_status(st, buf, &mut n)?;
        if code != FERROTLS_WANT_READ {
            // Send what reading may have queued (KeyUpdate replies, tickets), best effort.
            // A socket error here becomes sticky and is reported by the next call; the
            // plaintext already copied out must not be lost.
            if st.conn.outgoing_len() > 0 {
                let _ = send_outgoing(st);
            }
            return Ok((code, n));
        }
        if !send_outgoing(st)? {
            return Ok((FERROTLS_WANT_WRITE, 0));
        }
        match pump_in(st)? {
            Input::Progress => {}
            Input::WouldBlock => return Ok((FERROTLS_WANT_READ, 0)),
            Input::Eof(code) => {
                // Plaintext (or the point where the peer authenticated again) may still be
                // buffered before the EOF: that comes first, the EOF on the next call.
                let code2 = read_status(st, buf, &mut n)?;
                return Ok(
                    if code2 == FERROTLS_OK || code2 == FERROTLS_PEER_AUTHENTICATED {
                        (code2, n)
                    } else {
                        (code, 0)
                    },
                );
            }
        }
    }
}

/// fd-mode write: handshake first, then hand data to the engine and send it.
pub(crate) fn write(st: &mut ConnState, data: &[u8]) -> FfiResult<(ferrotls_result, usize)> {
    if st.conn.is_handshaking() {
        let code = handshake(st)?;
        if code != FERROTLS_OK {
            return Ok((code, 0));
        }
    }
    let mut total = 0;
    loop {
        let drained = send_outgoing(st)?;
        if total == data.len() {
            return Ok(if drained || total > 0 {
                (FERROTLS_OK, total)
            } else {
                (FERROTLS_WANT_WRITE, 0)
            });
        }
        let n = st
            .conn
            .write(&data[total..])
            .map_err(|e| engine_fail(st, &e))?;
        total += n;
        if n == 0 {
            if !drained {
                // Buffers are full and the socket would block.
                return Ok(if total > 0 {
                    (FERROTLS_OK, total)
                } else {
                    (FERROTLS_WANT_WRITE, 0)
                });
            }
            if st.conn.outgoing_len() == 0 {
                return Err(Fail::new(
                    FERROTLS_ERR_INTERNAL,
                    "the engine accepted no plaintext although its outgoing buffer is empty",
                ));
            }
        }
    }
}

/// fd-mode flush.
pub(crate) fn flush(st: &mut ConnState) -> FfiResult<ferrotls_result> {
    Ok(if send_outgoing(st)? {
        FERROTLS_OK
    } else {
        FERROTLS_WANT_WRITE
    })
}

/// Switch the connection to socket mode on `fd` (borrowed: never closed by the library; blocking
/// or O_NONBLOCK). Afterwards handshake/read/write/close/flush do the I/O themselves.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ferrotls_conn_set_fd(
    conn: *mut ferrotls_conn,
    fd: c_int,
) -> ferrotls_result {
    ffi_call(|| {
        if fd < 0 {
            return Err(Fail::invalid(format!(
                "argument 'fd' is {fd}, not a valid descriptor"
            )));
        }
        // SAFETY: `conn` is NULL or a live connection.
        unsafe {
            with_conn(conn, true, |st| {
                #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
                {
                    let one: c_int = 1;
                    // SAFETY: valid pointer to an int option value of the right size.
                    unsafe {
                        libc::setsockopt(
                            fd,
                            libc::SOL_SOCKET,
                            libc::SO_NOSIGPIPE,
                            (&one as *const c_int).cast(),
                            std::mem::size_of::<c_int>() as libc::socklen_t,
                        );
                    }
                }
                st.fd = Some(FdState { fd, eof: false });
                Ok(FERROTLS_OK)
            })
        }
    })
}
