/* strip.c: every header certgate could set is gone before routing (SPEC §5 anti-spoofing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/strip.h"

static int set_has(const struct strip_set *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return 1;
    return 0;
}

static struct http_header hdr(const char *name)
{
    struct http_header h;

    memset(&h, 0, sizeof(h));
    h.name = name;
    h.name_len = strlen(name);
    h.value = "v";
    h.value_len = 1;
    return h;
}

static void test_name_match(void **state)
{
    assert_true(strip_name_match("X-ARR-ClientCert", 16, "x-arr-clientcert"));
    assert_true(strip_name_match("x_arr_CLIENTCERT", 16, "x-arr-clientcert"));
    assert_true(strip_name_match("X-ARR_ClientCert", 16, "x-arr-clientcert"));
    assert_false(strip_name_match("X-ARR-ClientCert-Foo", 20, "x-arr-clientcert"));
    assert_false(strip_name_match("X-ARR-ClientCer", 15, "x-arr-clientcert"));
    assert_false(strip_name_match("X-ARR-ClientCerts", 17, "x-arr-clientcert"));
    assert_false(strip_name_match("X.ARR.ClientCert", 16, "x-arr-clientcert"));
    /* The length given, not the NUL, bounds the raw name (it points into a buffer). */
    assert_true(strip_name_match("Client-CertXYZ", 11, "client-cert"));
    assert_false(strip_name_match("", 0, "client-cert"));
}

static void test_well_known_only(void **state)
{
    static const char *const want[] = {
        "x-arr-clientcert",
        "x-client-cert",
        "x-client-certificate",
        "x-ssl-client-cert",
        "client-cert",
        "client-cert-chain",
        "x-forwarded-client-cert",
        "x-forwarded-tls-client-cert",
        "x-forwarded-tls-client-cert-info",
    };
    struct strip_set s;
    size_t i;

    assert_int_equal(strip_set_init(&s, NULL), 0);
    /* the 9 well-known names and the 8 default identity names */
    assert_int_equal(s.n, 17);
    for (i = 0; i < 9; i++)
        assert_true(set_has(&s, want[i]));
    assert_true(set_has(&s, "x-client-cert-not-after"));
    strip_set_free(&s);
    assert_null(s.names);
    assert_int_equal(s.n, 0);
    strip_set_free(&s);
}

/* A listener with custom forward names, an empty name, renamed and disabled identity headers. */
static void test_listener_names(void **state)
{
    struct cfg_fwd_header fwd[] = {
        {"X-My_Cert", FWD_BASE64_DER, 0, 0},        /* custom, '_' normalized */
        {"", FWD_HEX, 0, 0},                        /* empty: not sent, contributes nothing */
        {"X-ARR-ClientCert", FWD_BASE64_DER, 0, 0}, /* already well-known: no duplicate */
        {"Cert-9440", FWD_RFC9440, 1, 0},
        {"Other-9440", FWD_RFC9440, 0, 0},
    };
    struct cfg_listener l;
    struct strip_set s;

    memset(&l, 0, sizeof(l));
    l.forward.headers = fwd;
    l.forward.n_headers = sizeof(fwd) / sizeof(fwd[0]);
    l.forward.identity.verify = "X-Client-Cert-Verify";
    l.forward.identity.subject = "X-Subject-DN"; /* renamed */
    l.forward.identity.issuer = NULL;            /* off */
    l.forward.identity.serial = "X-Client-Cert-Serial";
    l.forward.identity.sha1 = "X-Client-Cert-SHA1";
    l.forward.identity.sha256 = "X-Client-Cert-SHA256";
    l.forward.identity.not_before = "X-Client-Cert-Not-Before";
    l.forward.identity.not_after = "";
    assert_int_equal(strip_set_init(&s, &l), 0);
    assert_true(set_has(&s, "x-my-cert"));
    assert_true(set_has(&s, "cert-9440"));
    assert_true(set_has(&s, "cert-9440-chain"));
    assert_true(set_has(&s, "other-9440"));
    assert_false(set_has(&s, "other-9440-chain"));
    assert_true(set_has(&s, "x-client-cert-verify"));
    assert_true(set_has(&s, "x-subject-dn"));
    /* default identity names are stripped even when renamed or off */
    assert_true(set_has(&s, "x-client-cert-subject"));
    assert_true(set_has(&s, "x-client-cert-issuer"));
    assert_true(set_has(&s, "x-client-cert-sha256"));
    assert_false(set_has(&s, ""));
    /* 17 always + x-my-cert, cert-9440, cert-9440-chain, other-9440, x-subject-dn. */
    assert_int_equal(s.n, 22);
    strip_set_free(&s);
}

static void test_apply(void **state)
{
    struct cfg_fwd_header fwd[] = {{"X-My-Cert", FWD_PEM_URLENCODED, 0, 0}};
    struct cfg_listener l;
    struct strip_set s;
    struct http_header h[] = {
        hdr("Host"),                             /* 0 kept */
        hdr("x-arr-clientcert"),                 /* 1 */
        hdr("X_ARR_CLIENTCERT"),                 /* 2 duplicate, other spelling */
        hdr("X-ARR-ClientCert"),                 /* 3 */
        hdr("X-ARR-ClientCert-Foo"),             /* 4 kept: only a prefix */
        hdr("x_forwarded_tls_client_cert_info"), /* 5 */
        hdr("X-MY-CERT"),                        /* 6 custom forward name */
        hdr("X-Subject-DN"),                     /* 7 renamed identity header */
        hdr("X-Client-Cert-Subject"),            /* 8 default name, renamed: still stripped */
        hdr("x-client-cert-verify"),             /* 9 */
        hdr("Client-Cert-Chain"),                /* 10 */
        hdr("Client-Cert"),                      /* 11 already removed: not counted */
        hdr("Accept"),                           /* 12 kept */
    };
    size_t n = sizeof(h) / sizeof(h[0]), i;
    static const int want[] = {0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0};

    memset(&l, 0, sizeof(l));
    l.forward.headers = fwd;
    l.forward.n_headers = 1;
    l.forward.identity.verify = "X-Client-Cert-Verify";
    l.forward.identity.subject = "X-Subject-DN";
    h[11].removed = 1;
    assert_int_equal(strip_set_init(&s, &l), 0);
    assert_int_equal(strip_apply(&s, h, n), 9);
    for (i = 0; i < n; i++)
        assert_int_equal(h[i].removed, want[i]);
    /* Idempotent: a second pass finds nothing new. */
    assert_int_equal(strip_apply(&s, h, n), 0);
    strip_set_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_match),
        cmocka_unit_test(test_well_known_only),
        cmocka_unit_test(test_listener_names),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
