/* Types of the strict HTTP/1.1 parser: views into the caller's buffer (zero-copy). */
#ifndef CERTGATE_HTTP_TYPES_H
#define CERTGATE_HTTP_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* A header line as it appeared; <name>/<value> point into the parsed buffer.
 * <value> has leading/trailing OWS trimmed. <removed> is set by filters
 * (anti-spoofing strip, hop-by-hop removal) so the list itself never moves. */
struct http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    int removed;
};

/* Limits every parse is born with (SPEC §9). */
struct http_limits {
    size_t request_line; /* max bytes of the request line, CRLF excluded */
    size_t header_bytes; /* max bytes of the whole head, CRLFCRLF included */
    size_t headers;      /* max header lines; must be <= the caller's array */
};

enum http_body_kind {
    HTTP_BODY_NONE = 0,  /* no body: no CL/TE, or CL: 0, or a response that cannot have one */
    HTTP_BODY_LENGTH,    /* Content-Length bytes */
    HTTP_BODY_CHUNKED,   /* Transfer-Encoding: chunked */
    HTTP_BODY_UNTIL_EOF, /* responses only: delimited by connection close */
};

struct http_request {
    const char *method;
    size_t method_len;
    const char *target; /* request-target exactly as sent */
    size_t target_len;
    int minor;                   /* HTTP/1.<minor>: 0 or 1 */
    struct http_header *headers; /* caller-owned array of <max_headers> entries */
    size_t num_headers;
    size_t max_headers;
    size_t head_len; /* bytes of the head including the final CRLFCRLF */
    /* derived while parsing */
    enum http_body_kind body;
    uint64_t content_length;        /* valid when body == HTTP_BODY_LENGTH */
    int keep_alive;                 /* 1.1 without "close", or 1.0 with "keep-alive" */
    int expect_continue;            /* Expect: 100-continue */
    int upgrade;                    /* an Upgrade header was present */
    const struct http_header *host; /* the single Host header, NULL if none */
};

struct http_response {
    int minor;
    int status;
    const char *reason;
    size_t reason_len;
    struct http_header *headers; /* caller-owned array of <max_headers> entries */
    size_t num_headers;
    size_t max_headers;
    size_t head_len;
    enum http_body_kind body;
    uint64_t content_length;
    int keep_alive;
};

/* Parse results. >0 is the head length (complete); the rest are below. */
enum http_status {
    HTTP_INCOMPLETE = 0,
    HTTP_ERR_BAD = -1,             /* malformed or ambiguous: 400 and close */
    HTTP_ERR_TOO_LONG_LINE = -2,   /* request line over the limit: 414 */
    HTTP_ERR_TOO_LARGE = -3,       /* head bytes or header count over the limit: 431 */
    HTTP_ERR_VERSION = -4,         /* not HTTP/1.0 or HTTP/1.1: 505 */
    HTTP_ERR_NOT_IMPLEMENTED = -5, /* a Transfer-Encoding other than chunked: 501 */
};

/* Incremental body framing: feed raw bytes, learn how many belong to the body
 * and, for chunked, the decoded data. State survives across calls. */
struct http_body_state {
    enum http_body_kind kind;
    uint64_t remaining; /* LENGTH: bytes left; CHUNKED: bytes left in this chunk */
    int _state;         /* chunked sub-state, private */
    size_t _line;       /* bytes of the current size/trailer line, bounded */
    size_t _trailers;   /* trailer bytes seen, bounded */
    int done;           /* the body (and trailers) ended */
};

#endif
