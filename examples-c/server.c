/* ferrotls-server: a TLS server on the fd mode of the C API.
 *
 *   ferrotls-server --cert FILE --key FILE [options]
 *
 * One thread, non-blocking sockets, one poll() over the listener and every connection. Each
 * connection is handed its socket with ferrotls_conn_set_fd(); handshake/read/write/close then
 * do the I/O themselves and answer FERROTLS_WANT_READ / FERROTLS_WANT_WRITE, which become the
 * connection's POLLIN / POLLOUT. A failing connection is reported and closed; the server goes on.
 *
 * Default mode answers each HTTP request with an HTTP/1.0 200 page listing the negotiated
 * parameters, then close_notify (like `openssl s_server -www`). --echo echoes what arrives.
 *
 * Handshake Again: every read may return FERROTLS_PEER_AUTHENTICATED instead of bytes, the point
 * of the stream where the client authenticated again (TLS 1.3 post-handshake authentication,
 * or any completed TLS 1.2 renegotiation). It is a boundary, not data: --ask-cert-path waits
 * for it; the other modes read on (--trace names it on stderr). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *PROG = "ferrotls-server";

static const char USAGE[] =
    "usage: ferrotls-server --cert FILE --key FILE [options]\n"
    "  --host ADDR            address to listen on (default 127.0.0.1)\n"
    "  --port N               port (default 8443; 0 picks a free one, printed when listening)\n"
    "  --cafile FILE          trust anchors for client certificates, PEM\n"
    "  --verify-client        require a client certificate (needs --cafile)\n"
    "  --request-client       ask for a client certificate, do not require one (needs --cafile)\n"
    "  --ask-cert-path PREFIX Handshake Again, the seed's scenario: no certificate is asked for in\n"
    "                         the handshake; a request for a path starting with PREFIX on a\n"
    "                         connection without one asks for it then (TLS 1.3: post-handshake\n"
    "                         authentication; TLS 1.2: a secure renegotiation, RFC 5746) and is\n"
    "                         answered once it arrived, else with 403 (also when the client\n"
    "                         cannot be asked: no post_handshake_auth offered, no RFC 5746\n"
    "                         support; or declines the renegotiation). Needs --cafile; with\n"
    "                         --verify-client a missing certificate is fatal\n"
    "  --allow-renegotiation  accept a TLS 1.2 renegotiation the client starts (each costs a full\n"
    "                         handshake; refused by default with a no_renegotiation warning, the\n"
    "                         connection going on, as OpenSSL 3 does)\n"
    "  --tls1.2 | --tls1.3    only that version (default: both)\n"
    "  --ciphers LIST         colon-separated; IANA names and OpenSSL names both accepted\n"
    "  --groups LIST          colon-separated, in the server's order of preference (default\n"
    "                         X25519MLKEM768:X25519:P-256:P-384): X25519MLKEM768,\n"
    "                         SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM1024 (post-quantum,\n"
    "                         TLS 1.3 only), X25519, P-256, P-384\n"
    "  --alpn LIST            comma-separated, in the server's order of preference\n"
    "  --keylog FILE          NSS key log (SSLKEYLOGFILE format)\n"
    "  --trace                show every record and handshake message, per connection\n"
    "  --echo                 echo what arrives (default: answer HTTP requests with a status page)\n"
    "  --max-conns N          exit after N connections (successful or not)\n"
    "  --allow-no-ems         admit TLS 1.2 clients without Extended Master Secret (RFC 7627;\n"
    "                         required by default: without it TLS 1.2 is open to the triple\n"
    "                         handshake attack; scanners that do not offer it report no TLS 1.2)\n"
    "  --handshake-timeout S  drop a connection whose handshake is not done after S seconds\n"
    "                         (default 10): a peer that never finishes cannot hold a slot\n";

enum {
    O_CERT = 1, O_KEY, O_HOST, O_PORT, O_CAFILE, O_VERIFY_CLIENT, O_REQUEST_CLIENT, O_TLS12, O_TLS13,
    O_CIPHERS, O_GROUPS, O_ALPN, O_KEYLOG, O_TRACE, O_ECHO, O_MAX_CONNS, O_HS_TIMEOUT, O_ALLOW_NO_EMS,
    O_ASK_CERT_PATH, O_ALLOW_RENEGOTIATION,
};

static const struct opt_spec SPECS[] = {
    {"--cert", 1, O_CERT},       {"--key", 1, O_KEY},
    {"--host", 1, O_HOST},       {"--port", 1, O_PORT},
    {"--cafile", 1, O_CAFILE},   {"--verify-client", 0, O_VERIFY_CLIENT},
    {"--request-client", 0, O_REQUEST_CLIENT},
    {"--tls1.2", 0, O_TLS12},    {"--tls1.3", 0, O_TLS13},
    {"--ciphers", 1, O_CIPHERS}, {"--groups", 1, O_GROUPS},
    {"--alpn", 1, O_ALPN},       {"--keylog", 1, O_KEYLOG},
    {"--trace", 0, O_TRACE},     {"--echo", 0, O_ECHO},
    {"--max-conns", 1, O_MAX_CONNS}, {"--handshake-timeout", 1, O_HS_TIMEOUT},
    {"--allow-no-ems", 0, O_ALLOW_NO_EMS},
    {"--ask-cert-path", 1, O_ASK_CERT_PATH},
    {"--allow-renegotiation", 0, O_ALLOW_RENEGOTIATION},
    {NULL, 0, 0},
};

struct options {
    struct protocol_options proto;
    const char *cert, *key, *host, *port, *cafile, *keylog;
    const char *ask_cert_path; /* --ask-cert-path PREFIX, or NULL */
    int verify_client, request_client, trace, echo;
    int allow_renegotiation; /* --allow-renegotiation: accept client-initiated TLS 1.2 renegotiation */
    long max_conns; /* 0: forever */
    long handshake_timeout; /* seconds */
};

