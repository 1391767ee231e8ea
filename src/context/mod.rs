//! The handshake context: what every handshake state may touch, below the states (as
//! rustls keeps `common_state.rs`): the record protection for each direction with its
//! sequence number, the outgoing ciphertext queue, the negotiated parameters, the trace and
//! the message observer.
//! Nothing here names a state, a protocol version's module or the connection above it.

pub mod observe;
mod step;
pub mod trace;

use std::sync::Arc;

use crate::codec::alert::AlertMessage;
use crate::codec::enums::{
    AlertDescription, AlertLevel, ContentType, HandshakeType, NamedGroup, ProtocolVersion,
    SignatureScheme,
};
use crate::codec::handshake::{HandshakeMessage, HandshakePayload};
use crate::config::Config;
use crate::crypto::suites::SuiteInfo;
use crate::error::Error;
use crate::record::cipher::{RecordDecrypter, RecordEncrypter};
use crate::record::layer::RecordLayer;

pub use observe::{MessageFn, WireMessage};
pub use step::Step;
pub use trace::{TraceEvent, TraceFn, TraceKind};
use trace::{record_line, step_name};

/// How the handshake went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeKind {
    /// A full handshake.
    Full,
    /// A full handshake that needed a HelloRetryRequest.
    FullWithHelloRetry,
    /// An abbreviated (resumed) handshake.
    Resumed,
}

/// What the two sides agreed on; frozen once the handshake completes.
#[derive(Default)]
pub(crate) struct Negotiated {
    pub(crate) version: Option<ProtocolVersion>,
    pub(crate) suite: Option<&'static SuiteInfo>,
    pub(crate) group: Option<NamedGroup>,
    pub(crate) sig_scheme: Option<SignatureScheme>,
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) sni: Option<String>,
    pub(crate) peer_certs: crate::session::CertChain,
    pub(crate) kind: Option<HandshakeKind>,
    /// TLS 1.3: the client offered post_handshake_auth (RFC 8446 §4.2.6).
    pub(crate) post_handshake_auth: bool,
    /// TLS 1.2: the peer sent renegotiation_info in the handshake (RFC 5746), so a secure
    /// renegotiation is possible.
    pub(crate) secure_renegotiation: bool,
}

/// Renegotiations a connection does within a minute (TLS 1.2, Handshake Again): each is a
/// full handshake's work, so a peer asking without end is refused (no_renegotiation).
pub const MAX_RENEGOTIATIONS_PER_MINUTE: usize = 10;

/// A TLS 1.2 renegotiation in progress (Handshake Again, RFC 5746): what the new handshake
/// must quote and keep, and the secrets still in use until it completes.
pub(crate) struct Renegotiation {
    /// Our renegotiation_info quotes the client's verify_data; the server's quotes both.
    pub(crate) client_verify: [u8; 12],
    pub(crate) server_verify: [u8; 12],
    /// The connection's secrets until the new ChangeCipherSpec (exporters keep working).
    pub(crate) previous: Box<dyn Established>,
    /// The peer's certificate chain, which the new handshake must not change (the
    /// triple-handshake class of attacks) unless it was empty or the configuration allows
    /// it; the connection reports it until the new handshake completes.
    pub(crate) peer_certs: crate::session::CertChain,
    /// Server: this renegotiation asks for the client's certificate
    /// (`Connection::request_client_certificate`).
    pub(crate) ask_certificate: bool,
    /// Server: the client's chain the new handshake establishes (empty: none), reported
    /// from the point where it completes.
    pub(crate) new_peer_certs: crate::session::CertChain,
}

impl Renegotiation {
    /// Whether `chain`, presented in this renegotiation, may replace the peer's last one:
    /// the same chain, a first one, or any when the configuration allows a change.
    pub(crate) fn check_peer_chain(
        &self,
        config: &Config,
        chain: &[Vec<u8>],
        peer: &str,
    ) -> Result<(), Error> {
        if self.peer_certs.is_empty()
            || *self.peer_certs == *chain
            || config.peer_certificate_change
        {
            return Ok(());
        }
        Err(Error::peer(
            crate::error::Reason::PeerCertificateChanged,
            format!(
                "the {peer} presented another certificate in the renegotiation than in the \
                 handshake before; refused, since the triple-handshake attack changes the peer \
                 this way (set_peer_certificate_change(true) allows it)"
            ),
        ))
    }
}

