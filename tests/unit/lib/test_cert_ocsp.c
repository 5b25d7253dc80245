/* cert_ocsp.c: OCSP requests, and responses built here with OpenSSL's OCSP_* API for every
 * status and every way a response can be wrong, each with its exact sentence. */
#include "pki_util.c"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "certgate/ocsp.h"
#include "cert_ocsp_internal.h"

#define AT       "20260101000000Z"
#define URL      "http://127.0.0.1:8889/ocsp"
#define LEAF_DN  "CN=Valid Client,OU=Clients,O=Acme"
#define UNKNOWN_ "revocation status of '" LEAF_DN "' is unknown: "
#define FROM     UNKNOWN_ "the OCSP response from " URL " "
#define SKEW     300

static struct {
    struct pki_node root, ca, leaf, other_leaf, no_aia, https_aia;
    struct pki_node delegated, plain, stranger_ca, stranger_resp, expired_resp, forged;
} fx;

static int setup(void **state)
{
    struct pki_opts ca = {.key = "ec:P-256#ca", .ca = 1};
    struct pki_opts root = {.key = "ec:P-256#root", .ca = 1};
    struct pki_opts stranger = {.key = "ec:P-256#stranger", .ca = 1};
    struct pki_opts resp = {.key = "ec:P-256#resp", .eku = "OCSPSigning"};
    struct pki_opts plain = {.key = "ec:P-256#plain", .eku = "clientAuth"};
    struct pki_opts sresp = {.key = "ec:P-256#sresp", .eku = "OCSPSigning"};
    struct pki_opts old = {.key = "ec:P-256#old",
                           .eku = "OCSPSigning",
                           .not_before = "20190101000000Z",
                           .not_after = "20210101000000Z"};

    fx.root = pki_issue("/CN=Test Root CA", NULL, &root);
    fx.ca = pki_issue("/CN=Test DEV CA", &fx.root, &ca);
    fx.leaf = pki_issue("/O=Acme/OU=Clients/CN=Valid Client", &fx.ca, NULL);
    fx.leaf.cert = pki_with_aia(fx.leaf.cert, &fx.ca, "OCSP;URI:" URL);
    fx.other_leaf = pki_issue("/CN=Other Client", &fx.ca, NULL);
    fx.no_aia = pki_issue("/CN=No AIA", &fx.ca, NULL);
    fx.https_aia = pki_issue("/CN=Https AIA", &fx.ca, NULL);
    fx.https_aia.cert = pki_with_aia(fx.https_aia.cert, &fx.ca, "OCSP;URI:https://ocsp.example/");
    fx.delegated = pki_issue("/CN=Test DEV OCSP", &fx.ca, &resp);
    fx.plain = pki_issue("/CN=Plain Client", &fx.ca, &plain);
    fx.stranger_ca = pki_issue("/CN=Stranger CA", NULL, &stranger);
    fx.stranger_resp = pki_issue("/CN=Stranger OCSP", &fx.stranger_ca, &sresp);
    fx.expired_resp = pki_issue("/CN=Old OCSP", &fx.ca, &old);
    /* the delegated responder's certificate, names and key ids intact, signed by a stranger */
    fx.forged.cert = X509_dup(fx.delegated.cert);
    fx.forged.key = fx.delegated.key;
    assert_true(X509_sign(fx.forged.cert, fx.stranger_ca.key, EVP_sha256()) > 0);
    return 0;
}

static int teardown(void **state)
{
    struct pki_node *all[] = {&fx.root,          &fx.ca,           &fx.leaf,
                              &fx.other_leaf,    &fx.no_aia,       &fx.https_aia,
                              &fx.delegated,     &fx.plain,        &fx.stranger_ca,
                              &fx.stranger_resp, &fx.expired_resp, &fx.forged};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pki_node_free(all[i]);
    pki_keys_free();
    return 0;
}

/* ---- responses ---- */

