//! The connection's input buffer: decrypted plaintext waiting to be read, and, for callers of
//! the zero-copy receive path (`Connection::recv_buffer` / `commit_received`), the peer's
//! ciphertext received straight into it and decrypted where it landed.
//!
//! One vector holds both, plaintext first:
//!
//! ```text
//! [ read ... | plaintext  | gap | ciphertext not yet opened | spare (initialised) ]
//!            plain.0      plain.1 raw.0                     raw.1            buf.len()
//! ```
//!
//! A record received here is opened in place, so its plaintext starts five bytes (its
//! header) after where the record began; the plaintext region then simply starts there.
//! That is why the connection opens the next received record only once the plaintext before
//! it was read: the two could not be one contiguous region without moving bytes, and moving
//! them is the copy this path exists to avoid.

use crate::record::deframer::{HEADER_LEN, MAX_CIPHERTEXT_LEN};

/// The most ciphertext the receive region holds: two records of the largest size TLS 1.2
/// allows, with their headers (a bound the peer cannot push past: once it is full, the
/// caller must read plaintext before receiving more).
pub const MAX_RAW: usize = 2 * (HEADER_LEN + MAX_CIPHERTEXT_LEN);

#[derive(Default)]
pub(crate) struct InBuf {
    buf: Vec<u8>,
    /// Plaintext ready to read.
    plain: (usize, usize),
    /// Received ciphertext not yet opened (`raw.0 >= plain.1`).
    raw: (usize, usize),
    /// The length of the region [`InBuf::recv_space`] last handed out, until it is
    /// committed; a commit may not claim more.
    offered: usize,
    /// Whether the caller receives here: then the memory is kept for the next record rather
    /// than freed and allocated (and zeroed) again.
    receiving: bool,
}

impl InBuf {
    pub fn plaintext(&self) -> &[u8] {
        &self.buf[self.plain.0..self.plain.1]
    }

    pub fn plaintext_len(&self) -> usize {
        self.plain.1 - self.plain.0
    }

    pub fn raw_len(&self) -> usize {
        self.raw.1 - self.raw.0
    }

    /// The received ciphertext not yet opened.
    pub fn raw(&self) -> &[u8] {
        &self.buf[self.raw.0..self.raw.1]
    }

    /// `n` bytes of plaintext were read. When nothing is left the regions start over at the
    /// front (no bytes move); the memory is kept for the next receive while ciphertext is
    /// being received here, and given back otherwise.
    pub fn consume_plaintext(&mut self, n: usize) {
        self.plain.0 = (self.plain.0 + n).min(self.plain.1);
        if self.plain.0 == self.plain.1 {
            self.plain = (self.raw.0, self.raw.0);
            if self.raw.0 == self.raw.1 {
                self.reset();
            }
        }
    }

    /// Nothing buffered: start over at the front; memory is freed unless the caller receives
    /// here (then it is reused rather than allocated and zeroed again per record).
    fn reset(&mut self) {
        self.plain = (0, 0);
        self.raw = (0, 0);
        if !self.receiving {
            self.buf = Vec::new();
        }
    }

    /// Give the memory back if nothing is buffered (an idle connection keeps none).
    pub fn release(&mut self) {
        if self.plaintext_len() == 0 && self.raw_len() == 0 {
            self.receiving = false;
            self.offered = 0;
            self.reset();
        }
    }

    /// Append plaintext that was opened elsewhere (the deframer's path). Only while no
    /// received ciphertext waits here: the connection hands that to the deframer first.
    pub fn append_plaintext(&mut self, data: &[u8]) {
        debug_assert_eq!(self.raw_len(), 0);
        self.compact();
        self.buf.truncate(self.plain.1);
        self.buf.extend_from_slice(data);
        self.plain.1 += data.len();
        self.raw = (self.plain.1, self.plain.1);
    }

    /// Move what is buffered to the front when the read part is at least half of it, so the
    /// vector does not grow without end while the reader keeps up, and bytes are moved at
    /// most about once each.
    fn compact(&mut self) {
        let start = self.plain.0;
        if start == 0 {
            return;
        }
        let end = self.raw.1.max(self.plain.1);
        if start == end {
            self.plain = (0, 0);
            self.raw = (0, 0);
        } else if start >= end / 2 {
            self.buf.copy_within(start..end, 0);
            self.plain = (0, self.plain.1 - start);
            self.raw = (self.raw.0 - start, self.raw.1 - start);
        }
    }

    /// The direct path: copy one record body to the end of the plaintext and return its
    /// place, to be opened in place and then kept with [`InBuf::keep_opened`].
    pub fn stage(&mut self, body: &[u8]) -> usize {
        debug_assert_eq!(self.raw_len(), 0);
        self.compact();
        self.buf.truncate(self.plain.1);
        let at = self.buf.len();
        self.buf.extend_from_slice(body);
        at
    }

    /// The bytes staged at `at` (or received at `at`), to be opened in place.
    pub fn bytes_mut(&mut self, at: usize, len: usize) -> &mut [u8] {
        &mut self.buf[at..at + len]
    }

    /// The bytes at `at`, read-only.
    pub fn bytes(&self, at: usize, len: usize) -> &[u8] {
        &self.buf[at..at + len]
    }

