/* api_test: the ferrotls C API exercised from C, built by tests/c/run.sh with
 *
 *   cc -std=c99 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer
 *
 * and run with ASAN_OPTIONS=detect_leaks=1. Everything happens in memory (sans-IO: feed,
 * peek_outgoing / consume_outgoing, take_outgoing); no sockets, no threads.
 *
 *   api_test CERTS-DIR        (examples-c/certs: ca.pem, server.pem, server.key, server-rsa.pem,
 *                              server-rsa.key, client.pem, client.key, other-ca.pem)
 *
 * Covers: NULL arguments of every function (FERROTLS_ERR_NULL_ARGUMENT plus a detail naming the
 * argument), handles of the wrong type, calls in the wrong state or role, the name / message /
 * category of every result code in the header, version macros against the library, a full
 * TLS 1.3 handshake with data both ways and the introspection getters, mutual TLS, a failing
 * handshake (unknown issuer: code, detail, stickiness, the alert on both sides), the engine's
 * reason names for protocol errors (plaintext HTTP, an unknown record type, a tampered record:
 * ferrotls_conn_error_reason / ferrotls_last_error_reason, "" where there is none), the trace and
 * key log callbacks, config reference counting and free(NULL), the verify / ALPN / session store
 * callbacks, the certificate selection callback (two certificates chosen by SNI, NULL refusing)
 * and the ticket seal / open callbacks (TLS 1.3 and TLS 1.2 resumption, a refused ticket), and
 * Handshake Again (TLS 1.3 post-handshake authentication): the point where the client's
 * identity begins, reported once by read, by peek_plaintext and by an fd-mode read (over a
 * socketpair, the one place with a socket), and the requests the protocol does not allow;
 * and in TLS 1.2 (secure renegotiation): request_client_certificate's HelloRequest and the
 * same boundary, renegotiate on either side, a client's renegotiation declined or accepted,
 * a HelloRequest declined, and the switches that refuse it; key-exchange groups: the
 * post-quantum names and codepoints, X25519MLKEM768 between default configs, X25519 without a
 * HelloRetryRequest from a classic-only server, and no group in common, post-quantum against
 * classic.
 *
 * Prints one line per failed check and "N passed, N failed" at the end; exit 1 on any failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferrotls.h"

/* ---- tiny harness ---------------------------------------------------------------------- */

static unsigned passed, failed;
static const char *section = "";

static int check_(int ok, int line, const char *fmt, ...) {
    if (ok) {
        passed++;
        return 1;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL [%s] api_test.c:%d: ", section, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 0;
}
#define CHECK(cond, ...) check_((cond) ? 1 : 0, __LINE__, __VA_ARGS__)

/* The call returned `want`. */
#define EXPECT_CODE(got, want, what)                                                               \
    do {                                                                                           \
        ferrotls_result got_ = (got);                                                              \
        ferrotls_result want_ = (want);                                                            \
        CHECK(got_ == want_, "%s: got %s (%u), want %s (%u); detail: %s", (what),                  \
              ferrotls_result_name(got_), (unsigned)got_, ferrotls_result_name(want_),            \
              (unsigned)want_, ferrotls_last_error_detail());                                      \
    } while (0)

/* Makes the thread-local detail something recognisable, so that a check of the detail
 * afterwards cannot pass on a stale string from an earlier call. */
static const char *reset_detail(void) {
    ferrotls_config_builder *b = NULL;
    (void)ferrotls_config_builder_new(0x7777, &b); /* invalid role */
    ferrotls_config_builder_free(b);
    return ferrotls_last_error_detail();
}

/* The detail of the last failing call names the argument (as "'arg'"). */
static int detail_names(const char *arg) {
    const char *d = ferrotls_last_error_detail();
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", arg);
    return d != NULL && d[0] != '\0' && strstr(d, quoted) != NULL;
}

/* A result-returning call with one NULL argument. */
#define NULL_ARG(call, arg)                                                                        \
    do {                                                                                           \
        reset_detail();                                                                            \
        ferrotls_result r_ = (call);                                                               \
        CHECK(r_ == FERROTLS_ERR_NULL_ARGUMENT, "%s: got %s, want FERROTLS_ERR_NULL_ARGUMENT",    \
              #call, ferrotls_result_name(r_));                                                    \
        CHECK(detail_names(arg), "%s: detail \"%s\" does not name '%s'", #call,                  \
              ferrotls_last_error_detail(), arg);                                                  \
    } while (0)

/* A getter with a NULL handle: returns its zero value and records a detail. */
#define NULL_GETTER(call, zero)                                                                    \
    do {                                                                                           \
        reset_detail();                                                                            \
        CHECK((call) == (zero), "%s: did not return its zero value", #call);                      \
        CHECK(detail_names("conn"), "%s: detail \"%s\" does not name 'conn'", #call,             \
              ferrotls_last_error_detail());                                                       \
    } while (0)

/* A call on a handle of the wrong type. */
#define WRONG_HANDLE(call, want_type)                                                              \
    do {                                                                                           \
        reset_detail();                                                                            \
        ferrotls_result r_ = (call);                                                               \
        CHECK(r_ == FERROTLS_ERR_WRONG_HANDLE_TYPE,                                                \
              "%s: got %s, want FERROTLS_ERR_WRONG_HANDLE_TYPE", #call, ferrotls_result_name(r_)); \
        CHECK(strstr(ferrotls_last_error_detail(), want_type) != NULL,                            \
              "%s: detail \"%s\" does not mention %s", #call, ferrotls_last_error_detail(),       \
              want_type);                                                                          \
    } while (0)

static int contains_ci(const char *hay, const char *needle) {
    if (hay == NULL)
        return 0;
    size_t n = strlen(needle);
    for (const char *p = hay; *p != '\0'; p++) {
        size_t i = 0;
        while (i < n && p[i] != '\0') {
            char a = p[i], b = needle[i];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z')
                b = (char)(b - 'A' + 'a');
            if (a != b)
                break;
            i++;
        }
        if (i == n)
            return 1;
    }
    return 0;
}

static const char *str_or(const char *s) { return s != NULL ? s : "(NULL)"; }

/* ---- files and configurations ---------------------------------------------------------- */

static const char *CERTS = "examples-c/certs";

static char *path_of(const char *name) {
    static char buf[8][1024];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 1024, "%s/%s", CERTS, name);
    return p;
}

/* Reads a whole file (malloc'd, NUL-terminated); exits on failure (a set-up problem). */
static uint8_t *slurp(const char *name, size_t *len) {
    const char *path = path_of(name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "api_test: cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 4096, n = 0;
    uint8_t *data = malloc(cap + 1);
    size_t got;
    while (data != NULL && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(data, cap * 2 + 1);
            if (bigger == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (data == NULL) {
        fprintf(stderr, "api_test: out of memory\n");
        exit(2);
    }
    data[n] = 0;
    *len = n;
    return data;
}

struct keylog {
    unsigned lines, with_conn, client_hs, server_hs, client_app, server_app;
};

static void keylog_cb(void *userdata, const ferrotls_conn *conn, const char *line) {
    struct keylog *k = userdata;
    k->lines++;
    if (conn != NULL)
        k->with_conn++;
    if (strncmp(line, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 32) == 0)
        k->client_hs++;
    if (strncmp(line, "SERVER_HANDSHAKE_TRAFFIC_SECRET ", 32) == 0)
        k->server_hs++;
    if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
        k->client_app++;
    if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
        k->server_app++;
}

/* Server config: cert and key as PEM bytes. verify: FERROTLS_VERIFY_* (0 = default). */
static ferrotls_config *server_config(uint32_t verify, const char *alpn_csv) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    size_t clen, klen;
    uint8_t *chain = slurp("server.pem", &clen), *key = slurp("server.key", &klen);
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "server builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_cert_key_pem(b, chain, clen, key, klen), FERROTLS_OK,
                "server add_cert_key_pem");
    if (verify != 0) {
        EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK,
                    "server add_roots_file");
        EXPECT_CODE(ferrotls_config_builder_set_verify(b, verify), FERROTLS_OK, "server set_verify");
    }
    if (alpn_csv != NULL)
        EXPECT_CODE(ferrotls_config_builder_set_alpn_list(b, alpn_csv), FERROTLS_OK, "server set_alpn_list");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "server build");
    ferrotls_config_builder_free(b);
    free(chain);
    free(key);
    return cfg;
}

/* Client config: trust anchors as PEM bytes from `ca`; optional client certificate (files). */
static ferrotls_config *client_config(const char *ca, int with_cert, struct keylog *kl,
                                      const uint8_t *alpn_wire, size_t alpn_len) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    size_t len;
    uint8_t *pem = slurp(ca, &len);
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "client builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_roots_pem(b, pem, len), FERROTLS_OK, "client add_roots_pem");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0304, 0x0304), FERROTLS_OK, "client set_versions 1.3");
    if (with_cert)
        EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("client.pem"), path_of("client.key")),
                    FERROTLS_OK, "client add_cert_key_file");
    if (kl != NULL)
        EXPECT_CODE(ferrotls_config_builder_set_keylog_callback(b, keylog_cb, kl), FERROTLS_OK,
                    "client set_keylog_callback");
    if (alpn_wire != NULL)
        EXPECT_CODE(ferrotls_config_builder_set_alpn(b, alpn_wire, alpn_len), FERROTLS_OK, "client set_alpn");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "client build");
    ferrotls_config_builder_free(b);
    free(pem);
    return cfg;
}

/* ---- moving ciphertext between two connections in memory ------------------------------- */

/* client -> server: the zero-copy view (peek_outgoing + feed + consume_outgoing). */
static ferrotls_result move_peek(ferrotls_conn *from, ferrotls_conn *to, size_t *moved) {
    const uint8_t *data = NULL;
    size_t len = 0, consumed = 0;
    *moved = 0;
    ferrotls_result r = ferrotls_conn_peek_outgoing(from, &data, &len);
    if (r != FERROTLS_OK || len == 0)
        return r;
    r = ferrotls_conn_feed(to, data, len, &consumed);
    /* Whatever was taken is gone from the sender's queue, even when the receiver failed. */
    ferrotls_result r2 = ferrotls_conn_consume_outgoing(from, consumed);
    *moved = consumed;
    return r != FERROTLS_OK ? r : r2;
}

/* server -> client: take_outgoing into a pipe buffer, then feed from it. */
struct pipe {
    uint8_t buf[64 * 1024];
    size_t len;
};

static ferrotls_result move_take(ferrotls_conn *from, ferrotls_conn *to, struct pipe *p, size_t *moved) {
    size_t n = 0, consumed = 0;
    *moved = 0;
    ferrotls_result r = ferrotls_conn_take_outgoing(from, p->buf + p->len, sizeof p->buf - p->len, &n);
    if (r != FERROTLS_OK)
        return r;
    p->len += n;
    if (p->len == 0)
        return FERROTLS_OK;
    r = ferrotls_conn_feed(to, p->buf, p->len, &consumed);
    memmove(p->buf, p->buf + consumed, p->len - consumed);
    p->len -= consumed;
    *moved = consumed;
    return r;
}

struct pair {
    ferrotls_conn *c, *s;
    struct pipe s2c;
    ferrotls_result rc, rs; /* last handshake results */
};

/* Runs the handshake in memory. Returns 1 when both sides completed. Stops at the first
 * failure, after having delivered what the failing side queued (its alert). */
static int handshake(struct pair *p) {
    for (int round = 0; round < 50; round++) {
        size_t m1 = 0, m2 = 0;
        p->rc = ferrotls_conn_handshake(p->c);
        p->rs = ferrotls_conn_handshake(p->s);
        ferrotls_result a = move_peek(p->c, p->s, &m1);
        ferrotls_result b = move_take(p->s, p->c, &p->s2c, &m2);
        if (p->rc == FERROTLS_OK && p->rs == FERROTLS_OK && m1 == 0 && m2 == 0)
            return 1;
        int cfail = p->rc != FERROTLS_OK && p->rc != FERROTLS_WANT_READ;
        int sfail = p->rs != FERROTLS_OK && p->rs != FERROTLS_WANT_READ;
        if ((cfail || sfail || a != FERROTLS_OK || b != FERROTLS_OK) && m1 == 0 && m2 == 0) {
            p->rc = ferrotls_conn_handshake(p->c);
            p->rs = ferrotls_conn_handshake(p->s);
            return 0;
        }
    }
    return 0;
}

/* Moves ciphertext both ways until nothing moves. */
static void pump(struct pair *p) {
    for (int i = 0; i < 1000; i++) {
        size_t m1 = 0, m2 = 0;
        (void)move_peek(p->c, p->s, &m1);
        (void)move_take(p->s, p->c, &p->s2c, &m2);
        if (m1 == 0 && m2 == 0)
            return;
    }
}

/* Writes all of data on `from` and reads it on `to`, pumping as needed. 1 when it matched. */
static int transfer(struct pair *p, ferrotls_conn *from, ferrotls_conn *to, const uint8_t *data, size_t len) {
    uint8_t *got = malloc(len + 1);
    size_t sent = 0, recvd = 0;
    int ok = got != NULL;
    for (int i = 0; ok && i < 100000 && recvd < len; i++) {
        if (sent < len) {
            size_t acc = 0;
            ferrotls_result r = ferrotls_conn_write(from, data + sent, len - sent, &acc);
            if (!CHECK(r == FERROTLS_OK, "write: %s (%s)", ferrotls_result_name(r), ferrotls_last_error_detail()))
                ok = 0;
            sent += acc;
        }
        pump(p);
        for (;;) {
            size_t n = 0;
            ferrotls_result r = ferrotls_conn_read(to, got + recvd, len + 1 - recvd, &n);
            if (r == FERROTLS_WANT_READ)
                break;
            if (!CHECK(r == FERROTLS_OK && n > 0, "read: %s, n=%zu", ferrotls_result_name(r), n)) {
                ok = 0;
                break;
            }
            recvd += n;
            if (recvd > len) {
                CHECK(0, "read more bytes than were written");
                ok = 0;
                break;
            }
        }
    }
    ok = ok && CHECK(recvd == len, "transfer: %zu of %zu bytes arrived", recvd, len) &&
         CHECK(memcmp(got, data, len) == 0, "transfer: the bytes differ");
    free(got);
    return ok;
}

static void pair_free(struct pair *p) {
    ferrotls_conn_free(p->c);
    ferrotls_conn_free(p->s);
    free(p);
}

static struct pair *pair_new(const ferrotls_config *ccfg, const ferrotls_config *scfg, const char *name) {
    struct pair *p = calloc(1, sizeof *p);
    if (p == NULL)
        exit(2);
    EXPECT_CODE(ferrotls_conn_new_client(ccfg, name, &p->c), FERROTLS_OK, "conn_new_client");
    EXPECT_CODE(ferrotls_conn_new_server(scfg, &p->s), FERROTLS_OK, "conn_new_server");
    return p;
}

/* ---- trace ------------------------------------------------------------------------------ */

struct trace {
    char *text; /* every line, '\n'-separated */
    size_t len, cap;
    unsigned lines, bad_event, wrong_conn;
    const ferrotls_conn *conn;
    int reentered;            /* done the re-entry checks once */
    void *userdata_seen;
    ferrotls_result reentry_result;
    size_t reentry_outgoing;
};

static void trace_cb(void *userdata, const ferrotls_conn *conn, uint32_t event, const char *text) {
    struct trace *t = userdata;
    size_t n = strlen(text);
    if (t->len + n + 2 > t->cap) {
        size_t cap = (t->cap + n + 2) * 2;
        char *bigger = realloc(t->text, cap);
        if (bigger == NULL)
            return;
        t->text = bigger;
        t->cap = cap;
    }
    memcpy(t->text + t->len, text, n);
    t->len += n;
    t->text[t->len++] = '\n';
    t->text[t->len] = '\0';
    t->lines++;
    if (event > FERROTLS_TRACE_ERROR)
        t->bad_event++;
    if (conn != t->conn)
        t->wrong_conn++;
    if (!t->reentered) {
        /* Rule 4: only get_userdata may be called from inside a callback. */
        t->reentered = 1;
        t->userdata_seen = ferrotls_conn_get_userdata(conn);
        t->reentry_result = ferrotls_conn_handshake((ferrotls_conn *)conn);
        t->reentry_outgoing = ferrotls_conn_outgoing_len(conn);
        ferrotls_conn_free((ferrotls_conn *)conn); /* refused: the connection is busy */
    }
}

/* ---- the tests --------------------------------------------------------------------------- */

static void test_versions(void) {
    section = "versions";
    CHECK(FERROTLS_VERSION_NUMBER == ferrotls_version_number(), "FERROTLS_VERSION_NUMBER %#x, library %#x",
          (unsigned)FERROTLS_VERSION_NUMBER, (unsigned)ferrotls_version_number());
    CHECK(FERROTLS_ABI_VERSION == ferrotls_abi_version(), "FERROTLS_ABI_VERSION %u, library %u",
          (unsigned)FERROTLS_ABI_VERSION, (unsigned)ferrotls_abi_version());
    CHECK(FERROTLS_VERSION_NUMBER ==
              ((FERROTLS_VERSION_MAJOR << 16) | (FERROTLS_VERSION_MINOR << 8) | FERROTLS_VERSION_PATCH),
          "FERROTLS_VERSION_NUMBER does not match MAJOR/MINOR/PATCH");
    const char *v = ferrotls_version_string();
    CHECK(v != NULL && strstr(v, FERROTLS_VERSION_STRING) != NULL, "version string \"%s\" lacks \"%s\"",
          str_or(v), FERROTLS_VERSION_STRING);
    CHECK(v != NULL && strncmp(v, "ferrotls/", 9) == 0, "version string \"%s\"", str_or(v));
}

/* Every result code in the header. run.sh checks that this table lists all of them. */
#define CODE(c) {c, #c}
static const struct {
    ferrotls_result code;
    const char *name;
} CODES[] = {
    CODE(FERROTLS_OK),
    CODE(FERROTLS_WANT_READ),
    CODE(FERROTLS_WANT_WRITE),
    CODE(FERROTLS_CLOSED),
    CODE(FERROTLS_PEER_AUTHENTICATED),
    CODE(FERROTLS_ERR_NULL_ARGUMENT),
    CODE(FERROTLS_ERR_INVALID_ARGUMENT),
    CODE(FERROTLS_ERR_WRONG_ROLE),
    CODE(FERROTLS_ERR_WRONG_STATE),
    CODE(FERROTLS_ERR_BUFFER_TOO_SMALL),
    CODE(FERROTLS_ERR_CONCURRENT_USE),
    CODE(FERROTLS_ERR_NOT_FOUND),
    CODE(FERROTLS_ERR_WRONG_HANDLE_TYPE),
    CODE(FERROTLS_ERR_IO),
    CODE(FERROTLS_ERR_UNEXPECTED_EOF),
    CODE(FERROTLS_ERR_DECODE),
    CODE(FERROTLS_ERR_UNEXPECTED_MESSAGE),
    CODE(FERROTLS_ERR_ILLEGAL_PARAMETER),
    CODE(FERROTLS_ERR_BAD_RECORD_MAC),
    CODE(FERROTLS_ERR_RECORD_OVERFLOW),
    CODE(FERROTLS_ERR_DECRYPT_ERROR),
    CODE(FERROTLS_ERR_NO_SHARED_VERSION),
    CODE(FERROTLS_ERR_NO_SHARED_CIPHER),
    CODE(FERROTLS_ERR_NO_SHARED_GROUP),
    CODE(FERROTLS_ERR_NO_SHARED_SIGNATURE_SCHEME),
    CODE(FERROTLS_ERR_NO_ALPN_MATCH),
    CODE(FERROTLS_ERR_HANDSHAKE_FAILURE),
    CODE(FERROTLS_ERR_MISSING_EXTENSION),
    CODE(FERROTLS_ERR_UNSUPPORTED_EXTENSION),
    CODE(FERROTLS_ERR_INAPPROPRIATE_FALLBACK),
    CODE(FERROTLS_ERR_LIMIT_EXCEEDED),
    CODE(FERROTLS_ERR_NO_RENEGOTIATION),
    CODE(FERROTLS_ERR_CERTIFICATE_REQUIRED),
    CODE(FERROTLS_ERR_CERT_EXPIRED),
    CODE(FERROTLS_ERR_CERT_NOT_YET_VALID),
    CODE(FERROTLS_ERR_CERT_UNKNOWN_ISSUER),
    CODE(FERROTLS_ERR_CERT_NAME_MISMATCH),
    CODE(FERROTLS_ERR_CERT_BAD_SIGNATURE),
    CODE(FERROTLS_ERR_CERT_BAD_ENCODING),
    CODE(FERROTLS_ERR_CERT_UNSUPPORTED_ALGORITHM),
    CODE(FERROTLS_ERR_CERT_INVALID_PURPOSE),
    CODE(FERROTLS_ERR_CERT_NOT_CA),
    CODE(FERROTLS_ERR_CERT_REVOKED),
    CODE(FERROTLS_ERR_CERT_MISSING),
    CODE(FERROTLS_ERR_CERT_OTHER),
    CODE(FERROTLS_ERR_CONFIG),
    CODE(FERROTLS_ERR_PEM),
    CODE(FERROTLS_ERR_KEY),
    CODE(FERROTLS_ERR_FILE),
    CODE(FERROTLS_ERR_INTERNAL),
    CODE(FERROTLS_ERR_PANIC),
};

