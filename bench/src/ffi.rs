//! The same ferrotls workloads through the C ABI (the extern "C" functions, sans-IO).

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::ptr::null_mut;
use std::sync::Arc;

use ferrotls::ffi::*;

use crate::ferro::Wire;
use crate::sockets::{SockConn, SockEngine};
use crate::{Conn, Engine, Params, Pki, Ver};

pub struct Ffi {
    client: *mut ferrotls_config,
    server: *mut ferrotls_config,
    p: Params,
}

fn ok(r: ferrotls_result, what: &str) -> Result<(), String> {
    if r == FERROTLS_OK {
        return Ok(());
    }
    let detail = unsafe { std::ffi::CStr::from_ptr(ferrotls_last_error_detail()) };
    Err(format!("{what}: {}", detail.to_string_lossy()))
}

fn version(v: Ver) -> u16 {
    match v {
        Ver::V12 => 0x0303,
        Ver::V13 => 0x0304,
    }
}

unsafe fn config(role: u32, pki: &Pki, p: Params) -> Result<*mut ferrotls_config, String> {
    unsafe {
        let mut b = null_mut();
        ok(ferrotls_config_builder_new(role, &mut b), "builder_new")?;
        let r = (|| {
            let v = version(p.ver);
            ok(
                ferrotls_config_builder_set_versions(b, v, v),
                "set_versions",
            )?;
            let suite = [p.suite_id()];
            ok(
                ferrotls_config_builder_set_cipher_suites(b, suite.as_ptr(), 1),
                "set_cipher_suites",
            )?;
            // Pinned: the default groups put X25519MLKEM768 first. A client lists P-256 after
            // X25519 (a TLS 1.2 server may use a P-256 certificate only if the client lists
            // that curve, RFC 8422 §5.1); the server has the one group.
            let groups = [p.group.id(), 0x0017];
            let n = if role == FERROTLS_ROLE_SERVER || p.group.id() != 0x001d {
                1
            } else {
                2
            };
            ok(
                ferrotls_config_builder_set_groups(b, groups.as_ptr(), n),
                "set_groups",
            )?;
            if role == FERROTLS_ROLE_SERVER {
                // One TLS 1.3 ticket per handshake, as every server here is set to.
                ok(
                    ferrotls_config_builder_set_tls13_tickets(b, 1),
                    "set_tls13_tickets",
                )?;
                let id = pki.identity(p.key);
                ok(
                    ferrotls_config_builder_add_cert_key_pem(
                        b,
                        id.chain_pem.as_ptr(),
                        id.chain_pem.len(),
                        id.key_pem.as_ptr(),
                        id.key_pem.len(),
                    ),
                    "add_cert_key_pem",
                )?;
            } else {
                ok(
                    ferrotls_config_builder_add_roots_pem(b, pki.ca_pem.as_ptr(), pki.ca_pem.len()),
                    "add_roots_pem",
                )?;
                ok(
                    ferrotls_config_builder_set_verified_chain_cache(b, !p.cold_cache),
                    "set_verified_chain_cache",
                )?;
            }
            // No server session cache (stateless tickets only); full-handshake clients do
            // not resume.
            if role == FERROTLS_ROLE_SERVER || !p.resume {
                ok(
                    ferrotls_config_builder_set_session_cache(b, 0),
                    "set_session_cache",
                )?;
            }
            let mut cfg = null_mut();
            ok(ferrotls_config_builder_build(b, &mut cfg), "build")?;
            Ok(cfg)
        })();
        ferrotls_config_builder_free(b);
        r
    }
}

pub fn new(pki: &Pki, p: Params) -> Result<Box<dyn Engine>, String> {
    unsafe {
        let eng = Ffi {
            client: config(FERROTLS_ROLE_CLIENT, pki, p)?,
            server: config(FERROTLS_ROLE_SERVER, pki, p)?,
            p,
        };
        if p.resume {
            eng.run(false)?; // prime the client's session cache
        }
        eng.handshake()?;
        Ok(Box::new(eng))
    }
}

/// Resumed handshakes through the C ABI: the client config's session cache resumes.
pub fn resumption(pki: &Pki, p: Params) -> Option<Box<dyn Engine>> {
    new(pki, p).ok()
}

