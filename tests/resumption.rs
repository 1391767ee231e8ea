//! Session resumption in memory: TLS 1.3 tickets (with and without HelloRetryRequest),
//! TLS 1.2 session ids and tickets, session blobs, and every way a session can go bad
//! (expired, forged, tampered, unknown, retired key, EMS mismatch) ending in a full
//! handshake rather than an error.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use ferrotls::codec::enums::{NamedGroup, ProtocolVersion};
use ferrotls::config::{Config, ConfigBuilder};
use ferrotls::conn::{Connection, HandshakeKind, TraceEvent, TraceKind};

const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;
const V13: ProtocolVersion = ProtocolVersion::TLSv1_3;

/// Handshake messages each side sent, from the trace.
type Sent = Arc<Mutex<Vec<String>>>;

fn traced(conn: &mut Connection) -> Sent {
    let sent: Sent = Arc::default();
    let s = sent.clone();
    conn.set_trace(Some(Box::new(move |e: &TraceEvent<'_>| {
        if matches!(
            e.kind,
            TraceKind::HandshakeOut | TraceKind::State | TraceKind::Negotiated
        ) {
            s.lock().unwrap().push(e.text.to_string());
        }
    })));
    sent
}

fn sent_certificate(sent: &Sent) -> bool {
    sent.lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with("handshake out") && l.contains("Certificate"))
}

struct Setup {
    client: Arc<Config>,
    server: Arc<Config>,
}

fn setup(version: ProtocolVersion, edit_server: impl FnOnce(&mut ConfigBuilder)) -> (Pki, Setup) {
    let pki = Pki::new("Resume CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_versions(version, version).unwrap();
    edit_server(&mut sb);
    let mut cb = client_builder(&pki);
    cb.set_versions(V12, V13).unwrap();
    let s = Setup {
        client: cb.build().unwrap(),
        server: sb.build().unwrap(),
    };
    (pki, s)
}

/// One connection; returns (client, server, what the server sent).
fn connect(s: &Setup) -> (Connection, Connection, Sent) {
    let (mut c, mut srv) = pair(&s.client, &s.server, "localhost");
    let sent = traced(&mut srv);
    handshake(&mut c, &mut srv).unwrap();
    // Tickets travel after the handshake.
    assert_eq!(send_recv(&mut srv, &mut c, b"ping"), b"ping");
    (c, srv, sent)
}

fn assert_resumed(c: &Connection, s: &Connection, sent: &Sent) {
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed));
    assert_eq!(s.handshake_kind(), Some(HandshakeKind::Resumed));
    assert!(
        !sent_certificate(sent),
        "a resumed server sends no Certificate"
    );
    let t = sent.lock().unwrap().join("\n");
    assert!(t.contains("abbreviated handshake (resumed session)"), "{t}");
    assert!(!c.peer_certificates().is_empty(), "the peer chain is kept");
}

fn assert_full(c: &Connection, s: &Connection) {
    assert_ne!(c.handshake_kind(), Some(HandshakeKind::Resumed));
    assert_ne!(s.handshake_kind(), Some(HandshakeKind::Resumed));
}

#[test]
fn tls13_resumes_from_the_client_cache_and_uses_a_ticket_once() {
    let (_pki, s) = setup(V13, |_| {});
    let (c1, s1, sent1) = connect(&s);
    assert_full(&c1, &s1);
    assert!(sent_certificate(&sent1));
    assert!(c1.session().is_some(), "a ticket arrived");
    // The server sent two tickets: two resumptions, then a full handshake.
    let (c2, s2, sent2) = connect(&s);
    assert_resumed(&c2, &s2, &sent2);
    let mut buf = [0u8; 32];
    let mut buf2 = [0u8; 32];
    c2.export_keying_material(&mut buf, b"EXPORTER-test", None)
        .unwrap();
    s2.export_keying_material(&mut buf2, b"EXPORTER-test", None)
        .unwrap();
    assert_eq!(buf, buf2);
    // Each resumed connection got new tickets, so resumption keeps working.
    for _ in 0..3 {
        let (c, s, sent) = connect(&s);
        assert_resumed(&c, &s, &sent);
    }
}

