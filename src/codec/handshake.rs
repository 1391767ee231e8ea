//! Handshake messages for TLS 1.3 (RFC 8446 §4) and TLS 1.2 (RFC 5246 §7.4, RFC 8422).
//!
//! Decoding checks framing and the few structural rules that are cheap to check here
//! (non-empty `<1..>` vectors, session_id length, pre_shared_key last). Whether a message
//! is acceptable in the current state is for the state machines to decide.

use std::collections::HashSet;

use super::enums::{
    CipherSuite, ClientCertificateType, Compression, ECCurveType, ECPointFormat, ExtensionType,
    HandshakeType, KeyUpdateRequest, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
    SignatureScheme,
};
use super::extensions::{
    CertReqExtension, ClientExtension, DistinguishedName, HelloRetryExtension, KeyShareEntry,
    NewSessionTicketExtension, OfferedPsks, ServerExtension, put_extensions, read_extensions,
};
use super::{
    Codec, InvalidMessage, LenWidth, Reader, put_bytes_list, put_list, put_prefixed, put_u16,
    put_u32, put_vec_u8, put_vec_u16, put_vec_u24, read_bytes_list, read_list, read_nonempty_list,
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
fn read_random(r: &mut Reader<'_>) -> Result<[u8; 32], InvalidMessage> {
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
fn read_hello_extensions<T: Codec + super::extensions::HasExtType>(
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
                && super::extensions::TLS12_ONLY.contains(typ)
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
    fn read_after_random(
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
    fn read_after_random(
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

/// One certificate in a TLS 1.3 Certificate message, with its per-certificate extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry {
    /// The DER certificate; never empty.
    pub cert: Vec<u8>,
    /// Extensions (such as status_request or SCTs) as (type, raw body) pairs.
    pub extensions: Vec<(u16, Vec<u8>)>,
}

impl Codec for CertificateEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec_u24(&self.cert, out);
        put_prefixed(LenWidth::U16, out, |o| {
            for (typ, data) in &self.extensions {
                put_u16(*typ, o);
                put_vec_u16(data, o);
            }
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let cert = r.nonempty_vec(LenWidth::U24, "certificate")?.to_vec();
        let mut sub = Reader::new(r.vec_u16("certificate entry extensions")?);
        let mut seen = HashSet::new();
        let mut extensions = Vec::new();
        while sub.any_left() {
            let typ = sub.u16("certificate entry extension")?;
            let data = sub.vec_u16("certificate entry extension")?;
            if !seen.insert(typ) {
                return Err(InvalidMessage::DuplicateExtension(typ));
            }
            extensions.push((typ, data.to_vec()));
        }
        Ok(Self { cert, extensions })
    }
}

/// A TLS 1.3 Certificate body (RFC 8446 §4.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificatePayloadTls13 {
    /// The certificate_request_context (empty during the main handshake).
    pub context: Vec<u8>,
    /// The chain, end-entity first; empty when a client has no certificate.
    pub entries: Vec<CertificateEntry>,
}

impl Codec for CertificatePayloadTls13 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec_u8(&self.context, out);
        put_list(LenWidth::U24, &self.entries, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let context = r.vec_u8("certificate_request_context")?.to_vec();
        let entries = read_list(LenWidth::U24, r, "certificate_list")?;
        Ok(Self { context, entries })
    }
}

/// A TLS 1.3 CertificateRequest body (RFC 8446 §4.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequestPayloadTls13 {
    /// The certificate_request_context, echoed in the client's Certificate.
    pub context: Vec<u8>,
    /// The extensions; signature_algorithms is required (checked by the state machine).
    pub extensions: Vec<CertReqExtension>,
}

impl Codec for CertificateRequestPayloadTls13 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec_u8(&self.context, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let context = r.vec_u8("certificate_request_context")?.to_vec();
        let extensions = read_extensions(r, "CertificateRequest extensions")?;
        Ok(Self {
            context,
            extensions,
        })
    }
}

impl CertificateRequestPayloadTls13 {
    /// The extension of type `typ`, if present.
    pub fn find(&self, typ: ExtensionType) -> Option<&CertReqExtension> {
        self.extensions.iter().find(|e| e.ext_type() == typ)
    }

