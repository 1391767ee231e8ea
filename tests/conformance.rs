//! In-memory reproductions of tlsfuzzer probes, so `cargo test` guards what tlsfuzzer found
//! without tlsfuzzer. Each test is one probe, named after the script (and probe) it mirrors;
//! each checks the exact alert we send and that the error detail names what was wrong.
//!
//! The probes send bytes no well-behaved client sends, so ClientHellos are built by hand
//! ([`Hello`]). Where a probe needs the handshake to go on after our ClientHello, the test
//! plays the client by hand ([`finish_by_hand`]): the server's key log gives the traffic
//! secrets, so no key exchange has to be done on the client side. Where a probe tampers
//! with a real client's flight, the client's key log gives the keys to decrypt and
//! re-encrypt its records ([`ClientFinishedFlight`]).

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{AlertDescription, CipherSuite, ContentType, NamedGroup};
use ferrotls::config::{Config, ConfigBuilder, Role};
use ferrotls::conn::Connection;
use ferrotls::crypto::kx::KeyExchange;
use ferrotls::crypto::suites::{self, SuiteInfo};
use ferrotls::error::{Error, Reason};
use ferrotls::record::cipher::RecordEncrypter;

// ================================================================================================
// Wire constants and byte helpers
// ================================================================================================

const TLS13: u16 = 0x0304;
const TLS12: u16 = 0x0303;

const TLS_AES_128_GCM_SHA256: u16 = 0x1301;
const ECDHE_ECDSA_AES_128_GCM_SHA256: u16 = 0xc02b;

const X25519: u16 = 0x001d;
const SECP256R1: u16 = 0x0017;

const ECDSA_P256_SHA256: u16 = 0x0403;
const RSA_PSS_RSAE_SHA256: u16 = 0x0804;
const ED25519: u16 = 0x0807;

// Extension types (IANA "TLS ExtensionType Values").
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_PADDING: u16 = 21;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
const EXT_KEY_SHARE: u16 = 51;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

// Handshake message types.
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_ENCRYPTED_EXTENSIONS: u8 = 8;
const HS_CERTIFICATE: u8 = 11;
const HS_FINISHED: u8 = 20;
const HS_MESSAGE_HASH: u8 = 254;

/// The middlebox-compatibility ChangeCipherSpec record of RFC 8446 §5 (type 20, body 1).
const CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

/// The largest plaintext fragment (RFC 8446 §5.1).
const MAX_FRAGMENT: usize = 16384;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = ferrotls::codec::handshake::HELLO_RETRY_REQUEST_RANDOM;

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    ferrotls::crypto::rand::fill(&mut v).unwrap();
    v
}

/// `body` behind a one-byte length.
fn u8_vec(body: &[u8]) -> Vec<u8> {
    let mut v = vec![u8::try_from(body.len()).expect("u8 vector too long")];
    v.extend_from_slice(body);
    v
}

/// `body` behind a two-byte length.
fn u16_vec(body: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(body.len())
        .expect("u16 vector too long")
        .to_be_bytes()
        .to_vec();
    v.extend_from_slice(body);
    v
}

fn u24(n: usize) -> [u8; 3] {
    assert!(n < 1 << 24);
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

/// `body` behind a three-byte length.
fn u24_vec(body: &[u8]) -> Vec<u8> {
    let mut v = u24(body.len()).to_vec();
    v.extend_from_slice(body);
    v
}

/// A list of 16-bit code points, unprefixed.
fn u16s(list: &[u16]) -> Vec<u8> {
    list.iter().flat_map(|x| x.to_be_bytes()).collect()
}

/// A handshake message: type, 24-bit length, body.
fn handshake_message(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&u24_vec(body));
    m
}

/// Split a stream of handshake messages into whole messages (header included).
fn split_handshake(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len =
            4 + (usize::from(data[1]) << 16 | usize::from(data[2]) << 8 | usize::from(data[3]));
        assert!(data.len() >= len, "a truncated handshake message");
        out.push(data[..len].to_vec());
        data = &data[len..];
    }
    assert!(
        data.is_empty(),
        "trailing bytes after the handshake messages"
    );
    out
}

fn plaintext_record(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3];
    r.extend_from_slice(&u16_vec(body));
    r
}

/// A handshake message as plaintext records of at most `max` bytes each.
fn handshake_records(msg: &[u8], max: usize) -> Vec<u8> {
    msg.chunks(max)
        .flat_map(|c| plaintext_record(22, c))
        .collect()
}

/// What tlsfuzzer sends as "early data" the server cannot read: application_data records
/// with random bodies.
fn garbage_records() -> Vec<u8> {
    [100, 1000, 2500, 4000]
        .iter()
        .flat_map(|&n| plaintext_record(23, &random_bytes(n)))
        .collect()
}

// ================================================================================================
// Extension bodies
// ================================================================================================

fn ext_supported_versions(v: &[u16]) -> Vec<u8> {
    u8_vec(&u16s(v))
}

fn ext_u16_list(v: &[u16]) -> Vec<u8> {
    u16_vec(&u16s(v))
}

fn ext_key_share(group: u16, public: &[u8]) -> Vec<u8> {
    let mut entry = group.to_be_bytes().to_vec();
    entry.extend_from_slice(&u16_vec(public));
    u16_vec(&entry)
}

/// A public key for `group` that the server can use (we never need the private half: the
/// server's key log gives us the secrets).
fn public_key(group: NamedGroup) -> Vec<u8> {
    KeyExchange::start(group).unwrap().public_key().to_vec()
}

/// A pre_shared_key the server cannot know: a random identity and a random 32-byte binder.
fn ext_unknown_psk() -> Vec<u8> {
    let mut identity = u16_vec(&random_bytes(40));
    identity.extend_from_slice(&random_bytes(4)); // obfuscated_ticket_age
    let mut body = u16_vec(&identity);
    body.extend_from_slice(&u16_vec(&u8_vec(&random_bytes(32))));
    body
}

// ================================================================================================
// ClientHellos built by hand
// ================================================================================================

/// A ClientHello as fields, so a probe can damage any of them.
#[derive(Clone)]
struct Hello {
    /// The handshake type byte (1 for a real ClientHello).
    typ: u8,
    legacy_version: u16,
    random: Vec<u8>,
    session_id: Vec<u8>,
    suites: Vec<u16>,
    compression: Vec<u8>,
    extensions: Vec<(u16, Vec<u8>)>,
}

