/* hsload: a TLS handshake load generator for bench/nginx/run.sh (make bench-nginx).
 *
 *   hsload --port P [--host 127.0.0.1] [--sni NAME] [--tls12|--tls13] [--resume] [--no-ticket]
 *          [--duration SECS] [--concurrency C] [--path /file] [--body-bytes N] [--full-cost]
 *
 * C connections at a time, one thread, non-blocking sockets and epoll, on the system's OpenSSL.
 * Each connection: TCP connect, a TLS handshake, one HTTP/1.1 request ("Connection: close") for
 * PATH, the response read and checked (status 200, Content-Length N, N body bytes), then close.
 * Without --resume every handshake is a full one (no session is ever offered, and any handshake
 * that resumes is a failure); with --resume a connection offers the session of an earlier one
 * (TLS 1.3: the newest ticket, each used once; TLS 1.2: the session it resumed), and one that
 * offered a session and did not resume is counted ("refused"), as is one without a session to
 * offer yet (the first C). --no-ticket sets SSL_OP_NO_TICKET (TLS 1.2 session-id resumption).
 *
 * The client is made cheap, so that the server's core is what limits the rate as far as it can
 * be on two cores (the server's work does not change; it cannot tell). This program defines
 * libcrypto functions that libssl's (and libcrypto's own) calls resolve to, ahead of libcrypto:
 *   - EVP_DigestVerify: accepts; the server's handshake signature (TLS 1.3 CertificateVerify,
 *     TLS 1.2 ServerKeyExchange) is not checked. The chain is not verified either (a verify
 *     callback that accepts; SSL_VERIFY_NONE).
 *   - EVP_PKEY_keygen: the first X25519 key is kept and used as every connection's key share.
 *   - d2i_X509: a certificate with the same DER bytes as the first one is that X509 again
 *     (OpenSSL 3.0 decodes public keys through its provider decoders: half the client's time).
 *   - EVP_{MD,CIPHER,KDF,MAC,KEYMGMT,KEYEXCH,SIGNATURE}_fetch: the first fetch of a name is kept
 *     and handed out again (OpenSSL 3.0 looks algorithms up some 60 times a handshake).
 * --full-cost turns all of that off (a plain OpenSSL 3.0 client, which verifies nothing either
 * but the signature). Pinned: groups X25519 then P-256 (TLS 1.2 needs the ECDSA certificate's
 * curve in the list; the key share is X25519 only), TLS_AES_128_GCM_SHA256,
 * ECDHE-{ECDSA,RSA}-AES128-GCM-SHA256.
 *
 * Output (stdout), one line of key=value pairs; failures on stderr (the first 10).
 * Exit 0 when every connection succeeded, 1 on any failure, 2 on a usage error. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int CHEAP = 1;
static unsigned long verify_skipped, keygen_reused;

/* ---- the cheap client: interposed libcrypto calls (only this process) ------------------- */

int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                     size_t tbslen) {
    static int (*real)(EVP_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t);
    if (CHEAP) {
        verify_skipped++;
        return 1;
    }
    if (real == NULL)
        real = (int (*)(EVP_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t))dlsym(
            RTLD_NEXT, "EVP_DigestVerify");
    return real(ctx, sig, siglen, tbs, tbslen);
}

static EVP_PKEY *KEYSHARE;

int EVP_PKEY_keygen(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey) {
    static int (*real)(EVP_PKEY_CTX *, EVP_PKEY **);
    if (real == NULL)
        real = (int (*)(EVP_PKEY_CTX *, EVP_PKEY **))dlsym(RTLD_NEXT, "EVP_PKEY_keygen");
    if (CHEAP && KEYSHARE != NULL && ppkey != NULL && *ppkey == NULL) {
        EVP_PKEY_up_ref(KEYSHARE);
        *ppkey = KEYSHARE;
        keygen_reused++;
        return 1;
    }
    int r = real(ctx, ppkey);
    if (CHEAP && r > 0 && KEYSHARE == NULL && EVP_PKEY_is_a(*ppkey, "X25519")) {
        EVP_PKEY_up_ref(*ppkey);
        KEYSHARE = *ppkey;
    }
    return r;
}

/* The server's certificate, parsed once: OpenSSL 3.0 decodes a certificate's public key through
 * its provider decoders, the client's largest cost per full handshake. The same DER bytes as the
 * first certificate get that X509 (a reference), others are parsed. */
static unsigned char *CERT_DER;
static long CERT_LEN;
static X509 *CERT;
static unsigned long cert_reused;

