/* ferrotls-loadgen: a bounded TLS load generator for the loopback tests (tests/c/run.sh).
 *
 *   ferrotls-loadgen --cafile CA [--servername NAME] --conns N --concurrency C [--bytes B]
 *                    [--timeout SECS] [--hold] [--hold-ms MS] HOST PORT
 *
 * Opens N TLS connections in total, C at a time, to `ferrotls-server --echo` on a loopback
 * address. Each one: TCP connect, handshake, sends B bytes of pseudo-random data (different
 * for every connection), reads them back and compares them byte for byte, sends close_notify
 * and waits for the server's. One thread, non-blocking sockets and poll(); the connections
 * use the fd mode of the C API (ferrotls_conn_set_fd), like ferrotls-server.
 *
 * With --hold, a connection that finished its handshake waits until every open connection has
 * (so that the server holds C established connections at once) before sending its data;
 * --hold-ms MS keeps them all waiting MS milliseconds more (time to look at the server).
 *
 * Bounded: N and C are capped, the whole run ends after --timeout seconds (default 60), and
 * only loopback addresses (127.0.0.0/8, ::1) are accepted.
 *
 * Output (stdout), one line:
 *   loadgen: N ok, N failed, N handshakes in S s (+H s --hold-ms), R handshakes/s, handshake latency ms
 *   min/avg/p50/p99/max ..., peak N open / N established, N bytes echoed
 * Failures are described on stderr (the first 20). Exit 0 when every connection succeeded,
 * 1 on any failure or when the timeout passed, 2 on a usage error. */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *PROG = "ferrotls-loadgen";

static const char USAGE[] =
    "usage: ferrotls-loadgen --cafile CA [options] --conns N --concurrency C HOST PORT\n"
    "  --cafile FILE          trust anchors, PEM (required)\n"
    "  --servername NAME      SNI and the name verified (default HOST)\n"
    "  --conns N              connections in total (1..1000000)\n"
    "  --concurrency C        connections open at a time (1..4096)\n"
    "  --bytes B              bytes each connection sends and expects back (default 1024)\n"
    "  --timeout SECS         give up after this many seconds (default 60)\n"
    "  --hold                 after its handshake, a connection waits until all open ones are\n"
    "                         established before sending (the server holds C at once)\n"
    "  --hold-ms MS           with --hold: wait MS milliseconds more once all are established\n"
    "HOST must be a loopback address. Talks to `ferrotls-server --echo`.\n"
    "Exit 0 if every connection succeeded; 1 on a failure or the timeout; 2 on a usage error.\n";

enum { O_CAFILE = 1, O_SERVERNAME, O_CONNS, O_CONCURRENCY, O_BYTES, O_TIMEOUT, O_HOLD, O_HOLD_MS };

static const struct opt_spec SPECS[] = {
    {"--cafile", 1, O_CAFILE}, {"--servername", 1, O_SERVERNAME}, {"--conns", 1, O_CONNS},
    {"--concurrency", 1, O_CONCURRENCY}, {"--bytes", 1, O_BYTES}, {"--timeout", 1, O_TIMEOUT},
    {"--hold", 0, O_HOLD}, {"--hold-ms", 1, O_HOLD_MS}, {NULL, 0, 0},
};

struct options {
    const char *cafile, *servername, *host, *port;
    long conns, concurrency, bytes, timeout, hold_ms;
    int hold;
};

static struct options OPTS;

static void parse_options(int argc, char **argv, struct options *o) {
    int i = 1, id, positional = 0;
    const char *v;
    memset(o, 0, sizeof *o);
    o->bytes = 1024;
    o->timeout = 60;
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
        case O_CAFILE: o->cafile = v; break;
        case O_SERVERNAME: o->servername = v; break;
        case O_CONNS: o->conns = parse_number(PROG, USAGE, "--conns", v, 1, 1000000L); break;
        case O_CONCURRENCY: o->concurrency = parse_number(PROG, USAGE, "--concurrency", v, 1, 4096); break;
        case O_BYTES: o->bytes = parse_number(PROG, USAGE, "--bytes", v, 0, 1L << 30); break;
        case O_TIMEOUT: o->timeout = parse_number(PROG, USAGE, "--timeout", v, 1, 3600); break;
        case O_HOLD: o->hold = 1; break;
        case O_HOLD_MS: o->hold_ms = parse_number(PROG, USAGE, "--hold-ms", v, 0, 60000); break;
        }
    }
    if (o->host == NULL || o->port == NULL)
        usage_exit(PROG, USAGE, "HOST and PORT are required");
    if (o->cafile == NULL)
        usage_exit(PROG, USAGE, "--cafile is required");
    if (o->conns == 0 || o->concurrency == 0)
        usage_exit(PROG, USAGE, "--conns and --concurrency are required");
    parse_number(PROG, USAGE, "PORT", o->port, 1, 65535);
    if (o->hold_ms > 0 && !o->hold)
        usage_exit(PROG, USAGE, "--hold-ms needs --hold");
    if (o->servername == NULL)
        o->servername = o->host;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the data: a per-connection pseudo-random byte stream ----------------------------- */

