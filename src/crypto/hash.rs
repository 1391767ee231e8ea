//! Hash functions and the handshake transcript (RFC 8446 §4.4.1, RFC 5246 §7.4.9).

use std::fmt;

use ring::{digest, hkdf, hmac};

/// The hash functions our cipher suites use. TLS 1.3 and TLS 1.2 (with our AEAD suites)
/// only ever need these two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256, 32-byte output.
    Sha256,
    /// SHA-384, 48-byte output.
    Sha384,
}

/// The largest hash output we produce (SHA-384), which bounds [`Output`].
pub const MAX_HASH_LEN: usize = 48;

impl HashAlgorithm {
    /// The output length in bytes (`Hash.length` in RFC 8446).
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// The name used in suite names and error details ("SHA256").
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA256",
            Self::Sha384 => "SHA384",
        }
    }

    /// Hash `data` in one go.
    pub fn hash(&self, data: &[u8]) -> Output {
        Output::new(digest::digest(self.digest(), data).as_ref())
    }

    /// Hash of the empty string: TLS 1.3 uses it for every "derived" salt and binder key,
    /// so it is a constant rather than a hash computed each time (checked against ring in
    /// the tests).
    pub fn empty_hash(self) -> &'static [u8] {
        const SHA256_EMPTY: [u8; 32] = [
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f,
            0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b,
            0x78, 0x52, 0xb8, 0x55,
        ];
        const SHA384_EMPTY: [u8; 48] = [
            0x38, 0xb0, 0x60, 0xa7, 0x51, 0xac, 0x96, 0x38, 0x4c, 0xd9, 0x32, 0x7e, 0xb1, 0xb1,
            0xe3, 0x6a, 0x21, 0xfd, 0xb7, 0x11, 0x14, 0xbe, 0x07, 0x43, 0x4c, 0x0c, 0xc7, 0xbf,
            0x63, 0xf6, 0xe1, 0xda, 0x27, 0x4e, 0xde, 0xbf, 0xe7, 0x6f, 0x65, 0xfb, 0xd5, 0x1a,
            0xd2, 0xf1, 0x48, 0x98, 0xb9, 0x5b,
        ];
        match self {
            Self::Sha256 => &SHA256_EMPTY,
            Self::Sha384 => &SHA384_EMPTY,
        }
    }

    pub(crate) fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
        }
    }

    pub(crate) fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
        }
    }

    pub(crate) fn hkdf(self) -> hkdf::Algorithm {
        match self {
            Self::Sha256 => hkdf::HKDF_SHA256,
            Self::Sha384 => hkdf::HKDF_SHA384,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A hash or HMAC value, held inline so taking a transcript hash never allocates.
#[derive(Clone)]
pub struct Output {
    buf: [u8; MAX_HASH_LEN],
    len: usize,
}

impl Output {
    /// Copy a hash value (at most 48 bytes; longer input is cut, which no caller produces).
    pub(crate) fn new(bytes: &[u8]) -> Self {
        let len = bytes.len().min(MAX_HASH_LEN);
        let mut buf = [0u8; MAX_HASH_LEN];
        buf[..len].copy_from_slice(&bytes[..len]);
        Self { buf, len }
    }
}

impl AsRef<[u8]> for Output {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::ct::constant_time_eq(self.as_ref(), other.as_ref())
    }
}

impl Eq for Output {}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output(")?;
        for b in self.as_ref() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// The running hash of the handshake messages, once the cipher suite (and so the hash) is known.
#[derive(Clone)]
pub struct Transcript {
    alg: HashAlgorithm,
    ctx: digest::Context,
}

impl Transcript {
    /// An empty transcript.
    pub fn new(alg: HashAlgorithm) -> Self {
        Self {
            alg,
            ctx: digest::Context::new(alg.digest()),
        }
    }

    /// The hash this transcript uses.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.alg
    }

    /// Add one encoded handshake message (header included).
    pub fn add(&mut self, msg: &[u8]) {
        self.ctx.update(msg);
    }

    /// The hash of everything added so far; the transcript keeps running.
    pub fn current_hash(&self) -> Output {
        Output::new(self.ctx.clone().finish().as_ref())
    }

    /// Replace the transcript, which must hold exactly ClientHello1, with the synthetic
    /// `message_hash` message of RFC 8446 §4.4.1, as required after a HelloRetryRequest.
    pub fn rollup_for_hello_retry(&mut self) {
        let ch1 = self.current_hash();
        let mut ctx = digest::Context::new(self.alg.digest());
        // HandshakeType message_hash(254), u24 length, then Hash(ClientHello1).
        ctx.update(&[254, 0, 0, ch1.as_ref().len() as u8]);
        ctx.update(ch1.as_ref());
        self.ctx = ctx;
    }
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The handshake messages seen before the hash is known (a client's ClientHello, before
/// ServerHello chooses the suite). It becomes a [`Transcript`] with [`Self::start_hash`].
#[derive(Clone, Debug, Default)]
pub struct TranscriptBuffer {
    buf: Vec<u8>,
    /// A running hash of `buf`, started by the first `hash` call, so TLS 1.2's repeated
    /// transcript hashes (session hash, both Finished) cost only the new bytes.
    running: Option<Transcript>,
}

impl TranscriptBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        // A ClientHello and most of a TLS 1.2 handshake fit without regrowing.
        Self {
            buf: Vec::with_capacity(1024),
            running: None,
        }
    }

    /// Add one encoded handshake message.
    pub fn add(&mut self, msg: &[u8]) {
        self.buf.extend_from_slice(msg);
        if let Some(t) = self.running.as_mut() {
            t.add(msg);
        }
    }

    /// Add the first message, already hashed into `hashed` (and nothing else): the buffer
    /// keeps it running, for [`Self::hash`] and [`Self::start_hash`] under its algorithm.
    pub fn add_hashed(&mut self, msg: &[u8], hashed: Transcript) {
        debug_assert!(self.buf.is_empty() && self.running.is_none());
        self.buf.extend_from_slice(msg);
        self.running = Some(hashed);
    }

    /// The hash of everything buffered so far under `alg`.
    pub fn hash(&mut self, alg: HashAlgorithm) -> Output {
        match self.running.as_ref() {
            Some(t) if t.algorithm() == alg => t.current_hash(),
            _ => {
                let mut t = Transcript::new(alg);
                t.add(&self.buf);
                let out = t.current_hash();
                self.running = Some(t);
                out
            }
        }
    }

    /// Hash everything buffered with `alg` and keep hashing from there (the running hash
    /// itself when it is under `alg`).
    pub fn start_hash(self, alg: HashAlgorithm) -> Transcript {
        match self.running {
            Some(t) if t.algorithm() == alg => t,
            _ => {
                let mut t = Transcript::new(alg);
                t.add(&self.buf);
                t
            }
        }
    }

    /// The buffered bytes (TLS 1.2 client authentication without a transcript hash, tests).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    #[test]
    fn empty_hashes() {
        assert_eq!(
            HashAlgorithm::Sha256.hash(b"").as_ref(),
            unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(HashAlgorithm::Sha384.hash(b"abc").as_ref().len(), 48);
        for alg in [HashAlgorithm::Sha256, HashAlgorithm::Sha384] {
            assert_eq!(alg.empty_hash(), alg.hash(b"").as_ref());
        }
        assert_eq!(HashAlgorithm::Sha384.name(), "SHA384");
    }

    #[test]
    fn transcript_runs_on() {
        let mut t = Transcript::new(HashAlgorithm::Sha256);
        t.add(b"ab");
        assert_eq!(t.current_hash(), HashAlgorithm::Sha256.hash(b"ab"));
        t.add(b"c");
        assert_eq!(t.current_hash(), HashAlgorithm::Sha256.hash(b"abc"));
    }

    /// A first message added already hashed (a ClientHello hashed for its PSK binder) is
    /// the running hash under that algorithm, and hashed afresh under another.
    #[test]
    fn buffer_with_a_message_already_hashed() {
        let mut pre = Transcript::new(HashAlgorithm::Sha256);
        pre.add(b"client ");
        pre.add(b"hello");
        let mut b = TranscriptBuffer::new();
        b.add_hashed(b"client hello", pre);
        b.add(b", server hello");
        let all = b"client hello, server hello";
        assert_eq!(
            b.hash(HashAlgorithm::Sha256),
            HashAlgorithm::Sha256.hash(all)
        );
        assert_eq!(
            b.clone().start_hash(HashAlgorithm::Sha384).current_hash(),
            HashAlgorithm::Sha384.hash(all)
        );
        assert_eq!(
            b.start_hash(HashAlgorithm::Sha256).current_hash(),
            HashAlgorithm::Sha256.hash(all)
        );
    }

    #[test]
    fn buffer_then_hash() {
        let mut b = TranscriptBuffer::new();
        b.add(b"hello ");
        b.add(b"world");
        assert_eq!(b.bytes(), b"hello world");
        let t = b.start_hash(HashAlgorithm::Sha384);
        assert_eq!(t.current_hash(), HashAlgorithm::Sha384.hash(b"hello world"));
    }

    #[test]
    fn hello_retry_rollup() {
        let ch1 = b"\x01\x00\x00\x02hi";
        let mut t = Transcript::new(HashAlgorithm::Sha256);
        t.add(ch1);
        t.rollup_for_hello_retry();
        let mut expect = vec![254, 0, 0, 32];
        expect.extend_from_slice(HashAlgorithm::Sha256.hash(ch1).as_ref());
        assert_eq!(t.current_hash(), HashAlgorithm::Sha256.hash(&expect));
    }
}
