//! The fuzz harnesses, shared by the libFuzzer targets (fuzz/fuzz_targets/*.rs) and by the
//! stable regression tests (tests/fuzz_regressions.rs includes this file with `#[path]`), so
//! a crash input replays through exactly the code path that found it.
//!
//! Each harness takes arbitrary bytes, must never panic, and asserts its own invariants.
//! This file depends only on `ferrotls` and `std` (plus `libc` for the socket pair of the
//! FFI harness, a dependency ferrotls already has).
#![allow(dead_code)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::{Arc, LazyLock};

use ferrotls::codec::Reader;
use ferrotls::codec::enums::{NamedGroup, ProtocolVersion};
use ferrotls::codec::extensions::{
    CertReqExtension, ClientExtension, HelloRetryExtension, NewSessionTicketExtension,
    ServerExtension, put_extensions, read_extensions,
};
use ferrotls::codec::handshake::HandshakeMessage;
use ferrotls::config::{Config, ConfigBuilder, Role, VerifyMode};
use ferrotls::conn::{Connection, ReadStatus};
use ferrotls::record::deframer::{Deframer, HEADER_LEN, MAX_CIPHERTEXT_LEN};

// ---- test PKI (the committed demo certificates; DEMO ONLY keys) ----------------------------

pub const CA_PEM: &[u8] = include_bytes!("../../examples-c/certs/ca.pem");
pub const SERVER_PEM: &[u8] = include_bytes!("../../examples-c/certs/server.pem");
pub const SERVER_KEY: &[u8] = include_bytes!("../../examples-c/certs/server.key");
pub const SERVER_RSA_PEM: &[u8] = include_bytes!("../../examples-c/certs/server-rsa.pem");
pub const SERVER_RSA_KEY: &[u8] = include_bytes!("../../examples-c/certs/server-rsa.key");
pub const CLIENT_PEM: &[u8] = include_bytes!("../../examples-c/certs/client.pem");
pub const CLIENT_KEY: &[u8] = include_bytes!("../../examples-c/certs/client.key");

/// The name the demo server certificate is issued for.
pub const SERVER_NAME: &str = "localhost";

// ---- small helpers ---------------------------------------------------------------------------

/// A tiny deterministic generator (xorshift), for chunk sizes derived from one input byte.
struct Chunks(u32);

impl Chunks {
    fn new(seed: u8) -> Self {
        Self(0x9e37_79b9 ^ u32::from(seed).wrapping_mul(0x0101_0101) | 1)
    }
    fn next(&mut self, max: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        1 + (self.0 as usize % max)
    }
}

/// Split `data` into chunks: `seed == 0` is one chunk; otherwise sizes in 1..=max where max
/// depends on the seed (1..=8 bytes for some seeds, up to ~4 KiB for others), so both the
/// byte-at-a-time and the bulk paths are exercised.
fn chunked(data: &[u8], seed: u8) -> Vec<&[u8]> {
    if seed == 0 || data.is_empty() {
        return vec![data];
    }
    let max = match seed % 4 {
        0 => 8,
        1 => 300,
        2 => 4096,
        _ => 17 * 1024,
    };
    let mut g = Chunks::new(seed);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = g.next(max).min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

// ---- 1. deframer -----------------------------------------------------------------------------

const DEFRAMER_CAP: usize = HEADER_LEN + MAX_CIPHERTEXT_LEN;

/// Feed arbitrary bytes to a `Deframer` in chunks; peek, complete, decrypt-in-place (a XOR)
/// and discard records. Invariants: never panics, never buffers more than one maximum-size
/// record, never stalls (a full buffer always holds a complete record), and headers it
/// accepts are within the limits. After a header error the stream is dead, as it is for a
/// connection; the harness starts a fresh deframer on the rest, to keep exploring.
///
/// Input: `[flags, chunk_seed, bytes...]`; flags bit 0 = we are the client.
pub fn deframer(data: &[u8]) {
    let [flags, seed, rest @ ..] = data else {
        return;
    };
    let we_are_client = flags & 1 != 0;
    let mut d = Deframer::default();
    for chunk in chunked(rest, *seed) {
        let mut chunk = chunk;
        loop {
            let before = d.buffered();
            let n = d.feed(chunk);
            assert!(n <= chunk.len());
            assert_eq!(d.buffered(), before + n);
            assert!(
                d.buffered() <= DEFRAMER_CAP,
                "deframer grew past one record"
            );
            assert_eq!(d.room() + d.buffered(), DEFRAMER_CAP);
            chunk = &chunk[n..];
            // Drain every complete record.
            loop {
                match d.peek_header(we_are_client) {
                    Err(_) => {
                        d = Deframer::default();
                        break;
                    }
                    Ok(None) => {
                        assert!(d.buffered() < HEADER_LEN);
                        break;
                    }
                    Ok(Some(hdr)) => {
                        assert!(hdr.len <= MAX_CIPHERTEXT_LEN);
                        assert_eq!(
                            usize::from(u16::from_be_bytes([hdr.raw[3], hdr.raw[4]])),
                            hdr.len
                        );
                        if !d.complete(&hdr) {
                            // A partial record must still fit: otherwise feeding would stall.
                            assert!(d.room() > 0, "deframer stalled on an incomplete record");
                            break;
                        }
                        let body = d.body_mut(&hdr);
                        assert_eq!(body.len(), hdr.len);
                        body.iter_mut().for_each(|b| *b ^= 0x5a);
                        let left = d.buffered() - HEADER_LEN - hdr.len;
                        d.discard(&hdr);
                        assert_eq!(d.buffered(), left);
                    }
                }
            }
            if chunk.is_empty() {
                break;
            }
            if n == 0 && d.room() == 0 {
                panic!("deframer full and not draining");
            }
        }
    }
}

// ---- 2. handshake messages and extension blocks ----------------------------------------------

static STRICT: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("FERROTLS_FUZZ_STRICT").is_some());

