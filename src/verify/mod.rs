//! Certificate and handshake-signature verification: the only module that names `webpki`
//! and `x509_parser`.
//!
//! Every failure becomes an [`Error`] whose detail names the certificate, its depth in the
//! chain, the values involved and what the user can do about it.

pub mod cache;
pub mod cert_info;
pub mod pem;
pub mod roots;
pub mod verifier;

use pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime};
use webpki::ring as algs;

use crate::codec::enums::SignatureScheme;
use crate::error::{CertErrorKind, Error, Reason};
use cert_info::{CertInfo, format_unix_time};
pub use roots::{RevocationScope, RootStore};
pub use verifier::{ClientCertVerifier, ServerCertVerifier};

/// Proof that the server's certificate chain and name were verified.
#[derive(Debug)]
pub struct ServerCertVerified(());

/// Proof that the client's certificate chain was verified.
#[derive(Debug)]
pub struct ClientCertVerified(());

/// Proof that a handshake signature (CertificateVerify or ServerKeyExchange) verified.
#[derive(Debug)]
pub struct HandshakeSignatureValid(());

/// Verify a server's chain (`chain[0]` the end entity, then intermediates) against `roots`
/// at `now`, for TLS server authentication, and check it is valid for `server_name`.
pub fn verify_server_cert(
    roots: &RootStore,
    chain: &[CertificateDer<'static>],
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, Error> {
    with_cache(roots, chain, Some(server_name), now, || {
        let ee = verify_chain(roots, chain, now, Role::Server)?;
        ee.verify_is_valid_for_subject_name(server_name)
            .map_err(|e| {
                map_error(
                    &e,
                    &Context {
                        roots,
                        chain,
                        role: Role::Server,
                        expected: Some(server_name),
                    },
                )
            })
    })?;
    Ok(ServerCertVerified(()))
}

/// Verify a client's chain against `roots` at `now`, for TLS client authentication.
pub fn verify_client_cert(
    roots: &RootStore,
    chain: &[CertificateDer<'static>],
    now: UnixTime,
) -> Result<ClientCertVerified, Error> {
    with_cache(roots, chain, None, now, || {
        verify_chain(roots, chain, now, Role::Client).map(|_| ())
    })?;
    Ok(ClientCertVerified(()))
}

/// The server's chain through the built-in check and then `custom` (when configured), which
/// has the last word (see [`verifier`]). Returns the proof and, when the custom verifier
/// accepted a chain the built-in check refused, a note saying so for the trace.
pub(crate) fn check_server_cert(
    roots: &RootStore,
    custom: Option<&dyn ServerCertVerifier>,
    chain: &[CertificateDer<'static>],
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(ServerCertVerified, Option<String>), Error> {
    let builtin = verify_server_cert(roots, chain, server_name, now).map(|_| ());
    let Some(custom) = custom else {
        return builtin.map(|()| (ServerCertVerified(()), None));
    };
    let name = server_name_text(server_name);
    let (verdict, note) = verifier::final_verdict(builtin, "server", |b| {
        custom.verify_server_cert(chain, &name, b)
    });
    verdict.map(|()| (ServerCertVerified(()), note))
}

/// The client's chain (possibly empty) through the built-in check and then `custom`. `missing`
/// is the built-in verdict on an empty chain. `Ok(None)` when the chain is empty and accepted.
pub(crate) fn check_client_cert(
    roots: &RootStore,
    custom: Option<&dyn ClientCertVerifier>,
    chain: &[CertificateDer<'static>],
    missing: Result<(), Error>,
    now: UnixTime,
) -> Result<(Option<ClientCertVerified>, Option<String>), Error> {
    let builtin = if chain.is_empty() {
        missing
    } else {
        verify_client_cert(roots, chain, now).map(|_| ())
    };
    let proof = || (!chain.is_empty()).then_some(ClientCertVerified(()));
    let Some(custom) = custom else {
        return builtin.map(|()| (proof(), None));
    };
    let (verdict, note) =
        verifier::final_verdict(builtin, "client", |b| custom.verify_client_cert(chain, b));
    verdict.map(|()| (proof(), note))
}

/// Run `verify` unless the verified-chain cache already holds this chain (for this server
/// name, or as a client chain when `name` is `None`); remember it when it verifies. With the
/// cache off nothing is hashed or parsed for it.
fn with_cache(
    roots: &RootStore,
    chain: &[CertificateDer<'static>],
    name: Option<&ServerName<'_>>,
    now: UnixTime,
    verify: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    if roots.cache_off {
        return verify();
    }
    let key = cache::key(u8::from(name.is_none()), name, chain);
    if roots.verified.hit(&key, now.as_secs()) {
        return Ok(());
    }
    verify()?;
    if let Some(exp) = cache::expiry(chain, now.as_secs()) {
        roots.verified.insert(key, exp);
    }
    Ok(())
}

/// Which peer's certificate we are checking.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Server,
    Client,
}

impl Role {
    fn peer(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }
}

/// Everything an error message may need.
struct Context<'a> {
    roots: &'a RootStore,
    chain: &'a [CertificateDer<'static>],
    role: Role,
    expected: Option<&'a ServerName<'a>>,
}

fn verify_chain<'c>(
    roots: &RootStore,
    chain: &'c [CertificateDer<'static>],
    now: UnixTime,
    role: Role,
) -> Result<webpki::EndEntityCert<'c>, Error> {
    // 1. The peer must have sent at least its own certificate.
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(Error::cert(
            CertErrorKind::Missing,
            format!("the {} sent no certificate", role.peer()),
        ));
    };
    let cx = Context {
        roots,
        chain,
        role,
        expected: None,
    };
    // 2. Parse the end entity.
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| map_error(&e, &cx))?;
    // 3. Build a path to a trust anchor (RFC 5280 §6), checking dates, CA flags and EKU.
    let usage = match role {
        Role::Server => webpki::KeyUsage::server_auth(),
        Role::Client => webpki::KeyUsage::client_auth(),
    };
    if roots.is_empty() {
        let who = describe_at(chain, 0);
        return Err(Error::cert(
            CertErrorKind::UnknownIssuer,
            format!(
                "cannot verify {who}: no trust anchors are loaded; load a CA file or the system \
                 store"
            ),
        ));
    }
    // 4. Revocation, when asked for: every certificate in scope must be covered by a CRL
    //    from its issuer (RFC 5280 §6.3), and not listed in it.
    let crls: Vec<&webpki::CertRevocationList<'static>> =
        roots.crls.iter().map(|c| c.as_ref()).collect();
    let revocation = match roots.revocation {
        None => None,
        Some(scope) => {
            let Ok(b) = webpki::RevocationOptionsBuilder::new(&crls) else {
                let who = describe_at(chain, 0);
                return Err(Error::cert(
                    CertErrorKind::Other,
                    format!(
                        "the revocation status of {who} is unknown: revocation checks are on and no CRL is loaded"
                    ),
                ));
            };
            Some(
                b.with_depth(match scope {
                    roots::RevocationScope::EndEntity => webpki::RevocationCheckDepth::EndEntity,
                    roots::RevocationScope::Chain => webpki::RevocationCheckDepth::Chain,
                })
                .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
                .build(),
            )
        }
    };
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        roots.anchors(),
        intermediates,
        now,
        usage,
        revocation,
        None,
    )
    .map_err(|e| map_error(&e, &cx))?;
    Ok(ee)
}