    /// The signature_algorithms the server accepts.
    pub fn signature_schemes(&self) -> Option<&[SignatureScheme]> {
        match self.find(ExtensionType::SignatureAlgorithms)? {
            CertReqExtension::SignatureAlgorithms(v) => Some(v),
            _ => None,
        }
    }

    /// The CAs the server names.
    pub fn certificate_authorities(&self) -> Option<&[DistinguishedName]> {
        match self.find(ExtensionType::CertificateAuthorities)? {
            CertReqExtension::CertificateAuthorities(v) => Some(v),
            _ => None,
        }
    }
}

/// A signature with its scheme: the CertificateVerify body, and the signed part of a
/// TLS 1.2 ServerKeyExchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitallySigned {
    /// The signature scheme used.
    pub scheme: SignatureScheme,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl Codec for DigitallySigned {
    fn encode(&self, out: &mut Vec<u8>) {
        self.scheme.encode(out);
        put_vec_u16(&self.signature, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let scheme = SignatureScheme::read(r)?;
        let signature = r.vec_u16("signature")?.to_vec();
        Ok(Self { scheme, signature })
    }
}

/// A TLS 1.3 NewSessionTicket body (RFC 8446 §4.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicketTls13 {
    /// Ticket lifetime in seconds.
    pub lifetime: u32,
    /// Added to the ticket age to obfuscate it.
    pub age_add: u32,
    /// Per-ticket nonce for deriving the PSK.
    pub nonce: Vec<u8>,
    /// The opaque ticket; never empty.
    pub ticket: Vec<u8>,
    /// The extensions (early_data).
    pub extensions: Vec<NewSessionTicketExtension>,
}

impl Codec for NewSessionTicketTls13 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(self.lifetime, out);
        put_u32(self.age_add, out);
        put_vec_u8(&self.nonce, out);
        put_vec_u16(&self.ticket, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime = r.u32("ticket_lifetime")?;
        let age_add = r.u32("ticket_age_add")?;
        let nonce = r.vec_u8("ticket_nonce")?.to_vec();
        let ticket = r.nonempty_vec(LenWidth::U16, "ticket")?.to_vec();
        let extensions = read_extensions(r, "NewSessionTicket extensions")?;
        Ok(Self {
            lifetime,
            age_add,
            nonce,
            ticket,
            extensions,
        })
    }
}

/// A TLS 1.2 NewSessionTicket body (RFC 5077 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicketTls12 {
    /// Lifetime hint in seconds (0: unspecified).
    pub lifetime_hint: u32,
    /// The opaque ticket; may be empty when the server declines to issue one.
    pub ticket: Vec<u8>,
}

impl Codec for NewSessionTicketTls12 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(self.lifetime_hint, out);
        put_vec_u16(&self.ticket, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime_hint = r.u32("ticket_lifetime_hint")?;
        let ticket = r.vec_u16("ticket")?.to_vec();
        Ok(Self {
            lifetime_hint,
            ticket,
        })
    }
}

/// TLS 1.2 ECDHE parameters (RFC 8422 §5.4). Only named curves exist in practice; the
/// encoding is also the server-signed data after the two randoms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdheParams {
    /// The named group.
    pub group: NamedGroup,
    /// The server's public point; never empty.
    pub public: Vec<u8>,
}

impl Codec for EcdheParams {
    fn encode(&self, out: &mut Vec<u8>) {
        ECCurveType::NamedCurve.encode(out);
        self.group.encode(out);
        put_vec_u8(&self.public, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        if ECCurveType::read(r)? != ECCurveType::NamedCurve {
            return Err(InvalidMessage::InvalidValue("ECDHE curve type"));
        }
        let group = NamedGroup::read(r)?;
        let public = r.nonempty_vec(LenWidth::U8, "ECDHE public key")?.to_vec();
        Ok(Self { group, public })
    }
}

/// A TLS 1.2 ECDHE ServerKeyExchange body: parameters and their signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerKeyExchangeTls12 {
    /// The key exchange parameters.
    pub params: EcdheParams,
    /// Signature over client_random + server_random + params encoding.
    pub signed: DigitallySigned,
}

