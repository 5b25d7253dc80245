/* The header list a backend receives: the client's headers minus spoofed
 * and hop-by-hop ones, plus certgate's own (SPEC §5). */
#ifndef CERTGATE_PROXY_FORWARD_H
#define CERTGATE_PROXY_FORWARD_H

#include <stddef.h>

#include "base/buf.h"
#include "http/http_types.h"

struct conn;

typedef int (*forward_emit_fn)(void *arg, const char *name, size_t nlen, const char *value,
                               size_t vlen);

/* Mark (removed = 1) the hop-by-hop headers of <req>: Connection and every
 * header it names, Keep-Alive, Proxy-Connection, TE, Upgrade, Expect, and
 * the X-Forwarded-For/-Proto/-Host that certgate replaces. */
void forward_mark_hop_by_hop(struct http_request *req);

/* The origin-form target a backend receives: absolute-form
 * "http://host/p?q" becomes "/p?q" and "http://host?q" becomes "/?q".
 * <*path>/<*len> point into the request; <*add_slash> says a "/" must come
 * first. */
void forward_target_view(const struct http_request *req, const char **path, size_t *len,
                         int *add_slash);
/* Append that target to <out>. 0 or -1. */
int forward_target(const struct http_request *req, struct buf *out);

/* Emit every header for the backend, in order: the client's surviving
 * headers, X-Forwarded-*, then (when <with_cert>) the certificate headers,
 * then identity headers with <verify>. Returns 0, or -1 if <emit> failed. */
int forward_emit(struct conn *c, const struct http_request *req, int with_cert, const char *verify,
                 forward_emit_fn emit, void *arg);

#endif
