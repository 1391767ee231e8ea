//! The handshake-failure catalogue: every scenario is set up for real — the C examples
//! (`ferrotls-client`, `ferrotls-server`) over 127.0.0.1, sometimes with a fake or hostile peer
//! in a thread — and both sides' messages are asserted. The same scenario is then run between
//! `openssl s_client` and `openssl s_server` to show what OpenSSL says. The test renders
//! docs/errors.md from what it saw and fails when the committed file differs (set
//! FERROTLS_BLESS=1 to rewrite it), so the catalogue cannot go stale.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

// ---------------------------------------------------------------------------------------
// Binaries and certificates

fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let ok = Command::new("make")
            .args(["-s", "all"])
            .current_dir(ROOT)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "`make all` failed: the C examples are needed for the catalogue"
        );
    });
    Path::new(ROOT).join("target/examples-c").join(name)
}

fn write(dir: &Path, name: &str, data: &str) {
    std::fs::write(dir.join(name), data).unwrap();
}

fn openssl(args: &[&str], dir: &Path) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl {args:?}");
}

/// Every certificate the scenarios use, made once per run (rcgen for most, the openssl CLI for
/// key types rcgen cannot make).
fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = temp_dir("catalogue");
        let pki = Pki::new("ferrotls test CA");
        let other = Pki::new("Other CA");
        write(&d, "ca.pem", &pki.ca_pem);
        write(&d, "other-ca.pem", &other.ca_pem);
        let put = |name: &str, id: Identity| {
            write(&d, &format!("{name}.pem"), &id.chain_pem);
            write(&d, &format!("{name}.key"), &id.key_pem);
        };
        put(
            "server",
            pki.issue(&["localhost", "127.0.0.1"], KeyType::P256, false),
        );
        put("client", pki.issue(&["test-client"], KeyType::P256, true));
        // A second server certificate of the same CA (a renegotiation that changes it).
        put(
            "server-other",
            pki.issue(&["localhost", "127.0.0.1"], KeyType::P256, false),
        );
        put(
            "rogue-client",
            other.issue(&["rogue-client"], KeyType::P256, true),
        );
        put(
            "expired",
            pki.issue_with(&["localhost"], KeyType::P256, false, |p| {
                p.not_before = rcgen::date_time_ymd(2020, 1, 1);
                p.not_after = rcgen::date_time_ymd(2021, 1, 2);
            }),
        );
        put(
            "notyet",
            pki.issue_with(&["localhost"], KeyType::P256, false, |p| {
                p.not_before = rcgen::date_time_ymd(2099, 1, 1);
                p.not_after = rcgen::date_time_ymd(2100, 1, 1);
            }),
        );
        put(
            "wrong-eku",
            pki.issue_with(&["localhost"], KeyType::P256, false, |p| {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }),
        );
        put(
            "client-serverauth",
            pki.issue_with(&["test-client"], KeyType::P256, true, |p| {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }),
        );
        put(
            "cn-only",
            pki.issue_with(&[], KeyType::P256, false, |p| {
                p.distinguished_name.push(DnType::CommonName, "localhost");
            }),
        );
        // Self-signed.
        let key = key_pair(KeyType::P256);
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, "localhost");
        let c = p.self_signed(&key).unwrap();
        write(&d, "selfsigned.pem", &c.pem());
        write(&d, "selfsigned.key", &key.serialize_pem());
        // An intermediate CA and a leaf under it; and a "CA" that is not one.
        let inter = pki.issue_intermediate("ferrotls test intermediate", true);
        let leaf = inter.issue(&["localhost"], KeyType::P256, false);
        write(&d, "leaf-only.pem", &leaf.chain_pem);
        write(&d, "leaf-only.key", &leaf.key_pem);
        write(
            &d,
            "leaf-chain.pem",
            &format!("{}{}", leaf.chain_pem, inter.ca_pem),
        );
        let fake = pki.issue_intermediate("not a CA", false);
        let leaf2 = fake.issue(&["localhost"], KeyType::P256, false);
        write(
            &d,
            "noca-chain.pem",
            &format!("{}{}", leaf2.chain_pem, fake.ca_pem),
        );
        write(&d, "noca-chain.key", &leaf2.key_pem);
        // Keys rcgen cannot make: P-521 and RSA-1024, certified by our CA through openssl.
        std::fs::write(d.join("ca.key"), pki.ca_key_pem()).unwrap();
        openssl(
            &[
                "ecparam",
                "-name",
                "secp521r1",
                "-genkey",
                "-noout",
                "-out",
                "p521.key",
            ],
            &d,
        );
        openssl(&["genrsa", "-out", "rsa1024.key", "1024"], &d);
        for k in ["p521", "rsa1024"] {
            openssl(
                &[
                    "req",
                    "-new",
                    "-key",
                    &format!("{k}.key"),
                    "-subj",
                    "/CN=localhost",
                    "-out",
                    "r.csr",
                ],
                &d,
            );
            std::fs::write(d.join("ext.cnf"), "subjectAltName=DNS:localhost\n").unwrap();
            openssl(
                &[
                    "x509",
                    "-req",
                    "-in",
                    "r.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "3650",
                ]
                .iter()
                .copied()
                .chain(["-extfile", "ext.cnf", "-out", &format!("{k}.pem")])
                .collect::<Vec<_>>(),
                &d,
            );
        }
        write(&d, "garbage.pem", "this is not a PEM file\n");
        let server_pem = std::fs::read_to_string(d.join("server.pem")).unwrap();
        write(&d, "truncated.pem", &server_pem[..server_pem.len() / 2]);
        d
    })
}

fn cert(name: &str) -> String {
    certs().join(name).display().to_string()
}

// ---------------------------------------------------------------------------------------
// Processes

struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(cmd: &mut Command, stdin: Option<&'static [u8]>) -> Self {
        Self::spawn_lingering(cmd, stdin, Duration::ZERO)
    }

    /// [`Self::spawn`], keeping stdin open for `linger` after writing it (a client that must
    /// still answer the server after its request, before close_notify).
    fn spawn_lingering(cmd: &mut Command, stdin: Option<&'static [u8]>, linger: Duration) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut input = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            if let Some(data) = stdin {
                let _ = input.write_all(data);
                let _ = input.flush();
                std::thread::sleep(linger);
            } else {
                // Keep stdin open a moment so interactive tools do not quit before the handshake.
                std::thread::sleep(Duration::from_millis(1500));
            }
        });
        Self {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Wait for a line containing `needle` (bounded).
    fn wait_line(&mut self, needle: &str) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        while let Ok(l) = self
            .lines
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.seen.push(l.clone());
            if l.contains(needle) {
                return l;
            }
        }
        panic!("no line with {needle:?}; saw {:?}", self.seen);
    }

    /// Wait for exit (bounded, then killed) and return everything printed.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let end = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code();
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(l);
        }
        (code, self.seen)
    }
}

