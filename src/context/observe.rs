//! The message observer: every protocol message and record header as it crosses the wire,
//! with its raw bytes, for a layer that offers OpenSSL's `SSL_set_msg_callback` (what
//! `openssl s_client -msg` prints). Where the trace tells a reader what happened in words,
//! this hands over the bytes; both are reported from the same places.
//!
//! The `version` of each report follows what OpenSSL 3.0 passes its callback, checked with
//! `openssl s_client -msg` against `openssl s_server`:
//! - a record header: the version its bytes carry (0x0301 in the first ClientHello's record,
//!   0x0303 after);
//! - a TLS 1.3 inner content type: 0x0303 (the record's version) when sent, 0x0304 when
//!   received;
//! - a handshake message, alert or ChangeCipherSpec: the negotiated version; before it is
//!   known, a client's highest enabled version and a server's highest supported one (0x0304),
//!   so a ClientHello is reported as TLS 1.3 even if TLS 1.2 is chosen later.
//!
//! Application data is never handed over: its records show as headers (and, in TLS 1.3,
//! inner content types) only, as in OpenSSL. Unlike OpenSSL 3.0, a received
//! ChangeCipherSpec is reported too (OpenSSL 1.1.1 did so; 3.0 reports only its header).

/// One protocol message or record header, as it crosses the wire (for OpenSSL's msg
/// callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireMessage<'a> {
    /// True: we sent it; false: we received it.
    pub sent: bool,
    /// The protocol version it belongs to, as OpenSSL reports it (see the module docs):
    /// 0x0304 for TLS 1.3 messages although their records say 0x0303.
    pub version: u16,
    /// The content type: 20 ChangeCipherSpec, 21 alert, 22 handshake,
    /// [`WireMessage::HEADER`] (a record header) or [`WireMessage::INNER_CONTENT_TYPE`].
    pub content_type: u16,
    /// A handshake message with its 4-byte header; an alert's 2 bytes; a ChangeCipherSpec's
    /// 1 byte; a record header's 5 bytes; an inner content type's 1 byte.
    pub bytes: &'a [u8],
}

impl WireMessage<'_> {
    /// `content_type` of a ChangeCipherSpec message.
    pub const CHANGE_CIPHER_SPEC: u16 = 20;
    /// `content_type` of an alert.
    pub const ALERT: u16 = 21;
    /// `content_type` of a handshake message.
    pub const HANDSHAKE: u16 = 22;
    /// `content_type` of a 5-byte record header (OpenSSL's `SSL3_RT_HEADER`).
    pub const HEADER: u16 = 0x100;
    /// `content_type` of the 1-byte inner content type of a TLS 1.3 protected record
    /// (OpenSSL's `SSL3_RT_INNER_CONTENT_TYPE`).
    pub const INNER_CONTENT_TYPE: u16 = 0x101;
}

/// A message observer for one connection.
pub type MessageFn = Box<dyn FnMut(&WireMessage<'_>) + Send>;

/// Report queued plaintext records (`out`, whole records) as if observed while they were
/// written: each record's header, then every handshake message, alert or ChangeCipherSpec
/// completed by it, with `version`. For the flight a client constructor queues before an
/// observer can be installed; anything after the last whole record is ignored.
pub(crate) fn replay_plaintext(observer: &mut MessageFn, out: &[u8], version: u16) {
    const HDR: usize = crate::record::header::TLS_HEADER_LEN;
    let mut handshake = Vec::new();
    let mut rest = out;
    while let Some(header) = rest.first_chunk::<HDR>() {
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some(body) = rest.get(HDR..HDR + len) else {
            break;
        };
        observer(&WireMessage {
            sent: true,
            version: u16::from_be_bytes([header[1], header[2]]),
            content_type: WireMessage::HEADER,
            bytes: header,
        });
        let typ = u16::from(header[0]);
        if typ == WireMessage::HANDSHAKE {
            // A message may span records (a ClientHello above 16 KiB): report it whole, once
            // the record that completes it has been reported.
            handshake.extend_from_slice(body);
            let mut done = 0;
            while let Some(h) = handshake[done..].first_chunk::<4>() {
                let end = done
                    + 4
                    + (usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]));
                let Some(msg) = handshake.get(done..end) else {
                    break;
                };
                observer(&WireMessage {
                    sent: true,
                    version,
                    content_type: WireMessage::HANDSHAKE,
                    bytes: msg,
                });
                done = end;
            }
            handshake.drain(..done);
        } else {
            observer(&WireMessage {
                sent: true,
                version,
                content_type: typ,
                bytes: body,
            });
        }
        rest = &rest[HDR + len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<(u16, u16, Vec<u8>)>>>;

    fn recorder() -> (Log, MessageFn) {
        let log: Log = Arc::default();
        let l = log.clone();
        let f: MessageFn = Box::new(move |m: &WireMessage<'_>| {
            l.lock()
                .unwrap()
                .push((m.version, m.content_type, m.bytes.to_vec()));
        });
        (log, f)
    }

    #[test]
    fn replay_joins_a_message_split_across_records_and_reports_it_after_its_headers() {
        let msg = [1u8, 0, 0, 3, 0xaa, 0xbb, 0xcc];
        let mut out = vec![22, 3, 1, 0, 5];
        out.extend_from_slice(&msg[..5]);
        out.extend_from_slice(&[22, 3, 1, 0, 2]);
        out.extend_from_slice(&msg[5..]);
        out.extend_from_slice(&[21, 3, 3, 0, 2, 1, 0]);
        out.extend_from_slice(&[22, 3, 3, 0, 9]); // incomplete: ignored
        let (log, mut f) = recorder();
        replay_plaintext(&mut f, &out, 0x0304);
        let log = log.lock().unwrap();
        let got: Vec<_> = log.iter().map(|(v, t, b)| (*v, *t, b.as_slice())).collect();
        assert_eq!(
            got,
            vec![
                (0x0301, WireMessage::HEADER, &[22u8, 3, 1, 0, 5][..]),
                (0x0301, WireMessage::HEADER, &[22, 3, 1, 0, 2][..]),
                (0x0304, WireMessage::HANDSHAKE, &msg[..]),
                (0x0303, WireMessage::HEADER, &[21, 3, 3, 0, 2][..]),
                (0x0304, WireMessage::ALERT, &[1, 0][..]),
            ]
        );
    }
}
