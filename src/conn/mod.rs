//! The sans-IO connection: ciphertext in, ciphertext out, plaintext in between. It owns the
//! record deframer, joins handshake messages across records, dispatches them to the
//! handshake state of its side, and turns every error into one alert and a sticky error.

use std::fmt;
use std::sync::Arc;

pub use crate::context::observe;
pub use crate::context::trace;
use crate::context::{Common, ConnSettings, Established, Event, Incoming};
pub use crate::context::{
    HandshakeKind, MAX_EARLY_DATA_SKIPPED, MAX_POST_HANDSHAKE_AUTH, MAX_RENEGOTIATIONS_PER_MINUTE,
    MessageFn, Step, TraceEvent, TraceFn, TraceKind, WireMessage,
};

use crate::client::ClientState;
use crate::codec::Codec;
use crate::codec::alert::AlertMessage;
use crate::codec::enums::{
    AlertDescription, AlertLevel, CipherSuite, ContentType, HandshakeType, NamedGroup,
    ProtocolVersion, SignatureScheme,
};
use crate::codec::handshake::{HandshakeMessage, HandshakePayload};
use crate::config::{CertifiedKey, Config, Role, VerifyMode};
use crate::error::{Error, Reason};
use crate::record::deframer::{
    self, Deframer, HEADER_LEN, MAX_CIPHERTEXT_LEN, MAX_CIPHERTEXT_LEN_TLS13, MAX_FRAGMENT_LEN,
};
use crate::record::idle::IdleRecords;
use crate::record::joiner::HandshakeJoiner;
use crate::server::ServerState;
use trace::{record_line, step_name};

mod inbuf;

pub use crate::record::idle::MAX_IDLE_RECORDS;
pub use crate::record::joiner::{MAX_CLIENT_HELLO, MAX_HANDSHAKE_MESSAGE};

/// Middlebox-compatibility ChangeCipherSpec records tolerated during a TLS 1.3 handshake:
/// a client or server in compatibility mode sends exactly one (RFC 8446 Appendix D.4), so a
/// second one is refused, as tlsfuzzer's test-tls13-multiple-ccs-messages expects.
pub const MAX_MIDDLEBOX_CCS: u32 = 1;

/// One alert record holds exactly one alert (RFC 8446 §5.1; RFC 5246 §6.2.1 forbids
/// zero-length alert fragments): an empty one is out of place, any other length malformed.
fn read_alert(content: &[u8]) -> Result<AlertMessage, Error> {
    if content.is_empty() {
        return Err(Error::unexpected_because(
            Reason::EmptyAlertRecord,
            "an alert record holding one alert (2 bytes)",
            "an empty alert record",
        ));
    }
    AlertMessage::read_bytes(content).map_err(|_| {
        Error::peer(
            Reason::MalformedAlertRecord,
            format!(
                "an alert record must hold exactly one alert (2 bytes); it held {}",
                content.len()
            ),
        )
    })
}
/// Result of [`Connection::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStatus {
    /// This many bytes were copied into the buffer.
    Data(usize),
    /// No plaintext is available yet: feed more ciphertext.
    WouldBlock,
    /// The peer sent close_notify and all its data has been read.
    Closed,
    /// Where authentication begins (Handshake Again): the bytes read before this came from
    /// the peer as it was before; those after it come from the peer whose identity
    /// [`Connection::peer_certificates`] now reports. Reported once, at that point of the
    /// stream; `read` never returns bytes from both sides of it together.
    PeerAuthenticated,
}

/// The sticky fatal error of a connection, with the step it happened at.
#[derive(Clone, Debug)]
pub struct ConnError {
    /// What went wrong.
    pub error: Error,
    /// The handshake step it happened at (its name is the seed's words), or
    /// [`Step::ApplicationData`].
    pub step: Step,
    /// The alert we sent, if any.
    pub alert_sent: Option<AlertDescription>,
    /// It happened in a TLS 1.2 renegotiation (Handshake Again), at `step` of the new
    /// handshake.
    pub renegotiating: bool,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A received alert or EOF interrupts a wait; our own errors happen at a step.
        let waiting = matches!(
            self.error,
            Error::AlertReceived { .. } | Error::UnexpectedEof(_)
        );
        let during = if self.step == Step::ApplicationData {
            "TLS connection failed after the handshake".to_string()
        } else if self.step.is_again() {
            format!("TLS post-handshake authentication failed at {}", self.step)
        } else if self.renegotiating {
            format!(
                "TLS renegotiation (Handshake Again) failed at {}",
                self.step
            )
        } else if waiting {
            format!("TLS handshake failed while waiting for {}", self.step)
        } else {
            format!("TLS handshake failed at {}", self.step)
        };
        write!(f, "{during}: {}", self.error)?;
        if let Some(a) = self.alert_sent {
            write!(f, " (we sent a fatal {a} alert)")?;
        }
        Ok(())
    }
}

/// A handshake record that fails authentication after a post-quantum key exchange: ML-KEM
/// never reports a bad ciphertext (FIPS 203 implicit rejection gives it a pseudo-random
/// secret instead), so a share altered in transit shows only here, as keys that do not match.
fn explain_kem_failure(e: Error, group: Option<NamedGroup>) -> Error {
    let Some(group) = group else {
        return e;
    };
    if e.reason() != Some(Reason::RecordAuthenticationFailed) {
        return e;
    }
    e.map_detail(|t| {
        format!(
            "{t}. The key exchange was {group}: an ML-KEM ciphertext or encapsulation key \
             altered in transit is not refused by the KEM (implicit rejection, FIPS 203), it \
             yields a secret the peer does not have, so the first protected record fails \
             instead; check for a middlebox that rewrites large ClientHello or ServerHello \
             messages, or try a classic group"
        )
    })
}

/// Where a record opened in the input buffer lies: staged there by the direct path (copied
/// from the caller's bytes), or received there (zero-copy receive).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lying {
    Staged,
    Received,
}

/// The handshake state of either side.
pub(crate) enum State {
    Client(ClientState),
    Server(ServerState),
}

impl State {
    fn step(&self) -> Step {
        match self {
            Self::Client(s) => s.step(),
            Self::Server(s) => s.step(),
        }
    }

    fn expects(&self) -> &'static [HandshakeType] {
        match self {
            Self::Client(s) => s.expects(),
            Self::Server(s) => s.expects(),
        }
    }

    fn handle(self, cx: &mut Common, m: Incoming<'_>) -> Result<Self, Error> {
        Ok(match self {
            Self::Client(s) => Self::Client(s.handle(cx, m)?),
            Self::Server(s) => Self::Server(s.handle(cx, m)?),
        })
    }

    /// What the handshake left, once this is a traffic state.
    fn established(&self) -> Option<&dyn Established> {
        match self {
            Self::Client(s) => s.established(),
            Self::Server(s) => s.established(),
        }
    }

    /// [`Self::established`], to update keys.
    fn established_mut(&mut self) -> Option<&mut dyn Established> {
        match self {
            Self::Client(s) => s.established_mut(),
            Self::Server(s) => s.established_mut(),
        }
    }
}

/// A TLS connection of either role, driven by the caller's I/O.
pub struct Connection {
    common: Common,
    state: Option<State>,
    step: Step,
    deframer: Deframer,
    /// Handshake messages across records.
    joiner: HandshakeJoiner,
    /// Plaintext waiting to be read, and ciphertext received in place (zero-copy receive).
    inbuf: inbuf::InBuf,
    pending_out: Vec<u8>,
    /// An open zero-copy write before the handshake completed: where it starts in
    /// `pending_out` and how much room it has.
    pending_reserved: Option<(usize, usize)>,
    /// The transport's EOF came while records received in place waited unread.
    eof_after_received: bool,
    error: Option<ConnError>,
    received_close: bool,
    sent_close: bool,
    /// Whether any application data has arrived (to word a late handshake verdict).
    data_received: bool,
    middlebox_ccs: u32,
    /// Whether the handshake has completed: the state reached its version's traffic state
    /// (kept after a failure, to word the error).
    established: bool,
    /// Plaintext bytes handed to the application so far.
    delivered: u64,
    /// Where the peer authenticated again: the stream offset (in `delivered` terms) and the
    /// identity that applies from there, oldest first.
    boundaries: std::collections::VecDeque<(u64, crate::session::CertChain)>,
    idle: IdleRecords,
    /// Client: the name given to `new_client`, to rebuild the ClientHello in `set_session`.
    server_name: Option<String>,
    /// Whether bytes were fed or taken (after which the ClientHello can no longer change).
    io_started: bool,
    /// Client: the session blob given to `set_session`, so a later per-connection setting can
    /// rebuild the ClientHello offering it again.
    offered_session: Option<Vec<u8>>,
}

