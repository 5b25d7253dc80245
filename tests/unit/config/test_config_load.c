/* config_load: a full config's values, defaults, reference resolution, and the
 * errors of the top-level sections (listener errors: test_config_listener.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config/cfg_test.h"
#include "config/config.h"

#define LISTENER "listeners:\n  - {name: web, address: \":8080\"}\n"

static void assert_abs(const char *got, const char *name)
{
    assert_non_null(got);
    assert_string_equal(got, cfg_test_abs(name));
}

static void test_full(void **state)
{
    struct cfg_error err;
    struct config *cfg;
    struct cfg_listener *l;
    struct cfg_policy *dev, *reg;
    struct cfg_backend *app, *def;
    char cwd[PATH_MAX];

    setenv("CERTGATE_TEST_P12_PASSWORD", "secret", 1);
    cfg = config_load("full.yaml", &err);
    unsetenv("CERTGATE_TEST_P12_PASSWORD");
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->path, "full.yaml");
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_string_equal(cfg->dir, cwd);
    assert_int_equal(cfg->workers, 4);
    assert_int_equal(cfg->log.access, 0);
    assert_string_equal(cfg->admin.address, "127.0.0.1:9901");
    assert_string_equal(cfg->admin.host, "127.0.0.1");
    assert_int_equal(cfg->admin.port, 9901);

    assert_int_equal(cfg->n_policies, 2);
    dev = &cfg->policies[0];
    reg = &cfg->policies[1];
    assert_string_equal(dev->name, "dev-clients");
    assert_int_equal(dev->n_trusted_ca, 1);
    assert_abs(dev->trusted_ca[0], "ca.pem");
    assert_int_equal(dev->n_intermediates, 1);
    assert_abs(dev->intermediates[0], "server.pem");
    assert_ptr_equal(dev->pos.file, cfg->path);
    assert_int_equal(dev->pos.line, 41);
    assert_int_equal(dev->pos.col, 3);
    assert_string_equal(reg->name, "registered");
    assert_int_equal(reg->n_trusted_ca, 2);
    assert_abs(reg->trusted_ca[1], "server.pem");
    assert_int_equal(reg->n_intermediates, 0);
    assert_null(reg->intermediates);

    assert_int_equal(cfg->n_backends, 2);
    app = &cfg->backends[0];
    def = &cfg->backends[1];
    assert_string_equal(app->name, "app");
    assert_int_equal(app->builtin_echo, 0);
    assert_int_equal(app->n_servers, 3);
    assert_string_equal(app->servers[0].url, "http://127.0.0.1:3000");
    assert_int_equal(app->servers[0].tls, 0);
    assert_string_equal(app->servers[0].host, "127.0.0.1");
    assert_int_equal(app->servers[0].port, 3000);
    assert_string_equal(app->servers[1].url, "https://[::1]:8443/");
    assert_int_equal(app->servers[1].tls, 1);
    assert_string_equal(app->servers[1].host, "::1");
    assert_int_equal(app->servers[1].port, 8443);
    assert_string_equal(app->servers[2].host, "app.internal");
    assert_int_equal(app->servers[2].port, 443);
    assert_int_equal(app->timeouts.connect, 1000);
    assert_int_equal(app->timeouts.response, 20000);
    assert_int_equal(app->timeouts.handshake, 0);
    assert_int_equal(app->pos.line, 47);
    assert_string_equal(def->name, "default");
    assert_int_equal(def->builtin_echo, 1);
    assert_int_equal(def->n_servers, 0);
    assert_int_equal(def->timeouts.connect, 0);
    assert_int_equal(def->timeouts.response, 0);

    assert_int_equal(cfg->n_listeners, 3);
    l = &cfg->listeners[0];
    assert_string_equal(l->name, "mtls");
    assert_string_equal(l->address, "0.0.0.0:8443");
    assert_string_equal(l->host, "0.0.0.0");
    assert_int_equal(l->port, 8443);
    assert_int_equal(l->pos.line, 4);
    assert_int_equal(l->pos.col, 5);
    assert_int_equal(l->tls, 1);
    assert_int_equal(l->admin, 0);
    assert_int_equal(l->n_certs, 3);
    assert_abs(l->certs[0].cert, "server.pem");
    assert_abs(l->certs[0].key, "server.key");
    assert_null(l->certs[0].pkcs12);
    assert_int_equal(l->certs[0].pos.line, 8);
    assert_int_equal(l->certs[0].pos.col, 11);
    assert_null(l->certs[1].cert);
    assert_abs(l->certs[1].pkcs12, "server.p12");
    assert_string_equal(l->certs[1].password_env, "CERTGATE_TEST_P12_PASSWORD");
    assert_null(l->certs[1].password_file);
    assert_abs(l->certs[2].password_file, "p12.pass");
    assert_int_equal(l->certs[2].pos.line, 10);
    assert_int_equal(l->certs[2].pos.col, 11);
    assert_int_equal(l->client_auth.mode, CA_REQUIRE);
    assert_int_equal(l->client_auth.on_failure, ON_FAILURE_ALERT);
    assert_ptr_equal(l->client_auth.policy, dev);
    assert_int_equal(l->client_auth.policy_inline, 0);
    assert_int_equal(l->timeouts.handshake, 5000);
    assert_int_equal(l->timeouts.header, 2000);
    assert_int_equal(l->timeouts.idle, 90000);
    assert_int_equal(l->timeouts.connect, 250);
    assert_int_equal(l->timeouts.response, 3600000);
    assert_int_equal(l->limits.request_line, 4096);
    assert_int_equal(l->limits.header_bytes, 16384);
    assert_int_equal(l->limits.headers, 50);
    assert_int_equal(l->limits.connections, 200);
    assert_int_equal(l->forward.n_headers, 6);
    assert_string_equal(l->forward.headers[0].name, "X-ARR-ClientCert");
    assert_int_equal(l->forward.headers[0].format, FWD_BASE64_DER);
    assert_int_equal(l->forward.headers[0].chain, 0);
    assert_string_equal(l->forward.headers[1].name, "Client-Cert");
    assert_int_equal(l->forward.headers[1].format, FWD_RFC9440);
    assert_int_equal(l->forward.headers[1].chain, 1);
    assert_int_equal(l->forward.headers[2].format, FWD_PEM_URLENCODED);
    assert_int_equal(l->forward.headers[3].format, FWD_HEX);
    assert_int_equal(l->forward.headers[4].format, FWD_XFCC);
    assert_string_equal(l->forward.headers[5].name, "");
    assert_int_equal(l->forward.headers[5].format, FWD_HEX);
    assert_string_equal(l->forward.identity.verify, "X-Client-Cert-Verify");
    assert_string_equal(l->forward.identity.subject, "X-Subject");
    assert_string_equal(l->forward.identity.issuer, "X-Client-Cert-Issuer");
    assert_null(l->forward.identity.serial);
    assert_null(l->forward.identity.sha1);
    assert_string_equal(l->forward.identity.sha256, "X-Client-Cert-SHA256");
    assert_string_equal(l->forward.identity.not_before, "X-Client-Cert-Not-Before");
    assert_string_equal(l->forward.identity.not_after, "X-Client-Cert-Not-After");
    assert_int_equal(l->n_routes, 3);
    assert_null(l->routes[0].host);
    assert_string_equal(l->routes[0].path_prefix, "/health");
    assert_null(l->routes[0].policy);
    assert_int_equal(l->routes[0].policy_none, 1);
    assert_ptr_equal(l->routes[0].backend, app);
    assert_int_equal(l->routes[0].pos.line, 25);
    assert_int_equal(l->routes[0].pos.col, 9);
    assert_string_equal(l->routes[1].host, "api.example.com");
    assert_string_equal(l->routes[1].path_prefix, "/api");
    assert_ptr_equal(l->routes[1].policy, reg);
    assert_int_equal(l->routes[1].policy_none, 0);
    assert_ptr_equal(l->routes[1].backend, def); /* no backend: the one named "default" */
    assert_int_equal(l->routes[1].pos.line, 26);
    assert_null(l->routes[2].host);
    assert_string_equal(l->routes[2].path_prefix, "/");
    assert_null(l->routes[2].policy);
    assert_ptr_equal(l->routes[2].backend, app);

    l = &cfg->listeners[1];
    assert_string_equal(l->name, "inline");
    assert_string_equal(l->host, "::1");
    assert_int_equal(l->port, 9443);
    assert_int_equal(l->n_certs, 1);
    assert_abs(l->certs[0].pkcs12, "nopass.p12");
    assert_int_equal(l->client_auth.mode, CA_OPTIONAL);
    assert_int_equal(l->client_auth.on_failure, ON_FAILURE_HTTP);
    assert_int_equal(l->client_auth.policy_inline, 1);
    assert_null(l->client_auth.policy->name);
    assert_int_equal(l->client_auth.policy->n_trusted_ca, 1);
    assert_abs(l->client_auth.policy->trusted_ca[0], "ca.pem");
    assert_int_equal(l->client_auth.policy->n_intermediates, 2);
    assert_abs(l->client_auth.policy->intermediates[1], "server.pem");
    assert_int_equal(l->client_auth.policy->pos.line, 34);
    assert_int_equal(l->client_auth.policy->pos.col, 9);
    assert_int_equal(l->forward.n_headers, 0);
    assert_null(l->forward.identity.verify);
    assert_null(l->forward.identity.not_after);
    assert_int_equal(l->n_routes, 1);
    assert_string_equal(l->routes[0].path_prefix, "/");
    assert_ptr_equal(l->routes[0].backend, def);

    l = &cfg->listeners[2];
    assert_string_equal(l->host, "127.0.0.1");
    assert_int_equal(l->port, 8080);
    assert_int_equal(l->tls, 0);
    assert_int_equal(l->n_certs, 0);
    config_free(cfg);
}

