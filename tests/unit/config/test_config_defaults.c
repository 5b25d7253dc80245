/* config_defaults: the values a listener starts from (SPEC §5, §9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config_internal.h"

static void test_listener_defaults(void **state)
{
    struct cfg_listener l;

    memset(&l, 0xff, sizeof(l));
    cfg_listener_defaults(&l);
    assert_int_equal(l.timeouts.handshake, 10000);
    assert_int_equal(l.timeouts.header, 10000);
    assert_int_equal(l.timeouts.idle, 60000);
    assert_int_equal(l.timeouts.connect, 5000);
    assert_int_equal(l.timeouts.response, 60000);
    assert_int_equal(l.limits.request_line, 8192);
    assert_int_equal(l.limits.header_bytes, 32768);
    assert_int_equal(l.limits.headers, 100);
    assert_int_equal(l.limits.connections, 10000);
    assert_int_equal(l.timeouts.body, 20000);
    assert_int_equal(l.limits.body_min_rate, 500);
    assert_int_equal(l.client_auth.mode, CA_IGNORE);
    assert_int_equal(l.client_auth.on_failure, ON_FAILURE_HTTP);
}

static void test_forward_defaults(void **state)
{
    struct cfg_forward f = {0};

    assert_int_equal(cfg_forward_defaults(&f), 0);
    /* a second call replaces the first without leaking (ASan checks) */
    assert_int_equal(cfg_forward_defaults(&f), 0);
    assert_int_equal(f.n_headers, 1);
    assert_string_equal(f.headers[0].name, "X-ARR-ClientCert");
    assert_int_equal(f.headers[0].format, FWD_BASE64_DER);
    assert_int_equal(f.headers[0].chain, 0);
    assert_string_equal(f.identity.verify, "X-Client-Cert-Verify");
    assert_string_equal(f.identity.subject, "X-Client-Cert-Subject");
    assert_string_equal(f.identity.issuer, "X-Client-Cert-Issuer");
    assert_string_equal(f.identity.serial, "X-Client-Cert-Serial");
    assert_string_equal(f.identity.sha1, "X-Client-Cert-SHA1");
    assert_string_equal(f.identity.sha256, "X-Client-Cert-SHA256");
    assert_string_equal(f.identity.not_before, "X-Client-Cert-Not-Before");
    assert_string_equal(f.identity.not_after, "X-Client-Cert-Not-After");
    cfg_identity_clear(&f.identity);
    assert_null(f.identity.verify);
    assert_null(f.identity.not_after);
    assert_int_equal(cfg_identity_defaults(&f.identity), 0);
    assert_string_equal(f.identity.sha256, "X-Client-Cert-SHA256");
    cfg_forward_clear(&f);
    assert_null(f.headers);
    assert_int_equal(f.n_headers, 0);
    assert_null(f.identity.subject);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listener_defaults),
        cmocka_unit_test(test_forward_defaults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