#[test]
fn tls13_resumes_through_hello_retry_request() {
    let pki = Pki::new("HRR CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_groups(&[NamedGroup::secp384r1]).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519, NamedGroup::secp384r1])
        .unwrap();
    let s = Setup {
        client: cb.build().unwrap(),
        server,
    };
    let (c1, _, _) = connect(&s);
    assert_eq!(c1.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    let (c2, s2, sent) = connect(&s);
    assert_resumed(&c2, &s2, &sent);
    assert_eq!(c2.group(), Some(NamedGroup::secp384r1));
}

#[test]
fn tls12_resumes_by_session_id_and_by_ticket() {
    // Session ids only.
    let (_pki, s) = setup(V12, |b| b.set_ticket_lifetime(0).unwrap());
    let (c1, s1, _) = connect(&s);
    assert_full(&c1, &s1);
    for _ in 0..2 {
        let (c, srv, sent) = connect(&s);
        assert_resumed(&c, &srv, &sent);
        assert!(
            sent.lock()
                .unwrap()
                .iter()
                .all(|l| !l.contains("NewSessionTicket"))
        );
    }
    // Tickets, with the session-id cache off.
    let (_pki, s) = setup(V12, |b| b.set_session_cache(0).unwrap());
    let (c1, s1, sent1) = connect(&s);
    assert_full(&c1, &s1);
    assert!(
        sent1
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("NewSessionTicket"))
    );
    for _ in 0..2 {
        let (c, srv, sent) = connect(&s);
        assert_resumed(&c, &srv, &sent);
    }
}

#[test]
fn sessions_travel_as_blobs_between_configurations() {
    for v in [V12, V13] {
        let (pki, s) = setup(v, |_| {});
        let (c1, _, _) = connect(&s);
        let blob = c1.session().expect("a session");
        // A second client configuration with no cache of its own.
        let mut cb = client_builder(&pki);
        cb.set_session_cache(0).unwrap();
        let other = Setup {
            client: cb.build().unwrap(),
            server: s.server.clone(),
        };
        let mut c = Connection::new_client(other.client.clone(), Some("localhost")).unwrap();
        c.set_session(&blob).unwrap();
        let mut srv = Connection::new_server(other.server.clone()).unwrap();
        let sent = traced(&mut srv);
        handshake(&mut c, &mut srv).unwrap();
        assert_resumed(&c, &srv, &sent);
        assert_eq!(c.protocol_version(), Some(v));
    }
}

#[test]
fn bad_blobs_are_clear_errors() {
    let (_pki, s) = setup(V13, |_| {});
    let (c1, _, _) = connect(&s);
    let blob = c1.session().unwrap();
    let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
    for bad in [
        Vec::new(),
        b"garbage".to_vec(),
        {
            let mut b = blob.clone();
            b[10] ^= 1;
            b
        },
        {
            let mut b = blob.clone();
            b[4] = 9;
            b
        },
        blob[..blob.len() - 1].to_vec(),
    ] {
        let e = c.set_session(&bad).unwrap_err().to_string();
        assert!(
            e.contains("session blob") || e.contains("ferrotls session"),
            "{e}"
        );
    }
    let mut other = Connection::new_client(s.client.clone(), Some("example.com")).unwrap();
    assert!(
        other
            .set_session(&blob)
            .unwrap_err()
            .to_string()
            .contains("is for 'localhost'")
    );
    let mut srv = Connection::new_server(s.server.clone()).unwrap();
    assert!(srv.set_session(&blob).is_err());
    // After I/O the ClientHello is gone: too late.
    let n = c.outgoing_len();
    c.consume_outgoing(n);
    assert!(
        c.set_session(&blob)
            .unwrap_err()
            .to_string()
            .contains("before")
    );
}

/// Resume with a blob whose ticket bytes were replaced: the server does a full handshake.
fn resume_with_ticket(
    s: &Setup,
    edit: impl Fn(&mut Vec<u8>) -> Vec<u8>,
) -> (Connection, Connection) {
    let (c1, _, _) = connect(s);
    let mut blob = c1.session().unwrap();
    let blob = edit(&mut blob);
    let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
    c.set_session(&blob).unwrap();
    let mut srv = Connection::new_server(s.server.clone()).unwrap();
    handshake(&mut c, &mut srv).unwrap();
    (c, srv)
}

/// Rewrite the ticket inside a blob and fix its checksum (a client-side forger).
fn forge(blob: &[u8], f: impl Fn(&mut [u8])) -> Vec<u8> {
    // Layout: magic(4) version(1) proto(2) suite(2) secret<1> [1.3: age_add(4)] ticket<2> ...
    let mut b = blob[..blob.len() - 32].to_vec();
    let secret_len = usize::from(b[9]);
    let mut at = 10 + secret_len;
    if b[5..7] == [3, 4] {
        at += 4;
    } else {
        at += 1;
        at += 1 + usize::from(b[at]);
    }
    let len = usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    f(&mut b[at + 2..at + 2 + len]);
    let sum = ring_sha256(&b);
    b.extend_from_slice(&sum);
    b
}

fn ring_sha256(data: &[u8]) -> Vec<u8> {
    ferrotls::crypto::hash::HashAlgorithm::Sha256
        .hash(data)
        .as_ref()
        .to_vec()
}

#[test]
fn forged_tampered_and_unknown_tickets_fall_back_to_full_handshakes() {
    for v in [V12, V13] {
        let (_pki, s) = setup(v, |b| b.set_session_cache(0).unwrap());
        // Tampered: one bit of the sealed state.
        let (c, srv) = resume_with_ticket(&s, |b| forge(b, |t| t[t.len() / 2] ^= 1));
        assert_full(&c, &srv);
        // Forged: random bytes of the right length.
        let (c, srv) = resume_with_ticket(&s, |b| forge(b, |t| t.fill(0x5a)));
        assert_full(&c, &srv);
        // Unknown: a genuine ticket from another server configuration (other keys).
        let (_pki2, s2) = setup(v, |b| b.set_session_cache(0).unwrap());
        let (c2, _, _) = connect(&s2);
        let foreign = c2.session().unwrap();
        let (c, srv) = resume_with_ticket(&s, |_| foreign.clone());
        assert_full(&c, &srv);
        // Each fallback still gives the client a fresh session.
        assert!(c.session().is_some());
    }
}

#[test]
fn unknown_session_id_falls_back_to_a_full_handshake() {
    let (_pki, s) = setup(V12, |b| b.set_ticket_lifetime(0).unwrap());
    let (c1, _, _) = connect(&s);
    let blob = c1.session().unwrap();
    // A server with its own (empty) cache does not know the id.
    let (_pki2, s2) = setup(V12, |b| b.set_ticket_lifetime(0).unwrap());
    let mut srv = Connection::new_server(s2.server.clone()).unwrap();
    let sent = traced(&mut srv);
    // The other server's certificate is from another CA: accept any for this test.
    let mut cb = ConfigBuilder::new(ferrotls::config::Role::Client);
    cb.set_verify_mode(ferrotls::config::VerifyMode::DangerousNoVerify)
        .unwrap();
    let mut c = Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
    c.set_session(&blob).unwrap();
    handshake(&mut c, &mut srv).unwrap();
    assert_full(&c, &srv);
    assert!(
        sent.lock()
            .unwrap()
            .join("\n")
            .contains("refused because it is not in our cache")
    );
}

static NOW: AtomicU64 = AtomicU64::new(1_000_000_000);
fn test_clock() -> u64 {
    NOW.load(Ordering::SeqCst)
}

#[test]
fn expired_tickets_and_retired_keys_mean_full_handshakes() {
    for v in [V12, V13] {
        let pki = Pki::new("Clock CA");
        let mut sb = server_builder(&pki, KeyType::P256);
        sb.set_versions(v, v).unwrap();
        sb.set_session_cache(0).unwrap();
        sb.set_ticket_lifetime(100).unwrap();
        sb.set_ticket_key_rotation(10).unwrap();
        sb.set_clock(test_clock);
        let mut cb = client_builder(&pki);
        cb.set_clock(test_clock);
        let s = Setup {
            client: cb.build().unwrap(),
            server: sb.build().unwrap(),
        };
        let at = |secs: u64| NOW.store(2_000_000_000 + secs * 1000, Ordering::SeqCst);
        // A ticket one rotation old is still opened by the previous key.
        at(0);
        let (c1, _, _) = connect(&s);
        let blob = c1.session().unwrap();
        let resume = |blob: &[u8]| {
            let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
            c.set_session(blob).unwrap();
            let mut srv = Connection::new_server(s.server.clone()).unwrap();
            handshake(&mut c, &mut srv).unwrap();
            (c, srv)
        };
        at(15);
        let (c, srv) = resume(&blob);
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed), "{v}");
        assert_eq!(srv.handshake_kind(), Some(HandshakeKind::Resumed));
        // Two rotations later the key is retired, though the ticket has not expired.
        at(35);
        let (c, srv) = resume(&blob);
        assert_full(&c, &srv);
        // An expired ticket: the client does not even offer it; a blob whose clock was
        // wound back is refused by the server.
        at(200);
        let (c_new, _, _) = connect(&s);
        let fresh = c_new.session().unwrap();
        at(200 + 150);
        let (c, srv) = resume(&fresh);
        assert_full(&c, &srv);
        NOW.store(1_000_000_000, Ordering::SeqCst);
    }
}

