/* tls_client: contexts built from PEM and PKCS#12 client certificates, then real in-memory
 * handshakes (BIO pairs) against a server that requires a client certificate. */
#include "lib/pki_util.c"

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>

#include "tls/tls_client.h"

#define P12_PASSWORD "p12-secret"

static struct {
    struct pki_node root, inter, server, client, other_root;
    const char *ca, *other_ca, *client_chain, *client_key, *client_p12;
} pki;

static void write_key(const char *name, EVP_PKEY *key)
{
    FILE *f = fopen(pki_path(name), "w");

    assert_non_null(f);
    assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
    fclose(f);
}

static void write_p12(const char *name, const struct pki_node *leaf, X509 *extra)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    PKCS12 *p12;
    FILE *f;

    assert_non_null(chain);
    assert_true(sk_X509_push(chain, extra) > 0);
    p12 = PKCS12_create(P12_PASSWORD, "gateway", leaf->key, leaf->cert, chain, 0, 0, 0, 0, 0);
    assert_non_null(p12);
    f = fopen(pki_path(name), "wb");
    assert_non_null(f);
    assert_true(i2d_PKCS12_fp(f, p12));
    fclose(f);
    PKCS12_free(p12);
    sk_X509_free(chain);
}

/* The backend's server certificate comes from the root; the gateway's client certificate
 * from an intermediate the server does not trust alone, so the chain must be sent. */
static int setup(void **state)
{
    struct pki_opts ca = {.ca = 1, .key = "ec:P-256#root"};
    struct pki_opts inter = {.ca = 1, .key = "ec:P-256#inter"};
    struct pki_opts other = {.ca = 1, .key = "ec:P-256#other"};
    struct pki_opts server = {
        .key = "ec:P-256#server", .eku = "serverAuth", .san = "DNS:api.internal, IP:127.0.0.1"};
    struct pki_opts client = {.key = "rsa:2048", .eku = "clientAuth"};
    X509 *chain[2];

    pki.root = pki_issue("/CN=Backend Root", NULL, &ca);
    pki.inter = pki_issue("/CN=Gateway Intermediate", &pki.root, &inter);
    pki.server = pki_issue("/CN=api.internal", &pki.root, &server);
    pki.client = pki_issue("/O=certgate/CN=gateway", &pki.inter, &client);
    pki.other_root = pki_issue("/CN=Other Root", NULL, &other);
    pki.ca = pki_write_certs("backend-ca.pem", &pki.root.cert, 1);
    pki.other_ca = pki_write_certs("other-ca.pem", &pki.other_root.cert, 1);
    chain[0] = pki.client.cert;
    chain[1] = pki.inter.cert;
    pki.client_chain = pki_write_certs("gw-chain.pem", chain, 2);
    write_key("gw.key", pki.client.key);
    pki.client_key = pki_path("gw.key");
    write_p12("gw.p12", &pki.client, pki.inter.cert);
    pki.client_p12 = pki_path("gw.p12");
    return 0;
}

static int teardown(void **state)
{
    pki_node_free(&pki.root);
    pki_node_free(&pki.inter);
    pki_node_free(&pki.server);
    pki_node_free(&pki.client);
    pki_node_free(&pki.other_root);
    pki_keys_free();
    pki_dir_remove();
    return 0;
}

/* A backend that requires a client certificate issued under the root. */
static SSL_CTX *server_ctx(int max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    X509_STORE *store;

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate(ctx, pki.server.cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pki.server.key), 1);
    store = SSL_CTX_get_cert_store(ctx);
    assert_int_equal(X509_STORE_add_cert(store, pki.root.cert), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    assert_int_equal(SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"t", 1), 1);
    if (max_version)
        assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    /* the leaf alone, as most backends send it */
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    return ctx;
}

struct conn {
    SSL *c, *s;
};

/* Drive both ends over a BIO pair. Returns 1 when both finished the handshake, 0 when the
 * client failed (its errors stay queued for tls_client_verify_error). */
