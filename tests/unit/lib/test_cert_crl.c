/* cert_crl.c: the CRL distribution point of a certificate, the HTTP exchange, the parse, the
 * issuer's signature, a certificate's status under a CRL, and the blocking fetch against a
 * server played by a thread on 127.0.0.1. Certificates and CRLs are built in the test. */
#include "pki_util.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <openssl/err.h>

#include "certgate/crl.h"

#define PKIX_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n"
#define MAX_TEXT  "16777216" /* CERTGATE_CRL_MAX_SIZE in a sentence */
#define SKEW      300L

static struct {
    struct pki_node ca;    /* CN=CRL CA */
    struct pki_node twin;  /* CN=CRL CA again, another key */
    struct pki_node other; /* CN=Other CA */
    struct pki_node leaf;  /* CN=Leaf, issued by ca */
    struct pki_node leaf2; /* CN=Leaf Two, issued by ca */
    time_t at;             /* 2025-06-01T00:00:00Z: the time of the checks */
} fx;

/* Nothing here leaves entries in the calling thread's OpenSSL error queue. */
#define ASSERT_NO_OPENSSL_ERROR() assert_int_equal(ERR_peek_error(), 0)

/* ---- building certificates with distribution points ---- */

static GENERAL_NAME *gen_name(int type, const char *s, size_t len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *v = ASN1_IA5STRING_new();

    assert_non_null(gn);
    assert_non_null(v);
    assert_true(ASN1_STRING_set(v, s, (int)len));
    GENERAL_NAME_set0_value(gn, type, v);
    return gn;
}

static GENERAL_NAME *uri(const char *s)
{
    return gen_name(GEN_URI, s, strlen(s));
}

/* A distribution point whose fullName holds <a> and, when not NULL, <b>. */
static DIST_POINT *dp_full(GENERAL_NAME *a, GENERAL_NAME *b)
{
    DIST_POINT *dp = DIST_POINT_new();

    assert_non_null(dp);
    dp->distpoint = DIST_POINT_NAME_new();
    assert_non_null(dp->distpoint);
    dp->distpoint->type = 0;
    dp->distpoint->name.fullname = GENERAL_NAMES_new();
    assert_non_null(dp->distpoint->name.fullname);
    assert_true(sk_GENERAL_NAME_push(dp->distpoint->name.fullname, a));
    if (b != NULL)
        assert_true(sk_GENERAL_NAME_push(dp->distpoint->name.fullname, b));
    return dp;
}

/* A distribution point named relative to the CRL issuer: CN=<cn>. */
static DIST_POINT *dp_relative(const char *cn)
{
    DIST_POINT *dp = DIST_POINT_new();
    X509_NAME_ENTRY *e = X509_NAME_ENTRY_create_by_NID(NULL, NID_commonName, MBSTRING_UTF8,
                                                       (const unsigned char *)cn, -1);

    assert_non_null(dp);
    assert_non_null(e);
    dp->distpoint = DIST_POINT_NAME_new();
    assert_non_null(dp->distpoint);
    dp->distpoint->type = 1;
    dp->distpoint->name.relativename = sk_X509_NAME_ENTRY_new_null();
    assert_non_null(dp->distpoint->name.relativename);
    assert_true(sk_X509_NAME_ENTRY_push(dp->distpoint->name.relativename, e));
    return dp;
}

/* A distribution point with only a cRLIssuer (no distributionPoint name). */
static DIST_POINT *dp_issuer_only(void)
{
    DIST_POINT *dp = DIST_POINT_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    X509_NAME *name = X509_NAME_dup(X509_get_subject_name(fx.ca.cert));

    assert_non_null(dp);
    assert_non_null(gn);
    assert_non_null(name);
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, name);
    dp->CRLissuer = GENERAL_NAMES_new();
    assert_non_null(dp->CRLissuer);
    assert_true(sk_GENERAL_NAME_push(dp->CRLissuer, gn));
    return dp;
}

/* CN=<cn> issued by fx.ca, with a crlDistributionPoints extension holding the <n> points that
 * follow (taken), re-signed and re-parsed as a peer would send it. */
static struct pki_node leaf_with_dps(const char *cn, int n, ...)
{
    char subject[128];
    struct pki_node leaf;
    STACK_OF(DIST_POINT) *dps = sk_DIST_POINT_new_null();
    va_list ap;

    assert_non_null(dps);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        assert_true(sk_DIST_POINT_push(dps, va_arg(ap, DIST_POINT *)));
    va_end(ap);
    snprintf(subject, sizeof(subject), "/CN=%s", cn);
    leaf = pki_issue(subject, &fx.ca, NULL);
    assert_int_equal(
        X509_add1_ext_i2d(leaf.cert, NID_crl_distribution_points, dps, 0, X509V3_ADD_APPEND), 1);
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    assert_true(X509_sign(leaf.cert, fx.ca.key, EVP_sha256()) > 0);
    leaf.cert = reparse(leaf.cert);
    return leaf;
}

/* ---- building CRLs ---- */

struct rev {
    X509 *cert;
    int reason;       /* CRLReason, or -1 for no reason code */
    const char *date; /* NULL: 20240101000000Z */
};

struct crl_opts {
    const struct pki_node *issuer; /* NULL: fx.ca */
    EVP_PKEY *signer;              /* NULL: the issuer's key */
    const char *last;              /* NULL: 20250101000000Z */
    const char *next;              /* NULL: 20250701000000Z */
    int no_next;                   /* leave nextUpdate out */
    const struct rev *revs;
    int n_revs;
    int idp; /* an issuingDistributionPoint (critical), with the flags below */
    int idp_only_user, idp_only_ca, idp_only_attr, idp_indirect;
    int idp_some_reasons;    /* onlySomeReasons: keyCompromise */
    const char *idp_uri;     /* its distributionPoint fullName */
    int delta;               /* a deltaCRLIndicator (critical, base CRL number 1) */
    const char *private_ext; /* an extension of this OID, content NULL */
    int private_critical;
};

static void crl_add_ext(X509_CRL *crl, int nid, void *value, int crit)
{
    assert_int_equal(X509_CRL_add1_ext_i2d(crl, nid, value, crit, X509V3_ADD_APPEND), 1);
}

