/* Strict HTTP/1.1 parser (RFC 9110/9112). Nothing here allocates. */
#ifndef CERTGATE_HTTP_PARSE_H
#define CERTGATE_HTTP_PARSE_H

#include "http/http_types.h"

/* Parse a request head from <buf>/<len>. <req->headers>/<req->max_headers>
 * must be set by the caller. Returns the head length (>0) when complete,
 * HTTP_INCOMPLETE when more bytes are needed, or a negative enum http_status.
 * Strict: rejects obs-fold, bare CR, bare LF line ends, whitespace before the
 * colon, invalid token/field bytes, CL together with TE, differing or
 * malformed Content-Lengths, TE other than a final "chunked" (501), several
 * Host headers, a missing Host in HTTP/1.1, absolute-form targets whose
 * authority differs from Host, and NUL anywhere. Pointers in <req> point
 * into <buf>. Re-parsing a longer buffer from the start is the incremental
 * model: a caller keeps <buf> and calls again after more bytes arrive. */
int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req);

/* Same for a response head from a backend. <head_request> is 1 when the
 * request was HEAD; 1xx/204/304 and HEAD responses get HTTP_BODY_NONE. */
int http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
                        int head_request, struct http_response *resp);

/* Prepare <st> for a body of <kind> (and <length> for HTTP_BODY_LENGTH). */
void http_body_init(struct http_body_state *st, enum http_body_kind kind, uint64_t length);

/* Called for each span of decoded body data (chunk framing removed). */
typedef void (*http_body_data_cb)(void *arg, const char *data, size_t len);

/* Feed <len> raw bytes. Returns the number of bytes consumed (the prefix of
 * <buf> that belongs to this body; the rest is the next message), or -1 on a
 * framing error (bad chunk size, missing CRLF, oversize line). <cb> may be
 * NULL. st->done is set once the body, including chunked trailers, ended. */
long http_body_feed(struct http_body_state *st, const char *buf, size_t len, http_body_data_cb cb,
                    void *arg);

/* Case-insensitive ASCII compare of a header name against <name>. */
int http_name_eq(const struct http_header *h, const char *name);

/* Does the comma-separated token list <value> contain <token> (case-insensitive)? */
int http_list_has(const char *value, size_t len, const char *token);

#endif
