//! TLS 1.2 interop: ferrotls against rustls 0.23 (in memory) and the OpenSSL command-line
//! tools (over 127.0.0.1), both roles, every TLS 1.2 suite, mutual TLS, renegotiation.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::*;
use ferrotls::codec::enums::{CipherSuite, ProtocolVersion};
use ferrotls::config::{Config, VerifyMode};
use ferrotls::conn::{Connection, ReadStatus};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;

/// Every TLS 1.2 suite with the key type its certificate needs.
const SUITES: [(CipherSuite, KeyType); 6] = [
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        KeyType::P256,
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        KeyType::P384,
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyType::P256,
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyType::Rsa2048,
    ),
];

/// Server identities per key type, made once (RSA key generation is the slow part).
struct Ids {
    p256: Identity,
    p384: Identity,
    rsa: Identity,
}

impl Ids {
    fn new(pki: &Pki) -> Self {
        Self {
            p256: pki.issue(&["localhost"], KeyType::P256, false),
            p384: pki.issue(&["localhost"], KeyType::P384, false),
            rsa: pki.issue(&["localhost"], KeyType::Rsa2048, false),
        }
    }
    fn get(&self, kt: KeyType) -> &Identity {
        match kt {
            KeyType::P256 => &self.p256,
            KeyType::P384 => &self.p384,
            _ => &self.rsa,
        }
    }
}

fn our_server(pki: &Pki, id: &Identity, mode: VerifyMode) -> Arc<Config> {
    let mut b = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
    b.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    if mode != VerifyMode::NoClientAuth {
        b.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
        b.set_verify_mode(mode).unwrap();
    }
    b.build().unwrap()
}

// ---- rustls ----

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

fn key(pem: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn provider(suite: Option<CipherSuite>) -> Arc<rustls::crypto::CryptoProvider> {
    let mut prov = rustls::crypto::ring::default_provider();
    if let Some(s) = suite {
        prov.cipher_suites
            .retain(|cs| u16::from(cs.suite()) == s.to_int());
    }
    Arc::new(prov)
}

fn roots(pki: &Pki) -> Arc<rustls::RootCertStore> {
    let mut r = rustls::RootCertStore::empty();
    for c in certs(&pki.ca_pem) {
        r.add(c).unwrap();
    }
    Arc::new(r)
}

fn rustls_client(pki: &Pki, suite: CipherSuite, id: Option<&Identity>) -> rustls::Connection {
    let b = rustls::ClientConfig::builder_with_provider(provider(Some(suite)))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots(pki));
    let cfg = match id {
        Some(id) => b
            .with_client_auth_cert(certs(&id.chain_pem), key(&id.key_pem))
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let name = ServerName::try_from("localhost").unwrap();
    rustls::Connection::Client(rustls::ClientConnection::new(Arc::new(cfg), name).unwrap())
}

fn rustls_server(pki: &Pki, id: &Identity, client_auth: bool) -> rustls::Connection {
    let b = rustls::ServerConfig::builder_with_provider(provider(None))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap();
    let b = if client_auth {
        let v =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots(pki), provider(None))
                .build()
                .unwrap();
        b.with_client_cert_verifier(v)
    } else {
        b.with_no_client_auth()
    };
    let cfg = b
        .with_single_cert(certs(&id.chain_pem), key(&id.key_pem))
        .unwrap();
    rustls::Connection::Server(rustls::ServerConnection::new(Arc::new(cfg)).unwrap())
}