static void test_defaults(void **state)
{
    struct cfg_error err;
    struct config *cfg = config_load("minimal.yaml", &err);
    struct cfg_listener *l;

    if (!cfg)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->workers, 0);
    assert_int_equal(cfg->log.access, 1);
    assert_null(cfg->admin.address);
    assert_int_equal(cfg->n_policies, 0);
    l = &cfg->listeners[0];
    assert_string_equal(l->name, "web");
    assert_string_equal(l->host, "0.0.0.0");
    assert_int_equal(l->tls, 0);
    assert_int_equal(l->client_auth.mode, CA_IGNORE);
    assert_int_equal(l->client_auth.on_failure, ON_FAILURE_HTTP);
    assert_null(l->client_auth.policy);
    assert_int_equal(l->timeouts.handshake, 10000);
    assert_int_equal(l->timeouts.header, 10000);
    assert_int_equal(l->timeouts.idle, 60000);
    assert_int_equal(l->timeouts.connect, 5000);
    assert_int_equal(l->timeouts.response, 60000);
    assert_int_equal(l->limits.request_line, 8192);
    assert_int_equal(l->limits.header_bytes, 32768);
    assert_int_equal(l->limits.headers, 100);
    assert_int_equal(l->limits.connections, 10000);
    assert_int_equal(l->forward.n_headers, 1);
    assert_string_equal(l->forward.headers[0].name, "X-ARR-ClientCert");
    assert_int_equal(l->forward.headers[0].format, FWD_BASE64_DER);
    assert_int_equal(l->forward.headers[0].chain, 0);
    assert_string_equal(l->forward.identity.verify, "X-Client-Cert-Verify");
    assert_string_equal(l->forward.identity.subject, "X-Client-Cert-Subject");
    assert_string_equal(l->forward.identity.issuer, "X-Client-Cert-Issuer");
    assert_string_equal(l->forward.identity.serial, "X-Client-Cert-Serial");
    assert_string_equal(l->forward.identity.sha1, "X-Client-Cert-SHA1");
    assert_string_equal(l->forward.identity.sha256, "X-Client-Cert-SHA256");
    assert_string_equal(l->forward.identity.not_before, "X-Client-Cert-Not-Before");
    assert_string_equal(l->forward.identity.not_after, "X-Client-Cert-Not-After");
    /* no routes and no backends: one route to an implicit builtin echo */
    assert_int_equal(l->n_routes, 1);
    assert_null(l->routes[0].host);
    assert_string_equal(l->routes[0].path_prefix, "/");
    assert_null(l->routes[0].policy);
    assert_int_equal(l->routes[0].policy_none, 0);
    assert_int_equal(cfg->n_backends, 1);
    assert_ptr_equal(l->routes[0].backend, &cfg->backends[0]);
    assert_string_equal(cfg->backends[0].name, "echo");
    assert_int_equal(cfg->backends[0].builtin_echo, 1);
    config_free(cfg);
}

