/* ferrotls-client: a TLS client on the sans-IO API.
 *
 *   ferrotls-client [options] HOST PORT
 *
 * The program owns the socket. The engine never touches it: ciphertext from the socket goes in
 * with ferrotls_conn_feed(), ciphertext to send comes out with ferrotls_conn_peek_outgoing() +
 * ferrotls_conn_consume_outgoing(). stdin goes to the server, the server's bytes to stdout, a
 * summary of the handshake to stderr. Exit 0 after a clean close, 1 on an error, 2 on a usage
 * error. A silent server is given up on after --timeout seconds (see the option).
 *
 * Handshake Again (TLS 1.2 secure renegotiation, RFC 5746): the engine answers a server's
 * HelloRequest by itself (--no-renegotiation declines it); --renegotiate starts one at stdin's
 * end and waits until it completed or the server declined it, reading all the while. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
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

static const char *PROG = "ferrotls-client";

static const char USAGE[] =
    "usage: ferrotls-client [options] HOST PORT\n"
    "  --servername NAME      SNI and the name verified (default HOST)\n"
    "  --cafile FILE          trust anchors, PEM (default: the system store)\n"
    "  --cert FILE --key FILE client certificate (also sent when a server asks after the\n"
    "                         handshake: TLS 1.3 post-handshake authentication, TLS 1.2\n"
    "                         renegotiation)\n"
    "  --tls1.2 | --tls1.3    only that version (default: both)\n"
    "  --ciphers LIST         colon-separated; IANA names and OpenSSL names both accepted\n"
    "  --groups LIST          colon-separated, in preference order (default\n"
    "                         X25519MLKEM768:X25519:P-256:P-384, with key shares for the first\n"
    "                         two): X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024,\n"
    "                         MLKEM1024 (post-quantum, TLS 1.3 only), X25519, P-256, P-384\n"
    "  --alpn LIST            comma-separated\n"
    "  --sess-out FILE        save the session; --sess-in FILE resumes from it\n"
    "  --keylog FILE          NSS key log (SSLKEYLOGFILE format)\n"
    "  --trace                show every record and handshake message, in order\n"
    "  --timeout SECONDS      give up on a silent server (default 15; 0 = no limit): a limit on\n"
    "                         the TCP connect, on the whole TLS handshake, and on each wait for\n"
    "                         the reply once stdin has ended (while stdin is open, no limit)\n"
    "  --allow-no-ems         accept a TLS 1.2 server without Extended Master Secret (RFC 7627;\n"
    "                         required by default: without it TLS 1.2 is open to the triple\n"
    "                         handshake attack)\n"
    "  --renegotiate          TLS 1.2: once stdin has ended and all of it was sent, start a new\n"
    "                         handshake (secure renegotiation, RFC 5746) and wait, still\n"
    "                         printing what the server sends, until it completed (stderr:\n"
    "                         \"renegotiation complete\") or the server declined it (stderr: \"the\n"
    "                         server declined ...\"; exit 0 all the same); then close as usual.\n"
    "                         When it cannot happen (TLS 1.3 was negotiated, the server showed\n"
    "                         no RFC 5746 support, the server closed first) the reason goes to\n"
    "                         stderr, the connection ends as usual and the exit code is 1.\n"
    "                         With --tls1.3 or --no-renegotiation: a usage error\n"
    "  --no-renegotiation     decline a server's request for a new handshake (HelloRequest) with\n"
    "                         a no_renegotiation warning (default: answer it, as OpenSSL does)\n"
    "stdin goes to the server, the server's bytes to stdout, a summary to stderr.\n"
    "Exit 0 after a clean close; 1 on an error (detail on stderr), also when --renegotiate\n"
    "could not happen; 2 on a usage error.\n";

enum {
    O_SERVERNAME = 1, O_CAFILE, O_CERT, O_KEY, O_TLS12, O_TLS13, O_CIPHERS, O_GROUPS, O_ALPN,
    O_SESS_OUT, O_SESS_IN, O_KEYLOG, O_TRACE, O_TIMEOUT, O_ALLOW_NO_EMS, O_RENEGOTIATE, O_NO_RENEGOTIATION,
};

static const struct opt_spec SPECS[] = {
    {"--servername", 1, O_SERVERNAME}, {"--cafile", 1, O_CAFILE}, {"--cert", 1, O_CERT},
    {"--key", 1, O_KEY},               {"--tls1.2", 0, O_TLS12},  {"--tls1.3", 0, O_TLS13},
    {"--ciphers", 1, O_CIPHERS},       {"--groups", 1, O_GROUPS}, {"--alpn", 1, O_ALPN},
    {"--sess-out", 1, O_SESS_OUT},     {"--sess-in", 1, O_SESS_IN}, {"--keylog", 1, O_KEYLOG},
    {"--trace", 0, O_TRACE},           {"--timeout", 1, O_TIMEOUT},
    {"--allow-no-ems", 0, O_ALLOW_NO_EMS}, {"--renegotiate", 0, O_RENEGOTIATE},
    {"--no-renegotiation", 0, O_NO_RENEGOTIATION}, {NULL, 0, 0},
};

struct options {
    struct protocol_options proto;
    const char *host, *port, *servername, *cafile, *cert, *key;
    const char *sess_out, *sess_in, *keylog;
    int trace;
    int renegotiate;      /* --renegotiate: a new handshake at stdin's end (TLS 1.2) */
    int no_renegotiation; /* --no-renegotiation: decline the server's HelloRequests */
    long timeout; /* seconds; 0 = no limit */
};

