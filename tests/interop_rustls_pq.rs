//! Post-quantum key exchange against rustls 0.23 with its aws-lc-rs provider (ring has no
//! ML-KEM), both roles, in memory: the default configurations, each group both have
//! (X25519MLKEM768, SecP256r1MLKEM768, MLKEM1024; rustls has no SecP384r1MLKEM1024),
//! HelloRetryRequests into each, and classic-only rustls (ring) against our PQ-first
//! defaults. Every test checks the group and the handshake kind on both sides.
//!
//! With both of rustls's providers built in, rustls has no process-default provider, so
//! every configuration here names its provider (`builder_with_provider`).

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{NamedGroup, ProtocolVersion};
use ferrotls::conn::{Connection, HandshakeKind};
use rustls::crypto::aws_lc_rs::kx_group as aws_kx;
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The groups ferrotls and rustls (aws-lc-rs) both implement, with rustls's implementation.
const SHARED_PQ: [(NamedGroup, &dyn SupportedKxGroup); 3] = [
    (NamedGroup::X25519MLKEM768, aws_kx::X25519MLKEM768),
    (NamedGroup::SecP256r1MLKEM768, aws_kx::SECP256R1MLKEM768),
    (NamedGroup::MLKEM1024, aws_kx::MLKEM1024),
];

/// rustls's aws-lc-rs provider, its default groups (X25519MLKEM768 first:
/// prefer-post-quantum) or only `groups`, in that order.
fn aws(groups: Option<&[&'static dyn SupportedKxGroup]>) -> CryptoProvider {
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(g) = groups {
        p.kx_groups = g.to_vec();
    }
    p
}

/// rustls's ring provider: classic groups only (X25519, P-256, P-384).
fn ring() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

type Versions = &'static [&'static rustls::SupportedProtocolVersion];
const TLS13: Versions = &[&rustls::version::TLS13];
const TLS12: Versions = &[&rustls::version::TLS12];
const BOTH: Versions = &[&rustls::version::TLS13, &rustls::version::TLS12];

fn rustls_server(pki: &Pki, prov: CryptoProvider) -> rustls::Connection {
    rustls_server_with(pki, prov, TLS13)
}

fn rustls_server_with(pki: &Pki, prov: CryptoProvider, versions: Versions) -> rustls::Connection {
    let id = pki.issue(&["localhost"], KeyType::P256, false);
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(prov))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            certs(&id.chain_pem),
            PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap(),
        )
        .unwrap();
    rustls::Connection::Server(rustls::ServerConnection::new(Arc::new(cfg)).unwrap())
}

fn rustls_client(pki: &Pki, prov: CryptoProvider) -> rustls::Connection {
    rustls_client_with(pki, prov, TLS13)
}

fn rustls_client_with(pki: &Pki, prov: CryptoProvider, versions: Versions) -> rustls::Connection {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(&pki.ca_pem) {
        roots.add(c).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(prov))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    rustls::Connection::Client(rustls::ClientConnection::new(Arc::new(cfg), name).unwrap())
}

/// Our client: default groups, or `groups` with `shares` key shares (None: the default
/// rule, a classic share beside a post-quantum first group).
fn our_client(pki: &Pki, groups: Option<&[NamedGroup]>, shares: Option<usize>) -> Connection {
    let mut b = client_builder(pki);
    if let Some(g) = groups {
        b.set_groups(g).unwrap();
    }
    if let Some(n) = shares {
        b.set_key_share_count(n).unwrap();
    }
    Connection::new_client(b.build().unwrap(), Some("localhost")).unwrap()
}

fn our_server(pki: &Pki, groups: Option<&[NamedGroup]>) -> Connection {
    let mut b = server_builder(pki, KeyType::P256);
    if let Some(g) = groups {
        b.set_groups(g).unwrap();
    }
    Connection::new_server(b.build().unwrap()).unwrap()
}

/// Our default server (PQ first) limited to TLS 1.2.
fn our_tls12_server(pki: &Pki) -> Connection {
    let mut b = server_builder(pki, KeyType::P256);
    b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
        .unwrap();
    Connection::new_server(b.build().unwrap()).unwrap()
}

/// Run a TLS 1.3 handshake, then check what both sides agreed and send data both ways.
fn check(
    what: &str,
    ours: &mut Connection,
    theirs: &mut rustls::Connection,
    group: NamedGroup,
    kind: HandshakeKind,
) {
    check_version(what, ours, theirs, ProtocolVersion::TLSv1_3, group, kind)
}

