//! Session tickets under the program's own keys: `SSL_CTX_set_tlsext_ticket_key_evp_cb`
//! (nginx's `ssl_session_ticket_key`, HAProxy's `tls-ticket-keys`), in OpenSSL's ticket layout
//! so keys shared with servers on OpenSSL keep working: key name (16 bytes), IV, the session
//! encrypted with the cipher the callback set up, and an HMAC over all of that. The
//! cryptography is libcrypto's, keyed and chosen by the program's callback; the engine's
//! serialized session is what gets sealed.

use std::ffi::{c_int, c_uchar, c_void};

use ferrotls::session::TicketSealer;

use crate::ssl::current;

/// The ticket key callback's function type.
pub type TicketKeyFn = unsafe extern "C" fn(
    *mut c_void,
    *mut c_uchar,
    *mut c_uchar,
    *mut c_void,
    *mut c_void,
    c_int,
) -> c_int;

pub type TicketKeyEvpCb = Option<
    unsafe extern "C" fn(
        *mut c_void,
        *mut c_uchar,
        *mut c_uchar,
        *mut c_void,
        *mut c_void,
        c_int,
    ) -> c_int,
>;

const KEY_NAME_LEN: usize = 16;
const MAX_IV_LEN: usize = 16;
const MAX_MAC_LEN: usize = 64;

unsafe extern "C" {
    fn EVP_CIPHER_CTX_new() -> *mut c_void;
    fn EVP_CIPHER_CTX_free(c: *mut c_void);
    fn EVP_CIPHER_CTX_get_iv_length(c: *const c_void) -> c_int;
    fn EVP_CIPHER_CTX_get_block_size(c: *const c_void) -> c_int;
    fn EVP_EncryptUpdate(
        c: *mut c_void,
        out: *mut c_uchar,
        outl: *mut c_int,
        inp: *const c_uchar,
        inl: c_int,
    ) -> c_int;
    fn EVP_EncryptFinal_ex(c: *mut c_void, out: *mut c_uchar, outl: *mut c_int) -> c_int;
    fn EVP_DecryptUpdate(
        c: *mut c_void,
        out: *mut c_uchar,
        outl: *mut c_int,
        inp: *const c_uchar,
        inl: c_int,
    ) -> c_int;
    fn EVP_DecryptFinal_ex(c: *mut c_void, out: *mut c_uchar, outl: *mut c_int) -> c_int;
    fn EVP_MAC_fetch(
        libctx: *mut c_void,
        algorithm: *const std::ffi::c_char,
        props: *const std::ffi::c_char,
    ) -> *mut c_void;
    fn EVP_MAC_free(m: *mut c_void);
    fn EVP_MAC_CTX_new(m: *mut c_void) -> *mut c_void;
    fn EVP_MAC_CTX_free(c: *mut c_void);
    fn EVP_MAC_CTX_get_mac_size(c: *mut c_void) -> usize;
    fn EVP_MAC_update(c: *mut c_void, data: *const c_uchar, len: usize) -> c_int;
    fn EVP_MAC_final(c: *mut c_void, out: *mut c_uchar, outl: *mut usize, outsize: usize) -> c_int;
    fn CRYPTO_memcmp(a: *const c_void, b: *const c_void, len: usize) -> c_int;
}

/// A cipher and an HMAC context for one callback call, freed on drop.
struct Ctxs {
    cipher: *mut c_void,
    mac: *mut c_void,
    hmac: *mut c_void,
}

