/* The SSL_CIPHER getters, built against the system headers and run once on OpenSSL's libssl and
 * once on ours (LD_LIBRARY_PATH): the outputs must be byte-identical. For each of the 9 suites
 * ferrotls implements, found with SSL_CIPHER_find on a TLS_method SSL, it prints every getter's
 * answer and the description line (in a caller's buffer and in one the library allocates); then
 * the answers for NULL where OpenSSL answers rather than crashes, OPENSSL_cipher_name, the
 * defaults, and that nothing went on the error queue. Exit status 1 if something is missing. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

static const unsigned char suites[][2] = {
    {0x13, 0x01}, {0x13, 0x02}, {0x13, 0x03}, {0xC0, 0x2B}, {0xC0, 0x2C},
    {0xC0, 0x2F}, {0xC0, 0x30}, {0xCC, 0xA8}, {0xCC, 0xA9},
};

int main(void) {
    int failed = 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
    if (ssl == NULL) {
        printf("SSL_CTX_new/SSL_new failed\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        const SSL_CIPHER *c = SSL_CIPHER_find(ssl, suites[i]);
        printf("%02X%02X:", suites[i][0], suites[i][1]);
        if (c == NULL) {
            printf(" not found\n");
            failed = 1;
            continue;
        }
        int alg_bits = -1;
        int bits = SSL_CIPHER_get_bits(c, &alg_bits);
        const EVP_MD *md = SSL_CIPHER_get_handshake_digest(c);
        printf(" name=%s standard=%s openssl_name(standard)=%s\n", SSL_CIPHER_get_name(c),
               SSL_CIPHER_standard_name(c), OPENSSL_cipher_name(SSL_CIPHER_standard_name(c)));
        printf("  version=%s bits=%d alg_bits=%d bits(NULL)=%d id=0x%08lX protocol_id=0x%04X\n",
               SSL_CIPHER_get_version(c), bits, alg_bits, SSL_CIPHER_get_bits(c, NULL),
               (unsigned long)SSL_CIPHER_get_id(c), (unsigned)SSL_CIPHER_get_protocol_id(c));
        printf("  kx=%d auth=%d cipher=%d digest=%d aead=%d handshake_digest=%s (%d)\n",
               SSL_CIPHER_get_kx_nid(c), SSL_CIPHER_get_auth_nid(c), SSL_CIPHER_get_cipher_nid(c),
               SSL_CIPHER_get_digest_nid(c), SSL_CIPHER_is_aead(c),
               md != NULL ? EVP_MD_get0_name(md) : "NULL", md != NULL ? EVP_MD_get_type(md) : 0);
        printf("  same object again: %s\n", SSL_CIPHER_find(ssl, suites[i]) == c ? "yes" : "no");
        char buf[128];
        memset(buf, 'x', sizeof buf);
        char *d = SSL_CIPHER_description(c, buf, (int)sizeof buf);
        printf("  description: %s", d == buf ? d : "(not in buf)\n");
        char *a = SSL_CIPHER_description(c, NULL, 0);
        printf("  allocated: %s", a != NULL ? a : "(NULL)\n");
        printf("  allocated is the same: %s\n", a != NULL && strcmp(a, buf) == 0 ? "yes" : "no");
        OPENSSL_free(a);
        printf("  127-byte buffer: %s\n",
               SSL_CIPHER_description(c, buf, 127) == NULL ? "NULL" : "written");
    }
    int untouched = 7;
    printf("NULL: name=%s standard=%s version=%s bits=%d alg_bits=%d cipher_nid=%d\n",
           SSL_CIPHER_get_name(NULL), SSL_CIPHER_standard_name(NULL), SSL_CIPHER_get_version(NULL),
           SSL_CIPHER_get_bits(NULL, &untouched), untouched, SSL_CIPHER_get_cipher_nid(NULL));
    printf("OPENSSL_cipher_name: NULL=%s bogus=%s lowercase=%s openssl-name=%s\n",
           OPENSSL_cipher_name(NULL), OPENSSL_cipher_name("bogus"),
           OPENSSL_cipher_name("tls_ecdhe_rsa_with_aes_128_gcm_sha256"),
           OPENSSL_cipher_name("ECDHE-RSA-AES128-GCM-SHA256"));
    printf("OSSL_default_cipher_list: %s\n", OSSL_default_cipher_list());
    printf("OSSL_default_ciphersuites: %s\n", OSSL_default_ciphersuites());
    unsigned long e = ERR_peek_error();
    printf("error queue: %s\n", e == 0 ? "empty" : "not empty");
    if (e != 0) {
        ERR_print_errors_fp(stderr);
        failed = 1;
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return failed;
}
