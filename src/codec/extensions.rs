//! Hello, EncryptedExtensions, CertificateRequest and NewSessionTicket extensions
//! (RFC 8446 §4.2, plus the TLS 1.2 ones from RFC 5746, 7627, 5077, 8422 and 7301).
//!
//! Each message has its own extension enum, because the same extension type carries a
//! different body depending on where it appears (key_share is a list in ClientHello, one
//! entry in ServerHello and a bare group in HelloRetryRequest). Extension types we do not
//! model decode to `Unknown` and re-encode byte for byte.

use std::collections::HashSet;

use super::enums::{
    ECPointFormat, ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme,
};
use super::{
    Codec, InvalidMessage, LenWidth, Reader, put_bytes_list, put_list, put_prefixed, put_u16,
    put_u32, put_vec_u8, put_vec_u16, read_bytes_list, read_nonempty_list,
};

/// The DER encoding of an X.501 `Name`, as listed in certificate_authorities and the
/// TLS 1.2 CertificateRequest. Kept opaque: only the certificate layer interprets it.
pub type DistinguishedName = Vec<u8>;

/// An extension that knows its own type, so generic code can find duplicates and look
/// extensions up without matching on every variant.
pub trait HasExtType {
    /// The extension type this value encodes as.
    fn ext_type(&self) -> ExtensionType;
}

/// Read a u16-prefixed extension block, rejecting any extension type that appears twice
/// (RFC 8446 §4.2). `what` names the block in errors.
pub fn read_extensions<T: Codec + HasExtType>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<T>, InvalidMessage> {
    let mut sub = Reader::new(r.vec_u16(what)?);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while sub.any_left() {
        let ext = T::read(&mut sub)?;
        let typ = ext.ext_type().to_int();
        if !seen.insert(typ) {
            return Err(InvalidMessage::DuplicateExtension(typ));
        }
        out.push(ext);
    }
    Ok(out)
}

/// Write a u16-prefixed extension block.
pub fn put_extensions<T: Codec>(exts: &[T], out: &mut Vec<u8>) {
    put_list(LenWidth::U16, exts, out);
}

/// Split one extension off `r`: its type and a reader over exactly its body.
fn read_ext_header<'a>(r: &mut Reader<'a>) -> Result<(ExtensionType, Reader<'a>), InvalidMessage> {
    let typ = ExtensionType::read(r)?;
    let body = r.vec_u16("extension body")?;
    Ok((typ, Reader::new(body)))
}

/// Write one extension: its type, then the body `body` appends under a u16 prefix.
fn put_ext(typ: ExtensionType, out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    typ.encode(out);
    put_prefixed(LenWidth::U16, out, body);
}

/// The `server_name` host_name entry type (RFC 6066 §3).
const SNI_HOST_NAME: u8 = 0;

/// Read a ClientHello server_name body and return its host_name.
///
/// RFC 6066 allows other name types; none were ever defined, but we skip them rather than
/// fail. The host name must be ASCII (RFC 6066 §3: IDNs travel as A-labels), which also
/// makes it valid UTF-8 for the `String`.
fn read_server_name(r: &mut Reader<'_>) -> Result<String, InvalidMessage> {
    const WHAT: &str = "server_name";
    let mut list = Reader::new(r.nonempty_vec(LenWidth::U16, WHAT)?);
    let mut host = None;
    while list.any_left() {
        let typ = list.u8(WHAT)?;
        let name = list.vec_u16(WHAT)?;
        if typ != SNI_HOST_NAME {
            continue;
        }
        if host.is_some() {
            return Err(InvalidMessage::InvalidValue(
                "server_name has two host names",
            ));
        }
        if name.is_empty() {
            return Err(InvalidMessage::EmptyList(WHAT));
        }
        if !name.is_ascii() {
            return Err(InvalidMessage::InvalidValue(WHAT));
        }
        host =
            Some(String::from_utf8(name.to_vec()).map_err(|_| InvalidMessage::InvalidValue(WHAT))?);
    }
    host.ok_or(InvalidMessage::InvalidValue(
        "server_name without host_name",
    ))
}

/// One offered key share (RFC 8446 §4.2.8): a group and the sender's public value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group this share belongs to.
    pub group: NamedGroup,
    /// The encoded public key; never empty on the wire.
    pub payload: Vec<u8>,
}

impl Codec for KeyShareEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.group.encode(out);
        put_vec_u16(&self.payload, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let group = NamedGroup::read(r)?;
        let payload = r.nonempty_vec(LenWidth::U16, "key_share payload")?.to_vec();
        Ok(Self { group, payload })
    }
}

/// One PSK identity offered by the client (RFC 8446 §4.2.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskIdentity {
    /// The ticket or external PSK label; never empty on the wire.
    pub identity: Vec<u8>,
    /// Ticket age in milliseconds plus the ticket's age_add, modulo 2^32.
    pub obfuscated_ticket_age: u32,
}