/* A CRL as the options say, DER-encoded and re-parsed; *der (when not NULL) gets its bytes,
 * which the caller frees with OPENSSL_free. */
static X509_CRL *make_crl_der(const struct crl_opts *o, unsigned char **der, int *der_len)
{
    const struct pki_node *issuer = o->issuer != NULL ? o->issuer : &fx.ca;
    X509_CRL *crl = X509_CRL_new(), *parsed;
    ASN1_TIME *t = ASN1_TIME_new();
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    unsigned char *buf = NULL;
    const unsigned char *p;
    int len;

    assert_non_null(crl);
    assert_non_null(t);
    assert_non_null(num);
    assert_true(X509_CRL_set_version(crl, 1));
    assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->cert)));
    assert_true(ASN1_TIME_set_string(t, o->last ? o->last : "20250101000000Z"));
    assert_true(X509_CRL_set1_lastUpdate(crl, t));
    if (!o->no_next) {
        assert_true(ASN1_TIME_set_string(t, o->next ? o->next : "20250701000000Z"));
        assert_true(X509_CRL_set1_nextUpdate(crl, t));
    }
    for (int i = 0; i < o->n_revs; i++) {
        X509_REVOKED *rev = X509_REVOKED_new();

        assert_non_null(rev);
        assert_true(X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(o->revs[i].cert)));
        assert_true(ASN1_TIME_set_string(t, o->revs[i].date ? o->revs[i].date : "20240101000000Z"));
        assert_true(X509_REVOKED_set_revocationDate(rev, t));
        if (o->revs[i].reason >= 0) {
            ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();

            assert_true(ASN1_ENUMERATED_set(reason, o->revs[i].reason));
            assert_true(X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0));
            ASN1_ENUMERATED_free(reason);
        }
        assert_true(X509_CRL_add0_revoked(crl, rev));
    }
    assert_true(ASN1_INTEGER_set(num, 7));
    crl_add_ext(crl, NID_crl_number, num, 0);
    if (o->idp) {
        ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();

        assert_non_null(idp);
        idp->onlyuser = o->idp_only_user ? 0xFF : 0;
        idp->onlyCA = o->idp_only_ca ? 0xFF : 0;
        idp->onlyattr = o->idp_only_attr ? 0xFF : 0;
        idp->indirectCRL = o->idp_indirect ? 0xFF : 0;
        if (o->idp_some_reasons) {
            idp->onlysomereasons = ASN1_BIT_STRING_new();
            assert_non_null(idp->onlysomereasons);
            assert_true(ASN1_BIT_STRING_set_bit(idp->onlysomereasons, 1, 1));
        }
        if (o->idp_uri != NULL) {
            idp->distpoint = DIST_POINT_NAME_new();
            assert_non_null(idp->distpoint);
            idp->distpoint->type = 0;
            idp->distpoint->name.fullname = GENERAL_NAMES_new();
            assert_true(sk_GENERAL_NAME_push(idp->distpoint->name.fullname, uri(o->idp_uri)));
        }
        crl_add_ext(crl, NID_issuing_distribution_point, idp, 1);
        ISSUING_DIST_POINT_free(idp);
    }
    if (o->delta) {
        assert_true(ASN1_INTEGER_set(num, 1));
        crl_add_ext(crl, NID_delta_crl, num, 1);
    }
    if (o->private_ext != NULL) {
        static const unsigned char null_der[] = {0x05, 0x00};
        ASN1_OBJECT *obj = OBJ_txt2obj(o->private_ext, 1);
        ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ext;

        assert_non_null(obj);
        assert_true(ASN1_OCTET_STRING_set(data, null_der, sizeof(null_der)));
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, o->private_critical, data);
        assert_non_null(ext);
        assert_true(X509_CRL_add_ext(crl, ext, -1));
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(data);
        ASN1_OBJECT_free(obj);
    }
    assert_true(X509_CRL_sort(crl));
    assert_true(X509_CRL_sign(crl, o->signer ? o->signer : issuer->key, EVP_sha256()) > 0);
    len = i2d_X509_CRL(crl, &buf);
    assert_true(len > 0);
    p = buf;
    parsed = d2i_X509_CRL(NULL, &p, len);
    assert_non_null(parsed);
    if (der != NULL) {
        *der = buf;
        *der_len = len;
    } else {
        OPENSSL_free(buf);
    }
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    return parsed;
}

static X509_CRL *make_crl(const struct crl_opts *o)
{
    return make_crl_der(o, NULL, NULL);
}

/* Whether two CRLs have the same DER. */
static void assert_same_crl(X509_CRL *a, X509_CRL *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_X509_CRL(a, &da), lb = i2d_X509_CRL(b, &db);

    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, (size_t)la);
    OPENSSL_free(da);
    OPENSSL_free(db);
}

static int setup(void **state)
{
    struct pki_opts ca = {.key = "ec:P-256#ca", .ca = 1};
    struct pki_opts twin = {.key = "ec:P-256#twin", .ca = 1};
    struct pki_opts other = {.key = "ec:P-256#other", .ca = 1};

    fx.ca = pki_issue("/CN=CRL CA", NULL, &ca);
    fx.twin = pki_issue("/CN=CRL CA", NULL, &twin);
    fx.other = pki_issue("/CN=Other CA", NULL, &other);
    fx.leaf = pki_issue("/CN=Leaf", &fx.ca, NULL);
    fx.leaf2 = pki_issue("/CN=Leaf Two", &fx.ca, NULL);
    fx.at = pki_utc("20250601000000Z");
    return 0;
}

static int teardown(void **state)
{
    pki_node_free(&fx.leaf2);
    pki_node_free(&fx.leaf);
    pki_node_free(&fx.other);
    pki_node_free(&fx.twin);
    pki_node_free(&fx.ca);
    pki_keys_free();
    return 0;
}

/* ---- certgate_crl_dp_url ---- */

/* The URL certgate_crl_dp_url finds in <leaf> (then freed), which must be <want>. */
static void assert_dp_url(struct pki_node *leaf, const char *want)
{
    char err[512] = "";
    char *url = certgate_crl_dp_url(leaf->cert, err, sizeof(err));

    ASSERT_NO_OPENSSL_ERROR();
    if (url == NULL)
        fail_msg("no URL: %s", err);
    assert_string_equal(url, want);
    free(url);
    pki_node_free(leaf);
}