static void parse_options(int argc, char **argv, struct options *o) {
    int i = 1, id;
    const char *v;
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = "8443";
    o->handshake_timeout = 10;
    while ((id = opt_next(argc, argv, &i, SPECS, PROG, USAGE, &v)) != -1) {
        switch (id) {
        case 0: usage_exit(PROG, USAGE, "unexpected argument '%s'", v);
        case O_CERT: o->cert = v; break;
        case O_KEY: o->key = v; break;
        case O_HOST: o->host = v; break;
        case O_PORT: o->port = v; break;
        case O_CAFILE: o->cafile = v; break;
        case O_VERIFY_CLIENT: o->verify_client = 1; break;
        case O_REQUEST_CLIENT: o->request_client = 1; break;
        case O_TLS12: o->proto.tls12 = 1; break;
        case O_TLS13: o->proto.tls13 = 1; break;
        case O_CIPHERS: o->proto.ciphers = v; break;
        case O_GROUPS: o->proto.groups = v; break;
        case O_ALPN: o->proto.alpn = v; break;
        case O_KEYLOG: o->keylog = v; break;
        case O_TRACE: o->trace = 1; break;
        case O_ECHO: o->echo = 1; break;
        case O_ALLOW_NO_EMS: o->proto.allow_no_ems = 1; break;
        case O_ASK_CERT_PATH: o->ask_cert_path = v; break;
        case O_ALLOW_RENEGOTIATION: o->allow_renegotiation = 1; break;
        case O_MAX_CONNS: o->max_conns = parse_number(PROG, USAGE, "--max-conns", v, 1, 1000000000L); break;
        case O_HS_TIMEOUT:
            o->handshake_timeout = parse_number(PROG, USAGE, "--handshake-timeout", v, 1, 86400L);
            break;
        }
    }
    if (o->cert == NULL || o->key == NULL)
        usage_exit(PROG, USAGE, "--cert and --key are required");
    if (o->verify_client && o->request_client)
        usage_exit(PROG, USAGE, "--verify-client and --request-client exclude each other");
    if ((o->verify_client || o->request_client) && o->cafile == NULL)
        usage_exit(PROG, USAGE, "--verify-client and --request-client need --cafile");
    if (o->ask_cert_path != NULL && o->cafile == NULL)
        usage_exit(PROG, USAGE, "--ask-cert-path needs --cafile (the CA of the client certificates)");
    if (o->ask_cert_path != NULL && o->echo)
        usage_exit(PROG, USAGE, "--ask-cert-path answers HTTP requests; it excludes --echo");
    parse_number(PROG, USAGE, "--port", o->port, 0, 65535);
    protocol_options_check(PROG, USAGE, &o->proto);
}

