//! Loading certificates and private keys from PEM, with errors that say what the file held
//! instead of what we wanted.

use std::path::Path;

use pki_types::pem::PemObject;
use pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::Error;

/// Labels of the PEM blocks we accept as private keys.
const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"];

/// Every certificate in `pem`, in order. `source` names the input in error messages
/// (a file name, or something like "the --cert argument").
pub fn certs_from_pem(pem: &[u8], source: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        match item {
            Ok(cert) => certs.push(cert),
            Err(e) => return Err(pem_error(source, &e)),
        }
    }
    if certs.is_empty() {
        return Err(Error::Pem(no_block_message(
            pem,
            source,
            "CERTIFICATE block",
            true,
        )));
    }
    Ok(certs)
}

/// Every certificate in the PEM file at `path`.
pub fn certs_from_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read_file(path, "certificate")?;
    certs_from_pem(&pem, &path.display().to_string())
}

/// The first private key in `pem`: a "PRIVATE KEY" (PKCS#8), "EC PRIVATE KEY" (SEC1) or
/// "RSA PRIVATE KEY" (PKCS#1) block.
pub fn private_key_from_pem(pem: &[u8], source: &str) -> Result<PrivateKeyDer<'static>, Error> {
    if let Some(item) = PrivateKeyDer::pem_slice_iter(pem).next() {
        return item.map_err(|e| pem_error(source, &e));
    }
    let labels = pem_labels(pem);
    if labels.iter().any(|l| l == "ENCRYPTED PRIVATE KEY") {
        return Err(Error::Key(format!(
            "the private key in '{source}' is encrypted; decrypt it with \
             `openssl pkey -in {source} -out {source}.plain.pem` and use the decrypted file"
        )));
    }
    if labels.iter().any(|l| l == "OPENSSH PRIVATE KEY") {
        return Err(Error::Key(format!(
            "'{source}' holds an OpenSSH private key, which TLS cannot use; convert it with \
             `ssh-keygen -p -m PKCS8 -f {source}` or create a new key with `openssl genpkey`"
        )));
    }
    Err(Error::Pem(no_block_message(
        pem,
        source,
        "private key block (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)",
        false,
    )))
}

/// The first private key in the PEM file at `path`; see [`private_key_from_pem`].
pub fn private_key_from_file(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read_file(path, "key")?;
    private_key_from_pem(&pem, &path.display().to_string())
}

/// Read a whole file, mapping failure to `Error::File` ("cannot read key file '…': …").
pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|e| Error::File(format!("cannot read {what} file '{}': {e}", path.display())))
}

/// The labels of every "-----BEGIN <label>-----" line in `pem`.
fn pem_labels(pem: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(pem);
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("-----BEGIN ")?;
            let label = rest.strip_suffix("-----")?;
            Some(label.to_string())
        })
        .collect()
}

/// "'x.pem' contains no CERTIFICATE block (found a PRIVATE KEY block); did you swap …?"
fn no_block_message(pem: &[u8], source: &str, wanted: &str, wanted_cert: bool) -> String {
    let labels = pem_labels(pem);
    if labels.is_empty() {
        let hint = if pem.first() == Some(&0x30) {
            "; it looks like binary DER: convert it with \
             `openssl x509 -inform der -in FILE -out FILE.pem` (or `openssl pkey` for a key)"
        } else if pem.iter().all(|b| b.is_ascii_whitespace()) {
            " (it is empty)"
        } else {
            " (no PEM \"-----BEGIN\" line at all)"
        };
        return format!("'{source}' contains no {wanted}{hint}");
    }
    let mut found: Vec<String> = Vec::new();
    for l in &labels {
        let s = format!("a {l} block");
        if !found.contains(&s) {
            found.push(s);
        }
    }
    let mut msg = format!(
        "'{source}' contains no {wanted} (found {})",
        found.join(", ")
    );
    let has_key = labels.iter().any(|l| KEY_LABELS.contains(&l.as_str()));
    let has_cert = labels.iter().any(|l| l == "CERTIFICATE");
    if (wanted_cert && has_key) || (!wanted_cert && has_cert) {
        msg.push_str("; were the certificate and the key swapped?");
    }
    msg
}