/// Data both ways and exporter agreement over an established pair.
fn exchange(ours: &mut Connection, theirs: &mut rustls::Connection, what: &str) {
    theirs.writer().write_all(b"from rustls").unwrap();
    pump_rustls(ours, theirs).unwrap();
    assert_eq!(read_all(ours), b"from rustls", "{what}");
    ours.write(b"from ferrotls").unwrap();
    pump_rustls(ours, theirs).unwrap();
    let mut got = [0u8; 13];
    theirs.reader().read_exact(&mut got).unwrap();
    assert_eq!(&got, b"from ferrotls", "{what}");
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    ours.export_keying_material(&mut a, b"EXPORTER-interop", Some(b"ctx"))
        .unwrap();
    theirs
        .export_keying_material(&mut b, b"EXPORTER-interop", Some(b"ctx"))
        .unwrap();
    assert_eq!(a, b, "{what}: exporters differ");
}

#[test]
fn rustls_client_to_our_server_every_suite() {
    let pki = Pki::new("TLS 1.2 Interop CA");
    let ids = Ids::new(&pki);
    for (suite, kt) in SUITES {
        let server = our_server(&pki, ids.get(kt), VerifyMode::NoClientAuth);
        let mut theirs = rustls_client(&pki, suite, None);
        let mut ours = Connection::new_server(server).unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert!(!ours.is_handshaking() && !theirs.is_handshaking());
        assert_eq!(ours.protocol_version(), Some(V12));
        assert_eq!(ours.cipher_suite(), Some(suite));
        exchange(&mut ours, &mut theirs, &suite.to_string());
    }
}

#[test]
fn our_client_to_rustls_server_every_suite() {
    let pki = Pki::new("TLS 1.2 Interop CA");
    let ids = Ids::new(&pki);
    for (suite, kt) in SUITES {
        let mut cb = client_builder(&pki);
        cb.set_cipher_suites(&[suite]).unwrap();
        let mut theirs = rustls_server(&pki, ids.get(kt), false);
        let mut ours = Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert_eq!(ours.protocol_version(), Some(V12));
        assert_eq!(ours.cipher_suite(), Some(suite));
        exchange(&mut ours, &mut theirs, &suite.to_string());
    }
}

#[test]
fn mutual_tls_with_rustls_both_roles() {
    let pki = Pki::new("TLS 1.2 Interop CA");
    let ids = Ids::new(&pki);
    for kt in [KeyType::P256, KeyType::Rsa2048] {
        let client_id = pki.issue(&["client.test"], kt, true);
        // rustls client, our server requiring a certificate.
        let server = our_server(&pki, &ids.p256, VerifyMode::RequireClientCert);
        let mut ours = Connection::new_server(server).unwrap();
        let mut theirs = rustls_client(
            &pki,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            Some(&client_id),
        );
        pump_rustls(&mut ours, &mut theirs).unwrap_or_else(|e| panic!("{kt:?}: {e}"));
        assert_eq!(ours.peer_cert_subject().as_deref(), Some("CN=client.test"));
        exchange(&mut ours, &mut theirs, "rustls client cert");

        // Our client with a certificate, rustls server requiring one.
        let mut cb = client_builder(&pki);
        cb.add_cert_key_pem(client_id.chain_pem.as_bytes(), client_id.key_pem.as_bytes())
            .unwrap();
        let mut theirs = rustls_server(&pki, &ids.rsa, true);
        let mut ours = Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
        pump_rustls(&mut ours, &mut theirs).unwrap_or_else(|e| panic!("{kt:?}: {e}"));
        assert_eq!(ours.protocol_version(), Some(V12));
        let rustls::Connection::Server(s) = &theirs else {
            unreachable!()
        };
        assert_eq!(s.peer_certificates().map(|c| c.len()), Some(1));
    }
}

// ---- OpenSSL ----

/// Write the PKI's CA and the identities into a directory for the openssl tools.
fn files(pki: &Pki, ids: &Ids, client: &Identity) -> std::path::PathBuf {
    let dir = temp_dir("tls12");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    for (name, id) in [
        ("p256", &ids.p256),
        ("p384", &ids.p384),
        ("rsa", &ids.rsa),
        ("client", client),
    ] {
        std::fs::write(dir.join(format!("{name}.crt")), &id.chain_pem).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), &id.key_pem).unwrap();
    }
    dir
}