fn our_server(args: &[String]) -> (Proc, u16) {
    let mut cmd = Command::new(bin("ferrotls-server"));
    cmd.args(["--port", "0", "--max-conns", "1"]).args(args);
    let mut p = Proc::spawn(&mut cmd, Some(b""));
    let line = p.wait_line("listening on");
    let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    (p, port)
}

fn our_client(args: &[String], host: &str, port: u16) -> (Option<i32>, Vec<String>) {
    let mut cmd = Command::new(bin("ferrotls-client"));
    cmd.args(args).args([host.to_string(), port.to_string()]);
    Proc::spawn(&mut cmd, Some(REQUEST)).finish()
}

/// Lines that report a failure, with run-specific parts (ports, paths) normalised.
fn errors(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            // A program's hint (what to do about the error, in its flags) belongs with it.
            (l.contains("error")
                || l.contains("failed")
                || l.contains("alert")
                || l.contains("hint:"))
                && !l.contains("connection(s) served")
                && !l.contains("verify error:num=0")
        })
        .map(|l| normalize(l))
        .collect()
}

/// Run-specific parts (certificate paths, ports, the current time, OpenSSL's thread id)
/// replaced, so the catalogue is the same on every run.
fn normalize(l: &str) -> String {
    let dir = certs().display().to_string();
    {
        {
            let mut l = l.replace(&dir, "certs");
            // 127.0.0.1:12345 -> 127.0.0.1:PORT; OpenSSL's thread-id prefix "40C7…:error:" -> "error:"
            if let Some(i) = l.find("127.0.0.1:") {
                let rest: String = l[i + 10..]
                    .chars()
                    .skip_while(char::is_ascii_digit)
                    .collect();
                l = format!("{}127.0.0.1:PORT{rest}", &l[..i]);
            }
            if let Some(i) = l.find(" port ") {
                let rest: String = l[i + 6..]
                    .chars()
                    .skip_while(char::is_ascii_digit)
                    .collect();
                if rest.len() < l.len() - i - 6 {
                    l = format!("{} port PORT{rest}", &l[..i]);
                }
            }
            if let Some(i) = l.find("the current time is ") {
                let at = i + "the current time is ".len();
                if l.len() >= at + 23 {
                    l.replace_range(at..at + 23, "<now>");
                }
            }
            if let Some(i) = l.find(":error:")
                && l[..i].chars().all(|c| c.is_ascii_hexdigit())
            {
                l = l[i + 1..].to_string();
            }
            l
        }
    }
}

// ---------------------------------------------------------------------------------------
// OpenSSL's side of the same scenario

fn openssl_pair(server: &[String], client: &[String]) -> Vec<String> {
    let port = free_port();
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-naccept",
        "1",
        "-www",
    ])
    .args(server);
    let mut srv = Proc::spawn(&mut cmd, None);
    srv.wait_line("ACCEPT");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-verify_return_error",
        "-brief",
    ])
    .args(client);
    let (_, cl) = Proc::spawn(&mut cmd, Some(REQUEST)).finish();
    let (_, sl) = srv.finish();
    let mut out: Vec<String> = errors(&cl)
        .into_iter()
        .map(|l| format!("s_client: {l}"))
        .collect();
    out.extend(errors(&sl).into_iter().map(|l| format!("s_server: {l}")));
    out.truncate(4);
    out
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Scenarios

struct Entry {
    title: String,
    setup: String,
    ours: Vec<String>,
    /// The client's `--trace`, last handshake-level lines (pair scenarios).
    trace: Vec<String>,
    openssl: Vec<String>,
}

/// The handshake-level lines of a `--trace` (records omitted), message sizes removed:
/// certificates are made afresh each run, so byte counts differ. Key share sizes are fixed
/// by their groups and stay.
fn trace_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("[trace] "))
        .filter(|l| !l.starts_with("record "))
        // Our own close_notify races with the peer's alert (stdin ends meanwhile).
        .filter(|l| !l.contains("close_notify"))
        .map(|l| match l.rfind(" (") {
            Some(i) if l.ends_with(" bytes)") && !l.starts_with("key shares offered:") => {
                normalize(&l[..i])
            }
            _ => normalize(l),
        })
        .collect()
}

/// One scenario between our two examples: run it, assert both sides, and record it.
#[allow(clippy::too_many_arguments)]
fn pair_case(
    out: &mut Vec<Entry>,
    title: &str,
    server: Vec<String>,
    client: Vec<String>,
    host: &str,
    expect_client: &[&str],
    expect_server: &[&str],
    ossl: Option<(Vec<String>, Vec<String>)>,
) {
    let (srv, port) = our_server(&server);
    let traced: Vec<String> = std::iter::once("--trace".to_string())
        .chain(client.iter().cloned())
        .collect();
    let (code, cl) = our_client(&traced, host, port);
    let (_, sl) = srv.finish();
    let trace = trace_lines(&cl);
    let cl: Vec<String> = cl
        .into_iter()
        .filter(|l| !l.starts_with("[trace]"))
        .collect();
    let (ce, se) = (errors(&cl), errors(&sl));
    // The trace ends with the same error, and shows the step it names.
    let last = trace.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("error: TLS"),
        "{title}: the trace must end with the error: {trace:?}"
    );
    if let Some(step) = last
        .split(" failed at ")
        .nth(1)
        .and_then(|r| r.split(": ").next())
    {
        assert!(
            trace.iter().any(|l| l.contains(step)),
            "{title}: the failing step {step:?} is not in the trace: {trace:?}"
        );
    }
    let trace: Vec<String> = trace[trace.len().saturating_sub(4)..].to_vec();
    let all_c = ce.join("\n");
    let all_s = se.join("\n");
    assert_eq!(code, Some(1), "{title}: the client must exit 1\n{cl:?}");
    for e in expect_client {
        assert!(
            all_c.contains(e),
            "{title}: client output lacks {e:?}:\n{all_c}"
        );
    }
    for e in expect_server {
        assert!(
            all_s.contains(e),
            "{title}: server output lacks {e:?}:\n{all_s}"
        );
    }
    let setup = format!(
        "`ferrotls-server {}` ← `ferrotls-client {} {host} PORT`",
        server
            .join(" ")
            .replace(&certs().display().to_string(), "certs"),
        client
            .join(" ")
            .replace(&certs().display().to_string(), "certs")
    );
    let mut ours = ce;
    ours.extend(se);
    let openssl = ossl.map(|(a, b)| openssl_pair(&a, &b)).unwrap_or_default();
    out.push(Entry {
        title: title.into(),
        setup,
        ours,
        trace,
        openssl,
    });
}

fn srv(cert_name: &str) -> Vec<String> {
    vec![
        "--cert".into(),
        cert(&format!("{cert_name}.pem")),
        "--key".into(),
        cert(&format!("{cert_name}.key")),
    ]
}

fn ossl_srv(cert_name: &str) -> Vec<String> {
    vec![
        "-cert".into(),
        cert(&format!("{cert_name}.pem")),
        "-key".into(),
        cert(&format!("{cert_name}.key")),
    ]
}

