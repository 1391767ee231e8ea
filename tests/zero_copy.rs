//! The zero-copy record path: plaintext written straight into the outgoing record
//! (`reserve_plaintext` / `commit_plaintext`) and ciphertext received straight into the
//! engine's input buffer (`recv_buffer` / `commit_received`), against ourselves and rustls,
//! with partial commits, oversized commits, short receives and errors mid-way.

mod common;

use std::sync::Arc;

use common::*;
use ferrotls::codec::enums::{CipherSuite, ProtocolVersion};
use ferrotls::config::Config;
use ferrotls::conn::{Connection, ReadStatus};
use ferrotls::error::{Error, Reason};

fn configs(version: ProtocolVersion, suite: Option<CipherSuite>) -> (Arc<Config>, Arc<Config>) {
    let pki = Pki::new("zero-copy CA");
    let mut s = server_builder(&pki, KeyType::P256);
    let mut c = client_builder(&pki);
    for b in [&mut s, &mut c] {
        b.set_versions(version, version).unwrap();
        if let Some(suite) = suite {
            b.set_cipher_suites(&[suite]).unwrap();
        }
    }
    (c.build().unwrap(), s.build().unwrap())
}

/// Move `a`'s waiting ciphertext into `b`'s receive buffer, at most `chunk` bytes per
/// receive (short receives), as a socket would; returns the bytes moved.
fn transfer_in_place(a: &mut Connection, b: &mut Connection, chunk: usize) -> Result<usize, Error> {
    let mut moved = 0;
    loop {
        let out = a.peek_outgoing();
        if out.is_empty() {
            return Ok(moved);
        }
        let space = b.recv_buffer();
        let n = out.len().min(space.len()).min(chunk);
        if n == 0 {
            return Ok(moved); // b is full: read first
        }
        space[..n].copy_from_slice(&out[..n]);
        a.consume_outgoing(n);
        b.commit_received(n)?;
        moved += n;
    }
}

fn handshake_in_place(c: &mut Connection, s: &mut Connection, chunk: usize) {
    for _ in 0..30 {
        let a = transfer_in_place(c, s, chunk).unwrap();
        let b = transfer_in_place(s, c, chunk).unwrap();
        if !c.is_handshaking() && !s.is_handshaking() && a == 0 && b == 0 {
            return;
        }
    }
    panic!("handshake did not finish");
}

/// A TLS 1.3 client and server (default suites), their handshake done through the
/// zero-copy path.
fn established13() -> (Connection, Connection) {
    let (cc, sc) = configs(ProtocolVersion::TLSv1_3, None);
    let (mut c, mut s) = pair(&cc, &sc, "localhost");
    handshake_in_place(&mut c, &mut s, usize::MAX);
    (c, s)
}

/// Write `data` with reserve/commit in pieces of at most `piece` bytes.
fn write_in_place(conn: &mut Connection, data: &[u8], piece: usize) -> usize {
    let mut off = 0;
    while off < data.len() {
        let want = piece.min(data.len() - off);
        let room = conn.reserve_plaintext(want).unwrap();
        if room.is_empty() {
            conn.commit_plaintext(0).unwrap();
            break;
        }
        let n = room.len();
        room.copy_from_slice(&data[off..off + n]);
        conn.commit_plaintext(n).unwrap();
        off += n;
    }
    off
}

/// Read everything readable with peek/consume.
fn drain(conn: &mut Connection, into: &mut Vec<u8>) {
    loop {
        let view = conn.peek_plaintext();
        if view.is_empty() {
            return;
        }
        let n = view.len();
        into.extend_from_slice(view);
        conn.consume_plaintext(n).unwrap();
    }
}

