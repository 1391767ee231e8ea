//! ferrotls through its Rust API.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use ferrotls::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use ferrotls::config::{Config, ConfigBuilder, Role};
use ferrotls::conn::Connection;

use crate::sockets::{SockConn, SockEngine};
use crate::{Conn, Engine, Params, Pki, Ver};

pub struct Ferro {
    client: Arc<Config>,
    server: Arc<Config>,
    p: Params,
}

fn version(v: Ver) -> ProtocolVersion {
    match v {
        Ver::V12 => ProtocolVersion::TLSv1_2,
        Ver::V13 => ProtocolVersion::TLSv1_3,
    }
}

pub fn new(pki: &Pki, p: Params) -> Result<Box<dyn Engine>, String> {
    let eng = build(pki, p)?;
    if p.resume {
        eng.run(false)?; // prime the client's session cache with a full handshake
    }
    eng.handshake()?; // a failure here means "not supported yet", not a number
    Ok(Box::new(eng))
}

fn build(pki: &Pki, p: Params) -> Result<Ferro, String> {
    let e = |e: ferrotls::error::Error| e.to_string();
    let v = version(p.ver);
    let suite = CipherSuite::from(p.suite_id());
    let id = pki.identity(p.key);
    let mut s = ConfigBuilder::new(Role::Server);
    s.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
        .map_err(e)?;
    let mut c = ConfigBuilder::new(Role::Client);
    c.add_roots_pem(pki.ca_pem.as_bytes()).map_err(e)?;
    c.set_verified_chain_cache(!p.cold_cache);
    // Like the rustls and OpenSSL setups: the server keeps no session cache (stateless
    // tickets only), and full-handshake clients do not resume.
    s.set_session_cache(0).map_err(e)?;
    // One TLS 1.3 ticket per handshake, as every server here is set to (the default is 2).
    s.set_tls13_tickets(1).map_err(e)?;
    if !p.resume {
        c.set_session_cache(0).map_err(e)?;
    }
    // Pinned on both sides: the default groups put X25519MLKEM768 first (and a default
    // client sends two key shares), so the X25519 rows must not rely on them.
    for b in [&mut s, &mut c] {
        b.set_versions(v, v).map_err(e)?;
        b.set_cipher_suites(&[suite]).map_err(e)?;
        b.set_groups(&[NamedGroup::from(p.group.id())]).map_err(e)?;
    }
    // The client lists P-256 after X25519 (one key share, for X25519): a TLS 1.2 server may
    // use a P-256 certificate only if the client lists that curve (RFC 8422 §5.1).
    if p.group.id() == 0x001d {
        c.set_groups(&[NamedGroup::X25519, NamedGroup::secp256r1])
            .map_err(e)?;
        c.set_key_share_count(1).map_err(e)?;
    }
    Ok(Ferro {
        client: c.build().map_err(e)?,
        server: s.build().map_err(e)?,
        p,
    })
}

/// Resumed handshakes: the client config's session cache holds the ticket (TLS 1.3) or the
/// session (TLS 1.2) from the previous handshake; every handshake asserts it resumed.
pub fn resumption(pki: &Pki, p: Params) -> Option<Box<dyn Engine>> {
    new(pki, p).ok()
}

pub struct Pair {
    c: Connection,
    s: Connection,
    /// Harness transport buffers (ciphertext in flight), client → server and back.
    up: Wire,
    down: Wire,
    /// Bulk through reserve/commit and recv_buffer/commit_received ([`Params::zero_copy`]).
    zero_copy: bool,
}

/// The harness's wire: ciphertext copied out of the sender once, fed to the receiver from
/// here (the one copy rustls's `write_tls` into a `Vec` then `read_tls` makes). Reused for
/// the connection's life (also by the C ABI's pairs); `pos` is how much of `buf` the
/// receiver has taken.
#[derive(Default)]
pub struct Wire {
    pub buf: Vec<u8>,
    pub pos: usize,
}

