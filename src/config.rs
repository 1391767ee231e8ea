//! Client and server configuration: a mutable [`ConfigBuilder`] that checks every setting as
//! it is made, and an immutable [`Config`] shared by any number of connections through `Arc`.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use pki_types::CertificateDer;

use crate::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};
use crate::crypto::kx::{self, DEFAULT_GROUPS, SupportedGroup};
use crate::crypto::suites::{self, ALL_SUITES, SuiteInfo};
use crate::error::Error;
use crate::select::{AlpnSelector, CertResolver};
use crate::verify::pem;
use crate::verify::roots::RootStore;
use crate::verify::{ClientCertVerifier, ServerCertVerifier};

/// Which side of the handshake a configuration is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The party that speaks first (sends ClientHello).
    Client,
    /// The party that answers.
    Server,
}

/// How the peer is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyMode {
    /// Client default: verify the server's chain and name.
    VerifyServer,
    /// Client: accept any server certificate. For tests only; it disables authentication.
    DangerousNoVerify,
    /// Server default: do not ask for a client certificate.
    NoClientAuth,
    /// Server: ask for a client certificate, verify it if sent, allow none.
    RequestClientCert,
    /// Server: ask for a client certificate, verify it, fail without one.
    RequireClientCert,
}

/// Receives key-log material (the NSS SSLKEYLOGFILE format). Must be thread-safe: one
/// configuration serves many connections at once.
pub trait KeyLog: Send + Sync {
    /// Log one secret. `label` is e.g. `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

/// A key log that appends NSS lines to a file.
struct KeyLogFile(Mutex<File>);

impl KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        if let Ok(mut f) = self.0.lock() {
            // A key log is a debugging aid: a failed write must not break the connection.
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub use crate::certified::CertifiedKey;

/// Default bound on buffered plaintext and ciphertext per direction.
pub const DEFAULT_BUFFER_LIMIT: usize = 64 * 1024;

/// Builds a [`Config`]. Each setter validates its input and says what was wrong.
#[derive(Clone)]
pub struct ConfigBuilder {
    role: Role,
    min_version: ProtocolVersion,
    max_version: ProtocolVersion,
    suites: Vec<&'static SuiteInfo>,
    groups: Vec<Arc<dyn SupportedGroup>>,
    /// `None`: the default (see [`ConfigBuilder::set_key_share_count`]).
    key_shares: Option<usize>,
    alpn: Vec<Vec<u8>>,
    roots: RootStore,
    /// The CA names a server's CertificateRequest lists; `None`: the trust anchors' subjects.
    ca_names: Option<Vec<Vec<u8>>>,
    certs: Vec<Arc<CertifiedKey>>,
    verify: VerifyMode,
    keylog: Option<Arc<dyn KeyLog>>,
    buffer_limit: usize,
    tls13_tickets: u32,
    require_ems: bool,
    post_handshake_auth: bool,
    renegotiation: bool,
    client_renegotiation: bool,
    peer_certificate_change: bool,
    prefer_client_ciphers: bool,
    session_cache: usize,
    ticket_lifetime: u32,
    ticket_rotation: Option<u32>,
    /// Session seams (`session.rs`): a custom store or sealer replaces the built-in one.
    server_store: Option<Arc<dyn crate::session::ServerSessionStore>>,
    client_store: Option<Arc<dyn crate::session::ClientSessionStore>>,
    ticket_sealer: Option<Arc<dyn crate::session::TicketSealer>>,
    clock: Option<fn() -> u64>,
    /// Seams: custom verifiers, certificate resolver, ALPN selector.
    hooks: Hooks,
}

/// Default size of the session cache (server: session IDs; client: server names).
pub const DEFAULT_SESSION_CACHE: usize = 256;
/// Default ticket lifetime and ticket-key rotation period, in seconds (2 hours).
pub const DEFAULT_TICKET_LIFETIME: u32 = 7200;
/// The most TLS 1.3 key shares a client offers in its first ClientHello.
pub const MAX_KEY_SHARES: usize = 4;

/// The built-in groups' names, for messages.
const SUPPORTED_GROUP_NAMES: &str =
    "X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024, X25519, P-256, P-384";

/// An immutable configuration, shared by every connection made from it.
pub struct Config {
    pub(crate) role: Role,
    pub(crate) min_version: ProtocolVersion,
    pub(crate) max_version: ProtocolVersion,
    pub(crate) suites: Vec<&'static SuiteInfo>,
    /// The key-exchange groups in preference order (TLS 1.3 may use each).
    pub(crate) kx_groups: Vec<Arc<dyn SupportedGroup>>,
    /// Their names, in the same order: supported_groups of a client offering TLS 1.3, and
    /// what a TLS 1.3 server chooses from.
    pub(crate) groups: Vec<NamedGroup>,
    /// The names of the groups TLS 1.2 ECDHE may use ([`SupportedGroup::usable_in_tls12`]).
    pub(crate) groups12: Vec<NamedGroup>,
    /// Client: the groups the first ClientHello sends TLS 1.3 key shares for.
    pub(crate) key_share_groups: Vec<Arc<dyn SupportedGroup>>,
    pub(crate) alpn: Vec<Vec<u8>>,
    pub(crate) roots: RootStore,
    pub(crate) ca_names: Option<Vec<Vec<u8>>>,
    pub(crate) certs: Vec<Arc<CertifiedKey>>,
    pub(crate) verify: VerifyMode,
    pub(crate) keylog: Option<Arc<dyn KeyLog>>,
    pub(crate) buffer_limit: usize,
    pub(crate) tls13_tickets: u32,
    /// Refuse TLS 1.2 peers without Extended Master Secret (RFC 7627).
    pub(crate) require_ems: bool,
    /// Client: offer post_handshake_auth and answer a TLS 1.3 CertificateRequest after the
    /// handshake (RFC 8446 §4.6.2).
    pub(crate) post_handshake_auth: bool,
    /// TLS 1.2 renegotiation at all (RFC 5746): a client answers a server's HelloRequest and
    /// may start one; a server may ask for one.
    pub(crate) renegotiation: bool,
    /// Server: accept a renegotiation the client starts (off by default, as in OpenSSL 3).
    pub(crate) client_renegotiation: bool,
    /// Accept another peer certificate in a renegotiation than in the handshake before.
    pub(crate) peer_certificate_change: bool,
    /// A TLS 1.2 server picks the client's most preferred suite instead of its own.
    pub(crate) prefer_client_ciphers: bool,
    /// Seconds a ticket or cached session stays valid (0: no tickets).
    pub(crate) ticket_lifetime: u32,
    /// Server: what seals tickets (absent when tickets are off).
    pub(crate) ticket_sealer: Option<Arc<dyn crate::session::TicketSealer>>,
    /// Server: TLS 1.2 sessions by ID (absent when the cache is off).
    pub(crate) server_cache: Option<crate::session::ServerStore>,
    /// Client: sessions by server name (absent when the cache is off).
    pub(crate) client_cache: Option<crate::session::ClientStore>,
    clock: Option<fn() -> u64>,
    /// Seams: custom verifiers, certificate resolver, ALPN selector.
    pub(crate) hooks: Hooks,
}

fn version_rank(v: ProtocolVersion) -> Option<u8> {
    match v {
        ProtocolVersion::TLSv1_2 => Some(2),
        ProtocolVersion::TLSv1_3 => Some(3),
        _ => None,
    }
}

impl ConfigBuilder {
    /// A builder with secure defaults: TLS 1.2 and 1.3, every supported suite and group,
    /// peer verification on the client.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            min_version: ProtocolVersion::TLSv1_2,
            max_version: ProtocolVersion::TLSv1_3,
            suites: ALL_SUITES.iter().collect(),
            groups: DEFAULT_GROUPS
                .iter()
                .filter_map(|g| kx::builtin_shared(*g))
                .collect(),
            key_shares: None,
            alpn: Vec::new(),
            roots: RootStore::default(),
            ca_names: None,
            certs: Vec::new(),
            verify: match role {
                Role::Client => VerifyMode::VerifyServer,
                Role::Server => VerifyMode::NoClientAuth,
            },
            keylog: None,
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            tls13_tickets: 2,
            require_ems: true,
            post_handshake_auth: false,
            renegotiation: true,
            client_renegotiation: false,
            peer_certificate_change: false,
            prefer_client_ciphers: false,
            session_cache: DEFAULT_SESSION_CACHE,
            ticket_lifetime: DEFAULT_TICKET_LIFETIME,
            ticket_rotation: None,
            server_store: None,
            client_store: None,
            ticket_sealer: None,
            clock: None,
            hooks: Hooks::default(),
        }
    }