struct stream {
    uint64_t s;
    uint8_t cache[8];
    int left;
};

static void stream_init(struct stream *st, unsigned long index) {
    st->s = 0x9E3779B97F4A7C15ull * (index + 1) ^ 0xD1B54A32D192ED03ull;
    if (st->s == 0)
        st->s = 1;
    st->left = 0;
}

static uint8_t stream_next(struct stream *st) {
    if (st->left == 0) {
        uint64_t x = st->s; /* xorshift64* */
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        st->s = x;
        x *= 0x2545F4914F6CDD1Dull;
        for (int i = 0; i < 8; i++)
            st->cache[i] = (uint8_t)(x >> (8 * i));
        st->left = 8;
    }
    return st->cache[8 - st->left--];
}

/* ---- connections ---------------------------------------------------------------------- */

enum state { ST_FREE, ST_CONNECT, ST_HANDSHAKE, ST_HOLD, ST_DATA, ST_CLOSE, ST_DRAIN };
static const char *STATE_NAMES[] = {"free", "connect", "handshake", "hold", "data", "close", "drain"};

#define CHUNK 16384

struct lconn {
    enum state st;
    int fd;
    unsigned long index; /* 1..N */
    ferrotls_conn *tls;
    short events;
    double t_start;
    struct stream gen, check;
    size_t sent, recvd;      /* plaintext accepted by the library / verified */
    size_t out_off, out_len; /* the generated chunk not yet accepted */
    uint8_t out[CHUNK];
};

static struct lconn *CONNS;
static struct pollfd *PFDS;
static struct lconn **OWNERS;
static ferrotls_config *CFG;
static struct sockaddr_storage ADDR;
static socklen_t ADDR_LEN;

static unsigned long started, ok_total, failed_total, open_now, established_now, peak_open, peak_established;
static unsigned long handshakes_total, holding;
static unsigned long long bytes_echoed;
static double *latencies; /* ms, one per finished handshake */

static void conn_end(struct lconn *c) {
    if (c->tls != NULL) {
        if (c->st == ST_HOLD || c->st == ST_DATA || c->st == ST_CLOSE || c->st == ST_DRAIN)
            established_now--;
        if (c->st == ST_HOLD)
            holding--;
        ferrotls_conn_free(c->tls);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->tls = NULL;
    c->fd = -1;
    c->st = ST_FREE;
    open_now--;
}

static void conn_fail(struct lconn *c, ferrotls_result r, const char *what) {
    failed_total++;
    if (failed_total <= 20) {
        const char *detail = what;
        if (detail == NULL && c->tls != NULL) {
            ferrotls_result sticky = ferrotls_conn_error(c->tls);
            if (sticky != FERROTLS_OK)
                r = sticky;
            detail = ferrotls_conn_error_detail(c->tls);
        }
        if (detail == NULL || detail[0] == '\0')
            detail = ferrotls_last_error_detail();
        fprintf(stderr, "%s: connection %lu failed in %s: %s (%s)\n", PROG, c->index, STATE_NAMES[c->st],
                detail[0] != '\0' ? detail : ferrotls_result_message(r), ferrotls_result_name(r));
    } else if (failed_total == 21) {
        fprintf(stderr, "%s: (further failures not shown)\n", PROG);
    }
    conn_end(c);
}

static void conn_ok(struct lconn *c) {
    ok_total++;
    bytes_echoed += c->recvd;
    conn_end(c);
}

static int start_one(struct lconn *c) {
    memset(c, 0, offsetof(struct lconn, out));
    c->index = ++started;
    c->fd = -1;
    c->t_start = now_s();
    open_now++;
    if (open_now > peak_open)
        peak_open = open_now;
    stream_init(&c->gen, c->index);
    stream_init(&c->check, c->index);
    c->st = ST_CONNECT;
    c->fd = socket(ADDR.ss_family, SOCK_STREAM, 0);
    if (c->fd < 0 || fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "socket: %s", strerror(errno));
        conn_fail(c, FERROTLS_ERR_IO, msg);
        return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&ADDR, ADDR_LEN) < 0 && errno != EINPROGRESS) {
        char msg[128];
        snprintf(msg, sizeof msg, "connect: %s", strerror(errno));
        conn_fail(c, FERROTLS_ERR_IO, msg);
        return -1;
    }
    c->events = POLLOUT;
    return 0;
}

