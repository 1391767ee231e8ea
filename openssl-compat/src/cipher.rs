//! `SSL_CIPHER`: one static object per cipher suite ferrotls implements (the 3 TLS 1.3 suites and
//! the 6 TLS 1.2 ECDHE-ECDSA/ECDHE-RSA suites with AES-GCM or ChaCha20-Poly1305), the `SSL_CIPHER_*`
//! getters with OpenSSL 3.0's results, and OpenSSL's cipher-string languages mapped onto our suites:
//! `SSL_CTX_set_cipher_list`'s for TLS 1.2 ([`parse_cipher_list`]) and `SSL_CTX_set_ciphersuites`'s
//! for TLS 1.3 ([`parse_ciphersuites`]).
//!
//! The cipher-list language is evaluated the way OpenSSL evaluates it, restricted to our six TLS 1.2
//! suites. OpenSSL keeps every cipher it knows in one ordered list, each active or not, and each rule
//! of the string moves or flags the ciphers its pattern matches: a plain name adds the inactive ones
//! at the end, `-` deactivates the active ones and moves them to the front (so a later add brings
//! the most recently removed back first), `!` removes them for good, `+` moves the active ones to the
//! end, `@STRENGTH` sorts the active ones by strength, stably. Every one of those operations keeps the
//! relative order of the ciphers it moves, so running them on our six alone, starting from the order
//! OpenSSL's list has them in, gives exactly OpenSSL's result filtered to our six. A name OpenSSL knows
//! but that matches none of our suites (kRSA, DHE, PSK, CBC, ...) changes nothing among them, so it
//! is treated as unknown; an alias joined with `+` intersects the patterns per category (key
//! exchange, authentication, encryption, strength class), as OpenSSL's masks do, which is why
//! `HIGH+FIPS` selects nothing while `ECDHE+FIPS` selects the AES-GCM suites. One exception, an
//! OpenSSL quirk reproduced here: COMPLEMENTOFDEFAULT (matching none of ours on its own) is
//! forgotten when a later name of its element has a strength class (`COMPLEMENTOFDEFAULT+HIGH` is
//! HIGH; `HIGH+COMPLEMENTOFDEFAULT` is nothing).

use std::ffi::{CStr, c_char, c_int, c_void};
use std::fmt;
use std::ptr;

// Reason codes (err.h, sslerr.h).
const ERR_R_PASSED_NULL_PARAMETER: c_int = 258 | (1 << 18) | (2 << 18);
const ERR_R_PASSED_INVALID_ARGUMENT: c_int = 262 | (2 << 18);
const ERR_R_MALLOC_FAILURE: c_int = 256 | (1 << 18) | (2 << 18);
const SSL_R_INVALID_COMMAND: c_int = 280;
const SSL_R_NO_CIPHER_MATCH: c_int = 185;

// NIDs as OpenSSL reports them for our suites (obj_mac.h).
const NID_UNDEF: c_int = 0;
const NID_KX_ECDHE: c_int = 1038;
const NID_KX_ANY: c_int = 1063;
const NID_AUTH_RSA: c_int = 1046;
const NID_AUTH_ECDSA: c_int = 1047;
const NID_AUTH_ANY: c_int = 1064;
const NID_AES_128_GCM: c_int = 895;
const NID_AES_256_GCM: c_int = 901;
const NID_CHACHA20_POLY1305: c_int = 1018;

unsafe extern "C" {
    fn CRYPTO_malloc(num: usize, file: *const c_char, line: c_int) -> *mut c_void;
    fn EVP_get_digestbyname(name: *const c_char) -> *const c_void;
    fn OPENSSL_sk_new_null() -> *mut c_void;
    fn OPENSSL_sk_push(sk: *mut c_void, data: *const c_void) -> c_int;
    fn OPENSSL_sk_free(sk: *mut c_void);
}

// The categories a cipher-list pattern narrows, one bit per value among our suites (OpenSSL has
// more values; those match none of our suites). A pattern's 0 means "any".
const KX_ECDHE: u8 = 1;
const AU_RSA: u8 = 1;
const AU_ECDSA: u8 = 2;
const AU_ALL: u8 = AU_RSA | AU_ECDSA;
const ENC_AES128GCM: u8 = 1;
const ENC_AES256GCM: u8 = 2;
const ENC_CHACHA20: u8 = 4;
const ENC_AESGCM: u8 = ENC_AES128GCM | ENC_AES256GCM;
const ENC_ALL: u8 = ENC_AESGCM | ENC_CHACHA20;
// Strength classes: HIGH and FIPS are separate classes in OpenSSL (AES-GCM suites are both,
// ChaCha20 only HIGH), so their intersection is empty.
const STR_HIGH: u8 = 1;
const STR_FIPS: u8 = 2;

/// One cipher suite as an `SSL_CIPHER`: what the `SSL_CIPHER_*` getters report, with OpenSSL 3.0's
/// values. Opaque to C, which only ever holds `&'static` pointers to the entries of [`CIPHERS`].
#[derive(Debug)]
pub struct SslCipher {
    id: u16,
    name: &'static CStr,
    standard_name: &'static CStr,
    version: &'static CStr,
    /// Strength and algorithm bits (always equal for our suites).
    bits: c_int,
    kx_nid: c_int,
    auth_nid: c_int,
    cipher_nid: c_int,
    /// The handshake (PRF/HKDF) digest, as `EVP_get_digestbyname` knows it.
    digest: &'static CStr,
    /// `SSL_CIPHER_description`'s line, byte for byte as OpenSSL 3.0 formats it.
    description: &'static CStr,
    // The cipher-list categories (TLS 1.2 suites only).
    kx: u8,
    au: u8,
    enc: u8,
    strength: u8,
}

#[allow(
    dead_code,
    reason = "the crate's API for these objects; not every getter has a caller yet"
)]
impl SslCipher {
    /// The wire value.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Whether this is a TLS 1.3 suite.
    pub fn is_tls13(&self) -> bool {
        self.id >> 8 == 0x13
    }

    /// OpenSSL's name (`SSL_CIPHER_get_name`): "ECDHE-RSA-AES128-GCM-SHA256", or for TLS 1.3 the
    /// IANA name.
    pub fn name(&self) -> &'static CStr {
        self.name
    }

    /// The IANA name (`SSL_CIPHER_standard_name`).
    pub fn standard_name(&self) -> &'static CStr {
        self.standard_name
    }

    /// OpenSSL's 32-bit id (`SSL_CIPHER_get_id`): 0x0300XXXX.
    fn openssl_id(&self) -> u32 {
        0x0300_0000 | u32::from(self.id)
    }
}

#[allow(clippy::too_many_arguments)]
const fn suite(
    id: u16,
    name: &'static CStr,
    standard_name: &'static CStr,
    bits: c_int,
    auth_nid: c_int,
    cipher_nid: c_int,
    digest: &'static CStr,
    description: &'static CStr,
) -> SslCipher {
    let tls13 = id >> 8 == 0x13;
    let au = match auth_nid {
        NID_AUTH_RSA => AU_RSA,
        NID_AUTH_ECDSA => AU_ECDSA,
        _ => 0,
    };
    let (enc, strength) = match cipher_nid {
        NID_AES_128_GCM => (ENC_AES128GCM, STR_HIGH | STR_FIPS),
        NID_AES_256_GCM => (ENC_AES256GCM, STR_HIGH | STR_FIPS),
        _ => (ENC_CHACHA20, STR_HIGH),
    };
    SslCipher {
        id,
        name,
        standard_name,
        version: if tls13 { c"TLSv1.3" } else { c"TLSv1.2" },
        bits,
        kx_nid: if tls13 { NID_KX_ANY } else { NID_KX_ECDHE },
        auth_nid,
        cipher_nid,
        digest,
        description,
        kx: if tls13 { 0 } else { KX_ECDHE },
        au,
        enc,
        strength,
    }
}