static int handshake(struct conn *x, SSL_CTX *cctx, SSL_CTX *sctx, const char *name,
                     SSL_SESSION *resume)
{
    BIO *cb, *sb;
    int c_done = 0, s_done = 0;

    x->c = SSL_new(cctx);
    x->s = SSL_new(sctx);
    assert_non_null(x->c);
    assert_non_null(x->s);
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(x->c, cb, cb);
    SSL_set_bio(x->s, sb, sb);
    SSL_set_connect_state(x->c);
    SSL_set_accept_state(x->s);
    if (name)
        assert_int_equal(tls_client_prepare(x->c, name), 0);
    if (resume)
        assert_int_equal(SSL_set_session(x->c, resume), 1);
    ERR_clear_error();
    for (int i = 0; i < 50 && !(c_done && s_done); i++) {
        if (!c_done) {
            int rc = SSL_do_handshake(x->c);
            int e = SSL_get_error(x->c, rc);
            if (rc == 1)
                c_done = 1;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                return 0;
        }
        if (!s_done) {
            int rc = SSL_do_handshake(x->s);
            int e = SSL_get_error(x->s, rc);
            /* only the client's errors are for tls_client_verify_error */
            ERR_clear_error();
            if (rc == 1)
                s_done = 1;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                s_done = -1;
        }
    }
    return c_done == 1 && s_done == 1;
}

/* SSL_free without a close_notify sent marks the session not resumable. */
static void conn_free(struct conn *x)
{
    if (x->c && SSL_is_init_finished(x->c))
        SSL_shutdown(x->c);
    SSL_free(x->c);
    SSL_free(x->s);
    x->c = x->s = NULL;
}

static SSL_CTX *client_ctx(const struct cfg_backend_tls *t)
{
    char err[256] = "";
    SSL_CTX *ctx = tls_client_ctx_new(t, err, sizeof(err));

    if (!ctx)
        fail_msg("tls_client_ctx_new: %s", err);
    assert_string_equal(err, "");
    return ctx;
}

static struct cfg_backend_tls pem_tls(const char *ca)
{
    struct cfg_backend_tls t = {.set = 1, .verify = 1, .has_client_cert = 1};

    t.ca = (char *)ca;
    t.client_cert.cert = (char *)pki.client_chain;
    t.client_cert.key = (char *)pki.client_key;
    return t;
}

static void expect_ok(SSL_CTX *cctx, const char *name, const char *sni)
{
    SSL_CTX *sctx = server_ctx(0);
    struct conn x;

    assert_int_equal(handshake(&x, cctx, sctx, name, NULL), 1);
    assert_string_equal(pki_subject(SSL_get0_peer_certificate(x.s)), "CN=gateway,O=certgate");
    if (sni)
        assert_string_equal(SSL_get_servername(x.s, TLSEXT_NAMETYPE_host_name), sni);
    else
        assert_null(SSL_get_servername(x.s, TLSEXT_NAMETYPE_host_name));
    assert_int_equal(SSL_get_verify_result(x.c), X509_V_OK);
    conn_free(&x);
    SSL_CTX_free(sctx);
}

static void expect_refused(SSL_CTX *cctx, const char *name, const char *why)
{
    SSL_CTX *sctx = server_ctx(0);
    char msg[300] = "";
    struct conn x;

    assert_int_equal(handshake(&x, cctx, sctx, name, NULL), 0);
    tls_client_verify_error(x.c, name, msg, sizeof(msg));
    assert_string_equal(msg, why);
    conn_free(&x);
    SSL_CTX_free(sctx);
    ERR_clear_error();
}

static void test_pem_client_cert(void **state)
{
    struct cfg_backend_tls t = pem_tls(pki.ca);
    SSL_CTX *cctx = client_ctx(&t);

    expect_ok(cctx, "api.internal", "api.internal");
    /* a name with a trailing dot is the same name; SNI carries it without */
    expect_ok(cctx, "api.internal.", "api.internal");
    /* an IP literal: checked against the IP SAN, and no SNI */
    expect_ok(cctx, "127.0.0.1", NULL);
    SSL_CTX_free(cctx);
}

