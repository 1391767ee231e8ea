//! The C ABI (`include/ferrotls.h`): a thin shell over [`crate::config`] and [`crate::conn`].
//!
//! # Safety (the contract every `extern "C"` function here relies on)
//!
//! These functions are meant to be called from C. Each one documents its arguments; in
//! general:
//! * handle pointers are NULL or were returned by this library and not freed yet (a handle of
//!   the wrong type, or a freed one whose memory is still mapped, is detected by a tag word and
//!   rejected with `FERROTLS_ERR_WRONG_HANDLE_TYPE`, but use-after-free is still the caller's bug);
//! * `(pointer, length)` pairs describe readable (or, for outputs, writable) memory of that
//!   many bytes; `(NULL, 0)` is an empty slice; output buffers may be uninitialized;
//! * `const char *` arguments are NUL-terminated UTF-8 strings;
//! * out-params point to writable memory of their type.
//!
//! Every export runs inside `catch_unwind`, checks NULL, and records a detail string (the
//! thread-local one, and for fatal connection errors the connection's sticky one), with the
//! typed [`Reason`] of a protocol error beside it (`ferrotls_last_error_reason`,
//! `ferrotls_conn_error_reason`).
#![allow(clippy::missing_safety_doc)]

pub mod callbacks;
pub mod config;
pub mod conn;
pub mod fd;
pub mod result;
mod state;
pub mod version;

pub use callbacks::*;
pub use config::*;
pub use conn::*;
pub use fd::*;
pub use result::*;
pub use version::*;

use std::cell::{Cell, RefCell, UnsafeCell};
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Reason;

/// Tag word of a live config builder.
pub(crate) const TAG_BUILDER: u64 = u64::from_be_bytes(*b"FTLSBLDR");
/// Tag word of a live config.
pub(crate) const TAG_CONFIG: u64 = u64::from_be_bytes(*b"FTLSCONF");
/// Tag word of a live connection.
pub(crate) const TAG_CONN: u64 = u64::from_be_bytes(*b"FTLSCONN");
/// Tag word of a live certified key.
pub(crate) const TAG_CERTKEY: u64 = u64::from_be_bytes(*b"FTLSCKEY");
/// Tag word written into a handle when it is freed.
pub(crate) const TAG_FREED: u64 = u64::from_be_bytes(*b"FTLSFREE");

/// A failed call: the code to return, the detail to record, and the engine's reason (for a
/// protocol error that has one).
#[derive(Debug)]
pub(crate) struct Fail {
    pub code: ferrotls_result,
    pub detail: String,
    pub reason: Option<Reason>,
}

impl Fail {
    /// A failure without a reason (usage, FFI-level and configuration errors).
    pub(crate) fn new(code: ferrotls_result, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            reason: None,
        }
    }

    /// The same failure with the reason of the engine error behind it.
    pub(crate) fn because(mut self, reason: Option<Reason>) -> Self {
        self.reason = reason;
        self
    }

    pub(crate) fn null(arg: &str) -> Self {
        Self::new(
            FERROTLS_ERR_NULL_ARGUMENT,
            format!("argument '{arg}' is NULL"),
        )
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::new(FERROTLS_ERR_INVALID_ARGUMENT, detail)
    }

    /// An engine error outside a connection.
    pub(crate) fn engine(e: &crate::error::Error) -> Self {
        Self::new(code_of(e), e.to_string()).because(e.reason())
    }
}

pub(crate) type FfiResult<T> = Result<T, Fail>;

thread_local! {
    static LAST_DETAIL: RefCell<CString> = RefCell::new(CString::default());
    static LAST_REASON: Cell<Option<Reason>> = const { Cell::new(None) };
}

/// A `CString` from text that may contain NUL bytes (they become U+FFFD).
pub(crate) fn to_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).unwrap_or_default()
}

/// Record the thread-local detail and reason (`None` clears the reason: it belongs to the
/// same failure as the detail).
pub(crate) fn set_detail(s: &str, reason: Option<Reason>) {
    let c = to_cstring(s);
    // A thread-local being destroyed is not an error worth reporting.
    let _ = LAST_DETAIL.try_with(|d| *d.borrow_mut() = c);
    let _ = LAST_REASON.try_with(|r| r.set(reason));
}

