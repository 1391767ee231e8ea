//! In-memory TLS 1.2 handshakes between our client and our server, version negotiation,
//! downgrade protection, Extended Master Secret and mutual TLS.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use ferrotls::codec::enums::{
    AlertDescription, CipherSuite, Compression, ECPointFormat, HandshakeType, NamedGroup,
    ProtocolVersion, SignatureScheme,
};
use ferrotls::codec::extensions::{ClientExtension, ServerExtension};
use ferrotls::codec::handshake::{
    ClientHelloPayload, HandshakeMessage, HandshakePayload, ServerHelloPayload,
};
use ferrotls::config::{ConfigBuilder, KeyLog, Role, VerifyMode};
use ferrotls::conn::{Connection, ReadStatus};
use ferrotls::error::{Error, Reason};

const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;
const V13: ProtocolVersion = ProtocolVersion::TLSv1_3;

const ECDSA_SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
];
const RSA_SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];
const GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

fn versions(b: &mut ConfigBuilder, min: ProtocolVersion, max: ProtocolVersion) {
    b.set_versions(min, max).unwrap();
}

fn exporter(c: &Connection, ctx: Option<&[u8]>) -> [u8; 32] {
    let mut out = [0u8; 32];
    c.export_keying_material(&mut out, b"EXPORTER-ferrotls-test", ctx)
        .unwrap();
    out
}

/// Close from `a`; `b` must see a clean close_notify.
fn close(a: &mut Connection, b: &mut Connection) {
    a.close();
    transfer(a, b).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(b.read(&mut buf).unwrap(), ReadStatus::Closed);
    assert!(b.received_close_notify());
}

#[test]
fn every_suite_key_type_and_group() {
    let pki = Pki::new("TLS 1.2 CA");
    for kt in ALL_KEY_TYPES {
        let suites = if kt == KeyType::Rsa2048 {
            RSA_SUITES
        } else {
            ECDSA_SUITES
        };
        // An ECDSA key's curve must be among the client's supported_groups (RFC 8422 §5.1):
        // the client lists it after the group under test, and the server negotiates only that
        // group.
        let curve = match kt {
            KeyType::P256 => Some(NamedGroup::secp256r1),
            KeyType::P384 => Some(NamedGroup::secp384r1),
            _ => None,
        };
        for suite in suites {
            for group in GROUPS {
                // The server allows both versions: the client (TLS 1.2 only) must ignore the
                // downgrade sentinel it then sees.
                let mut sb = server_builder(&pki, kt);
                sb.set_groups(&[group]).unwrap();
                let server = sb.build().unwrap();
                let mut cb = client_builder(&pki);
                versions(&mut cb, V12, V12);
                cb.set_cipher_suites(&[suite]).unwrap();
                let mut offered = vec![group];
                offered.extend(curve.filter(|c| *c != group));
                cb.set_groups(&offered).unwrap();
                let client = cb.build().unwrap();
                let (mut c, mut s) = pair(&client, &server, "localhost");
                handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{kt:?} {suite} {group}: {e}"));
                for conn in [&c, &s] {
                    assert_eq!(conn.protocol_version(), Some(V12));
                    assert_eq!(conn.cipher_suite(), Some(suite));
                    assert_eq!(conn.group(), Some(group));
                }
                let scheme = c.signature_scheme().unwrap();
                assert_eq!(s.signature_scheme(), Some(scheme));
                match kt {
                    KeyType::P256 => assert_eq!(scheme, SignatureScheme::ECDSA_NISTP256_SHA256),
                    KeyType::P384 => assert_eq!(scheme, SignatureScheme::ECDSA_NISTP384_SHA384),
                    KeyType::Ed25519 => assert_eq!(scheme, SignatureScheme::ED25519),
                    KeyType::Rsa2048 => assert_eq!(scheme, SignatureScheme::RSA_PSS_RSAE_SHA256),
                }
                assert_eq!(c.peer_cert_subject().as_deref(), Some("CN=localhost"));
                assert_eq!(s.server_name(), Some("localhost"));
                assert_eq!(send_recv(&mut c, &mut s, b"ping"), b"ping");
                assert_eq!(send_recv(&mut s, &mut c, b"pong"), b"pong");
                assert_eq!(exporter(&c, None), exporter(&s, None));
                assert_eq!(exporter(&c, Some(b"ctx")), exporter(&s, Some(b"ctx")));
                assert_ne!(exporter(&c, None), exporter(&c, Some(b"")));
                close(&mut c, &mut s);
            }
        }
    }
}

