//! The server's choices that read its configuration: which certificate (the configured
//! resolver, else the built-in choice by SNI) and which ALPN protocol (the configured selector,
//! else our preference). Kept here, above both `config` and `select`, so neither names the other.

use std::sync::Arc;

use crate::certified::CertifiedKey;
use crate::context::Common;
use crate::error::{Error, Reason};
use crate::select::{AlpnChoice, ClientHelloInfo, by_sni};

/// The certificate for this handshake: the connection's own (`Connection::set_certificate`),
/// else the configured resolver's choice, else the built-in choice by SNI.
pub(crate) fn resolve_cert(
    cx: &mut Common,
    hello: &ClientHelloInfo<'_>,
) -> Result<Arc<CertifiedKey>, Error> {
    let name = || {
        hello
            .server_name
            .unwrap_or("(none: the client sent no SNI)")
    };
    let resolver = match cx.settings.certs {
        Some(_) => None,
        None => cx.config.hooks.cert_resolver.clone(),
    };
    match resolver {
        Some(r) => {
            let cert = r.resolve(hello).ok_or_else(|| {
                Error::peer(
                    Reason::NoCertificateForName,
                    format!(
                        "the certificate resolver chose no certificate for server name {}",
                        name()
                    ),
                )
            })?;
            // The virtual host's client authentication comes with its certificate.
            use crate::config::VerifyMode as V;
            use crate::select::ClientAuth;
            if let Some(a) = r.client_auth(hello) {
                cx.settings.verify = Some(match a {
                    ClientAuth::None => V::NoClientAuth,
                    ClientAuth::Request => V::RequestClientCert,
                    ClientAuth::Require => V::RequireClientCert,
                });
            }
            if let Some(names) = r.client_ca_names(hello) {
                cx.settings.ca_names = Some(names);
            }
            Ok(cert)
        }
        None => by_sni(cx.certs(), hello.server_name)
            .cloned()
            .ok_or_else(|| Error::Config("no certificate configured".into())),
    }
}

fn show(l: &[Vec<u8>]) -> String {
    l.iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// ALPN (RFC 7301 §3.2): the configured selector's choice, else our preference among the
/// client's; none in common is fatal.
pub(crate) fn choose_alpn(
    cx: &Common,
    offered: Option<&[Vec<u8>]>,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(theirs) = offered else {
        return Ok(None);
    };
    if let Some(selector) = &cx.config.hooks.alpn_selector {
        return match selector.select(theirs) {
            AlpnChoice::Select(p) if theirs.contains(&p) => Ok(Some(p)),
            AlpnChoice::Select(p) => Err(Error::Internal(format!(
                "the ALPN selector chose '{}', which the client did not offer (it offered {})",
                String::from_utf8_lossy(&p),
                show(theirs)
            ))),
            AlpnChoice::None => Ok(None),
            AlpnChoice::Refuse => Err(Error::NoApplicationProtocol(format!(
                "the ALPN selector refused every protocol the client offered ({})",
                show(theirs)
            ))),
        };
    }
    if cx.alpn().is_empty() {
        return Ok(None);
    }
    let Some(p) = cx.alpn().iter().find(|p| theirs.contains(p)) else {
        return Err(Error::NoApplicationProtocol(format!(
            "no ALPN protocol in common: the client offered {}; we support {}",
            show(theirs),
            show(cx.alpn())
        )));
    };
    Ok(Some(p.clone()))
}
