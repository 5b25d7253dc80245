/* Unit tests for src/http/http_parse.c: every acceptance and refusal rule of docs/http.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_parse.h"

#define MAXH 32
#define HEAD 1000000 /* expected rc: complete, head_len == input length */

static struct http_header hdrs[MAXH];
static struct http_request req;
static const struct http_limits LIM = {.request_line = 256, .header_bytes = 1024, .headers = 16};

static int parse_n(const char *s, size_t n)
{
    memset(&req, 0x5a, sizeof(req)); /* every field must be (re)set by the parser */
    req.headers = hdrs;
    req.max_headers = MAXH;
    return http_parse_request(s, n, &LIM, &req);
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s));
}

struct req_case {
    const char *in;
    size_t len;
    int rc;
};

#define C(lit, rc)                                                                                 \
    {                                                                                              \
        lit, sizeof(lit) - 1, rc                                                                   \
    }
#define H "Host: a.example\r\n"
#define G "GET / HTTP/1.1\r\n"

static const struct req_case accepted[] = {
    C(G H "\r\n", HEAD),
    C("GET / HTTP/1.0\r\n\r\n", HEAD), /* 1.0 needs no Host */
    C("\r\n\r\n" G H "\r\n", HEAD),    /* leading empty lines skipped, counted in head_len */
    C("OPTIONS * HTTP/1.1\r\n" H "\r\n", HEAD),
    C("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", HEAD),
    C("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", HEAD),
    C("GET http://a.example/x?y HTTP/1.1\r\nHost: A.Example\r\n\r\n", HEAD),
    C("GET HTTPS://a.example:8443 HTTP/1.1\r\nHost: a.example:8443\r\n\r\n", HEAD),
    C("GET /p?q=\"x\"|{}<>\\^`#f HTTP/1.1\r\n" H "\r\n", HEAD),
    C("!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\n" H "\r\n", HEAD),
    C(G H "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", HEAD),
    C(G "Host: 127.0.0.1:8080\r\n\r\n", HEAD),
    C(G "Host: [2001:db8::1]\r\n\r\n", HEAD),
    C(G "Host: [::ffff:192.0.2.1]:1\r\n\r\n", HEAD),
    C(G "Host: a%2Db.example\r\n\r\n", HEAD),
    C(G "Host: 0.0.0.0=5000\r\n\r\n", HEAD), /* '=' is a sub-delim: a valid reg-name */
    C(G "Host: xn--bcher-kva.example:65535\r\n\r\n", HEAD),
    C(G H "X: D\xc3\xbc\xff\x80sseldorf\r\n\r\n", HEAD), /* obs-text */
    C(G H "X:\r\nY: \t \r\n\r\n", HEAD),                 /* empty values */
    C(G H "Content-Length: 003\r\n\r\n", HEAD),
    C(G H "Content-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", HEAD),
    C(G H "Content-Length: 9223372036854775807\r\n\r\n", HEAD),
    C(G H "Transfer-Encoding: Chunked\r\n\r\n", HEAD),
    C("GET /x HTTP/1.1\r\n" H "Upgrade: websocket\r\nConnection: upgrade\r\n\r\n", HEAD),
};

