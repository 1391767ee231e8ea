//! Step One (ClientHello) and Step Two (ServerHello / HelloRetryRequest): where the version,
//! the cipher suite and the key-exchange group are settled.

use pki_types::ServerName;

use crate::codec::enums::{
    CipherSuite, Compression, ECPointFormat, HandshakeType, NamedGroup, ProtocolVersion,
    PskKeyExchangeMode,
};
use crate::codec::extensions::{ClientExtension, KeyShareEntry, OfferedPsks, PskIdentity};
use crate::codec::handshake::{
    ClientHelloPayload, HandshakeMessage, HandshakePayload, HelloRetryRequestPayload,
    ServerHelloPayload,
};
use crate::config::VerifyMode;
use crate::context::{Common, HandshakeKind, Incoming, Step, TraceKind};
use crate::crypto::hash::{Transcript, TranscriptBuffer};
use crate::crypto::kx::ActiveKeyExchange;
use crate::crypto::{rand, suites};
use crate::error::{Error, Reason};
use crate::session::{ClientSession, ClientSession13};
use crate::tls13::key_schedule::EarlySecret;

use super::ClientState;
use super::{tls12, tls13};
use crate::tls12::{DOWNGRADE_TLS11, DOWNGRADE_TLS12};

/// The transcript before and after the suite (and so the hash) is known. The state is
/// boxed already, so the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Hashing {
    Buffered(TranscriptBuffer),
    Hashed(Transcript),
}

/// Waiting for Step Two.
pub(crate) struct ExpectServerHello {
    server_name: Option<ServerName<'static>>,
    hello: ClientHelloPayload,
    /// Our TLS 1.3 key shares; none when only TLS 1.2 is offered (its key is made later).
    kx: Shares,
    transcript: Hashing,
    offered_suites: Vec<CipherSuite>,
    /// The versions we offered, newest first.
    versions: Vec<ProtocolVersion>,
    /// Set after a HelloRetryRequest: the suite it chose, which ServerHello must repeat.
    retried_suite: Option<CipherSuite>,
    sent_ccs: bool,
    /// The TLS 1.3 ticket offered in pre_shared_key, with the Early Secret made from its PSK
    /// for the binder (kept: the key schedule starts from it if the server accepts).
    resume13: Option<(ClientSession13, EarlySecret)>,
    /// The TLS 1.2 session offered (by session id or ticket), and whether we sent the
    /// session_ticket extension.
    resume12: tls12::Offer,
}

/// Put the PSK binder into the ClientHello's pre_shared_key extension (which ends it);
/// returns the ClientHello's encoding, the Early Secret of the ticket's PSK, and `prior` (the
/// messages before this ClientHello, if any) with the ClientHello added under the ticket's
/// hash: the binder is over its first part, so it is hashed once for both.
fn bind_psk(
    hello: &mut ClientHelloPayload,
    t: &ClientSession13,
    prior: Option<Transcript>,
) -> Result<(Vec<u8>, EarlySecret, Transcript), Error> {
    let alg = suites::lookup(t.suite)
        .ok_or_else(|| Error::Internal("a ticket for an unknown suite".into()))?
        .hash;
    let early = EarlySecret::new(alg, Some(t.psk.as_bytes()));
    let mut enc = HandshakeMessage::client_hello_encoding(hello);
    let Some(ClientExtension::PreSharedKey(psks)) = hello.extensions.last_mut() else {
        return Err(Error::Internal(
            "pre_shared_key is not the last extension".into(),
        ));
    };
    let cut = enc.len() - psks.binders_encoded_len();
    let mut transcript = prior.unwrap_or_else(|| Transcript::new(alg));
    transcript.add(&enc[..cut]);
    let binder = crate::tls13::handshake::psk_binder(&early, &transcript);
    psks.binders = vec![binder.as_ref().to_vec()];
    // The encoding ends with the binders list: a 2-byte list length, the binder's 1-byte
    // length, then the placeholder of the same size; write the binder over it.
    let slot = &mut enc[cut..];
    if slot.len() != 3 + binder.as_ref().len() {
        return Err(Error::Internal(
            "the binder placeholder has the wrong size".into(),
        ));
    }
    slot[3..].copy_from_slice(binder.as_ref());
    transcript.add(&enc[cut..]);
    Ok((enc, early, transcript))
}

