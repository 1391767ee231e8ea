//! Each protocol violation ends in the right alert and a detail that names the step and
//! the values involved.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{
    AlertDescription, CipherSuite, Compression, HandshakeType, NamedGroup, ProtocolVersion,
    SignatureScheme,
};
use ferrotls::codec::extensions::{ClientExtension, KeyShareEntry};
use ferrotls::codec::handshake::{ClientHelloPayload, HandshakeMessage, HandshakePayload};
use ferrotls::conn::Connection;
use ferrotls::crypto::suites;

fn server() -> (Pki, Arc<ferrotls::config::Config>) {
    let pki = Pki::new("Negative CA");
    let cfg = server_builder(&pki, KeyType::P256).build().unwrap();
    (pki, cfg)
}

fn plaintext_record(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn client_hello(versions: Vec<ProtocolVersion>, legacy: ProtocolVersion) -> Vec<u8> {
    let kx = ferrotls::crypto::kx::KeyExchange::start(NamedGroup::X25519).unwrap();
    let ch = ClientHelloPayload {
        legacy_version: legacy,
        random: [7; 32],
        session_id: vec![],
        cipher_suites: vec![CipherSuite::TLS_AES_128_GCM_SHA256],
        compression_methods: vec![Compression::Null],
        extensions: vec![
            ClientExtension::SupportedVersions(versions),
            ClientExtension::SupportedGroups(vec![NamedGroup::X25519]),
            ClientExtension::SignatureAlgorithms(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
            ClientExtension::KeyShare(vec![KeyShareEntry {
                group: NamedGroup::X25519,
                payload: kx.public_key().to_vec(),
            }]),
        ],
    };
    HandshakeMessage {
        typ: HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch),
    }
    .get_encoding()
}

fn alert_sent(c: &Connection) -> Option<AlertDescription> {
    c.error().and_then(|e| e.alert_sent)
}

#[test]
fn expired_certificate() {
    let pki = Pki::new("Negative CA");
    let id = pki.issue_with(&["localhost"], KeyType::P256, false, |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 2);
    });
    let mut sb = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
    sb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &sb.build().unwrap(), "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    let ce = ce.unwrap();
    assert!(ce.contains("Step Three: ServerCertificate"), "{ce}");
    assert!(ce.contains("expired at 2021-01-02 00:00:00 UTC"), "{ce}");
    assert_eq!(alert_sent(&c), Some(AlertDescription::CertificateExpired));
    assert!(se.unwrap().contains("certificate_expired"));
}

#[test]
fn tampered_server_finished() {
    let pki = Pki::new("Negative CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let keys = Arc::new(CapturedKeys::default());
    let mut cb = client_builder(&pki);
    cb.set_keylog(Some(keys.clone()));
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    transfer(&mut c, &mut s).unwrap();
    // The server's flight: ServerHello, ChangeCipherSpec, then one protected record per
    // message: EncryptedExtensions, Certificate, CertificateVerify, Finished.
    let flight = s.peek_outgoing().to_vec();
    let mut records = split_records(&flight);
    assert_eq!(records.len(), 6);
    let suite = suites::lookup(
        c.cipher_suite()
            .unwrap_or(CipherSuite::TLS_AES_128_GCM_SHA256),
    )
    .unwrap();
    let secret = keys
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|(l, _)| l == "SERVER_HANDSHAKE_TRAFFIC_SECRET")
        .map(|x| x.1.clone());
    // The client logs its secrets only after it has processed ServerHello: feed that first.
    c.feed(&records[0]).unwrap();
    c.feed(&records[1]).unwrap();
    let secret = secret.unwrap_or_else(|| keys.get("SERVER_HANDSHAKE_TRAFFIC_SECRET"));
    let dec = ferrotls::tls13::key_schedule::decrypter(suite, &secret).unwrap();
    let enc = ferrotls::tls13::key_schedule::encrypter(suite, &secret).unwrap();
    let mut fin = records[5].clone();
    let header: [u8; 5] = fin[..5].try_into().unwrap();
    let (typ, plain) = dec.decrypt(3, &header, &mut fin[5..]).unwrap();
    assert_eq!(plain[0], 20, "record 6 must hold Finished");
    let mut plain = plain.to_vec();
    let last = plain.len() - 1;
    plain[last] ^= 0x01;
    let mut forged = Vec::new();
    enc.encrypt(3, typ, &plain, &mut forged).unwrap();
    records[5] = forged;
    for r in &records[2..5] {
        c.feed(r).unwrap();
    }
    let e = c.feed(&records[5]).unwrap_err();
    assert!(
        e.to_string().contains("Finished message does not match"),
        "{e}"
    );
    let ce = c.error().unwrap().to_string();
    assert!(
        ce.contains("the server's Finished") && ce.contains("decrypt_error"),
        "{ce}"
    );
    assert_eq!(alert_sent(&c), Some(AlertDescription::DecryptError));
}

