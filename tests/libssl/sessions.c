/* Session resumption as a client against `openssl s_server -www` (which issues tickets):
 * connection 1 is a full handshake; the session (SSL_get1_session, taken after reading the
 * response: a TLS 1.3 ticket arrives after the handshake) goes through i2d_SSL_SESSION /
 * d2i_SSL_SESSION and resumes connection 2; connection 2's session goes through
 * PEM_write_bio_SSL_SESSION / PEM_read_bio_SSL_SESSION and resumes connection 3; connection 4
 * offers it to another s_server (other ticket keys): a full handshake, not an error. Prints
 * SSL_session_reused, the session's protocol version, resumability, ticket and hostname,
 * and how many times the SSL_CTX_sess_set_new_cb callback ran (SSL_SESS_CACHE_CLIENT).
 * usage: sessions VERSION(tls1_2|tls1_3) PORT OTHER_PORT CAFILE */
#include "common.h"
#include <openssl/pem.h>

static int new_cb_calls;
static SSL *current;

static int new_cb(SSL *ssl, SSL_SESSION *sess) {
    new_cb_calls++;
    printf("  new session callback: same SSL %s, resumable %d, protocol 0x%x\n", ssl == current ? "yes" : "no",
           SSL_SESSION_is_resumable(sess), (unsigned)SSL_SESSION_get_protocol_version(sess));
    return 0; /* not kept: the library frees it */
}

/* One connection (GET / HTTP/1.0, read to the end); returns its session (SSL_get1_session). */
static SSL_SESSION *connection(SSL_CTX *ctx, int port, SSL_SESSION *offer, const char *label) {
    printf("== %s\n", label);
    new_cb_calls = 0;
    int fd = tcp_connect(port);
    SSL *ssl = current = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1)
        die("SSL_new/SSL_set_fd/SSL_set_tlsext_host_name");
    if (offer != NULL && SSL_set_session(ssl, offer) != 1)
        die("SSL_set_session");
    int r = SSL_connect(ssl);
    if (r != 1) {
        print_ssl_fail("SSL_connect", ssl, r);
        exit(1);
    }
    printf("connected: %s, session reused %d\n", SSL_get_version(ssl), SSL_session_reused(ssl));
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    if (SSL_write(ssl, req, (int)strlen(req)) != (int)strlen(req))
        die("SSL_write");
    static char buf[1 << 16];
    size_t total = 0;
    char first[16] = {0};
    while ((r = SSL_read(ssl, buf, sizeof buf)) > 0) {
        if (total == 0)
            memcpy(first, buf, r < 15 ? r : 15);
        total += (size_t)r;
    }
    printf("response starts \"%.8s\", read ended with SSL_get_error %d\n", first, SSL_get_error(ssl, r));
    ERR_clear_error();
    printf("new session callback calls: %d\n", new_cb_calls);
    SSL_SESSION *sess = SSL_get1_session(ssl);
    if (sess == NULL)
        die("SSL_get1_session returned NULL");
    const char *host = SSL_SESSION_get0_hostname(sess);
    printf("session: protocol 0x%x, resumable %d, has ticket %d, hostname %s\n",
           (unsigned)SSL_SESSION_get_protocol_version(sess), SSL_SESSION_is_resumable(sess),
           SSL_SESSION_has_ticket(sess), host ? host : "(none)");
    printf("SSL_shutdown: %d\n", SSL_shutdown(ssl));
    ERR_clear_error();
    SSL_free(ssl);
    current = NULL;
    close(fd);
    return sess;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: sessions VERSION PORT OTHER_PORT CAFILE\n");
        return 2;
    }
    setup();
    int v = parse_version(argv[1]), port = atoi(argv[2]), other = atoi(argv[3]);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1)
        die("SSL_CTX_new/SSL_CTX_load_verify_locations");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_min_proto_version(ctx, v) != 1 || SSL_CTX_set_max_proto_version(ctx, v) != 1)
        die("SSL_CTX_set_min/max_proto_version");
    long old = SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    printf("session cache mode: was 0x%lx, now 0x%lx\n", old, SSL_CTX_get_session_cache_mode(ctx));
    SSL_CTX_sess_set_new_cb(ctx, new_cb);

    SSL_SESSION *s1 = connection(ctx, port, NULL, "connection 1: full handshake");

    int len = i2d_SSL_SESSION(s1, NULL);
    unsigned char *der = OPENSSL_malloc(len > 0 ? len : 1), *p = der;
    int len2 = i2d_SSL_SESSION(s1, &p);
    const unsigned char *q = der;
    SSL_SESSION *s1copy = d2i_SSL_SESSION(NULL, &q, len2);
    printf("i2d_SSL_SESSION: length > 0 %s, same length twice %s, advanced %s; d2i_SSL_SESSION: %s, consumed all %s\n",
           len > 0 ? "yes" : "no", len == len2 ? "yes" : "no", p == der + len ? "yes" : "no",
           s1copy ? "ok" : "NULL", q == der + len ? "yes" : "no");
    if (s1copy == NULL)
        die("d2i_SSL_SESSION");
    unsigned char *der2 = NULL;
    int len3 = i2d_SSL_SESSION(s1copy, &der2);
    printf("re-encoded: identical %s; decoded: protocol 0x%x, resumable %d\n",
           len3 == len && memcmp(der, der2, len) == 0 ? "yes" : "no",
           (unsigned)SSL_SESSION_get_protocol_version(s1copy), SSL_SESSION_is_resumable(s1copy));
    OPENSSL_free(der);
    OPENSSL_free(der2);

    SSL_SESSION *s2 = connection(ctx, port, s1copy, "connection 2: resumes the d2i_SSL_SESSION copy");

    BIO *mem = BIO_new(BIO_s_mem());
    int w = PEM_write_bio_SSL_SESSION(mem, s2);
    char *pem;
    long pemlen = BIO_get_mem_data(mem, &pem);
    const char head[] = "-----BEGIN SSL SESSION PARAMETERS-----\n";
    printf("PEM_write_bio_SSL_SESSION: %d, starts with the SSL SESSION PARAMETERS header %s\n", w,
           pemlen > (long)strlen(head) && memcmp(pem, head, strlen(head)) == 0 ? "yes" : "no");
    SSL_SESSION *s2copy = PEM_read_bio_SSL_SESSION(mem, NULL, NULL, NULL);
    printf("PEM_read_bio_SSL_SESSION: %s\n", s2copy ? "ok" : "NULL");
    BIO_free(mem);
    if (s2copy == NULL)
        die("PEM_read_bio_SSL_SESSION");

    SSL_SESSION *s3 = connection(ctx, port, s2copy, "connection 3: resumes the PEM copy");
    SSL_SESSION *s4 = connection(ctx, other, s2copy, "connection 4: the session offered to another server");

    SSL_SESSION_free(s1);
    SSL_SESSION_free(s1copy);
    SSL_SESSION_free(s2);
    SSL_SESSION_free(s2copy);
    SSL_SESSION_free(s3);
    SSL_SESSION_free(s4);
    SSL_CTX_free(ctx);
    return 0;
}
