//! Chain and signature verification against an in-memory test PKI built with rcgen.

use std::time::Duration;

use pki_types::{CertificateDer, ServerName, UnixTime};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use super::*;
use crate::error::Reason;

/// 2030-06-01 00:00:00 UTC, inside every default validity window below.
const NOW: u64 = 1_906_502_400;

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW))
}

struct Issuer {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn params(cn: &str, sans: &[&str]) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2035, 1, 1);
    p
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = params(cn, &[]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

fn root(cn: &str) -> Issuer {
    let key = KeyPair::generate().unwrap();
    let cert = ca_params(cn).self_signed(&key).unwrap();
    Issuer { cert, key }
}

fn issue(p: CertificateParams, by: &Issuer) -> Issuer {
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &by.cert, &by.key).unwrap();
    Issuer { cert, key }
}

fn leaf_params(cn: &str, sans: &[&str]) -> CertificateParams {
    let mut p = params(cn, sans);
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p
}

/// Root, intermediate, and a leaf for `a.test`, `b.test`, 127.0.0.1.
struct Pki {
    root: Issuer,
    inter: Issuer,
    leaf: Issuer,
}

fn pki_with(leaf: CertificateParams) -> Pki {
    let root = root("Test Root");
    let inter = issue(ca_params("Test Intermediate"), &root);
    let leaf = issue(leaf, &inter);
    Pki { root, inter, leaf }
}

fn pki() -> Pki {
    pki_with(leaf_params("a", &["a.test", "b.test", "127.0.0.1"]))
}

fn store(roots: &[&Issuer]) -> RootStore {
    let mut s = RootStore::new();
    for r in roots {
        s.add_der(r.cert.der()).unwrap();
    }
    s
}

fn der(i: &Issuer) -> CertificateDer<'static> {
    i.cert.der().clone()
}

fn name(s: &str) -> ServerName<'static> {
    ServerName::try_from(s.to_string()).unwrap()
}

