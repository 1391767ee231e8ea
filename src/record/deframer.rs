//! Bytes to records: the 5-byte record header (type, version, length) of the seed's Record
//! Protocol, checked before a single body byte is buffered.

use crate::codec::enums::{ContentType, ProtocolVersion};
use crate::error::{Error, Reason};

/// The record header length: `HH V1:V2 L1:L2`.
pub const HEADER_LEN: usize = 5;
/// Largest plaintext fragment (RFC 8446 §5.1, RFC 5246 §6.2.1).
pub const MAX_FRAGMENT_LEN: usize = 1 << 14;
/// Largest ciphertext we accept: TLS 1.2 allows 2^14 + 2048 (RFC 5246 §6.2.3); TLS 1.3
/// allows 2^14 + 256 and is checked again after the version is known.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 2048;
/// TLS 1.3's ciphertext bound (RFC 8446 §5.2).
pub const MAX_CIPHERTEXT_LEN_TLS13: usize = MAX_FRAGMENT_LEN + 256;

/// A parsed record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type.
    pub typ: ContentType,
    /// Legacy record version.
    pub version: ProtocolVersion,
    /// Body length.
    pub len: usize,
    /// The raw header (AAD for TLS 1.3).
    pub raw: [u8; HEADER_LEN],
}

/// The bulk path's test: whether `data` starts with a whole application_data record whose
/// body is at most `limit` bytes; its header and body if so. Anything else (a partial or
/// other record, or garbage) goes through the [`Deframer`], which also reports errors.
pub fn whole_application_record(data: &[u8], limit: usize) -> Option<([u8; HEADER_LEN], &[u8])> {
    let header = *data.first_chunk::<HEADER_LEN>()?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let whole = header[0] == ContentType::ApplicationData.to_int()
        && header[1] == 3
        && len <= limit
        && data.len() >= HEADER_LEN + len;
    whole.then(|| (header, &data[HEADER_LEN..HEADER_LEN + len]))
}

/// The zero-copy receive path's test: whether `data` is the beginning of an
/// application_data record (whose body is at most `limit` bytes) that has not fully arrived,
/// or too short to tell; the caller then waits for more rather than copying it anywhere.
pub fn partial_application_record(data: &[u8], limit: usize) -> bool {
    let Some(header) = data.first_chunk::<HEADER_LEN>() else {
        return data
            .first()
            .is_none_or(|&t| t == ContentType::ApplicationData.to_int());
    };
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    header[0] == ContentType::ApplicationData.to_int()
        && header[1] == 3
        && len <= limit
        && data.len() < HEADER_LEN + len
}

/// Accumulates peer bytes and yields whole records. Holds at most one maximum-size record,
/// so a peer can never make it grow beyond that.
#[derive(Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

/// What a stream that is not TLS looks like, for a precise error.
fn describe_non_tls(head: &[u8], we_are_client: bool) -> Option<String> {
    const HTTP_METHODS: [&[u8]; 8] = [
        b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"PATC", b"CONN",
    ];
    if head.starts_with(b"HTTP") {
        return Some(
            "the server answered in plaintext HTTP: it does not speak TLS on this port (try http:// or the TLS port)"
                .into(),
        );
    }
    if HTTP_METHODS.iter().any(|m| head.starts_with(m)) {
        return Some(if we_are_client {
            "the server sent plaintext HTTP request bytes instead of a TLS record".into()
        } else {
            "the client sent a plaintext HTTP request to this TLS port (use https://)".into()
        });
    }
    if head.starts_with(b"SSH-") {
        return Some("the peer speaks SSH, not TLS".into());
    }
    if head.first().is_some_and(|b| b & 0x80 != 0) && head.get(2) == Some(&1) {
        return Some("the peer sent an SSLv2-format ClientHello; SSLv2 is not supported".into());
    }
    None
}

impl Deframer {
    /// How many more bytes `feed` would take now.
    pub fn room(&self) -> usize {
        (HEADER_LEN + MAX_CIPHERTEXT_LEN).saturating_sub(self.buf.len())
    }

