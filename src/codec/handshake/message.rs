//! Handshake message framing: [`HandshakeMessage`] and the [`HandshakePayload`] body it carries.

use super::certificate::{
    CertificatePayloadTls13, CertificateRequestPayloadTls13, CertificateRequestTls12,
    DigitallySigned,
};
use super::hello::{
    ClientHelloPayload, HELLO_RETRY_REQUEST_RANDOM, HelloRetryRequestPayload, ServerHelloPayload,
    read_random,
};
use super::key_exchange::ServerKeyExchangeTls12;
use super::ticket::{NewSessionTicketTls12, NewSessionTicketTls13};
use crate::codec::enums::{HandshakeType, KeyUpdateRequest, ProtocolVersion};
use crate::codec::extensions::{ServerExtension, put_extensions, read_extensions};
use crate::codec::{
    Codec, InvalidMessage, LenWidth, Reader, put_bytes_list, put_prefixed, put_vec_u8,
    read_bytes_list,
};

/// The body of a handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakePayload {
    /// TLS 1.2 HelloRequest; empty body.
    HelloRequest,
    /// ClientHello.
    ClientHello(ClientHelloPayload),
    /// ServerHello (not a HelloRetryRequest).
    ServerHello(ServerHelloPayload),
    /// HelloRetryRequest (wire type ServerHello).
    HelloRetryRequest(HelloRetryRequestPayload),
    /// TLS 1.3 EncryptedExtensions.
    EncryptedExtensions(Vec<ServerExtension>),
    /// TLS 1.3 Certificate.
    Certificate(CertificatePayloadTls13),
    /// TLS 1.2 Certificate: a u24 list of u24-prefixed DER certificates.
    CertificateTls12(Vec<Vec<u8>>),
    /// TLS 1.3 CertificateRequest.
    CertificateRequest(CertificateRequestPayloadTls13),
    /// TLS 1.2 CertificateRequest.
    CertificateRequestTls12(CertificateRequestTls12),
    /// CertificateVerify (both versions).
    CertificateVerify(DigitallySigned),
    /// TLS 1.2 ECDHE ServerKeyExchange.
    ServerKeyExchange(ServerKeyExchangeTls12),
    /// TLS 1.2 ServerHelloDone; empty body.
    ServerHelloDone,
    /// TLS 1.2 ECDHE ClientKeyExchange: the client's point, without its u8 prefix.
    ClientKeyExchange(Vec<u8>),
    /// Finished: the raw verify_data.
    Finished(Vec<u8>),
    /// TLS 1.3 NewSessionTicket.
    NewSessionTicket(NewSessionTicketTls13),
    /// TLS 1.2 NewSessionTicket.
    NewSessionTicketTls12(NewSessionTicketTls12),
    /// TLS 1.3 KeyUpdate.
    KeyUpdate(KeyUpdateRequest),
    /// TLS 1.3 EndOfEarlyData; empty body.
    EndOfEarlyData,
    /// The synthetic message_hash that replaces ClientHello1 in the transcript after a
    /// HelloRetryRequest (RFC 8446 §4.4.1): the raw hash.
    MessageHash(Vec<u8>),
    /// A message type we do not handle, kept raw so the state machine can reject it.
    Unknown(Vec<u8>),
}

