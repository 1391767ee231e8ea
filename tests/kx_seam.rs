//! The key-exchange seam (`ferrotls::crypto::kx::SupportedGroup`): a custom KEM-style group
//! plugged into both sides, TLS 1.2 never using it, and clients offering several key shares.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use ferrotls::codec::enums::{
    AlertDescription, CipherSuite, Compression, HandshakeType, NamedGroup, ProtocolVersion,
};
use ferrotls::codec::extensions::{KeyShareEntry, ServerExtension};
use ferrotls::codec::handshake::{
    ClientHelloPayload, HandshakeMessage, HandshakePayload, ServerHelloPayload,
};
use ferrotls::config::{Config, ConfigBuilder, MAX_KEY_SHARES, Role};
use ferrotls::conn::{Connection, HandshakeKind};
use ferrotls::crypto::hkdf::Secret;
use ferrotls::crypto::kx::{self, ActiveKeyExchange, SupportedGroup};
use ferrotls::error::{Error, Reason};

const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;
const V13: ProtocolVersion = ProtocolVersion::TLSv1_3;
/// An unassigned codepoint (RFC 8446 §4.2.7 reserves 0xFE00..0xFEFF for private use).
const TEST_KEM: NamedGroup = NamedGroup::Unknown(0xFE00);

/// A test-only KEM-style group built from X25519: the encapsulation key is an X25519 public
/// key; the server "encapsulates" by making its own X25519 key, the ciphertext is that public
/// key and the secret the agreement; the client "decapsulates" by agreeing with it.
#[derive(Debug, Default)]
struct TestKem {
    started: AtomicUsize,
    accepted: AtomicUsize,
}

impl TestKem {
    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// The client's decapsulation key.
struct TestKemKey {
    x25519: Box<dyn ActiveKeyExchange>,
}

impl SupportedGroup for TestKem {
    fn name(&self) -> NamedGroup {
        TEST_KEM
    }

    fn usable_in_tls12(&self) -> bool {
        false
    }

    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let x25519 = kx::builtin(NamedGroup::X25519).unwrap().start()?;
        Ok(Box::new(TestKemKey { x25519 }))
    }

    fn accept(&self, encapsulation_key: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        let ephemeral = kx::builtin(NamedGroup::X25519).unwrap().start()?;
        let ciphertext = ephemeral.share().to_vec();
        let secret = ephemeral.complete(encapsulation_key)?;
        Ok((ciphertext, secret))
    }
}

impl ActiveKeyExchange for TestKemKey {
    fn group(&self) -> NamedGroup {
        TEST_KEM
    }

    fn share(&self) -> &[u8] {
        self.x25519.share()
    }

    fn complete(self: Box<Self>, ciphertext: &[u8]) -> Result<Secret, Error> {
        self.x25519.complete(ciphertext)
    }
}

fn versions(b: &mut ConfigBuilder, min: ProtocolVersion, max: ProtocolVersion) {
    b.set_versions(min, max).unwrap();
}

fn share_groups(ch: &ClientHelloPayload) -> Vec<NamedGroup> {
    ch.key_shares()
        .unwrap_or(&[])
        .iter()
        .map(|s| s.group)
        .collect()
}

/// The classic groups: these tests are about the seam, not the post-quantum defaults
/// (tests/post_quantum.rs has those).
const CLASSIC: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

fn client_with(pki: &Pki, f: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut b = client_builder(pki);
    b.set_groups(&CLASSIC).unwrap();
    f(&mut b);
    b.build().unwrap()
}

fn server_with(pki: &Pki, f: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut b = server_builder(pki, KeyType::P256);
    b.set_groups(&CLASSIC).unwrap();
    f(&mut b);
    b.build().unwrap()
}

