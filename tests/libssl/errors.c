/* Expected failures, with the numbers a program sees: return values, SSL_get_error, and the
 * library and reason codes of the queued errors (ERR_GET_LIB/ERR_GET_REASON; the text goes to
 * stderr, not compared).
 * usage: errors files
 *   certificate and key loading (missing files, a key that does not match, a key file given
 *   as a certificate), SSL_CTX_check_private_key, cipher strings, protocol version bounds
 * usage: errors connect PORT CAFILE MIN MAX [CIPHERS]
 *   a blocking client with those version bounds (and cipher list, e.g. "DEFAULT@SECLEVEL=0");
 *   prints SSL_connect's result, then SSL_write after SSL_shutdown (SSL_R_PROTOCOL_IS_SHUTDOWN)
 * usage: errors read PORT CAFILE ignore-eof|strict REQUEST
 *   connects, writes REQUEST and a newline, reads to the end: a close_notify gives 0 and
 *   SSL_ERROR_ZERO_RETURN (twice); a bare EOF gives 0 (not -1) and SSL_ERROR_SSL with
 *   SSL_R_UNEXPECTED_EOF_WHILE_READING, or with SSL_OP_IGNORE_UNEXPECTED_EOF (ignore-eof)
 *   0 and SSL_ERROR_ZERO_RETURN, as if a close_notify had come */
#include "common.h"

#define CERTS "examples-c/certs/"

static void load(const char *cert, const char *key) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        die("SSL_CTX_new");
    printf("-- certificate %s, key %s\n", cert, key);
    print_queue("SSL_CTX_use_certificate_chain_file", SSL_CTX_use_certificate_chain_file(ctx, cert));
    print_queue("SSL_CTX_use_PrivateKey_file", SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM));
    print_queue("SSL_CTX_check_private_key", SSL_CTX_check_private_key(ctx));
    SSL_CTX_free(ctx);
}

static int files(void) {
    load(CERTS "server.pem", CERTS "server.key");
    load(CERTS "no-such-file.pem", CERTS "server.key");
    load(CERTS "server.pem", CERTS "no-such-file.key");
    load(CERTS "server.pem", CERTS "client.key");
    load(CERTS "server.pem", CERTS "server-rsa.key");
    load(CERTS "server.key", CERTS "server.key");
    load(CERTS "server-rsa.pem", CERTS "server.key");

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new");
    printf("-- a client context\n");
    print_queue("SSL_CTX_check_private_key with nothing loaded", SSL_CTX_check_private_key(ctx));
    print_queue("SSL_CTX_load_verify_locations(missing file)",
                SSL_CTX_load_verify_locations(ctx, CERTS "no-such-file.pem", NULL));
    print_queue("SSL_CTX_load_verify_locations(a key file)", SSL_CTX_load_verify_locations(ctx, CERTS "server.key", NULL));
    print_queue("SSL_CTX_set_cipher_list(kRSA-no-such)", SSL_CTX_set_cipher_list(ctx, "kRSA-no-such"));
    print_queue("SSL_CTX_set_cipher_list(NO-SUCH-CIPHER)", SSL_CTX_set_cipher_list(ctx, "NO-SUCH-CIPHER"));
    print_queue("SSL_CTX_set_cipher_list(NO-SUCH:ECDHE-ECDSA-AES128-GCM-SHA256)",
                SSL_CTX_set_cipher_list(ctx, "NO-SUCH:ECDHE-ECDSA-AES128-GCM-SHA256"));
    print_queue("SSL_CTX_set_ciphersuites(TLS_NO_SUCH)", SSL_CTX_set_ciphersuites(ctx, "TLS_NO_SUCH"));
    print_queue("SSL_CTX_set_ciphersuites(TLS_AES_128_GCM_SHA256)", SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256"));
    print_queue("SSL_CTX_set_min_proto_version(TLS1_VERSION)", SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION));
    print_queue("SSL_CTX_set_max_proto_version(0x9999)", SSL_CTX_set_max_proto_version(ctx, 0x9999));
    print_queue("SSL_CTX_set_min_proto_version(SSL3_VERSION)", SSL_CTX_set_min_proto_version(ctx, SSL3_VERSION));
    printf("bounds now: min 0x%x, max 0x%x\n", (unsigned)SSL_CTX_get_min_proto_version(ctx),
           (unsigned)SSL_CTX_get_max_proto_version(ctx));
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        die("SSL_new");
    char buf[16];
    int r = SSL_read(ssl, buf, sizeof buf);
    printf("SSL_read with no BIO: %d, SSL_get_error %d\n", r, SSL_get_error(ssl, r));
    print_queue("  queue", r);
    print_queue("SSL_set_fd(-1)", SSL_set_fd(ssl, -1));
    r = SSL_connect(ssl);
    printf("SSL_connect on fd -1: %d, SSL_get_error %d\n", r, SSL_get_error(ssl, r));
    print_queue("  queue", r);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return 0;
}