static uint32_t expected_category(ferrotls_result r) {
    if (r == FERROTLS_OK || r == FERROTLS_PEER_AUTHENTICATED)
        return FERROTLS_CATEGORY_OK;
    if (r == FERROTLS_WANT_READ || r == FERROTLS_WANT_WRITE)
        return FERROTLS_CATEGORY_WANT;
    if (r == FERROTLS_CLOSED)
        return FERROTLS_CATEGORY_CLOSED;
    if (r >= 100 && r < 200)
        return FERROTLS_CATEGORY_USAGE;
    if (r >= 200 && r < 300)
        return FERROTLS_CATEGORY_IO;
    if (r >= 300 && r < 400)
        return FERROTLS_CATEGORY_PROTOCOL;
    if (r >= 400 && r < 500)
        return FERROTLS_CATEGORY_CERT;
    if (r >= 500 && r < 600)
        return FERROTLS_CATEGORY_CONFIG;
    if (r >= FERROTLS_ERR_ALERT_BASE && r <= FERROTLS_ERR_ALERT_MAX)
        return FERROTLS_CATEGORY_ALERT;
    return FERROTLS_CATEGORY_INTERNAL;
}

static void test_result_codes(void) {
    section = "result codes";
    size_t n = sizeof CODES / sizeof CODES[0];
    for (size_t i = 0; i < n; i++) {
        ferrotls_result r = CODES[i].code;
        const char *name = ferrotls_result_name(r), *msg = ferrotls_result_message(r);
        CHECK(name != NULL && strncmp(name, "FERROTLS_", 9) == 0, "%s: name \"%s\"", CODES[i].name, str_or(name));
        CHECK(name != NULL && strcmp(name, CODES[i].name) == 0, "%u: name \"%s\", header says %s", (unsigned)r,
              str_or(name), CODES[i].name);
        CHECK(msg != NULL && msg[0] != '\0', "%s: empty message", CODES[i].name);
        CHECK(ferrotls_result_category(r) == expected_category(r), "%s: category %u, want %u", CODES[i].name,
              (unsigned)ferrotls_result_category(r), (unsigned)expected_category(r));
        for (size_t j = 0; j < i; j++)
            CHECK(CODES[j].code != r, "%s and %s share the value %u", CODES[j].name, CODES[i].name, (unsigned)r);
    }
    /* Alerts: 1000 + description. */
    for (ferrotls_result r = FERROTLS_ERR_ALERT_BASE; r <= FERROTLS_ERR_ALERT_MAX; r++) {
        const char *msg = ferrotls_result_message(r);
        if (!CHECK(strcmp(ferrotls_result_name(r), "FERROTLS_ERR_ALERT_RECEIVED") == 0, "%u: name \"%s\"",
                   (unsigned)r, ferrotls_result_name(r)) ||
            !CHECK(msg != NULL && msg[0] != '\0', "%u: empty message", (unsigned)r) ||
            !CHECK(ferrotls_result_category(r) == FERROTLS_CATEGORY_ALERT, "%u: category %u", (unsigned)r,
                   (unsigned)ferrotls_result_category(r)))
            break;
    }
    CHECK(strstr(ferrotls_result_message(FERROTLS_ERR_ALERT_BASE + 40), "handshake_failure") != NULL,
          "1040: message \"%s\"", ferrotls_result_message(FERROTLS_ERR_ALERT_BASE + 40));
    /* Codes the library does not know. */
    static const ferrotls_result unknown[] = {5, 99, 199, 599, 999, FERROTLS_ERR_ALERT_MAX + 1, 0x7fffffffu,
                                              0xffffffffu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ferrotls_result r = unknown[i];
        const char *msg = ferrotls_result_message(r);
        CHECK(strcmp(ferrotls_result_name(r), "FERROTLS_ERR_UNKNOWN") == 0, "unknown %u: name \"%s\"", (unsigned)r,
              ferrotls_result_name(r));
        CHECK(msg != NULL && msg[0] != '\0', "unknown %u: empty message", (unsigned)r);
        CHECK(ferrotls_result_category(r) == FERROTLS_CATEGORY_INTERNAL, "unknown %u: category %u", (unsigned)r,
              (unsigned)ferrotls_result_category(r));
    }
}

static void test_free_null(void) {
    section = "free(NULL)";
    ferrotls_config_builder_free(NULL);
    ferrotls_config_free(NULL);
    ferrotls_conn_free(NULL);
    CHECK(1, "free(NULL) returned");
}

static void test_null_arguments(void) {
    section = "NULL arguments";
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL, *scfg = server_config(0, NULL);
    ferrotls_conn *c = NULL;
    uint8_t buf[64];
    size_t n = 0;
    const uint8_t *p = NULL;
    const uint16_t ids[1] = {0x1301};
    static const uint8_t pem[] = "-----BEGIN CERTIFICATE-----\n";

    /* builder */
    NULL_ARG(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, NULL), "out");
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "builder_new");
    NULL_ARG(ferrotls_config_builder_set_versions(NULL, 0, 0), "builder");
    NULL_ARG(ferrotls_config_builder_set_cipher_suites(NULL, ids, 1), "builder");
    NULL_ARG(ferrotls_config_builder_set_cipher_suites(b, NULL, 1), "ids");
    NULL_ARG(ferrotls_config_builder_set_cipher_list(NULL, "TLS_AES_128_GCM_SHA256"), "builder");
    NULL_ARG(ferrotls_config_builder_set_cipher_list(b, NULL), "list");
    NULL_ARG(ferrotls_config_builder_set_groups(NULL, ids, 1), "builder");
    NULL_ARG(ferrotls_config_builder_set_groups(b, NULL, 2), "ids");
    NULL_ARG(ferrotls_config_builder_set_group_list(NULL, "X25519"), "builder");
    NULL_ARG(ferrotls_config_builder_set_group_list(b, NULL), "list");
    NULL_ARG(ferrotls_config_builder_set_alpn(NULL, (const uint8_t *)"\x02h2", 3), "builder");
    NULL_ARG(ferrotls_config_builder_set_alpn(b, NULL, 3), "wire");
    NULL_ARG(ferrotls_config_builder_set_alpn_list(NULL, "h2"), "builder");
    NULL_ARG(ferrotls_config_builder_set_alpn_list(b, NULL), "csv");
    NULL_ARG(ferrotls_config_builder_add_roots_pem(NULL, pem, sizeof pem - 1), "builder");
    NULL_ARG(ferrotls_config_builder_add_roots_pem(b, NULL, 10), "pem");
    NULL_ARG(ferrotls_config_builder_add_roots_file(NULL, path_of("ca.pem")), "builder");
    NULL_ARG(ferrotls_config_builder_add_roots_file(b, NULL), "path");
    NULL_ARG(ferrotls_config_builder_add_system_roots(NULL), "builder");
    NULL_ARG(ferrotls_config_builder_add_cert_key_pem(NULL, pem, sizeof pem - 1, pem, sizeof pem - 1), "builder");
    NULL_ARG(ferrotls_config_builder_add_cert_key_pem(b, NULL, 10, pem, sizeof pem - 1), "chain");
    NULL_ARG(ferrotls_config_builder_add_cert_key_pem(b, pem, sizeof pem - 1, NULL, 10), "key");
    NULL_ARG(ferrotls_config_builder_add_cert_key_file(NULL, path_of("client.pem"), path_of("client.key")),
             "builder");
    NULL_ARG(ferrotls_config_builder_add_cert_key_file(b, NULL, path_of("client.key")), "chain_path");
    NULL_ARG(ferrotls_config_builder_add_cert_key_file(b, path_of("client.pem"), NULL), "key_path");
    NULL_ARG(ferrotls_config_builder_set_verify(NULL, FERROTLS_VERIFY_SERVER), "builder");
    NULL_ARG(ferrotls_config_builder_set_keylog_file(NULL, "/dev/null"), "builder");
    NULL_ARG(ferrotls_config_builder_set_keylog_file(b, NULL), "path");
    NULL_ARG(ferrotls_config_builder_set_keylog_callback(NULL, keylog_cb, NULL), "builder");
    NULL_ARG(ferrotls_config_builder_set_buffer_limit(NULL, 65536), "builder");
    NULL_ARG(ferrotls_config_builder_set_tls13_tickets(NULL, 1), "builder");
    NULL_ARG(ferrotls_config_builder_set_post_handshake_auth(NULL, true), "builder");
    NULL_ARG(ferrotls_config_builder_set_renegotiation(NULL, true), "builder");
    NULL_ARG(ferrotls_config_builder_set_client_renegotiation(NULL, true), "builder");
    NULL_ARG(ferrotls_config_builder_set_peer_certificate_change(NULL, true), "builder");
    NULL_ARG(ferrotls_config_builder_build(NULL, &cfg), "builder");
    CHECK(cfg == NULL, "build(NULL builder) left *out non-NULL");
    NULL_ARG(ferrotls_config_builder_build(b, NULL), "out");
    /* (NULL, 0) is an empty slice, not an error; a NULL callback removes it. */
    EXPECT_CODE(ferrotls_config_builder_set_alpn(b, NULL, 0), FERROTLS_OK, "set_alpn(NULL, 0)");
    EXPECT_CODE(ferrotls_config_builder_set_keylog_callback(b, NULL, NULL), FERROTLS_OK,
                "set_keylog_callback(NULL cb)");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "add_roots_file");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "build");

    /* config */
    reset_detail();
    CHECK(ferrotls_config_clone(NULL) == NULL, "config_clone(NULL) is not NULL");
    CHECK(detail_names("config"), "config_clone(NULL): detail \"%s\"", ferrotls_last_error_detail());
    reset_detail();
    CHECK(ferrotls_config_role(NULL) == 0, "config_role(NULL) is not 0");
    CHECK(detail_names("config"), "config_role(NULL): detail \"%s\"", ferrotls_last_error_detail());

    /* connection creation */
    c = (ferrotls_conn *)buf; /* must be overwritten with NULL */
    NULL_ARG(ferrotls_conn_new_client(NULL, "localhost", &c), "config");
    CHECK(c == NULL, "new_client(NULL config) left *out non-NULL");
    NULL_ARG(ferrotls_conn_new_client(cfg, "localhost", NULL), "out");
    NULL_ARG(ferrotls_conn_new_server(NULL, &c), "config");
    NULL_ARG(ferrotls_conn_new_server(scfg, NULL), "out");
    /* server_name may be NULL only with DANGEROUS_NO_VERIFY */
    reset_detail();
    ferrotls_result r = ferrotls_conn_new_client(cfg, NULL, &c);
    CHECK(r != FERROTLS_OK && c == NULL, "new_client(server_name NULL) with verification: %s",
          ferrotls_result_name(r));
    CHECK(ferrotls_last_error_detail()[0] != '\0', "new_client(server_name NULL): empty detail");
    ferrotls_conn_free(c);
    c = NULL;
    EXPECT_CODE(ferrotls_conn_new_client(cfg, "localhost", &c), FERROTLS_OK, "new_client");

    /* every connection function */
    NULL_ARG(ferrotls_conn_set_trace_callback(NULL, trace_cb, NULL), "conn");
    NULL_ARG(ferrotls_conn_feed(NULL, buf, 1, &n), "conn");
    NULL_ARG(ferrotls_conn_feed(c, NULL, 5, &n), "data");
    n = 99;
    NULL_ARG(ferrotls_conn_feed(c, buf, 1, NULL), "consumed");
    NULL_ARG(ferrotls_conn_feed_eof(NULL), "conn");
    NULL_ARG(ferrotls_conn_take_outgoing(NULL, buf, sizeof buf, &n), "conn");
    CHECK(n == 0, "take_outgoing(NULL conn): *out_n = %zu, want 0", n);
    NULL_ARG(ferrotls_conn_take_outgoing(c, NULL, 10, &n), "buf");
    NULL_ARG(ferrotls_conn_take_outgoing(c, buf, sizeof buf, NULL), "out_n");
    p = buf;
    NULL_ARG(ferrotls_conn_peek_outgoing(NULL, &p, &n), "conn");
    CHECK(p == NULL && n == 0, "peek_outgoing(NULL conn) left out-params set");
    NULL_ARG(ferrotls_conn_peek_outgoing(c, NULL, &n), "data");
    NULL_ARG(ferrotls_conn_peek_outgoing(c, &p, NULL), "len");
    NULL_ARG(ferrotls_conn_consume_outgoing(NULL, 0), "conn");
    NULL_ARG(ferrotls_conn_handshake(NULL), "conn");
    NULL_ARG(ferrotls_conn_write(NULL, buf, 1, &n), "conn");
    NULL_ARG(ferrotls_conn_write(c, NULL, 1, &n), "data");
    NULL_ARG(ferrotls_conn_write(c, buf, 1, NULL), "accepted");
    NULL_ARG(ferrotls_conn_read(NULL, buf, sizeof buf, &n), "conn");
    NULL_ARG(ferrotls_conn_read(c, NULL, 10, &n), "buf");
    NULL_ARG(ferrotls_conn_read(c, buf, sizeof buf, NULL), "out_n");
    NULL_ARG(ferrotls_conn_close(NULL), "conn");
    NULL_ARG(ferrotls_conn_flush(NULL), "conn");
    NULL_ARG(ferrotls_conn_error(NULL), "conn");
    NULL_ARG(ferrotls_conn_alpn(NULL, &p, &n), "conn");
    NULL_ARG(ferrotls_conn_alpn(c, NULL, &n), "proto");
    NULL_ARG(ferrotls_conn_alpn(c, &p, NULL), "len");
    NULL_ARG(ferrotls_conn_peer_cert(NULL, 0, &p, &n), "conn");
    NULL_ARG(ferrotls_conn_peer_cert(c, 0, NULL, &n), "der");
    NULL_ARG(ferrotls_conn_peer_cert(c, 0, &p, NULL), "len");
    {
        uint8_t d = 7;
        bool ours = true;
        NULL_ARG(ferrotls_conn_last_alert(NULL, &d, &ours), "conn");
        CHECK(d == 0 && !ours, "last_alert(NULL conn) left out-params set");
        NULL_ARG(ferrotls_conn_last_alert(c, NULL, &ours), "description");
        NULL_ARG(ferrotls_conn_last_alert(c, &d, NULL), "sent_by_us");
    }
    {
        uint8_t out[16];
        memset(out, 0xAA, sizeof out);
        NULL_ARG(ferrotls_conn_export_keying_material(NULL, out, sizeof out, (const uint8_t *)"x", 1, NULL, 0),
                 "conn");
        NULL_ARG(ferrotls_conn_export_keying_material(c, NULL, 16, (const uint8_t *)"x", 1, NULL, 0), "out");
        NULL_ARG(ferrotls_conn_export_keying_material(c, out, sizeof out, NULL, 1, NULL, 0), "label");
        NULL_ARG(ferrotls_conn_export_keying_material(c, out, sizeof out, (const uint8_t *)"x", 1, NULL, 4),
                 "context");
    }
    NULL_ARG(ferrotls_conn_key_update(NULL, false), "conn");
    NULL_ARG(ferrotls_conn_request_client_certificate(NULL), "conn");
    NULL_ARG(ferrotls_conn_renegotiate(NULL), "conn");
    NULL_ARG(ferrotls_conn_peek_plaintext(NULL, &p, &n), "conn");
    NULL_ARG(ferrotls_conn_set_fd(NULL, 0), "conn");

    /* getters: zero value, detail naming 'conn' */
    NULL_GETTER(ferrotls_conn_outgoing_len(NULL), 0);
    NULL_GETTER(ferrotls_conn_readable(NULL), 0);
    NULL_GETTER(ferrotls_conn_wants(NULL), 0);
    NULL_GETTER(ferrotls_conn_os_error(NULL), 0);
    NULL_GETTER(ferrotls_conn_get_userdata(NULL), NULL);
    NULL_GETTER(ferrotls_conn_protocol_version(NULL), 0);
    NULL_GETTER(ferrotls_conn_version_name(NULL), NULL);
    NULL_GETTER(ferrotls_conn_awaiting(NULL), NULL);
    NULL_GETTER(ferrotls_conn_cipher_suite(NULL), 0);
    NULL_GETTER(ferrotls_conn_cipher_name(NULL), NULL);
    NULL_GETTER(ferrotls_conn_group(NULL), 0);
    NULL_GETTER(ferrotls_conn_group_name(NULL), NULL);
    NULL_GETTER(ferrotls_conn_signature_scheme(NULL), 0);
    NULL_GETTER(ferrotls_conn_signature_scheme_name(NULL), NULL);
    NULL_GETTER(ferrotls_conn_server_name(NULL), NULL);
    NULL_GETTER(ferrotls_conn_peer_cert_count(NULL), 0);
    NULL_GETTER(ferrotls_conn_peer_cert_subject(NULL), NULL);
    NULL_GETTER(ferrotls_conn_handshake_kind(NULL), 0);
    {
        reset_detail();
        const char *d = ferrotls_conn_error_detail(NULL);
        CHECK(d != NULL && d[0] == '\0', "conn_error_detail(NULL) is not \"\"");
        CHECK(detail_names("conn"), "conn_error_detail(NULL): detail \"%s\"", ferrotls_last_error_detail());
        reset_detail();
        const char *r = ferrotls_conn_error_reason(NULL);
        CHECK(r != NULL && r[0] == '\0', "conn_error_reason(NULL) is not \"\"");
        CHECK(detail_names("conn"), "conn_error_reason(NULL): detail \"%s\"", ferrotls_last_error_detail());
        r = ferrotls_last_error_reason();
        CHECK(r != NULL && r[0] == '\0', "last_error_reason after a NULL argument is \"%s\"", str_or(r));
        reset_detail();
        ferrotls_conn_set_userdata(NULL, buf);
        CHECK(detail_names("conn"), "conn_set_userdata(NULL): detail \"%s\"", ferrotls_last_error_detail());
    }

    ferrotls_conn_free(c);
    ferrotls_config_free(cfg);
    ferrotls_config_free(scfg);
    ferrotls_config_builder_free(b);
}

