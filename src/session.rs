//! Session resumption state: what a server seals into tickets or keeps in its session-ID
//! cache, the rotating ticket keys, and the client's sessions (cache and exportable blobs).
//!
//! Every store is bounded; every decoder takes untrusted bytes and fails with an error,
//! never a panic. Secrets live in [`Secret`] (zeroized on drop).
//!
//! Three seams (DESIGN.md §4a) let the state live outside the process or the [`Config`]:
//! [`ServerSessionStore`] (a server's TLS 1.2 sessions by session ID), [`ClientSessionStore`]
//! (a client's sessions by server name) and [`TicketSealer`] (what turns a server's session
//! into a ticket and back). Each defaults to the built-in behaviour: a bounded in-memory cache
//! per configuration ([`ConfigBuilder::set_session_cache`]) and rotating AES-256-GCM ticket
//! keys ([`TicketKeys`]).
//!
//! [`Config`]: crate::config::Config
//! [`ConfigBuilder::set_session_cache`]: crate::config::ConfigBuilder::set_session_cache

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::codec::enums::{CipherSuite, ProtocolVersion};
use crate::codec::{
    InvalidMessage, Reader, put_u16, put_u32, put_vec_u8, put_vec_u16, put_vec_u24,
};
use crate::crypto::aead::{AeadAlgorithm, AeadKey, NONCE_LEN};
use crate::crypto::ct::constant_time_eq;
use crate::crypto::hash::HashAlgorithm;
use crate::crypto::hkdf::Secret;
use crate::crypto::rand;
use crate::error::{Error, Reason};

/// A peer's certificate chain (DER, leaf first), shared between the connection and the
/// sessions it saves rather than copied into each.
pub(crate) type CertChain = std::sync::Arc<[Vec<u8>]>;

/// Largest ticket a server issues or even tries to open.
pub const MAX_TICKET_LEN: usize = 16 * 1024;
/// Largest client session blob accepted by `Connection::set_session`.
pub const MAX_SESSION_BLOB: usize = 64 * 1024;
/// TLS 1.3 tickets a client keeps per server name.
pub const MAX_TICKETS_PER_SERVER: usize = 4;
/// Tolerated difference between the client's and the server's view of a ticket's age.
pub const TICKET_AGE_TOLERANCE_MS: u64 = 10_000;
/// PSK identities a server looks at in one ClientHello.
pub const MAX_PSK_IDENTITIES: usize = 4;
/// The longest ticket lifetime RFC 8446 §4.6.1 allows (7 days).
pub const MAX_TICKET_LIFETIME: u32 = 7 * 24 * 3600;

const KEY_ID_LEN: usize = 16;

/// A server's store of resumable TLS 1.2 sessions, keyed by session ID (what an external
/// cache such as a shared-memory or network cache needs). `value` is the engine's serialized
/// session: opaque, versioned, and it holds the session's master secret, so keep it like a
/// key. The engine decodes what `get` returns and checks it (version, expiry, suite, server
/// name, Extended Master Secret) before resuming; anything it cannot read is a full
/// handshake, never an error.
///
/// TLS 1.3 does not use the store: its tickets are stateless, sealed by the
/// [`TicketSealer`]. A TLS 1.2 ticket (RFC 5077) is sealed by the sealer as well; the store
/// is consulted when the client offers a session ID and no ticket.
///
/// Calls come from any thread, concurrently, during handshakes: keep them short.
pub trait ServerSessionStore: Send + Sync + fmt::Debug {
    /// Remember `value` under `id` (a session ID of 32 random bytes); return whether it was
    /// stored. The engine goes on either way; a session not stored just cannot be resumed.
    fn put(&self, id: Vec<u8>, value: Vec<u8>) -> bool;
    /// The value stored under `id`, if any.
    fn get(&self, id: &[u8]) -> Option<Vec<u8>>;
}