impl Connection {
    fn new(config: Arc<Config>, is_client: bool) -> Self {
        Self {
            common: Common::new(config, is_client),
            state: None,
            step: Step::ClientHello,
            deframer: Deframer::default(),
            joiner: HandshakeJoiner::default(),
            inbuf: inbuf::InBuf::default(),
            pending_out: Vec::new(),
            pending_reserved: None,
            eof_after_received: false,
            error: None,
            received_close: false,
            sent_close: false,
            data_received: false,
            middlebox_ccs: 0,
            established: false,
            delivered: 0,
            boundaries: std::collections::VecDeque::new(),
            idle: IdleRecords::default(),
            server_name: None,
            io_started: false,
            offered_session: None,
        }
    }

    /// Start a client connection. `server_name` is sent as SNI (when a DNS name) and is the
    /// name the server certificate must match; `None` only without verification.
    /// A client with a session from its configuration's cache resumes it.
    pub fn new_client(config: Arc<Config>, server_name: Option<&str>) -> Result<Self, Error> {
        Self::client_with(config, server_name, None)
    }

    fn client_with(
        config: Arc<Config>,
        server_name: Option<&str>,
        session: Option<crate::session::ClientSession>,
    ) -> Result<Self, Error> {
        Self::client_fresh(config, server_name, session, Default::default())
    }

    /// A client connection whose ClientHello is built with `settings` in force.
    fn client_fresh(
        config: Arc<Config>,
        server_name: Option<&str>,
        session: Option<crate::session::ClientSession>,
        settings: ConnSettings,
    ) -> Result<Self, Error> {
        if config.role() != Role::Client {
            return Err(Error::Usage(
                "a server configuration cannot make a client connection".into(),
            ));
        }
        let mut conn = Self::new(config, true);
        conn.common.settings = settings;
        conn.server_name = server_name.map(str::to_owned);
        conn.common.early_trace = Some(Vec::new());
        let state = ClientState::start(&mut conn.common, server_name, session)?;
        // No observer can be installed yet: its ClientHello is reported when it leaves.
        conn.common.unobserved_out = conn.common.record.pending().len();
        conn.step = state.step();
        conn.state = Some(State::Client(state));
        Ok(conn)
    }

    /// Client, before any I/O: resume the session in `blob` (from [`Self::session`]). The
    /// ClientHello is rebuilt to offer it; a trace sink installed earlier sees both. A blob
    /// that is corrupt, from another version of the format, or for another server name is
    /// refused with `Error::Usage` or `Error::Decode`; the connection is unchanged then.
    pub fn set_session(&mut self, blob: &[u8]) -> Result<(), Error> {
        self.sticky()?;
        if !self.common.is_client {
            return Err(Error::Usage(
                "set_session is for client connections; a server resumes from its own cache and tickets".into(),
            ));
        }
        if self.io_started {
            return Err(Error::Usage(
                "set_session must be called before the handshake starts (before any feed or send)"
                    .into(),
            ));
        }
        let session = crate::session::ClientSession::from_blob(blob)?;
        if let Some(n) = session.server_name()
            && Some(n) != self.server_name.as_deref()
        {
            return Err(Error::Usage(format!(
                "the session is for '{n}', but this connection is to '{}'",
                self.server_name.as_deref().unwrap_or("(no name)")
            )));
        }
        let trace = self.common.trace.take();
        let mut fresh = Self::client_fresh(
            self.common.config.clone(),
            self.server_name.clone().as_deref(),
            Some(session),
            self.common.settings.clone(),
        )?;
        fresh.offered_session = Some(blob.to_vec());
        fresh.set_trace(trace);
        // The rebuilt ClientHello replaces the first one, which never left: the observer
        // sees only the one sent.
        fresh.common.observer = self.common.observer.take();
        *self = fresh;
        Ok(())
    }

    /// A number that changes whenever a new resumable session arrives (a TLS 1.2 handshake's,
    /// each TLS 1.3 NewSessionTicket): compare it before calling [`Self::session`], which
    /// serializes a copy each time.
    pub fn session_serial(&self) -> u64 {
        self.common.session_serial
    }

    /// The newest resumable session as a blob for [`Self::set_session`], or `None`. A
    /// TLS 1.2 session exists once the handshake is done (if the server gave a session id
    /// or ticket); a TLS 1.3 one only once a NewSessionTicket has arrived after it.
    ///
    /// The blob holds the session's secret (master secret or PSK): whoever has it can
    /// resume the session, so store it like a private key. Its format is versioned and
    /// checksummed (SHA-256), not encrypted.
    pub fn session(&self) -> Option<Vec<u8>> {
        self.common
            .latest_session
            .as_ref()
            .map(|s| s.to_blob().to_vec())
    }

    /// This connection's ALPN protocols, in preference order, instead of the configuration's
    /// (an empty list offers / accepts none). Before any I/O; a client's ClientHello is
    /// rebuilt to carry them. The configuration is shared and unchanged, so its session
    /// caches and verified chains keep serving every connection.
    pub fn set_alpn(&mut self, protocols: &[Vec<u8>]) -> Result<(), Error> {
        if let Some(p) = protocols.iter().find(|p| p.is_empty() || p.len() > 255) {
            return Err(Error::Usage(format!(
                "ALPN protocol names must be 1 to 255 bytes; got {} bytes",
                p.len()
            )));
        }
        self.change_settings("set_alpn", |s| s.alpn = Some(protocols.to_vec()))
    }

    /// [`Self::set_alpn`] from a comma-separated list ("h2,http/1.1").
    pub fn set_alpn_list(&mut self, csv: &str) -> Result<(), Error> {
        self.set_alpn(&crate::config::alpn_from_csv(csv))
    }

    /// How this connection authenticates its peer, instead of the configuration's mode (the
    /// modes of [`crate::config::ConfigBuilder::set_verify_mode`] for this role). Before any I/O.
    pub fn set_verify_mode(&mut self, mode: VerifyMode) -> Result<(), Error> {
        let client = self.common.is_client;
        let fits = match mode {
            VerifyMode::VerifyServer | VerifyMode::DangerousNoVerify => client,
            VerifyMode::NoClientAuth
            | VerifyMode::RequestClientCert
            | VerifyMode::RequireClientCert => !client,
        };
        if !fits {
            return Err(Error::Usage(format!(
                "verify mode {mode:?} is not for a {} connection",
                if client { "client" } else { "server" }
            )));
        }
        let config = &self.common.config;
        let needs_roots = matches!(
            mode,
            VerifyMode::VerifyServer
                | VerifyMode::RequestClientCert
                | VerifyMode::RequireClientCert
        );
        let custom = if client {
            config.hooks.server_verifier.is_some()
        } else {
            config.hooks.client_verifier.is_some()
        };
        if needs_roots && config.roots.is_empty() && !custom {
            return Err(Error::Usage(format!(
                "verify mode {mode:?} needs trust anchors, and this connection's configuration has none"
            )));
        }
        self.change_settings("set_verify_mode", |s| s.verify = Some(mode))
    }

    /// The certificate (chain and key) this connection presents, instead of the
    /// configuration's: a server's certificate, or a client's for client authentication.
    /// Before any I/O.
    pub fn set_certificate(&mut self, cert: Arc<CertifiedKey>) -> Result<(), Error> {
        self.change_settings("set_certificate", |s| s.certs = Some(vec![cert]))
    }

    /// Apply a per-connection setting: only before any I/O; a client's ClientHello (queued at
    /// creation) is rebuilt with the setting, offering the same session if one was set.
    fn change_settings(
        &mut self,
        what: &str,
        change: impl FnOnce(&mut ConnSettings),
    ) -> Result<(), Error> {
        self.sticky()?;
        if self.io_started {
            return Err(Error::Usage(format!(
                "{what} must be called before the handshake starts (before any feed or send)"
            )));
        }
        let mut settings = self.common.settings.clone();
        change(&mut settings);
        if !self.common.is_client {
            self.common.settings = settings;
            return Ok(());
        }
        let trace = self.common.trace.take();
        let session = self
            .offered_session
            .as_deref()
            .map(crate::session::ClientSession::from_blob)
            .transpose()?;
        let mut fresh = Self::client_fresh(
            self.common.config.clone(),
            self.server_name.clone().as_deref(),
            session,
            settings,
        )?;
        fresh.offered_session = self.offered_session.take();
        fresh.set_trace(trace);
        // As in `set_session`: only the rebuilt ClientHello is ever reported.
        fresh.common.observer = self.common.observer.take();
        *self = fresh;
        Ok(())
    }

