/* Relaying an exchange between a client connection and a backend. */
#ifndef CERTGATE_PROXY_RELAY_H
#define CERTGATE_PROXY_RELAY_H

struct conn;
struct upstream;

/* Start relaying <c>'s current exchange (head already built in ex.up_head). */
void relay_start(struct conn *c);
/* Upstream events, delivered by upstream.c while the upstream is busy. */
void relay_upstream_ready(struct upstream *u);
void relay_upstream_failed(struct upstream *u, int timed_out);
void relay_upstream_data(struct upstream *u);
void relay_upstream_drain(struct upstream *u);
/* Client-side events while the exchange is relayed. */
void relay_client_body(struct conn *c);
void relay_client_drain(struct conn *c);
/* The client connection is going away: detach and close the upstream. */
void relay_abort(struct conn *c);

#endif
