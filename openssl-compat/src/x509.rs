//! Moving certificates and keys between libcrypto's objects and the engine's bytes: DER to
//! `X509` and back, PEM text for the engine's loaders, and owned references that count.

use std::ffi::{c_uchar, c_void};

use crate::libcrypto::*;

/// A counted reference to a libcrypto `X509`: cloning takes a reference, dropping gives one back.
pub struct X509Ref(pub *mut X509);

impl X509Ref {
    /// Take over one reference the caller holds.
    pub fn adopt(p: *mut X509) -> Option<Self> {
        (!p.is_null()).then_some(Self(p))
    }
    /// Take a new reference to `p`.
    ///
    /// # Safety
    /// `p` is NULL or a live X509.
    pub unsafe fn share(p: *mut X509) -> Option<Self> {
        if p.is_null() {
            return None;
        }
        // SAFETY: per the caller.
        unsafe { X509_up_ref(p) };
        Some(Self(p))
    }
    /// The DER encoding.
    pub fn der(&self) -> Vec<u8> {
        // SAFETY: a live X509; i2d with NULL gives the length, then writes that many bytes.
        unsafe {
            let n = i2d_X509(self.0, std::ptr::null_mut());
            if n <= 0 {
                return Vec::new();
            }
            let mut v = vec![0u8; n as usize];
            let mut p = v.as_mut_ptr();
            i2d_X509(self.0, &mut p);
            v
        }
    }
    /// A new X509 from DER, or None if libcrypto cannot parse it.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let mut p = der.as_ptr();
        // SAFETY: `p` points to der.len() bytes; d2i allocates a new object.
        let x = unsafe { d2i_X509(std::ptr::null_mut(), &mut p, der.len() as _) };
        Self::adopt(x)
    }
    /// Hand one reference to a caller that will free it.
    pub fn into_raw(self) -> *mut X509 {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Clone for X509Ref {
    fn clone(&self) -> Self {
        // SAFETY: a live X509 we hold a reference to.
        unsafe { X509_up_ref(self.0) };
        Self(self.0)
    }
}

impl Drop for X509Ref {
    fn drop(&mut self) {
        // SAFETY: the reference we hold.
        unsafe { X509_free(self.0) }
    }
}

/// A counted reference to a libcrypto `EVP_PKEY`.
pub struct PKeyRef(pub *mut EVP_PKEY);

impl PKeyRef {
    pub fn adopt(p: *mut EVP_PKEY) -> Option<Self> {
        (!p.is_null()).then_some(Self(p))
    }
    /// # Safety
    /// `p` is NULL or a live EVP_PKEY.
    pub unsafe fn share(p: *mut EVP_PKEY) -> Option<Self> {
        if p.is_null() {
            return None;
        }
        // SAFETY: per the caller.
        unsafe { EVP_PKEY_up_ref(p) };
        Some(Self(p))
    }
}

impl Clone for PKeyRef {
    fn clone(&self) -> Self {
        // SAFETY: a live key we hold a reference to.
        unsafe { EVP_PKEY_up_ref(self.0) };
        Self(self.0)
    }
}

impl Drop for PKeyRef {
    fn drop(&mut self) {
        // SAFETY: the reference we hold.
        unsafe { EVP_PKEY_free(self.0) }
    }
}

/// A memory BIO that is freed when dropped.
pub struct MemBio(pub *mut BIO);

impl MemBio {
    /// An empty, writable memory BIO (`secure`: in libcrypto's secure heap, wiped on free).
    pub fn new(secure: bool) -> Option<Self> {
        // SAFETY: plain constructors.
        let b = unsafe { BIO_new(if secure { BIO_s_secmem() } else { BIO_s_mem() }) };
        (!b.is_null()).then_some(Self(b))
    }
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: our live memory BIO.
        unsafe { mem_bio_bytes(self.0) }
    }
}

impl Drop for MemBio {
    fn drop(&mut self) {
        // SAFETY: ours.
        unsafe { BIO_free(self.0) };
    }
}