static void test_first_backend_is_default(void **state)
{
    struct cfg_error err;
    struct config *cfg = cfg_test_load(LISTENER "backends:\n"
                                                "  b1: {servers: [http://127.0.0.1:1]}\n"
                                                "  b2: {builtin: echo}\n",
                                       &err);

    if (!cfg)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->n_backends, 2);
    assert_ptr_equal(cfg->listeners[0].routes[0].backend, &cfg->backends[0]);
    config_free(cfg);
}

static void test_sections_in_any_order(void **state)
{
    struct cfg_error err;
    struct config *cfg = cfg_test_load("workers: 1\n"
                                       "listeners:\n"
                                       "  - name: a\n"
                                       "    address: :1\n"
                                       "    routes: [{policy: p, backend: b}]\n"
                                       "backends: {b: {builtin: echo}}\n"
                                       "policies: {p: {trusted_ca: ca.pem}}\n",
                                       &err);

    if (!cfg)
        fail_msg("%s", err.msg);
    assert_ptr_equal(cfg->listeners[0].routes[0].policy, &cfg->policies[0]);
    assert_ptr_equal(cfg->listeners[0].routes[0].backend, &cfg->backends[0]);
    config_free(cfg);
}

static void test_paths_relative_to_file(void **state)
{
    struct cfg_error err;
    struct config *cfg;

    assert_int_equal(mkdir("sub", 0700), 0);
    assert_int_equal(cfg_test_copy("ca.pem", "sub/ca.pem"), 0);
    cfg_test_write("sub/c.yaml", LISTENER "policies: {p: {trusted_ca: ca.pem}}\n");
    cfg = config_load("./sub/c.yaml", &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->dir, cfg_test_abs("sub"));
    assert_string_equal(cfg->policies[0].trusted_ca[0], cfg_test_abs("sub/ca.pem"));
    config_free(cfg);
    unlink("sub/ca.pem");
    unlink("sub/c.yaml");
    rmdir("sub");
}

