//! Handshake Again in TLS 1.2: secure renegotiation (RFC 5746) between our client and our
//! server in both directions — the server asking for the client's certificate after the
//! handshake (the seed's scenario), a client starting one, the server asking for one — the
//! point in the byte stream where the new handshake's identity begins, and every refusal.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{AlertDescription, ProtocolVersion};
use ferrotls::config::{Config, ConfigBuilder, VerifyMode};
use ferrotls::conn::{Connection, MAX_RENEGOTIATIONS_PER_MINUTE, ReadStatus, Step};
use ferrotls::error::{Error, Reason};

fn tls12(b: &mut ConfigBuilder) {
    b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
        .unwrap();
}

/// The seed's server in TLS 1.2: no certificate asked for in the handshake; later, when a
/// request needs one, a renegotiation asks and `mode` checks the answer.
fn seed_server(pki: &Pki, mode: VerifyMode, tweak: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut sb = server_builder(pki, KeyType::P256);
    tls12(&mut sb);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(mode).unwrap();
    sb.set_post_handshake_auth(true);
    tweak(&mut sb);
    sb.build().unwrap()
}

fn client(pki: &Pki, id: Option<&Identity>, tweak: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut cb = client_builder(pki);
    if let Some(id) = id {
        cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
            .unwrap();
    }
    tweak(&mut cb);
    cb.build().unwrap()
}

fn established(client: &Arc<Config>, server: &Arc<Config>) -> (Connection, Connection) {
    let (mut c, mut s) = pair(client, server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(s.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    (c, s)
}

/// Read until WouldBlock: each Data chunk, and `None` for each PeerAuthenticated, in order.
fn reads(conn: &mut Connection) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf).unwrap() {
            ReadStatus::Data(n) => out.push(Some(buf[..n].to_vec())),
            ReadStatus::PeerAuthenticated => out.push(None),
            ReadStatus::WouldBlock | ReadStatus::Closed => return out,
        }
    }
}

/// Pump both ways until neither side has anything to send.
fn settle(c: &mut Connection, s: &mut Connection) -> Result<(), Error> {
    for _ in 0..20 {
        let a = transfer(c, s)?;
        let b = transfer(s, c)?;
        if a == 0 && b == 0 {
            return Ok(());
        }
    }
    panic!("the connections did not settle in 20 round trips");
}

fn with_certificate(mode: VerifyMode) -> (Pki, Connection, Connection) {
    let pki = Pki::new("Renegotiation CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    let (c, s) = established(
        &client(&pki, Some(&id), |_| {}),
        &seed_server(&pki, mode, |_| {}),
    );
    (pki, c, s)
}

#[test]
fn the_seeds_scenario_in_tls12_with_the_boundary_in_the_stream() {
    let (_pki, mut c, mut s) = with_certificate(VerifyMode::RequireClientCert);
    assert!(
        s.peer_certificates().is_empty(),
        "none asked for in the handshake"
    );
    // The first request arrives unauthenticated; the server learns it needs a certificate.
    c.write(b"GET /private").unwrap();
    transfer(&mut c, &mut s).unwrap();
    s.request_client_certificate().unwrap();
    assert!(
        matches!(s.request_client_certificate(), Err(Error::Usage(_))),
        "one request at a time"
    );
    let mut before = [0u8; 32];
    s.export_keying_material(&mut before, b"label", None)
        .unwrap();
    // The HelloRequest reaches the client, which starts Step One again; bytes it sends
    // before the new handshake completes are still the unauthenticated client's.
    transfer(&mut s, &mut c).unwrap();
    c.write(b" HTTP/1.1\r\n").unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(s.awaiting_step(), Step::ClientCertificate);
    let mut during = [0u8; 32];
    s.export_keying_material(&mut during, b"label", None)
        .unwrap();
    assert_eq!(
        before, during,
        "the last handshake's secrets are in use meanwhile"
    );
    // The server writes while the new handshake runs, too.
    s.write(b"100 wait").unwrap();
    settle(&mut c, &mut s).unwrap();
    assert_eq!(s.awaiting_step(), Step::ApplicationData);
    assert_eq!(c.awaiting_step(), Step::ApplicationData);
    c.write(b"\r\n").unwrap();
    transfer(&mut c, &mut s).unwrap();
    // read stops at the point where the client authenticated; the identity changes there.
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    loop {
        match s.read(&mut buf).unwrap() {
            ReadStatus::Data(n) => {
                assert!(
                    s.peer_certificates().is_empty(),
                    "still the unauthenticated client"
                );
                got.extend_from_slice(&buf[..n]);
            }
            ReadStatus::PeerAuthenticated => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, b"GET /private HTTP/1.1\r\n");
    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
    assert_eq!(reads(&mut s), vec![Some(b"\r\n".to_vec())]);
    assert_eq!(reads(&mut c), vec![Some(b"100 wait".to_vec())]);
    let mut after = [0u8; 32];
    s.export_keying_material(&mut after, b"label", None)
        .unwrap();
    assert_ne!(before, after, "the new handshake's secrets");
    let mut client_after = [0u8; 32];
    c.export_keying_material(&mut client_after, b"label", None)
        .unwrap();
    assert_eq!(after, client_after);
    roundtrip(&mut s, &mut c, b"200 ok");
}

fn roundtrip(a: &mut Connection, b: &mut Connection, data: &[u8]) {
    assert_eq!(send_recv(a, b, data), data);
}