/// Post-handshake CertificateRequests a client answers on one connection (RFC 8446 §4.6.2):
/// each costs a signature, so a server cannot make us sign without end.
pub const MAX_POST_HANDSHAKE_AUTH: u32 = 16;

/// What a state tells the connection besides its next state.
#[derive(Debug)]
pub(crate) enum Event {
    /// The peer authenticated again after the handshake (Handshake Again): from this point
    /// of the byte stream on, its identity is `chain` (empty: it sent no certificate).
    PeerAuthenticated(crate::session::CertChain),
}

/// Bytes of 0-RTT records a server that does not accept early data skips (RFC 8446
/// §4.2.10 bounds it by the max_early_data_size a ticket allowed; 16 KiB of plaintext in
/// records of at most 2^14 + 256 bytes, with room for record overhead).
pub const MAX_EARLY_DATA_SKIPPED: usize = 16_384 + 4 * 256;

/// An incoming handshake-layer message for a state.
pub(crate) enum Incoming<'a> {
    Handshake {
        msg: HandshakeMessage,
        raw: &'a [u8],
    },
    ChangeCipherSpec,
}

/// The guard a state's `handle` opens with: `$m` must be a handshake message whose payload is
/// `$payload`; a ChangeCipherSpec record or another message is unexpected_message at `$step`.
/// Gives the payload's contents and the message's encoding (for the transcript). A payload
/// without contents is named as a pattern with what to give for it, `Variant => ()`.
macro_rules! require_handshake_msg {
    ($m:expr, $step:expr, $payload:path) => {
        require_handshake_msg!($m, $step, $payload(p) => p)
    };
    ($m:expr, $step:expr, $payload:pat => $out:expr) => {
        match $m {
            $crate::context::Incoming::Handshake {
                msg:
                    $crate::codec::handshake::HandshakeMessage {
                        payload: $payload,
                        ..
                    },
                raw,
            } => Ok(($out, raw)),
            $crate::context::Incoming::Handshake { msg, .. } => {
                Err($crate::error::Error::unexpected($step, msg.typ.to_string()))
            }
            $crate::context::Incoming::ChangeCipherSpec => Err($crate::error::Error::unexpected(
                $step,
                "a change_cipher_spec record",
            )),
        }
    };
}
pub(crate) use require_handshake_msg;

/// What a completed handshake leaves for the application: the secrets of the version that
/// ran, behind the operations an established connection offers. The version's last state
/// (its traffic state) holds it and the connection reaches it through the state, so the
/// connection never names a protocol version and no flag says "done": a state that has one
/// of these is established.
pub(crate) trait Established: Send + std::any::Any {
    /// The value itself, to take it back when a new handshake is abandoned.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;

    /// Keying material for the application (RFC 8446 §7.5, RFC 5705).
    fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error>;

    /// Update our sending keys (TLS 1.3 KeyUpdate, RFC 8446 §4.6.3), asking the peer to
    /// update too if `request_peer`; a version without KeyUpdate says so.
    fn send_key_update(&mut self, cx: &mut Common, request_peer: bool) -> Result<(), Error>;
}