static void test_file_errors(void **state)
{
    struct cfg_error err;

    assert_null(config_load("missing.yaml", &err));
    assert_string_equal(err.msg, "cannot open 'missing.yaml': No such file or directory");
    assert_null(config_load(".", &err));
    assert_string_equal(err.msg, "cannot open '.': Is a directory");
    cfg_expect_err("", "c.yaml:1:1: the file is empty; expected a mapping with 'listeners'");
    cfg_expect_err("# nothing\n",
                   "c.yaml:1:1: the file is empty; expected a mapping with 'listeners'");
    cfg_expect_err("- a\n", "c.yaml:1:1: expected a mapping at the top level, got a list");
    cfg_expect_err("hello\n", "c.yaml:1:1: expected a mapping at the top level, got 'hello'");
    cfg_expect_err(
        "listeners:\n  - name: [a\n",
        "c.yaml:3:1: YAML syntax error: did not find expected ',' or ']' (while parsing a "
        "flow sequence at line 2)");
    cfg_expect_err("listeners: []\nlisteners: []\n", "c.yaml:2:1: duplicate key 'listeners' (first "
                                                     "at line 1)");
}

static void test_top_level_errors(void **state)
{
    cfg_expect_err(LISTENER "listener: x\n",
                   "c.yaml:3:1: unknown key 'listener' at the top level (valid keys: listeners, "
                   "policies, backends, admin, log, workers, drain_timeout, reload, ticket_keys)");
    cfg_expect_err("workers: 2\n", "c.yaml:1:1: missing required key 'listeners' at the top level");
    cfg_expect_err("listeners: {}\n",
                   "c.yaml:1:12: expected a list for 'listeners', got a mapping");
    cfg_expect_err("listeners:\n", "c.yaml:1:11: expected a list for 'listeners', got null");
    cfg_expect_err("listeners: []\n", "c.yaml:1:12: 'listeners' must list at least one listener");
    cfg_expect_err("listeners:\n  - web\n",
                   "c.yaml:2:5: expected a mapping for an entry of 'listeners', got 'web'");
    cfg_expect_err(LISTENER "workers: 0\n",
                   "c.yaml:3:10: expected a whole number from 1 to 1024 for 'workers', got '0'");
    cfg_expect_err(LISTENER "workers: 1025\n",
                   "c.yaml:3:10: expected a whole number from 1 to 1024 for 'workers', got '1025'");
    cfg_expect_err(LISTENER "workers: four\n",
                   "c.yaml:3:10: expected a whole number from 1 to 1024 for 'workers', got 'four'");
    cfg_expect_err(LISTENER "workers: [1]\n",
                   "c.yaml:3:10: expected a whole number from 1 to 1024 for 'workers', got a list");
}

