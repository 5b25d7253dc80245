/* A parsed request head: checks, routing, policy, and hand-off. */
#ifndef CERTGATE_PROXY_REQUEST_H
#define CERTGATE_PROXY_REQUEST_H

#include "http/http_types.h"

struct conn;

/* Take over the request whose head is at the start of the client's input.
 * Consumes the head; answers locally or starts the relay. */
void request_begin(struct conn *c, struct http_request *req);

#endif
