"""Loading libferrotls and declaring its C functions (one table, every signature typed)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE, POINTER, c_bool, c_char_p, c_int, c_size_t, c_uint8, c_uint16, c_uint32, c_void_p,
)
from pathlib import Path

#: The ABI this wrapper was written for (FERROTLS_ABI_VERSION in include/ferrotls.h).
ABI_VERSION = 1

# Result codes and constants (mirrors include/ferrotls.h).
OK, WANT_READ, WANT_WRITE, CLOSED = 0, 1, 2, 3
# A read reached the point where the peer authenticated again (Handshake Again: TLS 1.3
# post-handshake authentication, or a completed TLS 1.2 renegotiation on a server): no bytes,
# reported once; read again for what follows.
PEER_AUTHENTICATED = 4
ERR_INVALID_ARGUMENT = 101
ERR_WRONG_ROLE = 102
ERR_WRONG_STATE = 103
ERR_BUFFER_TOO_SMALL = 104
ERR_NOT_FOUND = 106
ERR_IO = 200
ERR_UNEXPECTED_EOF = 201
ERR_CERT_FIRST, ERR_CERT_LAST = 400, 411
ERR_FILE = 503
ERR_ALERT_BASE, ERR_ALERT_MAX = 1000, 1255
# Alerts about certificates (RFC 8446 §6.2): bad_certificate .. unknown_ca, certificate_required.
CERT_ALERTS = frozenset({42, 43, 44, 45, 46, 48, 116})

ROLE_CLIENT, ROLE_SERVER = 1, 2
VERIFY_SERVER = 1
VERIFY_DANGEROUS_NO_VERIFY = 2
VERIFY_NO_CLIENT_AUTH = 3
VERIFY_REQUEST_CLIENT_CERT = 4
VERIFY_REQUIRE_CLIENT_CERT = 5

WANTS_READ, WANTS_WRITE, WANTS_HANDSHAKING, WANTS_CLOSED, WANTS_FAILED = 1, 2, 4, 8, 16
HANDSHAKE_RESUMED = 3

handle_p = c_void_p
result_t = c_uint32
KEYLOG_CB = CFUNCTYPE(None, c_void_p, c_void_p, c_char_p)
TRACE_CB = CFUNCTYPE(None, c_void_p, c_void_p, c_uint32, c_char_p)

_u8p = POINTER(c_uint8)
_sizep = POINTER(c_size_t)
_handlep = POINTER(c_void_p)

# name: (restype, argtypes)
FUNCTIONS = {
    "ferrotls_last_error_detail": (c_char_p, []),
    "ferrotls_last_error_reason": (c_char_p, []),
    "ferrotls_config_builder_new": (result_t, [c_uint32, _handlep]),
    "ferrotls_config_builder_free": (None, [handle_p]),
    "ferrotls_config_builder_set_versions": (result_t, [handle_p, c_uint16, c_uint16]),
    "ferrotls_config_builder_set_cipher_suites": (result_t, [handle_p, POINTER(c_uint16), c_size_t]),
    "ferrotls_config_builder_set_cipher_list": (result_t, [handle_p, c_char_p]),
    "ferrotls_config_builder_set_groups": (result_t, [handle_p, POINTER(c_uint16), c_size_t]),
    "ferrotls_config_builder_set_group_list": (result_t, [handle_p, c_char_p]),
    "ferrotls_config_builder_set_alpn": (result_t, [handle_p, c_char_p, c_size_t]),
    "ferrotls_config_builder_set_alpn_list": (result_t, [handle_p, c_char_p]),
    "ferrotls_config_builder_add_roots_pem": (result_t, [handle_p, c_char_p, c_size_t]),
    "ferrotls_config_builder_add_roots_file": (result_t, [handle_p, c_char_p]),
    "ferrotls_config_builder_add_system_roots": (result_t, [handle_p]),
    "ferrotls_config_builder_add_cert_key_pem": (result_t, [handle_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    "ferrotls_config_builder_add_cert_key_file": (result_t, [handle_p, c_char_p, c_char_p]),
    "ferrotls_config_builder_set_verify": (result_t, [handle_p, c_uint32]),
    "ferrotls_config_builder_set_keylog_file": (result_t, [handle_p, c_char_p]),
    "ferrotls_config_builder_set_keylog_callback": (result_t, [handle_p, KEYLOG_CB, c_void_p]),
    "ferrotls_config_builder_set_buffer_limit": (result_t, [handle_p, c_size_t]),
    "ferrotls_config_builder_set_tls13_tickets": (result_t, [handle_p, c_uint32]),
    "ferrotls_config_builder_set_session_cache": (result_t, [handle_p, c_size_t]),
    "ferrotls_config_builder_set_ticket_lifetime": (result_t, [handle_p, c_uint32]),
    "ferrotls_config_builder_set_post_handshake_auth": (result_t, [handle_p, c_bool]),
    "ferrotls_config_builder_set_renegotiation": (result_t, [handle_p, c_bool]),
    "ferrotls_config_builder_set_client_renegotiation": (result_t, [handle_p, c_bool]),
    "ferrotls_config_builder_set_peer_certificate_change": (result_t, [handle_p, c_bool]),
    "ferrotls_config_builder_build": (result_t, [handle_p, _handlep]),
    "ferrotls_config_clone": (handle_p, [handle_p]),
    "ferrotls_config_role": (c_uint32, [handle_p]),
    "ferrotls_config_free": (None, [handle_p]),
    "ferrotls_conn_new_client": (result_t, [handle_p, c_char_p, _handlep]),
    "ferrotls_conn_new_server": (result_t, [handle_p, _handlep]),
    "ferrotls_conn_free": (None, [handle_p]),
    "ferrotls_conn_set_userdata": (None, [handle_p, c_void_p]),
    "ferrotls_conn_get_userdata": (c_void_p, [handle_p]),
    "ferrotls_conn_set_trace_callback": (result_t, [handle_p, TRACE_CB, c_void_p]),
    "ferrotls_conn_feed": (result_t, [handle_p, c_char_p, c_size_t, _sizep]),
    "ferrotls_conn_feed_eof": (result_t, [handle_p]),
    "ferrotls_conn_outgoing_len": (c_size_t, [handle_p]),
    "ferrotls_conn_take_outgoing": (result_t, [handle_p, c_void_p, c_size_t, _sizep]),
    "ferrotls_conn_peek_outgoing": (result_t, [handle_p, POINTER(_u8p), _sizep]),
    "ferrotls_conn_consume_outgoing": (result_t, [handle_p, c_size_t]),
    "ferrotls_conn_handshake": (result_t, [handle_p]),
    "ferrotls_conn_write": (result_t, [handle_p, c_char_p, c_size_t, _sizep]),
    "ferrotls_conn_read": (result_t, [handle_p, c_void_p, c_size_t, _sizep]),
    "ferrotls_conn_readable": (c_size_t, [handle_p]),
    "ferrotls_conn_close": (result_t, [handle_p]),
    "ferrotls_conn_flush": (result_t, [handle_p]),
    "ferrotls_conn_wants": (c_uint32, [handle_p]),
    "ferrotls_conn_error": (result_t, [handle_p]),
    "ferrotls_conn_error_detail": (c_char_p, [handle_p]),
    "ferrotls_conn_error_reason": (c_char_p, [handle_p]),
    "ferrotls_conn_os_error": (c_int, [handle_p]),
    "ferrotls_conn_protocol_version": (c_uint16, [handle_p]),
    "ferrotls_conn_version_name": (c_char_p, [handle_p]),
    "ferrotls_conn_cipher_suite": (c_uint16, [handle_p]),
    "ferrotls_conn_cipher_name": (c_char_p, [handle_p]),
    "ferrotls_conn_group": (c_uint16, [handle_p]),
    "ferrotls_conn_group_name": (c_char_p, [handle_p]),
    "ferrotls_conn_signature_scheme": (c_uint16, [handle_p]),
    "ferrotls_conn_signature_scheme_name": (c_char_p, [handle_p]),
    "ferrotls_conn_alpn": (result_t, [handle_p, POINTER(_u8p), _sizep]),
    "ferrotls_conn_server_name": (c_char_p, [handle_p]),
    "ferrotls_conn_peer_cert_count": (c_size_t, [handle_p]),
    "ferrotls_conn_peer_cert": (result_t, [handle_p, c_size_t, POINTER(_u8p), _sizep]),
    "ferrotls_conn_peer_cert_subject": (c_char_p, [handle_p]),
    "ferrotls_conn_handshake_kind": (c_uint32, [handle_p]),
    "ferrotls_conn_last_alert": (result_t, [handle_p, POINTER(c_uint8), POINTER(c_bool)]),
    "ferrotls_conn_export_keying_material": (
        result_t, [handle_p, c_void_p, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t]),
    "ferrotls_conn_set_session": (result_t, [handle_p, c_char_p, c_size_t]),
    "ferrotls_conn_get_session": (result_t, [handle_p, c_void_p, c_size_t, _sizep]),
    "ferrotls_conn_key_update": (result_t, [handle_p, c_bool]),
    "ferrotls_conn_request_client_certificate": (result_t, [handle_p]),
    "ferrotls_conn_renegotiate": (result_t, [handle_p]),
    "ferrotls_conn_set_fd": (result_t, [handle_p, c_int]),
    "ferrotls_result_category": (c_uint32, [result_t]),
    "ferrotls_result_name": (c_char_p, [result_t]),
    "ferrotls_result_message": (c_char_p, [result_t]),
    "ferrotls_abi_version": (c_uint32, []),
    "ferrotls_version_number": (c_uint32, []),
    "ferrotls_version_string": (c_char_p, []),
}


def _candidates():
    """Where to look for the library, in order: FERROTLS_LIBRARY, the package directory, the
    build tree (target/release or target/debug in any parent directory), the system."""
    env = os.environ.get("FERROTLS_LIBRARY")
    if env:
        yield env, True
        return
    here = Path(__file__).resolve().parent
    if (here / "libferrotls.so").is_file():  # a copy bundled next to the package
        yield str(here / "libferrotls.so"), False
    for d in [here, *here.parents]:
        for kind in ("release", "debug"):
            p = d / "target" / kind / "libferrotls.so"
            if p.is_file():
                yield str(p), False
    found = ctypes.util.find_library("ferrotls")
    if found:
        yield found, False
    yield "libferrotls.so.%d" % ABI_VERSION, False
    yield "libferrotls.so", False


def _load():
    tried = []
    for path, explicit in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            if explicit:
                raise ImportError(
                    "ferrotls: FERROTLS_LIBRARY=%s could not be loaded: %s" % (path, e)) from None
    raise ImportError(
        "ferrotls: libferrotls.so not found; build it (`make` in the ferrotls tree), install it "
        "(`make install`), or set FERROTLS_LIBRARY to its path. Tried: " + "; ".join(tried))


lib, path = _load()

for _name, (_res, _args) in FUNCTIONS.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        raise ImportError("ferrotls: %s lacks the function %s; it is not a compatible libferrotls"
                          % (path, _name)) from None
    _f.restype = _res
    _f.argtypes = _args

_abi = lib.ferrotls_abi_version()
if _abi != ABI_VERSION:
    raise ImportError(
        "ferrotls: %s has ABI version %d, but these bindings were written for ABI %d; "
        "use matching versions of the library and the Python package" % (path, _abi, ABI_VERSION))

VERSION_STRING = lib.ferrotls_version_string().decode()


def text(p) -> str:
    """A C string result as str ('' for NULL)."""
    return p.decode("utf-8", "replace") if p else ""


def result_name(code: int) -> str:
    return text(lib.ferrotls_result_name(code))


def result_message(code: int) -> str:
    return text(lib.ferrotls_result_message(code))


def last_error_detail() -> str:
    return text(lib.ferrotls_last_error_detail())


def last_error_reason() -> str | None:
    """The engine's reason for the thread's last failing call ("NOT_TLS", ...), or None."""
    return text(lib.ferrotls_last_error_reason()) or None


def conn_error_reason(h) -> str | None:
    """The engine's reason for a connection's sticky error ("FINISHED_MISMATCH", ...), or None."""
    return text(lib.ferrotls_conn_error_reason(h)) or None
