/* config_free: frees whole and half-built configs (run under ASan for leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config_internal.h"

static char **strv(const char *a, const char *b)
{
    char **v = calloc(2, sizeof(*v));

    v[0] = strdup(a);
    v[1] = strdup(b);
    return v;
}

static void test_free_null(void **state)
{
    config_free(NULL);
}

/* Every owned pointer set, as a loader would leave it. */
static void test_free_everything(void **state)
{
    struct config *cfg = calloc(1, sizeof(*cfg));
    struct cfg_listener *l;
    struct cfg_policy *inl;

    cfg->path = strdup("c.yaml");
    cfg->dir = strdup("/etc");
    cfg->n_policies = 1;
    cfg->policies = calloc(1, sizeof(*cfg->policies));
    cfg->policies[0].name = strdup("p");
    cfg->policies[0].trusted_ca = strv("/a", "/b");
    cfg->policies[0].n_trusted_ca = 2;
    cfg->policies[0].intermediates = strv("/c", "/d");
    cfg->policies[0].n_intermediates = 2;
    cfg->n_backends = 1;
    cfg->backends = calloc(2, sizeof(*cfg->backends));
    cfg->backends[0].name = strdup("b");
    cfg->backends[0].n_servers = 1;
    cfg->backends[0].servers = calloc(1, sizeof(struct cfg_server));
    cfg->backends[0].servers[0].url = strdup("http://x:1");
    cfg->backends[0].servers[0].host = strdup("x");
    cfg->admin.address = strdup(":1");
    cfg->admin.host = strdup("0.0.0.0");
    /* two listeners, the second half-built: zeroed past its name */
    cfg->n_listeners = 2;
    cfg->listeners = calloc(2, sizeof(*cfg->listeners));
    l = &cfg->listeners[0];
    l->name = strdup("a");
    l->address = strdup(":2");
    l->host = strdup("0.0.0.0");
    l->n_certs = 2;
    l->certs = calloc(2, sizeof(*l->certs));
    l->certs[0].cert = strdup("/s.pem");
    l->certs[0].key = strdup("/s.key");
    l->certs[1].pkcs12 = strdup("/s.p12");
    l->certs[1].password_env = strdup("PW");
    l->certs[1].password_file = strdup("/pw");
    inl = calloc(1, sizeof(*inl));
    inl->trusted_ca = strv("/ca", "/ca2");
    inl->n_trusted_ca = 2;
    l->client_auth.policy = inl;
    l->client_auth.policy_inline = 1;
    assert_int_equal(cfg_forward_defaults(&l->forward), 0);
    l->n_routes = 1;
    l->routes = calloc(1, sizeof(*l->routes));
    l->routes[0].host = strdup("h");
    l->routes[0].path_prefix = strdup("/");
    l->routes[0].policy = &cfg->policies[0];
    l->routes[0].backend = &cfg->backends[0];
    cfg->listeners[1].name = strdup("b");
    /* a named policy is borrowed, not freed through the listener */
    cfg->listeners[1].client_auth.policy = &cfg->policies[0];
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_free_everything),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