fn cert_err(e: Error) -> (CertErrorKind, String) {
    match e {
        Error::Certificate { kind, detail } => {
            eprintln!("{kind:?}: {detail}");
            (kind, detail)
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[test]
fn valid_chain_for_dns_name_and_ip() {
    let p = pki();
    let roots = store(&[&p.root]);
    let chain = [der(&p.leaf), der(&p.inter)];
    verify_server_cert(&roots, &chain, &name("a.test"), now()).unwrap();
    verify_server_cert(&roots, &chain, &name("b.test"), now()).unwrap();
    verify_server_cert(&roots, &chain, &name("127.0.0.1"), now()).unwrap();
    verify_client_cert(&roots, &chain, now()).unwrap();
}

#[test]
fn wrong_name_lists_valid_names() {
    let p = pki();
    let roots = store(&[&p.root]);
    let chain = [der(&p.leaf), der(&p.inter)];
    let (kind, detail) =
        cert_err(verify_server_cert(&roots, &chain, &name("wrong.test"), now()).unwrap_err());
    assert_eq!(kind, CertErrorKind::NameMismatch);
    assert!(
        detail.starts_with(
            "certificate 'CN=a' (depth 0) is valid for DNS:a.test, DNS:b.test, IP:127.0.0.1, not for 'wrong.test'"
        ),
        "{detail}"
    );
    let (_, detail) =
        cert_err(verify_server_cert(&roots, &chain, &name("10.0.0.1"), now()).unwrap_err());
    assert!(detail.contains("not for '10.0.0.1'"), "{detail}");
}

#[test]
fn expired_leaf_names_dates() {
    let mut lp = leaf_params("old", &["old.test"]);
    lp.not_before = rcgen::date_time_ymd(2020, 1, 1);
    lp.not_after = rcgen::date_time_ymd(2021, 1, 2);
    let p = pki_with(lp);
    let roots = store(&[&p.root]);
    let chain = [der(&p.leaf), der(&p.inter)];
    let err = verify_server_cert(&roots, &chain, &name("old.test"), now()).unwrap_err();
    assert_eq!(
        err.alert(),
        Some(crate::codec::enums::AlertDescription::CertificateExpired)
    );
    let (kind, detail) = cert_err(err);
    assert_eq!(kind, CertErrorKind::Expired);
    assert_eq!(
        detail,
        "certificate 'CN=old' (depth 0) expired at 2021-01-02 00:00:00 UTC; the current time is \
         2030-06-01 00:00:00 UTC; renew it"
    );
}

#[test]
fn expired_intermediate_is_named() {
    let root = root("Test Root");
    let mut ip = ca_params("Old Intermediate");
    ip.not_after = rcgen::date_time_ymd(2026, 3, 4);
    let inter = issue(ip, &root);
    let leaf = issue(leaf_params("a", &["a.test"]), &inter);
    let roots = store(&[&root]);
    let (kind, detail) = cert_err(
        verify_server_cert(&roots, &[der(&leaf), der(&inter)], &name("a.test"), now()).unwrap_err(),
    );
    assert_eq!(kind, CertErrorKind::Expired);
    assert!(
        detail.starts_with("certificate 'CN=Old Intermediate' (depth 1) expired at 2026-03-04"),
        "{detail}"
    );
}

#[test]
fn not_yet_valid() {
    let mut lp = leaf_params("future", &["f.test"]);
    lp.not_before = rcgen::date_time_ymd(2031, 2, 3);
    let p = pki_with(lp);
    let roots = store(&[&p.root]);
    let (kind, detail) = cert_err(
        verify_server_cert(
            &roots,
            &[der(&p.leaf), der(&p.inter)],
            &name("f.test"),
            now(),
        )
        .unwrap_err(),
    );
    assert_eq!(kind, CertErrorKind::NotYetValid);
    assert!(
        detail.starts_with(
            "certificate 'CN=future' (depth 0) is not valid until 2031-02-03 00:00:00 UTC; the current time is"
        ),
        "{detail}"
    );
}

#[test]
fn unknown_ca() {
    let p = pki();
    let other = root("Other Root");
    let roots = store(&[&other]);
    let (kind, detail) = cert_err(
        verify_server_cert(
            &roots,
            &[der(&p.leaf), der(&p.inter)],
            &name("a.test"),
            now(),
        )
        .unwrap_err(),
    );
    assert_eq!(kind, CertErrorKind::UnknownIssuer);
    assert!(
        detail.starts_with("no trusted root for 'CN=Test Intermediate' (depth 1) issued by 'CN=Test Root' (1 trust anchor loaded)"),
        "{detail}"
    );
}

#[test]
fn self_signed_leaf() {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params("self", &["self.test"])
        .self_signed(&key)
        .unwrap();
    let roots = store(&[&root("Some Root")]);
    let (kind, detail) = cert_err(
        verify_server_cert(&roots, &[cert.der().clone()], &name("self.test"), now()).unwrap_err(),
    );
    assert_eq!(kind, CertErrorKind::UnknownIssuer);
    assert!(
        detail.starts_with(
            "the certificate 'CN=self' (depth 0) is self-signed and not in the trust store"
        ),
        "{detail}"
    );
    assert!(
        detail.ends_with("add it to the trust anchors if you trust it"),
        "{detail}"
    );
}

#[test]
fn missing_intermediate() {
    let p = pki();
    let roots = store(&[&p.root]);
    let (kind, detail) =
        cert_err(verify_server_cert(&roots, &[der(&p.leaf)], &name("a.test"), now()).unwrap_err());
    assert_eq!(kind, CertErrorKind::UnknownIssuer);
    assert!(
        detail.contains("issued by 'CN=Test Intermediate', which is not among the trust anchors"),
        "{detail}"
    );
    assert!(
        detail.ends_with("the server must send it (configure the full chain)"),
        "{detail}"
    );
}

#[test]
fn intermediate_that_is_not_a_ca() {
    for is_ca in [IsCa::NoCa, IsCa::ExplicitNoCa] {
        let root = root("Test Root");
        let mut ip = params("Fake Intermediate", &[]);
        ip.is_ca = is_ca;
        let inter = issue(ip, &root);
        let leaf = issue(leaf_params("a", &["a.test"]), &inter);
        let roots = store(&[&root]);
        let (kind, detail) = cert_err(
            verify_server_cert(&roots, &[der(&leaf), der(&inter)], &name("a.test"), now())
                .unwrap_err(),
        );
        // webpki reports EndEntityUsedAsCa for an issuer without CA:TRUE.
        assert_eq!(kind, CertErrorKind::NotCa, "{detail}");
        assert!(
            detail.starts_with("certificate 'CN=Fake Intermediate' (depth 1) issued certificate 'CN=a' (depth 0) but is not a CA"),
            "{detail}"
        );
    }
}

#[test]
fn ca_as_leaf() {
    let root = root("Test Root");
    let roots = store(&[&root]);
    let mut cp = ca_params("CA Leaf");
    cp.subject_alt_names = vec![rcgen::SanType::DnsName("ca.test".try_into().unwrap())];
    let leaf = issue(cp, &root);
    let err = verify_server_cert(&roots, &[der(&leaf)], &name("ca.test"), now()).unwrap_err();
    let (kind, detail) = cert_err(err);
    assert_eq!(kind, CertErrorKind::NotCa, "{detail}");
}

#[test]
fn client_only_eku_for_server() {
    let mut lp = params("client", &["c.test"]);
    lp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let p = pki_with(lp);
    let roots = store(&[&p.root]);
    let chain = [der(&p.leaf), der(&p.inter)];
    let (kind, detail) =
        cert_err(verify_server_cert(&roots, &chain, &name("c.test"), now()).unwrap_err());
    assert_eq!(kind, CertErrorKind::InvalidPurpose);
    assert!(
        detail.starts_with("certificate 'CN=client' (depth 0) is not valid for TLS server authentication (extended key usage)"),
        "{detail}"
    );
    verify_client_cert(&roots, &chain, now()).unwrap();
}

#[test]
fn empty_chain_and_empty_store() {
    let p = pki();
    let err = verify_server_cert(&store(&[&p.root]), &[], &name("a.test"), now()).unwrap_err();
    assert_eq!(
        err,
        Error::cert(CertErrorKind::Missing, "the server sent no certificate")
    );
    let err = verify_client_cert(&store(&[&p.root]), &[], now()).unwrap_err();
    assert_eq!(
        err,
        Error::cert(CertErrorKind::Missing, "the client sent no certificate")
    );
    let (kind, detail) = cert_err(
        verify_server_cert(&RootStore::new(), &[der(&p.leaf)], &name("a.test"), now()).unwrap_err(),
    );
    assert_eq!(kind, CertErrorKind::UnknownIssuer);
    assert!(detail.contains("no trust anchors are loaded"), "{detail}");
}

#[test]
fn garbage_certificate_is_bad_encoding() {
    let p = pki();
    let chain = [CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01])];
    let (kind, _) = cert_err(
        verify_server_cert(&store(&[&p.root]), &chain, &name("a.test"), now()).unwrap_err(),
    );
    assert_eq!(kind, CertErrorKind::BadEncoding);
}

fn ecdsa_sign(
    key: &KeyPair,
    alg: &'static ring::signature::EcdsaSigningAlgorithm,
    msg: &[u8],
) -> Vec<u8> {
    let rng = ring::rand::SystemRandom::new();
    let kp = ring::signature::EcdsaKeyPair::from_pkcs8(alg, &key.serialize_der(), &rng).unwrap();
    kp.sign(&rng, msg).unwrap().as_ref().to_vec()
}

#[test]
fn tls13_signature_good_and_bad() {
    let p = pki();
    let cert = der(&p.leaf);
    let msg = b"TLS 1.3, server CertificateVerify\x00transcript-hash";
    let sig = ecdsa_sign(
        &p.leaf.key,
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        msg,
    );
    verify_tls13_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        msg,
        &sig,
        "server",
    )
    .unwrap();

    let err = verify_tls13_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        b"other",
        &sig,
        "server",
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::peer(
            Reason::BadSignature,
            "the server's CertificateVerify signature (ecdsa_secp256r1_sha256) does not verify with \
             the public key of 'CN=a'"
        )
    );

    let err = verify_tls13_signature(
        &cert,
        SignatureScheme::RSA_PKCS1_SHA256,
        msg,
        &sig,
        "client",
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::IllegalParameter(ref s) if s.reason == Reason::UnofferedSignatureScheme && s.text.contains("forbidden")),
        "{err:?}"
    );

    let err =
        verify_tls13_signature(&cert, SignatureScheme::ED25519, msg, &sig, "server").unwrap_err();
    assert!(
        matches!(err, Error::IllegalParameter(ref s) if s.reason == Reason::UnofferedSignatureScheme && s.text.contains("does not match the EC P-256 key of 'CN=a'")),
        "{err:?}"
    );
    let err = verify_tls13_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP384_SHA384,
        msg,
        &sig,
        "server",
    )
    .unwrap_err();
    assert!(matches!(err, Error::IllegalParameter(_)), "{err:?}");
}