/// A PEM parse failure in words: pki-types reports section labels as byte lists.
fn pem_error(source: &str, e: &pki_types::pem::Error) -> Error {
    use pki_types::pem::Error as E;
    let what = match e {
        E::MissingSectionEnd { end_marker } => format!(
            "the PEM block has no \"-----END {}-----\" line: the file is truncated or damaged",
            String::from_utf8_lossy(end_marker)
        ),
        E::IllegalSectionStart { line } => {
            format!(
                "a malformed \"-----BEGIN\" line: {}",
                String::from_utf8_lossy(line)
            )
        }
        E::Base64Decode(d) => format!("the base64 body is damaged ({d})"),
        other => other.to_string(),
    };
    Error::Pem(format!("cannot parse PEM in '{source}': {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed_pem() -> (String, String) {
        let ck = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).unwrap();
        (ck.cert.pem(), ck.key_pair.serialize_pem())
    }

    #[test]
    fn loads_certificates() {
        let (cert, _) = self_signed_pem();
        let two = format!("{cert}{cert}");
        assert_eq!(certs_from_pem(two.as_bytes(), "two.pem").unwrap().len(), 2);
    }

    #[test]
    fn key_instead_of_certificate_suggests_a_swap() {
        let (_, key) = self_signed_pem();
        let err = certs_from_pem(key.as_bytes(), "key.pem").unwrap_err();
        assert_eq!(
            err,
            Error::Pem(
                "'key.pem' contains no CERTIFICATE block (found a PRIVATE KEY block); \
                 were the certificate and the key swapped?"
                    .into()
            )
        );
        let (cert, _) = self_signed_pem();
        let err = private_key_from_pem(cert.as_bytes(), "cert.pem").unwrap_err();
        assert!(
            err.to_string()
                .contains("were the certificate and the key swapped?"),
            "{err}"
        );
    }

    #[test]
    fn garbage_and_truncation_are_pem_errors() {
        let err = certs_from_pem(b"hello world", "x.pem").unwrap_err();
        assert!(
            matches!(err, Error::Pem(ref s) if s.contains("no PEM")),
            "{err}"
        );
        let (cert, _) = self_signed_pem();
        let truncated = &cert.as_bytes()[..cert.len() / 2];
        let err = certs_from_pem(truncated, "t.pem").unwrap_err();
        assert!(
            matches!(err, Error::Pem(ref s) if s.contains("'t.pem'")),
            "{err}"
        );
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = certs_from_pem(bad.as_bytes(), "b.pem").unwrap_err();
        assert!(
            matches!(err, Error::Pem(ref s) if s.contains("base64")),
            "{err}"
        );
    }

    #[test]
    fn encrypted_key_is_explained() {
        let pem =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = private_key_from_pem(pem.as_bytes(), "k.pem").unwrap_err();
        assert!(
            matches!(err, Error::Key(ref s) if s.contains("openssl pkey -in k.pem")),
            "{err}"
        );
    }

    #[test]
    fn missing_file_is_a_file_error() {
        let err = certs_from_file(Path::new("/nonexistent/x.pem")).unwrap_err();
        assert_eq!(
            err,
            Error::File(
                "cannot read certificate file '/nonexistent/x.pem': \
                 No such file or directory (os error 2)"
                    .into()
            )
        );
    }

    fn openssl(args: &[&str]) -> Option<Vec<u8>> {
        let out = std::process::Command::new("/usr/bin/openssl")
            .args(args)
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    }

    #[test]
    fn loads_all_three_key_labels() {
        let (_, pkcs8) = self_signed_pem();
        assert!(matches!(
            private_key_from_pem(pkcs8.as_bytes(), "p8.pem").unwrap(),
            PrivateKeyDer::Pkcs8(_)
        ));
        let dir = std::env::temp_dir().join(format!("ferrotls-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let Some(sec1) = openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout"]) else {
            eprintln!("openssl CLI not available; skipping SEC1/PKCS#1 checks");
            return;
        };
        let sec1_path = dir.join("sec1.pem");
        std::fs::write(&sec1_path, &sec1).unwrap();
        assert!(matches!(
            private_key_from_file(&sec1_path).unwrap(),
            PrivateKeyDer::Sec1(_)
        ));
        let pkcs1 = openssl(&["genrsa", "-traditional", "2048"]).unwrap();
        let pkcs1_path = dir.join("pkcs1.pem");
        std::fs::write(&pkcs1_path, &pkcs1).unwrap();
        assert!(matches!(
            private_key_from_file(&pkcs1_path).unwrap(),
            PrivateKeyDer::Pkcs1(_)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