static void test_log_admin_errors(void **state)
{
    cfg_expect_err(LISTENER "log: {access: stderr}\n",
                   "c.yaml:3:15: 'access' is 'stdout', or 'off', or a file path ('./stderr' for a "
                   "relative one)");
    cfg_expect_err(LISTENER "log: {errors: stdout}\n",
                   "c.yaml:3:15: 'errors' is 'stderr', or a file path ('./stdout' for a relative "
                   "one)");
    cfg_expect_err(LISTENER "log: {format: text}\n",
                   "c.yaml:3:15: invalid value 'text' for 'format' (valid: json)");
    cfg_expect_err(LISTENER "log: {level: loud}\n",
                   "c.yaml:3:14: invalid value 'loud' for 'level' (valid: debug, info, warn, "
                   "error)");
    cfg_expect_err(LISTENER "log: {rotate: daily}\n",
                   "c.yaml:3:7: unknown key 'rotate' in 'log' (valid keys: access, errors, level, "
                   "format)");
    cfg_expect_err(LISTENER "log: stdout\n",
                   "c.yaml:3:6: expected a mapping for 'log', got 'stdout'");
    cfg_expect_err(LISTENER "admin: {}\n", "c.yaml:3:8: missing required key 'address' in 'admin'");
    cfg_expect_err(LISTENER "admin: {address: 127.0.0.1}\n",
                   "c.yaml:3:18: invalid address '127.0.0.1': missing ':port'");
    cfg_expect_err(LISTENER "admin: {address: '127.0.0.1:8080'}\n",
                   "c.yaml:3:18: admin address '127.0.0.1:8080' conflicts with listener 'web' "
                   "(:8080)");
}

