/* Built against the system's OpenSSL headers and libssl (pkg-config); run once on OpenSSL's
 * libssl and once on ours (LD_LIBRARY_PATH), from the repository's root. It makes a context
 * (both libraries do) and calls a function ours does not implement (external PSKs): on OpenSSL it works;
 * on ours it fails as OpenSSL fails, 0 and an error on libcrypto's queue naming the call,
 * never a crash. */
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

int main(void) {
    if (OPENSSL_init_ssl(0, NULL) != 1) {
        printf("OPENSSL_init_ssl failed\n");
        return 1;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        printf("SSL_CTX_new: NULL\n");
        ERR_print_errors_fp(stdout);
        return 1;
    }
    if (SSL_CTX_use_psk_identity_hint(ctx, "ferrotls") == 1) {
        printf("SSL_CTX_use_psk_identity_hint: 1\n");
        SSL_CTX_free(ctx);
        return 0;
    }
    unsigned long e = ERR_peek_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    printf("SSL_CTX_use_psk_identity_hint: 0; library %d (SSL is %d), reason %d (unsupported is %d)\n",
           ERR_GET_LIB(e), ERR_LIB_SSL, ERR_GET_REASON(e), ERR_GET_REASON(ERR_R_UNSUPPORTED));
    ERR_print_errors_fp(stdout);
    SSL_CTX_free(ctx);
    return 2;
}