fn ca(name: &str) -> Vec<String> {
    vec!["--cafile".into(), cert(name)]
}

fn ossl_ca(name: &str) -> Vec<String> {
    vec![
        "-CAfile".into(),
        cert(name),
        "-servername".into(),
        "localhost".into(),
        "-verify_hostname".into(),
        "localhost".into(),
    ]
}

fn cat(parts: &[Vec<String>]) -> Vec<String> {
    parts.concat()
}

fn certificate_scenarios(out: &mut Vec<Entry>) {
    pair_case(
        out,
        "Server certificate for another host name",
        srv("server"),
        cat(&[ca("ca.pem"), s(&["--servername", "wrong.example"])]),
        "127.0.0.1",
        &[
            "Step Three: ServerCertificate",
            "not for 'wrong.example'",
            "DNS:localhost",
            "bad_certificate",
        ],
        &["the client rejected our certificate: bad_certificate"],
        Some((
            ossl_srv("server"),
            s(&[
                "-CAfile",
                &cert("ca.pem"),
                "-verify_hostname",
                "wrong.example",
            ]),
        )),
    );
    pair_case(
        out,
        "Server certificate from an unknown CA",
        srv("server"),
        ca("other-ca.pem"),
        "localhost",
        &["Step Three: ServerCertificate", "unknown_ca", "issued by"],
        &["unknown_ca"],
        Some((ossl_srv("server"), ossl_ca("other-ca.pem"))),
    );
    pair_case(
        out,
        "Self-signed server certificate",
        srv("selfsigned"),
        ca("ca.pem"),
        "localhost",
        &["self-signed", "--cafile"],
        &["unknown_ca"],
        Some((ossl_srv("selfsigned"), ossl_ca("ca.pem"))),
    );
    pair_case(
        out,
        "Expired server certificate",
        srv("expired"),
        ca("ca.pem"),
        "localhost",
        &["expired at 2021-01-02 00:00:00 UTC", "certificate_expired"],
        &["certificate_expired"],
        Some((ossl_srv("expired"), ossl_ca("ca.pem"))),
    );
    pair_case(
        out,
        "Server certificate not yet valid",
        srv("notyet"),
        ca("ca.pem"),
        "localhost",
        &["2099-01-01", "certificate_expired"],
        &["certificate_expired"],
        Some((ossl_srv("notyet"), ossl_ca("ca.pem"))),
    );
    pair_case(
        out,
        "Server did not send its intermediate certificate",
        srv("leaf-only"),
        ca("ca.pem"),
        "localhost",
        &["configure the full chain", "ferrotls test intermediate"],
        &["unknown_ca"],
        Some((ossl_srv("leaf-only"), ossl_ca("ca.pem"))),
    );
    pair_case(
        out,
        "An intermediate certificate that is not a CA",
        vec![
            "--cert".into(),
            cert("noca-chain.pem"),
            "--key".into(),
            cert("noca-chain.key"),
        ],
        ca("ca.pem"),
        "localhost",
        &["not a CA"],
        &["bad_certificate"],
        Some((
            vec![
                "-cert".into(),
                cert("noca-chain.pem"),
                "-key".into(),
                cert("noca-chain.key"),
            ],
            ossl_ca("ca.pem"),
        )),
    );
    pair_case(
        out,
        "Server certificate without the serverAuth extended key usage",
        srv("wrong-eku"),
        ca("ca.pem"),
        "localhost",
        &["server authentication", "unsupported_certificate"],
        &["unsupported_certificate"],
        Some((ossl_srv("wrong-eku"), ossl_ca("ca.pem"))),
    );
    pair_case(
        out,
        "Server certificate with the host name only in the Common Name (no subjectAltName)",
        srv("cn-only"),
        ca("ca.pem"),
        "localhost",
        &["not for 'localhost'"],
        &["bad_certificate"],
        Some((ossl_srv("cn-only"), ossl_ca("ca.pem"))),
    );
    pair_case(
        out,
        "Connecting by IP address to a certificate without that IP",
        vec![
            "--cert".into(),
            cert("leaf-chain.pem"),
            "--key".into(),
            cert("leaf-only.key"),
        ],
        cat(&[ca("ca.pem"), s(&["--servername", "127.0.0.1"])]),
        "127.0.0.1",
        &["127.0.0.1"],
        &["bad_certificate"],
        None,
    );
}

