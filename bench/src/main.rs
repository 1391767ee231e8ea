//! `make bench`: ferrotls against rustls (ring; aws-lc-rs for the post-quantum row) and
//! OpenSSL, plus the raw primitives (ring's, and libcrux's ML-KEM) as the floor, in memory
//! in one thread, and over loopback TCP (client and server threads). Rates are per second
//! of process CPU time (all threads); each row's
//! implementations are sampled interleaved (A B C D A B C D ...) and reported as
//! median (min-max). See bench/README.md for how to read the output.

mod alloc;
mod ferro;
mod ffi;
mod floor;
mod ossl;
mod pki;
mod rustls_impl;
mod rustls_unbuffered;
mod sockets;

use std::time::Instant;

use floor::Op;
pub use pki::Pki;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ver {
    V12,
    V13,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key {
    Ecdsa,
    Rsa,
}

/// The one key-exchange group both sides of a row are restricted to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Group {
    X25519,
    /// The hybrid (TLS 1.3 only): X25519 and ML-KEM-768.
    X25519Mlkem768,
}

impl Group {
    /// The IANA codepoint.
    pub fn id(self) -> u16 {
        match self {
            Group::X25519 => 0x001d,
            Group::X25519Mlkem768 => 0x11ec,
        }
    }

    /// The IANA name (OpenSSL's group list takes it too).
    pub fn name(self) -> &'static str {
        match self {
            Group::X25519 => "X25519",
            Group::X25519Mlkem768 => "X25519MLKEM768",
        }
    }
}

/// An implementation that cannot do a row's workload by design (not a failure): the cell
/// reads "–" and the reason goes to the notes. Engines start their error with it.
pub const UNSUPPORTED: &str = "unsupported: ";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aead {
    Aes128,
    Chacha,
}

/// What one row asks every implementation for.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub ver: Ver,
    pub key: Key,
    pub aead: Aead,
    pub group: Group,
    pub resume: bool,
    /// ferrotls only: verify the server chain on every handshake (no verified-chain cache),
    /// as rustls and OpenSSL always do. True in every row but [`HS13_CACHED`].
    pub cold_cache: bool,
    /// Bulk rows move the bytes through each library's zero-copy path: ferrotls's (the sender
    /// writes into the reserved record, the receiver receives ciphertext into the engine's
    /// input buffer), rustls's unbuffered API in memory; OpenSSL has none and runs its
    /// ordinary path, as rustls does over sockets.
    pub zero_copy: bool,
}

impl Params {
    /// The pinning every row starts from: TLS 1.3, ECDSA P-256, AES-128-GCM, X25519 only, a
    /// full handshake, the chain verified every time.
    pub const BASE: Params = Params {
        ver: Ver::V13,
        key: Key::Ecdsa,
        aead: Aead::Aes128,
        group: Group::X25519,
        resume: false,
        cold_cache: true,
        zero_copy: false,
    };

    /// The one cipher suite both sides are restricted to (IANA number).
    pub fn suite_id(&self) -> u16 {
        match (self.ver, self.key, self.aead) {
            (Ver::V13, _, Aead::Aes128) => 0x1301,
            (Ver::V13, _, Aead::Chacha) => 0x1303,
            (Ver::V12, Key::Ecdsa, Aead::Aes128) => 0xc02b,
            (Ver::V12, Key::Rsa, Aead::Aes128) => 0xc02f,
            (Ver::V12, Key::Ecdsa, Aead::Chacha) => 0xcca9,
            (Ver::V12, Key::Rsa, Aead::Chacha) => 0xcca8,
        }
    }
}

pub fn iana_name(id: u16) -> &'static str {
    match id {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => "?",
    }
}

/// A connected client/server pair.
pub trait Conn {
    /// Send `data` client -> server and read it all at the server; returns the bytes
    /// delivered (always `data.len()`; anything else panics). `check` compares contents.
    fn send(&mut self, data: &[u8], rbuf: &mut [u8], check: bool) -> usize;
    /// Drop harness-owned transport buffers before a memory reading.
    fn trim(&mut self) {}
}

/// A bulk loop's guard: `idle` counts rounds in a row without progress; 100 is a stall.
pub fn no_stall(idle: &mut usize, progressed: bool, who: &str) {
    *idle = if progressed { 0 } else { *idle + 1 };
    assert!(*idle < 100, "{who}: bulk transfer stalled");
}