static void test_wrong_handles(void) {
    section = "wrong handle types";
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    ferrotls_conn *c = NULL;
    uint8_t buf[64];
    size_t n = 0;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "builder_new");
    EXPECT_CODE(ferrotls_config_builder_set_verify(b, FERROTLS_VERIFY_DANGEROUS_NO_VERIFY), FERROTLS_OK,
                "set_verify no-verify");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "build");
    EXPECT_CODE(ferrotls_conn_new_client(cfg, NULL, &c), FERROTLS_OK, "new_client without a name (no-verify)");

    ferrotls_conn *from_builder = (ferrotls_conn *)(void *)b;
    ferrotls_conn *from_config = (ferrotls_conn *)(void *)cfg;
    ferrotls_conn *targets[2] = {from_builder, from_config};
    for (int i = 0; i < 2; i++) {
        ferrotls_conn *x = targets[i];
        WRONG_HANDLE(ferrotls_conn_handshake(x), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_read(x, buf, sizeof buf, &n), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_write(x, buf, 1, &n), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_feed(x, buf, 1, &n), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_take_outgoing(x, buf, sizeof buf, &n), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_close(x), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_error(x), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_set_fd(x, 0), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_key_update(x, false), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_request_client_certificate(x), "ferrotls_conn");
        WRONG_HANDLE(ferrotls_conn_renegotiate(x), "ferrotls_conn");
        {
            const uint8_t *pp = NULL;
            WRONG_HANDLE(ferrotls_conn_peek_plaintext(x, &pp, &n), "ferrotls_conn");
        }
        reset_detail();
        CHECK(ferrotls_conn_outgoing_len(x) == 0, "outgoing_len(wrong type) != 0");
        CHECK(strstr(ferrotls_last_error_detail(), "ferrotls_conn") != NULL, "outgoing_len: detail \"%s\"",
              ferrotls_last_error_detail());
        CHECK(ferrotls_conn_version_name(x) == NULL, "version_name(wrong type) != NULL");
        CHECK(ferrotls_conn_awaiting(x) == NULL, "awaiting(wrong type) != NULL");
        CHECK(ferrotls_conn_wants(x) == 0, "wants(wrong type) != 0");
        reset_detail();
        CHECK(strcmp(str_or(ferrotls_conn_error_reason(x)), "") == 0, "conn_error_reason(wrong type) is not \"\"");
        CHECK(strstr(ferrotls_last_error_detail(), "ferrotls_conn") != NULL, "conn_error_reason: detail \"%s\"",
              ferrotls_last_error_detail());
        ferrotls_conn_free(x); /* refused: must neither free nor corrupt the object */
    }
    /* the other way round */
    WRONG_HANDLE(ferrotls_config_builder_set_versions((ferrotls_config_builder *)(void *)c, 0, 0),
                 "ferrotls_config_builder");
    WRONG_HANDLE(ferrotls_config_builder_set_versions((ferrotls_config_builder *)(void *)cfg, 0, 0),
                 "ferrotls_config_builder");
    WRONG_HANDLE(ferrotls_config_builder_set_post_handshake_auth((ferrotls_config_builder *)(void *)c, true),
                 "ferrotls_config_builder");
    WRONG_HANDLE(ferrotls_config_builder_set_post_handshake_auth((ferrotls_config_builder *)(void *)cfg, true),
                 "ferrotls_config_builder");
    {
        ferrotls_config_builder *not_builders[2] = {(ferrotls_config_builder *)(void *)c,
                                                    (ferrotls_config_builder *)(void *)cfg};
        for (int i = 0; i < 2; i++) {
            WRONG_HANDLE(ferrotls_config_builder_set_renegotiation(not_builders[i], false), "ferrotls_config_builder");
            WRONG_HANDLE(ferrotls_config_builder_set_client_renegotiation(not_builders[i], true),
                         "ferrotls_config_builder");
            WRONG_HANDLE(ferrotls_config_builder_set_peer_certificate_change(not_builders[i], true),
                         "ferrotls_config_builder");
        }
    }
    {
        ferrotls_config *out = NULL;
        WRONG_HANDLE(ferrotls_config_builder_build((ferrotls_config_builder *)(void *)cfg, &out),
                     "ferrotls_config_builder");
        CHECK(out == NULL, "build(wrong type) left *out set");
    }
    ferrotls_conn *c2 = NULL;
    WRONG_HANDLE(ferrotls_conn_new_client((ferrotls_config *)(void *)c, "localhost", &c2), "ferrotls_config");
    WRONG_HANDLE(ferrotls_conn_new_server((ferrotls_config *)(void *)b, &c2), "ferrotls_config");
    CHECK(c2 == NULL, "new_server(wrong type) left *out set");
    CHECK(ferrotls_config_clone((ferrotls_config *)(void *)c) == NULL, "config_clone(conn) != NULL");
    CHECK(ferrotls_config_role((ferrotls_config *)(void *)b) == 0, "config_role(builder) != 0");
    ferrotls_config_free((ferrotls_config *)(void *)c);                 /* refused */
    ferrotls_config_builder_free((ferrotls_config_builder *)(void *)cfg); /* refused */

    /* after all that, the three objects still work */
    CHECK(ferrotls_config_role(cfg) == FERROTLS_ROLE_CLIENT, "config damaged by wrong-type calls");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0, 0), FERROTLS_OK, "builder damaged by wrong-type calls");
    CHECK(ferrotls_conn_outgoing_len(c) > 0, "conn damaged by wrong-type calls (no ClientHello queued)");
    ferrotls_conn_free(c);
    ferrotls_config_free(cfg);
    ferrotls_config_builder_free(b);
}

static void test_wrong_state_and_role(void) {
    section = "wrong state / role";
    ferrotls_config_builder *cb = NULL, *sb = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &cb), FERROTLS_OK, "client builder_new");
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &sb), FERROTLS_OK, "server builder_new");
    EXPECT_CODE(ferrotls_config_builder_set_verify(cb, FERROTLS_VERIFY_REQUIRE_CLIENT_CERT), FERROTLS_ERR_WRONG_ROLE,
                "client set_verify(REQUIRE_CLIENT_CERT)");
    CHECK(ferrotls_last_error_detail()[0] != '\0', "WRONG_ROLE without detail");
    EXPECT_CODE(ferrotls_config_builder_set_verify(cb, FERROTLS_VERIFY_NO_CLIENT_AUTH), FERROTLS_ERR_WRONG_ROLE,
                "client set_verify(NO_CLIENT_AUTH)");
    EXPECT_CODE(ferrotls_config_builder_set_verify(sb, FERROTLS_VERIFY_SERVER), FERROTLS_ERR_WRONG_ROLE,
                "server set_verify(VERIFY_SERVER)");
    EXPECT_CODE(ferrotls_config_builder_set_verify(sb, FERROTLS_VERIFY_DANGEROUS_NO_VERIFY), FERROTLS_ERR_WRONG_ROLE,
                "server set_verify(DANGEROUS_NO_VERIFY)");
    EXPECT_CODE(ferrotls_config_builder_set_verify(sb, 99), FERROTLS_ERR_INVALID_ARGUMENT, "set_verify(99)");
    EXPECT_CODE(ferrotls_config_builder_set_tls13_tickets(cb, 2), FERROTLS_ERR_WRONG_ROLE, "client set_tls13_tickets");
    /* Accepting the client's renegotiation is a server's decision; the other two are both roles'. */
    reset_detail();
    EXPECT_CODE(ferrotls_config_builder_set_client_renegotiation(cb, true), FERROTLS_ERR_WRONG_ROLE,
                "client set_client_renegotiation(true)");
    CHECK(ferrotls_last_error_detail()[0] != '\0', "set_client_renegotiation WRONG_ROLE without detail");
    EXPECT_CODE(ferrotls_config_builder_set_client_renegotiation(cb, false), FERROTLS_ERR_WRONG_ROLE,
                "client set_client_renegotiation(false)");
    EXPECT_CODE(ferrotls_config_builder_set_client_renegotiation(sb, true), FERROTLS_OK,
                "server set_client_renegotiation");
    EXPECT_CODE(ferrotls_config_builder_set_renegotiation(cb, false), FERROTLS_OK, "client set_renegotiation");
    EXPECT_CODE(ferrotls_config_builder_set_renegotiation(sb, true), FERROTLS_OK, "server set_renegotiation");
    EXPECT_CODE(ferrotls_config_builder_set_peer_certificate_change(cb, true), FERROTLS_OK,
                "client set_peer_certificate_change");
    EXPECT_CODE(ferrotls_config_builder_set_peer_certificate_change(sb, false), FERROTLS_OK,
                "server set_peer_certificate_change");
    EXPECT_CODE(ferrotls_config_builder_set_versions(cb, 0x0301, 0), FERROTLS_ERR_INVALID_ARGUMENT,
                "set_versions(TLS 1.0)");
    {
        ferrotls_config_builder *x = NULL;
        EXPECT_CODE(ferrotls_config_builder_new(3, &x), FERROTLS_ERR_INVALID_ARGUMENT, "builder_new(role 3)");
        CHECK(x == NULL, "builder_new(role 3) left *out set");
    }
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(cb, "/nonexistent/ferrotls/ca.pem"), FERROTLS_ERR_FILE,
                "add_roots_file(missing file)");
    EXPECT_CODE(ferrotls_config_builder_add_roots_pem(cb, (const uint8_t *)"not pem", 7), FERROTLS_ERR_PEM,
                "add_roots_pem(garbage)");
    EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(sb, path_of("server.pem"), path_of("client.key")),
                FERROTLS_ERR_KEY, "add_cert_key_file(mismatched key)");

    /* connections of the wrong role */
    ferrotls_config *ccfg = client_config("ca.pem", 0, NULL, NULL, 0), *scfg = server_config(0, NULL);
    ferrotls_conn *c = NULL, *s = NULL;
    EXPECT_CODE(ferrotls_conn_new_client(scfg, "localhost", &c), FERROTLS_ERR_WRONG_ROLE, "new_client(server config)");
    EXPECT_CODE(ferrotls_conn_new_server(ccfg, &s), FERROTLS_ERR_WRONG_ROLE, "new_server(client config)");
    CHECK(c == NULL && s == NULL, "wrong-role constructors left *out set");

    /* calls before the handshake */
    EXPECT_CODE(ferrotls_conn_new_client(ccfg, "localhost", &c), FERROTLS_OK, "new_client");
    EXPECT_CODE(ferrotls_conn_new_server(scfg, &s), FERROTLS_OK, "new_server");
    uint8_t buf[64], km[32];
    size_t n = 99;
    EXPECT_CODE(ferrotls_conn_handshake(c), FERROTLS_WANT_READ, "client handshake before any input");
    CHECK(ferrotls_conn_wants(c) & FERROTLS_WANTS_HANDSHAKING, "wants lacks HANDSHAKING before the handshake");
    EXPECT_CODE(ferrotls_conn_read(c, buf, sizeof buf, &n), FERROTLS_WANT_READ, "read before the handshake");
    CHECK(n == 0, "read before the handshake: n = %zu", n);
    EXPECT_CODE(ferrotls_conn_read(c, buf, 0, &n), FERROTLS_ERR_INVALID_ARGUMENT, "read with cap 0");
    n = 99;
    ferrotls_result r = ferrotls_conn_write(s, (const uint8_t *)"early", 5, &n);
    CHECK(r == FERROTLS_ERR_WRONG_STATE || (r == FERROTLS_OK && n <= 5),
          "server write before the handshake: %s, accepted %zu", ferrotls_result_name(r), n);
    memset(km, 0xAA, sizeof km);
    EXPECT_CODE(ferrotls_conn_export_keying_material(c, km, sizeof km, (const uint8_t *)"EXPERIMENTAL test", 17,
                                                     NULL, 0),
                FERROTLS_ERR_WRONG_STATE, "export before the handshake");
    {
        int zero = 1;
        for (size_t i = 0; i < sizeof km; i++)
            zero &= km[i] == 0;
        CHECK(zero, "export failure did not zero the output");
    }
    EXPECT_CODE(ferrotls_conn_key_update(c, true), FERROTLS_ERR_WRONG_STATE, "key_update before the handshake");
    EXPECT_CODE(ferrotls_conn_flush(c), FERROTLS_ERR_WRONG_STATE, "flush without a socket");
    CHECK(strstr(ferrotls_last_error_detail(), "ferrotls_conn_set_fd") != NULL, "flush detail \"%s\"",
          ferrotls_last_error_detail());
    EXPECT_CODE(ferrotls_conn_set_fd(c, -1), FERROTLS_ERR_INVALID_ARGUMENT, "set_fd(-1)");
    {
        const uint8_t *p = buf;
        size_t len = 7;
        EXPECT_CODE(ferrotls_conn_alpn(c, &p, &len), FERROTLS_ERR_NOT_FOUND, "alpn before the handshake");
        CHECK(p == NULL && len == 0, "alpn NOT_FOUND left out-params set");
        EXPECT_CODE(ferrotls_conn_peer_cert(c, 0, &p, &len), FERROTLS_ERR_NOT_FOUND, "peer_cert before the handshake");
        uint8_t d;
        bool ours;
        EXPECT_CODE(ferrotls_conn_last_alert(c, &d, &ours), FERROTLS_ERR_NOT_FOUND, "last_alert before any alert");
    }
    CHECK(ferrotls_conn_version_name(c) == NULL, "version_name before negotiation");
    CHECK(strcmp(str_or(ferrotls_conn_awaiting(c)), "Step Two: ServerHello") == 0,
          "client awaiting \"%s\" after its ClientHello", str_or(ferrotls_conn_awaiting(c)));
    CHECK(strcmp(str_or(ferrotls_conn_awaiting(s)), "Step One: ClientHello") == 0, "server awaiting \"%s\"",
          str_or(ferrotls_conn_awaiting(s)));
    CHECK(ferrotls_conn_cipher_name(c) == NULL, "cipher_name before negotiation");
    CHECK(ferrotls_conn_handshake_kind(c) == 0, "handshake_kind before the handshake");
    CHECK(ferrotls_conn_error(c) == FERROTLS_OK, "error() on a healthy connection");
    CHECK(strcmp(ferrotls_conn_error_detail(c), "") == 0, "error_detail on a healthy connection");
    CHECK(strcmp(str_or(ferrotls_conn_error_reason(c)), "") == 0, "error_reason on a healthy connection");
    {
        size_t have = ferrotls_conn_outgoing_len(c);
        EXPECT_CODE(ferrotls_conn_consume_outgoing(c, have + 1), FERROTLS_ERR_INVALID_ARGUMENT,
                    "consume_outgoing past the end");
        CHECK(ferrotls_conn_outgoing_len(c) == have, "failed consume_outgoing changed the queue");
    }
    /* The library is usable again after all of that: the same pair handshakes. */
    struct pair *p = calloc(1, sizeof *p);
    if (p == NULL)
        exit(2);
    p->c = c;
    p->s = s;
    CHECK(handshake(p), "handshake after the misuse: client %s, server %s", ferrotls_result_name(p->rc),
          ferrotls_result_name(p->rs));
    pair_free(p);
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    ferrotls_config_builder_free(cb);
    ferrotls_config_builder_free(sb);
}

static void test_handshake(void) {
    section = "handshake";
    struct keylog kl;
    struct trace tr;
    memset(&kl, 0, sizeof kl);
    memset(&tr, 0, sizeof tr);
    ferrotls_config *scfg = server_config(0, "h2,http/1.1");
    ferrotls_config *ccfg = client_config("ca.pem", 0, &kl, (const uint8_t *)"\x03" "foo" "\x08" "http/1.1", 13);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    /* Connections hold their own references: drop ours before the handshake. */
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);

    int marker = 42;
    ferrotls_conn_set_userdata(p->c, &marker);
    CHECK(ferrotls_conn_get_userdata(p->c) == &marker, "get_userdata");
    tr.conn = p->c;
    EXPECT_CODE(ferrotls_conn_set_trace_callback(p->c, trace_cb, &tr), FERROTLS_OK, "set_trace_callback");

    if (!CHECK(handshake(p), "handshake: client %s (%s), server %s (%s)", ferrotls_result_name(p->rc),
               ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs), ferrotls_conn_error_detail(p->s))) {
        pair_free(p);
        free(tr.text);
        return;
    }
    ferrotls_conn *c = p->c, *s = p->s;
    CHECK((ferrotls_conn_wants(c) & (FERROTLS_WANTS_HANDSHAKING | FERROTLS_WANTS_FAILED)) == 0,
          "client wants %#x after the handshake", (unsigned)ferrotls_conn_wants(c));

    /* introspection, both sides */
    ferrotls_conn *both[2] = {c, s};
    for (int i = 0; i < 2; i++) {
        ferrotls_conn *x = both[i];
        const char *who = i == 0 ? "client" : "server";
        CHECK(ferrotls_conn_protocol_version(x) == 0x0304, "%s protocol_version %#x", who,
              (unsigned)ferrotls_conn_protocol_version(x));
        const char *vn = ferrotls_conn_version_name(x);
        CHECK(vn != NULL && strcmp(vn, "TLSv1.3") == 0, "%s version_name \"%s\"", who, str_or(vn));
        const char *cn = ferrotls_conn_cipher_name(x);
        CHECK(cn != NULL && strncmp(cn, "TLS_", 4) == 0, "%s cipher_name \"%s\"", who, str_or(cn));
        CHECK((ferrotls_conn_cipher_suite(x) & 0xff00) == 0x1300, "%s cipher_suite %#x", who,
              (unsigned)ferrotls_conn_cipher_suite(x));
        const char *gn = ferrotls_conn_group_name(x);
        CHECK(gn != NULL && gn[0] != '\0' && ferrotls_conn_group(x) != 0, "%s group \"%s\" %#x", who, str_or(gn),
              (unsigned)ferrotls_conn_group(x));
        CHECK(ferrotls_conn_handshake_kind(x) == FERROTLS_HANDSHAKE_FULL ||
                  ferrotls_conn_handshake_kind(x) == FERROTLS_HANDSHAKE_FULL_HRR,
              "%s handshake_kind %u", who, (unsigned)ferrotls_conn_handshake_kind(x));
        const uint8_t *ap = NULL;
        size_t al = 0;
        EXPECT_CODE(ferrotls_conn_alpn(x, &ap, &al), FERROTLS_OK, "alpn");
        CHECK(al == 8 && ap != NULL && memcmp(ap, "http/1.1", 8) == 0, "%s ALPN \"%.*s\"", who, (int)al,
              ap != NULL ? (const char *)ap : "");
        const char *sn = ferrotls_conn_server_name(x);
        CHECK(sn != NULL && strcmp(sn, "localhost") == 0, "%s server_name \"%s\"", who, str_or(sn));
        /* Getter strings are stable: the same pointer on a second call. */
        CHECK(ferrotls_conn_cipher_name(x) == cn, "%s cipher_name pointer changed", who);
        const char *aw = ferrotls_conn_awaiting(x);
        CHECK(aw != NULL && strcmp(aw, "application data") == 0, "%s awaiting \"%s\" after the handshake", who,
              str_or(aw));
    }
    const char *ss = ferrotls_conn_signature_scheme_name(c);
    CHECK(ss != NULL && ss[0] != '\0' && ferrotls_conn_signature_scheme(c) != 0, "client signature_scheme \"%s\"",
          str_or(ss));
    size_t certs = ferrotls_conn_peer_cert_count(c);
    CHECK(certs >= 1, "client peer_cert_count %zu", certs);
    {
        const uint8_t *der = NULL;
        size_t len = 0;
        EXPECT_CODE(ferrotls_conn_peer_cert(c, 0, &der, &len), FERROTLS_OK, "peer_cert(0)");
        CHECK(der != NULL && len > 100 && der[0] == 0x30, "peer_cert(0) is not DER (len %zu)", len);
        EXPECT_CODE(ferrotls_conn_peer_cert(c, certs, &der, &len), FERROTLS_ERR_NOT_FOUND, "peer_cert past the end");
        CHECK(der == NULL && len == 0, "peer_cert NOT_FOUND left out-params set");
    }
    const char *subj = ferrotls_conn_peer_cert_subject(c);
    CHECK(subj != NULL && strstr(subj, "CN=localhost") != NULL, "client peer_cert_subject \"%s\"", str_or(subj));
    CHECK(ferrotls_conn_peer_cert_count(s) == 0, "server saw %zu client certificates without mTLS",
          ferrotls_conn_peer_cert_count(s));
    CHECK(ferrotls_conn_peer_cert_subject(s) == NULL, "server peer_cert_subject without mTLS");

    /* exporter: both sides agree; a NULL context differs from an empty one */
    {
        uint8_t a[32], b2[32], e[32];
        const uint8_t *label = (const uint8_t *)"EXPERIMENTAL ferrotls api_test";
        size_t ll = strlen((const char *)label);
        EXPECT_CODE(ferrotls_conn_export_keying_material(c, a, sizeof a, label, ll, NULL, 0), FERROTLS_OK, "export c");
        EXPECT_CODE(ferrotls_conn_export_keying_material(s, b2, sizeof b2, label, ll, NULL, 0), FERROTLS_OK,
                    "export s");
        EXPECT_CODE(ferrotls_conn_export_keying_material(c, e, sizeof e, label, ll, (const uint8_t *)"", 0),
                    FERROTLS_OK, "export c, empty context");
        CHECK(memcmp(a, b2, sizeof a) == 0, "exported keying material differs between the sides");
        /* RFC 8446 7.5: in TLS 1.3 no context and an empty context give the same value (they
         * differ in TLS 1.2); a non-empty context gives another one. */
        CHECK(memcmp(a, e, sizeof a) == 0, "TLS 1.3: no context and an empty context differ");
        EXPECT_CODE(ferrotls_conn_export_keying_material(c, e, sizeof e, label, ll, (const uint8_t *)"ctx", 3),
                    FERROTLS_OK, "export c, context");
        CHECK(memcmp(a, e, sizeof a) != 0, "a context did not change the keying material");
    }

    /* data both ways */
    {
        static const char hello[] = "GET / HTTP/1.0\r\n\r\n";
        CHECK(transfer(p, c, s, (const uint8_t *)hello, sizeof hello - 1), "client -> server");
        size_t big = 100000;
        uint8_t *data = malloc(big);
        if (data == NULL)
            exit(2);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < big; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data[i] = (uint8_t)x;
        }
        CHECK(transfer(p, s, c, data, big), "server -> client, %zu bytes", big);
        /* key update, then data still flows both ways */
        EXPECT_CODE(ferrotls_conn_key_update(c, true), FERROTLS_OK, "key_update(request_peer)");
        CHECK(transfer(p, c, s, data, 5000), "client -> server after KeyUpdate");
        CHECK(transfer(p, s, c, data + 5000, 5000), "server -> client after KeyUpdate");
        free(data);
    }
    CHECK(ferrotls_conn_readable(c) == 0 && ferrotls_conn_readable(s) == 0, "plaintext left over");

    /* close_notify: client -> server */
    EXPECT_CODE(ferrotls_conn_close(c), FERROTLS_OK, "close");
    EXPECT_CODE(ferrotls_conn_close(c), FERROTLS_OK, "close again (idempotent)");
    pump(p);
    {
        uint8_t buf[64];
        size_t n = 0;
        EXPECT_CODE(ferrotls_conn_read(s, buf, sizeof buf, &n), FERROTLS_CLOSED, "server read after close_notify");
        CHECK(ferrotls_conn_wants(s) & FERROTLS_WANTS_CLOSED, "server wants lacks CLOSED");
        EXPECT_CODE(ferrotls_conn_feed_eof(s), FERROTLS_CLOSED, "server feed_eof after close_notify");
        EXPECT_CODE(ferrotls_conn_close(s), FERROTLS_OK, "server close");
        pump(p);
        EXPECT_CODE(ferrotls_conn_read(c, buf, sizeof buf, &n), FERROTLS_CLOSED, "client read after close_notify");
    }

    /* callbacks */
    CHECK(tr.lines > 0 && tr.text != NULL && strstr(tr.text, "Step One: ClientHello") != NULL,
          "trace lacks \"Step One: ClientHello\" (%u lines)", tr.lines);
    CHECK(tr.text != NULL && strstr(tr.text, "Finished") != NULL, "trace lacks Finished");
    CHECK(tr.bad_event == 0, "%u trace events with an unknown FERROTLS_TRACE_* value", tr.bad_event);
    CHECK(tr.wrong_conn == 0, "%u trace callbacks with another conn pointer", tr.wrong_conn);
    CHECK(tr.userdata_seen == &marker, "get_userdata from inside the callback");
    CHECK(tr.reentry_result == FERROTLS_ERR_CONCURRENT_USE, "re-entry from the callback: %s",
          ferrotls_result_name(tr.reentry_result));
    CHECK(tr.reentry_outgoing == 0, "outgoing_len from inside the callback is not 0");
    CHECK(kl.lines >= 4 && kl.client_hs == 1 && kl.server_hs == 1 && kl.client_app == 1 && kl.server_app == 1,
          "key log: %u lines (%u/%u/%u/%u)", kl.lines, kl.client_hs, kl.server_hs, kl.client_app, kl.server_app);
    CHECK(kl.with_conn == 0, "key log callback got a non-NULL conn");

    /* removing the trace callback: no more lines */
    EXPECT_CODE(ferrotls_conn_set_trace_callback(c, NULL, NULL), FERROTLS_OK, "set_trace_callback(NULL)");
    free(tr.text);
    pair_free(p);
}