/// A client's store of resumable sessions, keyed by the server name a connection was made
/// for. Values are the blobs `Connection::session` returns and `Connection::set_session`
/// takes (versioned, SHA-256-checksummed; they hold the session's secret).
///
/// `put` is called for every session the client receives (a TLS 1.2 handshake's session, each
/// TLS 1.3 NewSessionTicket); `get` when a connection to that name starts without a session
/// given by `set_session`. A TLS 1.3 ticket is meant for one use (RFC 8446 §C.4): a store
/// should hand it out once (remove it on `get`); a TLS 1.2 session may be resumed again and
/// again. A blob that does not parse, is expired or is for a suite or version no longer
/// enabled leads to a full handshake.
pub trait ClientSessionStore: Send + Sync + fmt::Debug {
    /// Remember `session` (a blob) for `server_name`.
    fn put(&self, server_name: &str, session: Vec<u8>);
    /// A session blob to offer to `server_name`, if any.
    fn get(&self, server_name: &str) -> Option<Vec<u8>>;
}

/// Seals a server's session into a ticket and opens it again: TLS 1.3 tickets (RFC 8446
/// §4.6.1) and TLS 1.2 tickets (RFC 5077). `plain` is the engine's serialized session (it
/// holds the session secret); the ticket goes to the client in the clear, so a sealer must
/// encrypt and authenticate it (an AEAD under a key the sealer owns and rotates). The
/// engine brings no cryptography to a custom sealer: that is the sealer's responsibility.
/// The default is [`TicketKeys`].
///
/// `open` returns `None` for anything not sealed by this sealer, tampered or retired; the
/// client then gets a full handshake. Tickets longer than [`MAX_TICKET_LEN`] are neither
/// issued nor opened.
pub trait TicketSealer: Send + Sync + fmt::Debug {
    /// Seal `plain` into a ticket; `None` means "no ticket this time".
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>>;
    /// Open a ticket this sealer made; `None` for anything else.
    fn open(&self, ticket: &[u8]) -> Option<Vec<u8>>;
    /// How long tickets stay valid, in seconds (1 to [`MAX_TICKET_LIFETIME`]). Read once,
    /// when the configuration is built; it replaces `ConfigBuilder::set_ticket_lifetime`.
    fn lifetime_secs(&self) -> u32;
    /// TLS 1.2: whether a ticket that `open` accepted should be replaced by a new one in the
    /// abbreviated handshake (e.g. its key is about to retire). Default: no, the client keeps
    /// using the ticket it has (RFC 5077 §3.3 makes renewal optional).
    fn should_renew(&self, ticket: &[u8]) -> bool {
        let _ = ticket;
        false
    }
}

fn bad(what: &'static str) -> InvalidMessage {
    InvalidMessage::InvalidValue(what)
}

