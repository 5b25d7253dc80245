/* Unit tests for src/http/http_body.c: Content-Length, chunked and until-close framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_parse.h"

struct sink {
    char data[16384];
    size_t len;
    int calls;
};

static void collect(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    assert_true(len > 0);
    assert_true(s->len + len <= sizeof(s->data));
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->calls++;
}

static void test_none(void **state)
{
    struct http_body_state st;
    struct sink s = {.len = 0};
    http_body_init(&st, HTTP_BODY_NONE, 99);
    assert_int_equal(st.done, 1);
    assert_int_equal(http_body_feed(&st, "GET / HTTP/1.1\r\n", 16, collect, &s), 0);
    assert_int_equal(s.calls, 0);
}

static void test_length(void **state)
{
    struct http_body_state st;
    struct sink s = {.len = 0};
    http_body_init(&st, HTTP_BODY_LENGTH, 5);
    assert_int_equal(st.done, 0);
    assert_int_equal(st.remaining, 5);
    assert_int_equal(http_body_feed(&st, "he", 2, collect, &s), 2);
    assert_int_equal(st.remaining, 3);
    assert_int_equal(st.done, 0);
    assert_int_equal(http_body_feed(&st, "", 0, collect, &s), 0);
    assert_int_equal(http_body_feed(&st, "lloNEXT", 7, collect, &s), 3);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.remaining, 0);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.data, "hello", 5);
    assert_int_equal(http_body_feed(&st, "NEXT", 4, collect, &s), 0);
    assert_int_equal(s.calls, 2);

    http_body_init(&st, HTTP_BODY_LENGTH, 0);
    assert_int_equal(st.done, 1);
    assert_int_equal(http_body_feed(&st, "x", 1, NULL, NULL), 0);

    http_body_init(&st, HTTP_BODY_LENGTH, UINT64_C(1) << 62);
    assert_int_equal(http_body_feed(&st, "abc", 3, NULL, NULL), 3);
    assert_true(st.remaining == (UINT64_C(1) << 62) - 3);
}

static void test_until_eof(void **state)
{
    struct http_body_state st;
    struct sink s = {.len = 0};
    http_body_init(&st, HTTP_BODY_UNTIL_EOF, 0);
    assert_int_equal(st.done, 0);
    assert_int_equal(http_body_feed(&st, "abc", 3, collect, &s), 3);
    assert_int_equal(http_body_feed(&st, "\r\n0\r\n\r\n", 7, collect, &s), 7);
    assert_int_equal(st.done, 0);
    assert_int_equal(s.len, 10);
    assert_memory_equal(s.data, "abc\r\n0\r\n\r\n", 10);
}

/* Feed <in> whole; expect <consumed> bytes used, <out> decoded, and done. */
static void check_chunked(const char *in, size_t len, long consumed, const char *out)
{
    struct http_body_state st;
    struct sink s = {.len = 0};
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    long rc = http_body_feed(&st, in, len, collect, &s);
    if (rc != consumed)
        fail_msg("%s: consumed %ld, want %ld", in, rc, consumed);
    if (consumed < 0)
        return;
    assert_int_equal(st.done, 1);
    assert_int_equal(s.len, strlen(out));
    assert_memory_equal(s.data, out, s.len);
}

#define CHUNKED_OK(lit, next, out)                                                                 \
    check_chunked(lit next, sizeof(lit next) - 1, sizeof(lit) - 1, out)
#define CHUNKED_BAD(lit) check_chunked(lit, sizeof(lit) - 1, -1, NULL)

static void test_chunked_valid(void **state)
{
    CHUNKED_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "GET / HTTP/1.1\r\n", "hello world");
    CHUNKED_OK("0\r\n\r\n", "", "");
    CHUNKED_OK("000\r\n\r\n", "x", "");
    CHUNKED_OK("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", "", "01234567890123456789");
    CHUNKED_OK("5;a\r\nhello\r\n0;b=c\r\n\r\n", "", "hello");
    CHUNKED_OK("5 ;a=\"q \\\"x\\\" ;\" ; b = c;d\r\nhello\r\n0\r\n\r\n", "", "hello");
    CHUNKED_OK("5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n"
               "0\r\n\r\n",
               "", "hello");
    CHUNKED_OK("1\r\nx\r\n0\r\nVary: *\r\nX-T: a b\t\xff\r\nEmpty:\r\n\r\n", "NEXT", "x");
}

