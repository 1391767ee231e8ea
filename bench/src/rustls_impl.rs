//! rustls 0.23 with the ring provider; the X25519MLKEM768 row uses the aws-lc-rs provider
//! whole (ring has no ML-KEM), so its signatures, AEAD and hashing are aws-lc's too. Servers
//! issue stateless tickets (the provider's Ticketer) and keep no session cache, like the
//! OpenSSL setup; full-handshake clients do not resume.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::NoServerSessionStorage;
use rustls::{ClientConfig, ClientConnection, HandshakeKind, ServerConfig, ServerConnection};

use crate::sockets::{SockConn, SockEngine};
use crate::{Conn, Engine, Group, Params, Pki, Ver};

pub struct Rustls {
    pub(crate) client: Arc<ClientConfig>,
    pub(crate) server: Arc<ServerConfig>,
    pub(crate) p: Params,
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap())
        .collect()
}

pub fn new(pki: &Pki, p: Params) -> Result<Box<dyn Engine>, String> {
    let eng = build(pki, p)?;
    if p.zero_copy {
        return crate::rustls_unbuffered::new(eng);
    }
    if p.resume {
        eng.run(false)?; // prime the client's ticket cache
    }
    eng.handshake()?;
    Ok(Box::new(eng))
}

fn build(pki: &Pki, p: Params) -> Result<Rustls, String> {
    let e = |e: rustls::Error| e.to_string();
    let (mut prov, ticketer) = match p.group {
        Group::X25519 => (
            rustls::crypto::ring::default_provider(),
            rustls::crypto::ring::Ticketer::new().map_err(e)?,
        ),
        Group::X25519Mlkem768 => (
            rustls::crypto::aws_lc_rs::default_provider(),
            rustls::crypto::aws_lc_rs::Ticketer::new().map_err(e)?,
        ),
    };
    prov.cipher_suites
        .retain(|cs| u16::from(cs.suite()) == p.suite_id());
    // The client lists P-256 after X25519 (it sends one key share, for X25519): a TLS 1.2
    // server may use a P-256 certificate only if the client lists that curve (RFC 8422 §5.1),
    // as the OpenSSL and ferrotls clients here do too. The server has X25519 alone.
    let mut client_prov = prov.clone();
    client_prov.kx_groups.retain(|g| {
        u16::from(g.name()) == p.group.id()
            || (p.group == Group::X25519 && u16::from(g.name()) == 0x0017)
    });
    client_prov
        .kx_groups
        .sort_by_key(|g| u16::from(g.name()) != p.group.id());
    prov.kx_groups
        .retain(|g| u16::from(g.name()) == p.group.id());
    if prov.kx_groups.is_empty() {
        return Err(format!("no {} in the provider", p.group.name()));
    }
    let prov = Arc::new(prov);
    let client_prov = Arc::new(client_prov);
    let ver: &'static rustls::SupportedProtocolVersion = match p.ver {
        Ver::V12 => &rustls::version::TLS12,
        Ver::V13 => &rustls::version::TLS13,
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(&pki.ca_pem) {
        roots.add(c).map_err(e)?;
    }
    let mut client = ClientConfig::builder_with_provider(client_prov)
        .with_protocol_versions(&[ver])
        .map_err(e)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    if !p.resume {
        client.resumption = Resumption::disabled();
    }
    let id = pki.identity(p.key);
    let mut server = ServerConfig::builder_with_provider(prov)
        .with_protocol_versions(&[ver])
        .map_err(e)?
        .with_no_client_auth()
        .with_single_cert(
            certs(&id.chain_pem),
            PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).map_err(|e| e.to_string())?,
        )
        .map_err(e)?;
    server.session_storage = Arc::new(NoServerSessionStorage {});
    server.ticketer = ticketer;
    // One TLS 1.3 ticket per handshake, as every server here is set to (rustls's default is 2).
    server.send_tls13_tickets = 1;
    let eng = Rustls {
        client: Arc::new(client),
        server: Arc::new(server),
        p,
    };
    if p.ver == Ver::V13 {
        // Once per engine: a full handshake delivers exactly one ticket (counted in a
        // throwaway session store; the rows' clients keep their own setting).
        let store = Arc::new(rustls::client::ClientSessionMemoryCache::new(8));
        let mut probe_client = (*eng.client).clone();
        probe_client.resumption = Resumption::store(store.clone());
        let probe = Rustls {
            client: Arc::new(probe_client),
            server: eng.server.clone(),
            p,
        };
        probe.run(false)?;
        let name = ServerName::try_from("localhost").unwrap();
        let mut n = 0;
        while rustls::client::ClientSessionStore::take_tls13_ticket(&*store, &name).is_some() {
            n += 1;
        }
        if n != 1 {
            return Err(format!("{n} TLS 1.3 tickets, wanted 1"));
        }
    }
    Ok(eng)
}