impl HandshakePayload {
    /// Append the body encoding (without the handshake header).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::HelloRequest | Self::ServerHelloDone | Self::EndOfEarlyData => {}
            Self::ClientHello(p) => p.encode(out),
            Self::ServerHello(p) => p.encode(out),
            Self::HelloRetryRequest(p) => p.encode(out),
            Self::EncryptedExtensions(exts) => put_extensions(exts, out),
            Self::Certificate(p) => p.encode(out),
            Self::CertificateTls12(certs) => {
                put_bytes_list(LenWidth::U24, LenWidth::U24, certs, out)
            }
            Self::CertificateRequest(p) => p.encode(out),
            Self::CertificateRequestTls12(p) => p.encode(out),
            Self::CertificateVerify(p) => p.encode(out),
            Self::ServerKeyExchange(p) => p.encode(out),
            Self::ClientKeyExchange(point) => put_vec_u8(point, out),
            Self::Finished(b) | Self::MessageHash(b) | Self::Unknown(b) => out.extend_from_slice(b),
            Self::NewSessionTicket(p) => p.encode(out),
            Self::NewSessionTicketTls12(p) => p.encode(out),
            Self::KeyUpdate(k) => k.encode(out),
        }
    }

    /// Decode a body of type `typ`. `tls13` selects the TLS 1.3 form of the messages
    /// whose layout differs between versions. Leaves trailing-data checks to the caller.
    fn read(typ: HandshakeType, tls13: bool, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            HandshakeType::HelloRequest => Self::HelloRequest,
            HandshakeType::ClientHello => Self::ClientHello(ClientHelloPayload::read(r)?),
            HandshakeType::ServerHello => {
                let legacy_version = ProtocolVersion::read(r)?;
                let random = read_random(r)?;
                if random == HELLO_RETRY_REQUEST_RANDOM {
                    Self::HelloRetryRequest(HelloRetryRequestPayload::read_after_random(
                        legacy_version,
                        r,
                    )?)
                } else {
                    Self::ServerHello(ServerHelloPayload::read_after_random(
                        legacy_version,
                        random,
                        r,
                    )?)
                }
            }
            HandshakeType::EncryptedExtensions => {
                Self::EncryptedExtensions(read_extensions(r, "EncryptedExtensions")?)
            }
            HandshakeType::Certificate if tls13 => {
                Self::Certificate(CertificatePayloadTls13::read(r)?)
            }
            HandshakeType::Certificate => Self::CertificateTls12(read_bytes_list(
                LenWidth::U24,
                LenWidth::U24,
                r,
                "certificate_list",
            )?),
            HandshakeType::CertificateRequest if tls13 => {
                Self::CertificateRequest(CertificateRequestPayloadTls13::read(r)?)
            }
            HandshakeType::CertificateRequest => {
                Self::CertificateRequestTls12(CertificateRequestTls12::read(r)?)
            }
            HandshakeType::CertificateVerify => Self::CertificateVerify(DigitallySigned::read(r)?),
            HandshakeType::ServerKeyExchange => {
                Self::ServerKeyExchange(ServerKeyExchangeTls12::read(r)?)
            }
            HandshakeType::ServerHelloDone => Self::ServerHelloDone,
            HandshakeType::ClientKeyExchange => Self::ClientKeyExchange(
                r.nonempty_vec(LenWidth::U8, "ClientKeyExchange point")?
                    .to_vec(),
            ),
            HandshakeType::Finished => Self::Finished(r.rest().to_vec()),
            HandshakeType::NewSessionTicket if tls13 => {
                Self::NewSessionTicket(NewSessionTicketTls13::read(r)?)
            }
            HandshakeType::NewSessionTicket => {
                Self::NewSessionTicketTls12(NewSessionTicketTls12::read(r)?)
            }
            HandshakeType::KeyUpdate => match KeyUpdateRequest::read(r)? {
                KeyUpdateRequest::Unknown(_) => {
                    return Err(InvalidMessage::InvalidValue("KeyUpdate request"));
                }
                k => Self::KeyUpdate(k),
            },
            HandshakeType::EndOfEarlyData => Self::EndOfEarlyData,
            HandshakeType::MessageHash => Self::MessageHash(r.rest().to_vec()),
            _ => Self::Unknown(r.rest().to_vec()),
        })
    }
}

/// One handshake message: its wire type and its decoded body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeMessage {
    /// The wire type (ServerHello for a HelloRetryRequest).
    pub typ: HandshakeType,
    /// The decoded body.
    pub payload: HandshakePayload,
}

impl HandshakeMessage {
    /// Decode one complete message, 4-byte header included, whose length must match the
    /// input exactly. `version` (TLSv1_3 or TLSv1_2) selects the version-specific form of
    /// Certificate, CertificateRequest and NewSessionTicket.
    pub fn read(body_with_header: &[u8], version: ProtocolVersion) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(body_with_header);
        let typ = HandshakeType::read(&mut r)?;
        let len = r.u24("handshake length")? as usize;
        let mut body = r.sub(len, "handshake message")?;
        r.expect_empty("handshake message")?;

        let what = typ.name().unwrap_or("unknown handshake message");
        let payload = HandshakePayload::read(typ, version == ProtocolVersion::TLSv1_3, &mut body)?;
        body.expect_empty(what)?;
        Ok(Self { typ, payload })
    }

    /// Append the encoding, header included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.typ.encode(out);
        put_prefixed(LenWidth::U24, out, |o| self.payload.encode(o));
    }

    /// The encoding, header included, as a fresh vector (what goes into the transcript).
    pub fn get_encoding(&self) -> Vec<u8> {
        // Most handshake messages fit; the few larger ones (certificates) grow once or twice.
        let mut out = Vec::with_capacity(512);
        self.encode(&mut out);
        out
    }

    /// A ClientHello's encoding, header included, from the payload alone (no copy of it).
    pub fn client_hello_encoding(hello: &ClientHelloPayload) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        HandshakeType::ClientHello.encode(&mut out);
        put_prefixed(LenWidth::U24, &mut out, |o| hello.encode(o));
        out
    }

    /// The message name for logs and error details.
    pub fn name(&self) -> &'static str {
        self.payload.name()
    }
}