/// Move a's pending ciphertext into b through `wire`. Returns bytes fed to b.
fn xfer(a: &mut Connection, b: &mut Connection, wire: &mut Wire) -> Result<usize, String> {
    let mut moved = 0;
    loop {
        if wire.pos == wire.buf.len() {
            wire.buf.clear();
            wire.pos = 0;
            let n = a.outgoing_len();
            if n == 0 {
                break;
            }
            wire.buf.extend_from_slice(a.peek_outgoing());
            a.consume_outgoing(n);
        }
        let n = b.feed(&wire.buf[wire.pos..]).map_err(|e| e.to_string())?;
        if n == 0 {
            break; // b's buffers are full: read first (the rest waits on the wire)
        }
        wire.pos += n;
        moved += n;
    }
    Ok(moved)
}

impl Engine for Ferro {
    fn handshake(&self) -> Result<Box<dyn Conn>, String> {
        Ok(Box::new(self.run(self.p.resume)?))
    }
}

impl Ferro {
    fn run(&self, want_resumed: bool) -> Result<Pair, String> {
        let mut c = Connection::new_client(self.client.clone(), Some("localhost"))
            .map_err(|e| e.to_string())?;
        let mut s = Connection::new_server(self.server.clone()).map_err(|e| e.to_string())?;
        let (mut up, mut down) = (Wire::default(), Wire::default());
        for _ in 0..20 {
            let a = xfer(&mut c, &mut s, &mut up)?;
            let b = xfer(&mut s, &mut c, &mut down)?;
            if a == 0 && b == 0 {
                break;
            }
        }
        if let Some(err) = c.error().or(s.error()) {
            return Err(err.to_string());
        }
        if c.is_handshaking() || s.is_handshaking() {
            return Err("handshake did not complete".into());
        }
        let group = Some(NamedGroup::from(self.p.group.id()));
        if c.protocol_version() != Some(version(self.p.ver))
            || c.cipher_suite().map(|s| s.to_int()) != Some(self.p.suite_id())
            || (!want_resumed && (c.group() != group || s.group() != group))
        {
            return Err(format!(
                "negotiated {:?} {:?} {:?}",
                c.protocol_version(),
                c.cipher_suite(),
                c.group()
            ));
        }
        if !want_resumed && c.handshake_kind() != Some(ferrotls::conn::HandshakeKind::Full) {
            return Err(format!("handshake kind {:?}", c.handshake_kind()));
        }
        let resumed = c.handshake_kind() == Some(ferrotls::conn::HandshakeKind::Resumed);
        if resumed != want_resumed {
            return Err(format!("resumed = {resumed}, wanted {want_resumed}"));
        }
        // TLS 1.3: exactly the one ticket arrived and was processed.
        if self.p.ver == Ver::V13 && c.session_serial() != 1 {
            return Err(format!("{} TLS 1.3 tickets, wanted 1", c.session_serial()));
        }
        Ok(Pair {
            c,
            s,
            up,
            down,
            zero_copy: self.p.zero_copy,
        })
    }
}

/// The zero-copy path's transport: the sender's pending ciphertext copied straight into the
/// receiver's input buffer (`recv_buffer`, then `commit_received`), the one copy a socket
/// implies at the least; no harness wire in between. Returns bytes moved.
fn xfer_in_place(a: &mut Connection, b: &mut Connection) -> Result<usize, String> {
    let mut moved = 0;
    loop {
        let out = a.peek_outgoing();
        if out.is_empty() {
            break;
        }
        let room = b.recv_buffer();
        let n = out.len().min(room.len());
        if n == 0 {
            break; // b holds records unread: read first
        }
        room[..n].copy_from_slice(&out[..n]);
        a.consume_outgoing(n);
        b.commit_received(n).map_err(|e| e.to_string())?;
        moved += n;
    }
    Ok(moved)
}