enum { NONCE_COPY = 0, NONCE_NONE, NONCE_WRONG };

/* A response; zero fields mean: signed by the CA with its certificate included, GOOD, about
 * the leaf, the request's nonce copied, thisUpdate AT - 1h, nextUpdate AT + 1h. */
struct rsp {
    const struct pki_node *signer;
    int no_certs, by_key, status, reason, nonce, resp_status, corrupt;
    const char *revoked, *this_update, *next_update; /* next_update "none": absent */
    X509 *about;
};

static ASN1_TIME *asn1(const char *s)
{
    ASN1_TIME *t = ASN1_TIME_new();

    assert_non_null(t);
    assert_true(ASN1_TIME_set_string(t, s));
    return t;
}

static unsigned char *response(const struct certgate_ocsp_request *req, const struct rsp *o,
                               size_t *len)
{
    const struct pki_node *signer = o->signer ? o->signer : &fx.ca;
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *r;
    OCSP_REQUEST *oreq;
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, o->about ? o->about : fx.leaf.cert, fx.ca.cert);
    ASN1_TIME *thisu = asn1(o->this_update ? o->this_update : "20251231230000Z");
    ASN1_TIME *nextu = NULL, *revt = o->revoked ? asn1(o->revoked) : NULL;
    const unsigned char *p;
    unsigned char *der = NULL;
    size_t dlen;
    int n;

    if (o->next_update == NULL || strcmp(o->next_update, "none") != 0)
        nextu = asn1(o->next_update ? o->next_update : "20260101010000Z");
    p = certgate_ocsp_request_der(req, &dlen);
    oreq = d2i_OCSP_REQUEST(NULL, &p, (long)dlen);
    assert_non_null(oreq);
    assert_non_null(bs);
    assert_non_null(OCSP_basic_add1_status(bs, id, o->status, o->reason, revt, thisu, nextu));
    if (o->nonce == NONCE_COPY)
        assert_true(OCSP_copy_nonce(bs, oreq) > 0);
    else if (o->nonce == NONCE_WRONG)
        assert_true(OCSP_basic_add1_nonce(bs, (unsigned char *)"0123456789abcdef", 16));
    assert_true(
        OCSP_basic_sign(bs, signer->cert, signer->key, EVP_sha256(), NULL,
                        (o->no_certs ? OCSP_NOCERTS : 0) | (o->by_key ? OCSP_RESPID_KEY : 0)));
    r = OCSP_response_create(o->resp_status, o->resp_status == 0 ? bs : NULL);
    assert_non_null(r);
    n = i2d_OCSP_RESPONSE(r, &der);
    assert_true(n > 0);
    if (o->corrupt) /* the last byte of the signature: without certificates it ends the DER */
        der[n - 1] ^= 0x01;
    *len = (size_t)n;
    OCSP_RESPONSE_free(r);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(oreq);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(thisu);
    ASN1_TIME_free(nextu);
    ASN1_TIME_free(revt);
    return der;
}

/* A request for the leaf (with a nonce), answered with <o>, judged at AT + <shift>. */
static enum certgate_ocsp_status judge_at(const struct rsp *o, long shift, long max_age,
                                          struct certgate_ocsp_result *res)
{
    char err[256];
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, NULL, err, sizeof(err));
    unsigned char *der;
    size_t len;
    enum certgate_ocsp_status s;

    assert_non_null(req);
    der = response(req, o, &len);
    s = certgate_ocsp_check(req, der, len, pki_utc(AT) + shift, SKEW, max_age, res);
    assert_int_equal(s, res->status);
    OPENSSL_free(der);
    certgate_ocsp_request_free(req);
    return s;
}

static enum certgate_ocsp_status judge(const struct rsp *o, struct certgate_ocsp_result *res)
{
    return judge_at(o, 0, -1, res);
}

/* ---- the request ---- */