static void assert_no_dp_url(struct pki_node *leaf, const char *why)
{
    char err[512] = "";

    assert_null(certgate_crl_dp_url(leaf->cert, err, sizeof(err)));
    ASSERT_NO_OPENSSL_ERROR();
    assert_string_equal(err, why);
    pki_node_free(leaf);
}

static void test_dp_url_found(void **state)
{
    struct pki_node n;

    n = leaf_with_dps("Leaf", 1, dp_full(uri("http://127.0.0.1:8080/a/b.crl"), NULL));
    assert_dp_url(&n, "http://127.0.0.1:8080/a/b.crl");

    /* an ldap:// point, then an http:// one */
    n = leaf_with_dps("Leaf", 2, dp_full(uri("ldap://dir.example/cn=CRL%20CA"), NULL),
                      dp_full(uri("http://crl.example/ca.crl"), NULL));
    assert_dp_url(&n, "http://crl.example/ca.crl");

    /* both in the fullName of one point */
    n = leaf_with_dps("Leaf", 1,
                      dp_full(uri("ldap://dir.example/cn=CRL%20CA"), uri("http://crl.example/x")));
    assert_dp_url(&n, "http://crl.example/x");

    /* a relative name and a cRLIssuer-only point are skipped; so is a DNS name */
    n = leaf_with_dps("Leaf", 4, dp_relative("CRL1"), dp_issuer_only(),
                      dp_full(gen_name(GEN_DNS, "crl.example", 11), NULL),
                      dp_full(uri("http://crl.example/rel.crl"), NULL));
    assert_dp_url(&n, "http://crl.example/rel.crl");

    /* http:// URLs that certgate_ocsp_url_parse refuses are skipped too */
    n = leaf_with_dps("Leaf", 3, dp_full(uri("http://user:pw@crl.example/a.crl"), NULL),
                      dp_full(uri("http://crl.example:99999/a.crl"), NULL),
                      dp_full(uri("http://crl.example/good.crl"), NULL));
    assert_dp_url(&n, "http://crl.example/good.crl");

    /* a URI with a NUL inside is never taken (it would name another host) */
    n = leaf_with_dps("Leaf", 2, dp_full(gen_name(GEN_URI, "http://evil\0.crl.example/", 25), NULL),
                      dp_full(uri("http://crl.example/nul.crl"), NULL));
    assert_dp_url(&n, "http://crl.example/nul.crl");

    /* the scheme in any case, returned as written */
    n = leaf_with_dps("Leaf", 1, dp_full(uri("HTTP://CRL.example/Up.crl"), NULL));
    assert_dp_url(&n, "HTTP://CRL.example/Up.crl");
}

static void test_dp_url_none(void **state)
{
    char err[512] = "", long_ldap[300];
    struct pki_node n;

    n = leaf_with_dps("Leaf", 1, dp_full(uri("ldap://dir.example/cn=CRL%20CA"), NULL));
    assert_no_dp_url(&n, "certificate 'CN=Leaf' names no usable http:// CRL distribution point "
                         "(its first is 'ldap://dir.example/cn=CRL%20CA')");

    n = leaf_with_dps("Leaf", 1, dp_full(uri("https://crl.example/ca.crl"), NULL));
    assert_no_dp_url(&n, "certificate 'CN=Leaf' names no usable http:// CRL distribution point "
                         "(its first is 'https://crl.example/ca.crl')");

    /* the first URI is named, even when a later one is also refused */
    n = leaf_with_dps("Leaf", 2, dp_full(uri("ldap://first.example/"), NULL),
                      dp_full(uri("https://second.example/"), NULL));
    assert_no_dp_url(&n, "certificate 'CN=Leaf' names no usable http:// CRL distribution point "
                         "(its first is 'ldap://first.example/')");

    /* no extension at all */
    assert_null(certgate_crl_dp_url(fx.leaf.cert, err, sizeof(err)));
    assert_string_equal(err, "certificate 'CN=Leaf' names no CRL distribution point with a URL");
    ASSERT_NO_OPENSSL_ERROR();

    /* points without a URI */
    n = leaf_with_dps("Leaf", 3, dp_relative("CRL1"), dp_issuer_only(),
                      dp_full(gen_name(GEN_DNS, "crl.example", 11), NULL));
    assert_no_dp_url(&n, "certificate 'CN=Leaf' names no CRL distribution point with a URL");

    /* a control byte is shown as '?', and a long URI is cut at 200 characters */
    n = leaf_with_dps("Leaf", 1,
                      dp_full(uri("ldap://a\x01"
                                  "b/"),
                              NULL));
    assert_no_dp_url(&n, "certificate 'CN=Leaf' names no usable http:// CRL distribution point "
                         "(its first is 'ldap://a?b/')");
    memset(long_ldap, 'x', sizeof(long_ldap));
    memcpy(long_ldap, "ldap://", 7);
    long_ldap[sizeof(long_ldap) - 1] = '\0';
    n = leaf_with_dps("Leaf", 1, dp_full(uri(long_ldap), NULL));
    snprintf(err, sizeof(err),
             "certificate 'CN=Leaf' names no usable http:// CRL distribution point (its first "
             "is '%.200s...')",
             long_ldap);
    assert_no_dp_url(&n, err);

    assert_null(certgate_crl_dp_url(NULL, err, sizeof(err)));
    assert_string_equal(err, "no certificate");
}

/* ---- certgate_crl_http_request ---- */

static void assert_request(const char *url, const char *want)
{
    struct certgate_ocsp_url u;
    char err[256] = "";
    unsigned char *msg;
    size_t len = 0;

    if (certgate_ocsp_url_parse(url, &u, err, sizeof(err)) != 0)
        fail_msg("%s: %s", url, err);
    msg = certgate_crl_http_request(&u, &len);
    assert_non_null(msg);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(msg, want, len);
    free(msg);
}