impl Conn for Pair {
    /// With [`Params::zero_copy`] the application's bytes are written straight into the
    /// reserved record (the copy an application producing data makes anyway), sealed there,
    /// copied once into the receiver's input buffer, opened there and read where they lie;
    /// otherwise `write`, the harness wire and `feed`.
    fn send(&mut self, data: &[u8], rbuf: &mut [u8], check: bool) -> usize {
        let (mut off, mut got, mut idle) = (0, 0, 0);
        while got < data.len() {
            if off < data.len() && self.zero_copy {
                let room = self.c.reserve_plaintext(data.len() - off).unwrap();
                let n = room.len();
                room.copy_from_slice(&data[off..off + n]);
                self.c.commit_plaintext(n).unwrap();
                off += n;
            } else if off < data.len() {
                off += self.c.write(&data[off..]).unwrap();
            }
            let moved = if self.zero_copy {
                xfer_in_place(&mut self.c, &mut self.s)
            } else {
                xfer(&mut self.c, &mut self.s, &mut self.up)
            }
            .unwrap();
            let before = got;
            // Zero-copy reads (peek + consume), as the rustls side uses BufRead.
            let _ = &rbuf;
            loop {
                let view = self.s.peek_plaintext();
                if view.is_empty() {
                    break;
                }
                let n = view.len();
                if check {
                    assert_eq!(view, &data[got..got + n]);
                }
                got += n;
                self.s.consume_plaintext(n).unwrap();
            }
            crate::no_stall(&mut idle, !(moved == 0 && got == before), "ferrotls");
        }
        assert_eq!(got, data.len());
        got
    }

    fn trim(&mut self) {
        self.up = Wire::default();
        self.down = Wire::default();
    }
}

/// The socket rows through the Rust API: the bench drives the sans-IO connection over a
/// blocking `TcpStream` (`read` into a reused buffer, then `feed`; `peek_outgoing` to
/// `write`), as an application without the C ABI's fd mode would.
pub struct Sockets(Ferro);

pub fn sockets(pki: &Pki, p: Params) -> Result<Arc<dyn SockEngine>, String> {
    Ok(Arc::new(Sockets(build(pki, p)?)))
}

/// Bytes read from the socket per `read` (as the C ABI's fd mode).
const RECV_CHUNK: usize = 16 * 1024 + 256;

pub struct SockPair {
    c: Connection,
    sock: TcpStream,
    inbuf: Vec<u8>,
    start: usize,
    end: usize,
    /// Writes through reserve/commit, receives into `recv_buffer` ([`Params::zero_copy`]).
    zero_copy: bool,
}