#[test]
fn tls12_client_aborts_when_the_server_resumes_across_an_ems_change() {
    // RFC 7627 §5.3: our session says "no Extended Master Secret" (edited blob), the server
    // resumes it in a handshake with EMS: the client must abort.
    let (_pki, s) = setup(V12, |_| {});
    let (c1, _, _) = connect(&s);
    let blob = c1.session().unwrap();
    let forged = {
        let mut b = blob[..blob.len() - 32].to_vec();
        let at = 10 + usize::from(b[9]);
        assert_eq!(b[at], 1, "the EMS flag");
        b[at] = 0;
        let sum = ring_sha256(&b);
        b.extend_from_slice(&sum);
        b
    };
    let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
    c.set_session(&forged).unwrap();
    let mut srv = Connection::new_server(s.server.clone()).unwrap();
    let (ce, _) = failing_handshake(&mut c, &mut srv);
    assert!(ce.unwrap().contains("RFC 7627"));
}

static C_NOW: AtomicU64 = AtomicU64::new(0);
static S_NOW: AtomicU64 = AtomicU64::new(0);
fn client_clock() -> u64 {
    C_NOW.load(Ordering::SeqCst)
}
fn server_clock() -> u64 {
    S_NOW.load(Ordering::SeqCst)
}

#[test]
fn the_server_checks_ticket_expiry_and_age_itself() {
    for v in [V12, V13] {
        let pki = Pki::new("Skew CA");
        let mut sb = server_builder(&pki, KeyType::P256);
        sb.set_versions(v, v).unwrap();
        sb.set_session_cache(0).unwrap();
        sb.set_ticket_lifetime(100).unwrap();
        sb.set_ticket_key_rotation(1000).unwrap();
        sb.set_clock(server_clock);
        let mut cb = client_builder(&pki);
        cb.set_clock(client_clock);
        let s = Setup {
            client: cb.build().unwrap(),
            server: sb.build().unwrap(),
        };
        let base = 3_000_000_000u64;
        let at = |client_s: u64, server_s: u64| {
            C_NOW.store(base + client_s * 1000, Ordering::SeqCst);
            S_NOW.store(base + server_s * 1000, Ordering::SeqCst);
        };
        at(0, 0);
        let (c1, _, _) = connect(&s);
        let blob = c1.session().unwrap();
        let resume = |want: &str| {
            let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
            c.set_session(&blob).unwrap();
            let mut srv = Connection::new_server(s.server.clone()).unwrap();
            let sent = traced(&mut srv);
            handshake(&mut c, &mut srv).unwrap();
            let t = sent.lock().unwrap().join("\n");
            if want.is_empty() {
                assert_eq!(
                    srv.handshake_kind(),
                    Some(HandshakeKind::Resumed),
                    "{v}: {t}"
                );
            } else {
                assert_full(&c, &srv);
                assert!(t.contains(want), "{v}: want {want:?} in {t}");
            }
        };
        // Small skew is tolerated.
        at(20, 22);
        resume("");
        // The client's clock says 10 s, the server's 150 s: the ticket has expired.
        at(10, 150);
        resume("expired");
        if v == V13 {
            // TLS 1.3 also compares the obfuscated age with the server's view.
            at(5, 40);
            resume("ticket age differs");
        }
    }
}