/// Every suite ferrotls implements (`ferrotls::crypto::suites::ALL_SUITES`), TLS 1.3 first. The TLS
/// 1.2 ones are in the order OpenSSL 3.0's cipher list holds them (its DEFAULT order), which the
/// cipher-list evaluation starts from.
static CIPHERS: [SslCipher; 9] = [
    suite(
        0x1301,
        c"TLS_AES_128_GCM_SHA256",
        c"TLS_AES_128_GCM_SHA256",
        128,
        NID_AUTH_ANY,
        NID_AES_128_GCM,
        c"SHA256",
        c"TLS_AES_128_GCM_SHA256         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(128)            Mac=AEAD\n",
    ),
    suite(
        0x1302,
        c"TLS_AES_256_GCM_SHA384",
        c"TLS_AES_256_GCM_SHA384",
        256,
        NID_AUTH_ANY,
        NID_AES_256_GCM,
        c"SHA384",
        c"TLS_AES_256_GCM_SHA384         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(256)            Mac=AEAD\n",
    ),
    suite(
        0x1303,
        c"TLS_CHACHA20_POLY1305_SHA256",
        c"TLS_CHACHA20_POLY1305_SHA256",
        256,
        NID_AUTH_ANY,
        NID_CHACHA20_POLY1305,
        c"SHA256",
        c"TLS_CHACHA20_POLY1305_SHA256   TLSv1.3 Kx=any      Au=any   Enc=CHACHA20/POLY1305(256) Mac=AEAD\n",
    ),
    suite(
        0xC02C,
        c"ECDHE-ECDSA-AES256-GCM-SHA384",
        c"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        256,
        NID_AUTH_ECDSA,
        NID_AES_256_GCM,
        c"SHA384",
        c"ECDHE-ECDSA-AES256-GCM-SHA384  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=AESGCM(256)            Mac=AEAD\n",
    ),
    suite(
        0xC030,
        c"ECDHE-RSA-AES256-GCM-SHA384",
        c"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        256,
        NID_AUTH_RSA,
        NID_AES_256_GCM,
        c"SHA384",
        c"ECDHE-RSA-AES256-GCM-SHA384    TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(256)            Mac=AEAD\n",
    ),
    suite(
        0xCCA9,
        c"ECDHE-ECDSA-CHACHA20-POLY1305",
        c"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        256,
        NID_AUTH_ECDSA,
        NID_CHACHA20_POLY1305,
        c"SHA256",
        c"ECDHE-ECDSA-CHACHA20-POLY1305  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=CHACHA20/POLY1305(256) Mac=AEAD\n",
    ),
    suite(
        0xCCA8,
        c"ECDHE-RSA-CHACHA20-POLY1305",
        c"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        256,
        NID_AUTH_RSA,
        NID_CHACHA20_POLY1305,
        c"SHA256",
        c"ECDHE-RSA-CHACHA20-POLY1305    TLSv1.2 Kx=ECDH     Au=RSA   Enc=CHACHA20/POLY1305(256) Mac=AEAD\n",
    ),
    suite(
        0xC02B,
        c"ECDHE-ECDSA-AES128-GCM-SHA256",
        c"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        128,
        NID_AUTH_ECDSA,
        NID_AES_128_GCM,
        c"SHA256",
        c"ECDHE-ECDSA-AES128-GCM-SHA256  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=AESGCM(128)            Mac=AEAD\n",
    ),
    suite(
        0xC02F,
        c"ECDHE-RSA-AES128-GCM-SHA256",
        c"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        128,
        NID_AUTH_RSA,
        NID_AES_128_GCM,
        c"SHA256",
        c"ECDHE-RSA-AES128-GCM-SHA256    TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(128)            Mac=AEAD\n",
    ),
];

/// The TLS 1.2 entries of [`CIPHERS`], in OpenSSL's list order.
fn tls12() -> &'static [SslCipher] {
    &CIPHERS[3..]
}

/// The TLS 1.3 entries of [`CIPHERS`].
fn tls13() -> &'static [SslCipher] {
    &CIPHERS[..3]
}

/// Our `SSL_CIPHER` for wire value `id`, if we implement that suite.
pub fn by_id(id: u16) -> Option<&'static SslCipher> {
    CIPHERS.iter().find(|c| c.id == id)
}

/// The pointer C gets for `c`.
pub fn as_ptr(c: &'static SslCipher) -> *const SslCipher {
    c
}

/// The `SSL_CIPHER` a pointer from C designates: `None` for NULL or for anything that is not one of
/// ours (found by address, so nothing is dereferenced).
pub fn from_ptr(p: *const SslCipher) -> Option<&'static SslCipher> {
    CIPHERS.iter().find(|c| ptr::eq(*c, p))
}

/// A new libcrypto `STACK_OF(SSL_CIPHER)` holding our objects for `ids`, in that order (ids we do
/// not implement are left out). The caller owns the stack (`sk_SSL_CIPHER_free`, i.e.
/// `OPENSSL_sk_free`; the objects are static and never freed). NULL if libcrypto is out of memory.
pub fn stack_of(ids: &[u16]) -> *mut c_void {
    // SAFETY: takes no arguments; returns a new empty stack or NULL.
    let sk = unsafe { OPENSSL_sk_new_null() };
    if sk.is_null() {
        return ptr::null_mut();
    }
    for c in ids.iter().filter_map(|&id| by_id(id)) {
        // SAFETY: `sk` is the live stack made above; the element is a pointer to a static, valid
        // for as long as the stack can be used.
        if unsafe { OPENSSL_sk_push(sk, as_ptr(c).cast()) } <= 0 {
            // SAFETY: `sk` is ours and not handed out; its elements are not owned by it.
            unsafe { OPENSSL_sk_free(sk) };
            return ptr::null_mut();
        }
    }
    sk
}

/// OpenSSL 3.0's `OSSL_default_cipher_list()`.
const OPENSSL_DEFAULT_CIPHER_LIST: &CStr = c"ALL:!COMPLEMENTOFDEFAULT:!eNULL";
/// OpenSSL 3.0's `OSSL_default_ciphersuites()`.
const OPENSSL_DEFAULT_CIPHERSUITES: &CStr =
    c"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

/// The TLS 1.3 suites OpenSSL 3.0 enables by default, in its order (`OSSL_default_ciphersuites`).
pub const DEFAULT_TLS13: &[u16] = &[0x1302, 0x1303, 0x1301];

/// The TLS 1.2 suites OpenSSL 3.0's "DEFAULT" cipher list selects among ours, in its order.
pub fn default_tls12() -> Vec<u16> {
    parse_cipher_list("DEFAULT").unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The cipher-list language (SSL_CTX_set_cipher_list).

/// What a cipher-list string sets: the TLS 1.2 suites, and the other things OpenSSL takes from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CipherList {
    /// Our TLS 1.2 suites, in the order OpenSSL would have them (never empty).
    pub suites: Vec<u16>,
    /// The last `@SECLEVEL=n` (OpenSSL sets the context's security level to it).
    pub sec_level: Option<u8>,
    /// The Suite B mode a leading SUITEB128/SUITEB128ONLY/SUITEB128C2/SUITEB192 asks for (OpenSSL
    /// then also restricts curves and signature algorithms, RFC 6460).
    pub suite_b: Option<SuiteB>,
}

/// The Suite B modes of RFC 6460 as OpenSSL's cipher strings select them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuiteB {
    /// SUITEB128 and SUITEB128C2: the 128-bit level of security, or 192 (P-256 or P-384).
    Los128,
    /// SUITEB128ONLY: the 128-bit level only (P-256).
    Los128Only,
    /// SUITEB192: the 192-bit level (P-384).
    Los192,
}

/// Why a cipher-list string was refused, with OpenSSL's reason for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CipherListError {
    /// A syntax error or an unknown `@` command (SSL_R_INVALID_COMMAND): OpenSSL leaves the list
    /// as it was.
    InvalidCommand(String),
    /// Nothing of ours selected (SSL_R_NO_CIPHER_MATCH).
    NoCipherMatch(String),
}

#[allow(
    dead_code,
    reason = "the crate's API for cipher-list errors; not every caller needs it"
)]
impl CipherListError {
    /// OpenSSL's reason code (sslerr.h) for the error queue.
    pub fn reason(&self) -> c_int {
        match self {
            Self::InvalidCommand(_) => SSL_R_INVALID_COMMAND,
            Self::NoCipherMatch(_) => SSL_R_NO_CIPHER_MATCH,
        }
    }

    /// What went wrong, in words.
    pub fn detail(&self) -> &str {
        match self {
            Self::InvalidCommand(s) | Self::NoCipherMatch(s) => s,
        }
    }
}

impl fmt::Display for CipherListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail())
    }
}

impl std::error::Error for CipherListError {}