    /// The role this builder was made for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Restrict the protocol versions (TLS 1.2 and 1.3 are the only ones supported).
    pub fn set_versions(
        &mut self,
        min: ProtocolVersion,
        max: ProtocolVersion,
    ) -> Result<(), Error> {
        let (Some(lo), Some(hi)) = (version_rank(min), version_rank(max)) else {
            return Err(Error::Config(format!(
                "unsupported version range {min}..{max}: ferrotls supports TLSv1.2 and TLSv1.3 \
                 (SSLv3, TLSv1.0 and TLSv1.1 are insecure and refused)"
            )));
        };
        if lo > hi {
            return Err(Error::Config(format!(
                "minimum version {min} is above maximum {max}"
            )));
        }
        self.min_version = min;
        self.max_version = max;
        Ok(())
    }

    /// Set the cipher suites in preference order.
    pub fn set_cipher_suites(&mut self, list: &[CipherSuite]) -> Result<(), Error> {
        let mut out = Vec::new();
        for s in list {
            match suites::lookup(*s) {
                Some(info) if !out.iter().any(|o: &&SuiteInfo| o.suite == *s) => out.push(info),
                Some(_) => {}
                None => {
                    return Err(Error::Config(format!(
                        "cipher suite {s} is not supported; supported: {}",
                        suite_names(ALL_SUITES.iter())
                    )));
                }
            }
        }
        if out.is_empty() {
            return Err(Error::Config("the cipher suite list is empty".into()));
        }
        self.suites = out;
        Ok(())
    }

