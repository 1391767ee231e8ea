//! Renegotiation attempts against TLS 1.2 connections, driven from inside the crate: a
//! peer's encrypted HelloRequest or ClientHello is easiest to make with its own keys. Also
//! `awaiting`, the step a connection waits for.

use std::sync::Arc;

use super::*;
use crate::config::{ConfigBuilder, VerifyMode};
use crate::error::Reason;

/// A server builder with a fresh self-signed certificate for "localhost".
fn server_builder() -> ConfigBuilder {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let mut sb = ConfigBuilder::new(Role::Server);
    sb.add_cert_key_pem(
        ck.cert.pem().as_bytes(),
        ck.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap();
    sb
}

fn configs() -> (Arc<Config>, Arc<Config>) {
    let sb = server_builder();
    let mut cb = ConfigBuilder::new(Role::Client);
    cb.set_verify_mode(VerifyMode::DangerousNoVerify).unwrap();
    cb.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
        .unwrap();
    (cb.build().unwrap(), sb.build().unwrap())
}

fn transfer(a: &mut Connection, b: &mut Connection) -> Result<(), Error> {
    let data = a.peek_outgoing().to_vec();
    a.consume_outgoing(data.len());
    let n = b.feed(&data)?;
    assert_eq!(n, data.len());
    Ok(())
}

fn established() -> (Connection, Connection) {
    let (cc, sc) = configs();
    let mut c = Connection::new_client(cc, Some("localhost")).unwrap();
    let mut s = Connection::new_server(sc).unwrap();
    for _ in 0..4 {
        transfer(&mut c, &mut s).unwrap();
        transfer(&mut s, &mut c).unwrap();
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    (c, s)
}

fn roundtrip(a: &mut Connection, b: &mut Connection, data: &[u8]) {
    a.write(data).unwrap();
    transfer(a, b).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(b.read(&mut buf).unwrap(), ReadStatus::Data(data.len()));
    assert_eq!(&buf[..data.len()], data);
}

fn hello_request() -> HandshakeMessage {
    HandshakeMessage {
        typ: HandshakeType::HelloRequest,
        payload: HandshakePayload::HelloRequest,
    }
}

/// A TLS 1.2 pair whose client declines renegotiation.
fn established_declining() -> (Connection, Connection) {
    let (_, sc) = configs();
    let mut cb = ConfigBuilder::new(Role::Client);
    cb.set_verify_mode(VerifyMode::DangerousNoVerify).unwrap();
    cb.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
        .unwrap();
    cb.set_renegotiation(false);
    let mut c = Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
    let mut s = Connection::new_server(sc).unwrap();
    for _ in 0..4 {
        transfer(&mut c, &mut s).unwrap();
        transfer(&mut s, &mut c).unwrap();
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    (c, s)
}

/// Handshake Again: by default a client answers a HelloRequest with a secure renegotiation,
/// a ClientHello under the current keys whose renegotiation_info quotes its last Finished
/// (RFC 5746 §3.5); application data keeps flowing meanwhile.
#[test]
fn client_answers_hello_request_with_a_secure_renegotiation() {
    let (mut c, mut s) = established();
    s.common.send_hs(hello_request().payload).unwrap();
    transfer(&mut s, &mut c).unwrap();
    assert!(
        c.common.renegotiating.is_some(),
        "the client started Step One again"
    );
    assert_eq!(c.awaiting_step(), Step::ServerHello);
    // Our server declines a client's renegotiation; the data path is unaffected.
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::NoRenegotiation, true))
    );
    let mut during = [0u8; 16];
    c.export_keying_material(&mut during, b"label", None)
        .expect("the last handshake's exporter is in use meanwhile");
    // The decline reaches the client: back to the traffic state, nothing lost.
    transfer(&mut s, &mut c).unwrap();
    assert!(c.common.renegotiating.is_none());
    assert_eq!(c.awaiting_step(), Step::ApplicationData);
    roundtrip(&mut s, &mut c, b"data after the declined new handshake");
    roundtrip(&mut c, &mut s, b"and back");
    let mut after = [0u8; 16];
    c.export_keying_material(&mut after, b"label", None)
        .unwrap();
    assert_eq!(during, after, "the same secrets throughout");
}