impl Codec for PskIdentity {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec_u16(&self.identity, out);
        put_u32(self.obfuscated_ticket_age, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let identity = r.nonempty_vec(LenWidth::U16, "psk identity")?.to_vec();
        let obfuscated_ticket_age = r.u32("obfuscated_ticket_age")?;
        Ok(Self {
            identity,
            obfuscated_ticket_age,
        })
    }
}

/// The ClientHello pre_shared_key body: identities and one binder per identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedPsks {
    /// The offered identities, in preference order; never empty.
    pub identities: Vec<PskIdentity>,
    /// One HMAC binder per identity, in the same order.
    pub binders: Vec<Vec<u8>>,
}

impl OfferedPsks {
    /// The length of the encoded binders list, including its 2-byte prefix.
    ///
    /// Binders are computed over the ClientHello up to (not including) this list, which
    /// always ends the message, so the caller truncates the encoding by this many bytes.
    pub fn binders_encoded_len(&self) -> usize {
        2 + self.binders.iter().map(|b| 1 + b.len()).sum::<usize>()
    }
}

impl Codec for OfferedPsks {
    fn encode(&self, out: &mut Vec<u8>) {
        put_list(LenWidth::U16, &self.identities, out);
        put_bytes_list(LenWidth::U16, LenWidth::U8, &self.binders, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let identities = read_nonempty_list(LenWidth::U16, r, "psk identities")?;
        let binders = read_bytes_list(LenWidth::U16, LenWidth::U8, r, "psk binders")?;
        if binders.len() != identities.len() {
            return Err(InvalidMessage::InvalidValue(
                "psk binder count differs from identity count",
            ));
        }
        Ok(Self {
            identities,
            binders,
        })
    }
}

/// An extension in a ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientExtension {
    /// The host_name from server_name (SNI).
    ServerName(String),
    /// supported_versions: the versions the client offers, in preference order.
    SupportedVersions(Vec<ProtocolVersion>),
    /// key_share: the client's shares (may be empty to ask for a HelloRetryRequest).
    KeyShare(Vec<KeyShareEntry>),
    /// signature_algorithms: schemes accepted in CertificateVerify (and certificates).
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// signature_algorithms_cert: schemes accepted in certificates, when they differ.
    SignatureAlgorithmsCert(Vec<SignatureScheme>),
    /// supported_groups: key exchange groups, in preference order.
    SupportedGroups(Vec<NamedGroup>),
    /// application_layer_protocol_negotiation: the offered protocol names.
    Alpn(Vec<Vec<u8>>),
    /// psk_key_exchange_modes.
    PskKeyExchangeModes(Vec<PskKeyExchangeMode>),
    /// pre_shared_key; must be the last extension.
    PreSharedKey(OfferedPsks),
    /// cookie, echoed from a HelloRetryRequest.
    Cookie(Vec<u8>),
    /// ec_point_formats (TLS 1.2).
    EcPointFormats(Vec<ECPointFormat>),
    /// extended_master_secret (RFC 7627); empty body.
    ExtendedMasterSecret,
    /// renegotiation_info (RFC 5746): the client's verify_data, empty on a first handshake.
    RenegotiationInfo(Vec<u8>),
    /// session_ticket (RFC 5077): a TLS 1.2 ticket, or empty to ask for one.
    SessionTicket(Vec<u8>),
    /// early_data: the client is sending 0-RTT data; empty body.
    EarlyData,
    /// post_handshake_auth (RFC 8446 §4.2.6): the client will answer a CertificateRequest
    /// after the handshake; empty body.
    PostHandshakeAuth,
    /// certificate_authorities: CAs the client trusts.
    CertificateAuthorities(Vec<DistinguishedName>),
    /// Any other extension, kept as raw bytes.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw body.
        data: Vec<u8>,
    },
}

impl ClientExtension {
    /// The extension type this value encodes as.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::ServerName(_) => ExtensionType::ServerName,
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::SignatureAlgorithms(_) => ExtensionType::SignatureAlgorithms,
            Self::SignatureAlgorithmsCert(_) => ExtensionType::SignatureAlgorithmsCert,
            Self::SupportedGroups(_) => ExtensionType::SupportedGroups,
            Self::Alpn(_) => ExtensionType::ALProtocolNegotiation,
            Self::PskKeyExchangeModes(_) => ExtensionType::PSKKeyExchangeModes,
            Self::PreSharedKey(_) => ExtensionType::PreSharedKey,
            Self::Cookie(_) => ExtensionType::Cookie,
            Self::EcPointFormats(_) => ExtensionType::EcPointFormats,
            Self::ExtendedMasterSecret => ExtensionType::ExtendedMasterSecret,
            Self::RenegotiationInfo(_) => ExtensionType::RenegotiationInfo,
            Self::SessionTicket(_) => ExtensionType::SessionTicket,
            Self::EarlyData => ExtensionType::EarlyData,
            Self::PostHandshakeAuth => ExtensionType::PostHandshakeAuth,
            Self::CertificateAuthorities(_) => ExtensionType::CertificateAuthorities,
            Self::Unknown { typ, .. } => *typ,
        }
    }
}

