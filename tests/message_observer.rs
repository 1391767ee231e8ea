//! The message observer (`Connection::set_message_observer`, for OpenSSL's
//! `SSL_set_msg_callback`): between our client and our server, in TLS 1.3 and TLS 1.2, each
//! side's reports follow the protocol, every handshake message is whole, and what one side
//! reports sending is what the other reports receiving, byte for byte.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use ferrotls::codec::enums::{NamedGroup, ProtocolVersion};
use ferrotls::config::Config;
use ferrotls::conn::{Connection, HandshakeKind, MessageFn, WireMessage};

/// One report, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    sent: bool,
    version: u16,
    content_type: u16,
    bytes: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn observe(conn: &mut Connection) -> Log {
    let log: Log = Arc::default();
    let l = log.clone();
    let f: MessageFn = Box::new(move |m: &WireMessage<'_>| {
        l.lock().unwrap().push(Seen {
            sent: m.sent,
            version: m.version,
            content_type: m.content_type,
            bytes: m.bytes.to_vec(),
        });
    });
    conn.set_message_observer(Some(f));
    log
}

fn take(log: &Log) -> Vec<Seen> {
    std::mem::take(&mut *log.lock().unwrap())
}

const CCS: u16 = WireMessage::CHANGE_CIPHER_SPEC;
const ALERT: u16 = WireMessage::ALERT;
const HS: u16 = WireMessage::HANDSHAKE;
const HEADER: u16 = WireMessage::HEADER;
const INNER: u16 = WireMessage::INNER_CONTENT_TYPE;

// Handshake types.
const HELLO_REQUEST: u8 = 0;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const NEW_SESSION_TICKET: u8 = 4;
const ENCRYPTED_EXTENSIONS: u8 = 8;
const CERTIFICATE: u8 = 11;
const SERVER_KEY_EXCHANGE: u8 = 12;
const CERTIFICATE_REQUEST: u8 = 13;
const SERVER_HELLO_DONE: u8 = 14;
const CERTIFICATE_VERIFY: u8 = 15;
const CLIENT_KEY_EXCHANGE: u8 = 16;
const FINISHED: u8 = 20;
const KEY_UPDATE: u8 = 24;

/// A message in the protocol's terms: who sent it, and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    Hs(bool, u8),
    Ccs(bool),
    Alert(bool, [u8; 2]),
}
use Msg::*;

/// The messages of a log (headers and inner content types left out), with every check a
/// single report allows: a handshake message is its 4-byte header and the body it announces,
/// a ChangeCipherSpec the byte 1, an alert two bytes, a header five bytes.
fn messages(log: &[Seen]) -> Vec<Msg> {
    let mut out = Vec::new();
    for m in log {
        match m.content_type {
            HS => {
                let b = &m.bytes;
                assert!(
                    b.len() >= 4,
                    "a handshake message without its header: {m:?}"
                );
                let len = usize::from(b[1]) << 16 | usize::from(b[2]) << 8 | usize::from(b[3]);
                assert_eq!(4 + len, b.len(), "a handshake message not whole: {m:?}");
                out.push(Hs(m.sent, b[0]));
            }
            CCS => {
                assert_eq!(m.bytes, [1], "{m:?}");
                out.push(Ccs(m.sent));
            }
            ALERT => {
                let a: [u8; 2] = m.bytes.as_slice().try_into().expect("an alert is 2 bytes");
                out.push(Alert(m.sent, a));
            }
            HEADER => assert_eq!(m.bytes.len(), 5, "{m:?}"),
            INNER => assert_eq!(m.bytes.len(), 1, "{m:?}"),
            other => panic!("content type {other} reported: {m:?}"),
        }
    }
    out
}

/// What one side sent, in order, as (content type, bytes): headers and inner content types
/// included, so the other side's received reports must match it exactly.
fn wire(log: &[Seen], sent: bool) -> Vec<(u16, Vec<u8>)> {
    log.iter()
        .filter(|m| m.sent == sent)
        .map(|m| (m.content_type, m.bytes.clone()))
        .collect()
}

/// The client's sent reports are the server's received ones and the other way round.
fn assert_mirrored(c: &[Seen], s: &[Seen]) {
    assert_eq!(
        wire(c, true),
        wire(s, false),
        "client sent / server received"
    );
    assert_eq!(
        wire(s, true),
        wire(c, false),
        "server sent / client received"
    );
}

