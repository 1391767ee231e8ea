/* ferrotls-loadgen: a bounded TLS load generator for the loopback tests (tests/c/run.sh) and
 * the soak (scripts/soak.sh).
 *
 *   ferrotls-loadgen --cafile CA [--servername NAME] (--conns N | --duration SECS) --concurrency C
 *                    [--bytes B | --bytes-min B --bytes-max B] [--resume-ratio P] [--tls12|--tls13]
 *                    [--timeout SECS] [--seed S] [--hold] [--hold-ms MS] HOST PORT
 *
 * Opens TLS connections, C at a time, to `ferrotls-server --echo` on a loopback address: N in
 * total (--conns), or as many as fit in SECS seconds (--duration: a new one starts whenever one
 * ends, until the time is up; the open ones then finish). Each one: TCP connect, handshake,
 * sends B bytes of pseudo-random data (different for every connection; with --bytes-min/max B
 * is drawn uniformly between them per connection), reads them back and compares them byte for
 * byte with what it sent, sends close_notify and waits for the server's. One thread,
 * non-blocking sockets and poll(); the connections use the fd mode of the C API
 * (ferrotls_conn_set_fd), like ferrotls-server.
 *
 * Resumption: the client configuration's own session cache is off, so a connection resumes only
 * when told to. After its echo, every successful connection stores its session
 * (ferrotls_conn_get_session) in a pool of the newest 128; with --resume-ratio P, P percent of
 * the connections take a session out of the pool (each is used once) and offer it
 * (ferrotls_conn_set_session). ferrotls_conn_handshake_kind must then say RESUMED, and FULL for
 * the others: anything else is a failure (with --refused-ok, a resumption the server refused,
 * answering with a full handshake, is counted as "refused" instead). While the pool is empty (the first C connections) a
 * connection that should resume makes a full handshake (counted as "no session yet").
 *
 * With --hold (needs --conns), a connection that finished its handshake waits until every open
 * connection has (so that the server holds C established connections at once) before sending
 * its data; --hold-ms MS keeps them all waiting MS milliseconds more.
 *
 * Bounded: N, C and B are capped (B at 64 MiB; memory is O(C), not O(B): data is generated
 * and checked 16 KiB at a time), latency samples are a fixed-size reservoir, the whole run
 * ends after --timeout seconds (default 60; with --duration, SECS + 120), and only loopback
 * addresses (127.0.0.0/8, ::1) are accepted.
 *
 * Output (stdout), one line:
 *   loadgen: N ok, N failed, N handshakes in S s (+H s --hold-ms), R handshakes/s, handshake latency ms
 *   min/avg/p50/p99/max ..., peak N open / N established, N bytes echoed, N full / N resumed
 *   (N resumption attempts, N without a session yet, N refused, N sessions stored, N missing), TLSv1.3 N / TLSv1.2 N,
 *   full ms p50/p90/p99 ..., resumed ms p50/p90/p99 ..., N MiB/s echoed
 * ("missing": connections that ended without a session to store.)
 * ("missing": connections that ended without a session to store.)
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
    "usage: ferrotls-loadgen --cafile CA [options] (--conns N | --duration SECS) --concurrency C HOST PORT\n"
    "  --cafile FILE          trust anchors, PEM (required)\n"
    "  --servername NAME      SNI and the name verified (default HOST)\n"
    "  --conns N              connections in total (1..1000000)\n"
    "  --duration SECS        instead of --conns: keep C connections going for SECS seconds (1..86400)\n"
    "  --concurrency C        connections open at a time (1..4096)\n"
    "  --bytes B              bytes each connection sends and expects back (default 1024; max 64 MiB)\n"
    "  --bytes-min B          with --bytes-max: each connection draws its size in [min, max]\n"
    "  --bytes-max B\n"
    "  --resume-ratio P       percent of connections (0..100) that resume a session of an earlier\n"
    "                         connection of this run (default 0)\n"
    "  --refused-ok           a resumption the server answers with a full handshake is counted\n"
    "                         (\"refused\"), not a failure (default: a failure)\n"
    "  --tls12 | --tls13      only that version (default: both offered, TLS 1.3 negotiated)\n"
    "  --seed S               seed of the size and resumption choices (default: time and pid)\n"
    "  --timeout SECS         give up after this many seconds (default 60; with --duration SECS + 120)\n"
    "  --hold                 (with --conns) after its handshake, a connection waits until all open\n"
    "                         ones are established before sending (the server holds C at once)\n"
    "  --hold-ms MS           with --hold: wait MS milliseconds more once all are established\n"
    "HOST must be a loopback address. Talks to `ferrotls-server --echo`.\n"
    "Exit 0 if every connection succeeded; 1 on a failure or the timeout; 2 on a usage error.\n";

enum {
    O_CAFILE = 1, O_SERVERNAME, O_CONNS, O_CONCURRENCY, O_BYTES, O_TIMEOUT, O_HOLD, O_HOLD_MS,
    O_DURATION, O_BYTES_MIN, O_BYTES_MAX, O_RESUME, O_TLS12, O_TLS13, O_SEED, O_REFUSED_OK
};

static const struct opt_spec SPECS[] = {
    {"--cafile", 1, O_CAFILE}, {"--servername", 1, O_SERVERNAME}, {"--conns", 1, O_CONNS},
    {"--concurrency", 1, O_CONCURRENCY}, {"--bytes", 1, O_BYTES}, {"--timeout", 1, O_TIMEOUT},
    {"--hold", 0, O_HOLD}, {"--hold-ms", 1, O_HOLD_MS}, {"--duration", 1, O_DURATION},
    {"--bytes-min", 1, O_BYTES_MIN}, {"--bytes-max", 1, O_BYTES_MAX}, {"--resume-ratio", 1, O_RESUME},
    {"--tls12", 0, O_TLS12}, {"--tls13", 0, O_TLS13}, {"--seed", 1, O_SEED},
    {"--refused-ok", 0, O_REFUSED_OK}, {NULL, 0, 0},
};

#define BYTES_LIMIT (64L << 20)

struct options {
    const char *cafile, *servername, *host, *port;
    long conns, concurrency, timeout, hold_ms, duration, resume_ratio, seed;
    long bytes_min, bytes_max;
    int hold, version; /* version: 0, 0x0303 or 0x0304 */
    int refused_ok;
};

