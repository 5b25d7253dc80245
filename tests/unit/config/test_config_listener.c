/* config_listener: every error class of a listener, with its exact position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg_test.h"
#include "config/config.h"

/* Lines 1-3; what a test appends starts at line 4, indented by 4. */
#define L        "listeners:\n  - name: a\n    address: :1\n"
#define TLS      L "    tls:\n      certificates:\n"
#define PEM      "        - {cert: server.pem, key: server.key}\n"
#define POLICIES "policies: {dev: {trusted_ca: ca.pem}}\n"

static void test_listener_keys(void **state)
{
    cfg_expect_err(L "    tsl: {}\n",
                   "c.yaml:4:5: unknown key 'tsl' in a listener (valid keys: name, "
                   "address, tls, timeouts, limits, forward, routes, client_cert)");
    cfg_expect_err("listeners:\n  - address: :1\n",
                   "c.yaml:2:5: missing required key 'name' in a listener");
    cfg_expect_err("listeners:\n  - {name: a}\n",
                   "c.yaml:2:5: missing required key 'address' in a listener");
    cfg_expect_err("listeners:\n  - {name: '', address: ':1'}\n",
                   "c.yaml:2:12: 'name' must not be empty");
    cfg_expect_err("listeners:\n  - {name: [a], address: ':1'}\n",
                   "c.yaml:2:12: expected a string for 'name', got a list");
    cfg_expect_err("listeners:\n  - {name: a, address: ~}\n",
                   "c.yaml:2:24: expected a string for 'address', got null");
}

static void test_addresses(void **state)
{
    cfg_expect_err("listeners:\n  - {name: a, address: '1.2.3.4:99999'}\n",
                   "c.yaml:2:24: invalid address '1.2.3.4:99999': port must be a number from 1 to "
                   "65535");
    cfg_expect_err("listeners:\n  - {name: a, address: 'example.com:80'}\n",
                   "c.yaml:2:24: invalid address 'example.com:80': host must be an IP address (or "
                   "localhost), IPv6 in brackets");
    cfg_expect_err("listeners:\n"
                   "  - {name: a, address: ':8443'}\n"
                   "  - {name: a, address: ':8444'}\n",
                   "c.yaml:3:12: duplicate listener name 'a' (first at line 2)");
    cfg_expect_err(
        "listeners:\n"
        "  - {name: a, address: '127.0.0.1:8443'}\n"
        "  - {name: b, address: '[::1]:8443'}\n"
        "  - {name: c, address: '0.0.0.0:8443'}\n",
        "c.yaml:4:24: address '0.0.0.0:8443' conflicts with listener 'a' (127.0.0.1:8443, "
        "line 2)");
}

static void test_timeouts_limits(void **state)
{
    struct config *cfg = cfg_expect_ok(L "    timeouts: {idle: 2h}\n    limits: {headers: '20'}\n");

    assert_int_equal(cfg->listeners[0].timeouts.idle, 7200000);
    assert_int_equal(cfg->listeners[0].timeouts.handshake, 10000);
    assert_int_equal(cfg->listeners[0].limits.headers, 20);
    assert_int_equal(cfg->listeners[0].limits.header_bytes, 32768);
    assert_int_equal(cfg->listeners[0].timeouts.body, 20000);
    assert_int_equal(cfg->listeners[0].limits.body_min_rate, 500);
    config_free(cfg);
    cfg = cfg_expect_ok(L "    timeouts: {body: 90s}\n    limits: {body_min_rate: 8KiB}\n");
    assert_int_equal(cfg->listeners[0].timeouts.body, 90000);
    assert_int_equal(cfg->listeners[0].limits.body_min_rate, 8192);
    config_free(cfg);
    cfg_expect_err(L "    limits: {body_min_rate: 0}\n",
                   "c.yaml:4:29: 'body_min_rate' must be greater than 0");
    cfg_expect_err(
        L "    timeouts: {idle: 60}\n",
        "c.yaml:4:22: invalid duration '60' for 'idle': use a number and a unit, as 500ms, "
        "30s, 5m or 1h");
    cfg_expect_err(L "    timeouts: {keepalive: 60s}\n",
                   "c.yaml:4:16: unknown key 'keepalive' in 'timeouts' (valid keys: handshake, "
                   "header, idle, connect, response, body)");
    cfg_expect_err(L "    timeouts: 10s\n",
                   "c.yaml:4:15: expected a mapping for 'timeouts', got '10s'");
    cfg_expect_err(
        L "    limits: {header_bytes: 16KB}\n",
        "c.yaml:4:28: invalid size '16KB' for 'header_bytes': use bytes or a binary unit, "
        "as 4096, 16k, 32KiB or 1MiB");
    cfg_expect_err(L "    limits: {request_line: 0}\n",
                   "c.yaml:4:28: 'request_line' must be greater "
                   "than 0");
    cfg_expect_err(
        L "    limits: {headers: 0}\n",
        "c.yaml:4:23: expected a whole number from 1 to 2147483647 for 'headers', got '0'");
    cfg_expect_err(
        L "    limits: {connections: -5}\n",
        "c.yaml:4:27: expected a whole number from 1 to 2147483647 for 'connections', got "
        "'-5'");
}