impl HasExtType for ClientExtension {
    fn ext_type(&self) -> ExtensionType {
        ClientExtension::ext_type(self)
    }
}

/// Read an ALPN body: a non-empty u16 list of non-empty u8-prefixed names (RFC 7301 §3.1).
fn read_alpn(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, InvalidMessage> {
    let names = read_bytes_list(LenWidth::U16, LenWidth::U8, r, "alpn")?;
    if names.is_empty() {
        return Err(InvalidMessage::EmptyList("alpn"));
    }
    Ok(names)
}

/// Read a certificate_authorities body: a non-empty list of non-empty DNs.
fn read_authorities(r: &mut Reader<'_>) -> Result<Vec<DistinguishedName>, InvalidMessage> {
    let names = read_bytes_list(LenWidth::U16, LenWidth::U16, r, "certificate_authorities")?;
    if names.is_empty() {
        return Err(InvalidMessage::EmptyList("certificate_authorities"));
    }
    Ok(names)
}

impl Codec for ClientExtension {
    fn encode(&self, out: &mut Vec<u8>) {
        put_ext(self.ext_type(), out, |o| match self {
            Self::ServerName(name) => put_prefixed(LenWidth::U16, o, |o| {
                o.push(SNI_HOST_NAME);
                put_vec_u16(name.as_bytes(), o);
            }),
            Self::SupportedVersions(v) => put_list(LenWidth::U8, v, o),
            Self::KeyShare(v) => put_list(LenWidth::U16, v, o),
            Self::SignatureAlgorithms(v) | Self::SignatureAlgorithmsCert(v) => {
                put_list(LenWidth::U16, v, o)
            }
            Self::SupportedGroups(v) => put_list(LenWidth::U16, v, o),
            Self::Alpn(v) => put_bytes_list(LenWidth::U16, LenWidth::U8, v, o),
            Self::PskKeyExchangeModes(v) => put_list(LenWidth::U8, v, o),
            Self::PreSharedKey(p) => p.encode(o),
            Self::Cookie(c) => put_vec_u16(c, o),
            Self::EcPointFormats(v) => put_list(LenWidth::U8, v, o),
            Self::ExtendedMasterSecret | Self::EarlyData | Self::PostHandshakeAuth => {}
            Self::RenegotiationInfo(v) => put_vec_u8(v, o),
            Self::SessionTicket(v) | Self::Unknown { data: v, .. } => o.extend_from_slice(v),
            Self::CertificateAuthorities(v) => put_bytes_list(LenWidth::U16, LenWidth::U16, v, o),
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, b) = read_ext_header(r)?;
        // Extensions that only TLS 1.2 uses are judged only if TLS 1.2 is negotiated: a TLS 1.3
        // server ignores them (RFC 8446 §4.2), so a malformed one is kept raw here and
        // `ClientHelloPayload::check_tls12_extensions` reports it on the TLS 1.2 path.
        if TLS12_ONLY.contains(&typ) {
            let raw = b.clone().rest();
            return Ok(Self::read_body(typ, b).unwrap_or_else(|_| Self::Unknown {
                typ,
                data: raw.to_vec(),
            }));
        }
        Self::read_body(typ, b)
    }
}

/// ClientHello extensions that only a TLS 1.2 handshake reads.
pub(crate) const TLS12_ONLY: [ExtensionType; 4] = [
    ExtensionType::EcPointFormats,
    ExtensionType::ExtendedMasterSecret,
    ExtensionType::RenegotiationInfo,
    ExtensionType::SessionTicket,
];

impl ClientExtension {
    /// Decode one extension body strictly: it must hold exactly what its type defines. An
    /// error names the extension ("signature_algorithms is truncated"), not the element type.
    pub(crate) fn read_body(typ: ExtensionType, b: Reader<'_>) -> Result<Self, InvalidMessage> {
        Self::read_body_inner(typ, b).map_err(|e| match typ.name() {
            Some(name) => e.relabel(name),
            None => e,
        })
    }

    fn read_body_inner(typ: ExtensionType, mut b: Reader<'_>) -> Result<Self, InvalidMessage> {
        let ext =
            match typ {
                ExtensionType::ServerName => Self::ServerName(read_server_name(&mut b)?),
                ExtensionType::SupportedVersions => Self::SupportedVersions(read_nonempty_list(
                    LenWidth::U8,
                    &mut b,
                    "supported_versions",
                )?),
                ExtensionType::KeyShare => {
                    Self::KeyShare(super::read_list(LenWidth::U16, &mut b, "key_share")?)
                }
                ExtensionType::SignatureAlgorithms => Self::SignatureAlgorithms(
                    read_nonempty_list(LenWidth::U16, &mut b, "signature_algorithms")?,
                ),
                ExtensionType::SignatureAlgorithmsCert => Self::SignatureAlgorithmsCert(
                    read_nonempty_list(LenWidth::U16, &mut b, "signature_algorithms_cert")?,
                ),
                ExtensionType::SupportedGroups => Self::SupportedGroups(read_nonempty_list(
                    LenWidth::U16,
                    &mut b,
                    "supported_groups",
                )?),
                ExtensionType::ALProtocolNegotiation => Self::Alpn(read_alpn(&mut b)?),
                ExtensionType::PSKKeyExchangeModes => Self::PskKeyExchangeModes(
                    read_nonempty_list(LenWidth::U8, &mut b, "psk_key_exchange_modes")?,
                ),
                ExtensionType::PreSharedKey => Self::PreSharedKey(OfferedPsks::read(&mut b)?),
                ExtensionType::Cookie => {
                    Self::Cookie(b.nonempty_vec(LenWidth::U16, "cookie")?.to_vec())
                }
                ExtensionType::EcPointFormats => Self::EcPointFormats(read_nonempty_list(
                    LenWidth::U8,
                    &mut b,
                    "ec_point_formats",
                )?),
                ExtensionType::ExtendedMasterSecret => Self::ExtendedMasterSecret,
                ExtensionType::RenegotiationInfo => {
                    Self::RenegotiationInfo(b.vec_u8("renegotiation_info")?.to_vec())
                }
                ExtensionType::SessionTicket => Self::SessionTicket(b.rest().to_vec()),
                ExtensionType::EarlyData => Self::EarlyData,
                ExtensionType::PostHandshakeAuth => Self::PostHandshakeAuth,
                ExtensionType::CertificateAuthorities => {
                    Self::CertificateAuthorities(read_authorities(&mut b)?)
                }
                _ => Self::Unknown {
                    typ,
                    data: b.rest().to_vec(),
                },
            };
        b.expect_empty("client extension")?;
        Ok(ext)
    }
}

/// An extension in a ServerHello (TLS 1.2 or 1.3) or a TLS 1.3 EncryptedExtensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerExtension {
    /// supported_versions: the version the server selected.
    SupportedVersions(ProtocolVersion),
    /// key_share: the server's share.
    KeyShare(KeyShareEntry),
    /// pre_shared_key: the index of the identity the server selected.
    PreSharedKey(u16),
    /// server_name with an empty body: the server used the client's SNI.
    ServerNameAck,
    /// application_layer_protocol_negotiation: the one selected protocol.
    Alpn(Vec<u8>),
    /// ec_point_formats (TLS 1.2).
    EcPointFormats(Vec<ECPointFormat>),
    /// extended_master_secret (RFC 7627); empty body.
    ExtendedMasterSecret,
    /// renegotiation_info (RFC 5746): client then server verify_data, empty at first.
    RenegotiationInfo(Vec<u8>),
    /// session_ticket with an empty body: a TLS 1.2 NewSessionTicket will follow.
    SessionTicketAck,
    /// early_data in EncryptedExtensions: the server accepted 0-RTT data.
    EarlyData,
    /// supported_groups in EncryptedExtensions: the server's preference, for later use.
    SupportedGroups(Vec<NamedGroup>),
    /// Any other extension, kept as raw bytes.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw body.
        data: Vec<u8>,
    },
}

