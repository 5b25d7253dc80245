/* The request pipeline on a client connection:
 * head -> strip -> route -> policy -> headers -> backend -> response. */
#ifndef CERTGATE_PROXY_PIPELINE_H
#define CERTGATE_PROXY_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* Input (or EOF) arrived from the client after the handshake. */
void proxy_on_data(struct conn *c);
/* The client's output queue drained. */
void proxy_on_drain(struct conn *c);
/* The state's timer fired in CONN_HEAD or CONN_ACTIVE. */
void proxy_on_timeout(struct conn *c);
/* How long an active exchange may wait for the client now: timeouts.idle, or less when the
 * request body's rate deadline (timeouts.body + limits.body_min_rate) comes first. */
uint64_t proxy_active_timeout(const struct conn *c);
/* The connection is closing: detach from any backend. */
void proxy_on_close(struct conn *c);
/* Free what the exchange holds. */
void proxy_exchange_free(struct conn *c);
/* The response was fully queued: finish the exchange, then take the next
 * request or close. Safe to call from relay and local handlers. */
void proxy_response_done(struct conn *c);

#endif
