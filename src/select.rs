//! Server-side choice seams: which certificate to present ([`CertResolver`]) and which ALPN
//! protocol to speak ([`AlpnSelector`]). Without one configured the server behaves as it always
//! did: the first certificate covering the SNI name (else the first configured), and the first
//! of its own ALPN protocols that the client offered.

use std::fmt::Debug;
use std::sync::Arc;

use crate::certified::CertifiedKey;
use crate::codec::enums::{CipherSuite, ProtocolVersion, SignatureScheme};

/// What a server knows of a ClientHello when it chooses a certificate.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ClientHelloInfo<'a> {
    /// The SNI host name, if the client sent one.
    pub server_name: Option<&'a str>,
    /// The signature schemes the client accepts (signature_algorithms; empty if absent).
    pub signature_schemes: &'a [SignatureScheme],
    /// The cipher suites the client offered, in its order.
    pub cipher_suites: &'a [CipherSuite],
    /// The ALPN protocols the client offered, in its order (empty if none).
    pub alpn: &'a [Vec<u8>],
    /// The protocol version this handshake negotiated (TLSv1.2 or TLSv1.3).
    pub version: ProtocolVersion,
    /// The ClientHello message as it arrived (handshake header included), for a resolver
    /// that must read what the fields above leave out (an OpenSSL client-hello callback
    /// reading extensions).
    pub raw: &'a [u8],
}

/// A server's client authentication for one handshake (see [`CertResolver::client_auth`]); the
/// same choices as the server verify modes of the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// Ask for no certificate.
    None,
    /// Ask for a certificate; go on without one.
    Request,
    /// Ask for a certificate; refuse the handshake without one.
    Require,
}

/// Chooses the server's certificate for a handshake. Must be thread-safe.
///
/// Called once per ClientHello (a TLS 1.3 handshake with a HelloRetryRequest asks again for
/// the second ClientHello). The engine then picks a signature scheme the key can make and the
/// client accepts (no_shared_signature_scheme otherwise), and in TLS 1.2 a suite matching the
/// key type.
pub trait CertResolver: Send + Sync + Debug {
    /// The certified key to present, or `None` to refuse the handshake (handshake_failure).
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>>;

    /// How to authenticate the client in this handshake, decided with the certificate (one
    /// virtual host asks for client certificates where another does not), or `None` for the
    /// configured verify mode. Called right after [`Self::resolve`] chose a certificate.
    fn client_auth(&self, hello: &ClientHelloInfo<'_>) -> Option<ClientAuth> {
        let _ = hello;
        None
    }

    /// The CA names (DER distinguished names) this handshake's CertificateRequest lists, or
    /// `None` for the configured ones (see `ConfigBuilder::set_client_ca_names`). Called
    /// right after [`Self::resolve`].
    fn client_ca_names(&self, hello: &ClientHelloInfo<'_>) -> Option<Vec<Vec<u8>>> {
        let _ = hello;
        None
    }
}

/// The built-in resolver: the first certificate that covers the SNI name, else the first.
#[derive(Debug, Default)]
pub struct ResolveBySni {
    certs: Vec<Arc<CertifiedKey>>,
}

impl ResolveBySni {
    /// A resolver over `certs`, in preference order.
    pub fn new(certs: Vec<Arc<CertifiedKey>>) -> Self {
        Self { certs }
    }
}

impl CertResolver for ResolveBySni {
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        by_sni(&self.certs, hello.server_name).cloned()
    }
}

/// The first of `certs` covering `sni`, else the first.
pub(crate) fn by_sni<'c>(
    certs: &'c [Arc<CertifiedKey>],
    sni: Option<&str>,
) -> Option<&'c Arc<CertifiedKey>> {
    sni.and_then(|n| certs.iter().find(|c| c.covers(n)))
        .or_else(|| certs.first())
}

/// An [`AlpnSelector`]'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlpnChoice {
    /// Speak this protocol; it must be one the client offered.
    Select(Vec<u8>),
    /// Go on without ALPN (no extension in the ServerHello).
    None,
    /// Refuse the handshake with a no_application_protocol alert.
    Refuse,
}

/// Chooses the ALPN protocol from the client's offers (RFC 7301 §3.2). Called only when the
/// client offered ALPN. Must be thread-safe. Any `Fn(&[Vec<u8>]) -> AlpnChoice + Send + Sync`
/// is one.
pub trait AlpnSelector: Send + Sync {
    /// Choose from `offered` (the client's protocols, in its order).
    fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice;
}

impl<F: Fn(&[Vec<u8>]) -> AlpnChoice + Send + Sync> AlpnSelector for F {
    fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice {
        self(offered)
    }
}
