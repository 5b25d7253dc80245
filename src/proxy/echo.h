/* The built-in echo backend (SPEC §2): answers with the request it would
 * have forwarded and the parsed client identity, as JSON. */
#ifndef CERTGATE_PROXY_ECHO_H
#define CERTGATE_PROXY_ECHO_H

#include "http/http_types.h"

struct conn;

/* Start answering <req> (head still in the client's buffer). The body, if
 * any, is hashed as it streams in; the answer goes out when it ends. */
void echo_begin(struct conn *c, const struct http_request *req, const char *verify);

#endif