static void test_http_request(void **state)
{
    assert_request("http://127.0.0.1:8080/a/b.crl",
                   "GET /a/b.crl HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                   "Accept: application/pkix-crl, application/x-pkcs7-crl, */*\r\n"
                   "Connection: close\r\n\r\n");
    assert_request("http://crl.example",
                   "GET / HTTP/1.1\r\nHost: crl.example\r\n"
                   "Accept: application/pkix-crl, application/x-pkcs7-crl, */*\r\n"
                   "Connection: close\r\n\r\n");
    assert_request("http://[::1]:81/c?x=1",
                   "GET /c?x=1 HTTP/1.1\r\nHost: [::1]:81\r\n"
                   "Accept: application/pkix-crl, application/x-pkcs7-crl, */*\r\n"
                   "Connection: close\r\n\r\n");
}

/* ---- certgate_crl_http_parse ---- */

/* certgate_crl_http_parse on <len> bytes of <s>; the body (when complete) into <body>. */
static int parse(const char *s, size_t len, int eof, char *body, char *err)
{
    const unsigned char *b = NULL;
    size_t blen = 0;
    int rc;

    err[0] = body[0] = '\0';
    rc = certgate_crl_http_parse((const unsigned char *)s, len, eof, &b, &blen, err, 256);
    if (rc == 1) {
        assert_true(b >= (const unsigned char *)s && b + blen == (const unsigned char *)s + len);
        assert_true(blen < 256);
        memcpy(body, b, blen);
        body[blen] = '\0';
    }
    return rc;
}

#define PARSE(s, eof) parse(s, strlen(s), eof, body, err)