static struct options OPTS;

static void parse_options(int argc, char **argv, struct options *o) {
    int i = 1, id, positional = 0, have_bytes = 0, have_min = 0, have_max = 0, have_timeout = 0, have_seed = 0;
    const char *v;
    memset(o, 0, sizeof *o);
    o->bytes_min = o->bytes_max = 1024;
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
        case O_BYTES:
            o->bytes_min = o->bytes_max = parse_number(PROG, USAGE, "--bytes", v, 0, BYTES_LIMIT);
            have_bytes = 1;
            break;
        case O_BYTES_MIN: o->bytes_min = parse_number(PROG, USAGE, "--bytes-min", v, 0, BYTES_LIMIT); have_min = 1; break;
        case O_BYTES_MAX: o->bytes_max = parse_number(PROG, USAGE, "--bytes-max", v, 0, BYTES_LIMIT); have_max = 1; break;
        case O_TIMEOUT: o->timeout = parse_number(PROG, USAGE, "--timeout", v, 1, 86400 + 3600); have_timeout = 1; break;
        case O_HOLD: o->hold = 1; break;
        case O_HOLD_MS: o->hold_ms = parse_number(PROG, USAGE, "--hold-ms", v, 0, 60000); break;
        case O_DURATION: o->duration = parse_number(PROG, USAGE, "--duration", v, 1, 86400); break;
        case O_RESUME: o->resume_ratio = parse_number(PROG, USAGE, "--resume-ratio", v, 0, 100); break;
        case O_TLS12:
        case O_TLS13:
            if (o->version != 0)
                usage_exit(PROG, USAGE, "--tls12 and --tls13 exclude each other (give neither for both)");
            o->version = id == O_TLS12 ? 0x0303 : 0x0304;
            break;
        case O_REFUSED_OK: o->refused_ok = 1; break;
        case O_SEED: o->seed = parse_number(PROG, USAGE, "--seed", v, 0, 0x7fffffffL); have_seed = 1; break;
        }
    }
    if (o->host == NULL || o->port == NULL)
        usage_exit(PROG, USAGE, "HOST and PORT are required");
    if (o->cafile == NULL)
        usage_exit(PROG, USAGE, "--cafile is required");
    if ((o->conns == 0 && o->duration == 0) || o->concurrency == 0)
        usage_exit(PROG, USAGE, "--conns or --duration, and --concurrency, are required");
    if (o->conns != 0 && o->duration != 0)
        usage_exit(PROG, USAGE, "--conns and --duration exclude each other");
    parse_number(PROG, USAGE, "PORT", o->port, 1, 65535);
    if (o->hold_ms > 0 && !o->hold)
        usage_exit(PROG, USAGE, "--hold-ms needs --hold");
    if (o->hold && o->duration != 0)
        usage_exit(PROG, USAGE, "--hold needs --conns");
    if (have_bytes && (have_min || have_max))
        usage_exit(PROG, USAGE, "--bytes excludes --bytes-min/--bytes-max");
    if (have_min != have_max)
        usage_exit(PROG, USAGE, "--bytes-min and --bytes-max go together");
    if (o->bytes_min > o->bytes_max)
        usage_exit(PROG, USAGE, "--bytes-min %ld is more than --bytes-max %ld", o->bytes_min, o->bytes_max);
    if (o->duration != 0 && !have_timeout)
        o->timeout = o->duration + 120;
    if (o->duration != 0 && o->timeout <= o->duration)
        usage_exit(PROG, USAGE, "--timeout must be more than --duration");
    if (!have_seed)
        o->seed = (long)((unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16)) & 0x7fffffffL;
    if (o->servername == NULL)
        o->servername = o->host;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- randomness for the choices (sizes, who resumes): xorshift64*, seeded by --seed ------ */

