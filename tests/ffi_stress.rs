//! Threads against the C ABI: workers share one config (immutable, refcounted) and run their
//! own handshakes, while hammer threads call into ONE connection at once, which must answer
//! FERROTLS_ERR_CONCURRENT_USE or succeed — never crash or race. `scripts/tsan.sh` runs this
//! file with the whole crate instrumented by ThreadSanitizer.

use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrotls::ffi::*;

const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples-c/certs/");

fn config(role: u32) -> usize {
    let mut b = null_mut();
    let mut cfg = null_mut();
    // SAFETY: valid out-params, NUL-terminated paths, handles used once and freed once.
    unsafe {
        assert_eq!(ferrotls_config_builder_new(role, &mut b), FERROTLS_OK);
        let r = if role == FERROTLS_ROLE_CLIENT {
            let ca = std::ffi::CString::new(format!("{CERTS}ca.pem")).unwrap();
            ferrotls_config_builder_add_roots_file(b, ca.as_ptr())
        } else {
            let cert = std::ffi::CString::new(format!("{CERTS}server.pem")).unwrap();
            let key = std::ffi::CString::new(format!("{CERTS}server.key")).unwrap();
            ferrotls_config_builder_add_cert_key_file(b, cert.as_ptr(), key.as_ptr())
        };
        assert_eq!(r, FERROTLS_OK);
        // Under ThreadSanitizer the standard library is not instrumented (rust-src cannot be
        // fetched here), so a std Mutex's lock is invisible to it and the caches behind one
        // would be reported as races that are not there. Turn them off for this test; they
        // are exercised by the AddressSanitizer stress (tests/c/stress.c) and the soak.
        if std::env::var_os("FERROTLS_TSAN").is_some() {
            assert_eq!(ferrotls_config_builder_set_session_cache(b, 0), FERROTLS_OK);
            assert_eq!(
                ferrotls_config_builder_set_verified_chain_cache(b, false),
                FERROTLS_OK
            );
            if role == FERROTLS_ROLE_SERVER {
                assert_eq!(ferrotls_config_builder_set_tls13_tickets(b, 0), FERROTLS_OK);
            }
        }
        assert_eq!(ferrotls_config_builder_build(b, &mut cfg), FERROTLS_OK);
        ferrotls_config_builder_free(b);
    }
    cfg as usize
}

/// Move pending ciphertext from `a` to `b`.
///
/// # Safety
/// Both are live connections used by this thread only.
unsafe fn pump(a: *mut ferrotls_conn, b: *mut ferrotls_conn) -> bool {
    // SAFETY: forwarded.
    unsafe {
        while ferrotls_conn_outgoing_len(a) > 0 {
            let (mut p, mut n, mut used) = (std::ptr::null(), 0usize, 0usize);
            if ferrotls_conn_peek_outgoing(a, &mut p, &mut n) != FERROTLS_OK {
                return false;
            }
            let r = ferrotls_conn_feed(b, p, n, &mut used);
            if r != FERROTLS_OK || used == 0 {
                return false;
            }
            ferrotls_conn_consume_outgoing(a, used);
        }
    }
    true
}

#[test]
fn shared_config_and_contended_connection() {
    let client_cfg = config(FERROTLS_ROLE_CLIENT);
    let server_cfg = config(FERROTLS_ROLE_SERVER);
    let failures = std::sync::Arc::new(AtomicUsize::new(0));
    let busy = std::sync::Arc::new(AtomicUsize::new(0));
    let mut shared = null_mut();
    // SAFETY: live config, valid out-param.
    assert_eq!(
        unsafe { ferrotls_conn_new_server(server_cfg as *const _, &mut shared) },
        FERROTLS_OK
    );
    let shared = shared as usize;

    let mut threads = Vec::new();
    for _ in 0..4 {
        let failures = failures.clone();
        threads.push(std::thread::spawn(move || {
            for _ in 0..10 {
                // SAFETY: configs live until every thread is joined; connections are ours.
                unsafe {
                    let mine = ferrotls_config_clone(client_cfg as *const _);
                    let (mut c, mut s) = (null_mut(), null_mut());
                    assert_eq!(
                        ferrotls_conn_new_client(mine, c"localhost".as_ptr(), &mut c),
                        FERROTLS_OK
                    );
                    assert_eq!(
                        ferrotls_conn_new_server(server_cfg as *const _, &mut s),
                        FERROTLS_OK
                    );
                    ferrotls_config_free(mine);
                    let mut ok = false;
                    for _ in 0..10 {
                        if !pump(c, s) || !pump(s, c) {
                            break;
                        }
                        if ferrotls_conn_wants(c) & FERROTLS_WANTS_HANDSHAKING == 0
                            && ferrotls_conn_wants(s) & FERROTLS_WANTS_HANDSHAKING == 0
                        {
                            ok = true;
                            break;
                        }
                    }
                    let (mut acc, mut got) = (0usize, 0usize);
                    let mut buf = [0u8; 16];
                    if !ok
                        || ferrotls_conn_write(c, b"ping".as_ptr(), 4, &mut acc) != FERROTLS_OK
                        || !pump(c, s)
                        || ferrotls_conn_read(s, buf.as_mut_ptr(), buf.len(), &mut got)
                            != FERROTLS_OK
                        || &buf[..got] != b"ping"
                    {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    ferrotls_conn_close(c);
                    ferrotls_conn_close(c); // answered, not a crash
                    ferrotls_conn_free(c);
                    ferrotls_conn_free(s);
                }
            }
        }));
    }
    for t in 0..4 {
        let (failures, busy) = (failures.clone(), busy.clone());
        threads.push(std::thread::spawn(move || {
            let conn = shared as *mut ferrotls_conn;
            let mut buf = [0u8; 256];
            for i in 0..3000 {
                let mut n = 0usize;
                // SAFETY: the shared connection lives until every thread is joined.
                let r = unsafe {
                    match (i + t) % 5 {
                        0 => ferrotls_conn_feed(conn, [0x16u8, 3, 3, 0].as_ptr(), 4, &mut n),
                        1 => ferrotls_conn_read(conn, buf.as_mut_ptr(), buf.len(), &mut n),
                        2 => ferrotls_conn_write(conn, b"x".as_ptr(), 1, &mut n),
                        3 => ferrotls_conn_take_outgoing(conn, buf.as_mut_ptr(), buf.len(), &mut n),
                        _ => {
                            let _ = ferrotls_conn_error_detail(conn);
                            ferrotls_conn_error(conn)
                        }
                    }
                };
                if r == FERROTLS_ERR_CONCURRENT_USE {
                    busy.fetch_add(1, Ordering::Relaxed);
                } else if r == FERROTLS_ERR_PANIC || r == FERROTLS_ERR_INTERNAL {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    // SAFETY: every thread is done; each handle is freed once.
    unsafe {
        ferrotls_conn_free(shared as *mut _);
        ferrotls_config_free(client_cfg as *mut _);
        ferrotls_config_free(server_cfg as *mut _);
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    eprintln!(
        "concurrent calls refused with CONCURRENT_USE: {}",
        busy.load(Ordering::Relaxed)
    );
}