static void test_tls_structure(void **state)
{
    cfg_expect_err(L "    tls: yes\n", "c.yaml:4:10: expected a mapping for 'tls', got 'yes'");
    cfg_expect_err(L "    tls: {}\n", "c.yaml:4:10: missing required key 'certificates' in 'tls'");
    cfg_expect_err(L "    tls: {certificates: []}\n",
                   "c.yaml:4:25: 'certificates' must list at least one certificate");
    cfg_expect_err(
        TLS "        - server.pem\n",
        "c.yaml:6:11: expected a mapping for an entry of 'certificates', got 'server.pem'");
    cfg_expect_err(TLS "        - {cert: server.pem}\n",
                   "c.yaml:6:11: missing required key 'key' (the private key of 'cert')");
    cfg_expect_err(TLS "        - {key: server.key}\n",
                   "c.yaml:6:11: missing required key 'cert' (the certificate of 'key')");
    cfg_expect_err(TLS "        - {password_env: X}\n",
                   "c.yaml:6:11: a certificate needs 'cert' and 'key', or 'pkcs12'");
    cfg_expect_err(TLS "        - {cert: server.pem, key: server.key, pkcs12: server.p12}\n",
                   "c.yaml:6:47: a certificate takes 'cert' and 'key', or 'pkcs12', not both");
    cfg_expect_err(TLS "        - {cert: server.pem, key: server.key, password_env: X}\n",
                   "c.yaml:6:47: 'password_env' goes with 'pkcs12' only");
    cfg_expect_err(TLS "        - {pkcs12: server.p12, password_env: X, password_file: p12.pass}\n",
                   "c.yaml:6:49: use either 'password_env' or 'password_file', not both");
    cfg_expect_err(
        TLS "        - {cert: server.pem, key: server.key, sni: x}\n",
        "c.yaml:6:47: unknown key 'sni' in a certificate (valid keys: cert, key, pkcs12, "
        "password_env, password_file)");
}

static void test_cert_files(void **state)
{
    cfg_expect_err(TLS "        - {cert: nope.pem, key: server.key}\n",
                   "c.yaml:6:18: cannot open 'nope.pem': No such file or directory");
    cfg_expect_err(TLS "        - {cert: server.pem, key: nope.key}\n",
                   "c.yaml:6:35: cannot open 'nope.key': No such file or directory");
    cfg_expect_err(TLS "        - {cert: notpem.txt, key: server.key}\n",
                   "c.yaml:6:18: no certificate found in 'notpem.txt'");
    cfg_expect_err(TLS "        - {cert: server.pem, key: server.pem}\n",
                   "c.yaml:6:35: no private key found in 'server.pem'");
    cfg_expect_err(TLS "        - {cert: server.pem, key: other.key}\n",
                   "c.yaml:6:35: private key 'other.key' does not match certificate 'server.pem'");
    cfg_expect_err(
        TLS "        - {cert: server.pem, key: encrypted.key}\n",
        "c.yaml:6:35: private key 'encrypted.key' is encrypted; use an unencrypted key or "
        "PKCS#12");
    cfg_expect_err(
        TLS "        - {pkcs12: server.p12}\n",
        "c.yaml:6:20: PKCS#12 'server.p12' is protected by a password and none was given");
    cfg_expect_err(TLS "        - {pkcs12: server.pem}\n",
                   "c.yaml:6:20: cannot read PKCS#12 'server.pem': not a PKCS#12 (DER) file");
    cfg_expect_err(TLS "        - {pkcs12: server.p12, password_env: CERTGATE_TEST_UNSET_VAR}\n",
                   "c.yaml:6:46: environment variable 'CERTGATE_TEST_UNSET_VAR' is not set");
    cfg_expect_err(TLS "        - {pkcs12: server.p12, password_file: nope.pass}\n",
                   "c.yaml:6:47: cannot open 'nope.pass': No such file or directory");
    cfg_test_write("wrong.pass", "wrong\n");
    cfg_expect_err(TLS "        - {pkcs12: server.p12, password_file: wrong.pass}\n",
                   "c.yaml:6:47: wrong password for PKCS#12 'server.p12'");
    setenv("CERTGATE_TEST_P12_PASSWORD", "nope", 1);
    cfg_expect_err(TLS "        - {pkcs12: server.p12, password_env: CERTGATE_TEST_P12_PASSWORD}\n",
                   "c.yaml:6:46: wrong password for PKCS#12 'server.p12'");
    unsetenv("CERTGATE_TEST_P12_PASSWORD");
}