X509 *d2i_X509(X509 **a, const unsigned char **in, long len) {
    static X509 *(*real)(X509 **, const unsigned char **, long);
    if (real == NULL)
        real = (X509 * (*)(X509 **, const unsigned char **, long)) dlsym(RTLD_NEXT, "d2i_X509");
    if (CHEAP && CERT != NULL && in != NULL && *in != NULL && len == CERT_LEN && memcmp(*in, CERT_DER, (size_t)len) == 0) {
        X509_up_ref(CERT);
        if (a != NULL) {
            X509_free(*a);
            *a = CERT;
        }
        *in += len;
        cert_reused++;
        return CERT;
    }
    const unsigned char *start = in != NULL ? *in : NULL;
    X509 *x = real(a, in, len);
    if (CHEAP && x != NULL && CERT == NULL && start != NULL && *in - start == len) {
        CERT_DER = malloc((size_t)len);
        if (CERT_DER != NULL) {
            memcpy(CERT_DER, start, (size_t)len);
            CERT_LEN = len;
            X509_up_ref(x);
            CERT = x;
        }
    }
    return x;
}

/* Fetched algorithms, cached: OpenSSL 3.0 looks each one up again (locks, property matching)
 * every time libssl or libcrypto asks, a dozen times a handshake. The first fetch of a name (for a
 * library context and property query) is kept and handed out again with a reference. */
