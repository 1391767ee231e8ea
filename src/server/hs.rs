//! Step One seen from the server: read the ClientHello, choose version, cipher suite, group,
//! certificate, signature scheme and ALPN protocol — or ask for another key share.

use crate::codec::enums::{
    CipherSuite, Compression, ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme,
};
use crate::codec::extensions::{HelloRetryExtension, KeyShareEntry};
use crate::codec::handshake::{ClientHelloPayload, HandshakePayload, HelloRetryRequestPayload};
use crate::context::{Common, HandshakeKind, Incoming, Step, TraceKind};
use crate::crypto::hash::Transcript;
use crate::crypto::suites::SuiteInfo;
use crate::error::{Error, Reason};

use super::ServerState;
use super::{tls12, tls13};

/// State kept across a HelloRetryRequest.
struct Retry {
    transcript: Transcript,
    suite: &'static SuiteInfo,
    group: NamedGroup,
}

/// Waiting for a ClientHello.
#[derive(Default)]
pub(crate) struct ExpectClientHello {
    retry: Option<Retry>,
}

pub(crate) fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "nothing".into();
    }
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the server settled on from the ClientHello.
pub(crate) struct Choices {
    pub(crate) suite: &'static SuiteInfo,
    pub(crate) group: NamedGroup,
    pub(crate) client_share: Vec<u8>,
    pub(crate) cert: std::sync::Arc<crate::config::CertifiedKey>,
    pub(crate) scheme: SignatureScheme,
    pub(crate) alpn: Option<Vec<u8>>,
}

impl ExpectClientHello {
    pub(crate) fn handle(
        self: Box<Self>,
        cx: &mut Common,
        m: Incoming<'_>,
    ) -> Result<ServerState, Error> {
        let Incoming::Handshake { msg, raw } = m else {
            return Err(Error::unexpected(
                Step::ClientHello,
                "a change_cipher_spec record",
            ));
        };
        let HandshakePayload::ClientHello(ch) = msg.payload else {
            return Err(Error::unexpected(Step::ClientHello, msg.name()));
        };
        // 1. Version (RFC 8446 §4.2.1): TLS 1.3 only through supported_versions; TLS 1.2
        //    through either.
        let version = choose_version(cx, &ch)?;
        if version == ProtocolVersion::TLSv1_2 {
            if self.retry.is_some() {
                return Err(Error::peer(
                    Reason::HelloRetryMismatch,
                    "after our HelloRetryRequest the second ClientHello no longer offers TLS 1.3",
                ));
            }
            cx.client_random = ch.random;
            cx.neg.sni = ch.server_name().map(str::to_owned);
            return Ok(ServerState::Tls12(tls12::State::client_hello(
                cx, &ch, raw,
            )?));
        }
        cx.neg.version = Some(ProtocolVersion::TLSv1_3);
        // 0-RTT (RFC 8446 §4.2.10): we accept none, so the client's early-data records are
        // skipped; a second ClientHello (after our HelloRetryRequest) may not offer any.
        cx.early_data_skip = if self.retry.is_none() && ch.find(ExtensionType::EarlyData).is_some()
        {
            cx.trace(TraceKind::State, || {
                "the client offered early data (0-RTT); not accepted: its records will be skipped"
                    .to_string()
            });
            Some(crate::context::MAX_EARLY_DATA_SKIPPED)
        } else {
            None
        };
        // 2. TLS 1.3 allows only the null compression method (RFC 8446 §4.1.2).
        if ch.compression_methods != [Compression::Null] {
            return Err(Error::peer(
                Reason::BadCompression,
                format!(
                    "a TLS 1.3 ClientHello must offer exactly the null compression method; it offered {}",
                    list(&ch.compression_methods)
                ),
            ));
        }
        if self.retry.is_none() {
            cx.client_random = ch.random;
            cx.neg.sni = ch.server_name().map(str::to_owned);
        }
        let choices = match choose(cx, &ch, raw, self.retry.as_ref())? {
            Ok(c) => c,
            Err((suite, group)) => return self.hello_retry(cx, &ch, raw, suite, group),
        };
        let mut transcript = match self.retry {
            Some(r) => r.transcript,
            None => Transcript::new(choices.suite.hash),
        };
        // The ClientHello goes into the transcript in two parts: up to its binders list,
        // which is what a PSK binder covers (RFC 8446 §4.2.11.2), then the binders.
        let cut = raw.len()
            - ch.psk()
                .map_or(0, |p| p.binders_encoded_len().min(raw.len()));
        transcript.add(&raw[..cut]);
        let psk = tls13::choose_psk(cx, &ch, choices.suite, &transcript)?;
        transcript.add(&raw[cut..]);
        tls13::send_first_flight(cx, &ch, transcript, choices, psk)
    }

