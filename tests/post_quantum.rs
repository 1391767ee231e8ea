//! Post-quantum key exchange between our client and our server: the hybrids of
//! draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768 on by default, SecP256r1MLKEM768,
//! SecP384r1MLKEM1024) and pure MLKEM1024, the default ClientHello, HelloRetryRequests into
//! and out of them, TLS 1.2 (never), and what a malformed or altered share does.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{AlertDescription, NamedGroup, ProtocolVersion};
use ferrotls::codec::extensions::{ClientExtension, KeyShareEntry};
use ferrotls::codec::handshake::{ClientHelloPayload, HandshakeMessage, HandshakePayload};
use ferrotls::config::{Config, ConfigBuilder};
use ferrotls::conn::{Connection, HandshakeKind};
use ferrotls::crypto::kx;
use ferrotls::error::Reason;

const PQ: [NamedGroup; 4] = [
    NamedGroup::X25519MLKEM768,
    NamedGroup::SecP256r1MLKEM768,
    NamedGroup::SecP384r1MLKEM1024,
    NamedGroup::MLKEM1024,
];

fn shares(ch: &ClientHelloPayload) -> Vec<(NamedGroup, usize)> {
    ch.key_shares()
        .unwrap()
        .iter()
        .map(|s| (s.group, s.payload.len()))
        .collect()
}

fn client(pki: &Pki, f: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut b = client_builder(pki);
    f(&mut b);
    b.build().unwrap()
}

fn server(pki: &Pki, f: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut b = server_builder(pki, KeyType::P256);
    f(&mut b);
    b.build().unwrap()
}

/// A ClientHello as one plaintext handshake record.
fn hello_record(ch: ClientHelloPayload) -> Vec<u8> {
    let body = HandshakeMessage {
        typ: ferrotls::codec::enums::HandshakeType::ClientHello,
        payload: HandshakePayload::ClientHello(ch),
    }
    .get_encoding();
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
    rec.extend_from_slice(&body);
    rec
}

#[test]
fn the_default_client_hello_offers_the_hybrid_first_and_x25519_beside_it() {
    let pki = Pki::new("PQ CA");
    let c = Connection::new_client(client(&pki, |_| {}), Some("localhost")).unwrap();
    let ch = pending_client_hello(&c);
    assert_eq!(
        ch.groups().unwrap(),
        &[
            NamedGroup::X25519MLKEM768,
            NamedGroup::X25519,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1
        ]
    );
    assert_eq!(
        shares(&ch),
        [(NamedGroup::X25519MLKEM768, 1216), (NamedGroup::X25519, 32)]
    );
    // The hello grows by the hybrid's 1,216-byte share and still fits one Ethernet segment
    // (MSS 1460) with a short server name and no ALPN; Chrome's and Firefox's take two.
    let len = c.peek_outgoing().len();
    assert!(len > 1216 + 32 && len <= 1460, "ClientHello of {len} bytes");
    assert_eq!(plain_records(c.peek_outgoing()).len(), 1);
}

#[test]
fn default_peers_negotiate_x25519mlkem768_in_one_round_trip() {
    let pki = Pki::new("PQ CA");
    let (mut c, mut s) = pair(&client(&pki, |_| {}), &server(&pki, |_| {}), "localhost");
    handshake(&mut c, &mut s).unwrap();
    for side in [&c, &s] {
        assert_eq!(side.group(), Some(NamedGroup::X25519MLKEM768));
        assert_eq!(side.handshake_kind(), Some(HandshakeKind::Full));
    }
    assert_eq!(send_recv(&mut c, &mut s, b"post-quantum"), b"post-quantum");
}

/// A server without post-quantum groups takes the X25519 share: no HelloRetryRequest.
#[test]
fn a_server_without_pq_answers_the_default_client_in_one_round_trip() {
    let pki = Pki::new("PQ CA");
    let classic = server(&pki, |b| {
        b.set_groups(&[NamedGroup::X25519, NamedGroup::secp256r1])
            .unwrap()
    });
    let (mut c, mut s) = pair(&client(&pki, |_| {}), &classic, "localhost");
    transfer(&mut c, &mut s).unwrap();
    assert_ne!(
        s.handshake_kind(),
        Some(HandshakeKind::FullWithHelloRetry),
        "no retry"
    );
    assert!(
        s.outgoing_len() > 0,
        "the server's flight, not a HelloRetryRequest alone"
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::X25519));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
}

#[test]
fn every_pq_group_completes_both_ways() {
    let pki = Pki::new("PQ CA");
    let server_all = server(&pki, |b| b.set_groups(kx::SUPPORTED_GROUPS).unwrap());
    for g in PQ {
        let (mut c, mut s) = pair(
            &client(&pki, |b| b.set_groups(&[g]).unwrap()),
            &server_all,
            "localhost",
        );
        let (client_len, server_len) = kx::share_sizes(g).unwrap();
        assert_eq!(shares(&pending_client_hello(&c)), [(g, client_len)]);
        let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        s.set_trace(Some(Box::new(move |e: &ferrotls::conn::TraceEvent<'_>| {
            sink.lock().unwrap().push(e.text.to_string())
        })));
        handshake(&mut c, &mut s).unwrap();
        assert_eq!(c.group(), Some(g));
        assert_eq!(s.group(), Some(g));
        assert_eq!(send_recv(&mut s, &mut c, b"back"), b"back");
        // The trace names the sizes.
        let want =
            format!("key exchange {g} (the client's share {client_len} bytes, ours {server_len})");
        assert!(
            lines.lock().unwrap().iter().any(|l| l.contains(&want)),
            "{want}"
        );
    }
}

