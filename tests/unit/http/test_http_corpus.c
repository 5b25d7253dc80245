/* Data-driven check of http_parse_request + http_body_feed against llhttp's request corpus
 * (testdata/http1-requests: the raw files listed in index.json with llhttp's strict verdict).
 *
 * Each file is one connection: parse a head, feed its body, go on with the rest, and stop
 * where a server would stop reading HTTP/1 (Connection: close, CONNECT, Upgrade). llhttp
 * "accepts" a file when its strict error is null or a CONNECT/Upgrade pause (code=22); then
 * no message may be refused. Otherwise at least one must be. Where we differ on purpose the
 * file is in <disagreements>, which must match exactly so any change in behaviour shows.
 *
 * The corpus omits Host almost everywhere (llhttp does not require it); we refuse that
 * (covered in test_http_parse.c), which would hide every other rule. So a 1.1 head without a
 * Host line gets "Host: corpus.test" (or the absolute-form authority) after its request line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "http/http_parse.h"

#define BODY_REFUSED (-100) /* our verdict when http_body_feed returned -1 */

static const struct {
    const char *file;
    int ours; /* 0: we refuse nothing; else the refusal (enum http_status or BODY_REFUSED) */
    const char *why;
} disagreements[] = {
    {"raw/connection-003.bin", 0, "after a 1.0 request without keep-alive we close, not refuse"},
    {"raw/connection-009.bin", 0, "after Connection: close we stop reading; no error"},
    {"raw/connection-010.bin", 0, "after Connection: close we stop reading; no error"},
    {"raw/content-length-003.bin", 0, "the CL line never ends in the file: no verdict yet"},
    {"raw/content-length-004.bin", 0, "the second CL line never ends in the file: no verdict yet"},
    {"raw/invalid-004.bin", 0, "any token is a method; ANNOUNCE is fine over HTTP/1.0"},
    {"raw/invalid-014.bin", 0, "any token is a method; MKCOLA is fine (head never ends)"},
    {"raw/method-005.bin", HTTP_ERR_BAD, "asterisk-form is for OPTIONS only, not M-SEARCH"},
    {"raw/method-012.bin", HTTP_ERR_BAD, "ICE/1.0 is not HTTP"},
    {"raw/method-013.bin", HTTP_ERR_BAD, "RTSP/1.0 is not HTTP"},
    {"raw/method-014.bin", HTTP_ERR_BAD, "RTSP/1.0 is not HTTP"},
    {"raw/sample-010.bin", HTTP_ERR_BAD, "HTTP/0.9 request lines (no version) are refused"},
    {"raw/transfer-encoding-012.bin", 0, "TE pigeons is 501 at the end of a head never sent"},
    {"raw/transfer-encoding-020.bin", HTTP_ERR_NOT_IMPLEMENTED, "deflate, chunked: we decode none"},
    {"raw/transfer-encoding-021.bin", HTTP_ERR_NOT_IMPLEMENTED, "deflate + chunked: same, 2 lines"},
    {"raw/transfer-encoding-023.bin", 0, "the file ends inside the chunked body: no verdict yet"},
    {"raw/uri-010.bin", HTTP_ERR_BAD, "userinfo in an absolute-form target is refused"},
};

#define NDIS (sizeof(disagreements) / sizeof(disagreements[0]))

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)size, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* Copy the JSON string whose body starts at <p> (after the opening quote) into <out>. */
static const char *json_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (*p != '\0' && *p != '"') {
        if (*p == '\\' && p[1] != '\0')
            p++;
        if (n + 1 < cap)
            out[n++] = *p;
        p++;
    }
    out[n] = '\0';
    return *p == '"' ? p + 1 : p;
}

/* Value of "<key>": in [p, end): a string into <out>, or "" for null. 0 if absent. */
static int json_field(const char *p, const char *end, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    const char *q = strstr(p, pat);
    if (q == NULL || q >= end)
        return 0;
    q += strlen(pat);
    if (*q == '"')
        json_string(q + 1, out, cap);
    else
        out[0] = '\0';
    return 1;
}

/* Where a Host line must go in the head at <b> (0 if none is needed), and its value. */
static size_t host_insertion(const char *b, size_t n, char *host, size_t cap)
{
    size_t p = 0;
    while (p + 1 < n && b[p] == '\r' && b[p + 1] == '\n')
        p += 2;
    const char *eol = memmem(b + p, n - p, "\r\n", 2);
    if (eol == NULL || (size_t)(eol - b) - p < 9 || memcmp(eol - 9, " HTTP/1.1", 9) != 0)
        return 0;
    const char *hend = memmem(eol, n - (size_t)(eol - b), "\r\n\r\n", 4);
    const char *stop = hend != NULL ? hend + 2 : b + n;
    for (const char *l = eol + 2; l != NULL && l < stop;) {
        if (stop - l >= 5 && strncasecmp(l, "host:", 5) == 0)
            return 0;
        l = memmem(l, (size_t)(stop - l), "\r\n", 2);
        l = l != NULL ? l + 2 : NULL;
    }
    const char *sp = memchr(b + p, ' ', (size_t)(eol - b) - p);
    snprintf(host, cap, "corpus.test");
    if (sp != NULL && (size_t)(eol - sp) > 8 && strncmp(sp + 1, "http://", 7) == 0) {
        size_t a = 0;
        for (const char *c = sp + 8; c < eol && strchr("/? ", *c) == NULL && a + 1 < cap; c++)
            host[a++] = *c;
        host[a] = '\0';
    }
    return (size_t)(eol - b) + 2;
}