    /// Ask for a key share in `group` (RFC 8446 §4.1.4).
    fn hello_retry(
        self: Box<Self>,
        cx: &mut Common,
        ch: &ClientHelloPayload,
        raw: &[u8],
        suite: &'static SuiteInfo,
        group: NamedGroup,
    ) -> Result<ServerState, Error> {
        if self.retry.is_some() {
            return Err(Error::peer(
                Reason::HelloRetryMismatch,
                format!(
                    "the second ClientHello still has no key share for {group}, which our HelloRetryRequest asked for"
                ),
            ));
        }
        let mut transcript = Transcript::new(suite.hash);
        transcript.add(raw);
        transcript.rollup_for_hello_retry();
        let hrr = HelloRetryRequestPayload {
            legacy_version: ProtocolVersion::TLSv1_2,
            session_id: ch.session_id.clone(),
            cipher_suite: suite.suite,
            extensions: vec![
                HelloRetryExtension::SupportedVersions(ProtocolVersion::TLSv1_3),
                HelloRetryExtension::KeyShare(group),
            ],
        };
        cx.trace(TraceKind::Negotiated, || {
            format!("HelloRetryRequest: asking the client for a {group} key share")
        });
        let msg = HandshakePayload::HelloRetryRequest(hrr);
        let enc = cx.send_hs(msg)?;
        transcript.add(enc);
        if !ch.session_id.is_empty() {
            cx.send_middlebox_ccs()?;
        }
        cx.neg.kind = Some(HandshakeKind::FullWithHelloRetry);
        Ok(ServerState::ExpectClientHello(Box::new(Self {
            retry: Some(Retry {
                transcript,
                suite,
                group,
            }),
        })))
    }
}