#[test]
fn large_transfer_and_client_preference() {
    let pki = Pki::new("TLS 1.2 CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    versions(&mut sb, V12, V12);
    let server = sb.build().unwrap();
    let mut sbc = server_builder(&pki, KeyType::P256);
    versions(&mut sbc, V12, V12);
    sbc.set_prefer_client_ciphers(true);
    let server_client_pref = sbc.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_cipher_suites(&[
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ])
    .unwrap();
    cb.set_alpn_list("h2,http/1.1").unwrap();
    let client = cb.build().unwrap();

    // Server preference (the default): AES-128-GCM comes first in our list.
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        c.cipher_suite(),
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    );
    assert_eq!(c.alpn_protocol(), None, "the server has no ALPN configured");
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(send_recv(&mut c, &mut s, &big), big);
    assert_eq!(send_recv(&mut s, &mut c, &big), big);

    // Client preference on request.
    let (mut c, mut s) = pair(&client, &server_client_pref, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(
        s.cipher_suite(),
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
    );
}

#[test]
fn alpn_in_the_tls12_server_hello() {
    let pki = Pki::new("TLS 1.2 CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    versions(&mut sb, V12, V12);
    sb.set_alpn_list("http/1.1,h2").unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_alpn_list("h2,http/1.1").unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.protocol_version(), Some(V12));
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);
impl KeyLog for Lines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        self.0
            .lock()
            .unwrap()
            .push(format!("{label} {} {}", hex(client_random), hex(secret)));
    }
}

#[test]
fn key_log_has_the_client_random_line() {
    let pki = Pki::new("TLS 1.2 CA");
    let sl = Arc::new(Lines::default());
    let cl = Arc::new(Lines::default());
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_keylog(Some(sl.clone()));
    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    cb.set_keylog(Some(cl.clone()));
    let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
    handshake(&mut c, &mut s).unwrap();
    let (cl, sl) = (cl.0.lock().unwrap(), sl.0.lock().unwrap());
    assert_eq!(cl.len(), 1);
    assert_eq!(*cl, *sl);
    let parts: Vec<&str> = cl[0].split(' ').collect();
    assert_eq!(parts[0], "CLIENT_RANDOM");
    assert_eq!((parts[1].len(), parts[2].len()), (64, 96));
}

