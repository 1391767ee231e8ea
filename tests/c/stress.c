/* Threads against the C ABI: many threads share one config and run their own in-memory
 * handshakes (the config is immutable and refcounted, so this must be safe), while other
 * threads call into ONE connection at the same time (which must answer
 * FERROTLS_ERR_CONCURRENT_USE or succeed, never crash). Built twice by tests/c/run.sh: with
 * AddressSanitizer and with ThreadSanitizer. The Rust library itself is not instrumented (that
 * needs a nightly toolchain with rust-src, which these machines cannot fetch), so TSan checks
 * the C side and the library's locking as seen from it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ferrotls.h>

#define WORKERS 4
#define HANDSHAKES_PER_WORKER 25
#define HAMMERS 4
#define HAMMER_CALLS 20000

static ferrotls_config *CLIENT_CFG, *SERVER_CFG;
static ferrotls_conn *SHARED;
static atomic_int FAILURES, BUSY_SEEN;

static void must(ferrotls_result r, const char *what) {
    if (r != FERROTLS_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, ferrotls_result_name(r), ferrotls_last_error_detail());
        exit(1);
    }
}

static ferrotls_config *config(uint32_t role, const char *dir) {
    char a[512], b[512];
    ferrotls_config_builder *bld;
    ferrotls_config *cfg;
    must(ferrotls_config_builder_new(role, &bld), "builder");
    if (role == FERROTLS_ROLE_CLIENT) {
        snprintf(a, sizeof a, "%s/ca.pem", dir);
        must(ferrotls_config_builder_add_roots_file(bld, a), "roots");
    } else {
        snprintf(a, sizeof a, "%s/server.pem", dir);
        snprintf(b, sizeof b, "%s/server.key", dir);
        must(ferrotls_config_builder_add_cert_key_file(bld, a, b), "cert");
    }
    must(ferrotls_config_builder_build(bld, &cfg), "build");
    ferrotls_config_builder_free(bld);
    return cfg;
}

/* Move every pending byte from `a` to `b`; 0 on success. */
static int pump(ferrotls_conn *a, ferrotls_conn *b) {
    const uint8_t *p;
    size_t n, used;
    while (ferrotls_conn_outgoing_len(a) > 0) {
        if (ferrotls_conn_peek_outgoing(a, &p, &n) != FERROTLS_OK)
            return -1;
        ferrotls_result r = ferrotls_conn_feed(b, p, n, &used);
        if (r != FERROTLS_OK && r != FERROTLS_CLOSED)
            return -1;
        ferrotls_conn_consume_outgoing(a, used);
        if (used == 0)
            return -1;
    }
    return 0;
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < HANDSHAKES_PER_WORKER; i++) {
        ferrotls_conn *c, *s;
        ferrotls_config *mine = ferrotls_config_clone(CLIENT_CFG); /* refcount traffic too */
        if (ferrotls_conn_new_client(mine, "localhost", &c) != FERROTLS_OK ||
            ferrotls_conn_new_server(SERVER_CFG, &s) != FERROTLS_OK) {
            atomic_fetch_add(&FAILURES, 1);
            ferrotls_config_free(mine);
            continue;
        }
        ferrotls_config_free(mine);
        int ok = 0;
        for (int round = 0; round < 10 && !ok; round++) {
            if (pump(c, s) || pump(s, c))
                break;
            ok = !(ferrotls_conn_wants(c) & FERROTLS_WANTS_HANDSHAKING) &&
                 !(ferrotls_conn_wants(s) & FERROTLS_WANTS_HANDSHAKING);
        }
        size_t acc = 0, got = 0;
        uint8_t buf[64];
        if (!ok || ferrotls_conn_write(c, (const uint8_t *)"ping", 4, &acc) != FERROTLS_OK || pump(c, s) ||
            ferrotls_conn_read(s, buf, sizeof buf, &got) != FERROTLS_OK || got != 4 || memcmp(buf, "ping", 4) != 0)
            atomic_fetch_add(&FAILURES, 1);
        (void)ferrotls_conn_close(c);
        (void)ferrotls_conn_close(c); /* a second close is answered, not a crash */
        ferrotls_conn_free(c);
        ferrotls_conn_free(s);
    }
    return NULL;
}

static void *hammer(void *arg) {
    (void)arg;
    uint8_t buf[256];
    for (int i = 0; i < HAMMER_CALLS; i++) {
        size_t n = 0;
        ferrotls_result r;
        switch (i % 4) {
        case 0: r = ferrotls_conn_feed(SHARED, (const uint8_t *)"\x16\x03\x03\x00", 4, &n); break;
        case 1: r = ferrotls_conn_read(SHARED, buf, sizeof buf, &n); break;
        case 2: r = ferrotls_conn_write(SHARED, (const uint8_t *)"x", 1, &n); break;
        default: r = ferrotls_conn_take_outgoing(SHARED, buf, sizeof buf, &n); break;
        }
        if (r == FERROTLS_ERR_CONCURRENT_USE)
            atomic_fetch_add(&BUSY_SEEN, 1);
        else if (r == FERROTLS_ERR_PANIC || r == FERROTLS_ERR_INTERNAL)
            atomic_fetch_add(&FAILURES, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "examples-c/certs";
    CLIENT_CFG = config(FERROTLS_ROLE_CLIENT, dir);
    SERVER_CFG = config(FERROTLS_ROLE_SERVER, dir);
    must(ferrotls_conn_new_server(SERVER_CFG, &SHARED), "shared conn");

    pthread_t t[WORKERS + HAMMERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < HAMMERS; i++)
        pthread_create(&t[WORKERS + i], NULL, hammer, NULL);
    for (int i = 0; i < WORKERS + HAMMERS; i++)
        pthread_join(t[i], NULL);

    ferrotls_conn_free(SHARED);
    ferrotls_config_free(CLIENT_CFG);
    ferrotls_config_free(SERVER_CFG);
    int failures = atomic_load(&FAILURES);
    printf("stress: %d handshakes on %d threads sharing one config; %d calls from %d threads on one "
           "connection, %d answered CONCURRENT_USE; %d failures\n",
           WORKERS * HANDSHAKES_PER_WORKER, WORKERS, HAMMERS * HAMMER_CALLS, HAMMERS, atomic_load(&BUSY_SEEN),
           failures);
    return failures == 0 ? 0 : 1;
}
