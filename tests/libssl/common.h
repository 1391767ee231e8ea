/* Helpers shared by the C test programs of tests/libssl/ (run by programs_c.sh once on
 * OpenSSL's libssl and once on ours; their stdout must be byte-identical). Everything printed
 * through these helpers is deterministic: no ports, no timings, no random values. */
#ifndef FERROTLS_TESTS_LIBSSL_COMMON_H
#define FERROTLS_TESTS_LIBSSL_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Line-buffered stdout (a background server's output survives a kill), no SIGPIPE. */
static inline void setup(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
}

static inline void die(const char *what) {
    printf("fatal: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

/* "tls1", "tls1_1", "tls1_2", "tls1_3" -> the version; anything else ("any", "0") -> 0. */
static inline int parse_version(const char *s) {
    if (strcmp(s, "tls1") == 0)
        return TLS1_VERSION;
    if (strcmp(s, "tls1_1") == 0)
        return TLS1_1_VERSION;
    if (strcmp(s, "tls1_2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(s, "tls1_3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

static inline int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

/* Listens on 127.0.0.1:0 and writes the port to portfile (renamed into place, so a reader
 * never sees a partial file). */
static inline int tcp_listen(const char *portfile) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("listen");
        exit(2);
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f) != 0 || rename(tmp, portfile) != 0) {
        perror(portfile);
        exit(2);
    }
    return fd;
}

/* The subject of a certificate the OpenSSL way ("/O=.../CN=..."), or "none". */
static inline const char *subject(X509 *x, char *buf, int len) {
    if (x == NULL)
        return "none";
    X509_NAME_oneline(X509_get_subject_name(x), buf, len);
    return buf;
}

/* "<what> failed: SSL_get_error E, reason R" with the reason of the oldest queued error;
 * the whole queue goes to stderr (not compared), then it is cleared. */
static inline void print_ssl_fail(const char *what, SSL *ssl, int r) {
    int e = SSL_get_error(ssl, r);
    printf("%s failed: %d, SSL_get_error %d, reason %d\n", what, r, e, ERR_GET_REASON(ERR_peek_error()));
    ERR_print_errors_fp(stderr);
    ERR_clear_error();
}

/* The first and last queued errors as library/reason numbers, then clears the queue. */
static inline void print_queue(const char *what, int r) {
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
    if (first == 0)
        printf("%s: %d, no error queued\n", what, r);
    else
        printf("%s: %d, first error lib %d reason %d, last error lib %d reason %d\n", what, r,
               ERR_GET_LIB(first), ERR_GET_REASON(first), ERR_GET_LIB(last), ERR_GET_REASON(last));
    ERR_print_errors_fp(stderr);
    ERR_clear_error();
}

/* 32-bit FNV-1a, continued from h (start with 2166136261u). */
static inline unsigned fnv1a(unsigned h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* n deterministic pseudo-random bytes (xorshift32 from seed). */
static inline void fill_pattern(unsigned char *p, size_t n, unsigned seed) {
    unsigned x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

#endif
