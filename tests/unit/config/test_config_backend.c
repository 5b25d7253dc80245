/* config_backend: every key of a backend, its defaults, and each error with
 * its exact position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg_test.h"
#include "config/config.h"

/* Lines 1-4; what a test appends starts at line 5, indented by 4. */
#define B     "listeners:\n  - {name: web, address: \":8080\"}\nbackends:\n  app:\n"
#define HTTPS B "    servers: [https://10.0.0.5]\n"
#define ECHO  B "    builtin: echo\n"

static void test_defaults(void **state)
{
    struct config *cfg = cfg_expect_ok(B "    servers: [http://127.0.0.1:3000]\n");
    struct cfg_backend *b = &cfg->backends[0];

    assert_int_equal(b->n_servers, 1);
    assert_int_equal(b->servers[0].weight, 1);
    assert_int_equal(b->servers[0].pos.line, 5);
    assert_int_equal(b->servers[0].pos.col, 15);
    assert_int_equal(b->balance, BALANCE_ROUND_ROBIN);
    assert_int_equal(b->tls.set, 0);
    assert_int_equal(b->tls.verify, 1);
    assert_null(b->tls.ca);
    assert_null(b->tls.server_name);
    assert_int_equal(b->tls.has_client_cert, 0);
    assert_null(b->tls.password);
    assert_int_equal(b->health.set, 0);
    assert_null(b->health.path);
    assert_int_equal(b->health.interval_ms, 5000);
    assert_int_equal(b->health.timeout_ms, 2000);
    assert_int_equal(b->health.unhealthy_threshold, 3);
    assert_int_equal(b->health.healthy_threshold, 2);
    assert_int_equal(b->health.n_match, 1);
    assert_int_equal(b->health.match[0].lo, 200);
    assert_int_equal(b->health.match[0].hi, 399);
    assert_int_equal(b->passive.max_fails, 3);
    assert_int_equal(b->passive.fail_timeout_ms, 10000);
    assert_int_equal(b->pool.max_idle, 64);
    assert_int_equal(b->pool.idle_timeout_ms, 30000);
    assert_int_equal(b->pool.max_connections, 0);
    assert_int_equal(b->timeouts.connect, 0);
    assert_int_equal(b->timeouts.response, 0);
    config_free(cfg);

    /* health: with only a path takes the other defaults */
    cfg = cfg_expect_ok(B "    servers: [http://127.0.0.1:3000]\n    health: {path: /up}\n");
    b = &cfg->backends[0];
    assert_int_equal(b->health.set, 1);
    assert_string_equal(b->health.path, "/up");
    assert_int_equal(b->health.interval_ms, 5000);
    assert_int_equal(b->health.n_match, 1);
    assert_int_equal(b->health.match[0].lo, 200);
    assert_int_equal(b->health.match[0].hi, 399);
    config_free(cfg);

    /* an https server with no tls: is verified against the system CAs */
    cfg = cfg_expect_ok(HTTPS);
    assert_int_equal(cfg->backends[0].tls.set, 0);
    assert_int_equal(cfg->backends[0].tls.verify, 1);
    config_free(cfg);
}