/* tls.ocsp_stapling: the key's forms and defaults */
static void test_ocsp_stapling_key(void **state)
{
    struct config *cfg = cfg_expect_ok(TLS PEM);
    const struct cfg_ocsp_stapling *st = &cfg->listeners[0].stapling;

    assert_int_equal(st->enabled, 0);
    assert_null(st->responder);
    assert_int_equal(st->timeout_ms, 5000);
    assert_int_equal(st->retry_ms, 30000);
    config_free(cfg);
    cfg = cfg_expect_ok(TLS PEM "      ocsp_stapling: false\n");
    assert_int_equal(cfg->listeners[0].stapling.enabled, 0);
    config_free(cfg);
    cfg = cfg_expect_ok(TLS "        - {cert: aia.pem, key: aia.key}\n"
                            "      ocsp_stapling: true\n");
    st = &cfg->listeners[0].stapling;
    assert_int_equal(st->enabled, 1);
    assert_null(st->responder);
    assert_int_equal(st->timeout_ms, 5000);
    config_free(cfg);
    cfg = cfg_expect_ok(TLS "        - {cert: noaia.pem, key: noaia.key}\n"
                            "      ocsp_stapling:\n"
                            "        responder: http://127.0.0.1:8889/ocsp\n"
                            "        timeout: 2s\n"
                            "        retry: 1m\n");
    st = &cfg->listeners[0].stapling;
    assert_int_equal(st->enabled, 1);
    assert_string_equal(st->responder, "http://127.0.0.1:8889/ocsp");
    assert_int_equal(st->timeout_ms, 2000);
    assert_int_equal(st->retry_ms, 60000);
    config_free(cfg);
    /* an empty mapping turns it on, with every default */
    cfg = cfg_expect_ok(TLS "        - {cert: aia.pem, key: aia.key}\n"
                            "      ocsp_stapling: {}\n");
    assert_int_equal(cfg->listeners[0].stapling.enabled, 1);
    config_free(cfg);
}

static void test_ocsp_stapling_errors(void **state)
{
    cfg_expect_err(TLS PEM "      ocsp_stapling: yes\n",
                   "c.yaml:7:22: expected true, false or a mapping for 'ocsp_stapling', got 'yes'");
    cfg_expect_err(TLS PEM "      ocsp_stapling: [true]\n",
                   "c.yaml:7:22: expected true, false or a mapping for 'ocsp_stapling', got a "
                   "list");
    cfg_expect_err(TLS PEM "      ocsp_stapling: {responder: 'http://127.0.0.1:9', timout: 5s}\n",
                   "c.yaml:7:56: unknown key 'timout' in 'ocsp_stapling' (valid keys: responder, "
                   "timeout, retry)");
    cfg_expect_err(TLS PEM "      ocsp_stapling: {responder: 'https://ocsp.example'}\n",
                   "c.yaml:7:34: invalid OCSP responder 'https://ocsp.example' for 'responder': "
                   "https is not supported: OCSP answers are signed, and responders serve plain "
                   "http://");
    cfg_expect_err(TLS PEM "      ocsp_stapling: {responder: ''}\n",
                   "c.yaml:7:34: 'responder' must not be empty");
    cfg_expect_err(TLS PEM "      ocsp_stapling: {timeout: 5}\n",
                   "c.yaml:7:32: invalid duration '5' for 'timeout': use a number and a unit, as "
                   "500ms, 30s, 5m or 1h");
    cfg_expect_err(TLS PEM "      ocsp_stapling: {retry: 0s}\n",
                   "c.yaml:7:30: 'retry' must be greater than 0");
}