/// Parse an OpenSSL cipher-list string (`SSL_CTX_set_cipher_list`, TLS 1.2 and below) into the
/// ordered list of our TLS 1.2 suites it selects. Err if it is malformed or selects none of ours.
pub fn parse_cipher_list(s: &str) -> Result<Vec<u16>, String> {
    parse_cipher_list_full(s)
        .map(|l| l.suites)
        .map_err(|e| e.detail().to_owned())
}

/// [`parse_cipher_list`] with everything OpenSSL takes from the string and its kind of error.
pub fn parse_cipher_list_full(s: &str) -> Result<CipherList, CipherListError> {
    // C strings end at a NUL.
    let asked = s.split('\0').next().unwrap_or_default();
    let mut eval = Eval {
        asked,
        // OpenSSL's list before the string is applied: every cipher, inactive, in its order.
        list: (0..tls12().len())
            .map(|i| Slot { i, active: false })
            .collect(),
        sec_level: None,
        error: None,
    };
    // A leading Suite B keyword replaces the whole string.
    let mut rest = asked;
    let mut suite_b = None;
    for (prefix, mode, list) in [
        (
            "SUITEB128ONLY",
            SuiteB::Los128Only,
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ),
        (
            "SUITEB128C2",
            SuiteB::Los128,
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        ),
        (
            "SUITEB128",
            SuiteB::Los128,
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
        ),
        ("SUITEB192", SuiteB::Los192, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    ] {
        if rest.starts_with(prefix) {
            suite_b = Some(mode);
            rest = list;
            break;
        }
    }
    // DEFAULT is a keyword at the very start only (elsewhere it is an unknown name): OpenSSL's
    // default list, then the rest.
    if let Some(after) = rest.strip_prefix("DEFAULT") {
        eval.run(OPENSSL_DEFAULT_CIPHER_LIST.to_str().unwrap_or_default());
        rest = after.strip_prefix(':').unwrap_or(after);
    }
    if eval.error.is_none() && !rest.is_empty() {
        eval.run(rest);
    }
    if let Some(e) = eval.error {
        return Err(CipherListError::InvalidCommand(e));
    }
    let suites: Vec<u16> = eval
        .list
        .iter()
        .filter(|s| s.active)
        .map(|s| tls12()[s.i].id)
        .collect();
    if suites.is_empty() {
        return Err(CipherListError::NoCipherMatch(format!(
            "cipher list \"{asked}\" selects none of the TLS 1.2 cipher suites ferrotls \
             implements: {}",
            tls12_names()
        )));
    }
    Ok(CipherList {
        suites,
        sec_level: eval.sec_level,
        suite_b,
    })
}

/// Our TLS 1.2 suites' OpenSSL names, ':'-separated.
fn tls12_names() -> String {
    let names: Vec<&str> = tls12()
        .iter()
        .map(|c| c.name.to_str().unwrap_or_default())
        .collect();
    names.join(":")
}

/// One of our suites in the evaluation's list: its index in [`tls12`] and whether it is selected.
#[derive(Clone, Copy, Debug)]
struct Slot {
    i: usize,
    active: bool,
}

/// What one element's names select: an exact suite and/or a set of values per category (0: any).
#[derive(Clone, Copy, Debug, Default)]
struct Pattern {
    id: Option<u16>,
    kx: u8,
    au: u8,
    enc: u8,
    strength: u8,
    /// COMPLEMENTOFDEFAULT: only suites not in DEFAULT, so none of ours.
    not_default: bool,
}

impl Pattern {
    /// Narrow by `other` (the names of an element joined with '+'); false if some category has
    /// nothing left, which makes the element match nothing (OpenSSL then skips it).
    fn narrow(&mut self, other: &Pattern) -> bool {
        fn category(acc: &mut u8, m: u8) -> bool {
            if m != 0 {
                *acc = if *acc == 0 { m } else { *acc & m };
                return *acc != 0;
            }
            true
        }
        if other.id.is_some() {
            self.id = other.id;
        }
        if !(category(&mut self.kx, other.kx)
            && category(&mut self.au, other.au)
            && category(&mut self.enc, other.enc))
        {
            return false;
        }
        if other.strength != 0 {
            if self.strength == 0 {
                // OpenSSL keeps the strength class and the not-in-DEFAULT flag in one word and
                // assigns the whole word here, dropping a COMPLEMENTOFDEFAULT seen before.
                self.not_default = false;
            }
            if !category(&mut self.strength, other.strength) {
                return false;
            }
        }
        self.not_default |= other.not_default;
        true
    }

    fn matches(&self, c: &SslCipher) -> bool {
        let category = |m: u8, v: u8| m == 0 || m & v != 0;
        !self.not_default
            && self.id.is_none_or(|id| id == c.id)
            && category(self.kx, c.kx)
            && category(self.au, c.au)
            && category(self.enc, c.enc)
            && category(self.strength, c.strength)
    }

    /// The pattern of one name (case-sensitive, as in OpenSSL): one of our suites' OpenSSL names
    /// or an alias that selects some of them (or COMPLEMENTOFDEFAULT, see `narrow`). None for every
    /// other name, known to OpenSSL or not, since none of those selects any of our suites.
    fn of(name: &str) -> Option<Pattern> {
        if let Some(c) = tls12()
            .iter()
            .find(|c| c.name.to_bytes() == name.as_bytes())
        {
            return Some(Pattern {
                id: Some(c.id),
                kx: c.kx,
                au: c.au,
                enc: c.enc,
                strength: c.strength,
                not_default: false,
            });
        }
        let p = |kx, au, enc, strength| {
            Some(Pattern {
                id: None,
                kx,
                au,
                enc,
                strength,
                not_default: false,
            })
        };
        match name {
            // Everything but the NULL ciphers.
            "ALL" => p(0, 0, ENC_ALL, 0),
            "HIGH" => p(0, 0, 0, STR_HIGH),
            "FIPS" => p(0, 0, ENC_ALL, STR_FIPS),
            // ECDHE key exchange, any authentication.
            "kECDHE" | "kEECDH" | "ECDH" => p(KX_ECDHE, 0, 0, 0),
            // ECDHE key exchange, authenticated (not anonymous).
            "ECDHE" | "EECDH" => p(KX_ECDHE, AU_ALL, 0, 0),
            "aRSA" => p(0, AU_RSA, 0, 0),
            "aECDSA" | "ECDSA" => p(0, AU_ECDSA, 0, 0),
            "AES" | "AESGCM" => p(0, 0, ENC_AESGCM, 0),
            "AES128" => p(0, 0, ENC_AES128GCM, 0),
            "AES256" => p(0, 0, ENC_AES256GCM, 0),
            "CHACHA20" => p(0, 0, ENC_CHACHA20, 0),
            // Suites whose minimum version is TLS 1.2: all of ours.
            "TLSv1.2" => p(0, 0, 0, 0),
            "COMPLEMENTOFDEFAULT" => Some(Pattern {
                not_default: true,
                ..Pattern::default()
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Add,
    Remove,
    Kill,
    MoveToEnd,
    Command,
}

/// One evaluation of a cipher-list string over our suites.
struct Eval<'a> {
    asked: &'a str,
    list: Vec<Slot>,
    sec_level: Option<u8>,
    /// The first syntax error or bad command (OpenSSL goes on after a bad command, but fails).
    error: Option<String>,
}

fn is_separator(b: u8) -> bool {
    matches!(b, b':' | b' ' | b';' | b',')
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=')
}

impl Eval<'_> {
    /// Apply the rules of `s` to the list.
    fn run(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let rule = match b[i] {
                b'-' => Rule::Remove,
                b'+' => Rule::MoveToEnd,
                b'!' => Rule::Kill,
                b'@' => Rule::Command,
                _ => Rule::Add,
            };
            if is_separator(b[i]) {
                i += 1;
                continue;
            }
            if rule != Rule::Add {
                i += 1;
            }
            // The names of the element, joined with '+'.
            let mut pattern = Pattern::default();
            let mut selects = false;
            let mut command = "";
            loop {
                let start = i;
                while i < b.len() && is_name_byte(b[i]) {
                    i += 1;
                }
                if i == start {
                    let what = match b.get(i) {
                        Some(&c) if c.is_ascii_graphic() => format!("'{}'", c as char),
                        Some(&c) => format!("byte {c:#04x}"),
                        None => "the end".to_owned(),
                    };
                    self.fail(format!(
                        "a cipher name or alias was expected at offset {} of \"{s}\", not {what}",
                        start
                    ));
                    return;
                }
                let name = &s[start..i];
                if rule == Rule::Command {
                    command = name;
                    break;
                }
                let multi = b.get(i) == Some(&b'+');
                if multi {
                    i += 1;
                }
                selects = Pattern::of(name).is_some_and(|p| pattern.narrow(&p));
                if !selects || !multi {
                    break;
                }
            }
            if rule == Rule::Command {
                self.command(command);
            }
            if rule == Rule::Command || !selects {
                // The rest of the element is ignored.
                while i < b.len() && !is_separator(b[i]) {
                    i += 1;
                }
            } else {
                self.apply(rule, &pattern);
            }
        }
    }

    fn fail(&mut self, detail: String) {
        if self.error.is_none() {
            self.error = Some(format!("cipher list \"{}\": {detail}", self.asked));
        }
    }

    /// `@STRENGTH` or `@SECLEVEL=n`.
    fn command(&mut self, name: &str) {
        if name == "STRENGTH" {
            // The active suites to the end, stably sorted by strength, strongest first.
            let (inactive, mut active): (Vec<Slot>, Vec<Slot>) =
                self.list.iter().partition(|s| !s.active);
            active.sort_by_key(|s| std::cmp::Reverse(tls12()[s.i].bits));
            self.list = inactive.into_iter().chain(active).collect();
        } else if let Some(level) = name.strip_prefix("SECLEVEL=")
            && let [d @ b'0'..=b'5'] = level.as_bytes()
        {
            self.sec_level = Some(d - b'0');
        } else {
            self.fail(format!(
                "unknown command \"@{name}\" (OpenSSL knows @STRENGTH and @SECLEVEL=0 to 5)"
            ));
        }
    }

    fn apply(&mut self, rule: Rule, p: &Pattern) {
        let hit = |s: &Slot| p.matches(&tls12()[s.i]);
        let (moved, kept): (Vec<Slot>, Vec<Slot>) = match rule {
            // Not yet selected: select, at the end.
            Rule::Add => self.list.iter().partition(|s| !s.active && hit(s)),
            // Selected: to the end.
            Rule::MoveToEnd => self.list.iter().partition(|s| s.active && hit(s)),
            // Selected: deselect, to the front.
            Rule::Remove => self.list.iter().partition(|s| s.active && hit(s)),
            // Out of the list for good.
            Rule::Kill => {
                self.list.retain(|s| !hit(s));
                return;
            }
            Rule::Command => return,
        };
        self.list = match rule {
            Rule::Remove => moved
                .into_iter()
                .map(|s| Slot { active: false, ..s })
                .chain(kept)
                .collect(),
            _ => kept
                .into_iter()
                .chain(moved.into_iter().map(|s| Slot { active: true, ..s }))
                .collect(),
        };
    }
}

// ---------------------------------------------------------------------------------------------
// The TLS 1.3 ciphersuites language (SSL_CTX_set_ciphersuites).

/// The TLS 1.3 suites OpenSSL knows and ferrotls does not implement: accepted, left out.
const TLS13_UNSUPPORTED: &[&str] = &["TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"];

/// Parse an OpenSSL TLS 1.3 ciphersuites string (`SSL_CTX_set_ciphersuites`): ':'-separated IANA
/// names (case-sensitive; blanks around a name are ignored), in preference order. As in OpenSSL,
/// names it does not know are skipped and the empty string means no TLS 1.3 suite (Ok of nothing);
/// a non-empty string that leaves none of our suites is an error (OpenSSL fails it with
/// SSL_R_NO_CIPHER_MATCH when none of the names is known to it; it accepts the CCM suites, which
/// we leave out).
pub fn parse_ciphersuites(s: &str) -> Result<Vec<u16>, String> {
    let asked = s.split('\0').next().unwrap_or_default();
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let is_c_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for name in asked.split(':').map(|n| n.trim_matches(is_c_space)) {
        match tls13()
            .iter()
            .find(|c| c.standard_name.to_bytes() == name.as_bytes())
        {
            // OpenSSL would list a repeated name twice; once is enough.
            Some(c) if !out.contains(&c.id) => out.push(c.id),
            Some(_) => {}
            None if TLS13_UNSUPPORTED.contains(&name) => skipped.push(name),
            None => {}
        }
    }
    if out.is_empty() {
        let names: Vec<&str> = tls13()
            .iter()
            .map(|c| c.standard_name.to_str().unwrap_or_default())
            .collect();
        let why = if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} not implemented)", skipped.join(", "))
        };
        return Err(format!(
            "ciphersuites \"{asked}\" name none of the TLS 1.3 cipher suites ferrotls \
             implements{why}: {}",
            names.join(":")
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The exports.

/// The `SSL_CIPHER` argument of an export. NULL is `None` (an error on the queue if `null_is_error`:
/// where OpenSSL would crash rather than answer); a pointer that is none of ours is `None` with an
/// error.
fn cipher_arg(func: &CStr, c: *const SslCipher, null_is_error: bool) -> Option<&'static SslCipher> {
    if c.is_null() {
        if null_is_error {
            crate::err::raise(func, ERR_R_PASSED_NULL_PARAMETER, "the SSL_CIPHER is NULL");
        }
        return None;
    }
    let found = from_ptr(c);
    if found.is_none() {
        crate::err::raise(
            func,
            ERR_R_PASSED_INVALID_ARGUMENT,
            "the pointer is not an SSL_CIPHER of ferrotls's libssl",
        );
    }
    found
}

const NONE: &CStr = c"(NONE)";

/// `SSL_CIPHER_get_name(c)`: OpenSSL's name; "(NONE)" for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_name(c: *const SslCipher) -> *const c_char {
    let f = c"SSL_CIPHER_get_name";
    crate::err::guard(f, NONE.as_ptr(), || {
        cipher_arg(f, c, false).map_or(NONE, |c| c.name).as_ptr()
    })
}

/// `SSL_CIPHER_standard_name(c)`: the IANA name; "(NONE)" for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_standard_name(c: *const SslCipher) -> *const c_char {
    let f = c"SSL_CIPHER_standard_name";
    crate::err::guard(f, NONE.as_ptr(), || {
        cipher_arg(f, c, false)
            .map_or(NONE, |c| c.standard_name)
            .as_ptr()
    })
}