/// HelloRetryRequest into each post-quantum group (the client's shares are for others) and
/// out of one (the server has no post-quantum group the client sent a share for).
#[test]
fn hello_retry_into_and_out_of_the_hybrids() {
    let pki = Pki::new("PQ CA");
    for g in PQ {
        let offers = client(&pki, |b| {
            b.set_groups(&[NamedGroup::X25519, g]).unwrap();
        });
        let only_g = server(&pki, |b| b.set_groups(&[g]).unwrap());
        let (mut c, mut s) = pair(&offers, &only_g, "localhost");
        handshake(&mut c, &mut s).unwrap();
        assert_eq!(c.group(), Some(g));
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    }
    // Out of the hybrid: the default client's shares (hybrid, X25519) against a P-384 server.
    let p384 = server(&pki, |b| b.set_groups(&[NamedGroup::secp384r1]).unwrap());
    let (mut c, mut s) = pair(&client(&pki, |_| {}), &p384, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(c.group(), Some(NamedGroup::secp384r1));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
}

/// A KEM is TLS 1.3 only: a TLS 1.2 client does not list it, a TLS 1.2 server never
/// chooses it, and a configuration with only KEMs cannot be TLS 1.2.
#[test]
fn tls12_never_uses_a_kem() {
    let pki = Pki::new("PQ CA");
    let c12 = client(&pki, |b| {
        b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
            .unwrap()
    });
    let c = Connection::new_client(c12, Some("localhost")).unwrap();
    let ch = pending_client_hello(&c);
    assert!(
        ch.groups()
            .unwrap()
            .iter()
            .all(|g| !kx::is_post_quantum(*g))
    );
    // A TLS 1.2 server, offered only the hybrid: no group in common.
    let s12 = server(&pki, |b| {
        b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
            .unwrap()
    });
    let only_pq = client(&pki, |b| {
        b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3)
            .unwrap();
        b.set_groups(&[NamedGroup::X25519MLKEM768]).unwrap();
    });
    let (mut c, mut s) = pair(&only_pq, &s12, "localhost");
    let (_, server_err) = failing_handshake(&mut c, &mut s);
    let server_err = server_err.unwrap();
    assert!(
        server_err.contains("no key-exchange group in common"),
        "{server_err}"
    );
    let mut b = ConfigBuilder::new(ferrotls::config::Role::Client);
    b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
        .unwrap();
    b.set_groups(&[NamedGroup::MLKEM1024]).unwrap();
    let Err(err) = b.build() else {
        panic!("a TLS 1.2-only configuration with only a KEM")
    };
    assert!(err.to_string().contains("TLS 1.3 only"), "{err}");
}

/// The server checks the client's share: its exact length, and the encapsulation key's
/// modulus check (FIPS 203 §7.2); both are illegal_parameter.
#[test]
fn the_server_refuses_a_bad_client_share() {
    let pki = Pki::new("PQ CA");
    let sc = server(&pki, |_| {});
    type Change = fn(&mut Vec<u8>);
    let cases: [(&str, Change); 3] = [
        ("1215 bytes; it is exactly 1216", |p| {
            p.pop();
        }),
        ("1217 bytes; it is exactly 1216", |p| p.push(0)),
        ("FIPS 203 §7.2", |p| {
            p[0] = 0xFF;
            p[1] |= 0x0F;
        }),
    ];
    for (words, change) in cases {
        let c = Connection::new_client(client(&pki, |_| {}), Some("localhost")).unwrap();
        let mut ch = pending_client_hello(&c);
        for e in &mut ch.extensions {
            if let ClientExtension::KeyShare(entries) = e {
                let e: &mut KeyShareEntry = &mut entries[0];
                assert_eq!(e.group, NamedGroup::X25519MLKEM768);
                change(&mut e.payload);
            }
        }
        let mut s = Connection::new_server(sc.clone()).unwrap();
        let err = s.feed(&hello_record(ch)).unwrap_err();
        assert_eq!(err.reason(), Some(Reason::InvalidKeyShare), "{err}");
        assert!(err.to_string().contains(words), "{err}");
        assert_eq!(
            s.last_alert(),
            Some((AlertDescription::IllegalParameter, true))
        );
    }
}