static void test_mtls(void) {
    section = "mutual TLS";
    ferrotls_config *scfg = server_config(FERROTLS_VERIFY_REQUIRE_CLIENT_CERT, NULL);
    ferrotls_config *ccfg = client_config("ca.pem", 1, NULL, NULL, 0);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    if (CHECK(handshake(p), "mTLS handshake: client %s (%s), server %s (%s)", ferrotls_result_name(p->rc),
              ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs), ferrotls_conn_error_detail(p->s))) {
        const char *subj = ferrotls_conn_peer_cert_subject(p->s);
        CHECK(subj != NULL && strstr(subj, "CN=demo-client") != NULL, "server peer_cert_subject \"%s\"", str_or(subj));
        CHECK(ferrotls_conn_peer_cert_count(p->s) >= 1, "server peer_cert_count %zu", ferrotls_conn_peer_cert_count(p->s));
        CHECK(transfer(p, p->c, p->s, (const uint8_t *)"mtls", 4), "data over mTLS");
    }
    pair_free(p);
    ferrotls_config_free(ccfg);

    /* the same server, a client without a certificate: refused */
    ccfg = client_config("ca.pem", 0, NULL, NULL, 0);
    p = pair_new(ccfg, scfg, "localhost");
    CHECK(!handshake(p), "handshake without a client certificate succeeded");
    ferrotls_result rs = ferrotls_conn_error(p->s);
    CHECK(rs == FERROTLS_ERR_CERTIFICATE_REQUIRED || rs == FERROTLS_ERR_CERT_MISSING,
          "server error without a client certificate: %s (%s)", ferrotls_result_name(rs),
          ferrotls_conn_error_detail(p->s));
    CHECK(ferrotls_conn_error(p->c) != FERROTLS_OK, "client did not fail although the server refused it");
    pair_free(p);
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
}

static void test_failing_handshake(void) {
    section = "failing handshake";
    ferrotls_config *scfg = server_config(0, NULL);
    ferrotls_config *ccfg = client_config("other-ca.pem", 0, NULL, NULL, 0);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    CHECK(!handshake(p), "handshake with the wrong CA succeeded");
    ferrotls_conn *c = p->c, *s = p->s;
    EXPECT_CODE(p->rc, FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "client handshake result");
    EXPECT_CODE(ferrotls_conn_error(c), FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "client conn_error");
    const char *d = ferrotls_conn_error_detail(c);
    CHECK(d != NULL && contains_ci(d, "certificate"), "client error_detail \"%s\" does not mention the certificate",
          str_or(d));
    CHECK(ferrotls_conn_wants(c) & FERROTLS_WANTS_FAILED, "client wants lacks FAILED");
    /* sticky: every mutating call gives the same code */
    uint8_t buf[64];
    size_t n = 99;
    EXPECT_CODE(ferrotls_conn_handshake(c), FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "handshake again");
    EXPECT_CODE(ferrotls_conn_read(c, buf, sizeof buf, &n), FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "read after failure");
    CHECK(n == 0, "read after failure: n = %zu", n);
    EXPECT_CODE(ferrotls_conn_write(c, buf, 1, &n), FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "write after failure");
    CHECK(n == 0, "write after failure: accepted = %zu", n);
    EXPECT_CODE(ferrotls_conn_feed(c, buf, 1, &n), FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "feed after failure");
    CHECK(strcmp(ferrotls_conn_error_detail(c), d) == 0, "error_detail changed after later calls");
    CHECK(contains_ci(ferrotls_last_error_detail(), "certificate"), "last_error_detail \"%s\"",
          ferrotls_last_error_detail());
    /* the client's alert */
    uint8_t desc = 0;
    bool ours = false;
    EXPECT_CODE(ferrotls_conn_last_alert(c, &desc, &ours), FERROTLS_OK, "client last_alert");
    CHECK(desc == 48 && ours, "client last_alert %u sent_by_us %d, want 48 (unknown_ca) / true", desc, ours);
    /* the server received it */
    ferrotls_result rs = ferrotls_conn_error(s);
    CHECK(rs == FERROTLS_ERR_ALERT_BASE + 48, "server conn_error %s (%u), want 1048 (unknown_ca received)",
          ferrotls_result_name(rs), (unsigned)rs);
    CHECK(ferrotls_result_category(rs) == FERROTLS_CATEGORY_ALERT, "server error category %u",
          (unsigned)ferrotls_result_category(rs));
    desc = 0;
    ours = true;
    EXPECT_CODE(ferrotls_conn_last_alert(s, &desc, &ours), FERROTLS_OK, "server last_alert");
    CHECK(desc == 48 && !ours, "server last_alert %u sent_by_us %d, want 48 (unknown_ca) / false", desc, ours);
    CHECK(ferrotls_conn_error_detail(s)[0] != '\0', "server error_detail is empty");
    /* a certificate error and a received alert are not protocol violations: no reason */
    CHECK(strcmp(str_or(ferrotls_conn_error_reason(c)), "") == 0, "client error_reason \"%s\", want \"\"",
          str_or(ferrotls_conn_error_reason(c)));
    CHECK(strcmp(str_or(ferrotls_conn_error_reason(s)), "") == 0, "server error_reason \"%s\", want \"\"",
          str_or(ferrotls_conn_error_reason(s)));
    EXPECT_CODE(ferrotls_conn_handshake(c), FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "handshake again");
    CHECK(strcmp(str_or(ferrotls_last_error_reason()), "") == 0, "last_error_reason \"%s\" after a certificate error",
          str_or(ferrotls_last_error_reason()));
    pair_free(p);
}

/* ---- the engine's reasons: which check refused the peer's input ------------------------- */

/* Feeds `bytes` to `conn` and runs its handshake: the first failing code. */
static ferrotls_result feed_and_handshake(ferrotls_conn *conn, const uint8_t *bytes, size_t len) {
    size_t consumed = 0;
    ferrotls_result r = ferrotls_conn_feed(conn, bytes, len, &consumed);
    if (r == FERROTLS_OK || r == FERROTLS_WANT_READ)
        r = ferrotls_conn_handshake(conn);
    return r;
}

/* The connection's reason is `want`. */
#define EXPECT_REASON(conn, want, what)                                                            \
    do {                                                                                           \
        const char *cr_ = str_or(ferrotls_conn_error_reason(conn));                                \
        CHECK(strcmp(cr_, (want)) == 0, "%s: conn_error_reason \"%s\", want \"%s\" (detail: %s)",  \
              (what), cr_, (want), ferrotls_conn_error_detail(conn));                              \
    } while (0)

static void test_error_reasons(void) {
    section = "error reasons";
    ferrotls_config *scfg = server_config(0, NULL);
    ferrotls_config *ccfg = client_config("ca.pem", 0, NULL, NULL, 0);
    ferrotls_conn *c = NULL, *s = NULL;

    /* plaintext HTTP to a TLS server */
    EXPECT_CODE(ferrotls_conn_new_server(scfg, &s), FERROTLS_OK, "new_server");
    EXPECT_REASON(s, "", "fresh server");
    static const char get[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    reset_detail();
    ferrotls_result r = feed_and_handshake(s, (const uint8_t *)get, sizeof get - 1);
    EXPECT_CODE(r, FERROTLS_ERR_DECODE, "server fed plaintext HTTP");
    const char *lr = ferrotls_last_error_reason();
    CHECK(strcmp(str_or(lr), "NOT_TLS") == 0, "last_error_reason \"%s\", want NOT_TLS (detail: %s)", str_or(lr),
          ferrotls_last_error_detail());
    CHECK(contains_ci(ferrotls_last_error_detail(), "HTTP"), "detail \"%s\" does not mention HTTP",
          ferrotls_last_error_detail());
    EXPECT_REASON(s, "NOT_TLS", "server fed plaintext HTTP");
    /* static: the same pointer each time, and still valid after later calls */
    CHECK(ferrotls_conn_error_reason(s) == ferrotls_conn_error_reason(s), "conn_error_reason is not static");
    CHECK(ferrotls_last_error_reason() == lr, "last_error_reason is not static");
    /* sticky: a later call fails the same way with the same reason */
    EXPECT_CODE(ferrotls_conn_handshake(s), FERROTLS_ERR_DECODE, "server handshake again");
    CHECK(strcmp(str_or(ferrotls_last_error_reason()), "NOT_TLS") == 0, "last_error_reason after the sticky call");
    /* a failure without a reason replaces the thread's reason, not the connection's */
    reset_detail();
    CHECK(strcmp(str_or(ferrotls_last_error_reason()), "") == 0, "last_error_reason \"%s\" after a usage error",
          str_or(ferrotls_last_error_reason()));
    EXPECT_REASON(s, "NOT_TLS", "server after a usage error elsewhere");
    CHECK(strcmp(lr, "NOT_TLS") == 0, "the old reason pointer changed to \"%s\"", lr);
    ferrotls_conn_free(s);
    s = NULL;

    /* a server answering in plaintext HTTP to a client */
    EXPECT_CODE(ferrotls_conn_new_client(ccfg, "localhost", &c), FERROTLS_OK, "new_client");
    EXPECT_CODE(ferrotls_conn_handshake(c), FERROTLS_WANT_READ, "client hello");
    static const char resp[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    EXPECT_CODE(feed_and_handshake(c, (const uint8_t *)resp, sizeof resp - 1), FERROTLS_ERR_DECODE,
                "client fed plaintext HTTP");
    EXPECT_REASON(c, "NOT_TLS", "client fed plaintext HTTP");
    ferrotls_conn_free(c);
    c = NULL;

    /* a record of a content type that does not exist */
    EXPECT_CODE(ferrotls_conn_new_client(ccfg, "localhost", &c), FERROTLS_OK, "new_client");
    EXPECT_CODE(ferrotls_conn_handshake(c), FERROTLS_WANT_READ, "client hello");
    static const uint8_t unknown_type[] = {0x63, 0x03, 0x03, 0x00, 0x01, 0x00};
    EXPECT_CODE(feed_and_handshake(c, unknown_type, sizeof unknown_type), FERROTLS_ERR_UNEXPECTED_MESSAGE,
                "client fed a record of type 99");
    EXPECT_REASON(c, "UNKNOWN_CONTENT_TYPE", "client fed a record of type 99");
    CHECK(strcmp(str_or(ferrotls_last_error_reason()), "UNKNOWN_CONTENT_TYPE") == 0, "last_error_reason \"%s\"",
          str_or(ferrotls_last_error_reason()));
    ferrotls_conn_free(c);
    c = NULL;

    /* between two connections: a record altered in transit fails authentication on the server;
     * the client then receives bad_record_mac, an alert, which has no reason */
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    if (CHECK(handshake(p), "handshake: %s / %s", ferrotls_conn_error_detail(p->c),
              ferrotls_conn_error_detail(p->s))) {
        size_t acc = 0, n = 0, consumed = 0;
        EXPECT_CODE(ferrotls_conn_write(p->c, (const uint8_t *)"secret", 6, &acc), FERROTLS_OK, "client write");
        uint8_t rec[256];
        EXPECT_CODE(ferrotls_conn_take_outgoing(p->c, rec, sizeof rec, &n), FERROTLS_OK, "take_outgoing");
        if (CHECK(n > 5, "client record of %zu bytes", n)) {
            rec[n - 1] ^= 0x01; /* a bit of the AEAD tag */
            r = ferrotls_conn_feed(p->s, rec, n, &consumed);
            if (r == FERROTLS_OK || r == FERROTLS_WANT_READ) {
                uint8_t buf[64];
                r = ferrotls_conn_read(p->s, buf, sizeof buf, &n);
            }
            EXPECT_CODE(r, FERROTLS_ERR_BAD_RECORD_MAC, "server reading the altered record");
            CHECK(strcmp(str_or(ferrotls_last_error_reason()), "RECORD_AUTHENTICATION_FAILED") == 0,
                  "last_error_reason \"%s\"", str_or(ferrotls_last_error_reason()));
            EXPECT_REASON(p->s, "RECORD_AUTHENTICATION_FAILED", "server after the altered record");
            pump(p);
            uint8_t buf[64];
            r = ferrotls_conn_read(p->c, buf, sizeof buf, &n);
            EXPECT_CODE(r, FERROTLS_ERR_ALERT_BASE + 20, "client after the server's bad_record_mac");
            EXPECT_REASON(p->c, "", "client after receiving bad_record_mac");
        }
    }
    pair_free(p);
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
}

/* ---- seams: the verify callback and the ALPN select callback ----------------------------- */

struct verify_seen {
    unsigned calls, bad_args;
    ferrotls_result answer; /* FERROTLS_OK accepts; anything else is returned as is */
    ferrotls_result builtin;
    char detail[512];
};

static ferrotls_result verify_cb(void *userdata, const uint8_t *const *certs, const size_t *cert_lens, size_t n,
                                 const char *server_name, ferrotls_result builtin_result,
                                 const char *builtin_detail) {
    struct verify_seen *v = userdata;
    v->calls++;
    if (n < 1 || certs == NULL || cert_lens == NULL || certs[0] == NULL || cert_lens[0] < 100 ||
        certs[0][0] != 0x30 || server_name == NULL || strcmp(server_name, "localhost") != 0 ||
        builtin_detail == NULL)
        v->bad_args++;
    v->builtin = builtin_result;
    snprintf(v->detail, sizeof v->detail, "%s", builtin_detail != NULL ? builtin_detail : "");
    return v->answer;
}

static ferrotls_config *client_with_verify_cb(const char *ca, struct verify_seen *v) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "client builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of(ca)), FERROTLS_OK, "client add_roots_file");
    EXPECT_CODE(ferrotls_config_builder_set_verify_callback(b, verify_cb, v), FERROTLS_OK, "set_verify_callback");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "client build");
    ferrotls_config_builder_free(b);
    return cfg;
}

static int32_t alpn_second(void *userdata, const uint8_t *wire, size_t len, const uint8_t **out, size_t *out_len) {
    unsigned *calls = userdata;
    (*calls)++;
    /* the second protocol of the list */
    if (len < 1 || (size_t)wire[0] + 1 >= len)
        return FERROTLS_ALPN_REFUSE;
    const uint8_t *second = wire + 1 + wire[0];
    *out = second + 1;
    *out_len = second[0];
    return FERROTLS_ALPN_SELECT;
}

static int32_t alpn_refuse(void *userdata, const uint8_t *wire, size_t len, const uint8_t **out, size_t *out_len) {
    (void)userdata, (void)wire, (void)len, (void)out, (void)out_len;
    return FERROTLS_ALPN_REFUSE;
}

static ferrotls_config *server_with_alpn_cb(ferrotls_alpn_select_cb cb, void *userdata) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "server builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("server.pem"), path_of("server.key")),
                FERROTLS_OK, "server add_cert_key_file");
    EXPECT_CODE(ferrotls_config_builder_set_alpn_select_callback(b, cb, userdata), FERROTLS_OK,
                "set_alpn_select_callback");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "server build");
    ferrotls_config_builder_free(b);
    return cfg;
}

static void test_callbacks(void) {
    section = "verify and ALPN callbacks";
    ferrotls_config_builder *b = NULL;
    struct verify_seen v = {0};
    unsigned alpn_calls = 0;

    /* NULL arguments and the role check */
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "builder_new");
    NULL_ARG(ferrotls_config_builder_set_verify_callback(NULL, verify_cb, &v), "builder");
    NULL_ARG(ferrotls_config_builder_set_verify_callback(b, NULL, &v), "cb");
    NULL_ARG(ferrotls_config_builder_set_alpn_select_callback(NULL, alpn_second, NULL), "builder");
    NULL_ARG(ferrotls_config_builder_set_alpn_select_callback(b, NULL, NULL), "cb");
    EXPECT_CODE(ferrotls_config_builder_set_alpn_select_callback(b, alpn_second, NULL), FERROTLS_ERR_WRONG_ROLE,
                "client set_alpn_select_callback");
    ferrotls_config_builder_free(b);

    /* the callback accepts a server from a CA the client does not trust */
    ferrotls_config *scfg = server_config(0, NULL);
    v.answer = FERROTLS_OK;
    ferrotls_config *ccfg = client_with_verify_cb("other-ca.pem", &v);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    if (CHECK(handshake(p), "handshake with an accepting verify callback: client %s (%s), server %s (%s)",
              ferrotls_result_name(p->rc), ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs),
              ferrotls_conn_error_detail(p->s)))
        CHECK(transfer(p, p->c, p->s, (const uint8_t *)"cb", 2), "data after the verify callback accepted");
    CHECK(v.calls == 1 && v.bad_args == 0, "verify callback: %u calls, %u with bad arguments", v.calls, v.bad_args);
    EXPECT_CODE(v.builtin, FERROTLS_ERR_CERT_UNKNOWN_ISSUER, "builtin_result given to the verify callback");
    CHECK(contains_ci(v.detail, "certificate"), "builtin_detail \"%s\"", v.detail);
    pair_free(p);
    ferrotls_config_free(ccfg);

    /* the callback refuses a chain the built-in check accepts */
    memset(&v, 0, sizeof v);
    v.answer = FERROTLS_ERR_CERT_OTHER;
    ccfg = client_with_verify_cb("ca.pem", &v);
    p = pair_new(ccfg, scfg, "localhost");
    CHECK(!handshake(p), "handshake with a refusing verify callback succeeded");
    EXPECT_CODE(v.builtin, FERROTLS_OK, "builtin_result given to the verify callback");
    EXPECT_CODE(ferrotls_conn_error(p->c), FERROTLS_ERR_CERT_OTHER, "client error after the callback refused");
    CHECK(contains_ci(ferrotls_conn_error_detail(p->c), "verify callback refused"), "client detail \"%s\"",
          ferrotls_conn_error_detail(p->c));
    EXPECT_CODE(ferrotls_conn_error(p->s), FERROTLS_ERR_ALERT_BASE + 42, "server error (bad_certificate received)");
    pair_free(p);
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);

    /* the ALPN callback chooses the client's second offer */
    static const uint8_t offer[] = "\x02h2\x08http/1.1";
    scfg = server_with_alpn_cb(alpn_second, &alpn_calls);
    ccfg = client_config("ca.pem", 0, NULL, offer, sizeof offer - 1);
    p = pair_new(ccfg, scfg, "localhost");
    if (CHECK(handshake(p), "handshake with the ALPN callback: client %s (%s), server %s (%s)",
              ferrotls_result_name(p->rc), ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs),
              ferrotls_conn_error_detail(p->s))) {
        const uint8_t *proto = NULL;
        size_t plen = 0;
        EXPECT_CODE(ferrotls_conn_alpn(p->c, &proto, &plen), FERROTLS_OK, "client conn_alpn");
        CHECK(plen == 8 && proto != NULL && memcmp(proto, "http/1.1", 8) == 0, "client ALPN %.*s", (int)plen,
              proto != NULL ? (const char *)proto : "");
    }
    CHECK(alpn_calls == 1, "ALPN callback called %u times", alpn_calls);
    pair_free(p);
    ferrotls_config_free(scfg);

    /* ... and refuses */
    scfg = server_with_alpn_cb(alpn_refuse, NULL);
    p = pair_new(ccfg, scfg, "localhost");
    CHECK(!handshake(p), "handshake with a refusing ALPN callback succeeded");
    EXPECT_CODE(ferrotls_conn_error(p->s), FERROTLS_ERR_NO_ALPN_MATCH, "server error after the ALPN callback refused");
    EXPECT_CODE(ferrotls_conn_error(p->c), FERROTLS_ERR_ALERT_BASE + 120,
                "client error (no_application_protocol received)");
    pair_free(p);
    ferrotls_config_free(scfg);
    ferrotls_config_free(ccfg);
}

