//! ferrotls through its Rust API.

use std::sync::Arc;

use ferrotls::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use ferrotls::config::{Config, ConfigBuilder, Role};
use ferrotls::conn::Connection;

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
    let eng = Ferro {
        client: c.build().map_err(e)?,
        server: s.build().map_err(e)?,
        p,
    };
    if p.resume {
        eng.run(false)?; // prime the client's session cache with a full handshake
    }
    eng.handshake()?; // a failure here means "not supported yet", not a number
    Ok(Box::new(eng))
}

/// Resumed handshakes: the client config's session cache holds the ticket (TLS 1.3) or the
/// session (TLS 1.2) from the previous handshake; every handshake asserts it resumed.
pub fn resumption(pki: &Pki, p: Params) -> Option<Box<dyn Engine>> {
    new(pki, p).ok()
}

pub struct Pair {
    c: Connection,
    s: Connection,
}

/// Move a's pending ciphertext into b, zero-copy (peek + consume). Returns bytes moved.
fn xfer(a: &mut Connection, b: &mut Connection) -> Result<usize, String> {
    let mut moved = 0;
    while a.outgoing_len() > 0 {
        let n = b.feed(a.peek_outgoing()).map_err(|e| e.to_string())?;
        if n == 0 {
            break; // b's buffers are full: read first
        }
        a.consume_outgoing(n);
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
        for _ in 0..20 {
            let a = xfer(&mut c, &mut s)?;
            let b = xfer(&mut s, &mut c)?;
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
        Ok(Pair { c, s })
    }
}

impl Conn for Pair {
    fn send(&mut self, data: &[u8], rbuf: &mut [u8], check: bool) -> usize {
        let (mut off, mut got, mut idle) = (0, 0, 0);
        while got < data.len() {
            if off < data.len() {
                off += self.c.write(&data[off..]).unwrap();
            }
            let moved = xfer(&mut self.c, &mut self.s).unwrap();
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
            idle = if moved == 0 && got == before {
                idle + 1
            } else {
                0
            };
            assert!(idle < 100, "ferrotls: bulk transfer stalled");
        }
        assert_eq!(got, data.len());
        got
    }
}
