//! In-memory TLS 1.3 handshakes between our client and our server.

mod common;

use common::*;
use ferrotls::codec::enums::{AlertDescription, CipherSuite, NamedGroup, ProtocolVersion};
use ferrotls::config::VerifyMode;
use ferrotls::conn::{HandshakeKind, ReadStatus};

#[test]
fn every_suite_group_and_key_type() {
    let pki = Pki::new("Test CA");
    for kt in ALL_KEY_TYPES {
        let server = server_builder(&pki, kt).build().unwrap();
        for suite in [
            CipherSuite::TLS_AES_128_GCM_SHA256,
            CipherSuite::TLS_AES_256_GCM_SHA384,
            CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
        ] {
            for group in [
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1,
            ] {
                let mut cb = client_builder(&pki);
                cb.set_cipher_suites(&[suite]).unwrap();
                cb.set_groups(&[group]).unwrap();
                let client = cb.build().unwrap();
                let (mut c, mut s) = pair(&client, &server, "localhost");
                handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{kt:?} {suite} {group}: {e}"));
                assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
                assert_eq!(c.cipher_suite(), Some(suite));
                assert_eq!(s.cipher_suite(), Some(suite));
                assert_eq!(c.group(), Some(group));
                assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
                assert_eq!(c.peer_cert_subject().as_deref(), Some("CN=localhost"));
                assert_eq!(s.server_name(), Some("localhost"));
                assert_eq!(send_recv(&mut c, &mut s, b"ping"), b"ping");
                assert_eq!(send_recv(&mut s, &mut c, b"pong"), b"pong");
            }
        }
    }
}

#[test]
fn hello_retry_request_when_the_share_does_not_match() {
    let pki = Pki::new("Test CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_groups(&[NamedGroup::secp384r1]).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519, NamedGroup::secp384r1])
        .unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::secp384r1));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    assert_eq!(s.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    assert_eq!(send_recv(&mut c, &mut s, b"after hrr"), b"after hrr");
}

#[test]
fn no_shared_group_fails_with_detail() {
    let pki = Pki::new("Test CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_groups(&[NamedGroup::secp384r1]).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519]).unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    let se = se.unwrap();
    assert!(se.contains("no key-exchange group in common"), "{se}");
    assert!(se.contains("X25519") && se.contains("P-384"), "{se}");
    let ce = ce.unwrap();
    assert!(ce.contains("handshake_failure"), "{ce}");
    assert_eq!(
        c.last_alert(),
        Some((AlertDescription::HandshakeFailure, false))
    );
}

#[test]
fn alpn_is_negotiated_and_mismatch_is_fatal() {
    let pki = Pki::new("Test CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_alpn_list("h2,http/1.1").unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_alpn_list("http/1.1").unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));

    let mut cb = client_builder(&pki);
    cb.set_alpn_list("spdy/3").unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    assert!(se.unwrap().contains("no ALPN protocol in common"));
    assert!(ce.unwrap().contains("no_application_protocol"));
}

#[test]
fn wrong_server_name_is_rejected_by_the_client() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "other.test");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    let ce = ce.unwrap();
    assert!(ce.contains("Step Three: ServerCertificate"), "{ce}");
    assert!(
        ce.contains("other.test") && ce.contains("DNS:localhost"),
        "{ce}"
    );
    assert!(ce.contains("bad_certificate"), "{ce}");
    let se = se.unwrap();
    assert!(se.contains("the client rejected our certificate"), "{se}");
}