fn put_u64(v: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn read_u64(r: &mut Reader<'_>, what: &'static str) -> Result<u64, InvalidMessage> {
    let b = r.take_or(8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_be_bytes(a))
}

fn put_opt(v: Option<&[u8]>, out: &mut Vec<u8>) {
    put_vec_u16(v.unwrap_or(&[]), out);
}

fn read_opt(r: &mut Reader<'_>, what: &'static str) -> Result<Option<Vec<u8>>, InvalidMessage> {
    let v = r.vec_u16(what)?;
    Ok((!v.is_empty()).then(|| v.to_vec()))
}

fn read_name(r: &mut Reader<'_>) -> Result<Option<String>, InvalidMessage> {
    match read_opt(r, "server name")? {
        Some(v) => String::from_utf8(v)
            .map(Some)
            .map_err(|_| bad("server name is not UTF-8")),
        None => Ok(None),
    }
}

fn certs_len(certs: &[Vec<u8>]) -> usize {
    certs.iter().map(|c| 3 + c.len()).sum()
}

fn put_certs(certs: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(&(certs_len(certs) as u32).to_be_bytes()[1..]);
    for c in certs {
        put_vec_u24(c, out);
    }
}

fn read_certs(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, InvalidMessage> {
    let mut sub = Reader::new(r.vec_u24("certificates")?);
    let mut out = Vec::new();
    while sub.any_left() {
        out.push(sub.vec_u24("certificate")?.to_vec());
    }
    Ok(out)
}

/// What a server remembers about a session: sealed into a ticket or kept in its cache.
#[derive(Clone, Debug)]
pub(crate) struct ServerSession {
    pub(crate) version: ProtocolVersion,
    pub(crate) suite: CipherSuite,
    /// TLS 1.2: the master secret; TLS 1.3: the ticket's PSK.
    pub(crate) secret: Secret,
    pub(crate) ems: bool,
    pub(crate) created_ms: u64,
    pub(crate) lifetime: u32,
    pub(crate) age_add: u32,
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) sni: Option<String>,
    pub(crate) peer_certs: CertChain,
}

const SERVER_STATE_V1: u8 = 1;

impl ServerSession {
    /// The exact length of [`ServerSession::encode_into`]'s output.
    fn encoded_len(&self) -> usize {
        1 + 2
            + 2
            + 1
            + self.secret.len()
            + 1
            + 8
            + 4
            + 4
            + 2
            + self.alpn.as_ref().map_or(0, Vec::len)
            + 2
            + self.sni.as_ref().map_or(0, String::len)
            + 3
            + certs_len(&self.peer_certs)
    }

    fn encode_into(&self, o: &mut Vec<u8>) {
        o.push(SERVER_STATE_V1);
        put_u16(self.version.to_int(), o);
        put_u16(self.suite.to_int(), o);
        put_vec_u8(self.secret.as_bytes(), o);
        o.push(u8::from(self.ems));
        put_u64(self.created_ms, o);
        put_u32(self.lifetime, o);
        put_u32(self.age_add, o);
        put_opt(self.alpn.as_deref(), o);
        put_opt(self.sni.as_deref().map(str::as_bytes), o);
        put_certs(&self.peer_certs, o);
    }

    fn decode(b: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(b);
        if r.u8("state version")? != SERVER_STATE_V1 {
            return Err(bad("unknown session state version"));
        }
        let s = Self {
            version: ProtocolVersion::from(r.u16("version")?),
            suite: CipherSuite::from(r.u16("suite")?),
            secret: Secret::from_slice(r.vec_u8("secret")?),
            ems: r.u8("ems")? == 1,
            created_ms: read_u64(&mut r, "created")?,
            lifetime: r.u32("lifetime")?,
            age_add: r.u32("age_add")?,
            alpn: read_opt(&mut r, "alpn")?,
            sni: read_name(&mut r)?,
            peer_certs: read_certs(&mut r)?.into(),
        };
        r.expect_empty("session state")?;
        Ok(s)
    }

    /// Whether the session is past its lifetime at `now_ms`.
    pub(crate) fn expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.created_ms) > u64::from(self.lifetime) * 1000
            || now_ms + TICKET_AGE_TOLERANCE_MS < self.created_ms
    }

    /// The serialized session a [`ServerSessionStore`] or [`TicketSealer`] receives. It holds
    /// the secret: the buffer is wiped when dropped.
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut o = Zeroizing::new(Vec::with_capacity(self.encoded_len()));
        self.encode_into(&mut o);
        o
    }

    /// Parse [`Self::to_bytes`]'s output (from a store or a sealer: untrusted).
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Self> {
        Self::decode(b).ok()
    }
}

/// Seal `s` with `sealer`; `None` when there is no ticket (too large, or the sealer declined).
pub(crate) fn seal_session(sealer: &dyn TicketSealer, s: &ServerSession) -> Option<Vec<u8>> {
    if s.encoded_len() > MAX_TICKET_LEN {
        return None;
    }
    sealer
        .seal(&s.to_bytes())
        .filter(|t| !t.is_empty() && t.len() <= MAX_TICKET_LEN)
}

/// Open a ticket with `sealer`; `None` for anything it does not accept or that does not parse.
pub(crate) fn open_session(sealer: &dyn TicketSealer, ticket: &[u8]) -> Option<ServerSession> {
    if ticket.is_empty() || ticket.len() > MAX_TICKET_LEN {
        return None;
    }
    let plain = Zeroizing::new(sealer.open(ticket)?);
    ServerSession::from_bytes(&plain)
}

struct TicketKey {
    id: [u8; KEY_ID_LEN],
    key: AeadKey,
    created_ms: u64,
}