#define FETCH_CACHE(TYPE, FN, UPREF)                                                                \
    TYPE *FN(OSSL_LIB_CTX *libctx, const char *name, const char *propq) {                          \
        static TYPE *(*real)(OSSL_LIB_CTX *, const char *, const char *);                            \
        static struct {                                                                              \
            OSSL_LIB_CTX *libctx;                                                                    \
            char name[64], propq[64];                                                                \
            int has_propq;                                                                           \
            TYPE *alg;                                                                               \
        } cache[32];                                                                                 \
        static int n;                                                                                \
        if (real == NULL)                                                                            \
            real = (TYPE * (*)(OSSL_LIB_CTX *, const char *, const char *)) dlsym(RTLD_NEXT, #FN); \
        if (!CHEAP || name == NULL || strlen(name) >= 64 || (propq != NULL && strlen(propq) >= 64)) \
            return real(libctx, name, propq);                                                        \
        for (int i = 0; i < n; i++)                                                                  \
            if (cache[i].libctx == libctx && strcmp(cache[i].name, name) == 0 &&                     \
                cache[i].has_propq == (propq != NULL) && (propq == NULL || strcmp(cache[i].propq, propq) == 0)) { \
                UPREF(cache[i].alg);                                                                 \
                fetch_reused++;                                                                      \
                return cache[i].alg;                                                                 \
            }                                                                                        \
        TYPE *alg = real(libctx, name, propq);                                                       \
        if (alg != NULL && n < 32) {                                                                 \
            cache[n].libctx = libctx;                                                                \
            strcpy(cache[n].name, name);                                                             \
            cache[n].has_propq = propq != NULL;                                                      \
            if (propq != NULL)                                                                       \
                strcpy(cache[n].propq, propq);                                                       \
            UPREF(alg);                                                                              \
            cache[n++].alg = alg;                                                                    \
        }                                                                                            \
        return alg;                                                                                  \
    }

static unsigned long fetch_reused;
FETCH_CACHE(EVP_MD, EVP_MD_fetch, EVP_MD_up_ref)
FETCH_CACHE(EVP_CIPHER, EVP_CIPHER_fetch, EVP_CIPHER_up_ref)
FETCH_CACHE(EVP_KDF, EVP_KDF_fetch, EVP_KDF_up_ref)
FETCH_CACHE(EVP_MAC, EVP_MAC_fetch, EVP_MAC_up_ref)
FETCH_CACHE(EVP_KEYMGMT, EVP_KEYMGMT_fetch, EVP_KEYMGMT_up_ref)
FETCH_CACHE(EVP_KEYEXCH, EVP_KEYEXCH_fetch, EVP_KEYEXCH_up_ref)
FETCH_CACHE(EVP_SIGNATURE, EVP_SIGNATURE_fetch, EVP_SIGNATURE_up_ref)

static int accept_any_chain(X509_STORE_CTX *x, void *arg) {
    (void)x;
    (void)arg;
    return 1;
}

/* ---- options ------------------------------------------------------------------------------- */

static const char *HOST = "127.0.0.1", *SNI = "localhost", *PATH_ = "/";
static int PORT, VERSION, RESUME, NO_TICKET;
static long CONCURRENCY = 32, BODY = -1;
static double DURATION = 5;

static void usage(const char *why) {
    fprintf(stderr,
            "hsload: %s\nusage: hsload --port P [--host 127.0.0.1] [--sni NAME] [--tls12|--tls13] [--resume]\n"
            "       [--no-ticket] [--duration SECS] [--concurrency C] [--path /file] [--body-bytes N] [--full-cost]\n",
            why);
    exit(2);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sessions: the newest ones, each offered once (TLS 1.2: put back after resuming) -------- */

#define POOL_MAX 4096
static SSL_SESSION *POOL[POOL_MAX];
static int pool_n;

static void pool_put(SSL_SESSION *s) {
    if (pool_n == POOL_MAX) {
        SSL_SESSION_free(POOL[0]);
        memmove(POOL, POOL + 1, sizeof POOL[0] * (POOL_MAX - 1));
        pool_n--;
    }
    POOL[pool_n++] = s;
}

static SSL_SESSION *pool_take(void) { return pool_n > 0 ? POOL[--pool_n] : NULL; }

/* ---- connections ----------------------------------------------------------------------------- */

enum st { FREE, CONNECTING, HANDSHAKE, WRITE, READ };

struct conn {
    enum st st;
    int fd;
    SSL *ssl;
    int offered;
    size_t req_off;
    char hdr[4096];
    size_t hdr_len;
    long body_want, body_got;
    int in_body;
};

static SSL_CTX *CTX;
static struct conn *CONNS;
static int EP;
static struct sockaddr_in ADDR;
static char REQ[512];
static size_t REQ_LEN;

static unsigned long started, ok, failed, full, resumed, refused, no_session, tls12, tls13;
static char negotiated[160];

static void conn_close(struct conn *c) {
    if (c->ssl != NULL) {
        /* No close_notify (nginx closes after its response: Connection: close), but marked as
         * shut down: SSL_free would otherwise mark the session not resumable. */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        epoll_ctl(EP, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->ssl = NULL;
    c->fd = -1;
    c->st = FREE;
}

static void conn_fail(struct conn *c, const char *what) {
    failed++;
    if (failed <= 10) {
        char err[256] = "";
        unsigned long e = ERR_get_error();
        if (e != 0)
            ERR_error_string_n(e, err, sizeof err);
        fprintf(stderr, "hsload: connection failed in state %d: %s%s%s\n", c->st, what, err[0] ? ": " : "", err);
    }
    ERR_clear_error();
    conn_close(c);
}

static void set_events(struct conn *c, unsigned ev) {
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(EP, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_start(struct conn *c) {
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        c->st = CONNECTING;
        conn_fail(c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    started++;
    c->st = CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&ADDR, sizeof ADDR) < 0 && errno != EINPROGRESS) {
        char m[128];
        snprintf(m, sizeof m, "connect: %s", strerror(errno));
        conn_fail(c, m);
        return;
    }
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(EP, EPOLL_CTL_ADD, c->fd, &e);
}

/* Returns 1 when the SSL call wants to wait (events set), 0 after a failure. */
static int ssl_wait(struct conn *c, int r, const char *what) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        set_events(c, EPOLLIN);
        return 1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        set_events(c, EPOLLOUT);
        return 1;
    }
    char m[160];
    snprintf(m, sizeof m, "%s: SSL error %d (errno %s)", what, e, e == SSL_ERROR_SYSCALL ? strerror(errno) : "-");
    conn_fail(c, m);
    return 0;
}

/* Parses the response header once complete: 1 done, 0 need more, -1 failed. */
static int parse_header(struct conn *c) {
    c->hdr[c->hdr_len] = '\0';
    char *end = strstr(c->hdr, "\r\n\r\n");
    if (end == NULL)
        return c->hdr_len >= sizeof c->hdr - 1 ? -1 : 0;
    if (strncmp(c->hdr, "HTTP/1.1 200 ", 13) != 0)
        return -1;
    const char *cl = strcasestr(c->hdr, "\r\ncontent-length:");
    if (cl == NULL || cl > end)
        return -1;
    c->body_want = strtol(cl + 17, NULL, 10);
    if (BODY >= 0 && c->body_want != BODY)
        return -1;
    size_t head = (size_t)(end + 4 - c->hdr);
    c->body_got = (long)(c->hdr_len - head);
    c->in_body = 1;
    return 1;
}

static void conn_step(struct conn *c, unsigned ev) {
    int r;
    for (;;) {
        switch (c->st) {
        case FREE:
            return;
        case CONNECTING: {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err == EINPROGRESS || (err == 0 && !(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))))
                return;
            if (err != 0) {
                char m[128];
                snprintf(m, sizeof m, "connect: %s", strerror(err));
                conn_fail(c, m);
                return;
            }
            c->ssl = SSL_new(CTX);
            if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, SNI)) {
                conn_fail(c, "SSL_new/SSL_set_fd/SNI");
                return;
            }
            if (RESUME) {
                SSL_SESSION *s = pool_take();
                if (s == NULL) {
                    no_session++;
                } else {
                    SSL_set_session(c->ssl, s);
                    SSL_SESSION_free(s);
                    c->offered = 1;
                }
            }
            SSL_set_connect_state(c->ssl);
            c->st = HANDSHAKE;
            continue;
        }
        case HANDSHAKE:
            r = SSL_do_handshake(c->ssl);
            if (r != 1) {
                ssl_wait(c, r, "handshake");
                return;
            }
            if (SSL_session_reused(c->ssl)) {
                if (!c->offered) {
                    conn_fail(c, "resumed without a session offered");
                    return;
                }
                resumed++;
            } else {
                if (c->offered)
                    refused++;
                full++;
            }
            if (!RESUME && SSL_session_reused(c->ssl)) {
                conn_fail(c, "a full-handshake run resumed");
                return;
            }
            if (SSL_version(c->ssl) == TLS1_3_VERSION)
                tls13++;
            else
                tls12++;
            if (negotiated[0] == '\0') {
                char g[64] = "?";
                int nid = SSL_get_negotiated_group(c->ssl);
                const char *gn = nid != 0 ? OBJ_nid2sn(nid) : NULL;
                if (gn != NULL)
                    snprintf(g, sizeof g, "%s", gn);
                snprintf(negotiated, sizeof negotiated, "%s/%s/%s", SSL_get_version(c->ssl),
                         SSL_get_cipher_name(c->ssl), g);
            }
            c->st = WRITE;
            continue;
        case WRITE: {
            size_t n = 0;
            r = SSL_write_ex(c->ssl, REQ + c->req_off, REQ_LEN - c->req_off, &n);
            if (r != 1) {
                ssl_wait(c, r, "write");
                return;
            }
            c->req_off += n;
            if (c->req_off < REQ_LEN)
                continue;
            c->st = READ;
            continue;
        }
        case READ: {
            char buf[16384];
            size_t n = 0;
            if (!c->in_body) {
                r = SSL_read_ex(c->ssl, c->hdr + c->hdr_len, sizeof c->hdr - 1 - c->hdr_len, &n);
                if (r != 1) {
                    ssl_wait(c, r, "read (header)");
                    return;
                }
                c->hdr_len += n;
                int p = parse_header(c);
                if (p < 0) {
                    c->hdr[c->hdr_len < 200 ? c->hdr_len : 200] = '\0';
                    char m[320];
                    snprintf(m, sizeof m, "bad response: %.200s", c->hdr);
                    for (char *q = m; *q; q++)
                        if (*q == '\r' || *q == '\n')
                            *q = ' ';
                    conn_fail(c, m);
                    return;
                }
                if (p == 0)
                    continue;
            } else {
                r = SSL_read_ex(c->ssl, buf, sizeof buf, &n);
                if (r != 1) {
                    ssl_wait(c, r, "read (body)");
                    return;
                }
                c->body_got += (long)n;
            }
            if (c->body_got > c->body_want) {
                conn_fail(c, "more body bytes than Content-Length");
                return;
            }
            if (c->body_got < c->body_want)
                continue;
            /* done: keep its session for a later connection */
            if (RESUME) {
                SSL_SESSION *s = SSL_get1_session(c->ssl);
                if (s != NULL && SSL_SESSION_is_resumable(s))
                    pool_put(s);
                else if (s != NULL)
                    SSL_SESSION_free(s);
            }
            ok++;
            conn_close(c);
            return;
        }
        }
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_V() \
    do { \
        if (v == NULL) \
            usage("missing value"); \
        i++; \
    } while (0)
        if (!strcmp(a, "--port")) { NEED_V(); PORT = atoi(v); }
        else if (!strcmp(a, "--host")) { NEED_V(); HOST = v; }
        else if (!strcmp(a, "--sni")) { NEED_V(); SNI = v; }
        else if (!strcmp(a, "--path")) { NEED_V(); PATH_ = v; }
        else if (!strcmp(a, "--duration")) { NEED_V(); DURATION = atof(v); }
        else if (!strcmp(a, "--concurrency")) { NEED_V(); CONCURRENCY = atol(v); }
        else if (!strcmp(a, "--body-bytes")) { NEED_V(); BODY = atol(v); }
        else if (!strcmp(a, "--tls12")) VERSION = TLS1_2_VERSION;
        else if (!strcmp(a, "--tls13")) VERSION = TLS1_3_VERSION;
        else if (!strcmp(a, "--resume")) RESUME = 1;
        else if (!strcmp(a, "--no-ticket")) NO_TICKET = 1;
        else if (!strcmp(a, "--full-cost")) CHEAP = 0;
        else usage("unknown option");
    }
    if (PORT <= 0 || PORT > 65535 || CONCURRENCY < 1 || CONCURRENCY > 4096 || DURATION <= 0)
        usage("--port, --concurrency (1..4096) and --duration (> 0) are required");
    memset(&ADDR, 0, sizeof ADDR);
    ADDR.sin_family = AF_INET;
    ADDR.sin_port = htons((unsigned short)PORT);
    if (inet_pton(AF_INET, HOST, &ADDR.sin_addr) != 1)
        usage("--host must be an IPv4 address");
    REQ_LEN = (size_t)snprintf(REQ, sizeof REQ, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", PATH_, SNI);

    CTX = SSL_CTX_new(TLS_client_method());
    if (VERSION) {
        SSL_CTX_set_min_proto_version(CTX, VERSION);
        SSL_CTX_set_max_proto_version(CTX, VERSION);
    }
    if (!SSL_CTX_set1_groups_list(CTX, "X25519:P-256") || !SSL_CTX_set_ciphersuites(CTX, "TLS_AES_128_GCM_SHA256") ||
        !SSL_CTX_set_cipher_list(CTX, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")) {
        fprintf(stderr, "hsload: setting groups/suites failed\n");
        return 2;
    }
    SSL_CTX_set_session_cache_mode(CTX, SSL_SESS_CACHE_OFF);
    if (NO_TICKET)
        SSL_CTX_set_options(CTX, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(CTX, SSL_VERIFY_NONE, NULL);
    if (CHEAP)
        SSL_CTX_set_cert_verify_callback(CTX, accept_any_chain, NULL);

    CONNS = calloc((size_t)CONCURRENCY, sizeof *CONNS);
    EP = epoll_create1(0);
    struct epoll_event *evs = calloc((size_t)CONCURRENCY, sizeof *evs);
    if (CONNS == NULL || evs == NULL || EP < 0)
        return 2;
    double t0 = now_s(), deadline = t0 + DURATION, hard = deadline + 10;
    for (long i = 0; i < CONCURRENCY; i++) {
        CONNS[i].fd = -1;
        conn_start(&CONNS[i]);
    }
    int stopping = 0;
    for (;;) {
        double t = now_s();
        if (!stopping && t >= deadline)
            stopping = 1;
        int open = 0;
        for (long i = 0; i < CONCURRENCY; i++) {
            if (CONNS[i].st == FREE && !stopping)
                conn_start(&CONNS[i]);
            if (CONNS[i].st != FREE)
                open++;
        }
        if (open == 0 || t >= hard || failed > 1000)
            break;
        int n = epoll_wait(EP, evs, (int)CONCURRENCY, 100);
        for (int i = 0; i < n; i++)
            conn_step((struct conn *)evs[i].data.ptr, evs[i].events);
    }
    double elapsed = now_s() - t0;
    unsigned long unfinished = 0;
    for (long i = 0; i < CONCURRENCY; i++)
        if (CONNS[i].st != FREE) {
            unfinished++;
            conn_fail(&CONNS[i], "unfinished at the hard deadline");
        }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wait = -1; /* time runnable but waiting for a CPU, s (/proc/self/schedstat) */
    FILE *ss = fopen("/proc/self/schedstat", "r");
    if (ss != NULL) {
        unsigned long long run_ns, wait_ns;
        if (fscanf(ss, "%llu %llu", &run_ns, &wait_ns) == 2)
            wait = (double)wait_ns / 1e9;
        fclose(ss);
    }
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    printf("hsload: ok=%lu failed=%lu started=%lu full=%lu resumed=%lu refused=%lu no_session=%lu tls12=%lu "
           "tls13=%lu secs=%.3f rate=%.1f client_cpu=%.3f client_wait=%.3f negotiated=%s cheap=%d verify_skipped=%lu "
           "keygen_reused=%lu cert_reused=%lu fetch_reused=%lu unfinished=%lu\n",
           ok, failed, started, full, resumed, refused, no_session, tls12, tls13, elapsed, ok / elapsed, cpu, wait,
           negotiated[0] ? negotiated : "-", CHEAP, verify_skipped, keygen_reused, cert_reused, fetch_reused, unfinished);
    return failed == 0 && ok > 0 ? 0 : 1;
}