fn check_version(
    what: &str,
    ours: &mut Connection,
    theirs: &mut rustls::Connection,
    version: ProtocolVersion,
    group: NamedGroup,
    kind: HandshakeKind,
) {
    pump_rustls(ours, theirs).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        !ours.is_handshaking() && !theirs.is_handshaking(),
        "{what}: handshake incomplete"
    );
    assert_eq!(ours.protocol_version(), Some(version), "{what}");
    assert_eq!(
        theirs.protocol_version().map(u16::from),
        Some(version.to_int()),
        "{what}: rustls's version"
    );
    assert_eq!(ours.group(), Some(group), "{what}: our group");
    assert_eq!(
        theirs
            .negotiated_key_exchange_group()
            .map(|g| u16::from(g.name())),
        Some(group.to_int()),
        "{what}: rustls's group"
    );
    assert_eq!(
        ours.handshake_kind(),
        Some(kind),
        "{what}: our handshake kind"
    );
    let theirs_kind = match kind {
        HandshakeKind::Full => rustls::HandshakeKind::Full,
        HandshakeKind::FullWithHelloRetry => rustls::HandshakeKind::FullWithHelloRetryRequest,
        HandshakeKind::Resumed => rustls::HandshakeKind::Resumed,
    };
    assert_eq!(
        theirs.handshake_kind(),
        Some(theirs_kind),
        "{what}: rustls's handshake kind"
    );

    let to_us = format!("{what}: from rustls");
    theirs.writer().write_all(to_us.as_bytes()).unwrap();
    pump_rustls(ours, theirs).unwrap();
    assert_eq!(read_all(ours), to_us.as_bytes(), "{what}");
    let to_them = format!("{what}: from ferrotls");
    ours.write(to_them.as_bytes()).unwrap();
    pump_rustls(ours, theirs).unwrap();
    let mut got = vec![0u8; to_them.len()];
    theirs.reader().read_exact(&mut got).unwrap();
    assert_eq!(got, to_them.as_bytes(), "{what}");
}

/// Our default client (X25519MLKEM768 and X25519 shares) and rustls's default aws-lc-rs
/// server: the hybrid, in one round trip.
#[test]
fn our_default_client_to_rustls_pq_server_negotiates_x25519mlkem768_without_hrr() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_client(&pki, None, None);
    let mut theirs = rustls_server(&pki, aws(None));
    check(
        "default client -> rustls default",
        &mut ours,
        &mut theirs,
        NamedGroup::X25519MLKEM768,
        HandshakeKind::Full,
    );
}

/// rustls's default aws-lc-rs client (X25519MLKEM768 first, with its X25519 share beside it)
/// and our default server.
#[test]
fn rustls_pq_client_to_our_default_server_negotiates_x25519mlkem768() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_server(&pki, None);
    let mut theirs = rustls_client(&pki, aws(None));
    check(
        "rustls default -> default server",
        &mut ours,
        &mut theirs,
        NamedGroup::X25519MLKEM768,
        HandshakeKind::Full,
    );
}

#[test]
fn each_shared_group_alone_both_ways() {
    let pki = Pki::new("PQ interop CA");
    for (ours_g, theirs_g) in SHARED_PQ {
        let what = format!("{ours_g}: our client -> rustls server");
        let mut ours = our_client(&pki, Some(&[ours_g]), None);
        let mut theirs = rustls_server(&pki, aws(Some(&[theirs_g])));
        check(&what, &mut ours, &mut theirs, ours_g, HandshakeKind::Full);

        let what = format!("{ours_g}: rustls client -> our server");
        let mut ours = our_server(&pki, Some(&[ours_g]));
        let mut theirs = rustls_client(&pki, aws(Some(&[theirs_g])));
        check(&what, &mut ours, &mut theirs, ours_g, HandshakeKind::Full);
    }
}

/// Our client offers X25519 then G with one share (X25519's); a rustls server with only G
/// asks for G's share.
#[test]
fn rustls_server_retries_our_client_into_each_pq_group() {
    let pki = Pki::new("PQ interop CA");
    for (ours_g, theirs_g) in SHARED_PQ {
        let what = format!("HelloRetryRequest to {ours_g}: our client -> rustls server");
        let mut ours = our_client(&pki, Some(&[NamedGroup::X25519, ours_g]), Some(1));
        let mut theirs = rustls_server(&pki, aws(Some(&[theirs_g])));
        check(
            &what,
            &mut ours,
            &mut theirs,
            ours_g,
            HandshakeKind::FullWithHelloRetry,
        );
    }
}