/// The version to speak (RFC 8446 §4.2.1, RFC 5246 Appendix E.1), or why there is none;
/// also the fallback check of RFC 7507.
fn choose_version(cx: &Common, ch: &ClientHelloPayload) -> Result<ProtocolVersion, Error> {
    // RFC 8446 Appendix D.5: a legacy_version of 0x0300 (SSL 3.0) or less is refused with
    // protocol_version, even when supported_versions offers TLS 1.3.
    if ch.legacy_version.to_int() <= 0x0300 {
        return Err(Error::NoSharedVersion(format!(
            "the ClientHello's legacy_version is 0x{:04x} ({}); a value of 0x0300 (SSL 3.0) or \
             lower is refused whatever supported_versions offers (RFC 8446 Appendix D.5): \
             upgrade the client",
            ch.legacy_version.to_int(),
            ch.legacy_version
        )));
    }
    let offered: Vec<ProtocolVersion> = match ch.supported_versions() {
        Some(v) => v
            .iter()
            .copied()
            .filter(|v| !matches!(v, ProtocolVersion::Unknown(x) if x & 0x0f0f == 0x0a0a))
            .collect(),
        None => vec![ch.legacy_version],
    };
    // Without supported_versions, legacy_version is the client's highest: anything from
    // 0x0303 up includes TLS 1.2.
    let supports = |v: ProtocolVersion| match ch.supported_versions() {
        Some(_) => offered.contains(&v),
        None => v == ProtocolVersion::TLSv1_2 && ch.legacy_version.to_int() >= 0x0303,
    };
    let allow13 = cx.config.allows(ProtocolVersion::TLSv1_3);
    let allow12 = cx.config.allows(ProtocolVersion::TLSv1_2);
    let chosen = if supports(ProtocolVersion::TLSv1_3) && allow13 {
        Some(ProtocolVersion::TLSv1_3)
    } else if supports(ProtocolVersion::TLSv1_2) && allow12 {
        Some(ProtocolVersion::TLSv1_2)
    } else {
        None
    };
    if let Some(v) = chosen {
        // RFC 7507 §3: a client retrying with a lower version says so; if we could have
        // done better, its first attempt was sabotaged.
        if v == ProtocolVersion::TLSv1_2
            && allow13
            && ch.cipher_suites.contains(&CipherSuite::TLS_FALLBACK_SCSV)
        {
            return Err(Error::peer(
                Reason::FallbackScsv,
                format!(
                    "the client signalled a fallback retry (TLS_FALLBACK_SCSV) with {} as its highest \
                 version, but this server supports TLSv1.3: the client's earlier attempt was likely \
                 disrupted by an attacker or a broken middlebox (RFC 7507)",
                    list(&offered)
                ),
            ));
        }
        return Ok(v);
    }
    let ours = match (allow13, allow12) {
        (true, true) => "TLSv1.3 and TLSv1.2",
        (true, false) => "TLSv1.3",
        (false, true) => "TLSv1.2",
        (false, false) => "no version this build can serve",
    };
    let old = offered.iter().all(|v| {
        matches!(
            v,
            ProtocolVersion::SSLv3
                | ProtocolVersion::TLSv1_0
                | ProtocolVersion::TLSv1_1
                | ProtocolVersion::SSLv2
        )
    });
    let hint = if old {
        "; SSLv3, TLSv1.0 and TLSv1.1 are insecure and refused (RFC 8996): upgrade the client"
    } else {
        ""
    };
    Err(Error::NoSharedVersion(format!(
        "the client offered {}; we support {ours}{hint}",
        list(&offered)
    )))
}

/// ALPN (RFC 7301 §3.2): the configured selector's choice, or our preference among the
/// client's ([`super::choose::choose_alpn`]).
pub(crate) fn choose_alpn(cx: &Common, ch: &ClientHelloPayload) -> Result<Option<Vec<u8>>, Error> {
    super::choose::choose_alpn(cx, ch.alpn())
}

/// What a certificate resolver sees of `ch`, negotiating `version`.
pub(crate) fn hello_info<'a>(
    ch: &'a ClientHelloPayload,
    raw: &'a [u8],
    version: ProtocolVersion,
) -> crate::select::ClientHelloInfo<'a> {
    crate::select::ClientHelloInfo {
        server_name: ch.server_name(),
        signature_schemes: ch.signature_schemes().unwrap_or(&[]),
        cipher_suites: &ch.cipher_suites,
        alpn: ch.alpn().unwrap_or(&[]),
        version,
        raw,
    }
}

/// The certificate for `ch` (see `choose::resolve_cert`), with the raw ClientHello kept for
/// the resolver.
pub(crate) fn resolve_for(
    cx: &mut Common,
    ch: &ClientHelloPayload,
    raw: &[u8],
    version: ProtocolVersion,
) -> Result<std::sync::Arc<crate::certified::CertifiedKey>, Error> {
    super::choose::resolve_cert(cx, &hello_info(ch, raw, version))
}