/* Each certificate needs a responder and its issuer, checked at load (file:line:column at the
 * ocsp_stapling value). */
static void test_ocsp_stapling_certificates(void **state)
{
    struct config *cfg;

    /* server.pem has no AIA OCSP URL */
    cfg_expect_err(TLS PEM "      ocsp_stapling: true\n",
                   "c.yaml:7:22: listener 'a': ocsp_stapling: certificate 'CN=localhost' has no "
                   "OCSP responder (no AIA OCSP URL); set tls.ocsp_stapling.responder");
    /* the name comes after tls: the check waits for the whole listener */
    cfg_expect_err("listeners:\n  - address: :1\n    tls:\n      certificates:\n" PEM
                   "      ocsp_stapling: true\n    name: late\n",
                   "c.yaml:6:22: listener 'late': ocsp_stapling: certificate 'CN=localhost' has no "
                   "OCSP responder (no AIA OCSP URL); set tls.ocsp_stapling.responder");
    /* the second certificate is the one without a responder */
    cfg_expect_err(TLS "        - {cert: aia.pem, key: aia.key}\n"
                       "        - {cert: noaia.pem, key: noaia.key}\n"
                       "      ocsp_stapling: true\n",
                   "c.yaml:8:22: listener 'a': ocsp_stapling: certificate 'CN=noaia.test' has no "
                   "OCSP responder (no AIA OCSP URL); set tls.ocsp_stapling.responder");
    /* the leaf alone, and no other certificate carries its issuer */
    cfg_expect_err(TLS "        - {cert: aia-leaf.pem, key: aia.key}\n"
                       "      ocsp_stapling: true\n",
                   "c.yaml:7:22: listener 'a': ocsp_stapling: the issuer of certificate "
                   "'CN=aia.test' is not available: put it in the certificate file after the leaf "
                   "(or in the PKCS#12), or in another certificate of the listener");
    /* server.pem's issuer (ca.pem) is in no file of the listener, even with a responder */
    cfg_expect_err(TLS PEM "      ocsp_stapling: {responder: 'http://127.0.0.1:9'}\n",
                   "c.yaml:7:22: listener 'a': ocsp_stapling: the issuer of certificate "
                   "'CN=localhost' is not available: put it in the certificate file after the "
                   "leaf (or in the PKCS#12), or in another certificate of the listener");
    /* the responder override covers a certificate without AIA */
    cfg = cfg_expect_ok(TLS "        - {cert: noaia.pem, key: noaia.key}\n"
                            "      ocsp_stapling: {responder: 'http://127.0.0.1:9'}\n");
    config_free(cfg);
    /* the issuer found in another certificate's chain */
    cfg = cfg_expect_ok(TLS "        - {cert: aia-leaf.pem, key: aia.key}\n"
                            "        - {cert: noaia.pem, key: noaia.key}\n"
                            "      ocsp_stapling: {responder: 'http://127.0.0.1:9'}\n");
    config_free(cfg);
    /* a PKCS#12's CA certificates */
    cfg = cfg_expect_ok(TLS "        - {pkcs12: aia.p12, password_file: p12.pass}\n"
                            "      ocsp_stapling: true\n");
    config_free(cfg);
}