#[test]
fn oversized_records() {
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg.clone()).unwrap();
    let e = s.feed(&[22, 3, 3, 0x48, 0x01]).unwrap_err();
    assert!(e.to_string().contains("18433 bytes"), "{e}");
    assert_eq!(alert_sent(&s), Some(AlertDescription::RecordOverflow));

    // After the handshake, TLS 1.3 allows at most 2^14 + 256 bytes of ciphertext.
    let (pki, cfg) = server();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &cfg, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let mut rec = vec![23, 3, 3, 0x41, 0x01];
    rec.resize(5 + 0x4101, 0);
    let e = s.feed(&rec).unwrap_err();
    assert!(e.to_string().contains("TLS 1.3's limit"), "{e}");
    assert_eq!(alert_sent(&s), Some(AlertDescription::RecordOverflow));
}

#[test]
fn oversized_handshake_message() {
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg).unwrap();
    // A ClientHello may be as large as its encoding allows (131,396 bytes), not more.
    let e = s
        .feed(&plaintext_record(22, &[1, 0x02, 0x01, 0x45, 0]))
        .unwrap_err();
    assert!(
        e.to_string().contains("131397 bytes; the limit is 131396"),
        "{e}"
    );
    assert_eq!(alert_sent(&s), Some(AlertDescription::DecodeError));
    // Any other message: 65,535 bytes.
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg).unwrap();
    let e = s
        .feed(&plaintext_record(22, &[11, 0x01, 0x00, 0x01, 0]))
        .unwrap_err();
    assert!(
        e.to_string().contains("65537 bytes; the limit is 65535"),
        "{e}"
    );
}

#[test]
fn unexpected_message_order() {
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg).unwrap();
    let fin = HandshakeMessage {
        typ: HandshakeType::Finished,
        payload: HandshakePayload::Finished(vec![0; 32]),
    };
    let e = s
        .feed(&plaintext_record(22, &fin.get_encoding()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected Step One: ClientHello, but received Finished (32 bytes)"
    );
    let full = s.error().unwrap().to_string();
    assert!(full.contains("unexpected_message"), "{full}");
    assert_eq!(alert_sent(&s), Some(AlertDescription::UnexpectedMessage));

    // Application data before the handshake is done.
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg).unwrap();
    let e = s.feed(&plaintext_record(23, b"hello")).unwrap_err();
    assert!(
        e.to_string()
            .contains("application data before the handshake finished"),
        "{e}"
    );
}

#[test]
fn unsupported_protocol_version() {
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg).unwrap();
    let ch = client_hello(
        vec![ProtocolVersion::TLSv1_1, ProtocolVersion::TLSv1_0],
        ProtocolVersion::TLSv1_0,
    );
    let e = s.feed(&plaintext_record(22, &ch)).unwrap_err();
    let d = e.to_string();
    assert!(d.contains("the client offered TLSv1.1, TLSv1.0"), "{d}");
    assert!(d.contains("RFC 8996"), "{d}");
    assert_eq!(alert_sent(&s), Some(AlertDescription::ProtocolVersion));
}

#[test]
fn plaintext_http_to_a_tls_port() {
    let (_, cfg) = server();
    let mut s = Connection::new_server(cfg).unwrap();
    let e = s.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap_err();
    assert!(e.to_string().contains("plaintext HTTP request"), "{e}");
}

#[test]
fn garbage_and_truncated_flights_never_panic() {
    // Every truncation and a bounded set of byte flips of a real ClientHello, fed to a
    // server: each ends in an error or waits for more, and never panics.
    let (pki, cfg) = server();
    let client = client_builder(&pki).build().unwrap();
    let c = Connection::new_client(client, Some("localhost")).unwrap();
    let hello = c.peek_outgoing().to_vec();
    for cut in 0..hello.len() {
        let mut s = Connection::new_server(cfg.clone()).unwrap();
        let _ = s.feed(&hello[..cut]);
        assert!(s.is_handshaking() || s.error().is_some());
        assert!(s.feed_eof().is_err(), "EOF mid-handshake must be an error");
    }
    for i in 0..hello.len() {
        for bit in [0x01u8, 0x80] {
            let mut m = hello.clone();
            m[i] ^= bit;
            let mut s = Connection::new_server(cfg.clone()).unwrap();
            let r = s.feed(&m);
            if r.is_err() {
                assert!(s.error().is_some());
            }
        }
    }
}