static void test_request(void **state)
{
    char err[256];
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, NULL, err, sizeof(err));
    const struct certgate_ocsp_url *t;
    const unsigned char *der, *p;
    OCSP_REQUEST *o;
    OCSP_CERTID *want = OCSP_cert_to_id(NULL, fx.leaf.cert, fx.ca.cert);
    size_t len, len2;

    assert_non_null(req);
    assert_string_equal(certgate_ocsp_request_url(req), URL);
    t = certgate_ocsp_request_target(req);
    assert_string_equal(t->host, "127.0.0.1");
    assert_int_equal(t->port, 8889);
    assert_string_equal(t->authority, "127.0.0.1:8889");
    assert_string_equal(t->path, "/ocsp");
    assert_int_equal(certgate_ocsp_request_has_nonce(req), 1);
    /* one request, for the leaf's SHA-1 CertID, with a nonce */
    der = certgate_ocsp_request_der(req, &len);
    p = der;
    o = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    assert_non_null(o);
    assert_ptr_equal(p, der + len);
    assert_int_equal(OCSP_request_onereq_count(o), 1);
    assert_int_equal(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(o, 0)), want), 0);
    assert_true(OCSP_REQUEST_get_ext_by_NID(o, NID_id_pkix_OCSP_Nonce, -1) >= 0);
    OCSP_REQUEST_free(o);
    certgate_ocsp_request_free(req);

    /* without a nonce, and with a URL of our own */
    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 0, "http://[::1]/", err, sizeof(err));
    assert_non_null(req);
    assert_string_equal(certgate_ocsp_request_url(req), "http://[::1]/");
    assert_string_equal(certgate_ocsp_request_target(req)->host, "::1");
    assert_int_equal(certgate_ocsp_request_target(req)->port, 80);
    assert_int_equal(certgate_ocsp_request_has_nonce(req), 0);
    der = certgate_ocsp_request_der(req, &len2);
    p = der;
    o = d2i_OCSP_REQUEST(NULL, &p, (long)len2);
    assert_non_null(o);
    assert_int_equal(OCSP_REQUEST_get_ext_by_NID(o, NID_id_pkix_OCSP_Nonce, -1), -1);
    assert_true(len2 < len);
    OCSP_REQUEST_free(o);
    certgate_ocsp_request_free(req);
    OCSP_CERTID_free(want);
}

/* The GET path decoded back: percent-encoding, then base64. */
static void assert_get_path_is(const char *path, const char *prefix, const unsigned char *der,
                               size_t len)
{
    unsigned char b64[400], raw[300];
    size_t n = 0;
    int m;

    assert_non_null(path);
    assert_memory_equal(path, prefix, strlen(prefix));
    for (const char *s = path + strlen(prefix); *s; n++) {
        assert_true(n < sizeof(b64) - 1);
        assert_true(*s != '+' && *s != '/' && *s != '=');
        if (*s == '%') {
            unsigned v;
            assert_int_equal(sscanf(s + 1, "%2X", &v), 1);
            b64[n] = (unsigned char)v;
            s += 3;
        } else {
            b64[n] = (unsigned char)*s++;
        }
    }
    b64[n] = '\0';
    m = EVP_DecodeBlock(raw, b64, (int)n);
    assert_true(m >= (int)len && m - (int)len <= 2);
    assert_memory_equal(raw, der, len);
}