    /// Copy bytes of `data` up to the end of the record being assembled (never more, so the
    /// bytes after it can go the direct way); returns how many bytes were taken.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let mut taken = 0;
        if let Some(h) = data.first_chunk::<HEADER_LEN>()
            && self.buf.is_empty()
        {
            // The header is here: room for the whole record before the header is copied,
            // one allocation rather than one for the header and another for the body. At
            // least room for what this input holds (up to one record's most), so the
            // records after it in the same input (a flight) fit without regrowing.
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            let most = HEADER_LEN + MAX_CIPHERTEXT_LEN;
            self.buf
                .reserve((HEADER_LEN + len).max(data.len()).min(most));
        }
        if self.buf.len() < HEADER_LEN {
            taken = data.len().min(HEADER_LEN - self.buf.len());
            self.buf.extend_from_slice(&data[..taken]);
            if self.buf.len() < HEADER_LEN {
                return taken;
            }
        }
        let len = usize::from(u16::from_be_bytes([self.buf[3], self.buf[4]]));
        let end = (HEADER_LEN + len).min(HEADER_LEN + MAX_CIPHERTEXT_LEN);
        let n = (data.len() - taken).min(end.saturating_sub(self.buf.len()));
        // The whole record at once: one allocation, not a series of doublings.
        self.buf.reserve(end.saturating_sub(self.buf.len()));
        self.buf.extend_from_slice(&data[taken..taken + n]);
        taken + n
    }

    /// Bytes buffered but not yet a whole record.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Check the header at the front, if one is complete. Errors for anything that cannot be
    /// a TLS record, so garbage is rejected after five bytes rather than after 16 KiB.
    pub fn peek_header(&self, we_are_client: bool) -> Result<Option<RecordHeader>, Error> {
        if self.buf.len() < HEADER_LEN {
            // An HTTP request or response shorter than five bytes is not worth waiting for.
            return Ok(None);
        }
        let raw: [u8; HEADER_LEN] = [
            self.buf[0],
            self.buf[1],
            self.buf[2],
            self.buf[3],
            self.buf[4],
        ];
        let typ = ContentType::from(raw[0]);
        let version = ProtocolVersion::from(u16::from_be_bytes([raw[1], raw[2]]));
        let len = usize::from(u16::from_be_bytes([raw[3], raw[4]]));
        let known = matches!(
            typ,
            ContentType::ChangeCipherSpec
                | ContentType::Alert
                | ContentType::Handshake
                | ContentType::ApplicationData
        );
        if !known || raw[1] != 0x03 {
            if let Some(what) = describe_non_tls(&self.buf, we_are_client) {
                return Err(Error::peer(Reason::NotTls, what));
            }
            if !known {
                return Err(Error::unexpected_because(
                    Reason::UnknownContentType,
                    "a record of type handshake, alert, change_cipher_spec or application_data",
                    format!(
                        "a record of unknown type {} (bytes {})",
                        raw[0],
                        crate::config::hex(&raw)
                    ),
                ));
            }
            return Err(Error::peer(
                Reason::NotTls,
                format!(
                    "record header {} has version {:#06x}, which is not TLS: the peer does not speak TLS",
                    crate::config::hex(&raw),
                    u16::from_be_bytes([raw[1], raw[2]])
                ),
            ));
        }
        if len > MAX_CIPHERTEXT_LEN {
            return Err(Error::peer(
                Reason::RecordTooLarge,
                format!("a {typ} record announces {len} bytes; the limit is {MAX_CIPHERTEXT_LEN}"),
            ));
        }
        Ok(Some(RecordHeader {
            typ,
            version,
            len,
            raw,
        }))
    }

    /// Whether the record described by `hdr` has fully arrived.
    pub fn complete(&self, hdr: &RecordHeader) -> bool {
        self.buf.len() >= HEADER_LEN + hdr.len
    }

    /// The body of the front record, mutable so it can be decrypted in place.
    pub fn body_mut(&mut self, hdr: &RecordHeader) -> &mut [u8] {
        &mut self.buf[HEADER_LEN..HEADER_LEN + hdr.len]
    }

    /// Drop the front record. The memory stays for the next record of the same batch;
    /// [`Deframer::release`] gives it back.
    pub fn discard(&mut self, hdr: &RecordHeader) {
        self.buf.drain(..HEADER_LEN + hdr.len);
    }

    /// Free the buffer when it holds nothing, so an idle connection keeps no memory.
    pub fn release(&mut self) {
        if self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_body_are_split() {
        let mut d = Deframer::default();
        assert_eq!(d.feed(&[22, 3, 1, 0, 2, 9]), 6);
        let h = d.peek_header(false).unwrap().unwrap();
        assert_eq!(h.typ, ContentType::Handshake);
        assert_eq!(h.len, 2);
        assert!(!d.complete(&h));
        d.feed(&[8]);
        assert!(d.complete(&h));
        assert_eq!(d.body_mut(&h), &[9, 8]);
        d.discard(&h);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn oversized_record_is_refused() {
        let mut d = Deframer::default();
        d.feed(&[23, 3, 3, 0x48, 0x01]);
        assert!(matches!(
            d.peek_header(false),
            Err(Error::RecordOverflow(_))
        ));
    }

    #[test]
    fn plaintext_http_is_named() {
        let mut d = Deframer::default();
        d.feed(b"GET / HTTP/1.0\r\n");
        let e = d.peek_header(false).unwrap_err();
        assert!(e.to_string().contains("plaintext HTTP"), "{e}");
        let mut d = Deframer::default();
        d.feed(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(
            d.peek_header(true)
                .unwrap_err()
                .to_string()
                .contains("does not speak TLS")
        );
    }

    #[test]
    fn buffer_is_bounded_and_stops_at_the_record_end() {
        let mut d = Deframer::default();
        let mut big = vec![0u8; 100_000];
        big[..5].copy_from_slice(&[23, 3, 3, 0xff, 0xff]);
        assert_eq!(d.feed(&big), HEADER_LEN + MAX_CIPHERTEXT_LEN);
        assert_eq!(d.feed(&big), 0);
        let mut d = Deframer::default();
        let two = [23, 3, 3, 0, 1, 7, 23, 3, 3, 0, 1, 8];
        assert_eq!(d.feed(&two), 6);
        assert_eq!(
            d.feed(&two[6..]),
            0,
            "a complete record takes no more bytes"
        );
    }
}
