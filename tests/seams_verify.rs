//! The verification and choice seams: custom server and client certificate verifiers (which
//! see the built-in verdict and may override it), a certificate resolver (by SNI and by the
//! client's signature schemes), and an ALPN selector.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use ferrotls::codec::enums::{AlertDescription, ProtocolVersion, SignatureScheme};
use ferrotls::config::{CertifiedKey, Config, ConfigBuilder, Role, VerifyMode};
use ferrotls::error::{CertErrorKind, Error};
use ferrotls::select::{AlpnChoice, CertResolver, ClientHelloInfo};
use ferrotls::verify::{ClientCertVerifier, ServerCertVerifier};
use pki_types::CertificateDer;

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2];

fn pin(b: &mut ConfigBuilder, v: ProtocolVersion) {
    b.set_versions(v, v).unwrap();
}

/// What a verifier saw.
#[derive(Debug, Default)]
struct Seen {
    calls: AtomicUsize,
    builtin: Mutex<Option<Result<(), Error>>>,
    name: Mutex<Option<String>>,
    chain_len: AtomicUsize,
}

impl Seen {
    fn record(&self, chain: &[CertificateDer<'_>], name: Option<&str>, b: &Result<(), Error>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.chain_len.store(chain.len(), Ordering::SeqCst);
        *self.builtin.lock().unwrap() = Some(b.clone());
        *self.name.lock().unwrap() = name.map(str::to_owned);
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn builtin_kind(&self) -> Option<CertErrorKind> {
        match self.builtin.lock().unwrap().clone() {
            Some(Err(Error::Certificate { kind, .. })) => Some(kind),
            _ => None,
        }
    }
}

/// A verifier with a fixed answer: accept, keep the built-in verdict, or refuse.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Accept,
    Keep,
    Refuse,
}

#[derive(Debug)]
struct Fixed {
    answer: Answer,
    seen: Arc<Seen>,
}

impl Fixed {
    fn new(answer: Answer) -> (Arc<Self>, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        (
            Arc::new(Self {
                answer,
                seen: seen.clone(),
            }),
            seen,
        )
    }
    fn answer(&self, b: &Result<(), Error>) -> Result<(), Error> {
        match self.answer {
            Answer::Accept => Ok(()),
            Answer::Keep => b.clone(),
            Answer::Refuse => Err(Error::cert(
                CertErrorKind::Other,
                "the certificate is not the pinned one",
            )),
        }
    }
}

impl ServerCertVerifier for Fixed {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: &str,
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        self.seen.record(chain, Some(server_name), builtin);
        self.answer(builtin)
    }
}

