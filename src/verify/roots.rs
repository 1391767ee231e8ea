//! The set of trust anchors certificates are verified against.

use std::path::{Path, PathBuf};

use pki_types::{CertificateDer, TrustAnchor};

use super::pem::{certs_from_pem, read_file};
use crate::error::{CertErrorKind, Error};

/// CA bundle files tried by [`RootStore::add_system`], in order.
const SYSTEM_FILES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// CA directory tried by [`RootStore::add_system`] after the files.
const SYSTEM_DIR: &str = "/etc/ssl/certs";

/// Trusted root certificates, with their subject names for the CertificateAuthorities
/// extension and the TLS 1.2 CertificateRequest.
#[derive(Clone, Default)]
pub struct RootStore {
    anchors: Vec<TrustAnchor<'static>>,
    /// DER subject Names (with the SEQUENCE header), parallel to `anchors`.
    names: Vec<Vec<u8>>,
    /// Where the anchors came from, for [`RootStore::describe`].
    sources: Vec<String>,
    /// The identity of each anchor (see [`anchor_id`]): the same root added twice (a CA
    /// bundle loaded on every connection, as `requests` does) is kept once.
    seen: std::collections::HashSet<[u8; 32]>,
    /// Chains that verified against these anchors (see `cache`); replaced whenever the
    /// anchors change, so a result never outlives the store it was checked against.
    pub(crate) verified: std::sync::Arc<super::cache::VerifiedChains>,
    /// Whether `verified` is consulted at all.
    pub(crate) cache_off: bool,
    /// Certificate revocation lists, and whether (and how deep) to check them.
    pub(crate) crls: Vec<std::sync::Arc<webpki::CertRevocationList<'static>>>,
    pub(crate) revocation: Option<RevocationScope>,
}

/// Which certificates of a chain are checked against the CRLs (see
/// [`RootStore::set_revocation_check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationScope {
    /// The end entity only.
    EndEntity,
    /// The end entity and every intermediate.
    Chain,
}

impl RootStore {
    /// Turn the verified-chain cache on (the default) or off.
    pub fn set_verified_chain_cache(&mut self, enabled: bool) {
        self.cache_off = !enabled;
        self.verified = Default::default();
    }

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a certificate revocation list (DER, RFC 5280 §5), checked when revocation checks
    /// are on ([`Self::set_revocation_check`]). Its signature is verified against its issuer
    /// when a chain is checked.
    pub fn add_crl_der(&mut self, der: &[u8]) -> Result<(), Error> {
        let crl = webpki::OwnedCertRevocationList::from_der(der).map_err(|e| {
            Error::cert(
                CertErrorKind::BadEncoding,
                format!("the certificate revocation list is not valid DER ({e:?})"),
            )
        })?;
        self.crls.push(std::sync::Arc::new(crl.into()));
        self.verified = Default::default();
        Ok(())
    }

    /// Check chains against the CRLs (`None`: no revocation checks, the default). A certificate
    /// whose issuer has no CRL here is refused (its status is unknown), and so is one checked
    /// against an expired CRL: revocation checking asked for is never skipped. The
    /// verified-chain cache is off while checks are on, so a new CRL applies at once.
    pub fn set_revocation_check(&mut self, scope: Option<RevocationScope>) {
        self.revocation = scope;
        self.cache_off = scope.is_some() || self.cache_off;
        self.verified = Default::default();
    }

    /// Add every CERTIFICATE block of `pem`; `source` names the input in messages.
    /// Returns how many anchors were added. Fails if there is no certificate or one is unusable.
    pub fn add_pem(&mut self, pem: &[u8], source: &str) -> Result<usize, Error> {
        let certs = certs_from_pem(pem, source)?;
        let mut fresh = Self::default();
        for (i, cert) in certs.iter().enumerate() {
            fresh.add_der(cert).map_err(|e| {
                Error::cert(
                    CertErrorKind::BadEncoding,
                    format!(
                        "certificate #{} in '{source}' cannot be a trust anchor: {}",
                        i + 1,
                        e.detail()
                    ),
                )
            })?;
        }
        // Only the anchors not already here are added, so a repeated load costs no memory
        // and keeps the verified-chain cache.
        let before = self.anchors.len();
        for (anchor, name) in fresh.anchors.into_iter().zip(fresh.names) {
            self.insert(anchor, name);
        }
        self.note_source(source);
        Ok(self.anchors.len() - before)
    }

