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

fn replay(
    st: &Setup,
    k: usize,
    mutate: &dyn Fn(&mut Vec<u8>),
) -> (Option<AlertDescription>, String) {
    let (mut c, mut s, to_server) = until_flight(st, k);
    let (sender, receiver) = if to_server {
        (&mut c, &mut s)
    } else {
        (&mut s, &mut c)
    };
    let mut flight = sender.peek_outgoing().to_vec();
    mutate(&mut flight);
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
    (err.alert_sent, err.to_string())
}

fn run(v: ProtocolVersion, mtls: bool) -> usize {
    let st = setup(v, mtls);
    let n = flights(&st);
    assert!(n >= 3, "{v}: {n} flights");
    let mut trials = 0;
    // The last flight carries only the Finished of a side that is already done; damage there
    // shows on the other side, which is the receiver here, so every flight is covered.
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
            let (alert, e) = replay(&st, k, &|f| f.truncate(cut));
            // A cut flight is a transport EOF: nothing to alert, and it says so.
            if alert.is_none() {
                assert!(
                    e.contains("closed the connection"),
                    "{v} flight {k} cut {cut}: {e}"
                );
            }
            trials += 1;
        }
        let encrypted_from = first_protected_record(v, k, &st);
        for i in positions(len, 120) {
            for bit in [0x01u8, 0x80] {
                let (alert, e) = replay(&st, k, &|f| f[i] ^= bit);
                if let Some(start) = encrypted_from
                    && in_record_body(&st, k, i, start)
                {
                    assert_eq!(
                        alert,
                        Some(AlertDescription::BadRecordMac),
                        "{v} flight {k} byte {i}: {e}"
                    );
                }
                trials += 1;
            }
        }
    }
    trials
}

/// Offset of the first protected record in flight `k`, if any: from there on, a flipped body
/// byte must fail authentication.
fn first_protected_record(v: ProtocolVersion, k: usize, st: &Setup) -> Option<usize> {
    let (c, s, to_server) = until_flight(st, k);
    let flight = if to_server {
        c.peek_outgoing().to_vec()
    } else {
        s.peek_outgoing().to_vec()
    };
    let mut off = 0;
    let mut seen_ccs = false;
    for r in split_records(&flight) {
        let protected = match v {
            ProtocolVersion::TLSv1_3 => r[0] == 23,
            _ => seen_ccs,
        };
        if protected {
            return Some(off);
        }
        seen_ccs |= r[0] == 20;
        off += r.len();
    }
    None
}

/// Whether byte `i` of flight `k` lies inside the body (not the header) of a protected record.
fn in_record_body(st: &Setup, k: usize, i: usize, start: usize) -> bool {
    if i < start {
        return false;
    }
    let (c, s, to_server) = until_flight(st, k);
    let flight = if to_server {
        c.peek_outgoing().to_vec()
    } else {
        s.peek_outgoing().to_vec()
    };
    let mut off = 0;
    for r in split_records(&flight) {
        if i >= off + 5 && i < off + r.len() && off >= start {
            return true;
        }
        off += r.len();
    }
    false
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
