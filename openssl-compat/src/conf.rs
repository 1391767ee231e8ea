//! `SSL_CONF_*`: settings by name, from a command line ("-cipher", "-no_tls1_3") or a
//! configuration file ("CipherString", "MinProtocol"), as the openssl command, nginx and
//! stunnel pass them. Each command maps onto the SSL_CTX / SSL call it stands for.

use std::ffi::{CStr, CString, c_char, c_int, c_uint};

use crate::ctx::*;
use crate::err::*;
use crate::ssl::Ssl;

const FLAG_CMDLINE: c_uint = 0x1;
const FLAG_FILE: c_uint = 0x2;

const TYPE_UNKNOWN: c_int = 0;
const TYPE_STRING: c_int = 1;
const TYPE_FILE: c_int = 2;
const TYPE_DIR: c_int = 3;
const TYPE_NONE: c_int = 4;

pub struct ConfCtx {
    flags: c_uint,
    prefix: Option<String>,
    ctx: *mut Ctx,
    ssl: *mut Ssl,
}

/// What a command does: take a value, or set / clear option bits.
enum Cmd {
    Value(fn(&mut ConfCtx, &CStr) -> bool, c_int),
    Option(u64, bool),
    /// Accepted with no effect on ferrotls (what it tunes does not exist here).
    Ignored,
}

/// (command-line name, file name, what it does).
fn table() -> Vec<(&'static str, &'static str, Cmd)> {
    use Cmd::*;
    vec![
        ("cipher", "CipherString", Value(cipher_list, TYPE_STRING)),
        (
            "ciphersuites",
            "Ciphersuites",
            Value(ciphersuites, TYPE_STRING),
        ),
        (
            "min_protocol",
            "MinProtocol",
            Value(min_protocol, TYPE_STRING),
        ),
        (
            "max_protocol",
            "MaxProtocol",
            Value(max_protocol, TYPE_STRING),
        ),
        ("groups", "Groups", Value(groups, TYPE_STRING)),
        ("curves", "Curves", Value(groups, TYPE_STRING)),
        ("named_curve", "ECDHParameters", Value(groups, TYPE_STRING)),
        ("cert", "Certificate", Value(certificate, TYPE_FILE)),
        ("key", "PrivateKey", Value(private_key, TYPE_FILE)),
        (
            "verifyCAfile",
            "VerifyCAFile",
            Value(verify_file, TYPE_FILE),
        ),
        ("verifyCApath", "VerifyCAPath", Value(verify_dir, TYPE_DIR)),
        ("dhparam", "DHParameters", Value(|_, _| true, TYPE_FILE)),
        ("num_tickets", "NumTickets", Value(num_tickets, TYPE_STRING)),
        ("no_ssl3", "", Option(1 << 25, true)),
        ("no_tls1", "", Option(1 << 26, true)),
        ("no_tls1_1", "", Option(1 << 28, true)),
        ("no_tls1_2", "", Option(SSL_OP_NO_TLSV1_2, true)),
        ("no_tls1_3", "", Option(SSL_OP_NO_TLSV1_3, true)),
        // SSL_OP_ALL's workarounds are for peers' bugs in versions ferrotls does not speak.
        ("bugs", "", Ignored),
        ("no_comp", "", Option(SSL_OP_NO_COMPRESSION, true)),
        ("comp", "", Option(SSL_OP_NO_COMPRESSION, false)),
        ("no_ticket", "", Option(SSL_OP_NO_TICKET, true)),
        (
            "serverpref",
            "",
            Option(SSL_OP_CIPHER_SERVER_PREFERENCE, true),
        ),
        (
            "client_renegotiation",
            "",
            Option(SSL_OP_ALLOW_CLIENT_RENEGOTIATION, true),
        ),
        (
            "no_renegotiation",
            "",
            Option(SSL_OP_NO_RENEGOTIATION, true),
        ),
        ("legacy_server_connect", "", Option(1 << 2, true)),
        ("no_legacy_server_connect", "", Option(1 << 2, false)),
        ("prioritize_chacha", "", Option(1 << 21, true)),
        (
            "no_middlebox",
            "",
            Option(SSL_OP_ENABLE_MIDDLEBOX_COMPAT, false),
        ),
        (
            "ignore_unexpected_eof",
            "",
            Option(SSL_OP_IGNORE_UNEXPECTED_EOF, true),
        ),
        ("allow_no_dhe_kex", "", Option(1 << 10, true)),
        ("no_etm", "", Option(1 << 19, true)),
        ("anti_replay", "", Option(1 << 24, false)),
        ("no_anti_replay", "", Option(1 << 24, true)),
        ("strict", "", Ignored),
        ("ecdh_single", "", Ignored),
        ("no_resumption_on_reneg", "", Option(1 << 16, true)),
    ]
}

