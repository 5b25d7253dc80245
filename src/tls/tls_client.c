/* Upstream TLS: the client SSL_CTX of a backend (CA, client certificate,
 * session caching) and the per-connection name check. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "tls/tls_client.h"

#define NAME_MAX_LEN 253

/* The CA file's name (or NULL for the system's), kept on the context for messages. */
static int ca_index = -1;
static pthread_once_t ca_once = PTHREAD_ONCE_INIT;

static void ca_name_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    free(ptr);
}

static void ca_init(void)
{
    ca_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ca_name_free);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* <fmt>, then OpenSSL's first queued reason in parentheses when there is one. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    unsigned long e = ERR_peek_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    va_list ap;

    /* OpenSSL 3 keeps errno for a failed open but has no string for it */
    if (e && ERR_GET_LIB(e) == ERR_LIB_SYS)
        reason = strerror(ERR_GET_REASON(e));
    size_t n;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    n = strlen(err);
    if (reason && n < errlen)
        snprintf(err + n, errlen - n, " (%s)", reason);
    ERR_clear_error();
    return -1;
}

/* Never prompt on a terminal: the loader refuses encrypted PEM keys already. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static int p12_password_ok(PKCS12 *p12, const char *pw)
{
    if (!PKCS12_mac_present(p12))
        return 1;
    if (pw && *pw)
        return PKCS12_verify_mac(p12, pw, -1) == 1;
    /* "" and NULL are different passwords to the MAC, as PKCS12_parse knows */
    return PKCS12_verify_mac(p12, "", 0) == 1 || PKCS12_verify_mac(p12, NULL, 0) == 1;
}

static int load_pkcs12(SSL_CTX *ctx, const struct cfg_backend_tls *t, char *err, size_t errlen)
{
    const char *path = t->client_cert.pkcs12;
    FILE *f = fopen(path, "rb");
    PKCS12 *p12 = f ? d2i_PKCS12_fp(f, NULL) : NULL;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = -1;

    if (!f)
        return fail(err, errlen, "cannot open PKCS#12 '%s': %s", path, strerror(errno));
    fclose(f);
    if (!p12) {
        fail(err, errlen, "cannot read PKCS#12 '%s'", path);
        goto out;
    }
    if (!p12_password_ok(p12, t->password)) {
        ERR_clear_error();
        fail(err, errlen, "wrong password for PKCS#12 '%s'", path);
        goto out;
    }
    if (!PKCS12_parse(p12, t->password, &key, &cert, &chain))
        fail(err, errlen, "cannot read PKCS#12 '%s'", path);
    else if (!cert || !key)
        fail(err, errlen, "PKCS#12 '%s' holds no certificate and key", path);
    /* the extra certificates are the chain we present, as in a PEM chain file */
    else if (SSL_CTX_use_cert_and_key(ctx, cert, key, chain, 1) != 1)
        fail(err, errlen, "cannot use the certificate and key of PKCS#12 '%s'", path);
    else
        rc = 0;
out:
    sk_X509_pop_free(chain, X509_free);
    X509_free(cert);
    EVP_PKEY_free(key);
    PKCS12_free(p12);
    return rc;
}

static int load_pem(SSL_CTX *ctx, const struct cfg_cert *c, char *err, size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1)
        return fail(err, errlen, "cannot load client certificate '%s'", c->cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1)
        return fail(err, errlen, "cannot load private key '%s'", c->key);
    if (SSL_CTX_check_private_key(ctx) != 1) {
        /* OpenSSL's reason ("no certificate assigned" for another key type) misleads */
        ERR_clear_error();
        return fail(err, errlen, "private key '%s' does not match certificate '%s'", c->key,
                    c->cert);
    }
    return 0;
}

/* Where the trust anchors come from, and their name for tls_client_verify_error. */
static int load_ca(SSL_CTX *ctx, const struct cfg_backend_tls *t, char *err, size_t errlen)
{
    const char *base;
    char *shown;

    if (!t->ca) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            return fail(err, errlen, "cannot load the system's CA certificates");
        return 0;
    }
    if (SSL_CTX_load_verify_file(ctx, t->ca) != 1)
        return fail(err, errlen, "cannot load CA file '%s'", t->ca);
    /* the base name only: the sentence may reach a client in a 502 */
    base = strrchr(t->ca, '/');
    shown = strdup(base ? base + 1 : t->ca);
    if (!shown || !SSL_CTX_set_ex_data(ctx, ca_index, shown)) {
        free(shown);
        return fail(err, errlen, "out of memory");
    }
    return 0;
}

SSL_CTX *tls_client_ctx_new(const struct cfg_backend_tls *t, char *err, size_t errlen)
{
    /* no tls: written means system CAs with verification, whatever verify holds */
    int verify = t->set ? t->verify : 1;
    SSL_CTX *ctx;
    int rc = 0;

    pthread_once(&ca_once, ca_init);
    if (ca_index < 0) {
        fail(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        fail(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* the caller keeps sessions per server; an internal store would be shared by workers */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_default_passwd_cb(ctx, no_password);
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (verify)
        rc = load_ca(ctx, t, err, errlen);
    if (rc == 0 && t->set && t->has_client_cert)
        rc = t->client_cert.pkcs12 ? load_pkcs12(ctx, t, err, errlen)
                                   : load_pem(ctx, &t->client_cert, err, errlen);
    if (rc) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* <name> without brackets or a trailing dot into <buf>; 1 if it is an IP literal. */
static int plain_name(const char *name, char *buf, size_t size)
{
    unsigned char bin[16];
    size_t len = strlen(name);

    if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
        name++;
        len -= 2;
    } else if (len > 1 && name[len - 1] == '.') {
        len--;
    }
    if (len == 0 || len >= size)
        return -1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
}

int tls_client_prepare(SSL *ssl, const char *name)
{
    char buf[NAME_MAX_LEN + 1];
    int ip;

    if (!ssl || !name)
        return -1;
    ip = plain_name(name, buf, sizeof(buf));
    if (ip < 0)
        return -1;
    if (ip)
        /* RFC 6066: SNI carries host names only */
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), buf) == 1 ? 0 : -1;
    if (SSL_set_tlsext_host_name(ssl, buf) != 1)
        return -1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, buf) == 1 ? 0 : -1;
}

static int untrusted(long v)
{
    switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
        return 1;
    default:
        return 0;
    }
}

void tls_client_verify_error(SSL *ssl, const char *name, char *out, size_t len)
{
    long v = SSL_get_verify_result(ssl);
    const char *ca = ca_index >= 0 ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ca_index) : NULL;
    unsigned long e;

    if (len == 0)
        return;
    switch (v) {
    case X509_V_OK:
        /* the certificate passed (or was not checked): say what failed instead */
        e = ERR_peek_error();
        if (e && ERR_reason_error_string(e))
            snprintf(out, len, "the TLS handshake with the backend failed (%s)",
                     ERR_reason_error_string(e));
        else
            snprintf(out, len, "the TLS handshake with the backend failed");
        return;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(out, len, "the backend's certificate does not match the name '%s'",
                 name ? name : "");
        return;
    default:
        break;
    }
    if (untrusted(v) && ca)
        snprintf(out, len, "the backend's certificate is not trusted by %s (%s)", ca,
                 X509_verify_cert_error_string(v));
    else if (untrusted(v))
        snprintf(out, len,
                 "the backend's certificate is not trusted by the system's CA certificates (%s)",
                 X509_verify_cert_error_string(v));
    else
        snprintf(out, len, "the backend's certificate was refused (%s)",
                 X509_verify_cert_error_string(v));
}
