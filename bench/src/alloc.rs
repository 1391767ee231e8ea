//! A counting global allocator (current and peak live bytes). OpenSSL's allocations are
//! routed here too (CRYPTO_set_mem_functions), so all three libraries are counted alike.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

pub struct Counting;

fn add(n: usize) {
    CALLS.fetch_add(1, Relaxed);
    let now = CURRENT.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

fn sub(n: usize) {
    CURRENT.fetch_sub(n, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            add(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            add(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        sub(l.size());
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            sub(l.size());
            add(new);
        }
        q
    }
}

/// Live heap bytes now.
pub fn current() -> usize {
    CURRENT.load(Relaxed)
}

/// Allocations (and reallocations) so far.
pub fn calls() -> usize {
    CALLS.load(Relaxed)
}

/// Highest live bytes since the last `reset_peak`.
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Start a new peak window at the current level.
pub fn reset_peak() {
    PEAK.store(current(), Relaxed);
}

// OpenSSL's hooks: a 16-byte header before each block remembers its size.
const HDR: usize = 16;

fn layout(n: usize) -> Layout {
    Layout::from_size_align(n + HDR, HDR).unwrap()
}

unsafe extern "C" fn ossl_malloc(
    n: usize,
    _f: *const libc::c_char,
    _l: libc::c_int,
) -> *mut libc::c_void {
    let n = n.max(1);
    unsafe {
        let p = System.alloc(layout(n));
        if p.is_null() {
            return p.cast();
        }
        add(n);
        (p as *mut usize).write(n);
        p.add(HDR).cast()
    }
}

unsafe extern "C" fn ossl_free(p: *mut libc::c_void, _f: *const libc::c_char, _l: libc::c_int) {
    if p.is_null() {
        return;
    }
    unsafe {
        let base = (p as *mut u8).sub(HDR);
        let n = (base as *mut usize).read();
        sub(n);
        System.dealloc(base, layout(n));
    }
}

unsafe extern "C" fn ossl_realloc(
    p: *mut libc::c_void,
    n: usize,
    f: *const libc::c_char,
    l: libc::c_int,
) -> *mut libc::c_void {
    unsafe {
        if p.is_null() {
            return ossl_malloc(n, f, l);
        }
        if n == 0 {
            ossl_free(p, f, l);
            return std::ptr::null_mut();
        }
        let base = (p as *mut u8).sub(HDR);
        let old = (base as *mut usize).read();
        let q = System.realloc(base, layout(old), n + HDR);
        if q.is_null() {
            return q.cast();
        }
        sub(old);
        add(n);
        (q as *mut usize).write(n);
        q.add(HDR).cast()
    }
}

unsafe extern "C" {
    fn CRYPTO_set_mem_functions(
        m: unsafe extern "C" fn(usize, *const libc::c_char, libc::c_int) -> *mut libc::c_void,
        r: unsafe extern "C" fn(
            *mut libc::c_void,
            usize,
            *const libc::c_char,
            libc::c_int,
        ) -> *mut libc::c_void,
        f: unsafe extern "C" fn(*mut libc::c_void, *const libc::c_char, libc::c_int),
    ) -> libc::c_int;
}

/// Route OpenSSL's heap through the counters. Must run before OpenSSL allocates anything.
pub fn hook_openssl() -> bool {
    unsafe { CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1 }
}