fn settings(c: &mut ConfCtx) -> Option<&mut Settings> {
    // SAFETY: the context or SSL the program attached (live while it configures).
    unsafe {
        if !c.ssl.is_null() {
            Some(&mut (*c.ssl).s)
        } else if !c.ctx.is_null() {
            Some(&mut (*c.ctx).s)
        } else {
            None
        }
    }
}

fn changed(c: &mut ConfCtx) {
    if !c.ctx.is_null() && c.ssl.is_null() {
        // SAFETY: a live context.
        unsafe { (*c.ctx).changed() };
    }
}

fn cipher_list(c: &mut ConfCtx, v: &CStr) -> bool {
    let f = c"SSL_CONF_cmd";
    let Some(l) = parse_list(f, v.as_ptr(), crate::cipher::parse_cipher_list) else {
        return false;
    };
    settings(c).map(|s| s.tls12_suites = l).is_some()
}

fn ciphersuites(c: &mut ConfCtx, v: &CStr) -> bool {
    let f = c"SSL_CONF_cmd";
    let Some(l) = parse_list(f, v.as_ptr(), crate::cipher::parse_ciphersuites) else {
        return false;
    };
    settings(c).map(|s| s.tls13_suites = l).is_some()
}

fn proto(v: &CStr) -> Option<c_int> {
    Some(match v.to_str().ok()? {
        "None" => 0,
        "SSLv3" => 0x0300,
        "TLSv1" => 0x0301,
        "TLSv1.1" => 0x0302,
        "TLSv1.2" => 0x0303,
        "TLSv1.3" => 0x0304,
        _ => return None,
    })
}

fn set_protocol(c: &mut ConfCtx, v: &CStr, max: bool) -> bool {
    let Some(p) = proto(v) else {
        raise(
            c"SSL_CONF_cmd",
            SSL_R_BAD_VALUE,
            &format!(
                "'{}' is not a protocol version (None, TLSv1.2, TLSv1.3, ...)",
                v.to_string_lossy()
            ),
        );
        return false;
    };
    settings(c)
        .map(|s| {
            if max {
                s.max_proto = p
            } else {
                s.min_proto = p
            }
        })
        .is_some()
}

fn min_protocol(c: &mut ConfCtx, v: &CStr) -> bool {
    set_protocol(c, v, false)
}

fn max_protocol(c: &mut ConfCtx, v: &CStr) -> bool {
    set_protocol(c, v, true)
}

fn groups(c: &mut ConfCtx, v: &CStr) -> bool {
    match parse_groups(&v.to_string_lossy()) {
        Ok(g) => settings(c).map(|s| s.groups = Some(g)).is_some(),
        Err(e) => {
            raise(c"SSL_CONF_cmd", SSL_R_BAD_VALUE, &e);
            false
        }
    }
}

fn certificate(c: &mut ConfCtx, v: &CStr) -> bool {
    let f = c"SSL_CONF_cmd";
    let Some((x, chain)) = load::chain_file(f, v.as_ptr()) else {
        return false;
    };
    settings(c)
        .map(|s| {
            s.cert = Some(x);
            s.chain = chain;
        })
        .is_some()
}