/// Configured client and server of one implementation.
pub trait Engine {
    /// A new pair, handshake completed and checked (version, suite, resumed or not).
    fn handshake(&self) -> Result<Box<dyn Conn>, String>;
}

const IMPLS: [&str; 4] = ["ferrotls", "ferrotls C ABI", "rustls", "OpenSSL"];
/// The hybrid's cost line divides these two (both verify the chain on every handshake).
const HS13_ECDSA: &str = "TLS 1.3 full handshake, ECDSA P-256";
const HS13_HYBRID: &str = "TLS 1.3 full handshake, X25519MLKEM768, ECDSA P-256";
/// The one row with ferrotls's verified-chain cache on (rustls and OpenSSL have none).
const HS13_CACHED: &str =
    "TLS 1.3 full handshake, ECDSA P-256, verified-chain cache on (ferrotls only benefits)";
const SOCK_HS: &str = "TLS 1.3 full handshake over loopback TCP, ECDSA P-256";
const SOCK_BULK: &str = "TLS 1.3 bulk 1 MiB over loopback TCP, AES-128-GCM";
/// The zero-copy rows: ferrotls writes into the reserved record and receives into its input
/// buffer; in memory rustls runs its unbuffered API (its own caller-owned-buffer path),
/// over TCP its ordinary one; OpenSSL has no such path and runs its ordinary one.
const BULK_ZC: &str = "TLS 1.3 bulk 1 MiB, AES-128-GCM, zero-copy paths (ferrotls reserve/commit \
     and receive in place, rustls unbuffered API; OpenSSL: ordinary path)";
const SOCK_BULK_ZC: &str = "TLS 1.3 bulk 1 MiB over loopback TCP, AES-128-GCM, ferrotls \
     zero-copy path (rustls, OpenSSL: ordinary path)";
const MIB: usize = 1 << 20;

/// Process CPU time in seconds (all threads: the socket rows' server thread too).
fn cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[derive(Clone, Copy)]
struct Stats {
    med: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        let med = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stats {
            med,
            min: v[0],
            max: v[n - 1],
        }
    }
}

enum Cell {
    Measured(Stats),
    NotYet,
    Failed,
    /// The implementation lacks the workload (see [`UNSUPPORTED`]).
    Absent,
}

struct Sampler {
    samples: usize,
    budget: f64,
}

impl Sampler {
    /// Operations per batch so that one clock read is amortised over >= 1 ms of work.
    fn calibrate(op: &mut Op) -> usize {
        op();
        let mut batch = 1;
        loop {
            let t0 = cpu();
            for _ in 0..batch {
                op();
            }
            if cpu() - t0 >= 1e-3 || batch >= 1 << 20 {
                return batch;
            }
            batch *= 2;
        }
    }

    /// Units per CPU second over at least `budget` seconds.
    fn sample(&self, op: &mut Op, batch: usize) -> f64 {
        let (t0, mut units) = (cpu(), 0u64);
        loop {
            for _ in 0..batch {
                units += op();
            }
            let dt = cpu() - t0;
            if dt >= self.budget {
                return units as f64 / dt;
            }
        }
    }

    /// Interleaved samples of every present op; one warm-up sample each is discarded.
    fn run(&self, ops: &mut [Option<Op>]) -> Vec<Option<Stats>> {
        let batches: Vec<usize> = ops
            .iter_mut()
            .map(|o| o.as_mut().map_or(0, Self::calibrate))
            .collect();
        let mut rates = vec![Vec::new(); ops.len()];
        for round in 0..=self.samples {
            for (i, op) in ops.iter_mut().enumerate() {
                if let Some(op) = op {
                    let r = self.sample(op, batches[i]);
                    if round > 0 {
                        rates[i].push(r);
                    }
                }
            }
        }
        rates
            .into_iter()
            .zip(ops.iter())
            .map(|(r, o)| o.as_ref().map(|_| Stats::of(r)))
            .collect()
    }
}

struct Row {
    name: String,
    unit: &'static str,
    scale: f64,
    cells: Vec<Cell>,
    floor: Option<f64>,
}

/// The four implementations for `p`. ferrotls failures read "not yet" (features still being
/// built on other branches), an [`UNSUPPORTED`] error "–"; the reason goes to `notes`.
fn engines(
    pki: &Pki,
    p: Params,
    notes: &mut Vec<String>,
    what: &str,
) -> Vec<Option<Box<dyn Engine>>> {
    engines_or_absent(pki, p, notes, what).0
}

