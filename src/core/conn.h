/* Client connection lifecycle: accept, handshake, timers, teardown. */
#ifndef CERTGATE_CORE_CONN_H
#define CERTGATE_CORE_CONN_H

#include <stdint.h>
#include <uv.h>

#include "core/conn_types.h"

/* Accept a pending connection from <server> for listener <rl>. */
void conn_accept(struct worker *w, struct rt_listener *rl, uv_stream_t *server);
/* The only writer of c->state; arms the timer that belongs to the state. */
void conn_set_state(struct conn *c, enum conn_state st);
/* Re-arm the state's timer (progress was made). */
void conn_touch(struct conn *c);
/* Stop the timer (e.g. while the backend has the next move). */
void conn_timer_stop(struct conn *c);
/* Park the connection while an OCSP query for its request runs. */
void conn_wait_revocation(struct conn *c);
/* An OCSP answer may have come: read the parked request again. */
void conn_resume(struct conn *c);
/* Queue bytes to the client. */
int conn_write(struct conn *c, const void *data, size_t len);
/* Close: <graceful> flushes what is queued and lingers; else drop now.
 * Marks the connection; the memory goes when libuv has closed its handles. */
void conn_close(struct conn *c, int graceful);
/* Make <leaf> (with <chain>, leaf first; both owned now; NULLs clear) the
 * client certificate of the requests to come. */
void conn_cert_set(struct conn *c, X509 *leaf, STACK_OF(X509) *chain);
/* Take the worker's newest config for the next request; -1 if this
 * connection's listener is gone from it (the caller closes). */
int conn_follow_config(struct conn *c);
/* Monotonic milliseconds of the connection's loop. */
uint64_t conn_now(const struct conn *c);

#endif
