/* config_policy: every policy key's value, defaults for named, inline and
 * quick-mode policies, 'inherit' over three levels, and each key's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certgate/certgate.h"
#include "certgate/policy.h"
#include "config/cfg_test.h"
#include "config/config.h"

#define LISTENER "listeners:\n  - {name: web, address: \":8080\"}\n"
/* the key under test goes on line 6, column 5 */
#define P LISTENER "policies:\n  p:\n    trusted_ca: ca.pem\n"

#define SHA1_HEX   "0123456789ABCDEF0123456789ABCDEF01234567"
#define SHA256_HEX "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"

static void assert_strv(char *const *got, size_t n_got, const char *const *want, size_t n_want)
{
    assert_int_equal(n_got, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_string_equal(got[i], want[i]);
}

#define ASSERT_STRV(got, n_got, ...)                                                               \
    assert_strv(got, n_got, (const char *[]){__VA_ARGS__},                                         \
                sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *))

static void assert_defaults(const struct cfg_policy *p)
{
    assert_int_equal(p->max_depth, 0);
    assert_int_equal(p->require_client_auth_eku, 1);
    assert_int_equal(p->min_rsa_bits, 2048);
    assert_int_equal(p->min_ec_bits, 256);
    assert_int_equal(p->allow_weak_signatures, 0);
    assert_int_equal(p->n_allowed_issuer_dns, 0);
    assert_null(p->allowed_issuer_dns);
    assert_int_equal(p->n_allowed_issuer_files, 0);
    assert_null(p->allowed_issuer_files);
    assert_null(p->inherit);
    for (int k = 0; k < CFG_ALLOW_KINDS; k++) {
        assert_int_equal(p->n_allow[k], 0);
        assert_null(p->allow[k]);
    }
    for (int r = 0; r < CFG_REASONS; r++)
        assert_int_equal(p->status[r], 0);
}

static void test_every_key(void **state)
{
    struct config *cfg =
        cfg_expect_ok(LISTENER "policies:\n"
                               "  full:\n"
                               "    trusted_ca: ca.pem\n"
                               "    intermediates: [server.pem]\n"
                               "    allowed_issuers:\n"
                               "      - CN=APIM Sample DEV Intermediate CA\n"
                               "      - ca.pem\n"
                               "      - O=Contoso,CN=Other CA\n"
                               "    max_depth: 3\n"
                               "    require_client_auth_eku: false\n"
                               "    min_rsa_bits: 3072\n"
                               "    min_ec_bits: 384\n"
                               "    allow_weak_signatures: true\n"
                               "    allow:\n"
                               "      sha1: [\"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
                               "ab:cd:ef:01:23:45:67\"]\n"
                               "      sha256: " SHA256_HEX "\n"
                               "      cn: [Valid Client, Other Client]\n"
                               "      san_dns: api.example\n"
                               "      san_uri: [spiffe://demo/valid-client]\n"
                               "      san_email: [valid-client@demo.example]\n"
                               "      ou: Demo Clients\n"
                               "      serial: [\"0a:1B\", 10 AB CD]\n"
                               "    status:\n"
                               "      ClientCertificateNotFound: 495\n"
                               "      ClientCertificateIdentityNotMatched: 404\n");
    struct cfg_policy *p = &cfg->policies[0];

    assert_int_equal(cfg->n_policies, 1);
    assert_string_equal(p->name, "full");
    ASSERT_STRV(p->trusted_ca, p->n_trusted_ca, cfg_test_abs("ca.pem"));
    ASSERT_STRV(p->intermediates, p->n_intermediates, cfg_test_abs("server.pem"));
    ASSERT_STRV(p->allowed_issuer_dns, p->n_allowed_issuer_dns,
                "CN=APIM Sample DEV Intermediate CA", "O=Contoso,CN=Other CA");
    ASSERT_STRV(p->allowed_issuer_files, p->n_allowed_issuer_files, cfg_test_abs("ca.pem"));
    assert_int_equal(p->max_depth, 3);
    assert_int_equal(p->require_client_auth_eku, 0);
    assert_int_equal(p->min_rsa_bits, 3072);
    assert_int_equal(p->min_ec_bits, 384);
    assert_int_equal(p->allow_weak_signatures, 1);
    /* hex entries are stored normalised: uppercase, no separators */
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_SHA1], p->n_allow[CERTGATE_ALLOW_SHA1], SHA1_HEX);
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_SHA256], p->n_allow[CERTGATE_ALLOW_SHA256], SHA256_HEX);
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_CN], p->n_allow[CERTGATE_ALLOW_CN], "Valid Client",
                "Other Client");
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_SAN_DNS], p->n_allow[CERTGATE_ALLOW_SAN_DNS],
                "api.example");
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_SAN_URI], p->n_allow[CERTGATE_ALLOW_SAN_URI],
                "spiffe://demo/valid-client");
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_SAN_EMAIL], p->n_allow[CERTGATE_ALLOW_SAN_EMAIL],
                "valid-client@demo.example");
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_OU], p->n_allow[CERTGATE_ALLOW_OU], "Demo Clients");
    ASSERT_STRV(p->allow[CERTGATE_ALLOW_SERIAL], p->n_allow[CERTGATE_ALLOW_SERIAL], "0A1B",
                "10ABCD");
    for (int r = 0; r < CFG_REASONS; r++)
        assert_int_equal(p->status[r], r == CERTGATE_NOT_FOUND              ? 495
                                       : r == CERTGATE_IDENTITY_NOT_MATCHED ? 404
                                                                            : 0);
    assert_null(p->inherit);
    config_free(cfg);
}