    /// Set the cipher suites from a colon-separated list of IANA or OpenSSL names.
    pub fn set_cipher_list(&mut self, list: &str) -> Result<(), Error> {
        let mut ids = Vec::new();
        for name in list.split(':').map(str::trim).filter(|n| !n.is_empty()) {
            match suites::parse_suite_name(name) {
                Some(s) => ids.push(s),
                None => {
                    return Err(Error::Config(format!(
                        "unknown or unsupported cipher suite '{name}'; supported: {}",
                        suite_names(ALL_SUITES.iter())
                    )));
                }
            }
        }
        self.set_cipher_suites(&ids)
    }

    /// Set the key-exchange groups in preference order, from the built-in ones
    /// ([`kx::SUPPORTED_GROUPS`]: X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024,
    /// MLKEM1024, X25519, P-256, P-384; the post-quantum ones are TLS 1.3 only). Replaces the
    /// list, custom groups included.
    pub fn set_groups(&mut self, groups: &[NamedGroup]) -> Result<(), Error> {
        let mut out: Vec<Arc<dyn SupportedGroup>> = Vec::new();
        for g in groups {
            let Some(group) = kx::builtin_shared(*g) else {
                return Err(Error::Config(format!(
                    "group {g} is not supported; supported: {SUPPORTED_GROUP_NAMES}"
                )));
            };
            if !out.iter().any(|o| o.name() == *g) {
                out.push(group);
            }
        }
        self.set_kx_groups(&out)
    }

    /// Set the key-exchange groups in preference order, built-in ([`kx::builtin_shared`])
    /// or custom implementations of [`SupportedGroup`]. A repeated codepoint keeps its first
    /// entry.
    pub fn set_kx_groups(&mut self, groups: &[Arc<dyn SupportedGroup>]) -> Result<(), Error> {
        let mut out: Vec<Arc<dyn SupportedGroup>> = Vec::with_capacity(groups.len());
        for g in groups {
            if !out.iter().any(|o| o.name() == g.name()) {
                out.push(g.clone());
            }
        }
        if out.is_empty() {
            return Err(Error::Config("the group list is empty".into()));
        }
        self.groups = out;
        Ok(())
    }

    /// Plug in a key-exchange group of your own (DH-style or KEM-style, see
    /// [`SupportedGroup`]) as the most preferred one: a client offers it first (and sends its
    /// key share), a server chooses it first. A group already listed with the same codepoint
    /// (a built-in one too) is replaced. TLS 1.2 uses it only if
    /// [`SupportedGroup::usable_in_tls12`] says so.
    pub fn add_custom_group(&mut self, group: Arc<dyn SupportedGroup>) {
        let name = group.name();
        self.groups.retain(|g| g.name() != name);
        self.groups.insert(0, group);
    }

    /// Client: how many TLS 1.3 key shares the first ClientHello carries, for the first
    /// `count` groups in preference order. By default: one for the first group, and when that
    /// is a post-quantum (KEM-style) group one more for the first classic group, as browsers
    /// send X25519MLKEM768 and X25519, so a server without post-quantum groups answers
    /// without a HelloRetryRequest. More shares save a HelloRetryRequest round trip with a
    /// server preferring another group, at the cost of a key generation and a bigger
    /// ClientHello each. After a HelloRetryRequest only the requested group's share is sent.
    /// A count above the number of groups means one share per group.
    pub fn set_key_share_count(&mut self, count: usize) -> Result<(), Error> {
        if self.role != Role::Client {
            return Err(Error::Usage(
                "key shares are offered by clients only (a server answers with one)".into(),
            ));
        }
        if count == 0 || count > MAX_KEY_SHARES {
            return Err(Error::Config(format!(
                "the key share count must be 1 to {MAX_KEY_SHARES}; got {count}"
            )));
        }
        self.key_shares = Some(count);
        Ok(())
    }