static void test_every_key(void **state)
{
    struct config *cfg =
        cfg_expect_ok(B "    servers:\n"
                        "      - http://127.0.0.1:3000\n"
                        "      - {url: \"https://[::1]:8443\", weight: 3}\n"
                        "      - https://backend.internal:443\n"
                        "      - url: https://b2.internal\n"
                        "        weight: '100'\n"
                        "    balance: least_conn\n"
                        "    tls:\n"
                        "      ca: ca.pem\n"
                        "      server_name: api.internal\n"
                        "      verify: true\n"
                        "      client_cert: {pkcs12: server.p12, password_file: p12.pass}\n"
                        "    health:\n"
                        "      path: /status-0123456789abcdef\n"
                        "      interval: 30s\n"
                        "      timeout: 45s\n"
                        "      unhealthy_threshold: 100\n"
                        "      healthy_threshold: 1\n"
                        "      match_status: 200,204, 300 - 399\n"
                        "    passive: {max_fails: 0, fail_timeout: 1m}\n"
                        "    pool: {max_idle: 0, idle_timeout: 500ms, max_connections: 7}\n"
                        "    timeouts: {connect: 5s, response: 20s}\n");
    struct cfg_backend *b = &cfg->backends[0];

    assert_int_equal(b->n_servers, 4);
    assert_string_equal(b->servers[0].url, "http://127.0.0.1:3000");
    assert_int_equal(b->servers[0].weight, 1);
    assert_int_equal(b->servers[0].tls, 0);
    assert_string_equal(b->servers[1].url, "https://[::1]:8443");
    assert_string_equal(b->servers[1].host, "::1");
    assert_int_equal(b->servers[1].port, 8443);
    assert_int_equal(b->servers[1].tls, 1);
    assert_int_equal(b->servers[1].weight, 3);
    assert_int_equal(b->servers[1].pos.line, 7);
    assert_int_equal(b->servers[1].pos.col, 9);
    /* a host name stays a name: it is resolved at run time, not by the loader */
    assert_string_equal(b->servers[2].host, "backend.internal");
    assert_int_equal(b->servers[2].port, 443);
    assert_int_equal(b->servers[2].weight, 1);
    assert_string_equal(b->servers[3].host, "b2.internal");
    assert_int_equal(b->servers[3].weight, 100);
    assert_int_equal(b->balance, BALANCE_LEAST_CONN);

    assert_int_equal(b->tls.set, 1);
    assert_string_equal(b->tls.ca, cfg_test_abs("ca.pem"));
    assert_string_equal(b->tls.server_name, "api.internal");
    assert_int_equal(b->tls.verify, 1);
    assert_int_equal(b->tls.has_client_cert, 1);
    assert_string_equal(b->tls.client_cert.pkcs12, cfg_test_abs("server.p12"));
    assert_string_equal(b->tls.client_cert.password_file, cfg_test_abs("p12.pass"));
    assert_null(b->tls.client_cert.password_env);
    assert_null(b->tls.client_cert.cert);
    assert_string_equal(b->tls.password, "secret");
    assert_int_equal(b->tls.client_cert.pos.line, 16);
    assert_int_equal(b->tls.client_cert.pos.col, 20);

    assert_int_equal(b->health.set, 1);
    assert_string_equal(b->health.path, "/status-0123456789abcdef");
    assert_int_equal(b->health.interval_ms, 30000);
    assert_int_equal(b->health.timeout_ms, 45000);
    assert_int_equal(b->health.unhealthy_threshold, 100);
    assert_int_equal(b->health.healthy_threshold, 1);
    assert_int_equal(b->health.n_match, 3);
    assert_int_equal(b->health.match[0].lo, 200);
    assert_int_equal(b->health.match[0].hi, 200);
    assert_int_equal(b->health.match[1].lo, 204);
    assert_int_equal(b->health.match[1].hi, 204);
    assert_int_equal(b->health.match[2].lo, 300);
    assert_int_equal(b->health.match[2].hi, 399);

    assert_int_equal(b->passive.max_fails, 0);
    assert_int_equal(b->passive.fail_timeout_ms, 60000);
    assert_int_equal(b->pool.max_idle, 0);
    assert_int_equal(b->pool.idle_timeout_ms, 500);
    assert_int_equal(b->pool.max_connections, 7);
    assert_int_equal(b->timeouts.connect, 5000);
    assert_int_equal(b->timeouts.response, 20000);
    config_free(cfg);
}