static void test_pkcs12_client_cert(void **state)
{
    struct cfg_backend_tls t = {.set = 1, .verify = 1, .has_client_cert = 1};
    SSL_CTX *cctx;

    t.ca = (char *)pki.ca;
    t.client_cert.pkcs12 = (char *)pki.client_p12;
    t.password = P12_PASSWORD;
    cctx = client_ctx(&t);
    /* the intermediate comes from the PKCS#12: the server trusts only the root */
    expect_ok(cctx, "api.internal", "api.internal");
    SSL_CTX_free(cctx);
}

static void test_wrong_ca(void **state)
{
    struct cfg_backend_tls t = pem_tls(pki.other_ca);
    SSL_CTX *cctx = client_ctx(&t);

    expect_refused(cctx, "api.internal",
                   "the backend's certificate is not trusted by other-ca.pem (unable to get local "
                   "issuer certificate)");
    SSL_CTX_free(cctx);
}

static void test_wrong_name(void **state)
{
    struct cfg_backend_tls t = pem_tls(pki.ca);
    SSL_CTX *cctx = client_ctx(&t);

    expect_refused(cctx, "other.internal",
                   "the backend's certificate does not match the name 'other.internal'");
    /* no partial wildcards, and a different IP is a different name */
    expect_refused(cctx, "127.0.0.2",
                   "the backend's certificate does not match the name '127.0.0.2'");
    expect_refused(cctx, "[::1]", "the backend's certificate does not match the name '[::1]'");
    SSL_CTX_free(cctx);
}

static void test_no_tls_section_uses_system_cas(void **state)
{
    /* calloc'd as quick mode would: set 0 and verify 0 must still verify */
    struct cfg_backend_tls t = {0};
    SSL_CTX *cctx = client_ctx(&t);

    assert_int_equal(SSL_CTX_get_verify_mode(cctx), SSL_VERIFY_PEER);
    expect_refused(cctx, "api.internal",
                   "the backend's certificate is not trusted by the system's CA certificates "
                   "(unable to get local issuer certificate)");
    SSL_CTX_free(cctx);
}