/// Handshake Again asked for by the application: `renegotiate` sends a ClientHello under the
/// current keys; the per-minute bound and TLS 1.3 are usage errors that change nothing.
#[test]
fn renegotiate_is_bounded_and_tls12_only() {
    let (mut c, mut s) = established();
    for i in 0..MAX_RENEGOTIATIONS_PER_MINUTE {
        c.renegotiate()
            .unwrap_or_else(|e| panic!("renegotiation {i}: {e}"));
        assert!(
            matches!(c.renegotiate(), Err(Error::Usage(_))),
            "one at a time"
        );
        transfer(&mut c, &mut s).unwrap(); // our server declines
        transfer(&mut s, &mut c).unwrap();
        assert!(c.common.renegotiating.is_none());
    }
    let err = c.renegotiate().unwrap_err();
    assert!(err.to_string().contains("within a minute"), "{err}");
    roundtrip(&mut c, &mut s, b"still fine");
    // The server's own request (a HelloRequest) meets a client past its bound: declined
    // with a warning, and both go on.
    s.renegotiate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    assert_eq!(
        c.last_alert(),
        Some((AlertDescription::NoRenegotiation, true))
    );
    transfer(&mut c, &mut s).unwrap();
    assert!(s.error().is_none() && c.error().is_none());
    roundtrip(&mut s, &mut c, b"after the declined request");
}

#[test]
fn client_declines_hello_request_and_carries_on() {
    let (mut c, mut s) = established_declining();
    s.common.send_hs(hello_request().payload).unwrap();
    transfer(&mut s, &mut c).unwrap();
    assert_eq!(
        c.last_alert(),
        Some((AlertDescription::NoRenegotiation, true))
    );
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::NoRenegotiation, false))
    );
    roundtrip(&mut c, &mut s, b"still here");
    roundtrip(&mut s, &mut c, b"me too");
}

#[test]
fn server_declines_client_hello_and_carries_on() {
    let (mut c, mut s) = established();
    // Any ClientHello will do: take the one a fresh client sends.
    let (cc, _) = configs();
    let fresh = Connection::new_client(cc, Some("localhost")).unwrap();
    let ch = HandshakeMessage::read(&fresh.peek_outgoing()[5..], ProtocolVersion::TLSv1_2).unwrap();
    c.common.send_hs(ch.payload).unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::NoRenegotiation, true))
    );
    transfer(&mut s, &mut c).unwrap();
    assert!(c.error().is_none());
    roundtrip(&mut c, &mut s, b"after the declined renegotiation");
    roundtrip(&mut s, &mut c, b"ok");
}

#[test]
fn endless_hello_requests_are_cut_off() {
    let (mut c, mut s) = established_declining();
    for _ in 0..=MAX_IDLE_RECORDS {
        s.common.send_hs(hello_request().payload).unwrap();
    }
    let err = transfer(&mut s, &mut c).unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded(ref d) if d.reason == Reason::TooManyIdleRecords && d.text.contains("HelloRequest")),
        "{err:?}"
    );
}

#[test]
fn awaiting_names_the_step_waited_for() {
    let (cc, sc) = configs();
    // The ClientHello is written when the client is made: it waits for the answer.
    let c = Connection::new_client(cc, Some("localhost")).unwrap();
    assert!(!c.peek_outgoing().is_empty());
    assert_eq!(c.awaiting(), "Step Two: ServerHello");
    let mut s = Connection::new_server(sc).unwrap();
    assert_eq!(s.awaiting(), "Step One: ClientHello");

    let (c, s2) = established();
    assert_eq!(c.awaiting(), "application data");
    assert_eq!(s2.awaiting(), "application data");

    // After a failure: the step it failed at, as the error detail says.
    let mut bogus = vec![0x16, 0x03, 0x01, 0x00, 0x04];
    bogus.extend_from_slice(&[0x02, 0x00, 0x00, 0x00]);
    s.feed(&bogus).unwrap_err();
    assert_eq!(s.awaiting(), "Step One: ClientHello");
    let detail = s.error().unwrap().to_string();
    assert!(detail.contains(s.awaiting()), "{detail}");
}

