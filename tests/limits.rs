//! A peer cannot make a connection use unbounded memory or CPU: each named limit ends the
//! connection with a clear error, and back-pressure bounds what is buffered.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{ContentType, NamedGroup};
use ferrotls::conn::{Connection, MAX_IDLE_RECORDS, ReadStatus};
use ferrotls::crypto::suites;

fn established() -> (Connection, Connection, Arc<CapturedKeys>) {
    let pki = Pki::new("Limits CA");
    let keys = Arc::new(CapturedKeys::default());
    let mut cb = client_builder(&pki);
    cb.set_keylog(Some(keys.clone()));
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    (c, s, keys)
}

#[test]
fn endless_empty_records() {
    let (c, mut s, keys) = established();
    let suite = suites::lookup(c.cipher_suite().unwrap()).unwrap();
    let enc = ferrotls::tls13::key_schedule::encrypter(suite, &keys.get("CLIENT_TRAFFIC_SECRET_0"))
        .unwrap();
    let mut err = None;
    for seq in 0..(u64::from(MAX_IDLE_RECORDS) + 5) {
        let mut rec = Vec::new();
        enc.encrypt(seq, ContentType::ApplicationData, &[], &mut rec)
            .unwrap();
        if let Err(e) = s.feed(&rec) {
            err = Some((seq, e));
            break;
        }
    }
    let (seq, e) = err.expect("empty records must be bounded");
    assert_eq!(seq, u64::from(MAX_IDLE_RECORDS));
    assert!(e.to_string().contains("empty records"), "{e}");
}

#[test]
fn endless_warning_alerts() {
    let pki = Pki::new("Limits CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut s = Connection::new_server(server).unwrap();
    let warning = [21, 3, 3, 0, 2, 1, 100]; // warning no_renegotiation, before any version
    let mut n = 0;
    while s.feed(&warning).is_ok() {
        n += 1;
        assert!(n < 1000, "warning alerts must be bounded");
    }
    assert_eq!(n, MAX_IDLE_RECORDS);
    assert!(s.error().unwrap().to_string().contains("warning alerts"));
}

#[test]
fn endless_key_updates() {
    let (mut c, mut s, _) = established();
    let mut n = 0;
    loop {
        c.key_update(false).unwrap();
        if transfer(&mut c, &mut s).is_err() {
            break;
        }
        n += 1;
        assert!(n < 1000, "KeyUpdates must be bounded");
    }
    assert_eq!(n, MAX_IDLE_RECORDS);
    assert!(
        s.error().unwrap().to_string().contains("KeyUpdates"),
        "{}",
        s.error().unwrap()
    );
    // Data in between resets the count: a well-behaved peer may update keys forever.
    let (mut c, mut s, _) = established();
    for _ in 0..(3 * MAX_IDLE_RECORDS) {
        c.key_update(false).unwrap();
        assert_eq!(send_recv(&mut c, &mut s, b"x"), b"x");
    }
}

#[test]
fn a_second_hello_retry_request_is_refused() {
    let pki = Pki::new("Limits CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_groups(&[NamedGroup::secp384r1]).unwrap();
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519, NamedGroup::secp384r1])
        .unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
    transfer(&mut c, &mut s).unwrap();
    let hrr = s.peek_outgoing().to_vec(); // HelloRetryRequest (+ a compatibility CCS)
    let hrr_record = split_records(&hrr).remove(0);
    c.feed(&hrr).unwrap();
    let e = c.feed(&hrr_record).unwrap_err();
    assert!(e.to_string().contains("a second HelloRetryRequest"), "{e}");
}

#[test]
fn a_peer_that_never_reads_cannot_grow_our_buffers() {
    let (mut c, mut s, _) = established();
    let chunk = vec![7u8; 256 * 1024];
    let mut stalled = false;
    for _ in 0..64 {
        let _ = c.write(&chunk).unwrap();
        let out = c.peek_outgoing().to_vec();
        let n = s.feed(&out).unwrap();
        c.consume_outgoing(n);
        if n < out.len() {
            stalled = true;
        }
        // What the server holds stays within its plaintext limit plus one record.
        assert!(s.readable() <= 64 * 1024 + 16 * 1024, "{}", s.readable());
        // And the client refuses more than its own limit while the server is not reading.
        assert!(
            c.outgoing_len() <= 64 * 1024 + 16 * 1024 + 1024,
            "{}",
            c.outgoing_len()
        );
    }
    assert!(stalled, "the server must push back when nobody reads");
    // Reading lets everything through again.
    let mut buf = vec![0u8; 64 * 1024];
    assert!(matches!(s.read(&mut buf).unwrap(), ReadStatus::Data(_)));
}

#[test]
fn one_byte_at_a_time_then_garbage() {
    // A trickling peer costs one call per byte but no memory beyond one record.
    let pki = Pki::new("Limits CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (c, mut s) = pair(&client, &server, "localhost");
    for b in c.peek_outgoing().to_vec() {
        assert_eq!(s.feed(&[b]).unwrap(), 1);
    }
    assert!(
        s.outgoing_len() > 0,
        "the server answered the trickled ClientHello"
    );
    let e = s.feed(&[0xff; 8]).unwrap_err();
    assert!(e.to_string().contains("record"), "{e}");
}