impl Drop for Ffi {
    fn drop(&mut self) {
        unsafe {
            ferrotls_config_free(self.client);
            ferrotls_config_free(self.server);
        }
    }
}

pub struct Pair {
    c: *mut ferrotls_conn,
    s: *mut ferrotls_conn,
    /// Harness transport buffers, client → server and back (the one wire copy).
    up: Wire,
    down: Wire,
    /// Bulk through write_reserve/commit and feed_reserve/commit ([`Params::zero_copy`]).
    zero_copy: bool,
}

impl Drop for Pair {
    fn drop(&mut self) {
        unsafe {
            ferrotls_conn_free(self.c);
            ferrotls_conn_free(self.s);
        }
    }
}

/// The ciphertext waiting in `a` (ferrotls_conn_peek_outgoing), valid until the next call
/// on it.
unsafe fn outgoing<'a>(a: *mut ferrotls_conn) -> Result<&'a [u8], String> {
    let (mut ptr, mut len) = (std::ptr::null(), 0usize);
    // SAFETY: `a` is live; the view is used before the next call on it.
    unsafe {
        ok(
            ferrotls_conn_peek_outgoing(a, &mut ptr, &mut len),
            "peek_outgoing",
        )?;
        Ok(if len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(ptr, len)
        })
    }
}

/// Move a's pending ciphertext into b through `wire` (peek + copy + consume, then feed).
/// Returns bytes fed to b.
unsafe fn xfer(
    a: *mut ferrotls_conn,
    b: *mut ferrotls_conn,
    wire: &mut Wire,
) -> Result<usize, String> {
    let mut moved = 0;
    unsafe {
        loop {
            if wire.pos == wire.buf.len() {
                wire.buf.clear();
                wire.pos = 0;
                let out = outgoing(a)?;
                if out.is_empty() {
                    break;
                }
                wire.buf.extend_from_slice(out);
                ok(
                    ferrotls_conn_consume_outgoing(a, out.len()),
                    "consume_outgoing",
                )?;
            }
            let rest = &wire.buf[wire.pos..];
            let mut n = 0;
            ok(
                ferrotls_conn_feed(b, rest.as_ptr(), rest.len(), &mut n),
                "feed",
            )?;
            if n == 0 {
                break; // b's buffers are full: read first
            }
            wire.pos += n;
            moved += n;
        }
    }
    Ok(moved)
}

impl Engine for Ffi {
    fn handshake(&self) -> Result<Box<dyn Conn>, String> {
        Ok(Box::new(self.run(self.p.resume)?))
    }
}

impl Ffi {
    fn run(&self, want_resumed: bool) -> Result<Pair, String> {
        unsafe {
            let mut pair = Pair {
                c: null_mut(),
                s: null_mut(),
                up: Wire::default(),
                down: Wire::default(),
                zero_copy: self.p.zero_copy,
            };
            ok(
                ferrotls_conn_new_client(self.client, c"localhost".as_ptr(), &mut pair.c),
                "new_client",
            )?;
            ok(
                ferrotls_conn_new_server(self.server, &mut pair.s),
                "new_server",
            )?;
            for _ in 0..20 {
                let a = xfer(pair.c, pair.s, &mut pair.up)?;
                let b = xfer(pair.s, pair.c, &mut pair.down)?;
                if a == 0 && b == 0 {
                    break;
                }
            }
            ok(ferrotls_conn_handshake(pair.c), "client handshake")?;
            ok(ferrotls_conn_handshake(pair.s), "server handshake")?;
            let (v, s) = (
                ferrotls_conn_protocol_version(pair.c),
                ferrotls_conn_cipher_suite(pair.c),
            );
            let g = ferrotls_conn_group(pair.c);
            if v != version(self.p.ver)
                || s != self.p.suite_id()
                || (!want_resumed && g != self.p.group.id())
            {
                return Err(format!("negotiated {v:#06x} {s:#06x} group {g:#06x}"));
            }
            let resumed = ferrotls_conn_handshake_kind(pair.c) == FERROTLS_HANDSHAKE_RESUMED;
            if resumed != want_resumed {
                return Err(format!("resumed = {resumed}, wanted {want_resumed}"));
            }
            Ok(pair)
        }
    }
}