impl TicketKey {
    fn new(now_ms: u64) -> Result<Self, Error> {
        let mut raw = Zeroizing::new([0u8; 32]);
        rand::fill(&mut raw[..])?;
        Ok(Self {
            id: rand::random_array()?,
            key: AeadKey::new(AeadAlgorithm::Aes256Gcm, &raw[..])?,
            created_ms: now_ms,
        })
    }
}

/// The default [`TicketSealer`]: AES-256-GCM under keys it makes itself. A new key takes over
/// every `rotation` seconds; the one before still opens tickets for one more period, then it
/// is gone. A ticket is key id ‖ nonce ‖ AEAD(state), with the key id as associated data.
/// `should_renew` says yes for a ticket sealed with the retiring key.
pub struct TicketKeys {
    rotation_ms: u64,
    lifetime: u32,
    clock: fn() -> u64,
    keys: Mutex<(Option<TicketKey>, Option<TicketKey>)>,
}

impl fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketKeys")
            .field("rotation_ms", &self.rotation_ms)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl TicketKeys {
    /// Keys that rotate every `rotation_secs` (at least 1) for tickets valid `lifetime_secs`
    /// (at most [`MAX_TICKET_LIFETIME`]), on the system clock.
    pub fn new(rotation_secs: u32, lifetime_secs: u32) -> Self {
        Self::with_clock(rotation_secs, lifetime_secs, system_now_ms)
    }

    pub(crate) fn with_clock(rotation_secs: u32, lifetime_secs: u32, clock: fn() -> u64) -> Self {
        Self {
            rotation_ms: u64::from(rotation_secs.max(1)) * 1000,
            lifetime: lifetime_secs.min(MAX_TICKET_LIFETIME),
            clock,
            keys: Mutex::new((None, None)),
        }
    }

    fn rotate(
        &self,
        keys: &mut (Option<TicketKey>, Option<TicketKey>),
        now_ms: u64,
    ) -> Result<(), Error> {
        let due = keys
            .0
            .as_ref()
            .is_none_or(|k| now_ms.saturating_sub(k.created_ms) >= self.rotation_ms);
        if due {
            let fresh = TicketKey::new(now_ms)?;
            keys.1 = keys.0.replace(fresh);
        }
        if keys
            .1
            .as_ref()
            .is_some_and(|k| now_ms.saturating_sub(k.created_ms) >= 2 * self.rotation_ms)
        {
            keys.1 = None;
        }
        Ok(())
    }

    /// Seal `plain` at `now_ms`: key_id || nonce || AEAD(plain), the key id as associated data.
    fn seal_at(&self, plain: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, Error> {
        const HEAD: usize = KEY_ID_LEN + NONCE_LEN;
        let total = HEAD + plain.len() + AeadAlgorithm::TAG_LEN;
        if total > MAX_TICKET_LEN {
            return Ok(None);
        }
        // Built and sealed in one buffer of the exact size, wiped if anything fails before
        // it is sealed.
        let mut out = Zeroizing::new(Vec::with_capacity(total));
        out.resize(HEAD, 0);
        out.extend_from_slice(plain);
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| Error::Internal("the ticket key lock is poisoned".into()))?;
        self.rotate(&mut keys, now_ms)?;
        let Some(k) = keys.0.as_ref() else {
            return Ok(None);
        };
        let nonce: [u8; NONCE_LEN] = rand::random_array()?;
        out[..KEY_ID_LEN].copy_from_slice(&k.id);
        out[KEY_ID_LEN..HEAD].copy_from_slice(&nonce);
        let tag = k
            .key
            .seal_in_place_separate_tag(nonce, &k.id, &mut out[HEAD..])?;
        out.extend_from_slice(&tag);
        debug_assert_eq!(out.len(), total);
        Ok(Some(std::mem::take(&mut *out)))
    }

    /// Open a ticket at `now_ms`; `None` for anything unknown, forged, tampered or malformed.
    fn open_at(&self, ticket: &[u8], now_ms: u64) -> Option<Vec<u8>> {
        if ticket.len() > MAX_TICKET_LEN
            || ticket.len() < KEY_ID_LEN + NONCE_LEN + AeadAlgorithm::TAG_LEN
        {
            return None;
        }
        let mut keys = self.keys.lock().ok()?;
        self.rotate(&mut keys, now_ms).ok()?;
        let (id, rest) = ticket.split_at(KEY_ID_LEN);
        let k = [keys.0.as_ref(), keys.1.as_ref()]
            .into_iter()
            .find_map(|k| k.filter(|k| constant_time_eq(&k.id, id)))?;
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = k.key.open_in_place(n, id, &mut buf).ok()?;
        Some(plain.to_vec())
    }

    /// Whether `ticket` was sealed with the retiring key (it stops opening after the next
    /// rotation, so it is worth re-issuing).
    fn retiring_at(&self, ticket: &[u8], now_ms: u64) -> bool {
        let Some(id) = ticket.get(..KEY_ID_LEN) else {
            return false;
        };
        let Ok(mut keys) = self.keys.lock() else {
            return false;
        };
        if self.rotate(&mut keys, now_ms).is_err() {
            return false;
        }
        keys.1.as_ref().is_some_and(|k| constant_time_eq(&k.id, id))
    }
}