static void parse_options(int argc, char **argv, struct options *o) {
    int i = 1, id, positional = 0;
    const char *v;
    memset(o, 0, sizeof *o);
    o->timeout = 15;
    while ((id = opt_next(argc, argv, &i, SPECS, PROG, USAGE, &v)) != -1) {
        switch (id) {
        case 0:
            if (positional == 0)
                o->host = v;
            else if (positional == 1)
                o->port = v;
            else
                usage_exit(PROG, USAGE, "unexpected argument '%s'", v);
            positional++;
            break;
        case O_SERVERNAME: o->servername = v; break;
        case O_CAFILE: o->cafile = v; break;
        case O_CERT: o->cert = v; break;
        case O_KEY: o->key = v; break;
        case O_TLS12: o->proto.tls12 = 1; break;
        case O_TLS13: o->proto.tls13 = 1; break;
        case O_CIPHERS: o->proto.ciphers = v; break;
        case O_GROUPS: o->proto.groups = v; break;
        case O_ALPN: o->proto.alpn = v; break;
        case O_SESS_OUT: o->sess_out = v; break;
        case O_SESS_IN: o->sess_in = v; break;
        case O_KEYLOG: o->keylog = v; break;
        case O_TRACE: o->trace = 1; break;
        case O_TIMEOUT: o->timeout = parse_number(PROG, USAGE, "--timeout", v, 0, 86400L); break;
        case O_ALLOW_NO_EMS: o->proto.allow_no_ems = 1; break;
        case O_RENEGOTIATE: o->renegotiate = 1; break;
        case O_NO_RENEGOTIATION: o->no_renegotiation = 1; break;
        }
    }
    if (positional < 2)
        usage_exit(PROG, USAGE, "HOST and PORT are required");
    if ((o->cert == NULL) != (o->key == NULL))
        usage_exit(PROG, USAGE, "--cert and --key go together");
    if (o->renegotiate && o->proto.tls13)
        usage_exit(PROG, USAGE, "--renegotiate is TLS 1.2's (TLS 1.3 has no renegotiation); it excludes --tls1.3");
    if (o->renegotiate && o->no_renegotiation)
        usage_exit(PROG, USAGE, "--renegotiate and --no-renegotiation exclude each other");
    parse_number(PROG, USAGE, "PORT", o->port, 1, 65535);
    protocol_options_check(PROG, USAGE, &o->proto);
}

static ferrotls_config *build_config(const struct options *o) {
    ferrotls_config_builder *b = NULL;
    ferrotls_config *cfg = NULL;
    config_check(PROG, ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b), "creating the configuration");
    protocol_options_apply(PROG, b, &o->proto);
    if (o->cafile != NULL)
        config_check(PROG, ferrotls_config_builder_add_roots_file(b, o->cafile), "loading --cafile");
    else
        config_check(PROG, ferrotls_config_builder_add_system_roots(b), "loading the system trust store");
    if (o->cert != NULL) {
        cert_key_check(PROG, ferrotls_config_builder_add_cert_key_file(b, o->cert, o->key));
        /* Handshake Again: a server may ask for the certificate after the handshake (TLS 1.3
         * post-handshake authentication; TLS 1.2 a renegotiation, which needs no option); the
         * engine answers by itself. */
        config_check(PROG, ferrotls_config_builder_set_post_handshake_auth(b, true), "--cert");
    }
    if (o->no_renegotiation)
        config_check(PROG, ferrotls_config_builder_set_renegotiation(b, false), "--no-renegotiation");
    if (o->keylog != NULL)
        config_check(PROG, ferrotls_config_builder_set_keylog_file(b, o->keylog), "--keylog");
    config_check(PROG, ferrotls_config_builder_build(b, &cfg), "building the configuration");
    ferrotls_config_builder_free(b);
    return cfg;
}