    /// Set the groups from a colon-separated list ("X25519MLKEM768:X25519:P-256"), by their
    /// IANA names (as OpenSSL 3.5 spells them; case does not matter) or the usual aliases
    /// (secp256r1, prime256v1, P256, ...).
    pub fn set_group_list(&mut self, list: &str) -> Result<(), Error> {
        let mut ids = Vec::new();
        for name in list.split(':').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(g) = kx::parse_group_name(name) else {
                return Err(Error::Config(format!(
                    "unknown or unsupported group '{name}'; supported: {SUPPORTED_GROUP_NAMES}"
                )));
            };
            ids.push(g);
        }
        self.set_groups(&ids)
    }

    /// Set the ALPN protocols in preference order (RFC 7301).
    pub fn set_alpn(&mut self, protocols: &[Vec<u8>]) -> Result<(), Error> {
        for p in protocols {
            if p.is_empty() || p.len() > 255 {
                return Err(Error::Config(format!(
                    "ALPN protocol names must be 1 to 255 bytes; got {} bytes",
                    p.len()
                )));
            }
        }
        self.alpn = protocols.to_vec();
        Ok(())
    }

    /// Set ALPN protocols from a comma-separated list ("h2,http/1.1").
    pub fn set_alpn_list(&mut self, csv: &str) -> Result<(), Error> {
        self.set_alpn(&alpn_from_csv(csv))
    }

    /// Add trust anchors from PEM text.
    pub fn add_roots_pem(&mut self, pem: &[u8]) -> Result<usize, Error> {
        self.roots.add_pem(pem, "the PEM buffer")
    }

    /// Add trust anchors from a PEM file or a directory of PEM files.
    pub fn add_roots_path(&mut self, path: &Path) -> Result<usize, Error> {
        self.roots.add_file(path)
    }

    /// Add the system's trust anchors (Debian/OpenSSL default locations, `SSL_CERT_FILE`).
    pub fn add_system_roots(&mut self) -> Result<usize, Error> {
        self.roots.add_system()
    }

    /// Add a certificate chain and its private key, from PEM text. A server may hold several
    /// and picks one by SNI; a client uses the first for client authentication.
    pub fn add_cert_key_pem(&mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), Error> {
        let chain = pem::certs_from_pem(chain_pem, "the certificate PEM")?;
        let key = pem::private_key_from_pem(key_pem, "the private key PEM")?;
        self.add_cert_key(chain, &key)
    }

    /// Server: the CA names (DER-encoded X.501 distinguished names) that a CertificateRequest
    /// lists to help the client pick its certificate, instead of the trust anchors' subjects
    /// (the default). An empty list sends none. The names only guide the client; what is
    /// accepted is still decided by the trust anchors and the verifier.
    pub fn set_client_ca_names(&mut self, names: Vec<Vec<u8>>) -> Result<(), Error> {
        self.require_role(Role::Server, "a client CA name list")?;
        self.ca_names = Some(names);
        Ok(())
    }

    /// Add a certified key built once and shared by several configurations (the OpenSSL layer
    /// builds one per certificate and key object and reuses it).
    pub fn add_certified_key(&mut self, key: Arc<CertifiedKey>) -> Result<(), Error> {
        self.certs.push(key);
        Ok(())
    }

    /// Add a certificate chain and its private key from PEM files.
    pub fn add_cert_key_files(&mut self, chain: &Path, key: &Path) -> Result<(), Error> {
        let certs = pem::certs_from_file(chain)?;
        let der = pem::private_key_from_file(key)?;
        self.add_cert_key(certs, &der).map_err(|e| match e {
            Error::Key(d) => Error::Key(format!(
                "{d} (certificate {}, key {})",
                chain.display(),
                key.display()
            )),
            other => other,
        })
    }

    fn add_cert_key(
        &mut self,
        chain: Vec<CertificateDer<'static>>,
        key: &pki_types::PrivateKeyDer<'_>,
    ) -> Result<(), Error> {
        self.certs.push(Arc::new(CertifiedKey::new(chain, key)?));
        Ok(())
    }

    /// Keep (the default) or skip the verified-chain cache: with it, a peer chain that already
    /// verified for the same name is not re-verified until its earliest notAfter or an hour
    /// passes; the peer's CertificateVerify is checked on every handshake either way.
    pub fn set_verified_chain_cache(&mut self, enabled: bool) {
        self.roots.set_verified_chain_cache(enabled);
    }

    /// Choose how the peer is authenticated. A mode of the other role is refused.
    pub fn set_verify_mode(&mut self, mode: VerifyMode) -> Result<(), Error> {
        let ok = match self.role {
            Role::Client => matches!(
                mode,
                VerifyMode::VerifyServer | VerifyMode::DangerousNoVerify
            ),
            Role::Server => matches!(
                mode,
                VerifyMode::NoClientAuth
                    | VerifyMode::RequestClientCert
                    | VerifyMode::RequireClientCert
            ),
        };
        if !ok {
            return Err(Error::Usage(format!(
                "verify mode {mode:?} is not for a {:?} configuration",
                self.role
            )));
        }
        self.verify = mode;
        Ok(())
    }

    /// Install (or remove) a key log sink.
    pub fn set_keylog(&mut self, keylog: Option<Arc<dyn KeyLog>>) {
        self.keylog = keylog;
    }

    /// Append key log lines to a file (SSLKEYLOGFILE format, readable by Wireshark).
    pub fn set_keylog_file(&mut self, path: &Path) -> Result<(), Error> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                Error::File(format!(
                    "cannot open key log file '{}': {e}",
                    path.display()
                ))
            })?;
        self.keylog = Some(Arc::new(KeyLogFile(Mutex::new(f))));
        Ok(())
    }

    /// Bound the plaintext and ciphertext buffered per direction (at least 16 KiB + overhead).
    pub fn set_buffer_limit(&mut self, bytes: usize) -> Result<(), Error> {
        if bytes < 16 * 1024 + 512 {
            return Err(Error::Config(format!(
                "buffer limit {bytes} is below the minimum of {} bytes (one full record)",
                16 * 1024 + 512
            )));
        }
        self.buffer_limit = bytes;
        Ok(())
    }

    /// How many TLS 1.3 session tickets a server sends after each full handshake (default
    /// 2; 0 turns them off). After a resumed handshake it sends at most one: the client
    /// spent one ticket and gets one back.
    pub fn set_tls13_tickets(&mut self, count: u32) -> Result<(), Error> {
        if self.role != Role::Server {
            return Err(Error::Usage(
                "session tickets are sent by servers only".into(),
            ));
        }
        if count > 16 {
            return Err(Error::Config(format!(
                "at most 16 tickets per connection; asked for {count}"
            )));
        }
        self.tls13_tickets = count;
        Ok(())
    }

    /// Size of the session cache; 0 turns it off. A server keeps TLS 1.2 sessions by
    /// session ID; a client keeps sessions by server name, so a later connection from the
    /// same configuration resumes on its own. Oldest entries are evicted first.
    pub fn set_session_cache(&mut self, max_entries: usize) -> Result<(), Error> {
        if max_entries > 1_000_000 {
            return Err(Error::Config(format!(
                "a session cache of {max_entries} entries is too large (at most 1000000)"
            )));
        }
        self.session_cache = max_entries;
        Ok(())
    }

    /// Server: how long tickets (TLS 1.2 and 1.3) and cached sessions stay valid, in seconds
    /// (at most 7 days; 0 turns tickets off). It is also the ticket-key rotation period,
    /// unless [`Self::set_ticket_key_rotation`] says otherwise.
    pub fn set_ticket_lifetime(&mut self, secs: u32) -> Result<(), Error> {
        if self.role != Role::Server {
            return Err(Error::Usage(
                "session tickets are issued by servers only".into(),
            ));
        }
        if secs > crate::session::MAX_TICKET_LIFETIME {
            return Err(Error::Config(format!(
                "a ticket lifetime of {secs} s exceeds the 7 days RFC 8446 allows"
            )));
        }
        self.ticket_lifetime = secs;
        Ok(())
    }

    /// Server: replace the ticket key every `secs` seconds; the previous key still opens
    /// tickets for one more period, older tickets fall back to a full handshake.
    pub fn set_ticket_key_rotation(&mut self, secs: u32) -> Result<(), Error> {
        if self.role != Role::Server {
            return Err(Error::Usage(
                "session tickets are issued by servers only".into(),
            ));
        }
        if secs == 0 {
            return Err(Error::Config(
                "the ticket key rotation period must be at least 1 s".into(),
            ));
        }
        self.ticket_rotation = Some(secs);
        Ok(())
    }

    /// Server: keep TLS 1.2 sessions (by session ID) in `store` instead of this
    /// configuration's own cache, e.g. a cache shared between processes. The store outlives
    /// any one configuration; [`Self::set_session_cache`] then no longer applies. TLS 1.3
    /// resumption uses tickets (see [`Self::set_ticket_sealer`]), not the store.
    pub fn set_server_session_store(
        &mut self,
        store: Arc<dyn crate::session::ServerSessionStore>,
    ) -> Result<(), Error> {
        if self.role != Role::Server {
            return Err(Error::Config(
                "a server session store is for server configurations; a client uses set_client_session_store".into(),
            ));
        }
        self.server_store = Some(store);
        Ok(())
    }

    /// Client: keep sessions (by server name, as session blobs) in `store` instead of this
    /// configuration's own cache, so connections from other configurations (or processes)
    /// can resume them. [`Self::set_session_cache`] then no longer applies.
    pub fn set_client_session_store(
        &mut self,
        store: Arc<dyn crate::session::ClientSessionStore>,
    ) -> Result<(), Error> {
        if self.role != Role::Client {
            return Err(Error::Config(
                "a client session store is for client configurations; a server uses set_server_session_store".into(),
            ));
        }
        self.client_store = Some(store);
        Ok(())
    }

    /// Server: seal and open tickets (TLS 1.3 and TLS 1.2) with `sealer` instead of the
    /// built-in rotating keys, e.g. keys rotated outside the process and shared by several
    /// servers. Its `lifetime_secs` (1 to 7 days) replaces [`Self::set_ticket_lifetime`];
    /// [`Self::set_ticket_key_rotation`] no longer applies.
    pub fn set_ticket_sealer(
        &mut self,
        sealer: Arc<dyn crate::session::TicketSealer>,
    ) -> Result<(), Error> {
        if self.role != Role::Server {
            return Err(Error::Config(
                "session tickets are sealed by servers only".into(),
            ));
        }
        self.ticket_sealer = Some(sealer);
        Ok(())
    }

    /// The server's sealer and the ticket lifetime it implies (see `build`).
    #[allow(clippy::type_complexity)]
    fn ticket_sealer(&self) -> Result<(Option<Arc<dyn crate::session::TicketSealer>>, u32), Error> {
        if self.role != Role::Server {
            return Ok((None, self.ticket_lifetime));
        }
        if let Some(sealer) = &self.ticket_sealer {
            let secs = sealer.lifetime_secs();
            if secs == 0 || secs > crate::session::MAX_TICKET_LIFETIME {
                return Err(Error::Config(format!(
                    "the ticket sealer's lifetime is {secs} s; it must be 1 s to 7 days (RFC 8446)"
                )));
            }
            return Ok((Some(sealer.clone()), secs));
        }
        if self.ticket_lifetime == 0 {
            return Ok((None, 0));
        }
        let keys = crate::session::TicketKeys::with_clock(
            self.ticket_rotation.unwrap_or(self.ticket_lifetime),
            self.ticket_lifetime,
            self.clock.unwrap_or(crate::session::system_now_ms),
        );
        Ok((Some(Arc::new(keys)), self.ticket_lifetime))
    }

    fn server_store(&self) -> Option<crate::session::ServerStore> {
        use crate::session::{ServerCache, ServerStore};
        if self.role != Role::Server {
            return None;
        }
        match &self.server_store {
            Some(s) => Some(ServerStore::Custom(s.clone())),
            None => (self.session_cache > 0)
                .then(|| ServerStore::Builtin(ServerCache::new(self.session_cache))),
        }
    }

    fn client_store(&self) -> Option<crate::session::ClientStore> {
        use crate::session::{ClientCache, ClientStore};
        if self.role != Role::Client {
            return None;
        }
        match &self.client_store {
            Some(s) => Some(ClientStore::Custom(s.clone())),
            None => (self.session_cache > 0)
                .then(|| ClientStore::Builtin(ClientCache::new(self.session_cache))),
        }
    }

    /// Replace the clock (milliseconds since the Unix epoch) used for ticket ages, lifetimes
    /// and key rotation. For tests.
    #[doc(hidden)]
    pub fn set_clock(&mut self, now_ms: fn() -> u64) {
        self.clock = Some(now_ms);
    }

    /// Whether TLS 1.2 requires Extended Master Secret (RFC 7627) from the peer (default
    /// true). Without it a TLS 1.2 session is open to the triple-handshake attack; turn this
    /// off only to talk to a legacy peer you cannot upgrade.
    pub fn set_require_extended_master_secret(&mut self, require: bool) {
        self.require_ems = require;
    }

    /// Client certificates after the handshake (Handshake Again; default false), as Python's
    /// `SSLContext.post_handshake_auth`. A client offers TLS 1.3 post-handshake
    /// authentication (RFC 8446 §4.6.2) and answers a server's later CertificateRequest with
    /// its configured certificate (an empty Certificate when it has none); in TLS 1.2 it
    /// answers the server's renegotiation as [`Self::set_renegotiation`] says. A server asks
    /// for no certificate in the handshake, but when the application calls
    /// `Connection::request_client_certificate` — TLS 1.3 post-handshake authentication, or a
    /// TLS 1.2 secure renegotiation with a CertificateRequest — and checks the answer with
    /// its verification mode (request or require). So a server that requires a certificate
    /// completes the handshake without one (as OpenSSL does with SSL_VERIFY_POST_HANDSHAKE in
    /// TLS 1.3): it must ask before it serves what needs one. A TLS 1.3 client that did not
    /// offer post_handshake_auth, or a TLS 1.2 client without RFC 5746 support, cannot be
    /// asked (a usage error says so).
    pub fn set_post_handshake_auth(&mut self, enable: bool) {
        self.post_handshake_auth = enable;
    }

    /// Whether TLS 1.2 renegotiation (Handshake Again, RFC 5746 only) may happen on this
    /// configuration's connections (default true). A client answers a server's HelloRequest
    /// with a secure renegotiation, as OpenSSL does, and may start one
    /// (`Connection::renegotiate`); with `false` it declines with a no_renegotiation warning.
    /// A server may ask for one (`Connection::renegotiate`, or
    /// `Connection::request_client_certificate` in TLS 1.2); whether it accepts one the client
    /// starts is [`Self::set_client_renegotiation`]. Only a peer that showed RFC 5746 support
    /// in the first handshake renegotiates, at most `MAX_RENEGOTIATIONS_PER_MINUTE` times a
    /// minute, and it must keep its certificate (see [`Self::set_peer_certificate_change`]).
    pub fn set_renegotiation(&mut self, allow: bool) {
        self.renegotiation = allow;
    }

    /// Server: whether a renegotiation the client starts is accepted (default false: declined
    /// with a no_renegotiation warning, the connection goes on, as OpenSSL 3 does without
    /// SSL_OP_ALLOW_CLIENT_RENEGOTIATION). Each one costs the server a full handshake's
    /// work, which is why scanners flag servers that accept it.
    pub fn set_client_renegotiation(&mut self, allow: bool) {
        self.client_renegotiation = allow;
    }

    /// Whether the peer may present another certificate in a renegotiation than in the
    /// handshake before (default false: the new handshake fails with
    /// PEER_CERTIFICATE_CHANGED, which closes the triple-handshake class of attacks). A
    /// client that had no certificate may always present one: that is what asking for it
    /// after the handshake is for.
    pub fn set_peer_certificate_change(&mut self, allow: bool) {
        self.peer_certificate_change = allow;
    }

    /// Whether a TLS 1.2 server follows the client's suite preference instead of its own
    /// (default false: the server's order wins).
    pub fn set_prefer_client_ciphers(&mut self, prefer_client: bool) {
        self.prefer_client_ciphers = prefer_client;
    }

    /// The groups the first ClientHello sends key shares for (see
    /// [`Self::set_key_share_count`]).
    fn key_share_groups(&self) -> Vec<Arc<dyn SupportedGroup>> {
        if let Some(n) = self.key_shares {
            return self.groups.iter().take(n).cloned().collect();
        }
        let mut out: Vec<Arc<dyn SupportedGroup>> = self.groups.iter().take(1).cloned().collect();
        if out.first().is_some_and(|g| !g.usable_in_tls12())
            && let Some(classic) = self.groups.iter().find(|g| g.usable_in_tls12())
        {
            out.push(classic.clone());
        }
        out
    }

    /// Check the settings as a whole and freeze them.
    pub fn build(&self) -> Result<Arc<Config>, Error> {
        let wants13 = self.max_version == ProtocolVersion::TLSv1_3;
        let wants12 = self.min_version == ProtocolVersion::TLSv1_2;
        let usable: Vec<&'static SuiteInfo> = self
            .suites
            .iter()
            .copied()
            .filter(|s| {
                (s.version == ProtocolVersion::TLSv1_3 && wants13)
                    || (s.version == ProtocolVersion::TLSv1_2 && wants12)
            })
            .collect();
        if usable.is_empty() {
            return Err(Error::Config(format!(
                "none of the configured cipher suites ({}) can be used with {}..{}",
                suite_names(self.suites.iter().copied()),
                self.min_version,
                self.max_version
            )));
        }
        let groups: Vec<NamedGroup> = self.groups.iter().map(|g| g.name()).collect();
        let groups12: Vec<NamedGroup> = self
            .groups
            .iter()
            .filter(|g| g.usable_in_tls12())
            .map(|g| g.name())
            .collect();
        if groups.is_empty() {
            return Err(Error::Config("the group list is empty".into()));
        }
        if !wants13 && groups12.is_empty() {
            return Err(Error::Config(format!(
                "none of the configured groups ({}) can be used with TLSv1.2 (a KEM is TLS 1.3 only)",
                groups
                    .iter()
                    .map(|g| g.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if self.role == Role::Server && self.certs.is_empty() && self.hooks.cert_resolver.is_none()
        {
            return Err(Error::Config(
                "a server needs a certificate and private key (add_cert_key_files)".into(),
            ));
        }
        let needs_roots = match self.verify {
            VerifyMode::VerifyServer
            | VerifyMode::RequestClientCert
            | VerifyMode::RequireClientCert => true,
            VerifyMode::DangerousNoVerify | VerifyMode::NoClientAuth => false,
        };
        let custom_verifier = match self.role {
            Role::Client => self.hooks.server_verifier.is_some(),
            Role::Server => self.hooks.client_verifier.is_some(),
        };
        if needs_roots && self.roots.is_empty() && !custom_verifier {
            return Err(Error::Config(match self.role {
                Role::Client => "no trust anchors: load a CA file or the system store to verify the server".into(),
                Role::Server => "client authentication needs trust anchors for client certificates: load a CA file".into(),
            }));
        }
        let (ticket_sealer, ticket_lifetime) = self.ticket_sealer()?;
        Ok(Arc::new(Config {
            role: self.role,
            min_version: self.min_version,
            max_version: self.max_version,
            suites: usable,
            kx_groups: self.groups.clone(),
            key_share_groups: self.key_share_groups(),
            groups,
            groups12,
            alpn: self.alpn.clone(),
            roots: self.roots.clone(),
            ca_names: self.ca_names.clone(),
            certs: self.certs.clone(),
            verify: self.verify,
            keylog: self.keylog.clone(),
            buffer_limit: self.buffer_limit,
            tls13_tickets: self.tls13_tickets,
            require_ems: self.require_ems,
            post_handshake_auth: self.post_handshake_auth,
            renegotiation: self.renegotiation,
            client_renegotiation: self.client_renegotiation,
            peer_certificate_change: self.peer_certificate_change,
            prefer_client_ciphers: self.prefer_client_ciphers,
            ticket_lifetime,
            ticket_sealer,
            server_cache: self.server_store(),
            client_cache: self.client_store(),
            clock: self.clock,
            hooks: self.hooks.clone(),
        }))
    }
}

/// The pluggable parts of a configuration (`None`: the built-in behaviour). See
/// [`crate::verify::verifier`] and [`crate::select`].
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) server_verifier: Option<Arc<dyn ServerCertVerifier>>,
    pub(crate) client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    pub(crate) cert_resolver: Option<Arc<dyn CertResolver>>,
    pub(crate) alpn_selector: Option<Arc<dyn AlpnSelector>>,
}

/// Seams: certificate verification, certificate choice, ALPN choice.
impl ConfigBuilder {
    fn require_role(&self, role: Role, what: &str) -> Result<(), Error> {
        if self.role == role {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "{what} is for a {role:?} configuration; this one is {:?}",
            self.role
        )))
    }

    /// Client: have `verifier` decide on the server's chain after the built-in check (it sees
    /// that verdict and may keep, reverse or replace it; see [`ServerCertVerifier`]). Not
    /// consulted with [`VerifyMode::DangerousNoVerify`]. With a verifier set, the configuration
    /// may have no trust anchors (the built-in verdict is then unknown_issuer). The handshake
    /// signature is always checked by the engine.
    pub fn set_server_cert_verifier(
        &mut self,
        verifier: Arc<dyn ServerCertVerifier>,
    ) -> Result<(), Error> {
        self.require_role(Role::Client, "a server certificate verifier")?;
        self.hooks.server_verifier = Some(verifier);
        Ok(())
    }

    /// Server: have `verifier` decide on the client's chain (possibly empty) after the built-in
    /// check; see [`ClientCertVerifier`]. Consulted only when the verify mode asks for a client
    /// certificate. With a verifier set, the configuration may have no trust anchors.
    pub fn set_client_cert_verifier(
        &mut self,
        verifier: Arc<dyn ClientCertVerifier>,
    ) -> Result<(), Error> {
        self.require_role(Role::Server, "a client certificate verifier")?;
        self.hooks.client_verifier = Some(verifier);
        Ok(())
    }

    /// Server: choose the certificate per handshake with `resolver` instead of from the
    /// certificates added with `add_cert_key_*` (which are then unused; none are needed).
    pub fn set_cert_resolver(&mut self, resolver: Arc<dyn CertResolver>) -> Result<(), Error> {
        self.require_role(Role::Server, "a certificate resolver")?;
        self.hooks.cert_resolver = Some(resolver);
        Ok(())
    }

    /// Server: choose the ALPN protocol with `selector` instead of by the list from
    /// [`Self::set_alpn`]. A closure works: `Arc::new(|offered: &[Vec<u8>]| AlpnChoice::None)`.
    pub fn set_alpn_selector(&mut self, selector: Arc<dyn AlpnSelector>) -> Result<(), Error> {
        self.require_role(Role::Server, "an ALPN selector")?;
        self.hooks.alpn_selector = Some(selector);
        Ok(())
    }
}