    /// Keep `anchor` unless an identical one is already here; true if it was new. A new
    /// anchor empties the verified-chain cache (its results were checked against fewer).
    fn insert(&mut self, anchor: TrustAnchor<'static>, name: Vec<u8>) -> bool {
        if !self.seen.insert(anchor_id(&anchor)) {
            return false;
        }
        self.names.push(name);
        self.anchors.push(anchor);
        self.verified = Default::default();
        true
    }

    /// Add one DER certificate as a trust anchor.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), Error> {
        let cert = CertificateDer::from(der);
        let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
            let who = super::cert_info::describe(der)
                .map(|i| i.short_name())
                .unwrap_or_else(|| "the certificate".into());
            Error::cert(
                CertErrorKind::BadEncoding,
                format!("{who} cannot be used as a trust anchor: {e:?}"),
            )
        })?;
        let anchor = anchor.to_owned();
        let name = der_sequence(anchor.subject.as_ref());
        self.insert(anchor, name);
        Ok(())
    }

    /// Add the certificates of a PEM file, or, when `path` is a directory, of every regular
    /// file in it that holds PEM certificates (other files are skipped). Returns how many
    /// anchors were added.
    pub fn add_file(&mut self, path: &Path) -> Result<usize, Error> {
        let shown = path.display().to_string();
        if path.is_dir() {
            let n = self.add_dir(path)?;
            if n == 0 {
                return Err(Error::Pem(format!(
                    "the CA directory '{shown}' contains no file with a usable PEM certificate"
                )));
            }
            self.note_source(&shown);
            return Ok(n);
        }
        let pem = read_file(path, "CA")?;
        self.add_pem(&pem, &shown)
    }

    /// Add the operating system's trust store: the file in `SSL_CERT_FILE` and the
    /// directories in `SSL_CERT_DIR` (colon-separated) when either is set; otherwise the first
    /// bundle found among the usual Linux locations, else the directory `/etc/ssl/certs`.
    pub fn add_system(&mut self) -> Result<usize, Error> {
        let file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let dirs: Vec<PathBuf> = std::env::var_os("SSL_CERT_DIR")
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        self.add_system_from(file, &dirs)
    }

    /// [`RootStore::add_system`] with the environment already read.
    fn add_system_from(&mut self, file: Option<PathBuf>, dirs: &[PathBuf]) -> Result<usize, Error> {
        let from_env = file.is_some() || !dirs.is_empty();
        let mut tried: Vec<String> = Vec::new();
        let mut total = 0;
        if from_env {
            if let Some(f) = file {
                match self.add_bundle(&f) {
                    Ok(n) => total += n,
                    Err(e) => tried.push(format!("SSL_CERT_FILE={} ({})", f.display(), e.detail())),
                }
            }
            for d in dirs {
                match self.add_dir(d) {
                    Ok(0) => tried.push(format!("SSL_CERT_DIR {} (no certificates)", d.display())),
                    Ok(n) => {
                        total += n;
                        self.note_source(&d.display().to_string());
                    }
                    Err(e) => tried.push(format!("SSL_CERT_DIR {} ({})", d.display(), e.detail())),
                }
            }
        } else {
            for f in SYSTEM_FILES {
                match self.add_bundle(Path::new(f)) {
                    Ok(n) => return Ok(n),
                    Err(e) => tried.push(format!("{f} ({})", e.detail())),
                }
            }
            match self.add_dir(Path::new(SYSTEM_DIR)) {
                Ok(0) => tried.push(format!("{SYSTEM_DIR} (no certificates)")),
                Ok(n) => {
                    self.note_source(SYSTEM_DIR);
                    return Ok(n);
                }
                Err(e) => tried.push(format!("{SYSTEM_DIR} ({})", e.detail())),
            }
        }
        if total > 0 {
            return Ok(total);
        }
        Err(Error::Config(format!(
            "no system trust store found; tried: {}. Install the ca-certificates package, \
             set SSL_CERT_FILE, or load a CA file",
            tried.join("; ")
        )))
    }

    /// Load a bundle file leniently: skip certificates that cannot be trust anchors.
    fn add_bundle(&mut self, path: &Path) -> Result<usize, Error> {
        let shown = path.display().to_string();
        let pem = read_file(path, "CA")?;
        let n = self.add_lenient(&pem, &shown)?;
        if n == 0 {
            return Err(Error::Pem(format!("'{shown}' holds no usable certificate")));
        }
        self.note_source(&shown);
        Ok(n)
    }

    /// Add every usable certificate of every regular file in `dir`, skipping what does not parse.
    fn add_dir(&mut self, dir: &Path) -> Result<usize, Error> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::File(format!("cannot read CA directory '{}': {e}", dir.display()))
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        let mut total = 0;
        for p in paths {
            if let Ok(pem) = std::fs::read(&p) {
                total += self
                    .add_lenient(&pem, &p.display().to_string())
                    .unwrap_or(0);
            }
        }
        Ok(total)
    }

    /// Add the certificates of `pem` that can be anchors; fail only if it has no certificate.
    fn add_lenient(&mut self, pem: &[u8], source: &str) -> Result<usize, Error> {
        let certs = certs_from_pem(pem, source)?;
        let before = self.anchors.len();
        for c in &certs {
            let _ = self.add_der(c); // a file that is not a CA certificate is skipped
        }
        Ok(self.anchors.len() - before)
    }

    fn note_source(&mut self, source: &str) {
        if !self.sources.iter().any(|s| s == source) {
            self.sources.push(source.to_string());
        }
    }

    /// The number of trust anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether the store holds no anchor.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The DER subject Name (SEQUENCE included) of each anchor, as DistinguishedName lists
    /// in CertificateRequest and the certificate_authorities extension carry them.
    pub fn subjects(&self) -> &[Vec<u8>] {
        &self.names
    }

    /// "3 trust anchors from /path/ca.pem".
    pub fn describe(&self) -> String {
        let n = self.anchors.len();
        let plural = if n == 1 { "" } else { "s" };
        if self.sources.is_empty() {
            format!("{n} trust anchor{plural}")
        } else {
            format!("{n} trust anchor{plural} from {}", self.sources.join(", "))
        }
    }

    /// The anchors, for path building.
    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