/// RFC 5246 §7.4.1.1: a HelloRequest in the middle of a handshake is ignored by the client,
/// and kept out of its transcript (the handshake still completes).
#[test]
fn hello_request_during_the_handshake_is_ignored() {
    let (cc, sc) = configs();
    let mut c = Connection::new_client(cc, Some("localhost")).unwrap();
    let mut s = Connection::new_server(sc).unwrap();
    transfer(&mut c, &mut s).unwrap(); // ClientHello
    s.common.send_hs(hello_request().payload).unwrap(); // after the server's flight
    transfer(&mut s, &mut c).unwrap();
    assert!(c.error().is_none(), "{:?}", c.error());
    assert!(
        c.last_alert().is_none(),
        "no no_renegotiation warning in a handshake"
    );
    for _ in 0..4 {
        transfer(&mut c, &mut s).unwrap();
        transfer(&mut s, &mut c).unwrap();
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    roundtrip(&mut c, &mut s, b"completed");
    // A HelloRequest with a body is malformed.
    let (cc, sc) = configs();
    let mut c = Connection::new_client(cc, Some("localhost")).unwrap();
    let mut s = Connection::new_server(sc).unwrap();
    transfer(&mut c, &mut s).unwrap();
    let mut bad = s.peek_outgoing().to_vec();
    bad.extend_from_slice(&[22, 3, 3, 0, 5, 0, 0, 0, 1, 0]);
    s.consume_outgoing(s.outgoing_len());
    let err = c.feed(&bad).unwrap_err();
    assert_eq!(err.reason(), Some(Reason::MalformedMessage), "{err}");
}

/// A server that accepts a client's renegotiation.
fn established_allowing() -> (Connection, Connection) {
    let (cc, _) = configs();
    let mut sb = server_builder();
    sb.set_client_renegotiation(true);
    let mut c = Connection::new_client(cc, Some("localhost")).unwrap();
    let mut s = Connection::new_server(sb.build().unwrap()).unwrap();
    for _ in 0..4 {
        transfer(&mut c, &mut s).unwrap();
        transfer(&mut s, &mut c).unwrap();
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    (c, s)
}

/// A ClientHello as a fresh client for `name` writes it (an initial one: empty
/// renegotiation_info), to be changed and sent as a renegotiating one.
fn fresh_client_hello(name: &str) -> crate::codec::handshake::ClientHelloPayload {
    let (cc, _) = configs();
    let fresh = Connection::new_client(cc, Some(name)).unwrap();
    let msg =
        HandshakeMessage::read(&fresh.peek_outgoing()[5..], ProtocolVersion::TLSv1_2).unwrap();
    let HandshakePayload::ClientHello(ch) = msg.payload else {
        panic!("not a ClientHello");
    };
    ch
}

/// The client's verify_data of the last handshake, which a renegotiation must quote.
fn client_verify_data(c: &Connection) -> Vec<u8> {
    let est = c.state.as_ref().unwrap().established().unwrap() as &dyn std::any::Any;
    let est = est
        .downcast_ref::<crate::tls12::handshake::Tls12Established>()
        .unwrap();
    est.client_verify.to_vec()
}

fn set_renegotiation_info(
    ch: &mut crate::codec::handshake::ClientHelloPayload,
    ri: Option<Vec<u8>>,
) {
    use crate::codec::extensions::ClientExtension;
    ch.extensions
        .retain(|e| !matches!(e, ClientExtension::RenegotiationInfo(_)));
    if let Some(ri) = ri {
        ch.extensions.push(ClientExtension::RenegotiationInfo(ri));
    }
}

/// Send `ch` from the client under its current keys; the server's answer (error or not).
fn renegotiate_with(
    c: &mut Connection,
    s: &mut Connection,
    ch: crate::codec::handshake::ClientHelloPayload,
) -> Result<(), Error> {
    c.common.send_hs(HandshakePayload::ClientHello(ch)).unwrap();
    transfer(c, s)
}

/// RFC 5746 §3.7: a renegotiating ClientHello must quote the client's last Finished in
/// renegotiation_info, carry it at all, and carry no SCSV; each is handshake_failure.
#[test]
fn server_checks_the_renegotiation_info_of_a_renegotiation() {
    type Case = (
        &'static str,
        fn(&Connection, &mut crate::codec::handshake::ClientHelloPayload),
    );
    let cases: [Case; 4] = [
        ("does not quote its Finished", |_, ch| {
            set_renegotiation_info(ch, Some(vec![0; 12]))
        }),
        ("does not quote its Finished", |_, ch| {
            set_renegotiation_info(ch, Some(Vec::new()))
        }),
        ("has no renegotiation_info", |_, ch| {
            set_renegotiation_info(ch, None)
        }),
        ("carries TLS_EMPTY_RENEGOTIATION_INFO_SCSV", |c, ch| {
            set_renegotiation_info(ch, Some(client_verify_data(c)));
            ch.cipher_suites
                .push(crate::codec::enums::CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
        }),
    ];
    for (words, change) in cases {
        let (mut c, mut s) = established_allowing();
        let mut ch = fresh_client_hello("localhost");
        change(&c, &mut ch);
        let err = renegotiate_with(&mut c, &mut s, ch).unwrap_err();
        assert_eq!(err.reason(), Some(Reason::BadRenegotiationInfo), "{err}");
        assert!(err.to_string().contains(words), "{err}");
        assert!(matches!(err, Error::HandshakeFailure(_)), "{err:?}");
        let text = s.error().unwrap().to_string();
        assert!(
            text.starts_with("TLS renegotiation (Handshake Again) failed at Step One: ClientHello"),
            "{text}"
        );
        assert_eq!(
            s.last_alert(),
            Some((AlertDescription::HandshakeFailure, true))
        );
    }
    // The right value is accepted: the server answers with its flight.
    let (mut c, mut s) = established_allowing();
    let mut ch = fresh_client_hello("localhost");
    set_renegotiation_info(&mut ch, Some(client_verify_data(&c)));
    renegotiate_with(&mut c, &mut s, ch).unwrap();
    assert_eq!(s.awaiting_step(), Step::ClientKeyExchange);
}

/// A renegotiation keeps the version and the server name it began with.
#[test]
fn a_renegotiation_keeps_version_and_server_name() {
    let (mut c, mut s) = established_allowing();
    let mut ch = fresh_client_hello("other.example");
    set_renegotiation_info(&mut ch, Some(client_verify_data(&c)));
    let err = renegotiate_with(&mut c, &mut s, ch).unwrap_err();
    assert!(err.to_string().contains("names another server"), "{err}");

    let (mut c, mut s) = established_allowing();
    let mut ch = fresh_client_hello("localhost");
    set_renegotiation_info(&mut ch, Some(client_verify_data(&c)));
    ch.extensions.retain(|e| {
        !matches!(
            e,
            crate::codec::extensions::ClientExtension::SupportedVersions(_)
        )
    });
    ch.extensions.push(
        crate::codec::extensions::ClientExtension::SupportedVersions(vec![
            ProtocolVersion::TLSv1_3,
        ]),
    );
    let err = renegotiate_with(&mut c, &mut s, ch).unwrap_err();
    assert!(matches!(err, Error::NoSharedVersion(_)), "{err:?}");
    assert!(err.to_string().contains("keeps the version"), "{err}");
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::ProtocolVersion, true))
    );
}