/// Every record header reported is followed, in TLS 1.3 protected records, by the inner
/// content type; and reported headers agree with the content that follows them.
fn assert_headers(log: &[Seen]) {
    for (i, m) in log.iter().enumerate() {
        if m.content_type == HEADER {
            assert_eq!(
                m.version,
                u16::from_be_bytes([m.bytes[1], m.bytes[2]]),
                "a header is reported under its own version: {m:?}"
            );
            assert!(
                matches!(m.bytes[0], 20..=23),
                "a record header's type: {m:?}"
            );
            if let Some(next) = log.get(i + 1)
                && next.content_type == INNER
            {
                assert_eq!(
                    m.bytes[0], 23,
                    "an inner content type follows only an outer 23"
                );
                let want = if next.sent { 0x0303 } else { 0x0304 };
                assert_eq!(
                    next.version, want,
                    "OpenSSL's inner content versions: {next:?}"
                );
            }
        }
    }
}

fn close_both(c: &mut Connection, s: &mut Connection) {
    c.close();
    transfer(c, s).unwrap();
    s.close();
    transfer(s, c).unwrap();
    assert!(c.received_close_notify() && s.received_close_notify());
}

const CLOSE_NOTIFY: [u8; 2] = [1, 0];

/// The client and server of most tests: TLS 1.3 and 1.2 on both, certificate verified.
fn configs(
    tweak_server: impl FnOnce(&mut ferrotls::config::ConfigBuilder),
) -> (Arc<Config>, Arc<Config>) {
    let pki = Pki::new("Observer CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    tweak_server(&mut sb);
    (client_builder(&pki).build().unwrap(), sb.build().unwrap())
}

/// Observers on both sides from the start, as an OpenSSL application sets its callback
/// before `SSL_connect` / `SSL_accept`.
fn observed_pair(client: &Arc<Config>, server: &Arc<Config>) -> (Connection, Connection, Log, Log) {
    let (mut c, mut s) = pair(client, server, "localhost");
    let (cl, sl) = (observe(&mut c), observe(&mut s));
    (c, s, cl, sl)
}

/// The versions of the handshake messages, alerts and ChangeCipherSpecs of a log, in order.
fn message_versions(log: &[Seen]) -> Vec<u16> {
    log.iter()
        .filter(|m| matches!(m.content_type, HS | CCS | ALERT))
        .map(|m| m.version)
        .collect()
}

/// The one full TLS 1.3 handshake, from the client's side (the server's is its mirror):
/// a middlebox ChangeCipherSpec each way (RFC 8446 D.4), two tickets after it.
const TLS13_CLIENT: [Msg; 11] = [
    Hs(true, CLIENT_HELLO),
    Hs(false, SERVER_HELLO),
    Ccs(true),
    Ccs(false),
    Hs(false, ENCRYPTED_EXTENSIONS),
    Hs(false, CERTIFICATE),
    Hs(false, CERTIFICATE_VERIFY),
    Hs(false, FINISHED),
    Hs(true, FINISHED),
    Hs(false, NEW_SESSION_TICKET),
    Hs(false, NEW_SESSION_TICKET),
];

const TLS13_SERVER: [Msg; 11] = [
    Hs(false, CLIENT_HELLO),
    Hs(true, SERVER_HELLO),
    Ccs(true),
    Hs(true, ENCRYPTED_EXTENSIONS),
    Hs(true, CERTIFICATE),
    Hs(true, CERTIFICATE_VERIFY),
    Hs(true, FINISHED),
    Ccs(false),
    Hs(false, FINISHED),
    Hs(true, NEW_SESSION_TICKET),
    Hs(true, NEW_SESSION_TICKET),
];

#[test]
fn tls13_handshake_data_and_close() {
    let (client, server) = configs(|_| {});
    let (mut c, mut s, cl, sl) = observed_pair(&client, &server);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    let (hc, hs) = (take(&cl), take(&sl));
    assert_eq!(messages(&hc), TLS13_CLIENT);
    assert_eq!(messages(&hs), TLS13_SERVER);
    assert_mirrored(&hc, &hs);
    for log in [&hc, &hs] {
        assert_headers(log);
        // TLS 1.3 messages are TLS 1.3's even where their records say 0x0303, and the
        // first ClientHello's record header says TLS 1.0, as OpenSSL reports them.
        assert!(
            message_versions(log).iter().all(|v| *v == 0x0304),
            "{log:?}"
        );
        assert_eq!(log[0].content_type, HEADER);
        assert_eq!(log[0].version, 0x0301);
        assert_eq!(log[1].content_type, HS);
        assert_eq!(log[1].bytes[0], CLIENT_HELLO);
    }
    // Every protected record shows its inner content type: handshake (22) here.
    let inner: Vec<_> = hc.iter().filter(|m| m.content_type == INNER).collect();
    assert_eq!(
        inner.len(),
        7,
        "EE, Certificate, CV, Finished, Finished, 2 tickets"
    );
    assert!(inner.iter().all(|m| m.bytes == [22]));

    // Application data: a header and an inner content type (23), never the data.
    assert_eq!(send_recv(&mut c, &mut s, b"ping"), b"ping");
    let (dc, ds) = (take(&cl), take(&sl));
    assert_mirrored(&dc, &ds);
    let sent: Vec<_> = dc
        .iter()
        .map(|m| (m.sent, m.content_type, m.bytes.clone()))
        .collect();
    assert_eq!(sent.len(), 2, "{dc:?}");
    assert_eq!(sent[0].1, HEADER);
    assert_eq!(sent[0].2[0], 23);
    assert_eq!(sent[1], (true, INNER, vec![23]));

    close_both(&mut c, &mut s);
    let (ac, as_) = (take(&cl), take(&sl));
    assert_eq!(
        messages(&ac),
        [Alert(true, CLOSE_NOTIFY), Alert(false, CLOSE_NOTIFY)]
    );
    assert_eq!(
        messages(&as_),
        [Alert(false, CLOSE_NOTIFY), Alert(true, CLOSE_NOTIFY)]
    );
    assert_mirrored(&ac, &as_);
    assert_headers(&ac);
    assert!(
        ac.iter()
            .any(|m| m.content_type == INNER && m.bytes == [21])
    );
}

#[test]
fn tls12_handshake_renegotiation_and_close() {
    // The client offers TLS 1.3 too: its ClientHello, and the ServerHello it reads before it
    // learns the version, are reported as TLS 1.3, as OpenSSL reports them.
    let (client, server) = configs(|sb| {
        sb.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
            .unwrap();
    });
    let (mut c, mut s, cl, sl) = observed_pair(&client, &server);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    let (hc, hs) = (take(&cl), take(&sl));
    let client_side = [
        Hs(true, CLIENT_HELLO),
        Hs(false, SERVER_HELLO),
        Hs(false, CERTIFICATE),
        Hs(false, SERVER_KEY_EXCHANGE),
        Hs(false, SERVER_HELLO_DONE),
        Hs(true, CLIENT_KEY_EXCHANGE),
        Ccs(true),
        Hs(true, FINISHED),
        Hs(false, NEW_SESSION_TICKET),
        Ccs(false),
        Hs(false, FINISHED),
    ];
    let mirror = |m: &Msg| match *m {
        Hs(sent, t) => Hs(!sent, t),
        Ccs(sent) => Ccs(!sent),
        Alert(sent, a) => Alert(!sent, a),
    };
    assert_eq!(messages(&hc), client_side);
    assert_eq!(
        messages(&hs),
        client_side.iter().map(mirror).collect::<Vec<_>>()
    );
    assert_mirrored(&hc, &hs);
    let mut want = vec![0x0303; client_side.len()];
    want[0] = 0x0304; // ClientHello
    want[1] = 0x0304; // ServerHello, read before the client knows the version
    assert_eq!(message_versions(&hc), want);
    want[1] = 0x0303; // the server sends it knowing
    assert_eq!(message_versions(&hs), want);
    for log in [&hc, &hs] {
        assert_headers(log);
        assert!(
            log.iter().all(|m| m.content_type != INNER),
            "no inner types in TLS 1.2"
        );
    }

    // Handshake Again: the server asks (HelloRequest); the whole new handshake, under the
    // current keys, is observed too, all of it TLS 1.2.
    s.renegotiate().unwrap();
    handshake(&mut c, &mut s).unwrap();
    let (rc, rs) = (take(&cl), take(&sl));
    let mut again = vec![Hs(false, HELLO_REQUEST)];
    again.extend_from_slice(&client_side);
    assert_eq!(messages(&rc), again);
    assert_eq!(messages(&rs), again.iter().map(mirror).collect::<Vec<_>>());
    assert_mirrored(&rc, &rs);
    assert!(message_versions(&rc).iter().all(|v| *v == 0x0303));
    assert!(message_versions(&rs).iter().all(|v| *v == 0x0303));

    close_both(&mut c, &mut s);
    let (ac, as_) = (take(&cl), take(&sl));
    assert_eq!(
        messages(&ac),
        [Alert(true, CLOSE_NOTIFY), Alert(false, CLOSE_NOTIFY)]
    );
    assert_mirrored(&ac, &as_);
    assert!(message_versions(&ac).iter().all(|v| *v == 0x0303));
}

/// Fed one byte at a time, every record and message is still reported once and whole.
#[test]
fn trickled_bytes_are_reported_once() {
    let (client, server) = configs(|_| {});
    let (mut c, mut s, cl, sl) = observed_pair(&client, &server);
    let trickle = |a: &mut Connection, b: &mut Connection| {
        while a.outgoing_len() > 0 {
            let byte = a.peek_outgoing()[0];
            assert_eq!(b.feed(&[byte]).unwrap(), 1);
            a.consume_outgoing(1);
        }
    };
    for _ in 0..4 {
        trickle(&mut c, &mut s);
        trickle(&mut s, &mut c);
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    let (hc, hs) = (take(&cl), take(&sl));
    assert_eq!(messages(&hc), TLS13_CLIENT);
    assert_eq!(messages(&hs), TLS13_SERVER);
    assert_mirrored(&hc, &hs);
}

/// A Certificate larger than a record (2^14 bytes) is sent in two records: both headers are
/// reported, then the message once, whole, on both sides.
#[test]
fn a_message_across_records_is_reported_whole() {
    let pki = Pki::new("Observer CA");
    let mut names = vec!["localhost".to_string()];
    names.extend((0..900).map(|i| format!("name-{i:04}.observer.example")));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let id = pki.issue(&names, KeyType::P256, false);
    let mut sb = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
    sb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let server = sb.build().unwrap();
    let (mut c, mut s, cl, sl) = observed_pair(&no_verify_client(), &server);
    handshake(&mut c, &mut s).unwrap();
    let (hc, hs) = (take(&cl), take(&sl));
    assert_eq!(messages(&hc), TLS13_CLIENT);
    assert_mirrored(&hc, &hs);
    let at = hc
        .iter()
        .position(|m| m.content_type == HS && m.bytes[0] == CERTIFICATE)
        .unwrap();
    assert!(hc[at].bytes.len() > 1 << 14, "{} bytes", hc[at].bytes.len());
    let before: Vec<_> = hc[at - 4..at].iter().map(|m| m.content_type).collect();
    assert_eq!(
        before,
        [HEADER, INNER, HEADER, INNER],
        "two records, then the message"
    );
}

#[test]
fn hello_retry_request() {
    let pki = Pki::new("Observer CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_groups(&[NamedGroup::secp384r1]).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519, NamedGroup::secp384r1])
        .unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s, cl, sl) = observed_pair(&client, &server);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    let (hc, hs) = (take(&cl), take(&sl));
    let mut want = vec![
        Hs(true, CLIENT_HELLO),
        Hs(false, SERVER_HELLO), // the HelloRetryRequest
        Ccs(true),
        Hs(true, CLIENT_HELLO),
        Ccs(false),
        Hs(false, SERVER_HELLO),
    ];
    want.extend_from_slice(&TLS13_CLIENT[4..]);
    assert_eq!(messages(&hc), want);
    assert_mirrored(&hc, &hs);
    // The HelloRetryRequest is a ServerHello with RFC 8446 §4.1.3's random.
    let hrr = hc.iter().find(|m| m.content_type == HS && !m.sent).unwrap();
    assert_eq!(
        hrr.bytes[6..38],
        [
            0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65,
            0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2,
            0xC8, 0xA8, 0x33, 0x9C
        ]
    );
    // The second ClientHello is plaintext, under the record version 0x0303.
    let headers: Vec<_> = hc
        .iter()
        .filter(|m| m.sent && m.content_type == HEADER)
        .map(|m| m.version)
        .collect();
    assert_eq!(&headers[..3], [0x0301, 0x0303, 0x0303]);
    assert!(message_versions(&hc).iter().all(|v| *v == 0x0304));
}

/// An observer installed before `set_session` sees only the ClientHello that is sent (the
/// one rebuilt to offer the ticket), and the abbreviated handshake.
#[test]
fn resumption_reports_the_rebuilt_client_hello_once() {
    let (client, server) = configs(|_| {});
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let blob = c.session().unwrap();

    let mut c = Connection::new_client(client.clone(), Some("localhost")).unwrap();
    let mut s = Connection::new_server(server.clone()).unwrap();
    let first_hello = c.peek_outgoing().to_vec();
    let (cl, sl) = (observe(&mut c), observe(&mut s));
    c.set_session(&blob).unwrap();
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed));
    let (hc, hs) = (take(&cl), take(&sl));
    assert_eq!(
        messages(&hc),
        [
            Hs(true, CLIENT_HELLO),
            Hs(false, SERVER_HELLO),
            Ccs(true),
            Ccs(false),
            Hs(false, ENCRYPTED_EXTENSIONS),
            Hs(false, FINISHED),
            Hs(true, FINISHED),
            Hs(false, NEW_SESSION_TICKET), // one ticket, replacing the one used
        ]
    );
    assert_mirrored(&hc, &hs);
    assert_ne!(
        hc[1].bytes,
        first_hello[5..],
        "the rebuilt ClientHello, not the first"
    );
}

