/* ocsp_staple.c: what may be stapled (verified, current, good or revoked), when it is fetched
 * again, and the staple's life: first response, failures that keep it, expiry, a reload's twin
 * that borrows it, release. Responses are built here with OpenSSL's OCSP_* API. */
#include "lib/pki_util.c"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "revocation/ocsp_staple.h"

#define URL  "http://127.0.0.1:8889/ocsp"
#define HOUR 3600

static struct {
    struct pki_node ca, leaf, no_aia, stranger;
    uv_loop_t loop;
    uv_async_t wake;
} fx;

static void on_wake(uv_async_t *a)
{
}

static int setup(void **state)
{
    struct pki_opts ca = {.key = "ec:P-256#ca", .ca = 1};
    struct pki_opts stranger = {.key = "ec:P-256#stranger", .ca = 1};
    struct pki_opts server = {.eku = "serverAuth", .san = "DNS:localhost"};

    fx.ca = pki_issue("/CN=Staple CA", NULL, &ca);
    fx.stranger = pki_issue("/CN=Stranger CA", NULL, &stranger);
    fx.leaf = pki_issue("/CN=localhost", &fx.ca, &server);
    fx.leaf.cert = pki_with_aia(fx.leaf.cert, &fx.ca, "OCSP;URI:" URL);
    fx.no_aia = pki_issue("/CN=no-aia", &fx.ca, &server);
    uv_loop_init(&fx.loop);
    uv_async_init(&fx.loop, &fx.wake, on_wake);
    return 0;
}

static int teardown(void **state)
{
    pki_node_free(&fx.ca);
    pki_node_free(&fx.stranger);
    pki_node_free(&fx.leaf);
    pki_node_free(&fx.no_aia);
    pki_keys_free();
    uv_close((uv_handle_t *)&fx.wake, NULL);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    uv_loop_close(&fx.loop);
    return 0;
}

/* A response about the leaf: <status>, thisUpdate <this_update>, nextUpdate <next_update> (0 =
 * none), signed by <signer> (NULL: the CA). */
static unsigned char *response(int status, time_t this_update, time_t next_update,
                               const struct pki_node *signer, size_t *len)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, fx.leaf.cert, fx.ca.cert);
    ASN1_TIME *thisu = ASN1_TIME_set(NULL, this_update);
    ASN1_TIME *nextu = next_update ? ASN1_TIME_set(NULL, next_update) : NULL;
    ASN1_TIME *revt = status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, this_update) : NULL;
    unsigned char *der = NULL;
    OCSP_RESPONSE *r;
    int n;

    signer = signer ? signer : &fx.ca;
    assert_non_null(OCSP_basic_add1_status(bs, id, status, revt ? 1 : -1, revt, thisu, nextu));
    assert_true(OCSP_basic_sign(bs, signer->cert, signer->key, EVP_sha256(), NULL, 0));
    r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    n = i2d_OCSP_RESPONSE(r, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    OCSP_RESPONSE_free(r);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(thisu);
    ASN1_TIME_free(nextu);
    ASN1_TIME_free(revt);
    return der;
}

static struct certgate_ocsp_request *request(void)
{
    char err[256];
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 0, NULL, err, sizeof(err));

    assert_non_null(req);
    return req;
}

/* ocsp_staple_judge of a response built with these, at <now>. */
static enum certgate_ocsp_status judged(int status, time_t thisu, time_t nextu,
                                        const struct pki_node *signer, time_t now,
                                        struct certgate_ocsp_result *res)
{
    struct certgate_ocsp_request *req = request();
    size_t len;
    unsigned char *der = response(status, thisu, nextu, signer, &len);
    enum certgate_ocsp_status s = ocsp_staple_judge(req, der, len, now, res);

    OPENSSL_free(der);
    certgate_ocsp_request_free(req);
    return s;
}

static void test_judge(void **state)
{
    struct certgate_ocsp_result res;
    time_t t = pki_utc("20260101000000Z");

    assert_int_equal(judged(V_OCSP_CERTSTATUS_GOOD, t - HOUR, t + HOUR, NULL, t, &res),
                     CERTGATE_OCSP_GOOD);
    assert_int_equal(judged(V_OCSP_CERTSTATUS_GOOD, t - HOUR, 0, NULL, t, &res),
                     CERTGATE_OCSP_GOOD);
    assert_int_equal(judged(V_OCSP_CERTSTATUS_REVOKED, t - HOUR, t + HOUR, NULL, t, &res),
                     CERTGATE_OCSP_REVOKED);
    assert_int_equal(judged(V_OCSP_CERTSTATUS_UNKNOWN, t - HOUR, t + HOUR, NULL, t, &res),
                     CERTGATE_OCSP_UNKNOWN);
    /* the client-side check allows 300 s past nextUpdate; a staple never is */
    assert_int_equal(judged(V_OCSP_CERTSTATUS_GOOD, t - HOUR, t, NULL, t, &res),
                     CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, "the OCSP response from " URL
                                    " expired on 2026-01-01T00:00:00Z (its nextUpdate)");
    /* and a revocation out of its window is not stapled either */
    assert_int_equal(judged(V_OCSP_CERTSTATUS_REVOKED, t - 2 * HOUR, t - HOUR, NULL, t, &res),
                     CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, "the OCSP response from " URL
                                    " expired on 2025-12-31T23:00:00Z (its nextUpdate)");
    assert_int_equal(judged(V_OCSP_CERTSTATUS_REVOKED, t + HOUR, t + 2 * HOUR, NULL, t, &res),
                     CERTGATE_OCSP_ERROR);
    assert_string_equal(res.detail, "the OCSP response from " URL
                                    " is not valid before 2026-01-01T01:00:00Z (its thisUpdate; "
                                    "compare the clocks)");
    /* signed by another CA: the client-side check's sentence */
    assert_int_equal(judged(V_OCSP_CERTSTATUS_GOOD, t - HOUR, t + HOUR, &fx.stranger, t, &res),
                     CERTGATE_OCSP_ERROR);
    assert_non_null(strstr(res.detail, "is not signed by the issuer 'CN=Staple CA'"));
}