pub struct Pair {
    c: ClientConnection,
    s: ServerConnection,
    /// Harness transport buffer (ciphertext in flight).
    wire: Vec<u8>,
}

/// Move a's pending ciphertext into b through `wire`; returns bytes moved.
fn xfer(
    a: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl rustls::SideData>>,
    b: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl rustls::SideData>>,
    wire: &mut Vec<u8>,
) -> Result<usize, String> {
    wire.clear();
    while a.wants_write() {
        a.write_tls(wire).map_err(|e| e.to_string())?;
    }
    let mut rd = &wire[..];
    while !rd.is_empty() {
        b.read_tls(&mut rd).map_err(|e| e.to_string())?;
        b.process_new_packets().map_err(|e| e.to_string())?;
    }
    Ok(wire.len())
}

impl Rustls {
    fn run(&self, want_resumed: bool) -> Result<Pair, String> {
        let name = ServerName::try_from("localhost").unwrap();
        let mut pair = Pair {
            c: ClientConnection::new(self.client.clone(), name).map_err(|e| e.to_string())?,
            s: ServerConnection::new(self.server.clone()).map_err(|e| e.to_string())?,
            wire: Vec::new(),
        };
        for _ in 0..20 {
            let a = xfer(&mut pair.c, &mut pair.s, &mut pair.wire)?;
            let b = xfer(&mut pair.s, &mut pair.c, &mut pair.wire)?;
            if a == 0 && b == 0 {
                break;
            }
        }
        if pair.c.is_handshaking() || pair.s.is_handshaking() {
            return Err("handshake did not complete".into());
        }
        let suite = pair
            .c
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite()));
        if suite != Some(self.p.suite_id()) {
            return Err(format!("negotiated {suite:?}"));
        }
        let resumed = pair.c.handshake_kind() == Some(HandshakeKind::Resumed);
        if resumed != want_resumed {
            return Err(format!("resumed = {resumed}, wanted {want_resumed}"));
        }
        let group = pair
            .c
            .negotiated_key_exchange_group()
            .map(|g| u16::from(g.name()));
        if !want_resumed && group != Some(self.p.group.id()) {
            return Err(format!("negotiated group {group:?}"));
        }
        Ok(pair)
    }
}

impl Engine for Rustls {
    fn handshake(&self) -> Result<Box<dyn Conn>, String> {
        Ok(Box::new(self.run(self.p.resume)?))
    }
}