static void test_client_auth(void **state)
{
    struct config *cfg =
        cfg_expect_ok(TLS PEM "      client_auth: {mode: request, policy: dev}\n" POLICIES);

    assert_int_equal(cfg->listeners[0].client_auth.mode, CA_REQUEST);
    assert_ptr_equal(cfg->listeners[0].client_auth.policy, &cfg->policies[0]);
    config_free(cfg);
    cfg = cfg_expect_ok(TLS PEM "      client_auth: {on_failure: alert}\n");
    assert_int_equal(cfg->listeners[0].client_auth.mode, CA_IGNORE);
    assert_int_equal(cfg->listeners[0].client_auth.on_failure, ON_FAILURE_ALERT);
    assert_null(cfg->listeners[0].client_auth.policy);
    config_free(cfg);

    cfg_expect_err(TLS PEM "      client_auth: {mode: required}\n",
                   "c.yaml:7:27: invalid value 'required' for 'mode' (valid: ignore, request, "
                   "optional, require)");
    cfg_expect_err(TLS PEM "      client_auth: {mode: require, on_failure: close}\n",
                   "c.yaml:7:48: invalid value 'close' for 'on_failure' (valid: alert, http)");
    cfg_expect_err(TLS PEM "      client_auth: {mode: require}\n",
                   "c.yaml:7:27: mode 'require' needs a policy: name one with 'policy' or give "
                   "'trusted_ca'");
    cfg_expect_err(TLS PEM "      client_auth: {mode: request, intermediates: ca.pem}\n",
                   "c.yaml:7:20: missing required key 'trusted_ca' for the inline policy of "
                   "'client_auth'");
    cfg_expect_err(
        TLS PEM "      client_auth: {mode: optional, policy: dev, trusted_ca: ca.pem}\n" POLICIES,
        "c.yaml:7:37: use either 'policy' or inline policy keys (trusted_ca, ...), not "
        "both");
    cfg_expect_err(TLS PEM "      client_auth: {policy: dev}\n" POLICIES,
                   "c.yaml:7:21: a policy has no effect with mode 'ignore' (no client certificate "
                   "is requested); set mode to request, optional or require");
    cfg_expect_err(TLS PEM "      client_auth: {mode: ignore, trusted_ca: ca.pem}\n",
                   "c.yaml:7:35: a policy has no effect with mode 'ignore' (no client certificate "
                   "is requested); set mode to request, optional or require");
    cfg_expect_err(TLS PEM "      client_auth: {mode: require, policy: prod}\n" POLICIES,
                   "c.yaml:7:44: undefined policy 'prod' (defined policies: dev)");
    cfg_expect_err(TLS PEM "      client_auth: {mode: require, trusted_ca: nope.pem}\n",
                   "c.yaml:7:48: cannot open 'nope.pem': No such file or directory");
    cfg_expect_err(TLS PEM "      client_auth: {mode: require, max_depth: 2}\n",
                   "c.yaml:7:20: missing required key 'trusted_ca' for the inline policy of "
                   "'client_auth'");
    /* inherit is for named policies only */
    cfg_expect_err(
        TLS PEM "      client_auth: {mode: require, trusted_ca: ca.pem, inherit: dev}\n" POLICIES,
        "c.yaml:7:56: unknown key 'inherit' in 'client_auth' (valid keys: mode, "
        "on_failure, policy, trusted_ca, intermediates, allowed_issuers, max_depth, "
        "require_client_auth_eku, min_rsa_bits, min_ec_bits, allow_weak_signatures, "
        "allow, status, revocation)");
    cfg_expect_err(TLS PEM "      client_auth: require\n",
                   "c.yaml:7:20: expected a mapping for 'client_auth', got 'require'");
}