static void test_defaults_named_inline_quick(void **state)
{
    struct config *cfg = cfg_expect_ok("listeners:\n"
                                       "  - name: mtls\n"
                                       "    address: :8443\n"
                                       "    tls:\n"
                                       "      certificates: [{cert: server.pem, key: server.key}]\n"
                                       "      client_auth: {mode: require, trusted_ca: ca.pem}\n"
                                       "  - name: mtls2\n"
                                       "    address: :8444\n"
                                       "    tls:\n"
                                       "      certificates: [{cert: server.pem, key: server.key}]\n"
                                       "      client_auth:\n"
                                       "        mode: require\n"
                                       "        trusted_ca: ca.pem\n"
                                       "        max_depth: 2\n"
                                       "        min_ec_bits: 521\n"
                                       "        status: {ClientCertificateExpired: 403}\n"
                                       "policies:\n"
                                       "  p: {trusted_ca: ca.pem}\n");
    struct cfg_policy *inl2;
    struct cfg_error err;

    assert_defaults(&cfg->policies[0]);
    assert_int_equal(cfg->listeners[0].client_auth.policy_inline, 1);
    assert_defaults(cfg->listeners[0].client_auth.policy);
    inl2 = cfg->listeners[1].client_auth.policy;
    assert_int_equal(inl2->max_depth, 2);
    assert_int_equal(inl2->min_ec_bits, 521);
    assert_int_equal(inl2->min_rsa_bits, 2048);
    assert_int_equal(inl2->require_client_auth_eku, 1);
    assert_int_equal(inl2->allow_weak_signatures, 0);
    assert_int_equal(inl2->status[CERTGATE_EXPIRED], 403);
    assert_int_equal(inl2->status[CERTGATE_NOT_FOUND], 0);
    config_free(cfg);

    cfg = config_from_args(8,
                           (char *[]){"--listen", "127.0.0.1:8443", "--cert", "server.pem", "--key",
                                      "server.key", "--client-ca", "ca.pem"},
                           &err);
    if (!cfg)
        fail_msg("%s", err.msg);
    assert_defaults(cfg->listeners[0].client_auth.policy);
    config_free(cfg);
}

/* root <- mid <- leaf: each level sets some keys; what is not set comes from
 * the nearest ancestor that sets it; lists are replaced, statuses merged. */
