//! Record protection for both directions with their sequence numbers, and the outgoing
//! queue: plaintext of any content type in, records out, split at 2^14 bytes and sealed
//! under the current key. The key schedules hand it keys; it knows no protocol version.

use crate::codec::enums::ContentType;
use crate::error::{Error, Reason};

use super::cipher::{RecordDecrypter, RecordEncrypter};
use super::deframer::{HEADER_LEN, MAX_FRAGMENT_LEN};
use super::header::Framing;

/// The least an empty outgoing buffer grows to: a full handshake's flight with a small
/// certificate chain (ServerHello to Finished, about 1 KiB with an ECDSA chain).
const FLIGHT_ROOM: usize = 1024;

/// A record being filled in place: it starts at `record` in the outgoing buffer, its
/// payload at `record + prefix`, with room for `room` bytes.
#[derive(Clone, Copy)]
struct Reservation {
    record: usize,
    prefix: usize,
    room: usize,
}

/// Why a zero-copy write could not be committed.
#[derive(Debug, PartialEq, Eq)]
pub enum CommitError {
    /// No reservation is open (never made, already committed, or given up).
    NoReservation,
    /// More bytes were committed than were reserved.
    TooLong { committed: usize, reserved: usize },
}

/// The record layer of one connection.
pub struct RecordLayer {
    framing: Framing,
    enc: Option<RecordEncrypter>,
    write_seq: u64,
    dec: Option<RecordDecrypter>,
    read_seq: u64,
    /// Bumped whenever the read keys change, so the connection can refuse a handshake
    /// message that spans a key change (RFC 8446 §5.1).
    read_epoch: u32,
    out: Vec<u8>,
    out_start: usize,
    /// An open zero-copy write ([`RecordLayer::reserve`]), not yet committed.
    reserved: Option<Reservation>,
    /// Whether the caller writes in place: then the buffer is kept when drained, for the
    /// next record.
    keep_out: bool,
    /// Record-layer version of outgoing plaintext records (0x0301 in the first ClientHello
    /// for compatibility with old middleboxes, RFC 8446 §5.1).
    pub plaintext_version: u16,
}

impl Default for RecordLayer {
    fn default() -> Self {
        Self::new(Framing::Tls)
    }
}

impl RecordLayer {
    /// A layer without keys, writing headers of `framing`.
    pub fn new(framing: Framing) -> Self {
        Self {
            framing,
            enc: None,
            write_seq: 0,
            dec: None,
            read_seq: 0,
            read_epoch: 0,
            out: Vec::new(),
            out_start: 0,
            reserved: None,
            keep_out: false,
            plaintext_version: 0x0303,
        }
    }

    /// Protect outgoing records from now on.
    pub fn set_encrypter(&mut self, enc: RecordEncrypter) {
        self.enc = Some(enc);
        self.write_seq = 0;
    }

    /// Decrypt incoming records from now on.
    pub fn set_decrypter(&mut self, dec: RecordDecrypter) {
        self.dec = Some(dec);
        self.read_seq = 0;
        self.read_epoch = self.read_epoch.wrapping_add(1);
    }

    /// Whether incoming records are protected.
    /// Tests: send the next protected record under this sequence number (to forge a peer's
    /// record under its real keys).
    #[cfg(test)]
    pub(crate) fn set_write_seq(&mut self, seq: u64) {
        self.write_seq = seq;
    }

    pub fn has_decrypter(&self) -> bool {
        self.dec.is_some()
    }

    /// Whether outgoing records are TLS 1.3-protected, so they carry an inner content type.
    pub fn writes_tls13(&self) -> bool {
        self.enc.as_ref().is_some_and(RecordEncrypter::is_tls13)
    }

    /// Whether incoming records are TLS 1.3-protected, so they carry an inner content type.
    pub fn reads_tls13(&self) -> bool {
        self.dec.as_ref().is_some_and(RecordDecrypter::is_tls13)
    }

    /// Changes whenever the read key does.
    pub fn read_epoch(&self) -> u32 {
        self.read_epoch
    }