impl ClientCertVerifier for Fixed {
    fn verify_client_cert(
        &self,
        chain: &[CertificateDer<'_>],
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        self.seen.record(chain, None, builtin);
        self.answer(builtin)
    }
}

/// A verifier that keeps every default: today's behaviour.
#[derive(Debug)]
struct Defaults;
impl ServerCertVerifier for Defaults {}
impl ClientCertVerifier for Defaults {}

fn server(pki: &Pki, v: ProtocolVersion) -> Arc<Config> {
    let mut b = server_builder(pki, KeyType::P256);
    pin(&mut b, v);
    b.build().unwrap()
}

#[test]
fn server_verifier_accepts_an_unknown_issuer() {
    let pki = Pki::new("Server CA");
    let other = Pki::new("Some Other CA");
    for v in VERSIONS {
        let (verifier, seen) = Fixed::new(Answer::Accept);
        let mut cb = client_builder(&other);
        cb.set_server_cert_verifier(verifier).unwrap();
        let client = cb.build().unwrap();
        let (mut c, mut s) = pair(&client, &server(&pki, v), "localhost");
        handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(seen.calls(), 1);
        assert_eq!(seen.builtin_kind(), Some(CertErrorKind::UnknownIssuer));
        assert_eq!(seen.name.lock().unwrap().as_deref(), Some("localhost"));
        assert_eq!(seen.chain_len.load(Ordering::SeqCst), 1);
        assert_eq!(send_recv(&mut c, &mut s, b"ping"), b"ping");
    }
}

#[test]
fn server_verifier_without_trust_anchors() {
    // With a custom verifier the client needs no roots; the built-in verdict is unknown_issuer.
    let pki = Pki::new("Server CA");
    let (verifier, seen) = Fixed::new(Answer::Accept);
    let mut cb = ConfigBuilder::new(Role::Client);
    assert!(cb.build().is_err(), "no roots and no verifier is refused");
    cb.set_server_cert_verifier(verifier).unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(
        &client,
        &server(&pki, ProtocolVersion::TLSv1_3),
        "localhost",
    );
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(seen.builtin_kind(), Some(CertErrorKind::UnknownIssuer));
}

#[test]
fn server_verifier_refuses_a_chain_the_builtin_accepted() {
    let pki = Pki::new("Server CA");
    for v in VERSIONS {
        let (verifier, seen) = Fixed::new(Answer::Refuse);
        let mut cb = client_builder(&pki);
        cb.set_server_cert_verifier(verifier).unwrap();
        let client = cb.build().unwrap();
        let server = server(&pki, v);
        for round in 0..2 {
            // The second round hits the verified-chain cache for the built-in verdict; the
            // custom verifier is consulted again and refuses again.
            let (mut c, mut s) = pair(&client, &server, "localhost");
            let (ce, se) = failing_handshake(&mut c, &mut s);
            let err = c.error().expect("client fails");
            assert_eq!(
                err.alert_sent,
                Some(AlertDescription::BadCertificate),
                "{v}"
            );
            let d = err.error.detail();
            assert!(
                d.contains("the custom certificate verifier refused the server's chain")
                    && d.contains("the built-in check had accepted it")
                    && d.contains("not the pinned one"),
                "{d}"
            );
            assert!(ce.is_some());
            assert!(se.unwrap().contains("bad_certificate"), "{v}");
            assert_eq!(seen.calls(), round + 1);
            assert_eq!(*seen.builtin.lock().unwrap(), Some(Ok(())));
        }
        // Only the built-in verdict is cached.
        assert_eq!(client.cached_verifications(), 1);
    }
}

#[test]
fn default_verifier_methods_keep_todays_behaviour() {
    let pki = Pki::new("Server CA");
    let other = Pki::new("Some Other CA");
    let mut cb = client_builder(&pki);
    cb.set_server_cert_verifier(Arc::new(Defaults)).unwrap();
    let good = cb.build().unwrap();
    let (mut c, mut s) = pair(&good, &server(&pki, ProtocolVersion::TLSv1_3), "localhost");
    handshake(&mut c, &mut s).unwrap();

    let mut cb = client_builder(&other);
    cb.set_server_cert_verifier(Arc::new(Defaults)).unwrap();
    let bad = cb.build().unwrap();
    let (mut c, mut s) = pair(&bad, &server(&pki, ProtocolVersion::TLSv1_3), "localhost");
    failing_handshake(&mut c, &mut s);
    let err = c.error().unwrap();
    assert!(matches!(
        err.error,
        Error::Certificate {
            kind: CertErrorKind::UnknownIssuer,
            ..
        }
    ));
    assert!(!err.error.detail().contains("custom"), "{}", err.error);
    assert_eq!(err.alert_sent, Some(AlertDescription::UnknownCa));
}

#[test]
fn keeping_the_builtin_verdict_reports_it_unchanged() {
    let pki = Pki::new("Server CA");
    let other = Pki::new("Some Other CA");
    let (verifier, seen) = Fixed::new(Answer::Keep);
    let mut cb = client_builder(&other);
    cb.set_server_cert_verifier(verifier).unwrap();
    let client = cb.build().unwrap();
    let (mut c, mut s) = pair(
        &client,
        &server(&pki, ProtocolVersion::TLSv1_2),
        "localhost",
    );
    failing_handshake(&mut c, &mut s);
    let err = c.error().unwrap();
    assert_eq!(err.alert_sent, Some(AlertDescription::UnknownCa));
    assert!(!err.error.detail().contains("custom"), "{}", err.error);
    assert_eq!(seen.calls(), 1);
}

#[test]
fn verifiers_are_for_their_role() {
    let mut cb = ConfigBuilder::new(Role::Client);
    assert!(matches!(
        cb.set_client_cert_verifier(Arc::new(Defaults)),
        Err(Error::Usage(_))
    ));
    let mut sb = ConfigBuilder::new(Role::Server);
    assert!(matches!(
        sb.set_server_cert_verifier(Arc::new(Defaults)),
        Err(Error::Usage(_))
    ));
    assert!(matches!(
        cb.set_alpn_selector(Arc::new(|_: &[Vec<u8>]| AlpnChoice::None)),
        Err(Error::Usage(_))
    ));
    assert!(matches!(
        cb.set_cert_resolver(Arc::new(Pick::default())),
        Err(Error::Usage(_))
    ));
}

/// A server asking for client certificates, judged by `verifier`, trusting no CA.
fn mtls_server(
    pki: &Pki,
    v: ProtocolVersion,
    mode: VerifyMode,
    verifier: Arc<dyn ClientCertVerifier>,
) -> Arc<Config> {
    let mut b = server_builder(pki, KeyType::P256);
    pin(&mut b, v);
    b.set_verify_mode(mode).unwrap();
    b.set_client_cert_verifier(verifier).unwrap();
    b.build().unwrap()
}

fn client_with_cert(pki: &Pki, issuer: &Pki) -> Arc<Config> {
    let id = issuer.issue(&["client"], KeyType::P256, true);
    let mut b = client_builder(pki);
    b.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    b.build().unwrap()
}

#[test]
fn client_verifier_accepts_an_unknown_client_ca() {
    let pki = Pki::new("Server CA");
    let client_ca = Pki::new("Client CA the server does not know");
    for v in VERSIONS {
        let (verifier, seen) = Fixed::new(Answer::Accept);
        let server = mtls_server(&pki, v, VerifyMode::RequireClientCert, verifier);
        let client = client_with_cert(&pki, &client_ca);
        let (mut c, mut s) = pair(&client, &server, "localhost");
        handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(seen.calls(), 1);
        assert_eq!(seen.builtin_kind(), Some(CertErrorKind::UnknownIssuer));
        assert_eq!(seen.name.lock().unwrap().as_deref(), None);
        assert_eq!(s.peer_certificates().len(), 1);
        assert_eq!(send_recv(&mut c, &mut s, b"hello"), b"hello");
    }
}

#[test]
fn client_verifier_lets_a_missing_certificate_through() {
    let pki = Pki::new("Server CA");
    for v in VERSIONS {
        let (verifier, seen) = Fixed::new(Answer::Accept);
        let server = mtls_server(&pki, v, VerifyMode::RequireClientCert, verifier);
        let client = client_builder(&pki).build().unwrap();
        let (mut c, mut s) = pair(&client, &server, "localhost");
        handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(seen.chain_len.load(Ordering::SeqCst), 0);
        assert!(matches!(
            seen.builtin.lock().unwrap().clone(),
            Some(Err(
                Error::CertificateRequired(_) | Error::HandshakeFailure(_)
            ))
        ));
        assert!(s.peer_certificates().is_empty());
    }
}

#[test]
fn client_verifier_refuses_a_valid_client_certificate() {
    let pki = Pki::new("Server CA");
    for v in VERSIONS {
        let (verifier, seen) = Fixed::new(Answer::Refuse);
        let mut b = server_builder(&pki, KeyType::P256);
        pin(&mut b, v);
        b.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
        b.set_verify_mode(VerifyMode::RequestClientCert).unwrap();
        b.set_client_cert_verifier(verifier).unwrap();
        let server = b.build().unwrap();
        let client = client_with_cert(&pki, &pki);
        let (mut c, mut s) = pair(&client, &server, "localhost");
        failing_handshake(&mut c, &mut s);
        let err = s.error().expect("server fails");
        assert_eq!(err.alert_sent, Some(AlertDescription::BadCertificate));
        assert!(
            err.error
                .detail()
                .contains("the custom certificate verifier refused the client's chain"),
            "{}",
            err.error
        );
        assert_eq!(*seen.builtin.lock().unwrap(), Some(Ok(())));
    }
}

/// What a resolver saw: server name, version, number of suites, ALPN offers.
type Hello = (Option<String>, ProtocolVersion, usize, Vec<Vec<u8>>);

/// What a resolver does: by SNI, or by signature scheme preference.
#[derive(Debug, Default)]
struct Pick {
    by_name: Vec<(String, Arc<CertifiedKey>)>,
    /// Tried in order: the first whose scheme the client accepts.
    by_scheme: Vec<(SignatureScheme, Arc<CertifiedKey>)>,
    seen: Mutex<Vec<Hello>>,
}

impl CertResolver for Pick {
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        self.seen.lock().unwrap().push((
            hello.server_name.map(str::to_owned),
            hello.version,
            hello.cipher_suites.len(),
            hello.alpn.to_vec(),
        ));
        if let Some(name) = hello.server_name
            && let Some((_, ck)) = self.by_name.iter().find(|(n, _)| n == name)
        {
            return Some(ck.clone());
        }
        self.by_scheme
            .iter()
            .find(|(s, _)| hello.signature_schemes.contains(s))
            .map(|(_, ck)| ck.clone())
    }
}