static void test_inherit_three_levels(void **state)
{
    struct config *cfg =
        cfg_expect_ok(LISTENER "policies:\n"
                               "  leaf:\n"
                               "    inherit: mid\n"
                               "    intermediates: [ca.pem]\n"
                               "    allow: {cn: [Leaf Client]}\n"
                               "    min_rsa_bits: 4096\n"
                               "    status: {ClientCertificateRevoked: 451}\n"
                               "  root:\n"
                               "    trusted_ca: [ca.pem, server.pem]\n"
                               "    intermediates: [server.pem, ca.pem]\n"
                               "    allowed_issuers: [\"CN=Root Pin\", ca.pem]\n"
                               "    max_depth: 4\n"
                               "    require_client_auth_eku: false\n"
                               "    allow: {sha256: [\"" SHA256_HEX "\"], ou: [R]}\n"
                               "    status:\n"
                               "      ClientCertificateExpired: 499\n"
                               "      ClientCertificateRevoked: 410\n"
                               "  mid:\n"
                               "    inherit: root\n"
                               "    allowed_issuers: [\"CN=Mid Pin\"]\n"
                               "    min_ec_bits: 384\n"
                               "    allow_weak_signatures: true\n"
                               "    status: {ClientCertificateExpired: 498}\n");
    struct cfg_policy *leaf = &cfg->policies[0], *root = &cfg->policies[1];
    struct cfg_policy *mid = &cfg->policies[2];
    const char *ca = strdup(cfg_test_abs("ca.pem")), *srv = strdup(cfg_test_abs("server.pem"));

    /* root: its own keys, defaults for the rest */
    assert_string_equal(root->name, "root");
    assert_null(root->inherit);
    ASSERT_STRV(root->trusted_ca, root->n_trusted_ca, ca, srv);
    ASSERT_STRV(root->intermediates, root->n_intermediates, srv, ca);
    ASSERT_STRV(root->allowed_issuer_dns, root->n_allowed_issuer_dns, "CN=Root Pin");
    ASSERT_STRV(root->allowed_issuer_files, root->n_allowed_issuer_files, ca);
    assert_int_equal(root->max_depth, 4);
    assert_int_equal(root->require_client_auth_eku, 0);
    assert_int_equal(root->min_rsa_bits, 2048);
    assert_int_equal(root->min_ec_bits, 256);
    assert_int_equal(root->allow_weak_signatures, 0);

    /* mid: its allowed_issuers list replaces root's whole (DNs and files) */
    assert_string_equal(mid->inherit, "root");
    ASSERT_STRV(mid->trusted_ca, mid->n_trusted_ca, ca, srv);
    ASSERT_STRV(mid->intermediates, mid->n_intermediates, srv, ca);
    ASSERT_STRV(mid->allowed_issuer_dns, mid->n_allowed_issuer_dns, "CN=Mid Pin");
    assert_int_equal(mid->n_allowed_issuer_files, 0);
    assert_null(mid->allowed_issuer_files);
    assert_int_equal(mid->max_depth, 4);
    assert_int_equal(mid->require_client_auth_eku, 0);
    assert_int_equal(mid->min_rsa_bits, 2048);
    assert_int_equal(mid->min_ec_bits, 384);
    assert_int_equal(mid->allow_weak_signatures, 1);
    ASSERT_STRV(mid->allow[CERTGATE_ALLOW_SHA256], mid->n_allow[CERTGATE_ALLOW_SHA256], SHA256_HEX);
    ASSERT_STRV(mid->allow[CERTGATE_ALLOW_OU], mid->n_allow[CERTGATE_ALLOW_OU], "R");
    assert_int_equal(mid->n_allow[CERTGATE_ALLOW_CN], 0);
    assert_int_equal(mid->status[CERTGATE_EXPIRED], 498);
    assert_int_equal(mid->status[CERTGATE_REVOKED], 410);
    assert_int_equal(mid->status[CERTGATE_NOT_FOUND], 0);

    /* leaf: two levels up for trusted_ca and max_depth, one for the pin */
    assert_string_equal(leaf->inherit, "mid");
    ASSERT_STRV(leaf->trusted_ca, leaf->n_trusted_ca, ca, srv);
    ASSERT_STRV(leaf->intermediates, leaf->n_intermediates, ca);
    ASSERT_STRV(leaf->allowed_issuer_dns, leaf->n_allowed_issuer_dns, "CN=Mid Pin");
    assert_int_equal(leaf->n_allowed_issuer_files, 0);
    assert_int_equal(leaf->max_depth, 4);
    assert_int_equal(leaf->require_client_auth_eku, 0);
    assert_int_equal(leaf->min_rsa_bits, 4096);
    assert_int_equal(leaf->min_ec_bits, 384);
    assert_int_equal(leaf->allow_weak_signatures, 1);
    /* 'allow' is replaced as a whole: root's sha256 and ou lists are gone */
    ASSERT_STRV(leaf->allow[CERTGATE_ALLOW_CN], leaf->n_allow[CERTGATE_ALLOW_CN], "Leaf Client");
    for (int k = 0; k < CFG_ALLOW_KINDS; k++)
        if (k != CERTGATE_ALLOW_CN) {
            assert_int_equal(leaf->n_allow[k], 0);
            assert_null(leaf->allow[k]);
        }
    /* statuses merge reason by reason */
    for (int r = 0; r < CFG_REASONS; r++)
        assert_int_equal(leaf->status[r], r == CERTGATE_EXPIRED   ? 498
                                          : r == CERTGATE_REVOKED ? 451
                                                                  : 0);
    /* copies, not shared pointers: each policy frees its own */
    assert_ptr_not_equal(leaf->trusted_ca, root->trusted_ca);
    assert_ptr_not_equal(leaf->trusted_ca[0], root->trusted_ca[0]);
    assert_ptr_not_equal(leaf->allowed_issuer_dns[0], mid->allowed_issuer_dns[0]);
    free((void *)ca);
    free((void *)srv);
    config_free(cfg);
}

