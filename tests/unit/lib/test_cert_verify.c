/* cert_verify.c and cert_reason.c: chain and validity verdicts, their codes and sentences. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdata.h"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgate/certgate.h"

/* ---- a small PKI, built once ---- */

struct node {
    X509 *cert;
    EVP_PKEY *key;
};

static struct {
    struct node root, inter, other_root, expired_inter;
    struct node valid, expired, future, untrusted, under_expired, accent;
    char dir[64];
    char root_pem[128], inter_pem[128], other_pem[128], bundle_pem[128], root_der[128];
    char empty_pem[128], junk_pem[128];
} pki;

static time_t utc(const char *asn1)
{
    ASN1_TIME *t = ASN1_TIME_new();
    struct tm tm;

    assert_true(ASN1_TIME_set_string(t, asn1));
    assert_true(ASN1_TIME_to_tm(t, &tm));
    ASN1_TIME_free(t);
    return timegm(&tm);
}

/* A certificate for CN=<cn> signed by <issuer> (NULL: self-signed), valid <nb>..<na>. */
static struct node issue(const char *cn, const struct node *issuer, int ca, const char *nb,
                         const char *na)
{
    static long serial = 1000;
    struct node n;
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    n.key = EVP_EC_gen("P-256");
    n.cert = X509_new();
    assert_non_null(n.key);
    assert_true(X509_set_version(n.cert, 2));
    assert_true(ASN1_INTEGER_set(X509_get_serialNumber(n.cert), serial++));
    assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                           -1, 0));
    assert_true(X509_set_subject_name(n.cert, name));
    assert_true(X509_set_issuer_name(n.cert, issuer ? X509_get_subject_name(issuer->cert) : name));
    assert_true(ASN1_TIME_set_string(X509_getm_notBefore(n.cert), nb));
    assert_true(ASN1_TIME_set_string(X509_getm_notAfter(n.cert), na));
    assert_true(X509_set_pubkey(n.cert, n.key));
    X509V3_set_ctx(&v3, issuer ? issuer->cert : n.cert, n.cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                              ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    assert_non_null(ext);
    assert_true(X509_add_ext(n.cert, ext, -1));
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
                              ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    assert_non_null(ext);
    assert_true(X509_add_ext(n.cert, ext, -1));
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(n.cert, issuer ? issuer->key : n.key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return n;
}

static void write_pem(const char *path, X509 *const *certs, int n)
{
    FILE *f = fopen(path, "w");
    int i;

    assert_non_null(f);
    for (i = 0; i < n; i++)
        assert_true(PEM_write_X509(f, certs[i]));
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int pki_setup(void **state)
{
    FILE *f;

    snprintf(pki.dir, sizeof(pki.dir), "/tmp/certgate-verify-XXXXXX");
    assert_non_null(mkdtemp(pki.dir));
    pki.root = issue("Test Root CA", NULL, 1, "20000101000000Z", "20991231235959Z");
    pki.inter = issue("Test Intermediate CA", &pki.root, 1, "20000101000000Z", "20991231235959Z");
    pki.other_root = issue("Other Root CA", NULL, 1, "20000101000000Z", "20991231235959Z");
    pki.expired_inter =
        issue("Expired Intermediate CA", &pki.root, 1, "20000101000000Z", "20210101000000Z");
    pki.valid = issue("Valid Client", &pki.inter, 0, "20200101000000Z", "20491231235959Z");
    pki.expired = issue("Expired Client", &pki.inter, 0, "20200101000000Z", "20210101000000Z");
    pki.future = issue("Future Client", &pki.inter, 0, "20400101000000Z", "20491231235959Z");
    pki.untrusted =
        issue("Untrusted Client", &pki.other_root, 0, "20200101000000Z", "20491231235959Z");
    pki.under_expired =
        issue("Leaf Under Expired CA", &pki.expired_inter, 0, "20200101000000Z", "20491231235959Z");
    pki.accent = issue("\xC3\xA9"
                       "clair",
                       &pki.inter, 0, "20200101000000Z", "20210101000000Z");

    snprintf(pki.root_pem, sizeof(pki.root_pem), "%s/root.pem", pki.dir);
    snprintf(pki.inter_pem, sizeof(pki.inter_pem), "%s/inter.pem", pki.dir);
    snprintf(pki.other_pem, sizeof(pki.other_pem), "%s/other.pem", pki.dir);
    snprintf(pki.bundle_pem, sizeof(pki.bundle_pem), "%s/bundle.pem", pki.dir);
    snprintf(pki.root_der, sizeof(pki.root_der), "%s/root.der", pki.dir);
    snprintf(pki.empty_pem, sizeof(pki.empty_pem), "%s/empty.pem", pki.dir);
    snprintf(pki.junk_pem, sizeof(pki.junk_pem), "%s/junk.pem", pki.dir);
    write_pem(pki.root_pem, &pki.root.cert, 1);
    {
        X509 *inters[] = {pki.inter.cert, pki.expired_inter.cert};
        X509 *bundle[] = {pki.other_root.cert, pki.root.cert};
        write_pem(pki.inter_pem, inters, 2);
        write_pem(pki.bundle_pem, bundle, 2);
    }
    write_pem(pki.other_pem, &pki.other_root.cert, 1);
    f = fopen(pki.root_der, "wb");
    assert_non_null(f);
    assert_true(i2d_X509_fp(f, pki.root.cert));
    fclose(f);
    write_text(pki.empty_pem, "just some text, no certificate\n");
    write_text(pki.junk_pem,
               "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n");
    return 0;
}

static void node_free(struct node *n)
{
    X509_free(n->cert);
    EVP_PKEY_free(n->key);
}

static int pki_teardown(void **state)
{
    const char *files[] = {pki.root_pem, pki.inter_pem, pki.other_pem, pki.bundle_pem,
                           pki.root_der, pki.empty_pem, pki.junk_pem};
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(pki.dir);
    node_free(&pki.root);
    node_free(&pki.inter);
    node_free(&pki.other_root);
    node_free(&pki.expired_inter);
    node_free(&pki.valid);
    node_free(&pki.expired);
    node_free(&pki.future);
    node_free(&pki.untrusted);
    node_free(&pki.under_expired);
    node_free(&pki.accent);
    return 0;
}

/* Trust: root.pem, with inter.pem as helpers when <with_inter>. */
static struct certgate_trust *trust_std(int with_inter)
{
    const char *ca[] = {pki.root_pem};
    const char *im[] = {pki.inter_pem};
    char err[256];
    struct certgate_trust *t = certgate_trust_new(ca, 1, im, with_inter ? 1 : 0, err, sizeof(err));

    if (t == NULL)
        fail_msg("trust: %s", err);
    return t;
}

/* ---- verdicts ---- */

static void test_valid_chain_out(void **state)
{
    struct certgate_trust *t = trust_std(1);
    STACK_OF(X509) *chain = NULL;
    char detail[256] = "unchanged";

    assert_int_equal(
        certgate_verify_chain(t, pki.valid.cert, NULL, 0, &chain, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_string_equal(detail, "");
    assert_non_null(chain);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), pki.valid.cert), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), pki.inter.cert), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), pki.root.cert), 0);
    sk_X509_pop_free(chain, X509_free);
    certgate_trust_free(t);
}