/// A ciphertext altered in transit decapsulates to another secret (implicit rejection): the
/// client fails at the first protected record, and says why; a ciphertext of the wrong
/// length is refused at once.
#[test]
fn an_altered_ciphertext_fails_at_the_first_protected_record() {
    let pki = Pki::new("PQ CA");
    for (flip, words) in [
        (true, "implicit rejection"),
        (false, "1119 bytes; it is exactly 1120"),
    ] {
        let (mut c, mut s) = pair(&client(&pki, |_| {}), &server(&pki, |_| {}), "localhost");
        transfer(&mut c, &mut s).unwrap();
        let mut flight = s.peek_outgoing().to_vec();
        s.consume_outgoing(flight.len());
        // The ServerHello is the first record; its key share ends the hybrid's payload:
        // 1088 ciphertext bytes, then 32 of X25519. Find the share by its group and length.
        let pos = flight
            .windows(4)
            .position(|w| w == [0x11, 0xec, 0x04, 0x60])
            .expect("the X25519MLKEM768 key share in the ServerHello");
        let at = pos + 4 + 10;
        if flip {
            flight[at] ^= 1;
        } else {
            // Shorten the share by one byte: rewrite the lengths of the share, extension
            // block, ServerHello and record.
            flight.remove(at);
            let set = |f: &mut Vec<u8>, i: usize, delta: usize, width: usize| {
                let mut v = 0usize;
                for k in 0..width {
                    v = (v << 8) | usize::from(f[i + k]);
                }
                v -= delta;
                for k in (0..width).rev() {
                    f[i + k] = (v & 0xff) as u8;
                    v >>= 8;
                }
            };
            set(&mut flight, pos + 2, 1, 2); // the share's length
            set(&mut flight, pos - 2, 1, 2); // the key_share extension's length
            set(&mut flight, 3, 1, 2); // the record
            set(&mut flight, 6, 1, 3); // the ServerHello
            // The extensions block's length sits before the first extension: after the
            // 2+32+1+32+2+1 bytes of version, random, session id, suite and compression.
            let ext_len_at = 9 + 2 + 32 + 1 + usize::from(flight[9 + 2 + 32]) + 2 + 1;
            set(&mut flight, ext_len_at, 1, 2);
        }
        let err = c.feed(&flight).unwrap_err();
        assert!(err.to_string().contains(words), "{err}");
        if flip {
            assert_eq!(err.reason(), Some(Reason::RecordAuthenticationFailed));
            assert!(err.to_string().contains("X25519MLKEM768"), "{err}");
        } else {
            assert_eq!(err.reason(), Some(Reason::InvalidKeyShare));
        }
    }
}

/// RFC 8446 §4.1.2: after a HelloRetryRequest the second ClientHello is the first with only
/// key_share replaced (in its place) and a cookie added; strict servers (tlslite-ng) compare
/// them extension by extension.
#[test]
fn the_second_client_hello_keeps_the_first_ones_order() {
    let pki = Pki::new("PQ CA");
    let p384 = server(&pki, |b| b.set_groups(&[NamedGroup::secp384r1]).unwrap());
    let (mut c, mut s) = pair(&client(&pki, |_| {}), &p384, "localhost");
    let first = pending_client_hello(&c);
    transfer(&mut c, &mut s).unwrap(); // ClientHello; the server answers HelloRetryRequest
    transfer(&mut s, &mut c).unwrap(); // our second ClientHello is now pending
    let second = pending_client_hello(&c);
    let types = |ch: &ClientHelloPayload| -> Vec<_> {
        ch.extensions.iter().map(|e| e.ext_type()).collect()
    };
    assert_eq!(types(&first), types(&second));
    assert_eq!(shares(&second), [(NamedGroup::secp384r1, 97)]);
    let differs: Vec<_> = first
        .extensions
        .iter()
        .zip(&second.extensions)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.ext_type())
        .collect();
    assert_eq!(differs, [ferrotls::codec::enums::ExtensionType::KeyShare]);
    handshake(&mut c, &mut s).unwrap();
}

/// tlsfuzzer's t13-no-unknown-groups lists codepoints 0x1104..0x1203 as "unknown", with a
/// share for one of them only; 0x11EB..0x11ED are ours now, so the server asks for the
/// hybrid it prefers (HelloRetryRequest), as RFC 8446 §4.1.1 says, instead of giving up.
#[test]
fn a_listed_hybrid_without_a_share_gets_a_hello_retry() {
    let pki = Pki::new("PQ CA");
    let c = Connection::new_client(client(&pki, |_| {}), Some("localhost")).unwrap();
    let mut ch = pending_client_hello(&c);
    for e in &mut ch.extensions {
        match e {
            ClientExtension::SupportedGroups(g) => {
                *g = (0x1104..=0x1203).map(NamedGroup::from).collect();
            }
            ClientExtension::KeyShare(entries) => {
                *entries = vec![KeyShareEntry {
                    group: NamedGroup::from(0x1104),
                    payload: vec![1; 32],
                }];
            }
            _ => {}
        }
    }
    let mut s = Connection::new_server(server(&pki, |_| {})).unwrap();
    s.feed(&hello_record(ch)).unwrap();
    assert_eq!(s.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
    let hrr = plain_records(s.peek_outgoing());
    assert!(
        hrr[0].1.windows(2).any(|w| w == [0x11, 0xec]),
        "the HelloRetryRequest asks for X25519MLKEM768"
    );
}