#[test]
fn tls12_server_does_not_resume_across_an_ems_change() {
    use ferrotls::codec::extensions::ClientExtension;
    use ferrotls::codec::handshake::{HandshakeMessage, HandshakePayload};
    // RFC 7627 §5.3: a session made with EMS, offered in a ClientHello without EMS, gets a
    // full handshake. Our client always offers EMS, so strip it from its ClientHello.
    let (_pki, s) = setup(V12, |b| {
        b.set_ticket_lifetime(0).unwrap();
        b.set_require_extended_master_secret(false);
    });
    let (c1, _, _) = connect(&s);
    let blob = c1.session().unwrap();
    let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
    c.set_session(&blob).unwrap();
    let rec = c.peek_outgoing().to_vec();
    let mut msg = HandshakeMessage::read(&rec[5..], V12).unwrap();
    let HandshakePayload::ClientHello(ch) = &mut msg.payload else {
        panic!("not a ClientHello")
    };
    let sid = ch.session_id.clone();
    ch.extensions
        .retain(|e| !matches!(e, ClientExtension::ExtendedMasterSecret));
    let body = msg.get_encoding();
    let mut edited = vec![22, 3, 1];
    edited.extend_from_slice(&(body.len() as u16).to_be_bytes());
    edited.extend_from_slice(&body);
    let mut srv = Connection::new_server(s.server.clone()).unwrap();
    let sent = traced(&mut srv);
    srv.feed(&edited).unwrap();
    let t = sent.lock().unwrap().join("\n");
    assert!(t.contains("Extended Master Secret state differs"), "{t}");
    assert!(sent_certificate(&sent), "a full handshake: {t}");
    // And the server did not echo the session id.
    let out = srv.peek_outgoing().to_vec();
    let sh = HandshakeMessage::read(
        &out[5..5 + usize::from(u16::from_be_bytes([out[3], out[4]]))],
        V12,
    )
    .unwrap();
    let HandshakePayload::ServerHello(sh) = sh.payload else {
        panic!("not a ServerHello")
    };
    assert_ne!(sh.session_id, sid);
}

