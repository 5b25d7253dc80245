/* Relaying an exchange between a client connection and a backend. */
#ifndef CERTGATE_PROXY_RELAY_H
#define CERTGATE_PROXY_RELAY_H

#include "upstream/upstream.h"

struct conn;

/* A WebSocket tunnel is open: the client's bytes go to the backend as they are. */
void relay_tunnel_client(struct conn *c);
/* Start relaying <c>'s current exchange (head already built in ex.up_head). */
void relay_start(struct conn *c);
/* Upstream events, delivered by upstream.c while the upstream is busy. */
void relay_upstream_ready(struct upstream *u);
void relay_upstream_failed(struct upstream *u, enum upstream_failure why);
void relay_upstream_data(struct upstream *u);
void relay_upstream_drain(struct upstream *u);
/* Client-side events while the exchange is relayed. */
void relay_client_body(struct conn *c);
void relay_client_drain(struct conn *c);
/* The client connection is going away: detach and close the upstream. */
void relay_abort(struct conn *c);

#endif