/// `OPENSSL_cipher_name(stdname)`: the OpenSSL name of the suite with IANA name `stdname`
/// (case-sensitive); "(NONE)" for NULL or a suite we do not implement.
///
/// # Safety
/// `stdname` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _ferrossl_OPENSSL_cipher_name(stdname: *const c_char) -> *const c_char {
    let f = c"OPENSSL_cipher_name";
    crate::err::guard(f, NONE.as_ptr(), || {
        if stdname.is_null() {
            return NONE.as_ptr();
        }
        // SAFETY: non-NULL and NUL-terminated, per the caller.
        let stdname = unsafe { CStr::from_ptr(stdname) };
        CIPHERS
            .iter()
            .find(|c| c.standard_name == stdname)
            .map_or(NONE, |c| c.name)
            .as_ptr()
    })
}

/// `SSL_CIPHER_get_bits(c, alg_bits)`: the strength in bits, and the algorithm's bits in
/// `*alg_bits` if it is not NULL; 0 (and `*alg_bits` untouched) for NULL.
///
/// # Safety
/// `alg_bits` is NULL or points to a writable int.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _ferrossl_SSL_CIPHER_get_bits(
    c: *const SslCipher,
    alg_bits: *mut c_int,
) -> c_int {
    let f = c"SSL_CIPHER_get_bits";
    crate::err::guard(f, 0, || {
        let Some(c) = cipher_arg(f, c, false) else {
            return 0;
        };
        if !alg_bits.is_null() {
            // SAFETY: non-NULL and writable, per the caller.
            unsafe { alg_bits.write(c.bits) };
        }
        c.bits
    })
}

/// `SSL_CIPHER_get_version(c)`: "TLSv1.3" or "TLSv1.2"; "(NONE)" for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_version(c: *const SslCipher) -> *const c_char {
    let f = c"SSL_CIPHER_get_version";
    crate::err::guard(f, NONE.as_ptr(), || {
        cipher_arg(f, c, false).map_or(NONE, |c| c.version).as_ptr()
    })
}

/// `SSL_CIPHER_get_id(c)`: OpenSSL's 32-bit id, 0x0300XXXX. (OpenSSL crashes on NULL; 0 here.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_id(c: *const SslCipher) -> u32 {
    let f = c"SSL_CIPHER_get_id";
    crate::err::guard(f, 0, || {
        cipher_arg(f, c, true).map_or(0, |c| c.openssl_id())
    })
}

