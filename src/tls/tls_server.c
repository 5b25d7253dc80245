#include "tls/tls_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "tls/tls_keys.h"
#include "tls/tls_staple.h"

#define MAX_TICKET_CHAIN 32768

/* Per-SSL facts kept beside OpenSSL's own (ex_data). */
struct peer_extra {
    STACK_OF(X509) *chain; /* leaf + presented, rebuilt from a ticket on resumption */
};

struct sni_ctx {
    SSL_CTX *ctx;
    char **names; /* DNS names of the certificate, lowercase; "*.x" for wildcards */
    size_t n_names;
    unsigned key_types; /* 1 << EVP_PKEY base id bucket: RSA 1, EC 2, other 4 */
};

struct tls_server {
    const struct cfg_listener *l;
    tls_judge_fn judge;
    const struct tls_keys *keys; /* session tickets */
    struct sni_ctx *ctxs;        /* ctxs[0] is the default and owns sessions and tickets */
    size_t n_ctxs;
    struct tls_staples *staples; /* tls.ocsp_stapling; NULL when off */
};

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void peer_extra_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp)
{
    struct peer_extra *pe = ptr;
    if (pe == NULL)
        return;
    sk_X509_pop_free(pe->chain, X509_free);
    free(pe);
}

static void ex_init(void)
{
    ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, peer_extra_free);
}

static struct peer_extra *peer_extra(SSL *ssl)
{
    struct peer_extra *pe = SSL_get_ex_data(ssl, ex_index);
    if (pe == NULL) {
        pe = calloc(1, sizeof(*pe));
        if (pe && !SSL_set_ex_data(ssl, ex_index, pe)) {
            free(pe);
            return NULL;
        }
    }
    return pe;
}

static int set_err(char *err, size_t errlen, const char *fmt, const char *a)
{
    unsigned long e = ERR_get_error();
    char ebuf[160] = "";
    if (e)
        ERR_error_string_n(e, ebuf, sizeof(ebuf));
    snprintf(err, errlen, fmt, a);
    if (ebuf[0]) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (%s)", ebuf);
    }
    ERR_clear_error();
    return -1;
}

/* ---- certificate loading ---- */

static int load_pkcs12(SSL_CTX *ctx, const struct cfg_cert *c, char *err, size_t errlen)
{
    struct cfg_error cerr;
    char *pass = config_cert_password(c, &cerr);
    if (pass == NULL) {
        snprintf(err, errlen, "%s", cerr.msg);
        return -1;
    }
    FILE *f = fopen(c->pkcs12, "rb");
    PKCS12 *p12 = f ? d2i_PKCS12_fp(f, NULL) : NULL;
    if (f)
        fclose(f);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *ca = NULL;
    int rc = -1;
    if (p12 == NULL)
        set_err(err, errlen, "cannot read PKCS#12 file '%s'", c->pkcs12);
    else if (!PKCS12_parse(p12, pass, &key, &cert, &ca) || cert == NULL || key == NULL)
        set_err(err, errlen, "cannot open PKCS#12 file '%s': wrong password or no key", c->pkcs12);
    else if (SSL_CTX_use_cert_and_key(ctx, cert, key, ca, 1) != 1)
        set_err(err, errlen, "certificate and key in '%s' do not match", c->pkcs12);
    else
        rc = 0;
    config_password_free(pass);
    PKCS12_free(p12);
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
    return rc;
}

static int load_pem(SSL_CTX *ctx, const struct cfg_cert *c, char *err, size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1)
        return set_err(err, errlen, "cannot load certificate '%s'", c->cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1)
        return set_err(err, errlen, "cannot load private key '%s'", c->key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return set_err(err, errlen, "private key '%s' does not match its certificate", c->key);
    return 0;
}

static void add_name(struct sni_ctx *sc, const char *name, size_t len)
{
    char **n = realloc(sc->names, (sc->n_names + 1) * sizeof(*n));
    if (n == NULL)
        return;
    sc->names = n;
    char *s = strndup(name, len);
    if (s == NULL)
        return;
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p += 32;
    sc->names[sc->n_names++] = s;
}