fn negotiation_scenarios(out: &mut Vec<Entry>) {
    pair_case(
        out,
        "No cipher suite in common",
        cat(&[srv("server"), s(&["--ciphers", "TLS_AES_128_GCM_SHA256"])]),
        cat(&[
            ca("ca.pem"),
            s(&["--ciphers", "TLS_CHACHA20_POLY1305_SHA256"]),
        ]),
        "localhost",
        &["handshake_failure"],
        &[
            "Step One: ClientHello",
            "the client offered TLS_CHACHA20_POLY1305_SHA256",
            "we support TLS_AES_128_GCM_SHA256",
        ],
        Some((
            cat(&[
                ossl_srv("server"),
                s(&["-ciphersuites", "TLS_AES_128_GCM_SHA256"]),
            ]),
            cat(&[
                ossl_ca("ca.pem"),
                s(&["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]),
            ]),
        )),
    );
    pair_case(
        out,
        "No key-exchange group in common",
        cat(&[srv("server"), s(&["--groups", "P-384"])]),
        cat(&[ca("ca.pem"), s(&["--groups", "X25519"])]),
        "localhost",
        &["handshake_failure"],
        &[
            "no key-exchange group in common",
            "the client supports X25519; we support P-384",
        ],
        Some((
            cat(&[ossl_srv("server"), s(&["-groups", "P-384"])]),
            cat(&[ossl_ca("ca.pem"), s(&["-groups", "X25519"])]),
        )),
    );
    pair_case(
        out,
        "No ALPN protocol in common",
        cat(&[srv("server"), s(&["--alpn", "http/1.1"])]),
        cat(&[ca("ca.pem"), s(&["--alpn", "h2"])]),
        "localhost",
        &["no_application_protocol"],
        &["no ALPN protocol in common: the client offered h2; we support http/1.1"],
        Some((
            cat(&[ossl_srv("server"), s(&["-alpn", "http/1.1"])]),
            cat(&[ossl_ca("ca.pem"), s(&["-alpn", "h2"])]),
        )),
    );
}

fn client_auth_scenarios(out: &mut Vec<Entry>) {
    pair_case(
        out,
        "Client certificate required but not sent",
        cat(&[srv("server"), ca("ca.pem"), s(&["--verify-client"])]),
        ca("ca.pem"),
        "localhost",
        &["certificate_required", "requires a client certificate"],
        &[
            "Step Seven: Client Certificate",
            "requires one",
            "hint: this server runs with --verify-client",
        ],
        Some((
            cat(&[
                ossl_srv("server"),
                s(&["-Verify", "1", "-CAfile", &cert("ca.pem")]),
            ]),
            ossl_ca("ca.pem"),
        )),
    );
    pair_case(
        out,
        "Client certificate from an unknown CA",
        cat(&[srv("server"), ca("ca.pem"), s(&["--verify-client"])]),
        cat(&[
            ca("ca.pem"),
            s(&[
                "--cert",
                &cert("rogue-client.pem"),
                "--key",
                &cert("rogue-client.key"),
            ]),
        ]),
        "localhost",
        &["the server rejected our client certificate"],
        &["Step Seven: Client Certificate", "unknown_ca"],
        Some((
            cat(&[
                ossl_srv("server"),
                s(&["-Verify", "1", "-CAfile", &cert("ca.pem")]),
            ]),
            cat(&[
                ossl_ca("ca.pem"),
                s(&[
                    "-cert",
                    &cert("rogue-client.pem"),
                    "-key",
                    &cert("rogue-client.key"),
                ]),
            ]),
        )),
    );
    pair_case(
        out,
        "Client certificate without the clientAuth extended key usage",
        cat(&[srv("server"), ca("ca.pem"), s(&["--verify-client"])]),
        cat(&[
            ca("ca.pem"),
            s(&[
                "--cert",
                &cert("client-serverauth.pem"),
                "--key",
                &cert("client-serverauth.key"),
            ]),
        ]),
        "localhost",
        &["the server rejected our client certificate"],
        &["client authentication"],
        None,
    );
}

/// A configuration error is caught when the program starts, before any connection.
fn config_case(
    out: &mut Vec<Entry>,
    title: &str,
    program: &str,
    args: Vec<String>,
    expect: &[&str],
    ossl: Option<Vec<String>>,
) {
    let mut cmd = Command::new(bin(program));
    cmd.args(&args);
    if program == "ferrotls-client" {
        cmd.args(["localhost", "9"]);
    } else {
        cmd.args(["--port", "0", "--max-conns", "1"]);
    }
    let (code, lines) = Proc::spawn(&mut cmd, Some(b"")).finish();
    let e = errors(&lines);
    assert_eq!(code, Some(1), "{title}: {lines:?}");
    for x in expect {
        assert!(e.join("\n").contains(x), "{title}: lacks {x:?}: {e:?}");
    }
    let openssl = ossl
        .map(|a| {
            let mut cmd = Command::new("openssl");
            cmd.args(&a);
            errors(&Proc::spawn(&mut cmd, Some(b"")).finish().1)
                .into_iter()
                .take(3)
                .collect()
        })
        .unwrap_or_default();
    let setup = format!(
        "`{program} {}`",
        args.join(" ")
            .replace(&certs().display().to_string(), "certs")
    );
    out.push(Entry {
        title: title.into(),
        setup,
        ours: e,
        trace: vec![],
        openssl,
    });
}

fn config_scenarios(out: &mut Vec<Entry>) {
    let ossl_port = || format!("127.0.0.1:{}", free_port());
    config_case(
        out,
        "Server key does not match its certificate",
        "ferrotls-server",
        vec![
            "--cert".into(),
            cert("server.pem"),
            "--key".into(),
            cert("client.key"),
        ],
        &["does not match the certificate", "--cert and --key"],
        Some(s(&[
            "s_server",
            "-accept",
            &ossl_port(),
            "-cert",
            &cert("server.pem"),
            "-key",
            &cert("client.key"),
        ])),
    );
    config_case(
        out,
        "Client key does not match its certificate",
        "ferrotls-client",
        cat(&[
            ca("ca.pem"),
            s(&["--cert", &cert("client.pem"), "--key", &cert("server.key")]),
        ]),
        &["does not match the certificate"],
        None,
    );
    config_case(
        out,
        "Garbage instead of a PEM CA file",
        "ferrotls-client",
        ca("garbage.pem"),
        &["garbage.pem"],
        Some(s(&[
            "s_client",
            "-connect",
            &ossl_port(),
            "-CAfile",
            &cert("garbage.pem"),
        ])),
    );
    config_case(
        out,
        "Truncated PEM certificate",
        "ferrotls-server",
        vec![
            "--cert".into(),
            cert("truncated.pem"),
            "--key".into(),
            cert("server.key"),
        ],
        &["truncated.pem"],
        Some(s(&[
            "s_server",
            "-accept",
            &ossl_port(),
            "-cert",
            &cert("truncated.pem"),
            "-key",
            &cert("server.key"),
        ])),
    );
    config_case(
        out,
        "CA file that does not exist",
        "ferrotls-client",
        s(&["--cafile", "/nonexistent/ca.pem"]),
        &["/nonexistent/ca.pem", "No such file"],
        Some(s(&[
            "s_client",
            "-connect",
            &ossl_port(),
            "-CAfile",
            "/nonexistent/ca.pem",
        ])),
    );
    config_case(
        out,
        "Certificate and key swapped",
        "ferrotls-server",
        vec![
            "--cert".into(),
            cert("server.key"),
            "--key".into(),
            cert("server.pem"),
        ],
        &["swap"],
        Some(s(&[
            "s_server",
            "-accept",
            &ossl_port(),
            "-cert",
            &cert("server.key"),
            "-key",
            &cert("server.pem"),
        ])),
    );
    config_case(
        out,
        "Unsupported server key type (P-521)",
        "ferrotls-server",
        vec![
            "--cert".into(),
            cert("p521.pem"),
            "--key".into(),
            cert("p521.key"),
        ],
        &["P-521"],
        None,
    );
    config_case(
        out,
        "RSA key too small (1024 bits)",
        "ferrotls-server",
        vec![
            "--cert".into(),
            cert("rsa1024.pem"),
            "--key".into(),
            cert("rsa1024.key"),
        ],
        &["key"],
        None,
    );
}

// ---- hostile and broken peers --------------------------------------------------------------

/// A server thread that accepts one connection and runs `f` on it.
fn fake_server(f: impl FnOnce(TcpStream) + Send + 'static) -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            f(s);
        }
    });
    (port, t)
}

fn engine_server_config() -> Arc<ferrotls::config::Config> {
    let mut b = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
    b.add_cert_key_files(&certs().join("server.pem"), &certs().join("server.key"))
        .unwrap();
    b.build().unwrap()
}

fn client_case(
    out: &mut Vec<Entry>,
    title: &str,
    setup: &str,
    port: u16,
    expect: &[&str],
    ossl: Vec<String>,
) {
    let (code, lines) = our_client(&ca("ca.pem"), "localhost", port);
    let e = errors(&lines);
    assert_eq!(code, Some(1), "{title}: {lines:?}");
    for x in expect {
        assert!(e.join("\n").contains(x), "{title}: lacks {x:?}: {e:?}");
    }
    out.push(Entry {
        title: title.into(),
        setup: setup.into(),
        ours: e,
        trace: vec![],
        openssl: ossl,
    });
}