static ferrotls_config *build_config(const struct options *o) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    config_check(PROG, ferrotls_config_builder_new(FERROTLS_ROLE_SERVER, &b), "creating the configuration");
    protocol_options_apply(PROG, b, &o->proto);
    cert_key_check(PROG, ferrotls_config_builder_add_cert_key_file(b, o->cert, o->key));
    if (o->cafile != NULL)
        config_check(PROG, ferrotls_config_builder_add_roots_file(b, o->cafile), "loading --cafile");
    if (o->ask_cert_path != NULL) {
        /* Ask for no certificate in the handshake (TLS 1.3 and TLS 1.2 alike), but when a
         * request needs one: request_client_certificate then asks by post-handshake
         * authentication (TLS 1.3) or by a renegotiation (TLS 1.2, a HelloRequest). A client
         * that sends none, or declines, gets a 403 page unless --verify-client makes it fatal. */
        config_check(PROG, ferrotls_config_builder_set_post_handshake_auth(b, true), "--ask-cert-path");
        if (!o->verify_client)
            config_check(PROG, ferrotls_config_builder_set_verify(b, FERROTLS_VERIFY_REQUEST_CLIENT_CERT),
                         "--ask-cert-path");
    }
    if (o->verify_client)
        config_check(PROG, ferrotls_config_builder_set_verify(b, FERROTLS_VERIFY_REQUIRE_CLIENT_CERT), "--verify-client");
    else if (o->request_client)
        config_check(PROG, ferrotls_config_builder_set_verify(b, FERROTLS_VERIFY_REQUEST_CLIENT_CERT), "--request-client");
    if (o->allow_renegotiation)
        config_check(PROG, ferrotls_config_builder_set_client_renegotiation(b, true), "--allow-renegotiation");
    if (o->keylog != NULL)
        config_check(PROG, ferrotls_config_builder_set_keylog_file(b, o->keylog), "--keylog");
    config_check(PROG, ferrotls_config_builder_build(b, &cfg), "building the configuration");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* ---- connections ---------------------------------------------------------------------- */

#define MAX_CONNS 1024
#define REQUEST_MAX 16384   /* an HTTP request head larger than this is refused */
#define RECORD_MAX 16384    /* one TLS record's plaintext */
#define LINGER_SECONDS 5    /* after our close_notify or alert: how long the peer may stay quiet */
#define LINGER_MAX_SECONDS 120 /* ... and the bound on the whole linger while it keeps sending */

/* ST_HTTP_AUTH: Handshake Again, waiting for the client's certificate that a request needs. */
enum conn_state { ST_HANDSHAKE, ST_HTTP_READ, ST_HTTP_AUTH, ST_HTTP_WRITE, ST_ECHO, ST_CLOSING, ST_LINGER };

/* One connection: created zeroed by conn_new() when it is accepted, torn down by conn_finish()
 * as one value (freed), so nothing of it (pending output, a half-read request) can outlive it and
 * reach the next client. CONNS[slot] is NULL while the slot is free. */
struct conn {
    size_t slot;          /* its index in CONNS */
    int fd;
    unsigned long number; /* 1, 2, 3, ... in order of acceptance */
    char peer[80];        /* "127.0.0.1:40000" */
    char trace_prefix[40];
    ferrotls_conn *tls;
    enum conn_state state;
    int failed;           /* it failed (reported); it lingers before it is counted */
    short events;         /* what poll() should wait for */
    time_t linger_until;  /* renewed while the peer still sends, up to linger_cap */
    time_t linger_cap;
    time_t handshake_deadline;
    size_t req_len;
    uint8_t req[REQUEST_MAX];
    size_t before_auth;   /* --ask-cert-path: plaintext bytes received before authentication */
    size_t out_off, out_len; /* the HTTP reply or the echo data not yet accepted */
    uint8_t out[RECORD_MAX];
};

static struct conn *CONNS[MAX_CONNS];
static struct options OPTS;
static unsigned long accepted_total, completed_total, failed_total;

