/* A minimal blocking OpenSSL 3 client, built against the system headers and run once on
 * OpenSSL's libssl and once on ours (LD_LIBRARY_PATH): the outputs must be byte-identical.
 * usage: client PORT CAFILE. Connects to 127.0.0.1:PORT with SNI "localhost", verifies the
 * peer against CAFILE, sends an HTTP/1.0 GET, reads to the end, prints the response's first
 * line, the version and what SSL_shutdown returned. On a failed SSL_connect it prints only
 * "connect failed" and the reason code of the first queued error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: client PORT CAFILE\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        return 2;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1) {
        ERR_print_errors_fp(stderr);
        return 2;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1) {
        ERR_print_errors_fp(stderr);
        return 2;
    }
    int r = SSL_connect(ssl);
    if (r != 1) {
        unsigned long e = ERR_peek_error();
        printf("connect failed: SSL_get_error %d, reason %d\n", SSL_get_error(ssl, r), ERR_GET_REASON(e));
        ERR_print_errors_fp(stderr);
        return 1;
    }
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    r = SSL_write(ssl, req, (int)strlen(req));
    if (r != (int)strlen(req)) {
        printf("write failed: %d, SSL_get_error %d\n", r, SSL_get_error(ssl, r));
        ERR_print_errors_fp(stderr);
        return 1;
    }
    static char resp[1 << 20];
    size_t len = 0;
    for (;;) {
        r = SSL_read(ssl, resp + len, (int)(sizeof resp - 1 - len));
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    int err = SSL_get_error(ssl, r);
    resp[len] = 0;
    char *eol = strstr(resp, "\r\n");
    if (eol != NULL)
        *eol = 0;
    printf("first line: %s\n", resp);
    printf("read ended: %d, SSL_get_error %d%s\n", r, err, err == SSL_ERROR_ZERO_RETURN ? " (ZERO_RETURN)" : "");
    printf("version: %s\n", SSL_get_version(ssl));
    if (err != SSL_ERROR_ZERO_RETURN)
        ERR_print_errors_fp(stderr);
    ERR_clear_error();
    printf("SSL_shutdown: %d\n", SSL_shutdown(ssl));
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
}