impl Codec for ServerKeyExchangeTls12 {
    fn encode(&self, out: &mut Vec<u8>) {
        self.params.encode(out);
        self.signed.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let params = EcdheParams::read(r)?;
        let signed = DigitallySigned::read(r)?;
        Ok(Self { params, signed })
    }
}

/// A TLS 1.2 CertificateRequest body (RFC 5246 §7.4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequestTls12 {
    /// Acceptable client certificate types; never empty.
    pub cert_types: Vec<ClientCertificateType>,
    /// Acceptable signature schemes; never empty.
    pub signature_schemes: Vec<SignatureScheme>,
    /// Acceptable CAs; empty means any.
    pub ca_names: Vec<DistinguishedName>,
}

impl Codec for CertificateRequestTls12 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_list(LenWidth::U8, &self.cert_types, out);
        put_list(LenWidth::U16, &self.signature_schemes, out);
        put_bytes_list(LenWidth::U16, LenWidth::U16, &self.ca_names, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let cert_types = read_nonempty_list(LenWidth::U8, r, "certificate_types")?;
        let signature_schemes =
            read_nonempty_list(LenWidth::U16, r, "supported_signature_algorithms")?;
        let ca_names = read_bytes_list(LenWidth::U16, LenWidth::U16, r, "certificate_authorities")?;
        Ok(Self {
            cert_types,
            signature_schemes,
            ca_names,
        })
    }
}

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
    use crate::codec::extensions::PskIdentity;

    const V13: ProtocolVersion = ProtocolVersion::TLSv1_3;
    const V12: ProtocolVersion = ProtocolVersion::TLSv1_2;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|c| (c as char).to_digit(16).unwrap() as u8)
            .collect();
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    fn msg(typ: HandshakeType, payload: HandshakePayload) -> HandshakeMessage {
        HandshakeMessage { typ, payload }
    }

    /// Encode, decode with `version`, compare, re-encode to the same bytes.
    fn round_trip(m: &HandshakeMessage, version: ProtocolVersion) -> Vec<u8> {
        let enc = m.get_encoding();
        let dec = HandshakeMessage::read(&enc, version)
            .unwrap_or_else(|e| panic!("{} failed to decode: {e}", m.name()));
        assert_eq!(&dec, m);
        assert_eq!(dec.get_encoding(), enc);
        enc
    }

    /// Wrap `body` in a handshake header of type `typ` with a correct length.
    fn framed(typ: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![typ];
        put_vec_u24(body, &mut out);
        out
    }

    /// Every strict prefix fails, both as a whole message (the header length then
    /// disagrees) and as a re-framed body (so the body parser itself sees the truncation).
    /// `may_end_at` lists body lengths that are legitimately complete messages.
    fn assert_prefixes_fail(enc: &[u8], version: ProtocolVersion, may_end_at: &[usize]) {
        for n in 0..enc.len() {
            assert!(
                HandshakeMessage::read(&enc[..n], version).is_err(),
                "prefix {n}"
            );
        }
        let body = &enc[4..];
        for n in 0..body.len() {
            let res = HandshakeMessage::read(&framed(enc[0], &body[..n]), version);
            if !may_end_at.contains(&n) {
                assert!(res.is_err(), "body prefix {n} decoded: {res:?}");
            }
        }
    }

    fn client_hello() -> ClientHelloPayload {
        ClientHelloPayload {
            legacy_version: V12,
            random: [7; 32],
            session_id: vec![1; 32],
            cipher_suites: vec![
                CipherSuite::TLS_AES_128_GCM_SHA256,
                CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            ],
            compression_methods: vec![Compression::Null],
            extensions: vec![
                ClientExtension::ServerName("example.org".into()),
                ClientExtension::SupportedVersions(vec![V13, V12]),
                ClientExtension::KeyShare(vec![KeyShareEntry {
                    group: NamedGroup::X25519,
                    payload: vec![9; 32],
                }]),
                ClientExtension::SignatureAlgorithms(vec![SignatureScheme::ED25519]),
                ClientExtension::SignatureAlgorithmsCert(vec![SignatureScheme::ED25519]),
                ClientExtension::SupportedGroups(vec![NamedGroup::X25519]),
                ClientExtension::Alpn(vec![b"h2".to_vec()]),
                ClientExtension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PSK_DHE_KE]),
                ClientExtension::Cookie(vec![3; 8]),
                ClientExtension::EcPointFormats(vec![ECPointFormat::Uncompressed]),
                ClientExtension::ExtendedMasterSecret,
                ClientExtension::RenegotiationInfo(vec![]),
                ClientExtension::SessionTicket(vec![]),
                ClientExtension::EarlyData,
                ClientExtension::CertificateAuthorities(vec![vec![0x30, 0]]),
                ClientExtension::Unknown {
                    typ: ExtensionType::Padding,
                    data: vec![0; 10],
                },
                ClientExtension::PreSharedKey(OfferedPsks {
                    identities: vec![PskIdentity {
                        identity: vec![4; 16],
                        obfuscated_ticket_age: 1234,
                    }],
                    binders: vec![vec![5; 32]],
                }),
            ],
        }
    }

    fn server_hello() -> ServerHelloPayload {
        ServerHelloPayload {
            legacy_version: V12,
            random: [8; 32],
            session_id: vec![1; 32],
            cipher_suite: CipherSuite::TLS_AES_128_GCM_SHA256,
            compression_method: Compression::Null,
            extensions: vec![
                ServerExtension::SupportedVersions(V13),
                ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519,
                    payload: vec![2; 32],
                }),
                ServerExtension::PreSharedKey(0),
            ],
        }
    }

    fn cert13() -> CertificatePayloadTls13 {
        CertificatePayloadTls13 {
            context: vec![],
            entries: vec![
                CertificateEntry {
                    cert: vec![0x30; 100],
                    extensions: vec![(5, vec![1, 2, 3]), (18, vec![])],
                },
                CertificateEntry {
                    cert: vec![0x31; 50],
                    extensions: vec![],
                },
            ],
        }
    }

    fn cert_req13() -> CertificateRequestPayloadTls13 {
        CertificateRequestPayloadTls13 {
            context: vec![1, 2],
            extensions: vec![
                CertReqExtension::SignatureAlgorithms(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
                CertReqExtension::CertificateAuthorities(vec![vec![0x30, 1, 0]]),
            ],
        }
    }

    fn cert_req12() -> CertificateRequestTls12 {
        CertificateRequestTls12 {
            cert_types: vec![
                ClientCertificateType::RSASign,
                ClientCertificateType::ECDSASign,
            ],
            signature_schemes: vec![SignatureScheme::RSA_PSS_RSAE_SHA256],
            ca_names: vec![vec![0x30, 2, 5, 5], vec![0x30, 0]],
        }
    }

    fn ske() -> ServerKeyExchangeTls12 {
        ServerKeyExchangeTls12 {
            params: EcdheParams {
                group: NamedGroup::secp256r1,
                public: vec![4; 65],
            },
            signed: DigitallySigned {
                scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
                signature: vec![0x30; 70],
            },
        }
    }

    fn nst13() -> NewSessionTicketTls13 {
        NewSessionTicketTls13 {
            lifetime: 7200,
            age_add: 0xdead_beef,
            nonce: vec![0],
            ticket: vec![0xab; 64],
            extensions: vec![NewSessionTicketExtension::EarlyData(16384)],
        }
    }

    fn hrr() -> HelloRetryRequestPayload {
        HelloRetryRequestPayload {
            legacy_version: V12,
            session_id: vec![1; 32],
            cipher_suite: CipherSuite::TLS_AES_256_GCM_SHA384,
            extensions: vec![
                HelloRetryExtension::SupportedVersions(V13),
                HelloRetryExtension::KeyShare(NamedGroup::secp384r1),
                HelloRetryExtension::Cookie(vec![6; 20]),
            ],
        }
    }

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

    #[test]
    fn ecdhe_params_encoding_is_the_signed_part() {
        let p = ske().params;
        let enc = p.get_encoding();
        assert_eq!(&enc[..4], &[3, 0, 0x17, 65]);
        assert_eq!(enc.len(), 4 + 65);
        assert_eq!(EcdheParams::read_bytes(&enc).unwrap(), p);
    }
}
