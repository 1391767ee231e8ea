//! ferrotls against rustls 0.23 (ring provider), both roles, in memory.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{CipherSuite, NamedGroup};
use ferrotls::config::VerifyMode;
use ferrotls::conn::Connection;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

fn rustls_client(
    pki: &Pki,
    suites: Option<&[CipherSuite]>,
    client_id: Option<&Identity>,
) -> rustls::Connection {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(&pki.ca_pem) {
        roots.add(c).unwrap();
    }
    let mut prov = rustls::crypto::ring::default_provider();
    if let Some(s) = suites {
        prov.cipher_suites
            .retain(|cs| s.iter().any(|x| x.to_int() == u16::from(cs.suite())));
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(prov))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client_id {
        Some(id) => b
            .with_client_auth_cert(
                certs(&id.chain_pem),
                PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let name = ServerName::try_from("localhost").unwrap();
    rustls::Connection::Client(rustls::ClientConnection::new(Arc::new(cfg), name).unwrap())
}

#[test]
fn rustls_client_to_our_server_every_suite_and_key_type() {
    let pki = Pki::new("Interop CA");
    for kt in ALL_KEY_TYPES {
        let server = server_builder(&pki, kt).build().unwrap();
        for suite in [
            CipherSuite::TLS_AES_128_GCM_SHA256,
            CipherSuite::TLS_AES_256_GCM_SHA384,
            CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
        ] {
            let mut theirs = rustls_client(&pki, Some(&[suite]), None);
            let mut ours = Connection::new_server(server.clone()).unwrap();
            pump_rustls(&mut ours, &mut theirs).unwrap_or_else(|e| panic!("{kt:?} {suite}: {e}"));
            assert!(!ours.is_handshaking() && !theirs.is_handshaking());
            assert_eq!(ours.cipher_suite(), Some(suite));
            theirs.writer().write_all(b"hello from rustls").unwrap();
            pump_rustls(&mut ours, &mut theirs).unwrap();
            assert_eq!(read_all(&mut ours), b"hello from rustls");
            ours.write(b"hello from ferrotls").unwrap();
            pump_rustls(&mut ours, &mut theirs).unwrap();
            let mut got = vec![0u8; 19];
            theirs.reader().read_exact(&mut got).unwrap();
            assert_eq!(got, b"hello from ferrotls");
        }
    }
}

#[test]
fn rustls_client_with_certificate_to_our_server_requiring_one() {
    let pki = Pki::new("Interop CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    let mut ours = Connection::new_server(sb.build().unwrap()).unwrap();
    let mut theirs = rustls_client(&pki, None, Some(&id));
    pump_rustls(&mut ours, &mut theirs).unwrap();
    assert_eq!(ours.peer_cert_subject().as_deref(), Some("CN=client.test"));
}

fn rustls_server(
    pki: &Pki,
    kt: KeyType,
    group: Option<NamedGroup>,
    client_ca: Option<&Pki>,
) -> rustls::Connection {
    let id = pki.issue(&["localhost"], kt, false);
    let mut prov = rustls::crypto::ring::default_provider();
    if let Some(g) = group {
        prov.kx_groups.retain(|k| u16::from(k.name()) == g.to_int());
    }
    let b = rustls::ServerConfig::builder_with_provider(Arc::new(prov))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap();
    let b = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(&ca.ca_pem) {
                roots.add(c).unwrap();
            }
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .unwrap();
            b.with_client_cert_verifier(v)
        }
        None => b.with_no_client_auth(),
    };
    let cfg = b
        .with_single_cert(
            certs(&id.chain_pem),
            PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap(),
        )
        .unwrap();
    rustls::Connection::Server(rustls::ServerConnection::new(Arc::new(cfg)).unwrap())
}

#[test]
fn our_client_to_rustls_server_with_tickets_and_hrr() {
    let pki = Pki::new("Interop CA");
    let client = client_builder(&pki).build().unwrap();
    for kt in ALL_KEY_TYPES {
        let mut theirs = rustls_server(&pki, kt, None, None);
        let mut ours = Connection::new_client(client.clone(), Some("localhost")).unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap_or_else(|e| panic!("{kt:?}: {e}"));
        assert!(!ours.is_handshaking());
        theirs.writer().write_all(b"ticket follows").unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap();
        assert_eq!(read_all(&mut ours), b"ticket follows");
    }
    // rustls prefers X25519; a P-384-only rustls server makes our X25519 share useless,
    // so it must send a HelloRetryRequest.
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519, NamedGroup::secp384r1])
        .unwrap();
    let mut theirs = rustls_server(&pki, KeyType::P256, Some(NamedGroup::secp384r1), None);
    let mut ours = Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
    pump_rustls(&mut ours, &mut theirs).unwrap();
    assert_eq!(ours.group(), Some(NamedGroup::secp384r1));
    assert_eq!(
        ours.handshake_kind(),
        Some(ferrotls::conn::HandshakeKind::FullWithHelloRetry)
    );
}

#[test]
fn our_client_certificate_accepted_by_rustls() {
    let pki = Pki::new("Interop CA");
    let id = pki.issue(&["client.test"], KeyType::Ed25519, true);
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let mut theirs = rustls_server(&pki, KeyType::P256, None, Some(&pki));
    let mut ours = Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
    pump_rustls(&mut ours, &mut theirs).unwrap();
    let rustls::Connection::Server(s) = &theirs else {
        unreachable!()
    };
    assert_eq!(s.peer_certificates().map(|c| c.len()), Some(1));
}

#[test]
fn rustls_key_update_reaches_us() {
    let pki = Pki::new("Interop CA");
    let client = client_builder(&pki).build().unwrap();
    let mut theirs = rustls_server(&pki, KeyType::P256, None, None);
    let mut ours = Connection::new_client(client, Some("localhost")).unwrap();
    pump_rustls(&mut ours, &mut theirs).unwrap();
    for _ in 0..3 {
        ours.key_update(true).unwrap();
        ours.write(b"after update").unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap();
        let mut got = vec![0u8; 12];
        theirs.reader().read_exact(&mut got).unwrap();
        assert_eq!(got, b"after update");
        theirs.writer().write_all(b"reply").unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap();
        assert_eq!(read_all(&mut ours), b"reply");
    }
}
