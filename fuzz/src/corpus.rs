//! Seed corpora: real flights recorded from in-memory handshakes between a ferrotls client
//! and server (TLS 1.3 and 1.2, with and without client certificates, ALPN, RSA, and a
//! HelloRetryRequest), saved in the input formats of the harnesses (see harness.rs).
//!
//! Limitation, by construction: a replayed flight meets a fresh peer with fresh random
//! values and ephemeral keys, so everything the recorded peer encrypted fails to decrypt
//! (bad_record_mac). Seeds therefore reach the plaintext part of each handshake: the
//! (second) ClientHello and, for TLS 1.2, the Certificate / ServerKeyExchange /
//! CertificateRequest / ClientKeyExchange messages and certificate verification. The
//! encrypted messages are covered by `handshake_messages` (hand-built seeds below) and by
//! the `ffi_sequences` programs, which pump real handshakes between two live connections.

use std::sync::Arc;

use ferrotls::codec::enums::{NamedGroup, ProtocolVersion};
use ferrotls::codec::extensions::put_extensions;
use ferrotls::codec::handshake::{HandshakeMessage, HandshakePayload};
use ferrotls::config::{Config, ConfigBuilder, Role, VerifyMode};
use ferrotls::conn::{Connection, ReadStatus};

use crate::harness::{CLIENT_CONFIGS, SERVER_CONFIGS, SERVER_KEY, SERVER_NAME, SERVER_PEM};

/// One seed file: the target's directory name, a file name, the bytes.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub data: Vec<u8>,
}

/// Both directions of one conversation.
struct Flights {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}

fn pump(from: &mut Connection, to: &mut Connection, log: &mut Vec<u8>) -> usize {
    let mut moved = 0;
    while from.outgoing_len() > 0 {
        let data = from.peek_outgoing().to_vec();
        let n = match to.feed(&data) {
            Ok(n) => n,
            Err(_) => {
                log.extend_from_slice(&data);
                from.consume_outgoing(data.len());
                return moved + data.len();
            }
        };
        log.extend_from_slice(&data[..n]);
        from.consume_outgoing(n);
        moved += n;
        if n == 0 {
            break;
        }
    }
    moved
}

fn read_all(c: &mut Connection) {
    let mut buf = [0u8; 4096];
    while let Ok(ReadStatus::Data(_)) = c.read(&mut buf) {}
}

/// Run a handshake, some application data both ways, a key update and close_notify.
fn converse(client: &Arc<Config>, server: &Arc<Config>) -> Flights {
    let mut c = Connection::new_client(client.clone(), Some(SERVER_NAME)).unwrap();
    let mut s = Connection::new_server(server.clone()).unwrap();
    let mut f = Flights {
        to_server: Vec::new(),
        to_client: Vec::new(),
    };
    let mut sent_data = false;
    for _ in 0..30 {
        let a = pump(&mut c, &mut s, &mut f.to_server);
        let b = pump(&mut s, &mut c, &mut f.to_client);
        read_all(&mut c);
        read_all(&mut s);
        if c.error().is_some() || s.error().is_some() {
            break;
        }
        if !c.is_handshaking() && !s.is_handshaking() && !sent_data {
            sent_data = true;
            c.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            s.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .unwrap();
            let _ = c.key_update(true);
            continue;
        }
        if sent_data && a == 0 && b == 0 {
            c.close();
            s.close();
            pump(&mut c, &mut s, &mut f.to_server);
            pump(&mut s, &mut c, &mut f.to_client);
            break;
        }
    }
    f
}