/// Decode `data` as one handshake message (header included) in both versions; whatever
/// decodes must survive encode → decode unchanged, and its encoding must be a fixed point
/// (decode(encode(m)) encodes to the same bytes). The first encoding may differ from the
/// input where the decoder normalises: see README.md, "Fuzzing".
///
/// The same bytes are also read as each kind of u16-prefixed extension block.
pub fn handshake_messages(data: &[u8]) {
    // FERROTLS_FUZZ_STRICT=1 also demands byte equality with the input: a way to find where
    // the decoder normalises (see README.md, "Fuzzing").
    for version in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
        if let Ok(msg) = HandshakeMessage::read(data, version) {
            let _ = msg.name();
            let enc = msg.get_encoding();
            let again = HandshakeMessage::read(&enc, version).unwrap_or_else(|e| {
                panic!(
                    "{} ({version:?}) decoded from {data:02x?} but its encoding {enc:02x?} does not decode: {e}",
                    msg.name()
                )
            });
            assert_eq!(
                again,
                msg,
                "{} ({version:?}) changed in a round trip",
                msg.name()
            );
            assert_eq!(
                again.get_encoding(),
                enc,
                "{} encoding is not stable",
                msg.name()
            );
            if *STRICT && !empty_hello_block_dropped(&msg, data, &enc) {
                assert_eq!(
                    enc,
                    data,
                    "{} ({version:?}) re-encodes differently",
                    msg.name()
                );
            }
        }
    }
    extension_block::<ClientExtension>(data);
    extension_block::<ServerExtension>(data);
    extension_block::<HelloRetryExtension>(data);
    extension_block::<CertReqExtension>(data);
    extension_block::<NewSessionTicketExtension>(data);
}

/// The one normalisation found (and accepted): a ClientHello or ServerHello with an explicit
/// empty extension block (`00 00`) decodes like one without the block, and re-encodes without
/// it, so the encoding is two bytes shorter.
fn empty_hello_block_dropped(msg: &HandshakeMessage, data: &[u8], enc: &[u8]) -> bool {
    use ferrotls::codec::handshake::HandshakePayload as P;
    let no_exts = match &msg.payload {
        P::ClientHello(p) => p.extensions.is_empty(),
        P::ServerHello(p) => p.extensions.is_empty(),
        _ => false,
    };
    no_exts
        && data.len() == enc.len() + 2
        && data.ends_with(&[0, 0])
        && data[0] == enc[0]
        && data[4..data.len() - 2] == enc[4..]
}

fn extension_block<T>(data: &[u8])
where
    T: ferrotls::codec::Codec
        + ferrotls::codec::extensions::HasExtType
        + PartialEq
        + std::fmt::Debug,
{
    let mut r = Reader::new(data);
    let Ok(exts) = read_extensions::<T>(&mut r, "fuzz") else {
        return;
    };
    let used = r.used();
    let mut enc = Vec::new();
    put_extensions(&exts, &mut enc);
    let mut r2 = Reader::new(&enc);
    let again = read_extensions::<T>(&mut r2, "fuzz").unwrap_or_else(|e| {
        panic!(
            "{} block decoded from {:02x?} but its encoding {enc:02x?} does not decode: {e}",
            std::any::type_name::<T>(),
            &data[..used]
        )
    });
    assert!(!r2.any_left());
    assert_eq!(
        again,
        exts,
        "{} block changed in a round trip",
        std::any::type_name::<T>()
    );
    let mut enc2 = Vec::new();
    put_extensions(&again, &mut enc2);
    assert_eq!(enc2, enc);
    if *STRICT {
        assert_eq!(
            enc,
            &data[..used],
            "{} block re-encodes differently",
            std::any::type_name::<T>()
        );
    }
}

// ---- 3./4. connections ----------------------------------------------------------------------

/// Client configurations, picked by the low bits of the first input byte:
/// 0 = no verification; 1 = verify against the demo CA (chain, name, signature code runs);
/// 2 = no verification + ALPN "h2","http/1.1" + client certificate; 3 = verify + ALPN + client cert.
/// The two with a certificate offer post-handshake authentication, so a server's CertificateRequest
/// after the handshake (Handshake Again) reaches the client's answer.
pub static CLIENT_CONFIGS: LazyLock<Vec<Arc<Config>>> = LazyLock::new(|| {
    (0..4)
        .map(|i| {
            let mut b = ConfigBuilder::new(Role::Client);
            if i & 1 == 0 {
                b.set_verify_mode(VerifyMode::DangerousNoVerify).unwrap();
            } else {
                b.add_roots_pem(CA_PEM).unwrap();
            }
            if i & 2 != 0 {
                b.set_alpn(&[b"h2".to_vec(), b"http/1.1".to_vec()]).unwrap();
                b.add_cert_key_pem(CLIENT_PEM, CLIENT_KEY).unwrap();
                b.set_post_handshake_auth(true);
            }
            b.build().unwrap()
        })
        .collect()
});

/// Server configurations, by the low 5 bits of the first input byte: bits 0-1 = client auth
/// (0 none, 1 request after the handshake (post-handshake authentication: `drain` asks), 2
/// require in the handshake, 3 none but ALPN "h2"), bit 2 = RSA instead of ECDSA
/// certificate, bit 3 = TLS 1.2 only (EMS optional), which makes the TLS 1.2 server reachable
/// from a client that also offers 1.3, bit 4 = X25519 only (a client whose first key share
/// is another group gets a HelloRetryRequest, so the second ClientHello is reachable).
pub static SERVER_CONFIGS: LazyLock<Vec<Arc<Config>>> = LazyLock::new(|| {
    (0..32)
        .map(|i| {
            let mut b = ConfigBuilder::new(Role::Server);
            if i & 4 == 0 {
                b.add_cert_key_pem(SERVER_PEM, SERVER_KEY).unwrap();
            } else {
                b.add_cert_key_pem(SERVER_RSA_PEM, SERVER_RSA_KEY).unwrap();
            }
            match i & 3 {
                1 => {
                    b.add_roots_pem(CA_PEM).unwrap();
                    b.set_verify_mode(VerifyMode::RequestClientCert).unwrap();
                    b.set_post_handshake_auth(true);
                }
                2 => {
                    b.add_roots_pem(CA_PEM).unwrap();
                    b.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
                }
                3 => b.set_alpn(&[b"h2".to_vec()]).unwrap(),
                _ => {}
            }
            if i & 8 != 0 {
                b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
                    .unwrap();
                b.set_require_extended_master_secret(false);
            }
            if i & 16 != 0 {
                b.set_groups(&[NamedGroup::X25519]).unwrap();
            }
            b.build().unwrap()
        })
        .collect()
});