static void test_http_parse(void **state)
{
    char body[256], err[256];
    const char *whole = PKIX_HEAD "Content-Length: 5\r\n\r\nABCDE";
    static const char *const types[] = {
        "Content-Type: application/pkix-crl\r\n",
        "Content-Type: application/x-pkcs7-crl\r\n",
        "Content-Type: application/octet-stream\r\n",
        "Content-Type: text/html; charset=utf-8\r\n",
        "",
    };
    static const unsigned char der_like[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                                            "\x30\x00\x0a\xff";
    const unsigned char *b = NULL;
    size_t blen = 0;

    assert_int_equal(PARSE(whole, 0), 1);
    assert_string_equal(body, "ABCDE");
    for (size_t n = 0; n < strlen(whole); n++)
        assert_int_equal(parse(whole, n, 0, body, err), 0);

    /* any Content-Type, or none at all */
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char msg[256];

        snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n%sContent-Length: 3\r\n\r\nCRL", types[i]);
        if (PARSE(msg, 0) != 1)
            fail_msg("'%s' was not taken: %s", types[i], err);
        assert_string_equal(body, "CRL");
    }

    /* a binary body, NUL included, exactly */
    assert_int_equal(
        certgate_crl_http_parse(der_like, sizeof(der_like) - 1, 0, &b, &blen, err, sizeof(err)), 1);
    assert_int_equal(blen, 4);
    assert_memory_equal(b, "\x30\x00\x0a\xff", 4);

    /* the end of the connection delimits a body without Content-Length */
    assert_int_equal(PARSE(PKIX_HEAD "\r\nclose-delimited", 0), 0);
    assert_int_equal(PARSE(PKIX_HEAD "\r\nclose-delimited", 1), 1);
    assert_string_equal(body, "close-delimited");

    /* refusals */
    assert_int_equal(PARSE("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0), -1);
    assert_string_equal(err, "answered HTTP 404 (Not Found)");
    assert_int_equal(PARSE(PKIX_HEAD "Content-Length: 3\r\n\r\nab", 1), -1);
    assert_string_equal(err, "closed the connection after 2 of 3 body bytes");
    assert_int_equal(PARSE(PKIX_HEAD "Content-Length: 0\r\n\r\n", 0), -1);
    assert_string_equal(err, "answered with an empty body");
    assert_int_equal(PARSE(PKIX_HEAD "Transfer-Encoding: chunked\r\n\r\n", 0), -1);
    assert_string_equal(err, "sent Transfer-Encoding 'chunked', which is not supported "
                             "(Content-Length or the end of the connection must delimit the "
                             "body)");

    /* the CRL limit, not OCSP's 64 KiB, bounds Content-Length */
    assert_int_equal(PARSE(PKIX_HEAD "Content-Length: 65537\r\n\r\n", 0), 0);
    assert_int_equal(PARSE(PKIX_HEAD "Content-Length: " MAX_TEXT "\r\n\r\n", 0), 0);
    assert_int_equal(PARSE(PKIX_HEAD "Content-Length: 16777217\r\n\r\n", 0), -1);
    assert_string_equal(err, "announced a response of more than " MAX_TEXT " bytes");
    assert_int_equal(PARSE(PKIX_HEAD "Content-Length: 99999999999999999999999\r\n\r\n", 0), -1);
    assert_string_equal(err, "announced a response of more than " MAX_TEXT " bytes");
}

static void test_http_parse_limit(void **state)
{
    static const char head[] = "HTTP/1.1 200 OK\r\n\r\n";
    size_t hlen = sizeof(head) - 1;
    unsigned char *buf = malloc(hlen + CERTGATE_CRL_MAX_SIZE + 1);
    const unsigned char *b = NULL;
    size_t blen = 0;
    char err[256] = "";

    assert_non_null(buf);
    memcpy(buf, head, hlen);
    memset(buf + hlen, 'x', CERTGATE_CRL_MAX_SIZE + 1);
    /* a close-delimited body of the largest size passes; one byte more does not */
    assert_int_equal(
        certgate_crl_http_parse(buf, hlen + CERTGATE_CRL_MAX_SIZE, 1, &b, &blen, err, sizeof(err)),
        1);
    assert_ptr_equal(b, buf + hlen);
    assert_int_equal(blen, CERTGATE_CRL_MAX_SIZE);
    assert_int_equal(certgate_crl_http_parse(buf, hlen + CERTGATE_CRL_MAX_SIZE + 1, 0, &b, &blen,
                                             err, sizeof(err)),
                     -1);
    assert_string_equal(err, "sent a response of more than " MAX_TEXT " bytes");
    free(buf);
}

/* ---- certgate_crl_parse ---- */

static void test_parse(void **state)
{
    struct rev revs[] = {{fx.leaf.cert, 1, NULL}};
    struct crl_opts o = {.revs = revs, .n_revs = 1};
    unsigned char *der = NULL, *cert_der = NULL;
    int der_len = 0, cert_len;
    X509_CRL *want = make_crl_der(&o, &der, &der_len), *got;
    unsigned char *more = malloc((size_t)der_len + 1);
    BIO *mem = BIO_new(BIO_s_mem());
    char err[256], *pem;
    long pem_len;

    assert_non_null(more);
    assert_non_null(mem);

    /* DER */
    got = certgate_crl_parse(der, (size_t)der_len, err, sizeof(err));
    assert_non_null(got);
    assert_same_crl(got, want);
    X509_CRL_free(got);

    /* PEM */
    assert_true(PEM_write_bio_X509_CRL(mem, want));
    pem_len = BIO_get_mem_data(mem, &pem);
    assert_true(pem_len > 0);
    got = certgate_crl_parse((unsigned char *)pem, (size_t)pem_len, err, sizeof(err));
    assert_non_null(got);
    assert_same_crl(got, want);
    X509_CRL_free(got);
    ASSERT_NO_OPENSSL_ERROR();

    /* DER with one byte more, or one byte less */
    memcpy(more, der, (size_t)der_len);
    more[der_len] = 0;
    err[0] = '\0';
    assert_null(certgate_crl_parse(more, (size_t)der_len + 1, err, sizeof(err)));
    assert_string_equal(err, "is not a CRL (neither one DER object nor PEM)");
    err[0] = '\0';
    assert_null(certgate_crl_parse(der, (size_t)der_len - 1, err, sizeof(err)));
    assert_string_equal(err, "is not a CRL (neither one DER object nor PEM)");
    ASSERT_NO_OPENSSL_ERROR();

    /* garbage, an HTML page, a certificate (DER and PEM) */
    err[0] = '\0';
    assert_null(certgate_crl_parse((const unsigned char *)"garbage!", 8, err, sizeof(err)));
    assert_string_equal(err, "is not a CRL (neither one DER object nor PEM)");
    err[0] = '\0';
    assert_null(
        certgate_crl_parse((const unsigned char *)"<html>not found</html>", 22, err, sizeof(err)));
    assert_string_equal(err, "is not a CRL (neither one DER object nor PEM)");
    cert_len = i2d_X509(fx.leaf.cert, &cert_der);
    assert_true(cert_len > 0);
    err[0] = '\0';
    assert_null(certgate_crl_parse(cert_der, (size_t)cert_len, err, sizeof(err)));
    assert_string_equal(err, "is not a CRL (neither one DER object nor PEM)");
    assert_int_equal(BIO_reset(mem), 1);
    assert_true(PEM_write_bio_X509(mem, fx.leaf.cert));
    pem_len = BIO_get_mem_data(mem, &pem);
    err[0] = '\0';
    assert_null(certgate_crl_parse((unsigned char *)pem, (size_t)pem_len, err, sizeof(err)));
    assert_string_equal(err, "is not a CRL (neither one DER object nor PEM)");
    ASSERT_NO_OPENSSL_ERROR();

    /* nothing, or more than the limit (never read) */
    assert_null(certgate_crl_parse(der, 0, err, sizeof(err)));
    assert_string_equal(err, "is empty or larger than " MAX_TEXT " bytes");
    assert_null(certgate_crl_parse(NULL, 10, err, sizeof(err)));
    assert_string_equal(err, "is empty or larger than " MAX_TEXT " bytes");
    assert_null(certgate_crl_parse(der, (size_t)CERTGATE_CRL_MAX_SIZE + 1, err, sizeof(err)));
    assert_string_equal(err, "is empty or larger than " MAX_TEXT " bytes");

    OPENSSL_free(cert_der);
    BIO_free(mem);
    free(more);
    OPENSSL_free(der);
    X509_CRL_free(want);
}

/* ---- certgate_crl_signed_by ---- */

static void test_signed_by(void **state)
{
    struct crl_opts by_ca = {0}, by_twin_key = {.signer = fx.twin.key},
                    by_other = {.issuer = &fx.other};
    X509_CRL *crl = make_crl(&by_ca), *forged = make_crl(&by_twin_key),
             *other = make_crl(&by_other);
    char err[256] = "";

    assert_int_equal(certgate_crl_signed_by(crl, fx.ca.cert, err, sizeof(err)), 0);
    assert_int_equal(certgate_crl_signed_by(other, fx.other.cert, err, sizeof(err)), 0);
    ASSERT_NO_OPENSSL_ERROR();

    /* the right name, another key: both ways round */
    assert_int_equal(certgate_crl_signed_by(forged, fx.ca.cert, err, sizeof(err)), -1);
    assert_string_equal(err, "the CRL's signature is not the key of 'CN=CRL CA'");
    err[0] = '\0';
    assert_int_equal(certgate_crl_signed_by(crl, fx.twin.cert, err, sizeof(err)), -1);
    assert_string_equal(err, "the CRL's signature is not the key of 'CN=CRL CA'");
    ASSERT_NO_OPENSSL_ERROR();

    /* another name */
    assert_int_equal(certgate_crl_signed_by(other, fx.ca.cert, err, sizeof(err)), -1);
    assert_string_equal(err, "the CRL is issued by 'CN=Other CA', not by 'CN=CRL CA'");
    assert_int_equal(certgate_crl_signed_by(crl, fx.other.cert, err, sizeof(err)), -1);
    assert_string_equal(err, "the CRL is issued by 'CN=CRL CA', not by 'CN=Other CA'");
    ASSERT_NO_OPENSSL_ERROR();

    assert_int_equal(certgate_crl_signed_by(NULL, fx.ca.cert, err, sizeof(err)), -1);
    assert_string_equal(err, "no CRL or no issuer key to check it with");
    assert_int_equal(certgate_crl_signed_by(crl, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "no CRL or no issuer key to check it with");

    X509_CRL_free(other);
    X509_CRL_free(forged);
    X509_CRL_free(crl);
}

/* ---- certgate_crl_check ---- */

/* certgate_crl_check of fx.leaf under a CRL made as <o> says, at fx.at, skew 300s. */
static enum certgate_reason check_with(const struct crl_opts *o, X509 *cert, char *detail)
{
    X509_CRL *crl = make_crl(o);
    enum certgate_reason r;

    detail[0] = '\0';
    r = certgate_crl_check(crl, cert, fx.at, SKEW, detail, 512);
    ASSERT_NO_OPENSSL_ERROR();
    X509_CRL_free(crl);
    return r;
}

#define NOT_ON_CRL "certificate 'CN=Leaf' is not on the CRL of 'CN=CRL CA'"
#define UNKNOWN_BY "revocation status of 'CN=Leaf' is unknown: the CRL of 'CN=CRL CA' "

static void test_check_listed(void **state)
{
    struct rev key = {fx.leaf.cert, 1, "20240315123000Z"};
    struct crl_opts o = {.revs = &key, .n_revs = 1};
    char detail[512];

    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);
    assert_string_equal(detail, "certificate 'CN=Leaf' was revoked on 2024-03-15T12:30:00Z "
                                "(keyCompromise) according to the CRL of 'CN=CRL CA'");
    /* another certificate of the same issuer is not */
    assert_int_equal(check_with(&o, fx.leaf2.cert, detail), CERTGATE_OK);
    assert_string_equal(detail, "certificate 'CN=Leaf Two' is not on the CRL of 'CN=CRL CA'");

    /* revocation is final: an expired CRL, or one not valid yet, still says revoked */
    o.next = "20250101000001Z";
    o.last = "20250101000000Z";
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);
    assert_string_equal(detail, "certificate 'CN=Leaf' was revoked on 2024-03-15T12:30:00Z "
                                "(keyCompromise) according to the CRL of 'CN=CRL CA'");
    o.last = "20260101000000Z";
    o.next = "20260201000000Z";
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);

    /* the reason as named by RFC 5280, or none */
    o.last = o.next = NULL;
    key.reason = 6;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);
    assert_string_equal(detail, "certificate 'CN=Leaf' was revoked on 2024-03-15T12:30:00Z "
                                "(certificateHold) according to the CRL of 'CN=CRL CA'");
    key.reason = 10;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);
    assert_non_null(strstr(detail, " (aACompromise) "));
    key.reason = 0;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);
    assert_non_null(strstr(detail, " (unspecified) "));
    key.reason = -1;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOKED);
    assert_string_equal(detail, "certificate 'CN=Leaf' was revoked on 2024-03-15T12:30:00Z "
                                "(no reason given) according to the CRL of 'CN=CRL CA'");
}