/// (a) A custom KEM-style group on both sides: offered first, the server's accept()
/// encapsulates, the client decapsulates, and data flows.
#[test]
fn custom_kem_group_completes_a_tls13_handshake() {
    let pki = Pki::new("KX seam CA");
    let client_kem = Arc::new(TestKem::default());
    let server_kem = Arc::new(TestKem::default());
    let client = client_with(&pki, |b| b.add_custom_group(client_kem.clone()));
    let server = server_with(&pki, |b| b.add_custom_group(server_kem.clone()));

    let (mut c, mut s) = pair(&client, &server, "localhost");
    let ch = pending_client_hello(&c);
    assert_eq!(
        ch.groups().unwrap(),
        &[
            TEST_KEM,
            NamedGroup::X25519,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1
        ]
    );
    // A KEM-style first choice comes with a share of the first classic group beside it.
    assert_eq!(share_groups(&ch), [TEST_KEM, NamedGroup::X25519]);
    handshake(&mut c, &mut s).unwrap();

    assert_eq!(c.protocol_version(), Some(V13));
    assert_eq!(c.group(), Some(TEST_KEM));
    assert_eq!(s.group(), Some(TEST_KEM));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    assert_eq!(send_recv(&mut c, &mut s, b"over a KEM"), b"over a KEM");
    assert_eq!(send_recv(&mut s, &mut c, b"and back"), b"and back");
    // The client made one key pair; the server answered with accept(), never start().
    assert_eq!((client_kem.started(), client_kem.accepted()), (1, 0));
    assert_eq!((server_kem.started(), server_kem.accepted()), (0, 1));
}

/// (a') A server preferring the custom group asks a client that did not send its share for
/// one (HelloRetryRequest), and the retried handshake uses it.
#[test]
fn custom_group_after_hello_retry_request() {
    let pki = Pki::new("KX seam CA");
    let client_kem = Arc::new(TestKem::default());
    let server_kem = Arc::new(TestKem::default());
    let client = client_with(&pki, |b| {
        let x25519 = kx::builtin_shared(NamedGroup::X25519).unwrap();
        b.set_kx_groups(&[x25519, client_kem.clone()]).unwrap();
    });
    let server = server_with(&pki, |b| {
        b.set_groups(&[NamedGroup::secp384r1]).unwrap();
        b.add_custom_group(server_kem.clone());
    });
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(TEST_KEM));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    assert_eq!(send_recv(&mut c, &mut s, b"retried"), b"retried");
    assert_eq!((client_kem.started(), server_kem.accepted()), (1, 1));
}

/// A KEM ciphertext the client cannot use is the server's fault: illegal_parameter with the
/// group's own detail.
#[test]
fn custom_group_errors_reach_the_peer() {
    #[derive(Debug)]
    struct BadServer;
    impl SupportedGroup for BadServer {
        fn name(&self) -> NamedGroup {
            TEST_KEM
        }
        fn usable_in_tls12(&self) -> bool {
            false
        }
        fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
            TestKem::default().start()
        }
        fn accept(&self, _: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
            Ok((vec![1; 31], Secret::from_slice(&[0; 32])))
        }
    }
    let pki = Pki::new("KX seam CA");
    let client = client_with(&pki, |b| b.add_custom_group(Arc::new(TestKem::default())));
    let server = server_with(&pki, |b| b.add_custom_group(Arc::new(BadServer)));
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let (ce, _) = failing_handshake(&mut c, &mut s);
    let ce = ce.unwrap();
    assert!(
        ce.contains("the peer's X25519 key share is 31 bytes; expected 32"),
        "{ce}"
    );
    assert_eq!(
        c.error().unwrap().alert_sent,
        Some(AlertDescription::IllegalParameter)
    );
}

