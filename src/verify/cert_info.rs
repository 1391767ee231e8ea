//! Human-readable facts about a certificate (subject, issuer, dates, names), for summaries and
//! for the details of verification errors.

use std::net::{Ipv4Addr, Ipv6Addr};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// What a certificate says about itself, formatted for people.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject as "CN=localhost, O=Demo" (attributes in certificate order).
    pub subject: String,
    /// The issuer, formatted like `subject`.
    pub issuer: String,
    /// The first common name of the subject, if any.
    pub common_name: Option<String>,
    /// Start of validity, "2025-01-02 03:04:05 UTC".
    pub not_before: String,
    /// End of validity, "2025-01-02 03:04:05 UTC".
    pub not_after: String,
    /// Start of validity in seconds since the Unix epoch.
    pub not_before_unix: i64,
    /// End of validity in seconds since the Unix epoch.
    pub not_after_unix: i64,
    /// The serial number as colon-separated hex bytes ("01:a2:ff").
    pub serial_hex: String,
    /// DNS names from the subject alternative name extension.
    pub dns_names: Vec<String>,
    /// IP addresses from the subject alternative name extension.
    pub ip_addresses: Vec<String>,
    /// Whether basic constraints mark the certificate as a CA.
    pub is_ca: bool,
    /// Whether the issuer name equals the subject name (self-issued, usually self-signed).
    pub self_issued: bool,
}

impl CertInfo {
    /// A quoted short name for messages: "'CN=localhost'", or the full subject when there is
    /// no common name.
    pub fn short_name(&self) -> String {
        match (&self.common_name, self.subject.is_empty()) {
            (Some(cn), _) => format!("'CN={cn}'"),
            (None, false) => format!("'{}'", self.subject),
            (None, true) => format!("(empty subject, serial {})", self.serial_hex),
        }
    }

    /// The names the certificate is valid for: "DNS:localhost, IP:127.0.0.1".
    pub fn san_list(&self) -> String {
        let dns = self.dns_names.iter().map(|n| format!("DNS:{n}"));
        let ips = self.ip_addresses.iter().map(|n| format!("IP:{n}"));
        dns.chain(ips).collect::<Vec<_>>().join(", ")
    }
}

/// The certificate's notAfter as Unix seconds, without building a whole [`CertInfo`].
pub(crate) fn not_after_unix(der: &[u8]) -> Option<i64> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// Parse a DER certificate into a [`CertInfo`]; `None` if it is not a parsable X.509 certificate.
pub fn describe(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject();
    let issuer = cert.issuer();
    let validity = cert.validity();
    let mut info = CertInfo {
        subject: name_to_string(subject),
        issuer: name_to_string(issuer),
        common_name: first_common_name(subject),
        not_before_unix: validity.not_before.timestamp(),
        not_after_unix: validity.not_after.timestamp(),
        serial_hex: cert.raw_serial_as_string(),
        is_ca: cert.is_ca(),
        self_issued: subject.as_raw() == issuer.as_raw(),
        ..CertInfo::default()
    };
    info.not_before = format_unix_time(info.not_before_unix);
    info.not_after = format_unix_time(info.not_after_unix);
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => info.dns_names.push((*d).to_string()),
                GeneralName::IPAddress(ip) => info.ip_addresses.push(format_ip(ip)),
                _ => {}
            }
        }
    }
    Some(info)
}

/// The DER subject Name (with its SEQUENCE header) of a certificate, as stored in the
/// certificate.
pub(crate) fn subject_der(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.subject().as_raw().to_vec())
}

/// The DER issuer Name (with its SEQUENCE header) of a certificate.
pub(crate) fn issuer_der(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.issuer().as_raw().to_vec())
}

/// Format a DER-encoded Name (with its SEQUENCE header, as in [`super::RootStore::subjects`] or a
/// CertificateRequest) like [`CertInfo::subject`]; `None` if it does not parse.
pub fn name_from_der(der: &[u8]) -> Option<String> {
    let (_, name) = X509Name::from_der(der).ok()?;
    Some(name_to_string(&name))
}

/// The size in bits of the certificate's RSA key; `None` for other keys or a bad encoding.
pub(crate) fn rsa_key_bits(der: &[u8]) -> Option<usize> {
    use x509_parser::public_key::PublicKey;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(rsa.key_size()),
        _ => None,
    }
}

/// A short description of the certificate's public key: "EC P-256", "RSA 2048-bit", "Ed25519".
pub(crate) fn key_description(der: &[u8]) -> Option<String> {
    use x509_parser::public_key::PublicKey;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    Some(match oid.as_str() {
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|c| c.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC P-256".into(),
                Some("1.3.132.0.34") => "EC P-384".into(),
                Some("1.3.132.0.35") => "EC P-521".into(),
                Some(other) => format!("EC (curve {other})"),
                None => "EC".into(),
            }
        }
        "1.2.840.113549.1.1.1" => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("RSA {}-bit", rsa.key_size()),
            _ => "RSA".into(),
        },
        "1.2.840.113549.1.1.10" => "RSA-PSS".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        other => format!("unknown key type (OID {other})"),
    })
}

fn name_to_string(name: &X509Name<'_>) -> String {
    name.to_string()
}

fn first_common_name(name: &X509Name<'_>) -> Option<String> {
    let attr = name.iter_common_name().next()?;
    match attr.as_str() {
        Ok(s) => Some(s.to_string()),
        Err(_) => Some(String::from_utf8_lossy(attr.as_slice()).into_owned()),
    }
}

fn format_ip(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ipv6Addr::from(v6).to_string()
    } else {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Format seconds since the Unix epoch as "2025-01-02 03:04:05 UTC" (proleptic Gregorian).
pub fn format_unix_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_unix_times() {
        assert_eq!(format_unix_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix_time(1_735_787_045), "2025-01-02 03:04:05 UTC");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_unix_time(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_unix_time(253_402_300_799), "9999-12-31 23:59:59 UTC");
    }

    #[test]
    fn describes_a_certificate() {
        let mut params =
            rcgen::CertificateParams::new(vec!["a.test".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "a");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Demo");
        params.not_before = rcgen::date_time_ymd(2025, 1, 2);
        params.not_after = rcgen::date_time_ymd(2026, 1, 2);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = describe(cert.der()).unwrap();
        assert_eq!(info.subject, "CN=a, O=Demo");
        assert_eq!(info.issuer, info.subject);
        assert!(info.self_issued);
        assert!(!info.is_ca);
        assert_eq!(info.short_name(), "'CN=a'");
        assert_eq!(info.san_list(), "DNS:a.test, IP:127.0.0.1");
        assert_eq!(info.not_before, "2025-01-02 00:00:00 UTC");
        assert_eq!(info.not_after, "2026-01-02 00:00:00 UTC");
        assert_eq!(key_description(cert.der()).unwrap(), "EC P-256");
        assert!(describe(b"garbage").is_none());
        let subject = subject_der(cert.der()).unwrap();
        assert_eq!(subject[0], 0x30);
        assert_eq!(name_from_der(&subject).unwrap(), "CN=a, O=Demo");
    }

    #[test]
    fn short_name_without_cn_uses_subject() {
        let info = CertInfo {
            subject: "O=Demo".into(),
            ..CertInfo::default()
        };
        assert_eq!(info.short_name(), "'O=Demo'");
    }
}
