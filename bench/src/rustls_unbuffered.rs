//! rustls through its unbuffered API (`rustls::unbuffered`): the caller owns both buffers,
//! the application's bytes are encrypted straight into the outgoing one and records are
//! decrypted in place in the incoming one. rustls's counterpart of ferrotls's zero-copy path,
//! so the zero-copy rows compare like with like: copy in (while encrypting), seal, one copy
//! across (the harness, into the receiver's buffer), open where it landed.

use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::pki_types::ServerName;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};

use crate::rustls_impl::Rustls;
use crate::{Conn, Engine};

/// The two ends' connection types, one call apart.
trait Unbuffered {
    type Data;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
}

/// Both impls are the one call (`process_tls_records` exists per side, not generically).
macro_rules! unbuffered {
    ($conn:ty, $data:ty) => {
        impl Unbuffered for $conn {
            type Data = $data;
            fn process<'c, 'i>(
                &'c mut self,
                incoming: &'i mut [u8],
            ) -> UnbufferedStatus<'c, 'i, $data> {
                self.process_tls_records(incoming)
            }
        }
    };
}
unbuffered!(UnbufferedClientConnection, ClientConnectionData);
unbuffered!(UnbufferedServerConnection, ServerConnectionData);

/// One end: the connection, ciphertext received (`inb[..in_len]`) and to send
/// (`out[..out_len]`). Both buffers keep their length (initialised once) and are reused.
struct End<C> {
    conn: C,
    inb: Vec<u8>,
    in_len: usize,
    out: Vec<u8>,
    out_len: usize,
}

/// What one `process_tls_records` call came to.
enum Next {
    Again,
    Blocked,
    Traffic,
}

impl<C: Unbuffered> End<C> {
    fn new(conn: C) -> Self {
        End {
            conn,
            inb: Vec::new(),
            in_len: 0,
            out: vec![0; 4096],
            out_len: 0,
        }
    }

    /// Process what was received until the connection blocks or is ready for traffic:
    /// handshake records encoded into `out`, application data handed to `on_data` where it
    /// was decrypted. Returns whether it is ready for traffic (and `data`, if any, went in:
    /// how much of it).
    fn pump(
        &mut self,
        data: &[u8],
        on_data: &mut dyn FnMut(&[u8]),
    ) -> Result<(bool, usize), String> {
        let mut written = 0;
        loop {
            let UnbufferedStatus { mut discard, state } =
                self.conn.process(&mut self.inb[..self.in_len]);
            let next = match state.map_err(|e| e.to_string())? {
                ConnectionState::ReadTraffic(mut r) => {
                    while let Some(rec) = r.next_record() {
                        let rec = rec.map_err(|e| e.to_string())?;
                        discard += rec.discard;
                        on_data(rec.payload);
                    }
                    Next::Again
                }
                ConnectionState::EncodeTlsData(mut e) => loop {
                    match e.encode(&mut self.out[self.out_len..]) {
                        Ok(n) => {
                            self.out_len += n;
                            break Next::Again;
                        }
                        Err(EncodeError::InsufficientSize(s)) => {
                            self.out.resize(self.out_len + s.required_size, 0)
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                },
                // The harness moves `out` to the peer after this call.
                ConnectionState::TransmitTlsData(t) => {
                    t.done();
                    Next::Again
                }
                ConnectionState::BlockedHandshake => Next::Blocked,
                ConnectionState::WriteTraffic(mut w) => {
                    // At most one record per call, as the other paths write.
                    let take = data.len().min(16384);
                    if take > 0 {
                        loop {
                            match w.encrypt(&data[..take], &mut self.out[self.out_len..]) {
                                Ok(n) => {
                                    self.out_len += n;
                                    written = take;
                                    break;
                                }
                                Err(EncryptError::InsufficientSize(s)) => {
                                    self.out.resize(self.out_len + s.required_size, 0)
                                }
                                Err(e) => return Err(e.to_string()),
                            }
                        }
                    }
                    Next::Traffic
                }
                other => return Err(format!("unexpected state {other:?}")),
            };
            if discard > 0 {
                self.inb.copy_within(discard..self.in_len, 0);
                self.in_len -= discard;
            }
            match next {
                Next::Again => {}
                Next::Blocked => return Ok((false, written)),
                Next::Traffic => return Ok((true, written)),
            }
        }
    }

    /// Copy what waits in `out` to the end of `to`'s received bytes (the one copy across).
    fn send_to<D: Unbuffered>(&mut self, to: &mut End<D>) -> usize {
        let n = self.out_len;
        if to.inb.len() < to.in_len + n {
            to.inb.resize(to.in_len + n, 0);
        }
        to.inb[to.in_len..to.in_len + n].copy_from_slice(&self.out[..n]);
        to.in_len += n;
        self.out_len = 0;
        n
    }
}

pub struct Pair {
    c: End<UnbufferedClientConnection>,
    s: End<UnbufferedServerConnection>,
}

pub struct UnbufferedEngine(pub Rustls);

pub fn new(eng: Rustls) -> Result<Box<dyn Engine>, String> {
    eng.handshake_unbuffered()?;
    Ok(Box::new(UnbufferedEngine(eng)))
}

impl Rustls {
    fn handshake_unbuffered(&self) -> Result<Pair, String> {
        let e = |e: rustls::Error| e.to_string();
        let name = ServerName::try_from("localhost").unwrap();
        let mut p = Pair {
            c: End::new(UnbufferedClientConnection::new(self.client.clone(), name).map_err(e)?),
            s: End::new(UnbufferedServerConnection::new(self.server.clone()).map_err(e)?),
        };
        let unexpected = &mut |_: &[u8]| panic!("application data during the handshake");
        for _ in 0..20 {
            let (c_ready, _) = p.c.pump(&[], unexpected)?;
            let a = p.c.send_to(&mut p.s);
            let (s_ready, _) = p.s.pump(&[], unexpected)?;
            let b = p.s.send_to(&mut p.c);
            if c_ready && s_ready && a == 0 && b == 0 {
                let suite =
                    p.c.conn
                        .negotiated_cipher_suite()
                        .map(|s| u16::from(s.suite()));
                if suite != Some(self.p.suite_id()) || p.c.conn.is_handshaking() {
                    return Err(format!("negotiated {suite:?}"));
                }
                return Ok(p);
            }
        }
        Err("unbuffered handshake did not complete".into())
    }
}

impl Engine for UnbufferedEngine {
    fn handshake(&self) -> Result<Box<dyn Conn>, String> {
        Ok(Box::new(self.0.handshake_unbuffered()?))
    }
}

impl Conn for Pair {
    fn send(&mut self, data: &[u8], _rbuf: &mut [u8], check: bool) -> usize {
        let (mut off, mut got, mut idle) = (0, 0, 0);
        while got < data.len() {
            let (_, n) = self
                .c
                .pump(&data[off..], &mut |_| panic!("data at the client"))
                .unwrap();
            off += n;
            let moved = self.c.send_to(&mut self.s);
            let before = got;
            self.s
                .pump(&[], &mut |view| {
                    if check {
                        assert_eq!(view, &data[got..got + view.len()]);
                    }
                    got += view.len();
                })
                .unwrap();
            crate::no_stall(
                &mut idle,
                !(moved == 0 && got == before),
                "rustls unbuffered",
            );
        }
        assert_eq!(got, data.len());
        got
    }

    fn trim(&mut self) {
        self.c.inb = Vec::new();
        self.s.inb = Vec::new();
    }
}