impl Conn for Pair {
    fn send(&mut self, data: &[u8], rbuf: &mut [u8], check: bool) -> usize {
        let (mut off, mut got, mut idle) = (0, 0, 0);
        while got < data.len() {
            if off < data.len() {
                off += self.c.writer().write(&data[off..]).unwrap();
            }
            self.wire.clear();
            while self.c.wants_write() {
                self.c.write_tls(&mut self.wire).unwrap();
            }
            let before = got;
            let mut rd = &self.wire[..];
            while !rd.is_empty() {
                // Drain plaintext between reads: rustls bounds what it holds received.
                self.s.read_tls(&mut rd).unwrap();
                self.s.process_new_packets().unwrap();
                // Zero-copy reads through BufRead (fill_buf + consume).
                let _ = &rbuf;
                loop {
                    let mut reader = self.s.reader();
                    match std::io::BufRead::fill_buf(&mut reader) {
                        Ok(view) if !view.is_empty() => {
                            let n = view.len();
                            if check {
                                assert_eq!(view, &data[got..got + n]);
                            }
                            got += n;
                            std::io::BufRead::consume(&mut reader, n);
                        }
                        Ok(_) => panic!("rustls: unexpected close"),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("rustls: {e}"),
                    }
                }
            }
            crate::no_stall(
                &mut idle,
                !(self.wire.is_empty() && got == before),
                "rustls",
            );
        }
        assert_eq!(got, data.len());
        got
    }

    fn trim(&mut self) {
        self.wire = Vec::new();
    }
}

/// The socket rows: the same configs, over blocking `TcpStream`s (`complete_io` for the
/// handshake, then `StreamOwned`).
pub struct Sockets(Rustls);

pub fn sockets(pki: &Pki, p: Params) -> Result<Arc<dyn SockEngine>, String> {
    Ok(Arc::new(Sockets(build(pki, p)?)))
}

fn check_common(c: &rustls::CommonState, p: &Params, what: &str) -> Result<(), String> {
    let suite = c.negotiated_cipher_suite().map(|s| u16::from(s.suite()));
    let group = c
        .negotiated_key_exchange_group()
        .map(|g| u16::from(g.name()));
    let ver = c.protocol_version().map(u16::from);
    let want_ver = match p.ver {
        Ver::V12 => 0x0303,
        Ver::V13 => 0x0304,
    };
    if suite != Some(p.suite_id())
        || group != Some(p.group.id())
        || ver != Some(want_ver)
        || c.handshake_kind() != Some(HandshakeKind::Full)
    {
        return Err(format!(
            "{what}: negotiated {ver:?} {suite:?} group {group:?} {:?}",
            c.handshake_kind()
        ));
    }
    Ok(())
}

impl SockEngine for Sockets {
    fn client(&self, mut sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        let name = ServerName::try_from("localhost").unwrap();
        let mut c =
            ClientConnection::new(self.0.client.clone(), name).map_err(|e| e.to_string())?;
        while c.is_handshaking() {
            c.complete_io(&mut sock).map_err(|e| e.to_string())?;
        }
        check_common(&c, &self.0.p, "client")?;
        Ok(Box::new(rustls::StreamOwned::new(c, sock)))
    }

    fn server(&self, mut sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        let mut s = ServerConnection::new(self.0.server.clone()).map_err(|e| e.to_string())?;
        while s.is_handshaking() {
            s.complete_io(&mut sock).map_err(|e| e.to_string())?;
        }
        // The ticket, if complete_io left it queued.
        while s.wants_write() {
            s.write_tls(&mut sock).map_err(|e| e.to_string())?;
        }
        check_common(&s, &self.0.p, "server")?;
        Ok(Box::new(rustls::StreamOwned::new(s, sock)))
    }
}

/// The client and server ends over a socket: the same code for both.
macro_rules! sock_conn {
    ($conn:ty) => {
        impl SockConn for rustls::StreamOwned<$conn, TcpStream> {
            fn write_all(&mut self, data: &[u8]) -> Result<(), String> {
                Write::write_all(self, data).map_err(|e| e.to_string())?;
                Write::flush(self).map_err(|e| e.to_string())
            }

            fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
                std::io::Read::read(self, buf).map_err(|e| e.to_string())
            }

            fn close(&mut self) -> Result<(), String> {
                self.conn.send_close_notify();
                while self.conn.wants_write() {
                    self.conn
                        .write_tls(&mut self.sock)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }

            fn socket(&self) -> &TcpStream {
                &self.sock
            }
        }
    };
}
sock_conn!(ClientConnection);
sock_conn!(ServerConnection);