static void test_check_dates(void **state)
{
    struct rev other = {fx.leaf2.cert, 1, NULL};
    struct crl_opts o = {.revs = &other, .n_revs = 1};
    char detail[512];

    /* in date */
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_OK);
    assert_string_equal(detail, NOT_ON_CRL);

    /* nextUpdate in the past: beyond the skew, and just within it */
    o.next = "20250531235500Z"; /* at - 300s */
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, UNKNOWN_BY "expired on 2025-05-31T23:55:00Z");
    o.next = "20250531235501Z"; /* at - 299s */
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_OK);
    assert_string_equal(detail, NOT_ON_CRL);

    /* thisUpdate in the future: beyond the skew, and just within it */
    o.next = "20250701000000Z";
    o.last = "20250601000501Z"; /* at + 301s */
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, UNKNOWN_BY "is not valid before 2025-06-01T00:05:01Z");
    o.last = "20250601000500Z"; /* at + 300s */
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_OK);
    assert_string_equal(detail, NOT_ON_CRL);

    /* without skew, the same CRL is not valid yet */
    {
        X509_CRL *crl = make_crl(&o);

        assert_int_equal(certgate_crl_check(crl, fx.leaf.cert, fx.at, 0, detail, 512),
                         CERTGATE_REVOCATION_UNKNOWN);
        assert_string_equal(detail, UNKNOWN_BY "is not valid before 2025-06-01T00:05:00Z");
        X509_CRL_free(crl);
    }

    /* at = 0 is now: a CRL of 2025 has expired by then, one up to 2099 has not */
    {
        struct crl_opts far = {.last = "20200101000000Z", .next = "20991231000000Z"};
        X509_CRL *old = make_crl(&(struct crl_opts){0}), *crl = make_crl(&far);

        assert_int_equal(certgate_crl_check(crl, fx.leaf.cert, 0, SKEW, detail, 512), CERTGATE_OK);
        assert_int_equal(certgate_crl_check(old, fx.leaf.cert, 0, SKEW, detail, 512),
                         CERTGATE_REVOCATION_UNKNOWN);
        assert_string_equal(detail, UNKNOWN_BY "expired on 2025-07-01T00:00:00Z");
        X509_CRL_free(crl);
        X509_CRL_free(old);
    }
}

static void test_check_scope(void **state)
{
    struct rev listed = {fx.leaf.cert, 1, NULL};
    struct crl_opts o = {.idp = 1};
    char detail[512];

    /* an IDP for end-entity certificates, or with a name only, covers the leaf */
    o.idp_only_user = 1;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_OK);
    assert_string_equal(detail, NOT_ON_CRL);
    o.idp_only_user = 0;
    o.idp_uri = "http://crl.example/ca.crl";
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_OK);
    /* a CRL partitioned by distribution point speaks only for certificates that name it */
    struct pki_node p1 =
        leaf_with_dps("Part One", 1, dp_full(uri("http://crl.example/part1.crl"), NULL));
    o.idp_uri = "http://crl.example/part2.crl";
    assert_int_equal(check_with(&o, p1.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_non_null(strstr(detail, "it is the CRL of another distribution point"));
    o.idp_uri = "http://crl.example/part1.crl";
    assert_int_equal(check_with(&o, p1.cert, detail), CERTGATE_OK);
    pki_node_free(&p1);
    o.idp_uri = NULL;

    o.idp_only_ca = 1;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail,
                        UNKNOWN_BY "cannot be used (it covers only CA or attribute certificates)");
    o.idp_only_ca = 0;
    o.idp_only_attr = 1;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail,
                        UNKNOWN_BY "cannot be used (it covers only CA or attribute certificates)");
    o.idp_only_attr = 0;
    o.idp_some_reasons = 1;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail,
                        UNKNOWN_BY "cannot be used (it covers only some revocation reasons)");
    o.idp_some_reasons = 0;
    o.idp_indirect = 1;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, UNKNOWN_BY
                        "cannot be used (it is an indirect CRL, which is not supported)");

    /* a delta CRL cannot say, even about a certificate it lists */
    o = (struct crl_opts){.delta = 1, .revs = &listed, .n_revs = 1};
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail,
                        UNKNOWN_BY "cannot be used (it is a delta CRL (give the base CRL))");

    /* an unknown extension matters only when critical */
    o = (struct crl_opts){.private_ext = "1.3.6.1.4.1.99999.1", .private_critical = 1};
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail,
                        UNKNOWN_BY "cannot be used (it carries an unknown critical extension)");
    o.private_critical = 0;
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_OK);
    assert_string_equal(detail, NOT_ON_CRL);
}

