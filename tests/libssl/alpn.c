/* ALPN on both sides.
 * usage: alpn client PORT CAFILE PROTOS   (PROTOS: comma-separated, "-" for none)
 *   SSL_CTX_set_alpn_protos (0 on success, 1 on failure: the OpenSSL quirk; a malformed
 *   list is rejected first), SSL_connect against `openssl s_server -alpn ...`, then
 *   SSL_get0_alpn_selected.
 * usage: alpn server PROTOS MODE -p PORTFILE   (MODE: noack or fatal, for no overlap)
 *   one connection; an SSL_CTX_set_alpn_select_cb callback that prints what the client
 *   offered and picks by SSL_select_next_proto in the server's order (PROTOS); with no
 *   overlap it returns SSL_TLSEXT_ERR_NOACK or SSL_TLSEXT_ERR_ALERT_FATAL. After the
 *   handshake: SSL_get0_alpn_selected, then it waits for the client's close_notify. */
#include "common.h"

#define CERTS "examples-c/certs/"

/* "h2,http/1.1" -> "\x02h2\x08http/1.1"; returns the length. */
static unsigned wire(const char *list, unsigned char *out) {
    unsigned n = 0;
    if (strcmp(list, "-") == 0)
        return 0;
    while (*list) {
        size_t l = strcspn(list, ",");
        out[n++] = (unsigned char)l;
        memcpy(out + n, list, l);
        n += (unsigned)l;
        list += l;
        if (*list == ',')
            list++;
    }
    return n;
}

static void print_selected(SSL *ssl, const char *who) {
    const unsigned char *p;
    unsigned len;
    SSL_get0_alpn_selected(ssl, &p, &len);
    if (len == 0)
        printf("%s: SSL_get0_alpn_selected: (none)\n", who);
    else
        printf("%s: SSL_get0_alpn_selected: %.*s\n", who, (int)len, p);
}

static unsigned char server_protos[256];
static unsigned server_len;
static int fatal;

static int select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                     unsigned inlen, void *arg) {
    (void)ssl;
    (void)arg;
    printf("select cb: client offers");
    for (unsigned i = 0; i < inlen; i += 1 + in[i])
        printf(" %.*s", in[i], in + i + 1);
    unsigned char *o;
    int r = SSL_select_next_proto(&o, outlen, server_protos, server_len, in, inlen);
    printf("; SSL_select_next_proto %s", r == OPENSSL_NPN_NEGOTIATED ? "NEGOTIATED" : "NO_OVERLAP");
    printf(" (out %.*s)\n", (int)*outlen, o);
    if (r != OPENSSL_NPN_NEGOTIATED)
        return fatal ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static int client(int port, const char *cafile, const char *protos) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
        die("SSL_CTX_new/SSL_CTX_load_verify_locations");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    printf("SSL_CTX_set_alpn_protos(malformed): %d\n",
           SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x05h2", 3));
    ERR_clear_error();
    unsigned char w[256];
    unsigned len = wire(protos, w);
    if (len > 0)
        printf("SSL_CTX_set_alpn_protos(%s): %d\n", protos, SSL_CTX_set_alpn_protos(ctx, w, len));
    int fd = tcp_connect(port);
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1)
        die("SSL_new/SSL_set_fd/SSL_set_tlsext_host_name");
    print_selected(ssl, "before the handshake");
    int r = SSL_connect(ssl), rc = 0;
    if (r == 1) {
        printf("SSL_connect: 1\n");
        print_selected(ssl, "client");
        printf("SSL_shutdown: %d\n", SSL_shutdown(ssl));
    } else {
        print_ssl_fail("SSL_connect", ssl, r);
        rc = 1;
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return rc;
}

static int server(const char *portfile, const char *protos) {
    int lfd = tcp_listen(portfile);
    server_len = wire(protos, server_protos);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, CERTS "server.pem") != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, CERTS "server.key", SSL_FILETYPE_PEM) != 1)
        die("SSL_CTX_new/loading the certificate");
    SSL_CTX_set_alpn_select_cb(ctx, select_cb, NULL);
    int fd = accept(lfd, NULL, NULL);
    SSL *ssl = SSL_new(ctx);
    if (fd < 0 || ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        die("accept/SSL_new/SSL_set_fd");
    int r = SSL_accept(ssl), rc = 0;
    if (r == 1) {
        printf("SSL_accept: 1\n");
        print_selected(ssl, "server");
        char buf[256];
        r = SSL_read(ssl, buf, sizeof buf);
        printf("SSL_read: %d, SSL_get_error %d\n", r, SSL_get_error(ssl, r));
        printf("SSL_shutdown: %d\n", SSL_shutdown(ssl));
    } else {
        print_ssl_fail("SSL_accept", ssl, r);
        rc = 1;
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    close(lfd);
    return rc;
}

int main(int argc, char **argv) {
    setup();
    if (argc == 5 && strcmp(argv[1], "client") == 0)
        return client(atoi(argv[2]), argv[3], argv[4]);
    if (argc == 6 && strcmp(argv[1], "server") == 0 && strcmp(argv[4], "-p") == 0) {
        fatal = strcmp(argv[3], "fatal") == 0;
        return server(argv[5], argv[2]);
    }
    fprintf(stderr, "usage: alpn client PORT CAFILE PROTOS | alpn server PROTOS noack|fatal -p PORTFILE\n");
    return 2;
}
