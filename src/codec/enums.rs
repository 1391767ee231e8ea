//! Every wire enum TLS uses. Each is total: values we do not know decode to `Unknown(n)`
//! and encode back to the same bytes, so an unknown value is never a parse failure by itself.

use super::{Codec, InvalidMessage, Reader, put_u16};

/// Declare a total wire enum over `u8` or `u16` with its IANA names.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident : $uint:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $label:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = $label] $variant, )*
            /// A value this library does not know.
            Unknown($uint),
        }

        impl $name {
            /// The wire value.
            pub const fn to_int(self) -> $uint {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Unknown(v) => v,
                }
            }

            /// The registered name (IANA spelling), or `None` for an unknown value.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($label), )*
                    Self::Unknown(_) => None,
                }
            }

            /// Every value this library knows, in declaration order.
            pub const ALL: &'static [$name] = &[ $( Self::$variant, )* ];
        }

        impl From<$uint> for $name {
            fn from(v: $uint) -> Self {
                match v {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $uint {
            fn from(v: $name) -> $uint {
                v.to_int()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "unknown({:#x})", self.to_int()),
                }
            }
        }

        wire_enum!(@codec $name $uint);
    };
    (@codec $name:ident u8) => {
        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.push(self.to_int());
            }
            fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                Ok(Self::from(r.u8(stringify!($name))?))
            }
        }
    };
    (@codec $name:ident u16) => {
        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                put_u16(self.to_int(), out);
            }
            fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                Ok(Self::from(r.u16(stringify!($name))?))
            }
        }
    };
}

wire_enum! {
    /// The record content type (the record header's first byte).
    ContentType: u8 {
        ChangeCipherSpec = 20 => "change_cipher_spec",
        Alert = 21 => "alert",
        Handshake = 22 => "handshake",
        ApplicationData = 23 => "application_data",
        Heartbeat = 24 => "heartbeat",
    }
}

wire_enum! {
    /// The handshake message type (the handshake header's first byte).
    HandshakeType: u8 {
        HelloRequest = 0 => "HelloRequest",
        ClientHello = 1 => "ClientHello",
        ServerHello = 2 => "ServerHello",
        NewSessionTicket = 4 => "NewSessionTicket",
        EndOfEarlyData = 5 => "EndOfEarlyData",
        EncryptedExtensions = 8 => "EncryptedExtensions",
        Certificate = 11 => "Certificate",
        ServerKeyExchange = 12 => "ServerKeyExchange",
        CertificateRequest = 13 => "CertificateRequest",
        ServerHelloDone = 14 => "ServerHelloDone",
        CertificateVerify = 15 => "CertificateVerify",
        ClientKeyExchange = 16 => "ClientKeyExchange",
        Finished = 20 => "Finished",
        CertificateStatus = 22 => "CertificateStatus",
        KeyUpdate = 24 => "KeyUpdate",
        MessageHash = 254 => "message_hash",
    }
}

wire_enum! {
    /// Alert level (RFC 8446 §6).
    AlertLevel: u8 {
        Warning = 1 => "warning",
        Fatal = 2 => "fatal",
    }
}

wire_enum! {
    /// Alert description (RFC 8446 §6, RFC 5246 §7.2).
    AlertDescription: u8 {
        CloseNotify = 0 => "close_notify",
        UnexpectedMessage = 10 => "unexpected_message",
        BadRecordMac = 20 => "bad_record_mac",
        DecryptionFailed = 21 => "decryption_failed",
        RecordOverflow = 22 => "record_overflow",
        DecompressionFailure = 30 => "decompression_failure",
        HandshakeFailure = 40 => "handshake_failure",
        NoCertificate = 41 => "no_certificate",
        BadCertificate = 42 => "bad_certificate",
        UnsupportedCertificate = 43 => "unsupported_certificate",
        CertificateRevoked = 44 => "certificate_revoked",
        CertificateExpired = 45 => "certificate_expired",
        CertificateUnknown = 46 => "certificate_unknown",
        IllegalParameter = 47 => "illegal_parameter",
        UnknownCa = 48 => "unknown_ca",
        AccessDenied = 49 => "access_denied",
        DecodeError = 50 => "decode_error",
        DecryptError = 51 => "decrypt_error",
        ExportRestriction = 60 => "export_restriction",
        ProtocolVersion = 70 => "protocol_version",
        InsufficientSecurity = 71 => "insufficient_security",
        InternalError = 80 => "internal_error",
        InappropriateFallback = 86 => "inappropriate_fallback",
        UserCanceled = 90 => "user_canceled",
        NoRenegotiation = 100 => "no_renegotiation",
        MissingExtension = 109 => "missing_extension",
        UnsupportedExtension = 110 => "unsupported_extension",
        CertificateUnobtainable = 111 => "certificate_unobtainable",
        UnrecognisedName = 112 => "unrecognized_name",
        BadCertificateStatusResponse = 113 => "bad_certificate_status_response",
        BadCertificateHashValue = 114 => "bad_certificate_hash_value",
        UnknownPskIdentity = 115 => "unknown_psk_identity",
        CertificateRequired = 116 => "certificate_required",
        NoApplicationProtocol = 120 => "no_application_protocol",
    }
}