impl Hello {
    /// A TLS 1.3 ClientHello like tlsfuzzer's: supported_versions [TLS 1.3, TLS 1.2], an
    /// X25519 share, TLS_AES_128_GCM_SHA256 only (so the transcript hash is SHA-256), and a
    /// 32-byte session id (middlebox compatibility: the server answers with a CCS).
    fn tls13() -> Self {
        Self {
            typ: HS_CLIENT_HELLO,
            legacy_version: TLS12,
            random: random_bytes(32),
            session_id: random_bytes(32),
            suites: vec![TLS_AES_128_GCM_SHA256],
            compression: vec![0],
            extensions: vec![
                (
                    EXT_SUPPORTED_VERSIONS,
                    ext_supported_versions(&[TLS13, TLS12]),
                ),
                (EXT_SUPPORTED_GROUPS, ext_u16_list(&[X25519, SECP256R1])),
                (
                    EXT_SIGNATURE_ALGORITHMS,
                    ext_u16_list(&[ECDSA_P256_SHA256, RSA_PSS_RSAE_SHA256, ED25519]),
                ),
                (
                    EXT_KEY_SHARE,
                    ext_key_share(X25519, &public_key(NamedGroup::X25519)),
                ),
            ],
        }
    }

    /// A TLS 1.2-only ClientHello (no supported_versions) for an ECDSA server, with
    /// extended_master_secret and renegotiation_info, as tests/tls12.rs's client sends.
    fn tls12() -> Self {
        Self {
            typ: HS_CLIENT_HELLO,
            legacy_version: TLS12,
            random: random_bytes(32),
            session_id: Vec::new(),
            suites: vec![ECDHE_ECDSA_AES_128_GCM_SHA256],
            compression: vec![0],
            extensions: vec![
                (EXT_SUPPORTED_GROUPS, ext_u16_list(&[X25519, SECP256R1])),
                (EXT_EC_POINT_FORMATS, u8_vec(&[0])),
                (
                    EXT_SIGNATURE_ALGORITHMS,
                    ext_u16_list(&[ECDSA_P256_SHA256, RSA_PSS_RSAE_SHA256]),
                ),
                (EXT_EXTENDED_MASTER_SECRET, Vec::new()),
                (EXT_RENEGOTIATION_INFO, u8_vec(&[])),
            ],
        }
    }

    /// Set extension `typ` (in place if present; else appended, but before a
    /// pre_shared_key, which must stay last).
    fn set(&mut self, typ: u16, body: Vec<u8>) -> &mut Self {
        if let Some(e) = self.extensions.iter_mut().find(|e| e.0 == typ) {
            e.1 = body;
        } else {
            let at = self
                .extensions
                .iter()
                .position(|e| e.0 == EXT_PRE_SHARED_KEY)
                .unwrap_or(self.extensions.len());
            self.extensions.insert(at, (typ, body));
        }
        self
    }

    fn remove(&mut self, typ: u16) -> &mut Self {
        self.extensions.retain(|e| e.0 != typ);
        self
    }

    /// Offer early data with a PSK the server cannot use (pre_shared_key last).
    fn with_early_data(&mut self) -> &mut Self {
        self.set(EXT_EARLY_DATA, Vec::new());
        self.set(EXT_PSK_KEY_EXCHANGE_MODES, u8_vec(&[1])); // psk_dhe_ke
        self.remove(EXT_PRE_SHARED_KEY);
        self.extensions
            .push((EXT_PRE_SHARED_KEY, ext_unknown_psk()));
        self
    }

    fn body(&self) -> Vec<u8> {
        let mut b = self.legacy_version.to_be_bytes().to_vec();
        b.extend_from_slice(&self.random);
        b.extend_from_slice(&u8_vec(&self.session_id));
        b.extend_from_slice(&u16_vec(&u16s(&self.suites)));
        b.extend_from_slice(&u8_vec(&self.compression));
        let mut exts = Vec::new();
        for (typ, body) in &self.extensions {
            exts.extend_from_slice(&typ.to_be_bytes());
            exts.extend_from_slice(&u16_vec(body));
        }
        b.extend_from_slice(&u16_vec(&exts));
        b
    }

    /// The whole handshake message (what goes into the transcript).
    fn message(&self) -> Vec<u8> {
        handshake_message(self.typ, &self.body())
    }

    /// The message as plaintext handshake records.
    fn records(&self) -> Vec<u8> {
        handshake_records(&self.message(), MAX_FRAGMENT)
    }
}

// ================================================================================================
// Servers, feeding, and checking outcomes
// ================================================================================================

/// A server configuration (ECDSA P-256 certificate) whose key log we keep, after `edit`.
fn server_config(edit: impl FnOnce(&mut ConfigBuilder)) -> (Arc<Config>, Arc<CapturedKeys>) {
    let pki = Pki::new("Conformance CA");
    let keys = Arc::new(CapturedKeys::default());
    let mut b = server_builder(&pki, KeyType::P256);
    b.set_keylog(Some(keys.clone()));
    edit(&mut b);
    (b.build().unwrap(), keys)
}

/// A fresh server with the default configuration and its key log.
fn server() -> (Connection, Arc<CapturedKeys>) {
    let (cfg, keys) = server_config(|_| {});
    (Connection::new_server(cfg).unwrap(), keys)
}

/// Feed all of `data`, stopping at the first error (which the connection keeps).
fn feed(conn: &mut Connection, data: &[u8]) -> Result<(), Error> {
    let mut off = 0;
    while off < data.len() {
        let n = conn.feed(&data[off..])?;
        if n == 0 {
            break;
        }
        off += n;
    }
    Ok(())
}

/// Everything `conn` has queued to send, taken.
fn take_all(conn: &mut Connection) -> Vec<u8> {
    let out = conn.peek_outgoing().to_vec();
    conn.consume_outgoing(out.len());
    out
}

/// The newest secret logged under `label` (a config's key log may see several handshakes).
fn secret(keys: &CapturedKeys, label: &str) -> Vec<u8> {
    keys.0
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(l, _)| l == label)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("no {label} in the key log"))
}

fn suite_info(conn: &Connection) -> &'static SuiteInfo {
    suites::lookup(conn.cipher_suite().expect("a cipher suite was chosen")).unwrap()
}

/// The connection failed with `alert` sent, for `reason` (`None`: an error whose variant is its
/// reason, such as `NoSharedVersion`), and its detail mentions every entry of `words`
/// (case-insensitive; "a|b" accepts either). Returns the detail.
#[track_caller]
fn expect_fatal(
    conn: &Connection,
    alert: AlertDescription,
    reason: Option<Reason>,
    words: &[&str],
) -> String {
    let err = conn.error().unwrap_or_else(|| {
        panic!(
            "expected a fatal {alert} alert, but the connection has no error (handshaking: {})",
            conn.is_handshaking()
        )
    });
    let detail = err.to_string();
    assert_eq!(err.alert_sent, Some(alert), "wrong alert; detail: {detail}");
    assert_eq!(err.error.reason(), reason, "wrong reason; detail: {detail}");
    let low = detail.to_lowercase();
    for w in words {
        assert!(
            w.split('|').any(|alt| low.contains(&alt.to_lowercase())),
            "the detail does not mention {w:?}: {detail}"
        );
    }
    detail
}