/* A fresh connection in a free slot, every field zero but those given; NULL if none is free
 * (cannot happen: the listener is not polled when all are taken) or memory ran out. */
static struct conn *conn_new(int fd) {
    for (size_t i = 0; i < MAX_CONNS; i++) {
        if (CONNS[i] != NULL)
            continue;
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL)
            return NULL;
        c->slot = i;
        c->fd = fd;
        c->number = ++accepted_total;
        c->state = ST_HANDSHAKE;
        c->handshake_deadline = time(NULL) + OPTS.handshake_timeout;
        c->events = POLLIN;
        snprintf(c->trace_prefix, sizeof c->trace_prefix, "[trace #%lu] ", c->number);
        CONNS[i] = c;
        return c;
    }
    return NULL;
}

/* The connection in `slot` if it is still the one numbered `number`, else NULL (it ended). */
static struct conn *conn_alive(size_t slot, unsigned long number) {
    struct conn *c = CONNS[slot];
    return c != NULL && c->number == number ? c : NULL;
}

/* Ends a connection: its socket, its TLS state and its buffers go together. `c` is invalid after. */
static void conn_finish(struct conn *c, int ok) {
    if (!ok)
        failed_total++;
    completed_total++;
    close(c->fd);
    ferrotls_conn_free(c->tls);
    CONNS[c->slot] = NULL;
    free(c);
}

/* After our close_notify or fatal alert: read and discard until the peer hangs up. */
static void linger_start(struct conn *c) {
    time_t now = time(NULL);
    c->state = ST_LINGER;
    c->linger_until = now + LINGER_SECONDS;
    c->linger_cap = now + LINGER_MAX_SECONDS;
    c->events = POLLIN;
}

static void conn_fail(struct conn *c, ferrotls_result r, const char *what) {
    const char *detail = ferrotls_conn_error_detail(c->tls);
    ferrotls_result sticky = ferrotls_conn_error(c->tls);
    if (sticky != FERROTLS_OK)
        r = sticky;
    if (what != NULL)
        detail = what;
    else if (detail == NULL || detail[0] == '\0')
        detail = ferrotls_result_message(r);
    const char *name = what != NULL ? NULL : ferrotls_result_name(r);
    fprintf(stderr, "%s: connection from %s failed: %s%s%s%s\n", PROG, c->peer,
            detail != NULL ? detail : "unknown error", name != NULL ? " (" : "", name != NULL ? name : "",
            name != NULL ? ")" : "");
    if (what == NULL)
        print_hint(PROG, r, HINT_SERVER, OPTS.verify_client);
    /* Best effort to let the queued alert out (the socket is non-blocking), then linger as
     * after a clean close: closing at once while the peer is still sending (a 128 KiB
     * handshake message we refused at its header, say) would make the kernel answer with a
     * reset that can destroy the alert before the peer reads it. */
    (void)ferrotls_conn_flush(c->tls);
    c->failed = 1;
    shutdown(c->fd, SHUT_WR);
    linger_start(c);
}

/* The status page: plain text, one record when it fits. */
/* The reply: an HTTP/1.0 response with a plain-text body. */
static void set_reply(struct conn *c, const char *status, const char *body) {
    int hlen = snprintf((char *)c->out, sizeof c->out,
                        "HTTP/1.0 %s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "Connection: close\r\n"
                        "\r\n%s",
                        status, strlen(body), body);
    c->out_off = 0;
    c->out_len = (hlen > 0 && (size_t)hlen < sizeof c->out) ? (size_t)hlen : strlen((char *)c->out);
}

/* The request line's path ("GET /private HTTP/1.1" -> "/private") starts with `prefix`. */
static int path_has_prefix(const struct conn *c, const char *prefix) {
    const uint8_t *sp = memchr(c->req, ' ', c->req_len);
    if (sp == NULL)
        return 0;
    size_t off = (size_t)(sp - c->req) + 1, plen = strlen(prefix);
    return c->req_len - off >= plen && memcmp(c->req + off, prefix, plen) == 0;
}