/* Sets c->events from a WANT_* result; returns 1 for WANT_READ / WANT_WRITE. */
static int want(struct lconn *c, ferrotls_result r) {
    if (r == FERROTLS_WANT_READ) {
        c->events |= POLLIN;
        return 1;
    }
    if (r == FERROTLS_WANT_WRITE) {
        c->events |= POLLOUT;
        return 1;
    }
    return 0;
}

static void handshake_done(struct lconn *c) {
    latencies[handshakes_total++] = (now_s() - c->t_start) * 1000.0;
    established_now++;
    if (established_now > peak_established)
        peak_established = established_now;
}

/* Drives one connection as far as it goes without blocking. */
static void conn_step(struct lconn *c) {
    ferrotls_result r;
    for (;;) {
        c->events = 0;
        switch (c->st) {
        case ST_FREE:
            return;

        case ST_CONNECT: {
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
            if (err == EINPROGRESS || err == EALREADY) {
                c->events = POLLOUT;
                return;
            }
            if (err != 0) {
                char msg[128];
                snprintf(msg, sizeof msg, "connect: %s", strerror(err));
                conn_fail(c, FERROTLS_ERR_IO, msg);
                return;
            }
            r = ferrotls_conn_new_client(CFG, OPTS.servername, &c->tls);
            if (r == FERROTLS_OK)
                r = ferrotls_conn_set_fd(c->tls, c->fd);
            if (r != FERROTLS_OK) {
                conn_fail(c, r, ferrotls_last_error_detail());
                return;
            }
            c->st = ST_HANDSHAKE;
            continue;
        }

        case ST_HANDSHAKE:
            r = ferrotls_conn_handshake(c->tls);
            if (r == FERROTLS_OK) {
                handshake_done(c);
                if (OPTS.hold) {
                    c->st = ST_HOLD;
                    holding++;
                    return; /* released by main() */
                }
                c->st = ST_DATA;
                continue;
            }
            if (want(c, r))
                return;
            conn_fail(c, r, NULL);
            return;

        case ST_HOLD:
            return;

        case ST_DATA: {
            int progress = 0;
            /* send */
            if (c->sent < (size_t)OPTS.bytes) {
                if (c->out_off == c->out_len) {
                    size_t n = (size_t)OPTS.bytes - c->sent;
                    if (n > CHUNK)
                        n = CHUNK;
                    for (size_t i = 0; i < n; i++)
                        c->out[i] = stream_next(&c->gen);
                    c->out_off = 0;
                    c->out_len = n;
                }
                size_t acc = 0;
                r = ferrotls_conn_write(c->tls, c->out + c->out_off, c->out_len - c->out_off, &acc);
                c->out_off += acc;
                c->sent += acc;
                if (acc > 0)
                    progress = 1;
                if (r == FERROTLS_OK && acc == 0)
                    r = FERROTLS_WANT_WRITE;
                if (r != FERROTLS_OK && !want(c, r)) {
                    conn_fail(c, r, NULL);
                    return;
                }
            } else if (ferrotls_conn_outgoing_len(c->tls) > 0) {
                r = ferrotls_conn_flush(c->tls);
                if (r != FERROTLS_OK && !want(c, r)) {
                    conn_fail(c, r, NULL);
                    return;
                }
            }
            /* receive and compare */
            if (c->recvd < (size_t)OPTS.bytes) {
                uint8_t buf[CHUNK];
                size_t n = 0;
                r = ferrotls_conn_read(c->tls, buf, sizeof buf, &n);
                if (r == FERROTLS_OK) {
                    if (c->recvd + n > (size_t)OPTS.bytes) {
                        conn_fail(c, FERROTLS_OK, "the server sent more bytes than were sent to it");
                        return;
                    }
                    for (size_t i = 0; i < n; i++) {
                        if (buf[i] != stream_next(&c->check)) {
                            char msg[128];
                            snprintf(msg, sizeof msg, "echoed byte %zu differs from the byte sent",
                                     c->recvd + i);
                            conn_fail(c, FERROTLS_OK, msg);
                            return;
                        }
                    }
                    c->recvd += n;
                    progress = 1;
                } else if (r == FERROTLS_CLOSED) {
                    char msg[128];
                    snprintf(msg, sizeof msg, "the server closed after echoing %zu of %ld bytes", c->recvd,
                             OPTS.bytes);
                    conn_fail(c, r, msg);
                    return;
                } else if (!want(c, r)) {
                    conn_fail(c, r, NULL);
                    return;
                }
            }
            if (c->recvd == (size_t)OPTS.bytes && c->sent == (size_t)OPTS.bytes) {
                c->st = ST_CLOSE;
                continue;
            }
            if (progress)
                continue;
            return;
        }

        case ST_CLOSE:
            r = ferrotls_conn_close(c->tls); /* queues close_notify (once) and flushes */
            if (r == FERROTLS_OK) {
                c->st = ST_DRAIN;
                continue;
            }
            if (want(c, r))
                return;
            conn_fail(c, r, NULL);
            return;

        case ST_DRAIN: {
            /* The server answers our close_notify with its own. */
            uint8_t buf[256];
            size_t n = 0;
            r = ferrotls_conn_read(c->tls, buf, sizeof buf, &n);
            if (r == FERROTLS_CLOSED) {
                conn_ok(c);
                return;
            }
            if (r == FERROTLS_OK) {
                conn_fail(c, r, "data after the echo was complete");
                return;
            }
            if (want(c, r))
                return;
            conn_fail(c, r, NULL);
            return;
        }
        }
    }
}