#[track_caller]
fn expect_no_error(conn: &Connection, what: &str) {
    if let Some(e) = conn.error() {
        panic!("{what}: the server failed: {e}");
    }
}

// ================================================================================================
// Playing the TLS 1.3 client by hand
// ================================================================================================

/// The transcript's stand-in for the first ClientHello after a HelloRetryRequest
/// (RFC 8446 §4.4.1): message_hash carrying Hash(ClientHello1), SHA-256 here.
fn message_hash(client_hello1: &[u8]) -> Vec<u8> {
    let h = ferrotls::crypto::hash::HashAlgorithm::Sha256.hash(client_hello1);
    handshake_message(HS_MESSAGE_HASH, h.as_ref())
}

/// Play the client once `s` has answered our ClientHello: read its flight (ServerHello,
/// the middlebox CCS, then EncryptedExtensions .. Finished under the server handshake
/// secret from its key log), send our Finished, then check that data flows both ways.
/// `transcript` holds the messages before the ServerHello (the ClientHello; or message_hash,
/// HelloRetryRequest and the second ClientHello). Returns the server's handshake messages.
#[track_caller]
fn finish_by_hand(
    s: &mut Connection,
    keys: &CapturedKeys,
    mut transcript: Vec<u8>,
) -> Vec<Vec<u8>> {
    expect_no_error(s, "before our Finished");
    let suite = suite_info(s);
    let flight = take_all(s);
    let dec = ferrotls::tls13::key_schedule::decrypter(
        suite,
        &secret(keys, "SERVER_HANDSHAKE_TRAFFIC_SECRET"),
    )
    .unwrap();
    let mut seq = 0;
    let mut messages = Vec::new();
    for mut r in split_records(&flight) {
        match r[0] {
            22 => messages.extend_from_slice(&r[5..]),
            20 => assert_eq!(r, CCS, "a malformed CCS from the server"),
            23 => {
                let header: [u8; 5] = r[..5].try_into().unwrap();
                let (typ, plain) = dec.decrypt(seq, &header, &mut r[5..]).unwrap();
                assert_eq!(typ, ContentType::Handshake, "protected record {seq}");
                messages.extend_from_slice(plain);
                seq += 1;
            }
            t => panic!("a record of type {t} in the server's flight"),
        }
    }
    let messages = split_handshake(&messages);
    let types: Vec<u8> = messages.iter().map(|m| m[0]).collect();
    assert_eq!(types.first(), Some(&HS_SERVER_HELLO), "flight: {types:?}");
    assert_ne!(
        &messages[0][6..38],
        &HRR_RANDOM,
        "a HelloRetryRequest, not a ServerHello"
    );
    assert_eq!(types.last(), Some(&HS_FINISHED), "flight: {types:?}");
    for m in &messages {
        transcript.extend_from_slice(m);
    }

    // Our Finished, under the client handshake secret (RFC 8446 §4.4.4).
    let client_hs = secret(keys, "CLIENT_HANDSHAKE_TRAFFIC_SECRET");
    let verify_data = ferrotls::tls13::key_schedule::finished_verify_data(
        suite.hash,
        &client_hs,
        suite.hash.hash(&transcript).as_ref(),
    );
    let finished = handshake_message(HS_FINISHED, verify_data.as_ref());
    let mut rec = Vec::new();
    ferrotls::tls13::key_schedule::encrypter(suite, &client_hs)
        .unwrap()
        .encrypt(0, ContentType::Handshake, &finished, &mut rec)
        .unwrap();
    feed(s, &rec).unwrap_or_else(|e| panic!("the server refused our Finished: {e}"));
    assert!(!s.is_handshaking(), "the server is still handshaking");

    // Data, both ways, under the application secrets.
    let mut rec = Vec::new();
    ferrotls::tls13::key_schedule::encrypter(suite, &secret(keys, "CLIENT_TRAFFIC_SECRET_0"))
        .unwrap()
        .encrypt(0, ContentType::ApplicationData, b"ping", &mut rec)
        .unwrap();
    feed(s, &rec).unwrap();
    assert_eq!(read_all(s), b"ping");
    assert_eq!(s.write(b"pong").unwrap(), 4);
    let dec =
        ferrotls::tls13::key_schedule::decrypter(suite, &secret(keys, "SERVER_TRAFFIC_SECRET_0"))
            .unwrap();
    let mut got = Vec::new();
    for (seq, mut r) in split_records(&take_all(s)).into_iter().enumerate() {
        let header: [u8; 5] = r[..5].try_into().unwrap();
        let (typ, plain) = dec.decrypt(seq as u64, &header, &mut r[5..]).unwrap();
        if typ == ContentType::ApplicationData {
            got.extend_from_slice(plain);
        } // else a NewSessionTicket
    }
    assert_eq!(got, b"pong");
    messages
}

/// Send `hello` to a fresh default server and complete the handshake by hand.
#[track_caller]
fn hello_completes(hello: &Hello) {
    let (mut s, keys) = server();
    feed(&mut s, &hello.records()).unwrap_or_else(|e| panic!("the ClientHello was refused: {e}"));
    finish_by_hand(&mut s, &keys, hello.message());
}

/// Send one ClientHello (as bytes) to a fresh default server; returns the server.
fn send_hello_bytes(message: &[u8]) -> Connection {
    let (mut s, _) = server();
    let _ = feed(&mut s, &handshake_records(message, MAX_FRAGMENT));
    s
}

// ================================================================================================
// Tampering with a real TLS 1.3 client's last flight
// ================================================================================================

/// A real pair run until the client's [CCS,] Finished waits, with that flight decrypted.
/// The client offers only TLS_AES_128_GCM_SHA256, so Finished is 32 bytes (SHA-256).
struct ClientFinishedFlight {
    s: Connection,
    suite: &'static SuiteInfo,
    /// The client handshake traffic secret (from the client's key log).
    client_hs: Vec<u8>,
    /// The CCS records the client sent before its Finished.
    ccs: Vec<Vec<u8>>,
    /// The plaintext Finished message (header included).
    finished: Vec<u8>,
}

