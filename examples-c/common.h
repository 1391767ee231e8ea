/* Shared helpers of the ferrotls example programs (ferrotls-client, ferrotls-server).
 *
 * Nothing here knows TLS: option parsing, name -> IANA number tables, a small bounded
 * X.509 subject printer (for the summaries), trace and error printing. */
#ifndef FERROTLS_EXAMPLES_COMMON_H
#define FERROTLS_EXAMPLES_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "ferrotls.h"

/* Exit codes of both programs. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* ---- command-line options ------------------------------------------------------------ */

struct opt_spec {
    const char *name; /* "--cafile" */
    int has_arg;      /* 1: takes a value ("--cafile FILE" or "--cafile=FILE") */
    int id;           /* returned by opt_next */
};

/* Returns the id of the next option, 0 for a positional argument (in *value), -1 at the
 * end. Prints "PROG: <problem>" and the usage on stderr and exits 2 for an unknown option
 * or a missing value; prints the usage on stdout and exits 0 for -h/--help. */
int opt_next(int argc, char **argv, int *index, const struct opt_spec *specs, const char *prog,
             const char *usage, const char **value);
void usage_exit(const char *prog, const char *usage, const char *problem_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;
/* Parses a decimal number in [min, max]; exits 2 with the usage when it is not one. */
long parse_number(const char *prog, const char *usage, const char *what, const char *text, long min,
                  long max);

/* ---- names -> IANA numbers ------------------------------------------------------------ */

#define MAX_LIST 32
/* "TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:0x1303": IANA and OpenSSL names.
 * Returns the count, or -1 (with *bad pointing at a static copy of the unknown name). */
int parse_cipher_list(const char *list, uint16_t *out, size_t cap, const char **bad);
/* "X25519MLKEM768:X25519:P-256:P-384": X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024,
 * MLKEM1024 (post-quantum, TLS 1.3 only), X25519, P-256, P-384 (also secp256r1, prime256v1,
 * secp384r1, P256, P384), any case; or 0x11EC-style numbers. */
int parse_group_list(const char *list, uint16_t *out, size_t cap, const char **bad);

/* The protocol options both programs take: --tls1.2/--tls1.3, --ciphers, --groups, --alpn. */
struct protocol_options {
    const char *ciphers, *groups, *alpn;
    uint16_t cipher_ids[MAX_LIST], group_ids[MAX_LIST];
    int n_ciphers, n_groups, tls12, tls13;
    int allow_no_ems; /* --allow-no-ems: admit TLS 1.2 peers without Extended Master Secret */
};

/* Check the protocol options before anything touches the library: a typo is a usage error. */
void protocol_options_check(const char *prog, const char *usage, struct protocol_options *p);

/* Exits 1 with the thread-local detail when a configuration call failed. */
void config_check(const char *prog, ferrotls_result r, const char *what);
/* config_check for loading --cert/--key, with the hint for a mismatch or a swap. */
void cert_key_check(const char *prog, ferrotls_result r);

/* Apply the protocol options to a configuration builder (exits 1 on failure). */
void protocol_options_apply(const char *prog, ferrotls_config_builder *b, const struct protocol_options *p);

/* ---- X.509 ---------------------------------------------------------------------------- */

/* Writes the subject of a DER certificate as "O=ferrotls demo, CN=localhost" into out.
 * Returns 0, or -1 (out = "(unparsable certificate)") on malformed input. Bounded. */
int cert_subject(const uint8_t *der, size_t len, char *out, size_t cap);

/* ---- output ---------------------------------------------------------------------------- */

/* "PROG: error: <detail> (<FERROTLS_ERR_NAME>)" on stderr. detail may be NULL or "". */
void print_error(const char *prog, ferrotls_result r, const char *detail);

/* Where a hint is asked for: the library's messages say what is wrong in the library's terms
 * and name no command-line flag; these programs add what to do about it in their flags. */
enum hint_where {
    HINT_CERT_KEY,     /* loading --cert/--key */
    HINT_CLIENT,       /* a client connection; flag: HINT_HAVE_CERT | HINT_NO_RENEGOTIATION */
    HINT_SERVER,       /* a server connection; flag: --verify-client was given */
};
#define HINT_HAVE_CERT 1        /* client: --cert was given */
#define HINT_NO_RENEGOTIATION 2 /* client: --no-renegotiation was given */
#define HINT_GROUPS 4           /* client: --groups was given */
/* "PROG: hint: ..." lines on stderr for the errors one of this program's flags can fix. */
void print_hint(const char *prog, ferrotls_result r, enum hint_where where, int flag);
/* The trace callback: prints "PREFIX<text>" on stderr; userdata is the prefix (a string). */
void trace_print(void *userdata, const ferrotls_conn *conn, uint32_t event, const char *text);
/* Fills the negotiated parameters of a finished handshake (all never NULL). */
struct summary {
    char protocol[32];
    char cipher[96];
    char group[32];
    char alpn[256];
    char sni[256];
    char peer_subject[512];
    int resumed;
};
void summary_get(const ferrotls_conn *c, struct summary *s);

#endif