static void test_check_other_issuer(void **state)
{
    struct rev listed = {fx.leaf.cert, 1, NULL};
    struct crl_opts o = {.issuer = &fx.other, .revs = &listed, .n_revs = 1};
    char detail[512];

    /* the same serial on another issuer's CRL says nothing of this certificate */
    assert_int_equal(check_with(&o, fx.leaf.cert, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "revocation status of 'CN=Leaf' is unknown: the CRL fetched is "
                                "issued by 'CN=Other CA', not by its issuer");

    assert_int_equal(certgate_crl_check(NULL, fx.leaf.cert, fx.at, SKEW, detail, 512),
                     CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "revocation status is unknown: no CRL");
}

/* Several threads check one CRL at once (its entries are sorted lazily by OpenSSL). */
#define THREADS 4
#define ROUNDS  200

struct checker {
    X509_CRL *crl;
    int bad;
};

static void *check_many(void *arg)
{
    struct checker *c = arg;
    char detail[512];

    for (int i = 0; i < ROUNDS; i++) {
        if (certgate_crl_check(c->crl, fx.leaf.cert, fx.at, SKEW, detail, sizeof(detail)) !=
            CERTGATE_REVOKED)
            c->bad++;
        if (certgate_crl_check(c->crl, fx.leaf2.cert, fx.at, SKEW, detail, sizeof(detail)) !=
            CERTGATE_OK)
            c->bad++;
    }
    return NULL;
}

static void test_check_threads(void **state)
{
    struct pki_node fillers[40];
    struct rev revs[41];
    struct checker c[THREADS];
    pthread_t th[THREADS];
    struct crl_opts o = {.revs = revs, .n_revs = 41};
    X509_CRL *crl;

    for (int i = 0; i < 40; i++) {
        fillers[i] = pki_issue("/CN=Filler", &fx.ca, NULL);
        revs[i] = (struct rev){fillers[i].cert, 4, NULL};
    }
    revs[40] = (struct rev){fx.leaf.cert, 1, NULL};
    crl = make_crl(&o);
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct checker){crl, 0};
        assert_int_equal(pthread_create(&th[i], NULL, check_many, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].bad, 0);
    }
    X509_CRL_free(crl);
    for (int i = 0; i < 40; i++)
        pki_node_free(&fillers[i]);
}

/* ---- certgate_crl_fetch, against a server played by a thread ---- */

enum mode { REPLY, SILENT };

struct server {
    int lfd;
    unsigned short port;
    enum mode mode;
    const unsigned char *reply;
    size_t reply_len;
    char got[4096];
    size_t got_len;
    pthread_t th;
};

