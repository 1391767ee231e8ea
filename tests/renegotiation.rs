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

/// A plain TLS 1.2 server; `tweak` adds settings.
fn plain_server(pki: &Pki, tweak: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut sb = server_builder(pki, KeyType::P256);
    tls12(&mut sb);
    tweak(&mut sb);
    sb.build().unwrap()
}

#[test]
fn a_client_renegotiation_is_declined_by_default_and_accepted_when_allowed() {
    let pki = Pki::new("Renegotiation CA");
    let cc = client(&pki, None, |_| {});
    // Declined with a warning; both go on with the keys they have.
    let (mut c, mut s) = established(&cc, &plain_server(&pki, |_| {}));
    c.renegotiate().unwrap();
    settle(&mut c, &mut s).unwrap();
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::NoRenegotiation, true))
    );
    assert_eq!(c.awaiting_step(), Step::ApplicationData);
    roundtrip(&mut c, &mut s, b"after the refusal");
    assert_eq!(reads(&mut s), vec![], "no boundary: nothing changed");

    // Accepted: a full new handshake, new keys, and the point where it completed.
    let (mut c, mut s) = established(
        &cc,
        &plain_server(&pki, |b| b.set_client_renegotiation(true)),
    );
    let mut before = [0u8; 16];
    c.export_keying_material(&mut before, b"l", None).unwrap();
    c.write(b"before").unwrap();
    c.renegotiate().unwrap();
    c.write(b" during").unwrap();
    settle(&mut c, &mut s).unwrap();
    assert_eq!(c.awaiting_step(), Step::ApplicationData);
    assert_eq!(s.awaiting_step(), Step::ApplicationData);
    c.write(b"after").unwrap();
    transfer(&mut c, &mut s).unwrap();
    let got = reads(&mut s);
    assert_eq!(
        got,
        vec![
            Some(b"before during".to_vec()),
            None,
            Some(b"after".to_vec())
        ]
    );
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    c.export_keying_material(&mut a, b"l", None).unwrap();
    s.export_keying_material(&mut b, b"l", None).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, before);
    roundtrip(&mut s, &mut c, b"and back");
}

#[test]
fn a_server_asks_for_a_new_handshake_and_the_client_keeps_its_identity() {
    let pki = Pki::new("Renegotiation CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    // Client authentication in the handshake (no post-handshake setting): the new handshake
    // asks again, and the identity carries over.
    let sc = plain_server(&pki, |b| {
        b.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
        b.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    });
    let (mut c, mut s) = established(&client(&pki, Some(&id), |_| {}), &sc);
    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
    s.renegotiate().unwrap();
    assert!(
        matches!(s.renegotiate(), Err(Error::Usage(_))),
        "one at a time"
    );
    settle(&mut c, &mut s).unwrap();
    assert_eq!(reads(&mut s), vec![None]);
    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
    roundtrip(&mut c, &mut s, b"same client");
}

#[test]
fn a_client_that_declines_the_request_gives_no_certificate() {
    let pki = Pki::new("Renegotiation CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    let declining = client(&pki, Some(&id), |b| b.set_renegotiation(false));
    // Optional: the answer is "none", at a point of the stream, and the connection goes on.
    let (mut c, mut s) = established(
        &declining,
        &seed_server(&pki, VerifyMode::RequestClientCert, |_| {}),
    );
    c.write(b"GET /private").unwrap();
    transfer(&mut c, &mut s).unwrap();
    s.request_client_certificate().unwrap();
    settle(&mut c, &mut s).unwrap();
    assert_eq!(
        c.last_alert(),
        Some((AlertDescription::NoRenegotiation, true))
    );
    assert_eq!(reads(&mut s), vec![Some(b"GET /private".to_vec()), None]);
    assert!(s.peer_certificates().is_empty());
    roundtrip(&mut s, &mut c, b"403");
    // Required: fatal, with the reason and what to do.
    let (mut c, mut s) = established(
        &declining,
        &seed_server(&pki, VerifyMode::RequireClientCert, |_| {}),
    );
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    let err = transfer(&mut c, &mut s).unwrap_err();
    assert_eq!(err.reason(), Some(Reason::NoClientCertificate), "{err}");
    assert!(
        err.to_string().contains("declined the new handshake"),
        "{err}"
    );
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::HandshakeFailure, true))
    );
}