impl ServerExtension {
    /// The extension type this value encodes as.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::PreSharedKey(_) => ExtensionType::PreSharedKey,
            Self::ServerNameAck => ExtensionType::ServerName,
            Self::Alpn(_) => ExtensionType::ALProtocolNegotiation,
            Self::EcPointFormats(_) => ExtensionType::EcPointFormats,
            Self::ExtendedMasterSecret => ExtensionType::ExtendedMasterSecret,
            Self::RenegotiationInfo(_) => ExtensionType::RenegotiationInfo,
            Self::SessionTicketAck => ExtensionType::SessionTicket,
            Self::EarlyData => ExtensionType::EarlyData,
            Self::SupportedGroups(_) => ExtensionType::SupportedGroups,
            Self::Unknown { typ, .. } => *typ,
        }
    }
}

impl HasExtType for ServerExtension {
    fn ext_type(&self) -> ExtensionType {
        ServerExtension::ext_type(self)
    }
}

impl Codec for ServerExtension {
    fn encode(&self, out: &mut Vec<u8>) {
        put_ext(self.ext_type(), out, |o| match self {
            Self::SupportedVersions(v) => v.encode(o),
            Self::KeyShare(k) => k.encode(o),
            Self::PreSharedKey(i) => put_u16(*i, o),
            Self::ServerNameAck
            | Self::ExtendedMasterSecret
            | Self::SessionTicketAck
            | Self::EarlyData => {}
            Self::Alpn(p) => put_prefixed(LenWidth::U16, o, |o| put_vec_u8(p, o)),
            Self::EcPointFormats(v) => put_list(LenWidth::U8, v, o),
            Self::RenegotiationInfo(v) => put_vec_u8(v, o),
            Self::SupportedGroups(v) => put_list(LenWidth::U16, v, o),
            Self::Unknown { data, .. } => o.extend_from_slice(data),
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, mut b) = read_ext_header(r)?;
        let ext = match typ {
            ExtensionType::SupportedVersions => {
                Self::SupportedVersions(ProtocolVersion::read(&mut b)?)
            }
            ExtensionType::KeyShare => Self::KeyShare(KeyShareEntry::read(&mut b)?),
            ExtensionType::PreSharedKey => Self::PreSharedKey(b.u16("selected_identity")?),
            ExtensionType::ServerName => Self::ServerNameAck,
            ExtensionType::ALProtocolNegotiation => {
                let mut names = read_alpn(&mut b)?;
                match (names.pop(), names.is_empty()) {
                    (Some(name), true) => Self::Alpn(name),
                    _ => {
                        return Err(InvalidMessage::InvalidValue(
                            "server alpn must hold exactly one protocol",
                        ));
                    }
                }
            }
            ExtensionType::EcPointFormats => Self::EcPointFormats(read_nonempty_list(
                LenWidth::U8,
                &mut b,
                "ec_point_formats",
            )?),
            ExtensionType::ExtendedMasterSecret => Self::ExtendedMasterSecret,
            ExtensionType::RenegotiationInfo => {
                Self::RenegotiationInfo(b.vec_u8("renegotiation_info")?.to_vec())
            }
            ExtensionType::SessionTicket => Self::SessionTicketAck,
            ExtensionType::EarlyData => Self::EarlyData,
            ExtensionType::SupportedGroups => Self::SupportedGroups(read_nonempty_list(
                LenWidth::U16,
                &mut b,
                "supported_groups",
            )?),
            _ => Self::Unknown {
                typ,
                data: b.rest().to_vec(),
            },
        };
        b.expect_empty("server extension")?;
        Ok(ext)
    }
}

/// An extension in a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloRetryExtension {
    /// key_share: the group the client must send a share for.
    KeyShare(NamedGroup),
    /// cookie the client must echo.
    Cookie(Vec<u8>),
    /// supported_versions: the version the server selected.
    SupportedVersions(ProtocolVersion),
    /// Any other extension, kept as raw bytes.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw body.
        data: Vec<u8>,
    },
}