/// PEM text of `certs` (for the engine's loaders).
pub fn certs_pem<'a>(certs: impl IntoIterator<Item = &'a X509Ref>) -> Vec<u8> {
    let Some(bio) = MemBio::new(false) else {
        return Vec::new();
    };
    for c in certs {
        // SAFETY: a live BIO and X509.
        unsafe { PEM_write_bio_X509(bio.0, c.0) };
    }
    bio.bytes().to_vec()
}

/// The unencrypted PKCS#8 PEM of `key`, wiped when dropped.
pub fn key_pem(key: &PKeyRef) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let bio = MemBio::new(true)?;
    // SAFETY: a live BIO and key; no cipher, so no password is asked for.
    let ok = unsafe {
        PEM_write_bio_PrivateKey(
            bio.0,
            key.0,
            std::ptr::null(),
            std::ptr::null::<c_uchar>(),
            0,
            None,
            std::ptr::null_mut(),
        )
    };
    (ok == 1).then(|| zeroize::Zeroizing::new(bio.bytes().to_vec()))
}

/// All certificates in `store` (its eagerly loaded objects), as references.
///
/// # Safety
/// `store` is a live X509_STORE.
pub unsafe fn store_certs(store: *mut X509_STORE) -> Vec<X509Ref> {
    // SAFETY: per the caller; get1_all_certs returns a new stack of new references.
    unsafe {
        let sk = X509_STORE_get1_all_certs(store);
        if sk.is_null() {
            return Vec::new();
        }
        let n = OPENSSL_sk_num(sk);
        let out = (0..n)
            .filter_map(|i| X509Ref::adopt(OPENSSL_sk_value(sk, i)))
            .collect();
        OPENSSL_sk_free(sk);
        out
    }
}

/// A new STACK_OF(X509) holding a reference to each of `certs` (the caller owns it: free with
/// `OPENSSL_sk_pop_free(sk, X509_free)`).
pub fn stack_of(certs: &[X509Ref]) -> *mut OPENSSL_STACK {
    // SAFETY: a new stack; each push stores a reference we hand over.
    unsafe {
        let sk = OPENSSL_sk_new_null();
        if sk.is_null() {
            return sk;
        }
        for c in certs {
            OPENSSL_sk_push(sk, c.clone().into_raw().cast_const());
        }
        sk
    }
}

/// `X509_free` as a stack element destructor.
pub unsafe extern "C" fn free_x509(p: *mut c_void) {
    // SAFETY: stack elements are X509 references.
    unsafe { X509_free(p) }
}

/// Free a stack made by [`stack_of`] (NULL is fine).
///
/// # Safety
/// `sk` is NULL or from `stack_of`, not freed.
pub unsafe fn free_stack(sk: *mut OPENSSL_STACK) {
    if !sk.is_null() {
        // SAFETY: per the caller.
        unsafe { OPENSSL_sk_pop_free(sk, Some(free_x509)) }
    }
}

/// The DER of every CRL in `store`.
///
/// # Safety
/// `store` is a live X509_STORE.
pub unsafe fn store_crls(store: *mut X509_STORE) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // SAFETY: per the caller; the object list and its CRLs are borrowed.
    unsafe {
        let objs = X509_STORE_get0_objects(store);
        if objs.is_null() {
            return out;
        }
        for i in 0..OPENSSL_sk_num(objs) {
            let o = OPENSSL_sk_value(objs, i);
            if X509_OBJECT_get_type(o) != X509_LU_CRL {
                continue;
            }
            let crl = X509_OBJECT_get0_X509_CRL(o);
            let n = i2d_X509_CRL(crl, std::ptr::null_mut());
            if n <= 0 {
                continue;
            }
            let mut v = vec![0u8; n as usize];
            let mut p = v.as_mut_ptr();
            i2d_X509_CRL(crl, &mut p);
            out.push(v);
        }
    }
    out
}