/// (b) TLS 1.2 never offers or uses a KEM: a TLS 1.2-only client with it first lists only
/// the ECDHE groups and handshakes with a built-in one.
#[test]
fn kem_group_is_never_used_in_tls12() {
    let pki = Pki::new("KX seam CA");
    let client_kem = Arc::new(TestKem::default());
    let server_kem = Arc::new(TestKem::default());
    let client = client_with(&pki, |b| {
        versions(b, V12, V12);
        b.add_custom_group(client_kem.clone());
    });
    let server = server_with(&pki, |b| b.add_custom_group(server_kem.clone()));
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let ch = pending_client_hello(&c);
    assert_eq!(
        ch.groups().unwrap(),
        &[
            NamedGroup::X25519,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1
        ]
    );
    assert_eq!(ch.key_shares(), None);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.protocol_version(), Some(V12));
    assert_eq!(c.group(), Some(NamedGroup::X25519));
    assert_eq!(s.group(), Some(NamedGroup::X25519));
    assert_eq!(send_recv(&mut c, &mut s, b"ecdhe"), b"ecdhe");
    assert_eq!(client_kem.started() + client_kem.accepted(), 0);
    assert_eq!(server_kem.started() + server_kem.accepted(), 0);

    // A client offering both versions lists the KEM (for TLS 1.3) and sends its share; a
    // TLS 1.2-only server with the KEM first still picks an ECDHE group.
    let client_kem = Arc::new(TestKem::default());
    let server_kem = Arc::new(TestKem::default());
    let client = client_with(&pki, |b| b.add_custom_group(client_kem.clone()));
    let server = server_with(&pki, |b| {
        versions(b, V12, V12);
        b.add_custom_group(server_kem.clone());
    });
    let (mut c, mut s) = pair(&client, &server, "localhost");
    assert_eq!(pending_client_hello(&c).groups().unwrap()[0], TEST_KEM);
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.protocol_version(), Some(V12));
    assert_eq!(s.group(), Some(NamedGroup::X25519));
    assert_eq!(c.group(), Some(NamedGroup::X25519));
    assert_eq!((client_kem.started(), client_kem.accepted()), (1, 0));
    assert_eq!(server_kem.started() + server_kem.accepted(), 0);

    // Only the KEM for a TLS 1.2-only configuration cannot work: refused when built.
    let mut b = client_builder(&pki);
    versions(&mut b, V12, V12);
    b.set_kx_groups(&[Arc::new(TestKem::default())]).unwrap();
    let Err(Error::Config(d)) = b.build() else {
        panic!("a TLS 1.2-only configuration with only a KEM was accepted")
    };
    assert!(d.contains("can be used with TLSv1.2"), "{d}");

    // A server whose only ECDHE-capable choice is missing says there is no common group.
    let client = client_with(&pki, |b| {
        b.set_kx_groups(&[Arc::new(TestKem::default())]).unwrap();
    });
    let server = server_with(&pki, |b| {
        versions(b, V12, V12);
        b.add_custom_group(Arc::new(TestKem::default()));
    });
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let (_, se) = failing_handshake(&mut c, &mut s);
    let se = se.unwrap();
    assert!(se.contains("no key-exchange group in common"), "{se}");
    assert_eq!(
        s.error().unwrap().alert_sent,
        Some(AlertDescription::HandshakeFailure)
    );
}

/// (c) Two key shares: a server preferring (or supporting only) the second group completes
/// without a HelloRetryRequest; a server picks, in its own order, among the shares sent.
#[test]
fn two_key_shares_save_the_hello_retry() {
    let pki = Pki::new("KX seam CA");
    let client = client_with(&pki, |b| {
        b.set_groups(&[NamedGroup::X25519, NamedGroup::secp256r1])
            .unwrap();
        b.set_key_share_count(2).unwrap();
    });
    for (server_groups, expected) in [
        (&[NamedGroup::secp256r1][..], NamedGroup::secp256r1),
        (
            &[NamedGroup::secp256r1, NamedGroup::X25519],
            NamedGroup::secp256r1,
        ),
        (
            &[NamedGroup::X25519, NamedGroup::secp256r1],
            NamedGroup::X25519,
        ),
    ] {
        let server = server_with(&pki, |b| b.set_groups(server_groups).unwrap());
        let (mut c, mut s) = pair(&client, &server, "localhost");
        let ch = pending_client_hello(&c);
        assert_eq!(
            share_groups(&ch),
            [NamedGroup::X25519, NamedGroup::secp256r1]
        );
        let shares = ch.key_shares().unwrap();
        assert_eq!((shares[0].payload.len(), shares[1].payload.len()), (32, 65));
        handshake(&mut c, &mut s).unwrap();
        assert_eq!(c.group(), Some(expected));
        assert_eq!(s.group(), Some(expected));
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
        assert_eq!(s.handshake_kind(), Some(HandshakeKind::Full));
        assert_eq!(send_recv(&mut c, &mut s, b"two shares"), b"two shares");
    }

    // A count above the number of groups means one share per group.
    let client = client_with(&pki, |b| {
        b.set_groups(&[NamedGroup::secp384r1, NamedGroup::X25519])
            .unwrap();
        b.set_key_share_count(MAX_KEY_SHARES).unwrap();
    });
    let c = Connection::new_client(client, Some("localhost")).unwrap();
    assert_eq!(
        share_groups(&pending_client_hello(&c)),
        [NamedGroup::secp384r1, NamedGroup::X25519]
    );
}