static void test_forward(void **state)
{
    struct config *cfg = cfg_expect_ok(L "    forward: {headers: [{name: X-Cert}]}\n");

    /* format defaults to base64-der; identity headers keep their defaults */
    assert_int_equal(cfg->listeners[0].forward.n_headers, 1);
    assert_string_equal(cfg->listeners[0].forward.headers[0].name, "X-Cert");
    assert_int_equal(cfg->listeners[0].forward.headers[0].format, FWD_BASE64_DER);
    assert_string_equal(cfg->listeners[0].forward.identity.sha1, "X-Client-Cert-SHA1");
    config_free(cfg);
    cfg = cfg_expect_ok(L "    forward: {identity_headers: false}\n");
    assert_int_equal(cfg->listeners[0].forward.n_headers, 1);
    assert_string_equal(cfg->listeners[0].forward.headers[0].name, "X-ARR-ClientCert");
    assert_null(cfg->listeners[0].forward.identity.verify);
    config_free(cfg);

    cfg_expect_err(L "    forward: {headers: [{name: X-Cert, format: der}]}\n",
                   "c.yaml:4:48: invalid value 'der' for 'format' (valid: base64-der, "
                   "pem-urlencoded, hex, rfc9440, xfcc)");
    cfg_expect_err(L "    forward: {headers: [{format: hex}]}\n",
                   "c.yaml:4:25: missing required key 'name' in a forward header");
    cfg_expect_err(L "    forward: {headers: [{name: 'X Cert'}]}\n",
                   "c.yaml:4:32: invalid header name 'X Cert' (letters, digits and "
                   "!#$%&'*+-.^_`|~ only)");
    cfg_expect_err(L "    forward: {headers: [{name: X-Cert, chain: true}]}\n",
                   "c.yaml:4:40: 'chain' applies to format rfc9440 only");
    cfg_expect_err(L "    forward: {headers: [{name: X-Cert, format: rfc9440, chain: yes}]}\n",
                   "c.yaml:4:64: expected true or false for 'chain', got 'yes'");
    cfg_expect_err(L "    forward: {headers: [{name: X-Cert, format: rfc9440, chain: 'true'}]}\n",
                   "c.yaml:4:64: expected true or false for 'chain', got 'true'");
    cfg_expect_err(L "    forward: {headers: {name: X}}\n",
                   "c.yaml:4:24: expected a list for 'headers', got a mapping");
    cfg_expect_err(L "    forward: {identity_headers: yes}\n",
                   "c.yaml:4:33: expected true, false or a mapping for 'identity_headers'");
    cfg_expect_err(L "    forward: {identity_headers: {cn: X-CN}}\n",
                   "c.yaml:4:34: unknown key 'cn' in 'identity_headers' (valid keys: verify, "
                   "subject, issuer, serial, sha1, sha256, not_before, not_after)");
    cfg_expect_err(L "    forward: {identity_headers: {subject: 'X:S'}}\n",
                   "c.yaml:4:43: invalid header name 'X:S' (letters, digits and !#$%&'*+-.^_`|~ "
                   "only)");
    cfg_expect_err(L "    forward:\n"
                     "      headers:\n"
                     "        - {name: X-A}\n"
                     "        - {name: x-a, format: hex}\n",
                   "c.yaml:7:18: header 'x-a' is set twice in 'forward' (also at line 6)");
    cfg_expect_err(L "    forward: {headers: [{name: X-Client-Cert-Subject}]}\n",
                   "c.yaml:4:32: header 'X-Client-Cert-Subject' is also the identity header "
                   "'subject' (rename it or turn it off in 'identity_headers')");
    cfg_expect_err(L "    forward: {identity_headers: {issuer: X-Client-Cert-Subject}}\n",
                   "c.yaml:4:42: header 'X-Client-Cert-Subject' is also the identity header "
                   "'subject' (rename it or turn it off in 'identity_headers')");
}

static void test_routes(void **state)
{
    struct config *cfg = cfg_expect_ok(L "    routes:\n"
                                         "      - {match: {host: a.example, path_prefix: /x}}\n"
                                         "      - {match: {host: b.example, path_prefix: /x}}\n"
                                         "      - {match: {path_prefix: /x}}\n");

    assert_int_equal(cfg->listeners[0].n_routes, 3);
    assert_string_equal(cfg->listeners[0].routes[1].host, "b.example");
    config_free(cfg);
    cfg_expect_err(L "    routes: []\n", "c.yaml:4:13: 'routes' must list at least one route");
    cfg_expect_err(L "    routes: [/]\n",
                   "c.yaml:4:14: expected a mapping for an entry of 'routes', "
                   "got '/'");
    cfg_expect_err(L "    routes: [{match: {path_prefix: api}}]\n",
                   "c.yaml:4:36: 'path_prefix' must start with '/', got 'api'");
    cfg_expect_err(L "    routes: [{match: {path: /}}]\n",
                   "c.yaml:4:23: unknown key 'path' in 'match' (valid keys: host, path_prefix)");
    cfg_expect_err(L "    routes: [{backend: echo, timeout: 5s}]\n",
                   "c.yaml:4:30: unknown key 'timeout' in a route (valid keys: match, policy, "
                   "backend)");
    cfg_expect_err(L "    routes:\n"
                     "      - {match: {host: a.example}}\n"
                     "      - {match: {host: A.EXAMPLE, path_prefix: /}}\n",
                   "c.yaml:6:9: this route matches the same requests as the route at line 5, so it "
                   "would never be used");
    cfg_expect_err(L "    routes: [{policy: [none]}]\n",
                   "c.yaml:4:23: expected a string for 'policy', got a list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listener_keys),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_timeouts_limits),
        cmocka_unit_test(test_tls_structure),
        cmocka_unit_test(test_cert_files),
        cmocka_unit_test(test_client_auth),
        cmocka_unit_test(test_ocsp_stapling_key),
        cmocka_unit_test(test_ocsp_stapling_errors),
        cmocka_unit_test(test_ocsp_stapling_certificates),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_routes),
    };

    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
