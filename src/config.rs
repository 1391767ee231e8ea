// STUB: replaced by the real engine on merge
//! Configuration builder and immutable configuration (stub with the contract's public API).

use std::path::Path;
use std::sync::Arc;

use crate::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use crate::error::Error;

/// Which side of the connection a configuration is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The connecting side.
    Client,
    /// The accepting side.
    Server,
}

/// How the peer's certificate is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyMode {
    /// Client default: verify chain + name.
    VerifyServer,
    /// Client: accept any server certificate (testing only).
    DangerousNoVerify,
    /// Server default.
    NoClientAuth,
    /// Server: ask, verify if sent, allow none.
    RequestClientCert,
    /// Server: ask, verify, fail without one.
    RequireClientCert,
}

/// Receives key log lines (NSS SSLKEYLOGFILE format pieces). Must be thread-safe.
pub trait KeyLog: Send + Sync {
    /// Log one secret.
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

fn stub<T>() -> Result<T, Error> {
    Err(Error::Internal("stub".into()))
}

/// Mutable configuration builder.
#[derive(Clone)]
pub struct ConfigBuilder {
    role: Role,
}

impl ConfigBuilder {
    /// A builder with defaults for `role`.
    pub fn new(role: Role) -> Self {
        Self { role }
    }
    /// The role fixed at creation.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Protocol version range.
    pub fn set_versions(
        &mut self,
        _min: ProtocolVersion,
        _max: ProtocolVersion,
    ) -> Result<(), Error> {
        stub()
    }
    /// Cipher suites in preference order.
    pub fn set_cipher_suites(&mut self, _suites: &[CipherSuite]) -> Result<(), Error> {
        stub()
    }
    /// "A:B", IANA or OpenSSL names.
    pub fn set_cipher_list(&mut self, _list: &str) -> Result<(), Error> {
        stub()
    }
    /// Key-exchange groups in preference order.
    pub fn set_groups(&mut self, _groups: &[NamedGroup]) -> Result<(), Error> {
        stub()
    }
    /// "X25519:P-256:P-384".
    pub fn set_group_list(&mut self, _list: &str) -> Result<(), Error> {
        stub()
    }
    /// ALPN protocols in preference order.
    pub fn set_alpn(&mut self, _protocols: &[Vec<u8>]) -> Result<(), Error> {
        stub()
    }
    /// "h2,http/1.1".
    pub fn set_alpn_list(&mut self, _csv: &str) -> Result<(), Error> {
        stub()
    }
    /// Trust anchors from PEM.
    pub fn add_roots_pem(&mut self, _pem: &[u8]) -> Result<usize, Error> {
        stub()
    }
    /// Trust anchors from a file or directory.
    pub fn add_roots_path(&mut self, _path: &Path) -> Result<usize, Error> {
        stub()
    }
    /// The system trust store.
    pub fn add_system_roots(&mut self) -> Result<usize, Error> {
        stub()
    }
    /// A certificate chain and its private key.
    pub fn add_cert_key_pem(&mut self, _chain_pem: &[u8], _key_pem: &[u8]) -> Result<(), Error> {
        stub()
    }
    /// A certificate chain and its private key, from files.
    pub fn add_cert_key_files(&mut self, _chain: &Path, _key: &Path) -> Result<(), Error> {
        stub()
    }
    /// Verification mode; a mode of the other role is `Error::Usage`.
    pub fn set_verify_mode(&mut self, _mode: VerifyMode) -> Result<(), Error> {
        stub()
    }
    /// Key log sink.
    pub fn set_keylog(&mut self, _keylog: Option<Arc<dyn KeyLog>>) {}
    /// Key log file.
    pub fn set_keylog_file(&mut self, _path: &Path) -> Result<(), Error> {
        stub()
    }
    /// Buffer limit in bytes.
    pub fn set_buffer_limit(&mut self, _bytes: usize) -> Result<(), Error> {
        stub()
    }
    /// Number of TLS 1.3 tickets (server only).
    pub fn set_tls13_tickets(&mut self, _count: u32) -> Result<(), Error> {
        stub()
    }
    /// Build an immutable configuration; the builder stays usable.
    pub fn build(&self) -> Result<Arc<Config>, Error> {
        Ok(Arc::new(Config { role: self.role }))
    }
}

/// Immutable, shareable configuration.
pub struct Config {
    role: Role,
}

impl Config {
    /// The role of this configuration.
    pub fn role(&self) -> Role {
        self.role
    }
}
