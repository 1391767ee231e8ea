//! The zero-copy record path through the C ABI: `ferrotls_conn_write_reserve` /
//! `_write_commit` (and `_write_commit_more`) in fd mode over a non-blocking socket pair with tiny socket buffers (short
//! sends and receives everywhere), and `ferrotls_conn_feed_reserve` / `_feed_commit` in
//! sans-IO mode, with the misuse errors.

use std::ffi::CStr;
use std::ptr::null_mut;

use ferrotls::ffi::*;

fn detail() -> String {
    // SAFETY: the library returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(ferrotls_last_error_detail()) }
        .to_string_lossy()
        .into_owned()
}

fn config(role: u32) -> *mut ferrotls_config {
    let mut b = null_mut();
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/examples-c/certs/");
    // SAFETY: valid out-params, NUL-terminated paths, live builder.
    unsafe {
        assert_eq!(ferrotls_config_builder_new(role, &mut b), FERROTLS_OK);
        let r = if role == FERROTLS_ROLE_CLIENT {
            let ca = std::ffi::CString::new(format!("{certs}ca.pem")).unwrap();
            ferrotls_config_builder_add_roots_file(b, ca.as_ptr())
        } else {
            let cert = std::ffi::CString::new(format!("{certs}server.pem")).unwrap();
            let key = std::ffi::CString::new(format!("{certs}server.key")).unwrap();
            ferrotls_config_builder_add_cert_key_file(b, cert.as_ptr(), key.as_ptr())
        };
        assert_eq!(r, FERROTLS_OK, "{}", detail());
        let mut c = null_mut();
        assert_eq!(ferrotls_config_builder_build(b, &mut c), FERROTLS_OK);
        ferrotls_config_builder_free(b);
        c
    }
}

fn conns() -> (
    *mut ferrotls_config,
    *mut ferrotls_config,
    *mut ferrotls_conn,
    *mut ferrotls_conn,
) {
    let (cc, sc) = (config(FERROTLS_ROLE_CLIENT), config(FERROTLS_ROLE_SERVER));
    let (mut c, mut s) = (null_mut(), null_mut());
    // SAFETY: live configs, valid out-params.
    unsafe {
        assert_eq!(
            ferrotls_conn_new_client(cc, c"localhost".as_ptr(), &mut c),
            FERROTLS_OK
        );
        assert_eq!(ferrotls_conn_new_server(sc, &mut s), FERROTLS_OK);
    }
    (cc, sc, c, s)
}

fn ok_or_want(r: ferrotls_result) -> bool {
    r == FERROTLS_OK || r == FERROTLS_WANT_READ || r == FERROTLS_WANT_WRITE
}