#[test]
fn tls12_ecdsa_tries_each_curve() {
    let root = root("Test Root");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let cert = leaf_params("p384", &["p.test"])
        .signed_by(&key, &root.cert, &root.key)
        .unwrap();
    let cert = cert.der().clone();
    let msg = b"client_random server_random params";
    // A P-384 key signing with SHA-256: allowed in TLS 1.2, not in TLS 1.3. ring cannot make
    // that signature, so use the openssl CLI.
    let dir = std::env::temp_dir().join(format!("ferrotls-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("p384.pem");
    let msg_path = dir.join("msg");
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(&msg_path, msg).unwrap();
    let out = std::process::Command::new("/usr/bin/openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key_path)
        .arg(&msg_path)
        .output();
    std::fs::remove_dir_all(&dir).unwrap();
    let Ok(out) = out.map_err(|e| eprintln!("openssl CLI not available ({e}); skipping")) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = out.stdout;
    verify_tls12_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        msg,
        &sig,
        "server",
    )
    .unwrap();
    let err = verify_tls13_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        msg,
        &sig,
        "server",
    )
    .unwrap_err();
    assert!(matches!(err, Error::IllegalParameter(_)), "{err:?}");
    let err = verify_tls12_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        b"x",
        &sig,
        "server",
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::DecryptError(ref s) if s.reason == Reason::BadSignature && s.text.contains("'CN=p384'")),
        "{err:?}"
    );
}