/// A server's decline of a client that did not show RFC 5746 support: it cannot be asked.
#[test]
fn no_renegotiation_with_a_peer_without_rfc5746() {
    let (_c, mut s) = established_allowing();
    s.common.neg.secure_renegotiation = false;
    let err = s.renegotiate().unwrap_err();
    assert!(err.to_string().contains("RFC 5746"), "{err}");
    let err = s.request_client_certificate().unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
}

#[derive(Debug)]
struct AcceptAnyClient;
impl crate::verify::ClientCertVerifier for AcceptAnyClient {
    fn verify_client_cert(
        &self,
        _: &[pki_types::CertificateDer<'_>],
        _: &Result<(), Error>,
    ) -> Result<(), Error> {
        Ok(())
    }
}

fn self_signed_key() -> Arc<crate::config::CertifiedKey> {
    let ck = rcgen::generate_simple_self_signed(vec!["client.test".to_string()]).unwrap();
    crate::config::CertifiedKey::from_pem(
        ck.cert.pem().as_bytes(),
        ck.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap()
}

/// The client's certificate may not change across a renegotiation (the triple-handshake
/// class of attacks), unless the server allows it; the identity changes at the boundary.
#[test]
fn a_client_that_changes_its_certificate_is_refused_unless_allowed() {
    for allow in [false, true] {
        let mut sb = server_builder();
        sb.set_verify_mode(VerifyMode::RequestClientCert).unwrap();
        sb.set_client_cert_verifier(Arc::new(AcceptAnyClient))
            .unwrap();
        sb.set_peer_certificate_change(allow);
        let (cc, _) = configs();
        let mut c = Connection::new_client(cc, Some("localhost")).unwrap();
        c.set_certificate(self_signed_key()).unwrap();
        let mut s = Connection::new_server(sb.build().unwrap()).unwrap();
        for _ in 0..4 {
            transfer(&mut c, &mut s).unwrap();
            transfer(&mut s, &mut c).unwrap();
        }
        let first = s.peer_certificates().to_vec();
        assert_eq!(first.len(), 1);
        // Another certificate for the next handshake.
        c.common.settings.certs = Some(vec![self_signed_key()]);
        s.renegotiate().unwrap();
        let mut result = Ok(());
        for _ in 0..4 {
            result = transfer(&mut s, &mut c).and_then(|_| transfer(&mut c, &mut s));
            if result.is_err() {
                break;
            }
        }
        if allow {
            result.unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(s.peer_certificates(), &first[..], "until the boundary");
            assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::PeerAuthenticated);
            assert_ne!(s.peer_certificates(), &first[..]);
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.reason(), Some(Reason::PeerCertificateChanged), "{err}");
            assert!(
                err.to_string().contains("the client presented another"),
                "{err}"
            );
            assert_eq!(s.peer_certificates(), &first[..]);
        }
    }
}

