/* The admin listener: /health, /ready, /metrics. */
#ifndef CERTGATE_ADMIN_ADMIN_H
#define CERTGATE_ADMIN_ADMIN_H

#include <stddef.h>

#include "http/http_types.h"

struct conn;

void admin_handle(struct conn *c, const struct http_request *req, const char *path, size_t plen);

#endif