static void test_client_cert_forms(void **state)
{
    struct config *cfg = cfg_expect_ok(
        HTTPS "    tls: {client_cert: {cert: server.pem, key: server.key}, verify: false}\n");
    struct cfg_backend_tls *t = &cfg->backends[0].tls;

    assert_int_equal(t->set, 1);
    assert_int_equal(t->verify, 0);
    assert_int_equal(t->has_client_cert, 1);
    assert_string_equal(t->client_cert.cert, cfg_test_abs("server.pem"));
    assert_string_equal(t->client_cert.key, cfg_test_abs("server.key"));
    assert_null(t->client_cert.pkcs12);
    assert_null(t->password);
    assert_null(t->ca);
    config_free(cfg);

    setenv("CERTGATE_TEST_BACKEND_PW", "secret", 1);
    cfg = cfg_expect_ok(HTTPS "    tls:\n      client_cert:\n        pkcs12: server.p12\n"
                              "        password_env: CERTGATE_TEST_BACKEND_PW\n");
    unsetenv("CERTGATE_TEST_BACKEND_PW");
    t = &cfg->backends[0].tls;
    assert_string_equal(t->client_cert.password_env, "CERTGATE_TEST_BACKEND_PW");
    assert_string_equal(t->password, "secret");
    config_free(cfg);

    /* a PKCS#12 without a password needs none */
    cfg = cfg_expect_ok(HTTPS "    tls: {client_cert: {pkcs12: nopass.p12}}\n");
    t = &cfg->backends[0].tls;
    assert_string_equal(t->client_cert.pkcs12, cfg_test_abs("nopass.p12"));
    assert_null(t->password);
    config_free(cfg);

    /* server_name as an IP literal */
    cfg = cfg_expect_ok(HTTPS "    tls: {server_name: 'fd00::1'}\n");
    assert_string_equal(cfg->backends[0].tls.server_name, "fd00::1");
    config_free(cfg);
}

static void test_server_errors(void **state)
{
    cfg_expect_err(B "    servers: [{url: http://a:1, weight: 0}]\n",
                   "c.yaml:5:41: expected a whole number from 1 to 100 for 'weight', got '0'");
    cfg_expect_err(B "    servers: [{url: http://a:1, weight: 101}]\n",
                   "c.yaml:5:41: expected a whole number from 1 to 100 for 'weight', got '101'");
    cfg_expect_err(B "    servers: [{url: http://a:1, weight: heavy}]\n",
                   "c.yaml:5:41: expected a whole number from 1 to 100 for 'weight', got "
                   "'heavy'");
    cfg_expect_err(B "    servers: [{weight: 2}]\n",
                   "c.yaml:5:15: missing required key 'url' in a server");
    cfg_expect_err(B "    servers: [{url: http://a:1, wieght: 2}]\n",
                   "c.yaml:5:33: unknown key 'wieght' in a server (valid keys: url, weight)");
    cfg_expect_err(B "    servers: [{url: ftp://a}]\n",
                   "c.yaml:5:21: invalid server URL 'ftp://a': the URL must start with http:// "
                   "or https://");
    cfg_expect_err(B "    servers: [{url: [http://a]}]\n",
                   "c.yaml:5:21: expected a string for 'url', got a list");
    cfg_expect_err(B "    servers: [[http://a]]\n",
                   "c.yaml:5:15: expected a URL or a mapping {url, weight} for an entry of "
                   "'servers', got a list");
    cfg_expect_err(B "    servers: [http://a:1, ~]\n",
                   "c.yaml:5:27: expected a URL or a mapping {url, weight} for an entry of "
                   "'servers', got null");
    cfg_expect_err(B "    servers:\n"
                     "      - http://10.0.0.1:80\n"
                     "      - http://10.0.0.2\n"
                     "      - {url: 'HTTP://10.0.0.1/', weight: 2}\n",
                   "c.yaml:8:9: server 'HTTP://10.0.0.1/' is listed twice in backend 'app' (also "
                   "at line 6); use 'weight' to send it more requests");
    /* http and https on one host and port are two servers */
    config_free(cfg_expect_ok(B "    servers: [http://10.0.0.1:8080, https://10.0.0.1:8080]\n"));
}