    /// Whether `body` decrypts under the current read key at the current sequence number,
    /// tried on a copy: nothing changes (a rejected 0-RTT record is not counted).
    pub fn would_decrypt(&self, header: &[u8; HEADER_LEN], body: &[u8]) -> bool {
        let Some(dec) = self.dec.as_ref() else {
            return false;
        };
        let mut copy = body.to_vec();
        dec.decrypt(self.read_seq, header, &mut copy).is_ok()
    }

    /// Decrypt one record body in place; returns the real content type and the plaintext,
    /// or `None` while there is no read key.
    pub fn decrypt<'a>(
        &mut self,
        header: &[u8; HEADER_LEN],
        body: &'a mut [u8],
    ) -> Result<Option<(ContentType, &'a [u8])>, Error> {
        let Some(dec) = self.dec.as_ref() else {
            return Ok(None);
        };
        let seq = self.read_seq;
        self.read_seq = seq.checked_add(1).ok_or_else(|| {
            Error::peer(
                Reason::SequenceNumberExhausted,
                "the read sequence number would wrap",
            )
        })?;
        dec.decrypt(seq, header, body).map(Some)
    }

    /// Bytes of records waiting to be sent (not a reservation being filled).
    pub fn pending(&self) -> &[u8] {
        let end = self.reserved.map_or(self.out.len(), |r| r.record);
        &self.out[self.out_start..end]
    }

    /// `n` bytes of [`Self::pending`] were sent.
    pub fn consume(&mut self, n: usize) {
        let end = self.reserved.map_or(self.out.len(), |r| r.record);
        self.out_start = (self.out_start + n).min(end);
        if self.out_start == self.out.len() {
            // Everything was sent: free the buffer rather than keep it for an idle connection.
            // While the caller writes in place it is kept as it is, for the next record to
            // be written over the sent ones (not zeroed first: see `reserve`).
            if !self.keep_out {
                self.out = Vec::new();
                self.out_start = 0;
            }
        } else if self.out_start > 64 * 1024 && self.reserved.is_none() {
            // Far into the buffer: move the rest to the front. Never under an open
            // reservation: the caller is writing into it where it is.
            self.out.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    /// Write `payload` as records of type `typ`, split at 2^14 bytes; `on_record` sees
    /// each record's header (for the trace).
    pub fn write(
        &mut self,
        typ: ContentType,
        payload: &[u8],
        mut on_record: impl FnMut(&[u8; HEADER_LEN]),
    ) -> Result<(), Error> {
        // A record of our own goes out while the caller fills one in place: the caller's
        // is given up (its sequence number would come after this one's), and its commit
        // says so.
        self.cancel_reservation();
        self.restart_if_sent();
        if payload.is_empty() {
            return self.write_one(typ, payload, &mut on_record);
        }
        // Room for every record at once: one allocation rather than a doubling series.
        let full = payload.len() / MAX_FRAGMENT_LEN;
        let rest = payload.len() % MAX_FRAGMENT_LEN;
        let need = match &self.enc {
            Some(enc) => {
                full * enc.encrypted_len(MAX_FRAGMENT_LEN)
                    + if rest > 0 { enc.encrypted_len(rest) } else { 0 }
            }
            None => (full + usize::from(rest > 0)) * self.framing.header_len() + payload.len(),
        };
        if self.out.capacity() == 0 {
            // A new flight (the buffer is freed once sent): room for the messages that
            // usually follow this one too, so a handshake flight is one allocation.
            self.out.reserve(need.max(FLIGHT_ROOM));
        } else {
            self.out.reserve(need);
        }
        for chunk in payload.chunks(MAX_FRAGMENT_LEN) {
            self.write_one(typ, chunk, &mut on_record)?;
        }
        Ok(())
    }

    /// Everything before was sent (the memory kept for writes in place): records written
    /// from here start over at the front. Once per `write`, before its records.
    fn restart_if_sent(&mut self) {
        if self.out_start == self.out.len() {
            self.out.clear();
            self.out_start = 0;
        }
    }

    /// The bytes before a record's payload: its header, and TLS 1.2 GCM's explicit nonce.
    fn prefix_len(&self) -> usize {
        self.enc
            .as_ref()
            .map_or(self.framing.header_len(), RecordEncrypter::prefix_len)
    }

    /// Zero-copy write: room for up to `len` bytes of plaintext (at most one record's 2^14)
    /// where the record will be sealed, so the caller writes its data straight into the
    /// outgoing record. Replaces any earlier reservation not committed. The buffer is kept
    /// between records from now on (not freed and allocated again per record);
    /// [`Self::release`] gives it back.
    pub fn reserve(&mut self, len: usize) -> &mut [u8] {
        self.cancel_reservation();
        self.keep_out = true;
        let len = len.min(MAX_FRAGMENT_LEN);
        let prefix = self.prefix_len();
        let record = if self.out_start == self.out.len() {
            // Everything before was sent: start over at the front of the same memory, and
            // hand out the bytes of the records sent there as they are (already initialised:
            // zeroing 16 KiB per record first costs a tenth of sealing it). They were sent,
            // so the caller sees nothing it was not meant to.
            self.out.truncate(prefix + len);
            self.out_start = 0;
            0
        } else {
            self.out.len()
        };
        let total = self
            .enc
            .as_ref()
            .map_or(prefix + len, |e| e.encrypted_len(len));
        self.out.reserve(total);
        self.out.resize(record + prefix + len, 0);
        self.reserved = Some(Reservation {
            record,
            prefix,
            room: len,
        });
        &mut self.out[record + prefix..]
    }

    /// Seal the first `n` bytes of the reservation as one record of type `typ` (0 gives it
    /// up and sends nothing).
    pub fn commit(
        &mut self,
        typ: ContentType,
        n: usize,
        mut on_record: impl FnMut(&[u8; HEADER_LEN]),
    ) -> Result<Result<(), CommitError>, Error> {
        let Some(r) = self.reserved.take() else {
            return Ok(Err(CommitError::NoReservation));
        };
        if n > r.room {
            self.reserved = Some(r);
            return Ok(Err(CommitError::TooLong {
                committed: n,
                reserved: r.room,
            }));
        }
        if n == 0 {
            self.out.truncate(r.record);
            return Ok(Ok(()));
        }
        self.out.truncate(r.record + r.prefix + n);
        self.seal_at(typ, r.record, &mut on_record)?;
        Ok(Ok(()))
    }

    /// Give up an open reservation: its bytes leave the outgoing buffer.
    pub fn cancel_reservation(&mut self) {
        if let Some(r) = self.reserved.take() {
            self.out.truncate(r.record);
        }
    }

    /// Give the outgoing buffer back if nothing waits in it (an idle connection that wrote
    /// in place keeps no memory).
    pub fn release(&mut self) {
        self.keep_out = false;
        if self.reserved.is_none() && self.out_start == self.out.len() {
            self.out = Vec::new();
            self.out_start = 0;
        }
    }

    fn write_one(
        &mut self,
        typ: ContentType,
        fragment: &[u8],
        on_record: &mut impl FnMut(&[u8; HEADER_LEN]),
    ) -> Result<(), Error> {
        let start = self.out.len();
        self.out.resize(start + self.prefix_len(), 0);
        self.out.extend_from_slice(fragment);
        self.seal_at(typ, start, on_record)
    }

    /// Turn `out[start..]` (room for the prefix, then the payload) into one record: sealed
    /// under the write key at the next sequence number, or framed as plaintext before keys.
    fn seal_at(
        &mut self,
        typ: ContentType,
        start: usize,
        on_record: &mut impl FnMut(&[u8; HEADER_LEN]),
    ) -> Result<(), Error> {
        match self.enc.as_ref() {
            Some(enc) => {
                let seq = self.write_seq;
                self.write_seq = seq.checked_add(1).ok_or_else(|| {
                    Error::peer(
                        Reason::SequenceNumberExhausted,
                        "the write sequence number would wrap",
                    )
                })?;
                enc.seal_in_place(seq, typ, &mut self.out, start)?;
            }
            None => {
                let len = self.out.len() - start - self.framing.header_len();
                self.framing
                    .put_header(&mut self.out[start..], typ, self.plaintext_version, len);
            }
        }
        if let Some(raw) = self.out[start..].first_chunk::<HEADER_LEN>() {
            on_record(raw);
        }
        Ok(())
    }
}