static const struct req_case refused[] = {
    /* request line */
    C("G@T / HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GE(T / HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C(" / HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET  / HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET\t/ HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /a\0b HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /a\x7f HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /\xce\xb4 HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /abcdefgh\xffijklmnop HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /abcdefgh\x7fijklmnop HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /abcdefgh\tijklmnop HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /foo bar HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET /\r\n\r\n", HTTP_ERR_BAD), /* HTTP/0.9 */
    C("GET / HTTP/1.1 \r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET / http/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET / HTTP/1.10\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET / HTTP/11\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET / HTTP/2\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET / RTSP/1.0\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET / HTTP/2.0\r\n" H "\r\n", HTTP_ERR_VERSION),
    C("GET / HTTP/1.2\r\n" H "\r\n", HTTP_ERR_VERSION),
    C("GET / HTTP/0.9\r\n" H "\r\n", HTTP_ERR_VERSION),
    C("GET / HTTP/1.1\n" H "\r\n", HTTP_ERR_BAD),  /* bare LF */
    C("GET / HTTP/1.1\rX" H "\r\n", HTTP_ERR_BAD), /* bare CR */
    C("\n" G H "\r\n", HTTP_ERR_BAD),              /* bare LF as an empty line */
    C("\rX" G H "\r\n", HTTP_ERR_BAD),
    /* request-target forms */
    C("GET * HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("OPTIONS ** HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET a.example:443 HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("CONNECT a.example HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("CONNECT / HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET ftp://a.example/ HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET http:///x HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET http://u@a.example/ HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET http://b.example/ HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    C("GET http://a.example:80/ HTTP/1.1\r\n" H "\r\n", HTTP_ERR_BAD),
    /* field syntax */
    C(G H "X : v\r\n\r\n", HTTP_ERR_BAD), /* space before the colon */
    C(G H "X\t: v\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Fo@: v\r\n\r\n", HTTP_ERR_BAD),
    C(G H "F\x01o: v\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X\0: v\r\n\r\n", HTTP_ERR_BAD),
    C(G H ": v\r\n\r\n", HTTP_ERR_BAD),
    C(G H "NoColon\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X: a\r\n b\r\n\r\n", HTTP_ERR_BAD), /* obs-fold */
    C(G H "X: a\r\n\tb\r\n\r\n", HTTP_ERR_BAD),
    C(G " X: a\r\n" H "\r\n", HTTP_ERR_BAD), /* whitespace before the first field */
    C(G H "X: a\rb\r\n\r\n", HTTP_ERR_BAD),  /* bare CR in a value */
    C(G H "X: a\nY: b\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X: a\0b\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X: a\x0c\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X: a\x7f\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X: abcdefgh\x7fijklmnopq\r\n\r\n", HTTP_ERR_BAD), /* inside an 8-byte word */
    C(G H "X: abcdefgh\x1fijklmnopq\r\n\r\n", HTTP_ERR_BAD),
    C(G H "X: abcdefgh\0ijklmnopq\r\n\r\n", HTTP_ERR_BAD),
    C(G H "\r\r\n", HTTP_ERR_BAD),
    C(G H "\n", HTTP_ERR_BAD),
    /* Host */
    C(G "\r\n", HTTP_ERR_BAD),
    C(G "X: y\r\n\r\n", HTTP_ERR_BAD),
    C(G H "host: a.example\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host:\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a b\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a@b\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a/b\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a:\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a:65536\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a:1x\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: [::1\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: [1:2]\r\n\r\n", HTTP_ERR_BAD),
    C(G "Host: a%2\r\n\r\n", HTTP_ERR_BAD),
    C("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", HTTP_ERR_BAD),
    /* Content-Length */
    C(G H "Content-Length: +5\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: -1\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 0x10\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 4 2\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length:\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 5,\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 5, 6\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 9223372036854775808\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Content-Length: 1000000000000000000000\r\n\r\n", HTTP_ERR_BAD),
    /* Transfer-Encoding */
    C(G H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: chunked, chunked\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: chunked, gzip\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: chunked;x=1\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding:\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: ,chunked\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: \"chunked\"\r\n\r\n", HTTP_ERR_BAD),
    C("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_ERR_BAD),
    C(G H "Transfer-Encoding: gzip\r\n\r\n", HTTP_ERR_NOT_IMPLEMENTED),
    C(G H "Transfer-Encoding: identity\r\n\r\n", HTTP_ERR_NOT_IMPLEMENTED),
    C(G H "Transfer-Encoding: gzip, chunked\r\n\r\n", HTTP_ERR_NOT_IMPLEMENTED),
    C(G H "Transfer-Encoding: gzip;level=1\r\nTransfer-Encoding: chunked\r\n\r\n",
      HTTP_ERR_NOT_IMPLEMENTED),
};

static void test_accepted_cases(void **state)
{
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        const struct req_case *c = &accepted[i];
        int rc = parse_n(c->in, c->len);
        if (rc != (int)c->len)
            fail_msg("case %zu (%s): rc %d, want %zu", i, c->in, rc, c->len);
        assert_int_equal(req.head_len, c->len);
    }
}

static void test_refused_cases(void **state)
{
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const struct req_case *c = &refused[i];
        int rc = parse_n(c->in, c->len);
        if (rc != c->rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, c->in, rc, c->rc);
    }
}

/* Every strict prefix of a valid head is incomplete: bytes arriving one at a time never fail. */
static void test_incremental_prefixes(void **state)
{
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        const struct req_case *c = &accepted[i];
        for (size_t n = 0; n < c->len; n++) {
            int rc = parse_n(c->in, n);
            if (rc != HTTP_INCOMPLETE)
                fail_msg("case %zu prefix %zu: rc %d", i, n, rc);
        }
    }
}

static void test_fields_and_pointers(void **state)
{
    static const char in[] = "\r\nPOST /up?x=1 HTTP/1.1\r\nHost: a.example:8443\r\n"
                             "X-Long:  two words \t\r\nEmpty:\r\nContent-Length: 12\r\n\r\nBODY";
    assert_int_equal(parse_n(in, sizeof(in) - 1), sizeof(in) - 1 - 4);
    assert_int_equal(req.head_len, sizeof(in) - 1 - 4);
    assert_ptr_equal(req.method, in + 2);
    assert_int_equal(req.method_len, 4);
    assert_ptr_equal(req.target, in + 7);
    assert_int_equal(req.target_len, 7);
    assert_int_equal(req.minor, 1);
    assert_int_equal(req.num_headers, 4);
    assert_memory_equal(hdrs[1].name, "X-Long", 6);
    assert_int_equal(hdrs[1].name_len, 6);
    assert_int_equal(hdrs[1].value_len, 9);
    assert_memory_equal(hdrs[1].value, "two words", 9);
    assert_int_equal(hdrs[2].value_len, 0);
    assert_ptr_equal(hdrs[2].value, strstr(in, "Empty:") + 6);
    assert_int_equal(hdrs[0].removed, 0);
    assert_ptr_equal(req.host, &hdrs[0]);
    assert_int_equal(req.host->value_len, 14);
    assert_int_equal(req.body, HTTP_BODY_LENGTH);
    assert_int_equal(req.content_length, 12);
    assert_int_equal(req.keep_alive, 1);
    assert_int_equal(req.expect_continue, 0);
    assert_int_equal(req.upgrade, 0);
}

static void test_framing(void **state)
{
    assert_int_equal(parse(G H "\r\n") > 0, 1);
    assert_int_equal(req.body, HTTP_BODY_NONE);
    assert_int_equal(parse(G H "Content-Length: 0\r\n\r\n") > 0, 1);
    assert_int_equal(req.body, HTTP_BODY_NONE);
    assert_int_equal(req.content_length, 0);
    assert_int_equal(parse(G H "Content-Length: 7, 7\r\n\r\n") > 0, 1);
    assert_int_equal(req.body, HTTP_BODY_LENGTH);
    assert_int_equal(req.content_length, 7);
    assert_int_equal(parse(G H "Content-Length: 9223372036854775807\r\n\r\n") > 0, 1);
    assert_true(req.content_length == UINT64_C(9223372036854775807));
    assert_int_equal(parse(G H "Transfer-Encoding:  chunked \r\n\r\n") > 0, 1);
    assert_int_equal(req.body, HTTP_BODY_CHUNKED);
    assert_int_equal(parse("GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\n") > 0, 1);
    assert_int_equal(req.body, HTTP_BODY_LENGTH);
    assert_int_equal(req.content_length, 3);
}

static void test_connection_expect_upgrade(void **state)
{
    static const struct {
        const char *in;
        int keep_alive, expect, upgrade;
    } cases[] = {
        {G H "\r\n", 1, 0, 0},
        {G H "Connection: close\r\n\r\n", 0, 0, 0},
        {G H "Connection: foo, CLOSE\r\n\r\n", 0, 0, 0},
        {G H "Connection: closed\r\n\r\n", 1, 0, 0},
        {G H "Connection: keep-alive\r\nConnection: close\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.0\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, 0, 0},
        {G H "Expect: 100-continue\r\n\r\n", 1, 1, 0},
        {G H "Expect:  100-Continue \r\n\r\n", 1, 1, 0},
        {G H "Expect: 100-continue, foo\r\n\r\n", 1, 0, 0},
        {G H "Expect: foo\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, 0, 0},
        {G H "Upgrade: h2c\r\n\r\n", 1, 0, 1},
        {G H "upgrade:\r\n\r\n", 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].in), strlen(cases[i].in));
        if (req.keep_alive != cases[i].keep_alive || req.expect_continue != cases[i].expect ||
            req.upgrade != cases[i].upgrade)
            fail_msg("case %zu: keep_alive %d expect %d upgrade %d", i, req.keep_alive,
                     req.expect_continue, req.upgrade);
    }
}

/* Fill <out> with a request whose request line is <line_len> bytes (CRLF excluded). */
static size_t make_line(char *out, size_t line_len, int complete)
{
    size_t n = 0;
    memcpy(out, "GET /", 5);
    n = 5;
    while (n < line_len - 9)
        out[n++] = 'a';
    memcpy(out + n, " HTTP/1.1", 9);
    n += 9;
    if (complete) {
        static const char rest[] = "\r\n" H "\r\n";
        memcpy(out + n, rest, sizeof(rest) - 1);
        n += sizeof(rest) - 1;
    }
    return n;
}

static void test_limit_request_line(void **state)
{
    char buf[1024];
    size_t n = make_line(buf, 256, 1);
    assert_int_equal(parse_n(buf, n), n);
    n = make_line(buf, 257, 1);
    assert_int_equal(parse_n(buf, n), HTTP_ERR_TOO_LONG_LINE);
    /* incomplete: the 257th byte of the line is enough to know */
    assert_int_equal(parse_n(buf, 257), HTTP_ERR_TOO_LONG_LINE);
    assert_int_equal(parse_n(buf, 256), HTTP_INCOMPLETE);
    /* leading empty lines do not count against the request line */
    memcpy(buf, "\r\n\r\n", 4);
    n = make_line(buf + 4, 256, 1) + 4;
    assert_int_equal(parse_n(buf, n), n);
    /* a long method is part of the line too */
    memset(buf, 'M', 300);
    assert_int_equal(parse_n(buf, 300), HTTP_ERR_TOO_LONG_LINE);
    assert_int_equal(parse_n(buf, 256), HTTP_INCOMPLETE);
}

static void test_limit_header_bytes(void **state)
{
    char buf[2048];
    size_t n = (size_t)sprintf(buf, G H "X: ");
    size_t pad = 1024 - n - 4;
    memset(buf + n, 'v', pad);
    memcpy(buf + n + pad, "\r\n\r\n", 4);
    assert_int_equal(parse_n(buf, 1024), 1024); /* exactly at the limit */

    n = (size_t)sprintf(buf, G H "X: ");
    memset(buf + n, 'v', pad + 1);
    memcpy(buf + n + pad + 1, "\r\n\r\n", 4);
    assert_int_equal(parse_n(buf, 1025), HTTP_ERR_TOO_LARGE);
    assert_int_equal(parse_n(buf, 1024), HTTP_INCOMPLETE);
    /* incomplete but over the limit, no end in sight */
    memset(buf + n, 'v', 2048 - n);
    assert_int_equal(parse_n(buf, 2048), HTTP_ERR_TOO_LARGE);
    /* endless empty lines before a request are bounded the same way */
    for (size_t i = 0; i < 2048; i += 2)
        memcpy(buf + i, "\r\n", 2);
    assert_int_equal(parse_n(buf, 1024), HTTP_INCOMPLETE);
    assert_int_equal(parse_n(buf, 1026), HTTP_ERR_TOO_LARGE);
}

static void test_limit_header_count(void **state)
{
    char buf[1024];
    size_t n = (size_t)sprintf(buf, G H);
    for (int i = 1; i < 16; i++)
        n += (size_t)sprintf(buf + n, "X%d: y\r\n", i);
    n += (size_t)sprintf(buf + n, "\r\n");
    assert_int_equal(parse_n(buf, n), n); /* 16 fields: at the limit */
    assert_int_equal(req.num_headers, 16);

    n -= 2;
    n += (size_t)sprintf(buf + n, "Z: 1\r\n\r\n");
    assert_int_equal(parse_n(buf, n), HTTP_ERR_TOO_LARGE);
    /* known as soon as the 17th line starts */
    assert_int_equal(parse_n(buf, n - 8), HTTP_INCOMPLETE);
    assert_int_equal(parse_n(buf, n - 7), HTTP_ERR_TOO_LARGE);

    /* the caller's array size wins when it is smaller */
    memset(&req, 0, sizeof(req));
    req.headers = hdrs;
    req.max_headers = 1;
    const char *two = G H "X: 1\r\n\r\n";
    assert_int_equal(http_parse_request(two, strlen(two), &LIM, &req), HTTP_ERR_TOO_LARGE);
    req.max_headers = 2;
    assert_int_equal(http_parse_request(two, strlen(two), &LIM, &req), strlen(two));
    assert_int_equal(req.num_headers, 2);
}

static void test_pipelined(void **state)
{
    static const char in[] = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                             "GET /b HTTP/1.1\r\nHost: b\r\n\r\nGET /c HTTP/1.1\r\n";
    int rc = parse_n(in, sizeof(in) - 1);
    assert_int_equal(rc, 48);
    assert_int_equal(req.content_length, 3);
    size_t off = (size_t)rc + 3;
    rc = parse_n(in + off, sizeof(in) - 1 - off);
    assert_int_equal(rc, 28);
    assert_memory_equal(req.target, "/b", 2);
    assert_ptr_equal(req.host->value, in + off + 23);
    off += (size_t)rc;
    assert_int_equal(parse_n(in + off, sizeof(in) - 1 - off), HTTP_INCOMPLETE);
}

/* An error is reported as soon as the prefix can start no valid head. */
static void test_early_errors(void **state)
{
    assert_int_equal(parse("G@"), HTTP_ERR_BAD);
    assert_int_equal(parse("GET / HTTP/2.0"), HTTP_ERR_VERSION);
    assert_int_equal(parse("GET / HTTP/1.1"), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET / HTTP/1.1\r"), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET / HTTP/1.1\r\nX: a\r"), HTTP_INCOMPLETE);
    assert_int_equal(parse("GET / HTTP/1.1\r\nX : a"), HTTP_ERR_BAD);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n"), HTTP_ERR_BAD);
    assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"),
                     HTTP_ERR_BAD);
    assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: gzip\r\n"),
                     HTTP_ERR_BAD);
    /* 501 waits for the end of the head, so a later 400 reason still wins */
    assert_int_equal(parse("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"), HTTP_INCOMPLETE);
}