static void test_backend_keys(void **state)
{
    cfg_expect_err(B "    servers: [http://a]\n    balance: random\n",
                   "c.yaml:6:14: invalid value 'random' for 'balance' (valid: round_robin, "
                   "least_conn)");
    cfg_expect_err(B "    servers: [http://a]\n    weight: 2\n",
                   "c.yaml:6:5: unknown key 'weight' in backend 'app' (valid keys: servers, "
                   "builtin, balance, tls, health, passive, pool, timeouts)");
    cfg_expect_err(B "    servers: [http://a]\n    passive: {max_fails: 101}\n",
                   "c.yaml:6:26: expected a whole number from 0 to 100 for 'max_fails', got "
                   "'101'");
    cfg_expect_err(B "    servers: [http://a]\n    passive: {fail_timeout: 10}\n",
                   "c.yaml:6:29: invalid duration '10' for 'fail_timeout': use a number and a "
                   "unit, as 500ms, 30s, 5m or 1h");
    cfg_expect_err(B "    servers: [http://a]\n    passive: {max_fail: 1}\n",
                   "c.yaml:6:15: unknown key 'max_fail' in 'passive' (valid keys: max_fails, "
                   "fail_timeout)");
    cfg_expect_err(B "    servers: [http://a]\n    pool: {max_idle: -1}\n",
                   "c.yaml:6:22: expected a whole number from 0 to 2147483647 for 'max_idle', "
                   "got '-1'");
    cfg_expect_err(B "    servers: [http://a]\n    pool: {idle_timeout: 0s}\n",
                   "c.yaml:6:26: 'idle_timeout' must be greater than 0");
    cfg_expect_err(B "    servers: [http://a]\n    pool: {max_conns: 1}\n",
                   "c.yaml:6:12: unknown key 'max_conns' in 'pool' (valid keys: max_idle, "
                   "idle_timeout, max_connections)");
    cfg_expect_err(B "    servers: [http://a]\n    pool: 64\n",
                   "c.yaml:6:11: expected a mapping for 'pool', got '64'");
}

static void test_tls_errors(void **state)
{
    cfg_expect_err(B "    servers: [http://a, http://b]\n    tls: {ca: ca.pem}\n",
                   "c.yaml:6:5: 'tls' applies to https:// servers; backend 'app' has none");
    cfg_expect_err(ECHO "    tls: {verify: false}\n",
                   "c.yaml:6:5: 'tls' applies to https:// servers; backend 'app' has none");
    cfg_expect_err(HTTPS "    tls: true\n",
                   "c.yaml:6:10: expected a mapping for 'tls', got 'true'");
    cfg_expect_err(HTTPS "    tls: {sni: a}\n",
                   "c.yaml:6:11: unknown key 'sni' in 'tls' (valid keys: ca, server_name, verify, "
                   "client_cert)");
    cfg_expect_err(HTTPS "    tls: {ca: nope.pem}\n",
                   "c.yaml:6:15: cannot open 'nope.pem': No such file or directory");
    cfg_expect_err(HTTPS "    tls: {ca: notpem.txt}\n",
                   "c.yaml:6:15: no certificate found in 'notpem.txt'");
    cfg_expect_err(HTTPS "    tls: {ca: ''}\n", "c.yaml:6:15: 'ca' must not be empty");
    cfg_expect_err(HTTPS "    tls: {verify: no}\n",
                   "c.yaml:6:19: expected true or false for 'verify', got 'no'");
    cfg_expect_err(HTTPS "    tls: {verify: false, ca: ca.pem}\n",
                   "c.yaml:6:26: 'ca' has no effect with 'verify: false' (the backend's "
                   "certificate is not checked at all); remove one of them");
    cfg_expect_err(HTTPS "    tls: {server_name: 'api internal'}\n",
                   "c.yaml:6:24: invalid 'server_name' 'api internal': expected a DNS name or an "
                   "IP address (IPv6 without brackets)");
    cfg_expect_err(HTTPS "    tls: {server_name: '[::1]'}\n",
                   "c.yaml:6:24: invalid 'server_name' '[::1]': expected a DNS name or an IP "
                   "address (IPv6 without brackets)");
}

#define CC HTTPS "    tls:\n      client_cert: "