/// "certificate 'CN=x' (depth N)", or a fallback when the certificate cannot be parsed.
fn describe_at(chain: &[CertificateDer<'_>], depth: usize) -> String {
    match chain.get(depth).and_then(|c| cert_info::describe(c)) {
        Some(info) => format!("certificate {} (depth {depth})", info.short_name()),
        None => format!("the certificate at depth {depth}"),
    }
}

fn infos(chain: &[CertificateDer<'_>]) -> Vec<Option<CertInfo>> {
    chain.iter().map(|c| cert_info::describe(c)).collect()
}

fn secs(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// Turn a webpki error into our error, with the certificate, depth, values and a hint.
fn map_error(e: &webpki::Error, cx: &Context<'_>) -> Error {
    use webpki::Error as W;
    let chain = cx.chain;
    let infos = infos(chain);
    let leaf = describe_at(chain, 0);
    #[allow(deprecated)]
    let (kind, detail) = match e {
        W::CertExpired { time, not_after } => {
            let depth = infos.iter().position(|i| {
                i.as_ref()
                    .is_some_and(|i| i.not_after_unix == secs(*not_after))
            });
            let who = depth.map_or_else(
                || "a certificate in the chain".to_string(),
                |d| describe_at(chain, d),
            );
            let hint = match depth {
                Some(0) => "renew it".to_string(),
                Some(_) => format!(
                    "the {} must send a current intermediate certificate; renew or replace it",
                    cx.role.peer()
                ),
                None => "renew it".to_string(),
            };
            (
                CertErrorKind::Expired,
                format!(
                    "{who} expired at {}; the current time is {}; {hint}",
                    format_unix_time(secs(*not_after)),
                    format_unix_time(secs(*time))
                ),
            )
        }
        W::CertNotValidYet { time, not_before } => {
            let depth = infos.iter().position(|i| {
                i.as_ref()
                    .is_some_and(|i| i.not_before_unix == secs(*not_before))
            });
            let who = depth.map_or_else(
                || "a certificate in the chain".to_string(),
                |d| describe_at(chain, d),
            );
            (
                CertErrorKind::NotYetValid,
                format!(
                    "{who} is not valid until {}; the current time is {}; check this machine's \
                     clock, or wait until the certificate becomes valid",
                    format_unix_time(secs(*not_before)),
                    format_unix_time(secs(*time))
                ),
            )
        }
        W::UnknownIssuer => (CertErrorKind::UnknownIssuer, unknown_issuer(cx, &infos)),
        W::CertNotValidForName(ctx) => {
            let expected = cx
                .expected
                .map(server_name_text)
                .unwrap_or_else(|| server_name_text(&ctx.expected));
            let names = match infos.first() {
                Some(Some(i)) => i.san_list(),
                _ => ctx.presented.join(", "),
            };
            let valid_for = if names.is_empty() {
                let cn = infos
                    .first()
                    .and_then(|i| i.as_ref())
                    .and_then(|i| i.common_name.clone())
                    .map(|cn| format!(" (its common name '{cn}' is not used for name checks)"))
                    .unwrap_or_default();
                format!("has no subject alternative names{cn}, so it is valid for no name")
            } else {
                format!("is valid for {names}")
            };
            let hint = if names.is_empty() {
                format!("reissue the certificate with '{expected}' in its subjectAltName")
            } else {
                format!(
                    "connect using one of those names or reissue the certificate with '{expected}' \
                     in its subjectAltName"
                )
            };
            (
                CertErrorKind::NameMismatch,
                format!("{leaf} {valid_for}, not for '{expected}'; {hint}"),
            )
        }
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
            let purpose = match cx.role {
                Role::Server => "TLS server authentication",
                Role::Client => "TLS client authentication",
            };
            let oid = match cx.role {
                Role::Server => "serverAuth",
                Role::Client => "clientAuth",
            };
            (
                CertErrorKind::InvalidPurpose,
                format!(
                    "{leaf} is not valid for {purpose} (extended key usage); reissue it with \
                     extendedKeyUsage including {oid}"
                ),
            )
        }
        W::CaUsedAsEndEntity => (
            CertErrorKind::NotCa,
            format!(
                "{leaf} is a CA certificate and cannot be used as the {}'s own certificate; \
                 use a leaf certificate issued by that CA",
                cx.role.peer()
            ),
        ),
        W::EndEntityUsedAsCa => {
            let bad: Vec<String> = infos
                .iter()
                .enumerate()
                .skip(1)
                .filter(|(_, i)| i.as_ref().is_some_and(|i| !i.is_ca))
                .map(|(d, _)| describe_at(chain, d))
                .collect();
            let who = if bad.is_empty() {
                "an issuing certificate in the chain".to_string()
            } else {
                bad.join(", ")
            };
            (
                CertErrorKind::NotCa,
                format!(
                    "{who} issued {leaf} but is not a CA certificate (basicConstraints CA:FALSE or \
                     absent); reissue the intermediate as a CA"
                ),
            )
        }
        W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch => {
            (CertErrorKind::BadSignature, bad_signature(cx, e))
        }
        W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => (
            CertErrorKind::UnsupportedAlgorithm,
            format!(
                "the chain of {leaf} uses a signature algorithm or key type we do not support \
                 ({}); use ECDSA P-256/P-384, Ed25519 or RSA 2048-8192 with SHA-256 or better",
                short_debug(e)
            ),
        ),
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::MalformedExtensions
        | W::ExtensionValueInvalid => {
            let bad = infos.iter().position(Option::is_none);
            let who = match bad {
                Some(d) => format!("the {}'s certificate at depth {d}", cx.role.peer()),
                None => format!("the chain of {leaf}"),
            };
            (
                CertErrorKind::BadEncoding,
                format!(
                    "{who} is not valid DER X.509 ({e:?}); check that the file is not corrupted"
                ),
            )
        }
        W::CertRevoked => (CertErrorKind::Revoked, format!("{leaf} has been revoked")),
        W::UnknownRevocationStatus => (
            CertErrorKind::Other,
            format!(
                "the revocation status of {leaf} (or of a CA above it) is unknown: no CRL from its issuer is loaded"
            ),
        ),
        W::CrlExpired { .. } => (
            CertErrorKind::Other,
            format!(
                "the CRL that covers {leaf} has expired (its nextUpdate has passed): fetch a current one"
            ),
        ),
        other => (
            CertErrorKind::Other,
            format!("verification of {leaf} failed: {other:?}"),
        ),
    };
    Error::cert(kind, detail)
}

/// webpki's Debug text, shortened to the variant name when it carries raw bytes.
fn short_debug(e: &webpki::Error) -> String {
    let text = format!("{e:?}");
    match text.find('(') {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The depth of the topmost certificate reached from the leaf by following issuer names
/// through the certificates as sent.
fn chain_top(chain: &[CertificateDer<'_>]) -> usize {
    let mut depth = 0;
    let mut visited = vec![0];
    while let Some(issuer) = chain.get(depth).and_then(|c| cert_info::issuer_der(c)) {
        let next = (1..chain.len()).find(|d| {
            !visited.contains(d)
                && chain
                    .get(*d)
                    .and_then(|c| cert_info::subject_der(c))
                    .as_deref()
                    == Some(issuer.as_slice())
        });
        let Some(d) = next else { break };
        visited.push(d);
        depth = d;
    }
    depth
}

/// Explain a chain signature that does not verify, pointing at a reissued CA when the top of
/// the chain names a loaded anchor as its issuer.
fn bad_signature(cx: &Context<'_>, e: &webpki::Error) -> String {
    let chain = cx.chain;
    let depth = chain_top(chain);
    let issuer = chain.get(depth).and_then(|c| cert_info::issuer_der(c));
    if let Some(issuer) = issuer.filter(|i| cx.roots.subjects().contains(i)) {
        let name = cert_info::name_from_der(&issuer).unwrap_or_default();
        return format!(
            "the signature on {} by '{name}' does not verify with the key of the trust anchor \
             of that name: the CA was probably reissued with a new key (update the CA file), \
             or the certificate was altered",
            describe_at(chain, depth)
        );
    }
    format!(
        "a signature in the chain of {} does not verify ({e:?}); the chain may be corrupted or \
         signed by a different key than its issuer's",
        describe_at(chain, 0)
    )
}

/// Explain UnknownIssuer: self-signed leaf, missing intermediate, or no matching root.
fn unknown_issuer(cx: &Context<'_>, infos: &[Option<CertInfo>]) -> String {
    let chain = cx.chain;
    let anchors = cx.roots.describe();
    let Some(Some(leaf)) = infos.first() else {
        return format!(
            "{} has no trusted issuer ({anchors} loaded)",
            describe_at(chain, 0)
        );
    };
    // (a) A self-signed end entity.
    if leaf.self_issued {
        return format!(
            "the certificate {} (depth 0) is self-signed and not in the trust store ({anchors} \
             loaded); add it to the trust anchors if you trust it",
            leaf.short_name()
        );
    }
    let depth = chain_top(chain);
    let top = infos.get(depth).and_then(|i| i.as_ref()).unwrap_or(leaf);
    let top_issuer_der = chain
        .get(depth)
        .and_then(|c| cert_info::issuer_der(c))
        .unwrap_or_default();
    let issuer_trusted = cx.roots.subjects().contains(&top_issuer_der);
    let issuer_name = format!("'{}'", top.issuer);
    if top.self_issued {
        return format!(
            "the chain of {} ends at the self-signed root {} (depth {depth}), which is not in the \
             trust store ({anchors} loaded); add that root to the trust anchors if you trust it",
            leaf.short_name(),
            top.short_name()
        );
    }
    // (b) Only the leaf was sent and its issuer is not an anchor: the intermediate is missing.
    if chain.len() == 1 && !issuer_trusted {
        let peer = cx.role.peer();
        return format!(
            "certificate {} (depth 0) is issued by {issuer_name}, which is not among the trust \
             anchors ({anchors} loaded) and which the {peer} did not send: if {issuer_name} is a \
             root CA you trust, add it to the trust anchors; if it is an intermediate CA, the {peer} must \
             send it (configure the full chain)",
            leaf.short_name(),
        );
    }
    // (c) No root for the top of the chain.
    let note = if issuer_trusted {
        "; a trust anchor with that name is loaded, but its key did not sign the certificate \
         (the CA may have been reissued: update the CA file)"
    } else {
        "; add the issuing root CA to the trust anchors if you trust it"
    };
    format!(
        "no trusted root for {} (depth {depth}) issued by {issuer_name} ({anchors} loaded){note}",
        top.short_name()
    )
}

// ---------------------------------------------------------------------------------------------
// Handshake signatures
// ---------------------------------------------------------------------------------------------

/// A list of webpki algorithms for one signature scheme.
type AlgList = &'static [&'static dyn SignatureVerificationAlgorithm];

static ECDSA_P256_SHA256: AlgList = &[algs::ECDSA_P256_SHA256];
static ECDSA_P384_SHA384: AlgList = &[algs::ECDSA_P384_SHA384];
// TLS 1.2 ECDSA schemes name only the hash; the curve comes from the key.
static ECDSA_ANY_SHA256: AlgList = &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256];
static ECDSA_ANY_SHA384: AlgList = &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384];
static ED25519: AlgList = &[algs::ED25519];
static RSA_PSS_SHA256: AlgList = &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY];
static RSA_PSS_SHA384: AlgList = &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY];
static RSA_PSS_SHA512: AlgList = &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY];
static RSA_PKCS1_SHA256: AlgList = &[algs::RSA_PKCS1_2048_8192_SHA256];
static RSA_PKCS1_SHA384: AlgList = &[algs::RSA_PKCS1_2048_8192_SHA384];
static RSA_PKCS1_SHA512: AlgList = &[algs::RSA_PKCS1_2048_8192_SHA512];