/// [`engines`], and which of the missing ones are [`UNSUPPORTED`] (their cells read "–").
fn engines_or_absent(
    pki: &Pki,
    p: Params,
    notes: &mut Vec<String>,
    what: &str,
) -> (Vec<Option<Box<dyn Engine>>>, Vec<bool>) {
    let made: [Result<Box<dyn Engine>, String>; 4] = if p.resume {
        let wait = || "no session resumption API yet".to_string();
        [
            ferro::resumption(pki, p).ok_or_else(wait),
            ffi::resumption(pki, p).ok_or_else(wait),
            rustls_impl::new(pki, p),
            ossl::new(pki, p),
        ]
    } else {
        [
            ferro::new(pki, p),
            ffi::new(pki, p),
            rustls_impl::new(pki, p),
            ossl::new(pki, p),
        ]
    };
    made.into_iter()
        .zip(IMPLS)
        .enumerate()
        .map(|(i, (r, name))| match r {
            Ok(e) => (Some(e), false),
            Err(e) if e.starts_with(UNSUPPORTED) => {
                notes.push(format!("{what}, {name}: –: {}", &e[UNSUPPORTED.len()..]));
                (None, true)
            }
            Err(e) => {
                let tag = if i < 2 { "n/a (not yet)" } else { "FAILED" };
                notes.push(format!("{what}, {name}: {tag}: {e}"));
                (None, false)
            }
        })
        .unzip()
}

fn cells(engs: &[Option<Box<dyn Engine>>], stats: Vec<Option<Stats>>) -> Vec<Cell> {
    stats
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            Some(s) => Cell::Measured(s),
            None if engs.len() > i && i >= 2 => Cell::Failed,
            None => Cell::NotYet,
        })
        .collect()
}

fn handshake_op(e: Box<dyn Engine>) -> Op {
    Box::new(move || {
        let c = e
            .handshake()
            .unwrap_or_else(|err| panic!("handshake failed mid-run: {err}"));
        drop(c);
        1
    })
}

fn test_data() -> std::rc::Rc<Vec<u8>> {
    // Not all one byte, so a misplaced record would fail the content check.
    std::rc::Rc::new((0..MIB).map(|i| (i * 31 + i / 4096) as u8).collect())
}

/// Minor page faults of the process so far (fresh pages the kernel had to map).
fn minor_faults() -> u64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_minflt as u64
}

/// Page faults and operations counted inside a bulk op (buffer management shows up here).
type FaultCount = std::rc::Rc<std::cell::Cell<(u64, u64)>>;

fn bulk_op(e: Box<dyn Engine>, data: std::rc::Rc<Vec<u8>>, faults: FaultCount) -> Op {
    let mut conn = e.handshake().unwrap();
    let mut rbuf = vec![0u8; 16 * 1024];
    assert_eq!(conn.send(&data, &mut rbuf, true), MIB); // every byte, in order
    Box::new(move || {
        let _keep = &e;
        let f0 = minor_faults();
        let n = conn.send(&data, &mut rbuf, false) as u64;
        let (f, ops) = faults.get();
        faults.set((f + minor_faults() - f0, ops + 1));
        n
    })
}

/// Heap bytes per connection pair: [peak during handshake, idle after handshake, after a
/// 1 MiB transfer], medians of 5 rounds. Configs exist before the baseline.
fn memory(e: &dyn Engine, data: &[u8]) -> [usize; 3] {
    let mut rounds = Vec::new();
    let mut rbuf = vec![0u8; 16 * 1024];
    for _ in 0..5 {
        let base = alloc::current();
        alloc::reset_peak();
        let mut c = e.handshake().unwrap();
        let peak = alloc::peak() - base;
        c.trim();
        let idle = alloc::current().saturating_sub(base);
        c.send(data, &mut rbuf, false);
        c.trim();
        let after = alloc::current().saturating_sub(base);
        drop(c);
        rounds.push([peak, idle, after]);
    }
    std::array::from_fn(|k| {
        let mut v: Vec<usize> = rounds.iter().map(|r| r[k]).collect();
        v.sort();
        v[v.len() / 2]
    })
}