static void test_client_cert_errors(void **state)
{
    cfg_expect_err(CC "gw.pem\n",
                   "c.yaml:7:20: expected a mapping for 'client_cert', got 'gw.pem'");
    cfg_expect_err(CC "{}\n", "c.yaml:7:20: 'client_cert' needs 'cert' and 'key', or 'pkcs12'");
    cfg_expect_err(CC "{cert: server.pem}\n",
                   "c.yaml:7:20: missing required key 'key' (the private key of 'cert')");
    cfg_expect_err(CC "{key: server.key}\n",
                   "c.yaml:7:20: missing required key 'cert' (the certificate of 'key')");
    cfg_expect_err(CC "{cert: server.pem, key: server.key, pkcs12: server.p12}\n",
                   "c.yaml:7:56: 'client_cert' takes 'cert' and 'key', or 'pkcs12', not both");
    cfg_expect_err(CC "{cert: server.pem, key: server.key, password_file: p12.pass}\n",
                   "c.yaml:7:56: 'password_file' goes with 'pkcs12' only");
    cfg_expect_err(CC "{pkcs12: server.p12, password_env: X, password_file: p12.pass}\n",
                   "c.yaml:7:58: use either 'password_env' or 'password_file', not both");
    cfg_expect_err(CC "{cert: server.pem, key: server.key, chain: ca.pem}\n",
                   "c.yaml:7:56: unknown key 'chain' in 'client_cert' (valid keys: cert, key, "
                   "pkcs12, password_env, password_file)");
    cfg_expect_err(CC "{cert: nope.pem, key: server.key}\n",
                   "c.yaml:7:27: cannot open 'nope.pem': No such file or directory");
    cfg_expect_err(CC "{cert: server.pem, key: other.key}\n",
                   "c.yaml:7:44: private key 'other.key' does not match certificate 'server.pem'");
    cfg_expect_err(CC "{cert: server.pem, key: encrypted.key}\n",
                   "c.yaml:7:44: private key 'encrypted.key' is encrypted; use an unencrypted key "
                   "or PKCS#12");
    cfg_expect_err(CC "{pkcs12: server.p12}\n",
                   "c.yaml:7:29: PKCS#12 'server.p12' is protected by a password and none was "
                   "given");
    cfg_expect_err(CC "{pkcs12: server.pem, password_file: p12.pass}\n",
                   "c.yaml:7:29: cannot read PKCS#12 'server.pem': not a PKCS#12 (DER) file");
    cfg_test_write("wrong.pass", "wrong\n");
    cfg_expect_err(CC "{pkcs12: server.p12, password_file: wrong.pass}\n",
                   "c.yaml:7:56: wrong password for PKCS#12 'server.p12'");
    cfg_expect_err(CC "{pkcs12: server.p12, password_file: nope.pass}\n",
                   "c.yaml:7:56: cannot open 'nope.pass': No such file or directory");
    cfg_expect_err(CC "{pkcs12: server.p12, password_env: CERTGATE_TEST_UNSET_VAR}\n",
                   "c.yaml:7:55: environment variable 'CERTGATE_TEST_UNSET_VAR' is not set");
}

#define H B "    servers: [http://a]\n    health: "

static void test_health_errors(void **state)
{
    cfg_expect_err(H "{interval: 5s}\n", "c.yaml:6:13: missing required key 'path' in 'health'");
    cfg_expect_err(H "/status\n", "c.yaml:6:13: expected a mapping for 'health', got '/status'");
    cfg_expect_err(H "{path: status}\n", "c.yaml:6:20: 'path' must start with '/', got 'status'");
    cfg_expect_err(H "{path: '/a b'}\n",
                   "c.yaml:6:20: 'path' must not hold spaces, control characters or non-ASCII "
                   "bytes (percent-encode them)");
    cfg_expect_err(H "{path: /x, interval: 0s}\n",
                   "c.yaml:6:34: 'interval' must be greater than 0");
    cfg_expect_err(H "{path: /x, timeout: 2}\n",
                   "c.yaml:6:33: invalid duration '2' for 'timeout': use a number and a unit, as "
                   "500ms, 30s, 5m or 1h");
    cfg_expect_err(H "{path: /x, unhealthy_threshold: 0}\n",
                   "c.yaml:6:45: expected a whole number from 1 to 100 for "
                   "'unhealthy_threshold', got '0'");
    cfg_expect_err(H "{path: /x, healthy_threshold: 101}\n",
                   "c.yaml:6:43: expected a whole number from 1 to 100 for 'healthy_threshold', "
                   "got '101'");
    cfg_expect_err(H "{path: /x, method: HEAD}\n",
                   "c.yaml:6:24: unknown key 'method' in 'health' (valid keys: path, interval, "
                   "timeout, unhealthy_threshold, healthy_threshold, match_status)");
    cfg_expect_err(ECHO "    health: {path: /x}\n",
                   "c.yaml:6:5: 'health' probes servers; backend 'app' is the builtin echo and "
                   "has none");
}