/// The algorithms webpki may use for `scheme`, most likely first; empty if not allowed.
fn scheme_algs(scheme: SignatureScheme, tls13: bool) -> AlgList {
    use SignatureScheme as S;
    match (scheme, tls13) {
        (S::ECDSA_NISTP256_SHA256, true) => ECDSA_P256_SHA256,
        (S::ECDSA_NISTP384_SHA384, true) => ECDSA_P384_SHA384,
        (S::ECDSA_NISTP256_SHA256, false) => ECDSA_ANY_SHA256,
        (S::ECDSA_NISTP384_SHA384, false) => ECDSA_ANY_SHA384,
        (S::ED25519, _) => ED25519,
        (S::RSA_PSS_RSAE_SHA256, _) => RSA_PSS_SHA256,
        (S::RSA_PSS_RSAE_SHA384, _) => RSA_PSS_SHA384,
        (S::RSA_PSS_RSAE_SHA512, _) => RSA_PSS_SHA512,
        (S::RSA_PKCS1_SHA256, false) => RSA_PKCS1_SHA256,
        (S::RSA_PKCS1_SHA384, false) => RSA_PKCS1_SHA384,
        (S::RSA_PKCS1_SHA512, false) => RSA_PKCS1_SHA512,
        _ => &[],
    }
}