static void test_operations_keys(void **state)
{
    struct config *c = cfg_expect_ok(LISTENER "log: {access: ./access.log, errors: /tmp/e.log, "
                                              "level: warn}\ndrain_timeout: 5s\n"
                                              "reload: {watch: true}\n");
    assert_string_equal(c->log.access_path, cfg_test_abs("access.log"));
    assert_string_equal(c->log.errors_path, "/tmp/e.log");
    assert_int_equal(c->log.access, 1);
    assert_int_equal(c->log.level, LOG_WARN);
    assert_int_equal(c->drain_timeout_ms, 5000);
    assert_int_equal(c->reload_watch, 1);
    assert_null(c->ticket_keys);
    config_free(c);
    c = cfg_expect_ok(LISTENER "log: {access: off}\n");
    assert_int_equal(c->log.access, 0);
    assert_null(c->log.access_path);
    assert_int_equal(c->log.level, LOG_INFO);
    assert_int_equal(c->drain_timeout_ms, 0);
    config_free(c);
    /* 80 bytes of base64 on one line, and the same wrapped as `openssl rand -base64 80` does */
    cfg_test_write("keys", "# rotate by putting a new key first\n"
                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy"
                           "MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8=\n\n"
                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n"
                           "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8=\n");
    c = cfg_expect_ok(LISTENER "ticket_keys: keys\n");
    assert_string_equal(c->ticket_keys, cfg_test_abs("keys"));
    config_free(c);
    cfg_test_write("short", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX\n");
    char want[PATH_MAX + 4600];
    snprintf(want, sizeof(want),
             "c.yaml:3:14: ticket key file '%s' line 1 does not hold the base64 of 80 bytes "
             "(make a key with: openssl rand -base64 80)",
             cfg_test_abs("short"));
    cfg_expect_err(LISTENER "ticket_keys: short\n", want);
    cfg_expect_err(
        LISTENER "drain_timeout: 30\n",
        "c.yaml:3:16: invalid duration '30' for 'drain_timeout': use a number and a unit, "
        "as 500ms, 30s, 5m or 1h");
    cfg_expect_err(LISTENER "reload: {watch: maybe}\n",
                   "c.yaml:3:17: expected true or false for 'watch', got 'maybe'");
}

static void test_policy_errors(void **state)
{
    cfg_expect_err(LISTENER "policies: [a]\n",
                   "c.yaml:3:11: expected a mapping for 'policies', got a list");
    cfg_expect_err(LISTENER "policies:\n  p:\n",
                   "c.yaml:4:5: expected a mapping for policy 'p', got null");
    cfg_expect_err(LISTENER "policies:\n  none: {trusted_ca: ca.pem}\n",
                   "c.yaml:4:3: the policy name 'none' is reserved (a route's 'policy: none' means "
                   "no check)");
    cfg_expect_err(LISTENER "policies:\n  p: {intermediates: [ca.pem]}\n",
                   "c.yaml:4:6: missing required key 'trusted_ca' in policy 'p'");
    cfg_expect_err(
        LISTENER "policies:\n  p: {trusted_ca: ca.pem, ocsp: {}}\n",
        "c.yaml:4:27: unknown key 'ocsp' in policy 'p' (valid keys: trusted_ca, "
        "intermediates, allowed_issuers, max_depth, require_client_auth_eku, "
        "min_rsa_bits, min_ec_bits, allow_weak_signatures, allow, status, revocation, inherit)");
    cfg_expect_err(LISTENER "policies:\n  p: {trusted_ca: ca.pem, revocation: {mode: crl}}\n",
                   "c.yaml:4:39: revocation mode 'crl' needs 'crl: [files]' or 'crl_fetch: true'");
    cfg_expect_err(LISTENER "policies:\n  p: {trusted_ca: ca.pem, revocation: {mode: ocsp2}}\n",
                   "c.yaml:4:46: invalid value 'ocsp2' for 'mode' (valid: off, crl, ocsp)");
    cfg_expect_err(LISTENER "policies:\n  p: {trusted_ca: ca.pem, revocation: {crl: [ca.pem]}}\n",
                   "c.yaml:4:46: no CRL found in 'ca.pem' (PEM or DER expected)");
    cfg_expect_err(LISTENER "policies:\n  p: {trusted_ca: []}\n",
                   "c.yaml:4:19: 'trusted_ca' must name at least one file");
    cfg_expect_err(LISTENER "policies:\n  p: {trusted_ca: {a: b}}\n",
                   "c.yaml:4:19: expected a file name or a list of file names for 'trusted_ca', "
                   "got a mapping");
    cfg_expect_err(LISTENER "policies:\n  p: {trusted_ca: [[ca.pem]]}\n",
                   "c.yaml:4:20: expected a string for an entry of 'trusted_ca', got a list");
    cfg_expect_err(LISTENER "policies:\n  p:\n    trusted_ca: [ca.pem, nope.pem]\n",
                   "c.yaml:5:26: cannot open 'nope.pem': No such file or directory");
    cfg_expect_err(LISTENER "policies:\n  p:\n    trusted_ca: notpem.txt\n",
                   "c.yaml:5:17: no certificate found in 'notpem.txt'");
    cfg_expect_err(LISTENER
                   "policies:\n  p:\n    trusted_ca: ca.pem\n    intermediates: server.key\n",
                   "c.yaml:6:20: no certificate found in 'server.key'");
}

static void test_backend_errors(void **state)
{
    cfg_expect_err(LISTENER "backends:\n  app: {}\n",
                   "c.yaml:4:8: backend 'app' needs 'servers' or 'builtin'");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: echo, servers: ['http://a:1']}\n",
                   "c.yaml:4:9: backend 'app' has both 'servers' and 'builtin'; use one");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: nginx}\n",
                   "c.yaml:4:18: invalid value 'nginx' for 'builtin' (valid: echo)");
    cfg_expect_err(LISTENER "backends:\n  app: {servers: []}\n",
                   "c.yaml:4:18: 'servers' must list at least one URL");
    cfg_expect_err(LISTENER "backends:\n  app: {servers: http://a:1}\n",
                   "c.yaml:4:18: expected a list for 'servers', got 'http://a:1'");
    cfg_expect_err(LISTENER "backends:\n  app:\n    servers:\n      - http://127.0.0.1:3000\n"
                            "      - tcp://127.0.0.1:3001\n",
                   "c.yaml:7:9: invalid server URL 'tcp://127.0.0.1:3001': the URL must start with "
                   "http:// or https://");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: echo, weight: 2}\n",
                   "c.yaml:4:24: unknown key 'weight' in backend 'app' (valid keys: servers, "
                   "builtin, balance, tls, health, passive, pool, timeouts)");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: echo, timeouts: {idle: 5s}}\n",
                   "c.yaml:4:35: unknown key 'idle' in 'timeouts' (valid keys: connect, response)");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: echo, timeouts: {connect: 5}}\n",
                   "c.yaml:4:44: invalid duration '5' for 'connect': use a number and a unit, as "
                   "500ms, 30s, 5m or 1h");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: echo, timeouts: {connect: 0ms}}\n",
                   "c.yaml:4:44: 'connect' must be greater than 0");
    cfg_expect_err(LISTENER "backends:\n  app: {builtin: echo, timeouts: {connect: true}}\n",
                   "c.yaml:4:44: invalid duration 'true' for 'connect': use a number and a unit, "
                   "as 500ms, 30s, 5m or 1h");
}