/// RFC 5246 §6.2.1 lets record types interleave in TLS 1.2: application data between two
/// fragments of a renegotiating ClientHello is data (TLS 1.3 forbids it, RFC 8446 §5.1).
#[test]
fn tls12_application_data_may_come_between_handshake_fragments() {
    let (mut c, mut s) = established_allowing();
    let mut ch = fresh_client_hello("localhost");
    set_renegotiation_info(&mut ch, Some(client_verify_data(&c)));
    let enc = HandshakeMessage {
        typ: HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch),
    }
    .get_encoding();
    c.common
        .write_records(ContentType::Handshake, &enc[..30])
        .unwrap();
    c.common
        .write_records(ContentType::ApplicationData, b"between")
        .unwrap();
    c.common
        .write_records(ContentType::Handshake, &enc[30..])
        .unwrap();
    transfer(&mut c, &mut s).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::Data(7));
    assert_eq!(&buf[..7], b"between");
    assert_eq!(
        s.awaiting_step(),
        Step::ClientKeyExchange,
        "the ClientHello was whole"
    );
}

/// Between a peer's ChangeCipherSpec and its Finished nothing may come (RFC 5246 §7.1), also
/// in a renegotiation, where application data flows otherwise.
#[test]
fn no_application_data_between_change_cipher_spec_and_finished() {
    let (mut c, mut s) = established_allowing();
    c.renegotiate().unwrap();
    transfer(&mut c, &mut s).unwrap(); // ClientHello
    transfer(&mut s, &mut c).unwrap(); // the server's flight; the client answers
    // Hold the client's flight back, and cut it after its ChangeCipherSpec.
    let flight = c.peek_outgoing().to_vec();
    c.consume_outgoing(flight.len());
    let records = {
        let mut v = Vec::new();
        let mut rest = &flight[..];
        while rest.len() >= 5 {
            let n = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            v.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        v
    };
    let ccs = records
        .iter()
        .position(|r| r[0] == 20)
        .expect("a ChangeCipherSpec in the client's flight");
    for r in &records[..=ccs] {
        s.feed(r).unwrap();
    }
    assert_eq!(s.awaiting_step(), Step::ClientFinished);
    // Application data under the client's new keys, in its Finished's place (sequence 0).
    c.common.record.set_write_seq(0);
    c.write(b"too early").unwrap();
    let forged = c.peek_outgoing().to_vec();
    assert_eq!(forged[0], 23);
    let err = s.feed(&forged).unwrap_err();
    assert!(
        err.to_string().contains("application data between the two"),
        "{err}"
    );
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::UnexpectedMessage, true))
    );
}