/// The signature schemes we can verify, in preference order (for signature_algorithms).
pub fn supported_verify_schemes(tls13: bool) -> Vec<SignatureScheme> {
    use SignatureScheme as S;
    let mut v = vec![
        S::ECDSA_NISTP256_SHA256,
        S::ECDSA_NISTP384_SHA384,
        S::ED25519,
        S::RSA_PSS_RSAE_SHA256,
        S::RSA_PSS_RSAE_SHA384,
        S::RSA_PSS_RSAE_SHA512,
    ];
    if !tls13 {
        v.extend([
            S::RSA_PKCS1_SHA256,
            S::RSA_PKCS1_SHA384,
            S::RSA_PKCS1_SHA512,
        ]);
    }
    v
}

/// Verify a TLS 1.3 CertificateVerify signature over the already-built `message`
/// (RFC 8446 §4.4.3) with the key of `cert`. `who` is "server" or "client".
pub fn verify_tls13_signature(
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
    who: &str,
) -> Result<HandshakeSignatureValid, Error> {
    verify_signature(cert, scheme, message, signature, who, true)
}

/// Verify a TLS 1.2 ServerKeyExchange or CertificateVerify signature over `message` with the
/// key of `cert`. `who` is "server" or "client".
pub fn verify_tls12_signature(
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
    who: &str,
) -> Result<HandshakeSignatureValid, Error> {
    verify_signature(cert, scheme, message, signature, who, false)
}