pub(crate) fn detail_ptr() -> *const c_char {
    LAST_DETAIL
        .try_with(|d| d.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// The name of a reason as a static C string ("" for `None`): one string per reason for the
/// life of the process, made on its first use (so a bounded table, no allocation per call).
pub(crate) fn reason_ptr(reason: Option<Reason>) -> *const c_char {
    static NAMES: Mutex<Vec<(Reason, &'static CStr)>> = Mutex::new(Vec::new());
    let Some(reason) = reason else {
        return c"".as_ptr();
    };
    // The table only grows, so a poisoned lock still holds valid entries.
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = names.iter().find(|(r, _)| *r == reason) {
        return c.as_ptr();
    }
    let c: &'static CStr = Box::leak(to_cstring(reason.name()).into_boxed_c_str());
    names.push((reason, c));
    c.as_ptr()
}

const PANIC_DETAIL: &str =
    "a panic was caught at the ferrotls API boundary (this is a bug in ferrotls)";

/// The panic boundary for calls that return a result code.
pub(crate) fn ffi_call(f: impl FnOnce() -> FfiResult<ferrotls_result>) -> ferrotls_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(code)) => code,
        Ok(Err(fail)) => {
            set_detail(&fail.detail, fail.reason);
            fail.code
        }
        Err(_) => {
            set_detail(PANIC_DETAIL, None);
            FERROTLS_ERR_PANIC
        }
    }
}

/// The panic boundary for infallible calls (getters): failures give `fallback`.
pub(crate) fn ffi_value<R>(fallback: R, f: impl FnOnce() -> FfiResult<R>) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(fail)) => {
            set_detail(&fail.detail, fail.reason);
            fallback
        }
        Err(_) => {
            set_detail(PANIC_DETAIL, None);
            fallback
        }
    }
}

fn tag_name(tag: u64) -> Option<&'static str> {
    match tag {
        TAG_BUILDER => Some("ferrotls_config_builder"),
        TAG_CONFIG => Some("ferrotls_config"),
        TAG_CONN => Some("ferrotls_conn"),
        TAG_CERTKEY => Some("ferrotls_certified_key"),
        _ => None,
    }
}

/// Check that `p` is a live handle with tag `want`.
///
/// # Safety
/// `p` is NULL or points to at least 8 readable bytes (every ferrotls handle does).
pub(crate) unsafe fn check_tag(p: *const c_void, want: u64, arg: &str) -> FfiResult<()> {
    if p.is_null() {
        return Err(Fail::null(arg));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<u64>()) {
        return Err(Fail::new(
            FERROTLS_ERR_WRONG_HANDLE_TYPE,
            format!("argument '{arg}' is not a ferrotls handle (misaligned pointer)"),
        ));
    }
    // SAFETY: non-NULL and aligned; the caller guarantees 8 readable bytes. Every handle
    // struct is repr(C) with the u64 tag first.
    let tag = unsafe { std::ptr::read_volatile(p.cast::<u64>()) };
    if tag == want {
        return Ok(());
    }
    let want_name = tag_name(want).unwrap_or("handle");
    let detail = match (tag, tag_name(tag)) {
        (TAG_FREED, _) => format!("argument '{arg}' is a {want_name} that was already freed"),
        (_, Some(got)) => format!("argument '{arg}' must be a {want_name}, but a {got} was passed"),
        (_, None) => format!("argument '{arg}' is not a {want_name} (bad tag word)"),
    };
    Err(Fail::new(FERROTLS_ERR_WRONG_HANDLE_TYPE, detail))
}

/// A handle to a mutable object that one thread uses at a time (builders and connections).
#[repr(C)]
pub(crate) struct Handle<T> {
    tag: u64,
    busy: AtomicBool,
    /// Connection userdata (unused for builders); outside the busy lock on purpose, so that
    /// callbacks can read it.
    pub(crate) userdata: std::sync::atomic::AtomicPtr<c_void>,
    inner: UnsafeCell<T>,
}

/// Exclusive access to a locked handle's inner value; releases the busy flag on drop.
pub(crate) struct Locked<'a, T> {
    busy: &'a AtomicBool,
    inner: *mut T,
}

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the busy flag, so no other reference to the inner value exists.
        unsafe { &*self.inner }
    }
}

impl<T> std::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the busy flag, so no other reference to the inner value exists.
        unsafe { &mut *self.inner }
    }
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

impl<T> Handle<T> {
    pub(crate) fn new_raw(tag: u64, inner: T) -> *mut Self {
        Box::into_raw(Box::new(Self {
            tag,
            busy: AtomicBool::new(false),
            userdata: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
            inner: UnsafeCell::new(inner),
        }))
    }