static int is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) == 0 && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, unsigned long n, double p) {
    if (n == 0)
        return 0;
    unsigned long i = (unsigned long)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void build_config(void) {
    ferrotls_config_builder *b = NULL;
    ferrotls_result r = ferrotls_config_builder_new(FERROTLS_ROLE_CLIENT, &b);
    if (r == FERROTLS_OK)
        r = ferrotls_config_builder_add_roots_file(b, OPTS.cafile);
    if (r == FERROTLS_OK)
        r = ferrotls_config_builder_build(b, &CFG);
    if (r != FERROTLS_OK) {
        print_error(PROG, r, ferrotls_last_error_detail());
        ferrotls_config_builder_free(b);
        exit(EXIT_FAIL);
    }
    ferrotls_config_builder_free(b);
}

static void resolve(void) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int err = getaddrinfo(OPTS.host, OPTS.port, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "%s: error: cannot resolve %s: %s\n", PROG, OPTS.host, gai_strerror(err));
        exit(EXIT_FAIL);
    }
    if (!is_loopback(res->ai_addr)) {
        freeaddrinfo(res);
        usage_exit(PROG, USAGE, "%s is not a loopback address; this load generator only talks to loopback",
                   OPTS.host);
    }
    memcpy(&ADDR, res->ai_addr, res->ai_addrlen);
    ADDR_LEN = res->ai_addrlen;
    freeaddrinfo(res);
}