fn ossl_client_to(port: u16) -> Vec<String> {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-brief",
        "-CAfile",
        &cert("ca.pem"),
    ]);
    errors(&Proc::spawn(&mut cmd, Some(REQUEST)).finish().1)
        .into_iter()
        .map(|l| format!("s_client: {l}"))
        .take(3)
        .collect()
}

fn peer_scenarios(out: &mut Vec<Entry>) {
    // A plain HTTP server on the port the client thinks speaks TLS.
    let http = || {
        fake_server(|mut s| {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        })
    };
    let (port, t) = http();
    let (p2, t2) = http();
    let ossl = ossl_client_to(p2);
    client_case(
        out,
        "A TLS client talking to a plain HTTP server",
        "a plain HTTP server on the port",
        port,
        &["does not speak TLS"],
        ossl,
    );
    let _ = (t.join(), t2.join());

    // A server that completes the handshake, then drops the TCP connection without close_notify.
    let truncating = || {
        fake_server(|mut sock| {
            let mut c = ferrotls::conn::Connection::new_server(engine_server_config()).unwrap();
            if handshake_io(&mut c, &mut sock).is_ok() {
                write_all_io(&mut c, &mut sock, b"HTTP/1.0 200 OK\r\n\r\npart of a pa");
            }
        })
    };
    let (port, t) = truncating();
    let (p2, t2) = truncating();
    let ossl = ossl_client_to(p2);
    client_case(
        out,
        "Peer closed the connection without close_notify (truncation)",
        "a server that drops TCP after part of its reply",
        port,
        &["without sending close_notify", "truncated"],
        ossl,
    );
    let _ = (t.join(), t2.join());

    // A server whose Finished has been altered (re-encrypted with the right keys, so only
    // the Finished check can catch it).
    let (port, t) = fake_server(|mut sock| {
        let keys = Arc::new(CapturedKeys::default());
        let mut b = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
        b.add_cert_key_files(&certs().join("server.pem"), &certs().join("server.key"))
            .unwrap();
        b.set_keylog(Some(keys.clone()));
        let mut c = ferrotls::conn::Connection::new_server(b.build().unwrap()).unwrap();
        let mut buf = [0u8; 4096];
        while c.outgoing_len() == 0 {
            let n = sock.read(&mut buf).unwrap_or(0);
            if n == 0 || c.feed(&buf[..n]).is_err() {
                return;
            }
        }
        let mut recs = split_records(c.peek_outgoing());
        let suite = ferrotls::crypto::suites::lookup(c.cipher_suite().unwrap()).unwrap();
        let secret = keys.get("SERVER_HANDSHAKE_TRAFFIC_SECRET");
        let dec = ferrotls::tls13::key_schedule::decrypter(suite, &secret).unwrap();
        let enc = ferrotls::tls13::key_schedule::encrypter(suite, &secret).unwrap();
        let mut fin = recs[5].clone();
        let header: [u8; 5] = fin[..5].try_into().unwrap();
        let (typ, plain) = dec.decrypt(3, &header, &mut fin[5..]).unwrap();
        let mut plain = plain.to_vec();
        let last = plain.len() - 1;
        plain[last] ^= 1;
        recs[5].clear();
        enc.encrypt(3, typ, &plain, &mut recs[5]).unwrap();
        let _ = sock.write_all(&recs.concat());
        let _ = sock.read(&mut buf);
    });
    client_case(
        out,
        "Server Finished altered in transit",
        "a server whose Finished message is changed (and re-encrypted with the right keys)",
        port,
        &["the server's Finished", "does not match", "decrypt_error"],
        vec![],
    );
    let _ = t.join();

    // A proxy that flips one bit of the client's first application-data record.
    let (server_proc, sport) = our_server(&srv("server"));
    let (port, t) = fake_server(move |client| {
        let upstream = TcpStream::connect(("127.0.0.1", sport)).unwrap();
        let (mut c_in, mut u_out) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let up = std::thread::spawn(move || {
            // client -> server, flipping a bit in the 4th record (after ClientHello, CCS, Finished)
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let mut sent = 0;
            let mut count = 0;
            while let Ok(n) = c_in.read(&mut buf) {
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                while data.len() - sent >= 5 {
                    let len = 5 + usize::from(u16::from_be_bytes([data[sent + 3], data[sent + 4]]));
                    if data.len() - sent < len {
                        break;
                    }
                    count += 1;
                    if count == 4 {
                        data[sent + len - 1] ^= 1;
                    }
                    let _ = u_out.write_all(&data[sent..sent + len]);
                    sent += len;
                }
            }
        });
        let (mut u_in, mut c_out) = (upstream, client);
        let mut buf = [0u8; 4096];
        while let Ok(n) = u_in.read(&mut buf) {
            if n == 0 || c_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = c_out.shutdown(std::net::Shutdown::Both);
        let _ = up.join();
    });
    let (code, cl) = our_client(&ca("ca.pem"), "localhost", port);
    let (_, sl) = server_proc.finish();
    let _ = t.join();
    let (ce, se) = (errors(&cl), errors(&sl));
    assert_eq!(code, Some(1));
    assert!(
        se.join("\n").contains("failed authentication") && se.join("\n").contains("bad_record_mac"),
        "{se:?}"
    );
    assert!(ce.join("\n").contains("bad_record_mac"), "{ce:?}");
    out.push(Entry {
        title: "A record altered in transit".into(),
        setup: "a proxy flips one bit of the client's HTTP request record".into(),
        ours: [ce, se].concat(),
        trace: vec![],
        openssl: vec![],
    });

    // Plaintext HTTP sent to our TLS port.
    let (server_proc, port) = our_server(&srv("server"));
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = sock.read_to_end(&mut reply);
    let (_, sl) = server_proc.finish();
    let se = errors(&sl);
    assert!(se.join("\n").contains("plaintext HTTP request"), "{se:?}");
    out.push(Entry {
        title: "Plaintext HTTP sent to a TLS port".into(),
        setup: "`curl http://localhost:PORT/` against `ferrotls-server`".into(),
        ours: se,
        trace: vec![],
        openssl: vec![],
    });

    // Nothing listens on the port.
    let port = free_port();
    let (code, lines) = our_client(&ca("ca.pem"), "localhost", port);
    assert_eq!(code, Some(1));
    let e = errors(&lines);
    assert!(e.join("\n").contains("Connection refused"), "{e:?}");
    out.push(Entry {
        title: "Nothing listens on the port".into(),
        setup: "no server".into(),
        ours: e,
        trace: vec![],
        openssl: vec![],
    });
}

fn version_scenarios(out: &mut Vec<Entry>) {
    // A client offering only TLS 1.0 (OpenSSL at security level 0 so it will try).
    let (server_proc, port) = our_server(&srv("server"));
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-tls1",
        "-cipher",
        "DEFAULT@SECLEVEL=0",
        "-brief",
    ]);
    let (_, cl) = Proc::spawn(&mut cmd, Some(REQUEST)).finish();
    let (_, sl) = server_proc.finish();
    let se = errors(&sl);
    assert!(
        se.join("\n").contains("TLSv1.0") && se.join("\n").contains("RFC 8996"),
        "{se:?}"
    );
    let mut openssl = errors(&cl)
        .into_iter()
        .map(|l| format!("s_client: {l}"))
        .collect::<Vec<_>>();
    openssl.truncate(3);
    out.push(Entry {
        title: "A client that offers only TLS 1.0".into(),
        setup: "`openssl s_client -tls1` against `ferrotls-server`".into(),
        ours: se,
        trace: vec![],
        openssl,
    });
}