/// Handshake messages in the plaintext part of a stream (records before the first
/// ChangeCipherSpec or application_data record).
fn plaintext_messages(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut hs = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 {
        let typ = rest[0];
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + len || typ != 22 {
            break;
        }
        hs.extend_from_slice(&rest[5..5 + len]);
        rest = &rest[5 + len..];
    }
    let mut out = Vec::new();
    let mut rest = &hs[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            break;
        }
        out.push(rest[..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

fn client_with(edit: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut b = ConfigBuilder::new(Role::Client);
    b.set_verify_mode(VerifyMode::DangerousNoVerify).unwrap();
    edit(&mut b);
    b.build().unwrap()
}

fn server_with(edit: impl FnOnce(&mut ConfigBuilder)) -> Arc<Config> {
    let mut b = ConfigBuilder::new(Role::Server);
    b.add_cert_key_pem(SERVER_PEM, SERVER_KEY).unwrap();
    edit(&mut b);
    b.build().unwrap()
}

/// Frame a handshake message: type, u24 length, body.
fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![typ];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn u16be(n: usize) -> [u8; 2] {
    (n as u16).to_be_bytes()
}

/// Hand-built encodings of the messages that only travel encrypted (TLS 1.3) or are rare.
fn handcrafted(cert_der: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    v.push(("ee_empty", hs(8, &[0, 0])));
    // EncryptedExtensions: ALPN "h2", server_name (empty), supported_groups.
    let mut ee = vec![0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2'];
    ee.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]);
    ee.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
    let mut body = u16be(ee.len()).to_vec();
    body.extend_from_slice(&ee);
    v.push(("ee_alpn", hs(8, &body)));
    // Certificate (1.3): empty context, one entry with no extensions.
    let mut entry = (cert_der.len() as u32).to_be_bytes()[1..].to_vec();
    entry.extend_from_slice(cert_der);
    entry.extend_from_slice(&[0, 0]);
    let mut body = vec![0];
    body.extend_from_slice(&(entry.len() as u32).to_be_bytes()[1..]);
    body.extend_from_slice(&entry);
    v.push(("certificate13", hs(11, &body)));
    v.push(("certificate13_empty", hs(11, &[0, 0, 0, 0])));
    // CertificateRequest (1.3): empty context, signature_algorithms + certificate_authorities.
    let exts = [
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
        0x00, 0x2f, 0x00, 0x06, 0x00, 0x04, 0x00, 0x02, 0x30, 0x00, // certificate_authorities
    ];
    let mut body = vec![0];
    body.extend_from_slice(&u16be(exts.len()));
    body.extend_from_slice(&exts);
    v.push(("certreq13", hs(13, &body)));
    // CertificateVerify: ecdsa_secp256r1_sha256 with a DER-looking signature.
    let mut body = vec![
        0x04, 0x03, 0x00, 0x08, 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01,
    ];
    v.push(("certverify", hs(15, &body)));
    body[0] = 0x08;
    body[1] = 0x04;
    v.push(("certverify_pss", hs(15, &body)));
    v.push(("finished32", hs(20, &[0xab; 32])));
    v.push(("finished12", hs(20, &[0xcd; 12])));
    // NewSessionTicket (1.3): lifetime, age_add, nonce, ticket, early_data extension.
    let mut body = vec![0, 0, 0x1c, 0x20, 1, 2, 3, 4, 1, 0];
    body.extend_from_slice(&[0, 4, 9, 9, 9, 9]);
    body.extend_from_slice(&[0, 8, 0x00, 0x2a, 0x00, 0x04, 0, 0, 0x40, 0]);
    v.push(("nst13", hs(4, &body)));
    // NewSessionTicket (1.2): lifetime, ticket.
    v.push(("nst12", hs(4, &[0, 0, 0x1c, 0x20, 0, 3, 7, 7, 7])));
    v.push(("keyupdate0", hs(24, &[0])));
    v.push(("keyupdate1", hs(24, &[1])));
    v.push(("end_of_early_data", hs(5, &[])));
    v.push(("hello_request", hs(0, &[])));
    v.push(("server_hello_done", hs(14, &[])));
    v.push(("message_hash", hs(254, &[0x11; 32])));
    v.push(("unknown_type", hs(99, &[1, 2, 3])));
    v
}

/// Interpreter programs for `ffi_sequences` (see harness::ffi_seq::step for the opcodes):
/// make a client and a server config, connect them, pump a handshake, exchange data, use
/// every getter, export keys, update keys, close, and pass wrong handles.
fn ffi_programs() -> Vec<(&'static str, Vec<u8>)> {
    // `setup` (opcode 47) with sel bits: 1 = server, 2 = client cert / request one, 4 = TLS 1.2.
    fn program(client_sel: u8, server_sel: u8) -> Vec<u8> {
        let mut p = vec![47, client_sel, 47, server_sel];
        p.extend_from_slice(&[19, 0, 0]); // client conn from configs[0], name "localhost"
        p.extend_from_slice(&[20, 1]); // server conn from configs[1]
        p.extend_from_slice(&[34, 0]); // trace callback on the client
        p.extend_from_slice(&[15, 1]); // keylog callback off on builder 1
        for _ in 0..4 {
            p.extend_from_slice(&[23, 0, 1, 23, 1, 0]); // pump both ways
        }
        let req = b"GET / HTTP/1.0\r\n\r\n";
        p.extend_from_slice(&[28, 0, 0, req.len() as u8]);
        p.extend_from_slice(req);
        p.extend_from_slice(&[23, 0, 1]);
        p.extend_from_slice(&[27, 1, 1, 0]); // server reads 256
        p.extend_from_slice(&[28, 1, 0, 2, b'o', b'k', 23, 1, 0, 27, 0, 0, 16]);
        p.extend_from_slice(&[31, 0, 31, 1]); // getters
        p.extend_from_slice(&[32, 1, 0, 32, 5, b'l', b'a', b'b', b'e', b'l', 3, 1, 2, 3]); // export
        p.extend_from_slice(&[33, 1, 23, 0, 1, 23, 1, 0]); // key update, pump
        p.extend_from_slice(&[26, 0, 0, 25, 1, 0, 10]); // peek+consume, take
        p.extend_from_slice(&[36, 0, 0, 36, 1, 1, 36, 0, 2, 36, 1, 3]); // wrong handles
        p.extend_from_slice(&[29, 0, 23, 0, 1, 27, 1, 1, 0, 24, 1]); // close, pump, read, eof
        p.extend_from_slice(&[41, 0, 42, 0, 42, 1, 40, 0, 0, 1, 0x2c]);
        p.extend_from_slice(&[21, 0, 18, 0, 1, 0]); // free conn, config, builder
        p
    }
    // Handshake Again: after the handshake and a request, the server asks for the client's
    // certificate (49), the client renegotiates (48, TLS 1.2), the server asks for a new
    // handshake (48), each pumped through, with data on both sides.
    fn again(client_sel: u8, server_sel: u8) -> Vec<u8> {
        let mut p = vec![47, client_sel, 47, server_sel];
        p.extend_from_slice(&[19, 0, 0, 20, 1]);
        for _ in 0..4 {
            p.extend_from_slice(&[23, 0, 1, 23, 1, 0]);
        }
        let req = b"GET /private";
        p.extend_from_slice(&[28, 0, 0, req.len() as u8]);
        p.extend_from_slice(req);
        p.extend_from_slice(&[23, 0, 1, 49, 1]); // the server asks for the certificate
        for _ in 0..4 {
            p.extend_from_slice(&[23, 1, 0, 28, 0, 0, 1, b'x', 23, 0, 1, 27, 1, 1, 0]);
        }
        p.extend_from_slice(&[48, 0]); // the client renegotiates
        for _ in 0..4 {
            p.extend_from_slice(&[23, 0, 1, 23, 1, 0, 27, 1, 1, 0]);
        }
        p.extend_from_slice(&[48, 1]); // the server asks for a new handshake
        for _ in 0..4 {
            p.extend_from_slice(&[23, 1, 0, 23, 0, 1, 27, 1, 1, 0, 27, 0, 0, 16]);
        }
        p.extend_from_slice(&[31, 0, 31, 1, 29, 0, 23, 0, 1, 27, 1, 1, 0]);
        p
    }
    vec![
        ("tls12_again", again(6 | 8, 7 | 8)),
        ("tls13_again", again(2 | 8, 3 | 8)),
        ("tls12_again_nocert", again(4 | 8, 7 | 8)),
        ("tls13", program(0, 1)),
        ("tls13_mtls", program(2, 3)),
        ("tls12", program(4, 5)),
        ("tls12_mtls", program(6, 7)),
        (
            "builder_setters",
            vec![
                0, 0, 0, 2, 0, 3, 4, 3, 0, 0, 0x13, 0x01, 0xc0, 0x2b, 4, 0, 22, b'T', b'L', b'S',
                b'_', b'A', b'E', b'S', b'_', b'1', b'2', b'8', b'_', b'G', b'C', b'M', b'_', b'S',
                b'H', b'A', b'2', b'5', b'6', 5, 0, 4, 0, 0x1d, 0, 0x17, 6, 0, 6, b'X', b'2', b'5',
                b'5', b'1', b'9', 7, 0, 3, 2, b'h', b'2', 8, 0, 2, b'h', b'2', 9, 0, 0, 10, 0, 2,
                11, 0, 2, 12, 0, 0, 1, 0, 0, 13, 0, 3, 14, 0, 15, 0, 16, 0, 17, 0, 19, 0, 0, 31, 0,
                22, 0, 0, 5, 22, 3, 3, 0, 0, 18, 0,
            ],
        ),
    ]
}

/// Every seed, by target.
pub fn seeds() -> Vec<Seed> {
    let cc = &*CLIENT_CONFIGS;
    let sc = &*SERVER_CONFIGS;
    // (name, client config, its CLIENT_CONFIGS index, server config, its SERVER_CONFIGS index)
    let mut scenarios: Vec<(&str, Arc<Config>, Option<u8>, Arc<Config>, Option<u8>)> = vec![
        (
            "tls13_noverify",
            cc[0].clone(),
            Some(0),
            sc[0].clone(),
            Some(0),
        ),
        ("tls13", cc[1].clone(), Some(1), sc[0].clone(), Some(0)),
        ("tls12", cc[1].clone(), Some(1), sc[8].clone(), Some(8)),
        ("tls13_mtls", cc[3].clone(), Some(3), sc[2].clone(), Some(2)),
        (
            "tls12_mtls",
            cc[3].clone(),
            Some(3),
            sc[10].clone(),
            Some(10),
        ),
        ("tls13_rsa", cc[1].clone(), Some(1), sc[4].clone(), Some(4)),
        (
            "tls12_rsa",
            cc[1].clone(),
            Some(1),
            sc[12].clone(),
            Some(12),
        ),
        ("tls13_alpn", cc[2].clone(), Some(2), sc[3].clone(), Some(3)),
        (
            "tls13_request_nocert",
            cc[0].clone(),
            Some(0),
            sc[1].clone(),
            Some(1),
        ),
        (
            "tls12_request_nocert",
            cc[0].clone(),
            Some(0),
            sc[9].clone(),
            Some(9),
        ),
        (
            "tls13_request_cert",
            cc[3].clone(),
            Some(3),
            sc[1].clone(),
            Some(1),
        ),
        (
            "tls12_request_cert",
            cc[3].clone(),
            Some(3),
            sc[9].clone(),
            Some(9),
        ),
    ];
    // HelloRetryRequest seen by the server: a client whose first share is P-384, against the
    // X25519-only server config.
    let p384_first = client_with(|b| {
        b.set_groups(&[NamedGroup::secp384r1, NamedGroup::X25519])
            .unwrap()
    });
    scenarios.push(("tls13_hrr", p384_first, None, sc[16].clone(), Some(16)));
    // HelloRetryRequest seen by the client: a server that only takes P-256.
    let p256_server = server_with(|b| b.set_groups(&[NamedGroup::secp256r1]).unwrap());
    scenarios.push(("tls13_hrr", cc[0].clone(), Some(0), p256_server, None));
    // A TLS 1.2-only client (no supported_versions) against the default server.
    let tls12_client = client_with(|b| {
        b.set_versions(ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_2)
            .unwrap()
    });
    scenarios.push((
        "tls12_client_only",
        tls12_client,
        None,
        sc[0].clone(),
        Some(0),
    ));

    let mut out = Vec::new();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut cert_der = Vec::new();
    for (name, client, ci, server, si) in scenarios {
        let f = converse(&client, &server);
        if let Some(ci) = ci {
            for seed in [0u8, 5] {
                let mut d = vec![ci, seed];
                d.extend_from_slice(&f.to_client);
                out.push(Seed {
                    target: "client",
                    name: format!("{name}_c{ci}_s{seed}"),
                    data: d,
                });
            }
        }
        if let Some(si) = si {
            for seed in [0u8, 4] {
                let mut d = vec![si, seed];
                d.extend_from_slice(&f.to_server);
                out.push(Seed {
                    target: "server",
                    name: format!("{name}_s{si}_k{seed}"),
                    data: d,
                });
            }
        }
        for (dir, stream, flag) in [
            ("to_client", &f.to_client, 1u8),
            ("to_server", &f.to_server, 0),
        ] {
            let mut d = vec![flag, 7];
            d.extend_from_slice(stream);
            out.push(Seed {
                target: "deframer",
                name: format!("{name}_{dir}"),
                data: d,
            });
            messages.extend(plaintext_messages(stream));
        }
    }
    // Handshake messages: every distinct plaintext one, plus the extension blocks inside the
    // hellos (fed to the extension-block readers), plus hand-built encrypted-only ones.
    messages.sort();
    messages.dedup();
    let mut hm: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        for version in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
            if let Ok(msg) = HandshakeMessage::read(m, version) {
                let mut exts = Vec::new();
                match &msg.payload {
                    HandshakePayload::ClientHello(p) => put_extensions(&p.extensions, &mut exts),
                    HandshakePayload::ServerHello(p) => put_extensions(&p.extensions, &mut exts),
                    HandshakePayload::HelloRetryRequest(p) => {
                        put_extensions(&p.extensions, &mut exts)
                    }
                    HandshakePayload::CertificateTls12(certs) if cert_der.is_empty() => {
                        cert_der = certs.first().cloned().unwrap_or_default();
                    }
                    _ => {}
                }
                if !exts.is_empty() {
                    hm.push((format!("{}_{i}_extensions", msg.name()), exts));
                }
                hm.push((format!("{}_{i}", msg.name()), m.clone()));
                break;
            }
        }
    }
    for (name, data) in handcrafted(&cert_der) {
        hm.push((name.to_string(), data));
    }
    hm.sort();
    hm.dedup_by(|a, b| a.1 == b.1);
    for (name, data) in hm {
        out.push(Seed {
            target: "handshake_messages",
            name,
            data,
        });
    }
    for (name, data) in ffi_programs() {
        out.push(Seed {
            target: "ffi_sequences",
            name: name.to_string(),
            data,
        });
    }
    out
}