impl HandshakePayload {
    /// The message name for logs and error details.
    pub fn name(&self) -> &'static str {
        match self {
            HandshakePayload::HelloRequest => "HelloRequest",
            HandshakePayload::ClientHello(_) => "ClientHello",
            HandshakePayload::ServerHello(_) => "ServerHello",
            HandshakePayload::HelloRetryRequest(_) => "HelloRetryRequest",
            HandshakePayload::EncryptedExtensions(_) => "EncryptedExtensions",
            HandshakePayload::Certificate(_) | HandshakePayload::CertificateTls12(_) => {
                "Certificate"
            }
            HandshakePayload::CertificateRequest(_)
            | HandshakePayload::CertificateRequestTls12(_) => "CertificateRequest",
            HandshakePayload::CertificateVerify(_) => "CertificateVerify",
            HandshakePayload::ServerKeyExchange(_) => "ServerKeyExchange",
            HandshakePayload::ServerHelloDone => "ServerHelloDone",
            HandshakePayload::ClientKeyExchange(_) => "ClientKeyExchange",
            HandshakePayload::Finished(_) => "Finished",
            HandshakePayload::NewSessionTicket(_) | HandshakePayload::NewSessionTicketTls12(_) => {
                "NewSessionTicket"
            }
            HandshakePayload::KeyUpdate(_) => "KeyUpdate",
            HandshakePayload::EndOfEarlyData => "EndOfEarlyData",
            HandshakePayload::MessageHash(_) => "message_hash",
            HandshakePayload::Unknown(_) => "unknown handshake message",
        }
    }

    /// The wire type of this message (ServerHello for a HelloRetryRequest); `None` for an
    /// undecoded one, whose type only its header knew.
    pub fn typ(&self) -> Option<HandshakeType> {
        use HandshakeType as T;
        Some(match self {
            Self::HelloRequest => T::HelloRequest,
            Self::ClientHello(_) => T::ClientHello,
            Self::ServerHello(_) | Self::HelloRetryRequest(_) => T::ServerHello,
            Self::EncryptedExtensions(_) => T::EncryptedExtensions,
            Self::Certificate(_) | Self::CertificateTls12(_) => T::Certificate,
            Self::CertificateRequest(_) | Self::CertificateRequestTls12(_) => T::CertificateRequest,
            Self::CertificateVerify(_) => T::CertificateVerify,
            Self::ServerKeyExchange(_) => T::ServerKeyExchange,
            Self::ServerHelloDone => T::ServerHelloDone,
            Self::ClientKeyExchange(_) => T::ClientKeyExchange,
            Self::Finished(_) => T::Finished,
            Self::NewSessionTicket(_) | Self::NewSessionTicketTls12(_) => T::NewSessionTicket,
            Self::KeyUpdate(_) => T::KeyUpdate,
            Self::EndOfEarlyData => T::EndOfEarlyData,
            Self::MessageHash(_) => T::MessageHash,
            Self::Unknown(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::enums::{NamedGroup, SignatureScheme};
    use crate::codec::handshake::test_support::*;

    #[test]
    fn every_message_round_trips() {
        use HandshakePayload as P;
        use HandshakeType as T;
        let both = [
            msg(T::HelloRequest, P::HelloRequest),
            msg(T::ClientHello, P::ClientHello(client_hello())),
            msg(T::ServerHello, P::ServerHello(server_hello())),
            msg(T::ServerHello, P::HelloRetryRequest(hrr())),
            msg(
                T::EncryptedExtensions,
                P::EncryptedExtensions(vec![
                    ServerExtension::ServerNameAck,
                    ServerExtension::Alpn(b"h2".to_vec()),
                    ServerExtension::EarlyData,
                    ServerExtension::SupportedGroups(vec![NamedGroup::X25519]),
                ]),
            ),
            msg(T::EncryptedExtensions, P::EncryptedExtensions(vec![])),
            msg(
                T::CertificateVerify,
                P::CertificateVerify(DigitallySigned {
                    scheme: SignatureScheme::ED25519,
                    signature: vec![1; 64],
                }),
            ),
            msg(T::ServerKeyExchange, P::ServerKeyExchange(ske())),
            msg(T::ServerHelloDone, P::ServerHelloDone),
            msg(T::ClientKeyExchange, P::ClientKeyExchange(vec![4; 65])),
            msg(T::Finished, P::Finished(vec![0x55; 32])),
            msg(
                T::KeyUpdate,
                P::KeyUpdate(KeyUpdateRequest::UpdateRequested),
            ),
            msg(
                T::KeyUpdate,
                P::KeyUpdate(KeyUpdateRequest::UpdateNotRequested),
            ),
            msg(T::EndOfEarlyData, P::EndOfEarlyData),
            msg(T::MessageHash, P::MessageHash(vec![0x11; 32])),
            msg(T::CertificateStatus, P::Unknown(vec![1, 0, 0, 1, 9])),
            msg(T::Unknown(99), P::Unknown(vec![])),
        ];
        for m in &both {
            round_trip(m, V13);
            round_trip(m, V12);
        }

        let tls13_only = [
            msg(T::Certificate, P::Certificate(cert13())),
            msg(
                T::Certificate,
                P::Certificate(CertificatePayloadTls13 {
                    context: vec![9],
                    entries: vec![],
                }),
            ),
            msg(T::CertificateRequest, P::CertificateRequest(cert_req13())),
            msg(T::NewSessionTicket, P::NewSessionTicket(nst13())),
        ];
        for m in &tls13_only {
            round_trip(m, V13);
        }

        let tls12_only = [
            msg(
                T::Certificate,
                P::CertificateTls12(vec![vec![0x30; 300], vec![0x30; 20]]),
            ),
            msg(T::Certificate, P::CertificateTls12(vec![])),
            msg(
                T::CertificateRequest,
                P::CertificateRequestTls12(cert_req12()),
            ),
            msg(
                T::NewSessionTicket,
                P::NewSessionTicketTls12(NewSessionTicketTls12 {
                    lifetime_hint: 300,
                    ticket: vec![1; 100],
                }),
            ),
            msg(
                T::NewSessionTicket,
                P::NewSessionTicketTls12(NewSessionTicketTls12 {
                    lifetime_hint: 0,
                    ticket: vec![],
                }),
            ),
        ];
        for m in &tls12_only {
            round_trip(m, V12);
        }
    }

    #[test]
    fn names() {
        use HandshakePayload as P;
        use HandshakeType as T;
        let cases = [
            (
                msg(T::ServerHello, P::HelloRetryRequest(hrr())),
                "HelloRetryRequest",
            ),
            (
                msg(T::Certificate, P::CertificateTls12(vec![])),
                "Certificate",
            ),
            (
                msg(T::CertificateRequest, P::CertificateRequest(cert_req13())),
                "CertificateRequest",
            ),
            (msg(T::MessageHash, P::MessageHash(vec![])), "message_hash"),
            (
                msg(T::Unknown(3), P::Unknown(vec![])),
                "unknown handshake message",
            ),
            (msg(T::HelloRequest, P::HelloRequest), "HelloRequest"),
        ];
        for (m, name) in cases {
            assert_eq!(m.name(), name);
        }
    }

    #[test]
    fn truncations_fail() {
        use HandshakePayload as P;
        use HandshakeType as T;

        let ch = msg(T::ClientHello, P::ClientHello(client_hello()));
        let enc = ch.get_encoding();
        // The body may legitimately end right after compression_methods (no extensions).
        let no_ext_len = 2 + 32 + 33 + 2 + 4 + 2;
        assert_prefixes_fail(&enc, V13, &[no_ext_len]);

        let sh = msg(T::ServerHello, P::ServerHello(server_hello()));
        let enc = sh.get_encoding();
        assert_prefixes_fail(&enc, V13, &[2 + 32 + 33 + 2 + 1]);

        let cases13 = [
            msg(T::ServerHello, P::HelloRetryRequest(hrr())),
            msg(T::Certificate, P::Certificate(cert13())),
            msg(T::CertificateRequest, P::CertificateRequest(cert_req13())),
            msg(T::NewSessionTicket, P::NewSessionTicket(nst13())),
        ];
        for m in &cases13 {
            assert_prefixes_fail(&m.get_encoding(), V13, &[]);
        }
        let cases12 = [
            msg(T::Certificate, P::CertificateTls12(vec![vec![0x30; 30]])),
            msg(
                T::CertificateRequest,
                P::CertificateRequestTls12(cert_req12()),
            ),
            msg(T::ServerKeyExchange, P::ServerKeyExchange(ske())),
            msg(
                T::NewSessionTicket,
                P::NewSessionTicketTls12(NewSessionTicketTls12 {
                    lifetime_hint: 1,
                    ticket: vec![2; 10],
                }),
            ),
        ];
        for m in &cases12 {
            assert_prefixes_fail(&m.get_encoding(), V12, &[]);
        }
    }

    #[test]
    fn mutations_of_other_messages_never_panic() {
        use HandshakePayload as P;
        use HandshakeType as T;
        let msgs = [
            msg(T::ServerHello, P::ServerHello(server_hello())),
            msg(T::ServerHello, P::HelloRetryRequest(hrr())),
            msg(T::Certificate, P::Certificate(cert13())),
            msg(T::CertificateRequest, P::CertificateRequest(cert_req13())),
            msg(
                T::CertificateRequest,
                P::CertificateRequestTls12(cert_req12()),
            ),
            msg(T::ServerKeyExchange, P::ServerKeyExchange(ske())),
            msg(T::NewSessionTicket, P::NewSessionTicket(nst13())),
        ];
        for m in &msgs {
            let enc = m.get_encoding();
            let mut copy = enc.clone();
            for i in 0..enc.len() {
                for x in [0x01, 0x80, 0xff] {
                    copy[i] = enc[i] ^ x;
                    let _ = HandshakeMessage::read(&copy, V13);
                    let _ = HandshakeMessage::read(&copy, V12);
                }
                copy[i] = enc[i];
            }
        }
    }

    #[test]
    fn trailing_and_missing_bytes() {
        let m = msg(
            HandshakeType::Finished,
            HandshakePayload::Finished(vec![1; 12]),
        );
        let mut enc = m.get_encoding();
        enc.push(0);
        assert!(matches!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::TrailingData(_))
        ));
        // A body with bytes the parser does not consume.
        let sh = framed(14, &[0]);
        assert!(matches!(
            HandshakeMessage::read(&sh, V12),
            Err(InvalidMessage::TrailingData(_))
        ));
        let eoed = framed(5, &[1]);
        assert!(HandshakeMessage::read(&eoed, V13).is_err());
        let hr = framed(0, &[1]);
        assert!(HandshakeMessage::read(&hr, V12).is_err());
        assert!(matches!(
            HandshakeMessage::read(&[20, 0, 0, 5, 1], V13),
            Err(InvalidMessage::MissingData(_))
        ));
    }

    #[test]
    fn sanity_rules() {
        // KeyUpdate must be 0 or 1.
        assert!(matches!(
            HandshakeMessage::read(&framed(24, &[2]), V13),
            Err(InvalidMessage::InvalidValue(_))
        ));
        // session_id longer than 32 bytes.
        let mut ch = client_hello();
        ch.session_id = vec![0; 33];
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(ch),
        )
        .get_encoding();
        assert!(matches!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::TooLarge(_))
        ));
        // Empty cipher suite list.
        let mut ch = client_hello();
        ch.cipher_suites.clear();
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(ch),
        )
        .get_encoding();
        assert!(matches!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::EmptyList(_))
        ));
        // Empty compression list.
        let mut ch = client_hello();
        ch.compression_methods.clear();
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(ch),
        )
        .get_encoding();
        assert!(HandshakeMessage::read(&enc, V13).is_err());
        // An explicit curve in ServerKeyExchange.
        let mut body = ske().get_encoding();
        body[0] = 1;
        assert!(matches!(
            HandshakeMessage::read(&framed(12, &body), V12),
            Err(InvalidMessage::InvalidValue(_))
        ));
        // An empty TLS 1.3 ticket.
        let mut t = nst13();
        t.ticket.clear();
        let enc = msg(
            HandshakeType::NewSessionTicket,
            HandshakePayload::NewSessionTicket(t),
        )
        .get_encoding();
        assert!(matches!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::EmptyList(_))
        ));
        // An empty certificate in either version.
        let enc = msg(
            HandshakeType::Certificate,
            HandshakePayload::CertificateTls12(vec![vec![]]),
        )
        .get_encoding();
        assert!(HandshakeMessage::read(&enc, V12).is_err());
        // An empty ClientKeyExchange point.
        assert!(HandshakeMessage::read(&framed(16, &[0]), V12).is_err());
        // HRR with a non-null compression method.
        let mut enc = msg(
            HandshakeType::ServerHello,
            HandshakePayload::HelloRetryRequest(hrr()),
        )
        .get_encoding();
        let comp_at = 4 + 2 + 32 + 33 + 2;
        enc[comp_at] = 1;
        assert!(HandshakeMessage::read(&enc, V13).is_err());
    }
}