static uint64_t RNG;

static uint64_t rng_next(void) {
    uint64_t x = RNG;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    RNG = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* uniform in [0, n) for n >= 1 (the modulo bias is irrelevant here) */
static uint64_t rng_below(uint64_t n) { return rng_next() % n; }

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

static uint64_t stream_word(struct stream *st) {
    uint64_t x = st->s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    st->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* The next n bytes of the stream (the same bytes however the stream is cut into calls). */
static void stream_fill(struct stream *st, uint8_t *out, size_t n) {
    while (n > 0 && st->left > 0) {
        *out++ = st->cache[8 - st->left--];
        n--;
    }
    while (n >= 8) {
        uint64_t x = stream_word(st);
        for (int i = 0; i < 8; i++)
            out[i] = (uint8_t)(x >> (8 * i));
        out += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t x = stream_word(st);
        for (int i = 0; i < 8; i++)
            st->cache[i] = (uint8_t)(x >> (8 * i));
        st->left = 8;
        while (n > 0) {
            *out++ = st->cache[8 - st->left--];
            n--;
        }
    }
}

/* ---- the session pool: the newest POOL_MAX sessions of this run, each offered once ------ */

#define POOL_MAX 128
#define BLOB_MAX 16384

struct blob {
    uint8_t *data;
    size_t len;
};

static struct blob POOL[POOL_MAX];
static size_t pool_head, pool_count; /* oldest at pool_head */

static void pool_put(struct blob b) {
    if (pool_count == POOL_MAX) { /* drop the oldest */
        free(POOL[pool_head].data);
        POOL[pool_head] = b;
        pool_head = (pool_head + 1) % POOL_MAX;
        return;
    }
    POOL[(pool_head + pool_count) % POOL_MAX] = b;
    pool_count++;
}

/* Takes the newest session out of the pool; {NULL, 0} when empty. */
static struct blob pool_take(void) {
    struct blob b = {NULL, 0};
    if (pool_count == 0)
        return b;
    size_t i = (pool_head + pool_count - 1) % POOL_MAX;
    b = POOL[i];
    POOL[i].data = NULL;
    pool_count--;
    return b;
}

/* ---- latency samples: a bounded reservoir (uniform sample of all values seen) ----------- */

#define RESERVOIR_MAX (1u << 18)

struct reservoir {
    double *v;
    unsigned long n;    /* values seen */
    unsigned long kept; /* min(n, RESERVOIR_MAX) */
    double min, max, sum;
};

static void reservoir_add(struct reservoir *r, double x) {
    if (r->n == 0 || x < r->min)
        r->min = x;
    if (r->n == 0 || x > r->max)
        r->max = x;
    r->sum += x;
    r->n++;
    if (r->kept < RESERVOIR_MAX) {
        r->v[r->kept++] = x;
    } else {
        uint64_t j = rng_below(r->n);
        if (j < RESERVOIR_MAX)
            r->v[j] = x;
    }
}

/* ---- connections ---------------------------------------------------------------------- */

enum state { ST_FREE, ST_CONNECT, ST_HANDSHAKE, ST_HOLD, ST_DATA, ST_CLOSE, ST_DRAIN };
static const char *STATE_NAMES[] = {"free", "connect", "handshake", "hold", "data", "close", "drain"};

#define CHUNK 16384

struct lconn {
    enum state st;
    int fd;
    unsigned long index; /* 1, 2, 3, ... */
    ferrotls_conn *tls;
    short events;
    int want_resume, offered;
    double t_start;
    size_t total;            /* bytes to send and get back */
    struct stream gen, check;
    size_t sent, recvd;      /* plaintext accepted by the library / verified */
    int have_session;        /* its session went into the pool */
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
static unsigned long hs_full, hs_resumed, resume_attempts, resume_no_session, resume_refused, sessions_stored, sessions_missing;
static unsigned long hs_tls12, hs_tls13;
static unsigned long long bytes_echoed;
static struct reservoir LAT_ALL, LAT_FULL, LAT_RESUMED; /* handshake latencies, ms */

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
        fprintf(stderr, "%s: connection %lu (%zu bytes%s) failed in %s: %s (%s)\n", PROG, c->index, c->total,
                c->offered ? ", resuming" : "", STATE_NAMES[c->st],
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
    c->total = (size_t)OPTS.bytes_min + (size_t)rng_below((uint64_t)(OPTS.bytes_max - OPTS.bytes_min) + 1);
    c->want_resume = OPTS.resume_ratio > 0 && (long)rng_below(100) < OPTS.resume_ratio;
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

/* The handshake finished: check its kind and version, count it. Returns -1 after conn_fail. */
static int handshake_done(struct lconn *c) {
    double ms = (now_s() - c->t_start) * 1000.0;
    uint32_t kind = ferrotls_conn_handshake_kind(c->tls);
    uint16_t version = ferrotls_conn_protocol_version(c->tls);
    char msg[160];
    if (c->offered && kind != FERROTLS_HANDSHAKE_RESUMED && OPTS.refused_ok &&
        (kind == FERROTLS_HANDSHAKE_FULL || kind == FERROTLS_HANDSHAKE_FULL_HRR)) {
        resume_refused++;
        c->offered = 0; /* a full handshake from here on */
    }
    if (c->offered && kind != FERROTLS_HANDSHAKE_RESUMED) {
        snprintf(msg, sizeof msg, "a session was offered but the handshake was not resumed (kind %u)", kind);
        conn_fail(c, FERROTLS_OK, msg);
        return -1;
    }
    if (!c->offered && kind != FERROTLS_HANDSHAKE_FULL && kind != FERROTLS_HANDSHAKE_FULL_HRR) {
        snprintf(msg, sizeof msg, "no session was offered but the handshake kind is %u", kind);
        conn_fail(c, FERROTLS_OK, msg);
        return -1;
    }
    if ((OPTS.version != 0 && version != OPTS.version) || (version != 0x0303 && version != 0x0304)) {
        snprintf(msg, sizeof msg, "negotiated version 0x%04x, expected 0x%04x", version,
                 OPTS.version != 0 ? (unsigned)OPTS.version : 0x0304u);
        conn_fail(c, FERROTLS_OK, msg);
        return -1;
    }
    established_now++;
    if (established_now > peak_established)
        peak_established = established_now;
    handshakes_total++;
    if (version == 0x0303)
        hs_tls12++;
    else
        hs_tls13++;
    reservoir_add(&LAT_ALL, ms);
    if (kind == FERROTLS_HANDSHAKE_RESUMED) {
        hs_resumed++;
        reservoir_add(&LAT_RESUMED, ms);
    } else {
        hs_full++;
        reservoir_add(&LAT_FULL, ms);
    }
    return 0;
}

/* Puts the connection's session into the pool as soon as it has one: TLS 1.2 right after the
 * handshake, TLS 1.3 when the server's ticket came (with its first records, before the echo).
 * Early, so that a TLS 1.2 session known to the server only by its session id is offered
 * while the server's session cache (256 entries in ferrotls-server) still holds it: see
 * docs/soak.md. Returns 1 when the connection's session is in the pool. */
static int take_session(struct lconn *c) {
    size_t needed = 0;
    if (OPTS.resume_ratio == 0 || c->have_session)
        return 1;
    ferrotls_result r = ferrotls_conn_get_session(c->tls, NULL, 0, &needed);
    if (r == FERROTLS_ERR_NOT_FOUND || needed == 0 || needed > BLOB_MAX)
        return 0;
    uint8_t *buf = malloc(needed);
    if (buf == NULL)
        return 0;
    r = ferrotls_conn_get_session(c->tls, buf, needed, &needed);
    if (r != FERROTLS_OK) {
        free(buf);
        return 0;
    }
    struct blob b = {buf, needed};
    pool_put(b);
    sessions_stored++;
    c->have_session = 1;
    return 1;
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
            if (c->want_resume) {
                struct blob b = pool_take();
                resume_attempts++;
                if (b.data == NULL) {
                    resume_no_session++;
                } else {
                    r = ferrotls_conn_set_session(c->tls, b.data, b.len);
                    free(b.data);
                    if (r != FERROTLS_OK) {
                        conn_fail(c, r, ferrotls_last_error_detail());
                        return;
                    }
                    c->offered = 1;
                }
            }
            c->st = ST_HANDSHAKE;
            continue;
        }

        case ST_HANDSHAKE:
            r = ferrotls_conn_handshake(c->tls);
            if (r == FERROTLS_OK) {
                if (handshake_done(c) != 0)
                    return;
                take_session(c);
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
            if (c->sent < c->total) {
                if (c->out_off == c->out_len) {
                    size_t n = c->total - c->sent;
                    if (n > CHUNK)
                        n = CHUNK;
                    stream_fill(&c->gen, c->out, n);
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
            /* receive and compare byte for byte with the stream that was sent */
            if (c->recvd < c->total) {
                uint8_t buf[CHUNK], expect[CHUNK];
                size_t n = 0;
                r = ferrotls_conn_read(c->tls, buf, sizeof buf, &n);
                if (r == FERROTLS_OK) {
                    if (c->recvd + n > c->total) {
                        conn_fail(c, FERROTLS_OK, "the server sent more bytes than were sent to it");
                        return;
                    }
                    stream_fill(&c->check, expect, n);
                    if (memcmp(buf, expect, n) != 0) {
                        size_t i = 0;
                        while (i < n && buf[i] == expect[i])
                            i++;
                        char msg[128];
                        snprintf(msg, sizeof msg, "echoed byte %zu differs from the byte sent", c->recvd + i);
                        conn_fail(c, FERROTLS_OK, msg);
                        return;
                    }
                    c->recvd += n;
                    progress = 1;
                    take_session(c);
                } else if (r == FERROTLS_CLOSED) {
                    char msg[128];
                    snprintf(msg, sizeof msg, "the server closed after echoing %zu of %zu bytes", c->recvd,
                             c->total);
                    conn_fail(c, r, msg);
                    return;
                } else if (!want(c, r)) {
                    conn_fail(c, r, NULL);
                    return;
                }
            }
            if (c->recvd == c->total && c->sent == c->total) {
                if (!take_session(c) && OPTS.resume_ratio > 0)
                    sessions_missing++;
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
    if (r == FERROTLS_OK && OPTS.version != 0)
        r = ferrotls_config_builder_set_versions(b, (uint16_t)OPTS.version, (uint16_t)OPTS.version);
    /* no automatic resumption: a connection resumes only when it offers a pool session */
    if (r == FERROTLS_OK)
        r = ferrotls_config_builder_set_session_cache(b, 0);
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

static double res_pct(struct reservoir *r, double p) {
    return pct(r->v, r->kept, p);
}

static int more_to_start(double now, double t0) {
    if (OPTS.conns != 0)
        return started < (unsigned long)OPTS.conns;
    return now < t0 + (double)OPTS.duration;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    parse_options(argc, argv, &OPTS);
    RNG = 0x853C49E6748FEA9Bull ^ ((uint64_t)OPTS.seed * 0x9E3779B97F4A7C15ull);
    if (RNG == 0)
        RNG = 1;
    resolve();
    raise_fd_limit();
    build_config();

    size_t c = (size_t)OPTS.concurrency;
    CONNS = calloc(c, sizeof *CONNS);
    PFDS = calloc(c, sizeof *PFDS);
    OWNERS = calloc(c, sizeof *OWNERS);
    LAT_ALL.v = calloc(RESERVOIR_MAX, sizeof(double));
    LAT_FULL.v = calloc(RESERVOIR_MAX, sizeof(double));
    LAT_RESUMED.v = calloc(RESERVOIR_MAX, sizeof(double));
    if (CONNS == NULL || PFDS == NULL || OWNERS == NULL || LAT_ALL.v == NULL || LAT_FULL.v == NULL ||
        LAT_RESUMED.v == NULL) {
        fprintf(stderr, "%s: error: out of memory\n", PROG);
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < c; i++)
        CONNS[i].fd = -1;

    double t0 = now_s(), deadline = t0 + (double)OPTS.timeout, release_at = 0, held = 0;
    int timed_out = 0;
    for (;;) {
        /* open new connections up to the concurrency limit */
        double now = now_s();
        for (size_t i = 0; i < c && more_to_start(now, t0); i++) {
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
        if (open_now == 0 && !more_to_start(now_s(), t0))
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
        if (left > 1.0)
            left = 1.0; /* --duration: notice the end even when nothing happens */
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
                    fprintf(stderr, "%s: connection %lu still in %s at the timeout (%zu of %zu bytes echoed)\n",
                            PROG, CONNS[i].index, STATE_NAMES[CONNS[i].st], CONNS[i].recvd, CONNS[i].total);
                failed_total++;
                conn_end(&CONNS[i]);
            }
        }
        unsigned long never = OPTS.conns != 0 ? (unsigned long)OPTS.conns - started : 0;
        fprintf(stderr, "%s: timeout after %ld s: %lu connection(s) unfinished, %lu never started\n", PROG,
                OPTS.timeout, stuck, never);
        failed_total += never;
    }

    qsort(LAT_ALL.v, LAT_ALL.kept, sizeof(double), cmp_double);
    qsort(LAT_FULL.v, LAT_FULL.kept, sizeof(double), cmp_double);
    qsort(LAT_RESUMED.v, LAT_RESUMED.kept, sizeof(double), cmp_double);
    printf("loadgen: %lu ok, %lu failed, %lu handshakes in %.3f s (+%.3f s --hold-ms), %.1f handshakes/s, "
           "handshake latency ms min/avg/p50/p99/max %.2f/%.2f/%.2f/%.2f/%.2f, "
           "peak %lu open / %lu established, %llu bytes echoed, "
           "%lu full / %lu resumed (%lu resumption attempts, %lu without a session yet, %lu refused, %lu sessions stored, "
           "%lu missing), TLSv1.3 %lu / TLSv1.2 %lu, "
           "full ms p50/p90/p99 %.2f/%.2f/%.2f, resumed ms p50/p90/p99 %.2f/%.2f/%.2f, %.1f MiB/s echoed\n",
           ok_total, failed_total, handshakes_total, elapsed, held,
           elapsed > 0 ? (double)handshakes_total / elapsed : 0.0, LAT_ALL.n ? LAT_ALL.min : 0.0,
           LAT_ALL.n ? LAT_ALL.sum / (double)LAT_ALL.n : 0.0, res_pct(&LAT_ALL, 50), res_pct(&LAT_ALL, 99),
           LAT_ALL.n ? LAT_ALL.max : 0.0, peak_open, peak_established, bytes_echoed, hs_full, hs_resumed,
           resume_attempts, resume_no_session, resume_refused, sessions_stored, sessions_missing, hs_tls13, hs_tls12,
           res_pct(&LAT_FULL, 50), res_pct(&LAT_FULL, 90), res_pct(&LAT_FULL, 99), res_pct(&LAT_RESUMED, 50),
           res_pct(&LAT_RESUMED, 90), res_pct(&LAT_RESUMED, 99),
           elapsed > 0 ? (double)bytes_echoed / 1048576.0 / elapsed : 0.0);
    fflush(stdout);

    ferrotls_config_free(CFG);
    while (pool_count > 0)
        free(pool_take().data);
    free(CONNS);
    free(PFDS);
    free(OWNERS);
    free(LAT_ALL.v);
    free(LAT_FULL.v);
    free(LAT_RESUMED.v);
    int all_done = OPTS.conns != 0 ? ok_total == (unsigned long)OPTS.conns : ok_total > 0;
    return (failed_total == 0 && !timed_out && all_done) ? EXIT_OK : EXIT_FAIL;
}