fn verify_signature(
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
    who: &str,
    tls13: bool,
) -> Result<HandshakeSignatureValid, Error> {
    let version = if tls13 { "TLS 1.3" } else { "TLS 1.2" };
    let what = if tls13 {
        "CertificateVerify"
    } else {
        "handshake"
    };
    // 1. The scheme must be one we offered for this version (RFC 8446 §4.4.3: no PKCS#1 v1.5).
    let candidates = scheme_algs(scheme, tls13);
    if candidates.is_empty() {
        let why = match scheme {
            SignatureScheme::RSA_PKCS1_SHA256
            | SignatureScheme::RSA_PKCS1_SHA384
            | SignatureScheme::RSA_PKCS1_SHA512
                if tls13 =>
            {
                " (RSASSA-PKCS1-v1_5 is forbidden for TLS 1.3 handshake signatures)"
            }
            _ => "",
        };
        return Err(Error::peer(
            Reason::UnofferedSignatureScheme,
            format!(
                "the {who} signed with {scheme}, which is not allowed in {version}{why}; we offered {}",
                supported_verify_schemes(tls13)
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    // For error details only: parsing the certificate for its name is not free, so it waits
    // until something fails.
    let name = || {
        cert_info::describe(cert).map_or_else(|| "its certificate".to_string(), |i| i.short_name())
    };
    // 2. Parse the certificate.
    let ee = webpki::EndEntityCert::try_from(cert).map_err(|e| {
        Error::cert(
            CertErrorKind::BadEncoding,
            format!(
                "the {who}'s certificate cannot be parsed to check its {what} signature: {e:?}"
            ),
        )
    })?;
    // 3. Try each candidate; move on when the algorithm does not suit the key.
    for alg in candidates {
        #[allow(deprecated)]
        match ee.verify_signature(*alg, message, signature) {
            Ok(()) => return Ok(HandshakeSignatureValid(())),
            Err(
                webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
                | webpki::Error::UnsupportedSignatureAlgorithmForPublicKey,
            ) => continue,
            // ring verifies RSA signatures only with keys of 2048 to 8192 bits and reports a
            // smaller key as a bad signature: say what is really wrong.
            Err(_) if let Some(bits) = weak_rsa_key(cert) => {
                return Err(weak_key_error(who, what, scheme, bits, &name()));
            }
            Err(webpki::Error::InvalidSignatureForPublicKey) => {
                return Err(Error::peer(
                    Reason::BadSignature,
                    format!(
                        "the {who}'s {what} signature ({scheme}) does not verify with the public key \
                     of {}",
                        name()
                    ),
                ));
            }
            Err(e) => {
                return Err(Error::peer(
                    Reason::BadSignature,
                    format!(
                        "the {who}'s {what} signature ({scheme}) could not be checked with the key of \
                     {}: {}",
                        name(),
                        short_debug(&e)
                    ),
                ));
            }
        }
    }
    if let Some(bits) = weak_rsa_key(cert) {
        return Err(weak_key_error(who, what, scheme, bits, &name()));
    }
    let key = cert_info::key_description(cert).unwrap_or_else(|| "an unknown".into());
    Err(Error::peer(
        Reason::UnofferedSignatureScheme,
        format!(
            "the {who} signed with {scheme}, which does not match the {key} key of {}",
            name()
        ),
    ))
}

/// The smallest RSA key whose signatures we check (ring's lower bound; NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

/// The error for a signature from an RSA key below [`MIN_RSA_BITS`] (unsupported_certificate).
fn weak_key_error(
    who: &str,
    what: &str,
    scheme: SignatureScheme,
    bits: usize,
    name: &str,
) -> Error {
    Error::cert(
        CertErrorKind::UnsupportedAlgorithm,
        format!(
            "the {who}'s certificate {name} has an RSA key of {bits} bits; the minimum is \
             {MIN_RSA_BITS} bits (keys this small can be factored), so its {what} signature \
             ({scheme}) was not accepted: the {who} needs a certificate with an RSA key of at \
             least {MIN_RSA_BITS} bits, or an ECDSA key"
        ),
    )
}

/// The size of `cert`'s RSA key if it is below [`MIN_RSA_BITS`].
fn weak_rsa_key(cert: &CertificateDer<'_>) -> Option<usize> {
    cert_info::rsa_key_bits(cert).filter(|&b| b < MIN_RSA_BITS)
}

#[cfg(test)]
mod tests;
