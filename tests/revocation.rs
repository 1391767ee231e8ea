//! Certificate revocation lists in the RootStore (`add_crl_der`, `set_revocation_check`):
//! a revoked leaf is refused, one the CRL does not list passes, a missing or expired CRL
//! leaves the status unknown and refuses the chain (revocation asked for is never skipped),
//! and checks stay off by default. Test PKI by rcgen.

use ferrotls::error::{CertErrorKind, Error};
use ferrotls::verify::{RevocationScope, RootStore, verify_server_cert};
use pki_types::{CertificateDer, ServerName, UnixTime};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, IsCa, KeyIdMethod,
    KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber, date_time_ymd,
};

struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    leaf: CertificateDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = p.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut lp = CertificateParams::new(vec!["revoked.example".to_string()]).unwrap();
    lp.serial_number = Some(SerialNumber::from(4242u64));
    let leaf = lp.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    Pki {
        leaf: leaf.der().clone(),
        ca,
        ca_key,
    }
}

fn crl(p: &Pki, revoked: &[u64], next_update_year: i32) -> Vec<u8> {
    CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(next_update_year, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|&s| RevokedCertParams {
                serial_number: SerialNumber::from(s),
                revocation_time: date_time_ymd(2024, 6, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&p.ca, &p.ca_key)
    .unwrap()
    .der()
    .to_vec()
}

fn check(roots: &RootStore, p: &Pki) -> Result<(), Error> {
    let name = ServerName::try_from("revoked.example").unwrap();
    verify_server_cert(roots, std::slice::from_ref(&p.leaf), &name, UnixTime::now()).map(|_| ())
}

fn store(p: &Pki) -> RootStore {
    let mut r = RootStore::new();
    r.add_der(p.ca.der()).unwrap();
    r
}

#[test]
fn off_by_default_even_with_a_crl_that_lists_the_leaf() {
    let p = pki();
    let mut r = store(&p);
    r.add_crl_der(&crl(&p, &[4242], 2099)).unwrap();
    check(&r, &p).expect("no revocation checks unless asked for");
}

#[test]
fn a_listed_leaf_is_refused_as_revoked() {
    let p = pki();
    let mut r = store(&p);
    r.add_crl_der(&crl(&p, &[4242], 2099)).unwrap();
    r.set_revocation_check(Some(RevocationScope::EndEntity));
    match check(&r, &p) {
        Err(Error::Certificate {
            kind: CertErrorKind::Revoked,
            detail,
        }) => {
            assert!(detail.contains("revoked"), "{detail}")
        }
        other => panic!("expected a revoked certificate, got {other:?}"),
    }
}

#[test]
fn an_unlisted_leaf_passes() {
    let p = pki();
    let mut r = store(&p);
    r.add_crl_der(&crl(&p, &[7], 2099)).unwrap();
    r.set_revocation_check(Some(RevocationScope::Chain));
    check(&r, &p).expect("not revoked");
}

#[test]
fn no_crl_or_an_expired_one_leaves_the_status_unknown_and_refuses() {
    let p = pki();
    let mut r = store(&p);
    r.set_revocation_check(Some(RevocationScope::EndEntity));
    match check(&r, &p) {
        Err(Error::Certificate { detail, .. }) => {
            assert!(detail.contains("revocation status"), "{detail}")
        }
        other => panic!("expected an unknown status, got {other:?}"),
    }
    let mut r = store(&p);
    r.add_crl_der(&crl(&p, &[], 2025)).unwrap();
    r.set_revocation_check(Some(RevocationScope::EndEntity));
    match check(&r, &p) {
        Err(Error::Certificate { detail, .. }) => assert!(detail.contains("expired"), "{detail}"),
        other => panic!("expected an expired CRL, got {other:?}"),
    }
}

#[test]
fn a_crl_that_is_not_der_is_refused() {
    let mut r = RootStore::new();
    assert!(r.add_crl_der(b"not a CRL").is_err());
}
