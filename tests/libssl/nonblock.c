/* A client on a non-blocking socket (O_NONBLOCK), driving SSL_connect, SSL_read, SSL_write
 * and SSL_shutdown by SSL_get_error's WANT_READ/WANT_WRITE and poll(), against
 * `openssl s_server -www`. It prints only what does not depend on how the bytes happen to
 * arrive: that the handshake finished, that an SSL_read
 * before the request is sent says WANT_READ (the server sends nothing before it), SSL_pending
 * and SSL_has_pending after reading 10 bytes of a longer record, the response's first line,
 * how the read ended and SSL_shutdown's result.
 * usage: nonblock PORT CAFILE VERSION(tls1_2|tls1_3|any) */
#include <fcntl.h>
#include <poll.h>
#include "common.h"

static int want_reads, want_writes;

/* Waits as SSL_get_error says; 1 to retry, 0 on another error (printed). */
static int wait_for(SSL *ssl, int r, const char *what) {
    int e = SSL_get_error(ssl, r);
    struct pollfd p = {.fd = SSL_get_fd(ssl)};
    if (e == SSL_ERROR_WANT_READ) {
        want_reads++;
        p.events = POLLIN;
    } else if (e == SSL_ERROR_WANT_WRITE) {
        want_writes++;
        p.events = POLLOUT;
    } else {
        print_ssl_fail(what, ssl, r);
        return 0;
    }
    if (poll(&p, 1, 20000) != 1) {
        printf("%s: timed out waiting (SSL_get_error %d)\n", what, e);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: nonblock PORT CAFILE VERSION\n");
        return 2;
    }
    setup();
    int fd = tcp_connect(atoi(argv[1]));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        die("fcntl");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1)
        die("SSL_CTX_new/SSL_CTX_load_verify_locations");
    int v = parse_version(argv[3]);
    if (SSL_CTX_set_min_proto_version(ctx, v) != 1 || SSL_CTX_set_max_proto_version(ctx, v) != 1)
        die("SSL_CTX_set_min/max_proto_version");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1 ||
        SSL_set1_host(ssl, "localhost") != 1)
        die("SSL_new/SSL_set_fd/SSL_set_tlsext_host_name/SSL_set1_host");

    int r;
    while ((r = SSL_connect(ssl)) != 1)
        if (!wait_for(ssl, r, "SSL_connect"))
            return 1;
    printf("handshake ok: %s, init finished %d\n", SSL_get_version(ssl), SSL_is_init_finished(ssl));

    char buf[16384];
    r = SSL_read(ssl, buf, sizeof buf);
    printf("SSL_read before the request: %d, SSL_get_error %d, SSL_pending %d\n", r, SSL_get_error(ssl, r),
           SSL_pending(ssl));
    if (SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ)
        want_reads++;
    ERR_clear_error();

    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    while ((r = SSL_write(ssl, req, (int)strlen(req))) <= 0)
        if (!wait_for(ssl, r, "SSL_write"))
            return 1;
    printf("SSL_write: %d\n", r);

    static char resp[1 << 20];
    size_t len = 0;
    while ((r = SSL_read(ssl, resp, 10)) <= 0)
        if (!wait_for(ssl, r, "SSL_read"))
            return 1;
    len = (size_t)r;
    printf("first SSL_read of 10: %d, SSL_pending > 0: %s, SSL_has_pending %d\n", r, SSL_pending(ssl) > 0 ? "yes" : "no",
           SSL_has_pending(ssl));
    int pending = SSL_pending(ssl);
    /* What SSL_pending counts is readable without touching the socket. */
    r = SSL_read(ssl, resp + len, pending);
    printf("SSL_read of SSL_pending bytes returns them all: %s\n", r == pending ? "yes" : "no");
    if (r > 0)
        len += (size_t)r;
    int err;
    for (;;) {
        r = SSL_read(ssl, resp + len, (int)(sizeof resp - 1 - len));
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        err = SSL_get_error(ssl, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
            break;
        if (!wait_for(ssl, r, "SSL_read"))
            return 1;
    }
    resp[len] = 0;
    char *eol = strstr(resp, "\r\n");
    if (eol != NULL)
        *eol = 0;
    printf("first line: %s\n", resp);
    printf("read ended: %d, SSL_get_error %d, SSL_get_shutdown %d\n", r, err, SSL_get_shutdown(ssl));
    if (err != SSL_ERROR_ZERO_RETURN)
        ERR_print_errors_fp(stderr);
    ERR_clear_error();
    while ((r = SSL_shutdown(ssl)) < 0)
        if (!wait_for(ssl, r, "SSL_shutdown"))
            return 1;
    printf("SSL_shutdown: %d, SSL_get_shutdown %d\n", r, SSL_get_shutdown(ssl));
    /* At least the SSL_read before the request; how many more depends on timing (even the
     * handshake can finish in one SSL_connect call when the server is quick enough). */
    printf("saw WANT_READ: %s\n", want_reads > 0 ? "yes" : "no");
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
}
