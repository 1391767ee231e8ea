//! The hello messages: ClientHello, ServerHello and HelloRetryRequest, and the fields they share.

use crate::codec::enums::{
    CipherSuite, Compression, ECPointFormat, ExtensionType, NamedGroup, ProtocolVersion,
    PskKeyExchangeMode, SignatureScheme,
};
use crate::codec::extensions::{
    ClientExtension, DistinguishedName, HelloRetryExtension, KeyShareEntry, OfferedPsks,
    ServerExtension, put_extensions, read_extensions,
};
use crate::codec::{
    Codec, InvalidMessage, LenWidth, Reader, put_list, put_vec_u8, read_nonempty_list,
};

/// The ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3): the SHA-256
/// of "HelloRetryRequest".
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The longest legacy_session_id the RFCs allow.
const MAX_SESSION_ID: usize = 32;

/// Read a 32-byte hello random.
pub(super) fn read_random(r: &mut Reader<'_>) -> Result<[u8; 32], InvalidMessage> {
    let bytes = r.take_or(32, "random")?;
    let mut random = [0u8; 32];
    random.copy_from_slice(bytes);
    Ok(random)
}

/// Read a legacy session id, rejecting one longer than 32 bytes: a vector over its bound
/// is a decoding error (decode_error, RFC 8446 §6.2), not an illegal value.
fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    let id = r.vec_u8("session_id")?;
    if id.len() > MAX_SESSION_ID {
        return Err(InvalidMessage::TooLarge("session_id (at most 32 bytes)"));
    }
    Ok(id.to_vec())
}

/// Read the extension block of a hello message. TLS 1.2 peers may omit the block
/// entirely when they have nothing to send, which means an empty list.
fn read_hello_extensions<T: Codec + crate::codec::extensions::HasExtType>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<T>, InvalidMessage> {
    if r.any_left() {
        read_extensions(r, what)
    } else {
        Ok(Vec::new())
    }
}

/// Write a hello extension block, omitting it when empty so that a decoded
/// extension-less TLS 1.2 hello re-encodes to the same bytes.
fn put_hello_extensions<T: Codec>(exts: &[T], out: &mut Vec<u8>) {
    if !exts.is_empty() {
        put_extensions(exts, out);
    }
}

/// A ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHelloPayload {
    /// TLS 1.2 for any modern client; the real offer is in supported_versions.
    pub legacy_version: ProtocolVersion,
    /// The client random.
    pub random: [u8; 32],
    /// The legacy session id, at most 32 bytes.
    pub session_id: Vec<u8>,
    /// Offered cipher suites in preference order; never empty.
    pub cipher_suites: Vec<CipherSuite>,
    /// Offered compression methods; never empty (and only `Null` is acceptable).
    pub compression_methods: Vec<Compression>,
    /// The extensions, in wire order. Empty when the block was absent.
    pub extensions: Vec<ClientExtension>,
}

impl Codec for ClientHelloPayload {
    fn encode(&self, out: &mut Vec<u8>) {
        self.legacy_version.encode(out);
        out.extend_from_slice(&self.random);
        put_vec_u8(&self.session_id, out);
        put_list(LenWidth::U16, &self.cipher_suites, out);
        put_list(LenWidth::U8, &self.compression_methods, out);
        put_hello_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let legacy_version = ProtocolVersion::read(r)?;
        let random = read_random(r)?;
        let session_id = read_session_id(r)?;
        let cipher_suites = read_nonempty_list(LenWidth::U16, r, "cipher_suites")?;
        let compression_methods = read_nonempty_list(LenWidth::U8, r, "compression_methods")?;
        let extensions: Vec<ClientExtension> = read_hello_extensions(r, "ClientHello extensions")?;
        // RFC 8446 §4.2.11: binders cover everything before them, so the PSK must end it.
        let psk_at = extensions
            .iter()
            .position(|e| e.ext_type() == ExtensionType::PreSharedKey);
        if psk_at.is_some_and(|pos| pos + 1 != extensions.len()) {
            return Err(InvalidMessage::InvalidValue("pre_shared_key not last"));
        }
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }
}