static void test_get_form(void **state)
{
    char err[256];
    struct certgate_ocsp_request *req;
    const unsigned char *der;
    unsigned char zeros[190] = {0};
    char *path, want[260];
    size_t len;

    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, NULL, err, sizeof(err));
    der = certgate_ocsp_request_der(req, &len);
    assert_get_path_is(certgate_ocsp_request_get_path(req), "/ocsp/", der, len);
    certgate_ocsp_request_free(req);
    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 0, "http://h", err, sizeof(err));
    der = certgate_ocsp_request_der(req, &len);
    assert_get_path_is(certgate_ocsp_request_get_path(req), "/", der, len);
    certgate_ocsp_request_free(req);
    /* a query leaves nowhere to put the request: POST only */
    req =
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 0, "http://h/o?a=1", err, sizeof(err));
    assert_null(certgate_ocsp_request_get_path(req));
    certgate_ocsp_request_free(req);

    /* 189 bytes are 252 base64 characters: they fit; 190 need 256 */
    memset(want, 'A', sizeof(want));
    want[0] = '/';
    want[253] = '\0';
    path = cert_ocsp_get_path("/", zeros, 189);
    assert_string_equal(path, want);
    free(path);
    assert_null(cert_ocsp_get_path("/", zeros, 190));
    /* '+', '/' and '=' are percent-encoded, and count */
    path = cert_ocsp_get_path("/a/", (const unsigned char *)"\xfb\xff", 2);
    assert_string_equal(path, "/a/%2B%2F8%3D");
    free(path);
}

static void test_request_refused(void **state)
{
    char err[256];

    assert_null(certgate_ocsp_request_new(NULL, fx.ca.cert, 1, URL, err, sizeof(err)));
    assert_string_equal(err, "no certificate given");
    assert_null(certgate_ocsp_request_new(fx.leaf.cert, NULL, 1, URL, err, sizeof(err)));
    assert_string_equal(err, "no issuer certificate given");
    assert_null(certgate_ocsp_request_new(fx.no_aia.cert, fx.ca.cert, 1, NULL, err, sizeof(err)));
    assert_string_equal(err, "certificate 'CN=No AIA' names no OCSP responder (no OCSP URL in "
                             "its authorityInfoAccess)");
    assert_null(
        certgate_ocsp_request_new(fx.https_aia.cert, fx.ca.cert, 1, NULL, err, sizeof(err)));
    assert_string_equal(err, "certificate 'CN=Https AIA' names no http:// OCSP responder (its "
                             "first is 'https://ocsp.example/')");
    assert_null(
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, "ftp://x/", err, sizeof(err)));
    assert_string_equal(err, "OCSP responder 'ftp://x/' cannot be used: only http:// URLs are "
                             "supported");
    /* an override needs no AIA */
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(fx.no_aia.cert, fx.ca.cert, 1, URL, err, sizeof(err));
    assert_non_null(req);
    certgate_ocsp_request_free(req);
    certgate_ocsp_request_free(NULL);
}

static void test_aia_url(void **state)
{
    char *u = certgate_ocsp_aia_url(fx.leaf.cert);

    assert_string_equal(u, URL);
    free(u);
    u = certgate_ocsp_aia_url(fx.https_aia.cert);
    assert_string_equal(u, "https://ocsp.example/");
    free(u);
    assert_null(certgate_ocsp_aia_url(fx.no_aia.cert));
    assert_null(certgate_ocsp_aia_url(NULL));
}

/* ---- statuses ---- */

static void test_good(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp by_ca = {0}, by_key = {.by_key = 1, .no_certs = 1};
    struct rsp delegated = {.signer = &fx.delegated};

    assert_int_equal(judge(&by_ca, &res), CERTGATE_OCSP_GOOD);
    assert_string_equal(res.detail, "certificate '" LEAF_DN "' is good according to the OCSP "
                                    "responder at " URL " (next update 2026-01-01T01:00:00Z)");
    assert_int_equal(res.this_update, pki_utc("20251231230000Z"));
    assert_int_equal(res.next_update, pki_utc("20260101010000Z"));
    assert_int_equal(res.revoked_at, 0);
    assert_int_equal(res.revocation_reason, -1);
    /* the CA named by its key, its certificate left out: the request's issuer is enough */
    assert_int_equal(judge(&by_key, &res), CERTGATE_OCSP_GOOD);
    /* a delegated responder: OCSPSigning, issued by the CA, its certificate in the response */
    assert_int_equal(judge(&delegated, &res), CERTGATE_OCSP_GOOD);
    delegated.by_key = 1;
    assert_int_equal(judge(&delegated, &res), CERTGATE_OCSP_GOOD);
}