wire_enum! {
    /// Protocol version as it appears on the wire.
    ProtocolVersion: u16 {
        SSLv2 = 0x0200 => "SSLv2",
        SSLv3 = 0x0300 => "SSLv3",
        TLSv1_0 = 0x0301 => "TLSv1.0",
        TLSv1_1 = 0x0302 => "TLSv1.1",
        TLSv1_2 = 0x0303 => "TLSv1.2",
        TLSv1_3 = 0x0304 => "TLSv1.3",
    }
}

wire_enum! {
    /// Cipher suites (IANA names). Only the ones we implement, the signalling values, and
    /// the legacy suites we recognise in order to name them in error details.
    CipherSuite: u16 {
        TLS_AES_128_GCM_SHA256 = 0x1301 => "TLS_AES_128_GCM_SHA256",
        TLS_AES_256_GCM_SHA384 = 0x1302 => "TLS_AES_256_GCM_SHA384",
        TLS_CHACHA20_POLY1305_SHA256 = 0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        TLS_AES_128_CCM_SHA256 = 0x1304 => "TLS_AES_128_CCM_SHA256",
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        TLS_RSA_WITH_AES_256_GCM_SHA384 = 0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        TLS_RSA_WITH_AES_128_CBC_SHA = 0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        TLS_RSA_WITH_AES_256_CBC_SHA = 0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA = 0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA = 0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        TLS_FALLBACK_SCSV = 0x5600 => "TLS_FALLBACK_SCSV",
    }
}

wire_enum! {
    /// Named groups for key exchange (RFC 8446 §4.2.7).
    NamedGroup: u16 {
        secp256r1 = 0x0017 => "P-256",
        secp384r1 = 0x0018 => "P-384",
        secp521r1 = 0x0019 => "P-521",
        X25519 = 0x001d => "X25519",
        X448 = 0x001e => "X448",
        FFDHE2048 = 0x0100 => "ffdhe2048",
        MLKEM1024 = 0x0202 => "MLKEM1024",
        SecP256r1MLKEM768 = 0x11eb => "SecP256r1MLKEM768",
        X25519MLKEM768 = 0x11ec => "X25519MLKEM768",
        SecP384r1MLKEM1024 = 0x11ed => "SecP384r1MLKEM1024",
    }
}

wire_enum! {
    /// Signature schemes (RFC 8446 §4.2.3).
    SignatureScheme: u16 {
        RSA_PKCS1_SHA1 = 0x0201 => "rsa_pkcs1_sha1",
        ECDSA_SHA1_Legacy = 0x0203 => "ecdsa_sha1",
        RSA_PKCS1_SHA256 = 0x0401 => "rsa_pkcs1_sha256",
        ECDSA_NISTP256_SHA256 = 0x0403 => "ecdsa_secp256r1_sha256",
        RSA_PKCS1_SHA384 = 0x0501 => "rsa_pkcs1_sha384",
        ECDSA_NISTP384_SHA384 = 0x0503 => "ecdsa_secp384r1_sha384",
        RSA_PKCS1_SHA512 = 0x0601 => "rsa_pkcs1_sha512",
        ECDSA_NISTP521_SHA512 = 0x0603 => "ecdsa_secp521r1_sha512",
        RSA_PSS_RSAE_SHA256 = 0x0804 => "rsa_pss_rsae_sha256",
        RSA_PSS_RSAE_SHA384 = 0x0805 => "rsa_pss_rsae_sha384",
        RSA_PSS_RSAE_SHA512 = 0x0806 => "rsa_pss_rsae_sha512",
        ED25519 = 0x0807 => "ed25519",
        ED448 = 0x0808 => "ed448",
        RSA_PSS_PSS_SHA256 = 0x0809 => "rsa_pss_pss_sha256",
        RSA_PSS_PSS_SHA384 = 0x080a => "rsa_pss_pss_sha384",
        RSA_PSS_PSS_SHA512 = 0x080b => "rsa_pss_pss_sha512",
    }
}