static void test_inherit_fills_required_and_routes(void **state)
{
    struct config *cfg = cfg_expect_ok("listeners:\n"
                                       "  - name: web\n"
                                       "    address: \":8080\"\n"
                                       "    routes: [{policy: registered}]\n"
                                       "policies:\n"
                                       "  dev-clients: {trusted_ca: ca.pem, max_depth: 2}\n"
                                       "  registered: {inherit: dev-clients, allow: {cn: [A]}}\n");

    assert_ptr_equal(cfg->listeners[0].routes[0].policy, &cfg->policies[1]);
    ASSERT_STRV(cfg->policies[1].trusted_ca, cfg->policies[1].n_trusted_ca, cfg_test_abs("ca.pem"));
    assert_int_equal(cfg->policies[1].max_depth, 2);
    assert_int_equal(cfg->policies[1].min_rsa_bits, 2048);
    config_free(cfg);
}

static void test_inherit_errors(void **state)
{
    cfg_expect_err(LISTENER "policies:\n  a: {trusted_ca: ca.pem}\n  b: {inherit: c}\n",
                   "c.yaml:5:16: policy 'b' inherits from undefined policy 'c' (defined policies: "
                   "a, b)");
    cfg_expect_err(LISTENER "policies:\n  a: {trusted_ca: ca.pem, inherit: a}\n",
                   "c.yaml:4:36: 'inherit' makes a cycle: a -> a");
    cfg_expect_err(LISTENER "policies:\n"
                            "  x: {trusted_ca: ca.pem}\n"
                            "  a: {inherit: b}\n"
                            "  b: {inherit: c}\n"
                            "  c: {inherit: a}\n",
                   "c.yaml:7:16: 'inherit' makes a cycle: a -> b -> c -> a");
    /* a chain into a cycle reports the cycle, not the policy that led there */
    cfg_expect_err(LISTENER "policies:\n"
                            "  top: {inherit: a}\n"
                            "  a: {inherit: b}\n"
                            "  b: {inherit: a}\n",
                   "c.yaml:6:16: 'inherit' makes a cycle: a -> b -> a");
    cfg_expect_err(LISTENER "policies:\n  a: {inherit: \"\"}\n",
                   "c.yaml:4:16: 'inherit' must not be empty");
    cfg_expect_err(LISTENER "policies:\n  a: {inherit: [b]}\n",
                   "c.yaml:4:16: expected a string for 'inherit', got a list");
    /* nobody up the chain has trusted_ca: reported at the policy's own map */
    cfg_expect_err(LISTENER "policies:\n  a: {max_depth: 2}\n  b: {inherit: a, max_depth: 3}\n",
                   "c.yaml:4:6: missing required key 'trusted_ca' in policy 'a'");
}