static void test_revoked(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp o = {.status = V_OCSP_CERTSTATUS_REVOKED,
                    .reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                    .revoked = "20250601120000Z",
                    .signer = &fx.delegated};

    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_REVOKED);
    assert_string_equal(res.detail, "certificate '" LEAF_DN "' was revoked on 2025-06-01T12:00:00Z "
                                    "(keyCompromise) according to the OCSP responder at " URL);
    assert_int_equal(res.revoked_at, pki_utc("20250601120000Z"));
    assert_int_equal(res.revocation_reason, 1);
    o.reason = OCSP_REVOKED_STATUS_NOSTATUS;
    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_REVOKED);
    assert_string_equal(res.detail, "certificate '" LEAF_DN "' was revoked on 2025-06-01T12:00:00Z "
                                    "(no reason given) according to the OCSP responder at " URL);
    assert_int_equal(res.revocation_reason, -1);
    /* revocation is final: a signed REVOKED holds out of its window */
    o.this_update = "20200101000000Z";
    o.next_update = "20200102000000Z";
    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_REVOKED);
}

static void test_unknown(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp o = {.status = V_OCSP_CERTSTATUS_UNKNOWN};

    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_UNKNOWN);
    assert_string_equal(res.detail, UNKNOWN_ "the OCSP responder at " URL
                                             " does not know the certificate (status unknown)");
    assert_int_equal(certgate_ocsp_reason(res.status), CERTGATE_REVOCATION_UNKNOWN);
}

/* ---- who signed ---- */