/// Heap allocations (allocate or reallocate calls) per handshake, client and server
/// together, connection drop included; median of 5 after one warm-up.
fn allocations(e: &dyn Engine) -> usize {
    drop(e.handshake().unwrap());
    let mut v: Vec<usize> = (0..5)
        .map(|_| {
            let before = alloc::calls();
            drop(e.handshake().unwrap());
            alloc::calls() - before
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn cell_text(c: &Cell, scale: f64) -> String {
    match c {
        Cell::Measured(s) => format!(
            "{} ({}–{})",
            num(s.med / scale),
            num(s.min / scale),
            num(s.max / scale)
        ),
        Cell::NotYet => "n/a (not yet)".into(),
        Cell::Failed => "FAILED".into(),
        Cell::Absent => "–".into(),
    }
}

fn med(c: &Cell) -> Option<f64> {
    match c {
        Cell::Measured(s) => Some(s.med),
        _ => None,
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    }
}

fn print_rows(rows: &[Row]) {
    println!(
        "| workload | unit | ferrotls | ferrotls C ABI | rustls | OpenSSL | floor | ferrotls/rustls | ferrotls/OpenSSL | ferrotls/floor | C ABI/ferrotls |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let f = med(&r.cells[0]);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.unit,
            cell_text(&r.cells[0], r.scale),
            cell_text(&r.cells[1], r.scale),
            cell_text(&r.cells[2], r.scale),
            cell_text(&r.cells[3], r.scale),
            r.floor.map_or("–".into(), |x| num(x / r.scale)),
            ratio(f, med(&r.cells[2])),
            ratio(f, med(&r.cells[3])),
            ratio(f, r.floor),
            ratio(med(&r.cells[1]), f),
        );
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, Linux {}", kernel.trim())
}

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `profile [cold]handshake[12]|pqhandshake|resume12|resume13|bulk|bulkscan N`: ferrotls alone,
/// N iterations, for callgrind.
#[inline(never)]
fn profile(pki: &Pki, what: &str, n: usize) {
    let p = Params {
        ver: if what.ends_with("12") {
            Ver::V12
        } else {
            Ver::V13
        },
        key: Key::Ecdsa,
        aead: Aead::Aes128,
        group: if what.starts_with("pq") {
            Group::X25519Mlkem768
        } else {
            Group::X25519
        },
        resume: what.starts_with("resume"),
        cold_cache: what.starts_with("cold"),
        zero_copy: what.starts_with("bulkzc"),
    };
    let e = if what.ends_with("ffi") {
        ffi::new(pki, p).unwrap()
    } else {
        ferro::new(pki, p).unwrap()
    };
    match what {
        "handshake" | "handshake12" | "coldhandshake" | "coldhandshake12" | "pqhandshake"
        | "resume12" | "resume13" => {
            let before = alloc::calls();
            for _ in 0..n {
                e.handshake().unwrap();
            }
            eprintln!(
                "{:.1} allocations per handshake pair",
                (alloc::calls() - before) as f64 / n.max(1) as f64
            );
        }
        "bulk" | "bulkzc" | "bulkffi" | "bulkzcffi" => {
            let faults = FaultCount::default();
            let mut op = bulk_op(e, test_data(), faults.clone());
            let t0 = cpu();
            for _ in 0..n {
                op();
            }
            eprintln!(
                "{:.0} MB/s, {:.1} page faults per MiB",
                n as f64 * MIB as f64 / (cpu() - t0) / 1e6,
                faults.get().0 as f64 / n.max(1) as f64
            );
        }
        "bulkscan" => {
            let faults = minor_faults;
            let data = test_data();
            let mut keep = Vec::new();
            let mut seed = 12345u64;
            for k in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let filler = 1024 + (seed >> 33) as usize % (300 * 1024);
                keep.push(vec![1u8; filler]);
                if seed & 1 == 0 {
                    keep.remove(0);
                }
                let e = ferro::new(pki, p).unwrap();
                let mut op = bulk_op(e, data.clone(), FaultCount::default());
                op();
                let (f0, t0) = (faults(), cpu());
                for _ in 0..30 {
                    op();
                }
                eprintln!(
                    "{k:3} filler {filler:7}: {:5.0} MB/s, {:6.1} page faults per MiB",
                    30.0 * 1048576.0 / (cpu() - t0) / 1e6,
                    (faults() - f0) as f64 / 30.0
                );
            }
        }
        _ => panic!(
            "profile [cold]handshake[12]|pqhandshake|resume12|resume13|bulk[zc][ffi]|bulkscan N"
        ),
    }
}

fn main() {
    // Before anything touches OpenSSL, so every OpenSSL block is counted.
    let hooked = alloc::hook_openssl();
    let args: Vec<String> = std::env::args().collect();
    let started = Instant::now();
    let pki = Pki::new();
    if args.get(1).map(String::as_str) == Some("profile") {
        let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100);
        return profile(&pki, args.get(2).map_or("", String::as_str), n);
    }
    let s = Sampler {
        samples: env_num("BENCH_SAMPLES", 25.0) as usize,
        budget: env_num("BENCH_SAMPLE_MS", 40.0) / 1e3,
    };
    println!("# ferrotls benchmarks");
    println!();
    println!(
        "machine: {}; {} samples of {} ms CPU per cell, interleaved; median (min–max); {}",
        machine(),
        s.samples,
        s.budget * 1e3,
        openssl::version::version()
    );
    let mut notes = Vec::new();
    if !hooked {
        notes.push("OpenSSL allocations could not be hooked: its heap numbers undercount".into());
    }

    // floor: ring's primitives, and libcrux's ML-KEM (what ferrotls's ML-KEM is)
    eprintln!("measuring: floor");
    let mut fops: Vec<Option<Op>> = vec![
        Some(floor::aead(&ring::aead::AES_128_GCM)),
        Some(floor::aead(&ring::aead::CHACHA20_POLY1305)),
        Some(floor::x25519()),
        Some(floor::ecdsa_sign(&pki)),
        Some(floor::ecdsa_verify(&pki)),
        Some(floor::rsa_sign(&pki)),
        Some(floor::rsa_verify(&pki)),
        Some(floor::aead_with_copies(&ring::aead::AES_128_GCM)),
        Some(floor::aead_with_copies(&ring::aead::CHACHA20_POLY1305)),
        Some(floor::mlkem768()),
        Some(floor::aead_copy_across(&ring::aead::AES_128_GCM)),
    ];
    let fl: Vec<Stats> = s.run(&mut fops).into_iter().map(Option::unwrap).collect();
    let floor_rows = [
        ("AES-128-GCM seal+open 16 KiB", "MB/s", 1e6),
        ("ChaCha20-Poly1305 seal+open 16 KiB", "MB/s", 1e6),
        ("X25519 keygen+agree", "ops/s", 1.0),
        ("ECDSA P-256 sign", "ops/s", 1.0),
        ("ECDSA P-256 verify", "ops/s", 1.0),
        ("RSA-2048 PSS sign", "ops/s", 1.0),
        ("RSA-2048 PSS verify", "ops/s", 1.0),
        (
            "AES-128-GCM 16 KiB record: copy in, seal, copy across, open",
            "MB/s",
            1e6,
        ),
        (
            "ChaCha20-Poly1305 16 KiB record: copy in, seal, copy across, open",
            "MB/s",
            1e6,
        ),
        (
            "ML-KEM-768 keygen+encaps+decaps (libcrux-ml-kem)",
            "ops/s",
            1.0,
        ),
        (
            "AES-128-GCM 16 KiB record: seal, copy across, open",
            "MB/s",
            1e6,
        ),
    ];
    let t = |i: usize| 1.0 / fl[i].med;
    // Asymmetric crypto of one full handshake (both sides): two X25519 key shares, one
    // server signature, the client's CertificateVerify and chain (P-256 CA) verifications.
    let hs_floor_ecdsa = 1.0 / (2.0 * t(2) + t(3) + 2.0 * t(4));
    let hs_floor_rsa = 1.0 / (2.0 * t(2) + t(5) + t(6) + t(4));
    // X25519MLKEM768: the same plus one ML-KEM-768 key generation (client), encapsulation
    // (server) and decapsulation (client).
    let hs_floor_hybrid = 1.0 / (2.0 * t(2) + t(9) + t(3) + 2.0 * t(4));

    let only = std::env::var("BENCH_ONLY").ok();
    let skip = |name: &str| only.as_ref().is_some_and(|o| !name.contains(o.as_str()));
    let mut rows = Vec::new();
    const X: Group = Group::X25519;
    for (ver, key, group, name) in [
        (Ver::V13, Key::Ecdsa, X, HS13_ECDSA),
        (Ver::V13, Key::Ecdsa, Group::X25519Mlkem768, HS13_HYBRID),
        (Ver::V13, Key::Ecdsa, X, HS13_CACHED),
        (Ver::V13, Key::Rsa, X, "TLS 1.3 full handshake, RSA-2048"),
        (
            Ver::V12,
            Key::Ecdsa,
            X,
            "TLS 1.2 full handshake, ECDSA P-256",
        ),
        (Ver::V12, Key::Rsa, X, "TLS 1.2 full handshake, RSA-2048"),
        (
            Ver::V13,
            Key::Ecdsa,
            X,
            "TLS 1.3 resumed (ticket), ECDSA P-256",
        ),
        (
            Ver::V12,
            Key::Ecdsa,
            X,
            "TLS 1.2 resumed (ticket), ECDSA P-256",
        ),
    ] {
        if skip(name) {
            continue;
        }
        eprintln!("measuring: {name}");
        let resume = name.contains("resumed");
        let p = Params {
            ver,
            key,
            aead: Aead::Aes128,
            group,
            resume,
            cold_cache: name != HS13_CACHED,
            ..Params::BASE
        };
        let (mut engs, absent) = engines_or_absent(&pki, p, &mut notes, name);
        let present: Vec<bool> = engs.iter().map(Option::is_some).collect();
        let mut ops: Vec<Option<Op>> = engs
            .iter_mut()
            .map(|e| e.take().map(handshake_op))
            .collect();
        let stats = s.run(&mut ops);
        let floor = match (resume, ver, key) {
            (false, _, Key::Ecdsa) if group == Group::X25519Mlkem768 => Some(hs_floor_hybrid),
            (false, _, Key::Ecdsa) => Some(hs_floor_ecdsa),
            (false, _, Key::Rsa) => Some(hs_floor_rsa),
            (true, Ver::V13, _) => Some(1.0 / (2.0 * t(2))), // psk_dhe_ke: X25519 only
            (true, Ver::V12, _) => None,
        };
        let cells = stats
            .into_iter()
            .zip(present)
            .enumerate()
            .map(|(i, (st, ok))| match (st, ok) {
                (Some(st), _) => Cell::Measured(st),
                (None, _) if absent[i] => Cell::Absent,
                (None, _) if i < 2 => Cell::NotYet,
                _ => Cell::Failed,
            })
            .collect();
        rows.push(Row {
            name: name.into(),
            unit: "handshakes/s",
            scale: 1.0,
            cells,
            floor,
        });
    }
    let data = test_data();
    let mut bulk_faults = Vec::new();
    for (aead, fi, zero_copy, name) in [
        (
            Aead::Aes128,
            0,
            false,
            "TLS 1.3 bulk 1 MiB writes, AES-128-GCM",
        ),
        (Aead::Aes128, 7, true, BULK_ZC),
        (
            Aead::Chacha,
            1,
            false,
            "TLS 1.3 bulk 1 MiB writes, ChaCha20-Poly1305",
        ),
    ] {
        if skip(name) {
            continue;
        }
        eprintln!("measuring: {name}");
        let p = Params {
            aead,
            zero_copy,
            ..Params::BASE
        };
        let engs = engines(&pki, p, &mut notes, name);
        let counts: Vec<FaultCount> = IMPLS.iter().map(|_| FaultCount::default()).collect();
        let mut ops: Vec<Option<Op>> = engs
            .into_iter()
            .zip(&counts)
            .map(|(e, f)| e.map(|e| bulk_op(e, data.clone(), f.clone())))
            .collect();
        let stats = s.run(&mut ops);
        let cells = cells(&[], stats);
        let per_mib: Vec<String> = IMPLS
            .iter()
            .zip(&counts)
            .map(|(name, c)| {
                let (f, n) = c.get();
                format!("{name} {:.1}", f as f64 / n.max(1) as f64)
            })
            .collect();
        bulk_faults.push(format!("{name}: {}", per_mib.join(", ")));
        rows.push(Row {
            name: name.into(),
            unit: "MB/s",
            scale: 1e6,
            cells,
            floor: Some(fl[fi].med),
        });
    }

    // Over loopback TCP: the same pinning (one suite, X25519 only, ECDSA P-256, no
    // verified-chain cache).
    let sock_data = std::sync::Arc::new(data.to_vec());
    let mut sock_rows = Vec::new();
    for (name, bulk, zero_copy) in [
        (SOCK_HS, false, false),
        (SOCK_BULK, true, false),
        (SOCK_BULK_ZC, true, true),
    ] {
        if skip(name) {
            continue;
        }
        eprintln!("measuring: {name}");
        let sp = Params {
            zero_copy,
            ..Params::BASE
        };
        let made: [Result<std::sync::Arc<dyn sockets::SockEngine>, String>; 4] = [
            ferro::sockets(&pki, sp),
            ffi::sockets(&pki, sp),
            rustls_impl::sockets(&pki, sp),
            ossl::sockets(&pki, sp),
        ];
        let mut ops: Vec<Option<Op>> = made
            .into_iter()
            .zip(IMPLS)
            .map(|(r, impl_name)| {
                let op = r.and_then(|e| {
                    if bulk {
                        sockets::bulk_op(e, sock_data.clone())
                    } else {
                        Ok(sockets::handshake_op(e))
                    }
                });
                op.map_err(|e| notes.push(format!("{name}, {impl_name}: FAILED: {e}")))
                    .ok()
            })
            .collect();
        let stats = s.run(&mut ops);
        let cells = stats
            .into_iter()
            .enumerate()
            .map(|(i, st)| match st {
                Some(st) => Cell::Measured(st),
                None if i < 2 => Cell::NotYet,
                None => Cell::Failed,
            })
            .collect();
        drop(ops); // stops the server threads
        sock_rows.push(if bulk {
            Row {
                name: name.into(),
                unit: "MB/s",
                scale: 1e6,
                cells,
                floor: Some(fl[10].med),
            }
        } else {
            Row {
                name: name.into(),
                unit: "handshakes/s",
                scale: 1.0,
                cells,
                floor: Some(hs_floor_ecdsa),
            }
        });
    }

    eprintln!("measuring: heap");
    let p = Params::BASE;
    let engs = engines(&pki, p, &mut notes, "heap");
    let mem: Vec<Option<[usize; 3]>> = engs
        .iter()
        .map(|e| e.as_ref().map(|e| memory(e.as_ref(), &data)))
        .collect();

    eprintln!("measuring: allocations");
    let mut alloc_rows = Vec::new();
    for (name, ver, resume) in [
        ("TLS 1.3 full handshake", Ver::V13, false),
        ("TLS 1.3 resumed handshake", Ver::V13, true),
        ("TLS 1.2 full handshake", Ver::V12, false),
        ("TLS 1.2 resumed handshake", Ver::V12, true),
    ] {
        let p = Params { ver, resume, ..p };
        let engs = engines(&pki, p, &mut notes, name);
        let counts: Vec<Option<f64>> = engs
            .iter()
            .map(|e| e.as_ref().map(|e| allocations(e.as_ref()) as f64))
            .collect();
        alloc_rows.push((name, counts));
    }

    println!();
    println!("## Speed (higher is better; ratios > 1 mean ferrotls is faster)");
    println!();
    print_rows(&rows);
    // What the hybrid costs over X25519, same handshake otherwise (ferrotls, C ABI, floor).
    let row = |name: &str| rows.iter().find(|r| r.name == name);
    if let (Some(h), Some(x)) = (row(HS13_HYBRID), row(HS13_ECDSA)) {
        let part = |i: usize| match (med(&h.cells[i]), med(&x.cells[i])) {
            (Some(a), Some(b)) => format!(
                "{} ({} vs {} handshakes/s)",
                ratio(Some(a), Some(b)),
                num(a),
                num(b)
            ),
            _ => "–".into(),
        };
        println!();
        println!(
            "The hybrid's cost over X25519 (TLS 1.3 full handshake, ECDSA P-256, chain verified \
             every time; X25519MLKEM768 / X25519 handshakes/s): ferrotls {}; ferrotls C ABI {}; \
             floor {}.",
            part(0),
            part(1),
            ratio(h.floor, x.floor)
        );
    }
    if !sock_rows.is_empty() {
        println!();
        println!(
            "## Speed over loopback TCP (client and server threads, blocking sockets; ferrotls: \
             the Rust API driven over a TcpStream by the bench; ferrotls C ABI: its fd mode)"
        );
        println!();
        print_rows(&sock_rows);
        println!();
        println!(
            "Handshakes: a new TCP connection each (connect and accept inside the op), the \
             server's ticket and close_notify read by the client, both sockets closed. Bulk: one \
             connection, copying reads into 16 KiB. The floors leave out the kernel's copies and \
             system calls, which the TLS rows pay."
        );
    }
    println!();
    println!("## Floor (raw primitives, no TLS: ring; ML-KEM from libcrux-ml-kem)");
    println!();
    println!("| primitive | unit | median (min–max) |");
    println!("|---|---|---|");
    for ((name, unit, scale), st) in floor_rows.iter().zip(&fl) {
        println!(
            "| {name} | {unit} | {} |",
            cell_text(&Cell::Measured(*st), *scale)
        );
    }
    println!();
    println!(
        "Handshake floors are derived: 1 / (2 × X25519 + server signature + client verifications \
         [CertificateVerify + P-256 chain]); X25519MLKEM768 adds one ML-KEM-768 \
         keygen+encaps+decaps to the sum; TLS 1.3 resumption: 1 / (2 × X25519)."
    );
    if !bulk_faults.is_empty() {
        println!();
        println!(
            "Page faults per 1 MiB bulk transfer (fresh pages mapped; buffer reuse shows here):"
        );
        for line in &bulk_faults {
            println!("- {line}");
        }
    }
    println!();
    for (aead, crypto, ceiling) in [("AES-128-GCM", 0, 7), ("ChaCha20-Poly1305", 1, 8)] {
        let ours = rows
            .iter()
            .find(|r| r.name.contains("bulk") && r.name.contains(aead) && r.name != BULK_ZC)
            .and_then(|r| med(&r.cells[0]));
        if let Some(m) = ours {
            println!(
                "ferrotls bulk {aead}: {:.2} of the crypto alone, {:.2} of the record ceiling \
                 (copy in, seal, copy across, open).",
                m / fl[crypto].med,
                m / fl[ceiling].med
            );
        }
    }
    if let Some(zc) = row(BULK_ZC) {
        let of = |i: usize| match med(&zc.cells[i]) {
            Some(m) => format!(
                "{:.2} of seal, copy across, open; {:.2} of copy in, seal, copy across, open",
                m / fl[10].med,
                m / fl[7].med
            ),
            None => "n/a".into(),
        };
        println!(
            "ferrotls zero-copy bulk AES-128-GCM (the bench writes its bytes into the reserved \
             record: that is the copy in; the sender's record is copied once into the \
             receiver's input buffer: the copy across): Rust API {}; C ABI {}.",
            of(0),
            of(1)
        );
    }
    println!();
    println!(
        "## Heap per connection pair (bytes; lower is better; ratios < 1 mean ferrotls uses less)"
    );
    println!();
    println!("TLS 1.3, ECDSA P-256, X25519, AES-128-GCM; client + server together; median of 5.");
    println!();
    println!(
        "| measurement | ferrotls | ferrotls C ABI | rustls | OpenSSL | ferrotls/rustls | ferrotls/OpenSSL |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (k, name) in [
        "peak during handshake",
        "idle after handshake",
        "after 1 MiB client→server",
    ]
    .iter()
    .enumerate()
    {
        let v: Vec<Option<f64>> = mem.iter().map(|m| m.map(|m| m[k] as f64)).collect();
        let t = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.0}"));
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            t(v[0]),
            t(v[1]),
            t(v[2]),
            t(v[3]),
            ratio(v[0], v[2]),
            ratio(v[0], v[3])
        );
    }
    println!();
    println!("## Heap allocations per handshake (client + server, drop included; lower is better)");
    println!();
    println!("ECDSA P-256, X25519, AES-128-GCM; median of 5.");
    println!();
    println!(
        "| handshake | ferrotls | ferrotls C ABI | rustls | OpenSSL | ferrotls/rustls | ferrotls/OpenSSL |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, v) in &alloc_rows {
        let t = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.0}"));
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            t(v[0]),
            t(v[1]),
            t(v[2]),
            t(v[3]),
            ratio(v[0], v[2]),
            ratio(v[0], v[3])
        );
    }
    if !notes.is_empty() {
        println!();
        println!("Notes:");
        for n in &notes {
            println!("- {n}");
        }
    }
    println!();
    println!("(total wall time {:.0} s)", started.elapsed().as_secs_f64());
}
