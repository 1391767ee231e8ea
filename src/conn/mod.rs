// STUB: replaced by the real engine on merge
//! The sans-IO connection (stub with the contract's public API).

use std::sync::Arc;

use crate::codec::enums::{
    AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme,
};
use crate::config::{Config, Role};
use crate::error::Error;

/// Result of a plaintext read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStatus {
    /// This many bytes were copied.
    Data(usize),
    /// No plaintext is available yet.
    WouldBlock,
    /// The peer sent close_notify.
    Closed,
}

/// How the handshake went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeKind {
    /// A full handshake.
    Full,
    /// A full handshake with a HelloRetryRequest.
    FullWithHelloRetry,
    /// A resumed handshake.
    Resumed,
}

/// Kinds of trace events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// A record was received.
    RecordIn,
    /// A record was sent.
    RecordOut,
    /// A handshake message was received.
    HandshakeIn,
    /// A handshake message was sent.
    HandshakeOut,
    /// An alert was received.
    AlertIn,
    /// An alert was sent.
    AlertOut,
    /// A state change.
    State,
    /// A negotiated parameter.
    Negotiated,
    /// An error.
    Error,
}

/// One trace event.
pub struct TraceEvent<'a> {
    /// What happened.
    pub kind: TraceKind,
    /// Human-readable text.
    pub text: &'a str,
}

/// A trace sink.
pub type TraceFn = Box<dyn FnMut(&TraceEvent<'_>) + Send>;

/// The sticky fatal error of a connection, with context.
#[derive(Clone, Debug)]
pub struct ConnError {
    /// The error.
    pub error: Error,
    /// Where it happened.
    pub step: String,
    /// The alert we sent, if any.
    pub alert_sent: Option<AlertDescription>,
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.error)
    }
}

fn stub<T>() -> Result<T, Error> {
    Err(Error::Internal("stub".into()))
}

/// A TLS connection.
pub struct Connection {
    client: bool,
    _config: Arc<Config>,
}

impl Connection {
    /// A client connection; a server-role config is `Error::Usage`.
    pub fn new_client(config: Arc<Config>, _server_name: Option<&str>) -> Result<Self, Error> {
        if config.role() != Role::Client {
            return Err(Error::Usage("stub: server config".into()));
        }
        Ok(Self {
            client: true,
            _config: config,
        })
    }
    /// A server connection.
    pub fn new_server(config: Arc<Config>) -> Result<Self, Error> {
        if config.role() != Role::Server {
            return Err(Error::Usage("stub: client config".into()));
        }
        Ok(Self {
            client: false,
            _config: config,
        })
    }
    /// Whether this is the client side.
    pub fn is_client(&self) -> bool {
        self.client
    }
    /// Install or remove the trace sink.
    pub fn set_trace(&mut self, _trace: Option<TraceFn>) {}
    /// Ciphertext in.
    pub fn feed(&mut self, _data: &[u8]) -> Result<usize, Error> {
        stub()
    }
    /// Transport EOF.
    pub fn feed_eof(&mut self) -> Result<(), Error> {
        stub()
    }
    /// Ciphertext waiting to be sent.
    pub fn outgoing_len(&self) -> usize {
        0
    }
    /// The waiting ciphertext.
    pub fn peek_outgoing(&self) -> &[u8] {
        &[]
    }
    /// Drop `n` bytes of waiting ciphertext.
    pub fn consume_outgoing(&mut self, _n: usize) {}
    /// Copy out waiting ciphertext.
    pub fn take_outgoing(&mut self, _buf: &mut [u8]) -> usize {
        0
    }
    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        true
    }
    /// Plaintext in.
    pub fn write(&mut self, _data: &[u8]) -> Result<usize, Error> {
        stub()
    }
    /// Plaintext out.
    pub fn read(&mut self, _buf: &mut [u8]) -> Result<ReadStatus, Error> {
        stub()
    }
    /// Buffered plaintext.
    pub fn readable(&self) -> usize {
        0
    }
    /// Queue close_notify.
    pub fn close(&mut self) {}
    /// Whether the engine needs ciphertext.
    pub fn wants_read(&self) -> bool {
        true
    }
    /// Whether the engine has ciphertext to send.
    pub fn wants_write(&self) -> bool {
        false
    }
    /// Whether close_notify was received.
    pub fn received_close_notify(&self) -> bool {
        false
    }
    /// The sticky fatal error.
    pub fn error(&self) -> Option<&ConnError> {
        None
    }
    /// Negotiated version.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        None
    }
    /// Negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        None
    }
    /// Negotiated group.
    pub fn group(&self) -> Option<NamedGroup> {
        None
    }
    /// Negotiated signature scheme.
    pub fn signature_scheme(&self) -> Option<SignatureScheme> {
        None
    }
    /// Negotiated ALPN protocol.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        None
    }
    /// SNI sent (client) or received (server).
    pub fn server_name(&self) -> Option<&str> {
        None
    }
    /// Peer chain, DER, leaf first.
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        &[]
    }
    /// Leaf subject.
    pub fn peer_cert_subject(&self) -> Option<String> {
        None
    }
    /// How the handshake went.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        None
    }
    /// Last alert sent or received.
    pub fn last_alert(&self) -> Option<(AlertDescription, bool)> {
        None
    }
    /// RFC 5705 / RFC 8446 §7.5 exporter.
    pub fn export_keying_material(
        &self,
        _out: &mut [u8],
        _label: &[u8],
        _context: Option<&[u8]>,
    ) -> Result<(), Error> {
        stub()
    }
    /// Send a KeyUpdate.
    pub fn key_update(&mut self, _request_peer: bool) -> Result<(), Error> {
        stub()
    }
}