/// Shared connection state the handshake states work on.
pub(crate) struct Common {
    pub(crate) config: Arc<Config>,
    pub(crate) is_client: bool,
    /// Record protection both ways and the outgoing records.
    pub(crate) record: RecordLayer,
    pub(crate) neg: Negotiated,
    pub(crate) trace: Option<TraceFn>,
    /// Events from before a trace sink could be installed (the client's ClientHello is sent
    /// by the constructor); replayed to the first sink.
    pub(crate) early_trace: Option<Vec<(TraceKind, String)>>,
    /// The message observer (`Connection::set_message_observer`), reported to at the places
    /// the trace reports records, handshake messages and alerts.
    pub(crate) observer: Option<MessageFn>,
    /// Client: bytes at the front of the outgoing queue that the constructor wrote (the
    /// first ClientHello) before an observer could be installed. They are reported when
    /// they start to leave (`release_first_flight`), not when the observer is installed, so
    /// a ClientHello rebuilt by `set_session` is reported once, as sent, as OpenSSL's
    /// callback (set before `SSL_connect`) sees it; and nothing is copied without an observer.
    pub(crate) unobserved_out: usize,
    pub(crate) client_random: [u8; 32],
    /// The verify_data of the latest Finished we sent and received (the "tls-unique" channel
    /// binding of RFC 5929 is the first Finished of the latest handshake).
    pub(crate) finished_sent: [u8; 64],
    pub(crate) finished_sent_len: u8,
    /// Where [`Self::send_hs`] encodes each message; empty (no memory) between flights.
    hs_out: Vec<u8>,
    pub(crate) finished_received: [u8; 64],
    pub(crate) finished_received_len: u8,
    /// Client: the newest resumable session (a TLS 1.3 ticket or a TLS 1.2 session).
    pub(crate) latest_session: Option<crate::session::ClientSession>,
    /// Counts the sessions kept in `latest_session` (see `Connection::session_serial`).
    pub(crate) session_serial: u64,
    /// Client: the name sessions are filed under (the server name as given).
    pub(crate) resume_name: Option<String>,
    pub(crate) last_alert: Option<(AlertDescription, bool)>,
    /// The server asked for our certificate and we sent none: explains a later
    /// handshake_failure alert.
    pub(crate) sent_no_client_cert: bool,
    /// Server: while rejected 0-RTT records are being skipped (RFC 8446 §4.2.10), how many
    /// bytes of them may still come; `None` when the client offered no early data, or once a
    /// record decrypts under the handshake key.
    pub(crate) early_data_skip: Option<usize>,
    /// Settings of this connection that replace the configuration's (see
    /// `Connection::set_alpn` and friends); the states read them through the accessors below.
    pub(crate) settings: ConnSettings,
    /// Events for the connection, taken after each message.
    pub(crate) events: Vec<Event>,
    /// TLS 1.2: a renegotiation is in progress.
    pub(crate) renegotiating: Option<Box<Renegotiation>>,
    /// When the last renegotiations started (config clock, ms), for the per-minute bound.
    pub(crate) renegotiations: std::collections::VecDeque<u64>,
}

/// Per-connection replacements for configuration values; `None` keeps the configuration's.
#[derive(Clone, Default)]
pub(crate) struct ConnSettings {
    pub(crate) alpn: Option<Vec<Vec<u8>>>,
    pub(crate) verify: Option<crate::config::VerifyMode>,
    pub(crate) certs: Option<Vec<Arc<crate::config::CertifiedKey>>>,
    /// The CA names a server's CertificateRequest lists, for this connection (a virtual
    /// host's, from the certificate resolver).
    pub(crate) ca_names: Option<Vec<Vec<u8>>>,
}

