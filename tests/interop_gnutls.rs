//! ferrotls against GnuTLS (`gnutls-serv` / `gnutls-cli`) over 127.0.0.1: TLS 1.2 with every
//! suite and both certificate types, TLS 1.3, and mutual TLS.

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::*;
use ferrotls::codec::enums::{CipherSuite, ProtocolVersion};
use ferrotls::config::VerifyMode;

const TLS12_ONLY: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.2";

const SUITES12: [(CipherSuite, KeyType); 6] = [
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        KeyType::P256,
    ),
    (
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        KeyType::P256,
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

fn gnutls_serv(pki: &Pki, kt: KeyType, priority: &str, extra: &[&str]) -> (Killed, u16) {
    let dir = temp_dir("gnutls-serv");
    let id = pki.issue(&["localhost"], kt, false);
    std::fs::write(dir.join("cert.pem"), &id.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &id.key_pem).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    let port = free_port();
    let child = Command::new("gnutls-serv")
        .current_dir(&dir)
        .args([
            "--x509certfile",
            "cert.pem",
            "--x509keyfile",
            "key.pem",
            "--port",
            &port.to_string(),
        ])
        .args(["--priority", priority])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), port)
}

fn gnutls_cli(port: u16, pki: &Pki, priority: &str, extra: &[&str]) -> (bool, String) {
    let dir = temp_dir("gnutls-cli");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    let mut child = Command::new("gnutls-cli")
        .current_dir(&dir)
        .args([
            "--x509cafile",
            "ca.pem",
            "-p",
            &port.to_string(),
            "--priority",
            priority,
        ])
        .args(extra)
        .arg("localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello from gnutls\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn tls12_every_suite_both_roles() {
    if !have_tool("gnutls-cli") {
        eprintln!("skipped: no gnutls-cli");
        return;
    }
    let pki = Pki::new("GnuTLS Interop CA");
    for (suite, kt) in SUITES12 {
        // Our client -> gnutls-serv (its HTTP mode).
        let (_srv, port) = gnutls_serv(&pki, kt, TLS12_ONLY, &[]);
        let mut cb = client_builder(&pki);
        cb.set_cipher_suites(&[suite]).unwrap();
        let mut sock = connect_retry(port);
        let mut c =
            ferrotls::conn::Connection::new_client(cb.build().unwrap(), Some("localhost")).unwrap();
        handshake_io(&mut c, &mut sock).unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));
        assert_eq!(c.cipher_suite(), Some(suite));
        write_all_io(&mut c, &mut sock, b"GET / HTTP/1.0\r\n\r\n");
        let (page, _) = read_to_end_io(&mut c, &mut sock);
        assert!(
            String::from_utf8_lossy(&page).contains("HTTP/1.0 200"),
            "{suite}"
        );

        // gnutls-cli -> our server.
        let mut sb = server_builder(&pki, kt);
        sb.set_cipher_suites(&[suite]).unwrap();
        let config = sb.build().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = std::thread::spawn(move || echo_once(listener, config));
        let (_, out) = gnutls_cli(port, &pki, TLS12_ONLY, &[]);
        let s = t
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{suite}: {e}\n{out}"));
        assert_eq!(s.cipher_suite(), Some(suite));
        assert!(out.contains("hello from gnutls"), "{suite}: {out}");
    }
}

#[test]
fn tls13_both_roles() {
    if !have_tool("gnutls-cli") {
        return;
    }
    let pki = Pki::new("GnuTLS Interop CA");
    let (_srv, port) = gnutls_serv(&pki, KeyType::P256, "NORMAL:-VERS-ALL:+VERS-TLS1.3", &[]);
    let mut sock = connect_retry(port);
    let mut c = ferrotls::conn::Connection::new_client(
        client_builder(&pki).build().unwrap(),
        Some("localhost"),
    )
    .unwrap();
    handshake_io(&mut c, &mut sock).unwrap();
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));

    let config = server_builder(&pki, KeyType::Ed25519).build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || echo_once(listener, config));
    let (_, out) = gnutls_cli(port, &pki, "NORMAL:-VERS-ALL:+VERS-TLS1.3", &[]);
    let s = t.join().unwrap().unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(s.protocol_version(), Some(ProtocolVersion::TLSv1_3));
}

#[test]
fn mutual_tls_accepted_missing_and_unknown_ca_in_both_versions() {
    if !have_tool("gnutls-cli") {
        return;
    }
    let pki = Pki::new("GnuTLS Interop CA");
    let rogue = Pki::new("Rogue CA");
    let good = pki.issue(&["client.test"], KeyType::P256, true);
    let bad = rogue.issue(&["rogue.test"], KeyType::P256, true);
    for prio in [TLS12_ONLY, "NORMAL:-VERS-ALL:+VERS-TLS1.3"] {
        for (who, id, ok) in [
            ("accepted", Some(&good), true),
            ("missing", None, false),
            ("unknown CA", Some(&bad), false),
        ] {
            let mut sb = server_builder(&pki, KeyType::P256);
            sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
            sb.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
            let config = sb.build().unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let t = std::thread::spawn(move || echo_once(listener, config));
            let dir = temp_dir("gnutls-mtls");
            let mut extra = Vec::new();
            if let Some(id) = id {
                std::fs::write(dir.join("c.pem"), &id.chain_pem).unwrap();
                std::fs::write(dir.join("c.key"), &id.key_pem).unwrap();
                extra = vec![
                    format!("--x509certfile={}", dir.join("c.pem").display()),
                    format!("--x509keyfile={}", dir.join("c.key").display()),
                ];
            }
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let (_, out) = gnutls_cli(port, &pki, prio, &extra);
            let r = t.join().unwrap();
            match (ok, r) {
                (true, Ok(s)) => {
                    assert_eq!(s.peer_cert_subject().as_deref(), Some("CN=client.test"))
                }
                (false, Err(e)) => {
                    let want = if who == "missing" {
                        "requires one"
                    } else {
                        "Rogue CA"
                    };
                    assert!(e.contains(want), "{prio} {who}: {e}");
                }
                (ok, r) => panic!(
                    "{prio} {who}: expected ok={ok}, got {:?}\n{out}",
                    r.map(|_| ())
                ),
            }
        }
    }
}