impl HelloRetryExtension {
    /// The extension type this value encodes as.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::Cookie(_) => ExtensionType::Cookie,
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::Unknown { typ, .. } => *typ,
        }
    }
}

impl HasExtType for HelloRetryExtension {
    fn ext_type(&self) -> ExtensionType {
        HelloRetryExtension::ext_type(self)
    }
}

impl Codec for HelloRetryExtension {
    fn encode(&self, out: &mut Vec<u8>) {
        put_ext(self.ext_type(), out, |o| match self {
            Self::KeyShare(g) => g.encode(o),
            Self::Cookie(c) => put_vec_u16(c, o),
            Self::SupportedVersions(v) => v.encode(o),
            Self::Unknown { data, .. } => o.extend_from_slice(data),
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, mut b) = read_ext_header(r)?;
        let ext = match typ {
            ExtensionType::KeyShare => Self::KeyShare(NamedGroup::read(&mut b)?),
            ExtensionType::Cookie => {
                Self::Cookie(b.nonempty_vec(LenWidth::U16, "cookie")?.to_vec())
            }
            ExtensionType::SupportedVersions => {
                Self::SupportedVersions(ProtocolVersion::read(&mut b)?)
            }
            _ => Self::Unknown {
                typ,
                data: b.rest().to_vec(),
            },
        };
        b.expect_empty("hello retry extension")?;
        Ok(ext)
    }
}

/// An extension in a TLS 1.3 CertificateRequest (RFC 8446 §4.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertReqExtension {
    /// signature_algorithms: schemes the server accepts in CertificateVerify.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// signature_algorithms_cert: schemes the server accepts in certificates.
    SignatureAlgorithmsCert(Vec<SignatureScheme>),
    /// certificate_authorities: CAs the server trusts for client certificates.
    CertificateAuthorities(Vec<DistinguishedName>),
    /// Any other extension, kept as raw bytes.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw body.
        data: Vec<u8>,
    },
}