/* The subject of the client's certificate, or "" without one. */
static void client_subject(struct conn *c, char *out, size_t cap) {
    const uint8_t *der = NULL;
    size_t der_len = 0;
    out[0] = '\0';
    if (ferrotls_conn_peer_cert_count(c->tls) > 0 &&
        ferrotls_conn_peer_cert(c->tls, 0, &der, &der_len) == FERROTLS_OK && der != NULL)
        cert_subject(der, der_len, out, cap);
}

/* The last alert is a no_renegotiation warning from the client: it declined our HelloRequest. */
static int client_declined_renegotiation(const struct conn *c) {
    uint8_t description = 0;
    bool ours = true;
    return ferrotls_conn_last_alert(c->tls, &description, &ours) == FERROTLS_OK &&
           description == 100 /* no_renegotiation */ && !ours;
}

/* A read reported FERROTLS_PEER_AUTHENTICATED where no request waits for it (a renegotiation
 * that completed, started by either side): a boundary in the stream, not data. --trace says so. */
static void note_peer_authenticated(struct conn *c) {
    char subject[512];
    if (!OPTS.trace)
        return;
    client_subject(c, subject, sizeof subject);
    fprintf(stderr,
            "%sread: FERROTLS_PEER_AUTHENTICATED: Handshake Again completed at this point of the stream; "
            "client certificate from here on: %s\n",
            c->trace_prefix, subject[0] != '\0' ? subject : "none");
}

/* Handshake Again is over: the page names who the client is and what came before. */
static void build_auth_page(struct conn *c) {
    char subject[512], body[1024];
    client_subject(c, subject, sizeof subject);
    if (subject[0] == '\0') {
        set_reply(c, "403 Forbidden",
                  client_declined_renegotiation(c)
                      ? "ferrotls-server: this path needs a client certificate, and none was given: the client "
                        "declined the new handshake in which it was asked for one (no_renegotiation).\n"
                      : "ferrotls-server: this path needs a client certificate, and none was given.\n");
        return;
    }
    snprintf(body, sizeof body,
             "ferrotls-server: connection %lu from %s\n"
             "Client certificate: %s (authenticated after the handshake)\n"
             "Bytes before authentication: %zu (they came from an unauthenticated client: the "
             "request itself is answered only now)\n",
             c->number, c->peer, subject, c->before_auth);
    set_reply(c, "200 OK", body);
}

static void build_page(struct conn *c) {
    struct summary s;
    char subject[512];
    summary_get(c->tls, &s);
    client_subject(c, subject, sizeof subject);
    char body[4096];
    snprintf(body, sizeof body,
             "ferrotls-server: connection %lu from %s\n"
             "Protocol: %s\n"
             "Cipher: %s\n"
             "Group: %s\n"
             "ALPN: %s\n"
             "SNI: %s\n"
             "Client certificate: %s\n"
             "Resumed: %s\n",
             c->number, c->peer, s.protocol, s.cipher, s.group, s.alpn, s.sni,
             subject[0] != '\0' ? subject : "none", s.resumed ? "yes" : "no");
    set_reply(c, "200 OK", body);
}

/* The request head ends with an empty line; lines end with CRLF or, as many clients and
 * `openssl s_server -www` accept, a bare LF (RFC 9112 section 2.2). */
static int request_complete(const struct conn *c) {
    for (size_t i = 0; i + 1 < c->req_len; i++) {
        if (c->req[i] != '\n')
            continue;
        if (c->req[i + 1] == '\n' || (i + 2 < c->req_len && c->req[i + 1] == '\r' && c->req[i + 2] == '\n'))
            return 1;
    }
    return 0;
}

/* Maps WANT_READ / WANT_WRITE to poll events; returns 1 when the call would block. */
static int would_block(struct conn *c, ferrotls_result r) {
    if (r == FERROTLS_WANT_READ) {
        c->events = POLLIN;
        return 1;
    }
    if (r == FERROTLS_WANT_WRITE) {
        c->events = POLLOUT;
        return 1;
    }
    return 0;
}

/* The end the read states share: CLOSED moves to closing (1: go on), a call that would block
 * waits for poll (0), anything else fails the connection (0). */
static int read_ended(struct conn *c, ferrotls_result r) {
    if (r == FERROTLS_CLOSED) {
        c->state = ST_CLOSING;
        return 1;
    }
    if (!would_block(c, r))
        conn_fail(c, r, NULL);
    return 0;
}

