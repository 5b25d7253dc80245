/* config_quick: `certgate run --listen ...` flags -> config, and "--flag: message" errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg_test.h"
#include "config/config.h"

#define ARGS(...) (sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)), ((char *[]){__VA_ARGS__})

static struct config *quick_ok(int argc, char **argv)
{
    struct cfg_error err;
    struct config *cfg = config_from_args(argc, argv, &err);

    if (!cfg)
        fail_msg("%s", err.msg);
    return cfg;
}

static void quick_err(int argc, char **argv, const char *msg)
{
    struct cfg_error err;

    assert_null(config_from_args(argc, argv, &err));
    assert_string_equal(err.msg, msg);
}

static void test_plain_defaults(void **state)
{
    struct config *cfg = quick_ok(ARGS("--listen", "127.0.0.1:8080"));
    struct cfg_listener *l = &cfg->listeners[0];
    char cwd[PATH_MAX];

    assert_null(cfg->path);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_string_equal(cfg->dir, cwd);
    assert_int_equal(cfg->workers, 0);
    assert_int_equal(cfg->log.access, 1);
    assert_null(cfg->admin.address);
    assert_int_equal(cfg->n_policies, 0);
    assert_int_equal(cfg->n_listeners, 1);
    assert_string_equal(l->name, "main");
    assert_string_equal(l->address, "127.0.0.1:8080");
    assert_string_equal(l->host, "127.0.0.1");
    assert_int_equal(l->port, 8080);
    assert_int_equal(l->tls, 0);
    assert_int_equal(l->n_certs, 0);
    assert_null(l->pos.file);
    assert_int_equal(l->client_auth.mode, CA_IGNORE);
    assert_null(l->client_auth.policy);
    assert_int_equal(l->timeouts.handshake, 10000);
    assert_int_equal(l->limits.header_bytes, 32768);
    assert_int_equal(l->forward.n_headers, 1);
    assert_string_equal(l->forward.headers[0].name, "X-ARR-ClientCert");
    assert_string_equal(l->forward.identity.verify, "X-Client-Cert-Verify");
    assert_int_equal(l->n_routes, 1);
    assert_string_equal(l->routes[0].path_prefix, "/");
    assert_null(l->routes[0].policy);
    assert_int_equal(cfg->n_backends, 1);
    assert_ptr_equal(l->routes[0].backend, &cfg->backends[0]);
    assert_string_equal(cfg->backends[0].name, "echo");
    assert_int_equal(cfg->backends[0].builtin_echo, 1);
    config_free(cfg);
}

static void test_spec_example(void **state)
{
    struct config *cfg =
        quick_ok(ARGS("--listen", "127.0.0.1:8443", "--cert", "server.pem", "--key", "server.key",
                      "--client-ca", "ca.pem", "--client-auth", "require", "--forward",
                      "X-ARR-ClientCert=base64-der", "--backend", "http://127.0.0.1:3000"));
    struct cfg_listener *l = &cfg->listeners[0];

    assert_int_equal(l->tls, 1);
    assert_int_equal(l->n_certs, 1);
    assert_string_equal(l->certs[0].cert, cfg_test_abs("server.pem"));
    assert_string_equal(l->certs[0].key, cfg_test_abs("server.key"));
    assert_int_equal(l->client_auth.mode, CA_REQUIRE);
    assert_int_equal(l->client_auth.on_failure, ON_FAILURE_HTTP);
    assert_int_equal(l->client_auth.policy_inline, 1);
    assert_null(l->client_auth.policy->name);
    assert_int_equal(l->client_auth.policy->n_trusted_ca, 1);
    assert_string_equal(l->client_auth.policy->trusted_ca[0], cfg_test_abs("ca.pem"));
    assert_int_equal(l->forward.n_headers, 1);
    assert_string_equal(l->forward.headers[0].name, "X-ARR-ClientCert");
    assert_int_equal(l->forward.headers[0].format, FWD_BASE64_DER);
    assert_int_equal(cfg->n_backends, 1);
    assert_string_equal(cfg->backends[0].name, "default");
    assert_int_equal(cfg->backends[0].builtin_echo, 0);
    assert_int_equal(cfg->backends[0].n_servers, 1);
    assert_string_equal(cfg->backends[0].servers[0].url, "http://127.0.0.1:3000");
    assert_string_equal(cfg->backends[0].servers[0].host, "127.0.0.1");
    assert_int_equal(cfg->backends[0].servers[0].port, 3000);
    assert_ptr_equal(l->routes[0].backend, &cfg->backends[0]);
    config_free(cfg);
}

static void test_every_flag(void **state)
{
    struct config *cfg = quick_ok(
        ARGS("--listen=[::1]:8443", "--pkcs12", "server.p12", "--password-file", "p12.pass",
             "--client-ca", "ca.pem", "--client-ca=server.pem", "--client-auth", "optional",
             "--on-failure", "alert", "--forward", "X-Cert=hex", "--forward", "Client-Cert=rfc9440",
             "--forward", "=xfcc", "--backend", "echo", "--workers", "3", "--admin",
             "127.0.0.1:9901", "--no-identity-headers", "--access-log", "off"));
    struct cfg_listener *l = &cfg->listeners[0];

    assert_string_equal(l->host, "::1");
    assert_int_equal(l->port, 8443);
    assert_null(l->certs[0].cert);
    assert_string_equal(l->certs[0].pkcs12, cfg_test_abs("server.p12"));
    assert_string_equal(l->certs[0].password_file, cfg_test_abs("p12.pass"));
    assert_null(l->certs[0].password_env);
    assert_int_equal(l->client_auth.mode, CA_OPTIONAL);
    assert_int_equal(l->client_auth.on_failure, ON_FAILURE_ALERT);
    assert_int_equal(l->client_auth.policy->n_trusted_ca, 2);
    assert_string_equal(l->client_auth.policy->trusted_ca[1], cfg_test_abs("server.pem"));
    assert_int_equal(l->forward.n_headers, 3);
    assert_string_equal(l->forward.headers[0].name, "X-Cert");
    assert_int_equal(l->forward.headers[0].format, FWD_HEX);
    assert_string_equal(l->forward.headers[1].name, "Client-Cert");
    assert_int_equal(l->forward.headers[1].format, FWD_RFC9440);
    assert_string_equal(l->forward.headers[2].name, "");
    assert_int_equal(l->forward.headers[2].format, FWD_XFCC);
    assert_null(l->forward.identity.verify);
    assert_null(l->forward.identity.subject);
    assert_null(l->forward.identity.not_after);
    assert_int_equal(cfg->backends[0].builtin_echo, 1);
    assert_int_equal(cfg->workers, 3);
    assert_string_equal(cfg->admin.address, "127.0.0.1:9901");
    assert_string_equal(cfg->admin.host, "127.0.0.1");
    assert_int_equal(cfg->admin.port, 9901);
    assert_int_equal(cfg->log.access, 0);
    config_free(cfg);
}

static void test_password_env(void **state)
{
    struct config *cfg;

    setenv("CERTGATE_TEST_P12_PASSWORD", "secret", 1);
    cfg = quick_ok(ARGS("--listen", ":8443", "--pkcs12", "server.p12", "--password-env",
                        "CERTGATE_TEST_P12_PASSWORD"));
    assert_string_equal(cfg->listeners[0].certs[0].password_env, "CERTGATE_TEST_P12_PASSWORD");
    assert_int_equal(cfg->listeners[0].client_auth.mode, CA_IGNORE);
    config_free(cfg);
    setenv("CERTGATE_TEST_P12_PASSWORD", "bad", 1);
    quick_err(ARGS("--listen", ":8443", "--pkcs12", "server.p12", "--password-env",
                   "CERTGATE_TEST_P12_PASSWORD"),
              "--password-env: wrong password for PKCS#12 'server.p12'");
    unsetenv("CERTGATE_TEST_P12_PASSWORD");
    quick_err(ARGS("--listen", ":8443", "--pkcs12", "server.p12", "--password-env",
                   "CERTGATE_TEST_P12_PASSWORD"),
              "--password-env: environment variable 'CERTGATE_TEST_P12_PASSWORD' is not set");
}

static void test_scan_errors(void **state)
{
    quick_err(0, NULL, "--listen: required in quick mode (or use -c FILE)");
    quick_err(ARGS("--listen", ":1", "--bogus", "x"), "--bogus: unknown flag");
    quick_err(ARGS("--listen", ":1", "--bogus=x"), "--bogus: unknown flag");
    quick_err(ARGS("--listen", ":1", "-c", "x.yaml"), "'-c': unexpected argument");
    quick_err(ARGS("--listen", ":1", "stray"), "'stray': unexpected argument");
    quick_err(ARGS("--listen"), "--listen: needs a value");
    quick_err(ARGS("--listen", ":1", "--listen", ":2"), "--listen: given more than once");
    quick_err(ARGS("--listen", ":1", "--no-identity-headers=yes"),
              "--no-identity-headers: takes no value");
    quick_err(ARGS("--listen", "1.2.3.4"), "--listen: invalid address '1.2.3.4': missing ':port'");
    quick_err(ARGS("--listen", ":1", "--workers", "0"),
              "--workers: expected a whole number from 1 to 1024, got '0'");
    quick_err(ARGS("--listen", ":1", "--workers", "2x"),
              "--workers: expected a whole number from 1 to 1024, got '2x'");
    quick_err(ARGS("--listen", ":1", "--access-log", "yes"),
              "--access-log: invalid value 'yes' (valid: off, on)");
    quick_err(ARGS("--listen", ":1", "--admin", "x:1"),
              "--admin: invalid address 'x:1': host must be an IP address (or localhost), IPv6 "
              "in brackets");
    quick_err(ARGS("--listen", "127.0.0.1:1", "--admin", ":1"),
              "--admin: address ':1' conflicts with --listen '127.0.0.1:1'");
    quick_err(ARGS("--listen", ":1", "--backend", "127.0.0.1:3000"),
              "--backend: invalid URL '127.0.0.1:3000': the URL must start with http:// or "
              "https:// (or use 'echo')");
}

static void test_tls_errors(void **state)
{
    quick_err(ARGS("--listen", ":1", "--cert", "server.pem"), "--cert: needs --key");
    quick_err(ARGS("--listen", ":1", "--key", "server.key"), "--key: needs --cert");
    quick_err(ARGS("--listen", ":1", "--cert", "server.pem", "--key", "server.key", "--pkcs12",
                   "server.p12"),
              "--pkcs12: use either --cert/--key or --pkcs12, not both");
    quick_err(ARGS("--listen", ":1", "--password-file", "p12.pass"),
              "--password-file: goes with --pkcs12 only");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "server.p12", "--password-file", "p12.pass",
                   "--password-env", "X"),
              "--password-file: use either --password-env or --password-file");
    quick_err(ARGS("--listen", ":1", "--cert", "nope.pem", "--key", "server.key"),
              "--cert: cannot open 'nope.pem': No such file or directory");
    quick_err(ARGS("--listen", ":1", "--cert", "server.pem", "--key", "other.key"),
              "--key: private key 'other.key' does not match certificate 'server.pem'");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "server.p12"),
              "--pkcs12: PKCS#12 'server.p12' is protected by a password and none was given");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "server.pem"),
              "--pkcs12: cannot read PKCS#12 'server.pem': not a PKCS#12 (DER) file");
}

static void test_client_auth_errors(void **state)
{
    quick_err(ARGS("--listen", ":1", "--client-ca", "ca.pem"),
              "--client-ca: needs a TLS listener (--cert and --key, or --pkcs12)");
    quick_err(ARGS("--listen", ":1", "--client-auth", "ignore"),
              "--client-auth: needs a TLS listener (--cert and --key, or --pkcs12)");
    quick_err(ARGS("--listen", ":1", "--on-failure", "alert"),
              "--on-failure: needs a TLS listener (--cert and --key, or --pkcs12)");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "nopass.p12", "--client-auth", "request"),
              "--client-auth: mode 'request' needs --client-ca");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "nopass.p12", "--client-auth", "always"),
              "--client-auth: invalid value 'always' (valid: ignore, request, optional, require)");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "nopass.p12", "--on-failure", "tls"),
              "--on-failure: invalid value 'tls' (valid: http, alert)");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "nopass.p12", "--client-ca", "ca.pem",
                   "--client-auth", "ignore"),
              "--client-ca: has no effect with --client-auth ignore");
    quick_err(ARGS("--listen", ":1", "--pkcs12", "nopass.p12", "--client-ca", "notpem.txt"),
              "--client-ca: no certificate found in 'notpem.txt'");
}

static void test_forward_errors(void **state)
{
    quick_err(ARGS("--listen", ":1", "--forward", "X-Cert"),
              "--forward: expected NAME=FORMAT, got 'X-Cert'");
    quick_err(ARGS("--listen", ":1", "--forward", "X Cert=hex"),
              "--forward: invalid header name 'X Cert'");
    quick_err(ARGS("--listen", ":1", "--forward", "X-Cert=der"),
              "--forward: invalid value 'der' (valid: base64-der, pem-urlencoded, hex, rfc9440, "
              "xfcc)");
    quick_err(ARGS("--listen", ":1", "--forward", "X-Cert=hex", "--forward", "x-cert=xfcc"),
              "--forward: header 'x-cert' is given twice");
    quick_err(ARGS("--listen", ":1", "--forward", "X-Client-Cert-SHA1=hex"),
              "--forward: header 'X-Client-Cert-SHA1' is also an identity header (see "
              "--no-identity-headers)");
    struct config *cfg = quick_ok(
        ARGS("--listen", ":1", "--forward", "X-Client-Cert-SHA1=hex", "--no-identity-headers"));
    assert_string_equal(cfg->listeners[0].forward.headers[0].name, "X-Client-Cert-SHA1");
    config_free(cfg);
}

static void test_apply_args(void **state)
{
    struct config *cfg = quick_ok(ARGS("--listen", ":1"));
    struct cfg_error err;

    assert_int_equal(config_apply_args(cfg, ARGS("--workers", "7"), &err), 0);
    assert_int_equal(cfg->workers, 7);
    assert_int_equal(config_apply_args(cfg, 0, NULL, &err), 0);
    assert_int_equal(cfg->workers, 7);
    assert_int_equal(config_apply_args(cfg, ARGS("--workers=9000"), &err), -1);
    assert_string_equal(err.msg, "--workers: expected a whole number from 1 to 1024, got '9000'");
    assert_int_equal(config_apply_args(cfg, ARGS("--workers", "2", "--listen", ":2"), &err), -1);
    assert_string_equal(err.msg, "--listen: not allowed with -c FILE; set it in the file");
    assert_int_equal(config_apply_args(cfg, ARGS("--no-identity-headers"), &err), -1);
    assert_string_equal(err.msg,
                        "--no-identity-headers: not allowed with -c FILE; set it in the file");
    assert_int_equal(config_apply_args(cfg, ARGS("--nope"), &err), -1);
    assert_string_equal(err.msg, "--nope: unknown flag");
    assert_int_equal(cfg->workers, 7);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_defaults),     cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_every_flag),         cmocka_unit_test(test_password_env),
        cmocka_unit_test(test_scan_errors),        cmocka_unit_test(test_tls_errors),
        cmocka_unit_test(test_client_auth_errors), cmocka_unit_test(test_forward_errors),
        cmocka_unit_test(test_apply_args),
    };

    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