fn tls12_scenarios(out: &mut Vec<Entry>) {
    pair_case(
        out,
        "No protocol version in common",
        cat(&[srv("server"), s(&["--tls1.2"])]),
        cat(&[ca("ca.pem"), s(&["--tls1.3"])]),
        "localhost",
        &["protocol_version"],
        &[
            "Step One: ClientHello",
            "the client offered TLSv1.3; we support TLSv1.2",
        ],
        Some((
            cat(&[ossl_srv("server"), s(&["-tls1_2"])]),
            cat(&[ossl_ca("ca.pem"), s(&["-tls1_3"])]),
        )),
    );
    pair_case(
        out,
        "Client certificate required but not sent (TLS 1.2)",
        cat(&[
            srv("server"),
            ca("ca.pem"),
            s(&["--verify-client", "--tls1.2"]),
        ]),
        ca("ca.pem"),
        "localhost",
        &["handshake_failure"],
        &["requires one", "--verify-client", "handshake_failure"],
        Some((
            cat(&[
                ossl_srv("server"),
                s(&["-Verify", "1", "-CAfile", &cert("ca.pem"), "-tls1_2"]),
            ]),
            ossl_ca("ca.pem"),
        )),
    );

    // A TLS 1.2 server without Extended Master Secret (GnuTLS with %NO_SESSION_HASH).
    let port = free_port();
    let mut cmd = Command::new("gnutls-serv");
    cmd.args([
        "--x509certfile",
        &cert("server.pem"),
        "--x509keyfile",
        &cert("server.key"),
    ])
    .args([
        "--port",
        &port.to_string(),
        "--priority",
        "NORMAL:-VERS-TLS1.3:%NO_SESSION_HASH",
    ]);
    let mut gnutls = Proc::spawn(&mut cmd, None);
    gnutls.wait_line("listening");
    let (code, lines) = our_client(&ca("ca.pem"), "localhost", port);
    let _ = gnutls.child.kill();
    let _ = gnutls.finish();
    let e = errors(&lines);
    assert_eq!(code, Some(1), "{lines:?}");
    let all = e.join("\n");
    assert!(
        all.contains("Extended Master Secret") && all.contains("RFC 7627"),
        "{all}"
    );
    out.push(Entry {
        title: "TLS 1.2 server without Extended Master Secret".into(),
        setup: "`gnutls-serv --priority NORMAL:-VERS-TLS1.3:%NO_SESSION_HASH` ← `ferrotls-client`"
            .into(),
        ours: e,
        trace: vec![],
        openssl: vec![],
    });

    // A client that accepts only signature schemes our certificate's key cannot make.
    let (server_proc, port) = our_server(&srv("server"));
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-brief",
        "-sigalgs",
        "ed25519:rsa_pss_rsae_sha256",
    ]);
    let (_, cl) = Proc::spawn(&mut cmd, Some(REQUEST)).finish();
    let (_, sl) = server_proc.finish();
    let se = errors(&sl);
    assert!(
        se.join("\n")
            .contains("can sign with ecdsa_secp256r1_sha256"),
        "{se:?}"
    );
    let mut openssl: Vec<String> = errors(&cl)
        .into_iter()
        .map(|l| format!("s_client: {l}"))
        .collect();
    openssl.truncate(3);
    out.push(Entry {
        title: "No signature scheme in common".into(),
        setup: "`openssl s_client -sigalgs ed25519:rsa_pss_rsae_sha256` against `ferrotls-server` with an ECDSA P-256 certificate".into(),
        ours: se,
        trace: vec![],
        openssl,
    });
}

