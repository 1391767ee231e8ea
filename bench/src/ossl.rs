//! The system OpenSSL through the `openssl` crate: SslStream over an in-memory duplex pair
//! whose buffers push back at 64 KiB (like the other two libraries' default buffer limits).
//! Servers keep no session cache and issue stateless tickets.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use openssl::ssl::{
    ErrorCode, HandshakeError, MidHandshakeSslStream, ShutdownState, Ssl, SslContext,
    SslContextBuilder, SslMethod, SslMode, SslSession, SslSessionCacheMode, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

use crate::sockets::{SockConn, SockEngine};
use crate::{Conn, Engine, Group, Params, Pki, UNSUPPORTED, Ver};

const PIPE_CAP: usize = 64 * 1024;

type Buf = Rc<RefCell<VecDeque<u8>>>;

/// One end of the in-memory duplex: reads from `rx`, writes to `tx`.
#[derive(Debug)]
pub struct Pipe {
    rx: Buf,
    tx: Buf,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx.borrow_mut();
        if rx.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        rx.read(buf)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut tx = self.tx.borrow_mut();
        let n = buf.len().min(PIPE_CAP.saturating_sub(tx.len()));
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        tx.extend(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn duplex() -> (Pipe, Pipe) {
    let a: Buf = Rc::default();
    let b: Buf = Rc::default();
    (
        Pipe {
            rx: a.clone(),
            tx: b.clone(),
        },
        Pipe { rx: b, tx: a },
    )
}

pub struct Ossl {
    client: SslContext,
    server: SslContext,
    /// The latest session the client got (resumption rows only).
    session: Arc<Mutex<Option<SslSession>>>,
    p: Params,
}

fn cipher_name(p: Params) -> &'static str {
    match p.suite_id() {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xc02b => "ECDHE-ECDSA-AES128-GCM-SHA256",
        0xc02f => "ECDHE-RSA-AES128-GCM-SHA256",
        0xcca9 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        0xcca8 => "ECDHE-RSA-CHACHA20-POLY1305",
        _ => unreachable!(),
    }
}

fn common(
    b: &mut SslContextBuilder,
    p: Params,
    client: bool,
) -> Result<(), openssl::error::ErrorStack> {
    let v = match p.ver {
        Ver::V12 => SslVersion::TLS1_2,
        Ver::V13 => SslVersion::TLS1_3,
    };
    b.set_min_proto_version(Some(v))?;
    b.set_max_proto_version(Some(v))?;
    match p.ver {
        Ver::V13 => b.set_ciphersuites(cipher_name(p))?,
        Ver::V12 => b.set_cipher_list(cipher_name(p))?,
    }
    // X25519 is what both sides pick; P-256 is listed after it on the client only because a
    // TLS 1.2 server may use a P-256 certificate only if the client lists that curve.
    match p.group {
        Group::X25519 => b.set_groups_list(if client { "X25519:P-256" } else { "X25519" })?,
        g => b.set_groups_list(g.name())?,
    }
    b.set_mode(SslMode::ENABLE_PARTIAL_WRITE | SslMode::ACCEPT_MOVING_WRITE_BUFFER);
    Ok(())
}

pub fn new(pki: &Pki, p: Params) -> Result<Box<dyn Engine>, String> {
    let eng = build(pki, p)?;
    if p.resume {
        eng.run(false)?; // prime the client's session
    }
    eng.handshake()?;
    Ok(Box::new(eng))
}

fn build(pki: &Pki, p: Params) -> Result<Ossl, String> {
    let e = |e: openssl::error::ErrorStack| e.to_string();
    // OpenSSL has X25519MLKEM768 from 3.5 on; an older one refuses the name.
    if p.group != Group::X25519
        && SslContextBuilder::new(SslMethod::tls())
            .and_then(|mut b| b.set_groups_list(p.group.name()))
            .is_err()
    {
        return Err(format!(
            "{UNSUPPORTED}{} has no {}",
            openssl::version::version(),
            p.group.name()
        ));
    }
    let session: Arc<Mutex<Option<SslSession>>> = Arc::default();

    // The client context; `count` (the ticket probe) counts the sessions it is given.
    let client = |count: Option<Arc<AtomicUsize>>| -> Result<SslContext, String> {
        let mut c = SslContextBuilder::new(SslMethod::tls_client()).map_err(e)?;
        common(&mut c, p, true).map_err(e)?;
        c.set_verify(SslVerifyMode::PEER);
        c.cert_store_mut()
            .add_cert(X509::from_pem(pki.ca_pem.as_bytes()).map_err(e)?)
            .map_err(e)?;
        if let Some(n) = count {
            c.set_session_cache_mode(SslSessionCacheMode::CLIENT);
            c.set_new_session_callback(move |_, _| {
                n.fetch_add(1, Ordering::Relaxed);
            });
        } else if p.resume {
            c.set_session_cache_mode(SslSessionCacheMode::CLIENT);
            let store = session.clone();
            c.set_new_session_callback(move |_, s| *store.lock().unwrap() = Some(s));
        }
        Ok(c.build())
    };

    let id = pki.identity(p.key);
    let mut s = SslContextBuilder::new(SslMethod::tls_server()).map_err(e)?;
    common(&mut s, p, false).map_err(e)?;
    let chain = X509::stack_from_pem(id.chain_pem.as_bytes()).map_err(e)?;
    s.set_certificate(&chain[0]).map_err(e)?;
    let key = openssl::pkey::PKey::private_key_from_pem(id.key_pem.as_bytes()).map_err(e)?;
    s.set_private_key(&key).map_err(e)?;
    s.check_private_key().map_err(e)?;
    // One TLS 1.3 ticket per handshake, as every server here is set to (OpenSSL's default is 2).
    s.set_num_tickets(1).map_err(e)?;

    let server = s.build();
    if p.ver == Ver::V13 {
        // Once per engine: a full handshake delivers exactly one ticket.
        let n = Arc::new(AtomicUsize::new(0));
        let probe = Ossl {
            client: client(Some(n.clone()))?,
            server: server.clone(),
            session: Arc::default(),
            p,
        };
        probe.run(false)?;
        if n.load(Ordering::Relaxed) != 1 {
            return Err(format!(
                "{} TLS 1.3 tickets, wanted 1",
                n.load(Ordering::Relaxed)
            ));
        }
    }
    Ok(Ossl {
        client: client(None)?,
        server,
        session,
        p,
    })
}

enum Hs {
    Mid(MidHandshakeSslStream<Pipe>),
    Done(SslStream<Pipe>),
}

fn step(r: Result<SslStream<Pipe>, HandshakeError<Pipe>>) -> Result<Hs, String> {
    match r {
        Ok(s) => Ok(Hs::Done(s)),
        Err(HandshakeError::WouldBlock(m)) => Ok(Hs::Mid(m)),
        Err(e) => Err(e.to_string()),
    }
}

fn advance(h: Hs) -> Result<Hs, String> {
    match h {
        Hs::Mid(m) => step(m.handshake()),
        done => Ok(done),
    }
}

pub struct Pair {
    c: SslStream<Pipe>,
    s: SslStream<Pipe>,
}

impl Drop for Pair {
    /// OpenSSL marks a session unresumable when its SSL is freed without a shutdown (a
    /// truncation guard); record one, as an application closing cleanly would.
    fn drop(&mut self) {
        let both = ShutdownState::SENT | ShutdownState::RECEIVED;
        self.c.set_shutdown(both);
        self.s.set_shutdown(both);
    }
}

/// Let `s` process whatever is waiting for it (post-handshake messages such as tickets).
fn drain(s: &mut SslStream<Pipe>) -> Result<(), String> {
    let mut b = [0u8; 1];
    match s.ssl_read(&mut b) {
        Err(e) if e.code() == ErrorCode::WANT_READ => Ok(()),
        Err(e) => Err(e.to_string()),
        Ok(_) => Err("unexpected application data".into()),
    }
}

impl Ossl {
    fn run(&self, want_resumed: bool) -> Result<Pair, String> {
        let e = |e: openssl::error::ErrorStack| e.to_string();
        let (cp, sp) = duplex();
        let mut cssl = Ssl::new(&self.client).map_err(e)?;
        cssl.set_hostname("localhost").map_err(e)?;
        cssl.param_mut().set_host("localhost").map_err(e)?;
        if want_resumed {
            // The latest session: TLS 1.3 replaces it with each new ticket, TLS 1.2 keeps reusing it.
            let sess = self
                .session
                .lock()
                .unwrap()
                .clone()
                .ok_or("no session to resume")?;
            // SAFETY: the session comes from a connection of the same context.
            unsafe { cssl.set_session(&sess).map_err(e)? };
        }
        let sssl = Ssl::new(&self.server).map_err(e)?;
        let mut c = step(cssl.connect(cp))?;
        let mut s = step(sssl.accept(sp))?;
        for _ in 0..20 {
            if let (Hs::Done(_), Hs::Done(_)) = (&c, &s) {
                break;
            }
            c = advance(c)?;
            s = advance(s)?;
        }
        let (Hs::Done(mut c), Hs::Done(s)) = (c, s) else {
            return Err("handshake did not complete".into());
        };
        drain(&mut c)?; // tickets
        let suite = c
            .ssl()
            .current_cipher()
            .map(|c| c.standard_name().unwrap_or("").to_string());
        let resumed = c.ssl().session_reused();
        if resumed != want_resumed {
            return Err(format!("resumed = {resumed}, wanted {want_resumed}"));
        }
        let want = crate::iana_name(self.p.suite_id());
        if suite.as_deref() != Some(want) {
            return Err(format!("negotiated {suite:?}, wanted {want}"));
        }
        Ok(Pair { c, s })
    }
}

impl Engine for Ossl {
    fn handshake(&self) -> Result<Box<dyn Conn>, String> {
        Ok(Box::new(self.run(self.p.resume)?))
    }
}

impl Conn for Pair {
    fn send(&mut self, data: &[u8], rbuf: &mut [u8], check: bool) -> usize {
        let (mut off, mut got, mut idle) = (0, 0, 0);
        while got < data.len() {
            let mut wrote = 0;
            if off < data.len() {
                match self.c.ssl_write(&data[off..]) {
                    Ok(n) => wrote = n,
                    Err(e) if e.code() == ErrorCode::WANT_WRITE => {}
                    Err(e) => panic!("openssl write: {e}"),
                }
                off += wrote;
            }
            let before = got;
            loop {
                match self.s.ssl_read(rbuf) {
                    Ok(n) => {
                        if check {
                            assert_eq!(&rbuf[..n], &data[got..got + n]);
                        }
                        got += n;
                    }
                    Err(e) if e.code() == ErrorCode::WANT_READ => break,
                    Err(e) => panic!("openssl read: {e}"),
                }
            }
            crate::no_stall(&mut idle, !(wrote == 0 && got == before), "openssl");
        }
        assert_eq!(got, data.len());
        got
    }

