//! The record header's layout, in one place: TLS's five bytes `HH V1:V2 L1:L2` (type,
//! legacy version, length; the seed's Record Protocol). The record layer writes and reads
//! headers only through [`Framing`], so DTLS's 13-byte header (epoch and a 48-bit sequence
//! number, RFC 9147 §4) is one more variant here rather than a change to every caller.

use crate::codec::enums::ContentType;

/// The record header length of TLS: `HH V1:V2 L1:L2`.
pub const TLS_HEADER_LEN: usize = 5;

/// Which header the record layer writes and expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    /// TLS (RFC 8446 §5.1, RFC 5246 §6.2.1).
    #[default]
    Tls,
}

impl Framing {
    /// Bytes of header before each record body.
    pub const fn header_len(self) -> usize {
        match self {
            Self::Tls => TLS_HEADER_LEN,
        }
    }

    /// Write a plaintext record's header (type, legacy version, body length) into the first
    /// [`Self::header_len`] bytes of `into`, which the caller set aside before the body.
    pub fn put_header(self, into: &mut [u8], typ: ContentType, version: u16, len: usize) {
        match self {
            Self::Tls => {
                debug_assert!(len <= usize::from(u16::MAX));
                let [v0, v1] = version.to_be_bytes();
                let [l0, l1] = (len as u16).to_be_bytes();
                into[..TLS_HEADER_LEN].copy_from_slice(&[typ.to_int(), v0, v1, l0, l1]);
            }
        }
    }

    /// The body length a complete header announces.
    pub fn body_len(self, header: &[u8]) -> usize {
        match self {
            Self::Tls => usize::from(u16::from_be_bytes([header[3], header[4]])),
        }
    }
}
