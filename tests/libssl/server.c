/* A blocking TLS server on 127.0.0.1:0 (the port goes to PORTFILE, never to stdout), serving
 * N connections one after the other: SSL_accept, read one line, reply "you said: LINE",
 * SSL_shutdown twice (0: close_notify sent, then 1: the peer's arrived). Per connection it
 * prints the version, the peer certificate's subject and SSL_get_verify_result, the line, and
 * SSL_shutdown's results; a failed SSL_accept prints SSL_get_error and the reason code.
 * usage: server -p PORTFILE [-n N] [-min V] [-max V] [-cert PEM] [-key KEY]
 *               [-verify CAFILE] [-noshutdown] [-plain TEXT]
 * -verify: SSL_VERIFY_PEER|SSL_VERIFY_FAIL_IF_NO_PEER_CERT against CAFILE.
 * -noshutdown: after the reply, close the socket without close_notify (a peer for tests of
 * an unexpected EOF). -plain TEXT: no TLS at all; write TEXT ("" = nothing) and close. */
#include "common.h"

static void serve_plain(int lfd, int n, const char *text) {
    for (int i = 1; i <= n; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            die("accept");
        if (*text != 0 && write(fd, text, strlen(text)) < 0)
            perror("write");
        /* Read what the client sent so that close() sends a FIN, not a reset. */
        char buf[4096];
        shutdown(fd, SHUT_WR);
        while (read(fd, buf, sizeof buf) > 0)
            ;
        close(fd);
        printf("conn %d: plain reply sent, closed\n", i);
    }
}

int main(int argc, char **argv) {
    const char *portfile = NULL, *cert = "examples-c/certs/server.pem", *key = "examples-c/certs/server.key";
    const char *verify_ca = NULL, *plain = NULL;
    int n = 1, minv = 0, maxv = 0, noshutdown = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-noshutdown") == 0) {
            noshutdown = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "usage: see server.c\n");
            return 2;
        }
        i++;
        if (strcmp(a, "-p") == 0)
            portfile = v;
        else if (strcmp(a, "-n") == 0)
            n = atoi(v);
        else if (strcmp(a, "-min") == 0)
            minv = parse_version(v);
        else if (strcmp(a, "-max") == 0)
            maxv = parse_version(v);
        else if (strcmp(a, "-cert") == 0)
            cert = v;
        else if (strcmp(a, "-key") == 0)
            key = v;
        else if (strcmp(a, "-verify") == 0)
            verify_ca = v;
        else if (strcmp(a, "-plain") == 0)
            plain = v;
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }
    if (portfile == NULL) {
        fprintf(stderr, "usage: see server.c\n");
        return 2;
    }
    setup();
    int lfd = tcp_listen(portfile);
    if (plain != NULL) {
        serve_plain(lfd, n, plain);
        return 0;
    }

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        die("SSL_CTX_new");
    int rc = SSL_CTX_use_certificate_chain_file(ctx, cert);
    int rk = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
    int rchk = SSL_CTX_check_private_key(ctx);
    printf("setup: certificate chain %d, private key %d, check %d\n", rc, rk, rchk);
    if (rc != 1 || rk != 1 || rchk != 1)
        die("loading the certificate and key");
    if (SSL_CTX_set_min_proto_version(ctx, minv) != 1 || SSL_CTX_set_max_proto_version(ctx, maxv) != 1)
        die("SSL_CTX_set_min/max_proto_version");
    printf("versions: min 0x%x, max 0x%x\n", (unsigned)SSL_CTX_get_min_proto_version(ctx),
           (unsigned)SSL_CTX_get_max_proto_version(ctx));
    if (verify_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, verify_ca, NULL) != 1)
            die("SSL_CTX_load_verify_locations");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        printf("verify mode: %d\n", SSL_CTX_get_verify_mode(ctx));
    }

    int failures = 0;
    for (int i = 1; i <= n; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            die("accept");
        SSL *ssl = SSL_new(ctx);
        if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
            die("SSL_new/SSL_set_fd");
        char what[64], buf[256];
        snprintf(what, sizeof what, "conn %d: SSL_accept", i);
        int r = SSL_accept(ssl);
        if (r != 1) {
            print_ssl_fail(what, ssl, r);
            printf("conn %d: verify result %ld\n", i, SSL_get_verify_result(ssl));
            failures++;
            SSL_free(ssl);
            close(fd);
            continue;
        }
        printf("conn %d: accepted, %s, server %d, init finished %d\n", i, SSL_get_version(ssl), SSL_is_server(ssl),
               SSL_is_init_finished(ssl));
        X509 *peer = SSL_get1_peer_certificate(ssl);
        printf("conn %d: peer certificate %s, verify result %ld\n", i, subject(peer, buf, sizeof buf),
               SSL_get_verify_result(ssl));
        X509_free(peer);

        char line[1024];
        size_t len = 0;
        while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
            r = SSL_read(ssl, line + len, (int)(sizeof line - 1 - len));
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        line[len] = 0;
        char *eol = strchr(line, '\n');
        if (eol == NULL) {
            snprintf(what, sizeof what, "conn %d: SSL_read", i);
            print_ssl_fail(what, ssl, r);
            failures++;
            SSL_free(ssl);
            close(fd);
            continue;
        }
        *eol = 0;
        printf("conn %d: read \"%s\"\n", i, line);
        char reply[1100];
        int rlen = snprintf(reply, sizeof reply, "you said: %s\n", line);
        r = SSL_write(ssl, reply, rlen);
        printf("conn %d: SSL_write %d\n", i, r);
        if (noshutdown) {
            printf("conn %d: closed without close_notify\n", i);
        } else {
            int s1 = SSL_shutdown(ssl);
            int s2 = s1 == 0 ? SSL_shutdown(ssl) : s1;
            printf("conn %d: SSL_shutdown %d then %d, SSL_get_shutdown %d\n", i, s1, s2, SSL_get_shutdown(ssl));
            if (s2 != 1)
                ERR_print_errors_fp(stderr);
            ERR_clear_error();
        }
        SSL_free(ssl);
        close(fd);
    }
    SSL_CTX_free(ctx);
    close(lfd);
    return failures ? 1 : 0;
}