/// An abbreviated handshake signs nothing: a TLS 1.2 client that resumes may send no
/// signature_algorithms (which would otherwise mean SHA-1 only, which we do not sign with).
#[test]
fn tls12_resumption_needs_no_signature_scheme() {
    // A session from a first handshake; the server's configuration keeps it in its cache.
    let (cc, sc) = configs();
    let mut c1 = Connection::new_client(cc.clone(), Some("localhost")).unwrap();
    let mut s1 = Connection::new_server(sc.clone()).unwrap();
    for _ in 0..4 {
        transfer(&mut c1, &mut s1).unwrap();
        transfer(&mut s1, &mut c1).unwrap();
    }
    let blob = c1.session().expect("a TLS 1.2 session");
    let mut c2 = Connection::new_client(cc, Some("localhost")).unwrap();
    c2.set_session(&blob).unwrap();
    let msg = HandshakeMessage::read(&c2.peek_outgoing()[5..], ProtocolVersion::TLSv1_2).unwrap();
    let HandshakePayload::ClientHello(mut ch) = msg.payload else {
        panic!("not a ClientHello");
    };
    ch.extensions.retain(|e| {
        !matches!(
            e,
            crate::codec::extensions::ClientExtension::SignatureAlgorithms(_)
                | crate::codec::extensions::ClientExtension::SignatureAlgorithmsCert(_)
        )
    });
    let enc = HandshakeMessage {
        typ: HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch.clone()),
    }
    .get_encoding();
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    record.extend_from_slice(&enc);
    let mut s2 = Connection::new_server(sc.clone()).unwrap();
    s2.feed(&record).unwrap();
    assert_eq!(s2.handshake_kind(), Some(HandshakeKind::Resumed));
    assert_eq!(s2.awaiting_step(), Step::ClientChangeCipherSpec);
    // A full handshake without one is still refused.
    ch.session_id = Vec::new();
    ch.extensions.retain(|e| {
        !matches!(
            e,
            crate::codec::extensions::ClientExtension::SessionTicket(_)
        )
    });
    let enc = HandshakeMessage {
        typ: HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch),
    }
    .get_encoding();
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    record.extend_from_slice(&enc);
    let err = Connection::new_server(sc)
        .unwrap()
        .feed(&record)
        .unwrap_err();
    assert!(matches!(err, Error::NoSharedSignatureScheme(_)), "{err:?}");
}