fn certified(pki: &Pki, names: &[&str], kt: KeyType) -> Arc<CertifiedKey> {
    let id = pki.issue(names, kt, false);
    CertifiedKey::from_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes()).unwrap()
}

fn resolver_server(resolver: Arc<Pick>, v: ProtocolVersion) -> Arc<Config> {
    // No add_cert_key_*: the resolver holds the certificates.
    let mut b = ConfigBuilder::new(Role::Server);
    pin(&mut b, v);
    b.set_cert_resolver(resolver).unwrap();
    b.build().unwrap()
}

#[test]
fn resolver_chooses_by_server_name() {
    let pki = Pki::new("CA");
    let a = certified(&pki, &["a.test"], KeyType::P256);
    let b = certified(&pki, &["b.test"], KeyType::Rsa2048);
    for v in VERSIONS {
        let pick = Arc::new(Pick {
            by_name: vec![("a.test".into(), a.clone()), ("b.test".into(), b.clone())],
            ..Pick::default()
        });
        let server = resolver_server(pick.clone(), v);
        let mut cb = client_builder(&pki);
        cb.set_alpn_list("h2,http/1.1").unwrap();
        let client = cb.build().unwrap();
        for name in ["a.test", "b.test"] {
            let (mut c, mut s) = pair(&client, &server, name);
            handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{v} {name}: {e}"));
            let subject = c.peer_cert_subject().unwrap();
            assert!(subject.contains(name), "{v}: {subject}");
        }
        let seen = pick.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0.as_deref(), Some("a.test"));
        assert_eq!(seen[1].1, v);
        assert!(seen[0].2 > 0);
        assert_eq!(seen[0].3, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }
}