impl TicketSealer for TicketKeys {
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.seal_at(plain, (self.clock)()).ok().flatten()
    }

    fn open(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        self.open_at(ticket, (self.clock)())
    }

    fn lifetime_secs(&self) -> u32 {
        self.lifetime
    }

    fn should_renew(&self, ticket: &[u8]) -> bool {
        self.retiring_at(ticket, (self.clock)())
    }
}

/// A map and its keys in insertion order (for oldest-first eviction).
type Fifo<K, V> = (HashMap<K, V>, VecDeque<K>);

/// The server's TLS 1.2 session-ID cache: bounded, oldest entry evicted first.
pub(crate) struct ServerCache {
    max: usize,
    inner: Mutex<Fifo<Vec<u8>, ServerSession>>,
}

impl ServerCache {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    pub(crate) fn put(&self, id: Vec<u8>, s: ServerSession) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let (map, order) = &mut *g;
        if map.insert(id.clone(), s).is_none() {
            order.push_back(id);
        }
        while map.len() > self.max {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
    }

    pub(crate) fn get(&self, id: &[u8]) -> Option<ServerSession> {
        self.inner.lock().ok()?.0.get(id).cloned()
    }
}

/// Where a server keeps TLS 1.2 sessions by ID: its own cache, or a [`ServerSessionStore`].
pub(crate) enum ServerStore {
    Builtin(ServerCache),
    Custom(Arc<dyn ServerSessionStore>),
}

impl ServerStore {
    pub(crate) fn put(&self, id: Vec<u8>, s: ServerSession) -> bool {
        match self {
            Self::Builtin(c) => {
                c.put(id, s);
                true
            }
            Self::Custom(store) => store.put(id, s.to_bytes().to_vec()),
        }
    }

    pub(crate) fn get(&self, id: &[u8]) -> Option<ServerSession> {
        match self {
            Self::Builtin(c) => c.get(id),
            Self::Custom(store) => {
                let value = Zeroizing::new(store.get(id)?);
                ServerSession::from_bytes(&value)
            }
        }
    }
}

/// A session a client can resume.
#[derive(Clone, Debug)]
pub(crate) enum ClientSession {
    Tls12(ClientSession12),
    Tls13(ClientSession13),
}

#[derive(Clone, Debug)]
pub(crate) struct ClientSession12 {
    pub(crate) suite: CipherSuite,
    pub(crate) master: Secret,
    pub(crate) ems: bool,
    pub(crate) session_id: Vec<u8>,
    pub(crate) ticket: Vec<u8>,
    pub(crate) server_name: Option<String>,
    pub(crate) peer_certs: CertChain,
    pub(crate) created_ms: u64,
    pub(crate) lifetime: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct ClientSession13 {
    pub(crate) suite: CipherSuite,
    pub(crate) psk: Secret,
    pub(crate) ticket: Vec<u8>,
    pub(crate) age_add: u32,
    pub(crate) server_name: Option<String>,
    pub(crate) peer_certs: CertChain,
    pub(crate) created_ms: u64,
    pub(crate) lifetime: u32,
}

/// Blob magic; the blob holds session secrets (a master secret or PSK): store it like a key.
const BLOB_MAGIC: &[u8; 4] = b"FTSS";
const BLOB_VERSION: u8 = 1;

impl ClientSession {
    pub(crate) fn server_name(&self) -> Option<&str> {
        match self {
            Self::Tls12(s) => s.server_name.as_deref(),
            Self::Tls13(s) => s.server_name.as_deref(),
        }
    }

