//! Handshake messages out of handshake records: a message may span records and a record
//! may hold several messages (RFC 8446 §5.1, RFC 5246 §6.2.1). The joiner bounds what it
//! buffers by the announced message type before the body arrives.

use crate::codec::enums::HandshakeType;
use crate::error::{Error, Reason};

use super::deframer::MAX_FRAGMENT_LEN;

/// Largest handshake message we buffer (a certificate chain of several certificates fits),
/// except a ClientHello, which may be up to [`MAX_CLIENT_HELLO`].
pub const MAX_HANDSHAKE_MESSAGE: usize = 0xffff;
/// Largest ClientHello body the encoding allows: version (2), random (32), session_id
/// (1 + 32), cipher_suites (2 + 65,534), compression_methods (1 + 255) and extensions
/// (2 + 65,535). Every legal ClientHello fits, so the bound refuses only impossible ones.
pub const MAX_CLIENT_HELLO: usize = 2 + 32 + 1 + 32 + 2 + 65_534 + 1 + 255 + 2 + 65_535;

/// The largest body we buffer for a handshake message of type `typ` (its first byte).
fn limit(typ: u8) -> usize {
    if typ == HandshakeType::ClientHello.to_int() {
        MAX_CLIENT_HELLO
    } else {
        MAX_HANDSHAKE_MESSAGE
    }
}

/// Handshake bytes received but not yet a whole message.
#[derive(Default)]
pub struct HandshakeJoiner {
    buf: Vec<u8>,
}

impl HandshakeJoiner {
    /// Whether no part of a message is waiting (a key change or another content type may
    /// come only then).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Add the content of one handshake record.
    pub fn push(&mut self, content: &[u8]) -> Result<(), Error> {
        if content.is_empty() {
            return Err(Error::unexpected_because(
                Reason::EmptyHandshakeRecord,
                "a handshake record with content",
                "an empty handshake record",
            ));
        }
        let typ = self.buf.first().copied().unwrap_or(content[0]);
        let limit = limit(typ);
        if self.buf.len() + content.len() > limit + 4 + MAX_FRAGMENT_LEN {
            return Err(Error::peer(
                Reason::HandshakeMessageTooLarge,
                format!(
                    "more than {limit} bytes of incomplete {} data",
                    HandshakeType::from(typ)
                ),
            ));
        }
        self.buf.extend_from_slice(content);
        Ok(())
    }

    /// The type and body length of the message at the front, once its 4-byte header is
    /// here; a length past the type's limit is refused before its body is buffered.
    pub fn peek(&self) -> Result<Option<(HandshakeType, usize)>, Error> {
        let Some(h) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        let limit = limit(h[0]);
        if len > limit {
            return Err(Error::peer(
                Reason::HandshakeMessageTooLarge,
                format!(
                    "a {} message announces {len} bytes; the limit is {limit}",
                    HandshakeType::from(h[0])
                ),
            ));
        }
        Ok(Some((HandshakeType::from(h[0]), len)))
    }

    /// The front message (header and body) of body length `len` from [`Self::peek`], once
    /// it is whole. Usually the buffer holds exactly this message: it is taken whole, with
    /// no copy; [`Self::recycle`] brings its memory back for the next message.
    pub fn take(&mut self, len: usize) -> Option<Vec<u8>> {
        if self.buf.len() < 4 + len {
            return None;
        }
        Some(if self.buf.len() == 4 + len {
            std::mem::take(&mut self.buf)
        } else {
            self.buf.drain(..4 + len).collect()
        })
    }

    /// Give a message's buffer back once it is handled, when nothing else is waiting.
    pub fn recycle(&mut self, mut raw: Vec<u8>) {
        if self.buf.is_empty() {
            raw.clear();
            self.buf = raw;
        }
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
    fn messages_span_records_and_records_hold_several() {
        let mut j = HandshakeJoiner::default();
        j.push(&[20, 0, 0]).unwrap();
        assert_eq!(j.peek().unwrap(), None);
        j.push(&[2, 7]).unwrap();
        assert_eq!(j.peek().unwrap(), Some((HandshakeType::Finished, 2)));
        assert_eq!(j.take(2), None);
        j.push(&[8, 20, 0, 0, 0]).unwrap();
        assert_eq!(j.take(2).unwrap(), [20, 0, 0, 2, 7, 8]);
        assert_eq!(j.peek().unwrap(), Some((HandshakeType::Finished, 0)));
        assert_eq!(j.take(0).unwrap(), [20, 0, 0, 0]);
        assert!(j.is_empty());
    }

    #[test]
    fn limits_hold_before_the_body_arrives() {
        let mut j = HandshakeJoiner::default();
        j.push(&[11, 1, 0, 0]).unwrap();
        assert!(matches!(j.peek(), Err(Error::Decode(_))));
        let mut j = HandshakeJoiner::default();
        j.push(&[1, 2, 0, 0]).unwrap(); // a 128 KiB ClientHello is legal
        assert_eq!(
            j.peek().unwrap(),
            Some((HandshakeType::ClientHello, 0x20000))
        );
        assert!(matches!(
            HandshakeJoiner::default().push(&[]),
            Err(Error::UnexpectedMessage { .. })
        ));
    }
}
