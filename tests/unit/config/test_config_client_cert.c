/* config_client_cert: the header source of a listener and its trusted proxies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <certgate/certgate.h>

#include "config/cfg_test.h"
#include "config/config.h"

#define L "listeners:\n  - name: a\n    address: :1\n"

static void test_cidr(void **state)
{
    struct cfg_cidr c;
    assert_int_equal(config_parse_cidr("10.0.0.0/8", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(c.addr[0], 10);
    assert_int_equal(config_parse_cidr("127.0.0.1", &c), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(config_parse_cidr("fd00::/8", &c), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(config_parse_cidr("::1", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(config_parse_cidr("10.1.2.3/8", &c), -1); /* host bits set */
    assert_int_equal(config_parse_cidr("10.0.0.0/33", &c), -1);
    assert_int_equal(config_parse_cidr("10.0.0.0/", &c), -1);
    assert_int_equal(config_parse_cidr("gateway.local", &c), -1);
    assert_int_equal(config_parse_cidr("", &c), -1);
}

static void test_loads(void **state)
{
    struct cfg_error err;
    struct config *cfg = cfg_test_load(
        L "    client_cert: {source: header, header: X-Gateway-Cert, format: pem-urlencoded,\n"
          "                  trusted_proxies: [10.0.0.0/8, \"fd00::/8\"], trusted_ca: ca.pem}\n",
        &err);
    assert_non_null(cfg);
    const struct cfg_client_cert *cc = &cfg->listeners[0].client_cert;
    assert_int_equal(cc->from_header, 1);
    assert_string_equal(cc->header, "X-Gateway-Cert");
    assert_int_equal(cc->format, CERTGATE_FMT_PEM_URLENCODED);
    assert_int_equal(cc->n_trusted_proxies, 2);
    assert_int_equal(cc->trusted_proxies[1].family, AF_INET6);
    assert_non_null(cc->auth.policy);
    assert_int_equal(cc->auth.policy_inline, 1);
    assert_int_equal(cc->auth.policy->n_trusted_ca, 1);
    config_free(cfg);
    /* defaults: X-ARR-ClientCert, auto */
    cfg = cfg_test_load(L "    client_cert: {source: header, trusted_proxies: 127.0.0.1}\n", &err);
    assert_non_null(cfg);
    assert_string_equal(cfg->listeners[0].client_cert.header, "X-ARR-ClientCert");
    assert_int_equal(cfg->listeners[0].client_cert.format, CERTGATE_FMT_AUTO);
    config_free(cfg);
}

static void test_errors(void **state)
{
    cfg_expect_err(L "    client_cert: {source: header}\n",
                   "c.yaml:4:18: 'client_cert' with source 'header' needs 'trusted_proxies': the "
                   "header is believed only from them");
    cfg_expect_err(L "    client_cert: {source: tls}\n",
                   "c.yaml:4:27: 'client_cert' with source 'tls' is the default: leave "
                   "'client_cert' out, or set source: header");
    cfg_expect_err(L "    client_cert: {source: gateway, trusted_proxies: [1.2.3.4]}\n",
                   "c.yaml:4:27: invalid value 'gateway' for 'source' (valid: tls, header)");
    cfg_expect_err(L "    client_cert: {source: header, trusted_proxies: [10.1.0.0/8]}\n",
                   "c.yaml:4:53: '10.1.0.0/8' is not an IPv4/IPv6 address or network (like "
                   "10.0.0.0/8 or fd00::/8, host bits zero)");
    cfg_expect_err(L
                   "    client_cert: {source: header, format: der, trusted_proxies: [127.0.0.1]}\n",
                   "c.yaml:4:43: invalid value 'der' for 'format' (valid: auto, base64-der, "
                   "pem-urlencoded, hex, rfc9440, xfcc)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_loads),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