static void test_refcount(void) {
    section = "config refcount";
    ferrotls_config *scfg = server_config(0, NULL);
    ferrotls_config *ccfg = client_config("ca.pem", 0, NULL, NULL, 0);
    ferrotls_config *c1 = ferrotls_config_clone(ccfg), *c2 = ferrotls_config_clone(ccfg);
    ferrotls_config *s1 = ferrotls_config_clone(scfg);
    CHECK(c1 != NULL && c2 != NULL && s1 != NULL, "config_clone returned NULL");
    CHECK(c1 != ccfg && c2 != c1, "config_clone returned the same handle");
    CHECK(ferrotls_config_role(c2) == FERROTLS_ROLE_CLIENT && ferrotls_config_role(s1) == FERROTLS_ROLE_SERVER,
          "roles of clones");
    /* free the original first, then use a clone */
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    struct pair *p = pair_new(c2, s1, "localhost");
    ferrotls_config_free(c2);
    ferrotls_config *c3 = ferrotls_config_clone(c1);
    ferrotls_config_free(c1);
    ferrotls_config_free(s1);
    /* only c3 and the connections hold references now */
    CHECK(handshake(p), "handshake on clones: client %s, server %s", ferrotls_result_name(p->rc),
          ferrotls_result_name(p->rs));
    ferrotls_conn *q = NULL;
    EXPECT_CODE(ferrotls_conn_new_client(c3, "localhost", &q), FERROTLS_OK, "new_client from a clone of a clone");
    ferrotls_config_free(c3);
    CHECK(ferrotls_conn_outgoing_len(q) > 0, "connection outliving every config handle");
    ferrotls_conn_free(q);
    pair_free(p);

    /* a builder builds any number of configs and stays valid */
    ferrotls_config_builder *b = NULL;
    ferrotls_config *a = NULL, *a2 = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "add_roots_file");
    EXPECT_CODE(ferrotls_config_builder_build(b, &a), FERROTLS_OK, "build 1");
    EXPECT_CODE(ferrotls_config_builder_build(b, &a2), FERROTLS_OK, "build 2");
    CHECK(a != NULL && a2 != NULL && a != a2, "two builds");
    ferrotls_config_builder_free(b); /* builder first, configs live on */
    CHECK(ferrotls_config_role(a) == FERROTLS_ROLE_CLIENT, "config after its builder was freed");
    ferrotls_config_free(a2);
    ferrotls_config_free(a);
}

/* ---- session store callbacks (an external cache, e.g. shared memory) --------------------- */

/* A fixed table; this test is single-threaded (a real store must be thread-safe). */
#define STORE_SLOTS 8
struct store {
    struct {
        uint8_t key[256];
        size_t key_len;
        uint8_t *value;
        size_t value_len;
    } slot[STORE_SLOTS];
    unsigned puts, gets, hits, retries, next;
};

static int store_put(void *ud, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len) {
    struct store *st = ud;
    if (key_len > sizeof st->slot[0].key)
        return 0;
    uint8_t *copy = malloc(value_len);
    if (copy == NULL)
        return 0;
    memcpy(copy, value, value_len);
    st->puts++;
    unsigned i = st->next++ % STORE_SLOTS;
    for (unsigned j = 0; j < STORE_SLOTS; j++)
        if (st->slot[j].key_len == key_len && memcmp(st->slot[j].key, key, key_len) == 0)
            i = j;
    free(st->slot[i].value);
    memcpy(st->slot[i].key, key, key_len);
    st->slot[i].key_len = key_len;
    st->slot[i].value = copy;
    st->slot[i].value_len = value_len;
    return 1;
}

/* Deliberately answers "too small" first when cap is under 8 KiB: the engine must retry. */
static size_t store_get(void *ud, const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap) {
    struct store *st = ud;
    size_t n = 0;
    st->gets++;
    for (unsigned j = 0; j < STORE_SLOTS; j++) {
        if (st->slot[j].value != NULL && st->slot[j].key_len == key_len &&
            memcmp(st->slot[j].key, key, key_len) == 0) {
            n = st->slot[j].value_len;
            if (cap < 8192 && n < 8192) {
                st->retries++;
                n = 8192; /* claim more than fits, so the engine offers a bigger buffer */
            } else if (n <= cap) {
                memcpy(buf, st->slot[j].value, n);
                st->hits++;
            }
            break;
        }
    }
    return n;
}

static void store_clear(struct store *st) {
    for (unsigned j = 0; j < STORE_SLOTS; j++)
        free(st->slot[j].value);
}

static ferrotls_config *store_config(uint32_t role, struct store *st, uint16_t max_version) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(role, &b), FERROTLS_OK, "store builder_new");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0303, max_version), FERROTLS_OK, "store set_versions");
    if (role == FERROTLS_ROLE_SERVER) {
        size_t clen, klen;
        uint8_t *chain = slurp("server.pem", &clen), *key = slurp("server.key", &klen);
        EXPECT_CODE(ferrotls_config_builder_add_cert_key_pem(b, chain, clen, key, klen), FERROTLS_OK,
                    "store add_cert_key_pem");
        EXPECT_CODE(ferrotls_config_builder_set_ticket_lifetime(b, 0), FERROTLS_OK, "session IDs only");
        free(chain);
        free(key);
    } else {
        EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "store roots");
    }
    if (st != NULL)
        EXPECT_CODE(ferrotls_config_builder_set_session_store(b, store_put, store_get, st), FERROTLS_OK,
                    "set_session_store");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "store build");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* One connection; returns its handshake kind on both sides (0 when it failed). */
static uint32_t store_connect(const ferrotls_config *ccfg, const ferrotls_config *scfg, uint32_t *server_kind) {
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    uint32_t kind = 0;
    *server_kind = 0;
    if (CHECK(handshake(p), "store handshake: client %s (%s), server %s (%s)", ferrotls_result_name(p->rc),
              ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs), ferrotls_conn_error_detail(p->s))) {
        /* TLS 1.3 tickets arrive after the handshake. */
        transfer(p, p->s, p->c, (const uint8_t *)"ping", 4);
        kind = ferrotls_conn_handshake_kind(p->c);
        *server_kind = ferrotls_conn_handshake_kind(p->s);
    }
    pair_free(p);
    return kind;
}

static void test_session_store(void) {
    section = "session store";
    struct store st;
    memset(&st, 0, sizeof st);
    uint32_t sk = 0;

    /* NULL builder, NULL callbacks. */
    ferrotls_config_builder *b = NULL;
    NULL_ARG(ferrotls_config_builder_set_session_store(NULL, store_put, store_get, &st), "builder");
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "builder_new");
    NULL_ARG(ferrotls_config_builder_set_session_store(b, NULL, store_get, &st), "put");
    NULL_ARG(ferrotls_config_builder_set_session_store(b, store_put, NULL, &st), "get");
    ferrotls_config_builder_free(b);

    /* Server side: TLS 1.2 sessions by session ID in the C store. */
    ferrotls_config *scfg = store_config(FERROTLS_ROLE_SERVER, &st, 0x0303);
    ferrotls_config *ccfg = store_config(FERROTLS_ROLE_CLIENT, NULL, 0x0304);
    uint32_t k1 = store_connect(ccfg, scfg, &sk);
    CHECK(k1 == FERROTLS_HANDSHAKE_FULL && sk == FERROTLS_HANDSHAKE_FULL, "first: full (%u, %u)", k1, sk);
    CHECK(st.puts == 1 && st.slot[0].key_len == 32, "server store: one session under a 32-byte ID (%u puts)",
          st.puts);
    uint32_t k2 = store_connect(ccfg, scfg, &sk);
    CHECK(k2 == FERROTLS_HANDSHAKE_RESUMED && sk == FERROTLS_HANDSHAKE_RESUMED,
          "second: resumed from the C store (%u, %u)", k2, sk);
    CHECK(st.hits == 1 && st.retries >= 1, "server store: %u hits, %u retries with a bigger buffer", st.hits,
          st.retries);
    ferrotls_config_free(scfg);
    ferrotls_config_free(ccfg);
    store_clear(&st);

    /* Client side: session blobs by server name, shared by two client configurations. */
    memset(&st, 0, sizeof st);
    scfg = store_config(FERROTLS_ROLE_SERVER, NULL, 0x0303);
    ferrotls_config *c1 = store_config(FERROTLS_ROLE_CLIENT, &st, 0x0304);
    ferrotls_config *c2 = store_config(FERROTLS_ROLE_CLIENT, &st, 0x0304);
    k1 = store_connect(c1, scfg, &sk);
    CHECK(k1 == FERROTLS_HANDSHAKE_FULL, "client store: first full (%u)", k1);
    CHECK(st.puts >= 1 && st.slot[0].key_len == 9 && memcmp(st.slot[0].key, "localhost", 9) == 0,
          "client store: the session is stored under the server name (%u puts)", st.puts);
    k2 = store_connect(c2, scfg, &sk);
    CHECK(k2 == FERROTLS_HANDSHAKE_RESUMED && sk == FERROTLS_HANDSHAKE_RESUMED,
          "client store: another configuration resumed (%u, %u)", k2, sk);
    ferrotls_config_free(scfg);
    ferrotls_config_free(c1);
    ferrotls_config_free(c2);
    store_clear(&st);
}

/* ---- certificate selection callback ------------------------------------------------------ */

struct certsel {
    const ferrotls_certified_key *ec, *rsa; /* server.pem (ECDSA P-256), server-rsa.pem (RSA) */
    const void *bogus;                      /* returned for "bogus.test": not a certified key */
    unsigned calls, no_sni, bad_args, saw_alpn;
};

/* "localhost" -> the ECDSA certificate, no SNI (the client connects to 127.0.0.1, which is
 * never sent as SNI) -> the RSA one; any other name -> NULL (refuse). Both certificates cover
 * DNS:localhost and IP:127.0.0.1, so either verifies for either name: the signature scheme
 * tells which one was chosen. */
static const ferrotls_certified_key *cert_by_sni(void *userdata, const char *server_name, const uint16_t *sig_schemes,
                                                 size_t n_schemes, const uint8_t *alpn_wire, size_t alpn_len) {
    struct certsel *cs = userdata;
    cs->calls++;
    int has_ecdsa = 0;
    for (size_t i = 0; sig_schemes != NULL && i < n_schemes; i++)
        has_ecdsa |= sig_schemes[i] == 0x0403;
    if (sig_schemes == NULL || n_schemes == 0 || !has_ecdsa || (alpn_wire == NULL) != (alpn_len == 0))
        cs->bad_args++;
    if (alpn_wire != NULL && alpn_len == 3 && memcmp(alpn_wire, "\x02h2", 3) == 0)
        cs->saw_alpn++;
    if (server_name == NULL) {
        cs->no_sni++;
        return cs->rsa;
    }
    if (strcmp(server_name, "localhost") == 0)
        return cs->ec;
    if (strcmp(server_name, "bogus.test") == 0)
        return cs->bogus;
    return NULL;
}

static ferrotls_certified_key *load_key(const char *chain_file, const char *key_file) {
    size_t clen, klen;
    uint8_t *chain = slurp(chain_file, &clen), *key = slurp(key_file, &klen);
    ferrotls_certified_key *k = NULL;
    EXPECT_CODE(ferrotls_certified_key_new_pem(chain, clen, key, klen, &k), FERROTLS_OK, "certified_key_new_pem");
    CHECK(k != NULL, "certified_key_new_pem(%s) gave NULL", chain_file);
    free(chain);
    free(key);
    return k;
}

/* One handshake against the cert-callback server; returns 1 when it completed, with the
 * client's signature scheme and version. */
static int cert_connect(const ferrotls_config *ccfg, const ferrotls_config *scfg, const char *name, uint16_t *scheme,
                        uint16_t *version) {
    struct pair *p = pair_new(ccfg, scfg, name);
    int ok = CHECK(handshake(p), "cert callback handshake to %s: client %s (%s), server %s (%s)", name,
                   ferrotls_result_name(p->rc), ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs),
                   ferrotls_conn_error_detail(p->s));
    *scheme = ferrotls_conn_signature_scheme(p->c);
    *version = ferrotls_conn_protocol_version(p->c);
    if (ok)
        ok = transfer(p, p->c, p->s, (const uint8_t *)"sni", 3);
    pair_free(p);
    return ok;
}

static void test_cert_callback(void) {
    section = "certificate callback";
    struct certsel cs;
    memset(&cs, 0, sizeof cs);
    ferrotls_config_builder *b = NULL;
    ferrotls_config *scfg = NULL;
    ferrotls_certified_key *k = NULL;
    size_t clen, klen, ck_len;
    uint8_t *chain = slurp("server.pem", &clen), *key = slurp("server.key", &klen);
    uint8_t *client_key = slurp("client.key", &ck_len);

    /* ferrotls_certified_key_new_pem / _free: NULL arguments, bad PEM, a mismatched key */
    NULL_ARG(ferrotls_certified_key_new_pem(NULL, 10, key, klen, &k), "chain_pem");
    CHECK(k == NULL, "new_pem(NULL chain) left *out set");
    NULL_ARG(ferrotls_certified_key_new_pem(chain, clen, NULL, 10, &k), "key_pem");
    NULL_ARG(ferrotls_certified_key_new_pem(chain, clen, key, klen, NULL), "out");
    EXPECT_CODE(ferrotls_certified_key_new_pem((const uint8_t *)"not pem", 7, key, klen, &k), FERROTLS_ERR_PEM,
                "new_pem(garbage chain)");
    CHECK(k == NULL, "new_pem(garbage) left *out set");
    EXPECT_CODE(ferrotls_certified_key_new_pem(chain, clen, client_key, ck_len, &k), FERROTLS_ERR_KEY,
                "new_pem(mismatched key)");
    CHECK(k == NULL, "new_pem(mismatched key) left *out set");
    ferrotls_certified_key_free(NULL);
    free(chain);
    free(key);
    free(client_key);

    /* ferrotls_config_builder_set_cert_callback: NULL arguments, the role check */
    NULL_ARG(ferrotls_config_builder_set_cert_callback(NULL, cert_by_sni, &cs), "builder");
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "client builder_new");
    NULL_ARG(ferrotls_config_builder_set_cert_callback(b, NULL, &cs), "cb");
    EXPECT_CODE(ferrotls_config_builder_set_cert_callback(b, cert_by_sni, &cs), FERROTLS_ERR_WRONG_ROLE,
                "client set_cert_callback");
    CHECK(ferrotls_last_error_detail()[0] != '\0', "WRONG_ROLE without detail");
    ferrotls_config_builder_free(b);
    b = NULL;

    /* Two certificates; the server has none of its own, only the callback. */
    cs.ec = load_key("server.pem", "server.key");
    cs.rsa = load_key("server-rsa.pem", "server-rsa.key");
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "server builder_new");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0303, 0x0304), FERROTLS_OK, "server set_versions");
    EXPECT_CODE(ferrotls_config_builder_set_cert_callback(b, cert_by_sni, &cs), FERROTLS_OK, "set_cert_callback");
    EXPECT_CODE(ferrotls_config_builder_build(b, &scfg), FERROTLS_OK, "server build without certificates");
    ferrotls_config_builder_free(b);
    cs.bogus = scfg; /* a handle, but not a certified key */

    /* wrong handle types both ways: refused, and both objects still work afterwards */
    reset_detail();
    ferrotls_certified_key_free((ferrotls_certified_key *)(void *)scfg);
    CHECK(strstr(ferrotls_last_error_detail(), "ferrotls_certified_key") != NULL,
          "certified_key_free(config): detail \"%s\"", ferrotls_last_error_detail());
    reset_detail();
    ferrotls_config_free((ferrotls_config *)(void *)cs.ec);
    CHECK(strstr(ferrotls_last_error_detail(), "ferrotls_certified_key") != NULL,
          "config_free(certified key): detail \"%s\"", ferrotls_last_error_detail());
    CHECK(ferrotls_config_role(scfg) == FERROTLS_ROLE_SERVER, "config damaged by certified_key_free");

    static const uint8_t h2[] = "\x02h2";
    ferrotls_config *c13 = client_config("ca.pem", 0, NULL, h2, sizeof h2 - 1);
    ferrotls_config *c12 = store_config(FERROTLS_ROLE_CLIENT, NULL, 0x0303);
    uint16_t scheme = 0, version = 0;

    /* SNI "localhost": the ECDSA certificate (TLS 1.3 and TLS 1.2) */
    if (cert_connect(c13, scfg, "localhost", &scheme, &version))
        CHECK(scheme == 0x0403 && version == 0x0304, "localhost, TLS 1.3: scheme %#06x version %#06x, want ECDSA",
              scheme, version);
    CHECK(cs.calls == 1 && cs.saw_alpn == 1, "cert callback: %u calls, saw the ALPN offer %u times", cs.calls,
          cs.saw_alpn);
    if (cert_connect(c12, scfg, "localhost", &scheme, &version))
        CHECK(scheme == 0x0403 && version == 0x0303, "localhost, TLS 1.2: scheme %#06x version %#06x, want ECDSA",
              scheme, version);
    /* no SNI (an IP address): the RSA certificate */
    if (cert_connect(c13, scfg, "127.0.0.1", &scheme, &version))
        CHECK(scheme >= 0x0804 && scheme <= 0x0806 && version == 0x0304,
              "no SNI, TLS 1.3: scheme %#06x version %#06x, want RSA-PSS", scheme, version);
    if (cert_connect(c12, scfg, "127.0.0.1", &scheme, &version))
        CHECK(((scheme >= 0x0804 && scheme <= 0x0806) || (scheme & 0xff) == 0x01) && version == 0x0303,
              "no SNI, TLS 1.2: scheme %#06x version %#06x, want RSA", scheme, version);
    CHECK(cs.no_sni == 2, "cert callback saw no SNI %u times, want 2", cs.no_sni);

    /* NULL (an unknown name) and a pointer that is not a certified key: handshake_failure */
    const char *refused[2] = {"unknown.test", "bogus.test"};
    for (int i = 0; i < 2; i++) {
        struct pair *p = pair_new(c13, scfg, refused[i]);
        CHECK(!handshake(p), "handshake to %s succeeded without a certificate", refused[i]);
        EXPECT_CODE(ferrotls_conn_error(p->s), FERROTLS_ERR_HANDSHAKE_FAILURE, "server error without a certificate");
        CHECK(contains_ci(ferrotls_conn_error_detail(p->s), "certificate"), "server detail \"%s\"",
              ferrotls_conn_error_detail(p->s));
        EXPECT_CODE(ferrotls_conn_error(p->c), FERROTLS_ERR_ALERT_BASE + 40, "client error (handshake_failure received)");
        uint8_t desc = 0;
        bool ours = true;
        EXPECT_CODE(ferrotls_conn_last_alert(p->c, &desc, &ours), FERROTLS_OK, "client last_alert");
        CHECK(desc == 40 && !ours, "client last_alert %u sent_by_us %d, want 40 / false", desc, ours);
        pair_free(p);
    }
    CHECK(cs.bad_args == 0, "cert callback: %u calls with bad arguments", cs.bad_args);

    ferrotls_config_free(c13);
    ferrotls_config_free(c12);
    ferrotls_config_free(scfg);
    /* The keys go last: the callback of a live config may return them. */
    ferrotls_certified_key_free((ferrotls_certified_key *)cs.ec);
    ferrotls_certified_key_free((ferrotls_certified_key *)cs.rsa);
}

