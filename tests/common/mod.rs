//! Test helpers: a test PKI made with rcgen (RSA keys from the openssl CLI, since ring cannot
//! generate RSA keys), configs, and an in-memory pump between two connections.
#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;

use ferrotls::config::{Config, ConfigBuilder, Role, VerifyMode};
use ferrotls::conn::{Connection, ReadStatus};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    SignatureAlgorithm,
};

/// Key types a test certificate can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    P256,
    P384,
    Ed25519,
    Rsa2048,
}

pub const ALL_KEY_TYPES: [KeyType; 4] = [
    KeyType::P256,
    KeyType::P384,
    KeyType::Ed25519,
    KeyType::Rsa2048,
];

fn openssl_key(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("the openssl CLI is needed to make RSA test keys");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

pub fn key_pair(kt: KeyType) -> KeyPair {
    let alg: &'static SignatureAlgorithm = match kt {
        KeyType::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        // OpenSSL's Ed25519 PKCS#8 (v1), which OpenSSL itself can read back, unlike ring's v2.
        KeyType::Ed25519 => {
            let pem = openssl_key(&["-algorithm", "ed25519"]);
            return KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_ED25519).unwrap();
        }
        KeyType::Rsa2048 => {
            let pem = openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
            return KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap();
        }
    };
    KeyPair::generate_for(alg).unwrap()
}

/// A CA and what it issued, as PEM.
pub struct Pki {
    pub ca_pem: String,
    ca_cert: rcgen::Certificate,
    ca_key: KeyPair,
}