/// A rustls client offering X25519 then G sends one share, X25519's; our server with only G
/// asks for G's share.
#[test]
fn our_server_retries_rustls_client_into_each_pq_group() {
    let pki = Pki::new("PQ interop CA");
    for (ours_g, theirs_g) in SHARED_PQ {
        let what = format!("HelloRetryRequest to {ours_g}: rustls client -> our server");
        let mut ours = our_server(&pki, Some(&[ours_g]));
        let mut theirs = rustls_client(&pki, aws(Some(&[aws_kx::X25519, theirs_g])));
        check(
            &what,
            &mut ours,
            &mut theirs,
            ours_g,
            HandshakeKind::FullWithHelloRetry,
        );
    }
}

/// rustls's first choice is pure ML-KEM-768 (0x0201), which ferrotls does not implement: our
/// default server skips it and asks for X25519MLKEM768.
#[test]
fn rustls_client_leading_with_a_group_we_lack_is_retried_into_the_hybrid() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_server(&pki, None);
    let mut theirs = rustls_client(&pki, aws(Some(&[aws_kx::MLKEM768, aws_kx::X25519MLKEM768])));
    check(
        "rustls [MLKEM768, X25519MLKEM768] -> default server",
        &mut ours,
        &mut theirs,
        NamedGroup::X25519MLKEM768,
        HandshakeKind::FullWithHelloRetry,
    );
}

/// A rustls server without post-quantum groups (ring provider) takes our default client's
/// X25519 share: no HelloRetryRequest.
#[test]
fn classic_rustls_server_takes_our_default_clients_x25519_share() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_client(&pki, None, None);
    let mut theirs = rustls_server(&pki, ring());
    check(
        "default client -> rustls ring server",
        &mut ours,
        &mut theirs,
        NamedGroup::X25519,
        HandshakeKind::Full,
    );
}

/// A classic rustls client (ring provider) and our default (PQ-first) server: X25519.
#[test]
fn classic_rustls_client_to_our_default_server_gets_x25519() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_server(&pki, None);
    let mut theirs = rustls_client(&pki, ring());
    check(
        "rustls ring client -> default server",
        &mut ours,
        &mut theirs,
        NamedGroup::X25519,
        HandshakeKind::Full,
    );
}

/// TLS 1.2 has no KEM: rustls's PQ-first client limited to TLS 1.2 and our PQ-first server
/// agree on X25519 ECDHE.
#[test]
fn tls12_rustls_pq_client_to_our_default_server_uses_x25519() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_server(&pki, None);
    let mut theirs = rustls_client_with(&pki, aws(None), TLS12);
    check_version(
        "TLS 1.2: rustls default -> default server",
        &mut ours,
        &mut theirs,
        ProtocolVersion::TLSv1_2,
        NamedGroup::X25519,
        HandshakeKind::Full,
    );
}

/// rustls offers TLS 1.3 and 1.2 with X25519MLKEM768 first (and its share); our server
/// limited to TLS 1.2 must pass over the hybrid and use X25519 ECDHE.
#[test]
fn our_tls12_only_server_passes_over_the_hybrid_rustls_offers_first() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_tls12_server(&pki);
    let mut theirs = rustls_client_with(&pki, aws(None), BOTH);
    check_version(
        "rustls default (1.3+1.2) -> TLS 1.2-only server",
        &mut ours,
        &mut theirs,
        ProtocolVersion::TLSv1_2,
        NamedGroup::X25519,
        HandshakeKind::Full,
    );
}

/// Our default client offers X25519MLKEM768 first to a rustls (aws-lc-rs) server limited to
/// TLS 1.2: X25519 ECDHE.
#[test]
fn our_default_client_to_rustls_tls12_server_uses_x25519() {
    let pki = Pki::new("PQ interop CA");
    let mut ours = our_client(&pki, None, None);
    let mut theirs = rustls_server_with(&pki, aws(None), TLS12);
    check_version(
        "default client -> rustls TLS 1.2 server",
        &mut ours,
        &mut theirs,
        ProtocolVersion::TLSv1_2,
        NamedGroup::X25519,
        HandshakeKind::Full,
    );
}