    /// Start a server connection; it waits for a ClientHello.
    pub fn new_server(config: Arc<Config>) -> Result<Self, Error> {
        if config.role() != Role::Server {
            return Err(Error::Usage(
                "a client configuration cannot make a server connection".into(),
            ));
        }
        let mut conn = Self::new(config, false);
        let state = ServerState::new();
        conn.step = state.step();
        conn.state = Some(State::Server(state));
        Ok(conn)
    }

    /// Whether this is the client side.
    pub fn is_client(&self) -> bool {
        self.common.is_client
    }

    /// Install a trace sink (or remove it with `None`).
    pub fn set_trace(&mut self, trace: Option<TraceFn>) {
        self.common.trace = trace;
        if let (Some(t), Some(early)) = (self.common.trace.as_mut(), self.common.early_trace.take())
        {
            for (kind, text) in early {
                t(&TraceEvent { kind, text: &text });
            }
        }
    }

    /// Install a message observer (or remove it with `None`): every handshake message,
    /// alert, ChangeCipherSpec and record header sent or received from now on, with its
    /// bytes, as OpenSSL's `SSL_set_msg_callback` reports them (see [`observe`] for the
    /// versions given). A handshake message split across records or sharing one is reported
    /// once, whole; application data shows only as record headers (and TLS 1.3 inner
    /// content types). A client's first ClientHello, queued when the connection was made,
    /// is reported when its bytes are first taken (or the first bytes are fed), so an
    /// observer installed before any I/O sees it, and sees only the ClientHello that is
    /// actually sent if [`Self::set_session`] or a per-connection setting rebuilds it.
    /// Without an observer nothing is built or copied.
    pub fn set_message_observer(&mut self, f: Option<MessageFn>) {
        self.common.observer = f;
    }