fn private_key(c: &mut ConfCtx, v: &CStr) -> bool {
    let f = c"SSL_CONF_cmd";
    let (cb, arg) = if c.ctx.is_null() {
        (None, std::ptr::null_mut())
    } else {
        // SAFETY: a live context.
        unsafe { ((*c.ctx).passwd_cb, (*c.ctx).passwd_arg) }
    };
    let Some(k) = load::key_file(f, v.as_ptr(), load::SSL_FILETYPE_PEM, cb, arg) else {
        return false;
    };
    settings(c).map(|s| s.key = Some(k)).is_some()
}

fn verify_file(c: &mut ConfCtx, v: &CStr) -> bool {
    !c.ctx.is_null()
        && _ferrossl_SSL_CTX_load_verify_locations(c.ctx, v.as_ptr(), std::ptr::null()) == 1
}

fn verify_dir(c: &mut ConfCtx, v: &CStr) -> bool {
    !c.ctx.is_null()
        && _ferrossl_SSL_CTX_load_verify_locations(c.ctx, std::ptr::null(), v.as_ptr()) == 1
}

fn num_tickets(c: &mut ConfCtx, v: &CStr) -> bool {
    match v.to_str().ok().and_then(|t| t.parse::<usize>().ok()) {
        Some(n) => settings(c).map(|s| s.num_tickets = n.min(16)).is_some(),
        None => false,
    }
}

