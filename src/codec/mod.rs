//! The wire codec: a bounds-checked [`Reader`], the [`Codec`] trait every wire type implements,
//! and helpers for the length-prefixed vectors TLS is made of (RFC 8446 §3.4).
//!
//! Peer bytes only ever pass through a `Reader`: it never panics and never allocates more
//! than the input it was given.

pub mod alert;
pub mod enums;
pub mod extensions;
pub mod handshake;

use std::fmt;

/// Why a message could not be decoded. Every variant names the field involved so the
/// error detail can tell the user which part of which message was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidMessage {
    /// The input ended before this field was complete.
    MissingData(&'static str),
    /// Bytes were left over after this structure.
    TrailingData(&'static str),
    /// The field held a value the protocol forbids here.
    InvalidValue(&'static str),
    /// A vector was empty where the protocol requires at least one element.
    EmptyList(&'static str),
    /// The same extension appeared twice in one message (RFC 8446 §4.2).
    DuplicateExtension(u16),
    /// A length exceeds the limit we accept for this field.
    TooLarge(&'static str),
}

impl fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingData(what) => write!(f, "{what} is truncated"),
            Self::TrailingData(what) => write!(f, "{what} has unexpected trailing bytes"),
            Self::InvalidValue(what) => write!(f, "{what} has an invalid value"),
            Self::EmptyList(what) => write!(f, "{what} is empty but must not be"),
            Self::DuplicateExtension(t) => write!(f, "extension {t:#06x} appears more than once"),
            Self::TooLarge(what) => write!(f, "{what} is larger than allowed"),
        }
    }
}

impl std::error::Error for InvalidMessage {}

impl InvalidMessage {
    /// The same failure, said of the enclosing field `what` (an extension rather than one
    /// element of its list).
    pub fn relabel(self, what: &'static str) -> Self {
        match self {
            Self::MissingData(_) => Self::MissingData(what),
            Self::TrailingData(_) => Self::TrailingData(what),
            Self::InvalidValue(_) => Self::InvalidValue(what),
            Self::EmptyList(_) => Self::EmptyList(what),
            Self::TooLarge(_) => Self::TooLarge(what),
            Self::DuplicateExtension(t) => Self::DuplicateExtension(t),
        }
    }
}

/// A cursor over peer bytes. Every read is bounds-checked and returns `None` or an error
/// instead of panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    offs: usize,
}

impl<'a> Reader<'a> {
    /// Start reading `buf` from its first byte.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, offs: 0 }
    }

    /// The unread bytes, consuming them.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = &self.buf[self.offs..];
        self.offs = self.buf.len();
        rest
    }

    /// Take exactly `n` bytes, or `None` when fewer remain.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.left() < n {
            return None;
        }
        let out = &self.buf[self.offs..self.offs + n];
        self.offs += n;
        Some(out)
    }

    /// Take `n` bytes or fail naming `what`.
    pub fn take_or(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        self.take(n).ok_or(InvalidMessage::MissingData(what))
    }

    /// Whether unread bytes remain.
    pub fn any_left(&self) -> bool {
        self.offs < self.buf.len()
    }

    /// How many unread bytes remain.
    pub fn left(&self) -> usize {
        self.buf.len() - self.offs
    }

    /// How many bytes have been read.
    pub fn used(&self) -> usize {
        self.offs
    }

    /// A sub-reader over the next `len` bytes (a length-prefixed body).
    pub fn sub(&mut self, len: usize, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        self.take(len)
            .map(Reader::new)
            .ok_or(InvalidMessage::MissingData(what))
    }

    /// Fail with `TrailingData(what)` if bytes remain.
    pub fn expect_empty(&self, what: &'static str) -> Result<(), InvalidMessage> {
        if self.any_left() {
            Err(InvalidMessage::TrailingData(what))
        } else {
            Ok(())
        }
    }

    /// Read a big-endian u8.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, InvalidMessage> {
        Ok(self.take_or(1, what)?[0])
    }

    /// Read a big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, InvalidMessage> {
        let b = self.take_or(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Read a big-endian u24.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        let b = self.take_or(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// Read a big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        let b = self.take_or(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Read an opaque vector with a 1-byte length prefix (`opaque x<0..2^8-1>`).
    pub fn vec_u8(&mut self, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = usize::from(self.u8(what)?);
        self.take_or(len, what)
    }

    /// Read an opaque vector with a 2-byte length prefix.
    pub fn vec_u16(&mut self, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = usize::from(self.u16(what)?);
        self.take_or(len, what)
    }

    /// Read an opaque vector whose length prefix has the given width.
    pub fn vec_of(
        &mut self,
        width: LenWidth,
        what: &'static str,
    ) -> Result<&'a [u8], InvalidMessage> {
        match width {
            LenWidth::U8 => self.vec_u8(what),
            LenWidth::U16 => self.vec_u16(what),
            LenWidth::U24 => self.vec_u24(what),
        }
    }

    /// Read an opaque vector that must not be empty (`opaque x<1..>`); an empty one is an
    /// `EmptyList(what)` error.
    pub fn nonempty_vec(
        &mut self,
        width: LenWidth,
        what: &'static str,
    ) -> Result<&'a [u8], InvalidMessage> {
        let v = self.vec_of(width, what)?;
        if v.is_empty() {
            return Err(InvalidMessage::EmptyList(what));
        }
        Ok(v)
    }

    /// Read an opaque vector with a 3-byte length prefix.
    pub fn vec_u24(&mut self, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = self.u24(what)? as usize;
        self.take_or(len, what)
    }
}