#[test]
fn fd_mode_zero_copy_writes_over_tiny_nonblocking_socket_buffers() {
    let mut fds = [0; 2];
    // SAFETY: valid array of two ints; the options are ints of the right size.
    unsafe {
        assert_eq!(
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()),
            0
        );
        for fd in fds {
            let small: libc::c_int = 2048;
            for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    (&small as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
    let (cc, sc, c, s) = conns();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 13 + i / 509) as u8).collect();
    let mut got = Vec::new();
    let mut sent = 0;
    let mut buf = vec![0u8; 7000];
    let mut rounds = 0;
    // SAFETY: live handles; the sockets stay open until after the connections are freed;
    // every pointer the library returns is used only before the next call on its connection.
    unsafe {
        assert_eq!(ferrotls_conn_set_fd(c, fds[0]), FERROTLS_OK);
        assert_eq!(ferrotls_conn_set_fd(s, fds[1]), FERROTLS_OK);
        // In fd mode the library receives into its own buffer; the sans-IO calls say so.
        let (mut p, mut cap) = (null_mut(), 0);
        assert_eq!(
            ferrotls_conn_feed_reserve(s, &mut p, &mut cap),
            FERROTLS_ERR_WRONG_STATE
        );
        assert!(detail().contains("sans-IO"), "{}", detail());
        while got.len() < data.len() {
            rounds += 1;
            assert!(
                rounds < 1_000_000,
                "no progress: sent {sent}, got {}",
                got.len()
            );
            if sent < data.len() {
                let (mut p, mut cap) = (null_mut(), 0usize);
                // Odd sizes, so records and socket writes never line up.
                let want = (data.len() - sent).min(3001 + rounds % 9000);
                let r = ferrotls_conn_write_reserve(c, want, &mut p, &mut cap);
                assert!(ok_or_want(r), "reserve: {r} {}", detail());
                if r == FERROTLS_OK && cap > 0 {
                    let room = std::slice::from_raw_parts_mut(p, cap);
                    room.copy_from_slice(&data[sent..sent + cap]);
                    // Every third record waits for the ones after it (the flush below sends
                    // what the last of them left).
                    let r = if rounds % 3 == 0 {
                        ferrotls_conn_write_commit_more(c, cap)
                    } else {
                        ferrotls_conn_write_commit(c, cap)
                    };
                    assert_eq!(r, FERROTLS_OK, "{}", detail());
                    sent += cap;
                }
            } else {
                let r = ferrotls_conn_flush(c);
                assert!(ok_or_want(r), "flush: {r} {}", detail());
            }
            let mut n = 0;
            let r = ferrotls_conn_read(s, buf.as_mut_ptr(), buf.len(), &mut n);
            assert!(ok_or_want(r), "read: {r} {}", detail());
            got.extend_from_slice(&buf[..n]);
            // The client must also read (the server's tickets) for its handshake to finish.
            let r = ferrotls_conn_read(c, buf.as_mut_ptr(), buf.len(), &mut n);
            assert!(ok_or_want(r), "client read: {r} {}", detail());
        }
        assert!(got == data, "bytes differ");
        ferrotls_conn_free(c);
        ferrotls_conn_free(s);
        ferrotls_config_free(cc);
        ferrotls_config_free(sc);
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
}

/// Move `a`'s waiting ciphertext into `b` through `ferrotls_conn_feed_reserve`/`_commit`, in
/// receives of at most `chunk` bytes.
unsafe fn pass(a: *mut ferrotls_conn, b: *mut ferrotls_conn, chunk: usize) {
    loop {
        let (mut out, mut len) = (std::ptr::null(), 0);
        // SAFETY: live handles; pointers used before the next call on their connection.
        unsafe {
            assert_eq!(
                ferrotls_conn_peek_outgoing(a, &mut out, &mut len),
                FERROTLS_OK
            );
            if len == 0 {
                return;
            }
            let (mut p, mut cap) = (null_mut(), 0);
            assert_eq!(ferrotls_conn_feed_reserve(b, &mut p, &mut cap), FERROTLS_OK);
            let n = len.min(cap).min(chunk);
            if n == 0 {
                return;
            }
            std::ptr::copy_nonoverlapping(out, p, n);
            assert_eq!(ferrotls_conn_consume_outgoing(a, n), FERROTLS_OK);
            assert_eq!(ferrotls_conn_feed_commit(b, n), FERROTLS_OK, "{}", detail());
        }
    }
}

#[test]
fn sans_io_zero_copy_both_ways_and_misuse() {
    let (cc, sc, c, s) = conns();
    // SAFETY: live handles; pointers used before the next call on their connection.
    unsafe {
        for _ in 0..10 {
            pass(c, s, 1000);
            pass(s, c, 1000);
        }
        assert_eq!(ferrotls_conn_handshake(c), FERROTLS_OK, "{}", detail());
        assert_eq!(ferrotls_conn_handshake(s), FERROTLS_OK, "{}", detail());
        // Misuse: commit beyond the reservation, and without one.
        let (mut p, mut cap) = (null_mut(), 0);
        assert_eq!(
            ferrotls_conn_write_reserve(c, 10, &mut p, &mut cap),
            FERROTLS_OK
        );
        assert_eq!(cap, 10);
        std::ptr::copy_nonoverlapping(b"0123456789".as_ptr(), p, 10);
        assert_eq!(ferrotls_conn_write_commit(c, 11), FERROTLS_ERR_WRONG_STATE);
        assert!(detail().contains("only 10 were reserved"), "{}", detail());
        assert_eq!(ferrotls_conn_write_commit(c, 10), FERROTLS_OK);
        assert_eq!(ferrotls_conn_write_commit(c, 1), FERROTLS_ERR_WRONG_STATE);
        assert_eq!(
            ferrotls_conn_feed_reserve(s, null_mut(), &mut cap),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(ferrotls_conn_feed_reserve(s, &mut p, &mut cap), FERROTLS_OK);
        assert_eq!(
            ferrotls_conn_feed_commit(s, cap + 1),
            FERROTLS_ERR_WRONG_STATE
        );
        pass(c, s, usize::MAX);
        let (mut view, mut len) = (std::ptr::null(), 0);
        assert_eq!(
            ferrotls_conn_peek_plaintext(s, &mut view, &mut len),
            FERROTLS_OK
        );
        assert_eq!(std::slice::from_raw_parts(view, len), b"0123456789");
        assert_eq!(ferrotls_conn_consume_plaintext(s, len), FERROTLS_OK);
        // A tampered record received in place: bad_record_mac, sticky.
        assert_eq!(
            ferrotls_conn_write_reserve(c, 4, &mut p, &mut cap),
            FERROTLS_OK
        );
        std::ptr::copy_nonoverlapping(b"evil".as_ptr(), p, 4);
        assert_eq!(ferrotls_conn_write_commit(c, 4), FERROTLS_OK);
        let (mut out, mut olen) = (std::ptr::null(), 0);
        assert_eq!(
            ferrotls_conn_peek_outgoing(c, &mut out, &mut olen),
            FERROTLS_OK
        );
        let mut wire = std::slice::from_raw_parts(out, olen).to_vec();
        wire[8] ^= 0x40;
        assert_eq!(ferrotls_conn_feed_reserve(s, &mut p, &mut cap), FERROTLS_OK);
        std::ptr::copy_nonoverlapping(wire.as_ptr(), p, wire.len());
        let r = ferrotls_conn_feed_commit(s, wire.len());
        assert!(r != FERROTLS_OK, "a tampered record was accepted");
        assert!(detail().contains("bad_record_mac"), "{}", detail());
        assert_eq!(ferrotls_conn_error(s), r);
        ferrotls_conn_free(c);
        ferrotls_conn_free(s);
        ferrotls_config_free(cc);
        ferrotls_config_free(sc);
    }
}

/// A connection handle moved to the server thread (used by that thread alone).
struct Handle(*mut ferrotls_conn);
// SAFETY: a connection may move between threads; one thread uses it at a time.
unsafe impl Send for Handle {}

/// `ferrotls_conn_write_commit_more` in fd mode holds records back and sends them together:
/// nothing leaves while a burst is committed with it (the outgoing buffer holds all of it,
/// the peer has nothing to receive), `ferrotls_conn_write_reserve` sends them once the buffer
/// has no room for another record, and a closing `ferrotls_conn_write_commit` sends the
/// rest. Every byte arrives, in order.
#[test]
fn fd_mode_commit_more_sends_records_together() {
    let mut fds = [0; 2];
    // SAFETY: valid array of two ints.
    assert_eq!(
        unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) },
        0
    );
    let (cc, sc, c, s) = conns();
    let data: Vec<u8> = (0..600_000u32).map(|i| (i * 11 + i / 331) as u8).collect();
    let server = {
        let (s, fd, len) = (Handle(s), fds[1], data.len());
        std::thread::spawn(move || {
            let s = s;
            let mut got = Vec::new();
            let mut buf = vec![0u8; 20_000];
            // SAFETY: the server's handle is used by this thread alone; blocking socket.
            unsafe {
                assert_eq!(ferrotls_conn_set_fd(s.0, fd), FERROTLS_OK);
                assert_eq!(ferrotls_conn_handshake(s.0), FERROTLS_OK, "{}", detail());
                while got.len() < len {
                    let mut n = 0;
                    let r = ferrotls_conn_read(s.0, buf.as_mut_ptr(), buf.len(), &mut n);
                    assert_eq!(r, FERROTLS_OK, "server read: {}", detail());
                    got.extend_from_slice(&buf[..n]);
                }
            }
            (s, got)
        })
    };
    // SAFETY: the client's handle is used by this thread alone; pointers the library
    // returns are used before the next call on the connection; blocking socket.
    unsafe {
        assert_eq!(ferrotls_conn_set_fd(c, fds[0]), FERROTLS_OK);
        assert_eq!(ferrotls_conn_handshake(c), FERROTLS_OK, "{}", detail());
        let mut sent = 0;
        let mut held_max = 0;
        while sent < data.len() {
            let (mut p, mut cap) = (null_mut(), 0usize);
            let before = ferrotls_conn_outgoing_len(c);
            let r = ferrotls_conn_write_reserve(c, data.len() - sent, &mut p, &mut cap);
            assert_eq!(r, FERROTLS_OK, "reserve: {}", detail());
            assert!(cap > 0, "no room on a blocking socket");
            if ferrotls_conn_outgoing_len(c) < before {
                // The reserve sent the held records: only when another would not fit.
                assert!(before > 16_384, "sent early, with {before} bytes held");
            }
            std::ptr::copy_nonoverlapping(data[sent..].as_ptr(), p, cap);
            let last = sent + cap == data.len();
            let r = if last {
                ferrotls_conn_write_commit(c, cap)
            } else {
                ferrotls_conn_write_commit_more(c, cap)
            };
            assert_eq!(r, FERROTLS_OK, "{}", detail());
            sent += cap;
            let held = ferrotls_conn_outgoing_len(c);
            if !last {
                assert!(held > 0, "a record committed with _more was sent at once");
            }
            held_max = held_max.max(held);
        }
        assert_eq!(ferrotls_conn_outgoing_len(c), 0, "the last commit sent all");
        assert!(
            held_max >= 2 * 16_384,
            "records were not held together: {held_max}"
        );
    }
    let (s, got) = server.join().unwrap();
    assert!(got == data, "bytes differ");
    // SAFETY: both threads are done with the handles.
    unsafe {
        ferrotls_conn_free(c);
        ferrotls_conn_free(s.0);
        ferrotls_config_free(cc);
        ferrotls_config_free(sc);
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
}
