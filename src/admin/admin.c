#include "admin/admin.h"

#include <string.h>

#include "core/conn.h"
#include "core/worker.h"
#include "proxy/respond.h"
#include "core/metrics.h"
#include "core/runtime.h"
#include "upstream/servers.h"

static int path_is(const char *path, size_t plen, const char *want)
{
    size_t n = strlen(want);
    return plen >= n && memcmp(path, want, n) == 0 && (plen == n || path[n] == '?');
}

static void metrics(struct conn *c)
{
    struct buf b;
    buf_init(&b, 256 * 1024);
    metrics_render(&b, c->rt);
    respond(c, 200, "text/plain; version=0.0.4", b.data, b.len);
    buf_free(&b);
}

/* Ready: the configuration is loaded and every backend a route uses has a server that takes
 * traffic (the builtin echo always does). */
static int not_ready(const struct runtime *rt, char *why, size_t len)
{
    uint64_t now = servers_now_ms();
    for (size_t i = 0; i < rt->n_backends; i++) {
        const struct rt_backend *b = &rt->backends[i];
        int used = 0, any = b->n_servers == 0;
        for (size_t l = 0; l < rt->n_listeners && !used; l++)
            for (size_t r = 0; r < rt->listeners[l].cfg->n_routes && !used; r++)
                used = rt->listeners[l].cfg->routes[r].backend == b->cfg;
        for (size_t s = 0; s < b->n_servers && !any; s++)
            any = server_available(b->servers[s].st, now);
        if (used && !any) {
            snprintf(why, len, "no server of backend '%s' takes traffic", b->cfg->name);
            return 1;
        }
    }
    return 0;
}

void admin_handle(struct conn *c, const struct http_request *req, const char *path, size_t plen)
{
    static const char ok[] = "{\"status\":\"ok\"}\n";
    static const char ready[] = "{\"status\":\"ready\"}\n";
    static const char draining[] = "{\"status\":\"draining\"}\n";
    char why[300];
    c->ex.target = EX_LOCAL;
    if (!(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0) && !c->ex.is_head) {
        respond_error(c, 405, "MethodNotAllowed", "the admin endpoints answer GET only");
        return;
    }
    if (path_is(path, plen, "/health"))
        respond(c, 200, "application/json", ok, sizeof(ok) - 1);
    else if (path_is(path, plen, "/ready") && c->w->draining)
        respond(c, 503, "application/json", draining, sizeof(draining) - 1);
    else if (path_is(path, plen, "/ready") && not_ready(c->rt, why, sizeof(why))) {
        struct buf b;
        buf_init(&b, 1024);
        buf_puts(&b, "{\"status\":\"not ready\",\"detail\":\"");
        buf_json_escape(&b, why, strlen(why));
        buf_puts(&b, "\"}\n");
        respond(c, 503, "application/json", b.data, b.len);
        buf_free(&b);
    } else if (path_is(path, plen, "/ready"))
        respond(c, 200, "application/json", ready, sizeof(ready) - 1);
    else if (path_is(path, plen, "/metrics"))
        metrics(c);
    else
        respond_error(c, 404, "NotFound", "the admin listener serves /health, /ready and /metrics");
}