static int listener(unsigned short *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* One connection: read the request's head, answer (or not), close once the client is done. */
static void *serve(void *arg)
{
    struct server *s = arg;
    char sink[256];
    int fd = accept(s->lfd, NULL, NULL);
    size_t off = 0;
    ssize_t n;

    if (fd < 0)
        return NULL;
    while (strstr(s->got, "\r\n\r\n") == NULL &&
           (n = recv(fd, s->got + s->got_len, sizeof(s->got) - 1 - s->got_len, 0)) > 0) {
        s->got_len += (size_t)n;
        s->got[s->got_len] = '\0';
    }
    while (s->mode == REPLY && off < s->reply_len &&
           (n = send(fd, s->reply + off, s->reply_len - off, MSG_NOSIGNAL)) > 0)
        off += (size_t)n;
    if (s->mode == SILENT)
        while (recv(fd, sink, sizeof(sink), 0) > 0)
            ;
    close(fd);
    return NULL;
}

static void start(struct server *s, enum mode mode, const unsigned char *reply, size_t len)
{
    memset(s, 0, sizeof(*s));
    s->lfd = listener(&s->port);
    s->mode = mode;
    s->reply = reply;
    s->reply_len = len;
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

/* The reply "<head>Content-Length: n\r\n\r\n<body>" (no Content-Length when <cl> is 0),
 * malloc'd. */
static unsigned char *reply_of(const char *head, int cl, const unsigned char *body, size_t len,
                               size_t *out_len)
{
    char h[256];
    int hl = cl ? snprintf(h, sizeof(h), "%sContent-Length: %zu\r\n\r\n", head, len)
                : snprintf(h, sizeof(h), "%s\r\n", head);
    unsigned char *r = malloc((size_t)hl + len);

    assert_non_null(r);
    memcpy(r, h, (size_t)hl);
    memcpy(r + hl, body, len);
    *out_len = (size_t)hl + len;
    return r;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static X509_CRL *fetch(unsigned short port, int timeout_ms, char *err, double *took)
{
    char url[64];
    double t0 = now();
    X509_CRL *crl;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/ca.crl", port);
    err[0] = '\0';
    crl = certgate_crl_fetch(url, timeout_ms, err, 512);
    if (took != NULL)
        *took = now() - t0;
    ASSERT_NO_OPENSSL_ERROR();
    return crl;
}

static void test_fetch(void **state)
{
    struct rev listed = {fx.leaf.cert, 1, NULL};
    struct crl_opts o = {.revs = &listed, .n_revs = 1};
    unsigned char *der = NULL, *reply;
    int der_len = 0;
    X509_CRL *want = make_crl_der(&o, &der, &der_len), *got;
    struct server s;
    size_t rlen;
    char err[512], req[512];
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem;
    long pem_len;

    /* DER with Content-Length */
    reply = reply_of(PKIX_HEAD, 1, der, (size_t)der_len, &rlen);
    start(&s, REPLY, reply, rlen);
    got = fetch(s.port, 2000, err, NULL);
    stop(&s);
    if (got == NULL)
        fail_msg("%s", err);
    assert_same_crl(got, want);
    snprintf(req, sizeof(req),
             "GET /ca.crl HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
             "Accept: application/pkix-crl, application/x-pkcs7-crl, */*\r\n"
             "Connection: close\r\n\r\n",
             s.port);
    assert_string_equal(s.got, req);
    X509_CRL_free(got);
    free(reply);

    /* PEM, no Content-Type, delimited by the end of the connection */
    assert_non_null(mem);
    assert_true(PEM_write_bio_X509_CRL(mem, want));
    pem_len = BIO_get_mem_data(mem, &pem);
    reply = reply_of("HTTP/1.0 200 OK\r\n", 0, (unsigned char *)pem, (size_t)pem_len, &rlen);
    start(&s, REPLY, reply, rlen);
    got = fetch(s.port, 2000, err, NULL);
    stop(&s);
    if (got == NULL)
        fail_msg("%s", err);
    assert_same_crl(got, want);
    X509_CRL_free(got);
    free(reply);
    BIO_free(mem);

    /* HTTP 404 */
    reply = reply_of("HTTP/1.1 404 Not Found\r\n", 1, (const unsigned char *)"no", 2, &rlen);
    start(&s, REPLY, reply, rlen);
    assert_null(fetch(s.port, 2000, err, NULL));
    stop(&s);
    snprintf(req, sizeof(req), "at http://127.0.0.1:%u/ca.crl answered HTTP 404 (Not Found)",
             s.port);
    assert_string_equal(err, req);
    free(reply);

    /* a body that is not a CRL */
    reply = reply_of(PKIX_HEAD, 1, (const unsigned char *)"<html/>", 7, &rlen);
    start(&s, REPLY, reply, rlen);
    assert_null(fetch(s.port, 2000, err, NULL));
    stop(&s);
    snprintf(req, sizeof(req),
             "at http://127.0.0.1:%u/ca.crl sent a body that is not a CRL (neither one DER "
             "object nor PEM)",
             s.port);
    assert_string_equal(err, req);
    free(reply);

    OPENSSL_free(der);
    X509_CRL_free(want);
}

/* A CRL larger than OCSP's 64 KiB and the reader's first 64 KiB buffer. */
static void test_fetch_large(void **state)
{
    enum { N = 6000 };
    struct rev *revs = calloc(N, sizeof(*revs));
    X509 **certs = calloc(N, sizeof(*certs));
    struct crl_opts o = {.revs = revs, .n_revs = N};
    unsigned char *der = NULL, *reply;
    int der_len = 0;
    X509_CRL *want, *got;
    struct server s;
    size_t rlen;
    char err[512], detail[512];

    assert_non_null(revs);
    assert_non_null(certs);
    for (int i = 0; i < N; i++) {
        ASN1_INTEGER *serial;

        certs[i] = X509_new();
        assert_non_null(certs[i]);
        serial = X509_get_serialNumber(certs[i]);
        assert_true(ASN1_INTEGER_set_int64(serial, 0x7000000 + i));
        revs[i] = (struct rev){certs[i], 5, NULL};
    }
    revs[N - 1].cert = fx.leaf.cert;
    want = make_crl_der(&o, &der, &der_len);
    assert_true(der_len > 2 * 65536);
    reply = reply_of(PKIX_HEAD, 1, der, (size_t)der_len, &rlen);
    start(&s, REPLY, reply, rlen);
    got = fetch(s.port, 5000, err, NULL);
    stop(&s);
    if (got == NULL)
        fail_msg("%s", err);
    assert_same_crl(got, want);
    assert_int_equal(certgate_crl_check(got, fx.leaf.cert, fx.at, SKEW, detail, sizeof(detail)),
                     CERTGATE_REVOKED);
    X509_CRL_free(got);
    free(reply);
    OPENSSL_free(der);
    X509_CRL_free(want);
    for (int i = 0; i < N; i++)
        X509_free(certs[i]);
    free(certs);
    free(revs);
}

static void test_fetch_fails(void **state)
{
    struct server s;
    unsigned short port;
    char err[512], want[512];
    double took;
    int fd;

    /* silence */
    start(&s, SILENT, NULL, 0);
    assert_null(fetch(s.port, 300, err, &took));
    stop(&s);
    snprintf(want, sizeof(want), "at http://127.0.0.1:%u/ca.crl did not answer within 300ms",
             s.port);
    assert_string_equal(err, want);
    assert_true(took >= 0.29 && took < 2.0);

    /* nothing listens there */
    fd = listener(&port);
    close(fd);
    assert_null(fetch(port, 1000, err, &took));
    snprintf(want, sizeof(want),
             "at http://127.0.0.1:%u/ca.crl cannot be reached (Connection refused)", port);
    assert_string_equal(err, want);
    assert_true(took < 0.5);

    /* a URL that cannot be used, or nothing asked */
    assert_null(certgate_crl_fetch("ldap://dir.example/x", 1000, err, sizeof(err)));
    assert_string_equal(err, "at 'ldap://dir.example/x' cannot be used: only http:// URLs are "
                             "supported");
    assert_null(certgate_crl_fetch(NULL, 1000, err, sizeof(err)));
    assert_string_equal(err, "was not asked (no URL or no time given)");
    assert_null(certgate_crl_fetch("http://127.0.0.1:1/x", 0, err, sizeof(err)));
    assert_string_equal(err, "was not asked (no URL or no time given)");
    ASSERT_NO_OPENSSL_ERROR();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dp_url_found),
        cmocka_unit_test(test_dp_url_none),
        cmocka_unit_test(test_http_request),
        cmocka_unit_test(test_http_parse),
        cmocka_unit_test(test_http_parse_limit),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_signed_by),
        cmocka_unit_test(test_check_listed),
        cmocka_unit_test(test_check_dates),
        cmocka_unit_test(test_check_scope),
        cmocka_unit_test(test_check_other_issuer),
        cmocka_unit_test(test_check_threads),
        cmocka_unit_test(test_fetch),
        cmocka_unit_test(test_fetch_large),
        cmocka_unit_test(test_fetch_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