fn suite_names<'a>(it: impl Iterator<Item = &'a SuiteInfo>) -> String {
    it.map(|s| s.suite.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Config {
    /// The CA names a CertificateRequest lists (see [`ConfigBuilder::set_client_ca_names`]).
    pub(crate) fn ca_names(&self) -> &[Vec<u8>] {
        self.ca_names
            .as_deref()
            .unwrap_or_else(|| self.roots.subjects())
    }

    /// The role this configuration is for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether a protocol version is enabled.
    pub(crate) fn allows(&self, v: ProtocolVersion) -> bool {
        match (
            version_rank(v),
            version_rank(self.min_version),
            version_rank(self.max_version),
        ) {
            (Some(x), Some(lo), Some(hi)) => lo <= x && x <= hi,
            _ => false,
        }
    }

    /// Enabled suites of one version, in preference order.
    pub(crate) fn suites_for(
        &self,
        v: ProtocolVersion,
    ) -> impl Iterator<Item = &'static SuiteInfo> + '_ {
        self.suites.iter().copied().filter(move |s| s.version == v)
    }

    /// The configured implementation of key-exchange group `name`.
    pub(crate) fn kx_group(&self, name: NamedGroup) -> Result<&dyn SupportedGroup, Error> {
        self.kx_groups
            .iter()
            .find(|g| g.name() == name)
            .map(|g| &**g)
            .ok_or_else(|| Error::Internal(format!("key exchange group {name} is not configured")))
    }

    /// Signature schemes we accept from the peer.
    pub(crate) fn verify_schemes(&self, tls13: bool) -> Vec<SignatureScheme> {
        crate::verify::supported_verify_schemes(tls13)
    }

    /// How many verified chains this configuration remembers (see `verify::cache`).
    #[doc(hidden)]
    pub fn cached_verifications(&self) -> usize {
        self.roots.verified.len()
    }

    /// Now, in milliseconds since the Unix epoch (the test clock when one is set).
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock
            .map_or_else(crate::session::system_now_ms, |f| f())
    }

    /// Emit a key-log line when a sink is configured.
    pub(crate) fn log_key(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(k) = &self.keylog {
            k.log(label, client_random, secret);
        }
    }
}

/// ALPN protocol names from a comma-separated list ("h2, http/1.1"); empty items are dropped.
pub(crate) fn alpn_from_csv(csv: &str) -> Vec<Vec<u8>> {
    csv.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.as_bytes().to_vec())
        .collect()
}