/// A type that has a TLS wire encoding.
pub trait Codec: Sized {
    /// Append the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Decode one value from `r`, consuming exactly its encoding.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;

    /// The encoding as a fresh vector.
    fn get_encoding(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decode a value that must span all of `bytes`.
    fn read_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.expect_empty(std::any::type_name::<Self>())?;
        Ok(v)
    }
}

/// Append a big-endian u16.
pub fn put_u16(v: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian u24 (the low 24 bits of `v`).
pub fn put_u24(v: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

/// Append a big-endian u32.
pub fn put_u32(v: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// The width of a length prefix.
#[derive(Clone, Copy, Debug)]
pub enum LenWidth {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Three bytes.
    U24,
}

/// Write a length-prefixed body: `body` appends the contents, and the prefix is filled in
/// afterwards, so an encoder cannot write a length that disagrees with its body.
pub fn put_prefixed(width: LenWidth, out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    let n = match width {
        LenWidth::U8 => 1,
        LenWidth::U16 => 2,
        LenWidth::U24 => 3,
    };
    out.extend_from_slice(&[0u8; 3][..n]);
    body(out);
    let len = out.len() - at - n;
    let bytes = (len as u32).to_be_bytes();
    out[at..at + n].copy_from_slice(&bytes[4 - n..]);
}

/// Append `bytes` with a 1-byte length prefix.
pub fn put_vec_u8(bytes: &[u8], out: &mut Vec<u8>) {
    put_prefixed(LenWidth::U8, out, |o| o.extend_from_slice(bytes));
}

/// Append `bytes` with a 2-byte length prefix.
pub fn put_vec_u16(bytes: &[u8], out: &mut Vec<u8>) {
    put_prefixed(LenWidth::U16, out, |o| o.extend_from_slice(bytes));
}

/// Append `bytes` with a 3-byte length prefix.
pub fn put_vec_u24(bytes: &[u8], out: &mut Vec<u8>) {
    put_prefixed(LenWidth::U24, out, |o| o.extend_from_slice(bytes));
}

/// Encode a list of codec items under a length prefix.
pub fn put_list<T: Codec>(width: LenWidth, items: &[T], out: &mut Vec<u8>) {
    put_prefixed(width, out, |o| {
        for item in items {
            item.encode(o);
        }
    });
}

/// Decode a length-prefixed list of codec items. The list cannot hold more elements than
/// its byte length allows, so its allocation is bounded by the input.
pub fn read_list<T: Codec>(
    width: LenWidth,
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<T>, InvalidMessage> {
    let mut sub = Reader::new(r.vec_of(width, what)?);
    let mut out = Vec::new();
    while sub.any_left() {
        out.push(T::read(&mut sub)?);
    }
    Ok(out)
}

/// Like [`read_list`], but an empty list is an `EmptyList(what)` error: for the vectors the
/// RFCs declare as `<1..>`.
pub fn read_nonempty_list<T: Codec>(
    width: LenWidth,
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<T>, InvalidMessage> {
    let items = read_list(width, r, what)?;
    if items.is_empty() {
        return Err(InvalidMessage::EmptyList(what));
    }
    Ok(items)
}

/// Decode a length-prefixed list of length-prefixed opaque entries (certificates, ALPN
/// names, distinguished names, PSK binders). Every such entry in TLS is declared `<1..>`,
/// so an empty entry is an `EmptyList(what)` error; the list itself may be empty.
pub fn read_bytes_list(
    outer: LenWidth,
    inner: LenWidth,
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<Vec<u8>>, InvalidMessage> {
    let mut sub = Reader::new(r.vec_of(outer, what)?);
    let mut out = Vec::new();
    while sub.any_left() {
        let entry = sub.vec_of(inner, what)?;
        if entry.is_empty() {
            return Err(InvalidMessage::EmptyList(what));
        }
        out.push(entry.to_vec());
    }
    Ok(out)
}

/// Encode a list of opaque entries, each under an `inner` prefix, the whole under `outer`.
pub fn put_bytes_list(outer: LenWidth, inner: LenWidth, items: &[Vec<u8>], out: &mut Vec<u8>) {
    put_prefixed(outer, out, |o| {
        for item in items {
            put_prefixed(inner, o, |o| o.extend_from_slice(item));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("x").unwrap(), 0x0102);
        assert_eq!(r.u16("y"), Err(InvalidMessage::MissingData("y")));
        assert_eq!(r.u8("z").unwrap(), 3);
        assert!(!r.any_left());
        assert_eq!(r.vec_u8("v"), Err(InvalidMessage::MissingData("v")));
    }

    #[test]
    fn prefixed_lengths_are_filled_in() {
        let mut out = vec![];
        put_vec_u24(&[9; 300], &mut out);
        assert_eq!(&out[..3], &[0, 1, 44]);
        let mut r = Reader::new(&out);
        assert_eq!(r.vec_u24("b").unwrap().len(), 300);
        r.expect_empty("b").unwrap();
    }

    #[test]
    fn vector_longer_than_input_is_rejected() {
        let mut r = Reader::new(&[0, 5, 1, 2]);
        assert!(matches!(
            r.vec_u16("v"),
            Err(InvalidMessage::MissingData("v"))
        ));
    }
}
