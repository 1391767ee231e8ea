//! Fixtures shared by the handshake codec tests: a sample of each message and framing helpers.

use super::{
    CertificateEntry, CertificatePayloadTls13, CertificateRequestPayloadTls13,
    CertificateRequestTls12, ClientHelloPayload, DigitallySigned, EcdheParams, HandshakeMessage,
    HandshakePayload, HelloRetryRequestPayload, NewSessionTicketTls13, ServerHelloPayload,
    ServerKeyExchangeTls12,
};
use crate::codec::enums::{
    CipherSuite, ClientCertificateType, Compression, ECPointFormat, ExtensionType, HandshakeType,
    NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme,
};
use crate::codec::extensions::{
    CertReqExtension, ClientExtension, HelloRetryExtension, KeyShareEntry,
    NewSessionTicketExtension, OfferedPsks, PskIdentity, ServerExtension,
};
use crate::codec::put_vec_u24;

pub(super) const V13: ProtocolVersion = ProtocolVersion::TLSv1_3;
pub(super) const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;
pub(super) fn msg(typ: HandshakeType, payload: HandshakePayload) -> HandshakeMessage {
    HandshakeMessage { typ, payload }
}

/// Encode, decode with `version`, compare, re-encode to the same bytes.
pub(super) fn round_trip(m: &HandshakeMessage, version: ProtocolVersion) -> Vec<u8> {
    let enc = m.get_encoding();
    let dec = HandshakeMessage::read(&enc, version)
        .unwrap_or_else(|e| panic!("{} failed to decode: {e}", m.name()));
    assert_eq!(&dec, m);
    assert_eq!(dec.get_encoding(), enc);
    enc
}

/// Wrap `body` in a handshake header of type `typ` with a correct length.
pub(super) fn framed(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![typ];
    put_vec_u24(body, &mut out);
    out
}

/// Every strict prefix fails, both as a whole message (the header length then
/// disagrees) and as a re-framed body (so the body parser itself sees the truncation).
/// `may_end_at` lists body lengths that are legitimately complete messages.
pub(super) fn assert_prefixes_fail(enc: &[u8], version: ProtocolVersion, may_end_at: &[usize]) {
    for n in 0..enc.len() {
        assert!(
            HandshakeMessage::read(&enc[..n], version).is_err(),
            "prefix {n}"
        );
    }
    let body = &enc[4..];
    for n in 0..body.len() {
        let res = HandshakeMessage::read(&framed(enc[0], &body[..n]), version);
        if !may_end_at.contains(&n) {
            assert!(res.is_err(), "body prefix {n} decoded: {res:?}");
        }
    }
}

pub(super) fn client_hello() -> ClientHelloPayload {
    ClientHelloPayload {
        legacy_version: V12,
        random: [7; 32],
        session_id: vec![1; 32],
        cipher_suites: vec![
            CipherSuite::TLS_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ],
        compression_methods: vec![Compression::Null],
        extensions: vec![
            ClientExtension::ServerName("example.org".into()),
            ClientExtension::SupportedVersions(vec![V13, V12]),
            ClientExtension::KeyShare(vec![KeyShareEntry {
                group: NamedGroup::X25519,
                payload: vec![9; 32],
            }]),
            ClientExtension::SignatureAlgorithms(vec![SignatureScheme::ED25519]),
            ClientExtension::SignatureAlgorithmsCert(vec![SignatureScheme::ED25519]),
            ClientExtension::SupportedGroups(vec![NamedGroup::X25519]),
            ClientExtension::Alpn(vec![b"h2".to_vec()]),
            ClientExtension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PSK_DHE_KE]),
            ClientExtension::Cookie(vec![3; 8]),
            ClientExtension::EcPointFormats(vec![ECPointFormat::Uncompressed]),
            ClientExtension::ExtendedMasterSecret,
            ClientExtension::RenegotiationInfo(vec![]),
            ClientExtension::SessionTicket(vec![]),
            ClientExtension::EarlyData,
            ClientExtension::CertificateAuthorities(vec![vec![0x30, 0]]),
            ClientExtension::Unknown {
                typ: ExtensionType::Padding,
                data: vec![0; 10],
            },
            ClientExtension::PreSharedKey(OfferedPsks {
                identities: vec![PskIdentity {
                    identity: vec![4; 16],
                    obfuscated_ticket_age: 1234,
                }],
                binders: vec![vec![5; 32]],
            }),
        ],
    }
}

pub(super) fn server_hello() -> ServerHelloPayload {
    ServerHelloPayload {
        legacy_version: V12,
        random: [8; 32],
        session_id: vec![1; 32],
        cipher_suite: CipherSuite::TLS_AES_128_GCM_SHA256,
        compression_method: Compression::Null,
        extensions: vec![
            ServerExtension::SupportedVersions(V13),
            ServerExtension::KeyShare(KeyShareEntry {
                group: NamedGroup::X25519,
                payload: vec![2; 32],
            }),
            ServerExtension::PreSharedKey(0),
        ],
    }
}

pub(super) fn cert13() -> CertificatePayloadTls13 {
    CertificatePayloadTls13 {
        context: vec![],
        entries: vec![
            CertificateEntry {
                cert: vec![0x30; 100],
                extensions: vec![(5, vec![1, 2, 3]), (18, vec![])],
            },
            CertificateEntry {
                cert: vec![0x31; 50],
                extensions: vec![],
            },
        ],
    }
}

pub(super) fn cert_req13() -> CertificateRequestPayloadTls13 {
    CertificateRequestPayloadTls13 {
        context: vec![1, 2],
        extensions: vec![
            CertReqExtension::SignatureAlgorithms(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
            CertReqExtension::CertificateAuthorities(vec![vec![0x30, 1, 0]]),
        ],
    }
}

pub(super) fn cert_req12() -> CertificateRequestTls12 {
    CertificateRequestTls12 {
        cert_types: vec![
            ClientCertificateType::RSASign,
            ClientCertificateType::ECDSASign,
        ],
        signature_schemes: vec![SignatureScheme::RSA_PSS_RSAE_SHA256],
        ca_names: vec![vec![0x30, 2, 5, 5], vec![0x30, 0]],
    }
}

pub(super) fn ske() -> ServerKeyExchangeTls12 {
    ServerKeyExchangeTls12 {
        params: EcdheParams {
            group: NamedGroup::secp256r1,
            public: vec![4; 65],
        },
        signed: DigitallySigned {
            scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
            signature: vec![0x30; 70],
        },
    }
}

pub(super) fn nst13() -> NewSessionTicketTls13 {
    NewSessionTicketTls13 {
        lifetime: 7200,
        age_add: 0xdead_beef,
        nonce: vec![0],
        ticket: vec![0xab; 64],
        extensions: vec![NewSessionTicketExtension::EarlyData(16384)],
    }
}

pub(super) fn hrr() -> HelloRetryRequestPayload {
    HelloRetryRequestPayload {
        legacy_version: V12,
        session_id: vec![1; 32],
        cipher_suite: CipherSuite::TLS_AES_256_GCM_SHA384,
        extensions: vec![
            HelloRetryExtension::SupportedVersions(V13),
            HelloRetryExtension::KeyShare(NamedGroup::secp384r1),
            HelloRetryExtension::Cookie(vec![6; 20]),
        ],
    }
}