static void test_undefined_references(void **state)
{
    cfg_expect_err("listeners:\n"
                   "  - name: a\n"
                   "    address: :1\n"
                   "    routes: [{policy: nope}]\n"
                   "policies: {p1: {trusted_ca: ca.pem}, p2: {trusted_ca: ca.pem}}\n",
                   "c.yaml:4:23: undefined policy 'nope' (defined policies: p1, p2)");
    cfg_expect_err("listeners:\n"
                   "  - name: a\n"
                   "    address: :1\n"
                   "    routes: [{policy: nope}]\n",
                   "c.yaml:4:23: undefined policy 'nope' (no policies are defined)");
    cfg_expect_err("listeners:\n"
                   "  - name: a\n"
                   "    address: :1\n"
                   "    routes: [{backend: api}]\n"
                   "backends: {app: {builtin: echo}}\n",
                   "c.yaml:4:24: undefined backend 'api' (defined backends: app)");
    /* the implicit echo backend exists only for routes that name none */
    cfg_expect_err("listeners:\n"
                   "  - name: a\n"
                   "    address: :1\n"
                   "    routes: [{backend: echo}]\n",
                   "c.yaml:4:24: undefined backend 'echo' (no backends are defined)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_first_backend_is_default),
        cmocka_unit_test(test_sections_in_any_order),
        cmocka_unit_test(test_paths_relative_to_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_top_level_errors),
        cmocka_unit_test(test_log_admin_errors),
        cmocka_unit_test(test_operations_keys),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_backend_errors),
        cmocka_unit_test(test_undefined_references),
    };

    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