impl ClientFinishedFlight {
    fn new() -> Self {
        let pki = Pki::new("Conformance CA");
        let server = server_builder(&pki, KeyType::P256).build().unwrap();
        let keys = Arc::new(CapturedKeys::default());
        let mut cb = client_builder(&pki);
        cb.set_cipher_suites(&[CipherSuite::TLS_AES_128_GCM_SHA256])
            .unwrap();
        cb.set_keylog(Some(keys.clone()));
        let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
        transfer(&mut c, &mut s).unwrap();
        transfer(&mut s, &mut c).unwrap();
        let suite = suite_info(&c);
        let client_hs = secret(&keys, "CLIENT_HANDSHAKE_TRAFFIC_SECRET");
        let dec = ferrotls::tls13::key_schedule::decrypter(suite, &client_hs).unwrap();
        let (mut ccs, mut finished) = (Vec::new(), None);
        for mut r in split_records(&take_all(&mut c)) {
            match r[0] {
                20 => ccs.push(r),
                23 => {
                    assert!(finished.is_none(), "one protected record expected");
                    let header: [u8; 5] = r[..5].try_into().unwrap();
                    let (typ, plain) = dec.decrypt(0, &header, &mut r[5..]).unwrap();
                    assert_eq!(typ, ContentType::Handshake);
                    assert_eq!(
                        plain[0], HS_FINISHED,
                        "the client's record must hold Finished"
                    );
                    finished = Some(plain.to_vec());
                }
                t => panic!("a record of type {t} in the client's flight"),
            }
        }
        Self {
            s,
            suite,
            client_hs,
            ccs,
            finished: finished.expect("the client sent no Finished"),
        }
    }

    /// `payload` of type `typ` protected as the client's first handshake-key record.
    fn protect(&self, typ: ContentType, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ferrotls::tls13::key_schedule::encrypter(self.suite, &self.client_hs)
            .unwrap()
            .encrypt(0, typ, payload, &mut out)
            .unwrap();
        out
    }

    /// Feed the client's CCS records, then `record` in place of its Finished record.
    fn send_instead_of_finished(&mut self, record: &[u8]) {
        for r in self.ccs.clone() {
            feed(&mut self.s, &r).unwrap();
        }
        let _ = feed(&mut self.s, record);
    }

    /// Send a Finished message whose verify_data is `verify_data`.
    fn send_finished_body(&mut self, verify_data: &[u8]) {
        let rec = self.protect(
            ContentType::Handshake,
            &handshake_message(HS_FINISHED, verify_data),
        );
        self.send_instead_of_finished(&rec);
    }
}

/// A completed TLS 1.3 pair (our client and server) and an encrypter for the client's
/// application records; "ping" went at sequence number 0 (proving the keys), so the next
/// record to send is number 1.
fn tls13_after_handshake() -> (Connection, &'static SuiteInfo, RecordEncrypter) {
    let pki = Pki::new("Conformance CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let keys = Arc::new(CapturedKeys::default());
    let mut cb = client_builder(&pki);
    cb.set_keylog(Some(keys.clone()));
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let suite = suite_info(&c);
    let enc =
        ferrotls::tls13::key_schedule::encrypter(suite, &secret(&keys, "CLIENT_TRAFFIC_SECRET_0"))
            .unwrap();
    let mut rec = Vec::new();
    enc.encrypt(0, ContentType::ApplicationData, b"ping", &mut rec)
        .unwrap();
    feed(&mut s, &rec).unwrap();
    assert_eq!(read_all(&mut s), b"ping");
    (s, suite, enc)
}

/// A TLS 1.2 server that has sent its first flight (ServerHello .. ServerHelloDone) to a
/// real TLS 1.2 client and waits for the client's answer.
fn tls12_after_server_flight() -> Connection {
    let pki = Pki::new("Conformance CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_versions(
        ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
        ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
    )
    .unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    transfer(&mut c, &mut s).unwrap();
    assert!(s.outgoing_len() > 0, "the server sent no flight");
    expect_no_error(&s, "after the TLS 1.2 ClientHello");
    s
}

// ================================================================================================
// 1. legacy_version (tlsfuzzer test-tls13-legacy-version.py; RFC 8446 §4.1.2, Appendix D.5)
// ================================================================================================

#[track_caller]
fn legacy_version_is_refused(v: u16) {
    let mut h = Hello::tls13();
    h.legacy_version = v;
    let s = send_hello_bytes(&h.message());
    expect_fatal(
        &s,
        AlertDescription::ProtocolVersion,
        None,
        &["legacy_version"],
    );
}

/// test-tls13-legacy-version.py "legacy_version 0x0300" (SSL 3.0) with supported_versions
/// offering TLS 1.3 and 1.2 → protocol_version (RFC 8446 Appendix D.5).
#[test]
fn tls13_legacy_version_0x0300() {
    legacy_version_is_refused(0x0300);
}

/// test-tls13-legacy-version.py "legacy_version 0x0000" → protocol_version.
#[test]
fn tls13_legacy_version_0x0000() {
    legacy_version_is_refused(0x0000);
}

/// test-tls13-legacy-version.py "legacy_version 0x0102" → protocol_version.
#[test]
fn tls13_legacy_version_0x0102() {
    legacy_version_is_refused(0x0102);
}

/// test-tls13-legacy-version.py sanity: legacy_version 0x0303 → a normal handshake.
/// (Also proves the hand-played client of this file works.)
#[test]
fn tls13_legacy_version_0x0303_completes() {
    let mut h = Hello::tls13();
    h.legacy_version = 0x0303;
    hello_completes(&h);
}

// ================================================================================================
// 2. The client's Finished (tlsfuzzer test-tls13-finished.py; RFC 8446 §4.4.4)
// ================================================================================================

/// Control for the probes below: the client's own Finished, decrypted and re-encrypted,
/// completes the handshake (so the tampering machinery is sound).
#[test]
fn tls13_finished_reencrypted_unchanged_is_accepted() {
    let mut f = ClientFinishedFlight::new();
    let rec = f.protect(ContentType::Handshake, &f.finished.clone());
    f.send_instead_of_finished(&rec);
    expect_no_error(&f.s, "after the unchanged Finished");
    assert!(!f.s.is_handshaking());
}

/// test-tls13-finished.py "empty Finished": a Finished of 0 bytes with SHA-256 →
/// decode_error (a length error, not a wrong value).
#[test]
fn tls13_finished_empty_is_decode_error() {
    let mut f = ClientFinishedFlight::new();
    f.send_finished_body(&[]);
    expect_fatal(
        &f.s,
        AlertDescription::DecodeError,
        Some(Reason::FinishedWrongLength),
        &["Finished", "bytes"],
    );
}

/// test-tls13-finished.py "truncated Finished" (31 of 32 bytes) → decode_error.
#[test]
fn tls13_finished_31_bytes_is_decode_error() {
    let mut f = ClientFinishedFlight::new();
    let body = f.finished[4..35].to_vec();
    f.send_finished_body(&body);
    expect_fatal(
        &f.s,
        AlertDescription::DecodeError,
        Some(Reason::FinishedWrongLength),
        &["Finished", "bytes"],
    );
}

/// test-tls13-finished.py "padded Finished" (33 bytes where SHA-256 gives 32) → decode_error.
#[test]
fn tls13_finished_33_bytes_is_decode_error() {
    let mut f = ClientFinishedFlight::new();
    let mut body = f.finished[4..].to_vec();
    assert_eq!(body.len(), 32);
    body.push(0);
    f.send_finished_body(&body);
    expect_fatal(
        &f.s,
        AlertDescription::DecodeError,
        Some(Reason::FinishedWrongLength),
        &["Finished", "bytes"],
    );
}

/// test-tls13-finished.py "fuzzed Finished": right length, one bit flipped → decrypt_error.
#[test]
fn tls13_finished_bit_flip_is_decrypt_error() {
    let mut f = ClientFinishedFlight::new();
    let mut body = f.finished[4..].to_vec();
    body[7] ^= 0x01;
    f.send_finished_body(&body);
    expect_fatal(
        &f.s,
        AlertDescription::DecryptError,
        Some(Reason::FinishedMismatch),
        &["Finished"],
    );
}

// ================================================================================================
// 3. Alert records of the wrong length (tlsfuzzer's zero-length alert probes; RFC 8446 §5.1:
//    "Zero-length fragments of Alert ... MUST NOT be sent"; RFC 5246 §6.2.1)
// ================================================================================================

/// An empty alert record under the client's handshake keys, sent instead of its Finished →
/// unexpected_message.
#[test]
fn tls13_empty_alert_under_handshake_keys_is_unexpected_message() {
    let mut f = ClientFinishedFlight::new();
    let rec = f.protect(ContentType::Alert, &[]);
    f.send_instead_of_finished(&rec);
    expect_fatal(
        &f.s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::EmptyAlertRecord),
        &["alert"],
    );
}