fn es(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl SockPair {
    /// Send everything waiting.
    fn flush(&mut self) -> Result<(), String> {
        while self.c.outgoing_len() > 0 {
            let n = (&self.sock).write(self.c.peek_outgoing()).map_err(es)?;
            if n == 0 {
                return Err("socket write returned 0".into());
            }
            self.c.consume_outgoing(n);
        }
        Ok(())
    }

    /// Feed what is buffered, reading from the socket first if nothing is.
    fn pull(&mut self) -> Result<(), String> {
        if self.zero_copy {
            // Straight into the engine's input buffer.
            let n = (&self.sock).read(self.c.recv_buffer()).map_err(es)?;
            if n == 0 {
                self.c.feed_eof().map_err(es)?;
                return Err("EOF from the peer".into());
            }
            return self.c.commit_received(n).map_err(es);
        }
        if self.start == self.end {
            let n = (&self.sock).read(&mut self.inbuf).map_err(es)?;
            if n == 0 {
                self.c.feed_eof().map_err(es)?;
                return Err("EOF from the peer".into());
            }
            (self.start, self.end) = (0, n);
        }
        let k = self.c.feed(&self.inbuf[self.start..self.end]).map_err(es)?;
        if k == 0 {
            return Err("the connection took no input".into());
        }
        self.start += k;
        Ok(())
    }

    fn handshake(&mut self) -> Result<(), String> {
        loop {
            self.flush()?;
            if !self.c.is_handshaking() {
                break;
            }
            self.pull()?;
        }
        if let Some(e) = self.c.error() {
            return Err(e.to_string());
        }
        Ok(())
    }
}

impl Sockets {
    fn start(&self, mut pair: SockPair) -> Result<Box<dyn SockConn>, String> {
        pair.handshake()?;
        let c = &pair.c;
        let p = self.0.p;
        let group = Some(NamedGroup::from(p.group.id()));
        if c.protocol_version() != Some(version(p.ver))
            || c.cipher_suite().map(|s| s.to_int()) != Some(p.suite_id())
            || c.group() != group
            || c.handshake_kind() != Some(ferrotls::conn::HandshakeKind::Full)
        {
            return Err(format!(
                "negotiated {:?} {:?} {:?} {:?}",
                c.protocol_version(),
                c.cipher_suite(),
                c.group(),
                c.handshake_kind()
            ));
        }
        Ok(Box::new(pair))
    }
}

impl SockEngine for Sockets {
    fn client(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        let c = Connection::new_client(self.0.client.clone(), Some("localhost")).map_err(es)?;
        self.start(SockPair::new(c, sock, self.0.p.zero_copy))
    }

    fn server(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String> {
        let c = Connection::new_server(self.0.server.clone()).map_err(es)?;
        self.start(SockPair::new(c, sock, self.0.p.zero_copy))
    }
}

impl SockPair {
    fn new(c: Connection, sock: TcpStream, zero_copy: bool) -> Self {
        SockPair {
            c,
            sock,
            inbuf: if zero_copy {
                Vec::new()
            } else {
                vec![0; RECV_CHUNK]
            },
            start: 0,
            end: 0,
            zero_copy,
        }
    }
}

impl SockConn for SockPair {
    fn write_all(&mut self, data: &[u8]) -> Result<(), String> {
        let mut off = 0;
        while off < data.len() && self.zero_copy {
            // Records sealed in place pile up in the outgoing buffer until it is full (as
            // `write` fills it), then go out in one send.
            let room = self.c.reserve_plaintext(data.len() - off).map_err(es)?;
            let n = room.len();
            if n == 0 {
                if self.c.outgoing_len() == 0 {
                    return Err("reserve gave no room with nothing to send".into());
                }
                self.flush()?;
                continue;
            }
            room.copy_from_slice(&data[off..off + n]);
            self.c.commit_plaintext(n).map_err(es)?;
            off += n;
        }
        if self.zero_copy {
            return self.flush();
        }
        while off < data.len() {
            let n = self.c.write(&data[off..]).map_err(es)?;
            if n == 0 && self.c.outgoing_len() == 0 {
                return Err("write took nothing with nothing to send".into());
            }
            off += n;
            self.flush()?;
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        use ferrotls::conn::ReadStatus;
        loop {
            match self.c.read(buf).map_err(es)? {
                ReadStatus::Data(n) => {
                    self.flush()?; // whatever reading queued (replies, none here)
                    return Ok(n);
                }
                ReadStatus::Closed => {
                    // The client read its ticket(s) before the close_notify.
                    if self.c.is_client()
                        && self.c.protocol_version() == Some(version(Ver::V13))
                        && self.c.session_serial() != 1
                    {
                        return Err(format!(
                            "{} TLS 1.3 tickets, wanted 1",
                            self.c.session_serial()
                        ));
                    }
                    return Ok(0);
                }
                ReadStatus::PeerAuthenticated => {}
                ReadStatus::WouldBlock => {
                    self.flush()?;
                    self.pull()?;
                }
            }
        }
    }

    fn close(&mut self) -> Result<(), String> {
        self.c.close();
        self.flush()
    }

    fn socket(&self) -> &TcpStream {
        &self.sock
    }
}