impl ClientHelloPayload {
    /// Decode strictly the TLS 1.2-only extensions that decoding kept raw because they were
    /// malformed (see `extensions::TLS12_ONLY`): a TLS 1.2 server calls this first.
    pub fn check_tls12_extensions(&self) -> Result<(), InvalidMessage> {
        for e in &self.extensions {
            if let ClientExtension::Unknown { typ, data } = e
                && crate::codec::extensions::TLS12_ONLY.contains(typ)
            {
                ClientExtension::read_body(*typ, Reader::new(data))?;
            }
        }
        Ok(())
    }

    /// The extension of type `typ`, if present.
    pub fn find(&self, typ: ExtensionType) -> Option<&ClientExtension> {
        self.extensions.iter().find(|e| e.ext_type() == typ)
    }

    /// The SNI host name.
    pub fn server_name(&self) -> Option<&str> {
        match self.find(ExtensionType::ServerName)? {
            ClientExtension::ServerName(name) => Some(name),
            _ => None,
        }
    }

    /// The supported_versions offer.
    pub fn supported_versions(&self) -> Option<&[ProtocolVersion]> {
        match self.find(ExtensionType::SupportedVersions)? {
            ClientExtension::SupportedVersions(v) => Some(v),
            _ => None,
        }
    }

    /// The offered key shares.
    pub fn key_shares(&self) -> Option<&[KeyShareEntry]> {
        match self.find(ExtensionType::KeyShare)? {
            ClientExtension::KeyShare(v) => Some(v),
            _ => None,
        }
    }

    /// The signature_algorithms list.
    pub fn signature_schemes(&self) -> Option<&[SignatureScheme]> {
        match self.find(ExtensionType::SignatureAlgorithms)? {
            ClientExtension::SignatureAlgorithms(v) => Some(v),
            _ => None,
        }
    }

    /// The signature_algorithms_cert list.
    pub fn signature_schemes_cert(&self) -> Option<&[SignatureScheme]> {
        match self.find(ExtensionType::SignatureAlgorithmsCert)? {
            ClientExtension::SignatureAlgorithmsCert(v) => Some(v),
            _ => None,
        }
    }

    /// The supported_groups list.
    pub fn groups(&self) -> Option<&[NamedGroup]> {
        match self.find(ExtensionType::SupportedGroups)? {
            ClientExtension::SupportedGroups(v) => Some(v),
            _ => None,
        }
    }

    /// The offered ALPN protocol names.
    pub fn alpn(&self) -> Option<&[Vec<u8>]> {
        match self.find(ExtensionType::ALProtocolNegotiation)? {
            ClientExtension::Alpn(v) => Some(v),
            _ => None,
        }
    }

    /// The pre_shared_key offer.
    pub fn psk(&self) -> Option<&OfferedPsks> {
        match self.find(ExtensionType::PreSharedKey)? {
            ClientExtension::PreSharedKey(p) => Some(p),
            _ => None,
        }
    }

    /// The psk_key_exchange_modes list.
    pub fn psk_modes(&self) -> Option<&[PskKeyExchangeMode]> {
        match self.find(ExtensionType::PSKKeyExchangeModes)? {
            ClientExtension::PskKeyExchangeModes(v) => Some(v),
            _ => None,
        }
    }

    /// The echoed HelloRetryRequest cookie.
    pub fn cookie(&self) -> Option<&[u8]> {
        match self.find(ExtensionType::Cookie)? {
            ClientExtension::Cookie(c) => Some(c),
            _ => None,
        }
    }

    /// Whether extended_master_secret was offered.
    pub fn ems_offered(&self) -> bool {
        self.find(ExtensionType::ExtendedMasterSecret).is_some()
    }

    /// The renegotiation_info body (empty on an initial handshake).
    pub fn renegotiation_info(&self) -> Option<&[u8]> {
        match self.find(ExtensionType::RenegotiationInfo)? {
            ClientExtension::RenegotiationInfo(v) => Some(v),
            _ => None,
        }
    }

    /// The TLS 1.2 session_ticket body (empty when asking for a new ticket).
    pub fn session_ticket(&self) -> Option<&[u8]> {
        match self.find(ExtensionType::SessionTicket)? {
            ClientExtension::SessionTicket(v) => Some(v),
            _ => None,
        }
    }

    /// The certificate_authorities list.
    pub fn certificate_authorities(&self) -> Option<&[DistinguishedName]> {
        match self.find(ExtensionType::CertificateAuthorities)? {
            ClientExtension::CertificateAuthorities(v) => Some(v),
            _ => None,
        }
    }