#[test]
fn unknown_ca_is_rejected() {
    let pki = Pki::new("Test CA");
    let other = Pki::new("Other CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&other).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let (ce, _) = failing_handshake(&mut c, &mut s);
    let ce = ce.unwrap();
    assert!(ce.contains("unknown_ca"), "{ce}");
    assert_eq!(s.last_alert(), Some((AlertDescription::UnknownCa, false)));
}

#[test]
fn mutual_tls_required_optional_and_missing() {
    let pki = Pki::new("Test CA");
    let client_id = pki.issue(&["client.test"], KeyType::P256, true);
    for (mode, with_cert, ok) in [
        (VerifyMode::RequireClientCert, true, true),
        (VerifyMode::RequireClientCert, false, false),
        (VerifyMode::RequestClientCert, false, true),
        (VerifyMode::RequestClientCert, true, true),
    ] {
        let mut sb = server_builder(&pki, KeyType::P256);
        sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
        sb.set_verify_mode(mode).unwrap();
        let server = sb.build().unwrap();
        let mut cb = client_builder(&pki);
        if with_cert {
            cb.add_cert_key_pem(client_id.chain_pem.as_bytes(), client_id.key_pem.as_bytes())
                .unwrap();
        }
        let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
        if ok {
            handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{mode:?} {with_cert}: {e}"));
            assert_eq!(s.peer_certificates().len(), usize::from(with_cert));
            if with_cert {
                assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
            }
            assert_eq!(send_recv(&mut c, &mut s, b"hi"), b"hi");
        } else {
            let (ce, se) = failing_handshake(&mut c, &mut s);
            assert!(se.unwrap().contains("requires one"));
            let ce = ce.unwrap();
            assert!(ce.contains("certificate_required"), "{ce}");
        }
    }
}

#[test]
fn client_certificate_from_unknown_ca_is_refused() {
    let pki = Pki::new("Test CA");
    let rogue = Pki::new("Rogue CA");
    let id = rogue.issue(&["client.test"], KeyType::P256, true);
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    assert!(se.unwrap().contains("Step Seven"));
    assert!(
        ce.unwrap()
            .contains("the server rejected our client certificate")
    );
}

#[test]
fn large_transfer_and_byte_at_a_time_delivery() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    // Deliver the handshake one byte at a time in both directions.
    fn trickle(a: &mut ferrotls::conn::Connection, b: &mut ferrotls::conn::Connection) {
        while a.outgoing_len() > 0 {
            let byte = [a.peek_outgoing()[0]];
            assert_eq!(b.feed(&byte).unwrap(), 1);
            a.consume_outgoing(1);
        }
    }
    for _ in 0..10 {
        trickle(&mut c, &mut s);
        trickle(&mut s, &mut c);
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    let data: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(send_recv(&mut c, &mut s, &data), data);
    assert_eq!(send_recv(&mut s, &mut c, &data), data);
}

#[test]
fn key_update_both_directions() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    for i in 0..5 {
        c.key_update(i % 2 == 0).unwrap();
        assert_eq!(send_recv(&mut c, &mut s, b"one"), b"one");
        transfer(&mut s, &mut c).unwrap();
        s.key_update(false).unwrap();
        assert_eq!(send_recv(&mut s, &mut c, b"two"), b"two");
    }
}

#[test]
fn close_notify_and_truncation() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    c.write(b"last words").unwrap();
    c.close();
    transfer(&mut c, &mut s).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::Data(10));
    assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::Closed);
    assert!(s.feed_eof().is_ok());

    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let e = s.feed_eof().unwrap_err();
    assert!(
        e.to_string().contains("without sending close_notify"),
        "{e}"
    );
}

#[test]
fn tampered_record_is_bad_record_mac() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    c.write(b"secret").unwrap();
    let mut rec = c.peek_outgoing().to_vec();
    let last = rec.len() - 1;
    rec[last] ^= 1;
    let e = s.feed(&rec).unwrap_err();
    assert!(e.to_string().contains("failed authentication"), "{e}");
    assert_eq!(s.last_alert(), Some((AlertDescription::BadRecordMac, true)));
    // The error is sticky.
    assert!(s.feed(&[0]).is_err());
    assert!(s.write(b"x").is_err());
}

#[test]
fn exporter_agrees_on_both_sides() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    c.export_keying_material(&mut a, b"EXPORTER-test", Some(b"ctx"))
        .unwrap();
    s.export_keying_material(&mut b, b"EXPORTER-test", Some(b"ctx"))
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, [0u8; 32]);
}

#[test]
fn server_picks_certificate_by_sni() {
    let pki = Pki::new("Test CA");
    let a = pki.issue(&["a.test"], KeyType::P256, false);
    let b = pki.issue(&["b.test"], KeyType::Ed25519, false);
    let mut sb = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
    sb.add_cert_key_pem(a.chain_pem.as_bytes(), a.key_pem.as_bytes())
        .unwrap();
    sb.add_cert_key_pem(b.chain_pem.as_bytes(), b.key_pem.as_bytes())
        .unwrap();
    let server = sb.build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    for name in ["a.test", "b.test"] {
        let (mut c, mut s) = pair(&client, &server, name);
        handshake(&mut c, &mut s).unwrap();
        assert_eq!(c.peer_cert_subject().unwrap(), format!("CN={name}"));
    }
}