impl Ctxs {
    fn new() -> Option<Self> {
        // SAFETY: constructors; NULL checked.
        unsafe {
            let hmac = EVP_MAC_fetch(std::ptr::null_mut(), c"HMAC".as_ptr(), std::ptr::null());
            let c = Self {
                cipher: EVP_CIPHER_CTX_new(),
                mac: if hmac.is_null() {
                    hmac
                } else {
                    EVP_MAC_CTX_new(hmac)
                },
                hmac,
            };
            (!c.cipher.is_null() && !c.mac.is_null()).then_some(c)
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> Option<Vec<u8>> {
        // SAFETY: the MAC context the callback initialised; our buffers.
        unsafe {
            for p in parts {
                if EVP_MAC_update(self.mac, p.as_ptr(), p.len()) != 1 {
                    return None;
                }
            }
            let mut out = vec![0u8; MAX_MAC_LEN];
            let mut n = 0usize;
            (EVP_MAC_final(self.mac, out.as_mut_ptr(), &mut n, out.len()) == 1).then(|| {
                out.truncate(n);
                out
            })
        }
    }
}

impl Drop for Ctxs {
    fn drop(&mut self) {
        // SAFETY: ours (NULL is fine for each).
        unsafe {
            EVP_CIPHER_CTX_free(self.cipher);
            EVP_MAC_CTX_free(self.mac);
            EVP_MAC_free(self.hmac);
        }
    }
}

/// The sealer over the program's callback (found through the SSL being served).
#[derive(Debug)]
pub struct EvpSealer {
    pub lifetime: u32,
}

thread_local! {
    /// The last ticket the callback asked to renew (its return value 2).
    static RENEW: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn callback() -> Option<(*mut c_void, TicketKeyFn)> {
    let ssl = current();
    if ssl.is_null() {
        return None;
    }
    // SAFETY: the SSL whose handshake is running, and its context.
    let cb = unsafe { (*(*ssl).ctx).ticket_key_cb }?;
    Some((ssl.cast(), cb))
}

impl TicketSealer for EvpSealer {
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let (ssl, cb) = callback()?;
        let c = Ctxs::new()?;
        let mut name = [0u8; KEY_NAME_LEN];
        let mut iv = [0u8; MAX_IV_LEN];
        // SAFETY: the program's callback fills the key name and IV and initialises both
        // contexts for encryption (enc = 1).
        if unsafe { cb(ssl, name.as_mut_ptr(), iv.as_mut_ptr(), c.cipher, c.mac, 1) } <= 0 {
            return None; // 0: no ticket this time; < 0: an error
        }
        // SAFETY: the initialised cipher context; the output has room for a block more.
        let (ivlen, block) = unsafe {
            (
                EVP_CIPHER_CTX_get_iv_length(c.cipher),
                EVP_CIPHER_CTX_get_block_size(c.cipher),
            )
        };
        let ivlen = usize::try_from(ivlen).ok().filter(|&n| n <= MAX_IV_LEN)?;
        let mut ct = vec![0u8; plain.len() + block.max(1) as usize];
        let (mut n1, mut n2) = (0, 0);
        // SAFETY: as above.
        let ok = unsafe {
            EVP_EncryptUpdate(
                c.cipher,
                ct.as_mut_ptr(),
                &mut n1,
                plain.as_ptr(),
                plain.len() as c_int,
            ) == 1
                && EVP_EncryptFinal_ex(c.cipher, ct.as_mut_ptr().add(n1 as usize), &mut n2) == 1
        };
        if !ok {
            return None;
        }
        ct.truncate((n1 + n2) as usize);
        let mac = c.mac(&[&name, &iv[..ivlen], &ct])?;
        let mut t = Vec::with_capacity(KEY_NAME_LEN + ivlen + ct.len() + mac.len());
        t.extend_from_slice(&name);
        t.extend_from_slice(&iv[..ivlen]);
        t.extend_from_slice(&ct);
        t.extend_from_slice(&mac);
        Some(t)
    }

    fn open(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        let (ssl, cb) = callback()?;
        if ticket.len() < KEY_NAME_LEN + MAX_IV_LEN {
            return None;
        }
        let c = Ctxs::new()?;
        let mut name = [0u8; KEY_NAME_LEN];
        name.copy_from_slice(&ticket[..KEY_NAME_LEN]);
        let mut iv = [0u8; MAX_IV_LEN];
        iv.copy_from_slice(&ticket[KEY_NAME_LEN..KEY_NAME_LEN + MAX_IV_LEN]);
        // SAFETY: the program's callback looks the key name up and initialises both contexts
        // for decryption (enc = 0) with the IV.
        let r = unsafe { cb(ssl, name.as_mut_ptr(), iv.as_mut_ptr(), c.cipher, c.mac, 0) };
        if r <= 0 {
            return None; // an unknown key: a full handshake
        }
        // SAFETY: the initialised contexts.
        let (ivlen, mlen) = unsafe {
            (
                EVP_CIPHER_CTX_get_iv_length(c.cipher),
                EVP_MAC_CTX_get_mac_size(c.mac),
            )
        };
        let ivlen = usize::try_from(ivlen).ok().filter(|&n| n <= MAX_IV_LEN)?;
        if mlen == 0 || mlen > MAX_MAC_LEN || ticket.len() < KEY_NAME_LEN + ivlen + mlen + 1 {
            return None;
        }
        let (body, tag) = ticket.split_at(ticket.len() - mlen);
        let mac = c.mac(&[body])?;
        // SAFETY: two buffers of mlen bytes; a constant-time comparison.
        if mac.len() != mlen
            || unsafe { CRYPTO_memcmp(mac.as_ptr().cast(), tag.as_ptr().cast(), mlen) } != 0
        {
            return None;
        }
        let ct = &body[KEY_NAME_LEN + ivlen..];
        let mut pt = zeroize::Zeroizing::new(vec![0u8; ct.len() + MAX_IV_LEN]);
        let (mut n1, mut n2) = (0, 0);
        // SAFETY: the initialised cipher context; the output has room for the input and a block.
        let ok = unsafe {
            EVP_DecryptUpdate(
                c.cipher,
                pt.as_mut_ptr(),
                &mut n1,
                ct.as_ptr(),
                ct.len() as c_int,
            ) == 1
                && EVP_DecryptFinal_ex(c.cipher, pt.as_mut_ptr().add(n1 as usize), &mut n2) == 1
        };
        if !ok {
            return None;
        }
        if r == 2 {
            RENEW.with(|t| *t.borrow_mut() = ticket.to_vec());
        }
        Some(pt[..(n1 + n2) as usize].to_vec())
    }

    fn lifetime_secs(&self) -> u32 {
        self.lifetime
    }

    fn should_renew(&self, ticket: &[u8]) -> bool {
        RENEW.with(|t| {
            let mut t = t.borrow_mut();
            let hit = *t == ticket;
            t.clear();
            hit
        })
    }
}

/// `SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, cb)`: seal tickets under the program's keys.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CTX_set_tlsext_ticket_key_evp_cb(
    ctx: *mut crate::ctx::Ctx,
    cb: TicketKeyEvpCb,
) -> c_int {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live context.
    let ctx = unsafe { &mut *ctx };
    ctx.ticket_key_cb = cb;
    ctx.changed();
    1
}
