/* libFuzzer driver: http_body_feed on arbitrary bytes. Input: byte 0 picks the kind, byte 1
 * the piece size for the second run and byte 2 a Content-Length; the rest is the body.
 * Feeding everything at once and feeding it in pieces must agree on bytes consumed, decoded
 * data, done and error; decoded data never exceeds what was consumed; once done, nothing more
 * is consumed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"

struct sink {
    char *data;
    size_t len, cap;
};

static void check(int cond)
{
    if (!cond)
        abort();
}

static void collect(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    check(len > 0 && s->len + len <= s->cap);
    memcpy(s->data + s->len, data, len);
    s->len += len;
}

struct run {
    long consumed; /* -1 on error */
    int done;
};

static struct run feed(enum http_body_kind kind, uint64_t cl, const char *d, size_t n, size_t piece,
                       struct sink *s)
{
    struct http_body_state st;
    struct run r = {0, 0};
    http_body_init(&st, kind, cl);
    for (size_t off = 0; off < n || (n == 0 && off == 0);) {
        size_t len = n - off < piece ? n - off : piece;
        size_t before = s->len;
        long got = http_body_feed(&st, d + off, len, collect, s);
        if (got < 0) {
            check(http_body_feed(&st, d, n, NULL, NULL) == -1 && !st.done);
            r.consumed = -1;
            return r;
        }
        check((size_t)got <= len && s->len - before <= (size_t)got);
        r.consumed += got;
        if ((size_t)got < len) {
            check(st.done); /* only the end of the body leaves bytes behind */
            break;
        }
        off += len;
        if (len == 0)
            break;
    }
    r.done = st.done;
    if (st.done) {
        check(http_body_feed(&st, d, n, collect, s) == 0);
        if (kind == HTTP_BODY_LENGTH || kind == HTTP_BODY_NONE)
            check(st.remaining == 0);
    }
    if (kind == HTTP_BODY_UNTIL_EOF)
        check(!st.done && (size_t)r.consumed == n);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static const enum http_body_kind kinds[4] = {HTTP_BODY_CHUNKED, HTTP_BODY_LENGTH,
                                                 HTTP_BODY_UNTIL_EOF, HTTP_BODY_NONE};
    enum http_body_kind kind = kinds[data[0] & 3];
    size_t piece = (size_t)(data[1] % 17) + 1;
    uint64_t cl = data[2];
    const char *d = (const char *)data + 3;
    size_t n = size - 3;

    struct sink a = {malloc(n + 1), 0, n};
    struct sink b = {malloc(n + 1), 0, n};
    check(a.data != NULL && b.data != NULL);
    struct run whole = feed(kind, cl, d, n, n > 0 ? n : 1, &a);
    struct run split = feed(kind, cl, d, n, piece, &b);

    check(whole.consumed == split.consumed);
    if (whole.consumed >= 0) {
        check(whole.done == split.done);
        check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        check(a.len <= (size_t)whole.consumed);
        if (kind == HTTP_BODY_LENGTH)
            check(a.len == (size_t)whole.consumed && whole.done == (cl <= n));
        if (kind == HTTP_BODY_NONE)
            check(whole.consumed == 0 && whole.done);
    }
    free(a.data);
    free(b.data);
    return 0;
}
