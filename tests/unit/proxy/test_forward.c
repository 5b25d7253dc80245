#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/forward.h"

#define H(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1, 0                                                      \
    }

static void test_hop_by_hop_and_connection_tokens(void **state)
{
    struct http_header h[] = {
        H("Host", "a"),                                /* 0 kept */
        H("Connection", "keep-alive, X-Secret, Host"), /* 1 */
        H("Keep-Alive", "timeout=5"),                  /* 2 */
        H("X-Secret", "named by Connection"),          /* 3 */
        H("x-secret", "twice"),                        /* 4 */
        H("TE", "trailers"),                           /* 5 */
        H("Upgrade", "h2c"),                           /* 6 */
        H("Proxy-Connection", "keep-alive"),           /* 7 */
        H("Expect", "100-continue"),                   /* 8 certgate answers it */
        H("X-Forwarded-For", "6.6.6.6"),               /* 9 replaced */
        H("x-forwarded-proto", "gopher"),              /* 10 replaced */
        H("X-Forwarded-Host", "evil"),                 /* 11 replaced */
        H("Content-Length", "3"),                      /* 12 kept */
        H("X-Secretive", "not named"),                 /* 13 kept */
        H("Accept", "*/*"),                            /* 14 kept */
    };
    static const int want[] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    struct http_request req = {.headers = h, .num_headers = 15, .max_headers = 15};
    forward_mark_hop_by_hop(&req);
    for (size_t i = 0; i < 15; i++)
        assert_int_equal(h[i].removed, want[i]);
}

static void test_connection_cannot_remove_framing(void **state)
{
    struct http_header h[] = {
        H("Connection", "Content-Length, Transfer-Encoding, host"),
        H("Transfer-Encoding", "chunked"),
        H("Host", "a"),
    };
    struct http_request req = {.headers = h, .num_headers = 3, .max_headers = 3};
    forward_mark_hop_by_hop(&req);
    assert_int_equal(h[0].removed, 1);
    assert_int_equal(h[1].removed, 0);
    assert_int_equal(h[2].removed, 0);
}

static void check_target(const char *target, const char *want)
{
    struct http_request req = {.target = target, .target_len = strlen(target)};
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(forward_target(&req, &b), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

static void test_origin_form_target(void **state)
{
    check_target("/a/b?c=d", "/a/b?c=d");
    check_target("*", "*");
    check_target("http://h.example/p?x=1", "/p?x=1");
    check_target("http://h.example?hail=all", "/?hail=all");
    check_target("HTTPS://h.example:8443", "/");
    check_target("http://h.example:1234?q", "/?q");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hop_by_hop_and_connection_tokens),
        cmocka_unit_test(test_connection_cannot_remove_framing),
        cmocka_unit_test(test_origin_form_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