/// What makes two anchors the same: SHA-256 over the subject, the key and the name
/// constraints, each with its length, so no two different anchors share the input.
fn anchor_id(a: &TrustAnchor<'_>) -> [u8; 32] {
    let parts: [&[u8]; 3] = [
        a.subject.as_ref(),
        a.subject_public_key_info.as_ref(),
        a.name_constraints.as_ref().map_or(&[][..], |n| n.as_ref()),
    ];
    let mut input = Vec::with_capacity(parts.iter().map(|p| p.len() + 9).sum());
    for p in parts {
        input.extend_from_slice(&(p.len() as u64).to_be_bytes());
        input.extend_from_slice(p);
    }
    input.push(u8::from(a.name_constraints.is_some()));
    let digest = crate::crypto::hash::HashAlgorithm::Sha256.hash(&input);
    let mut id = [0u8; 32];
    id.copy_from_slice(digest.as_ref());
    id
}

/// Wrap Name contents in a DER SEQUENCE header.
fn der_sequence(contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(0x30);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem(cn: &str) -> (String, Vec<u8>) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), cert.der().to_vec())
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferrotls-roots-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn subjects_are_der_names() {
        let (_, der) = ca_pem("Root A");
        let mut store = RootStore::new();
        store.add_der(&der).unwrap();
        let subject = &store.subjects()[0];
        assert_eq!(subject[0], 0x30);
        assert_eq!(
            subject,
            &super::super::cert_info::subject_der(&der).unwrap()
        );
        assert_eq!(store.len(), 1);
        assert!(!store.is_empty());
    }

    #[test]
    fn the_same_root_twice_is_one_root() {
        let (a, der_a) = ca_pem("Root A");
        let (b, _) = ca_pem("Root B");
        let bundle = format!("{a}{b}");
        let mut store = RootStore::new();
        assert_eq!(store.add_pem(bundle.as_bytes(), "bundle").unwrap(), 2);
        let cache = store.verified.clone();
        // Loading the bundle again (as `requests` does per connection) adds nothing and
        // keeps the verified-chain cache.
        for _ in 0..50 {
            assert_eq!(store.add_pem(bundle.as_bytes(), "bundle").unwrap(), 0);
            store.add_der(&der_a).unwrap();
        }
        assert_eq!(store.len(), 2);
        assert_eq!(store.subjects().len(), 2);
        assert!(std::sync::Arc::ptr_eq(&cache, &store.verified));
        assert_eq!(store.describe(), "2 trust anchors from bundle");
        // A different root still counts, and then the cache starts afresh.
        let (c, _) = ca_pem("Root C");
        assert_eq!(store.add_pem(c.as_bytes(), "c").unwrap(), 1);
        assert_eq!(store.len(), 3);
        assert!(!std::sync::Arc::ptr_eq(&cache, &store.verified));
    }

    #[test]
    fn long_names_get_long_form_lengths() {
        let contents = vec![0u8; 300];
        let der = der_sequence(&contents);
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(der.len(), 304);
    }

    #[test]
    fn loads_file_and_directory() {
        let dir = temp_dir("dir");
        let (a, _) = ca_pem("Root A");
        let (b, _) = ca_pem("Root B");
        std::fs::write(dir.join("a.pem"), format!("{a}{b}")).unwrap();
        std::fs::write(dir.join("README"), "not a certificate").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();

        let mut store = RootStore::new();
        assert_eq!(store.add_file(&dir.join("a.pem")).unwrap(), 2);
        assert_eq!(
            store.describe(),
            format!("2 trust anchors from {}", dir.join("a.pem").display())
        );

        let mut store = RootStore::new();
        assert_eq!(store.add_file(&dir).unwrap(), 2);
        assert_eq!(
            store.describe(),
            format!("2 trust anchors from {}", dir.display())
        );

        std::fs::remove_file(dir.join("a.pem")).unwrap();
        let err = RootStore::new().add_file(&dir).unwrap_err();
        assert!(matches!(err, Error::Pem(_)), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_and_missing_files() {
        let dir = temp_dir("bad");
        let path = dir.join("garbage.pem");
        std::fs::write(&path, "garbage").unwrap();
        let err = RootStore::new().add_file(&path).unwrap_err();
        assert!(matches!(err, Error::Pem(_)), "{err:?}");
        let err = RootStore::new()
            .add_file(Path::new("/x/y.pem"))
            .unwrap_err();
        assert_eq!(
            err,
            Error::File(
                "cannot read CA file '/x/y.pem': No such file or directory (os error 2)".into()
            )
        );
        let err = RootStore::new().add_pem(b"", "empty.pem").unwrap_err();
        assert!(
            matches!(err, Error::Pem(ref s) if s.contains("empty.pem")),
            "{err:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn system_store() {
        let mut store = RootStore::new();
        let have_bundle = SYSTEM_FILES.iter().any(|f| Path::new(f).is_file())
            || std::env::var_os("SSL_CERT_FILE").is_some();
        match store.add_system() {
            Ok(n) => {
                assert!(n > 0);
                assert_eq!(n, store.len());
            }
            Err(e) => {
                assert!(!have_bundle, "a bundle exists but loading failed: {e}");
                assert!(e.to_string().contains("no system trust store found"), "{e}");
            }
        }
    }

    #[test]
    fn system_store_error_names_the_places_tried() {
        let err = RootStore::new()
            .add_system_from(Some(PathBuf::from("/nonexistent/bundle.pem")), &[])
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("SSL_CERT_FILE=/nonexistent/bundle.pem"),
            "{text}"
        );
        assert!(text.contains("No such file"), "{text}");
    }
}