/// A renegotiation may be abbreviated (the client offers its session): the server resumes
/// it under the current keys, quoting both Finished messages, and its ChangeCipherSpec and
/// Finished come first. (Our client always renegotiates in full; OpenSSL's
/// SSL_renegotiate_abbreviated and tlsfuzzer's scripts do this.)
#[test]
fn a_server_resumes_in_an_abbreviated_renegotiation() {
    let (mut c, mut s) = established_allowing();
    let blob = c.session().expect("a TLS 1.2 session");
    let (cc, _) = configs();
    let mut fresh = Connection::new_client(cc, Some("localhost")).unwrap();
    fresh.set_session(&blob).unwrap();
    let msg =
        HandshakeMessage::read(&fresh.peek_outgoing()[5..], ProtocolVersion::TLSv1_2).unwrap();
    let HandshakePayload::ClientHello(mut ch) = msg.payload else {
        panic!("not a ClientHello");
    };
    assert!(!ch.session_id.is_empty());
    set_renegotiation_info(&mut ch, Some(client_verify_data(&c)));
    renegotiate_with(&mut c, &mut s, ch).unwrap();
    assert_eq!(s.handshake_kind(), Some(HandshakeKind::Resumed));
    assert_eq!(s.awaiting_step(), Step::ClientChangeCipherSpec);
    // The ServerHello, under the current keys, reaches the client's traffic state, which
    // did not ask: it is refused there, as any unexpected message would be.
    let err = transfer(&mut s, &mut c).unwrap_err();
    assert!(err.to_string().contains("ServerHello"), "{err}");
}

/// What an observer saw: (sent, content type, bytes).
type ObserverLog = Arc<std::sync::Mutex<Vec<(bool, u16, Vec<u8>)>>>;

/// The message observer on handshake records our engine never writes itself (the
/// integration tests in tests/message_observer.rs cover what it does write): a message
/// split across two records is reported once, after both headers; two messages in one
/// record are reported one by one.
#[test]
fn observer_joins_split_and_splits_coalesced_messages() {
    let (mut c, mut s) = established();
    let log: ObserverLog = Arc::default();
    let l = log.clone();
    c.set_message_observer(Some(Box::new(move |m: &WireMessage<'_>| {
        l.lock()
            .unwrap()
            .push((m.sent, m.content_type, m.bytes.to_vec()));
    })));
    // A HelloRequest in two records: the client starts a renegotiation on it.
    s.common
        .write_records(ContentType::Handshake, &[0, 0])
        .unwrap();
    s.common
        .write_records(ContentType::Handshake, &[0, 0])
        .unwrap();
    transfer(&mut s, &mut c).unwrap();
    assert!(c.common.renegotiating.is_some());
    // Two in one record while it renegotiates: ignored (RFC 5246 §7.4.1.1), yet received.
    s.common
        .write_records(ContentType::Handshake, &[0; 8])
        .unwrap();
    transfer(&mut s, &mut c).unwrap();
    assert!(c.error().is_none());
    let got: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(sent, typ, b)| match *typ {
            WireMessage::HEADER => (*sent, *typ, vec![b[0]]), // its content type
            WireMessage::HANDSHAKE => (*sent, *typ, b[..4].to_vec()),
            _ => (*sent, *typ, b.clone()),
        })
        .collect();
    let hs = WireMessage::HANDSHAKE;
    let hdr = WireMessage::HEADER;
    assert_eq!(
        got,
        [
            (false, hdr, vec![22]),
            (false, hdr, vec![22]),
            (false, hs, vec![0, 0, 0, 0]),
            (true, hdr, vec![22]),
            (true, hs, got[4].2.clone()), // the renegotiating ClientHello
            (false, hdr, vec![22]),
            (false, hs, vec![0, 0, 0, 0]),
            (false, hs, vec![0, 0, 0, 0]),
        ]
    );
    assert_eq!(got[4].2[0], 1, "a ClientHello");
}
