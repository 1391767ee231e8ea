//! Per-connection settings over one shared configuration: ALPN, the verification mode and the
//! certificate differ by connection while the configuration (its session caches, verified
//! chains and ticket keys) keeps serving all of them. What the OpenSSL layer's SSL_set_alpn_protos,
//! SSL_set_verify and SSL_use_certificate, and Python's per-socket settings, need.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{AlertDescription, SignatureScheme};
use ferrotls::config::{CertifiedKey, VerifyMode};
use ferrotls::conn::{Connection, HandshakeKind};

fn protos(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|p| p.as_bytes().to_vec()).collect()
}

#[test]
fn alpn_per_connection_and_the_shared_cache_still_resumes() {
    let pki = Pki::new("Per-connection CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_alpn(&protos(&["h2", "http/1.1"])).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_alpn(&protos(&["h2"])).unwrap();
    let client = cb.build().unwrap();

    // A: this connection offers only http/1.1.
    let (mut c, mut s) = pair(&client, &server, "localhost");
    c.set_alpn(&protos(&["http/1.1"])).unwrap();
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));
    let _ = send_recv(&mut s, &mut c, b"ticket please");

    // B: the configuration's own list, and the session A left in the shared client cache.
    let (mut c2, mut s2) = pair(&client, &server, "localhost");
    handshake(&mut c2, &mut s2).unwrap();
    assert_eq!(c2.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(c2.handshake_kind(), Some(HandshakeKind::Resumed));

    // A server connection may accept a different list too.
    let (mut c3, mut s3) = pair(&client, &server, "localhost");
    s3.set_alpn(&protos(&["h3"])).unwrap();
    let (ce, se) = failing_handshake(&mut c3, &mut s3);
    assert!(
        se.unwrap_or_default()
            .contains("no ALPN protocol in common"),
        "{ce:?}"
    );
    assert_eq!(
        s3.error().and_then(|e| e.alert_sent),
        Some(AlertDescription::NoApplicationProtocol)
    );

    // Names are checked as the builder checks them.
    let mut c4 = Connection::new_client(client.clone(), Some("localhost")).unwrap();
    assert!(c4.set_alpn(&[vec![]]).is_err());
}

#[test]
fn verify_mode_per_connection() {
    let pki = Pki::new("Per-connection CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap(); // for client certificates
    let server = sb.build().unwrap();
    let plain_client = client_builder(&pki).build().unwrap();
    let id = pki.issue(&["client"], KeyType::P256, true);
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let cert_client = cb.build().unwrap();

    // The configuration asks for no client certificate; this connection requires one.
    let (mut c, mut s) = pair(&plain_client, &server, "localhost");
    s.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    let (_, se) = failing_handshake(&mut c, &mut s);
    assert!(se.unwrap_or_default().contains("requires one"));
    assert_eq!(
        s.error().and_then(|e| e.alert_sent),
        Some(AlertDescription::CertificateRequired)
    );

    let (mut c, mut s) = pair(&cert_client, &server, "localhost");
    s.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(s.peer_certificates().len(), 1);

    // The next connection from the same server configuration asks for nothing, as
    // configured (a client with an empty session cache, so that this is a full handshake).
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    assert!(s.peer_certificates().is_empty());

    // Modes of the other role, or a mode that needs anchors the configuration lacks, are refused.
    assert!(s.set_verify_mode(VerifyMode::VerifyServer).is_err());
    let bare = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut s = Connection::new_server(bare).unwrap();
    let e = s
        .set_verify_mode(VerifyMode::RequestClientCert)
        .unwrap_err();
    assert!(e.to_string().contains("trust anchors"), "{e}");
    // A client may turn verification off for one connection only.
    let (mut c, mut s) = pair(&plain_client, &server, "not-the-name");
    c.set_verify_mode(VerifyMode::DangerousNoVerify).unwrap();
    handshake(&mut c, &mut s).unwrap();
}

#[test]
fn certificate_per_connection_in_both_roles() {
    let pki = Pki::new("Per-connection CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let rsa = pki.issue(&["localhost"], KeyType::Rsa2048, false);
    let rsa = CertifiedKey::from_pem(rsa.chain_pem.as_bytes(), rsa.key_pem.as_bytes()).unwrap();

    let (mut c, mut s) = pair(&client, &server, "localhost");
    s.set_certificate(rsa.clone()).unwrap();
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        c.signature_scheme(),
        Some(SignatureScheme::RSA_PSS_RSAE_SHA256)
    );

    // The configuration's own certificate for the next one (a fresh client, so a full
    // handshake shows which key signed).
    let fresh = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&fresh, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        c.signature_scheme(),
        Some(SignatureScheme::ECDSA_NISTP256_SHA256)
    );

    // A client certificate for one connection of a configuration that has none.
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    let strict = sb.build().unwrap();
    let id = pki.issue(&["client"], KeyType::P256, true);
    let ck: Arc<CertifiedKey> =
        CertifiedKey::from_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes()).unwrap();
    let (mut c, mut s) = pair(&client, &strict, "localhost");
    c.set_certificate(ck).unwrap();
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(s.peer_certificates().len(), 1);
}

#[test]
fn settings_only_before_io_and_a_set_session_survives_them() {
    let pki = Pki::new("Per-connection CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_alpn(&protos(&["h2", "http/1.1"])).unwrap();
    let server = sb.build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let _ = send_recv(&mut s, &mut c, b"ticket please");
    let blob = c.session().expect("a session after the handshake");
    let e = c.set_alpn(&protos(&["h2"])).unwrap_err();
    assert!(e.to_string().contains("before the handshake starts"), "{e}");

    // set_session, then a per-connection setting: the rebuilt ClientHello still offers it.
    let fresh_client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&fresh_client, &server, "localhost");
    c.set_session(&blob).unwrap();
    c.set_alpn(&protos(&["http/1.1"])).unwrap();
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed));
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
}