/// The zero-copy transport: a's pending ciphertext copied straight into b's input buffer
/// (ferrotls_conn_feed_reserve, then _feed_commit). Returns bytes moved.
unsafe fn xfer_in_place(a: *mut ferrotls_conn, b: *mut ferrotls_conn) -> Result<usize, String> {
    let mut moved = 0;
    unsafe {
        loop {
            let out = outgoing(a)?;
            if out.is_empty() {
                break; // nothing to send (no receive space asked for, as in the Rust API's loop)
            }
            let (mut room, mut cap) = (null_mut(), 0usize);
            ok(
                ferrotls_conn_feed_reserve(b, &mut room, &mut cap),
                "feed_reserve",
            )?;
            let n = out.len().min(cap);
            if n == 0 {
                break; // b holds records unread: read first
            }
            std::ptr::copy_nonoverlapping(out.as_ptr(), room, n);
            ok(ferrotls_conn_consume_outgoing(a, n), "consume_outgoing")?;
            ok(ferrotls_conn_feed_commit(b, n), "feed_commit")?;
            moved += n;
        }
    }
    Ok(moved)
}

impl Conn for Pair {
    fn send(&mut self, data: &[u8], rbuf: &mut [u8], check: bool) -> usize {
        let (mut off, mut got, mut idle) = (0, 0, 0);
        unsafe {
            while got < data.len() {
                if off < data.len() && self.zero_copy {
                    // The application's bytes written straight into the reserved record.
                    let (mut room, mut cap) = (null_mut(), 0usize);
                    ok(
                        ferrotls_conn_write_reserve(self.c, data.len() - off, &mut room, &mut cap),
                        "write_reserve",
                    )
                    .unwrap();
                    std::ptr::copy_nonoverlapping(data[off..].as_ptr(), room, cap);
                    ok(ferrotls_conn_write_commit(self.c, cap), "write_commit").unwrap();
                    off += cap;
                } else if off < data.len() {
                    let mut n = 0;
                    let rest = &data[off..];
                    ok(
                        ferrotls_conn_write(self.c, rest.as_ptr(), rest.len(), &mut n),
                        "write",
                    )
                    .unwrap();
                    off += n;
                }
                let moved = if self.zero_copy {
                    xfer_in_place(self.c, self.s).unwrap()
                } else {
                    xfer(self.c, self.s, &mut self.up).unwrap()
                };
                let before = got;
                // Zero-copy reads (peek + consume), like the Rust engine.
                let _ = &rbuf;
                loop {
                    let (mut p, mut n) = (std::ptr::null(), 0usize);
                    ok(
                        ferrotls_conn_peek_plaintext(self.s, &mut p, &mut n),
                        "peek_plaintext",
                    )
                    .unwrap();
                    if n == 0 {
                        break;
                    }
                    if check {
                        assert_eq!(std::slice::from_raw_parts(p, n), &data[got..got + n]);
                    }
                    got += n;
                    ok(
                        ferrotls_conn_consume_plaintext(self.s, n),
                        "consume_plaintext",
                    )
                    .unwrap();
                }
                crate::no_stall(&mut idle, !(moved == 0 && got == before), "ferrotls C ABI");
            }
        }
        assert_eq!(got, data.len());
        got
    }

    fn trim(&mut self) {
        self.up = Wire::default();
        self.down = Wire::default();
    }
}

/// The C ABI's configs for the socket rows; each is used by one thread (the client's by the
/// bench thread, the server's by the server thread), as the C ABI's rules allow.
pub struct FdEngine {
    e: Ffi,
}

// SAFETY: a ferrotls_config is immutable once built and shared by reference count; the
// connections made from it are each used by one thread.
unsafe impl Send for FdEngine {}
unsafe impl Sync for FdEngine {}

/// A connection in fd mode: the library does the recv/send on the borrowed socket.
pub struct FdConn {
    conn: *mut ferrotls_conn,
    sock: TcpStream,
    /// Writes through write_reserve/commit ([`Params::zero_copy`]); receives always land in
    /// the engine's input buffer in fd mode.
    zero_copy: bool,
}

// SAFETY: a connection may move between threads; it is used by one at a time.
unsafe impl Send for FdConn {}