    pub(crate) fn expired(&self, now_ms: u64) -> bool {
        let (created, lifetime) = match self {
            Self::Tls12(s) => (s.created_ms, s.lifetime),
            Self::Tls13(s) => (s.created_ms, s.lifetime),
        };
        now_ms.saturating_sub(created) > u64::from(lifetime) * 1000
    }

    /// The versioned, checksummed blob: magic, version, fields, SHA-256 of all before it.
    /// It contains the session's secret.
    pub(crate) fn to_blob(&self) -> Zeroizing<Vec<u8>> {
        let mut o = Zeroizing::new(Vec::new());
        o.extend_from_slice(BLOB_MAGIC);
        o.push(BLOB_VERSION);
        match self {
            Self::Tls12(s) => {
                put_u16(ProtocolVersion::TLSv1_2.to_int(), &mut o);
                put_u16(s.suite.to_int(), &mut o);
                put_vec_u8(s.master.as_bytes(), &mut o);
                o.push(u8::from(s.ems));
                put_vec_u8(&s.session_id, &mut o);
                put_vec_u16(&s.ticket, &mut o);
                put_opt(s.server_name.as_deref().map(str::as_bytes), &mut o);
                put_certs(&s.peer_certs, &mut o);
                put_u64(s.created_ms, &mut o);
                put_u32(s.lifetime, &mut o);
            }
            Self::Tls13(s) => {
                put_u16(ProtocolVersion::TLSv1_3.to_int(), &mut o);
                put_u16(s.suite.to_int(), &mut o);
                put_vec_u8(s.psk.as_bytes(), &mut o);
                put_u32(s.age_add, &mut o);
                put_vec_u16(&s.ticket, &mut o);
                put_opt(s.server_name.as_deref().map(str::as_bytes), &mut o);
                put_certs(&s.peer_certs, &mut o);
                put_u64(s.created_ms, &mut o);
                put_u32(s.lifetime, &mut o);
            }
        }
        let sum = HashAlgorithm::Sha256.hash(&o);
        o.extend_from_slice(sum.as_ref());
        o
    }

    /// Parse a blob from [`Self::to_blob`]; a corrupt or foreign blob is a clear error.
    pub(crate) fn from_blob(b: &[u8]) -> Result<Self, Error> {
        if b.len() > MAX_SESSION_BLOB {
            return Err(Error::Usage(format!(
                "the session blob is {} bytes; the limit is {MAX_SESSION_BLOB}",
                b.len()
            )));
        }
        if b.len() < BLOB_MAGIC.len() + 1 + 32 || &b[..4] != BLOB_MAGIC {
            return Err(Error::Usage(
                "not a ferrotls session blob (bad magic or too short)".into(),
            ));
        }
        if b[4] != BLOB_VERSION {
            return Err(Error::Usage(format!(
                "unsupported session blob version {} (this build reads version {BLOB_VERSION})",
                b[4]
            )));
        }
        let (body, sum) = b.split_at(b.len() - 32);
        if !constant_time_eq(HashAlgorithm::Sha256.hash(body).as_ref(), sum) {
            return Err(Error::peer(
                Reason::CorruptSessionBlob,
                "the session blob's checksum does not match: it is corrupt or was edited",
            ));
        }
        Self::parse(&body[5..]).map_err(|e| {
            Error::peer(
                Reason::CorruptSessionBlob,
                format!("the session blob is malformed: {e}"),
            )
        })
    }