/* Raises the soft RLIMIT_NOFILE so that `concurrency` sockets fit. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    rlim_t need = (rlim_t)OPTS.concurrency + 32;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "%s: error: --concurrency %ld needs %lu descriptors; the hard limit is %lu\n", PROG,
                OPTS.concurrency, (unsigned long)need, (unsigned long)rl.rlim_max);
        exit(EXIT_FAIL);
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "%s: error: setrlimit(RLIMIT_NOFILE, %lu): %s\n", PROG, (unsigned long)need, strerror(errno));
        exit(EXIT_FAIL);
    }
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    parse_options(argc, argv, &OPTS);
    resolve();
    raise_fd_limit();
    build_config();

    size_t c = (size_t)OPTS.concurrency;
    CONNS = calloc(c, sizeof *CONNS);
    PFDS = calloc(c, sizeof *PFDS);
    OWNERS = calloc(c, sizeof *OWNERS);
    latencies = calloc((size_t)OPTS.conns, sizeof *latencies);
    if (CONNS == NULL || PFDS == NULL || OWNERS == NULL || latencies == NULL) {
        fprintf(stderr, "%s: error: out of memory\n", PROG);
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < c; i++)
        CONNS[i].fd = -1;

    double t0 = now_s(), deadline = t0 + (double)OPTS.timeout, release_at = 0, held = 0;
    int timed_out = 0;
    for (;;) {
        /* open new connections up to the concurrency limit */
        for (size_t i = 0; i < c && started < (unsigned long)OPTS.conns; i++) {
            if (CONNS[i].st == ST_FREE && start_one(&CONNS[i]) == 0)
                conn_step(&CONNS[i]);
        }
        /* --hold: release the waiting ones once every open connection is established and no
         * more can be opened now */
        if (OPTS.hold && holding > 0 && holding == open_now &&
            (open_now == c || started == (unsigned long)OPTS.conns)) {
            if (release_at == 0)
                release_at = now_s() + (double)OPTS.hold_ms / 1000.0;
        } else {
            release_at = 0;
        }
        if (release_at != 0 && now_s() >= release_at) {
            release_at = 0;
            held += (double)OPTS.hold_ms / 1000.0;
            for (size_t i = 0; i < c; i++) {
                if (CONNS[i].st == ST_HOLD) {
                    CONNS[i].st = ST_DATA;
                    holding--;
                }
            }
            for (size_t i = 0; i < c; i++)
                if (CONNS[i].st == ST_DATA)
                    conn_step(&CONNS[i]);
            continue;
        }
        if (open_now == 0 && started == (unsigned long)OPTS.conns)
            break;
        double left = deadline - now_s();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        nfds_t n = 0;
        for (size_t i = 0; i < c; i++) {
            struct lconn *x = &CONNS[i];
            if (x->st == ST_FREE || x->st == ST_HOLD)
                continue;
            PFDS[n].fd = x->fd;
            PFDS[n].events = x->events != 0 ? x->events : POLLIN;
            PFDS[n].revents = 0;
            OWNERS[n++] = x;
        }
        if (release_at != 0 && release_at - now_s() < left)
            left = release_at - now_s() > 0 ? release_at - now_s() : 0;
        int ready = poll(PFDS, n, (int)(left * 1000.0) + 1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: error: poll: %s\n", PROG, strerror(errno));
            return EXIT_FAIL;
        }
        for (nfds_t i = 0; i < n; i++)
            if (PFDS[i].revents != 0 && OWNERS[i]->st != ST_FREE)
                conn_step(OWNERS[i]);
    }
    /* the --hold-ms pauses are not load: leave them out of the rate */
    double elapsed = now_s() - t0 - held;

    if (timed_out) {
        unsigned long stuck = 0;
        for (size_t i = 0; i < c; i++) {
            if (CONNS[i].st != ST_FREE) {
                if (++stuck <= 5)
                    fprintf(stderr, "%s: connection %lu still in %s at the timeout\n", PROG, CONNS[i].index,
                            STATE_NAMES[CONNS[i].st]);
                failed_total++;
                conn_end(&CONNS[i]);
            }
        }
        fprintf(stderr, "%s: timeout after %ld s: %lu connection(s) unfinished, %lu never started\n", PROG,
                OPTS.timeout, stuck, (unsigned long)OPTS.conns - started);
        failed_total += (unsigned long)OPTS.conns - started;
    }

    qsort(latencies, handshakes_total, sizeof *latencies, cmp_double);
    double sum = 0;
    for (unsigned long i = 0; i < handshakes_total; i++)
        sum += latencies[i];
    printf("loadgen: %lu ok, %lu failed, %lu handshakes in %.3f s (+%.3f s --hold-ms), %.1f handshakes/s, "
           "handshake latency ms min/avg/p50/p99/max %.2f/%.2f/%.2f/%.2f/%.2f, "
           "peak %lu open / %lu established, %llu bytes echoed\n",
           ok_total, failed_total, handshakes_total, elapsed, held, elapsed > 0 ? (double)handshakes_total / elapsed : 0.0,
           handshakes_total ? latencies[0] : 0.0, handshakes_total ? sum / (double)handshakes_total : 0.0,
           pct(latencies, handshakes_total, 50), pct(latencies, handshakes_total, 99),
           handshakes_total ? latencies[handshakes_total - 1] : 0.0, peak_open, peak_established, bytes_echoed);
    fflush(stdout);

    ferrotls_config_free(CFG);
    free(CONNS);
    free(PFDS);
    free(OWNERS);
    free(latencies);
    return (failed_total == 0 && !timed_out && ok_total == (unsigned long)OPTS.conns) ? EXIT_OK : EXIT_FAIL;
}