fn file_stem(kt: KeyType) -> &'static str {
    match kt {
        KeyType::P256 => "p256",
        KeyType::P384 => "p384",
        _ => "rsa",
    }
}

fn s_server(dir: &std::path::Path, kt: KeyType, extra: &[&str]) -> (Killed, u16) {
    let port = free_port();
    let stem = file_stem(kt);
    let child = Command::new("openssl")
        .current_dir(dir)
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .args([
            "-cert",
            &format!("{stem}.crt"),
            "-key",
            &format!("{stem}.key"),
        ])
        .args(["-www", "-naccept", "1", "-tls1_2"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), port)
}

#[test]
fn our_client_against_openssl_s_server_every_suite() {
    if !have_tool("openssl") {
        eprintln!("skipped: no openssl binary");
        return;
    }
    let pki = Pki::new("TLS 1.2 Interop CA");
    let ids = Ids::new(&pki);
    let client_id = pki.issue(&["client.test"], KeyType::P256, true);
    let dir = files(&pki, &ids, &client_id);
    for (suite, kt) in SUITES {
        let name = ferrotls::crypto::suites::openssl_name(suite).unwrap();
        let (_srv, port) = s_server(&dir, kt, &["-cipher", name]);
        let (c, page) = get_page(client_builder(&pki).build().unwrap(), port);
        assert!(page.starts_with("HTTP/1.0 200 ok"), "{suite}: {page}");
        assert!(page.contains("TLSv1.2"), "{page}");
        assert!(page.contains(name), "{page}");
        assert_eq!(c.protocol_version(), Some(V12));
        assert_eq!(c.cipher_suite(), Some(suite));
    }
    // Mutual TLS: s_server demands a certificate and shows it on the page.
    let (_srv, port) = s_server(
        &dir,
        KeyType::Rsa2048,
        &["-Verify", "1", "-CAfile", "ca.pem"],
    );
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(client_id.chain_pem.as_bytes(), client_id.key_pem.as_bytes())
        .unwrap();
    let (c, page) = get_page(cb.build().unwrap(), port);
    assert_eq!(c.protocol_version(), Some(V12));
    assert!(page.contains("client.test"), "{page}");
}

type TraceLines = Arc<Mutex<Vec<String>>>;

/// One connection of our server: echo the first line, then close_notify.
fn echo_once(
    listener: TcpListener,
    config: Arc<Config>,
    trace: TraceLines,
) -> Result<Connection, String> {
    let (mut sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut s = Connection::new_server(config).unwrap();
    s.set_trace(Some(Box::new(move |e| {
        trace.lock().unwrap().push(e.text.to_string())
    })));
    handshake_io(&mut s, &mut sock)?;
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    while !line.contains(&b'\n') {
        match s.read(&mut buf).map_err(|e| e.to_string())? {
            ReadStatus::Data(n) => line.extend_from_slice(&buf[..n]),
            ReadStatus::Closed => break,
            ReadStatus::PeerAuthenticated => {}
            ReadStatus::WouldBlock => {
                let n = sock.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("EOF before a line arrived".into());
                }
                let r = s.feed(&buf[..n]);
                flush_io(&mut s, &mut sock).map_err(|e| e.to_string())?;
                r.map_err(|e| e.to_string())?;
            }
        }
    }
    write_all_io(&mut s, &mut sock, &line);
    s.close();
    flush_io(&mut s, &mut sock).map_err(|e| e.to_string())?;
    Ok(s)
}

