//! ferrotls against the OpenSSL command-line tools over 127.0.0.1, both roles.

mod common;

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::*;
use ferrotls::codec::enums::{CipherSuite, NamedGroup};
use ferrotls::config::VerifyMode;
use ferrotls::conn::HandshakeKind;

fn s_server(pki: &Pki, kt: KeyType, extra: &[&str]) -> (Killed, u16) {
    let dir = temp_dir("s_server");
    let id = pki.issue(&["localhost"], kt, false);
    std::fs::write(dir.join("cert.pem"), &id.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &id.key_pem).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    let port = free_port();
    let child = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "cert.pem",
            "-key",
            "key.pem",
        ])
        .args(["-www", "-naccept", "1"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    eprintln!("s_server log: {}", dir.join("stderr.txt").display());
    (Killed(child), port)
}

#[test]
fn our_client_against_openssl_s_server() {
    if !have_tool("openssl") {
        eprintln!("skipped: no openssl binary");
        return;
    }
    let pki = Pki::new("OpenSSL Interop CA");
    for (kt, suite) in [
        (KeyType::P256, CipherSuite::TLS_AES_128_GCM_SHA256),
        (KeyType::Rsa2048, CipherSuite::TLS_AES_256_GCM_SHA384),
        (KeyType::P384, CipherSuite::TLS_CHACHA20_POLY1305_SHA256),
        (KeyType::Ed25519, CipherSuite::TLS_AES_128_GCM_SHA256),
    ] {
        let (_srv, port) = s_server(
            &pki,
            kt,
            &["-tls1_3", "-ciphersuites", suite.name().unwrap()],
        );
        let (c, page) = get_page(client_builder(&pki).build().unwrap(), port);
        assert!(page.starts_with("HTTP/1.0 200 ok"), "{kt:?}: {page}");
        assert!(page.contains(suite.name().unwrap()), "{page}");
        assert_eq!(c.cipher_suite(), Some(suite));
    }
}

#[test]
fn openssl_s_server_sends_hello_retry_request() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("OpenSSL Interop CA");
    let (_srv, port) = s_server(&pki, KeyType::P256, &["-tls1_3", "-groups", "P-384"]);
    let mut cb = client_builder(&pki);
    cb.set_groups(&[
        NamedGroup::X25519,
        NamedGroup::secp256r1,
        NamedGroup::secp384r1,
    ])
    .unwrap();
    let (c, page) = get_page(cb.build().unwrap(), port);
    assert!(page.starts_with("HTTP/1.0 200 ok"));
    assert_eq!(c.group(), Some(NamedGroup::secp384r1));
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::FullWithHelloRetry));
}

#[test]
fn our_client_certificate_against_openssl_verify() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("OpenSSL Interop CA");
    let id = pki.issue(&["client.test"], KeyType::P256, true);
    let (_srv, port) = s_server(
        &pki,
        KeyType::P256,
        &["-tls1_3", "-Verify", "1", "-CAfile", "ca.pem"],
    );
    let mut cb = client_builder(&pki);
    cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .unwrap();
    let (_c, page) = get_page(cb.build().unwrap(), port);
    assert!(
        page.contains("client.test"),
        "the page should show our certificate: {page}"
    );
}

fn s_client(port: u16, ca: &std::path::Path, extra: &[&str], input: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .arg("-CAfile")
        .arg(ca)
        .args(["-verify_return_error", "-ign_eof"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // When we refuse the handshake s_client may exit before its input is written: a broken
    // pipe then is the outcome the caller asserts on, not a test failure.
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn openssl_s_client_against_our_server() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("OpenSSL Interop CA");
    let dir = temp_dir("s_client");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    for (kt, extra) in [
        (KeyType::P256, vec!["-tls1_3"]),
        (
            KeyType::Rsa2048,
            vec!["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
        ),
        (KeyType::Ed25519, vec!["-tls1_3", "-groups", "P-256"]),
        (KeyType::P384, vec!["-tls1_3", "-groups", "X448:P-384"]),
    ] {
        let config = server_builder(&pki, kt).build().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = std::thread::spawn(move || echo_once(listener, config));
        let out = s_client(
            port,
            &dir.join("ca.pem"),
            &extra,
            b"hello through openssl\n",
        );
        let server = t.join().unwrap();
        assert!(out.contains("Verify return code: 0 (ok)"), "{kt:?}: {out}");
        assert!(
            out.contains("hello through openssl"),
            "{kt:?}: echo missing: {out}"
        );
        let s = server.unwrap_or_else(|e| panic!("{kt:?}: server error {e}\n{out}"));
        assert!(!s.is_handshaking());
    }
}

#[test]
fn openssl_s_client_without_certificate_gets_certificate_required() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("OpenSSL Interop CA");
    let dir = temp_dir("s_client_mtls");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
    sb.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
    let config = sb.build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || echo_once(listener, config));
    let out = s_client(port, &dir.join("ca.pem"), &["-tls1_3"], b"x\n");
    let err = t.join().unwrap().err().expect("the handshake must fail");
    assert!(err.contains("requires one"), "{err}");
    assert!(
        out.contains("certificate required"),
        "openssl should report the alert: {out}"
    );
}

const SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS_AES_128_GCM_SHA256,
    CipherSuite::TLS_AES_256_GCM_SHA384,
    CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
];
const GROUPS: [(NamedGroup, &str); 3] = [
    (NamedGroup::X25519, "X25519"),
    (NamedGroup::secp256r1, "P-256"),
    (NamedGroup::secp384r1, "P-384"),
];

#[test]
fn every_suite_and_group_both_directions() {
    if !have_tool("openssl") {
        return;
    }
    let pki = Pki::new("OpenSSL Matrix CA");
    let dir = temp_dir("matrix");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    let server_cfg = server_builder(&pki, KeyType::P256).build().unwrap();
    for suite in SUITES {
        for (group, gname) in GROUPS {
            let sname = suite.name().unwrap();
            // Our client -> openssl s_server.
            let (_srv, port) = s_server(
                &pki,
                KeyType::P256,
                &["-tls1_3", "-ciphersuites", sname, "-groups", gname],
            );
            let mut cb = client_builder(&pki);
            cb.set_groups(&[group]).unwrap();
            let (c, page) = get_page(cb.build().unwrap(), port);
            assert!(
                page.starts_with("HTTP/1.0 200 ok"),
                "{sname} {gname}: {page}"
            );
            assert_eq!((c.cipher_suite(), c.group()), (Some(suite), Some(group)));
            // openssl s_client -> our server.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let cfg = server_cfg.clone();
            let t = std::thread::spawn(move || echo_once(listener, cfg));
            let out = s_client(
                port,
                &dir.join("ca.pem"),
                &["-tls1_3", "-ciphersuites", sname, "-groups", gname],
                b"m\n",
            );
            let s = t
                .join()
                .unwrap()
                .unwrap_or_else(|e| panic!("{sname} {gname}: {e}\n{out}"));
            assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
            assert_eq!((s.cipher_suite(), s.group()), (Some(suite), Some(group)));
        }
    }
}