/// `SSL_CIPHER_get_protocol_id(c)`: the wire value. (OpenSSL crashes on NULL; 0 here.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_protocol_id(c: *const SslCipher) -> u16 {
    let f = c"SSL_CIPHER_get_protocol_id";
    crate::err::guard(f, 0, || cipher_arg(f, c, true).map_or(0, |c| c.id))
}

/// The size `SSL_CIPHER_description` requires of a caller's buffer, and allocates.
const DESCRIPTION_LEN: usize = 128;

/// `SSL_CIPHER_description(c, buf, len)`: the one-line description (`openssl ciphers -v`) in `buf`,
/// or, if `buf` is NULL, in a new CRYPTO_malloc'd buffer of 128 bytes the caller frees with
/// OPENSSL_free. NULL if `buf` is not NULL and `len` is under 128, as in OpenSSL. (OpenSSL crashes
/// on a NULL cipher; NULL here.)
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _ferrossl_SSL_CIPHER_description(
    c: *const SslCipher,
    buf: *mut c_char,
    len: c_int,
) -> *mut c_char {
    let f = c"SSL_CIPHER_description";
    crate::err::guard(f, ptr::null_mut(), || {
        let Some(c) = cipher_arg(f, c, true) else {
            return ptr::null_mut();
        };
        let text = c.description.to_bytes_with_nul();
        debug_assert!(text.len() <= DESCRIPTION_LEN);
        let out = if buf.is_null() {
            // SAFETY: plain allocation; the file name is NUL-terminated.
            let p = unsafe {
                CRYPTO_malloc(
                    DESCRIPTION_LEN,
                    c"openssl-compat/src/cipher.rs".as_ptr(),
                    line!() as c_int,
                )
            };
            if p.is_null() {
                crate::err::raise(f, ERR_R_MALLOC_FAILURE, "out of memory");
                return ptr::null_mut();
            }
            p.cast::<c_char>()
        } else if usize::try_from(len).is_ok_and(|l| l >= DESCRIPTION_LEN) {
            buf
        } else {
            return ptr::null_mut();
        };
        // SAFETY: `out` has at least DESCRIPTION_LEN writable bytes (allocated above, or the
        // caller's `len` of at least that), and `text` fits in them; a static cannot overlap it.
        unsafe { ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), out, text.len()) };
        out
    })
}

/// `SSL_CIPHER_get_kx_nid(c)`: NID_kx_ecdhe, or NID_kx_any for TLS 1.3. (OpenSSL crashes on NULL;
/// NID_undef here.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_kx_nid(c: *const SslCipher) -> c_int {
    let f = c"SSL_CIPHER_get_kx_nid";
    crate::err::guard(f, NID_UNDEF, || {
        cipher_arg(f, c, true).map_or(NID_UNDEF, |c| c.kx_nid)
    })
}

/// `SSL_CIPHER_get_auth_nid(c)`: NID_auth_rsa, NID_auth_ecdsa, or NID_auth_any for TLS 1.3.
/// (OpenSSL crashes on NULL; NID_undef here.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_auth_nid(c: *const SslCipher) -> c_int {
    let f = c"SSL_CIPHER_get_auth_nid";
    crate::err::guard(f, NID_UNDEF, || {
        cipher_arg(f, c, true).map_or(NID_UNDEF, |c| c.auth_nid)
    })
}

/// `SSL_CIPHER_get_cipher_nid(c)`: the record cipher's NID; NID_undef for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_cipher_nid(c: *const SslCipher) -> c_int {
    let f = c"SSL_CIPHER_get_cipher_nid";
    crate::err::guard(f, NID_UNDEF, || {
        cipher_arg(f, c, false).map_or(NID_UNDEF, |c| c.cipher_nid)
    })
}

/// `SSL_CIPHER_get_digest_nid(c)`: the record MAC's NID, NID_undef for our AEAD suites. (OpenSSL
/// crashes on NULL; NID_undef here, with an error.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_digest_nid(c: *const SslCipher) -> c_int {
    let f = c"SSL_CIPHER_get_digest_nid";
    crate::err::guard(f, NID_UNDEF, || {
        let _ = cipher_arg(f, c, true);
        NID_UNDEF
    })
}

/// `SSL_CIPHER_get_handshake_digest(c)`: libcrypto's EVP_MD for the suite's PRF/HKDF hash
/// (SHA-256 or SHA-384). (OpenSSL crashes on NULL; NULL here.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_get_handshake_digest(c: *const SslCipher) -> *const c_void {
    let f = c"SSL_CIPHER_get_handshake_digest";
    crate::err::guard(f, ptr::null(), || {
        let Some(c) = cipher_arg(f, c, true) else {
            return ptr::null();
        };
        // SAFETY: a NUL-terminated name; the result is libcrypto's static EVP_MD or NULL.
        unsafe { EVP_get_digestbyname(c.digest.as_ptr()) }
    })
}

/// `SSL_CIPHER_is_aead(c)`: 1, all our suites are AEAD. (OpenSSL crashes on NULL; 0 here.)
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CIPHER_is_aead(c: *const SslCipher) -> c_int {
    let f = c"SSL_CIPHER_is_aead";
    crate::err::guard(f, 0, || c_int::from(cipher_arg(f, c, true).is_some()))
}

/// `SSL_CIPHER_find(ssl, ptr)`: the suite whose two-byte wire value `ptr` points to, NULL if we do
/// not implement it. `ssl` is only checked for NULL. (OpenSSL crashes on NULL arguments; NULL here.)
///
/// # Safety
/// `ptr` is NULL or points to two readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _ferrossl_SSL_CIPHER_find(
    ssl: *mut c_void,
    ptr: *const u8,
) -> *const SslCipher {
    let f = c"SSL_CIPHER_find";
    crate::err::guard(f, ptr::null(), || {
        if ssl.is_null() || ptr.is_null() {
            crate::err::raise(
                f,
                ERR_R_PASSED_NULL_PARAMETER,
                if ssl.is_null() {
                    "the SSL is NULL"
                } else {
                    "the cipher id pointer is NULL"
                },
            );
            return ptr::null();
        }
        // SAFETY: two readable bytes, per the caller.
        let id = unsafe { [ptr.read(), ptr.add(1).read()] };
        by_id(u16::from_be_bytes(id)).map_or(ptr::null(), as_ptr)
    })
}

/// `OSSL_default_cipher_list()`: OpenSSL 3.0's default TLS 1.2 cipher list, which selects
/// [`default_tls12`] among ours.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_OSSL_default_cipher_list() -> *const c_char {
    OPENSSL_DEFAULT_CIPHER_LIST.as_ptr()
}