    /// The ec_point_formats list.
    pub fn ec_point_formats(&self) -> Option<&[ECPointFormat]> {
        match self.find(ExtensionType::EcPointFormats)? {
            ClientExtension::EcPointFormats(v) => Some(v),
            _ => None,
        }
    }
}

/// A ServerHello body that is not a HelloRetryRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHelloPayload {
    /// TLS 1.2 for a TLS 1.3 server; the real version is in supported_versions.
    pub legacy_version: ProtocolVersion,
    /// The server random.
    pub random: [u8; 32],
    /// The session id (echoed in TLS 1.3).
    pub session_id: Vec<u8>,
    /// The selected cipher suite.
    pub cipher_suite: CipherSuite,
    /// The selected compression method.
    pub compression_method: Compression,
    /// The extensions, in wire order. Empty when the block was absent.
    pub extensions: Vec<ServerExtension>,
}

impl Codec for ServerHelloPayload {
    fn encode(&self, out: &mut Vec<u8>) {
        self.legacy_version.encode(out);
        out.extend_from_slice(&self.random);
        put_vec_u8(&self.session_id, out);
        self.cipher_suite.encode(out);
        self.compression_method.encode(out);
        put_hello_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let legacy_version = ProtocolVersion::read(r)?;
        let random = read_random(r)?;
        Self::read_after_random(legacy_version, random, r)
    }
}

impl ServerHelloPayload {
    /// Read the rest of a ServerHello once its version and random are known.
    pub(super) fn read_after_random(
        legacy_version: ProtocolVersion,
        random: [u8; 32],
        r: &mut Reader<'_>,
    ) -> Result<Self, InvalidMessage> {
        let session_id = read_session_id(r)?;
        let cipher_suite = CipherSuite::read(r)?;
        let compression_method = Compression::read(r)?;
        let extensions = read_hello_extensions(r, "ServerHello extensions")?;
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }

    /// The extension of type `typ`, if present.
    pub fn find(&self, typ: ExtensionType) -> Option<&ServerExtension> {
        self.extensions.iter().find(|e| e.ext_type() == typ)
    }

    /// The version selected through supported_versions.
    pub fn supported_versions(&self) -> Option<ProtocolVersion> {
        match self.find(ExtensionType::SupportedVersions)? {
            ServerExtension::SupportedVersions(v) => Some(*v),
            _ => None,
        }
    }

    /// The server's key share.
    pub fn key_share(&self) -> Option<&KeyShareEntry> {
        match self.find(ExtensionType::KeyShare)? {
            ServerExtension::KeyShare(k) => Some(k),
            _ => None,
        }
    }

    /// The index of the PSK identity the server selected.
    pub fn psk_index(&self) -> Option<u16> {
        match self.find(ExtensionType::PreSharedKey)? {
            ServerExtension::PreSharedKey(i) => Some(*i),
            _ => None,
        }
    }

