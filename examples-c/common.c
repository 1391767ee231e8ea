/* Shared helpers of the ferrotls example programs. See common.h. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- command-line options ------------------------------------------------------------ */

void usage_exit(const char *prog, const char *usage, const char *problem_fmt, ...) {
    if (problem_fmt != NULL) {
        va_list ap;
        fprintf(stderr, "%s: ", prog);
        va_start(ap, problem_fmt);
        vfprintf(stderr, problem_fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fputs(usage, stderr);
    exit(EXIT_USAGE);
}

int opt_next(int argc, char **argv, int *index, const struct opt_spec *specs, const char *prog,
             const char *usage, const char **value) {
    *value = NULL;
    if (*index >= argc)
        return -1;
    const char *arg = argv[(*index)++];
    if (strcmp(arg, "--") == 0) {
        /* everything after "--" is positional; the caller sees them one by one */
        if (*index >= argc)
            return -1;
        *value = argv[(*index)++];
        return 0;
    }
    if (arg[0] != '-' || arg[1] == '\0') {
        *value = arg;
        return 0;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        fputs(usage, stdout);
        exit(EXIT_OK);
    }
    const char *eq = strchr(arg, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    for (const struct opt_spec *s = specs; s->name != NULL; s++) {
        if (strlen(s->name) != name_len || strncmp(s->name, arg, name_len) != 0)
            continue;
        if (!s->has_arg) {
            if (eq != NULL)
                usage_exit(prog, usage, "option %s takes no value", s->name);
            return s->id;
        }
        if (eq != NULL) {
            *value = eq + 1;
        } else {
            if (*index >= argc)
                usage_exit(prog, usage, "option %s needs a value", s->name);
            *value = argv[(*index)++];
        }
        return s->id;
    }
    usage_exit(prog, usage, "unknown option '%s'", arg);
}

long parse_number(const char *prog, const char *usage, const char *what, const char *text, long min,
                  long max) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        usage_exit(prog, usage, "%s must be a number from %ld to %ld, not '%s'", what, min, max, text);
    return v;
}

/* ---- names -> IANA numbers ------------------------------------------------------------ */

struct named_id {
    const char *name;
    uint16_t id;
};

static const struct named_id CIPHERS[] = {
    /* TLS 1.3 (IANA and OpenSSL spell them alike) */
    {"TLS_AES_128_GCM_SHA256", 0x1301},
    {"TLS_AES_256_GCM_SHA384", 0x1302},
    {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
    /* TLS 1.2, IANA names */
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9},
    /* TLS 1.2, OpenSSL names */
    {"ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C},
    {"ECDHE-RSA-AES128-GCM-SHA256", 0xC02F},
    {"ECDHE-RSA-AES256-GCM-SHA384", 0xC030},
    {"ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9},
    {NULL, 0},
};

/* The IANA names (as OpenSSL 3.5 spells them; matched without regard to case) and the usual
 * aliases, the same names ferrotls_config_builder_set_group_list accepts. The post-quantum
 * groups (ML-KEM, alone or beside an ECDH share) are TLS 1.3 only. */
static const struct named_id GROUPS[] = {
    {"X25519MLKEM768", 0x11EC},     {"SecP256r1MLKEM768", 0x11EB}, {"SecP384r1MLKEM1024", 0x11ED},
    {"MLKEM1024", 0x0202},          {"ML-KEM-1024", 0x0202},       {"X25519", 0x001D},
    {"P-256", 0x0017},              {"P256", 0x0017},              {"secp256r1", 0x0017},
    {"prime256v1", 0x0017},         {"P-384", 0x0018},             {"P384", 0x0018},
    {"secp384r1", 0x0018},          {NULL, 0},
};

static int eq_nocase(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int parse_list(const char *list, const struct named_id *table, uint16_t *out, size_t cap,
                      const char **bad) {
    static char bad_name[128];
    int n = 0;
    const char *p = list;
    *bad = NULL;
    while (*p != '\0') {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char name[128];
        if (len == 0 || len >= sizeof name) {
            snprintf(bad_name, sizeof bad_name, "%.*s", (int)(len < 100 ? len : 100), p);
            *bad = bad_name;
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        int found = 0;
        uint16_t id = 0;
        if (len > 2 && name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) {
            char *e = NULL;
            unsigned long v = strtoul(name + 2, &e, 16);
            if (*e == '\0' && v <= 0xFFFF) {
                id = (uint16_t)v;
                found = 1;
            }
        }
        for (const struct named_id *t = table; !found && t->name != NULL; t++) {
            if (eq_nocase(t->name, name)) {
                id = t->id;
                found = 1;
            }
        }
        if (!found || (size_t)n >= cap) {
            snprintf(bad_name, sizeof bad_name, "%s", name);
            *bad = bad_name;
            return -1;
        }
        out[n++] = id;
        if (end == NULL)
            break;
        p = end + 1;
        if (*p == '\0') { /* trailing ':' */
            snprintf(bad_name, sizeof bad_name, "%s", "");
            *bad = bad_name;
            return -1;
        }
    }
    if (n == 0) {
        snprintf(bad_name, sizeof bad_name, "%s", "");
        *bad = bad_name;
        return -1;
    }
    return n;
}

int parse_cipher_list(const char *list, uint16_t *out, size_t cap, const char **bad) {
    return parse_list(list, CIPHERS, out, cap, bad);
}

int parse_group_list(const char *list, uint16_t *out, size_t cap, const char **bad) {
    return parse_list(list, GROUPS, out, cap, bad);
}

void protocol_options_check(const char *prog, const char *usage, struct protocol_options *p) {
    const char *bad = NULL;
    if (p->tls12 && p->tls13)
        usage_exit(prog, usage, "--tls1.2 and --tls1.3 exclude each other (give neither for both)");
    if (p->ciphers != NULL && (p->n_ciphers = parse_cipher_list(p->ciphers, p->cipher_ids, MAX_LIST, &bad)) < 0)
        usage_exit(prog, usage, "unknown cipher suite '%s' in --ciphers", bad);
    if (p->groups != NULL && (p->n_groups = parse_group_list(p->groups, p->group_ids, MAX_LIST, &bad)) < 0)
        usage_exit(prog, usage, "unknown group '%s' in --groups", bad);
}

void config_check(const char *prog, ferrotls_result r, const char *what) {
    if (r == FERROTLS_OK)
        return;
    fprintf(stderr, "%s: %s failed\n", prog, what);
    print_error(prog, r, ferrotls_last_error_detail());
    exit(1);
}

void cert_key_check(const char *prog, ferrotls_result r) {
    if (r == FERROTLS_OK)
        return;
    fprintf(stderr, "%s: loading --cert/--key failed\n", prog);
    print_error(prog, r, ferrotls_last_error_detail());
    print_hint(prog, r, HINT_CERT_KEY, 1);
    exit(1);
}

void protocol_options_apply(const char *prog, ferrotls_config_builder *b, const struct protocol_options *p) {
    if (p->tls12)
        config_check(prog, ferrotls_config_builder_set_versions(b, 0x0303, 0x0303), "--tls1.2");
    if (p->tls13)
        config_check(prog, ferrotls_config_builder_set_versions(b, 0x0304, 0x0304), "--tls1.3");
    if (p->n_ciphers > 0)
        config_check(prog, ferrotls_config_builder_set_cipher_suites(b, p->cipher_ids, (size_t)p->n_ciphers),
                     "--ciphers");
    if (p->n_groups > 0)
        config_check(prog, ferrotls_config_builder_set_groups(b, p->group_ids, (size_t)p->n_groups), "--groups");
    if (p->alpn != NULL)
        config_check(prog, ferrotls_config_builder_set_alpn_list(b, p->alpn), "--alpn");
    if (p->allow_no_ems)
        config_check(prog, ferrotls_config_builder_set_require_extended_master_secret(b, false), "--allow-no-ems");
}

/* ---- X.509 subject (bounded DER walk) ------------------------------------------------- */

struct der {
    const uint8_t *p;
    size_t len;
};

/* Reads one TLV from *in; returns 0 and fills tag and content, or -1. */
static int der_next(struct der *in, uint8_t *tag, struct der *content) {
    if (in->len < 2)
        return -1;
    const uint8_t *p = in->p;
    size_t left = in->len;
    *tag = p[0];
    size_t len = p[1];
    size_t hdr = 2;
    if (len & 0x80) {
        size_t nbytes = len & 0x7F;
        if (nbytes == 0 || nbytes > 3 || left < 2 + nbytes)
            return -1;
        len = 0;
        for (size_t i = 0; i < nbytes; i++)
            len = (len << 8) | p[2 + i];
        hdr += nbytes;
    }
    if (left - hdr < len)
        return -1;
    content->p = p + hdr;
    content->len = len;
    in->p += hdr + len;
    in->len -= hdr + len;
    return 0;
}

static const char *attr_name(const struct der *oid) {
    static const struct {
        uint8_t last;
        const char *name;
    } names[] = {{3, "CN"}, {4, "SN"}, {5, "serialNumber"}, {6, "C"}, {7, "L"},
                 {8, "ST"}, {9, "street"}, {10, "O"}, {11, "OU"}, {12, "title"}};
    /* 2.5.4.x is 55 04 x */
    if (oid->len == 3 && oid->p[0] == 0x55 && oid->p[1] == 0x04) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].last == oid->p[2])
                return names[i].name;
    }
    /* 1.2.840.113549.1.9.1 emailAddress */
    static const uint8_t email[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01};
    if (oid->len == sizeof email && memcmp(oid->p, email, sizeof email) == 0)
        return "emailAddress";
    return NULL;
}

static void append(char *out, size_t cap, size_t *pos, const char *s, size_t n) {
    for (size_t i = 0; i < n && *pos + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[(*pos)++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    out[*pos] = '\0';
}

int cert_subject(const uint8_t *der_bytes, size_t der_len, char *out, size_t cap) {
    struct der in = {der_bytes, der_len}, cert, tbs, field, name;
    uint8_t tag;
    size_t pos = 0;
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (der_next(&in, &tag, &cert) || tag != 0x30)
        goto bad;
    if (der_next(&cert, &tag, &tbs) || tag != 0x30)
        goto bad;
    if (der_next(&tbs, &tag, &field)) /* [0] version (optional) or serial */
        goto bad;
    if (tag == 0xA0 && der_next(&tbs, &tag, &field)) /* serial */
        goto bad;
    if (der_next(&tbs, &tag, &field) || tag != 0x30) /* signature algorithm */
        goto bad;
    if (der_next(&tbs, &tag, &field) || tag != 0x30) /* issuer */
        goto bad;
    if (der_next(&tbs, &tag, &field) || tag != 0x30) /* validity */
        goto bad;
    if (der_next(&tbs, &tag, &name) || tag != 0x30) /* subject */
        goto bad;
    while (name.len > 0) {
        struct der set, atv;
        if (der_next(&name, &tag, &set) || tag != 0x31)
            goto bad;
        while (set.len > 0) {
            struct der oid, value;
            if (der_next(&set, &tag, &atv) || tag != 0x30)
                goto bad;
            if (der_next(&atv, &tag, &oid) || tag != 0x06)
                goto bad;
            if (der_next(&atv, &tag, &value))
                goto bad;
            if (pos > 0)
                append(out, cap, &pos, ", ", 2);
            const char *an = attr_name(&oid);
            if (an != NULL) {
                append(out, cap, &pos, an, strlen(an));
            } else {
                append(out, cap, &pos, "OID", 3);
            }
            append(out, cap, &pos, "=", 1);
            append(out, cap, &pos, (const char *)value.p, value.len);
        }
    }
    if (pos == 0)
        append(out, cap, &pos, "(empty subject)", 15);
    return 0;
bad:
    snprintf(out, cap, "%s", "(unparsable certificate)");
    return -1;
}

/* ---- output ---------------------------------------------------------------------------- */

void print_error(const char *prog, ferrotls_result r, const char *detail) {
    const char *name = ferrotls_result_name(r);
    if (detail == NULL || detail[0] == '\0')
        detail = ferrotls_result_message(r);
    fprintf(stderr, "%s: error: %s (%s)\n", prog, detail != NULL ? detail : "unknown error",
            name != NULL ? name : "?");
}

/* The groups of a configuration that sets none (ferrotls's default), for the hints. */
#define DEFAULT_GROUPS "X25519MLKEM768:X25519:P-256:P-384"

void print_hint(const char *prog, ferrotls_result r, enum hint_where where, int flag) {
    const char *hint = NULL;
    /* A handshake_failure alert from the server does not say which parameter it could not
     * agree on: when --groups narrowed what we offer, that is one candidate (a server without
     * post-quantum groups and a client offering only those, or the reverse); a missing client
     * certificate, the hint below, is another. */
    if (where == HINT_CLIENT && (flag & HINT_GROUPS) && r == FERROTLS_ERR_ALERT_BASE + 40 /* handshake_failure */)
        fprintf(stderr, "%s: hint: if the server supports none of the groups given with --groups, add one it "
                        "does (without --groups this client offers " DEFAULT_GROUPS ")\n",
                prog);
    if (r == FERROTLS_ERR_NO_SHARED_GROUP && where != HINT_CERT_KEY) {
        hint = where == HINT_SERVER ? "this server's key-exchange groups are set with --groups (default " DEFAULT_GROUPS
                                      "): list one the client offers"
                                    : "the key-exchange groups this client offers are set with --groups (default "
                                      DEFAULT_GROUPS "): list one the server supports";
    } else if (where == HINT_CERT_KEY) {
        if (r == FERROTLS_ERR_KEY)
            hint = "check that --cert and --key belong together: --key must be the private key (RSA of 2048 bits "
                   "or more, ECDSA P-256 or P-384, or Ed25519) of the first certificate in --cert";
        else if (r == FERROTLS_ERR_PEM)
            hint = "--cert takes a PEM certificate chain (leaf first) and --key its PEM private key";
    } else if (r == FERROTLS_ERR_CERT_UNKNOWN_ISSUER) {
        hint = where == HINT_CLIENT ? "if you trust the CA that issued the server's certificate, pass it with --cafile FILE"
                                    : "pass the CA that issues your clients' certificates with --cafile FILE";
    } else if (where == HINT_CLIENT && (flag & HINT_NO_RENEGOTIATION) &&
               r == FERROTLS_ERR_ALERT_BASE + 40 /* handshake_failure */) {
        hint = "--no-renegotiation declined the server's request for a new handshake, which is how a TLS 1.2 "
               "server asks for a client certificate after the handshake: drop --no-renegotiation (and give "
               "--cert FILE --key FILE if you have not)";
    } else if (where == HINT_CLIENT && !(flag & HINT_HAVE_CERT) &&
               (r == FERROTLS_ERR_ALERT_BASE + 116 /* certificate_required */ ||
                r == FERROTLS_ERR_ALERT_BASE + 40 /* handshake_failure */)) {
        hint = "if the server requires a client certificate, pass one with --cert FILE --key FILE";
    } else if (where == HINT_SERVER && r == FERROTLS_ERR_CERTIFICATE_REQUIRED) {
        hint = "this server runs with --verify-client; --request-client makes the client certificate optional";
    } else if (where == HINT_SERVER && flag /* --verify-client */ && r == FERROTLS_ERR_HANDSHAKE_FAILURE) {
        hint = "if the client sent no certificate: this server runs with --verify-client; --request-client "
               "makes the client certificate optional";
    }
    if (hint != NULL)
        fprintf(stderr, "%s: hint: %s\n", prog, hint);
}

void trace_print(void *userdata, const ferrotls_conn *conn, uint32_t event, const char *text) {
    (void)conn;
    (void)event;
    fprintf(stderr, "%s%s\n", userdata != NULL ? (const char *)userdata : "[trace] ",
            text != NULL ? text : "");
}

static void copy_str(char *dst, size_t cap, const char *src, const char *fallback) {
    snprintf(dst, cap, "%s", (src != NULL && src[0] != '\0') ? src : fallback);
}

void summary_get(const ferrotls_conn *c, struct summary *s) {
    const uint8_t *p = NULL;
    size_t len = 0;
    copy_str(s->protocol, sizeof s->protocol, ferrotls_conn_version_name(c), "unknown");
    copy_str(s->cipher, sizeof s->cipher, ferrotls_conn_cipher_name(c), "unknown");
    copy_str(s->group, sizeof s->group, ferrotls_conn_group_name(c), "none");
    if (ferrotls_conn_alpn(c, &p, &len) == FERROTLS_OK && p != NULL && len > 0) {
        size_t pos = 0;
        s->alpn[0] = '\0';
        append(s->alpn, sizeof s->alpn, &pos, (const char *)p, len);
    } else {
        copy_str(s->alpn, sizeof s->alpn, NULL, "none");
    }
    copy_str(s->sni, sizeof s->sni, ferrotls_conn_server_name(c), "none");
    if (ferrotls_conn_peer_cert_count(c) > 0 && ferrotls_conn_peer_cert(c, 0, &p, &len) == FERROTLS_OK &&
        p != NULL) {
        cert_subject(p, len, s->peer_subject, sizeof s->peer_subject);
    } else {
        copy_str(s->peer_subject, sizeof s->peer_subject, NULL, "none");
    }
    s->resumed = ferrotls_conn_handshake_kind(c) == FERROTLS_HANDSHAKE_RESUMED;
}