/// A certificate chain and key, as PEM.
pub struct Identity {
    pub chain_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let key = key_pair(KeyType::P256);
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.self_signed(&key).unwrap();
        Self {
            ca_pem: cert.pem(),
            ca_cert: cert,
            ca_key: key,
        }
    }

    /// An intermediate CA signed by this one (or, with `is_ca` false, a certificate that
    /// pretends to be one), usable to issue further certificates.
    pub fn issue_intermediate(&self, name: &str, is_ca: bool) -> Pki {
        let key = key_pair(KeyType::P256);
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = if is_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap();
        Pki {
            ca_pem: cert.pem(),
            ca_cert: cert,
            ca_key: key,
        }
    }

    /// The CA's private key as PEM (to sign with the openssl CLI).
    pub fn ca_key_pem(&self) -> String {
        self.ca_key.serialize_pem()
    }

    pub fn issue(&self, names: &[&str], kt: KeyType, client: bool) -> Identity {
        self.issue_with(names, kt, client, |_| {})
    }

    /// Issue a certificate after letting `edit` change its parameters (dates, usages).
    pub fn issue_with(
        &self,
        names: &[&str],
        kt: KeyType,
        client: bool,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Identity {
        let key = key_pair(kt);
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        edit(&mut p);
        let cert = p.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap();
        Identity {
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

pub fn server_builder(pki: &Pki, kt: KeyType) -> ConfigBuilder {
    let id = pki.issue(&["localhost", "127.0.0.1"], kt, false);
    let mut b = ConfigBuilder::new(Role::Server);
    b.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    b
}

pub fn client_builder(pki: &Pki) -> ConfigBuilder {
    let mut b = ConfigBuilder::new(Role::Client);
    b.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    b
}

pub fn pair(client: &Arc<Config>, server: &Arc<Config>, name: &str) -> (Connection, Connection) {
    (
        Connection::new_client(client.clone(), Some(name)).unwrap(),
        Connection::new_server(server.clone()).unwrap(),
    )
}

/// Move all pending ciphertext from `a` to `b`; returns bytes moved or b's error.
pub fn transfer(a: &mut Connection, b: &mut Connection) -> Result<usize, ferrotls::error::Error> {
    let mut moved = 0;
    while a.outgoing_len() > 0 {
        let data = a.peek_outgoing().to_vec();
        let n = b.feed(&data)?;
        a.consume_outgoing(n);
        moved += n;
        if n == 0 {
            break;
        }
    }
    Ok(moved)
}

/// Run the handshake to completion; returns the first error from either side.
pub fn handshake(c: &mut Connection, s: &mut Connection) -> Result<(), ferrotls::error::Error> {
    for _ in 0..20 {
        let a = transfer(c, s)?;
        let b = transfer(s, c)?;
        if !c.is_handshaking() && !s.is_handshaking() && a == 0 && b == 0 {
            return Ok(());
        }
    }
    panic!("handshake did not finish in 20 round trips");
}

/// Like `handshake`, but lets the failing side's alert reach the other side, and returns
/// both sides' errors as strings.
pub fn failing_handshake(
    c: &mut Connection,
    s: &mut Connection,
) -> (Option<String>, Option<String>) {
    for _ in 0..20 {
        let r1 = transfer(c, s);
        let r2 = transfer(s, c);
        if r1.is_err() || r2.is_err() {
            // deliver the alert the failing side queued
            let _ = transfer(c, s);
            let _ = transfer(s, c);
            break;
        }
        if !c.is_handshaking() && !s.is_handshaking() {
            break;
        }
    }
    (
        c.error().map(|e| e.to_string()),
        s.error().map(|e| e.to_string()),
    )
}

/// Send `data` from `a` and read it all at `b`.
pub fn send_recv(a: &mut Connection, b: &mut Connection, data: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut off = 0;
    let mut buf = vec![0u8; 32 * 1024];
    while off < data.len() || a.outgoing_len() > 0 || b.readable() > 0 {
        if off < data.len() {
            off += a.write(&data[off..]).unwrap();
        }
        transfer(a, b).unwrap();
        while let ReadStatus::Data(n) = b.read(&mut buf).unwrap() {
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() >= data.len() && a.outgoing_len() == 0 {
            break;
        }
    }
    got
}

pub fn no_verify_client() -> Arc<Config> {
    let mut b = ConfigBuilder::new(Role::Client);
    b.set_verify_mode(VerifyMode::DangerousNoVerify).unwrap();
    b.build().unwrap()
}

// ---- blocking socket helpers for interop with real peers ----

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

/// A fresh temporary directory for PEM files handed to other programs.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("ferrotls-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connect, retrying while a server starts (bounded: 10 s).
pub fn connect_retry(port: u16) -> TcpStream {
    for _ in 0..200 {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                .unwrap();
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

pub fn flush_io(conn: &mut Connection, sock: &mut TcpStream) -> std::io::Result<()> {
    while conn.outgoing_len() > 0 {
        let n = sock.write(conn.peek_outgoing())?;
        conn.consume_outgoing(n);
    }
    Ok(())
}

/// Drive the handshake over a socket.
pub fn handshake_io(conn: &mut Connection, sock: &mut TcpStream) -> Result<(), String> {
    let mut buf = [0u8; 16 * 1024];
    flush_io(conn, sock).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        let n = sock.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(conn
                .feed_eof()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default());
        }
        let r = conn.feed(&buf[..n]);
        flush_io(conn, sock).map_err(|e| e.to_string())?;
        r.map_err(|e| conn.error().map(|c| c.to_string()).unwrap_or(e.to_string()))?;
    }
    flush_io(conn, sock).map_err(|e| e.to_string())
}

/// Read plaintext until the peer closes; returns the data and how it ended.
pub fn read_to_end_io(
    conn: &mut Connection,
    sock: &mut TcpStream,
) -> (Vec<u8>, Result<(), String>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        loop {
            match conn.read(&mut buf) {
                Ok(ReadStatus::Data(n)) => out.extend_from_slice(&buf[..n]),
                Ok(ReadStatus::Closed) => return (out, Ok(())),
                Ok(ReadStatus::WouldBlock) => break,
                Ok(ReadStatus::PeerAuthenticated) => {}
                Err(e) => return (out, Err(e.to_string())),
            }
        }
        let n = match sock.read(&mut buf) {
            Ok(n) => n,
            Err(e) => return (out, Err(e.to_string())),
        };
        if n == 0 {
            return (out, conn.feed_eof().map_err(|e| e.to_string()));
        }
        if let Err(e) = conn.feed(&buf[..n]) {
            return (out, Err(e.to_string()));
        }
        let _ = flush_io(conn, sock);
    }
}

/// Write all of `data` and flush.
pub fn write_all_io(conn: &mut Connection, sock: &mut TcpStream, data: &[u8]) {
    let mut off = 0;
    while off < data.len() {
        off += conn.write(&data[off..]).unwrap();
        flush_io(conn, sock).unwrap();
    }
}

/// A key log that keeps what it is given, for tests that need the secrets.
#[derive(Default)]
pub struct CapturedKeys(
    pub std::sync::Mutex<Vec<(String, Vec<u8>)>>,
    pub std::sync::Mutex<Vec<u8>>,
);

impl ferrotls::config::KeyLog for CapturedKeys {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push((label.to_string(), secret.to_vec()));
        *self.1.lock().unwrap() = client_random.to_vec();
    }
}

impl CapturedKeys {
    pub fn get(&self, label: &str) -> Vec<u8> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, s)| s.clone())
            .unwrap()
    }

    /// The client random logged with the secrets.
    pub fn random_for(&self, _label: &str) -> [u8; 32] {
        self.1.lock().unwrap().as_slice().try_into().unwrap()
    }
}

/// Split a byte stream into whole records (header included).
pub fn split_records(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while data.len() >= 5 {
        let len = 5 + usize::from(u16::from_be_bytes([data[3], data[4]]));
        out.push(data[..len].to_vec());
        data = &data[len..];
    }
    out
}

