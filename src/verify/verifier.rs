//! The certificate-verification seam: a [`ServerCertVerifier`] (client side) or
//! [`ClientCertVerifier`] (server side) sees the peer's chain together with the built-in verdict
//! and returns the final one.
//!
//! The built-in check (chain to a trust anchor, dates, key usage, and on the client the server
//! name) always runs first, so a verifier gets its precise [`Error`]; returning
//! `builtin.clone()` keeps today's behaviour (that is what the default method bodies do). A
//! verifier may accept a chain the built-in check refused (an OpenSSL verify callback returning
//! 1, Python's `CERT_NONE` with a pinned certificate) or refuse one it accepted (pinning, a
//! revocation list, a policy).
//!
//! What a verifier cannot change: the handshake signature (CertificateVerify, or TLS 1.2's
//! ServerKeyExchange) is checked by the engine against the leaf on every handshake, so a peer
//! must still prove it holds the key of the certificate that was accepted.
//!
//! The verified-chain cache ([`super::cache`]) caches the *built-in* verdict only: a cache hit
//! stands for "the built-in check accepts this chain", and a chain enters the cache only when the
//! built-in check accepted it. The custom verifier is consulted on every handshake, hit or not,
//! so an overriding verdict (either way) is never cached and never outlives the verifier's own
//! state (a pin list it updates, a revocation it learns).

use std::fmt::Debug;

use pki_types::CertificateDer;

use crate::error::Error;

/// Client side: decides whether the server's certificate chain is accepted.
///
/// Must be thread-safe: one configuration serves many connections at once.
pub trait ServerCertVerifier: Send + Sync + Debug {
    /// The final verdict on the server's `chain` (`chain[0]` its certificate, then the
    /// intermediates it sent) for `server_name` (the name the client asked for), given the
    /// built-in verdict `builtin`. Return `builtin.clone()` to keep it, `Ok(())` to accept,
    /// or an error to refuse (a [`Error::Certificate`] sends the matching alert, e.g.
    /// bad_certificate for [`crate::error::CertErrorKind::Other`]).
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: &str,
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        let _ = (chain, server_name);
        builtin.clone()
    }
}

/// Server side: decides whether the client's certificate chain is accepted. Consulted only when
/// the server asks for a certificate (verify mode `RequestClientCert` or `RequireClientCert`).
///
/// Must be thread-safe: one configuration serves many connections at once.
pub trait ClientCertVerifier: Send + Sync + Debug {
    /// The final verdict on the client's `chain`, given the built-in verdict `builtin`. The
    /// chain is empty when the client sent no certificate; the built-in verdict then is
    /// `Ok(())` (`RequestClientCert`) or a certificate-required error (`RequireClientCert`).
    /// Accepting an empty chain lets the handshake go on without client authentication;
    /// accepting a non-empty one still requires the client's CertificateVerify.
    fn verify_client_cert(
        &self,
        chain: &[CertificateDer<'_>],
        builtin: &Result<(), Error>,
    ) -> Result<(), Error> {
        let _ = chain;
        builtin.clone()
    }
}

/// The final verdict from `custom`, with the detail saying who decided when it overrides the
/// built-in one. `peer` is "server" or "client".
pub(crate) fn final_verdict(
    builtin: Result<(), Error>,
    peer: &str,
    custom: impl FnOnce(&Result<(), Error>) -> Result<(), Error>,
) -> (Result<(), Error>, Option<String>) {
    let verdict = custom(&builtin);
    match (&builtin, verdict) {
        (Ok(()), Ok(())) => (Ok(()), None),
        (Err(b), Ok(())) => (
            Ok(()),
            Some(format!(
                "the custom certificate verifier accepted the {peer}'s chain, which the built-in \
                 check refused: {b}"
            )),
        ),
        (Err(b), Err(v)) if *b == v => (Err(v), None),
        (_, Err(v)) => {
            let why = if builtin.is_ok() {
                "the built-in check had accepted it"
            } else {
                "the built-in check had refused it too"
            };
            (
                Err(annotate(
                    v,
                    &format!("the custom certificate verifier refused the {peer}'s chain ({why})"),
                )),
                None,
            )
        }
    }
}

/// `e` with `prefix: ` in front of its detail (variants without a free-form detail unchanged).
fn annotate(e: Error, prefix: &str) -> Error {
    e.map_detail(|d| format!("{prefix}: {d}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CertErrorKind;

    #[test]
    fn verdicts() {
        let refused = Err(Error::cert(CertErrorKind::UnknownIssuer, "no path"));
        assert_eq!(
            final_verdict(Ok(()), "server", Clone::clone),
            (Ok(()), None)
        );
        assert_eq!(
            final_verdict(refused.clone(), "server", Clone::clone).0,
            refused
        );
        let (v, note) = final_verdict(refused, "server", |_| Ok(()));
        assert!(v.is_ok() && note.unwrap().contains("no path"));
        let (v, _) = final_verdict(Ok(()), "client", |_| {
            Err(Error::cert(CertErrorKind::Other, "pinned key differs"))
        });
        let e = v.unwrap_err();
        assert!(
            e.detail()
                .contains("custom certificate verifier refused the client's chain")
        );
        assert!(e.detail().contains("pinned key differs"));
    }
}