/* Drives one connection as far as it goes without blocking. */
static void conn_step(struct conn *c) {
    ferrotls_result r;
    for (;;) {
        switch (c->state) {
        case ST_HANDSHAKE:
            r = ferrotls_conn_handshake(c->tls);
            if (r == FERROTLS_OK) {
                c->state = OPTS.echo ? ST_ECHO : ST_HTTP_READ;
                continue;
            }
            if (would_block(c, r))
                return;
            conn_fail(c, r, NULL);
            return;

        case ST_HTTP_READ: {
            size_t n = 0;
            r = ferrotls_conn_read(c->tls, c->req + c->req_len, sizeof c->req - c->req_len, &n);
            if (r == FERROTLS_OK) {
                c->req_len += n;
                if (request_complete(c) && OPTS.ask_cert_path != NULL && path_has_prefix(c, OPTS.ask_cert_path) &&
                    ferrotls_conn_peer_cert_count(c->tls) == 0) {
                    /* The seed's scenario: only now does the server know it needs the client's
                     * certificate. Everything read so far came before it. */
                    r = ferrotls_conn_request_client_certificate(c->tls);
                    if (r == FERROTLS_OK) {
                        c->before_auth = c->req_len;
                        c->handshake_deadline = time(NULL) + OPTS.handshake_timeout;
                        c->state = ST_HTTP_AUTH;
                        continue;
                    }
                    char body[768];
                    snprintf(body, sizeof body,
                             "ferrotls-server: this path needs a client certificate, which cannot be asked "
                             "for on this connection: %s\n",
                             ferrotls_last_error_detail());
                    set_reply(c, "403 Forbidden", body);
                    c->state = ST_HTTP_WRITE;
                } else if (request_complete(c)) {
                    build_page(c);
                    c->state = ST_HTTP_WRITE;
                } else if (c->req_len == sizeof c->req) {
                    conn_fail(c, FERROTLS_OK, "HTTP request head larger than 16384 bytes");
                    return;
                }
                continue;
            }
            if (r == FERROTLS_PEER_AUTHENTICATED) { /* the client renegotiated (or was asked to) */
                note_peer_authenticated(c);
                continue;
            }
            if (read_ended(c, r)) /* CLOSED: the client left without a request */
                continue;
            return;
        }

        case ST_HTTP_AUTH: {
            /* Bytes that still come before the client's answer are counted, not served. */
            size_t n = 0;
            r = ferrotls_conn_read(c->tls, c->out, sizeof c->out, &n);
            if (r == FERROTLS_OK) {
                c->before_auth += n;
                continue;
            }
            if (r == FERROTLS_PEER_AUTHENTICATED) {
                build_auth_page(c);
                c->state = ST_HTTP_WRITE;
                continue;
            }
            if (read_ended(c, r))
                continue;
            return;
        }

        case ST_HTTP_WRITE: {
            /* The whole page in one call: one record when it fits in one. */
            size_t accepted = 0;
            r = ferrotls_conn_write(c->tls, c->out + c->out_off, c->out_len - c->out_off, &accepted);
            c->out_off += accepted;
            if (r == FERROTLS_OK && c->out_off == c->out_len) {
                c->state = ST_CLOSING;
                continue;
            }
            if (r == FERROTLS_OK && accepted == 0)
                r = FERROTLS_WANT_WRITE; /* buffers full: wait until the socket drains */
            if (r == FERROTLS_OK)
                continue;
            if (would_block(c, r))
                return;
            conn_fail(c, r, NULL);
            return;
        }

        case ST_ECHO:
            if (c->out_off < c->out_len) {
                size_t accepted = 0;
                r = ferrotls_conn_write(c->tls, c->out + c->out_off, c->out_len - c->out_off, &accepted);
                c->out_off += accepted;
                if (r == FERROTLS_OK && accepted == 0)
                    r = FERROTLS_WANT_WRITE; /* buffers full: wait until the socket drains */
                if (r == FERROTLS_OK)
                    continue;
                if (would_block(c, r))
                    return;
                conn_fail(c, r, NULL);
                return;
            } else {
                size_t n = 0;
                r = ferrotls_conn_read(c->tls, c->out, sizeof c->out, &n);
                if (r == FERROTLS_OK) {
                    c->out_off = 0;
                    c->out_len = n;
                    continue;
                }
                if (r == FERROTLS_PEER_AUTHENTICATED) { /* a boundary, not data: nothing to echo */
                    note_peer_authenticated(c);
                    continue;
                }
                if (read_ended(c, r))
                    continue;
                return;
            }

        case ST_CLOSING:
            r = ferrotls_conn_close(c->tls); /* queues close_notify and flushes */
            if (r == FERROTLS_OK || r == FERROTLS_CLOSED) {
                r = ferrotls_conn_flush(c->tls);
                if (would_block(c, r))
                    return;
                /* Half-close, then wait briefly for the peer to hang up, so that bytes still on
                 * their way to us (their close_notify) do not turn our close into a reset that
                 * could destroy the reply before the client read it. */
                shutdown(c->fd, SHUT_WR);
                linger_start(c);
                continue;
            }
            if (would_block(c, r))
                return;
            conn_fail(c, r, NULL);
            return;

        case ST_LINGER: {
            /* Raw reads past the engine: whatever still comes is discarded. A peer still
             * sending (a large message we refused at its header) renews the wait, so it can
             * finish and read our alert; the cap bounds what a peer can make us hold. */
            uint8_t junk[16384];
            ssize_t n = recv(c->fd, junk, sizeof junk, 0);
            if (n > 0) {
                time_t now = time(NULL);
                c->linger_until = now + LINGER_SECONDS < c->linger_cap ? now + LINGER_SECONDS : c->linger_cap;
                if (now < c->linger_cap)
                    continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && time(NULL) < c->linger_until) {
                c->events = POLLIN;
                return;
            }
            if (n < 0 && errno == EINTR)
                continue;
            conn_finish(c, !c->failed);
            return;
        }
        }
    }
}