/* Milliseconds on a clock that only moves forward (the wall clock may be set back). */
static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll() until `deadline` (now_ms() time; -1 = none). Returns poll's result: 0 once the deadline
 * has passed. EINTR is retried with the time that is left. */
static int poll_until(struct pollfd *pfd, nfds_t n, long long deadline) {
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0)
                return 0;
            wait = left > INT_MAX ? INT_MAX : (int)left;
        }
        int r = poll(pfd, n, wait);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

/* Waits for a non-blocking connect to finish; returns 0 or the errno of the failure (ETIMEDOUT,
 * and *timed_out = 1, when our limit struck). */
static int wait_connected(int fd, long timeout, int *timed_out) {
    struct pollfd pfd = {fd, POLLOUT, 0};
    int r = poll_until(&pfd, 1, timeout > 0 ? now_ms() + timeout * 1000 : -1);
    if (r < 0)
        return errno;
    if (r == 0) {
        *timed_out = 1;
        return ETIMEDOUT;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return errno;
    return soerr;
}

/* Connects to one address without blocking, so that a host which never answers the SYN is given
 * up on after `timeout` seconds (0 = wait as long as the kernel does). Returns the non-blocking
 * socket, or -1 with errno set. */
static int connect_one(const struct addrinfo *ai, long timeout, int *timed_out) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int err = 0;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        err = errno;
    else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        /* EINTR: the connect goes on in the background, as with EINPROGRESS */
        err = errno == EINPROGRESS || errno == EINTR ? wait_connected(fd, timeout, timed_out) : errno;
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static int connect_to(const char *host, const char *port, long timeout) {
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, err, saved = 0, timed_out = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
        fprintf(stderr, "%s: error: cannot resolve %s: %s\n", PROG, host, gai_strerror(err));
        return -1;
    }
    /* Each address gets the whole limit: "localhost" may be ::1 first, and a dead first
       address must not eat the time of a live second one. The last failure is reported. */
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        timed_out = 0;
        fd = connect_one(ai, timeout, &timed_out);
        if (fd >= 0)
            break;
        saved = errno;
    }
    freeaddrinfo(res);
    if (fd < 0 && timed_out)
        fprintf(stderr, "%s: error: timed out after %ld s connecting to %s port %s (--timeout %ld)\n", PROG,
                timeout, host, port, timeout);
    else if (fd < 0)
        fprintf(stderr, "%s: error: cannot connect to %s port %s: %s\n", PROG, host, port, strerror(saved));
    return fd;
}

/* The state of the one connection. */
struct client {
    ferrotls_conn *conn;
    int fd;
    uint8_t in[32768]; /* ciphertext read from the socket, not yet consumed by the engine */
    size_t in_off, in_len;
    uint8_t plain[16384]; /* stdin bytes not yet accepted by the engine */
    size_t plain_off, plain_len;
    int hs_done, stdin_eof, close_sent, peer_closed, sock_eof;
    int have_cert; /* --cert was given (for the hints) */
    int no_renegotiation; /* --no-renegotiation was given (for the hints) */
    int have_groups; /* --groups was given (for the hints) */
    long long last_io; /* now_ms() of the last bytes moved on the socket, or of stdin's end */
    /* --renegotiate: RENEG_TODO until stdin's end, RENEG_RUNNING until the new handshake
     * completed or was declined, then RENEG_NONE (also without --renegotiate). */
    enum { RENEG_NONE, RENEG_TODO, RENEG_RUNNING } reneg;
    int exit_code; /* EXIT_OK, or EXIT_FAIL once --renegotiate could not happen */
};