static void test_intermediate_presented_by_peer(void **state)
{
    struct certgate_trust *t = trust_std(0);
    STACK_OF(X509) *presented = sk_X509_new_null();
    STACK_OF(X509) *chain = NULL;
    char detail[256];

    sk_X509_push(presented, pki.inter.cert);
    assert_int_equal(
        certgate_verify_chain(t, pki.valid.cert, presented, 0, &chain, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), pki.inter.cert), 0);
    sk_X509_pop_free(chain, X509_free);
    /* Borrowed: the presented stack and its certificate are still ours. */
    assert_int_equal(sk_X509_num(presented), 1);
    sk_X509_free(presented);
    certgate_trust_free(t);
}

static void test_missing_intermediate(void **state)
{
    struct certgate_trust *t = trust_std(0);
    STACK_OF(X509) *chain = (STACK_OF(X509) *)&chain;
    char detail[256];

    assert_int_equal(
        certgate_verify_chain(t, pki.valid.cert, NULL, 0, &chain, detail, sizeof(detail)),
        CERTGATE_NOT_TRUSTED);
    assert_null(chain);
    assert_string_equal(detail, "no chain to a trusted CA for 'CN=Valid Client' "
                                "(unable to get local issuer certificate)");
    /* No path outranks a bad date: an expired certificate without a path is NotTrusted. */
    assert_int_equal(
        certgate_verify_chain(t, pki.expired.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_NOT_TRUSTED);
    certgate_trust_free(t);
}

static void test_expired(void **state)
{
    struct certgate_trust *t = trust_std(1);
    STACK_OF(X509) *chain = NULL;
    char detail[256];

    assert_int_equal(
        certgate_verify_chain(t, pki.expired.cert, NULL, 0, &chain, detail, sizeof(detail)),
        CERTGATE_EXPIRED);
    assert_null(chain);
    assert_string_equal(detail, "certificate 'CN=Expired Client' expired on 2021-01-01T00:00:00Z");
    certgate_trust_free(t);
}

static void test_not_yet_valid(void **state)
{
    struct certgate_trust *t = trust_std(1);
    char detail[256];

    assert_int_equal(
        certgate_verify_chain(t, pki.future.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_NOT_YET_VALID);
    assert_string_equal(detail,
                        "certificate 'CN=Future Client' is not valid before 2040-01-01T00:00:00Z");
    certgate_trust_free(t);
}

static void test_other_root(void **state)
{
    struct certgate_trust *t = trust_std(1);
    char detail[256];

    assert_int_equal(
        certgate_verify_chain(t, pki.untrusted.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "no chain to a trusted CA for 'CN=Untrusted Client' "
                                "(unable to get local issuer certificate)");
    /* Presenting its own root does not make it trusted. */
    {
        STACK_OF(X509) *presented = sk_X509_new_null();
        sk_X509_push(presented, pki.other_root.cert);
        assert_int_equal(certgate_verify_chain(t, pki.untrusted.cert, presented, 0, NULL, detail,
                                               sizeof(detail)),
                         CERTGATE_NOT_TRUSTED);
        assert_string_equal(detail, "no chain to a trusted CA for 'CN=Untrusted Client' "
                                    "(self-signed certificate in certificate chain for "
                                    "'CN=Other Root CA')");
        sk_X509_free(presented);
    }
    certgate_trust_free(t);
}

static void test_expired_intermediate(void **state)
{
    struct certgate_trust *t = trust_std(1);
    char detail[256];

    assert_int_equal(
        certgate_verify_chain(t, pki.under_expired.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_EXPIRED);
    assert_string_equal(detail, "issuer certificate 'CN=Expired Intermediate CA' of "
                                "'CN=Leaf Under Expired CA' expired on 2021-01-01T00:00:00Z");
    certgate_trust_free(t);
}

static void test_at_time(void **state)
{
    struct certgate_trust *t = trust_std(1);
    char detail[256];

    /* The expired client was fine in 2020. */
    assert_int_equal(certgate_verify_chain(t, pki.expired.cert, NULL, utc("20200601000000Z"), NULL,
                                           detail, sizeof(detail)),
                     CERTGATE_OK);
    assert_int_equal(certgate_verify_chain(t, pki.valid.cert, NULL, utc("20191231235959Z"), NULL,
                                           detail, sizeof(detail)),
                     CERTGATE_NOT_YET_VALID);
    assert_string_equal(detail,
                        "certificate 'CN=Valid Client' is not valid before 2020-01-01T00:00:00Z");
    assert_int_equal(certgate_verify_chain(t, pki.valid.cert, NULL, utc("20500101000000Z"), NULL,
                                           detail, sizeof(detail)),
                     CERTGATE_EXPIRED);
    assert_string_equal(detail, "certificate 'CN=Valid Client' expired on 2049-12-31T23:59:59Z");
    /* The last second before notAfter is valid (OpenSSL counts notAfter itself as expired). */
    assert_int_equal(certgate_verify_chain(t, pki.valid.cert, NULL, utc("20491231235958Z"), NULL,
                                           detail, sizeof(detail)),
                     CERTGATE_OK);
    assert_int_equal(certgate_verify_chain(t, pki.valid.cert, NULL, utc("20200101000000Z"), NULL,
                                           detail, sizeof(detail)),
                     CERTGATE_OK);
    certgate_trust_free(t);
}

static void test_not_found_and_no_trust(void **state)
{
    char detail[128];
    STACK_OF(X509) *chain = (STACK_OF(X509) *)&chain;
    struct certgate_trust *t = trust_std(1);

    assert_int_equal(certgate_verify_chain(t, NULL, NULL, 0, &chain, detail, sizeof(detail)),
                     CERTGATE_NOT_FOUND);
    assert_null(chain);
    assert_string_equal(detail, "no client certificate was presented");
    assert_int_equal(
        certgate_verify_chain(NULL, pki.valid.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "no trusted CA is configured");
    /* No detail buffer is fine. */
    assert_int_equal(certgate_verify_chain(t, pki.valid.cert, NULL, 0, NULL, NULL, 0), CERTGATE_OK);
    certgate_trust_free(t);
}

static void test_detail_truncation(void **state)
{
    struct certgate_trust *t = trust_std(1);
    char detail[18];

    assert_int_equal(certgate_verify_chain(t, pki.expired.cert, NULL, 0, NULL, detail, 10),
                     CERTGATE_EXPIRED);
    assert_string_equal(detail, "certifica");
    /* "certificate 'CN=" is 16 bytes; the 2-byte 'é' would be cut in half, so it goes. */
    assert_int_equal(
        certgate_verify_chain(t, pki.accent.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_EXPIRED);
    assert_string_equal(detail, "certificate 'CN=");
    certgate_trust_free(t);
}

/* ---- loading ---- */

static void test_bundle_and_der(void **state)
{
    const char *bundle[] = {pki.bundle_pem};
    const char *der[] = {pki.root_der};
    const char *im[] = {pki.inter_pem};
    char err[256] = "";
    char detail[256];
    struct certgate_trust *t = certgate_trust_new(bundle, 1, im, 1, err, sizeof(err));

    /* Every certificate of a bundle is an anchor, not just the first. */
    assert_non_null(t);
    assert_string_equal(err, "");
    assert_int_equal(
        certgate_verify_chain(t, pki.untrusted.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_int_equal(
        certgate_verify_chain(t, pki.valid.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_OK);
    certgate_trust_free(t);

    t = certgate_trust_new(der, 1, im, 1, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(
        certgate_verify_chain(t, pki.valid.cert, NULL, 0, NULL, detail, sizeof(detail)),
        CERTGATE_OK);
    certgate_trust_free(t);
}

static void test_load_errors(void **state)
{
    const char *missing[] = {"/nonexistent/ca.pem"};
    const char *empty[] = {pki.empty_pem};
    const char *junk[] = {pki.junk_pem};
    const char *ok[] = {pki.root_pem};
    char err[256], want[256];

    assert_null(certgate_trust_new(missing, 1, NULL, 0, err, sizeof(err)));
    assert_string_equal(err, "cannot open CA file /nonexistent/ca.pem: No such file or directory");

    assert_null(certgate_trust_new(empty, 1, NULL, 0, err, sizeof(err)));
    snprintf(want, sizeof(want), "CA file %s holds no certificate", pki.empty_pem);
    assert_string_equal(err, want);

    assert_null(certgate_trust_new(junk, 1, NULL, 0, err, sizeof(err)));
    snprintf(want, sizeof(want), "CA file %s: certificate 1 is not valid PEM", pki.junk_pem);
    assert_string_equal(err, want);

    assert_null(certgate_trust_new(ok, 1, empty, 1, err, sizeof(err)));
    snprintf(want, sizeof(want), "intermediate file %s holds no certificate", pki.empty_pem);
    assert_string_equal(err, want);

    assert_null(certgate_trust_new(ok, 0, NULL, 0, err, sizeof(err)));
    assert_string_equal(err, "no trusted CA file given");
    certgate_trust_free(NULL);
}

/* ---- HAProxy's independent PKI ---- */

static X509 *load_leaf(const char *rel)
{
    char path[1024];
    FILE *f;
    X509 *x;

    snprintf(path, sizeof(path), "%s/%s", testdata(), rel);
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (set CERTGATE_TESTDATA)", path);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static void test_haproxy_pki(void **state)
{
    char ca_path[1024], err[256], detail[512];
    const char *ca[] = {ca_path};
    struct certgate_trust *t;
    STACK_OF(X509) *chain = NULL;
    X509 *x;

    snprintf(ca_path, sizeof(ca_path), "%s/haproxy-ssl-certs/ca-auth.crt", testdata());
    t = certgate_trust_new(ca, 1, NULL, 0, err, sizeof(err));
    if (t == NULL)
        fail_msg("trust: %s", err);

    x = load_leaf("haproxy-ssl-certs/client1.pem");
    assert_int_equal(certgate_verify_chain(t, x, NULL, 0, &chain, detail, sizeof(detail)),
                     CERTGATE_OK);
    assert_int_equal(sk_X509_num(chain), 2);
    sk_X509_pop_free(chain, X509_free);
    X509_free(x);

    x = load_leaf("haproxy-ssl-certs/client2_expired.pem");
    assert_int_equal(certgate_verify_chain(t, x, NULL, 0, NULL, detail, sizeof(detail)),
                     CERTGATE_EXPIRED);
    assert_string_equal(detail, "certificate 'CN=client2,O=HAProxy Technologies Test,C=FR' "
                                "expired on 2019-04-29T19:01:01Z");
    X509_free(x);

    x = load_leaf("haproxy-ssl-certs/client.ecdsa.pem");
    assert_int_equal(certgate_verify_chain(t, x, NULL, 0, NULL, detail, sizeof(detail)),
                     CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "no chain to a trusted CA for 'CN=ECDSA client,O=HAProxy "
                                "Technologies,ST=Some-State,C=FR' (unable to get local issuer "
                                "certificate)");
    X509_free(x);
    certgate_trust_free(t);
}

/* ---- one trust, many threads ---- */

struct worker {
    struct certgate_trust *t;
    int failures;
};

static void *verify_loop(void *arg)
{
    struct worker *w = arg;
    char detail[256];
    int i;

    for (i = 0; i < 200; i++) {
        STACK_OF(X509) *chain = NULL;
        if (certgate_verify_chain(w->t, pki.valid.cert, NULL, 0, &chain, detail, sizeof(detail)) !=
                CERTGATE_OK ||
            sk_X509_num(chain) != 3)
            w->failures++;
        sk_X509_pop_free(chain, X509_free);
        if (certgate_verify_chain(w->t, pki.expired.cert, NULL, 0, NULL, detail, sizeof(detail)) !=
            CERTGATE_EXPIRED)
            w->failures++;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    struct certgate_trust *t = trust_std(1);
    pthread_t th[4];
    struct worker w[4];
    int i;

    for (i = 0; i < 4; i++) {
        w[i].t = t;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    certgate_trust_free(t);
}

/* ---- reason codes (cert_reason.c) ---- */

static void test_reason_codes(void **state)
{
    assert_string_equal(certgate_reason_code(CERTGATE_OK), "OK");
    assert_string_equal(certgate_reason_code(CERTGATE_NOT_FOUND), "ClientCertificateNotFound");
    assert_string_equal(certgate_reason_code(CERTGATE_MALFORMED), "ClientCertificateMalformed");
    assert_string_equal(certgate_reason_code(CERTGATE_NOT_YET_VALID),
                        "ClientCertificateNotYetValid");
    assert_string_equal(certgate_reason_code(CERTGATE_EXPIRED), "ClientCertificateExpired");
    assert_string_equal(certgate_reason_code(CERTGATE_NOT_TRUSTED), "ClientCertificateNotTrusted");
    assert_string_equal(certgate_reason_code(CERTGATE_REVOKED), "ClientCertificateRevoked");
    assert_string_equal(certgate_reason_code(CERTGATE_REVOCATION_UNKNOWN),
                        "ClientCertificateRevocationUnknown");
    assert_string_equal(certgate_reason_code(CERTGATE_IDENTITY_NOT_MATCHED),
                        "ClientCertificateIdentityNotMatched");
    assert_string_equal(certgate_reason_code(CERTGATE_REASON_MAX), "Unknown");
    assert_string_equal(certgate_reason_code((enum certgate_reason) - 1), "Unknown");
}

static void test_reason_status(void **state)
{
    assert_int_equal(certgate_reason_status(CERTGATE_OK), 200);
    assert_int_equal(certgate_reason_status(CERTGATE_NOT_FOUND), 401);
    assert_int_equal(certgate_reason_status(CERTGATE_MALFORMED), 400);
    assert_int_equal(certgate_reason_status(CERTGATE_NOT_YET_VALID), 401);
    assert_int_equal(certgate_reason_status(CERTGATE_EXPIRED), 401);
    assert_int_equal(certgate_reason_status(CERTGATE_NOT_TRUSTED), 401);
    assert_int_equal(certgate_reason_status(CERTGATE_REVOKED), 401);
    assert_int_equal(certgate_reason_status(CERTGATE_REVOCATION_UNKNOWN), 401);
    assert_int_equal(certgate_reason_status(CERTGATE_IDENTITY_NOT_MATCHED), 403);
    assert_int_equal(certgate_reason_status(CERTGATE_REASON_MAX), 500);
}

static void test_reason_alert(void **state)
{
    /* Wire values (RFC 8446 §6): 45 certificate_expired, 48 unknown_ca,
     * 44 certificate_revoked, 116 certificate_required, 42 bad_certificate. */
    assert_int_equal(certgate_reason_alert(CERTGATE_EXPIRED), 45);
    assert_int_equal(certgate_reason_alert(CERTGATE_NOT_YET_VALID), 45);
    assert_int_equal(certgate_reason_alert(CERTGATE_NOT_TRUSTED), 48);
    assert_int_equal(certgate_reason_alert(CERTGATE_REVOKED), 44);
    assert_int_equal(certgate_reason_alert(CERTGATE_NOT_FOUND), 116);
    assert_int_equal(certgate_reason_alert(CERTGATE_MALFORMED), 42);
    assert_int_equal(certgate_reason_alert(CERTGATE_REVOCATION_UNKNOWN), 42);
    assert_int_equal(certgate_reason_alert(CERTGATE_IDENTITY_NOT_MATCHED), 42);
    assert_int_equal(certgate_reason_alert(CERTGATE_REASON_MAX), 42);
    assert_int_equal(certgate_reason_alert(CERTGATE_OK), 0);
    assert_int_equal(SSL_AD_CERTIFICATE_EXPIRED, 45);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_chain_out),
        cmocka_unit_test(test_intermediate_presented_by_peer),
        cmocka_unit_test(test_missing_intermediate),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_other_root),
        cmocka_unit_test(test_expired_intermediate),
        cmocka_unit_test(test_at_time),
        cmocka_unit_test(test_not_found_and_no_trust),
        cmocka_unit_test(test_detail_truncation),
        cmocka_unit_test(test_bundle_and_der),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_haproxy_pki),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_reason_codes),
        cmocka_unit_test(test_reason_status),
        cmocka_unit_test(test_reason_alert),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