impl Common {
    /// Whether a renegotiation may start now, and count it if so: renegotiation is on, the
    /// peer showed RFC 5746 support in the handshake, and fewer than
    /// [`MAX_RENEGOTIATIONS_PER_MINUTE`] started within the last minute. The reason when not.
    pub(crate) fn may_renegotiate(&mut self) -> Result<(), &'static str> {
        let now = self.config.now_ms();
        while self
            .renegotiations
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= 60_000)
        {
            self.renegotiations.pop_front();
        }
        if !self.config.renegotiation {
            return Err("renegotiation is switched off in this configuration (set_renegotiation)");
        }
        if !self.neg.secure_renegotiation {
            return Err(
                "the peer did not show RFC 5746 support in the handshake (no renegotiation_info), \
                 and an insecure renegotiation is never done",
            );
        }
        if self.renegotiations.len() >= MAX_RENEGOTIATIONS_PER_MINUTE {
            return Err("more than MAX_RENEGOTIATIONS_PER_MINUTE renegotiations within a minute");
        }
        self.renegotiations.push_back(now);
        Ok(())
    }

    /// "Handshake Again: " while a renegotiation runs, for trace lines of its messages.
    pub(crate) fn again_prefix(&self) -> &'static str {
        if self.renegotiating.is_some() {
            "Handshake Again: "
        } else {
            ""
        }
    }

    pub(crate) fn new(config: Arc<Config>, is_client: bool) -> Self {
        Self {
            config,
            is_client,
            record: RecordLayer::default(),
            neg: Negotiated::default(),
            trace: None,
            early_trace: None,
            observer: None,
            unobserved_out: 0,
            client_random: [0; 32],
            finished_sent: [0; 64],
            finished_sent_len: 0,
            hs_out: Vec::new(),
            finished_received: [0; 64],
            finished_received_len: 0,
            latest_session: None,
            session_serial: 0,
            resume_name: None,
            last_alert: None,
            sent_no_client_cert: false,
            early_data_skip: None,
            settings: ConnSettings::default(),
            events: Vec::new(),
            renegotiating: None,
            renegotiations: std::collections::VecDeque::new(),
        }
    }

    /// The ALPN protocols this connection offers (client) or accepts (server).
    pub(crate) fn alpn(&self) -> &[Vec<u8>] {
        self.settings.alpn.as_deref().unwrap_or(&self.config.alpn)
    }

    /// How this connection authenticates its peer.
    pub(crate) fn verify_mode(&self) -> crate::config::VerifyMode {
        self.settings.verify.unwrap_or(self.config.verify)
    }

    /// The CA names a CertificateRequest lists: this connection's, else the configuration's.
    pub(crate) fn ca_names(&self) -> &[Vec<u8>] {
        match &self.settings.ca_names {
            Some(n) => n,
            None => self.config.ca_names(),
        }
    }

    /// The certificates this connection may present.
    pub(crate) fn certs(&self) -> &[Arc<crate::config::CertifiedKey>] {
        self.settings.certs.as_deref().unwrap_or(&self.config.certs)
    }

    pub(crate) fn is_tls13(&self) -> bool {
        self.neg.version == Some(ProtocolVersion::TLSv1_3)
    }

    pub(crate) fn is_tls12(&self) -> bool {
        self.neg.version == Some(ProtocolVersion::TLSv1_2)
    }

    /// Client: keep a resumable session, for `Connection::session` and the config's cache.
    pub(crate) fn save_session(&mut self, s: crate::session::ClientSession) {
        if let (Some(cache), Some(name)) = (&self.config.client_cache, &self.resume_name) {
            cache.put(name, s.clone());
        }
        self.latest_session = Some(s);
        self.session_serial += 1;
    }

    /// Emit a trace line; the text is built only when someone listens.
    pub(crate) fn trace(&mut self, kind: TraceKind, text: impl FnOnce() -> String) {
        emit(&mut self.trace, &mut self.early_trace, kind, text);
    }

    pub(crate) fn has_trace(&self) -> bool {
        self.trace.is_some() || self.early_trace.is_some()
    }

    /// Hand one message or record header to the observer, if there is one.
    pub(crate) fn observe(&mut self, sent: bool, version: u16, content_type: u16, bytes: &[u8]) {
        if let Some(f) = self.observer.as_mut() {
            f(&WireMessage {
                sent,
                version,
                content_type,
                bytes,
            });
        }
    }

    /// Hand a handshake message, alert or ChangeCipherSpec to the observer, if there is one,
    /// under [`Self::observed_version`].
    pub(crate) fn observe_message(&mut self, sent: bool, content_type: u16, bytes: &[u8]) {
        if self.observer.is_some() {
            let version = self.observed_version();
            self.observe(sent, version, content_type, bytes);
        }
    }

    /// The version the observer is told for a handshake message, alert or ChangeCipherSpec
    /// (OpenSSL's `s->version`): the negotiated one; before that, a client's highest enabled
    /// version (what its ClientHello offers) and a server's highest supported (TLS 1.3).
    pub(crate) fn observed_version(&self) -> u16 {
        match self.neg.version {
            Some(v) => v.to_int(),
            None if self.is_client => self.config.max_version.to_int(),
            None => ProtocolVersion::TLSv1_3.to_int(),
        }
    }

    /// The constructor's first flight starts to leave (bytes are taken, or the peer's
    /// arrive): report it now if an observer listens, and never again either way.
    pub(crate) fn release_first_flight(&mut self) {
        let n = std::mem::take(&mut self.unobserved_out);
        if n == 0 {
            return;
        }
        let version = self.observed_version();
        if let (Some(f), Some(out)) = (self.observer.as_mut(), self.record.pending().get(..n)) {
            observe::replay_plaintext(f, out, version);
        }
    }

    /// Log a secret for the key log, against this connection's client random.
    pub(crate) fn log_key(&self, label: &str, secret: &[u8]) {
        self.config.log_key(label, &self.client_random, secret);
    }

    /// Protect outgoing records from now on.
    pub(crate) fn set_encrypter(&mut self, enc: RecordEncrypter) {
        self.record.set_encrypter(enc);
    }

    /// Decrypt incoming records from now on.
    pub(crate) fn set_decrypter(&mut self, dec: RecordDecrypter) {
        self.record.set_decrypter(dec);
    }

    /// Write `payload` as records of type `typ` (split at 2^14 bytes), tracing and observing
    /// each header (and a TLS 1.3 record's inner content type).
    pub(crate) fn write_records(&mut self, typ: ContentType, payload: &[u8]) -> Result<(), Error> {
        self.before_records_out();
        let inner13 = self.observer.is_some() && self.record.writes_tls13();
        let (trace, early, observer) = (&mut self.trace, &mut self.early_trace, &mut self.observer);
        self.record.write(typ, payload, |raw| {
            record_out(trace, early, observer, inner13, typ, raw)
        })
    }

    /// Seal the application's zero-copy write (`RecordLayer::reserve`) as one
    /// application_data record, traced and observed like every record.
    pub(crate) fn commit_reserved(
        &mut self,
        n: usize,
    ) -> Result<Result<(), crate::record::layer::CommitError>, Error> {
        self.before_records_out();
        let typ = ContentType::ApplicationData;
        let inner13 = self.observer.is_some() && self.record.writes_tls13();
        let (trace, early, observer) = (&mut self.trace, &mut self.early_trace, &mut self.observer);
        self.record.commit(typ, n, |raw| {
            record_out(trace, early, observer, inner13, typ, raw)
        })
    }

    fn before_records_out(&mut self) {
        if self.unobserved_out > 0 && self.observer.is_some() {
            // Something follows the constructor's flight before it left (a close before any
            // I/O): report the flight first, so the observer sees them in order.
            self.release_first_flight();
        }
    }

    /// Encode and send a handshake message; returns its encoding for the transcript,
    /// borrowed from one buffer that every message is encoded in (given back by
    /// [`Self::release_hs_buffer`]) rather than a fresh vector per message.
    /// The one way a state sends a handshake message: its type comes from the payload.
    pub(crate) fn send_hs(&mut self, payload: HandshakePayload) -> Result<&[u8], Error> {
        let typ = payload.typ().ok_or_else(|| {
            Error::Internal("an undecoded handshake message cannot be sent".into())
        })?;
        let name = payload.name();
        let mut enc = std::mem::take(&mut self.hs_out);
        enc.clear();
        // Most handshake messages fit; the few larger ones (certificates) grow once or twice.
        enc.reserve(512);
        HandshakeMessage { typ, payload }.encode(&mut enc);
        let sent = self.send_hs_bytes(typ, name, &enc);
        self.hs_out = enc;
        sent?;
        Ok(&self.hs_out)
    }

    /// Free the buffer [`Self::send_hs`] encodes in, so an idle connection keeps no memory.
    pub(crate) fn release_hs_buffer(&mut self) {
        self.hs_out = Vec::new();
    }

    /// Keep a Finished message's verify_data (`msg`: the whole message, header included).
    pub(crate) fn keep_finished(&mut self, sent: bool, msg: &[u8]) {
        let body = msg.get(4..).unwrap_or(&[]);
        let n = body.len().min(64);
        let (buf, len) = if sent {
            (&mut self.finished_sent, &mut self.finished_sent_len)
        } else {
            (&mut self.finished_received, &mut self.finished_received_len)
        };
        buf[..n].copy_from_slice(&body[..n]);
        *len = n as u8;
    }

    /// Send a handshake message already encoded (`name` for the trace); returns `enc`.
    pub(crate) fn send_hs_encoded(
        &mut self,
        typ: HandshakeType,
        name: &str,
        enc: Vec<u8>,
    ) -> Result<Vec<u8>, Error> {
        self.send_hs_bytes(typ, name, &enc)?;
        Ok(enc)
    }

    /// Trace, write, observe (and for Finished keep) one encoded handshake message.
    fn send_hs_bytes(&mut self, typ: HandshakeType, name: &str, enc: &[u8]) -> Result<(), Error> {
        let tls13 = self.is_tls13();
        let is_client = self.is_client;
        let again = self.again_prefix();
        self.trace(TraceKind::HandshakeOut, || {
            let step = step_name(typ, is_client, tls13);
            if step.contains(name) || typ == HandshakeType::Unknown(0) {
                format!("handshake out: {again}{step} ({} bytes)", enc.len())
            } else {
                format!(
                    "handshake out: {again}{step} [{name}] ({} bytes)",
                    enc.len()
                )
            }
        });
        self.write_records(ContentType::Handshake, enc)?;
        // After its records, as OpenSSL reports a message once it is written.
        self.observe_message(true, WireMessage::HANDSHAKE, enc);
        if typ == HandshakeType::Finished {
            self.keep_finished(true, enc);
        }
        Ok(())
    }

    /// Send the one-byte ChangeCipherSpec record.
    pub(crate) fn send_ccs(&mut self, step: Step) -> Result<(), Error> {
        let again = self.again_prefix();
        self.trace(TraceKind::HandshakeOut, || {
            format!("handshake out: {again}{step}")
        });
        self.write_ccs()
    }

    /// Send the ChangeCipherSpec a TLS 1.3 peer sends only for middleboxes (RFC 8446 D.4).
    pub(crate) fn send_middlebox_ccs(&mut self) -> Result<(), Error> {
        self.trace(TraceKind::HandshakeOut, || {
            "handshake out: ChangeCipherSpec (TLS 1.3 middlebox compatibility only)".into()
        });
        self.write_ccs()
    }

    /// The ChangeCipherSpec record, observed after its header.
    fn write_ccs(&mut self) -> Result<(), Error> {
        self.write_records(ContentType::ChangeCipherSpec, &[1])?;
        self.observe_message(true, WireMessage::CHANGE_CIPHER_SPEC, &[1]);
        Ok(())
    }

    /// Send an alert with the current keys.
    pub(crate) fn send_alert(&mut self, level: AlertLevel, desc: AlertDescription) {
        let msg = AlertMessage {
            level,
            description: desc,
        }
        .get_encoding();
        self.trace(TraceKind::AlertOut, || format!("alert out: {level} {desc}"));
        // A failure here means the sequence number is exhausted; the connection is over anyway.
        if self.write_records(ContentType::Alert, &msg).is_ok() {
            self.observe_message(true, WireMessage::ALERT, &msg);
        }
        self.last_alert = Some((desc, true));
    }
}