    fn parse(body: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(body);
        let version = ProtocolVersion::from(r.u16("version")?);
        let suite = CipherSuite::from(r.u16("suite")?);
        let secret = Secret::from_slice(r.vec_u8("secret")?);
        let s = match version {
            ProtocolVersion::TLSv1_2 => {
                let ems = r.u8("ems")? == 1;
                let session_id = r.vec_u8("session id")?.to_vec();
                if session_id.len() > 32 {
                    return Err(bad("session id longer than 32 bytes"));
                }
                let ticket = r.vec_u16("ticket")?.to_vec();
                Self::Tls12(ClientSession12 {
                    suite,
                    master: secret,
                    ems,
                    session_id,
                    ticket,
                    server_name: read_name(&mut r)?,
                    peer_certs: read_certs(&mut r)?.into(),
                    created_ms: read_u64(&mut r, "created")?,
                    lifetime: r.u32("lifetime")?,
                })
            }
            ProtocolVersion::TLSv1_3 => {
                let age_add = r.u32("age_add")?;
                let ticket = r.vec_u16("ticket")?.to_vec();
                if ticket.is_empty() {
                    return Err(bad("empty ticket"));
                }
                Self::Tls13(ClientSession13 {
                    suite,
                    psk: secret,
                    ticket,
                    age_add,
                    server_name: read_name(&mut r)?,
                    peer_certs: read_certs(&mut r)?.into(),
                    created_ms: read_u64(&mut r, "created")?,
                    lifetime: r.u32("lifetime")?,
                })
            }
            _ => return Err(bad("unknown protocol version")),
        };
        r.expect_empty("session blob")?;
        Ok(s)
    }
}

#[derive(Default)]
struct ClientEntry {
    tls12: Option<ClientSession12>,
    tls13: VecDeque<ClientSession13>,
}

/// The client's sessions by server name: bounded, the oldest name evicted first. TLS 1.3
/// tickets are taken out when used (single use); a TLS 1.2 session stays until replaced.
pub(crate) struct ClientCache {
    max: usize,
    inner: Mutex<Fifo<String, ClientEntry>>,
}

impl ClientCache {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn with_entry(&self, name: &str, f: impl FnOnce(&mut ClientEntry)) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let (map, order) = &mut *g;
        if !map.contains_key(name) {
            order.push_back(name.to_owned());
        }
        f(map.entry(name.to_owned()).or_default());
        while map.len() > self.max {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
    }

    pub(crate) fn put(&self, name: &str, s: ClientSession) {
        self.with_entry(name, |e| match s {
            ClientSession::Tls12(s) => e.tls12 = Some(s),
            ClientSession::Tls13(s) => {
                if e.tls13.len() >= MAX_TICKETS_PER_SERVER {
                    e.tls13.pop_front();
                }
                e.tls13.push_back(s);
            }
        });
    }

    /// A session to offer: the newest unexpired TLS 1.3 ticket (removed), else the TLS 1.2
    /// session (kept).
    pub(crate) fn take(&self, name: &str, now_ms: u64) -> Option<ClientSession> {
        let mut g = self.inner.lock().ok()?;
        let e = g.0.get_mut(name)?;
        while let Some(t) = e.tls13.pop_back() {
            let s = ClientSession::Tls13(t);
            if !s.expired(now_ms) {
                return Some(s);
            }
        }
        let s = ClientSession::Tls12(e.tls12.clone()?);
        if s.expired(now_ms) {
            e.tls12 = None;
            return None;
        }
        Some(s)
    }
}

/// Where a client keeps sessions by server name: its own cache, or a [`ClientSessionStore`]
/// (which sees blobs).
pub(crate) enum ClientStore {
    Builtin(ClientCache),
    Custom(Arc<dyn ClientSessionStore>),
}

impl ClientStore {
    pub(crate) fn put(&self, name: &str, s: ClientSession) {
        match self {
            Self::Builtin(c) => c.put(name, s),
            Self::Custom(store) => store.put(name, s.to_blob().to_vec()),
        }
    }

