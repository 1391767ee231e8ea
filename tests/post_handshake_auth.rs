//! Handshake Again in TLS 1.3: post-handshake client authentication (RFC 8446 §4.6.2)
//! between our client and our server, the point in the byte stream where the client's
//! identity begins, and the refusals.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{AlertDescription, ProtocolVersion};
use ferrotls::config::{Config, VerifyMode};
use ferrotls::conn::{Connection, MAX_POST_HANDSHAKE_AUTH, Step};
use ferrotls::error::{Error, Reason};

/// The seed's server: it asks for no certificate in the handshake, and later, when a
/// request needs one, checks the answer with `mode`.
fn server(pki: &Pki, mode: VerifyMode) -> Arc<Config> {
    let mut sb = server_builder(pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(mode).unwrap();
    sb.set_post_handshake_auth(true);
    sb.build().unwrap()
}

fn client(pki: &Pki, id: Option<&Identity>, pha: bool) -> Arc<Config> {
    let mut cb = client_builder(pki);
    if let Some(id) = id {
        cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
            .unwrap();
    }
    cb.set_post_handshake_auth(pha);
    cb.build().unwrap()
}

fn established(client: &Arc<Config>, server: &Arc<Config>) -> (Connection, Connection) {
    let (mut c, mut s) = pair(client, server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(s.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert!(
        s.peer_certificates().is_empty(),
        "no certificate is asked for in the handshake"
    );
    (c, s)
}

/// A client with a certificate and post_handshake_auth, and the seed's server requiring one.
fn with_client_certificate() -> (Connection, Connection) {
    let pki = Pki::new("PHA CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    established(
        &client(&pki, Some(&id), true),
        &server(&pki, VerifyMode::RequireClientCert),
    )
}

#[test]
fn the_seeds_scenario_with_the_boundary_in_the_stream() {
    let (mut c, mut s) = with_client_certificate();
    // The first request arrives unauthenticated; the server learns it needs a certificate.
    c.write(b"GET /private").unwrap();
    transfer(&mut c, &mut s).unwrap();
    s.request_client_certificate().unwrap();
    assert_eq!(s.awaiting_step(), Step::AgainClientCertificate);
    // A second request while one is open is refused and changes nothing.
    assert!(matches!(
        s.request_client_certificate(),
        Err(Error::Usage(_))
    ));
    c.write(b" in flight").unwrap(); // sent before the question arrives
    transfer(&mut c, &mut s).unwrap();
    transfer(&mut s, &mut c).unwrap(); // the CertificateRequest; the client answers
    c.write(b"after").unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(s.awaiting_step(), Step::ApplicationData);
    assert!(
        s.peer_certificates().is_empty(),
        "the identity changes only where the stream reaches it"
    );
    assert_eq!(s.readable(), b"GET /private in flight".len());
    assert_eq!(
        reads(&mut s),
        vec![
            Some(b"GET /private in flight".to_vec()),
            None,
            Some(b"after".to_vec())
        ],
        "read stops where the new authentication begins and reports it once"
    );
    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
    // The connection goes on, both ways, and can authenticate again.
    assert_eq!(send_recv(&mut s, &mut c, b"page"), b"page");
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(reads(&mut s), vec![None]);
    assert_eq!(send_recv(&mut c, &mut s, b"more"), b"more");
    // Keying material still comes from the handshake's exporter secret on both sides.
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    c.export_keying_material(&mut a, b"label", None).unwrap();
    s.export_keying_material(&mut b, b"label", None).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_client_without_a_certificate_is_refused_when_one_is_required() {
    let pki = Pki::new("PHA CA");
    let (mut c, mut s) = established(
        &client(&pki, None, true),
        &server(&pki, VerifyMode::RequireClientCert),
    );
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    let err = transfer(&mut c, &mut s).unwrap_err();
    assert!(matches!(err, Error::CertificateRequired(_)), "{err:?}");
    let e = s.error().unwrap();
    assert_eq!(e.step, Step::AgainClientCertificate);
    assert_eq!(e.alert_sent, Some(AlertDescription::CertificateRequired));
    // Optional: an empty answer is accepted, and the identity stays empty at the boundary.
    let (mut c, mut s) = established(
        &client(&pki, None, true),
        &server(&pki, VerifyMode::RequestClientCert),
    );
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(reads(&mut s), vec![None]);
    assert!(s.peer_certificates().is_empty());
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused() {
    let pki = Pki::new("PHA CA");
    let other = Pki::new("Other CA");
    let rogue = other.issue(&["rogue.test"], KeyType::P256, true);
    let (mut c, mut s) = established(
        &client(&pki, Some(&rogue), true),
        &server(&pki, VerifyMode::RequireClientCert),
    );
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    let err = transfer(&mut c, &mut s).unwrap_err();
    assert!(matches!(err, Error::Certificate { .. }), "{err:?}");
    assert_eq!(
        s.error().unwrap().alert_sent,
        Some(AlertDescription::UnknownCa)
    );
    assert!(
        s.peer_certificates().is_empty(),
        "a refused chain is never reported"
    );
}

#[test]
fn requests_the_protocol_does_not_allow_are_usage_errors() {
    let pki = Pki::new("PHA CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    // The client did not offer post_handshake_auth.
    let (mut c, mut s) = established(
        &client(&pki, Some(&id), false),
        &server(&pki, VerifyMode::RequireClientCert),
    );
    let err = s.request_client_certificate().unwrap_err();
    assert!(err.to_string().contains("post_handshake_auth"), "{err}");
    assert!(s.error().is_none(), "a usage error changes nothing");
    assert_eq!(send_recv(&mut c, &mut s, b"still fine"), b"still fine");
    // A client cannot ask; a server before its handshake cannot either.
    assert!(matches!(
        c.request_client_certificate(),
        Err(Error::Usage(_))
    ));
    let (_, mut fresh) = pair(
        &client(&pki, Some(&id), true),
        &server(&pki, VerifyMode::RequireClientCert),
        "localhost",
    );
    assert!(matches!(
        fresh.request_client_certificate(),
        Err(Error::Usage(_))
    ));
    // A server without post-handshake authentication configured.
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(VerifyMode::RequestClientCert).unwrap();
    let (_c, mut s) = pair(
        &client(&pki, Some(&id), true),
        &sb.build().unwrap(),
        "localhost",
    );
    let mut c = _c;
    handshake(&mut c, &mut s).unwrap();
    assert!(matches!(
        s.request_client_certificate(),
        Err(Error::Usage(_))
    ));
}

#[test]
fn a_client_answers_a_bounded_number_of_requests() {
    let (mut c, mut s) = with_client_certificate();
    for _ in 0..MAX_POST_HANDSHAKE_AUTH {
        s.request_client_certificate().unwrap();
        transfer(&mut s, &mut c).unwrap();
        transfer(&mut c, &mut s).unwrap();
        assert_eq!(reads(&mut s), vec![None]);
    }
    s.request_client_certificate().unwrap();
    let err = transfer(&mut s, &mut c).unwrap_err();
    assert_eq!(
        err.reason(),
        Some(Reason::TooManyCertificateRequests),
        "{err}"
    );
    assert!(err.to_string().contains("more than 16 times"), "{err}");
}

#[test]
fn a_key_update_may_cross_the_request() {
    let (mut c, mut s) = with_client_certificate();
    s.request_client_certificate().unwrap();
    // The client updates its keys before the request reaches it (RFC 8446 §4.6.3 allows a
    // KeyUpdate at any time after its Finished), then answers under the new keys.
    c.key_update(true).unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(s.awaiting_step(), Step::AgainClientCertificate);
    transfer(&mut s, &mut c).unwrap(); // our KeyUpdate answer and the CertificateRequest
    c.write(b"after").unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(reads(&mut s), vec![None, Some(b"after".to_vec())]);
    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
}

#[test]
fn no_request_once_the_connection_is_closing() {
    let (mut c, mut s) = with_client_certificate();
    c.close();
    transfer(&mut c, &mut s).unwrap();
    let err = s.request_client_certificate().unwrap_err();
    assert!(err.to_string().contains("closing"), "{err}");
    let (_c, mut s) = with_client_certificate();
    s.close();
    assert!(matches!(
        s.request_client_certificate(),
        Err(Error::Usage(_))
    ));
}

#[test]
fn a_failed_exchange_is_named_as_post_handshake_authentication() {
    let pki = Pki::new("PHA CA");
    let (mut c, mut s) = established(
        &client(&pki, None, true),
        &server(&pki, VerifyMode::RequireClientCert),
    );
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    let _ = transfer(&mut c, &mut s);
    let text = s.error().unwrap().to_string();
    assert!(
        text.starts_with(
            "TLS post-handshake authentication failed at Handshake Again: Client Certificate"
        ),
        "{text}"
    );
}