/* ---- ticket seal / open callbacks -------------------------------------------------------- */

/* TEST-ONLY stand-in for a ticket sealer: a magic tag, then the plaintext XORed with a fixed
 * pad. This is NOT cryptography -- it gives neither secrecy nor integrity, and anyone can
 * read and forge such tickets. A real sealer must encrypt and authenticate (an AEAD under a
 * key it owns and rotates). It exists only to see the callbacks' plumbing work. */
static const uint8_t TOY_MAGIC[4] = {'T', 'O', 'Y', '!'};

struct toy_sealer {
    unsigned seals, opens, opened, refused, bad_open_cap;
    int refuse;       /* open_cb answers 0 ("cannot open") */
    size_t min_room;  /* smallest cap - len the engine gave seal_cb */
};

static uint8_t toy_pad(size_t i) { return (uint8_t)(0x5A ^ (i * 31u)); }

static size_t toy_seal(void *userdata, const uint8_t *plain, size_t len, uint8_t *out, size_t cap) {
    struct toy_sealer *t = userdata;
    t->seals++;
    size_t room = cap >= len ? cap - len : 0;
    if (room < t->min_room)
        t->min_room = room;
    if (cap < len || cap - len < sizeof TOY_MAGIC)
        return 0;
    memcpy(out, TOY_MAGIC, sizeof TOY_MAGIC);
    for (size_t i = 0; i < len; i++)
        out[sizeof TOY_MAGIC + i] = plain[i] ^ toy_pad(i);
    return len + sizeof TOY_MAGIC;
}

static size_t toy_open(void *userdata, const uint8_t *ticket, size_t len, uint8_t *out, size_t cap) {
    struct toy_sealer *t = userdata;
    t->opens++;
    if (cap != len)
        t->bad_open_cap++;
    if (t->refuse) {
        t->refused++;
        return 0;
    }
    if (len <= sizeof TOY_MAGIC || memcmp(ticket, TOY_MAGIC, sizeof TOY_MAGIC) != 0 || len - sizeof TOY_MAGIC > cap)
        return 0;
    size_t n = len - sizeof TOY_MAGIC;
    for (size_t i = 0; i < n; i++)
        out[i] = ticket[sizeof TOY_MAGIC + i] ^ toy_pad(i);
    t->opened++;
    return n;
}

static ferrotls_config *ticket_server(struct toy_sealer *t, uint16_t max_version) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    size_t clen, klen;
    uint8_t *chain = slurp("server.pem", &clen), *key = slurp("server.key", &klen);
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "ticket builder_new");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0303, max_version), FERROTLS_OK, "ticket set_versions");
    EXPECT_CODE(ferrotls_config_builder_add_cert_key_pem(b, chain, clen, key, klen), FERROTLS_OK,
                "ticket add_cert_key_pem");
    /* no session-ID cache: only a ticket can resume */
    EXPECT_CODE(ferrotls_config_builder_set_session_cache(b, 0), FERROTLS_OK, "ticket set_session_cache(0)");
    EXPECT_CODE(ferrotls_config_builder_set_ticket_callbacks(b, toy_seal, toy_open, 3600, t), FERROTLS_OK,
                "set_ticket_callbacks");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "ticket build");
    ferrotls_config_builder_free(b);
    free(chain);
    free(key);
    return cfg;
}

static void test_ticket_callbacks(void) {
    section = "ticket callbacks";
    struct toy_sealer t;
    ferrotls_config_builder *b = NULL;

    /* NULL arguments, the role check, the lifetime's bounds */
    NULL_ARG(ferrotls_config_builder_set_ticket_callbacks(NULL, toy_seal, toy_open, 3600, &t), "builder");
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "server builder_new");
    NULL_ARG(ferrotls_config_builder_set_ticket_callbacks(b, NULL, toy_open, 3600, &t), "seal_cb");
    NULL_ARG(ferrotls_config_builder_set_ticket_callbacks(b, toy_seal, NULL, 3600, &t), "open_cb");
    EXPECT_CODE(ferrotls_config_builder_set_ticket_callbacks(b, toy_seal, toy_open, 0, &t),
                FERROTLS_ERR_INVALID_ARGUMENT, "set_ticket_callbacks(lifetime 0)");
    CHECK(detail_names("lifetime_secs"), "lifetime 0: detail \"%s\"", ferrotls_last_error_detail());
    EXPECT_CODE(ferrotls_config_builder_set_ticket_callbacks(b, toy_seal, toy_open, 604801, &t),
                FERROTLS_ERR_INVALID_ARGUMENT, "set_ticket_callbacks(lifetime over 7 days)");
    ferrotls_config_builder_free(b);
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "client builder_new");
    EXPECT_CODE(ferrotls_config_builder_set_ticket_callbacks(b, toy_seal, toy_open, 3600, &t),
                FERROTLS_ERR_WRONG_ROLE, "client set_ticket_callbacks");
    CHECK(ferrotls_last_error_detail()[0] != '\0', "WRONG_ROLE without detail");
    ferrotls_config_builder_free(b);

    /* TLS 1.3, then TLS 1.2: full, resumed through the callbacks, and full again when
     * open_cb cannot open the ticket. */
    const uint16_t versions[2] = {0x0304, 0x0303};
    for (int v = 0; v < 2; v++) {
        memset(&t, 0, sizeof t);
        t.min_room = (size_t)-1;
        uint32_t sk = 0;
        ferrotls_config *scfg = ticket_server(&t, versions[v]);
        ferrotls_config *ccfg = store_config(FERROTLS_ROLE_CLIENT, NULL, versions[v]);
        uint32_t k1 = store_connect(ccfg, scfg, &sk);
        CHECK(k1 == FERROTLS_HANDSHAKE_FULL && sk == FERROTLS_HANDSHAKE_FULL, "%#06x first: full (%u, %u)",
              versions[v], k1, sk);
        CHECK(t.seals >= 1 && t.opens == 0, "%#06x first: %u seals, %u opens", versions[v], t.seals, t.opens);
        CHECK(t.min_room == FERROTLS_TICKET_SEAL_OVERHEAD, "%#06x: seal_cb got %zu bytes of room, want %d",
              versions[v], t.min_room, FERROTLS_TICKET_SEAL_OVERHEAD);
        uint32_t k2 = store_connect(ccfg, scfg, &sk);
        CHECK(k2 == FERROTLS_HANDSHAKE_RESUMED && sk == FERROTLS_HANDSHAKE_RESUMED,
              "%#06x second: resumed through the ticket callbacks (%u, %u)", versions[v], k2, sk);
        CHECK(t.opened == 1, "%#06x second: %u tickets opened", versions[v], t.opened);
        t.refuse = 1;
        uint32_t k3 = store_connect(ccfg, scfg, &sk);
        CHECK(k3 == FERROTLS_HANDSHAKE_FULL && sk == FERROTLS_HANDSHAKE_FULL,
              "%#06x third: open_cb returned 0, so a full handshake (%u, %u)", versions[v], k3, sk);
        CHECK(t.refused >= 1, "%#06x third: open_cb was not asked", versions[v]);
        CHECK(t.bad_open_cap == 0, "%#06x: open_cb got cap != len %u times", versions[v], t.bad_open_cap);
        ferrotls_config_free(ccfg);
        ferrotls_config_free(scfg);
    }
}

/* Per-connection settings over one shared configuration (ALPN, verification, certificate). */
static void test_per_connection(void) {
    section = "per-connection settings";
    static const uint8_t h2[] = "\x02h2";
    ferrotls_config *scfg = server_config(0, "h2,http/1.1");
    ferrotls_config *ccfg = client_config("ca.pem", 0, NULL, h2, sizeof h2 - 1);

    /* NULL arguments, wrong role, wrong handle */
    NULL_ARG(ferrotls_conn_set_alpn_list(NULL, "h2"), "conn");
    NULL_ARG(ferrotls_conn_set_verify(NULL, FERROTLS_VERIFY_SERVER), "conn");
    NULL_ARG(ferrotls_conn_set_certified_key(NULL, NULL), "key");

    /* ALPN: this client offers http/1.1 instead of its configuration's h2 */
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    NULL_ARG(ferrotls_conn_set_alpn_list(p->c, NULL), "csv");
    EXPECT_CODE(ferrotls_conn_set_verify(p->c, FERROTLS_VERIFY_REQUIRE_CLIENT_CERT), FERROTLS_ERR_WRONG_ROLE,
                "client set_verify with a server mode");
    EXPECT_CODE(ferrotls_conn_set_alpn_list(p->c, "http/1.1"), FERROTLS_OK, "conn_set_alpn_list");
    if (CHECK(handshake(p), "handshake with a per-connection ALPN list: %s", ferrotls_conn_error_detail(p->c))) {
        const uint8_t *proto = NULL;
        size_t plen = 0;
        EXPECT_CODE(ferrotls_conn_alpn(p->s, &proto, &plen), FERROTLS_OK, "server conn_alpn");
        CHECK(plen == 8 && memcmp(proto, "http/1.1", 8) == 0, "server ALPN %.*s", (int)plen, (const char *)proto);
    }
    EXPECT_CODE(ferrotls_conn_set_alpn_list(p->c, "h2"), FERROTLS_ERR_WRONG_STATE, "conn_set_alpn_list after the handshake");
    pair_free(p);

    /* the next connection from the same configuration offers h2 */
    p = pair_new(ccfg, scfg, "localhost");
    if (CHECK(handshake(p), "handshake with the configuration's ALPN list")) {
        const uint8_t *proto = NULL;
        size_t plen = 0;
        EXPECT_CODE(ferrotls_conn_alpn(p->c, &proto, &plen), FERROTLS_OK, "client conn_alpn");
        CHECK(plen == 2 && memcmp(proto, "h2", 2) == 0, "client ALPN %.*s", (int)plen, (const char *)proto);
    }
    pair_free(p);

    /* verification: a server configuration without trust anchors cannot require client certs */
    p = pair_new(ccfg, scfg, "localhost");
    EXPECT_CODE(ferrotls_conn_set_verify(p->s, FERROTLS_VERIFY_REQUIRE_CLIENT_CERT), FERROTLS_ERR_WRONG_STATE,
                "server set_verify without trust anchors");
    pair_free(p);
    ferrotls_config *vcfg = server_config(FERROTLS_VERIFY_NO_CLIENT_AUTH, NULL);
    p = pair_new(ccfg, vcfg, "localhost");
    EXPECT_CODE(ferrotls_conn_set_verify(p->s, FERROTLS_VERIFY_REQUIRE_CLIENT_CERT), FERROTLS_OK, "server set_verify");
    CHECK(!handshake(p), "a client without a certificate passed a server that requires one");
    EXPECT_CODE(ferrotls_conn_error(p->s), FERROTLS_ERR_CERTIFICATE_REQUIRED, "server error without a client certificate");
    pair_free(p);
    ferrotls_config_free(vcfg);

    /* certificate: this server presents the RSA certificate instead of its configuration's ECDSA one */
    size_t clen, klen;
    uint8_t *chain = slurp("server-rsa.pem", &clen), *key = slurp("server-rsa.key", &klen);
    ferrotls_certified_key *rsa = NULL;
    EXPECT_CODE(ferrotls_certified_key_new_pem(chain, clen, key, klen, &rsa), FERROTLS_OK, "certified_key_new_pem");
    free(chain);
    free(key);
    p = pair_new(ccfg, scfg, "localhost");
    EXPECT_CODE(ferrotls_conn_set_certified_key(p->s, rsa), FERROTLS_OK, "conn_set_certified_key");
    ferrotls_certified_key_free(rsa); /* the connection holds its own reference */
    if (CHECK(handshake(p), "handshake with a per-connection certificate: %s", ferrotls_conn_error_detail(p->c)))
        CHECK(ferrotls_conn_signature_scheme(p->c) == 0x0804, "signature scheme 0x%04x, expected rsa_pss_rsae_sha256",
              ferrotls_conn_signature_scheme(p->c));
    pair_free(p);
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
}

/* ---- Handshake Again: TLS 1.3 post-handshake authentication ----------------------------- */

/* Server: the demo certificate, the demo CA for client certificates, `verify` (0: the
 * default, no client authentication), post-handshake authentication `pha`, versions up to
 * `max_version` (0x0304 or 0x0303). */
static ferrotls_config *pha_server_config(uint32_t verify, bool pha, uint16_t max_version) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "pha server builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("server.pem"), path_of("server.key")),
                FERROTLS_OK, "pha server add_cert_key_file");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "pha server roots");
    if (verify != 0)
        EXPECT_CODE(ferrotls_config_builder_set_verify(b, verify), FERROTLS_OK, "pha server set_verify");
    EXPECT_CODE(ferrotls_config_builder_set_post_handshake_auth(b, pha), FERROTLS_OK,
                "server set_post_handshake_auth");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0303, max_version), FERROTLS_OK, "pha server versions");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "pha server build");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* Client: the demo CA, the demo client certificate if `with_cert`, offering post-handshake
 * authentication if `pha`; TLS 1.2 and 1.3. */
static ferrotls_config *pha_client_config(int with_cert, bool pha) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "pha client builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "pha client roots");
    if (with_cert)
        EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("client.pem"), path_of("client.key")),
                    FERROTLS_OK, "pha client add_cert_key_file");
    EXPECT_CODE(ferrotls_config_builder_set_post_handshake_auth(b, pha), FERROTLS_OK,
                "client set_post_handshake_auth");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "pha client build");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* Writes all of `text` on `c` (the engine takes it at once: it is small). */
static void write_str(ferrotls_conn *c, const char *text, const char *what) {
    size_t acc = 0;
    EXPECT_CODE(ferrotls_conn_write(c, (const uint8_t *)text, strlen(text), &acc), FERROTLS_OK, what);
    CHECK(acc == strlen(text), "%s: %zu of %zu bytes accepted", what, acc, strlen(text));
}

/* One read of at most cap-1 bytes into buf, NUL-terminated. */
static ferrotls_result read_str(ferrotls_conn *c, char *buf, size_t cap, size_t *n) {
    *n = 0;
    ferrotls_result r = ferrotls_conn_read(c, (uint8_t *)buf, cap - 1, n);
    buf[*n < cap ? *n : cap - 1] = '\0';
    return r;
}

static int server_has_client_cert(ferrotls_conn *s) {
    const char *subj = ferrotls_conn_peer_cert_subject(s);
    return ferrotls_conn_peer_cert_count(s) >= 1 && subj != NULL && strstr(subj, "CN=demo-client") != NULL;
}

/* A request the protocol does not allow: `want`, a detail containing `needle`, and the
 * connection as usable as before (no sticky error, data flows). */
static void refused_request(struct pair *p, ferrotls_conn *asker, ferrotls_result want, const char *needle,
                            const char *what) {
    reset_detail();
    EXPECT_CODE(ferrotls_conn_request_client_certificate(asker), want, what);
    CHECK(contains_ci(ferrotls_last_error_detail(), needle), "%s: detail \"%s\" lacks \"%s\"", what,
          ferrotls_last_error_detail(), needle);
    CHECK(ferrotls_conn_error(asker) == FERROTLS_OK, "%s: the refusal left a sticky error %s", what,
          ferrotls_result_name(ferrotls_conn_error(asker)));
    if (p != NULL && ferrotls_conn_handshake(p->c) == FERROTLS_OK && ferrotls_conn_handshake(p->s) == FERROTLS_OK) {
        CHECK(transfer(p, p->c, p->s, (const uint8_t *)"still usable", 12), "%s: client -> server after it", what);
        CHECK(transfer(p, p->s, p->c, (const uint8_t *)"still usable", 12), "%s: server -> client after it", what);
    }
}

static void test_post_handshake_auth_usage(void) {
    section = "Handshake Again: refused requests";
    ferrotls_config *ccfg = pha_client_config(1, true);
    ferrotls_config *scfg = pha_server_config(FERROTLS_VERIFY_REQUIRE_CLIENT_CERT, true, 0x0304);

    /* Before the handshake, and on the client. */
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    refused_request(NULL, p->s, FERROTLS_ERR_WRONG_STATE, "after its handshake", "server request before the handshake");
    if (CHECK(handshake(p), "handshake after an early request: %s", ferrotls_conn_error_detail(p->s))) {
        CHECK(ferrotls_conn_peer_cert_count(p->s) == 0, "a post-handshake server asked in the handshake");
        refused_request(p, p->c, FERROTLS_ERR_WRONG_ROLE, "server connections", "request on a client connection");
        /* Renegotiation is TLS 1.2's, on either side: both refusals leave the pair usable. */
        reset_detail();
        EXPECT_CODE(ferrotls_conn_renegotiate(p->c), FERROTLS_ERR_WRONG_STATE, "renegotiate in TLS 1.3");
        CHECK(contains_ci(ferrotls_last_error_detail(), "TLS 1.3"), "renegotiate detail: %s",
              ferrotls_last_error_detail());
        reset_detail();
        EXPECT_CODE(ferrotls_conn_renegotiate(p->s), FERROTLS_ERR_WRONG_STATE, "renegotiate on a TLS 1.3 server");
        CHECK(contains_ci(ferrotls_last_error_detail(), "TLS 1.3"), "server renegotiate detail: %s",
              ferrotls_last_error_detail());
        CHECK(ferrotls_conn_error(p->c) == FERROTLS_OK && ferrotls_conn_error(p->s) == FERROTLS_OK,
              "a refused renegotiation left a sticky error");
        CHECK(transfer(p, p->c, p->s, (const uint8_t *)"after", 5), "client -> server after the refusals");
    }
    pair_free(p);

    /* The client did not offer post_handshake_auth. */
    ferrotls_config *no_pha = pha_client_config(1, false);
    p = pair_new(no_pha, scfg, "localhost");
    if (CHECK(handshake(p), "handshake, client without post_handshake_auth"))
        refused_request(p, p->s, FERROTLS_ERR_WRONG_STATE, "post_handshake_auth", "client did not offer it");
    pair_free(p);
    ferrotls_config_free(no_pha);

    /* The server's configuration lacks it (and so asked in the handshake). */
    ferrotls_config *plain = pha_server_config(FERROTLS_VERIFY_REQUEST_CLIENT_CERT, false, 0x0304);
    p = pair_new(ccfg, plain, "localhost");
    if (CHECK(handshake(p), "handshake, server without post_handshake_auth")) {
        CHECK(server_has_client_cert(p->s), "a server without post_handshake_auth did not ask in the handshake");
        refused_request(p, p->s, FERROTLS_ERR_WRONG_STATE, "set_post_handshake_auth", "server not configured");
    }
    pair_free(p);
    ferrotls_config_free(plain);

    /* A verification mode that accepts no certificate. */
    ferrotls_config *noauth = pha_server_config(FERROTLS_VERIFY_NO_CLIENT_AUTH, true, 0x0304);
    p = pair_new(ccfg, noauth, "localhost");
    if (CHECK(handshake(p), "handshake, server with NO_CLIENT_AUTH"))
        refused_request(p, p->s, FERROTLS_ERR_WRONG_STATE, "verification mode", "server with NO_CLIENT_AUTH");
    pair_free(p);
    ferrotls_config_free(noauth);

    /* TLS 1.2 without post_handshake_auth on the server: it asked in the handshake, and may
     * still ask again (a renegotiation): that is test_renegotiation's. */
    ferrotls_config *tls12 = pha_server_config(FERROTLS_VERIFY_REQUEST_CLIENT_CERT, false, 0x0303);
    p = pair_new(ccfg, tls12, "localhost");
    if (CHECK(handshake(p), "TLS 1.2 handshake: %s", ferrotls_conn_error_detail(p->s))) {
        CHECK(ferrotls_conn_protocol_version(p->s) == 0x0303, "TLS 1.2 server negotiated %#x",
              (unsigned)ferrotls_conn_protocol_version(p->s));
        CHECK(server_has_client_cert(p->s),
              "a TLS 1.2 server without post_handshake_auth did not ask in the handshake");
    }
    pair_free(p);
    ferrotls_config_free(tls12);

    /* Required, and the client has no certificate: the answer is the connection's fatal error. */
    ferrotls_config *nocert = pha_client_config(0, true);
    p = pair_new(nocert, scfg, "localhost");
    if (CHECK(handshake(p), "handshake, client without a certificate")) {
        EXPECT_CODE(ferrotls_conn_request_client_certificate(p->s), FERROTLS_OK, "request (client has none)");
        pump(p);
        EXPECT_CODE(ferrotls_conn_error(p->s), FERROTLS_ERR_CERTIFICATE_REQUIRED, "server error after an empty answer");
        CHECK(ferrotls_conn_error(p->c) == FERROTLS_ERR_ALERT_BASE + 116, "client error %s (%s), want alert 116",
              ferrotls_result_name(ferrotls_conn_error(p->c)), ferrotls_conn_error_detail(p->c));
        CHECK(ferrotls_conn_peer_cert_count(p->s) == 0, "a refused answer gave the server a peer certificate");
        EXPECT_CODE(ferrotls_conn_request_client_certificate(p->s), FERROTLS_ERR_CERTIFICATE_REQUIRED,
                    "request on the failed connection (its sticky error)");
    }
    pair_free(p);
    ferrotls_config_free(nocert);
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
}