static void test_chunked_invalid(void **state)
{
    CHUNKED_BAD("g\r\n");
    CHUNKED_BAD("\r\n");
    CHUNKED_BAD(" 5\r\n");
    CHUNKED_BAD("-1\r\n");
    CHUNKED_BAD("0x5\r\n");
    CHUNKED_BAD("+5\r\n");
    CHUNKED_BAD("5 \r\n"); /* whitespace not followed by ";" */
    CHUNKED_BAD("5 x\r\n");
    CHUNKED_BAD("5\n");             /* bare LF */
    CHUNKED_BAD("5\rx");            /* bare CR */
    CHUNKED_BAD("5\r\nhelloX\r\n"); /* data not followed by CRLF */
    CHUNKED_BAD("5\r\nhello\n0\r\n\r\n");
    CHUNKED_BAD("5\r\nhelloX\n0\r\n\r\n");
    CHUNKED_BAD("5\r\nhello\r0\r\n\r\n");
    CHUNKED_BAD("5;\r\nhello\r\n");
    CHUNKED_BAD("5;=x\r\nhello\r\n");
    CHUNKED_BAD("5;a=\r\nhello\r\n");
    CHUNKED_BAD("5;a \r\nhello\r\n");
    CHUNKED_BAD("5;a=b \r\nhello\r\n");
    CHUNKED_BAD("5;a=\"x\r\nhello\r\n");
    CHUNKED_BAD("5;a=\"x\"y\r\nhello\r\n");
    CHUNKED_BAD("5;a=\"\x01\"\r\nhello\r\n");
    CHUNKED_BAD("5;a@b\r\nhello\r\n");
    CHUNKED_BAD("0\r\n\n");
    CHUNKED_BAD("0\r\n\rx");
    CHUNKED_BAD("0\r\nA: b\n\r\n");
    CHUNKED_BAD("0\r\nA: b\r\n c\r\n\r\n"); /* obs-fold in a trailer */
    CHUNKED_BAD("0\r\n: v\r\n\r\n");
    CHUNKED_BAD("0\r\nA : v\r\n\r\n");
    CHUNKED_BAD("0\r\nA\r\n\r\n");
    CHUNKED_BAD("0\r\nA: \0\r\n\r\n");
}

static void test_chunked_size_bounds(void **state)
{
    struct http_body_state st;
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    assert_int_equal(http_body_feed(&st, "FFFFFFFFFFFFFFFF\r\nab", 20, NULL, NULL), 20);
    assert_true(st.remaining == UINT64_MAX - 2);
    assert_int_equal(st.done, 0);

    CHUNKED_BAD("10000000000000000\r\n");
    CHUNKED_BAD("00000000000000001\r\n"); /* 17 digits, leading zeros included */
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    assert_int_equal(http_body_feed(&st, "0000000000000001\r\nx\r\n", 21, NULL, NULL), 21);
}

/* A size line of exactly <n> bytes (CRLF excluded) made of "1;" and an extension name. */
static long feed_size_line(size_t n)
{
    static char buf[8192];
    struct http_body_state st;
    memcpy(buf, "1;", 2);
    memset(buf + 2, 'e', n - 2);
    memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    return http_body_feed(&st, buf, n + 10, NULL, NULL);
}

static long feed_trailers(size_t n)
{
    static char buf[16384];
    struct http_body_state st;
    size_t len = 0;
    memcpy(buf, "0\r\n", 3);
    len = 3;
    /* one trailer line of n bytes including its CRLF */
    memcpy(buf + len, "T:", 2);
    memset(buf + len + 2, 'v', n - 4);
    memcpy(buf + len + n - 2, "\r\n\r\n", 4);
    len += n + 2;
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    return http_body_feed(&st, buf, len, NULL, NULL);
}

