/* Session tickets under the program's own keys (SSL_CTX_set_tlsext_ticket_key_evp_cb, as
 * nginx's ssl_session_ticket_key and HAProxy's tls-ticket-keys use it): a server and a client
 * in one process over a BIO pair; the server's callback seals with AES-256-CBC and
 * HMAC-SHA256 under a fixed key named "ferrotls-key-001". Connects, resumes with the session,
 * then with a server that no longer knows the key (a full handshake), then with a callback that
 * asks for renewal (2). Prints what a program sees: reuse, and how often the callback ran in
 * each direction. usage: tickets tls1_2|tls1_3 */
#include "common.h"
#include <openssl/core_names.h>
#include <openssl/evp.h>

static const unsigned char NAME[16] = "ferrotls-key-001";
static unsigned char AESKEY[32], HMACKEY[32];
static int enc_calls, dec_calls, know_key = 1, renew, tls13;

/* TLS 1.3 servers differ in whether a resumption brings a new ticket (OpenSSL 3.0 sends none
 * with num_tickets 1; ferrotls sends a fresh one, as RFC 8446 C.4 advises): for TLS 1.3 only
 * the opening side is printed exactly. */
static void counts(void) {
    if (tls13)
        printf("  callback: sealed %s, open %d\n", enc_calls > 0 ? "yes" : "no", dec_calls);
    else
        printf("  callback: seal %d, open %d\n", enc_calls, dec_calls);
}

static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx,
                     EVP_MAC_CTX *hctx, int enc) {
    (void)s;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, HMACKEY, sizeof HMACKEY),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "sha256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (enc) {
        enc_calls++;
        memcpy(key_name, NAME, 16);
        for (int i = 0; i < 16; i++)
            iv[i] = (unsigned char)(i * 7 + enc_calls);
        if (!EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, AESKEY, iv) || !EVP_MAC_CTX_set_params(hctx, params))
            return -1;
        return EVP_MAC_init(hctx, NULL, 0, NULL) ? 1 : -1;
    }
    dec_calls++;
    if (!know_key || memcmp(key_name, NAME, 16) != 0)
        return 0;
    if (!EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, AESKEY, iv) || !EVP_MAC_CTX_set_params(hctx, params)
        || !EVP_MAC_init(hctx, NULL, 0, NULL))
        return -1;
    return renew ? 2 : 1;
}

static int pump(SSL *c, SSL *s) {
    for (int i = 0; i < 100; i++) {
        int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
        if (rc == 1 && rs == 1)
            return 1;
        int ec = SSL_get_error(c, rc), es = SSL_get_error(s, rs);
        if ((rc != 1 && ec != SSL_ERROR_WANT_READ) || (rs != 1 && es != SSL_ERROR_WANT_READ)) {
            printf("handshake failed: client %d/%d, server %d/%d\n", rc, ec, rs, es);
            ERR_print_errors_fp(stderr);
            return 0;
        }
    }
    return 0;
}

/* One connection; returns the client's session after a little data each way (a TLS 1.3 ticket
 * comes after the handshake). */
static SSL_SESSION *connect_once(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *offer, const char *what) {
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *bc, *bs;
    if (!c || !s || !BIO_new_bio_pair(&bc, 0, &bs, 0))
        die("SSL_new / BIO pair");
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    SSL_set_tlsext_host_name(c, "localhost");
    if (offer)
        SSL_set_session(c, offer);
    if (!pump(c, s))
        exit(1);
    char buf[16];
    if (SSL_write(s, "hi", 2) != 2 || SSL_read(c, buf, sizeof buf) != 2)
        die("data");
    if (SSL_write(c, "ok", 2) != 2 || SSL_read(s, buf, sizeof buf) != 2)
        die("data back");
    printf("%s: %s, client reused %d, server reused %d\n", what, SSL_get_version(c), SSL_session_reused(c),
           SSL_session_reused(s));
    SSL_SESSION *sess = SSL_get1_session(c);
    SSL_shutdown(c);
    SSL_shutdown(s);
    SSL_free(c);
    SSL_free(s);
    return sess;
}

int main(int argc, char **argv) {
    setup();
    if (argc != 2) {
        fprintf(stderr, "usage: tickets tls1_2|tls1_3\n");
        return 2;
    }
    int v = parse_version(argv[1]);
    tls13 = v == TLS1_3_VERSION;
    for (int i = 0; i < 32; i++) {
        AESKEY[i] = (unsigned char)(i + 1);
        HMACKEY[i] = (unsigned char)(0xA0 ^ i);
    }
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    if (!sctx || !cctx || SSL_CTX_use_certificate_chain_file(sctx, "examples-c/certs/server.pem") != 1
        || SSL_CTX_use_PrivateKey_file(sctx, "examples-c/certs/server.key", SSL_FILETYPE_PEM) != 1
        || SSL_CTX_load_verify_locations(cctx, "examples-c/certs/ca.pem", NULL) != 1)
        die("contexts");
    SSL_CTX_set_min_proto_version(sctx, v);
    SSL_CTX_set_max_proto_version(sctx, v);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF); /* tickets only */
    SSL_CTX_set_num_tickets(sctx, 1);
    printf("set callback: %d\n", SSL_CTX_set_tlsext_ticket_key_evp_cb(sctx, ticket_cb));

    SSL_SESSION *s1 = connect_once(cctx, sctx, NULL, "first");
    counts();
    SSL_SESSION *s2 = connect_once(cctx, sctx, s1, "resumed");
    counts();
    know_key = 0;
    SSL_SESSION *s3 = connect_once(cctx, sctx, s1, "key retired");
    counts();
    know_key = 1;
    renew = 1;
    SSL_SESSION *s4 = connect_once(cctx, sctx, s3, "renewal asked");
    counts();
    SSL_SESSION_free(s1);
    SSL_SESSION_free(s2);
    SSL_SESSION_free(s3);
    SSL_SESSION_free(s4);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return 0;
}