fn s_client(dir: &std::path::Path, port: u16, extra: &[&str]) -> Child {
    Command::new("openssl")
        .current_dir(dir)
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", "-CAfile", "ca.pem"])
        .args(["-verify_return_error", "-tls1_2"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn output(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Serve one connection on a fresh port; the thread returns our connection's outcome.
fn serve(
    config: Arc<Config>,
) -> (
    u16,
    TraceLines,
    std::thread::JoinHandle<Result<Connection, String>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let trace: TraceLines = Arc::default();
    let t2 = trace.clone();
    (
        port,
        trace,
        std::thread::spawn(move || echo_once(listener, config, t2)),
    )
}

#[test]
fn openssl_s_client_against_our_server_every_suite() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("TLS 1.2 Interop CA");
    let ids = Ids::new(&pki);
    let client_id = pki.issue(&["client.test"], KeyType::Rsa2048, true);
    let dir = files(&pki, &ids, &client_id);
    for (suite, kt) in SUITES {
        let name = ferrotls::crypto::suites::openssl_name(suite).unwrap();
        let (port, _, t) = serve(our_server(&pki, ids.get(kt), VerifyMode::NoClientAuth));
        let mut child = s_client(&dir, port, &["-cipher", name, "-ign_eof"]);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello over TLS 1.2\n")
            .unwrap();
        let out = output(child);
        let s = t
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{suite}: {e}\n{out}"));
        assert_eq!(s.cipher_suite(), Some(suite));
        assert!(out.contains("Verify return code: 0 (ok)"), "{suite}: {out}");
        assert!(out.contains("hello over TLS 1.2"), "{suite}: {out}");
        assert!(out.contains("Extended master secret: yes"), "{out}");
        assert!(out.contains("Secure Renegotiation IS supported"), "{out}");
    }

    // Mutual TLS: s_client presents its certificate to our server, which requires one.
    let (port, _, t) = serve(our_server(&pki, &ids.p256, VerifyMode::RequireClientCert));
    let mut child = s_client(
        &dir,
        port,
        &["-cert", "client.crt", "-key", "client.key", "-ign_eof"],
    );
    child.stdin.take().unwrap().write_all(b"mtls\n").unwrap();
    let out = output(child);
    let s = t.join().unwrap().unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"));
    assert!(out.contains("mtls"), "{out}");

    // Without a certificate: handshake_failure in TLS 1.2.
    let (port, _, t) = serve(our_server(&pki, &ids.p256, VerifyMode::RequireClientCert));
    let mut child = s_client(&dir, port, &["-ign_eof"]);
    // s_client may already have exited on the refusal (a fast loopback): a broken pipe here is
    // that, not a failure; the assertions below judge the outcome.
    let _ = child.stdin.take().unwrap().write_all(b"x\n");
    let out = output(child);
    let err = t.join().unwrap().err().expect("the handshake must fail");
    assert!(err.contains("requires one"), "{err}");
    assert!(out.contains("handshake failure"), "{out}");
}

#[test]
fn openssl_renegotiation_is_declined() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("TLS 1.2 Interop CA");
    let ids = Ids::new(&pki);
    let dir = files(&pki, &ids, &ids.p256);
    let (port, trace, t) = serve(our_server(&pki, &ids.p256, VerifyMode::NoClientAuth));
    // "R" at the start of a line makes s_client renegotiate (only without -ign_eof).
    let mut child = s_client(&dir, port, &[]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"R\n").unwrap();
    // Keep stdin open until our server has seen the outcome, so EOF cannot race it.
    let result = t.join().unwrap();
    drop(stdin);
    let out = output(child);
    let lines = trace.lock().unwrap().join("\n");
    assert!(
        lines.contains("renegotiation: the peer sent a ClientHello after the handshake; declined"),
        "{lines}\n{out}"
    );
    assert!(
        lines.contains("alert out: warning no_renegotiation"),
        "{lines}"
    );
    // OpenSSL treats a refused renegotiation it asked for as fatal (its choice; RFC 5246
    // §7.2.2 lets it); our side declined without failing.
    let err = result.err().unwrap_or_default();
    eprintln!("our server after the declined renegotiation: {err}");
    assert!(
        err.is_empty() || err.contains("handshake_failure") || err.contains("closed"),
        "{err}"
    );
    assert!(out.contains("RENEGOTIATING"), "{out}");
}
