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

fn read_random(r: &mut Reader<'_>) -> Result<[u8; 32], InvalidMessage> {
    let bytes = r.take_or(32, "random")?;
    let mut random = [0u8; 32];
    random.copy_from_slice(bytes);
    Ok(random)
}

fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    let id = r.vec_u8("session_id")?;
    if id.len() > MAX_SESSION_ID {
        return Err(InvalidMessage::InvalidValue(
            "session_id longer than 32 bytes",
        ));
    }
    Ok(id.to_vec())
}

/// Read a non-empty opaque vector (`opaque x<1..>`).
fn nonempty_vec<'a>(
    r: &mut Reader<'a>,
    width: LenWidth,
    what: &'static str,
) -> Result<&'a [u8], InvalidMessage> {
    let v = r.vec_of(width, what)?;
    if v.is_empty() {
        return Err(InvalidMessage::EmptyList(what));
    }
    Ok(v)
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
        let cert = nonempty_vec(r, LenWidth::U24, "certificate")?.to_vec();
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
        let ticket = nonempty_vec(r, LenWidth::U16, "ticket")?.to_vec();
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
        let public = nonempty_vec(r, LenWidth::U8, "ECDHE public key")?.to_vec();
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
                nonempty_vec(r, LenWidth::U8, "ClientKeyExchange point")?.to_vec(),
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
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The message name for logs and error details.
    pub fn name(&self) -> &'static str {
        match &self.payload {
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
}