#[test]
fn trace_reads_like_the_seed() {
    let pki = Pki::new("TLS 1.2 CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    // (Step One went out when the connection was made, before the trace was installed.)
    c.set_trace(Some(Box::new(move |e| {
        l2.lock().unwrap().push(e.text.to_string())
    })));
    handshake(&mut c, &mut s).unwrap();
    let lines = lines.lock().unwrap();
    let steps: Vec<&String> = lines.iter().filter(|l| l.contains("Step ")).collect();
    let order = [
        "in:  Step Two: ServerHello",
        "in:  Step Three: ServerCertificate",
        "in:  Step Four: ServerKeyExchange",
        "in:  Step Six: ServerHelloDone",
        "out: Step Eight: ClientKeyExchange",
        "out: Step Ten: ChangeCipherSpec",
        "in:  Step Eleven: ChangeCipherSpec",
    ];
    let mut at = 0;
    for want in order {
        let found = steps[at..].iter().position(|l| l.contains(want));
        let Some(i) = found else {
            panic!("'{want}' missing or out of order in:\n{}", lines.join("\n"))
        };
        at += i + 1;
    }
}

// ---- version negotiation ----

#[test]
fn version_matrix() {
    let pki = Pki::new("TLS 1.2 CA");
    let both = (V12, V13);
    let only12 = (V12, V12);
    let only13 = (V13, V13);
    for (cv, sv, expect) in [
        (only12, only12, Some(V12)),
        (only12, both, Some(V12)),
        (only12, only13, None),
        (both, only12, Some(V12)),
        (both, both, Some(V13)),
        (both, only13, Some(V13)),
        (only13, only12, None),
    ] {
        let mut sb = server_builder(&pki, KeyType::P256);
        versions(&mut sb, sv.0, sv.1);
        let mut cb = client_builder(&pki);
        versions(&mut cb, cv.0, cv.1);
        let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
        match expect {
            Some(v) => {
                handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{cv:?} {sv:?}: {e}"));
                assert_eq!(c.protocol_version(), Some(v), "{cv:?} {sv:?}");
                assert_eq!(s.protocol_version(), Some(v));
                assert_eq!(send_recv(&mut c, &mut s, b"v"), b"v");
            }
            None => {
                let (ce, se) = failing_handshake(&mut c, &mut s);
                let (ce, se) = (ce.unwrap(), se.unwrap());
                // The server refuses the ClientHello; the client hears why.
                let want = if cv == only12 {
                    "the client offered TLSv1.2; we support TLSv1.3"
                } else {
                    "the client offered TLSv1.3; we support TLSv1.2"
                };
                assert!(se.contains(want), "{se}");
                assert!(
                    se.contains("we sent a fatal protocol_version alert"),
                    "{se}"
                );
                assert!(
                    ce.contains("it supports none of the protocol versions we offered"),
                    "{ce}"
                );
            }
        }
    }
}

/// The ClientHello a fresh client sends, decoded, plus the client.
fn client_hello_of(config: &Arc<ferrotls::config::Config>) -> (Connection, ClientHelloPayload) {
    let c = Connection::new_client(config.clone(), Some("localhost")).unwrap();
    let out = c.peek_outgoing();
    assert_eq!(out[0], 22);
    let msg = HandshakeMessage::read(&out[5..], V12).unwrap();
    let HandshakePayload::ClientHello(ch) = msg.payload else {
        panic!("not a ClientHello")
    };
    (c, ch)
}

fn record(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn server_hello_record(
    version: ProtocolVersion,
    random: [u8; 32],
    suite: CipherSuite,
    extensions: Vec<ServerExtension>,
) -> Vec<u8> {
    let sh = ServerHelloPayload {
        legacy_version: version,
        random,
        session_id: vec![],
        cipher_suite: suite,
        compression_method: Compression::Null,
        extensions,
    };
    let msg = HandshakeMessage {
        typ: HandshakeType::ServerHello,
        payload: HandshakePayload::ServerHello(sh),
    };
    record(22, &msg.get_encoding())
}

fn tls12_extensions(ems: bool) -> Vec<ServerExtension> {
    let mut v = vec![
        ServerExtension::RenegotiationInfo(vec![]),
        ServerExtension::EcPointFormats(vec![ECPointFormat::Uncompressed]),
    ];
    if ems {
        v.push(ServerExtension::ExtendedMasterSecret);
    }
    v
}

const SUITE12: CipherSuite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;

#[test]
fn client_offers_what_the_config_allows() {
    let pki = Pki::new("TLS 1.2 CA");
    let (_, ch) = client_hello_of(&client_builder(&pki).build().unwrap());
    assert_eq!(ch.supported_versions(), Some(&[V13, V12][..]));
    assert!(ch.ems_offered());
    assert_eq!(ch.renegotiation_info(), Some(&[][..]));
    assert_eq!(
        ch.ec_point_formats(),
        Some(&[ECPointFormat::Uncompressed][..])
    );
    assert!(ch.cipher_suites.contains(&SUITE12));
    assert!(
        ch.signature_schemes()
            .unwrap()
            .contains(&SignatureScheme::RSA_PKCS1_SHA256)
    );
    assert!(ch.key_shares().is_some());

    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    let (_, ch) = client_hello_of(&cb.build().unwrap());
    assert_eq!(ch.legacy_version, V12);
    assert_eq!(ch.supported_versions(), None);
    assert_eq!(ch.key_shares(), None);
    assert!(
        ch.cipher_suites
            .iter()
            .all(|s| !s.to_string().starts_with("TLS_AES"))
    );
    assert_eq!(ch.session_id.len(), 32);

    let mut cb = client_builder(&pki);
    versions(&mut cb, V13, V13);
    let (_, ch) = client_hello_of(&cb.build().unwrap());
    assert_eq!(ch.supported_versions(), Some(&[V13][..]));
    assert!(!ch.ems_offered());
    assert!(
        !ch.signature_schemes()
            .unwrap()
            .contains(&SignatureScheme::RSA_PKCS1_SHA256)
    );
}

#[test]
fn extended_master_secret_is_required_unless_switched_off() {
    let pki = Pki::new("TLS 1.2 CA");
    let (mut c, _) = client_hello_of(&client_builder(&pki).build().unwrap());
    let err = c
        .feed(&server_hello_record(
            V12,
            [7; 32],
            SUITE12,
            tls12_extensions(false),
        ))
        .unwrap_err();
    let Error::HandshakeFailure(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.reason, Reason::NoExtendedMasterSecret);
    let d = &d.text;
    assert!(
        d.contains("the server does not support Extended Master Secret (RFC 7627), which this configuration requires"),
        "{d}"
    );
    assert!(d.contains("set_require_extended_master_secret(false) to accept a legacy peer"));
    assert_eq!(
        c.error().unwrap().alert_sent,
        Some(AlertDescription::HandshakeFailure)
    );

    let mut cb = client_builder(&pki);
    cb.set_require_extended_master_secret(false);
    let (mut c, _) = client_hello_of(&cb.build().unwrap());
    c.feed(&server_hello_record(
        V12,
        [7; 32],
        SUITE12,
        tls12_extensions(false),
    ))
    .unwrap();
    assert!(c.error().is_none());
    assert_eq!(c.protocol_version(), Some(V12));
    assert!(c.is_handshaking());

    // The server side: a client without EMS.
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut ch = client_hello_of(&client_builder(&pki).build().unwrap()).1;
    ch.extensions.retain(|e| {
        !matches!(
            e,
            ClientExtension::ExtendedMasterSecret | ClientExtension::SupportedVersions(_)
        )
    });
    let msg = HandshakeMessage {
        typ: HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch),
    };
    let mut s = Connection::new_server(server).unwrap();
    let err = s.feed(&record(22, &msg.get_encoding())).unwrap_err();
    assert!(
        err.to_string()
            .contains("the client does not support Extended Master Secret (RFC 7627)"),
        "{err}"
    );
}

#[test]
fn legacy_peers_without_ems_complete_when_allowed() {
    // Our server and client both switched to optional still use EMS with each other; a
    // ClientHello stripped of EMS goes through the legacy master secret.
    let pki = Pki::new("TLS 1.2 CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_require_extended_master_secret(false);
    let mut cb = client_builder(&pki);
    cb.set_require_extended_master_secret(false);
    versions(&mut cb, V12, V12);
    let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(send_recv(&mut c, &mut s, b"optional ems"), b"optional ems");
}

#[test]
fn downgrade_sentinel_is_detected() {
    let pki = Pki::new("TLS 1.2 CA");
    for tail in [*b"DOWNGRD\x01", *b"DOWNGRD\x00"] {
        let mut random = [9u8; 32];
        random[24..].copy_from_slice(&tail);
        let (mut c, _) = client_hello_of(&client_builder(&pki).build().unwrap());
        let err = c
            .feed(&server_hello_record(
                V12,
                random,
                SUITE12,
                tls12_extensions(true),
            ))
            .unwrap_err();
        let Error::IllegalParameter(d) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(d.reason, Reason::DowngradeSentinel);
        assert!(d.text.starts_with("downgrade detected"), "{d}");
        assert_eq!(
            c.error().unwrap().alert_sent,
            Some(AlertDescription::IllegalParameter)
        );
    }
    // A client that did not offer TLS 1.3 has nothing to protect.
    let mut random = [9u8; 32];
    random[24..].copy_from_slice(b"DOWNGRD\x01");
    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    let (mut c, _) = client_hello_of(&cb.build().unwrap());
    c.feed(&server_hello_record(
        V12,
        random,
        SUITE12,
        tls12_extensions(true),
    ))
    .unwrap();
    assert!(c.error().is_none());
}

#[test]
fn client_refuses_old_versions_and_bad_server_hellos() {
    let pki = Pki::new("TLS 1.2 CA");
    let config = client_builder(&pki).build().unwrap();
    let (mut c, _) = client_hello_of(&config);
    let err = c
        .feed(&server_hello_record(
            ProtocolVersion::TLSv1_0,
            [1; 32],
            SUITE12,
            vec![],
        ))
        .unwrap_err();
    assert!(matches!(err, Error::NoSharedVersion(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the server chose TLSv1.0; ferrotls supports TLSv1.2 and TLSv1.3"),
        "{err}"
    );
    assert_eq!(
        c.error().unwrap().alert_sent,
        Some(AlertDescription::ProtocolVersion)
    );

    // RFC 5746 §3.4: a non-empty renegotiation_info on an initial handshake.
    let (mut c, _) = client_hello_of(&config);
    let mut exts = tls12_extensions(true);
    exts[0] = ServerExtension::RenegotiationInfo(vec![1; 24]);
    let err = c
        .feed(&server_hello_record(V12, [1; 32], SUITE12, exts))
        .unwrap_err();
    assert!(
        matches!(err, Error::HandshakeFailure(ref d) if d.reason == Reason::BadRenegotiationInfo && d.text.contains("renegotiation_info"))
    );

    // A TLS 1.3 suite in a TLS 1.2 ServerHello.
    let (mut c, _) = client_hello_of(&config);
    let err = c
        .feed(&server_hello_record(
            V12,
            [1; 32],
            CipherSuite::TLS_AES_128_GCM_SHA256,
            tls12_extensions(true),
        ))
        .unwrap_err();
    assert!(matches!(err, Error::IllegalParameter(_)), "{err:?}");

    // TLS 1.2 chosen through supported_versions (RFC 8446 §4.2.1 allows only 1.3 there).
    let (mut c, _) = client_hello_of(&config);
    let mut exts = tls12_extensions(true);
    exts.push(ServerExtension::SupportedVersions(V12));
    let err = c
        .feed(&server_hello_record(V12, [1; 32], SUITE12, exts))
        .unwrap_err();
    assert!(
        matches!(err, Error::IllegalParameter(ref d) if d.reason == Reason::UnofferedVersion && d.text.contains("supported_versions"))
    );

    // An extension we never offered.
    let (mut c, _) = client_hello_of(&config);
    let mut exts = tls12_extensions(true);
    exts.push(ServerExtension::EarlyData);
    let err = c
        .feed(&server_hello_record(V12, [1; 32], SUITE12, exts))
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedExtension(_)), "{err:?}");
}

fn fallback_client_hello(pki: &Pki) -> Vec<u8> {
    let mut cb = client_builder(pki);
    versions(&mut cb, V12, V12);
    let (_, mut ch) = client_hello_of(&cb.build().unwrap());
    ch.cipher_suites.push(CipherSuite::TLS_FALLBACK_SCSV);
    let msg = HandshakeMessage {
        typ: HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch),
    };
    record(22, &msg.get_encoding())
}

#[test]
fn fallback_scsv_to_a_tls13_server_is_refused() {
    let pki = Pki::new("TLS 1.2 CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut s = Connection::new_server(server).unwrap();
    let err = s.feed(&fallback_client_hello(&pki)).unwrap_err();
    assert!(matches!(err, Error::InappropriateFallback(_)), "{err:?}");
    assert!(err.to_string().contains("TLS_FALLBACK_SCSV"), "{err}");
    assert_eq!(
        s.error().unwrap().alert_sent,
        Some(AlertDescription::InappropriateFallback)
    );
    // The alert goes out in plaintext.
    let out = s.peek_outgoing();
    assert_eq!(&out[out.len() - 7..], &[21, 3, 3, 0, 2, 2, 86]);

    // A TLS 1.2-only server has nothing better to offer: the handshake goes on.
    let mut sb = server_builder(&pki, KeyType::P256);
    versions(&mut sb, V12, V12);
    let mut s = Connection::new_server(sb.build().unwrap()).unwrap();
    s.feed(&fallback_client_hello(&pki)).unwrap();
    assert!(s.error().is_none());
    assert_eq!(s.protocol_version(), Some(V12));
}

#[test]
fn no_shared_suite_lists_both_sides() {
    let pki = Pki::new("TLS 1.2 CA");
    let server = server_builder(&pki, KeyType::Rsa2048).build().unwrap();
    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    cb.set_cipher_suites(&ECDSA_SUITES).unwrap();
    let (mut c, mut s) = pair(&cb.build().unwrap(), &server, "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    let se = se.unwrap();
    assert!(se.contains("no TLS 1.2 cipher suite in common"), "{se}");
    assert!(
        se.contains("the client offered TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        "{se}"
    );
    assert!(
        se.contains("RSA") && se.contains("we support TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{se}"
    );
    assert!(se.contains("handshake_failure"), "{se}");
    assert!(ce.unwrap().contains("handshake_failure"));
}

// ---- mutual TLS ----

fn mtls_server(pki: &Pki, mode: VerifyMode) -> Arc<ferrotls::config::Config> {
    let mut sb = server_builder(pki, KeyType::P256);
    versions(&mut sb, V12, V12);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(mode).unwrap();
    sb.build().unwrap()
}

fn mtls_client(pki: &Pki, id: Option<&Identity>) -> Arc<ferrotls::config::Config> {
    let mut cb = client_builder(pki);
    if let Some(id) = id {
        cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
            .unwrap();
    }
    cb.build().unwrap()
}

#[test]
fn mutual_tls_modes() {
    let pki = Pki::new("TLS 1.2 CA");
    let required = mtls_server(&pki, VerifyMode::RequireClientCert);
    let optional = mtls_server(&pki, VerifyMode::RequestClientCert);
    for kt in [KeyType::P256, KeyType::Ed25519, KeyType::Rsa2048] {
        let id = pki.issue(&["client.test"], kt, true);
        let client = mtls_client(&pki, Some(&id));
        for server in [&required, &optional] {
            let (mut c, mut s) = pair(&client, server, "localhost");
            handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{kt:?}: {e}"));
            assert_eq!(s.protocol_version(), Some(V12));
            assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
            assert_eq!(send_recv(&mut c, &mut s, b"mtls"), b"mtls");
        }
    }
    // Optional, no certificate: fine.
    let anon = mtls_client(&pki, None);
    let (mut c, mut s) = pair(&anon, &optional, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert!(s.peer_certificates().is_empty());
    // Required, no certificate: handshake_failure (certificate_required is TLS 1.3 only).
    let (mut c, mut s) = pair(&anon, &required, "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    let se = se.unwrap();
    assert!(
        se.contains("the client sent no certificate, but this server requires one"),
        "{se}"
    );
    assert!(se.contains("handshake_failure"), "{se}");
    assert!(ce.unwrap().contains("handshake_failure"));
}

#[test]
fn client_certificate_from_an_unknown_ca() {
    let pki = Pki::new("TLS 1.2 CA");
    let other = Pki::new("Other CA");
    let id = other.issue(&["stranger"], KeyType::P256, true);
    let server = mtls_server(&pki, VerifyMode::RequireClientCert);
    let (mut c, mut s) = pair(&mtls_client(&pki, Some(&id)), &server, "localhost");
    let (ce, se) = failing_handshake(&mut c, &mut s);
    assert!(se.unwrap().contains("unknown_ca"));
    assert!(
        ce.unwrap()
            .contains("the server rejected our client certificate")
    );
}

#[test]
fn server_name_picks_the_certificate_and_the_suite_follows_its_key() {
    let pki = Pki::new("TLS 1.2 CA");
    let ec = pki.issue(&["ec.test"], KeyType::P256, false);
    let rsa = pki.issue(&["rsa.test"], KeyType::Rsa2048, false);
    let mut sb = ConfigBuilder::new(Role::Server);
    sb.add_cert_key_pem(ec.chain_pem.as_bytes(), ec.key_pem.as_bytes())
        .unwrap();
    sb.add_cert_key_pem(rsa.chain_pem.as_bytes(), rsa.key_pem.as_bytes())
        .unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    let client = cb.build().unwrap();
    for (name, auth) in [("ec.test", "ECDSA"), ("rsa.test", "RSA")] {
        let (mut c, mut s) = pair(&client, &server, name);
        handshake(&mut c, &mut s).unwrap();
        assert!(
            c.cipher_suite().unwrap().to_string().contains(auth),
            "{name}: {:?}",
            c.cipher_suite()
        );
    }
}

/// Run a TLS 1.2 pair until the server's first flight (ServerHello .. ServerHelloDone) waits.
fn tls12_pair_to_server_flight(keys: Option<Arc<CapturedKeys>>) -> (Connection, Connection) {
    let pki = Pki::new("TLS 1.2 CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    let mut cb = client_builder(&pki);
    versions(&mut sb, V12, V12);
    versions(&mut cb, V12, V12);
    cb.set_session_cache(0).unwrap();
    if let Some(k) = keys {
        cb.set_keylog(Some(k));
    }
    let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
    transfer(&mut c, &mut s).unwrap();
    (c, s)
}

#[test]
fn tampered_server_key_exchange_signature() {
    let (mut c, s) = tls12_pair_to_server_flight(None);
    // The server's flight is plaintext in TLS 1.2: find ServerKeyExchange (type 12) and flip
    // the last byte of its signature (the message's last byte).
    let mut flight = s.peek_outgoing().to_vec();
    let mut off = 0;
    let mut tampered = false;
    for r in split_records(&flight.clone()) {
        let mut m = off + 5;
        while m + 4 <= off + r.len() {
            let len = usize::from(flight[m + 1]) << 16
                | usize::from(flight[m + 2]) << 8
                | usize::from(flight[m + 3]);
            if flight[m] == 12 {
                flight[m + 4 + len - 1] ^= 0x01;
                tampered = true;
            }
            m += 4 + len;
        }
        off += r.len();
    }
    assert!(tampered, "no ServerKeyExchange found");
    let e = c.feed(&flight).unwrap_err();
    let detail = c.error().unwrap().to_string();
    assert!(detail.contains("Step Four: ServerKeyExchange"), "{detail}");
    assert!(e.to_string().contains("does not verify"), "{e}");
    assert!(detail.contains("decrypt_error"), "{detail}");
}

/// RFC 5077 §3.3: a server that acknowledged the SessionTicket extension must send a
/// NewSessionTicket before its ChangeCipherSpec; a client refuses the CCS without it.
#[test]
fn promised_ticket_must_come_before_the_change_cipher_spec() {
    let pki = Pki::new("TLS 1.2 CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    let mut cb = client_builder(&pki);
    versions(&mut sb, V12, V12);
    versions(&mut cb, V12, V12);
    let (mut c, mut s) = pair(&cb.build().unwrap(), &sb.build().unwrap(), "localhost");
    transfer(&mut c, &mut s).unwrap(); // ClientHello, offering a ticket
    transfer(&mut s, &mut c).unwrap(); // the server's flight, acknowledging it
    transfer(&mut c, &mut s).unwrap(); // ClientKeyExchange, CCS, Finished
    let out = s.peek_outgoing().to_vec();
    let recs = split_records(&out);
    let is_ticket = |r: &&Vec<u8>| r[0] == 22 && r[5] == HandshakeType::NewSessionTicket.to_int();
    assert_eq!(
        recs.iter().filter(is_ticket).count(),
        1,
        "the server sends its ticket"
    );
    let without: Vec<u8> = recs
        .iter()
        .filter(|r| !is_ticket(r))
        .flatten()
        .copied()
        .collect();
    let err = c.feed(&without).unwrap_err();
    assert_eq!(
        err.reason(),
        Some(Reason::UnexpectedChangeCipherSpec),
        "{err}"
    );
    assert!(err.to_string().contains("RFC 5077"), "{err}");
    assert_eq!(
        c.error().unwrap().alert_sent,
        Some(AlertDescription::UnexpectedMessage)
    );
}

#[test]
fn wrong_server_finished() {
    let keys = Arc::new(CapturedKeys::default());
    let (mut c, mut s) = tls12_pair_to_server_flight(Some(keys.clone()));
    let flight = s.peek_outgoing().to_vec();
    let server_random: [u8; 32] = flight[11..43].try_into().unwrap(); // record hdr 5, hs hdr 4, version 2
    transfer(&mut s, &mut c).unwrap(); // the client answers: ClientKeyExchange, CCS, Finished
    transfer(&mut c, &mut s).unwrap(); // the server answers: CCS, Finished
    let mut out = s.peek_outgoing().to_vec();
    let recs = split_records(&out);
    // [NewSessionTicket,] ChangeCipherSpec, then the protected Finished, last.
    let ccs = recs
        .iter()
        .position(|r| r[0] == 20)
        .expect("a ChangeCipherSpec");
    assert_eq!(
        ccs + 2,
        recs.len(),
        "the Finished follows the ChangeCipherSpec"
    );
    // Re-create the server's write key from the logged master secret and rewrite its Finished.
    let master = keys.get("CLIENT_RANDOM");
    let suite = ferrotls::crypto::suites::lookup(c.cipher_suite().unwrap()).unwrap();
    let cr = keys.random_for("CLIENT_RANDOM");
    let block = ferrotls::tls12::key_schedule::key_block(
        suite.hash,
        &master,
        &cr,
        &server_random,
        suite.key_block_len(),
    );
    let (k, iv) = (suite.aead.key_len(), suite.fixed_iv_len());
    let server_key = &block[k..2 * k];
    let server_iv = &block[2 * k + iv..2 * k + 2 * iv];
    let dec =
        ferrotls::record::cipher::RecordDecrypter::tls12(suite, server_key, server_iv).unwrap();
    let enc =
        ferrotls::record::cipher::RecordEncrypter::tls12(suite, server_key, server_iv).unwrap();
    let fin_at: usize = recs[..=ccs].iter().map(Vec::len).sum();
    let mut body = out[fin_at + 5..].to_vec();
    let header: [u8; 5] = out[fin_at..fin_at + 5].try_into().unwrap();
    let (typ, plain) = dec.decrypt(0, &header, &mut body).unwrap();
    let mut plain = plain.to_vec();
    let last = plain.len() - 1;
    plain[last] ^= 0x01;
    out.truncate(fin_at);
    enc.encrypt(0, typ, &plain, &mut out).unwrap();
    let e = c.feed(&out).unwrap_err();
    assert!(
        e.to_string().contains("Finished message does not match"),
        "{e}"
    );
    let detail = c.error().unwrap().to_string();
    assert!(detail.contains("decrypt_error"), "{detail}");
}

#[test]
fn an_ecdsa_certificate_on_a_curve_the_client_does_not_list_is_refused() {
    // RFC 8422 §5.1: a TLS 1.2 client offering only X25519 accepts no P-256 key; OpenSSL's
    // client would abort with "wrong curve", so the server refuses at once, saying why.
    let pki = Pki::new("TLS 1.2 CA");
    let server = server_builder(&pki, KeyType::P256).build().unwrap();
    let mut cb = client_builder(&pki);
    versions(&mut cb, V12, V12);
    cb.set_groups(&[NamedGroup::X25519]).unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let err = handshake(&mut c, &mut s).unwrap_err();
    let text = s.error().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("supported_groups") && text.contains("RFC 8422"),
        "{text} / {err}"
    );
    assert_eq!(
        s.last_alert(),
        Some((AlertDescription::HandshakeFailure, true))
    );
}
