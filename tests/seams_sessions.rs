//! The session seams (DESIGN.md §4a): a server session store, a client session store and a
//! ticket sealer plugged in from outside the engine, each proven to carry a resumption, and
//! each failure of one (nothing stored, a sealer that will not open) ending in a full
//! handshake rather than an error.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use ferrotls::codec::enums::ProtocolVersion;
use ferrotls::config::{Config, ConfigBuilder};
use ferrotls::conn::{Connection, HandshakeKind};
use ferrotls::session::{ClientSessionStore, ServerSessionStore, TicketKeys, TicketSealer};

const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;
const V13: ProtocolVersion = ProtocolVersion::TLSv1_3;

/// A map with counters: what an external cache looks like to the engine.
#[derive(Debug, Default)]
struct MapStore {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    puts: AtomicUsize,
    gets: AtomicUsize,
    hits: AtomicUsize,
}

impl MapStore {
    fn count(&self) -> (usize, usize, usize) {
        (
            self.puts.load(Ordering::SeqCst),
            self.gets.load(Ordering::SeqCst),
            self.hits.load(Ordering::SeqCst),
        )
    }

    fn lookup(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let v = self.map.lock().unwrap().get(key).cloned();
        if v.is_some() {
            self.hits.fetch_add(1, Ordering::SeqCst);
        }
        v
    }
}

impl ServerSessionStore for MapStore {
    fn put(&self, id: Vec<u8>, value: Vec<u8>) -> bool {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.map.lock().unwrap().insert(id, value);
        true
    }

    fn get(&self, id: &[u8]) -> Option<Vec<u8>> {
        self.lookup(id)
    }
}

impl ClientSessionStore for MapStore {
    fn put(&self, server_name: &str, session: Vec<u8>) {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.map
            .lock()
            .unwrap()
            .insert(server_name.as_bytes().to_vec(), session);
    }

    fn get(&self, server_name: &str) -> Option<Vec<u8>> {
        self.lookup(server_name.as_bytes())
    }
}

/// Wraps the built-in sealer and counts its calls; `refuse` makes `open` fail.
#[derive(Debug)]
struct CountingSealer {
    inner: TicketKeys,
    seals: AtomicUsize,
    opens: AtomicUsize,
    refuse: bool,
}

impl CountingSealer {
    fn new(refuse: bool) -> Self {
        Self {
            inner: TicketKeys::new(3600, 600),
            seals: AtomicUsize::new(0),
            opens: AtomicUsize::new(0),
            refuse,
        }
    }
}

impl TicketSealer for CountingSealer {
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.seals.fetch_add(1, Ordering::SeqCst);
        self.inner.seal(plain)
    }

    fn open(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        if self.refuse {
            return None;
        }
        self.inner.open(ticket)
    }

    fn lifetime_secs(&self) -> u32 {
        self.inner.lifetime_secs()
    }
}