#define MS H "{path: /x, match_status: "

static void test_match_status(void **state)
{
    struct config *cfg = cfg_expect_ok(MS "204}\n");

    assert_int_equal(cfg->backends[0].health.n_match, 1);
    assert_int_equal(cfg->backends[0].health.match[0].lo, 204);
    assert_int_equal(cfg->backends[0].health.match[0].hi, 204);
    config_free(cfg);
    cfg = cfg_expect_ok(MS "'100-599'}\n");
    assert_int_equal(cfg->backends[0].health.n_match, 1);
    assert_int_equal(cfg->backends[0].health.match[0].lo, 100);
    assert_int_equal(cfg->backends[0].health.match[0].hi, 599);
    config_free(cfg);
    cfg = cfg_expect_ok(MS "'200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215'}\n");
    assert_int_equal(cfg->backends[0].health.n_match, 16);
    assert_int_equal(cfg->backends[0].health.match[15].lo, 215);
    config_free(cfg);

#define MS_USE " (use codes and ranges, as 200-399 or 200,204,300-399)"
    cfg_expect_err(MS "99}\n", "c.yaml:6:38: invalid 'match_status' '99': '99' is not a status "
                               "code from 100 to 599" MS_USE);
    cfg_expect_err(MS "200-600}\n", "c.yaml:6:38: invalid 'match_status' '200-600': '600' is not "
                                    "a status code from 100 to 599" MS_USE);
    cfg_expect_err(MS "'2000'}\n", "c.yaml:6:38: invalid 'match_status' '2000': '2000' is not a "
                                   "status code from 100 to 599" MS_USE);
    cfg_expect_err(MS "399-200}\n", "c.yaml:6:38: invalid 'match_status' '399-200': the range "
                                    "399-200 ends before it starts" MS_USE);
    cfg_expect_err(MS "'200,'}\n", "c.yaml:6:38: invalid 'match_status' '200,': an entry is "
                                   "empty" MS_USE);
    cfg_expect_err(MS "2xx}\n", "c.yaml:6:38: invalid 'match_status' '2xx': '2xx' is not a status "
                                "code from 100 to 599" MS_USE);
    cfg_expect_err(MS "'200 204'}\n", "c.yaml:6:38: invalid 'match_status' '200 204': unexpected "
                                      "'2'; separate codes and ranges with ','" MS_USE);
    cfg_expect_err(MS "'200;204'}\n", "c.yaml:6:38: invalid 'match_status' '200;204': unexpected "
                                      "';'; separate codes and ranges with ','" MS_USE);
    cfg_expect_err(MS "[200]}\n", "c.yaml:6:38: expected a string for 'match_status', got a list");
    cfg_expect_err(
        MS "'200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216'}\n",
        "c.yaml:6:38: invalid 'match_status' "
        "'200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216': more than 16 "
        "codes and ranges" MS_USE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),           cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_client_cert_forms),  cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_backend_keys),       cmocka_unit_test(test_tls_errors),
        cmocka_unit_test(test_client_cert_errors), cmocka_unit_test(test_health_errors),
        cmocka_unit_test(test_match_status),
    };

    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
