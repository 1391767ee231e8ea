/* Certificate verification as a client, with a verify callback that prints each call
 * (preverify_ok, depth, error, subject of the current certificate) and checks that
 * X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()) is the SSL it made.
 * After SSL_connect: its result (or SSL_get_error and the reason), SSL_get_verify_result,
 * SSL_get1_peer_certificate, SSL_get_peer_cert_chain and SSL_get0_verified_chain.
 * usage: verify MODE PORT CAFILE [HOST]
 * MODE: cb       SSL_VERIFY_PEER, the callback returns preverify_ok; trust: load_verify_locations
 *       override SSL_VERIFY_PEER, the callback returns 1 (accepts whatever failed)
 *       none     SSL_VERIFY_NONE and no callback
 *       store    as cb, trusting CAFILE by PEM_read_X509 + X509_STORE_add_cert on the
 *                SSL_CTX_get_cert_store store
 *       default  as cb, trusting SSL_CTX_set_default_verify_paths (SSL_CERT_FILE); CAFILE unused
 * HOST: checked by SSL_set1_host (without it, OpenSSL checks no name at all). */
#include "common.h"
#include <openssl/pem.h>

static SSL *the_ssl;
static int calls, wrong_ssl, override;

static int verify_cb(int preverify_ok, X509_STORE_CTX *sctx) {
    char buf[256];
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    calls++;
    if (ssl != the_ssl)
        wrong_ssl++;
    int err = X509_STORE_CTX_get_error(sctx);
    printf("verify cb: preverify %d, depth %d, error %d (%s), cert %s\n", preverify_ok,
           X509_STORE_CTX_get_error_depth(sctx), err, X509_verify_cert_error_string(err),
           subject(X509_STORE_CTX_get_current_cert(sctx), buf, sizeof buf));
    return override ? 1 : preverify_ok;
}

static void print_chain(const char *what, STACK_OF(X509) *chain) {
    char buf[256];
    if (chain == NULL) {
        printf("%s: none\n", what);
        return;
    }
    printf("%s: %d certificates\n", what, sk_X509_num(chain));
    for (int i = 0; i < sk_X509_num(chain); i++)
        printf("  %d: %s\n", i, subject(sk_X509_value(chain, i), buf, sizeof buf));
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: verify MODE PORT CAFILE [HOST]\n");
        return 2;
    }
    setup();
    const char *mode = argv[1], *cafile = argv[3];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new");
    if (strcmp(mode, "store") == 0) {
        FILE *f = fopen(cafile, "r");
        X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        if (ca == NULL || store == NULL)
            die("PEM_read_X509/SSL_CTX_get_cert_store");
        printf("X509_STORE_add_cert: %d\n", X509_STORE_add_cert(store, ca));
        X509_free(ca);
    } else if (strcmp(mode, "default") == 0) {
        printf("SSL_CTX_set_default_verify_paths: %d\n", SSL_CTX_set_default_verify_paths(ctx));
    } else if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
        die("SSL_CTX_load_verify_locations");
    }
    override = strcmp(mode, "override") == 0;
    if (strcmp(mode, "none") == 0)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    else
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    printf("verify mode %d, callback set %s\n", SSL_CTX_get_verify_mode(ctx),
           SSL_CTX_get_verify_callback(ctx) == verify_cb ? "yes" : "no");

    int fd = tcp_connect(atoi(argv[2]));
    SSL *ssl = the_ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1)
        die("SSL_new/SSL_set_fd/SSL_set_tlsext_host_name");
    if (argc == 5) {
        printf("SSL_set1_host(%s): %d\n", argv[4], SSL_set1_host(ssl, argv[4]));
        printf("SSL_get0_peername before the handshake: %s\n", SSL_get0_peername(ssl) ? "set" : "(none)");
    }
    printf("verify result before the handshake: %ld\n", SSL_get_verify_result(ssl));
    int r = SSL_connect(ssl);
    int rc = 0;
    if (r == 1) {
        printf("SSL_connect: 1\n");
    } else {
        print_ssl_fail("SSL_connect", ssl, r);
        rc = 1;
    }
    printf("callback: %s, the SSL from the store context: %s\n", calls ? "called" : "never called",
           wrong_ssl ? "WRONG" : "always right");
    long vr = SSL_get_verify_result(ssl);
    printf("SSL_get_verify_result: %ld (%s)\n", vr, X509_verify_cert_error_string(vr));
    char buf[256];
    X509 *peer = SSL_get1_peer_certificate(ssl);
    printf("SSL_get1_peer_certificate: %s\n", subject(peer, buf, sizeof buf));
    X509_free(peer);
    if (r == 1) {
        const char *peername = SSL_get0_peername(ssl);
        printf("SSL_get0_peername: %s\n", peername ? peername : "(none)");
        print_chain("SSL_get_peer_cert_chain", SSL_get_peer_cert_chain(ssl));
        print_chain("SSL_get0_verified_chain", SSL_get0_verified_chain(ssl));
        printf("SSL_shutdown: %d\n", SSL_shutdown(ssl));
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return rc;
}
