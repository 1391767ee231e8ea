//! The loopback TCP rows: client and server in two threads, blocking sockets, TCP_NODELAY on
//! both ends. The server thread lives as long as the row's op; the process CPU time clock
//! counts both threads. Every library provides a [`SockEngine`].

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;

use crate::MIB;
use crate::floor::Op;

/// One end of an established TLS connection over a TCP socket.
pub trait SockConn: Send {
    /// Send all of `data` (blocking).
    fn write_all(&mut self, data: &[u8]) -> Result<(), String>;
    /// Plaintext into `buf`, blocking until some arrives; `Ok(0)` once the peer's
    /// close_notify has been read (a transport EOF without it is an error).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String>;
    /// Send close_notify.
    fn close(&mut self) -> Result<(), String>;
    /// The socket (for the harness's wait for the peer's FIN).
    fn socket(&self) -> &TcpStream;
}

/// Configured client and server of one library, over sockets.
pub trait SockEngine: Send + Sync {
    /// The client's full handshake on `sock`, checked (version, suite, group, not resumed).
    fn client(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String>;
    /// The server's full handshake on `sock`, checked likewise; its ticket is sent.
    fn server(&self, sock: TcpStream) -> Result<Box<dyn SockConn>, String>;
}

fn err(e: std::io::Error) -> String {
    e.to_string()
}

fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = l.local_addr().unwrap();
    (l, addr)
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect(addr).map_err(err)?;
    s.set_nodelay(true).map_err(err)?;
    Ok(s)
}

/// The server thread, stopped and joined when the op is dropped.
struct Server {
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake a thread blocked in accept (the handshake rows' server).
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Wait for the peer's FIN (or reset), discarding whatever comes.
fn wait_eof(mut sock: &TcpStream) {
    let mut b = [0u8; 512];
    while let Ok(n) = sock.read(&mut b) {
        if n == 0 {
            break;
        }
    }
}

/// One connection on the server side of a handshake row: accept (done by the caller),
/// handshake, ticket, close_notify, then wait for the client to close.
fn serve_handshake(e: &dyn SockEngine, sock: TcpStream) -> Result<(), String> {
    sock.set_nodelay(true).map_err(err)?;
    let mut s = e.server(sock)?;
    s.close()?;
    wait_eof(s.socket());
    Ok(())
}

/// A full handshake over a new loopback TCP connection per op: connect and accept, both
/// handshakes (checked), the server's ticket and close_notify read by the client, both
/// sockets closed; the op ends when the server thread has finished its side.
pub fn handshake_op(e: Arc<dyn SockEngine>) -> Op {
    let (listener, addr) = listen();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = channel::<Result<(), String>>();
    let thread = {
        let (e, stop) = (e.clone(), stop.clone());
        std::thread::spawn(move || {
            loop {
                let sock = listener.accept().map(|(s, _)| s);
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let r = sock.map_err(err).and_then(|s| serve_handshake(&*e, s));
                if tx.send(r).is_err() {
                    break;
                }
            }
        })
    };
    let server = Server {
        stop,
        addr,
        thread: Some(thread),
    };
    let once = move || -> Result<(), String> {
        let mut c = e.client(connect(addr)?)?;
        let mut b = [0u8; 256];
        // The ticket, then close_notify: nothing else may arrive.
        let n = c.read(&mut b)?;
        if n != 0 {
            return Err(format!("{n} bytes of unexpected application data"));
        }
        drop(c);
        rx.recv().map_err(|_| "server thread died".to_string())?
    };
    once().unwrap_or_else(|err| panic!("socket handshake failed: {err}"));
    Box::new(move || {
        let _keep = &server;
        once().unwrap_or_else(|err| panic!("socket handshake failed mid-run: {err}"));
        1
    })
}

/// The client end of a bulk row and the server thread reading.
struct Bulk {
    conn: Option<Box<dyn SockConn>>,
    done: Receiver<Result<usize, String>>,
    _server: Server,
}

impl Drop for Bulk {
    fn drop(&mut self) {
        // close_notify ends the server thread's read loop.
        if let Some(mut c) = self.conn.take() {
            let _ = c.close();
        }
    }
}

/// The server side of a bulk row: read 1 MiB at a time, comparing every byte of the
/// first, and report each MiB; a close_notify ends it.
fn serve_bulk(s: &mut dyn SockConn, data: &[u8], report: &dyn Fn(Result<usize, String>) -> bool) {
    let mut rbuf = vec![0u8; 16 * 1024];
    let mut first = true;
    loop {
        let mut got = 0;
        while got < data.len() {
            match s.read(&mut rbuf) {
                Ok(0) if got == 0 => return, // the client closed between transfers
                Ok(0) => {
                    report(Err(format!("close_notify after {got} bytes")));
                    return;
                }
                Ok(n) => {
                    if first && rbuf[..n] != data[got..got + n] {
                        report(Err(format!("wrong bytes at offset {got}")));
                        return;
                    }
                    got += n;
                }
                Err(e) => {
                    report(Err(e));
                    return;
                }
            }
        }
        first = false;
        if !report(Ok(got)) {
            return;
        }
    }
}

/// 1 MiB client → server per op on one established loopback TCP connection; the op ends
/// when the server thread has read all of it. The first transfer compares every byte.
pub fn bulk_op(e: Arc<dyn SockEngine>, data: Arc<Vec<u8>>) -> Result<Op, String> {
    let (listener, addr) = listen();
    let (tx, rx) = channel::<Result<usize, String>>();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (e, data) = (e.clone(), data.clone());
        std::thread::spawn(move || {
            let report = |r| tx.send(r).is_ok();
            let r = listener
                .accept()
                .map_err(err)
                .and_then(|(s, _)| {
                    s.set_nodelay(true).map_err(err)?;
                    Ok(s)
                })
                .and_then(|s| e.server(s));
            match r {
                Ok(mut s) => {
                    report(Ok(0)); // handshake done
                    serve_bulk(&mut *s, &data, &report);
                }
                Err(err) => {
                    report(Err(err));
                }
            }
        })
    };
    let server = Server {
        stop,
        addr,
        thread: Some(thread),
    };
    let client = e.client(connect(addr)?);
    let ready = rx.recv().map_err(|_| "server thread died".to_string())?;
    let mut conn = client?;
    ready?;
    conn.write_all(&data)?; // every byte checked by the server
    if rx.recv().map_err(|_| "server thread died".to_string())?? != data.len() {
        return Err("short transfer".into());
    }
    let mut b = Bulk {
        conn: Some(conn),
        done: rx,
        _server: server,
    };
    Ok(Box::new(move || {
        let c = b.conn.as_mut().unwrap();
        c.write_all(&data)
            .unwrap_or_else(|e| panic!("socket bulk write failed mid-run: {e}"));
        let n = b
            .done
            .recv()
            .expect("server thread died")
            .unwrap_or_else(|e| panic!("socket bulk read failed mid-run: {e}"));
        assert_eq!(n, MIB);
        n as u64
    }))
}
