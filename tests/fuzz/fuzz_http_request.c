/* libFuzzer driver: http_parse_request / http_parse_response on arbitrary bytes, checking the
 * invariants callers rely on, not just the absence of crashes:
 * - the result is an enum http_status or a head length <= len, equal to head_len;
 * - every pointer and length in the result lies inside the head;
 * - a prefix of a valid (or still incomplete) input is HTTP_INCOMPLETE, never an error;
 * - the head alone parses to the same length; tight limits never accept what loose ones refuse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"

#define MAXH 64

static const struct http_limits LOOSE = {
    .request_line = 8192, .header_bytes = 65536, .headers = 64};
static const struct http_limits TIGHT = {.request_line = 40, .header_bytes = 160, .headers = 4};

static void check(int cond)
{
    if (!cond)
        abort();
}

static int inside(const char *base, size_t len, const char *p, size_t n)
{
    return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static int parse_req(const char *d, size_t n, const struct http_limits *lim, struct http_header *h,
                     struct http_request *req)
{
    memset(req, 0xa5, sizeof(*req));
    req->headers = h;
    req->max_headers = MAXH;
    return http_parse_request(d, n, lim, req);
}

static void check_request(const char *d, size_t n, int rc, const struct http_request *req,
                          const struct http_limits *lim)
{
    check(rc >= HTTP_ERR_NOT_IMPLEMENTED && (rc <= 0 || (size_t)rc <= n));
    if (rc <= 0)
        return;
    size_t head = (size_t)rc;
    check(req->head_len == head && head <= lim->header_bytes);
    check(req->method_len > 0 && inside(d, head, req->method, req->method_len));
    check(req->target_len > 0 && inside(d, head, req->target, req->target_len));
    check(req->minor == 0 || req->minor == 1);
    check(req->num_headers <= lim->headers && req->num_headers <= MAXH);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        check(h->name_len > 0 && inside(d, head, h->name, h->name_len));
        check(inside(d, head, h->value, h->value_len));
        check(h->name + h->name_len < h->value || h->value_len == 0);
        check(h->removed == 0);
    }
    check(req->host == NULL ||
          (req->host >= req->headers && req->host < req->headers + req->num_headers));
    check(req->minor == 0 || req->host != NULL);
    check(req->body == HTTP_BODY_NONE || req->body == HTTP_BODY_LENGTH ||
          req->body == HTTP_BODY_CHUNKED);
    check(req->body != HTTP_BODY_LENGTH || req->content_length > 0);
    check(req->content_length < (UINT64_C(1) << 63));
    check(req->keep_alive == 0 || req->keep_alive == 1);
}

static void check_response(const char *d, size_t n, int head_request)
{
    struct http_header h[MAXH];
    struct http_response resp;
    memset(&resp, 0xa5, sizeof(resp));
    resp.headers = h;
    resp.max_headers = MAXH;
    int rc = http_parse_response(d, n, &LOOSE, head_request, &resp);
    check(rc >= HTTP_ERR_NOT_IMPLEMENTED && (rc <= 0 || (size_t)rc <= n));
    if (rc <= 0)
        return;
    size_t head = (size_t)rc;
    check(resp.head_len == head);
    check(resp.status >= 100 && resp.status <= 999);
    check(inside(d, head, resp.reason, resp.reason_len));
    for (size_t i = 0; i < resp.num_headers; i++) {
        check(inside(d, head, h[i].name, h[i].name_len));
        check(inside(d, head, h[i].value, h[i].value_len));
    }
    check(resp.body != HTTP_BODY_UNTIL_EOF || resp.keep_alive == 0);
    if (head_request || resp.status < 200 || resp.status == 204 || resp.status == 304)
        check(resp.body == HTTP_BODY_NONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    struct http_header h[MAXH], h2[MAXH];
    struct http_request req, req2;

    int rc = parse_req(d, size, &LOOSE, h, &req);
    check_request(d, size, rc, &req, &LOOSE);

    if (rc > 0) {
        check(parse_req(d, (size_t)rc, &LOOSE, h2, &req2) == rc);
        check(req2.num_headers == req.num_headers && req2.body == req.body);
    }
    /* errors appear only when a byte rules every continuation out */
    if (rc >= 0) {
        size_t upto = rc > 0 ? (size_t)rc : size;
        size_t probes[3] = {upto / 2, upto > 0 ? upto - 1 : 0, size > 0 ? data[0] % (upto + 1) : 0};
        for (int i = 0; i < 3; i++) {
            if (probes[i] < upto)
                check(parse_req(d, probes[i], &LOOSE, h2, &req2) == HTTP_INCOMPLETE);
        }
    }

    int tight = parse_req(d, size, &TIGHT, h2, &req2);
    check_request(d, size, tight, &req2, &TIGHT);
    if (tight > 0)
        check(tight == rc);
    if (rc < 0)
        check(tight < 0); /* tighter limits see the same bytes, or fewer and refuse */
    else if (rc < 0 && tight < 0)
        check(tight == rc || tight == HTTP_ERR_TOO_LARGE || tight == HTTP_ERR_TOO_LONG_LINE);

    check_response(d, size, size > 0 && (data[size - 1] & 1));
    return 0;
}