#[test]
fn resolver_chooses_by_signature_scheme() {
    let pki = Pki::new("CA");
    let ecdsa = certified(&pki, &["localhost"], KeyType::P256);
    let rsa = certified(&pki, &["localhost"], KeyType::Rsa2048);
    let client = client_builder(&pki).build().unwrap();
    for v in VERSIONS {
        // The client accepts both; each resolver's preference decides.
        for (first, expect_ecdsa) in [
            (SignatureScheme::ECDSA_NISTP256_SHA256, true),
            (SignatureScheme::RSA_PSS_RSAE_SHA256, false),
        ] {
            let pick = Arc::new(Pick {
                by_scheme: vec![
                    (
                        first,
                        if expect_ecdsa {
                            ecdsa.clone()
                        } else {
                            rsa.clone()
                        },
                    ),
                    (SignatureScheme::ECDSA_NISTP256_SHA256, ecdsa.clone()),
                ],
                ..Pick::default()
            });
            let server = resolver_server(pick, v);
            let (mut c, mut s) = pair(&client, &server, "localhost");
            handshake(&mut c, &mut s).unwrap_or_else(|e| panic!("{v}: {e}"));
            let scheme = c.signature_scheme().unwrap();
            assert_eq!(
                scheme == SignatureScheme::ECDSA_NISTP256_SHA256,
                expect_ecdsa,
                "{v}: {scheme}"
            );
            if !expect_ecdsa {
                assert!(
                    matches!(
                        scheme,
                        SignatureScheme::RSA_PSS_RSAE_SHA256
                            | SignatureScheme::RSA_PSS_RSAE_SHA384
                            | SignatureScheme::RSA_PSS_RSAE_SHA512
                            | SignatureScheme::RSA_PKCS1_SHA256
                            | SignatureScheme::RSA_PKCS1_SHA384
                            | SignatureScheme::RSA_PKCS1_SHA512
                    ),
                    "{v}: {scheme}"
                );
            }
        }
    }
}