fn conf<'a>(c: *mut ConfCtx) -> Option<&'a mut ConfCtx> {
    // SAFETY: a live SSL_CONF_CTX of the program's, or NULL.
    (!c.is_null()).then(|| unsafe { &mut *c })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_new() -> *mut ConfCtx {
    Box::into_raw(Box::new(ConfCtx {
        flags: 0,
        prefix: None,
        ctx: std::ptr::null_mut(),
        ssl: std::ptr::null_mut(),
    }))
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_free(c: *mut ConfCtx) {
    if !c.is_null() {
        // SAFETY: ours from SSL_CONF_CTX_new.
        drop(unsafe { Box::from_raw(c) });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_set_flags(c: *mut ConfCtx, flags: c_uint) -> c_uint {
    conf(c).map_or(0, |c| {
        c.flags |= flags;
        c.flags
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_clear_flags(c: *mut ConfCtx, flags: c_uint) -> c_uint {
    conf(c).map_or(0, |c| {
        c.flags &= !flags;
        c.flags
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_set1_prefix(c: *mut ConfCtx, pre: *const c_char) -> c_int {
    conf(c).map_or(0, |c| {
        // SAFETY: NULL or a NUL-terminated string.
        c.prefix = unsafe { cstr(pre) }.map(str::to_owned);
        1
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_set_ssl_ctx(c: *mut ConfCtx, ctx: *mut Ctx) {
    if let Some(c) = conf(c) {
        c.ctx = ctx;
        c.ssl = std::ptr::null_mut();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_set_ssl(c: *mut ConfCtx, ssl: *mut Ssl) {
    if let Some(c) = conf(c) {
        c.ssl = ssl;
        // SAFETY: a live SSL: its context backs the file-based commands.
        c.ctx = if ssl.is_null() {
            std::ptr::null_mut()
        } else {
            unsafe { (*ssl).ctx }
        };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_CTX_finish(c: *mut ConfCtx) -> c_int {
    c_int::from(!c.is_null())
}

/// The command `name` means, without its prefix: None if it is not one for these flags.
fn lookup(c: &ConfCtx, name: &str) -> Option<(&'static str, Cmd)> {
    let bare = match &c.prefix {
        Some(p) => name.strip_prefix(p.as_str())?,
        None if c.flags & FLAG_CMDLINE != 0 => name.strip_prefix('-')?,
        None => name,
    };
    table().into_iter().find_map(|(cl, file, cmd)| {
        let hit = (c.flags & FLAG_CMDLINE != 0 && bare == cl)
            || (c.flags & FLAG_FILE != 0 && !file.is_empty() && bare.eq_ignore_ascii_case(file))
            || (c.flags & (FLAG_CMDLINE | FLAG_FILE) == 0 && (bare == cl || bare == file));
        hit.then_some((cl, cmd))
    })
}

/// `SSL_CONF_cmd(cctx, cmd, value)`: 2 when the value was used, 1 for a flag command, -2
/// for a command we do not know, -3 for a missing value, 0 when the value was refused.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_cmd(
    c: *mut ConfCtx,
    cmd: *const c_char,
    value: *const c_char,
) -> c_int {
    let f = c"SSL_CONF_cmd";
    guard(f, 0, || {
        let Some(c) = conf(c) else { return 0 };
        // SAFETY: a NUL-terminated command name.
        let Some(name) = (unsafe { cstr(cmd) }) else {
            raise(f, SSL_R_INVALID_NULL_CMD_NAME, "no command name");
            return 0;
        };
        let Some((_, what)) = lookup(c, name) else {
            raise(
                f,
                SSL_R_UNKNOWN_CMD_NAME,
                &format!("'{name}' is not a configuration command ferrotls's libssl knows"),
            );
            return -2;
        };
        match what {
            Cmd::Value(run, _) => {
                if value.is_null() {
                    raise(f, SSL_R_BAD_VALUE, &format!("'{name}' needs a value"));
                    return -3;
                }
                // SAFETY: a NUL-terminated value.
                let v = unsafe { CStr::from_ptr(value) };
                let ok = run(c, v);
                changed(c);
                if ok { 2 } else { 0 }
            }
            Cmd::Option(bits, set) => {
                if let Some(s) = settings(c) {
                    if set {
                        s.options |= bits;
                    } else {
                        s.options &= !bits;
                    }
                }
                changed(c);
                1
            }
            Cmd::Ignored => 1,
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_cmd_value_type(c: *mut ConfCtx, cmd: *const c_char) -> c_int {
    let Some(c) = conf(c) else {
        return TYPE_UNKNOWN;
    };
    // SAFETY: a NUL-terminated command name.
    let Some(name) = (unsafe { cstr(cmd) }) else {
        return TYPE_UNKNOWN;
    };
    match lookup(c, name) {
        Some((_, Cmd::Value(_, t))) => t,
        Some(_) => TYPE_NONE,
        None => TYPE_UNKNOWN,
    }
}

/// `SSL_CONF_cmd_argv(cctx, &argc, &argv)`: one command from a command line; the number of
/// arguments it took (0: not ours), or -3 / a negative error.
#[unsafe(no_mangle)]
pub extern "C" fn _ferrossl_SSL_CONF_cmd_argv(
    c: *mut ConfCtx,
    pargc: *mut c_int,
    pargv: *mut *mut *mut c_char,
) -> c_int {
    let f = c"SSL_CONF_cmd_argv";
    guard(f, -1, || {
        if c.is_null() || pargv.is_null() {
            return 0;
        }
        // SAFETY: the program's argv: at least one string, then possibly its value.
        unsafe {
            let argv = *pargv;
            if argv.is_null() || (*argv).is_null() || (!pargc.is_null() && *pargc < 1) {
                return 0;
            }
            let arg = *argv;
            let val = if pargc.is_null() || *pargc >= 2 {
                *argv.add(1)
            } else {
                std::ptr::null_mut()
            };
            let r = _ferrossl_SSL_CONF_cmd(c, arg, val);
            let used = match r {
                2 => 2,
                1 => 1,
                -2 => {
                    crate::libcrypto::ERR_clear_error();
                    return 0;
                }
                r => return r,
            };
            *pargv = argv.add(used as usize);
            if !pargc.is_null() {
                *pargc -= used;
            }
            used
        }
    })
}

#[allow(dead_code)]
fn _unused(_: CString) {}