    /// The selected ALPN protocol (TLS 1.2; TLS 1.3 puts it in EncryptedExtensions).
    pub fn alpn(&self) -> Option<&[u8]> {
        match self.find(ExtensionType::ALProtocolNegotiation)? {
            ServerExtension::Alpn(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the server agreed to extended_master_secret.
    pub fn ems(&self) -> bool {
        self.find(ExtensionType::ExtendedMasterSecret).is_some()
    }

    /// The renegotiation_info body.
    pub fn renegotiation_info(&self) -> Option<&[u8]> {
        match self.find(ExtensionType::RenegotiationInfo)? {
            ServerExtension::RenegotiationInfo(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the server promised a TLS 1.2 NewSessionTicket.
    pub fn session_ticket_ack(&self) -> bool {
        self.find(ExtensionType::SessionTicket).is_some()
    }
}

/// A TLS 1.3 HelloRetryRequest: a ServerHello whose random is
/// [`HELLO_RETRY_REQUEST_RANDOM`] (RFC 8446 §4.1.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloRetryRequestPayload {
    /// Always TLS 1.2 on the wire.
    pub legacy_version: ProtocolVersion,
    /// The client's session id, echoed.
    pub session_id: Vec<u8>,
    /// The cipher suite the server will use.
    pub cipher_suite: CipherSuite,
    /// The extensions, in wire order.
    pub extensions: Vec<HelloRetryExtension>,
}

impl Codec for HelloRetryRequestPayload {
    fn encode(&self, out: &mut Vec<u8>) {
        self.legacy_version.encode(out);
        out.extend_from_slice(&HELLO_RETRY_REQUEST_RANDOM);
        put_vec_u8(&self.session_id, out);
        self.cipher_suite.encode(out);
        Compression::Null.encode(out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let legacy_version = ProtocolVersion::read(r)?;
        if read_random(r)? != HELLO_RETRY_REQUEST_RANDOM {
            return Err(InvalidMessage::InvalidValue("HelloRetryRequest random"));
        }
        Self::read_after_random(legacy_version, r)
    }
}

impl HelloRetryRequestPayload {
    /// Read the rest of a HelloRetryRequest once its version and random are known.
    pub(super) fn read_after_random(
        legacy_version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, InvalidMessage> {
        let session_id = read_session_id(r)?;
        let cipher_suite = CipherSuite::read(r)?;
        if Compression::read(r)? != Compression::Null {
            return Err(InvalidMessage::InvalidValue(
                "HelloRetryRequest compression method",
            ));
        }
        let extensions = read_extensions(r, "HelloRetryRequest extensions")?;
        Ok(Self {
            legacy_version,
            session_id,
            cipher_suite,
            extensions,
        })
    }

    /// The extension of type `typ`, if present.
    pub fn find(&self, typ: ExtensionType) -> Option<&HelloRetryExtension> {
        self.extensions.iter().find(|e| e.ext_type() == typ)
    }

    /// The group the client must send a key share for.
    pub fn selected_group(&self) -> Option<NamedGroup> {
        match self.find(ExtensionType::KeyShare)? {
            HelloRetryExtension::KeyShare(g) => Some(*g),
            _ => None,
        }
    }

    /// The cookie the client must echo.
    pub fn cookie(&self) -> Option<&[u8]> {
        match self.find(ExtensionType::Cookie)? {
            HelloRetryExtension::Cookie(c) => Some(c),
            _ => None,
        }
    }

    /// The version selected through supported_versions.
    pub fn supported_versions(&self) -> Option<ProtocolVersion> {
        match self.find(ExtensionType::SupportedVersions)? {
            HelloRetryExtension::SupportedVersions(v) => Some(*v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::enums::HandshakeType;
    use crate::codec::handshake::test_support::*;
    use crate::codec::handshake::{HandshakeMessage, HandshakePayload};

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|c| (c as char).to_digit(16).unwrap() as u8)
            .collect();
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    #[test]
    fn byte_changes_never_panic() {
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(client_hello()),
        )
        .get_encoding();
        let mut copy = enc.clone();
        for i in 0..enc.len() {
            for v in 0..=255u8 {
                copy[i] = v;
                let _ = HandshakeMessage::read(&copy, V13);
                let _ = HandshakeMessage::read(&copy, V12);
            }
            copy[i] = enc[i];
        }
    }

    #[test]
    fn duplicate_extension_in_client_hello() {
        let mut ch = client_hello();
        ch.extensions.insert(0, ClientExtension::EarlyData);
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(ch),
        )
        .get_encoding();
        assert_eq!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::DuplicateExtension(42))
        );
        let mut c = cert13();
        c.entries[0].extensions.push((5, vec![]));
        let enc = msg(HandshakeType::Certificate, HandshakePayload::Certificate(c)).get_encoding();
        assert_eq!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::DuplicateExtension(5))
        );
    }

    #[test]
    fn pre_shared_key_must_be_last() {
        let mut ch = client_hello();
        let psk = ch.extensions.pop().unwrap();
        ch.extensions.insert(1, psk);
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(ch),
        )
        .get_encoding();
        assert_eq!(
            HandshakeMessage::read(&enc, V13),
            Err(InvalidMessage::InvalidValue("pre_shared_key not last"))
        );
    }

    #[test]
    fn psk_binders_are_the_tail() {
        let ch = client_hello();
        let enc = msg(
            HandshakeType::ClientHello,
            HandshakePayload::ClientHello(ch.clone()),
        )
        .get_encoding();
        let psk = ch.psk().unwrap();
        let cut = enc.len() - psk.binders_encoded_len();
        let mut binders = vec![0, 33, 32];
        binders.extend_from_slice(&[5; 32]);
        assert_eq!(&enc[cut..], &binders[..]);
    }

    #[test]
    fn hrr_random_selects_hello_retry_request() {
        assert_eq!(
            HELLO_RETRY_REQUEST_RANDOM,
            hex(
                "CF 21 AD 74 E5 9A 61 11 BE 1D 8C 02 1E 65 B8 91 C2 A2 11 16 7A BB 8C 5E 07 9E 09 E2 C8 A8 33 9C"
            )[..]
        );
        // A ServerHello built with the magic random decodes as a HelloRetryRequest.
        let mut sh = server_hello();
        sh.random = HELLO_RETRY_REQUEST_RANDOM;
        sh.extensions = vec![ServerExtension::SupportedVersions(V13)];
        let enc = msg(
            HandshakeType::ServerHello,
            HandshakePayload::ServerHello(sh),
        )
        .get_encoding();
        let dec = HandshakeMessage::read(&enc, V13).unwrap();
        assert_eq!(dec.typ, HandshakeType::ServerHello);
        assert_eq!(dec.name(), "HelloRetryRequest");
        let HandshakePayload::HelloRetryRequest(h) = &dec.payload else {
            panic!("expected HRR, got {dec:?}");
        };
        assert_eq!(h.supported_versions(), Some(V13));
        assert_eq!(h.selected_group(), None);
        assert_eq!(dec.get_encoding(), enc);

        let h = hrr();
        assert_eq!(h.selected_group(), Some(NamedGroup::secp384r1));
        assert_eq!(h.cookie(), Some(&[6u8; 20][..]));
        let enc = h.get_encoding();
        assert_eq!(&enc[2..34], &HELLO_RETRY_REQUEST_RANDOM);
        assert_eq!(HelloRetryRequestPayload::read_bytes(&enc).unwrap(), h);
        assert!(HelloRetryRequestPayload::read_bytes(&server_hello().get_encoding()).is_err());
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): the client's ClientHello.
    const RFC8448_CLIENT_HELLO: &str = "
        01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12
        ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00
        09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00
        19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d
        e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af
        2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
        04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01";

    /// RFC 8448 §3: the server's ServerHello.
    const RFC8448_SERVER_HELLO: &str = "
        02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14
        34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76
        11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f
        00 2b 00 02 03 04";

    #[test]
    fn rfc8448_client_hello() {
        let bytes = hex(RFC8448_CLIENT_HELLO);
        assert_eq!(bytes.len(), 196);
        let m = HandshakeMessage::read(&bytes, V13).unwrap();
        assert_eq!(m.typ, HandshakeType::ClientHello);
        let HandshakePayload::ClientHello(ch) = &m.payload else {
            panic!("not a ClientHello: {m:?}");
        };
        assert_eq!(ch.legacy_version, V12);
        assert_eq!(ch.random[..4], [0xcb, 0x34, 0xec, 0xb1]);
        assert!(ch.session_id.is_empty());
        assert_eq!(
            ch.cipher_suites,
            [
                CipherSuite::TLS_AES_128_GCM_SHA256,
                CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
                CipherSuite::TLS_AES_256_GCM_SHA384,
            ]
        );
        assert_eq!(ch.server_name(), Some("server"));
        assert_eq!(ch.supported_versions(), Some(&[V13][..]));
        let shares = ch.key_shares().unwrap();
        assert_eq!(shares.len(), 1);
        assert_eq!(shares[0].group, NamedGroup::X25519);
        assert_eq!(shares[0].payload[..2], [0x99, 0x38]);
        assert_eq!(shares[0].payload.len(), 32);
        assert_eq!(ch.renegotiation_info(), Some(&[][..]));
        assert_eq!(ch.session_ticket(), Some(&[][..]));
        assert_eq!(ch.psk_modes(), Some(&[PskKeyExchangeMode::PSK_DHE_KE][..]));
        assert_eq!(ch.groups().unwrap().len(), 9);
        assert_eq!(ch.groups().unwrap()[0], NamedGroup::X25519);
        assert_eq!(ch.signature_schemes().unwrap().len(), 15);
        assert!(ch.psk().is_none());
        assert!(!ch.ems_offered());
        assert!(ch.alpn().is_none());
        // record_size_limit (28) is kept as an unknown extension.
        assert_eq!(
            ch.find(ExtensionType::Unknown(28)),
            Some(&ClientExtension::Unknown {
                typ: ExtensionType::Unknown(28),
                data: vec![0x40, 0x01],
            })
        );
        assert_eq!(m.get_encoding(), bytes);
    }

    #[test]
    fn rfc8448_server_hello() {
        let bytes = hex(RFC8448_SERVER_HELLO);
        assert_eq!(bytes.len(), 90);
        let m = HandshakeMessage::read(&bytes, V13).unwrap();
        let HandshakePayload::ServerHello(sh) = &m.payload else {
            panic!("not a ServerHello: {m:?}");
        };
        assert_eq!(sh.cipher_suite, CipherSuite::TLS_AES_128_GCM_SHA256);
        assert_eq!(sh.supported_versions(), Some(V13));
        assert_eq!(sh.key_share().unwrap().group, NamedGroup::X25519);
        assert_eq!(sh.psk_index(), None);
        assert_eq!(m.get_encoding(), bytes);
    }

    #[test]
    fn extensionless_hellos() {
        // A TLS 1.2 ClientHello that ends after compression_methods.
        let mut ch = client_hello();
        ch.extensions.clear();
        let body = ch.get_encoding();
        assert_eq!(body.len(), 2 + 32 + 33 + 6 + 2);
        let m = HandshakeMessage::read(&framed(1, &body), V12).unwrap();
        assert_eq!(m.payload, HandshakePayload::ClientHello(ch));
        // An explicitly empty block decodes to the same value.
        let mut explicit = body.clone();
        explicit.extend_from_slice(&[0, 0]);
        let m2 = HandshakeMessage::read(&framed(1, &explicit), V12).unwrap();
        assert_eq!(m2.payload, m.payload);

        let mut sh = server_hello();
        sh.extensions.clear();
        let m = msg(
            HandshakeType::ServerHello,
            HandshakePayload::ServerHello(sh),
        );
        let enc = round_trip(&m, V12);
        assert_eq!(enc.len(), 4 + 2 + 32 + 33 + 3);
    }

    #[test]
    fn client_hello_getters() {
        let ch = client_hello();
        assert_eq!(ch.server_name(), Some("example.org"));
        assert_eq!(ch.supported_versions(), Some(&[V13, V12][..]));
        assert_eq!(ch.key_shares().unwrap()[0].group, NamedGroup::X25519);
        assert_eq!(
            ch.signature_schemes(),
            Some(&[SignatureScheme::ED25519][..])
        );
        assert_eq!(
            ch.signature_schemes_cert(),
            Some(&[SignatureScheme::ED25519][..])
        );
        assert_eq!(ch.groups(), Some(&[NamedGroup::X25519][..]));
        assert_eq!(ch.alpn(), Some(&[b"h2".to_vec()][..]));
        assert_eq!(ch.psk().unwrap().identities.len(), 1);
        assert_eq!(ch.psk_modes(), Some(&[PskKeyExchangeMode::PSK_DHE_KE][..]));
        assert_eq!(ch.cookie(), Some(&[3u8; 8][..]));
        assert!(ch.ems_offered());
        assert_eq!(ch.renegotiation_info(), Some(&[][..]));
        assert_eq!(ch.session_ticket(), Some(&[][..]));
        assert_eq!(ch.certificate_authorities(), Some(&[vec![0x30, 0]][..]));
        assert_eq!(
            ch.ec_point_formats(),
            Some(&[ECPointFormat::Uncompressed][..])
        );

        let sh = ServerHelloPayload {
            extensions: vec![
                ServerExtension::Alpn(b"http/1.1".to_vec()),
                ServerExtension::ExtendedMasterSecret,
                ServerExtension::RenegotiationInfo(vec![1, 2]),
                ServerExtension::SessionTicketAck,
            ],
            ..server_hello()
        };
        assert_eq!(sh.alpn(), Some(&b"http/1.1"[..]));
        assert!(sh.ems());
        assert_eq!(sh.renegotiation_info(), Some(&[1u8, 2][..]));
        assert!(sh.session_ticket_ack());
        assert_eq!(sh.supported_versions(), None);
        assert_eq!(server_hello().psk_index(), Some(0));

        let cr = cert_req13();
        assert_eq!(
            cr.signature_schemes(),
            Some(&[SignatureScheme::ECDSA_NISTP256_SHA256][..])
        );
        assert_eq!(cr.certificate_authorities().unwrap().len(), 1);
    }
}