    /// Check the tag and return the handle without locking it.
    ///
    /// # Safety
    /// `p` is NULL or a pointer returned by [`Handle::new_raw`] with some tag, not freed.
    pub(crate) unsafe fn from_ptr<'a>(
        p: *const c_void,
        tag: u64,
        arg: &str,
    ) -> FfiResult<&'a Self> {
        // SAFETY: forwarded caller guarantee; all handles start with a u64 tag.
        unsafe { check_tag(p, tag, arg)? };
        // SAFETY: the tag says this is a live `Handle<T>` of the expected type.
        Ok(unsafe { &*p.cast::<Self>() })
    }

    /// Lock the handle for exclusive use, or fail with `FERROTLS_ERR_CONCURRENT_USE`.
    pub(crate) fn lock(&self, what: &str) -> FfiResult<Locked<'_, T>> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(Fail::new(
                FERROTLS_ERR_CONCURRENT_USE,
                format!(
                    "the {what} is already in use (by another thread, or by a callback running \
                     inside a call on it)"
                ),
            ));
        }
        Ok(Locked {
            busy: &self.busy,
            inner: self.inner.get(),
        })
    }

    /// Free a handle: poison the tag and drop the box. NULL is a no-op.
    ///
    /// # Safety
    /// `p` is NULL or a pointer returned by [`Handle::new_raw`], not freed yet.
    pub(crate) unsafe fn free(p: *mut c_void, tag: u64, what: &str) -> FfiResult<()> {
        if p.is_null() {
            return Ok(());
        }
        // SAFETY: forwarded caller guarantee.
        let h = unsafe { Self::from_ptr(p, tag, what)? };
        // Refuse to free an object that is in use (e.g. from inside its own callback).
        std::mem::forget(h.lock(what)?);
        let raw = p.cast::<Self>();
        // SAFETY: live handle from Box::into_raw, locked by us; after this write no call
        // accepts it, and we reclaim the box exactly once.
        unsafe {
            (*raw).tag = TAG_FREED;
            drop(Box::from_raw(raw));
        }
        Ok(())
    }
}

/// A `(pointer, length)` input slice; `(NULL, 0)` is empty.
///
/// # Safety
/// If `p` is not NULL it points to `len` readable bytes that stay valid for `'a`.
pub(crate) unsafe fn in_slice<'a>(p: *const u8, len: usize, arg: &str) -> FfiResult<&'a [u8]> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Fail::new(
                FERROTLS_ERR_NULL_ARGUMENT,
                format!("argument '{arg}' is NULL but its length is {len}"),
            ))
        };
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("length of '{arg}' is too large")));
    }
    // SAFETY: non-NULL, caller guarantees `len` readable bytes; u8 has alignment 1.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A `(pointer, capacity)` output buffer; it may be uninitialized (it is zeroed first).
///
/// # Safety
/// If `p` is not NULL it points to `len` writable bytes that stay valid for `'a`.
pub(crate) unsafe fn out_slice<'a>(p: *mut u8, len: usize, arg: &str) -> FfiResult<&'a mut [u8]> {
    if p.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            Err(Fail::new(
                FERROTLS_ERR_NULL_ARGUMENT,
                format!("argument '{arg}' is NULL but its capacity is {len}"),
            ))
        };
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("capacity of '{arg}' is too large")));
    }
    // SAFETY: caller guarantees `len` writable bytes; zeroing them makes the memory
    // initialized before we form a `&mut [u8]` over it.
    unsafe {
        std::ptr::write_bytes(p, 0, len);
        Ok(std::slice::from_raw_parts_mut(p, len))
    }
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// If `p` is not NULL it points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn in_str<'a>(p: *const c_char, arg: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(Fail::null(arg));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's guarantee.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|_| Fail::invalid(format!("argument '{arg}' is not valid UTF-8")))
}

/// An out-param: checks NULL and stores `zero` right away, so that it is zeroed on failure.
///
/// # Safety
/// If `p` is not NULL it points to writable memory for a `T`, valid for `'a`.
pub(crate) unsafe fn out_param<'a, T>(p: *mut T, zero: T, arg: &str) -> FfiResult<&'a mut T> {
    if p.is_null() {
        return Err(Fail::null(arg));
    }
    // SAFETY: non-NULL, writable per the caller's guarantee; `write` does not read or drop
    // the (possibly uninitialized) old value.
    unsafe {
        p.write(zero);
        Ok(&mut *p)
    }
}

/// Last error detail on this thread.
///
/// Returns the detail of the most recent failing ferrotls call on the calling thread ("" if
/// none). The string is owned by the library and valid until the next failing call on this
/// thread. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_last_error_detail() -> *const c_char {
    ffi_value(c"".as_ptr(), || Ok(detail_ptr()))
}

/// Last error reason on this thread.
///
/// Returns the engine's reason for the most recent failing ferrotls call on the calling thread,
/// e.g. "NOT_TLS" or "FINISHED_MISMATCH": which check refused the peer's input, a stable name
/// for programs to match on (`ferrotls_last_error_detail` is the sentence for people). "" if
/// there was no failure or it has no reason (usage, certificate, configuration errors, an
/// alert from the peer, ...). New reasons may appear in any release. Static, never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ferrotls_last_error_reason() -> *const c_char {
    ffi_value(c"".as_ptr(), || {
        Ok(reason_ptr(LAST_REASON.try_with(Cell::get).ok().flatten()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_distinct() {
        let tags = [TAG_BUILDER, TAG_CONFIG, TAG_CONN, TAG_CERTKEY, TAG_FREED];
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