static void test_issuer_errors(void **state)
{
    char why[256] = "", msg[512];
    X509_NAME *name = certgate_dn_parse("XYZ=nope", why, sizeof(why));

    assert_null(name);
    assert_true(why[0] != '\0');
    snprintf(msg, sizeof(msg), "c.yaml:6:31: invalid issuer DN 'XYZ=nope': %s", why);
    cfg_expect_err(P "    allowed_issuers: [ca.pem, \"XYZ=nope\"]\n", msg);
    cfg_expect_err(P "    allowed_issuers: [ca.pem, nope.pem]\n",
                   "c.yaml:6:31: cannot open 'nope.pem': No such file or directory");
    cfg_expect_err(P "    allowed_issuers: notpem.txt\n",
                   "c.yaml:6:22: no certificate found in 'notpem.txt'");
    cfg_expect_err(P "    allowed_issuers: []\n",
                   "c.yaml:6:22: 'allowed_issuers' must list at least one value");
    cfg_expect_err(P "    allowed_issuers: [\"\"]\n",
                   "c.yaml:6:23: an entry of 'allowed_issuers' must not be empty");
    cfg_expect_err(P "    allowed_issuers: {CN: x}\n",
                   "c.yaml:6:22: expected a string or a list of strings for 'allowed_issuers', got "
                   "a mapping");
    cfg_expect_err(P "    allowed_issuers: [[CN=x]]\n",
                   "c.yaml:6:23: expected a string for an entry of 'allowed_issuers', got a list");
}

static void test_scalar_errors(void **state)
{
    cfg_expect_err(P "    max_depth: 0\n",
                   "c.yaml:6:16: expected a whole number from 1 to 2147483647 for 'max_depth', got "
                   "'0'");
    cfg_expect_err(P "    max_depth: two\n",
                   "c.yaml:6:16: expected a whole number from 1 to 2147483647 for 'max_depth', got "
                   "'two'");
    cfg_expect_err(P "    require_client_auth_eku: yes\n",
                   "c.yaml:6:30: expected true or false for 'require_client_auth_eku', got 'yes'");
    cfg_expect_err(P "    allow_weak_signatures: 1\n",
                   "c.yaml:6:28: expected true or false for 'allow_weak_signatures', got '1'");
    cfg_expect_err(
        P "    min_rsa_bits: 512\n",
        "c.yaml:6:19: expected a whole number from 1024 to 16384 for 'min_rsa_bits', got "
        "'512'");
    cfg_expect_err(P "    min_ec_bits: 1024\n",
                   "c.yaml:6:18: expected a whole number from 160 to 571 for 'min_ec_bits', got "
                   "'1024'");
}

static void test_allow_errors(void **state)
{
    cfg_expect_err(P "    allow: {}\n",
                   "c.yaml:6:12: 'allow' must give at least one list (to allow every identity, "
                   "leave 'allow' out)");
    cfg_expect_err(P "    allow: [cn]\n",
                   "c.yaml:6:12: expected a mapping for 'allow', got a list");
    cfg_expect_err(P "    allow: {subject: [x]}\n",
                   "c.yaml:6:13: unknown key 'subject' in 'allow' (valid keys: sha1, sha256, cn, "
                   "san_dns, san_uri, san_email, ou, serial)");
    cfg_expect_err(P "    allow: {sha1: [\"" SHA1_HEX "\", xyz]}\n",
                   "c.yaml:6:64: 'sha1' entry 'xyz' is not hex (digits 0-9 and A-F; ':' and spaces "
                   "are ignored)");
    cfg_expect_err(P "    allow: {sha1: \"AB:CD\"}\n",
                   "c.yaml:6:19: 'sha1' entry 'AB:CD' has 4 hex digits; a SHA-1 thumbprint has 40");
    cfg_expect_err(P "    allow: {sha256: " SHA1_HEX "}\n",
                   "c.yaml:6:21: 'sha256' entry '" SHA1_HEX "' has 40 hex digits; a SHA-256 "
                   "thumbprint has 64");
    cfg_expect_err(P "    allow: {serial: [0x1F]}\n",
                   "c.yaml:6:22: 'serial' entry '0x1F' is not hex (digits 0-9 and A-F; ':' and "
                   "spaces are ignored)");
    cfg_expect_err(P "    allow: {serial: [\"::\"]}\n",
                   "c.yaml:6:22: 'serial' entry '::' has no hex digits");
    cfg_expect_err(P "    allow: {cn: []}\n", "c.yaml:6:17: 'cn' must list at least one value");
    cfg_expect_err(P "    allow: {ou: [\"\"]}\n",
                   "c.yaml:6:18: an entry of 'ou' must not be empty");
    cfg_expect_err(P "    allow: {san_dns: {a: b}}\n",
                   "c.yaml:6:22: expected a string or a list of strings for 'san_dns', got a "
                   "mapping");
    cfg_expect_err(P "    allow:\n      san_uri:\n",
                   "c.yaml:7:15: expected a string or a list of strings for 'san_uri', got null");
}

