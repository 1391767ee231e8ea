//! Real flights of both versions, replayed with every truncation and a bounded set of byte
//! flips: each must end in an error (with the alert its cause calls for), never a panic, a
//! hang or a completed handshake.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{AlertDescription, ProtocolVersion};
use ferrotls::config::{Config, VerifyMode};
use ferrotls::conn::Connection;

struct Setup {
    client: Arc<Config>,
    server: Arc<Config>,
}

fn setup(v: ProtocolVersion, mtls: bool) -> Setup {
    let pki = Pki::new("Malformed CA");
    let mut sb = server_builder(&pki, KeyType::P256);
    let mut cb = client_builder(&pki);
    if mtls {
        let id = pki.issue(&["client.test"], KeyType::P256, true);
        sb.add_roots_pem(pki.ca_pem.as_bytes()).unwrap();
        sb.set_verify_mode(VerifyMode::RequireClientCert).unwrap();
        cb.add_cert_key_pem(id.chain_pem.as_bytes(), id.key_pem.as_bytes())
            .unwrap();
    }
    for b in [&mut sb, &mut cb] {
        b.set_versions(v, v).unwrap();
        // Every trial must see the same full-handshake flights: no resumption.
        b.set_session_cache(0).unwrap();
    }
    Setup {
        client: cb.build().unwrap(),
        server: sb.build().unwrap(),
    }
}

/// A fresh pair, run until flight `k` (0 = the ClientHello) is waiting; returns the pair
/// and whether that flight goes to the server.
fn until_flight(st: &Setup, k: usize) -> (Connection, Connection, bool) {
    let (mut c, mut s) = pair(&st.client, &st.server, "localhost");
    for i in 0..k {
        if i.is_multiple_of(2) {
            transfer(&mut c, &mut s).unwrap();
        } else {
            transfer(&mut s, &mut c).unwrap();
        }
    }
    (c, s, k.is_multiple_of(2))
}

/// How many flights a handshake has, so the last index is known.
fn flights(st: &Setup) -> usize {
    let (mut c, mut s) = pair(&st.client, &st.server, "localhost");
    let mut n: usize = 0;
    loop {
        let (a, b) = if n.is_multiple_of(2) {
            (&mut c, &mut s)
        } else {
            (&mut s, &mut c)
        };
        if a.outgoing_len() == 0 {
            return n;
        }
        transfer(a, b).unwrap();
        n += 1;
    }
}

/// Positions to try: all of them for a short flight, else `max` spread evenly.
fn positions(len: usize, max: usize) -> Vec<usize> {
    if len <= max {
        (0..len).collect()
    } else {
        (0..max).map(|i| i * len / max).collect()
    }
}

/// Replay flight `k` after `mutate` changed it; `mutate` sees the real flight (lengths vary
/// between runs: ECDSA signatures are DER) and returns the alert the damage must cause, if it
/// can tell.
fn replay(
    st: &Setup,
    k: usize,
    mutate: &dyn Fn(&mut Vec<u8>) -> Option<AlertDescription>,
) -> (Option<AlertDescription>, Option<AlertDescription>, String) {
    let (mut c, mut s, to_server) = until_flight(st, k);
    let (sender, receiver) = if to_server {
        (&mut c, &mut s)
    } else {
        (&mut s, &mut c)
    };
    let mut flight = sender.peek_outgoing().to_vec();
    let expected = mutate(&mut flight);
    let mut off = 0;
    while off < flight.len() {
        match receiver.feed(&flight[off..]) {
            Ok(0) => break,
            Ok(n) => off += n,
            Err(_) => break,
        }
    }
    let _ = receiver.feed_eof();
    let err = receiver.error().unwrap_or_else(|| {
        panic!("flight {k}: the receiver finished without an error after a damaged flight")
    });
    (err.alert_sent, expected, err.to_string())
}

/// Whether byte `i` lies inside the body of a protected record of this flight.
fn in_protected_body(v: ProtocolVersion, flight: &[u8], i: usize) -> bool {
    let mut off = 0;
    let mut seen_ccs = false;
    for r in split_records(flight) {
        let protected = match v {
            ProtocolVersion::TLSv1_3 => r[0] == 23,
            _ => seen_ccs,
        };
        if protected && i >= off + 5 && i < off + r.len() {
            return true;
        }
        seen_ccs |= r[0] == 20;
        off += r.len();
    }
    false
}

fn run(v: ProtocolVersion, mtls: bool) -> usize {
    let st = setup(v, mtls);
    let n = flights(&st);
    assert!(n >= 3, "{v}: {n} flights");
    let mut trials = 0;
    for k in 0..n {
        let len = {
            let (c, s, to_server) = until_flight(&st, k);
            if to_server {
                c.outgoing_len()
            } else {
                s.outgoing_len()
            }
        };
        for cut in positions(len, 120) {
            let (alert, _, e) = replay(&st, k, &|f| {
                f.truncate(cut);
                None
            });
            // A cut flight is a transport EOF: nothing to alert, and it says so.
            if alert.is_none() {
                assert!(
                    e.contains("closed the connection"),
                    "{v} flight {k} cut {cut}: {e}"
                );
            }
            trials += 1;
        }
        for i in positions(len, 120) {
            for bit in [0x01u8, 0x80] {
                let (alert, expected, e) = replay(&st, k, &|f| {
                    let i = i.min(f.len() - 1);
                    let expect =
                        in_protected_body(v, f, i).then_some(AlertDescription::BadRecordMac);
                    f[i] ^= bit;
                    expect
                });
                if expected.is_some() {
                    assert_eq!(alert, expected, "{v} flight {k} byte {i}: {e}");
                }
                trials += 1;
            }
        }
    }
    trials
}

#[test]
fn tls13_flights() {
    let n = run(ProtocolVersion::TLSv1_3, false);
    assert!(n > 500, "{n} trials");
}

#[test]
fn tls13_flights_with_client_certificates() {
    run(ProtocolVersion::TLSv1_3, true);
}

#[test]
fn tls12_flights() {
    let n = run(ProtocolVersion::TLSv1_2, false);
    assert!(n > 500, "{n} trials");
}

#[test]
fn tls12_flights_with_client_certificates() {
    run(ProtocolVersion::TLSv1_2, true);
}