/* DNS SANs of the certificate just loaded, or its CN when it has none. */
static void collect_names(struct sni_ctx *sc)
{
    X509 *x = SSL_CTX_get0_certificate(sc->ctx);
    if (x == NULL)
        return;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            add_name(sc, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                     (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    if (sc->n_names == 0) {
        char cn[256];
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0)
            add_name(sc, cn, strlen(cn));
    }
}

static int name_matches(const char *pattern, const char *host)
{
    if (strcasecmp(pattern, host) == 0)
        return 1;
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(host, '.');
        return dot && dot != host && strcasecmp(pattern + 1, dot) == 0;
    }
    return 0;
}

/* ---- handshake callbacks ---- */

static int on_servername(SSL *ssl, int *al, void *arg)
{
    struct tls_server *ts = arg;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    for (size_t i = 0; i < ts->n_ctxs; i++) {
        for (size_t j = 0; j < ts->ctxs[i].n_names; j++) {
            if (name_matches(ts->ctxs[i].names[j], sni)) {
                if (i != 0)
                    SSL_set_SSL_CTX(ssl, ts->ctxs[i].ctx);
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_OK; /* unknown name: the default certificate answers */
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";
    if (SSL_select_next_proto((unsigned char **)out, outlen, h11, sizeof(h11) - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

static int reason_to_x509_error(enum certgate_reason r)
{
    switch (r) {
    case CERTGATE_EXPIRED:
        return X509_V_ERR_CERT_HAS_EXPIRED;
    case CERTGATE_NOT_YET_VALID:
        return X509_V_ERR_CERT_NOT_YET_VALID;
    case CERTGATE_REVOKED:
        return X509_V_ERR_CERT_REVOKED;
    case CERTGATE_NOT_TRUSTED:
        return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    case CERTGATE_REVOCATION_UNKNOWN:
        return X509_V_ERR_UNABLE_TO_GET_CRL;
    case CERTGATE_IDENTITY_NOT_MATCHED:
        return X509_V_ERR_CERT_REJECTED;
    default:
        return X509_V_ERR_APPLICATION_VERIFICATION;
    }
}

/* Replaces OpenSSL's chain check: certgate's policy judges. With
 * on_failure: alert a bad certificate ends the handshake with the alert that
 * names the cause; otherwise every certificate is let in and the verdict
 * waits for the HTTP layer, which tells the client why. */
static int on_verify_cert(X509_STORE_CTX *xs, void *arg)
{
    struct tls_server *ts = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct peer_extra *pe = ssl ? peer_extra(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted(xs);
    if (pe == NULL || leaf == NULL)
        return 0;
    sk_X509_pop_free(pe->chain, X509_free);
    pe->chain = untrusted ? X509_chain_up_ref(untrusted) : sk_X509_new_null();
    if (pe->chain && sk_X509_num(pe->chain) == 0) {
        X509_up_ref(leaf);
        sk_X509_push(pe->chain, leaf);
    }
    const struct cfg_client_auth *ca = &ts->l->client_auth;
    if (ca->on_failure != ON_FAILURE_ALERT || ca->mode == CA_REQUEST || ts->judge == NULL)
        return 1;
    char detail[320];
    enum certgate_reason r = ts->judge(ssl, leaf, pe->chain, detail, sizeof(detail));
    if (r != CERTGATE_OK) {
        X509_STORE_CTX_set_error(xs, reason_to_x509_error(r));
        return 0;
    }
    return 1;
}

/* Session tickets carry the client's presented chain, so that a resumed
 * session is judged on exactly what the full handshake saw. */
static int on_ticket_gen(SSL *ssl, void *arg)
{
    struct peer_extra *pe = SSL_get_ex_data(ssl, ex_index);
    SSL_SESSION *sess = SSL_get0_session(ssl);
    if (pe == NULL || pe->chain == NULL || sess == NULL)
        return 1;
    unsigned char *blob = NULL;
    size_t len = 0;
    for (int i = 1; i < sk_X509_num(pe->chain); i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(sk_X509_value(pe->chain, i), &der);
        if (n <= 0 || len + (size_t)n > MAX_TICKET_CHAIN) {
            OPENSSL_free(der);
            break;
        }
        unsigned char *nb = realloc(blob, len + (size_t)n);
        if (nb == NULL) {
            OPENSSL_free(der);
            break;
        }
        blob = nb;
        memcpy(blob + len, der, (size_t)n);
        len += (size_t)n;
        OPENSSL_free(der);
    }
    SSL_SESSION_set1_ticket_appdata(sess, blob ? blob : (unsigned char *)"", len);
    free(blob);
    return 1;
}

/* The intermediates a ticket carries are the same few certificates over and over: each
 * thread keeps the last ones parsed (DER kept to compare), so a resumption does not parse
 * them again (OpenSSL 3.0's key decoding is most of a resumption's cost). */
#define PARSED_SLOTS 32
struct parsed {
    unsigned char *der;
    size_t len;
    X509 *x;
};
static _Thread_local struct parsed parsed_cache[PARSED_SLOTS];

static X509 *der_to_x509(const unsigned char *der, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i += 7) /* a sample of the bytes: DER of distinct certs differs */
        h = (h ^ der[i]) * 1099511628211ull;
    struct parsed *e = &parsed_cache[(h ^ len) % PARSED_SLOTS];
    if (e->x && e->len == len && memcmp(e->der, der, len) == 0) {
        X509_up_ref(e->x);
        return e->x;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        return NULL;
    }
    unsigned char *copy = malloc(len);
    if (copy) {
        X509_free(e->x);
        free(e->der);
        memcpy(copy, der, len);
        e->der = copy;
        e->len = len;
        e->x = x;
        X509_up_ref(x);
    }
    return x;
}

void tls_server_thread_done(void)
{
    for (size_t i = 0; i < PARSED_SLOTS; i++) {
        X509_free(parsed_cache[i].x);
        free(parsed_cache[i].der);
        memset(&parsed_cache[i], 0, sizeof(parsed_cache[i]));
    }
}

/* The length of the DER element at <p> (a certificate: one SEQUENCE), or 0. */
static size_t der_len(const unsigned char *p, const unsigned char *end)
{
    long len = 0;
    int tag = 0, cls = 0;
    const unsigned char *q = p;
    int r = ASN1_get_object(&q, &len, &tag, &cls, end - p);
    if ((r & 0x80) || tag != V_ASN1_SEQUENCE || len < 0 || q + len > end)
        return 0;
    return (size_t)(q - p) + (size_t)len;
}

static SSL_TICKET_RETURN on_ticket_dec(SSL *ssl, SSL_SESSION *ss, const unsigned char *keyname,
                                       size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return status == SSL_TICKET_EMPTY || status == SSL_TICKET_NO_DECRYPT
                   ? SSL_TICKET_RETURN_IGNORE_RENEW
                   : SSL_TICKET_RETURN_IGNORE;
    struct peer_extra *pe = peer_extra(ssl);
    X509 *leaf = SSL_SESSION_get0_peer(ss);
    if (pe && leaf) {
        void *data = NULL;
        size_t len = 0;
        sk_X509_pop_free(pe->chain, X509_free);
        pe->chain = sk_X509_new_null();
        X509_up_ref(leaf);
        sk_X509_push(pe->chain, leaf);
        if (SSL_SESSION_get0_ticket_appdata(ss, &data, &len) && len > 0) {
            const unsigned char *p = data, *end = p + len;
            while (p < end) {
                size_t n = der_len(p, end);
                X509 *x = n ? der_to_x509(p, n) : NULL;
                if (x == NULL)
                    break;
                sk_X509_push(pe->chain, x);
                p += n;
            }
        }
    }
    /* always a fresh ticket: a client that uses each ticket once (as browsers do) resumes
     * every time, not every other time */
    return SSL_TICKET_RETURN_USE_RENEW;
}

/* ---- building ---- */

#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static SSL_CTX *ctx_new(struct tls_server *ts, const struct cfg_cert *c, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        set_err(err, errlen, "%s", "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* TLS 1.2: forward secrecy and AEAD only (no CBC, RSA key exchange, DHE, 3DES, RC4);
     * TLS 1.3: AES-128-GCM first, the cheapest on hardware with AES instructions */
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384:P-521") != 1) {
        SSL_CTX_free(ctx);
        set_err(err, errlen, "%s", "cannot set the TLS cipher suites");
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* one TLS 1.3 ticket per handshake, not OpenSSL's two: each costs an encryption, a MAC
     * and the chain in its appdata, and a client resumes with one */
    SSL_CTX_set_num_tickets(ctx, 1);
    /* the ticket callback looks its keys up on the context in use, which SNI may switch */
    if (tls_keys_install(ctx, ts->keys) < 0) {
        SSL_CTX_free(ctx);
        set_err(err, errlen, "%s", "cannot set up session ticket keys");
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, ts);
    int rc = c->pkcs12 ? load_pkcs12(ctx, c, err, errlen) : load_pem(ctx, c, err, errlen);
    if (rc < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Client verification must sit on every context: after SNI switches the
 * SSL_CTX, OpenSSL verifies with the new one's callback and CA names. */
static void ctx_setup_client_auth(struct tls_server *ts, SSL_CTX *ctx)
{
    const struct cfg_client_auth *ca = &ts->l->client_auth;
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    unsigned n =
        (unsigned)snprintf((char *)sid, sizeof(sid), "certgate:%s", ts->l->name ? ts->l->name : "");
    if (n > sizeof(sid))
        n = sizeof(sid);
    SSL_CTX_set_session_id_context(ctx, sid, n);
    if (ca->mode == CA_IGNORE)
        return;
    int mode = SSL_VERIFY_PEER;
    if (ca->mode == CA_REQUIRE && ca->on_failure == ON_FAILURE_ALERT)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, on_verify_cert, ts);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    for (size_t i = 0; ca->policy && names && i < ca->policy->n_trusted_ca; i++)
        SSL_add_file_cert_subjects_to_stack(names, ca->policy->trusted_ca[i]);
    SSL_CTX_set_client_CA_list(ctx, names);
    ERR_clear_error();
}

/* Sessions, tickets and SNI belong to the first context: OpenSSL keeps the
 * initial SSL_CTX as the session context after SNI. */
static int ctx_setup_default(struct tls_server *ts, SSL_CTX *ctx, char *err, size_t errlen)
{
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, 20000);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, ts);
    SSL_CTX_set_session_ticket_cb(ctx, on_ticket_gen, on_ticket_dec, ts);
    return 0;
}

static unsigned key_type(SSL_CTX *ctx)
{
    EVP_PKEY *k = SSL_CTX_get0_privatekey(ctx);
    int id = k ? EVP_PKEY_get_base_id(k) : 0;
    return id == EVP_PKEY_RSA ? 1 : id == EVP_PKEY_EC ? 2 : 4;
}

static int same_names(const struct sni_ctx *a, const struct sni_ctx *b)
{
    if (a->n_names != b->n_names)
        return 0;
    for (size_t i = 0; i < a->n_names; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return 0;
    return 1;
}

static void sni_ctx_free(struct sni_ctx *sc)
{
    SSL_CTX_free(sc->ctx);
    for (size_t j = 0; j < sc->n_names; j++)
        free(sc->names[j]);
    free(sc->names);
    memset(sc, 0, sizeof(*sc));
}

/* An RSA and an ECDSA certificate for the same names share one context, so
 * that OpenSSL picks by the client's signature algorithms. *into gets that context. */
static int merge_same_names(struct tls_server *ts, struct sni_ctx *sc, const struct cfg_cert *c,
                            SSL_CTX **into, char *err, size_t errlen)
{
    for (size_t i = 0; i < ts->n_ctxs; i++) {
        if (!same_names(&ts->ctxs[i], sc) || (ts->ctxs[i].key_types & sc->key_types))
            continue;
        ts->ctxs[i].key_types |= sc->key_types;
        *into = ts->ctxs[i].ctx;
        int rc = c->pkcs12 ? load_pkcs12(ts->ctxs[i].ctx, c, err, errlen)
                           : load_pem(ts->ctxs[i].ctx, c, err, errlen);
        return rc < 0 ? -1 : 1;
    }
    return 0;
}

/* tls.ocsp_stapling: a staple per certificate (<leaves>[i] as the contexts hold certificate i),
 * on every context. */
static int setup_stapling(struct tls_server *ts, X509 *const *leaves, char *err, size_t errlen)
{
    if (!ts->l->stapling.enabled)
        return 0;
    ts->staples = tls_staples_new(ts->l, leaves, err, errlen);
    if (ts->staples == NULL)
        return -1;
    for (size_t i = 0; i < ts->n_ctxs; i++)
        tls_staples_install(ts->staples, ts->ctxs[i].ctx);
    return 0;
}

struct tls_server *tls_server_new(const struct cfg_listener *l, tls_judge_fn judge,
                                  const struct tls_keys *keys, char *err, size_t errlen)
{
    pthread_once(&ex_once, ex_init);
    if (l->n_certs == 0) {
        snprintf(err, errlen, "listener '%s' has tls but no certificates", l->name);
        return NULL;
    }
    struct tls_server *ts = calloc(1, sizeof(*ts));
    if (ts == NULL)
        return NULL;
    ts->l = l;
    ts->judge = judge;
    ts->keys = keys;
    ts->ctxs = calloc(l->n_certs, sizeof(*ts->ctxs));
    X509 **leaves = calloc(l->n_certs, sizeof(*leaves));
    if (ts->ctxs == NULL || leaves == NULL)
        goto fail;
    for (size_t i = 0; i < l->n_certs; i++) {
        struct sni_ctx sc = {0};
        SSL_CTX *into = NULL;
        sc.ctx = ctx_new(ts, &l->certs[i], err, errlen);
        if (sc.ctx == NULL)
            goto fail;
        collect_names(&sc);
        sc.key_types = key_type(sc.ctx);
        int merged = merge_same_names(ts, &sc, &l->certs[i], &into, err, errlen);
        if (merged != 0) {
            sni_ctx_free(&sc);
            if (merged < 0)
                goto fail;
            leaves[i] = SSL_CTX_get0_certificate(into); /* the one just loaded is current */
            continue;
        }
        ctx_setup_client_auth(ts, sc.ctx);
        leaves[i] = SSL_CTX_get0_certificate(sc.ctx);
        ts->ctxs[ts->n_ctxs++] = sc;
    }
    if (ctx_setup_default(ts, ts->ctxs[0].ctx, err, errlen) < 0 ||
        setup_stapling(ts, leaves, err, errlen) < 0)
        goto fail;
    free(leaves);
    return ts;
fail:
    free(leaves);
    tls_server_free(ts);
    return NULL;
}

void tls_server_free(struct tls_server *ts)
{
    if (ts == NULL)
        return;
    tls_staples_free(ts->staples);
    for (size_t i = 0; i < ts->n_ctxs; i++)
        sni_ctx_free(&ts->ctxs[i]);
    free(ts->ctxs);
    free(ts);
}

void tls_server_start_stapling(struct tls_server *ts, struct ocsp_service *s)
{
    tls_staples_start(ts->staples, s);
}

const struct tls_staples *tls_server_staples(const struct tls_server *ts)
{
    return ts->staples;
}

SSL *tls_server_ssl(struct tls_server *ts)
{
    return SSL_new(ts->ctxs[0].ctx);
}

void tls_server_peer(SSL *ssl, struct tls_peer *p)
{
    memset(p, 0, sizeof(*p));
    p->sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    p->leaf = SSL_get0_peer_certificate(ssl);
    if (p->leaf == NULL)
        return;
    struct peer_extra *pe = peer_extra(ssl);
    if (pe == NULL)
        return;
    if (pe->chain == NULL) {
        /* resumed from the server's session cache: OpenSSL kept the chain */
        STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
        pe->chain = sk_X509_new_null();
        if (pe->chain) {
            X509_up_ref(p->leaf);
            sk_X509_push(pe->chain, p->leaf);
            for (int i = 0; sent && i < sk_X509_num(sent); i++) {
                X509 *x = sk_X509_value(sent, i);
                if (X509_cmp(x, p->leaf) == 0)
                    continue;
                X509_up_ref(x);
                sk_X509_push(pe->chain, x);
            }
        }
    }
    p->chain = pe->chain;
}

char *tls_server_own_uri(const struct tls_server *ts)
{
    X509 *x = SSL_CTX_get0_certificate(ts->ctxs[0].ctx);
    GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    char *uri = NULL;
    for (int i = 0; gens && uri == NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_URI)
            uri = strndup((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                          (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier));
    }
    GENERAL_NAMES_free(gens);
    /* a URI with a control byte or a quote is not put into a header */
    for (char *p = uri; p && *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == '"' || *p == ',' || *p == ';') {
            free(uri);
            return NULL;
        }
    return uri;
}