#[test]
fn key_not_matching_certificate_is_caught_at_load() {
    let pki = Pki::new("Test CA");
    let a = pki.issue(&["a.test"], KeyType::P256, false);
    let b = pki.issue(&["b.test"], KeyType::P256, false);
    let mut sb = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
    let e = sb
        .add_cert_key_pem(a.chain_pem.as_bytes(), b.key_pem.as_bytes())
        .unwrap_err();
    assert!(
        e.to_string().contains("does not match the certificate"),
        "{e}"
    );
}

#[test]
fn verified_chain_cache_is_keyed_by_chain_and_name() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    for _ in 0..3 {
        let (mut c, mut s) = pair(&client, &server, "localhost");
        handshake(&mut c, &mut s).unwrap();
    }
    assert_eq!(
        client.cached_verifications(),
        1,
        "three handshakes, one chain verification kept"
    );
    // The same chain under a name it does not cover still fails: the name is in the key.
    let (mut c, mut s) = pair(&client, &server, "other.test");
    let (ce, _) = failing_handshake(&mut c, &mut s);
    assert!(ce.unwrap().contains("not for 'other.test'"));
    // A different chain for the same name is verified on its own.
    let other = Pki::new("Other CA");
    let server2 = server_builder(&other, KeyType::P256).build().unwrap();
    let (mut c, mut s) = pair(&client, &server2, "localhost");
    let (ce, _) = failing_handshake(&mut c, &mut s);
    assert!(ce.unwrap().contains("unknown_ca"));
    assert_eq!(client.cached_verifications(), 1);
}

#[test]
fn zero_copy_reads_match_copying_reads() {
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let mut got = Vec::new();
    let mut off = 0;
    while got.len() < data.len() {
        if off < data.len() {
            off += c.write(&data[off..]).unwrap();
        }
        transfer(&mut c, &mut s).unwrap();
        // Take the plaintext where it lies, in uneven bites.
        while !s.peek_plaintext().is_empty() {
            let view = s.peek_plaintext();
            let take = view.len().min(7_001);
            got.extend_from_slice(&view[..take]);
            s.consume_plaintext(take).unwrap();
        }
    }
    assert_eq!(got, data);
    assert_eq!(s.readable(), 0);
    // Consuming more than is there is clamped, not an error.
    s.consume_plaintext(10).unwrap();
    c.close();
    transfer(&mut c, &mut s).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::Closed);
}

#[test]
fn finished_messages_are_kept_for_channel_bindings() {
    // RFC 5929's tls-unique and OpenSSL's SSL_get_finished / SSL_get_peer_finished: each side's
    // sent Finished is the other's received one, 12 bytes in TLS 1.2, the hash length in 1.3.
    let pki = Pki::new("Test CA");
    for (v, len) in [
        (ProtocolVersion::TLSv1_3, 32usize),
        (ProtocolVersion::TLSv1_2, 12),
    ] {
        let server = server_builder(&pki, KeyType::P256).build().unwrap();
        let mut cb = client_builder(&pki);
        cb.set_versions(v, v).unwrap();
        cb.set_cipher_suites(&[
            CipherSuite::TLS_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ])
        .unwrap();
        let client = cb.build().unwrap();
        let (mut c, mut s) = pair(&client, &server, "localhost");
        assert_eq!(c.finished_messages(), (&[][..], &[][..]));
        handshake(&mut c, &mut s).unwrap();
        let (c_sent, c_recv) = c.finished_messages();
        let (s_sent, s_recv) = s.finished_messages();
        assert_eq!((c_sent.len(), c_recv.len()), (len, len), "{v:?}");
        assert_eq!(c_sent, s_recv);
        assert_eq!(c_recv, s_sent);
        assert_ne!(c_sent, c_recv);
    }
}

#[test]
fn session_serial_changes_only_with_a_new_session() {
    // What the OpenSSL layer checks after every read before copying a session blob out.
    let pki = Pki::new("Test CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    assert_eq!(c.session_serial(), 0);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        send_recv(&mut s, &mut c, b"tickets ride along"),
        b"tickets ride along"
    );
    let after_tickets = c.session_serial();
    assert!(after_tickets >= 1, "the server's tickets are new sessions");
    assert!(c.session().is_some());
    assert_eq!(send_recv(&mut s, &mut c, b"more data"), b"more data");
    assert_eq!(
        c.session_serial(),
        after_tickets,
        "data alone brings no session"
    );
}