impl Drop for FdConn {
    fn drop(&mut self) {
        unsafe { ferrotls_conn_free(self.conn) };
    }
}

/// The socket rows' engine: ferrotls_conn_set_fd, then ferrotls_conn_handshake / _write /
/// _read do the socket I/O.
pub fn sockets(pki: &Pki, p: Params) -> Result<Arc<dyn SockEngine>, String> {
    unsafe {
        let e = Ffi {
            client: config(FERROTLS_ROLE_CLIENT, pki, p)?,
            server: config(FERROTLS_ROLE_SERVER, pki, p)?,
            p,
        };
        Ok(Arc::new(FdEngine { e }))
    }
}

impl FdEngine {
    fn start(&self, sock: TcpStream, client: bool) -> Result<Box<dyn SockConn>, String> {
        unsafe {
            let mut c = FdConn {
                conn: null_mut(),
                sock,
                zero_copy: self.e.p.zero_copy,
            };
            if client {
                ok(
                    ferrotls_conn_new_client(self.e.client, c"localhost".as_ptr(), &mut c.conn),
                    "new_client",
                )?;
            } else {
                ok(
                    ferrotls_conn_new_server(self.e.server, &mut c.conn),
                    "new_server",
                )?;
            }
            ok(ferrotls_conn_set_fd(c.conn, c.sock.as_raw_fd()), "set_fd")?;
            // Blocking socket: returns once the handshake is done (or failed).
            ok(ferrotls_conn_handshake(c.conn), "handshake")?;
            let (v, s, g) = (
                ferrotls_conn_protocol_version(c.conn),
                ferrotls_conn_cipher_suite(c.conn),
                ferrotls_conn_group(c.conn),
            );
            let p = self.e.p;
            if v != version(p.ver) || s != p.suite_id() || g != p.group.id() {
                return Err(format!("negotiated {v:#06x} {s:#06x} group {g:#06x}"));
            }
            if ferrotls_conn_handshake_kind(c.conn) != FERROTLS_HANDSHAKE_FULL {
                return Err("not a full handshake".into());
            }
            Ok(Box::new(c))
        }
    }
}

impl SockEngine for FdEngine {
    fn client(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        self.start(sock, true)
    }
    fn server(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        self.start(sock, false)
    }
}

impl SockConn for FdConn {
    fn write_all(&mut self, data: &[u8]) -> Result<(), String> {
        let mut off = 0;
        while off < data.len() && self.zero_copy {
            // Into the reserved record; the commit seals it there.
            let (mut room, mut cap) = (null_mut(), 0usize);
            unsafe {
                ok(
                    ferrotls_conn_write_reserve(self.conn, data.len() - off, &mut room, &mut cap),
                    "write_reserve",
                )?;
                if cap == 0 {
                    return Err("write_reserve gave no room on a blocking socket".into());
                }
                std::ptr::copy_nonoverlapping(data[off..].as_ptr(), room, cap);
                // Records of one burst go out together; the last commit sends them.
                if off + cap == data.len() {
                    ok(ferrotls_conn_write_commit(self.conn, cap), "write_commit")?;
                } else {
                    ok(
                        ferrotls_conn_write_commit_more(self.conn, cap),
                        "write_commit_more",
                    )?;
                }
            }
            off += cap;
        }
        while off < data.len() {
            let rest = &data[off..];
            let mut n = 0;
            ok(
                unsafe { ferrotls_conn_write(self.conn, rest.as_ptr(), rest.len(), &mut n) },
                "write",
            )?;
            if n == 0 {
                return Err("write took nothing on a blocking socket".into());
            }
            off += n;
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        let mut n = 0;
        let r = unsafe { ferrotls_conn_read(self.conn, buf.as_mut_ptr(), buf.len(), &mut n) };
        match r {
            FERROTLS_OK => Ok(n),
            FERROTLS_CLOSED => Ok(0),
            r => ok(r, "read").map(|_| 0),
        }
    }

    fn close(&mut self) -> Result<(), String> {
        ok(unsafe { ferrotls_conn_close(self.conn) }, "close")
    }

    fn socket(&self) -> &TcpStream {
        &self.sock
    }
}