static void test_verify_false(void **state)
{
    struct cfg_backend_tls t = pem_tls(NULL);
    SSL_CTX *cctx;
    SSL_CTX *sctx = server_ctx(0);
    struct conn x;

    t.verify = 0;
    cctx = client_ctx(&t);
    assert_int_equal(SSL_CTX_get_verify_mode(cctx), SSL_VERIFY_NONE);
    /* neither the chain nor the name is checked */
    assert_int_equal(handshake(&x, cctx, sctx, "nobody.example", NULL), 1);
    assert_int_not_equal(SSL_get_verify_result(x.c), X509_V_OK);
    assert_string_equal(pki_subject(SSL_get0_peer_certificate(x.s)), "CN=gateway,O=certgate");
    conn_free(&x);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

static void test_no_client_cert(void **state)
{
    struct cfg_backend_tls t = {.set = 1, .verify = 1};
    SSL_CTX *sctx = server_ctx(TLS1_2_VERSION), *cctx;
    char msg[300] = "";
    struct conn x;

    t.ca = (char *)pki.ca;
    cctx = client_ctx(&t);
    /* TLS 1.2: the refusal of an empty Certificate reaches the client in the handshake */
    assert_int_equal(handshake(&x, cctx, sctx, "api.internal", NULL), 0);
    tls_client_verify_error(x.c, "api.internal", msg, sizeof(msg));
    assert_string_equal(
        msg, "the TLS handshake with the backend failed (sslv3 alert handshake failure)");
    conn_free(&x);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    ERR_clear_error();
}

static void test_context_settings(void **state)
{
    struct cfg_backend_tls t = pem_tls(pki.ca);
    SSL_CTX *cctx = client_ctx(&t);

    assert_int_equal(SSL_CTX_get_min_proto_version(cctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_mode(cctx) & SSL_MODE_RELEASE_BUFFERS, SSL_MODE_RELEASE_BUFFERS);
    assert_int_equal(SSL_CTX_get_session_cache_mode(cctx),
                     SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    assert_int_equal(SSL_CTX_get_options(cctx) & SSL_OP_NO_RENEGOTIATION, SSL_OP_NO_RENEGOTIATION);
    assert_int_equal(SSL_CTX_get_verify_mode(cctx), SSL_VERIFY_PEER);
    SSL_CTX_free(cctx);
}

static void test_session_resumption(void **state)
{
    struct cfg_backend_tls t = pem_tls(pki.ca);
    SSL_CTX *cctx = client_ctx(&t), *sctx = server_ctx(0);
    SSL_SESSION *sess;
    struct conn x;
    char byte = 0;

    assert_int_equal(handshake(&x, cctx, sctx, "api.internal", NULL), 1);
    assert_int_equal(SSL_session_reused(x.c), 0);
    /* TLS 1.3 tickets arrive after the handshake: read past them */
    assert_int_equal(SSL_write(x.s, "x", 1), 1);
    assert_int_equal(SSL_read(x.c, &byte, 1), 1);
    assert_int_equal(byte, 'x');
    sess = SSL_get1_session(x.c);
    assert_non_null(sess);
    assert_int_equal(SSL_SESSION_is_resumable(sess), 1);
    conn_free(&x);

    assert_int_equal(handshake(&x, cctx, sctx, "api.internal", sess), 1);
    assert_int_equal(SSL_session_reused(x.c), 1);
    conn_free(&x);
    SSL_SESSION_free(sess);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

static void expect_ctx_error(const struct cfg_backend_tls *t, const char *want)
{
    char err[512] = "";

    assert_null(tls_client_ctx_new(t, err, sizeof(err)));
    assert_string_equal(err, want);
}

static void test_context_errors(void **state)
{
    struct cfg_backend_tls t = pem_tls(pki_path("missing.pem"));
    char want[512];

    snprintf(want, sizeof(want), "cannot load CA file '%s' (No such file or directory)",
             pki_path("missing.pem"));
    expect_ctx_error(&t, want);

    t = pem_tls(pki.ca);
    t.client_cert.key = (char *)pki_write_certs("not-a-key.pem", &pki.root.cert, 1);
    /* OpenSSL 3's word for "no key in this file"; the loader says it better first */
    snprintf(want, sizeof(want), "cannot load private key '%s' (unsupported)",
             pki_path("not-a-key.pem"));
    expect_ctx_error(&t, want);

    t = pem_tls(pki.ca);
    write_key("other.key", pki_key("ec:P-256#other"));
    t.client_cert.key = (char *)pki_path("other.key");
    snprintf(want, sizeof(want), "private key '%s' does not match certificate '%s'",
             pki_path("other.key"), pki.client_chain);
    expect_ctx_error(&t, want);

    t = pem_tls(pki.ca);
    t.client_cert.cert = NULL;
    t.client_cert.pkcs12 = (char *)pki.client_p12;
    t.password = "wrong";
    snprintf(want, sizeof(want), "wrong password for PKCS#12 '%s'", pki.client_p12);
    expect_ctx_error(&t, want);

    t.client_cert.pkcs12 = (char *)pki_path("missing.p12");
    snprintf(want, sizeof(want), "cannot open PKCS#12 '%s': No such file or directory",
             pki_path("missing.p12"));
    expect_ctx_error(&t, want);
}

static void test_prepare_refuses(void **state)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);

    assert_int_equal(tls_client_prepare(ssl, NULL), -1);
    assert_int_equal(tls_client_prepare(ssl, ""), -1);
    assert_int_equal(tls_client_prepare(ssl, "[]"), -1);
    assert_int_equal(tls_client_prepare(NULL, "api.internal"), -1);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pem_client_cert),
        cmocka_unit_test(test_pkcs12_client_cert),
        cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_wrong_name),
        cmocka_unit_test(test_no_tls_section_uses_system_cas),
        cmocka_unit_test(test_verify_false),
        cmocka_unit_test(test_no_client_cert),
        cmocka_unit_test(test_context_settings),
        cmocka_unit_test(test_session_resumption),
        cmocka_unit_test(test_context_errors),
        cmocka_unit_test(test_prepare_refuses),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