struct totals {
    int files, messages, refused, injected;
};

/* Run one connection's bytes; returns 0 when nothing was refused, else the refusal. */
static int run_stream(const char *b, size_t n, struct totals *t)
{
    static struct http_header hdrs[100];
    static char tmp[70000];
    const struct http_limits lim = {.request_line = 8192, .header_bytes = 65536, .headers = 100};
    size_t off = 0;

    while (off < n) {
        char host[256];
        struct http_request req = {.headers = hdrs, .max_headers = 100};
        size_t at = host_insertion(b + off, n - off, host, sizeof(host));
        const char *view = b + off;
        size_t view_len = n - off, added = 0;
        if (at > 0) {
            size_t hl = strlen(host);
            added = 6 + hl + 2;
            assert_true(n - off + added <= sizeof(tmp));
            memcpy(tmp, b + off, at);
            memcpy(tmp + at, "Host: ", 6);
            memcpy(tmp + at + 6, host, hl);
            memcpy(tmp + at + 6 + hl, "\r\n", 2);
            memcpy(tmp + at + added, b + off + at, n - off - at);
            view = tmp;
            view_len += added;
            t->injected++;
        }
        int rc = http_parse_request(view, view_len, &lim, &req);
        if (rc == HTTP_INCOMPLETE)
            return 0;
        if (rc < 0)
            return rc;
        t->messages++;
        off += (size_t)rc - added;

        struct http_body_state st;
        http_body_init(&st, req.body, req.content_length);
        long used = http_body_feed(&st, b + off, n - off, NULL, NULL);
        if (used < 0)
            return BODY_REFUSED;
        off += (size_t)used;
        int tunnel = req.upgrade || (req.method_len == 7 && memcmp(req.method, "CONNECT", 7) == 0);
        if (!st.done || tunnel || !req.keep_alive)
            return 0; /* body still coming, or the connection is no longer HTTP/1 */
    }
    return 0;
}

static void test_llhttp_corpus(void **state)
{
    const char *base = getenv("CERTGATE_TESTDATA");
    char path[1024];
    size_t idx_len;
    struct totals t = {0};
    int hit[NDIS] = {0};
    int failures = 0, agree_accept = 0, agree_refuse = 0;

    snprintf(path, sizeof(path), "%s/http1-requests/index.json",
             base ? base : "../shared/testdata");
    char *idx = read_all(path, &idx_len);
    if (idx == NULL)
        fail_msg("cannot read %s (set CERTGATE_TESTDATA)", path);

    const char *p = idx;
    while ((p = strstr(p, "\"file\": \"")) != NULL) {
        char file[256], type[64], err[512];
        p = json_string(p + 9, file, sizeof(file));
        const char *next = strstr(p, "\"file\": \"");
        const char *end = next != NULL ? next : idx + idx_len;
        if (!json_field(p, end, "type", type, sizeof(type)) || strcmp(type, "request") != 0)
            continue;
        assert_int_equal(json_field(p, end, "llhttp_strict_error", err, sizeof(err)), 1);
        int llhttp_accepts = err[0] == '\0' || strstr(err, "code=22 ") != NULL;

        size_t len;
        snprintf(path, sizeof(path), "%s/http1-requests/%s", base ? base : "../shared/testdata",
                 file);
        char *raw = read_all(path, &len);
        if (raw == NULL)
            fail_msg("cannot read %s", path);
        t.files++;
        int ours = run_stream(raw, len, &t);
        free(raw);
        if (ours != 0)
            t.refused++;
        if (getenv("CERTGATE_CORPUS_VERBOSE") != NULL)
            print_message("%-40s llhttp %-8s ours %d\n", file,
                          llhttp_accepts ? "accepts" : "refuses", ours);

        size_t d = 0;
        while (d < NDIS && strcmp(disagreements[d].file, file) != 0)
            d++;
        int agree = llhttp_accepts == (ours == 0);
        if (agree) {
            agree_accept += llhttp_accepts;
            agree_refuse += !llhttp_accepts;
        }
        if (agree && d < NDIS) {
            print_error("%s: listed as a disagreement but we now agree\n", file);
            failures++;
        } else if (!agree && d == NDIS) {
            print_error("%s: llhttp %s, we %s (rc %d)\n", file, err[0] ? err : "accepts",
                        ours ? "refuse" : "accept", ours);
            failures++;
        } else if (!agree && disagreements[d].ours != ours) {
            print_error("%s: verdict %d, table says %d\n", file, ours, disagreements[d].ours);
            failures++;
        }
        if (d < NDIS)
            hit[d]++;
    }
    free(idx);
    for (size_t d = 0; d < NDIS; d++) {
        if (hit[d] != 1) {
            print_error("%s: in the table but seen %d times\n", disagreements[d].file, hit[d]);
            failures++;
        }
    }
    print_message("llhttp corpus: %d request files, %d heads parsed, %d refused, %d Host lines "
                  "added; agree %d accept + %d refuse, %zu listed disagreements\n",
                  t.files, t.messages, t.refused, t.injected, agree_accept, agree_refuse, NDIS);
    assert_int_equal(failures, 0);
    assert_int_equal(t.files, 134);
    assert_int_equal(agree_accept + agree_refuse + (int)NDIS, t.files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llhttp_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