use crate::codec::Codec as _;

/// Give a trace line to the sink, or keep it for the first sink; built only when needed.
fn emit(
    trace: &mut Option<TraceFn>,
    early: &mut Option<Vec<(TraceKind, String)>>,
    kind: TraceKind,
    text: impl FnOnce() -> String,
) {
    if let Some(t) = trace.as_mut() {
        let text = text();
        t(&TraceEvent { kind, text: &text });
    } else if let Some(early) = early.as_mut() {
        early.push((kind, text()));
    }
}

/// One record went out: trace it and tell the message observer.
fn record_out(
    trace: &mut Option<TraceFn>,
    early: &mut Option<Vec<(TraceKind, String)>>,
    observer: &mut Option<MessageFn>,
    inner13: bool,
    typ: ContentType,
    raw: &[u8; crate::record::deframer::HEADER_LEN],
) {
    if trace.is_some() || early.is_some() {
        emit(trace, early, TraceKind::RecordOut, || {
            record_line("out", raw, Some(typ))
        });
    }
    if let Some(f) = observer.as_mut() {
        // OpenSSL reports a sent header's own version, and the inner content type under the
        // record's version too (0x0303), not the protocol's.
        let version = u16::from_be_bytes([raw[1], raw[2]]);
        f(&WireMessage {
            sent: true,
            version,
            content_type: WireMessage::HEADER,
            bytes: raw,
        });
        if inner13 {
            f(&WireMessage {
                sent: true,
                version,
                content_type: WireMessage::INNER_CONTENT_TYPE,
                bytes: &[typ.to_int()],
            });
        }
    }
}