/// Drain a connection after a feed: take all outgoing bytes (alternating the two APIs),
/// read all plaintext, and exercise the getters. Checks the invariants that must hold
/// whatever the peer sent.
fn drain(conn: &mut Connection, round: usize) {
    let limit = 256 * 1024;
    assert!(
        conn.outgoing_len() <= limit,
        "outgoing buffer grew to {}",
        conn.outgoing_len()
    );
    if round.is_multiple_of(2) {
        let mut buf = [0u8; 1000];
        while conn.take_outgoing(&mut buf) > 0 {}
    } else {
        let n = conn.peek_outgoing().len();
        conn.consume_outgoing(n);
    }
    assert_eq!(conn.outgoing_len(), 0);
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(ReadStatus::Data(n)) => assert!(n > 0 && n <= buf.len()),
            Ok(ReadStatus::PeerAuthenticated) => {}
            _ => break,
        }
    }
    // Handshake Again: a server asks for the client's certificate now and then; a usage
    // error (not offered, one open, TLS 1.2) changes nothing and is ignored.
    if !conn.is_client() && round % 3 == 1 {
        let _ = conn.request_client_certificate();
    }
    let _ = conn.protocol_version();
    let _ = conn.cipher_suite();
    let _ = conn.group();
    let _ = conn.signature_scheme();
    let _ = conn.alpn_protocol();
    let _ = conn.server_name();
    let _ = conn.peer_certificates();
    let _ = conn.handshake_kind();
    let _ = conn.last_alert();
    let _ = conn.wants_read();
    if let Some(e) = conn.error() {
        let _ = e.to_string();
    }
}