static void test_status_errors(void **state)
{
    cfg_expect_err(P "    status: {ClientCertificateExpird: 403}\n",
                   "c.yaml:6:14: unknown reason 'ClientCertificateExpird' in 'status' (valid: "
                   "ClientCertificateNotFound, ClientCertificateMalformed, "
                   "ClientCertificateNotYetValid, ClientCertificateExpired, "
                   "ClientCertificateNotTrusted, ClientCertificateRevoked, "
                   "ClientCertificateRevocationUnknown, ClientCertificateIdentityNotMatched)");
    cfg_expect_err(P "    status: {OK: 200}\n",
                   "c.yaml:6:14: unknown reason 'OK' in 'status' (valid: "
                   "ClientCertificateNotFound, ClientCertificateMalformed, "
                   "ClientCertificateNotYetValid, ClientCertificateExpired, "
                   "ClientCertificateNotTrusted, ClientCertificateRevoked, "
                   "ClientCertificateRevocationUnknown, ClientCertificateIdentityNotMatched)");
    cfg_expect_err(P "    status: {ClientCertificateExpired: 302}\n",
                   "c.yaml:6:40: expected a whole number from 400 to 599 for "
                   "'ClientCertificateExpired', got '302'");
    cfg_expect_err(P "    status: {ClientCertificateRevoked: 600}\n",
                   "c.yaml:6:40: expected a whole number from 400 to 599 for "
                   "'ClientCertificateRevoked', got '600'");
    cfg_expect_err(P "    status: [401]\n",
                   "c.yaml:6:13: expected a mapping for 'status', got a list");
}

/* crl_fetch: the leaf's CRL from its distribution point, with or without CRL files */
static void test_revocation_crl_fetch(void **state)
{
    struct config *cfg = cfg_expect_ok(P "    revocation: {mode: crl, crl_fetch: true}\n");
    const struct cfg_revocation *rv = &cfg->policies[0].revocation;

    assert_int_equal(rv->mode, REV_CRL);
    assert_int_equal(rv->crl_fetch, 1);
    assert_int_equal(rv->n_crl, 0);
    assert_null(rv->crl);
    assert_int_equal(rv->crl_timeout_ms, 0); /* unset: the revocation service's 5s applies */
    config_free(cfg);

    /* crl_fetch alone implies mode crl */
    cfg = cfg_expect_ok(P "    revocation: {crl_fetch: true, crl_timeout: 2s}\n");
    rv = &cfg->policies[0].revocation;
    assert_int_equal(rv->mode, REV_CRL);
    assert_int_equal(rv->crl_fetch, 1);
    assert_int_equal(rv->crl_timeout_ms, 2000);
    assert_int_equal(rv->n_crl, 0);
    config_free(cfg);

    cfg = cfg_expect_ok(P "    revocation:\n"
                          "      crl_fetch: true\n"
                          "      crl_timeout: 1500ms\n"
                          "      fail: open\n");
    rv = &cfg->policies[0].revocation;
    assert_int_equal(rv->mode, REV_CRL);
    assert_int_equal(rv->crl_fetch, 1);
    assert_int_equal(rv->crl_timeout_ms, 1500);
    assert_int_equal(rv->fail_open, 1);
    config_free(cfg);

    /* crl_fetch: false is no revocation at all */
    cfg = cfg_expect_ok(P "    revocation: {crl_fetch: false}\n");
    rv = &cfg->policies[0].revocation;
    assert_int_equal(rv->mode, REV_OFF);
    assert_int_equal(rv->crl_fetch, 0);
    config_free(cfg);

    /* in an inline client_auth policy too */
    cfg = cfg_expect_ok("listeners:\n"
                        "  - name: mtls\n"
                        "    address: :8443\n"
                        "    tls:\n"
                        "      certificates: [{cert: server.pem, key: server.key}]\n"
                        "      client_auth:\n"
                        "        mode: require\n"
                        "        trusted_ca: ca.pem\n"
                        "        revocation: {crl_fetch: true, crl_timeout: 3s}\n");
    rv = &cfg->listeners[0].client_auth.policy->revocation;
    assert_int_equal(rv->mode, REV_CRL);
    assert_int_equal(rv->crl_fetch, 1);
    assert_int_equal(rv->crl_timeout_ms, 3000);
    config_free(cfg);
}