static struct http_response resp;

static int parse_resp(const char *s, int head_request)
{
    memset(&resp, 0x5a, sizeof(resp));
    resp.headers = hdrs;
    resp.max_headers = MAXH;
    return http_parse_response(s, strlen(s), &LIM, head_request, &resp);
}

static void test_response(void **state)
{
    static const struct {
        const char *in;
        int head_request, rc, status, body, keep_alive;
        uint64_t cl;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 1, 200, HTTP_BODY_LENGTH, 1, 5},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 1, 200, HTTP_BODY_CHUNKED, 1,
         0},
        {"HTTP/1.1 200 OK\r\n\r\n", 0, 1, 200, HTTP_BODY_UNTIL_EOF, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 1, 200, HTTP_BODY_NONE, 1, 0},
        {"HTTP/1.1 204 No Content\r\n\r\n", 0, 1, 204, HTTP_BODY_NONE, 1, 0},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 0, 1, 304, HTTP_BODY_NONE, 1, 0},
        {"HTTP/1.1 100 Continue\r\n\r\n", 0, 1, 100, HTTP_BODY_NONE, 1, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1, 1, 200, HTTP_BODY_NONE, 1, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 1, 1, 200, HTTP_BODY_NONE, 1, 0},
        {"HTTP/1.1 200\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", 0, 1, 200,
         HTTP_BODY_LENGTH, 0, 1},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, 1, 200, HTTP_BODY_LENGTH, 0, 1},
        {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", 0, 1, 200,
         HTTP_BODY_LENGTH, 1, 1},
        {"HTTP/1.1 599 \xe9t\xe9 \tx\r\n\r\n", 0, 1, 599, HTTP_BODY_UNTIL_EOF, 0, 0},
        {"HTTP/1.1 20 OK\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 2000 OK\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 099 OK\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1  200 OK\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 200 O\x01K\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"\r\nHTTP/1.1 200 OK\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/2.0 200 OK\r\n\r\n", 0, HTTP_ERR_VERSION, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nX : y\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0,
         0, 0},
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, HTTP_ERR_BAD, 0, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, HTTP_ERR_NOT_IMPLEMENTED, 0, 0, 0,
         0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse_resp(cases[i].in, cases[i].head_request);
        int want = cases[i].rc == 1 ? (int)strlen(cases[i].in) : cases[i].rc;
        if (rc != want)
            fail_msg("case %zu: rc %d, want %d", i, rc, want);
        if (rc < 0)
            continue;
        if (resp.status != cases[i].status || (int)resp.body != cases[i].body ||
            resp.keep_alive != cases[i].keep_alive || resp.content_length != cases[i].cl ||
            resp.head_len != (size_t)rc)
            fail_msg("case %zu: status %d body %d keep_alive %d cl %llu", i, resp.status, resp.body,
                     resp.keep_alive, (unsigned long long)resp.content_length);
    }
    assert_int_equal(parse_resp("HTTP/1.1 404 Not Found\r\n\r\n", 0), 26);
    assert_int_equal(resp.minor, 1);
    assert_int_equal(resp.reason_len, 9);
    assert_memory_equal(resp.reason, "Not Found", 9);
    assert_int_equal(parse_resp("HTTP/1.1 404\r\n\r\n", 0), 16);
    assert_int_equal(resp.reason_len, 0);
    /* prefixes of a valid response are incomplete; over-limit ones are not */
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    for (size_t n = 0; n < strlen(ok); n++) {
        resp.headers = hdrs;
        resp.max_headers = MAXH;
        assert_int_equal(http_parse_response(ok, n, &LIM, 0, &resp), HTTP_INCOMPLETE);
    }
    char big[1100];
    memcpy(big, "HTTP/1.1 200 ", 13);
    memset(big + 13, 'x', sizeof(big) - 13);
    assert_int_equal(http_parse_response(big, 300, &LIM, 0, &resp), HTTP_ERR_TOO_LONG_LINE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_cases),
        cmocka_unit_test(test_refused_cases),
        cmocka_unit_test(test_incremental_prefixes),
        cmocka_unit_test(test_fields_and_pointers),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_connection_expect_upgrade),
        cmocka_unit_test(test_limit_request_line),
        cmocka_unit_test(test_limit_header_bytes),
        cmocka_unit_test(test_limit_header_count),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_early_errors),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