/// The pre_shared_key extension for a ticket, with a placeholder binder.
fn psk_extension(t: &ClientSession13, now_ms: u64) -> ClientExtension {
    let hash_len = suites::lookup(t.suite).map_or(32, |s| s.hash.output_len());
    let age = now_ms.saturating_sub(t.created_ms) as u32;
    ClientExtension::PreSharedKey(OfferedPsks {
        identities: vec![PskIdentity {
            identity: t.ticket.clone(),
            obfuscated_ticket_age: age.wrapping_add(t.age_add),
        }],
        binders: vec![vec![0; hash_len]],
    })
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The TLS 1.3 key shares we sent: one by default, up to the configured key share count in
/// the first ClientHello, exactly one after a HelloRetryRequest that names a group. The
/// first is held apart so that the usual single share needs no list.
#[derive(Default)]
struct Shares {
    first: Option<Box<dyn ActiveKeyExchange>>,
    more: Vec<Box<dyn ActiveKeyExchange>>,
}

impl Shares {
    fn push(&mut self, kx: Box<dyn ActiveKeyExchange>) {
        if self.first.is_none() {
            self.first = Some(kx);
        } else {
            self.more.push(kx);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &dyn ActiveKeyExchange> {
        self.first.iter().chain(self.more.iter()).map(|k| &**k)
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn contains(&self, group: NamedGroup) -> bool {
        self.iter().any(|k| k.group() == group)
    }

    fn groups(&self) -> Vec<NamedGroup> {
        self.iter().map(|k| k.group()).collect()
    }

    /// The key_share entries, in the order the keys were made (our preference order).
    fn entries(&self) -> Result<Vec<KeyShareEntry>, Error> {
        if self.is_empty() {
            return Err(Error::Internal("TLS 1.3 without our key share".into()));
        }
        Ok(self
            .iter()
            .map(|k| KeyShareEntry {
                group: k.group(),
                payload: k.share().to_vec(),
            })
            .collect())
    }

    /// The key for `group`, taken out (the others are dropped with the state).
    fn take(&mut self, group: NamedGroup) -> Option<Box<dyn ActiveKeyExchange>> {
        if self.first.as_ref().is_some_and(|k| k.group() == group) {
            return self.first.take();
        }
        let i = self.more.iter().position(|k| k.group() == group)?;
        Some(self.more.swap_remove(i))
    }
}

impl ExpectServerHello {
    pub(crate) const STEP: Step = Step::ServerHello;

    /// Step One: build and send the ClientHello.
    pub(crate) fn start(
        cx: &mut Common,
        server_name: Option<&str>,
        session: Option<ClientSession>,
    ) -> Result<Self, Error> {
        let config = cx.config.clone();
        cx.resume_name = server_name.map(str::to_owned);
        let server_name = match server_name {
            Some(n) => Some(
                ServerName::try_from(n)
                    .map_err(|_| {
                        Error::Usage(format!(
                            "'{n}' is neither a valid DNS name nor an IP address"
                        ))
                    })?
                    .to_owned(),
            ),
            None if cx.verify_mode() == VerifyMode::VerifyServer => {
                return Err(Error::Usage(
                    "a server name is needed to verify the server's certificate".into(),
                ));
            }
            None => None,
        };
        let sni = match &server_name {
            Some(ServerName::DnsName(d)) => Some(d.as_ref().to_string()),
            _ => None,
        };

        // What to offer: every enabled version, newest first (RFC 8446 §4.2.1). A client
        // without TLS 1.3 sends no supported_versions and says TLSv1.2 in legacy_version.
        // Handshake Again (a TLS 1.2 renegotiation) stays in TLS 1.2 (RFC 8446 has none).
        let renegotiating = cx.renegotiating.is_some();
        let offer13 = config.allows(ProtocolVersion::TLSv1_3) && !renegotiating;
        let offer12 = config.allows(ProtocolVersion::TLSv1_2);
        let mut versions = Vec::new();
        if offer13 {
            versions.push(ProtocolVersion::TLSv1_3);
        }
        if offer12 {
            versions.push(ProtocolVersion::TLSv1_2);
        }
        let offered_suites: Vec<CipherSuite> = versions
            .iter()
            .flat_map(|v| config.suites_for(*v).map(|s| s.suite))
            .collect();
        if config.kx_groups.is_empty() {
            return Err(Error::Config("no key-exchange group configured".into()));
        }
        // Key shares for the first groups in our preference order (RFC 8446 §4.2.8), and a
        // classic one beside a post-quantum first choice (see `set_key_share_count`).
        let mut kx = Shares::default();
        if offer13 {
            for group in &config.key_share_groups {
                kx.push(group.start()?);
            }
            // One string, built only for a trace (a client's first lines are kept until a
            // sink is installed).
            cx.trace(TraceKind::State, || {
                use std::fmt::Write as _;
                let mut line = String::from("key shares offered:");
                for (i, k) in kx.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    let _ = write!(line, "{sep}{} ({} bytes)", k.group(), k.share().len());
                }
                line
            });
        }

        // The random and a legacy session id from one draw (one system call, not two). A
        // non-empty session id puts the peer in middlebox-compatibility mode (RFC 8446
        // Appendix D.4); a TLS 1.2 server just does not find it and starts afresh.
        let fresh: [u8; 64] = rand::random_array()?;
        let mut random = [0u8; 32];
        random.copy_from_slice(&fresh[..32]);
        let mut session_id = if renegotiating {
            Vec::new()
        } else {
            fresh[32..].to_vec()
        };

        // A session to resume: the one given, else one from the cache for this name.
        let now = config.now_ms();
        let resume_name = cx.resume_name.as_deref();
        let session = session.filter(|_| !renegotiating).or_else(|| {
            if renegotiating {
                return None; // a full handshake: a new session, checked certificate
            }
            let (cache, name) = (config.client_cache.as_ref()?, resume_name?);
            cache.take(name, now)
        });
        let usable = |suite: CipherSuite, v: ProtocolVersion| {
            config.allows(v) && config.suites_for(v).any(|s| s.suite == suite)
        };
        let mut resume13 = None;
        let mut resume12 = tls12::Offer::default();
        match session {
            Some(s) if s.expired(now) => {
                cx.trace(TraceKind::State, || {
                    "resumption: the session has expired; full handshake".into()
                });
            }
            Some(ClientSession::Tls13(t)) if usable(t.suite, ProtocolVersion::TLSv1_3) => {
                resume13 = Some(t);
            }
            Some(ClientSession::Tls12(t)) if usable(t.suite, ProtocolVersion::TLSv1_2) => {
                // RFC 5077 §3.4: with a ticket, a fresh session id detects the resumption.
                if t.ticket.is_empty() {
                    session_id = t.session_id.clone();
                }
                resume12.session = Some(t);
            }
            Some(_) => {
                cx.trace(TraceKind::State, || {
                    "resumption: the session's version or suite is not enabled; full handshake"
                        .into()
                });
            }
            None => {}
        }
        let mut extensions = Vec::with_capacity(12);
        if let Some(name) = &sni {
            extensions.push(ClientExtension::ServerName(name.clone()));
        }
        if offer13 {
            extensions.push(ClientExtension::SupportedVersions(versions.clone()));
        }
        // A client offering only TLS 1.2 lists only the groups ECDHE can use (no KEM).
        extensions.push(ClientExtension::SupportedGroups(if offer13 {
            config.groups.clone()
        } else {
            config.groups12.clone()
        }));
        // TLS 1.2 may sign with PKCS#1 v1.5; a TLS 1.3 CertificateVerify still may not
        // (checked against the TLS 1.3 list there).
        extensions.push(ClientExtension::SignatureAlgorithms(
            config.verify_schemes(!offer12),
        ));
        if offer12 {
            extensions.push(ClientExtension::EcPointFormats(vec![
                ECPointFormat::Uncompressed,
            ]));
            extensions.push(ClientExtension::ExtendedMasterSecret);
            // RFC 5746 §3.4: an empty renegotiation_info on every initial handshake; §3.5:
            // our last Finished's verify_data on a renegotiation.
            extensions.push(ClientExtension::RenegotiationInfo(
                cx.renegotiating
                    .as_ref()
                    .map(|r| r.client_verify.to_vec())
                    .unwrap_or_default(),
            ));
            // RFC 5077: our ticket, or an empty one to ask for a ticket. Asked for even
            // without a session cache: the application may keep the session itself
            // (`session()`), and a ticket resumes without the server's session cache.
            let ticket = resume12
                .session
                .as_ref()
                .map(|s| s.ticket.clone())
                .unwrap_or_default();
            extensions.push(ClientExtension::SessionTicket(ticket));
            resume12.ticket_ext = true;
        }
        if offer13 {
            extensions.push(ClientExtension::KeyShare(kx.entries()?));
            extensions.push(ClientExtension::PskKeyExchangeModes(vec![
                PskKeyExchangeMode::PSK_DHE_KE,
            ]));
        }
        if !cx.alpn().is_empty() {
            extensions.push(ClientExtension::Alpn(cx.alpn().to_vec()));
        }
        if offer13 && config.post_handshake_auth {
            extensions.push(ClientExtension::PostHandshakeAuth);
        }
        // RFC 8446 §4.2.11: pre_shared_key comes last; its binder covers all before it.
        if let Some(t) = &resume13 {
            extensions.push(psk_extension(t, now));
        }
        let mut hello = ClientHelloPayload {
            legacy_version: ProtocolVersion::TLSv1_2,
            random,
            session_id,
            cipher_suites: offered_suites.clone(),
            compression_methods: vec![Compression::Null],
            extensions,
        };
        let mut offered13 = None;
        let mut hashed = None;
        let enc = if let Some(t) = resume13 {
            let (enc, early, with_hello) = bind_psk(&mut hello, &t, None)?;
            offered13 = Some((t, early));
            hashed = Some(with_hello);
            cx.trace(TraceKind::State, || {
                "resumption: offering a TLS 1.3 session ticket (pre_shared_key, psk_dhe_ke)".into()
            });
            enc
        } else if let Some(s) = &resume12.session {
            let how = if s.ticket.is_empty() {
                "session id"
            } else {
                "session ticket"
            };
            cx.trace(TraceKind::State, || {
                format!("resumption: offering a TLS 1.2 {how}")
            });
            HandshakeMessage::client_hello_encoding(&hello)
        } else {
            HandshakeMessage::client_hello_encoding(&hello)
        };
        cx.client_random = random;
        cx.neg.sni = sni;
        cx.record.plaintext_version = 0x0301;
        let enc = cx.send_hs_encoded(HandshakeType::ClientHello, "ClientHello", enc)?;
        cx.record.plaintext_version = 0x0303;
        let mut buf = TranscriptBuffer::new();
        match hashed {
            // Already hashed under the ticket's hash for its binder: kept running, so a
            // server that accepts the ticket (same hash) costs no second pass over it.
            Some(t) => buf.add_hashed(&enc, t),
            None => buf.add(&enc),
        }
        Ok(Self {
            server_name,
            hello,
            kx,
            transcript: Hashing::Buffered(buf),
            offered_suites,
            versions,
            retried_suite: None,
            sent_ccs: false,
            resume13: offered13,
            resume12,
        })
    }

    /// Step Two: a ServerHello, or a HelloRetryRequest (which has the ServerHello's type).
    pub(crate) fn handle(
        self: Box<Self>,
        cx: &mut Common,
        m: Incoming<'_>,
    ) -> Result<ClientState, Error> {
        let Incoming::Handshake { msg, raw } = m else {
            return Err(Error::unexpected(Self::STEP, "a change_cipher_spec record"));
        };
        match msg.payload {
            HandshakePayload::ServerHello(sh) => self.server_hello(cx, sh, raw),
            HandshakePayload::HelloRetryRequest(hrr) => self.hello_retry(cx, hrr, raw),
            _ => Err(Error::unexpected(Self::STEP, msg.name())),
        }
    }

    fn check_suite(
        &self,
        suite: CipherSuite,
        version: ProtocolVersion,
    ) -> Result<&'static suites::SuiteInfo, Error> {
        match suites::lookup(suite) {
            Some(info) if self.offered_suites.contains(&suite) && info.version == version => {
                Ok(info)
            }
            Some(info) if self.offered_suites.contains(&suite) => Err(Error::peer(
                Reason::UnofferedCipherSuite,
                format!(
                    "the server chose cipher suite {suite}, a {} suite, for a {version} handshake",
                    info.version
                ),
            )),
            _ => Err(Error::peer(
                Reason::UnofferedCipherSuite,
                format!(
                    "the server chose cipher suite {suite}, which we did not offer (we offered {})",
                    list(&self.offered_suites)
                ),
            )),
        }
    }

    fn check_version(
        &self,
        selected: Option<ProtocolVersion>,
        legacy: ProtocolVersion,
    ) -> Result<(), Error> {
        let offered = list(&self.versions);
        match selected {
            Some(ProtocolVersion::TLSv1_3) if self.versions.contains(&ProtocolVersion::TLSv1_3) => {
                Ok(())
            }
            // RFC 8446 §4.2.1: supported_versions selects TLS 1.3 or nothing.
            Some(v) => Err(Error::peer(
                Reason::UnofferedVersion,
                format!(
                    "the server selected {v} in supported_versions, which we did not offer there (we offered {offered})"
                ),
            )),
            None => Err(Error::NoSharedVersion(format!(
                "the server chose {legacy} (no supported_versions extension), but we offered only {offered}"
            ))),
        }
    }

    /// Step Two, repeated: the server wants a key share for another group (RFC 8446 §4.1.4).
    fn hello_retry(
        mut self: Box<Self>,
        cx: &mut Common,
        hrr: HelloRetryRequestPayload,
        raw: &[u8],
    ) -> Result<ClientState, Error> {
        if self.retried_suite.is_some() {
            return Err(Error::unexpected_because(
                Reason::BadHelloRetryRequest,
                Self::STEP,
                "a second HelloRetryRequest",
            ));
        }
        self.check_version(hrr.supported_versions(), hrr.legacy_version)?;
        let suite = self.check_suite(hrr.cipher_suite, ProtocolVersion::TLSv1_3)?;
        if hrr.session_id != self.hello.session_id {
            return Err(Error::peer(
                Reason::SessionIdMismatch,
                "the HelloRetryRequest does not echo our session id",
            ));
        }
        let group = hrr.selected_group();
        if let Some(g) = group {
            if !cx.config.groups.contains(&g) {
                return Err(Error::peer(
                    Reason::UnofferedGroup,
                    format!(
                        "the server asked for a key share in {g}, which we did not offer (we offered {})",
                        list(&cx.config.groups)
                    ),
                ));
            }
            if self.kx.contains(g) {
                return Err(Error::peer(
                    Reason::BadHelloRetryRequest,
                    format!("the server asked for a key share in {g}, but we already sent one"),
                ));
            }
        }
        let cookie = hrr.cookie().map(<[u8]>::to_vec);
        if group.is_none() && cookie.is_none() {
            return Err(Error::peer(
                Reason::BadHelloRetryRequest,
                "the HelloRetryRequest would not change the ClientHello (no key_share, no cookie)",
            ));
        }
        cx.trace(TraceKind::Negotiated, || {
            format!(
                "HelloRetryRequest: the server wants a {} key share",
                group.map(|g| g.to_string()).unwrap_or("new".into())
            )
        });

        // RFC 8446 §4.4.1: the transcript restarts from a hash of the first ClientHello.
        let mut transcript = match self.transcript {
            Hashing::Buffered(b) => b.start_hash(suite.hash),
            Hashing::Hashed(t) => t,
        };
        transcript.rollup_for_hello_retry();
        transcript.add(raw);

        // RFC 8446 §4.1.2: a single share for the group asked for replaces our shares; a
        // HelloRetryRequest without key_share leaves them as they were.
        if let Some(g) = group {
            let mut one = Shares::default();
            one.push(cx.config.kx_group(g)?.start()?);
            self.kx = one;
        }
        // Everything else stays as it was, in the same order (RFC 8446 §4.1.2: only these
        // may change; strict servers compare the two hellos extension by extension): the new
        // key_share takes the old one's place, the cookie follows it, pre_shared_key stays
        // last (it is re-added below).
        let shares = self.kx.entries()?;
        self.hello.extensions.retain(|e| {
            !matches!(
                e,
                ClientExtension::Cookie(_) | ClientExtension::PreSharedKey(_)
            )
        });
        let at = match self
            .hello
            .extensions
            .iter()
            .position(|e| matches!(e, ClientExtension::KeyShare(_)))
        {
            Some(i) => {
                self.hello.extensions[i] = ClientExtension::KeyShare(shares);
                i + 1
            }
            None => {
                self.hello
                    .extensions
                    .push(ClientExtension::KeyShare(shares));
                self.hello.extensions.len()
            }
        };
        if let Some(c) = cookie {
            self.hello.extensions.insert(at, ClientExtension::Cookie(c));
        }
        // A ticket stays on offer only if its hash matches the suite the server chose.
        if self
            .resume13
            .as_ref()
            .is_some_and(|(t, _)| suites::lookup(t.suite).map(|s| s.hash) != Some(suite.hash))
        {
            self.resume13 = None;
        }
        let (enc, transcript) = if let Some((t, early)) = &mut self.resume13 {
            let now = cx.config.now_ms();
            self.hello.extensions.push(psk_extension(t, now));
            let (enc, fresh, with_hello) = bind_psk(&mut self.hello, t, Some(transcript))?;
            *early = fresh;
            (enc, with_hello)
        } else {
            let enc = HandshakeMessage::client_hello_encoding(&self.hello);
            transcript.add(&enc);
            (enc, transcript)
        };
        cx.send_middlebox_ccs()?;
        self.sent_ccs = true;
        cx.send_hs_encoded(HandshakeType::ClientHello, "ClientHello", enc)?;
        self.transcript = Hashing::Hashed(transcript);
        self.retried_suite = Some(suite.suite);
        cx.neg.kind = Some(HandshakeKind::FullWithHelloRetry);
        Ok(ClientState::ExpectServerHello(self))
    }

    /// Step Two: the server's choices, and the switch to handshake keys.
    fn server_hello(
        mut self: Box<Self>,
        cx: &mut Common,
        sh: ServerHelloPayload,
        raw: &[u8],
    ) -> Result<ClientState, Error> {
        // 1. Version: TLS 1.3 is chosen only through supported_versions (RFC 8446 §4.2.1);
        //    without it, legacy_version is the server's choice.
        if sh.supported_versions().is_none() {
            return self.legacy_server_hello(cx, sh, raw);
        }
        self.check_version(sh.supported_versions(), sh.legacy_version)?;
        // 2. The server must echo our session id and pick a suite we offered.
        if sh.session_id != self.hello.session_id {
            return Err(Error::peer(
                Reason::SessionIdMismatch,
                "the ServerHello does not echo our legacy_session_id",
            ));
        }
        let suite = self.check_suite(sh.cipher_suite, ProtocolVersion::TLSv1_3)?;
        if let Some(s) = self.retried_suite
            && s != suite.suite
        {
            return Err(Error::peer(
                Reason::HelloRetryMismatch,
                format!(
                    "the ServerHello chose {}, but the HelloRetryRequest chose {s}",
                    suite.suite
                ),
            ));
        }
        if sh.compression_method != Compression::Null {
            return Err(Error::peer(
                Reason::BadCompression,
                format!(
                    "the server chose compression {}; TLS 1.3 allows none",
                    sh.compression_method
                ),
            ));
        }
        // 3. Only key_share, supported_versions and pre_shared_key belong in a TLS 1.3
        //    ServerHello (RFC 8446 §4.2).
        for ext in &sh.extensions {
            use crate::codec::extensions::ServerExtension as S;
            if !matches!(
                ext,
                S::KeyShare(_) | S::SupportedVersions(_) | S::PreSharedKey(_)
            ) {
                return Err(Error::peer(
                    Reason::UnsolicitedExtension,
                    format!(
                        "the ServerHello carries {}, which we did not offer or which does not belong there",
                        crate::codec::extensions::HasExtType::ext_type(ext)
                    ),
                ));
            }
        }
        // 4. The key share must be in a group we sent one for (RFC 8446 §4.2.8); the
        //    secret is its agreement (DH) or decapsulation (KEM).
        let share = sh.key_share().ok_or_else(|| {
            Error::peer(Reason::MissingExtension, "the ServerHello has no key_share")
        })?;
        if self.kx.is_empty() {
            return Err(Error::Internal("TLS 1.3 without our key share".into()));
        }
        let group: NamedGroup = share.group;
        let Some(kx) = self.kx.take(group) else {
            let ours = self.kx.groups();
            return Err(Error::peer(
                Reason::UnofferedGroup,
                if ours.len() == 1 {
                    format!(
                        "the server's key share is for {group}, but we sent one for {}",
                        ours[0]
                    )
                } else {
                    format!(
                        "the server's key share is for {group}, but we sent shares for {}",
                        list(&ours)
                    )
                },
            ));
        };
        let sizes = (kx.share().len(), share.payload.len());
        let shared = kx.complete(&share.payload)?;
        // 5. A PSK the server accepted must be the one we offered, with the suite's hash
        //    (RFC 8446 §4.2.11).
        let resumed = match (sh.psk_index(), self.resume13) {
            (None, _) => None,
            (Some(0), Some((t, early)))
                if suites::lookup(t.suite).map(|s| s.hash) == Some(suite.hash) =>
            {
                Some((t, early))
            }
            (Some(0), Some((t, _))) => {
                return Err(Error::peer(
                    Reason::BadPreSharedKey,
                    format!(
                        "the server accepted our ticket (a {} session) with {}, whose hash differs",
                        t.suite, suite.suite
                    ),
                ));
            }
            (Some(i), _) => {
                return Err(Error::peer(
                    Reason::BadPreSharedKey,
                    format!("the server selected PSK identity {i}, which we did not offer"),
                ));
            }
        };

        cx.neg.version = Some(ProtocolVersion::TLSv1_3);
        cx.neg.suite = Some(suite);
        cx.neg.group = Some(group);
        cx.trace(TraceKind::Negotiated, || {
            format!(
                "negotiated: TLSv1.3, {}, key exchange {group} (our share {} bytes, the server's {})",
                suite.suite, sizes.0, sizes.1
            )
        });

        let mut transcript = match self.transcript {
            Hashing::Buffered(b) => b.start_hash(suite.hash),
            Hashing::Hashed(t) => t,
        };
        transcript.add(raw);
        if !self.sent_ccs {
            cx.send_middlebox_ccs()?;
        }
        let (resumed, early) = match resumed {
            Some((t, early)) => (Some(t), early),
            None => (None, EarlySecret::new(suite.hash, None)),
        };
        let keys = crate::tls13::handshake::start_handshake_keys(
            cx,
            suite,
            early,
            shared.as_bytes(),
            &transcript,
        )?;
        Ok(ClientState::Tls13(
            tls13::State::expect_encrypted_extensions(
                suite,
                keys,
                transcript,
                self.server_name,
                resumed,
            ),
        ))
    }

    /// Step Two without supported_versions: the server chose TLS 1.2 or older.
    fn legacy_server_hello(
        self: Box<Self>,
        cx: &mut Common,
        sh: ServerHelloPayload,
        raw: &[u8],
    ) -> Result<ClientState, Error> {
        let offered13 = self.versions.contains(&ProtocolVersion::TLSv1_3);
        // 1. RFC 8446 §4.1.3: a TLS 1.3 server that negotiates less marks its random. Seeing
        //    the mark means someone removed TLS 1.3 from our ClientHello in transit.
        let tail: [u8; 8] = sh.random[24..].try_into().unwrap_or_default();
        if offered13 && (tail == DOWNGRADE_TLS12 || tail == DOWNGRADE_TLS11) {
            return Err(Error::peer(
                Reason::DowngradeSentinel,
                format!(
                    "downgrade detected: the server chose {} but its random ends in the RFC 8446 §4.1.3 \
                 sentinel (DOWNGRD), so it supports TLS 1.3; an attacker may have removed TLS 1.3 \
                 from our ClientHello",
                    sh.legacy_version
                ),
            ));
        }
        // 2. Only TLS 1.2 is acceptable here (RFC 8996 retired 1.0 and 1.1).
        match sh.legacy_version {
            ProtocolVersion::TLSv1_2 if self.versions.contains(&ProtocolVersion::TLSv1_2) => {}
            ProtocolVersion::TLSv1_2 => {
                return Err(Error::NoSharedVersion(format!(
                    "the server chose TLSv1.2, but we offered only {} (enable TLSv1.2 to talk to this server)",
                    list(&self.versions)
                )));
            }
            ProtocolVersion::TLSv1_3 => {
                return Err(Error::peer(
                    Reason::UnofferedVersion,
                    "the server chose TLSv1.3 in legacy_version; TLS 1.3 is negotiated only through supported_versions (RFC 8446 §4.2.1)",
                ));
            }
            v => {
                return Err(Error::NoSharedVersion(format!(
                    "the server chose {v}; ferrotls supports TLSv1.2 and TLSv1.3 (SSLv3, TLSv1.0 and \
                     TLSv1.1 are insecure and refused, RFC 8996): upgrade the server"
                )));
            }
        }
        if self.retried_suite.is_some() {
            return Err(Error::peer(
                Reason::HelloRetryMismatch,
                "the server sent a HelloRetryRequest (TLS 1.3), then a TLS 1.2 ServerHello",
            ));
        }
        // 3. A suite we offered for TLS 1.2.
        let suite = self.check_suite(sh.cipher_suite, ProtocolVersion::TLSv1_2)?;
        let Hashing::Buffered(transcript) = self.transcript else {
            return Err(Error::Internal(
                "a hashed transcript before a TLS 1.2 ServerHello".into(),
            ));
        };
        let state = tls12::State::server_hello(
            cx,
            suite,
            &sh,
            raw,
            transcript,
            self.server_name,
            tls12::Offer {
                session_id: self.hello.session_id.clone(),
                ..self.resume12
            },
        )?;
        Ok(ClientState::Tls12(state))
    }
}