#[test]
fn a_client_without_a_certificate_answers_the_request_with_none() {
    let pki = Pki::new("Renegotiation CA");
    let cc = client(&pki, None, |_| {});
    let (mut c, mut s) = established(
        &cc,
        &seed_server(&pki, VerifyMode::RequestClientCert, |_| {}),
    );
    s.request_client_certificate().unwrap();
    settle(&mut c, &mut s).unwrap();
    assert_eq!(reads(&mut s), vec![None]);
    assert!(s.peer_certificates().is_empty());
    // Required: the new handshake fails as a handshake without one would.
    let (mut c, mut s) = established(
        &cc,
        &seed_server(&pki, VerifyMode::RequireClientCert, |_| {}),
    );
    s.request_client_certificate().unwrap();
    let err = settle(&mut c, &mut s).unwrap_err();
    assert_eq!(err.reason(), Some(Reason::NoClientCertificate), "{err}");
    let text = s.error().unwrap().to_string();
    assert!(
        text.starts_with(
            "TLS renegotiation (Handshake Again) failed at Step Seven: Client Certificate"
        ),
        "{text}"
    );
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused_in_the_renegotiation() {
    let pki = Pki::new("Renegotiation CA");
    let rogue = Pki::new("Rogue CA").issue(&["rogue"], KeyType::P256, true);
    let (mut c, mut s) = established(
        &client(&pki, Some(&rogue), |_| {}),
        &seed_server(&pki, VerifyMode::RequestClientCert, |_| {}),
    );
    s.request_client_certificate().unwrap();
    let err = settle(&mut c, &mut s).unwrap_err();
    assert!(matches!(err, Error::Certificate { .. }), "{err:?}");
    assert!(s.peer_certificates().is_empty());
}

#[test]
fn request_client_certificate_usage_errors_change_nothing() {
    let pki = Pki::new("Renegotiation CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    let cc = client(&pki, Some(&id), |_| {});
    // No verification mode that accepts a certificate.
    let (mut c, mut s) = established(&cc, &plain_server(&pki, |_| {}));
    let err = s.request_client_certificate().unwrap_err();
    assert!(err.to_string().contains("verification mode"), "{err}");
    // Renegotiation switched off on the server.
    let (_, mut s2) = established(
        &cc,
        &seed_server(&pki, VerifyMode::RequestClientCert, |b| {
            b.set_renegotiation(false)
        }),
    );
    let err = s2.request_client_certificate().unwrap_err();
    assert!(err.to_string().contains("switched off"), "{err}");
    // Closing.
    let (mut c3, mut s3) = established(
        &cc,
        &seed_server(&pki, VerifyMode::RequestClientCert, |_| {}),
    );
    c3.close();
    transfer(&mut c3, &mut s3).unwrap();
    let err = s3.request_client_certificate().unwrap_err();
    assert!(err.to_string().contains("closing"), "{err}");
    // A client asks nothing of a server; nor before its handshake.
    assert!(matches!(
        c.request_client_certificate(),
        Err(Error::Usage(_))
    ));
    let (mut c4, _) = pair(&cc, &plain_server(&pki, |_| {}), "localhost");
    assert!(matches!(c4.renegotiate(), Err(Error::Usage(_))));
    // Every connection is still usable.
    roundtrip(&mut c, &mut s, b"fine");
}

#[test]
fn a_server_accepts_a_bounded_number_of_client_renegotiations() {
    let pki = Pki::new("Renegotiation CA");
    // The client has its own bound too; give it a fresh connection's budget by having the
    // server start none: the client's are the server's to count.
    let (mut c, mut s) = established(
        &client(&pki, None, |_| {}),
        &plain_server(&pki, |b| b.set_client_renegotiation(true)),
    );
    for i in 0..MAX_RENEGOTIATIONS_PER_MINUTE {
        c.renegotiate()
            .unwrap_or_else(|e| panic!("renegotiation {i}: {e}"));
        settle(&mut c, &mut s).unwrap();
        assert_eq!(reads(&mut s), vec![None], "renegotiation {i} completed");
    }
    // The client's own bound stops the next one before the server's would.
    let err = c.renegotiate().unwrap_err();
    assert!(err.to_string().contains("within a minute"), "{err}");
    roundtrip(&mut c, &mut s, b"still fine");
    // The server's own request counts against its bound.
    let err = s.renegotiate().unwrap_err();
    assert!(err.to_string().contains("within a minute"), "{err}");
}

/// The server's certificate may not change across a renegotiation (the triple-handshake
/// class of attacks), unless the client allows it.
#[derive(Debug)]
struct Alternate {
    certs: [Arc<ferrotls::config::CertifiedKey>; 2],
    next: std::sync::atomic::AtomicUsize,
}

impl ferrotls::select::CertResolver for Alternate {
    fn resolve(
        &self,
        _: &ferrotls::select::ClientHelloInfo<'_>,
    ) -> Option<Arc<ferrotls::config::CertifiedKey>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(self.certs[i % 2].clone())
    }
}

#[test]
fn a_server_that_changes_its_certificate_is_refused_unless_allowed() {
    let pki = Pki::new("Renegotiation CA");
    let ck = |id: Identity| {
        ferrotls::config::CertifiedKey::from_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
            .unwrap()
    };
    let server = || {
        plain_server(&pki, |b| {
            b.set_cert_resolver(Arc::new(Alternate {
                certs: [
                    ck(pki.issue(&["localhost"], KeyType::P256, false)),
                    ck(pki.issue(&["localhost"], KeyType::P256, false)),
                ],
                next: Default::default(),
            }))
            .unwrap();
        })
    };
    let (mut c, mut s) = established(&client(&pki, None, |_| {}), &server());
    s.renegotiate().unwrap();
    let err = settle(&mut c, &mut s).unwrap_err();
    assert_eq!(err.reason(), Some(Reason::PeerCertificateChanged), "{err}");
    assert!(
        err.to_string().contains("set_peer_certificate_change"),
        "{err}"
    );
    assert_eq!(
        c.last_alert(),
        Some((AlertDescription::HandshakeFailure, true))
    );

    let (mut c, mut s) = established(
        &client(&pki, None, |b| b.set_peer_certificate_change(true)),
        &server(),
    );
    let first = c.peer_certificates().to_vec();
    s.renegotiate().unwrap();
    settle(&mut c, &mut s).unwrap();
    assert_ne!(c.peer_certificates(), &first[..]);
    roundtrip(&mut s, &mut c, b"another certificate, allowed");
}

#[test]
fn tls13_has_no_renegotiation() {
    let pki = Pki::new("Renegotiation CA");
    let (mut c, mut s) = pair(
        &client(&pki, None, |_| {}),
        &server_builder(&pki, KeyType::P256).build().unwrap(),
        "localhost",
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(s.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    for err in [c.renegotiate().unwrap_err(), s.renegotiate().unwrap_err()] {
        assert!(err.to_string().contains("TLS 1.3 has none"), "{err}");
    }
    roundtrip(&mut c, &mut s, b"fine");
}

/// The second handshake is traced in the seed's words.
#[test]
fn the_new_handshake_is_traced_as_handshake_again() {
    let (_pki, mut c, mut s) = with_certificate(VerifyMode::RequestClientCert);
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    s.set_trace(Some(Box::new(move |e: &ferrotls::conn::TraceEvent<'_>| {
        sink.lock().unwrap().push(e.text.to_string())
    })));
    s.request_client_certificate().unwrap();
    settle(&mut c, &mut s).unwrap();
    let lines = lines.lock().unwrap().join("\n");
    for want in [
        "Handshake Again: asking for the client's certificate in a new handshake",
        "Handshake Again: Step One again, the client answers our HelloRequest",
        "handshake out: Handshake Again: Step Two: ServerHello",
        "handshake out: Handshake Again: Step Five: CertificateRequest",
        "handshake in:  Handshake Again: Step Seven: Client Certificate",
        "handshake in:  Handshake Again: Step Nine: CertificateVerify",
        "handshake in:  Handshake Again: Step Ten: ChangeCipherSpec",
        "Handshake Again: the client is authenticated from here on",
        "Handshake Again complete",
    ] {
        assert!(lines.contains(want), "missing {want:?} in\n{lines}");
    }
}

fn roundtrip(a: &mut Connection, b: &mut Connection, data: &[u8]) {
    assert_eq!(send_recv(a, b, data), data);
}