static SSL *connect_to(SSL_CTX *ctx, int port, int *fd) {
    *fd = tcp_connect(port);
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, *fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1)
        die("SSL_new/SSL_set_fd/SSL_set_tlsext_host_name");
    return ssl;
}

static SSL_CTX *client_ctx(const char *cafile) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
        die("SSL_CTX_new/SSL_CTX_load_verify_locations");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static int connect_case(int port, const char *cafile, const char *minv, const char *maxv, const char *ciphers) {
    SSL_CTX *ctx = client_ctx(cafile);
    printf("min %s: %d, max %s: %d\n", minv, (int)SSL_CTX_set_min_proto_version(ctx, parse_version(minv)), maxv,
           (int)SSL_CTX_set_max_proto_version(ctx, parse_version(maxv)));
    if (ciphers != NULL)
        printf("SSL_CTX_set_cipher_list(%s): %d\n", ciphers, SSL_CTX_set_cipher_list(ctx, ciphers));
    int fd, rc = 0;
    SSL *ssl = connect_to(ctx, port, &fd);
    int r = SSL_connect(ssl);
    if (r == 1) {
        printf("SSL_connect: 1, %s\n", SSL_get_version(ssl));
        printf("SSL_shutdown: %d\n", SSL_shutdown(ssl));
        r = SSL_write(ssl, "x", 1);
        printf("SSL_write after SSL_shutdown: %d, SSL_get_error %d, reason %d\n", r, SSL_get_error(ssl, r),
               ERR_GET_REASON(ERR_peek_error()));
        ERR_print_errors_fp(stderr);
    } else {
        print_ssl_fail("SSL_connect", ssl, r);
        rc = 1;
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return rc;
}

static int read_case(int port, const char *cafile, int ignore_eof, const char *request) {
    SSL_CTX *ctx = client_ctx(cafile);
    if (ignore_eof)
        SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    int fd;
    SSL *ssl = connect_to(ctx, port, &fd);
    int r = SSL_connect(ssl);
    if (r != 1) {
        print_ssl_fail("SSL_connect", ssl, r);
        return 1;
    }
    char line[256];
    int n = snprintf(line, sizeof line, "%s\n", request);
    printf("SSL_write: %d\n", SSL_write(ssl, line, n));
    static char buf[1 << 16];
    size_t total = 0;
    while ((r = SSL_read(ssl, buf + total, (int)(sizeof buf - 1 - total))) > 0)
        total += (size_t)r;
    buf[total] = 0;
    char *eol = strpbrk(buf, "\r\n");
    if (eol != NULL)
        *eol = 0;
    printf("first line: %s\n", buf);
    int e = SSL_get_error(ssl, r);
    printf("read ended: %d, SSL_get_error %d, SSL_get_shutdown %d\n", r, e, SSL_get_shutdown(ssl));
    print_queue("  queue", r);
    if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL) {
        /* A fatal error: no more SSL_read, and no SSL_shutdown (SSL_shutdown(3)). */
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        close(fd);
        return 0;
    }
    r = SSL_read(ssl, buf, sizeof buf);
    printf("SSL_read again: %d, SSL_get_error %d\n", r, SSL_get_error(ssl, r));
    print_queue("  queue", r);
    r = SSL_shutdown(ssl);
    printf("SSL_shutdown: %d, SSL_get_shutdown %d\n", r, SSL_get_shutdown(ssl));
    print_queue("  queue", r);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    setup();
    if (argc == 2 && strcmp(argv[1], "files") == 0)
        return files();
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "connect") == 0)
        return connect_case(atoi(argv[2]), argv[3], argv[4], argv[5], argc == 7 ? argv[6] : NULL);
    if (argc == 6 && strcmp(argv[1], "read") == 0)
        return read_case(atoi(argv[2]), argv[3], strcmp(argv[4], "ignore-eof") == 0, argv[5]);
    fprintf(stderr, "usage: see errors.c\n");
    return 2;
}