/// `OSSL_default_ciphersuites()`: OpenSSL 3.0's default TLS 1.3 suites ([`DEFAULT_TLS13`]).
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_OSSL_default_ciphersuites() -> *const c_char {
    OPENSSL_DEFAULT_CIPHERSUITES.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    const E128: &str = "ECDHE-ECDSA-AES128-GCM-SHA256";
    const E256: &str = "ECDHE-ECDSA-AES256-GCM-SHA384";
    const ECHA: &str = "ECDHE-ECDSA-CHACHA20-POLY1305";
    const R128: &str = "ECDHE-RSA-AES128-GCM-SHA256";
    const R256: &str = "ECDHE-RSA-AES256-GCM-SHA384";
    const RCHA: &str = "ECDHE-RSA-CHACHA20-POLY1305";
    const DEFAULT: &[&str] = &[E256, R256, ECHA, RCHA, E128, R128];

    fn names(ids: &[u16]) -> Vec<&'static str> {
        ids.iter()
            .map(|&id| by_id(id).unwrap().name.to_str().unwrap())
            .collect()
    }

    fn list(s: &str) -> Result<Vec<&'static str>, CipherListError> {
        parse_cipher_list_full(s).map(|l| names(&l.suites))
    }

    /// Expected results, from `openssl ciphers -- STRING` of OpenSSL 3.0.22 filtered to our six
    /// (an empty list: OpenSSL selected none of them, or failed with "no cipher match").
    #[test]
    fn cipher_lists_as_openssl_orders_them() {
        let cases: &[(&str, &[&str])] = &[
            ("HIGH:!aNULL:!MD5", DEFAULT),
            ("DEFAULT", DEFAULT),
            ("ALL", DEFAULT),
            ("ECDHE+AESGCM", &[E256, R256, E128, R128]),
            ("ALL:!ECDSA", &[R256, RCHA, R128]),
            (
                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
                &[R256, R128],
            ),
            ("AES256", &[E256, R256]),
            ("CHACHA20", &[ECHA, RCHA]),
            ("kRSA", &[]),
            ("-ALL:+ECDHE-RSA-AES128-GCM-SHA256", &[]),
            ("DEFAULT:@STRENGTH", DEFAULT),
            ("HIGH:@SECLEVEL=2", DEFAULT),
            (
                "AES128:CHACHA20:AES256",
                &[E128, R128, ECHA, RCHA, E256, R256],
            ),
            (
                "AES128:CHACHA20:AES256:@STRENGTH",
                &[ECHA, RCHA, E256, R256, E128, R128],
            ),
            ("ECDHE:-AES128:AES", DEFAULT),
            ("ECDHE:!AES128:AES", &[E256, R256, ECHA, RCHA]),
            ("ALL:+AES128", DEFAULT),
            ("ALL:+aRSA", &[E256, ECHA, E128, R256, RCHA, R128]),
            (
                "ECDHE-RSA-AES128-GCM-SHA256:ALL",
                &[R128, E256, R256, ECHA, RCHA, E128],
            ),
            (
                "CHACHA20:ECDHE-RSA-AES128-GCM-SHA256:-CHACHA20:ECDHE",
                &[R128, ECHA, RCHA, E256, R256, E128],
            ),
            (
                "aRSA:-ECDHE:ECDSA:ECDHE",
                &[E256, ECHA, E128, R256, RCHA, R128],
            ),
            ("ECDHE+FIPS:CHACHA20", &[E256, R256, E128, R128, ECHA, RCHA]),
            (
                "FIPS:@STRENGTH:CHACHA20",
                &[E256, R256, E128, R128, ECHA, RCHA],
            ),
            ("HIGH+FIPS", &[]),
            ("ECDHE-RSA-AES128-GCM-SHA256+HIGH+FIPS", &[]),
            ("DEFAULT+ECDSA", &[R256, RCHA, R128, E256, ECHA, E128]),
            ("SUITEB128:CHACHA20", &[E128, E256]),
            ("ECDHE!ECDSA", &[R256, RCHA, R128]),
            ("ECDHE+BOGUS!ECDSA:AES", &[E256, R256, E128, R128]),
            ("AESGCM+aRSA:AESGCM", &[R256, R128, E256, E128]),
            ("TLSv1.2+ECDSA:CHACHA20", &[E256, ECHA, E128, RCHA]),
            ("ALL:-AES:AES256", &[ECHA, RCHA, E256, R256]),
            (
                "ALL:-CHACHA20:ECDHE-RSA-CHACHA20-POLY1305",
                &[E256, R256, E128, R128, RCHA],
            ),
            (
                "ECDHE-ECDSA-AES128-GCM-SHA256:!ECDHE-ECDSA-AES128-GCM-SHA256:ALL",
                &[E256, R256, ECHA, RCHA, R128],
            ),
            (
                "AES:ECDHE:+AES256:@STRENGTH",
                &[ECHA, RCHA, E256, R256, E128, R128],
            ),
            ("EECDH+AESGCM:EDH+AESGCM", &[E256, R256, E128, R128]),
            (
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
                 ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
                 ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:\
                 DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
                &[E128, R128, E256, R256, ECHA, RCHA],
            ),
            ("HIGH:!aNULL:!kRSA:!PSK:!SRP:!MD5:!RC4", DEFAULT),
            (
                "ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES256:ECDH+AES128:!aNULL:!SHA1:!AESCCM",
                &[E256, R256, E128, R128, ECHA, RCHA],
            ),
            (
                "CHACHA20:AES256:-ALL:ALL",
                &[ECHA, RCHA, E256, R256, E128, R128],
            ),
            ("", &[]),
            (":::", &[]),
            ("ecdhe", &[]),
            ("TLS_AES_128_GCM_SHA256", &[]),
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", &[]),
            ("ECDHE;AES128,CHACHA20 AES256", DEFAULT),
            ("DEFAULTX", DEFAULT),
            ("HIGH:DEFAULT", DEFAULT),
            ("kRSA:DEFAULT", &[]),
            ("AEAD", &[]),
            ("@STRENGTH:ECDHE", DEFAULT),
            ("ECDHE:@STRENGTH+AES", DEFAULT),
            (" ECDHE ", DEFAULT),
            ("BOGUS++", &[]),
            ("kRSA+ECDHE+", &[]),
            ("COMPLEMENTOFDEFAULT", &[]),
            ("COMPLEMENTOFDEFAULT+HIGH", DEFAULT),
            ("HIGH+COMPLEMENTOFDEFAULT", &[]),
            ("COMPLEMENTOFDEFAULT+ECDHE", &[]),
            ("COMPLEMENTOFDEFAULT+FIPS", &[E256, R256, E128, R128]),
            ("COMPLEMENTOFDEFAULT+ECDHE-RSA-AES256-GCM-SHA384", &[R256]),
            ("ECDHE-RSA-AES256-GCM-SHA384+COMPLEMENTOFDEFAULT", &[]),
            ("COMPLEMENTOFDEFAULT+HIGH+COMPLEMENTOFDEFAULT", &[]),
            (
                "aRSA+EECDH:!COMPLEMENTOFDEFAULT+ECDHE-RSA-AES256-GCM-SHA384:!eNULL",
                &[RCHA, R128],
            ),
        ];
        for &(s, want) in cases {
            let got = list(s);
            if want.is_empty() {
                assert!(
                    matches!(got, Err(CipherListError::NoCipherMatch(_))),
                    "{s:?}: {got:?}"
                );
            } else {
                assert_eq!(got.as_deref(), Ok(want), "{s:?}");
            }
        }
    }

    #[test]
    fn cipher_list_errors() {
        // OpenSSL: SSL_R_INVALID_COMMAND for each.
        for s in [
            "ECDHE+",
            "ECDHE++AES",
            "*",
            "!:ECDHE",
            "ECDHE:!",
            "ECDHE:-",
            "@BOGUS",
            "ECDHE:@SECLEVEL=9",
            "ECDHE:@SECLEVEL=10",
            "ECDHE:@SECLEVEL=a",
            "DEFAULT:ECDHE+",
            "ECDHE:\u{e9}",
        ] {
            let e = parse_cipher_list_full(s).unwrap_err();
            assert_eq!(e.reason(), SSL_R_INVALID_COMMAND, "{s:?}: {e}");
            assert!(e.detail().contains(s), "{e}");
        }
        let e = parse_cipher_list_full("kRSA").unwrap_err();
        assert_eq!(e.reason(), SSL_R_NO_CIPHER_MATCH);
        let msg = parse_cipher_list("kRSA").unwrap_err();
        assert!(msg.contains("\"kRSA\""), "{msg}");
        assert!(
            msg.contains("none of the TLS 1.2 cipher suites ferrotls"),
            "{msg}"
        );
        for n in DEFAULT {
            assert!(msg.contains(n), "{msg}");
        }
    }

    #[test]
    fn cipher_list_extras() {
        let l = parse_cipher_list_full("HIGH:@SECLEVEL=3:@SECLEVEL=1").unwrap();
        assert_eq!(l.sec_level, Some(1));
        assert_eq!(l.suite_b, None);
        let l = parse_cipher_list_full("SUITEB128ONLY").unwrap();
        assert_eq!(
            (names(&l.suites), l.suite_b),
            (vec![E128], Some(SuiteB::Los128Only))
        );
        let l = parse_cipher_list_full("SUITEB128C2").unwrap();
        assert_eq!(
            (names(&l.suites), l.suite_b),
            (vec![E256], Some(SuiteB::Los128))
        );
        let l = parse_cipher_list_full("SUITEB192:ALL").unwrap();
        assert_eq!(
            (names(&l.suites), l.suite_b),
            (vec![E256], Some(SuiteB::Los192))
        );
        assert_eq!(names(&default_tls12()), DEFAULT);
        // A C string ends at its NUL.
        assert_eq!(list("AES256\0:CHACHA20").unwrap(), vec![E256, R256]);
    }

    #[test]
    fn ciphersuites() {
        let p = |s| parse_ciphersuites(s).map(|v| names(&v));
        assert_eq!(p(""), Ok(vec![]));
        assert_eq!(
            p(OPENSSL_DEFAULT_CIPHERSUITES.to_str().unwrap()).unwrap(),
            names(DEFAULT_TLS13)
        );
        assert_eq!(
            names(DEFAULT_TLS13),
            [
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_GCM_SHA256"
            ]
        );
        assert_eq!(
            p(" TLS_AES_128_GCM_SHA256 : TLS_CHACHA20_POLY1305_SHA256"),
            Ok(vec![
                "TLS_AES_128_GCM_SHA256",
                "TLS_CHACHA20_POLY1305_SHA256"
            ])
        );
        // Unknown names and the CCM suites are skipped, repeats dropped.
        assert_eq!(
            p("BOGUS:TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384::TLS_AES_256_GCM_SHA384"),
            Ok(vec!["TLS_AES_256_GCM_SHA384"])
        );
        // Nothing of ours left in a non-empty string: an error (OpenSSL accepts CCM alone).
        for s in [
            "BOGUS",
            ":",
            " ",
            "tls_aes_128_gcm_sha256",
            "TLS_AES_128_GCM_SHA256,TLS_CHACHA20_POLY1305_SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_AES_128_CCM_8_SHA256",
        ] {
            let e = p(s).unwrap_err();
            assert!(e.contains(&format!("\"{s}\"")), "{e}");
            assert!(e.contains("TLS_AES_256_GCM_SHA384"), "{e}");
        }
        assert!(
            p("TLS_AES_128_CCM_8_SHA256")
                .unwrap_err()
                .contains("not implemented")
        );
    }

    #[test]
    fn table_matches_the_engine() {
        use ferrotls::crypto::aead::AeadAlgorithm;
        use ferrotls::crypto::hash::HashAlgorithm;
        use ferrotls::crypto::suites::{ALL_SUITES, openssl_name};
        assert_eq!(ALL_SUITES.len(), CIPHERS.len());
        for s in ALL_SUITES {
            let c = by_id(s.suite.to_int()).unwrap();
            assert_eq!(c.standard_name.to_str().unwrap(), s.suite.name().unwrap());
            assert_eq!(c.name.to_str().unwrap(), openssl_name(s.suite).unwrap());
            assert_eq!(c.is_tls13(), s.is_tls13());
            let nid = match s.aead {
                AeadAlgorithm::Aes128Gcm => NID_AES_128_GCM,
                AeadAlgorithm::Aes256Gcm => NID_AES_256_GCM,
                AeadAlgorithm::ChaCha20Poly1305 => NID_CHACHA20_POLY1305,
            };
            assert_eq!(c.cipher_nid, nid);
            let digest = match s.hash {
                HashAlgorithm::Sha256 => "SHA256",
                HashAlgorithm::Sha384 => "SHA384",
            };
            assert_eq!(c.digest.to_str().unwrap(), digest);
            assert_eq!(c.id(), s.suite.to_int());
            assert_eq!(c.openssl_id(), 0x0300_0000 | u32::from(c.id()));
            assert!(ptr::eq(from_ptr(as_ptr(c)).unwrap(), c));
        }
        assert!(tls13().iter().all(SslCipher::is_tls13));
        assert!(!tls12().iter().any(SslCipher::is_tls13));
        assert!(by_id(0x1304).is_none());
        assert!(from_ptr(ptr::null()).is_none());
    }

    /// The description is OpenSSL's "%-30s %-7s Kx=%-8s Au=%-5s Enc=%-22s Mac=%-4s\n" layout.
    #[test]
    fn descriptions() {
        for c in &CIPHERS {
            let (kx, au) = match c.auth_nid {
                NID_AUTH_RSA => ("ECDH", "RSA"),
                NID_AUTH_ECDSA => ("ECDH", "ECDSA"),
                _ => ("any", "any"),
            };
            let enc = match c.cipher_nid {
                NID_AES_128_GCM => "AESGCM(128)",
                NID_AES_256_GCM => "AESGCM(256)",
                _ => "CHACHA20/POLY1305(256)",
            };
            let want = format!(
                "{:<30} {:<7} Kx={kx:<8} Au={au:<5} Enc={enc:<22} Mac={:<4}\n",
                c.name.to_str().unwrap(),
                c.version.to_str().unwrap(),
                "AEAD"
            );
            assert_eq!(c.description.to_str().unwrap(), want);
            assert!(c.description.to_bytes_with_nul().len() <= DESCRIPTION_LEN);
        }
    }

    #[test]
    fn name_lookups() {
        let c = by_id(0xC02F).unwrap();
        let p = as_ptr(c);
        // SAFETY (for the reads below): the exports return static NUL-terminated strings.
        let s = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(s(_ferrossl_SSL_CIPHER_get_name(p)), R128);
        assert_eq!(
            s(_ferrossl_SSL_CIPHER_standard_name(p)),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(s(_ferrossl_SSL_CIPHER_get_version(p)), "TLSv1.2");
        assert_eq!(s(_ferrossl_SSL_CIPHER_get_name(ptr::null())), "(NONE)");
        assert_eq!(s(_ferrossl_SSL_CIPHER_standard_name(ptr::null())), "(NONE)");
        assert_eq!(s(_ferrossl_SSL_CIPHER_get_version(ptr::null())), "(NONE)");
        // SAFETY: NUL-terminated strings or NULL.
        let name = |n: Option<&CStr>| {
            s(unsafe { _ferrossl_OPENSSL_cipher_name(n.map_or(ptr::null(), CStr::as_ptr)) })
        };
        assert_eq!(name(Some(c"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")), R128);
        assert_eq!(
            name(Some(c"TLS_CHACHA20_POLY1305_SHA256")),
            "TLS_CHACHA20_POLY1305_SHA256"
        );
        assert_eq!(
            name(Some(c"tls_ecdhe_rsa_with_aes_128_gcm_sha256")),
            "(NONE)"
        );
        assert_eq!(name(Some(c"ECDHE-RSA-AES128-GCM-SHA256")), "(NONE)");
        assert_eq!(name(None), "(NONE)");
        assert_eq!(_ferrossl_SSL_CIPHER_get_id(p), 0x0300_C02F);
        assert_eq!(_ferrossl_SSL_CIPHER_get_protocol_id(p), 0xC02F);
        assert_eq!(_ferrossl_SSL_CIPHER_get_kx_nid(p), NID_KX_ECDHE);
        assert_eq!(_ferrossl_SSL_CIPHER_get_auth_nid(p), NID_AUTH_RSA);
        assert_eq!(_ferrossl_SSL_CIPHER_get_cipher_nid(p), NID_AES_128_GCM);
        assert_eq!(_ferrossl_SSL_CIPHER_get_digest_nid(p), NID_UNDEF);
        assert_eq!(_ferrossl_SSL_CIPHER_is_aead(p), 1);
        let t = as_ptr(by_id(0x1302).unwrap());
        assert_eq!(_ferrossl_SSL_CIPHER_get_kx_nid(t), NID_KX_ANY);
        assert_eq!(_ferrossl_SSL_CIPHER_get_auth_nid(t), NID_AUTH_ANY);
        let mut alg = 0;
        // SAFETY: a writable int.
        assert_eq!(unsafe { _ferrossl_SSL_CIPHER_get_bits(t, &mut alg) }, 256);
        assert_eq!(alg, 256);
        // SAFETY: NULL is allowed.
        assert_eq!(
            unsafe { _ferrossl_SSL_CIPHER_get_bits(p, ptr::null_mut()) },
            128
        );
        let mut untouched = 7;
        // SAFETY: a writable int.
        assert_eq!(
            unsafe { _ferrossl_SSL_CIPHER_get_bits(ptr::null(), &mut untouched) },
            0
        );
        assert_eq!(untouched, 7);
        assert_eq!(_ferrossl_SSL_CIPHER_get_cipher_nid(ptr::null()), NID_UNDEF);
        let id = [0xCCu8, 0xA9];
        let mut ssl = 0u8;
        let sslp = (&raw mut ssl).cast::<c_void>();
        // SAFETY: two readable bytes.
        let found = unsafe { _ferrossl_SSL_CIPHER_find(sslp, id.as_ptr()) };
        assert_eq!(s(_ferrossl_SSL_CIPHER_get_name(found)), ECHA);
        // SAFETY: as above.
        assert!(unsafe { _ferrossl_SSL_CIPHER_find(sslp, [0x13, 0x04].as_ptr()) }.is_null());
        assert!(!_ferrossl_SSL_CIPHER_get_handshake_digest(p).is_null());
    }

    #[test]
    fn description_export() {
        let p = as_ptr(by_id(0xC030).unwrap());
        let mut buf = [0 as c_char; 128];
        // SAFETY: 128 writable bytes.
        let r = unsafe { _ferrossl_SSL_CIPHER_description(p, buf.as_mut_ptr(), 128) };
        assert_eq!(r, buf.as_mut_ptr());
        // SAFETY: NUL-terminated by the call.
        let text = unsafe { CStr::from_ptr(r) };
        assert_eq!(
            text.to_str().unwrap(),
            "ECDHE-RSA-AES256-GCM-SHA384    TLSv1.2 Kx=ECDH     Au=RSA   \
             Enc=AESGCM(256)            Mac=AEAD\n"
        );
        // SAFETY: a short buffer is refused before it is written.
        assert!(unsafe { _ferrossl_SSL_CIPHER_description(p, buf.as_mut_ptr(), 127) }.is_null());
    }

    #[test]
    fn stack() {
        unsafe extern "C" {
            fn OPENSSL_sk_num(sk: *const c_void) -> c_int;
            fn OPENSSL_sk_value(sk: *const c_void, i: c_int) -> *mut c_void;
        }
        let ids = [0x1301, 0xC02F, 0x0005, 0xCCA8];
        let sk = stack_of(&ids);
        assert!(!sk.is_null());
        // SAFETY: `sk` is a live stack of ours.
        unsafe {
            assert_eq!(OPENSSL_sk_num(sk), 3);
            for (i, id) in [0x1301, 0xC02F, 0xCCA8].into_iter().enumerate() {
                let v = OPENSSL_sk_value(sk, i as c_int).cast::<SslCipher>();
                assert_eq!(from_ptr(v).unwrap().id(), id);
            }
            OPENSSL_sk_free(sk);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Against the real thing: the `openssl` command on this machine (skipped if absent).

    fn openssl_ok() -> bool {
        std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// What OpenSSL makes of cipher list `s`, filtered to our six: Ok(names) or Err(reason).
    fn openssl_list(s: &str) -> Result<Vec<String>, c_int> {
        let out = std::process::Command::new("openssl")
            .args(["ciphers", "--", s])
            .output()
            .unwrap();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(if err.contains("invalid command") {
                SSL_R_INVALID_COMMAND
            } else {
                assert!(err.contains("no cipher match"), "{s:?}: {err}");
                SSL_R_NO_CIPHER_MATCH
            });
        }
        let ours: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .split(':')
            .filter(|n| tls12().iter().any(|c| c.name.to_bytes() == n.as_bytes()))
            .map(str::to_owned)
            .collect();
        if ours.is_empty() {
            Err(SSL_R_NO_CIPHER_MATCH)
        } else {
            Ok(ours)
        }
    }

    fn compare(s: &str) {
        let want = openssl_list(s);
        let got = parse_cipher_list_full(s)
            .map(|l| names(&l.suites).into_iter().map(str::to_owned).collect())
            .map_err(|e| e.reason());
        assert_eq!(got, want, "cipher list {s:?}");
    }

    #[test]
    fn against_openssl_fixed() {
        if !openssl_ok() {
            eprintln!("skipped: no openssl command");
            return;
        }
        for s in [
            "HIGH:!aNULL:!MD5",
            "DEFAULT",
            "ECDHE+AESGCM",
            "ALL:!ECDSA",
            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
            "AES256",
            "CHACHA20",
            "kRSA",
            "-ALL:+ECDHE-RSA-AES128-GCM-SHA256",
            "DEFAULT:@STRENGTH",
            "HIGH:@SECLEVEL=2",
            "CHACHA20:AES256:-ALL:ALL",
            "HIGH+FIPS",
            "SUITEB128",
            "SUITEB128ONLY",
            "SUITEB128C2",
            "SUITEB192:ALL",
            "DEFAULT+ECDSA",
            "DEFAULTX",
            "ECDHE!ECDSA:AES",
            "ECDHE@STRENGTH",
            "ECDHE+",
            "ECDHE++AES",
            "@BOGUS",
            "ECDHE:@SECLEVEL=9",
            "!:ECDHE",
            "ECDHE:-",
            "",
            ":::",
            "ECDHE;AES128,CHACHA20 AES256",
            "COMPLEMENTOFDEFAULT",
            "COMPLEMENTOFALL",
            "ALL:COMPLEMENTOFALL",
            "aNULL:eNULL:NULL:EXPORT:MD5:SHA1:SHA:SHA256:SHA384:RC4:DES:3DES",
            "RSA:kDHE:DHE:EDH:PSK:SRP:CAMELLIA:ARIA:AESCCM:CBC:LOW:MEDIUM",
            "TLSv1:TLSv1.0:SSLv3:TLSv1.3",
        ] {
            compare(s);
        }
        // Every alias that selects any of our suites, alone: all known to us.
        for a in [
            "ALL", "HIGH", "FIPS", "kECDHE", "kEECDH", "ECDH", "ECDHE", "EECDH", "aRSA", "aECDSA",
            "ECDSA", "AES", "AESGCM", "AES128", "AES256", "CHACHA20", "TLSv1.2",
        ] {
            compare(a);
        }
    }

    /// Random well-formed cipher lists: ours and OpenSSL's orders agree.
    #[test]
    fn against_openssl_random() {
        if !openssl_ok() {
            eprintln!("skipped: no openssl command");
            return;
        }
        const NAMES: &[&str] = &[
            "ALL",
            "HIGH",
            "FIPS",
            "kECDHE",
            "ECDH",
            "ECDHE",
            "EECDH",
            "aRSA",
            "aECDSA",
            "ECDSA",
            "AES",
            "AESGCM",
            "AES128",
            "AES256",
            "CHACHA20",
            "TLSv1.2",
            "kRSA",
            "DHE",
            "PSK",
            "aNULL",
            "eNULL",
            "SHA256",
            "SHA1",
            "CBC",
            "AESCCM",
            "TLSv1",
            "MEDIUM",
            "BOGUS",
            "COMPLEMENTOFDEFAULT",
            "DEFAULT",
            E128,
            E256,
            ECHA,
            R128,
            R256,
            RCHA,
            "DHE-RSA-AES256-GCM-SHA384",
            "AES128-SHA",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..300 {
            let mut s = String::new();
            match next(8) {
                0 => s.push_str("DEFAULT:"),
                1 => s.push_str("SUITEB128:"),
                _ => {}
            }
            for e in 0..1 + next(6) {
                if e > 0 {
                    s.push([':', ':', ',', ' ', ';'][next(5)]);
                }
                match next(12) {
                    0 => {
                        s.push_str("@STRENGTH");
                        continue;
                    }
                    1 => {
                        s.push_str(&format!("@SECLEVEL={}", next(6)));
                        continue;
                    }
                    2 | 3 => s.push('-'),
                    4 | 5 => s.push('!'),
                    6 | 7 => s.push('+'),
                    _ => {}
                }
                s.push_str(NAMES[next(NAMES.len())]);
                while next(3) == 0 {
                    s.push('+');
                    s.push_str(NAMES[next(NAMES.len())]);
                }
            }
            compare(&s);
        }
    }

    #[test]
    fn descriptions_against_openssl() {
        if !openssl_ok() {
            eprintln!("skipped: no openssl command");
            return;
        }
        let out = std::process::Command::new("openssl")
            .args(["ciphers", "-v", "ALL"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for c in &CIPHERS {
            let name = c.name.to_str().unwrap();
            let line = text
                .split_inclusive('\n')
                .find(|l| l.split(' ').next() == Some(name))
                .unwrap_or_else(|| panic!("{name} not in openssl ciphers -v"));
            assert_eq!(line, c.description.to_str().unwrap());
        }
        let out = std::process::Command::new("openssl")
            .args(["ciphers", "-stdname", "ALL"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        // "IANA-NAME<blanks> - DESCRIPTION" per line.
        for c in &CIPHERS {
            let std = c.standard_name.to_str().unwrap();
            let line = text
                .split_inclusive('\n')
                .find(|l| l.split(' ').next() == Some(std))
                .unwrap_or_else(|| panic!("{std} not in openssl ciphers -stdname"));
            let (_, description) = line.split_once(" - ").unwrap();
            assert_eq!(description, c.description.to_str().unwrap());
        }
    }
}
