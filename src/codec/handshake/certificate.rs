//! Certificate and CertificateRequest bodies (both versions) and the CertificateVerify signature.

use std::collections::HashSet;

use crate::codec::enums::{ClientCertificateType, ExtensionType, SignatureScheme};
use crate::codec::extensions::{
    CertReqExtension, DistinguishedName, put_extensions, read_extensions,
};
use crate::codec::{
    Codec, InvalidMessage, LenWidth, Reader, put_bytes_list, put_list, put_prefixed, put_u16,
    put_vec_u8, put_vec_u16, put_vec_u24, read_bytes_list, read_list, read_nonempty_list,
};

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