/// An empty alert record under the client's application keys → unexpected_message.
#[test]
fn tls13_empty_alert_under_application_keys_is_unexpected_message() {
    let (mut s, _, enc) = tls13_after_handshake();
    let mut rec = Vec::new();
    enc.encrypt(1, ContentType::Alert, &[], &mut rec).unwrap();
    let _ = feed(&mut s, &rec);
    expect_fatal(
        &s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::EmptyAlertRecord),
        &["alert"],
    );
}

/// A 1-byte alert under application keys → decode_error.
#[test]
fn tls13_one_byte_alert_is_decode_error() {
    let (mut s, _, enc) = tls13_after_handshake();
    let mut rec = Vec::new();
    enc.encrypt(1, ContentType::Alert, &[2], &mut rec).unwrap();
    let _ = feed(&mut s, &rec);
    expect_fatal(
        &s,
        AlertDescription::DecodeError,
        Some(Reason::MalformedAlertRecord),
        &["alert", "byte"],
    );
}

/// A 3-byte alert (fatal, handshake_failure, one extra byte) under application keys →
/// decode_error.
#[test]
fn tls13_three_byte_alert_is_decode_error() {
    let (mut s, _, enc) = tls13_after_handshake();
    let mut rec = Vec::new();
    enc.encrypt(1, ContentType::Alert, &[2, 40, 0], &mut rec)
        .unwrap();
    let _ = feed(&mut s, &rec);
    expect_fatal(
        &s,
        AlertDescription::DecodeError,
        Some(Reason::MalformedAlertRecord),
        &["alert", "byte"],
    );
}

/// TLS 1.2: a plaintext alert record of length 0 after the server's first flight →
/// unexpected_message.
#[test]
fn tls12_empty_plaintext_alert_is_unexpected_message() {
    let mut s = tls12_after_server_flight();
    let _ = feed(&mut s, &[21, 3, 3, 0, 0]);
    expect_fatal(
        &s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::EmptyAlertRecord),
        &["alert"],
    );
}

/// TLS 1.2: a plaintext 1-byte alert after the server's first flight → decode_error.
#[test]
fn tls12_one_byte_plaintext_alert_is_decode_error() {
    let mut s = tls12_after_server_flight();
    let _ = feed(&mut s, &plaintext_record(21, &[2]));
    expect_fatal(
        &s,
        AlertDescription::DecodeError,
        Some(Reason::MalformedAlertRecord),
        &["alert", "byte"],
    );
}

/// TLS 1.2: a plaintext 3-byte alert after the server's first flight → decode_error.
#[test]
fn tls12_three_byte_plaintext_alert_is_decode_error() {
    let mut s = tls12_after_server_flight();
    let _ = feed(&mut s, &plaintext_record(21, &[2, 40, 0]));
    expect_fatal(
        &s,
        AlertDescription::DecodeError,
        Some(Reason::MalformedAlertRecord),
        &["alert", "byte"],
    );
}

// ================================================================================================
// 4. Middlebox-compatibility ChangeCipherSpec (tlsfuzzer test-tls13-ccs.py; RFC 8446 §5,
//    Appendix D.4)
// ================================================================================================

/// test-tls13-ccs.py: one CCS after the ClientHello is ignored; the handshake completes.
#[test]
fn tls13_ccs_one_after_client_hello_is_ignored() {
    let (mut s, keys) = server();
    let h = Hello::tls13();
    feed(&mut s, &h.records()).unwrap();
    feed(&mut s, &CCS).unwrap_or_else(|e| panic!("the CCS was refused: {e}"));
    finish_by_hand(&mut s, &keys, h.message());
}

/// test-tls13-ccs.py: a second CCS before the client's Finished → unexpected_message; the
/// detail says only one is allowed.
#[test]
fn tls13_ccs_second_before_finished_is_unexpected_message() {
    let mut f = ClientFinishedFlight::new();
    let rec = f.protect(ContentType::Handshake, &f.finished.clone());
    // The client sends one CCS of its own; make it two.
    if f.ccs.is_empty() {
        f.ccs.push(CCS.to_vec());
    }
    f.ccs.push(CCS.to_vec());
    for r in f.ccs.clone() {
        let _ = feed(&mut f.s, &r);
    }
    let _ = feed(&mut f.s, &rec);
    expect_fatal(
        &f.s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::UnexpectedChangeCipherSpec),
        &["change_cipher_spec|ChangeCipherSpec", "one|once|single"],
    );
}

/// test-tls13-ccs.py: two CCS records in one feed right after the ClientHello →
/// unexpected_message.
#[test]
fn tls13_ccs_two_after_client_hello_is_unexpected_message() {
    let (mut s, _) = server();
    let mut data = Hello::tls13().records();
    data.extend_from_slice(&CCS);
    data.extend_from_slice(&CCS);
    let _ = feed(&mut s, &data);
    expect_fatal(
        &s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::UnexpectedChangeCipherSpec),
        &["change_cipher_spec|ChangeCipherSpec"],
    );
}

