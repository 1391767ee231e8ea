//! Resumption against rustls in memory, both roles and both versions: a rustls client
//! resuming with our server (TLS 1.3 tickets; TLS 1.2 session ids and tickets), and our
//! client resuming with a rustls server (its own session store and ticketer).

mod common;

use std::io::Write;
use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::ProtocolVersion;
use ferrotls::conn::{Connection, HandshakeKind, ReadStatus};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

fn version(v: ProtocolVersion) -> &'static rustls::SupportedProtocolVersion {
    if v == ProtocolVersion::TLSv1_3 {
        &rustls::version::TLS13
    } else {
        &rustls::version::TLS12
    }
}

/// Exchange a little data both ways so TLS 1.3 tickets arrive.
fn talk(ours: &mut Connection, theirs: &mut rustls::Connection) {
    ours.write(b"hi").unwrap();
    theirs.writer().write_all(b"yo").unwrap();
    pump_rustls(ours, theirs).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(ours.read(&mut buf).unwrap(), ReadStatus::Data(2));
}

#[test]
fn rustls_client_resumes_with_our_server() {
    let pki = Pki::new("Rustls Resume CA");
    for v in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
        for tickets in [true, false] {
            let mut sb = server_builder(&pki, KeyType::P256);
            sb.set_versions(v, v).unwrap();
            if !tickets {
                sb.set_ticket_lifetime(0).unwrap();
            }
            let server = sb.build().unwrap();
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(&pki.ca_pem) {
                roots.add(c).unwrap();
            }
            let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[version(v)])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            cfg.resumption = cfg.resumption.tls12_resumption(if tickets {
                rustls::client::Tls12Resumption::SessionIdOrTickets
            } else {
                rustls::client::Tls12Resumption::SessionIdOnly
            });
            let cfg = Arc::new(cfg);
            if v == ProtocolVersion::TLSv1_3 && !tickets {
                continue; // TLS 1.3 resumes only through tickets
            }
            for round in 0..3 {
                let name = ServerName::try_from("localhost").unwrap();
                let mut theirs = rustls::Connection::Client(
                    rustls::ClientConnection::new(cfg.clone(), name).unwrap(),
                );
                let mut ours = Connection::new_server(server.clone()).unwrap();
                pump_rustls(&mut ours, &mut theirs)
                    .unwrap_or_else(|e| panic!("{v} {tickets}: {e}"));
                talk(&mut ours, &mut theirs);
                let want = if round == 0 {
                    HandshakeKind::Full
                } else {
                    HandshakeKind::Resumed
                };
                assert_eq!(
                    ours.handshake_kind(),
                    Some(want),
                    "{v} tickets {tickets} round {round}"
                );
                let rk = theirs.handshake_kind().unwrap();
                assert_eq!(
                    rk == rustls::HandshakeKind::Resumed,
                    round > 0,
                    "{v} tickets {tickets} round {round}: rustls says {rk:?}"
                );
            }
        }
    }
}

#[test]
fn our_client_resumes_with_rustls_server() {
    let pki = Pki::new("Rustls Server Resume CA");
    let id = pki.issue(&["localhost"], KeyType::P256, false);
    for v in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
        for tickets in [true, false] {
            let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[version(v)])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                certs(&id.chain_pem),
                PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
            if tickets {
                cfg.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
            }
            let cfg = Arc::new(cfg);
            let client = client_builder(&pki).build().unwrap();
            for round in 0..3 {
                let mut theirs =
                    rustls::Connection::Server(rustls::ServerConnection::new(cfg.clone()).unwrap());
                let mut ours = Connection::new_client(client.clone(), Some("localhost")).unwrap();
                pump_rustls(&mut ours, &mut theirs)
                    .unwrap_or_else(|e| panic!("{v} {tickets}: {e}"));
                talk(&mut ours, &mut theirs);
                assert_eq!(ours.protocol_version(), Some(v));
                let resumed = ours.handshake_kind() == Some(HandshakeKind::Resumed);
                assert_eq!(resumed, round > 0, "{v} tickets {tickets} round {round}");
                assert_eq!(
                    theirs.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
                    round > 0
                );
                assert!(!ours.peer_certificates().is_empty());
            }
        }
    }
}
