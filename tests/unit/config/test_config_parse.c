/* config_parse: durations, sizes, addresses, URLs, header names, paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config_internal.h"

static void ok_duration(const char *s, uint64_t want)
{
    uint64_t ms = 12345;

    assert_int_equal(config_parse_duration(s, &ms), 0);
    assert_int_equal(ms, want);
}

static void bad_duration(const char *s)
{
    uint64_t ms = 12345;

    assert_int_equal(config_parse_duration(s, &ms), -1);
    assert_int_equal(ms, 12345);
}

static void test_duration(void **state)
{
    ok_duration("500ms", 500);
    ok_duration("30s", 30000);
    ok_duration("5m", 300000);
    ok_duration("1h", 3600000);
    ok_duration("1m30s", 90000);
    ok_duration("1h1ms", 3600001);
    ok_duration("0s", 0);
    ok_duration("007s", 7000);
    bad_duration("");
    bad_duration("10"); /* a bare number: seconds for nginx, ms for HAProxy */
    bad_duration("0");
    bad_duration("s");
    bad_duration("1.5s"); /* fractions are not supported */
    bad_duration("-1s");
    bad_duration("10 s");
    bad_duration(" 10s");
    bad_duration("10sec");
    bad_duration("10S");
    bad_duration("1d");
    bad_duration("5mss");
    bad_duration("1m30");
    bad_duration("18446744073709551616ms"); /* 2^64 */
    bad_duration("18446744073709552s");     /* overflows once multiplied */
    ok_duration("18446744073709551615ms", UINT64_MAX);
    bad_duration("18446744073709551615ms1ms");
}

static void ok_size(const char *s, size_t want)
{
    size_t v = 777;

    assert_int_equal(config_parse_size(s, &v), 0);
    assert_int_equal(v, want);
}

static void bad_size(const char *s)
{
    size_t v = 777;

    assert_int_equal(config_parse_size(s, &v), -1);
    assert_int_equal(v, 777);
}

static void test_size(void **state)
{
    ok_size("4096", 4096);
    ok_size("0", 0);
    ok_size("32KiB", 32768);
    ok_size("16k", 16384);
    ok_size("16K", 16384);
    ok_size("1MiB", 1048576);
    ok_size("2m", 2097152);
    ok_size("2M", 2097152);
    ok_size("1GiB", 1073741824);
    ok_size("1g", 1073741824);
    ok_size("1G", 1073741824);
    bad_size("");
    bad_size("16KB"); /* KB is 1000 to some and 1024 to others */
    bad_size("1MB");
    bad_size("16kb");
    bad_size("16 KiB");
    bad_size("KiB");
    bad_size("-1");
    bad_size("1.5KiB");
    bad_size("1TiB");
    bad_size("18446744073709551616");
    bad_size("18014398509481984KiB"); /* 2^54 KiB = 2^64 bytes */
}

static void ok_addr(const char *s, const char *host, int port)
{
    char *h = NULL;
    int p = -1;

    assert_int_equal(config_parse_address(s, &h, &p), 0);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
    free(h);
}

static void bad_addr(const char *s, const char *why_want)
{
    char *h = NULL;
    int p = -1;
    const char *why = NULL;

    assert_int_equal(cfg_parse_address_why(s, &h, &p, &why), -1);
    assert_null(h);
    assert_string_equal(why, why_want);
    assert_int_equal(config_parse_address(s, &h, &p), -1);
}

static void test_address(void **state)
{
    ok_addr("127.0.0.1:8443", "127.0.0.1", 8443);
    ok_addr("0.0.0.0:1", "0.0.0.0", 1);
    ok_addr("[::1]:8443", "::1", 8443);
    ok_addr("[::]:65535", "::", 65535);
    ok_addr("[2001:db8::1]:443", "2001:db8::1", 443);
    ok_addr(":8443", "0.0.0.0", 8443);
    ok_addr("localhost:80", "127.0.0.1", 80);
    bad_addr("", "empty address");
    bad_addr("127.0.0.1", "missing ':port'");
    bad_addr("127.0.0.1:", "missing port");
    bad_addr("127.0.0.1:0", "port must be a number from 1 to 65535");
    bad_addr("127.0.0.1:65536", "port must be a number from 1 to 65535");
    bad_addr("127.0.0.1:008443", "port must be a number from 1 to 65535");
    bad_addr("127.0.0.1:-1", "port must be a number from 1 to 65535");
    bad_addr("127.0.0.1:80x", "port must be a number from 1 to 65535");
    bad_addr("::1:8443", "an IPv6 address must be written in brackets, as [::1]:8443");
    bad_addr("[::1]8443", "missing ':port' after ']'");
    bad_addr("[::1:8443", "missing ']' after the IPv6 address");
    bad_addr("[127.0.0.1]:80", "invalid IPv6 address");
    bad_addr("example.com:443", "host must be an IP address (or localhost), IPv6 in brackets");
    bad_addr("256.0.0.1:443", "host must be an IP address (or localhost), IPv6 in brackets");
}