impl CertReqExtension {
    /// The extension type this value encodes as.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::SignatureAlgorithms(_) => ExtensionType::SignatureAlgorithms,
            Self::SignatureAlgorithmsCert(_) => ExtensionType::SignatureAlgorithmsCert,
            Self::CertificateAuthorities(_) => ExtensionType::CertificateAuthorities,
            Self::Unknown { typ, .. } => *typ,
        }
    }
}

impl HasExtType for CertReqExtension {
    fn ext_type(&self) -> ExtensionType {
        CertReqExtension::ext_type(self)
    }
}

impl Codec for CertReqExtension {
    fn encode(&self, out: &mut Vec<u8>) {
        put_ext(self.ext_type(), out, |o| match self {
            Self::SignatureAlgorithms(v) | Self::SignatureAlgorithmsCert(v) => {
                put_list(LenWidth::U16, v, o)
            }
            Self::CertificateAuthorities(v) => put_bytes_list(LenWidth::U16, LenWidth::U16, v, o),
            Self::Unknown { data, .. } => o.extend_from_slice(data),
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, mut b) = read_ext_header(r)?;
        let ext =
            match typ {
                ExtensionType::SignatureAlgorithms => Self::SignatureAlgorithms(
                    read_nonempty_list(LenWidth::U16, &mut b, "signature_algorithms")?,
                ),
                ExtensionType::SignatureAlgorithmsCert => Self::SignatureAlgorithmsCert(
                    read_nonempty_list(LenWidth::U16, &mut b, "signature_algorithms_cert")?,
                ),
                ExtensionType::CertificateAuthorities => {
                    Self::CertificateAuthorities(read_authorities(&mut b)?)
                }
                _ => Self::Unknown {
                    typ,
                    data: b.rest().to_vec(),
                },
            };
        b.expect_empty("certificate request extension")?;
        Ok(ext)
    }
}

/// An extension in a TLS 1.3 NewSessionTicket (RFC 8446 §4.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewSessionTicketExtension {
    /// early_data: max_early_data_size the ticket allows.
    EarlyData(u32),
    /// Any other extension, kept as raw bytes.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw body.
        data: Vec<u8>,
    },
}

impl NewSessionTicketExtension {
    /// The extension type this value encodes as.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::EarlyData(_) => ExtensionType::EarlyData,
            Self::Unknown { typ, .. } => *typ,
        }
    }
}

impl HasExtType for NewSessionTicketExtension {
    fn ext_type(&self) -> ExtensionType {
        NewSessionTicketExtension::ext_type(self)
    }
}

impl Codec for NewSessionTicketExtension {
    fn encode(&self, out: &mut Vec<u8>) {
        put_ext(self.ext_type(), out, |o| match self {
            Self::EarlyData(n) => put_u32(*n, o),
            Self::Unknown { data, .. } => o.extend_from_slice(data),
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, mut b) = read_ext_header(r)?;
        let ext = match typ {
            ExtensionType::EarlyData => Self::EarlyData(b.u32("max_early_data_size")?),
            _ => Self::Unknown {
                typ,
                data: b.rest().to_vec(),
            },
        };
        b.expect_empty("new session ticket extension")?;
        Ok(ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Debug;

    /// Encode, decode, compare, and re-encode to the same bytes.
    fn round_trip<T: Codec + PartialEq + Debug>(v: &T) -> Vec<u8> {
        let enc = v.get_encoding();
        let dec = T::read_bytes(&enc).unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert_eq!(&dec, v);
        assert_eq!(dec.get_encoding(), enc);
        for n in 0..enc.len() {
            let _ = T::read_bytes(&enc[..n]);
        }
        enc
    }

    fn unknown(typ: u16, data: &[u8]) -> (ExtensionType, Vec<u8>) {
        (ExtensionType::from(typ), data.to_vec())
    }

    fn sample_psks() -> OfferedPsks {
        OfferedPsks {
            identities: vec![
                PskIdentity {
                    identity: b"ticket-one".to_vec(),
                    obfuscated_ticket_age: 0x0102_0304,
                },
                PskIdentity {
                    identity: vec![7; 40],
                    obfuscated_ticket_age: 9,
                },
            ],
            binders: vec![vec![0xaa; 32], vec![0xbb; 48]],
        }
    }

    #[test]
    fn client_extensions_round_trip() {
        let (typ, data) = unknown(0x1234, &[1, 2, 3]);
        let all = vec![
            ClientExtension::ServerName("example.com".into()),
            ClientExtension::SupportedVersions(vec![
                ProtocolVersion::TLSv1_3,
                ProtocolVersion::TLSv1_2,
            ]),
            ClientExtension::KeyShare(vec![
                KeyShareEntry {
                    group: NamedGroup::X25519,
                    payload: vec![1; 32],
                },
                KeyShareEntry {
                    group: NamedGroup::secp256r1,
                    payload: vec![4; 65],
                },
            ]),
            ClientExtension::KeyShare(vec![]),
            ClientExtension::SignatureAlgorithms(vec![
                SignatureScheme::ED25519,
                SignatureScheme::RSA_PSS_RSAE_SHA256,
            ]),
            ClientExtension::SignatureAlgorithmsCert(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
            ClientExtension::SupportedGroups(vec![NamedGroup::X25519, NamedGroup::Unknown(0x99)]),
            ClientExtension::Alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()]),
            ClientExtension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PSK_DHE_KE]),
            ClientExtension::PreSharedKey(sample_psks()),
            ClientExtension::Cookie(vec![5; 20]),
            ClientExtension::EcPointFormats(vec![ECPointFormat::Uncompressed]),
            ClientExtension::ExtendedMasterSecret,
            ClientExtension::RenegotiationInfo(vec![]),
            ClientExtension::RenegotiationInfo(vec![3; 12]),
            ClientExtension::SessionTicket(vec![]),
            ClientExtension::SessionTicket(vec![6; 100]),
            ClientExtension::EarlyData,
            ClientExtension::PostHandshakeAuth,
            ClientExtension::CertificateAuthorities(vec![vec![0x30, 0], vec![0x30, 3, 1, 2, 3]]),
            ClientExtension::Unknown { typ, data },
        ];
        for ext in &all {
            let enc = round_trip(ext);
            assert_eq!(&enc[..2], &ext.ext_type().to_int().to_be_bytes());
        }
    }