static void test_refresh(void **state)
{
    time_t t = pki_utc("20260101000000Z");

    assert_int_equal(ocsp_staple_refresh_ms(t, 0), 3600000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 600), 300000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 90), 60000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t - 10), 60000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 60), 30000); /* before it lapses */
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 30), 15000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 1), 1000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 7 * 24 * HOUR), 3600000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 2 * HOUR), 3600000);
    assert_int_equal(ocsp_staple_refresh_ms(t, t + 40 * 60), 1200000);
}

static struct ocsp_staple *staple(X509 *leaf, const char *url)
{
    struct staple_options o = {url, 5000, 30000, "web"};
    char err[256];
    struct ocsp_staple *st = ocsp_staple_new(leaf, fx.ca.cert, &o, err, sizeof(err));

    if (st == NULL)
        fail_msg("%s", err);
    return st;
}

static void test_new(void **state)
{
    struct staple_options o = {NULL, 0, 0, "web"};
    char err[256];

    assert_null(ocsp_staple_new(fx.no_aia.cert, fx.ca.cert, &o, err, sizeof(err)));
    assert_string_equal(err, "certificate 'CN=no-aia' names no OCSP responder (no OCSP URL in its "
                             "authorityInfoAccess)");
    struct ocsp_staple *st = staple(fx.no_aia.cert, URL);
    assert_string_equal(ocsp_staple_subject(st), "CN=no-aia");
    assert_string_equal(certgate_ocsp_request_url(ocsp_staple_request(st)), URL);
    assert_int_equal(ocsp_staple_timeout_ms(st), 5000);
    ocsp_staple_release(st); /* never registered: freed at once */
}

/* The one staple due at <at>, or NULL; *next gets the wait until the next one. */
static struct ocsp_staple *due(struct staple_list *l, uint64_t at, uint64_t *next)
{
    struct ocsp_staple *out[4];
    size_t n = staple_list_due(l, at, out, 4, next);

    assert_true(n <= 1);
    return n ? out[0] : NULL;
}

static void assert_copy(struct ocsp_staple *st, time_t now, const unsigned char *der, size_t len)
{
    size_t got = 0;
    unsigned char *copy = ocsp_staple_copy(st, now, &got);

    assert_non_null(copy);
    assert_int_equal(got, len);
    assert_memory_equal(copy, der, len);
    OPENSSL_free(copy);
}

static void test_life(void **state)
{
    struct staple_list *l = staple_list_new(&fx.wake);
    struct ocsp_staple *st = staple(fx.leaf.cert, NULL), *twin;
    time_t now = time(NULL);
    size_t len, len2, n;
    unsigned char *der = response(V_OCSP_CERTSTATUS_GOOD, now - 60, now + 3 * HOUR, NULL, &len);
    unsigned char *bad =
        response(V_OCSP_CERTSTATUS_GOOD, now - 60, now + 3 * HOUR, &fx.stranger, &len2);
    uint64_t next;

    staple_list_add(l, st);
    assert_null(ocsp_staple_copy(st, now, &n));
    assert_int_equal(ocsp_staple_valid(st, now), 0);
    /* due at once, and not again while in flight */
    assert_ptr_equal(due(l, 1000, &next), st);
    assert_null(due(l, 1000, &next));
    assert_true(next == UINT64_MAX);
    ocsp_staple_fetched(st, der, len, NULL, 1000);
    assert_copy(st, now, der, len);
    assert_int_equal(ocsp_staple_valid(st, now), 1);
    /* fetched again halfway to nextUpdate, at most an hour later */
    assert_null(due(l, 1000 + 3599999, &next));
    assert_int_equal(next, 1);
    assert_ptr_equal(due(l, 1000 + 3600000, &next), st);
    /* a refused response keeps the current one; retried after the retry time (30 s) */
    ocsp_staple_fetched(st, bad, len2, NULL, 4000000);
    assert_copy(st, now, der, len);
    assert_null(due(l, 4000000 + 29999, &next));
    assert_ptr_equal(due(l, 4000000 + 30000, &next), st);
    ocsp_staple_fetched(st, NULL, 0, "cannot be reached (connection refused)", 4030000);
    assert_copy(st, now, der, len);
    /* never stapled from its nextUpdate on */
    assert_null(ocsp_staple_copy(st, now + 3 * HOUR, &n));
    assert_int_equal(ocsp_staple_valid(st, now + 3 * HOUR), 0);
    /* a reload's twin (same certificate, issuer and responder) staples at once */
    twin = staple(fx.leaf.cert, NULL);
    staple_list_add(l, twin);
    assert_copy(twin, now, der, len);
    /* only the newest of the two is fetched from now on */
    assert_ptr_equal(due(l, 4030001, &next), twin);
    assert_null(due(l, 1000000000, &next));
    /* released: dropped by the list at its next look (ASan/valgrind see the frees) */
    ocsp_staple_release(st);
    ocsp_staple_fetched(twin, NULL, 0, "cannot be reached (connection refused)", 4030001);
    assert_copy(twin, now, der, len);
    ocsp_staple_release(twin);
    assert_null(due(l, 1000000000, &next));
    assert_true(next == UINT64_MAX);
    staple_list_free(l);
    OPENSSL_free(der);
    OPENSSL_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_life),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