    fn trim(&mut self) {
        self.c.get_ref().tx.borrow_mut().shrink_to_fit();
        self.c.get_ref().rx.borrow_mut().shrink_to_fit();
    }
}

/// The socket rows: the same contexts, `SslStream` on a blocking `TcpStream`.
pub struct Sockets(Ossl);

pub fn sockets(pki: &Pki, p: Params) -> Result<Arc<dyn SockEngine>, String> {
    Ok(Arc::new(Sockets(build(pki, p)?)))
}

impl Sockets {
    /// Version, suite and a full handshake (the server has only the row's group).
    fn check(&self, s: &SslStream<TcpStream>, what: &str) -> Result<(), String> {
        let want_ver = match self.0.p.ver {
            Ver::V12 => SslVersion::TLS1_2,
            Ver::V13 => SslVersion::TLS1_3,
        };
        let suite = s.ssl().current_cipher().and_then(|c| c.standard_name());
        let want = crate::iana_name(self.0.p.suite_id());
        if s.ssl().version2() != Some(want_ver) || suite != Some(want) || s.ssl().session_reused() {
            return Err(format!(
                "{what}: negotiated {:?} {suite:?}, reused {}",
                s.ssl().version_str(),
                s.ssl().session_reused()
            ));
        }
        Ok(())
    }
}

impl SockEngine for Sockets {
    fn client(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        let e = |e: openssl::error::ErrorStack| e.to_string();
        let mut ssl = Ssl::new(&self.0.client).map_err(e)?;
        ssl.set_hostname("localhost").map_err(e)?;
        ssl.param_mut().set_host("localhost").map_err(e)?;
        let s = ssl.connect(sock).map_err(|e| e.to_string())?;
        self.check(&s, "client")?;
        Ok(Box::new(s))
    }

    fn server(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        let ssl = Ssl::new(&self.0.server).map_err(|e| e.to_string())?;
        let s = ssl.accept(sock).map_err(|e| e.to_string())?;
        self.check(&s, "server")?;
        Ok(Box::new(s))
    }
}

impl SockConn for SslStream<TcpStream> {
    fn write_all(&mut self, data: &[u8]) -> Result<(), String> {
        Write::write_all(self, data).map_err(|e| e.to_string())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        match self.ssl_read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => Ok(0),
            Err(e) => Err(e.to_string()),
        }
    }

    fn close(&mut self) -> Result<(), String> {
        self.shutdown().map(|_| ()).map_err(|e| e.to_string())
    }

    fn socket(&self) -> &TcpStream {
        self.get_ref()
    }
}