    /// A session to offer to `name`, if any (the caller checks expiry and suites).
    pub(crate) fn take(&self, name: &str, now_ms: u64) -> Option<ClientSession> {
        match self {
            Self::Builtin(c) => c.take(name, now_ms),
            Self::Custom(store) => {
                let blob = Zeroizing::new(store.get(name)?);
                let s = ClientSession::from_blob(&blob).ok()?;
                // A blob stored for another name is not offered here.
                s.server_name().is_none_or(|n| n == name).then_some(s)
            }
        }
    }
}

/// Milliseconds since the Unix epoch from the system clock.
pub(crate) fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServerSession {
        ServerSession {
            version: ProtocolVersion::TLSv1_3,
            suite: CipherSuite::TLS_AES_128_GCM_SHA256,
            secret: Secret::from_slice(&[7; 32]),
            ems: true,
            created_ms: 1000,
            lifetime: 100,
            age_add: 5,
            alpn: Some(b"h2".to_vec()),
            sni: Some("a.test".into()),
            peer_certs: vec![vec![1, 2, 3]].into(),
        }
    }

    #[test]
    fn tickets_seal_open_rotate_and_refuse_tampering() {
        let keys = TicketKeys::new(10, 100);
        let t = keys.seal_at(&sample().to_bytes(), 1000).unwrap().unwrap();
        let s = ServerSession::from_bytes(&keys.open_at(&t, 1000).unwrap()).unwrap();
        assert_eq!(s.sni.as_deref(), Some("a.test"));
        assert_eq!(s.secret.as_bytes(), &[7; 32]);
        for i in [0, 20, t.len() - 1] {
            let mut bad = t.clone();
            bad[i] ^= 1;
            assert!(keys.open_at(&bad, 1000).is_none());
        }
        assert!(keys.open_at(&[0u8; 100], 1000).is_none());
        assert!(keys.open_at(&[], 1000).is_none());
        assert!(!keys.retiring_at(&t, 1000));
        // One rotation later the old key still opens (and is worth renewing); two later it
        // is gone.
        assert!(keys.open_at(&t, 15_000).is_some());
        assert!(keys.retiring_at(&t, 15_000));
        assert!(keys.open_at(&t, 25_000).is_none());
        assert!(!keys.retiring_at(&t, 25_000));
    }

    #[test]
    fn blobs_round_trip_and_reject_damage() {
        let s = ClientSession::Tls13(ClientSession13 {
            suite: CipherSuite::TLS_AES_128_GCM_SHA256,
            psk: Secret::from_slice(&[9; 32]),
            ticket: vec![1; 40],
            age_add: 77,
            server_name: Some("x.test".into()),
            peer_certs: vec![vec![5; 10]].into(),
            created_ms: 12,
            lifetime: 60,
        });
        let b = s.to_blob();
        let back = ClientSession::from_blob(&b).unwrap();
        assert_eq!(back.server_name(), Some("x.test"));
        for i in 0..b.len() {
            let mut bad = b.to_vec();
            bad[i] ^= 0x40;
            assert!(ClientSession::from_blob(&bad).is_err());
        }
        for n in 0..b.len() {
            assert!(ClientSession::from_blob(&b[..n]).is_err());
        }
    }

    #[test]
    fn caches_are_bounded() {
        let c = ServerCache::new(2);
        for i in 0..5u8 {
            c.put(vec![i], sample());
        }
        assert!(c.get(&[0]).is_none());
        assert!(c.get(&[4]).is_some());
        let cc = ClientCache::new(2);
        for n in ["a", "b", "c"] {
            let ClientSession::Tls13(t) = ClientSession::from_blob(
                &ClientSession::Tls13(ClientSession13 {
                    suite: CipherSuite::TLS_AES_128_GCM_SHA256,
                    psk: Secret::from_slice(&[1; 32]),
                    ticket: vec![1],
                    age_add: 0,
                    server_name: None,
                    peer_certs: vec![].into(),
                    created_ms: 0,
                    lifetime: 10,
                })
                .to_blob(),
            )
            .unwrap() else {
                unreachable!()
            };
            cc.put(n, ClientSession::Tls13(t));
        }
        assert!(cc.take("a", 0).is_none());
        assert!(cc.take("c", 0).is_some());
        assert!(cc.take("c", 0).is_none(), "a ticket is used once");
    }
}