    #[test]
    fn server_name_wire_form() {
        let enc = ClientExtension::ServerName("ab".into()).get_encoding();
        assert_eq!(enc, [0, 0, 0, 7, 0, 5, 0, 0, 2, b'a', b'b']);
        // A list holding an unknown name type before the host_name is tolerated.
        let body = [0, 9, 7, 0, 1, b'x', 0, 0, 2, b'a', b'b'];
        let mut wire = vec![0, 0, 0, body.len() as u8];
        wire.extend_from_slice(&body);
        assert_eq!(
            ClientExtension::read_bytes(&wire).unwrap(),
            ClientExtension::ServerName("ab".into())
        );
        // Non-ASCII host names are rejected.
        let bad = [0, 0, 0, 7, 0, 5, 0, 0, 2, 0xc3, 0xa9];
        assert!(matches!(
            ClientExtension::read_bytes(&bad),
            Err(InvalidMessage::InvalidValue(_))
        ));
        // An empty list, or one without a host_name, is rejected.
        assert!(ClientExtension::read_bytes(&[0, 0, 0, 2, 0, 0]).is_err());
        assert!(ClientExtension::read_bytes(&[0, 0, 0, 6, 0, 4, 7, 0, 1, b'x']).is_err());
    }

    #[test]
    fn server_extensions_round_trip() {
        let (typ, data) = unknown(0xfe0d, &[9; 5]);
        let all = vec![
            ServerExtension::SupportedVersions(ProtocolVersion::TLSv1_3),
            ServerExtension::KeyShare(KeyShareEntry {
                group: NamedGroup::X25519,
                payload: vec![2; 32],
            }),
            ServerExtension::PreSharedKey(1),
            ServerExtension::ServerNameAck,
            ServerExtension::Alpn(b"h2".to_vec()),
            ServerExtension::EcPointFormats(vec![ECPointFormat::Uncompressed]),
            ServerExtension::ExtendedMasterSecret,
            ServerExtension::RenegotiationInfo(vec![]),
            ServerExtension::RenegotiationInfo(vec![1; 24]),
            ServerExtension::SessionTicketAck,
            ServerExtension::EarlyData,
            ServerExtension::SupportedGroups(vec![NamedGroup::secp384r1]),
            ServerExtension::Unknown { typ, data },
        ];
        for ext in &all {
            round_trip(ext);
        }
    }

    #[test]
    fn server_alpn_needs_exactly_one_name() {
        let two = ClientExtension::Alpn(vec![b"a".to_vec(), b"b".to_vec()]).get_encoding();
        assert!(matches!(
            ServerExtension::read_bytes(&two),
            Err(InvalidMessage::InvalidValue(_))
        ));
        let empty_name = [0, 16, 0, 3, 0, 1, 0];
        assert!(ServerExtension::read_bytes(&empty_name).is_err());
        let empty_list = [0, 16, 0, 2, 0, 0];
        assert!(ServerExtension::read_bytes(&empty_list).is_err());
    }