/// test-tls13-ccs.py: a CCS before any ClientHello → unexpected_message.
#[test]
fn tls13_ccs_before_client_hello_is_unexpected_message() {
    let (mut s, _) = server();
    let _ = feed(&mut s, &CCS);
    expect_fatal(
        &s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::UnexpectedChangeCipherSpec),
        &["change_cipher_spec|ChangeCipherSpec"],
    );
}

// ================================================================================================
// 5. Malformed TLS 1.2 ClientHellos (tlsfuzzer test-invalid-client-hello.py style,
//    test-invalid-session-id.py, test-invalid-compression-methods.py; RFC 5246 §7.4.1.2,
//    RFC 8446 §4.1.2)
// ================================================================================================

/// Control: the hand-built TLS 1.2 hello gets a TLS 1.2 server flight.
#[test]
fn tls12_hand_built_hello_gets_a_server_flight() {
    let (mut s, _) = server();
    feed(&mut s, &Hello::tls12().records()).unwrap();
    expect_no_error(&s, "after the TLS 1.2 ClientHello");
    assert_eq!(
        s.protocol_version(),
        Some(ferrotls::codec::enums::ProtocolVersion::TLSv1_2)
    );
    let flight = take_all(&mut s);
    let mut messages = Vec::new();
    for r in split_records(&flight) {
        assert_eq!(
            r[0], 22,
            "TLS 1.2's first server flight is plaintext handshake"
        );
        messages.extend_from_slice(&r[5..]);
    }
    let types: Vec<u8> = split_handshake(&messages).iter().map(|m| m[0]).collect();
    // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone.
    assert_eq!(types, [2, 11, 12, 14]);
}

#[track_caller]
fn tls12_hello_type_is_unexpected(typ: u8) {
    let mut h = Hello::tls12();
    h.typ = typ;
    let s = send_hello_bytes(&h.message());
    expect_fatal(
        &s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::UnexpectedMessageType),
        &["ClientHello"],
    );
}

/// test-invalid-client-hello.py style: the ClientHello's type byte set to 0 (HelloRequest)
/// → unexpected_message.
#[test]
fn tls12_hello_as_type_0_is_unexpected_message() {
    tls12_hello_type_is_unexpected(0);
}

/// The ClientHello's type byte set to 2 (ServerHello) → unexpected_message.
#[test]
fn tls12_hello_as_type_2_is_unexpected_message() {
    tls12_hello_type_is_unexpected(2);
}

/// The ClientHello's type byte set to 11 (Certificate) → unexpected_message.
#[test]
fn tls12_hello_as_type_11_is_unexpected_message() {
    tls12_hello_type_is_unexpected(11);
}

/// The ClientHello's type byte set to 16 (ClientKeyExchange) → unexpected_message.
#[test]
fn tls12_hello_as_type_16_is_unexpected_message() {
    tls12_hello_type_is_unexpected(16);
}

/// The ClientHello's type byte set to 20 (Finished) → unexpected_message.
#[test]
fn tls12_hello_as_type_20_is_unexpected_message() {
    tls12_hello_type_is_unexpected(20);
}

/// test-invalid-session-id.py: a 32-byte session_id whose length byte says 33 (message
/// length unchanged) → decode_error.
#[test]
fn tls12_session_id_length_33_is_decode_error() {
    let mut h = Hello::tls12();
    h.session_id = random_bytes(32);
    let mut m = h.message();
    // header (4) + legacy_version (2) + random (32), then the session_id length.
    assert_eq!(m[38], 32);
    m[38] = 33;
    let s = send_hello_bytes(&m);
    expect_fatal(
        &s,
        AlertDescription::DecodeError,
        Some(Reason::MalformedMessage),
        &["session_id"],
    );
}

#[track_caller]
fn compression_is_illegal(mut h: Hello, methods: &[u8], reason: Reason) {
    h.compression = methods.to_vec();
    let s = send_hello_bytes(&h.message());
    expect_fatal(
        &s,
        AlertDescription::IllegalParameter,
        Some(reason),
        &["compression"],
    );
}

/// test-invalid-compression-methods.py: compression_methods [1] (DEFLATE, no null) →
/// illegal_parameter.
#[test]
fn tls12_compression_deflate_only_is_illegal_parameter() {
    compression_is_illegal(Hello::tls12(), &[1], Reason::NoNullCompression);
}

/// test-invalid-compression-methods.py: compression_methods [1, 2] (no null) →
/// illegal_parameter.
#[test]
fn tls12_compression_without_null_is_illegal_parameter() {
    compression_is_illegal(Hello::tls12(), &[1, 2], Reason::NoNullCompression);
}

/// TLS 1.3 requires exactly [null] (RFC 8446 §4.1.2): [1] → illegal_parameter.
#[test]
fn tls13_compression_deflate_only_is_illegal_parameter() {
    compression_is_illegal(Hello::tls13(), &[1], Reason::BadCompression);
}

// ================================================================================================
// 6. Early data the server does not accept (tlsfuzzer test-tls13-0rtt-garbage.py;
//    RFC 8446 §4.2.10)
// ================================================================================================

/// Whether EncryptedExtensions (among `messages`) carries an early_data extension.
fn accepted_early_data(messages: &[Vec<u8>]) -> bool {
    let ee = messages
        .iter()
        .find(|m| m[0] == HS_ENCRYPTED_EXTENSIONS)
        .expect("no EncryptedExtensions");
    let mut exts = &ee[6..];
    while exts.len() >= 4 {
        let typ = u16::from_be_bytes([exts[0], exts[1]]);
        let len = usize::from(u16::from_be_bytes([exts[2], exts[3]]));
        if typ == EXT_EARLY_DATA {
            return true;
        }
        exts = &exts[4 + len..];
    }
    false
}

/// test-tls13-0rtt-garbage.py: a ClientHello with early_data and a PSK the server cannot
/// use, then application_data records it cannot decrypt: the server ignores the PSK, does a
/// full handshake, skips the records, and the handshake completes.
#[test]
fn tls13_0rtt_garbage_is_skipped() {
    let (mut s, keys) = server();
    let mut h = Hello::tls13();
    h.with_early_data();
    feed(&mut s, &h.records()).unwrap();
    expect_no_error(&s, "after the ClientHello with early_data");
    feed(&mut s, &garbage_records())
        .unwrap_or_else(|e| panic!("the server did not skip the rejected early data: {e}"));
    let messages = finish_by_hand(&mut s, &keys, h.message());
    assert!(
        !accepted_early_data(&messages),
        "the server must not accept early data"
    );
}