#[test]
fn resolver_choosing_nothing_is_handshake_failure() {
    let pki = Pki::new("CA");
    let a = certified(&pki, &["a.test"], KeyType::P256);
    let client = client_builder(&pki).build().unwrap();
    for v in VERSIONS {
        let pick = Arc::new(Pick {
            by_name: vec![("a.test".into(), a.clone())],
            ..Pick::default()
        });
        let server = resolver_server(pick, v);
        let (mut c, mut s) = pair(&client, &server, "nobody.test");
        let (ce, _) = failing_handshake(&mut c, &mut s);
        let err = s.error().expect("server fails");
        assert_eq!(err.alert_sent, Some(AlertDescription::HandshakeFailure));
        assert!(matches!(err.error, Error::HandshakeFailure(_)));
        assert!(
            err.error.detail().contains(
                "the certificate resolver chose no certificate for server name nobody.test"
            ),
            "{}",
            err.error
        );
        assert!(ce.unwrap().contains("handshake_failure"));
    }
}

fn alpn_pair(
    v: ProtocolVersion,
    offer: &str,
    select: impl Fn(&[Vec<u8>]) -> AlpnChoice + Send + Sync + 'static,
) -> (ferrotls::conn::Connection, ferrotls::conn::Connection) {
    let pki = Pki::new("CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    pin(&mut sb, v);
    // The server's own list is ignored once a selector is set.
    sb.set_alpn_list("spdy/1").unwrap();
    sb.set_alpn_selector(Arc::new(select)).unwrap();
    let server = sb.build().unwrap();
    let mut cb = client_builder(&pki);
    cb.set_alpn_list(offer).unwrap();
    let client = cb.build().unwrap();
    pair(&client, &server, "localhost")
}

#[test]
fn alpn_selector_chooses_the_clients_second_offer() {
    for v in VERSIONS {
        let (mut c, mut s) = alpn_pair(v, "h2,http/1.1", |offered| {
            AlpnChoice::Select(offered[1].clone())
        });
        handshake(&mut c, &mut s).unwrap();
        assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(s.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
}

#[test]
fn alpn_selector_chooses_none() {
    for v in VERSIONS {
        let (mut c, mut s) = alpn_pair(v, "h2,http/1.1", |_| AlpnChoice::None);
        handshake(&mut c, &mut s).unwrap();
        assert_eq!(c.alpn_protocol(), None);
        assert_eq!(s.alpn_protocol(), None);
    }
}

#[test]
fn alpn_selector_refuses() {
    for v in VERSIONS {
        let (mut c, mut s) = alpn_pair(v, "h2,http/1.1", |_| AlpnChoice::Refuse);
        let (ce, _) = failing_handshake(&mut c, &mut s);
        let err = s.error().unwrap();
        assert_eq!(
            err.alert_sent,
            Some(AlertDescription::NoApplicationProtocol)
        );
        assert!(
            err.error.detail().contains(
                "the ALPN selector refused every protocol the client offered (h2, http/1.1)"
            ),
            "{}",
            err.error
        );
        assert!(ce.unwrap().contains("no_application_protocol"));
    }
}

#[test]
fn alpn_selector_must_choose_an_offer() {
    let (mut c, mut s) = alpn_pair(ProtocolVersion::TLSv1_3, "h2", |_| {
        AlpnChoice::Select(b"h3".to_vec())
    });
    failing_handshake(&mut c, &mut s);
    let err = s.error().unwrap();
    assert_eq!(err.alert_sent, Some(AlertDescription::InternalError));
    assert!(
        err.error.detail().contains(
            "the ALPN selector chose 'h3', which the client did not offer (it offered h2)"
        ),
        "{}",
        err.error
    );
}

#[test]
fn alpn_selector_is_not_asked_without_an_offer() {
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let pki = Pki::new("CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_alpn_selector(Arc::new(move |_: &[Vec<u8>]| {
        n.fetch_add(1, Ordering::SeqCst);
        AlpnChoice::Refuse
    }))
    .unwrap();
    let server = sb.build().unwrap();
    let client = client_builder(&pki).build().unwrap();
    let (mut c, mut s) = pair(&client, &server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(s.alpn_protocol(), None);
}