static void ok_url(const char *s, int tls, const char *host, int port)
{
    char *h = NULL;
    int t = -1, p = -1;

    assert_int_equal(config_parse_url(s, &t, &h, &p), 0);
    assert_int_equal(t, tls);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
    free(h);
}

static void bad_url(const char *s, const char *why_want)
{
    char *h = NULL;
    int t, p;
    const char *why = NULL;

    assert_int_equal(cfg_parse_url_why(s, &t, &h, &p, &why), -1);
    assert_null(h);
    assert_string_equal(why, why_want);
}

static void test_url(void **state)
{
    ok_url("http://127.0.0.1:3000", 0, "127.0.0.1", 3000);
    ok_url("https://10.0.0.5:443", 1, "10.0.0.5", 443);
    ok_url("http://app.internal", 0, "app.internal", 80);
    ok_url("https://app.internal/", 1, "app.internal", 443);
    ok_url("https://[::1]:8443/", 1, "::1", 8443);
    ok_url("HTTP://x:1", 0, "x", 1);
    bad_url("ftp://x", "the URL must start with http:// or https://");
    bad_url("127.0.0.1:3000", "the URL must start with http:// or https://");
    bad_url("http://x/api", "a backend URL cannot carry a path, query or fragment");
    bad_url("http://x?a=1", "a backend URL cannot carry a path, query or fragment");
    bad_url("http://u:p@x", "user info in a backend URL is not supported");
    bad_url("http://", "invalid host");
    bad_url("http://:80", "invalid host");
    bad_url("http://a b", "invalid host");
    bad_url("http://[::1", "missing ']' after the IPv6 address");
    bad_url("http://[zz]:80", "invalid host");
    bad_url("http://x:0", "port must be a number from 1 to 65535");
    bad_url("http://x:", "missing port");
    bad_url("http://x:123456789", "port must be a number from 1 to 65535");
    bad_url("http://[::1]x", "port must be a number from 1 to 65535");
}

static void test_header_name(void **state)
{
    assert_true(cfg_header_name_ok("X-ARR-ClientCert"));
    assert_true(cfg_header_name_ok("x_y.z~!#$%&'*+^`|"));
    assert_false(cfg_header_name_ok(""));
    assert_false(cfg_header_name_ok("X Cert"));
    assert_false(cfg_header_name_ok("X-Cert:"));
    assert_false(cfg_header_name_ok("X-Cert\r\n"));
    assert_false(cfg_header_name_ok("X(Cert)"));
    assert_false(cfg_header_name_ok("\xc3\xa9"));
}

static void test_abspath(void **state)
{
    char *p;

    p = cfg_abspath("/etc/certgate", "server.pem");
    assert_string_equal(p, "/etc/certgate/server.pem");
    free(p);
    p = cfg_abspath("/etc/certgate", "/abs/server.pem");
    assert_string_equal(p, "/abs/server.pem");
    free(p);
    p = cfg_abspath("/", "x"); /* a config file in / */
    assert_string_equal(p, "/x");
    free(p);
}

static void test_addr_conflict(void **state)
{
    assert_true(cfg_addr_conflict("127.0.0.1", 80, "127.0.0.1", 80));
    assert_true(cfg_addr_conflict("0.0.0.0", 80, "127.0.0.1", 80));
    assert_true(cfg_addr_conflict("127.0.0.1", 80, "0.0.0.0", 80));
    assert_true(cfg_addr_conflict("::", 80, "::1", 80));
    assert_true(cfg_addr_conflict("::1", 80, "0:0::1", 80));
    assert_false(cfg_addr_conflict("127.0.0.1", 80, "127.0.0.1", 81));
    assert_false(cfg_addr_conflict("127.0.0.1", 80, "127.0.0.2", 80));
    assert_false(cfg_addr_conflict("0.0.0.0", 80, "::1", 80));
    assert_false(cfg_addr_conflict("::1", 80, "::2", 80));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),      cmocka_unit_test(test_size),
        cmocka_unit_test(test_address),       cmocka_unit_test(test_url),
        cmocka_unit_test(test_header_name),   cmocka_unit_test(test_abspath),
        cmocka_unit_test(test_addr_conflict),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