/// Choose everything, or return the suite and group for a HelloRetryRequest.
fn choose(
    cx: &mut Common,
    ch: &ClientHelloPayload,
    raw: &[u8],
    retry: Option<&Retry>,
) -> Result<Result<Choices, (&'static SuiteInfo, NamedGroup)>, Error> {
    let config = cx.config.clone();
    // Cipher suite: ours first (server preference).
    let suite = config
        .suites_for(ProtocolVersion::TLSv1_3)
        .find(|s| ch.cipher_suites.contains(&s.suite))
        .ok_or_else(|| {
            let ours: Vec<CipherSuite> = config
                .suites_for(ProtocolVersion::TLSv1_3)
                .map(|s| s.suite)
                .collect();
            Error::NoSharedCipherSuite(format!(
                "no TLS 1.3 cipher suite in common: the client offered {}; we support {}",
                list(&ch.cipher_suites),
                list(&ours)
            ))
        })?;
    if let Some(r) = retry
        && r.suite.suite != suite.suite
    {
        return Err(Error::peer(
            Reason::HelloRetryMismatch,
            format!(
                "after our HelloRetryRequest chose {}, the second ClientHello led to {}",
                r.suite.suite, suite.suite
            ),
        ));
    }
    // Signature scheme and certificate.
    let schemes = ch.signature_schemes().ok_or_else(|| {
        Error::peer(Reason::MissingExtension,
            "the client sent no signature_algorithms extension, which TLS 1.3 requires (RFC 8446 §4.2.3)",
        )
    })?;
    let cert = resolve_for(cx, ch, raw, ProtocolVersion::TLSv1_3)?;
    let scheme = cert.key.choose_scheme(schemes, true).ok_or_else(|| {
        Error::NoSharedSignatureScheme(format!(
            "our certificate's key ({}) can sign with {}; the client accepts only {}",
            cert.key.kind(),
            list(&cert.key.schemes(true)),
            list(schemes)
        ))
    })?;
    // Group: one the client sent a share for, else ask for one it supports.
    let groups = ch.groups().ok_or_else(|| {
        Error::peer(
            Reason::MissingExtension,
            "the client sent no supported_groups extension, which TLS 1.3 requires",
        )
    })?;
    let shares: &[KeyShareEntry] = ch.key_shares().ok_or_else(|| {
        Error::peer(
            Reason::MissingExtension,
            "the client sent no key_share extension, which TLS 1.3 requires",
        )
    })?;
    let with_share = config
        .groups
        .iter()
        .find_map(|g| shares.iter().find(|s| s.group == *g));
    let choice = match (with_share, retry) {
        (Some(share), Some(r)) if share.group != r.group => {
            return Err(Error::peer(
                Reason::HelloRetryMismatch,
                format!(
                    "we asked for a {} key share, but the second ClientHello sent {}",
                    r.group, share.group
                ),
            ));
        }
        (Some(share), _) => share,
        (None, _) => {
            let Some(g) = config.groups.iter().find(|g| groups.contains(g)) else {
                return Err(Error::NoSharedGroup(format!(
                    "no key-exchange group in common: the client supports {}; we support {}{}",
                    list(groups),
                    list(&config.groups),
                    pq_hint(groups, &config.groups)
                )));
            };
            return Ok(Err((suite, *g)));
        }
    };
    let alpn = choose_alpn(cx, ch)?;
    Ok(Ok(Choices {
        suite,
        group: choice.group,
        client_share: choice.payload.clone(),
        cert,
        scheme,
        alpn,
    }))
}

/// What a group mismatch between post-quantum and classic groups means, for the
/// no-shared-group error ("" when the lists are not split that way).
pub(crate) fn pq_hint(theirs: &[NamedGroup], ours: &[NamedGroup]) -> &'static str {
    use crate::crypto::kx::is_post_quantum;
    let all_pq = |l: &[NamedGroup]| !l.is_empty() && l.iter().all(|g| is_post_quantum(*g));
    let no_pq = |l: &[NamedGroup]| l.iter().all(|g| !is_post_quantum(*g));
    if all_pq(theirs) && no_pq(ours) {
        " (the client offers only post-quantum groups, which this server does not enable: add \
         X25519MLKEM768 to the server's groups, or a classic group to the client's)"
    } else if no_pq(theirs) && all_pq(ours) {
        " (this server requires a post-quantum group and the client offers only classic ones: \
         the client needs X25519MLKEM768, or the server a classic group such as X25519)"
    } else {
        ""
    }
}