static void test_revocation_crl_fetch_errors(void **state)
{
    /* mode crl with neither files nor crl_fetch: at the revocation mapping */
    cfg_expect_err(P "    revocation: {mode: crl}\n",
                   "c.yaml:6:17: revocation mode 'crl' needs 'crl: [files]' or 'crl_fetch: true'");
    cfg_expect_err(P "    revocation: {mode: crl, crl_fetch: false}\n",
                   "c.yaml:6:17: revocation mode 'crl' needs 'crl: [files]' or 'crl_fetch: true'");
    cfg_expect_err(P "    revocation:\n      mode: crl\n      crl_timeout: 2s\n",
                   "c.yaml:7:7: revocation mode 'crl' needs 'crl: [files]' or 'crl_fetch: true'");
    /* crl_fetch with another mode: at the crl_fetch key */
    cfg_expect_err(P "    revocation: {mode: ocsp, crl_fetch: true}\n",
                   "c.yaml:6:30: 'crl_fetch' needs revocation mode 'crl'");
    cfg_expect_err(P "    revocation:\n      mode: off\n      fail: open\n      crl_fetch: true\n",
                   "c.yaml:9:7: 'crl_fetch' needs revocation mode 'crl'");
    /* the values */
    cfg_expect_err(P "    revocation: {crl_fetch: yes}\n",
                   "c.yaml:6:29: expected true or false for 'crl_fetch', got 'yes'");
    cfg_expect_err(P "    revocation: {crl_fetch: true, crl_timeout: 2}\n",
                   "c.yaml:6:48: invalid duration '2' for 'crl_timeout': use a number and a unit, "
                   "as 500ms, 30s, 5m or 1h");
    cfg_expect_err(P "    revocation: {crl_fetch: true, crl_timeout: 0s}\n",
                   "c.yaml:6:48: 'crl_timeout' must be greater than 0");
}

/* a policy without revocation: takes its parent's whole, crl_fetch and crl_timeout included;
 * one with its own revocation: takes none of it */
static void test_revocation_crl_fetch_inherit(void **state)
{
    struct config *cfg =
        cfg_expect_ok(LISTENER "policies:\n"
                               "  child: {inherit: base, max_depth: 2}\n"
                               "  base:\n"
                               "    trusted_ca: ca.pem\n"
                               "    revocation: {crl_fetch: true, crl_timeout: 2s, cache: 1m}\n"
                               "  grandchild: {inherit: child}\n"
                               "  own: {inherit: base, revocation: {mode: ocsp}}\n");
    const struct cfg_revocation *child = &cfg->policies[0].revocation;
    const struct cfg_revocation *base = &cfg->policies[1].revocation;
    const struct cfg_revocation *grandchild = &cfg->policies[2].revocation;
    const struct cfg_revocation *own = &cfg->policies[3].revocation;

    assert_string_equal(cfg->policies[1].name, "base");
    assert_int_equal(base->mode, REV_CRL);
    assert_int_equal(base->crl_fetch, 1);
    assert_int_equal(base->crl_timeout_ms, 2000);
    for (int i = 0; i < 2; i++) {
        const struct cfg_revocation *rv = i == 0 ? child : grandchild;

        assert_int_equal(rv->mode, REV_CRL);
        assert_int_equal(rv->crl_fetch, 1);
        assert_int_equal(rv->crl_timeout_ms, 2000);
        assert_int_equal(rv->cache_ms, 60000);
        assert_int_equal(rv->n_crl, 0);
        assert_null(rv->crl);
    }
    assert_int_equal(own->mode, REV_OCSP);
    assert_int_equal(own->crl_fetch, 0);
    assert_int_equal(own->crl_timeout_ms, 0);
    assert_int_equal(own->cache_ms, 0);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_defaults_named_inline_quick),
        cmocka_unit_test(test_inherit_three_levels),
        cmocka_unit_test(test_inherit_fills_required_and_routes),
        cmocka_unit_test(test_inherit_errors),
        cmocka_unit_test(test_issuer_errors),
        cmocka_unit_test(test_scalar_errors),
        cmocka_unit_test(test_allow_errors),
        cmocka_unit_test(test_status_errors),
        cmocka_unit_test(test_revocation_crl_fetch),
        cmocka_unit_test(test_revocation_crl_fetch_errors),
        cmocka_unit_test(test_revocation_crl_fetch_inherit),
    };

    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}