    #[test]
    fn other_extensions_round_trip() {
        let (typ, data) = unknown(0x4444, &[]);
        for ext in [
            HelloRetryExtension::KeyShare(NamedGroup::secp256r1),
            HelloRetryExtension::Cookie(vec![1, 2, 3]),
            HelloRetryExtension::SupportedVersions(ProtocolVersion::TLSv1_3),
            HelloRetryExtension::Unknown {
                typ,
                data: data.clone(),
            },
        ] {
            round_trip(&ext);
        }
        for ext in [
            CertReqExtension::SignatureAlgorithms(vec![SignatureScheme::ED25519]),
            CertReqExtension::SignatureAlgorithmsCert(vec![SignatureScheme::RSA_PKCS1_SHA256]),
            CertReqExtension::CertificateAuthorities(vec![vec![0x30, 0]]),
            CertReqExtension::Unknown {
                typ,
                data: data.clone(),
            },
        ] {
            round_trip(&ext);
        }
        for ext in [
            NewSessionTicketExtension::EarlyData(16384),
            NewSessionTicketExtension::Unknown { typ, data },
        ] {
            round_trip(&ext);
        }
    }

    #[test]
    fn empty_bodies_must_be_empty() {
        // extended_master_secret with a byte of body: kept raw (TLS 1.3 ignores it), and
        // refused by the strict check a TLS 1.2 server makes.
        assert!(matches!(
            ClientExtension::read_bytes(&[0, 23, 0, 1, 0]),
            Ok(ClientExtension::Unknown { .. })
        ));
        assert!(matches!(
            ClientExtension::read_body(ExtensionType::ExtendedMasterSecret, Reader::new(&[0])),
            Err(InvalidMessage::TrailingData(_))
        ));
        assert!(matches!(
            ServerExtension::read_bytes(&[0, 0, 0, 1, 0]),
            Err(InvalidMessage::TrailingData(_))
        ));
        // supported_versions in ServerHello with trailing bytes.
        assert!(ServerExtension::read_bytes(&[0, 43, 0, 3, 3, 4, 0]).is_err());
    }

    #[test]
    fn psk_binders_must_match_identities() {
        let mut psks = sample_psks();
        psks.binders.pop();
        let enc = psks.get_encoding();
        assert!(matches!(
            OfferedPsks::read_bytes(&enc),
            Err(InvalidMessage::InvalidValue(_))
        ));

        let empty = OfferedPsks {
            identities: vec![],
            binders: vec![],
        };
        assert!(matches!(
            OfferedPsks::read_bytes(&empty.get_encoding()),
            Err(InvalidMessage::EmptyList(_))
        ));
    }

    #[test]
    fn binders_len_matches_encoding() {
        let psks = sample_psks();
        let enc = psks.get_encoding();
        let mut ids = Vec::new();
        put_list(LenWidth::U16, &psks.identities, &mut ids);
        assert_eq!(enc.len() - ids.len(), psks.binders_encoded_len());
        assert_eq!(psks.binders_encoded_len(), 2 + 33 + 49);
    }

    #[test]
    fn key_share_payload_must_not_be_empty() {
        assert!(matches!(
            KeyShareEntry::read_bytes(&[0, 0x1d, 0, 0]),
            Err(InvalidMessage::EmptyList(_))
        ));
    }

    #[test]
    fn duplicate_extension_is_rejected() {
        let exts = vec![
            ClientExtension::ExtendedMasterSecret,
            ClientExtension::Cookie(vec![1]),
            ClientExtension::ExtendedMasterSecret,
        ];
        let mut out = Vec::new();
        put_extensions(&exts, &mut out);
        let mut r = Reader::new(&out);
        assert_eq!(
            read_extensions::<ClientExtension>(&mut r, "test"),
            Err(InvalidMessage::DuplicateExtension(23))
        );

        // Two unknown extensions of the same type are duplicates too.
        let unk = || ServerExtension::Unknown {
            typ: ExtensionType::Unknown(0x7777),
            data: vec![],
        };
        let mut out = Vec::new();
        put_extensions(&[unk(), unk()], &mut out);
        let mut r = Reader::new(&out);
        assert_eq!(
            read_extensions::<ServerExtension>(&mut r, "test"),
            Err(InvalidMessage::DuplicateExtension(0x7777))
        );
    }

    #[test]
    fn extension_block_round_trip() {
        let exts = vec![
            ServerExtension::SupportedVersions(ProtocolVersion::TLSv1_3),
            ServerExtension::PreSharedKey(0),
        ];
        let mut out = Vec::new();
        put_extensions(&exts, &mut out);
        let mut r = Reader::new(&out);
        assert_eq!(
            read_extensions::<ServerExtension>(&mut r, "t").unwrap(),
            exts
        );
        assert!(!r.any_left());
    }
}