wire_enum! {
    /// Extension types (IANA TLS ExtensionType registry).
    ExtensionType: u16 {
        ServerName = 0 => "server_name",
        MaxFragmentLength = 1 => "max_fragment_length",
        StatusRequest = 5 => "status_request",
        SupportedGroups = 10 => "supported_groups",
        EcPointFormats = 11 => "ec_point_formats",
        SignatureAlgorithms = 13 => "signature_algorithms",
        UseSrtp = 14 => "use_srtp",
        Heartbeat = 15 => "heartbeat",
        ALProtocolNegotiation = 16 => "application_layer_protocol_negotiation",
        SCT = 18 => "signed_certificate_timestamp",
        Padding = 21 => "padding",
        EncryptThenMac = 22 => "encrypt_then_mac",
        ExtendedMasterSecret = 23 => "extended_master_secret",
        CompressCertificate = 27 => "compress_certificate",
        SessionTicket = 35 => "session_ticket",
        PreSharedKey = 41 => "pre_shared_key",
        EarlyData = 42 => "early_data",
        SupportedVersions = 43 => "supported_versions",
        Cookie = 44 => "cookie",
        PSKKeyExchangeModes = 45 => "psk_key_exchange_modes",
        CertificateAuthorities = 47 => "certificate_authorities",
        OIDFilters = 48 => "oid_filters",
        PostHandshakeAuth = 49 => "post_handshake_auth",
        SignatureAlgorithmsCert = 50 => "signature_algorithms_cert",
        KeyShare = 51 => "key_share",
        RenegotiationInfo = 0xff01 => "renegotiation_info",
    }
}

wire_enum! {
    /// Legacy compression methods; only `Null` is ever acceptable.
    Compression: u8 {
        Null = 0 => "null",
        Deflate = 1 => "deflate",
    }
}

wire_enum! {
    /// EC point formats (RFC 8422 §5.1.2); TLS 1.2 only.
    ECPointFormat: u8 {
        Uncompressed = 0 => "uncompressed",
    }
}

wire_enum! {
    /// PSK key exchange modes (RFC 8446 §4.2.9).
    PskKeyExchangeMode: u8 {
        PSK_KE = 0 => "psk_ke",
        PSK_DHE_KE = 1 => "psk_dhe_ke",
    }
}

wire_enum! {
    /// The KeyUpdate request flag (RFC 8446 §4.6.3).
    KeyUpdateRequest: u8 {
        UpdateNotRequested = 0 => "update_not_requested",
        UpdateRequested = 1 => "update_requested",
    }
}

wire_enum! {
    /// TLS 1.2 ClientCertificateType (RFC 5246 §7.4.4).
    ClientCertificateType: u8 {
        RSASign = 1 => "rsa_sign",
        ECDSASign = 64 => "ecdsa_sign",
    }
}

wire_enum! {
    /// TLS 1.2 ECCurveType in ServerKeyExchange (RFC 8422 §5.4).
    ECCurveType: u8 {
        ExplicitPrime = 1 => "explicit_prime",
        ExplicitChar2 = 2 => "explicit_char2",
        NamedCurve = 3 => "named_curve",
    }
}

impl ProtocolVersion {
    /// The name as Python's `ssl` and libtls spell it ("TLSv1.3").
    pub fn display_name(self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_round_trip() {
        for v in 0u16..=0x1400 {
            let s = CipherSuite::from(v);
            assert_eq!(s.to_int(), v);
            let enc = s.get_encoding();
            assert_eq!(CipherSuite::read_bytes(&enc).unwrap(), s);
        }
        for v in 0u8..=255 {
            assert_eq!(AlertDescription::from(v).to_int(), v);
            assert_eq!(HandshakeType::read_bytes(&[v]).unwrap().to_int(), v);
            assert_eq!(ContentType::from(v).to_int(), v);
        }
        assert_eq!(NamedGroup::X25519.to_int(), 0x1d);
        assert_eq!(NamedGroup::from(0x1d), NamedGroup::X25519);
        assert_eq!(NamedGroup::Unknown(0x99).to_string(), "unknown(0x99)");
        assert_eq!(
            AlertDescription::HandshakeFailure.to_string(),
            "handshake_failure"
        );
        assert_eq!(ProtocolVersion::TLSv1_3.to_string(), "TLSv1.3");
    }

    #[test]
    fn truncated_enum_is_an_error() {
        assert!(SignatureScheme::read_bytes(&[4]).is_err());
        assert!(ExtensionType::read_bytes(&[0, 0, 0]).is_err());
    }
}