/// (c') A custom group and a built-in one share the first ClientHello; each server picks
/// its own preference among them.
#[test]
fn custom_and_builtin_shares_together() {
    let pki = Pki::new("KX seam CA");
    let client_kem = Arc::new(TestKem::default());
    let client = client_with(&pki, |b| {
        b.add_custom_group(client_kem.clone());
        b.set_key_share_count(2).unwrap();
    });
    // A server without the custom group picks X25519 from the same ClientHello.
    let server = server_with(&pki, |_| {});
    let (mut c, mut s) = pair(&client, &server, "localhost");
    assert_eq!(
        share_groups(&pending_client_hello(&c)),
        [TEST_KEM, NamedGroup::X25519]
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::X25519));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    // A server with it picks it.
    let server_kem = Arc::new(TestKem::default());
    let server = server_with(&pki, |b| b.add_custom_group(server_kem.clone()));
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(TEST_KEM));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    assert_eq!(server_kem.accepted(), 1);
    assert_eq!(client_kem.started(), 2);
}

/// After a HelloRetryRequest the second ClientHello carries only the requested share.
#[test]
fn hello_retry_replaces_every_share_with_one() {
    let pki = Pki::new("KX seam CA");
    let client = client_with(&pki, |b| b.set_key_share_count(2).unwrap());
    let server = server_with(&pki, |b| b.set_groups(&[NamedGroup::secp384r1]).unwrap());
    let (mut c, mut s) = pair(&client, &server, "localhost");
    assert_eq!(
        share_groups(&pending_client_hello(&c)),
        [NamedGroup::X25519, NamedGroup::secp256r1]
    );
    transfer(&mut c, &mut s).unwrap(); // ClientHello
    transfer(&mut s, &mut c).unwrap(); // HelloRetryRequest
    assert_eq!(
        share_groups(&pending_client_hello(&c)),
        [NamedGroup::secp384r1]
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::secp384r1));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
}

/// (d) The default is one share, as before: a server that supports only the client's second
/// group asks for it with a HelloRetryRequest; a server that merely prefers it takes the
/// share it was sent (a share in a supported group beats a round trip, as before).
#[test]
fn one_key_share_by_default() {
    let pki = Pki::new("KX seam CA");
    let client = client_with(&pki, |b| {
        b.set_groups(&[NamedGroup::X25519, NamedGroup::secp256r1])
            .unwrap();
    });
    let server = server_with(&pki, |b| b.set_groups(&[NamedGroup::secp256r1]).unwrap());
    let (mut c, mut s) = pair(&client, &server, "localhost");
    assert_eq!(
        share_groups(&pending_client_hello(&c)),
        [NamedGroup::X25519]
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::secp256r1));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    assert_eq!(s.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));

    let server = server_with(&pki, |b| {
        b.set_groups(&[NamedGroup::secp256r1, NamedGroup::X25519])
            .unwrap();
    });
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::X25519));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));

    // A classic first group: one share.
    let c = Connection::new_client(client_with(&pki, |_| {}), Some("localhost")).unwrap();
    assert_eq!(
        share_groups(&pending_client_hello(&c)),
        [NamedGroup::X25519]
    );
}