/// Handshake Again in TLS 1.2: each refusal, with the peer that provokes it.
fn renegotiation_scenarios(out: &mut Vec<Entry>) {
    // A client whose renegotiating ClientHello does not quote its Finished (RFC 5746 §3.7):
    // a ferrotls client whose renegotiation is replaced, under its own keys, by a fresh
    // initial ClientHello (empty renegotiation_info).
    let (server_proc, port) = our_server(&cat(&[
        srv("server"),
        s(&["--tls1.2", "--echo", "--allow-renegotiation"]),
    ]));
    let keys = Arc::new(CapturedKeys::default());
    let mut b = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Client);
    b.add_roots_path(&certs().join("ca.pem")).unwrap();
    b.set_versions(
        ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
        ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
    )
    .unwrap();
    b.set_keylog(Some(keys.clone()));
    let config = b.build().unwrap();
    let mut c = ferrotls::conn::Connection::new_client(config.clone(), Some("localhost")).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The handshake, keeping the server's first record (its ServerHello) for the random.
    let mut from_server = Vec::new();
    let mut buf = [0u8; 16384];
    while c.is_handshaking() {
        flush_io(&mut c, &mut sock).unwrap();
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "the server hung up in the handshake");
        from_server.extend_from_slice(&buf[..n]);
        c.feed(&buf[..n]).unwrap();
    }
    flush_io(&mut c, &mut sock).unwrap();
    let server_random: [u8; 32] = from_server[11..43].try_into().unwrap();
    let client_random: [u8; 32] = keys.1.lock().unwrap()[..].try_into().unwrap();
    let suite = ferrotls::crypto::suites::lookup(c.cipher_suite().unwrap()).unwrap();
    let block = ferrotls::tls12::key_schedule::key_block(
        suite.hash,
        &keys.get("CLIENT_RANDOM"),
        &client_random,
        &server_random,
        suite.key_block_len(),
    );
    let (k, iv) = (suite.aead.key_len(), suite.fixed_iv_len());
    let enc = ferrotls::record::cipher::RecordEncrypter::tls12(
        suite,
        &block[..k],
        &block[2 * k..2 * k + iv],
    )
    .unwrap();
    let fresh = ferrotls::conn::Connection::new_client(config, Some("localhost")).unwrap();
    let hello = fresh.peek_outgoing()[5..].to_vec();
    let mut record = Vec::new();
    // Sequence number 1: the client's Finished was 0.
    enc.encrypt(
        1,
        ferrotls::codec::enums::ContentType::Handshake,
        &hello,
        &mut record,
    )
    .unwrap();
    sock.write_all(&record).unwrap();
    let _ = sock.read(&mut buf);
    drop(sock);
    let (_, sl) = server_proc.finish();
    let se = errors(&sl);
    let all = se.join("\n");
    assert!(
        all.contains("does not quote its Finished") && all.contains("handshake_failure"),
        "{se:?}"
    );
    out.push(Entry {
        title: "Renegotiation not bound to the connection (renegotiation_info)".into(),
        setup:
            "a TLS 1.2 client renegotiates with an initial ClientHello (empty renegotiation_info) \
                against `ferrotls-server --tls1.2 --echo --allow-renegotiation`"
                .into(),
        ours: se,
        trace: vec![],
        openssl: vec![],
    });

    // A server that presents another certificate in the renegotiation it asks for.
    #[derive(Debug)]
    struct Alternate(
        [Arc<ferrotls::config::CertifiedKey>; 2],
        std::sync::atomic::AtomicUsize,
    );
    impl ferrotls::select::CertResolver for Alternate {
        fn resolve(
            &self,
            _: &ferrotls::select::ClientHelloInfo<'_>,
        ) -> Option<Arc<ferrotls::config::CertifiedKey>> {
            let i = self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(self.0[i % 2].clone())
        }
    }
    let (port, t) = fake_server(|mut sock| {
        let load = |name: &str| {
            ferrotls::config::CertifiedKey::from_pem(
                std::fs::read(certs().join(format!("{name}.pem")))
                    .unwrap()
                    .as_slice(),
                std::fs::read(certs().join(format!("{name}.key")))
                    .unwrap()
                    .as_slice(),
            )
            .unwrap()
        };
        let mut b = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Server);
        b.set_cert_resolver(Arc::new(Alternate(
            [load("server"), load("server-other")],
            Default::default(),
        )))
        .unwrap();
        b.set_versions(
            ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
            ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
        )
        .unwrap();
        let mut c = ferrotls::conn::Connection::new_server(b.build().unwrap()).unwrap();
        if handshake_io(&mut c, &mut sock).is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        let _ = c.renegotiate();
        while flush_io(&mut c, &mut sock).is_ok() {
            match sock.read(&mut buf) {
                Ok(n) if n > 0 => {
                    if c.feed(&buf[..n]).is_err() {
                        let _ = flush_io(&mut c, &mut sock);
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    let mut cmd = Command::new(bin("ferrotls-client"));
    cmd.args(ca("ca.pem"))
        .args(["--tls1.2", "localhost", &port.to_string()]);
    let (code, lines) =
        Proc::spawn_lingering(&mut cmd, Some(REQUEST), Duration::from_secs(2)).finish();
    let _ = t.join();
    let e = errors(&lines);
    assert_eq!(code, Some(1), "{lines:?}");
    let all = e.join("\n");
    assert!(
        all.contains("presented another certificate") && all.contains("handshake_failure"),
        "{e:?}"
    );
    out.push(Entry {
        title: "Server changes its certificate in a renegotiation".into(),
        setup: "a TLS 1.2 server asks for a new handshake (HelloRequest) and presents another \
                certificate of the same CA in it; `ferrotls-client --tls1.2`"
            .into(),
        ours: e,
        trace: vec![],
        openssl: vec![],
    });

    // The seed's scenario, refused: a client that declines the new handshake in which a
    // server that requires a certificate asks for it.
    let (server_proc, port) = our_server(&cat(&[
        srv("server"),
        ca("ca.pem"),
        s(&["--tls1.2", "--ask-cert-path", "/", "--verify-client"]),
    ]));
    let mut cmd = Command::new(bin("ferrotls-client"));
    cmd.args(ca("ca.pem"))
        .args(["--cert", &cert("client.pem"), "--key", &cert("client.key")])
        .args(["--no-renegotiation", "localhost", &port.to_string()]);
    let (code, cl) =
        Proc::spawn_lingering(&mut cmd, Some(REQUEST), Duration::from_secs(2)).finish();
    let (_, sl) = server_proc.finish();
    let (ce, se) = (errors(&cl), errors(&sl));
    assert_eq!(code, Some(1), "{cl:?}");
    let all = se.join("\n");
    assert!(
        all.contains("declined the new handshake") && all.contains("handshake_failure"),
        "{se:?}"
    );
    let all = ce.join("\n");
    assert!(
        all.contains("after we declined its request for a new handshake")
            && all.contains("drop --no-renegotiation"),
        "{ce:?}"
    );
    out.push(Entry {
        title: "Client declines the renegotiation that asks for its certificate".into(),
        setup:
            "`ferrotls-server --tls1.2 --ask-cert-path / --verify-client --cafile certs/ca.pem` ← \
                `ferrotls-client --no-renegotiation --cert … --key …`"
                .into(),
        ours: [ce, se].concat(),
        trace: vec![],
        openssl: vec![],
    });

    // The bound: a client that renegotiates without end (its own clock runs a minute per
    // reading, so its own bound never stops it) against a server that allows renegotiation.
    static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    fn fast_clock() -> u64 {
        1_700_000_000_000 + CLOCK.fetch_add(61_000, std::sync::atomic::Ordering::Relaxed)
    }
    let (server_proc, port) = our_server(&cat(&[
        srv("server"),
        s(&["--tls1.2", "--echo", "--allow-renegotiation", "--trace"]),
    ]));
    let mut b = ferrotls::config::ConfigBuilder::new(ferrotls::config::Role::Client);
    b.add_roots_path(&certs().join("ca.pem")).unwrap();
    b.set_versions(
        ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
        ferrotls::codec::enums::ProtocolVersion::TLSv1_2,
    )
    .unwrap();
    b.set_clock(fast_clock);
    let mut c =
        ferrotls::conn::Connection::new_client(b.build().unwrap(), Some("localhost")).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    handshake_io(&mut c, &mut sock).unwrap();
    let limit = ferrotls::conn::MAX_RENEGOTIATIONS_PER_MINUTE;
    let mut buf = [0u8; 16384];
    for _ in 0..=limit {
        c.renegotiate().unwrap();
        // Until the new handshake completes, or the server's warning returns us to our keys.
        loop {
            flush_io(&mut c, &mut sock).unwrap();
            if c.awaiting_step() == ferrotls::conn::Step::ApplicationData {
                break;
            }
            let n = sock.read(&mut buf).unwrap();
            assert!(n > 0, "the server hung up");
            c.feed(&buf[..n]).unwrap();
        }
    }
    assert_eq!(
        c.last_alert(),
        Some((
            ferrotls::codec::enums::AlertDescription::NoRenegotiation,
            false
        )),
        "the last one is declined"
    );
    write_all_io(&mut c, &mut sock, b"still here\n");
    drop(sock);
    let (_, sl) = server_proc.finish();
    let se: Vec<String> = sl
        .iter()
        .filter(|l| l.contains("Handshake Again declined") || l.contains("alert out: warning"))
        .map(|l| normalize(l))
        .collect();
    assert!(
        se.join("\n")
            .contains("more than MAX_RENEGOTIATIONS_PER_MINUTE"),
        "{sl:?}"
    );
    out.push(Entry {
        title: "A peer that renegotiates without end (the per-minute bound)".into(),
        setup: format!(
            "a TLS 1.2 client renegotiates {} times in a row against `ferrotls-server --tls1.2 \
             --echo --allow-renegotiation --trace`",
            limit + 1
        ),
        ours: se,
        trace: vec![],
        openssl: vec![],
    });

    // Policy: a client's renegotiation, which a server declines unless it allows it (a
    // warning: the connection goes on).
    let (server_proc, port) = our_server(&cat(&[
        srv("server"),
        s(&["--tls1.2", "--echo", "--trace"]),
    ]));
    let mut cmd = Command::new(bin("ferrotls-client"));
    cmd.args(ca("ca.pem"))
        .args(["--renegotiate", "localhost", &port.to_string()]);
    let (_, cl) = Proc::spawn(&mut cmd, Some(b"hello\n")).finish();
    let (_, sl) = server_proc.finish();
    let pick = |lines: &[String], needles: &[&str]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| needles.iter().any(|n| l.contains(n)))
            .map(|l| normalize(l))
            .collect()
    };
    let ce = pick(&cl, &["renegotiation"]);
    let se = pick(&sl, &["Handshake Again declined", "no_renegotiation"]);
    assert!(ce.join("\n").contains("declined"), "{cl:?}");
    assert!(
        se.join("\n")
            .contains("does not accept a renegotiation the client starts"),
        "{sl:?}"
    );
    out.push(Entry {
        title: "A client's renegotiation, declined by policy (not an error)".into(),
        setup: "`ferrotls-server --tls1.2 --echo --trace` (without `--allow-renegotiation`) ← \
                `ferrotls-client --renegotiate`"
            .into(),
        ours: [ce, se].concat(),
        trace: vec![],
        openssl: vec![],
    });
}

/// Post-quantum key exchange against classic (TLS 1.3): OpenSSL 3.0 has no post-quantum
/// groups, so there is no OpenSSL run.
fn post_quantum_scenarios(out: &mut Vec<Entry>) {
    pair_case(
        out,
        "Client offers only post-quantum groups the server does not enable",
        cat(&[srv("server"), s(&["--groups", "X25519:P-256"])]),
        cat(&[ca("ca.pem"), s(&["--groups", "X25519MLKEM768"])]),
        "localhost",
        &[
            "the server sent a fatal handshake_failure alert",
            "hint: if the server supports none of the groups given with --groups",
        ],
        &[
            "Step One: ClientHello",
            "no key-exchange group in common: the client supports X25519MLKEM768; we support X25519, P-256",
            "(the client offers only post-quantum groups, which this server does not enable: add \
             X25519MLKEM768 to the server's groups, or a classic group to the client's)",
            "(we sent a fatal handshake_failure alert) (FERROTLS_ERR_NO_SHARED_GROUP)",
            "hint: this server's key-exchange groups are set with --groups",
        ],
        None,
    );
    pair_case(
        out,
        "Server requires post-quantum, client offers only classic groups",
        cat(&[srv("server"), s(&["--groups", "X25519MLKEM768"])]),
        cat(&[ca("ca.pem"), s(&["--groups", "X25519:P-256"])]),
        "localhost",
        &[
            "the server sent a fatal handshake_failure alert",
            "hint: if the server supports none of the groups given with --groups",
        ],
        &[
            "Step One: ClientHello",
            "no key-exchange group in common: the client supports X25519, P-256; we support X25519MLKEM768",
            "(this server requires a post-quantum group and the client offers only classic ones: \
             the client needs X25519MLKEM768, or the server a classic group such as X25519)",
            "(we sent a fatal handshake_failure alert) (FERROTLS_ERR_NO_SHARED_GROUP)",
            "hint: this server's key-exchange groups are set with --groups",
        ],
        None,
    );
}

fn render(entries: &[Entry]) -> String {
    let mut md = String::from(
        "# Handshake failures: what ferrotls says, and what OpenSSL says\n\n\
         Generated by `tests/diagnostics.rs` (`FERROTLS_BLESS=1 cargo test --test diagnostics` rewrites it);\n\
         the test fails when this file and what the scenarios print disagree, so it cannot go stale.\n\
         Each scenario was run for real over 127.0.0.1 with the C examples (and a fake or hostile peer\n\
         where the scenario needs one); the OpenSSL column is `openssl s_client` against `openssl\n\
         s_server` in the same situation (OpenSSL 3.0), where one exists; it is informative only\n\
         (what OpenSSL prints depends on timing), so the freshness check covers our lines.\n\n\
         Each ferrotls message names the handshake step in the seed's words, the cause with the values\n\
         involved, the alert sent or received, and what to do about it.\n",
    );
    for (i, e) in entries.iter().enumerate() {
        md.push_str(&format!(
            "\n## {}. {}\n\nSetup: {}\n\nferrotls:\n\n",
            i + 1,
            e.title,
            e.setup
        ));
        for l in &e.ours {
            md.push_str(&format!("    {l}\n"));
        }
        if !e.trace.is_empty() {
            md.push_str("\nThe client's `--trace`, last lines (record headers omitted):\n\n");
            for l in &e.trace {
                md.push_str(&format!("    {l}\n"));
            }
        }
        if e.openssl.is_empty() {
            md.push_str("\nOpenSSL: (no equivalent run)\n");
        } else {
            md.push_str("\nOpenSSL:\n\n");
            for l in &e.openssl {
                md.push_str(&format!("    {l}\n"));
            }
        }
    }
    md
}

#[test]
fn catalogue() {
    if Command::new("openssl").arg("version").output().is_err() {
        panic!("the catalogue needs the openssl CLI (installed by `make deps` / .ci/run)");
    }
    let mut entries = Vec::new();
    certificate_scenarios(&mut entries);
    negotiation_scenarios(&mut entries);
    client_auth_scenarios(&mut entries);
    config_scenarios(&mut entries);
    peer_scenarios(&mut entries);
    version_scenarios(&mut entries);
    tls12_scenarios(&mut entries);
    renegotiation_scenarios(&mut entries);
    post_quantum_scenarios(&mut entries);
    let md = render(&entries);
    let path = Path::new(ROOT).join("docs/errors.md");
    if std::env::var_os("FERROTLS_BLESS").is_some() {
        std::fs::write(&path, &md).unwrap();
        return;
    }
    // OpenSSL's output depends on timing (what s_client prints before it exits), so only our
    // side must match the committed file exactly.
    let ours_only = |text: &str| -> String {
        let mut keep = true;
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with("OpenSSL") {
                keep = false;
            } else if line.starts_with("## ") {
                keep = true;
            }
            if keep {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    };
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if ours_only(&committed) != ours_only(&md) {
        let fresh = std::env::temp_dir().join("ferrotls-errors.md");
        std::fs::write(&fresh, &md).unwrap();
        panic!(
            "docs/errors.md is stale: the scenarios now print something else (new version at {}); \
             review it and run FERROTLS_BLESS=1 cargo test --test diagnostics",
            fresh.display()
        );
    }
}