/// Run one connection of our server on `listener`: echo the first line, then close_notify.
pub fn echo_once(
    listener: TcpListener,
    config: std::sync::Arc<ferrotls::config::Config>,
) -> Result<Connection, String> {
    use std::io::Read as _;
    let (mut sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut s = Connection::new_server(config).unwrap();
    handshake_io(&mut s, &mut sock)?;
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    while !line.contains(&b'\n') {
        match s.read(&mut buf).map_err(|e| e.to_string())? {
            ferrotls::conn::ReadStatus::Data(n) => line.extend_from_slice(&buf[..n]),
            ferrotls::conn::ReadStatus::Closed => break,
            ferrotls::conn::ReadStatus::PeerAuthenticated => {}
            ferrotls::conn::ReadStatus::WouldBlock => {
                let n = sock.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("EOF before a line arrived".into());
                }
                s.feed(&buf[..n]).map_err(|e| e.to_string())?;
                flush_io(&mut s, &mut sock).map_err(|e| e.to_string())?;
            }
        }
    }
    write_all_io(&mut s, &mut sock, &line);
    s.close();
    flush_io(&mut s, &mut sock).map_err(|e| e.to_string())?;
    Ok(s)
}

// ---- real peers: rustls in memory, command-line tools as child processes ----

/// A child process killed (and reaped) when dropped, so a failing test leaves no server.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a command-line tool runs here (`tool version` / `--version`).
pub fn have_tool(tool: &str) -> bool {
    let arg = if tool == "openssl" {
        "version"
    } else {
        "--version"
    };
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Move bytes between our connection and a rustls one until both are quiet.
pub fn pump_rustls(ours: &mut Connection, theirs: &mut rustls::Connection) -> Result<(), String> {
    for _ in 0..50 {
        let mut moved = 0;
        while ours.outgoing_len() > 0 {
            let mut data = ours.peek_outgoing();
            let n = theirs.read_tls(&mut data).map_err(|e| e.to_string())?;
            ours.consume_outgoing(n);
            moved += n;
            theirs
                .process_new_packets()
                .map_err(|e| format!("rustls: {e}"))?;
        }
        let mut buf = Vec::new();
        while theirs.wants_write() {
            theirs.write_tls(&mut buf).map_err(|e| e.to_string())?;
        }
        moved += buf.len();
        let mut off = 0;
        while off < buf.len() {
            off += ours
                .feed(&buf[off..])
                .map_err(|e| format!("ferrotls: {e}"))?;
        }
        if moved == 0 {
            return Ok(());
        }
    }
    Err("no progress".into())
}

/// All plaintext waiting in `ours`.
pub fn read_all(ours: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let ReadStatus::Data(n) = ours.read(&mut buf).unwrap() {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Connect to an HTTP-over-TLS test server on `port`, GET /, and return the page.
pub fn get_page(client: Arc<Config>, port: u16) -> (Connection, String) {
    let mut sock = connect_retry(port);
    let mut c = Connection::new_client(client, Some("localhost")).unwrap();
    handshake_io(&mut c, &mut sock).unwrap();
    write_all_io(&mut c, &mut sock, b"GET / HTTP/1.0\r\n\r\n");
    let (page, end) = read_to_end_io(&mut c, &mut sock);
    end.unwrap();
    (c, String::from_utf8_lossy(&page).into_owned())
}

/// Read until WouldBlock (Handshake Again tests): each Data chunk, and `None` for each PeerAuthenticated, in order.
pub fn reads(conn: &mut Connection) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf).unwrap() {
            ReadStatus::Data(n) => out.push(Some(buf[..n].to_vec())),
            ReadStatus::PeerAuthenticated => out.push(None),
            ReadStatus::WouldBlock | ReadStatus::Closed => return out,
        }
    }
}

/// The records in `data`: (content type, body).
pub fn plain_records(mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while data.len() >= 5 {
        let len = u16::from_be_bytes([data[3], data[4]]) as usize;
        out.push((data[0], data[5..5 + len].to_vec()));
        data = &data[5 + len..];
    }
    out
}

/// The ClientHello among a client's pending plaintext records, decoded.
pub fn pending_client_hello(c: &Connection) -> ferrotls::codec::handshake::ClientHelloPayload {
    use ferrotls::codec::handshake::{HandshakeMessage, HandshakePayload};
    for (typ, body) in plain_records(c.peek_outgoing()) {
        if typ == 22
            && let HandshakePayload::ClientHello(ch) =
                HandshakeMessage::read(&body, ferrotls::codec::enums::ProtocolVersion::TLSv1_2)
                    .unwrap()
                    .payload
        {
            return ch;
        }
    }
    panic!("no ClientHello pending");
}
