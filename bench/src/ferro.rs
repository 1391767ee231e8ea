//! ferrotls through its Rust API.

use std::sync::Arc;

use ferrotls::codec::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use ferrotls::config::{Config, ConfigBuilder, Role};
use ferrotls::conn::{Connection, ReadStatus};

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
    for b in [&mut s, &mut c] {
        b.set_versions(v, v).map_err(e)?;
        b.set_cipher_suites(&[suite]).map_err(e)?;
        b.set_groups(&[NamedGroup::X25519]).map_err(e)?;
    }
    let eng = Ferro {
        client: c.build().map_err(e)?,
        server: s.build().map_err(e)?,
        p,
    };
    eng.handshake()?; // a failure here means "not supported yet", not a number
    Ok(Box::new(eng))
}

/// Resumed handshakes: WAITING FOR THE RESUMPTION API (config session cache + tickets,
/// being built on another branch). ferrotls has no session API yet, so there is nothing to
/// measure and the row prints "n/a (not yet)". Once it lands: build configs with a client
/// session cache, prime with one full handshake, and assert `handshake_kind() == Resumed`.
pub fn resumption(_pki: &Pki, _p: Params) -> Option<Box<dyn Engine>> {
    None
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
        if c.protocol_version() != Some(version(self.p.ver))
            || c.cipher_suite().map(|s| s.to_int()) != Some(self.p.suite_id())
        {
            return Err(format!(
                "negotiated {:?} {:?}",
                c.protocol_version(),
                c.cipher_suite()
            ));
        }
        Ok(Box::new(Pair { c, s }))
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
            while let ReadStatus::Data(n) = self.s.read(rbuf).unwrap() {
                if check {
                    assert_eq!(&rbuf[..n], &data[got..got + n]);
                }
                got += n;
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