    /// Keep `len` bytes of plaintext found at `at` in a record staged by [`InBuf::stage`]:
    /// moved down to follow the plaintext already there (an explicit nonce before it, TLS
    /// 1.2 GCM, is the only distance), and the rest of the staged bytes dropped.
    pub fn keep_opened(&mut self, at: usize, len: usize) {
        let to = self.plain.1;
        if at != to {
            self.buf.copy_within(at..at + len, to);
        }
        self.plain.1 = to + len;
        self.buf.truncate(self.plain.1);
        self.raw = (self.plain.1, self.plain.1);
    }

    /// Drop bytes staged by [`InBuf::stage`] (the record was refused or handed on).
    pub fn unstage(&mut self) {
        self.buf.truncate(self.plain.1);
    }

    // --- the zero-copy receive path ---

    /// Where to receive next, at most `want` bytes, within [`MAX_RAW`] of waiting ciphertext;
    /// empty when that much waits already (read plaintext first).
    pub fn recv_space(&mut self, want: usize) -> &mut [u8] {
        let room = MAX_RAW.saturating_sub(self.raw_len());
        let want = want.min(room);
        if want == 0 {
            self.offered = 0;
            return &mut [];
        }
        if self.plaintext_len() == 0 {
            // Only ciphertext is here (usually none, or the next record's header): move it to
            // the front, so records keep landing at the start of the same memory.
            let (start, end) = self.raw;
            if start > 0 {
                self.buf.copy_within(start..end, 0);
            }
            self.raw = (0, end - start);
            self.plain = (0, 0);
        } else if self.raw.1 + want > self.buf.len() {
            // Plaintext is waiting and the room ends: move both down if what was read is
            // half of it or more (the half rule), else grow. Moving a record's plaintext to
            // win back its five header bytes would cost a copy of it per record; growing
            // stops at about two records, as nothing grows past MAX_RAW of ciphertext plus
            // the plaintext of the one record opened.
            self.compact();
        }
        let need = self.raw.1 + want;
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        self.offered = want;
        self.receiving = true;
        &mut self.buf[self.raw.1..need]
    }

    /// `n` bytes were received into the space [`InBuf::recv_space`] gave; `Err` with what it
    /// gave if that is less (nothing changes then). The space is used up either way.
    pub fn commit_raw(&mut self, n: usize) -> Result<(), usize> {
        let offered = std::mem::take(&mut self.offered);
        if n > offered {
            return Err(offered);
        }
        self.raw.1 += n;
        Ok(())
    }

    /// The first `n` bytes of waiting ciphertext were handled.
    pub fn skip_raw(&mut self, n: usize) {
        self.raw.0 = (self.raw.0 + n).min(self.raw.1);
        if self.plaintext_len() == 0 {
            self.plain = (self.raw.0, self.raw.0);
        }
        if self.raw.0 == self.raw.1 && self.plaintext_len() == 0 {
            self.reset();
        }
    }

    /// Where the waiting ciphertext starts, for a record opened in place there.
    pub fn raw_start(&self) -> usize {
        self.raw.0
    }

    /// A record received here was opened in place: its plaintext, `len` bytes at `at`, is
    /// what there is to read (only when nothing was waiting to be read, so nothing moves),
    /// and the record's `record_len` bytes leave the ciphertext.
    pub fn opened_in_place(&mut self, at: usize, len: usize, record_len: usize) {
        debug_assert_eq!(self.plaintext_len(), 0);
        debug_assert!(at >= self.raw.0 && at + len <= self.raw.0 + record_len);
        self.raw.0 += record_len;
        self.plain = (at, at + len);
        if len == 0 {
            self.consume_plaintext(0);
        }
    }

    /// Take the waiting ciphertext out (to hand to the deframer, during a handshake).
    pub fn take_raw(&mut self) -> Vec<u8> {
        let raw = self.raw().to_vec();
        self.raw = (self.plain.1, self.plain.1);
        if self.plaintext_len() == 0 {
            self.reset();
        }
        raw
    }

    /// Put back ciphertext that the deframer could not take yet, after the plaintext.
    pub fn put_back_raw(&mut self, data: &[u8]) {
        debug_assert_eq!(self.raw_len(), 0);
        if data.is_empty() {
            return;
        }
        self.compact();
        self.buf.truncate(self.plain.1);
        self.buf.extend_from_slice(data);
        self.raw = (self.plain.1, self.plain.1 + data.len());
    }

    /// How many bytes the next receive should ask for: the rest of the record that is
    /// arriving plus the next header, so records arrive one per receive and never straddle
    /// the end of the buffer (which would cost a copy to join them); a whole maximum-size
    /// record when no header is here yet.
    pub fn next_want(&self) -> usize {
        let raw = self.raw();
        let mut at = 0;
        loop {
            let rest = &raw[at..];
            let Some(h) = rest.first_chunk::<HEADER_LEN>() else {
                return HEADER_LEN + MAX_CIPHERTEXT_LEN - rest.len();
            };
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            let whole = HEADER_LEN + len;
            if rest.len() < whole {
                return whole - rest.len() + HEADER_LEN;
            }
            at += whole;
        }
    }
}