    fn sticky(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(e.error.clone()),
            None => Ok(()),
        }
    }

    /// Make `err` the connection's fatal error: send its alert, remember it, trace it.
    fn fail(&mut self, err: Error) -> Error {
        if self.error.is_some() {
            return err;
        }
        let alert = err.alert();
        if let Some(a) = alert {
            self.common.send_alert(AlertLevel::Fatal, a);
        }
        let step = self.state.as_ref().map(State::step).unwrap_or(self.step);
        let step = match (&err, self.established) {
            // In TLS 1.3 a client is done once its Finished is sent; the server judges our
            // certificate only then, so its verdict arrives as an alert "after" the handshake.
            (Error::AlertReceived { .. }, true)
                if self.common.is_client && self.common.is_tls13() && !self.data_received =>
            {
                Step::ServerAnswerToFinished
            }
            // A server's renegotiation that fails on the client's ClientHello itself (its
            // traffic state was handling it): Step One of the new handshake.
            (_, true) if step == Step::ApplicationData && self.common.renegotiating.is_some() => {
                Step::ClientHello
            }
            // After the handshake the step is application data, or one of Handshake Again.
            (_, _) => step,
        };
        self.step = step; // `awaiting` names it from now on
        let ce = ConnError {
            error: err.clone(),
            step,
            alert_sent: alert,
            renegotiating: self.common.renegotiating.is_some() && step != Step::ApplicationData,
        };
        let text = ce.to_string();
        self.common
            .trace(TraceKind::Error, || format!("error: {text}"));
        self.error = Some(ce);
        self.state = None;
        err
    }

    /// Feed ciphertext from the peer; returns how much was taken. Less than `data.len()`
    /// means buffers are full: read plaintext, then feed the rest.
    pub fn feed(&mut self, data: &[u8]) -> Result<usize, Error> {
        if self.inbuf.raw_len() > 0 {
            // Ciphertext received in place comes first.
            self.process_received()?;
            if self.inbuf.raw_len() > 0
                && (self.plaintext_buffered() > 0 || !self.received_to_deframer()?)
            {
                // Records wait unread: read first. (Otherwise what waited was a record cut
                // short, which these bytes complete: the deframer joined them.)
                return Ok(0);
            }
        }
        let r = self.feed_records(data);
        self.release_idle_buffers();
        r
    }

    /// Give back the input buffers that hold nothing, so an idle connection keeps no memory
    /// (they are kept only while one `feed` works through its records).
    fn release_idle_buffers(&mut self) {
        self.deframer.release();
        self.joiner.release();
        self.common.release_hs_buffer();
    }

    fn feed_records(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.sticky()?;
        self.io_started = true;
        self.common.early_trace = None;
        self.common.release_first_flight();
        let mut taken = 0;
        loop {
            if self.received_close {
                // RFC 8446 §6.1: data after close_notify is ignored.
                return Ok(data.len());
            }
            if self.deframer.buffered() == 0 {
                match self.direct_record(&data[taken..]) {
                    Ok(0) => {}
                    Ok(n) => {
                        taken += n;
                        if taken == data.len() {
                            return Ok(taken);
                        }
                        continue;
                    }
                    Err(e) => return Err(self.fail(e)),
                }
            }
            let n = self.deframer.feed(&data[taken..]);
            taken += n;
            if let Err(e) = self.process() {
                return Err(self.fail(e));
            }
            if taken == data.len() || n == 0 {
                return Ok(taken);
            }
        }
    }

    /// The bulk path: when a whole protected application-data record starts `data` after the
    /// handshake, copy its body once, into the plaintext buffer, and decrypt it in place
    /// there (the deframer would cost a second copy). Returns the bytes consumed; 0 hands the
    /// input to the deframer, which also reports anything malformed.
    fn direct_record(&mut self, data: &[u8]) -> Result<usize, Error> {
        let Some(limit) = self.bulk_limit() else {
            return Ok(0);
        };
        if self.plaintext_buffered() >= self.common.config.buffer_limit {
            return Ok(0);
        }
        let Some((header, body)) = deframer::whole_application_record(data, limit) else {
            return Ok(0);
        };
        let at = self.inbuf.stage(body);
        if !self.open_record(&header, at, body.len(), Lying::Staged)? {
            return Ok(0); // the deframer's path takes (and observes) this record
        }
        Ok(HEADER_LEN + body.len())
    }

    /// Whether records may take the bulk paths (opened straight in the input buffer rather
    /// than through the deframer), and the largest ciphertext body then: after the
    /// handshake, with no handshake message half-joined, and not between a TLS 1.2
    /// ChangeCipherSpec and its Finished.
    fn bulk_limit(&self) -> Option<usize> {
        let bulk =
            self.established && self.joiner.is_empty() && self.awaiting_peer_finished().is_none();
        bulk.then(|| {
            if self.common.is_tls13() {
                MAX_CIPHERTEXT_LEN_TLS13
            } else {
                MAX_CIPHERTEXT_LEN
            }
        })
    }

    /// Open a protected record lying in the input buffer (its body, `len` bytes at `at`) and
    /// keep what it holds: application data stays where it was opened; a KeyUpdate, ticket
    /// or alert inside it (rare) is copied out and handled. `false` while there is no read
    /// key (nothing changed but the staged bytes dropped).
    fn open_record(
        &mut self,
        header: &[u8; HEADER_LEN],
        at: usize,
        len: usize,
        lying: Lying,
    ) -> Result<bool, Error> {
        let Some((typ, off, clen)) = self.open_at(header, at, len)? else {
            if lying == Lying::Staged {
                self.inbuf.unstage();
            }
            return Ok(false);
        };
        let record_len = HEADER_LEN + len;
        if typ == ContentType::ApplicationData {
            match lying {
                Lying::Staged => self.inbuf.keep_opened(at + off, clen),
                Lying::Received => self.inbuf.opened_in_place(at + off, clen, record_len),
            }
            return Ok(true);
        }
        let content = self.inbuf.bytes(at + off, clen).to_vec();
        match lying {
            Lying::Staged => self.inbuf.unstage(),
            Lying::Received => self.inbuf.skip_raw(record_len),
        }
        self.protected_content(typ, &content)?;
        Ok(true)
    }

    /// Open the protected record whose body is `len` bytes at `at` in the input buffer, in
    /// place; trace and observe it and check its size. The content type and where its
    /// content is (offset from `at`, length); `None` while there is no read key. Application
    /// data is counted here (the idle-record bound).
    fn open_at(
        &mut self,
        header: &[u8; HEADER_LEN],
        at: usize,
        len: usize,
    ) -> Result<Option<(ContentType, usize, usize)>, Error> {
        let body = self.inbuf.bytes_mut(at, len);
        let base = body.as_ptr() as usize;
        let (typ, off, clen) = match self.common.record.decrypt(header, body) {
            Ok(Some((typ, content))) => (typ, content.as_ptr() as usize - base, content.len()),
            Ok(None) => return Ok(None),
            Err(e) => {
                self.observe_header_in(header);
                return Err(e);
            }
        };
        self.observe_header_in(header);
        if let Some(tr) = self.common.trace.as_mut() {
            let line = record_line("in ", header, Some(typ));
            tr(&TraceEvent {
                kind: TraceKind::RecordIn,
                text: &line,
            });
        }
        if self.common.observer.is_some() && self.common.record.reads_tls13() {
            self.observe_inner_in(typ);
        }
        if clen > MAX_FRAGMENT_LEN {
            return Err(Error::peer(
                Reason::RecordTooLarge,
                format!(
                    "a {typ} record carries {clen} bytes of plaintext; the limit is {MAX_FRAGMENT_LEN}"
                ),
            ));
        }
        if typ == ContentType::ApplicationData {
            self.idle.data_record(clen)?;
            self.data_received |= clen > 0;
        }
        Ok(Some((typ, off, clen)))
    }

    /// Handshake or alert content found in a record on the direct path.
    fn protected_content(&mut self, typ: ContentType, content: &[u8]) -> Result<(), Error> {
        match typ {
            ContentType::Handshake => {
                self.joiner.push(content)?;
                self.handshake_messages()
            }
            ContentType::Alert => {
                let a = read_alert(content)?;
                self.alert(a)
            }
            other => Err(Error::unexpected(
                "a handshake, alert or application_data record",
                format!("a {other} record of {} bytes", content.len()),
            )),
        }
    }

    /// Tell the connection the transport reached EOF. Clean only after close_notify.
    pub fn feed_eof(&mut self) -> Result<(), Error> {
        if self.received_close {
            return Ok(());
        }
        self.sticky()?;
        if self.inbuf.raw_len() > 0 && self.plaintext_buffered() > 0 {
            // Records received in place wait behind unread plaintext (a close_notify may be
            // among them): the EOF counts once they are read.
            self.eof_after_received = true;
            return Ok(());
        }
        let what = if self.established {
            "the peer closed the connection without sending close_notify: the data may be truncated"
                .to_string()
        } else {
            format!(
                "the peer closed the connection during the handshake, while we were waiting for {}",
                self.step
            )
        };
        Err(self.fail(Error::UnexpectedEof(what)))
    }

    fn plaintext_buffered(&self) -> usize {
        self.inbuf.plaintext_len()
    }

    fn process(&mut self) -> Result<(), Error> {
        loop {
            if self.received_close || self.error.is_some() {
                return Ok(());
            }
            let Some(hdr) = self.deframer.peek_header(self.common.is_client)? else {
                return Ok(());
            };
            if self.common.is_tls13() && hdr.len > MAX_CIPHERTEXT_LEN_TLS13 {
                return Err(Error::peer(
                    Reason::RecordTooLarge,
                    format!(
                        "a {} record of {} bytes exceeds TLS 1.3's limit of {MAX_CIPHERTEXT_LEN_TLS13}",
                        hdr.typ, hdr.len
                    ),
                ));
            }
            if !self.deframer.complete(&hdr) {
                return Ok(());
            }
            if hdr.typ == ContentType::ApplicationData
                && self.established
                && self.plaintext_buffered() >= self.common.config.buffer_limit
            {
                return Ok(()); // back-pressure: the caller must read first
            }
            self.record(hdr)?;
        }
    }

    /// Handshake Again (TLS 1.2): the step when the peer's ChangeCipherSpec came and its
    /// Finished must follow, with nothing between (RFC 5246 §7.1, §7.4.9); application data
    /// flows before and after.
    fn awaiting_peer_finished(&self) -> Option<Step> {
        let step = self.state.as_ref().map(State::step)?;
        matches!(step, Step::ClientFinished | Step::ServerFinished).then_some(step)
    }

    /// Handle one complete record at the front of the deframer.
    fn record(&mut self, hdr: crate::record::deframer::RecordHeader) -> Result<(), Error> {
        // Every record, before anything can refuse it (OpenSSL reports a header as read).
        self.observe_header_in(&hdr.raw);
        let handshaking = !self.established;
        let peer_finished_next = self.awaiting_peer_finished();
        // A TLS 1.3 handshake over a post-quantum group: a record that fails here may be the
        // KEM's implicit rejection of an altered share (see `explain_kem_failure`).
        let kem_handshake = handshaking
            .then_some(self.common.neg.group)
            .flatten()
            .filter(|g| self.common.is_tls13() && crate::crypto::kx::is_post_quantum(*g));
        if hdr.typ == ContentType::ChangeCipherSpec {
            // In a TLS 1.2 renegotiation the ChangeCipherSpec is protected by the keys it
            // replaces (RFC 5246 §6.2: every record under the current state); otherwise it is
            // plaintext.
            let protected = self.common.is_tls12() && self.common.record.has_decrypter();
            let header = hdr.raw;
            let body = self.deframer.body_mut(&hdr);
            let ok = if protected {
                match self.common.record.decrypt(&header, body)? {
                    Some((ContentType::ChangeCipherSpec, content)) => content == [1],
                    _ => false,
                }
            } else {
                body == [1]
            };
            self.common
                .trace(TraceKind::RecordIn, || record_line("in ", &hdr.raw, None));
            self.deframer.discard(&hdr);
            if !ok {
                return Err(Error::unexpected_because(
                    Reason::MalformedChangeCipherSpec,
                    "a change_cipher_spec record holding the single byte 1",
                    "a malformed change_cipher_spec record",
                ));
            }
            // Also a TLS 1.3 middlebox one, which is dropped below: it did arrive.
            self.common
                .observe_message(false, WireMessage::CHANGE_CIPHER_SPEC, &[1]);
            if self.common.neg.version == Some(ProtocolVersion::TLSv1_2) {
                // The keys change here (RFC 5246 §7.1): no handshake message may span it.
                if !self.joiner.is_empty() {
                    return Err(Error::unexpected_because(
                        Reason::InterleavedRecord,
                        "the rest of a handshake message split across records",
                        "a change_cipher_spec record in the middle of it",
                    ));
                }
                return self.dispatch(Incoming::ChangeCipherSpec);
            }
            // TLS 1.3 middlebox compatibility (RFC 8446 §5, Appendix D.4): drop it, once,
            // after the first ClientHello and before the peer's Finished.
            self.middlebox_ccs += 1;
            let before_hello = !self.common.is_client && self.common.neg.version.is_none();
            if !handshaking || before_hello || self.middlebox_ccs > MAX_MIDDLEBOX_CCS {
                let when = if before_hello {
                    "before the ClientHello"
                } else if !handshaking {
                    "after the handshake"
                } else {
                    "a second time"
                };
                return Err(Error::unexpected_because(
                    Reason::UnexpectedChangeCipherSpec,
                    "at most one change_cipher_spec record, between the ClientHello and the \
                     peer's Finished (TLS 1.3 middlebox compatibility, RFC 8446 §5)",
                    format!("a change_cipher_spec record {when}"),
                ));
            }
            return Ok(());
        }

        if self.common.early_data_skip.is_some()
            && hdr.typ == ContentType::ApplicationData
            && handshaking
            && self.skip_early_data(&hdr)?
        {
            return Ok(());
        }

        // Decrypt (or take as plaintext), then copy the content where it belongs.
        // A TLS 1.3 peer that fails before it has our keys sends its alert in plaintext;
        // TLS 1.2 protects alerts under the record's own type once keys are on.
        let plaintext_alert_ok =
            handshaking && hdr.typ == ContentType::Alert && !self.common.is_tls12();
        let header = hdr.raw;
        let body = self.deframer.body_mut(&hdr);
        let inner13 = self.common.observer.is_some()
            && !plaintext_alert_ok
            && self.common.record.reads_tls13();
        let (typ, content): (ContentType, &[u8]) =
            if plaintext_alert_ok || !self.common.record.has_decrypter() {
                (hdr.typ, &*body)
            } else {
                if self.common.is_tls13() && hdr.typ != ContentType::ApplicationData {
                    return Err(Error::unexpected_because(
                        Reason::UnencryptedRecord,
                        "an encrypted record (outer type application_data)",
                        format!(
                            "an unencrypted {} record after keys were established",
                            hdr.typ
                        ),
                    ));
                }
                match self
                    .common
                    .record
                    .decrypt(&header, body)
                    .map_err(|e| explain_kem_failure(e, kem_handshake))?
                {
                    Some(x) => x,
                    None => (hdr.typ, &[][..]),
                }
            };
        if let Some(tr) = self.common.trace.as_mut() {
            let line = record_line("in ", &header, Some(typ));
            tr(&TraceEvent {
                kind: TraceKind::RecordIn,
                text: &line,
            });
        }
        if inner13 && let Some(f) = self.common.observer.as_mut() {
            // `content` borrows the deframer, so the observer is called here directly.
            f(&WireMessage {
                sent: false,
                version: ProtocolVersion::TLSv1_3.to_int(),
                content_type: WireMessage::INNER_CONTENT_TYPE,
                bytes: &[typ.to_int()],
            });
        }
        if content.len() > MAX_FRAGMENT_LEN {
            return Err(Error::peer(
                Reason::RecordTooLarge,
                format!(
                    "a {typ} record carries {} bytes of plaintext; the limit is {MAX_FRAGMENT_LEN}",
                    content.len()
                ),
            ));
        }
        // TLS 1.3 forbids other records between the fragments of a handshake message (RFC
        // 8446 §5.1); TLS 1.2 lets record types interleave (RFC 5246 §6.2.1), which matters
        // for application data during a renegotiation. A ChangeCipherSpec never may (above).
        if !self.joiner.is_empty() && typ != ContentType::Handshake && !self.common.is_tls12() {
            return Err(Error::unexpected_because(
                Reason::InterleavedRecord,
                "the rest of a handshake message split across records",
                format!("a {typ} record in the middle of it"),
            ));
        }
        let mut alert = None;
        match typ {
            ContentType::Handshake => self.joiner.push(content)?,
            ContentType::ApplicationData => {
                if !self.established {
                    return Err(Error::unexpected_because(
                        Reason::ApplicationDataBeforeHandshake,
                        format!("the handshake message {}", self.step),
                        "application data before the handshake finished",
                    ));
                }
                if let Some(step) = peer_finished_next {
                    return Err(Error::unexpected_because(
                        Reason::ApplicationDataBeforeHandshake,
                        format!(
                            "{step}, which follows the ChangeCipherSpec directly (RFC 5246 §7.1)"
                        ),
                        "application data between the two",
                    ));
                }
                self.idle.data_record(content.len())?;
                self.data_received |= !content.is_empty();
                self.inbuf.append_plaintext(content);
            }
            ContentType::Alert => {
                alert = Some(read_alert(content)?);
            }
            other => {
                return Err(Error::unexpected(
                    "a handshake, alert or application_data record",
                    format!("a {other} record"),
                ));
            }
        }
        self.deframer.discard(&hdr);
        if let Some(a) = alert {
            return self.alert(a);
        }
        self.handshake_messages()
    }

    /// RFC 8446 §4.2.10: a server that does not accept the client's 0-RTT data skips its
    /// records — any application_data record while it has no key (after a
    /// HelloRetryRequest), then those that do not decrypt under the client's handshake key —
    /// up to [`MAX_EARLY_DATA_SKIPPED`] bytes. Returns whether the record was skipped.
    fn skip_early_data(
        &mut self,
        hdr: &crate::record::deframer::RecordHeader,
    ) -> Result<bool, Error> {
        let header = hdr.raw;
        if self.common.record.has_decrypter()
            && self
                .common
                .record
                .would_decrypt(&header, self.deframer.body_mut(hdr))
        {
            // The client's handshake flight has begun: no early data can follow.
            self.common.early_data_skip = None;
            return Ok(false);
        }
        // Each record is charged with its header too, so empty records cannot be skipped
        // without end.
        let left = self.common.early_data_skip.unwrap_or(0);
        let Some(left) = left.checked_sub(HEADER_LEN + hdr.len) else {
            return Err(Error::peer(
                Reason::TooMuchEarlyData,
                format!(
                    "the client sent more than {MAX_EARLY_DATA_SKIPPED} bytes of early data (0-RTT), \
                 which this server does not accept and skips only up to that bound"
                ),
            ));
        };
        self.common.early_data_skip = Some(left);
        self.common.trace(TraceKind::RecordIn, || {
            format!(
                "{} (early data we do not accept: skipped, RFC 8446 §4.2.10)",
                record_line("in ", &header, None)
            )
        });
        self.deframer.discard(hdr);
        Ok(true)
    }

    fn alert(&mut self, a: AlertMessage) -> Result<(), Error> {
        self.common.trace(TraceKind::AlertIn, || {
            format!("alert in: {} {}", a.level, a.description)
        });
        // The two bytes as they came: read_alert took exactly these.
        self.common.observe_message(
            false,
            WireMessage::ALERT,
            &[a.level.to_int(), a.description.to_int()],
        );
        let we_declined_renegotiation =
            self.common.last_alert == Some((AlertDescription::NoRenegotiation, true));
        self.common.last_alert = Some((a.description, false));
        if a.description == AlertDescription::CloseNotify {
            if !self.established {
                // The peer ended the connection before the handshake completed: a failure
                // with a detail, not a clean close (no alert goes back).
                return Err(Error::AlertReceived {
                    alert: a.description,
                    detail: format!(
                        "the peer sent close_notify during the handshake, while we were waiting \
                         for {}: it closed the connection before the handshake completed",
                        self.step
                    ),
                });
            }
            self.received_close = true;
            return Ok(());
        }
        // TLS 1.3 treats every alert but close_notify and user_canceled as fatal (RFC 8446
        // §6.2); TLS 1.2 warnings are counted and ignored.
        let warning = a.level == AlertLevel::Warning
            && (!self.common.is_tls13() || a.description == AlertDescription::UserCanceled);
        if warning {
            // Handshake Again declined: the server answers our renegotiation with a
            // no_renegotiation warning (RFC 5746 §4.5 lets it); we go on with the keys we have.
            if a.description == AlertDescription::NoRenegotiation
                && let Some(State::Server(srv)) = self.state.as_mut()
            {
                srv.renegotiation_declined(&mut self.common)?;
                self.take_events();
            }
            if a.description == AlertDescription::NoRenegotiation
                && self.common.is_client
                && let Some(r) = self.common.renegotiating.take()
            {
                self.common.trace(TraceKind::State, || {
                    "Handshake Again declined by the server (no_renegotiation): the connection \
                     goes on with its current keys"
                        .into()
                });
                let restored = crate::client::ClientState::renegotiation_declined(r.previous)?;
                self.step = restored.step();
                self.state = Some(State::Client(restored));
            }
            return self
                .idle
                .idle("warning alerts, empty records or KeyUpdates");
        }
        if a.description == AlertDescription::HandshakeFailure
            && self.common.is_client
            && we_declined_renegotiation
        {
            return Err(Error::AlertReceived {
                alert: a.description,
                detail: "the server sent a fatal handshake_failure alert after we declined its \
                         request for a new handshake (no_renegotiation): it probably needs our \
                         certificate, which a TLS 1.2 server asks for in a renegotiation; allow \
                         renegotiation (set_renegotiation(true)) and configure a certificate and \
                         its key"
                    .into(),
            });
        }
        if a.description == AlertDescription::HandshakeFailure && self.common.sent_no_client_cert {
            return Err(Error::AlertReceived {
                alert: a.description,
                detail: "the server sent a fatal handshake_failure alert after it asked for a client \
                         certificate and we sent none: it probably requires one (configure a client certificate and its key)"
                    .into(),
            });
        }
        Err(Error::alert_received(a.description, self.common.is_client))
    }

    /// Dispatch every complete handshake message the joiner holds.
    fn handshake_messages(&mut self) -> Result<(), Error> {
        while let Some((typ, len)) = self.joiner.peek()? {
            // RFC 5246 §7.4.1.1: a client ignores a HelloRequest that arrives while it is
            // negotiating (it is not part of the transcript). TLS 1.3 has none.
            if typ == HandshakeType::HelloRequest
                && self.common.is_client
                && (!self.established || self.common.renegotiating.is_some())
                && !self.common.is_tls13()
            {
                if len != 0 {
                    return Err(Error::peer(
                        Reason::MalformedMessage,
                        format!("a HelloRequest has an empty body; this one has {len} bytes"),
                    ));
                }
                if let Some(raw) = self.joiner.take(0) {
                    self.observe_handshake_in(&raw);
                    self.joiner.recycle(raw);
                }
                self.common.trace(TraceKind::HandshakeIn, || {
                    "handshake in:  HelloRequest during the handshake: ignored (RFC 5246 §7.4.1.1)"
                        .into()
                });
                continue;
            }
            // The state judges the type from the header, before the body is buffered or
            // decoded: a message that does not belong here is unexpected_message whatever its
            // body holds (RFC 8446 §6.2).
            if let Some(state) = &self.state
                && !state.expects().contains(&typ)
            {
                return Err(Error::unexpected(
                    state.step(),
                    format!("{typ} ({len} bytes)"),
                ));
            }
            let Some(raw) = self.joiner.take(len) else {
                return Ok(());
            };
            // Whole, once, before it is decoded (as OpenSSL reports a message it has read).
            self.observe_handshake_in(&raw);
            let version = self.common.neg.version.unwrap_or(ProtocolVersion::TLSv1_3);
            let msg = HandshakeMessage::read(&raw, version).map_err(|e| {
                Error::from(e).with_context(&format!("the peer's {typ} could not be decoded"))
            })?;
            let tls13 = self.common.is_tls13();
            let from_client = !self.common.is_client;
            let name = msg.name();
            let again = self.common.again_prefix();
            self.common.trace(TraceKind::HandshakeIn, || {
                let step = step_name(msg.typ, from_client, tls13);
                if step.contains(name) {
                    format!("handshake in:  {again}{step} ({} bytes)", raw.len())
                } else {
                    format!(
                        "handshake in:  {again}{step} [{name}] ({} bytes)",
                        raw.len()
                    )
                }
            });
            if self.established {
                self.post_handshake(&msg)?;
            }
            let epoch = self.common.record.read_epoch();
            self.dispatch(Incoming::Handshake { msg, raw: &raw })?;
            self.joiner.recycle(raw);
            if self.common.record.read_epoch() != epoch && !self.joiner.is_empty() {
                return Err(Error::unexpected_because(
                    Reason::HandshakeAcrossKeyChange,
                    "the end of the record at a key change (RFC 8446 §5.1)",
                    "more handshake data in the same record",
                ));
            }
        }
        Ok(())
    }

    /// Observe a received record header (its own version, as OpenSSL reports it).
    fn observe_header_in(&mut self, raw: &[u8; HEADER_LEN]) {
        let version = u16::from_be_bytes([raw[1], raw[2]]);
        self.common
            .observe(false, version, WireMessage::HEADER, raw);
    }

    /// Observe the inner content type of a received TLS 1.3 record (under TLS 1.3's
    /// version, as OpenSSL reports it on reading).
    fn observe_inner_in(&mut self, typ: ContentType) {
        self.common.observe(
            false,
            ProtocolVersion::TLSv1_3.to_int(),
            WireMessage::INNER_CONTENT_TYPE,
            &[typ.to_int()],
        );
    }

    /// Observe a received handshake message (with its 4-byte header).
    fn observe_handshake_in(&mut self, raw: &[u8]) {
        self.common
            .observe_message(false, WireMessage::HANDSHAKE, raw);
        if raw.first() == Some(&u8::from(HandshakeType::Finished)) {
            self.common.keep_finished(false, raw);
        }
    }

    /// Limits on post-handshake messages, before the state sees them.
    fn post_handshake(&mut self, msg: &HandshakeMessage) -> Result<(), Error> {
        // KeyUpdates and declined renegotiation attempts cost us work but carry no data.
        // (Static names: nothing is allocated per message a peer may repeat.)
        match msg.payload {
            HandshakePayload::KeyUpdate(_) => self.idle.idle("KeyUpdates"),
            HandshakePayload::HelloRequest => self.idle.idle("HelloRequests"),
            HandshakePayload::ClientHello(_) => self.idle.idle("renegotiating ClientHellos"),
            _ => Ok(()),
        }
    }

    fn dispatch(&mut self, m: Incoming<'_>) -> Result<(), Error> {
        let state = self
            .state
            .take()
            .ok_or_else(|| Error::Internal("no handshake state to handle a message".into()))?;
        self.step = state.step();
        let next = state.handle(&mut self.common, m)?;
        self.step = next.step();
        self.take_events();
        let now_established = !self.established && next.established().is_some();
        self.state = Some(next);
        if now_established {
            self.established = true;
            self.handshake_done()?;
        }
        Ok(())
    }

    /// The events the states left, as points of the plaintext stream.
    fn take_events(&mut self) {
        for event in std::mem::take(&mut self.common.events) {
            match event {
                Event::PeerAuthenticated(chain) => {
                    // Everything received so far came before the new authentication.
                    let at = self.delivered + self.plaintext_buffered() as u64;
                    self.boundaries.push_back((at, chain));
                }
            }
        }
    }

    fn handshake_done(&mut self) -> Result<(), Error> {
        if self.common.has_trace() {
            self.trace_summary();
        }
        if let Some((at, _)) = self.pending_reserved.take() {
            // The bytes reserved but not committed go nowhere; the commit says so.
            self.pending_out.truncate(at);
        }
        if !self.pending_out.is_empty() {
            let data = std::mem::take(&mut self.pending_out);
            self.common
                .write_records(ContentType::ApplicationData, &data)?;
        }
        Ok(())
    }

    /// The trace's one-line summary of what was negotiated.
    fn trace_summary(&mut self) {
        let n = &self.common.neg;
        let summary = format!(
            "handshake complete: {} {} group {} ALPN {}",
            n.version.map(|v| v.to_string()).unwrap_or_default(),
            n.suite.map(|s| s.suite.to_string()).unwrap_or_default(),
            n.group
                .map(|g| g.to_string())
                .unwrap_or_else(|| "none".into()),
            n.alpn
                .as_deref()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .unwrap_or_else(|| "none".into())
        );
        self.common.trace(TraceKind::State, || summary);
    }

    /// Ciphertext waiting to be sent.
    pub fn outgoing_len(&self) -> usize {
        self.common.record.pending().len()
    }

    /// The waiting ciphertext, without consuming it.
    pub fn peek_outgoing(&self) -> &[u8] {
        self.common.record.pending()
    }

    /// Mark `n` bytes of ciphertext as sent.
    pub fn consume_outgoing(&mut self, n: usize) {
        self.io_started |= n > 0;
        if n > 0 {
            self.common.release_first_flight();
        }
        self.common.record.consume(n);
    }

    /// Copy waiting ciphertext into `buf`; returns the bytes copied.
    pub fn take_outgoing(&mut self, buf: &mut [u8]) -> usize {
        let pending = self.common.record.pending();
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        self.io_started |= n > 0;
        if n > 0 {
            self.common.release_first_flight();
        }
        self.common.record.consume(n);
        n
    }

    /// Whether the handshake is still running (false after completion or failure).
    pub fn is_handshaking(&self) -> bool {
        !self.established && self.error.is_none()
    }

    /// What the connection waits for, in the seed's step names ("Step Two: ServerHello");
    /// "application data" once the handshake is done; after a failure, the step at which it
    /// failed (the one its error detail names). For a program that gives up on a silent peer.
    pub fn awaiting(&self) -> &'static str {
        self.awaiting_step().name()
    }

    /// [`Self::awaiting`] as a [`Step`], to compare rather than read.
    pub fn awaiting_step(&self) -> Step {
        self.state.as_ref().map(State::step).unwrap_or(self.step)
    }

    /// Queue plaintext for the peer; returns how many bytes were accepted (now owned by the
    /// connection). Before the handshake completes, data waits (bounded) and goes out after.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.sticky()?;
        if self.sent_close {
            return Err(Error::Usage(
                "write after close: close_notify was already sent".into(),
            ));
        }
        let limit = self.common.config.buffer_limit;
        if !self.established {
            let n = data.len().min(limit.saturating_sub(self.pending_out.len()));
            self.pending_out.extend_from_slice(&data[..n]);
            return Ok(n);
        }
        let room = limit.saturating_sub(self.outgoing_len());
        let n = data.len().min(room);
        if n == 0 {
            return Ok(0);
        }
        if let Err(e) = self
            .common
            .write_records(ContentType::ApplicationData, &data[..n])
        {
            return Err(self.fail(e));
        }
        Ok(n)
    }

    /// Zero-copy write, step one: room for up to `len` bytes of plaintext (at most one
    /// record, 2^14 bytes, and what the buffer limit leaves) inside the next outgoing record,
    /// so the data is written once, where it is encrypted. Fill some of it, then
    /// [`Connection::commit_plaintext`]. Empty when the outgoing buffer is full: send what
    /// waits first. Before the handshake completes the room is in the bounded buffer that
    /// [`Connection::write`] also uses, and goes out once it completes.
    ///
    /// Any record the connection sends of its own before the commit (a reply to a
    /// KeyUpdate, an alert, `close`) gives the reservation up, since it would have to come
    /// first on the wire: the commit then fails with a usage error and nothing of it is sent.
    pub fn reserve_plaintext(&mut self, len: usize) -> Result<&mut [u8], Error> {
        self.sticky()?;
        if self.sent_close {
            return Err(Error::Usage(
                "reserve after close: close_notify was already sent".into(),
            ));
        }
        let limit = self.common.config.buffer_limit;
        if !self.established {
            if let Some((at, _)) = self.pending_reserved.take() {
                self.pending_out.truncate(at);
            }
            let at = self.pending_out.len();
            let room = limit.saturating_sub(at).min(len).min(MAX_FRAGMENT_LEN);
            self.pending_out.resize(at + room, 0);
            self.pending_reserved = Some((at, room));
            return Ok(&mut self.pending_out[at..]);
        }
        let room = limit.saturating_sub(self.outgoing_len()).min(len);
        Ok(self.common.record.reserve(room))
    }

    /// Zero-copy write, step two: the first `n` bytes of the room
    /// [`Connection::reserve_plaintext`] gave are the data; they are sealed in place as one
    /// record (`n` = 0 sends nothing and ends the reservation). Committing more than was
    /// reserved, or without a reservation, is a usage error that changes nothing else.
    pub fn commit_plaintext(&mut self, n: usize) -> Result<(), Error> {
        self.sticky()?;
        if let Some((at, room)) = self.pending_reserved {
            if n > room {
                return Err(Error::Usage(format!(
                    "commit of {n} bytes, but only {room} were reserved: write at most what                      reserve_plaintext gave, or reserve again"
                )));
            }
            self.pending_reserved = None;
            self.pending_out.truncate(at + n);
            return Ok(());
        }
        use crate::record::layer::CommitError;
        match self.common.commit_reserved(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(CommitError::TooLong {
                committed,
                reserved,
            })) => Err(Error::Usage(format!(
                "commit of {committed} bytes, but only {reserved} were reserved: write at most                  what reserve_plaintext gave, or reserve again"
            ))),
            Ok(Err(CommitError::NoReservation)) if n == 0 => Ok(()),
            Ok(Err(CommitError::NoReservation)) => Err(Error::Usage(format!(
                "commit of {n} bytes without an open reservation: call reserve_plaintext first                  (a record the connection sent of its own since, such as a KeyUpdate reply,                  an alert or close_notify, gives a reservation up; reserve again and rewrite)"
            ))),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Zero-copy receive, step one: where to put the next ciphertext from the peer (receive
    /// into it directly, e.g. `recv(2)` on a socket), then [`Connection::commit_received`].
    /// Records are decrypted where they land and read with [`Connection::peek_plaintext`]
    /// and [`Connection::consume_plaintext`] (or [`Connection::read`]), so a record costs
    /// its decryption and the transport's own copy, nothing more.
    ///
    /// The length is what completes the record arriving plus the next record's header, so
    /// records arrive one per receive; a smaller receive is fine. The next record is opened
    /// once the plaintext before it was read (its plaintext follows in the same memory).
    /// Empty when two records wait unread: read plaintext first. The memory is kept between
    /// records; [`Connection::release_buffers`] gives it back while nothing waits.
    pub fn recv_buffer(&mut self) -> &mut [u8] {
        let want = self.inbuf.next_want();
        self.inbuf.recv_space(want)
    }

    /// Zero-copy receive, step two: `n` bytes were written at the start of
    /// [`Connection::recv_buffer`]; process them as [`Connection::feed`] would. More than
    /// the buffer held is a usage error and nothing is taken.
    pub fn commit_received(&mut self, n: usize) -> Result<(), Error> {
        self.sticky()?;
        if let Err(offered) = self.inbuf.commit_raw(n) {
            return Err(Error::Usage(format!(
                "commit_received of {n} bytes, but the receive buffer was {offered} bytes                  (call recv_buffer before each receive and commit at most its length)"
            )));
        }
        self.io_started = true;
        self.common.early_trace = None;
        self.common.release_first_flight();
        self.process_received()
    }

    /// Give back the memory the zero-copy paths keep between records (the receive buffer and
    /// the outgoing one), where nothing waits in it: an idle connection then holds none.
    pub fn release_buffers(&mut self) {
        self.inbuf.release();
        self.common.record.release();
        self.common.release_hs_buffer();
    }

    /// Work through ciphertext received in place: open whole application-data records where
    /// they lie (one at a time: the next once the plaintext before it was read), and hand
    /// anything else (handshake records, a record cut short by the end of what arrived while
    /// another kind of record is assembled) to the deframer, which copies it. Fails the
    /// connection itself on an error. An EOF that came while records waited unread counts
    /// once they are read.
    fn process_received(&mut self) -> Result<(), Error> {
        if let Err(e) = self.open_received() {
            return Err(if self.error.is_some() {
                e
            } else {
                self.fail(e)
            });
        }
        let waiting = self.inbuf.raw_len() > 0 && self.plaintext_buffered() > 0;
        if self.eof_after_received && !waiting {
            self.eof_after_received = false;
            return self.feed_eof();
        }
        Ok(())
    }

    fn open_received(&mut self) -> Result<(), Error> {
        while self.inbuf.raw_len() > 0 {
            if self.received_close {
                // RFC 8446 §6.1: data after close_notify is ignored.
                let _ = self.inbuf.take_raw();
                return Ok(());
            }
            if let Some(limit) = self.bulk_limit().filter(|_| self.deframer.buffered() == 0) {
                if self.plaintext_buffered() > 0 {
                    return Ok(()); // the next record waits until this plaintext is read
                }
                let raw = self.inbuf.raw();
                if let Some((header, body)) = deframer::whole_application_record(raw, limit) {
                    let (at, len) = (self.inbuf.raw_start() + HEADER_LEN, body.len());
                    if !self.open_record(&header, at, len, Lying::Received)? {
                        return Err(Error::Internal(
                            "an application_data record arrived with no read key after the \
                             handshake"
                                .into(),
                        ));
                    }
                    continue;
                }
                if deframer::partial_application_record(raw, limit) {
                    return Ok(()); // the rest of the record is still to come
                }
            }
            // The deframer's way (a copy): during a handshake, or anything not a plain
            // application_data record; it reports malformed input as `feed` does.
            if !self.received_to_deframer()? {
                return Ok(()); // buffers are full: the caller reads first
            }
        }
        Ok(())
    }

    /// Hand the ciphertext received in place to the deframer (a copy); whether it took all.
    fn received_to_deframer(&mut self) -> Result<bool, Error> {
        let raw = self.inbuf.take_raw();
        let taken = self.feed_records(&raw)?;
        self.inbuf.put_back_raw(&raw[taken..]);
        Ok(taken == raw.len())
    }

    /// Read plaintext from the peer.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadStatus, Error> {
        if self.poll_peer_authenticated() {
            return Ok(ReadStatus::PeerAuthenticated);
        }
        let avail = self.readable();
        if avail > 0 {
            let n = avail.min(buf.len());
            buf[..n].copy_from_slice(&self.inbuf.plaintext()[..n]);
            self.consume_plaintext(n)?;
            return Ok(ReadStatus::Data(n));
        }
        if self.received_close {
            return Ok(ReadStatus::Closed);
        }
        self.sticky()?;
        Ok(ReadStatus::WouldBlock)
    }

    /// Plaintext buffered and ready to read (up to the next point where the peer
    /// authenticated again, [`ReadStatus::PeerAuthenticated`]).
    pub fn readable(&self) -> usize {
        let buffered = self.plaintext_buffered();
        match self.boundaries.front() {
            Some((at, _)) => buffered.min((at - self.delivered) as usize),
            None => buffered,
        }
    }

    /// For callers of [`Connection::peek_plaintext`]: whether the stream has reached a point
    /// where the peer authenticated again ([`ReadStatus::PeerAuthenticated`], which `read`
    /// reports by itself). True once per point; the peer's identity changes then.
    pub fn poll_peer_authenticated(&mut self) -> bool {
        let at_boundary = self
            .boundaries
            .front()
            .is_some_and(|(at, _)| *at == self.delivered);
        if at_boundary && let Some((_, chain)) = self.boundaries.pop_front() {
            self.common.neg.peer_certs = chain;
        }
        at_boundary
    }

    /// The plaintext waiting to be read, without copying it out (records are decrypted in
    /// place, so this is where they landed). Pair with [`Connection::consume_plaintext`];
    /// [`Connection::read`] is this plus a copy. Empty when nothing is waiting.
    pub fn peek_plaintext(&self) -> &[u8] {
        &self.inbuf.plaintext()[..self.readable()]
    }

    /// Mark `n` bytes of [`Connection::peek_plaintext`] as read (clamped to what is there).
    /// Records held back because the plaintext buffer was full are processed now.
    pub fn consume_plaintext(&mut self, n: usize) -> Result<(), Error> {
        let n = n.min(self.readable());
        self.delivered += n as u64;
        // Drained, the memory goes back (an idle connection holds no buffers) unless the
        // caller receives into it.
        self.inbuf.consume_plaintext(n);
        let r = self.process();
        if r.is_ok() && self.inbuf.raw_len() > 0 {
            // The next record received in place is opened now (it fails the connection
            // itself on an error).
            let r = self.process_received();
            self.release_idle_buffers();
            return r;
        }
        self.release_idle_buffers();
        if let Err(e) = r {
            return Err(self.fail(e));
        }
        Ok(())
    }

    /// Queue close_notify; idempotent.
    pub fn close(&mut self) {
        if !self.sent_close && self.error.is_none() {
            self.sent_close = true;
            self.common
                .send_alert(AlertLevel::Warning, AlertDescription::CloseNotify);
        }
    }

    /// Whether more ciphertext from the peer is useful.
    pub fn wants_read(&self) -> bool {
        self.error.is_none() && !self.received_close
    }

    /// Whether ciphertext is waiting to be sent.
    pub fn wants_write(&self) -> bool {
        self.outgoing_len() > 0
    }

    /// Whether the peer sent close_notify.
    pub fn received_close_notify(&self) -> bool {
        self.received_close
    }

    /// The sticky fatal error, if any.
    pub fn error(&self) -> Option<&ConnError> {
        self.error.as_ref()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.common.neg.version
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.common.neg.suite.map(|s| s.suite)
    }

    /// The key-exchange group.
    pub fn group(&self) -> Option<NamedGroup> {
        self.common.neg.group
    }

    /// The verify_data of the latest Finished message this side sent and of the latest it
    /// received (empty before any), as OpenSSL's `SSL_get_finished` / `SSL_get_peer_finished`
    /// report them: the client's first is the "tls-unique" channel binding (RFC 5929) in TLS 1.2.
    pub fn finished_messages(&self) -> (&[u8], &[u8]) {
        let c = &self.common;
        (
            &c.finished_sent[..c.finished_sent_len as usize],
            &c.finished_received[..c.finished_received_len as usize],
        )
    }

    /// The signature scheme the server (or client, for a server) signed with.
    pub fn signature_scheme(&self) -> Option<SignatureScheme> {
        self.common.neg.sig_scheme
    }

    /// The ALPN protocol chosen.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.common.neg.alpn.as_deref()
    }

    /// Client: the SNI sent; server: the SNI received.
    pub fn server_name(&self) -> Option<&str> {
        self.common.neg.sni.as_deref()
    }

    /// The peer's certificate chain (DER, leaf first).
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        &self.common.neg.peer_certs
    }

    /// The subject of the peer's leaf certificate.
    pub fn peer_cert_subject(&self) -> Option<String> {
        let leaf = self.common.neg.peer_certs.first()?;
        crate::verify::cert_info::describe(leaf).map(|i| i.subject)
    }

    /// How the handshake went, once it is done.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.common.neg.kind
    }

    /// The last alert sent or received, and whether we sent it.
    pub fn last_alert(&self) -> Option<(AlertDescription, bool)> {
        self.common.last_alert
    }

    /// Derive keying material for the application (RFC 8446 §7.5, RFC 5705).
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        if !self.established {
            return Err(Error::Usage(
                "keying material can be exported only after the handshake".into(),
            ));
        }
        // `self.established` stays true after a failure, which drops the state. During a
        // renegotiation the last handshake's secrets are in use.
        let state = self
            .state
            .as_ref()
            .and_then(State::established)
            .or(self.common.renegotiating.as_ref().map(|r| &*r.previous))
            .ok_or_else(|| Error::Usage("the connection has failed".into()))?;
        state.export_keying_material(out, label, context)
    }

    /// Handshake Again, the seed's scenario: a server asks for the client's certificate after
    /// the handshake — TLS 1.3 post-handshake authentication (RFC 8446 §4.6.2; the client
    /// must have offered it), or in TLS 1.2 a secure renegotiation (RFC 5746: a HelloRequest,
    /// then a new handshake with a CertificateRequest). The answer is checked as in the
    /// handshake, with this connection's verification mode; `read` then reports
    /// [`ReadStatus::PeerAuthenticated`] at the point of the stream where the new identity
    /// begins. A TLS 1.2 client that declines (a no_renegotiation warning) has answered
    /// "none": fatal when the mode requires a certificate. A usage error (a client, a request
    /// still open, a client that cannot be asked, a mode that accepts no certificate,
    /// renegotiation off or past its bound, close_notify) changes nothing.
    pub fn request_client_certificate(&mut self) -> Result<(), Error> {
        self.sticky()?;
        if self.common.is_client || !self.established {
            return Err(Error::Usage(
                "only a server asks for a client certificate, after its handshake".into(),
            ));
        }
        let closing = self.sent_close || self.received_close;
        self.change_state(|state, cx| match state {
            State::Server(srv) => srv
                .request_client_certificate(cx, closing)
                .map(State::Server)
                .map_err(|(srv, e)| (srv.map(State::Server), e)),
            other => Err((
                Some(other),
                Error::Internal("a server without its state".into()),
            )),
        })
    }

    /// Handshake Again in TLS 1.2: a client starts a secure renegotiation (RFC 5746) — a full
    /// handshake under the current keys, whose renegotiation_info binds it to this
    /// connection; a server asks the client for one (HelloRequest). Application data keeps
    /// flowing meanwhile, and the new keys take over at each side's ChangeCipherSpec; on a
    /// server `read` reports [`ReadStatus::PeerAuthenticated`] where the new handshake
    /// completed (the client's identity may change there). A usage error (TLS 1.3, a
    /// handshake in progress, close_notify sent or received, renegotiation switched off, a
    /// peer without RFC 5746 support, the per-minute bound) changes nothing. The peer may
    /// decline with a no_renegotiation warning; the connection then goes on as it was.
    pub fn renegotiate(&mut self) -> Result<(), Error> {
        self.sticky()?;
        if !self.established {
            return Err(Error::Usage(
                "a renegotiation can start only after the handshake".into(),
            ));
        }
        let closing = self.sent_close || self.received_close;
        if self.common.is_client && closing {
            return Err(Error::Usage(
                "the connection is closing (close_notify was sent or received): no renegotiation"
                    .into(),
            ));
        }
        self.change_state(|state, cx| match state {
            State::Client(c) => c
                .renegotiate(cx)
                .map(State::Client)
                .map_err(|(c, e)| (c.map(State::Client), e)),
            State::Server(srv) => srv
                .renegotiate(cx, closing)
                .map(State::Server)
                .map_err(|(srv, e)| (srv.map(State::Server), e)),
        })
    }

    /// A change the application asks of the state (Handshake Again): a usage error gives the
    /// state back unchanged, any other error is the connection's fatal error.
    fn change_state(
        &mut self,
        change: impl FnOnce(State, &mut Common) -> Result<State, (Option<State>, Error)>,
    ) -> Result<(), Error> {
        let Some(state) = self.state.take() else {
            return Err(Error::Internal("a connection without its state".into()));
        };
        match change(state, &mut self.common) {
            Ok(next) => {
                self.step = next.step();
                self.state = Some(next);
                Ok(())
            }
            Err((Some(unchanged), e)) => {
                self.state = Some(unchanged);
                Err(e)
            }
            Err((None, e)) => Err(self.fail(e)),
        }
    }

    /// Update our sending keys (TLS 1.3 KeyUpdate), asking the peer to update too if
    /// `request_peer`.
    pub fn key_update(&mut self, request_peer: bool) -> Result<(), Error> {
        self.sticky()?;
        if !self.established || !self.common.is_tls13() {
            return Err(Error::Usage(
                "KeyUpdate needs a completed TLS 1.3 handshake".into(),
            ));
        }
        let Some(state) = self.state.as_mut().and_then(State::established_mut) else {
            return Err(Error::Internal(
                "an established connection without its state".into(),
            ));
        };
        state
            .send_key_update(&mut self.common, request_peer)
            .map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests;