static void test_wrong_signer(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp stranger = {.signer = &fx.stranger_ca};
    struct rsp stranger_resp = {.signer = &fx.stranger_resp};
    struct rsp hidden = {.signer = &fx.delegated, .no_certs = 1};

    assert_int_equal(judge(&stranger, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is not signed by the issuer 'CN=Test DEV CA' or its "
                                         "delegated responder (it is signed by 'CN=Stranger "
                                         "CA')");
    /* OCSPSigning from another CA delegates nothing for this one */
    assert_int_equal(judge(&stranger_resp, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is not signed by the issuer 'CN=Test DEV CA' or its "
                                         "delegated responder (it is signed by 'CN=Stranger "
                                         "OCSP')");
    /* a delegated responder that leaves its certificate out cannot be checked */
    assert_int_equal(judge(&hidden, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is not signed by the issuer 'CN=Test DEV CA' or its "
                                         "delegated responder (the response does not carry its "
                                         "signer's certificate)");
}

static void test_delegation_limits(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp plain = {.signer = &fx.plain}, old = {.signer = &fx.expired_resp};
    struct rsp forged = {.signer = &fx.forged};

    assert_int_equal(judge(&plain, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is signed by 'CN=Plain Client', a certificate of the "
                                         "issuer without the OCSPSigning extended key usage, "
                                         "so not a delegated responder");
    assert_int_equal(judge(&old, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is signed by the responder certificate 'CN=Old "
                                         "OCSP', which expired on 2021-01-01T00:00:00Z");
    /* the issuer's name and key id on a certificate the issuer did not sign */
    assert_int_equal(judge(&forged, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is not signed by the issuer 'CN=Test DEV CA' or its "
                                         "delegated responder (it is signed by 'CN=Test DEV "
                                         "OCSP')");
}

static void test_bad_signature(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp o = {.no_certs = 1, .corrupt = 1};

    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "has a signature that does not verify with the key of "
                                         "'CN=Test DEV CA', whom it names as its signer");
}

/* ---- which certificate, which nonce ---- */

static void test_certid_mismatch(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp o = {.about = fx.other_leaf.cert};

    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is about another certificate (none of its answers has "
                                         "the request's CertID)");
}

static void test_nonce(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp wrong = {.nonce = NONCE_WRONG}, none = {.nonce = NONCE_NONE};
    char err[256];
    struct certgate_ocsp_request *req;
    unsigned char *der;
    size_t len;

    assert_int_equal(judge(&wrong, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "carries a nonce that differs from the request's (a "
                                         "replayed response?)");
    /* pre-signed responses carry none: accepted */
    assert_int_equal(judge(&none, &res), CERTGATE_OCSP_GOOD);
    /* no nonce asked: whatever the response carries is not compared */
    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 0, NULL, err, sizeof(err));
    der = response(req, &wrong, &len);
    assert_int_equal(certgate_ocsp_check(req, der, len, pki_utc(AT), SKEW, -1, &res),
                     CERTGATE_OCSP_GOOD);
    OPENSSL_free(der);
    certgate_ocsp_request_free(req);
}

/* ---- dates ---- */

static void test_dates(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp expired = {.this_update = "20251230000000Z", .next_update = "20251231000000Z"};
    struct rsp edge = {.this_update = "20251231000000Z", .next_update = "20251231235500Z"};
    struct rsp future = {.this_update = "20260101000501Z", .next_update = "20260102000000Z"};
    struct rsp near = {.this_update = "20260101000500Z", .next_update = "20260102000000Z"};
    struct rsp crossed = {.this_update = "20251231000000Z", .next_update = "20251230000000Z"};
    struct rsp open = {.next_update = "none"};

    assert_int_equal(judge(&expired, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "expired on 2025-12-31T00:00:00Z (its nextUpdate)");
    assert_int_equal(res.next_update, pki_utc("20251231000000Z"));
    /* nextUpdate 5 minutes ago: still inside the skew one second before its end */
    assert_int_equal(judge_at(&edge, -1, -1, &res), CERTGATE_OCSP_GOOD);
    assert_int_equal(judge_at(&edge, 0, -1, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "expired on 2025-12-31T23:55:00Z (its nextUpdate)");
    assert_int_equal(judge(&future, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is not valid before 2026-01-01T00:05:01Z (its "
                                         "thisUpdate; compare the clocks)");
    assert_int_equal(judge(&near, &res), CERTGATE_OCSP_GOOD);
    assert_int_equal(judge(&crossed, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "has a nextUpdate before its thisUpdate");
    /* no nextUpdate: fresh whenever asked, unless a maximum age says otherwise */
    assert_int_equal(judge(&open, &res), CERTGATE_OCSP_GOOD);
    assert_string_equal(res.detail, "certificate '" LEAF_DN "' is good according to the OCSP "
                                    "responder at " URL " (no next update)");
    assert_int_equal(res.next_update, 0);
    assert_int_equal(judge_at(&open, 0, 3600, &res), CERTGATE_OCSP_GOOD);
    assert_int_equal(judge_at(&open, 301, 3600, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is older than 3600 seconds (its thisUpdate is "
                                         "2025-12-31T23:00:00Z)");
}

/* ---- not an answer ---- */

static void test_not_an_answer(void **state)
{
    struct certgate_ocsp_result res;
    char err[256];
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, NULL, err, sizeof(err));
    struct rsp o = {.resp_status = OCSP_RESPONSE_STATUS_TRYLATER};
    unsigned char *der, buf[4096];
    size_t len;

    assert_int_equal(
        certgate_ocsp_check(req, (const unsigned char *)"<html>", 6, 0, SKEW, -1, &res),
        CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is not a DER OCSP response");
    assert_int_equal(certgate_ocsp_check(req, NULL, 0, 0, SKEW, -1, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "is empty");
    der = response(req, &o, &len);
    assert_int_equal(certgate_ocsp_check(req, der, len, 0, SKEW, -1, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, UNKNOWN_ "the OCSP responder at " URL " answered tryLater "
                                             "(OCSP response status 3)");
    OPENSSL_free(der);
    o.resp_status = 0;
    der = response(req, &o, &len);
    assert_true(len < sizeof(buf));
    memcpy(buf, der, len);
    buf[len] = 0;
    assert_int_equal(certgate_ocsp_check(req, buf, len + 1, pki_utc(AT), SKEW, -1, &res),
                     CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, FROM "has 1 byte after its end");
    OPENSSL_free(der);
    certgate_ocsp_request_free(req);
    assert_int_equal(certgate_ocsp_check(NULL, buf, len, 0, SKEW, -1, &res), CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, "no OCSP request given");
}

static void test_fail_and_names(void **state)
{
    struct certgate_ocsp_result res;
    char err[256];
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, NULL, err, sizeof(err));

    certgate_ocsp_fail(req, "did not answer within 5s", &res);
    assert_int_equal(res.status, CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail,
                        UNKNOWN_ "the OCSP responder at " URL " did not answer within 5s");
    assert_int_equal(res.revocation_reason, -1);
    certgate_ocsp_request_free(req);
    certgate_ocsp_fail(NULL, "is not asked while certgate stops", &res);
    assert_int_equal(res.status, CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, "revocation status is unknown: the OCSP responder is not "
                                    "asked while certgate stops");
    assert_string_equal(certgate_ocsp_status_name(CERTGATE_OCSP_GOOD), "good");
    assert_string_equal(certgate_ocsp_status_name(CERTGATE_OCSP_REVOKED), "revoked");
    assert_string_equal(certgate_ocsp_status_name(CERTGATE_OCSP_UNKNOWN), "unknown");
    assert_string_equal(certgate_ocsp_status_name(CERTGATE_OCSP_ERROR), "error");
    assert_int_equal(certgate_ocsp_reason(CERTGATE_OCSP_GOOD), CERTGATE_OK);
    assert_int_equal(certgate_ocsp_reason(CERTGATE_OCSP_REVOKED), CERTGATE_REVOKED);
    assert_int_equal(certgate_ocsp_reason(CERTGATE_OCSP_ERROR), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(certgate_ocsp_revocation_reason_name(1), "keyCompromise");
    assert_string_equal(certgate_ocsp_revocation_reason_name(10), "aACompromise");
    assert_null(certgate_ocsp_revocation_reason_name(7));
    assert_null(certgate_ocsp_revocation_reason_name(11));
    assert_null(certgate_ocsp_revocation_reason_name(-1));
}

/* The caller's OpenSSL error queue is left as it was, whatever fails inside. */
static void test_error_queue(void **state)
{
    struct certgate_ocsp_result res;
    struct rsp o = {.signer = &fx.stranger_ca};
    struct certgate_ocsp_request *req;
    char err[256];

    ERR_clear_error();
    ERR_raise(ERR_LIB_USER, 42);
    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_ERROR);
    o.signer = NULL;
    o.no_certs = o.corrupt = 1;
    assert_int_equal(judge(&o, &res), CERTGATE_OCSP_ERROR);
    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, "ftp://x", err, sizeof(err));
    assert_null(req);
    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, NULL, err, sizeof(err));
    assert_int_equal(
        certgate_ocsp_check(req, (const unsigned char *)"\x30\x03\x0a\x01", 4, 0, SKEW, -1, &res),
        CERTGATE_OCSP_ERROR);
    certgate_ocsp_request_free(req);
    assert_null(certgate_ocsp_request_new(fx.no_aia.cert, fx.ca.cert, 1, NULL, err, sizeof(err)));
    assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()), 42);
    assert_int_equal(ERR_GET_REASON(ERR_get_error()), 42);
    assert_int_equal(ERR_get_error(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_get_form),
        cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_aia_url),
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_wrong_signer),
        cmocka_unit_test(test_delegation_limits),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_certid_mismatch),
        cmocka_unit_test(test_nonce),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_not_an_answer),
        cmocka_unit_test(test_fail_and_names),
        cmocka_unit_test(test_error_queue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