static void test_post_handshake_auth(void) {
    section = "Handshake Again";
    ferrotls_config *ccfg = pha_client_config(1, true);
    ferrotls_config *scfg = pha_server_config(FERROTLS_VERIFY_REQUIRE_CLIENT_CERT, true, 0x0304);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    if (!CHECK(handshake(p), "handshake: client %s (%s), server %s (%s)", ferrotls_result_name(p->rc),
               ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs), ferrotls_conn_error_detail(p->s))) {
        pair_free(p);
        return;
    }
    ferrotls_conn *c = p->c, *s = p->s;
    char buf[64];
    size_t n = 0, moved = 0;
    CHECK(ferrotls_conn_protocol_version(s) == 0x0304, "not TLS 1.3");
    CHECK(ferrotls_conn_peer_cert_count(s) == 0 && ferrotls_conn_peer_cert_subject(s) == NULL,
          "the server asked for a certificate in the handshake");

    /* 1. The client's first request arrives unauthenticated. */
    write_str(c, "before", "client write before");
    pump(p);
    /* 2. The server asks; a second request while one is open is refused and changes nothing. */
    EXPECT_CODE(ferrotls_conn_request_client_certificate(s), FERROTLS_OK, "request_client_certificate");
    CHECK(ferrotls_conn_outgoing_len(s) > 0, "no CertificateRequest queued");
    reset_detail();
    EXPECT_CODE(ferrotls_conn_request_client_certificate(s), FERROTLS_ERR_WRONG_STATE, "second request while open");
    CHECK(contains_ci(ferrotls_last_error_detail(), "previous request"), "second request: detail \"%s\"",
          ferrotls_last_error_detail());
    CHECK(ferrotls_conn_error(s) == FERROTLS_OK, "the refused second request failed the connection");
    CHECK(strcmp(str_or(ferrotls_conn_awaiting(s)), "application data") != 0, "server awaiting \"%s\" with a request open",
          str_or(ferrotls_conn_awaiting(s)));
    /* 3. The client answers while it takes the request in, then writes after its answer. */
    EXPECT_CODE(move_take(s, c, &p->s2c, &moved), FERROTLS_OK, "CertificateRequest to the client");
    CHECK(moved > 0, "nothing moved to the client");
    CHECK(ferrotls_conn_outgoing_len(c) > 0, "the client queued no answer");
    write_str(c, "after", "client write after");
    pump(p);
    CHECK(strcmp(str_or(ferrotls_conn_awaiting(s)), "application data") == 0, "server awaiting \"%s\" after the answer",
          str_or(ferrotls_conn_awaiting(s)));
    /* The identity changes only where the stream reaches it. */
    CHECK(ferrotls_conn_peer_cert_count(s) == 0, "peer certificate present before the boundary was read");
    CHECK(ferrotls_conn_readable(s) == 6, "readable %zu before the boundary, want 6", ferrotls_conn_readable(s));
    /* 4. "before", the boundary (once, no bytes), "after". */
    ferrotls_result r = read_str(s, buf, sizeof buf, &n);
    CHECK(r == FERROTLS_OK && n == 6 && strcmp(buf, "before") == 0, "first read: %s, \"%s\"", ferrotls_result_name(r),
          buf);
    CHECK(ferrotls_conn_peer_cert_count(s) == 0 && ferrotls_conn_peer_cert_subject(s) == NULL,
          "peer certificate present before the boundary");
    CHECK(ferrotls_conn_readable(s) == 0, "readable %zu at the boundary", ferrotls_conn_readable(s));
    n = 99;
    r = read_str(s, buf, sizeof buf, &n);
    EXPECT_CODE(r, FERROTLS_PEER_AUTHENTICATED, "read at the boundary");
    CHECK(n == 0, "PEER_AUTHENTICATED came with %zu bytes", n);
    CHECK(ferrotls_result_category(r) == FERROTLS_CATEGORY_OK, "PEER_AUTHENTICATED is not category OK");
    CHECK(server_has_client_cert(s), "after the boundary: peer_cert_subject \"%s\", count %zu",
          str_or(ferrotls_conn_peer_cert_subject(s)), ferrotls_conn_peer_cert_count(s));
    {
        const uint8_t *der = NULL;
        size_t len = 0;
        EXPECT_CODE(ferrotls_conn_peer_cert(s, 0, &der, &len), FERROTLS_OK, "peer_cert(0) after the boundary");
        CHECK(der != NULL && len > 100 && der[0] == 0x30, "peer_cert(0) after the boundary is not DER");
    }
    r = read_str(s, buf, sizeof buf, &n);
    CHECK(r == FERROTLS_OK && strcmp(buf, "after") == 0, "read after the boundary: %s, \"%s\"", ferrotls_result_name(r),
          buf);
    EXPECT_CODE(read_str(s, buf, sizeof buf, &n), FERROTLS_WANT_READ, "read after everything (no second boundary)");
    CHECK(transfer(p, s, c, (const uint8_t *)"page", 4), "server -> client after the authentication");

    /* 5. Again, through peek / consume (and a read to finish): the view stops before the
     *    boundary, peek reports it once, and read does not report it again. */
    write_str(c, "pre", "client write pre");
    pump(p);
    EXPECT_CODE(ferrotls_conn_request_client_certificate(s), FERROTLS_OK, "second authentication");
    EXPECT_CODE(move_take(s, c, &p->s2c, &moved), FERROTLS_OK, "second CertificateRequest");
    write_str(c, "post", "client write post");
    pump(p);
    {
        const uint8_t *view = (const uint8_t *)buf;
        size_t len = 99;
        EXPECT_CODE(ferrotls_conn_peek_plaintext(s, &view, &len), FERROTLS_OK, "peek before the boundary");
        CHECK(len == 3 && view != NULL && memcmp(view, "pre", 3) == 0, "peek before the boundary: %zu bytes", len);
        EXPECT_CODE(ferrotls_conn_consume_plaintext(s, 100), FERROTLS_OK, "consume past the boundary (clamped)");
        view = (const uint8_t *)buf;
        len = 99;
        EXPECT_CODE(ferrotls_conn_peek_plaintext(s, &view, &len), FERROTLS_PEER_AUTHENTICATED, "peek at the boundary");
        CHECK(view == NULL && len == 0, "peek at the boundary: %p, %zu bytes", (const void *)view, len);
        CHECK(server_has_client_cert(s), "identity after the peeked boundary");
        EXPECT_CODE(ferrotls_conn_peek_plaintext(s, &view, &len), FERROTLS_OK, "peek after the boundary");
        CHECK(len == 4 && view != NULL && memcmp(view, "post", 4) == 0, "peek after the boundary: %zu bytes", len);
        r = read_str(s, buf, sizeof buf, &n);
        CHECK(r == FERROTLS_OK && strcmp(buf, "post") == 0, "read after a peeked boundary: %s, \"%s\"",
              ferrotls_result_name(r), buf);
        EXPECT_CODE(ferrotls_conn_peek_plaintext(s, &view, &len), FERROTLS_OK, "peek with nothing left");
        CHECK(len == 0, "peek with nothing left: %zu bytes", len);
        EXPECT_CODE(read_str(s, buf, sizeof buf, &n), FERROTLS_WANT_READ, "read after a peeked boundary");
    }
    /* The keys still agree (exporter from the handshake). */
    {
        uint8_t a[16], b2[16];
        EXPECT_CODE(ferrotls_conn_export_keying_material(c, a, sizeof a, (const uint8_t *)"x", 1, NULL, 0), FERROTLS_OK,
                    "export c");
        EXPECT_CODE(ferrotls_conn_export_keying_material(s, b2, sizeof b2, (const uint8_t *)"x", 1, NULL, 0),
                    FERROTLS_OK, "export s");
        CHECK(memcmp(a, b2, sizeof a) == 0, "exporters differ after post-handshake authentication");
    }
    pair_free(p);
}

/* The client's side over its end of a socketpair (sans-IO): send what it queued, feed what
 * arrived. Returns the bytes moved. */
static size_t fd_pump_client(ferrotls_conn *c, int fd) {
    size_t moved = 0;
    const uint8_t *data = NULL;
    size_t len = 0;
    if (ferrotls_conn_peek_outgoing(c, &data, &len) == FERROTLS_OK && len > 0) {
        ssize_t w = send(fd, data, len, 0);
        if (w > 0) {
            (void)ferrotls_conn_consume_outgoing(c, (size_t)w);
            moved += (size_t)w;
        }
    }
    uint8_t in[16384];
    ssize_t got = recv(fd, in, sizeof in, 0);
    if (got > 0) {
        size_t off = 0;
        while (off < (size_t)got) {
            size_t consumed = 0;
            if (ferrotls_conn_feed(c, in + off, (size_t)got - off, &consumed) != FERROTLS_OK || consumed == 0)
                break;
            off += consumed;
        }
        moved += (size_t)got;
    }
    return moved;
}

/* The server in fd mode (non-blocking socketpair): its read reports the boundary too. */
static void test_post_handshake_auth_fd(void) {
    section = "Handshake Again, fd mode";
    int sv[2];
    if (!CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair failed"))
        return;
    for (int i = 0; i < 2; i++)
        (void)fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
    ferrotls_config *ccfg = pha_client_config(1, true);
    ferrotls_config *scfg = pha_server_config(FERROTLS_VERIFY_REQUIRE_CLIENT_CERT, true, 0x0304);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    ferrotls_conn *c = p->c, *s = p->s;
    EXPECT_CODE(ferrotls_conn_set_fd(s, sv[1]), FERROTLS_OK, "server set_fd");
    ferrotls_result rc = FERROTLS_WANT_READ, rs = FERROTLS_WANT_READ;
    for (int i = 0; i < 200 && (rc != FERROTLS_OK || rs != FERROTLS_OK || ferrotls_conn_outgoing_len(c) > 0); i++) {
        rc = ferrotls_conn_handshake(c);
        (void)fd_pump_client(c, sv[0]);
        rs = ferrotls_conn_handshake(s);
        (void)fd_pump_client(c, sv[0]);
        if ((rc != FERROTLS_OK && rc != FERROTLS_WANT_READ) || (rs != FERROTLS_OK && rs != FERROTLS_WANT_READ))
            break;
    }
    if (!CHECK(rc == FERROTLS_OK && rs == FERROTLS_OK, "fd-mode handshake: client %s, server %s (%s)",
               ferrotls_result_name(rc), ferrotls_result_name(rs), ferrotls_conn_error_detail(s))) {
        pair_free(p);
        close(sv[0]);
        close(sv[1]);
        return;
    }
    write_str(c, "before", "client write before");
    (void)fd_pump_client(c, sv[0]);
    EXPECT_CODE(ferrotls_conn_request_client_certificate(s), FERROTLS_OK, "fd-mode request (sent at once)");
    for (int i = 0; i < 20; i++)
        (void)fd_pump_client(c, sv[0]); /* the request arrives; the answer goes out */
    write_str(c, "after", "client write after");
    while (fd_pump_client(c, sv[0]) > 0)
        ;
    /* The server reads from its socket: "before", the boundary, "after". */
    char got[64] = "";
    size_t glen = 0;
    int boundaries = 0, boundary_at = -1, bytes_at_boundary = 0;
    for (int i = 0; i < 200 && glen < 11; i++) {
        size_t n = 0;
        ferrotls_result r = ferrotls_conn_read(s, (uint8_t *)got + glen, sizeof got - 1 - glen, &n);
        if (r == FERROTLS_PEER_AUTHENTICATED) {
            boundaries++;
            boundary_at = (int)glen;
            bytes_at_boundary += (int)n;
            CHECK(server_has_client_cert(s), "fd mode: no client certificate after the boundary");
        } else if (r == FERROTLS_OK) {
            if (boundaries == 0)
                CHECK(ferrotls_conn_peer_cert_count(s) == 0, "fd mode: certificate before the boundary");
            glen += n;
        } else if (r == FERROTLS_WANT_READ) {
            (void)fd_pump_client(c, sv[0]);
        } else {
            CHECK(0, "fd-mode read: %s (%s)", ferrotls_result_name(r), ferrotls_conn_error_detail(s));
            break;
        }
    }
    got[glen] = '\0';
    CHECK(strcmp(got, "beforeafter") == 0, "fd mode: read \"%s\"", got);
    CHECK(boundaries == 1 && boundary_at == 6 && bytes_at_boundary == 0,
          "fd mode: %d boundaries, at byte %d, with %d bytes", boundaries, boundary_at, bytes_at_boundary);
    pair_free(p);
    close(sv[0]);
    close(sv[1]);
}

/* ---- Handshake Again in TLS 1.2: secure renegotiation (RFC 5746) ------------------------ */

/* Server for TLS 1.2 only: the demo certificate, the demo CA for client certificates, `verify`
 * (0: no client authentication), post_handshake_auth `pha`, set_renegotiation `reneg`,
 * set_client_renegotiation `client_reneg`. */
static ferrotls_config *reneg_server_config(uint32_t verify, bool pha, bool reneg, bool client_reneg) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), FERROTLS_OK, "reneg server builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("server.pem"), path_of("server.key")),
                FERROTLS_OK, "reneg server add_cert_key_file");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "reneg server roots");
    if (verify != 0)
        EXPECT_CODE(ferrotls_config_builder_set_verify(b, verify), FERROTLS_OK, "reneg server set_verify");
    EXPECT_CODE(ferrotls_config_builder_set_post_handshake_auth(b, pha), FERROTLS_OK, "reneg server pha");
    EXPECT_CODE(ferrotls_config_builder_set_renegotiation(b, reneg), FERROTLS_OK, "reneg server set_renegotiation");
    EXPECT_CODE(ferrotls_config_builder_set_client_renegotiation(b, client_reneg), FERROTLS_OK,
                "reneg server set_client_renegotiation");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0303, 0x0303), FERROTLS_OK, "reneg server versions");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "reneg server build");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* Client: the demo CA, the demo client certificate if `with_cert`, set_renegotiation `reneg`. */
static ferrotls_config *reneg_client_config(int with_cert, bool reneg) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "reneg client builder_new");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "reneg client roots");
    if (with_cert)
        EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("client.pem"), path_of("client.key")),
                    FERROTLS_OK, "reneg client add_cert_key_file");
    EXPECT_CODE(ferrotls_config_builder_set_renegotiation(b, reneg), FERROTLS_OK, "reneg client set_renegotiation");
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "reneg client build");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* A TLS 1.2 pair that completed its handshake, or NULL (reported). */
static struct pair *reneg_pair(const ferrotls_config *ccfg, const ferrotls_config *scfg, const char *what) {
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    if (!CHECK(handshake(p), "%s: handshake: client %s (%s), server %s (%s)", what, ferrotls_result_name(p->rc),
               ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs), ferrotls_conn_error_detail(p->s)) ||
        !CHECK(ferrotls_conn_protocol_version(p->s) == 0x0303, "%s: not TLS 1.2 (%#x)", what,
               (unsigned)ferrotls_conn_protocol_version(p->s))) {
        pair_free(p);
        return NULL;
    }
    return p;
}

/* Reads on the server until `want` bytes arrived or the boundary came: appends to `got`
 * (NUL-terminated, capacity cap). Returns FERROTLS_PEER_AUTHENTICATED at the boundary, else
 * the last result (WANT_READ once nothing is left). */
static ferrotls_result read_until_boundary(ferrotls_conn *s, char *got, size_t cap, size_t *glen) {
    for (int i = 0; i < 100; i++) {
        size_t n = 0;
        ferrotls_result r = ferrotls_conn_read(s, (uint8_t *)got + *glen, cap - 1 - *glen, &n);
        if (r == FERROTLS_OK) {
            *glen += n;
            got[*glen] = '\0';
            continue;
        }
        got[*glen] = '\0';
        if (r == FERROTLS_PEER_AUTHENTICATED)
            CHECK(n == 0, "PEER_AUTHENTICATED came with %zu bytes", n);
        return r;
    }
    return FERROTLS_WANT_READ;
}

/* A TLS 1.2 version of the seed's scenario: no certificate in the handshake (post_handshake_auth
 * on the server), then request_client_certificate: a HelloRequest, a new handshake with a
 * CertificateRequest, and the boundary where read reports the client's new identity. */