static void fail(struct client *cl, ferrotls_result r) {
    const uint8_t *p = NULL;
    size_t len = 0;
    /* Best effort: let the queued alert out, without blocking. */
    if (cl->fd >= 0 && ferrotls_conn_peek_outgoing(cl->conn, &p, &len) == FERROTLS_OK && len > 0)
        (void)send(cl->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    ferrotls_result sticky = ferrotls_conn_error(cl->conn);
    if (sticky != FERROTLS_OK)
        r = sticky;
    print_error(PROG, r, ferrotls_conn_error_detail(cl->conn));
    print_hint(PROG, r, HINT_CLIENT,
               (cl->have_cert ? HINT_HAVE_CERT : 0) | (cl->no_renegotiation ? HINT_NO_RENEGOTIATION : 0) |
                   (cl->have_groups ? HINT_GROUPS : 0));
    exit(EXIT_FAIL);
}

static void write_all_stdout(const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "%s: error: writing to stdout: %s\n", PROG, strerror(errno));
            exit(EXIT_FAIL);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Write out whatever plaintext the engine holds (used when the connection is ending). */
static void drain_plaintext(struct client *cl) {
    uint8_t buf[16384];
    size_t n = 0;
    ferrotls_result r;
    while ((r = ferrotls_conn_read(cl->conn, buf, sizeof buf, &n)) == FERROTLS_OK ||
           r == FERROTLS_PEER_AUTHENTICATED) {
        if (r == FERROTLS_PEER_AUTHENTICATED)
            fprintf(stderr, "%s: the server authenticated again; what follows is from it as it is now\n", PROG);
        else
            write_all_stdout(buf, n);
    }
}

static void print_summary(const ferrotls_conn *c) {
    struct summary s;
    summary_get(c, &s);
    fprintf(stderr,
            "Protocol: %s\nCipher: %s\nGroup: %s\nALPN: %s\nPeer certificate: %s\nResumed: %s\n",
            s.protocol, s.cipher, s.group, s.alpn, s.peer_subject, s.resumed ? "yes" : "no");
}

/* --renegotiate: why it cannot happen, on stderr; the connection then ends as usual, exit 1. */
static void renegotiation_failed(struct client *cl, ferrotls_result r, const char *why) {
    char detail[600];
    snprintf(detail, sizeof detail, "--renegotiate: %s", why != NULL && why[0] != '\0' ? why : "refused");
    print_error(PROG, r, detail);
    cl->reneg = RENEG_NONE;
    cl->exit_code = EXIT_FAIL;
}

/* --renegotiate, once the handshake is done: at stdin's end (everything sent) start the new
 * handshake; then watch for its end: complete (the engine waits for application data again) or
 * declined (the server's no_renegotiation warning). Returns 1 when something changed. */
static int renegotiation_step(struct client *cl) {
    if (cl->reneg == RENEG_TODO) {
        if (!cl->stdin_eof || cl->plain_len > 0)
            return 0;
        if (cl->peer_closed) {
            renegotiation_failed(cl, FERROTLS_ERR_WRONG_STATE,
                                 "the server closed the connection (close_notify) before the renegotiation "
                                 "could start");
            return 1;
        }
        ferrotls_result r = ferrotls_conn_renegotiate(cl->conn);
        if (r == FERROTLS_OK) {
            cl->reneg = RENEG_RUNNING;
            return 1;
        }
        if (ferrotls_conn_error(cl->conn) != FERROTLS_OK)
            fail(cl, r); /* the connection itself failed */
        /* A usage error (TLS 1.3, no RFC 5746 support, ...) changed nothing: say why, end as usual. */
        renegotiation_failed(cl, r, ferrotls_last_error_detail());
        return 1;
    }
    /* RENEG_RUNNING */
    uint8_t description = 0;
    bool ours = true;
    if (ferrotls_conn_last_alert(cl->conn, &description, &ours) == FERROTLS_OK &&
        description == 100 /* no_renegotiation */ && !ours) {
        fprintf(stderr, "%s: the server declined the renegotiation (no_renegotiation); the connection goes on\n", PROG);
        cl->reneg = RENEG_NONE;
        return 1;
    }
    const char *step = ferrotls_conn_awaiting(cl->conn);
    if (step != NULL && strcmp(step, "application data") == 0) {
        fprintf(stderr, "%s: renegotiation complete (Handshake Again)\n", PROG);
        cl->reneg = RENEG_NONE;
        return 1;
    }
    if (cl->peer_closed) {
        renegotiation_failed(cl, FERROTLS_ERR_WRONG_STATE,
                             "the server closed the connection (close_notify) before the renegotiation completed");
        return 1;
    }
    return 0;
}

/* Runs the engine as far as it goes without new input. */
static void progress(struct client *cl) {
    ferrotls_result r;
    for (;;) {
        int moved = 0;
        if (cl->in_off < cl->in_len && !cl->peer_closed) {
            size_t consumed = 0;
            r = ferrotls_conn_feed(cl->conn, cl->in + cl->in_off, cl->in_len - cl->in_off, &consumed);
            if (r != FERROTLS_OK && r != FERROTLS_WANT_READ && r != FERROTLS_CLOSED)
                fail(cl, r);
            cl->in_off += consumed;
            if (cl->in_off == cl->in_len)
                cl->in_off = cl->in_len = 0;
            moved |= consumed > 0;
        }
        if (!cl->hs_done) {
            r = ferrotls_conn_handshake(cl->conn);
            if (r == FERROTLS_OK) {
                cl->hs_done = 1;
                moved = 1;
                print_summary(cl->conn);
            } else if (r != FERROTLS_WANT_READ) {
                fail(cl, r);
            }
        }
        if (cl->hs_done && !cl->peer_closed) {
            uint8_t buf[16384];
            size_t n = 0;
            for (;;) {
                r = ferrotls_conn_read(cl->conn, buf, sizeof buf, &n);
                if (r == FERROTLS_OK) {
                    write_all_stdout(buf, n);
                    moved = 1;
                } else if (r == FERROTLS_PEER_AUTHENTICATED) {
                    /* A boundary, not data (the engine reports it on servers; a client would
                     * see it only if the server's identity could change). */
                    fprintf(stderr, "%s: the server authenticated again; what follows is from it as it is now\n",
                            PROG);
                    moved = 1;
                } else if (r == FERROTLS_CLOSED) {
                    cl->peer_closed = 1;
                    break;
                } else if (r == FERROTLS_WANT_READ) {
                    break;
                } else {
                    fail(cl, r);
                }
            }
        }
        if (cl->hs_done && !cl->peer_closed && !cl->close_sent && cl->plain_off < cl->plain_len) {
            size_t accepted = 0;
            r = ferrotls_conn_write(cl->conn, cl->plain + cl->plain_off, cl->plain_len - cl->plain_off,
                                    &accepted);
            if (r != FERROTLS_OK && r != FERROTLS_WANT_WRITE && r != FERROTLS_WANT_READ)
                fail(cl, r);
            cl->plain_off += accepted;
            if (cl->plain_off == cl->plain_len)
                cl->plain_off = cl->plain_len = 0;
            moved |= accepted > 0;
        }
        if (cl->hs_done && cl->reneg != RENEG_NONE)
            moved |= renegotiation_step(cl);
        /* stdin is done and all of it went in (and --renegotiate's new handshake is over): say
         * goodbye, then keep reading the reply. Also answer the peer's close_notify with ours. */
        if (cl->hs_done && !cl->close_sent &&
            ((cl->stdin_eof && cl->plain_len == 0 && cl->reneg == RENEG_NONE) || cl->peer_closed)) {
            r = ferrotls_conn_close(cl->conn);
            /* Answering the peer's close_notify is a courtesy: the close was clean either way. */
            if (r != FERROTLS_OK && r != FERROTLS_WANT_WRITE && r != FERROTLS_CLOSED && !cl->peer_closed)
                fail(cl, r);
            cl->close_sent = 1;
            moved = 1;
        }
        if (!moved)
            return;
    }
}

/* --sess-in: offer the saved session. A missing or unusable file means a full handshake. */
static void load_session(ferrotls_conn *conn, const char *path) {
    uint8_t buf[65536];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot read session file '%s': %s; doing a full handshake\n", PROG, path,
                strerror(errno));
        return;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ferrotls_result r = ferrotls_conn_set_session(conn, buf, n);
    if (r != FERROTLS_OK)
        fprintf(stderr, "%s: session file '%s' not used: %s; doing a full handshake\n", PROG, path,
                ferrotls_last_error_detail());
}