fn configs(
    version: ProtocolVersion,
    edit_server: impl FnOnce(&mut ConfigBuilder),
    edit_client: impl FnOnce(&mut ConfigBuilder),
) -> (Pki, Arc<Config>, Arc<Config>) {
    let pki = Pki::new("Seams CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    sb.set_versions(version, version).unwrap();
    edit_server(&mut sb);
    let mut cb = client_builder(&pki);
    edit_client(&mut cb);
    let (c, s) = (cb.build().unwrap(), sb.build().unwrap());
    (pki, c, s)
}

/// One connection (tickets travel after the handshake, so some data goes both ways).
fn connect(client: &Arc<Config>, server: &Arc<Config>) -> (Connection, Connection) {
    let (mut c, mut s) = pair(client, server, "localhost");
    handshake(&mut c, &mut s).unwrap();
    assert_eq!(send_recv(&mut s, &mut c, b"ping"), b"ping");
    assert_eq!(send_recv(&mut c, &mut s, b"pong"), b"pong");
    (c, s)
}

fn kinds(c: &Connection, s: &Connection) -> (Option<HandshakeKind>, Option<HandshakeKind>) {
    (c.handshake_kind(), s.handshake_kind())
}

const FULL: (Option<HandshakeKind>, Option<HandshakeKind>) =
    (Some(HandshakeKind::Full), Some(HandshakeKind::Full));
const RESUMED: (Option<HandshakeKind>, Option<HandshakeKind>) =
    (Some(HandshakeKind::Resumed), Some(HandshakeKind::Resumed));

#[test]
fn tls12_session_ids_resume_through_a_custom_server_store() {
    let store = Arc::new(MapStore::default());
    let st = store.clone();
    let (_pki, client, server) = configs(
        V12,
        move |b| {
            b.set_ticket_lifetime(0).unwrap(); // session IDs only
            b.set_server_session_store(st).unwrap();
        },
        |_| {},
    );
    let (c, s) = connect(&client, &server);
    assert_eq!(kinds(&c, &s), FULL);
    // The client's ClientHello carries a random session ID (RFC 8446 Appendix D.4): looked
    // up, not found.
    assert_eq!(
        store.count(),
        (1, 1, 0),
        "one session stored, nothing found"
    );
    let stored = store.map.lock().unwrap().keys().next().cloned().unwrap();
    assert_eq!(stored.len(), 32, "keyed by a 32-byte session ID");

    for round in 1..=2 {
        let (c, s) = connect(&client, &server);
        assert_eq!(kinds(&c, &s), RESUMED, "round {round}");
    }
    assert_eq!(store.count(), (1, 3, 2), "resumed twice from the store");

    // A server configuration of its own sharing the store resumes the same session: the
    // state is outside the configuration.
    let st = store.clone();
    let mut sb = server_builder(&_pki, KeyType::P256);
    sb.set_versions(V12, V12).unwrap();
    sb.set_ticket_lifetime(0).unwrap();
    sb.set_server_session_store(st).unwrap();
    let other = sb.build().unwrap();
    let (c, s) = connect(&client, &other);
    assert_eq!(kinds(&c, &s), RESUMED);

    // An emptied store: the client's session ID is unknown, a full handshake follows.
    store.map.lock().unwrap().clear();
    let (c, s) = connect(&client, &server);
    assert_eq!(kinds(&c, &s), FULL);

    // A store that returns garbage is a full handshake too, never an error.
    for v in store.map.lock().unwrap().values_mut() {
        *v = b"not a session".to_vec();
    }
    let (c, s) = connect(&client, &server);
    assert_eq!(kinds(&c, &s), FULL);
}

#[test]
fn tls13_does_not_use_the_server_store() {
    // TLS 1.3 tickets are stateless (sealed by the ticket sealer): the store stays empty and
    // resumption still works.
    let store = Arc::new(MapStore::default());
    let st = store.clone();
    let (_pki, client, server) = configs(
        V13,
        move |b| b.set_server_session_store(st).unwrap(),
        |_| {},
    );
    let (c, s) = connect(&client, &server);
    assert_eq!(kinds(&c, &s), FULL);
    let (c, s) = connect(&client, &server);
    assert_eq!(kinds(&c, &s), RESUMED);
    assert_eq!(store.count(), (0, 0, 0));
}

#[test]
fn a_client_store_outside_the_config_carries_the_session() {
    for v in [V12, V13] {
        let store = Arc::new(MapStore::default());
        let pki = Pki::new("Seams CA");
        let mut sb = server_builder(&pki, KeyType::P256);
        sb.set_versions(v, v).unwrap();
        let server = sb.build().unwrap();
        let client_with_store = || {
            let mut cb = client_builder(&pki);
            cb.set_client_session_store(store.clone()).unwrap();
            cb.build().unwrap()
        };
        let (first, second) = (client_with_store(), client_with_store());

        let (c, s) = connect(&first, &server);
        assert_eq!(kinds(&c, &s), FULL, "{v}");
        let (puts, gets, _) = store.count();
        assert!(puts >= 1, "{v}: the store received the session");
        assert_eq!(
            gets, 1,
            "{v}: the first connection looked once and found nothing"
        );
        assert!(store.map.lock().unwrap().contains_key(&b"localhost"[..]));

        // Another configuration, no session given: it resumes from the shared store.
        let (c, s) = connect(&second, &server);
        assert_eq!(kinds(&c, &s), RESUMED, "{v}");
        assert_eq!(store.count().2, 1, "{v}: one hit");

        // A blob the store mangled is not offered: a full handshake.
        for b in store.map.lock().unwrap().values_mut() {
            let last = b.len() - 1;
            b[last] ^= 1;
        }
        let (c, s) = connect(&second, &server);
        assert_eq!(kinds(&c, &s), FULL, "{v}");
    }
}

#[test]
fn a_custom_ticket_sealer_seals_and_opens_tickets() {
    for v in [V12, V13] {
        let sealer = Arc::new(CountingSealer::new(false));
        let sl = sealer.clone();
        let (_pki, client, server) = configs(
            v,
            move |b| {
                b.set_session_cache(0).unwrap(); // TLS 1.2: tickets only
                b.set_ticket_sealer(sl).unwrap();
            },
            |_| {},
        );
        let (c, s) = connect(&client, &server);
        assert_eq!(kinds(&c, &s), FULL, "{v}");
        assert!(sealer.seals.load(Ordering::SeqCst) >= 1, "{v}: sealed");
        assert_eq!(sealer.opens.load(Ordering::SeqCst), 0, "{v}");
        let (c, s) = connect(&client, &server);
        assert_eq!(kinds(&c, &s), RESUMED, "{v}");
        assert_eq!(sealer.opens.load(Ordering::SeqCst), 1, "{v}: opened");

        // Another server configuration with the same sealer (keys rotated outside) opens
        // the tickets the first one issued.
        let sl = sealer.clone();
        let mut sb = server_builder(&_pki, KeyType::P256);
        sb.set_versions(v, v).unwrap();
        sb.set_session_cache(0).unwrap();
        sb.set_ticket_sealer(sl).unwrap();
        let other = sb.build().unwrap();
        let (c, s) = connect(&client, &other);
        assert_eq!(kinds(&c, &s), RESUMED, "{v}");
    }
}

#[test]
fn a_sealer_that_refuses_to_open_means_a_full_handshake() {
    for v in [V12, V13] {
        let sealer = Arc::new(CountingSealer::new(true));
        let sl = sealer.clone();
        let (_pki, client, server) = configs(
            v,
            move |b| {
                b.set_session_cache(0).unwrap();
                b.set_ticket_sealer(sl).unwrap();
            },
            |_| {},
        );
        let (c, s) = connect(&client, &server);
        assert_eq!(kinds(&c, &s), FULL, "{v}");
        let (c, s) = connect(&client, &server);
        assert_eq!(kinds(&c, &s), FULL, "{v}");
        assert!(
            sealer.opens.load(Ordering::SeqCst) >= 1,
            "{v}: asked to open"
        );
    }
}

#[test]
fn seams_check_their_role_and_the_sealer_lifetime() {
    #[derive(Debug)]
    struct Forever;
    impl TicketSealer for Forever {
        fn seal(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn open(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn lifetime_secs(&self) -> u32 {
            8 * 24 * 3600
        }
    }
    let pki = Pki::new("Seams CA");
    let mut cb = client_builder(&pki);
    let store = Arc::new(MapStore::default());
    assert!(cb.set_server_session_store(store.clone()).is_err());
    assert!(cb.set_ticket_sealer(Arc::new(Forever)).is_err());
    let mut sb = server_builder(&pki, KeyType::P256);
    assert!(sb.set_client_session_store(store).is_err());
    sb.set_ticket_sealer(Arc::new(Forever)).unwrap();
    let e = sb.build().err().expect("a lifetime over 7 days is refused");
    assert!(e.to_string().contains("7 days"), "{e}");
}