/// A ServerHello in a group we sent no share for is refused with illegal_parameter, naming
/// the shares we sent.
#[test]
fn server_hello_in_a_group_without_our_share() {
    let pki = Pki::new("KX seam CA");
    for (count, detail) in [
        (
            1,
            "the server's key share is for P-384, but we sent one for X25519",
        ),
        (
            2,
            "the server's key share is for P-384, but we sent shares for X25519, P-256",
        ),
    ] {
        let client = client_with(&pki, |b| b.set_key_share_count(count).unwrap());
        let mut c = Connection::new_client(client, Some("localhost")).unwrap();
        let ch = pending_client_hello(&c);
        let n = c.outgoing_len();
        c.consume_outgoing(n);
        let sh = ServerHelloPayload {
            legacy_version: V12,
            random: [7; 32],
            session_id: ch.session_id.clone(),
            cipher_suite: CipherSuite::TLS_AES_128_GCM_SHA256,
            compression_method: Compression::Null,
            extensions: vec![
                ServerExtension::SupportedVersions(V13),
                ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::secp384r1,
                    payload: kx::KeyExchange::start(NamedGroup::secp384r1)
                        .unwrap()
                        .public_key()
                        .to_vec(),
                }),
            ],
        };
        let msg = HandshakeMessage {
            typ: HandshakeType::ServerHello,
            payload: HandshakePayload::ServerHello(sh),
        };
        let body = msg.get_encoding();
        let mut rec = vec![22, 3, 3];
        rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
        rec.extend_from_slice(&body);
        let err = c.feed(&rec).unwrap_err();
        assert_eq!(err, Error::peer(Reason::UnofferedGroup, detail));
        assert_eq!(err.reason(), Some(Reason::UnofferedGroup));
        assert_eq!(
            c.error().unwrap().alert_sent,
            Some(AlertDescription::IllegalParameter)
        );
    }
}

/// The builder's checks.
#[test]
fn builder_checks() {
    let mut b = ConfigBuilder::new(Role::Client);
    assert_eq!(
        b.set_groups(&[NamedGroup::X25519, TEST_KEM]).unwrap_err(),
        Error::Config(
            "group unknown(0xfe00) is not supported; supported: X25519MLKEM768, \
             SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024, X25519, P-256, P-384"
                .into()
        )
    );
    assert!(matches!(b.set_key_share_count(0), Err(Error::Config(_))));
    assert!(matches!(
        b.set_key_share_count(MAX_KEY_SHARES + 1),
        Err(Error::Config(_))
    ));
    assert!(b.set_key_share_count(2).is_ok());
    assert!(matches!(b.set_kx_groups(&[]), Err(Error::Config(_))));
    let mut s = ConfigBuilder::new(Role::Server);
    assert!(matches!(s.set_key_share_count(2), Err(Error::Usage(_))));

    // add_custom_group replaces a group with the same codepoint, and goes first.
    #[derive(Debug)]
    struct MyX25519;
    impl SupportedGroup for MyX25519 {
        fn name(&self) -> NamedGroup {
            NamedGroup::X25519
        }
        fn usable_in_tls12(&self) -> bool {
            true
        }
        fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
            kx::builtin(NamedGroup::X25519).unwrap().start()
        }
        // accept: the default (start + complete).
    }
    let pki = Pki::new("KX seam CA");
    let client = client_with(&pki, |b| {
        b.set_groups(&[NamedGroup::secp256r1, NamedGroup::X25519])
            .unwrap();
        b.add_custom_group(Arc::new(MyX25519));
    });
    let server = server_with(&pki, |b| b.add_custom_group(Arc::new(MyX25519)));
    let (mut c, mut s) = pair(&client, &server, "localhost");
    let ch = pending_client_hello(&c);
    assert_eq!(
        ch.groups().unwrap(),
        &[NamedGroup::X25519, NamedGroup::secp256r1]
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::X25519));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
}