/// Send `data` from a to b through the zero-copy path on both ends.
fn send_in_place(a: &mut Connection, b: &mut Connection, data: &[u8], piece: usize, chunk: usize) {
    let mut got = Vec::new();
    let mut off = 0;
    for _ in 0..100_000 {
        if off < data.len() {
            off += write_in_place(a, &data[off..], piece);
        }
        transfer_in_place(a, b, chunk).unwrap();
        drain(b, &mut got);
        if got.len() == data.len() && a.outgoing_len() == 0 {
            break;
        }
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn both_directions_every_version_and_aead_with_short_receives() {
    let cases = [
        (
            ProtocolVersion::TLSv1_3,
            CipherSuite::TLS_AES_128_GCM_SHA256,
        ),
        (
            ProtocolVersion::TLSv1_3,
            CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
        ),
        (
            ProtocolVersion::TLSv1_2,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            ProtocolVersion::TLSv1_2,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ];
    let data = pattern(300_000);
    for (v, suite) in cases {
        let (cc, sc) = configs(v, Some(suite));
        for (piece, chunk) in [(16384, usize::MAX), (1000, 7), (20_000, 16_389), (1, 1)] {
            let data = if piece == 1 { &data[..3000] } else { &data[..] };
            let (mut c, mut s) = pair(&cc, &sc, "localhost");
            handshake_in_place(&mut c, &mut s, chunk);
            assert_eq!(c.protocol_version(), Some(v));
            assert_eq!(c.cipher_suite(), Some(suite));
            send_in_place(&mut c, &mut s, data, piece, chunk);
            send_in_place(&mut s, &mut c, data, piece, chunk);
        }
    }
}

#[test]
fn plaintext_is_read_where_the_record_was_received() {
    let (mut c, mut s) = established13();
    drain(&mut c, &mut Vec::new());
    let data = pattern(10_000);
    assert_eq!(write_in_place(&mut c, &data, 16384), data.len());
    let record = c.peek_outgoing().to_vec();
    c.consume_outgoing(record.len());
    let space = s.recv_buffer();
    assert!(space.len() >= record.len());
    let range = space.as_ptr_range();
    space[..record.len()].copy_from_slice(&record);
    s.commit_received(record.len()).unwrap();
    let view = s.peek_plaintext();
    assert_eq!(view, &data[..]);
    // No copy: the plaintext lies inside the memory the record was received into, just
    // after its 5-byte header.
    assert!(range.contains(&view.as_ptr()));
    assert_eq!(view.as_ptr() as usize - range.start as usize, 5);
}

#[test]
fn the_receive_buffer_asks_for_one_record_and_the_next_header() {
    let (mut c, mut s) = established13();
    let data = pattern(3 * 16384);
    write_in_place(&mut c, &data, 16384);
    // Three full records of 5 + 16384 + 1 + 16 bytes each.
    let record = 5 + 16384 + 17;
    assert_eq!(c.outgoing_len(), 3 * record);
    // Nothing here yet: a whole record's worth (the largest TLS allows) plus the next header.
    assert!(s.recv_buffer().len() >= record + 5);
    // Receive the first header alone: now exactly the rest of that record and the next header.
    let out = c.peek_outgoing()[..5].to_vec();
    s.recv_buffer()[..5].copy_from_slice(&out);
    s.commit_received(5).unwrap();
    c.consume_outgoing(5);
    assert_eq!(s.recv_buffer().len(), record - 5 + 5);
    transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    let mut got = Vec::new();
    drain(&mut s, &mut got);
    assert_eq!(got, data);
}

#[test]
fn back_pressure_when_records_wait_unread() {
    let (mut c, mut s) = established13();
    let data = pattern(10 * 16384);
    let mut off = 0;
    while off < data.len() {
        let n = write_in_place(&mut c, &data[off..], 16384);
        if n == 0 {
            break;
        }
        off += n;
    }
    // The receiver does not read: after a bounded amount, its receive buffer is empty.
    let moved = transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    assert!(
        c.outgoing_len() > 0,
        "everything fit: no back-pressure seen"
    );
    // One record opened where it lies, and at most two more (of TLS's largest size) waiting.
    let bound = (5 + 16384 + 17) + 2 * (5 + 16384 + 2048);
    assert!(moved <= bound, "{moved} bytes taken unread");
    assert!(s.recv_buffer().is_empty());
    // Reading one record's plaintext makes room again, and everything arrives in order.
    let mut got = Vec::new();
    while got.len() < off {
        transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
        drain(&mut s, &mut got);
        if off < data.len() {
            off += write_in_place(&mut c, &data[off..], 16384);
        }
    }
    assert!(got == data);
}

#[test]
fn partial_commit_and_commit_of_nothing() {
    let (mut c, mut s) = established13();
    let before = c.outgoing_len();
    let room = c.reserve_plaintext(1000).unwrap();
    assert_eq!(room.len(), 1000);
    room[..3].copy_from_slice(b"abc");
    // Nothing is waiting to be sent while the record is being filled.
    assert_eq!(c.outgoing_len(), before);
    c.commit_plaintext(3).unwrap();
    assert_eq!(c.outgoing_len(), before + 5 + 3 + 17);
    c.reserve_plaintext(500).unwrap();
    c.commit_plaintext(0).unwrap(); // gives the reservation up, sends nothing
    assert_eq!(c.outgoing_len(), before + 5 + 3 + 17);
    let mut got = Vec::new();
    transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    drain(&mut s, &mut got);
    assert_eq!(got, b"abc");
}

#[test]
fn a_reservation_holds_at_most_one_record_and_the_buffer_limit() {
    let (mut c, mut s) = established13();
    assert_eq!(c.reserve_plaintext(100_000).unwrap().len(), 16384);
    c.commit_plaintext(0).unwrap();
    // Fill the outgoing buffer (64 KiB by default) without sending: the room shrinks to
    // what is left, then to nothing.
    let mut sizes = Vec::new();
    loop {
        let room = c.reserve_plaintext(16384).unwrap();
        let n = room.len();
        sizes.push(n);
        c.commit_plaintext(n).unwrap();
        if n == 0 {
            break;
        }
    }
    assert!(sizes.len() >= 4 && sizes.len() < 10, "{sizes:?}");
    assert!(c.outgoing_len() <= 64 * 1024 + 17 * 4 + 22);
    let mut got = Vec::new();
    while c.outgoing_len() > 0 {
        transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
        drain(&mut s, &mut got);
    }
    assert_eq!(got.len(), sizes.iter().sum::<usize>());
}

#[test]
fn committing_more_than_reserved_is_refused_and_changes_nothing() {
    let (mut c, mut s) = established13();
    let room = c.reserve_plaintext(10).unwrap();
    room.copy_from_slice(b"0123456789");
    let err = c.commit_plaintext(11).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert!(err.to_string().contains("only 10 were reserved"), "{err}");
    assert!(
        c.error().is_none(),
        "a usage error must not fail the connection"
    );
    // The reservation is still open: commit what fits.
    c.commit_plaintext(10).unwrap();
    // A commit without a reservation is refused too (0 is a harmless no-op).
    assert!(matches!(c.commit_plaintext(1), Err(Error::Usage(_))));
    c.commit_plaintext(0).unwrap();
    let mut got = Vec::new();
    transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    drain(&mut s, &mut got);
    assert_eq!(got, b"0123456789");
}

#[test]
fn a_record_of_the_connections_own_gives_the_reservation_up() {
    let (mut c, mut s) = established13();
    let room = c.reserve_plaintext(100).unwrap();
    room[..5].copy_from_slice(b"lost!");
    c.key_update(false).unwrap(); // a KeyUpdate must go out before the reserved record
    let err = c.commit_plaintext(5).unwrap_err();
    assert!(
        err.to_string().contains("without an open reservation"),
        "{err}"
    );
    // The stream stays intact: the peer takes the KeyUpdate, then new data under new keys.
    assert_eq!(write_in_place(&mut c, b"after", 100), 5);
    let mut got = Vec::new();
    transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    drain(&mut s, &mut got);
    assert_eq!(got, b"after");
    assert!(s.error().is_none());
}

#[test]
fn reserved_before_the_handshake_goes_out_after_it() {
    let (cc, sc) = configs(ProtocolVersion::TLSv1_3, None);
    let (mut c, mut s) = pair(&cc, &sc, "localhost");
    let room = c.reserve_plaintext(100).unwrap();
    assert_eq!(room.len(), 100);
    room[..5].copy_from_slice(b"early");
    c.commit_plaintext(5).unwrap();
    // A reservation still open when the handshake completes is given up, not sent as zeros.
    c.reserve_plaintext(50).unwrap();
    handshake_in_place(&mut c, &mut s, usize::MAX);
    assert!(matches!(c.commit_plaintext(3), Err(Error::Usage(_))));
    let mut got = Vec::new();
    transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    drain(&mut s, &mut got);
    assert_eq!(got, b"early");
}

#[test]
fn a_tampered_record_received_in_place_fails_with_bad_record_mac() {
    let (mut c, mut s) = established13();
    write_in_place(&mut c, b"first", 100);
    write_in_place(&mut c, b"second", 100);
    let mut wire = c.peek_outgoing().to_vec();
    c.consume_outgoing(wire.len());
    let second = 5 + 5 + 17;
    wire[second + 7] ^= 1; // inside the second record's ciphertext
    let space = s.recv_buffer();
    space[..wire.len()].copy_from_slice(&wire);
    s.commit_received(wire.len()).unwrap();
    // The first record is good and read; the second is opened once the first was read.
    assert_eq!(s.peek_plaintext(), b"first");
    let err = s.consume_plaintext(5).unwrap_err();
    assert_eq!(
        err.reason(),
        Some(Reason::RecordAuthenticationFailed),
        "{err:?}"
    );
    let ce = s.error().expect("sticky error");
    assert!(ce.to_string().contains("bad_record_mac"), "{ce}");
    assert!(s.outgoing_len() > 0, "the alert is queued");
    // Sticky: later calls report the same failure.
    assert!(s.commit_received(0).is_err());
}

#[test]
fn committing_more_than_the_receive_buffer_is_refused() {
    let (cc, sc) = configs(ProtocolVersion::TLSv1_3, None);
    let (mut c, mut s) = pair(&cc, &sc, "localhost");
    let len = s.recv_buffer().len();
    let err = s.commit_received(len + 1).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    // Without a fresh recv_buffer, nothing may be committed.
    assert!(matches!(s.commit_received(1), Err(Error::Usage(_))));
    assert!(s.error().is_none());
    handshake_in_place(&mut c, &mut s, usize::MAX);
}

#[test]
fn close_notify_after_data_received_in_place() {
    let (mut c, mut s) = established13();
    write_in_place(&mut c, b"bye", 100);
    c.close();
    transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::Data(3));
    assert_eq!(&buf[..3], b"bye");
    assert_eq!(s.read(&mut buf).unwrap(), ReadStatus::Closed);
    assert!(s.received_close_notify());
}

#[test]
fn feed_and_in_place_receives_mixed_keep_their_order() {
    let (cc, sc) = configs(ProtocolVersion::TLSv1_2, None);
    let (mut c, mut s) = pair(&cc, &sc, "localhost");
    handshake(&mut c, &mut s).unwrap();
    let data = pattern(100_000);
    write_in_place(&mut c, &data[..40_000], 16384);
    let wire = c.peek_outgoing().to_vec();
    c.consume_outgoing(wire.len());
    // The first 20 000 bytes arrive in place, the rest through feed.
    let split = 20_000;
    let mut got = Vec::new();
    let mut at = 0;
    while at < split {
        let space = s.recv_buffer();
        let n = space.len().min(split - at);
        space[..n].copy_from_slice(&wire[at..at + n]);
        s.commit_received(n).unwrap();
        at += n;
    }
    while at < wire.len() {
        let n = s.feed(&wire[at..]).unwrap();
        at += n;
        drain(&mut s, &mut got);
    }
    drain(&mut s, &mut got);
    assert!(got == data[..40_000]);
}

#[test]
fn against_rustls_both_directions() {
    use std::io::{Read, Write};
    let pki = Pki::new("zero-copy rustls CA");
    let id = pki.issue(&["localhost"], KeyType::P256, false);
    let sc = server_builder(&pki, KeyType::P256).build().unwrap();
    let _ = id;
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut theirs = rustls::ClientConnection::new(
        Arc::new(cfg),
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut ours = Connection::new_server(sc).unwrap();
    let data = pattern(200_000);
    let mut got_ours = Vec::new();
    let mut got_theirs = Vec::new();
    let mut sent_ours = 0;
    let mut sent_theirs = 0;
    for _ in 0..10_000 {
        // rustls → us, received in place, in receives of at most 4000 bytes.
        let mut wire = Vec::new();
        while theirs.wants_write() {
            theirs.write_tls(&mut wire).unwrap();
        }
        let mut at = 0;
        while at < wire.len() {
            let space = ours.recv_buffer();
            if space.is_empty() {
                drain(&mut ours, &mut got_ours);
                continue;
            }
            let n = space.len().min(wire.len() - at).min(4000);
            space[..n].copy_from_slice(&wire[at..at + n]);
            ours.commit_received(n).unwrap();
            at += n;
        }
        drain(&mut ours, &mut got_ours);
        // us → rustls, written in place.
        if !ours.is_handshaking() && sent_ours < data.len() {
            sent_ours += write_in_place(&mut ours, &data[sent_ours..], 9000);
        }
        let mut buf = [0u8; 65536];
        while ours.outgoing_len() > 0 {
            let mut out = ours.peek_outgoing();
            let n = theirs.read_tls(&mut out).unwrap();
            ours.consume_outgoing(n);
            theirs.process_new_packets().unwrap();
            while let Ok(n) = theirs.reader().read(&mut buf) {
                if n == 0 {
                    break;
                }
                got_theirs.extend_from_slice(&buf[..n]);
            }
        }
        if !theirs.is_handshaking() && sent_theirs < data.len() {
            sent_theirs += theirs.writer().write(&data[sent_theirs..]).unwrap();
        }
        if got_ours.len() == data.len() && got_theirs.len() == data.len() {
            break;
        }
    }
    assert!(
        got_ours == data,
        "rustls → ferrotls: {} bytes",
        got_ours.len()
    );
    assert!(
        got_theirs == data,
        "ferrotls → rustls: {} bytes",
        got_theirs.len()
    );
}

#[test]
fn eof_behind_unread_records_counts_once_they_are_read() {
    let (mut c, mut s) = established13();
    write_in_place(&mut c, b"one", 100);
    write_in_place(&mut c, b"two", 100);
    c.close();
    let wire = c.peek_outgoing().to_vec();
    c.consume_outgoing(wire.len());
    let space = s.recv_buffer();
    space[..wire.len()].copy_from_slice(&wire);
    s.commit_received(wire.len()).unwrap();
    // The transport ends before the second record and the close_notify were opened: that
    // is a clean close, not a truncation, once they are read.
    s.feed_eof().unwrap();
    let mut got = Vec::new();
    drain(&mut s, &mut got);
    assert_eq!(got, b"onetwo");
    assert!(s.received_close_notify());
    assert!(s.error().is_none());
    assert_eq!(s.read(&mut [0u8; 8]).unwrap(), ReadStatus::Closed);
}

#[test]
fn eof_inside_a_record_received_in_place_is_a_truncation() {
    let (mut c, mut s) = established13();
    write_in_place(&mut c, b"cut short", 100);
    let wire = c.peek_outgoing().to_vec();
    let space = s.recv_buffer();
    space[..10].copy_from_slice(&wire[..10]);
    s.commit_received(10).unwrap();
    let err = s.feed_eof().unwrap_err();
    assert!(matches!(err, Error::UnexpectedEof(_)), "{err:?}");
    assert!(
        err.to_string().contains("without sending close_notify"),
        "{err}"
    );
}

/// Records written in place over the memory of records already sent (not zeroed first),
/// mixed with ordinary writes and a KeyUpdate of the connection's own, shorter and longer
/// than the records before them; and receives offered while a record's plaintext waits
/// unread (the buffer then grows rather than moving the plaintext). Every byte arrives, in
/// order, whole.
#[test]
fn in_place_writes_over_sent_records_mixed_with_ordinary_writes() {
    let (mut c, mut s) = established13();
    let data = pattern(200_000);
    let mut got = Vec::new();
    let mut off = 0;
    for (i, piece) in [16384usize, 10, 16384, 5000, 1, 16384, 300, 16384]
        .iter()
        .cycle()
        .enumerate()
    {
        if off == data.len() {
            break;
        }
        let piece = (*piece).min(data.len() - off);
        match i % 3 {
            0 | 1 => {
                off += write_in_place(&mut c, &data[off..off + piece], piece);
            }
            _ => {
                off += c.write(&data[off..off + piece]).unwrap();
            }
        }
        if i % 7 == 3 {
            c.key_update(i % 2 == 0).unwrap();
        }
        // Everything goes out, so the next reservation lands on sent records.
        while c.outgoing_len() > 0 {
            let before = c.outgoing_len();
            transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
            // Read only every other round: receives are offered with plaintext waiting.
            if i % 2 == 1 || c.outgoing_len() == before {
                drain(&mut s, &mut got);
            }
        }
        // The server answers KeyUpdates it was asked for; its records go back.
        transfer_in_place(&mut s, &mut c, usize::MAX).unwrap();
        drain(&mut c, &mut Vec::new());
    }
    for _ in 0..10 {
        transfer_in_place(&mut c, &mut s, usize::MAX).unwrap();
        drain(&mut s, &mut got);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    assert!(c.error().is_none() && s.error().is_none());
}