/* --sess-out: save the session (it holds the session's secret: the file is made 0600). */
static void save_session(ferrotls_conn *conn, const char *path) {
    size_t needed = 0;
    ferrotls_result r = ferrotls_conn_get_session(conn, NULL, 0, &needed);
    if (r == FERROTLS_ERR_NOT_FOUND) {
        fprintf(stderr, "%s: no session to save: %s\n", PROG, ferrotls_last_error_detail());
        return;
    }
    uint8_t *buf = malloc(needed);
    if (buf == NULL || ferrotls_conn_get_session(conn, buf, needed, &needed) != FERROTLS_OK) {
        fprintf(stderr, "%s: cannot get the session: %s\n", PROG, ferrotls_last_error_detail());
        free(buf);
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    if (f == NULL || fwrite(buf, 1, needed, f) != needed || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write session file '%s': %s\n", PROG, path, strerror(errno));
        if (f == NULL && fd >= 0)
            close(fd);
    }
    free(buf);
}

/* Sends what the engine queued; returns 1 if some is left (socket full). */
static int send_outgoing(struct client *cl) {
    for (;;) {
        const uint8_t *p = NULL;
        size_t len = 0;
        ferrotls_result r = ferrotls_conn_peek_outgoing(cl->conn, &p, &len);
        if (r != FERROTLS_OK)
            fail(cl, r);
        if (len == 0)
            return 0;
        ssize_t n = send(cl->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 1;
            if (cl->close_sent && cl->peer_closed)
                return 0; /* both sides said goodbye; the peer may already be gone */
            if (errno == EPIPE || errno == ECONNRESET) {
                /* The peer hung up. Read what it sent before it went (its alert, its data),
                   then report the TLS view of the ending: close_notify or truncation. */
                int saved = errno;
                uint8_t buf[16384];
                ssize_t got;
                while ((got = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                    size_t used = 0;
                    if (ferrotls_conn_feed(cl->conn, buf, (size_t)got, &used) != FERROTLS_OK)
                        break;
                }
                drain_plaintext(cl);
                ferrotls_result eof = ferrotls_conn_feed_eof(cl->conn);
                if (eof == FERROTLS_OK || eof == FERROTLS_CLOSED)
                    eof = FERROTLS_ERR_UNEXPECTED_EOF; /* we still had bytes to send */
                fprintf(stderr, "%s: send: %s\n", PROG, strerror(saved));
                fail(cl, eof);
            }
            fprintf(stderr, "%s: error: send: %s\n", PROG, strerror(errno));
            exit(EXIT_FAIL);
        }
        r = ferrotls_conn_consume_outgoing(cl->conn, (size_t)n);
        if (r != FERROTLS_OK)
            fail(cl, r);
        cl->last_io = now_ms();
    }
}

int main(int argc, char **argv) {
    struct options o;
    static struct client cl;
    ferrotls_result r;

    signal(SIGPIPE, SIG_IGN);
    parse_options(argc, argv, &o);

    ferrotls_config *cfg = build_config(&o);
    const char *name = o.servername != NULL ? o.servername : o.host;
    cl.fd = -1;
    cl.have_cert = o.cert != NULL;
    cl.no_renegotiation = o.no_renegotiation;
    cl.have_groups = o.proto.groups != NULL;
    cl.reneg = o.renegotiate ? RENEG_TODO : RENEG_NONE;
    cl.exit_code = EXIT_OK;
    r = ferrotls_conn_new_client(cfg, name, &cl.conn);
    if (r != FERROTLS_OK) {
        print_error(PROG, r, ferrotls_last_error_detail());
        return EXIT_FAIL;
    }
    ferrotls_config_free(cfg); /* the connection holds its own reference */
    if (o.sess_in != NULL)
        load_session(cl.conn, o.sess_in);
    if (o.trace) {
        r = ferrotls_conn_set_trace_callback(cl.conn, trace_print, (void *)"[trace] ");
        if (r != FERROTLS_OK)
            fail(&cl, r);
    }

    cl.fd = connect_to(o.host, o.port, o.timeout); /* non-blocking from here on */
    if (cl.fd < 0)
        return EXIT_FAIL;
    /* The handshake as a whole gets --timeout: a server that takes the TCP connection and then
       says nothing (or stops halfway) must not hang us. */
    long long limit_ms = o.timeout * 1000;
    long long hs_deadline = o.timeout > 0 ? now_ms() + limit_ms : -1;
    cl.last_io = now_ms();

    for (;;) {
        progress(&cl);
        int blocked = send_outgoing(&cl);
        if (cl.peer_closed && cl.close_sent && !blocked)
            break; /* clean close: close_notify received (and ours sent) */
        if (cl.sock_eof && !blocked) {
            /* Only close_notify marks the end of the data: a bare EOF may be a truncation
               attack, even after we said goodbye ourselves. */
            r = ferrotls_conn_feed_eof(cl.conn);
            progress(&cl);
            if (cl.peer_closed)
                continue;
            fail(&cl, r == FERROTLS_OK || r == FERROTLS_CLOSED ? FERROTLS_ERR_UNEXPECTED_EOF : r);
        }

        /* Which limit applies now: the handshake's; after it, none while stdin is open (the
           user may be typing, and a quiet server is then normal); once stdin has ended we
           only wait for the reply, and each silence of --timeout ends that wait. */
        long long deadline = -1;
        if (o.timeout > 0 && !cl.hs_done)
            deadline = hs_deadline;
        else if (o.timeout > 0 && cl.stdin_eof)
            deadline = cl.last_io + limit_ms;
        if (deadline >= 0 && now_ms() >= deadline) {
            /* Just go: during the handshake there is no session to close politely, and after
               our request our close_notify is already queued (or sent). */
            if (!cl.hs_done) {
                const char *step = ferrotls_conn_awaiting(cl.conn);
                fprintf(stderr, "%s: error: timed out after %ld s waiting for %s from %s port %s (--timeout %ld)\n",
                        PROG, o.timeout, step != NULL ? step : "the server", o.host, o.port, o.timeout);
            } else if (cl.reneg == RENEG_RUNNING) {
                const char *step = ferrotls_conn_awaiting(cl.conn);
                fprintf(stderr,
                        "%s: error: --renegotiate: the new handshake did not complete: no data from the server "
                        "for %ld s while waiting for %s (--timeout %ld)\n",
                        PROG, o.timeout, step != NULL ? step : "its answer", o.timeout);
            } else {
                fprintf(stderr, "%s: error: no data from the server for %ld s after our request (--timeout %ld)\n",
                        PROG, o.timeout, o.timeout);
            }
            return EXIT_FAIL;
        }

        struct pollfd pfd[2];
        nfds_t nfds = 1;
        pfd[0].fd = cl.fd;
        pfd[0].events = (short)((blocked ? POLLOUT : 0) |
                                (!cl.sock_eof && cl.in_len < sizeof cl.in ? POLLIN : 0));
        pfd[0].revents = 0;
        int want_stdin = cl.hs_done && !cl.stdin_eof && !cl.close_sent && cl.plain_len == 0 && !blocked;
        if (want_stdin) {
            pfd[1].fd = STDIN_FILENO;
            pfd[1].events = POLLIN;
            pfd[1].revents = 0;
            nfds = 2;
        }
        int ready = poll_until(pfd, nfds, deadline);
        if (ready < 0) {
            fprintf(stderr, "%s: error: poll: %s\n", PROG, strerror(errno));
            return EXIT_FAIL;
        }
        if (ready == 0)
            continue; /* the deadline: the top of the loop reports it */
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(cl.fd, cl.in + cl.in_len, sizeof cl.in - cl.in_len, 0);
            if (n > 0) {
                cl.in_len += (size_t)n;
                cl.last_io = now_ms();
            } else if (n == 0) {
                cl.sock_eof = 1;
            } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                if (cl.close_sent && cl.hs_done && errno == ECONNRESET) {
                    cl.sock_eof = 1; /* we said goodbye; a reset is the peer hanging up */
                } else {
                    fprintf(stderr, "%s: error: recv: %s\n", PROG, strerror(errno));
                    ferrotls_conn_feed_eof(cl.conn);
                    print_error(PROG, ferrotls_conn_error(cl.conn), ferrotls_conn_error_detail(cl.conn));
                    return EXIT_FAIL;
                }
            }
        }
        if (want_stdin && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, cl.plain, sizeof cl.plain);
            if (n > 0) {
                cl.plain_off = 0;
                cl.plain_len = (size_t)n;
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                cl.stdin_eof = 1;
                cl.last_io = now_ms(); /* the wait for the reply starts now */
            }
        }
    }
    if (o.sess_out != NULL)
        save_session(cl.conn, o.sess_out);
    close(cl.fd);
    ferrotls_conn_free(cl.conn);
    return cl.exit_code;
}