/// RFC 8446 §4.2.10 bounds the early data a server skips: more than
/// `MAX_EARLY_DATA_SKIPPED` bytes of it, headers counted (so empty records too), ends the
/// connection instead of being skipped without end.
#[test]
fn tls13_0rtt_skipping_is_bounded_also_for_empty_records() {
    let (mut s, _) = server();
    let mut h = Hello::tls13();
    h.with_early_data();
    feed(&mut s, &h.records()).unwrap();
    let empty = [23u8, 3, 3, 0, 0];
    let fits = ferrotls::conn::MAX_EARLY_DATA_SKIPPED / empty.len();
    feed(&mut s, &empty.repeat(fits))
        .expect("empty early-data records within the bound are skipped");
    expect_no_error(&s, "after skipping records up to the bound");
    let _ = feed(&mut s, &empty);
    expect_fatal(
        &s,
        AlertDescription::UnexpectedMessage,
        Some(Reason::TooMuchEarlyData),
        &["more than 17408 bytes of early data"],
    );
}

/// test-tls13-0rtt-garbage.py, negative: the same records without the early_data extension
/// are not early data: the first one fails authentication → bad_record_mac.
#[test]
fn tls13_garbage_without_early_data_is_bad_record_mac() {
    let (mut s, _) = server();
    let h = Hello::tls13();
    feed(&mut s, &h.records()).unwrap();
    let _ = feed(&mut s, &garbage_records());
    expect_fatal(
        &s,
        AlertDescription::BadRecordMac,
        Some(Reason::RecordAuthenticationFailed),
        &["authentication|decrypt|mac"],
    );
}

/// test-tls13-0rtt-garbage.py with a HelloRetryRequest: the server (P-256 only) asks for
/// another share; the early data after the first ClientHello is skipped, then the second
/// ClientHello (P-256 share, no early_data) is processed and the handshake completes.
#[test]
fn tls13_0rtt_garbage_after_hello_retry_request_is_skipped() {
    let (cfg, keys) = server_config(|b| b.set_groups(&[NamedGroup::secp256r1]).unwrap());
    let mut s = Connection::new_server(cfg).unwrap();
    let mut h1 = Hello::tls13();
    h1.with_early_data();
    feed(&mut s, &h1.records()).unwrap();
    expect_no_error(&s, "after the first ClientHello");

    // The HelloRetryRequest (plaintext), then the CCS for our non-empty session id.
    let mut hrr = Vec::new();
    for r in split_records(&take_all(&mut s)) {
        match r[0] {
            22 => hrr.extend_from_slice(&r[5..]),
            20 => {}
            t => panic!("a record of type {t} instead of a HelloRetryRequest"),
        }
    }
    assert_eq!(hrr[0], HS_SERVER_HELLO);
    assert_eq!(
        &hrr[6..38],
        &HRR_RANDOM,
        "the server did not send a HelloRetryRequest"
    );

    feed(&mut s, &garbage_records())
        .unwrap_or_else(|e| panic!("the server did not skip early data after its HRR: {e}"));

    let mut h2 = h1.clone();
    h2.remove(EXT_EARLY_DATA).set(
        EXT_KEY_SHARE,
        ext_key_share(SECP256R1, &public_key(NamedGroup::secp256r1)),
    );
    h2.remove(EXT_PRE_SHARED_KEY);
    h2.extensions.push((EXT_PRE_SHARED_KEY, ext_unknown_psk()));
    feed(&mut s, &h2.records())
        .unwrap_or_else(|e| panic!("the second ClientHello was refused: {e}"));
    let mut transcript = message_hash(&h1.message());
    transcript.extend_from_slice(&hrr);
    transcript.extend_from_slice(&h2.message());
    finish_by_hand(&mut s, &keys, transcript);
}

// ================================================================================================
// 7. Large legal ClientHellos (tlsfuzzer test-client-hello-max-size.py, test-large-hello.py;
//    RFC 8446 §4: handshake messages up to 2^24-1 bytes, fragmented over records)
// ================================================================================================

/// test-client-hello-max-size.py style: a ClientHello of 70,000 bytes (16,000 unassigned
/// cipher suites after the real one, plus a padding extension), in records of 16,384
/// bytes → a normal handshake.
#[test]
fn tls13_client_hello_of_70000_bytes_completes() {
    let mut h = Hello::tls13();
    // Unassigned code points 0x8000.. (not SCSVs, not GREASE), after the real suite.
    h.suites.extend((0..16_000u16).map(|i| 0x8000 + i));
    h.set(EXT_PADDING, Vec::new());
    let pad = 70_000 - h.message().len();
    h.set(EXT_PADDING, vec![0; pad]);
    assert_eq!(h.message().len(), 70_000);
    assert!(h.records().len() > 4 * 5 + 70_000, "more than four records");
    hello_completes(&h);
}

/// test-large-hello.py / test-tls13-signature-algorithms.py style: signature_algorithms
/// with 32,000 schemes, the real one first → a normal handshake.
#[test]
fn tls13_signature_algorithms_with_32000_schemes_completes() {
    let mut h = Hello::tls13();
    let mut schemes = vec![ECDSA_P256_SHA256];
    // Unassigned (private-use-like) code points, repeated.
    schemes.extend((0..31_999u16).map(|i| 0xfe00 | (i % 256)));
    h.set(EXT_SIGNATURE_ALGORITHMS, ext_u16_list(&schemes));
    assert!(h.message().len() > 64_000);
    hello_completes(&h);
}

/// A handshake header announcing 0xFFFFFF bytes → decode_error at once, before the body.
#[test]
fn handshake_header_of_16777215_bytes_is_decode_error_at_once() {
    let (mut s, _) = server();
    let _ = feed(
        &mut s,
        &plaintext_record(22, &[HS_CLIENT_HELLO, 0xff, 0xff, 0xff]),
    );
    expect_fatal(
        &s,
        AlertDescription::DecodeError,
        Some(Reason::HandshakeMessageTooLarge),
        &["16777215|0xffffff", "bytes"],
    );
}

// ================================================================================================
// 8. Many extensions (tlsfuzzer test-large-number-of-extensions.py; RFC 8446 §4.2: unknown
//    extensions are ignored)
// ================================================================================================

/// test-large-number-of-extensions.py: 4,000 empty extensions of unassigned types
/// (0x1000 + i) besides the real ones → the handshake proceeds.
#[test]
fn tls13_4000_unknown_empty_extensions_complete() {
    let mut h = Hello::tls13();
    for i in 0..4000u16 {
        h.set(0x1000 + i, Vec::new());
    }
    hello_completes(&h);
}

// ================================================================================================
// 9. Inner length disagreeing with the extension length (tlsfuzzer
//    test-tls13-signature-algorithms.py / test-signature-algorithms.py, fuzz_message
//    xors={-5: i} with signature_algorithms last; RFC 8446 §4.2.3)
// ================================================================================================