#[test]
fn scheme_lists() {
    use SignatureScheme as S;
    assert_eq!(
        supported_verify_schemes(true),
        vec![
            S::ECDSA_NISTP256_SHA256,
            S::ECDSA_NISTP384_SHA384,
            S::ED25519,
            S::RSA_PSS_RSAE_SHA256,
            S::RSA_PSS_RSAE_SHA384,
            S::RSA_PSS_RSAE_SHA512
        ]
    );
    let v12 = supported_verify_schemes(false);
    assert_eq!(v12.len(), 9);
    assert_eq!(
        &v12[6..],
        &[
            S::RSA_PKCS1_SHA256,
            S::RSA_PKCS1_SHA384,
            S::RSA_PKCS1_SHA512
        ]
    );
    for s in supported_verify_schemes(false) {
        assert!(!scheme_algs(s, false).is_empty());
    }
}

#[test]
fn reissued_root_with_same_name() {
    let old_root = root("Test Root");
    let new_root = root("Test Root");
    let leaf = issue(leaf_params("a", &["a.test"]), &old_root);
    let roots = store(&[&new_root]);
    let (kind, detail) =
        cert_err(verify_server_cert(&roots, &[der(&leaf)], &name("a.test"), now()).unwrap_err());
    // webpki finds the anchor by name and reports the signature that fails.
    assert_eq!(kind, CertErrorKind::BadSignature);
    assert!(
        detail.starts_with(
            "the signature on certificate 'CN=a' (depth 0) by 'CN=Test Root' does not verify \
             with the key of the trust anchor"
        ),
        "{detail}"
    );
    assert!(detail.contains("reissued"), "{detail}");
}

#[test]
fn tls13_ed25519_signature() {
    let root = root("Test Root");
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let cert = leaf_params("ed", &["ed.test"])
        .signed_by(&key, &root.cert, &root.key)
        .unwrap();
    let cert = cert.der().clone();
    let kp =
        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key.serialize_der()).unwrap();
    let msg = b"TLS 1.3, client CertificateVerify\x00hash";
    let sig = kp.sign(msg);
    verify_tls13_signature(&cert, SignatureScheme::ED25519, msg, sig.as_ref(), "client").unwrap();
    let err = verify_tls13_signature(
        &cert,
        SignatureScheme::ED25519,
        b"x",
        sig.as_ref(),
        "client",
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::peer(
            Reason::BadSignature,
            "the client's CertificateVerify signature (ed25519) does not verify with the public key of 'CN=ed'"
        )
    );
    let err = verify_tls13_signature(
        &cert,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        msg,
        sig.as_ref(),
        "client",
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::IllegalParameter(ref s) if s.reason == Reason::UnofferedSignatureScheme && s.text.contains("Ed25519 key of 'CN=ed'")),
        "{err:?}"
    );
}