static void accept_all(int lfd, ferrotls_config *cfg) {
    for (;;) {
        if (OPTS.max_conns > 0 && accepted_total >= (unsigned long)OPTS.max_conns)
            return;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(lfd, (struct sockaddr *)&ss, &sl);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "%s: accept: %s\n", PROG, strerror(errno));
            return;
        }
        struct conn *c = conn_new(fd);
        if (c == NULL) {
            fprintf(stderr, "%s: connection dropped: no free slot or out of memory\n", PROG);
            close(fd);
            continue;
        }
        char host[64] = "?", serv[16] = "?";
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(c->peer, sizeof c->peer, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, serv);

        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
            fprintf(stderr, "%s: connection from %s failed: fcntl: %s\n", PROG, c->peer, strerror(errno));
            conn_finish(c, 0);
            continue;
        }
        ferrotls_result r = ferrotls_conn_new_server(cfg, &c->tls);
        if (r == FERROTLS_OK)
            r = ferrotls_conn_set_fd(c->tls, fd);
        if (r == FERROTLS_OK && OPTS.trace)
            r = ferrotls_conn_set_trace_callback(c->tls, trace_print, c->trace_prefix);
        if (r != FERROTLS_OK) {
            if (c->tls == NULL) {
                fprintf(stderr, "%s: connection from %s failed: %s (%s)\n", PROG, c->peer,
                        ferrotls_last_error_detail(), ferrotls_result_name(r));
                conn_finish(c, 0);
            } else {
                conn_fail(c, r, NULL);
            }
            continue;
        }
        conn_step(c);
    }
}

static int listen_on(const char *host, const char *port, char *shown, size_t shown_cap) {
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, err, one = 1, saved = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
        fprintf(stderr, "%s: error: cannot resolve %s: %s\n", PROG, host, gai_strerror(err));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, MAX_CONNS) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "%s: error: cannot listen on %s:%s: %s\n", PROG, host, port, strerror(saved));
        return -1;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        fprintf(stderr, "%s: error: fcntl: %s\n", PROG, strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[64] = "?", s[16] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, s, sizeof s, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(shown, shown_cap, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, s);
    return fd;
}