/// signature_algorithms last with two schemes, so byte -5 of the message is the low byte of
/// its inner list length; every xor of it → decode_error.
#[test]
fn tls13_signature_algorithms_inner_length_xor_is_decode_error() {
    let (cfg, _) = server_config(|_| {});
    let mut h = Hello::tls13();
    h.remove(EXT_SIGNATURE_ALGORITHMS);
    h.extensions.push((
        EXT_SIGNATURE_ALGORITHMS,
        ext_u16_list(&[ECDSA_P256_SHA256, RSA_PSS_RSAE_SHA256]),
    ));
    let m = h.message();
    let at = m.len() - 5;
    assert_eq!(m[at], 4, "byte -5 must be the inner length's low byte");
    // Every xor must be decode_error naming the extension; collect all that are not.
    let mut wrong = Vec::new();
    for i in 1..=255u8 {
        let mut bad = m.clone();
        bad[at] ^= i;
        let mut s = Connection::new_server(cfg.clone()).unwrap();
        let _ = feed(&mut s, &handshake_records(&bad, MAX_FRAGMENT));
        match s.error() {
            None => wrong.push(format!("xor {i:#04x}: accepted")),
            Some(e) => {
                let d = e.to_string();
                if e.alert_sent != Some(AlertDescription::DecodeError)
                    || !d.contains("signature_algorithms")
                {
                    wrong.push(format!("xor {i:#04x}: {d}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 255 xors not a decode_error naming signature_algorithms:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// ================================================================================================
// 10. Client side: a server certificate with an RSA-1024 key (RFC 8446 §4.4.2.4; the
//     signature schemes we accept need RSA keys of at least 2048 bits)
// ================================================================================================

/// A real RSA-1024 public key (PKCS#1 RSAPublicKey), made once with `openssl genrsa 1024`.
/// Only the public half is needed: the certificate is spliced into a real server's flight,
/// and the client must refuse it before any signature by that key matters.
const RSA1024_PUBLIC_KEY: &str = "30818902818100cec8c549fee1f9f199ca791958c41feaf017404f8b6451ebab\
    e3fe0e3aedb031fb58757fc05fd88f2c494b6a8e8bc5888fa158cef6c4302aaf\
    cf6264301bb0959edf8c8a694d07633e5714a44e3395e3d2056d7f7dd2e6e346\
    58ebb88993e6635ecc730a8548c6046eeb63feff5dbb2218baf4c0610e2b41d1\
    ea36fb943e2bd10203010001";

struct Rsa1024(Vec<u8>);

impl rcgen::PublicKeyData for Rsa1024 {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A CA (ECDSA P-256) as PEM, and a server certificate for "localhost" it issued for the
/// RSA-1024 key, as DER.
fn rsa1024_certificate() -> (String, Vec<u8>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "Conformance RSA-1024 CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf
        .signed_by(&Rsa1024(unhex(RSA1024_PUBLIC_KEY)), &ca, &ca_key)
        .unwrap();
    (ca.pem(), cert.der().to_vec())
}

/// Client side: the server's Certificate carries an RSA-1024 key (spliced into a real
/// TLS 1.3 flight) → the client refuses the certificate, saying the key is too small
/// (1024 bits; the minimum is 2048), with bad_certificate or insufficient_security — not
/// decrypt_error from a later signature check.
#[test]
fn client_refuses_rsa_1024_server_certificate() {
    let (ca_pem, leaf) = rsa1024_certificate();
    let (server, keys) = server_config(|_| {});
    let mut cb = ConfigBuilder::new(Role::Client);
    cb.add_roots_pem(ca_pem.as_bytes()).unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    transfer(&mut c, &mut s).unwrap();

    // Re-encrypt the server's flight with our Certificate in place of its own.
    let suite = suite_info(&s);
    let shs = secret(&keys, "SERVER_HANDSHAKE_TRAFFIC_SECRET");
    let dec = ferrotls::tls13::key_schedule::decrypter(suite, &shs).unwrap();
    let enc = ferrotls::tls13::key_schedule::encrypter(suite, &shs).unwrap();
    let mut entry = u24_vec(&leaf);
    entry.extend_from_slice(&[0, 0]); // no extensions
    let mut body = vec![0]; // empty certificate_request_context
    body.extend_from_slice(&u24_vec(&entry));
    let certificate = handshake_message(HS_CERTIFICATE, &body);
    let mut flight = Vec::new();
    let mut seq = 0;
    let mut spliced = false;
    for r in split_records(&take_all(&mut s)) {
        if r[0] != 23 {
            flight.extend_from_slice(&r);
            continue;
        }
        // Decryption works in place: keep the record as sent.
        let mut copy = r.clone();
        let header: [u8; 5] = r[..5].try_into().unwrap();
        let (typ, plain) = dec.decrypt(seq, &header, &mut copy[5..]).unwrap();
        if plain[0] == HS_CERTIFICATE {
            enc.encrypt(seq, typ, &certificate, &mut flight).unwrap();
            spliced = true;
        } else {
            flight.extend_from_slice(&r);
        }
        seq += 1;
    }
    assert!(spliced, "no Certificate record in the server's flight");

    let _ = feed(&mut c, &flight);
    let err = c
        .error()
        .unwrap_or_else(|| panic!("the client accepted an RSA-1024 server certificate"));
    let detail = err.to_string();
    println!(
        "RSA-1024 server certificate: alert {:?}; {detail}",
        err.alert_sent
    );
    assert_ne!(
        err.alert_sent,
        Some(AlertDescription::DecryptError),
        "the key size must be judged at the certificate, not as a failed signature: {detail}"
    );
    // unsupported_certificate: the key is of a kind (RSA under 2048 bits) we do not accept;
    // the C result code is FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM.
    assert_eq!(
        err.alert_sent,
        Some(AlertDescription::UnsupportedCertificate),
        "expected unsupported_certificate: {detail}"
    );
    for w in ["1024", "2048", "RSA"] {
        assert!(
            detail.contains(w),
            "the detail does not mention {w:?}: {detail}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// close_notify before the handshake completes

/// A peer that sends close_notify during the handshake (tlsfuzzer's test-connection-abort sends
/// alerts at every step) ends it: the connection fails with a detail naming the step it was
/// waiting for, instead of reporting a clean close of a connection that never started. No
/// alert goes back (RFC 8446 §6.1: close_notify is answered by closing).
#[test]
fn close_notify_during_handshake_fails_naming_the_step() {
    let (mut s, _) = server();
    let e = feed(&mut s, &plaintext_record(21, &[1, 0])).unwrap_err();
    let detail = e.to_string();
    assert!(
        detail.contains("close_notify during the handshake")
            && detail.contains("Step One: ClientHello"),
        "{detail}"
    );
    assert_eq!(s.error().and_then(|e| e.alert_sent), None);
    assert!(!s.is_handshaking());
}