static void test_chunked_line_bounds(void **state)
{
    assert_int_equal(feed_size_line(4096), 4096 + 10);
    assert_int_equal(feed_size_line(4097), -1);
    /* refused when the 4097th byte arrives, without waiting for the CRLF */
    struct http_body_state st;
    char line[4097];
    memset(line, '0', 16);
    memset(line + 16, ';', 1);
    memset(line + 17, 'e', sizeof(line) - 17);
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    assert_int_equal(http_body_feed(&st, line, 4096, NULL, NULL), 4096);
    assert_int_equal(http_body_feed(&st, line + 4096, 1, NULL, NULL), -1);
    assert_int_equal(feed_trailers(8192), 3 + 8192 + 2);
    assert_int_equal(feed_trailers(8193), -1);
}

static const char *const splits[] = {
    "5\r\nhello\r\n6;x=\"a;b\"\r\n world\r\n0\r\nT: v\r\nU:\r\n\r\n",
    "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n",
    "0\r\n\r\n",
};

/* Split at every offset, and byte by byte: same bytes consumed, same data, done at the end. */
static void test_chunked_every_split(void **state)
{
    for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
        const char *in = splits[k];
        size_t len = strlen(in);
        struct sink whole = {.len = 0};
        struct http_body_state st;
        http_body_init(&st, HTTP_BODY_CHUNKED, 0);
        assert_int_equal(http_body_feed(&st, in, len, collect, &whole), len);
        assert_int_equal(st.done, 1);

        for (size_t cut = 0; cut <= len; cut++) {
            struct sink s = {.len = 0};
            http_body_init(&st, HTTP_BODY_CHUNKED, 0);
            long a = http_body_feed(&st, in, cut, collect, &s);
            assert_int_equal(a, cut);
            assert_int_equal(st.done, cut == len);
            long b = http_body_feed(&st, in + cut, len - cut, collect, &s);
            assert_int_equal(b, len - cut);
            assert_int_equal(st.done, 1);
            assert_int_equal(s.len, whole.len);
            assert_memory_equal(s.data, whole.data, s.len);
        }
        struct sink s = {.len = 0};
        http_body_init(&st, HTTP_BODY_CHUNKED, 0);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(st.done, 0);
            assert_int_equal(http_body_feed(&st, in + i, 1, collect, &s), 1);
        }
        assert_int_equal(st.done, 1);
        assert_int_equal(s.len, whole.len);
        assert_memory_equal(s.data, whole.data, s.len);
    }
}

static void test_chunked_stops_and_errors_stick(void **state)
{
    struct http_body_state st;
    struct sink s = {.len = 0};
    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    assert_int_equal(http_body_feed(&st, "3\r\nfoo\r\n", 8, collect, &s), 8);
    assert_int_equal(st.done, 0); /* no last-chunk yet */
    assert_int_equal(http_body_feed(&st, "0\r\n\r\n0\r\n\r\n", 10, collect, &s), 5);
    assert_int_equal(st.done, 1);
    assert_int_equal(http_body_feed(&st, "0\r\n\r\n", 5, collect, &s), 0);
    assert_int_equal(s.len, 3);

    http_body_init(&st, HTTP_BODY_CHUNKED, 0);
    assert_int_equal(http_body_feed(&st, "z", 1, NULL, NULL), -1);
    assert_int_equal(http_body_feed(&st, "0\r\n\r\n", 5, NULL, NULL), -1);
    assert_int_equal(st.done, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_until_eof),
        cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_invalid),
        cmocka_unit_test(test_chunked_size_bounds),
        cmocka_unit_test(test_chunked_line_bounds),
        cmocka_unit_test(test_chunked_every_split),
        cmocka_unit_test(test_chunked_stops_and_errors_stick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
