/* A client and a server in one process over a BIO pair (BIO_new_bio_pair, 8 KiB each way):
 * both driven by SSL_do_handshake and SSL_get_error until done; then a small message each way
 * with SSL_peek, SSL_pending, SSL_read_ex and SSL_write_ex; 1 MiB each way through the small
 * buffers (so SSL_write_ex must say WANT_WRITE and be called again) checked by FNV-1a; both
 * sides shut down (client 0, server reads close_notify, server 1, client 1) with
 * SSL_get_shutdown's flags; then the client resumes its session on a second connection.
 * usage: biopair VERSION(tls1_2|tls1_3) [mtls|mtls-sidctx]
 * mtls: the server requires a client certificate; the resumption then fails the OpenSSL way
 * (SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED) unless the server set a session id context
 * (mtls-sidctx), and the resumed session still knows the peer certificate. */
#include "common.h"

#define CERTS "examples-c/certs/"
#define BIG (1 << 20)

static SSL *client, *server;
static char sbuf[256];

static int step(SSL *ssl, int r, const char *who) {
    int e = SSL_get_error(ssl, r);
    if (r == 1 || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 1;
    print_ssl_fail(who, ssl, r);
    return 0;
}

static int handshake(void) {
    int c = 0, s = 0;
    for (int i = 0; i < 100 && (c != 1 || s != 1); i++) {
        if (c != 1 && !step(client, c = SSL_do_handshake(client), "client SSL_do_handshake"))
            return 0;
        if (s != 1 && !step(server, s = SSL_do_handshake(server), "server SSL_do_handshake"))
            return 0;
    }
    printf("handshake: client %d, server %d\n", c, s);
    return c == 1 && s == 1;
}

static void describe(SSL *ssl, const char *who) {
    X509 *peer = SSL_get1_peer_certificate(ssl);
    printf("%s: %s, init finished %d, session reused %d, peer %s, verify result %ld\n", who, SSL_get_version(ssl),
           SSL_is_init_finished(ssl), SSL_session_reused(ssl), subject(peer, sbuf, sizeof sbuf),
           SSL_get_verify_result(ssl));
    X509_free(peer);
}

/* Sends BIG pattern bytes from w to r; r reads with SSL_read_ex into 16 KiB. */
static void transfer(SSL *w, SSL *r, const char *what, unsigned seed) {
    static unsigned char out[BIG], in[16384];
    fill_pattern(out, BIG, seed);
    size_t written = 0, got = 0, n;
    int wdone = 0, want_write = 0;
    unsigned h = 2166136261u;
    for (int i = 0; i < 100000 && (!wdone || got < BIG); i++) {
        if (!wdone) {
            if (SSL_write_ex(w, out, BIG, &written) == 1)
                wdone = 1;
            else if (SSL_get_error(w, 0) == SSL_ERROR_WANT_WRITE)
                want_write = 1;
            else {
                print_ssl_fail("SSL_write_ex", w, 0);
                return;
            }
        }
        while (SSL_read_ex(r, in, sizeof in, &n) == 1) {
            h = fnv1a(h, in, n);
            got += n;
        }
        if (SSL_get_error(r, 0) != SSL_ERROR_WANT_READ) {
            print_ssl_fail("SSL_read_ex", r, 0);
            return;
        }
    }
    fill_pattern(out, BIG, seed);
    printf("%s: wrote %zu, read %zu, checksum %s, saw WANT_WRITE %s\n", what, written, got,
           h == fnv1a(2166136261u, out, BIG) ? "matches" : "DIFFERS", want_write ? "yes" : "no");
}

static int connection(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *sess, const char *label) {
    BIO *cb, *sb;
    client = SSL_new(cctx);
    server = SSL_new(sctx);
    if (client == NULL || server == NULL || BIO_new_bio_pair(&cb, 8192, &sb, 8192) != 1)
        die("SSL_new/BIO_new_bio_pair");
    SSL_set_bio(client, cb, cb);
    SSL_set_bio(server, sb, sb);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    if (SSL_set_tlsext_host_name(client, "localhost") != 1 || SSL_set1_host(client, "localhost") != 1)
        die("SSL_set_tlsext_host_name/SSL_set1_host");
    if (sess != NULL && SSL_set_session(client, sess) != 1)
        die("SSL_set_session");
    printf("== %s\n", label);
    printf("before: client init finished %d, server %d; SSL_is_server %d/%d\n", SSL_is_init_finished(client),
           SSL_is_init_finished(server), SSL_is_server(client), SSL_is_server(server));
    if (!handshake())
        return 0;
    describe(client, "client");
    describe(server, "server");
    return 1;
}

static void shutdown_both(void) {
    char b[16];
    int r = SSL_shutdown(client);
    printf("client SSL_shutdown %d, SSL_get_shutdown %d\n", r, SSL_get_shutdown(client));
    r = SSL_read(server, b, sizeof b);
    printf("server SSL_read %d, SSL_get_error %d, SSL_get_shutdown %d\n", r, SSL_get_error(server, r),
           SSL_get_shutdown(server));
    r = SSL_shutdown(server);
    printf("server SSL_shutdown %d, SSL_get_shutdown %d\n", r, SSL_get_shutdown(server));
    r = SSL_shutdown(client);
    printf("client SSL_shutdown %d, SSL_get_shutdown %d\n", r, SSL_get_shutdown(client));
    ERR_print_errors_fp(stderr);
    ERR_clear_error();
    SSL_free(client);
    SSL_free(server);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: biopair VERSION [mtls]\n");
        return 2;
    }
    setup();
    int v = parse_version(argv[1]), mtls = argc > 2 && strncmp(argv[2], "mtls", 4) == 0;
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    if (sctx == NULL || cctx == NULL)
        die("SSL_CTX_new");
    if (SSL_CTX_use_certificate_chain_file(sctx, CERTS "server.pem") != 1 ||
        SSL_CTX_use_PrivateKey_file(sctx, CERTS "server.key", SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(cctx, CERTS "ca.pem", NULL) != 1)
        die("loading certificates");
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    if (mtls) {
        if (SSL_CTX_load_verify_locations(sctx, CERTS "ca.pem", NULL) != 1 ||
            SSL_CTX_use_certificate_chain_file(cctx, CERTS "client.pem") != 1 ||
            SSL_CTX_use_PrivateKey_file(cctx, CERTS "client.key", SSL_FILETYPE_PEM) != 1)
            die("loading the client certificate");
        SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        if (strcmp(argv[2], "mtls-sidctx") == 0 &&
            SSL_CTX_set_session_id_context(sctx, (const unsigned char *)"biopair", 7) != 1)
            die("SSL_CTX_set_session_id_context");
    }
    if (SSL_CTX_set_min_proto_version(cctx, v) != 1 || SSL_CTX_set_max_proto_version(cctx, v) != 1)
        die("SSL_CTX_set_min/max_proto_version");

    if (!connection(cctx, sctx, NULL, "first connection"))
        return 1;
    size_t n;
    char b[64];
    int r = SSL_write(client, "ping\n", 5);
    printf("client SSL_write %d; server before reading: SSL_pending %d\n", r, SSL_pending(server));
    r = SSL_peek(server, b, 2);
    printf("server SSL_peek(2) %d \"%.*s\", SSL_pending %d, SSL_has_pending %d\n", r, r > 0 ? r : 0, b,
           SSL_pending(server), SSL_has_pending(server));
    r = SSL_read_ex(server, b, 3, &n);
    printf("server SSL_read_ex(3) %d, %zu \"%.*s\", SSL_pending %d\n", r, n, (int)n, b, SSL_pending(server));
    r = SSL_read(server, b, sizeof b);
    printf("server SSL_read %d \"%.*s\", SSL_pending %d, SSL_has_pending %d\n", r, r > 0 ? r - 1 : 0, b,
           SSL_pending(server), SSL_has_pending(server));
    r = SSL_read(server, b, sizeof b);
    printf("server SSL_read again %d, SSL_get_error %d\n", r, SSL_get_error(server, r));
    r = SSL_write_ex(server, "pong\n", 5, &n);
    printf("server SSL_write_ex %d, %zu\n", r, n);
    r = SSL_peek_ex(client, b, sizeof b, &n);
    printf("client SSL_peek_ex %d, %zu \"%.*s\"\n", r, n, n > 0 ? (int)n - 1 : 0, b);
    r = SSL_read_ex(client, b, sizeof b, &n);
    printf("client SSL_read_ex %d, %zu \"%.*s\"\n", r, n, n > 0 ? (int)n - 1 : 0, b);
    r = SSL_read_ex(client, b, sizeof b, &n);
    printf("client SSL_read_ex again %d, SSL_get_error %d\n", r, SSL_get_error(client, r));
    ERR_clear_error();
    transfer(client, server, "client to server", 1);
    transfer(server, client, "server to client", 2);
    SSL_SESSION *sess = SSL_get1_session(client);
    printf("session: resumable %d, protocol 0x%x\n", SSL_SESSION_is_resumable(sess),
           (unsigned)SSL_SESSION_get_protocol_version(sess));
    shutdown_both();

    if (!connection(cctx, sctx, sess, "resumed connection"))
        return 1;
    r = SSL_write(server, "again\n", 6);
    r = SSL_read(client, b, sizeof b);
    printf("client SSL_read %d \"%.*s\"\n", r, r > 0 ? r - 1 : 0, b);
    shutdown_both();
    SSL_SESSION_free(sess);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return 0;
}