/// Feed `stream` (the peer's bytes) to `conn` in chunks, draining after each feed. Once the
/// handshake is done, write some data, ask for a key update and export keying material so the
/// post-handshake paths run too. A fed error must be sticky.
fn drive(mut conn: Connection, stream: &[u8], seed: u8) {
    let _ = conn.write(b"early data queued before the handshake");
    drain(&mut conn, 0);
    for (round, chunk) in chunked(stream, seed).into_iter().enumerate() {
        let mut chunk = chunk;
        let mut stalls = 0;
        while !chunk.is_empty() {
            match conn.feed(chunk) {
                Ok(n) => {
                    assert!(n <= chunk.len());
                    chunk = &chunk[n..];
                    if n == 0 {
                        stalls += 1;
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                    assert!(conn.error().is_some(), "feed failed without a sticky error");
                    assert!(
                        conn.feed(b"\x16\x03\x03\x00\x00").is_err(),
                        "error is not sticky"
                    );
                    drain(&mut conn, round);
                    let _ = conn.feed_eof();
                    return;
                }
            }
            drain(&mut conn, round);
            assert!(
                stalls < 3,
                "feed makes no progress after reading all plaintext"
            );
        }
        if !conn.is_handshaking() && conn.error().is_none() {
            let _ = conn.write(&[0x42; 100]);
            let _ = conn.key_update(round % 2 == 0);
            let mut ekm = [0u8; 32];
            let _ = conn.export_keying_material(&mut ekm, b"EXPERIMENTAL fuzz", Some(b"ctx"));
            let _ = conn.export_keying_material(&mut ekm, b"EXPERIMENTAL fuzz", None);
            let _ = conn.peer_cert_subject();
            drain(&mut conn, round);
        }
    }
    conn.close();
    drain(&mut conn, 1);
    let _ = conn.feed_eof();
}

/// A client fed arbitrary "server" bytes. Input: `[config, chunk_seed, server bytes...]`
/// (`config` indexes [`CLIENT_CONFIGS`] by its low 2 bits). With verification on, the client
/// connects to "localhost", the name of the demo certificate.
pub fn client(data: &[u8]) {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let config = CLIENT_CONFIGS[usize::from(flags & 3)].clone();
    let conn = Connection::new_client(config, Some(SERVER_NAME)).expect("client connection");
    drive(conn, stream, *seed);
}

/// A server fed arbitrary "client" bytes. Input: `[config, chunk_seed, client bytes...]`
/// (`config` indexes [`SERVER_CONFIGS`] by its low 5 bits).
pub fn server(data: &[u8]) {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let config = SERVER_CONFIGS[usize::from(flags & 31)].clone();
    let conn = Connection::new_server(config).expect("server connection");
    drive(conn, stream, *seed);
}

// ---- 5. C ABI call sequences -----------------------------------------------------------------

pub mod ffi_seq {
    //! Interprets the input as a program of C ABI calls over a registry of live handles.
    //! Handles are only ever passed while live (use-after-free is the caller's bug by
    //! contract); "wrong handle" calls pass a live handle of another type, NULL, or a
    //! misaligned pointer into a live handle, all of which the contract says are detected.

    use super::*;
    use ferrotls::ffi::*;

    /// The input as a stream of operands.
    struct Input<'a> {
        data: &'a [u8],
    }

    impl<'a> Input<'a> {
        fn u8(&mut self) -> u8 {
            match self.data.split_first() {
                Some((&b, rest)) => {
                    self.data = rest;
                    b
                }
                None => 0,
            }
        }
        fn u16(&mut self) -> u16 {
            u16::from_be_bytes([self.u8(), self.u8()])
        }
        fn u32(&mut self) -> u32 {
            u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
        }
        /// A byte string: one length byte, then up to that many bytes.
        fn bytes(&mut self) -> &'a [u8] {
            let n = usize::from(self.u8()).min(self.data.len());
            let (a, b) = self.data.split_at(n);
            self.data = b;
            a
        }
        /// A longer byte string: a two-byte length.
        fn long_bytes(&mut self) -> &'a [u8] {
            let n = usize::from(self.u16()).min(self.data.len());
            let (a, b) = self.data.split_at(n);
            self.data = b;
            a
        }
        fn cstring(&mut self) -> CString {
            let b: Vec<u8> = self.bytes().iter().copied().filter(|&c| c != 0).collect();
            CString::new(b).unwrap()
        }
        fn is_empty(&self) -> bool {
            self.data.is_empty()
        }
    }

    /// Live handles, in creation order.
    #[derive(Default)]
    struct Registry {
        builders: Vec<*mut ferrotls_config_builder>,
        configs: Vec<*mut ferrotls_config>,
        conns: Vec<*mut ferrotls_conn>,
        /// Socket pairs handed to connections: (the conn's end, our end). Closed at the end,
        /// after the connections that borrow them are freed.
        sockets: Vec<(i32, i32)>,
    }

    fn pick<T: Copy>(v: &[T], i: u8) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v[usize::from(i) % v.len()])
        }
    }

    fn take<T: Copy>(v: &mut Vec<T>, i: u8) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v.remove(usize::from(i) % v.len()))
        }
    }

    /// Check a result code: never a caught panic, and every code has a name and message.
    fn check(r: ferrotls_result) -> ferrotls_result {
        assert_ne!(r, FERROTLS_ERR_PANIC, "a call panicked: {}", last_detail());
        assert_ne!(
            r,
            FERROTLS_ERR_INTERNAL,
            "internal error: {}",
            last_detail()
        );
        let name = ferrotls_result_name(r);
        assert!(!name.is_null());
        // SAFETY: the library returns static NUL-terminated strings.
        let _ = unsafe { CStr::from_ptr(name) };
        let msg = ferrotls_result_message(r);
        assert!(!msg.is_null());
        let _ = ferrotls_result_category(r);
        if r >= 100 {
            let _ = last_detail();
        }
        r
    }

    fn last_detail() -> String {
        let p = ferrotls_last_error_detail();
        assert!(!p.is_null());
        // SAFETY: valid until the next failing call on this thread.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    fn cstr_or_null(p: *const c_char) {
        if !p.is_null() {
            // SAFETY: strings returned by getters live as long as the connection.
            let _ = unsafe { CStr::from_ptr(p) }.to_bytes().len();
        }
    }

    /// Trace callback: checks its arguments and calls back into the (busy) connection, which
    /// must be refused without deadlock, crash or free.
    unsafe extern "C" fn trace_cb(
        userdata: *mut c_void,
        conn: *const ferrotls_conn,
        event: u32,
        text: *const c_char,
    ) {
        assert!(event <= FERROTLS_TRACE_ERROR);
        assert!(!text.is_null());
        // SAFETY: valid during the call.
        let _ = unsafe { CStr::from_ptr(text) };
        // SAFETY: userdata is our counter.
        let count = unsafe { &mut *userdata.cast::<u64>() };
        *count += 1;
        if *count % 7 == 0 && !conn.is_null() {
            // SAFETY: `conn` is live (we are inside a call on it); the library must refuse.
            unsafe {
                assert_eq!(ferrotls_conn_outgoing_len(conn), 0);
                // Freeing a connection from inside its own callback must be refused.
                ferrotls_conn_free(conn.cast_mut());
                assert_eq!(
                    ferrotls_conn_protocol_version(conn),
                    0,
                    "a busy connection answered a getter"
                );
            }
        }
    }

    unsafe extern "C" fn keylog_cb(
        _userdata: *mut c_void,
        conn: *const ferrotls_conn,
        line: *const c_char,
    ) {
        assert!(conn.is_null());
        assert!(!line.is_null());
        // SAFETY: valid during the call.
        let l = unsafe { CStr::from_ptr(line) }.to_bytes();
        assert!(l.iter().all(|&c| c != b'\n'));
    }

    static mut TRACE_COUNT: u64 = 0;

    static DEBUG: LazyLock<bool> =
        LazyLock::new(|| std::env::var_os("FERROTLS_FUZZ_DEBUG").is_some());

    /// Run the program in `data`. Every handle still alive at the end is freed, so leak
    /// detection (LeakSanitizer under `cargo fuzz`) covers the library's own allocations.
    pub fn run(data: &[u8]) {
        let mut input = Input { data };
        let mut reg = Registry::default();
        let mut steps = 0;
        // SAFETY: the whole program follows the API contract, see the module doc.
        unsafe {
            while !input.is_empty() && steps < 200 {
                steps += 1;
                let op = input.data.first().copied().unwrap_or(0) % OPS;
                step(&mut input, &mut reg);
                if *DEBUG {
                    // FERROTLS_FUZZ_DEBUG=1: what each step did to the connections.
                    let state: Vec<_> = reg
                        .conns
                        .iter()
                        .map(|&c| {
                            (
                                ferrotls_conn_protocol_version(c),
                                ferrotls_conn_wants(c),
                                ferrotls_conn_error(c),
                            )
                        })
                        .collect();
                    eprintln!("op {op:2}: conns (version, wants, error) {state:?}");
                }
            }
            for c in reg.conns.drain(..) {
                ferrotls_conn_free(c);
            }
            for c in reg.configs.drain(..) {
                ferrotls_config_free(c);
            }
            for b in reg.builders.drain(..) {
                ferrotls_config_builder_free(b);
            }
            for (a, b) in reg.sockets.drain(..) {
                libc::close(a);
                libc::close(b);
            }
        }
    }

    /// Opcodes: 0..=42 and 48..=50 as matched in [`step`], anything else the setup shortcut.
    const OPS: u8 = 52;

    /// Build the C-side ALPN wire form or fuzzed bytes.
    unsafe fn step(inp: &mut Input<'_>, reg: &mut Registry) {
        let op = inp.u8();
        let sel = inp.u8();
        let b = pick(&reg.builders, sel).unwrap_or(std::ptr::null_mut());
        let cfg = pick(&reg.configs, sel).unwrap_or(std::ptr::null_mut());
        let conn = pick(&reg.conns, sel).unwrap_or(std::ptr::null_mut());
        // SAFETY (for the whole match): every pointer is NULL or a live handle of the registry,
        // every buffer is a live Rust buffer of the stated length.
        unsafe {
            match op % OPS {
                0 => {
                    let role = match inp.u8() % 4 {
                        0 => FERROTLS_ROLE_CLIENT,
                        1 => FERROTLS_ROLE_SERVER,
                        2 => 0,
                        _ => inp.u32(),
                    };
                    let mut out = std::ptr::dangling_mut();
                    let r = check(ferrotls_config_builder_new(role, &mut out));
                    if r == FERROTLS_OK {
                        assert!(!out.is_null());
                        reg.builders.push(out);
                    } else {
                        assert!(out.is_null());
                    }
                    if inp.u8() == 0 {
                        check(ferrotls_config_builder_new(role, std::ptr::null_mut()));
                    }
                }
                1 => {
                    if let Some(b) = take(&mut reg.builders, sel) {
                        ferrotls_config_builder_free(b);
                    }
                }
                2 => {
                    let v = [0, 0x0303, 0x0304, 0x0302];
                    let min = v[usize::from(inp.u8() % 4)];
                    let max = v[usize::from(inp.u8() % 4)];
                    check(ferrotls_config_builder_set_versions(b, min, max));
                }
                3 => {
                    let ids: Vec<u16> = inp
                        .bytes()
                        .chunks(2)
                        .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
                        .collect();
                    let p = if ids.is_empty() && sel & 1 == 0 {
                        std::ptr::null()
                    } else {
                        ids.as_ptr()
                    };
                    check(ferrotls_config_builder_set_cipher_suites(b, p, ids.len()));
                }
                4 => {
                    let s = inp.cstring();
                    check(ferrotls_config_builder_set_cipher_list(b, s.as_ptr()));
                }
                5 => {
                    let ids: Vec<u16> = inp
                        .bytes()
                        .chunks(2)
                        .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
                        .collect();
                    let p = if ids.is_empty() && sel & 1 == 0 {
                        std::ptr::null()
                    } else {
                        ids.as_ptr()
                    };
                    check(ferrotls_config_builder_set_groups(b, p, ids.len()));
                }
                6 => {
                    let s = inp.cstring();
                    check(ferrotls_config_builder_set_group_list(b, s.as_ptr()));
                }
                7 => {
                    let w = inp.bytes();
                    let p = if w.is_empty() && sel & 1 == 0 {
                        std::ptr::null()
                    } else {
                        w.as_ptr()
                    };
                    check(ferrotls_config_builder_set_alpn(b, p, w.len()));
                }
                8 => {
                    let s = inp.cstring();
                    check(ferrotls_config_builder_set_alpn_list(b, s.as_ptr()));
                }
                9 => {
                    let pem: &[u8] = match inp.u8() % 3 {
                        0 => CA_PEM,
                        1 => inp.long_bytes(),
                        _ => SERVER_PEM,
                    };
                    check(ferrotls_config_builder_add_roots_pem(
                        b,
                        pem.as_ptr(),
                        pem.len(),
                    ));
                }
                10 => {
                    let (chain, key): (&[u8], &[u8]) = match inp.u8() % 5 {
                        0 => (SERVER_PEM, SERVER_KEY),
                        1 => (SERVER_RSA_PEM, SERVER_RSA_KEY),
                        2 => (CLIENT_PEM, CLIENT_KEY),
                        3 => (SERVER_PEM, CLIENT_KEY),
                        _ => (inp.long_bytes(), inp.long_bytes()),
                    };
                    check(ferrotls_config_builder_add_cert_key_pem(
                        b,
                        chain.as_ptr(),
                        chain.len(),
                        key.as_ptr(),
                        key.len(),
                    ));
                }
                11 => {
                    check(ferrotls_config_builder_set_verify(
                        b,
                        u32::from(inp.u8() % 7),
                    ));
                }
                12 => {
                    check(ferrotls_config_builder_set_buffer_limit(
                        b,
                        inp.u32() as usize,
                    ));
                }
                13 => {
                    check(ferrotls_config_builder_set_tls13_tickets(
                        b,
                        u32::from(inp.u8() % 20),
                    ));
                }
                14 => {
                    check(ferrotls_config_builder_set_require_extended_master_secret(
                        b,
                        sel & 1 != 0,
                    ));
                    check(ferrotls_config_builder_set_prefer_client_ciphers(
                        b,
                        sel & 2 != 0,
                    ));
                }
                15 => {
                    let cb: ferrotls_keylog_cb = if sel & 1 == 0 { Some(keylog_cb) } else { None };
                    check(ferrotls_config_builder_set_keylog_callback(
                        b,
                        cb,
                        std::ptr::null_mut(),
                    ));
                }
                16 => {
                    let mut out = std::ptr::dangling_mut();
                    let r = check(ferrotls_config_builder_build(b, &mut out));
                    if r == FERROTLS_OK {
                        assert!(!out.is_null());
                        reg.configs.push(out);
                    } else {
                        assert!(out.is_null());
                    }
                }
                17 => {
                    let c = ferrotls_config_clone(cfg);
                    if !c.is_null() {
                        reg.configs.push(c);
                    } else {
                        assert!(cfg.is_null());
                    }
                    let _ = ferrotls_config_role(cfg);
                }
                18 => {
                    if let Some(c) = take(&mut reg.configs, sel) {
                        ferrotls_config_free(c);
                    }
                }
                19 | 20 => {
                    let mut out = std::ptr::dangling_mut();
                    let r = if op % OPS == 19 {
                        let name = match inp.u8() % 3 {
                            0 => Some(CString::new(SERVER_NAME).unwrap()),
                            1 => Some(inp.cstring()),
                            _ => None,
                        };
                        let p = name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr());
                        check(ferrotls_conn_new_client(cfg, p, &mut out))
                    } else {
                        check(ferrotls_conn_new_server(cfg, &mut out))
                    };
                    if r == FERROTLS_OK {
                        assert!(!out.is_null());
                        reg.conns.push(out);
                    } else {
                        assert!(out.is_null());
                    }
                }
                21 => {
                    if let Some(c) = take(&mut reg.conns, sel) {
                        ferrotls_conn_free(c);
                    }
                }
                22 => {
                    // Feed fuzzed bytes.
                    let d = inp.long_bytes();
                    let mut consumed = usize::MAX;
                    let r = check(ferrotls_conn_feed(conn, d.as_ptr(), d.len(), &mut consumed));
                    if r == FERROTLS_OK {
                        assert!(consumed <= d.len());
                    } else {
                        assert_eq!(consumed, 0);
                    }
                }
                23 => {
                    // Pump: move one connection's outgoing bytes into another (a real
                    // handshake between two handles of the registry).
                    let to = pick(&reg.conns, inp.u8()).unwrap_or(std::ptr::null_mut());
                    pump(conn, to);
                }
                24 => {
                    check(ferrotls_conn_feed_eof(conn));
                }
                25 => {
                    let cap = usize::from(inp.u16());
                    let mut buf = vec![0xAAu8; cap];
                    let mut n = usize::MAX;
                    let before = ferrotls_conn_outgoing_len(conn);
                    let p = if cap == 0 && sel & 1 == 0 {
                        std::ptr::null_mut()
                    } else {
                        buf.as_mut_ptr()
                    };
                    let r = check(ferrotls_conn_take_outgoing(conn, p, cap, &mut n));
                    if r == FERROTLS_OK {
                        assert_eq!(n, before.min(cap));
                        assert_eq!(ferrotls_conn_outgoing_len(conn), before - n);
                    }
                }
                26 => {
                    let mut p = std::ptr::null();
                    let mut len = usize::MAX;
                    let r = check(ferrotls_conn_peek_outgoing(conn, &mut p, &mut len));
                    if r == FERROTLS_OK {
                        assert_eq!(len, ferrotls_conn_outgoing_len(conn));
                        if len > 0 {
                            // The whole buffer must be readable.
                            let s = std::slice::from_raw_parts(p, len);
                            std::hint::black_box(s.iter().fold(0u8, |a, &b| a ^ b));
                        }
                        let n = if inp.u8() & 1 == 0 {
                            len
                        } else {
                            usize::from(inp.u16())
                        };
                        check(ferrotls_conn_consume_outgoing(conn, n));
                    }
                }
                27 => {
                    let cap = usize::from(inp.u16());
                    let mut buf = vec![0u8; cap];
                    let mut n = usize::MAX;
                    let p = if cap == 0 && sel & 1 == 0 {
                        std::ptr::null_mut()
                    } else {
                        buf.as_mut_ptr()
                    };
                    let r = check(ferrotls_conn_read(conn, p, cap, &mut n));
                    if r == FERROTLS_OK {
                        assert!(n > 0 && n <= cap);
                    } else {
                        assert_eq!(n, 0);
                    }
                    let _ = ferrotls_conn_readable(conn);
                }
                28 => {
                    let d = inp.long_bytes();
                    let mut acc = usize::MAX;
                    let r = check(ferrotls_conn_write(conn, d.as_ptr(), d.len(), &mut acc));
                    if r == FERROTLS_OK {
                        assert!(acc <= d.len());
                    }
                }
                29 => {
                    check(ferrotls_conn_close(conn));
                }
                30 => {
                    check(ferrotls_conn_flush(conn));
                    check(ferrotls_conn_handshake(conn));
                }
                31 => getters(conn),
                32 => {
                    let n = usize::from(inp.u16() % 2048);
                    let label = inp.bytes();
                    let ctx = inp.bytes();
                    let mut out = vec![0xAAu8; n];
                    let cp = if sel & 1 == 0 {
                        std::ptr::null()
                    } else {
                        ctx.as_ptr()
                    };
                    let cl = if sel & 1 == 0 { 0 } else { ctx.len() };
                    let r = check(ferrotls_conn_export_keying_material(
                        conn,
                        out.as_mut_ptr(),
                        n,
                        label.as_ptr(),
                        label.len(),
                        cp,
                        cl,
                    ));
                    if r != FERROTLS_OK {
                        assert!(
                            out.iter().all(|&b| b == 0),
                            "failed export left key material behind"
                        );
                    }
                }
                33 => {
                    check(ferrotls_conn_key_update(conn, sel & 1 != 0));
                }
                34 => {
                    // Trace callback on (count calls), or off.
                    let cb: ferrotls_trace_cb = if sel & 1 == 0 { Some(trace_cb) } else { None };
                    check(ferrotls_conn_set_trace_callback(
                        conn,
                        cb,
                        (&raw mut TRACE_COUNT).cast(),
                    ));
                }
                35 => {
                    let u = usize::from(inp.u16()) as *mut c_void;
                    ferrotls_conn_set_userdata(conn, u);
                    if !conn.is_null() {
                        assert_eq!(ferrotls_conn_get_userdata(conn), u);
                    }
                }
                36 => wrong_handles(inp, reg, sel),
                37 => {
                    // Socket mode over a non-blocking socket pair; fuzzed bytes arrive on it.
                    if !conn.is_null() && reg.sockets.len() < 4 {
                        let mut fds = [0i32; 2];
                        if libc::socketpair(
                            libc::AF_UNIX,
                            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                            0,
                            fds.as_mut_ptr(),
                        ) == 0
                        {
                            reg.sockets.push((fds[0], fds[1]));
                            check(ferrotls_conn_set_fd(conn, fds[0]));
                        }
                    }
                    check(ferrotls_conn_set_fd(conn, -1));
                }
                38 => {
                    // Bytes arriving on a socket (the connection using it reads them in
                    // handshake/read), or our end closing.
                    if let Some((_, ours)) = pick(&reg.sockets, sel) {
                        if inp.u8() == 0xff {
                            libc::shutdown(ours, libc::SHUT_WR);
                        } else {
                            let d = inp.long_bytes();
                            libc::send(
                                ours,
                                d.as_ptr().cast(),
                                d.len(),
                                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                            );
                        }
                    }
                }
                39 => {
                    // Drain what a socket-mode connection sent.
                    if let Some((_, ours)) = pick(&reg.sockets, sel) {
                        let mut buf = [0u8; 4096];
                        while libc::recv(
                            ours,
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            libc::MSG_DONTWAIT,
                        ) > 0
                        {}
                    }
                }
                40 => {
                    // Result-code helpers on arbitrary codes.
                    let r = inp.u32() as ferrotls_result;
                    let _ = CStr::from_ptr(ferrotls_result_name(r));
                    let _ = CStr::from_ptr(ferrotls_result_message(r));
                    let _ = ferrotls_result_category(r);
                    let _ = CStr::from_ptr(ferrotls_version_string());
                    let _ = ferrotls_abi_version();
                    let _ = ferrotls_version_number();
                }
                41 => {
                    // NULL out-params and NULL-with-length slices.
                    check(ferrotls_conn_feed(conn, std::ptr::null(), 5, &mut 0));
                    check(ferrotls_conn_feed(
                        conn,
                        std::ptr::null(),
                        0,
                        std::ptr::null_mut(),
                    ));
                    check(ferrotls_conn_write(conn, std::ptr::null(), 3, &mut 0));
                    check(ferrotls_conn_read(conn, std::ptr::null_mut(), 10, &mut 0));
                    check(ferrotls_conn_read(conn, [0u8; 4].as_mut_ptr(), 0, &mut 0));
                    check(ferrotls_conn_peek_outgoing(
                        conn,
                        std::ptr::null_mut(),
                        &mut 0,
                    ));
                    check(ferrotls_conn_alpn(
                        conn,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    ));
                    check(ferrotls_conn_peer_cert(
                        conn,
                        0,
                        std::ptr::null_mut(),
                        &mut 0,
                    ));
                    check(ferrotls_conn_last_alert(
                        conn,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    ));
                    check(ferrotls_conn_export_keying_material(
                        conn,
                        std::ptr::null_mut(),
                        8,
                        b"x".as_ptr(),
                        1,
                        std::ptr::null(),
                        3,
                    ));
                    check(ferrotls_config_builder_set_cipher_suites(
                        b,
                        std::ptr::null(),
                        2,
                    ));
                    check(ferrotls_config_builder_set_alpn(b, std::ptr::null(), 2));
                    check(ferrotls_config_builder_add_roots_pem(
                        b,
                        std::ptr::null(),
                        1,
                    ));
                    check(ferrotls_config_builder_set_cipher_list(b, std::ptr::null()));
                    check(ferrotls_config_builder_build(b, std::ptr::null_mut()));
                    // A misaligned u16 array.
                    let raw = [0u8; 9];
                    check(ferrotls_config_builder_set_groups(
                        b,
                        raw.as_ptr().add(1).cast(),
                        4,
                    ));
                }
                42 => {
                    // Files that cannot be loaded: missing, and not PEM. Fixed paths only:
                    // a fuzzed path could name /dev/zero or a FIFO.
                    let p = if sel & 1 == 0 {
                        c"/nonexistent/ferrotls-fuzz"
                    } else {
                        c"/proc/self/status"
                    };
                    check(ferrotls_config_builder_add_roots_file(b, p.as_ptr()));
                    check(ferrotls_config_builder_add_cert_key_file(
                        b,
                        p.as_ptr(),
                        p.as_ptr(),
                    ));
                }
                48 => {
                    // Handshake Again: a client starts a TLS 1.2 renegotiation, a server asks
                    // for one.
                    check(ferrotls_conn_renegotiate(conn));
                }
                49 => {
                    // Handshake Again: the server asks for the client's certificate (TLS 1.3
                    // post-handshake authentication, TLS 1.2 renegotiation).
                    check(ferrotls_conn_request_client_certificate(conn));
                }
                50 => {
                    // The Handshake Again settings, on or off.
                    let on = inp.u8() & 1 != 0;
                    check(match sel % 4 {
                        0 => ferrotls_config_builder_set_post_handshake_auth(b, on),
                        1 => ferrotls_config_builder_set_renegotiation(b, on),
                        2 => ferrotls_config_builder_set_client_renegotiation(b, on),
                        _ => ferrotls_config_builder_set_peer_certificate_change(b, on),
                    });
                }
                _ => {
                    // Ordinary client/server setup shortcut: a working pair of configs.
                    let role = if sel & 1 == 0 {
                        FERROTLS_ROLE_CLIENT
                    } else {
                        FERROTLS_ROLE_SERVER
                    };
                    let mut bb = std::ptr::null_mut();
                    check(ferrotls_config_builder_new(role, &mut bb));
                    if role == FERROTLS_ROLE_SERVER {
                        check(ferrotls_config_builder_add_cert_key_pem(
                            bb,
                            SERVER_PEM.as_ptr(),
                            SERVER_PEM.len(),
                            SERVER_KEY.as_ptr(),
                            SERVER_KEY.len(),
                        ));
                        if sel & 2 != 0 {
                            check(ferrotls_config_builder_add_roots_pem(
                                bb,
                                CA_PEM.as_ptr(),
                                CA_PEM.len(),
                            ));
                            check(ferrotls_config_builder_set_verify(
                                bb,
                                FERROTLS_VERIFY_REQUEST_CLIENT_CERT,
                            ));
                        }
                    } else {
                        check(ferrotls_config_builder_add_roots_pem(
                            bb,
                            CA_PEM.as_ptr(),
                            CA_PEM.len(),
                        ));
                        if sel & 2 != 0 {
                            check(ferrotls_config_builder_add_cert_key_pem(
                                bb,
                                CLIENT_PEM.as_ptr(),
                                CLIENT_PEM.len(),
                                CLIENT_KEY.as_ptr(),
                                CLIENT_KEY.len(),
                            ));
                        }
                    }
                    if sel & 4 != 0 {
                        check(ferrotls_config_builder_set_versions(bb, 0x0303, 0x0303));
                    }
                    if sel & 8 != 0 {
                        // Handshake Again: certificates after the handshake; a server that
                        // accepts the client's renegotiation.
                        check(ferrotls_config_builder_set_post_handshake_auth(bb, true));
                        if role == FERROTLS_ROLE_SERVER {
                            check(ferrotls_config_builder_set_client_renegotiation(bb, true));
                        }
                    }
                    let mut c = std::ptr::null_mut();
                    if check(ferrotls_config_builder_build(bb, &mut c)) == FERROTLS_OK {
                        reg.configs.push(c);
                    }
                    reg.builders.push(bb);
                }
            }
        }
    }

    unsafe fn pump(from: *mut ferrotls_conn, to: *mut ferrotls_conn) {
        if from.is_null() || to.is_null() || from == to {
            return;
        }
        // SAFETY: both live; `p` points into `from`'s buffer until the consume below, and
        // `to` is a different connection, so feeding it does not touch that buffer.
        unsafe {
            for _ in 0..8 {
                let mut p = std::ptr::null();
                let mut len = 0;
                if check(ferrotls_conn_peek_outgoing(from, &mut p, &mut len)) != FERROTLS_OK
                    || len == 0
                {
                    return;
                }
                let mut consumed = 0;
                if check(ferrotls_conn_feed(to, p, len, &mut consumed)) != FERROTLS_OK
                    || consumed == 0
                {
                    return;
                }
                check(ferrotls_conn_consume_outgoing(from, consumed));
            }
        }
    }

    unsafe fn getters(conn: *mut ferrotls_conn) {
        // SAFETY: `conn` is NULL or live.
        unsafe {
            let _ = ferrotls_conn_outgoing_len(conn);
            let _ = ferrotls_conn_readable(conn);
            let w = ferrotls_conn_wants(conn);
            assert!(w < 32);
            check(ferrotls_conn_error(conn));
            let d = ferrotls_conn_error_detail(conn);
            assert!(!d.is_null());
            cstr_or_null(d);
            let _ = ferrotls_conn_os_error(conn);
            let _ = ferrotls_conn_protocol_version(conn);
            cstr_or_null(ferrotls_conn_version_name(conn));
            let _ = ferrotls_conn_cipher_suite(conn);
            cstr_or_null(ferrotls_conn_cipher_name(conn));
            let _ = ferrotls_conn_group(conn);
            cstr_or_null(ferrotls_conn_group_name(conn));
            let _ = ferrotls_conn_signature_scheme(conn);
            cstr_or_null(ferrotls_conn_signature_scheme_name(conn));
            let (mut p, mut n) = (std::ptr::null(), 0usize);
            if check(ferrotls_conn_alpn(conn, &mut p, &mut n)) == FERROTLS_OK {
                let _ = std::slice::from_raw_parts(p, n).to_vec();
            }
            cstr_or_null(ferrotls_conn_server_name(conn));
            let count = ferrotls_conn_peer_cert_count(conn);
            for i in 0..=count {
                let (mut p, mut n) = (std::ptr::null(), 0usize);
                let r = check(ferrotls_conn_peer_cert(conn, i, &mut p, &mut n));
                if i < count {
                    assert_eq!(r, FERROTLS_OK);
                    let _ = std::slice::from_raw_parts(p, n).to_vec();
                } else {
                    assert_ne!(r, FERROTLS_OK);
                }
            }
            cstr_or_null(ferrotls_conn_peer_cert_subject(conn));
            let _ = ferrotls_conn_handshake_kind(conn);
            let (mut d, mut ours) = (0u8, false);
            check(ferrotls_conn_last_alert(conn, &mut d, &mut ours));
            let _ = ferrotls_conn_get_userdata(conn);
        }
    }

    /// Pass live handles where another type is expected, and misaligned pointers into live
    /// handles: all must be refused with FERROTLS_ERR_WRONG_HANDLE_TYPE.
    unsafe fn wrong_handles(inp: &mut Input<'_>, reg: &mut Registry, sel: u8) {
        let kind = inp.u8() % 4;
        let p: *mut c_void = match kind {
            0 => pick(&reg.builders, sel).map_or(std::ptr::null_mut(), |p| p.cast()),
            1 => pick(&reg.configs, sel).map_or(std::ptr::null_mut(), |p| p.cast()),
            2 => pick(&reg.conns, sel).map_or(std::ptr::null_mut(), |p| p.cast()),
            _ => {
                // Misaligned: one byte into a live handle (never read: rejected first).
                let any = pick(&reg.conns, sel)
                    .map(|p| p.cast::<c_void>())
                    .or_else(|| pick(&reg.builders, sel).map(|p| p.cast()));
                any.map_or(std::ptr::null_mut(), |p| {
                    p.cast::<u8>().wrapping_add(1).cast()
                })
            }
        };
        if p.is_null() {
            return;
        }
        let wrong = FERROTLS_ERR_WRONG_HANDLE_TYPE;
        // SAFETY: `p` is a live handle (or points one byte into one); the library checks tags.
        unsafe {
            if kind != 0 {
                assert_eq!(ferrotls_config_builder_set_versions(p.cast(), 0, 0), wrong);
                let mut out = std::ptr::null_mut();
                assert_eq!(ferrotls_config_builder_build(p.cast(), &mut out), wrong);
                assert!(out.is_null());
                // Freeing a non-builder as a builder must be refused, not free it.
                ferrotls_config_builder_free(p.cast());
            }
            if kind != 1 {
                let mut out = std::ptr::null_mut();
                assert_eq!(
                    ferrotls_conn_new_client(p.cast(), std::ptr::null(), &mut out),
                    wrong
                );
                assert_eq!(ferrotls_conn_new_server(p.cast(), &mut out), wrong);
                assert!(ferrotls_config_clone(p.cast()).is_null());
                assert_eq!(ferrotls_config_role(p.cast()), 0);
                ferrotls_config_free(p.cast());
            }
            if kind != 2 {
                let mut n = 0;
                assert_eq!(
                    ferrotls_conn_feed(p.cast(), b"x".as_ptr(), 1, &mut n),
                    wrong
                );
                assert_eq!(ferrotls_conn_outgoing_len(p.cast()), 0);
                assert_eq!(ferrotls_conn_close(p.cast()), wrong);
                assert_eq!(ferrotls_conn_error(p.cast()), wrong);
                getters(p.cast());
                ferrotls_conn_free(p.cast());
            }
        }
    }
}

/// Harness 5: see [`ffi_seq`].
pub fn ffi_sequences(data: &[u8]) {
    ffi_seq::run(data);
}