int main(int argc, char **argv) {
    static struct pollfd pfds[MAX_CONNS + 1];
    /* Which connection each pollfd belongs to (its slot; LISTENER for the listener) and its
     * number: a connection that ends during this round may have its slot taken by a new one. */
    static size_t owner_slots[MAX_CONNS + 1];
    static unsigned long owner_numbers[MAX_CONNS + 1];
    const size_t LISTENER = (size_t)-1;
    char shown[100];

    signal(SIGPIPE, SIG_IGN); /* the library sends with MSG_NOSIGNAL; this covers everything else */
    parse_options(argc, argv, &OPTS);
    ferrotls_config *cfg = build_config(&OPTS);
    int lfd = listen_on(OPTS.host, OPTS.port, shown, sizeof shown);
    if (lfd < 0)
        return EXIT_FAIL;
    fprintf(stderr, "%s: listening on %s\n", PROG, shown);
    fflush(stderr);

    for (;;) {
        if (OPTS.max_conns > 0 && completed_total >= (unsigned long)OPTS.max_conns)
            break;
        nfds_t n = 0;
        size_t active = 0;
        int timeout = -1;
        time_t now = time(NULL);
        for (size_t i = 0; i < MAX_CONNS; i++) {
            struct conn *c = CONNS[i];
            if (c == NULL)
                continue;
            active++;
            int waiting = c->state == ST_HANDSHAKE || c->state == ST_HTTP_AUTH;
            if (waiting && now >= c->handshake_deadline) {
                /* A peer that connects and never finishes must not hold a slot forever. */
                char why[200];
                if (c->state == ST_HANDSHAKE)
                    snprintf(why, sizeof why, "the TLS handshake did not finish within %ld s (--handshake-timeout)",
                             OPTS.handshake_timeout);
                else
                    snprintf(why, sizeof why,
                             "the client did not answer our request for its certificate (Handshake Again, %s) "
                             "within %ld s (--handshake-timeout)",
                             ferrotls_conn_protocol_version(c->tls) == 0x0304 ? "TLS 1.3 post-handshake authentication"
                                                                              : "TLS 1.2 renegotiation",
                             OPTS.handshake_timeout);
                conn_fail(c, FERROTLS_ERR_UNEXPECTED_EOF, why);
                /* It lingers now, and is polled below like any lingering connection: skipping it
                 * this round could leave poll() with no descriptor and no timeout (the listener
                 * is not polled once --max-conns were accepted) and the server asleep for good. */
                waiting = 0;
            }
            if (waiting) {
                int ms = (int)(c->handshake_deadline - now) * 1000;
                if (timeout < 0 || ms < timeout)
                    timeout = ms;
            }
            if (c->state == ST_LINGER) {
                int left = (int)(c->linger_until - now);
                int ms = left > 0 ? left * 1000 : 0;
                if (timeout < 0 || ms < timeout)
                    timeout = ms;
            }
            pfds[n].fd = c->fd;
            pfds[n].events = c->events;
            pfds[n].revents = 0;
            owner_numbers[n] = c->number;
            owner_slots[n++] = c->slot;
        }
        int accepting = active < MAX_CONNS &&
                        !(OPTS.max_conns > 0 && accepted_total >= (unsigned long)OPTS.max_conns);
        if (accepting) {
            pfds[n].fd = lfd;
            pfds[n].events = POLLIN;
            pfds[n].revents = 0;
            owner_slots[n++] = LISTENER;
        }
        int ready = poll(pfds, n, timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: error: poll: %s\n", PROG, strerror(errno));
            return EXIT_FAIL;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (owner_slots[i] == LISTENER) {
                if (pfds[i].revents & POLLIN)
                    accept_all(lfd, cfg);
                continue;
            }
            struct conn *c = conn_alive(owner_slots[i], owner_numbers[i]);
            if (c == NULL)
                continue; /* it ended earlier in this round */
            if (pfds[i].revents != 0 || (c->state == ST_LINGER && ready == 0)) {
                conn_step(c);
            } else if (c->state == ST_LINGER && time(NULL) >= c->linger_until) {
                conn_finish(c, !c->failed);
            }
        }
    }
    close(lfd);
    ferrotls_config_free(cfg);
    fprintf(stderr, "%s: %lu connection(s) served, %lu failed; exiting (--max-conns)\n", PROG,
            completed_total, failed_total);
    return EXIT_OK;
}