/// NewSessionTicket messages the server sent, from its trace.
fn tickets_sent(sent: &Sent) -> usize {
    sent.lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("handshake out") && l.contains("NewSessionTicket"))
        .count()
}

#[test]
fn tls13_resumed_clients_get_one_ticket_back() {
    let (_pki, s) = setup(V13, |_| {});
    let (c1, s1, sent1) = connect(&s);
    assert_full(&c1, &s1);
    assert_eq!(
        tickets_sent(&sent1),
        2,
        "the default after a full handshake"
    );
    for _ in 0..4 {
        let (c, srv, sent) = connect(&s);
        assert_resumed(&c, &srv, &sent);
        assert_eq!(tickets_sent(&sent), 1, "one spent, one back");
    }
}

static NOW12: AtomicU64 = AtomicU64::new(1_000_000_000);
fn clock12() -> u64 {
    NOW12.load(Ordering::SeqCst)
}

#[test]
fn tls12_tickets_are_renewed_only_when_their_key_retires() {
    let pki = Pki::new("Renew CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_versions(V12, V12).unwrap();
    sb.set_session_cache(0).unwrap();
    sb.set_ticket_key_rotation(10).unwrap();
    sb.set_clock(clock12);
    let mut cb = client_builder(&pki);
    cb.set_clock(clock12);
    let s = Setup {
        client: cb.build().unwrap(),
        server: sb.build().unwrap(),
    };
    let at = |secs: u64| NOW12.store(2_000_000_000 + secs * 1000, Ordering::SeqCst);
    at(0);
    let (c1, s1, sent1) = connect(&s);
    assert_full(&c1, &s1);
    assert_eq!(tickets_sent(&sent1), 1);
    let first = c1.session().unwrap();
    // Under the current key the ticket stays as it is: no NewSessionTicket, and the
    // client keeps resuming with the same session.
    at(1);
    for _ in 0..3 {
        let (c, srv, sent) = connect(&s);
        assert_resumed(&c, &srv, &sent);
        assert_eq!(tickets_sent(&sent), 0);
        assert_eq!(c.session().unwrap(), first);
    }
    // After a rotation the ticket opens with the retiring key: it is renewed under the
    // new one, and that ticket carries the client past the old key's retirement.
    at(15);
    let (c, srv, sent) = connect(&s);
    assert_resumed(&c, &srv, &sent);
    assert_eq!(tickets_sent(&sent), 1);
    assert_ne!(c.session().unwrap(), first);
    at(24);
    let (c, srv, sent) = connect(&s);
    assert_resumed(&c, &srv, &sent);
    assert_eq!(tickets_sent(&sent), 0);
    // The first ticket, though unexpired, no longer opens.
    let mut c = Connection::new_client(s.client.clone(), Some("localhost")).unwrap();
    c.set_session(&first).unwrap();
    let mut srv = Connection::new_server(s.server.clone()).unwrap();
    at(36);
    handshake(&mut c, &mut srv).unwrap();
    assert_full(&c, &srv);
}