static void test_renegotiation(void) {
    section = "Handshake Again, TLS 1.2";
    ferrotls_config *ccfg = reneg_client_config(1, true);
    ferrotls_config *scfg = reneg_server_config(FERROTLS_VERIFY_REQUEST_CLIENT_CERT, true, true, false);
    struct pair *p = reneg_pair(ccfg, scfg, "request");
    if (p != NULL) {
        ferrotls_conn *c = p->c, *s = p->s;
        char got[64] = "";
        size_t glen = 0, moved = 0;
        CHECK(ferrotls_conn_peer_cert_count(s) == 0 && ferrotls_conn_peer_cert_subject(s) == NULL,
              "a post_handshake_auth TLS 1.2 server asked for a certificate in the handshake");
        /* 1. Data before the request; the request (a HelloRequest); a second one is refused. */
        write_str(c, "before", "client write before");
        pump(p);
        EXPECT_CODE(ferrotls_conn_request_client_certificate(s), FERROTLS_OK, "TLS 1.2 request_client_certificate");
        CHECK(ferrotls_conn_outgoing_len(s) > 0, "no HelloRequest queued");
        reset_detail();
        EXPECT_CODE(ferrotls_conn_request_client_certificate(s), FERROTLS_ERR_WRONG_STATE, "second request while open");
        EXPECT_CODE(ferrotls_conn_renegotiate(s), FERROTLS_ERR_WRONG_STATE, "renegotiate while a request is open");
        CHECK(ferrotls_conn_error(s) == FERROTLS_OK, "the refused second request failed the connection");
        /* 2. The client takes the HelloRequest in and answers with a ClientHello by itself; data
         *    it writes now still goes under the old keys, before the boundary. */
        EXPECT_CODE(move_take(s, c, &p->s2c, &moved), FERROTLS_OK, "HelloRequest to the client");
        CHECK(moved > 0, "nothing moved to the client");
        CHECK(ferrotls_conn_outgoing_len(c) > 0, "the client did not answer the HelloRequest");
        CHECK(strcmp(str_or(ferrotls_conn_awaiting(c)), "application data") != 0,
              "client awaiting \"%s\" during the new handshake", str_or(ferrotls_conn_awaiting(c)));
        write_str(c, "during", "client write during the new handshake");
        pump(p);
        CHECK(strcmp(str_or(ferrotls_conn_awaiting(c)), "application data") == 0,
              "client awaiting \"%s\" after the new handshake", str_or(ferrotls_conn_awaiting(c)));
        CHECK(strcmp(str_or(ferrotls_conn_awaiting(s)), "application data") == 0,
              "server awaiting \"%s\" after the new handshake", str_or(ferrotls_conn_awaiting(s)));
        write_str(c, "after", "client write after");
        pump(p);
        /* 3. The identity changes only where the stream reaches the boundary. */
        CHECK(ferrotls_conn_peer_cert_count(s) == 0, "peer certificate present before the boundary was read");
        ferrotls_result r = read_until_boundary(s, got, sizeof got, &glen);
        EXPECT_CODE(r, FERROTLS_PEER_AUTHENTICATED, "TLS 1.2 read at the boundary");
        CHECK(strcmp(got, "beforeduring") == 0, "read before the boundary: \"%s\"", got);
        CHECK(ferrotls_result_category(r) == FERROTLS_CATEGORY_OK, "PEER_AUTHENTICATED is not category OK");
        CHECK(ferrotls_conn_peer_cert_count(s) == 1 && server_has_client_cert(s),
              "after the boundary: count %zu, subject \"%s\"", ferrotls_conn_peer_cert_count(s),
              str_or(ferrotls_conn_peer_cert_subject(s)));
        glen = 0;
        r = read_until_boundary(s, got, sizeof got, &glen);
        EXPECT_CODE(r, FERROTLS_WANT_READ, "read after the boundary (no second one)");
        CHECK(strcmp(got, "after") == 0, "read after the boundary: \"%s\"", got);
        CHECK(transfer(p, s, c, (const uint8_t *)"page", 4), "server -> client after the renegotiation");
        {
            uint8_t a[16], b2[16];
            EXPECT_CODE(ferrotls_conn_export_keying_material(c, a, sizeof a, (const uint8_t *)"x", 1, NULL, 0),
                        FERROTLS_OK, "export c");
            EXPECT_CODE(ferrotls_conn_export_keying_material(s, b2, sizeof b2, (const uint8_t *)"x", 1, NULL, 0),
                        FERROTLS_OK, "export s");
            CHECK(memcmp(a, b2, sizeof a) == 0, "exporters differ after the renegotiation");
        }
        /* 4. The server's renegotiate (a HelloRequest; the new handshake asks again, as the one
         *    before had a certificate): OK, and read reports its boundary, the same identity. */
        EXPECT_CODE(ferrotls_conn_renegotiate(s), FERROTLS_OK, "renegotiate on a TLS 1.2 server");
        pump(p);
        write_str(c, "again", "client write after the second renegotiation");
        pump(p);
        glen = 0;
        r = read_until_boundary(s, got, sizeof got, &glen);
        EXPECT_CODE(r, FERROTLS_PEER_AUTHENTICATED, "read at the server-started renegotiation's boundary");
        CHECK(glen == 0, "bytes before the second boundary: \"%s\"", got);
        CHECK(server_has_client_cert(s) && ferrotls_conn_peer_cert_count(s) == 1,
              "identity after the server's renegotiation: count %zu", ferrotls_conn_peer_cert_count(s));
        r = read_until_boundary(s, got, sizeof got, &glen);
        CHECK(r == FERROTLS_WANT_READ && strcmp(got, "again") == 0, "read after the second boundary: %s, \"%s\"",
              ferrotls_result_name(r), got);
        /* 5. The client's own renegotiation: declined by this server (the default), with a
         *    no_renegotiation warning; both go on with the keys they have. */
        EXPECT_CODE(ferrotls_conn_renegotiate(c), FERROTLS_OK, "client renegotiate");
        CHECK(strcmp(str_or(ferrotls_conn_awaiting(c)), "application data") != 0,
              "client awaiting \"%s\" right after renegotiate", str_or(ferrotls_conn_awaiting(c)));
        reset_detail();
        EXPECT_CODE(ferrotls_conn_renegotiate(c), FERROTLS_ERR_WRONG_STATE, "client renegotiate while one runs");
        pump(p);
        {
            uint8_t d = 0;
            bool ours = true;
            EXPECT_CODE(ferrotls_conn_last_alert(c, &d, &ours), FERROTLS_OK, "client last_alert after the decline");
            CHECK(d == 100 && !ours, "client last alert %u (ours %d), want no_renegotiation (100) received", d, ours);
            EXPECT_CODE(ferrotls_conn_last_alert(s, &d, &ours), FERROTLS_OK, "server last_alert after the decline");
            CHECK(d == 100 && ours, "server last alert %u (ours %d), want no_renegotiation (100) sent", d, ours);
        }
        CHECK(strcmp(str_or(ferrotls_conn_awaiting(c)), "application data") == 0,
              "client awaiting \"%s\" after the decline", str_or(ferrotls_conn_awaiting(c)));
        CHECK(ferrotls_conn_error(c) == FERROTLS_OK && ferrotls_conn_error(s) == FERROTLS_OK,
              "a declined renegotiation left an error: client %s, server %s", ferrotls_result_name(ferrotls_conn_error(c)),
              ferrotls_result_name(ferrotls_conn_error(s)));
        CHECK(transfer(p, c, s, (const uint8_t *)"still", 5), "client -> server after the decline");
        CHECK(transfer(p, s, c, (const uint8_t *)"still", 5), "server -> client after the decline");
        CHECK(server_has_client_cert(s), "the declined renegotiation changed the identity");
        pair_free(p);
    }
    ferrotls_config_free(scfg);

    /* A server that accepts the client's renegotiation: read reports where it completed. */
    scfg = reneg_server_config(0, false, true, true);
    p = reneg_pair(ccfg, scfg, "client renegotiation accepted");
    if (p != NULL) {
        char got[64] = "";
        size_t glen = 0;
        write_str(p->c, "one", "client write one");
        pump(p);
        EXPECT_CODE(ferrotls_conn_renegotiate(p->c), FERROTLS_OK, "client renegotiate (accepted)");
        pump(p);
        CHECK(strcmp(str_or(ferrotls_conn_awaiting(p->c)), "application data") == 0,
              "client awaiting \"%s\" after an accepted renegotiation", str_or(ferrotls_conn_awaiting(p->c)));
        write_str(p->c, "two", "client write two");
        pump(p);
        ferrotls_result r = read_until_boundary(p->s, got, sizeof got, &glen);
        EXPECT_CODE(r, FERROTLS_PEER_AUTHENTICATED, "server read at the client's renegotiation");
        CHECK(strcmp(got, "one") == 0, "before the client's renegotiation: \"%s\"", got);
        CHECK(ferrotls_conn_peer_cert_count(p->s) == 0, "no client authentication, yet a peer certificate");
        glen = 0;
        r = read_until_boundary(p->s, got, sizeof got, &glen);
        CHECK(r == FERROTLS_WANT_READ && strcmp(got, "two") == 0, "after the client's renegotiation: %s, \"%s\"",
              ferrotls_result_name(r), got);
        pair_free(p);
    }
    ferrotls_config_free(scfg);
    ferrotls_config_free(ccfg);

    /* A client that declines HelloRequests (set_renegotiation(false)): under REQUEST the answer
     * is "no certificate", a boundary with the identity unchanged; under REQUIRE it is fatal. */
    ccfg = reneg_client_config(1, false);
    for (int require = 0; require < 2; require++) {
        scfg = reneg_server_config(require ? FERROTLS_VERIFY_REQUIRE_CLIENT_CERT : FERROTLS_VERIFY_REQUEST_CLIENT_CERT,
                                   true, true, false);
        p = reneg_pair(ccfg, scfg, require ? "declined, required" : "declined, requested");
        if (p != NULL) {
            char got[64] = "";
            size_t glen = 0;
            reset_detail();
            EXPECT_CODE(ferrotls_conn_renegotiate(p->c), FERROTLS_ERR_WRONG_STATE,
                        "renegotiate on a client with set_renegotiation(false)");
            write_str(p->c, "x", "client write x");
            EXPECT_CODE(ferrotls_conn_request_client_certificate(p->s), FERROTLS_OK, "request (the client declines)");
            pump(p);
            uint8_t d = 0;
            bool ours = true;
            EXPECT_CODE(ferrotls_conn_last_alert(p->c, &d, &ours), FERROTLS_OK, "client last_alert");
            /* Its no_renegotiation warning; under REQUIRE the server's fatal handshake_failure came after. */
            CHECK(require ? d == 40 && !ours : d == 100 && ours, "the client's last alert %u (ours %d)", d, ours);
            ferrotls_result r = read_until_boundary(p->s, got, sizeof got, &glen);
            if (!require) {
                EXPECT_CODE(r, FERROTLS_PEER_AUTHENTICATED, "read after a declined request");
                CHECK(strcmp(got, "x") == 0, "before the declined request's boundary: \"%s\"", got);
                CHECK(ferrotls_conn_peer_cert_count(p->s) == 0, "a declined request gave a certificate");
                CHECK(ferrotls_conn_error(p->s) == FERROTLS_OK, "a declined request under REQUEST failed: %s",
                      ferrotls_conn_error_detail(p->s));
                CHECK(transfer(p, p->c, p->s, (const uint8_t *)"on", 2), "data after a declined request");
            } else {
                CHECK(ferrotls_conn_error(p->s) != FERROTLS_OK, "a declined request under REQUIRE did not fail");
                CHECK(strcmp(str_or(ferrotls_conn_error_reason(p->s)), "NO_CLIENT_CERTIFICATE") == 0,
                      "declined under REQUIRE: %s, reason \"%s\" (%s)", ferrotls_result_name(ferrotls_conn_error(p->s)),
                      str_or(ferrotls_conn_error_reason(p->s)), ferrotls_conn_error_detail(p->s));
                CHECK(ferrotls_conn_peer_cert_count(p->s) == 0, "a declined request gave a certificate");
            }
            pair_free(p);
        }
        ferrotls_config_free(scfg);
    }
    ferrotls_config_free(ccfg);

    /* The switches: a server with set_renegotiation(false) neither asks nor renegotiates; a
     * client without a certificate answers a request with none (REQUEST: no identity). */
    ccfg = reneg_client_config(0, true);
    scfg = reneg_server_config(FERROTLS_VERIFY_REQUEST_CLIENT_CERT, true, false, false);
    p = reneg_pair(ccfg, scfg, "server renegotiation off");
    if (p != NULL) {
        refused_request(p, p->s, FERROTLS_ERR_WRONG_STATE, "renegotiation", "request with set_renegotiation(false)");
        reset_detail();
        EXPECT_CODE(ferrotls_conn_renegotiate(p->s), FERROTLS_ERR_WRONG_STATE,
                    "server renegotiate with set_renegotiation(false)");
        CHECK(ferrotls_conn_error(p->s) == FERROTLS_OK, "the refused renegotiate left an error");
        pair_free(p);
    }
    ferrotls_config_free(scfg);
    scfg = reneg_server_config(FERROTLS_VERIFY_REQUEST_CLIENT_CERT, true, true, false);
    p = reneg_pair(ccfg, scfg, "client without a certificate");
    if (p != NULL) {
        char got[8] = "";
        size_t glen = 0;
        EXPECT_CODE(ferrotls_conn_request_client_certificate(p->s), FERROTLS_OK, "request (client has none)");
        pump(p);
        EXPECT_CODE(read_until_boundary(p->s, got, sizeof got, &glen), FERROTLS_PEER_AUTHENTICATED,
                    "boundary after an empty answer");
        CHECK(ferrotls_conn_peer_cert_count(p->s) == 0 && ferrotls_conn_error(p->s) == FERROTLS_OK,
              "empty answer under REQUEST: count %zu, error %s", ferrotls_conn_peer_cert_count(p->s),
              ferrotls_result_name(ferrotls_conn_error(p->s)));
        pair_free(p);
    }
    ferrotls_config_free(scfg);
    ferrotls_config_free(ccfg);
}

/* ---- key-exchange groups: post-quantum by default --------------------------------------- */

/* A config with nothing but what a role needs (the server's certificate, the client's CA), so
 * the groups are the library's defaults unless `groups` (for set_group_list) is given. */
static ferrotls_config *group_config(uint32_t role, const char *groups) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(role, &b), FERROTLS_OK, "groups builder_new");
    if (role == FERROTLS_ROLE_SERVER)
        EXPECT_CODE(ferrotls_config_builder_add_cert_key_file(b, path_of("server.pem"), path_of("server.key")),
                    FERROTLS_OK, "groups server add_cert_key_file");
    else
        EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK,
                    "groups client add_roots_file");
    if (groups != NULL)
        EXPECT_CODE(ferrotls_config_builder_set_group_list(b, groups), FERROTLS_OK, groups);
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_OK, "groups build");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* Both sides of a completed handshake negotiated `name` (`id`) in a handshake of `kind`. */
static void expect_group(struct pair *p, const char *name, uint16_t id, uint32_t kind, const char *what) {
    ferrotls_conn *both[2] = {p->c, p->s};
    for (int i = 0; i < 2; i++) {
        const char *who = i == 0 ? "client" : "server";
        const char *gn = ferrotls_conn_group_name(both[i]);
        CHECK(gn != NULL && strcmp(gn, name) == 0, "%s: %s group_name \"%s\", want \"%s\"", what, who, str_or(gn),
              name);
        CHECK(ferrotls_conn_group(both[i]) == id, "%s: %s group %#x, want %#x", what, who,
              (unsigned)ferrotls_conn_group(both[i]), (unsigned)id);
        CHECK(ferrotls_conn_handshake_kind(both[i]) == kind, "%s: %s handshake_kind %u, want %u", what, who,
              (unsigned)ferrotls_conn_handshake_kind(both[i]), (unsigned)kind);
    }
}

/* A pair of group_config()s; the handshake must complete. NULL (and a failed check) if not. */
static struct pair *group_pair(const char *client_groups, const char *server_groups, const char *what) {
    ferrotls_config *ccfg = group_config(FERROTLS_ROLE_CLIENT, client_groups);
    ferrotls_config *scfg = group_config(FERROTLS_ROLE_SERVER, server_groups);
    struct pair *p = pair_new(ccfg, scfg, "localhost");
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    if (!CHECK(handshake(p), "%s: handshake: client %s (%s), server %s (%s)", what, ferrotls_result_name(p->rc),
               ferrotls_conn_error_detail(p->c), ferrotls_result_name(p->rs), ferrotls_conn_error_detail(p->s))) {
        pair_free(p);
        return NULL;
    }
    return p;
}

static void test_groups(void) {
    section = "groups";
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    EXPECT_CODE(ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), FERROTLS_OK, "builder_new");
    /* Names: the IANA ones (as OpenSSL 3.5 spells them), any case, and the classic aliases. */
    EXPECT_CODE(ferrotls_config_builder_set_group_list(b, "X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:MLKEM1024"),
                FERROTLS_OK, "set_group_list, the post-quantum names");
    EXPECT_CODE(ferrotls_config_builder_set_group_list(b, "x25519mlkem768:SECP384R1MLKEM1024:X25519:P-256:prime256v1:secp384r1"),
                FERROTLS_OK, "set_group_list, mixed case and aliases");
    reset_detail();
    ferrotls_result r = ferrotls_config_builder_set_group_list(b, "X25519MLKEM768:MLKEM768");
    EXPECT_CODE(r, FERROTLS_ERR_CONFIG, "set_group_list with MLKEM768 (not built in)");
    const char *d = ferrotls_last_error_detail();
    CHECK(strstr(d, "'MLKEM768'") != NULL && strstr(d, "X25519MLKEM768") != NULL,
          "set_group_list detail \"%s\": want the unknown name and the supported ones", d);
    reset_detail();
    EXPECT_CODE(ferrotls_config_builder_set_group_list(b, "X25519Kyber768Draft00"), FERROTLS_ERR_CONFIG,
                "set_group_list with a draft name");
    /* Codepoints. */
    const uint16_t pq[] = {0x11EC, 0x11EB, 0x11ED, 0x0202, 0x001D};
    EXPECT_CODE(ferrotls_config_builder_set_groups(b, pq, sizeof pq / sizeof pq[0]), FERROTLS_OK,
                "set_groups 0x11EC 0x11EB 0x11ED 0x0202 0x001D");
    const uint16_t unknown[] = {0x11EC, 0x6399 /* X25519Kyber768Draft00 */};
    reset_detail();
    EXPECT_CODE(ferrotls_config_builder_set_groups(b, unknown, 2), FERROTLS_ERR_CONFIG, "set_groups with 0x6399");
    CHECK(strstr(ferrotls_last_error_detail(), "not supported") != NULL, "set_groups 0x6399 detail \"%s\"",
          ferrotls_last_error_detail());
    /* TLS 1.2 only with post-quantum groups only: the build says why it cannot work. */
    const uint16_t kem_only[] = {0x11EC};
    EXPECT_CODE(ferrotls_config_builder_set_groups(b, kem_only, 1), FERROTLS_OK, "set_groups 0x11EC");
    EXPECT_CODE(ferrotls_config_builder_set_versions(b, 0x0303, 0x0303), FERROTLS_OK, "set_versions 1.2");
    EXPECT_CODE(ferrotls_config_builder_add_roots_file(b, path_of("ca.pem")), FERROTLS_OK, "add_roots_file");
    reset_detail();
    EXPECT_CODE(ferrotls_config_builder_build(b, &cfg), FERROTLS_ERR_CONFIG, "build: TLS 1.2 with X25519MLKEM768 only");
    CHECK(cfg == NULL, "build failed but returned a config");
    CHECK(strstr(ferrotls_last_error_detail(),
                 "none of the configured groups (X25519MLKEM768) can be used with TLSv1.2 (a KEM is TLS 1.3 only)") != NULL,
          "build detail \"%s\"", ferrotls_last_error_detail());
    ferrotls_config_free(cfg);
    ferrotls_config_builder_free(b);

    /* Default configs on both sides: the hybrid, in one round trip (the client's first
     * ClientHello carries its share). */
    struct pair *p = group_pair(NULL, NULL, "defaults");
    if (p != NULL) {
        expect_group(p, "X25519MLKEM768", 0x11EC, FERROTLS_HANDSHAKE_FULL, "defaults");
        pair_free(p);
    }
    /* A server with X25519 only: the default client's second share, no HelloRetryRequest. */
    p = group_pair(NULL, "X25519", "server X25519");
    if (p != NULL) {
        expect_group(p, "X25519", 0x001D, FERROTLS_HANDSHAKE_FULL, "server X25519");
        pair_free(p);
    }
    /* The contrast: a group the client supports but sent no share for takes a HelloRetryRequest. */
    p = group_pair("X25519MLKEM768:SecP384r1MLKEM1024", "SecP384r1MLKEM1024", "server SecP384r1MLKEM1024");
    if (p != NULL) {
        expect_group(p, "SecP384r1MLKEM1024", 0x11ED, FERROTLS_HANDSHAKE_FULL_HRR, "server SecP384r1MLKEM1024");
        pair_free(p);
    }
    /* A post-quantum-only client and a classic-only server: no group in common, and the
     * server's detail says it is post-quantum against classic. */
    ferrotls_config *ccfg = group_config(FERROTLS_ROLE_CLIENT, "X25519MLKEM768");
    ferrotls_config *scfg = group_config(FERROTLS_ROLE_SERVER, "X25519:P-256");
    p = pair_new(ccfg, scfg, "localhost");
    ferrotls_config_free(ccfg);
    ferrotls_config_free(scfg);
    CHECK(!handshake(p), "post-quantum client, classic server: the handshake succeeded");
    EXPECT_CODE(ferrotls_conn_error(p->s), FERROTLS_ERR_NO_SHARED_GROUP, "classic server conn_error");
    d = ferrotls_conn_error_detail(p->s);
    CHECK(strstr(d, "the client offers only post-quantum groups, which this server does not enable") != NULL,
          "classic server error_detail \"%s\"", d);
    EXPECT_CODE(ferrotls_conn_error(p->c), FERROTLS_ERR_ALERT_BASE + 40, "post-quantum client conn_error");
    CHECK(ferrotls_conn_group_name(p->c) == NULL && ferrotls_conn_group(p->c) == 0,
          "failed client: group_name \"%s\", group %#x", str_or(ferrotls_conn_group_name(p->c)),
          (unsigned)ferrotls_conn_group(p->c));
    pair_free(p);
}

int main(int argc, char **argv) {
    if (argc > 1)
        CERTS = argv[1];
    test_versions();
    test_result_codes();
    test_free_null();
    test_null_arguments();
    test_wrong_handles();
    test_wrong_state_and_role();
    test_handshake();
    test_mtls();
    test_failing_handshake();
    test_groups();
    test_error_reasons();
    test_callbacks();
    test_refcount();
    test_session_store();
    test_cert_callback();
    test_ticket_callbacks();
    test_per_connection();
    test_post_handshake_auth();
    test_post_handshake_auth_usage();
    test_post_handshake_auth_fd();
    test_renegotiation();
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