/// After the handshake: KeyUpdate both ways and a post-handshake CertificateRequest with
/// the client's answer. Observers installed only now see nothing from before (the
/// client's first ClientHello is not replayed late).
#[test]
fn post_handshake_messages() {
    let pki = Pki::new("Observer CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(ferrotls::config::VerifyMode::RequireClientCert)
        .unwrap();
    sb.set_post_handshake_auth(true);
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    cb.set_post_handshake_auth(true);
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let (cl, sl) = (observe(&mut c), observe(&mut s));

    c.key_update(true).unwrap();
    transfer(&mut c, &mut s).unwrap();
    transfer(&mut s, &mut c).unwrap();
    s.request_client_certificate().unwrap();
    transfer(&mut s, &mut c).unwrap();
    transfer(&mut c, &mut s).unwrap();
    assert_eq!(
        send_recv(&mut c, &mut s, b"authenticated"),
        b"authenticated"
    );
    assert!(!s.peer_certificates().is_empty());

    let (pc, ps) = (take(&cl), take(&sl));
    assert_eq!(
        messages(&pc),
        [
            Hs(true, KEY_UPDATE),
            Hs(false, KEY_UPDATE),
            Hs(false, CERTIFICATE_REQUEST),
            Hs(true, CERTIFICATE),
            Hs(true, CERTIFICATE_VERIFY),
            Hs(true, FINISHED),
        ]
    );
    assert_mirrored(&pc, &ps);
    assert_headers(&pc);
    assert_headers(&ps);
    let ku: Vec<_> = pc
        .iter()
        .filter(|m| m.content_type == HS && m.bytes[0] == KEY_UPDATE)
        .map(|m| m.bytes.clone())
        .collect();
    assert_eq!(
        ku,
        [vec![24, 0, 0, 1, 1], vec![24, 0, 0, 1, 0]],
        "requested, then not"
    );
}

/// A fatal alert is reported where it is sent and where it arrives.
#[test]
fn fatal_alert() {
    let pki = Pki::new("Observer CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_groups(&[NamedGroup::secp384r1]).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_groups(&[NamedGroup::X25519]).unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s, cl, sl) = observed_pair(&client, &server);
    let (ce, se) = failing_handshake(&mut c, &mut s);
    assert!(ce.is_some() && se.is_some());
    let (fc, fs) = (take(&cl), take(&sl));
    const HANDSHAKE_FAILURE: [u8; 2] = [2, 40];
    assert_eq!(
        messages(&fc),
        [Hs(true, CLIENT_HELLO), Alert(false, HANDSHAKE_FAILURE)]
    );
    assert_eq!(
        messages(&fs),
        [Hs(false, CLIENT_HELLO), Alert(true, HANDSHAKE_FAILURE)]
    );
    assert_mirrored(&fc, &fs);
}

/// Removing the observer stops the reports.
#[test]
fn removed_observer_reports_nothing() {
    let (client, server) = configs(|_| {});
    let (mut c, mut s, cl, sl) = observed_pair(&client, &server);
    c.set_message_observer(None);
    s.set_message_observer(None);
    handshake(&mut c, &mut s).unwrap();
    assert!(take(&cl).is_empty() && take(&sl).is_empty());
}
