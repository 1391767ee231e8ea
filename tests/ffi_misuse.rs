//! Misuse of the C ABI, called from Rust: NULLs, wrong handle types, wrong roles, bad input,
//! and the result-code tables. Written to stay valid with the real engine (nothing here
//! depends on a handshake outcome).

use std::ffi::{CStr, c_char, c_void};
use std::ptr::{null, null_mut};

use ferrotls::ffi::*;

fn s(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library returns NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

fn detail() -> String {
    s(ferrotls_last_error_detail())
}

fn builder(role: u32) -> *mut ferrotls_config_builder {
    let mut b = null_mut();
    // SAFETY: valid out-param.
    assert_eq!(
        unsafe { ferrotls_config_builder_new(role, &mut b) },
        FERROTLS_OK
    );
    assert!(!b.is_null());
    b
}

/// A buildable configuration: the demo CA for clients, the demo certificate for servers.
fn config(role: u32) -> *mut ferrotls_config {
    let b = builder(role);
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/examples-c/certs/");
    let r = if role == FERROTLS_ROLE_CLIENT {
        let ca = std::ffi::CString::new(format!("{certs}ca.pem")).unwrap();
        // SAFETY: live builder, NUL-terminated path.
        unsafe { ferrotls_config_builder_add_roots_file(b, ca.as_ptr()) }
    } else {
        let cert = std::ffi::CString::new(format!("{certs}server.pem")).unwrap();
        let key = std::ffi::CString::new(format!("{certs}server.key")).unwrap();
        // SAFETY: live builder, NUL-terminated paths.
        unsafe { ferrotls_config_builder_add_cert_key_file(b, cert.as_ptr(), key.as_ptr()) }
    };
    assert_eq!(r, FERROTLS_OK, "{}", detail());
    let mut c = null_mut();
    // SAFETY: live builder, valid out-param.
    let r = unsafe { ferrotls_config_builder_build(b, &mut c) };
    // SAFETY: live builder.
    unsafe { ferrotls_config_builder_free(b) };
    assert_eq!(r, FERROTLS_OK, "{}", detail());
    c
}

fn client_conn() -> (*mut ferrotls_config, *mut ferrotls_conn) {
    let cfg = config(FERROTLS_ROLE_CLIENT);
    let mut conn = null_mut();
    // SAFETY: live config, NUL-terminated name, valid out-param.
    let r = unsafe { ferrotls_conn_new_client(cfg, c"localhost".as_ptr(), &mut conn) };
    assert_eq!(r, FERROTLS_OK, "{}", detail());
    (cfg, conn)
}

#[test]
fn free_null_is_a_noop() {
    // SAFETY: NULL is explicitly allowed.
    unsafe {
        ferrotls_config_builder_free(null_mut());
        ferrotls_config_free(null_mut());
        ferrotls_conn_free(null_mut());
    }
}

#[test]
fn null_arguments() {
    // SAFETY: every pointer is NULL or valid; NULLs must be rejected, not dereferenced.
    unsafe {
        assert_eq!(
            ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(detail().contains("'out'"), "{}", detail());

        assert_eq!(
            ferrotls_config_builder_set_versions(null_mut(), 0, 0),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(detail().contains("'builder'"), "{}", detail());

        let b = builder(FERROTLS_ROLE_CLIENT);
        assert_eq!(
            ferrotls_config_builder_set_cipher_list(b, null()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(detail().contains("'list'"), "{}", detail());
        assert_eq!(
            ferrotls_config_builder_add_roots_pem(b, null(), 5),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(detail().contains("'pem'"), "{}", detail());
        assert_eq!(
            ferrotls_config_builder_add_roots_file(b, null()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ferrotls_config_builder_build(b, null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        ferrotls_config_builder_free(b);

        let mut conn = std::ptr::dangling_mut::<ferrotls_conn>();
        assert_eq!(
            ferrotls_conn_new_client(null(), null(), &mut conn),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(conn.is_null(), "out-param must be NULL on failure");
        assert!(detail().contains("'config'"), "{}", detail());

        let mut n = 7usize;
        assert_eq!(
            ferrotls_conn_feed(null_mut(), null(), 0, &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(n, 0, "count out-param must be 0 on failure");
        assert_eq!(
            ferrotls_conn_handshake(null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(ferrotls_conn_error(null()), FERROTLS_ERR_NULL_ARGUMENT);
        assert_eq!(ferrotls_conn_outgoing_len(null()), 0);
        assert_eq!(ferrotls_conn_wants(null()), 0);
        assert!(ferrotls_conn_version_name(null()).is_null());
        assert!(ferrotls_conn_get_userdata(null()).is_null());
        assert!(ferrotls_config_clone(null()).is_null());
        assert_eq!(s(ferrotls_conn_error_detail(null())), "");

        let (cfg, conn) = client_conn();
        let mut n = 9usize;
        assert_eq!(
            ferrotls_conn_feed(conn, null(), 3, &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(n, 0);
        assert!(detail().contains("'data'"), "{}", detail());
        assert_eq!(
            ferrotls_conn_feed(conn, null(), 0, null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(detail().contains("'consumed'"), "{}", detail());
        assert_eq!(
            ferrotls_conn_read(conn, null_mut(), 16, &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ferrotls_conn_peek_outgoing(conn, null_mut(), &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ferrotls_conn_alpn(conn, null_mut(), &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        let mut p: *const u8 = std::ptr::dangling::<u8>();
        assert_eq!(
            ferrotls_conn_peer_cert(conn, 0, &mut p, null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert!(p.is_null(), "pointer out-param must be NULL on failure");
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
    }
}

#[test]
fn wrong_handle_type() {
    let cfg = config(FERROTLS_ROLE_CLIENT);
    let b = builder(FERROTLS_ROLE_CLIENT);
    // SAFETY: the pointers are live handles of the wrong type; the tag check must reject them.
    unsafe {
        let as_conn = cfg.cast::<ferrotls_conn>();
        assert_eq!(
            ferrotls_conn_handshake(as_conn),
            FERROTLS_ERR_WRONG_HANDLE_TYPE
        );
        let d = detail();
        assert!(
            d.contains("ferrotls_conn") && d.contains("ferrotls_config"),
            "{d}"
        );
        assert_eq!(ferrotls_conn_error(as_conn), FERROTLS_ERR_WRONG_HANDLE_TYPE);
        assert_eq!(ferrotls_conn_outgoing_len(as_conn), 0);

        let mut conn = null_mut();
        assert_eq!(
            ferrotls_conn_new_client(b.cast::<ferrotls_config>(), null(), &mut conn),
            FERROTLS_ERR_WRONG_HANDLE_TYPE
        );
        assert!(conn.is_null());
        assert_eq!(
            ferrotls_config_builder_set_buffer_limit(cfg.cast::<ferrotls_config_builder>(), 1),
            FERROTLS_ERR_WRONG_HANDLE_TYPE
        );
        // Freeing with the wrong function is rejected too (and leaves the handle alive).
        ferrotls_conn_free(as_conn);
        assert_eq!(ferrotls_config_role(cfg), FERROTLS_ROLE_CLIENT);

        ferrotls_config_builder_free(b);
        ferrotls_config_free(cfg);
    }
}

#[test]
fn config_refcounting() {
    let cfg = config(FERROTLS_ROLE_SERVER);
    // SAFETY: live handles, each freed once.
    unsafe {
        let c2 = ferrotls_config_clone(cfg);
        assert!(!c2.is_null());
        ferrotls_config_free(cfg);
        assert_eq!(ferrotls_config_role(c2), FERROTLS_ROLE_SERVER);
        let mut conn = null_mut();
        assert_eq!(
            ferrotls_conn_new_server(c2, &mut conn),
            FERROTLS_OK,
            "{}",
            detail()
        );
        ferrotls_config_free(c2);
        // The connection keeps its own reference.
        assert_eq!(ferrotls_conn_error(conn), FERROTLS_OK);
        assert_eq!(s(ferrotls_conn_error_detail(conn)), "");
        ferrotls_conn_free(conn);
    }
}

#[test]
fn wrong_role() {
    // SAFETY: live handles and valid out-params.
    unsafe {
        let client = builder(FERROTLS_ROLE_CLIENT);
        assert_eq!(
            ferrotls_config_builder_set_tls13_tickets(client, 2),
            FERROTLS_ERR_WRONG_ROLE
        );
        assert_eq!(
            ferrotls_config_builder_set_verify(client, FERROTLS_VERIFY_REQUIRE_CLIENT_CERT),
            FERROTLS_ERR_WRONG_ROLE
        );
        assert!(detail().contains("client"), "{}", detail());
        assert_eq!(
            ferrotls_config_builder_set_verify(client, 77),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        ferrotls_config_builder_free(client);

        let server = builder(FERROTLS_ROLE_SERVER);
        assert_eq!(
            ferrotls_config_builder_set_verify(server, FERROTLS_VERIFY_DANGEROUS_NO_VERIFY),
            FERROTLS_ERR_WRONG_ROLE
        );
        ferrotls_config_builder_free(server);

        let scfg = config(FERROTLS_ROLE_SERVER);
        let mut conn = null_mut();
        assert_eq!(
            ferrotls_conn_new_client(scfg, c"x.test".as_ptr(), &mut conn),
            FERROTLS_ERR_WRONG_ROLE
        );
        assert!(conn.is_null());
        ferrotls_config_free(scfg);
        let ccfg = config(FERROTLS_ROLE_CLIENT);
        assert_eq!(
            ferrotls_conn_new_server(ccfg, &mut conn),
            FERROTLS_ERR_WRONG_ROLE
        );
        ferrotls_config_free(ccfg);

        let mut b = null_mut();
        assert_eq!(
            ferrotls_config_builder_new(0, &mut b),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        assert!(b.is_null());
    }
}

#[test]
fn invalid_arguments() {
    let b = builder(FERROTLS_ROLE_CLIENT);
    // SAFETY: live builder; slices are valid for their lengths.
    unsafe {
        assert_eq!(
            ferrotls_config_builder_set_versions(b, 0x0301, 0),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        assert!(detail().contains("0x0301"), "{}", detail());
        assert_eq!(
            ferrotls_config_builder_set_versions(b, 0x0304, 0x0303),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        let bad_alpn = b"\x05h2";
        assert_eq!(
            ferrotls_config_builder_set_alpn(b, bad_alpn.as_ptr(), bad_alpn.len()),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        let bad_utf8 = [0xffu8, 0];
        assert_eq!(
            ferrotls_config_builder_set_alpn_list(b, bad_utf8.as_ptr().cast()),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        ferrotls_config_builder_free(b);
    }
}

#[test]
fn bad_pem_is_rejected_with_a_detail() {
    let b = builder(FERROTLS_ROLE_CLIENT);
    let junk = b"this is not PEM";
    // SAFETY: live builder, valid slices.
    unsafe {
        let r = ferrotls_config_builder_add_roots_pem(b, junk.as_ptr(), junk.len());
        assert_ne!(r, FERROTLS_OK);
        let d = detail();
        assert!(!d.is_empty());
        if d != "stub" {
            assert_eq!(r, FERROTLS_ERR_PEM, "{d}");
        }
        let r = ferrotls_config_builder_add_cert_key_pem(
            b,
            junk.as_ptr(),
            junk.len(),
            junk.as_ptr(),
            junk.len(),
        );
        assert_ne!(r, FERROTLS_OK);
        assert!(!detail().is_empty());
        ferrotls_config_builder_free(b);
    }
}

#[test]
fn result_tables_cover_every_code() {
    let fixed: &[(u32, &str, u32)] = &[
        (FERROTLS_OK, "FERROTLS_OK", FERROTLS_CATEGORY_OK),
        (
            FERROTLS_WANT_READ,
            "FERROTLS_WANT_READ",
            FERROTLS_CATEGORY_WANT,
        ),
        (
            FERROTLS_WANT_WRITE,
            "FERROTLS_WANT_WRITE",
            FERROTLS_CATEGORY_WANT,
        ),
        (FERROTLS_CLOSED, "FERROTLS_CLOSED", FERROTLS_CATEGORY_CLOSED),
        (4, "FERROTLS_PEER_AUTHENTICATED", FERROTLS_CATEGORY_OK),
        (100, "FERROTLS_ERR_NULL_ARGUMENT", FERROTLS_CATEGORY_USAGE),
        (
            101,
            "FERROTLS_ERR_INVALID_ARGUMENT",
            FERROTLS_CATEGORY_USAGE,
        ),
        (102, "FERROTLS_ERR_WRONG_ROLE", FERROTLS_CATEGORY_USAGE),
        (103, "FERROTLS_ERR_WRONG_STATE", FERROTLS_CATEGORY_USAGE),
        (
            104,
            "FERROTLS_ERR_BUFFER_TOO_SMALL",
            FERROTLS_CATEGORY_USAGE,
        ),
        (105, "FERROTLS_ERR_CONCURRENT_USE", FERROTLS_CATEGORY_USAGE),
        (106, "FERROTLS_ERR_NOT_FOUND", FERROTLS_CATEGORY_USAGE),
        (
            107,
            "FERROTLS_ERR_WRONG_HANDLE_TYPE",
            FERROTLS_CATEGORY_USAGE,
        ),
        (200, "FERROTLS_ERR_IO", FERROTLS_CATEGORY_IO),
        (201, "FERROTLS_ERR_UNEXPECTED_EOF", FERROTLS_CATEGORY_IO),
        (300, "FERROTLS_ERR_DECODE", FERROTLS_CATEGORY_PROTOCOL),
        (
            301,
            "FERROTLS_ERR_UNEXPECTED_MESSAGE",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            302,
            "FERROTLS_ERR_ILLEGAL_PARAMETER",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            303,
            "FERROTLS_ERR_BAD_RECORD_MAC",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            304,
            "FERROTLS_ERR_RECORD_OVERFLOW",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            305,
            "FERROTLS_ERR_DECRYPT_ERROR",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            306,
            "FERROTLS_ERR_NO_SHARED_VERSION",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            307,
            "FERROTLS_ERR_NO_SHARED_CIPHER",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            308,
            "FERROTLS_ERR_NO_SHARED_GROUP",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            309,
            "FERROTLS_ERR_NO_SHARED_SIGNATURE_SCHEME",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            310,
            "FERROTLS_ERR_NO_ALPN_MATCH",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            311,
            "FERROTLS_ERR_HANDSHAKE_FAILURE",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            312,
            "FERROTLS_ERR_MISSING_EXTENSION",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            313,
            "FERROTLS_ERR_UNSUPPORTED_EXTENSION",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            314,
            "FERROTLS_ERR_INAPPROPRIATE_FALLBACK",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            315,
            "FERROTLS_ERR_LIMIT_EXCEEDED",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            316,
            "FERROTLS_ERR_NO_RENEGOTIATION",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (
            317,
            "FERROTLS_ERR_CERTIFICATE_REQUIRED",
            FERROTLS_CATEGORY_PROTOCOL,
        ),
        (400, "FERROTLS_ERR_CERT_EXPIRED", FERROTLS_CATEGORY_CERT),
        (
            401,
            "FERROTLS_ERR_CERT_NOT_YET_VALID",
            FERROTLS_CATEGORY_CERT,
        ),
        (
            402,
            "FERROTLS_ERR_CERT_UNKNOWN_ISSUER",
            FERROTLS_CATEGORY_CERT,
        ),
        (
            403,
            "FERROTLS_ERR_CERT_NAME_MISMATCH",
            FERROTLS_CATEGORY_CERT,
        ),
        (
            404,
            "FERROTLS_ERR_CERT_BAD_SIGNATURE",
            FERROTLS_CATEGORY_CERT,
        ),
        (
            405,
            "FERROTLS_ERR_CERT_BAD_ENCODING",
            FERROTLS_CATEGORY_CERT,
        ),
        (
            406,
            "FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM",
            FERROTLS_CATEGORY_CERT,
        ),
        (
            407,
            "FERROTLS_ERR_CERT_INVALID_PURPOSE",
            FERROTLS_CATEGORY_CERT,
        ),
        (408, "FERROTLS_ERR_CERT_NOT_CA", FERROTLS_CATEGORY_CERT),
        (409, "FERROTLS_ERR_CERT_REVOKED", FERROTLS_CATEGORY_CERT),
        (410, "FERROTLS_ERR_CERT_MISSING", FERROTLS_CATEGORY_CERT),
        (411, "FERROTLS_ERR_CERT_OTHER", FERROTLS_CATEGORY_CERT),
        (500, "FERROTLS_ERR_CONFIG", FERROTLS_CATEGORY_CONFIG),
        (501, "FERROTLS_ERR_PEM", FERROTLS_CATEGORY_CONFIG),
        (502, "FERROTLS_ERR_KEY", FERROTLS_CATEGORY_CONFIG),
        (503, "FERROTLS_ERR_FILE", FERROTLS_CATEGORY_CONFIG),
        (900, "FERROTLS_ERR_INTERNAL", FERROTLS_CATEGORY_INTERNAL),
        (901, "FERROTLS_ERR_PANIC", FERROTLS_CATEGORY_INTERNAL),
    ];
    let mut named = 0;
    for code in 0..1300u32 {
        let name = s(ferrotls_result_name(code));
        let msg = s(ferrotls_result_message(code));
        let cat = ferrotls_result_category(code);
        assert!(!msg.is_empty() && msg.ends_with('.'), "{code}: {msg}");
        match fixed.iter().find(|(c, _, _)| *c == code) {
            Some((_, want_name, want_cat)) => {
                named += 1;
                assert_eq!(name, *want_name, "{code}");
                assert_eq!(cat, *want_cat, "{code}");
            }
            None if (1000..=1255).contains(&code) => {
                assert_eq!(name, "FERROTLS_ERR_ALERT_RECEIVED");
                assert_eq!(cat, FERROTLS_CATEGORY_ALERT);
            }
            None => {
                assert_eq!(name, "FERROTLS_ERR_UNKNOWN", "{code}");
                assert_eq!(cat, FERROTLS_CATEGORY_INTERNAL, "{code}");
            }
        }
    }
    assert_eq!(named, fixed.len());
    assert_eq!(
        s(ferrotls_result_message(1040)),
        "The peer sent a fatal handshake_failure alert (40)."
    );
    assert_eq!(s(ferrotls_result_name(u32::MAX)), "FERROTLS_ERR_UNKNOWN");
}

#[test]
fn userdata_and_getters_before_handshake() {
    let (cfg, conn) = client_conn();
    let mut marker = 5u8;
    // SAFETY: live handles; out-params valid.
    unsafe {
        ferrotls_conn_set_userdata(conn, (&mut marker as *mut u8).cast::<c_void>());
        assert_eq!(
            ferrotls_conn_get_userdata(conn),
            (&mut marker as *mut u8).cast::<c_void>()
        );
        assert_eq!(ferrotls_conn_handshake_kind(conn), 0);
        assert_eq!(ferrotls_conn_protocol_version(conn), 0);
        assert!(ferrotls_conn_cipher_name(conn).is_null());
        assert!(ferrotls_conn_peer_cert_subject(conn).is_null());
        let (mut p, mut n) = (std::ptr::dangling::<u8>(), 3usize);
        assert_eq!(
            ferrotls_conn_alpn(conn, &mut p, &mut n),
            FERROTLS_ERR_NOT_FOUND
        );
        assert!(p.is_null() && n == 0);
        let mut p = std::ptr::dangling::<u8>();
        assert_eq!(
            ferrotls_conn_peer_cert(conn, 0, &mut p, &mut n),
            FERROTLS_ERR_NOT_FOUND
        );
        let (mut d, mut ours) = (9u8, true);
        assert_eq!(
            ferrotls_conn_last_alert(conn, &mut d, &mut ours),
            FERROTLS_ERR_NOT_FOUND
        );
        assert!(d == 0 && !ours);
        assert_eq!(
            ferrotls_conn_consume_outgoing(conn, usize::MAX),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(ferrotls_conn_flush(conn), FERROTLS_ERR_WRONG_STATE);
        assert_eq!(
            ferrotls_conn_set_fd(conn, -1),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        let mut buf = [0u8; 4];
        assert_eq!(
            ferrotls_conn_read(conn, buf.as_mut_ptr(), 0, &mut n),
            FERROTLS_ERR_INVALID_ARGUMENT
        );
        // A new client is handshaking and has not failed.
        assert_ne!(ferrotls_conn_wants(conn) & FERROTLS_WANTS_HANDSHAKING, 0);
        assert_eq!(ferrotls_conn_wants(conn) & FERROTLS_WANTS_FAILED, 0);
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
    }
}

struct Reentry {
    conn: *mut ferrotls_conn,
    results: Vec<u32>,
}

unsafe extern "C" fn reenter(
    ud: *mut c_void,
    conn: *const ferrotls_conn,
    _event: u32,
    _text: *const c_char,
) {
    // SAFETY: `ud` is the `Reentry` installed by the test, alive for the whole call.
    let r = unsafe { &mut *ud.cast::<Reentry>() };
    // SAFETY: the connection is live; re-entry must be refused, not deadlock or alias.
    unsafe {
        assert_eq!(conn, r.conn.cast_const());
        r.results.push(ferrotls_conn_handshake(r.conn));
        r.results.push(ferrotls_conn_close(r.conn));
        assert!(ferrotls_conn_version_name(conn).is_null());
    }
}

#[test]
fn reentry_from_trace_callback_is_refused() {
    let (cfg, conn) = client_conn();
    let mut ctx = Reentry {
        conn,
        results: Vec::new(),
    };
    // SAFETY: live handles; `ctx` outlives the connection's use below.
    unsafe {
        let ud = (&mut ctx as *mut Reentry).cast::<c_void>();
        assert_eq!(
            ferrotls_conn_set_trace_callback(conn, Some(reenter), ud),
            FERROTLS_OK
        );
        // Drive the engine a little; whether it traces depends on the engine, but every
        // re-entrant call it makes must be refused.
        let mut out = [0u8; 4096];
        let mut n = 0;
        let _ = ferrotls_conn_handshake(conn);
        let _ = ferrotls_conn_take_outgoing(conn, out.as_mut_ptr(), out.len(), &mut n);
        let garbage = [0x16u8, 3, 3, 0, 1, 0];
        let _ = ferrotls_conn_feed(conn, garbage.as_ptr(), garbage.len(), &mut n);
        assert_eq!(
            ferrotls_conn_set_trace_callback(conn, None, null_mut()),
            FERROTLS_OK
        );
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
    }
    assert!(
        ctx.results
            .iter()
            .all(|&r| r == FERROTLS_ERR_CONCURRENT_USE),
        "{:?}",
        ctx.results
    );
}

#[test]
fn concurrent_use_from_threads_is_refused_or_serialized() {
    let (cfg, conn) = client_conn();
    let addr = conn as usize;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let conn = addr as *mut ferrotls_conn;
                for _ in 0..2000 {
                    // SAFETY: the connection is live until all threads are joined.
                    let r = unsafe { ferrotls_conn_handshake(conn) };
                    assert!(
                        r == FERROTLS_ERR_CONCURRENT_USE
                            || ferrotls_result_category(r) != FERROTLS_CATEGORY_USAGE,
                        "{r}"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // SAFETY: live handles, freed once.
    unsafe {
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
    }
}

unsafe extern "C" fn keylog(_ud: *mut c_void, _conn: *const ferrotls_conn, _line: *const c_char) {}

#[test]
fn callbacks_can_be_set_and_cleared() {
    let b = builder(FERROTLS_ROLE_CLIENT);
    // SAFETY: live builder.
    unsafe {
        assert_eq!(
            ferrotls_config_builder_set_keylog_callback(b, Some(keylog), null_mut()),
            FERROTLS_OK
        );
        assert_eq!(
            ferrotls_config_builder_set_keylog_callback(b, None, null_mut()),
            FERROTLS_OK
        );
        assert_eq!(
            ferrotls_config_builder_set_keylog_callback(null_mut(), None, null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        ferrotls_config_builder_free(b);
    }
}

#[test]
fn version_functions() {
    assert_eq!(ferrotls_abi_version(), 1);
    assert_eq!(
        s(ferrotls_version_string()),
        format!("ferrotls/{}", env!("CARGO_PKG_VERSION"))
    );
    let v: Vec<u32> = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(ferrotls_version_number(), (v[0] << 16) | (v[1] << 8) | v[2]);
}

#[cfg(unix)]
#[test]
fn fd_mode_nonblocking_wants_read_then_eof_fails() {
    let mut fds = [0 as std::ffi::c_int; 2];
    // SAFETY: plain libc calls on a fresh socketpair owned by this test.
    unsafe {
        assert_eq!(
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()),
            0
        );
        let flags = libc::fcntl(fds[0], libc::F_GETFL);
        assert_eq!(
            libc::fcntl(fds[0], libc::F_SETFL, flags | libc::O_NONBLOCK),
            0
        );
    }
    let (cfg, conn) = client_conn();
    // SAFETY: live handles; the socket stays open until after ferrotls_conn_free.
    unsafe {
        assert_eq!(ferrotls_conn_set_fd(conn, fds[0]), FERROTLS_OK);
        // The ClientHello (if any) fits in the socket buffer; then there is nothing to read.
        assert_eq!(
            ferrotls_conn_handshake(conn),
            FERROTLS_WANT_READ,
            "{}",
            detail()
        );
        // The peer goes away without a word: the handshake cannot succeed.
        libc::close(fds[1]);
        let r = ferrotls_conn_handshake(conn);
        assert!(
            r != FERROTLS_OK && r != FERROTLS_WANT_READ && r != FERROTLS_WANT_WRITE,
            "{r}"
        );
        assert!(!detail().is_empty());
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
        libc::close(fds[0]);
    }
}

#[test]
fn session_calls_misused() {
    let (cfg, conn) = client_conn();
    let mut needed = 7usize;
    let mut buf = [0u8; 16];
    // SAFETY: live handles; buffers valid for their stated sizes.
    unsafe {
        assert_eq!(
            ferrotls_conn_get_session(conn, buf.as_mut_ptr(), buf.len(), &mut needed),
            FERROTLS_ERR_NOT_FOUND
        );
        assert!(detail().contains("no resumable session"));
        assert_eq!(
            ferrotls_conn_get_session(conn, buf.as_mut_ptr(), buf.len(), null_mut()),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ferrotls_conn_set_session(conn, null(), 3),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        let r = ferrotls_conn_set_session(conn, b"not a session".as_ptr(), 13);
        assert_ne!(r, FERROTLS_OK);
        assert!(
            detail().contains("not a ferrotls session blob"),
            "{}",
            detail()
        );
        // The connection is still usable for a full handshake.
        assert!(ferrotls_conn_outgoing_len(conn) > 0);
        assert_eq!(ferrotls_conn_handshake_kind(conn), 0);

        let scfg = config(FERROTLS_ROLE_SERVER);
        let mut sconn = null_mut();
        assert_eq!(ferrotls_conn_new_server(scfg, &mut sconn), FERROTLS_OK);
        assert_eq!(
            ferrotls_conn_set_session(sconn, b"x".as_ptr(), 1),
            FERROTLS_ERR_WRONG_ROLE
        );
        let cb = builder(FERROTLS_ROLE_CLIENT);
        assert_eq!(
            ferrotls_config_builder_set_ticket_lifetime(cb, 10),
            FERROTLS_ERR_WRONG_ROLE
        );
        assert_eq!(
            ferrotls_config_builder_set_session_cache(cb, 0),
            FERROTLS_OK
        );
        assert_eq!(
            ferrotls_config_builder_set_session_cache(null_mut(), 0),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        ferrotls_config_builder_free(cb);
        let sb = builder(FERROTLS_ROLE_SERVER);
        assert_ne!(
            ferrotls_config_builder_set_ticket_lifetime(sb, 8 * 24 * 3600),
            FERROTLS_OK
        );
        assert_eq!(
            ferrotls_config_builder_set_ticket_lifetime(sb, 60),
            FERROTLS_OK
        );
        ferrotls_config_builder_free(sb);
        ferrotls_conn_free(sconn);
        ferrotls_config_free(scfg);
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
    }
}

#[test]
fn peek_and_consume_plaintext_arguments() {
    let (cfg, conn) = client_conn();
    let (mut p, mut n) = (std::ptr::null::<u8>(), 99usize);
    // SAFETY: live connection, valid out-params; NULL out-params are refused.
    unsafe {
        assert_eq!(
            ferrotls_conn_peek_plaintext(conn, &mut p, &mut n),
            FERROTLS_OK
        );
        assert_eq!(n, 0, "nothing to read before the handshake");
        assert_eq!(
            ferrotls_conn_peek_plaintext(conn, null_mut(), &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ferrotls_conn_peek_plaintext(null(), &mut p, &mut n),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        assert_eq!(ferrotls_conn_consume_plaintext(conn, 5), FERROTLS_OK);
        assert_eq!(
            ferrotls_conn_consume_plaintext(null_mut(), 0),
            FERROTLS_ERR_NULL_ARGUMENT
        );
        ferrotls_conn_free(conn);
        ferrotls_config_free(cfg);
    }
}
